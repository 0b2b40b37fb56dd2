/* Histogram figures (see hist.h). */
#include "hist.h"

#include "format.h"
#include "util.h"

uint64_t hist_count(const uint64_t *counts, uint32_t n) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; i++)
    sum = counts[i] > UINT64_MAX - sum ? UINT64_MAX : sum + counts[i];
  return sum;
}

/* ceil(count * permille / 1000) without the product overflowing for huge counts. */
static uint64_t rank_of(uint64_t count, unsigned permille) {
  if (permille > 1000)
    permille = 1000;
  uint64_t rank = count / 1000 * permille + (count % 1000 * permille + 999) / 1000;
  return rank ? rank : 1;
}

uint64_t hist_percentile(const uint64_t *counts, const uint64_t *upper, uint32_t n, unsigned permille) {
  uint64_t count = hist_count(counts, n);
  if (count == 0)
    return 0;
  uint64_t rank = rank_of(count, permille), seen = 0;
  for (uint32_t i = 0; i < n; i++) {
    seen = counts[i] > UINT64_MAX - seen ? UINT64_MAX : seen + counts[i];
    if (seen >= rank)
      return upper[i];
  }
  return upper[n - 1];
}

void hist_summarize(const uint64_t *counts, const uint64_t *upper, uint32_t n, hist_summary *out) {
  *out = (hist_summary){.count = hist_count(counts, n)};
  if (out->count == 0)
    return;
  out->lo = n;
  for (uint32_t i = 0; i < n; i++) {
    if (!counts[i])
      continue;
    if (out->lo == n)
      out->lo = i;
    out->hi = i;
  }
  out->p50 = hist_percentile(counts, upper, n, 500);
  out->p90 = hist_percentile(counts, upper, n, 900);
  out->p99 = hist_percentile(counts, upper, n, 990);
  out->max = upper[out->hi];
}

int hist_diff(const uint64_t *prev, const uint64_t *cur, uint32_t n, uint64_t *out) {
  /* Decide first: out may alias prev, and a reset must not mix deltas with totals. */
  for (uint32_t i = 0; i < n; i++) {
    if (cur[i] < prev[i]) {
      for (uint32_t k = 0; k < n; k++)
        out[k] = cur[k];
      return 1;
    }
  }
  for (uint32_t i = 0; i < n; i++)
    out[i] = cur[i] - prev[i];
  return 0;
}

uint32_t hist_rows(uint32_t lo, uint32_t hi, uint32_t max_rows, uint32_t *per_row) {
  *per_row = 1;
  if (max_rows == 0 || lo > hi)
    return 0;
  uint32_t range = hi - lo + 1;
  *per_row = (range + max_rows - 1) / max_rows;
  return (range + *per_row - 1) / *per_row;
}

uint64_t hist_finite(uint64_t bound, const uint64_t *upper, uint32_t n) {
  if (bound != UINT64_MAX)
    return bound;
  return n >= 2 ? upper[n - 2] : 0;
}

char *hist_fmt(char *buf, size_t size, uint64_t bound, const uint64_t *upper, uint32_t n) {
  char d[32];
  if (bound == 0)
    return xsnprintf(buf, size, "-");
  if (bound == UINT64_MAX)
    return xsnprintf(buf, size, ">=%s", fmt_duration(d, sizeof(d), hist_finite(bound, upper, n)));
  return fmt_duration(buf, size, bound);
}
