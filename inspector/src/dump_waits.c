/* The waits-for graph of a dump (see dump_waits.h). */
#include "dump_waits.h"

#include <stdlib.h>

#include "util.h"

struct waits_id {
  uint64_t id;
  size_t index;
};

static int cmp_id(const void *pa, const void *pb) {
  const struct waits_id *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

int dump_waits_edge(const schedrt_dump_doc *d, size_t i, uint64_t *id) {
  const schedrt_dump_task *t = &d->tasks[i];
  /* 1.2: a mutex's owner, a semaphore's only holder: they must release before the waiter can go on. */
  bool waits = t->wait == SCHEDRT_DUMP_WAIT_JOIN || t->wait == SCHEDRT_DUMP_WAIT_MUTEX ||
               t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE;
  if (t->state != SCHEDRT_DUMP_STATE_IDLE || !waits || t->wait_for < 0)
    return 0;
  *id = (uint64_t)t->wait_for;
  return 1;
}

size_t dump_waits_find(const dump_waits *w, uint64_t id) {
  size_t lo = 0, hi = w->nids;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->ids[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < w->nids && w->ids[lo].id == id ? w->ids[lo].index : WAITS_NONE;
}

static void index_ids(const schedrt_dump_doc *d, dump_waits *w) {
  w->ids = xmalloc((d->ntasks ? d->ntasks : 1) * sizeof(*w->ids));
  for (size_t i = 0; i < d->ntasks; i++)
    w->ids[i] = (struct waits_id){d->tasks[i].id, i};
  if (d->ntasks > 1)
    qsort(w->ids, d->ntasks, sizeof(*w->ids), cmp_id);
  /* A repeated id keeps its first task only (sorted by index within an id). */
  size_t k = 0;
  for (size_t i = 0; i < d->ntasks; i++)
    if (k == 0 || w->ids[k - 1].id != w->ids[i].id)
      w->ids[k++] = w->ids[i];
  w->nids = k;
}

static int cmp_cycle(const void *pa, const void *pb, void *arg) {
  const schedrt_dump_doc *d = arg;
  const wait_cycle *a = pa, *b = pb;
  uint64_t x = d->tasks[a->members[0]].id, y = d->tasks[b->members[0]].id;
  if (x != y)
    return x < y ? -1 : 1;
  return a->members[0] < b->members[0] ? -1 : a->members[0] > b->members[0];
}

/* Starts the cycle at its member with the smallest id (then index), so that the same cycle always reads
 * the same. In place: reverse the two parts, then the whole (no second buffer). */
static void rotate_to_min(const schedrt_dump_doc *d, size_t *m, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    uint64_t a = d->tasks[m[i]].id, b = d->tasks[m[best]].id;
    if (a < b || (a == b && m[i] < m[best]))
      best = i;
  }
  if (best == 0)
    return;
  for (size_t lo = 0, hi = best - 1; lo < hi; lo++, hi--) {
    size_t t = m[lo];
    m[lo] = m[hi];
    m[hi] = t;
  }
  for (size_t lo = best, hi = n - 1; lo < hi; lo++, hi--) {
    size_t t = m[lo];
    m[lo] = m[hi];
    m[hi] = t;
  }
  for (size_t lo = 0, hi = n - 1; lo < hi; lo++, hi--) {
    size_t t = m[lo];
    m[lo] = m[hi];
    m[hi] = t;
  }
}

struct head_sort {
  const schedrt_dump_doc *d;
  const size_t *depth;
};

static int cmp_head(const void *pa, const void *pb, void *arg) {
  const struct head_sort *c = arg;
  size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  if (c->depth[a] != c->depth[b])
    return c->depth[a] > c->depth[b] ? -1 : 1;
  uint64_t x = c->d->tasks[a].id, y = c->d->tasks[b].id;
  if (x != y)
    return x < y ? -1 : 1;
  return a < b ? -1 : a > b;
}

/*
 * One iterative walk over the functional graph: from each task not seen yet,
 * follow the edges while they lead to unseen tasks, keeping the path. The
 * walk stops at no edge, at a task finished earlier (its depth is known), or
 * at a task on the path itself: then the path from that task on is a cycle.
 * Every task is pushed once, so the walk is O(n).
 */
static void walk(const schedrt_dump_doc *d, dump_waits *w) {
  size_t n = d->ntasks;
  unsigned char *seen = xcalloc(n ? n : 1, 1); /* 0 new, 1 on the path, 2 done */
  size_t *path = xmalloc((n ? n : 1) * sizeof(*path));
  size_t *pool = xmalloc((n ? n : 1) * sizeof(*pool)); /* the cycles' members: n at most in all */
  size_t used = 0, cap = 0;
  for (size_t start = 0; start < n; start++) {
    size_t len = 0, p = start;
    while (p != WAITS_NONE && seen[p] == 0) {
      seen[p] = 1;
      w->depth[p] = len; /* its place on the path, until it is done */
      path[len++] = p;
      p = w->next[p];
    }
    if (p != WAITS_NONE && seen[p] == 1) {
      size_t from = w->depth[p];
      if (w->ncycles == cap) {
        cap = cap ? cap * 2 : 8;
        w->cycles = xrealloc(w->cycles, cap * sizeof(*w->cycles));
      }
      wait_cycle *c = &w->cycles[w->ncycles++];
      c->members = pool + used;
      c->n = len - from;
      for (size_t k = from; k < len; k++) {
        pool[used++] = path[k];
        w->depth[path[k]] = 0;
        w->end[path[k]] = path[k];
        seen[path[k]] = 2;
      }
      rotate_to_min(d, c->members, c->n);
      len = from;
    }
    while (len > 0) {
      size_t q = path[--len], nx = w->next[q];
      uint64_t id;
      w->depth[q] = nx != WAITS_NONE ? w->depth[nx] + 1 : dump_waits_edge(d, q, &id) ? 1 : 0;
      /* Ends and cycle members are their own end: a chain stops at the first of either. */
      w->end[q] = nx != WAITS_NONE ? w->end[nx] : q;
      seen[q] = 2;
    }
  }
  free(seen);
  free(path);
  if (w->ncycles > 1)
    qsort_r(w->cycles, w->ncycles, sizeof(*w->cycles), cmp_cycle, (void *)d);
  for (size_t k = 0; k < w->ncycles; k++)
    for (size_t i = 0; i < w->cycles[k].n; i++)
      w->cycle_of[w->cycles[k].members[i]] = k + 1;
  w->pool = pool;
}

void dump_waits_build(const schedrt_dump_doc *d, dump_waits *w) {
  size_t n = d->ntasks, alloc = n ? n : 1;
  *w = (dump_waits){.ntasks = n};
  w->next = xmalloc(alloc * sizeof(*w->next));
  w->depth = xcalloc(alloc, sizeof(*w->depth));
  w->end = xmalloc(alloc * sizeof(*w->end));
  w->waited_by = xcalloc(alloc, sizeof(*w->waited_by));
  w->cycle_of = xcalloc(alloc, sizeof(*w->cycle_of));
  index_ids(d, w);
  for (size_t i = 0; i < n; i++) {
    uint64_t id;
    w->next[i] = dump_waits_edge(d, i, &id) ? dump_waits_find(w, id) : WAITS_NONE;
    if (w->next[i] != WAITS_NONE)
      w->waited_by[w->next[i]]++;
  }
  walk(d, w);
  w->heads = xmalloc(alloc * sizeof(*w->heads));
  for (size_t i = 0; i < n; i++)
    if (w->depth[i] > 0 && !w->cycle_of[i] && w->waited_by[i] == 0)
      w->heads[w->nheads++] = i;
  struct head_sort hs = {d, w->depth};
  if (w->nheads > 1)
    qsort_r(w->heads, w->nheads, sizeof(*w->heads), cmp_head, &hs);
}

void dump_waits_free(dump_waits *w) {
  free(w->next);
  free(w->depth);
  free(w->end);
  free(w->waited_by);
  free(w->cycle_of);
  free(w->cycles);
  free(w->pool);
  free(w->heads);
  free(w->ids);
  *w = (dump_waits){0};
}

wait_end dump_waits_chain_end(const schedrt_dump_doc *d, const dump_waits *w, size_t i, size_t *last) {
  uint64_t id;
  i = w->end[i];
  *last = i;
  if (w->cycle_of[i])
    return WAIT_END_CYCLE;
  return dump_waits_edge(d, i, &id) ? WAIT_END_MISSING : WAIT_END_TASK;
}
