/*
 * Who waits in the readiness driver (runtime/src/io.c): a parked worker, and
 * when a worker had to sleep on its futex because someone else held the
 * driver for a moment, that holder hands it over as it lets go. The
 * monitor's own look into the driver is switched off here (a 60 s period),
 * so a readiness event that nobody waits for is never seen: the join times out.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "rt_fixture.h"
#include "stress.h"

struct reader {
  schedrt_io *io;
  ssize_t res;
  sem_t waiting;
  unsigned polls;
};

static schedrt_poll read_fn(schedrt_task *t, void *arg) {
  struct reader *r = arg;
  char b;
  schedrt_poll p = schedrt_io_read(r->io, t, &b, 1, &r->res);
  if (r->polls++ == 0)
    sem_post(&r->waiting);
  return p;
}

/* Spawns a reader on a fresh socket pair and waits until it waits. */
static schedrt_handle *start_reader(schedrt_runtime *rt, struct reader *r, int sv[2]) {
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  cr_assert_eq(schedrt_io_register(rt, sv[0], &r->io), 0);
  sem_init(&r->waiting, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, read_fn, r, NULL, &h), 0);
  cr_assert(stress_sem_wait(&r->waiting, WAIT_S));
  return h;
}

/* Wakes the reader with a byte; it must read it (msg: what it means if not), then all goes. */
static void finish_reader(schedrt_runtime *rt, struct reader *r, int sv[2], schedrt_handle *h,
                          const char *msg) {
  cr_assert_eq(write(sv[1], "x", 1), 1);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0, "%s", msg);
  cr_assert_eq(r->res, 1);
  schedrt_io_close(r->io);
  close(sv[1]);
  schedrt_runtime_destroy(rt);
}

static uint32_t owner(schedrt_runtime *rt) { return atomic_load(&rt->io.owner); }
static uint32_t park_state(schedrt_runtime *rt) { return atomic_load(&rt->workers[0].park.state); }

Test(io_driver, a_parked_worker_waits_in_the_driver) {
  schedrt_runtime *rt = fixture_rt_quiet_monitor(1, "test-io-driver");
  struct reader r = {0};
  int sv[2];
  schedrt_handle *h = start_reader(rt, &r, sv);
  bool ok;
  STRESS_WAIT_UNTIL(ok, park_state(rt) == SCHEDRT_PARK_PARKED_DRIVER && (owner(rt) & SCHEDRT__IO_HELD),
                    WAIT_S);
  cr_assert(ok, "the idle worker is not asleep in epoll (park state %u, owner %u)", park_state(rt),
            owner(rt));
  finish_reader(rt, &r, sv, h, "the event woke nobody");
}

/* Runs on the worker: holds the driver as a busy worker's look would. */
static schedrt_poll hold_driver_fn(schedrt_task *t, void *arg) {
  *(bool *)arg = schedrt__io_acquire_brief(schedrt_task_runtime(t));
  return SCHEDRT_READY;
}

Test(io_driver, a_brief_holder_hands_the_driver_to_a_worker_that_wanted_it) {
  schedrt_runtime *rt = fixture_rt_quiet_monitor(1, "test-io-driver");
  struct reader r = {0};
  int sv[2];
  schedrt_handle *h = start_reader(rt, &r, sv);
  /* The worker leaves epoll to run this, which keeps the driver; then it
   * parks, finds the driver held, marks it wanted and sleeps on its futex. */
  bool held = false;
  schedrt_handle *hh;
  cr_assert_eq(schedrt_spawn_ex(rt, hold_driver_fn, &held, NULL, &hh), 0);
  cr_assert_eq(schedrt_join(hh, JOIN_NS, NULL), 0);
  cr_assert(held, "the task could not take the driver");
  bool ok;
  STRESS_WAIT_UNTIL(
      ok, park_state(rt) == SCHEDRT_PARK_PARKED && owner(rt) == (SCHEDRT__IO_HELD | SCHEDRT__IO_WANTED),
      WAIT_S);
  cr_assert(ok, "the worker did not sleep on its futex wanting the driver (park state %u, owner %u)",
            park_state(rt), owner(rt));
  /* Letting go must wake it, so it parks again in the driver. */
  schedrt__io_release_brief(rt);
  finish_reader(rt, &r, sv, h, "nobody waited in the driver after the hand-over");
}

static bool closed_list_empty(schedrt_runtime *rt) {
  pthread_mutex_lock(&rt->io.lock);
  bool empty = rt->io.closed == NULL;
  pthread_mutex_unlock(&rt->io.lock);
  return empty;
}

/* Closed registrations wait for the end of the current turn in epoll (an
 * event for them may be in its batch): while the worker sleeps there with
 * nothing to wake it, every 64th close ends the turn, so their memory does
 * not pile up. */
Test(io_driver, closes_while_the_worker_sleeps_in_epoll_are_released) {
  schedrt_runtime *rt = fixture_rt_quiet_monitor(1, "test-io-driver");
  struct reader r = {0};
  int sv[2];
  schedrt_handle *h = start_reader(rt, &r, sv);
  bool ok;
  STRESS_WAIT_UNTIL(ok, park_state(rt) == SCHEDRT_PARK_PARKED_DRIVER, WAIT_S);
  cr_assert(ok, "the idle worker is not asleep in epoll");
  /* Empty pipes' read ends: no readiness event ends the turn for them. */
  for (int i = 0; i < 64; i++) {
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    schedrt_io *io;
    cr_assert_eq(schedrt_io_register(rt, p[0], &io), 0);
    schedrt_io_close(io);
    close(p[1]);
  }
  STRESS_WAIT_UNTIL(ok, closed_list_empty(rt), WAIT_S);
  cr_assert(ok, "64 closed registrations still wait for the sleeping worker's turn to end");
  finish_reader(rt, &r, sv, h, "the reader was not woken after the closes");
}
