/*
 * The blocking pool under shutdown races: every job either runs or is
 * dropped, exactly once; no task awaiting a job loses its wake-up; shutdown
 * frees everything (under ASan) and is race-free (under TSan).
 *
 * Phase "race" (rounds until 10^6 jobs were spawned, TSan or not):
 * each round creates a runtime with a small pool (1 to 8 threads, a
 * keep-alive of 1 to 20 ms so that threads retire and start while jobs
 * arrive) and starts
 *   spawner tasks  on the workers: each spawns a burst of fire-and-forget
 *                  jobs, then one job it awaits through its handle
 *                  (schedrt_handle_poll), round after round, until destroy
 *                  cancels it; it keeps spawning while destroy runs
 *   chains         a job spawns a follow-up job from its pool thread now
 *                  and then, also while destroy runs (-ESHUTDOWN then)
 *   a foreign thread  spawning jobs until just before destroy (threads that
 *                  are not the runtime's must stop before destroy)
 *   a dumper       every other round, task dumps in a loop (where built),
 *                  which read the jobs' records while they come and go
 * The round waits until every spawner task has completed a number of awaited
 * rounds (a lost wake-up stops one: the watchdog then fails the test), then
 * destroys the runtime in the middle of the activity. Afterwards jobs
 * spawned == jobs run + jobs dropped, and nothing ran or was dropped twice.
 *
 * Phase "abandon": jobs that sleep 0-30 ms against a 10 ms shutdown
 * deadline, with handles: a job cancelled at shutdown that never started is
 * dropped at once; one that was running (abandoned) is dropped exactly once,
 * after its function returned, on its own thread; one that completed is
 * never dropped.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "stress.h"

static _Atomic bool violation;
static char violation_msg[256];

static void fail_later(const char *msg) {
  if (!atomic_exchange(&violation, true))
    snprintf(violation_msg, sizeof(violation_msg), "%s", msg);
}

/* ------------------------------------------------------------ phase race */

#define MAGIC 0x6a6f62u
#define DEAD 0xdeadu

struct job {
  _Atomic uint32_t magic;
  _Atomic uint32_t runs, drops;
  bool chain; /* spawns a follow-up */
};

static schedrt_runtime *race_rt;
static _Atomic unsigned long spawned_ok, ran, dropped, chain_refused;

static void *job_fn(void *arg);
static void job_drop(void *arg);
static const schedrt_spawn_opts job_opts = {.name = "stress-job", .drop = job_drop};

/* Spawns one job; 0, or -ESHUTDOWN once destroy began (anything else fails). */
static int spawn_job(bool chain, schedrt_handle **h) {
  struct job *j = malloc(sizeof(*j));
  STRESS_CHECK(j, "malloc");
  atomic_init(&j->magic, MAGIC);
  atomic_init(&j->runs, 0);
  atomic_init(&j->drops, 0);
  j->chain = chain;
  int rc = schedrt_spawn_blocking_ex(race_rt, job_fn, j, &job_opts, h);
  if (rc) {
    STRESS_CHECK(rc == -ESHUTDOWN, "spawn_blocking: %s", schedrt_strerror(rc));
    free(j); /* the runtime took nothing */
    return rc;
  }
  atomic_fetch_add_explicit(&spawned_ok, 1, memory_order_relaxed);
  return 0;
}

/* The job's end, run or dropped: exactly one of them, once. */
static void job_settle(struct job *j) {
  if (atomic_load(&j->magic) != MAGIC)
    fail_later("a job settled twice (or was never spawned)");
  if (atomic_load(&j->runs) + atomic_load(&j->drops) != 1)
    fail_later("a job ran and was dropped, or ran twice");
  atomic_store(&j->magic, DEAD);
  free(j);
}

static void *job_fn(void *arg) {
  struct job *j = arg;
  atomic_fetch_add(&j->runs, 1);
  atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
  if (j->chain && spawn_job(false, NULL) != 0)
    atomic_fetch_add_explicit(&chain_refused, 1, memory_order_relaxed);
  job_settle(j);
  return &ran; /* the awaiting task checks it */
}

static void job_drop(void *arg) {
  struct job *j = arg;
  atomic_fetch_add(&j->drops, 1);
  atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
  job_settle(j);
}

enum { SPAWNERS = 6 };
struct spawner {
  schedrt_handle *h;
  unsigned rounds;
  uint64_t rng;
  _Atomic bool polling;
};
static struct spawner spawners[SPAWNERS];
static unsigned need_rounds, burst_max;
static sem_t progress;

static schedrt_poll spawner_fn(schedrt_task *t, void *arg) {
  struct spawner *s = arg;
  if (atomic_exchange(&s->polling, true))
    fail_later("a spawner polled concurrently");
  for (;;) {
    if (s->h) {
      void *r;
      if (schedrt_handle_poll(s->h, t, &r) == SCHEDRT_PENDING) {
        schedrt_await(t, "stress job");
        atomic_store(&s->polling, false);
        return SCHEDRT_PENDING;
      }
      schedrt_handle_release(s->h);
      s->h = NULL;
      if (r != (void *)&ran)
        fail_later("an awaited job's result went astray");
      if (++s->rounds == need_rounds)
        sem_post(&progress);
    }
    unsigned burst = (unsigned)(stress_rand(&s->rng) % (burst_max + 1));
    for (unsigned i = 0; i < burst; i++)
      if (spawn_job(stress_rand(&s->rng) % 8 == 0, NULL) != 0)
        break;
    if (spawn_job(false, &s->h) != 0) {
      atomic_store(&s->polling, false);
      return SCHEDRT_READY; /* destroy began: nothing more to await */
    }
  }
}

static void spawner_drop(void *arg) {
  struct spawner *s = arg;
  /* Cancelled at shutdown while it awaited a job: its handle is its own. */
  if (s->h)
    schedrt_handle_release(s->h);
  s->h = NULL;
}
static const schedrt_spawn_opts spawner_opts = {.name = "stress-spawner", .drop = spawner_drop};

static _Atomic bool foreign_stop;
/* Bursts like a spawner's, each ended by a job it joins: the queue stays bounded. */
static void *foreign_main(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&foreign_stop)) {
    unsigned burst = (unsigned)(stress_rand(&rng) % (burst_max + 1));
    for (unsigned i = 0; i < burst; i++)
      (void)spawn_job(stress_rand(&rng) % 8 == 0, NULL);
    schedrt_handle *h;
    if (spawn_job(false, &h) == 0) {
      void *r = NULL;
      STRESS_OK(schedrt_join(h, UINT64_MAX, &r));
      STRESS_CHECK(r == (void *)&ran, "a joined job's result went astray");
    }
  }
  return NULL;
}

/* Dumps into a memfd until told to stop: the dump walks jobs as they come and go. */
static unsigned long dumps_taken;
static void *dumper_main(void *arg) {
  (void)arg;
  int fd = memfd_create("stress-dump", MFD_CLOEXEC);
  STRESS_CHECK(fd >= 0, "memfd_create");
  while (!atomic_load(&foreign_stop)) {
    STRESS_CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "memfd reset");
    schedrt_dump_result res;
    int rc = schedrt_dump_fd(race_rt, fd, NULL, &res);
    STRESS_CHECK(rc == 0 || rc == -EBUSY, "dump: %s", schedrt_strerror(rc));
    if (rc == 0)
      dumps_taken++;
  }
  close(fd);
  return NULL;
}

static int phase_race(void) {
  /* At least this many rounds, and on until this many jobs were spawned. */
  unsigned long min_rounds = stress_count(20, 6), min_jobs = stress_count(1000000, 1000000), rounds;
  need_rounds = (unsigned)stress_count(30, 10);
  burst_max = 64;
  uint64_t rng = schedrt__seed();
  sem_init(&progress, 0, 0);
  unsigned long r;
  for (r = 0; r < min_rounds || atomic_load(&spawned_ok) < min_jobs; r++) {
    schedrt_config cfg;
    schedrt_config_init(&cfg);
    cfg.nworkers = 2;
    cfg.name = "stress-blocking";
    cfg.max_blocking_threads = 1 + (uint32_t)(stress_rand(&rng) % 8);
    cfg.blocking_keepalive_ms = 1 + (uint32_t)(stress_rand(&rng) % 20);
    cfg.blocking_shutdown_timeout_ms = 60000; /* nothing here outlasts it */
    STRESS_OK(schedrt_runtime_create(&cfg, &race_rt));
    atomic_store(&foreign_stop, false);
    pthread_t foreign, dumper;
    STRESS_CHECK(pthread_create(&foreign, NULL, foreign_main, (void *)(uintptr_t)stress_rand(&rng)) == 0,
                 "pthread_create");
    bool dumping = (r & 1) && (schedrt_features() & SCHEDRT_FEATURE_TASKDUMP);
    if (dumping)
      STRESS_CHECK(pthread_create(&dumper, NULL, dumper_main, NULL) == 0, "pthread_create");
    for (unsigned i = 0; i < SPAWNERS; i++) {
      memset(&spawners[i], 0, sizeof(spawners[i]));
      spawners[i].rng = stress_rand(&rng);
      STRESS_OK(schedrt_spawn_ex(race_rt, spawner_fn, &spawners[i], &spawner_opts, NULL));
    }
    for (unsigned i = 0; i < SPAWNERS; i++)
      STRESS_CHECK(stress_sem_wait(&progress, 120.0),
                   "round %lu: a spawner task stopped making progress "
                   "(a lost wake-up?)",
                   r);
    atomic_store(&foreign_stop, true);
    pthread_join(foreign, NULL);
    if (dumping)
      pthread_join(dumper, NULL);
    schedrt_runtime_destroy(race_rt);
    race_rt = NULL;
    STRESS_CHECK(!atomic_load(&violation), "round %lu: %s", r, violation_msg);
    unsigned long s = atomic_load(&spawned_ok), a = atomic_load(&ran), d = atomic_load(&dropped);
    STRESS_CHECK(s == a + d, "round %lu: %lu jobs spawned, %lu ran, %lu dropped", r, s, a, d);
  }
  rounds = r;
  printf("race: %lu rounds, %lu jobs (%lu ran, %lu dropped at shutdown, %lu chained spawns refused), %lu "
         "dumps\n",
         rounds, atomic_load(&spawned_ok), atomic_load(&ran), atomic_load(&dropped),
         atomic_load(&chain_refused), dumps_taken);
  sem_destroy(&progress);
  return STRESS_PASS;
}

/* ------------------------------------------------------------ phase abandon */

struct ajob {
  _Atomic bool started, returned;
  _Atomic unsigned drops;
  unsigned sleep_us;
  schedrt_handle *h;
};

static void *ajob_fn(void *arg) {
  struct ajob *j = arg;
  atomic_store(&j->started, true);
  if (atomic_load(&j->drops))
    fail_later("an abandon job started after it was dropped");
  struct timespec ts = {0, (long)j->sleep_us * 1000};
  nanosleep(&ts, NULL);
  atomic_store(&j->returned, true);
  return j;
}

static void ajob_drop(void *arg) {
  struct ajob *j = arg;
  if (atomic_load(&j->started) && !atomic_load(&j->returned))
    fail_later("an abandoned job was dropped while its function ran");
  if (atomic_fetch_add(&j->drops, 1))
    fail_later("an abandon job was dropped twice");
}
static const schedrt_spawn_opts ajob_opts = {.name = "stress-abandon", .drop = ajob_drop};

static int phase_abandon(void) {
  enum { JOBS = 16 };
  unsigned long rounds = stress_count(20, 8);
  /* Freed at the end: by then every drop the checks wait for has come, and
   * nothing else touches a job's state after its function returned. */
  struct ajob *all = calloc(rounds * JOBS, sizeof(*all));
  STRESS_CHECK(all, "calloc");
  uint64_t rng = schedrt__seed();
  unsigned long abandoned = 0, queued = 0, done = 0;
  for (unsigned long r = 0; r < rounds; r++) {
    schedrt_config cfg;
    schedrt_config_init(&cfg);
    cfg.nworkers = 1;
    cfg.name = "stress-abandon";
    cfg.max_blocking_threads = 4;
    cfg.blocking_shutdown_timeout_ms = 10;
    schedrt_runtime *rt;
    STRESS_OK(schedrt_runtime_create(&cfg, &rt));
    struct ajob *js = all + r * JOBS;
    for (unsigned i = 0; i < JOBS; i++) {
      js[i].sleep_us = (unsigned)(stress_rand(&rng) % 30000);
      STRESS_OK(schedrt_spawn_blocking_ex(rt, ajob_fn, &js[i], &ajob_opts, &js[i].h));
    }
    struct timespec ts = {0, (long)(stress_rand(&rng) % 5000) * 1000};
    nanosleep(&ts, NULL);
    schedrt_runtime_destroy(rt);
    for (unsigned i = 0; i < JOBS; i++) {
      struct ajob *j = &js[i];
      schedrt_task *t = (schedrt_task *)j->h;
      /* White-box: the handle's record outlives the runtime; its state says
       * how the job ended. */
      uint32_t s = atomic_load(&t->state);
      STRESS_CHECK(s & SCHEDRT_TS_COMPLETE, "round %lu job %u: not complete after destroy", r, i);
      bool cancelled = s & SCHEDRT_TS_CANCELLED;
      bool ok;
      if (!cancelled) {
        STRESS_CHECK(atomic_load(&j->returned) && !atomic_load(&j->drops), "round %lu job %u: completed", r,
                     i);
        done++;
      } else if (!atomic_load(&j->started)) {
        STRESS_CHECK(atomic_load(&j->drops) == 1, "round %lu job %u: queued, not dropped", r, i);
        queued++;
      } else {
        /* Abandoned: dropped on its own thread once its function returns. */
        STRESS_WAIT_UNTIL(ok, atomic_load(&j->drops) == 1, 10.0);
        STRESS_CHECK(ok, "round %lu job %u: abandoned, never dropped", r, i);
        abandoned++;
      }
      schedrt_handle_release(j->h);
    }
    STRESS_CHECK(!atomic_load(&violation), "round %lu: %s", r, violation_msg);
  }
  printf("abandon: %lu rounds: %lu jobs completed, %lu dropped while queued, %lu abandoned\n", rounds, done,
         queued, abandoned);
  free(all);
  return STRESS_PASS;
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  const char *only = argc > 1 ? argv[1] : NULL;
  int rc = STRESS_PASS;
  if (!only || strcmp(only, "race") == 0)
    rc |= phase_race();
  if (!only || strcmp(only, "abandon") == 0)
    rc |= phase_abandon();
  return rc;
}
