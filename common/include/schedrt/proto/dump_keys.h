/*
 * The vocabulary of a schedrt task dump (CBOR, docs/dump-format.md): the
 * format name and version, every map key, and the enumerated text values.
 * The writer (runtime/src/dump_cbor.c) and every reader (common/src/
 * dump_read.c, sched-inspect) spell them from here, so a key cannot drift.
 *
 * Versioning: a reader accepts any minor of a major it knows and ignores keys
 * it does not know; a writer adds keys (or text values readers must treat as
 * "unknown") only with a minor bump. Renaming or removing is a major bump.
 */
#ifndef SCHEDRT_PROTO_DUMP_KEYS_H
#define SCHEDRT_PROTO_DUMP_KEYS_H

#include "schedrt/proto/metrics_def.h" /* the worker states */

#define SCHEDRT_DUMP_FORMAT "schedrt-dump"
#define SCHEDRT_DUMP_MAJOR 1
#define SCHEDRT_DUMP_MINOR 4
/* RFC 8949 section 3.4.6: the bytes d9 d9 f7 open every dump. */
#define SCHEDRT_DUMP_SELF_DESCRIBE_TAG 55799u

/* Top-level map. */
#define SCHEDRT_DK_FORMAT "format"
#define SCHEDRT_DK_VERSION "version" /* [major, minor] */
#define SCHEDRT_DK_META "meta"
#define SCHEDRT_DK_WORKERS "workers"
#define SCHEDRT_DK_INJECTION "injection"
#define SCHEDRT_DK_TASKS "tasks"
#define SCHEDRT_DK_SPAWN_SITES "spawn_sites"
#define SCHEDRT_DK_AWAIT_SITES "await_sites"
/* 1.1: the histograms' upper bounds (ns), when the workers carry histograms. */
#define SCHEDRT_DK_HIST_BOUNDS "histogram_bounds_ns"
/* 1.2: the blocking pool (schedrt_spawn_blocking); its jobs are in tasks[]. */
#define SCHEDRT_DK_BLOCKING "blocking"

/* 1.4, watchdog dumps of a runtime with events on (SCHEDRT_EVENTS=1) and SCHEDRT_WATCHDOG_EVENTS_S not 0:
 * the event rings' last seconds, copied as the watchdog fired (docs/forensics.md). A map: */
#define SCHEDRT_DK_EVENTS "events"
#define SCHEDRT_DK_EV_WINDOW_NS "window_ns" /* how far back the copy reaches */
#define SCHEDRT_DK_EV_COPIED "copied_mono_ns"
#define SCHEDRT_DK_EV_RING_SIZE "ring_size" /* records per ring in the segment */
#define SCHEDRT_DK_EV_MAX "max_per_ring"    /* the most events a ring gives the dump */
#define SCHEDRT_DK_EV_RINGS "rings"         /* [* ring]: the workers' in index order, then the others' */
/* rings[]: "worker" (SCHEDRT_DK_WORKER: its index, null for the threads that are not workers) and */
#define SCHEDRT_DK_EV_WRITTEN "written" /* events the ring got in all */
#define SCHEDRT_DK_EV_LOST "lost"       /* of those, no longer in the ring when copied */
#define SCHEDRT_DK_EV_TORN "torn"       /* records being written as they were copied */
#define SCHEDRT_DK_EV_CUT "cut"         /* events within the window left out by max_per_ring (the oldest) */
#define SCHEDRT_DK_EV_LIST "events"     /* [* [seq, time_mono_ns, kind, a, b]], oldest first */
#define SCHEDRT_DUMP_EV_FIELDS 5        /* numbers per event; a reader skips any after them */
#define SCHEDRT_DUMP_EV_MAX 65536       /* a reader refuses a ring of more events (the runtime writes 4096) */

/* meta */
#define SCHEDRT_DK_RUNTIME "runtime"
#define SCHEDRT_DK_RUNTIME_VERSION "runtime_version"
#define SCHEDRT_DK_PID "pid"
#define SCHEDRT_DK_PROC_START "proc_starttime" /* /proc/self/stat field 22 */
#define SCHEDRT_DK_BOOT_ID "boot_id"           /* 16 bytes */
#define SCHEDRT_DK_STARTED "started_mono_ns"   /* runtime creation */
#define SCHEDRT_DK_NWORKERS "nworkers"
#define SCHEDRT_DK_SOURCE "source" /* "api" / "control" */
#define SCHEDRT_DK_LABEL "label"
#define SCHEDRT_DK_NONCE "nonce"   /* 16 bytes */
#define SCHEDRT_DK_STATUS "status" /* "OK" / "PARTIAL" */
#define SCHEDRT_DK_DEADLINE_MS "deadline_ms"
#define SCHEDRT_DK_REQUESTED "requested_mono_ns"
#define SCHEDRT_DK_TAKEN "taken_mono_ns" /* ages are relative to this */
#define SCHEDRT_DK_TAKEN_REALTIME "taken_realtime_ns"
#define SCHEDRT_DK_GATHER_NS "gather_ns"     /* request until the workers were held */
#define SCHEDRT_DK_PAUSE_NS "pause_ns"       /* time the workers were held together */
#define SCHEDRT_DK_ROUNDS "gather_rounds"    /* 1.1: barrier rounds (the held are let go after 1 ms) */
#define SCHEDRT_DK_COVERED "workers_covered" /* [* index] */
#define SCHEDRT_DK_MISSING "workers_missing" /* [* index] */
#define SCHEDRT_DK_NTASKS "task_count"

/* workers[] */
#define SCHEDRT_DK_INDEX "index"
#define SCHEDRT_DK_ROLE "role"     /* SCHEDRT_DUMP_ROLES */
#define SCHEDRT_DK_WSTATE "state"  /* SCHEDRT_WORKER_STATES (metrics_def.h) texts, or null */
#define SCHEDRT_DK_REASON "reason" /* missing workers: SCHEDRT_DUMP_REASONS */
#define SCHEDRT_DK_LOCAL_QUEUE "local_queue"
#define SCHEDRT_DK_LIFO "lifo"
#define SCHEDRT_DK_DEFERRED "deferred"
#define SCHEDRT_DK_CURRENT "current_task"
#define SCHEDRT_DK_RUNNING_NS "running_ns"
#define SCHEDRT_DK_RUNNING_SRC "running_ns_source" /* SCHEDRT_DUMP_SOURCES */
#define SCHEDRT_DK_TID "tid"                       /* 1.1: the worker's kernel thread id, or null */
#define SCHEDRT_DK_HELD_NS "held_ns" /* 1.1: time it waited at the barrier, all rounds of the dump */
/* 1.3, watchdog dumps with stall backtraces on (SCHEDRT_STALL_BACKTRACE=1), the stuck worker only: its
 * native backtrace, taken by a signal to its thread (runtime/src/stall_bt.c). A map: */
#define SCHEDRT_DK_BACKTRACE "backtrace"
#define SCHEDRT_DK_BT_RESULT "result"   /* SCHEDRT_DUMP_BT_RESULTS */
#define SCHEDRT_DK_BT_WHY "why"         /* result "unavailable": why, for a person */
#define SCHEDRT_DK_BT_SIGNAL "signal"   /* the signal number sent (null: none was sent) */
#define SCHEDRT_DK_BT_WAIT_NS "wait_ns" /* from the signal to the answer, or until the wait gave up */
#define SCHEDRT_DK_BT_FRAMES "frames"   /* [* frame], innermost first; at most SCHEDRT_DUMP_BT_MAX_FRAMES */
#define SCHEDRT_DK_BT_TRUNCATED "truncated" /* true: the stack was deeper than the frames kept */
/* frames[]: the instruction address (frame 0: where the thread was interrupted; the others: return
 * addresses), the module (ELF file) holding it as the loader named it at capture time, the address
 * within that module as its ELF file numbers it (what `addr2line -e module` takes), and the dynamic
 * symbol dladdr() found for it at capture time, with the offset from that symbol. */
#define SCHEDRT_DK_BT_IP "ip"
#define SCHEDRT_DK_BT_MODULE "module"
#define SCHEDRT_DK_BT_MODULE_OFFSET "module_offset"
#define SCHEDRT_DK_BT_SYMBOL "symbol"
#define SCHEDRT_DK_BT_SYMBOL_OFFSET "symbol_offset"
#define SCHEDRT_DUMP_BT_MAX_FRAMES 256 /* a reader refuses more (the runtime writes at most 64) */
/* 1.1, with per-poll timing: each histogram of SCHEDRT_HIST_METRICS (metrics_def.h) under its
 * metric's name, bucket counts as the metrics segment held them when the dump was taken. */

/* injection */
#define SCHEDRT_DK_DEPTH "depth"

/* blocking (1.2); its queue's length is SCHEDRT_DK_DEPTH */
#define SCHEDRT_DK_BTHREADS "threads" /* pool threads */
#define SCHEDRT_DK_BIDLE "idle"       /* of which waiting for a job */
#define SCHEDRT_DK_BMAX "max_threads" /* the pool's limit */

/* tasks[] */
#define SCHEDRT_DK_ID "id"
#define SCHEDRT_DK_NAME "name"
#define SCHEDRT_DK_STATE "state" /* SCHEDRT_DUMP_STATES */
#define SCHEDRT_DK_WORKER "worker"
#define SCHEDRT_DK_POSITION "position"
#define SCHEDRT_DK_SPAWN "spawn" /* index into spawn_sites */
#define SCHEDRT_DK_AWAIT "await" /* index into await_sites, or null */
#define SCHEDRT_DK_POLLS "polls"
#define SCHEDRT_DK_AGE_NS "age_ns"
#define SCHEDRT_DK_STATE_NS "state_ns"
/* 1.1: who can wake it */
#define SCHEDRT_DK_WAKERS "wakers"           /* live wakers (a primitive's registration is one) */
#define SCHEDRT_DK_TIMERS "timers"           /* armed timers */
#define SCHEDRT_DK_TIMER_IN_NS "timer_in_ns" /* until the deadline of the timer armed last */
#define SCHEDRT_DK_WAIT "wait"               /* SCHEDRT_DUMP_WAITS: registered in its last poll */
#define SCHEDRT_DK_WAIT_FOR                                                                                  \
  "wait_for"                                 /* wait "join": the id of the task it waits for; 1.2: also      \
                                              * "mutex" (its owner) and "semaphore" (its only holder) */
#define SCHEDRT_DK_WAIT_OBJECT "wait_object" /* any wait but "join" and "io": the primitive's address */
/* 1.2, waits "mutex" and "semaphore": who holds it, as the object published it when the dump was taken:
 * [* (task id, permits)] flattened (id 0: a thread that is not a task), at most
 * SCHEDRT_DUMP_HOLDERS_MAX pairs, and how many holders the list leaves out. Also waits "notify",
 * "oneshot", "channel_recv" and "channel_send" whose object was given holders (schedrt_notify_hold...):
 * the holders of the side that can wake the task, (task id, handles); absent: never given any. */
#define SCHEDRT_DK_HOLDERS "holders"
#define SCHEDRT_DK_HOLDERS_MORE "holders_more"
#define SCHEDRT_DUMP_HOLDERS_MAX 8
#define SCHEDRT_DK_LOST_WAKE "lost_wake" /* true: idle, and no waker and no timer can wake it */
/* 1.2: wait "io" */
#define SCHEDRT_DK_WAIT_FD "wait_fd"             /* the file descriptor */
#define SCHEDRT_DK_WAIT_INTEREST "wait_interest" /* "read" or "write" */
#define SCHEDRT_DK_PEER "peer"                   /* a connected socket's peer address, as text */

/* spawn_sites[] and await_sites[] */
#define SCHEDRT_DK_FILE "file"
#define SCHEDRT_DK_LINE "line"
#define SCHEDRT_DK_FUNC "func"
/* await sites also use SCHEDRT_DK_LABEL */

/*
 * Enumerated text values, X(C suffix, text, help). A reader maps a text it
 * does not know to "unknown" rather than failing.
 */
#define SCHEDRT_DUMP_STATES(X)                                                                               \
  X(RUNNING, "running", "being polled (worker: who polls it)")                                               \
  X(LIFO, "lifo", "in a worker's LIFO slot: runs next on that worker")                                       \
  X(LOCAL, "local", "in a worker's local queue (position 0 runs first)")                                     \
  X(DEFERRED, "deferred", "yielded: runs after that worker's other work")                                    \
  X(INJECTION, "injection", "in the injection queue (position 0 runs first)")                                \
  X(SCHEDULED, "scheduled", "woken, on its way to a queue or on a missing worker's")                         \
  X(IDLE, "idle", "waiting for a wake")                                                                      \
  X(COMPLETING, "completing", "returned READY while the dump was taken")                                     \
  X(BLOCKING_QUEUED, "blk_queued", "1.2: a blocking job waiting for a pool thread")                          \
  X(BLOCKING, "blocking", "1.2: a blocking job running on a pool thread (state_ns: for how long)")

#define SCHEDRT_DUMP_ROLES(X)                                                                                \
  X(HELD, "held", "met the start barrier and waited while the leader copied")                                \
  X(LEADER, "leader", "met the barrier last and copied the tasks")                                           \
  X(REQUESTER, "requester", "asked for the dump from inside a task (held by the call)")                      \
  X(MISSING, "missing", "did not reach a safe point before the deadline")

#define SCHEDRT_DUMP_REASONS(X)                                                                              \
  X(POLLING, "polling", "inside a poll (current_task, running_ns say which and how long)")                   \
  X(NO_SAFEPOINT, "no_safepoint", "between polls but did not reach a safe point")

#define SCHEDRT_DUMP_SOURCES(X)                                                                              \
  X(POLL_START, "poll_start", "exact: per-poll timing was on")                                               \
  X(MONITOR, "monitor", "since the monitor first saw this poll: may be short by one period")                 \
  X(LOWER_BOUND, "lower_bound", "since the dump flag went up: the poll began earlier")

/* What became of a stall backtrace (workers[].backtrace.result, 1.3). */
#define SCHEDRT_DUMP_BT_RESULTS(X)                                                                           \
  X(OK, "ok", "the thread answered: frames holds its stack")                                                 \
  X(NO_ANSWER, "no_answer", "the thread did not answer in time (the signal blocked, its handler replaced)")  \
  X(UNAVAILABLE, "unavailable", "no signal was sent (why says why)")

/* What a task registered to wait on in its last poll (tasks[].wait). */
#define SCHEDRT_DUMP_WAITS(X)                                                                                \
  X(JOIN, "join", "the join handle of another task (wait_for names it)")                                     \
  X(NOTIFY, "notify", "a schedrt_notify (wait_object: its address)")                                         \
  X(ONESHOT, "oneshot", "a schedrt_oneshot (wait_object: its address)")                                      \
  X(IO, "io", "1.2: a file descriptor (wait_fd, wait_interest; peer for a connected socket)")                \
  X(MUTEX, "mutex", "1.2: a schedrt_mutex (wait_object; wait_for: its owner; holders)")                      \
  X(SEMAPHORE, "semaphore", "1.2: a schedrt_semaphore (wait_object; holders; wait_for: its only holder)")    \
  X(CHANNEL_SEND, "channel_send", "1.2: room in a full schedrt_channel (wait_object: the channel)")          \
  X(CHANNEL_RECV, "channel_recv", "1.2: a message in an empty schedrt_channel (wait_object: the channel)")

enum schedrt_dump_state {
#define X(n, t, h) SCHEDRT_DUMP_STATE_##n,
  SCHEDRT_DUMP_STATES(X)
#undef X
      SCHEDRT_DUMP_STATE__COUNT
};
enum schedrt_dump_role {
#define X(n, t, h) SCHEDRT_DUMP_ROLE_##n,
  SCHEDRT_DUMP_ROLES(X)
#undef X
      SCHEDRT_DUMP_ROLE__COUNT
};
enum schedrt_dump_reason {
  SCHEDRT_DUMP_REASON_NONE = 0,
#define X(n, t, h) SCHEDRT_DUMP_REASON_##n,
  SCHEDRT_DUMP_REASONS(X)
#undef X
      SCHEDRT_DUMP_REASON__COUNT
};
enum schedrt_dump_wait {
  SCHEDRT_DUMP_WAIT_NONE = 0,
#define X(n, t, h) SCHEDRT_DUMP_WAIT_##n,
  SCHEDRT_DUMP_WAITS(X)
#undef X
      SCHEDRT_DUMP_WAIT__COUNT
};
enum schedrt_dump_bt_result {
  SCHEDRT_DUMP_BT_NONE = 0, /* no backtrace key */
#define X(n, t, h) SCHEDRT_DUMP_BT_##n,
  SCHEDRT_DUMP_BT_RESULTS(X)
#undef X
      SCHEDRT_DUMP_BT__COUNT
};
enum schedrt_dump_source {
  SCHEDRT_DUMP_SOURCE_NONE = 0,
#define X(n, t, h) SCHEDRT_DUMP_SOURCE_##n,
  SCHEDRT_DUMP_SOURCES(X)
#undef X
      SCHEDRT_DUMP_SOURCE__COUNT
};

/*
 * The texts of those enums, indexed by value, for the writer and the reader
 * alike. The reason and source tables start with NULL: value 0 means "none"
 * and is written as null. (static in a header: compilers do not report them
 * unused where a file does not use them.)
 */
#define SCHEDRT__DUMP_NAME(n, t, h) t,
static const char *const schedrt_dump_role_names[SCHEDRT_DUMP_ROLE__COUNT] = {
    SCHEDRT_DUMP_ROLES(SCHEDRT__DUMP_NAME)};
static const char *const schedrt_dump_reason_names[SCHEDRT_DUMP_REASON__COUNT] = {
    0, SCHEDRT_DUMP_REASONS(SCHEDRT__DUMP_NAME)};
static const char *const schedrt_dump_wait_names[SCHEDRT_DUMP_WAIT__COUNT] = {
    0, SCHEDRT_DUMP_WAITS(SCHEDRT__DUMP_NAME)};
static const char *const schedrt_dump_source_names[SCHEDRT_DUMP_SOURCE__COUNT] = {
    0, SCHEDRT_DUMP_SOURCES(SCHEDRT__DUMP_NAME)};
static const char *const schedrt_dump_bt_result_names[SCHEDRT_DUMP_BT__COUNT] = {
    0, SCHEDRT_DUMP_BT_RESULTS(SCHEDRT__DUMP_NAME)};
#undef SCHEDRT__DUMP_NAME

#endif /* SCHEDRT_PROTO_DUMP_KEYS_H */
