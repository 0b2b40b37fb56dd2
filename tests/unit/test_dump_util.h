/* Helpers shared by the task-dump tests (unit and stress): no Criterion here. */
#ifndef SCHEDRT_TEST_DUMP_UTIL_H
#define SCHEDRT_TEST_DUMP_UTIL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/dump_read.h"

static inline uint64_t tdu_now(void) { return schedrt_now_ns(); }

/*
 * Dumps into memory (a memfd) and decodes it (common/src/dump_read.c). 0, or the dump's or the decoder's
 * error (whose message goes to stderr). With opts NULL the barrier deadline is 5 s, not the runtime's
 * 250 ms default: a parked worker woken for the dump on a loaded machine (parallel tests, sanitizers) can
 * miss 250 ms and make the dump PARTIAL, which is not what those tests are about. A healthy dump never
 * waits the deadline out.
 */
static inline int tdu_dump(schedrt_runtime *rt, const schedrt_dump_opts *opts, schedrt_dump_result *res,
                           schedrt_dump_doc **doc) {
  static const schedrt_dump_opts loaded = {.timeout_ms = 5000};
  if (!opts)
    opts = &loaded;
  *doc = NULL;
  int fd = memfd_create("dump", MFD_CLOEXEC);
  if (fd < 0)
    return -errno;
  int rc = schedrt_dump_fd(rt, fd, opts, res);
  if (rc == 0) {
    off_t len = lseek(fd, 0, SEEK_END);
    void *p = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) {
      rc = -EIO;
    } else {
      char err[256];
      rc = schedrt_dump_parse_ex(p, (size_t)len, 0, doc, err, sizeof(err));
      if (rc)
        fprintf(stderr, "tdu_dump: the dump does not decode: %s\n", err);
      munmap(p, (size_t)len);
    }
  }
  close(fd);
  return rc;
}

static inline const schedrt_dump_task *tdu_task_named(const schedrt_dump_doc *d, const char *name) {
  for (size_t i = 0; i < d->ntasks; i++)
    if (d->tasks[i].name && strcmp(d->tasks[i].name, name) == 0)
      return &d->tasks[i];
  return NULL;
}

static inline const schedrt_dump_task *tdu_task_id(const schedrt_dump_doc *d, uint64_t id) {
  for (size_t i = 0; i < d->ntasks; i++)
    if (d->tasks[i].id == id)
      return &d->tasks[i];
  return NULL;
}

static inline int tdu_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The structural promises of a dump: counts agree, ids unique, indexes in range. NULL or what is wrong. */
static inline const char *tdu_check(const schedrt_dump_doc *d, uint32_t nworkers) {
  if (d->ntasks != d->task_count)
    return "task_count differs from the tasks listed";
  if (d->nworkers_listed != nworkers || d->nworkers != nworkers)
    return "worker count";
  if (d->ncovered + d->nmissing != nworkers)
    return "covered + missing != workers";
  uint64_t *ids = malloc((d->ntasks ? d->ntasks : 1) * sizeof(*ids));
  if (!ids)
    return "out of memory";
  for (size_t i = 0; i < d->ntasks; i++)
    ids[i] = d->tasks[i].id;
  qsort(ids, d->ntasks, sizeof(*ids), tdu_cmp_u64);
  bool dup = false;
  for (size_t i = 1; i < d->ntasks; i++)
    dup |= ids[i] == ids[i - 1];
  free(ids);
  if (dup)
    return "a task id appears twice";
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    if (t->state >= SCHEDRT_DUMP_STATE__COUNT)
      return "unknown task state";
    if (t->spawn < 0 || (size_t)t->spawn >= d->nspawn_sites)
      return "spawn site index out of range";
    if (t->await != SCHEDRT_DUMP_NONE && (size_t)t->await >= d->nawait_sites)
      return "await site index out of range";
    bool queued = t->state == SCHEDRT_DUMP_STATE_LIFO || t->state == SCHEDRT_DUMP_STATE_LOCAL ||
                  t->state == SCHEDRT_DUMP_STATE_DEFERRED || t->state == SCHEDRT_DUMP_STATE_INJECTION;
    if (queued != (t->position != SCHEDRT_DUMP_NONE))
      return "position present iff queued";
    if (t->state == SCHEDRT_DUMP_STATE_INJECTION && (uint64_t)t->position >= d->injection_depth)
      return "injection position beyond the depth";
    if (t->worker != SCHEDRT_DUMP_NONE && (uint64_t)t->worker >= nworkers)
      return "worker index out of range";
  }
  return NULL;
}

#endif
