/*
 * Helpers shared by the runtime (writer) and the reader: segment names, the
 * walk over the directory that holds them, process identity (/proc),
 * formatting a fresh segment, the stale test and sweep, and the metric table
 * generated from metrics_def.h. Internal to the
 * project (schedrt__ prefix, hidden in libschedrt).
 */
#ifndef SCHEDRT_SHM_UTIL_H
#define SCHEDRT_SHM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schedrt.h"
#include "schedrt/proto/shm_layout.h"

/* ---------------------------------------------------------------- names */

/* Where the objects live unless a caller says otherwise. */
#define SCHEDRT_SHM_DIR "/dev/shm"
#define SCHEDRT_SHM_PREFIX "schedrt."
/* "schedrt." + 4 numbers of <= 20 digits + ".dump." + dots: fits easily. */
#define SCHEDRT_SHM_NAME_MAX 128

struct schedrt__shm_name {
  uint32_t uid;
  uint32_t pid;
  uint64_t starttime;
  uint32_t index;
  bool is_dump; /* "schedrt.U.P.S.dump.N" (a task dump) */
};

/* "schedrt.<uid>.<pid>.<starttime>.<index>" without '/'; 0 or -ENAMETOOLONG. */
int schedrt__shm_name_format(char *buf, size_t size, uint32_t uid, uint32_t pid, uint64_t starttime,
                             uint32_t index);
/* Parses a name without '/' (strict: decimal, no signs, no leading zeros
 * except "0", no trailing garbage). 0 or -EINVAL. */
int schedrt__shm_name_parse(const char *name, struct schedrt__shm_name *out);

/* ------------------------------------------------------------- scanning */

/*
 * What schedrt__shm_scan calls for each entry whose name parses as ours,
 * with the directory's fd (for *at() calls), the name and its fields. A
 * non-zero return stops the scan and becomes its result.
 */
typedef int (*schedrt__shm_scan_fn)(int dirfd, const char *name, const struct schedrt__shm_name *nm,
                                    void *ctx);
/* Walks dir (NULL: SCHEDRT_SHM_DIR) once, in directory order. 0, -errno when
 * it cannot be opened, or what fn stopped the walk with. */
int schedrt__shm_scan(const char *dir, schedrt__shm_scan_fn fn, void *ctx);

/* ------------------------------------------------------ process identity */

/* Field 22 of /proc/<pid>/stat (clock ticks after boot). -ESRCH, -EIO. */
int schedrt__proc_starttime(pid_t pid, uint64_t *out);
/* The effective uid of a process (the Uid: line of /proc/<pid>/status): the
 * uid its segments carry. -ESRCH, -EIO. */
int schedrt__proc_euid(pid_t pid, uint32_t *out);
/* /proc/sys/kernel/random/boot_id as 16 bytes (zeros if unreadable). */
void schedrt__boot_id(uint8_t out[16]);

enum schedrt__proc_state {
  SCHEDRT_PROC_ALIVE = 0,  /* pid exists with that start time (or it cannot be read) */
  SCHEDRT_PROC_GONE = 1,   /* ESRCH */
  SCHEDRT_PROC_REUSED = 2, /* another start time, or another user's (EPERM) */
};
/* Is the process that made a segment still there? */
enum schedrt__proc_state schedrt__proc_check(uint32_t pid, uint64_t starttime);

/* --------------------------------------------------------- formatting */

struct schedrt__shm_params {
  uint32_t max_workers;
  uint32_t page_size;
  uint32_t heartbeat_period_ms;
  uint32_t pid, uid;
  uint64_t starttime;
  uint32_t runtime_index;
  uint64_t features;
  uint32_t local_queue_cap;
  uint32_t maintenance_interval;
  uint32_t long_poll_ms, long_poll_watch_us; /* 0, 0: long polls not counted */
  const char *runtime_name;
  const char *runtime_version;
  const char *comm;
  const char *saved_dir; /* NULL: no watchdog */
};

/*
 * Writes the header (state INIT), the bucket bounds and the descriptor table
 * into base, which must be zeroed and g->total_size bytes long. The caller
 * stores nr_workers and then READY with schedrt__shm_publish_ready().
 */
void schedrt__shm_format(void *base, const struct schedrt_shm_geometry *g,
                         const struct schedrt__shm_params *p);
/* Release-stores READY: the last store of the initialisation. */
void schedrt__shm_publish_ready(void *base);

/* ---------------------------------------------------------- stale sweep */

/*
 * Decides whether the object `name` in directory fd dirfd is stale, holding
 * an exclusive flock on it while deciding. On a stale verdict with unlink
 * set, unlinks it before dropping the lock. Only objects whose owner is
 * `uid` are considered. *stale receives the verdict. 0 or -errno.
 */
int schedrt__shm_check_stale(int dirfd, const char *name, uint32_t uid, bool unlink_it, bool *stale);
/*
 * The same rule for an object a reader holds open at fd, without judging its
 * name or removing anything: is its runtime still there? A runtime holds
 * LOCK_SH on its segment for its whole life, so a held lock says yes; an
 * unheld one leaves it to the process check of pid and starttime.
 */
bool schedrt__shm_owner_alive(int fd, uint32_t pid, uint64_t starttime);
/* Sweeps stale objects of uid in dir (NULL: /dev/shm), skipping our own
 * process's names (pid and start time). *removed may be NULL. */
int schedrt__shm_sweep(const char *dir, uint32_t uid, unsigned *removed);

/* ---------------------------------------------------------- metric table */

struct schedrt__metric_def {
  schedrt_metric_desc pub; /* name, unit, help, kind, scope */
  uint16_t region;         /* enum schedrt_shm_region */
  uint16_t width;          /* 4 or 8 */
  uint32_t offset;         /* inside the region element */
  uint32_t count;          /* 1 or SCHEDRT_HIST_BUCKETS */
};
extern const struct schedrt__metric_def schedrt__metric_defs[SCHEDRT_M__COUNT];

#endif /* SCHEDRT_SHM_UTIL_H */
