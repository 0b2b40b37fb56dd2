/* The park seam (runtime/src/park.c): wake-ups are kept, counted once, and wake a sleeper; deadlines hold. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

#define MS 1000000ull

Test(park, a_wake_up_before_the_park_is_kept) {
  schedrt_parker p;
  schedrt__parker_init(&p);
  cr_assert_not(schedrt__park_take(&p), "nothing pending yet");
  schedrt__unpark(&p);
  uint64_t t0 = schedrt__now_ns();
  cr_assert(schedrt__park(&p, 5000 * MS), "consumed the pending wake-up");
  /* A lost wake-up would sleep the whole 5 s. */
  cr_assert_lt(schedrt__now_ns() - t0, 1000 * MS);
  cr_assert_eq(atomic_load(&p.state), SCHEDRT_PARK_EMPTY);
}

Test(park, wake_ups_coalesce_and_a_deadline_ends_the_sleep) {
  schedrt_parker p;
  schedrt__parker_init(&p);
  schedrt__unpark(&p);
  schedrt__unpark(&p);
  cr_assert(schedrt__park_take(&p));
  uint64_t t0 = schedrt__now_ns();
  cr_assert_not(schedrt__park(&p, 20 * MS), "two unparks are one wake-up");
  cr_assert_geq(schedrt__now_ns() - t0, 20 * MS, "slept until the deadline");
  cr_assert_eq(atomic_load(&p.state), SCHEDRT_PARK_EMPTY, "left the word as it found it");
  cr_assert_not(schedrt__park(&p, 0), "a zero timeout does not sleep");
}

struct sleeper {
  schedrt_parker p;
  _Atomic int woke;
};

static void *sleep_forever(void *arg) {
  struct sleeper *s = arg;
  atomic_store(&s->woke, schedrt__park(&s->p, UINT64_MAX) ? 1 : -1);
  return NULL;
}

Test(park, unpark_wakes_a_sleeper, .timeout = 30) {
  struct sleeper s = {.woke = 0};
  schedrt__parker_init(&s.p);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, sleep_forever, &s), 0);
  /* The word says when the other thread has announced its sleep. */
  while (atomic_load(&s.p.state) != SCHEDRT_PARK_PARKED)
    sched_yield();
  schedrt__unpark(&s.p);
  pthread_join(th, NULL);
  cr_assert_eq(atomic_load(&s.woke), 1);
}
