/*
 * One million tasks spawned from inside (workers) and outside (foreign
 * threads) are each run exactly once; nothing is lost or duplicated.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "stress.h"

#define SPAWNERS 3

static unsigned long total;
static _Atomic uint8_t *ran; /* one flag per task: exactly-once check */
static _Atomic unsigned long done;
static sem_t all_done; /* posted by the last task to finish */
static schedrt_runtime *rt;

static schedrt_poll leaf(schedrt_task *t, void *arg) {
  (void)t;
  uintptr_t i = (uintptr_t)arg;
  /* Relaxed: the count is read after join, which orders it. */
  uint8_t prev = atomic_fetch_add_explicit(&ran[i], 1, memory_order_relaxed);
  if (prev != 0) {
    fprintf(stderr, "task %lu ran twice\n", (unsigned long)i);
    abort();
  }
  /* AcqRel: the last finisher sees every earlier finisher's flag. */
  if (atomic_fetch_add_explicit(&done, 1, memory_order_acq_rel) + 1 == total)
    sem_post(&all_done);
  return SCHEDRT_READY;
}

/* A worker-side spawner: spawns [from, to) locally, yielding now and then. */
struct inner {
  unsigned long next, to;
};
static schedrt_poll inner_spawner(schedrt_task *t, void *arg) {
  struct inner *in = arg;
  for (int k = 0; k < 64 && in->next < in->to; k++, in->next++)
    if (schedrt_spawn(rt, leaf, (void *)(uintptr_t)in->next) != 0)
      abort();
  if (in->next < in->to)
    return schedrt_yield(t);
  return SCHEDRT_READY;
}

struct outer {
  unsigned long from, to;
};
static void *outer_spawner(void *arg) {
  struct outer *o = arg;
  for (unsigned long i = o->from; i < o->to; i++)
    if (schedrt_spawn(rt, leaf, (void *)(uintptr_t)i) != 0)
      abort();
  return NULL;
}

int main(void) {
  stress_watchdog(150);
  total = stress_scaled(1000000);
  sem_init(&all_done, 0, 0);
  ran = calloc(total, 1);
  STRESS_CHECK(ran, "no memory");
  rt = stress_runtime(4);
  unsigned long half = total / 2;
  /* Inside: half the ids, from 8 spawner tasks. */
  struct inner ins[8];
  schedrt_handle *hs[8];
  for (int i = 0; i < 8; i++) {
    ins[i].next = half * (unsigned long)i / 8;
    ins[i].to = half * (unsigned long)(i + 1) / 8;
    STRESS_OK(schedrt_spawn_ex(rt, inner_spawner, &ins[i], NULL, &hs[i]));
  }
  /* Outside: the other half, from foreign threads. */
  pthread_t th[SPAWNERS];
  struct outer os[SPAWNERS];
  for (int i = 0; i < SPAWNERS; i++) {
    os[i].from = half + (total - half) * (unsigned long)i / SPAWNERS;
    os[i].to = half + (total - half) * (unsigned long)(i + 1) / SPAWNERS;
    pthread_create(&th[i], NULL, outer_spawner, &os[i]);
  }
  for (int i = 0; i < SPAWNERS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 8; i++)
    STRESS_OK(schedrt_join(hs[i], UINT64_MAX, NULL));
  /* Every leaf must finish; a lost task shows up as this deadline passing. */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 120;
  while (sem_timedwait(&all_done, &deadline) != 0 && errno == EINTR)
    ;
  unsigned long d = atomic_load_explicit(&done, memory_order_acquire);
  STRESS_CHECK(d == total, "%lu of %lu tasks ran", d, total);
  schedrt_runtime_destroy(rt);
  for (unsigned long i = 0; i < total; i++)
    STRESS_CHECK(atomic_load_explicit(&ran[i], memory_order_relaxed) == 1, "task %lu ran %u times", i,
                 (unsigned)ran[i]);
  free((void *)ran);
  printf("stress_spawn: %lu tasks, each ran once\n", total);
  return STRESS_PASS;
}
