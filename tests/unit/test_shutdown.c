/*
 * Shutdown: every task that has not finished has its drop callback called
 * exactly once (idle tasks waiting on a channel, tasks queued behind a
 * blocked worker, tasks in the LIFO slot, the ring, the injection queue and
 * the yield list, tasks sleeping on timers), finished tasks are not dropped,
 * joiners get -ECANCELED, and nothing leaks (ASan/LSan build).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "local_queue.h"
#include "rt_fixture.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-shutdown")

/* Per-task bookkeeping shared by the tests. */
struct tracked {
  _Atomic unsigned polls, completed, dropped;
  schedrt_oneshot ch; /* for tasks that wait on a channel */
  uint64_t deadline;  /* for tasks that sleep */
  sem_t polled;       /* posted after the first poll */
  bool posted;
};
static void tracked_init(struct tracked *t) {
  memset(t, 0, sizeof(*t));
  schedrt_oneshot_init(&t->ch);
  sem_init(&t->polled, 0, 0);
}
static void first_poll_done(struct tracked *t) {
  if (!t->posted) {
    t->posted = true;
    sem_post(&t->polled);
  }
}
/* The drop callback: counts, and releases what the task held (its channel's waker). */
static void tracked_drop(void *arg) {
  struct tracked *t = arg;
  atomic_fetch_add(&t->dropped, 1);
  schedrt_oneshot_destroy(&t->ch);
}
static const schedrt_spawn_opts tracked_opts = {.name = "tracked", .drop = tracked_drop};

static void assert_dropped_once(struct tracked *t, unsigned n, const char *what) {
  for (unsigned i = 0; i < n; i++) {
    cr_assert_eq(atomic_load(&t[i].dropped), 1, "%s %u dropped %u times", what, i,
                 atomic_load(&t[i].dropped));
    cr_assert_eq(atomic_load(&t[i].completed), 0, "%s %u completed", what, i);
  }
}

/*
 * Joining after destroy returned is forbidden (schedrt.h); joining while it
 * runs is how a caller learns the outcome: a joiner thread started before
 * destroy gets 0 for a task that finished, -ECANCELED for one that was dropped.
 */
struct joiner {
  schedrt_handle *h;
  int rc;
  void *v;
  pthread_t th;
};
static void *join_thread(void *arg) {
  struct joiner *j = arg;
  j->rc = schedrt_join(j->h, UINT64_MAX, &j->v);
  return NULL;
}
static void start_joiner(struct joiner *j, schedrt_handle *h) {
  j->h = h;
  j->rc = 1;
  j->v = (void *)0x1;
  cr_assert_eq(pthread_create(&j->th, NULL, join_thread, j), 0);
}
static int finish_joiner(struct joiner *j) {
  pthread_join(j->th, NULL);
  return j->rc;
}
/* Waits until the joiner sleeps on the task's state word (JOIN_THREAD announced). */
static void joiner_waiting(struct joiner *j) {
  schedrt_task *task = (schedrt_task *)j->h;
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&task->state) & SCHEDRT_TS_JOIN_THREAD, WAIT_S);
  cr_assert(ok, "the joiner never waited");
}

/* Waits on its channel, forever unless someone sends. */
static schedrt_poll wait_channel_fn(schedrt_task *task, void *arg) {
  struct tracked *t = arg;
  atomic_fetch_add(&t->polls, 1);
  void *v;
  schedrt_poll p = schedrt_oneshot_recv(&t->ch, task, &v);
  first_poll_done(t);
  if (p == SCHEDRT_READY)
    atomic_fetch_add(&t->completed, 1);
  return p;
}

/* Finishes at once. */
static schedrt_poll finish_fn(schedrt_task *task, void *arg) {
  (void)task;
  struct tracked *t = arg;
  atomic_fetch_add(&t->polls, 1);
  atomic_fetch_add(&t->completed, 1);
  return SCHEDRT_READY;
}

/* ------------------------------------------------------------ idle tasks */

Test(shutdown, idle_tasks_on_a_never_sent_oneshot_are_dropped_once, .timeout = 60) {
  enum { N = 64 };
  schedrt_runtime *rt = make_rt(2);
  struct tracked t[N];
  schedrt_handle *h[N];
  for (unsigned i = 0; i < N; i++) {
    tracked_init(&t[i]);
    cr_assert_eq(schedrt_spawn_ex(rt, wait_channel_fn, &t[i], &tracked_opts, &h[i]), 0);
  }
  for (unsigned i = 0; i < N; i++)
    cr_assert(stress_sem_wait(&t[i].polled, WAIT_S));
  schedrt_runtime_destroy(rt);
  assert_dropped_once(t, N, "idle task");
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(atomic_load(&t[i].polls), 1, "a dropped task is not polled again");
    schedrt_handle_release(h[i]); /* allowed after destroy; LSan checks it frees the task */
  }
}

Test(shutdown, finished_tasks_are_not_dropped, .timeout = 60) {
  enum { N = 64 };
  schedrt_runtime *rt = make_rt(2);
  struct tracked t[N];
  schedrt_handle *h[N];
  for (unsigned i = 0; i < N; i++) {
    tracked_init(&t[i]);
    cr_assert_eq(schedrt_spawn_ex(rt, finish_fn, &t[i], &tracked_opts, &h[i]), 0);
  }
  /* Half joined before shutdown, half after (their handles keep the tasks). */
  for (unsigned i = 0; i < N / 2; i++)
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
  for (unsigned i = N / 2; i < N; i++) {
    bool ok;
    STRESS_WAIT_UNTIL(ok, schedrt_handle_is_finished(h[i]), WAIT_S);
    cr_assert(ok);
  }
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(atomic_load(&t[i].completed), 1);
    cr_assert_eq(atomic_load(&t[i].dropped), 0, "task %u finished and was dropped too", i);
  }
  for (unsigned i = N / 2; i < N; i++)
    schedrt_handle_release(h[i]);
}

Test(shutdown, sleeping_joiners_get_ecanceled, .timeout = 60) {
  enum { N = 4 };
  schedrt_runtime *rt = make_rt(2);
  struct tracked t[N], done;
  struct joiner j[N], jd;
  for (unsigned i = 0; i < N; i++) {
    tracked_init(&t[i]);
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, wait_channel_fn, &t[i], &tracked_opts, &h), 0);
    start_joiner(&j[i], h);
  }
  /* And one that finishes with a result before shutdown. */
  tracked_init(&done);
  cr_assert_eq(schedrt_oneshot_send(&done.ch, (void *)0x77), 0);
  schedrt_handle *hd;
  cr_assert_eq(schedrt_spawn_ex(rt, wait_channel_fn, &done, &tracked_opts, &hd), 0);
  start_joiner(&jd, hd);
  for (unsigned i = 0; i < N; i++) {
    cr_assert(stress_sem_wait(&t[i].polled, WAIT_S));
    joiner_waiting(&j[i]);
  }
  cr_assert_eq(finish_joiner(&jd), 0);
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(finish_joiner(&j[i]), -ECANCELED);
    cr_assert_null(j[i].v, "no result for a dropped task");
  }
  assert_dropped_once(t, N, "joined task");
  cr_assert_eq(atomic_load(&done.dropped), 0);
}

/*
 * -ECANCELED tells the joiner that the task is gone, so it may free arg: the
 * drop callback must have returned by then. The callback dawdles so that a
 * runtime publishing completion first would let the joiner in before it ends.
 */
struct slow_drop {
  struct tracked t;
  _Atomic bool drop_returned;
  schedrt_handle *h;
  int rc;
  bool seen_at_return; /* drop_returned as the joiner saw it when join returned */
};
static void slow_drop_fn(void *arg) {
  struct slow_drop *d = arg;
  struct timespec ts = {0, 50 * (long)MS}; /* widens the window; not a synchronisation */
  nanosleep(&ts, NULL);
  schedrt_oneshot_destroy(&d->t.ch);
  atomic_store(&d->drop_returned, true);
}
static void *slow_drop_joiner(void *arg) {
  struct slow_drop *d = arg;
  d->rc = schedrt_join(d->h, UINT64_MAX, NULL);
  d->seen_at_return = atomic_load(&d->drop_returned);
  return NULL;
}
Test(shutdown, ecanceled_only_after_the_drop_callback_returned, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct slow_drop d;
  tracked_init(&d.t);
  atomic_init(&d.drop_returned, false);
  const schedrt_spawn_opts opts = {.name = "slow-drop", .drop = slow_drop_fn};
  cr_assert_eq(schedrt_spawn_ex(rt, wait_channel_fn, &d.t, &opts, &d.h), 0);
  cr_assert(stress_sem_wait(&d.t.polled, WAIT_S));
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, slow_drop_joiner, &d), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&((schedrt_task *)d.h)->state) & SCHEDRT_TS_JOIN_THREAD, WAIT_S);
  cr_assert(ok, "the joiner never slept on the task");
  schedrt_runtime_destroy(rt);
  pthread_join(th, NULL);
  cr_assert_eq(d.rc, -ECANCELED);
  cr_assert(d.seen_at_return, "join returned -ECANCELED before drop(arg) returned");
}

/* ------------------------------------------------------------ queued tasks */

/*
 * One worker, held by a blocker until shutdown has begun: what it spawned
 * (LIFO slot, ring, overflow into the injection queue) and what was spawned
 * from outside (injection queue) never ran and is dropped.
 */
struct holder {
  schedrt_runtime *rt;
  struct tracked *local;
  unsigned nlocal;
  sem_t spawned, release;
  int late_spawn_rc;
  _Atomic bool done;
};
static schedrt_poll holder_fn(schedrt_task *task, void *arg) {
  (void)task;
  struct holder *h = arg;
  for (unsigned i = 0; i < h->nlocal; i++)
    if (schedrt_spawn_ex(h->rt, finish_fn, &h->local[i], &tracked_opts, NULL) != 0)
      h->late_spawn_rc = -999;
  sem_post(&h->spawned);
  stress_sem_wait(&h->release, 30);
  /* Shutdown has begun: spawning is refused, and the refusal is not a crash. */
  schedrt_handle *hh = (schedrt_handle *)0x1;
  h->late_spawn_rc = schedrt_spawn_ex(h->rt, finish_fn, &h->local[0], &tracked_opts, &hh);
  if (hh != NULL)
    h->late_spawn_rc = -998;
  atomic_store(&h->done, true);
  return SCHEDRT_READY;
}

/* Posts release once destroy has set the shutdown flag (white-box: the flag is the signal). */
struct watcher {
  schedrt_runtime *rt;
  sem_t *release;
};
static void *watch_shutdown(void *arg) {
  struct watcher *w = arg;
  while (!atomic_load(&w->rt->shutdown))
    stress_pause_();
  sem_post(w->release);
  return NULL;
}

Test(shutdown, queued_tasks_behind_a_blocked_worker_are_dropped_once, .timeout = 60) {
  enum { LOCAL = 300, REMOTE = 100 }; /* 300 > the ring: some overflow into the injection queue */
  schedrt_runtime *rt = make_rt(1);
  struct tracked *local = calloc(LOCAL, sizeof(*local)), *remote = calloc(REMOTE, sizeof(*remote));
  for (unsigned i = 0; i < LOCAL; i++)
    tracked_init(&local[i]);
  for (unsigned i = 0; i < REMOTE; i++)
    tracked_init(&remote[i]);
  struct holder ho = {.rt = rt, .local = local, .nlocal = LOCAL};
  sem_init(&ho.spawned, 0, 0);
  sem_init(&ho.release, 0, 0);
  schedrt_handle *hh;
  cr_assert_eq(schedrt_spawn_ex(rt, holder_fn, &ho, NULL, &hh), 0);
  cr_assert(stress_sem_wait(&ho.spawned, WAIT_S));
  for (unsigned i = 0; i < REMOTE; i++)
    cr_assert_eq(schedrt_spawn_ex(rt, finish_fn, &remote[i], &tracked_opts, NULL), 0);
  /* Everything is queued: LIFO slot + ring + injection queue hold all 400. */
  schedrt_worker *w = &rt->workers[0];
  uint64_t queued =
      (atomic_load(&w->lifo) ? 1 : 0) + schedrt__lq_len(&w->q) + schedrt__inject_len(&rt->inject);
  cr_assert_eq(queued, LOCAL + REMOTE);
  cr_assert_gt(schedrt__inject_len(&rt->inject), REMOTE, "the local burst overflowed");
  struct watcher wa = {rt, &ho.release};
  pthread_t th;
  pthread_create(&th, NULL, watch_shutdown, &wa);
  struct joiner jh;
  start_joiner(&jh, hh);
  schedrt_runtime_destroy(rt);
  pthread_join(th, NULL);
  cr_assert(atomic_load(&ho.done));
  cr_assert_eq(ho.late_spawn_rc, -ESHUTDOWN);
  cr_assert_eq(finish_joiner(&jh), 0, "the holder itself finished");
  /* Including the one in the LIFO slot: the worker does not poll it once shutdown began. */
  assert_dropped_once(local, LOCAL, "local task");
  assert_dropped_once(remote, REMOTE, "remote task");
  for (unsigned i = 0; i < LOCAL; i++)
    cr_assert_eq(atomic_load(&local[i].polls), 0, "local task %u polled after shutdown began", i);
  free(local);
  free(remote);
}

/* ------------------------------------------------------------ timers */

static schedrt_poll sleep_fn(schedrt_task *task, void *arg) {
  struct tracked *t = arg;
  atomic_fetch_add(&t->polls, 1);
  schedrt_poll p = schedrt_sleep(task, &t->deadline, 3600000 * MS);
  first_poll_done(t);
  if (p == SCHEDRT_READY)
    atomic_fetch_add(&t->completed, 1);
  return p;
}

Test(shutdown, tasks_in_timers_are_dropped_once, .timeout = 60) {
  enum { N = 100 };
  schedrt_runtime *rt = make_rt(2);
  struct tracked t[N];
  for (unsigned i = 0; i < N; i++) {
    tracked_init(&t[i]);
    cr_assert_eq(schedrt_spawn_ex(rt, sleep_fn, &t[i], &tracked_opts, NULL), 0);
  }
  for (unsigned i = 0; i < N; i++)
    cr_assert(stress_sem_wait(&t[i].polled, WAIT_S));
  schedrt_runtime_destroy(rt);
  assert_dropped_once(t, N, "sleeping task");
}

/* Timers that fire during shutdown race the drops; each task still ends exactly once. */
static schedrt_poll short_sleep_fn(schedrt_task *task, void *arg) {
  struct tracked *t = arg;
  unsigned n = atomic_fetch_add(&t->polls, 1);
  first_poll_done(t);
  /* Sleep 1 ms, ten times, then finish. */
  while (n < 10) {
    if (schedrt_sleep(task, &t->deadline, 1 * MS) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    n = atomic_fetch_add(&t->polls, 1);
  }
  atomic_fetch_add(&t->completed, 1);
  return SCHEDRT_READY;
}

Test(shutdown, firing_timers_race_shutdown, .timeout = 60) {
  enum { N = 200 };
  for (int round = 0; round < 20; round++) {
    schedrt_runtime *rt = make_rt(2);
    struct tracked t[N];
    for (unsigned i = 0; i < N; i++) {
      tracked_init(&t[i]);
      cr_assert_eq(schedrt_spawn_ex(rt, short_sleep_fn, &t[i], &tracked_opts, NULL), 0);
    }
    for (unsigned i = 0; i < N; i++)
      cr_assert(stress_sem_wait(&t[i].polled, WAIT_S));
    schedrt_runtime_destroy(rt);
    for (unsigned i = 0; i < N; i++)
      cr_assert_eq(atomic_load(&t[i].completed) + atomic_load(&t[i].dropped), 1, "round %d task %u: %u+%u",
                   round, i, atomic_load(&t[i].completed), atomic_load(&t[i].dropped));
  }
}

/* ------------------------------------------------------------ yield list */

static schedrt_poll busy_yield_fn(schedrt_task *task, void *arg) {
  struct tracked *t = arg;
  atomic_fetch_add(&t->polls, 1);
  first_poll_done(t);
  return schedrt_yield(task);
}

Test(shutdown, busy_yielding_tasks_are_dropped_once, .timeout = 60) {
  enum { N = 8 };
  schedrt_runtime *rt = make_rt(2);
  struct tracked t[N];
  for (unsigned i = 0; i < N; i++) {
    tracked_init(&t[i]);
    cr_assert_eq(schedrt_spawn_ex(rt, busy_yield_fn, &t[i], &tracked_opts, NULL), 0);
  }
  for (unsigned i = 0; i < N; i++)
    cr_assert(stress_sem_wait(&t[i].polled, WAIT_S));
  schedrt_runtime_destroy(rt);
  assert_dropped_once(t, N, "yielding task");
}

/* ------------------------------------------------------------ handle_poll */

struct parent {
  struct tracked tr;
  schedrt_runtime *rt;
  struct tracked *child;
  schedrt_handle *ch;
};
static schedrt_poll parent_fn(schedrt_task *task, void *arg) {
  struct parent *p = arg;
  atomic_fetch_add(&p->tr.polls, 1);
  if (!p->ch && schedrt_spawn_ex(p->rt, wait_channel_fn, p->child, &tracked_opts, &p->ch) != 0)
    return SCHEDRT_READY;
  schedrt_poll r = schedrt_handle_poll(p->ch, task, NULL);
  first_poll_done(&p->tr);
  if (r == SCHEDRT_READY)
    atomic_fetch_add(&p->tr.completed, 1);
  return r;
}
static void parent_drop(void *arg) {
  struct parent *p = arg;
  atomic_fetch_add(&p->tr.dropped, 1);
  schedrt_handle_release(p->ch); /* what a real parent would do with its child's handle */
}

Test(shutdown, parent_awaiting_a_child_both_dropped_once, .timeout = 60) {
  enum { N = 16 };
  schedrt_runtime *rt = make_rt(2);
  struct parent p[N];
  struct tracked c[N];
  schedrt_handle *h[N];
  schedrt_spawn_opts opts = {.name = "parent", .drop = parent_drop};
  for (unsigned i = 0; i < N; i++) {
    memset(&p[i], 0, sizeof(p[i]));
    tracked_init(&p[i].tr);
    tracked_init(&c[i]);
    p[i].rt = rt;
    p[i].child = &c[i];
    cr_assert_eq(schedrt_spawn_ex(rt, parent_fn, &p[i], &opts, &h[i]), 0);
  }
  struct joiner j[N];
  for (unsigned i = 0; i < N; i++) {
    cr_assert(stress_sem_wait(&p[i].tr.polled, WAIT_S));
    cr_assert(stress_sem_wait(&c[i].polled, WAIT_S));
    start_joiner(&j[i], h[i]);
  }
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(atomic_load(&p[i].tr.dropped) + atomic_load(&p[i].tr.completed), 1,
                 "parent %u: dropped %u, completed %u", i, atomic_load(&p[i].tr.dropped),
                 atomic_load(&p[i].tr.completed));
    /* Whatever the drop order, the parent is never polled after shutdown began. */
    cr_assert_eq(atomic_load(&p[i].tr.dropped), 1);
    cr_assert_eq(finish_joiner(&j[i]), -ECANCELED);
  }
  assert_dropped_once(c, N, "child");
}

/* ------------------------------------------------------------ drop callbacks */

/*
 * Drop callbacks run during destroy and may release what the task owned:
 * wakers of other tasks, join handles, oneshots, notifies (schedrt.h). Here
 * task i holds the waker of task i+1 and a handle of a child, and its drop
 * releases both, whatever order the tasks are dropped in.
 */
enum { RE_N = 32 };
struct owner {
  struct tracked tr;
  schedrt_waker *next_waker; /* task i+1's, set by task i+1 at its first poll */
  schedrt_handle *child;
  schedrt_notify *notify;
  uint64_t ticket;
};
static struct owner re_o[RE_N];
static struct tracked re_child[RE_N];

static schedrt_poll owner_fn(schedrt_task *task, void *arg) {
  struct owner *o = arg;
  unsigned i = (unsigned)(o - re_o);
  if (atomic_fetch_add(&o->tr.polls, 1) == 0) {
    re_o[(i + RE_N - 1) % RE_N].next_waker = schedrt_waker_get(task);
    if (schedrt_spawn_ex(schedrt_task_runtime(task), wait_channel_fn, &re_child[i], &tracked_opts, &o->child))
      return SCHEDRT_READY;
  }
  schedrt_poll p = schedrt_notify_wait(o->notify, task, &o->ticket);
  first_poll_done(&o->tr);
  return p;
}
static void owner_drop(void *arg) {
  struct owner *o = arg;
  atomic_fetch_add(&o->tr.dropped, 1);
  schedrt_waker_drop(o->next_waker);
  o->next_waker = NULL;
  schedrt_handle_release(o->child);
  o->child = NULL;
  schedrt_notify_cancel(o->notify, &o->ticket);
}

Test(shutdown, drop_callbacks_release_what_tasks_own, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  schedrt_spawn_opts opts = {.name = "owner", .drop = owner_drop};
  for (unsigned i = 0; i < RE_N; i++) {
    memset(&re_o[i], 0, sizeof(re_o[i]));
    tracked_init(&re_o[i].tr);
    tracked_init(&re_child[i]);
    re_o[i].notify = n;
  }
  for (unsigned i = 0; i < RE_N; i++)
    cr_assert_eq(schedrt_spawn_ex(rt, owner_fn, &re_o[i], &opts, NULL), 0);
  for (unsigned i = 0; i < RE_N; i++) {
    cr_assert(stress_sem_wait(&re_o[i].tr.polled, WAIT_S));
    cr_assert(stress_sem_wait(&re_child[i].polled, WAIT_S));
  }
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < RE_N; i++) {
    cr_assert_eq(atomic_load(&re_o[i].tr.dropped), 1, "owner %u dropped %u times", i,
                 atomic_load(&re_o[i].tr.dropped));
    cr_assert_eq(atomic_load(&re_o[i].tr.polls), 1, "owner %u polled during shutdown", i);
    cr_assert_null(re_o[i].next_waker);
    cr_assert_eq(re_o[i].ticket, 0);
  }
  assert_dropped_once(re_child, RE_N, "child");
  schedrt_notify_destroy(n); /* every waiter cancelled itself: nothing left to release */
}

/* Tasks spawned just before shutdown: each either ran to completion or is dropped, once. */
Test(shutdown, tasks_spawned_right_before_destroy_end_once, .timeout = 60) {
  enum { N = 500 };
  for (int round = 0; round < 10; round++) {
    schedrt_runtime *rt = make_rt(2);
    struct tracked *t = calloc(N, sizeof(*t));
    for (unsigned i = 0; i < N; i++) {
      tracked_init(&t[i]);
      cr_assert_eq(schedrt_spawn_ex(rt, finish_fn, &t[i], &tracked_opts, NULL), 0);
    }
    schedrt_runtime_destroy(rt);
    for (unsigned i = 0; i < N; i++)
      cr_assert_eq(atomic_load(&t[i].completed) + atomic_load(&t[i].dropped), 1, "task %u: %u+%u", i,
                   atomic_load(&t[i].completed), atomic_load(&t[i].dropped));
    free(t);
  }
}

/* ------------------------------------------------------------ trivial */

Test(shutdown, create_then_destroy, .timeout = 60) {
  for (int i = 0; i < 50; i++) {
    schedrt_runtime *rt = make_rt((unsigned)(i % 4) + 1);
    schedrt_runtime_destroy(rt);
  }
  schedrt_runtime_destroy(NULL);
}
