/*
 * Recordings: a runtime's snapshots over time in one file, a CBOR sequence
 * (RFC 8742) that `sched-inspect record` writes and `show`, `plot` and the
 * replay read (docs/recording-format.md). One header item describes the
 * recording (the process, the metric descriptors as the reader library gives
 * them, the histogram bounds), then one item per sample, then, when the
 * recorder ended on its own, a trailer saying why.
 *
 * The writer (recording_write.c) encodes with libcbor's streaming encoders
 * and hands each item to the kernel in one write, so a recorder killed at
 * any moment leaves every whole sample readable. The reader
 * (recording_read.c) treats the file as hostile input: every size and count
 * is bounded, an incomplete last item (the recorder killed mid-write) is
 * reported and left out, anything else malformed is an error with a message
 * saying where. No curses; the fuzz target links the reader alone.
 */
#ifndef INSPECT_RECORDING_H
#define INSPECT_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/reader.h"

#define REC_FORMAT "schedrt-recording"
#define REC_VERSION_MAJOR 1u
#define REC_VERSION_MINOR 0u
#define REC_MAX_SIZE (1ull << 30) /* a larger file is refused (at 100 ms, 2 workers: weeks) */
#define REC_MAX_METRICS 1024u     /* as the segment's descriptor table */
#define REC_MAX_WORKERS 4096u     /* as the segment's max_workers */
#define REC_MAX_BUCKETS SCHEDRT_READER_MAX_BUCKETS
#define REC_END_MAX 16u

typedef enum rec_kind { REC_COUNTER = 0, REC_GAUGE, REC_HISTOGRAM } rec_kind;
typedef enum rec_scope { REC_GLOBAL = 0, REC_WORKER } rec_scope;

/* One metric descriptor of the header (the segment's, as schedrt_reader_desc_at gives it). */
typedef struct rec_metric {
  char name[33];
  char unit[17];
  char help[65];
  rec_kind kind;
  rec_scope scope;
  uint32_t count; /* values: 1, or the histogram's buckets */
  int known_id;   /* this build's enum schedrt_metric_id of that name and scope, or -1 */
} rec_metric;

typedef struct rec_header {
  uint32_t version_major, version_minor;
  char recorder[65]; /* "sched-inspect 0.1.0" */
  uint32_t pid;
  char runtime[33], runtime_version[33], comm[17];
  uint32_t runtime_index;
  uint32_t layout_major, layout_minor;
  int timing; /* samples carry histograms */
  uint32_t max_workers, nworkers;
  uint32_t local_queue_cap, heartbeat_period_ms, long_poll_ms;
  uint64_t interval_ns;
  uint64_t created_mono_ns; /* the segment's creation, on the writer's clock */
  uint64_t started_mono_ns, started_realtime_ns;
  rec_metric *metrics;
  uint32_t nmetrics;
  /* How the samples' arrays follow the descriptors (derived at load). */
  uint32_t nworker_values; /* worker scope, not histograms: each worker's "values" */
  uint32_t nglobal_values; /* global scope: the sample's "global" */
  uint32_t nhist;          /* histograms: each worker's "histograms" when timing */
  uint32_t nbuckets;
  uint64_t bounds[REC_MAX_BUCKETS]; /* histogram_bounds_ns */
} rec_header;

typedef struct recording {
  rec_header h;
  uint8_t *data; /* the whole file */
  size_t len;
  size_t *sample_off; /* where each sample item starts in data */
  size_t nsamples;
  char end[REC_END_MAX]; /* the trailer's reason ("signal", "exited", ...), "" without one */
  size_t tail_bytes;     /* an incomplete last item left out (the recorder was killed writing it) */
} recording;

/* ------------------------------------------------------------- reading */

/* 1 when the bytes open like a recording (the tagged header's "format" is REC_FORMAT), else 0. Reads at
 * most the first item's opening; a dump, or anything else, is 0. */
int rec_sniff(const uint8_t *data, size_t len);
/* The same for the file at path: 1, 0, or -errno when it cannot be read. */
int rec_sniff_file(const char *path);

/*
 * Decodes a whole recording from memory (copied) and checks every sample, so
 * that rec_sample_read cannot fail afterwards on well-sized snapshots. 0, or
 * SCHEDRT_EMAGIC (not a recording), SCHEDRT_EVERSION (another major),
 * SCHEDRT_ECORRUPT (truncated before the first sample, malformed, a count
 * or size out of bounds) or -ENOMEM, with a one-line message in err that
 * says where ("sample 12: workers[1].values: expected 19 values, found 3
 * (byte 5120)").
 */
int rec_parse(const uint8_t *data, size_t len, recording **out, char *err, size_t errsize);
/* Reads the regular file at path (at most REC_MAX_SIZE; a FIFO or a device is refused at once) and
 * parses it. */
int rec_load(const char *path, recording **out, char *err, size_t errsize);
void rec_free(recording *r);

/* Snapshots sized for r: workers for max_workers, histograms for its buckets. 0 or -ENOMEM. */
int rec_snapshot_init(const recording *r, schedrt_snapshot *s);
void rec_snapshot_fini(schedrt_snapshot *s);

/*
 * Sample i into s as the reader library would have filled it: taken_mono_ns,
 * writer_now_ns, heartbeat, liveness, segment state, the global area and
 * each worker's known metrics (metrics this build does not know are left
 * out), current task, busy_ns_live and, with timing, the histograms
 * (hist_taken). *realtime_ns (may be NULL) gets the sample's CLOCK_REALTIME.
 * s needs room for the recording's workers and buckets (rec_snapshot_init,
 * or model_init_raw + model_set_buckets with the header's). 0, -EINVAL (i out of range, s too small).
 */
int rec_sample_read(const recording *r, size_t i, schedrt_snapshot *s, uint64_t *realtime_ns);

/* ------------------------------------------------------------- writing */

typedef struct rec_writer {
  int fd;
  uint8_t *buf;
  size_t len, cap;
  uint64_t samples;
  int timing;
  int failed; /* -errno of the first failed write; nothing is written after it */
} rec_writer;

typedef struct rec_writer_opts {
  uint64_t interval_ns;
  uint64_t started_mono_ns, started_realtime_ns;
  uint32_t nworkers; /* at the start */
  int no_histograms; /* leave them out even when the segment records them */
} rec_writer_opts;

/* Writes the header item for r's segment to fd. w->timing says whether samples carry histograms: the
 * segment records them (SCHEDRT_TIMING) and o->no_histograms is not set. 0 or -errno (the write failed) /
 * -ENOMEM. */
int rec_writer_open(rec_writer *w, int fd, const schedrt_reader *r, const rec_writer_opts *o);
/* One sample from a snapshot of r (taken with SCHEDRT_SNAP_HISTOGRAMS when w->timing), in one write.
 * Descriptors this build does not know are read with schedrt_snapshot_raw. 0 or -errno. */
int rec_writer_sample(rec_writer *w, schedrt_reader *r, const schedrt_snapshot *s, uint64_t realtime_ns);
/* The trailer: why the recording ended ("count", "duration", "signal", "exited"). 0 or -errno. */
int rec_writer_end(rec_writer *w, const char *reason);
/* Frees the buffer (the descriptor stays the caller's). */
void rec_writer_fini(rec_writer *w);

#endif
