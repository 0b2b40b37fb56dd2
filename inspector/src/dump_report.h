/* The text report of `sched-inspect show FILE`. No curses. */
#ifndef INSPECT_DUMP_REPORT_H
#define INSPECT_DUMP_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "dump_analysis.h"
#include "dump_group.h"
#include "dump_text.h"

/*
 * What needs attention first (stuck workers, lost wake-ups, deadlocks, wait
 * chains, the longest-idle await points), then each worker and each spawn
 * site at a glance, then the dump's details, the worker table, latency
 * histograms at dump time, and the tasks grouped by await point and state
 * (the running first, then the longest idle), at most per_group tasks listed
 * per group (0: all).
 */
void dump_report_print(const schedrt_dump_doc *d, FILE *f, size_t per_group);

#endif
