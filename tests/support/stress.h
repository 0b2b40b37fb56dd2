/* Helpers for the stress tests: plain executables (TSan cannot run Criterion). */
#ifndef SCHEDRT_TEST_STRESS_H
#define SCHEDRT_TEST_STRESS_H

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"

/* liburing's convention: 0 pass, 1 fail, 77 skip. */
#define STRESS_PASS 0
#define STRESS_FAIL 1
#define STRESS_SKIP 77

/* STRESS_TSAN is 1 in a ThreadSanitizer build (clang or gcc), else 0. */
#if defined(SCHEDRT_TSAN) || defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif
#ifndef STRESS_TSAN
#define STRESS_TSAN 0
#endif

#define STRESS_CHECK(cond, ...)                                                                              \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                               \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fputc('\n', stderr);                                                                                   \
      exit(STRESS_FAIL);                                                                                     \
    }                                                                                                        \
  } while (0)

#define STRESS_OK(expr)                                                                                      \
  do {                                                                                                       \
    int stress_rc_ = (expr);                                                                                 \
    STRESS_CHECK(stress_rc_ == 0, "%s -> %s", #expr, schedrt_strerror(stress_rc_));                          \
  } while (0)

/* Scales iteration counts: STRESS_SCALE=0.1 for a quick run. */
static inline unsigned long stress_scaled(unsigned long n) {
  const char *s = getenv("STRESS_SCALE");
  double f = s ? atof(s) : 1.0;
  if (f <= 0)
    f = 1.0;
  unsigned long r = (unsigned long)((double)n * f);
  return r ? r : 1;
}

/*
 * A count with a separate default for TSan builds (which run 5-20x slower and
 * must stay under ~30 s on a 2-core CI machine); both scale with STRESS_SCALE.
 */
static inline unsigned long stress_count(unsigned long normal, unsigned long tsan) {
  return stress_scaled(STRESS_TSAN ? tsan : normal);
}

static inline schedrt_runtime *stress_runtime_ex(unsigned nworkers, uint32_t flags) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.flags = flags;
  cfg.name = "stress";
  schedrt_runtime *rt = NULL;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  return rt;
}

static inline schedrt_runtime *stress_runtime(unsigned nworkers) { return stress_runtime_ex(nworkers, 0); }

/* Monotonic seconds, for deadlines on waiting and for timings. */
static inline double stress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* sem_wait with a deadline in seconds: true if posted, false on timeout. */
static inline bool stress_sem_wait(sem_t *s, double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = (long long)ts.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
  ts.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  for (;;) {
    if (sem_timedwait(s, &ts) == 0)
      return true;
    if (errno != EINTR)
      return false;
  }
}

static inline void stress_pause_(void) {
  struct timespec ts = {0, 100000}; /* 0.1 ms: a poll interval, not a synchronisation */
  nanosleep(&ts, NULL);
}

/*
 * Waits up to `seconds` for cond (an expression) to hold, checking every
 * 0.1 ms; sets the bool ok to whether it held. For conditions that have no
 * signal to wait on (a counter reaching a value, a queue filling up).
 */
#define STRESS_WAIT_UNTIL(ok, cond, seconds)                                                                 \
  do {                                                                                                       \
    double stress_end_ = stress_now() + (seconds);                                                           \
    while (!((ok) = (cond)) && stress_now() < stress_end_)                                                   \
      stress_pause_();                                                                                       \
  } while (0)

/*
 * Waits until a writer's progress counter reached `until`: a writer thread
 * or process can start late (under TSan, seconds late), and reads that end
 * before it began prove nothing. Bounded: 60 s, then the test fails.
 */
static inline void stress_await_progress(_Atomic uint64_t *progress, uint64_t until) {
  bool started;
  /* Acquire: what the writer wrote before its count is there to read. */
  STRESS_WAIT_UNTIL(started, atomic_load_explicit(progress, memory_order_acquire) >= until, 60.0);
  STRESS_CHECK(started, "the writer did not start in 60 s");
}

/*
 * Runs writer() in a child process, as another process writing a segment the
 * caller reads, and returns once *progress (a counter on a MAP_SHARED page
 * that the writer advances) has reached `until` (stress_await_progress).
 * The child dies with the caller: a failed check exits the parent at once.
 * Reap it with stress_reap_writer after telling it to stop.
 */
static inline pid_t stress_fork_writer(void (*writer)(void), _Atomic uint64_t *progress, uint64_t until) {
  pid_t parent = getpid();
  pid_t child = fork();
  STRESS_CHECK(child >= 0, "fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(0);
    writer();
    _exit(0);
  }
  stress_await_progress(progress, until);
  return child;
}
static inline void stress_reap_writer(pid_t child) {
  int st;
  STRESS_CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer child");
}

/* A small fast PRNG for workload shapes (splitmix64). */
static inline uint64_t stress_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/*
 * Fails the test (exit 1, with a message) if it is still running after
 * `seconds`: a hang (lost wake-up, deadlock) then reads as a failure with a
 * reason rather than as ctest's TIMEOUT. Call first thing in main().
 */
static inline void stress_watchdog_fire_(int sig) {
  (void)sig;
  static const char msg[] =
      "stress watchdog: still running at the deadline (a lost wake-up or a deadlock?)\n";
  ssize_t r = write(2, msg, sizeof(msg) - 1);
  (void)r;
  _exit(STRESS_FAIL);
}
static inline void stress_watchdog(unsigned seconds) {
  signal(SIGALRM, stress_watchdog_fire_);
  alarm(seconds);
}

#endif
