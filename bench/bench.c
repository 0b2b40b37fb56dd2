/*
 * schedrt-bench: schedrt port of tokio's benches/rt_multi_threaded.rs
 * workloads, with the same timing loop and output as the peer ports
 * (tokio-bench, go-bench, omp-bench), which live outside this repository:
 * bench/compare.sh runs them from the directory PEERS_DIR names.
 *
 * Output: one line per workload on stdout:
 *   schedrt <workload> <median_ns_per_iter> <ns_per_op>
 * ("DNF DNF" when a workload did not finish; the reason goes to stderr.)
 * When the runtime times its polls (SCHEDRT_TIMING=1 in the environment, or
 * BENCH_SCHEDRT_FLAGS with SCHEDRT_CFG_TIMING), a second line follows:
 *   schedrt-lat <workload> <sched_latency_p50_ns> <sched_latency_p99_ns>
 * the schedule latency (woken or spawned to polled on a worker) of the timed
 * iterations, from the runtime's sched_latency histograms (all workers).
 * Usage: schedrt-bench [workload ...]   (no argument: all workloads)
 * Env: BENCH_WARMUP_ITERS (5), BENCH_WARMUP_MS (200), BENCH_MIN_ITERS (51),
 *      BENCH_MIN_MS (500), BENCH_MAX_ITERS (100000), BENCH_WORKERS (2),
 *      BENCH_SCHEDRT_FLAGS (0: a SCHEDRT_CFG_* mask, e.g. 2 = no metrics).
 *
 * Mapping (tokio -> schedrt):
 *   block_on(f)           -> schedrt_block_on: f runs on the calling thread and
 *                            spawns from it go to the injection queue, as in tokio.
 *   rt.spawn / handle     -> schedrt_spawn_ex(..., &handle) from the main thread;
 *   handle.await          -> schedrt_handle_poll inside block_on, in spawn order.
 *   tokio::spawn on a     -> schedrt_spawn from the worker (local queue, LIFO slot).
 *     worker
 *   yield_now()           -> return schedrt_yield(task).
 *   oneshot               -> schedrt_oneshot_*.
 *   std::sync::mpsc       -> struct stdchan below: a bounded mutex/condvar
 *     ::sync_channel         channel that, like Rust's std (crossbeam) channel,
 *                            spins briefly and then blocks the OS thread.
 *   stall()               -> busy-wait 10 us calling sched_yield().
 * An async block is a poll function over a small state struct. State that
 * tokio keeps inside the task's future lives in caller memory here (schedrt
 * never owns arg); where tokio allocates (oneshot channels) we allocate too.
 *
 * Two schedrt-only micro-benchmarks follow the tokio set, same output format:
 *   spawn_local_empty  a task on a worker spawns 10,000 empty tasks in batches
 *                      of 128 (so they stay in its local queue) and waits for
 *                      them; ns per spawn + run.
 *   wake_remote        the main thread wakes a parked task 1,000 times, each
 *                      time waiting until the task was polled; ns per wake
 *                      round trip (injection queue + unpark + poll).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"

#define NUM_WORKERS 2 /* upstream: 4 (this machine has 2 cores); env BENCH_WORKERS */
#define NUM_SPAWN 10000
#define BUSY2_SPAWN 1000
#define STALL_NS 10000ull /* 10 us */
#define YIELD_TASKS 200
#define NUM_YIELD 1000
#define NUM_PINGS 1000
#define CHAIN_ITER 1000
#define LOCAL_SPAWN 10000
#define LOCAL_BATCH 128 /* below the 256-slot local queue: no overflow */
#define REMOTE_WAKES 1000

/* Busy workloads: no finished iteration within this time => clear the flag, DNF. */
#define WATCHDOG_NS (3ull * 1000000000ull)
/* Any workload: no finished iteration within this time => hung, DNF and exit. */
#define HANG_NS (10ull * 1000000000ull)

#define RELAXED memory_order_relaxed

/* ------------------------------------------------------------ utilities */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  atomic_signal_fence(memory_order_seq_cst);
#endif
}

static void die(const char *what, int err) {
  fprintf(stderr, "schedrt-bench: %s: %s (%s)\n", what, schedrt_strerror(err), schedrt_err_name(err));
  exit(1);
}

#define CHECK(call)                                                                                          \
  do {                                                                                                       \
    int check_err_ = (call);                                                                                 \
    if (check_err_ < 0)                                                                                      \
      die(#call, check_err_);                                                                                \
  } while (0)

/* Background tasks may race with runtime shutdown at teardown. */
#define CHECK_BG(call)                                                                                       \
  do {                                                                                                       \
    int check_err_ = (call);                                                                                 \
    if (check_err_ < 0 && check_err_ != -ESHUTDOWN)                                                          \
      die(#call, check_err_);                                                                                \
  } while (0)

static void fatal(const char *msg) {
  fprintf(stderr, "schedrt-bench: %s\n", msg);
  exit(1);
}

/* tokio's stall(): spin for STALL_DUR, yielding the OS thread in between. */
static void stall(void) {
  uint64_t start = now_ns();
  while (now_ns() - start < STALL_NS)
    sched_yield();
}

/* ------------------------------------------------------------------ config */

struct cfg {
  uint64_t warmup_iters, warmup_ns, min_iters, min_ns, max_iters;
  uint32_t workers;
  uint32_t rt_flags;
};
static struct cfg g_cfg;
/* The runtime of the workload being measured (one at a time), for its histograms. */
static schedrt_runtime *g_rt;

/* Like the peers: a missing or unparsable value means the default. */
static uint64_t env_u64(const char *name, uint64_t def) {
  const char *v = getenv(name);
  if (!v || !*v)
    return def;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || v[0] == '-')
    return def;
  return (uint64_t)x;
}

static void cfg_from_env(struct cfg *c) {
  c->warmup_iters = env_u64("BENCH_WARMUP_ITERS", 5);
  c->warmup_ns = env_u64("BENCH_WARMUP_MS", 200) * 1000000ull;
  c->min_iters = env_u64("BENCH_MIN_ITERS", 51);
  c->min_ns = env_u64("BENCH_MIN_MS", 500) * 1000000ull;
  c->max_iters = env_u64("BENCH_MAX_ITERS", 100000);
  uint64_t w = env_u64("BENCH_WORKERS", NUM_WORKERS);
  c->workers = (w == 0 || w > 1024) ? NUM_WORKERS : (uint32_t)w;
  c->rt_flags = (uint32_t)env_u64("BENCH_SCHEDRT_FLAGS", 0);
}

static schedrt_runtime *rt_new(void) {
  schedrt_config c;
  schedrt_config_init(&c);
  c.nworkers = g_cfg.workers;
  c.name = "schedrt-bench";
  c.flags = g_cfg.rt_flags;
  schedrt_runtime *rt = NULL;
  CHECK(schedrt_runtime_create(&c, &rt));
  g_rt = rt;
  return rt;
}

/* ---------------------------------------------------------- std channel */

/*
 * std::sync::mpsc::sync_channel(cap) carrying (): bounded, OS-blocking. Rust's
 * std channel (a crossbeam port) spins with a short backoff before parking the
 * receiver; recv does the same here (127 pause instructions), then waits on a
 * condition variable.
 */
struct stdchan {
  pthread_mutex_t lock;
  pthread_cond_t can_recv, can_send;
  _Atomic uint32_t count; /* written under the lock, peeked without it */
  uint32_t cap;
  uint32_t recv_waiters, send_waiters;
};

static void chan_init(struct stdchan *ch, uint32_t cap) {
  pthread_mutex_init(&ch->lock, NULL);
  pthread_cond_init(&ch->can_recv, NULL);
  pthread_cond_init(&ch->can_send, NULL);
  atomic_init(&ch->count, 0);
  ch->cap = cap;
  ch->recv_waiters = ch->send_waiters = 0;
}

static void chan_destroy(struct stdchan *ch) {
  pthread_cond_destroy(&ch->can_recv);
  pthread_cond_destroy(&ch->can_send);
  pthread_mutex_destroy(&ch->lock);
}

static void chan_send(struct stdchan *ch) {
  pthread_mutex_lock(&ch->lock);
  while (atomic_load_explicit(&ch->count, RELAXED) == ch->cap) {
    ch->send_waiters++;
    pthread_cond_wait(&ch->can_send, &ch->lock);
    ch->send_waiters--;
  }
  atomic_store_explicit(&ch->count, atomic_load_explicit(&ch->count, RELAXED) + 1, RELAXED);
  if (ch->recv_waiters)
    pthread_cond_signal(&ch->can_recv);
  pthread_mutex_unlock(&ch->lock);
}

static void chan_recv(struct stdchan *ch) {
  for (unsigned step = 0; step <= 6; step++) {
    if (atomic_load_explicit(&ch->count, RELAXED) != 0)
      break;
    for (unsigned i = 0; i < (1u << step); i++)
      cpu_relax();
  }
  pthread_mutex_lock(&ch->lock);
  while (atomic_load_explicit(&ch->count, RELAXED) == 0) {
    ch->recv_waiters++;
    pthread_cond_wait(&ch->can_recv, &ch->lock);
    ch->recv_waiters--;
  }
  atomic_store_explicit(&ch->count, atomic_load_explicit(&ch->count, RELAXED) - 1, RELAXED);
  if (ch->send_waiters)
    pthread_cond_signal(&ch->can_send);
  pthread_mutex_unlock(&ch->lock);
}

/* ------------------------------------------------------------ watchdog */

/*
 * As in the tokio port: a busy workload whose iterations stop finishing for
 * WATCHDOG_NS is starved by its background load; the watchdog clears the
 * load's flag (which unblocks the iteration) and the result is DNF. Unlike
 * the peers it also guards every other workload: no iteration for HANG_NS
 * means the runtime lost work (a bug); nothing can unblock it, so it prints
 * DNF and exits.
 */
struct watchdog {
  const char *name;
  _Atomic bool *flag; /* busy workloads only */
  _Atomic uint64_t progress;
  _Atomic bool starved;
  _Atomic bool done;
  pthread_t thread;
};

static void *watchdog_main(void *arg) {
  struct watchdog *wd = arg;
  uint64_t last = atomic_load_explicit(&wd->progress, RELAXED);
  uint64_t since = now_ns();
  while (!atomic_load_explicit(&wd->done, RELAXED)) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    uint64_t p = atomic_load_explicit(&wd->progress, RELAXED);
    uint64_t t = now_ns();
    if (p != last) {
      last = p;
      since = t;
    } else if (wd->flag && !atomic_load_explicit(&wd->starved, RELAXED) && t - since > WATCHDOG_NS) {
      atomic_store_explicit(&wd->starved, true, RELAXED);
      atomic_store_explicit(wd->flag, false, RELAXED);
      since = t;
    } else if (t - since > HANG_NS) {
      fprintf(stderr,
              "schedrt %s: no iteration finished within %llu s: the runtime hangs (lost wake-up or "
              "deadlock); exiting\n",
              wd->name, (unsigned long long)(HANG_NS / 1000000000ull));
      printf("schedrt %s DNF DNF\n", wd->name);
      fflush(stdout);
      fflush(stderr);
      _exit(3);
    }
  }
  return NULL;
}

static void watchdog_start(struct watchdog *wd, const char *name, _Atomic bool *flag) {
  wd->name = name;
  wd->flag = flag;
  atomic_init(&wd->progress, 0);
  atomic_init(&wd->starved, false);
  atomic_init(&wd->done, false);
  if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0)
    fatal("pthread_create(watchdog)");
}

static void watchdog_stop(struct watchdog *wd) {
  atomic_store_explicit(&wd->done, true, RELAXED);
  pthread_join(wd->thread, NULL);
}

/* ------------------------------------------------- schedule latency */

/*
 * The sched_latency histograms count from the runtime's creation; the
 * report covers the timed iterations only, so it is the difference of two
 * snapshots (after the warm-up, after the last sample), summed over workers.
 * Empty unless the runtime times its polls.
 */
#define LAT_MAX_BUCKETS 128
struct lat_snap {
  uint64_t b[LAT_MAX_BUCKETS];
};

static void lat_snapshot(struct lat_snap *s) {
  memset(s, 0, sizeof *s);
  static size_t idx = SIZE_MAX;
  if (idx == SIZE_MAX) {
    for (size_t i = 0; i < schedrt_metric_count(); i++)
      if (strcmp(schedrt_metric_info(i)->name, "sched_latency") == 0)
        idx = i;
    if (idx == SIZE_MAX)
      fatal("no sched_latency metric");
  }
  size_t nb = schedrt_histogram_buckets();
  if (nb > LAT_MAX_BUCKETS)
    nb = LAT_MAX_BUCKETS;
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(g_rt); w++) {
    uint64_t b[LAT_MAX_BUCKETS];
    /* -ENOTSUP: metrics compiled out; nothing to report then. */
    if (schedrt_metric_histogram(g_rt, idx, w, b, nb) < 0)
      return;
    for (size_t i = 0; i < nb; i++)
      s->b[i] += b[i];
  }
}

/* Quantile q of after - before, interpolated linearly inside its bucket (as
 * Prometheus' histogram_quantile): buckets are up to 50 % wide. */
static double lat_quantile(const struct lat_snap *before, const struct lat_snap *after, double q) {
  size_t nb = schedrt_histogram_buckets();
  if (nb > LAT_MAX_BUCKETS)
    nb = LAT_MAX_BUCKETS;
  uint64_t total = 0;
  for (size_t i = 0; i < nb; i++)
    total += after->b[i] - before->b[i];
  if (total == 0)
    return -1;
  double rank = q * (double)total, seen = 0;
  for (size_t i = 0; i < nb; i++) {
    double c = (double)(after->b[i] - before->b[i]);
    double lo = i ? (double)schedrt_histogram_upper_ns(i - 1) : 0;
    if (seen + c >= rank && c > 0) {
      uint64_t up = schedrt_histogram_upper_ns(i);
      if (up == UINT64_MAX)
        return lo; /* the open last bucket: its lower bound */
      return lo + ((double)up - lo) * (rank - seen) / c;
    }
    seen += c;
  }
  return -1;
}

static struct lat_snap g_lat_before, g_lat_after;

/* -------------------------------------------------------- timing loop */

typedef void (*body_fn)(void *ctx);

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* One iteration, counted for the watchdog (skipped once a busy load starved it). */
static void run_body(struct watchdog *wd, body_fn body, void *ctx) {
  if (!atomic_load_explicit(&wd->starved, RELAXED))
    body(ctx);
  atomic_fetch_add_explicit(&wd->progress, 1, RELAXED);
}

/* Warm up, then time each iteration of body separately; return the median. */
static double measure_quiet(struct watchdog *wd, body_fn body, void *ctx) {
  const struct cfg *c = &g_cfg;
  uint64_t t0 = now_ns();
  for (uint64_t n = 0; n < c->warmup_iters || now_ns() - t0 < c->warmup_ns; n++)
    run_body(wd, body, ctx);
  lat_snapshot(&g_lat_before);

  size_t cap = c->min_iters > 0 ? (size_t)c->min_iters : 1, n = 0;
  uint64_t *s = malloc(cap * sizeof *s);
  if (!s)
    fatal("out of memory");
  t0 = now_ns();
  while (n < c->min_iters || (now_ns() - t0 < c->min_ns && n < c->max_iters)) {
    uint64_t t = now_ns();
    run_body(wd, body, ctx);
    uint64_t dt = now_ns() - t;
    if (n == cap) {
      cap *= 2;
      uint64_t *g = realloc(s, cap * sizeof *s);
      if (!g)
        fatal("out of memory");
      s = g;
    }
    s[n++] = dt;
  }
  lat_snapshot(&g_lat_after);
  double median = 0;
  if (n > 0) {
    qsort(s, n, sizeof *s, cmp_u64);
    median = (n % 2) ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2.0;
  }
  free(s);
  return median;
}

static void report(const char *name, uint64_t ops, double median) {
  printf("schedrt %s %.0f %.1f\n", name, median, median / (double)ops);
  double p50 = lat_quantile(&g_lat_before, &g_lat_after, 0.50);
  if (p50 >= 0)
    printf("schedrt-lat %s %.0f %.0f\n", name, p50, lat_quantile(&g_lat_before, &g_lat_after, 0.99));
  fflush(stdout);
}

/* flag: the busy load's run flag (NULL for the other workloads). */
static void measure(const char *name, uint64_t ops, _Atomic bool *flag, body_fn body, void *ctx) {
  struct watchdog wd;
  watchdog_start(&wd, name, flag);
  double median = measure_quiet(&wd, body, ctx);
  watchdog_stop(&wd);
  if (atomic_load_explicit(&wd.starved, RELAXED)) {
    fprintf(stderr,
            "schedrt %s: no iteration finished within %llu s: spawned tasks starved by the busy load\n", name,
            (unsigned long long)(WATCHDOG_NS / 1000000000ull));
    printf("schedrt %s DNF DNF\n", name);
    fflush(stdout);
  } else {
    report(name, ops, median);
  }
}

static schedrt_poll empty_task(schedrt_task *task, void *arg) {
  (void)task;
  (void)arg;
  return SCHEDRT_READY;
}

/* ---------------------------------------------------- spawn_many_local */

struct sml {
  schedrt_runtime *rt;
  struct stdchan ch;
  _Atomic size_t rem;
};

static schedrt_poll sml_task(schedrt_task *task, void *arg) {
  (void)task;
  struct sml *s = arg;
  if (atomic_fetch_sub_explicit(&s->rem, 1, RELAXED) == 1)
    chan_send(&s->ch);
  return SCHEDRT_READY;
}

/* block_on body: spawns go to the injection queue (main thread), then a blocking recv. */
static schedrt_poll sml_main(schedrt_task *task, void *arg) {
  (void)task;
  struct sml *s = arg;
  for (int i = 0; i < NUM_SPAWN; i++)
    CHECK(schedrt_spawn(s->rt, sml_task, s));
  chan_recv(&s->ch);
  return SCHEDRT_READY;
}

static void sml_body(void *ctx) {
  struct sml *s = ctx;
  atomic_store_explicit(&s->rem, NUM_SPAWN, RELAXED);
  CHECK(schedrt_block_on(s->rt, sml_main, s, NULL));
}

static void spawn_many_local(void) {
  struct sml s;
  s.rt = rt_new();
  chan_init(&s.ch, 1000);
  atomic_init(&s.rem, 0);
  measure("spawn_many_local", NUM_SPAWN, NULL, sml_body, &s);
  schedrt_runtime_destroy(s.rt);
  chan_destroy(&s.ch);
}

/* ------------------------------------------------ spawn_many_remote_* */

struct smr {
  schedrt_runtime *rt;
  size_t n, next;
  schedrt_handle **handles;
};

/* block_on body: await each handle in spawn order (and drop it). */
static schedrt_poll smr_await(schedrt_task *task, void *arg) {
  struct smr *s = arg;
  while (s->next < s->n) {
    void *res = NULL;
    if (schedrt_handle_poll(s->handles[s->next], task, &res) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    schedrt_handle_release(s->handles[s->next]);
    s->handles[s->next++] = NULL;
  }
  return SCHEDRT_READY;
}

static void smr_body(void *ctx) {
  struct smr *s = ctx;
  /* From the main thread, outside block_on: the injection queue. */
  for (size_t i = 0; i < s->n; i++)
    CHECK(schedrt_spawn_ex(s->rt, empty_task, NULL, NULL, &s->handles[i]));
  s->next = 0;
  CHECK(schedrt_block_on(s->rt, smr_await, s, NULL));
}

static void smr_init(struct smr *s, schedrt_runtime *rt, size_t n) {
  s->rt = rt;
  s->n = n;
  s->next = 0;
  s->handles = calloc(n, sizeof *s->handles);
  if (!s->handles)
    fatal("out of memory");
}

static void spawn_many_remote_idle(void) {
  struct smr s;
  smr_init(&s, rt_new(), NUM_SPAWN);
  measure("spawn_many_remote_idle", NUM_SPAWN, NULL, smr_body, &s);
  schedrt_runtime_destroy(s.rt);
  free(s.handles);
}

/* busy1: 2 x workers tasks `while flag { yield_now().await; stall() }`. */
struct busy1_task {
  _Atomic bool *flag;
  bool resumed;
};

static schedrt_poll busy1_fn(schedrt_task *task, void *arg) {
  struct busy1_task *b = arg;
  if (b->resumed) { /* back from yield_now() */
    b->resumed = false;
    stall();
  }
  if (!atomic_load_explicit(b->flag, RELAXED))
    return SCHEDRT_READY;
  b->resumed = true;
  return schedrt_yield(task);
}

static void spawn_many_remote_busy1(void) {
  schedrt_runtime *rt = rt_new();
  _Atomic bool flag;
  atomic_init(&flag, true);
  uint32_t nbg = 2 * g_cfg.workers;
  struct busy1_task *bg = calloc(nbg, sizeof *bg);
  if (!bg)
    fatal("out of memory");
  for (uint32_t i = 0; i < nbg; i++) {
    bg[i].flag = &flag;
    bg[i].resumed = false;
    CHECK(schedrt_spawn(rt, busy1_fn, &bg[i]));
  }
  struct smr s;
  smr_init(&s, rt, NUM_SPAWN);
  measure("spawn_many_remote_busy1", NUM_SPAWN, &flag, smr_body, &s);
  atomic_store_explicit(&flag, false, RELAXED);
  schedrt_runtime_destroy(rt);
  free(s.handles);
  free(bg);
}

/* busy2: `workers` chains, each task `if flag { stall(); spawn(next) }` from a worker. */
static schedrt_poll busy2_iter(schedrt_task *task, void *arg) {
  _Atomic bool *flag = arg;
  if (atomic_load_explicit(flag, RELAXED)) {
    stall();
    CHECK_BG(schedrt_spawn(schedrt_task_runtime(task), busy2_iter, flag));
  }
  return SCHEDRT_READY;
}

static schedrt_poll busy2_start(schedrt_task *task, void *arg) {
  CHECK_BG(schedrt_spawn(schedrt_task_runtime(task), busy2_iter, arg));
  return SCHEDRT_READY;
}

static void spawn_many_remote_busy2(void) {
  schedrt_runtime *rt = rt_new();
  _Atomic bool flag;
  atomic_init(&flag, true);
  for (uint32_t i = 0; i < g_cfg.workers; i++)
    CHECK(schedrt_spawn(rt, busy2_start, (void *)&flag));
  struct smr s;
  smr_init(&s, rt, BUSY2_SPAWN);
  measure("spawn_many_remote_busy2", BUSY2_SPAWN, &flag, smr_body, &s);
  atomic_store_explicit(&flag, false, RELAXED);
  schedrt_runtime_destroy(rt);
  free(s.handles);
}

/* ------------------------------------------------------------ ping_pong */

struct pp {
  schedrt_runtime *rt;
  struct stdchan done;
  _Atomic size_t rem;
};

/* One pair task P and its responder R share this (two oneshots: tokio allocates them too). */
struct pp_pair {
  struct pp *ctx;
  bool started; /* P only */
  _Atomic int refs;
  schedrt_oneshot ping, pong;
};

static void pp_pair_unref(struct pp_pair *p) {
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    schedrt_oneshot_destroy(&p->ping);
    schedrt_oneshot_destroy(&p->pong);
    free(p);
  }
}

/* R: rx1.await; tx2.send(()) */
static schedrt_poll pp_responder(schedrt_task *task, void *arg) {
  struct pp_pair *p = arg;
  void *v = NULL;
  if (schedrt_oneshot_recv(&p->ping, task, &v) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  if (v != p)
    fatal("ping_pong: wrong value on the ping oneshot");
  CHECK(schedrt_oneshot_send(&p->pong, p));
  pp_pair_unref(p);
  return SCHEDRT_READY;
}

/* P: spawn R; tx1.send(()); rx2.await; if last, done.send(()) */
static schedrt_poll pp_pair_fn(schedrt_task *task, void *arg) {
  struct pp_pair *p = arg;
  if (!p->started) {
    p->started = true;
    schedrt_oneshot_init(&p->ping);
    schedrt_oneshot_init(&p->pong);
    atomic_init(&p->refs, 2);
    CHECK(schedrt_spawn(schedrt_task_runtime(task), pp_responder, p));
    CHECK(schedrt_oneshot_send(&p->ping, p));
  }
  void *v = NULL;
  if (schedrt_oneshot_recv(&p->pong, task, &v) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  if (v != p)
    fatal("ping_pong: wrong value on the pong oneshot");
  struct pp *ctx = p->ctx;
  pp_pair_unref(p);
  if (atomic_fetch_sub_explicit(&ctx->rem, 1, RELAXED) == 1)
    chan_send(&ctx->done);
  return SCHEDRT_READY;
}

/* A: spawns the 1,000 pair tasks (from a worker). */
static schedrt_poll pp_spawner(schedrt_task *task, void *arg) {
  struct pp *ctx = arg;
  for (int i = 0; i < NUM_PINGS; i++) {
    struct pp_pair *p = malloc(sizeof *p);
    if (!p)
      fatal("out of memory");
    p->ctx = ctx;
    p->started = false;
    CHECK(schedrt_spawn(schedrt_task_runtime(task), pp_pair_fn, p));
  }
  return SCHEDRT_READY;
}

static schedrt_poll pp_main(schedrt_task *task, void *arg) {
  (void)task;
  struct pp *ctx = arg;
  CHECK(schedrt_spawn(ctx->rt, pp_spawner, ctx));
  chan_recv(&ctx->done);
  return SCHEDRT_READY;
}

static void pp_body(void *arg) {
  struct pp *ctx = arg;
  atomic_store_explicit(&ctx->rem, NUM_PINGS, RELAXED);
  CHECK(schedrt_block_on(ctx->rt, pp_main, ctx, NULL));
}

static void ping_pong(void) {
  struct pp ctx;
  ctx.rt = rt_new();
  chan_init(&ctx.done, 1000);
  atomic_init(&ctx.rem, 0);
  measure("ping_pong", NUM_PINGS, NULL, pp_body, &ctx);
  schedrt_runtime_destroy(ctx.rt);
  chan_destroy(&ctx.done);
}

/* ----------------------------------------------------------- yield_many */

struct ym;
struct ym_task {
  struct ym *ctx;
  int yields;
};
struct ym {
  schedrt_runtime *rt;
  struct stdchan ch;
  struct ym_task tasks[YIELD_TASKS];
};

static schedrt_poll ym_fn(schedrt_task *task, void *arg) {
  struct ym_task *t = arg;
  if (t->yields < NUM_YIELD) {
    t->yields++;
    return schedrt_yield(task);
  }
  chan_send(&t->ctx->ch);
  return SCHEDRT_READY;
}

static void ym_body(void *arg) {
  struct ym *ctx = arg;
  for (int i = 0; i < YIELD_TASKS; i++) {
    ctx->tasks[i].ctx = ctx;
    ctx->tasks[i].yields = 0;
    CHECK(schedrt_spawn(ctx->rt, ym_fn, &ctx->tasks[i]));
  }
  for (int i = 0; i < YIELD_TASKS; i++)
    chan_recv(&ctx->ch);
}

static void yield_many(void) {
  struct ym *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    fatal("out of memory");
  ctx->rt = rt_new();
  chan_init(&ctx->ch, YIELD_TASKS);
  measure("yield_many", (uint64_t)YIELD_TASKS * NUM_YIELD, NULL, ym_body, ctx);
  schedrt_runtime_destroy(ctx->rt);
  chan_destroy(&ctx->ch);
  free(ctx);
}

/* -------------------------------------------------------- chained_spawn */

struct chain;
struct chain_link {
  struct chain *ctx;
  int n;
};
struct chain {
  schedrt_runtime *rt;
  struct stdchan done;
  struct chain_link links[CHAIN_ITER + 1]; /* T(n)'s state, n = 0..CHAIN_ITER */
};

/* T(n): if n == 0 { done.send(()) } else { spawn(T(n - 1)) } */
static schedrt_poll chain_fn(schedrt_task *task, void *arg) {
  struct chain_link *l = arg;
  if (l->n == 0)
    chan_send(&l->ctx->done);
  else
    CHECK(schedrt_spawn(schedrt_task_runtime(task), chain_fn, &l->ctx->links[l->n - 1]));
  return SCHEDRT_READY;
}

static schedrt_poll chain_main(schedrt_task *task, void *arg) {
  (void)task;
  struct chain *ctx = arg;
  CHECK(schedrt_spawn(ctx->rt, chain_fn, &ctx->links[CHAIN_ITER]));
  chan_recv(&ctx->done);
  return SCHEDRT_READY;
}

static void chain_body(void *arg) {
  struct chain *ctx = arg;
  CHECK(schedrt_block_on(ctx->rt, chain_main, ctx, NULL));
}

static void chained_spawn(void) {
  struct chain *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    fatal("out of memory");
  ctx->rt = rt_new();
  chan_init(&ctx->done, 1000);
  for (int i = 0; i <= CHAIN_ITER; i++)
    ctx->links[i] = (struct chain_link){ctx, i};
  measure("chained_spawn", CHAIN_ITER, NULL, chain_body, ctx);
  schedrt_runtime_destroy(ctx->rt);
  chan_destroy(&ctx->done);
  free(ctx);
}

/* ---------------------------------------------------- spawn_local_empty */

struct padded_counter {
  _Atomic uint64_t n;
  char pad[64 - sizeof(uint64_t)];
};

struct sle {
  schedrt_runtime *rt;
  uint32_t nworkers;
  struct padded_counter *ran; /* per worker: tasks run there (single writer) */
  int spawned;
};

/* The "empty" task: counts itself on its worker's private counter. */
static schedrt_poll sle_task(schedrt_task *task, void *arg) {
  (void)task;
  struct sle *s = arg;
  int w = schedrt_worker_index();
  if (w < 0 || (uint32_t)w >= s->nworkers)
    fatal("spawn_local_empty: task polled off the workers");
  _Atomic uint64_t *n = &s->ran[w].n;
  atomic_store_explicit(n, atomic_load_explicit(n, RELAXED) + 1, RELAXED);
  return SCHEDRT_READY;
}

/* Runs on a worker: spawns LOCAL_BATCH tasks per poll, yields behind them, until all ran. */
static schedrt_poll sle_spawner(schedrt_task *task, void *arg) {
  struct sle *s = arg;
  if (s->spawned < LOCAL_SPAWN) {
    int b = LOCAL_SPAWN - s->spawned < LOCAL_BATCH ? LOCAL_SPAWN - s->spawned : LOCAL_BATCH;
    for (int i = 0; i < b; i++)
      CHECK(schedrt_spawn(s->rt, sle_task, s));
    s->spawned += b;
    return schedrt_yield(task);
  }
  uint64_t sum = 0;
  for (uint32_t i = 0; i < s->nworkers; i++)
    sum += atomic_load_explicit(&s->ran[i].n, RELAXED);
  if (sum < LOCAL_SPAWN)
    return schedrt_yield(task); /* some were stolen and still run */
  if (sum != LOCAL_SPAWN)
    fatal("spawn_local_empty: tasks ran more than once");
  return SCHEDRT_READY;
}

static void sle_body(void *arg) {
  struct sle *s = arg;
  for (uint32_t i = 0; i < s->nworkers; i++)
    atomic_store_explicit(&s->ran[i].n, 0, RELAXED);
  s->spawned = 0;
  schedrt_handle *h = NULL;
  CHECK(schedrt_spawn_ex(s->rt, sle_spawner, s, NULL, &h));
  CHECK(schedrt_join(h, UINT64_MAX, NULL));
}

static void spawn_local_empty(void) {
  struct sle s;
  s.rt = rt_new();
  s.nworkers = schedrt_runtime_nworkers(s.rt);
  s.ran = aligned_alloc(64, s.nworkers * sizeof *s.ran);
  if (!s.ran)
    fatal("out of memory");
  for (uint32_t i = 0; i < s.nworkers; i++)
    atomic_init(&s.ran[i].n, 0);
  s.spawned = 0;
  measure("spawn_local_empty", LOCAL_SPAWN, NULL, sle_body, &s);
  schedrt_runtime_destroy(s.rt);
  free(s.ran);
}

/* ---------------------------------------------------------- wake_remote */

struct wr {
  schedrt_runtime *rt;
  bool armed; /* task only */
  _Atomic(schedrt_waker *) waker;
  _Atomic uint64_t polls;
  _Atomic bool stop;
};

/* Parks until woken; counts its polls; READY once stop is set. */
static schedrt_poll wr_task(schedrt_task *task, void *arg) {
  struct wr *s = arg;
  if (!s->armed) {
    s->armed = true;
    atomic_store_explicit(&s->waker, schedrt_waker_get(task), memory_order_release);
  }
  atomic_store_explicit(&s->polls, atomic_load_explicit(&s->polls, RELAXED) + 1, memory_order_release);
  if (atomic_load_explicit(&s->stop, memory_order_acquire))
    return SCHEDRT_READY;
  return SCHEDRT_PENDING;
}

static void wr_wait_poll(struct wr *s, uint64_t before) {
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (atomic_load_explicit(&s->polls, memory_order_acquire) != before)
        return;
      cpu_relax();
    }
    sched_yield();
  }
}

static void wr_body(void *arg) {
  struct wr *s = arg;
  schedrt_waker *w = atomic_load_explicit(&s->waker, memory_order_acquire);
  for (int i = 0; i < REMOTE_WAKES; i++) {
    uint64_t before = atomic_load_explicit(&s->polls, memory_order_acquire);
    schedrt_wake_by_ref(w);
    wr_wait_poll(s, before);
  }
}

static void wake_remote(void) {
  struct wr s;
  s.rt = rt_new();
  s.armed = false;
  atomic_init(&s.waker, NULL);
  atomic_init(&s.polls, 0);
  atomic_init(&s.stop, false);
  schedrt_handle *h = NULL;
  CHECK(schedrt_spawn_ex(s.rt, wr_task, &s, NULL, &h));
  wr_wait_poll(&s, 0); /* first poll published the waker */
  measure("wake_remote", REMOTE_WAKES, NULL, wr_body, &s);
  atomic_store_explicit(&s.stop, true, memory_order_release);
  schedrt_waker *w = atomic_load_explicit(&s.waker, memory_order_acquire);
  schedrt_wake_by_ref(w);
  CHECK(schedrt_join(h, UINT64_MAX, NULL));
  schedrt_waker_drop(w);
  schedrt_runtime_destroy(s.rt);
}

/* ---------------------------------------------- spawn_blocking_roundtrip */

/*
 * A task on a worker runs 1,000 blocking jobs one after another, each spawned
 * with schedrt_spawn_blocking and awaited through its handle: the round trip
 * worker -> pool thread -> worker, as bench/peers/tokio-blocking does with
 * tokio::task::spawn_blocking(..).await. main waits on a std channel inside
 * block_on, as chained_spawn does.
 */
#define SBR_ITER 1000
struct sbr {
  schedrt_runtime *rt;
  struct stdchan done;
  schedrt_handle *h;
  uintptr_t i;
};

static void *sbr_job(void *arg) { return arg; }

static schedrt_poll sbr_task(schedrt_task *task, void *arg) {
  struct sbr *s = arg;
  for (;;) {
    if (s->h) {
      void *r;
      if (schedrt_handle_poll(s->h, task, &r) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      schedrt_handle_release(s->h);
      s->h = NULL;
      if ((uintptr_t)r != s->i)
        fatal("spawn_blocking_roundtrip: wrong result");
      if (++s->i == SBR_ITER) {
        chan_send(&s->done);
        return SCHEDRT_READY;
      }
    }
    CHECK(schedrt_spawn_blocking_ex(s->rt, sbr_job, (void *)s->i, NULL, &s->h));
  }
}

static schedrt_poll sbr_main(schedrt_task *task, void *arg) {
  (void)task;
  struct sbr *s = arg;
  s->i = 0;
  s->h = NULL;
  CHECK(schedrt_spawn(s->rt, sbr_task, s));
  chan_recv(&s->done);
  return SCHEDRT_READY;
}

static void sbr_body(void *arg) {
  struct sbr *s = arg;
  CHECK(schedrt_block_on(s->rt, sbr_main, s, NULL));
}

static void spawn_blocking_roundtrip(void) {
  struct sbr s = {.rt = rt_new()};
  chan_init(&s.done, 1000);
  measure("spawn_blocking_roundtrip", SBR_ITER, NULL, sbr_body, &s);
  schedrt_runtime_destroy(s.rt);
  chan_destroy(&s.done);
}

/* --------------------------------------------------------- channel_mpsc */

/*
 * P producer tasks send N messages each through a bounded channel of
 * capacity 64 into one consumer task; an iteration creates the channel,
 * spawns them from the main thread and joins the consumer, which ends when
 * the last producer dropped its sender. Peers: tokio::sync::mpsc::channel(64)
 * with tokio::spawn, Go's make(chan int, 64) with goroutines
 * (bench/peers/tokio-mpsc, bench/peers/go-chan). ns per message.
 */
#define MPSC_PRODUCERS 4
#define MPSC_MESSAGES 10000 /* per producer */
#define MPSC_CAPACITY 64

struct mpsc;
struct mpsc_prod {
  struct mpsc *ctx;
  schedrt_sender *tx;
  uint64_t next, ticket;
};
struct mpsc {
  schedrt_runtime *rt;
  schedrt_channel *rx;
  uint64_t received;
  struct mpsc_prod prod[MPSC_PRODUCERS];
};

static schedrt_poll mpsc_producer(schedrt_task *task, void *arg) {
  struct mpsc_prod *p = arg;
  while (p->next < MPSC_MESSAGES) {
    int st;
    if (schedrt_channel_send(p->tx, task, (void *)(uintptr_t)(p->next + 1), &p->ticket, &st) ==
        SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (st)
      die("channel_send", st);
    p->next++;
  }
  schedrt_sender_drop(p->tx);
  return SCHEDRT_READY;
}

static schedrt_poll mpsc_consumer(schedrt_task *task, void *arg) {
  struct mpsc *ctx = arg;
  for (;;) {
    void *v;
    int st;
    if (schedrt_channel_recv(ctx->rx, task, &v, &st) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (st == -EPIPE)
      return SCHEDRT_READY;
    ctx->received++;
  }
}

static void mpsc_body(void *arg) {
  struct mpsc *ctx = arg;
  schedrt_sender *tx;
  CHECK(schedrt_channel_create(MPSC_CAPACITY, &ctx->rx, &tx));
  ctx->received = 0;
  schedrt_handle *h;
  CHECK(schedrt_spawn_ex(ctx->rt, mpsc_consumer, ctx, NULL, &h));
  for (int i = 0; i < MPSC_PRODUCERS; i++) {
    ctx->prod[i] = (struct mpsc_prod){ctx, schedrt_sender_clone(tx), 0, 0};
    CHECK(schedrt_spawn(ctx->rt, mpsc_producer, &ctx->prod[i]));
  }
  schedrt_sender_drop(tx);
  CHECK(schedrt_join(h, UINT64_MAX, NULL));
  if (ctx->received != (uint64_t)MPSC_PRODUCERS * MPSC_MESSAGES)
    fatal("channel_mpsc: messages lost");
  schedrt_channel_destroy(ctx->rx);
}

static void channel_mpsc(void) {
  struct mpsc ctx = {.rt = rt_new()};
  measure("channel_mpsc", (uint64_t)MPSC_PRODUCERS * MPSC_MESSAGES, NULL, mpsc_body, &ctx);
  schedrt_runtime_destroy(ctx.rt);
}

/* ------------------------------------------------------------------ main */

struct workload {
  const char *name;
  void (*run)(void);
  const char *help;
};

static const struct workload workloads[] = {
    {"spawn_many_local", spawn_many_local,
     "block_on: spawn 10,000 tasks (injection queue), recv on a std channel"},
    {"spawn_many_remote_idle", spawn_many_remote_idle,
     "spawn 10,000 empty tasks from main, await handles in block_on"},
    {"spawn_many_remote_busy1", spawn_many_remote_busy1,
     "as remote_idle while 2 x workers tasks yield+stall"},
    {"spawn_many_remote_busy2", spawn_many_remote_busy2,
     "1,000 remote spawns while workers chains stall+respawn (LIFO)"},
    {"ping_pong", ping_pong, "1,000 pair tasks, each a round trip over two oneshots with a responder"},
    {"yield_many", yield_many, "200 tasks x 1,000 yields"},
    {"chained_spawn", chained_spawn, "a chain of 1,000 tasks, each spawning the next"},
    {"spawn_local_empty", spawn_local_empty,
     "schedrt-only: a worker task spawns 10,000 empty tasks locally (batches of 128)"},
    {"wake_remote", wake_remote, "schedrt-only: main thread wakes a parked task 1,000 times (round trips)"},
    {"spawn_blocking_roundtrip", spawn_blocking_roundtrip,
     "a task awaits 1,000 spawn_blocking jobs one after another (peer: bench/peers/tokio-blocking)"},
    {"channel_mpsc", channel_mpsc,
     "4 producer tasks x 10,000 messages through a bounded channel (capacity 64) into one consumer task"},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static void usage(FILE *f) {
  fprintf(f, "usage: schedrt-bench [--help] [workload ...]   (no workload: all)\n"
             "Prints `schedrt <workload> <median_ns_per_iter> <ns_per_op>` per workload\n"
             "(DNF DNF if it did not finish; the reason goes to stderr).\n\nworkloads:\n");
  for (size_t i = 0; i < NWORKLOADS; i++)
    fprintf(f, "  %-24s %s\n", workloads[i].name, workloads[i].help);
  fprintf(f,
          "\nenvironment (as the peer ports):\n"
          "  BENCH_WARMUP_ITERS (5)  BENCH_WARMUP_MS (200)  BENCH_MIN_ITERS (51)\n"
          "  BENCH_MIN_MS (500)  BENCH_MAX_ITERS (100000)\n"
          "  BENCH_WORKERS (%d)  BENCH_SCHEDRT_FLAGS (0: SCHEDRT_CFG_* mask; 1 no LIFO, 2 no metrics, 4 no "
          "dump, 8 timing)\n"
          "  SCHEDRT_TIMING=1: time polls; then `schedrt-lat <workload> <p50_ns> <p99_ns>` follows each\n"
          "  result: the schedule latency (woken to polled) of the timed iterations\n",
          NUM_WORKERS);
}

int main(int argc, char **argv) {
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
      usage(stdout);
      return 0;
    }
    size_t i = 0;
    while (i < NWORKLOADS && strcmp(argv[a], workloads[i].name) != 0)
      i++;
    if (i == NWORKLOADS) {
      fprintf(stderr, "schedrt-bench: unknown workload '%s'\n", argv[a]);
      usage(stderr);
      return 2;
    }
  }
  cfg_from_env(&g_cfg);
  for (size_t i = 0; i < NWORKLOADS; i++) {
    bool want = argc < 2;
    for (int a = 1; a < argc; a++)
      want = want || strcmp(argv[a], workloads[i].name) == 0;
    if (want)
      workloads[i].run();
  }
  return 0;
}
