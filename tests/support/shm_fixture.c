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

#include "schedrt/shm_util.h"

uint64_t fixture_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fixture_dir_create(char *buf, size_t size) {
  if (snprintf(buf, size, "/dev/shm/schedrt-test.XXXXXX") >= (int)size)
    return -ENAMETOOLONG;
  return mkdtemp(buf) ? 0 : -errno;
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
}

int fixture_segment_create(const char *dir, uint32_t nworkers, pid_t pid, uint64_t starttime, uint32_t index,
                           struct shm_fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  fx->fd = -1;
  if (pid == 0) {
    pid = getpid();
    if (schedrt__proc_starttime(pid, &starttime))
      return -EIO;
  }
  int rc = schedrt_shm_geometry(nworkers, 4096, &fx->geo);
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
