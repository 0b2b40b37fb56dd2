/* Helpers for the stress tests: plain executables (TSan cannot run Criterion). */
#ifndef SCHEDRT_TEST_STRESS_H
#define SCHEDRT_TEST_STRESS_H

#include <stdio.h>
#include <stdlib.h>

#include "schedrt.h"

/* liburing's convention: 0 pass, 1 fail, 77 skip. */
#define STRESS_PASS 0
#define STRESS_FAIL 1
#define STRESS_SKIP 77

#define STRESS_CHECK(cond, ...)                                          \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                      \
      fputc('\n', stderr);                                               \
      exit(STRESS_FAIL);                                                 \
    }                                                                    \
  } while (0)

#define STRESS_OK(expr)                                                        \
  do {                                                                         \
    int stress_rc_ = (expr);                                                   \
    STRESS_CHECK(stress_rc_ == 0, "%s -> %s", #expr, schedrt_strerror(stress_rc_)); \
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

static inline schedrt_runtime *stress_runtime(unsigned nworkers) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.name = "stress";
  schedrt_runtime *rt = NULL;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  return rt;
}

#endif
