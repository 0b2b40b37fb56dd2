/*
 * Task records come from per-worker magazines backed by a process-wide depot
 * (Bonwick's magazine allocator). A task is usually allocated by the worker
 * that spawns it and freed by the one that ran it, often another (stealing);
 * with plain malloc that cross-thread free takes glibc's arena lock. Here a
 * worker frees into its own magazine and trades whole magazines with the
 * depot, so the lock is taken once per SCHEDRT_MAG_SIZE tasks.
 *
 * Every block is a malloc'd block, so any thread may free() it: threads that
 * are not workers skip the magazines. Under ASan the cache is off, so
 * use-after-free stays detectable.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCHEDRT_TASK_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCHEDRT_TASK_CACHE 0
#endif
#endif
#ifndef SCHEDRT_TASK_CACHE
#define SCHEDRT_TASK_CACHE 1
#endif

#define SCHEDRT_MAG_SIZE 128u
#define SCHEDRT_DEPOT_MAX 64u /* full magazines kept: 8 k tasks, about 1.3 MB */

struct free_block {
  struct free_block *next;
};

/* Full magazines, each a list of SCHEDRT_MAG_SIZE blocks. */
static struct {
  pthread_mutex_t lock;
  struct free_block *mags[SCHEDRT_DEPOT_MAX];
  unsigned n;
} depot = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

_Static_assert(sizeof(struct free_block) <= sizeof(schedrt_task), "block must fit a task");

static struct free_block *depot_take(void) {
  struct free_block *mag = NULL;
  pthread_mutex_lock(&depot.lock);
  if (depot.n)
    mag = depot.mags[--depot.n];
  pthread_mutex_unlock(&depot.lock);
  return mag;
}

/*
 * Threads that are not workers (a main thread spawning remotely) draw whole
 * magazines from the depot too: the workers that run their tasks fill it, so
 * without this every remote spawn is a malloc in the spawner's arena against
 * the workers' frees of overflowing magazines (most of the futex calls of a
 * remote-spawn benchmark were glibc's arena lock). The rest of a magazine is
 * the thread's, through a key whose destructor frees it when the thread ends.
 */
static pthread_key_t foreign_key;
static pthread_once_t foreign_once = PTHREAD_ONCE_INIT;
static bool foreign_ok;

static void foreign_release(void *p) {
  for (struct free_block *b = p, *next; b; b = next) {
    next = b->next;
    free(b);
  }
}
static void foreign_init(void) { foreign_ok = pthread_key_create(&foreign_key, foreign_release) == 0; }

static schedrt_task *foreign_alloc(void) {
  pthread_once(&foreign_once, foreign_init);
  if (!foreign_ok)
    return NULL;
  struct free_block *b = pthread_getspecific(foreign_key);
  if (!b)
    b = depot_take();
  if (!b || pthread_setspecific(foreign_key, b->next) != 0) {
    if (b)
      foreign_release(b); /* cannot keep the rest: hand it back to malloc */
    return NULL;
  }
  return (schedrt_task *)b;
}

schedrt_task *schedrt__task_alloc(void) {
  schedrt_worker *w = schedrt__tls_worker;
  if (SCHEDRT_TASK_CACHE && w) {
    if (!w->mag_alloc)
      w->mag_alloc = depot_take();
    struct free_block *b = w->mag_alloc;
    if (b) {
      w->mag_alloc = b->next;
      return (schedrt_task *)b;
    }
  } else if (SCHEDRT_TASK_CACHE) {
    schedrt_task *t = foreign_alloc();
    if (t)
      return t;
  }
  return malloc(sizeof(schedrt_task));
}

void schedrt__task_free(schedrt_task *t) {
  schedrt_worker *w = schedrt__tls_worker;
  if (SCHEDRT_TASK_CACHE && w) {
    struct free_block *b = (struct free_block *)t;
    b->next = w->mag_free;
    w->mag_free = b;
    if (++w->mag_free_n < SCHEDRT_MAG_SIZE)
      return;
    /* A full magazine goes to the depot, or back to malloc if it is full. */
    struct free_block *mag = w->mag_free;
    w->mag_free = NULL;
    w->mag_free_n = 0;
    pthread_mutex_lock(&depot.lock);
    if (depot.n < SCHEDRT_DEPOT_MAX) {
      depot.mags[depot.n++] = mag;
      mag = NULL;
    }
    pthread_mutex_unlock(&depot.lock);
    while (mag) {
      struct free_block *next = mag->next;
      free(mag);
      mag = next;
    }
    return;
  }
  free(t);
}

void schedrt__task_cache_flush(schedrt_worker *w) {
  struct free_block *lists[2] = {w->mag_alloc, w->mag_free};
  w->mag_alloc = w->mag_free = NULL;
  w->mag_free_n = 0;
  for (int i = 0; i < 2; i++) {
    for (struct free_block *b = lists[i], *next; b; b = next) {
      next = b->next;
      free(b);
    }
  }
}
