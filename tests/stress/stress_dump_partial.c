/*
 * PARTIAL dumps under fire: workers now and then sit in 20-40 ms polls while
 * dumps with a 2 ms deadline run in a loop, so most dumps miss someone and
 * the missing workers keep stealing, completing and spawning while the
 * leader copies. Every dump must still decode with each task once, name what
 * each missing worker polls, leave nobody counted in the barrier, and every
 * task must complete exactly once.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../unit/test_dump_util.h"
#include "dump.h"
#include "stress.h"

#define SEC 1000000000ull
#define MS 1000000ull

static schedrt_runtime *rt;
static unsigned long ntasks;
static _Atomic unsigned char *runs;
static unsigned char *yields;
static _Atomic unsigned long completed, spawned;

static schedrt_poll task_fn(schedrt_task *t, void *arg) {
  unsigned long i = (unsigned long)(uintptr_t)arg;
  if (yields[i] > 0) {
    yields[i]--;
    return schedrt_yield(t);
  }
  if (i % 997 == 0) {
    /* A long poll: this worker misses the next dumps' deadline. */
    uint64_t until = schedrt_now_ns() + (20 + i % 21) * MS;
    while (schedrt_now_ns() < until)
      sched_yield();
  }
  atomic_fetch_add(&runs[i], 1);
  atomic_fetch_add(&completed, 1);
  return SCHEDRT_READY;
}

static void *spawner(void *arg) {
  (void)arg;
  for (unsigned long i = 0; i < ntasks; i++) {
    while (atomic_load(&spawned) - atomic_load(&completed) > 5000)
      usleep(100); /* pacing, not synchronisation: leave the CPUs to the workers */
    STRESS_OK(schedrt_spawn(rt, task_fn, (void *)(uintptr_t)i));
    atomic_fetch_add(&spawned, 1);
  }
  return NULL;
}

int main(void) {
  ntasks = stress_scaled(200000);
  runs = calloc(ntasks, sizeof(*runs));
  yields = malloc(ntasks);
  STRESS_CHECK(runs && yields, "memory");
  for (unsigned long i = 0; i < ntasks; i++)
    yields[i] = (unsigned char)(i % 4);
  rt = stress_runtime(3);
  pthread_t sp;
  STRESS_CHECK(pthread_create(&sp, NULL, spawner, NULL) == 0, "spawner");
  int partial = 0, ok = 0;
  uint64_t until = schedrt_now_ns() + 250 * SEC;
  while (atomic_load(&completed) < ntasks) {
    STRESS_CHECK(schedrt_now_ns() < until, "completed %lu of %lu", atomic_load(&completed), ntasks);
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    STRESS_OK(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 2}, &res, &d));
    STRESS_CHECK(res.status == SCHEDRT_DUMP_OK || res.status == SCHEDRT_DUMP_PARTIAL, "status %s",
                 schedrt_dump_status_name(res.status));
    const char *bad = tdu_check(d, 3);
    STRESS_CHECK(!bad, "%s", bad);
    STRESS_CHECK(schedrt__dbar_arrived(&rt->dump->bar) == 0, "nobody left in the barrier");
    for (size_t k = 0; k < d->nmissing; k++) {
      const schedrt_dump_worker *w = &d->workers[d->missing[k]];
      STRESS_CHECK(w->role == SCHEDRT_DUMP_ROLE_MISSING, "missing role");
      STRESS_CHECK(w->reason != SCHEDRT_DUMP_REASON_NONE, "a missing worker says why");
      if (w->reason == SCHEDRT_DUMP_REASON_POLLING)
        STRESS_CHECK(w->running_ns != SCHEDRT_DUMP_NONE, "and for how long");
    }
    partial += res.status == SCHEDRT_DUMP_PARTIAL;
    ok += res.status == SCHEDRT_DUMP_OK;
    schedrt_dump_doc_free(d);
  }
  pthread_join(sp, NULL);
  schedrt_dump_result res;
  schedrt_dump_doc *d;
  STRESS_OK(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 10000}, &res, &d));
  STRESS_CHECK(res.status == SCHEDRT_DUMP_OK, "a full dump at the end");
  STRESS_CHECK(d->ntasks == 0, "nothing left alive: %zu", d->ntasks);
  schedrt_dump_doc_free(d);
  schedrt_runtime_destroy(rt);
  for (unsigned long i = 0; i < ntasks; i++)
    STRESS_CHECK(atomic_load(&runs[i]) == 1, "task %lu completed %d times", i, atomic_load(&runs[i]));
  printf("stress_dump_partial: %lu tasks, %d partial and %d complete dumps\n", ntasks, partial, ok);
  free(runs);
  free(yields);
  return STRESS_PASS;
}
