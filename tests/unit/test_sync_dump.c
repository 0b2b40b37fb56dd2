/*
 * Dumps name the owners: two tasks deadlocked on two mutexes are a cycle of
 * the waits-for graph, each waiting on the mutex the other holds; a task
 * waiting on a semaphore sees which tasks hold how many permits. Read back
 * with the dump decoder and sched-inspect's analysis, text and JSON.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dump_analysis.h"
#include "dump_analysis_json.h"
#include "dump_report.h"
#include "rt_fixture.h"
#include "stress.h"
#include "test_dump_util.h"

static schedrt_mutex *m1, *m2;
static _Atomic int held; /* how many hold their first mutex */
static _Atomic int stuck;

struct crosser {
  schedrt_mutex *first, *second;
  int step;
  uint64_t ticket;
};

static schedrt_poll crosser_fn(schedrt_task *t, void *arg) {
  struct crosser *c = arg;
  switch (c->step) {
  case 0:
    if (schedrt_mutex_lock(c->first, t, &c->ticket) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    atomic_fetch_add(&held, 1);
    c->step = 1;
    /* fallthrough */
  case 1:
    if (atomic_load(&held) < 2)
      return schedrt_yield(t); /* until the other holds its first */
    c->step = 2;
    /* fallthrough */
  default:
    schedrt_await(t, "lock the second mutex");
    if (schedrt_mutex_lock(c->second, t, &c->ticket) == SCHEDRT_PENDING) {
      if (c->step++ == 2)
        atomic_fetch_add(&stuck, 1);
      return SCHEDRT_PENDING;
    }
    return SCHEDRT_READY;
  }
}

static schedrt_semaphore *sem;
static _Atomic int sem_holding, sem_waiting;
struct sem_user {
  uint64_t n, ticket;
  bool hold; /* keeps its permits for ever */
};
static schedrt_poll sem_fn(schedrt_task *t, void *arg) {
  struct sem_user *u = arg;
  schedrt_await(t, "acquire permits");
  if (schedrt_semaphore_acquire(sem, t, u->n, &u->ticket) == SCHEDRT_PENDING) {
    atomic_fetch_add(&sem_waiting, 1);
    return SCHEDRT_PENDING;
  }
  atomic_fetch_add(&sem_holding, 1);
  return SCHEDRT_READY;
}

static void spawn_named(schedrt_runtime *rt, schedrt_task_fn fn, void *arg, const char *name) {
  schedrt_spawn_opts o = {.name = name};
  cr_assert_eq(schedrt_spawn_ex(rt, fn, arg, &o, NULL), 0);
}

static bool wait_until(_Atomic int *v, int want) {
  for (int i = 0; i < 2000 && atomic_load(v) < want; i++)
    usleep(5000);
  return atomic_load(v) >= want;
}

Test(sync_dump, mutex_deadlock_and_semaphore_holders, .timeout = 120) {
  schedrt_runtime *rt = fixture_rt(2, "test-sync-dump");
  cr_assert_eq(schedrt_mutex_create(&m1), 0);
  cr_assert_eq(schedrt_mutex_create(&m2), 0);
  cr_assert_eq(schedrt_semaphore_create(3, &sem), 0);
  struct crosser a = {m1, m2, 0, 0}, b = {m2, m1, 0, 0};
  spawn_named(rt, crosser_fn, &a, "cross-a");
  spawn_named(rt, crosser_fn, &b, "cross-b");
  struct sem_user h2 = {2, 0, true}, h1 = {1, 0, true}, w3 = {3, 0, false};
  spawn_named(rt, sem_fn, &h2, "sem-two");
  cr_assert(wait_until(&sem_holding, 1));
  spawn_named(rt, sem_fn, &h1, "sem-one");
  cr_assert(wait_until(&sem_holding, 2));
  spawn_named(rt, sem_fn, &w3, "sem-wants-3");
  cr_assert(wait_until(&stuck, 2), "the two tasks never deadlocked");
  cr_assert(wait_until(&sem_waiting, 1));

  schedrt_dump_result res;
  schedrt_dump_doc *d;
  cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
  /* For reading it with another sched-inspect (an older reader, say): SCHEDRT_TEST_SAVE_DUMP=path. */
  const char *save = getenv("SCHEDRT_TEST_SAVE_DUMP");
  if (save) {
    schedrt_dump_result r2;
    cr_expect_eq(schedrt_dump_path(rt, save, NULL, &r2), 0);
  }
  cr_expect_eq(d->minor, SCHEDRT_DUMP_MINOR);
  const schedrt_dump_task *ta = tdu_task_named(d, "cross-a"), *tb = tdu_task_named(d, "cross-b");
  cr_assert(ta && tb);
  struct {
    const schedrt_dump_task *t, *owner;
    schedrt_mutex *on;
  } cases[] = {{ta, tb, m2}, {tb, ta, m1}};
  for (size_t i = 0; i < 2; i++) {
    const schedrt_dump_task *t = cases[i].t;
    cr_expect_eq(t->state, SCHEDRT_DUMP_STATE_IDLE);
    cr_expect_eq(t->wait, SCHEDRT_DUMP_WAIT_MUTEX, "case %zu: %s", i, schedrt_dump_wait_text(t->wait));
    cr_expect_eq(t->wait_object, (int64_t)(uintptr_t)cases[i].on);
    cr_expect_eq(t->wait_for, (int64_t)cases[i].owner->id, "case %zu: waits for its owner", i);
    cr_assert_eq(t->nholders, 2);
    cr_expect_eq(t->holders[0], cases[i].owner->id);
    cr_expect_eq(t->holders[1], 1);
  }
  const schedrt_dump_task *tw = tdu_task_named(d, "sem-wants-3");
  const schedrt_dump_task *t2 = tdu_task_named(d, "sem-two"), *t1 = tdu_task_named(d, "sem-one");
  cr_assert(tw);
  cr_expect(!t2 && !t1, "the holders finished (their permits stay held)");
  cr_expect_eq(tw->wait, SCHEDRT_DUMP_WAIT_SEMAPHORE);
  cr_expect_eq(tw->wait_object, (int64_t)(uintptr_t)sem);
  cr_expect_eq(tw->wait_for, SCHEDRT_DUMP_NONE, "two holders: no single edge");
  cr_assert_eq(tw->nholders, 4);
  uint64_t permits = tw->holders[1] + tw->holders[3];
  cr_expect_eq(permits, 3);
  cr_expect(tw->holders[1] == 2 || tw->holders[3] == 2);

  /* sched-inspect's analysis: one deadlock of the two, named in the text and the JSON. */
  dump_analysis an;
  dump_analyze(d, &an);
  cr_assert_eq(an.waits.ncycles, 1);
  cr_expect_eq(an.waits.cycles[0].n, 2);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  dump_report_print(d, f, 5);
  fclose(f);
  char want[128];
  snprintf(want, sizeof(want), "waits for #%llu: mutex 0x%llx held by it", (unsigned long long)tb->id,
           (unsigned long long)(uintptr_t)m2);
  cr_expect(strstr(text, "deadlocks: 1"), "%s", text);
  cr_expect(strstr(text, want), "no \"%s\" in\n%s", want, text);
  free(text);
  char buf[512];
  size_t wi = (size_t)(tw - d->tasks);
  dump_wake_text(buf, sizeof(buf), d, &an.waits, wi);
  cr_expect(strstr(buf, "semaphore 0x") && strstr(buf, "permits held by #") && strstr(buf, "(2, finished)"),
            "%s", buf);
  json_t *j = dump_analysis_json(&an);
  json_t *dl = json_object_get(j, "deadlocks");
  cr_assert(json_is_array(dl) && json_array_size(dl) == 1);
  json_t *members = json_object_get(json_array_get(dl, 0), "tasks");
  cr_assert_eq(json_array_size(members), 2);
  for (size_t k = 0; k < 2; k++) {
    json_t *m = json_array_get(members, k);
    cr_expect_str_eq(json_string_value(json_object_get(m, "wait")), "mutex");
    cr_expect(json_is_integer(json_object_get(m, "waits_for")));
    cr_expect_eq(json_array_size(json_object_get(m, "holders")), 1);
  }
  json_decref(j);
  dump_analysis_free(&an);
  schedrt_dump_doc_free(d);

  /* The deadlocked tasks are dropped by destroy; their registrations go with the objects. */
  schedrt_runtime_destroy(rt);
  schedrt_mutex_destroy(m1);
  schedrt_mutex_destroy(m2);
  schedrt_semaphore_destroy(sem);
}
