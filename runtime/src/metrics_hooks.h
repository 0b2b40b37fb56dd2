/*
 * Hooks the scheduler calls at its transitions. Included at the end of
 * internal.h, where schedrt_worker is complete.
 *
 * Cost budget (the bench target is <= 1 % on 30-100 ns tasks; the figures
 * are in docs/performance.md): per poll one relaxed store of the live poll
 * count into the worker's own slot (load, add, store) and one of the task's
 * spawn site's poll count in the worker's own block; per run of polls one
 * compare of the state, which also answers the scheduler's "still
 * searching?"; per local schedule one increment; per spawn and per task end
 * one counter of its site (a spawn finds its site by two compares when it is
 * the worker's previous one), which are also the scheduler's own counts of
 * the worker's tasks (SCHEDRT__M_COUNTS_TASKS). The spawns and wakes of a
 * runtime's own workers test no timing flag (schedrt__m_now_cache). No
 * seqlock section, no clock read per poll. A run loop compiled twice
 * (schedrt__m_run_begin, schedrt__m_poll, schedrt__m_poll_done: timed and
 * untimed copies) tests the timing flag once per run, not per poll; the
 * event ring's poll events ride the timed copy (schedrt__m_run_begin), and
 * every other event site costs at most one test of a flag on the worker's
 * first cache line while events are off (schedrt__ev; a wake of an idle
 * task none: task.c, wake_now). The task
 * in a long poll is found by the monitor thread instead (metrics_monitor.c).
 *
 * What is stored at each publication is generated from the metric list's
 * pub column (schedrt__m_publish): STATE metrics at state changes, QUEUE
 * gauges at every publication, TICK counters at maintenance (every 61
 * ticks), PARK values at park and unpark.
 * Everything that needs a clock is out of line (metrics_worker.c). With
 * per-poll timing on (SCHEDRT_CFG_TIMING / SCHEDRT_TIMING=1) each poll also
 * reads the clock twice, publishes the task and its start and bumps two
 * histogram buckets.
 *
 * When metrics are compiled out every hook is empty, or gives the
 * scheduler's own answer (schedrt__m_run_slow, schedrt__m_now_cache).
 */
#ifndef SCHEDRT_METRICS_HOOKS_H
#define SCHEDRT_METRICS_HOOKS_H

#if SCHEDRT_ENABLE_METRICS

#include <assert.h>

#include "schedrt/proto/event_ring.h"
#include "schedrt/proto/seqlock.h"

/* Out of line (metrics_worker.c): the slow paths. */
void schedrt__m_publish_tick(schedrt_worker *w);
void schedrt__m_park_slow(schedrt_worker *w);
void schedrt__m_unpark_slow(schedrt_worker *w);
void schedrt__m_noop_unpark_slow(schedrt_worker *w);
void schedrt__m_worker_start_slow(schedrt_worker *w);
void schedrt__m_poll_begin_timed(schedrt_worker *w, const schedrt_task *t);
void schedrt__m_timing_end(schedrt_worker *w);
/* After the worker published itself awake: restarts the monitor's long-poll
 * watch if it stopped for an all-parked runtime (metrics_monitor.c). */
void schedrt__m_watch_wake(schedrt_worker *w);

/*
 * Runtimes of this process with per-poll timing on. The wakes and spawns of
 * threads that are not the task's workers test this process-wide,
 * read-mostly word (one RIP-relative load: hidden, so no GOT indirection
 * even in the PIC objects) instead of loading t->rt->metrics.timing through
 * the task; only when it is non-zero does the slow path look at the task's
 * runtime. Incremented before a timing runtime's workers start, decremented
 * after they stopped.
 */
extern _Atomic uint32_t schedrt__m_timing_runtimes __attribute__((visibility("hidden")));

static inline uint32_t schedrt__m_lifo(schedrt_worker *w) {
  /* Relaxed: only the owner changes its LIFO slot while it runs. */
  return atomic_load_explicit(&w->lifo, memory_order_relaxed) != NULL;
}

/*
 * Opens a write section on the worker's own slot s; returns the odd
 * sequence. The private copy of the sequence is advanced first, so the
 * compiler need not reload it after the stores into the slot.
 */
static inline uint64_t schedrt__m_begin(struct schedrt__wmetrics *m, struct schedrt_shm_wslot *s) {
  uint64_t odd = m->seq + 1u;
  m->seq = odd + 1u;
  /* Relaxed store of the odd value (single writer: no RMW); the release
   * fence keeps it before the data stores of the section. */
  atomic_store_explicit(&s->seq, odd, memory_order_relaxed);
  schedrt_seq_fence_release();
  return odd;
}

static inline void schedrt__m_end(struct schedrt_shm_wslot *s, uint64_t odd) {
  /* Release: publishes the section's data together with the even value. */
  atomic_store_explicit(&s->seq, odd + 1u, memory_order_release);
}

/* The classes the worker itself stores under its seqlock. */
#define SCHEDRT__M_WORKER_CLASSES                                                                            \
  (SCHEDRT_PUB_STATE | SCHEDRT_PUB_QUEUE | SCHEDRT_PUB_TICK | SCHEDRT_PUB_PARK)

/*
 * The stores of a publication, generated from the metric list: every
 * worker-half metric whose pub class is in `mask` (a constant at every call,
 * so the tests fold away), its value from metrics.h's sources. Inside an
 * open section only.
 */
#define SCHEDRT__WVAL_LIVE(w, id) 0u
#define SCHEDRT__WVAL_MONITOR(w, id) 0u
#define SCHEDRT__WVAL_STATE(w, id) SCHEDRT__WSRC_##id(w)
#define SCHEDRT__WVAL_QUEUE(w, id) SCHEDRT__WSRC_##id(w)
#define SCHEDRT__WVAL_TICK(w, id) ((w)->m.c.id)
#define SCHEDRT__WVAL_PARK(w, id) ((w)->m.c.id)
#define SCHEDRT__M_STORE_ONE(id, kind, off, type, unit, help, pub)                                           \
  if (SCHEDRT_PUB_##pub & schedrt__m_mask_ & SCHEDRT__M_WORKER_CLASSES)                                      \
    SCHEDRT_SEQ_STORE(SCHEDRT_SHM_WSLOT_AT(schedrt__m_slot_, off, type),                                     \
                      (type)SCHEDRT__WVAL_##pub(schedrt__m_w_, id));
#define SCHEDRT__M_STORES(w, s, mask)                                                                        \
  do {                                                                                                       \
    schedrt_worker *schedrt__m_w_ = (w);                                                                     \
    struct schedrt_shm_wslot *schedrt__m_slot_ = (s);                                                        \
    const unsigned schedrt__m_mask_ = (mask);                                                                \
    SCHEDRT_WSLOT_METRICS(SCHEDRT__M_STORE_ONE)                                                              \
  } while (0)

/*
 * One publication of the worker half under the seqlock: the metrics of the
 * classes in mask, and the fields that go with them: a state change ends any
 * poll in progress (timing's poll fields), and the busy span's start changes
 * only at park and unpark.
 */
static inline __attribute__((always_inline)) void schedrt__m_publish(schedrt_worker *w, const unsigned mask) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  if (mask & SCHEDRT_PUB_TICK) {
    /* w->tick is the scheduler's own (wrapping) loop counter, which is what
     * `ticks` counts; publications are at most 61 ticks apart. */
    m->c.ticks += (uint32_t)(w->tick - m->tick_seen);
    m->tick_seen = w->tick;
  }
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT__M_STORES(w, s, mask);
  if (mask & SCHEDRT_PUB_STATE) {
    SCHEDRT_SEQ_STORE(&s->poll_task, (uint64_t)0);
    SCHEDRT_SEQ_STORE(&s->poll_start_ns, (uint64_t)0);
  }
  if (mask & SCHEDRT_PUB_PARK)
    SCHEDRT_SEQ_STORE(&s->active_since_ns, m->active_since);
  schedrt__m_end(s, odd);
}

/* The publication masks: a state change, maintenance, park/unpark/start/stop. */
#define SCHEDRT__M_AT_STATE (SCHEDRT_PUB_STATE | SCHEDRT_PUB_QUEUE)
#define SCHEDRT__M_AT_TICK (SCHEDRT_PUB_QUEUE | SCHEDRT_PUB_TICK)
#define SCHEDRT__M_AT_PARK SCHEDRT__M_WORKER_CLASSES

/* State changes (running / searching / parked / stopped). Publishes only on
 * a real change, so the RUNNING call before every run costs a compare. */
static inline void schedrt__m_state(schedrt_worker *w, enum schedrt_worker_state st) {
  struct schedrt__wmetrics *m = &w->m;
  if (m->state == (uint32_t)st)
    return;
  schedrt__m_set_state(m, (uint32_t)st);
  schedrt__m_publish(w, SCHEDRT__M_AT_STATE);
}

/*
 * Before a run of polls (worker.c's run_task): does the run need its slow
 * start, leaving the search, setting the state RUNNING or timing its polls?
 * One compare when the worker is running untimed (the usual case), and the
 * scheduler's own test of w->searching is folded into it: a searching
 * worker's state is never RUNNING (it is set SEARCHING together with
 * w->searching, or at unpark, before the worker runs anything).
 */
static inline bool schedrt__m_run_slow(const schedrt_worker *w) {
  assert(!w->searching || w->m.run_key != (uint32_t)SCHEDRT_WSTATE_RUNNING);
  return w->m.run_key != (uint32_t)SCHEDRT_WSTATE_RUNNING;
}

/*
 * For a run loop compiled twice (timed and untimed, worker.c's run_polls):
 * in the slow start of a run, sets the state RUNNING and says whether polls
 * are timed. With a constant `timed`, the two hooks below cost no test of
 * the timing flag per poll.
 */
static inline bool schedrt__m_run_begin(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  if (SCHEDRT_LIKELY(m->run_key == (uint32_t)SCHEDRT_WSTATE_RUNNING))
    return false;
  schedrt__m_state(w, SCHEDRT_WSTATE_RUNNING);
  /* The slow copy of the loop serves events too: with both off, a poll
   * tests neither. */
  return m->timing || m->events;
}

/*
 * Spawn sites (metrics_sites.c). A site is known to the hot paths by the byte
 * offset of its record in a block of site counters (its index times
 * SCHEDRT_SHM_SITE_CTR_SIZE, kept in task->site_off): a counter is then one
 * add to the block's base, no scaling. The worker's one-entry cache answers a
 * spawn loop's site with two compares; tasks spawned from a thread that is
 * not a worker look it up each time (no lock when the site is known).
 */
uint32_t schedrt__m_site_slow(schedrt_runtime *rt, schedrt_worker *w, const char *file, int line,
                              const char *func, const char *name);
static inline uint32_t schedrt__m_site(schedrt_runtime *rt, schedrt_worker *w, const char *file, int line,
                                       const char *func, const char *name) {
  if (SCHEDRT_LIKELY(w && w->m.site_file == file && w->m.site_line == line))
    return w->m.site_off;
  return schedrt__m_site_slow(rt, w, file, line, func, name);
}

/* Counter `word` (SCHEDRT__SITE_WORD) of the site at byte offset site_off in a block of site records. */
#define SCHEDRT__SITE_WORD(id) (offsetof(struct schedrt_shm_site_ctr, id) / 8u)
static inline _Atomic uint64_t *schedrt__m_site_at(_Atomic uint64_t *block, uint32_t site_off, size_t word) {
  return (_Atomic uint64_t *)(void *)((unsigned char *)block + site_off) + word;
}
/* A worker's own counter: single writer, so load, add, store (no RMW). */
static inline void schedrt__m_site_add(_Atomic uint64_t *c, uint64_t n, memory_order mo) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, mo);
}

/* A task was spawned at the site by w (NULL: a thread that is not one of rt's workers). */
static inline void schedrt__m_site_spawned(schedrt_runtime *rt, schedrt_worker *w, uint32_t site_off) {
  /* Relaxed: the task's queue push, which comes after, orders this count
   * before the task's end (see `ended`). */
  if (w)
    schedrt__m_site_add(schedrt__m_site_at(w->m.site_ctr, site_off, SCHEDRT__SITE_WORD(spawned)), 1,
                        memory_order_relaxed);
  else if (rt->metrics.sites.foreign)
    atomic_fetch_add_explicit(
        schedrt__m_site_at(rt->metrics.sites.foreign, site_off, SCHEDRT__SITE_WORD(spawned)), 1,
        memory_order_relaxed);
}

/* A task of the site completed or was cancelled, on w (NULL: not one of rt's workers). */
static inline void schedrt__m_site_ended(schedrt_runtime *rt, schedrt_worker *w, uint32_t site_off) {
  /* Release: a reader that sees the end (acquire) sees the spawn's count,
   * so a site's alive count never goes below zero (shm_layout.h). */
  if (w)
    schedrt__m_site_add(schedrt__m_site_at(w->m.site_ctr, site_off, SCHEDRT__SITE_WORD(ended)), 1,
                        memory_order_release);
  else if (rt->metrics.sites.foreign)
    atomic_fetch_add_explicit(
        schedrt__m_site_at(rt->metrics.sites.foreign, site_off, SCHEDRT__SITE_WORD(ended)), 1,
        memory_order_release);
}

/*
 * The site counters count every task a worker spawns and ends: a spawn and
 * an end are one counter of the task's site each (the overflow row's when
 * the table is full, the one record of the worker's scratch block when there
 * is no table). So with metrics compiled in the scheduler keeps no counts of
 * its own (task.c): a worker's totals are sums over its block, taken by the
 * monitor and by dumps, never on the hot path.
 */
#define SCHEDRT__M_COUNTS_TASKS 1
/* Worker w's tasks spawned (ended false) or ended (true) so far
 * (metrics_sites.c); ends are loaded with acquire, as schedrt__m_site_ended
 * stores them with release. */
uint64_t schedrt__m_worker_tasks(schedrt_runtime *rt, const schedrt_worker *w, bool ended);

/*
 * The event rings (shm_layout.h, layout 2.6), one record per event by the
 * protocol's writer (proto/event_ring.h). Single writer per ring, so n is a
 * private count and nothing is read back from the segment.
 * The clock is the TSC where CLOCK_MONOTONIC is itself the TSC (half the
 * cost of a vDSO clock_gettime); readers convert it by the region's
 * calibration pairs.
 */
static inline uint64_t schedrt__ev_now(const struct schedrt__ev_ring *r) {
#if defined(__x86_64__)
  if (SCHEDRT_LIKELY(r->tsc))
    return __builtin_ia32_rdtsc();
#endif
  (void)r;
  return schedrt__now_ns();
}
static inline void schedrt__ev_put(struct schedrt__ev_ring *r, uint32_t kind, uint64_t a, uint64_t b) {
  uint64_t n = r->n++;
  schedrt_ev_record_write(&r->rec[n & r->mask], n, kind, schedrt__ev_now(r), a, b);
}
/*
 * An event of a worker's own: with events off, this one predictable test.
 * The write is out of line (metrics_events.c): inlined, its registers cost
 * the hot paths that hold the test even with events off (docs/performance.md,
 * "Event ring").
 */
void schedrt__ev_put_slow(struct schedrt__ev_ring *r, uint32_t kind, uint64_t a, uint64_t b);
void schedrt__ev_wake_slow(schedrt_worker *w, const schedrt_task *t);
static inline void schedrt__ev(schedrt_worker *w, uint32_t kind, uint64_t a, uint64_t b) {
  if (SCHEDRT_UNLIKELY(w->m.events))
    schedrt__ev_put_slow(&w->m.ev, kind, a, b);
}
/* An event of a thread that is not one of rt's workers (metrics_events.c:
 * the other threads' ring, under its lock); nothing when events are off. */
void schedrt__ev_other_slow(schedrt_runtime *rt, uint32_t kind, uint64_t a, uint64_t b);
static inline void schedrt__ev_other(schedrt_runtime *rt, uint32_t kind, uint64_t a, uint64_t b) {
  if (SCHEDRT_UNLIKELY(rt->metrics.events))
    schedrt__ev_other_slow(rt, kind, a, b);
}
/* Worker w (the calling thread) woke t: the waker is the task w polls (0
 * between polls), looked up only when events are on. */
static inline void schedrt__ev_wake(schedrt_worker *w, const schedrt_task *t) {
  if (SCHEDRT_UNLIKELY(w->m.events))
    schedrt__ev_wake_slow(w, t);
}

/*
 * A poll of t starts: bump the live poll count (also the poll sequence the
 * monitor watches for stuck polls). One relaxed load and store of the
 * worker's own slot field (single writer: no RMW, no seqlock: it is a value
 * of its own). The task is not published here: the monitor names it from
 * w->current if the poll lasts a whole period. With timing on, the rest is
 * out of line.
 */
static inline void schedrt__m_poll(schedrt_worker *w, const schedrt_task *t, bool timed) {
  _Atomic uint64_t *polls = &w->m.slot->polls;
  atomic_store_explicit(polls, atomic_load_explicit(polls, memory_order_relaxed) + 1u, memory_order_relaxed);
  /* Relaxed: a value of its own, like `polls`. */
  schedrt__m_site_add(schedrt__m_site_at(w->m.site_polls, t->site_off, 0), 1, memory_order_relaxed);
  if (timed)
    schedrt__m_poll_begin_timed(w, t);
}

static inline void schedrt__m_poll_done(schedrt_worker *w, bool timed) {
  if (timed)
    schedrt__m_timing_end(w);
}

static inline void schedrt__m_local_schedule(schedrt_worker *w) { w->m.c.local_schedules++; }
static inline void schedrt__m_budget_forced_yield(schedrt_worker *w) { w->m.c.budget_forced_yields++; }
static inline void schedrt__m_io_dispatched(schedrt_worker *w, uint32_t n) { w->m.c.io_dispatched += n; }
static inline void schedrt__m_io_registration(schedrt_worker *w) { w->m.c.io_registrations++; }
/* n: tasks taken by one steal from worker victim, including the one returned to run. */
static inline void schedrt__m_steal(schedrt_worker *w, uint32_t n, uint32_t victim) {
  w->m.c.steals += n;
  w->m.c.steal_ops++;
  schedrt__ev(w, SCHEDRT_EV_STEAL, n, victim);
}
/* Right before the worker sleeps (after schedrt__m_state(PARKED)). */
static inline void schedrt__m_park(schedrt_worker *w) { schedrt__m_park_slow(w); }
/* After the worker left its park loop. */
static inline void schedrt__m_unpark(schedrt_worker *w) { schedrt__m_unpark_slow(w); }
/* A wake that found the worker still on the sleeper list: counted as an
 * unpark followed by a park with no poll (Tokio's noop). */
static inline void schedrt__m_noop_unpark(schedrt_worker *w) { schedrt__m_noop_unpark_slow(w); }
/* Every SCHEDRT_MAINTENANCE_INTERVAL ticks, before parking and at stop:
 * publishes the private counters (the rest is published at its events). */
static inline void schedrt__m_maintenance(schedrt_worker *w) { schedrt__m_publish_tick(w); }
/* First thing on the worker's own thread: publishes its tid, starts busy time. */
static inline void schedrt__m_worker_start(schedrt_worker *w) { schedrt__m_worker_start_slow(w); }
/*
 * What a worker keeps as its clock cache (w->now_cache, task.c's cheap_now)
 * after reading the clock: nothing (0, "read the clock") when its polls are
 * timed or its events are on. Every task time a worker of a timing runtime
 * stamps (spawn, wake, end of a poll) is then exact, which the
 * schedule-latency histogram needs, and the spawns and wakes of the
 * runtime's own workers test no timing flag. With events on, a wake reaches
 * the cache's slow path, which records its event: the wake tests no events
 * flag of its own (task.c, wake_now).
 */
static inline uint64_t schedrt__m_now_cache(schedrt_worker *w, uint64_t now) {
  if (w->m.timing)
    return 0;
  if (!w->m.events)
    return now;
  /* Relaxed: see ev_now. */
  atomic_store_explicit(&w->m.ev_now, now, memory_order_relaxed);
  return 0;
}
/*
 * A worker that keeps no cache for its events only: the cache it would keep
 * (0: read the clock). A clock read per stamp would double an event's cost,
 * and untimed task times need no more than the cache.
 */
static inline uint64_t schedrt__m_now_shadow(schedrt_worker *w) {
  return w->m.events && !w->m.timing ? atomic_load_explicit(&w->m.ev_now, memory_order_relaxed) : 0u;
}
/* The monitor found w's cache stale (runtime.c): so is its shadow. */
static inline void schedrt__m_now_stale(schedrt_worker *w) {
  atomic_store_explicit(&w->m.ev_now, 0, memory_order_relaxed);
}
/*
 * A task was woken or spawned by a thread that is not one of its runtime's
 * workers, whose clock is the coarse one (or another runtime's cache). With
 * timing on, the exact wake time for the schedule-latency histogram.
 */
static inline void schedrt__m_task_woken_foreign(schedrt_task *t) {
  /* Relaxed: set before any task of a timing runtime exists (see above).
   * Then: does this task's runtime time its polls? */
  if (SCHEDRT_UNLIKELY(atomic_load_explicit(&schedrt__m_timing_runtimes, memory_order_relaxed)) &&
      t->rt->metrics.timing)
    atomic_store_explicit(&t->since_ns, schedrt__now_ns(), memory_order_relaxed);
}

#else /* metrics compiled out */

/* The scheduler counts each worker's spawned and completed tasks itself (task.c). */
#define SCHEDRT__M_COUNTS_TASKS 0

static inline bool schedrt__m_run_slow(const schedrt_worker *w) { return w->searching; }
static inline bool schedrt__m_run_begin(schedrt_worker *w) {
  (void)w;
  return false;
}
static inline void schedrt__m_poll(schedrt_worker *w, const schedrt_task *t, bool timed) {
  (void)w;
  (void)t;
  (void)timed;
}
static inline void schedrt__m_poll_done(schedrt_worker *w, bool timed) {
  (void)w;
  (void)timed;
}
static inline void schedrt__m_state(schedrt_worker *w, enum schedrt_worker_state s) {
  (void)w;
  (void)s;
}
static inline uint32_t schedrt__m_site(schedrt_runtime *rt, schedrt_worker *w, const char *file, int line,
                                       const char *func, const char *name) {
  (void)rt;
  (void)w;
  (void)file;
  (void)line;
  (void)func;
  (void)name;
  return 0;
}
static inline void schedrt__m_site_spawned(schedrt_runtime *rt, schedrt_worker *w, uint32_t site_off) {
  (void)rt;
  (void)w;
  (void)site_off;
}
static inline void schedrt__m_site_ended(schedrt_runtime *rt, schedrt_worker *w, uint32_t site_off) {
  (void)rt;
  (void)w;
  (void)site_off;
}
static inline void schedrt__m_local_schedule(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_budget_forced_yield(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_io_dispatched(schedrt_worker *w, uint32_t n) {
  (void)w;
  (void)n;
}
static inline void schedrt__m_io_registration(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_steal(schedrt_worker *w, uint32_t n, uint32_t victim) {
  (void)w;
  (void)n;
  (void)victim;
}
static inline void schedrt__ev(schedrt_worker *w, uint32_t kind, uint64_t a, uint64_t b) {
  (void)w;
  (void)kind;
  (void)a;
  (void)b;
}
static inline void schedrt__ev_other(schedrt_runtime *rt, uint32_t kind, uint64_t a, uint64_t b) {
  (void)rt;
  (void)kind;
  (void)a;
  (void)b;
}
static inline void schedrt__ev_wake(schedrt_worker *w, const schedrt_task *t) {
  (void)w;
  (void)t;
}
static inline void schedrt__m_park(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_unpark(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_noop_unpark(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_maintenance(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_worker_start(schedrt_worker *w) { (void)w; }
static inline uint64_t schedrt__m_now_cache(schedrt_worker *w, uint64_t now) {
  (void)w;
  return now;
}
static inline uint64_t schedrt__m_now_shadow(schedrt_worker *w) {
  (void)w;
  return 0;
}
static inline void schedrt__m_now_stale(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_task_woken_foreign(schedrt_task *t) { (void)t; }

#endif
#endif
