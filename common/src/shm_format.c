/* Laying out and initialising a fresh metrics segment (the writer's side). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "schedrt/shm_util.h"

int schedrt_shm_geometry(uint32_t max_workers, uint32_t site_cap, uint32_t page_size,
                         struct schedrt_shm_geometry *g) {
  return schedrt_shm_geometry_ev(max_workers, site_cap, 0, page_size, g);
}

int schedrt_shm_geometry_ev(uint32_t max_workers, uint32_t site_cap, uint32_t ev_cap, uint32_t page_size,
                            struct schedrt_shm_geometry *g) {
  if (max_workers == 0 || max_workers > SCHEDRT_SHM_MAX_WORKERS || site_cap == 0 ||
      site_cap > SCHEDRT_SHM_MAX_SITES || page_size < 4096u || (page_size & (page_size - 1u)) != 0)
    return -EINVAL;
  if (ev_cap && (ev_cap < SCHEDRT_SHM_EV_MIN || ev_cap > SCHEDRT_SHM_EV_MAX || (ev_cap & (ev_cap - 1u))))
    return -EINVAL;
  g->bounds_off = SCHEDRT_SHM_BOUNDS_OFF;
  g->desc_count = SCHEDRT_M__COUNT;
  g->desc_off = schedrt_shm_align_up(g->bounds_off + SCHEDRT_HIST_BUCKETS * 8u, SCHEDRT_SHM_ALIGN);
  g->slot_off = schedrt_shm_align_up(g->desc_off + g->desc_count * SCHEDRT_SHM_DESC_SIZE, SCHEDRT_SHM_ALIGN);
  g->hist_off = g->slot_off + max_workers * SCHEDRT_SHM_SLOT_STRIDE;
  g->hist_size = max_workers * SCHEDRT_SHM_HIST_STRIDE;
  /* 64-bit sums: the limits above keep every value below 2^32, which the
   * size check then confirms for the region. */
  uint64_t desc_off = SCHEDRT_SHM_ALIGN;
  uint64_t ctr_off = desc_off + (uint64_t)site_cap * SCHEDRT_SHM_SITE_DESC_SIZE;
  uint64_t stride = schedrt_shm_align_up(site_cap * SCHEDRT_SHM_SITE_CTR_SIZE, SCHEDRT_SHM_ALIGN);
  uint64_t sites_size = ctr_off + (max_workers + 1ull) * stride;
  uint64_t sites_off = g->hist_off + (uint64_t)g->hist_size;
  /* The event rings follow the sites (sites_size is a multiple of 128). */
  uint64_t ring_stride =
      ev_cap ? schedrt_shm_align_up(SCHEDRT_SHM_EV_RING_HDR_SIZE + ev_cap * SCHEDRT_SHM_EV_REC_SIZE,
                                    SCHEDRT_SHM_ALIGN)
             : 0;
  uint64_t events_off = ev_cap ? sites_off + sites_size : 0;
  uint64_t events_size = ev_cap ? SCHEDRT_SHM_EVENTS_HDR_SIZE + (max_workers + 1ull) * ring_stride : 0;
  uint64_t end = ev_cap ? events_off + events_size : sites_off + sites_size;
  /* The control page stands alone so an inspector can map just it writable. */
  uint64_t ctl_off = (end + page_size - 1u) / page_size * page_size;
  if (ctl_off + page_size > SCHEDRT_SHM_MAX_SIZE)
    return -E2BIG;
  g->site_cap = site_cap;
  g->site_desc_off = (uint32_t)desc_off;
  g->site_ctr_off = (uint32_t)ctr_off;
  g->site_block_stride = (uint32_t)stride;
  g->sites_off = (uint32_t)sites_off;
  g->sites_size = (uint32_t)sites_size;
  g->events_off = (uint32_t)events_off;
  g->events_size = (uint32_t)events_size;
  g->ev_cap = ev_cap;
  g->ev_ring_stride = (uint32_t)ring_stride;
  g->ctl_off = (uint32_t)ctl_off;
  g->ctl_size = page_size;
  g->total_size = ctl_off + page_size;
  return 0;
}

/* Copies s into a fixed field, NUL-padded; truncates, keeps a final NUL if it fits. */
static void put_str(char *dst, size_t size, const char *s, bool keep_nul) {
  size_t n = s ? strlen(s) : 0;
  size_t max = keep_nul ? size - 1 : size;
  if (n > max)
    n = max;
  memset(dst, 0, size);
  if (n)
    memcpy(dst, s, n);
}

void schedrt__shm_format(void *base, const struct schedrt_shm_geometry *g,
                         const struct schedrt__shm_params *p) {
  struct schedrt_shm_header *h = base;
  unsigned char *b = base;
  /* The header is written before READY and never again (except the
   * atomics), so plain stores are fine: READY's release store publishes them. */
  memcpy(h->magic, SCHEDRT_SHM_MAGIC, sizeof(h->magic));
  h->byte_order = SCHEDRT_SHM_BYTE_ORDER;
  h->layout_major = SCHEDRT_SHM_MAJOR;
  h->layout_minor = SCHEDRT_SHM_MINOR;
  h->header_size = SCHEDRT_SHM_HEADER_SIZE;
  h->page_size = p->page_size;
  h->total_size = g->total_size;
  h->slot_off = g->slot_off;
  h->slot_stride = SCHEDRT_SHM_SLOT_STRIDE;
  h->max_workers = p->max_workers;
  h->global_off = SCHEDRT_SHM_GLOBAL_OFF;
  h->global_size = SCHEDRT_SHM_GLOBAL_SIZE;
  h->hist_off = g->hist_off;
  h->hist_size = g->hist_size;
  h->ctl_off = g->ctl_off;
  h->ctl_size = g->ctl_size;
  h->desc_off = g->desc_off;
  h->desc_count = g->desc_count;
  h->features = p->features | SCHEDRT_SHM_F_METRICS;
  h->pid = p->pid;
  h->uid = p->uid;
  h->starttime = p->starttime;
  schedrt__boot_id(h->boot_id);
  if (getrandom(h->instance_id, sizeof(h->instance_id), GRND_NONBLOCK) != (ssize_t)sizeof(h->instance_id)) {
    /* No entropy yet (early boot): pid and time still tell two segments apart. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t a = ((uint64_t)p->pid << 32) ^ p->runtime_index,
             c = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    memcpy(h->instance_id, &a, 8);
    memcpy(h->instance_id + 8, &c, 8);
  }
  h->heartbeat_period_ms = p->heartbeat_period_ms;
  h->desc_size = SCHEDRT_SHM_DESC_SIZE;
  h->runtime_index = p->runtime_index;
  put_str(h->runtime_version, sizeof(h->runtime_version), p->runtime_version, true);
  put_str(h->comm, sizeof(h->comm), p->comm, false);
  put_str(h->runtime_name, sizeof(h->runtime_name), p->runtime_name, true);
  /* A longer path cannot be found from a truncated one: published empty. */
  if (p->saved_dir && strlen(p->saved_dir) < sizeof(h->saved_dir))
    put_str(h->saved_dir, sizeof(h->saved_dir), p->saved_dir, true);
  h->hist_buckets = SCHEDRT_HIST_BUCKETS;
  h->hist_per_worker = SCHEDRT_M__HIST_COUNT;
  h->hist_bounds_off = g->bounds_off;
  h->hist_stride = SCHEDRT_SHM_HIST_STRIDE;
  h->hist_spacing = SCHEDRT_SHM_HIST_SPACING;
  h->local_queue_cap = p->local_queue_cap;
  h->maintenance_interval = p->maintenance_interval;
  h->long_poll_ms = p->long_poll_ms;
  h->long_poll_watch_us = p->long_poll_watch_us;
  h->sites_off = g->sites_off;
  h->sites_size = g->sites_size;
  h->events_off = g->events_off;
  h->events_size = g->events_size;
  if (g->ev_cap) {
    /* The region's header (the mapping is zero-filled: the rings are empty,
     * every stamp 0). The clock and its calibration are the runtime's. */
    struct schedrt_shm_events *e = (struct schedrt_shm_events *)(void *)(b + g->events_off);
    e->nrings = p->max_workers + 1u;
    e->ring_cap = g->ev_cap;
    e->rec_size = SCHEDRT_SHM_EV_REC_SIZE;
    e->ring_off = SCHEDRT_SHM_EVENTS_HDR_SIZE;
    e->ring_stride = g->ev_ring_stride;
    e->nkinds = SCHEDRT_EV__COUNT;
  }

  uint64_t *bounds = (uint64_t *)(void *)(b + g->bounds_off);
  for (uint32_t i = 0; i < SCHEDRT_HIST_BUCKETS; i++)
    bounds[i] = schedrt_hist_upper(i);

  struct schedrt_shm_desc *d = (struct schedrt_shm_desc *)(void *)(b + g->desc_off);
  for (uint32_t i = 0; i < SCHEDRT_M__COUNT; i++) {
    const struct schedrt__metric_def *m = &schedrt__metric_defs[i];
    put_str(d[i].name, sizeof(d[i].name), m->pub.name, true);
    put_str(d[i].unit, sizeof(d[i].unit), m->pub.unit, true);
    put_str(d[i].help, sizeof(d[i].help), m->pub.help, true);
    d[i].kind = (uint16_t)m->pub.kind;
    d[i].scope = (uint16_t)m->pub.scope;
    d[i].region = m->region;
    d[i].width = m->width;
    d[i].offset = m->offset;
    d[i].count = m->count;
  }

  struct schedrt_shm_sites *sh = (struct schedrt_shm_sites *)(void *)(b + g->sites_off);
  sh->site_cap = g->site_cap;
  sh->desc_off = g->site_desc_off;
  sh->desc_size = SCHEDRT_SHM_SITE_DESC_SIZE;
  sh->ctr_off = g->site_ctr_off;
  sh->ctr_size = SCHEDRT_SHM_SITE_CTR_SIZE;
  sh->block_stride = g->site_block_stride;
  sh->nblocks = p->max_workers + 1u;
  sh->ctr_count = SCHEDRT_SITE__COUNTERS;
  /* The overflow row is the last descriptor, there from the start. */
  struct schedrt_shm_site_desc *over =
      (struct schedrt_shm_site_desc *)(void *)(b + g->sites_off + g->site_desc_off +
                                               (size_t)(g->site_cap - 1u) * SCHEDRT_SHM_SITE_DESC_SIZE);
  atomic_store_explicit(&over->flags, SCHEDRT_SHM_SITE_F_OVERFLOW, memory_order_relaxed);
}

void schedrt__shm_publish_ready(void *base) {
  struct schedrt_shm_header *h = base;
  /* Release: a reader that acquires READY sees the whole header, bounds and descriptors. */
  atomic_store_explicit(&h->state, SCHEDRT_SHM_STATE_READY, memory_order_release);
}
