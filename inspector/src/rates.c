/* Counter arithmetic (see rates.h). */
#include "rates.h"

#include <math.h>

double rate_per_s(uint64_t prev, uint64_t cur, uint64_t dt_ns) {
  if (dt_ns == 0 || cur < prev)
    return 0.0;
  return (double)(cur - prev) * 1e9 / (double)dt_ns;
}

double busy_percent(uint64_t prev_busy_ns, uint64_t cur_busy_ns, uint64_t dt_ns) {
  if (dt_ns == 0 || cur_busy_ns < prev_busy_ns)
    return 0.0;
  double p = (double)(cur_busy_ns - prev_busy_ns) * 100.0 / (double)dt_ns;
  return p > 100.0 ? 100.0 : p;
}

void rates_worker(const schedrt_worker_snap *prev, const schedrt_worker_snap *cur, uint64_t dt_ns,
                  double out[SCHEDRT_M__WSLOT_COUNT]) {
  /* A torn entry is all zeros: a rate against it would be a spike or a zero, both wrong. */
  int valid = prev && !prev->torn && !cur->torn;
#define RATE_ONE(id, kind, off, type, unit, help, pub)                                                         \
  out[SCHEDRT_M_##id] = SCHEDRT_METRIC_##kind != SCHEDRT_METRIC_COUNTER ? NAN                                  \
                        : valid                                         ? rate_per_s(prev->id, cur->id, dt_ns) \
                                                                        : NAN;
  SCHEDRT_WSLOT_METRICS(RATE_ONE)
#undef RATE_ONE
}

void rates_global(const schedrt_global_snap *prev, const schedrt_global_snap *cur, uint64_t dt_ns,
                  double out[SCHEDRT_M__GLOBAL_COUNT]) {
  int valid = prev && !prev->torn && !cur->torn;
#define RATE_ONE(id, kind, off, type, unit, help, pub)                                                       \
  out[SCHEDRT_M_##id - SCHEDRT_M__GLOBAL_FIRST] = SCHEDRT_METRIC_##kind != SCHEDRT_METRIC_COUNTER ? NAN      \
                                                  : valid ? rate_per_s(prev->id, cur->id, dt_ns)             \
                                                          : NAN;
  SCHEDRT_GLOBAL_METRICS(RATE_ONE)
#undef RATE_ONE
}
