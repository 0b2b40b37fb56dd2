/*
 * What can wake a task, as a dump tells it (format 1.1): live wakers, armed
 * timers, what the task registered to wait on, and `lost_wake` for an idle
 * task that nothing can wake. A table over every primitive: a dropped waker
 * and a PENDING that registered nothing are lost wake-ups; a timer, a notify,
 * a oneshot, a join handle, a waker kept by the program, and a timer polled
 * again spuriously never are. Then a join cycle of three tasks: the dump's
 * wait_for edges close the cycle (a deadlock for `show` to report).
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "test_dump_util.h"

#define SEC 1000000000ull

static schedrt_runtime *rt;
static schedrt_notify *note, *gate;
static schedrt_oneshot shot;
static schedrt_handle *joined;        /* the notify waiter's handle, awaited by "join" */
static _Atomic(schedrt_waker *) kept; /* a waker the program keeps */
static _Atomic(schedrt_waker *) poke; /* wakes "timer-again" once, spuriously */
static atomic_int first_polls, timer_again_polls;

/* Counts each case's first poll, so the test knows they all waited once. */
static void first(int *done) {
  if (!*done) {
    *done = 1;
    atomic_fetch_add(&first_polls, 1);
  }
}

static schedrt_poll dropped(schedrt_task *t, void *arg) {
  first(arg);
  schedrt_waker_drop(schedrt_waker_get(t)); /* the bug: nobody keeps it */
  schedrt_await(t, "dropped its waker");
  return SCHEDRT_PENDING;
}

static schedrt_poll nothing(schedrt_task *t, void *arg) {
  first(arg);
  schedrt_await(t, "registered nothing");
  return SCHEDRT_PENDING;
}

static schedrt_poll timer(schedrt_task *t, void *arg) {
  static uint64_t deadline;
  first(arg);
  schedrt_await(t, "sleep 60 s");
  return schedrt_sleep(t, &deadline, 60 * SEC);
}

static schedrt_poll timer_again(schedrt_task *t, void *arg) {
  static uint64_t deadline;
  first(arg);
  schedrt_poll r = schedrt_sleep(t, &deadline, 60 * SEC);
  if (atomic_fetch_add(&timer_again_polls, 1) == 0)
    atomic_store(&poke, schedrt_waker_get(t));
  schedrt_await(t, "sleep, polled again");
  return r;
}

static schedrt_poll notified(schedrt_task *t, void *arg) {
  static uint64_t ticket;
  first(arg);
  schedrt_await(t, "notify");
  return schedrt_notify_wait(note, t, &ticket);
}

static schedrt_poll oneshot(schedrt_task *t, void *arg) {
  first(arg);
  schedrt_await(t, "oneshot");
  return schedrt_oneshot_recv(&shot, t, NULL);
}

static schedrt_poll join(schedrt_task *t, void *arg) {
  first(arg);
  schedrt_await(t, "join");
  return schedrt_handle_poll(joined, t, NULL);
}

/* Woken by a notify, polled, then PENDING without registering again: the
 * wake-up was consumed and nothing is left to wake it. */
static schedrt_notify *note2;
static atomic_int relapse_polls;
static schedrt_poll relapse(schedrt_task *t, void *arg) {
  static uint64_t ticket;
  first(arg);
  atomic_fetch_add(&relapse_polls, 1);
  schedrt_await(t, "notify, once");
  (void)schedrt_notify_wait(note2, t, &ticket); /* the bug: READY ignored, PENDING returned */
  return SCHEDRT_PENDING;
}

static schedrt_poll kept_waker(schedrt_task *t, void *arg) {
  first(arg);
  if (!atomic_load(&kept))
    atomic_store(&kept, schedrt_waker_get(t));
  schedrt_await(t, "waker kept by the program");
  return SCHEDRT_PENDING;
}

struct wcase {
  const char *name;
  schedrt_task_fn fn;
  bool lost;
  uint32_t wait; /* enum schedrt_dump_wait */
  uint64_t wakers, timers;
  int done;
};

static struct wcase cases[] = {
    {"dropped", dropped, true, SCHEDRT_DUMP_WAIT_NONE, 0, 0, 0},
    {"nothing", nothing, true, SCHEDRT_DUMP_WAIT_NONE, 0, 0, 0},
    {"timer", timer, false, SCHEDRT_DUMP_WAIT_NONE, 0, 1, 0},
    {"timer-again", timer_again, false, SCHEDRT_DUMP_WAIT_NONE, 0, 1, 0},
    {"notify", notified, false, SCHEDRT_DUMP_WAIT_NOTIFY, 1, 0, 0},
    {"oneshot", oneshot, false, SCHEDRT_DUMP_WAIT_ONESHOT, 1, 0, 0},
    {"join", join, false, SCHEDRT_DUMP_WAIT_JOIN, 1, 0, 0},
    {"kept-waker", kept_waker, false, SCHEDRT_DUMP_WAIT_NONE, 1, 0, 0},
    {"relapse", relapse, false, SCHEDRT_DUMP_WAIT_NOTIFY, 1, 0, 0},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* A dump once every case is idle (each waits after its first poll; a poll may
 * still be returning when we look, so look again, up to 10 s). */
static schedrt_dump_doc *dump_all_idle(void) {
  uint64_t until = tdu_now() + 10 * SEC;
  for (;;) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
    bool idle = true;
    for (size_t i = 0; i < NCASES; i++) {
      const schedrt_dump_task *x = tdu_task_named(d, cases[i].name);
      idle &= x && x->state == SCHEDRT_DUMP_STATE_IDLE;
    }
    if (idle)
      return d;
    schedrt_dump_doc_free(d);
    cr_assert_lt(tdu_now(), until, "the cases never all waited");
    usleep(1000);
  }
}

Test(dump_wake, every_primitive_says_what_can_wake_it, .timeout = 60) {
  cr_assert_eq(schedrt_notify_create(&note), 0);
  cr_assert_eq(schedrt_notify_create(&note2), 0);
  schedrt_oneshot_init(&shot);
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "waketest";
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  /* "join" awaits the notify waiter: spawned first, so its handle exists. */
  schedrt_handle *hs[NCASES] = {0};
  for (size_t i = NCASES; i-- > 0;) {
    cr_assert_eq(schedrt_spawn_ex(rt, cases[i].fn, &cases[i].done,
                                  &(schedrt_spawn_opts){.name = cases[i].name}, &hs[i]),
                 0);
    if (strcmp(cases[i].name, "notify") == 0)
      joined = hs[i];
  }
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load(&first_polls) < (int)NCASES || !atomic_load(&poke))
    cr_assert_lt(tdu_now(), until);
  /* A spurious poll of a sleeping task: its timer still holds it. */
  schedrt_wake(atomic_exchange(&poke, NULL));
  while (atomic_load(&timer_again_polls) < 2)
    cr_assert_lt(tdu_now(), until);

  schedrt_dump_doc *d = dump_all_idle();
  for (size_t i = 0; i < NCASES; i++) {
    const struct wcase *c = &cases[i];
    const schedrt_dump_task *x = tdu_task_named(d, c->name);
    cr_assert_eq(x->lost_wake, c->lost, "%s: lost_wake %d", c->name, x->lost_wake);
    cr_assert_eq(x->wakers, c->wakers, "%s: %llu wakers", c->name, (unsigned long long)x->wakers);
    cr_assert_eq(x->timers, c->timers, "%s: %llu timers", c->name, (unsigned long long)x->timers);
    cr_assert_eq(x->wait, c->wait, "%s: wait %s", c->name, schedrt_dump_wait_text(x->wait));
    if (c->timers)
      cr_assert(x->timer_in_ns > 50 * (int64_t)SEC, "%s: timer in %lld ns", c->name,
                (long long)x->timer_in_ns);
    else
      cr_assert_eq(x->timer_in_ns, SCHEDRT_DUMP_NONE, "%s", c->name);
  }
  const schedrt_dump_task *j = tdu_task_named(d, "join"), *n = tdu_task_named(d, "notify");
  cr_assert_eq(j->wait_for, (int64_t)n->id, "join waits for the notify waiter");
  cr_assert_eq(n->wait_object, (int64_t)(uintptr_t)note);
  cr_assert_eq(tdu_task_named(d, "oneshot")->wait_object, (int64_t)(uintptr_t)&shot);
  schedrt_dump_doc_free(d);

  /* "relapse" is woken, polled, and returns PENDING without registering
   * again: now nothing can wake it. */
  schedrt_notify_one(note2);
  until = tdu_now() + 10 * SEC;
  while (atomic_load(&relapse_polls) < 2)
    cr_assert_lt(tdu_now(), until);
  for (;;) {
    schedrt_dump_result res;
    cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
    const schedrt_dump_task *x = tdu_task_named(d, "relapse");
    bool idle = x->state == SCHEDRT_DUMP_STATE_IDLE;
    if (idle) {
      cr_assert(x->lost_wake && x->wakers == 0 && x->wait == SCHEDRT_DUMP_WAIT_NONE,
                "relapse: lost %d, %llu wakers", x->lost_wake, (unsigned long long)x->wakers);
      cr_assert_not(tdu_task_named(d, "notify")->lost_wake, "the other notify waiter still waits");
    }
    schedrt_dump_doc_free(d);
    if (idle)
      break;
    cr_assert_lt(tdu_now(), until);
    usleep(1000);
  }

  for (size_t i = 0; i < NCASES; i++)
    schedrt_handle_release(hs[i]);
  schedrt_oneshot_send(&shot, NULL);
  schedrt_runtime_destroy(rt);
  schedrt_waker_drop(atomic_exchange(&kept, NULL));
  schedrt_oneshot_destroy(&shot);
  schedrt_notify_destroy(note);
  schedrt_notify_destroy(note2);
}

/* ------------------------------------------------- a join cycle of three */

static schedrt_handle *ring[3];
static atomic_int ring_ready;

static schedrt_poll ring_member(schedrt_task *t, void *arg) {
  static uint64_t tickets[3];
  uintptr_t i = (uintptr_t)arg;
  /* Wait until every handle exists, then await the next one's. */
  if (!atomic_load(&ring_ready)) {
    schedrt_await(t, "the gate");
    if (schedrt_notify_wait(gate, t, &tickets[i]) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
  }
  schedrt_await(t, "the next one's handle");
  return schedrt_handle_poll(ring[(i + 1) % 3], t, NULL);
}

Test(dump_wake, a_join_cycle_of_three_is_in_the_dump, .timeout = 60) {
  cr_assert_eq(schedrt_notify_create(&gate), 0);
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "cycletest";
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  static const char *const names[3] = {"ring-a", "ring-b", "ring-c"};
  for (uintptr_t i = 0; i < 3; i++)
    cr_assert_eq(
        schedrt_spawn_ex(rt, ring_member, (void *)i, &(schedrt_spawn_opts){.name = names[i]}, &ring[i]), 0);
  atomic_store(&ring_ready, 1);
  schedrt_notify_all(gate);
  uint64_t until = tdu_now() + 10 * SEC;
  for (;;) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
    int joined_ok = 0;
    for (int i = 0; i < 3; i++) {
      const schedrt_dump_task *x = tdu_task_named(d, names[i]), *next = tdu_task_named(d, names[(i + 1) % 3]);
      joined_ok += x && next && x->state == SCHEDRT_DUMP_STATE_IDLE && x->wait == SCHEDRT_DUMP_WAIT_JOIN &&
                   x->wait_for == (int64_t)next->id && !x->lost_wake && x->wakers == 1;
    }
    schedrt_dump_doc_free(d);
    if (joined_ok == 3)
      break;
    cr_assert_lt(tdu_now(), until, "the three never waited for each other");
    usleep(1000);
  }
  for (int i = 0; i < 3; i++)
    schedrt_handle_release(ring[i]);
  schedrt_runtime_destroy(rt);
  schedrt_notify_destroy(gate);
}
