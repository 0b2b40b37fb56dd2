/*
 * What the live views show, computed from consecutive snapshots: per-worker
 * rows (rates, busy %, how long the current poll has run, stuck or not, a
 * depth history for the sparkline) and the header figures. No curses: the
 * TUI, `stat` and the JSON export all read this model, and the unit tests
 * feed it hand-made snapshots.
 *
 * Once the target has exited (segment EXITING or STALE) the model stops
 * replacing its data, so the last live picture stays on screen under the
 * banner; only the liveness and the heartbeat age keep moving.
 */
#ifndef INSPECT_SNAPSHOT_MODEL_H
#define INSPECT_SNAPSHOT_MODEL_H

#include <stdint.h>

#include "hist.h"
#include "schedrt/reader.h"
#include "site_model.h"

#define MODEL_HISTORY 128u /* depth samples kept per worker */
#define MODEL_HIST_PERIOD_NS (500u * 1000u * 1000u)
#define MODEL_DEFAULT_STUCK_NS (10u * 1000u * 1000u) /* Go's sysmon: 10 ms */

/* One latency histogram of one worker (poll_time or sched_latency). */
typedef struct histo_view {
  hist_summary run;  /* since the runtime started: the buckets are cumulative */
  hist_summary last; /* between the last two snapshots (their difference) */
  int have_last;     /* both snapshots carried histograms: `last` is known */
} histo_view;

typedef struct worker_view {
  uint32_t index;
  uint32_t state;                      /* enum schedrt_worker_state */
  int torn;                            /* no consistent read: the values are not known */
  uint64_t depth;                      /* local queue, LIFO excluded (Tokio's definition) */
  int lifo;                            /* LIFO slot occupied */
  double rate[SCHEDRT_M__WSLOT_COUNT]; /* per second for counters, NAN for gauges/unknown */
  double busy_pct;                     /* NAN until two snapshots */
  uint64_t current_task;               /* 0: none */
  /* What the runtime's monitor published about a long poll ("" / 0: not yet). */
  char current_name[25];
  char current_file[57];
  uint32_t current_line;
  uint64_t running_ns; /* how long the current poll has run, a lower bound; 0 when idle */
  /* The runtime counted a long poll of this worker since the previous
   * snapshot (its long_polls or last_long_poll_ns moved), at least the
   * model's threshold long: long_poll_ns, as the runtime's monitor saw it.
   * Polls a snapshot never lands in are caught this way. */
  int long_poll;
  uint64_t long_poll_ns;
  int stuck; /* running_ns >= the model's threshold, or long_poll */
  /* What held the worker (layout 2.5, enum schedrt_stall_kind) in its current or last long poll, as the
   * runtime classified it; 0 none yet. The syscall (+ 1) and CPU share go with it. */
  uint32_t stall_kind;
  uint64_t stall_syscall, stall_cpu_pct;
  uint64_t os_tid;
  /* Our own record of the poll in progress: the poll sequence (`polls`) and
   * the reader clock when we first saw it, so a poll is known to be long
   * even before the runtime's monitor has stamped it. */
  uint64_t seen_polls, seen_task, seen_since_ns;
  /* With histograms in the latest snapshot (see model_show_histograms). */
  int have_histo;
  histo_view histo[SCHEDRT_M__HIST_COUNT]; /* HIST list order: HIST_ID(poll_time) ... */
} worker_view;

typedef struct global_view {
  schedrt_liveness liveness;
  uint32_t seg_state;
  uint32_t nworkers;
  int target_gone;   /* exited or stale: data frozen at the last live snapshot */
  int have_rates;    /* two snapshots seen */
  uint64_t dt_ns;    /* between the last two snapshots */
  uint64_t taken_ns; /* reader clock of the latest snapshot */
  uint64_t uptime_ns;
  uint64_t hb_age_ns;                       /* writer clock since the last heartbeat */
  uint64_t hb_stalled_ns;                   /* reader clock since the heartbeat last moved */
  uint64_t values[SCHEDRT_M__GLOBAL_COUNT]; /* GLOBAL list order */
  double grate[SCHEDRT_M__GLOBAL_COUNT];    /* per second for counters, NAN otherwise */
  double polls_per_s, steals_per_s, parks_per_s, busy_pct;
  uint64_t total_depth;
  uint32_t nrunning, nsearching, nparked, nstuck, ntorn;
  int stuck_known;    /* 0: the process was gone at the first snapshot, nstuck means nothing */
  uint64_t snapshots; /* taken so far */
  uint64_t retries;   /* seqlock retries, cumulative */
} global_view;

typedef struct inspect_model {
  schedrt_snapshot snap[2];
  int cur;    /* snap[cur] is the latest accepted; snap[!cur] the previous, then the spare */
  int nsnaps; /* accepted snapshots, saturating at 2 */
  int raw;    /* arrays allocated here (model_init_raw), not by the reader */
  uint32_t max_workers;
  uint64_t create_mono_ns;
  uint64_t stuck_ns;
  /* The target's long-poll threshold (segment info, layout 2.4): the
   * runtime counts polls at least this long; 0: it counts none. */
  uint64_t long_poll_ns;
  worker_view *w; /* [max_workers] */
  uint32_t *hist; /* [max_workers][MODEL_HISTORY] ring of depths */
  uint32_t hist_head, hist_len;
  /* One history sample per period (the deepest depth seen in it), whatever the
   * refresh rate: at 10 Hz the sparkline would otherwise scroll, and be redrawn,
   * ten times a second, and cover only a few seconds. 0: one per snapshot. */
  uint64_t hist_period_ns;
  uint64_t hist_started_ns; /* reader clock when the newest sample's period began */
  /* Latency histograms. Copying them costs 2 x 62 counters per worker and
   * snapshot, so they are taken only while something shows them. */
  int timing;           /* the segment records them (SCHEDRT_SHM_F_TIMING) */
  unsigned histo_users; /* model_refresh takes histograms while > 0 */
  uint32_t nbuckets;    /* bucket bounds, from the segment */
  uint64_t bucket_upper[SCHEDRT_READER_MAX_BUCKETS];
  uint64_t *bucket_last; /* [max_workers][SCHEDRT_M__HIST_COUNT][nbuckets]: the last interval's counts */
  global_view g;
  /* Spawn sites (layout 2.5), read with every model_refresh; empty (cap 0)
   * for an older writer and in model_init_raw's models until set up. */
  site_model sites;
} inspect_model;

/* For a reader's segment. 0 or -ENOMEM. stuck_ns 0: the default. */
int model_init(inspect_model *m, const schedrt_reader *r, uint64_t stuck_ns);
/* Without a reader (tests): max_workers slots, the writer's creation time. */
int model_init_raw(inspect_model *m, uint32_t max_workers, uint64_t create_mono_ns, uint64_t stuck_ns);
/* The histograms' bucket bounds (n <= SCHEDRT_READER_MAX_BUCKETS) and whether the
 * segment records them; model_init takes both from the segment. 0 or -ENOMEM. */
int model_set_buckets(inspect_model *m, const uint64_t *upper, uint32_t n, int timing);
void model_fini(inspect_model *m);

/* The snapshot to fill next (with schedrt_snapshot_take or by hand). */
schedrt_snapshot *model_spare(inspect_model *m);
/* Accepts the spare as the latest snapshot (unless the target is gone and
 * we already have data) and recomputes every view. */
void model_advance(inspect_model *m);
/* schedrt_snapshot_take into the spare, then model_advance. Returns the
 * reader's result (0, or SCHEDRT_ETORN for a partly torn snapshot that is
 * still used, or another error, after which nothing changed). */
int model_refresh(inspect_model *m, schedrt_reader *r, unsigned snap_flags);

/* Someone starts (on) or stops (!on) showing histograms: model_refresh takes
 * them while anyone does and the segment records them. */
void model_show_histograms(inspect_model *m, int on);
/* Worker w's counts of histogram h (HIST_ID) over the last interval, or NULL
 * when it is not known (histo_view.have_last). */
const uint64_t *model_histo_last(const inspect_model *m, uint32_t w, uint32_t h);

/* The latest accepted snapshot, or NULL before the first. */
const schedrt_snapshot *model_current(const inspect_model *m);

/* Copies up to n of worker w's most recent depths, oldest first; returns how many. */
uint32_t model_depth_history(const inspect_model *m, uint32_t w, uint32_t *out, uint32_t n);

#endif
