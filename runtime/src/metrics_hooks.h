/*
 * Hooks the scheduler calls at its transitions. Included at the end of
 * internal.h, where schedrt_worker is complete.
 *
 * Cost budget (the bench target is <= 1 % on 50-100 ns tasks): the per-poll
 * hook is one seqlock section of two stores (plus the two of the sequence)
 * to the worker's own slot, no clock read; counters are private increments published at maintenance
 * (every 61 ticks) and at park/unpark. Everything that needs a clock or
 * touches many fields is out of line (metrics_shm.c) and off the hot path.
 * With per-poll timing on (SCHEDRT_CFG_TIMING / SCHEDRT_TIMING=1) each poll
 * also reads the clock twice and bumps two histogram buckets.
 *
 * When metrics are compiled out every hook is empty.
 */
#ifndef SCHEDRT_METRICS_HOOKS_H
#define SCHEDRT_METRICS_HOOKS_H

#if SCHEDRT_ENABLE_METRICS

#include "schedrt/proto/seqlock.h"

/* Out of line (metrics_shm.c): the slow paths. */
void schedrt__m_publish_all(schedrt_worker *w);
void schedrt__m_park_slow(schedrt_worker *w);
void schedrt__m_unpark_slow(schedrt_worker *w);
void schedrt__m_noop_unpark_slow(schedrt_worker *w);
void schedrt__m_worker_start_slow(schedrt_worker *w);
void schedrt__m_poll_begin_timed(schedrt_worker *w, const schedrt_task *t);
void schedrt__m_timing_end(schedrt_worker *w);

/* Tasks in the worker's ring, LIFO slot excluded (Tokio's definition). */
static inline uint64_t schedrt__m_depth(schedrt_worker *w) {
  /* Relaxed: a gauge. The owner wrote tail itself; head (real position in
   * the low 32 bits) moves under thieves and any recent value will do. */
  uint64_t head = atomic_load_explicit(&w->q.head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit(&w->q.tail, memory_order_relaxed);
  return (uint32_t)(tail - (uint32_t)head);
}

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

/*
 * A poll of t starts: publish the task and the poll sequence together (one
 * section, no clock). Depth and LIFO are refreshed at state changes and
 * maintenance, not here: they would cost three more loads and two stores
 * per poll. With timing on, everything is out of line.
 */
static inline void schedrt__m_poll_begin(schedrt_worker *w, const schedrt_task *t) {
  struct schedrt__wmetrics *m = &w->m;
  if (SCHEDRT_UNLIKELY(m->timing)) {
    schedrt__m_poll_begin_timed(w, t);
    return;
  }
  struct schedrt_shm_wslot *s = m->slot;
  uint64_t polls = ++m->polls;
  uint64_t id = t->id;
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->current_task, id);
  SCHEDRT_SEQ_STORE(&s->polls, polls);
  schedrt__m_end(s, odd);
}

static inline void schedrt__m_poll_end(schedrt_worker *w) {
  if (SCHEDRT_UNLIKELY(w->m.timing))
    schedrt__m_timing_end(w);
}

/* State changes (running / searching / parked / stopped). Publishes only on
 * a real change, so the RUNNING call before every run costs a compare. */
static inline void schedrt__m_state(schedrt_worker *w, enum schedrt__wstate st) {
  struct schedrt__wmetrics *m = &w->m;
  if (m->state == (uint32_t)st)
    return;
  m->state = (uint32_t)st;
  struct schedrt_shm_wslot *s = m->slot;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->state, (uint32_t)st);
  SCHEDRT_SEQ_STORE(&s->current_task, (uint64_t)0); /* no poll in progress at a transition */
  SCHEDRT_SEQ_STORE(&s->poll_start_ns, (uint64_t)0);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, depth);
  SCHEDRT_SEQ_STORE(&s->lifo, lifo);
  schedrt__m_end(s, odd);
}

static inline void schedrt__m_tick(schedrt_worker *w) { w->m.ticks++; }
static inline void schedrt__m_local_schedule(schedrt_worker *w) { w->m.local_schedules++; }
static inline void schedrt__m_overflow(schedrt_worker *w) { w->m.overflows++; }
/* n: tasks taken by one steal, including the one returned to run. */
static inline void schedrt__m_steal(schedrt_worker *w, uint32_t n) {
  w->m.steals += n;
  w->m.steal_ops++;
}
/* Right before the worker sleeps (after schedrt__m_state(PARKED)). */
static inline void schedrt__m_park(schedrt_worker *w) { schedrt__m_park_slow(w); }
/* After the worker left its park loop. */
static inline void schedrt__m_unpark(schedrt_worker *w) { schedrt__m_unpark_slow(w); }
/* A wake that found the worker still on the sleeper list: counted as an
 * unpark followed by a park with no poll (Tokio's noop). */
static inline void schedrt__m_noop_unpark(schedrt_worker *w) { schedrt__m_noop_unpark_slow(w); }
/* Every SCHEDRT_MAINTENANCE_INTERVAL ticks, before parking and at stop:
 * publishes the private counters. */
static inline void schedrt__m_maintenance(schedrt_worker *w) { schedrt__m_publish_all(w); }
/* First thing on the worker's own thread: publishes its tid, starts busy time. */
static inline void schedrt__m_worker_start(schedrt_worker *w) { schedrt__m_worker_start_slow(w); }
/* A task was woken or spawned (any thread). With timing on, the wake time
 * for the schedule-latency histogram (the core stores a coarse one). */
static inline void schedrt__m_task_woken(schedrt_task *t) {
  if (SCHEDRT_UNLIKELY(t->rt->metrics.timing))
    atomic_store_explicit(&t->since_ns, schedrt__now_ns(), memory_order_relaxed);
}

#else /* metrics compiled out */

static inline void schedrt__m_poll_begin(schedrt_worker *w, const schedrt_task *t) { (void)w; (void)t; }
static inline void schedrt__m_poll_end(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_state(schedrt_worker *w, enum schedrt__wstate s) { (void)w; (void)s; }
static inline void schedrt__m_tick(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_local_schedule(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_overflow(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_steal(schedrt_worker *w, uint32_t n) { (void)w; (void)n; }
static inline void schedrt__m_park(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_unpark(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_noop_unpark(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_maintenance(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_worker_start(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_task_woken(schedrt_task *t) { (void)t; }

#endif
#endif
