/*
 * What the leader does while the covered workers are held: the pause. It
 * only copies; encoding and I/O come after the release.
 *
 * 1. Each covered worker's LIFO slot and ring are taken out into a private
 *    array (owner operations: the owner is held, and a missing worker that
 *    steals concurrently is handled by the ring's own protocol). Holding their
 *    scheduled references means none of them can be run and freed while we
 *    look, even by a worker that missed the barrier. The defer list is only
 *    read: nobody but its held owner ever touches it.
 * 2. The injection queue is read in place under its lock: while we hold it
 *    no task can leave it, which is what taking them out would buy, without
 *    re-inserting a million tasks at the front ahead of concurrent pushers.
 * 3. Every queued task goes into a map (pointer -> queue, position, id).
 * 4. The alive list is walked shard by shard under each shard's lock (the
 *    list's reference keeps each task alive): one record per task, its state
 *    from the state bits, its queue slot from the map when it is NOTIFIED.
 *    The id stored in the map guards against an address reused by a new task
 *    (possible only in a PARTIAL dump, where missing workers keep running).
 * 5. The ring and LIFO tasks go back, in their order, to the same worker.
 * Nothing is lost (every taken task is put back unconditionally, even when a
 * buffer could not grow) and nothing is duplicated (a task is recorded only
 * from the alive list, which holds each task once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dump.h"
#include "local_queue.h"
#include "sync_holds.h"
#include "sync_owner.h"

/* Records and map slots kept between dumps up to this size; beyond, freed. */
#define KEEP_BYTES (8u << 20)

static size_t pow2_at_least(size_t n) {
  size_t p = 64;
  while (p < n)
    p <<= 1;
  return p;
}

static size_t page_round(size_t bytes) { return (bytes + 4095u) & ~(size_t)4095u; }

/*
 * Zeroed memory with its pages already present, from mmap: a million
 * records is 100 MB, and faulting it in page by page inside the pause would
 * cost more than the copy. Transparent huge pages where allowed (tens of ms
 * per 100 MB either way, but outside the pause).
 */
static void *big_alloc(size_t bytes) {
  bytes = page_round(bytes);
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
    return p;
#endif
  for (size_t off = 0; off < bytes; off += 4096u)
    ((volatile char *)p)[off] = 0;
  return p;
}

static void big_free(void *p, size_t bytes) {
  if (p)
    munmap(p, page_round(bytes));
}

/* Grows inside the pause (the estimate was short): pages fault in as touched. */
static void *big_grow(void *p, size_t old_bytes, size_t new_bytes) {
  void *q = mremap(p, page_round(old_bytes), page_round(new_bytes), MREMAP_MAYMOVE);
  return q == MAP_FAILED ? NULL : q;
}

int schedrt__dsnap_prepare(struct schedrt__dround *r, size_t tasks, size_t queued) {
  size_t want = tasks + tasks / 8 + 256;
  if (r->cap < want) {
    big_free(r->recs, r->cap * sizeof(*r->recs));
    r->recs = big_alloc(want * sizeof(*r->recs));
    r->cap = r->recs ? want : 0;
    if (!r->recs)
      return -ENOMEM;
  }
  size_t mcap = pow2_at_least(2 * (queued + 64));
  if (r->map_cap < mcap) {
    big_free(r->map, r->map_cap * sizeof(*r->map));
    r->map = big_alloc(mcap * sizeof(*r->map));
    r->map_cap = r->map ? mcap : 0;
    if (!r->map)
      return -ENOMEM;
  } else {
    memset(r->map, 0, r->map_cap * sizeof(*r->map));
  }
  r->map_len = 0;
  r->nrecs = 0;
  return 0;
}

void schedrt__dsnap_trim(struct schedrt__dround *r, bool all) {
  if (all) {
    free(r->holders);
    r->holders = NULL;
    r->holders_cap = 0;
  }
  if (all || r->cap * sizeof(*r->recs) > KEEP_BYTES) {
    big_free(r->recs, r->cap * sizeof(*r->recs));
    r->recs = NULL;
    r->cap = 0;
  }
  if (all || r->map_cap * sizeof(*r->map) > KEEP_BYTES) {
    big_free(r->map, r->map_cap * sizeof(*r->map));
    r->map = NULL;
    r->map_cap = 0;
  }
}

static inline size_t slot_of(const void *p, size_t mask) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & mask;
}

static void map_insert(struct schedrt__dloc *m, size_t mask, const struct schedrt__dloc *e) {
  size_t i = slot_of(e->key, mask);
  while (m[i].key)
    i = (i + 1) & mask;
  m[i] = *e;
}

/* Doubles the map inside the pause: only when the estimate made before was short. */
static bool map_grow(struct schedrt__dround *r) {
  size_t cap = r->map_cap * 2;
  struct schedrt__dloc *m = big_alloc(cap * sizeof(*m));
  if (!m)
    return false;
  for (size_t i = 0; i < r->map_cap; i++)
    if (r->map[i].key)
      map_insert(m, cap - 1, &r->map[i]);
  big_free(r->map, r->map_cap * sizeof(*r->map));
  r->map = m;
  r->map_cap = cap;
  return true;
}

static bool map_put(struct schedrt__dround *r, const schedrt_task *t, uint8_t state, uint32_t worker,
                    uint64_t pos) {
  if ((r->map_len + 1) * 2 > r->map_cap && !map_grow(r))
    return false;
  struct schedrt__dloc e = {t, t->id, pos > UINT32_MAX ? UINT32_MAX : (uint32_t)pos, (uint16_t)worker, state};
  map_insert(r->map, r->map_cap - 1, &e);
  r->map_len++;
  return true;
}

static const struct schedrt__dloc *map_get(const struct schedrt__dround *r, const schedrt_task *t) {
  size_t mask = r->map_cap - 1;
  for (size_t i = slot_of(t, mask); r->map[i].key; i = (i + 1) & mask)
    if (r->map[i].key == t)
      return &r->map[i];
  return NULL;
}

static struct schedrt__drec *next_rec(struct schedrt__dround *r) {
  if (r->nrecs == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    struct schedrt__drec *p =
        r->recs ? big_grow(r->recs, r->cap * sizeof(*p), cap * sizeof(*p)) : big_alloc(cap * sizeof(*p));
    if (!p)
      return NULL;
    r->recs = p;
    r->cap = cap;
  }
  return &r->recs[r->nrecs++];
}

/* Step 1 and 3 for one covered worker. */
static bool take_worker(struct schedrt__dround *r, schedrt_worker *w) {
  uint32_t i = w->index;
  struct schedrt__dworker *dw = &r->workers[i];
  bool ok = true;
  /* Relaxed: the owner is held at the barrier, whose lock ordered its last
   * stores before us and orders ours before its next loads. */
  schedrt_task *t = atomic_exchange_explicit(&w->lifo, NULL, memory_order_relaxed);
  r->lifo[i] = t;
  dw->lifo = t != NULL;
  if (t)
    ok &= map_put(r, t, SCHEDRT_DUMP_STATE_LIFO, i, 0);
  schedrt_task **tk = r->taken + (size_t)i * SCHEDRT_LOCAL_QUEUE_CAP;
  uint32_t k = 0;
  while (k < SCHEDRT_LOCAL_QUEUE_CAP && (t = schedrt__lq_pop(&w->q))) {
    tk[k] = t;
    ok &= map_put(r, t, SCHEDRT_DUMP_STATE_LOCAL, i, k);
    k++;
  }
  r->ntaken[i] = k;
  dw->local_queue = k;
  uint32_t pos = 0;
  for (t = w->defer_head; t; t = t->qnext)
    ok &= map_put(r, t, SCHEDRT_DUMP_STATE_DEFERRED, i, pos++);
  dw->deferred = pos;
  return ok;
}

/* The side of the object whose recorded holders can wake a task of this wait (sync_holds.h). */
static bool held_side(uint8_t wait, enum schedrt__hold_side *side) {
  enum schedrt__hold_side x;
  switch (wait) {
  case SCHEDRT_DUMP_WAIT_NOTIFY:
    x = SCHEDRT_HOLD_NOTIFY;
    break;
  case SCHEDRT_DUMP_WAIT_ONESHOT:
    x = SCHEDRT_HOLD_ONESHOT;
    break;
  case SCHEDRT_DUMP_WAIT_CHANNEL_RECV:
    x = SCHEDRT_HOLD_SENDERS;
    break;
  case SCHEDRT_DUMP_WAIT_CHANNEL_SEND:
    x = SCHEDRT_HOLD_RECEIVER;
    break;
  default:
    return false;
  }
  if (side)
    *side = x;
  return true;
}

/* Step 5: same worker, same order, LIFO slot last (it was empty). */
static void put_back(struct schedrt__dround *r, schedrt_worker *w) {
  uint32_t i = w->index;
  schedrt_task **tk = r->taken + (size_t)i * SCHEDRT_LOCAL_QUEUE_CAP;
  for (uint32_t k = 0; k < r->ntaken[i]; k++)
    /* The ring had room for them a moment ago and only its held owner
     * pushes; with a thief mid-copy the task goes to the injection queue,
     * out of order but not lost. */
    (void)schedrt__lq_push_back_or_overflow(&w->q, tk[k], &w->rt->inject);
  if (r->lifo[i])
    /* Relaxed: published to the owner by the barrier's release. */
    atomic_store_explicit(&w->lifo, r->lifo[i], memory_order_relaxed);
  r->ntaken[i] = 0;
  r->lifo[i] = NULL;
}

static void fill(struct schedrt__dround *r, struct schedrt__drec *x, schedrt_task *t, uint32_t nworkers) {
  x->id = t->id;
  x->spawn_ns = t->spawn_ns;
  x->file = t->file;
  x->func = t->func;
  x->line = t->line;
  memcpy(x->name, t->name, sizeof(x->name));
  /*
   * Who can wake it, read around the state (all acquire). A waker gives up
   * its count after making the task NOTIFIED (release): the count read before
   * the state, if gone, means a state seen woken. A poll registers a waker
   * before it clears RUNNING (release): the count read after a state seen
   * idle holds it. Either read holding a waker or a timer is the truth for
   * the state seen, so an idle task with none in both truly has none.
   * The poll count brackets what it waits on: the next poll clears the kind
   * before it counts itself, and publishes the argument before the kind
   * (task.c, schedrt__task_waits_on), so a count that did not move means the
   * kind and the argument belong together.
   */
  uint64_t polls = atomic_load_explicit(&t->polls, memory_order_acquire);
  uint64_t refs = atomic_load_explicit(&t->refs, memory_order_acquire);
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  x->wait = (uint8_t)atomic_load_explicit(&t->wait_kind, memory_order_acquire);
  x->wait_arg = atomic_load_explicit(&t->wait_arg, memory_order_acquire);
  uint64_t refs2 = atomic_load_explicit(&t->refs, memory_order_acquire);
  x->polls = atomic_load_explicit(&t->polls, memory_order_acquire);
  if (x->polls != polls)
    x->wait = SCHEDRT_DUMP_WAIT_NONE; /* polled meanwhile: its next wait is not known yet */
  uint32_t w1 = schedrt__refs_wakers(refs), w2 = schedrt__refs_wakers(refs2);
  uint32_t t1 = schedrt__refs_timers(refs), t2 = schedrt__refs_timers(refs2);
  x->wakers = (uint16_t)(w1 > w2 ? w1 : w2);
  x->timers = (uint16_t)(t1 > t2 ? t1 : t2);
  /* Relaxed: each field is a value of its own; the dump is a picture of the
   * moment, not a transaction (and the shard lock keeps the task alive). */
  x->timer_deadline = atomic_load_explicit(&t->timer_deadline, memory_order_relaxed);
  x->since_ns = atomic_load_explicit(&t->since_ns, memory_order_relaxed);
  x->await = atomic_load_explicit(&t->await_site, memory_order_relaxed);
  x->worker = SCHEDRT__NO_WORKER;
  x->pos = 0;
  x->holders = 0;
  if (x->wait == SCHEDRT_DUMP_WAIT_MUTEX || x->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE ||
      held_side(x->wait, NULL))
    r->nlock_waits++;
  if (s & SCHEDRT_TS_COMPLETE) {
    x->state = SCHEDRT_DUMP_STATE_COMPLETING;
  } else if (s & SCHEDRT_TS_BLOCKING) {
    /* A pool thread's, never a worker's (blocking.c): since_ns is when it
     * was queued, then when it started. */
    x->state = (s & SCHEDRT_TS_RUNNING) ? SCHEDRT_DUMP_STATE_BLOCKING : SCHEDRT_DUMP_STATE_BLOCKING_QUEUED;
  } else if (s & SCHEDRT_TS_RUNNING) {
    x->state = SCHEDRT_DUMP_STATE_RUNNING;
    for (uint32_t i = 0; i < nworkers; i++) {
      struct schedrt__dworker *dw = &r->workers[i];
      if (dw->cur == t) {
        x->worker = (uint16_t)i;
        dw->has_current = true;
        dw->current_id = t->id;
        break;
      }
    }
  } else if (s & SCHEDRT_TS_NOTIFIED) {
    const struct schedrt__dloc *l = map_get(r, t);
    if (l && l->id == t->id) {
      x->state = l->state;
      x->worker = l->worker;
      x->pos = l->pos;
    } else {
      x->state = SCHEDRT_DUMP_STATE_SCHEDULED;
    }
  } else {
    x->state = SCHEDRT_DUMP_STATE_IDLE;
  }
}

/*
 * Step 4. The shards are walked side by side, one task of each in turn, so
 * the cache misses of different lists overlap instead of queueing behind one
 * another (a list is a chain of dependent loads); the next task's lines are
 * prefetched while the others are copied. Every shard lock is held for the
 * walk: workers are held anyway, and spawns from other threads wait for it.
 */
static bool walk_alive(struct schedrt__dround *r, schedrt_runtime *rt) {
  schedrt_task **cur = r->cursors;
  uint32_t active = 0;
  bool ok = true;
  for (uint32_t s = 0; s < rt->nshards; s++) {
    schedrt__owned_lock(&rt->shards[s]);
    if (rt->shards[s].head)
      cur[active++] = rt->shards[s].head;
  }
  while (active && ok) {
    for (uint32_t j = 0; j < active;) {
      schedrt_task *t = cur[j];
      struct schedrt__drec *x = next_rec(r);
      if (!x) {
        ok = false;
        break;
      }
      fill(r, x, t, rt->nworkers);
      schedrt_task *nx = t->next;
      if (nx) {
        __builtin_prefetch(nx);
        __builtin_prefetch((char *)nx + 64);
        __builtin_prefetch((char *)nx + 128);
        cur[j++] = nx;
      } else {
        cur[j] = cur[--active];
      }
    }
  }
  for (uint32_t s = 0; s < rt->nshards; s++)
    schedrt__owned_unlock(&rt->shards[s]);
  return ok;
}

/*
 * After the walk, still in the pause and under the registry lock taken
 * before it: for each task waiting on a mutex or a semaphore, who holds that
 * object; for one waiting on a notify, a oneshot or a channel, who holds the
 * side that can wake it (sync_holds.h), when anyone was ever recorded. Only
 * the registry knows whether the address a task recorded is still an object
 * (it may have been destroyed since), so it is looked up there, never
 * dereferenced; a mutex's holders are atomics that a thread which is not a
 * worker may change meanwhile, the handle holders change only under the lock.
 * One lookup per task: waiters of one object are few. Out of memory, a record
 * simply gets no holders (and no proof can go through it).
 */
static void find_holders(struct schedrt__dround *r, uint32_t tag, bool holds) {
  r->nholders = 0;
  /* Most dumps have no lock waiter: do not walk a million records for none. */
  if (r->nlock_waits == 0)
    return;
  for (size_t i = 0; i < r->nrecs; i++) {
    struct schedrt__drec *x = &r->recs[i];
    enum schedrt__hold_side side;
    bool lock = x->wait == SCHEDRT_DUMP_WAIT_MUTEX || x->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE;
    bool held = !lock && holds && held_side(x->wait, &side);
    if (!lock && !held)
      continue;
    if (r->nholders == r->holders_cap) {
      size_t cap = r->holders_cap ? r->holders_cap * 2 : 64;
      struct schedrt__dholders *h = realloc(r->holders, cap * sizeof(*h));
      if (!h)
        break;
      r->holders = h;
      r->holders_cap = cap;
    }
    const void *addr = (const void *)(uintptr_t)x->wait_arg;
    struct schedrt__owned_info info;
    if (lock ? !schedrt__owned_lookup_locked(addr, &info)
             : !schedrt__holds_lookup_locked(addr, side, tag, &info))
      continue;
    struct schedrt__dholders *h = &r->holders[r->nholders++];
    memcpy(h->packed, info.holders, sizeof(h->packed));
    h->n = info.n;
    h->more = info.more;
    x->holders = (uint32_t)r->nholders;
  }
}

void schedrt__dsnap_take(void *arg) {
  struct schedrt__dump *d = arg;
  schedrt_runtime *rt = d->rt;
  struct schedrt__dround *r = &d->round;
  const uint8_t *covered = d->bar.present;
  bool ok = true;
  r->copied = true;
  r->taken_ns = schedrt__now_ns();
  r->nlock_waits = 0;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__dworker *dw = &r->workers[i];
    memset(dw, 0, sizeof(*dw));
    /* Relaxed: compared with task pointers, never dereferenced. */
    dw->cur = atomic_load_explicit(&rt->workers[i].current, memory_order_relaxed);
    /* Here, not after the release: by then the held workers run again. */
    dw->wstate = covered[i] && r->woken[i] ? SCHEDRT_WSTATE_PARKED : schedrt__dseg_wstate(rt, i);
    r->ntaken[i] = 0;
    r->lifo[i] = NULL;
  }
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    schedrt_worker *w = &rt->workers[i];
    if (covered[i]) {
      ok &= take_worker(r, w);
    } else {
      /* A missing worker runs on: depths only, from its atomics. */
      r->workers[i].local_queue = schedrt__lq_len(&w->q);
      /* Relaxed: a gauge. */
      r->workers[i].lifo = atomic_load_explicit(&w->lifo, memory_order_relaxed) != NULL;
    }
  }

  uint64_t pos = 0;
  pthread_mutex_lock(&rt->inject.lock);
  for (schedrt_task *t = rt->inject.head; t; t = t->qnext)
    ok &= map_put(r, t, SCHEDRT_DUMP_STATE_INJECTION, SCHEDRT__NO_WORKER, pos++);
  pthread_mutex_unlock(&rt->inject.lock);
  r->inject_depth = pos;
  /* The pool runs on while the workers are held: gauges of the moment. */
  r->blocking_threads = schedrt__blocking_metric(rt, SCHEDRT_M_blocking_threads);
  r->blocking_idle = schedrt__blocking_metric(rt, SCHEDRT_M_blocking_idle_threads);
  r->blocking_queue = schedrt__blocking_metric(rt, SCHEDRT_M_blocking_queue_depth);
  r->blocking_max = rt->cfg.max_blocking_threads;

  /* Before the walk when any handle has holders: they change only under this
   * lock, so the holders read below and the alive tasks walked are one
   * moment's (a holder missing from the walk has finished: sync_holds.h).
   * Shard locks nest inside. Else only the lookups of lock holders take it. */
  bool holds = schedrt__holds_maybe_any();
  if (holds)
    schedrt__owned_lock_registry();
  ok &= walk_alive(r, rt);
  if (!holds)
    schedrt__owned_lock_registry();
  find_holders(r, rt->holds_tag, holds);
  schedrt__owned_unlock_registry();

  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (covered[i])
      put_back(r, &rt->workers[i]);
  r->copy_failed = !ok;
}
