/*
 * The structs behind the opaque handles of <schedrt.h>, and the schedrt__
 * functions the runtime's files share. Never installed.
 */
#ifndef SCHEDRT_INTERNAL_H
#define SCHEDRT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io.h"
#include "park.h"
#include "schedrt.h"
#include "schedrt/proto/dump_keys.h"
#include "schedrt_config.h"

#define SCHEDRT_CACHELINE 64
#define SCHEDRT_ALIGNED __attribute__((aligned(SCHEDRT_CACHELINE)))
#define SCHEDRT_LIKELY(x) __builtin_expect(!!(x), 1)

/* A spin-wait hint to the CPU (and to a sibling hyperthread). */
static inline void schedrt__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
#define SCHEDRT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Tokio's numbers: a 256-slot ring, fairness every 31 ticks, 3 LIFO polls in a row. */
#define SCHEDRT_LOCAL_QUEUE_CAP 256u
#define SCHEDRT_LOCAL_QUEUE_MASK (SCHEDRT_LOCAL_QUEUE_CAP - 1u)
#define SCHEDRT_MAX_LIFO_POLLS 3u
#define SCHEDRT_MAINTENANCE_INTERVAL 61u
#define SCHEDRT_NAME_MAX 32
#define SCHEDRT_TASK_NAME_MAX 24
/* The most threads a blocking pool may have (config, environment). */
#define SCHEDRT_BLOCKING_THREADS_MAX 65536u

/* ------------------------------------------------------------------ os.c */
uint64_t schedrt__now_ns(void);
/* CLOCK_MONOTONIC_COARSE: for timestamps shown in milliseconds. */
uint64_t schedrt__coarse_now_ns(void);
/* Waits while *addr == expected, at most timeout_ns (UINT64_MAX: forever). */
void schedrt__futex_wait(_Atomic uint32_t *addr, uint32_t expected, uint64_t timeout_ns);
void schedrt__futex_wake(_Atomic uint32_t *addr, int n);
uint32_t schedrt__online_cpus(void);
void schedrt__thread_name(const char *fmt, unsigned n);
/* A process-wide random seed, different per call. */
uint64_t schedrt__seed(void);
/* A diagnostic's setting from the environment: the number in [lo, hi], or 0
 * when unset, empty or malformed (said on stderr: the setting is ignored). */
uint32_t schedrt__env_u32(const char *name, uint32_t lo, uint32_t hi);

/* ---------------------------------------------------------------- tasks */

/* Task state bits; the reference count lives in its own word. */
enum {
  SCHEDRT_TS_RUNNING = 1u << 0,     /* a worker (or block_on) is polling it */
  SCHEDRT_TS_NOTIFIED = 1u << 1,    /* woken: queued, or to be re-queued after the poll */
  SCHEDRT_TS_COMPLETE = 1u << 2,    /* returned READY, or dropped at shutdown */
  SCHEDRT_TS_CANCELLED = 1u << 3,   /* dropped at shutdown before completing */
  SCHEDRT_TS_JOIN_WAKER = 1u << 4,  /* join_waker holds a waker to fire on completion */
  SCHEDRT_TS_JOIN_THREAD = 1u << 5, /* a thread sleeps on the state word (futex) */
  SCHEDRT_TS_BLOCK_ON = 1u << 6,    /* polled by schedrt_block_on's thread, not a worker */
  /*
   * A job of the blocking pool (blocking.c): never polled nor woken. While
   * queued it is NOTIFIED, while a pool thread runs it RUNNING; joiners and
   * completion use the task machinery unchanged.
   */
  SCHEDRT_TS_BLOCKING = 1u << 7,
  /*
   * Went through the injection queue and was not polled since (task_run
   * clears it in the CAS that starts the poll). A full ring's overflow sends
   * these back to the queue's front, the rest to its tail (local_queue.c).
   */
  SCHEDRT_TS_INJECTED = 1u << 8,
  /*
   * High 16 bits: how many threads that are not the runtime's workers woke
   * the task and are still pushing it into the injection queue (they use
   * the runtime until they take their count back). Completion waits for
   * zero, so destroy, which cancels every unfinished task after joining the
   * workers that complete the others, never frees the runtime under them.
   */
  SCHEDRT_TS_REMOTE_ONE = 1u << 16,
};
#define SCHEDRT_TS_REMOTE_MASK 0xffff0000u

struct free_block;
typedef struct schedrt_worker schedrt_worker;

/*
 * References, and in the same word how many of them are live wakers and
 * armed timers: taking or dropping a waker stays one atomic operation, and a
 * dump can tell a task nobody can wake (a lost wake-up) from one that waits.
 * The low 32 bits count every reference; a count above 65535 wakers or
 * timers wraps into its neighbour (a diagnostic then wrong, never the
 * reference count).
 */
#define SCHEDRT_REF_ONE 1ull
#define SCHEDRT_REF_WAKER (1ull << 32) /* a schedrt_waker: user code's, or a primitive's registration */
#define SCHEDRT_REF_TIMER (1ull << 48) /* an entry in the timer heap */
static inline uint32_t schedrt__refs_count(uint64_t r) { return (uint32_t)r; }
static inline uint32_t schedrt__refs_wakers(uint64_t r) { return (uint32_t)(r >> 32) & 0xffffu; }
static inline uint32_t schedrt__refs_timers(uint64_t r) { return (uint32_t)(r >> 48); }

struct schedrt_task {
  _Atomic uint32_t state;
  /* What it registered to wait on in its current or last poll
   * (enum schedrt_dump_wait, and its argument: a joined task's id, a
   * primitive's address); cleared when a poll begins. */
  _Atomic uint32_t wait_kind;
  _Atomic uint64_t wait_arg;
  _Atomic uint64_t refs;
  schedrt_runtime *rt;
  union {
    schedrt_task_fn fn;              /* a task's poll function */
    schedrt_blocking_fn blocking_fn; /* SCHEDRT_TS_BLOCKING: the job's function */
  };
  void *arg;
  schedrt_drop_fn drop;
  uint64_t id;
  void *result;
  /* Injection-queue link; owned by whoever holds the scheduled reference. */
  struct schedrt_task *qnext;
  /* Alive-task list (one shard per worker plus foreign shards). */
  struct schedrt_task *prev, *next;
  uint32_t shard;
  /* Its spawn site in the metrics' site table, as the byte offset of the
   * site's record in a block of counters (metrics_hooks.h; 0, the first
   * site's, for blocking jobs and block_on, which are not counted there). */
  uint32_t site_off;
  /* Set by the joiner only while JOIN_WAKER is clear. */
  schedrt_waker *join_waker;
  /* What dumps show. Immutable after spawn, except the atomics. */
  const char *file;
  const char *func;
  int line;
  char name[SCHEDRT_TASK_NAME_MAX];
  uint64_t spawn_ns;
  _Atomic(const schedrt_await_site *) await_site;
  _Atomic uint64_t polls;
  /* When it was last woken or went idle (0: not tracked); see metrics.h. */
  _Atomic uint64_t since_ns;
  /* The deadline of the timer armed last (valid while refs counts a timer). */
  _Atomic uint64_t timer_deadline;
};

/* Task records (task_alloc.c): per-worker magazines over malloc. */
schedrt_task *schedrt__task_alloc(void);
void schedrt__task_free(schedrt_task *t);
void schedrt__task_cache_flush(schedrt_worker *w);

/* Take a reference / drop one (frees the task at zero); kind: 0,
 * SCHEDRT_REF_WAKER or SCHEDRT_REF_TIMER, counted with it. */
void schedrt__task_ref_as(schedrt_task *t, uint64_t kind);
void schedrt__task_unref_as(schedrt_task *t, uint64_t kind);
static inline void schedrt__task_ref(schedrt_task *t) { schedrt__task_ref_as(t, 0); }
static inline void schedrt__task_unref(schedrt_task *t) { schedrt__task_unref_as(t, 0); }
/* Worker-side poll of a task whose scheduled reference the caller holds. */
void schedrt__task_run(schedrt_task *t);
/* Waking. given: 0 (the caller keeps its reference), or SCHEDRT_REF_ONE
 * plus the kind of the reference the caller gives up: it goes to the queue
 * or is dropped. */
void schedrt__task_wake(schedrt_task *t, uint64_t given);
/* Records what the polling task waits on (dumps show it; the waits-for graph
 * is made of SCHEDRT_DUMP_WAIT_JOIN edges). */
static inline void schedrt__task_waits_on(schedrt_task *t, uint32_t kind, uint64_t arg) {
  /* Release, both (plain stores on x86): a dump that reads the kind, then
   * the argument, then the poll count (acquire) sees a count that moved if
   * either came from a later poll (dump_snap.c: fill). */
  atomic_store_explicit(&t->wait_arg, arg, memory_order_release);
  atomic_store_explicit(&t->wait_kind, kind, memory_order_release);
}
/* Shutdown: mark cancelled, run drop once, wake joiners. */
void schedrt__task_cancel(schedrt_task *t);

/*
 * Blocking jobs' records (task.c). _new: a record in the alive list, state
 * BLOCKING|NOTIFIED, holding the alive list's reference, the pool's and, if
 * with_handle, the handle's; not counted as a spawned task. _finish: stores
 * result, completes it (CANCELLED if cancelled: joiners get -ECANCELED),
 * wakes its joiners, takes it off the alive list and drops the alive list's
 * reference; the pool's stays the caller's. _discard: a record the pool
 * refused, before anyone else saw its references: removed and freed.
 */
schedrt_task *schedrt__task_blocking_new(schedrt_runtime *rt, schedrt_blocking_fn fn, void *arg,
                                         const schedrt_spawn_opts *opts, bool with_handle, const char *file,
                                         int line, const char *func);
void schedrt__task_blocking_finish(schedrt_task *t, void *result, bool cancelled);
void schedrt__task_blocking_discard(schedrt_task *t);

/* ---------------------------------------------------------- local queue */

/*
 * Tokio's bounded work-stealing ring. head packs (steal, real) positions in
 * one 64-bit word so that a thief can claim a range and copy it before the
 * owner may reuse the slots; only the owner writes tail.
 */
struct schedrt_local_queue {
  _Atomic uint64_t head SCHEDRT_ALIGNED;
  _Atomic uint32_t tail SCHEDRT_ALIGNED;
  /* Pushes that overflowed: owner only, counted in the slow path (the
   * overflows metric reads it, metrics.h). */
  uint64_t overflows;
  _Atomic(schedrt_task *) buf[SCHEDRT_LOCAL_QUEUE_CAP];
};
/* The real position in a packed head (local_queue.h). */
static inline uint32_t schedrt__lq_real(uint64_t h) { return (uint32_t)h; }

/*
 * Tasks in the ring (Tokio's definition: the LIFO slot is not counted). Exact
 * for the owner; from another thread head and tail are read at different
 * times, so it is an estimate, clamped to [0, CAP]. Tail first, both acquire:
 * the head read is then no older than the tail it is compared with.
 */
static inline uint32_t schedrt__lq_len(struct schedrt_local_queue *q) {
  uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
  uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
  uint32_t n = tail - schedrt__lq_real(head);
  if (n > SCHEDRT_LOCAL_QUEUE_CAP)
    return (int32_t)n < 0 ? 0 : SCHEDRT_LOCAL_QUEUE_CAP;
  return n;
}

static inline bool schedrt__lq_has_tasks(struct schedrt_local_queue *q) { return schedrt__lq_len(q) != 0; }

/* ------------------------------------------------------- injection queue */

struct schedrt_inject {
  pthread_mutex_t lock;
  schedrt_task *head, *tail;
  /* Read without the lock to skip empty checks; exact under the lock. */
  _Atomic uint64_t len;
  bool closed;
};

int schedrt__inject_init(struct schedrt_inject *q);
void schedrt__inject_destroy(struct schedrt_inject *q);
/* Returns false (and leaves t to the caller) once the queue is closed. */
bool schedrt__inject_push(struct schedrt_inject *q, schedrt_task *t);
/* Pushes a linked batch first..last (qnext links) of n tasks. */
bool schedrt__inject_push_batch(struct schedrt_inject *q, schedrt_task *first, schedrt_task *last,
                                uint64_t n);
/*
 * A full ring's overflow: front (a qnext-linked list, possibly NULL) goes
 * before the queue's head in its order, back after its tail; n tasks in all.
 * False if the queue is closed (nothing taken).
 */
bool schedrt__inject_push_split(struct schedrt_inject *q, schedrt_task *front, schedrt_task *front_last,
                                schedrt_task *back, schedrt_task *back_last, uint64_t n);
/* Pops up to max tasks, linked through qnext; returns the first or NULL. */
schedrt_task *schedrt__inject_pop_n(struct schedrt_inject *q, uint64_t max, uint64_t *n);
void schedrt__inject_close(struct schedrt_inject *q);
static inline uint64_t schedrt__inject_len(struct schedrt_inject *q) {
  /* Relaxed: a hint only; pushers publish under the lock. */
  return atomic_load_explicit(&q->len, memory_order_relaxed);
}

/* ----------------------------------------------------------------- idle */

/* Tokio's idle set: searching and unparked counts in one word, sleepers under a lock. */
struct schedrt_idle {
  _Atomic uint32_t state; /* low 16 bits: searching; high 16: unparked */
  pthread_mutex_t lock;
  uint32_t *sleepers;
  uint32_t nsleepers;
  uint32_t nworkers;
};

int schedrt__idle_init(struct schedrt_idle *idle, uint32_t nworkers);
void schedrt__idle_destroy(struct schedrt_idle *idle);
/* A parked worker to wake (counted as searching and unparked), or -1. */
int schedrt__idle_worker_to_notify(struct schedrt_idle *idle);
bool schedrt__idle_to_searching(struct schedrt_idle *idle);
/* True if the caller was the last searcher. */
bool schedrt__idle_from_searching(struct schedrt_idle *idle);
bool schedrt__idle_to_parked(struct schedrt_idle *idle, uint32_t worker, bool searching);
bool schedrt__idle_is_parked(struct schedrt_idle *idle, uint32_t worker);
/* Logical unpark of one worker, not searching (shutdown, dumps). */
bool schedrt__idle_unpark_by_id(struct schedrt_idle *idle, uint32_t worker);
uint32_t schedrt__idle_num_searching(struct schedrt_idle *idle);

/* --------------------------------------------------------------- metrics */

#include "metrics.h"

/* ---------------------------------------------------------------- worker */

struct schedrt_worker {
  struct schedrt_local_queue q;
  /* Owner-only scheduling state. */
  _Atomic(schedrt_task *) lifo SCHEDRT_ALIGNED;
  schedrt_runtime *rt;
  uint32_t index;
  uint32_t tick;
  bool searching;
  uint64_t rng;
  /*
   * Tasks that yielded, in order (qnext links). Like Tokio's defer list they
   * run again when the worker has no other local or injected work, so a
   * busy-yielding task cannot starve remote spawns, and at the latest at the
   * next maintenance, which moves them to the ring's back where thieves see
   * them (worker.c). The task that called schedrt_yield during its current
   * poll is `yielded`.
   */
  schedrt_task *defer_head, *defer_tail;
  schedrt_task *yielded;
  /* Cooperative budget left to the poll in progress (schedrt__coop_proceed). */
  uint32_t budget;
  /* Task-record magazines (task_alloc.c); owner only. */
  struct free_block *mag_alloc, *mag_free;
  uint32_t mag_free_n;
  pthread_t thread;
  /*
   * The task being polled, or NULL. Relaxed stores by the owner; a dump
   * compares it with the tasks it walks and never dereferences it.
   */
  _Atomic(schedrt_task *) current;
  /* Tasks spawned and completed on this worker; owner-written. Metrics
   * compiled out only: compiled in, the worker's spawn-site counters count
   * them (task.c: worker_tasks). */
  _Atomic uint64_t spawned;
  _Atomic uint64_t completed;
  /* Clock read at maintenance and unpark: the cheap "now" for task times.
   * 0: stale, the monitor saw the worker in one poll since its previous
   * tick; read the clock (task.c). Always 0 when the worker's polls are
   * timed (schedrt__m_now_cache). Relaxed: written by the worker and by the
   * monitor (only 0), read by the worker. */
  _Atomic uint64_t now_cache;
  const void *clock_watch; /* monitor only: `current` at its previous tick */
  /* Ticks between injection-queue checks, and where it was last tuned. */
  uint32_t gqi;
  uint32_t gqi_tick;
  uint64_t gqi_ns;
  /* Where the worker sleeps when there is no work (park.h); any thread unparks it. */
  schedrt_parker park SCHEDRT_ALIGNED;
  struct schedrt__wmetrics m;
};

/* ---------------------------------------------------------- owned tasks */

struct schedrt_owned_shard {
  _Atomic uint32_t lock SCHEDRT_ALIGNED;
  schedrt_task *head;
};

/* --------------------------------------------------------------- timers */

struct schedrt_timer_entry {
  uint64_t deadline;
  uint64_t seq;       /* FIFO among equal deadlines */
  schedrt_task *task; /* holds a reference */
};

struct schedrt_timers {
  pthread_mutex_t lock;
  struct schedrt_timer_entry *heap;
  size_t len, cap;
  uint64_t seq;
};

int schedrt__timers_init(struct schedrt_timers *tm);
/* Drops every pending entry's reference. */
void schedrt__timers_destroy(struct schedrt_timers *tm);
int schedrt__timers_add(schedrt_runtime *rt, schedrt_task *t, uint64_t deadline);
/* Fires what is due; returns the next deadline or UINT64_MAX. Lock held by the caller. */
uint64_t schedrt__timers_fire_locked(struct schedrt_timers *tm, uint64_t now);

/* --------------------------------------------------------- blocking pool */

struct schedrt__bpool; /* blocking.c */

/* The pool's values behind the blocking_* metrics, by metric id. */
uint64_t schedrt__blocking_metric(schedrt_runtime *rt, int metric_id);
int schedrt__blocking_init(schedrt_runtime *rt);
/* destroy, after the workers stopped: drops queued jobs, waits for running
 * ones up to the configured deadline, abandons the rest (blocking.c). */
void schedrt__blocking_shutdown(schedrt_runtime *rt);
/* Is the calling thread one of rt's pool threads? */
bool schedrt__blocking_on_pool_thread(schedrt_runtime *rt);
/* Drops the runtime's reference to the pool (after the monitor stopped). */
void schedrt__blocking_fini(schedrt_runtime *rt);

/* --------------------------------------------------------------- dumps */

struct schedrt__dump; /* dump.c's state; NULL when built out */

/* ---------------------------------------------------------------- runtime */

struct schedrt_runtime {
  schedrt_config cfg;
  char name[SCHEDRT_NAME_MAX];
  uint32_t nworkers;
  uint32_t global_queue_interval;
  bool lifo_enabled;
  _Atomic bool shutdown;
  schedrt_worker *workers;
  struct schedrt_inject inject;
  struct schedrt_idle idle;
  uint32_t nshards;
  struct schedrt_owned_shard *shards;
  _Atomic uint64_t next_id;
  uint32_t holds_tag; /* this runtime's in holder tokens (sync_holds.h); 0: none */
  /*
   * Counters bumped by threads that are not workers (workers count in their
   * own struct, so the hot path never shares a cache line), summed by
   * schedrt__spawned_total / schedrt__alive_tasks. Completions are release
   * RMWs: alive_tasks must never see a completion without its spawn.
   */
  _Atomic uint64_t foreign_spawned SCHEDRT_ALIGNED;
  _Atomic uint64_t foreign_completed;
  _Atomic uint64_t remote_schedules;
  uint64_t start_ns;
  /* The monitor thread: timers, heartbeat, control-area polling. */
  pthread_t monitor;
  bool monitor_started;
  _Atomic bool monitor_stop;
  schedrt_parker monitor_park; /* where it sleeps between ticks and timers */
  struct schedrt_timers timers;
  struct schedrt_io_driver io; /* a parked worker waits in it (io.c) */
  struct schedrt__metrics metrics;
  struct schedrt__dump *dump;
  struct schedrt__bpool *bpool;
  /* Where watchdog dumps go (dump_watchdog.c), for the metrics segment; NULL: off. */
  const char *watchdog_dir;
  /* Set while a dump asks workers to meet at the barrier (dump.c). */
  _Atomic uint32_t dump_flag SCHEDRT_ALIGNED;
};

/* Has any fd been registered? Until then nobody waits in epoll. seq_cst: a
 * parking worker's read and the first registration's store form a Dekker
 * pair with the idle set (io.c, schedrt_io_register). */
static inline bool schedrt__io_active(schedrt_runtime *rt) {
  return atomic_load_explicit(&rt->io.active, memory_order_seq_cst);
}

/*
 * The calling thread's worker (NULL outside workers). Initial-exec: read on
 * every wake, yield and budget check, and in the shared library the default
 * model makes each read a __tls_get_addr call; one pointer of static TLS is
 * within what glibc keeps spare even for a dlopen'ed library.
 */
#define SCHEDRT_TLS_MODEL __attribute__((tls_model("initial-exec")))
extern _Thread_local schedrt_worker *schedrt__tls_worker SCHEDRT_TLS_MODEL;

/* Sums over workers and foreign threads; momentarily inexact, never negative. */
uint64_t schedrt__spawned_total(schedrt_runtime *rt);
uint64_t schedrt__alive_tasks(schedrt_runtime *rt);

/* Schedules a notified task (the reference travels with it). */
void schedrt__schedule(schedrt_task *t, bool is_yield);
/* Wakes one parked worker if none is searching. */
void schedrt__notify_parked(schedrt_runtime *rt);
void *schedrt__worker_main(void *arg);
/* Every task sitting in queues and LIFO slots, for shutdown drains. */
void schedrt__worker_drain(schedrt_worker *w);

/* Owned list (task.c). */
void schedrt__owned_insert(schedrt_runtime *rt, schedrt_task *t);
void schedrt__owned_remove(schedrt_runtime *rt, schedrt_task *t);
void schedrt__owned_lock(struct schedrt_owned_shard *s);
void schedrt__owned_unlock(struct schedrt_owned_shard *s);
/* The lock if it comes free within `spins` pauses. */
bool schedrt__owned_trylock(struct schedrt_owned_shard *s, unsigned spins);

/* What schedrt__task_find copies out of an alive task. */
struct schedrt__task_ident {
  uint64_t id;
  int line;
  char name[SCHEDRT_TASK_NAME_MAX];
  char file_tail[64]; /* the spawn file's last bytes, NUL-terminated */
};
/* Copies the alive task at addr, looking in shard first_shard first (modulo
 * the count). 1: found; 0: no alive task there; -1: a shard stayed locked. */
int schedrt__task_find(schedrt_runtime *rt, uint32_t first_shard, const void *addr,
                       struct schedrt__task_ident *out);

/* Dump hooks (dump.c or dump_noop.c). */
int schedrt__dump_init(schedrt_runtime *rt);
void schedrt__dump_fini(schedrt_runtime *rt);
/* A worker at a safe point saw dump_flag set. */
void schedrt__dump_safepoint(schedrt_worker *w);
/* Monitor tick: control-area requests, uncollected dump cleanup. */
void schedrt__dump_monitor_tick(schedrt_runtime *rt, uint64_t now);
/* Once the segment is published, before the monitor starts: the control page is served from then on
 * (not from the monitor's first tick, which a loaded machine may hold back while an inspector that
 * attached at once is told the runtime serves no requests). */
void schedrt__dump_start(schedrt_runtime *rt);

static inline bool schedrt__dump_requested(schedrt_runtime *rt) {
  /* Relaxed: a hint checked at safe points; the barrier itself synchronises. */
  return atomic_load_explicit(&rt->dump_flag, memory_order_relaxed) != 0;
}

#include "metrics_hooks.h"

/*
 * Cooperative budget (Tokio's coop, 128 units a poll): every primitive that
 * could complete without waiting asks first, on its READY path only, before
 * it consumes anything. With the budget spent the poll is made to yield: the
 * task is re-scheduled at the back of the worker's ring (stealable) and the
 * primitive returns PENDING, so a task whose inputs are always ready cannot
 * hold its worker. Threads that are not workers (block_on) have no budget.
 */
#define SCHEDRT_COOP_BUDGET 128u
/* Tokio's will_wake: does the stored waker w wake task t? A primitive that
 * finds another task's waker stored replaces it (the wait moved). */
static inline bool schedrt__will_wake(const schedrt_waker *w, const schedrt_task *t) {
  return (const void *)w == (const void *)t;
}
bool schedrt__coop_exhausted(schedrt_worker *w, schedrt_task *self);
static inline bool schedrt__coop_proceed(schedrt_task *self) {
  schedrt_worker *w = schedrt__tls_worker;
  /* Signed: the exhausted path marks a counted poll with -1 (worker.c). */
  if (!w || (int32_t)w->budget > 0) {
    if (w)
      w->budget--;
    return true;
  }
  return schedrt__coop_exhausted(w, self);
}

#endif /* SCHEDRT_INTERNAL_H */
