/*
 * A runtime for sched-inspect's tests to attach to, with behaviour chosen on
 * the command line:
 *   --workers N       worker threads (default 3)
 *   --idle N          tasks "idle-<i>" waiting on a notify (default 20): await points for dumps
 *   --stuck-ms MS     a task "spinner" that keeps its worker busy MS ms per poll, then sleeps 200 ms
 *   --exit-after MS   shut down cleanly after MS ms (a target that exits mid-way)
 *   --name NAME       runtime name (default "target")
 * Prints "ready <pid>" on stdout once its metrics segment exists, then runs
 * until SIGINT/SIGTERM or --exit-after. Exit 0, or 1 on a runtime error.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <schedrt.h>

static schedrt_notify *idle_notify;
static _Atomic int stopping;
static uint64_t stuck_ns;

static schedrt_poll idle_task(schedrt_task *task, void *arg) {
  uint64_t *ticket = arg;
  if (atomic_load(&stopping) || schedrt_notify_wait(idle_notify, task, ticket) == SCHEDRT_READY)
    return SCHEDRT_READY;
  schedrt_await(task, "wait-notify");
  return SCHEDRT_PENDING;
}

static schedrt_poll ticker_task(schedrt_task *task, void *arg) {
  uint64_t *deadline = arg;
  volatile uint64_t x = 0;
  for (int i = 0; i < 10000; i++)
    x += (uint64_t)i;
  (void)x; /* the loop is the point: a little CPU per tick */
  if (atomic_load(&stopping))
    return SCHEDRT_READY;
  schedrt_await(task, "tick-sleep");
  while (schedrt_sleep(task, deadline, 5ull * 1000 * 1000) == SCHEDRT_READY) {
  }
  return SCHEDRT_PENDING;
}

static schedrt_poll spinner_task(schedrt_task *task, void *arg) {
  uint64_t *deadline = arg;
  for (;;) {
    if (atomic_load(&stopping))
      return SCHEDRT_READY;
    if (*deadline == 0) {
      /* Hold the worker: what a blocking call inside a task looks like. */
      uint64_t end = schedrt_now_ns() + stuck_ns;
      while (schedrt_now_ns() < end && !atomic_load(&stopping)) {
      }
    }
    schedrt_await(task, "spinner-rest");
    if (schedrt_sleep(task, deadline, 200ull * 1000 * 1000) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    /* Slept: spin again. */
  }
}

static long arg_num(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "inspect_target: %s needs a value\n", argv[*i]);
    exit(2);
  }
  return strtol(argv[++*i], NULL, 10);
}

int main(int argc, char **argv) {
  uint32_t workers = 3, nidle = 20;
  long exit_after_ms = 0;
  const char *name = "target";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--workers") == 0)
      workers = (uint32_t)arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--idle") == 0)
      nidle = (uint32_t)arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--stuck-ms") == 0)
      stuck_ns = (uint64_t)arg_num(argc, argv, &i) * 1000000ull;
    else if (strcmp(argv[i], "--exit-after") == 0)
      exit_after_ms = arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
      name = argv[++i];
    else {
      fprintf(stderr, "inspect_target: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit it; main waits below */

  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = workers;
  cfg.name = name;
  schedrt_runtime *rt;
  int err = schedrt_runtime_create(&cfg, &rt);
  if (err) {
    fprintf(stderr, "inspect_target: %s\n", schedrt_strerror(err));
    return 1;
  }
  if (schedrt_notify_create(&idle_notify)) {
    schedrt_runtime_destroy(rt);
    return 1;
  }
  uint64_t *state = calloc((size_t)nidle + 2, sizeof(uint64_t));
  char tname[24];
  for (uint32_t i = 0; i < nidle; i++) {
    snprintf(tname, sizeof(tname), "idle-%u", i);
    schedrt_spawn_opts o = {.name = tname};
    if (schedrt_spawn_ex(rt, idle_task, &state[i], &o, NULL))
      fprintf(stderr, "inspect_target: spawn failed\n");
  }
  schedrt_spawn_opts to = {.name = "ticker"};
  if (schedrt_spawn_ex(rt, ticker_task, &state[nidle], &to, NULL))
    fprintf(stderr, "inspect_target: spawn failed\n");
  if (stuck_ns) {
    schedrt_spawn_opts so = {.name = "spinner"};
    if (schedrt_spawn_ex(rt, spinner_task, &state[nidle + 1], &so, NULL))
      fprintf(stderr, "inspect_target: spawn failed\n");
  }
  printf("ready %ld %s\n", (long)getpid(), schedrt_metrics_segment(rt) ? schedrt_metrics_segment(rt) : "-");
  fflush(stdout);

  struct timespec ts = {.tv_sec = exit_after_ms / 1000, .tv_nsec = (exit_after_ms % 1000) * 1000000L};
  if (exit_after_ms > 0) {
    while (sigtimedwait(&set, NULL, &ts) < 0 && errno == EINTR) {
    }
  } else {
    int sig;
    sigwait(&set, &sig);
  }
  atomic_store(&stopping, 1);
  schedrt_notify_all(idle_notify);
  schedrt_runtime_destroy(rt);
  schedrt_notify_destroy(idle_notify);
  free(state);
  return 0;
}
