/*
 * A task dump as the report and the viewer show it: the dump itself is a
 * schedrt_dump_doc from the one decoder (common/src/dump_read.c, on libcbor);
 * this adds the sorting and the grouping by await point and state. No curses.
 */
#ifndef INSPECT_DUMP_GROUP_H
#define INSPECT_DUMP_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/dump_read.h"

/* How sched-inspect loads a dump: texts safe for a terminal, and a path the
 * user typed may be a symbolic link. `show --json` adds SCHEDRT_DUMP_KEEP_CBOR. */
#define INSPECT_DUMP_FLAGS (SCHEDRT_DUMP_PRINTABLE | SCHEDRT_DUMP_FOLLOW)

/* For how long a task has been in its state; 0 when the dump does not say (running). */
static inline uint64_t dump_task_state_ns(const schedrt_dump_task *t) {
  return t->state_ns < 0 ? 0 : (uint64_t)t->state_ns;
}

/* How long a task has been in its state: state_ns, or for a running task its worker's running_ns;
 * SCHEDRT_DUMP_NONE when the dump does not say. */
int64_t dump_task_for_ns_opt(const schedrt_dump_doc *d, const schedrt_dump_task *t);
/* The same, 0 when the dump does not say (for sorting). */
static inline uint64_t dump_task_for_ns(const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  int64_t ns = dump_task_for_ns_opt(d, t);
  return ns < 0 ? 0 : (uint64_t)ns;
}

/* ---------------------------------------------------------------- sorting */

typedef enum task_sort_key {
  TSORT_STATE = 0, /* state, then idle time (longest first) */
  TSORT_IDLE,      /* idle time, longest first */
  TSORT_NAME,
  TSORT_WORKER,
  TSORT_ID,
  TSORT_POLLS, /* polls, most first: the busiest tasks */
  TSORT__COUNT
} task_sort_key;

const char *task_sort_name(task_sort_key k);
task_sort_key task_sort_next(task_sort_key k);
/* order[0..ntasks) = task indexes sorted by key (reverse flips it). */
void dump_sort_tasks(const schedrt_dump_doc *d, task_sort_key key, int reverse, size_t *order);

/* --------------------------------------------------------------- grouping */

/* Tasks sharing an await point (label, file, line) and a state. */
typedef struct task_group {
  const char *await_label, *await_file; /* both NULL: no await point recorded */
  int64_t await_line;
  uint32_t state; /* enum schedrt_dump_state (__COUNT: unknown) */
  size_t count;
  uint64_t max_idle_ns; /* the longest in its state (running: its worker's running_ns) */
  size_t *members;      /* task indexes, longest idle first */
} task_group;

/* Groups of d's tasks, the group with the longest idle task first. *out freed with dump_groups_free. */
int dump_group_tasks(const schedrt_dump_doc *d, task_group **out, size_t *n);
void dump_groups_free(task_group *g, size_t n);

#endif
