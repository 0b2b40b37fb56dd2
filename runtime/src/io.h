/*
 * The readiness driver (io.c): epoll, driven by the monitor thread, which
 * already sleeps until the next timer. It waits in epoll_wait instead of on
 * its futex, so one wait covers timers, I/O and the monitor's own wake-ups
 * (the parker's PARKED_DRIVER state: an unpark writes the driver's eventfd).
 * docs/architecture.md, "I/O", says why a dedicated thread and not a parked
 * worker.
 */
#ifndef SCHEDRT_IO_H
#define SCHEDRT_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct schedrt_runtime;
struct schedrt_io;

struct schedrt_io_driver {
  int epfd;    /* -1 until created */
  int wake_fd; /* eventfd in the epoll set: unparks the monitor */
  /* Registrations not yet closed (for destroy), and closed ones the driver
   * still references until its current batch of events is dispatched. */
  pthread_mutex_t lock;
  struct schedrt_io *live;
  struct schedrt_io *closed;
  /* Relaxed counters, published by the monitor as metrics. */
  _Atomic uint64_t events;
  _Atomic uint64_t registered;
};

int schedrt__io_init(struct schedrt_runtime *rt);
/* After the monitor stopped: shuts every registration, closes the driver. */
void schedrt__io_fini(struct schedrt_runtime *rt);
/* Monitor thread only: sleeps in epoll for at most timeout_ns (UINT64_MAX:
 * no limit) or until its parker is unparked, then wakes the ready tasks. */
void schedrt__io_park(struct schedrt_runtime *rt, uint64_t timeout_ns);

/* A connected socket's peer as text ("127.0.0.1:80", "[::1]:80",
 * "unix:/path"); false for anything else. For dumps: best effort, the fd
 * may have been closed or reused since the task registered its wait. */
#define SCHEDRT__PEER_MAX 80
bool schedrt__io_peer(int fd, char *out, size_t n);

#endif
