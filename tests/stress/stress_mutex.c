/*
 * The async mutex under contention: tasks and threads that are not workers
 * (try_lock spinners and schedrt_block_on lockers) increment a plain counter
 * under it; the final count is exact (no two holders at once: TSan would
 * also report the race) and every lock ends (no lost hand-off). The owner a
 * holder sees is itself; half of the tasks give up a wait now and then
 * (lock_cancel, passing on a lock handed to them meanwhile). Then the
 * semaphore: tasks acquire 1 to 3 of 3 permits, never more in use than
 * exist, every request served, some given up.
 *
 * usage: stress_mutex [operations]   (default 10^6, under TSan too: about 3.5 s there)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "stress.h"

#define JOIN_NS 120000000000ull
enum { TASKS = 16, SPIN_THREADS = 1, BLOCK_THREADS = 1 };

static schedrt_runtime *rt;
static schedrt_mutex *mu;
static unsigned long counter; /* plain: the mutex is what protects it */
static unsigned long per_locker;

struct locker {
  unsigned long done, cancels;
  uint64_t ticket, rng;
};

static schedrt_poll lock_loop(schedrt_task *t, void *arg) {
  struct locker *l = arg;
  while (l->done < per_locker) {
    if (schedrt_mutex_lock(mu, t, &l->ticket) == SCHEDRT_PENDING) {
      /* Now and then a timeout wins: give up the place in the queue, which
       * passes on a lock handed to us meanwhile, and queue again later. */
      if (l->rng && stress_rand(&l->rng) % 16 == 0) {
        schedrt_mutex_lock_cancel(mu, &l->ticket);
        l->cancels++;
        return schedrt_yield(t);
      }
      return SCHEDRT_PENDING;
    }
    uint64_t owner = 0;
    STRESS_CHECK(schedrt_mutex_owner(mu, &owner) == 1 && owner == schedrt_task_id(t),
                 "held, but the owner is %llu, not %llu", (unsigned long long)owner,
                 (unsigned long long)schedrt_task_id(t));
    counter++;
    l->done++;
    STRESS_OK(schedrt_mutex_unlock(mu));
  }
  return SCHEDRT_READY;
}

static void *spin_thread(void *arg) {
  struct locker *l = arg;
  for (; l->done < per_locker; l->done++) {
    while (schedrt_mutex_try_lock(mu, NULL) == -EBUSY)
      sched_yield();
    counter++;
    STRESS_OK(schedrt_mutex_unlock(mu));
  }
  return NULL;
}

static void *block_thread(void *arg) {
  STRESS_OK(schedrt_block_on(rt, lock_loop, arg, NULL));
  return NULL;
}

/* ------------------------------------------------------------ semaphore */

enum { PERMITS = 3 };
static schedrt_semaphore *sem;
static _Atomic unsigned long in_use;
static unsigned long sem_per_task;

struct acquirer {
  unsigned long done;
  uint64_t ticket, rng, n;
};

static schedrt_poll acquire_loop(schedrt_task *t, void *arg) {
  struct acquirer *a = arg;
  while (a->done < sem_per_task) {
    if (!a->n)
      a->n = 1 + stress_rand(&a->rng) % PERMITS;
    if (schedrt_semaphore_acquire(sem, t, a->n, &a->ticket) == SCHEDRT_PENDING) {
      if (stress_rand(&a->rng) % 16 == 0) {
        /* Gives back permits granted meanwhile, and lets smaller requests behind it go. */
        schedrt_semaphore_acquire_cancel(sem, &a->ticket);
        a->n = 0;
        return schedrt_yield(t);
      }
      return SCHEDRT_PENDING;
    }
    unsigned long u = atomic_fetch_add(&in_use, a->n) + a->n;
    STRESS_CHECK(u <= PERMITS, "%lu permits in use of %d", u, PERMITS);
    atomic_fetch_sub(&in_use, a->n);
    schedrt_semaphore_release(sem, t, a->n);
    a->n = 0;
    a->done++;
  }
  return SCHEDRT_READY;
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 10) : stress_count(1000000, 1000000);
  enum { LOCKERS = TASKS + SPIN_THREADS + BLOCK_THREADS };
  per_locker = (total + LOCKERS - 1) / LOCKERS;
  double t0 = stress_now();
  rt = stress_runtime(2);
  STRESS_OK(schedrt_mutex_create(&mu));
  static struct locker lk[LOCKERS];
  schedrt_handle *h[TASKS];
  for (unsigned i = 0; i < TASKS; i++) {
    lk[i].rng = i % 2 ? i + 1 : 0; /* half of the tasks give up now and then */
    STRESS_OK(schedrt_spawn_ex(rt, lock_loop, &lk[i], NULL, &h[i]));
  }
  pthread_t th[SPIN_THREADS + BLOCK_THREADS];
  for (unsigned i = 0; i < SPIN_THREADS; i++)
    STRESS_CHECK(pthread_create(&th[i], NULL, spin_thread, &lk[TASKS + i]) == 0, "pthread_create");
  for (unsigned i = 0; i < BLOCK_THREADS; i++)
    STRESS_CHECK(pthread_create(&th[SPIN_THREADS + i], NULL, block_thread, &lk[TASKS + SPIN_THREADS + i]) ==
                     0,
                 "pthread_create");
  for (unsigned i = 0; i < TASKS; i++) {
    int rc = schedrt_join(h[i], JOIN_NS, NULL);
    STRESS_CHECK(rc == 0, "locker %u: %s (a lost hand-off leaves it waiting)", i, schedrt_strerror(rc));
  }
  for (unsigned i = 0; i < SPIN_THREADS + BLOCK_THREADS; i++)
    pthread_join(th[i], NULL);
  STRESS_CHECK(counter == per_locker * LOCKERS, "counter %lu, expected %lu", counter, per_locker * LOCKERS);
  STRESS_CHECK(schedrt_mutex_owner(mu, NULL) == 0, "still held at the end");
  unsigned long cancels = 0;
  for (unsigned i = 0; i < TASKS; i++)
    cancels += lk[i].cancels;
  schedrt_mutex_destroy(mu);
  double t1 = stress_now();

  sem_per_task = per_locker / 4 + 1;
  STRESS_OK(schedrt_semaphore_create(PERMITS, &sem));
  static struct acquirer aq[TASKS];
  for (unsigned i = 0; i < TASKS; i++) {
    aq[i].rng = i + 1;
    STRESS_OK(schedrt_spawn_ex(rt, acquire_loop, &aq[i], NULL, &h[i]));
  }
  for (unsigned i = 0; i < TASKS; i++) {
    int rc = schedrt_join(h[i], JOIN_NS, NULL);
    STRESS_CHECK(rc == 0, "acquirer %u: %s (a lost grant leaves it waiting)", i, schedrt_strerror(rc));
  }
  STRESS_CHECK(schedrt_semaphore_available(sem) == PERMITS, "%llu permits back of %d",
               (unsigned long long)schedrt_semaphore_available(sem), PERMITS);
  schedrt_semaphore_destroy(sem);
  schedrt_runtime_destroy(rt);
  printf("stress_mutex: ok: %lu lock/unlock by %d tasks and %d threads (%lu waits given up) in %.2f s; %lu "
         "acquire/release in %.2f s\n",
         counter, TASKS, SPIN_THREADS + BLOCK_THREADS, cancels, t1 - t0, sem_per_task * TASKS,
         stress_now() - t1);
  return STRESS_PASS;
}
