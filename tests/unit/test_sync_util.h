/* What the sync-primitive tests share: a task that polls one step function until it is READY. */
#ifndef SCHEDRT_TEST_SYNC_UTIL_H
#define SCHEDRT_TEST_SYNC_UTIL_H

#include <criterion/criterion.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "rt_fixture.h"
#include "schedrt.h"
#include "stress.h"

/*
 * A poller: fn is polled; its step returns the primitive's answer. With
 * `abandon`, the task stops after its first PENDING (returns READY, leaving
 * its registration behind), which is how a wait "moves" to another task.
 */
struct poller;
typedef schedrt_poll (*step_fn)(struct poller *p, schedrt_task *t);
struct poller {
  step_fn step;
  void *obj;
  uint64_t *ticket; /* shared between the tasks a wait moves between */
  void *value;
  uint64_t n;
  int status;
  bool abandon;
  _Atomic unsigned polls, pendings;
  _Atomic int ready;
  uint64_t task_id;
  sem_t pended; /* posted at each PENDING */
  sem_t done;   /* posted at READY */
};

static inline void poller_init(struct poller *p, step_fn step, void *obj, uint64_t *ticket) {
  memset(p, 0, sizeof(*p));
  p->step = step;
  p->obj = obj;
  p->ticket = ticket;
  sem_init(&p->pended, 0, 0);
  sem_init(&p->done, 0, 0);
}

static inline schedrt_poll poller_fn(schedrt_task *t, void *arg) {
  struct poller *p = arg;
  p->task_id = schedrt_task_id(t);
  atomic_fetch_add(&p->polls, 1);
  schedrt_poll r = p->step(p, t);
  if (r == SCHEDRT_PENDING) {
    atomic_fetch_add(&p->pendings, 1);
    sem_post(&p->pended);
    if (!p->abandon)
      return SCHEDRT_PENDING;
    return SCHEDRT_READY;
  }
  atomic_store(&p->ready, 1);
  sem_post(&p->done);
  return SCHEDRT_READY;
}

/* Spawns p and waits for its first PENDING. */
static inline schedrt_handle *poller_spawn_pending(schedrt_runtime *rt, struct poller *p) {
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, poller_fn, p, NULL, &h), 0);
  cr_assert(stress_sem_wait(&p->pended, WAIT_S), "the task never waited");
  return h;
}

static inline void poller_join(schedrt_handle *h) { cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0); }

/* The index of a metric by name, or -1. */
static inline int metric_index(const char *name) {
  for (size_t i = 0; i < schedrt_metric_count(); i++)
    if (strcmp(schedrt_metric_info(i)->name, name) == 0)
      return (int)i;
  return -1;
}

/* A worker metric summed over the workers; -1 when metrics are compiled out. */
static inline long long metric_sum(schedrt_runtime *rt, const char *name) {
  int idx = metric_index(name);
  cr_assert(idx >= 0, "no metric %s", name);
  long long sum = 0;
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(rt); w++) {
    uint64_t v = 0;
    int rc = schedrt_metric_read(rt, (size_t)idx, w, &v);
    if (rc == -ENOTSUP)
      return -1;
    cr_assert_eq(rc, 0);
    sum += (long long)v;
  }
  return sum;
}

#endif
