/*
 * The waits-for graph of a dump: an idle task whose last poll registered on
 * another task's join handle (wait "join", wait_for its id) waits for that
 * task; so does one that waits on a mutex (dump 1.2: wait_for is its owner)
 * or on a semaphore that exactly one task holds permits of (its holder). Following those edges gives wait
 * chains (A waits for B waits for C) and cycles: tasks that wait for each other, none of which can finish
 * first. A cycle is a deadlock. No curses.
 *
 * Only idle tasks have edges: a task that is queued or running was woken
 * and looks again, so it waits for nothing yet. Each task has at most one
 * edge, so the graph is functional and one walk over it finds every cycle.
 *
 * The dump is untrusted: ids may repeat (an edge then goes to the first task
 * with that id, as schedrt_dump_find_task has it), an edge may name a task
 * that is not in the dump (it finished, or never existed), chains may be a
 * million tasks long. Building is O(n log n) (sorting the ids) and never
 * recursive; memory is a few words per task.
 */
#ifndef INSPECT_DUMP_WAITS_H
#define INSPECT_DUMP_WAITS_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/dump_read.h"

/* No task: an index that is never valid. */
#define WAITS_NONE SIZE_MAX

/* Members in waiting order: members[i] waits for members[i + 1], the last for members[0]. The first is
 * the member with the smallest id. */
typedef struct wait_cycle {
  size_t *members; /* task indexes */
  size_t n;
} wait_cycle;

/* Where a chain stops. */
typedef enum wait_end {
  WAIT_END_TASK = 0, /* at a task that waits for no other (running, queued, idle on something else) */
  WAIT_END_MISSING,  /* at an id the dump does not hold: that task finished */
  WAIT_END_CYCLE,    /* it runs into a cycle */
} wait_end;

typedef struct dump_waits {
  size_t ntasks;
  /* Per task index. */
  size_t *next;       /* the task it waits for, or WAITS_NONE (no edge, or the id is not in the dump) */
  size_t *depth;      /* edges from it to where its chain stops (0: it waits for no task) */
  size_t *end;        /* the task where its chain stops (itself when it waits for no task or is in a cycle) */
  size_t *waited_by;  /* idle tasks waiting for it */
  size_t *cycle_of;   /* index into cycles + 1, or 0: in no cycle */
  wait_cycle *cycles; /* sorted by their first member's id */
  size_t ncycles;
  size_t *pool; /* every cycle's members (the cycles point into it) */
  /* Chain heads: tasks with an edge, in no cycle, that no task waits for; longest chain first. */
  size_t *heads;
  size_t nheads;
  /* (id, index) sorted by id, first index for a repeated id: lookups. */
  struct waits_id *ids;
  size_t nids;
} dump_waits;

/* Builds the graph of d (which must outlive w). Fails hard on ENOMEM, as the rest of sched-inspect. */
void dump_waits_build(const schedrt_dump_doc *d, dump_waits *w);
void dump_waits_free(dump_waits *w);

/* The index of the first task with this id, or WAITS_NONE. O(log n). */
size_t dump_waits_find(const dump_waits *w, uint64_t id);

/* Task i's edge: 1 when it waits for a join, a mutex's owner or a semaphore's only holder (idle, wait_for
 * set); *id the task it waits for. */
int dump_waits_edge(const schedrt_dump_doc *d, size_t i, uint64_t *id);

/*
 * Where the chain from task i stops: the kind, and *last the index of the
 * last task on it (for MISSING: the task that waits for the absent id; for
 * CYCLE: the task of the cycle it reaches, i itself when in one). O(1).
 */
wait_end dump_waits_chain_end(const schedrt_dump_doc *d, const dump_waits *w, size_t i, size_t *last);

/* Whether task i is in a cycle (a deadlock). */
static inline int dump_waits_in_cycle(const dump_waits *w, size_t i) {
  return i < w->ntasks && w->cycle_of[i] != 0;
}

#endif
