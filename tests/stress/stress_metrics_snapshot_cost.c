/*
 * Cost of one reader snapshot of a 64-worker segment (target: under 10 us).
 * Prints the median and 99th percentile of
 *   - a snapshot without process checks (what a refreshing inspector pays
 *     per frame after the first; SCHEDRT_SNAP_NO_LIVENESS),
 *   - the same with the histograms,
 *   - a snapshot with the liveness checks (flock probe, kill, /proc read).
 * Asserts the first against 10 us in optimised builds without sanitizers.
 * Used by scripts/bench-metrics.sh. Plain executable: exit 0 pass, 1 fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"
#include "stress.h"

#define NWORKERS 64

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void measure(schedrt_reader *r, unsigned flags, unsigned n, const char *what, uint64_t *median) {
  schedrt_snapshot s;
  STRESS_OK(schedrt_snapshot_init(r, &s));
  uint64_t *t = calloc(n, sizeof(*t));
  for (unsigned i = 0; i < n; i++) {
    uint64_t t0 = fixture_now_ns();
    int rc = schedrt_snapshot_take(r, flags, &s);
    t[i] = fixture_now_ns() - t0;
    STRESS_CHECK(rc == 0, "take: %s", schedrt_strerror(rc));
  }
  STRESS_CHECK(s.nworkers == NWORKERS && s.workers[63].polls == 63 * 1000, "values");
  qsort(t, n, sizeof(*t), cmp_u64);
  printf("snapshot %-28s 64 workers: median %6.2f us, p99 %6.2f us (%u samples)\n", what, t[n / 2] / 1e3,
         t[n * 99 / 100] / 1e3, n);
  *median = t[n / 2];
  free(t);
  schedrt_snapshot_fini(&s);
}

int main(void) {
  char dir[128];
  struct shm_fixture fx;
  STRESS_OK(fixture_dir_create(dir, sizeof(dir)));
  STRESS_OK(fixture_segment_create(dir, NWORKERS, 0, 0, 0, &fx));
  /* The worst case: every worker running a poll the monitor named, so each
   * snapshot reads both halves of every slot, strings included. */
  for (uint32_t w = 0; w < NWORKERS; w++) {
    struct schedrt_shm_wslot *sl = fixture_slot(&fx, w);
    fixture_write_worker(sl, 1u, (uint64_t)w * 1000, w);
    fixture_write_monitor(sl, (uint64_t)w * 1000, 1, (uint64_t)w + 1, "a-task-name", "src/server/accept.c",
                          42);
  }
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_path(fx.path, NULL, &r));
  unsigned n = (unsigned)stress_count(20000, 2000);
  uint64_t plain, with_hist, with_live;
  measure(r, SCHEDRT_SNAP_NO_LIVENESS, n, "(no process checks)", &plain);
  measure(r, SCHEDRT_SNAP_NO_LIVENESS | SCHEDRT_SNAP_HISTOGRAMS, n, "+ histograms", &with_hist);
  measure(r, 0, n / 10 ? n / 10 : 1, "+ liveness checks", &with_live);
  schedrt_reader_close(r);
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
#if defined(__OPTIMIZE__) && !STRESS_TSAN && !defined(__SANITIZE_ADDRESS__)
  STRESS_CHECK(plain < 10000, "a 64-worker snapshot took %.2f us (target < 10 us)", plain / 1e3);
#endif
  (void)with_hist;
  (void)with_live;
  return STRESS_PASS;
}
