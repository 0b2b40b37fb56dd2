/*
 * The long-poll watch stops while every worker is parked and the first worker
 * to wake restarts it (metrics_monitor.c: the monitor's flag and second look
 * against the worker's fence and exchange). A wake-up lost between them
 * leaves the watch off while a worker polls. Each round waits until both
 * workers are parked, lets a random 0-2 ms pass (the watch samples every
 * 0.4 ms, so the monitor is caught at every point of stopping it), then runs
 * one poll that spins until the runtime counts it as long: with the watch off
 * it would spin to its 5 s bound, which fails the run. Sometimes a second,
 * empty task wakes the other worker at the same moment, so two wakers race
 * for the flag. Plain executable: exit 0 pass, 1 fail, 77 skip.
 */
#include <stdatomic.h>

#include "schedrt/proto/metrics_def.h"
#include "stress.h"

#define MS 1000000ull

static schedrt_runtime *rt;

static uint64_t read_metric(int id, uint32_t w) {
  uint64_t v = 0;
  STRESS_OK(schedrt_metric_read(rt, (size_t)id, w, &v));
  return v;
}

static uint64_t long_polls(void) {
  return read_metric(SCHEDRT_M_long_polls, 0) + read_metric(SCHEDRT_M_long_polls, 1);
}

static schedrt_poll spin_until_counted(schedrt_task *t, void *arg) {
  uint64_t *seen = arg, start = schedrt_now_ns();
  (void)t;
  while (long_polls() <= *seen)
    if (schedrt_now_ns() - start > 5000 * MS)
      return SCHEDRT_READY; /* the caller finds no count */
  return SCHEDRT_READY;
}

static schedrt_poll nothing(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

static void wait_parked(void) {
  uint64_t until = schedrt_now_ns() + 10000 * MS;
  while (read_metric(SCHEDRT_M_state, 0) != SCHEDRT_WSTATE_PARKED ||
         read_metric(SCHEDRT_M_state, 1) != SCHEDRT_WSTATE_PARKED)
    STRESS_CHECK(schedrt_now_ns() < until, "the workers did not park in 10 s");
}

int main(void) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "stress-watch";
  cfg.long_poll_ms = 2;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  if (!schedrt_metrics_segment(rt)) {
    printf("SKIP: no metrics segment (metrics off in this environment)\n");
    schedrt_runtime_destroy(rt);
    return STRESS_SKIP;
  }
  unsigned long rounds = stress_count(400, 200);
  uint64_t r = 11;
  for (unsigned long i = 0; i < rounds; i++) {
    wait_parked();
    struct timespec ts = {0, (long)(stress_rand(&r) % (2 * MS))};
    nanosleep(&ts, NULL);
    uint64_t seen = long_polls();
    schedrt_handle *h, *e = NULL;
    if (stress_rand(&r) & 1)
      STRESS_OK(schedrt_spawn_ex(rt, nothing, NULL, NULL, &e));
    STRESS_OK(schedrt_spawn_ex(rt, spin_until_counted, &seen, NULL, &h));
    STRESS_OK(schedrt_join(h, 20000 * MS, NULL));
    if (e)
      STRESS_OK(schedrt_join(e, 20000 * MS, NULL));
    STRESS_CHECK(long_polls() > seen, "round %lu: a 5 s poll after a quiet spell was never counted", i);
  }
  schedrt_runtime_destroy(rt);
  printf("stress_watch_wake: %lu rounds, every long poll after a quiet spell counted\n", rounds);
  return STRESS_PASS;
}
