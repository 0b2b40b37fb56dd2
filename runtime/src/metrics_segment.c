/*
 * The metrics segment's life (docs/shm-protocol.md).
 *
 * schedrt__metrics_start creates /schedrt.<uid>.<pid>.<start>.<n> (O_EXCL,
 * 0600, checked with fstat, space reserved with posix_fallocate), holds
 * flock(LOCK_SH) on it as the liveness token, formats it, points every
 * worker's hooks at its slot and stores READY last. schedrt__metrics_stop
 * marks it EXITING and unlinks it; metrics_registry.c unlinks what a process
 * forgot to destroy. Stale segments of dead processes (SIGKILL) are swept by
 * the next runtime start.
 *
 * With publication off (SCHEDRT_METRICS=0, SCHEDRT_CFG_NO_METRICS) or when
 * the segment cannot be made, the same layout lives in private memory, so
 * the hooks never branch and the in-process API still answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "schedrt/shm_util.h"

/* The <n> of the names: runtimes created so far by this process. */
static _Atomic uint32_t seg_counter;

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
    schedrt__m_set_state(wm, SCHEDRT_WSTATE_STARTING);
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
  /* Shorter event rings, then none, then fewer spawn sites rather than no
   * segment when many workers make it too big. */
  uint32_t sites = schedrt__sites_wanted(), ev = schedrt__events_wanted(rt);
  for (;;) {
    rc = schedrt_shm_geometry_ev(rt->nworkers, sites, ev, page > 0 ? (uint32_t)page : 4096u, &m->geo);
    if (rc != -E2BIG)
      break;
    if (ev > SCHEDRT_SHM_EV_MIN)
      ev /= 2u;
    else if (ev)
      ev = 0;
    else if (sites > 2u)
      sites /= 2u;
    else
      break;
  }
  if (rc)
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
  /* The monitor's memory of each worker's poll (stuck-poll naming, long
   * polls); without it the monitor names and counts nothing, and nothing
   * else changes. */
  m->watch = calloc(rt->nworkers, sizeof(*m->watch));
  uint32_t period_ms = rt->cfg.monitor_period_ms ? rt->cfg.monitor_period_ms : 100u;
  if (m->watch && rt->cfg.long_poll_ms) {
    /* Sampling every fifth of the threshold: a poll is seen running for the
     * threshold once it lasted at most 1.4 thresholds. At least 0.2 ms (5,000
     * wake-ups a second), at most a heartbeat period. */
    m->long_poll_ns = (uint64_t)rt->cfg.long_poll_ms * 1000000u;
    uint64_t w = m->long_poll_ns / 5u;
    w = w < 200000u ? 200000u : w;
    m->long_poll_watch_ns = w < (uint64_t)period_ms * 1000000u ? w : (uint64_t)period_ms * 1000000u;
  }
  m->stall_report_ns = m->long_poll_watch_ns ? schedrt__stall_report_ns() : 0;
  struct schedrt__shm_params params = {
      .max_workers = rt->nworkers,
      .page_size = page > 0 ? (uint32_t)page : 4096u,
      .heartbeat_period_ms = period_ms,
      .pid = pid,
      .uid = uid,
      .starttime = start,
      .runtime_index = index,
      .features =
          (m->timing ? SCHEDRT_SHM_F_TIMING : 0) | (SCHEDRT_ENABLE_TASKDUMP ? SCHEDRT_SHM_F_TASKDUMP : 0),
      .local_queue_cap = SCHEDRT_LOCAL_QUEUE_CAP,
      .maintenance_interval = SCHEDRT_MAINTENANCE_INTERVAL,
      .long_poll_ms = m->long_poll_watch_ns ? rt->cfg.long_poll_ms : 0u,
      .long_poll_watch_us = (uint32_t)(m->long_poll_watch_ns / 1000u),
      .runtime_name = rt->name,
      .runtime_version = SCHEDRT_VERSION_STRING,
      .comm = comm,
      .saved_dir = rt->watchdog_dir,
  };
  schedrt__shm_format(m->base, &m->geo, &params);
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  struct timespec rts;
  clock_gettime(CLOCK_REALTIME, &rts);
  h->create_realtime_ns = (uint64_t)rts.tv_sec * 1000000000u + (uint64_t)rts.tv_nsec;
  h->create_mono_ns = now;
  attach_workers(rt, now);
  schedrt__sites_init(rt, m->base);
  schedrt__events_init(rt);
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
    schedrt__mreg_add(m);
  schedrt__shm_publish_ready(m->base);
  return rc;

fallback:
  /* Not even private memory: the hooks write into per-worker scratch slots. */
  m->base = NULL;
  m->timing = false;
  attach_workers(rt, now);
  schedrt__sites_init(rt, NULL);
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
  schedrt__stall_fini(rt);
  schedrt__sites_fini(rt);
  schedrt__events_fini(rt);
  /* Release: readers that see EXITING see the workers' final publications. */
  atomic_store_explicit(&h->state, SCHEDRT_SHM_STATE_EXITING, memory_order_release);
  if (m->published) {
    schedrt__mreg_remove(m);
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

void schedrt__metrics_saved_dumps(schedrt_runtime *rt, uint32_t count) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base)
    return;
  struct schedrt_shm_header *h = (struct schedrt_shm_header *)(void *)m->base;
  /* Release: after the file was linked under its name. */
  atomic_store_explicit(&h->saved_dumps, count, memory_order_release);
}
