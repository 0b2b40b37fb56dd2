/*
 * Task dumps compiled out: the same ABI, every request answers -ENOTSUP. The
 * status names are common/'s (dump_status.c), the same in every build.
 */
#include <errno.h>

#include "internal.h"

int schedrt__dump_init(schedrt_runtime *rt) {
  rt->dump = NULL;
  return 0;
}
void schedrt__dump_fini(schedrt_runtime *rt) { (void)rt; }
void schedrt__dump_safepoint(schedrt_worker *w) { (void)w; }
void schedrt__dump_start(schedrt_runtime *rt) { (void)rt; }

void schedrt__dump_monitor_tick(schedrt_runtime *rt, uint64_t now) {
  (void)rt;
  (void)now;
}

SCHEDRT_API int schedrt_dump_fd(schedrt_runtime *rt, int fd, const schedrt_dump_opts *opts,
                                schedrt_dump_result *result) {
  (void)rt;
  (void)fd;
  (void)opts;
  (void)result;
  return -ENOTSUP;
}

SCHEDRT_API int schedrt_dump_path(schedrt_runtime *rt, const char *path, const schedrt_dump_opts *opts,
                                  schedrt_dump_result *result) {
  (void)rt;
  (void)path;
  (void)opts;
  (void)result;
  return -ENOTSUP;
}
