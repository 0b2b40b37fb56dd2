/* The async mutex and the counting semaphore: every call, FIFO hand-off, no barging, moved waits, owners. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "sync_owner.h"
#include "test_sync_util.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-sync-mutex")

static schedrt_poll lock_step(struct poller *p, schedrt_task *t) {
  return schedrt_mutex_lock(p->obj, t, p->ticket);
}
static schedrt_poll acquire_step(struct poller *p, schedrt_task *t) {
  return schedrt_semaphore_acquire(p->obj, t, p->n, p->ticket);
}

/* ---------------------------------------------------------------- mutex */

Test(mutex, create_rejects_null) { cr_expect_eq(schedrt_mutex_create(NULL), -EINVAL); }

Test(mutex, try_lock_unlock_table) {
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  struct {
    char op; /* t: try_lock, u: unlock */
    int rc;
    int held;
  } steps[] = {{'u', -EPERM, 0}, {'t', 0, 1}, {'t', -EBUSY, 1}, {'u', 0, 0},
               {'u', -EPERM, 0}, {'t', 0, 1}, {'u', 0, 0}};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    int rc = steps[i].op == 't' ? schedrt_mutex_try_lock(m, NULL) : schedrt_mutex_unlock(m);
    cr_expect_eq(rc, steps[i].rc, "step %zu: %d", i, rc);
    uint64_t owner = 99;
    cr_expect_eq(schedrt_mutex_owner(m, &owner), steps[i].held, "step %zu", i);
    cr_expect_eq(owner, 0, "a thread that is not a task owns as 0");
  }
  schedrt_mutex_destroy(m);
  schedrt_mutex_destroy(NULL);
}

static schedrt_poll lock_once_fn(schedrt_task *t, void *arg) {
  schedrt_mutex *m = arg;
  uint64_t ticket = 0;
  schedrt_poll r = schedrt_mutex_lock(m, t, &ticket);
  cr_assert_eq(r, SCHEDRT_READY);
  uint64_t owner;
  cr_assert_eq(schedrt_mutex_owner(m, &owner), 1);
  cr_assert_eq(owner, schedrt_task_id(t));
  schedrt_task_set_result(t, (void *)(uintptr_t)schedrt_task_id(t));
  return SCHEDRT_READY;
}

Test(mutex, lock_of_a_free_mutex_is_ready_and_records_the_owner, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, lock_once_fn, m, NULL, &h), 0);
  void *id;
  cr_assert_eq(schedrt_join(h, JOIN_NS, &id), 0);
  uint64_t owner;
  cr_expect_eq(schedrt_mutex_owner(m, &owner), 1);
  cr_expect_eq(owner, (uint64_t)(uintptr_t)id, "still held by the finished task");
  cr_expect_eq(schedrt_mutex_unlock(m), 0); /* any thread may unlock */
  schedrt_mutex_destroy(m);
  schedrt_runtime_destroy(rt);
}

/* unlock hands the lock to the oldest waiter: owner set before it even runs, and nobody barges in. */
Test(mutex, unlock_hands_off_fifo, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  cr_assert_eq(schedrt_mutex_try_lock(m, NULL), 0);
  enum { N = 4 };
  struct poller p[N];
  uint64_t tickets[N] = {0};
  schedrt_handle *h[N];
  for (int i = 0; i < N; i++) {
    poller_init(&p[i], lock_step, m, &tickets[i]);
    h[i] = poller_spawn_pending(rt, &p[i]);
  }
  for (int i = 0; i < N; i++) {
    cr_assert_eq(schedrt_mutex_unlock(m), 0);
    uint64_t owner;
    cr_expect_eq(schedrt_mutex_owner(m, &owner), 1);
    cr_expect_eq(owner, p[i].task_id, "hand-off %d", i);
    cr_expect_eq(schedrt_mutex_try_lock(m, NULL), -EBUSY, "barged in at %d", i);
    poller_join(h[i]);
    for (int j = i + 1; j < N; j++)
      cr_expect(!atomic_load(&p[j].ready), "waiter %d went before %d", j, i);
  }
  cr_expect_eq(schedrt_mutex_unlock(m), 0);
  cr_expect_eq(schedrt_mutex_owner(m, NULL), 0);
  schedrt_mutex_destroy(m);
  schedrt_runtime_destroy(rt);
}

Test(mutex, cancel_after_hand_off_passes_the_lock_on, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  cr_assert_eq(schedrt_mutex_try_lock(m, NULL), 0);
  uint64_t ta = 0, tb = 0;
  struct poller a, b;
  poller_init(&a, lock_step, m, &ta);
  poller_init(&b, lock_step, m, &tb);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *hb = poller_spawn_pending(rt, &b);
  cr_assert_eq(schedrt_mutex_unlock(m), 0); /* to a, which gave up */
  schedrt_mutex_lock_cancel(m, &ta);        /* passes it to b */
  cr_expect_eq(ta, 0);
  poller_join(hb);
  uint64_t owner;
  cr_expect_eq(schedrt_mutex_owner(m, &owner), 1);
  cr_expect_eq(owner, b.task_id);
  cr_expect_eq(schedrt_mutex_unlock(m), 0);
  schedrt_mutex_lock_cancel(m, &ta); /* zero ticket: nothing */
  schedrt_mutex_lock_cancel(NULL, &ta);
  schedrt_mutex_destroy(m);
  schedrt_runtime_destroy(rt);
}

Test(mutex, moved_waiter_wakes_the_new_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  cr_assert_eq(schedrt_mutex_try_lock(m, NULL), 0);
  uint64_t ticket = 0;
  struct poller a, b;
  poller_init(&a, lock_step, m, &ticket);
  poller_init(&b, lock_step, m, &ticket);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *h = poller_spawn_pending(rt, &b);
  cr_assert_eq(schedrt_mutex_unlock(m), 0);
  poller_join(h);
  uint64_t owner;
  cr_expect_eq(schedrt_mutex_owner(m, &owner), 1);
  cr_expect_eq(owner, b.task_id, "the record follows the ticket");
  cr_expect_eq(ticket, 0);
  cr_expect_eq(schedrt_mutex_unlock(m), 0);
  schedrt_mutex_destroy(m);
  schedrt_runtime_destroy(rt);
}

Test(mutex, destroy_with_waiters_releases_them, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_mutex *m;
  cr_assert_eq(schedrt_mutex_create(&m), 0);
  cr_assert_eq(schedrt_mutex_try_lock(m, NULL), 0);
  uint64_t ticket = 0;
  struct poller a;
  poller_init(&a, lock_step, m, &ticket);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_mutex_destroy(m); /* drops a's waker: ASan checks the task is freed */
  schedrt_runtime_destroy(rt);
}

/* Lock and unlock in a loop on an uncontended mutex: the budget makes the task yield. */
struct locker {
  schedrt_mutex *m;
  _Atomic int *other_ran;
  unsigned run, longest;
};
static schedrt_poll locker_fn(schedrt_task *t, void *arg) {
  struct locker *l = arg;
  uint64_t ticket = 0;
  for (;;) {
    if (atomic_load(l->other_ran))
      return SCHEDRT_READY;
    if (schedrt_mutex_lock(l->m, t, &ticket) == SCHEDRT_PENDING) {
      if (l->run > l->longest)
        l->longest = l->run;
      l->run = 0;
      cr_assert_eq(ticket, 0, "forced: nothing queued");
      cr_assert_eq(schedrt_mutex_owner(l->m, NULL), 0, "forced: nothing taken");
      return SCHEDRT_PENDING;
    }
    l->run++;
    cr_assert_eq(schedrt_mutex_unlock(l->m), 0);
  }
}
static schedrt_poll flag_fn(schedrt_task *t, void *arg) {
  (void)t;
  atomic_store((_Atomic int *)arg, 1);
  return SCHEDRT_READY;
}

Test(mutex, always_free_lock_yields_within_the_budget, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  _Atomic int other = 0;
  struct locker l = {.other_ran = &other};
  cr_assert_eq(schedrt_mutex_create(&l.m), 0);
  schedrt_handle *h1, *h2;
  cr_assert_eq(schedrt_spawn_ex(rt, locker_fn, &l, NULL, &h1), 0);
  cr_assert_eq(schedrt_spawn_ex(rt, flag_fn, (void *)&other, NULL, &h2), 0);
  poller_join(h2);
  poller_join(h1);
  cr_expect_leq(l.longest, 128u);
  schedrt_mutex_destroy(l.m);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ semaphore */

Test(semaphore, create_rejects_null) { cr_expect_eq(schedrt_semaphore_create(1, NULL), -EINVAL); }

Test(semaphore, try_acquire_release_table) {
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(3, &s), 0);
  struct {
    char op; /* a: try_acquire, r: release */
    uint64_t n;
    int rc;
    uint64_t left;
  } steps[] = {{'a', 2, 0, 1}, {'a', 2, -EAGAIN, 1}, {'a', 1, 0, 0}, {'a', 0, 0, 0},
               {'r', 3, 0, 3}, {'a', 4, -EAGAIN, 3}, {'r', 1, 0, 4}, {'a', 4, 0, 0}};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    int rc = 0;
    if (steps[i].op == 'a')
      rc = schedrt_semaphore_try_acquire(s, NULL, steps[i].n);
    else
      schedrt_semaphore_release(s, NULL, steps[i].n);
    cr_expect_eq(rc, steps[i].rc, "step %zu", i);
    cr_expect_eq(schedrt_semaphore_available(s), steps[i].left, "step %zu", i);
  }
  schedrt_semaphore_destroy(s);
  schedrt_semaphore_destroy(NULL);
}

/* A large request at the head is not overtaken by smaller ones (queued or try_). */
Test(semaphore, no_barging_past_a_larger_request, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(1, &s), 0);
  uint64_t tb = 0, ts = 0;
  struct poller big, small;
  poller_init(&big, acquire_step, s, &tb);
  poller_init(&small, acquire_step, s, &ts);
  big.n = 3;
  small.n = 1;
  schedrt_handle *hb = poller_spawn_pending(rt, &big);
  schedrt_handle *hs = poller_spawn_pending(rt, &small);
  cr_expect_eq(schedrt_semaphore_try_acquire(s, NULL, 1), -EAGAIN, "one is free, but big waits first");
  cr_expect(!stress_sem_wait(&small.done, 0.05), "small overtook big");
  schedrt_semaphore_release(s, NULL, 2); /* 3 free: big goes, small still waits */
  poller_join(hb);
  cr_expect(!atomic_load(&small.ready));
  cr_expect_eq(schedrt_semaphore_available(s), 0);
  schedrt_semaphore_release(s, NULL, 1); /* released on big's behalf: its record goes down */
  poller_join(hs);
  schedrt_semaphore_release(s, NULL, 3);
  cr_expect_eq(schedrt_semaphore_available(s), 3);
  schedrt_semaphore_destroy(s);
  schedrt_runtime_destroy(rt);
}

Test(semaphore, cancel_of_the_head_lets_smaller_ones_go, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(1, &s), 0);
  uint64_t tb = 0, ts = 0;
  struct poller big, small;
  poller_init(&big, acquire_step, s, &tb);
  poller_init(&small, acquire_step, s, &ts);
  big.n = 5;
  small.n = 1;
  big.abandon = true;
  poller_join(poller_spawn_pending(rt, &big));
  schedrt_handle *hs = poller_spawn_pending(rt, &small);
  schedrt_semaphore_acquire_cancel(s, &tb);
  cr_expect_eq(tb, 0);
  poller_join(hs);
  cr_expect_eq(schedrt_semaphore_available(s), 0);
  schedrt_semaphore_release(s, NULL, 1);
  schedrt_semaphore_destroy(s);
  schedrt_runtime_destroy(rt);
}

Test(semaphore, cancel_after_grant_gives_the_permits_back, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(0, &s), 0);
  uint64_t ticket = 0;
  struct poller a;
  poller_init(&a, acquire_step, s, &ticket);
  a.n = 2;
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_semaphore_release(s, NULL, 2); /* granted to a, which gave up */
  cr_expect_eq(schedrt_semaphore_available(s), 0);
  schedrt_semaphore_acquire_cancel(s, &ticket);
  cr_expect_eq(schedrt_semaphore_available(s), 2);
  schedrt_semaphore_destroy(s);
  schedrt_runtime_destroy(rt);
}

Test(semaphore, moved_waiter_wakes_the_new_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(0, &s), 0);
  uint64_t ticket = 0;
  struct poller a, b;
  poller_init(&a, acquire_step, s, &ticket);
  poller_init(&b, acquire_step, s, &ticket);
  a.n = b.n = 2;
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *h = poller_spawn_pending(rt, &b);
  schedrt_semaphore_release(s, NULL, 2);
  poller_join(h);
  cr_expect_eq(ticket, 0);
  cr_expect_eq(schedrt_semaphore_available(s), 0);
  schedrt_semaphore_destroy(s);
  schedrt_runtime_destroy(rt);
}

/* The holder table dumps read (white-box, sync_owner.h): 8 holders listed, the rest counted. */
static schedrt_poll take_one_fn(schedrt_task *t, void *arg) {
  cr_assert_eq(schedrt_semaphore_try_acquire(arg, t, 1), 0);
  schedrt_task_set_result(t, (void *)(uintptr_t)schedrt_task_id(t));
  return SCHEDRT_READY;
}

Test(semaphore, holders_are_published_bounded, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_semaphore *s;
  cr_assert_eq(schedrt_semaphore_create(20, &s), 0);
  struct schedrt__owned_info info;
  cr_assert(schedrt__owned_lookup(s, &info), "registered at create");
  cr_expect_eq(info.n, 0);
  cr_assert_eq(schedrt_semaphore_try_acquire(s, NULL, 3), 0); /* a thread that is not a task: id 0 */
  uint64_t ids[10];
  for (int i = 0; i < 10; i++) {
    schedrt_handle *h;
    void *id;
    cr_assert_eq(schedrt_spawn_ex(rt, take_one_fn, s, NULL, &h), 0);
    cr_assert_eq(schedrt_join(h, JOIN_NS, &id), 0);
    ids[i] = (uint64_t)(uintptr_t)id;
  }
  cr_assert(schedrt__owned_lookup(s, &info));
  cr_expect_eq(info.n, SCHEDRT_DUMP_HOLDERS_MAX);
  cr_expect_eq(info.more, 11 - SCHEDRT_DUMP_HOLDERS_MAX, "and N more");
  cr_expect_eq(schedrt__holder_id(info.holders[0]), 0);
  cr_expect_eq(schedrt__holder_permits(info.holders[0]), 3);
  cr_expect_eq(schedrt__holder_id(info.holders[1]), ids[0]);
  cr_expect_eq(schedrt__holder_permits(info.holders[1]), 1);
  schedrt_semaphore_release(s, NULL, 3); /* the thread's */
  cr_assert(schedrt__owned_lookup(s, &info));
  cr_expect_eq(info.n + info.more, 10, "the thread's record went");
  for (int i = 0; i < SCHEDRT_DUMP_HOLDERS_MAX && i < (int)info.n; i++)
    cr_expect_neq(schedrt__holder_id(info.holders[i]), 0);
  schedrt_semaphore_release(s, NULL, 10); /* on behalf of the finished tasks: taken off their records */
  cr_assert(schedrt__owned_lookup(s, &info));
  cr_expect_eq(info.n, 0);
  cr_expect_eq(info.more, 0);
  cr_expect_eq(schedrt_semaphore_available(s), 20);
  const void *addr = s;
  schedrt_semaphore_destroy(s);
  cr_expect(!schedrt__owned_lookup(addr, &info), "unregistered at destroy");
  schedrt_runtime_destroy(rt);
}
