/*
 * The dump barrier alone (white-box), with plain threads as participants:
 *  - a round where one participant never comes: the coordinator closes at the
 *    deadline, leads, and afterwards nobody is counted (Tokio #8370);
 *  - a round whose coordinator is late: the arrived participants give their
 *    arrival back at deadline + grace, the count is back to zero, and the
 *    next round needs every participant again (a leaked arrival would let
 *    it complete one short);
 *  - many rounds with participants arriving in random order: exactly one
 *    leader per round, and the count is zero between rounds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dump.h"
#include "stress.h"

#define MS 1000000ull

static _Atomic uint32_t flag;
static _Atomic bool stop;
static atomic_int leads;

static void lead(void *arg) {
  (void)arg;
  atomic_fetch_add(&leads, 1);
}

struct part {
  struct schedrt__dbar *b;
  uint32_t index;
  _Atomic int outcome; /* -1 while arriving */
};

static void *arrive_main(void *arg) {
  struct part *p = arg;
  atomic_store(&p->outcome, (int)schedrt__dbar_arrive(p->b, p->index));
  return NULL;
}

/* Starts a participant once the round is open (it would find nothing otherwise). */
static void spawn_part(pthread_t *th, struct part *p) {
  atomic_store(&p->outcome, -1);
  STRESS_CHECK(pthread_create(th, NULL, arrive_main, p) == 0, "pthread_create");
}

static void wait_arrived(struct schedrt__dbar *b, uint32_t n) {
  uint64_t until = schedrt_now_ns() + 10000 * MS;
  while (schedrt__dbar_arrived(b) != n)
    STRESS_CHECK(schedrt_now_ns() < until, "%u participants arrive", n);
}

static void missing_participant(void) {
  struct schedrt__dbar b;
  STRESS_OK(schedrt__dbar_init(&b, 3, &flag, lead, NULL, NULL));
  struct part p[2] = {{&b, 0, -1}, {&b, 1, -1}};
  pthread_t th[2];
  uint64_t t0 = schedrt_now_ns();
  /* A long grace: however slowly the threads start, they wait for our close. */
  STRESS_OK(schedrt__dbar_open(&b, t0 + 50 * MS, 60000 * MS, -1));
  for (int i = 0; i < 2; i++)
    spawn_part(&th[i], &p[i]);
  wait_arrived(&b, 2);
  STRESS_CHECK(schedrt__dbar_await_close(&b, &stop) == SCHEDRT_DBAR_LEAD,
               "the coordinator leads a short round");
  STRESS_CHECK(schedrt_now_ns() - t0 >= 50 * MS, "not before the deadline");
  STRESS_CHECK(b.present[0] && b.present[1] && !b.present[2], "covered: the two that came");
  schedrt__dbar_release(&b);
  for (int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
    STRESS_CHECK(atomic_load(&p[i].outcome) == SCHEDRT_DBAR_COVERED, "participant %d covered", i);
  }
  STRESS_OK(schedrt__dbar_finish(&b, -1, 1000 * MS));
  STRESS_CHECK(schedrt__dbar_arrived(&b) == 0, "counter back to zero after a timed-out round");
  /* The straggler shows up after the round: nothing to join, nothing counted. */
  STRESS_CHECK(schedrt__dbar_arrive(&b, 2) == SCHEDRT_DBAR_NOT_OPEN, "late arrival finds no round");
  STRESS_CHECK(schedrt__dbar_arrived(&b) == 0, "still zero");
  schedrt__dbar_destroy(&b);
}

static void late_coordinator(void) {
  struct schedrt__dbar b;
  STRESS_OK(schedrt__dbar_init(&b, 2, &flag, lead, NULL, NULL));
  struct part p0 = {&b, 0, -1}, p1 = {&b, 1, -1};
  pthread_t t0, t1;
  STRESS_OK(schedrt__dbar_open(&b, schedrt_now_ns() + 20 * MS, 20 * MS, -1));
  spawn_part(&t0, &p0);
  /* The coordinator does not close the gate: the participant gives up. */
  pthread_join(t0, NULL);
  STRESS_CHECK(atomic_load(&p0.outcome) == SCHEDRT_DBAR_GAVE_UP, "gave up: %d", atomic_load(&p0.outcome));
  STRESS_CHECK(schedrt__dbar_arrived(&b) == 0, "its arrival was given back");
  STRESS_CHECK(schedrt__dbar_await_close(&b, &stop) == SCHEDRT_DBAR_LEAD, "closing late: nobody covered");
  STRESS_CHECK(!b.present[0] && !b.present[1], "nobody covered");
  schedrt__dbar_release(&b);
  STRESS_OK(schedrt__dbar_finish(&b, -1, 1000 * MS));
  /* Next round: one arrival must not complete it. */
  atomic_store(&leads, 0);
  STRESS_OK(schedrt__dbar_open(&b, schedrt_now_ns() + 10000 * MS, 100 * MS, -1));
  spawn_part(&t0, &p0);
  wait_arrived(&b, 1);
  STRESS_CHECK(atomic_load(&leads) == 0, "a round never completes one short");
  spawn_part(&t1, &p1);
  STRESS_CHECK(schedrt__dbar_await_close(&b, &stop) == SCHEDRT_DBAR_WORKER_LED, "the last arrival leads");
  pthread_join(t0, NULL);
  pthread_join(t1, NULL);
  STRESS_CHECK(atomic_load(&leads) == 1, "one leader");
  int o0 = atomic_load(&p0.outcome), o1 = atomic_load(&p1.outcome);
  STRESS_CHECK((o0 == SCHEDRT_DBAR_COVERED && o1 == SCHEDRT_DBAR_LED), "outcomes %d %d", o0, o1);
  STRESS_OK(schedrt__dbar_finish(&b, -1, 1000 * MS));
  STRESS_CHECK(schedrt__dbar_arrived(&b) == 0, "zero again");
  schedrt__dbar_destroy(&b);
}

static void many_rounds(unsigned long rounds) {
  enum { N = 4 };
  struct schedrt__dbar b;
  STRESS_OK(schedrt__dbar_init(&b, N, &flag, lead, NULL, NULL));
  for (unsigned long r = 0; r < rounds; r++) {
    struct part p[N];
    pthread_t th[N];
    atomic_store(&leads, 0);
    /* Deadlines short enough that some rounds time out and some do not. */
    uint64_t deadline = schedrt_now_ns() + (r % 3 == 0 ? 1 : 200) * MS;
    int self = r % 5 == 0 ? (int)(r % N) : -1;
    STRESS_OK(schedrt__dbar_open(&b, deadline, 5 * MS, self));
    for (int i = 0; i < N; i++) {
      p[i] = (struct part){&b, (uint32_t)i, -1};
      if (i != self)
        spawn_part(&th[i], &p[i]);
    }
    enum schedrt__dbar_close how = schedrt__dbar_await_close(&b, &stop);
    if (how == SCHEDRT_DBAR_LEAD) {
      lead(NULL);
      schedrt__dbar_release(&b);
    }
    for (int i = 0; i < N; i++)
      if (i != self)
        pthread_join(th[i], NULL);
    STRESS_CHECK(atomic_load(&leads) == 1, "round %lu: exactly one leader (%d)", r, atomic_load(&leads));
    STRESS_OK(schedrt__dbar_finish(&b, self, 1000 * MS));
    STRESS_CHECK(schedrt__dbar_arrived(&b) == 0, "round %lu: zero between rounds", r);
  }
  schedrt__dbar_destroy(&b);
}

int main(void) {
  missing_participant();
  late_coordinator();
  many_rounds(stress_scaled(300));
  printf("stress_dump_barrier: ok\n");
  return STRESS_PASS;
}
