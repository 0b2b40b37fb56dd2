/* snapshot_model.c and worker_sort.c, fed with hand-made snapshots. */
#include <criterion/criterion.h>
#include <math.h>

#include "hist.h"
#include "rates.h"
#include "snapshot_model.h"
#include "worker_sort.h"

#define MS 1000000ull
#define S 1000000000ull

static inspect_model m;

static void setup(void) { cr_assert_eq(model_init_raw(&m, 4, 1 * S, 10 * MS), 0); }
static void teardown(void) { model_fini(&m); }

/* The next snapshot at reader time t (ns), a live segment with n workers. */
static schedrt_snapshot *next_snap(uint64_t t, uint32_t n) {
  schedrt_snapshot *s = model_spare(&m);
  schedrt_worker_snap *w = s->workers;
  uint64_t *hist = s->hist;
  uint32_t max = s->max_workers, nb = s->hist_buckets;
  memset(w, 0, sizeof(*w) * max);
  memset(s, 0, sizeof(*s));
  s->workers = w;
  s->max_workers = max;
  s->hist = hist;
  s->hist_buckets = nb;
  s->taken_mono_ns = t;
  s->writer_now_ns = t;
  s->heartbeat_mono_ns = t - 20 * MS;
  s->seg_state = 1;
  s->liveness = SCHEDRT_LIVENESS_LIVE;
  s->nworkers = n;
  s->global.nworkers = n;
  for (uint32_t i = 0; i < n; i++) {
    w[i].index = i;
    w[i].state = SCHEDRT_WSTATE_PARKED;
  }
  return s;
}

TestSuite(model, .init = setup, .fini = teardown);

Test(model, first_snapshot_has_no_rates) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[0].polls = 100;
  s->workers[1].local_queue_depth = 7;
  s->global.alive = 12;
  model_advance(&m);
  cr_expect_eq(m.g.nworkers, 2u);
  cr_expect_not(m.g.have_rates);
  cr_expect(isnan(m.g.polls_per_s));
  cr_expect(isnan(m.w[0].rate[RATE_W(polls)]));
  cr_expect_eq(m.w[1].depth, 7u);
  cr_expect_eq(m.g.total_depth, 7u);
  cr_expect_eq(m.g.values[RATE_G(alive)], 12u);
  cr_expect_eq(m.g.uptime_ns, 9 * S, "uptime from the writer's creation time");
  cr_expect_eq(m.g.hb_age_ns, 20 * MS);
}

Test(model, rates_and_busy_from_two_snapshots) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[0].polls = 100;
  s->workers[0].steals = 5;
  s->workers[0].parks = 1;
  s->workers[0].busy_ns_live = 1 * S;
  s->workers[1].polls = 50;
  s->global.spawned = 1000;
  model_advance(&m);
  s = next_snap(10 * S + 500 * MS, 2);
  s->workers[0].polls = 600;
  s->workers[0].steals = 15;
  s->workers[0].parks = 3;
  s->workers[0].busy_ns_live = 1 * S + 250 * MS;
  s->workers[1].polls = 100;
  s->global.spawned = 1400;
  model_advance(&m);
  cr_assert(m.g.have_rates);
  cr_expect_float_eq(m.w[0].rate[RATE_W(polls)], 1000.0, 1e-6);
  cr_expect_float_eq(m.w[0].rate[RATE_W(steals)], 20.0, 1e-6);
  cr_expect_float_eq(m.w[0].busy_pct, 50.0, 1e-6);
  cr_expect_float_eq(m.g.polls_per_s, 1100.0, 1e-6, "the sum over workers");
  cr_expect_float_eq(m.g.steals_per_s, 20.0, 1e-6);
  cr_expect_float_eq(m.g.parks_per_s, 4.0, 1e-6);
  cr_expect_float_eq(m.g.grate[RATE_G(spawned)], 800.0, 1e-6);
  cr_expect_float_eq(m.g.busy_pct, 25.0, 1e-6, "the mean over workers");
}

Test(model, stuck_from_the_runtime_stamp) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[1].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[1].current_task = 42;
  s->workers[1].polls = 7;
  s->workers[1].current_since_ns = 10 * S - 15 * MS;
  s->workers[0].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[0].current_task = 43;
  s->workers[0].current_since_ns = 10 * S - 2 * MS;
  model_advance(&m);
  cr_expect(m.w[1].stuck);
  cr_expect_eq(m.w[1].running_ns, 15 * MS);
  cr_expect_not(m.w[0].stuck, "2 ms is under the 10 ms threshold");
  cr_expect_eq(m.g.nstuck, 1u);
  cr_expect_eq(m.g.nrunning, 2u);
}

Test(model, stuck_from_our_own_sightings) {
  /* No stamp from the runtime (monitor resolution not reached yet): the same poll
   * sequence seen twice, 30 ms apart, is a poll of at least 30 ms. */
  schedrt_snapshot *s = next_snap(10 * S, 1);
  s->workers[0].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[0].current_task = 9;
  s->workers[0].polls = 70;
  model_advance(&m);
  cr_expect_not(m.w[0].stuck);
  s = next_snap(10 * S + 30 * MS, 1);
  s->workers[0].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[0].current_task = 9;
  s->workers[0].polls = 70;
  model_advance(&m);
  cr_expect(m.w[0].stuck);
  cr_expect_eq(m.w[0].running_ns, 30 * MS);
  /* A new poll (the sequence moved) starts the count again. */
  s = next_snap(10 * S + 40 * MS, 1);
  s->workers[0].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[0].current_task = 9;
  s->workers[0].polls = 71;
  model_advance(&m);
  cr_expect_not(m.w[0].stuck);
  cr_expect_eq(m.w[0].running_ns, 0u);
}

Test(model, threshold_is_configurable) {
  model_fini(&m);
  cr_assert_eq(model_init_raw(&m, 1, 0, 100 * MS), 0);
  schedrt_snapshot *s = next_snap(10 * S, 1);
  s->workers[0].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[0].current_task = 1;
  s->workers[0].current_since_ns = 10 * S - 50 * MS;
  model_advance(&m);
  cr_expect_not(m.w[0].stuck, "50 ms < --stuck-ms 100");
}

/* Layout 2.4: a poll no snapshot landed in, counted by the runtime (long_polls, last_long_poll_ns),
 * flags its worker stuck for the one refresh that sees the count or the length move, if it reached
 * --stuck-ms; a target that counts none (threshold 0) never flags that way. */
Test(model, long_poll_counted_between_snapshots_is_stuck) {
  m.long_poll_ns = 10 * MS;
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[1].long_polls = 4;
  s->workers[1].last_long_poll_ns = 30 * MS;
  model_advance(&m);
  cr_expect_not(m.w[1].stuck, "an old count, no previous snapshot: nothing new");
  s = next_snap(11 * S, 2);
  s->workers[1].long_polls = 5;
  s->workers[1].last_long_poll_ns = 52 * MS;
  model_advance(&m);
  cr_expect(m.w[1].stuck, "a poll of 52 ms ended between two snapshots");
  cr_expect(m.w[1].long_poll);
  cr_expect_eq(m.w[1].long_poll_ns, 52 * MS);
  cr_expect_not(m.w[0].stuck);
  cr_expect_eq(m.g.nstuck, 1u);
  s = next_snap(12 * S, 2);
  s->workers[1].long_polls = 5;
  s->workers[1].last_long_poll_ns = 52 * MS;
  model_advance(&m);
  cr_expect_not(m.w[1].stuck, "nothing moved since");
  cr_expect_eq(m.g.nstuck, 0u);
  s = next_snap(13 * S, 2);
  s->workers[1].long_polls = 5;
  s->workers[1].last_long_poll_ns = 60 * MS;
  model_advance(&m);
  cr_expect(m.w[1].stuck, "the same long poll, still growing");

  /* --stuck-ms above the runtime's threshold: the latest length decides. */
  m.stuck_ns = 100 * MS;
  s = next_snap(14 * S, 2);
  s->workers[1].long_polls = 6;
  s->workers[1].last_long_poll_ns = 40 * MS;
  model_advance(&m);
  cr_expect_not(m.w[1].stuck, "40 ms is long for the runtime, not for --stuck-ms 100");
  s = next_snap(15 * S, 2);
  s->workers[1].long_polls = 7;
  s->workers[1].last_long_poll_ns = 120 * MS;
  model_advance(&m);
  cr_expect(m.w[1].stuck);

  m.long_poll_ns = 0; /* an older writer, or counting off: its zeros say nothing */
  s = next_snap(16 * S, 2);
  s->workers[1].long_polls = 8;
  s->workers[1].last_long_poll_ns = 500 * MS;
  model_advance(&m);
  cr_expect_not(m.w[1].stuck);
}

Test(model, exited_target_keeps_the_last_live_data) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[0].local_queue_depth = 5;
  s->global.alive = 30;
  model_advance(&m);
  s = next_snap(11 * S, 2);
  s->seg_state = 2; /* EXITING: workers stopped, queues drained */
  s->liveness = SCHEDRT_LIVENESS_EXITING;
  s->workers[0].state = SCHEDRT_WSTATE_STOPPED;
  model_advance(&m);
  cr_expect(m.g.target_gone);
  cr_expect_eq(m.w[0].depth, 5u, "the last live figures stay");
  cr_expect_eq(m.g.values[RATE_G(alive)], 30u);
  cr_expect_eq(model_current(&m)->workers[0].state, SCHEDRT_WSTATE_PARKED);
  s = next_snap(12 * S, 2);
  s->liveness = SCHEDRT_LIVENESS_STALE;
  model_advance(&m);
  cr_expect_eq(m.g.liveness, SCHEDRT_LIVENESS_STALE, "the verdict still moves");
  cr_expect_eq(m.w[0].depth, 5u);
}

Test(model, hung_target_is_reported_not_frozen_out) {
  schedrt_snapshot *s = next_snap(10 * S, 1);
  model_advance(&m);
  s = next_snap(11 * S, 1);
  s->liveness = SCHEDRT_LIVENESS_HUNG;
  s->heartbeat_mono_ns = 9 * S;
  s->heartbeat_stalled_ns = 900 * MS;
  model_advance(&m);
  cr_expect_not(m.g.target_gone);
  cr_expect_eq(m.g.liveness, SCHEDRT_LIVENESS_HUNG);
  cr_expect_eq(m.g.hb_age_ns, 2 * S);
  cr_expect_eq(m.g.hb_stalled_ns, 900 * MS);
}

Test(model, torn_worker_is_marked_and_left_out) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  s->workers[0].local_queue_depth = 3;
  s->workers[1].torn = 1;
  s->ntorn = 1;
  model_advance(&m);
  cr_expect(m.w[1].torn);
  cr_expect_eq(m.g.total_depth, 3u);
  cr_expect_eq(m.g.ntorn, 1u);
}

Test(model, depth_history_is_oldest_first) {
  for (uint32_t i = 0; i < 5; i++) {
    schedrt_snapshot *s = next_snap((10 + i) * S, 1);
    s->workers[0].local_queue_depth = i * 10;
    model_advance(&m);
  }
  uint32_t h[8];
  cr_assert_eq(model_depth_history(&m, 0, h, 8), 5u);
  cr_expect_eq(h[0], 0u);
  cr_expect_eq(h[4], 40u);
  cr_assert_eq(model_depth_history(&m, 0, h, 2), 2u);
  cr_expect_eq(h[0], 30u);
  cr_expect_eq(h[1], 40u);
  cr_expect_eq(model_depth_history(&m, 7, h, 2), 0u, "no such worker");
}

Test(model, history_wraps_around) {
  for (uint32_t i = 0; i < MODEL_HISTORY + 10; i++) {
    schedrt_snapshot *s = next_snap((10 + i) * S, 1);
    s->workers[0].local_queue_depth = i;
    model_advance(&m);
  }
  uint32_t h[MODEL_HISTORY];
  cr_assert_eq(model_depth_history(&m, 0, h, MODEL_HISTORY), MODEL_HISTORY);
  cr_expect_eq(h[0], 10u);
  cr_expect_eq(h[MODEL_HISTORY - 1], MODEL_HISTORY + 9);
}

Test(model, worker_sort_orders) {
  schedrt_snapshot *s = next_snap(10 * S, 4);
  model_advance(&m);
  s = next_snap(11 * S, 4);
  uint64_t depth[4] = {3, 9, 0, 9}, polls[4] = {10, 5, 40, 20};
  for (int i = 0; i < 4; i++) {
    s->workers[i].local_queue_depth = depth[i];
    s->workers[i].polls = polls[i];
  }
  s->workers[2].state = SCHEDRT_WSTATE_RUNNING;
  s->workers[2].current_task = 5;
  s->workers[2].current_since_ns = 11 * S - 50 * MS;
  model_advance(&m);
  uint32_t o[4];
  worker_sort(m.w, 4, WSORT_INDEX, o);
  cr_expect(o[0] == 0 && o[1] == 1 && o[2] == 2 && o[3] == 3);
  worker_sort(m.w, 4, WSORT_DEPTH, o);
  cr_expect(o[0] == 1 && o[1] == 3 && o[2] == 0 && o[3] == 2, "deepest first, ties by worker");
  worker_sort(m.w, 4, WSORT_POLLS, o);
  cr_expect(o[0] == 2 && o[1] == 3 && o[2] == 0 && o[3] == 1);
  worker_sort(m.w, 4, WSORT_RUNNING, o);
  cr_expect_eq(o[0], 2u, "the stuck worker first");
  cr_expect_str_eq(worker_sort_name(WSORT_STEALS), "steals/s");
  cr_expect_eq(worker_sort_next(WSORT__COUNT - 1), WSORT_INDEX);
}

Test(model, history_samples_once_per_period) {
  m.hist_period_ns = 500 * MS;
  uint32_t depths[] = {4, 9, 2, 1, 0, 3};
  for (uint32_t i = 0; i < 6; i++) { /* every 200 ms: periods [0,400] [600,1000] */
    schedrt_snapshot *s = next_snap(10 * S + i * 200 * MS, 1);
    s->workers[0].local_queue_depth = depths[i];
    model_advance(&m);
  }
  uint32_t h[8];
  cr_assert_eq(model_depth_history(&m, 0, h, 8), 2u);
  cr_expect_eq(h[0], 9u, "the deepest of the first period");
  cr_expect_eq(h[1], 3u, "the deepest so far of the current one");
}

/* ------------------------------------------------------------ histograms */

#define NB 8
static const uint64_t bounds[NB] = {64, 96, 128, 192, 256, 384, 512, UINT64_MAX};

static void histo_setup(void) {
  setup();
  cr_assert_eq(model_set_buckets(&m, bounds, NB, 1), 0);
}

/* Worker w's bucket counts of histogram h in the spare snapshot, which then carries histograms. */
static uint64_t *hist_of(schedrt_snapshot *s, uint32_t w, uint32_t h) {
  s->hist_taken = 1;
  memset(s->hist + ((size_t)w * SCHEDRT_M__HIST_COUNT + h) * NB, 0, NB * sizeof(uint64_t));
  return s->hist + ((size_t)w * SCHEDRT_M__HIST_COUNT + h) * NB;
}

TestSuite(model_histo, .init = histo_setup, .fini = teardown);

Test(model_histo, whole_run_then_the_last_interval) {
  schedrt_snapshot *s = next_snap(10 * S, 2);
  uint64_t *pt = hist_of(s, 1, HIST_ID(poll_time));
  pt[1] = 10;
  pt[4] = 2;
  hist_of(s, 1, HIST_ID(sched_latency))[0] = 5;
  hist_of(s, 0, HIST_ID(poll_time));
  hist_of(s, 0, HIST_ID(sched_latency));
  model_advance(&m);
  const histo_view *hv = &m.w[1].histo[HIST_ID(poll_time)];
  cr_assert(m.w[1].have_histo);
  cr_expect_eq(hv->run.count, 12u);
  cr_expect_eq(hv->run.p50, 96u);
  cr_expect_eq(hv->run.max, 256u);
  cr_expect_not(hv->have_last, "one snapshot: no interval yet");
  cr_expect_null(model_histo_last(&m, 1, HIST_ID(poll_time)));
  cr_expect_eq(m.w[1].histo[HIST_ID(sched_latency)].run.p99, 64u, "each histogram on its own");

  s = next_snap(11 * S, 2);
  pt = hist_of(s, 1, HIST_ID(poll_time));
  pt[1] = 10; /* nothing new there */
  pt[4] = 2;
  pt[6] = 3; /* three slow polls in the last second */
  hist_of(s, 1, HIST_ID(sched_latency))[0] = 5;
  hist_of(s, 0, HIST_ID(poll_time));
  hist_of(s, 0, HIST_ID(sched_latency));
  model_advance(&m);
  cr_assert(hv->have_last);
  cr_expect_eq(hv->run.count, 15u);
  cr_expect_eq(hv->last.count, 3u, "the interval holds only what changed");
  cr_expect_eq(hv->last.p50, 512u);
  cr_expect_eq(hv->last.lo, 6u);
  const uint64_t *last = model_histo_last(&m, 1, HIST_ID(poll_time));
  cr_assert_not_null(last);
  cr_expect_eq(last[1], 0u);
  cr_expect_eq(last[6], 3u);
  cr_expect_eq(m.w[1].histo[HIST_ID(sched_latency)].last.count, 0u);
  cr_expect_eq(m.w[1].histo[HIST_ID(sched_latency)].last.p50, 0u, "an empty interval has no figures");
}

Test(model_histo, a_restarted_counter_starts_the_interval_again) {
  schedrt_snapshot *s = next_snap(10 * S, 1);
  hist_of(s, 0, HIST_ID(poll_time))[3] = 100;
  model_advance(&m);
  s = next_snap(11 * S, 1);
  hist_of(s, 0, HIST_ID(poll_time))[2] = 4;
  model_advance(&m);
  const histo_view *hv = &m.w[0].histo[HIST_ID(poll_time)];
  cr_assert(hv->have_last);
  cr_expect_eq(hv->last.count, 4u, "not a wrapped difference");
  cr_expect_eq(hv->last.max, 128u);
}

Test(model_histo, snapshots_without_histograms) {
  schedrt_snapshot *s = next_snap(10 * S, 1);
  hist_of(s, 0, HIST_ID(poll_time))[3] = 100;
  model_advance(&m);
  cr_expect(m.w[0].have_histo);
  s = next_snap(11 * S, 1); /* taken while nothing showed them */
  model_advance(&m);
  cr_expect_not(m.w[0].have_histo);
  cr_expect_eq(m.w[0].histo[HIST_ID(poll_time)].run.count, 0u);
  s = next_snap(12 * S, 1);
  hist_of(s, 0, HIST_ID(poll_time))[3] = 150;
  model_advance(&m);
  cr_expect(m.w[0].have_histo);
  cr_expect_not(m.w[0].histo[HIST_ID(poll_time)].have_last,
                "the previous snapshot had none: no difference against it");
}

Test(model_histo, taken_while_someone_shows_them) {
  cr_expect_eq(m.histo_users, 0u);
  model_show_histograms(&m, 1);
  model_show_histograms(&m, 1);
  model_show_histograms(&m, 0);
  cr_expect_eq(m.histo_users, 1u, "one panel still open");
  model_show_histograms(&m, 0);
  model_show_histograms(&m, 0);
  cr_expect_eq(m.histo_users, 0u, "never below zero");
  cr_expect(m.timing);
  cr_expect_eq(m.nbuckets, NB);
}
