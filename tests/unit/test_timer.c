/* Timers: schedrt_wake_at and schedrt_sleep. */
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

#define make_rt(nworkers) fixture_rt((nworkers), "test-timer")

static size_t timers_pending(schedrt_runtime *rt) {
  pthread_mutex_lock(&rt->timers.lock);
  size_t n = rt->timers.len;
  pthread_mutex_unlock(&rt->timers.lock);
  return n;
}

/* Sleeps `delay` once; records polls and when it finished. */
struct sleeper {
  uint64_t delay, deadline, done_ns;
  _Atomic unsigned polls;
  _Atomic(schedrt_waker *) waker;
  sem_t first_poll;
};
static schedrt_poll sleeper_fn(schedrt_task *t, void *arg) {
  struct sleeper *s = arg;
  if (atomic_fetch_add(&s->polls, 1) == 0) {
    atomic_store(&s->waker, schedrt_waker_get(t));
    sem_post(&s->first_poll);
  }
  if (schedrt_sleep(t, &s->deadline, s->delay) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  s->done_ns = schedrt_now_ns();
  return SCHEDRT_READY;
}
static void sleeper_init(struct sleeper *s, uint64_t delay) {
  memset(s, 0, sizeof(*s));
  s->delay = delay;
  sem_init(&s->first_poll, 0, 0);
}

Test(timer, sleep_waits_at_least_the_delay, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct sleeper s;
  sleeper_init(&s, 20 * MS);
  uint64_t t0 = schedrt_now_ns();
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, sleeper_fn, &s, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  uint64_t took = s.done_ns - t0;
  cr_assert_geq(took, 20 * MS, "slept only %lu ns", (unsigned long)took);
  cr_assert_lt(took, 5000 * MS);
  cr_assert_eq(atomic_load(&s.polls), 2, "the timer wakes it once; no spurious polls");
  cr_assert_eq(s.deadline, 0, "schedrt_sleep resets its state when done");
  schedrt_waker_drop(atomic_load(&s.waker));
  schedrt_runtime_destroy(rt);
}

Test(timer, zero_delay_and_past_deadline_fire_promptly, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct sleeper s;
  sleeper_init(&s, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, sleeper_fn, &s, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&s.polls), 2);
  schedrt_waker_drop(atomic_load(&s.waker));
  schedrt_runtime_destroy(rt);
}

static schedrt_poll wake_at_past_fn(schedrt_task *t, void *arg) {
  unsigned *polls = arg;
  if ((*polls)++ == 0) {
    if (schedrt_wake_at(t, 1) != 0) /* long past */
      return SCHEDRT_READY;
    return SCHEDRT_PENDING;
  }
  return SCHEDRT_READY;
}

Test(timer, wake_at_a_past_deadline, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  unsigned polls = 0;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wake_at_past_fn, &polls, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(polls, 2);
  cr_assert_eq(schedrt_wake_at(NULL, 0), -EINVAL);
  schedrt_runtime_destroy(rt);
}

/* Absolute deadlines fire in deadline order, whatever the order they were armed in. */
static char fired[32];
static _Atomic unsigned nfired;
struct at {
  uint64_t deadline;
  char name;
  bool armed;
};
static schedrt_poll at_fn(schedrt_task *t, void *arg) {
  struct at *a = arg;
  if (!a->armed) {
    a->armed = true;
    if (schedrt_wake_at(t, a->deadline) != 0)
      return SCHEDRT_READY;
    return SCHEDRT_PENDING;
  }
  if (schedrt_now_ns() < a->deadline)
    fired[atomic_fetch_add(&nfired, 1)] = '!'; /* woken early */
  else
    fired[atomic_fetch_add(&nfired, 1)] = a->name;
  return SCHEDRT_READY;
}

Test(timer, deadlines_fire_in_order, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  uint64_t base = schedrt_now_ns() + 30 * MS;
  static const unsigned slot[] = {4, 0, 3, 1, 2, 6, 5};
  enum { N = sizeof(slot) / sizeof(slot[0]) };
  struct at a[N];
  schedrt_handle *h[N];
  for (unsigned i = 0; i < N; i++) {
    a[i] = (struct at){.deadline = base + slot[i] * 3 * MS, .name = (char)('a' + slot[i])};
    cr_assert_eq(schedrt_spawn_ex(rt, at_fn, &a[i], NULL, &h[i]), 0);
  }
  for (unsigned i = 0; i < N; i++)
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
  cr_assert_str_eq(fired, "abcdefg");
  schedrt_runtime_destroy(rt);
}

/* Equal deadlines fire in the order they were armed. */
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

Test(timer, equal_deadlines_fire_in_arming_order, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct blocker b;
  sem_init(&b.started, 0, 0);
  sem_init(&b.release, 0, 0);
  cr_assert_eq(schedrt_spawn(rt, blocker_fn, &b), 0);
  cr_assert(stress_sem_wait(&b.started, WAIT_S));
  /* Queued behind the blocker in this order, so polled (and armed) in this order. */
  uint64_t deadline = schedrt_now_ns() + 40 * MS;
  enum { N = 12 };
  struct at a[N];
  schedrt_handle *h[N];
  for (unsigned i = 0; i < N; i++) {
    a[i] = (struct at){.deadline = deadline, .name = (char)('a' + i)};
    cr_assert_eq(schedrt_spawn_ex(rt, at_fn, &a[i], NULL, &h[i]), 0);
  }
  sem_post(&b.release);
  for (unsigned i = 0; i < N; i++)
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
  cr_assert_str_eq(fired, "abcdefghijkl");
  schedrt_runtime_destroy(rt);
}

/* A wake before the deadline is a spurious poll: schedrt_sleep stays PENDING and the timer still fires. */
Test(timer, early_wake_is_spurious, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct sleeper s;
  sleeper_init(&s, 300 * MS); /* long enough for the early wake to land first, even on a loaded machine */
  uint64_t t0 = schedrt_now_ns();
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, sleeper_fn, &s, NULL, &h), 0);
  cr_assert(stress_sem_wait(&s.first_poll, WAIT_S));
  schedrt_wake_by_ref(atomic_load(&s.waker));
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  uint64_t took = s.done_ns - t0;
  cr_assert_geq(took, 300 * MS, "finished after %lu ns", (unsigned long)took);
  cr_assert_eq(atomic_load(&s.polls), 3, "first, spurious, timer");
  schedrt_waker_drop(atomic_load(&s.waker));
  schedrt_runtime_destroy(rt);
}

/* A task that finishes before its timer fires: the timer keeps the task alive and fires into nothing. */
static schedrt_poll arm_and_finish_fn(schedrt_task *t, void *arg) {
  _Atomic unsigned *polls = arg;
  atomic_fetch_add(polls, 1);
  if (schedrt_wake_at(t, schedrt_now_ns() + 10 * MS) != 0)
    atomic_fetch_add(polls, 100);
  return SCHEDRT_READY;
}

Test(timer, fires_after_the_task_finished, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  _Atomic unsigned polls = 0;
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, arm_and_finish_fn, (void *)&polls, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(timers_pending(rt), 1);
  bool ok;
  STRESS_WAIT_UNTIL(ok, timers_pending(rt) == 0, WAIT_S);
  cr_assert(ok, "the timer never fired");
  cr_assert_eq(atomic_load(&polls), 1, "a finished task is not polled again");
  schedrt_runtime_destroy(rt);
}

/* Several sleeps in a row by one task. */
struct multi {
  uint64_t deadline;
  unsigned sleeps, polls;
};
static schedrt_poll multi_sleep_fn(schedrt_task *t, void *arg) {
  struct multi *m = arg;
  m->polls++;
  while (m->sleeps < 5) {
    if (schedrt_sleep(t, &m->deadline, 3 * MS) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    m->sleeps++;
  }
  return SCHEDRT_READY;
}

Test(timer, consecutive_sleeps, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct multi m = {0};
  uint64_t t0 = schedrt_now_ns();
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, multi_sleep_fn, &m, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_geq(schedrt_now_ns() - t0, 15 * MS);
  cr_assert_eq(m.sleeps, 5);
  cr_assert_eq(m.polls, 6);
  schedrt_runtime_destroy(rt);
}

/* A very long sleep (UINT64_MAX: "until woken otherwise") must not wrap around into the past. */
Test(timer, huge_delay_does_not_wrap, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct sleeper s;
  sleeper_init(&s, UINT64_MAX - 5);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, sleeper_fn, &s, NULL, &h), 0);
  cr_assert(stress_sem_wait(&s.first_poll, WAIT_S));
  bool ok;
  STRESS_WAIT_UNTIL(ok, timers_pending(rt) == 1 || schedrt_handle_is_finished(h), WAIT_S);
  cr_assert(ok);
  /* The deadline schedrt_sleep computed (the caller's state) lies in the future, */
  cr_assert_gt(s.deadline, schedrt_now_ns(), "deadline %lu wrapped into the past", (unsigned long)s.deadline);
  /* and so the task was not woken and finished at once. */
  cr_assert_not(schedrt_handle_is_finished(h), "a sleep of UINT64_MAX ns ended at once");
  schedrt_runtime_destroy(rt);
  schedrt_handle_release(h);
  schedrt_waker_drop(atomic_load(&s.waker));
}

/* Many concurrent timers (the heap grows past its first allocation), from several workers. */
Test(timer, many_timers, .timeout = 60) {
  enum { N = 1000 };
  schedrt_runtime *rt = make_rt(2);
  struct sleeper *s = calloc(N, sizeof(*s));
  schedrt_handle **h = calloc(N, sizeof(*h));
  uint64_t rng = 7;
  uint64_t t0 = schedrt_now_ns();
  for (unsigned i = 0; i < N; i++) {
    sleeper_init(&s[i], (stress_rand(&rng) % 20 + 1) * MS);
    cr_assert_eq(schedrt_spawn_ex(rt, sleeper_fn, &s[i], NULL, &h[i]), 0);
  }
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
    cr_assert_geq(s[i].done_ns - t0, s[i].delay);
    cr_assert_eq(atomic_load(&s[i].polls), 2, "task %u polled %u times", i, atomic_load(&s[i].polls));
    schedrt_waker_drop(atomic_load(&s[i].waker));
  }
  cr_assert_eq(timers_pending(rt), 0);
  free(s);
  free(h);
  schedrt_runtime_destroy(rt);
}

/* Armed timers at shutdown: released (no leak under LSan); see also test_shutdown. */
Test(timer, pending_timers_are_released_at_shutdown, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  enum { N = 100 };
  struct sleeper s[N];
  for (unsigned i = 0; i < N; i++) {
    sleeper_init(&s[i], 3600000 * MS);
    cr_assert_eq(schedrt_spawn(rt, sleeper_fn, &s[i]), 0);
  }
  bool ok;
  STRESS_WAIT_UNTIL(ok, timers_pending(rt) == N, WAIT_S);
  cr_assert(ok, "%zu of %d timers armed", timers_pending(rt), N);
  schedrt_runtime_destroy(rt);
  for (unsigned i = 0; i < N; i++) {
    cr_assert_eq(atomic_load(&s[i].polls), 1);
    schedrt_waker_drop(atomic_load(&s[i].waker));
  }
}
