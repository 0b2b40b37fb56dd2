/*
 * A busy runtime watched by readers: one thread takes segment snapshots
 * through the reader library, another reads the in-process API, while the
 * workers spawn, yield, steal and park. Checks that counters never go
 * backwards, gauges stay in range, and that the totals are exact once the
 * runtime is idle. Under TSan this covers the hooks, the monitor and both
 * readers. A second phase runs the monitor every millisecond while named
 * long polls (a few ms each) mix with a churn of short tasks (freed and
 * reallocated records): the monitor names long polls by looking their
 * worker's `current` pointer up in the alive list under the shard locks,
 * and every task it names must be the one really in that poll (id, name and
 * spawn site agree). With a 3 ms long-poll threshold, the monitor's sampling
 * (every 0.6 ms) counts the longer of those polls in long_polls while the
 * reader reads it: the count never goes back, and a counted poll was seen
 * for at least the threshold. Plain executable: exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedrt.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/reader.h"
#include "stress.h"

#define NWORKERS 2

static schedrt_runtime *rt;
static _Atomic int stop;
static _Atomic unsigned long done_tasks;
static unsigned long yields_per_task = 3;

struct job {
  int yields;
  int children;
};

static schedrt_poll job_fn(schedrt_task *t, void *arg);

static schedrt_poll child_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  atomic_fetch_add(&done_tasks, 1);
  return SCHEDRT_READY;
}

static schedrt_poll job_fn(schedrt_task *t, void *arg) {
  struct job *j = arg;
  if (j->children-- > 0 && schedrt_spawn(rt, child_fn, NULL) != 0)
    j->children = 0;
  if ((unsigned long)j->yields++ < yields_per_task)
    return schedrt_yield(t);
  atomic_fetch_add(&done_tasks, 1);
  return SCHEDRT_READY;
}

static unsigned long snapshots, torn_snapshots, api_reads;

static void *snapshot_thread(void *arg) {
  (void)arg;
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_name(schedrt_metrics_segment(rt), NULL, &r));
  schedrt_snapshot s;
  STRESS_OK(schedrt_snapshot_init(r, &s));
  uint64_t last_polls[NWORKERS] = {0}, last_parks[NWORKERS] = {0}, last_hb = 0, last_spawned = 0;
  while (!atomic_load(&stop)) {
    int rc = schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s);
    /* A worker preempted inside its few-store section can make a read give
     * up; that is reported, not hidden, and must stay rare. */
    STRESS_CHECK(rc == 0 || rc == SCHEDRT_ETORN, "take: %s", schedrt_strerror(rc));
    torn_snapshots += rc != 0;
    STRESS_CHECK(s.liveness == SCHEDRT_LIVENESS_LIVE, "liveness %s", schedrt_liveness_name(s.liveness));
    STRESS_CHECK(s.nworkers == NWORKERS, "nworkers %u", s.nworkers);
    STRESS_CHECK(s.heartbeat_seq >= last_hb, "heartbeat went back");
    last_hb = s.heartbeat_seq;
    if (!s.global.torn) {
      STRESS_CHECK(s.global.spawned >= last_spawned, "spawned went back");
      last_spawned = s.global.spawned;
    }
    for (uint32_t w = 0; w < NWORKERS; w++) {
      const schedrt_worker_snap *x = &s.workers[w];
      if (x->torn)
        continue;
      STRESS_CHECK(x->state < SCHEDRT_WSTATE__COUNT, "state %llu", (unsigned long long)x->state);
      STRESS_CHECK(x->local_queue_depth <= 256, "depth %llu", (unsigned long long)x->local_queue_depth);
      STRESS_CHECK(x->lifo <= 1, "lifo");
      STRESS_CHECK(x->polls >= last_polls[w] && x->parks >= last_parks[w], "worker %u went back", w);
      STRESS_CHECK(x->state != SCHEDRT_WSTATE_PARKED || x->current_task == 0, "parked with a task");
      last_polls[w] = x->polls;
      last_parks[w] = x->parks;
    }
    snapshots++;
  }
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  return NULL;
}

static void *api_thread(void *arg) {
  (void)arg;
  uint64_t last[SCHEDRT_M__COUNT][NWORKERS];
  memset(last, 0, sizeof(last));
  while (!atomic_load(&stop)) {
    for (int id = 0; id < SCHEDRT_M__COUNT; id++) {
      const schedrt_metric_desc *d = schedrt_metric_info((size_t)id);
      for (uint32_t w = 0; w < NWORKERS; w++) {
        uint64_t v;
        STRESS_OK(schedrt_metric_read(rt, (size_t)id, w, &v));
        if (d->kind != SCHEDRT_METRIC_GAUGE) {
          STRESS_CHECK(v >= last[id][w], "%s[%u] went back: %llu < %llu", d->name, w, (unsigned long long)v,
                       (unsigned long long)last[id][w]);
          last[id][w] = v;
        }
      }
    }
    api_reads++;
  }
  return NULL;
}

/* Sums polls and poll-time samples over the workers; always true. */
static bool totals(uint64_t *polls, uint64_t *hist) {
  *polls = *hist = 0;
  for (uint32_t w = 0; w < NWORKERS; w++) {
    uint64_t v, h;
    STRESS_OK(schedrt_metric_read(rt, SCHEDRT_M_polls, w, &v));
    STRESS_OK(schedrt_metric_read(rt, SCHEDRT_M_poll_time, w, &h));
    *polls += v;
    *hist += h;
  }
  return true;
}

/* ------------------------------------------------ phase 2: naming long polls */

#define NLONG 64
/* The first NWAIT long polls last until the reader has seen them named (at most
 * 10 s each), so that a loaded machine cannot make every sighting miss. */
#define NWAIT 4
static schedrt_runtime *rt2;
static _Atomic uint64_t long_ids[NLONG];
static _Atomic int long_seen[NLONG];
static _Atomic int long_done, churn_stop;
static unsigned long named_checked, named_other, api2_reads;
#define LONG_POLL_MS 3
static uint64_t long_polls_seen[NWORKERS];

static schedrt_poll long_fn(schedrt_task *t, void *arg) {
  uintptr_t i = (uintptr_t)arg;
  atomic_store(&long_ids[i], schedrt_task_id(t));
  if (i < NWAIT) {
    double end = stress_now() + 10.0;
    while (!atomic_load(&long_seen[i]) && stress_now() < end) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL); /* blocking the worker is the point */
    }
  } else {
    struct timespec ts = {0, (long)(1000000 + (i % 4) * 1000000)}; /* 1-4 ms in one poll */
    nanosleep(&ts, NULL);
  }
  atomic_fetch_add(&long_done, 1);
  return SCHEDRT_READY;
}

static schedrt_poll short_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

/* Keeps task records churning: spawned, completed, freed, reused. */
static schedrt_poll churn_fn(schedrt_task *t, void *arg) {
  (void)arg;
  for (int i = 0; i < 8; i++)
    if (schedrt_spawn(rt2, short_fn, NULL) != 0)
      break;
  if (atomic_load(&churn_stop))
    return SCHEDRT_READY;
  return schedrt_yield(t);
}

/* The spawn site the monitor must report for the long tasks. */
enum { LONG_SPAWN_LINE = __LINE__ + 2 };
static int spawn_long(uintptr_t i, const schedrt_spawn_opts *o) {
  return schedrt_spawn_ex(rt2, long_fn, (void *)i, o, NULL);
}

static void *naming_reader(void *arg) {
  (void)arg;
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_name(schedrt_metrics_segment(rt2), NULL, &r));
  schedrt_snapshot s;
  STRESS_OK(schedrt_snapshot_init(r, &s));
  while (atomic_load(&long_done) < NLONG) {
    int rc = schedrt_snapshot_take(r, SCHEDRT_SNAP_NO_LIVENESS, &s);
    STRESS_CHECK(rc == 0 || rc == SCHEDRT_ETORN, "take: %s", schedrt_strerror(rc));
    /* The monitor may publish while we read: its "since" can be later than
     * the snapshot's start, never later than its end. */
    struct timespec te;
    clock_gettime(CLOCK_MONOTONIC, &te);
    uint64_t end_ns = (uint64_t)te.tv_sec * 1000000000u + (uint64_t)te.tv_nsec;
    for (uint32_t w = 0; w < s.nworkers; w++) {
      const schedrt_worker_snap *x = &s.workers[w];
      if (x->torn)
        continue;
      STRESS_CHECK(x->long_polls >= long_polls_seen[w], "worker %u: long_polls went back", w);
      long_polls_seen[w] = x->long_polls;
      /* The length is stored before the count (release); loads in list order see it (acquire under
       * TSan; x86 keeps loads in order). */
      STRESS_CHECK(x->long_polls == 0 || x->last_long_poll_ns >= LONG_POLL_MS * 1000000ull,
                   "worker %u: %llu long polls, the latest seen for %llu ns", w,
                   (unsigned long long)x->long_polls, (unsigned long long)x->last_long_poll_ns);
      if (x->current_task == 0)
        continue;
      STRESS_CHECK(x->state == SCHEDRT_WSTATE_RUNNING, "named while %llu", (unsigned long long)x->state);
      unsigned i;
      if (sscanf(x->current_name, "long-%u", &i) == 1) {
        STRESS_CHECK(i < NLONG, "name %s", x->current_name);
        STRESS_CHECK(atomic_load(&long_ids[i]) == x->current_task, "%s named as task %llu, is %llu",
                     x->current_name, (unsigned long long)x->current_task,
                     (unsigned long long)atomic_load(&long_ids[i]));
        STRESS_CHECK(x->current_line == (uint32_t)LONG_SPAWN_LINE &&
                         strstr(x->current_file, "stress_metrics_live.c"),
                     "%s: site %s:%u", x->current_name, x->current_file, x->current_line);
        STRESS_CHECK(x->current_since_ns != 0 && x->current_since_ns <= end_ns, "since %llu > %llu",
                     (unsigned long long)x->current_since_ns, (unsigned long long)end_ns);
        named_checked++;
        atomic_store(&long_seen[i], 1);
      } else {
        named_other++; /* a short task or the churner that happened to run for a period */
      }
    }
  }
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  return NULL;
}

static void *naming_api(void *arg) {
  (void)arg;
  while (atomic_load(&long_done) < NLONG) {
    for (uint32_t w = 0; w < NWORKERS; w++) {
      uint64_t v;
      STRESS_OK(schedrt_metric_read(rt2, SCHEDRT_M_current_task, w, &v));
    }
    api2_reads++;
  }
  return NULL;
}

static void naming_phase(void) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = NWORKERS;
  cfg.name = "stress-naming";
  cfg.monitor_period_ms = 1;
  cfg.long_poll_ms = LONG_POLL_MS;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt2));
  STRESS_CHECK(schedrt_metrics_segment(rt2) != NULL, "no segment");
  pthread_t a, b;
  STRESS_CHECK(pthread_create(&a, NULL, naming_reader, NULL) == 0, "thread");
  STRESS_CHECK(pthread_create(&b, NULL, naming_api, NULL) == 0, "thread");
  STRESS_OK(schedrt_spawn(rt2, churn_fn, NULL));
  for (uintptr_t i = 0; i < NLONG; i++) {
    char name[24];
    snprintf(name, sizeof(name), "long-%u", (unsigned)i);
    schedrt_spawn_opts o = {.name = name};
    STRESS_OK(spawn_long(i, &o));
    if (i % 8 == 7) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
  }
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&long_done) == NLONG, 60.0);
  STRESS_CHECK(ok, "long tasks done: %d", atomic_load(&long_done));
  atomic_store(&churn_stop, 1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  schedrt_runtime_destroy(rt2);
  printf("naming: %lu snapshot sightings of named long polls checked, %lu of other tasks, %lu API sweeps, "
         "%llu long polls counted\n",
         named_checked, named_other, api2_reads,
         (unsigned long long)(long_polls_seen[0] + long_polls_seen[1]));
  for (unsigned i = 0; i < NWAIT; i++)
    STRESS_CHECK(atomic_load(&long_seen[i]), "the monitor never named long-%u in 10 s", i);
}

int main(void) {
  unsigned long ntasks = stress_count(20000, 2000);
  rt = stress_runtime_ex(NWORKERS, SCHEDRT_CFG_TIMING);
  STRESS_CHECK(schedrt_metrics_segment(rt) != NULL, "no segment");
  pthread_t a, b;
  STRESS_CHECK(pthread_create(&a, NULL, snapshot_thread, NULL) == 0, "thread");
  STRESS_CHECK(pthread_create(&b, NULL, api_thread, NULL) == 0, "thread");
  struct job *jobs = calloc(ntasks, sizeof(*jobs));
  for (unsigned long i = 0; i < ntasks; i++) {
    jobs[i].children = (int)(i % 3);
    STRESS_OK(schedrt_spawn(rt, job_fn, &jobs[i]));
  }
  unsigned long children = 0;
  for (unsigned long i = 0; i < ntasks; i++)
    children += i % 3;
  unsigned long want = ntasks + children;
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&done_tasks) == want, 120.0);
  STRESS_CHECK(ok, "done %lu of %lu", atomic_load(&done_tasks), want);
  /* Idle: everything published. polls = jobs x (yields + 1) + children. */
  uint64_t want_polls = ntasks * (yields_per_task + 1) + children;
  uint64_t polls = 0, hist = 0;
  STRESS_WAIT_UNTIL(ok, totals(&polls, &hist) && polls == want_polls && hist == want_polls, 10.0);
  STRESS_CHECK(ok, "polls %llu, poll_time samples %llu, want %llu", (unsigned long long)polls,
               (unsigned long long)hist, (unsigned long long)want_polls);
  uint64_t spawned;
  STRESS_OK(schedrt_metric_read(rt, SCHEDRT_M_spawned, 0, &spawned));
  STRESS_CHECK(spawned == want, "spawned %llu", (unsigned long long)spawned);
  atomic_store(&stop, 1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  schedrt_runtime_destroy(rt);
  free(jobs);
  printf("%lu tasks, %llu polls, %lu snapshots (%lu with a torn block) and %lu API sweeps taken meanwhile\n",
         want, (unsigned long long)polls, snapshots, torn_snapshots, api_reads);
  STRESS_CHECK(torn_snapshots * 10 <= snapshots, "too many torn snapshots");
  naming_phase();
  return STRESS_PASS;
}
