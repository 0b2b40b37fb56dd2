/*
 * Tokio's bounded work-stealing ring (tokio/src/runtime/scheduler/multi_thread/queue.rs),
 * in C11 atomics. Only the owning worker pushes and pops; any worker steals half.
 *
 * head packs two positions: steal (high 32 bits), where a thief's claimed
 * range starts, and real (low 32 bits), the first task not yet claimed. While
 * steal != real a thief is copying [steal, real) out, so the owner must not
 * reuse those slots: pushes check capacity against steal, not real.
 */
#ifndef SCHEDRT_LOCAL_QUEUE_H
#define SCHEDRT_LOCAL_QUEUE_H

#include "internal.h"

static inline uint64_t schedrt__lq_pack(uint32_t steal, uint32_t real) {
  return ((uint64_t)steal << 32) | real;
}
static inline uint32_t schedrt__lq_steal(uint64_t h) { return (uint32_t)(h >> 32); }

static inline void schedrt__lq_init(struct schedrt_local_queue *q) {
  atomic_init(&q->head, 0);
  atomic_init(&q->tail, 0);
  q->overflows = 0;
  for (uint32_t i = 0; i < SCHEDRT_LOCAL_QUEUE_CAP; i++)
    atomic_init(&q->buf[i], NULL);
}

/*
 * Owner only. Pushes t; if the ring is full, moves half of it plus t to the
 * injection queue (returns true then: an overflow happened, also counted in
 * q->overflows).
 */
bool schedrt__lq_push_back_or_overflow(struct schedrt_local_queue *q, schedrt_task *t,
                                       struct schedrt_inject *inject);
/* Owner only. */
schedrt_task *schedrt__lq_pop(struct schedrt_local_queue *q);
/*
 * Thief: steals half of src into dst (dst owned by the caller) and returns one
 * task to run now, or NULL. *n receives how many tasks were taken in total.
 */
schedrt_task *schedrt__lq_steal_into(struct schedrt_local_queue *src, struct schedrt_local_queue *dst,
                                     uint32_t *n);

#endif
