/*
 * Stall backtraces under load (stall_bt.c): two tasks keep two workers busy,
 * calling through a few frames of their own, while the main thread takes
 * backtraces of them back to back, alternating workers. Every capture must
 * be answered (the handler never misses a request, never answers one twice
 * so that a copy could tear), most must hold a frame of the busy task's code
 * (the stack is the interrupted thread's, not the handler's); none may hang.
 * Also prints what a capture costs (signal to answer, and with the names).
 *
 * Under TSan: the runtime delivers a signal to a thread that runs
 * instrumented code only at its next intercepted call, so the busy tasks
 * call clock_gettime; TSan also checks the handshake's slot (plain frames
 * under release/acquire of `ans`).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "stress.h"

#define WAIT_NS 2000000000ull /* generous under load: only a thread that never answers fails */

static atomic_bool stop;
static atomic_int where[2] = {-1, -1};
static atomic_ulong spins;

/* The innermost frame of a busy task. */
__attribute__((noinline)) static unsigned long busy_leaf(unsigned long x) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  for (int i = 0; i < 200; i++)
    x = x * 6364136223846793005ul + (unsigned long)ts.tv_nsec;
  return x;
}
__attribute__((noinline)) static unsigned long busy_mid(unsigned long x, int depth) {
  unsigned long r = depth ? busy_mid(x + 1, depth - 1) : busy_leaf(x);
  __asm__ __volatile__("" ::: "memory"); /* no tail call: the frame stays */
  return r;
}

static schedrt_poll busy_task(schedrt_task *task, void *arg) {
  (void)task;
  int slot = (int)(intptr_t)arg;
  unsigned long x = 1;
  atomic_store(&where[slot], schedrt_worker_index());
  while (!atomic_load_explicit(&stop, memory_order_relaxed))
    x += busy_mid(x, (int)(x % 4));
  atomic_fetch_add(&spins, x & 1);
  return SCHEDRT_READY;
}

/* Whether ip is in the busy task's code: busy_task or its callees (each well under 4 KiB). Under TSan the
 * signal is delivered at the next intercepted call or atomic, so the frame may be any of the three. */
static bool in_busy(uint64_t ip) {
  const uintptr_t fns[] = {(uintptr_t)busy_leaf, (uintptr_t)busy_mid, (uintptr_t)busy_task};
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
    if (ip > fns[i] && ip < fns[i] + 4096)
      return true;
  return false;
}

int main(void) {
  char dir[] = "/tmp/stress_stall_bt.XXXXXX";
  STRESS_CHECK(mkdtemp(dir), "mkdtemp");
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "stress";
  cfg.flags = SCHEDRT_CFG_STALL_BACKTRACE;
  cfg.watchdog_ms = 3600000; /* the watchdog never fires: the captures here are the test's */
  cfg.watchdog_dir = dir;
  schedrt_runtime *rt = NULL;
  STRESS_OK(schedrt_runtime_create(&cfg, &rt));
  struct schedrt__bt *bt = rt->dump ? rt->dump->bt : NULL;
  if (!bt || !schedrt__bt_signal(bt)) {
    fprintf(stderr, "stress_stall_bt: no stall backtraces in this build or process: skipped\n");
    schedrt_runtime_destroy(rt);
    rmdir(dir);
    return STRESS_SKIP;
  }
  STRESS_OK(schedrt_spawn(rt, busy_task, (void *)(intptr_t)0));
  STRESS_OK(schedrt_spawn(rt, busy_task, (void *)(intptr_t)1));
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&where[0]) >= 0 && atomic_load(&where[1]) >= 0, 30.0);
  STRESS_CHECK(ok, "the busy tasks did not start");
  /* The two may share a worker for a moment (one then waits): captures go to where each last ran. */
  unsigned long n = stress_count(2000, 300);
  struct schedrt__bt_result *res = malloc(sizeof(*res));
  STRESS_CHECK(res, "malloc");
  uint64_t total_ns = 0, max_ns = 0, named_ns = 0;
  unsigned long hits = 0;
  for (unsigned long i = 0; i < n; i++) {
    int w = atomic_load(&where[i % 2]);
    uint64_t t0 = schedrt_now_ns();
    schedrt__bt_capture(bt, (uint32_t)w, WAIT_NS, res);
    named_ns += schedrt_now_ns() - t0;
    STRESS_CHECK(res->result == SCHEDRT_DUMP_BT_OK, "capture %lu of worker %d: result %u (%s) after %llu ns",
                 i, w, res->result, res->why, (unsigned long long)res->wait_ns);
    STRESS_CHECK(res->n > 0 && res->n <= SCHEDRT__BT_FRAMES, "capture %lu: %u frames", i, res->n);
    total_ns += res->wait_ns;
    if (res->wait_ns > max_ns)
      max_ns = res->wait_ns;
    bool busy = false;
    for (uint32_t k = 0; k < res->n && !busy; k++)
      busy = in_busy(res->frames[k].ip);
    /* The two tasks may share a worker for a moment (the other then waits its turn), and a worker may be
     * between two polls: most captures land in the busy code, not all. */
    hits += busy;
  }
  atomic_store(&stop, true);
  uint64_t answered = schedrt__bt_answered(bt);
  schedrt_runtime_destroy(rt);
  rmdir(dir);
  free(res);
  printf("stress_stall_bt: %lu captures, %lu in the busy code; signal to answer: mean %.1f us, max %.1f us; "
         "with "
         "names (dladdr): mean %.1f us\n",
         n, hits, (double)total_ns / (double)n / 1e3, (double)max_ns / 1e3,
         (double)named_ns / (double)n / 1e3);
  STRESS_CHECK(answered == n, "the handler answered %llu requests, %lu were made",
               (unsigned long long)answered, n);
  STRESS_CHECK(hits * 2 >= n, "only %lu of %lu captures hold a frame of the busy code", hits, n);
  return STRESS_PASS;
}
