/*
 * Task dumps through the in-process API: what a dump says about tasks in
 * every state and place, Tokio's dump tests (tokio 1.48, tests/dump.rs) and
 * one regression from its issue tracker, a worker stuck in a long poll
 * (PARTIAL, then a full dump), the barrier's count after a timed-out round,
 * one dump at a time, DISABLED, the path API's file rules, and a dump read by
 * Python's cbor2.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump.h"
#include "test_dump_util.h"

#define SEC 1000000000ull

/* ASan builds run 2-3 times slower and share the CPUs with other tests: the
 * deadline + 50 ms promise is checked exactly in the normal builds. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_SLACK_MS 250
#else
#define SANITIZER_SLACK_MS 0
#endif

static schedrt_runtime *make_rt(uint32_t nworkers, uint32_t flags) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.flags = flags;
  cfg.name = "dumptest";
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  return rt;
}

/* Waits up to 10 s for cond(arg). */
static bool eventually(bool (*cond)(void *), void *arg) {
  uint64_t until = tdu_now() + 10 * SEC;
  while (!cond(arg)) {
    if (tdu_now() > until)
      return false;
    usleep(1000);
  }
  return true;
}

/* ------------------------------- Tokio's dump.rs multi_thread: a, b, c */

static atomic_int yields;

static schedrt_poll yielder(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_await(t, "yield");
  atomic_fetch_add(&yields, 1);
  return schedrt_yield(t);
}

static bool polled_a_few_times(void *arg) {
  (void)arg;
  return atomic_load(&yields) >= 30;
}

static void three_yielders(uint32_t nworkers) {
  schedrt_runtime *rt = make_rt(nworkers, 0);
  const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    schedrt_spawn_opts o = {.name = names[i]};
    cr_assert_eq(schedrt_spawn_ex(rt, yielder, NULL, &o, NULL), 0);
  }
  cr_assert(eventually(polled_a_few_times, NULL));
  for (int round = 0; round < 5; round++) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    cr_assert_eq(tdu_dump(rt, &(schedrt_dump_opts){.label = "case29"}, &res, &d), 0);
    cr_assert_eq(res.status, SCHEDRT_DUMP_OK);
    cr_assert_eq(res.tasks, 3, "exactly the three tasks: got %u", res.tasks);
    cr_assert_eq(d->ntasks, 3);
    cr_assert_null(tdu_check(d, nworkers), "%s", tdu_check(d, nworkers));
    for (int i = 0; i < 3; i++) {
      const schedrt_dump_task *t = tdu_task_named(d, names[i]);
      cr_assert_not_null(t, "task %s", names[i]);
      cr_assert_neq(t->await, SCHEDRT_DUMP_NONE, "task %s has its await point", names[i]);
      const schedrt_dump_site *s = &d->await_sites[t->await];
      cr_assert_str_eq(s->label, "yield");
      cr_assert_not_null(strstr(s->file, "test_dump_api.c"));
      cr_assert_gt(s->line, 0);
      cr_assert_gt(t->polls, 0);
      cr_assert_str_eq(d->spawn_sites[t->spawn].func, "three_yielders");
    }
    cr_assert_str_eq(d->label, "case29");
    cr_assert_str_eq(d->status, "OK");
    schedrt_dump_doc_free(d);
  }
  schedrt_runtime_destroy(rt);
}

Test(dump, three_yielding_tasks_one_worker) { three_yielders(1); }
Test(dump, three_yielding_tasks_three_workers) { three_yielders(3); }

/* ------------------------------------- positions: LIFO slot and local queue */

struct inside {
  schedrt_runtime *rt;
  atomic_int order[8];
  atomic_int n;
  int rc;
  schedrt_dump_result res;
  schedrt_dump_doc *doc;
  uint64_t parent_id;
};

static schedrt_poll child(schedrt_task *t, void *arg) {
  (void)t;
  const intptr_t *a = arg;
  struct inside *c = (struct inside *)a[0];
  int i = atomic_fetch_add(&c->n, 1);
  atomic_store(&c->order[i], (int)a[1]);
  return SCHEDRT_READY;
}

static intptr_t child_args[6][2];

static schedrt_poll parent(schedrt_task *t, void *arg) {
  struct inside *c = arg;
  char name[16];
  for (int i = 1; i <= 5; i++) {
    child_args[i][0] = (intptr_t)c;
    child_args[i][1] = i;
    snprintf(name, sizeof(name), "c%d", i);
    schedrt_spawn_opts o = {.name = name};
    cr_assert_eq(schedrt_spawn_ex(c->rt, child, child_args[i], &o, NULL), 0);
  }
  c->parent_id = schedrt_task_id(t);
  /* From inside a task: the worker counts as held by its own call. */
  c->rc = tdu_dump(c->rt, NULL, &c->res, &c->doc);
  return SCHEDRT_READY;
}

static bool children_ran(void *arg) { return atomic_load(&((struct inside *)arg)->n) == 5; }

Test(dump, positions_from_inside_a_task) {
  struct inside c = {0};
  c.rt = make_rt(1, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(c.rt, parent, &c, &(schedrt_spawn_opts){.name = "parent"}, &h), 0);
  cr_assert_eq(schedrt_join(h, 10 * SEC, NULL), 0);
  cr_assert_eq(c.rc, 0, "%s", schedrt_strerror(c.rc));
  cr_assert_eq(c.res.status, SCHEDRT_DUMP_OK);
  schedrt_dump_doc *d = c.doc;
  cr_assert_null(tdu_check(d, 1), "%s", tdu_check(d, 1));
  cr_assert_eq(d->workers[0].role, SCHEDRT_DUMP_ROLE_REQUESTER);
  cr_assert_eq(d->workers[0].current_task, (int64_t)c.parent_id);
  cr_assert_eq(d->workers[0].lifo, 1);
  cr_assert_eq(d->workers[0].local_queue, 4);
  const schedrt_dump_task *p = tdu_task_named(d, "parent");
  cr_assert_eq(p->state, SCHEDRT_DUMP_STATE_RUNNING);
  cr_assert_eq(p->worker, 0);
  const schedrt_dump_task *c5 = tdu_task_named(d, "c5");
  cr_assert_eq(c5->state, SCHEDRT_DUMP_STATE_LIFO);
  cr_assert_eq(c5->position, 0);
  for (int i = 1; i <= 4; i++) {
    char name[16];
    snprintf(name, sizeof(name), "c%d", i);
    const schedrt_dump_task *x = tdu_task_named(d, name);
    cr_assert_eq(x->state, SCHEDRT_DUMP_STATE_LOCAL, "%s", name);
    cr_assert_eq(x->worker, 0);
    cr_assert_eq(x->position, i - 1, "%s at %lld", name, (long long)x->position);
  }
  schedrt_dump_doc_free(d);
  /* Put back where they run again, in the same order: the LIFO slot, then the ring. */
  cr_assert(eventually(children_ran, &c), "every child ran");
  schedrt_runtime_destroy(c.rt);
  int want[] = {5, 1, 2, 3, 4};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(atomic_load(&c.order[i]), want[i], "run %d was c%d", i, atomic_load(&c.order[i]));
}

/* ----------------------- a blocked worker: injection positions and PARTIAL */

static atomic_int block_go, block_started;

static schedrt_poll blocker(schedrt_task *t, void *arg) {
  (void)t;
  uint64_t ns = *(uint64_t *)arg;
  atomic_store(&block_started, 1);
  if (ns == UINT64_MAX) {
    /* Blocked in a call, off the CPU (the common stuck poll: a read, a lock),
     * until block_go: on a loaded machine a spinning thread can look merely
     * preempted and the dump then rightly waits for it. */
    while (!atomic_load(&block_go)) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  } else if (ns) {
    struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
    while (nanosleep(&ts, &ts) != 0)
      ;
  } else {
    while (!atomic_load(&block_go))
      sched_yield();
  }
  return SCHEDRT_READY;
}

static bool started(void *arg) {
  (void)arg;
  return atomic_load(&block_started) != 0;
}

static schedrt_poll counted(schedrt_task *t, void *arg) {
  (void)t;
  atomic_fetch_add((atomic_int *)arg, 1);
  return SCHEDRT_READY;
}

static bool five_ran(void *arg) { return atomic_load((atomic_int *)arg) == 5; }

Test(dump, injection_positions_with_the_only_worker_blocked) {
  schedrt_runtime *rt = make_rt(1, 0);
  static uint64_t zero = 0;
  atomic_int ran = 0;
  schedrt_handle *hb;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, &zero, &(schedrt_spawn_opts){.name = "blocker"}, &hb), 0);
  cr_assert(eventually(started, NULL));
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof(name), "i%d", i);
    cr_assert_eq(schedrt_spawn_ex(rt, counted, &ran, &(schedrt_spawn_opts){.name = name}, NULL), 0);
  }
  schedrt_dump_result res;
  schedrt_dump_doc *d;
  cr_assert_eq(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 30}, &res, &d), 0);
  cr_assert_eq(res.status, SCHEDRT_DUMP_PARTIAL);
  cr_assert_eq(res.workers_missing, 1);
  cr_assert_null(tdu_check(d, 1), "%s", tdu_check(d, 1));
  cr_assert_eq(d->injection_depth, 5);
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof(name), "i%d", i);
    const schedrt_dump_task *x = tdu_task_named(d, name);
    cr_assert_eq(x->state, SCHEDRT_DUMP_STATE_INJECTION);
    cr_assert_eq(x->position, i);
  }
  const schedrt_dump_task *b = tdu_task_named(d, "blocker");
  cr_assert_eq(b->state, SCHEDRT_DUMP_STATE_RUNNING);
  cr_assert_eq(b->worker, 0);
  cr_assert_eq(d->workers[0].role, SCHEDRT_DUMP_ROLE_MISSING);
  cr_assert_eq(d->workers[0].reason, SCHEDRT_DUMP_REASON_POLLING);
  cr_assert_eq(d->workers[0].current_task, (int64_t)b->id);
  cr_assert_geq(d->workers[0].running_ns, 0);
  schedrt_dump_doc_free(d);
  atomic_store(&block_go, 1);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
  cr_assert_eq(res.status, SCHEDRT_DUMP_OK);
  schedrt_dump_doc_free(d);
  cr_assert(eventually(five_ran, &ran), "the queued tasks all ran");
  schedrt_runtime_destroy(rt);
}

static atomic_int finished;

static schedrt_poll busy_yielder(schedrt_task *t, void *arg) {
  int *left = arg;
  if ((*left)-- > 0)
    return schedrt_yield(t);
  atomic_fetch_add(&finished, 1);
  return SCHEDRT_READY;
}

/* A stuck worker: a 2-second poll, far past the deadline. */
Test(dump, worker_in_a_two_second_poll, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  static uint64_t two_s = 2 * SEC;
  enum { N = 1000 };
  static int left[N];
  schedrt_handle *hb;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, &two_s, &(schedrt_spawn_opts){.name = "sleeper"}, &hb), 0);
  cr_assert(eventually(started, NULL));
  for (int i = 0; i < N; i++) {
    left[i] = i % 50;
    cr_assert_eq(schedrt_spawn(rt, busy_yielder, &left[i]), 0);
  }
  schedrt_dump_result res;
  schedrt_dump_doc *d;
  int fd = memfd_create("two-seconds", MFD_CLOEXEC);
  uint64_t t0 = tdu_now();
  cr_assert_eq(schedrt_dump_fd(rt, fd, NULL, &res), 0); /* the default deadline: 250 ms */
  uint64_t took = tdu_now() - t0;
  size_t len = (size_t)lseek(fd, 0, SEEK_END);
  void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  cr_assert_neq(p, MAP_FAILED);
  cr_assert_eq(schedrt_dump_parse(p, len, &d), 0);
  munmap(p, len);
  close(fd);
  cr_assert_lt(took, (250 + 50 + SANITIZER_SLACK_MS) * 1000000ull,
               "PARTIAL within the deadline + 50 ms: took %.1f ms (gathering %.1f ms, paused %.3f ms)",
               took / 1e6, d->gather_ns / 1e6, d->pause_ns / 1e6);
  cr_assert_eq(res.status, SCHEDRT_DUMP_PARTIAL);
  cr_assert_eq(res.workers_covered, 1);
  cr_assert_eq(res.workers_missing, 1);
  cr_assert_null(tdu_check(d, 2), "%s", tdu_check(d, 2));
  cr_assert_eq(d->nmissing, 1);
  uint64_t miss = d->missing[0];
  const schedrt_dump_worker *w = &d->workers[miss];
  const schedrt_dump_task *s = tdu_task_named(d, "sleeper");
  cr_assert_eq(w->role, SCHEDRT_DUMP_ROLE_MISSING);
  cr_assert_eq(w->reason, SCHEDRT_DUMP_REASON_POLLING);
  cr_assert_eq(w->current_task, (int64_t)s->id, "names the task");
  cr_assert_eq(s->state, SCHEDRT_DUMP_STATE_RUNNING);
  cr_assert_eq(s->worker, (int64_t)miss, "names the worker");
  cr_assert_gt(w->running_ns, 0, "and for how long");
  cr_assert_neq(w->running_src, SCHEDRT_DUMP_SOURCE_NONE);
  schedrt_dump_doc_free(d);
  /* Tokio #8370: the timed-out round left nobody counted in the barrier. */
  cr_assert_eq(schedrt__dbar_arrived(&rt->dump->bar), 0);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  cr_assert_eq(schedrt__dbar_arrived(&rt->dump->bar), 0);
  cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
  cr_assert_eq(res.status, SCHEDRT_DUMP_OK, "afterwards a full dump");
  cr_assert_eq(res.workers_covered, 2);
  schedrt_dump_doc_free(d);
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load(&finished) < N && tdu_now() < until)
    usleep(1000);
  cr_assert_eq(atomic_load(&finished), N, "no task was lost");
  schedrt_runtime_destroy(rt);
}

/* A worker the monitor saw in a long poll is not waited for: with a 5 s
 * deadline the dump still comes back at once, PARTIAL, the blocked task shown
 * running on its worker, while the other worker keeps polling. */
static atomic_long ticks;
static atomic_int stop_ticking;

static schedrt_poll ticker(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_load(&stop_ticking))
    return SCHEDRT_READY;
  atomic_fetch_add(&ticks, 1);
  return schedrt_yield(t);
}

struct long_poll {
  schedrt_runtime *rt;
  uint32_t worker;
};

/* The monitor named the blocked worker's poll (it outlasted a period). */
static bool named_long(void *arg) {
  struct long_poll *lp = arg;
  uint64_t task = 0;
  return schedrt_metric_read(lp->rt, SCHEDRT_M_current_task, lp->worker, &task) == 0 && task != 0;
}

Test(dump, a_blocked_worker_does_not_hold_the_others, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.monitor_period_ms = 10;
  cfg.name = "dumptest";
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  static uint64_t off_cpu = UINT64_MAX;
  schedrt_handle *hb, *ht;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, &off_cpu, &(schedrt_spawn_opts){.name = "blocker"}, &hb), 0);
  cr_assert(eventually(started, NULL));
  cr_assert_eq(schedrt_spawn_ex(rt, ticker, NULL, &(schedrt_spawn_opts){.name = "ticker"}, &ht), 0);
  struct long_poll lp = {rt, 0};
  for (uint32_t i = 0; i < 2; i++)
    if (atomic_load(&rt->workers[i].current) == (const schedrt_task *)hb)
      lp.worker = i;
  if (schedrt_features() & SCHEDRT_FEATURE_METRICS)
    cr_assert(eventually(named_long, &lp), "the monitor names the long poll");
  schedrt_dump_result res;
  schedrt_dump_doc *d;
  uint64_t t0 = tdu_now();
  cr_assert_eq(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 5000}, &res, &d), 0);
  uint64_t took = tdu_now() - t0;
  cr_assert_eq(res.status, SCHEDRT_DUMP_PARTIAL);
  cr_assert_eq(d->nmissing, 1, "%zu missing (worker 0 %s, worker 1 %s), %u rounds, %.1f ms",
               (size_t)d->nmissing, schedrt_dump_reason_text(d->workers[0].reason),
               schedrt_dump_reason_text(d->workers[1].reason), (unsigned)d->gather_rounds, took / 1e6);
  cr_assert_eq(d->missing[0], lp.worker, "the blocked worker is the missing one");
  /* The old barrier held the free worker for the whole deadline. */
  cr_assert_lt(took, 2500 * 1000000ull, "the dump took %.1f ms of its 5000 ms deadline", took / 1e6);
  const schedrt_dump_task *b = tdu_task_named(d, "blocker");
  cr_assert_eq(b->state, SCHEDRT_DUMP_STATE_RUNNING, "never shown idle");
  cr_assert_eq(b->worker, (int64_t)lp.worker);
  cr_assert_gt(d->workers[lp.worker].running_ns, 0);
  /* The free worker waited for the copy, not for the blocked one: the old
   * barrier held it the whole deadline (5 s). A fifth of it leaves room for a
   * loaded machine under ASan (165 ms was seen with two TSan campaigns
   * running beside the suite) and still tells the two apart. */
  uint32_t free_w = 1 - lp.worker;
  cr_assert_eq(d->workers[free_w].role, SCHEDRT_DUMP_ROLE_HELD);
  cr_assert_lt(d->workers[free_w].held_ns, 1000 * 1000000ll, "held %.3f ms",
               d->workers[free_w].held_ns / 1e6);
  schedrt_dump_doc_free(d);
  atomic_store(&stop_ticking, 1);
  atomic_store(&block_go, 1);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  cr_assert_eq(schedrt_join(ht, 10 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt);
}

static bool ticking(void *arg) {
  (void)arg;
  return atomic_load(&ticks) > 0;
}

/* A poll not long enough yet to be called stuck is waited for, in rounds:
 * meanwhile the free worker is let go between rounds and keeps polling (the
 * old barrier held it until the deadline, with no poll at all). */
Test(dump, a_poll_not_yet_stuck_is_waited_for_without_holding_the_others, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.monitor_period_ms = 200; /* stuck after 200 ms in one poll */
  cfg.name = "dumptest";
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  static uint64_t zero = 0;
  schedrt_handle *hb, *ht;
  /* The blocker first: the ticker, spawned next, goes to the free worker (a
   * task that yielded on the blocker's worker would wait there). */
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, &zero, &(schedrt_spawn_opts){.name = "blocker"}, &hb), 0);
  cr_assert(eventually(started, NULL));
  cr_assert_eq(schedrt_spawn_ex(rt, ticker, NULL, &(schedrt_spawn_opts){.name = "ticker"}, &ht), 0);
  cr_assert(eventually(ticking, NULL));
  long before = atomic_load(&ticks);
  schedrt_dump_result res;
  schedrt_dump_doc *d;
  cr_assert_eq(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 5000}, &res, &d), 0);
  long after = atomic_load(&ticks);
  cr_assert_eq(res.status, SCHEDRT_DUMP_PARTIAL, "the blocker's worker is left out once stuck");
  cr_assert_gt(d->gather_rounds, 1, "gathered in rounds while the poll was young");
  cr_assert_gt(after, before, "the free worker kept polling during the dump");
  const schedrt_dump_task *b = tdu_task_named(d, "blocker");
  cr_assert_eq(b->state, SCHEDRT_DUMP_STATE_RUNNING);
  for (size_t i = 0; i < d->ncovered; i++)
    cr_assert_lt(d->workers[d->covered[i]].held_ns, (int64_t)d->gather_rounds * 50 * 1000000ll,
                 "held %.3f ms over %llu rounds", d->workers[d->covered[i]].held_ns / 1e6,
                 (unsigned long long)d->gather_rounds);
  schedrt_dump_doc_free(d);
  atomic_store(&stop_ticking, 1);
  atomic_store(&block_go, 1);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  cr_assert_eq(schedrt_join(ht, 10 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt);
}

/* ---------------- Tokio's dump.rs future_completes_during_trace */

static atomic_int tracing;

static schedrt_poll done_while_tracing(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_load(&tracing))
    return SCHEDRT_READY;
  return schedrt_yield(t);
}

Test(dump, task_completing_during_the_trace) {
  schedrt_runtime *rt = make_rt(3, 0);
  for (int i = 0; i < 20; i++) {
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, done_while_tracing, NULL, NULL, &h), 0);
    atomic_store(&tracing, 1);
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
    cr_assert_eq(res.status, SCHEDRT_DUMP_OK);
    cr_assert_null(tdu_check(d, 3), "%s", tdu_check(d, 3));
    schedrt_dump_doc_free(d);
    cr_assert_eq(schedrt_join(h, 10 * SEC, NULL), 0);
    atomic_store(&tracing, 0);
  }
  schedrt_runtime_destroy(rt);
}

/* ---------------- tokio-rs/tokio#7478: all parked, dump, spawn from outside */

static bool all_parked(void *arg) {
  schedrt_runtime *rt = arg;
  pthread_mutex_lock(&rt->idle.lock);
  bool all = rt->idle.nsleepers == rt->nworkers;
  pthread_mutex_unlock(&rt->idle.lock);
  /* The idle word agrees: nobody unparked, nobody searching. */
  return all && atomic_load(&rt->idle.state) == 0;
}

Test(dump, parked_workers_dump_then_spawn_from_outside) {
  schedrt_runtime *rt = make_rt(4, 0);
  for (int i = 0; i < 10; i++) {
    cr_assert(eventually(all_parked, rt), "round %d: every worker parks", i);
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
    cr_assert_eq(res.status, SCHEDRT_DUMP_OK, "parked workers are woken and covered");
    cr_assert_eq(res.workers_covered, 4);
    for (uint32_t w = 0; w < d->nworkers; w++)
      cr_assert_str_eq(schedrt_dump_wstate_text(d->workers[w].state), "parked",
                       "worker %u is reported as the dump found it, not as its waking left it", w);
    schedrt_dump_doc_free(d);
    cr_assert(eventually(all_parked, rt), "round %d: they park again with the counts right", i);
    atomic_int ran = 0;
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, counted, &ran, NULL, &h), 0);
    cr_assert_eq(schedrt_join(h, 10 * SEC, NULL), 0, "a spawn from outside still runs");
    cr_assert_eq(atomic_load(&ran), 1);
  }
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------ one at a time */

struct bg {
  schedrt_runtime *rt;
  int rc;
  schedrt_dump_result res;
};

static void *bg_dump(void *arg) {
  struct bg *b = arg;
  schedrt_dump_doc *d = NULL;
  b->rc = tdu_dump(b->rt, &(schedrt_dump_opts){.timeout_ms = 2000}, &b->res, &d);
  schedrt_dump_doc_free(d);
  return NULL;
}

static bool dump_busy(void *arg) {
  schedrt_runtime *rt = arg;
  return atomic_load(&rt->dump->busy) != 0;
}

Test(dump, second_concurrent_request_is_busy) {
  schedrt_runtime *rt = make_rt(2, 0);
  static uint64_t zero = 0;
  schedrt_handle *hb;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, &zero, NULL, &hb), 0);
  cr_assert(eventually(started, NULL));
  struct bg b = {.rt = rt};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, bg_dump, &b), 0);
  cr_assert(eventually(dump_busy, rt));
  schedrt_dump_result res;
  int fd = memfd_create("x", MFD_CLOEXEC);
  cr_assert_eq(schedrt_dump_fd(rt, fd, NULL, &res), -EBUSY);
  cr_assert_eq(res.status, SCHEDRT_DUMP_BUSY);
  close(fd);
  atomic_store(&block_go, 1);
  pthread_join(th, NULL);
  cr_assert_eq(b.rc, 0);
  cr_assert(b.res.status == SCHEDRT_DUMP_OK || b.res.status == SCHEDRT_DUMP_PARTIAL);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt);
}

/* ---------------------------------------------------- refusals and files */

Test(dump, disabled_by_config) {
  schedrt_runtime *rt = make_rt(1, SCHEDRT_CFG_NO_DUMP);
  schedrt_dump_result res;
  int fd = memfd_create("x", MFD_CLOEXEC);
  cr_assert_eq(schedrt_dump_fd(rt, fd, NULL, &res), SCHEDRT_EDISABLED);
  cr_assert_eq(res.status, SCHEDRT_DUMP_DISABLED);
  cr_assert_eq(lseek(fd, 0, SEEK_END), 0, "nothing written");
  close(fd);
  schedrt_runtime_destroy(rt);
}

Test(dump, disabled_by_environment) {
  setenv("SCHEDRT_DUMP", "0", 1);
  schedrt_runtime *rt = make_rt(1, 0);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_fd(rt, 1, NULL, &res), SCHEDRT_EDISABLED);
  cr_assert_eq(res.status, SCHEDRT_DUMP_DISABLED);
  schedrt_runtime_destroy(rt);
  unsetenv("SCHEDRT_DUMP");
}

Test(dump, bad_arguments) {
  schedrt_runtime *rt = make_rt(1, 0);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_fd(NULL, 1, NULL, &res), -EINVAL);
  cr_assert_eq(schedrt_dump_fd(rt, -1, NULL, &res), -EINVAL);
  cr_assert_eq(schedrt_dump_fd(rt, 1, &(schedrt_dump_opts){.timeout_ms = UINT32_MAX}, &res), -EINVAL);
  cr_assert_eq(schedrt_dump_path(rt, NULL, NULL, &res), -EINVAL);
  cr_assert_eq(schedrt_dump_path(rt, "/tmp/", NULL, &res), -EINVAL);
  cr_assert_eq(schedrt_dump_path(rt, "/nonexistent-dir-xyz/d.cbor", NULL, &res), -ENOENT);
  cr_assert_str_eq(schedrt_dump_status_name(SCHEDRT_DUMP_PARTIAL), "PARTIAL");
  cr_assert_str_eq(schedrt_dump_status_name((schedrt_dump_status)99), "UNKNOWN");
  schedrt_runtime_destroy(rt);
}

Test(dump, shutting_down_answers_shutdown) {
  schedrt_runtime *rt = make_rt(1, 0);
  /* White-box: what a request sees once destroy has begun. */
  atomic_store(&rt->shutdown, true);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_fd(rt, 1, NULL, &res), -ESHUTDOWN);
  cr_assert_eq(res.status, SCHEDRT_DUMP_SHUTDOWN);
  schedrt_runtime_destroy(rt);
}

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/schedrt-dumptest-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

Test(dump, path_is_created_private_and_exclusive) {
  schedrt_runtime *rt = make_rt(2, 0);
  char path[128], link[128];
  make_tmpdir();
  snprintf(path, sizeof(path), "%s/d.cbor", tmpdir);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_path(rt, path, NULL, &res), 0);
  cr_assert_eq(res.status, SCHEDRT_DUMP_OK);
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0600);
  cr_assert_eq((uint64_t)st.st_size, res.bytes);
  schedrt_dump_doc *d;
  cr_assert_eq(schedrt_dump_load(path, &d), 0);
  schedrt_dump_doc_free(d);
  /* Exclusive: an existing file is never overwritten... */
  cr_assert_eq(schedrt_dump_path(rt, path, NULL, &res), -EEXIST);
  /* ... and a link is never followed (not even a dangling one). */
  snprintf(link, sizeof(link), "%s/link.cbor", tmpdir);
  cr_assert_eq(symlink("/tmp/schedrt-dumptest-target-never", link), 0);
  cr_assert_eq(schedrt_dump_path(rt, link, NULL, &res), -EEXIST);
  cr_assert_eq(access("/tmp/schedrt-dumptest-target-never", F_OK), -1);
  unlink(link);
  unlink(path);
  rmdir(tmpdir);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll idle_forever(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_await(t, "nothing");
  return SCHEDRT_PENDING;
}

/* Any CBOR library must read a dump; Python's cbor2 checks the schema. */
Test(dump, python_cbor2_reads_the_dump) {
  schedrt_runtime *rt = make_rt(2, 0);
  char path[128], cmd[512];
  make_tmpdir();
  snprintf(path, sizeof(path), "%s/py.cbor", tmpdir);
  static const char *names[] = {"plain", "caf\xc3\xa9", "bad\xff utf8", NULL};
  for (int i = 0; i < 100; i++) {
    schedrt_spawn_opts o = {.name = names[i % 4]};
    cr_assert_eq(schedrt_spawn_ex(rt, idle_forever, NULL, &o, NULL), 0);
  }
  for (int i = 0; i < 3; i++)
    cr_assert_eq(schedrt_spawn(rt, yielder, NULL), 0);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_path(rt, path, &(schedrt_dump_opts){.label = "python"}, &res), 0);
  snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/check_dump.py %s 103", SCHEDRT_TEST_DATA_DIR, path);
  int st = system(cmd);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cbor2 check failed (%d): %s", st, cmd);
  unlink(path);
  rmdir(tmpdir);
  schedrt_runtime_destroy(rt);
}

/*
 * A single worker dumping from inside a task completes the barrier by itself:
 * the round closes at open, and the request flag must not stay raised, or
 * the worker would never park again (a busy loop for the runtime's life).
 */
static schedrt_poll dump_from_inside(schedrt_task *t, void *arg) {
  (void)t;
  int *rc = arg;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  schedrt_dump_result res;
  *rc = fd < 0 ? -errno : schedrt_dump_fd(schedrt_current(), fd, NULL, &res);
  if (fd >= 0)
    close(fd);
  return SCHEDRT_READY;
}
Test(dump, single_worker_dump_from_a_task_lowers_the_flag) {
  schedrt_runtime *rt = make_rt(1, 0);
  int rc = 1;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, dump_from_inside, &rc, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, 10ull * 1000000000u, NULL), 0);
  cr_assert_eq(rc, 0, "dump from a task: %s", schedrt_strerror(rc));
  cr_assert_eq(atomic_load(&rt->dump_flag), 0, "dump_flag left raised after the round");
  schedrt_runtime_destroy(rt);
}
