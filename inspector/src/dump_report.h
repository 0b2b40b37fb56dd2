/* The text report of `sched-inspect show FILE`. No curses. */
#ifndef INSPECT_DUMP_REPORT_H
#define INSPECT_DUMP_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "dump_model.h"

/* Summary, workers, then tasks grouped by await point and state, longest idle
 * first, at most per_group tasks listed per group (0: all). */
void dump_report_print(const dump_model *m, FILE *f, size_t per_group);

/* "await \"label\" at file:line" / "no await point"; returns buf. */
char *dump_await_text(char *buf, size_t size, const char *label, const char *file, long long line);
/* "spawned at file:line (func)" / ""; returns buf. */
char *dump_spawn_text(char *buf, size_t size, const dump_task *t);

#endif
