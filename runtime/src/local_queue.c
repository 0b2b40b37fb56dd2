/* The bounded work-stealing ring; the algorithm is explained in local_queue.h. */
#include "local_queue.h"

/* Slots are atomics only so that a thief's copy is not a data race; the
 * ordering comes from head and tail, so relaxed accesses suffice. */
static inline void slot_put(struct schedrt_local_queue *q, uint32_t pos, schedrt_task *t) {
  atomic_store_explicit(&q->buf[pos & SCHEDRT_LOCAL_QUEUE_MASK], t, memory_order_relaxed);
}
static inline schedrt_task *slot_get(struct schedrt_local_queue *q, uint32_t pos) {
  return atomic_load_explicit(&q->buf[pos & SCHEDRT_LOCAL_QUEUE_MASK], memory_order_relaxed);
}

/* Moves half the ring plus t to the injection queue. False if a thief got in first. */
static bool push_overflow(struct schedrt_local_queue *q, schedrt_task *t, uint32_t head, uint32_t tail,
                          struct schedrt_inject *inject) {
  const uint32_t n = SCHEDRT_LOCAL_QUEUE_CAP / 2;
  uint64_t prev = schedrt__lq_pack(head, head);
  /* Claim [head, head+n) by moving both halves of head past it. Release:
   * the claim is ordered after our earlier slot writes. On failure (a thief
   * got in) nothing is read here: the caller's next loop reloads head with
   * acquire. */
  if (!atomic_compare_exchange_strong_explicit(&q->head, &prev, schedrt__lq_pack(head + n, head + n),
                                               memory_order_release, memory_order_relaxed))
    return false;
  (void)tail;
  schedrt_task *first = slot_get(q, head), *last = first;
  for (uint32_t i = 1; i < n; i++) {
    schedrt_task *x = slot_get(q, head + i);
    last->qnext = x;
    last = x;
  }
  last->qnext = t;
  t->qnext = NULL;
  if (!schedrt__inject_push_batch(inject, first, t, n + 1)) {
    /* Closed: only at shutdown, after the workers stopped. Release the
     * scheduled references; the owned list cancels the tasks. */
    for (schedrt_task *x = first, *nx; x; x = nx) {
      nx = x->qnext;
      schedrt__task_unref(x);
    }
  }
  return true;
}

/* The ring looked full: push after all if a thief made room, else overflow.
 * Out of line, so the common push saves no registers and counts nothing. */
static __attribute__((noinline)) bool push_full(struct schedrt_local_queue *q, schedrt_task *t,
                                                struct schedrt_inject *inject) {
  for (;;) {
    /* Acquire: see the thieves' head updates before deciding on capacity. */
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t steal = schedrt__lq_steal(h), real = schedrt__lq_real(h);
    /* Relaxed: only this thread writes tail. */
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail - steal < SCHEDRT_LOCAL_QUEUE_CAP) {
      slot_put(q, tail, t);
      /* Release: publishes the slot to thieves that acquire tail. */
      atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
      return false;
    }
    if (steal != real) {
      /* A thief is mid-copy and will free room; Tokio sends just this task away. */
      t->qnext = NULL;
      if (!schedrt__inject_push(inject, t))
        schedrt__task_unref(t);
      q->overflows++;
      return true;
    }
    if (push_overflow(q, t, real, tail, inject)) {
      q->overflows++;
      return true;
    }
    /* Lost a race with a thief: the ring has room now. */
  }
}

bool schedrt__lq_push_back_or_overflow(struct schedrt_local_queue *q, schedrt_task *t,
                                       struct schedrt_inject *inject) {
  /* Acquire: see the thieves' head updates before deciding on capacity. */
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  /* Relaxed: only this thread writes tail. */
  uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
  if (SCHEDRT_UNLIKELY(tail - schedrt__lq_steal(h) >= SCHEDRT_LOCAL_QUEUE_CAP))
    return push_full(q, t, inject);
  slot_put(q, tail, t);
  /* Release: publishes the slot to thieves that acquire tail. */
  atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
  return false;
}

schedrt_task *schedrt__lq_pop(struct schedrt_local_queue *q) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  for (;;) {
    uint32_t steal = schedrt__lq_steal(h), real = schedrt__lq_real(h);
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (real == tail)
      return NULL;
    uint32_t next_real = real + 1;
    uint64_t next =
        steal == real ? schedrt__lq_pack(next_real, next_real) : schedrt__lq_pack(steal, next_real);
    /* AcqRel: acquire a thief's finished copy, release our claim. */
    if (atomic_compare_exchange_weak_explicit(&q->head, &h, next, memory_order_acq_rel, memory_order_acquire))
      return slot_get(q, real);
  }
}

/* Claims up to half of src and copies it into dst at dst_tail; returns how many. */
static uint32_t steal_into2(struct schedrt_local_queue *src, struct schedrt_local_queue *dst,
                            uint32_t dst_tail) {
  uint64_t prev = atomic_load_explicit(&src->head, memory_order_acquire);
  uint64_t next;
  uint32_t n;
  for (;;) {
    uint32_t steal = schedrt__lq_steal(prev), real = schedrt__lq_real(prev);
    if (steal != real)
      return 0; /* another thief is at work */
    /* Acquire: the slots up to tail were published by the owner's release. */
    uint32_t tail = atomic_load_explicit(&src->tail, memory_order_acquire);
    n = tail - real;
    n -= n / 2;
    if (n == 0 || n > SCHEDRT_LOCAL_QUEUE_CAP / 2)
      return 0; /* empty, or a stale (torn) view: retry later */
    next = schedrt__lq_pack(steal, real + n);
    if (atomic_compare_exchange_weak_explicit(&src->head, &prev, next, memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  uint32_t first = schedrt__lq_steal(next);
  for (uint32_t i = 0; i < n; i++)
    slot_put(dst, dst_tail + i, slot_get(src, first + i));
  /* Finish: steal catches up with real (which the owner may have moved). */
  prev = next;
  for (;;) {
    uint32_t real = schedrt__lq_real(prev);
    uint64_t done = schedrt__lq_pack(real, real);
    if (atomic_compare_exchange_weak_explicit(&src->head, &prev, done, memory_order_acq_rel,
                                              memory_order_acquire))
      return n;
  }
}

schedrt_task *schedrt__lq_steal_into(struct schedrt_local_queue *src, struct schedrt_local_queue *dst,
                                     uint32_t *taken) {
  *taken = 0;
  uint32_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
  uint64_t dh = atomic_load_explicit(&dst->head, memory_order_acquire);
  /* Only steal into a ring with room for half a ring. */
  if (dst_tail - schedrt__lq_steal(dh) > SCHEDRT_LOCAL_QUEUE_CAP / 2)
    return NULL;
  uint32_t n = steal_into2(src, dst, dst_tail);
  if (n == 0)
    return NULL;
  *taken = n;
  n--;
  schedrt_task *ret = slot_get(dst, dst_tail + n);
  if (n > 0)
    /* Release: the copied slots become visible to our own thieves. */
    atomic_store_explicit(&dst->tail, dst_tail + n, memory_order_release);
  return ret;
}
