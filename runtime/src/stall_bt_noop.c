/*
 * Stall backtraces built out (no libunwind at build time, or
 * SCHEDRT_ENABLE_STALL_BACKTRACE=OFF): the switch is read, said on stderr to
 * do nothing, and no signal handler is ever installed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stall_bt.h"

int schedrt__bt_create(schedrt_runtime *rt, struct schedrt__bt **out) {
  *out = NULL;
  fprintf(stderr, "schedrt: %s: stall backtraces asked for, but this build has none (no libunwind)\n",
          rt->name);
  return -ENOTSUP;
}

void schedrt__bt_destroy(struct schedrt__bt *bt) { (void)bt; }

void schedrt__bt_capture(struct schedrt__bt *bt, uint32_t i, uint64_t wait_ns,
                         struct schedrt__bt_result *out) {
  (void)bt;
  (void)i;
  (void)wait_ns;
  memset(out, 0, offsetof(struct schedrt__bt_result, frames));
  out->result = SCHEDRT_DUMP_BT_UNAVAILABLE;
  snprintf(out->why, sizeof(out->why), "built without libunwind");
}

int schedrt__bt_signal(const struct schedrt__bt *bt) {
  (void)bt;
  return 0;
}

uint64_t schedrt__bt_answered(const struct schedrt__bt *bt) {
  (void)bt;
  return 0;
}
