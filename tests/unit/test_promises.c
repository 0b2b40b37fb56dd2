/*
 * What the runtime promises a task (issue 18): a yielded task is not starved
 * by a busy worker, a wait that moves to another task wakes that task, and a
 * task whose primitives are always ready still lets its worker run others.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "rt_fixture.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-promises")

/* ------------------------------------------------------------- yield */

/*
 * One worker; `spinner` keeps waking itself (so the worker always has local
 * work) and spawns `yielder`, which yields once. The yielder's second poll
 * must come within about one maintenance interval of spinner polls.
 */
struct starve {
  schedrt_runtime *rt;
  _Atomic uint64_t spins;  /* spinner polls so far */
  _Atomic uint64_t seen;   /* spins when the yielder came back; 0: not yet */
  _Atomic unsigned yields; /* yielder polls */
  uint64_t give_up_ns;     /* the spinner stops here if the yielder never returns */
  int spawn_rc;
};

static schedrt_poll yielder_fn(schedrt_task *t, void *arg) {
  struct starve *s = arg;
  if (atomic_fetch_add(&s->yields, 1) == 0)
    return schedrt_yield(t);
  atomic_store(&s->seen, atomic_load(&s->spins));
  return SCHEDRT_READY;
}

static schedrt_poll spinner_fn(schedrt_task *t, void *arg) {
  struct starve *s = arg;
  if (atomic_fetch_add(&s->spins, 1) == 0)
    s->spawn_rc = schedrt_spawn(s->rt, yielder_fn, s);
  if (atomic_load(&s->seen) || schedrt_now_ns() > s->give_up_ns)
    return SCHEDRT_READY;
  /* A plain self-wake: the task goes back to the ring, never idle. */
  schedrt_wake(schedrt_waker_get(t));
  return SCHEDRT_PENDING;
}

Test(yield, a_yielded_task_runs_while_its_worker_has_other_work, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct starve s = {.rt = rt, .give_up_ns = schedrt_now_ns() + 5000 * MS};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, spinner_fn, &s, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(s.spawn_rc, 0);
  uint64_t seen = atomic_load(&s.seen);
  cr_assert_neq(seen, 0, "the yielder was not polled again in 5 s of spinner polls (%llu)",
                (unsigned long long)atomic_load(&s.spins));
  /* Moved to the ring at the next maintenance, then behind at most the
   * spinner: well within two intervals of spinner polls. */
  cr_assert_leq(seen, 2 * SCHEDRT_MAINTENANCE_INTERVAL, "yielder back after %llu spinner polls",
                (unsigned long long)seen);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------ moved waiters */

/*
 * Every primitive that stores a waker: task A starts waiting and then gives
 * up (completes, leaving its registration), task B takes the same wait state
 * over and polls it; firing the primitive must wake B.
 */
struct moved;
struct wait_ops {
  const char *name;
  void (*init)(struct moved *m);
  schedrt_poll (*wait)(struct moved *m, schedrt_task *self);
  void (*fire)(struct moved *m);
  void (*fini)(struct moved *m);
};

struct moved {
  const struct wait_ops *ops;
  schedrt_runtime *rt;
  schedrt_oneshot ch;
  schedrt_notify *n;
  uint64_t ticket;
  uint64_t deadline;
  sem_t target_release;
  schedrt_handle *target;
  _Atomic unsigned b_polls;
  sem_t b_polled;
  schedrt_poll a_result;
};

static void oneshot_init(struct moved *m) { schedrt_oneshot_init(&m->ch); }
static schedrt_poll oneshot_wait(struct moved *m, schedrt_task *self) {
  return schedrt_oneshot_recv(&m->ch, self, NULL);
}
static void oneshot_fire(struct moved *m) { cr_assert_eq(schedrt_oneshot_send(&m->ch, m), 0); }
static void oneshot_fini(struct moved *m) { schedrt_oneshot_destroy(&m->ch); }

static void notify_init(struct moved *m) { cr_assert_eq(schedrt_notify_create(&m->n), 0); }
static schedrt_poll notify_wait(struct moved *m, schedrt_task *self) {
  return schedrt_notify_wait(m->n, self, &m->ticket);
}
static void notify_fire(struct moved *m) { schedrt_notify_one(m->n); }
static void notify_fini(struct moved *m) { schedrt_notify_destroy(m->n); }

/* The joined task blocks its own worker until fired (two workers). */
static schedrt_poll target_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct moved *m = arg;
  stress_sem_wait(&m->target_release, 30);
  return SCHEDRT_READY;
}
static void join_init(struct moved *m) {
  sem_init(&m->target_release, 0, 0);
  cr_assert_eq(schedrt_spawn_ex(m->rt, target_fn, m, NULL, &m->target), 0);
}
static schedrt_poll join_wait(struct moved *m, schedrt_task *self) {
  return schedrt_handle_poll(m->target, self, NULL);
}
static void join_fire(struct moved *m) { sem_post(&m->target_release); }
static void join_fini(struct moved *m) {
  schedrt_handle_release(m->target);
  sem_destroy(&m->target_release);
}

/* A timer 50 ms out: fired by the clock, not by the test. */
static void sleep_init(struct moved *m) { m->deadline = 0; }
static schedrt_poll sleep_wait(struct moved *m, schedrt_task *self) {
  return schedrt_sleep(self, &m->deadline, 50 * MS);
}
static void sleep_fire(struct moved *m) { (void)m; }
static void sleep_fini(struct moved *m) { (void)m; }

static const struct wait_ops moved_ops[] = {
    {"oneshot", oneshot_init, oneshot_wait, oneshot_fire, oneshot_fini},
    {"notify", notify_init, notify_wait, notify_fire, notify_fini},
    {"join", join_init, join_wait, join_fire, join_fini},
    {"sleep", sleep_init, sleep_wait, sleep_fire, sleep_fini},
};

static schedrt_poll first_waiter_fn(schedrt_task *t, void *arg) {
  struct moved *m = arg;
  m->a_result = m->ops->wait(m, t);
  return SCHEDRT_READY; /* gives up, registration left behind */
}

static schedrt_poll second_waiter_fn(schedrt_task *t, void *arg) {
  struct moved *m = arg;
  schedrt_poll r = m->ops->wait(m, t);
  atomic_fetch_add(&m->b_polls, 1);
  sem_post(&m->b_polled);
  return r;
}

Test(moved_wait, the_second_task_is_woken, .timeout = 120) {
  for (size_t i = 0; i < sizeof(moved_ops) / sizeof(moved_ops[0]); i++) {
    schedrt_runtime *rt = make_rt(2);
    struct moved m;
    memset(&m, 0, sizeof(m));
    m.ops = &moved_ops[i];
    m.rt = rt;
    sem_init(&m.b_polled, 0, 0);
    m.ops->init(&m);

    schedrt_handle *a, *b;
    cr_assert_eq(schedrt_spawn_ex(rt, first_waiter_fn, &m, NULL, &a), 0);
    cr_assert_eq(schedrt_join(a, JOIN_NS, NULL), 0);
    cr_assert_eq(m.a_result, SCHEDRT_PENDING, "%s: the first wait did not wait", m.ops->name);
    cr_assert_eq(schedrt_spawn_ex(rt, second_waiter_fn, &m, NULL, &b), 0);
    cr_assert(stress_sem_wait(&m.b_polled, WAIT_S), "%s: second task not polled", m.ops->name);
    m.ops->fire(&m);
    int rc = schedrt_join(b, 5000 * MS, NULL);
    cr_expect_eq(rc, 0, "%s: the task the wait moved to was never woken (%s, %u polls)", m.ops->name,
                 schedrt_strerror(rc), atomic_load(&m.b_polls));
    m.ops->fini(&m);
    sem_destroy(&m.b_polled);
    schedrt_runtime_destroy(rt);
  }
}

/* ------------------------------------------------------------ budget */

/*
 * One worker; `greedy` waits on a notify that it fills itself first, so
 * every wait is ready at once. It spawns `other` in its first poll; other
 * must run after exactly one budget of ready waits, not after all of them.
 */
#define GREEDY_OPS 100000u
struct greedy {
  schedrt_runtime *rt;
  schedrt_notify *n;
  uint64_t ticket;
  uint64_t ops, polls;
  _Atomic uint64_t ops_when_other_ran;
  _Atomic bool other_ran;
  int spawn_rc;
};

static schedrt_poll other_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct greedy *g = arg;
  atomic_store(&g->ops_when_other_ran, g->ops);
  atomic_store(&g->other_ran, true);
  return SCHEDRT_READY;
}

static schedrt_poll greedy_fn(schedrt_task *t, void *arg) {
  struct greedy *g = arg;
  if (g->polls++ == 0)
    g->spawn_rc = schedrt_spawn(g->rt, other_fn, g);
  while (g->ops < GREEDY_OPS) {
    schedrt_notify_one(g->n); /* a permit: the wait below is ready */
    if (schedrt_notify_wait(g->n, t, &g->ticket) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    g->ops++;
  }
  return SCHEDRT_READY;
}

Test(budget, an_always_ready_task_lets_its_worker_run_others, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct greedy g = {.rt = rt};
  cr_assert_eq(schedrt_notify_create(&g.n), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, greedy_fn, &g, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(g.spawn_rc, 0);
  cr_assert(atomic_load(&g.other_ran));
  cr_assert_eq(atomic_load(&g.ops_when_other_ran), SCHEDRT_COOP_BUDGET,
               "the other task ran after %llu ready waits",
               (unsigned long long)atomic_load(&g.ops_when_other_ran));
  /* A forced yield consumed nothing: every permit was taken by a wait. */
  cr_assert_eq(g.ops, GREEDY_OPS);
  cr_assert_eq(g.polls, GREEDY_OPS / SCHEDRT_COOP_BUDGET + 1);
  /* Each poll but the last was a forced yield, counted once (published when
   * the worker parks). */
  uint64_t forced = 0;
  int rc = schedrt_metric_read(rt, SCHEDRT_M_budget_forced_yields, 0, &forced);
  if (rc != -ENOTSUP) {
    bool ok;
    STRESS_WAIT_UNTIL(
        ok, schedrt_metric_read(rt, SCHEDRT_M_budget_forced_yields, 0, &forced) == 0 && forced == g.polls - 1,
        WAIT_S);
    cr_assert(ok, "budget_forced_yields %llu, expected %llu", (unsigned long long)forced,
              (unsigned long long)(g.polls - 1));
  }
  schedrt_notify_destroy(g.n);
  schedrt_runtime_destroy(rt);
}

/* A block_on thread is not a worker: it has no budget to spend. */
static schedrt_poll greedy_root_fn(schedrt_task *t, void *arg) {
  struct greedy *g = arg;
  g->polls++;
  while (g->ops < 1000) {
    schedrt_notify_one(g->n);
    if (schedrt_notify_wait(g->n, t, &g->ticket) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    g->ops++;
  }
  return SCHEDRT_READY;
}

Test(budget, block_on_is_not_budgeted, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct greedy g = {.rt = rt};
  cr_assert_eq(schedrt_notify_create(&g.n), 0);
  cr_assert_eq(schedrt_block_on(rt, greedy_root_fn, &g, NULL), 0);
  cr_assert_eq(g.ops, 1000);
  cr_assert_eq(g.polls, 1, "block_on's task was made to yield");
  schedrt_notify_destroy(g.n);
  schedrt_runtime_destroy(rt);
}
