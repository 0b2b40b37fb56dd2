/* hist.c: histogram figures from bucket counts, with the runtime's own bucket bounds. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "hist.h"

#define NB 62

/* The bounds layout 2.0 writes (docs/shm-protocol.md 3.5): [0,64), then two buckets per power of two
 * up to 2^36, then [2^36, max]. */
static uint64_t ub[NB];
static uint64_t c[NB];

static void setup(void) {
  uint32_t b = 0;
  ub[b++] = 64;
  for (unsigned k = 6; k < 36; k++) {
    ub[b++] = (1ull << k) + (1ull << (k - 1));
    ub[b++] = 1ull << (k + 1);
  }
  ub[b++] = UINT64_MAX;
  cr_assert_eq(b, NB);
  memset(c, 0, sizeof(c));
}

/* The bucket a value falls in: bucket b covers [ub[b-1], ub[b]). */
static uint32_t bucket_of(uint64_t v) {
  uint32_t b = 0;
  while (v >= ub[b])
    b++;
  return b;
}

static const char *fmt(uint64_t bound) {
  static char buf[32];
  return hist_fmt(buf, sizeof(buf), bound, ub, NB);
}

TestSuite(hist, .init = setup);

Test(hist, empty_histogram_has_no_figures) {
  hist_summary s;
  hist_summarize(c, ub, NB, &s);
  cr_expect_eq(s.count, 0u);
  cr_expect_eq(s.p50, 0u);
  cr_expect_eq(s.p99, 0u);
  cr_expect_eq(s.max, 0u);
  cr_expect_eq(hist_percentile(c, ub, NB, 500), 0u);
  cr_expect_str_eq(fmt(s.p50), "-", "no value reads as a dash");
}

Test(hist, one_value_gives_its_bucket_bound_everywhere) {
  c[bucket_of(1000)] = 1; /* [768, 1024) */
  hist_summary s;
  hist_summarize(c, ub, NB, &s);
  cr_expect_eq(s.count, 1u);
  cr_expect_eq(s.p50, 1024u);
  cr_expect_eq(s.p90, 1024u);
  cr_expect_eq(s.p99, 1024u);
  cr_expect_eq(s.max, 1024u);
  cr_expect_eq(s.lo, s.hi);
  cr_expect_eq(ub[s.lo], 1024u);
}

Test(hist, percentiles_take_the_bucket_where_the_rank_falls) {
  c[0] = 50; /* < 64 ns */
  c[1] = 40; /* < 96 ns */
  c[2] = 9;  /* < 128 ns */
  c[8] = 1;  /* < 1024 ns */
  hist_summary s;
  hist_summarize(c, ub, NB, &s);
  cr_expect_eq(s.count, 100u);
  cr_expect_eq(s.p50, 64u, "the 50th value is the last of bucket 0");
  cr_expect_eq(s.p90, 96u, "the 90th is the last of bucket 1");
  cr_expect_eq(s.p99, 128u, "the 99th is the last of bucket 2");
  cr_expect_eq(s.max, 1024u, "max: the bound of the highest non-empty bucket");
  cr_expect_eq(s.lo, 0u);
  cr_expect_eq(s.hi, 8u);
  /* One more value in bucket 1 moves the median's rank (51 of 101) past bucket 0. */
  c[1]++;
  hist_summarize(c, ub, NB, &s);
  cr_expect_eq(s.p50, 96u);
}

Test(hist, rank_rounds_up) {
  c[3] = 1;
  c[4] = 1;
  c[5] = 1;
  /* 3 values: the median is the 2nd (ceil(1.5)), p99 the 3rd, p0 still the 1st. */
  cr_expect_eq(hist_percentile(c, ub, NB, 500), ub[4]);
  cr_expect_eq(hist_percentile(c, ub, NB, 990), ub[5]);
  cr_expect_eq(hist_percentile(c, ub, NB, 0), ub[3]);
  cr_expect_eq(hist_percentile(c, ub, NB, 1000), ub[5]);
}

Test(hist, huge_counts_do_not_overflow) {
  c[10] = 1ull << 61;
  c[20] = 1ull << 61;
  c[30] = 2;
  /* count * 990 would overflow 64 bits: the rank is computed without that product. */
  cr_expect_eq(hist_percentile(c, ub, NB, 500), ub[20], "rank 2^61 + 1 is past bucket 10");
  cr_expect_eq(hist_percentile(c, ub, NB, 990), ub[20]);
  cr_expect_eq(hist_percentile(c, ub, NB, 1000), ub[30]);
  c[41] = UINT64_MAX;
  cr_expect_eq(hist_count(c, NB), UINT64_MAX, "the count saturates");
}

Test(hist, each_figure_is_an_upper_bound_at_most_half_above_the_value) {
  /* What hist.h's comment promises, checked on the runtime's bounds for values from 64 ns to 2^36 ns. */
  for (uint64_t v = 64; v < (1ull << 36); v = v + v / 7 + 1) {
    memset(c, 0, sizeof(c));
    c[bucket_of(v)] = 1;
    uint64_t p = hist_percentile(c, ub, NB, 500);
    cr_assert(p > v, "bound %llu for %llu", (unsigned long long)p, (unsigned long long)v);
    cr_assert(p <= v + v / 2, "bound %llu is more than 50%% above %llu", (unsigned long long)p,
              (unsigned long long)v);
  }
}

Test(hist, the_open_last_bucket) {
  c[NB - 1] = 3;
  c[0] = 1;
  hist_summary s;
  hist_summarize(c, ub, NB, &s);
  cr_expect_eq(s.max, UINT64_MAX, "no upper bound");
  cr_expect_eq(s.p99, UINT64_MAX);
  cr_expect_str_eq(fmt(s.max), ">=1m08s", "shown as its lower bound, 2^36 ns");
  cr_expect_eq(hist_finite(s.max, ub, NB), 1ull << 36, "as a number: the lower bound");
  cr_expect_eq(hist_finite(96, ub, NB), 96u);
  cr_expect_str_eq(fmt(96), "96ns");
  cr_expect_str_eq(fmt(1536), "1.54us");
}

Test(hist, difference_of_two_snapshots) {
  uint64_t prev[NB] = {0}, cur[NB] = {0}, out[NB];
  prev[3] = 10;
  prev[7] = 5;
  cur[3] = 14;
  cur[7] = 5;
  cur[9] = 2;
  cr_expect_eq(hist_diff(prev, cur, NB, out), 0);
  cr_expect_eq(out[3], 4u);
  cr_expect_eq(out[7], 0u);
  cr_expect_eq(out[9], 2u);
  hist_summary s;
  hist_summarize(out, ub, NB, &s);
  cr_expect_eq(s.count, 6u, "only what was recorded in between");
  cr_expect_eq(s.lo, 3u, "an unchanged bucket is empty in the interval");
  cr_expect_eq(s.p50, ub[3]);
  cr_expect_eq(s.max, ub[9]);
}

Test(hist, a_counter_going_backwards_is_a_reset) {
  uint64_t prev[NB] = {0}, cur[NB] = {0}, out[NB];
  prev[3] = 1000;
  prev[4] = 10;
  cur[3] = 7; /* a restarted target: counting from zero again */
  cur[4] = 20;
  cur[5] = 1;
  cr_expect_eq(hist_diff(prev, cur, NB, out), 1);
  cr_expect_eq(out[3], 7u, "everything since the reset, not a wrapped difference");
  cr_expect_eq(out[4], 20u, "not 10: the reset holds for every bucket");
  cr_expect_eq(out[5], 1u);
  /* In place, as the model may call it. */
  cr_expect_eq(hist_diff(prev, cur, NB, prev), 1);
  cr_expect_eq(prev[3], 7u);
  cr_expect_eq(prev[4], 20u);
}

Test(hist, buckets_fit_the_rows) {
  uint32_t per;
  cr_expect_eq(hist_rows(5, 9, 10, &per), 5u, "room for each bucket");
  cr_expect_eq(per, 1u);
  cr_expect_eq(hist_rows(5, 9, 2, &per), 2u, "5 buckets in 2 rows: 3 then 2");
  cr_expect_eq(per, 3u);
  cr_expect_eq(hist_rows(0, 61, 7, &per), 7u);
  cr_expect_eq(per, 9u);
  cr_expect_eq(hist_rows(0, 61, 1, &per), 1u);
  cr_expect_eq(per, 62u);
  cr_expect_eq(hist_rows(4, 4, 0, &per), 0u, "no room, no rows");
  cr_expect_eq(hist_rows(4, 3, 5, &per), 0u, "an empty range");
}
