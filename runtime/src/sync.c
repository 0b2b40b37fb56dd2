/* Primitives built on wakers: a oneshot channel (and its close) and a notify. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"
#include "sync_holds.h"

/* ------------------------------------------------------------------ oneshot */

enum {
  OS_SENDING = 1u << 0,  /* a sender claimed the channel */
  OS_SENT = 1u << 1,     /* the value is readable */
  OS_RX_WAKER = 1u << 2, /* the receiver's waker is stored */
  OS_CLOSED = 1u << 3,   /* the receiver closed it: sends fail */
  OS_TX_WAKER = 1u << 4, /* the sender's waker (schedrt_oneshot_closed) is stored */
  OS_GEN_ONE = 1u << 5   /* above: how many times a receiver stored a waker */
};

/*
 * The waker belongs to the receiver while SENT is clear; the sender that sets
 * SENT while RX_WAKER is set takes it over and consumes it. A receiver polled
 * by another task takes its waker back (clearing RX_WAKER) and stores the new
 * one with a new generation, so a sender that read the old waker fails its
 * CAS even if RX_WAKER reads set again (no ABA).
 */
struct oneshot {
  _Atomic uint32_t state;
  /* Holders of the sending side are recorded (sync_holds.h): in the padding, so the size stays. */
  _Atomic bool holds;
  void *value;
  /* Atomic (relaxed) because a sender may read it while the receiver
   * replaces it; the generation in state says whether what it read counts. */
  _Atomic(schedrt_waker *) waker;
  /*
   * The sender's, for schedrt_oneshot_closed. Only the sending side stores
   * it (one party, never concurrently with itself), so it needs no
   * generation: whoever clears TX_WAKER in the state owns it, the closer
   * (to wake it) or the sender (to replace it, or to drop it in the CAS that
   * sets SENT, after which it must not touch the channel).
   */
  _Atomic(schedrt_waker *) tx_waker;
};
_Static_assert(sizeof(struct oneshot) <= sizeof(schedrt_oneshot), "schedrt_oneshot too small");
_Static_assert(_Alignof(struct oneshot) <= _Alignof(schedrt_oneshot), "schedrt_oneshot misaligned");

SCHEDRT_API void schedrt_oneshot_init(schedrt_oneshot *ch) {
  struct oneshot *o = (struct oneshot *)ch;
  atomic_init(&o->state, 0);
  atomic_init(&o->holds, false);
  o->value = NULL;
  atomic_init(&o->waker, NULL);
  atomic_init(&o->tx_waker, NULL);
}

SCHEDRT_API int schedrt_oneshot_send(schedrt_oneshot *ch, void *value) {
  struct oneshot *o = (struct oneshot *)ch;
  /* Relaxed claim: it only excludes other senders; SENT below publishes.
   * A closed channel stays closed, so a claim that saw it need not undo. */
  uint32_t prev = atomic_fetch_or_explicit(&o->state, OS_SENDING, memory_order_relaxed);
  if (prev & OS_CLOSED)
    return -EPIPE;
  if (prev & OS_SENDING)
    return -EALREADY;
  o->value = value;
  /*
   * Take the wakers before publishing SENT: once SENT is visible the receiver
   * may destroy and free the channel, so it must not be touched afterwards.
   * The sender's own waker (closed) goes in the same CAS and is fired:
   * nothing is left to wait for. AcqRel: release publishes value; acquire (also on failure) sees
   * the waker the receiver stored before the state that says RX_WAKER.
   */
  uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
  schedrt_waker *w, *tw;
  do {
    if (s & OS_CLOSED)
      return -EPIPE; /* closed while we claimed: the value was never published */
    w = (s & OS_RX_WAKER) ? atomic_load_explicit(&o->waker, memory_order_relaxed) : NULL;
    tw = (s & OS_TX_WAKER) ? atomic_load_explicit(&o->tx_waker, memory_order_relaxed) : NULL;
  } while (!atomic_compare_exchange_weak_explicit(&o->state, &s, (s | OS_SENT) & ~OS_TX_WAKER,
                                                  memory_order_acq_rel, memory_order_acquire));
  schedrt_wake(w); /* the sender's reference now; NULL is fine */
  /* A task of the sending side waiting in closed() has nothing left to wait
   * for: it must see READY (dropping the waker was a lost wake-up). */
  schedrt_wake(tw);
  return 0;
}

/* Out of line: registering is the cold half of a receive; the hot half
 * (value there, or the same task polled again) then saves no registers. */
__attribute__((noinline)) static schedrt_poll oneshot_register(struct oneshot *o, schedrt_task *self,
                                                               void **value, uint32_t s) {
  for (;;) {
    if (s & (OS_SENT | OS_CLOSED)) {
      if (!schedrt__coop_proceed(self))
        return SCHEDRT_PENDING;
      if (value)
        *value = (s & OS_SENT) ? o->value : NULL; /* closed with nothing sent: nothing will come */
      return SCHEDRT_READY;
    }
    if (s & OS_RX_WAKER) {
      if (schedrt__will_wake(atomic_load_explicit(&o->waker, memory_order_relaxed), self))
        break;
      /* Another task receives now: take the old waker back, unless the
       * value came first (then the sender owns and fires it). */
      if (!atomic_compare_exchange_weak_explicit(&o->state, &s, s & ~OS_RX_WAKER, memory_order_acq_rel,
                                                 memory_order_acquire))
        continue;
      s &= ~OS_RX_WAKER;
      schedrt_waker_drop(atomic_exchange_explicit(&o->waker, NULL, memory_order_relaxed));
    }
    atomic_store_explicit(&o->waker, schedrt_waker_get(self), memory_order_relaxed);
    /* Release: the sender reads waker after seeing RX_WAKER. */
    if (atomic_compare_exchange_strong_explicit(&o->state, &s, (s | OS_RX_WAKER) + OS_GEN_ONE,
                                                memory_order_acq_rel, memory_order_acquire))
      break;
    schedrt_waker_drop(atomic_exchange_explicit(&o->waker, NULL, memory_order_relaxed));
  }
  schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_ONESHOT, (uint64_t)(uintptr_t)o);
  return SCHEDRT_PENDING;
}

SCHEDRT_API schedrt_poll schedrt_oneshot_recv(schedrt_oneshot *ch, schedrt_task *self, void **value) {
  struct oneshot *o = (struct oneshot *)ch;
  /* Acquire: pairs with the sender's release of value. */
  uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
  if (s & OS_SENT) {
    if (!schedrt__coop_proceed(self))
      return SCHEDRT_PENDING;
    if (value)
      *value = o->value;
    return SCHEDRT_READY;
  }
  return oneshot_register(o, self, value, s);
}

SCHEDRT_API void schedrt_oneshot_destroy(schedrt_oneshot *ch) {
  struct oneshot *o = (struct oneshot *)ch;
  /* AcqRel: take both registrations in one step, so that a closer (the
   * receiving side too, but perhaps on another thread) cannot also own the
   * sender's. */
  uint32_t s =
      atomic_fetch_and_explicit(&o->state, ~(uint32_t)(OS_RX_WAKER | OS_TX_WAKER), memory_order_acq_rel);
  if ((s & OS_RX_WAKER) && !(s & OS_SENT))
    schedrt_waker_drop(atomic_load_explicit(&o->waker, memory_order_relaxed));
  if (s & OS_TX_WAKER)
    schedrt_waker_drop(atomic_load_explicit(&o->tx_waker, memory_order_relaxed));
  atomic_store_explicit(&o->waker, NULL, memory_order_relaxed);
  atomic_store_explicit(&o->tx_waker, NULL, memory_order_relaxed);
  schedrt__holds_detach(o, &o->holds);
}

SCHEDRT_API int schedrt_oneshot_hold(schedrt_oneshot *ch, schedrt_holder who) {
  struct oneshot *o = (struct oneshot *)ch;
  return o ? schedrt__holds_change(o, SCHEDRT_HOLD_ONESHOT, who, 1, &o->holds, NULL) : -EINVAL;
}

SCHEDRT_API int schedrt_oneshot_release(schedrt_oneshot *ch, schedrt_holder who) {
  struct oneshot *o = (struct oneshot *)ch;
  return o ? schedrt__holds_change(o, SCHEDRT_HOLD_ONESHOT, who, -1, &o->holds, NULL) : -EINVAL;
}

SCHEDRT_API void schedrt_oneshot_close(schedrt_oneshot *ch) {
  struct oneshot *o = (struct oneshot *)ch;
  /* AcqRel: acquire sees the sender's waker stored before TX_WAKER; the bit
   * cleared in the same step makes it ours alone. */
  uint32_t s = atomic_fetch_or_explicit(&o->state, OS_CLOSED, memory_order_acq_rel);
  if ((s & OS_CLOSED) || !(s & OS_TX_WAKER))
    return;
  s = atomic_fetch_and_explicit(&o->state, ~(uint32_t)OS_TX_WAKER, memory_order_acq_rel);
  /* With CLOSED set only we clear TX_WAKER: the sender's send fails before
   * its CAS and its closed() sees CLOSED before it would take the waker back. */
  if (s & OS_TX_WAKER)
    schedrt_wake(atomic_exchange_explicit(&o->tx_waker, NULL, memory_order_relaxed));
}

SCHEDRT_API schedrt_poll schedrt_oneshot_closed(schedrt_oneshot *ch, schedrt_task *self) {
  struct oneshot *o = (struct oneshot *)ch;
  /* Acquire: pairs with the closer's release. */
  uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
  for (;;) {
    if (s & (OS_CLOSED | OS_SENT)) {
      if (!schedrt__coop_proceed(self))
        return SCHEDRT_PENDING;
      return SCHEDRT_READY;
    }
    if (s & OS_TX_WAKER) {
      if (schedrt__will_wake(atomic_load_explicit(&o->tx_waker, memory_order_relaxed), self)) {
        schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_ONESHOT, (uint64_t)(uintptr_t)ch);
        return SCHEDRT_PENDING;
      }
      /* Another task waits now: take the old waker back, unless the close
       * came first (then the closer owns and fires it). */
      if (!atomic_compare_exchange_weak_explicit(&o->state, &s, s & ~OS_TX_WAKER, memory_order_acq_rel,
                                                 memory_order_acquire))
        continue;
      s &= ~OS_TX_WAKER;
      schedrt_waker_drop(atomic_exchange_explicit(&o->tx_waker, NULL, memory_order_relaxed));
    }
    atomic_store_explicit(&o->tx_waker, schedrt_waker_get(self), memory_order_relaxed);
    /* Release: the closer reads tx_waker after seeing TX_WAKER. */
    if (atomic_compare_exchange_strong_explicit(&o->state, &s, s | OS_TX_WAKER, memory_order_acq_rel,
                                                memory_order_acquire)) {
      schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_ONESHOT, (uint64_t)(uintptr_t)ch);
      return SCHEDRT_PENDING;
    }
    schedrt_waker_drop(atomic_exchange_explicit(&o->tx_waker, NULL, memory_order_relaxed));
  }
}

/* ------------------------------------------------------------------- notify */

/*
 * A waiter stays listed until its task sees the notification (or cancels), so
 * a notification given to a task that then gives up can be passed on.
 */
struct notify_waiter {
  uint64_t ticket;
  schedrt_waker *waker;
  bool notified; /* by notify_one; notify_all takes the others off the list */
};

struct schedrt_notify {
  pthread_mutex_t lock;
  _Atomic bool holds;            /* holders are recorded (sync_holds.h) */
  struct notify_waiter *waiters; /* FIFO: oldest first */
  size_t len, cap;
  uint64_t next_ticket;
  uint64_t permits;
};

SCHEDRT_API int schedrt_notify_create(schedrt_notify **out) {
  if (!out)
    return -EINVAL;
  schedrt_notify *n = calloc(1, sizeof(*n));
  if (!n)
    return -ENOMEM;
  int rc = pthread_mutex_init(&n->lock, NULL);
  if (rc) {
    free(n);
    return -rc;
  }
  n->next_ticket = 1;
  atomic_init(&n->holds, false);
  *out = n;
  return 0;
}

SCHEDRT_API void schedrt_notify_destroy(schedrt_notify *n) {
  if (!n)
    return;
  schedrt__holds_detach(n, &n->holds);
  for (size_t i = 0; i < n->len; i++)
    schedrt_waker_drop(n->waiters[i].waker);
  free(n->waiters);
  pthread_mutex_destroy(&n->lock);
  free(n);
}

/* For dumps (sync_holds.h): a notification given to a ticket whose task has not seen it yet, or a
 * permit, can still reach a waiter without any holder (a cancel passes it on). */
static bool notify_pending(const void *addr) {
  schedrt_notify *n = (schedrt_notify *)(uintptr_t)addr;
  pthread_mutex_lock(&n->lock);
  bool pending = n->permits != 0;
  for (size_t i = 0; !pending && i < n->len; i++)
    pending = n->waiters[i].notified;
  pthread_mutex_unlock(&n->lock);
  return pending;
}

SCHEDRT_API int schedrt_notify_hold(schedrt_notify *n, schedrt_holder who) {
  return n ? schedrt__holds_change(n, SCHEDRT_HOLD_NOTIFY, who, 1, &n->holds, notify_pending) : -EINVAL;
}

SCHEDRT_API int schedrt_notify_release(schedrt_notify *n, schedrt_holder who) {
  return n ? schedrt__holds_change(n, SCHEDRT_HOLD_NOTIFY, who, -1, &n->holds, notify_pending) : -EINVAL;
}

/* Under the lock: hands one notification to the oldest waiter not yet
 * notified (returning a waker reference to fire), or stores a permit. */
static schedrt_waker *give_one_locked(schedrt_notify *n) {
  for (size_t i = 0; i < n->len; i++) {
    if (!n->waiters[i].notified) {
      n->waiters[i].notified = true;
      return schedrt_waker_clone(n->waiters[i].waker);
    }
  }
  n->permits++;
  return NULL;
}

static void remove_locked(schedrt_notify *n, size_t i) {
  schedrt_waker_drop(n->waiters[i].waker);
  memmove(n->waiters + i, n->waiters + i + 1, (n->len - i - 1) * sizeof(*n->waiters));
  n->len--;
}

static ssize_t find_locked(schedrt_notify *n, uint64_t ticket) {
  for (size_t i = 0; i < n->len; i++)
    if (n->waiters[i].ticket == ticket)
      return (ssize_t)i;
  return -1;
}

SCHEDRT_API void schedrt_notify_one(schedrt_notify *n) {
  pthread_mutex_lock(&n->lock);
  schedrt_waker *w = give_one_locked(n);
  pthread_mutex_unlock(&n->lock);
  /* Outside the lock: waking may take scheduler locks. */
  schedrt_wake(w);
}

SCHEDRT_API void schedrt_notify_all(schedrt_notify *n) {
  /*
   * Waiters that notify_one already chose keep that notification and their
   * place: if they give up, schedrt_notify_cancel passes it on. The others
   * present now (tickets below `end`) are taken off the list and woken,
   * outside the lock, in batches (no allocation).
   */
  enum { BATCH = 32 };
  schedrt_waker *batch[BATCH];
  pthread_mutex_lock(&n->lock);
  const uint64_t end = n->next_ticket;
  for (;;) {
    size_t k = 0, kept = 0;
    for (size_t i = 0; i < n->len; i++) {
      struct notify_waiter *x = &n->waiters[i];
      if (k < BATCH && !x->notified && x->ticket < end)
        batch[k++] = x->waker; /* off the list: the reference moves to batch */
      else
        n->waiters[kept++] = *x;
    }
    n->len = kept;
    pthread_mutex_unlock(&n->lock);
    for (size_t i = 0; i < k; i++)
      schedrt_wake(batch[i]);
    if (k < BATCH)
      return;
    pthread_mutex_lock(&n->lock);
  }
}

SCHEDRT_API schedrt_poll schedrt_notify_wait(schedrt_notify *n, schedrt_task *self, uint64_t *ticket) {
  schedrt_poll r = SCHEDRT_PENDING;
  pthread_mutex_lock(&n->lock);
  if (*ticket == 0) {
    if (n->permits) {
      if (!schedrt__coop_proceed(self))
        goto forced; /* the permit stays for the next poll */
      n->permits--;
      r = SCHEDRT_READY;
      goto out;
    }
    if (n->len == n->cap) {
      size_t cap = n->cap ? n->cap * 2 : 8;
      struct notify_waiter *ws = realloc(n->waiters, cap * sizeof(*ws));
      if (!ws) {
        /* Cannot wait without memory: report a notification rather than hang. */
        r = SCHEDRT_READY;
        goto out;
      }
      n->waiters = ws;
      n->cap = cap;
    }
    *ticket = n->next_ticket++;
    n->waiters[n->len++] = (struct notify_waiter){*ticket, schedrt_waker_get(self), false};
    goto out;
  }
  ssize_t i = find_locked(n, *ticket);
  if (i < 0 || n->waiters[i].notified) {
    /* Notified by notify_one (listed, marked) or notify_all (gone). */
    if (!schedrt__coop_proceed(self))
      goto forced; /* the notification stays with the ticket */
    if (i >= 0)
      remove_locked(n, (size_t)i);
    *ticket = 0;
    r = SCHEDRT_READY;
  } else if (!schedrt__will_wake(n->waiters[i].waker, self)) {
    /* The ticket moved to another task: wake that one from now on. */
    schedrt_waker_drop(n->waiters[i].waker);
    n->waiters[i].waker = schedrt_waker_get(self);
  }
out:
  pthread_mutex_unlock(&n->lock);
  if (r == SCHEDRT_PENDING)
    schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_NOTIFY, (uint64_t)(uintptr_t)n);
  return r;
forced:
  /* Out of budget: already re-scheduled, and waiting on nothing. */
  pthread_mutex_unlock(&n->lock);
  return SCHEDRT_PENDING;
}

SCHEDRT_API void schedrt_notify_cancel(schedrt_notify *n, uint64_t *ticket) {
  if (!n || !ticket || *ticket == 0)
    return;
  schedrt_waker *w = NULL;
  pthread_mutex_lock(&n->lock);
  ssize_t i = find_locked(n, *ticket);
  if (i >= 0) {
    bool notified = n->waiters[i].notified;
    remove_locked(n, (size_t)i);
    if (notified)
      w = give_one_locked(n); /* pass the unused notification on */
  }
  pthread_mutex_unlock(&n->lock);
  *ticket = 0;
  schedrt_wake(w);
}
