/*
 * What task dumps take from the metrics segment: its control page, and what a
 * worker's slot says about the poll it is in, through the metrics module's
 * accessors (the worker state through its slot's seqlock); nothing here
 * writes to the segment.
 */
#include <errno.h>

#include "dump.h"
#include "schedrt/proto/seqlock.h"

struct schedrt_ctl *schedrt__dseg_control(schedrt_runtime *rt) {
  size_t size;
  void *page = schedrt__metrics_control(rt, &size);
  /* NULL when no segment is published: nobody else could reach the page. */
  return page && size >= sizeof(struct schedrt_ctl) ? page : NULL;
}

uint8_t schedrt__dseg_wstate(schedrt_runtime *rt, uint32_t i) {
#if SCHEDRT_ENABLE_METRICS
  struct schedrt_shm_wslot *s = rt->workers[i].m.slot;
  uint32_t st = SCHEDRT_WSTATE__COUNT;
  schedrt_seq_reader rd;
  /* Spins only: the other workers wait at the barrier meanwhile. */
  SCHEDRT_SEQ_READ(&rd, &s->seq, SCHEDRT_SEQ_SPINS) { st = SCHEDRT_SEQ_LOAD(&s->state); }
  if (rd.ok && st < SCHEDRT_WSTATE__COUNT)
    return (uint8_t)st;
#else
  (void)rt;
  (void)i;
#endif
  return SCHEDRT_WSTATE__COUNT;
}

int schedrt__dseg_poll(schedrt_runtime *rt, uint32_t i, uint64_t *task_id, uint64_t *since_ns, uint8_t *src) {
  /* The metrics module's accessor (metrics.h): the worker's exact poll with
   * SCHEDRT_TIMING, else the poll the monitor named (it ran >= 1 period);
   * -ENOENT otherwise, -ENOTSUP when metrics are built out. No lock taken. */
  bool exact;
  int rc = schedrt__metrics_poll_info(rt, i, task_id, since_ns, &exact);
  if (rc)
    return rc == -EINVAL ? -ENOENT : rc;
  *src = exact ? SCHEDRT_DUMP_SOURCE_POLL_START : SCHEDRT_DUMP_SOURCE_MONITOR;
  return 0;
}

uint64_t schedrt__dseg_poll_seq(schedrt_runtime *rt, uint32_t i) {
#if SCHEDRT_ENABLE_METRICS
  /* Relaxed: compared with itself a moment later, nothing else. */
  return atomic_load_explicit(&rt->workers[i].m.slot->polls, memory_order_relaxed);
#else
  (void)rt;
  (void)i;
  return 0;
#endif
}
