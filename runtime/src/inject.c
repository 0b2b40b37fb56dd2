/* The global injection queue: an intrusive FIFO under a mutex, as Tokio's. */
#include "internal.h"

int schedrt__inject_init(struct schedrt_inject *q) {
  q->head = q->tail = NULL;
  atomic_init(&q->len, 0);
  q->closed = false;
  /*
   * glibc's adaptive mutex spins a bounded while (the tunable
   * glibc.pthread.mutex_spin_count, 100 by default) before it sleeps, as
   * parking_lot's, Tokio's, does: the critical sections here are a few
   * pointer moves, so a contended push or pop nearly always gets the lock
   * without the two futex calls of a sleep and a wake (10,000 remote spawns
   * to an idle runtime: ~200 futex calls against ~12,900; docs/performance.md).
   */
  pthread_mutexattr_t attr;
  int rc = pthread_mutexattr_init(&attr);
  if (rc)
    return -rc;
  rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  if (!rc)
    rc = pthread_mutex_init(&q->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  return -rc;
}

void schedrt__inject_destroy(struct schedrt_inject *q) { pthread_mutex_destroy(&q->lock); }

bool schedrt__inject_push_batch(struct schedrt_inject *q, schedrt_task *first, schedrt_task *last,
                                uint64_t n) {
  last->qnext = NULL;
  pthread_mutex_lock(&q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return false;
  }
  if (q->tail)
    q->tail->qnext = first;
  else
    q->head = first;
  q->tail = last;
  /* Relaxed: len is a hint outside the lock; the lock orders the list. */
  atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) + n,
                        memory_order_relaxed);
  pthread_mutex_unlock(&q->lock);
  return true;
}

bool schedrt__inject_push_split(struct schedrt_inject *q, schedrt_task *front, schedrt_task *front_last,
                                schedrt_task *back, schedrt_task *back_last, uint64_t n) {
  pthread_mutex_lock(&q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return false;
  }
  if (front) {
    front_last->qnext = q->head;
    q->head = front;
    if (!q->tail)
      q->tail = front_last;
  }
  if (back) {
    back_last->qnext = NULL;
    if (q->tail)
      q->tail->qnext = back;
    else
      q->head = back;
    q->tail = back_last;
  }
  /* Relaxed: len is a hint outside the lock; the lock orders the list. */
  atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) + n,
                        memory_order_relaxed);
  pthread_mutex_unlock(&q->lock);
  return true;
}

bool schedrt__inject_push(struct schedrt_inject *q, schedrt_task *t) {
  return schedrt__inject_push_batch(q, t, t, 1);
}

schedrt_task *schedrt__inject_pop_n(struct schedrt_inject *q, uint64_t max, uint64_t *n) {
  *n = 0;
  if (max == 0 || schedrt__inject_len(q) == 0)
    return NULL;
  pthread_mutex_lock(&q->lock);
  schedrt_task *first = q->head, *last = NULL, *x = first;
  uint64_t k = 0;
  while (x && k < max) {
    last = x;
    x = x->qnext;
    k++;
  }
  if (k) {
    q->head = x;
    if (!x)
      q->tail = NULL;
    last->qnext = NULL;
    atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) - k,
                          memory_order_relaxed);
  }
  pthread_mutex_unlock(&q->lock);
  *n = k;
  return k ? first : NULL;
}

void schedrt__inject_close(struct schedrt_inject *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = true;
  pthread_mutex_unlock(&q->lock);
}
