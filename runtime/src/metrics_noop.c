/*
 * Metrics compiled out (SCHEDRT_ENABLE_METRICS=OFF): the same public ABI as
 * the metrics_*.c files, answering -ENOTSUP (the idea of Tokio's
 * taskdump_mock.rs). The hooks in metrics_hooks.h are empty in this build,
 * and schedrt_features() (version.c) lacks SCHEDRT_FEATURE_METRICS. The
 * metric descriptions are common/'s (metric_defs.c), the same in every
 * build: only reading values is compiled out.
 */
#include <errno.h>

#include "internal.h"

int schedrt__metrics_start(schedrt_runtime *rt) {
  (void)rt;
  return -ENOTSUP;
}

void schedrt__metrics_stop(schedrt_runtime *rt) { (void)rt; }

void schedrt__metrics_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  (void)rt;
  (void)now;
}

bool schedrt__metrics_watch_parked(schedrt_runtime *rt) {
  (void)rt;
  return false;
}

bool schedrt__metrics_long_poll_watch(schedrt_runtime *rt, uint64_t now) {
  (void)rt;
  (void)now;
  return false;
}

uint64_t schedrt__metrics_watch_period(const schedrt_runtime *rt) {
  (void)rt;
  return 0;
}

void schedrt__metrics_monitor_start(schedrt_runtime *rt) { (void)rt; }

void *schedrt__metrics_control(schedrt_runtime *rt, size_t *size) {
  (void)rt;
  if (size)
    *size = 0;
  return NULL;
}

int schedrt__metrics_poll_info(schedrt_runtime *rt, uint32_t worker, uint64_t *task_id, uint64_t *since_ns,
                               bool *exact) {
  (void)rt;
  (void)worker;
  (void)task_id;
  (void)since_ns;
  (void)exact;
  return -ENOTSUP;
}

SCHEDRT_API int schedrt_metric_read(schedrt_runtime *rt, size_t index, uint32_t worker, uint64_t *value) {
  (void)rt;
  (void)index;
  (void)worker;
  if (value)
    *value = 0;
  return -ENOTSUP;
}

SCHEDRT_API int schedrt_metric_histogram(schedrt_runtime *rt, size_t index, uint32_t worker,
                                         uint64_t *buckets, size_t n) {
  (void)rt;
  (void)index;
  (void)worker;
  (void)buckets;
  (void)n;
  return -ENOTSUP;
}

SCHEDRT_API const char *schedrt_metrics_segment(const schedrt_runtime *rt) {
  (void)rt;
  return NULL;
}

uint64_t schedrt__metrics_tid(schedrt_runtime *rt, uint32_t worker) {
  (void)rt;
  (void)worker;
  return 0;
}

int schedrt__metrics_hist(schedrt_runtime *rt, uint32_t worker, uint32_t hist, uint64_t *buckets) {
  (void)rt;
  (void)worker;
  (void)hist;
  (void)buckets;
  return -ENOTSUP;
}

void schedrt__metrics_saved_dumps(schedrt_runtime *rt, uint32_t count) {
  (void)rt;
  (void)count;
}

int schedrt__events_snap(schedrt_runtime *rt, uint64_t window_ns, uint32_t max, struct schedrt__ev_snap *s) {
  (void)rt;
  (void)window_ns;
  (void)max;
  *s = (struct schedrt__ev_snap){0};
  return -ENOENT;
}

void schedrt__events_snap_free(struct schedrt__ev_snap *s) { (void)s; }
