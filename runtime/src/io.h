/*
 * The readiness driver (io.c): one epoll set, waited in by whichever runtime
 * thread holds it, Tokio's way: a worker that finds nothing to run parks
 * inside epoll_wait (the parker's PARKED_DRIVER state: an unpark writes the
 * driver's eventfd), so the tasks its events wake run on it without a hop.
 * Busy workers look into it without sleeping at maintenance, and the monitor
 * once a period if nobody did, for when every worker is stuck in a poll.
 * docs/architecture.md, "I/O", says why and what it measured.
 */
#ifndef SCHEDRT_IO_H
#define SCHEDRT_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct schedrt_runtime;
struct schedrt_io;
struct schedrt_parker;

struct schedrt_io_driver {
  int epfd;    /* -1 until created */
  int wake_fd; /* eventfd in the epoll set: unparks the thread waiting in it */
  /* Set once by the first registration: until then parked workers sleep on
   * their futex (cheaper to wake) and nobody looks into epoll. */
  _Atomic bool active;
  /* SCHEDRT__IO_HELD while one thread waits in or reads the epoll set;
   * SCHEDRT__IO_WANTED when a worker found it held and went to sleep on its
   * futex, so a brief holder must hand the driver on (io.c). */
  _Atomic uint32_t owner;
  /* Registrations not yet closed (for destroy), and closed ones the driver
   * still references until the batch of events it took is dispatched. */
  pthread_mutex_t lock;
  struct schedrt_io *live;
  struct schedrt_io *closed;
  uint32_t nclosed; /* on the closed list, under lock */
  /* Relaxed counters, published by the monitor as metrics. */
  _Atomic uint64_t events;
  _Atomic uint64_t registered;
  /* Turns taken in epoll (holders take turns, so a plain increment); the
   * monitor looks in only when no turn came for a whole period. */
  _Atomic uint64_t turns;
  uint64_t monitor_turns; /* the monitor's: turns at its last tick */
};

/* The owner word's bits (io.c says how holders use them). */
enum { SCHEDRT__IO_HELD = 1u, SCHEDRT__IO_WANTED = 2u };

/* One turn's events, and the registrations closed before it (io.c). Up to
 * Tokio's event capacity: with a thousand connections ready, one turn takes
 * them all (128 at a time, p99 under wrk -c1000 was about a third higher). */
#define SCHEDRT__IO_BATCH 1024
struct schedrt_io_batch {
  int n;
  struct schedrt_io *closed;
  struct epoll_event evs[SCHEDRT__IO_BATCH];
};

int schedrt__io_init(struct schedrt_runtime *rt);
/* After the workers and the monitor stopped: shuts every registration, closes the driver. */
void schedrt__io_fini(struct schedrt_runtime *rt);

/*
 * A parking worker: takes the driver to sleep in it. On failure (another
 * thread holds it) marks it wanted, so a brief holder hands it on when it
 * lets go (with a wake-up of a sleeper). Then schedrt__io_wait with its
 * parker, schedrt__io_dispatch, schedrt__io_release_parked.
 */
bool schedrt__io_acquire_to_park(struct schedrt_runtime *rt);
/* A parked holder lets go; a wanted mark stays for the next brief holder. */
void schedrt__io_release_parked(struct schedrt_runtime *rt);
/*
 * The holder only. Waits in epoll for at most timeout_ns (UINT64_MAX: no
 * limit; p NULL: no wait at all) or until p is unparked. Returns the number
 * of registrations with events in b (not counting the driver's eventfd).
 */
int schedrt__io_wait(struct schedrt_runtime *rt, struct schedrt_parker *p, uint64_t timeout_ns,
                     struct schedrt_io_batch *b);
/* The holder only, after schedrt__io_wait: wakes the ready tasks (on a
 * worker, into its own queues); returns the events dispatched. */
uint32_t schedrt__io_dispatch(struct schedrt_runtime *rt, struct schedrt_io_batch *b);
/* A brief holder: takes the driver only if nobody holds it; lets go of it
 * waking a sleeping worker if one wanted it meanwhile. */
bool schedrt__io_acquire_brief(struct schedrt_runtime *rt);
void schedrt__io_release_brief(struct schedrt_runtime *rt);
/*
 * A look without sleeping, by a busy worker at maintenance or by the
 * monitor's tick: does nothing if another thread holds the driver; else waits for
 * nothing, dispatches, and hands the driver to a sleeping worker that wanted
 * it. Returns the events dispatched.
 */
uint32_t schedrt__io_poll_now(struct schedrt_runtime *rt);

/* The monitor, once a period: the fallback for when every worker is busy
 * in long polls. Looks into the driver only if nobody did since its last
 * tick: at every wake-up it would take the events of busy workers' next
 * look and send their tasks the long way, through the injection queue. */
void schedrt__io_monitor_tick(struct schedrt_runtime *rt);

/* A connected socket's peer as text ("127.0.0.1:80", "[::1]:80",
 * "unix:/path"); false for anything else. For dumps: best effort, the fd
 * may have been closed or reused since the task registered its wait. */
#define SCHEDRT__PEER_MAX 80
bool schedrt__io_peer(int fd, char *out, size_t n);

#endif
