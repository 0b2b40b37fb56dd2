/*
 * The one list of metrics (X-macros). Everything else is generated from it:
 * the shm slot and global-area fields (shm_layout.h), the descriptor table
 * written into the segment, the reader's snapshot structs (reader.h), the
 * in-process API's table (schedrt_metric_info) and, later, the inspector's
 * columns and export formats.
 *
 * Each entry: X(id, kind, offset, type, unit, help)
 *   id      C identifier, also the metric's name ("polls")
 *   kind    COUNTER (monotonic: compute rates), GAUGE, HISTOGRAM
 *   offset  byte offset inside its region's element (frozen for a layout
 *           major version; shm_layout.h declares the structs and asserts
 *           every one of them)
 *   type    uint32_t or uint64_t (histograms: uint64_t buckets)
 *   unit    "tasks", "ns", ...
 *   help    one line, <= 63 bytes
 *
 * Regions: a per-worker slot (WSLOT: its first half written by the worker
 * under its seqlock, its second half by the monitor thread under another;
 * the offset says which), the global area (GLOBAL, written by the monitor
 * thread under its seqlock) and the per-worker histogram block (HIST, bucket
 * counters written by the worker, no seqlock). Appending is a minor-version
 * change; changing or removing an entry is a major one. The list order is
 * the metric ids' order (enum schedrt_metric_id, the descriptor table):
 * append only.
 */
#ifndef SCHEDRT_PROTO_METRICS_DEF_H
#define SCHEDRT_PROTO_METRICS_DEF_H

/*
 * Per-worker slot. current_task lives in the monitor half (offset >= 128):
 * the monitor names the task of a poll it saw running for a whole period
 * (with SCHEDRT_TIMING the worker also publishes every poll's task, as the
 * non-metric field poll_task). polls is live (one store per poll); state at
 * every change; the rest at maintenance, park, unpark and stop.
 */
#define SCHEDRT_WSLOT_METRICS(X)                                                                             \
  X(state, GAUGE, 8, uint32_t, "enum", "0 starting 1 running 2 searching 3 parked 4 stopped")                \
  X(lifo, GAUGE, 12, uint32_t, "tasks", "LIFO slot occupied (0/1)")                                          \
  X(current_task, GAUGE, 160, uint64_t, "id", "task in a poll running >= 1 monitor period (0: none)")        \
  X(polls, COUNTER, 24, uint64_t, "polls", "task polls started (live: also the poll sequence)")              \
  X(local_queue_depth, GAUGE, 32, uint64_t, "tasks", "tasks in the local ring, LIFO excluded")               \
  X(ticks, COUNTER, 40, uint64_t, "ticks", "scheduler loop iterations")                                      \
  X(local_schedules, COUNTER, 48, uint64_t, "tasks", "tasks spawned or woken into this worker")              \
  X(overflows, COUNTER, 56, uint64_t, "events", "local ring full: half moved to injection")                  \
  X(steals, COUNTER, 64, uint64_t, "tasks", "tasks stolen by this worker")                                   \
  X(steal_ops, COUNTER, 72, uint64_t, "ops", "successful steal operations")                                  \
  X(parks, COUNTER, 80, uint64_t, "events", "times the worker parked")                                       \
  X(unparks, COUNTER, 88, uint64_t, "events", "times the worker woke from park")                             \
  X(noop_unparks, COUNTER, 96, uint64_t, "events", "unpark followed by park with no poll")                   \
  X(busy_ns, COUNTER, 104, uint64_t, "ns", "time between unpark and park (completed spans)")

/* Global area, published by the monitor thread every period. */
#define SCHEDRT_GLOBAL_METRICS(X)                                                                            \
  X(inject_depth, GAUGE, 8, uint64_t, "tasks", "tasks in the injection queue")                               \
  X(alive, GAUGE, 16, uint64_t, "tasks", "tasks spawned and not yet released")                               \
  X(spawned, COUNTER, 24, uint64_t, "tasks", "tasks spawned since start")                                    \
  X(remote_schedules, COUNTER, 32, uint64_t, "tasks", "tasks scheduled from outside a worker")               \
  X(nworkers, GAUGE, 40, uint64_t, "workers", "number of workers")

/* Per-worker histograms (log-scale buckets; bounds in the segment). */
#define SCHEDRT_HIST_METRICS(X)                                                                              \
  X(poll_time, HISTOGRAM, 0, uint64_t, "ns", "poll duration (needs SCHEDRT_TIMING)")                         \
  X(sched_latency, HISTOGRAM, 512, uint64_t, "ns", "woken to polled latency (needs TIMING)")

/* Region codes stored in descriptors. */
enum schedrt_shm_region {
  SCHEDRT_REGION_WSLOT = 0,
  SCHEDRT_REGION_GLOBAL = 1,
  SCHEDRT_REGION_HIST = 2,
};

/*
 * Metric ids: the position in the concatenated list WSLOT, GLOBAL, HIST.
 * This is also the index of schedrt_metric_info() and of the segment's
 * descriptor table (for the metrics this build knows).
 */
enum schedrt_metric_id {
#define SCHEDRT__MID(id, kind, off, type, unit, help) SCHEDRT_M_##id,
  SCHEDRT_WSLOT_METRICS(SCHEDRT__MID) SCHEDRT_GLOBAL_METRICS(SCHEDRT__MID) SCHEDRT_HIST_METRICS(SCHEDRT__MID)
#undef SCHEDRT__MID
      SCHEDRT_M__COUNT
};

#define SCHEDRT__ONE(id, kind, off, type, unit, help) +1
enum {
  SCHEDRT_M__WSLOT_COUNT = 0 SCHEDRT_WSLOT_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__GLOBAL_COUNT = 0 SCHEDRT_GLOBAL_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__HIST_COUNT = 0 SCHEDRT_HIST_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__GLOBAL_FIRST = SCHEDRT_M__WSLOT_COUNT,
  SCHEDRT_M__HIST_FIRST = SCHEDRT_M__WSLOT_COUNT + SCHEDRT_M__GLOBAL_COUNT,
};
#undef SCHEDRT__ONE

/* Worker states (the value of the `state` metric). */
enum schedrt_worker_state {
  SCHEDRT_WSTATE_STARTING = 0,
  SCHEDRT_WSTATE_RUNNING = 1,
  SCHEDRT_WSTATE_SEARCHING = 2,
  SCHEDRT_WSTATE_PARKED = 3,
  SCHEDRT_WSTATE_STOPPED = 4,
  SCHEDRT_WSTATE__COUNT
};

#endif /* SCHEDRT_PROTO_METRICS_DEF_H */
