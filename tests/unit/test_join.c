/*
 * Join handles (from threads, with timeouts; from tasks with
 * schedrt_handle_poll) and schedrt_block_on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rt_fixture.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-join")

/* Finishes with arg as its result. */
static schedrt_poll result_fn(schedrt_task *t, void *arg) {
  schedrt_task_set_result(t, arg);
  return SCHEDRT_READY;
}

/* Waits for a value on a oneshot and finishes with it as the result. */
struct rx {
  schedrt_oneshot ch;
  _Atomic unsigned polls;
  sem_t polled;
};
static void rx_init(struct rx *r) {
  memset(r, 0, sizeof(*r));
  schedrt_oneshot_init(&r->ch);
  sem_init(&r->polled, 0, 0);
}
static schedrt_poll rx_fn(schedrt_task *t, void *arg) {
  struct rx *r = arg;
  atomic_fetch_add(&r->polls, 1);
  void *v;
  schedrt_poll p = schedrt_oneshot_recv(&r->ch, t, &v);
  if (p == SCHEDRT_READY)
    schedrt_task_set_result(t, v);
  sem_post(&r->polled);
  return p;
}

/* ------------------------------------------------------------ join */

Test(join, returns_the_result, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, result_fn, (void *)0x1234, NULL, &h), 0);
  void *r = NULL;
  cr_assert_eq(schedrt_join(h, UINT64_MAX, &r), 0);
  cr_assert_eq(r, (void *)0x1234);
  cr_assert_eq(schedrt_spawn_ex(rt, result_fn, (void *)0x1, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0, "result may be NULL");
  schedrt_runtime_destroy(rt);
}

Test(join, bad_arguments) {
  cr_assert_eq(schedrt_join(NULL, 0, NULL), -EINVAL);
  cr_assert_eq(schedrt_handle_is_finished(NULL), 0);
  schedrt_handle_release(NULL);
}

Test(join, times_out_then_completes, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct rx r;
  rx_init(&r);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r, NULL, &h), 0);
  cr_assert(stress_sem_wait(&r.polled, WAIT_S));
  uint64_t t0 = schedrt_now_ns();
  cr_assert_eq(schedrt_join(h, 30 * MS, NULL), -ETIMEDOUT);
  uint64_t waited = schedrt_now_ns() - t0;
  cr_assert_geq(waited, 30 * MS, "join returned after %lu ns", (unsigned long)waited);
  cr_assert_lt(waited, 5000 * MS);
  /* The handle is still valid; a zero timeout does not wait. */
  cr_assert_not(schedrt_handle_is_finished(h));
  t0 = schedrt_now_ns();
  cr_assert_eq(schedrt_join(h, 0, NULL), -ETIMEDOUT);
  cr_assert_lt(schedrt_now_ns() - t0, 1000 * MS);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x77), 0);
  void *v = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &v), 0);
  cr_assert_eq(v, (void *)0x77);
  cr_assert_eq(atomic_load(&r.polls), 2);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

Test(join, zero_timeout_on_a_finished_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, result_fn, (void *)0x5, NULL, &h), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, schedrt_handle_is_finished(h), WAIT_S);
  cr_assert(ok);
  void *v = NULL;
  cr_assert_eq(schedrt_join(h, 0, &v), 0);
  cr_assert_eq(v, (void *)0x5);
  schedrt_runtime_destroy(rt);
}

/* Threads sleeping in schedrt_join (the futex path) are woken by completion. */
struct joiner {
  schedrt_handle *h;
  void *result;
  int rc;
};
static void *join_thread(void *arg) {
  struct joiner *j = arg;
  j->rc = schedrt_join(j->h, JOIN_NS, &j->result);
  return NULL;
}

Test(join, sleeping_joiners_are_woken, .timeout = 60) {
  enum { N = 8 };
  schedrt_runtime *rt = make_rt(2);
  struct rx r[N];
  struct joiner j[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    rx_init(&r[i]);
    cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r[i], NULL, &j[i].h), 0);
    pthread_create(&th[i], NULL, join_thread, &j[i]);
  }
  for (int i = 0; i < N; i++) {
    /* Wait until the joiner has announced itself on the task's state word. */
    schedrt_task *t = (schedrt_task *)j[i].h;
    bool ok;
    STRESS_WAIT_UNTIL(ok, atomic_load(&t->state) & SCHEDRT_TS_JOIN_THREAD, WAIT_S);
    cr_assert(ok, "joiner %d never waited", i);
  }
  for (int i = 0; i < N; i++)
    cr_assert_eq(schedrt_oneshot_send(&r[i].ch, (void *)(uintptr_t)(i + 100)), 0);
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(j[i].rc, 0);
    cr_assert_eq(j[i].result, (void *)(uintptr_t)(i + 100));
    schedrt_oneshot_destroy(&r[i].ch);
  }
  schedrt_runtime_destroy(rt);
}

/* A timeout just below UINT64_MAX ("practically forever") must not wrap into an immediate -ETIMEDOUT. */
static void *join_long(void *arg) {
  struct joiner *j = arg;
  j->rc = schedrt_join(j->h, UINT64_MAX - 1, &j->result);
  return NULL;
}

Test(join, huge_timeout_does_not_wrap, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct rx r;
  rx_init(&r);
  struct joiner j = {0};
  cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r, NULL, &j.h), 0);
  cr_assert(stress_sem_wait(&r.polled, WAIT_S));
  pthread_t th;
  pthread_create(&th, NULL, join_long, &j);
  schedrt_task *t = (schedrt_task *)j.h;
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&t->state) & SCHEDRT_TS_JOIN_THREAD, WAIT_S);
  cr_assert(ok);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x55), 0);
  pthread_join(th, NULL);
  cr_assert_eq(j.rc, 0, "join(UINT64_MAX - 1) returned %s", schedrt_strerror(j.rc));
  cr_assert_eq(j.result, (void *)0x55);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

/* From a worker, schedrt_join would block the thread that may have to run the task. */
struct deadlk {
  schedrt_runtime *rt;
  schedrt_handle *child;
  int join_rc, block_on_rc;
};
static schedrt_poll deadlk_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct deadlk *d = arg;
  if (schedrt_spawn_ex(d->rt, result_fn, (void *)0x9, NULL, &d->child))
    return SCHEDRT_READY;
  d->join_rc = schedrt_join(d->child, UINT64_MAX, NULL);
  d->block_on_rc = schedrt_block_on(d->rt, result_fn, NULL, NULL);
  return SCHEDRT_READY;
}

Test(join, from_a_worker_is_edeadlk, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct deadlk d = {.rt = rt};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, deadlk_fn, &d, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0);
  cr_assert_eq(d.join_rc, -EDEADLK);
  cr_assert_eq(d.block_on_rc, -EDEADLK);
  /* The refused join did not consume the handle. */
  void *v = NULL;
  cr_assert_eq(schedrt_join(d.child, JOIN_NS, &v), 0);
  cr_assert_eq(v, (void *)0x9);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ handle_poll */

struct parent {
  schedrt_runtime *rt;
  void *child_arg;
  schedrt_task_fn child_fn;
  schedrt_handle *child;
  unsigned polls;
  schedrt_poll first;        /* what the first handle_poll returned */
  _Atomic unsigned spurious; /* extra self-wakes while waiting */
  sem_t registered;
};
static schedrt_poll parent_fn(schedrt_task *t, void *arg) {
  struct parent *p = arg;
  p->polls++;
  if (!p->child && schedrt_spawn_ex(p->rt, p->child_fn, p->child_arg, NULL, &p->child))
    return SCHEDRT_READY;
  void *r = NULL;
  schedrt_poll s = schedrt_handle_poll(p->child, t, &r);
  if (p->polls == 1) {
    p->first = s;
    sem_post(&p->registered);
  }
  if (s == SCHEDRT_PENDING) {
    if (atomic_load(&p->spurious)) {
      atomic_fetch_sub(&p->spurious, 1);
      schedrt_wake(schedrt_waker_get(t)); /* poll me again: handle_poll re-registers */
    }
    return SCHEDRT_PENDING;
  }
  schedrt_handle_release(p->child);
  schedrt_task_set_result(t, r);
  return SCHEDRT_READY;
}

Test(handle_poll, waits_for_the_child, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct rx r;
  rx_init(&r);
  struct parent p = {.rt = rt, .child_fn = rx_fn, .child_arg = &r};
  sem_init(&p.registered, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, parent_fn, &p, NULL, &h), 0);
  cr_assert(stress_sem_wait(&p.registered, WAIT_S));
  cr_assert_eq(p.first, SCHEDRT_PENDING);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0xabc), 0);
  void *v = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &v), 0);
  cr_assert_eq(v, (void *)0xabc);
  cr_assert_eq(p.polls, 2, "woken once by the child's completion");
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

Test(handle_poll, spurious_polls_reregister_without_leaking, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct rx r;
  rx_init(&r);
  struct parent p = {.rt = rt, .child_fn = rx_fn, .child_arg = &r, .spurious = 50};
  sem_init(&p.registered, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, parent_fn, &p, NULL, &h), 0);
  cr_assert(stress_sem_wait(&p.registered, WAIT_S));
  /* Let the spurious polls run out, then complete the child. */
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&p.spurious) == 0, WAIT_S);
  cr_assert(ok);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0xdef), 0);
  void *v = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &v), 0);
  cr_assert_eq(v, (void *)0xdef);
  cr_assert_geq(p.polls, 52);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll child_fast_fn(schedrt_task *t, void *arg) { return result_fn(t, arg); }
/* The child is already done when first polled for: READY at once, the handle stays ours. */
static schedrt_poll parent_late_fn(schedrt_task *t, void *arg) {
  struct parent *p = arg;
  p->polls++;
  if (!p->child) {
    if (schedrt_spawn_ex(p->rt, child_fast_fn, (void *)0x31, NULL, &p->child))
      return SCHEDRT_READY;
    /* Yield until the child is finished (it runs from our LIFO slot or a thief). */
    return schedrt_yield(t);
  }
  if (!schedrt_handle_is_finished(p->child))
    return schedrt_yield(t);
  void *r = NULL;
  p->first = schedrt_handle_poll(p->child, t, &r);
  /* Polling again after READY still answers READY. */
  void *r2 = NULL;
  if (schedrt_handle_poll(p->child, t, &r2) != SCHEDRT_READY || r2 != r)
    p->first = SCHEDRT_PENDING;
  schedrt_handle_release(p->child);
  schedrt_task_set_result(t, r);
  return SCHEDRT_READY;
}

Test(handle_poll, child_already_finished, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct parent p = {.rt = rt};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, parent_late_fn, &p, NULL, &h), 0);
  void *v = NULL;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &v), 0);
  cr_assert_eq(p.first, SCHEDRT_READY);
  cr_assert_eq(v, (void *)0x31);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ block_on */

struct bo {
  pthread_t caller;
  bool on_caller;
  int worker;
  schedrt_runtime *current;
  unsigned polls;
};
static schedrt_poll bo_simple_fn(schedrt_task *t, void *arg) {
  struct bo *b = arg;
  b->polls++;
  b->on_caller = pthread_equal(pthread_self(), b->caller);
  b->worker = schedrt_worker_index();
  b->current = schedrt_current();
  schedrt_task_set_result(t, (void *)0x42);
  return SCHEDRT_READY;
}

Test(block_on, runs_on_the_calling_thread, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct bo b = {.caller = pthread_self(), .worker = 7};
  void *v = NULL;
  cr_assert_eq(schedrt_block_on(rt, bo_simple_fn, &b, &v), 0);
  cr_assert_eq(v, (void *)0x42);
  cr_assert(b.on_caller);
  cr_assert_eq(b.worker, -1);
  cr_assert_null(b.current);
  cr_assert_eq(b.polls, 1);
  cr_assert_eq(schedrt_block_on(rt, bo_simple_fn, &b, NULL), 0, "result may be NULL");
  schedrt_runtime_destroy(rt);
}

Test(block_on, bad_arguments, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  cr_assert_eq(schedrt_block_on(NULL, bo_simple_fn, NULL, NULL), -EINVAL);
  cr_assert_eq(schedrt_block_on(rt, NULL, NULL, NULL), -EINVAL);
  schedrt_runtime_destroy(rt);
}

/* block_on awaits a task it spawned; the spawn goes to the injection queue. */
struct bo_spawn {
  schedrt_runtime *rt;
  schedrt_handle *child;
  uint64_t inject_after_spawn;
  sem_t *release;
  unsigned polls;
};
static schedrt_poll child_where_fn(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_task_set_result(t, (void *)(intptr_t)(schedrt_worker_index() + 1000));
  return SCHEDRT_READY;
}
static schedrt_poll bo_spawn_fn(schedrt_task *t, void *arg) {
  struct bo_spawn *b = arg;
  b->polls++;
  if (!b->child) {
    if (schedrt_spawn_ex(b->rt, child_where_fn, NULL, NULL, &b->child))
      return SCHEDRT_READY;
    b->inject_after_spawn = schedrt__inject_len(&b->rt->inject);
  }
  void *r;
  schedrt_poll s = schedrt_handle_poll(b->child, t, &r);
  if (b->polls == 1)
    sem_post(b->release); /* only now may the worker run the child */
  if (s == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  schedrt_handle_release(b->child);
  schedrt_task_set_result(t, r);
  return SCHEDRT_READY;
}

struct blocker {
  sem_t started, release;
};
static schedrt_poll blocker_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct blocker *b = arg;
  sem_post(&b->started);
  stress_sem_wait(&b->release, 30);
  return SCHEDRT_READY;
}

Test(block_on, awaits_a_spawned_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct blocker bl;
  sem_init(&bl.started, 0, 0);
  sem_init(&bl.release, 0, 0);
  cr_assert_eq(schedrt_spawn(rt, blocker_fn, &bl), 0);
  cr_assert(stress_sem_wait(&bl.started, WAIT_S));
  struct bo_spawn b = {.rt = rt, .release = &bl.release};
  void *v = NULL;
  cr_assert_eq(schedrt_block_on(rt, bo_spawn_fn, &b, &v), 0);
  cr_assert_eq(b.inject_after_spawn, 1, "block_on's spawn goes to the injection queue");
  cr_assert_eq(v, (void *)(intptr_t)1000, "the child ran on worker 0");
  cr_assert_eq(b.polls, 2);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll bo_sleep_fn(schedrt_task *t, void *arg) {
  uint64_t *deadline = arg;
  return schedrt_sleep(t, deadline, 20 * MS);
}

Test(block_on, sleeps_on_a_timer, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  uint64_t deadline = 0, t0 = schedrt_now_ns();
  cr_assert_eq(schedrt_block_on(rt, bo_sleep_fn, &deadline, NULL), 0);
  uint64_t took = schedrt_now_ns() - t0;
  cr_assert_geq(took, 20 * MS, "slept %lu ns", (unsigned long)took);
  cr_assert_lt(took, 5000 * MS);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll bo_yield_fn(schedrt_task *t, void *arg) {
  unsigned *polls = arg;
  if (++*polls > 10)
    return SCHEDRT_READY;
  return schedrt_yield(t);
}

Test(block_on, yield_polls_again, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  unsigned polls = 0;
  cr_assert_eq(schedrt_block_on(rt, bo_yield_fn, &polls, NULL), 0);
  cr_assert_eq(polls, 11);
  schedrt_runtime_destroy(rt);
}

/* Woken from a foreign thread through a oneshot. */
static void *send_later(void *arg) {
  struct rx *r = arg;
  /* Send only once block_on is parked on its waker (RX_WAKER stored). */
  stress_sem_wait(&r->polled, WAIT_S);
  schedrt_oneshot_send(&r->ch, (void *)0x99);
  return NULL;
}

Test(block_on, woken_from_another_thread, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct rx r;
  rx_init(&r);
  pthread_t th;
  pthread_create(&th, NULL, send_later, &r);
  void *v = NULL;
  cr_assert_eq(schedrt_block_on(rt, rx_fn, &r, &v), 0);
  pthread_join(th, NULL);
  cr_assert_eq(v, (void *)0x99);
  cr_assert_eq(atomic_load(&r.polls), 2);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

/* Several threads in block_on at once, each woken by a worker task. */
struct bo_pair {
  schedrt_runtime *rt;
  struct rx r;
  bool spawned;
  int rc;
  void *v;
};
static schedrt_poll sender_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct bo_pair *p = arg;
  schedrt_oneshot_send(&p->r.ch, p);
  return SCHEDRT_READY;
}
static schedrt_poll bo_pair_fn(schedrt_task *t, void *arg) {
  struct bo_pair *p = arg;
  void *v;
  if (schedrt_oneshot_recv(&p->r.ch, t, &v) == SCHEDRT_READY) {
    schedrt_task_set_result(t, v);
    return SCHEDRT_READY;
  }
  if (!p->spawned) {
    p->spawned = true;
    if (schedrt_spawn(p->rt, sender_fn, p))
      return SCHEDRT_READY;
  }
  return SCHEDRT_PENDING;
}
static void *bo_thread(void *arg) {
  struct bo_pair *p = arg;
  for (int i = 0; i < 200 && p->rc == 0; i++) {
    schedrt_oneshot_destroy(&p->r.ch);
    schedrt_oneshot_init(&p->r.ch);
    p->spawned = false;
    p->v = NULL;
    p->rc = schedrt_block_on(p->rt, bo_pair_fn, p, &p->v);
    if (p->v != p)
      p->rc = -EPROTO;
  }
  return NULL;
}

Test(block_on, concurrent_callers, .timeout = 60) {
  enum { N = 4 };
  schedrt_runtime *rt = make_rt(2);
  struct bo_pair p[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    memset(&p[i], 0, sizeof(p[i]));
    p[i].rt = rt;
    schedrt_oneshot_init(&p[i].r.ch);
    pthread_create(&th[i], NULL, bo_thread, &p[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(p[i].rc, 0, "caller %d: %s", i, schedrt_strerror(p[i].rc));
    schedrt_oneshot_destroy(&p[i].r.ch);
  }
  schedrt_runtime_destroy(rt);
}
