/*
 * Two dumps of one runtime compared (`sched-inspect diff A B`, and the live
 * view's compare key): tasks that appeared and finished, tasks stalled in
 * between, new lost wake-ups and deadlocks, and per spawn site and per worker
 * what changed and how many polls per second ran. No curses.
 *
 * Tasks are matched by id (ids are never reused within a runtime; a repeated
 * id counts once, its first task). A task is stalled when it is idle in both
 * dumps, was not polled in between (same poll count), and its idle time grew
 * by the time between the dumps, within DIFF_STALL_MARGIN_PERMILLE of it or
 * DIFF_STALL_MARGIN_MIN_NS, whichever is larger: both idle times count from
 * the same instant, so they differ by exactly the interval, and the margin
 * only absorbs rounding; a task woken and idle again since would show a
 * shorter growth (and more polls).
 */
#ifndef INSPECT_DUMP_DIFF_H
#define INSPECT_DUMP_DIFF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dump_waits.h"
#include "schedrt/dump_read.h"

#define DIFF_STALL_MARGIN_PERMILLE 50u      /* 5 % of the interval ... */
#define DIFF_STALL_MARGIN_MIN_NS 5000000ull /* ... or 5 ms */

/* One spawn site (file, line, function) as either dump has it. */
typedef struct diff_site {
  const schedrt_dump_site *site; /* B's entry, else A's; NULL: tasks without a known site */
  size_t tasks_a, tasks_b, appeared, finished;
  /* Polls between the dumps: B's polls of its tasks, plus A's for those that finished (their last known
   * count), minus A's of its tasks. Tasks that finished add no polls; new ones add all of theirs. */
  uint64_t polls;
  double polls_per_s; /* NAN when the dumps were taken at the same instant */
} diff_site;

typedef struct diff_worker {
  uint64_t index;
  int has_polls;      /* both dumps carry its poll_time histogram (per-poll timing) */
  uint64_t polls;     /* polls between the dumps (histogram counts) */
  double polls_per_s; /* NAN without has_polls or interval */
  int64_t local_a, local_b;
} diff_worker;

typedef struct dump_diff {
  const schedrt_dump_doc *a, *b; /* in time order: a taken first */
  int swapped;                   /* the files were given newest first */
  uint64_t interval_ns;          /* b taken - a taken */
  uint64_t margin_ns;            /* the stall test's margin */
  /* Task indexes: appeared and new_lost in b, finished in a; stalled in b with stalled_a in a. */
  size_t *appeared, *finished, *stalled, *stalled_a, *new_lost;
  size_t nappeared, nfinished, nstalled, nnew_lost;
  size_t ndeadlocks_b, nnew_deadlocks; /* cycles in b; those with a member not deadlocked in a */
  dump_waits waits_a, waits_b;
  diff_site *sites; /* the biggest change in task count first, then the most polls per second */
  size_t nsites;
  diff_worker *workers; /* b's workers */
  size_t nworkers;
} dump_diff;

/*
 * 0 when a and b are dumps of the same runtime (pid, process start time,
 * boot id and the runtime's start agree); else -1 and a sentence in err.
 */
int dump_diff_same_runtime(const schedrt_dump_doc *a, const schedrt_dump_doc *b, char *err, size_t errsize);

/* Compares a and b (which must outlive the diff), swapping them when b was taken before a. Fails hard on
 * ENOMEM. Call dump_diff_same_runtime first: ids of two processes mean nothing to each other. */
void dump_diff_build(const schedrt_dump_doc *a, const schedrt_dump_doc *b, dump_diff *out);
void dump_diff_free(dump_diff *df);

/* The headlines in one line, for the live view's status line: "2 new lost wake-ups, 3 stalled, 1 deadlock
 * (1 new), +5 -2 tasks in 1.50s" (deadlocks only when B has one). Returns buf. */
char *dump_diff_summary(char *buf, size_t size, const dump_diff *df);

/* The text report: headlines first, then the lists and tables. name_a/name_b label the dumps (file names);
 * at most max_listed tasks per list (0: all). */
void dump_diff_print(const dump_diff *df, FILE *f, const char *name_a, const char *name_b, size_t max_listed);

/* The same as JSON (new reference); every task listed. */
json_t *dump_diff_json(const dump_diff *df, const char *name_a, const char *name_b);

#endif
