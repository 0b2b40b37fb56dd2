/*
 * The park seam under contention: two threads hand a token back and forth,
 * each parking until the other unparks it, while a third thread sends
 * stray wake-ups to both (a spurious wake-up must be harmless, a lost one
 * hangs the hand-off: the watchdog turns that into a failure). A fourth
 * phase parks with short deadlines racing unparks: every park returns either
 * a wake-up or a timeout, and no wake-up is lost across them.
 * Plain executable: exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "stress.h"

static schedrt_parker pk[2];
static _Atomic unsigned long turn; /* even: thread 0 moves; odd: thread 1 */
static unsigned long rounds;
static _Atomic int done;

struct side {
  unsigned me;
  unsigned long parks, empty;
};

static void *hand_off(void *arg) {
  struct side *s = arg;
  for (;;) {
    unsigned long t = atomic_load(&turn);
    if (t >= rounds)
      break;
    if (t % 2 != s->me) {
      /* Not ours: sleep until the other side (or a stray) wakes us, then look again. */
      schedrt__park(&pk[s->me], UINT64_MAX);
      s->parks++;
      continue;
    }
    atomic_store(&turn, t + 1);
    schedrt__unpark(&pk[1 - s->me]);
  }
  /* The other side may be asleep waiting for a turn that never comes. */
  schedrt__unpark(&pk[1 - s->me]);
  return NULL;
}

static void *strays(void *arg) {
  (void)arg;
  uint64_t r = 7;
  while (!atomic_load(&done)) {
    schedrt__unpark(&pk[stress_rand(&r) & 1]);
    for (unsigned i = (unsigned)(stress_rand(&r) % 2000); i; i--)
      schedrt__cpu_relax();
  }
  return NULL;
}

/* Deadlines racing wake-ups: each unpark is consumed by exactly one park (or a final take). */
static schedrt_parker dp;
static _Atomic unsigned long sent;
static void *deadline_sender(void *arg) {
  unsigned long n = *(unsigned long *)arg;
  uint64_t r = 11;
  for (unsigned long i = 0; i < n; i++) {
    /* Wait for the previous wake-up to be consumed, so that none coalesce. */
    while (atomic_load(&dp.state) == SCHEDRT_PARK_NOTIFIED)
      sched_yield();
    schedrt__unpark(&dp);
    atomic_fetch_add(&sent, 1);
    for (unsigned k = (unsigned)(stress_rand(&r) % 5000); k; k--)
      schedrt__cpu_relax();
  }
  return NULL;
}

int main(void) {
  stress_watchdog(150);
  rounds = stress_count(200000, 20000);
  for (int i = 0; i < 2; i++)
    schedrt__parker_init(&pk[i]);
  struct side a = {.me = 0}, b = {.me = 1};
  pthread_t ta, tb, tc;
  STRESS_CHECK(pthread_create(&tc, NULL, strays, NULL) == 0, "thread");
  STRESS_CHECK(pthread_create(&ta, NULL, hand_off, &a) == 0, "thread");
  STRESS_CHECK(pthread_create(&tb, NULL, hand_off, &b) == 0, "thread");
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  atomic_store(&done, 1);
  pthread_join(tc, NULL);
  STRESS_CHECK(atomic_load(&turn) == rounds, "turn %lu of %lu", atomic_load(&turn), rounds);
  printf("hand-off: %lu turns, %lu and %lu parks, none lost\n", rounds, a.parks, b.parks);

  unsigned long n = stress_count(50000, 5000), got = 0, timeouts = 0;
  schedrt__parker_init(&dp);
  pthread_t ts;
  STRESS_CHECK(pthread_create(&ts, NULL, deadline_sender, &n) == 0, "thread");
  while (got < n) {
    /* 10 to 50 us: some parks time out, some are woken, some find the wake-up waiting. */
    if (schedrt__park(&dp, (uint64_t)(got % 5 + 1) * 10000u))
      got++;
    else
      timeouts++;
  }
  pthread_join(ts, NULL);
  STRESS_CHECK(!schedrt__park_take(&dp), "a wake-up more than was sent");
  STRESS_CHECK(atomic_load(&sent) == n, "sent %lu", atomic_load(&sent));
  printf("deadlines: %lu wake-ups each consumed once, %lu timeouts between them\n", n, timeouts);
  return STRESS_PASS;
}
