/*
 * Stall backtraces (issue 19, item 2): the native stack of a worker stuck in
 * one poll, for the watchdog's dump. Off by default; on with
 * SCHEDRT_CFG_STALL_BACKTRACE or SCHEDRT_STALL_BACKTRACE=1. The watchdog's
 * helper thread sends the stuck worker's thread a real-time signal (tgkill);
 * the handler unwinds its own stack with libunwind's local API into that
 * worker's preallocated slot and publishes it with a sequence the helper waits
 * for, 50 ms at most. Names are looked up afterwards, on the helper (dladdr),
 * never in the handler. stall_bt.c with libunwind, stall_bt_noop.c without.
 */
#ifndef SCHEDRT_STALL_BT_H
#define SCHEDRT_STALL_BT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

#define SCHEDRT__BT_FRAMES 64           /* frames kept per capture */
#define SCHEDRT__BT_WAIT_NS 50000000ull /* how long the helper waits for the answer */
#define SCHEDRT__BT_TEXT 16384          /* module paths and symbol names of one capture */
#define SCHEDRT__BT_NO_TEXT UINT32_MAX

/* One capture as the dump writes it (workers[i].backtrace). */
struct schedrt__bt_result {
  uint8_t result; /* enum schedrt_dump_bt_result */
  bool truncated;
  int signo; /* 0: no signal was sent */
  uint32_t n;
  uint64_t wait_ns;
  char why[96]; /* result UNAVAILABLE */
  struct schedrt__bt_frame {
    uint64_t ip;
    uint64_t module_offset;  /* valid when module != NO_TEXT */
    uint64_t symbol_offset;  /* valid when symbol != NO_TEXT */
    uint32_t module, symbol; /* offsets into text, or SCHEDRT__BT_NO_TEXT */
  } frames[SCHEDRT__BT_FRAMES];
  uint32_t text_used;
  char text[SCHEDRT__BT_TEXT];
};

struct schedrt__bt; /* a runtime's slots (stall_bt.c) */

/* Whether the switch is on for this config (the flag, or SCHEDRT_STALL_BACKTRACE=1). */
static inline bool schedrt__bt_wanted(const schedrt_config *cfg) {
  const char *env = getenv("SCHEDRT_STALL_BACKTRACE");
  return (cfg->flags & SCHEDRT_CFG_STALL_BACKTRACE) || (env && env[0] == '1' && env[1] == '\0');
}
/*
 * For a runtime whose switch is on: the per-worker slots, and the process's
 * signal handler unless an application handler holds the signal (then
 * *out is still made, and every capture says why it is unavailable; said
 * once on stderr). 0, -ENOMEM; -ENOTSUP when built without libunwind (said on stderr).
 */
int schedrt__bt_create(schedrt_runtime *rt, struct schedrt__bt **out);
/* After the workers stopped. NULL is fine. */
void schedrt__bt_destroy(struct schedrt__bt *bt);
/*
 * Worker i's backtrace into *out, waiting at most wait_ns for its thread to
 * answer. Never hangs: a thread that does not answer gives NO_ANSWER. One
 * caller per runtime at a time (the watchdog's helper).
 */
void schedrt__bt_capture(struct schedrt__bt *bt, uint32_t i, uint64_t wait_ns,
                         struct schedrt__bt_result *out);
/* The signal the handler is on, or 0 when none is installed (tests). */
int schedrt__bt_signal(const struct schedrt__bt *bt);
/* Captures answered, and the handler calls that found no request (tests, stress). */
uint64_t schedrt__bt_answered(const struct schedrt__bt *bt);

#endif /* SCHEDRT_STALL_BT_H */
