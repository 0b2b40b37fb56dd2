/* rates.c: per-second figures from cumulative counters. */
#include <criterion/criterion.h>
#include <math.h>

#include "rates.h"

Test(rates, per_second_over_the_interval) {
  cr_expect_float_eq(rate_per_s(100, 600, 500000000ull), 1000.0, 1e-9);
  cr_expect_float_eq(rate_per_s(5, 5, 1000000000ull), 0.0, 1e-9);
}

Test(rates, zero_interval_or_backwards_counter_is_zero) {
  cr_expect_float_eq(rate_per_s(10, 20, 0), 0.0, 1e-9);
  cr_expect_float_eq(rate_per_s(20, 10, 1000000000ull), 0.0, 1e-9,
                     "a restarted counter is not a negative rate");
}

Test(rates, busy_percent_clamps) {
  cr_expect_float_eq(busy_percent(0, 250000000ull, 1000000000ull), 25.0, 1e-9);
  cr_expect_float_eq(busy_percent(0, 2000000000ull, 1000000000ull), 100.0, 1e-9,
                     "late publication overshoots");
  cr_expect_float_eq(busy_percent(5, 1, 1000000000ull), 0.0, 1e-9);
}

Test(rates, generated_for_counters_only) {
  schedrt_worker_snap a = {0}, b = {0};
  double r[SCHEDRT_M__WSLOT_COUNT];
  a.polls = 1000;
  b.polls = 3000;
  a.steals = 10;
  b.steals = 30;
  a.local_queue_depth = 4;
  b.local_queue_depth = 9;
  rates_worker(&a, &b, 2000000000ull, r);
  cr_expect_float_eq(r[RATE_W(polls)], 1000.0, 1e-9);
  cr_expect_float_eq(r[RATE_W(steals)], 10.0, 1e-9);
  cr_expect(isnan(r[RATE_W(local_queue_depth)]), "a gauge has no rate");
  cr_expect(isnan(r[RATE_W(state)]));
}

Test(rates, torn_or_missing_previous_gives_unknown) {
  schedrt_worker_snap a = {0}, b = {0};
  double r[SCHEDRT_M__WSLOT_COUNT];
  b.polls = 50;
  rates_worker(NULL, &b, 1000000000ull, r);
  cr_expect(isnan(r[RATE_W(polls)]));
  a.torn = 1;
  rates_worker(&a, &b, 1000000000ull, r);
  cr_expect(isnan(r[RATE_W(polls)]), "a torn entry is all zeros: no rate against it");
}

Test(rates, global) {
  schedrt_global_snap a = {0}, b = {0};
  double r[SCHEDRT_M__GLOBAL_COUNT];
  a.spawned = 100;
  b.spawned = 400;
  b.alive = 7;
  rates_global(&a, &b, 1000000000ull, r);
  cr_expect_float_eq(r[RATE_G(spawned)], 300.0, 1e-9);
  cr_expect(isnan(r[RATE_G(alive)]));
}
