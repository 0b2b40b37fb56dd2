/*
 * The runtimes an exposition covers: every metrics segment of this user
 * (every user's for root) in the shm directory, or those of one pid, kept
 * open from one collection to the next so that a scrape costs a directory
 * walk and one snapshot per runtime, not an open and a validation each.
 *
 * Runtimes come and go between collections: a new name is opened, a name
 * that went away is closed, a segment found STALE or EXITING is marked gone
 * and not opened again while its name stays in the directory (a leftover of
 * a crashed process must not cost every scrape an open). A process that
 * vanishes during a collection is skipped, never an error for the others.
 */
#ifndef INSPECT_OM_TARGETS_H
#define INSPECT_OM_TARGETS_H

#include <stddef.h>
#include <sys/types.h>

#include "openmetrics.h"

typedef struct om_target om_target; /* one segment (om_targets.c) */

typedef struct om_targets {
  const char *shm_dir; /* NULL: /dev/shm */
  pid_t pid;           /* 0: every runtime */
  size_t max_targets;  /* the first this many live runtimes by pid; 0: no limit */
  /* A leak check (om_leaks.h: a task dump) of each runtime at most this often; 0: none (the default,
   * set after om_targets_init). */
  uint64_t leak_period_ns;
  om_target **v;
  size_t n, cap;
  om_source *srcs; /* what the last collection read, for om_render */
  size_t nsrcs;
  unsigned mark;
} om_targets;

void om_targets_init(om_targets *t, const char *shm_dir, pid_t pid, size_t max_targets);
void om_targets_fini(om_targets *t);

/*
 * Walks the directory, opens new segments, closes vanished ones and takes a
 * snapshot of each live or hung runtime (histograms too when it records
 * them), in pid order. Fills t->srcs / t->nsrcs and adds to st->skipped
 * what was left out and why. 0, -ENOMEM, or -errno when the directory
 * cannot be read.
 */
int om_targets_collect(om_targets *t, om_scrape_stats *st);

#endif
