/*
 * Task dumps: the request flow (docs/dump-format.md).
 *
 * A request, from the API or the control page, runs on the requesting thread
 * (or the monitor, for the control page) as the coordinator: it reserves
 * buffers, opens a barrier round, raises rt->dump_flag and wakes the parked
 * workers through their normal unpark (each takes itself off the sleeper
 * list: Tokio #7478). Workers meet the barrier at their next safe point; the
 * last one to arrive copies everything (dump_snap.c) while the others wait,
 * or, if someone misses the deadline, the coordinator copies what the
 * arrived ones hold and the dump is PARTIAL. After the release the
 * coordinator describes the missing workers, then encodes and writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"

/* How long a worker stays at an open gate past the deadline if the
 * coordinator is late closing it (it then takes its arrival back). */
#define GRACE_NS 100000000ull
/* Bound on waiting for released workers to leave the barrier. */
#define FINISH_NS 1000000000ull
/* Big copy buffers unused this long are returned to the system. */
#define TRIM_AFTER_NS (10 * 1000000000ull)
/* Workers that arrived wait at the barrier until the last one or the
 * deadline: the same 10 s cap as the control page bounds that hold. */
#define API_TIMEOUT_MAX_MS 10000u

static void round_free(struct schedrt__dround *r) {
  free(r->workers);
  free(r->taken);
  free(r->ntaken);
  free(r->lifo);
  free(r->cursors);
  schedrt__dsnap_trim(r, true);
  memset(r, 0, sizeof(*r));
}

int schedrt__dump_init(schedrt_runtime *rt) {
  struct schedrt__dump *d = calloc(1, sizeof(*d));
  uint32_t n = rt->nworkers;
  int rc = -ENOMEM;
  rt->dump = NULL;
  if (!d)
    return -ENOMEM;
  d->rt = rt;
  const char *env = getenv("SCHEDRT_DUMP");
  d->disabled = (rt->cfg.flags & SCHEDRT_CFG_NO_DUMP) || (env && strcmp(env, "0") == 0);
  atomic_init(&d->busy, 0);
  atomic_init(&d->ctl.page, NULL);
  atomic_init(&d->ctl.helper_done, false);
  atomic_init(&d->round_used_ns, 0);
  struct schedrt__dround *r = &d->round;
  r->workers = calloc(n, sizeof(*r->workers));
  r->taken = malloc((size_t)n * SCHEDRT_LOCAL_QUEUE_CAP * sizeof(*r->taken));
  r->ntaken = calloc(n, sizeof(*r->ntaken));
  r->lifo = calloc(n, sizeof(*r->lifo));
  r->cursors = calloc(rt->nshards, sizeof(*r->cursors));
  if (!r->workers || !r->taken || !r->ntaken || !r->lifo || !r->cursors)
    goto err_round;
  if ((rc = schedrt__dbar_init(&d->bar, n, &rt->dump_flag, schedrt__dsnap_take, d)))
    goto err_round;
  if ((rc = -pthread_mutex_init(&d->obj_lock, NULL)))
    goto err_bar;
  d->uid = (uint32_t)geteuid();
  d->pid = (uint32_t)getpid();
  if (schedrt__proc_starttime((pid_t)d->pid, &d->starttime))
    d->starttime = 0;
  schedrt__boot_id(d->boot_id);
  rt->dump = d;
  return 0;

err_bar:
  schedrt__dbar_destroy(&d->bar);
err_round:
  round_free(&d->round);
  free(d);
  return rc;
}

void schedrt__dump_fini(schedrt_runtime *rt) {
  struct schedrt__dump *d = rt->dump;
  if (!d)
    return;
  schedrt__dctl_close(d);
  /* An API dump from another thread may still own the round: shutdown is
   * set, so it aborts within 10 ms; take busy for good before freeing.
   * Acquire: its last writes to the round happen before we free it. */
  for (uint32_t idle = 0;
       !atomic_compare_exchange_weak_explicit(&d->busy, &idle, 1, memory_order_acquire, memory_order_relaxed);
       idle = 0)
    sched_yield();
  schedrt__dobj_sweep(d, 0, 0, true);
  pthread_mutex_destroy(&d->obj_lock);
  schedrt__dbar_destroy(&d->bar);
  round_free(&d->round);
  free(d);
  rt->dump = NULL;
}

void schedrt__dump_safepoint(schedrt_worker *w) {
  struct schedrt__dump *d = w->rt->dump;
  if (d)
    (void)schedrt__dbar_arrive(&d->bar, w->index);
}

void schedrt__dump_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__dump *d = rt->dump;
  if (!d)
    return;
  schedrt__dctl_tick(d, now);
  schedrt__dobj_sweep(d, now, (uint64_t)rt->cfg.dump_keep_s * 1000000000u, false);
  /* Relaxed: a hint; the buffers themselves change hands through busy. */
  uint64_t used = atomic_load_explicit(&d->round_used_ns, memory_order_relaxed);
  uint32_t idle = 0;
  if (used && now > used + TRIM_AFTER_NS &&
      /* Acquire/release: we own the round for the trim, as a request would. */
      atomic_compare_exchange_strong_explicit(&d->busy, &idle, 1, memory_order_acquire,
                                              memory_order_relaxed)) {
    schedrt__dsnap_trim(&d->round, false);
    atomic_store_explicit(&d->round_used_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&d->busy, 0, memory_order_release);
  }
}

/* ------------------------------------------------------------ the round */

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wakes parked workers the way any producer would; they leave the sleeper
 * list themselves when they see the flag (worker.c, park). */
static void wake_parked(schedrt_runtime *rt, int self) {
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if ((int)i != self && schedrt__idle_is_parked(&rt->idle, i))
      schedrt__unpark(&rt->workers[i].park);
}

/* Roles, and for each missing worker what it is doing and since when. */
static void describe_workers(struct schedrt__dump *d, uint32_t leader) {
  struct schedrt__dround *r = &d->round;
  schedrt_runtime *rt = d->rt;
  r->covered = r->missing = 0;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__dworker *w = &r->workers[i];
    if (d->bar.present[i]) {
      r->covered++;
      w->role = (int)i == r->self ? SCHEDRT_DUMP_ROLE_REQUESTER
                : i == leader     ? SCHEDRT_DUMP_ROLE_LEADER
                                  : SCHEDRT_DUMP_ROLE_HELD;
      continue;
    }
    r->missing++;
    w->role = SCHEDRT_DUMP_ROLE_MISSING;
    if (!w->cur) {
      w->reason = SCHEDRT_DUMP_REASON_NO_SAFEPOINT;
      continue;
    }
    w->reason = SCHEDRT_DUMP_REASON_POLLING;
    uint64_t id, since;
    uint8_t src;
    /* The slot names the poll and when it began, if it agrees with the walk. */
    if (schedrt__dseg_poll(rt, i, &id, &since, &src) == 0 && (!w->has_current || id == w->current_id)) {
      w->has_current = true;
      w->current_id = id;
      w->running_ns = r->taken_ns > since ? r->taken_ns - since : 0;
      w->running_src = src;
    } else {
      /* It has not passed a safe point since the flag went up. */
      w->running_ns = r->taken_ns - r->opened_ns;
      w->running_src = SCHEDRT_DUMP_SOURCE_LOWER_BOUND;
    }
  }
}

static void round_reset(struct schedrt__dround *r, const struct schedrt__dreq *req, uint32_t timeout_ms,
                        int self) {
  r->timeout_ms = timeout_ms;
  r->source = req->source;
  r->has_label = req->has_label;
  memcpy(r->label, req->label, sizeof(r->label));
  r->label[sizeof(r->label) - 1] = '\0';
  memcpy(r->nonce, req->nonce, sizeof(r->nonce));
  r->self = self;
  r->status = SCHEDRT_DUMP_FAILED;
  r->copied = r->copy_failed = false;
  r->inject_depth = 0;
  r->taken_ns = r->closed_ns = r->released_ns = 0;
}

/* Owns the round (busy is held): everything from the barrier to the bytes. */
static int run_locked(struct schedrt__dump *d, const struct schedrt__dreq *req, int fd,
                      schedrt_dump_result *res) {
  schedrt_runtime *rt = d->rt;
  struct schedrt__dround *r = &d->round;
  schedrt_worker *me = schedrt__tls_worker;
  int self = me && me->rt == rt ? (int)me->index : -1;
  uint32_t timeout_ms = req->timeout_ms ? req->timeout_ms : rt->cfg.dump_timeout_ms;
  uint32_t leader;
  int rc;
  round_reset(r, req, timeout_ms, self);
  r->requested_ns = schedrt__now_ns();
  size_t queued =
      (size_t)schedrt__inject_len(&rt->inject) + (size_t)rt->nworkers * (SCHEDRT_LOCAL_QUEUE_CAP + 1u);
  if ((rc = schedrt__dsnap_prepare(r, (size_t)schedrt__alive_tasks(rt), queued)))
    return rc;
  /* The deadline counts from now: reserving memory for a million records
   * takes a while, and it is not the workers' time. */
  r->opened_ns = schedrt__now_ns();
  if ((rc = schedrt__dbar_open(&d->bar, r->opened_ns + (uint64_t)timeout_ms * 1000000u, GRACE_NS, self))) {
    r->status = SCHEDRT_DUMP_BUSY;
    return rc;
  }
  /* dbar_open raised rt->dump_flag (seq_cst) if the round gathers. A worker
   * going to sleep takes the idle lock too, so either it is listed when we
   * look, or it looks at the flag after it was raised. */
  wake_parked(rt, self);
  enum schedrt__dbar_close how = schedrt__dbar_await_close(&d->bar, &rt->shutdown);
  if (how == SCHEDRT_DBAR_LEAD)
    schedrt__dsnap_take(d);
  if (how != SCHEDRT_DBAR_WORKER_LED)
    schedrt__dbar_release(&d->bar);
  schedrt__dbar_times(&d->bar, &r->closed_ns, &r->released_ns, &leader);
  if (how == SCHEDRT_DBAR_ABORTED) {
    (void)schedrt__dbar_finish(&d->bar, self, FINISH_NS);
    r->status = SCHEDRT_DUMP_SHUTDOWN;
    return -ESHUTDOWN;
  }
  describe_workers(d, leader);
  (void)schedrt__dbar_finish(&d->bar, self, FINISH_NS);
  if (r->copy_failed)
    return -ENOMEM;
  r->status = r->missing ? SCHEDRT_DUMP_PARTIAL : SCHEDRT_DUMP_OK;
  /* The wall clock of the copy, from the monotonic distance to now. */
  r->taken_realtime_ns = realtime_ns() - (schedrt__now_ns() - r->taken_ns);
  res->tasks = r->nrecs > UINT32_MAX ? UINT32_MAX : (uint32_t)r->nrecs;
  res->workers_covered = r->covered;
  res->workers_missing = r->missing;
  res->pause_ns = r->released_ns - r->closed_ns;
  if ((rc = schedrt__dump_encode(d, fd, &res->bytes))) {
    r->status = SCHEDRT_DUMP_FAILED;
    return rc;
  }
  return 0;
}

int schedrt__dump_run(struct schedrt__dump *d, const struct schedrt__dreq *req, int fd,
                      schedrt_dump_result *res) {
  memset(res, 0, sizeof(*res));
  if (d->disabled) {
    res->status = SCHEDRT_DUMP_DISABLED;
    return SCHEDRT_EDISABLED;
  }
  /* Acquire: pairs with destroy's release store. */
  if (atomic_load_explicit(&d->rt->shutdown, memory_order_acquire)) {
    res->status = SCHEDRT_DUMP_SHUTDOWN;
    return -ESHUTDOWN;
  }
  uint32_t idle = 0;
  /* Acquire: the previous request's last writes to the round come first. */
  if (!atomic_compare_exchange_strong_explicit(&d->busy, &idle, 1, memory_order_acquire,
                                               memory_order_relaxed)) {
    res->status = SCHEDRT_DUMP_BUSY;
    return -EBUSY;
  }
  int rc = run_locked(d, req, fd, res);
  res->status = d->round.status;
  /* Relaxed: read by the monitor only to decide on a trim it does under busy. */
  atomic_store_explicit(&d->round_used_ns, schedrt__now_ns(), memory_order_relaxed);
  /* Release: hands the round to the next request. */
  atomic_store_explicit(&d->busy, 0, memory_order_release);
  return rc;
}

/* ------------------------------------------------------------- the API */

static int api_request(schedrt_runtime *rt, const schedrt_dump_opts *opts, struct schedrt__dreq *req) {
  memset(req, 0, sizeof(*req));
  if (!rt->dump)
    return -EINVAL;
  req->source = SCHEDRT__SRC_API;
  if (opts) {
    if (opts->timeout_ms > API_TIMEOUT_MAX_MS)
      return -EINVAL;
    req->timeout_ms = opts->timeout_ms;
    if (opts->label) {
      snprintf(req->label, sizeof(req->label), "%s", opts->label);
      req->has_label = true;
    }
  }
  /* A nonce makes every dump distinguishable, as the control page's are. */
  if (getrandom(req->nonce, sizeof(req->nonce), GRND_NONBLOCK) != (ssize_t)sizeof(req->nonce)) {
    uint64_t a = schedrt__seed(), b = schedrt__seed();
    memcpy(req->nonce, &a, 8);
    memcpy(req->nonce + 8, &b, 8);
  }
  return 0;
}

SCHEDRT_API int schedrt_dump_fd(schedrt_runtime *rt, int fd, const schedrt_dump_opts *opts,
                                schedrt_dump_result *result) {
  schedrt_dump_result scratch;
  struct schedrt__dreq req;
  if (!result)
    result = &scratch;
  memset(result, 0, sizeof(*result));
  result->status = SCHEDRT_DUMP_REJECTED;
  if (!rt || fd < 0)
    return -EINVAL;
  int rc = api_request(rt, opts, &req);
  return rc ? rc : schedrt__dump_run(rt->dump, &req, fd, result);
}

SCHEDRT_API int schedrt_dump_path(schedrt_runtime *rt, const char *path, const schedrt_dump_opts *opts,
                                  schedrt_dump_result *result) {
  schedrt_dump_result scratch;
  struct schedrt__dreq req;
  struct schedrt__dfile f;
  char dir[4096];
  if (!result)
    result = &scratch;
  memset(result, 0, sizeof(*result));
  result->status = SCHEDRT_DUMP_REJECTED;
  if (!rt || !path || !path[0])
    return -EINVAL;
  int rc = api_request(rt, opts, &req);
  if (rc)
    return rc;
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!slash)
    snprintf(dir, sizeof(dir), ".");
  else if ((size_t)(slash - path) >= sizeof(dir))
    return -ENAMETOOLONG;
  else
    snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return -errno;
  if ((rc = schedrt__dfile_create(&f, dirfd, name)) == 0) {
    rc = schedrt__dump_run(rt->dump, &req, f.fd, result);
    if (rc == 0)
      rc = schedrt__dfile_commit(&f);
    if (rc)
      schedrt__dfile_abort(&f);
  }
  close(dirfd);
  if (rc && (result->status == SCHEDRT_DUMP_OK || result->status == SCHEDRT_DUMP_PARTIAL))
    result->status = SCHEDRT_DUMP_FAILED;
  return rc;
}
