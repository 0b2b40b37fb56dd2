/*
 * Liveness verdicts on an open segment: the process checks (made at open,
 * schedrt__reader_proc_liveness), the header's state and the heartbeat's
 * progress on our own clock, combined into LIVE, HUNG, STALE or EXITING.
 */
#include "reader_internal.h"

const char *schedrt_liveness_name(schedrt_liveness l) {
  switch (l) {
  case SCHEDRT_LIVENESS_LIVE:
    return "LIVE";
  case SCHEDRT_LIVENESS_HUNG:
    return "HUNG";
  case SCHEDRT_LIVENESS_STALE:
    return "STALE";
  case SCHEDRT_LIVENESS_EXITING:
    return "EXITING";
  default:
    return "UNKNOWN";
  }
}

schedrt_liveness schedrt__reader_judge(struct schedrt_reader *r, uint64_t now, uint32_t seg_state,
                                       uint64_t hb_seq, uint64_t hb_mono, uint64_t *stalled_ns) {
  uint64_t limit = 3u * (uint64_t)r->info.heartbeat_period_ms * 1000000u;
  if (!r->hb_seen || hb_seq != r->hb_last_seq) {
    r->hb_seen = true;
    r->hb_last_seq = hb_seq;
    r->hb_last_change_ns = now;
  }
  uint64_t stalled = now - r->hb_last_change_ns;
  *stalled_ns = stalled;
  if (r->proc_verdict == SCHEDRT_LIVENESS_STALE)
    return SCHEDRT_LIVENESS_STALE;
  if (seg_state == SCHEDRT_SHM_STATE_EXITING)
    return SCHEDRT_LIVENESS_EXITING;
  if (r->flags & SCHEDRT_READER_NO_LIVENESS)
    return SCHEDRT_LIVENESS_UNKNOWN;
  /* Our own clock across snapshots is authoritative; before we watched long
   * enough, the age of the last beat on the (shared) monotonic clock. A beat
   * stamped in our future means another clock domain: ignore the age. */
  bool age_hung = hb_mono <= now && now - hb_mono > limit;
  if (stalled > limit || age_hung)
    return SCHEDRT_LIVENESS_HUNG;
  return SCHEDRT_LIVENESS_LIVE;
}

/* The three header words a verdict needs, copied under the SIGBUS guard. */
struct beat {
  const struct schedrt_shm_header *h;
  uint32_t state;
  uint64_t seq, mono;
};

static int read_beat(void *arg) {
  struct beat *b = arg;
  /* Acquire for the state (as at open); relaxed for the heartbeat counters. */
  b->state = atomic_load_explicit((_Atomic uint32_t *)&b->h->state, memory_order_acquire);
  b->seq = atomic_load_explicit((_Atomic uint64_t *)&b->h->heartbeat_seq, memory_order_relaxed);
  b->mono = atomic_load_explicit((_Atomic uint64_t *)&b->h->heartbeat_mono_ns, memory_order_relaxed);
  return 0;
}

int schedrt_reader_liveness(schedrt_reader *r, schedrt_liveness *out) {
  struct beat b = {.h = (const struct schedrt_shm_header *)(const void *)r->base};
  uint64_t stalled;
  int rc = schedrt__reader_check_size(r);
  if (rc == 0)
    rc = schedrt__reader_guarded(read_beat, &b);
  if (rc)
    return rc;
  r->proc_verdict = schedrt__reader_proc_liveness(r);
  uint32_t st = b.state;
  uint64_t seq = b.seq, mono = b.mono;
  uint32_t saved = r->flags;
  r->flags &= ~(uint32_t)SCHEDRT_READER_NO_LIVENESS; /* an explicit request always judges */
  *out = schedrt__reader_judge(r, schedrt__reader_now_ns(), st, seq, mono, &stalled);
  r->flags = saved;
  return 0;
}

int schedrt_liveness_error(schedrt_liveness l) {
  switch (l) {
  case SCHEDRT_LIVENESS_STALE:
    return SCHEDRT_ESTALE;
  case SCHEDRT_LIVENESS_HUNG:
    return SCHEDRT_EHUNG;
  default:
    return 0;
  }
}
