/*
 * Which workers sleep, and which one to wake: Tokio's idle set. The rule that
 * prevents both thundering herds and lost wake-ups: a producer wakes a
 * sleeper only when no worker is searching; the last searcher to give up
 * re-checks every queue after it stopped counting as a searcher. Each side
 * has a seq_cst fence between its write (the push; the decrement) and its
 * read (the state word; the queues), so one of them always sees the other.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define UNPARK_SHIFT 16u
#define SEARCH_MASK 0xffffu
#define ONE_UNPARKED (1u << UNPARK_SHIFT)

static inline uint32_t searching_of(uint32_t s) { return s & SEARCH_MASK; }
static inline uint32_t unparked_of(uint32_t s) { return s >> UNPARK_SHIFT; }

int schedrt__idle_init(struct schedrt_idle *idle, uint32_t nworkers) {
  idle->nworkers = nworkers;
  idle->nsleepers = 0;
  idle->sleepers = calloc(nworkers, sizeof(*idle->sleepers));
  if (!idle->sleepers)
    return -ENOMEM;
  /* Every worker starts unparked and not searching. */
  atomic_init(&idle->state, nworkers << UNPARK_SHIFT);
  int rc = pthread_mutex_init(&idle->lock, NULL);
  if (rc) {
    free(idle->sleepers);
    return -rc;
  }
  return 0;
}

void schedrt__idle_destroy(struct schedrt_idle *idle) {
  pthread_mutex_destroy(&idle->lock);
  free(idle->sleepers);
}

static bool should_wake(struct schedrt_idle *idle) {
  /* seq_cst: pairs with the producer's push (which precedes this load in the
   * total order) and with the searchers' decrements. */
  uint32_t s = atomic_load_explicit(&idle->state, memory_order_seq_cst);
  return searching_of(s) == 0 && unparked_of(s) < idle->nworkers;
}

int schedrt__idle_worker_to_notify(struct schedrt_idle *idle) {
  /* The producer's task push must be ordered before the state load. */
  atomic_thread_fence(memory_order_seq_cst);
  if (!should_wake(idle))
    return -1;
  pthread_mutex_lock(&idle->lock);
  if (!should_wake(idle) || idle->nsleepers == 0) {
    pthread_mutex_unlock(&idle->lock);
    return -1;
  }
  /* The woken worker starts out searching; count it before it runs. */
  atomic_fetch_add_explicit(&idle->state, 1u | ONE_UNPARKED, memory_order_seq_cst);
  int w = (int)idle->sleepers[--idle->nsleepers];
  pthread_mutex_unlock(&idle->lock);
  return w;
}

bool schedrt__idle_to_searching(struct schedrt_idle *idle) {
  uint32_t s = atomic_load_explicit(&idle->state, memory_order_seq_cst);
  /* At most half the workers search at once: stealing is not free. */
  if (2 * searching_of(s) >= idle->nworkers)
    return false;
  atomic_fetch_add_explicit(&idle->state, 1u, memory_order_seq_cst);
  return true;
}

bool schedrt__idle_from_searching(struct schedrt_idle *idle) {
  uint32_t prev = atomic_fetch_sub_explicit(&idle->state, 1u, memory_order_seq_cst);
  return searching_of(prev) == 1;
}

bool schedrt__idle_to_parked(struct schedrt_idle *idle, uint32_t worker, bool searching) {
  pthread_mutex_lock(&idle->lock);
  uint32_t dec = ONE_UNPARKED | (searching ? 1u : 0u);
  uint32_t prev = atomic_fetch_sub_explicit(&idle->state, dec, memory_order_seq_cst);
  idle->sleepers[idle->nsleepers++] = worker;
  pthread_mutex_unlock(&idle->lock);
  return searching && searching_of(prev) == 1;
}

bool schedrt__idle_is_parked(struct schedrt_idle *idle, uint32_t worker) {
  pthread_mutex_lock(&idle->lock);
  bool found = false;
  for (uint32_t i = 0; i < idle->nsleepers && !found; i++)
    found = idle->sleepers[i] == worker;
  pthread_mutex_unlock(&idle->lock);
  return found;
}

bool schedrt__idle_unpark_by_id(struct schedrt_idle *idle, uint32_t worker) {
  pthread_mutex_lock(&idle->lock);
  bool found = false;
  for (uint32_t i = 0; i < idle->nsleepers; i++) {
    if (idle->sleepers[i] == worker) {
      idle->sleepers[i] = idle->sleepers[--idle->nsleepers];
      atomic_fetch_add_explicit(&idle->state, ONE_UNPARKED, memory_order_seq_cst);
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&idle->lock);
  return found;
}

uint32_t schedrt__idle_num_searching(struct schedrt_idle *idle) {
  return searching_of(atomic_load_explicit(&idle->state, memory_order_seq_cst));
}
