/*
 * White-box tests of the bounded work-stealing ring (local_queue.c) and the
 * injection queue (inject.c), on fake zeroed tasks. Includes Tokio's queue
 * cases (tokio/src/runtime/tests/queue.rs): 256 pushes fit, the 257th
 * overflows half the ring plus itself and nothing is lost, and a steal takes
 * half.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "local_queue.h"
#include "stress.h"

#define CAP SCHEDRT_LOCAL_QUEUE_CAP

static struct schedrt_local_queue *new_queue(void) {
  struct schedrt_local_queue *q = aligned_alloc(SCHEDRT_CACHELINE, sizeof(*q));
  cr_assert_not_null(q);
  schedrt__lq_init(q);
  return q;
}

/* Fake tasks: only id (our index) and qnext are used by the queues. */
static schedrt_task *new_tasks(size_t n) {
  schedrt_task *t = calloc(n, sizeof(*t));
  cr_assert_not_null(t);
  for (size_t i = 0; i < n; i++)
    t[i].id = i;
  return t;
}

static struct schedrt_inject inject;

static void inject_setup(void) { cr_assert_eq(schedrt__inject_init(&inject), 0); }
static void inject_teardown(void) { schedrt__inject_destroy(&inject); }

/* Pops everything from the injection queue into seen[] (counting), returns how many. */
static uint64_t drain_inject(unsigned *seen, schedrt_task *base, uint64_t *order, uint64_t order_cap) {
  uint64_t n, total = 0;
  schedrt_task *t = schedrt__inject_pop_n(&inject, UINT64_MAX, &n);
  for (; t; t = t->qnext) {
    if (order && total < order_cap)
      order[total] = (uint64_t)(t - base);
    seen[t - base]++;
    total++;
  }
  cr_assert_eq(total, n, "pop_n reported %lu, list held %lu", (unsigned long)n, (unsigned long)total);
  return total;
}

static uint64_t drain_local(struct schedrt_local_queue *q, unsigned *seen, schedrt_task *base,
                            uint64_t *order, uint64_t order_cap) {
  uint64_t total = 0;
  schedrt_task *t;
  while ((t = schedrt__lq_pop(q))) {
    if (order && total < order_cap)
      order[total] = (uint64_t)(t - base);
    seen[t - base]++;
    total++;
  }
  return total;
}

TestSuite(local_queue, .init = inject_setup, .fini = inject_teardown, .timeout = 60);

Test(local_queue, empty_pop_and_len) {
  struct schedrt_local_queue *q = new_queue();
  cr_assert_null(schedrt__lq_pop(q));
  cr_assert_eq(schedrt__lq_len(q), 0);
  cr_assert_not(schedrt__lq_has_tasks(q));
  free(q);
}

/* Tokio: fits_256. */
Test(local_queue, fits_256_without_overflow) {
  struct schedrt_local_queue *q = new_queue();
  schedrt_task *t = new_tasks(CAP);
  for (unsigned i = 0; i < CAP; i++) {
    cr_assert_not(schedrt__lq_push_back_or_overflow(q, &t[i], &inject), "push %u overflowed", i);
    cr_assert_eq(schedrt__lq_len(q), i + 1);
  }
  cr_assert_eq(schedrt__inject_len(&inject), 0);
  /* FIFO for the owner. */
  for (unsigned i = 0; i < CAP; i++) {
    schedrt_task *x = schedrt__lq_pop(q);
    cr_assert_eq(x, &t[i], "pop %u returned task %ld", i, x ? (long)(x - t) : -1L);
  }
  cr_assert_null(schedrt__lq_pop(q));
  free(t);
  free(q);
}

/* Tokio's overflow, nearly: the 257th push of local work sends the oldest
 * 129 to the injection queue's tail and keeps the newest half (the pushed
 * task with them; Tokio sends the pushed task away too). */
Test(local_queue, overflow_257_moves_half_and_loses_nothing) {
  struct schedrt_local_queue *q = new_queue();
  schedrt_task *t = new_tasks(CAP + 1);
  unsigned overflows = 0;
  for (unsigned i = 0; i < CAP + 1; i++)
    overflows += schedrt__lq_push_back_or_overflow(q, &t[i], &inject);
  cr_assert_eq(overflows, 1);
  cr_assert_eq(schedrt__inject_len(&inject), CAP / 2 + 1);
  cr_assert_eq(schedrt__lq_len(q), CAP / 2);

  unsigned seen[CAP + 1] = {0};
  uint64_t order[CAP + 1];
  uint64_t from_inject = drain_inject(seen, t, order, CAP + 1);
  cr_assert_eq(from_inject, CAP / 2 + 1);
  for (unsigned i = 0; i < CAP / 2 + 1; i++)
    cr_assert_eq(order[i], i);
  uint64_t from_local = drain_local(q, seen, t, order, CAP + 1);
  cr_assert_eq(from_local, CAP / 2);
  for (unsigned i = 0; i < CAP / 2; i++)
    cr_assert_eq(order[i], CAP / 2 + 1 + i);
  for (unsigned i = 0; i < CAP + 1; i++)
    cr_assert_eq(seen[i], 1, "task %u recovered %u times", i, seen[i]);
  /* What went to the queue is marked as having been there. */
  cr_assert(atomic_load(&t[0].state) & SCHEDRT_TS_INJECTED);
  free(t);
  free(q);
}

/*
 * Tasks pulled from the injection queue and not polled yet (INJECTED) go
 * back to its front, all of them and in order, ahead of what was still
 * queued; local work keeps its newest half-ring. Every third task here was
 * pulled.
 */
Test(local_queue, overflow_sends_pulled_tasks_to_the_front_in_order) {
  struct schedrt_local_queue *q = new_queue();
  schedrt_task *t = new_tasks(CAP + 2);
  schedrt_task *queued = &t[CAP + 1]; /* already in the injection queue */
  atomic_store(&queued->state, SCHEDRT_TS_INJECTED);
  cr_assert(schedrt__inject_push(&inject, queued));
  unsigned pulled = 0;
  for (unsigned i = 0; i < CAP + 1; i++) {
    if (i % 3 == 0) {
      atomic_store(&t[i].state, SCHEDRT_TS_INJECTED);
      pulled++;
    }
    (void)schedrt__lq_push_back_or_overflow(q, &t[i], &inject);
  }
  unsigned locals = CAP + 1 - pulled;
  uint64_t order[CAP + 2];
  unsigned seen[CAP + 2] = {0};
  uint64_t n = drain_inject(seen, t, order, CAP + 2);
  cr_assert_eq(n, pulled + 1 + (locals - CAP / 2));
  /* First the pulled ones in ring order, then what was queued, then the
   * oldest local work. */
  for (unsigned k = 0; k < pulled; k++)
    cr_assert_eq(order[k], 3 * k, "front %u is task %lu", k, (unsigned long)order[k]);
  cr_assert_eq(order[pulled], CAP + 1);
  for (unsigned k = pulled + 1; k < n; k++)
    cr_assert_neq(order[k] % 3, 0, "local work at the tail, got pulled task %lu", (unsigned long)order[k]);
  cr_assert_eq(drain_local(q, seen, t, order, CAP + 2), CAP / 2);
  for (unsigned i = 0; i < CAP + 2; i++)
    cr_assert_eq(seen[i], 1, "task %u recovered %u times", i, seen[i]);
  free(t);
  free(q);
}

/* After an overflow the ring has room again: the next 127 pushes fit. */
Test(local_queue, room_after_overflow) {
  struct schedrt_local_queue *q = new_queue();
  schedrt_task *t = new_tasks(2 * CAP);
  unsigned overflows = 0, i = 0;
  for (; i < CAP + 1; i++)
    overflows += schedrt__lq_push_back_or_overflow(q, &t[i], &inject);
  for (; i < CAP + 1 + CAP / 2; i++)
    overflows += schedrt__lq_push_back_or_overflow(q, &t[i], &inject);
  cr_assert_eq(overflows, 1);
  cr_assert_eq(schedrt__lq_len(q), CAP);
  /* The ring is full again: one more overflows. */
  cr_assert(schedrt__lq_push_back_or_overflow(q, &t[i++], &inject));
  unsigned *seen = calloc(2 * CAP, sizeof(*seen));
  uint64_t total = drain_inject(seen, t, NULL, 0) + drain_local(q, seen, t, NULL, 0);
  cr_assert_eq(total, i);
  for (unsigned k = 0; k < i; k++)
    cr_assert_eq(seen[k], 1, "task %u recovered %u times", k, seen[k]);
  free(seen);
  free(t);
  free(q);
}

/* Tokio: steal_batch. Stealing from 4: 2 taken, 1 returned, 1 left in the thief, 2 in the victim. */
Test(local_queue, steal_takes_half) {
  struct schedrt_local_queue *src = new_queue(), *dst = new_queue();
  schedrt_task *t = new_tasks(4);
  for (unsigned i = 0; i < 4; i++)
    cr_assert_not(schedrt__lq_push_back_or_overflow(src, &t[i], &inject));
  uint32_t taken = 99;
  schedrt_task *got = schedrt__lq_steal_into(src, dst, &taken);
  cr_assert_eq(taken, 2);
  /* The oldest two move; the newer of them is returned to run now. */
  cr_assert_eq(got, &t[1]);
  cr_assert_eq(schedrt__lq_len(dst), 1);
  cr_assert_eq(schedrt__lq_len(src), 2);
  cr_assert_eq(schedrt__lq_pop(dst), &t[0]);
  cr_assert_null(schedrt__lq_pop(dst));
  cr_assert_eq(schedrt__lq_pop(src), &t[2]);
  cr_assert_eq(schedrt__lq_pop(src), &t[3]);
  cr_assert_null(schedrt__lq_pop(src));
  free(t);
  free(src);
  free(dst);
}

Test(local_queue, steal_counts_round_up) {
  /* n - n/2: 1 -> 1, 5 -> 3, 256 -> 128. */
  static const unsigned sizes[] = {1, 2, 3, 5, 255, 256};
  static const unsigned want[] = {1, 1, 2, 3, 128, 128};
  for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    struct schedrt_local_queue *src = new_queue(), *dst = new_queue();
    schedrt_task *t = new_tasks(sizes[k]);
    for (unsigned i = 0; i < sizes[k]; i++)
      cr_assert_not(schedrt__lq_push_back_or_overflow(src, &t[i], &inject));
    uint32_t taken = 0;
    schedrt_task *got = schedrt__lq_steal_into(src, dst, &taken);
    cr_assert_not_null(got);
    cr_assert_eq(taken, want[k], "steal from %u took %u", sizes[k], taken);
    cr_assert_eq(schedrt__lq_len(dst), want[k] - 1);
    cr_assert_eq(schedrt__lq_len(src), sizes[k] - want[k]);
    unsigned *seen = calloc(sizes[k], sizeof(*seen));
    seen[got - t]++;
    drain_local(src, seen, t, NULL, 0);
    drain_local(dst, seen, t, NULL, 0);
    for (unsigned i = 0; i < sizes[k]; i++)
      cr_assert_eq(seen[i], 1);
    free(seen);
    free(t);
    free(src);
    free(dst);
  }
}

Test(local_queue, steal_from_empty_returns_null) {
  struct schedrt_local_queue *src = new_queue(), *dst = new_queue();
  uint32_t taken = 99;
  cr_assert_null(schedrt__lq_steal_into(src, dst, &taken));
  cr_assert_eq(taken, 0);
  free(src);
  free(dst);
}

/* A thief whose own ring is more than half full does not steal (it could not fit half a ring). */
Test(local_queue, no_steal_into_a_busy_ring) {
  struct schedrt_local_queue *src = new_queue(), *dst = new_queue();
  schedrt_task *a = new_tasks(CAP), *b = new_tasks(CAP);
  for (unsigned i = 0; i < 10; i++)
    cr_assert_not(schedrt__lq_push_back_or_overflow(src, &a[i], &inject));
  for (unsigned i = 0; i < CAP / 2 + 1; i++)
    cr_assert_not(schedrt__lq_push_back_or_overflow(dst, &b[i], &inject));
  uint32_t taken = 99;
  cr_assert_null(schedrt__lq_steal_into(src, dst, &taken));
  cr_assert_eq(taken, 0);
  cr_assert_eq(schedrt__lq_len(src), 10);
  cr_assert_eq(schedrt__lq_len(dst), CAP / 2 + 1);
  /* At exactly half it may: 128 + 5 fits. */
  cr_assert_eq(schedrt__lq_pop(dst), &b[0]);
  cr_assert_not_null(schedrt__lq_steal_into(src, dst, &taken));
  cr_assert_eq(taken, 5);
  free(a);
  free(b);
  free(src);
  free(dst);
}

/* While a thief is mid-copy (steal != real), a push into a full ring sends only that task away. */
Test(local_queue, overflow_during_steal_sends_one_task) {
  struct schedrt_local_queue *q = new_queue();
  schedrt_task *t = new_tasks(CAP + 1);
  for (unsigned i = 0; i < CAP; i++)
    cr_assert_not(schedrt__lq_push_back_or_overflow(q, &t[i], &inject));
  /* Simulate a thief that claimed [0, 3) and is still copying. */
  atomic_store(&q->head, schedrt__lq_pack(0, 3));
  cr_assert(schedrt__lq_push_back_or_overflow(q, &t[CAP], &inject));
  cr_assert_eq(schedrt__inject_len(&inject), 1);
  uint64_t n;
  cr_assert_eq(schedrt__inject_pop_n(&inject, 8, &n), &t[CAP]);
  cr_assert_eq(n, 1);
  /* The owner may still pop while the thief copies; the claimed range is not reused. */
  cr_assert_eq(schedrt__lq_pop(q), &t[3]);
  cr_assert_eq(schedrt__lq_steal(atomic_load(&q->head)), 0);
  free(t);
  free(q);
}

/* Positions are 32-bit and wrap; start just before the wrap and run every operation across it. */
Test(local_queue, positions_wrap_around) {
  struct schedrt_local_queue *src = new_queue(), *dst = new_queue();
  const uint32_t start = UINT32_MAX - 100;
  atomic_store(&src->head, schedrt__lq_pack(start, start));
  atomic_store(&src->tail, start);
  atomic_store(&dst->head, schedrt__lq_pack(start + 7, start + 7));
  atomic_store(&dst->tail, start + 7);
  enum { N = 3 * CAP };
  schedrt_task *t = new_tasks(N);
  unsigned seen[N] = {0};
  unsigned pushed = 0, overflows = 0;
  for (; pushed < CAP + 1; pushed++)
    overflows += schedrt__lq_push_back_or_overflow(src, &t[pushed], &inject);
  cr_assert_eq(overflows, 1);
  cr_assert_eq(schedrt__lq_len(src), CAP / 2);
  uint32_t taken;
  schedrt_task *got = schedrt__lq_steal_into(src, dst, &taken);
  cr_assert_not_null(got);
  cr_assert_eq(taken, CAP / 4);
  seen[got - t]++;
  for (; pushed < N; pushed++)
    overflows += schedrt__lq_push_back_or_overflow(src, &t[pushed], &inject);
  uint64_t total = 1 + drain_inject(seen, t, NULL, 0) + drain_local(src, seen, t, NULL, 0) +
                   drain_local(dst, seen, t, NULL, 0);
  cr_assert_eq(total, N);
  for (unsigned i = 0; i < N; i++)
    cr_assert_eq(seen[i], 1, "task %u recovered %u times", i, seen[i]);
  free(t);
  free(src);
  free(dst);
}

/* ------------------------------------------------------------ inject */

Test(local_queue, inject_is_fifo_and_pops_in_batches) {
  schedrt_task *t = new_tasks(10);
  for (unsigned i = 0; i < 10; i++)
    cr_assert(schedrt__inject_push(&inject, &t[i]));
  cr_assert_eq(schedrt__inject_len(&inject), 10);
  uint64_t n;
  schedrt_task *x = schedrt__inject_pop_n(&inject, 4, &n);
  cr_assert_eq(n, 4);
  for (unsigned i = 0; i < 4; i++, x = x->qnext)
    cr_assert_eq(x, &t[i]);
  cr_assert_null(x, "a popped batch is NULL-terminated");
  cr_assert_eq(schedrt__inject_len(&inject), 6);
  /* A batch push keeps its order behind what is queued. */
  schedrt_task *u = new_tasks(3);
  u[0].qnext = &u[1];
  u[1].qnext = &u[2];
  cr_assert(schedrt__inject_push_batch(&inject, &u[0], &u[2], 3));
  cr_assert_eq(schedrt__inject_len(&inject), 9);
  x = schedrt__inject_pop_n(&inject, 100, &n);
  cr_assert_eq(n, 9);
  for (unsigned i = 4; i < 10; i++, x = x->qnext)
    cr_assert_eq(x, &t[i]);
  for (unsigned i = 0; i < 3; i++, x = x->qnext)
    cr_assert_eq(x, &u[i]);
  cr_assert_null(x);
  cr_assert_null(schedrt__inject_pop_n(&inject, 100, &n));
  cr_assert_eq(n, 0);
  cr_assert_null(schedrt__inject_pop_n(&inject, 0, &n));
  free(t);
  free(u);
}

Test(local_queue, inject_refuses_pushes_once_closed) {
  schedrt_task *t = new_tasks(2);
  cr_assert(schedrt__inject_push(&inject, &t[0]));
  schedrt__inject_close(&inject);
  cr_assert_not(schedrt__inject_push(&inject, &t[1]));
  /* What was queued before closing can still be drained. */
  uint64_t n;
  cr_assert_eq(schedrt__inject_pop_n(&inject, 10, &n), &t[0]);
  cr_assert_eq(n, 1);
  cr_assert_eq(schedrt__inject_len(&inject), 0);
  free(t);
}

/* ------------------------------------------------------------ races */

/*
 * One owner pushes (overflowing now and then) and pops; two thieves steal
 * into their own rings and pop from them. Every task is taken exactly once.
 * stress_steal runs the same race under TSan.
 */
enum { RACE_TASKS = 200000, RACE_THIEVES = 2 };
static struct schedrt_local_queue *race_q[1 + RACE_THIEVES];
static schedrt_task *race_t;
static _Atomic unsigned *race_seen;
static _Atomic unsigned long race_taken;
static _Atomic bool race_done;

static void race_take(schedrt_task *x) {
  atomic_fetch_add(&race_seen[x - race_t], 1);
  atomic_fetch_add(&race_taken, 1);
}

static void *race_thief(void *arg) {
  unsigned me = (unsigned)(uintptr_t)arg;
  for (;;) {
    bool done = atomic_load(&race_done);
    uint32_t n;
    schedrt_task *x = schedrt__lq_steal_into(race_q[0], race_q[me], &n);
    if (x) {
      race_take(x);
      while ((x = schedrt__lq_pop(race_q[me])))
        race_take(x);
    } else if (done) {
      return NULL;
    }
  }
}

Test(local_queue, concurrent_push_pop_steal_exactly_once) {
  race_t = new_tasks(RACE_TASKS);
  race_seen = calloc(RACE_TASKS, sizeof(*race_seen));
  for (unsigned i = 0; i <= RACE_THIEVES; i++)
    race_q[i] = new_queue();
  pthread_t th[RACE_THIEVES];
  for (unsigned i = 0; i < RACE_THIEVES; i++)
    pthread_create(&th[i], NULL, race_thief, (void *)(uintptr_t)(i + 1));
  uint64_t rng = 42;
  unsigned overflows = 0;
  for (unsigned i = 0; i < RACE_TASKS; i++) {
    overflows += schedrt__lq_push_back_or_overflow(race_q[0], &race_t[i], &inject);
    /* Pop less than we push so the ring fills up and overflows. */
    if (stress_rand(&rng) % 4 == 0) {
      schedrt_task *x = schedrt__lq_pop(race_q[0]);
      if (x)
        race_take(x);
    }
  }
  schedrt_task *x;
  while ((x = schedrt__lq_pop(race_q[0])))
    race_take(x);
  atomic_store(&race_done, true);
  for (unsigned i = 0; i < RACE_THIEVES; i++)
    pthread_join(th[i], NULL);
  uint64_t n;
  for (x = schedrt__inject_pop_n(&inject, UINT64_MAX, &n); x; x = x->qnext)
    race_take(x);
  cr_assert_eq(atomic_load(&race_taken), RACE_TASKS);
  for (unsigned i = 0; i < RACE_TASKS; i++)
    cr_assert_eq(atomic_load(&race_seen[i]), 1, "task %u taken %u times", i, atomic_load(&race_seen[i]));
  cr_log_info("overflows: %u", overflows);
  for (unsigned i = 0; i <= RACE_THIEVES; i++)
    free(race_q[i]);
  free((void *)race_seen);
  free(race_t);
}
