/* The text report of `sched-inspect show FILE`. No curses. */
#ifndef INSPECT_DUMP_REPORT_H
#define INSPECT_DUMP_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "dump_group.h"

/* Summary, workers, then tasks grouped by await point and state, longest idle
 * first, at most per_group tasks listed per group (0: all). */
void dump_report_print(const schedrt_dump_doc *d, FILE *f, size_t per_group);

/* "await \"label\" at file:line" / "no await point recorded"; returns buf. */
char *dump_await_text(char *buf, size_t size, const char *label, const char *file, long long line);
/* "spawned at file:line (func)" / "spawn site unknown"; returns buf. */
char *dump_spawn_text(char *buf, size_t size, const schedrt_dump_doc *d, const schedrt_dump_task *t);
/* A count, duration or task id that the dump may leave out (SCHEDRT_DUMP_NONE): "-" then. */
char *dump_opt_count(char *buf, size_t size, int64_t v);
char *dump_opt_duration(char *buf, size_t size, int64_t ns);

#endif
