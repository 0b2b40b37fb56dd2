/*
 * The runtime's latency histograms (poll_time, sched_latency: log-linear
 * buckets, docs/shm-protocol.md section 3.5) turned into figures: count,
 * percentiles and maximum from bucket counts and upper bounds, and one
 * interval's counts from two snapshots. No curses, no reader: the worker
 * panel, `stat` and `stat --json` all take their figures from here.
 *
 * Every figure is an upper bound, not a measurement: the bound of the bucket
 * the value fell in. The buckets are at most 50 % wide (two per power of two:
 * [64, 96), [96, 128), ...), so a figure overstates the true value by at most
 * 50 % of it; in bucket 0, [0, 64 ns), by less than 64 ns. The last bucket
 * has no upper bound (UINT64_MAX): a figure there means "at least its lower
 * bound".
 */
#ifndef INSPECT_HIST_H
#define INSPECT_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/proto/metrics_def.h"

/* Index of a histogram in the HIST list, e.g. HIST_ID(poll_time): also its place in a snapshot. */
#define HIST_ID(id) (SCHEDRT_M_##id - SCHEDRT_M__HIST_FIRST)

/* What a histogram says. Percentiles and max are bucket upper bounds in ns (see above). */
typedef struct hist_summary {
  uint64_t count;              /* values recorded; 0: the other fields are 0 */
  uint64_t p50, p90, p99, max; /* max: the bound of the highest non-empty bucket */
  uint32_t lo, hi;             /* the first and the last non-empty bucket (count > 0) */
} hist_summary;

/* Sum of the n bucket counts, saturating at UINT64_MAX. */
uint64_t hist_count(const uint64_t *counts, uint32_t n);

/*
 * The upper bound of the bucket holding the value of rank ceil(count *
 * permille / 1000) (at least 1) in ascending order: 500 is the median, 990
 * p99. 0 for an empty histogram.
 */
uint64_t hist_percentile(const uint64_t *counts, const uint64_t *upper, uint32_t n, unsigned permille);

/* Count, p50, p90, p99, max and the non-empty range of n buckets with upper bounds upper. */
void hist_summarize(const uint64_t *counts, const uint64_t *upper, uint32_t n, hist_summary *out);

/*
 * out = cur - prev, bucket by bucket: what was recorded between two snapshots
 * of the same cumulative histogram. A bucket that went backwards means the
 * counters started again (a restarted target, a reused segment): then out =
 * cur, everything since the reset, and the result is 1; else 0. out may be
 * prev or cur.
 */
int hist_diff(const uint64_t *prev, const uint64_t *cur, uint32_t n, uint64_t *out);

/*
 * Fitting buckets lo..hi into at most max_rows rows: each row sums *per_row
 * neighbouring buckets, from lo up (the last row may hold fewer). Returns the
 * number of rows (0 when max_rows is 0 or lo > hi).
 */
uint32_t hist_rows(uint32_t lo, uint32_t hi, uint32_t max_rows, uint32_t *per_row);

/*
 * A bound or figure for people: "96ns", "1.54us"; for the open last bucket
 * (UINT64_MAX) ">=" and the bucket's lower bound, ">=1m08s"; "-" for 0 (no
 * value). upper/n are the bucket bounds. Returns buf.
 */
char *hist_fmt(char *buf, size_t size, uint64_t bound, const uint64_t *upper, uint32_t n);

/* A figure as a finite number: the open last bucket's lower bound for UINT64_MAX (JSON has no infinity). */
uint64_t hist_finite(uint64_t bound, const uint64_t *upper, uint32_t n);

#endif
