/* Consistent snapshots of an open segment through its seqlocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"
#include "schedrt/proto/seqlock.h"
#include "schedrt/shm_util.h"

int schedrt_snapshot_init(const schedrt_reader *r, schedrt_snapshot *s) {
  memset(s, 0, sizeof(*s));
  s->workers = calloc(r->max_workers, sizeof(*s->workers));
  s->hist = calloc((size_t)r->max_workers * SCHEDRT_M__HIST_COUNT * r->hist_buckets, sizeof(uint64_t));
  if (!s->workers || !s->hist) {
    schedrt_snapshot_fini(s);
    return -ENOMEM;
  }
  s->max_workers = r->max_workers;
  s->hist_buckets = r->hist_buckets;
  return 0;
}

void schedrt_snapshot_fini(schedrt_snapshot *s) {
  if (!s)
    return;
  free(s->workers);
  free(s->hist);
  memset(s, 0, sizeof(*s));
}

static const struct schedrt_shm_wslot *slot_at(const struct schedrt_reader *r, uint32_t i) {
  return (const struct schedrt_shm_wslot *)(const void *)(r->base + r->slot_off +
                                                          (uint64_t)i * r->slot_stride);
}

/* The worker half's fields that are not metrics. */
struct worker_extra {
  uint64_t poll_task, poll_start, active_since;
};

/* One seqlock read of the worker half of a slot; false when torn. */
static bool read_worker(const struct schedrt_shm_wslot *sl, uint32_t stride, uint32_t attempts,
                        schedrt_worker_snap *w, struct worker_extra *x, uint64_t *retries) {
  schedrt_seq_reader rd;
  SCHEDRT_SEQ_READ(&rd, &sl->seq, attempts) {
    /* Every metric of the list, current_task included (it lives in the
     * monitor half: the copy made here is replaced below). polls is a live
     * value stored outside the section: copied all the same. A metric past
     * an older writer's slot is absent: 0. */
#define SCHEDRT__LOAD(id, kind, off, type, unit, help, pub)                                                  \
  w->id = (off) + sizeof(type) <= stride ? SCHEDRT_SEQ_LOAD(SCHEDRT_SHM_WSLOT_AT_CONST(sl, off, type)) : 0u;
    SCHEDRT_WSLOT_METRICS(SCHEDRT__LOAD)
#undef SCHEDRT__LOAD
    x->poll_task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->poll_task);
    x->poll_start = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->poll_start_ns);
    x->active_since = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->active_since_ns);
  }
  *retries += schedrt_seq_reader_retries(&rd);
  return rd.ok;
}

/* The monitor half: the poll it saw running for a period, and its task. */
struct monitor_half {
  uint64_t seen_polls, seen_since, task;
  uint32_t line;
  uint64_t name[SCHEDRT_SHM_TASK_NAME_LEN / 8u];
  uint64_t file[SCHEDRT_SHM_TASK_FILE_LEN / 8u];
};

static bool read_monitor(const struct schedrt_shm_wslot *sl, uint32_t attempts, struct monitor_half *m,
                         uint64_t *retries) {
  schedrt_seq_reader rd;
  SCHEDRT_SEQ_READ(&rd, &sl->mseq, attempts) {
    m->seen_polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->seen_polls);
    m->seen_since = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->seen_since_ns);
    m->task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->current_task);
    m->line = SCHEDRT_SEQ_LOAD((_Atomic uint32_t *)&sl->current_line);
    for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_NAME_LEN / 8u; i++)
      m->name[i] = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->current_name[i]);
    for (uint32_t i = 0; i < SCHEDRT_SHM_TASK_FILE_LEN / 8u; i++)
      m->file[i] = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&sl->current_file[i]);
  }
  *retries += schedrt_seq_reader_retries(&rd);
  return rd.ok;
}

void schedrt__reader_words_str(char *dst, const void *words, size_t n) {
  memcpy(dst, words, n);
  dst[n] = '\0';
  for (size_t i = 0; dst[i]; i++)
    if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] == 0x7f)
      dst[i] = '?';
}

_Static_assert(sizeof(((schedrt_worker_snap *)0)->current_name) == SCHEDRT_SHM_TASK_NAME_LEN + 1,
               "name size");
_Static_assert(sizeof(((schedrt_worker_snap *)0)->current_file) == SCHEDRT_SHM_TASK_FILE_LEN + 1,
               "file size");

/*
 * The task in a poll and since when (docs/shm-protocol.md, "derived values"):
 * with TIMING the worker's own exact poll_task/poll_start_ns; otherwise the
 * monitor half, if the poll it identified is still the worker's latest
 * (seen_polls == polls). Only while the worker is running.
 */
static void current_poll(const struct schedrt_shm_wslot *sl, uint32_t attempts, schedrt_worker_snap *w,
                         const struct worker_extra *x, bool timing, uint64_t *retries) {
  struct monitor_half m;
  w->current_task = 0;
  w->current_since_ns = 0;
  if (w->state != SCHEDRT_WSTATE_RUNNING)
    return;
  bool have_m = read_monitor(sl, attempts, &m, retries) && m.task != 0 && m.seen_polls == w->polls;
  if (timing && x->poll_task != 0 && x->poll_start != 0) {
    w->current_task = x->poll_task;
    w->current_since_ns = x->poll_start;
    w->since_resolution_ns = 0;
    have_m = have_m && m.task == x->poll_task;
  } else if (have_m) {
    w->current_task = m.task;
    w->current_since_ns = m.seen_since;
  }
  if (have_m) {
    schedrt__reader_words_str(w->current_name, m.name, SCHEDRT_SHM_TASK_NAME_LEN);
    schedrt__reader_words_str(w->current_file, m.file, SCHEDRT_SHM_TASK_FILE_LEN);
    w->current_line = m.line;
  }
}

static bool read_global(const struct schedrt_reader *r, uint32_t attempts, schedrt_global_snap *g,
                        uint64_t *retries) {
  const struct schedrt_shm_global *ga =
      (const struct schedrt_shm_global *)(const void *)(r->base + r->global_off);
  schedrt_seq_reader rd;
  SCHEDRT_SEQ_READ(&rd, &ga->seq, attempts) {
#define SCHEDRT__LOAD(id, kind, off, type, unit, help, pub) g->id = SCHEDRT_SEQ_LOAD((_Atomic type *)&ga->id);
    SCHEDRT_GLOBAL_METRICS(SCHEDRT__LOAD)
#undef SCHEDRT__LOAD
  }
  *retries += schedrt_seq_reader_retries(&rd);
  return rd.ok;
}

static void read_hist(const struct schedrt_reader *r, uint32_t w, uint64_t *out) {
  uint32_t nh = r->hist_per_worker < SCHEDRT_M__HIST_COUNT ? r->hist_per_worker : SCHEDRT_M__HIST_COUNT;
  memset(out, 0, sizeof(uint64_t) * SCHEDRT_M__HIST_COUNT * r->hist_buckets);
  for (uint32_t h = 0; h < nh; h++) {
    const _Atomic uint64_t *b =
        (const _Atomic uint64_t *)(const void *)(r->base + r->hist_off + (uint64_t)w * r->hist_stride +
                                                 (uint64_t)h * r->hist_spacing);
    for (uint32_t i = 0; i < r->hist_buckets; i++)
      /* Relaxed: each bucket is an independent monotonic counter. */
      out[h * r->hist_buckets + i] = atomic_load_explicit((_Atomic uint64_t *)&b[i], memory_order_relaxed);
  }
}

/* What the guarded copy needs and gives back. */
struct take_args {
  const struct schedrt_reader *r;
  unsigned flags;
  schedrt_snapshot *s;
  uint64_t retries;
};

/* Everything that touches the mapping, run under schedrt__reader_guarded. */
static int take_copy(void *arg) {
  struct take_args *a = arg;
  const struct schedrt_reader *r = a->r;
  schedrt_snapshot *s = a->s;
  const struct schedrt_shm_header *h = (const struct schedrt_shm_header *)(const void *)r->base;
  uint64_t retries = 0;
  uint64_t period_ns = (uint64_t)r->info.heartbeat_period_ms * 1000000u;
  bool timing = (r->info.features & SCHEDRT_SHM_F_TIMING) != 0;

  /* Acquire: pairs with the writer's release stores of the state. */
  s->seg_state = atomic_load_explicit((_Atomic uint32_t *)&h->state, memory_order_acquire);
  uint32_t n = atomic_load_explicit((_Atomic uint32_t *)&h->nr_workers, memory_order_acquire);
  s->nworkers = n > r->max_workers ? r->max_workers : n; /* clamp: never index past the slots */
  /* Relaxed: heartbeat fields are independent progress indicators. */
  s->heartbeat_seq = atomic_load_explicit((_Atomic uint64_t *)&h->heartbeat_seq, memory_order_relaxed);
  s->heartbeat_mono_ns =
      atomic_load_explicit((_Atomic uint64_t *)&h->heartbeat_mono_ns, memory_order_relaxed);
  s->taken_mono_ns = schedrt__reader_now_ns();
  s->writer_now_ns = s->taken_mono_ns;
  s->ntorn = 0;

  /* Attempts per read; once a writer stayed inside its section (stopped,
   * or died there), the rest of this snapshot only spins: one stuck slot
   * must not cost every slot its whole backoff. */
  uint32_t attempts = r->max_retries;
  memset(&s->global, 0, sizeof(s->global));
  if (!read_global(r, attempts, &s->global, &retries)) {
    memset(&s->global, 0, sizeof(s->global));
    s->global.torn = 1;
    s->ntorn++;
    attempts = attempts < SCHEDRT_SEQ_SPINS ? attempts : SCHEDRT_SEQ_SPINS;
  }
  for (uint32_t i = 0; i < s->nworkers; i++) {
    const struct schedrt_shm_wslot *sl = slot_at(r, i);
    schedrt_worker_snap *w = &s->workers[i];
    struct worker_extra x = {0};
    memset(w, 0, sizeof(*w));
    w->index = i;
    if (!read_worker(sl, r->slot_stride, attempts, w, &x, &retries)) {
      memset(w, 0, sizeof(*w));
      w->index = i;
      w->torn = 1;
      s->ntorn++;
      attempts = attempts < SCHEDRT_SEQ_SPINS ? attempts : SCHEDRT_SEQ_SPINS;
      continue;
    }
    w->since_resolution_ns = period_ns;
    current_poll(sl, attempts, w, &x, timing, &retries);
    w->active_since_ns = x.active_since;
    w->busy_ns_live = w->busy_ns;
    if (x.active_since != 0 && s->writer_now_ns > x.active_since)
      w->busy_ns_live += s->writer_now_ns - x.active_since;
    /* Relaxed: written once by the worker, an independent value. */
    w->os_tid = atomic_load_explicit((_Atomic uint64_t *)&sl->os_tid, memory_order_relaxed);
  }
  for (uint32_t i = s->nworkers; i < s->max_workers; i++) {
    memset(&s->workers[i], 0, sizeof(s->workers[i]));
    s->workers[i].index = i;
  }
  if (a->flags & SCHEDRT_SNAP_HISTOGRAMS) {
    for (uint32_t i = 0; i < s->nworkers; i++)
      read_hist(r, i, s->hist + (size_t)i * SCHEDRT_M__HIST_COUNT * r->hist_buckets);
    s->hist_taken = 1;
  } else {
    s->hist_taken = 0;
  }
  a->retries = retries;
  return 0;
}

int schedrt_snapshot_take(schedrt_reader *r, unsigned flags, schedrt_snapshot *s) {
  if (!s->workers || s->max_workers != r->max_workers || s->hist_buckets != r->hist_buckets)
    return -EINVAL;
  /* The owner may have truncated the file since the last refresh: the size
   * first, then the copy under a SIGBUS guard for a truncation meanwhile. */
  int rc = schedrt__reader_check_size(r);
  if (rc)
    return rc;
  struct take_args a = {.r = r, .flags = flags, .s = s};
  rc = schedrt__reader_guarded(take_copy, &a);
  if (rc)
    return rc;
  s->retries = a.retries;
  if (s->ntorn)
    rc = SCHEDRT_ETORN;

  if (!(flags & SCHEDRT_SNAP_NO_LIVENESS) && !(r->flags & SCHEDRT_READER_NO_LIVENESS))
    r->proc_verdict = schedrt__reader_proc_liveness(r);
  s->liveness = schedrt__reader_judge(r, s->taken_mono_ns, s->seg_state, s->heartbeat_seq,
                                      s->heartbeat_mono_ns, &s->heartbeat_stalled_ns);
  return rc;
}

const uint64_t *schedrt_snapshot_hist(const schedrt_snapshot *s, uint32_t w, uint32_t hist) {
  if (!s->hist || !s->hist_taken || w >= s->nworkers || hist >= SCHEDRT_M__HIST_COUNT)
    return NULL;
  return s->hist + ((size_t)w * SCHEDRT_M__HIST_COUNT + hist) * s->hist_buckets;
}

int schedrt_snapshot_value(const schedrt_snapshot *s, int id, uint32_t worker, uint64_t *value) {
  if (id < 0 || id >= SCHEDRT_M__COUNT || !value)
    return -EINVAL;
  if (id >= SCHEDRT_M__GLOBAL_FIRST && id < SCHEDRT_M__HIST_FIRST) {
    if (s->global.torn)
      return -ENODATA;
    switch (id) {
#define SCHEDRT__CASE(mid, kind, off, type, unit, help, pub)                                                 \
  case SCHEDRT_M_##mid:                                                                                      \
    *value = s->global.mid;                                                                                  \
    return 0;
      SCHEDRT_GLOBAL_METRICS(SCHEDRT__CASE)
#undef SCHEDRT__CASE
    default:
      return -EINVAL;
    }
  }
  if (worker >= s->nworkers)
    return -EINVAL;
  const schedrt_worker_snap *w = &s->workers[worker];
  if (w->torn)
    return -ENODATA;
  if (id >= SCHEDRT_M__HIST_FIRST) {
    const uint64_t *b = schedrt_snapshot_hist(s, worker, (uint32_t)(id - SCHEDRT_M__HIST_FIRST));
    if (!b)
      return -ENODATA;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < s->hist_buckets; i++)
      sum += b[i];
    *value = sum;
    return 0;
  }
  switch (id) {
#define SCHEDRT__CASE(mid, kind, off, type, unit, help, pub)                                                 \
  case SCHEDRT_M_##mid:                                                                                      \
    *value = w->mid;                                                                                         \
    return 0;
    SCHEDRT_WSLOT_METRICS(SCHEDRT__CASE)
#undef SCHEDRT__CASE
  default:
    return -EINVAL;
  }
}

int schedrt_snapshot_raw(const schedrt_reader *r, size_t desc_index, uint32_t worker, uint32_t bucket,
                         uint64_t *value) {
  if (desc_index >= r->ndesc || !value)
    return -EINVAL;
  const schedrt_reader_desc *d = &r->descs[desc_index];
  uint64_t off;
  if (d->region == SCHEDRT_REGION_GLOBAL) {
    off = (uint64_t)r->global_off + d->offset;
  } else {
    if (worker >= r->max_workers)
      return -EINVAL;
    if (d->region == SCHEDRT_REGION_WSLOT) {
      off = (uint64_t)r->slot_off + (uint64_t)worker * r->slot_stride + d->offset;
    } else {
      if (bucket >= d->count)
        return -EINVAL;
      off = (uint64_t)r->hist_off + (uint64_t)worker * r->hist_stride + d->offset + (uint64_t)bucket * 8u;
    }
  }
  /* Validated at open: off + width lies inside the mapping and is width-aligned.
   * The file may have shrunk since: one fstat, as every refresh. (A truncation
   * between the two is the owner's race against itself; snapshots guard it.) */
  if (schedrt__reader_check_size(r))
    return SCHEDRT_ECHANGED;
  /* Relaxed: a single value, not consistent with anything else. */
  if (d->width == 4)
    *value =
        atomic_load_explicit((_Atomic uint32_t *)(void *)(uintptr_t)(r->base + off), memory_order_relaxed);
  else
    *value =
        atomic_load_explicit((_Atomic uint64_t *)(void *)(uintptr_t)(r->base + off), memory_order_relaxed);
  return 0;
}
