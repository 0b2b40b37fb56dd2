/*
 * Task dumps built in memory, field by field, for the inspector's analysis
 * and diff tests: what the decoder would have produced, without CBOR. No
 * Criterion here. Free with tdb_free (not schedrt_dump_doc_free: the decoder
 * allocates differently).
 */
#ifndef SCHEDRT_TEST_DOC_BUILDER_H
#define SCHEDRT_TEST_DOC_BUILDER_H

#include <stdlib.h>
#include <string.h>

#include "schedrt/dump_read.h"

#define TDB_SITES 8

static inline void *tdb_zalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p)
    abort();
  return p;
}

/*
 * A format 1.1 dump of pid 4242 with ntasks tasks (ids 1..ntasks, idle for
 * 1 s, one waker, spawned at spawn_sites[0], no await point) and nworkers
 * held workers; TDB_SITES spawn and await sites ("spawn.c":10+i, func
 * "f<i>"; "await-<i>" at "await.c":20+i). Taken at 100 s on both clocks.
 */
static inline schedrt_dump_doc *tdb_new(size_t ntasks, size_t nworkers) {
  static const char *const funcs[TDB_SITES] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};
  static const char *const labels[TDB_SITES] = {"await-0", "await-1", "await-2", "await-3",
                                                "await-4", "await-5", "await-6", "await-7"};
  schedrt_dump_doc *d = tdb_zalloc(1, sizeof(*d));
  d->major = 1;
  d->minor = 1;
  d->runtime = "unit";
  d->runtime_version = "0.1.0";
  d->status = "OK";
  d->source = "api";
  d->pid = 4242;
  d->proc_starttime = 777;
  d->started_mono_ns = 1000000000ull;
  d->taken_mono_ns = 100000000000ull;
  d->taken_realtime_ns = 100000000000ull;
  d->nworkers = nworkers;
  d->nworkers_listed = nworkers;
  d->workers = tdb_zalloc(nworkers, sizeof(*d->workers));
  d->covered = tdb_zalloc(nworkers, sizeof(*d->covered));
  d->ncovered = nworkers;
  for (size_t i = 0; i < nworkers; i++) {
    schedrt_dump_worker *w = &d->workers[i];
    w->index = i;
    w->role = SCHEDRT_DUMP_ROLE_HELD;
    w->state = SCHEDRT_WSTATE_RUNNING;
    w->local_queue = w->lifo = w->deferred = 0;
    w->current_task = w->running_ns = SCHEDRT_DUMP_NONE;
    w->tid = (int64_t)(5000 + i);
    w->held_ns = 1000;
    d->covered[i] = i;
  }
  d->spawn_sites = tdb_zalloc(TDB_SITES, sizeof(*d->spawn_sites));
  d->await_sites = tdb_zalloc(TDB_SITES, sizeof(*d->await_sites));
  d->nspawn_sites = d->nawait_sites = TDB_SITES;
  for (size_t i = 0; i < TDB_SITES; i++) {
    d->spawn_sites[i] = (schedrt_dump_site){.file = "spawn.c", .func = funcs[i], .line = 10 + i};
    d->await_sites[i] = (schedrt_dump_site){.file = "await.c", .label = labels[i], .line = 20 + i};
  }
  d->tasks = tdb_zalloc(ntasks, sizeof(*d->tasks));
  d->ntasks = d->task_count = ntasks;
  for (size_t i = 0; i < ntasks; i++) {
    schedrt_dump_task *t = &d->tasks[i];
    t->id = i + 1;
    t->state = SCHEDRT_DUMP_STATE_IDLE;
    t->worker = t->position = t->await = t->wait_for = t->wait_object = t->timer_in_ns = SCHEDRT_DUMP_NONE;
    t->spawn = 0;
    t->polls = 1;
    t->age_ns = 2000000000ull;
    t->state_ns = 1000000000;
    t->wakers = 1;
    t->wait = SCHEDRT_DUMP_WAIT_NONE;
  }
  return d;
}

/* Task i waits (idle) for the task with this id through its join handle. */
static inline void tdb_join(schedrt_dump_doc *d, size_t i, uint64_t id) {
  schedrt_dump_task *t = &d->tasks[i];
  t->state = SCHEDRT_DUMP_STATE_IDLE;
  t->wait = SCHEDRT_DUMP_WAIT_JOIN;
  t->wait_for = (int64_t)id;
  t->wakers = 1;
}

/* Task i is idle and nothing can wake it. */
static inline void tdb_lost(schedrt_dump_doc *d, size_t i) {
  schedrt_dump_task *t = &d->tasks[i];
  t->state = SCHEDRT_DUMP_STATE_IDLE;
  t->wakers = t->timers = 0;
  t->lost_wake = true;
}

/* Task i waits (idle, one waker) on a primitive of this wait kind whose waking side is held by the n
 * tasks of ids (one handle each; id 0: outside the runtime), as a dump lists them. */
static inline void tdb_held(schedrt_dump_doc *d, size_t i, uint32_t wait, const uint64_t *ids, size_t n) {
  schedrt_dump_task *t = &d->tasks[i];
  t->state = SCHEDRT_DUMP_STATE_IDLE;
  t->wait = wait;
  t->wait_object = (int64_t)(0x1000 + 0x40 * i);
  t->wakers = 1;
  free(t->holders);
  t->holders = tdb_zalloc(2 * n, sizeof(*t->holders));
  t->nholders = 2 * n;
  for (size_t k = 0; k < n; k++) {
    t->holders[2 * k] = ids[k];
    t->holders[2 * k + 1] = 1;
  }
}

static inline void tdb_free(schedrt_dump_doc *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->ntasks; i++)
    free(d->tasks[i].holders);
  for (size_t i = 0; i < d->nworkers_listed; i++)
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      free(d->workers[i].hist[h]);
  free(d->workers);
  free(d->covered);
  free(d->missing);
  free(d->hist_bounds);
  free(d->tasks);
  free(d->spawn_sites);
  free(d->await_sites);
  free(d);
}

#endif
