/*
 * The workers' slow paths of the metrics (metrics_hooks.h has the inline
 * ones): publication of the private counters at maintenance, park, unpark and
 * start, and per-poll timing.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "schedrt/proto/seqlock.h"

/* metrics_hooks.h: runtimes with per-poll timing on, tested by the wake path. */
_Atomic uint32_t schedrt__m_timing_runtimes;

/* Maintenance (every 61 ticks) and stop: what changes while a worker is busy. */
void schedrt__m_publish_tick(schedrt_worker *w) { schedrt__m_publish(w, SCHEDRT__M_AT_TICK); }

void schedrt__m_park_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  uint64_t now = schedrt__now_ns();
  /* Relaxed: our own store. */
  uint64_t polls = atomic_load_explicit(&m->slot->polls, memory_order_relaxed);
  m->c.parks++;
  /* Tokio's noop rule: a park with no poll since the previous park. */
  if (polls == m->polls_at_park)
    m->c.noop_unparks++;
  m->polls_at_park = polls;
  if (m->active_since && now > m->active_since)
    m->c.busy_ns += now - m->active_since;
  m->active_since = 0;
  schedrt__m_publish(w, SCHEDRT__M_AT_PARK);
  schedrt__ev(w, SCHEDRT_EV_PARK, 0, 0);
}

void schedrt__m_unpark_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  m->c.unparks++;
  m->active_since = schedrt__now_ns();
  /* Awake and looking for work until it runs something or parks again. */
  schedrt__m_set_state(m, SCHEDRT_WSTATE_SEARCHING);
  schedrt__m_publish(w, SCHEDRT__M_AT_PARK);
  schedrt__m_watch_wake(w);
  schedrt__ev(w, SCHEDRT_EV_UNPARK, 0, 0);
}

void schedrt__m_noop_unpark_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  /* Woken for nothing and back to sleep: an unpark and a park without a poll. */
  m->c.unparks++;
  m->c.parks++;
  m->c.noop_unparks++;
  schedrt__m_publish(w, SCHEDRT__M_AT_PARK);
  schedrt__ev(w, SCHEDRT_EV_UNPARK, 0, 0);
  schedrt__ev(w, SCHEDRT_EV_PARK, 0, 0);
}

void schedrt__m_worker_start_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  m->active_since = schedrt__now_ns();
  /* Relaxed: written once, a value of its own (not under the seqlock). */
  atomic_store_explicit(&m->slot->os_tid, (uint64_t)syscall(SYS_gettid), memory_order_relaxed);
  schedrt__m_publish(w, SCHEDRT__M_AT_PARK);
  schedrt__m_watch_wake(w);
}

/* Single writer per bucket: a relaxed load and store, no RMW. */
static inline void hist_bump(_Atomic uint64_t *b) {
  atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1u, memory_order_relaxed);
}

/* The timed part of a poll's start (schedrt__m_poll counted it): the exact
 * start with the task, the schedule latency, and (the clock read dominates
 * anyway) the QUEUE gauges. */
void schedrt__m_poll_begin_timed(schedrt_worker *w, const schedrt_task *t) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  /* The timed loop serves the event ring too (schedrt__m_run_begin). */
  if (m->events) {
    m->ev_task = t->id;
    schedrt__ev_put(&m->ev, SCHEDRT_EV_POLL_START, t->id, 0);
  }
  if (!m->timing)
    return;
  uint64_t now = schedrt__now_ns();
  /* Relaxed: the waker's store of the wake time; any recent value is fine. */
  uint64_t woke = atomic_load_explicit(&((schedrt_task *)t)->since_ns, memory_order_relaxed);
  m->poll_site = t->site_off;
  if (m->hist && woke != 0 && woke <= now) {
    hist_bump(&m->hist[SCHEDRT_SHM_HIST_SPACING / 8u + schedrt_hist_bucket(now - woke)]);
    schedrt__m_site_add(schedrt__m_site_at(m->site_ctr, t->site_off, SCHEDRT__SITE_WORD(sched_latency_ns)),
                        now - woke, memory_order_relaxed);
  }
  m->poll_start = now;
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT__M_STORES(w, s, SCHEDRT_PUB_QUEUE);
  SCHEDRT_SEQ_STORE(&s->poll_task, t->id);
  SCHEDRT_SEQ_STORE(&s->poll_start_ns, now);
  schedrt__m_end(s, odd);
}

void schedrt__m_timing_end(schedrt_worker *w) {
  /* The task may be gone (it completed): its id was kept at the start. */
  if (w->m.events)
    schedrt__ev_put(&w->m.ev, SCHEDRT_EV_POLL_END, w->m.ev_task, 0);
  if (!w->m.timing)
    return;
  uint64_t now = schedrt__now_ns();
  if (w->m.hist && now >= w->m.poll_start) {
    hist_bump(&w->m.hist[schedrt_hist_bucket(now - w->m.poll_start)]);
    /* Relaxed: the worker's own value (the task may be gone: its site was kept). */
    schedrt__m_site_add(schedrt__m_site_at(w->m.site_ctr, w->m.poll_site, SCHEDRT__SITE_WORD(busy_ns)),
                        now - w->m.poll_start, memory_order_relaxed);
  }
}
