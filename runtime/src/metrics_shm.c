/*
 * Live metrics in a POSIX shared-memory segment (docs/shm-protocol.md).
 *
 * Lifecycle: schedrt__metrics_start creates /schedrt.<uid>.<pid>.<start>.<n>
 * (O_EXCL, 0600, checked with fstat, space reserved with posix_fallocate),
 * holds flock(LOCK_SH) on it as the liveness token, formats it, points every
 * worker's hooks at its slot and stores READY last. The monitor thread beats
 * the heartbeat and publishes the global area; workers publish their slots.
 * schedrt__metrics_stop marks it EXITING and unlinks it; an atexit handler
 * unlinks what a process forgot to destroy. Stale segments of dead processes
 * (SIGKILL) are swept by the next runtime start.
 *
 * With publication off (SCHEDRT_METRICS=0, SCHEDRT_CFG_NO_METRICS) or when
 * the segment cannot be made, the same layout lives in private memory, so
 * the hooks never branch and the in-process API still answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "schedrt/proto/seqlock.h"
#include "schedrt/shm_util.h"

/* ------------------------------------------------- process-wide registry */

/* Segments of this process still registered: unlinked at exit. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct schedrt__metrics *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
/* The <n> of the names: runtimes created so far by this process. */
static _Atomic uint32_t seg_counter;
/* metrics_hooks.h: runtimes with per-poll timing on, tested by the wake path. */
_Atomic uint32_t schedrt__m_timing_runtimes;

static void reg_atexit(void) {
  pthread_mutex_lock(&reg_lock);
  for (struct schedrt__metrics *m = reg_head; m; m = m->reg_next)
    /* A forked child inherits the list but must never unlink its parent's. */
    if (m->owner_pid == (uint32_t)getpid())
      shm_unlink(m->name);
  pthread_mutex_unlock(&reg_lock);
}

static void reg_prepare(void) { pthread_mutex_lock(&reg_lock); }
static void reg_parent(void) { pthread_mutex_unlock(&reg_lock); }
static void reg_child(void) {
  /* The child shares the open file description, hence the flock: close our
   * reference so that a child outliving its parent does not keep a dead
   * parent's segment looking alive. The mapping was not inherited
   * (MADV_DONTFORK): it would hold the description too. */
  for (struct schedrt__metrics *m = reg_head; m; m = m->reg_next) {
    if (m->fd >= 0)
      close(m->fd);
    m->fd = -1;
  }
  pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void) {
  atexit(reg_atexit);
  pthread_atfork(reg_prepare, reg_parent, reg_child);
}

static void reg_add(struct schedrt__metrics *m) {
  pthread_once(&reg_once, reg_init);
  pthread_mutex_lock(&reg_lock);
  m->reg_prev = NULL;
  m->reg_next = reg_head;
  if (reg_head)
    reg_head->reg_prev = m;
  reg_head = m;
  m->registered = true;
  pthread_mutex_unlock(&reg_lock);
}

static void reg_remove(struct schedrt__metrics *m) {
  if (!m->registered)
    return;
  pthread_mutex_lock(&reg_lock);
  if (m->reg_prev)
    m->reg_prev->reg_next = m->reg_next;
  else
    reg_head = m->reg_next;
  if (m->reg_next)
    m->reg_next->reg_prev = m->reg_prev;
  m->registered = false;
  pthread_mutex_unlock(&reg_lock);
}

/* ------------------------------------------------------------- creation */

static void read_comm(char *buf, size_t size) {
  buf[0] = '\0';
  int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  char *nl = strchr(buf, '\n');
  if (nl)
    *nl = '\0';
}

static bool publication_wanted(const schedrt_runtime *rt) {
  if (rt->cfg.flags & SCHEDRT_CFG_NO_METRICS)
    return false;
  const char *env = getenv("SCHEDRT_METRICS");
  return !(env && strcmp(env, "0") == 0);
}

/* Creates and maps the named segment; fills m->fd, m->base, m->name. */
static int create_segment(struct schedrt__metrics *m, uint32_t uid, uint32_t pid, uint64_t start,
                          uint32_t *index) {
  char name[SCHEDRT_SHM_NAME_MAX];
  struct stat st;
  int fd = -1, rc;
  for (int attempt = 0;; attempt++) {
    *index = atomic_fetch_add_explicit(&seg_counter, 1, memory_order_relaxed);
    if ((rc = schedrt__shm_name_format(name, sizeof(name), uid, pid, start, *index)))
      return rc;
    snprintf(m->name, sizeof(m->name), "/%s", name);
    /* O_EXCL: never adopt an object someone planted under our name; glibc
     * adds O_NOFOLLOW and O_CLOEXEC. */
    fd = shm_open(m->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0)
      break;
    if (errno != EEXIST || attempt >= 8)
      return -errno;
    /* Taken (by a squatter, or a leftover of our own pid and start time):
     * the next index gives another name. */
  }
  rc = 0;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto err_unlink;
  }
  /* HotSpot's is_file_secure: ours, private, one link, a regular file. */
  if (!S_ISREG(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) != 0 || st.st_nlink != 1) {
    rc = SCHEDRT_EOWNER;
    goto err_unlink;
  }
  /* The liveness token, held until close: sweepers and readers probe it. */
  if (flock(fd, LOCK_SH) != 0) {
    rc = -errno;
    goto err_unlink;
  }
  /* Reserve every page now: a full /dev/shm fails here, not as a SIGBUS later. */
  rc = posix_fallocate(fd, 0, (off_t)m->geo.total_size);
  if (rc != 0) {
    rc = -rc;
    goto err_unlink;
  }
  void *p = mmap(NULL, m->geo.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    rc = -errno;
    goto err_unlink;
  }
  /* A forked child must not inherit the mapping: a mapping keeps the open
   * file description, hence our flock, alive, and a child that outlives us
   * would keep a dead runtime's segment looking alive (never swept). */
  (void)madvise(p, m->geo.total_size, MADV_DONTFORK);
  m->fd = fd;
  m->base = p;
  m->size = m->geo.total_size;
  m->published = true;
  return 0;
err_unlink:
  shm_unlink(m->name);
  close(fd);
  m->name[0] = '\0';
  return rc;
}

/* Points every worker at its slot and histogram block, and starts the clocks. */
static void attach_workers(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__metrics *m = &rt->metrics;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__wmetrics *wm = &rt->workers[i].m;
    memset(wm, 0, offsetof(struct schedrt__wmetrics, fallback));
    wm->timing = m->timing && m->base;
    schedrt__m_set_state(wm, SCHEDRT_WS_STARTING);
    /* Ticks are counted from here (the worker has not started: its tick is 0). */
    wm->tick_seen = rt->workers[i].tick;
    /* Busy time starts now; refined by schedrt__m_worker_start on the thread. */
    wm->active_since = now;
    if (m->base) {
      wm->slot = (struct schedrt_shm_wslot *)(void *)(m->base + m->geo.slot_off +
                                                      (size_t)i * SCHEDRT_SHM_SLOT_STRIDE);
      wm->hist =
          wm->timing
              ? (_Atomic uint64_t *)(void *)(m->base + m->geo.hist_off + (size_t)i * SCHEDRT_SHM_HIST_STRIDE)
              : NULL;
    } else {
      memset(&wm->fallback, 0, sizeof(wm->fallback));
      wm->slot = &wm->fallback;
    }
    /* No reader can see the slot yet (READY comes later), but the stores
     * are atomic anyway: the layout says so. */
    atomic_store_explicit(&wm->slot->active_since_ns, now, memory_order_relaxed);
  }
}

int schedrt__metrics_start(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  uint32_t uid = (uint32_t)geteuid(), pid = (uint32_t)getpid(), index = 0;
  uint64_t start = 0, now = schedrt__now_ns();
  long page = sysconf(_SC_PAGESIZE);
  int rc = 0;
  memset(m, 0, sizeof(*m));
  m->fd = -1;
  m->owner_pid = pid;
  m->timing = (rt->cfg.flags & SCHEDRT_CFG_TIMING) != 0;
  if ((rc = schedrt_shm_geometry(rt->nworkers, page > 0 ? (uint32_t)page : 4096u, &m->geo)))
    goto fallback;
  if (publication_wanted(rt)) {
    if ((rc = schedrt__proc_starttime((pid_t)pid, &start)))
      goto private_image;
    /* Dead processes' segments go first, so leftovers never pile up. */
    (void)schedrt__shm_sweep(NULL, uid, NULL);
    rc = create_segment(m, uid, pid, start, &index);
  }
private_image:
  if (!m->base) {
    /* Publication off or failed: the same layout in private memory. */
    void *p = mmap(NULL, m->geo.total_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      if (rc == 0)
        rc = -errno;
      goto fallback;
    }
    m->base = p;
    m->size = m->geo.total_size;
  }
  char comm[32];
  read_comm(comm, sizeof(comm));
  struct schedrt__shm_params params = {
      .max_workers = rt->nworkers,
      .page_size = page > 0 ? (uint32_t)page : 4096u,
      .heartbeat_period_ms = rt->cfg.monitor_period_ms ? rt->cfg.monitor_period_ms : 100u,
      .pid = pid,
      .uid = uid,
      .starttime = start,
      .runtime_index = index,
      .features =
          (m->timing ? SCHEDRT_SHM_F_TIMING : 0) | (SCHEDRT_ENABLE_TASKDUMP ? SCHEDRT_SHM_F_TASKDUMP : 0),
      .local_queue_cap = SCHEDRT_LOCAL_QUEUE_CAP,
      .maintenance_interval = SCHEDRT_MAINTENANCE_INTERVAL,
      .runtime_name = rt->name,
      .runtime_version = SCHEDRT_VERSION_STRING,
      .comm = comm,
  };
  schedrt__shm_format(m->base, &m->geo, &params);
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  struct timespec rts;
  clock_gettime(CLOCK_REALTIME, &rts);
  h->create_realtime_ns = (uint64_t)rts.tv_sec * 1000000000u + (uint64_t)rts.tv_nsec;
  h->create_mono_ns = now;
  attach_workers(rt, now);
  /* The monitor's memory of each worker's poll (stuck-poll naming); without
   * it the monitor names no task, and nothing else changes. */
  m->watch = calloc(rt->nworkers, sizeof(*m->watch));
  if (m->timing) {
    /* Relaxed: the runtime reaches other threads only after create returns,
     * which orders this before any wake of its tasks. */
    atomic_fetch_add_explicit(&schedrt__m_timing_runtimes, 1, memory_order_relaxed);
    m->timing_counted = true;
  }
  /* Relaxed: published by the READY release below. */
  atomic_store_explicit(&h->heartbeat_mono_ns, now, memory_order_relaxed);
  atomic_store_explicit(&h->nr_workers, rt->nworkers, memory_order_relaxed);
  schedrt__metrics_monitor_tick(rt, now); /* global area filled before READY */
  if (m->published)
    reg_add(m);
  schedrt__shm_publish_ready(m->base);
  return rc;

fallback:
  /* Not even private memory: the hooks write into per-worker scratch slots. */
  m->base = NULL;
  m->timing = false;
  attach_workers(rt, now);
  return rc ? rc : -ENOMEM;
}

void schedrt__metrics_stop(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base)
    return;
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  if (m->timing_counted) {
    /* The workers have stopped: no wake of this runtime's tasks is in flight. */
    atomic_fetch_sub_explicit(&schedrt__m_timing_runtimes, 1, memory_order_relaxed);
    m->timing_counted = false;
  }
  free(m->watch);
  m->watch = NULL;
  /* Release: readers that see EXITING see the workers' final publications. */
  atomic_store_explicit(&h->state, SCHEDRT_SHM_STATE_EXITING, memory_order_release);
  if (m->published) {
    reg_remove(m);
    if (m->owner_pid == (uint32_t)getpid())
      shm_unlink(m->name);
  }
  munmap(m->base, m->size);
  if (m->fd >= 0)
    close(m->fd); /* drops the flock after the unlink */
  m->fd = -1;
  m->base = NULL;
  m->published = false;
  /* The workers have stopped; point them at scratch memory anyway, so a
   * late hook (there should be none) cannot touch the unmapped segment. */
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    rt->workers[i].m.slot = &rt->workers[i].m.fallback;
    rt->workers[i].m.hist = NULL;
    rt->workers[i].m.timing = false;
    schedrt__m_set_state(&rt->workers[i].m, rt->workers[i].m.state);
  }
}

/* ------------------------------------------------------------- monitor */

/* What the monitor publishes about the task of a long poll. */
struct poll_ident {
  uint64_t id;
  uint32_t line;
  uint64_t name[SCHEDRT_SHM_TASK_NAME_LEN / 8u];
  uint64_t file[SCHEDRT_SHM_TASK_FILE_LEN / 8u];
};

/* s into NUL-padded words of n bytes; a longer s keeps its last n - 1 bytes
 * when tail is set (a path's file name is its end), else its first. */
static void str_to_words(uint64_t *words, size_t n, const char *s, bool tail) {
  char buf[SCHEDRT_SHM_TASK_FILE_LEN];
  size_t len = s ? strnlen(s, 4096) : 0;
  memset(buf, 0, sizeof(buf));
  if (len > n - 1) {
    if (tail)
      s += len - (n - 1);
    len = n - 1;
  }
  if (len)
    memcpy(buf, s, len);
  memcpy(words, buf, n);
}

/*
 * Takes a shard's spinlock (task.c's protocol: exchange 1 with acquire,
 * schedrt__owned_unlock stores 0 with release) if it comes free within a
 * short spin: the monitor must not wait behind a long holder (a dump walking
 * the list), it retries at its next tick instead.
 */
static bool shard_trylock(struct schedrt_owned_shard *sh) {
  for (int i = 0; i < 256; i++) {
    /* Relaxed peek first, so a busy lock is not hammered with exchanges. */
    if (!atomic_load_explicit(&sh->lock, memory_order_relaxed) &&
        !atomic_exchange_explicit(&sh->lock, 1, memory_order_acquire))
      return true;
    schedrt_seq_pause();
  }
  return false;
}

/*
 * Names the task at address cur, if it is in the alive list. The pointer
 * comes from w->current and may be stale (the poll ended, the task was
 * freed, its memory reused), so it is never dereferenced unless found by
 * pointer equality in a shard, under that shard's lock: a task stays in its
 * shard until it completes, removal takes the same lock, and the fields read
 * here are written before the task is inserted. 1: found; 0: in no shard;
 * -1: a shard stayed locked (try again later).
 * Cost: a walk of the alive list with one shard lock held at a time; done
 * at most once per poll that outlives a monitor period.
 */
static int identify(schedrt_runtime *rt, uint32_t worker, const void *cur, struct poll_ident *out) {
  int rc = 0;
  for (uint32_t k = 0; k < rt->nshards; k++) {
    /* The worker's own shard first: most tasks run where they were spawned. */
    uint32_t i = (worker + k) % rt->nshards;
    struct schedrt_owned_shard *sh = &rt->shards[i];
    bool found = false;
    if (!shard_trylock(sh)) {
      rc = -1;
      continue;
    }
    for (schedrt_task *t = sh->head; t; t = t->next) {
      if ((const void *)t != cur)
        continue;
      out->id = t->id;
      out->line = t->line > 0 ? (uint32_t)t->line : 0u;
      str_to_words(out->name, SCHEDRT_SHM_TASK_NAME_LEN, t->name, false);
      str_to_words(out->file, SCHEDRT_SHM_TASK_FILE_LEN, t->file, true);
      found = true;
      break;
    }
    schedrt__owned_unlock(sh);
    if (found)
      return 1;
  }
  return rc;
}

/* The monitor half of slot s: the poll `polls` seen since `since`, its task (id 0: none). */
static void publish_poll(struct schedrt_shm_wslot *s, uint64_t polls, uint64_t since,
                         const struct poll_ident *id) {
  static const struct poll_ident none;
  if (!id)
    id = &none;
  uint64_t odd = schedrt_seq_write_begin(&s->mseq);
  SCHEDRT_SEQ_STORE(&s->seen_polls, polls);
  SCHEDRT_SEQ_STORE(&s->seen_since_ns, since);
  SCHEDRT_SEQ_STORE(&s->current_task, id->id);
  SCHEDRT_SEQ_STORE(&s->current_line, id->line);
  for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_NAME_LEN / 8u; i++)
    SCHEDRT_SEQ_STORE(&s->current_name[i], id->name[i]);
  for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_FILE_LEN / 8u; i++)
    SCHEDRT_SEQ_STORE(&s->current_file[i], id->file[i]);
  schedrt_seq_write_end(&s->mseq, odd);
}

/*
 * Stuck-poll observation (Go's sysmon schedtick check), once per period per
 * worker: a worker that is running, whose poll sequence and current task
 * pointer have not moved since the previous tick, is still in the poll seen
 * then, which has lasted at least the time between the two ticks. Its task
 * is then looked up once (identify) and published with the time of the
 * first tick that saw the poll. The hot path pays nothing for this beyond
 * the poll count it publishes anyway.
 */
static void watch_worker(schedrt_runtime *rt, uint32_t i, uint64_t now) {
  schedrt_worker *w = &rt->workers[i];
  struct schedrt_shm_wslot *s = w->m.slot;
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  /* Relaxed: single values; pointer and sequence are only compared. */
  uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
  uint64_t polls = atomic_load_explicit(&s->polls, memory_order_relaxed);
  const void *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
  if (state != SCHEDRT_WS_RUNNING || cur == NULL) {
    x->first_seen = 0;
    if (x->shown)
      publish_poll(s, 0, 0, NULL);
    x->shown = false;
    return;
  }
  if (x->first_seen == 0 || polls != x->polls || cur != x->cur) {
    /* A poll not seen before: it began within the last period. */
    x->polls = polls;
    x->cur = cur;
    x->first_seen = now;
    x->named = false;
    if (x->shown)
      publish_poll(s, 0, 0, NULL);
    x->shown = false;
    return;
  }
  if (x->named)
    return;
  struct poll_ident id;
  int found = identify(rt, i, cur, &id);
  if (found < 0)
    return;        /* a shard was busy: next tick */
  x->named = true; /* once per poll, found or not */
  if (!found)
    return;
  /* Still that poll? It may have ended while we looked (then the next tick
   * starts over); if so the id may even be a new task's at the same address. */
  if (atomic_load_explicit(&s->polls, memory_order_relaxed) != polls ||
      atomic_load_explicit(&w->current, memory_order_relaxed) != cur)
    return;
  publish_poll(s, polls, x->first_seen, &id);
  x->shown = true;
}

void schedrt__metrics_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base)
    return;
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  struct schedrt_shm_global *g = (struct schedrt_shm_global *)(void *)(m->base + SCHEDRT_SHM_GLOBAL_OFF);

  /* Global gauges: one section, the monitor is the only writer. */
  uint64_t odd = schedrt_seq_write_begin(&g->seq);
  SCHEDRT_SEQ_STORE(&g->inject_depth, schedrt__inject_len(&rt->inject));
  SCHEDRT_SEQ_STORE(&g->alive, schedrt__alive_tasks(rt));
  SCHEDRT_SEQ_STORE(&g->spawned, schedrt__spawned_total(rt));
  /* Relaxed: a monotonic counter bumped by foreign threads. */
  SCHEDRT_SEQ_STORE(&g->remote_schedules, atomic_load_explicit(&rt->remote_schedules, memory_order_relaxed));
  SCHEDRT_SEQ_STORE(&g->nworkers, (uint64_t)rt->nworkers);
  schedrt_seq_write_end(&g->seq, odd);

  if (m->watch)
    for (uint32_t i = 0; i < rt->nworkers; i++)
      if (rt->workers[i].m.slot != &rt->workers[i].m.fallback)
        watch_worker(rt, i, now);

  /* The beat last: the time, then the sequence (relaxed: each is a value of
   * its own; readers judge progress of the sequence on their clock). */
  atomic_store_explicit(&h->heartbeat_mono_ns, now, memory_order_relaxed);
  atomic_store_explicit(&h->heartbeat_seq, atomic_load_explicit(&h->heartbeat_seq, memory_order_relaxed) + 1u,
                        memory_order_release);
}

void *schedrt__metrics_control(schedrt_runtime *rt, size_t *size) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base || !m->published) {
    if (size)
      *size = 0;
    return NULL;
  }
  if (size)
    *size = m->geo.ctl_size;
  return m->base + m->geo.ctl_off;
}

/*
 * The poll worker i is in, as published: with timing, the worker's own
 * poll_task and poll_start_ns; else the monitor half if it names the poll
 * the worker is still in (seen_polls == polls). Lock-free, bounded retries.
 */
static int current_poll(schedrt_runtime *rt, uint32_t worker, uint64_t *task_id, uint64_t *since_ns,
                        bool *exact) {
  const struct schedrt_shm_wslot *s = rt->workers[worker].m.slot;
  uint32_t state = 0;
  uint64_t polls = 0, ptask = 0, start = 0, seen_polls = 0, seen_since = 0, task = 0;
  int t;
  for (t = 0; t < 64; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
    state = SCHEDRT_SEQ_LOAD((_Atomic uint32_t *)&s->state);
    polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->polls);
    ptask = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->poll_task);
    start = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->poll_start_ns);
    if (!schedrt_seq_read_retry(&s->seq, s0))
      break;
    schedrt_seq_pause();
  }
  if (t == 64 || state != SCHEDRT_WS_RUNNING)
    return -ENOENT;
  if (ptask != 0 && start != 0) {
    *task_id = ptask;
    *since_ns = start;
    *exact = true;
    return 0;
  }
  for (t = 0; t < 64; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->mseq);
    seen_polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_polls);
    seen_since = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_since_ns);
    task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->current_task);
    if (!schedrt_seq_read_retry(&s->mseq, s0))
      break;
    schedrt_seq_pause();
  }
  if (t == 64 || task == 0 || seen_polls != polls)
    return -ENOENT;
  *task_id = task;
  *since_ns = seen_since;
  *exact = false;
  return 0;
}

int schedrt__metrics_poll_info(schedrt_runtime *rt, uint32_t worker, uint64_t *task_id, uint64_t *since_ns,
                               bool *exact) {
  if (worker >= rt->nworkers)
    return -EINVAL;
  return current_poll(rt, worker, task_id, since_ns, exact);
}

/* ------------------------------------------------------ worker slow paths */

/* The overflows so far: counted by the local queue itself when it does
 * (SCHEDRT_LQ_COUNTS_OVERFLOWS, internal.h), else by schedrt__m_overflow. */
static inline uint64_t overflows(schedrt_worker *w) {
#ifdef SCHEDRT_LQ_COUNTS_OVERFLOWS
  return w->q.overflows + w->m.overflows;
#else
  return w->m.overflows;
#endif
}

/*
 * What changes while a worker is busy: depth, LIFO and the counters bumped
 * on the hot path. Every 61 ticks (maintenance), and at stop. The state,
 * park, unpark and busy-time fields change only at the events that publish
 * them (state changes, park, unpark), so they need no refresh here.
 */
void schedrt__m_publish_tick(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  /* Ticks since the last publication: w->tick is the scheduler's own
   * (wrapping) counter, bumped once per loop iteration, which is what this
   * metric counts; publications are at most 61 ticks apart. */
  m->ticks += (uint32_t)(w->tick - m->tick_seen);
  m->tick_seen = w->tick;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->lifo, lifo);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, depth);
  SCHEDRT_SEQ_STORE(&s->ticks, m->ticks);
  SCHEDRT_SEQ_STORE(&s->local_schedules, m->local_schedules);
  SCHEDRT_SEQ_STORE(&s->overflows, overflows(w));
  SCHEDRT_SEQ_STORE(&s->steals, m->steals);
  SCHEDRT_SEQ_STORE(&s->steal_ops, m->steal_ops);
  schedrt__m_end(s, odd);
}

/* Everything the worker publishes (park, unpark, start). */
void schedrt__m_publish_all(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  m->ticks += (uint32_t)(w->tick - m->tick_seen);
  m->tick_seen = w->tick;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->state, m->state);
  SCHEDRT_SEQ_STORE(&s->lifo, lifo);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, depth);
  SCHEDRT_SEQ_STORE(&s->ticks, m->ticks);
  SCHEDRT_SEQ_STORE(&s->local_schedules, m->local_schedules);
  SCHEDRT_SEQ_STORE(&s->overflows, overflows(w));
  SCHEDRT_SEQ_STORE(&s->steals, m->steals);
  SCHEDRT_SEQ_STORE(&s->steal_ops, m->steal_ops);
  SCHEDRT_SEQ_STORE(&s->parks, m->parks);
  SCHEDRT_SEQ_STORE(&s->unparks, m->unparks);
  SCHEDRT_SEQ_STORE(&s->noop_unparks, m->noop_unparks);
  SCHEDRT_SEQ_STORE(&s->busy_ns, m->busy_ns);
  SCHEDRT_SEQ_STORE(&s->active_since_ns, m->active_since);
  schedrt__m_end(s, odd);
}

void schedrt__m_park_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  uint64_t now = schedrt__now_ns();
  /* Relaxed: our own store. */
  uint64_t polls = atomic_load_explicit(&m->slot->polls, memory_order_relaxed);
  m->parks++;
  /* Tokio's noop rule: a park with no poll since the previous park. */
  if (polls == m->polls_at_park)
    m->noop_unparks++;
  m->polls_at_park = polls;
  if (m->active_since && now > m->active_since)
    m->busy_ns += now - m->active_since;
  m->active_since = 0;
  schedrt__m_publish_all(w);
}

void schedrt__m_unpark_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  m->unparks++;
  m->active_since = schedrt__now_ns();
  /* Awake and looking for work until it runs something or parks again. */
  schedrt__m_set_state(m, SCHEDRT_WS_SEARCHING);
  schedrt__m_publish_all(w);
}

void schedrt__m_noop_unpark_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  /* Woken for nothing and back to sleep: an unpark and a park without a poll. */
  m->unparks++;
  m->parks++;
  m->noop_unparks++;
  schedrt__m_publish_all(w);
}

void schedrt__m_worker_start_slow(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  m->active_since = schedrt__now_ns();
  /* Relaxed: written once, a value of its own (not under the seqlock). */
  atomic_store_explicit(&m->slot->os_tid, (uint64_t)syscall(SYS_gettid), memory_order_relaxed);
  schedrt__m_publish_all(w);
}

/* Single writer per bucket: a relaxed load and store, no RMW. */
static inline void hist_bump(_Atomic uint64_t *b) {
  atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1u, memory_order_relaxed);
}

/* The timed part of schedrt__m_poll_begin (which counted the poll): the
 * exact start with the task, the schedule latency, and (the clock read
 * dominates anyway) depth and LIFO. */
void schedrt__m_poll_begin_timed(schedrt_worker *w, const schedrt_task *t) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  uint64_t now = schedrt__now_ns();
  /* Relaxed: the waker's store of the wake time; any recent value is fine. */
  uint64_t woke = atomic_load_explicit(&((schedrt_task *)t)->since_ns, memory_order_relaxed);
  if (m->hist && woke != 0 && woke <= now)
    hist_bump(&m->hist[SCHEDRT_SHM_HIST_SPACING / 8u + schedrt_hist_bucket(now - woke)]);
  m->poll_start = now;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->poll_task, t->id);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, depth);
  SCHEDRT_SEQ_STORE(&s->lifo, lifo);
  SCHEDRT_SEQ_STORE(&s->poll_start_ns, now);
  schedrt__m_end(s, odd);
}

void schedrt__m_timing_end(schedrt_worker *w) {
  uint64_t now = schedrt__now_ns();
  if (w->m.hist && now >= w->m.poll_start)
    hist_bump(&w->m.hist[schedrt_hist_bucket(now - w->m.poll_start)]);
}

/* ---------------------------------------------------------- public API */

SCHEDRT_API unsigned schedrt_features(void) {
  return SCHEDRT_FEATURE_METRICS | (SCHEDRT_ENABLE_TASKDUMP ? SCHEDRT_FEATURE_TASKDUMP : 0u);
}

SCHEDRT_API const char *schedrt_version(void) { return SCHEDRT_VERSION_STRING; }

SCHEDRT_API size_t schedrt_metric_count(void) { return SCHEDRT_M__COUNT; }

SCHEDRT_API const schedrt_metric_desc *schedrt_metric_info(size_t index) {
  return index < SCHEDRT_M__COUNT ? &schedrt__metric_defs[index].pub : NULL;
}

SCHEDRT_API size_t schedrt_histogram_buckets(void) { return SCHEDRT_HIST_BUCKETS; }

SCHEDRT_API uint64_t schedrt_histogram_upper_ns(size_t bucket) {
  return bucket < SCHEDRT_HIST_BUCKETS ? schedrt_hist_upper((uint32_t)bucket) : UINT64_MAX;
}

SCHEDRT_API const char *schedrt_metrics_segment(const schedrt_runtime *rt) {
  return (rt && rt->metrics.published) ? rt->metrics.name : NULL;
}

/* A consistent copy of worker w's published half (in-process reader). */
static int read_slot(const struct schedrt_shm_wslot *s, struct schedrt_shm_wslot *out) {
  for (int t = 0; t < 10000; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
#define SCHEDRT__LOAD(id, kind, off, type, unit, help)                                                       \
  atomic_store_explicit(&out->id, SCHEDRT_SEQ_LOAD((_Atomic type *)&s->id), memory_order_relaxed);
    SCHEDRT_WSLOT_METRICS(SCHEDRT__LOAD)
#undef SCHEDRT__LOAD
    if (!schedrt_seq_read_retry(&s->seq, s0))
      return 0;
    /* Spin briefly; then yield, in case the worker was preempted mid-section. */
    if (t < 64)
      schedrt_seq_pause();
    else
      sched_yield();
  }
  return SCHEDRT_ETORN;
}

static uint64_t hist_total(const _Atomic uint64_t *b) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < SCHEDRT_HIST_BUCKETS; i++)
    sum += atomic_load_explicit((_Atomic uint64_t *)&b[i], memory_order_relaxed);
  return sum;
}

static const _Atomic uint64_t *hist_block(schedrt_runtime *rt, size_t index, uint32_t worker) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base)
    return NULL;
  return (const _Atomic uint64_t *)(void *)(m->base + m->geo.hist_off +
                                            (size_t)worker * SCHEDRT_SHM_HIST_STRIDE +
                                            schedrt__metric_defs[index].offset);
}

SCHEDRT_API int schedrt_metric_read(schedrt_runtime *rt, size_t index, uint32_t worker, uint64_t *value) {
  if (!rt || !value || index >= SCHEDRT_M__COUNT)
    return -EINVAL;
  const struct schedrt__metric_def *d = &schedrt__metric_defs[index];
  if (d->pub.scope == SCHEDRT_SCOPE_WORKER && worker >= rt->nworkers)
    return -EINVAL;
  /* Gauges of the queues and the task counts are read live, as Tokio does
   * (worker_local_queue_depth, global_queue_depth, num_alive_tasks). */
  switch (index) {
  case SCHEDRT_M_inject_depth:
    *value = schedrt__inject_len(&rt->inject);
    return 0;
  case SCHEDRT_M_alive:
    *value = schedrt__alive_tasks(rt);
    return 0;
  case SCHEDRT_M_spawned:
    *value = schedrt__spawned_total(rt);
    return 0;
  case SCHEDRT_M_remote_schedules:
    /* Relaxed: a monotonic counter. */
    *value = atomic_load_explicit(&rt->remote_schedules, memory_order_relaxed);
    return 0;
  case SCHEDRT_M_nworkers:
    *value = rt->nworkers;
    return 0;
  case SCHEDRT_M_local_queue_depth:
    *value = schedrt__m_depth(&rt->workers[worker]);
    return 0;
  case SCHEDRT_M_lifo:
    *value = schedrt__m_lifo(&rt->workers[worker]);
    return 0;
  case SCHEDRT_M_current_task: {
    /* As a segment reader sees it (state, live polls and the monitor half,
     * or the exact task with timing): the monitor's naming takes the shard
     * locks, which a read of the API must not. */
    uint64_t since;
    bool exact;
    if (current_poll(rt, worker, value, &since, &exact) != 0)
      *value = 0;
    return 0;
  }
  default:
    break;
  }
  if (d->region == SCHEDRT_REGION_HIST) {
    const _Atomic uint64_t *b = hist_block(rt, index, worker);
    *value = b ? hist_total(b) : 0;
    return 0;
  }
  /* The rest as published by the worker (lagging by up to one maintenance
   * interval while it is busy, exact once it parked or stopped). */
  struct schedrt_shm_wslot copy;
  int rc = read_slot(rt->workers[worker].m.slot, &copy);
  if (rc)
    return rc;
  const unsigned char *p = (const unsigned char *)&copy + d->offset;
  *value = d->width == 4
               ? atomic_load_explicit((_Atomic uint32_t *)(void *)(uintptr_t)p, memory_order_relaxed)
               : atomic_load_explicit((_Atomic uint64_t *)(void *)(uintptr_t)p, memory_order_relaxed);
  return 0;
}

SCHEDRT_API int schedrt_metric_histogram(schedrt_runtime *rt, size_t index, uint32_t worker,
                                         uint64_t *buckets, size_t n) {
  if (!rt || (!buckets && n) || index >= SCHEDRT_M__COUNT || worker >= rt->nworkers ||
      schedrt__metric_defs[index].region != SCHEDRT_REGION_HIST)
    return -EINVAL;
  const _Atomic uint64_t *b = hist_block(rt, index, worker);
  if (n > SCHEDRT_HIST_BUCKETS)
    n = SCHEDRT_HIST_BUCKETS;
  for (size_t i = 0; i < n; i++)
    /* Relaxed: each bucket is an independent monotonic counter. */
    buckets[i] = b ? atomic_load_explicit((_Atomic uint64_t *)&b[i], memory_order_relaxed) : 0;
  return 0;
}
