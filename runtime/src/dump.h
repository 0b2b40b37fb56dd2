/*
 * Task dumps inside the runtime: the start barrier (dump_barrier.c), the copy
 * taken while the workers are held (dump_snap.c), the CBOR writer
 * (dump_cbor.c), dump files and shm objects (dump_file.c), the metrics
 * segment's control page and poll data (dump_seg.c, dump_control.c), the
 * watchdog (dump_watchdog.c), who is stuck (dump_judge.c), the request flow
 * tying them together (dump.c) and the service's life (dump_service.c).
 * docs/dump-format.md describes
 * the protocol and the format. Internal; the struct is exposed for the
 * white-box tests.
 */
#ifndef SCHEDRT_DUMP_H
#define SCHEDRT_DUMP_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "schedrt/proto/control.h"
#include "schedrt/proto/dump_keys.h"
#include "stall_bt.h"

/* ---------------------------------------------------------------- barrier */

/*
 * One round: the coordinator opens it, workers arrive at safe points, and
 * whoever closes the gate leads: the worker whose arrival completes the set
 * (no wake-up between the last arrival and the copy), or the coordinator at
 * the deadline (a PARTIAL dump of the workers that did arrive). A worker that
 * arrived before the gate closed is covered and stays until the leader
 * releases. A worker whose own wait ends (deadline + grace) before any gate
 * closed takes its arrival back under the lock, so `arrived` always counts
 * exactly the workers inside and a later round can never be completed by an
 * arrival left over from an earlier one (Tokio's #8370).
 */
enum schedrt__dbar_phase {
  SCHEDRT_DBAR_IDLE = 0,     /* no round */
  SCHEDRT_DBAR_GATHER = 1,   /* open: workers arrive */
  SCHEDRT_DBAR_HELD = 2,     /* gate closed: the arrived are held while the leader copies */
  SCHEDRT_DBAR_RELEASED = 3, /* copy done: the held leave */
};
#define SCHEDRT_DBAR_COORD UINT32_MAX   /* the leader is the coordinator */
#define SCHEDRT_DBAR_PROBE_NS 100000ull /* how often a coordinator asks `settled` while others are held */

enum schedrt__dbar_outcome {
  SCHEDRT_DBAR_NOT_OPEN = 0, /* no round to join, or this one was joined already */
  SCHEDRT_DBAR_COVERED = 1,  /* held until the leader released */
  SCHEDRT_DBAR_LED = 2,      /* arrived last, copied, released the others */
  SCHEDRT_DBAR_GAVE_UP = 3,  /* no gate closed in time: the arrival was given back */
};

typedef void (*schedrt__dbar_lead_fn)(void *arg);
/* What the coordinator does about the participants not present yet. */
enum schedrt__dbar_verdict {
  SCHEDRT_DBAR_WAIT = 0,  /* go on gathering */
  SCHEDRT_DBAR_CLOSE = 1, /* close without them: they are stuck where waiting only holds the others */
  SCHEDRT_DBAR_RETRY = 2, /* let the held go, and gather again a little later */
};
typedef enum schedrt__dbar_verdict (*schedrt__dbar_judge_fn)(void *arg, const uint8_t *present,
                                                             uint32_t arrived, uint64_t held_since,
                                                             uint64_t now);

struct schedrt__dbar {
  pthread_mutex_t lock;
  pthread_cond_t cv_held;  /* participants wait here (CLOCK_MONOTONIC) */
  pthread_cond_t cv_coord; /* the coordinator waits here */
  uint32_t n;
  /* Everything below up to open_gen is guarded by lock. */
  uint32_t phase;
  uint32_t arrived; /* participants inside now: 0 whenever no round runs */
  uint32_t leader;  /* worker index or SCHEDRT_DBAR_COORD, valid from HELD */
  int self;         /* the requester, arrived at open, or -1 */
  bool aborted;     /* closed because the runtime is stopping: nothing copied */
  bool again;       /* closed for another round (the judge's RETRY): nothing copied */
  uint64_t gen;
  uint64_t deadline_ns; /* the coordinator closes the gate then */
  uint64_t give_up_ns;  /* a participant still gathering takes its arrival back then */
  uint64_t closed_ns, released_ns;
  uint8_t *present;     /* [n] arrived in this round; from HELD: covered */
  uint64_t *arrived_ns; /* [n] when each present participant arrived */
  /* gen while GATHER, else 0: the participants' lock-free first check. */
  _Atomic uint64_t open_gen;
  /* [n] the last gen participant i joined; only i (or the coordinator for
   * itself) writes it. */
  _Atomic uint64_t *seen;
  /* rt->dump_flag: cleared when the gate closes, nobody needs to come any more. */
  _Atomic uint32_t *flag;
  uint64_t held_since; /* the round's first arrival but the requester's: how long the arrived have waited */
  schedrt__dbar_lead_fn lead;
  schedrt__dbar_judge_fn judge; /* may be NULL: wait for all, or the deadline */
  void *arg;                    /* of lead and judge */
};

int schedrt__dbar_init(struct schedrt__dbar *b, uint32_t n, _Atomic uint32_t *flag,
                       schedrt__dbar_lead_fn lead, schedrt__dbar_judge_fn judge, void *arg);
void schedrt__dbar_destroy(struct schedrt__dbar *b);
/*
 * Coordinator: opens a round. self >= 0 is a participant that is the caller
 * (a worker asking from inside a task): it counts as arrived. -EBUSY if the
 * previous round still has participants inside.
 */
int schedrt__dbar_open(struct schedrt__dbar *b, uint64_t deadline_ns, uint64_t grace_ns, int self);
/* Participant i at a safe point. */
enum schedrt__dbar_outcome schedrt__dbar_arrive(struct schedrt__dbar *b, uint32_t i);
/*
 * Coordinator: waits until the gate closed: every participant arrived, or
 * the deadline passed, or `judge` (asked every SCHEDRT_DBAR_PROBE_NS while
 * participants are held, every millisecond otherwise) says to close without
 * the missing ones or to try again. SCHEDRT_DBAR_LEAD: the coordinator leads
 * (it copies, then calls schedrt__dbar_release); SCHEDRT_DBAR_ABORTED:
 * *stop (rt->shutdown) was seen while gathering (within 1 ms): release
 * without copying; SCHEDRT_DBAR_AGAIN: the judge asked for another round:
 * release without copying, finish, open again; SCHEDRT_DBAR_WORKER_LED: a
 * worker copied and released already.
 */
enum schedrt__dbar_close {
  SCHEDRT_DBAR_LEAD = 0,
  SCHEDRT_DBAR_ABORTED = 1,
  SCHEDRT_DBAR_WORKER_LED = 2,
  SCHEDRT_DBAR_AGAIN = 3,
};
enum schedrt__dbar_close schedrt__dbar_await_close(struct schedrt__dbar *b, const _Atomic bool *stop);
/* After the release: when the gate closed and opened, and who led. */
void schedrt__dbar_times(struct schedrt__dbar *b, uint64_t *closed_ns, uint64_t *released_ns,
                         uint32_t *leader);
/* After the release: how long participant i was held in this round (0: it was not there). */
uint64_t schedrt__dbar_held(struct schedrt__dbar *b, uint32_t i);
/* Leader: lets the held participants go. */
void schedrt__dbar_release(struct schedrt__dbar *b);
/* Coordinator: takes back self's arrival and waits (up to timeout_ns) until
 * every participant left. 0 or -ETIMEDOUT (the next open then says -EBUSY). */
int schedrt__dbar_finish(struct schedrt__dbar *b, int self, uint64_t timeout_ns);
/* Participants inside right now (white-box tests). */
uint32_t schedrt__dbar_arrived(struct schedrt__dbar *b);

/* ------------------------------------------------------------ the copy */

#define SCHEDRT__NO_WORKER UINT16_MAX

/*
 * One task as copied while the workers are held. The spawn and await sites
 * are kept as pointers: they point to string literals and static structs
 * (the schedrt_spawn and schedrt_await macros), read after the release.
 */
struct schedrt__drec {
  uint64_t id;
  uint64_t spawn_ns;
  uint64_t since_ns;
  uint64_t polls;
  uint64_t wait_arg;
  uint64_t timer_deadline; /* valid when timers > 0 */
  uint16_t wakers, timers;
  uint8_t wait; /* enum schedrt_dump_wait */
  const char *file;
  const char *func;
  const schedrt_await_site *await;
  int32_t line;
  uint32_t pos;
  uint16_t worker; /* SCHEDRT__NO_WORKER: none */
  uint8_t state;   /* enum schedrt_dump_state */
  uint8_t resv;
  uint32_t holders; /* waits on a mutex or semaphore: 1 + its index in the round's holders; 0: none */
  char name[SCHEDRT_TASK_NAME_MAX];
};

/* Who held the mutex or semaphore a task waits on, as published (sync_owner.h). */
struct schedrt__dholders {
  uint64_t packed[SCHEDRT_DUMP_HOLDERS_MAX]; /* schedrt__holder_pack() */
  uint32_t n, more;
};

/* Where a queued task was found: the map from task pointer to queue slot. */
struct schedrt__dloc {
  const schedrt_task *key; /* NULL: empty slot */
  uint64_t id;             /* read while the task could not go away: guards against reuse */
  uint32_t pos;
  uint16_t worker;
  uint8_t state;
};

struct schedrt__dworker {
  uint8_t role;        /* enum schedrt_dump_role */
  uint8_t wstate;      /* enum schedrt_worker_state; __COUNT: unknown */
  uint8_t reason;      /* enum schedrt_dump_reason (missing workers) */
  uint8_t running_src; /* enum schedrt_dump_source, NONE without running_ns */
  bool has_current;
  uint32_t local_queue;
  uint32_t lifo;
  uint32_t deferred;
  uint64_t current_id;
  uint64_t running_ns;
  uint64_t tid;            /* 0: not known */
  uint64_t held_ns;        /* time held at the barrier, all rounds of this dump */
  const schedrt_task *cur; /* compared with walked tasks, never dereferenced */
};

enum { SCHEDRT__SRC_API = 0, SCHEDRT__SRC_CONTROL = 1, SCHEDRT__SRC_WATCHDOG = 2 };

struct schedrt__dround {
  /* The request. */
  uint32_t timeout_ms;
  uint8_t source;
  bool has_label;
  int self; /* the requesting worker, or -1 */
  char label[SCHEDRT_CTL_LABEL_SIZE];
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  const struct schedrt__bt_result *bt; /* the request's backtrace of worker bt_worker, or NULL */
  uint32_t bt_worker;
  const struct schedrt__ev_snap *ev; /* the request's copy of the event rings, or NULL */
  uint32_t rounds;                   /* barrier rounds gathered (dump_judge.c) */
  uint64_t *held; /* [nworkers] time each was held at the barrier, summed over the rounds */
  /* [nworkers] parked when the last round opened (woken by the dump itself):
   * reported parked, what it was doing, not the search its waking started.
   * Written before the round opens, read by its leader. */
  uint8_t *woken;
  /* Clocks (CLOCK_MONOTONIC unless named otherwise). */
  uint64_t requested_ns, opened_ns, taken_ns, taken_realtime_ns, closed_ns, released_ns;
  /* Results. */
  schedrt_dump_status status;
  bool copied;      /* a leader ran the copy */
  bool copy_failed; /* out of memory during the copy: the dump is FAILED */
  uint32_t covered, missing;
  uint64_t inject_depth;
  /* The blocking pool's gauges, read during the copy. */
  uint64_t blocking_threads, blocking_idle, blocking_max, blocking_queue;
  /* The coordinator's view of each worker's poll while it gathers (dump_judge.c). */
  struct schedrt__dprobe {
    const void *cur; /* the worker's current task (compared, never dereferenced) */
    uint64_t seq;    /* its poll count (0 with metrics built out) */
    uint64_t since;  /* when (cur, seq) was first seen, or when the poll began if known */
    uint64_t seen;   /* when (cur, seq) was first seen */
    uint64_t on_cpu; /* its thread's CPU time then (schedstat), if known */
    bool stuck;      /* judged stuck in this poll (dump_judge.c) */
    bool known;
  } * probes; /* [nworkers] */
  /* The workers' histograms when the dump was taken (per-poll timing only):
   * [nworkers][SCHEDRT_M__HIST_COUNT][SCHEDRT_HIST_BUCKETS]. */
  bool has_hist;
  uint64_t *hist;
  struct schedrt__dworker *workers; /* [nworkers] */
  struct schedrt__drec *recs;
  size_t nrecs, cap;
  /* Holder tables of the objects tasks wait on (records point in by index). */
  struct schedrt__dholders *holders;
  size_t nholders, holders_cap;
  size_t nlock_waits; /* records whose holders may be looked up (dump_snap.c: find_holders) */
  struct schedrt__dloc *map;
  size_t map_cap, map_len; /* map_cap: a power of two */
  /* Ring tasks taken out while held, per worker, put back in order. */
  schedrt_task **taken;   /* [nworkers * SCHEDRT_LOCAL_QUEUE_CAP] */
  uint32_t *ntaken;       /* [nworkers] */
  schedrt_task **lifo;    /* [nworkers] */
  schedrt_task **cursors; /* [nshards]: the walk's position in each shard */
};

/* Reserves buffers for about `tasks` records and `queued` map entries (outside the pause). */
int schedrt__dsnap_prepare(struct schedrt__dround *r, size_t tasks, size_t queued);
/* The leader's work while the workers are held: a schedrt__dbar_lead_fn on the runtime's dump. */
void schedrt__dsnap_take(void *dump);
/* Returns big buffers to the system after a large dump (all: every buffer). */
void schedrt__dsnap_trim(struct schedrt__dround *r, bool all);

/* ----------------------------------------------------------- encoding */

/* Writes the CBOR dump of the last round to fd. 0 or -errno; *bytes written. */
int schedrt__dump_encode(struct schedrt__dump *d, int fd, uint64_t *bytes);

/* ------------------------------------------------- files and shm objects */

/* A file that appears under its name only once complete. */
struct schedrt__dfile {
  int fd;
  int dirfd;    /* borrowed */
  bool tmpfile; /* O_TMPFILE: linked at commit; else created with mode 0, chmod at commit */
  char name[256];
};

/*
 * Starts name in dirfd: an unnamed O_TMPFILE where the filesystem has them,
 * else the name itself created exclusively with mode 0 (unreadable until
 * complete). Never follows a link. 0, -EEXIST, -ENAMETOOLONG, -errno.
 */
int schedrt__dfile_create(struct schedrt__dfile *f, int dirfd, const char *name);
/* Mode 0600, then visible under f->name (linkat for a tmpfile). On -EEXIST
 * with a tmpfile the fd stays open: change f->name and commit again.
 * Otherwise closes. */
int schedrt__dfile_commit(struct schedrt__dfile *f);
/* Removes what was created and closes. */
void schedrt__dfile_abort(struct schedrt__dfile *f);

/* A dump object in /dev/shm that nobody collected yet. */
struct schedrt__dobj {
  char name[SCHEDRT_CTL_OBJECT_SIZE]; /* "/schedrt...." */
  uint64_t created_ns;
  uint64_t dev, ino;
};
#define SCHEDRT__DOBJ_MAX 8

/* Starts a dump object in /dev/shm under the next free name
 * "schedrt.<uid>.<pid>.<start>.dump.<n>"; dirfd is /dev/shm. */
int schedrt__dobj_create(struct schedrt__dump *d, struct schedrt__dfile *f, int dirfd);
/* Commits it (another name if one appeared meanwhile), remembers it for
 * expiry and writes its shm name ("/schedrt....") to name. */
int schedrt__dobj_commit(struct schedrt__dump *d, struct schedrt__dfile *f,
                         char name[SCHEDRT_CTL_OBJECT_SIZE]);
/* Forgets collected objects and removes those older than keep_ns (all:
 * every one). Returns how many remain uncollected. */
uint32_t schedrt__dobj_sweep(struct schedrt__dump *d, uint64_t now, uint64_t keep_ns, bool all);
/*
 * Age after which an uncollected object counts as abandoned when the table is
 * full: the requester's own deadline for the answer (sched-inspect gives up
 * 2 monitor periods + SCHEDRT__DOBJ_ABANDON_MARGIN_MS after the dump's own
 * deadline, and the object exists only once the dump is done), so a killed
 * requester's objects are reclaimed within one deadline instead of keep_s.
 */
#define SCHEDRT__DOBJ_ABANDON_MARGIN_MS 3000u
uint64_t schedrt__dobj_abandon_ns(const struct schedrt__dump *d);
/* The directory of shm objects, opened O_PATH; -errno. */
int schedrt__dobj_dir(void);

/* ------------------------------------------------ metrics segment access */

/* The segment's control page, or NULL (no published segment). */
struct schedrt_ctl *schedrt__dseg_control(schedrt_runtime *rt);
/* Worker i's scheduler state as its metrics slot last published it
 * (enum schedrt_worker_state), or SCHEDRT_WSTATE__COUNT. */
uint8_t schedrt__dseg_wstate(schedrt_runtime *rt, uint32_t i);
/* Worker i's poll in progress per its metrics slot: 0 and the task id and start
 * (*src POLL_START or MONITOR), or -ENOENT / -ENOTSUP. */
int schedrt__dseg_poll(schedrt_runtime *rt, uint32_t i, uint64_t *task_id, uint64_t *since_ns, uint8_t *src);
/* Worker i's live poll count (it moves at every poll), or 0 with metrics built out. */
uint64_t schedrt__dseg_poll_seq(schedrt_runtime *rt, uint32_t i);

/* --------------------------------------------------------- control page */

/* A validated request, from the API or the control page. */
struct schedrt__dreq {
  uint32_t timeout_ms; /* 0: the runtime's default */
  uint8_t source;
  bool has_label;
  char label[SCHEDRT_CTL_LABEL_SIZE];
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  uint64_t requester_deadline_ns; /* control requests: not collected after this; 0: none */
  /* Watchdog requests with stall backtraces on: the stuck worker's, written into its entry. NULL: none. */
  const struct schedrt__bt_result *bt;
  uint32_t bt_worker;
  /* Watchdog requests of a runtime with events on: the rings' last seconds, written as "events". NULL: none.
   */
  const struct schedrt__ev_snap *ev;
};

struct schedrt__dctl {
  /* Set by the monitor (or a test, schedrt__dump_ctl_attach); read by the monitor. */
  _Atomic(struct schedrt_ctl *) page;
  /* Monitor thread only from here on. */
  struct schedrt_ctl *served;           /* the page whose identity was written */
  bool looked_up;                       /* the segment was asked once */
  uint32_t last_seq;                    /* the last request answered (what resp_seq must say) */
  uint32_t slot_seq[SCHEDRT_CTL_SLOTS]; /* what each answer slot's seq must say */
  uint64_t repairs;                     /* words of the page put back (repair()) */
  uint32_t odd_seq;                     /* a claim seen open ... */
  uint32_t odd_ticks;                   /* ... for this many ticks ... */
  uint64_t odd_since_ns;                /* ... since then */
  uint8_t nonces[8][SCHEDRT_CTL_NONCE_SIZE];
  uint32_t nonce_next;
  /*
   * A dump for the page runs on a helper thread, so the monitor keeps its
   * heartbeat and timers while the dump waits for a stuck worker. While it
   * runs the monitor leaves the page alone: one writer of answers at a time.
   */
  pthread_t helper;
  bool helper_live;
  _Atomic bool helper_done;
  struct schedrt__dctl_job {
    struct schedrt__dump *d;
    struct schedrt_ctl *c;
    uint32_t seq;
    uint64_t now;
    struct schedrt__dreq req;
  } job;
};

/* Before the monitor runs: the segment's page gets its identity (SERVED). */
void schedrt__dctl_start(struct schedrt__dump *d);
/* Monitor tick: serves the doorbell. */
void schedrt__dctl_tick(struct schedrt__dump *d, uint64_t now);
/* Shutdown: answers a pending request SHUTDOWN and marks the page CLOSED. */
void schedrt__dctl_close(struct schedrt__dump *d);
/* Tests: serve this page instead of the segment's (NULL: back to the segment). */
void schedrt__dump_ctl_attach(schedrt_runtime *rt, struct schedrt_ctl *page);

/* ------------------------------------------------------------ watchdog */

/* What the watchdog remembers of a worker's poll (monitor thread only). */
struct schedrt__dwatch_poll {
  const void *cur; /* compared, never dereferenced */
  uint64_t seq;    /* its poll count (0 with metrics built out) */
  uint64_t since;  /* when the poll began, or was first seen */
  bool fired;      /* this poll had its dump (or was refused one) */
};

struct schedrt__dwatch {
  uint32_t threshold_ms; /* 0: off */
  uint32_t max_dumps;
  uint32_t written;
  uint32_t next_n; /* the next file number to try */
  int dirfd;
  char dir[PATH_MAX]; /* absolute */
  uint64_t last_ns;   /* when the last dump was started (rate limit) */
  bool warned_size;
  struct schedrt__dwatch_poll *polls; /* [nworkers] */
  /* One dump at a time, on a helper thread so the monitor keeps its beat. */
  pthread_t thread;
  bool live;
  _Atomic bool done;
  struct schedrt__dreq req;
  /* With stall backtraces on: the stuck worker's, taken by the helper before its dump. */
  struct schedrt__bt_result *bt;
  /* SCHEDRT_WATCHDOG_EVENTS_S in ns (0: no events in watchdog dumps), and the helper's copy of them. */
  uint64_t events_ns;
  struct schedrt__ev_snap ev;
};

/* Reads the watchdog's settings (config, then environment). 0 or -ENOMEM. */
int schedrt__dwatch_init(struct schedrt__dump *d);
void schedrt__dwatch_fini(struct schedrt__dump *d);
/* Monitor tick: a worker stuck in one poll past the threshold gets its dump. */
void schedrt__dwatch_tick(struct schedrt__dump *d, uint64_t now);

/* -------------------------------------------------------- the dump state */

struct schedrt__dump {
  schedrt_runtime *rt;
  bool disabled; /* SCHEDRT_DUMP=0 or SCHEDRT_CFG_NO_DUMP: requests answer DISABLED */
  /* One dump at a time: CAS 0 -> 1 by the request that runs. */
  _Atomic uint32_t busy;
  struct schedrt__dbar bar;
  struct schedrt__dround round; /* owned by whoever holds busy */
  /* When the round's buffers were last used; the monitor frees big ones
   * after a while, so back-to-back dumps reuse them but an idle runtime
   * does not keep 100 MB for the next one. */
  _Atomic uint64_t round_used_ns;
  struct schedrt__dctl ctl;
  struct schedrt__dwatch watch;
  /* Stall backtraces (stall_bt.h): NULL unless the switch is on. The signal
   * handler reaches it from a worker's thread: set before the workers start,
   * freed after they stopped. */
  struct schedrt__bt *bt;
  pthread_mutex_t obj_lock;
  struct schedrt__dobj objs[SCHEDRT__DOBJ_MAX];
  uint32_t nobjs;
  /* Who we are, for object names and the dump's meta (read once at init). */
  uint32_t uid, pid;
  uint64_t starttime;
  uint8_t boot_id[16];
};

/*
 * Runs one dump on the calling thread (the coordinator): the barrier round,
 * the copy, then the CBOR written to fd. Fills res (status included). 0, or
 * -EBUSY, SCHEDRT_EDISABLED, -ESHUTDOWN, -ENOMEM, -errno from the write.
 */
int schedrt__dump_run(struct schedrt__dump *d, const struct schedrt__dreq *req, int fd,
                      schedrt_dump_result *res);

/* ------------------------------------------------ judging a round (dump_judge.c) */

/* How long a worker that arrived may be held waiting for the others, per
 * round; then it is let go, and the round is gathered again after
 * SCHEDRT__DGAP_NS. */
#define SCHEDRT__DHOLD_NS 1000000ull
#define SCHEDRT__DGAP_NS 2000000ull
/* A round gathered again gets at least this long, deadline or not: a woken
 * worker on a loaded machine can take milliseconds to arrive, and a round
 * opened just before the deadline would otherwise close without the healthy
 * workers the previous round held. */
#define SCHEDRT__DROUND_MIN_NS 10000000ull

/* Where every worker is as a dump opens: the probes start afresh. */
void schedrt__dprobe_start(struct schedrt__dump *d, uint64_t now);
/* The barrier's judge (schedrt__dbar_judge_fn; arg: the dump). */
enum schedrt__dbar_verdict schedrt__dump_judge(void *arg, const uint8_t *present, uint32_t arrived,
                                               uint64_t held_since, uint64_t now);

#endif /* SCHEDRT_DUMP_H */
