/*
 * Nothing lost: a million tasks, half spawned from outside and half
 * from inside tasks, yielding and waking each other in pairs, while another
 * thread (and now and then a task) asks for dumps in a loop. Every task must
 * complete exactly once, and every dump must be complete (OK: the deadline
 * is generous), decode, and list each task once.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../unit/test_dump_util.h"
#include "stress.h"

#define SEC 1000000000ull
#define IN_FLIGHT 20000u /* alive tasks at most: keeps each dump (and TSan) affordable */

struct pair {
  schedrt_waker *waker; /* the even task's, stored before armed */
  _Atomic int armed;
  _Atomic int fired;
};

static schedrt_runtime *rt;
static unsigned long ntasks, nouter;
static _Atomic unsigned char *runs;
static unsigned char *yields;
static struct pair *pairs;
static _Atomic unsigned long completed, spawned;
static _Atomic int inner_dumps, inner_partial, dumps_ok;
/* Dumping polls in progress, and how many ever began: an inner dump is
 * PARTIAL only beside another one, whose poll (the dump, then its parse)
 * can be long enough to count as stuck on a loaded machine. */
static _Atomic int dumping_now, dumping_began;

static schedrt_poll task_fn(schedrt_task *t, void *arg);

static void done(unsigned long i) {
  atomic_fetch_add(&runs[i], 1);
  atomic_fetch_add(&completed, 1);
}

static void spawn_one(unsigned long i) {
  int rc;
  /* Spawning can only fail for lack of memory here. */
  while ((rc = schedrt_spawn(rt, task_fn, (void *)(uintptr_t)i)) == -ENOMEM)
    sched_yield();
  STRESS_OK(rc);
  atomic_fetch_add(&spawned, 1);
}

static schedrt_poll task_fn(schedrt_task *t, void *arg) {
  unsigned long i = (unsigned long)(uintptr_t)arg;
  if (yields[i] > 0) {
    yields[i]--; /* only this task's polls touch its byte, one at a time */
    schedrt_await(t, "yield");
    return schedrt_yield(t);
  }
  if (i >= nouter) {
    done(i);
    return SCHEDRT_READY;
  }
  struct pair *p = &pairs[i / 2];
  if (i % 2 == 0) {
    if (!p->waker) {
      spawn_one(nouter + i); /* a child from inside */
      if (i % 50000 == 0) {
        /* A dump asked from inside a task: OK, or BUSY beside the dumper's.
         * The poll lasts as long as the dump: a dump of the dumper thread
         * taken meanwhile does not wait for this worker (the label says why). */
        schedrt_await(t, "dumping");
        schedrt_dump_result res;
        schedrt_dump_doc *d = NULL;
        int began = atomic_fetch_add(&dumping_began, 1);
        bool beside = atomic_fetch_add(&dumping_now, 1) > 0;
        int rc = tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 10000}, &res, &d);
        beside |= atomic_load(&dumping_began) > began + 1;
        STRESS_CHECK(rc == 0 || rc == -EBUSY, "dump from a task: %s", schedrt_strerror(rc));
        STRESS_CHECK(rc || res.status == SCHEDRT_DUMP_OK || (res.status == SCHEDRT_DUMP_PARTIAL && beside),
                     "status %s (%u workers missing, another dumping poll %s)",
                     schedrt_dump_status_name(res.status), res.workers_missing,
                     beside ? "beside" : "nowhere");
        atomic_fetch_add(&inner_partial, !rc && res.status == SCHEDRT_DUMP_PARTIAL);
        schedrt_dump_doc_free(d);
        atomic_fetch_sub(&dumping_now, 1);
        atomic_fetch_add(&inner_dumps, 1);
      }
      p->waker = schedrt_waker_get(t);
      /* Release: the partner sees the waker once it sees armed. */
      atomic_store_explicit(&p->armed, 1, memory_order_release);
      schedrt_await(t, "partner");
      return SCHEDRT_PENDING;
    }
    /* Acquire: pairs with the partner's store before its wake. */
    if (!atomic_load_explicit(&p->fired, memory_order_acquire))
      return SCHEDRT_PENDING; /* spurious poll */
    spawn_one(nouter + i + 1);
    done(i);
    return SCHEDRT_READY;
  }
  /* Acquire: pairs with the even task's release of armed. */
  if (!atomic_load_explicit(&p->armed, memory_order_acquire)) {
    schedrt_await(t, "partner armed");
    return schedrt_yield(t);
  }
  atomic_store_explicit(&p->fired, 1, memory_order_release);
  schedrt_wake(p->waker);
  done(i);
  return SCHEDRT_READY;
}

static void *spawner(void *arg) {
  (void)arg;
  for (unsigned long i = 0; i < nouter; i++) {
    while (atomic_load(&spawned) - atomic_load(&completed) > IN_FLIGHT)
      usleep(100); /* pacing, not synchronisation: leave the CPUs to the workers */
    spawn_one(i);
  }
  return NULL;
}

static _Atomic int stop_dumping;
static unsigned long partial; /* dumps that found a worker dumping from a task */

static void *dumper(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_dumping)) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    int rc = tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 10000, .label = "loop"}, &res, &d);
    if (rc == -EBUSY)
      continue; /* a task's own dump is running */
    STRESS_OK(rc);
    /* Complete, but for workers inside a task that dumps from its poll (or
     * just out of it: between polls when the copy was made). */
    for (size_t k = 0; k < d->nmissing; k++) {
      const schedrt_dump_worker *m = &d->workers[d->missing[k]];
      if (m->reason == SCHEDRT_DUMP_REASON_NO_SAFEPOINT)
        continue;
      const schedrt_dump_task *busy = tdu_task_id(d, (uint64_t)m->current_task);
      const schedrt_dump_site *aw = busy ? schedrt_dump_await_site(d, busy) : NULL;
      STRESS_CHECK(aw && aw->label && strcmp(aw->label, "dumping") == 0,
                   "missing worker %llu (%s) was not dumping: task %lld for %lld ns",
                   (unsigned long long)d->missing[k], schedrt_dump_reason_text(m->reason),
                   (long long)m->current_task, (long long)m->running_ns);
    }
    STRESS_CHECK(res.status == SCHEDRT_DUMP_OK || res.status == SCHEDRT_DUMP_PARTIAL, "dump: %s",
                 schedrt_dump_status_name(res.status));
    partial += res.status == SCHEDRT_DUMP_PARTIAL;
    STRESS_CHECK(d->ntasks == res.tasks, "decoded %zu of %u tasks", d->ntasks, res.tasks);
    const char *bad = tdu_check(d, schedrt_runtime_nworkers(rt));
    STRESS_CHECK(!bad, "%s", bad);
    for (size_t k = 0; k < d->ntasks; k++)
      STRESS_CHECK(d->tasks[k].state != SCHEDRT_DUMP_STATE_RUNNING || d->nmissing,
                   "all workers held: nothing running");
    schedrt_dump_doc_free(d);
    atomic_fetch_add(&dumps_ok, 1);
  }
  return NULL;
}

int main(void) {
  nouter = stress_scaled(1000000) / 2;
  if (nouter % 2)
    nouter++;
  ntasks = 2 * nouter;
  runs = calloc(ntasks, sizeof(*runs));
  yields = malloc(ntasks);
  pairs = calloc(nouter / 2 + 1, sizeof(*pairs));
  STRESS_CHECK(runs && yields && pairs, "memory");
  for (unsigned long i = 0; i < ntasks; i++)
    yields[i] = (unsigned char)(i % 3);
  rt = stress_runtime(3);
  pthread_t sp, dp;
  STRESS_CHECK(pthread_create(&dp, NULL, dumper, NULL) == 0, "dumper");
  STRESS_CHECK(pthread_create(&sp, NULL, spawner, NULL) == 0, "spawner");
  pthread_join(sp, NULL);
  uint64_t until = schedrt_now_ns() + 250 * SEC;
  while (atomic_load(&completed) < ntasks) {
    STRESS_CHECK(schedrt_now_ns() < until, "completed %lu of %lu", atomic_load(&completed), ntasks);
    usleep(1000);
  }
  atomic_store(&stop_dumping, 1);
  pthread_join(dp, NULL);
  schedrt_runtime_destroy(rt);
  for (unsigned long i = 0; i < ntasks; i++)
    STRESS_CHECK(atomic_load(&runs[i]) == 1, "task %lu completed %d times", i, atomic_load(&runs[i]));
  STRESS_CHECK(atomic_load(&dumps_ok) >= 3, "dumps taken: %d", atomic_load(&dumps_ok));
  printf(
      "stress_dump_lost: %lu tasks, %d dumps (%lu partial: a worker was dumping) (+%d from tasks, %d partial "
      "beside another), each exactly once\n",
      ntasks, atomic_load(&dumps_ok), partial, atomic_load(&inner_dumps), atomic_load(&inner_partial));
  free(runs);
  free(yields);
  free(pairs);
  return STRESS_PASS;
}
