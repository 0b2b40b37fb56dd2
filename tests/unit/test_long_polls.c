/*
 * Long polls without SCHEDRT_TIMING (issue 16 item 1): the monitor samples
 * the workers' poll sequences every long_poll_ms / 5 and counts a poll in the
 * worker metric long_polls once it saw it running for long_poll_ms; the
 * threshold and the sampling period are in the segment's header (layout 2.4).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics_util.h"
#include "schedrt.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/reader.h"
#include "stress.h"

#define MS 1000000ull
/* What the monitor may see of a poll beyond its function's run: the worker's completion of the task
 * until it clears `current`, preempted on a loaded machine (a run of parallel tests saw 2.4 ms). */
#define POLL_END_SLACK_NS (50 * MS)

static schedrt_runtime *make_rt(uint32_t long_poll_ms) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "long-polls";
  cfg.long_poll_ms = long_poll_ms;
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "create: %s", schedrt_strerror(rc));
  return rt;
}

static uint64_t long_polls(schedrt_runtime *rt) {
  uint64_t s = 0;
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(rt); w++)
    s += metric(rt, SCHEDRT_M_long_polls, w);
  return s;
}

/* A task that spins in one poll: until the runtime counted a long poll
 * (until_counted), or for spin_ns; it says how long the poll ran. */
struct spinner {
  schedrt_runtime *rt;
  uint64_t spin_ns;
  int until_counted;
  uint64_t ran_ns;
  int counted; /* the count moved while the poll ran */
};

static schedrt_poll spin_fn(schedrt_task *task, void *arg) {
  struct spinner *s = arg;
  (void)task;
  uint64_t start = schedrt_now_ns(), now = start;
  if (s->until_counted) {
    /* Bounded: 10 s without a count is a failure the test reports. */
    while (!(s->counted = long_polls(s->rt) > 0) && now - start < 10000 * MS)
      now = schedrt_now_ns();
  } else {
    while (now - start < s->spin_ns)
      now = schedrt_now_ns();
  }
  s->ran_ns = schedrt_now_ns() - start;
  return SCHEDRT_READY;
}

static void run(schedrt_runtime *rt, schedrt_task_fn fn, void *arg) {
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, fn, arg, &(schedrt_spawn_opts){.name = "spinner"}, &h), 0);
  cr_assert_eq(schedrt_join(h, 20000 * MS, NULL), 0);
}

/* A poll that outlasts the threshold is counted while it still runs, in its worker's slot and nowhere
 * else, with the length the monitor saw; the header says the threshold and the sampling period. */
Test(long_polls, a_long_poll_is_counted_while_it_runs) {
  schedrt_runtime *rt = make_rt(0);
  schedrt_reader *r = open_own_segment(rt);
  const schedrt_segment_info *in = schedrt_reader_info(r);
  cr_assert_geq(in->layout_minor, 4);
  cr_assert_eq(in->long_poll_ms, 10, "the default threshold");
  cr_assert_eq(in->long_poll_watch_us, 2000, "a fifth of it");
  cr_assert_eq(long_polls(rt), 0);

  struct spinner s = {.rt = rt, .until_counted = 1};
  run(rt, spin_fn, &s);
  cr_assert(s.counted, "no long poll counted in %llu ms of one poll", (unsigned long long)(s.ran_ns / MS));
  cr_assert_geq(s.ran_ns, 10 * MS, "counted after %llu us, before the threshold",
                (unsigned long long)(s.ran_ns / 1000));
  cr_assert_eq(long_polls(rt), 1, "one poll, counted once");

  uint32_t w = metric(rt, SCHEDRT_M_long_polls, 0) == 1 ? 0 : 1;
  uint64_t last = metric(rt, SCHEDRT_M_last_long_poll_ns, w);
  cr_assert_geq(last, 10 * MS);
  /* Seen between two samples inside the poll: as long as the poll and the worker's bookkeeping after it
   * (until it leaves the task: a preempted worker stretches that on a loaded machine), never the span of
   * anything before the poll began. */
  cr_assert_leq(last, s.ran_ns + POLL_END_SLACK_NS, "saw %llu us of a %llu us poll",
                (unsigned long long)(last / 1000), (unsigned long long)(s.ran_ns / 1000));
  cr_assert_eq(metric(rt, SCHEDRT_M_last_long_poll_ns, 1 - w), 0, "the other worker had none");

  schedrt_snapshot snap;
  cr_assert_eq(schedrt_snapshot_init(r, &snap), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &snap), 0);
  cr_assert_eq(snap.workers[w].long_polls, 1, "the segment shows it");
  cr_assert_eq(snap.workers[w].last_long_poll_ns, last);
  cr_assert_eq(snap.workers[1 - w].long_polls, 0);
  schedrt_snapshot_fini(&snap);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
}

/* Polls shorter than the threshold are never counted: a count is a lower bound seen by the monitor. */
struct shorts {
  int left;
  int stretched; /* polls that ran >= 5 ms anyway (the thread was preempted) */
};

static schedrt_poll short_fn(schedrt_task *task, void *arg) {
  struct shorts *s = arg;
  uint64_t start = schedrt_now_ns();
  while (schedrt_now_ns() - start < MS)
    ;
  s->stretched += schedrt_now_ns() - start >= 5 * MS;
  return --s->left > 0 ? schedrt_yield(task) : SCHEDRT_READY;
}

Test(long_polls, short_polls_are_not_counted) {
  schedrt_runtime *rt = make_rt(0);
  struct shorts s = {.left = 40};
  run(rt, short_fn, &s);
  /* 40 polls of 1 ms: a poll of 1 ms cannot be seen running for 10 ms. A loaded machine may stretch
   * one past the threshold: those the task measured are allowed. */
  cr_assert_leq(long_polls(rt), (uint64_t)s.stretched, "%llu counted, %d stretched",
                (unsigned long long)long_polls(rt), s.stretched);
  schedrt_runtime_destroy(rt);
}

/* The threshold comes from the config, or from SCHEDRT_LONG_POLL_MS, where 0 turns the watch off. */
Test(long_polls, threshold_from_config_and_environment) {
  schedrt_runtime *rt = make_rt(25);
  schedrt_reader *r = open_own_segment(rt);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_ms, 25);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_watch_us, 5000);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);

  setenv("SCHEDRT_LONG_POLL_MS", "0", 1);
  rt = make_rt(25);
  r = open_own_segment(rt);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_ms, 0, "off: the header says so");
  cr_assert_eq(schedrt_reader_info(r)->long_poll_watch_us, 0);
  struct spinner s = {.rt = rt, .spin_ns = 40 * MS};
  run(rt, spin_fn, &s);
  cr_assert_eq(long_polls(rt), 0, "nothing counts with the watch off");
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);

  setenv("SCHEDRT_LONG_POLL_MS", "ten", 1);
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), -EINVAL, "a bad value fails the runtime");
  setenv("SCHEDRT_LONG_POLL_MS", "3600001", 1);
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), -EINVAL, "past an hour");
  unsetenv("SCHEDRT_LONG_POLL_MS");
}

/* The monitor thread's voluntary context switches so far (its sleeps), or -1. */
static long monitor_sleeps(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  long n = -1;
  char path[300], line[128];
  while (d && n < 0 && (e = readdir(d))) {
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    int mon = f && fgets(line, sizeof(line), f) && strncmp(line, "schedrt-mon", 11) == 0;
    if (f)
      fclose(f);
    snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
    if (!mon || !(f = fopen(path, "r")))
      continue;
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
        break;
    fclose(f);
  }
  if (d)
    closedir(d);
  return n;
}

static bool all_parked(schedrt_runtime *rt) {
  for (uint32_t w = 0; w < schedrt_runtime_nworkers(rt); w++)
    if (metric(rt, SCHEDRT_M_state, w) != SCHEDRT_WSTATE_PARKED)
      return false;
  return true;
}

/* With every worker asleep nothing can poll: the watch (every 2 ms) stops, and the monitor wakes for its
 * 100 ms ticks only, not 500 times a second. The first worker to wake restarts it: a long poll right
 * after a quiet spell is counted as before. */
Test(long_polls, an_idle_runtime_stops_the_watch_until_a_worker_wakes) {
  schedrt_runtime *rt = make_rt(0);
  uint64_t until = schedrt_now_ns() + 10000 * MS;
  while (!all_parked(rt))
    cr_assert_lt(schedrt_now_ns(), until, "the workers park");
  long before = monitor_sleeps();
  cr_assert_geq(before, 0, "no schedrt-mon thread in /proc/self/task");
  usleep(1000 * 1000);
  long slept = monitor_sleeps() - before;
  /* 10 ticks in the second; the watch alone would be 500. A loaded machine adds a few wake-ups. */
  cr_expect_leq(slept, 60, "the monitor slept %ld times in an idle second", slept);
  struct spinner s = {.rt = rt, .until_counted = 1};
  run(rt, spin_fn, &s);
  cr_assert(s.counted, "no long poll counted in %llu ms of one poll after a quiet spell",
            (unsigned long long)(s.ran_ns / MS));
  cr_assert_eq(long_polls(rt), 1);
  /* Timed from a sample after the wake, not from anything before the quiet second. */
  uint64_t last = metric(rt, SCHEDRT_M_last_long_poll_ns, 0) + metric(rt, SCHEDRT_M_last_long_poll_ns, 1);
  cr_assert_leq(last, s.ran_ns + POLL_END_SLACK_NS, "saw %llu us of a %llu us poll",
                (unsigned long long)(last / 1000), (unsigned long long)(s.ran_ns / 1000));
  schedrt_runtime_destroy(rt);
}
