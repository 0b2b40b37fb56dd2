/*
 * dump-bench: what a task dump costs with 10k, 100k and 1M idle tasks.
 *   pause       time the workers were held together (the copy), from the result
 *   end-to-end  schedrt_dump_path() until the file is complete and linked
 * The targets (docs/dump-format.md): pause < 50 ns/task, end-to-end < 300 ns/task.
 *
 * usage: dump-bench [--dir DIR] [--workers N] [--runs R] [--outside] [COUNT...]
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
#include <unistd.h>

#include "schedrt.h"

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

static int run(unsigned long n, unsigned workers, unsigned runs, bool outside, const char *dir) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = workers;
  cfg.name = "dump-bench";
  cfg.dump_timeout_ms = 5000;
  schedrt_runtime *rt;
  int rc = schedrt_runtime_create(&cfg, &rt);
  if (rc) {
    fprintf(stderr, "dump-bench: create: %s\n", schedrt_strerror(rc));
    return 1;
  }
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

int main(int argc, char **argv) {
  const char *dir = "/dev/shm";
  unsigned workers = 2, runs = 5;
  bool outside = false;
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
    else if (ncounts < 16 && atol(argv[i]) > 0)
      counts[ncounts++] = (unsigned long)atol(argv[i]);
    else {
      fprintf(stderr, "usage: %s [--dir DIR] [--workers N] [--runs R] [--outside] [COUNT...]\n", argv[0]);
      return 2;
    }
  }
  if (runs == 0 || runs > 64)
    runs = 5;
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
