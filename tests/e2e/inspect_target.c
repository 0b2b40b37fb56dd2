/*
 * A runtime for sched-inspect's tests to attach to, with behaviour chosen on
 * the command line:
 *   --workers N       worker threads (default 3)
 *   --idle N          tasks "idle-<i>" waiting on a notify (default 20): await points for dumps
 *   --stuck-ms MS     a task "spinner" that keeps its worker busy MS ms per poll, then sleeps 200 ms
 *   --rest-ms MS      the spinner sleeps MS ms between its spins instead
 *   --block-ms MS     a task "blocker" whose poll blocks in nanosleep MS ms (off CPU), then sleeps as the
 *                     spinner does
 *   --stalls N        the spinner and the blocker hold their worker N times in all, from "ready" on,
 *                     then only sleep
 *   --exit-after MS   shut down cleanly after MS ms (a target that exits mid-way)
 *   --name NAME       runtime name (default "target")
 *   --no-ticker       no "ticker" task (it sleeps 5 ms at a time: a dump may catch it woken)
 *   --deadlock        "cycle-a", "cycle-b", "cycle-c": each awaits the next one's join handle
 *                     (schedrt_handle_poll), the last the first's: a deadlock
 *   --lost-wake       "lost-waker": takes its only waker and drops it, then returns PENDING
 *   --lost-joiner     with --lost-wake, "lost-joiner" awaits the lost waker's join handle: proven leaked
 *                     too (it can be woken only by a task that never ends)
 *   --lock-deadlock   "lock-a" holds mutex A and waits for B, "lock-b" holds B and waits for A
 *   --handle-leak     "orphan-waiter" waits on a notify that only it holds (schedrt_notify_hold): proven
 *                     leaked; "outside-waiter" on one held outside the runtime: not
 *   --leak            a scripted leak for the spawn-site table: "leak-spawner" spawns, every 100 ms,
 *                     a "leaked" task (site leak_one) that waits on a notify nobody notifies, and a
 *                     "churn" task (site churn_one) that ends at its first poll
 *   --phases          a script for `diff`: "stay-0".."stay-2" wait on a notify nobody notifies,
 *                     "short-0", "short-1" on another; SIGUSR1 notifies the shorts, joins them
 *                     (they finished), spawns "new-0", "new-1" (waiting like the stays) and
 *                     prints "phase 1" once they wait
 *   --script N        a task "scripted" polled N times (it yields N - 1 times), which ends before
 *                     "ready": its polls are in the event ring (SCHEDRT_EVENTS=1), in order
 * Prints "ready <pid>" on stdout once its metrics segment exists and every
 * task of the scenarios above waits where it should, then runs until
 * SIGINT/SIGTERM or --exit-after. Exit 0, or 1 on a runtime error.
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
static uint64_t rest_ns = 200ull * 1000 * 1000;
static uint64_t block_ns;
static long stalls_left = -1; /* -1: no limit */

static _Atomic int ready_said; /* "ready" was printed */

/* One more stall allowed (--stalls): main sets the limit before any task runs. Counted stalls begin
 * once "ready" is out, so that a test sees each of them from its start. */
static int take_stall(void) {
  static _Atomic long taken;
  if (stalls_left < 0)
    return 1;
  return atomic_load(&ready_said) && atomic_fetch_add(&taken, 1) < stalls_left;
}
/* Scenario tasks that reached the place they wait at: main waits for them before "ready". */
static _Atomic unsigned settled;

/* Bounded: a scenario task that never settles is a broken target, not a reason to hang a test. */
static int wait_settled(unsigned want) {
  for (int i = 0; i < 10000 && atomic_load(&settled) < want; i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  if (atomic_load(&settled) >= want)
    return 0;
  fprintf(stderr, "inspect_target: %u of %u scenario tasks settled\n", atomic_load(&settled), want);
  return -1;
}

/* A task of the cycle: once main has handed it the next one's handle, it awaits that task forever. */
typedef struct cycle_member {
  _Atomic(schedrt_handle *) next;
  int registered;
} cycle_member;

static schedrt_poll cycle_task(schedrt_task *task, void *arg) {
  cycle_member *c = arg;
  schedrt_handle *next = atomic_load(&c->next);
  if (atomic_load(&stopping))
    return SCHEDRT_READY;
  if (!next)
    return schedrt_yield(task); /* main is still spawning the others */
  schedrt_await(task, "join-next");
  if (schedrt_handle_poll(next, task, NULL) == SCHEDRT_READY)
    return SCHEDRT_READY;
  if (!c->registered) {
    c->registered = 1;
    atomic_fetch_add(&settled, 1);
  }
  return SCHEDRT_PENDING;
}

/* --lock-deadlock: each takes its first mutex, waits until the other holds its own, then locks the second. */
typedef struct lock_member {
  schedrt_mutex *first, *second;
  _Atomic int *held;
  int step;
  uint64_t ticket;
} lock_member;

static schedrt_poll lock_task(schedrt_task *task, void *arg) {
  lock_member *l = arg;
  if (atomic_load(&stopping))
    return SCHEDRT_READY;
  if (l->step == 0) {
    schedrt_await(task, "lock-first");
    if (schedrt_mutex_lock(l->first, task, &l->ticket) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    atomic_fetch_add(l->held, 1);
    l->step = 1;
  }
  if (l->step == 1) {
    if (atomic_load(l->held) < 2)
      return schedrt_yield(task);
    l->step = 2;
  }
  schedrt_await(task, "lock-second");
  if (schedrt_mutex_lock(l->second, task, &l->ticket) == SCHEDRT_READY)
    return SCHEDRT_READY;
  if (l->step == 2) {
    l->step = 3;
    atomic_fetch_add(&settled, 1);
  }
  return SCHEDRT_PENDING;
}

/* The bug a lost wake-up is: whoever was to wake the task dropped its waker instead. */
static schedrt_poll lost_waker_task(schedrt_task *task, void *arg) {
  int *polled = arg;
  if (atomic_load(&stopping))
    return SCHEDRT_READY;
  schedrt_waker_drop(schedrt_waker_get(task));
  schedrt_await(task, "dropped-waker");
  if (!*polled) {
    *polled = 1;
    atomic_fetch_add(&settled, 1);
  }
  return SCHEDRT_PENDING;
}

/* A notify waiter ("idle-<i>", and those of the scripted phases): READY once notified. */
typedef struct notify_waiter {
  schedrt_notify *n;
  uint64_t ticket;
  int registered;
  int phase; /* its await point: "phase-wait", else "wait-notify" */
} notify_waiter;

static schedrt_poll notify_task(schedrt_task *task, void *arg) {
  notify_waiter *p = arg;
  if (atomic_load(&stopping) || schedrt_notify_wait(p->n, task, &p->ticket) == SCHEDRT_READY)
    return SCHEDRT_READY;
  if (p->phase)
    schedrt_await(task, "phase-wait");
  else
    schedrt_await(task, "wait-notify");
  if (!p->registered) {
    p->registered = 1;
    atomic_fetch_add(&settled, 1);
  }
  return SCHEDRT_PENDING;
}

/* A leaked task: waits for good (its record is freed when the runtime drops it). */
static schedrt_poll leaked_task(schedrt_task *task, void *arg) {
  uint64_t *ticket = arg;
  if (atomic_load(&stopping) || schedrt_notify_wait(idle_notify, task, ticket) == SCHEDRT_READY)
    return SCHEDRT_READY;
  schedrt_await(task, "leaked-wait");
  return SCHEDRT_PENDING;
}

static schedrt_poll churn_task(schedrt_task *task, void *arg) {
  (void)task;
  (void)arg;
  return SCHEDRT_READY;
}

static void leak_one(schedrt_task *task) {
  uint64_t *ticket = calloc(1, sizeof(*ticket));
  if (ticket && schedrt_spawn_ex(schedrt_task_runtime(task), leaked_task, ticket,
                                 &(schedrt_spawn_opts){.name = "leaked", .drop = free}, NULL) != 0)
    free(ticket);
}

static void churn_one(schedrt_task *task) {
  int err = schedrt_spawn_ex(schedrt_task_runtime(task), churn_task, NULL,
                             &(schedrt_spawn_opts){.name = "churn"}, NULL);
  if (err && err != -ESHUTDOWN)
    fprintf(stderr, "inspect_target: churn: %s\n", schedrt_strerror(err));
}

/* Every 100 ms: one leaked task and one that ends at once. */
static schedrt_poll leak_spawner_task(schedrt_task *task, void *arg) {
  uint64_t *deadline = arg;
  for (;;) {
    if (atomic_load(&stopping))
      return SCHEDRT_READY;
    schedrt_await(task, "leak-tick");
    if (schedrt_sleep(task, deadline, 100ull * 1000 * 1000) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    leak_one(task);
    churn_one(task);
  }
}

/* --script: polled script_polls times in all, then done (and settled). */
static long script_polls;
static schedrt_poll script_task(schedrt_task *task, void *arg) {
  long *polls = arg;
  if (++*polls < script_polls)
    return schedrt_yield(task);
  atomic_fetch_add(&settled, 1);
  return SCHEDRT_READY;
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

/* As the spinner, but its poll sleeps in the kernel: a stall off CPU. */
static schedrt_poll blocker_task(schedrt_task *task, void *arg) {
  uint64_t *deadline = arg;
  for (;;) {
    if (atomic_load(&stopping))
      return SCHEDRT_READY;
    if (*deadline == 0 && take_stall()) {
      struct timespec ts = {(time_t)(block_ns / 1000000000ull), (long)(block_ns % 1000000000ull)};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
    schedrt_await(task, "blocker-rest");
    if (schedrt_sleep(task, deadline, rest_ns) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
  }
}

static schedrt_poll spinner_task(schedrt_task *task, void *arg) {
  uint64_t *deadline = arg;
  for (;;) {
    if (atomic_load(&stopping))
      return SCHEDRT_READY;
    if (*deadline == 0 && take_stall()) {
      /* Hold the worker: what a blocking call inside a task looks like. */
      uint64_t end = schedrt_now_ns() + stuck_ns;
      while (schedrt_now_ns() < end && !atomic_load(&stopping)) {
      }
    }
    schedrt_await(task, "spinner-rest");
    if (schedrt_sleep(task, deadline, rest_ns) == SCHEDRT_PENDING)
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

/* What the scenarios spawn, and what main frees once the runtime is gone. */
typedef struct scene {
  schedrt_runtime *rt;
  schedrt_notify *never, *shorts;
  notify_waiter waiters[7]; /* stay-0..2, short-0..1, new-0..1 */
  schedrt_handle *short_h[2];
  cycle_member cycle[3];
  schedrt_handle *cycle_h[3];
  schedrt_mutex *locks[2];
  lock_member lockers[2];
  _Atomic int locks_held;
  int lost_polled;
  schedrt_handle *lost_h;
  cycle_member lost_joiner;
  schedrt_notify *held[2]; /* --handle-leak: the orphan's, the outside one */
  notify_waiter held_w[2];
  schedrt_handle *held_h[2];
  unsigned want; /* scenario tasks that must settle before "ready" */
} scene;

static int spawn_report(int err, const char *name) {
  if (err)
    fprintf(stderr, "inspect_target: spawn %s: %s\n", name, schedrt_strerror(err));
  return err;
}

/* A macro, so that each scenario's tasks carry their own spawn site. */
#define spawn_named(sc, fn, arg, task_name, h)                                                               \
  spawn_report(schedrt_spawn_ex((sc)->rt, (fn), (arg), &(schedrt_spawn_opts){.name = (task_name)}, (h)),     \
               (task_name))

static int spawn_waiter(scene *sc, size_t slot, schedrt_notify *n, const char *name, schedrt_handle **h) {
  sc->waiters[slot] = (notify_waiter){.n = n, .phase = 1};
  sc->want++;
  return spawn_named(sc, notify_task, &sc->waiters[slot], name, h);
}

static int start_deadlock(scene *sc) {
  static const char *const names[3] = {"cycle-a", "cycle-b", "cycle-c"};
  for (int i = 0; i < 3; i++)
    if (spawn_named(sc, cycle_task, &sc->cycle[i], names[i], &sc->cycle_h[i]))
      return -1;
  /* Only now do the handles exist: each gets the next one's, the last the first's. */
  for (int i = 0; i < 3; i++)
    atomic_store(&sc->cycle[i].next, sc->cycle_h[(i + 1) % 3]);
  sc->want += 3;
  return 0;
}

/* Holders given (include/schedrt.h): the orphan's notify by the orphan alone, the other outside. */
static int start_handle_leak(scene *sc) {
  static const char *const names[2] = {"orphan-waiter", "outside-waiter"};
  for (int i = 0; i < 2; i++) {
    if (schedrt_notify_create(&sc->held[i]))
      return -1;
    sc->held_w[i] = (notify_waiter){.n = sc->held[i]};
    sc->want++;
    if (spawn_named(sc, notify_task, &sc->held_w[i], names[i], &sc->held_h[i]))
      return -1;
  }
  if (schedrt_notify_hold(sc->held[0], schedrt_holder_of_handle(sc->held_h[0])) ||
      schedrt_notify_hold(sc->held[1], SCHEDRT_HOLDER_OUTSIDE))
    return -1;
  return 0;
}

static int start_lock_deadlock(scene *sc) {
  if (schedrt_mutex_create(&sc->locks[0]) || schedrt_mutex_create(&sc->locks[1]))
    return -1;
  sc->lockers[0] = (lock_member){sc->locks[0], sc->locks[1], &sc->locks_held, 0, 0};
  sc->lockers[1] = (lock_member){sc->locks[1], sc->locks[0], &sc->locks_held, 0, 0};
  sc->want += 2;
  if (spawn_named(sc, lock_task, &sc->lockers[0], "lock-a", NULL) ||
      spawn_named(sc, lock_task, &sc->lockers[1], "lock-b", NULL))
    return -1;
  return 0;
}

static int start_phases(scene *sc) {
  static const char *const stays[3] = {"stay-0", "stay-1", "stay-2"};
  if (schedrt_notify_create(&sc->never) || schedrt_notify_create(&sc->shorts))
    return -1;
  for (size_t i = 0; i < 3; i++)
    if (spawn_waiter(sc, i, sc->never, stays[i], NULL))
      return -1;
  if (spawn_waiter(sc, 3, sc->shorts, "short-0", &sc->short_h[0]) ||
      spawn_waiter(sc, 4, sc->shorts, "short-1", &sc->short_h[1]))
    return -1;
  return 0;
}

/* SIGUSR1 of --phases: the shorts finish, two new tasks wait; "phase 1" once all of it happened. */
static int next_phase(scene *sc) {
  schedrt_notify_all(sc->shorts);
  for (int i = 0; i < 2; i++) {
    if (!sc->short_h[i])
      continue;
    int err = schedrt_join(sc->short_h[i], 10ull * 1000 * 1000 * 1000, NULL);
    sc->short_h[i] = NULL; /* joined or cancelled: released; timed out: the task keeps it till shutdown */
    if (err) {
      fprintf(stderr, "inspect_target: short-%d did not finish: %s\n", i, schedrt_strerror(err));
      return -1;
    }
  }
  if (spawn_waiter(sc, 5, sc->never, "new-0", NULL) || spawn_waiter(sc, 6, sc->never, "new-1", NULL) ||
      wait_settled(sc->want))
    return -1;
  printf("phase 1\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  uint32_t workers = 3, nidle = 20;
  long exit_after_ms = 0;
  int ticker = 1, deadlock = 0, lost_wake = 0, phases = 0, lock_deadlock = 0, leak = 0, lost_joiner = 0;
  int handle_leak = 0;
  const char *name = "target";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--workers") == 0)
      workers = (uint32_t)arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--idle") == 0)
      nidle = (uint32_t)arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--stuck-ms") == 0)
      stuck_ns = (uint64_t)arg_num(argc, argv, &i) * 1000000ull;
    else if (strcmp(argv[i], "--rest-ms") == 0)
      rest_ns = (uint64_t)arg_num(argc, argv, &i) * 1000000ull;
    else if (strcmp(argv[i], "--block-ms") == 0)
      block_ns = (uint64_t)arg_num(argc, argv, &i) * 1000000ull;
    else if (strcmp(argv[i], "--stalls") == 0)
      stalls_left = arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--exit-after") == 0)
      exit_after_ms = arg_num(argc, argv, &i);
    else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (strcmp(argv[i], "--no-ticker") == 0)
      ticker = 0;
    else if (strcmp(argv[i], "--deadlock") == 0)
      deadlock = 1;
    else if (strcmp(argv[i], "--lock-deadlock") == 0)
      lock_deadlock = 1;
    else if (strcmp(argv[i], "--lost-wake") == 0)
      lost_wake = 1;
    else if (strcmp(argv[i], "--leak") == 0)
      leak = 1;
    else if (strcmp(argv[i], "--lost-joiner") == 0)
      lost_joiner = 1;
    else if (strcmp(argv[i], "--handle-leak") == 0)
      handle_leak = 1;
    else if (strcmp(argv[i], "--phases") == 0)
      phases = 1;
    else if (strcmp(argv[i], "--script") == 0)
      script_polls = arg_num(argc, argv, &i);
    else {
      fprintf(stderr, "inspect_target: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* the workers inherit it; main waits below */

  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = workers;
  cfg.name = name;
  scene sc = {0};
  int err = schedrt_runtime_create(&cfg, &sc.rt);
  if (err) {
    fprintf(stderr, "inspect_target: %s\n", schedrt_strerror(err));
    return 1;
  }
  if (schedrt_notify_create(&idle_notify)) {
    schedrt_runtime_destroy(sc.rt);
    return 1;
  }
  int status = 0;
  notify_waiter *idle = calloc((size_t)nidle + 1, sizeof(*idle));
  uint64_t *state = calloc(4, sizeof(uint64_t));
  long script_done = 0;
  char tname[24];
  for (uint32_t i = 0; i < nidle; i++) {
    snprintf(tname, sizeof(tname), "idle-%u", i);
    idle[i] = (notify_waiter){.n = idle_notify};
    sc.want++;
    if (spawn_named(&sc, notify_task, &idle[i], tname, NULL))
      status = 1;
  }
  if (ticker && spawn_named(&sc, ticker_task, &state[0], "ticker", NULL))
    status = 1;
  if (stuck_ns && spawn_named(&sc, spinner_task, &state[1], "spinner", NULL))
    status = 1;
  if (block_ns && spawn_named(&sc, blocker_task, &state[3], "blocker", NULL))
    status = 1;
  if (deadlock && start_deadlock(&sc))
    status = 1;
  if (lock_deadlock && start_lock_deadlock(&sc))
    status = 1;
  if (handle_leak && start_handle_leak(&sc))
    status = 1;
  if (leak && spawn_named(&sc, leak_spawner_task, &state[2], "leak-spawner", NULL))
    status = 1;
  if (lost_wake) {
    sc.want++;
    if (spawn_named(&sc, lost_waker_task, &sc.lost_polled, "lost-waker", lost_joiner ? &sc.lost_h : NULL))
      status = 1;
    if (!status && lost_joiner) {
      sc.want++;
      atomic_store(&sc.lost_joiner.next, sc.lost_h);
      if (spawn_named(&sc, cycle_task, &sc.lost_joiner, "lost-joiner", NULL))
        status = 1;
    }
  }
  if (phases && start_phases(&sc))
    status = 1;
  if (script_polls > 0) {
    sc.want++;
    if (spawn_named(&sc, script_task, &script_done, "scripted", NULL))
      status = 1;
  }
  if (!status && wait_settled(sc.want))
    status = 1;
  if (!status) {
    printf("ready %ld %s\n", (long)getpid(),
           schedrt_metrics_segment(sc.rt) ? schedrt_metrics_segment(sc.rt) : "-");
    fflush(stdout);
    atomic_store(&ready_said, 1);
  }

  /* Until SIGINT/SIGTERM or --exit-after; SIGUSR1 moves --phases on. */
  uint64_t end = exit_after_ms > 0 ? schedrt_now_ns() + (uint64_t)exit_after_ms * 1000000ull : 0;
  while (!status) {
    int sig;
    if (end) {
      uint64_t now = schedrt_now_ns();
      if (now >= end)
        break;
      struct timespec ts = {.tv_sec = (time_t)((end - now) / 1000000000ull),
                            .tv_nsec = (long)((end - now) % 1000000000ull)};
      sig = sigtimedwait(&set, NULL, &ts);
      if (sig < 0)
        continue; /* EINTR, or the time is up (checked above) */
    } else if (sigwait(&set, &sig)) {
      break;
    }
    if (sig != SIGUSR1)
      break;
    if (phases && next_phase(&sc))
      status = 1;
  }
  atomic_store(&stopping, 1);
  schedrt_notify_all(idle_notify);
  schedrt_runtime_destroy(sc.rt);
  /* Handles and notifies outlive the runtime; the tasks that used them were dropped. */
  for (int i = 0; i < 3; i++)
    schedrt_handle_release(sc.cycle_h[i]);
  schedrt_handle_release(sc.lost_h);
  for (int i = 0; i < 2; i++) {
    schedrt_handle_release(sc.short_h[i]);
    schedrt_handle_release(sc.held_h[i]);
    schedrt_notify_destroy(sc.held[i]);
  }
  schedrt_notify_destroy(idle_notify);
  if (sc.never)
    schedrt_notify_destroy(sc.never);
  if (sc.shorts)
    schedrt_notify_destroy(sc.shorts);
  schedrt_mutex_destroy(sc.locks[0]); /* drops the deadlocked tasks' registrations */
  schedrt_mutex_destroy(sc.locks[1]);
  free(idle);
  free(state);
  return status;
}
