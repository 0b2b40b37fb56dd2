/* The spawn-site region of a layout 2.5 segment (shm_layout.h): validation and reading. */
#include <errno.h>
#include <stddef.h>

#include "reader_internal.h"

int schedrt__reader_sites_open(struct schedrt_reader *r, const struct schedrt_shm_header *h,
                               uint32_t header_size) {
  r->site_cap = 0;
  /* Older writers: the fields were reserved, zero. */
  if (header_size < offsetof(struct schedrt_shm_header, sites_size) + 4u || h->sites_off == 0)
    return 0;
  uint32_t off = h->sites_off, size = h->sites_size;
  if (off % 8 != 0 || off < header_size || size < SCHEDRT_SHM_SITES_HDR_SIZE ||
      !schedrt__reader_fits(off, 1, size, r->total_size))
    return SCHEDRT_ECORRUPT;
  /* Written before READY and never again (count aside): plain reads, once. */
  const struct schedrt_shm_sites *sh = (const struct schedrt_shm_sites *)(const void *)(r->base + off);
  uint32_t cap = sh->site_cap, desc_off = sh->desc_off, desc_size = sh->desc_size;
  uint32_t ctr_off = sh->ctr_off, ctr_size = sh->ctr_size, stride = sh->block_stride;
  uint32_t nblocks = sh->nblocks, nctr = sh->ctr_count;
  if (cap == 0 || cap > SCHEDRT_SHM_MAX_SITES || desc_size < SCHEDRT_SHM_SITE_DESC_SIZE ||
      desc_size % 8 != 0 || desc_off % 8 != 0 || desc_off < SCHEDRT_SHM_SITES_HDR_SIZE ||
      !schedrt__reader_fits(desc_off, cap, desc_size, size) || ctr_size == 0 || ctr_size % 8 != 0 ||
      nctr > ctr_size / 8u || ctr_off % 8 != 0 || ctr_off < SCHEDRT_SHM_SITES_HDR_SIZE || stride % 8 != 0 ||
      (uint64_t)cap * ctr_size > stride || nblocks == 0 || nblocks > r->max_workers + 1u ||
      !schedrt__reader_fits(ctr_off, nblocks, stride, size))
    return SCHEDRT_ECORRUPT;
  r->sites_off = off;
  r->site_cap = cap;
  r->site_desc_off = off + desc_off;
  r->site_desc_size = desc_size;
  r->site_ctr_off = off + ctr_off;
  r->site_ctr_size = ctr_size;
  r->site_block_stride = stride;
  r->site_nblocks = nblocks;
  /* Counters this build knows and the writer keeps. */
  r->site_ctr_count = nctr < SCHEDRT_SITE__COUNTERS ? nctr : SCHEDRT_SITE__COUNTERS;
  return 0;
}

uint32_t schedrt_reader_site_cap(const schedrt_reader *r) { return r ? r->site_cap : 0; }

struct sites_args {
  const struct schedrt_reader *r;
  schedrt_site_snap *out;
  uint32_t cap, n;
};

static void read_desc(const struct schedrt_reader *r, uint32_t i, schedrt_site_snap *o) {
  const struct schedrt_shm_site_desc *d =
      (const struct schedrt_shm_site_desc *)(const void *)(r->base + r->site_desc_off +
                                                           (size_t)i * r->site_desc_size);
  uint64_t w[SCHEDRT_SHM_SITE_FILE_LEN / 8u];
  /* Relaxed: the count's acquire load ordered these after their stores. */
  o->line = atomic_load_explicit((_Atomic uint32_t *)&d->line, memory_order_relaxed);
  o->overflow = (atomic_load_explicit((_Atomic uint32_t *)&d->flags, memory_order_relaxed) &
                 SCHEDRT_SHM_SITE_F_OVERFLOW) != 0;
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_FUNC_LEN / 8u; k++)
    w[k] = atomic_load_explicit((_Atomic uint64_t *)&d->func[k], memory_order_relaxed);
  schedrt__reader_words_str(o->func, w, SCHEDRT_SHM_SITE_FUNC_LEN);
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_FILE_LEN / 8u; k++)
    w[k] = atomic_load_explicit((_Atomic uint64_t *)&d->file[k], memory_order_relaxed);
  schedrt__reader_words_str(o->file, w, SCHEDRT_SHM_SITE_FILE_LEN);
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_NAME_LEN / 8u; k++)
    w[k] = atomic_load_explicit((_Atomic uint64_t *)&d->name[k], memory_order_relaxed);
  schedrt__reader_words_str(o->name, w, SCHEDRT_SHM_SITE_NAME_LEN);
}

/* Counter `word` of site i summed over the blocks. */
static uint64_t sum(const struct schedrt_reader *r, uint32_t i, size_t word, memory_order mo) {
  uint64_t v = 0;
  for (uint32_t b = 0; b < r->site_nblocks; b++) {
    const unsigned char *p = r->base + r->site_ctr_off + (size_t)b * r->site_block_stride +
                             (size_t)i * r->site_ctr_size + word * 8u;
    v += atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, mo);
  }
  return v;
}

static void read_counters(const struct schedrt_reader *r, uint32_t i, schedrt_site_snap *o) {
  const size_t ended = offsetof(struct schedrt_shm_site_ctr, ended) / 8u;
  /* The ends first, with acquire (shm_layout.h): every task counted ended
   * is then counted spawned. Counters the writer does not keep stay 0. */
  o->ended = ended < r->site_ctr_count ? sum(r, i, ended, memory_order_acquire) : 0;
#define READ_ONE(id, kind, off, unit, help, timing)                                                          \
  if ((off) / 8u != ended)                                                                                   \
    o->id = (off) / 8u < r->site_ctr_count ? sum(r, i, (off) / 8u, memory_order_relaxed) : 0;
  SCHEDRT_SITE_COUNTERS(READ_ONE)
#undef READ_ONE
  o->alive = o->spawned > o->ended ? o->spawned - o->ended : 0;
}

/* Everything that touches the mapping, under schedrt__reader_guarded. */
static int copy_sites(void *arg) {
  struct sites_args *a = arg;
  const struct schedrt_reader *r = a->r;
  const struct schedrt_shm_sites *sh =
      (const struct schedrt_shm_sites *)(const void *)(r->base + r->sites_off);
  /* Acquire: pairs with the runtime's release store after it wrote the
   * descriptors the count covers. The overflow row is never counted. */
  uint32_t count = atomic_load_explicit((_Atomic uint32_t *)&sh->count, memory_order_acquire);
  if (count > r->site_cap - 1u)
    count = r->site_cap - 1u;
  a->n = 0;
  for (uint32_t i = 0; i < count && a->n < a->cap; i++) {
    schedrt_site_snap *o = &a->out[a->n++];
    o->index = i;
    read_desc(r, i, o);
    o->overflow = 0;
    read_counters(r, i, o);
  }
  if (a->n < a->cap) {
    schedrt_site_snap *o = &a->out[a->n];
    o->index = r->site_cap - 1u;
    read_desc(r, o->index, o);
    o->overflow = 1;
    o->file[0] = o->func[0] = o->name[0] = '\0';
    o->line = 0;
    read_counters(r, o->index, o);
    if (o->spawned)
      a->n++;
  }
  return 0;
}

int schedrt_reader_sites(schedrt_reader *r, schedrt_site_snap *out, uint32_t cap, uint32_t *n) {
  if (!r || !n || (cap && !out))
    return -EINVAL;
  *n = 0;
  if (r->site_cap == 0)
    return -ENOENT;
  int rc = schedrt__reader_check_size(r);
  if (rc)
    return rc;
  struct sites_args a = {.r = r, .out = out, .cap = cap};
  rc = schedrt__reader_guarded(copy_sites, &a);
  if (rc)
    return rc;
  *n = a.n;
  return 0;
}
