/*
 * Rates from cumulative counters. The segment's counters are monotonic (as
 * Go's /sched metrics and Tokio's RuntimeMetrics), so every per-second
 * figure is a difference of two snapshots over the reader's own clock.
 * No curses, no reader: plain arithmetic, unit-tested.
 */
#ifndef INSPECT_RATES_H
#define INSPECT_RATES_H

#include <stdint.h>

#include "schedrt/reader.h"

/* (cur - prev) per second over dt_ns. 0 when dt_ns is 0 or the counter went
 * backwards (a new runtime behind the same pid, or a torn/zeroed entry). */
double rate_per_s(uint64_t prev, uint64_t cur, uint64_t dt_ns);

/* Share of dt_ns spent busy, in percent, clamped to [0, 100]: busy counters
 * are published at maintenance points, so a delta can overshoot a little. */
double busy_percent(uint64_t prev_busy_ns, uint64_t cur_busy_ns, uint64_t dt_ns);

/*
 * Per-metric rates of one worker, indexed like SCHEDRT_WSLOT_METRICS: the rate
 * for a COUNTER, NAN for a GAUGE. Generated from the metric list, so a new
 * counter gets a rate without touching this code.
 */
void rates_worker(const schedrt_worker_snap *prev, const schedrt_worker_snap *cur, uint64_t dt_ns,
                  double out[SCHEDRT_M__WSLOT_COUNT]);
/* The same for the global area (SCHEDRT_GLOBAL_METRICS order). */
void rates_global(const schedrt_global_snap *prev, const schedrt_global_snap *cur, uint64_t dt_ns,
                  double out[SCHEDRT_M__GLOBAL_COUNT]);

/* Index of a worker metric in the WSLOT list, e.g. RATE_W(polls). */
#define RATE_W(id) (SCHEDRT_M_##id)
/* Index of a global metric in the GLOBAL list, e.g. RATE_G(spawned). */
#define RATE_G(id) (SCHEDRT_M_##id - SCHEDRT_M__GLOBAL_FIRST)

#endif
