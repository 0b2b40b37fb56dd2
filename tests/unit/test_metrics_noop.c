/*
 * The build with metrics compiled out: same ABI, -ENOTSUP, no segment, no
 * feature bit; the descriptions are the list's, as in every build.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/reader.h"

static schedrt_poll noop_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

Test(metrics_noop, api_answers_not_supported) {
  cr_assert_eq(schedrt_features() & SCHEDRT_FEATURE_METRICS, 0);
  cr_assert_str_eq(schedrt_version(), SCHEDRT_VERSION_STRING);
  cr_assert_eq(schedrt_metric_count(), SCHEDRT_M__COUNT);
  cr_assert_str_eq(schedrt_metric_info(SCHEDRT_M_polls)->name, "polls");
  cr_assert_null(schedrt_metric_info(SCHEDRT_M__COUNT));
  cr_assert_gt(schedrt_histogram_buckets(), 0);
  cr_assert_eq(schedrt_histogram_upper_ns(schedrt_histogram_buckets() - 1), UINT64_MAX);
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, noop_fn, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, 10ull * 1000000000u, NULL), 0);
  uint64_t v = 99, b[4];
  cr_assert_eq(schedrt_metric_read(rt, 0, 0, &v), -ENOTSUP);
  cr_assert_eq(schedrt_metric_histogram(rt, 0, 0, b, 4), -ENOTSUP);
  cr_assert_null(schedrt_metrics_segment(rt));
  schedrt_reader *r;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), NULL, &r), -ENOENT, "no segment in the no-op build");
  schedrt_runtime_destroy(rt);
}
