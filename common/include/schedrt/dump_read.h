/*
 * Reading task dumps, and asking a runtime for one through its control page.
 * The one decoder of the dump format (docs/dump-format.md), for sched-inspect
 * and the tests; built on libcbor's streaming decoder (cbor_stream_decode),
 * which reads one item head at a time and allocates nothing.
 *
 * A dump is untrusted input (a file from anywhere, or an object another
 * process wrote). The decoder reads one pass with every count checked against
 * the bytes left before anything is allocated, nesting bounded (16 levels),
 * texts checked for UTF-8, a known key given twice rejected, every index
 * (spawn, await, worker, covered, missing) checked against its table, and
 * nothing accepted after the dump. Anything malformed or truncated is
 * SCHEDRT_ECORRUPT, a CBOR item that is not a schedrt dump SCHEDRT_EMAGIC,
 * another major SCHEDRT_EVERSION, each with a one-line message saying where
 * (e.g. "tasks[3].state: expected a text string or null, found an unsigned
 * integer (byte 4021)"). Unknown keys are skipped and unknown enumerated texts
 * read as "unknown" (newer minor versions).
 * Conventions as in <schedrt.h>: 0 or a negative error code.
 */
#ifndef SCHEDRT_DUMP_READ_H
#define SCHEDRT_DUMP_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedrt.h"
#include "schedrt/proto/control.h"
#include "schedrt/proto/dump_keys.h"
#include "schedrt/reader.h" /* schedrt_event */

#ifdef __cplusplus
extern "C" {
#endif

/* libcbor's item (<cbor.h>); only callers that ask for the item tree need the header. */
struct cbor_item_t;

/* Absent (CBOR null or missing) numbers read as this. */
#define SCHEDRT_DUMP_NONE (-1)

/* Files larger than this are refused (a dump of a million tasks is about 90 MB). */
#define SCHEDRT_DUMP_MAX_SIZE (1ull << 30)

/* Flags of schedrt_dump_parse_ex / schedrt_dump_load_ex. */
enum {
  /* Also keep the decoded libcbor item tree in doc->cbor (cbor_load, run only
   * once the decoder accepted the input), e.g. for a faithful JSON conversion. */
  SCHEDRT_DUMP_KEEP_CBOR = 1u << 0,
  /* Texts fit for a terminal: control characters (C0, DEL, C1) read as '?'. */
  SCHEDRT_DUMP_PRINTABLE = 1u << 1,
  /* schedrt_dump_load_ex: follow a symbolic link (a path a user typed). */
  SCHEDRT_DUMP_FOLLOW = 1u << 2,
};

typedef struct schedrt_dump_task {
  uint64_t id;
  const char *name; /* NULL: unnamed */
  uint32_t state;   /* enum schedrt_dump_state; SCHEDRT_DUMP_STATE__COUNT: unknown text */
  int64_t worker;   /* SCHEDRT_DUMP_NONE or a worker index */
  int64_t position; /* in its queue, or NONE */
  int64_t spawn;    /* index into spawn_sites, or NONE */
  int64_t await;    /* index into await_sites, or NONE */
  uint64_t polls;
  uint64_t age_ns;
  int64_t state_ns; /* NONE for running tasks */
  /* 1.1 (0 / NONE / false in an older dump): who can wake it. */
  uint64_t wakers, timers;
  int64_t timer_in_ns; /* NONE: no timer */
  uint32_t wait;       /* enum schedrt_dump_wait; NONE: null or absent; __COUNT: unknown text */
  int64_t wait_for;    /* wait join: the task waited for; 1.2: mutex: its owner; semaphore: its only
                        * holder; else NONE */
  int64_t wait_object; /* any other wait but io: the primitive's address; else NONE */
  bool lost_wake;      /* idle, and nothing can wake it */
  /* 1.2, waits mutex and semaphore (NULL / 0 otherwise): (task id, permits) pairs, flattened (id 0: a
   * thread that is not a task), and how many holders the list leaves out. */
  uint64_t *holders;
  size_t nholders; /* numbers, twice the holders */
  uint64_t holders_more;
  /* 1.2, wait io: the fd (else NONE), "read"/"write", the socket's peer (else NULL). */
  int64_t wait_fd;
  const char *wait_interest;
  const char *peer;
} schedrt_dump_task;

/* 1.3: one frame of a stall backtrace (innermost first: frame 0 is where the thread was interrupted, the
 * others are return addresses). */
typedef struct schedrt_dump_frame {
  uint64_t ip;
  const char *module;    /* the ELF file as the loader named it at capture time; NULL: not known */
  int64_t module_offset; /* the address within it as its ELF file numbers it; NONE: not known */
  const char *symbol;    /* the dynamic symbol dladdr() found at capture time; NULL: none */
  int64_t symbol_offset; /* ip's offset from it; NONE with no symbol */
} schedrt_dump_frame;

typedef struct schedrt_dump_worker {
  uint64_t index;
  uint32_t role;                       /* enum schedrt_dump_role; __COUNT: unknown */
  uint32_t state;                      /* enum schedrt_worker_state; __COUNT: null or unknown */
  uint32_t reason;                     /* enum schedrt_dump_reason; NONE: null */
  uint32_t running_src;                /* enum schedrt_dump_source; NONE: null */
  int64_t local_queue, lifo, deferred; /* NONE when unknown */
  int64_t current_task;                /* NONE: no task */
  int64_t running_ns;                  /* NONE: not known */
  int64_t tid;                         /* 1.1: kernel thread id; NONE: not known */
  int64_t held_ns;                     /* 1.1: time held at the barrier; NONE: not known */
  /* 1.1, with per-poll timing: SCHEDRT_HIST_METRICS order, doc->nhist_bounds
   * counts each (the decoder checked the lengths); NULL when absent. */
  uint64_t *hist[SCHEDRT_M__HIST_COUNT];
  size_t nhist[SCHEDRT_M__HIST_COUNT];
  /* 1.3, the stuck worker of a watchdog dump taken with stall backtraces on (SCHEDRT_DUMP_BT_NONE and
   * nothing else otherwise): what became of its backtrace, why not (result "unavailable"), the signal
   * sent and how long the answer took (NONE: not known), and the frames (the decoder checked there are
   * at most SCHEDRT_DUMP_BT_MAX_FRAMES). */
  uint32_t bt_result; /* enum schedrt_dump_bt_result; __COUNT: unknown text */
  const char *bt_why;
  int64_t bt_signal, bt_wait_ns;
  bool bt_truncated;
  schedrt_dump_frame *bt_frames;
  size_t bt_nframes;
} schedrt_dump_worker;

/* 1.4: one event ring of a watchdog dump's events (the events key). */
typedef struct schedrt_dump_ev_ring {
  int64_t worker; /* its index; SCHEDRT_DUMP_NONE: the ring of the threads that are not workers */
  uint64_t written, lost, torn;
  uint64_t cut; /* events of the window the runtime left out (the oldest) to bound the dump */
  /* Oldest first, seq strictly increasing (the decoder checked it and that there are at most
   * SCHEDRT_DUMP_EV_MAX); time_ns CLOCK_MONOTONIC of the process (0: not known); ring: this ring's
   * index in doc->ev_rings. */
  schedrt_event *events;
  size_t nevents;
} schedrt_dump_ev_ring;

typedef struct schedrt_dump_site {
  const char *file;  /* NULL if absent */
  const char *func;  /* spawn sites */
  const char *label; /* await sites */
  uint64_t line;
} schedrt_dump_site;

typedef struct schedrt_dump_doc {
  uint64_t major, minor;
  /* meta */
  const char *runtime, *runtime_version, *source, *label, *status;
  uint64_t pid, proc_starttime, started_mono_ns, nworkers, deadline_ms;
  uint64_t requested_mono_ns, taken_mono_ns, taken_realtime_ns, gather_ns, pause_ns, task_count;
  uint64_t gather_rounds; /* 1.1; 0 in an older dump */
  uint8_t nonce[16], boot_id[16];
  uint64_t *covered, *missing;
  size_t ncovered, nmissing;
  schedrt_dump_worker *workers;
  size_t nworkers_listed;
  uint64_t injection_depth;
  /* 1.2: the blocking pool; all SCHEDRT_DUMP_NONE in an older dump. */
  int64_t blocking_threads, blocking_idle, blocking_max, blocking_queue;
  schedrt_dump_task *tasks;
  size_t ntasks;
  schedrt_dump_site *spawn_sites, *await_sites;
  size_t nspawn_sites, nawait_sites;
  /* 1.1: the histograms' upper bounds in ns (the last is UINT64_MAX); NULL when absent. */
  uint64_t *hist_bounds;
  size_t nhist_bounds;
  /* 1.4, watchdog dumps of a runtime with events on: the event rings' last seconds (has_events false and
   * nothing else otherwise). At most nworkers_listed + 1 rings, each worker's at most once. */
  bool has_events;
  uint64_t ev_window_ns, ev_copied_mono_ns, ev_ring_size, ev_max;
  schedrt_dump_ev_ring *ev_rings;
  size_t nev_rings;
  /* With SCHEDRT_DUMP_KEEP_CBOR: the whole dump as libcbor items (the tag
   * 55799 item; the doc owns it). Otherwise NULL. */
  struct cbor_item_t *cbor;
} schedrt_dump_doc;

/*
 * Decodes a whole dump (buf is not kept). On success *out must be freed with
 * schedrt_dump_doc_free; on failure *out is NULL and, if err is not NULL, it
 * receives a one-line message (errsize bytes at most). flags: SCHEDRT_DUMP_*.
 */
SCHEDRT_NODISCARD int schedrt_dump_parse_ex(const void *buf, size_t len, unsigned flags,
                                            schedrt_dump_doc **out, char *err, size_t errsize);
/* Reads a regular file of at most SCHEDRT_DUMP_MAX_SIZE bytes (O_NOFOLLOW
 * unless SCHEDRT_DUMP_FOLLOW) and decodes it; -errno if it cannot be read. */
SCHEDRT_NODISCARD int schedrt_dump_load_ex(const char *path, unsigned flags, schedrt_dump_doc **out,
                                           char *err, size_t errsize);
/* The same with no flags and no message. */
SCHEDRT_NODISCARD int schedrt_dump_parse(const void *buf, size_t len, schedrt_dump_doc **out);
SCHEDRT_NODISCARD int schedrt_dump_load(const char *path, schedrt_dump_doc **out);
void schedrt_dump_doc_free(schedrt_dump_doc *doc);

/* The site a task was spawned at / waits at; NULL when it has none (the
 * decoder checked the indexes, so a non-NONE index always resolves). */
const schedrt_dump_site *schedrt_dump_spawn_site(const schedrt_dump_doc *d, const schedrt_dump_task *t);
const schedrt_dump_site *schedrt_dump_await_site(const schedrt_dump_doc *d, const schedrt_dump_task *t);
/* The first task with this id, or NULL (linear). */
const schedrt_dump_task *schedrt_dump_find_task(const schedrt_dump_doc *d, uint64_t id);

/* "running", "idle", ... or "unknown" (__COUNT, or any value out of range). Never NULL. */
const char *schedrt_dump_state_text(uint32_t state);
const char *schedrt_dump_role_text(uint32_t role);
const char *schedrt_dump_wstate_text(uint32_t wstate);
/* "polling", ... "unknown"; NULL for SCHEDRT_DUMP_REASON_NONE / SOURCE_NONE (null in the dump). */
const char *schedrt_dump_reason_text(uint32_t reason);
const char *schedrt_dump_source_text(uint32_t source);
/* "ok", "no_answer", "unavailable", "unknown"; NULL for SCHEDRT_DUMP_BT_NONE (no backtrace). */
const char *schedrt_dump_bt_result_text(uint32_t result);
/* "join", "notify", "oneshot", "unknown"; NULL for SCHEDRT_DUMP_WAIT_NONE. */
const char *schedrt_dump_wait_text(uint32_t wait);

/* ------------------------------------------------------- control page */

typedef struct schedrt_ctl_answer {
  uint32_t status; /* schedrt_dump_status */
  uint32_t reason; /* SCHEDRT_CTL_R_* */
  uint32_t tasks, workers_covered, workers_missing;
  uint64_t bytes, pause_ns, done_ns;
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  char object[SCHEDRT_CTL_OBJECT_SIZE]; /* "" when no dump was made */
} schedrt_ctl_answer;

/*
 * Rings the doorbell of a mapped control page: kind (SCHEDRT_CTL_KIND_*),
 * timeout_ms (0: the runtime's default), label (NULL or printable ASCII,
 * < 64 bytes), deadline_ns (CLOCK_MONOTONIC after which the caller no
 * longer collects the answer; 0: none; sent only to a runtime that knows
 * SCHEDRT_CTL_FLAG_DEADLINE) and a fresh random nonce (copied to *nonce if
 * not NULL).
 * *seq receives the sequence to wait for. -ENOTSUP (page not served),
 * SCHEDRT_EVERSION, -EBUSY (another request is pending or being written, or
 * ours took so long that the runtime closed it as torn), -EINVAL.
 */
SCHEDRT_NODISCARD int schedrt_ctl_submit(struct schedrt_ctl *c, uint32_t kind, uint32_t timeout_ms,
                                         const char *label, uint64_t deadline_ns, uint32_t *seq,
                                         uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE]);
/*
 * Waits up to timeout_ns for the answer to seq (its slot; futex, shared).
 * With nonce (the one schedrt_ctl_submit returned), only an answer that
 * echoes it counts: a sequence can come round again, a nonce cannot.
 * 0, -ETIMEDOUT, or -ESTALE (SCHEDRT_CTL_SLOTS later answers took the slot).
 */
SCHEDRT_NODISCARD int schedrt_ctl_wait(struct schedrt_ctl *c, uint32_t seq,
                                       const uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE], uint64_t timeout_ns,
                                       schedrt_ctl_answer *out);
/*
 * Reads the dump object named in an answer ("/schedrt.<uid>.<pid>.<start>.dump.<n>")
 * from dir (NULL: /dev/shm), then removes it. It is opened without blocking and
 * without following a link, and checked before any read: a regular file
 * owned by uid (the target runtime's: the uid of its segment, also in the
 * name), mode 0600, one link, at most SCHEDRT_CTL_OBJECT_MAX bytes.
 * *buf (malloc'd) and *len. SCHEDRT_ENOTSEG for a FIFO, socket or other
 * non-regular file, SCHEDRT_EOWNER for the wrong owner, mode or links,
 * SCHEDRT_ECORRUPT for a name that does not carry uid or an oversized object.
 */
#define SCHEDRT_CTL_OBJECT_MAX (1ull << 30)
SCHEDRT_NODISCARD int schedrt_ctl_collect(const char *dir, const char *object, uint32_t uid, void **buf,
                                          size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* SCHEDRT_DUMP_READ_H */
