/*
 * Parking: how a runtime thread with nothing to do sleeps until another
 * wakes it, or until a deadline (Tokio's park.rs, on the futex). Workers park
 * here when every queue is empty (or in the I/O driver, io.h); the monitor
 * thread sleeps here between its ticks and timer deadlines.
 *
 * One word per parker:
 *   EMPTY          awake, no wake-up pending
 *   PARKED         asleep on the futex of this word
 *   NOTIFIED       a wake-up is pending: the next park consumes it and returns
 *   PARKED_DRIVER  asleep inside the I/O driver's wait (a worker holding
 *                  the driver, io.c): an unpark writes the parker's eventfd
 *                  instead of waking the futex. The driver is a second
 *                  implementation of park behind the same unpark.
 *
 * A wake-up is never lost: unpark stores NOTIFIED whatever the parker is
 * doing, and a parker sleeps only while the word still says PARKED. Several
 * unparks before a park count as one, as with Tokio's unpark.
 */
#ifndef SCHEDRT_PARK_H
#define SCHEDRT_PARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
  SCHEDRT_PARK_EMPTY = 0,
  SCHEDRT_PARK_PARKED = 1,
  SCHEDRT_PARK_NOTIFIED = 2,
  SCHEDRT_PARK_PARKED_DRIVER = 3,
};

typedef struct schedrt_parker {
  _Atomic uint32_t state;
  int wake_fd; /* the driver's eventfd, for a parker that sleeps in it; else -1 */
} schedrt_parker;

static inline void schedrt__parker_init(schedrt_parker *p) {
  atomic_init(&p->state, SCHEDRT_PARK_EMPTY);
  p->wake_fd = -1;
}

/*
 * The owner only. Sleeps until unparked, or for at most timeout_ns
 * (UINT64_MAX: no limit). A wake-up that came before the call makes it
 * return at once. True when it consumed a wake-up, false on timeout.
 */
bool schedrt__park(schedrt_parker *p, uint64_t timeout_ns);
/* The owner only: consumes a pending wake-up without sleeping; true if there was one. */
bool schedrt__park_take(schedrt_parker *p);
/* Any thread. Everything written before it is visible to the parker when it returns. */
void schedrt__unpark(schedrt_parker *p);

#endif
