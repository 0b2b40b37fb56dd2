/*
 * dump-bench: what a task dump costs with 10k, 100k and 1M idle tasks.
 *   pause       time the workers were held together (the copy), from the result
 *   end-to-end  schedrt_dump_path() until the file is complete and linked
 * The targets (docs/dump-format.md): pause < 50 ns/task, end-to-end < 300 ns/task.
 *
 * With --blocked MS, one worker is stuck in polls of MS ms (the monitor has
 * named the poll) while the others run a yielding task: for each dump, how
 * long the healthy workers were held (held_ns in the dump) and how many polls
 * they made while the dump was taken, against the same span just before it.
 *
 * usage: dump-bench [--dir DIR] [--workers N] [--runs R] [--outside] [--blocked MS] [COUNT...]
 *   DIR defaults to /dev/shm (where the runtime puts dumps for sched-inspect);
 *   --outside spawns from the main thread (16 shared shards of the alive
 *   list) instead of from one task (one worker's shard).
 * Numbers need an optimised build (the release preset).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/dump_read.h"

static atomic_ulong polled;

static schedrt_poll idle_task(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_await(t, "idle");
  atomic_fetch_add_explicit(&polled, 1, memory_order_relaxed);
  return SCHEDRT_PENDING;
}

struct spawner {
  schedrt_runtime *rt;
  unsigned long n;
  int rc;
};

static schedrt_poll spawn_all(schedrt_task *t, void *arg) {
  (void)t;
  struct spawner *s = arg;
  for (unsigned long i = 0; i < s->n && !s->rc; i++)
    s->rc = schedrt_spawn(s->rt, idle_task, NULL);
  return SCHEDRT_READY;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static schedrt_runtime *make_runtime(unsigned workers) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = workers;
  cfg.name = "dump-bench";
  cfg.dump_timeout_ms = 5000;
  schedrt_runtime *rt;
  int rc = schedrt_runtime_create(&cfg, &rt);
  if (rc) {
    fprintf(stderr, "dump-bench: create: %s\n", schedrt_strerror(rc));
    return NULL;
  }
  return rt;
}

static int run(unsigned long n, unsigned workers, unsigned runs, bool outside, const char *dir) {
  schedrt_runtime *rt = make_runtime(workers);
  int rc = 0;
  if (!rt)
    return 1;
  atomic_store(&polled, 0);
  if (outside) {
    for (unsigned long i = 0; i < n && !rc; i++)
      rc = schedrt_spawn(rt, idle_task, NULL);
  } else {
    struct spawner s = {rt, n, 0};
    schedrt_handle *h;
    if (!(rc = schedrt_spawn_ex(rt, spawn_all, &s, NULL, &h)))
      rc = schedrt_join(h, UINT64_MAX, NULL);
    if (!rc)
      rc = s.rc;
  }
  while (!rc && atomic_load(&polled) < n)
    usleep(1000); /* every task polled once: all idle */
  uint64_t pause[64], e2e[64], bytes = 0;
  char path[4096];
  for (unsigned r = 0; r < runs && !rc; r++) {
    snprintf(path, sizeof(path), "%s/dump-bench.%d.%u.cbor", dir, (int)getpid(), r);
    schedrt_dump_result res;
    uint64_t t0 = schedrt_now_ns();
    rc = schedrt_dump_path(rt, path, NULL, &res);
    e2e[r] = schedrt_now_ns() - t0;
    unlink(path);
    if (!rc && res.status != SCHEDRT_DUMP_OK)
      rc = -EAGAIN;
    if (!rc && res.tasks != n)
      rc = -EPROTO;
    pause[r] = res.pause_ns;
    bytes = res.bytes;
  }
  schedrt_runtime_destroy(rt);
  if (rc) {
    fprintf(stderr, "dump-bench: %lu tasks: %s\n", n, schedrt_strerror(rc));
    return 1;
  }
  qsort(pause, runs, sizeof(pause[0]), cmp_u64);
  qsort(e2e, runs, sizeof(e2e[0]), cmp_u64);
  uint64_t pm = pause[runs / 2], em = e2e[runs / 2];
  printf(
      "%9lu tasks  pause %8.2f ms (%5.1f ns/task, min %5.1f)  end-to-end %8.2f ms (%6.1f ns/task, min %6.1f)"
      "  %6.1f MB\n",
      n, pm / 1e6, (double)pm / n, (double)pause[0] / n, em / 1e6, (double)em / n, (double)e2e[0] / n,
      bytes / 1e6);
  return 0;
}

/* ------------------------------------------------- a worker that is blocked */

static atomic_ulong ticks;
static atomic_int stop_all;
static uint64_t block_ns;

static schedrt_poll ticker(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_load(&stop_all))
    return SCHEDRT_READY;
  atomic_fetch_add_explicit(&ticks, 1, memory_order_relaxed);
  return schedrt_yield(t);
}

static schedrt_poll blocker(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_load(&stop_all))
    return SCHEDRT_READY;
  uint64_t end = schedrt_now_ns() + block_ns;
  while (schedrt_now_ns() < end && !atomic_load(&stop_all)) {
  }
  return schedrt_yield(t);
}

static int run_blocked(unsigned workers, unsigned runs, unsigned ms, const char *dir) {
  schedrt_runtime *rt = make_runtime(workers);
  if (!rt)
    return 1;
  block_ns = (uint64_t)ms * 1000000u;
  schedrt_handle *hb, *ht[64];
  unsigned nt = workers - 1 < 64 ? workers - 1 : 64;
  int rc = schedrt_spawn_ex(rt, blocker, NULL, NULL, &hb);
  for (unsigned i = 0; i < nt && !rc; i++)
    rc = schedrt_spawn_ex(rt, ticker, NULL, NULL, &ht[i]);
  /* Long enough for the monitor to have seen the blocked poll (a period, 100 ms). */
  usleep(300000);
  printf("dump-bench: %u workers, one blocked in %u ms polls, %u yielding tasks on the others, %u dumps "
         "(deadline 5000 ms)\n",
         workers, ms, nt, runs);
  for (unsigned r = 0; r < runs && !rc; r++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/dump-bench.%d.%u.cbor", dir, (int)getpid(), r);
    schedrt_dump_result res;
    /* Polls in a span as long as the dump's, just before it: the baseline. */
    unsigned long b0 = atomic_load(&ticks);
    uint64_t t0 = schedrt_now_ns();
    rc = schedrt_dump_path(rt, path, NULL, &res);
    uint64_t took = schedrt_now_ns() - t0;
    unsigned long during = atomic_load(&ticks) - b0;
    unsigned long a0 = atomic_load(&ticks);
    struct timespec same = {(time_t)(took / 1000000000u), (long)(took % 1000000000u)};
    nanosleep(&same, NULL);
    unsigned long after = atomic_load(&ticks) - a0;
    schedrt_dump_doc *d = NULL;
    if (!rc)
      rc = schedrt_dump_load(path, &d);
    unlink(path);
    if (rc)
      break;
    uint64_t held = 0;
    for (size_t i = 0; i < d->nworkers_listed; i++)
      if (d->workers[i].role != SCHEDRT_DUMP_ROLE_MISSING && d->workers[i].held_ns > (int64_t)held)
        held = (uint64_t)d->workers[i].held_ns;
    printf("  %s  dump %7.3f ms  healthy held at most %7.3f ms (copy %6.3f ms, %llu round%s)  polls during "
           "the dump %lu, in as long after %lu\n",
           schedrt_dump_status_name(res.status), took / 1e6, held / 1e6, res.pause_ns / 1e6,
           (unsigned long long)d->gather_rounds, d->gather_rounds == 1 ? "" : "s", during, after);
    schedrt_dump_doc_free(d);
  }
  atomic_store(&stop_all, 1);
  int jrc = schedrt_join(hb, UINT64_MAX, NULL);
  for (unsigned i = 0; i < nt; i++)
    jrc |= schedrt_join(ht[i], UINT64_MAX, NULL);
  if (!rc)
    rc = jrc;
  schedrt_runtime_destroy(rt);
  if (rc) {
    fprintf(stderr, "dump-bench: blocked: %s\n", schedrt_strerror(rc));
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *dir = "/dev/shm";
  unsigned workers = 2, runs = 5;
  bool outside = false;
  unsigned blocked_ms = 0;
  unsigned long counts[16];
  int ncounts = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
      workers = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--outside"))
      outside = true;
    else if (!strcmp(argv[i], "--blocked") && i + 1 < argc)
      blocked_ms = (unsigned)atoi(argv[++i]);
    else if (ncounts < 16 && atol(argv[i]) > 0)
      counts[ncounts++] = (unsigned long)atol(argv[i]);
    else {
      fprintf(stderr,
              "usage: %s [--dir DIR] [--workers N] [--runs R] [--outside] [--blocked MS] [COUNT...]\n",
              argv[0]);
      return 2;
    }
  }
  if (runs == 0 || runs > 64)
    runs = 5;
  if (blocked_ms)
    return workers >= 2 ? run_blocked(workers, runs, blocked_ms, dir) : 2;
  if (ncounts == 0) {
    counts[0] = 10000;
    counts[1] = 100000;
    counts[2] = 1000000;
    ncounts = 3;
  }
  printf("dump-bench: %u workers, median of %u dumps, spawned from %s, files in %s\n", workers, runs,
         outside ? "outside" : "a task", dir);
  int status = 0;
  for (int i = 0; i < ncounts; i++)
    status |= run(counts[i], workers, runs, outside, dir);
  return status;
}
