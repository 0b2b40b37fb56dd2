/*
 * The worker loop: Tokio's multi-thread scheduler in C. A worker runs its
 * LIFO slot and local ring, checks the injection queue every
 * global_queue_interval ticks for fairness, steals half of a random victim's
 * ring when it runs dry, and parks when there is nothing anywhere.
 */
#include <sched.h>
#include <stdlib.h>

#include "internal.h"
#include "local_queue.h"

_Thread_local schedrt_worker *schedrt__tls_worker SCHEDRT_TLS_MODEL;

/* xorshift64*: a thief's victim choice needs speed, not quality. */
static uint32_t next_rand(schedrt_worker *w, uint32_t n) {
  uint64_t x = w->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  w->rng = x;
  return (uint32_t)(((x * 0x2545f4914f6cdd1dull) >> 32) % n);
}

void schedrt__notify_parked(schedrt_runtime *rt) {
  int idx = schedrt__idle_worker_to_notify(&rt->idle);
  if (idx >= 0)
    schedrt__unpark(&rt->workers[idx].park);
}

/* Local schedule: the LIFO slot for a fresh wake, the ring's tail for a
 * re-poll, the defer list for an explicit yield. */
static void schedule_local(schedrt_worker *w, schedrt_task *t, bool is_yield) {
  schedrt_runtime *rt = w->rt;
  bool notify;
  schedrt__m_local_schedule(w);
  if (is_yield && w->yielded == t) {
    w->yielded = NULL;
    t->qnext = NULL;
    if (w->defer_tail)
      w->defer_tail->qnext = t;
    else
      w->defer_head = t;
    w->defer_tail = t;
    return;
  }
  if (is_yield || !rt->lifo_enabled) {
    (void)schedrt__lq_push_back_or_overflow(&w->q, t, &rt->inject);
    notify = true;
  } else {
    /* Relaxed: only this worker touches its LIFO slot while it runs; the
     * dump leader reads it while the worker waits at the barrier. */
    schedrt_task *prev = atomic_exchange_explicit(&w->lifo, t, memory_order_relaxed);
    notify = prev != NULL;
    if (prev)
      (void)schedrt__lq_push_back_or_overflow(&w->q, prev, &rt->inject);
  }
  /* A lone task in the LIFO slot cannot be stolen, so waking a thief for it
   * would only cost a futex call. */
  if (notify)
    schedrt__notify_parked(rt);
}

void schedrt__schedule(schedrt_task *t, bool is_yield) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  if (SCHEDRT_UNLIKELY(s & SCHEDRT_TS_BLOCK_ON)) {
    /* block_on's thread sleeps on the state word, which the wake just set. */
    schedrt__futex_wake(&t->state, 1);
    schedrt__task_unref(t);
    return;
  }
  schedrt_runtime *rt = t->rt;
  schedrt_worker *w = schedrt__tls_worker;
  if (w && w->rt == rt) {
    schedule_local(w, t, is_yield);
    return;
  }
  t->qnext = NULL;
  /* Relaxed: read by the worker that pulls it, after the queue's lock. A
   * spawn from this thread set it already. */
  if (!(s & SCHEDRT_TS_INJECTED))
    atomic_fetch_or_explicit(&t->state, SCHEDRT_TS_INJECTED, memory_order_relaxed);
  if (!schedrt__inject_push(&rt->inject, t)) {
    schedrt__task_unref(t); /* shutting down: the alive list cancels it */
    return;
  }
  atomic_fetch_add_explicit(&rt->remote_schedules, 1, memory_order_relaxed);
  schedrt__notify_parked(rt);
}

/* Pulls a batch from the injection queue: runs the first, queues the rest. */
static schedrt_task *pull_inject(schedrt_worker *w) {
  schedrt_runtime *rt = w->rt;
  uint64_t len = schedrt__inject_len(&rt->inject);
  if (len == 0)
    return NULL;
  uint64_t room = SCHEDRT_LOCAL_QUEUE_CAP - schedrt__lq_len(&w->q);
  uint64_t max = len / rt->nworkers + 1;
  if (max > room)
    max = room;
  if (max > SCHEDRT_LOCAL_QUEUE_CAP / 2)
    max = SCHEDRT_LOCAL_QUEUE_CAP / 2;
  if (max == 0)
    max = 1;
  uint64_t n;
  schedrt_task *first = schedrt__inject_pop_n(&rt->inject, max, &n);
  if (!first)
    return NULL;
  for (schedrt_task *x = first->qnext, *nx; x; x = nx) {
    nx = x->qnext;
    (void)schedrt__lq_push_back_or_overflow(&w->q, x, &rt->inject);
  }
  return first;
}

static schedrt_task *next_local(schedrt_worker *w) {
  schedrt_task *t = atomic_load_explicit(&w->lifo, memory_order_relaxed);
  if (t) {
    atomic_store_explicit(&w->lifo, NULL, memory_order_relaxed);
    return t;
  }
  return schedrt__lq_pop(&w->q);
}

/*
 * Maintenance: the yielded tasks go to the ring's back, in yield order, so
 * they run within one interval whatever else is runnable, and thieves see
 * them (a worker kept busy by a task that keeps waking itself would
 * otherwise never come back to them).
 */
static void requeue_deferred(schedrt_worker *w) {
  schedrt_task *t = w->defer_head;
  if (!t)
    return;
  w->defer_head = w->defer_tail = NULL;
  for (schedrt_task *nx; t; t = nx) {
    nx = t->qnext;
    (void)schedrt__lq_push_back_or_overflow(&w->q, t, &w->rt->inject);
  }
  schedrt__notify_parked(w->rt);
}

bool schedrt__coop_exhausted(schedrt_worker *w, schedrt_task *self) {
  /* Counted once a poll: later asks in the same poll find the mark. */
  if (w->budget == 0) {
    schedrt__m_budget_forced_yield(w);
    w->budget = UINT32_MAX;
  }
  /* The task is RUNNING: this sets NOTIFIED and task_run re-queues it at the
   * ring's back (not the defer list: `yielded` is not set). */
  schedrt__task_wake(self, 0);
  return false;
}

/* Pops the oldest yielded task to run now and moves the others to the ring. */
static schedrt_task *take_deferred(schedrt_worker *w) {
  schedrt_task *t = w->defer_head;
  if (!t)
    return NULL;
  w->defer_head = t->qnext;
  if (!w->defer_head)
    w->defer_tail = NULL;
  requeue_deferred(w);
  return t;
}

/*
 * Tokio's self-tuning fairness interval: check the injection queue about
 * every 200 us of polling, whatever a poll costs, within [2, 127] ticks. The
 * estimate uses the clock read that maintenance does anyway.
 */
#define SCHEDRT_GQI_TARGET_NS 200000u
static void tune_gqi(schedrt_worker *w, uint64_t now) {
  uint32_t ticks = w->tick - w->gqi_tick;
  if (w->rt->global_queue_interval || ticks == 0)
    return;
  uint64_t per_tick = (now - w->gqi_ns) / ticks;
  uint64_t gqi = per_tick ? SCHEDRT_GQI_TARGET_NS / per_tick : 127;
  w->gqi = gqi < 2 ? 2 : gqi > 127 ? 127 : (uint32_t)gqi;
  w->gqi_tick = w->tick;
  w->gqi_ns = now;
}

static void clock_tick(schedrt_worker *w) {
  uint64_t now = schedrt__now_ns();
  atomic_store_explicit(&w->now_cache, schedrt__m_now_cache(w, now), memory_order_relaxed);
  tune_gqi(w, now);
}

static schedrt_task *next_task(schedrt_worker *w) {
  schedrt_task *t;
  if (w->tick % w->gqi == 0) {
    /*
     * Fairness: remote work must not starve behind tasks that keep
     * re-spawning themselves locally. A batch, not one task (as Tokio
     * takes): with 10 us polls, one task per 31 ticks is 3 k tasks/s.
     */
    if ((t = pull_inject(w)))
      return t;
  }
  if ((t = next_local(w)) || (t = pull_inject(w)))
    return t;
  return NULL;
}

static bool stopping(schedrt_runtime *rt) {
  /* Acquire: pairs with destroy's release store. */
  return atomic_load_explicit(&rt->shutdown, memory_order_acquire);
}

/* One pass over the other workers' rings, from a random start. */
static schedrt_task *steal_round(schedrt_worker *w) {
  schedrt_runtime *rt = w->rt;
  uint32_t n = rt->nworkers, start = next_rand(w, n);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t v = (start + i) % n;
    if (v == w->index)
      continue;
    uint32_t taken;
    schedrt_task *t = schedrt__lq_steal_into(&rt->workers[v].q, &w->q, &taken);
    if (t) {
      schedrt__m_steal(w, taken, v);
      return t;
    }
  }
  return pull_inject(w);
}

/*
 * A searcher looks a few times, pausing in between, before it parks: work
 * often arrives within microseconds (a spawner's next batch, a reply), and
 * a futex sleep and wake-up costs two system calls and a context switch on
 * each side. At most half the workers search, so at most half spin.
 */
#define SCHEDRT_SEARCH_ROUNDS 16u
#define SCHEDRT_SEARCH_PAUSES 64u

static schedrt_task *steal_work(schedrt_worker *w) {
  if (!w->searching) {
    w->searching = schedrt__idle_to_searching(&w->rt->idle);
    if (!w->searching)
      return NULL;
    schedrt__m_state(w, SCHEDRT_WSTATE_SEARCHING);
  }
  for (uint32_t round = 0; round < SCHEDRT_SEARCH_ROUNDS; round++) {
    schedrt_task *t = steal_round(w);
    if (t)
      return t;
    if (stopping(w->rt) || schedrt__dump_requested(w->rt))
      return NULL;
    /* Later rounds give the core away: on a busy machine the thread that
     * will produce our work may be waiting for it. */
    if (round < SCHEDRT_SEARCH_ROUNDS / 4)
      for (uint32_t i = 0; i < SCHEDRT_SEARCH_PAUSES; i++)
        schedrt__cpu_relax();
    else
      sched_yield();
  }
  return NULL;
}

/*
 * Before a worker runs its yielded tasks it looks once at the others' rings,
 * as Tokio does: a worker whose only task keeps yielding must still take
 * work off a busy neighbour. One round, no spin: the yielded tasks are work.
 */
static schedrt_task *steal_then_deferred(schedrt_worker *w) {
  if (!w->searching && (w->searching = schedrt__idle_to_searching(&w->rt->idle)))
    schedrt__m_state(w, SCHEDRT_WSTATE_SEARCHING);
  schedrt_task *t = w->searching ? steal_round(w) : NULL;
  return t ? t : take_deferred(w);
}

/* Is there work in any queue? Used by the last searcher. */
static bool work_pending(schedrt_runtime *rt) {
  if (schedrt__inject_len(&rt->inject))
    return true;
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (schedrt__lq_has_tasks(&rt->workers[i].q))
      return true;
  return false;
}

/*
 * Polls t, then follows up to SCHEDRT_MAX_LIFO_POLLS tasks it put in the LIFO
 * slot. Inlined twice by run_task with `timed` a constant, so the usual,
 * untimed copy tests no timing flag per poll.
 */
static inline __attribute__((always_inline)) void run_polls(schedrt_worker *w, schedrt_task *t,
                                                            const bool timed) {
  for (uint32_t lifo_polls = 0;; lifo_polls++) {
    atomic_store_explicit(&w->current, t, memory_order_relaxed);
    w->yielded = NULL;
    w->budget = SCHEDRT_COOP_BUDGET;
    schedrt__m_poll(w, t, timed);
    schedrt__task_run(t);
    schedrt__m_poll_done(w, timed);
    t = atomic_load_explicit(&w->lifo, memory_order_relaxed);
    if (!t)
      break;
    atomic_store_explicit(&w->lifo, NULL, memory_order_relaxed);
    /* At the cap, or at shutdown (so destroy drops the rest promptly). */
    if (lifo_polls + 1 >= SCHEDRT_MAX_LIFO_POLLS || stopping(w->rt)) {
      /* Tokio 1.29's cap: a self-re-spawning chain must not starve the rest. */
      (void)schedrt__lq_push_back_or_overflow(&w->q, t, &w->rt->inject);
      schedrt__notify_parked(w->rt);
      break;
    }
  }
}

/* A searcher found work. */
static void end_search(schedrt_worker *w) {
  w->searching = false;
  /*
   * The last searcher that found work wakes another to keep searching, as
   * in Tokio and Go, but only if there is more work to find: waking a
   * worker that searches an empty runtime and parks again costs two futex
   * calls and its search spin. Work pushed after our check sees no
   * searcher and wakes one itself (the fence makes this a Dekker pair with
   * schedrt__idle_worker_to_notify's).
   */
  if (schedrt__idle_from_searching(&w->rt->idle)) {
    atomic_thread_fence(memory_order_seq_cst);
    if (work_pending(w->rt))
      schedrt__notify_parked(w->rt);
  }
}

/* Runs t and what it put in the LIFO slot. */
static void run_task(schedrt_worker *w, schedrt_task *t) {
  bool timed = false;
  /* One test for a worker that was running already: searching, or (with
   * metrics) not yet published RUNNING, or timing its polls. */
  if (SCHEDRT_UNLIKELY(schedrt__m_run_slow(w))) {
    if (w->searching)
      end_search(w);
    /* State RUNNING; true when polls are timed (SCHEDRT_TIMING). */
    timed = schedrt__m_run_begin(w);
  }
  if (SCHEDRT_UNLIKELY(timed))
    run_polls(w, t, true);
  else
    run_polls(w, t, false);
  atomic_store_explicit(&w->current, NULL, memory_order_relaxed);
}

/*
 * The worker holds the driver: sleeps in epoll until an event or an unpark,
 * then releases it. True when events woke tasks: it has then left the
 * sleeper list first, so the tasks land in its queues as a running worker's
 * and their pushes wake a thief as usual.
 */
static bool park_in_driver(schedrt_worker *w) {
  schedrt_runtime *rt = w->rt;
  struct schedrt_io_batch b;
  bool woke = schedrt__io_wait(rt, &w->park, UINT64_MAX, &b) > 0;
  if (woke) {
    /* If a notifier took us off the list first, it counted us as searching. */
    w->searching = !schedrt__idle_unpark_by_id(&rt->idle, w->index);
    schedrt__m_io_dispatched(w, schedrt__io_dispatch(rt, &b));
  } else {
    (void)schedrt__io_dispatch(rt, &b);
  }
  schedrt__io_release_parked(rt);
  return woke;
}

/* Returns when there may be work (or shutdown, or a dump request). */
static void park(schedrt_worker *w) {
  schedrt_runtime *rt = w->rt;
  if (atomic_load_explicit(&w->lifo, memory_order_relaxed) || schedrt__lq_has_tasks(&w->q) || w->defer_head)
    return;
  schedrt__m_maintenance(w);
  bool last = schedrt__idle_to_parked(&rt->idle, w->index, w->searching);
  w->searching = false;
  if (last) {
    /* Dekker with schedrt__idle_worker_to_notify's fence: our decrement of
     * searching before our reads of the queues (in C11 the RMW alone does not
     * order a later relaxed load). */
    atomic_thread_fence(memory_order_seq_cst);
    if (work_pending(rt))
      schedrt__notify_parked(rt);
  }
  schedrt__m_state(w, SCHEDRT_WSTATE_PARKED);
  schedrt__m_park(w);
  for (;;) {
    /* A pending wake-up first; with none, sleep unless there is a reason to
     * be up. Whoever raises shutdown or a dump unparks after raising it. */
    bool woke_tasks = false;
    if (!schedrt__park_take(&w->park) && !stopping(rt) && !schedrt__dump_requested(rt)) {
      if (!schedrt__io_active(rt) || !schedrt__io_acquire_to_park(rt))
        (void)schedrt__park(&w->park, UINT64_MAX);
      else
        woke_tasks = park_in_driver(w);
    }
    uint64_t now = schedrt__now_ns();
    atomic_store_explicit(&w->now_cache, schedrt__m_now_cache(w, now), memory_order_relaxed);
    /* Parked time is not polling time: restart the interval estimate. */
    w->gqi_tick = w->tick;
    w->gqi_ns = now;
    if (woke_tasks || stopping(rt))
      break;
    if (schedrt__dump_requested(rt)) {
      /* Leave the sleeper list ourselves, as Tokio's transition_from_parked
       * does, so idle counts stay right after the dump (Tokio #7478). If a
       * notifier got there first, it counted us as searching. */
      w->searching = !schedrt__idle_unpark_by_id(&rt->idle, w->index);
      break;
    }
    if (!schedrt__idle_is_parked(&rt->idle, w->index)) {
      /* A notifier took us off the list and counted us as searching. */
      w->searching = true;
      break;
    }
    schedrt__m_noop_unpark(w);
  }
  schedrt__m_unpark(w);
}

void *schedrt__worker_main(void *arg) {
  schedrt_worker *w = arg;
  schedrt_runtime *rt = w->rt;
  schedrt__tls_worker = w;
  schedrt__m_worker_start(w);
  schedrt__thread_name("schedrt-w%u", w->index);
  w->gqi_ns = schedrt__now_ns();
  atomic_store_explicit(&w->now_cache, schedrt__m_now_cache(w, w->gqi_ns), memory_order_relaxed);
  w->gqi = rt->global_queue_interval ? rt->global_queue_interval : 31;
  while (!stopping(rt)) {
    w->tick++;
    if (w->tick % SCHEDRT_MAINTENANCE_INTERVAL == 0) {
      clock_tick(w);
      requeue_deferred(w);
      /* Tokio's event_interval: while every worker is busy, none waits in
       * the driver, so each looks into it now and then. */
      if (schedrt__io_active(rt))
        schedrt__m_io_dispatched(w, schedrt__io_poll_now(rt));
      schedrt__m_maintenance(w);
    }
    if (SCHEDRT_UNLIKELY(schedrt__dump_requested(rt)))
      schedrt__dump_safepoint(w);
    schedrt_task *t = next_task(w);
    if (!t)
      t = w->defer_head ? steal_then_deferred(w) : steal_work(w);
    if (t) {
      run_task(w, t);
      continue;
    }
    park(w);
  }
  schedrt__m_state(w, SCHEDRT_WSTATE_STOPPED);
  schedrt__m_maintenance(w);
  schedrt__task_cache_flush(w);
  schedrt__tls_worker = NULL;
  return NULL;
}

void schedrt__worker_drain(schedrt_worker *w) {
  schedrt_task *t = atomic_exchange_explicit(&w->lifo, NULL, memory_order_relaxed);
  if (t)
    schedrt__task_unref(t);
  for (schedrt_task *nx; (t = w->defer_head); w->defer_head = nx) {
    nx = t->qnext;
    schedrt__task_unref(t);
  }
  w->defer_tail = NULL;
  while ((t = schedrt__lq_pop(&w->q)))
    schedrt__task_unref(t);
}
