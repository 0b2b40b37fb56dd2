/*
 * Fairness between workers and queues (issue 10): a worker with yielded
 * tasks still steals, and an injection backlog runs oldest first.
 */
#include <criterion/criterion.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "rt_fixture.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-fairness")

/*
 * Two workers. `blocker` holds worker B in one poll after filling B's ring
 * with children; `yielder` keeps yielding on worker A. A has no work but its
 * yielded task, so it must steal B's children (all but the one in B's LIFO
 * slot, which is not stealable) while B is held.
 */
#define CHILDREN 100u
struct steal_case {
  schedrt_runtime *rt;
  sem_t blocker_running, go, release, yielder_running;
  _Atomic int yielder_worker;
  _Atomic unsigned ran_elsewhere; /* children polled by A while B was held */
  _Atomic bool released;
  sem_t children_ran;
  uint64_t give_up_ns;
  int spawn_rc;
};

static schedrt_poll child_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct steal_case *c = arg;
  if (!atomic_load(&c->released) && schedrt_worker_index() == atomic_load(&c->yielder_worker) &&
      atomic_fetch_add(&c->ran_elsewhere, 1) + 1 == CHILDREN - 1)
    sem_post(&c->children_ran);
  return SCHEDRT_READY;
}

static schedrt_poll blocker_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct steal_case *c = arg;
  sem_post(&c->blocker_running);
  stress_sem_wait(&c->go, 30);
  for (unsigned i = 0; i < CHILDREN && c->spawn_rc == 0; i++)
    c->spawn_rc = schedrt_spawn(c->rt, child_fn, c);
  stress_sem_wait(&c->release, 30);
  return SCHEDRT_READY;
}

static schedrt_poll yielder_fn(schedrt_task *t, void *arg) {
  struct steal_case *c = arg;
  if (atomic_load(&c->yielder_worker) < 0) {
    atomic_store(&c->yielder_worker, schedrt_worker_index());
    sem_post(&c->yielder_running);
  }
  if (atomic_load(&c->released) || schedrt_now_ns() > c->give_up_ns)
    return SCHEDRT_READY;
  return schedrt_yield(t);
}

Test(fairness, a_worker_with_yielded_tasks_still_steals, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct steal_case c;
  memset(&c, 0, sizeof(c));
  c.rt = rt;
  c.give_up_ns = schedrt_now_ns() + 20000 * MS;
  atomic_store(&c.yielder_worker, -1);
  sem_init(&c.blocker_running, 0, 0);
  sem_init(&c.go, 0, 0);
  sem_init(&c.release, 0, 0);
  sem_init(&c.yielder_running, 0, 0);
  sem_init(&c.children_ran, 0, 0);
  schedrt_handle *hb, *hy;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker_fn, &c, NULL, &hb), 0);
  cr_assert(stress_sem_wait(&c.blocker_running, WAIT_S));
  /* The blocker holds its worker: the yielder can only land on the other. */
  cr_assert_eq(schedrt_spawn_ex(rt, yielder_fn, &c, NULL, &hy), 0);
  cr_assert(stress_sem_wait(&c.yielder_running, WAIT_S));
  sem_post(&c.go);
  bool stolen = stress_sem_wait(&c.children_ran, 5.0);
  atomic_store(&c.released, true);
  sem_post(&c.release);
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0);
  cr_assert_eq(schedrt_join(hy, JOIN_NS, NULL), 0);
  cr_assert_eq(c.spawn_rc, 0);
  cr_assert(stolen, "the yielding worker ran %u of the held worker's %u stealable tasks in 5 s",
            atomic_load(&c.ran_elsewhere), CHILDREN - 1);
  schedrt_runtime_destroy(rt);
}
