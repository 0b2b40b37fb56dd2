/*
 * Reader library for schedrt metrics segments (no curses, no runtime needed).
 *
 * A running schedrt runtime publishes its live state in a POSIX shared-memory
 * object /dev/shm/schedrt.<uid>.<pid>.<starttime>.<n> (docs/shm-protocol.md).
 * This library finds such a segment, validates it defensively (a segment is
 * untrusted input: it may be truncated, corrupt, planted by someone else, or
 * left over by a dead process), and takes consistent snapshots of it.
 * It is what sched-inspect and the tests use.
 *
 * Conventions (as in <schedrt.h>): functions return 0 or a negative error
 * code: -errno (-ENOENT, -ESRCH, -EACCES, -ELOOP, -ENOMEM, -EINVAL ...) or a
 * SCHEDRT_E* code (SCHEDRT_EMAGIC, SCHEDRT_EVERSION, SCHEDRT_ECORRUPT,
 * SCHEDRT_ETORN, SCHEDRT_ESTALE, SCHEDRT_EHUNG, SCHEDRT_EOWNER,
 * SCHEDRT_ENOTREADY); schedrt_strerror()/schedrt_err_name() name them.
 * Bad data never crashes the reader: every offset, size and count is
 * checked against the mapped size before use, every string is clamped, and
 * seqlock retries are bounded.
 *
 * Thread safety: a schedrt_reader may be used by one thread at a time;
 * different readers are independent. Nothing here writes to the segment:
 * it is mapped PROT_READ.
 *
 * API stability: changes are additive only. Structs carry no ABI guard because common/ is
 * compiled into each program (it is not an installed library).
 */
#ifndef SCHEDRT_READER_H
#define SCHEDRT_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schedrt.h"
#include "schedrt/proto/events_def.h"
#include "schedrt/proto/metrics_def.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where segments live unless a caller says otherwise. */
#define SCHEDRT_READER_SHM_DIR "/dev/shm"

/* ------------------------------------------------------------- liveness */

/*
 * What the reader concluded about the process behind a segment. It is
 * judged, never guessed:
 *  LIVE     the segment's lock is held, the pid exists with the recorded
 *           start time, and the heartbeat advances.
 *  HUNG     the process is alive (lock held, same start time) but the
 *           heartbeat did not advance for more than 3 heartbeat periods,
 *           judged on the reader's own CLOCK_MONOTONIC across snapshots
 *           (and, before the reader has watched that long, by the age of
 *           the heartbeat timestamp). Such a process is worth inspecting;
 *           its segment is never removed.
 *  STALE    the process is gone: nobody holds the segment's lock and the
 *           pid does not exist, belongs to another user, or has another
 *           start time (pid reuse). The data is a post-mortem picture and
 *           may be inconsistent.
 *  EXITING  the runtime marked the segment as shutting down.
 *  UNKNOWN  not determined (e.g. the listing could not open the object).
 */
typedef enum schedrt_liveness {
  SCHEDRT_LIVENESS_UNKNOWN = 0,
  SCHEDRT_LIVENESS_LIVE = 1,
  SCHEDRT_LIVENESS_HUNG = 2,
  SCHEDRT_LIVENESS_STALE = 3,
  SCHEDRT_LIVENESS_EXITING = 4,
} schedrt_liveness;

/* "LIVE", "HUNG", "STALE", "EXITING", "UNKNOWN". Never NULL. */
const char *schedrt_liveness_name(schedrt_liveness l);

/* The state's text from SCHEDRT_WORKER_STATES (metrics_def.h), or "?" for a
 * value outside the list. Never NULL. */
const char *schedrt_worker_state_name(uint32_t state);

/* --------------------------------------------------------------- opening */

enum {
  /* Do not wait for an initialising segment: fail with SCHEDRT_ENOTREADY. */
  SCHEDRT_READER_NO_WAIT = 1u << 0,
  /* Skip the liveness checks at open (kill/proc/flock); for post-mortems. */
  SCHEDRT_READER_NO_LIVENESS = 1u << 1,
};

/* All fields optional: a zeroed struct (or NULL) means the defaults. */
typedef struct schedrt_reader_opts {
  uint32_t flags;            /* SCHEDRT_READER_* */
  uint32_t ready_timeout_ms; /* wait for state READY; 0: 2000 ms */
  uint32_t max_retries;      /* seqlock attempts per slot and snapshot; 0: 1000 */
  uint32_t resv;
  /*
   * Directory holding the objects; NULL: "/dev/shm". Use
   * "/proc/<hostpid>/root/dev/shm" for a runtime inside another mount
   * namespace (container), or a test directory.
   */
  const char *shm_dir;
} schedrt_reader_opts;

typedef struct schedrt_reader schedrt_reader; /* opaque; one open segment */

/*
 * Opens the segment of process pid: scans the directory for objects named
 * schedrt.<uid>.<pid>.<starttime>.<n> (also checking the names that the
 * runtime's process could not have made, such as another uid's, which are
 * skipped). If the process is alive, only objects whose <starttime> equals
 * its current start time are considered (pid reuse); among those, or among
 * all when the process is gone, the newest (highest starttime, then highest
 * n) is opened. Then as schedrt_reader_open_path().
 * Errors: -ESRCH no segment and no such process; -ENOENT the process exists
 * but has no segment (metrics off, or not a schedrt program); otherwise the
 * errors of schedrt_reader_open_path(). On success *out must be closed.
 */
SCHEDRT_NODISCARD int schedrt_reader_open_pid(pid_t pid, const schedrt_reader_opts *opts,
                                              schedrt_reader **out);

/*
 * Opens a segment by its shm name, with or without the leading '/'
 * ("/schedrt.0.1234.5678.0"). The name must be a single path component.
 * -EINVAL for a malformed name; then as schedrt_reader_open_path().
 */
SCHEDRT_NODISCARD int schedrt_reader_open_name(const char *name, const schedrt_reader_opts *opts,
                                               schedrt_reader **out);

/*
 * Opens and validates the file at path (O_RDONLY|O_NOFOLLOW|O_CLOEXEC),
 * then maps it PROT_READ. Checks, in order, each with its own error:
 *  - open: -ENOENT, -EACCES, -ELOOP (a symlink: never followed)
 *  - a regular file with one link and no group/other permission bits
 *    (mode 0600), owned by our euid (any owner if we are root), and the
 *    owner matches the <uid> of the name and the header: else
 *    SCHEDRT_EOWNER
 *  - big enough to hold the frozen preamble (16 bytes): else ECORRUPT
 *  - magic "SCHEDRT\0": else SCHEDRT_EMAGIC (an all-zero preamble is an
 *    object still being initialised: waited for, see below)
 *  - byte order 0x01020304 in native order and a known layout major
 *    version: else SCHEDRT_EVERSION (a newer minor is accepted)
 *  - state READY or EXITING, waited for up to opts->ready_timeout_ms:
 *    else SCHEDRT_ENOTREADY
 *  - header_size, total_size (== the file size or smaller), every region
 *    offset and size (slots, global area, histograms, bucket bounds,
 *    descriptors, control page), the slot stride (a multiple of 128), the
 *    worker count (max_workers <= 4096 and fitting in the file), the
 *    histogram bucket count (<= 64, bounds strictly increasing), the
 *    descriptor table (each entry's region/offset/size inside its region):
 *    else SCHEDRT_ECORRUPT
 * Unless SCHEDRT_READER_NO_LIVENESS, the liveness is checked (see
 * schedrt_reader_liveness) but a STALE or HUNG segment still opens: the
 * caller decides. The header's immutable part is copied at open
 * (schedrt_reader_info). On success *out must be closed.
 */
SCHEDRT_NODISCARD int schedrt_reader_open_path(const char *path, const schedrt_reader_opts *opts,
                                               schedrt_reader **out);

/* Unmaps and frees. NULL is fine. */
void schedrt_reader_close(schedrt_reader *r);

/* ----------------------------------------------------------- the header */

/* Immutable facts about a segment, copied (and NUL-terminated) at open. */
typedef struct schedrt_segment_info {
  char name[256];        /* object name without '/', e.g. "schedrt.0.1234.5678.0" */
  char path[512];        /* the path that was opened */
  uint16_t layout_major; /* SCHEDRT_SHM_MAJOR of the writer */
  uint16_t layout_minor;
  uint32_t pid; /* in the writer's pid namespace */
  uint32_t uid;
  uint32_t runtime_index; /* <n> of the name: runtimes created before it in that process */
  uint64_t starttime;     /* /proc/<pid>/stat field 22 (clock ticks since boot) */
  uint64_t total_size;    /* bytes */
  uint64_t features;      /* SCHEDRT_SHM_F_* bits (shm_layout.h): METRICS, TASKDUMP, TIMING */
  uint32_t max_workers;   /* slots in the segment */
  uint32_t heartbeat_period_ms;
  uint64_t create_realtime_ns;   /* CLOCK_REALTIME at creation */
  uint64_t create_mono_ns;       /* CLOCK_MONOTONIC at creation (writer's clock) */
  uint8_t boot_id[16];           /* /proc/sys/kernel/random/boot_id of the writer */
  uint8_t instance_id[16];       /* random per segment */
  char runtime_name[33];         /* schedrt_config.name */
  char runtime_version[33];      /* "0.1.0" */
  char comm[17];                 /* the process's comm */
  uint32_t local_queue_cap;      /* 256: for depth bars */
  uint32_t maintenance_interval; /* 61: counters lag by up to this many ticks */
  uint32_t ctl_off, ctl_size;    /* the control page (dump requests, proto/control.h) */
  /* Histogram buckets: hist_upper_ns[i] is the exclusive upper bound of
   * bucket i in ns (bucket i covers [hist_upper_ns[i-1], hist_upper_ns[i]),
   * bucket 0 starts at 0); the last is UINT64_MAX. */
  uint32_t hist_buckets; /* <= SCHEDRT_READER_MAX_BUCKETS */
  uint64_t hist_upper_ns[64];
  /* Layout 2.2: the watchdog's dumps (files schedrt-watchdog.<pid>.<starttime>.<n>.cbor),
   * when it opened; "" and 0 when off, or an older writer. */
  char saved_dir[193];
  uint32_t saved_dumps;
  /* Layout 2.4: the runtime counts a poll in the worker metric long_polls
   * once its monitor, sampling every long_poll_watch_us, saw it running for
   * long_poll_ms. 0 and 0: not counted (an older writer, or counting off). */
  uint32_t long_poll_ms;
  uint32_t long_poll_watch_us;
} schedrt_segment_info;

#define SCHEDRT_READER_MAX_BUCKETS 64

/* Never NULL for an open reader. Valid until schedrt_reader_close. */
const schedrt_segment_info *schedrt_reader_info(const schedrt_reader *r);

/*
 * One entry of the segment's own descriptor table, validated and copied at
 * open. A reader built against an older list can still show metrics it does
 * not know (as `jcmd PerfCounter.print` does) by their descriptors; values
 * of such metrics are read by schedrt_snapshot_raw().
 */
typedef struct schedrt_reader_desc {
  char name[33];
  char unit[17];
  char help[65];
  schedrt_metric_kind kind;   /* COUNTER, GAUGE, HISTOGRAM */
  schedrt_metric_scope scope; /* GLOBAL or WORKER */
  uint32_t region;            /* enum schedrt_shm_region */
  uint32_t offset;            /* inside the region element */
  uint32_t width;             /* bytes per value: 4 or 8 */
  uint32_t count;             /* values: 1, or hist_buckets */
  int known;                  /* 1: also a field of the structs below */
  int known_id;               /* enum schedrt_metric_id when known, else -1 */
} schedrt_reader_desc;

/* Number of descriptors in the segment (>= the known ones for same-or-newer minors). */
size_t schedrt_reader_desc_count(const schedrt_reader *r);
/* Descriptor i, or NULL past the end. */
const schedrt_reader_desc *schedrt_reader_desc_at(const schedrt_reader *r, size_t i);

/* ------------------------------------------------------------ snapshots */

/*
 * One worker, consistent: the fields of the WSLOT list come from a single
 * seqlock read of the worker's half, current_task (and its since, name and
 * spawn site) from one read of the monitor's half. Fields are named after
 * the list in metrics_def.h: state, lifo, current_task, polls,
 * local_queue_depth, ticks, local_schedules, overflows, steals, steal_ops,
 * parks, unparks, noop_unparks, busy_ns.
 * polls is live (one store per poll), state changes at every state change;
 * local_queue_depth and lifo at state changes and maintenance (every 61
 * ticks); the other counters are published by the worker at maintenance and
 * before parking, as Tokio does, so they lag by at most one maintenance
 * interval while a worker is busy.
 * current_task (0: none) is the task of the poll in progress while the
 * worker is running, as far as it is known: with SCHEDRT_TIMING every poll's
 * (exact); otherwise the monitor thread names a poll it saw running for a
 * whole heartbeat period (a stuck or long poll), so a task is shown from one
 * to two periods after its poll began, and never for a short poll.
 */
typedef struct schedrt_worker_snap {
#define SCHEDRT__RSNAP_FIELD(id, kind, off, type, unit, help, pub) uint64_t id;
  SCHEDRT_WSLOT_METRICS(SCHEDRT__RSNAP_FIELD)
#undef SCHEDRT__RSNAP_FIELD
  /*
   * Since when current_task has been polled, on the writer's
   * CLOCK_MONOTONIC (compare with schedrt_snapshot.writer_now_ns), or 0 when
   * current_task is 0. With SCHEDRT_TIMING it is the exact poll start
   * (since_resolution_ns == 0). Otherwise it is the first monitor tick that
   * saw this poll in progress, so the true start lies in
   * (since - since_resolution_ns, since].
   */
  uint64_t current_since_ns;
  uint64_t since_resolution_ns;
  /* Start of the current busy span (last unpark), 0 when parked: busy time
   * including the running span is busy_ns + (writer_now_ns - active_since_ns). */
  uint64_t active_since_ns;
  uint64_t busy_ns_live; /* that sum, computed by the reader */
  uint64_t os_tid;       /* the worker thread's Linux tid, 0 if not published */
  uint32_t index;
  uint32_t torn; /* 1: no consistent read within max_retries; fields are 0 */
  /*
   * Layout 2.0 (added): current_task's name and spawn site as the monitor
   * recorded them when it named the task; NUL-terminated, control
   * characters replaced by '?'. Empty (line 0) when current_task is 0 or
   * comes from SCHEDRT_TIMING before the monitor saw the poll. The file is
   * the tail of the spawn site's path (at most 56 bytes).
   */
  char current_name[25];
  char current_file[57];
  uint32_t current_line;
} schedrt_worker_snap;

/* The global area, consistent (one seqlock read). Named after the GLOBAL
 * list: inject_depth, alive, spawned, remote_schedules, nworkers. Published
 * by the monitor every heartbeat period. */
typedef struct schedrt_global_snap {
#define SCHEDRT__RSNAP_FIELD(id, kind, off, type, unit, help, pub) uint64_t id;
  SCHEDRT_GLOBAL_METRICS(SCHEDRT__RSNAP_FIELD)
#undef SCHEDRT__RSNAP_FIELD
  uint32_t torn;
  uint32_t resv;
} schedrt_global_snap;

enum {
  /* Also copy the histograms (2 x hist_buckets x 8 bytes per worker). */
  SCHEDRT_SNAP_HISTOGRAMS = 1u << 0,
  /* Do not re-check the liveness (kill/proc/flock) in this snapshot; the
   * heartbeat is still read and judged. For tight loops and benchmarks. */
  SCHEDRT_SNAP_NO_LIVENESS = 1u << 1,
};

/*
 * A snapshot. Prepare it once with schedrt_snapshot_init() (allocates for
 * max_workers), fill it as often as wanted with schedrt_snapshot_take()
 * (allocates nothing), release it with schedrt_snapshot_fini().
 */
typedef struct schedrt_snapshot {
  uint64_t taken_mono_ns;        /* the reader's CLOCK_MONOTONIC at the snapshot */
  uint64_t writer_now_ns;        /* best estimate of the writer's clock: equal to
                                    taken_mono_ns for a same-namespace process */
  uint64_t heartbeat_seq;        /* advanced by the monitor every period */
  uint64_t heartbeat_mono_ns;    /* writer's CLOCK_MONOTONIC at the last beat */
  uint64_t heartbeat_stalled_ns; /* reader clock since heartbeat_seq last moved
                                    (0 on the first snapshot) */
  uint32_t seg_state;            /* 0 INIT, 1 READY, 2 EXITING */
  schedrt_liveness liveness;
  uint32_t nworkers; /* published nr_workers, clamped to max_workers */
  uint32_t ntorn;    /* torn workers (+1 if the global area was torn) */
  uint64_t retries;  /* seqlock retries this snapshot needed in total */
  schedrt_global_snap global;
  schedrt_worker_snap *workers; /* [max_workers]; the first nworkers are valid */
  /*
   * With SCHEDRT_SNAP_HISTOGRAMS: bucket counts, laid out
   * [worker][hist][bucket] with hist = 0 poll_time, 1 sched_latency
   * (SCHEDRT_HIST_METRICS order): use schedrt_snapshot_hist(). Buckets are
   * cumulative, each monotonic; they are not read under a seqlock, so the
   * sum over buckets may be a few polls behind `polls`. All zero when the
   * writer runs without SCHEDRT_TIMING (features lacks SCHEDRT_SHM_F_TIMING).
   */
  uint64_t *hist;
  uint32_t hist_buckets;
  uint32_t max_workers;
  uint32_t hist_taken; /* 1 when the last take copied the histograms */
  uint32_t resv;
} schedrt_snapshot;

/* Allocates the arrays for r's max_workers. -ENOMEM. */
SCHEDRT_NODISCARD int schedrt_snapshot_init(const schedrt_reader *r, schedrt_snapshot *s);
/* Frees the arrays; s may then be re-initialised. Zeroed or NULL s is fine. */
void schedrt_snapshot_fini(schedrt_snapshot *s);

/*
 * Takes a snapshot: header state and heartbeat, the global area and every
 * worker slot, each through its seqlock with at most max_retries attempts
 * (the writer's sections are a few stores, so a retry is rare and short).
 * Then updates the liveness (process checks unless SCHEDRT_SNAP_NO_LIVENESS,
 * heartbeat progress always).
 * Returns 0 when everything was read consistently; SCHEDRT_ETORN when some
 * worker (or the global area) could not be: the snapshot is still filled,
 * those entries have torn = 1 and zeroed values (the writer may have died
 * inside its section). -EINVAL if s was initialised for another reader.
 * The liveness is reported in s->liveness, never as an error here, so a
 * STALE or HUNG process can still be inspected.
 */
SCHEDRT_NODISCARD int schedrt_snapshot_take(schedrt_reader *r, unsigned flags, schedrt_snapshot *s);

/* Bucket counts of histogram hist (0 poll_time, 1 sched_latency) of worker w,
 * or NULL when out of range or histograms were not taken. */
const uint64_t *schedrt_snapshot_hist(const schedrt_snapshot *s, uint32_t w, uint32_t hist);

/*
 * Value of a known metric (enum schedrt_metric_id) from a snapshot: worker is
 * ignored for global metrics; for a histogram, the total count over its
 * buckets (needs SCHEDRT_SNAP_HISTOGRAMS). -EINVAL for a bad id or worker,
 * -ENODATA for a torn entry or a histogram that was not taken.
 */
SCHEDRT_NODISCARD int schedrt_snapshot_value(const schedrt_snapshot *s, int metric_id, uint32_t worker,
                                             uint64_t *value);

/*
 * Value of descriptor desc_index (schedrt_reader_desc_at) read from the
 * segment now, for metrics this build does not know. Not consistent with a
 * snapshot (no seqlock for unknown fields; each value is one atomic load).
 * For a histogram descriptor, `bucket` selects the bucket; else ignored.
 * -EINVAL for bad indexes.
 */
SCHEDRT_NODISCARD int schedrt_snapshot_raw(const schedrt_reader *r, size_t desc_index, uint32_t worker,
                                           uint32_t bucket, uint64_t *value);

/* ----------------------------------------------------------- spawn sites */

/*
 * One spawn site of a layout 2.5 segment: where tasks were spawned (the
 * runtime interns each file, line and function on its first spawn) and its
 * counters (SCHEDRT_SITE_COUNTERS in metrics_def.h: spawned, ended, polls,
 * busy_ns and sched_latency_ns, the last two only with per-poll timing),
 * summed over the workers and the threads that are not workers. alive is
 * spawned - ended; the ends are read before the spawns, so it never counts
 * a task that ended as alive, nor goes below zero. The counters are live:
 * each one exact, two of them not taken at one instant.
 */
typedef struct schedrt_site_snap {
  uint32_t index;    /* in the segment's table */
  uint32_t overflow; /* 1: the row of the sites that found the table full (file, func empty) */
  uint32_t line;
  char file[57]; /* the tail of the path, printable */
  char func[41];
  char name[25]; /* the name of the first task spawned there, if it had one */
#define SCHEDRT__RSITE_FIELD(id, kind, off, unit, help, timing) uint64_t id;
  SCHEDRT_SITE_COUNTERS(SCHEDRT__RSITE_FIELD)
#undef SCHEDRT__RSITE_FIELD
  uint64_t alive;
} schedrt_site_snap;

/* The sites the segment has room for, its overflow row included: the most
 * schedrt_reader_sites can return. 0 for a writer older than layout 2.5. */
uint32_t schedrt_reader_site_cap(const schedrt_reader *r);
/*
 * The sites published so far into out[0 .. cap), in the order the runtime
 * met them, then the overflow row if it counted a task; *n receives how
 * many. -ENOENT: the writer publishes no sites (layout < 2.5);
 * SCHEDRT_ECHANGED: the object was truncated.
 */
SCHEDRT_NODISCARD int schedrt_reader_sites(schedrt_reader *r, schedrt_site_snap *out, uint32_t cap,
                                           uint32_t *n);

/* ----------------------------------------------------------- event rings */

/*
 * One event of a layout 2.6 event ring (shm_layout.h; the kinds and what a
 * and b hold: SCHEDRT_EVENT_KINDS in proto/events_def.h).
 */
typedef struct schedrt_event {
  uint64_t seq;     /* the event's number in its ring: 0, 1, ... */
  uint64_t time_ns; /* CLOCK_MONOTONIC of the target's host; 0: not convertible (no calibration) */
  uint64_t a, b;
  uint32_t kind; /* enum schedrt_event_kind; a kind this reader does not know keeps its value */
  uint32_t ring;
} schedrt_event;

/* What one read of a ring found. */
typedef struct schedrt_event_window {
  /* Events the ring's writer wrote so far: the newest's seq + 1 (0: none).
   * While the writer runs, a copy that met the newest records being
   * rewritten ends earlier: a later read may then give a smaller value. */
  uint64_t written;
  uint64_t lost; /* written - n: overwritten, or being overwritten while we copied */
  uint32_t n;    /* events in out[0 .. n), consecutive seqs, oldest first */
  uint32_t torn; /* records rejected because their writer was inside them */
} schedrt_event_window;

/* Rings of the segment: max_workers + 1 (ring i < max_workers is worker i's,
 * the last one the other threads': blocking jobs, stalls, spawns and wakes
 * from outside the runtime). 0: no events (off, or a writer older than 2.6). */
uint32_t schedrt_reader_event_rings(const schedrt_reader *r);
/* Records per ring: the most one read returns. */
uint32_t schedrt_reader_event_cap(const schedrt_reader *r);
/*
 * Copies ring `ring`'s consistent window into out[0 .. cap) (the newest cap
 * events when cap is below the ring's size), without the target's help:
 * it may run, hang or be stopped. -ENOENT: no events; -EINVAL: bad ring or
 * arguments; -ENOMEM; SCHEDRT_ECHANGED: the object was truncated.
 */
SCHEDRT_NODISCARD int schedrt_reader_events(schedrt_reader *r, uint32_t ring, schedrt_event *out,
                                            uint32_t cap, schedrt_event_window *win);
/* "poll_start", ... (events_def.h); NULL for a kind this reader does not know. */
const char *schedrt_event_kind_name(uint32_t kind);
/* What the kind's a and b hold ("task", ...; "" unused); NULL when unknown. */
const char *schedrt_event_arg_name(uint32_t kind, int which);

/* -------------------------------------------------------------- liveness */

/*
 * Re-evaluates the liveness of r's process now (flock probe, kill(pid,0),
 * /proc/<pid>/stat start time, header state, heartbeat progress on our own
 * clock). Returns 0 and sets *out; never fails for a mapped segment.
 * schedrt_liveness_error() turns a verdict into SCHEDRT_ESTALE /
 * SCHEDRT_EHUNG / 0 for callers that want an error code.
 */
SCHEDRT_NODISCARD int schedrt_reader_liveness(schedrt_reader *r, schedrt_liveness *out);
int schedrt_liveness_error(schedrt_liveness l);

/* --------------------------------------------------------------- listing */

/* One object found by schedrt_reader_list(). */
typedef struct schedrt_segment_entry {
  char name[256]; /* object name, no '/' */
  uint32_t uid;   /* from the name */
  uint32_t pid;
  uint64_t starttime;
  uint32_t runtime_index;
  int is_dump; /* a task-dump object (".dump.<n>" suffix) */
  int error;   /* 0, or why it could not be opened/validated */
  schedrt_liveness liveness;
  /* When error == 0 and it is a metrics segment: */
  char runtime_name[33];
  char comm[17];
  uint32_t nworkers;
  uint64_t size;
  uint64_t create_realtime_ns;
  char saved_dir[193];  /* its watchdog's dumps: schedrt_segment_info.saved_dir */
  uint32_t saved_dumps; /* and how many it wrote */
} schedrt_segment_entry;

/*
 * Lists the schedrt objects in shm_dir (NULL: /dev/shm) that belong to us:
 * our euid's (every uid's when we are root). Each is opened with
 * SCHEDRT_READER_NO_WAIT and classified; entries that fail to validate are
 * listed with their error. Sorted by pid, then starttime, then index.
 * *out is malloc'ed (free with schedrt_segment_list_free), *n its length.
 */
SCHEDRT_NODISCARD int schedrt_reader_list(const char *shm_dir, schedrt_segment_entry **out, size_t *n);
void schedrt_segment_list_free(schedrt_segment_entry *list);
/* How many segments (not dump objects) of other users schedrt_reader_list
 * left out (always 0 for root, whose listing has them all). Names only. */
SCHEDRT_NODISCARD int schedrt_reader_count_others(const char *shm_dir, size_t *n);

/*
 * Removes STALE objects of our euid from shm_dir (NULL: /dev/shm), as the
 * runtime does at start: only when nobody holds the object's lock AND the
 * pid is gone, owned by another user, or has another start time. Never
 * another user's object, never a live or hung process's. *removed (may be
 * NULL) receives the count. 0 or -errno for an unreadable directory.
 */
SCHEDRT_NODISCARD int schedrt_reader_gc(const char *shm_dir, unsigned *removed);

#ifdef __cplusplus
}
#endif
#endif /* SCHEDRT_READER_H */
