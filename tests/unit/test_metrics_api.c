/*
 * Metric semantics, translated from Tokio's own tests (tokio 1.48:
 * tests/rt_metrics.rs, rt_unstable_metrics.rs, rt_threaded.rs and
 * src/runtime/tests/queue.rs; a test's name is its Tokio test's, after a
 * caseNN that numbers the behaviours translated), through the
 * in-process API and, where Tokio reads after dropping the runtime, through
 * a segment reader opened before the drop (its mapping outlives the unlink).
 * Tokio's current-thread flavour has no equivalent here: those halves are
 * left out. MT = 2 workers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics_util.h"
#include "schedrt.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/reader.h"
#include "stress.h"

/* The task-dump accessor (runtime/src/metrics.h), reached through the static library. */
int schedrt__metrics_poll_info(schedrt_runtime *rt, uint32_t worker, uint64_t *task_id, uint64_t *since_ns,
                               bool *exact);

/* ---------------------------------------------------------------- helpers */

static schedrt_runtime *make_rt(uint32_t nworkers, uint32_t flags) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.flags = flags;
  cfg.name = "metrics-test";
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "create: %s", schedrt_strerror(rc));
  return rt;
}

static uint64_t metric_sum(schedrt_runtime *rt, int id) {
  uint64_t s = 0;
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(rt); w++)
    s += metric(rt, id, w);
  return s;
}

/* Every worker parked: their counters are published (Tokio submits before parking). */
static bool all_parked(schedrt_runtime *rt) {
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(rt); w++)
    if (metric(rt, SCHEDRT_M_state, w) != SCHEDRT_WSTATE_PARKED)
      return false;
  return true;
}

static void wait_parked(schedrt_runtime *rt) {
  bool ok;
  STRESS_WAIT_UNTIL(ok, all_parked(rt), 10.0);
  cr_assert(ok, "workers did not park");
}

static schedrt_poll noop_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

static void spawn_and_join(schedrt_runtime *rt, schedrt_task_fn fn, void *arg) {
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, fn, arg, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, 10ull * 1000000000u, NULL), 0);
}

/* A task that blocks its worker thread until released (Tokio's "blocks on a channel"). */
struct blocker {
  sem_t release;
  _Atomic int entered;
  _Atomic int worker;
  _Atomic uint64_t ids[2]; /* task id by worker index (workers 0 and 1) */
};

static schedrt_poll blocker_fn(schedrt_task *t, void *arg) {
  struct blocker *b = arg;
  int wi = schedrt_worker_index();
  atomic_store(&b->worker, wi);
  if (wi >= 0 && wi < 2)
    atomic_store(&b->ids[wi], schedrt_task_id(t));
  atomic_fetch_add(&b->entered, 1);
  stress_sem_wait(&b->release, 20.0);
  return SCHEDRT_READY;
}

/* Blocks n workers; returns when all n are inside their blocker. */
static void block_workers(schedrt_runtime *rt, struct blocker *b, int n) {
  sem_init(&b->release, 0, 0);
  atomic_store(&b->entered, 0);
  for (int i = 0; i < n; i++)
    cr_assert_eq(schedrt_spawn(rt, blocker_fn, b), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&b->entered) == n, 10.0);
  cr_assert(ok, "workers not blocked");
}

static void release_workers(struct blocker *b, int n) {
  for (int i = 0; i < n; i++)
    sem_post(&b->release);
}

/* -------------------------------------------------------------- the API */

Test(metrics_api, features_version_and_table) {
  cr_assert(schedrt_features() & SCHEDRT_FEATURE_METRICS);
  cr_assert_str_eq(schedrt_version(), SCHEDRT_VERSION_STRING);
  cr_assert_eq(schedrt_metric_count(), SCHEDRT_M__COUNT);
  cr_assert_str_eq(schedrt_metric_info(SCHEDRT_M_polls)->name, "polls");
  cr_assert_eq(schedrt_metric_info(SCHEDRT_M_polls)->kind, SCHEDRT_METRIC_COUNTER);
  cr_assert_eq(schedrt_metric_info(SCHEDRT_M_inject_depth)->scope, SCHEDRT_SCOPE_GLOBAL);
  cr_assert_eq(schedrt_metric_info(SCHEDRT_M_poll_time)->kind, SCHEDRT_METRIC_HISTOGRAM);
  cr_assert_null(schedrt_metric_info(SCHEDRT_M__COUNT));
}

Test(metrics_api, bad_arguments) {
  schedrt_runtime *rt = make_rt(2, 0);
  uint64_t v, b[4];
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M__COUNT, 0, &v), -EINVAL);
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_polls, 2, &v), -EINVAL);
  cr_assert_eq(schedrt_metric_read(NULL, SCHEDRT_M_polls, 0, &v), -EINVAL);
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_spawned, 99, &v), 0); /* worker ignored for globals */
  cr_assert_eq(schedrt_metric_histogram(rt, SCHEDRT_M_polls, 0, b, 4), -EINVAL);
  cr_assert_eq(schedrt_metric_histogram(rt, SCHEDRT_M_poll_time, 5, b, 4), -EINVAL);
  cr_assert_eq(schedrt_metric_histogram(rt, SCHEDRT_M_poll_time, 0, b, 4), 0);
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, segment_name_identifies_the_process) {
  schedrt_runtime *rt = make_rt(1, 0);
  const char *name = schedrt_metrics_segment(rt);
  cr_assert_not_null(name);
  unsigned uid, pid, n;
  unsigned long long start;
  cr_assert_eq(sscanf(name, "/schedrt.%u.%u.%llu.%u", &uid, &pid, &start, &n), 4, "%s", name);
  cr_assert_eq(uid, (unsigned)geteuid());
  cr_assert_eq(pid, (unsigned)getpid());
  schedrt_runtime *rt2 = make_rt(1, 0);
  cr_assert_str_neq(schedrt_metrics_segment(rt2), name, "two runtimes, two segments");
  schedrt_runtime_destroy(rt2);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------- Tokio's cases */

Test(metrics_api, case01_num_workers) {
  schedrt_runtime *rt = make_rt(2, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_nworkers, 0), 2);
  schedrt_runtime_destroy(rt);
  rt = make_rt(1, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_nworkers, 0), 1);
  schedrt_runtime_destroy(rt);
}

struct probe {
  schedrt_runtime *rt;
  int id;
  _Atomic uint64_t seen;
};

static schedrt_poll probe_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct probe *p = arg;
  uint64_t v = 0;
  if (schedrt_metric_read(p->rt, (size_t)p->id, 0, &v) == 0)
    atomic_store(&p->seen, v);
  return SCHEDRT_READY;
}

Test(metrics_api, case02_num_alive_tasks) {
  schedrt_runtime *rt = make_rt(2, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_alive, 0), 0);
  struct probe p = {.rt = rt, .id = SCHEDRT_M_alive};
  spawn_and_join(rt, probe_fn, &p);
  cr_assert_eq(atomic_load(&p.seen), 1, "inside the only task");
  bool ok;
  STRESS_WAIT_UNTIL(ok, metric(rt, SCHEDRT_M_alive, 0) == 0, 10.0);
  cr_assert(ok, "alive after join");
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, case04_injection_queue_depth) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct blocker b;
  block_workers(rt, &b, 2);
  for (uint64_t i = 0; i < 10; i++) {
    cr_assert_eq(metric(rt, SCHEDRT_M_inject_depth, 0), i);
    cr_assert_eq(schedrt_spawn(rt, noop_fn, NULL), 0);
  }
  cr_assert_eq(metric(rt, SCHEDRT_M_inject_depth, 0), 10);
  /* The published copy (monitor, every period) catches up too. */
  schedrt_reader *r = open_own_segment(rt);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, schedrt_snapshot_take(r, 0, &s) == 0 && s.global.inject_depth == 10, 5.0);
  cr_assert(ok, "published inject_depth %llu", (unsigned long long)s.global.inject_depth);
  /* Both workers are inside a poll: state RUNNING. A poll that lasts more
   * than a monitor period gets its task named, with a "since", its name and
   * its spawn site, by the monitor (within two periods). */
  for (uint32_t w = 0; w < 2; w++)
    cr_assert_eq(s.workers[w].state, SCHEDRT_WSTATE_RUNNING);
  STRESS_WAIT_UNTIL(ok,
                    schedrt_snapshot_take(r, 0, &s) == 0 && s.workers[0].current_task != 0 &&
                        s.workers[1].current_task != 0,
                    5.0);
  cr_assert(ok, "no task named for a stuck poll");
  for (uint32_t w = 0; w < 2; w++) {
    const schedrt_worker_snap *x = &s.workers[w];
    cr_assert_eq(x->current_task, atomic_load(&b.ids[w]), "worker %u: the blocker's task", w);
    cr_assert_neq(x->current_since_ns, 0);
    cr_assert_leq(x->current_since_ns, s.writer_now_ns);
    cr_assert_str_eq(x->current_name, "");
    cr_assert(strstr(x->current_file, "test_metrics_api.c") != NULL, "file '%s'", x->current_file);
    cr_assert_gt(x->current_line, 0);
    /* The in-process API says the same. */
    cr_assert_eq(metric(rt, SCHEDRT_M_current_task, w), x->current_task);
  }
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  release_workers(&b, 2);
  STRESS_WAIT_UNTIL(ok, metric(rt, SCHEDRT_M_inject_depth, 0) == 0, 10.0);
  cr_assert(ok);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll yield_once_fn(schedrt_task *t, void *arg) {
  int *state = arg;
  if ((*state)++ == 0)
    return schedrt_yield(t);
  return SCHEDRT_READY;
}

Test(metrics_api, case05_busy_duration) {
  schedrt_runtime *rt = make_rt(2, 0);
  for (int i = 0; i < 5; i++) {
    int st = 0;
    spawn_and_join(rt, yield_once_fn, &st);
  }
  wait_parked(rt);
  for (uint32_t w = 0; w < 2; w++)
    cr_assert_gt(metric(rt, SCHEDRT_M_busy_ns, w), 0, "worker %u", w);
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, case06_07_15_park_unpark_noop) {
  schedrt_runtime *rt = make_rt(2, 0);
  wait_parked(rt);
  /* Case 7: after start and idle, parks + unparks == 1 (odd: parked). */
  for (uint32_t w = 0; w < 2; w++) {
    cr_assert_eq(metric(rt, SCHEDRT_M_parks, w) + metric(rt, SCHEDRT_M_unparks, w), 1, "worker %u", w);
    cr_assert_geq(metric(rt, SCHEDRT_M_parks, w), 1); /* case 6 */
  }
  spawn_and_join(rt, noop_fn, NULL);
  bool ok;
  STRESS_WAIT_UNTIL(ok,
                    all_parked(rt) &&
                        (metric(rt, SCHEDRT_M_parks, 0) + metric(rt, SCHEDRT_M_unparks, 0) >= 3 ||
                         metric(rt, SCHEDRT_M_parks, 1) + metric(rt, SCHEDRT_M_unparks, 1) >= 3),
                    10.0);
  cr_assert(ok, "no worker woke for the task");
  schedrt_reader *r = open_own_segment(rt);
  schedrt_runtime_destroy(rt);
  /* After the drop (read through our mapping of the unlinked segment). */
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.seg_state, 2 /* EXITING */);
  bool some4 = false;
  for (uint32_t w = 0; w < 2; w++) {
    uint64_t pu = s.workers[w].parks + s.workers[w].unparks;
    cr_assert_eq(pu % 2, 0, "worker %u: parks+unparks %llu after drop", w, (unsigned long long)pu);
    some4 |= pu >= 4;
    cr_assert_gt(s.workers[w].noop_unparks, 0, "case 15: worker %u", w);
    cr_assert_eq(s.workers[w].state, SCHEDRT_WSTATE_STOPPED);
  }
  cr_assert(some4);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(metrics_api, case11_spawned_tasks_count) {
  schedrt_runtime *rt = make_rt(2, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_spawned, 0), 0);
  struct probe p = {.rt = rt, .id = SCHEDRT_M_spawned};
  spawn_and_join(rt, probe_fn, &p);
  cr_assert_eq(atomic_load(&p.seen), 1);
  cr_assert_eq(metric(rt, SCHEDRT_M_spawned, 0), 1);
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, case12_remote_schedule_count) {
  schedrt_runtime *rt = make_rt(2, 0);
  spawn_and_join(rt, noop_fn, NULL);
  cr_assert_eq(metric(rt, SCHEDRT_M_remote_schedules, 0), 1);
  schedrt_runtime_destroy(rt);
}

/* Case 16: a task spawns a child and blocks its worker until the child ran elsewhere. */
struct steal_ctx {
  schedrt_runtime *rt;
  sem_t child_ran;
  _Atomic int ok;
};

static schedrt_poll steal_child_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct steal_ctx *c = arg;
  sem_post(&c->child_ran);
  return SCHEDRT_READY;
}

static schedrt_poll steal_parent_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct steal_ctx *c = arg;
  if (schedrt_spawn(c->rt, steal_child_fn, c) == 0)
    atomic_store(&c->ok, stress_sem_wait(&c->child_ran, 5.0));
  return SCHEDRT_READY;
}

Test(metrics_api, case16_steal_count) {
  uint64_t steals = 0;
  for (int attempt = 0; attempt < 10; attempt++) { /* timing-sensitive, as in Tokio */
    schedrt_runtime *rt = make_rt(2, SCHEDRT_CFG_NO_LIFO);
    struct steal_ctx c = {.rt = rt};
    sem_init(&c.child_ran, 0, 0);
    spawn_and_join(rt, steal_parent_fn, &c);
    wait_parked(rt);
    steals = metric_sum(rt, SCHEDRT_M_steals);
    uint64_t ops = metric_sum(rt, SCHEDRT_M_steal_ops);
    schedrt_runtime_destroy(rt);
    sem_destroy(&c.child_ran);
    if (atomic_load(&c.ok) && steals == 1) {
      cr_assert_eq(ops, 1);
      return;
    }
  }
  cr_assert_fail("steal count %llu after 10 attempts", (unsigned long long)steals);
}

Test(metrics_api, case17_20_poll_count_and_disabled_histogram) {
  schedrt_runtime *rt = make_rt(2, 0);
  for (int i = 0; i < 5; i++)
    spawn_and_join(rt, noop_fn, NULL);
  cr_assert_eq(metric_sum(rt, SCHEDRT_M_polls), 5);
  uint64_t b[64];
  for (uint32_t w = 0; w < 2; w++)
    for (int h = SCHEDRT_M_poll_time; h <= SCHEDRT_M_sched_latency; h++) {
      cr_assert_eq(schedrt_metric_histogram(rt, (size_t)h, w, b, 64), 0);
      for (size_t i = 0; i < schedrt_histogram_buckets(); i++)
        cr_assert_eq(b[i], 0, "histogram disabled: all buckets 0");
    }
  schedrt_reader *r = open_own_segment(rt);
  cr_assert_eq(schedrt_reader_info(r)->features & (1u << 2) /* TIMING */, 0);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, case18_histogram_counts_every_poll) {
  schedrt_runtime *rt = make_rt(2, SCHEDRT_CFG_TIMING);
  enum { N = 50 };
  for (int i = 0; i < N; i++)
    spawn_and_join(rt, noop_fn, NULL);
  /* The poll-time bucket is bumped right after the poll returns, which may
   * be after our join saw the completion: wait for it. */
  bool ok;
  STRESS_WAIT_UNTIL(ok, metric_sum(rt, SCHEDRT_M_poll_time) == N, 10.0);
  cr_assert(ok, "poll_time total %llu", (unsigned long long)metric_sum(rt, SCHEDRT_M_poll_time));
  cr_assert_eq(metric_sum(rt, SCHEDRT_M_sched_latency), N);
  cr_assert_eq(metric_sum(rt, SCHEDRT_M_polls), N);
  schedrt_reader *r = open_own_segment(rt);
  cr_assert_neq(schedrt_reader_info(r)->features & (1u << 2), 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s), 0);
  uint64_t total = 0, v;
  for (uint32_t w = 0; w < 2; w++) {
    cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_poll_time, w, &v), 0);
    total += v;
  }
  cr_assert_eq(total, N);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
}

Test(metrics_api, case19_bucket_ranges) {
  size_t n = schedrt_histogram_buckets();
  cr_assert_eq(n, 62);
  cr_assert_eq(schedrt_histogram_upper_ns(0), 64);
  cr_assert_eq(schedrt_histogram_upper_ns(n - 1), UINT64_MAX);
  for (size_t i = 1; i < n; i++)
    cr_assert_gt(schedrt_histogram_upper_ns(i), schedrt_histogram_upper_ns(i - 1));
  /* Log scale: from 64 ns to about 68.7 s in factors of at most 1.5. */
  cr_assert_eq(schedrt_histogram_upper_ns(n - 2), 1ull << 36);
}

/* Cases 21 and 22 run from block_on, as Tokio's do. */
struct chain {
  schedrt_runtime *rt;
  schedrt_handle *a;
  schedrt_oneshot done;
  int step;
};

static schedrt_poll child_b_awaited(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

struct awaiter {
  schedrt_runtime *rt;
  schedrt_handle *b;
};

static schedrt_poll task_a_awaits_b(schedrt_task *t, void *arg) {
  struct awaiter *x = arg;
  if (!x->b && schedrt_spawn_ex(x->rt, child_b_awaited, NULL, NULL, &x->b) != 0)
    return SCHEDRT_READY;
  if (schedrt_handle_poll(x->b, t, NULL) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  schedrt_handle_release(x->b);
  return SCHEDRT_READY;
}

static schedrt_poll block_on_21(schedrt_task *t, void *arg) {
  struct chain *c = arg;
  static struct awaiter aw;
  if (c->step == 0) {
    aw = (struct awaiter){.rt = c->rt};
    if (schedrt_spawn_ex(c->rt, task_a_awaits_b, &aw, NULL, &c->a) != 0)
      return SCHEDRT_READY;
    c->step = 1;
  }
  if (schedrt_handle_poll(c->a, t, NULL) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  schedrt_handle_release(c->a);
  return SCHEDRT_READY;
}

Test(metrics_api, case21_local_schedule_count) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct chain c = {.rt = rt};
  cr_assert_eq(schedrt_block_on(rt, block_on_21, &c, NULL), 0);
  wait_parked(rt);
  cr_assert_eq(metric(rt, SCHEDRT_M_remote_schedules, 0), 1);
  uint64_t local = metric_sum(rt, SCHEDRT_M_local_schedules);
  /* B's spawn, and A's wake by B's completion unless B finished before A awaited it. */
  cr_assert(local == 1 || local == 2, "local %llu", (unsigned long long)local);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll task_b_sends(schedrt_task *t, void *arg) {
  (void)t;
  struct chain *c = arg;
  schedrt_oneshot_send(&c->done, c);
  return SCHEDRT_READY;
}

static schedrt_poll task_a_spawns_b(schedrt_task *t, void *arg) {
  (void)t;
  struct chain *c = arg;
  if (schedrt_spawn(c->rt, task_b_sends, c) != 0)
    schedrt_oneshot_send(&c->done, NULL);
  return SCHEDRT_READY;
}

static schedrt_poll block_on_22(schedrt_task *t, void *arg) {
  struct chain *c = arg;
  if (c->step == 0) {
    c->step = 1;
    if (schedrt_spawn(c->rt, task_a_spawns_b, c) != 0)
      return SCHEDRT_READY;
  }
  void *v;
  return schedrt_oneshot_recv(&c->done, t, &v);
}

Test(metrics_api, case22_spawn_two) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct chain c = {.rt = rt};
  schedrt_oneshot_init(&c.done);
  cr_assert_eq(schedrt_block_on(rt, block_on_22, &c, NULL), 0);
  schedrt_oneshot_destroy(&c.done);
  wait_parked(rt);
  cr_assert_eq(metric(rt, SCHEDRT_M_remote_schedules, 0), 1);
  cr_assert_eq(metric_sum(rt, SCHEDRT_M_local_schedules), 1);
  schedrt_runtime_destroy(rt);
}

/* A task that spawns `n` no-op tasks from its worker, and records depths. */
struct spawner {
  schedrt_runtime *rt;
  int n;
  uint64_t depth_sum;
  uint64_t lifo_here;
  int worker;
};

static _Atomic int counted_runs;
static schedrt_poll counted_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  atomic_fetch_add(&counted_runs, 1);
  return SCHEDRT_READY;
}

static schedrt_poll spawner_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct spawner *s = arg;
  for (int i = 0; i < s->n; i++)
    if (schedrt_spawn(s->rt, counted_fn, NULL) != 0)
      return SCHEDRT_READY;
  s->worker = schedrt_worker_index();
  uint64_t v;
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(s->rt); w++)
    if (schedrt_metric_read(s->rt, SCHEDRT_M_local_queue_depth, w, &v) == 0)
      s->depth_sum += v;
  if (schedrt_metric_read(s->rt, SCHEDRT_M_lifo, (uint32_t)s->worker, &v) == 0)
    s->lifo_here = v;
  return SCHEDRT_READY;
}

/* Runs a spawner on the free worker while the other is blocked. */
static struct spawner run_spawner(uint32_t flags, int n, uint64_t *overflows) {
  schedrt_runtime *rt = make_rt(2, flags);
  struct blocker b;
  block_workers(rt, &b, 1);
  atomic_store(&counted_runs, 0);
  struct spawner s = {.rt = rt, .n = n};
  spawn_and_join(rt, spawner_fn, &s);
  cr_assert_neq(s.worker, atomic_load(&b.worker));
  release_workers(&b, 1);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&counted_runs) == n, 10.0);
  cr_assert(ok, "ran %d of %d: every task recovered from local + inject", atomic_load(&counted_runs), n);
  wait_parked(rt);
  *overflows = metric_sum(rt, SCHEDRT_M_overflows);
  schedrt_runtime_destroy(rt);
  sem_destroy(&b.release);
  return s;
}

Test(metrics_api, case23_overflow_count) {
  uint64_t overflows;
  run_spawner(0, 300, &overflows);
  cr_assert_eq(overflows, 1);
}

Test(metrics_api, case24_local_queue_depth) {
  uint64_t overflows;
  struct spawner s = run_spawner(0, 101, &overflows);
  /* The newest task sits in the LIFO slot, which the depth excludes. */
  cr_assert_eq(s.depth_sum, 100);
  cr_assert_eq(s.lifo_here, 1);
  cr_assert_eq(overflows, 0);
}

Test(metrics_api, case28_ring_capacity) {
  uint64_t overflows;
  struct spawner s = run_spawner(SCHEDRT_CFG_NO_LIFO, 256, &overflows);
  cr_assert_eq(overflows, 0, "256 pushes fit");
  cr_assert_eq(s.depth_sum, 256);
  run_spawner(SCHEDRT_CFG_NO_LIFO, 257, &overflows);
  cr_assert_eq(overflows, 1, "the 257th overflows");
}

Test(metrics_api, in_process_api_works_without_a_segment) {
  setenv("SCHEDRT_METRICS", "0", 1);
  schedrt_runtime *rt = make_rt(2, 0);
  cr_assert_null(schedrt_metrics_segment(rt));
  for (int i = 0; i < 3; i++)
    spawn_and_join(rt, noop_fn, NULL);
  cr_assert_eq(metric_sum(rt, SCHEDRT_M_polls), 3);
  wait_parked(rt);
  schedrt_runtime_destroy(rt);
  unsetenv("SCHEDRT_METRICS");
}

/* ------------------------------------------------ the task in a long poll */

/* A stuck poll is named by the monitor: id, name, spawn site and a "since"
 * one period coarse; the API, the segment and the dump accessor agree; the
 * naming disappears when the poll ends. */
Test(metrics_api, stuck_poll_is_named_by_the_monitor) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct blocker b;
  sem_init(&b.release, 0, 0);
  atomic_store(&b.entered, 0);
  atomic_store(&b.worker, -1);
  schedrt_spawn_opts o = {.name = "stuck-one"};
  uint64_t before = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  before = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  int line = __LINE__ + 1;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker_fn, &b, &o, NULL), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&b.entered) == 1, 10.0);
  cr_assert(ok);
  uint32_t w = (uint32_t)atomic_load(&b.worker);
  uint64_t id = atomic_load(&b.ids[w]);
  schedrt_reader *r = open_own_segment(rt);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  STRESS_WAIT_UNTIL(ok, schedrt_snapshot_take(r, 0, &s) == 0 && s.workers[w].current_task != 0, 5.0);
  cr_assert(ok, "not named");
  const schedrt_worker_snap *x = &s.workers[w];
  cr_assert_eq(x->current_task, id);
  cr_assert_str_eq(x->current_name, "stuck-one");
  cr_assert(strstr(x->current_file, "test_metrics_api.c") != NULL, "file '%s'", x->current_file);
  cr_assert_eq(x->current_line, (uint32_t)line);
  /* First seen by a monitor tick after the spawn, at most one period after the poll began. */
  cr_assert_geq(x->current_since_ns + x->since_resolution_ns, before);
  cr_assert_leq(x->current_since_ns, s.writer_now_ns);
  cr_assert_eq(x->since_resolution_ns, 100u * 1000000u);
  cr_assert_eq(metric(rt, SCHEDRT_M_current_task, w), id);
  cr_assert_eq(metric(rt, SCHEDRT_M_current_task, 1 - w), 0, "the other worker is idle");
  uint64_t task = 0, since = 0;
  bool exact = true;
  cr_assert_eq(schedrt__metrics_poll_info(rt, w, &task, &since, &exact), 0);
  cr_assert_eq(task, id);
  cr_assert_eq(since, x->current_since_ns);
  cr_assert(!exact);
  cr_assert_eq(schedrt__metrics_poll_info(rt, 1 - w, &task, &since, &exact), -ENOENT);
  release_workers(&b, 1);
  STRESS_WAIT_UNTIL(ok, schedrt_snapshot_take(r, 0, &s) == 0 && s.workers[w].current_task == 0, 5.0);
  cr_assert(ok, "still named after the poll ended");
  cr_assert_eq(metric(rt, SCHEDRT_M_current_task, w), 0);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
  sem_destroy(&b.release);
}

/* With SCHEDRT_TIMING every poll's task and exact start are published by the worker. */
Test(metrics_api, timing_names_every_poll_exactly) {
  schedrt_runtime *rt = make_rt(2, SCHEDRT_CFG_TIMING);
  struct blocker b;
  block_workers(rt, &b, 1);
  uint32_t w = (uint32_t)atomic_load(&b.worker);
  uint64_t id = atomic_load(&b.ids[w]);
  schedrt_reader *r = open_own_segment(rt);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[w].current_task, id, "no monitor period needed");
  cr_assert_neq(s.workers[w].current_since_ns, 0);
  cr_assert_eq(s.workers[w].since_resolution_ns, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_current_task, w), id);
  uint64_t task = 0, since = 0;
  bool exact = false;
  cr_assert_eq(schedrt__metrics_poll_info(rt, w, &task, &since, &exact), 0);
  cr_assert_eq(task, id);
  cr_assert_eq(since, s.workers[w].current_since_ns);
  cr_assert(exact);
  release_workers(&b, 1);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
  sem_destroy(&b.release);
}
