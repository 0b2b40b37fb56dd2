/*
 * The runtime's side of the metrics: the structs embedded in the runtime and
 * its workers. The hooks the scheduler calls are in metrics_hooks.h.
 * Owner: the metrics module (metrics_shm.c, or metrics_noop.c when built out).
 */
#ifndef SCHEDRT_METRICS_H
#define SCHEDRT_METRICS_H

#include <stdint.h>

/* Worker states as published (and as the inspector shows them). */
enum schedrt__wstate {
  SCHEDRT_WS_STARTING = 0,
  SCHEDRT_WS_RUNNING = 1,
  SCHEDRT_WS_SEARCHING = 2,
  SCHEDRT_WS_PARKED = 3,
  SCHEDRT_WS_STOPPED = 4,
};

/* Per-worker, owner-written counters. */
struct schedrt__wmetrics {
  uint64_t polls;
  uint64_t local_schedules;
  uint64_t overflows;
  uint64_t steals;
  uint64_t steal_ops;
  uint64_t parks;
  uint64_t unparks;
  uint64_t noop_unparks;
  uint64_t busy_ns;
  uint64_t ticks;
};

struct schedrt__metrics {
  int enabled;
};

struct schedrt_runtime;
/* After workers are allocated, before they start. 0 or -errno (then metrics are off). */
int schedrt__metrics_start(struct schedrt_runtime *rt);
/* After workers stopped: unlink the segment. */
void schedrt__metrics_stop(struct schedrt_runtime *rt);
/* Monitor thread, every period: heartbeat and global gauges. */
void schedrt__metrics_monitor_tick(struct schedrt_runtime *rt, uint64_t now);

#endif
