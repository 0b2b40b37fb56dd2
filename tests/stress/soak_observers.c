/*
 * Soak (issue 9, item 6): a runtime under heavy spawn load, first alone, then
 * observed the way sched-inspect observes it, through its published segment:
 * one thread asks for dumps through the control page as fast as they are
 * accepted (and collects and decodes each), another takes a segment snapshot
 * at 100 Hz. Counts tasks spawned and run (none may be lost or run twice),
 * dumps by status, snapshots, and the throughput with and without observers.
 *
 *   SOAK_SECONDS=30 (per phase; the default, 10 under TSan)   soak_observers
 *   SOAK_SECONDS=600 build/release/tests/soak_observers       a longer run
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../unit/test_dump_util.h"
#include "schedrt/dump_read.h"
#include "schedrt/proto/control.h"
#include "schedrt/reader.h"
#include "stress.h"

#define SEC 1000000000ull
#define IN_FLIGHT 20000u /* alive tasks at most: a dump copies all of them */

static schedrt_runtime *rt;
static _Atomic uint64_t spawned, ran, polled_twice;
static _Atomic int stop_spawning, stop_observing;

static schedrt_poll task_fn(schedrt_task *t, void *arg);

/* A task's own byte: only its polls touch it, one at a time. */
static int spawn_one(void) {
  unsigned char *st = calloc(1, 1);
  if (!st)
    return -ENOMEM;
  atomic_fetch_add(&spawned, 1);
  int rc = schedrt_spawn(rt, task_fn, st);
  if (rc) {
    atomic_fetch_sub(&spawned, 1);
    free(st);
  }
  return rc;
}

static schedrt_poll task_fn(schedrt_task *t, void *arg) {
  unsigned char *st = arg;
  /* First poll: yield once (the task goes through a queue again), then done;
   * every eighth task spawns a child from inside (a worker's own queues). */
  if (*st == 0) {
    *st = 1;
    schedrt_await(t, "soak yield");
    return schedrt_yield(t);
  }
  STRESS_CHECK(*st == 1, "a task polled after it completed");
  *st = 2;
  free(st);
  atomic_fetch_add(&polled_twice, 1);
  uint64_t n = atomic_fetch_add(&ran, 1);
  if (n % 8 == 0 && !atomic_load(&stop_spawning))
    (void)spawn_one();
  return SCHEDRT_READY;
}

static void *spawner_main(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_spawning)) {
    if (atomic_load(&spawned) - atomic_load(&ran) > IN_FLIGHT || spawn_one() != 0)
      sched_yield();
  }
  return NULL;
}

/* -------------------------------------------------------------- observers */

struct dumper {
  struct schedrt_ctl *c;
  uint32_t uid;
  unsigned by_status[16];
  unsigned submit_busy, decoded, tasks_max;
};

static void *dumper_main(void *arg) {
  struct dumper *d = arg;
  while (!atomic_load(&stop_observing)) {
    uint32_t seq;
    uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
    int rc = schedrt_ctl_submit(d->c, SCHEDRT_CTL_KIND_DUMP, 250, "soak", 0, &seq, nonce);
    if (rc == -EBUSY) {
      d->submit_busy++;
      usleep(1000);
      continue;
    }
    STRESS_OK(rc);
    schedrt_ctl_answer a;
    STRESS_OK(schedrt_ctl_wait(d->c, seq, nonce, 30 * SEC, &a));
    d->by_status[a.status < 16 ? a.status : 15]++;
    if (a.status == SCHEDRT_DUMP_OK || a.status == SCHEDRT_DUMP_PARTIAL) {
      void *buf;
      size_t len;
      STRESS_OK(schedrt_ctl_collect(NULL, a.object, d->uid, &buf, &len));
      schedrt_dump_doc *doc;
      char err[256];
      /* The decoder also refuses a task listed twice. */
      rc = schedrt_dump_parse_ex(buf, len, 0, &doc, err, sizeof(err));
      STRESS_CHECK(rc == 0, "dump %u does not decode: %s", d->decoded, err);
      if (doc->ntasks > d->tasks_max)
        d->tasks_max = (unsigned)doc->ntasks;
      d->decoded++;
      schedrt_dump_doc_free(doc);
      free(buf);
    }
  }
  return NULL;
}

struct statter {
  schedrt_reader *r;
  unsigned snaps, torn;
};

static void *statter_main(void *arg) {
  struct statter *s = arg;
  schedrt_snapshot snap;
  STRESS_OK(schedrt_snapshot_init(s->r, &snap));
  uint64_t next = tdu_now();
  while (!atomic_load(&stop_observing)) {
    int rc = schedrt_snapshot_take(s->r, SCHEDRT_SNAP_HISTOGRAMS, &snap);
    STRESS_CHECK(rc == 0 || rc == SCHEDRT_ETORN, "snapshot: %s", schedrt_strerror(rc));
    s->snaps++;
    s->torn += rc == SCHEDRT_ETORN;
    next += 10000000ull; /* 100 Hz */
    uint64_t now = tdu_now();
    if (next > now)
      usleep((useconds_t)((next - now) / 1000u));
  }
  schedrt_snapshot_fini(&snap);
  return NULL;
}

/* One phase: spawn for `seconds`, observed or not; returns tasks run per second. */
static double phase(unsigned seconds, struct dumper *dp, struct statter *sp) {
  pthread_t sp_th, d_th, s_th;
  atomic_store(&stop_spawning, 0);
  atomic_store(&stop_observing, 0);
  uint64_t ran0 = atomic_load(&ran), t0 = tdu_now();
  STRESS_CHECK(pthread_create(&sp_th, NULL, spawner_main, NULL) == 0, "spawner");
  if (dp) {
    STRESS_CHECK(pthread_create(&d_th, NULL, dumper_main, dp) == 0, "dumper");
    STRESS_CHECK(pthread_create(&s_th, NULL, statter_main, sp) == 0, "statter");
  }
  while (tdu_now() - t0 < (uint64_t)seconds * SEC)
    usleep(100000);
  uint64_t ran1 = atomic_load(&ran), t1 = tdu_now();
  atomic_store(&stop_observing, 1);
  if (dp) {
    pthread_join(d_th, NULL);
    pthread_join(s_th, NULL);
  }
  atomic_store(&stop_spawning, 1);
  pthread_join(sp_th, NULL);
  /* Drain: everything spawned runs, exactly once. */
  uint64_t until = tdu_now() + 60 * SEC;
  while (atomic_load(&ran) != atomic_load(&spawned)) {
    STRESS_CHECK(tdu_now() < until, "lost tasks: spawned %llu, ran %llu",
                 (unsigned long long)atomic_load(&spawned), (unsigned long long)atomic_load(&ran));
    usleep(1000);
  }
  return (double)(ran1 - ran0) / ((double)(t1 - t0) / 1e9);
}

int main(void) {
  const char *env = getenv("SOAK_SECONDS");
  unsigned seconds = env ? (unsigned)atoi(env) : (STRESS_TSAN ? 10u : 30u);
  if (seconds == 0)
    seconds = 1;
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "soak";
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  const char *name = schedrt_metrics_segment(rt);
  if (!name) {
    fprintf(stderr, "soak: no published segment (SCHEDRT_METRICS=0?): skipped\n");
    schedrt_runtime_destroy(rt);
    return STRESS_SKIP;
  }
  /* What sched-inspect does: open the segment by pid, map its control page writable. */
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_pid(getpid(), NULL, &r));
  const schedrt_segment_info *in = schedrt_reader_info(r);
  int fd = open(in->path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  STRESS_CHECK(fd >= 0, "open %s", in->path);
  struct schedrt_ctl *c = mmap(NULL, in->ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, in->ctl_off);
  STRESS_CHECK(c != MAP_FAILED, "mmap control page");
  close(fd);
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load(&c->state) != SCHEDRT_CTL_STATE_SERVED)
    STRESS_CHECK(tdu_now() < until, "the control page is served");

  double alone = phase(seconds, NULL, NULL);
  struct dumper d = {.c = c, .uid = in->uid};
  struct statter s = {.r = r};
  double observed = phase(seconds, &d, &s);

  printf("soak: %u s per phase, 2 workers, up to %u tasks alive\n", seconds, IN_FLIGHT);
  printf("soak: tasks spawned %llu, run %llu, lost 0, run twice 0\n",
         (unsigned long long)atomic_load(&spawned), (unsigned long long)atomic_load(&ran));
  printf("soak: throughput alone %.0f tasks/s, observed %.0f tasks/s (%.1f %%)\n", alone, observed,
         alone > 0 ? 100.0 * observed / alone : 0.0);
  printf("soak: dumps OK %u, PARTIAL %u, BUSY %u, other %u (submit found the page busy %u times); "
         "%u decoded, up to %u tasks each\n",
         d.by_status[SCHEDRT_DUMP_OK], d.by_status[SCHEDRT_DUMP_PARTIAL], d.by_status[SCHEDRT_DUMP_BUSY],
         d.by_status[SCHEDRT_DUMP_FAILED] + d.by_status[SCHEDRT_DUMP_REJECTED], d.submit_busy, d.decoded,
         d.tasks_max);
  printf("soak: snapshots %u at 100 Hz (%u torn)\n", s.snaps, s.torn);
  STRESS_CHECK(atomic_load(&polled_twice) == atomic_load(&ran), "every task completed on its second poll");
  STRESS_CHECK(d.decoded > 0, "at least one dump was taken");
  STRESS_CHECK(d.by_status[SCHEDRT_DUMP_FAILED] == 0 && d.by_status[SCHEDRT_DUMP_REJECTED] == 0,
               "no dump FAILED or REJECTED");
  STRESS_CHECK(s.snaps > 0, "snapshots were taken");
  /* For docs/reliability.md (scripts/reliability.sh), once every check passed. */
  fprintf(stderr,
          "RELIABILITY|soak: tasks spawned under load, %u s alone then %u s observed|%llu|"
          "all run exactly once, 0 lost; throughput observed %.1f %% of alone\n",
          seconds, seconds, (unsigned long long)atomic_load(&ran),
          alone > 0 ? 100.0 * observed / alone : 0.0);
  fprintf(stderr,
          "RELIABILITY|soak: dumps requested through the control page as fast as accepted|%u|"
          "%u OK, %u PARTIAL, %u BUSY, 0 FAILED; each decoded, no task listed twice\n",
          d.decoded + d.by_status[SCHEDRT_DUMP_BUSY], d.by_status[SCHEDRT_DUMP_OK],
          d.by_status[SCHEDRT_DUMP_PARTIAL], d.by_status[SCHEDRT_DUMP_BUSY]);
  fprintf(stderr,
          "RELIABILITY|soak: segment snapshots at 100 Hz during the dumps|%u|%u torn (retried next time), no "
          "error\n",
          s.snaps, s.torn);
  munmap(c, in->ctl_size);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
  return STRESS_PASS;
}
