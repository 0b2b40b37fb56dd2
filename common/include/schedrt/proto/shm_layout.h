/*
 * The metrics segment, byte for byte (docs/shm-protocol.md explains it).
 *
 * ABI rules: fixed-width fields only (no bool, enum, bitfield, pointer or
 * size_t); every field that changes after the segment is READY is _Atomic,
 * at most 64 bits and lock-free (so address-free: the same memory is mapped
 * in two processes); every offset is asserted below. The first 16 bytes are
 * frozen forever. Appending fields into reserved space or adding metrics at
 * the end of a list is a minor version; anything else is a major one.
 *
 * Regions (each offset and size stored in the header; readers use those,
 * never the constants, so a newer minor can grow them):
 *   header       [0, 512)
 *   global area  512, 128 bytes: monitor-written seqlock block
 *   bucket bounds 640: hist_buckets x u64 upper bounds (ns)
 *   descriptors  after the bounds, 128-aligned: desc_count x 128 bytes
 *   worker slots 128-aligned: max_workers x slot_stride (384)
 *   histograms   128-aligned: max_workers x hist_stride (1024)
 *   spawn sites  128-aligned (2.5): a region header, site_cap descriptors
 *                and max_workers + 1 counter blocks (struct schedrt_shm_sites)
 *   event rings  128-aligned (2.6, only while events are on): a region
 *                header and max_workers + 1 rings (struct schedrt_shm_events)
 *   control page page-aligned, one page: dump requests (proto/control.h)
 */
#ifndef SCHEDRT_PROTO_SHM_LAYOUT_H
#define SCHEDRT_PROTO_SHM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "schedrt/proto/events_def.h"
#include "schedrt/proto/metrics_def.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free (address-free) for shm");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free (address-free) for shm");
_Static_assert(sizeof(unsigned long long) == 8 && sizeof(uint64_t) == 8, "64-bit fields");

#define SCHEDRT_SHM_MAGIC "SCHEDRT" /* 8 bytes with the NUL */
#define SCHEDRT_SHM_BYTE_ORDER 0x01020304u
/* 2.0: the task in a poll moved to the monitor half (with its name and spawn
 * site); `polls` is a live value outside the worker's section. 2.1: the slot
 * grew to 384 bytes, room for worker metrics appended to the list. 2.2: the
 * watchdog's saved dumps in the header. 2.3: budget_forced_yields (worker)
 * and the blocking pool's global metrics. 2.4: long polls: the header's
 * long_poll_ms and long_poll_watch_us, the worker metrics long_polls and
 * last_long_poll_ns (written by the monitor). 2.5: the spawn-site region
 * (header sites_off and sites_size); the stall detector's worker metrics
 * (296 .. 351, monitor-written) and stall_reports_suppressed (global). 2.6:
 * the event rings (header events_off and events_size, in 2.5's resv). */
#define SCHEDRT_SHM_MAJOR 2
#define SCHEDRT_SHM_MINOR 6

/* Header state: READY is stored last, with release (after everything else). */
enum {
  SCHEDRT_SHM_STATE_INIT = 0,
  SCHEDRT_SHM_STATE_READY = 1,
  SCHEDRT_SHM_STATE_EXITING = 2,
};

/* header.features */
#define SCHEDRT_SHM_F_METRICS (1ull << 0)  /* always set by writers of this layout */
#define SCHEDRT_SHM_F_TASKDUMP (1ull << 1) /* the control page serves dump requests */
#define SCHEDRT_SHM_F_TIMING (1ull << 2)   /* per-poll timing on: histograms and exact since */

/* Limits a reader enforces (a writer never exceeds them). */
#define SCHEDRT_SHM_MAX_WORKERS 4096u
#define SCHEDRT_SHM_MAX_BUCKETS 64u
#define SCHEDRT_SHM_MAX_DESCS 1024u
#define SCHEDRT_SHM_MAX_SIZE (64ull << 20)

#define SCHEDRT_SHM_HEADER_SIZE 512u
#define SCHEDRT_SHM_GLOBAL_OFF 512u
#define SCHEDRT_SHM_GLOBAL_SIZE 128u
#define SCHEDRT_SHM_BOUNDS_OFF 640u
#define SCHEDRT_SHM_SLOT_STRIDE 384u
#define SCHEDRT_SHM_HIST_STRIDE 1024u
#define SCHEDRT_SHM_HIST_SPACING 512u /* bytes between the histograms of one worker */
#define SCHEDRT_SHM_DESC_SIZE 128u
#define SCHEDRT_SHM_ALIGN 128u /* two cache lines: no adjacent-line prefetch pairing */

/* ------------------------------------------------------------- header */

struct schedrt_shm_header {
  /* Frozen preamble: never changes in any version. */
  char magic[8];         /*   0 "SCHEDRT\0" */
  uint32_t byte_order;   /*   8 0x01020304 in the writer's order */
  uint16_t layout_major; /*  12 */
  uint16_t layout_minor; /*  14 */
  /* Sizes and offsets (bytes from the start of the segment). */
  uint32_t header_size;               /*  16 */
  uint32_t page_size;                 /*  20 */
  uint64_t total_size;                /*  24 */
  uint32_t slot_off;                  /*  32 */
  uint32_t slot_stride;               /*  36 multiple of 128 */
  uint32_t max_workers;               /*  40 */
  _Atomic uint32_t nr_workers;        /* 44 slots in use (<= max_workers) */
  uint32_t global_off;                /*  48 */
  uint32_t global_size;               /*  52 */
  uint32_t hist_off;                  /*  56 */
  uint32_t hist_size;                 /*  60 whole histogram region */
  uint32_t ctl_off;                   /*  64 page-aligned */
  uint32_t ctl_size;                  /*  68 */
  uint32_t desc_off;                  /*  72 */
  uint32_t desc_count;                /*  76 */
  uint64_t features;                  /*  80 SCHEDRT_SHM_F_* */
  uint32_t pid;                       /*  88 in the writer's pid namespace */
  uint32_t uid;                       /*  92 */
  uint64_t starttime;                 /*  96 /proc/self/stat field 22 */
  uint8_t boot_id[16];                /* 104 */
  uint8_t instance_id[16];            /* 120 random */
  uint64_t create_realtime_ns;        /* 136 */
  uint64_t create_mono_ns;            /* 144 */
  uint32_t heartbeat_period_ms;       /* 152 */
  uint32_t desc_size;                 /* 156 bytes per descriptor (128) */
  _Atomic uint32_t state;             /* 160 INIT, READY (stored last), EXITING */
  uint32_t runtime_index;             /* 164 <n> of the name */
  _Atomic uint64_t heartbeat_seq;     /* 168 */
  _Atomic uint64_t heartbeat_mono_ns; /* 176 */
  char runtime_version[32];           /* 184 NUL-padded */
  char comm[16];                      /* 216 NUL-padded, may lack the NUL */
  char runtime_name[32];              /* 232 NUL-padded */
  uint32_t hist_buckets;              /* 264 buckets per histogram */
  uint32_t hist_per_worker;           /* 268 histograms per worker */
  uint32_t hist_bounds_off;           /* 272 u64 upper bounds, hist_buckets of them */
  uint32_t hist_stride;               /* 276 bytes per worker in the histogram region */
  uint32_t local_queue_cap;           /* 280 */
  uint32_t maintenance_interval;      /* 284 */
  uint32_t hist_spacing;              /* 288 bytes between one worker's histograms */
  /* 2.4: the monitor counts a poll in long_polls once it saw it running this
   * long (0: an older writer, or counting off). */
  uint32_t long_poll_ms; /* 292 */
  /* 2.2: the watchdog's dumps (the runtime's watchdog_dir): how many were
   * written so far, and where. */
  _Atomic uint32_t saved_dumps; /* 296 */
  /* 2.4: how often the monitor samples the workers' poll sequences for long
   * polls, in microseconds (0 when long_poll_ms is 0). */
  uint32_t long_poll_watch_us; /* 300 */
  char saved_dir[192];         /* 304 absolute, NUL-terminated; "" when off or too long */
  /* 2.5: the spawn-site region (0 and 0: an older writer). */
  uint32_t sites_off;  /* 496 128-aligned */
  uint32_t sites_size; /* 500 */
  /* 2.6: the event rings (0 and 0: events off, or an older writer). */
  uint32_t events_off;  /* 504 128-aligned */
  uint32_t events_size; /* 508 .. 512 */
};

_Static_assert(offsetof(struct schedrt_shm_header, magic) == 0, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, byte_order) == 8, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, layout_major) == 12, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, layout_minor) == 14, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, header_size) == 16, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, page_size) == 20, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, total_size) == 24, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, slot_off) == 32, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, slot_stride) == 36, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, max_workers) == 40, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, nr_workers) == 44, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, global_off) == 48, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, global_size) == 52, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_off) == 56, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_size) == 60, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, ctl_off) == 64, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, ctl_size) == 68, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, desc_off) == 72, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, desc_count) == 76, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, features) == 80, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, pid) == 88, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, uid) == 92, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, starttime) == 96, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, boot_id) == 104, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, instance_id) == 120, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, create_realtime_ns) == 136, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, create_mono_ns) == 144, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, heartbeat_period_ms) == 152, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, desc_size) == 156, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, state) == 160, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, runtime_index) == 164, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, heartbeat_seq) == 168, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, heartbeat_mono_ns) == 176, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, runtime_version) == 184, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, comm) == 216, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, runtime_name) == 232, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_buckets) == 264, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_per_worker) == 268, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_bounds_off) == 272, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_stride) == 276, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, local_queue_cap) == 280, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, maintenance_interval) == 284, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, hist_spacing) == 288, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, long_poll_ms) == 292, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, saved_dumps) == 296, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, long_poll_watch_us) == 300, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, saved_dir) == 304, "layout");
_Static_assert(offsetof(struct schedrt_shm_header, sites_off) == 496, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_header, sites_size) == 500, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_header, events_off) == 504, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_header, events_size) == 508, "layout 2.6");
_Static_assert(sizeof(struct schedrt_shm_header) == SCHEDRT_SHM_HEADER_SIZE, "layout");

/* The minimum header a reader of this major needs (up to hist_spacing). */
#define SCHEDRT_SHM_HEADER_MIN 296u

/* ---------------------------------------------------------- worker slot */

/*
 * One worker, slot_stride (384) bytes, 128-aligned. The 2.0 part is declared
 * by hand (the metric list gives each metric's offset, asserted below):
 *   [0, 128)   the worker's half: written by the worker only, under `seq`,
 *              except `polls` (a live value: one relaxed store per poll,
 *              outside any section)
 *   [128, 256) the monitor's half: written by the monitor thread only, under
 *              `mseq`, except `os_tid` (written once by the worker)
 *   [256, 384) the worker's half, continued (2.1): the metrics of
 *              SCHEDRT_WSLOT_METRICS_MORE at their listed offsets, under
 *              `seq`, except the MONITOR ones (2.4: long_polls at 264,
 *              last_long_poll_ns at 272), single values the monitor thread
 *              stores outside any section; zero elsewhere. Code reaches every
 *              worker metric by its offset (SCHEDRT_SHM_WSLOT_AT), so these
 *              need no field.
 */
#define SCHEDRT_SHM_TASK_NAME_LEN 24u /* bytes of current_name, NUL-padded */
#define SCHEDRT_SHM_TASK_FILE_LEN 56u /* bytes of current_file: the path's tail, NUL-padded */

struct schedrt_shm_wslot {
  /* Worker half. */
  _Atomic uint64_t seq;   /*   0: odd while the worker writes */
  _Atomic uint32_t state; /*   8 */
  _Atomic uint32_t lifo;  /*  12 */
  /* With SCHEDRT_SHM_F_TIMING: id of the task of the poll in progress, with
   * poll_start_ns; 0 between polls and without timing. */
  _Atomic uint64_t poll_task;         /*  16 */
  _Atomic uint64_t polls;             /*  24: live, outside the section */
  _Atomic uint64_t local_queue_depth; /*  32 */
  _Atomic uint64_t ticks;             /*  40 */
  _Atomic uint64_t local_schedules;   /*  48 */
  _Atomic uint64_t overflows;         /*  56 */
  _Atomic uint64_t steals;            /*  64 */
  _Atomic uint64_t steal_ops;         /*  72 */
  _Atomic uint64_t parks;             /*  80 */
  _Atomic uint64_t unparks;           /*  88 */
  _Atomic uint64_t noop_unparks;      /*  96 */
  _Atomic uint64_t busy_ns;           /* 104 */
  /* With SCHEDRT_SHM_F_TIMING: CLOCK_MONOTONIC when the current poll began. */
  _Atomic uint64_t poll_start_ns; /* 112 */
  /* CLOCK_MONOTONIC of the last unpark (start of the busy span); 0 when parked. */
  _Atomic uint64_t active_since_ns; /* 120 */
  /* Monitor half: the poll the monitor saw running for a whole period. */
  _Atomic uint64_t mseq;          /* 128: odd while the monitor writes */
  _Atomic uint64_t seen_polls;    /* 136: the `polls` value of that poll */
  _Atomic uint64_t seen_since_ns; /* 144: monitor clock when it first saw it */
  _Atomic uint64_t os_tid;        /* 152: worker's Linux tid (written once, no seqlock) */
  _Atomic uint64_t current_task;  /* 160: that poll's task id; 0: none identified */
  _Atomic uint32_t current_line;  /* 168: its spawn site's line */
  _Atomic uint32_t mresv;         /* 172: 0 */
  /* Its name and spawn file, NUL-padded bytes stored as 64-bit words (the
   * fields change while the segment is in use, so they are atomics too). */
  _Atomic uint64_t current_name[SCHEDRT_SHM_TASK_NAME_LEN / 8u]; /* 176 */
  _Atomic uint64_t current_file[SCHEDRT_SHM_TASK_FILE_LEN / 8u]; /* 200 .. 256 */
  /* Worker half, continued: the metrics appended after 2.0. */
  _Atomic uint64_t wmore[16]; /* 256 .. 384 */
};

/* A worker metric's word in slot s, by the list's offset and type. */
#define SCHEDRT_SHM_WSLOT_AT(s, off, type) ((_Atomic type *)(void *)((unsigned char *)(s) + (off)))
#define SCHEDRT_SHM_WSLOT_AT_CONST(s, off, type)                                                             \
  ((_Atomic type *)(void *)(uintptr_t)((const unsigned char *)(s) + (off)))

#define SCHEDRT__SLOT_ASSERT(id, kind, off, type, unit, help, pub)                                           \
  _Static_assert(offsetof(struct schedrt_shm_wslot, id) == (off), "slot: " #id);                             \
  _Static_assert(sizeof(((struct schedrt_shm_wslot *)0)->id) == sizeof(type), "slot width: " #id);           \
  _Static_assert(sizeof(type) == 4 || sizeof(type) == 8, "slot width: " #id);
SCHEDRT_WSLOT_METRICS_2_0(SCHEDRT__SLOT_ASSERT)
#undef SCHEDRT__SLOT_ASSERT
#define SCHEDRT__MORE_ASSERT(id, kind, off, type, unit, help, pub)                                           \
  _Static_assert((off) >= offsetof(struct schedrt_shm_wslot, wmore) &&                                       \
                     (off) + sizeof(type) <= sizeof(struct schedrt_shm_wslot) && (off) % sizeof(type) == 0,  \
                 "slot (2.1 part): " #id);                                                                   \
  _Static_assert(sizeof(type) == 4 || sizeof(type) == 8, "slot width: " #id);
SCHEDRT_WSLOT_METRICS_MORE(SCHEDRT__MORE_ASSERT)
#undef SCHEDRT__MORE_ASSERT
_Static_assert(offsetof(struct schedrt_shm_wslot, seq) == 0, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, poll_task) == 16, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, poll_start_ns) == 112, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, active_since_ns) == 120, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, mseq) == 128, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, seen_polls) == 136, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, seen_since_ns) == 144, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, os_tid) == 152, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, current_task) == 160, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, current_line) == 168, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, mresv) == 172, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, current_name) == 176, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, current_file) == 200, "layout");
_Static_assert(offsetof(struct schedrt_shm_wslot, wmore) == 256, "layout");
_Static_assert(SCHEDRT_SHM_TASK_NAME_LEN % 8u == 0 && SCHEDRT_SHM_TASK_FILE_LEN % 8u == 0, "string words");
_Static_assert(sizeof(struct schedrt_shm_wslot) == SCHEDRT_SHM_SLOT_STRIDE, "layout");
_Static_assert(SCHEDRT_SHM_SLOT_STRIDE % SCHEDRT_SHM_ALIGN == 0, "slot stride");
/* Every worker metric's offset in the slot, by name (SCHEDRT_SHM_WOFF_polls):
 * the list's offsets, so code that stores one metric by hand names it. */
enum {
#define SCHEDRT__WOFF(id, kind, off, type, unit, help, pub) SCHEDRT_SHM_WOFF_##id = (off),
  SCHEDRT_WSLOT_METRICS(SCHEDRT__WOFF)
#undef SCHEDRT__WOFF
};
/* The metrics appended after 2.0, byte for byte (docs/shm-protocol.md 3.4). */
_Static_assert(SCHEDRT_SHM_WOFF_budget_forced_yields == 256, "layout 2.3");
_Static_assert(SCHEDRT_SHM_WOFF_long_polls == 264, "layout 2.4");
_Static_assert(SCHEDRT_SHM_WOFF_last_long_poll_ns == 272, "layout 2.4");
_Static_assert(SCHEDRT_SHM_WOFF_stall_kind == 296 && SCHEDRT_SHM_WOFF_stall_syscall == 304 &&
                   SCHEDRT_SHM_WOFF_stall_cpu_pct == 312 && SCHEDRT_SHM_WOFF_stalls_on_cpu == 320 &&
                   SCHEDRT_SHM_WOFF_stalls_syscall == 328 && SCHEDRT_SHM_WOFF_stalls_process == 336 &&
                   SCHEDRT_SHM_WOFF_stall_reports == 344,
               "layout 2.5");
/* The first byte of the monitor half: worker-half fields lie below it. */
#define SCHEDRT_SHM_SLOT_MONITOR_OFF 128u
/* The smallest slot_stride a 2.x reader accepts (the whole 2.0 slot). */
#define SCHEDRT_SHM_SLOT_MIN 256u

/* ---------------------------------------------------------- global area */

_Static_assert(SCHEDRT_M__GLOBAL_COUNT < (SCHEDRT_SHM_GLOBAL_SIZE - 8u) / 8u,
               "the global area is full: grow SCHEDRT_SHM_GLOBAL_SIZE (a minor version)");
struct schedrt_shm_global {
  _Atomic uint64_t seq; /* 0: odd while the monitor writes */
#define SCHEDRT__GLOBAL_FIELD(id, kind, off, type, unit, help, pub) _Atomic type id;
  SCHEDRT_GLOBAL_METRICS(SCHEDRT__GLOBAL_FIELD)
#undef SCHEDRT__GLOBAL_FIELD
  /* Zero: room for global metrics appended to the list. */
  uint64_t resv[(SCHEDRT_SHM_GLOBAL_SIZE - 8u) / 8u - SCHEDRT_M__GLOBAL_COUNT];
};

#define SCHEDRT__GLOBAL_ASSERT(id, kind, off, type, unit, help, pub)                                         \
  _Static_assert(offsetof(struct schedrt_shm_global, id) == (off), "global: " #id);                          \
  _Static_assert(sizeof(type) == 8, "global width: " #id);
SCHEDRT_GLOBAL_METRICS(SCHEDRT__GLOBAL_ASSERT)
#undef SCHEDRT__GLOBAL_ASSERT
_Static_assert(offsetof(struct schedrt_shm_global, seq) == 0, "layout");
_Static_assert(sizeof(struct schedrt_shm_global) == SCHEDRT_SHM_GLOBAL_SIZE, "layout");

/* ------------------------------------------------------------ histograms */

/*
 * Log-linear buckets, 2 per power of two: bucket 0 is [0, 64 ns); then for
 * k = 6..35 the octave [2^k, 2^(k+1)) splits into [2^k, 1.5*2^k) and
 * [1.5*2^k, 2^(k+1)); the last bucket is [2^36 ns (~68.7 s), UINT64_MAX].
 * 62 buckets, at most 50 % relative width. The bounds are also written into
 * the segment, so readers need not know this rule.
 */
#define SCHEDRT_HIST_MIN_SHIFT 6
#define SCHEDRT_HIST_MAX_SHIFT 36
#define SCHEDRT_HIST_BUCKETS (2u + 2u * (SCHEDRT_HIST_MAX_SHIFT - SCHEDRT_HIST_MIN_SHIFT))
_Static_assert(SCHEDRT_HIST_BUCKETS == 62, "bucket count");
_Static_assert(SCHEDRT_HIST_BUCKETS * 8u <= SCHEDRT_SHM_HIST_SPACING, "histogram fits its spacing");
#define SCHEDRT__HIST_ASSERT(id, kind, off, type, unit, help, pub)                                           \
  _Static_assert((off) % SCHEDRT_SHM_HIST_SPACING == 0 && (off) < SCHEDRT_SHM_HIST_STRIDE, "hist: " #id);
SCHEDRT_HIST_METRICS(SCHEDRT__HIST_ASSERT)
#undef SCHEDRT__HIST_ASSERT

/* Bucket of a duration in ns. Branch-light: one clz. */
static inline uint32_t schedrt_hist_bucket(uint64_t ns) {
  if (ns < (1ull << SCHEDRT_HIST_MIN_SHIFT))
    return 0;
  uint32_t k = 63u - (uint32_t)__builtin_clzll(ns);
  if (k >= SCHEDRT_HIST_MAX_SHIFT)
    return SCHEDRT_HIST_BUCKETS - 1u;
  uint32_t half = (uint32_t)(ns >> (k - 1u)) & 1u; /* the bit below the top one */
  return 1u + 2u * (k - SCHEDRT_HIST_MIN_SHIFT) + half;
}

/* Exclusive upper bound of bucket b in ns (UINT64_MAX for the last). */
static inline uint64_t schedrt_hist_upper(uint32_t b) {
  if (b == 0)
    return 1ull << SCHEDRT_HIST_MIN_SHIFT;
  if (b >= SCHEDRT_HIST_BUCKETS - 1u)
    return UINT64_MAX;
  uint32_t k = SCHEDRT_HIST_MIN_SHIFT + (b - 1u) / 2u;
  return ((b - 1u) & 1u) ? (1ull << (k + 1u)) : (3ull << (k - 1u));
}

/* ------------------------------------------------------------ descriptors */

struct schedrt_shm_desc {
  char name[32];   /*   0 NUL-padded */
  char unit[16];   /*  32 */
  char help[64];   /*  48 */
  uint16_t kind;   /* 112 schedrt_metric_kind: 0 counter, 1 gauge, 2 histogram */
  uint16_t scope;  /* 114 schedrt_metric_scope: 0 global, 1 worker */
  uint16_t region; /* 116 enum schedrt_shm_region */
  uint16_t width;  /* 118 bytes per value: 4 or 8 */
  uint32_t offset; /* 120 inside one element of the region */
  uint32_t count;  /* 124 values (1, or hist_buckets) */
};
_Static_assert(offsetof(struct schedrt_shm_desc, name) == 0, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, unit) == 32, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, help) == 48, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, kind) == 112, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, scope) == 114, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, region) == 116, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, width) == 118, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, offset) == 120, "layout");
_Static_assert(offsetof(struct schedrt_shm_desc, count) == 124, "layout");
_Static_assert(sizeof(struct schedrt_shm_desc) == SCHEDRT_SHM_DESC_SIZE, "layout");

/* ----------------------------------------------------------- spawn sites */

/*
 * Layout 2.5. The runtime interns each spawn site (file, line, function) the
 * first time a task is spawned there and counts, per site, what
 * SCHEDRT_SITE_COUNTERS lists. The region:
 *   [0, 64)            struct schedrt_shm_sites
 *   desc_off           site_cap x desc_size (128): struct schedrt_shm_site_desc;
 *                      the last one (site_cap - 1) is the overflow row, which
 *                      counts the sites that found the table full
 *   ctr_off            nblocks x block_stride: one block per worker (index
 *                      = worker), then one for threads that are not workers;
 *                      a block is site_cap x ctr_size (64) bytes, the
 *                      record of site i at i x ctr_size
 * A worker's block is written by that worker alone (load, add, store; no
 * read-modify-write, no section); the last block by any thread with atomic
 * adds. A site's value is the sum over the blocks. `ended` is stored with
 * release after the task's end, and a task ends after its spawn was counted:
 * a reader that loads every block's `ended` (acquire) before any `spawned`
 * never sees more ended than spawned tasks.
 * A descriptor is written once, before `count` covers it (release): a
 * reader reads descriptors [0, count) after an acquire load of count, and
 * the overflow row's (written before READY) always.
 */
#define SCHEDRT_SHM_SITES_HDR_SIZE 64u
#define SCHEDRT_SHM_SITE_DESC_SIZE 128u
#define SCHEDRT_SHM_SITE_CTR_SIZE 64u
#define SCHEDRT_SHM_SITE_FILE_LEN 56u /* the path's tail, NUL-padded */
#define SCHEDRT_SHM_SITE_FUNC_LEN 40u
#define SCHEDRT_SHM_SITE_NAME_LEN 24u  /* the first task's name, NUL-padded */
#define SCHEDRT_SHM_SITES_DEFAULT 128u /* descriptors, the overflow row included */
#define SCHEDRT_SHM_MAX_SITES 4096u    /* what a reader accepts */
#define SCHEDRT_SHM_SITE_F_OVERFLOW 1u /* descriptor flags: the overflow row */

struct schedrt_shm_sites {
  _Atomic uint32_t count; /*  0 sites published, overflow row excluded (< site_cap) */
  uint32_t site_cap;      /*  4 descriptors, overflow row included (>= 1) */
  uint32_t desc_off;      /*  8 from the region's start, 128-aligned */
  uint32_t desc_size;     /* 12 128 */
  uint32_t ctr_off;       /* 16 from the region's start, 128-aligned */
  uint32_t ctr_size;      /* 20 bytes per site record (64) */
  uint32_t block_stride;  /* 24 bytes per block: site_cap x ctr_size, rounded up to 128 */
  uint32_t nblocks;       /* 28 max_workers + 1 */
  uint32_t ctr_count;     /* 32 counters in a record (SCHEDRT_SITE_COUNTERS) */
  uint32_t resv[7];       /* 36 .. 64 zero */
};
_Static_assert(offsetof(struct schedrt_shm_sites, count) == 0, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, site_cap) == 4, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, desc_off) == 8, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, desc_size) == 12, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, ctr_off) == 16, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, ctr_size) == 20, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, block_stride) == 24, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, nblocks) == 28, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_sites, ctr_count) == 32, "layout 2.5");
_Static_assert(sizeof(struct schedrt_shm_sites) == SCHEDRT_SHM_SITES_HDR_SIZE, "layout 2.5");

/* Strings as NUL-padded bytes in 64-bit words: written after READY, so atomics too. */
struct schedrt_shm_site_desc {
  _Atomic uint32_t line;                                 /*   0 */
  _Atomic uint32_t flags;                                /*   4 SCHEDRT_SHM_SITE_F_* */
  _Atomic uint64_t func[SCHEDRT_SHM_SITE_FUNC_LEN / 8u]; /*   8 */
  _Atomic uint64_t file[SCHEDRT_SHM_SITE_FILE_LEN / 8u]; /*  48 */
  _Atomic uint64_t name[SCHEDRT_SHM_SITE_NAME_LEN / 8u]; /* 104 .. 128 */
};
_Static_assert(offsetof(struct schedrt_shm_site_desc, line) == 0, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_site_desc, flags) == 4, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_site_desc, func) == 8, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_site_desc, file) == 48, "layout 2.5");
_Static_assert(offsetof(struct schedrt_shm_site_desc, name) == 104, "layout 2.5");
_Static_assert(sizeof(struct schedrt_shm_site_desc) == SCHEDRT_SHM_SITE_DESC_SIZE, "layout 2.5");

/* One site's counters in one block, from the list (offsets asserted). */
struct schedrt_shm_site_ctr {
#define SCHEDRT__SITE_FIELD(id, kind, off, unit, help, timing) _Atomic uint64_t id;
  SCHEDRT_SITE_COUNTERS(SCHEDRT__SITE_FIELD)
#undef SCHEDRT__SITE_FIELD
};
#define SCHEDRT__SITE_ASSERT(id, kind, off, unit, help, timing)                                              \
  _Static_assert(offsetof(struct schedrt_shm_site_ctr, id) == (off), "site counter: " #id);
SCHEDRT_SITE_COUNTERS(SCHEDRT__SITE_ASSERT)
#undef SCHEDRT__SITE_ASSERT
_Static_assert(sizeof(struct schedrt_shm_site_ctr) <= SCHEDRT_SHM_SITE_CTR_SIZE,
               "the site record is full: grow SCHEDRT_SHM_SITE_CTR_SIZE (a minor version)");
enum {
#define SCHEDRT__ONE_SITE(id, kind, off, unit, help, timing) +1
  SCHEDRT_SITE__COUNTERS = 0 SCHEDRT_SITE_COUNTERS(SCHEDRT__ONE_SITE),
#undef SCHEDRT__ONE_SITE
};

/* ----------------------------------------------------------- event rings */

/*
 * Layout 2.6, present only while events are on (SCHEDRT_CFG_EVENTS or
 * SCHEDRT_EVENTS=1). Per worker a fixed-size overwrite ring of 32-byte
 * records, and one more ring for threads that are not workers (blocking
 * pool, monitor, foreign spawners and wakers), written under a lock. The
 * region:
 *   [0, 128)     struct schedrt_shm_events (written before READY; only the
 *                calibration's atomics change later)
 *   ring_off     nrings x ring_stride: ring i is worker i's for i <
 *                max_workers, the last one the other threads'; a ring is a
 *                64-byte header (zero, reserved) then ring_cap records
 * Event n (0, 1, ... in the ring's order) lives in record n % ring_cap. Its
 * stamp is ((n + 1) << 9) | (kind << 1) | busy. The writer stores the stamp
 * with busy set (relaxed), a release fence, time, a and b (relaxed), then
 * the stamp with busy clear (release): a per-record seqlock. A reader
 * copies a record as a seqlock read (stamp acquire, data, acquire fence,
 * stamp again) and accepts it only if both stamps are equal, even, non-zero
 * and name an n that lives in that record; then keeps the longest run of
 * consecutive n ending at the newest accepted one. Events before that run
 * were overwritten (or were being overwritten): lost = newest n + 1 - run.
 * Nothing else is written per event, so the rings can be read while the
 * process runs, hangs or is stopped, without its help.
 */
#define SCHEDRT_SHM_EVENTS_HDR_SIZE 128u
#define SCHEDRT_SHM_EV_RING_HDR_SIZE 64u
#define SCHEDRT_SHM_EV_REC_SIZE 32u
#define SCHEDRT_SHM_EV_DEFAULT 4096u /* records per ring */
#define SCHEDRT_SHM_EV_MIN 64u
#define SCHEDRT_SHM_EV_MAX 65536u /* what a writer uses and a reader accepts */
#define SCHEDRT_SHM_EV_STAMP_SHIFT 9u
#define SCHEDRT_SHM_EV_BUSY 1u
/* events.clock: what a record's time counts. */
#define SCHEDRT_SHM_EV_CLOCK_MONO 0u /* CLOCK_MONOTONIC ns */
#define SCHEDRT_SHM_EV_CLOCK_TSC 1u  /* x86 TSC ticks: ns by the calibration pairs */

struct schedrt_shm_events {
  uint32_t nrings;      /*   0 max_workers + 1 */
  uint32_t ring_cap;    /*   4 records per ring, a power of two, 64 .. 65536 */
  uint32_t rec_size;    /*   8 32 */
  uint32_t ring_off;    /*  12 from the region's start: ring 0 (128) */
  uint32_t ring_stride; /*  16 bytes per ring: 64 + ring_cap x rec_size, rounded up to 128 */
  uint32_t clock;       /*  20 SCHEDRT_SHM_EV_CLOCK_* */
  uint32_t nkinds;      /*  24 event kinds the writer knows (SCHEDRT_EVENT_KINDS) */
  uint32_t resv0;       /*  28 zero */
  /* Clock TSC: ns = ns0 + (t - tsc0) x (ns1 - ns0) / (tsc1 - tsc0); pair 0
   * at the start, pair 1 renewed by the monitor every period under cal_seq
   * (a seqlock of its own). CLOCK_MONOTONIC: all zero. */
  uint64_t tsc0;            /*  32 */
  uint64_t ns0;             /*  40 */
  _Atomic uint64_t cal_seq; /*  48 */
  _Atomic uint64_t tsc1;    /*  56 */
  _Atomic uint64_t ns1;     /*  64 */
  uint64_t resv[7];         /*  72 .. 128 zero */
};
_Static_assert(offsetof(struct schedrt_shm_events, nrings) == 0, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, ring_cap) == 4, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, rec_size) == 8, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, ring_off) == 12, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, ring_stride) == 16, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, clock) == 20, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, nkinds) == 24, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, resv0) == 28, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, tsc0) == 32, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, ns0) == 40, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, cal_seq) == 48, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, tsc1) == 56, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, ns1) == 64, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_events, resv) == 72, "layout 2.6");
_Static_assert(sizeof(struct schedrt_shm_events) == SCHEDRT_SHM_EVENTS_HDR_SIZE, "layout 2.6");

/* One record. */
struct schedrt_shm_event {
  _Atomic uint64_t stamp; /*  0 ((n + 1) << 9) | (kind << 1) | busy; 0: never written */
  _Atomic uint64_t time;  /*  8 by the region's clock */
  _Atomic uint64_t a;     /* 16 by kind (events_def.h) */
  _Atomic uint64_t b;     /* 24 */
};
_Static_assert(offsetof(struct schedrt_shm_event, stamp) == 0, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_event, time) == 8, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_event, a) == 16, "layout 2.6");
_Static_assert(offsetof(struct schedrt_shm_event, b) == 24, "layout 2.6");
_Static_assert(sizeof(struct schedrt_shm_event) == SCHEDRT_SHM_EV_REC_SIZE, "layout 2.6");
_Static_assert(SCHEDRT_SHM_EV_RING_HDR_SIZE % SCHEDRT_SHM_EV_REC_SIZE == 0, "records stay aligned");

/* ---------------------------------------------------------- computed size */

/* Region offsets for n workers with the default layout, as writers lay it out. */
struct schedrt_shm_geometry {
  uint32_t bounds_off, desc_off, desc_count, slot_off, hist_off, hist_size, ctl_off, ctl_size;
  /* The sites region and its parts (from the region's start). */
  uint32_t sites_off, sites_size, site_cap, site_desc_off, site_ctr_off, site_block_stride;
  /* The event rings (2.6; all 0 when events are off): records per ring. */
  uint32_t events_off, events_size, ev_cap, ev_ring_stride;
  uint64_t total_size;
};

static inline uint32_t schedrt_shm_align_up(uint32_t v, uint32_t a) { return (v + a - 1u) / a * a; }

/* 0, or -EINVAL when n is 0 or too large, site_cap is 0 or above
 * SCHEDRT_SHM_MAX_SITES, or page_size is not a power of two >= 4096; -E2BIG
 * when the segment would exceed SCHEDRT_SHM_MAX_SIZE. */
int schedrt_shm_geometry(uint32_t max_workers, uint32_t site_cap, uint32_t page_size,
                         struct schedrt_shm_geometry *g);
/* The same with ev_cap records per event ring (0: no rings; else a power of
 * two from SCHEDRT_SHM_EV_MIN to SCHEDRT_SHM_EV_MAX, or -EINVAL). */
int schedrt_shm_geometry_ev(uint32_t max_workers, uint32_t site_cap, uint32_t ev_cap, uint32_t page_size,
                            struct schedrt_shm_geometry *g);

#endif /* SCHEDRT_PROTO_SHM_LAYOUT_H */
