/*
 * Handle holders (sync_holds.c) raced against dumps: tasks create notifies, oneshots and channels, give
 * them holders, spawn a waiter, signal, release, join and destroy, over and over (now and then destroy a
 * notify while its waiter still waits, or hand the hold to a blocking job that sends and releases while
 * the workers are held for a dump); threads that are not tasks hold, release and destroy their own
 * objects at the same time; thousands of idle tasks make each dump's walk long; the main thread dumps
 * back to back. Every dump must decode, and none may show a task waiting on an object whose every holder
 * is gone or idle while no signal is on its way (the state a false leak proof would come from): the
 * holders and the task list must be one moment's (with the registry lock taken only after the walk, most
 * runs fail here).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../unit/test_dump_util.h"
#include "stress.h"

#define SEC 1000000000ull

static _Atomic int stop;
static _Atomic int running; /* churners and threads still going */
static _Atomic unsigned long rounds;

enum { NOTIFY, ONESHOT, CHANNEL, VICTIM, BLOCKING, NKINDS };
#define MAX_VICTIMS 32

struct waiter {
  int kind;
  schedrt_notify *n;
  schedrt_oneshot *o;
  schedrt_channel *rx;
  uint64_t ticket;
  int status;
  _Atomic bool waiting; /* returned PENDING once */
};

static schedrt_poll waiter_fn(schedrt_task *t, void *arg) {
  struct waiter *w = arg;
  void *v;
  schedrt_poll r = SCHEDRT_PENDING;
  switch (w->kind) {
  case NOTIFY:
  case VICTIM:
    r = schedrt_notify_wait(w->n, t, &w->ticket);
    break;
  case ONESHOT:
  case BLOCKING:
    r = schedrt_oneshot_recv(w->o, t, &v);
    break;
  case CHANNEL:
    r = schedrt_channel_recv(w->rx, t, &v, &w->status);
    break;
  }
  if (r == SCHEDRT_PENDING)
    atomic_store(&w->waiting, true);
  return r;
}

#define HOLD_OK(call) STRESS_CHECK((call) == 0, "%s", #call)

/* A blocking job that sends on a oneshot and releases it while the workers are held for a dump (pool
 * threads are not): the dump must see its hold and the waiter's wait at one moment (a send leaves no
 * trace a dump could take for a signal on its way, as a notification does). */
struct notifier {
  schedrt_oneshot *o;
  _Atomic schedrt_holder self; /* its token, once its spawner has it */
};

static void *notifier_fn(void *arg) {
  struct notifier *b = arg;
  schedrt_holder self;
  while ((self = atomic_load(&b->self)) == 0)
    sched_yield(); /* given right after the spawn returns */
  /* Not a synchronisation: a spread of moments for the notify, so that some fall inside dumps' walks. */
  struct timespec ts = {0, (long)(schedrt_now_ns() % 1000000u)};
  nanosleep(&ts, NULL);
  STRESS_OK(schedrt_oneshot_send(b->o, b));
  HOLD_OK(schedrt_oneshot_release(b->o, self));
  return NULL;
}

struct churner {
  uint64_t seq;
  struct notifier b;
  schedrt_handle *hb;
  int step;
  struct waiter w;
  schedrt_oneshot o;
  schedrt_sender *tx;
  schedrt_handle *h;
  int nvictims; /* waiters left on a destroyed notify, at most MAX_VICTIMS */
};

/*
 * One round: make the object, hold it, spawn the waiter (which holds nothing it could wake itself with),
 * signal it, release (step 0), then join it (step 1; a blocking notifier too) and destroy. The object
 * is held from before the waiter can wait until after its signal: by the churner within one poll, or by
 * a blocking job it handed its hold to (held for the job before the churner's own is released). Step 2:
 * a notify destroyed under its waiter.
 */
static schedrt_poll churner_fn(schedrt_task *t, void *arg) {
  struct churner *c = arg;
  schedrt_holder self = schedrt_holder_of(t);
  void *res;
  for (;;) {
    if (c->step == 0) {
      if (atomic_load(&stop)) {
        atomic_fetch_sub(&running, 1);
        return SCHEDRT_READY;
      }
      struct waiter *w = &c->w;
      memset(w, 0, sizeof(*w));
      w->kind = (int)(c->seq++ % NKINDS);
      if (w->kind == VICTIM && c->nvictims == MAX_VICTIMS)
        w->kind = NOTIFY;
      switch (w->kind) {
      case NOTIFY:
      case VICTIM:
        STRESS_OK(schedrt_notify_create(&w->n));
        HOLD_OK(schedrt_notify_hold(w->n, self));
        break;
      case ONESHOT:
      case BLOCKING:
        schedrt_oneshot_init(&c->o);
        w->o = &c->o;
        HOLD_OK(schedrt_oneshot_hold(w->o, self));
        break;
      case CHANNEL:
        STRESS_OK(schedrt_channel_create(1, &w->rx, &c->tx));
        HOLD_OK(schedrt_sender_hold(c->tx, self));
        HOLD_OK(schedrt_channel_hold(w->rx, self));
        break;
      }
      STRESS_OK(schedrt_spawn_ex(schedrt_task_runtime(t), waiter_fn, w, NULL, &c->h));
      /* The waiter also holds the object now (it cannot wake itself: never a proof either way). */
      schedrt_holder child = schedrt_holder_of_handle(c->h);
      switch (w->kind) {
      case NOTIFY:
        HOLD_OK(schedrt_notify_hold(w->n, child));
        schedrt_notify_one(w->n);
        HOLD_OK(schedrt_notify_release(w->n, self));
        break;
      case VICTIM:
        break; /* step 2: destroyed while it waits */
      case BLOCKING:
        c->b.o = w->o;
        atomic_store(&c->b.self, 0);
        STRESS_OK(schedrt_spawn_blocking_ex(schedrt_task_runtime(t), notifier_fn, &c->b, NULL, &c->hb));
        HOLD_OK(schedrt_oneshot_hold(w->o, schedrt_holder_of_handle(c->hb)));
        atomic_store(&c->b.self, schedrt_holder_of_handle(c->hb));
        HOLD_OK(schedrt_oneshot_release(w->o, self));
        break;
      case ONESHOT:
        STRESS_OK(schedrt_oneshot_send(w->o, c));
        HOLD_OK(schedrt_oneshot_release(w->o, self));
        break;
      case CHANNEL:
        STRESS_OK(schedrt_channel_try_send(c->tx, c));
        HOLD_OK(schedrt_sender_release(c->tx, self));
        break;
      }
      c->step = w->kind == VICTIM ? 2 : 1;
    }
    if (c->step == 2) {
      /* A notify destroyed while its waiter waits (a lost wake-up, for ever: destroy drops the task):
       * the dump must cope with an address whose object is gone, or already reused. */
      if (!atomic_load(&c->w.waiting))
        return schedrt_yield(t);
      schedrt_notify_destroy(c->w.n);
      c->nvictims++;
      schedrt_handle_release(c->h);
      c->step = 0;
      continue;
    }
    if (c->step == 1) {
      if (schedrt_handle_poll(c->h, t, &res) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      schedrt_handle_release(c->h);
      c->step = 3;
    }
    if (c->w.kind == BLOCKING) {
      /* The job touches the oneshot until it returns. */
      if (schedrt_handle_poll(c->hb, t, &res) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      schedrt_handle_release(c->hb);
    }
    switch (c->w.kind) {
    case NOTIFY:
      schedrt_notify_destroy(c->w.n);
      break;
    case ONESHOT:
    case BLOCKING:
      schedrt_oneshot_destroy(c->w.o);
      break;
    case CHANNEL:
      HOLD_OK(schedrt_channel_release(c->w.rx, self));
      schedrt_sender_drop(c->tx);
      schedrt_channel_destroy(c->w.rx);
      break;
    }
    atomic_fetch_add(&rounds, 1);
    c->step = 0;
  }
}

/* Holders changed by threads that are not tasks, for tokens of a task alive throughout. */
struct outsider {
  schedrt_holder task;
};

static void *outsider_fn(void *arg) {
  struct outsider *o = arg;
  while (!atomic_load(&stop)) {
    schedrt_notify *n;
    schedrt_oneshot os;
    schedrt_channel *rx;
    schedrt_sender *tx;
    STRESS_OK(schedrt_notify_create(&n));
    HOLD_OK(schedrt_notify_hold(n, SCHEDRT_HOLDER_OUTSIDE));
    HOLD_OK(schedrt_notify_hold(n, o->task));
    HOLD_OK(schedrt_notify_release(n, SCHEDRT_HOLDER_OUTSIDE));
    schedrt_notify_one(n);
    schedrt_notify_destroy(n);
    schedrt_oneshot_init(&os);
    HOLD_OK(schedrt_oneshot_hold(&os, o->task));
    schedrt_oneshot_destroy(&os);
    STRESS_OK(schedrt_channel_create(2, &rx, &tx));
    HOLD_OK(schedrt_sender_hold(tx, SCHEDRT_HOLDER_OUTSIDE));
    HOLD_OK(schedrt_channel_hold(rx, o->task));
    schedrt_sender_drop(tx);
    schedrt_channel_destroy(rx);
  }
  atomic_fetch_sub(&running, 1);
  return NULL;
}

static schedrt_poll sleeper_fn(schedrt_task *t, void *arg) {
  uint64_t *deadline = arg;
  for (;;) {
    if (atomic_load(&stop))
      return SCHEDRT_READY;
    if (schedrt_sleep(t, deadline, SEC / 100) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
  }
}

/* Idle for the whole run (on a notify nobody gives holders): they make the dump's walk long, the window
 * in which a blocking job's notify and release would fall between the waiter's record and its holders. */
static schedrt_poll filler_fn(schedrt_task *t, void *arg) {
  uint64_t ticket = 0; /* polled once: nothing ever wakes it */
  return schedrt_notify_wait(arg, t, &ticket);
}

static bool handle_wait(uint32_t wait) {
  return wait == SCHEDRT_DUMP_WAIT_NOTIFY || wait == SCHEDRT_DUMP_WAIT_ONESHOT ||
         wait == SCHEDRT_DUMP_WAIT_CHANNEL_RECV || wait == SCHEDRT_DUMP_WAIT_CHANNEL_SEND;
}

/* The state a false proof would come from: idle on an object with holders, none of them outside, none
 * in the dump doing anything but waiting. NULL, or what is wrong. */
static const char *false_leak(const schedrt_dump_doc *d) {
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    if (t->state != SCHEDRT_DUMP_STATE_IDLE || !handle_wait(t->wait) || !t->holders || t->timers ||
        t->wakers != 1)
      continue;
    bool live = t->holders_more != 0;
    for (size_t k = 0; !live && k + 1 < t->nholders; k += 2) {
      uint64_t id = t->holders[k];
      if (id == 0)
        live = true;
      for (size_t j = 0; !live && j < d->ntasks; j++)
        live = d->tasks[j].id == id && id != t->id && d->tasks[j].state != SCHEDRT_DUMP_STATE_IDLE &&
               d->tasks[j].state != SCHEDRT_DUMP_STATE_COMPLETING;
    }
    if (!live)
      return "a waiter whose every holder is gone or idle";
  }
  return NULL;
}

int main(void) {
  stress_watchdog(120);
  enum { NCHURN = 4, NTHREADS = 2, NWORKERS = 3 };
  static struct churner c[NCHURN];
  static uint64_t sleep_deadline;
  schedrt_runtime *rt = stress_runtime(NWORKERS);
  schedrt_handle *sleeper;
  STRESS_OK(schedrt_spawn_ex(rt, sleeper_fn, &sleep_deadline, NULL, &sleeper));
  schedrt_notify *idle;
  STRESS_OK(schedrt_notify_create(&idle));
  unsigned long nfill = stress_count(20000, 2000);
  for (unsigned long i = 0; i < nfill; i++)
    STRESS_OK(schedrt_spawn(rt, filler_fn, idle));
  atomic_store(&running, NCHURN + NTHREADS);
  for (int i = 0; i < NCHURN; i++)
    STRESS_OK(schedrt_spawn(rt, churner_fn, &c[i]));
  struct outsider o = {schedrt_holder_of_handle(sleeper)};
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    STRESS_CHECK(pthread_create(&th[i], NULL, outsider_fn, &o) == 0, "pthread_create");
  uint64_t end = schedrt_now_ns() + (uint64_t)stress_count(1500, 1500) * 1000000u;
  int dumps = 0, held = 0;
  while (schedrt_now_ns() < end || dumps < 3) {
    schedrt_dump_result res;
    schedrt_dump_doc *d;
    STRESS_OK(tdu_dump(rt, &(schedrt_dump_opts){.timeout_ms = 10000}, &res, &d));
    const char *bad = tdu_check(d, NWORKERS);
    STRESS_CHECK(!bad, "%s", bad);
    bad = false_leak(d);
    STRESS_CHECK(!bad, "dump %d: %s", dumps, bad);
    for (size_t i = 0; i < d->ntasks; i++)
      held += d->tasks[i].holders != NULL && handle_wait(d->tasks[i].wait);
    schedrt_dump_doc_free(d);
    dumps++;
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(th[i], NULL);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&running) == 0, 30.0);
  STRESS_CHECK(ok, "churners finish: %d still running", atomic_load(&running));
  void *r;
  STRESS_OK(schedrt_join(sleeper, 30 * SEC, &r));
  unsigned long n = atomic_load(&rounds);
  STRESS_CHECK(n > 0, "no round completed");
  schedrt_runtime_destroy(rt);
  schedrt_notify_destroy(idle);
  printf("stress_holds: %d dumps, %lu rounds, %d waits with holders seen\n", dumps, n, held);
  return STRESS_PASS;
}
