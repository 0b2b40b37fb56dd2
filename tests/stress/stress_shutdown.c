/*
 * Shutdown while tasks spawn and wake each other and timers are armed: every
 * task either completes or is dropped, exactly once; none is polled after it
 * completed or was dropped, or concurrently; spawns refused during shutdown
 * say -ESHUTDOWN and leave nothing behind. Run under ASan (LSan) it also
 * checks that shutdown frees every task.
 *
 * Each round creates a runtime, seeds it with tasks of four kinds, waits
 * until a random number of polls happened (a signal from the poll that
 * reaches it), and destroys the runtime in the middle of the activity:
 *   spawner  spawns 1-3 children from inside a worker, then finishes
 *   waiter   swaps its waker into a shared table, waking the previous
 *            occupant; finishes after a few polls
 *   sleeper  sleeps 0-2 ms a few times on the timer, then finishes
 *   yielder  yields a few times, then finishes
 * Foreign threads also spawn and wake during the round. The spawners stop
 * before destroy (spawning must not race destroy); the wakers keep waking
 * while destroy runs, which schedrt.h allows, and are told to stop only after
 * it returned (no wake of theirs is ordered after the return). Seeds spawned
 * with a handle are joined by threads that block in schedrt_join during
 * destroy: 0 for a task that completed, -ECANCELED for one that was dropped.
 *
 * A second phase, "remote", repeats the smallest version of the race that
 * found the remote-wake use-after-free (commit "Remote wakes count themselves
 * in the task state"): idle tasks, foreign threads hammering
 * their wakers, destroy. A third, "cross", does it with the wakers on the
 * workers of a second runtime.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "stress.h"

enum { KINDS = 4, SLOTS = 4096, TABLE = 64 };
enum { SPAWNER, WAITER, SLEEPER, YIELDER };

struct slot {
  _Atomic unsigned completed, dropped, polls;
  _Atomic int in_poll;
  _Atomic bool refused, spawned;
  int kind;
  unsigned target;   /* polls (waiter, yielder) or sleeps (sleeper) before finishing */
  unsigned progress; /* only the poller touches it */
  uint64_t deadline;
  uint64_t rng;
  schedrt_handle *handle; /* only for seeds spawned with a handle */
};

static struct slot slots[SLOTS];
static _Atomic unsigned next_slot;
static _Atomic(schedrt_waker *) table[TABLE];
static schedrt_runtime *rt;
static _Atomic unsigned long total_polls;
static unsigned long stop_at;
static sem_t stop_sem;
static _Atomic bool violation;
static char violation_msg[256];

static void fail_later(const char *msg, unsigned i) {
  if (!atomic_exchange(&violation, true))
    snprintf(violation_msg, sizeof(violation_msg), "slot %u: %s", i, msg);
}

static schedrt_poll task_fn(schedrt_task *t, void *arg);

static void drop_fn(void *arg) {
  struct slot *s = arg;
  if (atomic_fetch_add(&s->dropped, 1) != 0)
    fail_later("dropped twice", (unsigned)(s - slots));
  if (atomic_load(&s->completed))
    fail_later("dropped after completing", (unsigned)(s - slots));
  if (atomic_load(&s->in_poll))
    fail_later("dropped while being polled", (unsigned)(s - slots));
}

static const schedrt_spawn_opts opts = {.name = "shutdown-stress", .drop = drop_fn};

/* Picks a slot, configures it, spawns it. Returns false when out of slots. */
static bool spawn_one(uint64_t *rng, schedrt_handle **handle, unsigned *slot) {
  unsigned i = atomic_fetch_add(&next_slot, 1);
  if (i >= SLOTS)
    return false;
  if (slot)
    *slot = i;
  struct slot *s = &slots[i];
  s->kind = (int)(stress_rand(rng) % KINDS);
  s->target = 1 + (unsigned)(stress_rand(rng) % 4);
  s->rng = stress_rand(rng);
  atomic_store(&s->spawned, true);
  int rc = schedrt_spawn_ex(rt, task_fn, s, &opts, handle);
  if (rc != 0) {
    if (rc != -ESHUTDOWN)
      fail_later("spawn failed with something else than -ESHUTDOWN", i);
    atomic_store(&s->refused, true);
  }
  return true;
}

static schedrt_poll finish(struct slot *s) {
  atomic_fetch_add(&s->completed, 1);
  atomic_store(&s->in_poll, 0);
  return SCHEDRT_READY;
}

static schedrt_poll task_fn(schedrt_task *t, void *arg) {
  struct slot *s = arg;
  unsigned i = (unsigned)(s - slots);
  if (atomic_exchange(&s->in_poll, 1))
    fail_later("polled concurrently", i);
  if (atomic_load(&s->completed))
    fail_later("polled after completing", i);
  if (atomic_load(&s->dropped))
    fail_later("polled after being dropped", i);
  atomic_fetch_add(&s->polls, 1);
  if (atomic_fetch_add(&total_polls, 1) + 1 == stop_at)
    sem_post(&stop_sem);
  switch (s->kind) {
  case SPAWNER: {
    unsigned n = 1 + (unsigned)(stress_rand(&s->rng) % 3);
    for (unsigned k = 0; k < n; k++)
      if (!spawn_one(&s->rng, NULL, NULL))
        break;
    return finish(s);
  }
  case WAITER: {
    if (s->progress++ >= s->target)
      return finish(s);
    schedrt_waker *prev = atomic_exchange(&table[stress_rand(&s->rng) % TABLE], schedrt_waker_get(t));
    if (prev)
      schedrt_wake(prev);
    break;
  }
  case SLEEPER: {
    uint64_t delay = (stress_rand(&s->rng) % 2000) * 1000; /* 0-2 ms */
    while (s->progress < s->target) {
      if (schedrt_sleep(t, &s->deadline, delay) == SCHEDRT_PENDING) {
        atomic_store(&s->in_poll, 0);
        return SCHEDRT_PENDING;
      }
      s->progress++;
    }
    return finish(s);
  }
  case YIELDER:
    if (s->progress++ >= s->target)
      return finish(s);
    atomic_store(&s->in_poll, 0);
    return schedrt_yield(t);
  }
  atomic_store(&s->in_poll, 0);
  return SCHEDRT_PENDING;
}

/* Foreign threads: a spawner (stopped before destroy) and a waker (stopped after it). */
static _Atomic bool spawner_stop, waker_stop;
static void *foreign_spawner(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&spawner_stop)) {
    if (!spawn_one(&rng, NULL, NULL))
      break;
    for (volatile int k = 0; k < 4000; k++)
      ;
  }
  return NULL;
}
static void *foreign_waker(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&waker_stop)) {
    schedrt_waker *w = atomic_exchange(&table[stress_rand(&rng) % TABLE], NULL);
    if (w)
      schedrt_wake(w);
    for (volatile int k = 0; k < 2000; k++)
      ;
  }
  return NULL;
}

struct joiner {
  schedrt_handle *h;
  schedrt_waker *keep; /* keeps the task's memory while we peek at its state */
  int rc;
  _Atomic bool returned;
  pthread_t th;
};
static void *join_thread(void *arg) {
  struct joiner *j = arg;
  j->rc = schedrt_join(j->h, UINT64_MAX, NULL);
  atomic_store(&j->returned, true);
  return NULL;
}
/* Joining must begin before destroy returns: wait until the joiner sleeps on the task or is done. */
static bool joiner_in_join(struct joiner *j) {
  return atomic_load(&j->returned) || (atomic_load(&((schedrt_task *)j->h)->state) & SCHEDRT_TS_JOIN_THREAD);
}

static void round_run(unsigned round, uint64_t *rng, unsigned long *sum_completed, unsigned long *sum_dropped,
                      unsigned long *sum_refused) {
  memset(slots, 0, sizeof(slots));
  atomic_store(&next_slot, 0);
  atomic_store(&total_polls, 0);
  atomic_store(&spawner_stop, false);
  atomic_store(&waker_stop, false);
  for (unsigned i = 0; i < TABLE; i++)
    atomic_store(&table[i], NULL);
  sem_init(&stop_sem, 0, 0);
  stop_at = 50 + stress_rand(rng) % 3000;
  rt = stress_runtime(1 + (unsigned)(stress_rand(rng) % 4));

  enum { SEEDS = 48, HANDLES = 8 };
  struct joiner joiners[HANDLES];
  unsigned handle_slot[HANDLES];
  for (unsigned k = 0; k < SEEDS; k++) {
    schedrt_handle *h = NULL;
    spawn_one(rng, k < HANDLES ? &h : NULL, k < HANDLES ? &handle_slot[k] : NULL);
    if (k < HANDLES) {
      STRESS_CHECK(h, "seed spawn failed");
      joiners[k].h = h;
      joiners[k].keep = schedrt_waker_get((schedrt_task *)h); /* white-box: a handle is its task */
      atomic_store(&joiners[k].returned, false);
      pthread_create(&joiners[k].th, NULL, join_thread, &joiners[k]);
    }
  }
  pthread_t sp, wk;
  pthread_create(&sp, NULL, foreign_spawner, (void *)(uintptr_t)stress_rand(rng));
  pthread_create(&wk, NULL, foreign_waker, (void *)(uintptr_t)stress_rand(rng));

  /* Destroy in the middle of things: once the chosen number of polls happened
   * (or the activity died out first, which the deadline covers). */
  stress_sem_wait(&stop_sem, 2.0);
  atomic_store(&spawner_stop, true);
  pthread_join(sp, NULL);
  for (unsigned k = 0; k < HANDLES; k++) {
    bool ok;
    STRESS_WAIT_UNTIL(ok, joiner_in_join(&joiners[k]), 30);
    STRESS_CHECK(ok, "round %u: joiner %u never got into schedrt_join", round, k);
  }
  schedrt_runtime_destroy(rt);
  rt = NULL;
  atomic_store(&waker_stop, true);
  pthread_join(wk, NULL);

  STRESS_CHECK(!atomic_load(&violation), "round %u: %s", round, violation_msg);
  unsigned used = atomic_load(&next_slot);
  if (used > SLOTS)
    used = SLOTS;
  for (unsigned i = 0; i < used; i++) {
    struct slot *s = &slots[i];
    unsigned c = atomic_load(&s->completed), d = atomic_load(&s->dropped);
    if (atomic_load(&s->refused)) {
      STRESS_CHECK(c + d == 0 && atomic_load(&s->polls) == 0, "round %u slot %u: refused spawn ran (%u+%u)",
                   round, i, c, d);
      (*sum_refused)++;
      continue;
    }
    STRESS_CHECK(c + d == 1, "round %u slot %u (kind %d, %u polls): completed %u, dropped %u", round, i,
                 s->kind, atomic_load(&s->polls), c, d);
    *sum_completed += c;
    *sum_dropped += d;
  }
  /* The joiners blocked through destroy: 0 for a completed task, -ECANCELED for a dropped one. */
  for (unsigned k = 0; k < HANDLES; k++) {
    pthread_join(joiners[k].th, NULL);
    schedrt_waker_drop(joiners[k].keep);
    struct slot *s = &slots[handle_slot[k]];
    int want = atomic_load(&s->completed) ? 0 : -ECANCELED;
    STRESS_CHECK(joiners[k].rc == want, "round %u: join -> %s, want %s", round,
                 schedrt_strerror(joiners[k].rc), schedrt_strerror(want));
  }
  /* The table's wakers belong to finished or dropped tasks: releasing them frees the tasks. */
  for (unsigned i = 0; i < TABLE; i++)
    schedrt_waker_drop(atomic_exchange(&table[i], NULL));
  sem_destroy(&stop_sem);
}

/* ------------------------------------------------------------ remote */

enum { R_TASKS = 64, R_WAKERS = 3 };
static _Atomic(schedrt_waker *) r_wakers[R_TASKS];
static _Atomic unsigned r_registered;
static _Atomic bool r_stop;
static _Atomic unsigned r_dropped;
static sem_t r_ready;

static schedrt_poll r_idle_fn(schedrt_task *t, void *arg) {
  unsigned i = (unsigned)(uintptr_t)arg;
  if (!atomic_load(&r_wakers[i])) {
    atomic_store(&r_wakers[i], schedrt_waker_get(t));
    if (atomic_fetch_add(&r_registered, 1) + 1 == R_TASKS)
      sem_post(&r_ready);
  }
  return SCHEDRT_PENDING;
}
static void r_drop(void *arg) {
  (void)arg;
  atomic_fetch_add(&r_dropped, 1);
}
static void *r_waker(void *arg) {
  (void)arg;
  while (!atomic_load(&r_stop))
    for (unsigned i = 0; i < R_TASKS; i++)
      schedrt_wake_by_ref(atomic_load(&r_wakers[i]));
  return NULL;
}

/* Foreign threads wake idle tasks while destroy runs: destroy must not free the
 * runtime while a remote waker is still pushing into its injection queue. */
static void phase_remote(void) {
  unsigned rounds = (unsigned)stress_count(150, 80);
  schedrt_spawn_opts o = {.name = "remote", .drop = r_drop};
  for (unsigned r = 0; r < rounds; r++) {
    for (unsigned i = 0; i < R_TASKS; i++)
      atomic_store(&r_wakers[i], NULL);
    atomic_store(&r_registered, 0);
    atomic_store(&r_stop, false);
    atomic_store(&r_dropped, 0);
    sem_init(&r_ready, 0, 0);
    rt = stress_runtime(2);
    for (uintptr_t i = 0; i < R_TASKS; i++)
      STRESS_OK(schedrt_spawn_ex(rt, r_idle_fn, (void *)i, &o, NULL));
    STRESS_CHECK(stress_sem_wait(&r_ready, 30), "tasks never polled");
    pthread_t th[R_WAKERS];
    for (int k = 0; k < R_WAKERS; k++)
      pthread_create(&th[k], NULL, r_waker, NULL);
    schedrt_runtime_destroy(rt); /* the wakers are waking all along */
    rt = NULL;
    atomic_store(&r_stop, true);
    for (int k = 0; k < R_WAKERS; k++)
      pthread_join(th[k], NULL);
    STRESS_CHECK(atomic_load(&r_dropped) == R_TASKS, "round %u: %u of %d tasks dropped", r,
                 atomic_load(&r_dropped), R_TASKS);
    for (unsigned i = 0; i < R_TASKS; i++)
      schedrt_waker_drop(atomic_load(&r_wakers[i]));
    sem_destroy(&r_ready);
  }
  printf("remote: %u rounds of %d threads waking %d tasks through destroy\n", rounds, R_WAKERS, R_TASKS);
}

/* ------------------------------------------------------------ cross */

/*
 * The same race with the wakers on another runtime's workers: tasks of
 * runtime B keep waking the idle tasks of runtime A while A is destroyed
 * (a wake from a worker of B is a remote wake for A).
 */
static _Atomic unsigned long x_passes;
static schedrt_poll x_hammer_fn(schedrt_task *t, void *arg) {
  (void)arg;
  if (atomic_load(&r_stop))
    return SCHEDRT_READY;
  for (unsigned i = 0; i < R_TASKS; i++)
    schedrt_wake_by_ref(atomic_load(&r_wakers[i]));
  atomic_fetch_add(&x_passes, 1);
  return schedrt_yield(t);
}

static void phase_cross(void) {
  unsigned rounds = (unsigned)stress_count(100, 100);
  schedrt_spawn_opts o = {.name = "cross", .drop = r_drop};
  schedrt_runtime *b = stress_runtime(2);
  for (unsigned r = 0; r < rounds; r++) {
    for (unsigned i = 0; i < R_TASKS; i++)
      atomic_store(&r_wakers[i], NULL);
    atomic_store(&r_registered, 0);
    atomic_store(&r_stop, false);
    atomic_store(&r_dropped, 0);
    sem_init(&r_ready, 0, 0);
    rt = stress_runtime(2);
    for (uintptr_t i = 0; i < R_TASKS; i++)
      STRESS_OK(schedrt_spawn_ex(rt, r_idle_fn, (void *)i, &o, NULL));
    STRESS_CHECK(stress_sem_wait(&r_ready, 30), "tasks never polled");
    schedrt_handle *h[2];
    atomic_store(&x_passes, 0);
    for (int k = 0; k < 2; k++)
      STRESS_OK(schedrt_spawn_ex(b, x_hammer_fn, NULL, NULL, &h[k]));
    bool ok;
    STRESS_WAIT_UNTIL(ok, atomic_load(&x_passes) >= 4, 30);
    STRESS_CHECK(ok, "the hammer tasks never ran");
    schedrt_runtime_destroy(rt); /* b's workers are waking a's tasks all along */
    rt = NULL;
    atomic_store(&r_stop, true);
    for (int k = 0; k < 2; k++)
      STRESS_OK(schedrt_join(h[k], 60000000000ull, NULL));
    STRESS_CHECK(atomic_load(&r_dropped) == R_TASKS, "round %u: %u of %d tasks dropped", r,
                 atomic_load(&r_dropped), R_TASKS);
    for (unsigned i = 0; i < R_TASKS; i++)
      schedrt_waker_drop(atomic_load(&r_wakers[i]));
    sem_destroy(&r_ready);
  }
  schedrt_runtime_destroy(b);
  printf("cross: %u rounds of another runtime's tasks waking %d tasks through destroy\n", rounds, R_TASKS);
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  const char *only = argc > 1 ? argv[1] : NULL;
  double t0 = stress_now();
  if (!only || !strcmp(only, "mixed")) {
    unsigned rounds = (unsigned)stress_count(200, 100);
    uint64_t rng = 12345;
    unsigned long completed = 0, dropped = 0, refused = 0;
    for (unsigned r = 0; r < rounds; r++)
      round_run(r, &rng, &completed, &dropped, &refused);
    printf("mixed: %u rounds: %lu tasks completed, %lu dropped, %lu spawns refused\n", rounds, completed,
           dropped, refused);
    STRESS_CHECK(dropped > 0, "no task was ever dropped: the test did not race shutdown");
    STRESS_CHECK(completed > 0, "no task ever completed");
  }
  if (!only || !strcmp(only, "remote"))
    phase_remote();
  if (!only || !strcmp(only, "cross"))
    phase_cross();
  printf("stress_shutdown: pass (%.1f s)\n", stress_now() - t0);
  return STRESS_PASS;
}
