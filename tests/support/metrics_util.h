/*
 * Helpers of the metrics tests that run a real runtime (Criterion): read one
 * metric through the in-process API, open the runtime's own segment.
 */
#ifndef SCHEDRT_TEST_METRICS_UTIL_H
#define SCHEDRT_TEST_METRICS_UTIL_H

#include <criterion/criterion.h>

#include "schedrt.h"
#include "schedrt/reader.h"

static inline uint64_t metric(schedrt_runtime *rt, int id, uint32_t w) {
  uint64_t v = 0;
  int rc = schedrt_metric_read(rt, (size_t)id, w, &v);
  cr_assert_eq(rc, 0, "read %s: %s", schedrt_metric_info((size_t)id)->name, schedrt_strerror(rc));
  return v;
}

static inline schedrt_reader *open_own_segment(schedrt_runtime *rt) {
  const char *name = schedrt_metrics_segment(rt);
  cr_assert_not_null(name);
  schedrt_reader *r = NULL;
  int rc = schedrt_reader_open_name(name, NULL, &r);
  cr_assert_eq(rc, 0, "open %s: %s", name, schedrt_strerror(rc));
  return r;
}

#endif
