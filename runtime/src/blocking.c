/*
 * The blocking pool: schedrt_spawn_blocking runs plain blocking functions on
 * threads apart from the workers, after Tokio's blocking pool
 * (runtime/blocking/pool.rs): threads start on demand up to a maximum, an
 * idle thread exits after a keep-alive, jobs wait in a FIFO while every
 * thread is busy, and shutdown waits for running jobs up to a deadline, then
 * abandons them.
 *
 * A job is a task record (task.c) with the BLOCKING bit: it sits in the alive
 * list, so dumps show it and joiners (schedrt_join, schedrt_handle_poll) wait
 * on it exactly as on a task. Workers never see it: it is never queued nor
 * woken, only run here. While queued it is NOTIFIED, while a thread runs it
 * RUNNING (what the dump's states say).
 *
 * Everything the pool keeps is in one refcounted object, held by the runtime
 * and by each of its threads: a thread whose job was abandoned at shutdown
 * outlives the runtime, and when its function returns it touches only that
 * object and the job's own record, never the runtime.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* One pool thread; owned by it, linked in the pool's list while it lives. */
struct bthread {
  struct bthread *prev, *next;
  struct schedrt__bpool *pool;
  schedrt_task *job; /* the job it runs, or NULL */
  uint64_t start_ns; /* when that job started */
  bool finishing;    /* the job returned; completing it (uses the runtime) */
  bool abandoned;    /* shutdown gave up on the job: complete it never */
  unsigned index;    /* for its name */
};

struct schedrt__bpool {
  pthread_mutex_t lock;
  pthread_cond_t work;    /* idle threads wait here for a job (or the close) */
  pthread_cond_t drained; /* shutdown waits here for threads to finish and leave */
  /* The runtime's reference and one per thread; the last frees the pool. */
  _Atomic uint32_t refs;
  /* Copied from the runtime's config: the pool outlives the runtime. */
  char rt_name[SCHEDRT_NAME_MAX];
  uint32_t max;
  uint64_t keepalive_ns;
  uint64_t shutdown_ns;
  /* Under the lock. */
  schedrt_task *head, *tail; /* queued jobs, qnext links */
  struct bthread *threads;   /* every live thread */
  uint32_t nthreads, nidle;
  uint32_t nnotify;    /* idle threads signalled for a job and not yet awake */
  uint32_t nabandoned; /* threads running an abandoned job */
  uint32_t next_index; /* thread names */
  bool closed;
  /*
   * The blocking_* metrics. Written under the lock; read without it by the
   * monitor and schedrt_metric_read (relaxed: each is a value of its own,
   * a gauge or a monotonic counter).
   */
  _Atomic uint64_t m_threads, m_idle, m_queue, m_started, m_finished;
};

/* The pool whose thread this is (NULL elsewhere): destroy refuses to run on it. */
static _Thread_local struct schedrt__bpool *tls_pool;

bool schedrt__blocking_on_pool_thread(schedrt_runtime *rt) { return rt->bpool && tls_pool == rt->bpool; }

static inline void set_stat(_Atomic uint64_t *s, uint64_t v) {
  /* Relaxed: see the metrics comment in struct schedrt__bpool. */
  atomic_store_explicit(s, v, memory_order_relaxed);
}

static inline void bump_stat(_Atomic uint64_t *s) {
  /* Relaxed load and store: only lock holders write it. */
  set_stat(s, atomic_load_explicit(s, memory_order_relaxed) + 1);
}

static void pool_unref(struct schedrt__bpool *p) {
  /* AcqRel: whatever a holder did to the pool happens before its free. */
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
    return;
  pthread_cond_destroy(&p->drained);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

uint64_t schedrt__blocking_metric(schedrt_runtime *rt, int metric_id) {
  struct schedrt__bpool *p = rt->bpool;
  _Atomic uint64_t *s;
  switch (metric_id) {
  case SCHEDRT_M_blocking_threads:
    s = &p->m_threads;
    break;
  case SCHEDRT_M_blocking_idle_threads:
    s = &p->m_idle;
    break;
  case SCHEDRT_M_blocking_queue_depth:
    s = &p->m_queue;
    break;
  case SCHEDRT_M_blocking_jobs_started:
    s = &p->m_started;
    break;
  case SCHEDRT_M_blocking_jobs_finished:
    s = &p->m_finished;
    break;
  default:
    return 0;
  }
  /* Relaxed: see struct schedrt__bpool. */
  return atomic_load_explicit(s, memory_order_relaxed);
}

/* An absolute CLOCK_MONOTONIC time for the condition variables. */
static struct timespec abs_time(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  return ts;
}

int schedrt__blocking_init(schedrt_runtime *rt) {
  struct schedrt__bpool *p = calloc(1, sizeof(*p));
  if (!p)
    return -ENOMEM;
  pthread_condattr_t ca;
  int rc = -pthread_condattr_init(&ca);
  if (rc)
    goto err_free;
  /* Monotonic: a wall-clock step must neither retire threads nor cut the
   * shutdown wait short. */
  if ((rc = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)))
    goto err_attr;
  if ((rc = -pthread_mutex_init(&p->lock, NULL)))
    goto err_attr;
  if ((rc = -pthread_cond_init(&p->work, &ca)))
    goto err_mutex;
  if ((rc = -pthread_cond_init(&p->drained, &ca)))
    goto err_work;
  pthread_condattr_destroy(&ca);
  atomic_init(&p->refs, 1);
  snprintf(p->rt_name, sizeof(p->rt_name), "%s", rt->name);
  p->max = rt->cfg.max_blocking_threads;
  p->keepalive_ns = (uint64_t)rt->cfg.blocking_keepalive_ms * 1000000u;
  p->shutdown_ns = (uint64_t)rt->cfg.blocking_shutdown_timeout_ms * 1000000u;
  rt->bpool = p;
  return 0;

err_work:
  pthread_cond_destroy(&p->work);
err_mutex:
  pthread_mutex_destroy(&p->lock);
err_attr:
  pthread_condattr_destroy(&ca);
err_free:
  free(p);
  return rc;
}

void schedrt__blocking_fini(schedrt_runtime *rt) {
  if (!rt->bpool)
    return;
  pool_unref(rt->bpool);
  rt->bpool = NULL;
}

/* ---------------------------------------------------------------- threads */

static void *bthread_main(void *arg);

/* Lock held. Starts one thread, which finds its first job in the queue. */
static int start_thread(struct schedrt__bpool *p) {
  struct bthread *bt = calloc(1, sizeof(*bt));
  if (!bt)
    return -ENOMEM;
  bt->pool = p;
  bt->index = p->next_index++;
  pthread_attr_t attr;
  int rc = -pthread_attr_init(&attr);
  if (rc)
    goto err_free;
  /* Detached: nobody joins a thread that retires on its own, and one whose
   * job is abandoned at shutdown must be able to outlive the runtime. */
  (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* Relaxed: the thread's reference; the pool is alive (ours). */
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  pthread_t tid;
  rc = -pthread_create(&tid, &attr, bthread_main, bt);
  pthread_attr_destroy(&attr);
  if (rc) {
    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_relaxed);
    goto err_free;
  }
  /* Under the lock, before the thread can take it: it links nothing itself. */
  bt->next = p->threads;
  if (p->threads)
    p->threads->prev = bt;
  p->threads = bt;
  p->nthreads++;
  set_stat(&p->m_threads, p->nthreads);
  return 0;

err_free:
  free(bt);
  return rc;
}

/* Lock held: the oldest queued job, or NULL. */
static schedrt_task *pop_job(struct schedrt__bpool *p) {
  schedrt_task *t = p->head;
  if (!t)
    return NULL;
  p->head = t->qnext;
  if (!p->head)
    p->tail = NULL;
  t->qnext = NULL;
  set_stat(&p->m_queue, atomic_load_explicit(&p->m_queue, memory_order_relaxed) - 1);
  return t;
}

/* Lock held on entry and on return. Runs one job the thread popped. */
static void run_job(struct schedrt__bpool *p, struct bthread *bt, schedrt_task *t) {
  uint64_t now = schedrt__now_ns();
  bt->job = t;
  bt->start_ns = now;
  bump_stat(&p->m_started);
  /* Queued -> running, for dumps (joiners may set their bits meanwhile).
   * Relaxed: nobody synchronises through these two bits; the job's
   * arguments were published by the queue's lock. */
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
                                                (s | SCHEDRT_TS_RUNNING) & ~SCHEDRT_TS_NOTIFIED,
                                                memory_order_relaxed, memory_order_relaxed))
    ;
  /* Relaxed: a dump's picture of "running since". */
  atomic_store_explicit(&t->since_ns, now, memory_order_relaxed);
  /* Under the pool's lock: once we let go, shutdown may abandon the job and
   * free the runtime (the event ring's lock is taken after the pool's,
   * never before). */
  schedrt__ev_other(t->rt, SCHEDRT_EV_BLOCKING_START, t->id, 0);
  pthread_mutex_unlock(&p->lock);

  void *result = t->blocking_fn(t->arg);

  pthread_mutex_lock(&p->lock);
  if (bt->abandoned) {
    /* Shutdown completed the job as cancelled and may have freed the
     * runtime: only the record (our reference) and the pool remain. */
    bt->job = NULL;
    pthread_mutex_unlock(&p->lock);
    if (t->drop)
      t->drop(t->arg);
    schedrt__task_unref(t);
    pthread_mutex_lock(&p->lock);
    return;
  }
  /* From here shutdown waits for us instead of abandoning the job: the
   * completion below wakes joiners through the runtime. */
  bt->finishing = true;
  pthread_mutex_unlock(&p->lock);
  schedrt__ev_other(t->rt, SCHEDRT_EV_BLOCKING_END, t->id, 0);
  schedrt__task_blocking_finish(t, result, false);
  schedrt__task_unref(t);
  pthread_mutex_lock(&p->lock);
  bt->job = NULL;
  bt->finishing = false;
  bump_stat(&p->m_finished);
  if (p->closed)
    pthread_cond_broadcast(&p->drained);
}

/*
 * Lock held. Waits for a job as an idle thread; false when the keep-alive
 * ran out with nothing to do (the thread then exits). A signalled thread
 * takes one notification (nnotify) whichever thread was signalled, as in
 * Tokio: a job is never left with no thread counted for it.
 */
static bool idle_wait(struct schedrt__bpool *p) {
  p->nidle++;
  set_stat(&p->m_idle, p->nidle);
  uint64_t deadline = schedrt__now_ns() + p->keepalive_ns;
  struct timespec ts = abs_time(deadline);
  bool keep = true;
  for (;;) {
    int rc = pthread_cond_timedwait(&p->work, &p->lock, &ts);
    if (p->nnotify) {
      p->nnotify--;
      break;
    }
    if (p->closed)
      break;
    if (rc == ETIMEDOUT || schedrt__now_ns() >= deadline) {
      keep = false;
      break;
    }
  }
  p->nidle--;
  set_stat(&p->m_idle, p->nidle);
  return keep;
}

static void *bthread_main(void *arg) {
  struct bthread *bt = arg;
  struct schedrt__bpool *p = bt->pool;
  schedrt__thread_name("schedrt-blk%u", bt->index);
  tls_pool = p;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    schedrt_task *t = pop_job(p);
    if (t) {
      run_job(p, bt, t);
      if (bt->abandoned)
        break;
      continue;
    }
    if (p->closed || !idle_wait(p))
      break;
  }
  if (bt->prev)
    bt->prev->next = bt->next;
  else
    p->threads = bt->next;
  if (bt->next)
    bt->next->prev = bt->prev;
  p->nthreads--;
  if (bt->abandoned)
    p->nabandoned--;
  set_stat(&p->m_threads, p->nthreads);
  if (p->closed)
    pthread_cond_broadcast(&p->drained);
  pthread_mutex_unlock(&p->lock);
  free(bt);
  pool_unref(p);
  return NULL;
}

/* ------------------------------------------------------------------ spawn */

/* Queues t and finds it a thread: an idle one, a new one, or the next free. */
static int submit(struct schedrt__bpool *p, schedrt_task *t) {
  int rc = 0;
  pthread_mutex_lock(&p->lock);
  if (p->closed) {
    rc = -ESHUTDOWN;
    goto out;
  }
  t->qnext = NULL;
  if (p->tail)
    p->tail->qnext = t;
  else
    p->head = t;
  p->tail = t;
  set_stat(&p->m_queue, atomic_load_explicit(&p->m_queue, memory_order_relaxed) + 1);
  if (p->nidle > p->nnotify) {
    p->nnotify++;
    pthread_cond_signal(&p->work);
  } else if (p->nthreads < p->max) {
    rc = start_thread(p);
    if (rc && p->nthreads)
      rc = 0; /* a busy thread takes it when it is done */
    if (rc) {
      /* No thread at all, so nobody popped it: take it back. */
      schedrt_task **pp = &p->head, *prev = NULL;
      while (*pp != t) {
        prev = *pp;
        pp = &(*pp)->qnext;
      }
      *pp = NULL;
      p->tail = prev;
      set_stat(&p->m_queue, atomic_load_explicit(&p->m_queue, memory_order_relaxed) - 1);
    }
  }
out:
  pthread_mutex_unlock(&p->lock);
  return rc;
}

SCHEDRT_API int schedrt_spawn_blocking_at(schedrt_runtime *rt, schedrt_blocking_fn fn, void *arg,
                                          const schedrt_spawn_opts *opts, schedrt_handle **handle,
                                          const char *file, int line, const char *func) {
  if (handle)
    *handle = NULL;
  if (!rt || !fn)
    return -EINVAL;
  /* Acquire: pairs with destroy's store, as in schedrt_spawn_at. The pool's
   * own closed flag (under its lock) is what refuses a racing spawn. */
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return -ESHUTDOWN;
  schedrt_task *t = schedrt__task_blocking_new(rt, fn, arg, opts, handle != NULL, file, line, func);
  if (!t)
    return -ENOMEM;
  /* The handle's reference is counted already: set it before a pool thread
   * can finish the job. */
  if (handle)
    *handle = (schedrt_handle *)t;
  int rc = submit(rt->bpool, t);
  if (rc) {
    if (handle)
      *handle = NULL;
    schedrt__task_blocking_discard(t);
  }
  return rc;
}

/* --------------------------------------------------------------- shutdown */

void schedrt__blocking_shutdown(schedrt_runtime *rt) {
  struct schedrt__bpool *p = rt->bpool;
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  p->closed = true;
  schedrt_task *queued = p->head;
  p->head = p->tail = NULL;
  set_stat(&p->m_queue, 0);
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->lock);

  /* Queued jobs never start: drop callback once, joiners -ECANCELED. */
  for (schedrt_task *t = queued, *nx; t; t = nx) {
    nx = t->qnext;
    t->qnext = NULL;
    if (t->drop)
      t->drop(t->arg);
    schedrt__ev_other(rt, SCHEDRT_EV_BLOCKING_END, t->id, 1);
    schedrt__task_blocking_finish(t, NULL, true);
    schedrt__task_unref(t);
  }

  uint64_t start = schedrt__now_ns();
  uint64_t deadline = start + p->shutdown_ns;
  struct timespec ts = abs_time(deadline);
  pthread_mutex_lock(&p->lock);
  while (p->nthreads && schedrt__now_ns() < deadline)
    (void)pthread_cond_timedwait(&p->drained, &p->lock, &ts);
  /* Past the deadline: abandon every job still inside its function (linked
   * through qnext: a running job is in no queue). */
  schedrt_task *abandoned = NULL;
  uint64_t now = schedrt__now_ns();
  for (struct bthread *bt = p->threads; bt; bt = bt->next) {
    if (!bt->job || bt->finishing || bt->abandoned)
      continue;
    bt->abandoned = true;
    p->nabandoned++;
    /* The alive list's reference keeps the record ours until finish below. */
    bt->job->qnext = abandoned;
    abandoned = bt->job;
  }
  /* The others are idle threads leaving and jobs completing: short. */
  while (p->nthreads > p->nabandoned)
    pthread_cond_wait(&p->drained, &p->lock);
  pthread_mutex_unlock(&p->lock);

  for (schedrt_task *t = abandoned, *nx; t; t = nx) {
    nx = t->qnext;
    t->qnext = NULL;
    /* Relaxed: stored under the pool's lock before the job started. */
    uint64_t since = atomic_load_explicit(&t->since_ns, memory_order_relaxed);
    uint64_t ran = now > since ? now - since : 0;
    fprintf(stderr,
            "schedrt: %s: abandoned blocking job #%" PRIu64 " \"%s\" (spawned at %s:%d in %s) still running "
            "after %" PRIu64 " ms; its thread is detached\n",
            p->rt_name, t->id, t->name, t->file ? t->file : "?", t->line, t->func ? t->func : "?",
            ran / 1000000u);
    schedrt__task_blocking_finish(t, NULL, true);
  }
}
