/*
 * The control page of the metrics segment: how another process (sched-inspect)
 * asks a runtime for a task dump. docs/dump-format.md ("Requests from another
 * process") describes the protocol; this header is the byte layout.
 *
 * The page is the segment's region [ctl_off, ctl_off + ctl_size): a requester
 * maps just that page read-write, so everything in it is untrusted input for
 * the runtime. The runtime copies a request once, validates every field and
 * answers; it never follows a pointer, a path or a size taken from here.
 *
 * ABI rules as in shm_layout.h: fixed-width fields only, every offset
 * asserted, at most 64-bit lock-free atomics. The two sequence words are the
 * only atomics: they order the plain fields around them (release/acquire), the
 * way a seqlock's sequence orders its data. A requester that breaks the
 * protocol can only tear its own request, which the runtime then rejects:
 * at every look the runtime also puts back what only it writes (identity,
 * state, resp_seq, the slots' seqs) and a req_seq that is not the last
 * answer, +1 or +2 (dump_control.c, repair), so no write by a process of
 * the runtime's uid disables requests for more than the one in flight.
 *
 * Protocol in short (a sequence is a 32-bit serial number; even = complete):
 *   requester: s = req_seq (even) and resp_seq == s (nothing pending), else
 *              BUSY; CAS req_seq s -> s+1 (claimed); write the request;
 *              CAS req_seq s+1 -> s+2 with release (the doorbell; FUTEX_WAKE
 *              it). A claim left open over a second is closed by the
 *              runtime (answered REJECTED/TORN), so the second CAS can fail.
 *   runtime:   every monitor period, acquire-load req_seq; last answer + 2
 *              is a request: copy it, re-check req_seq, validate, serve; then
 *              store resp_seq = s+1 (odd: answer being written), the answer,
 *              and release-store resp_seq = s+2 and FUTEX_WAKE (shared) it.
 *   requester: wait until its slot's seq == s+2 (futex on resp_seq, or
 *              polling), copy the slot, acquire fence, re-check its seq.
 */
#ifndef SCHEDRT_PROTO_CONTROL_H
#define SCHEDRT_PROTO_CONTROL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "schedrt.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free (address-free) for shm");

#define SCHEDRT_CTL_MAGIC 0x4c544353u /* "SCTL" read as a little-endian u32 */
#define SCHEDRT_CTL_MAJOR 1
#define SCHEDRT_CTL_MINOR 1

/* state: OFF until the runtime filled the identity fields; SERVED (stored
 * last, release); CLOSED once the runtime stops answering (shutdown). */
enum {
  SCHEDRT_CTL_STATE_OFF = 0,
  SCHEDRT_CTL_STATE_SERVED = 1,
  SCHEDRT_CTL_STATE_CLOSED = 2,
};

/* req_kind. PING answers at once with the status a dump would get. */
enum {
  SCHEDRT_CTL_KIND_PING = 1,
  SCHEDRT_CTL_KIND_DUMP = 2,
};

/* req_flags; any other bit set is rejected. A requester sets a flag only
 * when the page's flags_known has it (a 1.0 runtime knows none).
 * DEADLINE (1.1): req_deadline_ns is the CLOCK_MONOTONIC time after which
 * the requester no longer collects an answer. A dump that would be answered
 * later is discarded instead of left as an object nobody reads: a request
 * seen after it is not served, one finished after it is not linked (both
 * answered REJECTED/EXPIRED). The clock is the requester's: both processes
 * must share a time namespace. */
#define SCHEDRT_CTL_FLAG_DEADLINE 1u
#define SCHEDRT_CTL_FLAGS_KNOWN SCHEDRT_CTL_FLAG_DEADLINE

#define SCHEDRT_CTL_NONCE_SIZE 16
#define SCHEDRT_CTL_LABEL_SIZE 64  /* NUL-terminated, printable ASCII */
#define SCHEDRT_CTL_OBJECT_SIZE 64 /* "/schedrt.<uid>.<pid>.<start>.dump.<n>" + NUL */
/* Bounds for req_timeout_ms (0 means the runtime's default). */
#define SCHEDRT_CTL_TIMEOUT_MIN_MS 10u
#define SCHEDRT_CTL_TIMEOUT_MAX_MS SCHEDRT_DUMP_TIMEOUT_MAX_MS

/*
 * resp_status is a schedrt_dump_status (SCHEDRT_DUMP_STATUSES in schedrt.h:
 * OK 0, PARTIAL 1, ... with their values). resp_reason says why.
 */
enum {
  SCHEDRT_CTL_R_NONE = 0,
  SCHEDRT_CTL_R_KIND = 1,      /* unknown req_kind */
  SCHEDRT_CTL_R_FLAGS = 2,     /* unknown bit in req_flags */
  SCHEDRT_CTL_R_TIMEOUT = 3,   /* req_timeout_ms outside [MIN, MAX] (and not 0) */
  SCHEDRT_CTL_R_LABEL = 4,     /* no NUL in req_label, or a byte outside 0x20..0x7e */
  SCHEDRT_CTL_R_NONCE = 5,     /* all-zero nonce */
  SCHEDRT_CTL_R_REPLAY = 6,    /* nonce of a recent request */
  SCHEDRT_CTL_R_TORN = 7,      /* changed while copied, or claimed and never completed */
  SCHEDRT_CTL_R_RESERVED = 8,  /* a reserved request field is not zero */
  SCHEDRT_CTL_R_OBJECTS = 9,   /* BUSY: too many uncollected dump objects */
  SCHEDRT_CTL_R_INFLIGHT = 10, /* BUSY: another dump is being taken */
  SCHEDRT_CTL_R_IO = 11,       /* FAILED: creating or writing the object */
  SCHEDRT_CTL_R_NOMEM = 12,    /* FAILED: out of memory */
  SCHEDRT_CTL_R_EXPIRED = 13,  /* the requester's deadline passed first (1.1) */
  SCHEDRT_CTL_R__COUNT
};

/*
 * Answers also go to a ring of slots, the answer to request seq in
 * answers[(seq / 2) % SCHEDRT_CTL_SLOTS], each under its own sequence (seq - 1,
 * odd, while written; then seq). The resp_* fields hold only the latest
 * answer: with several requesters, the next request can be answered before a
 * slow requester copied its own, which then survives in its slot until
 * SCHEDRT_CTL_SLOTS more requests were answered.
 */
#define SCHEDRT_CTL_SLOTS 8

struct schedrt_ctl_slot {
  _Atomic uint32_t seq;                  /*   0 request answered here; seq - 1 while written */
  uint32_t status;                       /*   4 schedrt_dump_status */
  uint32_t reason;                       /*   8 SCHEDRT_CTL_R_* */
  uint32_t tasks;                        /*  12 */
  uint32_t workers_covered;              /*  16 */
  uint32_t workers_missing;              /*  20 */
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE]; /* 24 */
  uint64_t bytes;                        /*  40 */
  uint64_t pause_ns;                     /*  48 */
  uint64_t done_ns;                      /*  56 */
  char object[SCHEDRT_CTL_OBJECT_SIZE];  /* 64 */
};

_Static_assert(offsetof(struct schedrt_ctl_slot, seq) == 0, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, status) == 4, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, reason) == 8, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, tasks) == 12, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, workers_covered) == 16, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, workers_missing) == 20, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, nonce) == 24, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, bytes) == 40, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, pause_ns) == 48, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, done_ns) == 56, "ctl slot layout");
_Static_assert(offsetof(struct schedrt_ctl_slot, object) == 64, "ctl slot layout");
_Static_assert(sizeof(struct schedrt_ctl_slot) == 128, "ctl slot layout");

struct schedrt_ctl {
  /* Identity: written by the runtime before state turns SERVED. */
  uint32_t magic;              /*   0 SCHEDRT_CTL_MAGIC */
  uint16_t major;              /*   4 */
  uint16_t minor;              /*   6 */
  uint32_t size;               /*   8 sizeof(struct schedrt_ctl) */
  _Atomic uint32_t state;      /*  12 OFF / SERVED / CLOSED */
  uint32_t kinds;              /*  16 bit k set: kind k is served */
  uint32_t flags_known;        /*  20 SCHEDRT_CTL_FLAGS_KNOWN of the runtime */
  uint32_t timeout_min_ms;     /*  24 */
  uint32_t timeout_max_ms;     /*  28 */
  uint32_t timeout_default_ms; /*  32 used for req_timeout_ms == 0 */
  uint32_t poll_period_ms;     /*  36 the runtime looks at the doorbell this often */
  uint32_t keep_s;             /*  40 an uncollected dump object is removed after this */
  uint32_t max_objects;        /*  44 uncollected objects allowed (then BUSY) */
  uint64_t resv0[2];           /*  48 zero */
  /* Request: written by the requester that claimed req_seq. */
  _Atomic uint32_t req_seq;                  /*  64 odd: being written; even: doorbell (futex word) */
  uint32_t req_kind;                         /*  68 SCHEDRT_CTL_KIND_* */
  uint32_t req_flags;                        /*  72 */
  uint32_t req_timeout_ms;                   /*  76 start-barrier deadline; 0: default */
  uint32_t req_pid;                          /*  80 requester's pid, informational only */
  uint32_t req_resv;                         /*  84 must be 0 */
  uint8_t req_nonce[SCHEDRT_CTL_NONCE_SIZE]; /* 88 random, not all zero; echoed */
  char req_label[SCHEDRT_CTL_LABEL_SIZE];    /* 104 copied into the dump's meta */
  uint64_t req_deadline_ns;                  /* 168 with FLAG_DEADLINE; else 0 */
  uint64_t req_resv2[2];                     /* 176 must be 0 */
  /* Response: written by the runtime only. */
  _Atomic uint32_t resp_seq;     /* 192 req_seq answered; +1 (odd) while being written (futex word) */
  uint32_t resp_status;          /* 196 schedrt_dump_status */
  uint32_t resp_reason;          /* 200 SCHEDRT_CTL_R_* */
  uint32_t resp_tasks;           /* 204 task records in the dump */
  uint32_t resp_workers_covered; /* 208 */
  uint32_t resp_workers_missing; /* 212 */
  uint8_t resp_nonce[SCHEDRT_CTL_NONCE_SIZE];         /* 216 the request's nonce */
  uint64_t resp_bytes;                                /* 232 size of the dump object */
  uint64_t resp_pause_ns;                             /* 240 time the workers were held */
  uint64_t resp_done_ns;                              /* 248 CLOCK_MONOTONIC of the answer */
  char resp_object[SCHEDRT_CTL_OBJECT_SIZE];          /* 256 shm name of the dump, or "" */
  uint64_t resv1[24];                                 /* 320 .. 512 zero */
  struct schedrt_ctl_slot answers[SCHEDRT_CTL_SLOTS]; /* 512 .. 1536 */
};

_Static_assert(offsetof(struct schedrt_ctl, magic) == 0, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, major) == 4, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, minor) == 6, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, size) == 8, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, state) == 12, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, kinds) == 16, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, flags_known) == 20, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, timeout_min_ms) == 24, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, timeout_max_ms) == 28, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, timeout_default_ms) == 32, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, poll_period_ms) == 36, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, keep_s) == 40, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, max_objects) == 44, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resv0) == 48, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_seq) == 64, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_kind) == 68, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_flags) == 72, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_timeout_ms) == 76, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_pid) == 80, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_resv) == 84, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_nonce) == 88, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_label) == 104, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_deadline_ns) == 168, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, req_resv2) == 176, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_seq) == 192, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_status) == 196, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_reason) == 200, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_tasks) == 204, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_workers_covered) == 208, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_workers_missing) == 212, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_nonce) == 216, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_bytes) == 232, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_pause_ns) == 240, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_done_ns) == 248, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resp_object) == 256, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, resv1) == 320, "ctl layout");
_Static_assert(offsetof(struct schedrt_ctl, answers) == 512, "ctl layout");
_Static_assert(sizeof(struct schedrt_ctl) == 1536, "ctl layout");

/* Serial-number comparison (RFC 1982) of two sequences: a is after b. */
static inline int schedrt_ctl_seq_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* The slot that holds (or will hold) the answer to request seq. */
static inline struct schedrt_ctl_slot *schedrt_ctl_slot_of(struct schedrt_ctl *c, uint32_t seq) {
  return &c->answers[(seq / 2u) % SCHEDRT_CTL_SLOTS];
}

#endif /* SCHEDRT_PROTO_CONTROL_H */
