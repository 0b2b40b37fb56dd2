/* What the runtime's Criterion tests share: deadlines and a runtime maker. */
#ifndef SCHEDRT_TEST_RT_FIXTURE_H
#define SCHEDRT_TEST_RT_FIXTURE_H

#include <criterion/criterion.h>

#include "schedrt.h"

#define WAIT_S 10.0            /* deadline for anything that should happen "soon" */
#define JOIN_NS 20000000000ull /* liveness: joins return as soon as the task is done */
#define MS 1000000ull

/* The defaults, with nworkers and a name: for a test that changes a field. */
static inline schedrt_config fixture_config(unsigned nworkers, const char *name) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.name = name;
  return cfg;
}

/* A runtime made from cfg, or the test fails. */
static inline schedrt_runtime *fixture_rt_with(const schedrt_config *cfg) {
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(cfg, &rt);
  cr_assert_eq(rc, 0, "runtime_create: %s", schedrt_strerror(rc));
  return rt;
}

/* A runtime of nworkers named after the test file, or the test fails. */
static inline schedrt_runtime *fixture_rt(unsigned nworkers, const char *name) {
  schedrt_config cfg = fixture_config(nworkers, name);
  return fixture_rt_with(&cfg);
}

/* The monitor's look into the I/O driver comes once a minute: a readiness
 * event that no worker waits for in the driver then goes unseen. */
static inline schedrt_runtime *fixture_rt_quiet_monitor(unsigned nworkers, const char *name) {
  schedrt_config cfg = fixture_config(nworkers, name);
  cfg.monitor_period_ms = 60000;
  return fixture_rt_with(&cfg);
}

#endif
