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
#include <stdio.h>
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

/* Before a round opens (a worker may lead the copy as soon as it is open):
 * which workers are asleep, to be reported parked rather than as their
 * waking for the dump leaves them. */
static void note_parked(struct schedrt__dump *d) {
  for (uint32_t i = 0; i < d->rt->nworkers; i++)
    d->round.woken[i] = schedrt__idle_is_parked(&d->rt->idle, i);
}
/* After a round's release: how long each worker waited in it. */
static void add_held(struct schedrt__dump *d) {
  for (uint32_t i = 0; i < d->rt->nworkers; i++)
    d->round.held[i] += schedrt__dbar_held(&d->bar, i);
}

/* Each worker's histograms, as the metrics segment holds them now (just after the copy). */
static void take_histograms(struct schedrt__dround *r, schedrt_runtime *rt) {
  r->has_hist = true;
  for (uint32_t i = 0; i < rt->nworkers && r->has_hist; i++)
    for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT && r->has_hist; h++)
      r->has_hist =
          schedrt__metrics_hist(
              rt, i, h, r->hist + ((size_t)i * SCHEDRT_M__HIST_COUNT + h) * SCHEDRT_HIST_BUCKETS) == 0;
}

/* Roles, and for each missing worker what it is doing and since when. */
static void describe_workers(struct schedrt__dump *d, uint32_t leader) {
  struct schedrt__dround *r = &d->round;
  schedrt_runtime *rt = d->rt;
  r->covered = r->missing = 0;
  take_histograms(r, rt);
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__dworker *w = &r->workers[i];
    w->tid = schedrt__metrics_tid(rt, i);
    w->held_ns = r->held[i];
    if (d->bar.present[i]) {
      r->covered++;
      w->role = (int)i == r->self ? SCHEDRT_DUMP_ROLE_REQUESTER
                : i == leader     ? SCHEDRT_DUMP_ROLE_LEADER
                                  : SCHEDRT_DUMP_ROLE_HELD;
      continue;
    }
    r->missing++;
    w->role = SCHEDRT_DUMP_ROLE_MISSING;
    uint64_t id, since;
    uint8_t src;
    /* The slot names the poll and when it began, if it agrees with the walk. */
    if (w->cur && schedrt__dseg_poll(rt, i, &id, &since, &src) == 0 &&
        (!w->has_current || id == w->current_id)) {
      w->reason = SCHEDRT_DUMP_REASON_POLLING;
      w->has_current = true;
      w->current_id = id;
      w->running_ns = r->taken_ns > since ? r->taken_ns - since : 0;
      w->running_src = src;
    } else if (w->has_current) {
      /* The walk found its task running; it has not passed a safe point
       * since the flag went up. */
      w->reason = SCHEDRT_DUMP_REASON_POLLING;
      w->running_ns = r->taken_ns - r->opened_ns;
      w->running_src = SCHEDRT_DUMP_SOURCE_LOWER_BOUND;
    } else {
      /* No task of its is running: between polls (its `current` not cleared
       * yet after the last one), searching, or waking. */
      w->reason = SCHEDRT_DUMP_REASON_NO_SAFEPOINT;
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
  r->bt = req->bt;
  r->bt_worker = req->bt_worker;
  r->ev = req->ev;
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
  memset(r->held, 0, sizeof(*r->held) * rt->nworkers);
  schedrt__dprobe_start(d, r->opened_ns);
  uint64_t deadline = r->opened_ns + (uint64_t)timeout_ms * 1000000u;
  enum schedrt__dbar_close how;
  for (r->rounds = 1;; r->rounds++) {
    uint64_t round_deadline = deadline;
    if (r->rounds > 1) {
      uint64_t min = schedrt__now_ns() + SCHEDRT__DROUND_MIN_NS;
      round_deadline = deadline > min ? deadline : min;
    }
    note_parked(d);
    if ((rc = schedrt__dbar_open(&d->bar, round_deadline, GRACE_NS, self))) {
      /* Past the first round the barrier is busy only with workers of the
       * previous round that did not leave in FINISH_NS: no other dump. */
      r->status = r->rounds > 1 ? SCHEDRT_DUMP_FAILED : SCHEDRT_DUMP_BUSY;
      return r->rounds > 1 ? -ETIMEDOUT : rc;
    }
    /* dbar_open raised rt->dump_flag (seq_cst) if the round gathers. A worker
     * going to sleep takes the idle lock too, so either it is listed when we
     * look, or it looks at the flag after it was raised. */
    wake_parked(rt, self);
    how = schedrt__dbar_await_close(&d->bar, &rt->shutdown);
    if (how != SCHEDRT_DBAR_AGAIN)
      break;
    /* The held go back to work; the ones still missing get SCHEDRT__DGAP_NS more. */
    schedrt__dbar_release(&d->bar);
    add_held(d);
    (void)schedrt__dbar_finish(&d->bar, self, FINISH_NS);
    struct timespec gap = {0, (long)SCHEDRT__DGAP_NS};
    nanosleep(&gap, NULL);
  }
  if (how == SCHEDRT_DBAR_LEAD)
    schedrt__dsnap_take(d);
  if (how != SCHEDRT_DBAR_WORKER_LED)
    schedrt__dbar_release(&d->bar);
  schedrt__dbar_times(&d->bar, &r->closed_ns, &r->released_ns, &leader);
  add_held(d);
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
    if (opts->timeout_ms > SCHEDRT_DUMP_TIMEOUT_MAX_MS)
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
