/*
 * Tasks: spawn (where tasks go, errors, exactly-once), wakers (from other
 * threads, while running, coalescing, after completion), yield, the LIFO
 * slot, task information, configuration validation and error strings.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "local_queue.h"
#include "stress.h"

#define WAIT_S 10.0            /* deadline for anything that should happen "soon" */
#define JOIN_NS 20000000000ull /* liveness: joins return as soon as the task is done */

static schedrt_runtime *make_rt_ex(unsigned nworkers, uint32_t flags, uint32_t global_queue_interval) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.flags = flags;
  cfg.global_queue_interval = global_queue_interval;
  cfg.name = "test-task";
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "runtime_create: %s", schedrt_strerror(rc));
  cr_assert_not_null(rt);
  return rt;
}
static schedrt_runtime *make_rt(unsigned nworkers, uint32_t flags) { return make_rt_ex(nworkers, flags, 0); }

/* ------------------------------------------------------------ blocker */

/* A task that occupies its worker until released: makes queue contents observable. */
struct blocker {
  sem_t started, release;
};
static void blocker_init(struct blocker *b) {
  sem_init(&b->started, 0, 0);
  sem_init(&b->release, 0, 0);
}
static schedrt_poll blocker_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct blocker *b = arg;
  sem_post(&b->started);
  /* A deadline so that a broken runtime fails the test instead of hanging it. */
  stress_sem_wait(&b->release, 30);
  return SCHEDRT_READY;
}
static void block_worker(schedrt_runtime *rt, struct blocker *b) {
  blocker_init(b);
  cr_assert_eq(schedrt_spawn(rt, blocker_fn, b), 0);
  cr_assert(stress_sem_wait(&b->started, WAIT_S), "blocker never started");
}

/* ------------------------------------------------------------ spawn */

static _Atomic unsigned counts[4096];
static _Atomic unsigned finished;
static sem_t all_finished;
static unsigned expected_total;

static schedrt_poll count_fn(schedrt_task *t, void *arg) {
  (void)t;
  atomic_fetch_add(&counts[(uintptr_t)arg], 1);
  if (atomic_fetch_add(&finished, 1) + 1 == expected_total)
    sem_post(&all_finished);
  return SCHEDRT_READY;
}

Test(spawn, from_outside_each_runs_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  sem_init(&all_finished, 0, 0);
  expected_total = 4096;
  for (uintptr_t i = 0; i < 4096; i++)
    cr_assert_eq(schedrt_spawn(rt, count_fn, (void *)i), 0);
  cr_assert(stress_sem_wait(&all_finished, WAIT_S), "only %u of 4096 ran", atomic_load(&finished));
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < 4096; i++)
    cr_assert_eq(atomic_load(&counts[i]), 1, "task %u ran %u times", i, atomic_load(&counts[i]));
}

static schedrt_poll spawner_fn(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_runtime *rt = schedrt_task_runtime(t);
  /* 1000 children from one poll: LIFO slot, ring, overflow to the injection queue. */
  for (uintptr_t i = 0; i < 1000; i++)
    if (schedrt_spawn(rt, count_fn, (void *)i) != 0)
      return SCHEDRT_READY;
  return SCHEDRT_READY;
}

Test(spawn, from_inside_each_runs_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  sem_init(&all_finished, 0, 0);
  expected_total = 1000;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, spawner_fn, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0);
  cr_assert(stress_sem_wait(&all_finished, WAIT_S), "only %u of 1000 ran", atomic_load(&finished));
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < 1000; i++)
    cr_assert_eq(atomic_load(&counts[i]), 1, "task %u ran %u times", i, atomic_load(&counts[i]));
}

static schedrt_poll noop_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

Test(spawn, bad_arguments) {
  schedrt_handle *h = (schedrt_handle *)0x1;
  cr_assert_eq(schedrt_spawn_ex(NULL, noop_fn, NULL, NULL, &h), -EINVAL);
  cr_assert_null(h, "the handle is cleared on failure");
  schedrt_runtime *rt = make_rt(1, 0);
  h = (schedrt_handle *)0x1;
  cr_assert_eq(schedrt_spawn_ex(rt, NULL, NULL, NULL, &h), -EINVAL);
  cr_assert_null(h);
  cr_assert_eq(schedrt_spawn(rt, NULL, NULL), -EINVAL);
  schedrt_runtime_destroy(rt);
}

/* From outside, tasks wait in the injection queue (Tokio RM case 4: depth == i). */
Test(spawn, from_outside_goes_to_injection_queue, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct blocker b[2];
  block_worker(rt, &b[0]);
  block_worker(rt, &b[1]);
  sem_init(&all_finished, 0, 0);
  expected_total = 10;
  for (uintptr_t i = 0; i < 10; i++) {
    cr_assert_eq(schedrt__inject_len(&rt->inject), i);
    cr_assert_eq(schedrt_spawn(rt, count_fn, (void *)i), 0);
  }
  cr_assert_eq(schedrt__inject_len(&rt->inject), 10);
  cr_assert_eq(schedrt__lq_len(&rt->workers[0].q) + schedrt__lq_len(&rt->workers[1].q), 0);
  sem_post(&b[0].release);
  sem_post(&b[1].release);
  cr_assert(stress_sem_wait(&all_finished, WAIT_S));
  schedrt_runtime_destroy(rt);
}

/* From a worker, a task goes to the LIFO slot, and the slot's previous occupant to the ring. */
struct where {
  schedrt_runtime *rt;
  schedrt_handle *h1, *h2;
  schedrt_task *lifo_after_1, *lifo_after_2;
  uint32_t ring_after_1, ring_after_2;
  uint64_t inject_after;
  int worker;
};
static schedrt_poll where_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct where *wh = arg;
  wh->worker = schedrt_worker_index();
  schedrt_worker *w = &wh->rt->workers[wh->worker];
  if (schedrt_spawn_ex(wh->rt, noop_fn, NULL, NULL, &wh->h1))
    return SCHEDRT_READY;
  wh->lifo_after_1 = atomic_load(&w->lifo);
  wh->ring_after_1 = schedrt__lq_len(&w->q);
  if (schedrt_spawn_ex(wh->rt, noop_fn, NULL, NULL, &wh->h2))
    return SCHEDRT_READY;
  wh->lifo_after_2 = atomic_load(&w->lifo);
  wh->ring_after_2 = schedrt__lq_len(&w->q);
  wh->inject_after = schedrt__inject_len(&wh->rt->inject);
  return SCHEDRT_READY;
}

Test(spawn, from_inside_uses_lifo_slot_then_ring, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, 0);
  struct where wh = {.rt = rt};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, where_fn, &wh, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0);
  cr_assert_eq(wh.worker, 0);
  cr_assert_eq(wh.lifo_after_1, (schedrt_task *)wh.h1);
  cr_assert_eq(wh.ring_after_1, 0);
  cr_assert_eq(wh.lifo_after_2, (schedrt_task *)wh.h2);
  cr_assert_eq(wh.ring_after_2, 1, "the displaced task goes to the ring");
  cr_assert_eq(wh.inject_after, 0);
  cr_assert_eq(schedrt_join(wh.h1, UINT64_MAX, NULL), 0);
  cr_assert_eq(schedrt_join(wh.h2, UINT64_MAX, NULL), 0);
  schedrt_runtime_destroy(rt);
}

Test(spawn, from_inside_without_lifo_uses_ring, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, SCHEDRT_CFG_NO_LIFO);
  struct where wh = {.rt = rt};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, where_fn, &wh, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0);
  cr_assert_null(wh.lifo_after_1);
  cr_assert_eq(wh.ring_after_1, 1);
  cr_assert_null(wh.lifo_after_2);
  cr_assert_eq(wh.ring_after_2, 2);
  cr_assert_eq(schedrt_join(wh.h1, UINT64_MAX, NULL), 0);
  cr_assert_eq(schedrt_join(wh.h2, UINT64_MAX, NULL), 0);
  schedrt_runtime_destroy(rt);
}

/* Run order on one worker: a log of letters. */
static char order_log[64];
static _Atomic unsigned order_len;
static void order_add(char c) {
  unsigned i = atomic_fetch_add(&order_len, 1);
  if (i < sizeof(order_log) - 1)
    order_log[i] = c;
}
static schedrt_poll letter_fn(schedrt_task *t, void *arg) {
  (void)t;
  order_add((char)(uintptr_t)arg);
  return SCHEDRT_READY;
}

/* A spawns B then C: C (the LIFO slot) runs right after A, then B. */
static schedrt_poll lifo_parent_fn(schedrt_task *t, void *arg) {
  (void)arg;
  order_add('A');
  schedrt_runtime *rt = schedrt_task_runtime(t);
  if (schedrt_spawn(rt, letter_fn, (void *)(uintptr_t)'B') ||
      schedrt_spawn(rt, letter_fn, (void *)(uintptr_t)'C'))
    order_add('!');
  return SCHEDRT_READY;
}

static void run_order_test(uint32_t flags, const char *want) {
  schedrt_runtime *rt = make_rt(1, flags);
  memset(order_log, 0, sizeof(order_log));
  atomic_store(&order_len, 0);
  cr_assert_eq(schedrt_spawn(rt, lifo_parent_fn, NULL), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&order_len) >= 3, WAIT_S);
  cr_assert(ok, "ran: %s", order_log);
  schedrt_runtime_destroy(rt);
  cr_assert_str_eq(order_log, want);
}

Test(spawn, lifo_slot_runs_newest_first, .timeout = 60) { run_order_test(0, "ACB"); }
Test(spawn, without_lifo_runs_fifo, .timeout = 60) { run_order_test(SCHEDRT_CFG_NO_LIFO, "ABC"); }

/*
 * A chain of tasks each spawning the next must not starve the ring: after 3
 * LIFO polls in a row the next one goes behind Z, spawned earlier.
 */
static schedrt_poll chain_fn(schedrt_task *t, void *arg) {
  char c = (char)(uintptr_t)arg;
  order_add(c);
  if (c < 'F' && schedrt_spawn(schedrt_task_runtime(t), chain_fn, (void *)(uintptr_t)(c + 1)))
    order_add('!');
  return SCHEDRT_READY;
}
static schedrt_poll chain_root_fn(schedrt_task *t, void *arg) {
  (void)arg;
  order_add('A');
  schedrt_runtime *rt = schedrt_task_runtime(t);
  if (schedrt_spawn(rt, letter_fn, (void *)(uintptr_t)'Z') ||
      schedrt_spawn(rt, chain_fn, (void *)(uintptr_t)'B'))
    order_add('!');
  return SCHEDRT_READY;
}

Test(spawn, lifo_chain_is_capped, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, 0);
  memset(order_log, 0, sizeof(order_log));
  atomic_store(&order_len, 0);
  cr_assert_eq(schedrt_spawn(rt, chain_root_fn, NULL), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&order_len) >= 7, WAIT_S);
  cr_assert(ok, "ran: %s", order_log);
  schedrt_runtime_destroy(rt);
  /* A, then B and C from the LIFO slot (3 polls), then Z waiting in the ring, then the rest. */
  cr_assert_str_eq(order_log, "ABCZDEF");
}

/* ------------------------------------------------------------ task info */

struct info {
  schedrt_runtime *rt, *current;
  schedrt_runtime *task_rt;
  uint64_t id;
  int worker;
};
static schedrt_poll info_fn(schedrt_task *t, void *arg) {
  struct info *in = arg;
  in->current = schedrt_current();
  in->task_rt = schedrt_task_runtime(t);
  in->id = schedrt_task_id(t);
  in->worker = schedrt_worker_index();
  return SCHEDRT_READY;
}

Test(task, info_inside_and_outside, .timeout = 60) {
  schedrt_runtime *rt = make_rt(3, 0);
  cr_assert_null(schedrt_current());
  cr_assert_eq(schedrt_worker_index(), -1);
  struct info in[8];
  schedrt_handle *h[8];
  for (int i = 0; i < 8; i++)
    cr_assert_eq(schedrt_spawn_ex(rt, info_fn, &in[i], NULL, &h[i]), 0);
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(schedrt_join(h[i], UINT64_MAX, NULL), 0);
    cr_assert_eq(in[i].current, rt);
    cr_assert_eq(in[i].task_rt, rt);
    cr_assert(in[i].worker >= 0 && in[i].worker < 3, "worker index %d", in[i].worker);
    cr_assert_neq(in[i].id, 0);
    for (int j = 0; j < i; j++)
      cr_assert_neq(in[i].id, in[j].id, "task ids are unique");
  }
  cr_assert_eq(schedrt_runtime_nworkers(rt), 3);
  cr_assert_str_eq(schedrt_runtime_name(rt), "test-task");
  schedrt_runtime_destroy(rt);
  cr_assert_eq(schedrt_task_id(NULL), 0);
  cr_assert_null(schedrt_task_runtime(NULL));
  cr_assert_eq(schedrt_runtime_nworkers(NULL), 0);
  cr_assert_null(schedrt_runtime_name(NULL));
}

static schedrt_poll await_fn(schedrt_task *t, void *arg) {
  sem_t *polled = arg;
  schedrt_await(t, "forever");
  sem_post(polled);
  return SCHEDRT_PENDING;
}

/* What task dumps show: name (truncated to 23), spawn site, await site. */
Test(task, name_spawn_site_and_await_site, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, 0);
  sem_t polled;
  sem_init(&polled, 0, 0);
  schedrt_spawn_opts opts = {.name = "a-very-long-task-name-that-is-cut", .drop = NULL};
  schedrt_handle *h;
  /* The spawn and __LINE__ must stay on one line. */
  /* clang-format off */
  int line = __LINE__; int rc = schedrt_spawn_ex(rt, await_fn, &polled, &opts, &h);
  /* clang-format on */
  cr_assert_eq(rc, 0);
  cr_assert(stress_sem_wait(&polled, WAIT_S));
  schedrt_task *t = (schedrt_task *)h;
  cr_assert_str_eq(t->name, "a-very-long-task-name-t");
  cr_assert_eq(strlen(t->name), SCHEDRT_TASK_NAME_MAX - 1);
  cr_assert_str_eq(t->file, __FILE__);
  cr_assert_eq(t->line, line);
  cr_assert_str_eq(t->func, __func__);
  const schedrt_await_site *site = atomic_load(&t->await_site);
  cr_assert_not_null(site);
  cr_assert_str_eq(site->label, "forever");
  cr_assert_str_eq(site->file, __FILE__);
  cr_assert_gt(site->line, 0);
  cr_assert_eq(atomic_load(&t->polls), 1);
  /* An unnamed task has an empty name. */
  schedrt_handle *h2;
  cr_assert_eq(schedrt_spawn_ex(rt, noop_fn, NULL, NULL, &h2), 0);
  cr_assert_str_eq(((schedrt_task *)h2)->name, "");
  cr_assert_eq(schedrt_join(h2, UINT64_MAX, NULL), 0);
  schedrt_runtime_destroy(rt);
  schedrt_handle_release(h); /* releasing (not joining) is what is allowed after destroy */
}

/* ------------------------------------------------------------ wakers */

/* A task that hands out its waker at its first poll, then follows a script. */
struct wt {
  _Atomic unsigned polls;
  _Atomic(schedrt_waker *) waker;
  sem_t polled;            /* posted after every poll */
  sem_t in_poll, resume;   /* for wake-while-running */
  unsigned ready_at;       /* poll number that returns READY */
  bool hold_first_poll;    /* first poll waits for resume */
  _Atomic int concurrent;  /* >0 while a poll runs */
  _Atomic bool overlapped; /* two polls at once */
};
static void wt_init(struct wt *w, unsigned ready_at) {
  memset(w, 0, sizeof(*w));
  sem_init(&w->polled, 0, 0);
  sem_init(&w->in_poll, 0, 0);
  sem_init(&w->resume, 0, 0);
  w->ready_at = ready_at;
}
static schedrt_poll wt_fn(schedrt_task *t, void *arg) {
  struct wt *w = arg;
  if (atomic_fetch_add(&w->concurrent, 1) != 0)
    atomic_store(&w->overlapped, true);
  unsigned n = atomic_fetch_add(&w->polls, 1) + 1;
  if (n == 1)
    atomic_store(&w->waker, schedrt_waker_get(t));
  if (n == 1 && w->hold_first_poll) {
    sem_post(&w->in_poll);
    stress_sem_wait(&w->resume, 30);
  }
  atomic_fetch_sub(&w->concurrent, 1);
  sem_post(&w->polled);
  return n >= w->ready_at ? SCHEDRT_READY : SCHEDRT_PENDING;
}

Test(waker, wake_from_foreign_thread, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct wt w;
  wt_init(&w, 2);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wt_fn, &w, NULL, &h), 0);
  cr_assert(stress_sem_wait(&w.polled, WAIT_S));
  cr_assert_not(schedrt_handle_is_finished(h));
  schedrt_waker *wk = atomic_load(&w.waker);
  schedrt_wake(wk); /* consumes the reference */
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&w.polls), 2);
  schedrt_runtime_destroy(rt);
}

/* A pending task nobody wakes is not polled again (no spurious polls from the runtime). */
Test(waker, clone_and_wake_by_ref, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct wt w;
  wt_init(&w, 3);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wt_fn, &w, NULL, &h), 0);
  cr_assert(stress_sem_wait(&w.polled, WAIT_S));
  schedrt_waker *a = atomic_load(&w.waker);
  schedrt_waker *b = schedrt_waker_clone(a);
  cr_assert_eq(b, a, "a clone names the same task");
  schedrt_waker_drop(a); /* b keeps the task alive */
  schedrt_wake_by_ref(b);
  cr_assert(stress_sem_wait(&w.polled, WAIT_S));
  cr_assert_eq(atomic_load(&w.polls), 2);
  schedrt_wake_by_ref(b);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&w.polls), 3);
  /* After completion a wake is a no-op: nothing is queued, the task stays complete. */
  schedrt_task *t = (schedrt_task *)b;
  schedrt_wake_by_ref(b);
  uint32_t s = atomic_load(&t->state);
  cr_assert(s & SCHEDRT_TS_COMPLETE);
  cr_assert_not(s & SCHEDRT_TS_NOTIFIED);
  cr_assert_eq(schedrt__inject_len(&rt->inject), 0);
  /* The poller drops its references just after join saw completion. */
  bool ok;
  STRESS_WAIT_UNTIL(ok, schedrt__refs_count(atomic_load(&t->refs)) == 1, WAIT_S);
  cr_assert(ok, "only our waker keeps the finished task (refs %u)",
            schedrt__refs_count(atomic_load(&t->refs)));
  schedrt_wake(b); /* consumes and frees: ASan checks */
  schedrt_waker_drop(NULL);
  schedrt_wake(NULL);
  schedrt_wake_by_ref(NULL);
  cr_assert_eq(atomic_load(&w.polls), 3);
  schedrt_runtime_destroy(rt);
}

/*
 * Many wakes of an idle task, from several threads, queue it exactly once and
 * cause exactly one poll.
 */
struct waker_thread_arg {
  schedrt_waker *w;
  int n;
};
static void *wake_n_times(void *arg) {
  struct waker_thread_arg *a = arg;
  for (int i = 0; i < a->n; i++)
    schedrt_wake_by_ref(a->w);
  return NULL;
}

Test(waker, many_wakes_queue_once_and_poll_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, 0);
  struct wt w;
  wt_init(&w, 2);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wt_fn, &w, NULL, &h), 0);
  cr_assert(stress_sem_wait(&w.polled, WAIT_S));
  struct blocker b;
  block_worker(rt, &b);
  schedrt_waker *wk = atomic_load(&w.waker);
  pthread_t th[4];
  struct waker_thread_arg a = {wk, 1000};
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, wake_n_times, &a);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  cr_assert_eq(schedrt__inject_len(&rt->inject), 1, "4000 wakes queued the task once");
  cr_assert(atomic_load(&((schedrt_task *)wk)->state) & SCHEDRT_TS_NOTIFIED);
  sem_post(&b.release);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&w.polls), 2);
  cr_assert_not(atomic_load(&w.overlapped));
  schedrt_waker_drop(wk);
  schedrt_runtime_destroy(rt);
}

/* Woken (many times) while its poll runs: polled exactly once more, never concurrently. */
Test(waker, wake_while_running_polls_once_more, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct wt w;
  wt_init(&w, 2);
  w.hold_first_poll = true;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wt_fn, &w, NULL, &h), 0);
  cr_assert(stress_sem_wait(&w.in_poll, WAIT_S));
  schedrt_waker *wk = atomic_load(&w.waker);
  schedrt_task *t = (schedrt_task *)wk;
  cr_assert(atomic_load(&t->state) & SCHEDRT_TS_RUNNING);
  for (int i = 0; i < 100; i++)
    schedrt_wake_by_ref(wk);
  /* Not queued while running: the poller re-queues it when the poll returns. */
  cr_assert_eq(schedrt__inject_len(&rt->inject), 0);
  cr_assert(atomic_load(&t->state) & SCHEDRT_TS_NOTIFIED);
  sem_post(&w.resume);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&w.polls), 2);
  cr_assert_not(atomic_load(&w.overlapped));
  schedrt_waker_drop(wk);
  schedrt_runtime_destroy(rt);
}

/* A task may wake itself through its own waker while running (not yield): polled again. */
static _Atomic unsigned self_polls;
static schedrt_poll self_wake_fn(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_fetch_add(&self_polls, 1) + 1 == 5)
    return SCHEDRT_READY;
  schedrt_wake(schedrt_waker_get(t));
  return SCHEDRT_PENDING;
}
Test(waker, self_wake_while_running, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, self_wake_fn, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&self_polls), 5);
  schedrt_runtime_destroy(rt);
}

/*
 * A waker outlives its task's completion (waking it is a no-op) and its
 * runtime (it may still be released, which frees the task: ASan checks).
 */
Test(waker, outlives_task_and_runtime, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1, 0);
  struct wt w;
  wt_init(&w, 1);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wt_fn, &w, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  schedrt_waker *wk = atomic_load(&w.waker);
  schedrt_waker *c = schedrt_waker_clone(wk);
  schedrt_wake(wk); /* consumes one reference */
  schedrt_runtime_destroy(rt);
  cr_assert_eq(atomic_load(&w.polls), 1);
  schedrt_waker_drop(c);
}

/* Tasks of two runtimes wake each other: a wake from another runtime's worker is a remote wake. */
struct xping {
  _Atomic(schedrt_waker *) me;
  struct xping *peer;
  _Atomic unsigned long count;
  unsigned long rounds;
  _Atomic int wrong_runtime;
  schedrt_runtime *home;
  bool leader; /* hits when the counts are equal; the other when it is behind */
};
static schedrt_poll xping_fn(schedrt_task *t, void *arg) {
  struct xping *x = arg;
  if (schedrt_current() != x->home)
    atomic_store(&x->wrong_runtime, 1);
  if (!atomic_load(&x->me))
    atomic_store(&x->me, schedrt_waker_get(t));
  unsigned long n = atomic_load(&x->count);
  if (n >= x->rounds)
    return SCHEDRT_READY;
  schedrt_waker *peer = atomic_load(&x->peer->me);
  unsigned long pn = atomic_load(&x->peer->count);
  if (peer && (x->leader ? pn == n : pn > n)) {
    atomic_fetch_add(&x->count, 1); /* my turn: hit the ball back */
    schedrt_wake_by_ref(peer);
    if (n + 1 >= x->rounds)
      return SCHEDRT_READY;
  } else if (!peer) {
    schedrt_wake_by_ref(atomic_load(&x->me)); /* the peer has not started: poll again */
  }
  return SCHEDRT_PENDING;
}

Test(waker, wakes_across_runtimes, .timeout = 60) {
  schedrt_runtime *a = make_rt(1, 0), *b = make_rt(1, 0);
  struct xping pa = {.rounds = 5000, .home = a, .leader = true}, pb = {.rounds = 5000, .home = b};
  pa.peer = &pb;
  pb.peer = &pa;
  schedrt_handle *ha, *hb;
  cr_assert_eq(schedrt_spawn_ex(a, xping_fn, &pa, NULL, &ha), 0);
  cr_assert_eq(schedrt_spawn_ex(b, xping_fn, &pb, NULL, &hb), 0);
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0, "a ball was dropped between the runtimes");
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0, "a ball was dropped between the runtimes");
  cr_assert_eq(atomic_load(&pa.count), 5000);
  cr_assert_eq(atomic_load(&pb.count), 5000);
  cr_assert_not(atomic_load(&pa.wrong_runtime), "a task was polled by the other runtime's worker");
  cr_assert_not(atomic_load(&pb.wrong_runtime));
  schedrt_runtime_destroy(a);
  schedrt_runtime_destroy(b);
  schedrt_waker_drop(atomic_load(&pa.me));
  schedrt_waker_drop(atomic_load(&pb.me));
}

/* ------------------------------------------------------------ yield */

struct yielder {
  unsigned polls, target;
};
static schedrt_poll yield_n_fn(schedrt_task *t, void *arg) {
  struct yielder *y = arg;
  if (++y->polls > y->target)
    return SCHEDRT_READY;
  return schedrt_yield(t);
}

Test(yield, each_yield_is_one_more_poll, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  struct yielder y = {0, 100};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, yield_n_fn, &y, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(y.polls, 101);
  schedrt_runtime_destroy(rt);
}

/* A yields: B (queued behind it) runs before A's second poll; a yield never takes the LIFO slot. */
static schedrt_poll yield_once_fn(schedrt_task *t, void *arg) {
  unsigned *polls = arg;
  if ((*polls)++ == 0) {
    order_add('A');
    return schedrt_yield(t);
  }
  order_add('a');
  return SCHEDRT_READY;
}

static void yield_order_test(uint32_t flags) {
  /* No fairness check of the injection queue in the middle (it would take B's place). */
  schedrt_runtime *rt = make_rt_ex(1, flags, 1000000);
  memset(order_log, 0, sizeof(order_log));
  atomic_store(&order_len, 0);
  struct blocker b;
  block_worker(rt, &b);
  unsigned polls = 0;
  cr_assert_eq(schedrt_spawn(rt, yield_once_fn, &polls), 0);
  cr_assert_eq(schedrt_spawn(rt, letter_fn, (void *)(uintptr_t)'B'), 0);
  sem_post(&b.release);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&order_len) >= 3, WAIT_S);
  cr_assert(ok, "ran: %s", order_log);
  schedrt_runtime_destroy(rt);
  cr_assert_str_eq(order_log, "ABa");
}

Test(yield, lets_queued_work_run_first, .timeout = 60) { yield_order_test(0); }
Test(yield, lets_queued_work_run_first_no_lifo, .timeout = 60) { yield_order_test(SCHEDRT_CFG_NO_LIFO); }

/* ------------------------------------------------------------ fairness */

/*
 * Remote work is not starved by local work that never runs out: a chain of
 * tasks each spawning the next (LIFO slot), or a task yielding forever. On a
 * single worker, a task spawned from outside must still run.
 */
static _Atomic bool fair_stop;
static _Atomic unsigned long fair_spins;
static schedrt_poll respawn_fn(schedrt_task *t, void *arg) {
  (void)arg;
  atomic_fetch_add(&fair_spins, 1);
  if (!atomic_load(&fair_stop) && schedrt_spawn(schedrt_task_runtime(t), respawn_fn, NULL) != 0)
    return SCHEDRT_READY;
  return SCHEDRT_READY;
}
static schedrt_poll yield_forever_fn(schedrt_task *t, void *arg) {
  (void)arg;
  atomic_fetch_add(&fair_spins, 1);
  if (atomic_load(&fair_stop))
    return SCHEDRT_READY;
  return schedrt_yield(t);
}
/* Local work in the ring too: two tasks waking each other forever. */
static _Atomic(schedrt_waker *) pingpong[2];
static schedrt_poll pingpong_fn(schedrt_task *t, void *arg) {
  uintptr_t me = (uintptr_t)arg;
  atomic_fetch_add(&fair_spins, 1);
  if (!atomic_load(&pingpong[me]))
    atomic_store(&pingpong[me], schedrt_waker_get(t));
  if (atomic_load(&fair_stop))
    return SCHEDRT_READY;
  schedrt_waker *other = atomic_load(&pingpong[1 - me]);
  if (other)
    schedrt_wake_by_ref(other);
  else
    schedrt_wake_by_ref(atomic_load(&pingpong[me]));
  return SCHEDRT_PENDING;
}

static void fairness_test(schedrt_task_fn hog, unsigned nhogs) {
  schedrt_runtime *rt = make_rt(1, 0);
  for (uintptr_t i = 0; i < nhogs; i++)
    cr_assert_eq(schedrt_spawn(rt, hog, (void *)i), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&fair_spins) > 10000, WAIT_S);
  cr_assert(ok, "the local work never got going");
  /* The worker is busy for good now; remote spawns must still get their turn. */
  for (int k = 0; k < 20; k++) {
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, noop_fn, NULL, NULL, &h), 0);
    int rc = schedrt_join(h, JOIN_NS, NULL);
    cr_assert_eq(rc, 0, "remote task %d starved behind local work: %s", k, schedrt_strerror(rc));
  }
  atomic_store(&fair_stop, true);
  schedrt_runtime_destroy(rt);
  schedrt_waker_drop(atomic_load(&pingpong[0]));
  schedrt_waker_drop(atomic_load(&pingpong[1]));
}

Test(fairness, remote_spawns_run_despite_a_respawning_chain, .timeout = 60) { fairness_test(respawn_fn, 1); }
Test(fairness, remote_spawns_run_despite_busy_yielders, .timeout = 60) { fairness_test(yield_forever_fn, 3); }
Test(fairness, remote_spawns_run_despite_tasks_waking_each_other, .timeout = 60) {
  fairness_test(pingpong_fn, 2);
}

/* ------------------------------------------------------------ runtime */

static schedrt_runtime *destroy_target;
static schedrt_poll destroy_self_fn(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_runtime_destroy(destroy_target); /* refused from a worker */
  /* The runtime still works: spawn and let the child run. */
  if (schedrt_spawn(schedrt_task_runtime(t), count_fn, (void *)(uintptr_t)0))
    return SCHEDRT_READY;
  return SCHEDRT_READY;
}

Test(runtime, destroy_from_a_worker_is_refused, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2, 0);
  destroy_target = rt;
  sem_init(&all_finished, 0, 0);
  expected_total = 1;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, destroy_self_fn, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert(stress_sem_wait(&all_finished, WAIT_S));
  schedrt_runtime_destroy(rt);
  schedrt_runtime_destroy(NULL);
}

Test(runtime, version_and_features) {
  cr_assert_str_eq(schedrt_version(), SCHEDRT_VERSION_STRING);
  unsigned f = schedrt_features();
  cr_assert_eq(
      f & ~(unsigned)(SCHEDRT_FEATURE_METRICS | SCHEDRT_FEATURE_TASKDUMP | SCHEDRT_FEATURE_STALL_BACKTRACE),
      0);
  /* Stall backtraces are taken for watchdog dumps: never without dumps. */
  if (f & SCHEDRT_FEATURE_STALL_BACKTRACE)
    cr_assert(f & SCHEDRT_FEATURE_TASKDUMP);
}

/* ------------------------------------------------------------ config */

Test(config, init_fills_defaults) {
  schedrt_config cfg;
  memset(&cfg, 0xab, sizeof(cfg));
  schedrt_config_init(&cfg);
  cr_assert_eq(cfg.size, sizeof(cfg));
  cr_assert_eq(cfg.nworkers, 0);
  cr_assert_null(cfg.name);
  cr_assert_eq(cfg.flags, 0);
  for (size_t i = 0; i < sizeof(cfg.resv) / sizeof(cfg.resv[0]); i++)
    cr_assert_eq(cfg.resv[i], 0);
  schedrt_config_init(NULL);
}

Test(config, null_config_uses_online_cpus_and_default_name, .timeout = 60) {
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(NULL, &rt), 0);
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
  cr_assert_eq(schedrt_runtime_nworkers(rt), (uint32_t)CPU_COUNT(&set));
  cr_assert_str_eq(schedrt_runtime_name(rt), "schedrt");
  schedrt_runtime_destroy(rt);
}

Test(config, name_is_copied_and_truncated, .timeout = 60) {
  char name[64];
  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.name = name;
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  name[0] = 'y'; /* copied, not referenced */
  cr_assert_eq(strlen(schedrt_runtime_name(rt)), 31);
  cr_assert_eq(schedrt_runtime_name(rt)[0], 'x');
  schedrt_runtime_destroy(rt);
}

static int create_with(const schedrt_config *cfg) {
  schedrt_runtime *rt = (schedrt_runtime *)0x1;
  int rc = schedrt_runtime_create(cfg, &rt);
  if (rc)
    cr_assert_null(rt, "*out is NULL on failure");
  schedrt_runtime_destroy(rc ? NULL : rt);
  return rc;
}

Test(config, invalid_configs_are_rejected, .timeout = 60) {
  cr_assert_eq(schedrt_runtime_create(NULL, NULL), -EINVAL);
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cr_assert_eq(create_with(&cfg), 0);

  cfg.size = 0;
  cr_assert_eq(create_with(&cfg), -EINVAL, "size 0");
  cfg.size = 4;
  cr_assert_eq(create_with(&cfg), -EINVAL, "size too small");
  cfg.size = sizeof(cfg) + 8;
  cr_assert_eq(create_with(&cfg), -EINVAL, "size too large");
  schedrt_config_init(&cfg);

  cfg.nworkers = 1025;
  cr_assert_eq(create_with(&cfg), -EINVAL, "too many workers");
  cfg.nworkers = 1;

  cfg.dump_timeout_ms = 10001;
  cr_assert_eq(create_with(&cfg), -EINVAL, "a dump deadline past the 10 s cap");
  cfg.dump_timeout_ms = 10000;
  cr_assert_eq(create_with(&cfg), 0, "the cap itself");
  cfg.dump_timeout_ms = 0;

  cfg.watchdog_ms = 5;
  cr_assert_eq(create_with(&cfg), -EINVAL, "a watchdog threshold under 10 ms");
  cfg.watchdog_ms = 3600001;
  cr_assert_eq(create_with(&cfg), -EINVAL, "a watchdog threshold over an hour");
  cfg.watchdog_ms = 0;
  cfg.watchdog_max_dumps = 1001;
  cr_assert_eq(create_with(&cfg), -EINVAL, "more than 1000 watchdog dumps");
  cfg.watchdog_max_dumps = 0;
  cfg.resv[1] = 1;
  cr_assert_eq(create_with(&cfg), -EINVAL, "resv set");
  cfg.resv[1] = 0;
  cfg.resv32 = 1;
  cr_assert_eq(create_with(&cfg), -EINVAL, "resv32 set");
  cfg.resv32 = 0;
  cfg.long_poll_ms = 3600001;
  cr_assert_eq(create_with(&cfg), -EINVAL, "a long-poll threshold over an hour");
  cfg.long_poll_ms = 0;

  cfg.flags = 1u << 20;
  cr_assert_eq(create_with(&cfg), -EINVAL, "unknown flag");
  cfg.flags = SCHEDRT_CFG_NO_LIFO | SCHEDRT_CFG_NO_METRICS | SCHEDRT_CFG_NO_DUMP;
  cr_assert_eq(create_with(&cfg), 0, "known flags");
  cfg.flags = 0;

  for (size_t i = 0; i < sizeof(cfg.resv) / sizeof(cfg.resv[0]); i++) {
    cfg.resv[i] = 1;
    cr_assert_eq(create_with(&cfg), -EINVAL, "resv[%zu] set", i);
    cfg.resv[i] = 0;
  }
}

/* A caller built against an older, smaller struct: bytes beyond its size are never read. */
Test(config, older_smaller_struct_is_accepted, .timeout = 60) {
  struct {
    schedrt_config cfg;
    char guard[64];
  } big;
  memset(&big, 0xff, sizeof(big));
  big.cfg.size = offsetof(schedrt_config, watchdog_ms);
  big.cfg.nworkers = 2;
  big.cfg.name = "old";
  big.cfg.flags = 0;
  big.cfg.global_queue_interval = 0;
  big.cfg.dump_timeout_ms = 0;
  big.cfg.monitor_period_ms = 0;
  big.cfg.dump_keep_s = 0;
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&big.cfg, &rt), 0);
  cr_assert_eq(schedrt_runtime_nworkers(rt), 2);
  cr_assert_str_eq(schedrt_runtime_name(rt), "old");
  /* The watchdog fields and resv[] hold 0xff bytes here: had they been read, create would have said
   * -EINVAL. */
  schedrt_runtime_destroy(rt);
}

Test(config, knobs_are_applied, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.global_queue_interval = 7;
  cfg.flags = SCHEDRT_CFG_NO_LIFO;
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  cr_assert_eq(rt->global_queue_interval, 7);
  cr_assert_not(rt->lifo_enabled);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ errors */

Test(errors, strerror_and_names) {
  cr_assert_str_eq(schedrt_strerror(0), "success");
  cr_assert_str_eq(schedrt_strerror(-EINVAL), strerrordesc_np(EINVAL));
  cr_assert_str_eq(schedrt_err_name(-EINVAL), "EINVAL");
  cr_assert_str_eq(schedrt_err_name(-ETIMEDOUT), "ETIMEDOUT");
  cr_assert_str_eq(schedrt_err_name(-ECANCELED), "ECANCELED");
  cr_assert_str_eq(schedrt_err_name(SCHEDRT_EPARTIAL), "SCHEDRT_EPARTIAL");
  cr_assert_str_eq(schedrt_strerror(SCHEDRT_EMAGIC), "not a schedrt segment or dump (bad magic)");
  /* Unknown codes: a generic text, never NULL, never a crash. */
  static const int unknown[] = {1, 12345, -4000, -4014, -5000, -100000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    cr_assert_not_null(schedrt_strerror(unknown[i]));
    cr_assert_str_eq(schedrt_err_name(unknown[i]), "UNKNOWN", "code %d", unknown[i]);
  }
  cr_assert_str_eq(schedrt_strerror(-100000), "unknown error");
  /* Every project code has its own text and name. */
  static const int codes[] = {
#define CODE(name, code, text) code,
      SCHEDRT_ERRORS(CODE)
#undef CODE
  };
  size_t n = sizeof(codes) / sizeof(codes[0]);
  cr_assert_eq(n, 13);
  for (size_t i = 0; i < n; i++) {
    cr_assert(codes[i] <= -4001 && codes[i] >= -4013);
    cr_assert_str_neq(schedrt_strerror(codes[i]), "unknown error");
    cr_assert(strncmp(schedrt_err_name(codes[i]), "SCHEDRT_E", 9) == 0);
    for (size_t j = 0; j < i; j++) {
      cr_assert_str_neq(schedrt_strerror(codes[i]), schedrt_strerror(codes[j]));
      cr_assert_str_neq(schedrt_err_name(codes[i]), schedrt_err_name(codes[j]));
    }
  }
}
