/*
 * The event ring's record protocol (shm_layout.h, layout 2.6): the writer's
 * side, shared by the runtime (metrics_hooks.h) and the tests that drive a
 * ring by hand. The reader's side is common/src/reader_events.c.
 */
#ifndef SCHEDRT_PROTO_EVENT_RING_H
#define SCHEDRT_PROTO_EVENT_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/proto/shm_layout.h"

/*
 * Writes event n (the ring's n-th, from 0) into its record e (n % ring_cap).
 * One writer per ring at a time. The busy stamp first (the reader rejects
 * the record while it is set: a process stopped inside this function leaves
 * one torn record, never a wrong one), then the data, then the final stamp:
 * a seqlock per record whose sequence is the event's number.
 */
static inline void schedrt_ev_record_write(struct schedrt_shm_event *e, uint64_t n, uint32_t kind,
                                           uint64_t time, uint64_t a, uint64_t b) {
  uint64_t stamp = (n + 1u) << SCHEDRT_SHM_EV_STAMP_SHIFT;
  /* Relaxed store of the busy stamp (single writer: no RMW); the release
   * fence keeps it before the data stores, as a seqlock's odd value. */
  atomic_store_explicit(&e->stamp, stamp | SCHEDRT_SHM_EV_BUSY, memory_order_relaxed);
  schedrt_seq_fence_release();
  SCHEDRT_SEQ_STORE(&e->time, time);
  SCHEDRT_SEQ_STORE(&e->a, a);
  SCHEDRT_SEQ_STORE(&e->b, b);
  /* Release: a reader that loads this stamp (acquire) sees the data above. */
  atomic_store_explicit(&e->stamp, stamp | ((uint64_t)(kind & 0xffu) << 1), memory_order_release);
}

#endif /* SCHEDRT_PROTO_EVENT_RING_H */
