/*
 * Reading task dumps, and asking a runtime for one through its control page.
 * For sched-inspect and the tests; no runtime and no CBOR library needed.
 *
 * A dump is untrusted input (a file from anywhere, or an object another
 * process wrote): the parser checks every length against the bytes left,
 * bounds nesting, never allocates more than the input can describe, and
 * fails with SCHEDRT_ECORRUPT on anything malformed or truncated. Unknown keys
 * are skipped (newer minor versions); an unknown major is SCHEDRT_EVERSION.
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

#ifdef __cplusplus
extern "C" {
#endif

/* Absent (CBOR null or missing) numbers read as this. */
#define SCHEDRT_DUMP_NONE (-1)

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
} schedrt_dump_task;

typedef struct schedrt_dump_worker {
  uint64_t index;
  uint32_t role;                       /* enum schedrt_dump_role; __COUNT: unknown */
  uint32_t state;                      /* enum schedrt_dump_wstate; __COUNT: null or unknown */
  uint32_t reason;                     /* enum schedrt_dump_reason; NONE: null */
  uint32_t running_src;                /* enum schedrt_dump_source; NONE: null */
  int64_t local_queue, lifo, deferred; /* NONE when unknown */
  int64_t current_task;                /* NONE: no task */
  int64_t running_ns;                  /* NONE: not known */
} schedrt_dump_worker;

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
  uint8_t nonce[16], boot_id[16];
  uint64_t *covered, *missing;
  size_t ncovered, nmissing;
  schedrt_dump_worker *workers;
  size_t nworkers_listed;
  uint64_t injection_depth;
  schedrt_dump_task *tasks;
  size_t ntasks;
  schedrt_dump_site *spawn_sites, *await_sites;
  size_t nspawn_sites, nawait_sites;
} schedrt_dump_doc;

/* Parses a whole dump (buf is not kept). *out must be freed. */
SCHEDRT_NODISCARD int schedrt_dump_parse(const void *buf, size_t len, schedrt_dump_doc **out);
/* Reads a file (O_NOFOLLOW, at most 1 GiB) and parses it. */
SCHEDRT_NODISCARD int schedrt_dump_load(const char *path, schedrt_dump_doc **out);
void schedrt_dump_doc_free(schedrt_dump_doc *doc);
/* "running", "idle", ... "unknown"; likewise roles, reasons and sources. Never NULL. */
const char *schedrt_dump_state_text(uint32_t state);
const char *schedrt_dump_role_text(uint32_t role);

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
 * < 64 bytes) and a fresh random nonce (copied to *nonce if not NULL).
 * *seq receives the sequence to wait for. -ENOTSUP (page not served),
 * SCHEDRT_EVERSION, -EBUSY (another request is pending or being written, or
 * ours took so long that the runtime closed it as torn), -EINVAL.
 */
SCHEDRT_NODISCARD int schedrt_ctl_submit(struct schedrt_ctl *c, uint32_t kind, uint32_t timeout_ms,
                                         const char *label, uint32_t *seq,
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
 * from dir (NULL: /dev/shm) after checking it is a regular file of ours with
 * mode 0600 and one link, then removes it. *buf (malloc'd) and *len.
 */
SCHEDRT_NODISCARD int schedrt_ctl_collect(const char *dir, const char *object, void **buf, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* SCHEDRT_DUMP_READ_H */
