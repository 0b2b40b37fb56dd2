/* Liveness verdicts, listing and garbage collection of segments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "reader_internal.h"
#include "schedrt/shm_util.h"

schedrt_liveness schedrt__reader_proc_liveness(struct schedrt_reader *r) {
  /* The runtime holds LOCK_SH on its segment for its whole life. If our
   * LOCK_EX probe succeeds nobody does; release it at once. */
  bool held = true;
  if (flock(r->fd, LOCK_EX | LOCK_NB) == 0) {
    held = false;
    flock(r->fd, LOCK_UN);
  }
  if (held)
    return SCHEDRT_LIVENESS_LIVE; /* also right across pid namespaces, where the pid means nothing here */
  if (schedrt__proc_check(r->info.pid, r->info.starttime) != SCHEDRT_PROC_ALIVE)
    return SCHEDRT_LIVENESS_STALE;
  return SCHEDRT_LIVENESS_LIVE; /* no lock but the process is there: let the heartbeat judge */
}

schedrt_liveness schedrt__reader_judge(struct schedrt_reader *r, uint64_t now, uint32_t seg_state,
                                       uint64_t hb_seq, uint64_t hb_mono, uint64_t *stalled_ns) {
  uint64_t limit = 3u * (uint64_t)r->info.heartbeat_period_ms * 1000000u;
  if (!r->hb_seen || hb_seq != r->hb_last_seq) {
    r->hb_seen = true;
    r->hb_last_seq = hb_seq;
    r->hb_last_change_ns = now;
  }
  uint64_t stalled = now - r->hb_last_change_ns;
  *stalled_ns = stalled;
  if (r->proc_verdict == SCHEDRT_LIVENESS_STALE)
    return SCHEDRT_LIVENESS_STALE;
  if (seg_state == SCHEDRT_SHM_STATE_EXITING)
    return SCHEDRT_LIVENESS_EXITING;
  if (r->flags & SCHEDRT_READER_NO_LIVENESS)
    return SCHEDRT_LIVENESS_UNKNOWN;
  /* Our own clock across snapshots is authoritative; before we watched long
   * enough, the age of the last beat on the (shared) monotonic clock. A beat
   * stamped in our future means another clock domain: ignore the age. */
  bool age_hung = hb_mono <= now && now - hb_mono > limit;
  if (stalled > limit || age_hung)
    return SCHEDRT_LIVENESS_HUNG;
  return SCHEDRT_LIVENESS_LIVE;
}

int schedrt_reader_liveness(schedrt_reader *r, schedrt_liveness *out) {
  const struct schedrt_shm_header *h = (const struct schedrt_shm_header *)(const void *)r->base;
  uint64_t stalled;
  r->proc_verdict = schedrt__reader_proc_liveness(r);
  /* Acquire for the state (as at open); relaxed for the heartbeat counters. */
  uint32_t st = atomic_load_explicit((_Atomic uint32_t *)&h->state, memory_order_acquire);
  uint64_t seq = atomic_load_explicit((_Atomic uint64_t *)&h->heartbeat_seq, memory_order_relaxed);
  uint64_t mono = atomic_load_explicit((_Atomic uint64_t *)&h->heartbeat_mono_ns, memory_order_relaxed);
  uint32_t saved = r->flags;
  r->flags &= ~(uint32_t)SCHEDRT_READER_NO_LIVENESS; /* an explicit request always judges */
  *out = schedrt__reader_judge(r, schedrt__reader_now_ns(), st, seq, mono, &stalled);
  r->flags = saved;
  return 0;
}

int schedrt_liveness_error(schedrt_liveness l) {
  switch (l) {
  case SCHEDRT_LIVENESS_STALE:
    return SCHEDRT_ESTALE;
  case SCHEDRT_LIVENESS_HUNG:
    return SCHEDRT_EHUNG;
  default:
    return 0;
  }
}

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

static int list_one(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  struct listing *l = ctx;
  if (l->me != 0 && nm->uid != (uint32_t)l->me)
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

int schedrt_reader_gc(const char *shm_dir, unsigned *removed) {
  return schedrt__shm_sweep(shm_dir, (uint32_t)geteuid(), removed);
}
