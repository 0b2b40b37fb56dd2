/* The few operating-system services the runtime needs (Linux). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t schedrt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t schedrt__coarse_now_ns(void) {
  struct timespec ts;
  /* Same epoch as CLOCK_MONOTONIC, a tick of resolution, a fifth of the cost. */
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

SCHEDRT_API uint64_t schedrt_now_ns(void) { return schedrt__now_ns(); }

void schedrt__futex_wait(_Atomic uint32_t *addr, uint32_t expected, uint64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns != UINT64_MAX) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
    ts.tv_nsec = (long)(timeout_ns % 1000000000u);
    tsp = &ts;
  }
  /* Private futex: every waiter and waker lives in this process. Spurious
   * returns (EINTR, EAGAIN) are fine: every caller re-checks its condition. */
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
}

void schedrt__futex_wake(_Atomic uint32_t *addr, int n) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

uint32_t schedrt__online_cpus(void) {
  cpu_set_t set;
  /* The affinity mask, not the machine: a process pinned to 2 CPUs wants 2 workers. */
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return (uint32_t)n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (uint32_t)n : 1u;
}

void schedrt__thread_name(const char *fmt, unsigned n) {
  char name[16];
  snprintf(name, sizeof(name), fmt, n);
  pthread_setname_np(pthread_self(), name);
}

uint64_t schedrt__seed(void) {
  static _Atomic uint64_t counter;
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
    r = schedrt__now_ns();
  /* Relaxed: only uniqueness matters, not ordering. */
  r ^= atomic_fetch_add_explicit(&counter, 0x9e3779b97f4a7c15ull, memory_order_relaxed);
  return r | 1u;
}

uint32_t schedrt__env_u32(const char *name, uint32_t lo, uint32_t hi) {
  const char *s = getenv(name);
  if (!s || !*s)
    return 0;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == '-' || *s == '+' || errno || *end || v < lo || v > hi) {
    fprintf(stderr, "schedrt: %s=\"%s\" ignored: expected a number from %u to %u\n", name, s, lo, hi);
    return 0;
  }
  return (uint32_t)v;
}
