/*
 * Steal races. Every task runs exactly once, whoever takes it.
 *
 * Phases:
 *   queue   white-box: one owner pushes (overflowing into the injection queue)
 *           and pops its ring while thieves steal half of it into their own
 *           rings and pop those (the raw local_queue.c algorithm under TSan)
 *   tree    fan-out trees: every node spawns its children from inside a
 *           worker; the others steal subtrees
 *   burst   one task spawns a burst into its own worker's ring; either it then
 *           blocks its worker until a thief has run one of its children (a steal
 *           must happen), or it returns and the owner pops while thieves steal
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "local_queue.h"
#include "stress.h"

/* ------------------------------------------------------------ queue */

enum { Q_THIEVES = 2 };
static struct schedrt_local_queue *qq[1 + Q_THIEVES];
static struct schedrt_inject q_inject;
static schedrt_task *q_tasks;
static _Atomic uint8_t *q_seen;
static _Atomic unsigned long q_taken;
static _Atomic bool q_done;
static _Atomic unsigned long q_stolen;

static void q_take(schedrt_task *x) {
  uint8_t prev = atomic_fetch_add_explicit(&q_seen[x - q_tasks], 1, memory_order_relaxed);
  STRESS_CHECK(prev == 0, "task %ld taken twice", (long)(x - q_tasks));
  atomic_fetch_add_explicit(&q_taken, 1, memory_order_relaxed);
}

static void *q_thief(void *arg) {
  unsigned me = (unsigned)(uintptr_t)arg;
  for (;;) {
    bool done = atomic_load(&q_done);
    uint32_t n;
    schedrt_task *x = schedrt__lq_steal_into(qq[0], qq[me], &n);
    if (x) {
      atomic_fetch_add_explicit(&q_stolen, n, memory_order_relaxed);
      q_take(x);
      /* Pop only some: a thief with a non-empty ring is itself a victim-sized target. */
      while ((x = schedrt__lq_pop(qq[me])))
        q_take(x);
    } else if (done) {
      return NULL;
    } else {
      sched_yield();
    }
  }
}

static void phase_queue(void) {
  unsigned long n = stress_count(5000000, 1000000);
  q_tasks = calloc(n, sizeof(*q_tasks));
  q_seen = calloc(n, 1);
  STRESS_CHECK(q_tasks && q_seen, "no memory");
  STRESS_OK(schedrt__inject_init(&q_inject));
  for (unsigned i = 0; i <= Q_THIEVES; i++) {
    qq[i] = aligned_alloc(SCHEDRT_CACHELINE, sizeof(*qq[i]));
    STRESS_CHECK(qq[i], "no memory");
    schedrt__lq_init(qq[i]);
  }
  atomic_store(&q_done, false);
  pthread_t th[Q_THIEVES];
  for (unsigned i = 0; i < Q_THIEVES; i++)
    pthread_create(&th[i], NULL, q_thief, (void *)(uintptr_t)(i + 1));
  uint64_t rng = 1;
  unsigned long overflows = 0, popped = 0;
  for (unsigned long i = 0; i < n; i++) {
    overflows += schedrt__lq_push_back_or_overflow(qq[0], &q_tasks[i], &q_inject);
    /* Pop about one in three: the ring fills, overflows, and thieves find plenty. */
    if (stress_rand(&rng) % 3 == 0) {
      schedrt_task *x = schedrt__lq_pop(qq[0]);
      if (x) {
        q_take(x);
        popped++;
      }
    }
  }
  schedrt_task *x;
  while ((x = schedrt__lq_pop(qq[0])))
    q_take(x);
  atomic_store(&q_done, true);
  for (unsigned i = 0; i < Q_THIEVES; i++)
    pthread_join(th[i], NULL);
  uint64_t k;
  unsigned long from_inject = 0;
  for (x = schedrt__inject_pop_n(&q_inject, UINT64_MAX, &k); x; x = x->qnext, from_inject++)
    q_take(x);
  STRESS_CHECK(atomic_load(&q_taken) == n, "%lu of %lu tasks taken", atomic_load(&q_taken), n);
  for (unsigned long i = 0; i < n; i++)
    STRESS_CHECK(q_seen[i] == 1, "task %lu taken %u times", i, (unsigned)q_seen[i]);
  STRESS_CHECK(atomic_load(&q_stolen) > 0, "no steal happened");
  printf("queue: %lu tasks: %lu stolen, %lu overflowed to the injection queue (%lu overflows)\n", n,
         atomic_load(&q_stolen), from_inject, overflows);
  for (unsigned i = 0; i <= Q_THIEVES; i++)
    free(qq[i]);
  schedrt__inject_destroy(&q_inject);
  free(q_tasks);
  free((void *)q_seen);
}

/* ------------------------------------------------------------ tree */

static schedrt_runtime *rt;
static _Atomic uint8_t *ran;
static _Atomic unsigned long ran_total;
static _Atomic unsigned long expect_total; /* read by straggling leaves of the previous round */
static sem_t all_ran;
static _Atomic int worker_hist[64];

static void mark(unsigned long id) {
  uint8_t prev = atomic_fetch_add_explicit(&ran[id], 1, memory_order_relaxed);
  if (prev != 0) {
    fprintf(stderr, "task %lu ran twice\n", id);
    abort();
  }
  int w = schedrt_worker_index();
  if (w >= 0 && w < 64)
    atomic_fetch_add_explicit(&worker_hist[w], 1, memory_order_relaxed);
  if (atomic_fetch_add_explicit(&ran_total, 1, memory_order_acq_rel) + 1 == expect_total)
    sem_post(&all_ran);
}

static void reset_marks(unsigned long n) {
  free((void *)ran);
  ran = calloc(n, 1);
  STRESS_CHECK(ran, "no memory");
  expect_total = n;
  atomic_store(&ran_total, 0);
  sem_init(&all_ran, 0, 0);
  for (int i = 0; i < 64; i++)
    atomic_store(&worker_hist[i], 0);
}

static void wait_all(const char *what) {
  STRESS_CHECK(stress_sem_wait(&all_ran, 120), "%s: %lu of %lu tasks ran", what, atomic_load(&ran_total),
               expect_total);
  for (unsigned long i = 0; i < expect_total; i++)
    STRESS_CHECK(ran[i] == 1, "%s: task %lu ran %u times", what, i, (unsigned)ran[i]);
}

static unsigned tree_branch, tree_depth;

/* Node ids in heap order: the children of id are id*B+1 .. id*B+B. */
static schedrt_poll tree_fn(schedrt_task *t, void *arg) {
  (void)t;
  uintptr_t v = (uintptr_t)arg;
  unsigned long id = v >> 8;
  unsigned depth = v & 0xff;
  mark(id);
  if (depth < tree_depth)
    for (unsigned i = 0; i < tree_branch; i++) {
      unsigned long child = id * tree_branch + i + 1;
      if (schedrt_spawn(rt, tree_fn, (void *)(uintptr_t)((child << 8) | (depth + 1))) != 0) {
        fprintf(stderr, "spawn failed\n");
        abort();
      }
    }
  return SCHEDRT_READY;
}

static void phase_tree(void) {
  tree_branch = 4;
  tree_depth = STRESS_TSAN ? 8 : 9;
  unsigned rounds = (unsigned)stress_count(6, 3);
  unsigned long nodes = 0, level = 1;
  for (unsigned d = 0; d <= tree_depth; d++, level *= tree_branch)
    nodes += level;
  unsigned nw = schedrt_runtime_nworkers(rt);
  for (unsigned r = 0; r < rounds; r++) {
    reset_marks(nodes);
    STRESS_OK(schedrt_spawn(rt, tree_fn, (void *)(uintptr_t)0));
    wait_all("tree");
    unsigned busy = 0;
    for (unsigned w = 0; w < nw; w++)
      busy += atomic_load(&worker_hist[w]) > 0;
    printf("tree: %lu nodes (branching %u, depth %u), run by %u of %u workers\n", nodes, tree_branch,
           tree_depth, busy, nw);
  }
}

/* ------------------------------------------------------------ burst */

enum { BURST = 200 }; /* fits the ring (no overflow): only thieves can move it */

struct burst {
  unsigned long base;
  int owner;
  bool block;
  _Atomic unsigned elsewhere; /* children run by another worker */
  _Atomic bool gave_up;
};

struct child_arg {
  struct burst *b;
  unsigned long id;
};
static struct child_arg *child_args;

static schedrt_poll burst_leaf_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct child_arg *c = arg;
  if (schedrt_worker_index() != c->b->owner)
    atomic_fetch_add(&c->b->elsewhere, 1);
  mark(c->id);
  /* A little work so that owner and thieves overlap. */
  for (volatile int k = 0; k < 200; k++)
    ;
  return SCHEDRT_READY;
}

static schedrt_poll burst_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct burst *b = arg;
  b->owner = schedrt_worker_index();
  for (unsigned i = 0; i < BURST; i++) {
    struct child_arg *c = &child_args[b->base + i];
    c->b = b;
    c->id = b->base + i;
    if (schedrt_spawn(rt, burst_leaf_fn, c) != 0)
      abort();
  }
  if (b->block) {
    /* Hold this worker: the burst can only run if other workers steal it. */
    double end = stress_now() + 60;
    while (atomic_load(&b->elsewhere) == 0) {
      if (stress_now() > end) {
        atomic_store(&b->gave_up, true);
        break;
      }
      sched_yield();
    }
  }
  return SCHEDRT_READY;
}

static void phase_burst(void) {
  unsigned rounds = (unsigned)stress_count(5000, 1000);
  unsigned long n = (unsigned long)rounds * BURST;
  reset_marks(n);
  free(child_args);
  child_args = calloc(n, sizeof(*child_args));
  struct burst *bs = calloc(rounds, sizeof(*bs));
  STRESS_CHECK(child_args && bs, "no memory");
  unsigned long elsewhere = 0;
  for (unsigned r = 0; r < rounds; r++) {
    bs[r].base = (unsigned long)r * BURST;
    bs[r].block = r % 2 == 0;
    schedrt_handle *h;
    STRESS_OK(schedrt_spawn_ex(rt, burst_fn, &bs[r], NULL, &h));
    /* One burst at a time: two blocked bursts could hold every worker. */
    STRESS_OK(schedrt_join(h, 120000000000ull, NULL));
    STRESS_CHECK(!atomic_load(&bs[r].gave_up), "burst %u: no other worker stole from the blocked owner", r);
  }
  wait_all("burst");
  for (unsigned r = 0; r < rounds; r++) {
    if (bs[r].block)
      STRESS_CHECK(atomic_load(&bs[r].elsewhere) > 0, "burst %u: nothing stolen", r);
    elsewhere += atomic_load(&bs[r].elsewhere);
  }
  printf("burst: %u bursts of %d, %lu tasks run by thieves\n", rounds, BURST, elsewhere);
  free(bs);
}

/* Foreign and worker spawns interleaved with bursts: a few bursts at once, none blocking. */
static void *burst_spawner(void *arg) {
  struct burst *bs = arg;
  for (unsigned i = 0; i < 8; i++) {
    schedrt_handle *h;
    STRESS_OK(schedrt_spawn_ex(rt, burst_fn, &bs[i], NULL, &h));
    STRESS_OK(schedrt_join(h, 120000000000ull, NULL));
  }
  return NULL;
}

static void phase_parallel_bursts(void) {
  enum { THREADS = 4, PER = 8 };
  unsigned rounds = (unsigned)stress_count(150, 50);
  for (unsigned r = 0; r < rounds; r++) {
    unsigned long n = (unsigned long)THREADS * PER * BURST;
    reset_marks(n);
    free(child_args);
    child_args = calloc(n, sizeof(*child_args));
    struct burst *bs = calloc(THREADS * PER, sizeof(*bs));
    STRESS_CHECK(child_args && bs, "no memory");
    for (unsigned i = 0; i < THREADS * PER; i++)
      bs[i].base = (unsigned long)i * BURST;
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
      pthread_create(&th[i], NULL, burst_spawner, &bs[i * PER]);
    for (unsigned i = 0; i < THREADS; i++)
      pthread_join(th[i], NULL);
    wait_all("parallel bursts");
    free(bs);
  }
  printf("parallel bursts: %u rounds of %d concurrent bursts\n", rounds, THREADS * PER);
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  const char *only = argc > 1 ? argv[1] : NULL;
  double t0 = stress_now();
  if (!only || !strcmp(only, "queue"))
    phase_queue();
  rt = stress_runtime(4);
  if (!only || !strcmp(only, "tree"))
    phase_tree();
  if (!only || !strcmp(only, "burst"))
    phase_burst();
  if (!only || !strcmp(only, "parallel"))
    phase_parallel_bursts();
  schedrt_runtime_destroy(rt);
  free((void *)ran);
  free(child_args);
  printf("stress_steal: pass (%.1f s)\n", stress_now() - t0);
  return STRESS_PASS;
}
