/*
 * The OpenMetrics text exposition (and the older Prometheus text format
 * 0.0.4) of snapshots of one or more runtimes: what `stat --format
 * openmetrics` prints and `serve` answers on /metrics.
 *
 * Every family comes from a segment's own descriptor table (generated from
 * the one metric list, metrics_def.h): its name, kind, unit and help. The
 * naming rule, in one place (docs/inspector.md, "OpenMetrics"):
 *   schedrt_[worker_]<name>, a unit "ns" turned into seconds (the name's
 *   "_ns" replaced by "_seconds", values and bucket bounds divided by 1e9,
 *   `# UNIT ... seconds`); counters sampled as <family>_total, histograms
 *   as <family>_bucket{le=...} with the segment's bounds. Units that count
 *   things (tasks, events, ...) are no OpenMetrics unit: the help names
 *   them in brackets.
 * Labels: pid, comm, runtime, runtime_index on every sample, worker on the
 * per-worker ones.
 * Spawn sites (layout 2.5) are the families schedrt_site_<counter> of the
 * site counter list (SCHEDRT_SITE_COUNTERS, the same rule for names and
 * units) and the gauge schedrt_site_alive, labelled site="file:line" and
 * func. The label sets are bounded: the first OM_MAX_SITES sites of a
 * runtime's table (its order never changes, so a series never moves) get
 * their own, the rest and the overflow row are summed under site="other".
 * With a leak check (om_leaks.h), the gauge schedrt_site_proven_leaked has
 * the same labels: tasks proven leaked (docs/forensics.md), a family apart
 * from every suspicion.
 * No curses, no I/O: the caller writes the text.
 */
#ifndef INSPECT_OPENMETRICS_H
#define INSPECT_OPENMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/reader.h"

typedef enum om_dialect {
  OM_OPENMETRICS = 0, /* application/openmetrics-text; version=1.0.0 */
  OM_PROMETHEUS = 1,  /* text/plain; version=0.0.4 (what promtool check metrics reads) */
} om_dialect;

#define OM_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define OM_CONTENT_TYPE_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/*
 * The dialect for a request's Accept header (NULL: none): OpenMetrics,
 * unless the header names text/plain and not application/openmetrics-text
 * (a scraper that only knows the 0.0.4 format). q-values are not weighed.
 */
om_dialect om_negotiate(const char *accept);

/* One runtime to expose: its segment's facts and descriptors, and a snapshot. */
#define OM_MAX_SITES 32u

typedef struct om_source {
  const schedrt_segment_info *info;
  const schedrt_reader_desc *desc; /* the segment's descriptor table, ndesc entries */
  size_t ndesc;
  const schedrt_snapshot *snap; /* taken with SCHEDRT_SNAP_HISTOGRAMS when the segment has TIMING */
  /* For the values of descriptors this build does not know (schedrt_snapshot_raw); NULL: they are
   * left out. */
  const schedrt_reader *reader;
  const schedrt_site_snap *sites; /* schedrt_reader_sites of the same moment; NULL, 0: none */
  uint32_t nsites;
  /* A leak check's proven leaked tasks (om_leaks.h) per row of sites, and those whose spawn site is
   * none of the rows (summed under site="other"); NULL: no check, no schedrt_site_proven_leaked. */
  const uint64_t *site_proven;
  uint64_t proven_unplaced;
} om_source;

/* Why a runtime found on the host is not in an exposition (serve's own metric says how many). */
typedef enum om_skip_reason {
  OM_SKIP_MAX_TARGETS = 0, /* beyond --max-targets */
  OM_SKIP_MAX_BYTES,       /* its samples would have passed --max-bytes */
  OM_SKIP_GONE,            /* exited (or began exiting) since the last look */
  OM_SKIP_STARTING,        /* its segment is not ready yet */
  OM_SKIP_UNREADABLE,      /* its segment failed validation (corrupt, foreign, newer major) */
  OM_SKIP__COUNT
} om_skip_reason;

/* The reason as the `reason` label writes it: "max_targets", ... */
const char *om_skip_reason_name(om_skip_reason r);

/* What one scrape did, for the sched_inspect_* families that `serve` adds. */
typedef struct om_scrape_stats {
  unsigned exported;
  unsigned skipped[OM_SKIP__COUNT];
} om_scrape_stats;

/*
 * Renders the n sources into *out (malloc'ed, NUL-terminated, *len bytes
 * without the NUL), families in the order the first source lists them, each
 * family's samples grouped (as OpenMetrics requires), sources in the given
 * order. max_bytes (0: no limit) bounds the samples: a source whose samples
 * would take the total past it is left out whole and counted in
 * stats->skipped[OM_SKIP_MAX_BYTES]; metadata lines come on top. With
 * stats (may be NULL), stats->exported is set and the exporter's own
 * families (sched_inspect_targets, sched_inspect_targets_skipped) are added.
 * The OpenMetrics dialect ends with "# EOF". 0 or -ENOMEM.
 */
int om_render(const om_source *srcs, size_t n, om_dialect d, size_t max_bytes, om_scrape_stats *stats,
              char **out, size_t *len);

#endif
