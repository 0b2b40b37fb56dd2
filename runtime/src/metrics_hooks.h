/*
 * Hooks the scheduler calls at its transitions. Inline and cheap: at most a
 * few stores to the worker's own cache lines. Included at the end of
 * internal.h, where schedrt_worker is complete.
 */
#ifndef SCHEDRT_METRICS_HOOKS_H
#define SCHEDRT_METRICS_HOOKS_H

static inline void schedrt__m_poll_begin(schedrt_worker *w, const schedrt_task *t) {
  (void)t;
  w->m.polls++;
}
static inline void schedrt__m_poll_end(schedrt_worker *w) { (void)w; }
static inline void schedrt__m_state(schedrt_worker *w, enum schedrt__wstate s) { (void)w; (void)s; }
static inline void schedrt__m_tick(schedrt_worker *w) { w->m.ticks++; }
static inline void schedrt__m_local_schedule(schedrt_worker *w) { w->m.local_schedules++; }
static inline void schedrt__m_overflow(schedrt_worker *w) { w->m.overflows++; }
static inline void schedrt__m_steal(schedrt_worker *w, uint32_t n) {
  w->m.steals += n;
  w->m.steal_ops++;
}
static inline void schedrt__m_park(schedrt_worker *w) { w->m.parks++; }
static inline void schedrt__m_unpark(schedrt_worker *w) { w->m.unparks++; }
static inline void schedrt__m_noop_unpark(schedrt_worker *w) { w->m.noop_unparks++; }
/* Every SCHEDRT_MAINTENANCE_INTERVAL ticks and before parking. */
static inline void schedrt__m_maintenance(schedrt_worker *w) { (void)w; }
/* A task was woken or spawned (any thread). */
static inline void schedrt__m_task_woken(schedrt_task *t) { (void)t; }

#endif
