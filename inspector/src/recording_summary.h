/*
 * What `sched-inspect show FILE` says about a recording: per worker the
 * local queue depth (p50, max), busy %, polls, steals and parks over the
 * recording, and its stuck episodes with their tasks. The samples go through
 * the live view's model (snapshot_model.h), so a worker is stuck in a
 * recording exactly when the live view would have drawn it red at that
 * refresh. No curses.
 */
#ifndef INSPECT_RECORDING_SUMMARY_H
#define INSPECT_RECORDING_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "recording.h"

#define REC_EPISODES_KEPT 10000u /* per worker; beyond, they are only counted */

/* A worker stuck in one poll over consecutive samples (or a long poll the runtime counted between two). */
typedef struct rec_episode {
  uint64_t start_ns;    /* since the first sample: when the poll began, as far as known */
  uint64_t realtime_ns; /* the same on the wall clock */
  uint64_t duration_ns; /* the longest running time seen (a lower bound of the poll's length) */
  uint64_t task;        /* 0: not named (a long poll that ended between two samples) */
  char name[25];        /* as the segment named the task ("" when it did not) */
  char file[57];
  uint32_t line;
  uint32_t samples; /* samples that saw it */
} rec_episode;

typedef struct rec_worker_summary {
  uint32_t index;
  uint64_t samples;              /* samples with a consistent read of this worker */
  uint64_t depth_p50, depth_max; /* local queue, LIFO excluded */
  double busy_pct;               /* busy time over the time between its samples; NAN with fewer than two */
  uint64_t polls, steals, parks; /* counted between the first sample and the last */
  rec_episode *episodes;
  size_t nepisodes;      /* kept */
  uint64_t episodes_all; /* all of them */
} rec_worker_summary;

typedef struct rec_summary {
  uint64_t stuck_ns; /* the threshold used */
  size_t samples;
  uint64_t first_mono_ns, last_mono_ns, first_realtime_ns;
  uint64_t inject_p50, inject_max, alive_max;
  uint32_t nworkers; /* the most any sample had */
  uint32_t nslots;   /* entries of w: the header's max_workers */
  rec_worker_summary *w;
} rec_summary;

/* Reads every sample of r. stuck_ns 0: the live view's default (10 ms). 0 or -ENOMEM. */
int rec_summarize(const recording *r, uint64_t stuck_ns, rec_summary *out);
void rec_summary_free(rec_summary *s);

/* The report; max_episodes per worker (0: all kept). */
void rec_summary_print(const recording *r, const rec_summary *s, FILE *f, size_t max_episodes);
/* The same for scripts (every kept episode). */
json_t *rec_summary_json(const recording *r, const rec_summary *s);

#endif
