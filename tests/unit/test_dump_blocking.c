/*
 * Blocking jobs in task dumps (format 1.2): a running job and a queued one
 * appear among the tasks with their names, spawn sites, states
 * ("blocking", "blk_queued") and how long they have run or waited; the
 * top-level "blocking" map gives the pool's threads and queue; a task that
 * awaits a job records the join edge to it.
 */
#include <criterion/criterion.h>
#include <semaphore.h>
#include <string.h>

#include "rt_fixture.h"
#include "test_dump_util.h"

struct gate {
  sem_t started, release;
};
static void *gate_job(void *arg) {
  struct gate *g = arg;
  sem_post(&g->started);
  while (sem_wait(&g->release) != 0)
    ;
  return NULL;
}

struct awaiter {
  schedrt_handle *h;
  sem_t polled;
};
static schedrt_poll await_fn(schedrt_task *t, void *arg) {
  struct awaiter *a = arg;
  void *r;
  schedrt_poll p = schedrt_handle_poll(a->h, t, &r);
  if (p == SCHEDRT_PENDING)
    schedrt_await(t, "export done");
  sem_post(&a->polled);
  return p;
}

Test(dump_blocking, running_and_queued_jobs_are_in_the_dump, .timeout = 60) {
  schedrt_config cfg = fixture_config(1, "test-dump-blocking");
  cfg.max_blocking_threads = 1;
  schedrt_runtime *rt = fixture_rt_with(&cfg);
  struct gate g;
  sem_init(&g.started, 0, 0);
  sem_init(&g.release, 0, 0);
  static const schedrt_spawn_opts run_opts = {.name = "report-export"}, wait_opts = {.name = "queued-export"};
  schedrt_handle *hr, *hq;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &g, &run_opts, &hr), 0);
  while (sem_wait(&g.started) != 0)
    ;
  cr_assert_eq(schedrt_spawn_blocking_ex(rt, gate_job, &g, &wait_opts, &hq), 0);
  struct awaiter a = {.h = hr};
  sem_init(&a.polled, 0, 0);
  cr_assert_eq(schedrt_spawn(rt, await_fn, &a), 0);
  while (sem_wait(&a.polled) != 0)
    ;

  schedrt_dump_result res;
  schedrt_dump_doc *d = NULL;
  int rc = tdu_dump(rt, NULL, &res, &d);
  cr_assert_eq(rc, 0, "dump: %s", schedrt_strerror(rc));
  cr_assert_eq(d->major, 1);
  cr_assert_geq(d->minor, 2, "1.2 added the blocking states");
  cr_assert_null(tdu_check(d, 1), "%s", tdu_check(d, 1));
  const schedrt_dump_task *run = tdu_task_named(d, "report-export"), *q = tdu_task_named(d, "queued-export");
  cr_assert(run && q);
  cr_assert_str_eq(schedrt_dump_state_text(run->state), "blocking");
  cr_assert_str_eq(schedrt_dump_state_text(q->state), "blk_queued");
  cr_assert_eq(run->worker, SCHEDRT_DUMP_NONE, "not on a worker");
  cr_assert_geq(run->state_ns, 0, "how long it has run");
  cr_assert_geq(q->state_ns, 0, "how long it has waited");
  const schedrt_dump_site *site = schedrt_dump_spawn_site(d, run);
  cr_assert(site && site->file && strstr(site->file, "test_dump_blocking.c"));
  cr_assert(site->func && strstr(site->func, "running_and_queued_jobs_are_in_the_dump"));
  cr_assert_eq(d->blocking_threads, 1);
  cr_assert_eq(d->blocking_idle, 0);
  cr_assert_eq(d->blocking_max, 1);
  cr_assert_eq(d->blocking_queue, 1);
  /* The awaiting task: idle, waiting on a join of the running job, not lost. */
  const schedrt_dump_task *w = NULL;
  for (size_t i = 0; i < d->ntasks; i++)
    if (d->tasks[i].wait_for >= 0 && (uint64_t)d->tasks[i].wait_for == run->id)
      w = &d->tasks[i];
  cr_assert(w, "the join edge to the job");
  cr_assert_str_eq(schedrt_dump_state_text(w->state), "idle");
  cr_assert_not(w->lost_wake);
  schedrt_dump_doc_free(d);

  sem_post(&g.release);
  sem_post(&g.release);
  cr_assert_eq(schedrt_join(hq, JOIN_NS, NULL), 0);
  /* The awaiting task finishes on the job's completion. */
  while (sem_wait(&a.polled) != 0)
    ;
  schedrt_handle_release(hr);
  schedrt_runtime_destroy(rt);
}
