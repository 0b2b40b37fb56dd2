/*
 * The dump service's life: created with the runtime (the round's buffers,
 * the barrier, the watchdog), ticked by the monitor (the control page, the
 * watchdog, expired objects, idle buffers given back), and destroyed with it.
 * Requests themselves run in dump.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

/* Big copy buffers unused this long are returned to the system. */
#define TRIM_AFTER_NS (10 * 1000000000ull)

static void round_free(struct schedrt__dround *r) {
  free(r->workers);
  free(r->probes);
  free(r->held);
  free(r->woken);
  free(r->hist);
  free(r->taken);
  free(r->ntaken);
  free(r->lifo);
  free(r->cursors);
  schedrt__dsnap_trim(r, true);
  memset(r, 0, sizeof(*r));
}

int schedrt__dump_init(schedrt_runtime *rt) {
  struct schedrt__dump *d = calloc(1, sizeof(*d));
  uint32_t n = rt->nworkers;
  int rc = -ENOMEM;
  rt->dump = NULL;
  if (!d)
    return -ENOMEM;
  d->rt = rt;
  const char *env = getenv("SCHEDRT_DUMP");
  d->disabled = (rt->cfg.flags & SCHEDRT_CFG_NO_DUMP) || (env && strcmp(env, "0") == 0);
  atomic_init(&d->busy, 0);
  atomic_init(&d->ctl.page, NULL);
  atomic_init(&d->ctl.helper_done, false);
  atomic_init(&d->round_used_ns, 0);
  struct schedrt__dround *r = &d->round;
  r->workers = calloc(n, sizeof(*r->workers));
  r->taken = malloc((size_t)n * SCHEDRT_LOCAL_QUEUE_CAP * sizeof(*r->taken));
  r->ntaken = calloc(n, sizeof(*r->ntaken));
  r->lifo = calloc(n, sizeof(*r->lifo));
  r->cursors = calloc(rt->nshards, sizeof(*r->cursors));
  r->hist = calloc((size_t)n * SCHEDRT_M__HIST_COUNT * SCHEDRT_HIST_BUCKETS, sizeof(*r->hist));
  r->probes = calloc(n, sizeof(*r->probes));
  r->held = calloc(n, sizeof(*r->held));
  r->woken = calloc(n, sizeof(*r->woken));
  if (!r->workers || !r->taken || !r->ntaken || !r->lifo || !r->cursors || !r->hist || !r->probes ||
      !r->held || !r->woken)
    goto err_round;
  if ((rc = schedrt__dbar_init(&d->bar, n, &rt->dump_flag, schedrt__dsnap_take, schedrt__dump_judge, d)))
    goto err_round;
  if ((rc = -pthread_mutex_init(&d->obj_lock, NULL)))
    goto err_bar;
  if ((rc = schedrt__dwatch_init(d)))
    goto err_lock;
  d->uid = (uint32_t)geteuid();
  d->pid = (uint32_t)getpid();
  if (schedrt__proc_starttime((pid_t)d->pid, &d->starttime))
    d->starttime = 0;
  schedrt__boot_id(d->boot_id);
  rt->dump = d;
  return 0;

err_lock:
  pthread_mutex_destroy(&d->obj_lock);
err_bar:
  schedrt__dbar_destroy(&d->bar);
err_round:
  round_free(&d->round);
  free(d);
  return rc;
}

void schedrt__dump_fini(schedrt_runtime *rt) {
  struct schedrt__dump *d = rt->dump;
  if (!d)
    return;
  schedrt__dctl_close(d);
  schedrt__dwatch_fini(d);
  /* An API dump from another thread may still own the round: shutdown is
   * set, so it aborts within 1 ms; take busy for good before freeing.
   * Acquire: its last writes to the round happen before we free it. */
  for (uint32_t idle = 0;
       !atomic_compare_exchange_weak_explicit(&d->busy, &idle, 1, memory_order_acquire, memory_order_relaxed);
       idle = 0)
    sched_yield();
  schedrt__dobj_sweep(d, 0, 0, true);
  pthread_mutex_destroy(&d->obj_lock);
  schedrt__dbar_destroy(&d->bar);
  round_free(&d->round);
  free(d);
  rt->dump = NULL;
}

void schedrt__dump_safepoint(schedrt_worker *w) {
  struct schedrt__dump *d = w->rt->dump;
  if (d)
    (void)schedrt__dbar_arrive(&d->bar, w->index);
}

void schedrt__dump_start(schedrt_runtime *rt) {
  if (rt->dump)
    schedrt__dctl_start(rt->dump);
}

void schedrt__dump_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__dump *d = rt->dump;
  if (!d)
    return;
  schedrt__dctl_tick(d, now);
  schedrt__dwatch_tick(d, now);
  schedrt__dobj_sweep(d, now, (uint64_t)rt->cfg.dump_keep_s * 1000000000u, false);
  /* Relaxed: a hint; the buffers themselves change hands through busy. */
  uint64_t used = atomic_load_explicit(&d->round_used_ns, memory_order_relaxed);
  uint32_t idle = 0;
  if (used && now > used + TRIM_AFTER_NS &&
      /* Acquire/release: we own the round for the trim, as a request would. */
      atomic_compare_exchange_strong_explicit(&d->busy, &idle, 1, memory_order_acquire,
                                              memory_order_relaxed)) {
    schedrt__dsnap_trim(&d->round, false);
    atomic_store_explicit(&d->round_used_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&d->busy, 0, memory_order_release);
  }
}
