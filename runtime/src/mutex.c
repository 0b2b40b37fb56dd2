/*
 * The async mutex and the counting semaphore. The mutex is a semaphore of one
 * permit: the same FIFO queue, the same hand-off, the same holder record; it
 * only adds -EPERM for an unlock of a free lock and records its waits as
 * "mutex" so that dumps can name the owner a task waits for.
 *
 * Everything is under one pthread mutex per object (as notify): correctness
 * and no lost wake-up first. Wakers are fired outside it, since waking may
 * take scheduler locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"
#include "sync_owner.h"

/*
 * A queued request. It stays listed after it was granted, until its task
 * sees the grant (or cancels), so a grant to a task that then gives up is
 * given back rather than lost (as notify's waiters).
 */
struct sem_waiter {
  uint64_t ticket;
  uint64_t n;
  uint64_t task_id; /* of the task that polled it last: the holder it is granted to */
  schedrt_waker *waker;
  bool granted;
};

struct sem_holder {
  uint64_t id; /* task id; 0: a thread that is not a task */
  uint64_t n;
};

struct schedrt_semaphore {
  /* First: its address is the object's, which dumps look up (sync_owner.h). */
  struct schedrt__owned_obj pub;
  pthread_mutex_t lock;
  uint64_t permits;     /* free now */
  struct sem_waiter *w; /* FIFO: oldest first */
  size_t len, cap;
  size_t nwaiting; /* listed and not granted: a try_ call must not barge past them */
  uint64_t next_ticket;
  struct sem_holder *hold; /* who holds permits; the first SCHEDRT_DUMP_HOLDERS_MAX are published */
  size_t nhold, caphold;
  uint32_t wait_kind; /* SCHEDRT_DUMP_WAIT_SEMAPHORE or _MUTEX */
};

struct schedrt_mutex {
  struct schedrt_semaphore s;
};

/* -------------------------------------------------------------- holders */

static void publish_more(struct schedrt_semaphore *s) {
  size_t more = s->nhold > SCHEDRT_DUMP_HOLDERS_MAX ? s->nhold - SCHEDRT_DUMP_HOLDERS_MAX : 0;
  /* Relaxed: a count read on its own by dumps. */
  atomic_store_explicit(&s->pub.more, (uint32_t)more, memory_order_relaxed);
}

static void holder_add(struct schedrt_semaphore *s, uint64_t id, uint64_t n) {
  for (size_t i = 0; i < s->nhold; i++) {
    if (s->hold[i].id == id) {
      s->hold[i].n += n;
      schedrt__owned_publish(&s->pub, (unsigned)i, schedrt__holder_pack(id, s->hold[i].n));
      return;
    }
  }
  if (s->nhold == s->caphold) {
    size_t cap = s->caphold ? s->caphold * 2 : 4;
    struct sem_holder *h = realloc(s->hold, cap * sizeof(*h));
    if (!h)
      return; /* a diagnostic only: the permit count stays exact */
    s->hold = h;
    s->caphold = cap;
  }
  size_t i = s->nhold++;
  s->hold[i] = (struct sem_holder){id, n};
  schedrt__owned_publish(&s->pub, (unsigned)i, schedrt__holder_pack(id, n));
  publish_more(s);
}

static void holder_drop_at(struct schedrt_semaphore *s, size_t i) {
  size_t last = --s->nhold;
  if (i != last) {
    s->hold[i] = s->hold[last];
    schedrt__owned_publish(&s->pub, (unsigned)i, schedrt__holder_pack(s->hold[i].id, s->hold[i].n));
  }
  schedrt__owned_publish(&s->pub, (unsigned)last, 0);
  publish_more(s);
}

/* Takes n off id's record, then (released on another's behalf) off the others in turn. */
static void holder_sub(struct schedrt_semaphore *s, uint64_t id, uint64_t n) {
  for (size_t i = 0; i < s->nhold && n; i++) {
    if (s->hold[i].id != id)
      continue;
    uint64_t k = s->hold[i].n < n ? s->hold[i].n : n;
    n -= k;
    if ((s->hold[i].n -= k) == 0)
      holder_drop_at(s, i);
    else
      schedrt__owned_publish(&s->pub, (unsigned)i, schedrt__holder_pack(id, s->hold[i].n));
    break;
  }
  while (n && s->nhold) {
    size_t i = s->nhold - 1;
    uint64_t k = s->hold[i].n < n ? s->hold[i].n : n;
    n -= k;
    if ((s->hold[i].n -= k) == 0)
      holder_drop_at(s, i);
    else
      schedrt__owned_publish(&s->pub, (unsigned)i, schedrt__holder_pack(s->hold[i].id, s->hold[i].n));
  }
}

/* ---------------------------------------------------------------- queue */

static ssize_t find_locked(struct schedrt_semaphore *s, uint64_t ticket) {
  for (size_t i = 0; i < s->len; i++)
    if (s->w[i].ticket == ticket)
      return (ssize_t)i;
  return -1;
}

static void remove_locked(struct schedrt_semaphore *s, size_t i) {
  schedrt_waker_drop(s->w[i].waker);
  memmove(s->w + i, s->w + i + 1, (s->len - i - 1) * sizeof(*s->w));
  s->len--;
}

enum { GRANT_BATCH = 32 };

/*
 * Under the lock: grants free permits to the queued requests in order, up to
 * GRANT_BATCH of them; stops at the first that does not fit (no barging past
 * a larger request). Returns how many wakers it put in batch (references).
 */
static size_t grant_locked(struct schedrt_semaphore *s, schedrt_waker **batch) {
  size_t k = 0;
  for (size_t i = 0; i < s->len && k < GRANT_BATCH; i++) {
    struct sem_waiter *x = &s->w[i];
    if (x->granted)
      continue;
    if (x->n > s->permits)
      break;
    s->permits -= x->n;
    x->granted = true;
    s->nwaiting--;
    if (x->n)
      holder_add(s, x->task_id, x->n);
    batch[k++] = schedrt_waker_clone(x->waker);
  }
  return k;
}

/* Unlocks, firing what grant_locked gives, in rounds of GRANT_BATCH (no allocation). */
static void grant_and_unlock(struct schedrt_semaphore *s) {
  schedrt_waker *batch[GRANT_BATCH];
  for (;;) {
    size_t k = grant_locked(s, batch);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < k; i++)
      schedrt_wake(batch[i]);
    if (k < GRANT_BATCH)
      return;
    pthread_mutex_lock(&s->lock);
  }
}

/* ------------------------------------------------------------ semaphore */

static int sem_init(struct schedrt_semaphore *s, uint64_t permits, uint32_t kind) {
  int rc = pthread_mutex_init(&s->lock, NULL);
  if (rc)
    return -rc;
  s->permits = permits;
  s->next_ticket = 1;
  s->wait_kind = kind;
  schedrt__owned_register(&s->pub, s);
  return 0;
}

static void sem_fini(struct schedrt_semaphore *s) {
  /* Out of the registry first: a dump may be reading the holders. */
  schedrt__owned_unregister(&s->pub);
  for (size_t i = 0; i < s->len; i++)
    schedrt_waker_drop(s->w[i].waker);
  free(s->w);
  free(s->hold);
  pthread_mutex_destroy(&s->lock);
}

SCHEDRT_API int schedrt_semaphore_create(uint64_t permits, schedrt_semaphore **out) {
  if (!out)
    return -EINVAL;
  schedrt_semaphore *s = calloc(1, sizeof(*s));
  if (!s)
    return -ENOMEM;
  int rc = sem_init(s, permits, SCHEDRT_DUMP_WAIT_SEMAPHORE);
  if (rc)
    goto err;
  *out = s;
  return 0;
err:
  free(s);
  return rc;
}

SCHEDRT_API void schedrt_semaphore_destroy(schedrt_semaphore *s) {
  if (!s)
    return;
  sem_fini(s);
  free(s);
}

static schedrt_poll sem_acquire(struct schedrt_semaphore *s, schedrt_task *self, uint64_t n,
                                uint64_t *ticket) {
  schedrt_poll r = SCHEDRT_PENDING;
  pthread_mutex_lock(&s->lock);
  if (*ticket != 0) {
    ssize_t i = find_locked(s, *ticket);
    if (i >= 0) {
      struct sem_waiter *x = &s->w[i];
      if (x->granted) {
        if (!schedrt__coop_proceed(self))
          goto forced; /* the grant stays with the ticket for the next poll */
        if (x->task_id != self->id && x->n) {
          /* The ticket moved after it was granted: the record follows it. */
          holder_sub(s, x->task_id, x->n);
          holder_add(s, self->id, x->n);
        }
        remove_locked(s, (size_t)i);
        *ticket = 0;
        r = SCHEDRT_READY;
      } else if (!schedrt__will_wake(x->waker, self)) {
        /* The ticket moved to another task: wake that one from now on. */
        schedrt_waker_drop(x->waker);
        x->waker = schedrt_waker_get(self);
        x->task_id = self->id;
      }
      goto out;
    }
    *ticket = 0; /* not ours (cancelled, or another object's): start over */
  }
  if (s->nwaiting == 0 && s->permits >= n) {
    if (!schedrt__coop_proceed(self))
      goto forced;
    s->permits -= n;
    if (n)
      holder_add(s, self->id, n);
    r = SCHEDRT_READY;
    goto out;
  }
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    struct sem_waiter *w = realloc(s->w, cap * sizeof(*w));
    if (!w) {
      /* Cannot queue without memory: poll again later rather than hang. */
      pthread_mutex_unlock(&s->lock);
      (void)schedrt_yield(self);
      return SCHEDRT_PENDING;
    }
    s->w = w;
    s->cap = cap;
  }
  *ticket = s->next_ticket++;
  s->w[s->len++] = (struct sem_waiter){*ticket, n, self->id, schedrt_waker_get(self), false};
  s->nwaiting++;
out:
  pthread_mutex_unlock(&s->lock);
  if (r == SCHEDRT_PENDING)
    schedrt__task_waits_on(self, s->wait_kind, (uint64_t)(uintptr_t)s);
  return r;
forced:
  /* Out of budget: already re-scheduled, nothing taken, waiting on nothing. */
  pthread_mutex_unlock(&s->lock);
  return SCHEDRT_PENDING;
}

SCHEDRT_API schedrt_poll schedrt_semaphore_acquire(schedrt_semaphore *s, schedrt_task *self, uint64_t n,
                                                   uint64_t *ticket) {
  return sem_acquire(s, self, n, ticket);
}

static int sem_try_acquire(struct schedrt_semaphore *s, schedrt_task *self, uint64_t n) {
  int rc = -EAGAIN;
  pthread_mutex_lock(&s->lock);
  if (s->nwaiting == 0 && s->permits >= n) {
    s->permits -= n;
    if (n)
      holder_add(s, self ? self->id : 0, n);
    rc = 0;
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

SCHEDRT_API int schedrt_semaphore_try_acquire(schedrt_semaphore *s, schedrt_task *self, uint64_t n) {
  return sem_try_acquire(s, self, n);
}

SCHEDRT_API void schedrt_semaphore_release(schedrt_semaphore *s, schedrt_task *holder, uint64_t n) {
  pthread_mutex_lock(&s->lock);
  s->permits += n;
  holder_sub(s, holder ? holder->id : 0, n);
  grant_and_unlock(s);
}

static void sem_cancel(struct schedrt_semaphore *s, uint64_t *ticket) {
  if (!ticket || *ticket == 0)
    return;
  pthread_mutex_lock(&s->lock);
  ssize_t i = find_locked(s, *ticket);
  *ticket = 0;
  if (i < 0) {
    pthread_mutex_unlock(&s->lock);
    return;
  }
  struct sem_waiter *x = &s->w[i];
  if (x->granted) {
    s->permits += x->n; /* given back, to the next in line */
    holder_sub(s, x->task_id, x->n);
  } else {
    s->nwaiting--;
  }
  remove_locked(s, (size_t)i);
  /* Even a request that was not granted may have held smaller ones back. */
  grant_and_unlock(s);
}

SCHEDRT_API void schedrt_semaphore_acquire_cancel(schedrt_semaphore *s, uint64_t *ticket) {
  if (s)
    sem_cancel(s, ticket);
}

SCHEDRT_API uint64_t schedrt_semaphore_available(schedrt_semaphore *s) {
  pthread_mutex_lock(&s->lock);
  uint64_t n = s->permits;
  pthread_mutex_unlock(&s->lock);
  return n;
}

/* ---------------------------------------------------------------- mutex */

SCHEDRT_API int schedrt_mutex_create(schedrt_mutex **out) {
  if (!out)
    return -EINVAL;
  schedrt_mutex *m = calloc(1, sizeof(*m));
  if (!m)
    return -ENOMEM;
  int rc = sem_init(&m->s, 1, SCHEDRT_DUMP_WAIT_MUTEX);
  if (rc)
    goto err;
  *out = m;
  return 0;
err:
  free(m);
  return rc;
}

SCHEDRT_API void schedrt_mutex_destroy(schedrt_mutex *m) {
  if (!m)
    return;
  sem_fini(&m->s);
  free(m);
}

SCHEDRT_API schedrt_poll schedrt_mutex_lock(schedrt_mutex *m, schedrt_task *self, uint64_t *ticket) {
  return sem_acquire(&m->s, self, 1, ticket);
}

SCHEDRT_API int schedrt_mutex_try_lock(schedrt_mutex *m, schedrt_task *self) {
  return sem_try_acquire(&m->s, self, 1) ? -EBUSY : 0;
}

SCHEDRT_API int schedrt_mutex_unlock(schedrt_mutex *m) {
  struct schedrt_semaphore *s = &m->s;
  pthread_mutex_lock(&s->lock);
  if (s->permits != 0) {
    pthread_mutex_unlock(&s->lock);
    return -EPERM;
  }
  /* Whoever unlocks, the owner's record goes: the lock was the owner's. */
  uint64_t owner = s->nhold ? s->hold[0].id : 0;
  s->permits = 1;
  holder_sub(s, owner, 1);
  grant_and_unlock(s);
  return 0;
}

SCHEDRT_API void schedrt_mutex_lock_cancel(schedrt_mutex *m, uint64_t *ticket) {
  if (m)
    sem_cancel(&m->s, ticket);
}

SCHEDRT_API int schedrt_mutex_owner(schedrt_mutex *m, uint64_t *owner_id) {
  struct schedrt_semaphore *s = &m->s;
  pthread_mutex_lock(&s->lock);
  int held = s->permits == 0;
  if (owner_id)
    *owner_id = held && s->nhold ? s->hold[0].id : 0;
  pthread_mutex_unlock(&s->lock);
  return held;
}
