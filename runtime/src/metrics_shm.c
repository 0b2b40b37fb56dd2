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
   * parent's segment looking alive. The mapping stays (nobody writes it:
   * the workers are not in the child). */
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
    wm->state = SCHEDRT_WS_STARTING;
    /* Busy time starts now; refined by schedrt__m_worker_start on the thread. */
    wm->active_since = now;
    if (m->base) {
      wm->slot = (struct schedrt_shm_wslot *)(void *)(m->base + m->geo.slot_off +
                                                     (size_t)i * SCHEDRT_SHM_SLOT_STRIDE);
      wm->hist = wm->timing ? (_Atomic uint64_t *)(void *)(m->base + m->geo.hist_off +
                                                          (size_t)i * SCHEDRT_SHM_HIST_STRIDE)
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
      .features = (m->timing ? SCHEDRT_SHM_F_TIMING : 0) | (SCHEDRT_ENABLE_TASKDUMP ? SCHEDRT_SHM_F_TASKDUMP : 0),
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
  }
}

/* ------------------------------------------------------------- monitor */

/* A seqlock read of the fields the monitor needs from a worker's half. */
static bool peek_worker(const struct schedrt_shm_wslot *s, uint32_t *state, uint64_t *task, uint64_t *polls) {
  for (int t = 0; t < 8; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
    *state = SCHEDRT_SEQ_LOAD((_Atomic uint32_t *)&s->state);
    *task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->current_task);
    *polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->polls);
    if (!schedrt_seq_read_retry(&s->seq, s0))
      return true;
    schedrt_seq_pause();
  }
  return false; /* the worker is busy publishing: try again next period */
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

  /*
   * Stuck-poll observation (Go's sysmon schedtick check): a worker whose
   * poll sequence has not moved since the last tick is still in the poll we
   * saw then; the first tick that saw a poll records when. Cheaper than a
   * clock read per poll; the resolution is one period.
   */
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt_shm_wslot *s = rt->workers[i].m.slot;
    uint32_t state;
    uint64_t task, polls;
    if (s == &rt->workers[i].m.fallback || !peek_worker(s, &state, &task, &polls))
      continue;
    if (state != SCHEDRT_WS_RUNNING || task == 0)
      continue;
    /* Relaxed: the monitor reads back its own store. */
    if (atomic_load_explicit(&s->seen_polls, memory_order_relaxed) == polls &&
        atomic_load_explicit(&s->seen_since_ns, memory_order_relaxed) != 0)
      continue;
    uint64_t modd = schedrt_seq_write_begin(&s->mseq);
    SCHEDRT_SEQ_STORE(&s->seen_polls, polls);
    SCHEDRT_SEQ_STORE(&s->seen_since_ns, now);
    schedrt_seq_write_end(&s->mseq, modd);
  }

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

int schedrt__metrics_poll_info(schedrt_runtime *rt, uint32_t worker, uint64_t *task_id, uint64_t *since_ns,
                               bool *exact) {
  if (worker >= rt->nworkers)
    return -EINVAL;
  const struct schedrt_shm_wslot *s = rt->workers[worker].m.slot;
  uint32_t state = 0;
  uint64_t task = 0, polls = 0, start = 0, seen_polls = 0, seen_since = 0;
  int t;
  for (t = 0; t < 64; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->seq);
    state = SCHEDRT_SEQ_LOAD((_Atomic uint32_t *)&s->state);
    task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->current_task);
    polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->polls);
    start = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->poll_start_ns);
    if (!schedrt_seq_read_retry(&s->seq, s0))
      break;
    schedrt_seq_pause();
  }
  if (t == 64 || state != SCHEDRT_WS_RUNNING || task == 0)
    return -ENOENT;
  *task_id = task;
  *exact = start != 0;
  *since_ns = start;
  if (start)
    return 0;
  for (t = 0; t < 64; t++) {
    uint64_t s0 = schedrt_seq_read_begin(&s->mseq);
    seen_polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_polls);
    seen_since = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_since_ns);
    if (!schedrt_seq_read_retry(&s->mseq, s0))
      break;
    schedrt_seq_pause();
  }
  if (t < 64 && seen_polls == polls)
    *since_ns = seen_since;
  return 0;
}

/* ------------------------------------------------------ worker slow paths */

void schedrt__m_publish_all(schedrt_worker *w) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->state, m->state);
  SCHEDRT_SEQ_STORE(&s->lifo, lifo);
  SCHEDRT_SEQ_STORE(&s->polls, m->polls);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, depth);
  SCHEDRT_SEQ_STORE(&s->ticks, m->ticks);
  SCHEDRT_SEQ_STORE(&s->local_schedules, m->local_schedules);
  SCHEDRT_SEQ_STORE(&s->overflows, m->overflows);
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
  m->parks++;
  /* Tokio's noop rule: a park with no poll since the previous park. */
  if (m->polls == m->polls_at_park)
    m->noop_unparks++;
  m->polls_at_park = m->polls;
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
  m->state = SCHEDRT_WS_SEARCHING;
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

/* The timed variant of schedrt__m_poll_begin: also the exact start, the
 * schedule latency, and (the clock read dominates anyway) depth and LIFO. */
void schedrt__m_poll_begin_timed(schedrt_worker *w, const schedrt_task *t) {
  struct schedrt__wmetrics *m = &w->m;
  struct schedrt_shm_wslot *s = m->slot;
  uint64_t now = schedrt__now_ns();
  /* Relaxed: the waker's store of the wake time; any recent value is fine. */
  uint64_t woke = atomic_load_explicit(&((schedrt_task *)t)->since_ns, memory_order_relaxed);
  if (m->hist && woke != 0 && woke <= now)
    hist_bump(&m->hist[SCHEDRT_SHM_HIST_SPACING / 8u + schedrt_hist_bucket(now - woke)]);
  m->poll_start = now;
  uint64_t polls = ++m->polls;
  uint64_t depth = schedrt__m_depth(w);
  uint32_t lifo = schedrt__m_lifo(w);
  uint64_t odd = schedrt__m_begin(m, s);
  SCHEDRT_SEQ_STORE(&s->current_task, t->id);
  SCHEDRT_SEQ_STORE(&s->polls, polls);
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
#define SCHEDRT__LOAD(id, kind, off, type, unit, help) \
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
  return (const _Atomic uint64_t *)(void *)(m->base + m->geo.hist_off + (size_t)worker * SCHEDRT_SHM_HIST_STRIDE +
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
  *value = d->width == 4 ? atomic_load_explicit((_Atomic uint32_t *)(void *)(uintptr_t)p, memory_order_relaxed)
                         : atomic_load_explicit((_Atomic uint64_t *)(void *)(uintptr_t)p, memory_order_relaxed);
  return 0;
}

SCHEDRT_API int schedrt_metric_histogram(schedrt_runtime *rt, size_t index, uint32_t worker, uint64_t *buckets,
                                         size_t n) {
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
