/*
 * The metrics as the process itself reads them (<schedrt.h>: schedrt_metric_read,
 * schedrt_metric_histogram, schedrt_metrics_segment; their descriptions are
 * common/'s), and the poll a worker is in, for dumps. Reads only: lock-free,
 * bounded.
 */
#include <errno.h>

#include "internal.h"
#include "schedrt/proto/seqlock.h"
#include "schedrt/shm_util.h"

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
  schedrt_seq_reader rd;
  /* Spins only: a dump's leader calls this while the other workers wait. */
  SCHEDRT_SEQ_READ(&rd, &s->seq, SCHEDRT_SEQ_SPINS) {
    state = SCHEDRT_SEQ_LOAD((_Atomic uint32_t *)&s->state);
    polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->polls);
    ptask = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->poll_task);
    start = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->poll_start_ns);
  }
  if (!rd.ok || state != SCHEDRT_WSTATE_RUNNING)
    return -ENOENT;
  if (ptask != 0 && start != 0) {
    *task_id = ptask;
    *since_ns = start;
    *exact = true;
    return 0;
  }
  SCHEDRT_SEQ_READ(&rd, &s->mseq, SCHEDRT_SEQ_SPINS) {
    seen_polls = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_polls);
    seen_since = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->seen_since_ns);
    task = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)&s->current_task);
  }
  if (!rd.ok || task == 0 || seen_polls != polls)
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

SCHEDRT_API const char *schedrt_metrics_segment(const schedrt_runtime *rt) {
  return (rt && rt->metrics.published) ? rt->metrics.name : NULL;
}

/* A consistent copy of worker w's published half (in-process reader). */
static int read_slot(const struct schedrt_shm_wslot *s, struct schedrt_shm_wslot *out) {
  schedrt_seq_reader rd;
  SCHEDRT_SEQ_READ(&rd, &s->seq, SCHEDRT_SEQ_ATTEMPTS) {
#define SCHEDRT__LOAD(id, kind, off, type, unit, help, pub)                                                  \
  atomic_store_explicit(SCHEDRT_SHM_WSLOT_AT(out, off, type),                                                \
                        SCHEDRT_SEQ_LOAD(SCHEDRT_SHM_WSLOT_AT_CONST(s, off, type)), memory_order_relaxed);
    SCHEDRT_WSLOT_METRICS(SCHEDRT__LOAD)
#undef SCHEDRT__LOAD
  }
  return rd.ok ? 0 : SCHEDRT_ETORN;
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

uint64_t schedrt__metrics_tid(schedrt_runtime *rt, uint32_t worker) {
  /* Relaxed: written once by the worker, a value of its own. */
  return worker < rt->nworkers
             ? atomic_load_explicit(&rt->workers[worker].m.slot->os_tid, memory_order_relaxed)
             : 0;
}

int schedrt__metrics_hist(schedrt_runtime *rt, uint32_t worker, uint32_t hist, uint64_t *buckets) {
  if (worker >= rt->nworkers || hist >= SCHEDRT_M__HIST_COUNT)
    return -EINVAL;
  if (!rt->metrics.timing || !rt->workers[worker].m.hist)
    return -ENOENT;
  const _Atomic uint64_t *b = hist_block(rt, SCHEDRT_M__HIST_FIRST + hist, worker);
  if (!b)
    return -ENOENT;
  for (uint32_t i = 0; i < SCHEDRT_HIST_BUCKETS; i++)
    /* Relaxed: each bucket is an independent monotonic counter. */
    buckets[i] = atomic_load_explicit((_Atomic uint64_t *)&b[i], memory_order_relaxed);
  return 0;
}

SCHEDRT_API int schedrt_metric_read(schedrt_runtime *rt, size_t index, uint32_t worker, uint64_t *value) {
  if (!rt || !value || index >= SCHEDRT_M__COUNT)
    return -EINVAL;
  const struct schedrt__metric_def *d = &schedrt__metric_defs[index];
  if (d->pub.scope == SCHEDRT_SCOPE_WORKER && worker >= rt->nworkers)
    return -EINVAL;
  /* The global area and the queues' gauges are read live, from the sources
   * the writers publish (metrics.h), as Tokio reads worker_local_queue_depth,
   * global_queue_depth and num_alive_tasks. */
  switch (index) {
#define SCHEDRT__G_CASE(id, kind, off, type, unit, help, pub)                                                \
  case SCHEDRT_M_##id:                                                                                       \
    *value = SCHEDRT__GSRC_##id(rt);                                                                         \
    return 0;
    SCHEDRT_GLOBAL_METRICS(SCHEDRT__G_CASE)
#undef SCHEDRT__G_CASE
  case SCHEDRT_M_local_queue_depth:
    *value = SCHEDRT__WSRC_local_queue_depth(&rt->workers[worker]);
    return 0;
  case SCHEDRT_M_lifo:
    *value = SCHEDRT__WSRC_lifo(&rt->workers[worker]);
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
