/* Parking on the futex (see park.h). */
#include "park.h"

#include <unistd.h>

#include "internal.h"

bool schedrt__park_take(schedrt_parker *p) {
  uint32_t notified = SCHEDRT_PARK_NOTIFIED;
  /* Acquire: pairs with the unparker's release, so its work is visible. */
  return atomic_compare_exchange_strong_explicit(&p->state, &notified, SCHEDRT_PARK_EMPTY,
                                                 memory_order_acquire, memory_order_relaxed);
}

bool schedrt__park(schedrt_parker *p, uint64_t timeout_ns) {
  if (schedrt__park_take(p))
    return true;
  uint32_t empty = SCHEDRT_PARK_EMPTY;
  /* Relaxed: announcing the sleep orders nothing; the futex re-checks the word. */
  if (!atomic_compare_exchange_strong_explicit(&p->state, &empty, SCHEDRT_PARK_PARKED, memory_order_relaxed,
                                               memory_order_relaxed)) {
    /* Only an unpark changes the word under its owner: it is NOTIFIED now. */
    return schedrt__park_take(p);
  }
  uint64_t start = timeout_ns == UINT64_MAX ? 0 : schedrt__now_ns();
  for (;;) {
    uint64_t left = UINT64_MAX;
    if (timeout_ns != UINT64_MAX) {
      uint64_t spent = schedrt__now_ns() - start;
      left = spent < timeout_ns ? timeout_ns - spent : 0;
    }
    if (left > 0)
      /* Sleeps only while the word is still PARKED: an unpark in between makes it return at once. */
      schedrt__futex_wait(&p->state, SCHEDRT_PARK_PARKED, left);
    if (schedrt__park_take(p))
      return true;
    if (left == 0) {
      uint32_t parked = SCHEDRT_PARK_PARKED;
      if (atomic_compare_exchange_strong_explicit(&p->state, &parked, SCHEDRT_PARK_EMPTY,
                                                  memory_order_relaxed, memory_order_relaxed))
        return false;
      /* An unpark won the race with the deadline: take it. */
      return schedrt__park_take(p);
    }
    /* A spurious return (a signal, or a futex wake meant for an earlier use of the word): sleep again. */
  }
}

void schedrt__unpark(schedrt_parker *p) {
  /* Release: the work that caused this wake-up is visible after the parker's acquire. */
  uint32_t prev = atomic_exchange_explicit(&p->state, SCHEDRT_PARK_NOTIFIED, memory_order_release);
  /* The system call only for a sleeper: a parker that is awake finds NOTIFIED itself. */
  if (prev == SCHEDRT_PARK_PARKED) {
    schedrt__futex_wake(&p->state, 1);
  } else if (prev == SCHEDRT_PARK_PARKED_DRIVER) {
    /* The eventfd's counter only grows: a write never blocks (it is
     * non-blocking and we add 1 to a counter the driver drains). */
    uint64_t one = 1;
    ssize_t rc = write(p->wake_fd, &one, sizeof(one));
    (void)rc;
  }
}
