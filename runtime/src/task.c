/*
 * Tasks: spawn, the state machine that makes waking exactly-once, wakers,
 * join handles, block_on and the alive-task list.
 *
 * References: the alive list holds one while the task is not complete; the
 * queue (then the poller) holds one while it is notified; each waker, timer
 * entry and the join handle hold one (wakers and timers also counted as
 * such: internal.h). The task is freed when the last one goes.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sync_holds.h"

/* ------------------------------------------------------------ references */

void schedrt__task_ref_as(schedrt_task *t, uint64_t kind) {
  /* Relaxed: taking a reference needs no ordering, only atomicity (as in
   * every refcount: the holder already has a reference). */
  atomic_fetch_add_explicit(&t->refs, SCHEDRT_REF_ONE | kind, memory_order_relaxed);
}

void schedrt__task_unref_as(schedrt_task *t, uint64_t kind) {
  /* AcqRel: every use of the task by other holders happens before the free.
   * (Release + an acquire fence would do, but TSan does not model fences,
   * and on x86 the locked decrement is a full barrier either way.) The
   * release also orders a waker's drop after what it did, for a dump that
   * reads the waker count before the state.
   * Every waker or timer is also counted in the low bits, so the whole word
   * is zero exactly when the count is (the wrap of a sub-count cancels out):
   * testing the whole word lets the compiler use the flags of the locked
   * subtraction instead of fetching the old value. An unref of the wrong
   * kind would leak the task rather than free it early; debug builds say so. */
  uint64_t prev = atomic_fetch_sub_explicit(&t->refs, SCHEDRT_REF_ONE | kind, memory_order_acq_rel);
  assert(schedrt__refs_count(prev) != 1 || prev == (SCHEDRT_REF_ONE | kind));
  if (prev == (SCHEDRT_REF_ONE | kind))
    schedrt__task_free(t);
}

/* ------------------------------------------------------------ alive list */

void schedrt__owned_lock(struct schedrt_owned_shard *s) {
  unsigned spins = 0;
  /* Acquire pairs with the unlock's release: the list is consistent. */
  while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire)) {
    while (atomic_load_explicit(&s->lock, memory_order_relaxed)) {
      if (++spins > 64)
        sched_yield();
      else
        schedrt__cpu_relax();
    }
  }
}

void schedrt__owned_unlock(struct schedrt_owned_shard *s) {
  atomic_store_explicit(&s->lock, 0, memory_order_release);
}

bool schedrt__owned_trylock(struct schedrt_owned_shard *s, unsigned spins) {
  for (unsigned i = 0; i < spins; i++) {
    /* Relaxed peek first, so a busy lock is not hammered with exchanges;
     * acquire on success, as in schedrt__owned_lock. */
    if (!atomic_load_explicit(&s->lock, memory_order_relaxed) &&
        !atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
      return true;
    schedrt__cpu_relax();
  }
  return false;
}

void schedrt__owned_insert(schedrt_runtime *rt, schedrt_task *t) {
  struct schedrt_owned_shard *s = &rt->shards[t->shard];
  schedrt__owned_lock(s);
  t->prev = NULL;
  t->next = s->head;
  if (s->head)
    s->head->prev = t;
  s->head = t;
  schedrt__owned_unlock(s);
}

void schedrt__owned_remove(schedrt_runtime *rt, schedrt_task *t) {
  struct schedrt_owned_shard *s = &rt->shards[t->shard];
  schedrt__owned_lock(s);
  if (t->prev)
    t->prev->next = t->next;
  else
    s->head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
  schedrt__owned_unlock(s);
}

/*
 * A pointer that may be stale (a worker's `current`: the poll ended, the task
 * was freed, its memory reused) is never dereferenced unless found by pointer
 * equality in a shard, under that shard's lock: a task stays in its shard
 * until it completes, removal takes the same lock, and the fields copied here
 * are written before the task is inserted. Never waits behind a long holder
 * (a dump walking the list): a shard that stays locked is skipped.
 * Cost: a walk of the alive list, one shard lock held at a time.
 */
int schedrt__task_find(schedrt_runtime *rt, uint32_t first_shard, const void *addr,
                       struct schedrt__task_ident *out) {
  int rc = 0;
  for (uint32_t k = 0; k < rt->nshards; k++) {
    struct schedrt_owned_shard *sh = &rt->shards[(first_shard + k) % rt->nshards];
    schedrt_task *t;
    if (!schedrt__owned_trylock(sh, 256)) {
      rc = -1;
      continue;
    }
    for (t = sh->head; t && (const void *)t != addr; t = t->next)
      ;
    if (t) {
      out->id = t->id;
      out->line = t->line;
      memcpy(out->name, t->name, sizeof(out->name));
      out->name[sizeof(out->name) - 1] = '\0';
      /* The path's tail: its end names the file. */
      size_t len = t->file ? strnlen(t->file, 4096) : 0;
      size_t keep = len < sizeof(out->file_tail) - 1 ? len : sizeof(out->file_tail) - 1;
      memcpy(out->file_tail, t->file ? t->file + len - keep : "", keep);
      out->file_tail[keep] = '\0';
    }
    schedrt__owned_unlock(sh);
    if (t)
      return 1;
  }
  return rc;
}

/*
 * A worker's spawned and completed tasks. With metrics compiled in, its
 * spawn-site counters count each of them already (SCHEDRT__M_COUNTS_TASKS,
 * metrics_hooks.h): the hot paths count once, and the totals are sums over
 * those counters. Compiled out, the worker counts in w->spawned and
 * w->completed.
 */
static uint64_t worker_tasks(schedrt_runtime *rt, schedrt_worker *w, bool completed) {
#if SCHEDRT__M_COUNTS_TASKS
  return schedrt__m_worker_tasks(rt, w, completed);
#else
  (void)rt;
  /* Acquire for completions: pairs with count_own's release store (see
   * schedrt__alive_tasks). */
  return completed ? atomic_load_explicit(&w->completed, memory_order_acquire)
                   : atomic_load_explicit(&w->spawned, memory_order_relaxed);
#endif
}

/* The worker's own count of a task spawned or completed (see worker_tasks). */
static inline void count_own(_Atomic uint64_t *c) {
#if SCHEDRT__M_COUNTS_TASKS
  (void)c;
#else
  /* Owner-only increment of a counter readers load concurrently: a load and
   * a release store, no RMW. */
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_release);
#endif
}

uint64_t schedrt__spawned_total(schedrt_runtime *rt) {
  uint64_t n = atomic_load_explicit(&rt->foreign_spawned, memory_order_relaxed);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    n += worker_tasks(rt, &rt->workers[i], false);
  return n;
}

uint64_t schedrt__alive_tasks(schedrt_runtime *rt) {
  /* Completions are read first: a task counted done is then surely counted
   * spawned, so the difference cannot go below zero by reordering. */
  uint64_t done = atomic_load_explicit(&rt->foreign_completed, memory_order_acquire);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    done += worker_tasks(rt, &rt->workers[i], true);
  uint64_t spawned = schedrt__spawned_total(rt);
  return spawned > done ? spawned - done : 0;
}

/* Inlined: the completing poll's path (task_run) is hot; out of line it cost
 * a call and the argument moves on every task end. */
static inline __attribute__((always_inline)) void count_completed(schedrt_runtime *rt,
                                                                  const schedrt_task *t) {
  schedrt_worker *w = schedrt__tls_worker;
  if (w && w->rt == rt) {
    count_own(&w->completed);
  } else {
    w = NULL;
    atomic_fetch_add_explicit(&rt->foreign_completed, 1, memory_order_release);
  }
  schedrt__m_site_ended(rt, w, t->site_off);
}

/*
 * Task times are shown in milliseconds: a worker's cache, or the coarse
 * clock. The cache is refreshed at maintenance and unpark, and after a poll
 * the monitor saw last a whole period (it zeroes the cache): a task that returns
 * PENDING after a long poll went idle at its end, not at its start.
 *
 * The refresh is out of line: inlined, its call keeps w live across it and costs the
 * callers (schedrt_yield, schedrt_wake) a callee-saved register.
 */
__attribute__((noinline, cold)) static uint64_t cheap_now_refresh(schedrt_worker *w) {
  /* A worker with events on keeps its cache here (schedrt__m_now_shadow). */
  uint64_t now = schedrt__m_now_shadow(w);
  if (now)
    return now;
  now = schedrt__now_ns();
  /* Not kept when the worker's polls are timed: its task times are exact. */
  atomic_store_explicit(&w->now_cache, schedrt__m_now_cache(w, now), memory_order_relaxed);
  return now;
}
static uint64_t cheap_now(void) {
  schedrt_worker *w = schedrt__tls_worker;
  if (!w)
    return schedrt__coarse_now_ns();
  /* Relaxed: a hint from the monitor; the clock read is what counts. */
  uint64_t now = atomic_load_explicit(&w->now_cache, memory_order_relaxed);
  if (SCHEDRT_UNLIKELY(now == 0))
    return cheap_now_refresh(w);
  return now;
}

/* ----------------------------------------------------------------- spawn */

static schedrt_task *task_new(schedrt_runtime *rt, schedrt_task_fn fn, void *arg, uint32_t state,
                              uint64_t refs) {
  schedrt_task *t = schedrt__task_alloc();
  if (!t)
    return NULL;
  atomic_init(&t->state, state);
  atomic_init(&t->refs, refs);
  t->rt = rt;
  t->fn = fn;
  t->arg = arg;
  t->drop = NULL;
  t->result = NULL;
  t->qnext = t->prev = t->next = NULL;
  t->join_waker = NULL;
  t->name[0] = '\0';
  t->file = t->func = NULL;
  t->line = 0;
  t->site_off = 0;
  atomic_init(&t->await_site, NULL);
  atomic_init(&t->polls, 0);
  /* wait_arg and timer_deadline are read only under wait_kind and a timer
   * count, which both start at none. */
  atomic_init(&t->wait_kind, SCHEDRT_DUMP_WAIT_NONE);
  t->spawn_ns = cheap_now();
  atomic_init(&t->since_ns, t->spawn_ns);
  /* Relaxed: ids need uniqueness only. */
  t->id = atomic_fetch_add_explicit(&rt->next_id, 1, memory_order_relaxed);
  return t;
}

/* The alive list's shard of a new task: the spawning worker's own (no lock
 * contention while it spawns), else spread by id over the foreign shards. */
static uint32_t alive_shard(const schedrt_runtime *rt, const schedrt_worker *w, uint64_t id) {
  return w ? w->index : rt->nworkers + (uint32_t)(id % (rt->nshards - rt->nworkers));
}

/* Name, drop callback and spawn site from the spawn call. */
static void task_describe(schedrt_task *t, const schedrt_spawn_opts *opts, const char *file, int line,
                          const char *func) {
  if (opts) {
    t->drop = opts->drop;
    if (opts->name) {
      strncpy(t->name, opts->name, sizeof(t->name) - 1);
      t->name[sizeof(t->name) - 1] = '\0';
    }
  }
  t->file = file;
  t->line = line;
  t->func = func;
}

SCHEDRT_API int schedrt_spawn_at(schedrt_runtime *rt, schedrt_task_fn fn, void *arg,
                                 const schedrt_spawn_opts *opts, schedrt_handle **handle, const char *file,
                                 int line, const char *func) {
  if (handle)
    *handle = NULL;
  if (!rt || !fn)
    return -EINVAL;
  /* Acquire: pairs with destroy's store. Spawns from tasks during destroy
   * are refused here; threads that are not workers must have stopped
   * spawning before destroy is called (schedrt.h). */
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return -ESHUTDOWN;
  schedrt_worker *w = schedrt__tls_worker;
  if (w && w->rt != rt)
    w = NULL;
  /* Alive list + scheduled, + the handle's. A foreign spawn is bound for the
   * injection queue (schedrt__schedule). */
  uint32_t state = w ? SCHEDRT_TS_NOTIFIED : SCHEDRT_TS_NOTIFIED | SCHEDRT_TS_INJECTED;
  schedrt_task *t = task_new(rt, fn, arg, state, handle ? 3u : 2u);
  if (!t)
    return -ENOMEM;
  task_describe(t, opts, file, line, func);
  t->shard = alive_shard(rt, w, t->id);
  /* Kept in a register for the site's counter below (the atomic stores in
   * between would make the compiler load it back from the task). */
  uint32_t site_off = schedrt__m_site(rt, w, file, line, func, t->name);
  t->site_off = site_off;
  /* The event's b: its site's index + 1, where the reader finds the name. */
  if (w) {
    count_own(&w->spawned);
    schedrt__ev(w, SCHEDRT_EV_SPAWN, t->id, site_off / SCHEDRT_SHM_SITE_CTR_SIZE + 1u);
  } else {
    atomic_fetch_add_explicit(&rt->foreign_spawned, 1, memory_order_relaxed);
    /* A worker's cheap clock is exact when timing (schedrt__m_now_cache). */
    schedrt__m_task_woken_foreign(t);
    schedrt__ev_other(rt, SCHEDRT_EV_SPAWN, t->id, site_off / SCHEDRT_SHM_SITE_CTR_SIZE + 1u);
  }
  schedrt__m_site_spawned(rt, w, site_off);
  schedrt__owned_insert(rt, t);
  if (handle)
    *handle = (schedrt_handle *)t;
  schedrt__schedule(t, false);
  return 0;
}

/* --------------------------------------------------------- blocking jobs */

static void task_complete(schedrt_task *t, uint32_t extra_bits);

schedrt_task *schedrt__task_blocking_new(schedrt_runtime *rt, schedrt_blocking_fn fn, void *arg,
                                         const schedrt_spawn_opts *opts, bool with_handle, const char *file,
                                         int line, const char *func) {
  /* Alive list + the pool's (queue, then its thread) + the handle's. */
  schedrt_task *t = task_new(rt, NULL, arg, SCHEDRT_TS_BLOCKING | SCHEDRT_TS_NOTIFIED, with_handle ? 3u : 2u);
  if (!t)
    return NULL;
  t->blocking_fn = fn;
  task_describe(t, opts, file, line, func);
  /* Not counted as a spawned task: the pool counts its jobs. */
  schedrt_worker *w = schedrt__tls_worker;
  t->shard = alive_shard(rt, w && w->rt == rt ? w : NULL, t->id);
  schedrt__owned_insert(rt, t);
  return t;
}

void schedrt__task_blocking_finish(schedrt_task *t, void *result, bool cancelled) {
  schedrt_runtime *rt = t->rt;
  t->result = result;
  task_complete(t, cancelled ? SCHEDRT_TS_CANCELLED : 0);
  schedrt__owned_remove(rt, t);
  schedrt__task_unref(t);
}

void schedrt__task_blocking_discard(schedrt_task *t) {
  schedrt__owned_remove(t->rt, t);
  schedrt__task_free(t);
}

/* ------------------------------------------------------------ task info */

SCHEDRT_API uint64_t schedrt_task_id(const schedrt_task *task) { return task ? task->id : 0; }

SCHEDRT_API schedrt_holder schedrt_holder_of(const schedrt_task *task) {
  /* block_on's task is not in the alive list, so a dump would take it for finished: it is its
   * thread's, outside. So is a task whose id or runtime does not fit a token. Relaxed: BLOCK_ON is
   * set when the task is made and never changes. */
  if (!task || !task->rt->holds_tag || task->id > SCHEDRT_HOLDER_ID_MASK ||
      (atomic_load_explicit(&((schedrt_task *)task)->state, memory_order_relaxed) & SCHEDRT_TS_BLOCK_ON))
    return SCHEDRT_HOLDER_OUTSIDE;
  return (schedrt_holder)task->rt->holds_tag << SCHEDRT_HOLD_ID_BITS | task->id;
}

SCHEDRT_API schedrt_holder schedrt_holder_of_handle(const schedrt_handle *h) {
  return schedrt_holder_of((const schedrt_task *)h);
}
SCHEDRT_API schedrt_runtime *schedrt_task_runtime(const schedrt_task *task) { return task ? task->rt : NULL; }
SCHEDRT_API void schedrt_task_set_result(schedrt_task *task, void *result) {
  if (task)
    task->result = result;
}
SCHEDRT_API void schedrt_task_set_await(schedrt_task *task, const schedrt_await_site *site) {
  /* Relaxed: a dump reads it while the task may run; the site is static. */
  if (task)
    atomic_store_explicit(&task->await_site, site, memory_order_relaxed);
}

/* ----------------------------------------------------------------- waking */

/*
 * The time a wake by w (NULL: a thread that is not a worker) stamps on t, as
 * cheap_now, and the wake's event (remote 0: w is one of t's workers). The
 * event rides the cache's slow path, since a worker with events on keeps no
 * cache (schedrt__m_now_cache): with events off the wake of an idle task
 * tests no flag beyond the cache's own. A test of its own, with its call,
 * made GCC save a register more for the whole wake (docs/performance.md,
 * "Event ring").
 */
__attribute__((noinline, cold)) static uint64_t wake_now_slow(schedrt_worker *w, const schedrt_task *t,
                                                              uint32_t remote) {
  if (!remote)
    schedrt__ev_wake(w, t);
  return cheap_now_refresh(w);
}
static inline uint64_t wake_now(schedrt_worker *w, const schedrt_task *t, uint32_t remote) {
  if (!w)
    return schedrt__coarse_now_ns();
  /* Relaxed: as cheap_now. */
  uint64_t now = atomic_load_explicit(&w->now_cache, memory_order_relaxed);
  if (SCHEDRT_UNLIKELY(now == 0))
    return wake_now_slow(w, t, remote);
  return now;
}

void schedrt__task_wake(schedrt_task *t, uint64_t given) {
  schedrt_worker *w = schedrt__tls_worker;
  /* A remote waker may race schedrt_runtime_destroy: it counts itself in (see REMOTE_ONE). */
  const uint32_t remote = (w && w->rt == t->rt) ? 0 : SCHEDRT_TS_REMOTE_ONE;
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  for (;;) {
    if (s & (SCHEDRT_TS_COMPLETE | SCHEDRT_TS_NOTIFIED))
      break; /* done, or already due for a poll: exactly-once */
    uint32_t count = (s & SCHEDRT_TS_RUNNING) ? 0 : remote;
    /*
     * AcqRel: release publishes what the waker did before waking to the next
     * poll; acquire orders us after the poller's last transition.
     */
    if (!atomic_compare_exchange_weak_explicit(&t->state, &s, (s | SCHEDRT_TS_NOTIFIED) + count,
                                               memory_order_acq_rel, memory_order_relaxed))
      continue;
    if (s & SCHEDRT_TS_RUNNING) {
      /* The wake that counts (exactly once per poll): its event here, an
       * idle task's in wake_now. A remote waker that did not count itself
       * in must not touch the runtime, which destroy may free now: that
       * wake goes unrecorded. */
      if (!remote)
        schedrt__ev_wake(w, t);
      break; /* the poller re-queues it when the poll returns */
    }
    if (!given)
      schedrt__task_ref(t);
    else if (given != SCHEDRT_REF_ONE)
      /* The given reference becomes the scheduled one: it stops counting as
       * a waker or timer. After the state went NOTIFIED (release), so a dump
       * that sees the count drop sees the task woken; before the push, while
       * the reference still keeps the task alive. */
      atomic_fetch_sub_explicit(&t->refs, given & ~SCHEDRT_REF_ONE, memory_order_release);
    if (count)
      schedrt__task_ref(t); /* ours: the scheduled one goes to the queue */
    atomic_store_explicit(&t->since_ns, wake_now(w, t, remote), memory_order_relaxed);
    /* count: the waker is not one of the task's workers, whose cheap clock
     * would be exact when timing (schedrt__m_now_cache). */
    if (count) {
      schedrt__m_task_woken_foreign(t);
      schedrt__ev_other(t->rt, SCHEDRT_EV_WAKE, t->id, 0);
    }
    schedrt__schedule(t, false);
    if (count) {
      /* Release: done with the runtime; task_complete acquires this. */
      atomic_fetch_sub_explicit(&t->state, count, memory_order_release);
      schedrt__task_unref(t);
    }
    return;
  }
  if (given)
    schedrt__task_unref_as(t, given & ~SCHEDRT_REF_ONE);
}

SCHEDRT_API schedrt_waker *schedrt_waker_get(schedrt_task *task) {
  schedrt__task_ref_as(task, SCHEDRT_REF_WAKER);
  return (schedrt_waker *)task;
}
SCHEDRT_API schedrt_waker *schedrt_waker_clone(schedrt_waker *w) {
  schedrt__task_ref_as((schedrt_task *)w, SCHEDRT_REF_WAKER);
  return w;
}
SCHEDRT_API void schedrt_wake(schedrt_waker *w) {
  if (w)
    schedrt__task_wake((schedrt_task *)w, SCHEDRT_REF_ONE | SCHEDRT_REF_WAKER);
}
SCHEDRT_API void schedrt_wake_by_ref(schedrt_waker *w) {
  if (w)
    schedrt__task_wake((schedrt_task *)w, 0);
}
SCHEDRT_API void schedrt_waker_drop(schedrt_waker *w) {
  if (w)
    schedrt__task_unref_as((schedrt_task *)w, SCHEDRT_REF_WAKER);
}

SCHEDRT_API schedrt_poll schedrt_yield(schedrt_task *task) {
  /* The task is RUNNING: this only sets NOTIFIED, and the poller re-queues
   * it on the defer list (worker.c), behind all other work. */
  schedrt_worker *w = schedrt__tls_worker;
  if (w && w->rt == task->rt) {
    w->yielded = task;
    /* In its own poll on this worker (the usual yield): only this worker
     * clears RUNNING, so NOTIFIED alone is the whole wake, with no scheduling
     * and no wake event (the worker re-queues it after the poll). AcqRel as
     * the wake's CAS: our poll's writes go to its next poll. */
    if (atomic_load_explicit(&w->current, memory_order_relaxed) == task) {
      atomic_fetch_or_explicit(&task->state, SCHEDRT_TS_NOTIFIED, memory_order_acq_rel);
      return SCHEDRT_PENDING;
    }
  }
  schedrt__task_wake(task, 0);
  return SCHEDRT_PENDING;
}

/* ---------------------------------------------------------------- polling */

/* Completion: the bit, then joiners, then the references. */
static void task_complete(schedrt_task *t, uint32_t extra_bits) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  uint32_t next;
  do {
    next = (s & ~(SCHEDRT_TS_RUNNING | SCHEDRT_TS_NOTIFIED)) | SCHEDRT_TS_COMPLETE | extra_bits;
    /* AcqRel: release publishes result; acquire makes the join waker the
     * joiner stored before setting JOIN_WAKER visible here. */
  } while (!atomic_compare_exchange_weak_explicit(&t->state, &s, next, memory_order_acq_rel,
                                                  memory_order_relaxed));
  /*
   * Remote wakers may still be inside schedrt__schedule (injection push,
   * notify_parked): the runtime must outlive them, so wait until they are
   * done. Rare and short: they pushed the task before it was run, or destroy
   * is cancelling it.
   */
  while (SCHEDRT_UNLIKELY(next & SCHEDRT_TS_REMOTE_MASK)) {
    sched_yield();
    next = atomic_load_explicit(&t->state, memory_order_acquire);
  }
  if (s & SCHEDRT_TS_JOIN_WAKER) {
    schedrt_waker *jw = t->join_waker;
    t->join_waker = NULL;
    schedrt_wake(jw);
  }
  if (s & SCHEDRT_TS_JOIN_THREAD)
    schedrt__futex_wake(&t->state, INT_MAX);
}

void schedrt__task_run(schedrt_task *t) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  /* Acquire: see everything the waker published before notifying. */
  while (!atomic_compare_exchange_weak_explicit(
      &t->state, &s, (s | SCHEDRT_TS_RUNNING) & ~(SCHEDRT_TS_NOTIFIED | SCHEDRT_TS_INJECTED),
      memory_order_acquire, memory_order_relaxed))
    ;
  /* What it waits on is what this poll registers: cleared before the poll is
   * counted, so a dump that sees the count unchanged around its reads never
   * pairs this poll's wait with the previous one's (dump_snap.c: fill).
   * Relaxed: the count's release store below publishes it. */
  atomic_store_explicit(&t->wait_kind, SCHEDRT_DUMP_WAIT_NONE, memory_order_relaxed);
  /* Release store of load+1: only the poller writes polls (a plain store on
   * x86 and a stlr on Arm); dumps read it with acquire. */
  atomic_store_explicit(&t->polls, atomic_load_explicit(&t->polls, memory_order_relaxed) + 1,
                        memory_order_release);
  if (t->fn(t, t->arg) == SCHEDRT_READY) {
    schedrt_runtime *rt = t->rt;
    /* Counted before joiners can see it complete: one that joined all of a
     * site's tasks finds none of them alive. */
    count_completed(rt, t);
    task_complete(t, 0);
    schedrt__owned_remove(rt, t);
    /* The alive list's and the scheduled one, in one operation (the first
     * alone never reached zero: the second still held it). */
    if (atomic_fetch_sub_explicit(&t->refs, 2 * SCHEDRT_REF_ONE, memory_order_acq_rel) == 2 * SCHEDRT_REF_ONE)
      schedrt__task_free(t);
    return;
  }
  /* Idle or re-queued since now; stored before the task can be seen idle,
   * so a waker's later stamp is the one that stays. Exact when the polls are
   * timed (a worker keeps no clock cache then), so a re-queued task's
   * schedule latency starts here. */
  atomic_store_explicit(&t->since_ns, cheap_now(), memory_order_relaxed);
  s = atomic_load_explicit(&t->state, memory_order_relaxed);
  /* AcqRel: release our poll's writes to the next waker; acquire theirs. */
  while (!atomic_compare_exchange_weak_explicit(&t->state, &s, s & ~SCHEDRT_TS_RUNNING, memory_order_acq_rel,
                                                memory_order_relaxed))
    ;
  if (s & SCHEDRT_TS_NOTIFIED) {
    /* Woken during the poll (or yielded): poll again, after others. */
    schedrt__schedule(t, true);
  } else {
    schedrt__task_unref(t); /* idle: only wakers and the alive list keep it */
  }
}

void schedrt__task_cancel(schedrt_task *t) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  if (s & SCHEDRT_TS_COMPLETE)
    return;
  /* Before COMPLETE is published: a joiner told -ECANCELED may free arg. */
  if (t->drop)
    t->drop(t->arg);
  count_completed(t->rt, t);
  task_complete(t, SCHEDRT_TS_CANCELLED);
}

/* ------------------------------------------------------------------ join */

SCHEDRT_API int schedrt_join(schedrt_handle *h, uint64_t timeout_ns, void **result) {
  schedrt_task *t = (schedrt_task *)h;
  if (!t)
    return -EINVAL;
  if (schedrt__tls_worker)
    return -EDEADLK; /* a worker that sleeps here may be the one that must run t */
  uint64_t start = schedrt__now_ns();
  /* Saturating: any timeout that reaches past the clock's range means forever. */
  uint64_t deadline = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
  /* Acquire: pairs with task_complete, so result is visible. */
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  while (!(s & SCHEDRT_TS_COMPLETE)) {
    if (!(s & SCHEDRT_TS_JOIN_THREAD)) {
      if (!atomic_compare_exchange_weak_explicit(&t->state, &s, s | SCHEDRT_TS_JOIN_THREAD,
                                                 memory_order_acq_rel, memory_order_acquire))
        continue;
      s |= SCHEDRT_TS_JOIN_THREAD;
    }
    uint64_t now = schedrt__now_ns();
    if (now >= deadline)
      return -ETIMEDOUT;
    schedrt__futex_wait(&t->state, s, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
    s = atomic_load_explicit(&t->state, memory_order_acquire);
  }
  int rc = (s & SCHEDRT_TS_CANCELLED) ? -ECANCELED : 0;
  if (result)
    *result = rc ? NULL : t->result;
  schedrt__task_unref(t);
  return rc;
}

SCHEDRT_API schedrt_poll schedrt_handle_poll(schedrt_handle *h, schedrt_task *self, void **result) {
  schedrt_task *t = (schedrt_task *)h;
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & SCHEDRT_TS_COMPLETE) {
      if (!schedrt__coop_proceed(self))
        return SCHEDRT_PENDING;
      if (result)
        *result = (s & SCHEDRT_TS_CANCELLED) ? NULL : t->result;
      return SCHEDRT_READY;
    }
    if (s & SCHEDRT_TS_JOIN_WAKER) {
      /* Re-registration: take the old waker back first (only we set the bit). */
      if (!atomic_compare_exchange_weak_explicit(&t->state, &s, s & ~SCHEDRT_TS_JOIN_WAKER,
                                                 memory_order_acq_rel, memory_order_acquire))
        continue;
      schedrt_waker_drop(t->join_waker);
      t->join_waker = NULL;
      s &= ~SCHEDRT_TS_JOIN_WAKER;
    }
    t->join_waker = schedrt_waker_get(self);
    /* Release: the completer reads join_waker after seeing the bit. */
    if (atomic_compare_exchange_strong_explicit(&t->state, &s, s | SCHEDRT_TS_JOIN_WAKER,
                                                memory_order_acq_rel, memory_order_acquire)) {
      schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_JOIN, t->id);
      return SCHEDRT_PENDING;
    }
    schedrt_waker_drop(t->join_waker);
    t->join_waker = NULL;
  }
}

SCHEDRT_API int schedrt_handle_is_finished(const schedrt_handle *h) {
  const schedrt_task *t = (const schedrt_task *)h;
  return t && (atomic_load_explicit(&((schedrt_task *)t)->state, memory_order_acquire) & SCHEDRT_TS_COMPLETE);
}

SCHEDRT_API void schedrt_handle_release(schedrt_handle *h) {
  if (h)
    schedrt__task_unref((schedrt_task *)h);
}

/* --------------------------------------------------------------- block_on */

SCHEDRT_API int schedrt_block_on(schedrt_runtime *rt, schedrt_task_fn fn, void *arg, void **result) {
  if (!rt || !fn)
    return -EINVAL;
  if (schedrt__tls_worker)
    return -EDEADLK;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return -ESHUTDOWN;
  /* Not in the alive list: like Tokio's block_on future, it is the caller's. */
  schedrt_task *t = task_new(rt, fn, arg, SCHEDRT_TS_NOTIFIED | SCHEDRT_TS_BLOCK_ON, 1);
  if (!t)
    return -ENOMEM;
  for (;;) {
    uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
                                                  (s | SCHEDRT_TS_RUNNING) & ~SCHEDRT_TS_NOTIFIED,
                                                  memory_order_acquire, memory_order_relaxed))
      ;
    if (fn(t, arg) == SCHEDRT_READY)
      break;
    s = atomic_load_explicit(&t->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&t->state, &s, s & ~SCHEDRT_TS_RUNNING,
                                                  memory_order_acq_rel, memory_order_relaxed))
      ;
    /* Sleep until a waker sets NOTIFIED (schedrt__schedule wakes the futex). */
    s &= ~SCHEDRT_TS_RUNNING;
    while (!(s & SCHEDRT_TS_NOTIFIED)) {
      schedrt__futex_wait(&t->state, s, UINT64_MAX);
      s = atomic_load_explicit(&t->state, memory_order_acquire);
    }
  }
  task_complete(t, 0);
  if (result)
    *result = t->result;
  schedrt__task_unref(t);
  return 0;
}
