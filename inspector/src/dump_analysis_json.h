/*
 * The findings of dump_analysis.c as JSON, for `show --json`: the top-level
 * "analysis" object next to the dump's own keys, so scripts need not
 * recompute lost wake-ups, deadlocks, wait chains or stuck workers. Sites in
 * full (the text outputs shorten them, JSON never does). No curses.
 */
#ifndef INSPECT_DUMP_ANALYSIS_JSON_H
#define INSPECT_DUMP_ANALYSIS_JSON_H

#include <jansson.h>

#include "dump_analysis.h"

/* Lists longer than these are cut (the counts stay whole): a million-task chain is not a script's input. */
#define ANALYSIS_JSON_MAX_CHAINS 100
#define ANALYSIS_JSON_MAX_CHAIN_IDS 64
#define ANALYSIS_JSON_MAX_AWAITS 20

/* The "analysis" object (new reference). */
json_t *dump_analysis_json(const dump_analysis *a);

/* What `show --json` prints: the faithful conversion (dump_json) with "analysis" added at the end. d must
 * be loaded with SCHEDRT_DUMP_KEEP_CBOR. */
json_t *dump_json_with_analysis(const schedrt_dump_doc *d);

/* One task as the analysis and the diff list it: id, name, state, for_ns, polls, await, spawn, wakers,
 * timers, waits_for (new reference). */
json_t *dump_task_json(const schedrt_dump_doc *d, size_t i);

#endif
