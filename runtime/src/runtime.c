/* Creating and destroying a runtime, its configuration and its monitor thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "local_queue.h"
#include "sync_holds.h"

SCHEDRT_API void schedrt_config_init(schedrt_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof(*cfg));
  cfg->size = sizeof(*cfg);
}

/*
 * A number from the environment overriding a config field: 1 and *out set,
 * 0 when unset or empty, -EINVAL (said on stderr) when it is not a decimal number in
 * [lo, hi]. Unlike the watchdog's variables these fail the runtime: a pool
 * sized or timed other than the operator asked is worse than no runtime.
 */
static int env_override(const char *name, uint32_t lo, uint32_t hi, uint32_t *out) {
  const char *s = getenv(name);
  if (!s || !*s)
    return 0; /* unset, or set empty to unset it */
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '-' || *s == '+' || errno || *end || v < lo || v > hi) {
    fprintf(stderr, "schedrt: %s=\"%s\" is invalid: expected a decimal number from %u to %u\n", name, s, lo,
            hi);
    return -EINVAL;
  }
  *out = (uint32_t)v;
  return 1;
}

/* The blocking pool's fields: defaults, limits, environment. */
static int config_blocking(schedrt_config *c) {
  if (c->max_blocking_threads > SCHEDRT_BLOCKING_THREADS_MAX || c->blocking_keepalive_ms > 3600000u ||
      c->blocking_shutdown_timeout_ms > 3600000u)
    return -EINVAL;
  if (c->max_blocking_threads == 0)
    c->max_blocking_threads = 512;
  if (c->blocking_keepalive_ms == 0)
    c->blocking_keepalive_ms = 10000;
  if (c->blocking_shutdown_timeout_ms == 0)
    c->blocking_shutdown_timeout_ms = 10000;
  int rc =
      env_override("SCHEDRT_MAX_BLOCKING_THREADS", 1, SCHEDRT_BLOCKING_THREADS_MAX, &c->max_blocking_threads);
  if (rc >= 0)
    rc = env_override("SCHEDRT_BLOCKING_SHUTDOWN_MS", 0, 3600000u, &c->blocking_shutdown_timeout_ms);
  return rc < 0 ? rc : 0;
}

/* long_poll_ms and resv32 took one of resv's words: the size callers pass is unchanged. */
_Static_assert(sizeof(schedrt_config) == 88, "schedrt_config's size is ABI");

/* Validates the caller's config and fills the defaults. */
static int config_resolve(schedrt_runtime *rt, const schedrt_config *in) {
  schedrt_config c;
  schedrt_config_init(&c);
  if (in) {
    /* A caller built against an older, smaller struct passes its size. */
    if (in->size < offsetof(schedrt_config, watchdog_ms) || in->size > sizeof(c))
      return -EINVAL;
    memcpy(&c, in, in->size);
    c.size = sizeof(c);
    for (size_t i = 0; i < sizeof(c.resv) / sizeof(c.resv[0]); i++)
      if (c.resv[i])
        return -EINVAL;
    if (c.resv32)
      return -EINVAL;
  }
  int rc = config_blocking(&c);
  if (rc)
    return rc;
  if (c.nworkers == 0)
    c.nworkers = schedrt__online_cpus();
  /* The idle word packs counts in 16 bits; 1024 workers is plenty. */
  if (c.nworkers > 1024)
    return -EINVAL;
  if (c.dump_timeout_ms == 0)
    c.dump_timeout_ms = 250;
  /* The same cap as a request's: workers that arrived may wait this long. */
  if (c.dump_timeout_ms > SCHEDRT_DUMP_TIMEOUT_MAX_MS)
    return -EINVAL;
  if (c.monitor_period_ms == 0)
    c.monitor_period_ms = 100;
  if (c.watchdog_ms && (c.watchdog_ms < 10 || c.watchdog_ms > 3600000))
    return -EINVAL;
  if (c.watchdog_max_dumps > 1000)
    return -EINVAL;
  if (c.dump_keep_s == 0)
    c.dump_keep_s = 60;
  if (c.long_poll_ms > 3600000u)
    return -EINVAL;
  if (c.long_poll_ms == 0)
    c.long_poll_ms = 10;
  /* 0 from the environment turns the monitor's sampling off (the field cannot: 0 is its default). */
  rc = env_override("SCHEDRT_LONG_POLL_MS", 0, 3600000u, &c.long_poll_ms);
  if (rc < 0)
    return rc;
  if (c.flags & ~(uint32_t)(SCHEDRT_CFG_NO_LIFO | SCHEDRT_CFG_NO_METRICS | SCHEDRT_CFG_NO_DUMP |
                            SCHEDRT_CFG_TIMING | SCHEDRT_CFG_STALL_BACKTRACE | SCHEDRT_CFG_EVENTS))
    return -EINVAL;
  const char *timing = getenv("SCHEDRT_TIMING");
  if (timing && strcmp(timing, "1") == 0)
    c.flags |= SCHEDRT_CFG_TIMING;
  const char *events = getenv("SCHEDRT_EVENTS");
  if (events && strcmp(events, "1") == 0)
    c.flags |= SCHEDRT_CFG_EVENTS;
  snprintf(rt->name, sizeof(rt->name), "%s", c.name ? c.name : "schedrt");
  c.name = rt->name;
  rt->cfg = c;
  rt->nworkers = c.nworkers;
  rt->global_queue_interval = c.global_queue_interval;
  rt->lifo_enabled = !(c.flags & SCHEDRT_CFG_NO_LIFO);
  return 0;
}

/*
 * A worker polling the same task at two ticks in a row has had its clock
 * cache for at least a period: tell it to read the clock for the next task
 * time it stamps. (The same task polled again in the next period only costs
 * one clock read.)
 */
static void mark_stale_clocks(schedrt_runtime *rt) {
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    schedrt_worker *w = &rt->workers[i];
    /* Relaxed: the pointer is only compared, never dereferenced. */
    const void *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
    if (cur && cur == w->clock_watch) {
      atomic_store_explicit(&w->now_cache, 0, memory_order_relaxed);
      schedrt__m_now_stale(w);
    }
    w->clock_watch = cur;
  }
}

/*
 * Timers, heartbeat, control area: everything that runs on a clock. Between
 * its ticks and the earliest timer the monitor sleeps on its own parker: a
 * new earliest timer and stop unpark it.
 */
static void *monitor_main(void *arg) {
  schedrt_runtime *rt = arg;
  struct schedrt_timers *tm = &rt->timers;
  uint64_t period = (uint64_t)rt->cfg.monitor_period_ms * 1000000u;
  uint64_t next_tick = schedrt__now_ns();
  /* The long-poll watch samples more often than the tick (0: not at all). */
  schedrt__metrics_monitor_start(rt);
  uint64_t watch = schedrt__metrics_watch_period(rt);
  uint64_t next_watch = watch ? next_tick : UINT64_MAX;
  schedrt__thread_name("schedrt-mon", 0);
  /* Acquire: pairs with stop_monitor's release store. */
  while (!atomic_load_explicit(&rt->monitor_stop, memory_order_acquire)) {
    uint64_t now = schedrt__now_ns();
    if (now >= next_tick) {
      mark_stale_clocks(rt);
      schedrt__metrics_monitor_tick(rt, now);
      schedrt__dump_monitor_tick(rt, now);
      schedrt__io_monitor_tick(rt);
      next_tick = now + period;
      continue;
    }
    /* Stopped while every worker slept; the first to wake unparked us. */
    if (next_watch == UINT64_MAX && watch && !schedrt__metrics_watch_parked(rt))
      next_watch = now;
    if (now >= next_watch)
      next_watch = schedrt__metrics_long_poll_watch(rt, now) ? now + watch : UINT64_MAX;
    pthread_mutex_lock(&tm->lock);
    uint64_t next = schedrt__timers_fire_locked(tm, now);
    pthread_mutex_unlock(&tm->lock);
    if (next > next_tick)
      next = next_tick;
    if (next > next_watch)
      next = next_watch;
    (void)schedrt__park(&rt->monitor_park, next > now ? next - now : 0);
  }
  return NULL;
}

static void stop_monitor(schedrt_runtime *rt) {
  if (!rt->monitor_started)
    return;
  /* Under the timers' lock: a timer added after this sees the stop and is refused. */
  pthread_mutex_lock(&rt->timers.lock);
  atomic_store_explicit(&rt->monitor_stop, true, memory_order_release);
  pthread_mutex_unlock(&rt->timers.lock);
  schedrt__unpark(&rt->monitor_park);
  pthread_join(rt->monitor, NULL);
  rt->monitor_started = false;
}

/* Stops and joins the first n workers. */
static void stop_workers(schedrt_runtime *rt, uint32_t n) {
  /* Release: pairs with the workers' acquire loads of shutdown. */
  atomic_store_explicit(&rt->shutdown, true, memory_order_release);
  for (uint32_t i = 0; i < n; i++)
    schedrt__unpark(&rt->workers[i].park);
  for (uint32_t i = 0; i < n; i++)
    pthread_join(rt->workers[i].thread, NULL);
}

/* After every worker stopped: release queued references, cancel the rest. */
static void drop_all_tasks(schedrt_runtime *rt) {
  schedrt__inject_close(&rt->inject);
  uint64_t n;
  for (schedrt_task *t = schedrt__inject_pop_n(&rt->inject, UINT64_MAX, &n), *nx; t; t = nx) {
    nx = t->qnext;
    schedrt__task_unref(t);
  }
  for (uint32_t i = 0; i < rt->nworkers; i++)
    schedrt__worker_drain(&rt->workers[i]);
  for (uint32_t i = 0; i < rt->nshards; i++) {
    struct schedrt_owned_shard *s = &rt->shards[i];
    for (;;) {
      schedrt__owned_lock(s);
      schedrt_task *t = s->head;
      if (t) {
        s->head = t->next;
        if (s->head)
          s->head->prev = NULL;
        t->prev = t->next = NULL;
      }
      schedrt__owned_unlock(s);
      if (!t)
        break;
      /* Outside the lock: the drop callback may free wakers of other tasks. */
      schedrt__task_cancel(t);
      schedrt__task_unref(t);
    }
  }
}

static void free_runtime(schedrt_runtime *rt) {
  free(rt->shards);
  free(rt->workers);
  free(rt);
}

SCHEDRT_API int schedrt_runtime_create(const schedrt_config *cfg, schedrt_runtime **out) {
  if (!out)
    return -EINVAL;
  *out = NULL;
  schedrt_runtime *rt = calloc(1, sizeof(*rt));
  if (!rt)
    return -ENOMEM;
  uint32_t started = 0;
  int rc = config_resolve(rt, cfg);
  if (rc)
    goto err_free;
  rt->nshards = rt->nworkers + 16;
  rc = -ENOMEM;
  rt->workers = aligned_alloc(SCHEDRT_CACHELINE, sizeof(schedrt_worker) * rt->nworkers);
  rt->shards = aligned_alloc(SCHEDRT_CACHELINE, sizeof(*rt->shards) * rt->nshards);
  if (!rt->workers || !rt->shards)
    goto err_free;
  memset(rt->workers, 0, sizeof(schedrt_worker) * rt->nworkers);
  memset(rt->shards, 0, sizeof(*rt->shards) * rt->nshards);
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    schedrt_worker *w = &rt->workers[i];
    schedrt__lq_init(&w->q);
    w->rt = rt;
    w->index = i;
    w->rng = schedrt__seed();
    schedrt__parker_init(&w->park);
  }
  schedrt__parker_init(&rt->monitor_park);
  atomic_init(&rt->next_id, 1);
  rt->holds_tag = schedrt__holds_new_tag();
  rt->start_ns = schedrt__now_ns();
  if ((rc = schedrt__inject_init(&rt->inject)))
    goto err_free;
  if ((rc = schedrt__idle_init(&rt->idle, rt->nworkers)))
    goto err_inject;
  if ((rc = schedrt__timers_init(&rt->timers)))
    goto err_idle;
  if ((rc = schedrt__io_init(rt)))
    goto err_timers;
  if ((rc = schedrt__blocking_init(rt)))
    goto err_io;
  if ((rc = schedrt__dump_init(rt)))
    goto err_blocking;
  /* Metrics are an observer: failing to publish them never fails the runtime. */
  int mrc = schedrt__metrics_start(rt);
  if (mrc && mrc != -ENOTSUP)
    fprintf(stderr, "schedrt: %s: metrics segment disabled: %s\n", rt->name, schedrt_strerror(mrc));
  /* The monitor, created below, takes the page over from here (thread creation orders it). */
  schedrt__dump_start(rt);
  for (; started < rt->nworkers; started++) {
    rc = -pthread_create(&rt->workers[started].thread, NULL, schedrt__worker_main, &rt->workers[started]);
    if (rc)
      goto err_workers;
  }
  rc = -pthread_create(&rt->monitor, NULL, monitor_main, rt);
  if (rc)
    goto err_workers;
  rt->monitor_started = true;
  *out = rt;
  return 0;

err_workers:
  stop_workers(rt, started);
  schedrt__blocking_shutdown(rt);
  drop_all_tasks(rt);
  schedrt__metrics_stop(rt);
  schedrt__dump_fini(rt);
err_blocking:
  schedrt__blocking_fini(rt);
err_io:
  schedrt__io_fini(rt);
err_timers:
  schedrt__timers_destroy(&rt->timers);
err_idle:
  schedrt__idle_destroy(&rt->idle);
err_inject:
  schedrt__inject_destroy(&rt->inject);
err_free:
  free_runtime(rt);
  return rc;
}

SCHEDRT_API void schedrt_runtime_destroy(schedrt_runtime *rt) {
  if (!rt)
    return;
  if (schedrt__tls_worker && schedrt__tls_worker->rt == rt) {
    /* Joining our own thread would deadlock; refusing is the only safe answer. */
    fprintf(stderr, "schedrt: schedrt_runtime_destroy called from a worker; ignored\n");
    return;
  }
  if (schedrt__blocking_on_pool_thread(rt)) {
    /* It would wait for its own job until the deadline, then free the
     * runtime under the job that called it. */
    fprintf(stderr, "schedrt: schedrt_runtime_destroy called from a blocking job; ignored\n");
    return;
  }
  stop_workers(rt, rt->nworkers);
  /* With the workers gone, only pool threads (and threads the caller still
   * runs) spawn blocking jobs; the pool refuses them from here on. Before the
   * monitor stops: it publishes the pool's gauges while destroy waits. */
  schedrt__blocking_shutdown(rt);
  /* Timers first: their wakes would land in a closed queue anyway, but the
   * monitor must stop touching the runtime before it is freed. */
  stop_monitor(rt);
  /* Before the tasks go: a control-area dump may still be walking them. */
  schedrt__dump_fini(rt);
  drop_all_tasks(rt);
  /* After the drop callbacks, which may close registrations. */
  schedrt__io_fini(rt);
  schedrt__metrics_stop(rt);
  schedrt__blocking_fini(rt);
  schedrt__timers_destroy(&rt->timers);
  schedrt__idle_destroy(&rt->idle);
  schedrt__inject_destroy(&rt->inject);
  free_runtime(rt);
}

SCHEDRT_API uint32_t schedrt_runtime_nworkers(const schedrt_runtime *rt) { return rt ? rt->nworkers : 0; }
SCHEDRT_API const char *schedrt_runtime_name(const schedrt_runtime *rt) { return rt ? rt->name : NULL; }

SCHEDRT_API schedrt_runtime *schedrt_current(void) {
  return schedrt__tls_worker ? schedrt__tls_worker->rt : NULL;
}

SCHEDRT_API int schedrt_worker_index(void) {
  return schedrt__tls_worker ? (int)schedrt__tls_worker->index : -1;
}
