/*
 * schedrt: a work-stealing task runtime for C11.
 *
 * Tasks are poll functions (Tokio futures without the compiler): fn(task, arg)
 * returns SCHEDRT_READY when done, or SCHEDRT_PENDING after arranging for a
 * waker to fire. Every fallible call returns 0 or a negative error code;
 * schedrt_strerror() names it. Nothing here aborts or exits on bad input:
 * fallible calls check their arguments (-EINVAL); pointer arguments of the
 * others (a task, waker, handle or channel) must be valid unless stated.
 */
#ifndef SCHEDRT_H
#define SCHEDRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SCHEDRT_API __attribute__((visibility("default")))
#else
#define SCHEDRT_API
#endif

/*
 * Functions whose result says whether they did anything are marked
 * SCHEDRT_NODISCARD: ignoring it is a warning. A cast to void says "on
 * purpose" and silences it with C23's [[nodiscard]] (any compiler, -std=c2x
 * or later; C++17) and with clang in any mode. GCC before C23 only has
 * __attribute__((warn_unused_result)), which it keeps reporting through a
 * (void) cast by design (GCC bug 66425): there write `(void)!f(...)` or
 * `if (f(...)) {}`, or compile with -std=c2x. Defining SCHEDRT_NODISCARD
 * before including this header replaces the marking (empty: none).
 */
#ifndef SCHEDRT_NODISCARD
#if (defined(__cplusplus) && __cplusplus >= 201703L) ||                                                      \
    (!defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ > 201710L)
#define SCHEDRT_NODISCARD [[nodiscard]]
#elif defined(__GNUC__)
#define SCHEDRT_NODISCARD __attribute__((warn_unused_result))
#else
#define SCHEDRT_NODISCARD
#endif
#endif

#define SCHEDRT_VERSION_MAJOR 0
#define SCHEDRT_VERSION_MINOR 1
#define SCHEDRT_VERSION_PATCH 0
#define SCHEDRT_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ errors */

/*
 * Errors are negative errno values (-EINVAL, -ENOMEM, -ETIMEDOUT, -EBUSY,
 * -ESHUTDOWN, -ECANCELED, -ENOTSUP, -ESRCH, -EPERM, -EAGAIN, -EPIPE ...) or one of the project
 * codes below, kept far from errno's range as libuv keeps UV__EOF.
 */
#define SCHEDRT_ERRORS(X)                                                                                    \
  X(EMAGIC, -4001, "not a schedrt segment or dump (bad magic)")                                              \
  X(EVERSION, -4002, "unsupported layout or format major version")                                           \
  X(ECORRUPT, -4003, "segment or dump is corrupt (a size or offset is out of bounds)")                       \
  X(ETORN, -4004, "could not take a consistent snapshot (writer kept changing)")                             \
  X(ESTALE, -4005, "the process that owned this segment is gone")                                            \
  X(EHUNG, -4006, "the process is alive but its heartbeat stopped")                                          \
  X(EOWNER, -4007, "segment is owned by another user or has unsafe permissions")                             \
  X(ENOTREADY, -4008, "segment is not initialised yet")                                                      \
  X(EREJECTED, -4009, "the runtime rejected the request")                                                    \
  X(EDISABLED, -4010, "the feature is disabled at run time")                                                 \
  X(EPARTIAL, -4011, "the dump is partial: some workers missed the deadline")                                \
  X(ENOTSEG, -4012, "not a regular file (a FIFO, socket, device or directory) where a segment was expected") \
  X(ECHANGED, -4013, "the target changed its segment while it was read (truncated or replaced)")

enum {
#define SCHEDRT__ERR_ENUM(name, code, text) SCHEDRT_##name = (code),
  SCHEDRT_ERRORS(SCHEDRT__ERR_ENUM)
#undef SCHEDRT__ERR_ENUM
};

/* Never NULL; for an unknown code, a generic text. */
SCHEDRT_API const char *schedrt_strerror(int err);
/* "EINVAL", "SCHEDRT_EVERSION", ... or "UNKNOWN". */
SCHEDRT_API const char *schedrt_err_name(int err);

/* ------------------------------------------------------------------ build */

enum {
  SCHEDRT_FEATURE_METRICS = 1u << 0,         /* shm metrics compiled in */
  SCHEDRT_FEATURE_TASKDUMP = 1u << 1,        /* CBOR task dumps compiled in */
  SCHEDRT_FEATURE_STALL_BACKTRACE = 1u << 2, /* watchdog dumps can carry stall backtraces (libunwind) */
};
/* Which optional parts this library was built with. */
SCHEDRT_API unsigned schedrt_features(void);
SCHEDRT_API const char *schedrt_version(void);

/* ------------------------------------------------------------------ config */

enum {
  SCHEDRT_CFG_NO_LIFO = 1u << 0,    /* disable the LIFO slot */
  SCHEDRT_CFG_NO_METRICS = 1u << 1, /* publish no shm segment */
  SCHEDRT_CFG_NO_DUMP = 1u << 2,    /* answer dump requests with DISABLED */
  /*
   * Per-poll timing: poll-time and schedule-latency histograms. Off by
   * default (two clock reads per poll, as Tokio's opt-in histogram); also
   * turned on by SCHEDRT_TIMING=1 in the environment.
   */
  SCHEDRT_CFG_TIMING = 1u << 3,
  /*
   * Stall backtraces: when the watchdog (watchdog_ms) writes a dump for a
   * worker stuck in one poll, it first takes that thread's native backtrace
   * by a real-time signal (SIGRTMAX-3 unless SCHEDRT_STALL_BACKTRACE_SIGNAL
   * names another; never over a handler the application installed) and puts
   * it in the dump. Off by default; also turned on by
   * SCHEDRT_STALL_BACKTRACE=1. Needs a build with libunwind
   * (SCHEDRT_FEATURE_STALL_BACKTRACE) and the metrics (the thread id).
   * docs/forensics.md.
   */
  SCHEDRT_CFG_STALL_BACKTRACE = 1u << 4,
  /*
   * The event ring: each worker keeps its last events (spawn, poll start and
   * end, wake, park, unpark, steal; blocking jobs and stalls in a ring of
   * their own) in the metrics segment, where `sched-inspect events` reads
   * them, even from a stopped or hung process. Off by default; also turned
   * on by SCHEDRT_EVENTS=1. Records per ring: SCHEDRT_EVENTS_SIZE (64 to
   * 65536, rounded up to a power of two; default 4096, 128 KiB a worker).
   * Needs the metrics (no effect with SCHEDRT_CFG_NO_METRICS).
   */
  SCHEDRT_CFG_EVENTS = 1u << 5,
};

typedef struct schedrt_config {
  uint32_t size;     /* sizeof(schedrt_config) as the caller saw it: ABI guard */
  uint32_t nworkers; /* 0: number of online CPUs */
  const char *name;  /* runtime name, copied (truncated to 31 bytes); NULL: "schedrt" */
  uint32_t flags;    /* SCHEDRT_CFG_* */
  /*
   * Ticks between forced checks of the injection queue (fairness); 0:
   * adaptive as in Tokio, about every 200 us of polling, 2 to 127 ticks.
   */
  uint32_t global_queue_interval;
  /* Default deadline for a dump's start barrier; 0: 250 ms; at most
   * SCHEDRT_DUMP_TIMEOUT_MAX_MS (else -EINVAL). */
  uint32_t dump_timeout_ms;
  /* Heartbeat and control-area polling period of the monitor thread; 0: 100 ms. */
  uint32_t monitor_period_ms;
  /* Seconds an uncollected dump object is kept; 0: 60 s. */
  uint32_t dump_keep_s;
  /*
   * Watchdog: when a worker stays inside one poll this long, the runtime
   * writes a dump on its own (into watchdog_dir, file
   * schedrt-watchdog.<pid>.<starttime>.<n>.cbor, mode 0600, never through a
   * link) and says where on stderr; at most one per stuck poll and one per
   * ten thresholds, at most watchdog_max_dumps files, and none past 64 MiB.
   * Off while dumps are disabled. 0: off, unless SCHEDRT_WATCHDOG_MS is set
   * in the environment; at least 10, at most 3600000.
   */
  uint32_t watchdog_ms;
  /* Copied. NULL: $SCHEDRT_DUMP_DIR, else the current directory. */
  const char *watchdog_dir;
  /* 0: $SCHEDRT_WATCHDOG_MAX, else 10; at most 1000. */
  uint32_t watchdog_max_dumps;
  /*
   * The blocking pool (schedrt_spawn_blocking). Most threads it runs at once;
   * 0: 512, as Tokio. SCHEDRT_MAX_BLOCKING_THREADS in the environment
   * overrides it (1 to 65536; empty: unset; anything else fails
   * schedrt_runtime_create with -EINVAL and a message on stderr). At most
   * 65536 (else -EINVAL).
   */
  uint32_t max_blocking_threads;
  /* Milliseconds an idle pool thread waits for a job before it exits;
   * 0: 10000, as Tokio. At most 3600000. */
  uint32_t blocking_keepalive_ms;
  /*
   * How long schedrt_runtime_destroy waits for running blocking jobs before
   * it abandons them; 0: 10000. SCHEDRT_BLOCKING_SHUTDOWN_MS in the
   * environment overrides it (0 to 3600000, 0: do not wait; empty: unset;
   * anything else fails schedrt_runtime_create with -EINVAL). At most
   * 3600000.
   */
  uint32_t blocking_shutdown_timeout_ms;
  /*
   * Long polls: the monitor thread samples every worker's poll sequence
   * every long_poll_ms / 5 (at least 0.2 ms) and counts a poll in the worker
   * metric long_polls once it has seen it running for long_poll_ms (it then
   * surely lasted that long; every poll of at least 1.4 x long_poll_ms is
   * counted, when the monitor thread gets the CPU on time). 0: 10 ms, or
   * SCHEDRT_LONG_POLL_MS from the environment (1 to 3600000; 0 turns the
   * sampling off; anything else fails schedrt_runtime_create with -EINVAL).
   * At most 3600000. Needs the metrics (not SCHEDRT_CFG_NO_METRICS).
   */
  uint32_t long_poll_ms;
  uint32_t resv32;  /* must be zero */
  uint64_t resv[2]; /* room to grow; must be zero */
} schedrt_config;

/* Fills cfg with defaults (and cfg->size). */
SCHEDRT_API void schedrt_config_init(schedrt_config *cfg);

/* --------------------------------------------------------------- runtime */

typedef struct schedrt_runtime schedrt_runtime;
typedef struct schedrt_task schedrt_task;     /* what a poll function receives */
typedef struct schedrt_waker schedrt_waker;   /* a counted reference that can wake a task */
typedef struct schedrt_handle schedrt_handle; /* a join handle */

typedef enum schedrt_poll {
  SCHEDRT_READY = 0,
  SCHEDRT_PENDING = 1,
} schedrt_poll;

/* A task's body. It may be polled spuriously: check your own state. */
typedef schedrt_poll (*schedrt_task_fn)(schedrt_task *task, void *arg);
/* Called exactly once for a task dropped before it completed (shutdown). */
typedef void (*schedrt_drop_fn)(void *arg);

/* cfg may be NULL (defaults). Starts the workers. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_runtime_create(const schedrt_config *cfg, schedrt_runtime **out);
/*
 * Stops the workers, drops every unfinished task (its drop callback runs
 * exactly once), shuts the blocking pool down (queued jobs dropped, running
 * ones waited for up to blocking_shutdown_timeout_ms, then abandoned: see
 * schedrt_spawn_blocking_at), removes the metrics segment and waits for
 * nothing else. NULL is fine. Must not be called from a worker or a
 * blocking job of rt.
 *
 * Drop callbacks run one after another on the calling thread, after the
 * workers stopped: they may release handles, oneshots, notifies and wakers,
 * but must not spawn or wake. Wakers and handles that outlive the runtime may
 * still be released (schedrt_waker_drop, schedrt_handle_release,
 * schedrt_oneshot_destroy, schedrt_notify_destroy); waking or joining through
 * them after destroy returned is forbidden. Wakes from other threads while
 * destroy runs are fine; schedrt_block_on calls, spawns and dumps from
 * threads that are not workers must have returned before destroy is called.
 */
SCHEDRT_API void schedrt_runtime_destroy(schedrt_runtime *rt);
SCHEDRT_API uint32_t schedrt_runtime_nworkers(const schedrt_runtime *rt);
SCHEDRT_API const char *schedrt_runtime_name(const schedrt_runtime *rt);
/* The runtime whose worker is the calling thread, or NULL. */
SCHEDRT_API schedrt_runtime *schedrt_current(void);
/* The calling thread's worker index, or -1 when it is not a worker. */
SCHEDRT_API int schedrt_worker_index(void);
/* Monotonic clock used everywhere in schedrt, in nanoseconds. */
SCHEDRT_API uint64_t schedrt_now_ns(void);

/* ------------------------------------------------------------------ spawn */

typedef struct schedrt_spawn_opts {
  const char *name;     /* copied, truncated to 23 bytes; NULL: unnamed */
  schedrt_drop_fn drop; /* may be NULL */
} schedrt_spawn_opts;

/*
 * Spawns fn(task, arg). From a worker of rt the task goes to that worker's
 * local queue (LIFO slot first); from any other thread to the injection
 * queue. If handle is not NULL it receives a join handle that the caller must
 * release (schedrt_join / schedrt_handle_release). arg stays the caller's:
 * the runtime never frees it. Use the schedrt_spawn* macros, which record the
 * spawn site; file and func must have static storage duration (the macros
 * pass __FILE__ and __func__). From tasks, -ESHUTDOWN once destroy has
 * begun; threads that are not workers must stop spawning before they call
 * destroy. On any
 * error the runtime took nothing: arg is still the caller's and drop is not
 * called.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_spawn_at(schedrt_runtime *rt, schedrt_task_fn fn, void *arg,
                                                   const schedrt_spawn_opts *opts, schedrt_handle **handle,
                                                   const char *file, int line, const char *func);

/*
 * schedrt_spawn(rt, fn, arg) and schedrt_spawn_ex(rt, fn, arg, opts, handle):
 * schedrt_spawn_at with the caller's spawn site. Variadic, so that any
 * argument may hold commas outside parentheses, as a compound literal with
 * two options does: &(schedrt_spawn_opts){.name = "x", .drop = f}. The
 * arguments are checked against schedrt_spawn_at's prototype.
 */
#define schedrt_spawn(...) schedrt_spawn_at(__VA_ARGS__, NULL, NULL, __FILE__, __LINE__, __func__)
#define schedrt_spawn_ex(...) schedrt_spawn_at(__VA_ARGS__, __FILE__, __LINE__, __func__)

/* ---------------------------------------------------------- blocking pool */

/* A plain blocking function; what it returns is the job's result. */
typedef void *(*schedrt_blocking_fn)(void *arg);

/*
 * Runs fn(arg) on the runtime's blocking pool, a set of threads apart from
 * the workers, for calls that block (getaddrinfo, file I/O, compression): a
 * worker stuck in one would stall every task queued behind it. Threads start
 * on demand up to max_blocking_threads and exit after blocking_keepalive_ms
 * idle; with all of them busy, jobs wait in a FIFO queue. Callable from any
 * thread: workers, schedrt_block_on's thread, pool threads (a job may spawn
 * jobs) and other threads, under the same rule as schedrt_spawn_at (threads
 * that are not the runtime's must stop spawning before they call destroy).
 *
 * opts and handle are those of schedrt_spawn_at: the name is copied (23
 * bytes), handle (if not NULL) receives a join handle that the caller must
 * release; schedrt_join (from a thread) and schedrt_handle_poll (from a task)
 * give fn's return value. arg stays the caller's; the runtime never frees it.
 * opts->drop, if set, runs exactly once for a job whose result no joiner can
 * receive: a job still queued at shutdown (it never starts; joiners get
 * -ECANCELED) and a job abandoned at shutdown (below). Use the
 * schedrt_spawn_blocking macros, which record the spawn site (dumps show it).
 *
 * -EINVAL (rt or fn NULL), -ENOMEM, -ESHUTDOWN once destroy has begun, or a
 * thread creation error (-EAGAIN) when the pool has no thread at all and
 * cannot start one; on error the runtime took nothing (drop is not called).
 *
 * Shutdown: schedrt_runtime_destroy, after stopping the workers, drops every
 * queued job, then waits for running jobs up to
 * blocking_shutdown_timeout_ms. A job still running then is abandoned: one
 * line on stderr names it (name, spawn site, how long it ran), its joiners
 * get -ECANCELED at once (before its drop callback ran, unlike a task's), and
 * its thread is detached. When fn finally returns, that thread discards the
 * result, runs the drop callback (so arg is released exactly once either
 * way), frees the job's record and exits, touching nothing of the runtime;
 * if the process exits first, none of that happens (its memory is reachable
 * from that thread, not leaked). fn itself must not use the runtime once
 * destroy may have returned: a function that may outlast the deadline must
 * not spawn, wake or join through it.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_spawn_blocking_at(schedrt_runtime *rt, schedrt_blocking_fn fn,
                                                            void *arg, const schedrt_spawn_opts *opts,
                                                            schedrt_handle **handle, const char *file,
                                                            int line, const char *func);

/* (rt, fn, arg) and (rt, fn, arg, opts, handle), variadic as schedrt_spawn's. */
#define schedrt_spawn_blocking(...)                                                                          \
  schedrt_spawn_blocking_at(__VA_ARGS__, NULL, NULL, __FILE__, __LINE__, __func__)
#define schedrt_spawn_blocking_ex(...) schedrt_spawn_blocking_at(__VA_ARGS__, __FILE__, __LINE__, __func__)

/* ------------------------------------------------------------------ tasks */

SCHEDRT_API uint64_t schedrt_task_id(const schedrt_task *task);
SCHEDRT_API schedrt_runtime *schedrt_task_runtime(const schedrt_task *task);
/* Value that joiners receive once the task returns SCHEDRT_READY. */
SCHEDRT_API void schedrt_task_set_result(schedrt_task *task, void *result);

/* Where a task waits: shown by task dumps. Use schedrt_await(). */
typedef struct schedrt_await_site {
  const char *label;
  const char *file;
  int line;
} schedrt_await_site;
SCHEDRT_API void schedrt_task_set_await(schedrt_task *task, const schedrt_await_site *site);

/* Records "waiting on label at file:line" before a task returns PENDING. */
#define schedrt_await(task, label_literal)                                                                   \
  do {                                                                                                       \
    static const schedrt_await_site schedrt__site = {(label_literal), __FILE__, __LINE__};                   \
    schedrt_task_set_await((task), &schedrt__site);                                                          \
  } while (0)

/*
 * Wake self, so the task is polled again after others had a turn: when its
 * worker has nothing else to run, and at the latest after one maintenance
 * interval (61 scheduler ticks), when it moves to the back of the worker's
 * queue where other workers can steal it.
 */
SCHEDRT_API schedrt_poll schedrt_yield(schedrt_task *task);

/*
 * Cooperative budget. Each poll of a task on a worker may complete 128
 * operations without waiting: every primitive below that would return READY
 * spends one unit first (schedrt_oneshot_recv, schedrt_notify_wait,
 * schedrt_handle_poll, schedrt_sleep, and the channel, mutex and semaphore
 * calls). With the budget spent it returns PENDING instead, having consumed
 * nothing, and the task is already re-scheduled at the back of its worker's
 * queue: a task whose inputs are always ready cannot hold its worker. So a
 * PENDING from these calls never means "return READY yourself"; return
 * PENDING and poll again. Tasks run by schedrt_block_on have no budget.
 * Counted per worker as the budget_forced_yields metric.
 */

/* ----------------------------------------------------------------- wakers */

/* A new reference to task's waker. Never NULL. */
SCHEDRT_API schedrt_waker *schedrt_waker_get(schedrt_task *task);
SCHEDRT_API schedrt_waker *schedrt_waker_clone(schedrt_waker *w);
/* Wakes and releases the reference. Any thread. Exactly-once polling. */
SCHEDRT_API void schedrt_wake(schedrt_waker *w);
/* Wakes, keeps the reference. */
SCHEDRT_API void schedrt_wake_by_ref(schedrt_waker *w);
/* Releases without waking. NULL is fine. */
SCHEDRT_API void schedrt_waker_drop(schedrt_waker *w);

/* ------------------------------------------------------------------- join */

/*
 * Waits (from a thread that is not a worker) up to timeout_ns (UINT64_MAX:
 * forever) for the task to finish. 0 and *result on completion (the handle is
 * released); -ETIMEDOUT (the handle stays valid); -ECANCELED if the task was
 * dropped at shutdown (released; its drop callback has returned; for a
 * blocking job abandoned at shutdown it runs later: schedrt_spawn_blocking_at).
 * The handle of a task or of a blocking job alike.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_join(schedrt_handle *h, uint64_t timeout_ns, void **result);
/*
 * Awaits a handle from inside a task: READY with *result (the handle is NOT
 * released), or PENDING after registering self to be woken on completion
 * (replacing the task that polled it before, if another did).
 */
SCHEDRT_API schedrt_poll schedrt_handle_poll(schedrt_handle *h, schedrt_task *self, void **result);
SCHEDRT_API int schedrt_handle_is_finished(const schedrt_handle *h);
SCHEDRT_API void schedrt_handle_release(schedrt_handle *h);

/*
 * Runs fn on the calling thread until it returns READY, parking the thread
 * while it is pending; spawns from it go to the injection queue, as Tokio's
 * block_on does. Not from a worker (-EDEADLK).
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_block_on(schedrt_runtime *rt, schedrt_task_fn fn, void *arg,
                                                   void **result);

/* ----------------------------------------------------------------- timers */

/* Wakes task at the absolute monotonic deadline (schedrt_now_ns()). */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_wake_at(schedrt_task *task, uint64_t deadline_ns);
/*
 * Sleep helper for poll functions. *deadline is the caller's state (start at
 * 0): the first call arms a timer and returns PENDING; later calls return
 * PENDING until the deadline passed, then READY (resetting *deadline to 0).
 * If no timer can be armed (the runtime is shutting down, or no memory), it
 * returns READY at once rather than leave the task waiting forever. The state
 * may move to another task: a poll from a task with no timer for *deadline
 * arms one for it.
 */
SCHEDRT_API schedrt_poll schedrt_sleep(schedrt_task *task, uint64_t *deadline, uint64_t delay_ns);

/* ------------------------------------------------------- sync primitives */

/* A single-use channel carrying one pointer. Caller-owned memory. */
typedef struct schedrt_oneshot {
  uint64_t opaque[4];
} schedrt_oneshot;
SCHEDRT_API void schedrt_oneshot_init(schedrt_oneshot *ch);
/*
 * Returns -EALREADY on a second send. Any thread; but once a send succeeded
 * the receiver may free the channel, so every sender must have returned
 * before the receiver destroys it.
 */
SCHEDRT_API int schedrt_oneshot_send(schedrt_oneshot *ch, void *value);
/*
 * READY with *value once sent; else registers self and returns PENDING. If
 * another task was registered (the receiving side moved), self replaces it.
 */
SCHEDRT_API schedrt_poll schedrt_oneshot_recv(schedrt_oneshot *ch, schedrt_task *self, void **value);
/* Drops the registered wakers (receiver's and sender's); the channel can then be freed. */
SCHEDRT_API void schedrt_oneshot_destroy(schedrt_oneshot *ch);
/*
 * The receiving side gives up: a later schedrt_oneshot_send fails with
 * -EPIPE and does not take its value, and a sender waiting in
 * schedrt_oneshot_closed is woken. A value sent before the close stays
 * readable: schedrt_oneshot_recv then returns READY with it, or READY with
 * *value NULL if nothing was sent. Idempotent. Any thread; the receiving
 * side only (the same party that calls recv and destroy).
 */
SCHEDRT_API void schedrt_oneshot_close(schedrt_oneshot *ch);
/*
 * For the sending side (one task at a time, not concurrently with its own
 * send): READY once the receiver closed the channel (or once a value was
 * sent: nothing is left to wait for, and a send wakes the task waiting
 * here); else registers self, replacing the
 * waker of another task that polled before, and returns PENDING. A task
 * only: self must be the polling task.
 */
SCHEDRT_API schedrt_poll schedrt_oneshot_closed(schedrt_oneshot *ch, schedrt_task *self);

/*
 * Notify: tasks wait for a notification; notify_one wakes one waiter (or
 * stores a permit if none waits), notify_all wakes every current waiter.
 */
typedef struct schedrt_notify schedrt_notify;
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_notify_create(schedrt_notify **out);
SCHEDRT_API void schedrt_notify_destroy(schedrt_notify *n);
SCHEDRT_API void schedrt_notify_one(schedrt_notify *n);
SCHEDRT_API void schedrt_notify_all(schedrt_notify *n);
/*
 * *ticket is caller state (start at 0). READY once this ticket was notified
 * since its first call; else registers self and returns PENDING. The ticket
 * may move to another task: the task that polls it last is the one woken.
 */
SCHEDRT_API schedrt_poll schedrt_notify_wait(schedrt_notify *n, schedrt_task *self, uint64_t *ticket);
/*
 * Stops waiting: a task that gives up (a timeout won) must cancel, or its
 * stale registration would swallow a notify_one meant for another waiter. If
 * the notification had already been delivered to this ticket, it is passed
 * on to the next waiter (or kept as a permit). *ticket is reset to 0.
 */
SCHEDRT_API void schedrt_notify_cancel(schedrt_notify *n, uint64_t *ticket);

/* -------------------------------------------------------------------- I/O */

/*
 * Readiness-based I/O (epoll, edge-triggered). Register a non-blocking fd;
 * the registration takes the fd over (it is closed when the last reference
 * goes). A task polls for readiness, tries the operation, and on EAGAIN
 * clears the readiness it saw and polls again:
 *
 *   uint64_t tok;
 *   if (schedrt_io_poll(io, task, SCHEDRT_IO_READ, &tok) == SCHEDRT_PENDING)
 *     return SCHEDRT_PENDING;
 *   ssize_t n = read(schedrt_io_fd(io), buf, len);
 *   if (n < 0 && errno == EAGAIN) { schedrt_io_clear(io, SCHEDRT_IO_READ, tok); ...poll again... }
 *
 * or uses the helpers below, which do exactly that. A waiting task records
 * its wait (the fd and the direction; the peer for a socket) for dumps, and
 * the await label "io read" or "io write". One task waits per direction: a
 * poll from another task replaces the first (the wait moved).
 */
typedef struct schedrt_io schedrt_io;
enum {
  SCHEDRT_IO_READ = 1u,
  SCHEDRT_IO_WRITE = 2u,
};
/* fd must be non-blocking. Any thread. -EINVAL, -ESHUTDOWN, -ENOMEM, or
 * epoll's error (-EPERM for a regular file); on error fd stays the caller's. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_io_register(schedrt_runtime *rt, int fd, schedrt_io **out);
/* Another reference, for a second task that uses the same registration. */
SCHEDRT_API schedrt_io *schedrt_io_clone(schedrt_io *io);
/* Drops a reference; the last one deregisters (as close) and closes the fd.
 * NULL is fine. */
SCHEDRT_API void schedrt_io_release(schedrt_io *io);
/*
 * Deregisters and drops the caller's reference. Tasks that wait on it are
 * woken and see it closed (polls return READY, helpers -ECANCELED); the fd
 * stays open until the last reference is released, so a task holding a clone
 * never reads a reused fd. Any thread, also from a drop callback during
 * destroy. Registrations still open at destroy are shut the same way; after
 * destroy, close and release only drop references.
 */
SCHEDRT_API void schedrt_io_close(schedrt_io *io);
SCHEDRT_API int schedrt_io_fd(const schedrt_io *io);
SCHEDRT_API bool schedrt_io_is_closed(const schedrt_io *io);
/* READY when the fd may be ready for interest (SCHEDRT_IO_READ or _WRITE),
 * or closed, or in error; *token (may be NULL) receives what was seen, for
 * schedrt_io_clear. Else registers self and returns PENDING. Budgeted. */
SCHEDRT_API schedrt_poll schedrt_io_poll(schedrt_io *io, schedrt_task *self, unsigned interest,
                                         uint64_t *token);
/* After EAGAIN: forget that readiness, unless an event arrived since token. */
SCHEDRT_API void schedrt_io_clear(schedrt_io *io, unsigned interest, uint64_t token);

/* Helpers: READY with *res = bytes (read: 0 at end of stream) or -errno
 * (-ECANCELED once closed), else PENDING. */
SCHEDRT_API schedrt_poll schedrt_io_read(schedrt_io *io, schedrt_task *self, void *buf, size_t len,
                                         ssize_t *res);
/* Writes all of buf: *done is the caller's progress state (start at 0), so
 * partial writes resume where they stopped; READY with *res = len, or -errno. */
SCHEDRT_API schedrt_poll schedrt_io_write(schedrt_io *io, schedrt_task *self, const void *buf, size_t len,
                                          size_t *done, ssize_t *res);
/* READY with *res = a new non-blocking, close-on-exec connection fd (not
 * registered), or -errno; peer may be NULL. */
SCHEDRT_API schedrt_poll schedrt_io_accept(schedrt_io *listener, schedrt_task *self, struct sockaddr *peer,
                                           socklen_t *peer_len, int *res);
/*
 * Connects with a deadline. Start: a non-blocking socket of addr's family,
 * registered, connect begun (0, or -errno at once). Then poll until READY:
 * *res = 0 (connected), -errno (refused...) or -ETIMEDOUT after timeout_ns;
 * *deadline is the caller's state (start at 0) and arms one timer.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_io_connect_start(schedrt_runtime *rt, const struct sockaddr *addr,
                                                           socklen_t len, schedrt_io **out);
SCHEDRT_API schedrt_poll schedrt_io_connect_poll(schedrt_io *io, schedrt_task *self, uint64_t *deadline,
                                                 uint64_t timeout_ns, int *res);

/*
 * Conventions of the primitives below (mutex, semaphore, channel), as for
 * notify:
 * - A waiting call takes `self`, the polling task, and a `uint64_t *ticket`
 *   that is the caller's state (start at 0, keep it across polls): PENDING
 *   means self is queued (FIFO) and registered to be woken; READY resets the
 *   ticket to 0. A ticket may move to another task: the task that polls it
 *   next is the one woken. A task that gives up before READY (a timeout won)
 *   must call the matching _cancel, or its place in the queue is kept.
 * - Every READY spends one unit of the cooperative budget (128 a poll); once
 *   it is spent the call returns PENDING with nothing consumed or taken and
 *   the task re-scheduled, so a task whose primitive is always ready yields.
 * - try_ calls never wait and may be called from any thread (self NULL for
 *   a thread that is not a task). Waiting calls are for tasks only.
 * - Dumps show what a waiting task waits on (wait "mutex", "semaphore",
 *   "channel_send", "channel_recv" and the object's address) and, for a mutex
 *   or semaphore, which tasks hold it, so "sched-inspect show" names the
 *   owner a task waits for and finds deadlocks through mutexes.
 * - Objects are created with _create (0, -EINVAL, -ENOMEM) and freed with
 *   _destroy (NULL is fine), which drops the wakers of tasks still queued
 *   without waking them: destroy only what nobody waits on any more.
 */

/*
 * Async mutex: FIFO, with direct hand-off (unlock gives the lock to the
 * oldest queued waiter, which finds it held on its behalf), and the owner's
 * task id recorded for dumps.
 */
typedef struct schedrt_mutex schedrt_mutex;
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_mutex_create(schedrt_mutex **out);
SCHEDRT_API void schedrt_mutex_destroy(schedrt_mutex *m);
/* READY with the lock held by self; else queued, PENDING. A task only. */
SCHEDRT_API schedrt_poll schedrt_mutex_lock(schedrt_mutex *m, schedrt_task *self, uint64_t *ticket);
/*
 * 0 with the lock held (owner: self's id; NULL self: a thread that is not a
 * task), -EBUSY if it is held or others are queued (no barging). Any thread.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_mutex_try_lock(schedrt_mutex *m, schedrt_task *self);
/*
 * Releases the lock, handing it to the oldest waiter if any (woken). Any
 * thread, not only the owner's (a lock may be passed on); -EPERM if it is not
 * held.
 */
SCHEDRT_API int schedrt_mutex_unlock(schedrt_mutex *m);
/*
 * Stops waiting for a ticket that did not get READY. If the lock had been
 * handed to it already, it is passed on (or released). *ticket becomes 0.
 */
SCHEDRT_API void schedrt_mutex_lock_cancel(schedrt_mutex *m, uint64_t *ticket);
/* The owner's task id (0: a thread that is not a task) and 1, or 0 when unlocked. A moment's picture. */
SCHEDRT_API int schedrt_mutex_owner(schedrt_mutex *m, uint64_t *owner_id);

/*
 * Counting semaphore: acquire n permits FIFO (a large request at the head is
 * not overtaken by smaller ones behind it), release gives them back. Permits
 * held are recorded per task for dumps (the first 8 holders by task id, and
 * how many more); the record never changes what a call does.
 */
typedef struct schedrt_semaphore schedrt_semaphore;
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_semaphore_create(uint64_t permits, schedrt_semaphore **out);
SCHEDRT_API void schedrt_semaphore_destroy(schedrt_semaphore *s);
/*
 * READY with n permits held by self (n 0: READY at once unless others are
 * queued); else queued, PENDING. A request for more permits than will ever
 * be free waits for ever and holds back every request behind it (FIFO): a
 * dump shows it waiting on "semaphore" with the holders. A task only.
 */
SCHEDRT_API schedrt_poll schedrt_semaphore_acquire(schedrt_semaphore *s, schedrt_task *self, uint64_t n,
                                                   uint64_t *ticket);
/* 0 with n permits held by self (NULL: a thread that is not a task); -EAGAIN if too few are free or
 * others are queued. Any thread. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_semaphore_try_acquire(schedrt_semaphore *s, schedrt_task *self,
                                                                uint64_t n);
/*
 * Gives n permits back, waking the queued requests they satisfy in order.
 * holder: the task they were acquired by (NULL: by a thread that is not a
 * task), whose record goes down by n; permits released on another's behalf
 * are taken off the records as they can. Any thread. Releasing more than
 * were acquired adds permits.
 */
SCHEDRT_API void schedrt_semaphore_release(schedrt_semaphore *s, schedrt_task *holder, uint64_t n);
/* Stops waiting; permits already granted to the ticket are given back. *ticket becomes 0. */
SCHEDRT_API void schedrt_semaphore_acquire_cancel(schedrt_semaphore *s, uint64_t *ticket);
/* Permits free now. */
SCHEDRT_API uint64_t schedrt_semaphore_available(schedrt_semaphore *s);

/*
 * Bounded multi-producer, single-consumer channel of pointers. The channel
 * never owns what the pointers point to. Sender handles are counted: clone
 * one per producer, drop each when done; the receiver sees end of stream
 * (-EPIPE) once every sender was dropped and the buffer is empty. Closing
 * the receiver makes sends fail with -EPIPE (their values are not taken) and
 * wakes waiting senders; what is buffered can still be received. Memory is
 * freed when the receiver was destroyed and the last sender dropped.
 */
typedef struct schedrt_channel schedrt_channel; /* the receiving side (one consumer at a time) */
typedef struct schedrt_sender schedrt_sender;   /* a counted sender handle */
/*
 * A channel of capacity slots (at least 1, else -EINVAL): *rx the receiver,
 * *tx the first sender handle. Both the caller's.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_channel_create(size_t capacity, schedrt_channel **rx,
                                                         schedrt_sender **tx);
/* Another handle to the same channel (counted; never fails). Any thread. */
SCHEDRT_API schedrt_sender *schedrt_sender_clone(schedrt_sender *tx);
/* Releases a handle; the last one ends the stream and wakes the receiver. NULL is fine. Any thread. */
SCHEDRT_API void schedrt_sender_drop(schedrt_sender *tx);
/*
 * Sends value: READY with *status 0 (sent, possibly handed into the buffer
 * while queued) or -EPIPE (the receiver closed: value not taken); PENDING
 * while the buffer is full (self queued FIFO behind earlier senders). A task
 * only.
 */
SCHEDRT_API schedrt_poll schedrt_channel_send(schedrt_sender *tx, schedrt_task *self, void *value,
                                              uint64_t *ticket, int *status);
/*
 * Stops waiting to send. 1: the value had already gone into the channel (it
 * is sent); 0: it was not, and stays the caller's. *ticket becomes 0.
 */
SCHEDRT_API int schedrt_channel_send_cancel(schedrt_sender *tx, uint64_t *ticket);
/* 0 sent; -EAGAIN full (or senders are queued: no barging); -EPIPE receiver closed. Any thread. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_channel_try_send(schedrt_sender *tx, void *value);
/*
 * Receives in FIFO order: READY with *status 0 and *value, or *status
 * -EPIPE: end of stream (every sender dropped, or closed, and nothing is
 * buffered); PENDING while empty (self registered, replacing another task's
 * registration: the consumer may move between tasks). A task only.
 */
SCHEDRT_API schedrt_poll schedrt_channel_recv(schedrt_channel *rx, schedrt_task *self, void **value,
                                              int *status);
/* 0 and *value; -EAGAIN empty; -EPIPE end of stream. Any thread (one consumer at a time). */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_channel_try_recv(schedrt_channel *rx, void **value);
/* Refuses further sends and wakes queued senders (their sends fail); idempotent. Any thread. */
SCHEDRT_API void schedrt_channel_close(schedrt_channel *rx);
/* Messages buffered now, and the capacity. */
SCHEDRT_API size_t schedrt_channel_len(schedrt_channel *rx);
SCHEDRT_API size_t schedrt_channel_capacity(schedrt_channel *rx);
/*
 * Closes and releases the receiving side. Buffered pointers are discarded
 * (drain with try_recv first if they own memory). NULL is fine.
 */
SCHEDRT_API void schedrt_channel_destroy(schedrt_channel *rx);

/* ------------------------------------------------------ handle ownership */

/*
 * Who may signal a notify, a oneshot or a channel, for the leak proofs of
 * task dumps (docs/forensics.md, "Proven leaks"): a task that waits on one
 * that nothing alive can signal any more is proven leaked, never merely
 * suspected. Nothing here changes what the primitives do.
 *
 * A holder is a task, or SCHEDRT_HOLDER_OUTSIDE: any thread that is not a
 * task of the runtime (main, a thread pool of your own). A primitive on
 * which no hold was ever recorded counts as held outside, so existing code
 * is never judged. The first hold on a side makes its record the whole
 * truth: from then on, every party of that side (that may notify; send on
 * the oneshot or wait in schedrt_oneshot_closed; send on the channel or
 * drop its last sender; receive from the channel, close or destroy it)
 * must hold it, a thread outside with SCHEDRT_HOLDER_OUTSIDE. A task that
 * finished holds nothing any more (no release needed: its holds count as
 * gone).
 *
 * To give a handle to a task you spawn, hold it for the child's join handle
 * before you release your own (a hold never wakes anyone; in between, both
 * hold it, which is never a false proof):
 *
 *   schedrt_notify_hold(n, schedrt_holder_of(self));            // at creation
 *   schedrt_spawn_ex(rt, child, n, NULL, &h);
 *   schedrt_notify_hold(n, schedrt_holder_of_handle(h));        // the child may notify
 *   schedrt_notify_release(n, schedrt_holder_of(self));         // and we no longer will
 *
 * Holds are counted per holder; hold and release are any thread's, take a
 * process-wide lock (they are for handing handles over, not per message)
 * and never touch the object's own fast paths. Destroying the object (or
 * dropping a channel's last handle) forgets its holders; an object whose
 * holders were recorded must be destroyed before its memory is reused.
 */
typedef uint64_t schedrt_holder;
#define SCHEDRT_HOLDER_OUTSIDE ((schedrt_holder)0)
/* The holder token of task (NULL, or a task run by schedrt_block_on: SCHEDRT_HOLDER_OUTSIDE). */
SCHEDRT_API schedrt_holder schedrt_holder_of(const schedrt_task *task);
/* The token of the task (or blocking job) whose join handle h is; valid while h is held. */
SCHEDRT_API schedrt_holder schedrt_holder_of_handle(const schedrt_handle *h);
/* 0, -EINVAL (not a token), -ENOMEM. Release: 0, or -ENOENT if who holds none. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_notify_hold(schedrt_notify *n, schedrt_holder who);
SCHEDRT_API int schedrt_notify_release(schedrt_notify *n, schedrt_holder who);
/* The oneshot's sending side (schedrt_oneshot_send; a task waiting in schedrt_oneshot_closed holds it too).
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_oneshot_hold(schedrt_oneshot *ch, schedrt_holder who);
SCHEDRT_API int schedrt_oneshot_release(schedrt_oneshot *ch, schedrt_holder who);
/* A channel's sender handles (wake a receiver waiting in schedrt_channel_recv). */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_sender_hold(schedrt_sender *tx, schedrt_holder who);
SCHEDRT_API int schedrt_sender_release(schedrt_sender *tx, schedrt_holder who);
/* A channel's receiving side (wakes senders waiting in schedrt_channel_send for room). */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_channel_hold(schedrt_channel *rx, schedrt_holder who);
SCHEDRT_API int schedrt_channel_release(schedrt_channel *rx, schedrt_holder who);

/* ---------------------------------------------------------------- metrics */

/* Describes one metric of the list in common/ (the X-macro). */
typedef enum schedrt_metric_kind {
  SCHEDRT_METRIC_COUNTER = 0, /* monotonic: readers compute rates */
  SCHEDRT_METRIC_GAUGE = 1,
  SCHEDRT_METRIC_HISTOGRAM = 2,
} schedrt_metric_kind;
typedef enum schedrt_metric_scope {
  SCHEDRT_SCOPE_GLOBAL = 0,
  SCHEDRT_SCOPE_WORKER = 1,
} schedrt_metric_scope;

typedef struct schedrt_metric_desc {
  const char *name; /* "polls" */
  const char *unit; /* "tasks", "ns", ... */
  const char *help;
  schedrt_metric_kind kind;
  schedrt_metric_scope scope;
} schedrt_metric_desc;

/*
 * Number of metrics and their descriptions, in the list's order; NULL for an
 * index past the end. The same in every build: they describe the list, which
 * readers of a segment need even where this library publishes none.
 */
SCHEDRT_API size_t schedrt_metric_count(void);
SCHEDRT_API const schedrt_metric_desc *schedrt_metric_info(size_t index);

/*
 * Reads the current value of metric index for worker (ignored for global
 * metrics). For a histogram, the total count. -ENOTSUP when metrics are
 * compiled out, -EINVAL for a bad index or worker.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_metric_read(schedrt_runtime *rt, size_t index, uint32_t worker,
                                                      uint64_t *value);
/* Histogram bucket counts (n at most the bucket count); -ENOTSUP/-EINVAL as above. */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_metric_histogram(schedrt_runtime *rt, size_t index, uint32_t worker,
                                                           uint64_t *buckets, size_t n);
/* Bucket count and the upper bound (ns) of bucket i (UINT64_MAX for the last);
 * the same in every build, as schedrt_metric_info. */
SCHEDRT_API size_t schedrt_histogram_buckets(void);
SCHEDRT_API uint64_t schedrt_histogram_upper_ns(size_t bucket);
/* Name of the shm segment ("/schedrt.<uid>.<pid>.<start>.<n>"), or NULL. */
SCHEDRT_API const char *schedrt_metrics_segment(const schedrt_runtime *rt);

/* ------------------------------------------------------------- task dumps */

/*
 * The outcome of a dump: X(NAME, value). The values travel (the control
 * page's answer, the dump's status), so the list only grows, at the end.
 */
#define SCHEDRT_DUMP_STATUSES(X)                                                                             \
  X(OK, 0)                                                                                                   \
  X(PARTIAL, 1)  /* some workers missed the deadline */                                                      \
  X(BUSY, 2)     /* another dump is in progress */                                                           \
  X(DISABLED, 3) /* SCHEDRT_DUMP=0 or SCHEDRT_CFG_NO_DUMP */                                                 \
  X(REJECTED, 4) /* malformed request */                                                                     \
  X(SHUTDOWN, 5) /* runtime shutting down */                                                                 \
  X(FAILED, 6)   /* I/O or allocation failure */

typedef enum schedrt_dump_status {
#define SCHEDRT__DUMP_STATUS_ENUM(name, value) SCHEDRT_DUMP_##name = (value),
  SCHEDRT_DUMP_STATUSES(SCHEDRT__DUMP_STATUS_ENUM)
#undef SCHEDRT__DUMP_STATUS_ENUM
} schedrt_dump_status;

/* The longest start-barrier deadline a dump accepts, from any source. */
#define SCHEDRT_DUMP_TIMEOUT_MAX_MS 10000u

typedef struct schedrt_dump_opts {
  uint32_t timeout_ms; /* start-barrier deadline, at most 10000; 0: the runtime's default */
  const char *label;   /* copied into the dump; may be NULL */
} schedrt_dump_opts;

typedef struct schedrt_dump_result {
  schedrt_dump_status status;
  uint32_t tasks;           /* task records written */
  uint32_t workers_covered; /* workers that met the barrier */
  uint32_t workers_missing;
  uint64_t pause_ns; /* time workers were held */
  uint64_t bytes;    /* size of the CBOR dump */
} schedrt_dump_result;

/*
 * Writes a CBOR task dump to fd (not closed). 0 with result filled for OK and
 * PARTIAL; SCHEDRT_EPARTIAL is never returned here, read result->status.
 * -EBUSY, SCHEDRT_EDISABLED, -ESHUTDOWN, -ENOTSUP (compiled out), -EIO.
 */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_dump_fd(schedrt_runtime *rt, int fd, const schedrt_dump_opts *opts,
                                                  schedrt_dump_result *result);
/* As schedrt_dump_fd, to a new file at path (created 0600, exclusive). */
SCHEDRT_NODISCARD SCHEDRT_API int schedrt_dump_path(schedrt_runtime *rt, const char *path,
                                                    const schedrt_dump_opts *opts,
                                                    schedrt_dump_result *result);
/* "OK", "PARTIAL", ... (the list's names), or "UNKNOWN". The same in every build. */
SCHEDRT_API const char *schedrt_dump_status_name(schedrt_dump_status s);

#ifdef __cplusplus
}
#endif
#endif /* SCHEDRT_H */
