/*
 * Orders of the worker table (the TUI's `s` key cycles through them). No curses.
 */
#ifndef INSPECT_WORKER_SORT_H
#define INSPECT_WORKER_SORT_H

#include <stdint.h>

#include "snapshot_model.h"

typedef enum worker_sort_key {
  WSORT_INDEX = 0, /* worker number, ascending */
  WSORT_DEPTH,     /* local queue depth, deepest first */
  WSORT_POLLS,     /* polls/s, highest first */
  WSORT_STEALS,    /* steals/s */
  WSORT_BUSY,      /* busy % */
  WSORT_RUNNING,   /* how long the current poll has run: stuck workers first */
  WSORT__COUNT
} worker_sort_key;

/* "worker", "depth", "polls/s", "steals/s", "busy%", "running". */
const char *worker_sort_name(worker_sort_key k);
/* The next key after k, wrapping. */
worker_sort_key worker_sort_next(worker_sort_key k);

/* Fills order[0..n) with worker indexes sorted by key; ties keep worker order. */
void worker_sort(const worker_view *views, uint32_t n, worker_sort_key key, uint32_t *order);

#endif
