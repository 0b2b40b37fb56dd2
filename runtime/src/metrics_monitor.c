/*
 * The monitor thread's part of the metrics, once per period: the global
 * area, the heartbeat, and the naming of long polls.
 */
#include <string.h>

#include "internal.h"
#include "schedrt/proto/seqlock.h"

/* What the monitor publishes about the task of a long poll. */
struct poll_ident {
  uint64_t id;
  uint32_t line;
  uint64_t name[SCHEDRT_SHM_TASK_NAME_LEN / 8u];
  uint64_t file[SCHEDRT_SHM_TASK_FILE_LEN / 8u];
};

void schedrt__m_str_words(uint64_t *words, size_t n, const char *s, bool tail) {
  char buf[64];
  size_t len = s ? strnlen(s, 4096) : 0;
  memset(buf, 0, sizeof(buf));
  if (len > n - 1) {
    if (tail)
      s += len - (n - 1);
    len = n - 1;
  }
  if (len)
    memcpy(buf, s, len);
  memcpy(words, buf, n);
}

/*
 * Names the task at address cur (task.c: schedrt__task_find, which never
 * dereferences a stale pointer), the worker's own shard first: most tasks
 * run where they were spawned. 1: found; 0: not alive; -1: a shard stayed
 * locked (try again at the next tick).
 */
static int identify(schedrt_runtime *rt, uint32_t worker, const void *cur, struct poll_ident *out) {
  struct schedrt__task_ident t;
  int rc = schedrt__task_find(rt, worker, cur, &t);
  if (rc <= 0)
    return rc;
  out->id = t.id;
  out->line = t.line > 0 ? (uint32_t)t.line : 0u;
  schedrt__m_str_words(out->name, SCHEDRT_SHM_TASK_NAME_LEN, t.name, false);
  schedrt__m_str_words(out->file, SCHEDRT_SHM_TASK_FILE_LEN, t.file_tail, true);
  return 1;
}

/* The monitor half of slot s: the poll `polls` seen since `since`, its task (id 0: none). */
static void publish_poll(struct schedrt_shm_wslot *s, uint64_t polls, uint64_t since,
                         const struct poll_ident *id) {
  static const struct poll_ident none;
  if (!id)
    id = &none;
  uint64_t odd = schedrt_seq_write_begin(&s->mseq);
  SCHEDRT_SEQ_STORE(&s->seen_polls, polls);
  SCHEDRT_SEQ_STORE(&s->seen_since_ns, since);
  SCHEDRT_SEQ_STORE(&s->current_task, id->id);
  SCHEDRT_SEQ_STORE(&s->current_line, id->line);
  for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_NAME_LEN / 8u; i++)
    SCHEDRT_SEQ_STORE(&s->current_name[i], id->name[i]);
  for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_FILE_LEN / 8u; i++)
    SCHEDRT_SEQ_STORE(&s->current_file[i], id->file[i]);
  schedrt_seq_write_end(&s->mseq, odd);
}

/*
 * Stuck-poll observation (Go's sysmon schedtick check), once per period per
 * worker: a worker that is running, whose poll sequence and current task
 * pointer have not moved since the previous tick, is still in the poll seen
 * then, which has lasted at least the time between the two ticks. Its task
 * is then looked up once (identify) and published with the time of the
 * first tick that saw the poll. The hot path pays nothing for this beyond
 * the poll count it publishes anyway.
 */
/* The poll worker w is in, as the monitor sees it: its sequence and task pointer. False: not polling. */
static bool sample_poll(schedrt_worker *w, uint64_t *polls, const void **cur) {
  struct schedrt_shm_wslot *s = w->m.slot;
  /* Relaxed: single values; the sequence and the pointer are only compared. */
  uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
  *polls = atomic_load_explicit(&s->polls, memory_order_relaxed);
  *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
  return state == SCHEDRT_WSTATE_RUNNING && *cur != NULL;
}

static void watch_worker(schedrt_runtime *rt, uint32_t i, uint64_t now) {
  schedrt_worker *w = &rt->workers[i];
  struct schedrt_shm_wslot *s = w->m.slot;
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  uint64_t polls;
  const void *cur;
  if (!sample_poll(w, &polls, &cur)) {
    x->first_seen = 0;
    if (x->shown)
      publish_poll(s, 0, 0, NULL);
    x->shown = false;
    return;
  }
  if (x->first_seen == 0 || polls != x->polls || cur != x->cur) {
    /* A poll not seen before: it began within the last period. */
    x->polls = polls;
    x->cur = cur;
    x->first_seen = now;
    x->named = false;
    if (x->shown)
      publish_poll(s, 0, 0, NULL);
    x->shown = false;
    return;
  }
  if (x->named)
    return;
  struct poll_ident id;
  int found = identify(rt, i, cur, &id);
  if (found < 0)
    return;        /* a shard was busy: next tick */
  x->named = true; /* once per poll, found or not */
  if (!found)
    return;
  /* Still that poll? It may have ended while we looked (then the next tick
   * starts over); if so the id may even be a new task's at the same address. */
  if (atomic_load_explicit(&s->polls, memory_order_relaxed) != polls ||
      atomic_load_explicit(&w->current, memory_order_relaxed) != cur)
    return;
  publish_poll(s, polls, x->first_seen, &id);
  x->shown = true;
}

/*
 * One sample of worker i for long polls (Go's sysmon retake check, which
 * samples every 20 us to 10 ms for goroutines running past 10 ms): the same
 * poll (sequence and task pointer unchanged, worker running) at two samples
 * has run at least the time between them. Once that reaches the threshold
 * the poll is counted in long_polls, once; last_long_poll_ns then follows
 * it at every sample until it ends. Both are values of the monitor's own,
 * in the slot but outside any seqlock section: the worker never writes them.
 */
static void watch_long_poll(schedrt_runtime *rt, uint32_t i, uint64_t now) {
  schedrt_worker *w = &rt->workers[i];
  struct schedrt_shm_wslot *s = w->m.slot;
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  uint64_t polls;
  const void *cur;
  if (!sample_poll(w, &polls, &cur)) {
    if (x->lp_counted)
      schedrt__stall_end(rt, i, now);
    x->lp_first = 0;
    x->lp_counted = false;
    return;
  }
  if (x->lp_first == 0 || polls != x->lp_polls || cur != x->lp_cur) {
    /* A poll not seen before: it began after the previous sample. */
    if (x->lp_counted)
      schedrt__stall_end(rt, i, now);
    x->lp_polls = polls;
    x->lp_cur = cur;
    x->lp_first = now;
    x->lp_counted = false;
    schedrt__stall_begin(rt, i);
    return;
  }
  uint64_t seen = now - x->lp_first;
  schedrt__stall_sample(rt, i, cur, now, seen);
  if (seen < rt->metrics.long_poll_ns)
    return;
  _Atomic uint64_t *count = SCHEDRT_SHM_WSLOT_AT(s, SCHEDRT_SHM_WOFF_long_polls, uint64_t);
  _Atomic uint64_t *last = SCHEDRT_SHM_WSLOT_AT(s, SCHEDRT_SHM_WOFF_last_long_poll_ns, uint64_t);
  /* Relaxed: a value of its own for readers; the length first, so that a
   * reader rarely pairs a new count with the previous poll's length. */
  atomic_store_explicit(last, seen, memory_order_relaxed);
  if (!x->lp_counted) {
    x->lp_counted = true;
    /* Release: after the length above (single writer: a load and a store). */
    atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1u,
                          memory_order_release);
    /* In the other threads' ring: the worker's own has one writer, itself. */
    schedrt__ev_other(rt, SCHEDRT_EV_STALL, i, seen);
  }
}

/* Whether any worker is out of its park (running, searching, starting). */
static bool any_awake(schedrt_runtime *rt) {
  for (uint32_t i = 0; i < rt->nworkers; i++)
    /* Relaxed: a single value; the caller's fence orders it where it matters. */
    if (atomic_load_explicit(&rt->workers[i].m.slot->state, memory_order_relaxed) != SCHEDRT_WSTATE_PARKED)
      return true;
  return false;
}

bool schedrt__metrics_long_poll_watch(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base || !m->watch || !m->long_poll_ns)
    return false;
  schedrt__stall_gap(rt, now);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (rt->workers[i].m.slot != &rt->workers[i].m.fallback)
      watch_long_poll(rt, i, now);
  if (any_awake(rt))
    return true;
  /* Every worker parked: nothing can poll until one wakes. Parked first,
   * then a second look, each side's store before its load (seq_cst fence,
   * paired with schedrt__m_watch_wake's): a worker that woke in between is
   * seen here, or sees the flag and unparks us. */
  atomic_store_explicit(&m->watch_parked, true, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  if (!any_awake(rt))
    return false;
  atomic_store_explicit(&m->watch_parked, false, memory_order_relaxed);
  return true;
}

bool schedrt__metrics_watch_parked(schedrt_runtime *rt) {
  /* Relaxed: the monitor's own flag, cleared by a worker that then unparks
   * it; the unpark orders what matters. */
  return atomic_load_explicit(&rt->metrics.watch_parked, memory_order_relaxed);
}

void schedrt__m_watch_wake(schedrt_worker *w) {
  schedrt_runtime *rt = w->rt;
  /* Our state (awake) before the flag: see schedrt__metrics_long_poll_watch. */
  atomic_thread_fence(memory_order_seq_cst);
  /* Relaxed load, then one waker wins the exchange (relaxed: the unpark
   * publishes). Costs a load when the watch runs: every unpark but the
   * first after a quiet spell. */
  if (atomic_load_explicit(&rt->metrics.watch_parked, memory_order_relaxed) &&
      atomic_exchange_explicit(&rt->metrics.watch_parked, false, memory_order_relaxed))
    schedrt__unpark(&rt->monitor_park);
}

uint64_t schedrt__metrics_watch_period(const schedrt_runtime *rt) {
  return rt->metrics.base && rt->metrics.watch ? rt->metrics.long_poll_watch_ns : 0u;
}

void schedrt__metrics_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base)
    return;
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  struct schedrt_shm_global *g = (struct schedrt_shm_global *)(void *)(m->base + SCHEDRT_SHM_GLOBAL_OFF);
  schedrt__events_calibrate(rt);

  /* The global area, every metric of its list from its source (metrics.h):
   * one section, the monitor is the only writer. */
  uint64_t odd = schedrt_seq_write_begin(&g->seq);
#define SCHEDRT__G_STORE(id, kind, off, type, unit, help, pub)                                               \
  SCHEDRT_SEQ_STORE(&g->id, (type)SCHEDRT__GSRC_##id(rt));
  SCHEDRT_GLOBAL_METRICS(SCHEDRT__G_STORE)
#undef SCHEDRT__G_STORE
  schedrt_seq_write_end(&g->seq, odd);

  if (m->watch)
    for (uint32_t i = 0; i < rt->nworkers; i++)
      if (rt->workers[i].m.slot != &rt->workers[i].m.fallback)
        watch_worker(rt, i, now);

  /* The beat last: the time, then the sequence (relaxed: each is a value of
   * its own; readers judge progress of the sequence on their clock). */
  atomic_store_explicit(&h->heartbeat_mono_ns, now, memory_order_relaxed);
  atomic_store_explicit(&h->heartbeat_seq, atomic_load_explicit(&h->heartbeat_seq, memory_order_relaxed) + 1u,
                        memory_order_release);
}
