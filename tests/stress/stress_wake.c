/*
 * Waking is exactly-once: a task woken concurrently from several threads, or
 * while it is being polled, is never polled concurrently and never loses a
 * wake (after the last wake it is polled at least once more), and it is not
 * polled more often than it was woken (plus its first poll).
 *
 * Phases:
 *   concurrent  foreign threads hammer the wakers of a few tasks
 *   running     each wake lands while the task's poll is in progress (handshake)
 *   ring        tasks wake each other from inside workers (LIFO slot, ring, steals)
 *   oneshot     a receiver that is polled spuriously frees its channel as soon as
 *               it has the value, while the sender may still be inside send
 *   park        a foreign thread wakes (and spawns) one task at a time, with
 *               pauses that let the workers park: each wake must unpark one
 *   moved       a oneshot's receiving side hops from task to task (each new task
 *               replaces the stored waker) while a foreign thread sends: the
 *               task that holds the wait when the value lands gets it
 *   notify      threads call notify_one while waiter tasks wait, and other
 *               threads make waiters give up (notify_cancel) at random: every
 *               notification ends exactly one wait, none is lost or doubled
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "stress.h"

#define JOIN_NS 60000000000ull /* a lost wake shows up as a join timing out */

/* Marks a poll in progress; fails if another poll of the same task is already running. */
struct excl {
  _Atomic int in_poll;
  _Atomic bool overlap;
};
static void excl_enter(struct excl *e) {
  if (atomic_exchange_explicit(&e->in_poll, 1, memory_order_acq_rel))
    atomic_store(&e->overlap, true);
}
static void excl_leave(struct excl *e) { atomic_store_explicit(&e->in_poll, 0, memory_order_release); }

static void join_or_fail(schedrt_handle *h, const char *what, unsigned i) {
  int rc = schedrt_join(h, JOIN_NS, NULL);
  STRESS_CHECK(rc == 0, "%s task %u: %s (a lost wake leaves it pending)", what, i, schedrt_strerror(rc));
}

/* ------------------------------------------------------------ concurrent */

enum { CT_TASKS = 4, CT_THREADS = 3 };

struct ct_task {
  struct excl x;
  _Atomic unsigned long gen; /* bumped before every wake */
  _Atomic unsigned long polls;
  _Atomic(schedrt_waker *) waker;
  sem_t published;
};
static struct ct_task ct[CT_TASKS];
static _Atomic unsigned ct_finished; /* waker threads done */
static unsigned long ct_rounds;

static schedrt_poll ct_fn(schedrt_task *t, void *arg) {
  struct ct_task *c = arg;
  excl_enter(&c->x);
  unsigned long polls = atomic_fetch_add(&c->polls, 1);
  if (polls == 0) {
    atomic_store(&c->waker, schedrt_waker_get(t));
    sem_post(&c->published);
  }
  /* Done once every waker thread has finished: each wakes every task once more
   * after counting itself finished, so if no wake is lost, some poll starts
   * after the count is complete. */
  bool done = atomic_load(&ct_finished) == CT_THREADS;
  /* Some work inside the poll, so that wakes land while it runs. */
  for (volatile int k = 0; k < 50; k++)
    ;
  excl_leave(&c->x);
  return done ? SCHEDRT_READY : SCHEDRT_PENDING;
}

static void *ct_waker(void *arg) {
  unsigned me = (unsigned)(uintptr_t)arg;
  uint64_t rng = me + 1;
  for (unsigned long i = 0; i < ct_rounds; i++) {
    struct ct_task *c = &ct[stress_rand(&rng) % CT_TASKS];
    atomic_fetch_add(&c->gen, 1);
    schedrt_wake_by_ref(atomic_load(&c->waker));
    /* Pace a little, so that some wakes find the task idle and some queued. */
    if ((i & 15) == 0)
      sched_yield();
  }
  atomic_fetch_add(&ct_finished, 1);
  for (unsigned k = 0; k < CT_TASKS; k++) {
    atomic_fetch_add(&ct[k].gen, 1);
    schedrt_wake_by_ref(atomic_load(&ct[k].waker));
  }
  return NULL;
}

static void phase_concurrent(schedrt_runtime *rt) {
  ct_rounds = stress_count(1000000, 300000); /* per waker thread */
  atomic_store(&ct_finished, 0);
  schedrt_handle *h[CT_TASKS];
  for (unsigned i = 0; i < CT_TASKS; i++) {
    memset(&ct[i], 0, sizeof(ct[i]));
    sem_init(&ct[i].published, 0, 0);
    STRESS_OK(schedrt_spawn_ex(rt, ct_fn, &ct[i], NULL, &h[i]));
  }
  for (unsigned i = 0; i < CT_TASKS; i++)
    STRESS_CHECK(stress_sem_wait(&ct[i].published, 30), "task %u never polled", i);
  pthread_t th[CT_THREADS];
  for (unsigned i = 0; i < CT_THREADS; i++)
    pthread_create(&th[i], NULL, ct_waker, (void *)(uintptr_t)i);
  for (unsigned i = 0; i < CT_THREADS; i++)
    pthread_join(th[i], NULL);
  unsigned long wakes = 0, polls = 0;
  for (unsigned i = 0; i < CT_TASKS; i++) {
    join_or_fail(h[i], "concurrent", i);
    wakes += atomic_load(&ct[i].gen);
    STRESS_CHECK(!atomic_load(&ct[i].x.overlap), "task %u was polled concurrently", i);
    polls += atomic_load(&ct[i].polls);
    schedrt_waker_drop(atomic_load(&ct[i].waker));
  }
  /* Exactly-once also means no more polls than wakes (plus the first poll of each task). */
  STRESS_CHECK(polls <= wakes + CT_TASKS, "%lu polls for %lu wakes", polls, wakes);
  printf("concurrent: %lu wakes from %d threads -> %lu polls of %d tasks\n", wakes, CT_THREADS, polls,
         CT_TASKS);
}

/* ------------------------------------------------------------ running */

enum { RN_PAIRS = 2 };

struct rn_task {
  struct excl x;
  _Atomic unsigned long polling; /* the poll number in progress, 0 between polls */
  _Atomic unsigned long acked;   /* the poll number the waker has woken us during */
  _Atomic unsigned long polls;
  _Atomic(schedrt_waker *) waker;
  unsigned long rounds;
  _Atomic bool timed_out;
};
static struct rn_task rn[RN_PAIRS];

static schedrt_poll rn_fn(schedrt_task *t, void *arg) {
  struct rn_task *r = arg;
  excl_enter(&r->x);
  unsigned long n = atomic_fetch_add(&r->polls, 1) + 1;
  if (n == 1)
    atomic_store(&r->waker, schedrt_waker_get(t));
  if (n > r->rounds) {
    excl_leave(&r->x);
    return SCHEDRT_READY;
  }
  /* Ask for a wake now, and wait until it has happened: it lands while we run. */
  atomic_store(&r->polling, n);
  double end = stress_now() + 30;
  while (atomic_load(&r->acked) != n) {
    if (stress_now() > end) {
      atomic_store(&r->timed_out, true);
      break;
    }
    sched_yield();
  }
  atomic_store(&r->polling, 0);
  excl_leave(&r->x);
  return SCHEDRT_PENDING; /* must be polled again: the wake came during this poll */
}

static void *rn_waker(void *arg) {
  struct rn_task *r = arg;
  for (unsigned long k = 1; k <= r->rounds; k++) {
    double end = stress_now() + 30;
    while (atomic_load(&r->polling) != k && stress_now() < end)
      sched_yield();
    if (atomic_load(&r->polling) != k)
      return NULL; /* the test fails on the join below */
    /* Several wakes during one poll still mean one more poll. */
    schedrt_waker *w = atomic_load(&r->waker);
    schedrt_wake_by_ref(w);
    schedrt_wake_by_ref(w);
    atomic_store(&r->acked, k);
  }
  return NULL;
}

static void phase_running(schedrt_runtime *rt) {
  unsigned long rounds = stress_count(100000, 50000);
  schedrt_handle *h[RN_PAIRS];
  pthread_t th[RN_PAIRS];
  for (unsigned i = 0; i < RN_PAIRS; i++) {
    memset(&rn[i], 0, sizeof(rn[i]));
    rn[i].rounds = rounds;
    STRESS_OK(schedrt_spawn_ex(rt, rn_fn, &rn[i], NULL, &h[i]));
    pthread_create(&th[i], NULL, rn_waker, &rn[i]);
  }
  for (unsigned i = 0; i < RN_PAIRS; i++) {
    join_or_fail(h[i], "running", i);
    pthread_join(th[i], NULL);
    STRESS_CHECK(!atomic_load(&rn[i].timed_out), "task %u: the waker never answered", i);
    STRESS_CHECK(!atomic_load(&rn[i].x.overlap), "task %u was polled concurrently", i);
    /* Every wake during a poll gives exactly one more poll: rounds + the final one. */
    STRESS_CHECK(atomic_load(&rn[i].polls) == rounds + 1, "task %u: %lu polls, want %lu", i,
                 atomic_load(&rn[i].polls), rounds + 1);
    schedrt_waker_drop(atomic_load(&rn[i].waker));
  }
  printf("running: %d tasks x %lu wakes during their own polls, each polled once more\n", RN_PAIRS, rounds);
}

/* ------------------------------------------------------------ ring */

/*
 * RING_TASKS tasks in a ring pass TOKENS tokens: a task holding tokens passes
 * each to its successor (a wake from inside a worker) and sometimes wakes
 * itself too. A token pass that is lost stops the ring.
 */
enum { RING_TASKS = 64, TOKENS = 8 };

struct ring_task {
  struct excl x;
  _Atomic unsigned tokens;
  _Atomic(schedrt_waker *) waker;
  _Atomic unsigned long polls;
  uint64_t rng;
};
static struct ring_task ring[RING_TASKS];
static _Atomic unsigned long ring_passes;
static unsigned long ring_target;
static _Atomic bool ring_stop;
static _Atomic unsigned ring_published;
static sem_t ring_ready;

static schedrt_poll ring_fn(schedrt_task *t, void *arg) {
  struct ring_task *r = arg;
  unsigned me = (unsigned)(r - ring);
  excl_enter(&r->x);
  if (atomic_fetch_add(&r->polls, 1) == 0) {
    atomic_store(&r->waker, schedrt_waker_get(t));
    if (atomic_fetch_add(&ring_published, 1) + 1 == RING_TASKS)
      sem_post(&ring_ready);
  }
  if (atomic_load(&ring_stop)) {
    excl_leave(&r->x);
    return SCHEDRT_READY;
  }
  unsigned n = atomic_exchange(&r->tokens, 0);
  struct ring_task *next = &ring[(me + 1) % RING_TASKS];
  for (unsigned i = 0; i < n; i++) {
    atomic_fetch_add(&next->tokens, 1);
    if (atomic_fetch_add(&ring_passes, 1) + 1 >= ring_target)
      atomic_store(&ring_stop, true);
    schedrt_waker *w = atomic_load(&next->waker);
    if (w)
      schedrt_wake_by_ref(w);
  }
  if (stress_rand(&r->rng) % 8 == 0) /* a self-wake through the waker, not a yield */
    schedrt_wake_by_ref(atomic_load(&r->waker));
  excl_leave(&r->x);
  return SCHEDRT_PENDING;
}

static void phase_ring(schedrt_runtime *rt) {
  ring_target = stress_count(5000000, 1000000);
  atomic_store(&ring_passes, 0);
  atomic_store(&ring_stop, false);
  atomic_store(&ring_published, 0);
  sem_init(&ring_ready, 0, 0);
  schedrt_handle *h[RING_TASKS];
  for (unsigned i = 0; i < RING_TASKS; i++) {
    memset(&ring[i], 0, sizeof(ring[i]));
    ring[i].rng = i + 1;
    STRESS_OK(schedrt_spawn_ex(rt, ring_fn, &ring[i], NULL, &h[i]));
  }
  STRESS_CHECK(stress_sem_wait(&ring_ready, 30), "ring tasks never polled");
  /* Every task has published its waker; hand out the tokens. */
  for (unsigned k = 0; k < TOKENS; k++) {
    struct ring_task *r = &ring[k * (RING_TASKS / TOKENS)];
    atomic_fetch_add(&r->tokens, 1);
    schedrt_wake_by_ref(atomic_load(&r->waker));
  }
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&ring_stop), 60);
  STRESS_CHECK(ok, "the ring stopped after %lu of %lu passes: a wake was lost", atomic_load(&ring_passes),
               ring_target);
  /* Wake everyone once more so that each sees the stop flag. */
  for (unsigned i = 0; i < RING_TASKS; i++)
    schedrt_wake_by_ref(atomic_load(&ring[i].waker));
  unsigned long polls = 0;
  for (unsigned i = 0; i < RING_TASKS; i++) {
    join_or_fail(h[i], "ring", i);
    STRESS_CHECK(!atomic_load(&ring[i].x.overlap), "ring task %u was polled concurrently", i);
    polls += atomic_load(&ring[i].polls);
    schedrt_waker_drop(atomic_load(&ring[i].waker));
  }
  printf("ring: %lu token passes between %d tasks (%lu polls)\n", atomic_load(&ring_passes), RING_TASKS,
         polls);
}

/* ------------------------------------------------------------ oneshot */

struct os_box {
  schedrt_oneshot ch;
};
struct os_rx {
  _Atomic(struct os_box *) box;
  sem_t registered;
  bool posted, got;
};

static schedrt_poll os_rx_fn(schedrt_task *t, void *arg) {
  struct os_rx *r = arg;
  struct os_box *b = atomic_load(&r->box);
  void *v;
  if (schedrt_oneshot_recv(&b->ch, t, &v) == SCHEDRT_READY) {
    r->got = v == (void *)r;
    /* Allowed by the API: destroy, then free, as soon as the value is in. */
    schedrt_oneshot_destroy(&b->ch);
    free(b);
    return SCHEDRT_READY;
  }
  if (!r->posted) {
    r->posted = true;
    sem_post(&r->registered);
  }
  return schedrt_yield(t); /* spurious polls while the value is on its way */
}

static void *os_sender(void *arg) {
  schedrt_runtime *rt = arg;
  unsigned long rounds = stress_count(25000, 20000);
  for (unsigned long i = 0; i < rounds; i++) {
    struct os_rx r = {.got = false};
    sem_init(&r.registered, 0, 0);
    struct os_box *b = malloc(sizeof(*b));
    STRESS_CHECK(b, "no memory");
    schedrt_oneshot_init(&b->ch);
    atomic_store(&r.box, b);
    schedrt_handle *h;
    STRESS_OK(schedrt_spawn_ex(rt, os_rx_fn, &r, NULL, &h));
    STRESS_CHECK(stress_sem_wait(&r.registered, 30), "receiver never polled");
    STRESS_OK(schedrt_oneshot_send(&b->ch, &r));
    join_or_fail(h, "oneshot receiver", (unsigned)i);
    STRESS_CHECK(r.got, "wrong value received");
    sem_destroy(&r.registered);
  }
  return NULL;
}

static void phase_oneshot(schedrt_runtime *rt) {
  enum { SENDERS = 2 };
  pthread_t th[SENDERS];
  for (int i = 0; i < SENDERS; i++)
    pthread_create(&th[i], NULL, os_sender, rt);
  for (int i = 0; i < SENDERS; i++)
    pthread_join(th[i], NULL);
  printf("oneshot: %d senders x %lu channels freed by their receivers\n", SENDERS,
         stress_count(25000, 20000));
}

/* ------------------------------------------------------------ moved */

struct mv_round {
  schedrt_runtime *rt;
  struct os_box *box;
  unsigned hops_left;
  _Atomic unsigned readies;
  sem_t registered, done;
  bool posted, got;
};

static schedrt_poll mv_fn(schedrt_task *t, void *arg) {
  struct mv_round *r = arg;
  void *v;
  if (schedrt_oneshot_recv(&r->box->ch, t, &v) == SCHEDRT_READY) {
    r->got = v == (void *)r;
    schedrt_oneshot_destroy(&r->box->ch);
    free(r->box);
    atomic_fetch_add(&r->readies, 1);
    sem_post(&r->done);
    return SCHEDRT_READY;
  }
  if (!r->posted) {
    r->posted = true;
    sem_post(&r->registered);
  }
  if (r->hops_left == 0)
    return SCHEDRT_PENDING; /* the last task waits for real */
  r->hops_left--;
  /* Hand the wait to a new task and give up: its waker stays stored until
   * the new task's recv replaces it. */
  STRESS_OK(schedrt_spawn(r->rt, mv_fn, r));
  return SCHEDRT_READY;
}

static void phase_moved(schedrt_runtime *rt) {
  unsigned long rounds = stress_count(100000, 50000);
  uint64_t rng = 0x5eed;
  for (unsigned long i = 0; i < rounds; i++) {
    struct mv_round r = {.rt = rt, .hops_left = (unsigned)(stress_rand(&rng) % 8)};
    sem_init(&r.registered, 0, 0);
    sem_init(&r.done, 0, 0);
    r.box = malloc(sizeof(*r.box));
    STRESS_CHECK(r.box, "no memory");
    schedrt_oneshot_init(&r.box->ch);
    STRESS_OK(schedrt_spawn(rt, mv_fn, &r));
    STRESS_CHECK(stress_sem_wait(&r.registered, 30), "receiver never polled");
    STRESS_OK(schedrt_oneshot_send(&r.box->ch, &r));
    STRESS_CHECK(stress_sem_wait(&r.done, 30), "round %lu: the task holding the wait was never woken", i);
    STRESS_CHECK(r.got, "wrong value received");
    STRESS_CHECK(atomic_load(&r.readies) == 1, "round %lu: %u receivers got the value", i,
                 atomic_load(&r.readies));
    sem_destroy(&r.registered);
    sem_destroy(&r.done);
  }
  printf("moved: %lu oneshot waits handed between up to 8 tasks while the value was sent\n", rounds);
}

/* ------------------------------------------------------------ park */

/*
 * The idle protocol: a producer wakes a parked worker only when no worker is
 * searching, and the last searcher re-checks the queues before it parks. A
 * lost wake-up shows as a wake (or spawn) that is never acted upon while
 * every worker sleeps. Pauses between rounds let the workers finish their
 * search spin and park; the timing varies so that some wakes land during the
 * search, some during parking, some on sleeping workers.
 */
struct pk_task {
  _Atomic(schedrt_waker *) waker;
  _Atomic unsigned long polls;
  sem_t polled;
  _Atomic bool stop;
};
static schedrt_poll pk_fn(schedrt_task *t, void *arg) {
  struct pk_task *p = arg;
  if (!atomic_load(&p->waker))
    atomic_store(&p->waker, schedrt_waker_get(t));
  atomic_fetch_add(&p->polls, 1);
  bool stop = atomic_load(&p->stop);
  sem_post(&p->polled);
  return stop ? SCHEDRT_READY : SCHEDRT_PENDING;
}
static schedrt_poll pk_noop_fn(schedrt_task *t, void *arg) {
  (void)t;
  sem_post((sem_t *)arg);
  return SCHEDRT_READY;
}

static void pause_us(unsigned us) {
  struct timespec ts = {0, (long)us * 1000};
  nanosleep(&ts, NULL);
}

static void phase_park(schedrt_runtime *rt) {
  unsigned long rounds = stress_count(20000, 20000);
  struct pk_task p;
  memset(&p, 0, sizeof(p));
  sem_init(&p.polled, 0, 0);
  schedrt_handle *h;
  STRESS_OK(schedrt_spawn_ex(rt, pk_fn, &p, NULL, &h));
  STRESS_CHECK(stress_sem_wait(&p.polled, 30), "task never polled");
  sem_t spawned_ran;
  sem_init(&spawned_ran, 0, 0);
  uint64_t rng = 5;
  for (unsigned long i = 0; i < rounds; i++) {
    uint64_t r = stress_rand(&rng);
    if (r % 8 == 0)
      pause_us((unsigned)(r >> 8) % 400); /* long enough for the workers to park */
    if (r & (1u << 5)) {
      schedrt_wake_by_ref(atomic_load(&p.waker));
      STRESS_CHECK(stress_sem_wait(&p.polled, 30), "round %lu: a wake of an idle task was lost", i);
    } else {
      STRESS_OK(schedrt_spawn(rt, pk_noop_fn, &spawned_ran));
      STRESS_CHECK(stress_sem_wait(&spawned_ran, 30), "round %lu: a remote spawn never ran", i);
    }
  }
  atomic_store(&p.stop, true);
  schedrt_wake_by_ref(atomic_load(&p.waker));
  join_or_fail(h, "park", 0);
  schedrt_waker_drop(atomic_load(&p.waker));
  sem_destroy(&spawned_ran);
  printf("park: %lu single wakes and spawns on a mostly idle runtime, none lost\n", rounds);
}

/* ------------------------------------------------------------ notify */

enum { NT_WAITERS = 8, NT_PRODUCERS = 2 };

struct nt_waiter {
  struct excl x;
  uint64_t ticket;
  _Atomic bool give_up;
  _Atomic(schedrt_waker *) waker;
};
static struct nt_waiter nt[NT_WAITERS];
static schedrt_notify *nt_n;
static _Atomic unsigned long nt_consumed, nt_cancels;
static _Atomic bool nt_stop, nt_producers_done;

static schedrt_poll nt_fn(schedrt_task *t, void *arg) {
  struct nt_waiter *w = arg;
  excl_enter(&w->x);
  if (!atomic_load(&w->waker))
    atomic_store(&w->waker, schedrt_waker_get(t));
  schedrt_poll r = SCHEDRT_PENDING;
  for (;;) {
    if (atomic_load(&nt_stop)) {
      schedrt_notify_cancel(nt_n, &w->ticket);
      r = SCHEDRT_READY;
      break;
    }
    if (atomic_exchange(&w->give_up, false) && w->ticket) {
      /* A "timeout": give up this wait (a notification already delivered is passed on), wait anew. */
      schedrt_notify_cancel(nt_n, &w->ticket);
      atomic_fetch_add(&nt_cancels, 1);
    }
    if (schedrt_notify_wait(nt_n, t, &w->ticket) == SCHEDRT_PENDING) {
      /* Registered: now look at the stop flag again. notify_all wakes only
       * those registered before it, so a waiter that saw the flag clear
       * before the final notify_all but registered after it would sleep for
       * ever (a lost wake-up of the test's own making). */
      if (!atomic_load(&nt_stop))
        break;
      continue;
    }
    if (atomic_load(&nt_stop))
      continue; /* the final notify_all, not a notify_one */
    atomic_fetch_add(&nt_consumed, 1);
  }
  excl_leave(&w->x);
  return r;
}

static void *nt_producer(void *arg) {
  unsigned long n = (unsigned long)(uintptr_t)arg;
  for (unsigned long i = 0; i < n; i++) {
    schedrt_notify_one(nt_n);
    if ((i & 7) == 0)
      sched_yield();
  }
  return NULL;
}

static void *nt_timeouts(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&nt_producers_done)) {
    struct nt_waiter *w = &nt[stress_rand(&rng) % NT_WAITERS];
    schedrt_waker *wk = atomic_load(&w->waker);
    if (wk) {
      atomic_store(&w->give_up, true);
      schedrt_wake_by_ref(wk);
    }
    sched_yield();
  }
  return NULL;
}

static void phase_notify(schedrt_runtime *rt) {
  unsigned long per = stress_count(100000, 100000), total = per * NT_PRODUCERS;
  STRESS_OK(schedrt_notify_create(&nt_n));
  atomic_store(&nt_consumed, 0);
  atomic_store(&nt_cancels, 0);
  atomic_store(&nt_stop, false);
  atomic_store(&nt_producers_done, false);
  schedrt_handle *h[NT_WAITERS];
  for (unsigned i = 0; i < NT_WAITERS; i++) {
    memset(&nt[i], 0, sizeof(nt[i]));
    STRESS_OK(schedrt_spawn_ex(rt, nt_fn, &nt[i], NULL, &h[i]));
  }
  pthread_t pr[NT_PRODUCERS], to;
  pthread_create(&to, NULL, nt_timeouts, (void *)(uintptr_t)99);
  for (unsigned i = 0; i < NT_PRODUCERS; i++)
    pthread_create(&pr[i], NULL, nt_producer, (void *)(uintptr_t)per);
  for (unsigned i = 0; i < NT_PRODUCERS; i++)
    pthread_join(pr[i], NULL);
  atomic_store(&nt_producers_done, true);
  pthread_join(to, NULL);
  /* Every notification must end exactly one wait: a lost one leaves this short. */
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&nt_consumed) >= total, 60);
  STRESS_CHECK(ok, "%lu of %lu notifications consumed (%lu cancels): one was lost", atomic_load(&nt_consumed),
               total, atomic_load(&nt_cancels));
  atomic_store(&nt_stop, true);
  schedrt_notify_all(nt_n);
  for (unsigned i = 0; i < NT_WAITERS; i++) {
    join_or_fail(h[i], "notify waiter", i);
    STRESS_CHECK(!atomic_load(&nt[i].x.overlap), "waiter %u polled concurrently", i);
    schedrt_waker_drop(atomic_load(&nt[i].waker));
  }
  STRESS_CHECK(atomic_load(&nt_consumed) == total, "%lu waits ended for %lu notifications: one was doubled",
               atomic_load(&nt_consumed), total);
  schedrt_notify_destroy(nt_n);
  printf("notify: %lu notifications, %lu waits given up, each notification ended one wait\n", total,
         atomic_load(&nt_cancels));
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv) {
  stress_watchdog(150);
  const char *only = argc > 1 ? argv[1] : NULL;
  double t0 = stress_now();
  schedrt_runtime *rt = stress_runtime(2);
  if (!only || !strcmp(only, "concurrent"))
    phase_concurrent(rt);
  if (!only || !strcmp(only, "running"))
    phase_running(rt);
  if (!only || !strcmp(only, "ring"))
    phase_ring(rt);
  if (!only || !strcmp(only, "oneshot"))
    phase_oneshot(rt);
  if (!only || !strcmp(only, "moved"))
    phase_moved(rt);
  if (!only || !strcmp(only, "park"))
    phase_park(rt);
  if (!only || !strcmp(only, "notify"))
    phase_notify(rt);
  schedrt_runtime_destroy(rt);
  printf("stress_wake: pass (%.1f s)\n", stress_now() - t0);
  return STRESS_PASS;
}
