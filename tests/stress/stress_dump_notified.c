/*
 * Tokio case 31 (notified during tracing): tasks sleeping 1 ns in a loop, so
 * the timer keeps waking them, while dumps run back to back for a second.
 * Every dump is complete and decodes; the sleepers then finish.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../unit/test_dump_util.h"
#include "stress.h"

#define SEC 1000000000ull

static _Atomic int stop;
static _Atomic int finished;

struct sleeper {
  uint64_t deadline;
};

static schedrt_poll sleeper_fn(schedrt_task *t, void *arg) {
  struct sleeper *s = arg;
  for (;;) {
    if (atomic_load(&stop)) {
      atomic_fetch_add(&finished, 1);
      return SCHEDRT_READY;
    }
    schedrt_await(t, "sleep 1 ns");
    if (schedrt_sleep(t, &s->deadline, 1) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
  }
}

int main(void) {
  enum { N = 8 };
  static struct sleeper s[N];
  schedrt_runtime *rt = stress_runtime(3);
  for (int i = 0; i < N; i++)
    STRESS_OK(schedrt_spawn(rt, sleeper_fn, &s[i]));
  uint64_t end = schedrt_now_ns() + (uint64_t)stress_scaled(1000) * 1000000u;
  int dumps = 0;
  while (schedrt_now_ns() < end || dumps < 3) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    STRESS_OK(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 10000}, &res, &d));
    STRESS_CHECK(res.status == SCHEDRT_DUMP_OK, "status %s", schedrt_dump_status_name(res.status));
    STRESS_CHECK(d->ntasks == N, "the %d sleepers, found %zu", N, d->ntasks);
    const char *bad = tdu_check(d, 3);
    STRESS_CHECK(!bad, "%s", bad);
    schedrt_dump_doc_free(d);
    dumps++;
  }
  atomic_store(&stop, 1);
  uint64_t until = schedrt_now_ns() + 30 * SEC;
  while (atomic_load(&finished) < N)
    STRESS_CHECK(schedrt_now_ns() < until, "sleepers finish: %d", atomic_load(&finished));
  schedrt_runtime_destroy(rt);
  printf("stress_dump_notified: %d dumps\n", dumps);
  return STRESS_PASS;
}
