/*
 * The spawn-site table: each site (file, line, function) interned on its
 * first spawn into the segment's bounded sites region (shm_layout.h), with
 * an overflow row once it is full, so memory never grows with the program's
 * sites. The counting itself is in metrics_hooks.h.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint32_t schedrt__sites_wanted(void) {
  /* A table is a diagnostic, never a reason to fail: a bad value is ignored. */
  uint32_t v = schedrt__env_u32("SCHEDRT_SPAWN_SITES", 2, SCHEDRT_SHM_MAX_SITES);
  return v ? v : SCHEDRT_SHM_SITES_DEFAULT;
}

static struct schedrt_shm_site_desc *site_desc(struct schedrt__sites *st, uint32_t i) {
  return (struct schedrt_shm_site_desc *)(void *)(st->region + st->hdr->desc_off +
                                                  (size_t)i * SCHEDRT_SHM_SITE_DESC_SIZE);
}

static void no_table(schedrt_runtime *rt) {
  struct schedrt__sites *st = &rt->metrics.sites;
  st->cap = 1;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__wmetrics *m = &rt->workers[i].m;
    memset(m->site_scratch, 0, sizeof(m->site_scratch));
    m->site_ctr = m->site_scratch;
    m->site_polls = m->site_ctr + SCHEDRT__SITE_WORD(polls);
    m->site_file = NULL;
    m->site_line = 0;
    m->site_off = 0;
  }
}

void schedrt__sites_init(schedrt_runtime *rt, unsigned char *base) {
  struct schedrt__sites *st = &rt->metrics.sites;
  const struct schedrt_shm_geometry *g = &rt->metrics.geo;
  memset(st, 0, sizeof(*st));
  no_table(rt);
  if (!base)
    return;
  st->region = base + g->sites_off;
  st->hdr = (struct schedrt_shm_sites *)(void *)st->region;
  st->cap = g->site_cap;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__wmetrics *m = &rt->workers[i].m;
    m->site_ctr =
        (_Atomic uint64_t *)(void *)(st->region + g->site_ctr_off + (size_t)i * g->site_block_stride);
    m->site_polls = m->site_ctr + SCHEDRT__SITE_WORD(polls);
    /* The empty cache entry (no file, line 0) is what the table answers for
     * it: the overflow row. */
    m->site_off = (st->cap - 1u) * SCHEDRT_SHM_SITE_CTR_SIZE;
  }
  st->foreign = (_Atomic uint64_t *)(void *)(st->region + g->site_ctr_off +
                                             (size_t)rt->nworkers * g->site_block_stride);
  /* Four keys per site, at most three quarters used: short probes, and room
   * for a site's other copies of its file string. */
  uint32_t nkeys = 8;
  while (nkeys < 4u * st->cap)
    nkeys *= 2;
  st->keys = calloc(nkeys, sizeof(*st->keys));
  st->recs = calloc(st->cap, sizeof(*st->recs));
  if (!st->keys || !st->recs || pthread_mutex_init(&st->lock, NULL) != 0) {
    /* Counted, all of them, in the overflow row. */
    free(st->keys);
    free(st->recs);
    st->keys = NULL;
    st->recs = NULL;
    return;
  }
  st->lock_ready = true;
  st->nkeys = nkeys;
}

void schedrt__sites_fini(schedrt_runtime *rt) {
  struct schedrt__sites *st = &rt->metrics.sites;
  if (st->lock_ready)
    pthread_mutex_destroy(&st->lock);
  free(st->keys);
  free(st->recs);
  memset(st, 0, sizeof(*st));
  no_table(rt);
}

static uint32_t key_hash(const char *file, int line) {
  uint64_t h = ((uint64_t)(uintptr_t)file ^ ((uint64_t)(uint32_t)line << 40)) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32);
}

/* The key's site, or UINT32_MAX with *empty at the first free key on its path. */
static uint32_t probe(struct schedrt__sites *st, const char *file, int line, uint32_t *empty) {
  uint32_t mask = st->nkeys - 1u, h = key_hash(file, line) & mask;
  for (uint32_t n = 0; n < st->nkeys; n++, h = (h + 1u) & mask) {
    struct schedrt__site_key *k = &st->keys[h];
    /* Acquire: pairs with the release store that published the key, so its
     * line and idx are the ones written before it. */
    const char *f = atomic_load_explicit(&k->file, memory_order_acquire);
    if (!f) {
      *empty = h;
      return UINT32_MAX;
    }
    if (f == file && k->line == line)
      return k->idx;
  }
  *empty = UINT32_MAX;
  return UINT32_MAX;
}

/* Under the lock: the site with these strings, or a new one (the overflow row when full). */
static uint32_t site_for(struct schedrt__sites *st, const char *file, int line, const char *func,
                         const char *name) {
  for (uint32_t i = 0; i < st->count; i++) {
    const struct schedrt__site_rec *r = &st->recs[i];
    if (r->line == line && strcmp(r->file, file) == 0 && strcmp(r->func, func) == 0)
      return i;
  }
  if (st->count + 1u >= st->cap)
    return st->cap - 1u;
  uint32_t i = st->count++;
  st->recs[i] = (struct schedrt__site_rec){file, func, line};
  struct schedrt_shm_site_desc *d = site_desc(st, i);
  uint64_t words[SCHEDRT_SHM_SITE_FILE_LEN / 8u];
  /* Relaxed: the count's release store below publishes the descriptor. */
  atomic_store_explicit(&d->line, line > 0 ? (uint32_t)line : 0u, memory_order_relaxed);
  schedrt__m_str_words(words, SCHEDRT_SHM_SITE_FUNC_LEN, func, false);
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_FUNC_LEN / 8u; k++)
    atomic_store_explicit(&d->func[k], words[k], memory_order_relaxed);
  schedrt__m_str_words(words, SCHEDRT_SHM_SITE_FILE_LEN, file, true);
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_FILE_LEN / 8u; k++)
    atomic_store_explicit(&d->file[k], words[k], memory_order_relaxed);
  schedrt__m_str_words(words, SCHEDRT_SHM_SITE_NAME_LEN, name, false);
  for (uint32_t k = 0; k < SCHEDRT_SHM_SITE_NAME_LEN / 8u; k++)
    atomic_store_explicit(&d->name[k], words[k], memory_order_relaxed);
  atomic_store_explicit(&st->hdr->count, st->count, memory_order_release);
  return i;
}

uint32_t schedrt__m_site_slow(schedrt_runtime *rt, schedrt_worker *w, const char *file, int line,
                              const char *func, const char *name) {
  struct schedrt__sites *st = &rt->metrics.sites;
  uint32_t idx = st->cap - 1u, empty = UINT32_MAX;
  if (!st->keys || !file)
    goto out;
  if ((idx = probe(st, file, line, &empty)) != UINT32_MAX)
    goto out;
  idx = st->cap - 1u;
  /* Relaxed: a hint; the keys are checked again under the lock. */
  if (atomic_load_explicit(&st->keys_full, memory_order_relaxed))
    goto out;
  pthread_mutex_lock(&st->lock);
  if ((idx = probe(st, file, line, &empty)) == UINT32_MAX) {
    idx = site_for(st, file, line, func ? func : "", name);
    if (empty != UINT32_MAX && st->keys_used + 1u <= st->nkeys / 4u * 3u) {
      struct schedrt__site_key *k = &st->keys[empty];
      k->line = line;
      k->idx = idx;
      st->keys_used++;
      /* Release: line and idx before the pointer that makes the key visible. */
      atomic_store_explicit(&k->file, file, memory_order_release);
    } else {
      atomic_store_explicit(&st->keys_full, 1u, memory_order_relaxed);
    }
  }
  pthread_mutex_unlock(&st->lock);
out:;
  /* What the hot paths use: the offset of the site's record in a block. */
  uint32_t off = idx * SCHEDRT_SHM_SITE_CTR_SIZE;
  if (w) {
    w->m.site_file = file;
    w->m.site_line = line;
    w->m.site_off = off;
  }
  return off;
}

uint64_t schedrt__m_worker_tasks(schedrt_runtime *rt, const schedrt_worker *w, bool ended) {
  const struct schedrt__sites *st = &rt->metrics.sites;
  if (!w->m.site_ctr || st->cap == 0)
    return 0; /* before metrics_start: nothing spawned yet */
  const size_t word = ended ? SCHEDRT__SITE_WORD(ended) : SCHEDRT__SITE_WORD(spawned);
  /* Acquire for ends: pairs with the release store of `ended`, so that the
   * spawns of the tasks counted here are seen by loads of `spawned` made
   * after it (schedrt__alive_tasks: never more ended than spawned). */
  const memory_order mo = ended ? memory_order_acquire : memory_order_relaxed;
  /* The sites in use: a site's counters move only after `count` covered it
   * (site_for publishes it before the site is returned to any spawner), so
   * the rest of the table is zero. Acquire: pairs with that release store. */
  uint32_t n = st->hdr ? atomic_load_explicit(&st->hdr->count, memory_order_acquire) : 0u;
  if (n > st->cap - 1u)
    n = st->cap - 1u;
  uint64_t sum = atomic_load_explicit(
      schedrt__m_site_at(w->m.site_ctr, (st->cap - 1u) * SCHEDRT_SHM_SITE_CTR_SIZE, word), mo);
  for (uint32_t i = 0; i < n; i++)
    sum += atomic_load_explicit(schedrt__m_site_at(w->m.site_ctr, i * SCHEDRT_SHM_SITE_CTR_SIZE, word), mo);
  return sum;
}
