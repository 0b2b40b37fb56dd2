/*
 * Stall backtraces (stall_bt.c), white-box: the capture gives up cleanly on a
 * thread that does not answer (the signal blocked there) and the late answer
 * does not spoil the next capture; the handler is installed only with the
 * switch on, never over the application's own handler, and removed again;
 * SCHEDRT_STALL_BACKTRACE_SIGNAL picks the signal.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

#define MS 1000000ull

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/schedrt-stall-bt-test.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) { rmdir(dir); }

TestSuite(stall_bt, .init = setup, .fini = teardown);

static schedrt_runtime *runtime(uint32_t flags) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.name = "bt";
  cfg.flags = flags;
  cfg.watchdog_ms = 3600000; /* on, but never firing: the tests capture by hand */
  cfg.watchdog_dir = dir;
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  return rt;
}

/* The signal's disposition as a number (SIG_DFL, or a handler's address). */
static uintptr_t handler_of(int signo) {
  struct sigaction sa;
  cr_assert_eq(sigaction(signo, NULL, &sa), 0);
  return (sa.sa_flags & SA_SIGINFO) ? (uintptr_t)sa.sa_sigaction : (uintptr_t)sa.sa_handler;
}
#define DFL ((uintptr_t)SIG_DFL)

/* ------------------------------------------------------ a thread that does not answer */

static atomic_int phase; /* 1: signal blocked; 2: main says unblock; 3: unblocked; 4: main says stop */
static int the_signal;

__attribute__((noinline)) static void spin_until(int want) {
  while (atomic_load(&phase) < want)
    __asm__ __volatile__("" ::: "memory");
}

static schedrt_poll deaf_task(schedrt_task *task, void *arg) {
  (void)task;
  (void)arg;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, the_signal);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  atomic_store(&phase, 1);
  spin_until(2);
  /* The signal sent meanwhile is delivered here: a late answer. */
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  atomic_store(&phase, 3);
  spin_until(4);
  return SCHEDRT_READY;
}

static bool wait_phase(int want) {
  uint64_t end = schedrt_now_ns() + 10000 * MS;
  while (atomic_load(&phase) < want)
    if (schedrt_now_ns() > end)
      return false;
  return true;
}

Test(stall_bt, gives_up_on_a_thread_that_does_not_answer) {
  schedrt_runtime *rt = runtime(SCHEDRT_CFG_STALL_BACKTRACE);
  struct schedrt__bt *bt = rt->dump->bt;
  cr_assert_not_null(bt, "the switch is on: the slots exist");
  the_signal = schedrt__bt_signal(bt);
  cr_assert_eq(the_signal, SIGRTMAX - 3, "the default signal");
  cr_assert_neq(handler_of(the_signal), DFL, "a handler is installed");
  struct schedrt__bt_result *res = malloc(sizeof(*res));
  cr_assert_eq(schedrt_spawn(rt, deaf_task, NULL), 0);
  cr_assert(wait_phase(1));

  uint64_t t0 = schedrt_now_ns();
  schedrt__bt_capture(bt, 0, SCHEDRT__BT_WAIT_NS, res);
  uint64_t took = schedrt_now_ns() - t0;
  cr_assert_eq(res->result, SCHEDRT_DUMP_BT_NO_ANSWER, "result %u (%s)", res->result, res->why);
  cr_assert_eq(res->n, 0);
  cr_assert_eq(res->signo, the_signal);
  cr_assert_geq(res->wait_ns, SCHEDRT__BT_WAIT_NS, "waited the whole 50 ms");
  cr_assert_lt(took, 2000 * MS, "and not much longer: %llu ns", (unsigned long long)took);
  cr_assert_eq(schedrt__bt_answered(bt), 0);

  /* Unblocked: the pending signal's handler answers the request given up on. */
  atomic_store(&phase, 2);
  cr_assert(wait_phase(3));
  uint64_t end = schedrt_now_ns() + 10000 * MS;
  while (schedrt__bt_answered(bt) < 1 && schedrt_now_ns() < end)
    ;
  cr_assert_eq(schedrt__bt_answered(bt), 1, "the late answer");

  /* The next capture is answered, with the stack of the spinning task. */
  schedrt__bt_capture(bt, 0, 2000 * MS, res);
  cr_assert_eq(res->result, SCHEDRT_DUMP_BT_OK, "result %u (%s)", res->result, res->why);
  cr_assert_gt(res->n, 1);
  bool found = false;
  /* spin_until is small (well under 4 KiB, sanitizers' instrumentation included). */
  for (uint32_t k = 0; k < res->n; k++)
    found |= res->frames[k].ip > (uintptr_t)spin_until && res->frames[k].ip < (uintptr_t)spin_until + 4096;
  cr_assert(found, "a frame in spin_until");
  cr_assert_neq(res->frames[0].module, SCHEDRT__BT_NO_TEXT, "frame 0's module is named");
  cr_assert_eq(schedrt__bt_answered(bt), 2);

  atomic_store(&phase, 4);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(handler_of(the_signal), DFL, "the handler is removed with the last runtime");
  free(res);
}

/* ------------------------------------------------------ installation */

static void app_handler(int signo) { (void)signo; }

Test(stall_bt, never_replaces_the_applications_handler) {
  int signo = SIGRTMAX - 3;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = app_handler;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(signo, &sa, NULL), 0);
  schedrt_runtime *rt = runtime(SCHEDRT_CFG_STALL_BACKTRACE);
  struct schedrt__bt *bt = rt->dump->bt;
  cr_assert_not_null(bt);
  cr_assert_eq(schedrt__bt_signal(bt), 0, "no handler of ours");
  cr_assert_eq(handler_of(signo), (uintptr_t)app_handler, "the application's stays");
  struct schedrt__bt_result *res = malloc(sizeof(*res));
  schedrt__bt_capture(bt, 0, SCHEDRT__BT_WAIT_NS, res);
  cr_assert_eq(res->result, SCHEDRT_DUMP_BT_UNAVAILABLE);
  cr_assert_eq(res->signo, 0, "nothing was sent");
  cr_assert_not_null(strstr(res->why, "handler of the application"), "why: %s", res->why);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(handler_of(signo), (uintptr_t)app_handler, "still the application's");
  free(res);
}

Test(stall_bt, off_by_default) {
  unsetenv("SCHEDRT_STALL_BACKTRACE");
  schedrt_runtime *rt = runtime(0);
  cr_assert_null(rt->dump->bt, "no slots");
  for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
    cr_assert_eq(handler_of(s), DFL, "signal %d: no handler installed", s);
  schedrt_runtime_destroy(rt);
}

Test(stall_bt, environment_turns_it_on_and_picks_the_signal) {
  char sig[16];
  snprintf(sig, sizeof(sig), "%d", SIGRTMIN + 5);
  setenv("SCHEDRT_STALL_BACKTRACE", "1", 1);
  setenv("SCHEDRT_STALL_BACKTRACE_SIGNAL", sig, 1);
  schedrt_runtime *rt = runtime(0);
  cr_assert_not_null(rt->dump->bt);
  cr_assert_eq(schedrt__bt_signal(rt->dump->bt), SIGRTMIN + 5);
  cr_assert_neq(handler_of(SIGRTMIN + 5), DFL);
  cr_assert_eq(handler_of(SIGRTMAX - 3), DFL, "the default signal is left alone");
  schedrt_runtime_destroy(rt);
  cr_assert_eq(handler_of(SIGRTMIN + 5), DFL);
  unsetenv("SCHEDRT_STALL_BACKTRACE");
  unsetenv("SCHEDRT_STALL_BACKTRACE_SIGNAL");
}

Test(stall_bt, two_runtimes_share_the_handler) {
  schedrt_runtime *a = runtime(SCHEDRT_CFG_STALL_BACKTRACE), *b = runtime(SCHEDRT_CFG_STALL_BACKTRACE);
  int signo = schedrt__bt_signal(a->dump->bt);
  cr_assert_eq(schedrt__bt_signal(b->dump->bt), signo);
  schedrt_runtime_destroy(a);
  cr_assert_neq(handler_of(signo), DFL, "b still uses it");
  schedrt_runtime_destroy(b);
  cr_assert_eq(handler_of(signo), DFL);
}
