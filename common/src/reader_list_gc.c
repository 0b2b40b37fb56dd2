/*
 * The listing of a user's schedrt objects (schedrt_reader_list: every
 * segment and dump object, opened and judged) and the garbage collection of
 * the stale ones (schedrt_reader_gc, the runtime's own sweep).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader_internal.h"
#include "schedrt/shm_util.h"

static int cmp_entry(const void *a, const void *b) {
  const schedrt_segment_entry *x = a, *y = b;
  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  if (x->starttime != y->starttime)
    return x->starttime < y->starttime ? -1 : 1;
  if (x->is_dump != y->is_dump)
    return x->is_dump - y->is_dump;
  if (x->runtime_index != y->runtime_index)
    return x->runtime_index < y->runtime_index ? -1 : 1;
  return strcmp(x->name, y->name);
}

static void fill_entry(const char *dir, int dfd, schedrt_segment_entry *e) {
  schedrt_reader *r = NULL;
  if (e->is_dump) {
    bool stale = false;
    e->error = schedrt__shm_check_stale(dfd, e->name, e->uid, false, &stale);
    e->liveness = e->error ? SCHEDRT_LIVENESS_UNKNOWN
                  : stale  ? SCHEDRT_LIVENESS_STALE
                           : SCHEDRT_LIVENESS_LIVE;
    return;
  }
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT, .shm_dir = dir};
  e->error = schedrt_reader_open_name(e->name, &o, &r);
  if (e->error) {
    e->liveness = SCHEDRT_LIVENESS_UNKNOWN;
    return;
  }
  const schedrt_segment_info *in = schedrt_reader_info(r);
  strcpy(e->runtime_name, in->runtime_name);
  strcpy(e->comm, in->comm);
  strcpy(e->saved_dir, in->saved_dir);
  e->saved_dumps = in->saved_dumps;
  e->size = in->total_size;
  e->create_realtime_ns = in->create_realtime_ns;
  const struct schedrt_shm_header *h = (const struct schedrt_shm_header *)(const void *)r->base;
  uint32_t n = atomic_load_explicit((_Atomic uint32_t *)&h->nr_workers, memory_order_relaxed);
  e->nworkers = n > r->max_workers ? r->max_workers : n;
  if (schedrt_reader_liveness(r, &e->liveness) != 0)
    e->liveness = SCHEDRT_LIVENESS_UNKNOWN;
  schedrt_reader_close(r);
}

/* The listing being built: a growing array. */
struct listing {
  const char *dir;
  uid_t me;
  schedrt_segment_entry *v;
  size_t len, cap;
};

/* Another user's object, which a listing by me leaves out (root's leaves out nothing). */
static bool left_out(const struct schedrt__shm_name *nm, uid_t me) {
  return me != 0 && nm->uid != (uint32_t)me;
}

static int list_one(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  struct listing *l = ctx;
  if (left_out(nm, l->me))
    return 0;
  if (l->len == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 16;
    schedrt_segment_entry *nv = realloc(l->v, ncap * sizeof(*nv));
    if (!nv)
      return -ENOMEM;
    l->v = nv;
    l->cap = ncap;
  }
  schedrt_segment_entry *e = &l->v[l->len++];
  memset(e, 0, sizeof(*e));
  snprintf(e->name, sizeof(e->name), "%s", name);
  e->uid = nm->uid;
  e->pid = nm->pid;
  e->starttime = nm->starttime;
  e->runtime_index = nm->index;
  e->is_dump = nm->is_dump;
  fill_entry(l->dir, dirfd, e);
  return 0;
}

int schedrt_reader_list(const char *shm_dir, schedrt_segment_entry **out, size_t *n) {
  struct listing l = {.dir = shm_dir ? shm_dir : SCHEDRT_READER_SHM_DIR, .me = geteuid()};
  *out = NULL;
  *n = 0;
  int rc = schedrt__shm_scan(l.dir, list_one, &l);
  if (rc) {
    free(l.v);
    return rc;
  }
  if (l.len)
    qsort(l.v, l.len, sizeof(*l.v), cmp_entry);
  *out = l.v;
  *n = l.len;
  return 0;
}

void schedrt_segment_list_free(schedrt_segment_entry *list) { free(list); }

/* Counts, without opening them, the segments schedrt_reader_list leaves out as another user's. */
struct others {
  uid_t me;
  size_t n;
};

static int count_other(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  (void)dirfd;
  (void)name;
  struct others *o = ctx;
  if (!nm->is_dump && left_out(nm, o->me))
    o->n++;
  return 0;
}

int schedrt_reader_count_others(const char *shm_dir, size_t *n) {
  struct others o = {.me = geteuid(), .n = 0};
  int rc = schedrt__shm_scan(shm_dir ? shm_dir : SCHEDRT_READER_SHM_DIR, count_other, &o);
  *n = rc ? 0 : o.n;
  return rc;
}

int schedrt_reader_gc(const char *shm_dir, unsigned *removed) {
  return schedrt__shm_sweep(shm_dir, (uint32_t)geteuid(), removed);
}
