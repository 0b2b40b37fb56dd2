/*
 * JSON for scripts, through jansson (no hand-escaping). The metric fields are
 * generated from the metric list (metrics_def.h), so a metric added there
 * shows up in `stat --json` without a change here. No curses.
 */
#ifndef INSPECT_JSON_EXPORT_H
#define INSPECT_JSON_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "attach.h"
#include "schedrt/reader.h"
#include "snapshot_model.h"

/* One `list` entry. now_real: CLOCK_REALTIME for the uptime. */
json_t *json_segment_entry(const schedrt_segment_entry *e, uint64_t now_real);

/*
 * One `stat --json` sample: time, pid, liveness, uptime, heartbeat, the global
 * metrics (raw, plus "<name>_per_s" for counters) and per worker the same,
 * plus busy_pct, running_ns, stuck, stuck_task (the task of a stuck worker:
 * id, name, spawn_file, spawn_line, running_ns; or null) and per histogram of
 * the list "<name>", "<name>_per_s", "<name>_p50_ns", "<name>_p99_ns" (null
 * without SCHEDRT_TIMING; m must take histograms: model_show_histograms).
 */
json_t *json_stat_sample(const inspect_target *t, const inspect_model *m, uint64_t now_real);

/* Writes j to f (compact on one line, or indented) and a newline; steals j. 0 or -EIO. */
int json_emit(json_t *j, FILE *f, int compact);
/* A JSON string of s (NULL: ""), with bytes that are not UTF-8 as '?' (text from another process). */
json_t *json_text(const char *s);

/* A JSON integer for v; above INT64_MAX (jansson's integers are int64) its decimal digits as a string. */
json_t *json_u64(uint64_t v);
/* A JSON integer for v, null when negative (a dump's "unknown"). */
json_t *json_opt_i64(int64_t v);

/* A JSON number for a double, null for NAN/infinity (which JSON cannot hold). */
json_t *json_rate(double v);

#endif
