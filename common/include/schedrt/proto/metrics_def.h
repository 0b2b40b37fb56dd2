/*
 * The one list of metrics (X-macros). Everything else is generated from it:
 * the shm slot and global-area fields (shm_layout.h), the descriptor table
 * written into the segment, the reader's snapshot structs (reader.h), the
 * in-process API's table (schedrt_metric_info) and, later, the inspector's
 * columns and export formats.
 *
 * Each entry: X(id, kind, offset, type, unit, help, pub)
 *   id      C identifier, also the metric's name ("polls")
 *   kind    COUNTER (monotonic: compute rates), GAUGE, HISTOGRAM
 *   offset  byte offset inside its region's element (frozen for a layout
 *           major version; shm_layout.h declares the structs and asserts
 *           every one of them)
 *   type    uint32_t or uint64_t (histograms: uint64_t buckets)
 *   unit    "tasks", "ns", ...
 *   help    one line, <= 63 bytes
 *   pub     when the value reaches the segment (SCHEDRT_PUB_*, below): the
 *           runtime's writers are generated from this column, so a worker
 *           counter is this one line plus the increment where it happens
 *           (runtime/src/metrics.h says where its value comes from)
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
 * Worker states, the value of the `state` metric, in value order (append
 * only): X(NAME, text, short text of at most 7 columns, help). The dump's
 * worker records, the reader and sched-inspect name them from this list.
 */
#define SCHEDRT_WORKER_STATES(X)                                                                             \
  X(STARTING, "starting", "start", "not yet in its loop")                                                    \
  X(RUNNING, "running", "running", "polling tasks")                                                          \
  X(SEARCHING, "searching", "search", "looking for work to steal")                                           \
  X(PARKED, "parked", "parked", "asleep until woken")                                                        \
  X(STOPPED, "stopped", "stopped", "left its loop")

enum schedrt_worker_state {
#define SCHEDRT__WSTATE_ENUM(n, text, short_text, help) SCHEDRT_WSTATE_##n,
  SCHEDRT_WORKER_STATES(SCHEDRT__WSTATE_ENUM)
#undef SCHEDRT__WSTATE_ENUM
      SCHEDRT_WSTATE__COUNT
};

/* The state names, indexed by value (static in a header: unused copies cost nothing). */
#define SCHEDRT__WSTATE_TEXT(n, text, short_text, help) text,
#define SCHEDRT__WSTATE_SHORT(n, text, short_text, help) short_text,
static const char *const schedrt_worker_state_names[SCHEDRT_WSTATE__COUNT] = {
    SCHEDRT_WORKER_STATES(SCHEDRT__WSTATE_TEXT)};
static const char *const schedrt_worker_state_short[SCHEDRT_WSTATE__COUNT] = {
    SCHEDRT_WORKER_STATES(SCHEDRT__WSTATE_SHORT)};
#undef SCHEDRT__WSTATE_TEXT
#undef SCHEDRT__WSTATE_SHORT
/*
 * Kinds of stall, the value of the worker metric stall_kind, in value order
 * (append only): X(NAME, text, help). A stall is a long poll (one the
 * monitor saw run for long_poll_ms); its kind says what held the worker.
 */
#define SCHEDRT_STALL_KINDS(X)                                                                               \
  X(NONE, "none", "no long poll seen yet")                                                                   \
  X(ON_CPU, "on CPU", "the thread kept running: its CPU time grew with the clock")                           \
  X(SYSCALL, "off CPU", "the thread waited in the kernel: a blocking syscall, a page fault")                 \
  X(PROCESS, "process stalled", "the whole process did not run: its monitor was held up as long")

enum schedrt_stall_kind {
#define SCHEDRT__STALL_ENUM(n, text, help) SCHEDRT_STALL_##n,
  SCHEDRT_STALL_KINDS(SCHEDRT__STALL_ENUM)
#undef SCHEDRT__STALL_ENUM
      SCHEDRT_STALL__COUNT
};

#define SCHEDRT__STALL_TEXT(n, text, help) text,
static const char *const schedrt_stall_kind_names[SCHEDRT_STALL__COUNT] = {
    SCHEDRT_STALL_KINDS(SCHEDRT__STALL_TEXT)};
#undef SCHEDRT__STALL_TEXT

/* " starting running ...": the state metric's help text. */
#define SCHEDRT__WSTATE_WORD(n, text, short_text, help) " " text

/*
 * Publication classes (the pub column), as bits of the worker's publication
 * masks. Under the worker's seqlock, a state change stores the STATE and
 * QUEUE metrics, maintenance (every 61 ticks) QUEUE and TICK ones, and park,
 * unpark, start and stop all four.
 */
#define SCHEDRT_PUB_LIVE 0x01u    /* stored at every event by its writer, outside any section */
#define SCHEDRT_PUB_STATE 0x02u   /* the worker's state: changes only at a state change */
#define SCHEDRT_PUB_QUEUE 0x04u   /* read from the worker's queues at every publication */
#define SCHEDRT_PUB_TICK 0x08u    /* a worker-private counter, published at maintenance */
#define SCHEDRT_PUB_PARK 0x10u    /* a worker-private value that changes only at park/unpark */
#define SCHEDRT_PUB_MONITOR 0x20u /* the monitor thread's, once per period, under its own seqlock */

/*
 * Per-worker slot (layout: shm_layout.h). The 2.0 slot's metrics are
 * declared field by field in struct schedrt_shm_wslot; current_task lives in
 * the monitor half (offset >= 128): the monitor names the task of a poll it
 * saw running for a whole period (with SCHEDRT_TIMING the worker also
 * publishes every poll's task, as the non-metric field poll_task).
 */
#define SCHEDRT_WSLOT_METRICS_2_0(X)                                                                         \
  X(state, GAUGE, 8, uint32_t, "enum", "in value order:" SCHEDRT_WORKER_STATES(SCHEDRT__WSTATE_WORD), STATE) \
  X(lifo, GAUGE, 12, uint32_t, "tasks", "LIFO slot occupied (0/1)", QUEUE)                                   \
  X(current_task, GAUGE, 160, uint64_t, "id", "task in a poll running >= 1 monitor period (0: none)",        \
    MONITOR)                                                                                                 \
  X(polls, COUNTER, 24, uint64_t, "polls", "task polls started (live: also the poll sequence)", LIVE)        \
  X(local_queue_depth, GAUGE, 32, uint64_t, "tasks", "tasks in the local ring, LIFO excluded", QUEUE)        \
  X(ticks, COUNTER, 40, uint64_t, "ticks", "scheduler loop iterations", TICK)                                \
  X(local_schedules, COUNTER, 48, uint64_t, "tasks", "tasks spawned or woken into this worker", TICK)        \
  X(overflows, COUNTER, 56, uint64_t, "events", "local ring full: half moved to injection", QUEUE)           \
  X(steals, COUNTER, 64, uint64_t, "tasks", "tasks stolen by this worker", TICK)                             \
  X(steal_ops, COUNTER, 72, uint64_t, "ops", "successful steal operations", TICK)                            \
  X(parks, COUNTER, 80, uint64_t, "events", "times the worker parked", PARK)                                 \
  X(unparks, COUNTER, 88, uint64_t, "events", "times the worker woke from park", PARK)                       \
  X(noop_unparks, COUNTER, 96, uint64_t, "events", "unpark followed by park with no poll", PARK)             \
  X(busy_ns, COUNTER, 104, uint64_t, "ns", "time between unpark and park (completed spans)", PARK)

/*
 * Worker metrics added after 2.0: append here, and nothing else needs
 * declaring. Each takes the next free offset in [256, 384), the slot's third
 * part, which the worker writes under its seqlock like the first; a reader
 * of an older segment (slot_stride 256) sees them as absent (0). The
 * exceptions are MONITOR metrics (2.4: long_polls, last_long_poll_ns): the
 * monitor thread stores each as a single value outside any section, as the
 * worker stores `polls`, so a reader loads each with one atomic load.
 */
#define SCHEDRT_WSLOT_METRICS_MORE(X)                                                                        \
  X(budget_forced_yields, COUNTER, 256, uint64_t, "events", "polls made to yield: cooperative budget spent", \
    TICK)                                                                                                    \
  X(long_polls, COUNTER, 264, uint64_t, "polls", "polls seen running >= long_poll_ms (header)", MONITOR)     \
  X(last_long_poll_ns, GAUGE, 272, uint64_t, "ns", "length of the latest long poll as the monitor saw it",   \
    MONITOR)                                                                                                 \
  X(io_dispatched, COUNTER, 280, uint64_t, "events", "I/O readiness events this worker dispatched", TICK)    \
  X(io_registrations, COUNTER, 288, uint64_t, "fds", "fds registered by tasks on this worker", TICK)         \
  X(stall_kind, GAUGE, 296, uint64_t, "enum", "kind of the current or last long poll (stall kinds)",         \
    MONITOR)                                                                                                 \
  X(stall_syscall, GAUGE, 304, uint64_t, "nr", "its syscall number + 1, off CPU (0: not known)", MONITOR)    \
  X(stall_cpu_pct, GAUGE, 312, uint64_t, "percent", "its thread's CPU time over its length", MONITOR)        \
  X(stalls_on_cpu, COUNTER, 320, uint64_t, "polls", "long polls that ended on CPU", MONITOR)                 \
  X(stalls_syscall, COUNTER, 328, uint64_t, "polls", "long polls that ended off CPU, in the kernel",         \
    MONITOR)                                                                                                 \
  X(stalls_process, COUNTER, 336, uint64_t, "polls", "long polls the whole process stalled in", MONITOR)     \
  X(stall_reports, COUNTER, 344, uint64_t, "reports",                                                        \
    "stall reports due (SCHEDRT_STALL_MS), printed or not", MONITOR)

/* Every worker metric, in id order. */
#define SCHEDRT_WSLOT_METRICS(X) SCHEDRT_WSLOT_METRICS_2_0(X) SCHEDRT_WSLOT_METRICS_MORE(X)

/* Global area, published by the monitor thread every period. */
#define SCHEDRT_GLOBAL_METRICS(X)                                                                            \
  X(inject_depth, GAUGE, 8, uint64_t, "tasks", "tasks in the injection queue", MONITOR)                      \
  X(alive, GAUGE, 16, uint64_t, "tasks", "tasks spawned and not yet released", MONITOR)                      \
  X(spawned, COUNTER, 24, uint64_t, "tasks", "tasks spawned since start", MONITOR)                           \
  X(remote_schedules, COUNTER, 32, uint64_t, "tasks", "tasks scheduled from outside a worker", MONITOR)      \
  X(nworkers, GAUGE, 40, uint64_t, "workers", "number of workers", MONITOR)                                  \
  X(blocking_threads, GAUGE, 48, uint64_t, "threads", "threads of the blocking pool", MONITOR)               \
  X(blocking_idle_threads, GAUGE, 56, uint64_t, "threads", "blocking-pool threads waiting for a job",        \
    MONITOR)                                                                                                 \
  X(blocking_queue_depth, GAUGE, 64, uint64_t, "jobs", "blocking jobs waiting for a thread", MONITOR)        \
  X(blocking_jobs_started, COUNTER, 72, uint64_t, "jobs", "blocking jobs started since start", MONITOR)      \
  X(blocking_jobs_finished, COUNTER, 80, uint64_t, "jobs", "blocking jobs whose function returned", MONITOR) \
  X(blocking_max_threads, GAUGE, 88, uint64_t, "threads", "most threads the blocking pool may start",        \
    MONITOR)                                                                                                 \
  X(io_registered, GAUGE, 96, uint64_t, "fds", "file descriptors registered with the I/O driver", MONITOR)   \
  X(io_events, COUNTER, 104, uint64_t, "events", "readiness events dispatched by the I/O driver", MONITOR)   \
  X(stall_reports_suppressed, COUNTER, 112, uint64_t, "reports",                                             \
    "stall reports left out: 10 a minute at most", MONITOR)

/* Per-worker histograms (log-scale buckets; bounds in the segment). */
#define SCHEDRT_HIST_METRICS(X)                                                                              \
  X(poll_time, HISTOGRAM, 0, uint64_t, "ns", "poll duration (needs SCHEDRT_TIMING)", LIVE)                   \
  X(sched_latency, HISTOGRAM, 512, uint64_t, "ns", "woken to polled latency (needs TIMING)", LIVE)

/*
 * Per spawn site (layout 2.5, the sites region of shm_layout.h): the
 * counters each writer keeps for every site, X(id, kind, offset, unit, help,
 * timing). offset is inside one site's counter record; timing 1: counted only
 * with per-poll timing (SCHEDRT_TIMING=1), else 0. `ended` counts tasks that
 * completed or were cancelled: a site's alive tasks are spawned - ended.
 * Append only, at the next free offset below the record size.
 */
#define SCHEDRT_SITE_COUNTERS(X)                                                                             \
  X(spawned, COUNTER, 0, "tasks", "tasks spawned at this site", 0)                                           \
  X(ended, COUNTER, 8, "tasks", "tasks of this site that completed or were cancelled", 0)                    \
  X(polls, COUNTER, 16, "polls", "polls of this site's tasks", 0)                                            \
  X(busy_ns, COUNTER, 24, "ns", "time spent in polls of this site's tasks", 1)                               \
  X(sched_latency_ns, COUNTER, 32, "ns", "sum of this site's woken-to-polled latencies", 1)

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
#define SCHEDRT__MID(id, kind, off, type, unit, help, pub) SCHEDRT_M_##id,
  SCHEDRT_WSLOT_METRICS(SCHEDRT__MID) SCHEDRT_GLOBAL_METRICS(SCHEDRT__MID) SCHEDRT_HIST_METRICS(SCHEDRT__MID)
#undef SCHEDRT__MID
      SCHEDRT_M__COUNT
};

#define SCHEDRT__ONE(id, kind, off, type, unit, help, pub) +1
enum {
  SCHEDRT_M__WSLOT_COUNT = 0 SCHEDRT_WSLOT_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__GLOBAL_COUNT = 0 SCHEDRT_GLOBAL_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__HIST_COUNT = 0 SCHEDRT_HIST_METRICS(SCHEDRT__ONE),
  SCHEDRT_M__GLOBAL_FIRST = SCHEDRT_M__WSLOT_COUNT,
  SCHEDRT_M__HIST_FIRST = SCHEDRT_M__WSLOT_COUNT + SCHEDRT_M__GLOBAL_COUNT,
};
#undef SCHEDRT__ONE

#endif /* SCHEDRT_PROTO_METRICS_DEF_H */
