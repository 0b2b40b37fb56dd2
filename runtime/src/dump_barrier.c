/*
 * The dump's start barrier (dump.h explains the round). A mutex and two
 * condition variables on CLOCK_MONOTONIC: a round is rare and short, so
 * clarity wins over a lock-free design, and TSan understands every edge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"

/* The coordinator re-checks the stop flag and asks `settled` at least this
 * often while it gathers; more often while participants are held. */
#define IDLE_POLL_NS 1000000ull

static struct timespec abs_ts(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  return ts;
}

static int cond_init_mono(pthread_cond_t *c) {
  pthread_condattr_t a;
  int rc = pthread_condattr_init(&a);
  if (rc)
    return -rc;
  rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  if (!rc)
    rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return -rc;
}

int schedrt__dbar_init(struct schedrt__dbar *b, uint32_t n, _Atomic uint32_t *flag,
                       schedrt__dbar_lead_fn lead, schedrt__dbar_judge_fn judge, void *arg) {
  int rc;
  memset(b, 0, sizeof(*b));
  b->n = n;
  b->flag = flag;
  b->lead = lead;
  b->judge = judge;
  b->arg = arg;
  b->leader = SCHEDRT_DBAR_COORD;
  atomic_init(&b->open_gen, 0);
  b->present = calloc(n, sizeof(*b->present));
  b->seen = calloc(n, sizeof(*b->seen));
  b->arrived_ns = calloc(n, sizeof(*b->arrived_ns));
  if (!b->present || !b->seen || !b->arrived_ns) {
    rc = -ENOMEM;
    goto err_free;
  }
  for (uint32_t i = 0; i < n; i++)
    atomic_init(&b->seen[i], 0);
  if ((rc = -pthread_mutex_init(&b->lock, NULL)))
    goto err_free;
  if ((rc = cond_init_mono(&b->cv_held)))
    goto err_lock;
  if ((rc = cond_init_mono(&b->cv_coord)))
    goto err_held;
  return 0;

err_held:
  pthread_cond_destroy(&b->cv_held);
err_lock:
  pthread_mutex_destroy(&b->lock);
err_free:
  free(b->present);
  free(b->seen);
  free(b->arrived_ns);
  b->present = NULL;
  b->seen = NULL;
  b->arrived_ns = NULL;
  return rc;
}

void schedrt__dbar_destroy(struct schedrt__dbar *b) {
  if (!b->present)
    return;
  pthread_cond_destroy(&b->cv_coord);
  pthread_cond_destroy(&b->cv_held);
  pthread_mutex_destroy(&b->lock);
  free(b->present);
  free(b->seen);
  free(b->arrived_ns);
  b->present = NULL;
  b->seen = NULL;
  b->arrived_ns = NULL;
}

/* Closes the gate; lock held. Whoever calls it leads. */
static void close_gate(struct schedrt__dbar *b, uint32_t leader) {
  b->phase = SCHEDRT_DBAR_HELD;
  b->leader = leader;
  b->closed_ns = schedrt__now_ns();
  /* Relaxed: arrivals re-check phase under the lock; open_gen only spares
   * the workers that lock. */
  atomic_store_explicit(&b->open_gen, 0, memory_order_relaxed);
  /* Relaxed: a hint for safe points, as its readers treat it. */
  atomic_store_explicit(b->flag, 0, memory_order_relaxed);
}

int schedrt__dbar_open(struct schedrt__dbar *b, uint64_t deadline_ns, uint64_t grace_ns, int self) {
  pthread_mutex_lock(&b->lock);
  /* RELEASED with nobody inside is over too (a finish that timed out). */
  if (b->arrived != 0 || b->phase == SCHEDRT_DBAR_GATHER || b->phase == SCHEDRT_DBAR_HELD) {
    pthread_mutex_unlock(&b->lock);
    return -EBUSY;
  }
  b->gen++;
  b->phase = SCHEDRT_DBAR_GATHER;
  b->aborted = b->again = false;
  b->leader = SCHEDRT_DBAR_COORD;
  b->deadline_ns = deadline_ns;
  b->give_up_ns = deadline_ns + grace_ns;
  b->closed_ns = b->released_ns = 0;
  memset(b->present, 0, b->n);
  b->self = self >= 0 && (uint32_t)self < b->n ? self : -1;
  if (b->self >= 0) {
    /* Relaxed: only this thread is participant `self`. */
    atomic_store_explicit(&b->seen[self], b->gen, memory_order_relaxed);
    b->present[self] = 1;
    b->arrived = 1;
    /* The requester holds itself: the hold counts from the first other arrival. */
    b->arrived_ns[self] = schedrt__now_ns();
  }
  if (b->arrived == b->n) {
    close_gate(b, SCHEDRT_DBAR_COORD);
  } else {
    /* Release: a participant that sees this gen also sees the round's setup
     * (it takes the lock anyway before acting on it). */
    atomic_store_explicit(&b->open_gen, b->gen, memory_order_release);
    /* seq_cst: before the coordinator's sleeper checks (dump.c, wake_parked).
     * Raised only for a round that gathers: close_gate is what clears it (a
     * single-worker round closes at open and must leave it down). */
    atomic_store_explicit(b->flag, 1, memory_order_seq_cst);
  }
  pthread_mutex_unlock(&b->lock);
  return 0;
}

/* Leaves a round that is over; lock held. */
static void leave(struct schedrt__dbar *b) {
  if (--b->arrived == 0)
    pthread_cond_signal(&b->cv_coord);
}

enum schedrt__dbar_outcome schedrt__dbar_arrive(struct schedrt__dbar *b, uint32_t i) {
  /* Acquire: pairs with open's release store (and spares the lock when no
   * round is open). seen[i] is ours: relaxed. */
  uint64_t g = atomic_load_explicit(&b->open_gen, memory_order_acquire);
  if (g == 0 || i >= b->n || atomic_load_explicit(&b->seen[i], memory_order_relaxed) == g)
    return SCHEDRT_DBAR_NOT_OPEN;
  pthread_mutex_lock(&b->lock);
  if (b->phase != SCHEDRT_DBAR_GATHER || b->gen != g) {
    pthread_mutex_unlock(&b->lock);
    return SCHEDRT_DBAR_NOT_OPEN;
  }
  atomic_store_explicit(&b->seen[i], g, memory_order_relaxed);
  b->present[i] = 1;
  b->arrived_ns[i] = schedrt__now_ns();
  if (b->arrived == (b->self >= 0))
    b->held_since = b->arrived_ns[i];
  if (++b->arrived == b->n) {
    close_gate(b, i);
    pthread_mutex_unlock(&b->lock);
    b->lead(b->arg);
    schedrt__dbar_release(b);
    pthread_mutex_lock(&b->lock);
    leave(b);
    pthread_mutex_unlock(&b->lock);
    return SCHEDRT_DBAR_LED;
  }
  /* The coordinator judges again with one more arrival: the missing ones
   * may all be stuck, and then nobody should wait for its next look. */
  if (b->judge)
    pthread_cond_signal(&b->cv_coord);
  while (b->phase == SCHEDRT_DBAR_GATHER && b->gen == g) {
    struct timespec ts = abs_ts(b->give_up_ns);
    if (pthread_cond_timedwait(&b->cv_held, &b->lock, &ts) == ETIMEDOUT && b->phase == SCHEDRT_DBAR_GATHER &&
        b->gen == g) {
      /* Nobody closed the gate: give the arrival back, so no later count
       * can include us while we run (Tokio #8370). */
      b->present[i] = 0;
      b->arrived--;
      pthread_mutex_unlock(&b->lock);
      return SCHEDRT_DBAR_GAVE_UP;
    }
  }
  /* Covered: the leader is reading our queues; wait for it with no timeout
   * (its work is bounded and never waits for anyone). */
  while (b->phase == SCHEDRT_DBAR_HELD)
    pthread_cond_wait(&b->cv_held, &b->lock);
  leave(b);
  pthread_mutex_unlock(&b->lock);
  return SCHEDRT_DBAR_COVERED;
}

enum schedrt__dbar_close schedrt__dbar_await_close(struct schedrt__dbar *b, const _Atomic bool *stop) {
  pthread_mutex_lock(&b->lock);
  while (b->phase == SCHEDRT_DBAR_GATHER) {
    uint64_t now = schedrt__now_ns();
    /* Acquire: pairs with destroy's release store of shutdown. */
    if (atomic_load_explicit(stop, memory_order_acquire)) {
      b->aborted = true;
      close_gate(b, SCHEDRT_DBAR_COORD);
      break;
    }
    if (now >= b->deadline_ns) {
      close_gate(b, SCHEDRT_DBAR_COORD);
      break;
    }
    enum schedrt__dbar_verdict v =
        b->judge ? b->judge(b->arg, b->present, b->arrived, b->held_since, now) : SCHEDRT_DBAR_WAIT;
    if (v != SCHEDRT_DBAR_WAIT) {
      b->again = v == SCHEDRT_DBAR_RETRY;
      close_gate(b, SCHEDRT_DBAR_COORD);
      break;
    }
    uint64_t step = b->arrived ? SCHEDRT_DBAR_PROBE_NS : IDLE_POLL_NS;
    uint64_t until = b->deadline_ns < now + step ? b->deadline_ns : now + step;
    struct timespec ts = abs_ts(until);
    pthread_cond_timedwait(&b->cv_coord, &b->lock, &ts);
  }
  enum schedrt__dbar_close how = SCHEDRT_DBAR_LEAD;
  if (b->leader != SCHEDRT_DBAR_COORD) {
    how = SCHEDRT_DBAR_WORKER_LED;
    while (b->phase == SCHEDRT_DBAR_HELD)
      pthread_cond_wait(&b->cv_coord, &b->lock);
  } else if (b->aborted) {
    how = SCHEDRT_DBAR_ABORTED;
  } else if (b->again) {
    how = SCHEDRT_DBAR_AGAIN;
  }
  pthread_mutex_unlock(&b->lock);
  return how;
}

void schedrt__dbar_times(struct schedrt__dbar *b, uint64_t *closed_ns, uint64_t *released_ns,
                         uint32_t *leader) {
  pthread_mutex_lock(&b->lock);
  *closed_ns = b->closed_ns;
  *released_ns = b->released_ns;
  *leader = b->leader;
  pthread_mutex_unlock(&b->lock);
}

uint64_t schedrt__dbar_held(struct schedrt__dbar *b, uint32_t i) {
  pthread_mutex_lock(&b->lock);
  uint64_t held = 0;
  if (i < b->n && b->present[i] && b->released_ns > b->arrived_ns[i])
    held = b->released_ns - b->arrived_ns[i];
  pthread_mutex_unlock(&b->lock);
  return held;
}

void schedrt__dbar_release(struct schedrt__dbar *b) {
  pthread_mutex_lock(&b->lock);
  b->phase = SCHEDRT_DBAR_RELEASED;
  b->released_ns = schedrt__now_ns();
  pthread_cond_broadcast(&b->cv_held);
  pthread_cond_broadcast(&b->cv_coord);
  pthread_mutex_unlock(&b->lock);
}

int schedrt__dbar_finish(struct schedrt__dbar *b, int self, uint64_t timeout_ns) {
  uint64_t until = schedrt__now_ns() + timeout_ns;
  int rc = 0;
  pthread_mutex_lock(&b->lock);
  if (self >= 0 && (uint32_t)self < b->n && b->present[self])
    b->arrived--;
  while (b->arrived != 0) {
    struct timespec ts = abs_ts(until);
    if (pthread_cond_timedwait(&b->cv_coord, &b->lock, &ts) == ETIMEDOUT && b->arrived != 0) {
      rc = -ETIMEDOUT;
      break;
    }
  }
  if (rc == 0)
    b->phase = SCHEDRT_DBAR_IDLE;
  pthread_mutex_unlock(&b->lock);
  return rc;
}

uint32_t schedrt__dbar_arrived(struct schedrt__dbar *b) {
  pthread_mutex_lock(&b->lock);
  uint32_t n = b->arrived;
  pthread_mutex_unlock(&b->lock);
  return n;
}
