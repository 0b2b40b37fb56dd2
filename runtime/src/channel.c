/*
 * The bounded multi-producer, single-consumer channel of pointers: a ring
 * under one pthread mutex, a FIFO of queued senders and the receiver's waker.
 *
 * A sender that finds the ring full is queued with its value. When the
 * receiver takes a message it moves the oldest queued value into the freed
 * slot and wakes that sender, whose next poll finds its send done: senders
 * are served in order and no later try_send can take a slot an earlier
 * sender waits for. Invariant: senders are queued only while the ring is
 * full.
 *
 * The memory is shared by the receiver and the sender handles: whoever
 * leaves it last (destroy, or the last schedrt_sender_drop) frees it, and
 * that is decided under the lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"
#include "sync_holds.h"

#define SEND_QUEUED 1 /* a waiter's status until it is sent (0) or refused (-EPIPE) */

struct chan_waiter {
  uint64_t ticket;
  schedrt_waker *waker;
  void *value;
  int status;
};

struct schedrt_channel {
  pthread_mutex_t lock;
  void **buf;
  size_t cap, head, len;
  struct chan_waiter *w; /* FIFO; a waiter stays until its task sees the outcome */
  size_t wlen, wcap;
  size_t nqueued; /* waiters still SEND_QUEUED */
  uint64_t next_ticket;
  schedrt_waker *rx_waker; /* the receiver's, while it waits */
  size_t senders;
  bool closed;        /* by the receiver: no more sends */
  bool rx_alive;      /* not destroyed yet */
  _Atomic bool holds; /* holders of either side are recorded (sync_holds.h) */
};

static inline schedrt_channel *chan_of(schedrt_sender *tx) { return (schedrt_channel *)tx; }

SCHEDRT_API int schedrt_channel_create(size_t capacity, schedrt_channel **rx, schedrt_sender **tx) {
  if (!rx || !tx || capacity == 0 || capacity > SIZE_MAX / sizeof(void *))
    return -EINVAL;
  int rc = -ENOMEM;
  schedrt_channel *c = calloc(1, sizeof(*c));
  if (!c)
    goto err;
  c->buf = malloc(capacity * sizeof(*c->buf));
  if (!c->buf)
    goto err;
  rc = -pthread_mutex_init(&c->lock, NULL);
  if (rc)
    goto err;
  c->cap = capacity;
  c->next_ticket = 1;
  c->senders = 1;
  c->rx_alive = true;
  atomic_init(&c->holds, false);
  *rx = c;
  *tx = (schedrt_sender *)c;
  return 0;
err:
  if (c)
    free(c->buf);
  free(c);
  return rc;
}

static void chan_free(schedrt_channel *c) {
  schedrt__holds_detach(c, &c->holds);
  for (size_t i = 0; i < c->wlen; i++)
    schedrt_waker_drop(c->w[i].waker);
  free(c->w);
  free(c->buf);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Under the lock: the receiver's waker, to fire once unlocked (NULL if it does not wait). */
static schedrt_waker *take_rx_locked(schedrt_channel *c) {
  schedrt_waker *w = c->rx_waker;
  c->rx_waker = NULL;
  return w;
}

static void push_locked(schedrt_channel *c, void *value) {
  size_t tail = c->head + c->len;
  c->buf[tail >= c->cap ? tail - c->cap : tail] = value;
  c->len++;
}

/* Under the lock, len > 0: the oldest message; the oldest queued sender's value takes its slot. */
static void *pop_locked(schedrt_channel *c, schedrt_waker **wake) {
  void *v = c->buf[c->head];
  c->head = c->head + 1 == c->cap ? 0 : c->head + 1;
  c->len--;
  *wake = NULL;
  if (c->nqueued) {
    for (size_t i = 0; i < c->wlen; i++) {
      struct chan_waiter *x = &c->w[i];
      if (x->status != SEND_QUEUED)
        continue;
      push_locked(c, x->value);
      x->status = 0;
      c->nqueued--;
      *wake = schedrt_waker_clone(x->waker);
      break;
    }
  }
  return v;
}

static ssize_t find_locked(schedrt_channel *c, uint64_t ticket) {
  for (size_t i = 0; i < c->wlen; i++)
    if (c->w[i].ticket == ticket)
      return (ssize_t)i;
  return -1;
}

static void remove_locked(schedrt_channel *c, size_t i) {
  schedrt_waker_drop(c->w[i].waker);
  memmove(c->w + i, c->w + i + 1, (c->wlen - i - 1) * sizeof(*c->w));
  c->wlen--;
}

/*
 * Under the lock, closed set: refuses every queued send and wakes those
 * senders, in batches outside the lock (no allocation). Returns unlocked.
 */
static void refuse_queued_and_unlock(schedrt_channel *c) {
  enum { BATCH = 32 };
  schedrt_waker *batch[BATCH];
  for (;;) {
    size_t k = 0;
    for (size_t i = 0; i < c->wlen && k < BATCH; i++) {
      struct chan_waiter *x = &c->w[i];
      if (x->status != SEND_QUEUED)
        continue;
      x->status = -EPIPE;
      c->nqueued--;
      batch[k++] = schedrt_waker_clone(x->waker);
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < k; i++)
      schedrt_wake(batch[i]);
    if (k < BATCH)
      return;
    pthread_mutex_lock(&c->lock);
  }
}

SCHEDRT_API int schedrt_sender_hold(schedrt_sender *tx, schedrt_holder who) {
  schedrt_channel *c = chan_of(tx);
  return c ? schedrt__holds_change(c, SCHEDRT_HOLD_SENDERS, who, 1, &c->holds, NULL) : -EINVAL;
}

SCHEDRT_API int schedrt_sender_release(schedrt_sender *tx, schedrt_holder who) {
  schedrt_channel *c = chan_of(tx);
  return c ? schedrt__holds_change(c, SCHEDRT_HOLD_SENDERS, who, -1, &c->holds, NULL) : -EINVAL;
}

SCHEDRT_API int schedrt_channel_hold(schedrt_channel *rx, schedrt_holder who) {
  return rx ? schedrt__holds_change(rx, SCHEDRT_HOLD_RECEIVER, who, 1, &rx->holds, NULL) : -EINVAL;
}

SCHEDRT_API int schedrt_channel_release(schedrt_channel *rx, schedrt_holder who) {
  return rx ? schedrt__holds_change(rx, SCHEDRT_HOLD_RECEIVER, who, -1, &rx->holds, NULL) : -EINVAL;
}

SCHEDRT_API schedrt_sender *schedrt_sender_clone(schedrt_sender *tx) {
  schedrt_channel *c = chan_of(tx);
  pthread_mutex_lock(&c->lock);
  c->senders++;
  pthread_mutex_unlock(&c->lock);
  return tx;
}

SCHEDRT_API void schedrt_sender_drop(schedrt_sender *tx) {
  if (!tx)
    return;
  schedrt_channel *c = chan_of(tx);
  schedrt_waker *w = NULL;
  pthread_mutex_lock(&c->lock);
  bool last = --c->senders == 0;
  if (last)
    w = take_rx_locked(c); /* end of stream once the buffer is drained */
  bool gone = last && !c->rx_alive;
  pthread_mutex_unlock(&c->lock);
  schedrt_wake(w);
  if (gone)
    chan_free(c);
}

SCHEDRT_API schedrt_poll schedrt_channel_send(schedrt_sender *tx, schedrt_task *self, void *value,
                                              uint64_t *ticket, int *status) {
  schedrt_channel *c = chan_of(tx);
  schedrt_poll r = SCHEDRT_PENDING;
  schedrt_waker *wake = NULL;
  pthread_mutex_lock(&c->lock);
  if (*ticket != 0) {
    ssize_t i = find_locked(c, *ticket);
    if (i >= 0) {
      struct chan_waiter *x = &c->w[i];
      if (x->status != SEND_QUEUED) {
        if (!schedrt__coop_proceed(self))
          goto forced; /* the outcome stays with the ticket */
        *status = x->status;
        remove_locked(c, (size_t)i);
        *ticket = 0;
        r = SCHEDRT_READY;
      } else if (!schedrt__will_wake(x->waker, self)) {
        /* The send moved to another task: wake that one from now on. */
        schedrt_waker_drop(x->waker);
        x->waker = schedrt_waker_get(self);
      }
      goto out;
    }
    *ticket = 0; /* not one of ours (cancelled): a new send */
  }
  if (c->closed) {
    if (!schedrt__coop_proceed(self))
      goto forced;
    *status = -EPIPE;
    r = SCHEDRT_READY;
    goto out;
  }
  if (c->nqueued == 0 && c->len < c->cap) {
    if (!schedrt__coop_proceed(self))
      goto forced; /* nothing sent: the caller sends again */
    push_locked(c, value);
    wake = take_rx_locked(c);
    *status = 0;
    r = SCHEDRT_READY;
    goto out;
  }
  if (c->wlen == c->wcap) {
    size_t cap = c->wcap ? c->wcap * 2 : 8;
    struct chan_waiter *w = realloc(c->w, cap * sizeof(*w));
    if (!w) {
      /* Cannot queue without memory: poll again later rather than hang. */
      pthread_mutex_unlock(&c->lock);
      (void)schedrt_yield(self);
      return SCHEDRT_PENDING;
    }
    c->w = w;
    c->wcap = cap;
  }
  *ticket = c->next_ticket++;
  c->w[c->wlen++] = (struct chan_waiter){*ticket, schedrt_waker_get(self), value, SEND_QUEUED};
  c->nqueued++;
out:
  pthread_mutex_unlock(&c->lock);
  /* Outside the lock: waking may take scheduler locks. */
  schedrt_wake(wake);
  if (r == SCHEDRT_PENDING)
    schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_CHANNEL_SEND, (uint64_t)(uintptr_t)c);
  return r;
forced:
  /* Out of budget: already re-scheduled, nothing sent, waiting on nothing. */
  pthread_mutex_unlock(&c->lock);
  return SCHEDRT_PENDING;
}

SCHEDRT_API int schedrt_channel_send_cancel(schedrt_sender *tx, uint64_t *ticket) {
  if (!tx || !ticket || *ticket == 0)
    return 0;
  schedrt_channel *c = chan_of(tx);
  int sent = 0;
  pthread_mutex_lock(&c->lock);
  ssize_t i = find_locked(c, *ticket);
  if (i >= 0) {
    if (c->w[i].status == SEND_QUEUED)
      c->nqueued--;
    else
      sent = c->w[i].status == 0;
    remove_locked(c, (size_t)i);
  }
  pthread_mutex_unlock(&c->lock);
  *ticket = 0;
  return sent;
}

SCHEDRT_API int schedrt_channel_try_send(schedrt_sender *tx, void *value) {
  schedrt_channel *c = chan_of(tx);
  int rc = -EAGAIN;
  schedrt_waker *wake = NULL;
  pthread_mutex_lock(&c->lock);
  if (c->closed) {
    rc = -EPIPE;
  } else if (c->nqueued == 0 && c->len < c->cap) {
    push_locked(c, value);
    wake = take_rx_locked(c);
    rc = 0;
  }
  pthread_mutex_unlock(&c->lock);
  schedrt_wake(wake);
  return rc;
}

SCHEDRT_API schedrt_poll schedrt_channel_recv(schedrt_channel *c, schedrt_task *self, void **value,
                                              int *status) {
  schedrt_poll r = SCHEDRT_READY;
  schedrt_waker *wake = NULL;
  pthread_mutex_lock(&c->lock);
  if (c->len || c->senders == 0 || c->closed) {
    if (!schedrt__coop_proceed(self)) {
      /* Out of budget: already re-scheduled, nothing taken, waiting on nothing. */
      pthread_mutex_unlock(&c->lock);
      return SCHEDRT_PENDING;
    }
    if (c->len) {
      void *v = pop_locked(c, &wake);
      if (value)
        *value = v;
      *status = 0;
    } else {
      *status = -EPIPE; /* nobody can send any more, and nothing is left */
    }
  } else {
    r = SCHEDRT_PENDING;
    if (!c->rx_waker || !schedrt__will_wake(c->rx_waker, self)) {
      /* First registration, or the receiver moved to another task. */
      schedrt_waker_drop(c->rx_waker);
      c->rx_waker = schedrt_waker_get(self);
    }
  }
  pthread_mutex_unlock(&c->lock);
  schedrt_wake(wake);
  if (r == SCHEDRT_PENDING)
    schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_CHANNEL_RECV, (uint64_t)(uintptr_t)c);
  return r;
}

SCHEDRT_API int schedrt_channel_try_recv(schedrt_channel *c, void **value) {
  int rc = -EAGAIN;
  schedrt_waker *wake = NULL;
  pthread_mutex_lock(&c->lock);
  if (c->len) {
    void *v = pop_locked(c, &wake);
    if (value)
      *value = v;
    rc = 0;
  } else if (c->senders == 0 || c->closed) {
    rc = -EPIPE;
  }
  pthread_mutex_unlock(&c->lock);
  schedrt_wake(wake);
  return rc;
}

SCHEDRT_API void schedrt_channel_close(schedrt_channel *c) {
  pthread_mutex_lock(&c->lock);
  c->closed = true;
  schedrt_waker *w = take_rx_locked(c); /* a receiver waiting on an empty channel now sees the end */
  refuse_queued_and_unlock(c);
  schedrt_wake(w);
}

SCHEDRT_API size_t schedrt_channel_len(schedrt_channel *c) {
  pthread_mutex_lock(&c->lock);
  size_t n = c->len;
  pthread_mutex_unlock(&c->lock);
  return n;
}

SCHEDRT_API size_t schedrt_channel_capacity(schedrt_channel *c) { return c->cap; }

SCHEDRT_API void schedrt_channel_destroy(schedrt_channel *c) {
  if (!c)
    return;
  /* Close first, while the receiver still keeps the memory: the queued
   * senders' wakes happen outside the lock, where a last sender_drop could
   * otherwise free it under us. */
  schedrt_channel_close(c);
  pthread_mutex_lock(&c->lock);
  schedrt_waker_drop(take_rx_locked(c));
  c->len = 0;
  c->rx_alive = false;
  bool gone = c->senders == 0;
  pthread_mutex_unlock(&c->lock);
  if (gone)
    chan_free(c);
}
