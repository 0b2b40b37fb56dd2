/* See shm_fixture.h. */
#include "shm_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/shm_util.h"

uint64_t fixture_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Directories this process made, removed again at exit: a stress test that
 * fails a check exits at once, and must not leave /dev/shm/schedrt-test.*
 * behind. Only the creating process removes them (a forked writer exits too).
 */
#define FIXTURE_MAX_DIRS 16
static char fixture_dirs[FIXTURE_MAX_DIRS][64];
static pid_t fixture_dirs_owner;

static void fixture_dirs_at_exit(void) {
  if (getpid() != fixture_dirs_owner)
    return;
  for (int i = 0; i < FIXTURE_MAX_DIRS; i++)
    if (fixture_dirs[i][0])
      fixture_dir_remove(fixture_dirs[i]);
}

static void fixture_dirs_remember(const char *dir) {
  if (fixture_dirs_owner != getpid()) {
    memset(fixture_dirs, 0, sizeof(fixture_dirs));
    if (fixture_dirs_owner == 0)
      atexit(fixture_dirs_at_exit);
    fixture_dirs_owner = getpid();
  }
  for (int i = 0; i < FIXTURE_MAX_DIRS; i++)
    if (!fixture_dirs[i][0] && strlen(dir) < sizeof(fixture_dirs[i])) {
      strcpy(fixture_dirs[i], dir);
      return;
    }
}

int fixture_dir_create(char *buf, size_t size) {
  if (snprintf(buf, size, "/dev/shm/schedrt-test.XXXXXX") >= (int)size)
    return -ENAMETOOLONG;
  if (!mkdtemp(buf))
    return -errno;
  fixture_dirs_remember(buf);
  return 0;
}

void fixture_dir_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
  rmdir(dir);
  for (int i = 0; i < FIXTURE_MAX_DIRS; i++)
    if (strcmp(fixture_dirs[i], dir) == 0)
      fixture_dirs[i][0] = '\0';
}

int fixture_segment_create(const char *dir, uint32_t nworkers, pid_t pid, uint64_t starttime, uint32_t index,
                           struct shm_fixture *fx) {
  return fixture_segment_create_ev(dir, nworkers, 0, pid, starttime, index, fx);
}

int fixture_segment_create_ev(const char *dir, uint32_t nworkers, uint32_t ev_cap, pid_t pid,
                              uint64_t starttime, uint32_t index, struct shm_fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  fx->fd = -1;
  if (pid == 0) {
    pid = getpid();
    if (schedrt__proc_starttime(pid, &starttime))
      return -EIO;
  }
  int rc = schedrt_shm_geometry_ev(nworkers, SCHEDRT_SHM_SITES_DEFAULT, ev_cap, 4096, &fx->geo);
  if (rc)
    return rc;
  schedrt__shm_name_format(fx->name, sizeof(fx->name), (uint32_t)geteuid(), (uint32_t)pid, starttime, index);
  snprintf(fx->path, sizeof(fx->path), "%s/%s", dir, fx->name);
  fx->fd = open(fx->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fx->fd < 0)
    return -errno;
  if (ftruncate(fx->fd, (off_t)fx->geo.total_size) != 0)
    return -errno;
  fx->size = fx->geo.total_size;
  void *p = mmap(NULL, fx->size, PROT_READ | PROT_WRITE, MAP_SHARED, fx->fd, 0);
  if (p == MAP_FAILED)
    return -errno;
  fx->base = p;
  struct schedrt__shm_params params = {
      .max_workers = nworkers,
      .page_size = 4096,
      .heartbeat_period_ms = 100,
      .pid = (uint32_t)pid,
      .uid = (uint32_t)geteuid(),
      .starttime = starttime,
      .runtime_index = index,
      .local_queue_cap = 256,
      .maintenance_interval = 61,
      .runtime_name = "fixture",
      .runtime_version = "0.1.0",
      .comm = "fixture",
  };
  schedrt__shm_format(fx->base, &fx->geo, &params);
  struct schedrt_shm_header *h = fixture_header(fx);
  atomic_store(&h->nr_workers, nworkers);
  atomic_store(&h->heartbeat_mono_ns, fixture_now_ns());
  atomic_store(&h->heartbeat_seq, 1);
  schedrt__shm_publish_ready(fx->base);
  return 0;
}

void fixture_segment_close(struct shm_fixture *fx) {
  if (fx->base)
    munmap(fx->base, fx->size);
  if (fx->fd >= 0)
    close(fx->fd);
  fx->base = NULL;
  fx->fd = -1;
}

pid_t fixture_dead_pid(void) {
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  if (p > 0)
    waitpid(p, NULL, 0);
  return p;
}

void fixture_write_polls(struct schedrt_shm_wslot *s, uint64_t polls) {
  /* Relaxed: a value of its own, outside the section (as the worker stores it). */
  atomic_store_explicit(&s->polls, polls, memory_order_relaxed);
}

void fixture_write_worker(struct schedrt_shm_wslot *s, uint32_t state, uint64_t polls, uint64_t base) {
  uint64_t odd = schedrt_seq_write_begin(&s->seq);
  SCHEDRT_SEQ_STORE(&s->state, state);
  SCHEDRT_SEQ_STORE(&s->lifo, 1u);
  SCHEDRT_SEQ_STORE(&s->local_queue_depth, base + 1);
  SCHEDRT_SEQ_STORE(&s->ticks, base + 2);
  SCHEDRT_SEQ_STORE(&s->local_schedules, base + 3);
  SCHEDRT_SEQ_STORE(&s->overflows, base + 4);
  SCHEDRT_SEQ_STORE(&s->steals, base + 5);
  SCHEDRT_SEQ_STORE(&s->steal_ops, base + 6);
  SCHEDRT_SEQ_STORE(&s->parks, base + 7);
  SCHEDRT_SEQ_STORE(&s->unparks, base + 8);
  SCHEDRT_SEQ_STORE(&s->noop_unparks, base + 9);
  SCHEDRT_SEQ_STORE(&s->busy_ns, base + 10);
  schedrt_seq_write_end(&s->seq, odd);
  fixture_write_polls(s, polls);
}

/* A string into NUL-padded words of n bytes (truncated, no NUL if it fills them). */
static void put_words(_Atomic uint64_t *dst, size_t n, const char *str) {
  unsigned char buf[64];
  size_t len = str ? strlen(str) : 0;
  memset(buf, 0, sizeof(buf));
  memcpy(buf, str ? str : "", len < n ? len : n);
  for (size_t i = 0; i < n / 8; i++) {
    uint64_t w;
    memcpy(&w, buf + 8 * i, 8);
    SCHEDRT_SEQ_STORE(&dst[i], w);
  }
}

void fixture_write_monitor(struct schedrt_shm_wslot *s, uint64_t seen_polls, uint64_t since_ns, uint64_t task,
                           const char *name, const char *file, uint32_t line) {
  uint64_t odd = schedrt_seq_write_begin(&s->mseq);
  SCHEDRT_SEQ_STORE(&s->seen_polls, seen_polls);
  SCHEDRT_SEQ_STORE(&s->seen_since_ns, since_ns);
  SCHEDRT_SEQ_STORE(&s->current_task, task);
  SCHEDRT_SEQ_STORE(&s->current_line, line);
  put_words(s->current_name, SCHEDRT_SHM_TASK_NAME_LEN, name);
  put_words(s->current_file, SCHEDRT_SHM_TASK_FILE_LEN, file);
  schedrt_seq_write_end(&s->mseq, odd);
}
