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
/* How long a worker that arrived may be held waiting for the others, per
 * round; then it is let go, and the round is gathered again after GAP_NS. */
#define HOLD_NS 1000000ull
#define GAP_NS 2000000ull
/* A round gathered again gets at least this long, deadline or not: a woken
 * worker on a loaded machine can take milliseconds to arrive, and a round
 * opened just before the deadline would otherwise close without the healthy
 * workers the previous round held. */
#define ROUND_MIN_NS 10000000ull
/* Big copy buffers unused this long are returned to the system. */
#define TRIM_AFTER_NS (10 * 1000000000ull)

static void round_free(struct schedrt__dround *r) {
  free(r->workers);
  free(r->probes);
  free(r->held);
  free(r->woken);
  free(r->hist);
  free(r->taken);
  free(r->ntaken);
  free(r->lifo);
  free(r->cursors);
  schedrt__dsnap_trim(r, true);
  memset(r, 0, sizeof(*r));
}

/* Reads a small /proc file of worker i's thread into buf; its length, or 0. */
static size_t read_thread_file(schedrt_runtime *rt, uint32_t i, const char *what, char *buf, size_t size) {
  /* The thread id comes from the metrics (0 when built out). */
  uint64_t tid = schedrt__metrics_tid(rt, i);
  char path[64];
  if (!tid)
    return 0;
  snprintf(path, sizeof(path), "/proc/self/task/%llu/%s", (unsigned long long)tid, what);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return (size_t)n;
}

/* Worker i's thread's time on a CPU so far (the kernel's schedstat). */
static bool cpu_time(schedrt_runtime *rt, uint32_t i, uint64_t *ns) {
  char buf[96];
  unsigned long long v;
  if (!read_thread_file(rt, i, "schedstat", buf, sizeof(buf)) || sscanf(buf, "%llu", &v) != 1)
    return false;
  *ns = v;
  return true;
}

/* Whether worker i's thread is running or waiting for a CPU (state R). */
static bool runnable(schedrt_runtime *rt, uint32_t i) {
  char buf[512];
  if (!read_thread_file(rt, i, "stat", buf, sizeof(buf)))
    return false;
  /* "tid (comm) S ...": comm may hold anything, so the state follows the last ')'. */
  const char *paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' && paren[2] == 'R';
}

/* A poll that outlasted a period only because its thread was given no CPU
 * (a loaded machine) is not stuck: it reaches a safe point once it runs.
 * Told apart over at least PREEMPT_WINDOW_NS of watching: a thread stuck in a
 * poll is either asleep in a call (not runnable) or running (its CPU time
 * grows); a preempted one is runnable and barely ran. The kernel adds CPU
 * time at scheduler ticks, so a thread spinning in a poll can look preempted
 * for a tick or two: the dump then waits a few milliseconds longer for it. */
#define PREEMPT_WINDOW_NS 1000000ull
static bool preempted(struct schedrt__dump *d, uint32_t i, uint64_t now) {
  const struct schedrt__dprobe *p = &d->round.probes[i];
  uint64_t on_cpu;
  if (!p->known)
    return false;
  uint64_t window = now - p->seen;
  if (window < PREEMPT_WINDOW_NS)
    return true; /* not watched long enough to tell */
  if (!runnable(d->rt, i) || !cpu_time(d->rt, i, &on_cpu))
    return false;
  return on_cpu - p->on_cpu < window / 8;
}

/*
 * Where worker i is: a probe remembers the poll it saw (the current task and
 * the poll count) and since when; a poll that began before, and that the
 * metrics date, counts from its real start (with per-poll timing, or once the
 * monitor saw it a whole period).
 */
static void probe_look(struct schedrt__dump *d, uint32_t i, uint64_t now) {
  schedrt_runtime *rt = d->rt;
  struct schedrt__dprobe *p = &d->round.probes[i];
  /* Relaxed: only compared, never dereferenced. */
  const void *cur = atomic_load_explicit(&rt->workers[i].current, memory_order_relaxed);
  uint64_t seq = schedrt__dseg_poll_seq(rt, i);
  if (cur == p->cur && seq == p->seq && p->since)
    return;
  p->cur = cur;
  p->seq = seq;
  p->since = p->seen = now;
  p->known = cur && cpu_time(rt, i, &p->on_cpu);
  uint64_t id, since;
  uint8_t src;
  if (cur && schedrt__dseg_poll(rt, i, &id, &since, &src) == 0 && since < now &&
      schedrt__dseg_poll_seq(rt, i) == seq)
    p->since = since;
}

/*
 * The barrier's judge. A worker that has not arrived and whose poll is known
 * to be long (it outlasted a monitor period: the monitor named it, or the
 * probes saw it that long), and whose thread was not merely waiting for a
 * CPU meanwhile, is stuck: once every missing worker is, the gate
 * closes without them (listed missing, their tasks running). Any other missing
 * worker will reach a safe point (it is between polls, waking, or preempted),
 * but the arrived ones are never held for it longer than HOLD_NS: they are let
 * go and gathered again. So no healthy worker waits more than HOLD_NS plus the
 * copy at a time, whatever the deadline.
 */
static enum schedrt__dbar_verdict judge(void *arg, const uint8_t *present, uint32_t arrived,
                                        uint64_t held_since, uint64_t now) {
  struct schedrt__dump *d = arg;
  schedrt_runtime *rt = d->rt;
  uint64_t stuck_ns = (uint64_t)rt->cfg.monitor_period_ms * 1000000u;
  bool all_stuck = true;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    if (present[i])
      continue;
    probe_look(d, i, now);
    const struct schedrt__dprobe *p = &d->round.probes[i];
    if (!p->cur || now - p->since < stuck_ns || preempted(d, i, now))
      all_stuck = false;
  }
  if (all_stuck)
    return SCHEDRT_DBAR_CLOSE;
  /* A worker that asked from inside a task is held by its own call, not by us. */
  uint32_t waiting = arrived - (d->round.self >= 0 && present[d->round.self]);
  if (!waiting || now - held_since < HOLD_NS)
    return SCHEDRT_DBAR_WAIT;
  /* No time left for another round: the dump is what we have now. */
  return now + GAP_NS + ROUND_MIN_NS >= d->bar.deadline_ns ? SCHEDRT_DBAR_CLOSE : SCHEDRT_DBAR_RETRY;
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
  r->hist = calloc((size_t)n * SCHEDRT_M__HIST_COUNT * SCHEDRT_HIST_BUCKETS, sizeof(*r->hist));
  r->probes = calloc(n, sizeof(*r->probes));
  r->held = calloc(n, sizeof(*r->held));
  r->woken = calloc(n, sizeof(*r->woken));
  if (!r->workers || !r->taken || !r->ntaken || !r->lifo || !r->cursors || !r->hist || !r->probes ||
      !r->held || !r->woken)
    goto err_round;
  if ((rc = schedrt__dbar_init(&d->bar, n, &rt->dump_flag, schedrt__dsnap_take, judge, d)))
    goto err_round;
  if ((rc = -pthread_mutex_init(&d->obj_lock, NULL)))
    goto err_bar;
  if ((rc = schedrt__dwatch_init(d)))
    goto err_lock;
  d->uid = (uint32_t)geteuid();
  d->pid = (uint32_t)getpid();
  if (schedrt__proc_starttime((pid_t)d->pid, &d->starttime))
    d->starttime = 0;
  schedrt__boot_id(d->boot_id);
  rt->dump = d;
  return 0;

err_lock:
  pthread_mutex_destroy(&d->obj_lock);
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
  schedrt__dwatch_fini(d);
  /* An API dump from another thread may still own the round: shutdown is
   * set, so it aborts within 1 ms; take busy for good before freeing.
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
  schedrt__dwatch_tick(d, now);
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
  memset(r->probes, 0, sizeof(*r->probes) * rt->nworkers);
  memset(r->held, 0, sizeof(*r->held) * rt->nworkers);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    probe_look(d, i, r->opened_ns);
  uint64_t deadline = r->opened_ns + (uint64_t)timeout_ms * 1000000u;
  enum schedrt__dbar_close how;
  for (r->rounds = 1;; r->rounds++) {
    uint64_t round_deadline = deadline;
    if (r->rounds > 1) {
      uint64_t min = schedrt__now_ns() + ROUND_MIN_NS;
      round_deadline = deadline > min ? deadline : min;
    }
    note_parked(d);
    if ((rc = schedrt__dbar_open(&d->bar, round_deadline, GRACE_NS, self))) {
      r->status = SCHEDRT_DUMP_BUSY;
      return rc;
    }
    /* dbar_open raised rt->dump_flag (seq_cst) if the round gathers. A worker
     * going to sleep takes the idle lock too, so either it is listed when we
     * look, or it looks at the flag after it was raised. */
    wake_parked(rt, self);
    how = schedrt__dbar_await_close(&d->bar, &rt->shutdown);
    if (how != SCHEDRT_DBAR_AGAIN)
      break;
    /* The held go back to work; the ones still missing get GAP_NS more. */
    schedrt__dbar_release(&d->bar);
    add_held(d);
    (void)schedrt__dbar_finish(&d->bar, self, FINISH_NS);
    struct timespec gap = {0, (long)GAP_NS};
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
