/*
 * The blocking pool: schedrt_spawn_blocking's results through join handles
 * (from threads and from tasks), threads on demand up to the maximum, the
 * FIFO queue, the keep-alive, shutdown (queued jobs dropped once, running
 * ones waited for, then abandoned and reported), the configuration and its
 * environment variables. Jobs hold their thread on semaphores: no sleep is
 * used as synchronisation; the keep-alive, an elapsed-time feature, is
 * polled with a deadline.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "rt_fixture.h"

static schedrt_runtime *make_rt_ex(unsigned nworkers, uint32_t max_threads, uint32_t keepalive_ms,
                                   uint32_t shutdown_ms) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.name = "test-blocking";
  cfg.max_blocking_threads = max_threads;
  cfg.blocking_keepalive_ms = keepalive_ms;
  cfg.blocking_shutdown_timeout_ms = shutdown_ms;
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "runtime_create: %s", schedrt_strerror(rc));
  return rt;
}

/* A metric of the one list, through the public API where metrics are built in. */
static uint64_t metric(schedrt_runtime *rt, int id) {
  uint64_t v = 0;
  int rc = schedrt_metric_read(rt, (size_t)id, 0, &v);
  if (rc == -ENOTSUP)
    return schedrt__blocking_metric(rt, id);
  cr_assert_eq(rc, 0, "metric_read: %s", schedrt_strerror(rc));
  return v;
}

/* Waits up to WAIT_S for metric id to read want. */
static void await_metric(schedrt_runtime *rt, int id, uint64_t want) {
  uint64_t deadline = schedrt_now_ns() + (uint64_t)(WAIT_S * 1e9);
  uint64_t v;
  while ((v = metric(rt, id)) != want && schedrt_now_ns() < deadline)
    usleep(1000);
  cr_assert_eq(v, want, "metric %d reads %llu, want %llu", id, (unsigned long long)v,
               (unsigned long long)want);
}

static void sem_wait_s(sem_t *s, const char *what) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)WAIT_S;
  int rc;
  while ((rc = sem_timedwait(s, &ts)) != 0 && errno == EINTR)
    ;
  cr_assert_eq(rc, 0, "timed out waiting for %s", what);
}

/* ------------------------------------------------------------ jobs */

static void *plus_one(void *arg) { return (char *)arg + 1; }

/* A job that says it started, then holds its thread until released. */
struct gate {
  sem_t started, release, dropped;
  _Atomic unsigned ran, drops;
  void *result;
};
static void gate_init(struct gate *g) {
  memset(g, 0, sizeof(*g));
  sem_init(&g->started, 0, 0);
  sem_init(&g->release, 0, 0);
  sem_init(&g->dropped, 0, 0);
}
static void *gate_job(void *arg) {
  struct gate *g = arg;
  atomic_fetch_add(&g->ran, 1);
  sem_post(&g->started);
  while (sem_wait(&g->release) != 0)
    ;
  return g->result;
}
static void gate_drop(void *arg) {
  struct gate *g = arg;
  atomic_fetch_add(&g->drops, 1);
  sem_post(&g->dropped);
}
static const schedrt_spawn_opts gate_opts = {.name = "gate-job", .drop = gate_drop};

/* ------------------------------------------------------------ results */

Test(blocking, result_is_joined_from_a_thread, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(2, 0, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, plus_one, (void *)0x1000, NULL, &h), 0);
  void *r = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &r), 0);
  cr_assert_eq(r, (void *)0x1001);
  /* Without a handle: it runs all the same. */
  struct gate g;
  gate_init(&g);
  sem_post(&g.release);
  cr_assert_eq(schedrt_spawn_blocking(rt, gate_job, &g), 0);
  sem_wait_s(&g.started, "the job without a handle");
  await_metric(rt, SCHEDRT_M_blocking_jobs_finished, 2);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_jobs_started), 2);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(atomic_load(&g.drops), 0, "a job that ran is not dropped");
}

Test(blocking, arguments_are_checked, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 0, 0, 0);
  schedrt_handle *h = (schedrt_handle *)0x1;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, NULL, NULL, NULL, &h), -EINVAL);
  cr_assert_null(h);
  cr_assert_eq(schedrt_spawn_blocking(NULL, plus_one, NULL), -EINVAL);
  schedrt_runtime_destroy(rt);
}

/* A task that spawns a blocking job and awaits it; its result is the job's. */
struct awaiter {
  schedrt_handle *h;
  void *arg;
  int spawn_rc;
};
static schedrt_poll await_fn(schedrt_task *t, void *arg) {
  struct awaiter *a = arg;
  if (!a->h) {
    a->spawn_rc = schedrt_spawn_blocking_ex(schedrt_task_runtime(t), plus_one, a->arg, NULL, &a->h);
    if (a->spawn_rc)
      return SCHEDRT_READY;
  }
  void *r;
  if (schedrt_handle_poll(a->h, t, &r) == SCHEDRT_PENDING) {
    schedrt_await(t, "blocking job");
    return SCHEDRT_PENDING;
  }
  schedrt_handle_release(a->h);
  schedrt_task_set_result(t, r);
  return SCHEDRT_READY;
}

Test(blocking, result_is_awaited_from_a_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(2, 0, 0, 0);
  for (int i = 0; i < 100; i++) {
    struct awaiter a = {.arg = (void *)(uintptr_t)(0x100 * (i + 1))};
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, await_fn, &a, NULL, &h), 0);
    void *r = NULL;
    cr_assert_eq(schedrt_join(h, JOIN_NS, &r), 0);
    cr_assert_eq(a.spawn_rc, 0, "spawned from a worker");
    cr_assert_eq(r, (char *)a.arg + 1);
  }
  /* From block_on's thread too. */
  struct awaiter a = {.arg = (void *)0x40};
  void *r = NULL;
  cr_assert_eq(schedrt_block_on(rt, await_fn, &a, &r), 0);
  cr_assert_eq(a.spawn_rc, 0);
  cr_assert_eq(r, (void *)0x41);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ the pool's size */

Test(blocking, threads_start_on_demand_up_to_the_maximum_then_jobs_queue, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 2, 0, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_threads), 0, "no thread before the first job");
  struct gate g[3];
  schedrt_handle *h[3];
  for (int i = 0; i < 2; i++) {
    gate_init(&g[i]);
    g[i].result = &g[i];
    cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &g[i], &gate_opts, &h[i]), 0);
    sem_wait_s(&g[i].started, "a job to start");
    cr_assert_eq(metric(rt, SCHEDRT_M_blocking_threads), (uint64_t)i + 1, "one more thread");
  }
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_idle_threads), 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_queue_depth), 0);
  /* Both threads are held: the third job waits. */
  gate_init(&g[2]);
  g[2].result = &g[2];
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &g[2], &gate_opts, &h[2]), 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_queue_depth), 1);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_threads), 2, "never past the maximum");
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_jobs_started), 2);
  cr_assert_eq(atomic_load(&g[2].ran), 0);
  cr_assert_not(schedrt_handle_is_finished(h[2]));
  /* The first thread to come free takes it. */
  sem_post(&g[0].release);
  sem_wait_s(&g[2].started, "the queued job to start");
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_queue_depth), 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_threads), 2);
  sem_post(&g[1].release);
  sem_post(&g[2].release);
  for (int i = 0; i < 3; i++) {
    void *r = NULL;
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, &r), 0);
    cr_assert_eq(r, &g[i]);
  }
  await_metric(rt, SCHEDRT_M_blocking_jobs_finished, 3);
  await_metric(rt, SCHEDRT_M_blocking_idle_threads, 2);
  schedrt_runtime_destroy(rt);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(atomic_load(&g[i].drops), 0);
}

Test(blocking, idle_threads_retire_after_the_keepalive, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 4, 50, 0);
  struct gate g[2];
  schedrt_handle *h[2];
  for (int i = 0; i < 2; i++) {
    gate_init(&g[i]);
    cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &g[i], NULL, &h[i]), 0);
    sem_wait_s(&g[i].started, "a job to start");
  }
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_threads), 2);
  for (int i = 0; i < 2; i++) {
    sem_post(&g[i].release);
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
  }
  await_metric(rt, SCHEDRT_M_blocking_threads, 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_idle_threads), 0);
  /* The pool starts again on demand. */
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, plus_one, (void *)0x10, NULL, &h[0]), 0);
  void *r = NULL;
  cr_assert_eq(schedrt_join(h[0], JOIN_NS, &r), 0);
  cr_assert_eq(r, (void *)0x11);
  await_metric(rt, SCHEDRT_M_blocking_threads, 0);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ shutdown */

struct joiner {
  pthread_t th;
  schedrt_handle *h;
  int rc;
  void *r;
};
static void *join_main(void *arg) {
  struct joiner *j = arg;
  j->rc = schedrt_join(j->h, JOIN_NS, &j->r);
  return NULL;
}

/* A running job that, once the queued one was dropped (so destroy has begun),
 * tries to spawn and then returns. */
struct late {
  struct gate *queued;
  struct gate *self;
  schedrt_runtime *rt;
  int spawn_rc;
};
static void *late_job(void *arg) {
  struct late *l = arg;
  sem_post(&l->self->started);
  while (sem_wait(&l->queued->dropped) != 0)
    ;
  l->spawn_rc = schedrt_spawn_blocking(l->rt, plus_one, NULL);
  return (void *)0x77;
}

Test(blocking, shutdown_drops_queued_jobs_once_and_waits_for_running_ones, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 1, 0, 0);
  struct gate running, queued;
  gate_init(&running);
  gate_init(&queued);
  struct late l = {.queued = &queued, .self = &running, .rt = rt, .spawn_rc = 1};
  struct joiner j[2];
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, late_job, &l, &gate_opts, &j[0].h), 0);
  sem_wait_s(&running.started, "the running job");
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &queued, &gate_opts, &j[1].h), 0);
  cr_assert_eq(metric(rt, SCHEDRT_M_blocking_queue_depth), 1);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&j[i].th, NULL, join_main, &j[i]), 0);
  /* Destroy drops the queued job, whose drop lets the running one finish. */
  schedrt_runtime_destroy(rt);
  for (int i = 0; i < 2; i++)
    pthread_join(j[i].th, NULL);
  cr_assert_eq(j[0].rc, 0, "the running job was waited for");
  cr_assert_eq(j[0].r, (void *)0x77);
  cr_assert_eq(l.spawn_rc, -ESHUTDOWN, "spawning once destroy began");
  cr_assert_eq(atomic_load(&running.drops), 0);
  cr_assert_eq(j[1].rc, -ECANCELED, "the queued job's joiner");
  cr_assert_eq(atomic_load(&queued.drops), 1, "dropped exactly once");
  cr_assert_eq(atomic_load(&queued.ran), 0, "never started");
}

/* Reads what fd 2 received while f ran. */
static char *capture_stderr(void (*f)(void *), void *arg) {
  char path[] = "/tmp/test-blocking-stderr.XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  f(arg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  off_t len = lseek(fd, 0, SEEK_END);
  char *buf = calloc(1, (size_t)len + 1);
  cr_assert_eq(pread(fd, buf, (size_t)len, 0), len);
  close(fd);
  return buf;
}

static uint64_t destroy_ns;
static void timed_destroy(void *arg) {
  uint64_t t0 = schedrt_now_ns();
  schedrt_runtime_destroy(arg);
  destroy_ns = schedrt_now_ns() - t0;
}

Test(blocking, shutdown_abandons_a_job_past_the_deadline_and_says_so, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 0, 0, 200);
  struct gate stuck;
  gate_init(&stuck);
  stuck.result = (void *)0x1;
  struct joiner j;
  static const schedrt_spawn_opts opts = {.name = "stuck-export", .drop = gate_drop};
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &stuck, &opts, &j.h), 0);
  sem_wait_s(&stuck.started, "the job");
  cr_assert_eq(pthread_create(&j.th, NULL, join_main, &j), 0);
  char *err = capture_stderr(timed_destroy, rt);
  cr_assert_geq(destroy_ns, 200 * MS, "destroy waited for the deadline");
  cr_assert_lt(destroy_ns, 2000 * MS, "and no longer: %llu ms", (unsigned long long)(destroy_ns / MS));
  cr_assert(strstr(err, "abandoned blocking job") && strstr(err, "\"stuck-export\"") &&
                strstr(err, "test_blocking.c:") && strstr(err, " ms"),
            "stderr: %s", err);
  free(err);
  pthread_join(j.th, NULL);
  cr_assert_eq(j.rc, -ECANCELED, "its joiner is let go");
  cr_assert_eq(atomic_load(&stuck.drops), 0, "not while its function runs");
  /* The runtime is gone; the job's end must touch none of it (ASan watches). */
  sem_post(&stuck.release);
  sem_wait_s(&stuck.dropped, "the abandoned job's drop callback");
  cr_assert_eq(atomic_load(&stuck.drops), 1);
  /* Let its thread release the record before LSan looks. */
  usleep(100 * 1000);
}

Test(blocking, shutdown_with_nothing_running_returns_at_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 0, 0, 5000);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, plus_one, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  uint64_t t0 = schedrt_now_ns();
  schedrt_runtime_destroy(rt);
  cr_assert_lt(schedrt_now_ns() - t0, 2000 * MS, "idle threads leave when told");
}

/* ------------------------------------------------------------ configuration */

static int create_rc(const schedrt_config *cfg, uint32_t *max, uint32_t *shutdown_ms) {
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(cfg, &rt);
  if (rc == 0) {
    if (max)
      *max = rt->cfg.max_blocking_threads;
    if (shutdown_ms)
      *shutdown_ms = rt->cfg.blocking_shutdown_timeout_ms;
    schedrt_runtime_destroy(rt);
  }
  return rc;
}

Test(blocking, config_defaults_and_limits, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  uint32_t max = 0, sd = 0;
  cr_assert_eq(create_rc(&cfg, &max, &sd), 0);
  cr_assert_eq(max, 512, "Tokio's default");
  cr_assert_eq(sd, 10000);
  cfg.max_blocking_threads = 65537;
  cr_assert_eq(create_rc(&cfg, NULL, NULL), -EINVAL);
  cfg.max_blocking_threads = 65536;
  cr_assert_eq(create_rc(&cfg, &max, NULL), 0);
  cr_assert_eq(max, 65536);
  cfg.max_blocking_threads = 0;
  cfg.blocking_keepalive_ms = 3600001;
  cr_assert_eq(create_rc(&cfg, NULL, NULL), -EINVAL);
  cfg.blocking_keepalive_ms = 0;
  cfg.blocking_shutdown_timeout_ms = 3600001;
  cr_assert_eq(create_rc(&cfg, NULL, NULL), -EINVAL);
}

Test(blocking, environment_overrides_and_is_validated, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.max_blocking_threads = 8;
  uint32_t max = 0, sd = 0;
  static const char *const bad[] = {"abc", "0", "-1", "+3", "65537", "12x", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    setenv("SCHEDRT_MAX_BLOCKING_THREADS", bad[i], 1);
    cr_assert_eq(create_rc(&cfg, NULL, NULL), -EINVAL, "SCHEDRT_MAX_BLOCKING_THREADS=\"%s\"", bad[i]);
  }
  setenv("SCHEDRT_MAX_BLOCKING_THREADS", "", 1);
  cr_assert_eq(create_rc(&cfg, &max, NULL), 0);
  cr_assert_eq(max, 8, "empty: unset");
  setenv("SCHEDRT_MAX_BLOCKING_THREADS", "3", 1);
  cr_assert_eq(create_rc(&cfg, &max, NULL), 0);
  cr_assert_eq(max, 3, "the environment overrides the config");
  unsetenv("SCHEDRT_MAX_BLOCKING_THREADS");

  static const char *const bad_ms[] = {"soon", "-5", "3600001", "1e3"};
  for (size_t i = 0; i < sizeof(bad_ms) / sizeof(bad_ms[0]); i++) {
    setenv("SCHEDRT_BLOCKING_SHUTDOWN_MS", bad_ms[i], 1);
    cr_assert_eq(create_rc(&cfg, NULL, NULL), -EINVAL, "SCHEDRT_BLOCKING_SHUTDOWN_MS=\"%s\"", bad_ms[i]);
  }
  setenv("SCHEDRT_BLOCKING_SHUTDOWN_MS", "0", 1);
  cr_assert_eq(create_rc(&cfg, NULL, &sd), 0);
  cr_assert_eq(sd, 0, "0: do not wait");
  unsetenv("SCHEDRT_BLOCKING_SHUTDOWN_MS");
}

static void create_default(void *arg) {
  int *rc = arg;
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  *rc = create_rc(&cfg, NULL, NULL);
}

Test(blocking, an_invalid_variable_is_named_on_stderr, .timeout = 60) {
  setenv("SCHEDRT_MAX_BLOCKING_THREADS", "lots", 1);
  int rc = 0;
  char *err = capture_stderr(create_default, &rc);
  cr_assert_eq(rc, -EINVAL);
  cr_assert(strstr(err, "SCHEDRT_MAX_BLOCKING_THREADS=\"lots\"") && strstr(err, "from 1 to 65536"),
            "stderr: %s", err);
  free(err);
  unsetenv("SCHEDRT_MAX_BLOCKING_THREADS");
}

static void *destroy_job(void *arg) {
  schedrt_runtime_destroy(arg); /* refused: it would wait for itself */
  return arg;
}

Test(blocking, destroy_from_a_job_is_refused, .timeout = 60) {
  schedrt_runtime *rt = make_rt_ex(1, 0, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, destroy_job, rt, NULL, &h), 0);
  void *r = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &r), 0);
  cr_assert_eq(r, rt);
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, plus_one, NULL, NULL, &h), 0, "the runtime lives on");
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  schedrt_runtime_destroy(rt);
}
