/*
 * What task dumps take from the metrics segment: its control page, and what a
 * worker's slot says about the poll it is in. Reads the metrics module's
 * structs (metrics.h) until it offers accessors for both
 * (.notes/metrics-requests.md); nothing here writes to the segment.
 */
#include <errno.h>

#include "dump.h"
#include "schedrt/proto/seqlock.h"

#if SCHEDRT_ENABLE_METRICS
#define X(n, t, h) _Static_assert((int)SCHEDRT_DUMP_WSTATE_##n == (int)SCHEDRT_WSTATE_##n, "same numbering");
SCHEDRT_DUMP_WSTATES(X)
#undef X
#endif

struct schedrt_ctl *schedrt__dseg_control(schedrt_runtime *rt) {
#if SCHEDRT_ENABLE_METRICS
  struct schedrt__metrics *m = &rt->metrics;
  /* A private image has a control page too, but nobody else can reach it. */
  if (!m->base || !m->published || m->geo.ctl_size < sizeof(struct schedrt_ctl))
    return NULL;
  return (struct schedrt_ctl *)(void *)(m->base + m->geo.ctl_off);
#else
  (void)rt;
  return NULL;
#endif
}

#if SCHEDRT_ENABLE_METRICS
/* One consistent read of a seqlock section of two u64 fields; false if the writer kept it busy. */
static bool read2(_Atomic uint64_t *seq, _Atomic uint64_t *a, _Atomic uint64_t *b, uint64_t *va,
                  uint64_t *vb) {
  for (int tries = 0; tries < 64; tries++) {
    uint64_t s0 = schedrt_seq_read_begin(seq);
    *va = SCHEDRT_SEQ_LOAD(a);
    *vb = SCHEDRT_SEQ_LOAD(b);
    if (!schedrt_seq_read_retry(seq, s0))
      return true;
    schedrt_seq_pause();
  }
  return false;
}
#endif

uint8_t schedrt__dseg_wstate(schedrt_runtime *rt, uint32_t i) {
#if SCHEDRT_ENABLE_METRICS
  struct schedrt_shm_wslot *s = rt->workers[i].m.slot;
  for (int tries = 0; s && tries < 64; tries++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
    uint32_t st = SCHEDRT_SEQ_LOAD(&s->state);
    if (!schedrt_seq_read_retry(&s->seq, s0))
      return st < SCHEDRT_DUMP_WSTATE__COUNT ? (uint8_t)st : SCHEDRT_DUMP_WSTATE__COUNT;
    schedrt_seq_pause();
  }
#else
  (void)rt;
  (void)i;
#endif
  return SCHEDRT_DUMP_WSTATE__COUNT;
}

int schedrt__dseg_poll(schedrt_runtime *rt, uint32_t i, uint64_t *task_id, uint64_t *since_ns, uint8_t *src) {
#if SCHEDRT_ENABLE_METRICS
  struct schedrt_shm_wslot *s = rt->workers[i].m.slot;
  uint64_t task, polls, start, seen_polls, seen_since;
  if (!s)
    return -ENOTSUP;
  for (int tries = 0;; tries++) {
    if (tries == 64)
      return -ENOENT;
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
    task = SCHEDRT_SEQ_LOAD(&s->current_task);
    polls = SCHEDRT_SEQ_LOAD(&s->polls);
    start = SCHEDRT_SEQ_LOAD(&s->poll_start_ns);
    if (!schedrt_seq_read_retry(&s->seq, s0))
      break;
    schedrt_seq_pause();
  }
  if (task == 0)
    return -ENOENT;
  *task_id = task;
  if (start) {
    *since_ns = start;
    *src = SCHEDRT_DUMP_SOURCE_POLL_START;
    return 0;
  }
  if (read2(&s->mseq, &s->seen_polls, &s->seen_since_ns, &seen_polls, &seen_since) && seen_polls == polls &&
      seen_since) {
    *since_ns = seen_since;
    *src = SCHEDRT_DUMP_SOURCE_MONITOR;
    return 0;
  }
  return -ENOENT;
#else
  (void)rt;
  (void)i;
  (void)task_id;
  (void)since_ns;
  (void)src;
  return -ENOTSUP;
#endif
}
