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

/* Appends x to the list first..last (qnext links). */
static void list_add(schedrt_task **first, schedrt_task **last, schedrt_task *x) {
  x->qnext = NULL;
  if (*last)
    (*last)->qnext = x;
  else
    *first = x;
  *last = x;
}

/*
 * The ring is full and t does not fit. Takes the whole ring, and:
 * - tasks pulled from the injection queue and not polled since go back to
 *   its front, in order: they were ahead of everything still in it, and at
 *   its tail they would wait for the whole backlog again (an injected task
 *   once waited 17 s against a mean of 6.7 s). All of them, not only those
 *   of the ring's older half: those left in the ring would run before the
 *   older ones sent back;
 * - local work, newer than the backlog: its newest half-ring stays, the
 *   older part goes to the queue's tail, marked, as Tokio sends it, so a
 *   worker spawning without end cannot starve remote tasks.
 * False if a thief got in first.
 */
static bool push_overflow(struct schedrt_local_queue *q, schedrt_task *t, uint32_t head, uint32_t tail,
                          struct schedrt_inject *inject) {
  const uint32_t n = tail - head;
  uint64_t prev = schedrt__lq_pack(head, head);
  /* Claim [head, tail) by moving both halves of head to tail. Release: the
   * claim is ordered after our earlier slot writes. On failure (a thief got
   * in) nothing is read here: the caller's next loop reloads head with
   * acquire. */
  if (!atomic_compare_exchange_strong_explicit(&q->head, &prev, schedrt__lq_pack(tail, tail),
                                               memory_order_release, memory_order_relaxed))
    return false;
  uint32_t locals = 0;
  for (uint32_t i = 0; i <= n; i++) {
    schedrt_task *x = i < n ? slot_get(q, head + i) : t;
    /* Relaxed: the bit is ours to read while the task sits in our ring. */
    locals += !(atomic_load_explicit(&x->state, memory_order_relaxed) & SCHEDRT_TS_INJECTED);
  }
  uint32_t keep = locals < SCHEDRT_LOCAL_QUEUE_CAP / 2 ? locals : SCHEDRT_LOCAL_QUEUE_CAP / 2;
  uint32_t send_back = locals - keep, put = 0;
  schedrt_task *front = NULL, *front_last = NULL, *back = NULL, *back_last = NULL;
  for (uint32_t i = 0; i <= n; i++) {
    schedrt_task *x = i < n ? slot_get(q, head + i) : t;
    if (atomic_load_explicit(&x->state, memory_order_relaxed) & SCHEDRT_TS_INJECTED) {
      list_add(&front, &front_last, x);
    } else if (send_back) {
      send_back--;
      atomic_fetch_or_explicit(&x->state, SCHEDRT_TS_INJECTED, memory_order_relaxed);
      list_add(&back, &back_last, x);
    } else {
      /* The ring is empty now (head == tail): the kept ones go back in order. */
      slot_put(q, tail + put++, x);
    }
  }
  /* Release: publishes the kept slots to thieves that acquire tail. */
  atomic_store_explicit(&q->tail, tail + put, memory_order_release);
  if (!schedrt__inject_push_split(inject, front, front_last, back, back_last, n + 1 - put)) {
    /* Closed: only at shutdown, after the workers stopped. Release the
     * scheduled references; the owned list cancels the tasks. */
    if (front_last)
      front_last->qnext = back;
    for (schedrt_task *x = front ? front : back, *nx; x; x = nx) {
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
      /* A thief is mid-copy and will free room; Tokio sends just this task
       * away (to the front if it came from there, as push_overflow does). */
      t->qnext = NULL;
      bool pulled = atomic_fetch_or_explicit(&t->state, SCHEDRT_TS_INJECTED, memory_order_relaxed) &
                    SCHEDRT_TS_INJECTED;
      if (!schedrt__inject_push_split(inject, pulled ? t : NULL, t, pulled ? NULL : t, t, 1))
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
