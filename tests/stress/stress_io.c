/*
 * The readiness driver under load: no readiness event is lost, and closing a
 * registration while a task waits on it never loses the task or touches
 * freed memory.
 *
 * Phases:
 *   pingpong  PAIRS socket pairs, a task on each end, bouncing one byte:
 *             every byte is an edge that must wake the other task (2
 *             workers: tasks migrate by stealing); 10^6 events in the
 *             normal build
 *   close     tasks wait to read while a foreign thread either writes to
 *             their socket or closes their registration, at random: each
 *             task ends, with the byte or with -ECANCELED
 *   handover  echo tasks answer a foreign thread's rounds, so between rounds
 *             every worker parks: one must wait in the driver each time,
 *             also when it parked while a busy worker held the driver for
 *             a look at maintenance (it is then handed over). The monitor's
 *             fallback look is switched off (a 60 s period), so a round
 *             with nobody in epoll is never answered: it fails at 10 s
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stress.h"

#define JOIN_NS 60000000000ull /* a lost wake shows up as a join timing out */

static void socket_pair(int sv[2]) {
  STRESS_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
               strerror(errno));
}

/* ------------------------------------------------------------ pingpong */

enum { WRITE, READ };
struct end {
  schedrt_io *io;
  unsigned long left; /* round trips still to finish */
  bool serve;         /* writes first, finishes on a read; the other end the reverse */
  int phase;
  size_t done;
  char b;
};

static schedrt_poll end_fn(schedrt_task *t, void *arg) {
  struct end *e = arg;
  for (;;) {
    ssize_t res;
    if (e->phase == WRITE) {
      if (schedrt_io_write(e->io, t, &e->b, 1, &e->done, &res) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      STRESS_CHECK(res == 1, "write: %s", strerror((int)-res));
      e->phase = READ;
      if (!e->serve && --e->left == 0)
        return SCHEDRT_READY;
    } else {
      if (schedrt_io_read(e->io, t, &e->b, 1, &res) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      STRESS_CHECK(res == 1, "read: %zd", res);
      e->phase = WRITE;
      if (e->serve && --e->left == 0)
        return SCHEDRT_READY;
    }
  }
}

static void phase_pingpong(schedrt_runtime *rt) {
  enum { PAIRS = 32 };
  unsigned long per = stress_count(16000, 4000); /* round trips per pair: 2 events each */
  static struct end ends[PAIRS][2];
  schedrt_handle *h[PAIRS][2];
  for (unsigned i = 0; i < PAIRS; i++) {
    int sv[2];
    socket_pair(sv);
    for (unsigned k = 0; k < 2; k++) {
      memset(&ends[i][k], 0, sizeof(ends[i][k]));
      ends[i][k].serve = k == 0;
      ends[i][k].phase = k == 0 ? WRITE : READ;
      ends[i][k].left = per;
      ends[i][k].b = (char)i;
      STRESS_OK(schedrt_io_register(rt, sv[k], &ends[i][k].io));
    }
  }
  for (unsigned i = 0; i < PAIRS; i++)
    for (unsigned k = 0; k < 2; k++)
      STRESS_OK(schedrt_spawn_ex(rt, end_fn, &ends[i][k], NULL, &h[i][k]));
  for (unsigned i = 0; i < PAIRS; i++)
    for (unsigned k = 0; k < 2; k++) {
      int rc = schedrt_join(h[i][k], JOIN_NS, NULL);
      STRESS_CHECK(rc == 0, "pair %u end %u: %s (%lu bytes left: a lost readiness event)", i, k,
                   schedrt_strerror(rc), ends[i][k].left);
      schedrt_io_close(ends[i][k].io);
    }
  printf("pingpong: %u pairs x %lu round trips, %lu readiness waits satisfied\n", PAIRS, per,
         2ul * PAIRS * per);
}

/* --------------------------------------------------------------- close */

struct waiter {
  schedrt_io *io; /* the task's clone */
  ssize_t res;
  _Atomic bool polled;
};

static schedrt_poll waiter_fn(schedrt_task *t, void *arg) {
  struct waiter *w = arg;
  char b;
  schedrt_poll p = schedrt_io_read(w->io, t, &b, 1, &w->res);
  atomic_store(&w->polled, true);
  if (p == SCHEDRT_READY)
    schedrt_io_release(w->io);
  return p;
}

static void phase_close(schedrt_runtime *rt) {
  enum { BATCH = 16 };
  unsigned long rounds = stress_count(4000, 400);
  uint64_t rng = 0xc105e;
  unsigned long got = 0, cancelled = 0;
  for (unsigned long r = 0; r < rounds; r++) {
    struct waiter w[BATCH];
    schedrt_io *own[BATCH];
    int peer[BATCH];
    schedrt_handle *h[BATCH];
    for (unsigned i = 0; i < BATCH; i++) {
      int sv[2];
      socket_pair(sv);
      peer[i] = sv[1];
      STRESS_OK(schedrt_io_register(rt, sv[0], &own[i]));
      w[i] = (struct waiter){.io = schedrt_io_clone(own[i]), .res = 1};
      STRESS_OK(schedrt_spawn_ex(rt, waiter_fn, &w[i], NULL, &h[i]));
    }
    /* Some before the first poll, some after: both orders are covered. */
    for (unsigned i = 0; i < BATCH; i++) {
      if (stress_rand(&rng) & 1) {
        STRESS_CHECK(write(peer[i], "x", 1) == 1, "write");
        schedrt_io_close(own[i]);
      } else {
        schedrt_io_close(own[i]);
      }
    }
    for (unsigned i = 0; i < BATCH; i++) {
      int rc = schedrt_join(h[i], JOIN_NS, NULL);
      STRESS_CHECK(rc == 0, "round %lu waiter %u: %s (a close lost its waiter)", r, i, schedrt_strerror(rc));
      STRESS_CHECK(w[i].res == 1 || w[i].res == -ECANCELED, "waiter %u: %zd", i, w[i].res);
      if (w[i].res == 1)
        got++;
      else
        cancelled++;
      close(peer[i]);
    }
  }
  printf("close: %lu waits ended: %lu with data, %lu by close\n", rounds * BATCH, got, cancelled);
  STRESS_CHECK(cancelled > 0, "no wait was ended by a close: the phase proved nothing");
}

/* ------------------------------------------------------------ handover */

static void phase_handover(void) {
  enum { PAIRS = 16 };
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "stress-handover";
  cfg.monitor_period_ms = 60000;
  schedrt_runtime *rt = NULL;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  unsigned long rounds = stress_count(20000, 2000);
  static struct end ends[PAIRS];
  schedrt_handle *h[PAIRS];
  int client[PAIRS];
  for (unsigned i = 0; i < PAIRS; i++) {
    int sv[2];
    socket_pair(sv);
    client[i] = sv[1];
    /* serve false: reads, then writes back, and ends after the last write. */
    ends[i] = (struct end){.left = rounds, .phase = READ};
    STRESS_OK(schedrt_io_register(rt, sv[0], &ends[i].io));
    STRESS_OK(schedrt_spawn_ex(rt, end_fn, &ends[i], NULL, &h[i]));
  }
  for (unsigned long r = 0; r < rounds; r++) {
    for (unsigned i = 0; i < PAIRS; i++)
      STRESS_CHECK(write(client[i], "x", 1) == 1, "write: %s", strerror(errno));
    for (unsigned i = 0; i < PAIRS; i++) {
      struct pollfd pfd = {.fd = client[i], .events = POLLIN};
      int n = poll(&pfd, 1, 10000);
      STRESS_CHECK(n == 1, "round %lu pair %u: no echo within 10 s (nobody waited in the driver)", r, i);
      char b;
      STRESS_CHECK(read(client[i], &b, 1) == 1, "read: %s", strerror(errno));
    }
  }
  for (unsigned i = 0; i < PAIRS; i++) {
    STRESS_OK(schedrt_join(h[i], JOIN_NS, NULL));
    schedrt_io_close(ends[i].io);
    close(client[i]);
  }
  schedrt_runtime_destroy(rt);
  printf("handover: %lu rounds of %u echoes, the workers idle between rounds\n", rounds, PAIRS);
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  const char *only = argc > 1 ? argv[1] : NULL;
  double t0 = stress_now();
  schedrt_runtime *rt = stress_runtime(2);
  if (!only || !strcmp(only, "pingpong"))
    phase_pingpong(rt);
  if (!only || !strcmp(only, "close"))
    phase_close(rt);
  schedrt_runtime_destroy(rt);
  if (!only || !strcmp(only, "handover"))
    phase_handover();
  printf("stress_io: pass (%.1f s)\n", stress_now() - t0);
  return STRESS_PASS;
}
