/*
 * Timers: a binary min-heap of (deadline, seq, task) under its own lock. The
 * monitor thread sleeps until the earliest deadline (on its parker, which a
 * new earliest deadline unparks) and wakes the due tasks; about 1 ms of
 * resolution is all the runtime promises.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int schedrt__timers_init(struct schedrt_timers *tm) {
  tm->heap = NULL;
  tm->len = tm->cap = 0;
  tm->seq = 0;
  int rc = pthread_mutex_init(&tm->lock, NULL);
  return -rc;
}

void schedrt__timers_destroy(struct schedrt_timers *tm) {
  for (size_t i = 0; i < tm->len; i++)
    schedrt__task_unref_as(tm->heap[i].task, SCHEDRT_REF_TIMER);
  free(tm->heap);
  pthread_mutex_destroy(&tm->lock);
}

static bool before(const struct schedrt_timer_entry *a, const struct schedrt_timer_entry *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void sift_up(struct schedrt_timer_entry *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&h[i], &h[p]))
      break;
    struct schedrt_timer_entry x = h[i];
    h[i] = h[p];
    h[p] = x;
    i = p;
  }
}

static void sift_down(struct schedrt_timer_entry *h, size_t len, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < len && before(&h[l], &h[m]))
      m = l;
    if (r < len && before(&h[r], &h[m]))
      m = r;
    if (m == i)
      return;
    struct schedrt_timer_entry x = h[i];
    h[i] = h[m];
    h[m] = x;
    i = m;
  }
}

int schedrt__timers_add(schedrt_runtime *rt, schedrt_task *t, uint64_t deadline) {
  struct schedrt_timers *tm = &rt->timers;
  pthread_mutex_lock(&tm->lock);
  if (atomic_load_explicit(&rt->monitor_stop, memory_order_acquire)) {
    pthread_mutex_unlock(&tm->lock);
    return -ESHUTDOWN;
  }
  if (tm->len == tm->cap) {
    size_t cap = tm->cap ? tm->cap * 2 : 64;
    struct schedrt_timer_entry *h = realloc(tm->heap, cap * sizeof(*h));
    if (!h) {
      pthread_mutex_unlock(&tm->lock);
      return -ENOMEM;
    }
    tm->heap = h;
    tm->cap = cap;
  }
  schedrt__task_ref_as(t, SCHEDRT_REF_TIMER);
  /* Relaxed: what a dump shows; the heap entry is what fires. */
  atomic_store_explicit(&t->timer_deadline, deadline, memory_order_relaxed);
  tm->heap[tm->len] = (struct schedrt_timer_entry){deadline, tm->seq++, t};
  sift_up(tm->heap, tm->len++);
  /* Only a new earliest deadline changes how long the monitor sleeps. */
  bool earliest = tm->heap[0].task == t;
  pthread_mutex_unlock(&tm->lock);
  if (earliest)
    schedrt__unpark(&rt->monitor_park);
  return 0;
}

uint64_t schedrt__timers_fire_locked(struct schedrt_timers *tm, uint64_t now) {
  while (tm->len && tm->heap[0].deadline <= now) {
    schedrt_task *t = tm->heap[0].task;
    tm->heap[0] = tm->heap[--tm->len];
    sift_down(tm->heap, tm->len, 0);
    /* Waking under the lock keeps the order of equal deadlines; it only
     * pushes onto the injection queue, which never takes this lock. */
    schedrt__task_wake(t, SCHEDRT_REF_ONE | SCHEDRT_REF_TIMER);
  }
  return tm->len ? tm->heap[0].deadline : UINT64_MAX;
}

SCHEDRT_API int schedrt_wake_at(schedrt_task *task, uint64_t deadline_ns) {
  if (!task)
    return -EINVAL;
  return schedrt__timers_add(task->rt, task, deadline_ns);
}

SCHEDRT_API schedrt_poll schedrt_sleep(schedrt_task *task, uint64_t *deadline, uint64_t delay_ns) {
  uint64_t now = schedrt__now_ns();
  if (*deadline == 0) {
    /* Saturate: a huge delay means "not before a very long time", never the past. */
    *deadline = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
    if (*deadline == 0)
      *deadline = 1;
    if (schedrt_wake_at(task, *deadline) != 0) {
      /* No timer (shutdown or no memory): do not hang, end the sleep. */
      *deadline = 0;
      return SCHEDRT_READY;
    }
    return SCHEDRT_PENDING;
  }
  if (now >= *deadline) {
    if (!schedrt__coop_proceed(task))
      return SCHEDRT_PENDING;
    *deadline = 0;
    return SCHEDRT_READY;
  }
  /*
   * A spurious poll, or the sleep moved to another task (its state is the
   * caller's): the timer armed for *deadline wakes whichever task armed it.
   * Re-arm unless this task's last armed timer is this deadline and still
   * counted; a second timer costs at most a spurious wake, a missing one a
   * task asleep for ever. Relaxed: the task's own earlier arming, or a
   * stale value that only makes us re-arm.
   */
  if (schedrt__refs_timers(atomic_load_explicit(&task->refs, memory_order_relaxed)) == 0 ||
      atomic_load_explicit(&task->timer_deadline, memory_order_relaxed) != *deadline) {
    if (schedrt_wake_at(task, *deadline) != 0) {
      *deadline = 0;
      return SCHEDRT_READY;
    }
  }
  return SCHEDRT_PENDING;
}
