/*
 * The runtime's side of the metrics: the structs embedded in the runtime and
 * its workers. The hooks the scheduler calls are in metrics_hooks.h; the
 * segment layout is common/include/schedrt/proto/shm_layout.h.
 * Owner: the metrics module (metrics_segment.c, _registry.c, _monitor.c, _worker.c,
 * _api.c; metrics_noop.c when built out).
 */
#ifndef SCHEDRT_METRICS_H
#define SCHEDRT_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "schedrt/event_copy.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/shm_util.h"

/*
 * Where the worker finds each published metric's value; metrics_def.h's pub
 * column says when it is stored. A TICK or PARK metric is a private counter
 * of the worker, w->m.c.<id>, generated from the list: adding one is its list
 * line plus the increment where it happens. A STATE or QUEUE metric reads the
 * scheduler itself, through SCHEDRT__WSRC_<id> below (the queue counts its
 * own overflows, in its slow path). LIVE and MONITOR metrics have writers of
 * their own (the poll count, the monitor thread).
 */
#define SCHEDRT__WSRC_state(w) ((w)->m.state)
#define SCHEDRT__WSRC_lifo(w) schedrt__m_lifo(w)
#define SCHEDRT__WSRC_local_queue_depth(w) schedrt__lq_len(&(w)->q)
#define SCHEDRT__WSRC_overflows(w) ((w)->q.overflows)

#define SCHEDRT__WCOUNTER_LIVE(id)
#define SCHEDRT__WCOUNTER_STATE(id)
#define SCHEDRT__WCOUNTER_QUEUE(id)
#define SCHEDRT__WCOUNTER_TICK(id) uint64_t id;
#define SCHEDRT__WCOUNTER_PARK(id) uint64_t id;
#define SCHEDRT__WCOUNTER_MONITOR(id)
#define SCHEDRT__WCOUNTER(id, kind, off, type, unit, help, pub) SCHEDRT__WCOUNTER_##pub(id)
/* The worker's private counters, plain integers: the hot path only bumps them. */
struct schedrt__wcounters {
  SCHEDRT_WSLOT_METRICS(SCHEDRT__WCOUNTER)
};
#undef SCHEDRT__WCOUNTER

/* The monitor's sources for the global area (all MONITOR metrics). */
#define SCHEDRT__GSRC_inject_depth(rt) schedrt__inject_len(&(rt)->inject)
#define SCHEDRT__GSRC_alive(rt) schedrt__alive_tasks(rt)
#define SCHEDRT__GSRC_spawned(rt) schedrt__spawned_total(rt)
/* Relaxed: a monotonic counter bumped by foreign threads. */
#define SCHEDRT__GSRC_remote_schedules(rt) atomic_load_explicit(&(rt)->remote_schedules, memory_order_relaxed)
#define SCHEDRT__GSRC_io_registered(rt) atomic_load_explicit(&(rt)->io.registered, memory_order_relaxed)
#define SCHEDRT__GSRC_io_events(rt) atomic_load_explicit(&(rt)->io.events, memory_order_relaxed)
#define SCHEDRT__GSRC_nworkers(rt) ((uint64_t)(rt)->nworkers)
/* The blocking pool keeps its own (blocking.c). */
#define SCHEDRT__GSRC_blocking_threads(rt) schedrt__blocking_metric((rt), SCHEDRT_M_blocking_threads)
#define SCHEDRT__GSRC_blocking_idle_threads(rt)                                                              \
  schedrt__blocking_metric((rt), SCHEDRT_M_blocking_idle_threads)
#define SCHEDRT__GSRC_blocking_queue_depth(rt) schedrt__blocking_metric((rt), SCHEDRT_M_blocking_queue_depth)
#define SCHEDRT__GSRC_blocking_jobs_started(rt)                                                              \
  schedrt__blocking_metric((rt), SCHEDRT_M_blocking_jobs_started)
#define SCHEDRT__GSRC_blocking_jobs_finished(rt)                                                             \
  schedrt__blocking_metric((rt), SCHEDRT_M_blocking_jobs_finished)
#define SCHEDRT__GSRC_blocking_max_threads(rt) ((uint64_t)(rt)->cfg.max_blocking_threads)
/* The monitor's own count, and the monitor publishes it: a plain read. */
#define SCHEDRT__GSRC_stall_reports_suppressed(rt) ((rt)->metrics.reports_suppressed)

/*
 * One event ring as its writer knows it (metrics_events.c, the writer in
 * metrics_hooks.h): where its records are, how many events it wrote (the
 * next one's n) and the clock of its region. Written by one thread at a time
 * (a worker's by the worker; the other threads' ring under ev_lock).
 */
struct schedrt__ev_ring {
  struct schedrt_shm_event *rec; /* ring_cap records; NULL: events off */
  uint64_t n;
  uint32_t mask; /* ring_cap - 1 */
  bool tsc;      /* the region's clock is SCHEDRT_SHM_EV_CLOCK_TSC */
};

/*
 * Per worker, as Tokio's MetricsBatch: counters are private and reach the
 * slot at the publications of metrics_hooks.h; per poll the worker only
 * bumps the slot's live `polls` and its task's site's poll counter.
 * `ticks` is not counted at all: it is
 * brought up to date from the scheduler's own w->tick when published.
 */
struct schedrt__wmetrics {
  /* The hot fields, on the struct's first cache line (the worker's alone):
   * what a poll, a spawn and a run of polls read.
   * Where this worker publishes: a slot of the shm segment, or of a private
   * image when publication is off. Never NULL once metrics_start returned. */
  _Alignas(64) struct schedrt_shm_wslot *slot;
  /* This worker's block of site counters (the sites region), or site_scratch
   * when there is no table (every site is then index 0). Never NULL once
   * metrics_start returned. */
  _Atomic uint64_t *site_ctr;
  /* site_ctr's `polls` word of the first record: a poll's site counter is
   * at this plus the task's site_off, an address without a displacement
   * (one instruction less per poll than site_ctr plus both). */
  _Atomic uint64_t *site_polls;
  bool timing;    /* this worker's copy of the runtime's flag: tested per poll */
  bool events;    /* ev.rec != NULL: the one test of an event site (in the padding after timing) */
  uint32_t state; /* as published (enum schedrt_worker_state) */
  /* state, plus SCHEDRT__M_TIMED when timing is on: schedrt__m_run_slow's
   * one compare answers "running and untimed". Set with schedrt__m_set_state. */
  uint32_t run_key;
  uint64_t seq; /* the slot's sequence as last written (even) */
  /* The spawn site of this worker's last spawn and its record's offset
   * (task->site_off): a spawn loop finds its site with two compares
   * (metrics_sites.c). */
  const char *site_file;
  int site_line;
  uint32_t site_off;
  struct schedrt__wcounters c;
  /* Colder: park, unpark, maintenance. */
  _Atomic uint64_t *hist; /* this worker's histogram block (NULL unless timing is on) */
  uint32_t tick_seen;     /* w->tick when c.ticks was last brought up to date */
  uint64_t polls_at_park; /* Tokio's noop rule: park with no poll since the last park */
  uint64_t active_since;  /* clock at the last unpark (busy span start), 0 when parked */
  uint64_t poll_start;    /* timing only */
  uint32_t poll_site;     /* timing only: the site of the poll in progress (its task's site_off) */
  uint64_t ev_task;       /* events only: the task of the poll in progress, for its POLL_END */
  /* Events on and timing off: the clock cache that w->now_cache would hold
   * (it holds 0, so that wakes reach task.c's slow path); 0 when stale, as
   * now_cache. Relaxed: written by the worker, zeroed by the monitor. */
  _Atomic uint64_t ev_now;
  struct schedrt__ev_ring ev;
  /* Used when no image could be allocated at all: the hooks stay branch-free. */
  struct schedrt_shm_wslot fallback;
  _Atomic uint64_t site_scratch[SCHEDRT_SHM_SITE_CTR_SIZE / 8u];
};
_Static_assert(offsetof(struct schedrt__wmetrics, c) <= 64, "the hot fields share the first cache line");

/*
 * What the monitor thread remembers about one worker between its ticks
 * (monitor-private): the poll it saw last, identified by the poll sequence
 * and the worker's `current` pointer (compared, never dereferenced).
 */
struct schedrt__mwatch {
  uint64_t polls;
  const void *cur;
  uint64_t first_seen; /* monitor clock of the first tick that saw this poll; 0: none */
  bool named;          /* identification done (or given up) for this poll */
  bool shown;          /* the slot's monitor half names a task now */
  /* The long-poll watch's own record (sampled more often than the ticks
   * above): the poll, the first and latest samples that saw it, and whether
   * it was counted in long_polls yet. */
  uint64_t lp_polls;
  const void *lp_cur;
  uint64_t lp_first; /* monitor clock; 0: no poll in sight */
  bool lp_counted;
  /* The stall detector's record of that poll (metrics_stall.c): the
   * monitor's own lateness inside it, the thread's CPU and run-queue time
   * at its first long sample (t0, cpu0, wait0), the kind so far, and its
   * reports. */
  uint64_t lp_late, lp_late_judged, lp_t0, lp_cpu0, lp_wait0, lp_next_report, lp_syscall_at;
  /* The baseline as read (its time and CPU): the kind is judged on what
   * was measured only, not on the span before it, which lp_cpu0 counts as
   * run (the worst case for PROCESS). */
  uint64_t lp_tb, lp_cpub;
  /* Its wait for a core since it last ran, which schedstat books only when
   * the wait ends: when the thread's run state was read last (lp_runnable),
   * last seen not runnable, and when its cpu or wait figures last moved. */
  uint64_t lp_state_at, lp_not_run_at, lp_moved_at, lp_cpu_last, lp_wait_last;
  uint32_t lp_kind, lp_reports;
  bool lp_runnable;
  clockid_t cpu_clock;
  bool cpu_clock_ok; /* cpu_clock is the worker thread's */
};

#define SCHEDRT__M_TIMED 0x100u

static inline void schedrt__m_set_state(struct schedrt__wmetrics *m, uint32_t st) {
  m->state = st;
  /* Events take the timed run loop too (poll events): one compare still. */
  m->run_key = st | (m->timing || m->events ? SCHEDRT__M_TIMED : 0u);
}

/*
 * The spawn-site table (metrics_sites.c). Sites are found by the address of
 * their file string and their line in `keys`, an open-addressing table that
 * spawners probe without a lock (a key is published by a release store of
 * its file pointer, written once); new sites are added under `lock`. `recs`
 * keeps each site's strings, so the same site under another copy of its
 * file string (a header spawning from several objects) is one site.
 */
struct schedrt__site_key {
  _Atomic(const char *) file; /* NULL: empty */
  int line;
  uint32_t idx;
};
struct schedrt__site_rec {
  const char *file, *func;
  int line;
};
struct schedrt__sites {
  struct schedrt_shm_sites *hdr; /* in the segment or image; NULL: no table */
  unsigned char *region;
  struct schedrt__site_key *keys; /* [nkeys], a power of two; NULL: every spawn is the overflow row */
  struct schedrt__site_rec *recs; /* [cap - 1] */
  uint32_t cap;                   /* descriptors, the overflow row (cap - 1) included; 1 without a table */
  uint32_t nkeys, keys_used, count;
  _Atomic uint32_t keys_full; /* no room for keys: unknown sites go to the overflow row unlocked */
  _Atomic uint64_t *foreign;  /* the block of threads that are not workers; NULL without a table */
  pthread_mutex_t lock;
  bool lock_ready;
};

struct schedrt__metrics {
  unsigned char *base; /* the segment (shm) or a private image; NULL when none */
  size_t size;
  int fd;              /* shm only; holds flock(LOCK_SH) as the liveness token */
  bool published;      /* base is a named shm segment */
  bool timing;         /* SCHEDRT_CFG_TIMING / SCHEDRT_TIMING=1 */
  bool timing_counted; /* counted in schedrt__m_timing_runtimes */
  uint32_t owner_pid;  /* getpid() at creation: a forked child never unlinks */
  struct schedrt_shm_geometry geo;
  char name[SCHEDRT_SHM_NAME_MAX + 1];          /* "/schedrt.<uid>.<pid>.<start>.<n>" */
  struct schedrt__metrics *reg_next, *reg_prev; /* exit-time unlink list */
  bool registered;
  struct schedrt__mwatch *watch; /* [nworkers], the monitor's; NULL if no memory */
  uint64_t long_poll_ns;         /* a poll seen running this long is counted; 0: no watch */
  uint64_t long_poll_watch_ns;   /* how often the monitor samples for it */
  struct schedrt__sites sites;
  /* Stall reports on stderr (SCHEDRT_STALL_MS; 0: none) and their per-minute cap. */
  uint64_t stall_report_ns;
  uint64_t report_window; /* monitor clock when the current minute began */
  uint32_t reports_in_window, suppressed_in_window;
  uint64_t reports_suppressed; /* in all: the global metric */
  uint64_t watch_last;         /* the previous long-poll sample (its lateness) */
  uint64_t watch_wait;         /* the monitor's own run-queue time then (0: not read) */
  int own_schedstat; /* the monitor thread's schedstat file, kept open: fd + 1 (0: not yet, -1: none) */
  /* The long-poll watch stopped because every worker was asleep: set by the
   * monitor, cleared by the first worker to wake (which then wakes it). */
  _Atomic bool watch_parked;
  /* The event rings (SCHEDRT_CFG_EVENTS / SCHEDRT_EVENTS=1): events from
   * threads that are not workers go to ev_other under ev_lock. */
  bool events;
  bool ev_lock_ready;
  struct schedrt__ev_ring ev_other;
  pthread_mutex_t ev_lock;
  struct schedrt_shm_events *ev_hdr; /* NULL: events off */
};

/* s into NUL-padded words of n bytes (n <= 64); a longer s keeps its last
 * n - 1 bytes when tail is set (a path's file name is its end), else its
 * first (metrics_monitor.c). */
void schedrt__m_str_words(uint64_t *words, size_t n, const char *s, bool tail);

struct schedrt_runtime;
/* metrics_sites.c. _init: the table over the geometry's region of base (NULL:
 * none), and each worker's counter block; _fini: frees the keys, points the
 * workers at their scratch records. */
void schedrt__sites_init(struct schedrt_runtime *rt, unsigned char *base);
void schedrt__sites_fini(struct schedrt_runtime *rt);
/* How many descriptors the runtime's table gets: SCHEDRT_SPAWN_SITES or the default. */
uint32_t schedrt__sites_wanted(void);

/*
 * metrics_stall.c, called by the long-poll watch (metrics_monitor.c) on the
 * monitor thread. _gap: at each sample, before the workers: how late the
 * monitor itself ran. _begin: worker i shows a poll not seen before;
 * _sample: the same poll again, seen running `seen` ns (a long one once
 * that reaches long_poll_ns); _end: a poll counted long ended (or the
 * worker stopped polling).
 */
void schedrt__stall_gap(struct schedrt_runtime *rt, uint64_t now);
void schedrt__stall_begin(struct schedrt_runtime *rt, uint32_t i);
/* After the monitor stopped: closes what the stall detector kept open. */
void schedrt__stall_fini(struct schedrt_runtime *rt);
void schedrt__stall_sample(struct schedrt_runtime *rt, uint32_t i, const void *cur, uint64_t now,
                           uint64_t seen);
void schedrt__stall_end(struct schedrt_runtime *rt, uint32_t i, uint64_t now);
/* SCHEDRT_STALL_MS in ns, or 0. */
uint64_t schedrt__stall_report_ns(void);

/* metrics_events.c. _wanted: records per ring (0: events off) from the
 * config and SCHEDRT_EVENTS / SCHEDRT_EVENTS_SIZE; _init: the rings of the
 * geometry's region (after format, before READY); _calibrate: the monitor's
 * renewal of the TSC calibration; _fini: events off (before unmapping). */
uint32_t schedrt__events_wanted(const struct schedrt_runtime *rt);
void schedrt__events_init(struct schedrt_runtime *rt);
void schedrt__events_calibrate(struct schedrt_runtime *rt);
void schedrt__events_fini(struct schedrt_runtime *rt);

/*
 * A copy of the event rings taken by the runtime itself, for a watchdog dump
 * (metrics_events.c, by the reader's own code: schedrt/event_copy.h): per
 * ring, the events of its window whose time is within window_ns of the copy,
 * the newest `max` of them. Rings 0 .. nworkers - 1 are the workers', the last
 * one the other threads'.
 */
struct schedrt__ev_snap_ring {
  schedrt_event_window win; /* the ring's whole window (written, lost, torn) */
  uint32_t n;               /* events kept in ev[] */
  uint32_t cut;             /* events of the window within window_ns left out by max (the oldest) */
  schedrt_event *ev;        /* [n], oldest first; times CLOCK_MONOTONIC ns (0: not convertible) */
};
struct schedrt__ev_snap {
  uint32_t nrings; /* 0: nothing copied */
  uint32_t ring_cap, max;
  uint64_t window_ns, copied_ns;
  struct schedrt__ev_snap_ring *rings;
};
/* 0, -ENOENT (events off, or built out) or -ENOMEM (s then holds nothing). */
int schedrt__events_snap(struct schedrt_runtime *rt, uint64_t window_ns, uint32_t max,
                         struct schedrt__ev_snap *s);
void schedrt__events_snap_free(struct schedrt__ev_snap *s);

/* metrics_registry.c: the segments unlinked at exit (published ones only). */
void schedrt__mreg_add(struct schedrt__metrics *m);
void schedrt__mreg_remove(struct schedrt__metrics *m);

struct schedrt_runtime;
/*
 * After workers are allocated, before they start. Always leaves every
 * worker's hooks pointing at valid memory, so the scheduler never checks.
 * 0: a segment is published. -ENOTSUP: built out. Another negative code: no
 * segment (reason worth a warning); the in-process API still works from a
 * private image. 0 as well when SCHEDRT_METRICS=0 or SCHEDRT_CFG_NO_METRICS
 * turned publication off on purpose.
 */
int schedrt__metrics_start(struct schedrt_runtime *rt);
/* After workers and the monitor stopped: mark EXITING, unlink, unmap. Idempotent. */
void schedrt__metrics_stop(struct schedrt_runtime *rt);
/* Monitor thread, every period: heartbeat, global gauges, stuck-poll observation. */
void schedrt__metrics_monitor_tick(struct schedrt_runtime *rt, uint64_t now);
/*
 * Monitor thread, every schedrt__metrics_watch_period ns (0: never): samples
 * each worker's poll sequence and counts the polls it saw running for
 * cfg.long_poll_ms in the worker metric long_polls. The workers pay nothing
 * for it beyond the live poll count they store anyway. False when every
 * worker is parked: the watch stops (an idle runtime's monitor wakes at its
 * ticks only, not 500 times a second) until schedrt__metrics_watch_parked
 * says a worker woke, which also unparks the monitor.
 */
bool schedrt__metrics_long_poll_watch(struct schedrt_runtime *rt, uint64_t now);
bool schedrt__metrics_watch_parked(struct schedrt_runtime *rt);
uint64_t schedrt__metrics_watch_period(const struct schedrt_runtime *rt);
/*
 * First thing on the monitor thread: opens what the watch reads at every
 * sample (the thread's own schedstat), once and at a high descriptor, so
 * that the runtime takes no low fd number at some later moment (an
 * application that closed one expects its next open to get it back).
 */
void schedrt__metrics_monitor_start(struct schedrt_runtime *rt);

/*
 * The published segment's control page (dump requests) and its size,
 * or NULL when no segment is published (private image, publication off,
 * built out). Valid from metrics_start to metrics_stop.
 */
void *schedrt__metrics_control(struct schedrt_runtime *rt, size_t *size);
/*
 * The poll worker `worker` is in, as the metrics know it: 0 with the task id
 * and since when, on CLOCK_MONOTONIC: with timing on, every poll's exact
 * start (*exact true); otherwise the poll must have run for at least one
 * monitor period, for the monitor to have named it, and *since_ns is the
 * first monitor tick that saw it (*exact false, one period of resolution).
 * -ENOENT: not polling, or a poll the monitor has not named (yet), or the
 * slot stayed busy; -EINVAL: bad worker; -ENOTSUP: built out. Takes no lock.
 */
int schedrt__metrics_poll_info(struct schedrt_runtime *rt, uint32_t worker, uint64_t *task_id,
                               uint64_t *since_ns, bool *exact);
/* The watchdog wrote its count-th dump: published for sched-inspect. */
void schedrt__metrics_saved_dumps(struct schedrt_runtime *rt, uint32_t count);
/* Worker `worker`'s kernel thread id as its slot holds it (0: not yet, or built out). */
uint64_t schedrt__metrics_tid(struct schedrt_runtime *rt, uint32_t worker);
/*
 * Copies histogram `hist` (0 .. SCHEDRT_M__HIST_COUNT-1) of a worker:
 * SCHEDRT_HIST_BUCKETS counters. 0; -ENOENT without per-poll timing (there
 * are none); -ENOTSUP when built out.
 */
int schedrt__metrics_hist(struct schedrt_runtime *rt, uint32_t worker, uint32_t hist, uint64_t *buckets);

#endif
