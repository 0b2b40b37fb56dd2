/* The primitives built on wakers: oneshot channels and notify. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rt_fixture.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-sync")

struct blocker {
  sem_t started, release;
};
static schedrt_poll blocker_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct blocker *b = arg;
  sem_post(&b->started);
  stress_sem_wait(&b->release, 30);
  return SCHEDRT_READY;
}
static void block_worker(schedrt_runtime *rt, struct blocker *b) {
  sem_init(&b->started, 0, 0);
  sem_init(&b->release, 0, 0);
  cr_assert_eq(schedrt_spawn(rt, blocker_fn, b), 0);
  cr_assert(stress_sem_wait(&b->started, WAIT_S));
}

/* ------------------------------------------------------------ oneshot */

struct rx {
  schedrt_oneshot ch;
  _Atomic unsigned polls;
  schedrt_poll first;
  void *value;
  sem_t polled;
};
static void rx_init(struct rx *r) {
  memset(r, 0, sizeof(*r));
  schedrt_oneshot_init(&r->ch);
  sem_init(&r->polled, 0, 0);
}
static schedrt_poll rx_fn(schedrt_task *t, void *arg) {
  struct rx *r = arg;
  unsigned n = atomic_fetch_add(&r->polls, 1);
  schedrt_poll p = schedrt_oneshot_recv(&r->ch, t, &r->value);
  if (n == 0)
    r->first = p;
  sem_post(&r->polled);
  return p;
}

Test(oneshot, send_before_recv, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct rx r;
  rx_init(&r);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x11), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(r.first, SCHEDRT_READY);
  cr_assert_eq(r.value, (void *)0x11);
  cr_assert_eq(atomic_load(&r.polls), 1);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

Test(oneshot, recv_then_send_wakes_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct rx r;
  rx_init(&r);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r, NULL, &h), 0);
  cr_assert(stress_sem_wait(&r.polled, WAIT_S));
  cr_assert_eq(r.first, SCHEDRT_PENDING);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x22), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(r.value, (void *)0x22);
  cr_assert_eq(atomic_load(&r.polls), 2);
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

Test(oneshot, second_send_fails, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct rx r;
  rx_init(&r);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x1), 0);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, (void *)0x2), -EALREADY);
  cr_assert_eq(schedrt_oneshot_send(&r.ch, NULL), -EALREADY);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, rx_fn, &r, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(r.value, (void *)0x1, "the first value stays");
  schedrt_oneshot_destroy(&r.ch);
  schedrt_runtime_destroy(rt);
}

/* A spurious poll while pending keeps the one stored waker (no extra reference). */
static schedrt_poll rx_twice_fn(schedrt_task *t, void *arg) {
  struct rx *r = arg;
  unsigned n = atomic_fetch_add(&r->polls, 1);
  schedrt_poll p = schedrt_oneshot_recv(&r->ch, t, &r->value);
  if (n == 0 && p == SCHEDRT_PENDING)
    p = schedrt_oneshot_recv(&r->ch, t, &r->value);
  if (n == 0)
    r->first = p;
  sem_post(&r->polled);
  return p;
}

Test(oneshot, destroy_releases_the_registered_waker, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct rx r;
  rx_init(&r);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, rx_twice_fn, &r, NULL, &h), 0);
  cr_assert(stress_sem_wait(&r.polled, WAIT_S));
  cr_assert_eq(r.first, SCHEDRT_PENDING);
  schedrt_task *t = (schedrt_task *)h;
  /* Alive list + handle + one waker, once the poll has dropped its scheduled reference. */
  bool ok;
  STRESS_WAIT_UNTIL(ok, schedrt__refs_count(atomic_load(&t->refs)) == 3, WAIT_S);
  cr_assert(ok, "refs %u, want 3", schedrt__refs_count(atomic_load(&t->refs)));
  schedrt_oneshot_destroy(&r.ch);
  cr_assert_eq(schedrt__refs_count(atomic_load(&t->refs)), 2, "destroy dropped the waker");
  schedrt_runtime_destroy(rt);
  schedrt_handle_release(h);
}

/* block_on parks until a task on a worker sends. */
struct bo_rx {
  schedrt_runtime *rt;
  struct rx r;
  bool spawned;
};
static schedrt_poll send_fn(schedrt_task *t, void *arg) {
  (void)t;
  struct rx *r = arg;
  schedrt_oneshot_send(&r->ch, (void *)0x33);
  return SCHEDRT_READY;
}
static schedrt_poll bo_rx_fn(schedrt_task *t, void *arg) {
  struct bo_rx *b = arg;
  schedrt_poll p = rx_fn(t, &b->r);
  if (p == SCHEDRT_PENDING && !b->spawned) {
    b->spawned = true;
    if (schedrt_spawn(b->rt, send_fn, &b->r))
      return SCHEDRT_READY;
  }
  return p;
}

Test(oneshot, send_from_a_task_to_block_on, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct bo_rx b = {.rt = rt};
  rx_init(&b.r);
  cr_assert_eq(schedrt_block_on(rt, bo_rx_fn, &b, NULL), 0);
  cr_assert_eq(b.r.first, SCHEDRT_PENDING);
  cr_assert_eq(b.r.value, (void *)0x33);
  cr_assert_eq(atomic_load(&b.r.polls), 2);
  schedrt_oneshot_destroy(&b.r.ch);
  schedrt_runtime_destroy(rt);
}

/*
 * The channel may be freed as soon as the receiver has its value. A receiver
 * that is polled for other reasons (here: it keeps yielding) can see the value
 * while schedrt_oneshot_send is still running; send must not touch the
 * channel after publishing it. Under ASan a violation is a heap-use-after-free.
 */
struct chan_box {
  schedrt_oneshot ch;
};
struct busy_rx {
  _Atomic(struct chan_box *) box;
  _Atomic unsigned received;
  sem_t registered;
  bool posted;
};
static schedrt_poll busy_rx_fn(schedrt_task *t, void *arg) {
  struct busy_rx *b = arg;
  struct chan_box *box = atomic_load(&b->box);
  void *v;
  if (schedrt_oneshot_recv(&box->ch, t, &v) == SCHEDRT_READY) {
    schedrt_oneshot_destroy(&box->ch);
    atomic_store(&b->box, NULL);
    free(box);
    atomic_fetch_add(&b->received, 1);
    return SCHEDRT_READY;
  }
  if (!b->posted) {
    b->posted = true;
    sem_post(&b->registered);
  }
  return schedrt_yield(t); /* poll again and again while the value is on its way */
}

Test(oneshot, receiver_may_free_the_channel_once_it_has_the_value, .timeout = 120) {
  schedrt_runtime *rt = make_rt(2);
  unsigned rounds = (unsigned)stress_scaled(3000);
  for (unsigned i = 0; i < rounds; i++) {
    struct busy_rx b = {.posted = false};
    sem_init(&b.registered, 0, 0);
    struct chan_box *box = malloc(sizeof(*box));
    schedrt_oneshot_init(&box->ch);
    atomic_store(&b.box, box);
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, busy_rx_fn, &b, NULL, &h), 0);
    cr_assert(stress_sem_wait(&b.registered, WAIT_S));
    cr_assert_eq(schedrt_oneshot_send(&box->ch, (void *)0x1), 0);
    cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
    cr_assert_eq(atomic_load(&b.received), 1);
    sem_destroy(&b.registered);
  }
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ notify */

struct waiter {
  schedrt_notify *n;
  uint64_t ticket;
  _Atomic unsigned polls;
  schedrt_poll first;
  char name;
};
static char woke[64];
static _Atomic unsigned nwoke;
static _Atomic unsigned nregistered; /* first polls that returned PENDING: registered waiters */
static schedrt_poll waiter_fn(schedrt_task *t, void *arg) {
  struct waiter *w = arg;
  unsigned n = atomic_fetch_add(&w->polls, 1);
  schedrt_poll p = schedrt_notify_wait(w->n, t, &w->ticket);
  if (n == 0) {
    w->first = p;
    if (p == SCHEDRT_PENDING)
      atomic_fetch_add(&nregistered, 1);
  }
  if (p == SCHEDRT_READY)
    woke[atomic_fetch_add(&nwoke, 1)] = w->name;
  return p;
}

/* Waits until `want` waiters have registered in total. */
static bool registered(unsigned want) {
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&nregistered) >= want, WAIT_S);
  return ok && atomic_load(&nregistered) == want;
}

Test(notify, create_rejects_null) { cr_assert_eq(schedrt_notify_create(NULL), -EINVAL); }

Test(notify, permit_is_stored_and_consumed_once, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  schedrt_notify_one(n); /* nobody waits: a permit */
  struct waiter a = {.n = n, .name = 'a'}, b = {.n = n, .name = 'b'};
  schedrt_handle *ha, *hb;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &a, NULL, &ha), 0);
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(a.first, SCHEDRT_READY);
  cr_assert_eq(a.ticket, 0);
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &b, NULL, &hb), 0);
  cr_assert(registered(1), "the permit was used up: b waits");
  cr_assert_eq(b.first, SCHEDRT_PENDING);
  cr_assert_not(schedrt_handle_is_finished(hb));
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&b.polls), 2);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* notify_one wakes exactly one waiter, the one waiting longest. */
Test(notify, one_wakes_the_oldest_waiter_only, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct blocker bl;
  block_worker(rt, &bl);
  enum { N = 4 };
  struct waiter w[N];
  schedrt_handle *h[N];
  for (int i = 0; i < N; i++) {
    w[i] = (struct waiter){.n = n, .name = (char)('a' + i)};
    cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &w[i], NULL, &h[i]), 0);
  }
  sem_post(&bl.release); /* they now register in spawn order */
  cr_assert(registered(N));
  for (int k = 0; k < N; k++) {
    schedrt_notify_one(n);
    cr_assert_eq(schedrt_join(h[k], JOIN_NS, NULL), 0, "waiter %d", k);
    for (int j = k + 1; j < N; j++)
      cr_assert_not(schedrt_handle_is_finished(h[j]), "waiter %d finished early", j);
  }
  cr_assert_str_eq(woke, "abcd");
  for (int i = 0; i < N; i++)
    cr_assert_eq(atomic_load(&w[i].polls), 2);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* notify_all wakes every current waiter and leaves no permit behind. */
Test(notify, all_wakes_every_waiter_and_stores_no_permit, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  enum { N = 20 };
  struct waiter w[N];
  schedrt_handle *h[N];
  for (int i = 0; i < N; i++) {
    w[i] = (struct waiter){.n = n, .name = 'x'};
    cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &w[i], NULL, &h[i]), 0);
  }
  cr_assert(registered(N));
  schedrt_notify_all(n);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
    cr_assert_eq(atomic_load(&w[i].polls), 2);
  }
  struct waiter late = {.n = n, .name = 'l'};
  schedrt_handle *hl;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &late, NULL, &hl), 0);
  cr_assert(registered(N + 1), "a waiter after notify_all must wait");
  cr_assert_eq(late.first, SCHEDRT_PENDING);
  schedrt_notify_all(n);
  cr_assert_eq(schedrt_join(hl, JOIN_NS, NULL), 0);
  /* notify_all with nobody waiting is a no-op too. */
  schedrt_notify_all(n);
  struct waiter later = {.n = n, .name = 'm'};
  schedrt_handle *hm;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &later, NULL, &hm), 0);
  cr_assert(registered(N + 2), "notify_all with no waiter stored no permit");
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(hm, JOIN_NS, NULL), 0);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* A waiter polled spuriously stays registered, once. */
static schedrt_poll spurious_waiter_fn(schedrt_task *t, void *arg) {
  struct waiter *w = arg;
  unsigned k = atomic_fetch_add(&w->polls, 1);
  schedrt_poll p = schedrt_notify_wait(w->n, t, &w->ticket);
  if (p == SCHEDRT_PENDING && k < 20)
    return schedrt_yield(t);
  return p;
}

Test(notify, spurious_polls_keep_one_registration, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct waiter w = {.n = n};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, spurious_waiter_fn, &w, NULL, &h), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&w.polls) >= 21, WAIT_S);
  cr_assert(ok);
  cr_assert_not(schedrt_handle_is_finished(h));
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  /* Had the spurious polls registered it twice, this notify would go to the stale entry. */
  struct waiter x = {.n = n, .name = 'x'};
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &x, NULL, &h), 0);
  cr_assert(registered(1));
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  schedrt_notify_one(n); /* a permit now, nobody waits */
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------------ notify_cancel */

/* A waiter that may give up (its timeout won, say): then it cancels instead of waiting on. */
struct cw {
  schedrt_notify *n;
  uint64_t ticket;
  _Atomic bool give_up;
  _Atomic int outcome; /* 0 pending, 1 notified, 2 gave up */
  _Atomic(schedrt_waker *) waker;
  sem_t registered;
  bool posted;
};
static void cw_init(struct cw *c, schedrt_notify *n) {
  memset(c, 0, sizeof(*c));
  c->n = n;
  sem_init(&c->registered, 0, 0);
}
static schedrt_poll cw_fn(schedrt_task *t, void *arg) {
  struct cw *c = arg;
  if (!atomic_load(&c->waker))
    atomic_store(&c->waker, schedrt_waker_get(t));
  if (atomic_load(&c->give_up)) {
    schedrt_notify_cancel(c->n, &c->ticket);
    atomic_store(&c->outcome, 2);
    return SCHEDRT_READY;
  }
  if (schedrt_notify_wait(c->n, t, &c->ticket) == SCHEDRT_READY) {
    atomic_store(&c->outcome, 1);
    return SCHEDRT_READY;
  }
  if (!c->posted) {
    c->posted = true;
    sem_post(&c->registered);
  }
  return SCHEDRT_PENDING;
}
static schedrt_handle *cw_spawn(schedrt_runtime *rt, struct cw *c) {
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, cw_fn, c, NULL, &h), 0);
  cr_assert(stress_sem_wait(&c->registered, WAIT_S), "waiter never registered");
  return h;
}
static void cw_fini(struct cw *c) { schedrt_waker_drop(atomic_load(&c->waker)); }

/* A notification given to a waiter that then gives up goes to the next waiter. */
Test(notify, cancel_passes_a_delivered_notification_on, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct cw a, b;
  cw_init(&a, n);
  cw_init(&b, n);
  schedrt_handle *ha = cw_spawn(rt, &a), *hb = cw_spawn(rt, &b);
  atomic_store(&a.give_up, true);
  schedrt_notify_one(n); /* goes to a, the oldest; a cancels; b must get it */
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0, "the notification was lost with a");
  cr_assert_eq(atomic_load(&a.outcome), 2);
  cr_assert_eq(atomic_load(&b.outcome), 1);
  cr_assert_eq(a.ticket, 0);
  cw_fini(&a);
  cw_fini(&b);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* A waiter that gives up before any notification leaves no stale entry to swallow the next one. */
Test(notify, cancel_before_notification_leaves_no_stale_waiter, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct cw a, b;
  cw_init(&a, n);
  cw_init(&b, n);
  schedrt_handle *ha = cw_spawn(rt, &a), *hb = cw_spawn(rt, &b);
  atomic_store(&a.give_up, true);
  schedrt_wake_by_ref(atomic_load(&a.waker)); /* a's "timeout" */
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&a.outcome), 2);
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0, "a's cancelled registration swallowed the notification");
  cr_assert_eq(atomic_load(&b.outcome), 1);
  cw_fini(&a);
  cw_fini(&b);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* With nobody else waiting, a notification given up becomes a permit. */
Test(notify, cancel_with_no_other_waiter_keeps_a_permit, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct cw a;
  cw_init(&a, n);
  schedrt_handle *ha = cw_spawn(rt, &a);
  atomic_store(&a.give_up, true);
  schedrt_notify_one(n);
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&a.outcome), 2);
  struct waiter c = {.n = n, .name = 'c'};
  schedrt_handle *hc;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &c, NULL, &hc), 0);
  cr_assert_eq(schedrt_join(hc, JOIN_NS, NULL), 0);
  cr_assert_eq(c.first, SCHEDRT_READY, "the permit was kept");
  /* Cancelling with no registration is a no-op. */
  uint64_t zero = 0;
  schedrt_notify_cancel(n, &zero);
  schedrt_notify_cancel(NULL, &zero);
  schedrt_notify_cancel(n, NULL);
  cw_fini(&a);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/*
 * A notification that notify_one gave to a waiter is passed on when the waiter
 * gives up, even if a notify_all reached the waiter too in the meantime
 * (schedrt.h: "If the notification had already been delivered to this
 * ticket, it is passed on to the next waiter (or kept as a permit)").
 */
Test(notify, cancel_after_notify_one_and_notify_all_keeps_the_one, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  struct cw a, b;
  cw_init(&a, n);
  cw_init(&b, n);
  schedrt_handle *ha = cw_spawn(rt, &a), *hb = cw_spawn(rt, &b);
  /* Hold the only worker so that both notifications land before a is polled. */
  struct blocker bl;
  block_worker(rt, &bl);
  atomic_store(&a.give_up, true);
  schedrt_notify_one(n); /* to a, the oldest */
  schedrt_notify_all(n); /* to b (and a, already notified) */
  sem_post(&bl.release);
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(schedrt_join(hb, JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&a.outcome), 2);
  cr_assert_eq(atomic_load(&b.outcome), 1);
  /* a gave up the notify_one: nobody else waits, so it is a permit now. */
  struct waiter c = {.n = n, .name = 'c'};
  schedrt_handle *hc;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &c, NULL, &hc), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&c.polls) >= 1, WAIT_S);
  cr_assert(ok);
  cr_assert_eq(c.first, SCHEDRT_READY, "the notification given to a was lost when a gave up");
  cr_assert_eq(schedrt_join(hc, JOIN_NS, NULL), 0);
  cw_fini(&a);
  cw_fini(&b);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}

/* Destroying a notify with waiters releases their wakers (checked by LSan). */
Test(notify, destroy_with_waiters_releases_them, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  enum { N = 5 };
  struct waiter w[N];
  schedrt_handle *h[N];
  for (int i = 0; i < N; i++) {
    w[i] = (struct waiter){.n = n};
    cr_assert_eq(schedrt_spawn_ex(rt, waiter_fn, &w[i], NULL, &h[i]), 0);
  }
  cr_assert(registered(N));
  schedrt_notify_destroy(n);
  schedrt_notify_destroy(NULL);
  schedrt_runtime_destroy(rt);
  for (int i = 0; i < N; i++)
    schedrt_handle_release(h[i]);
}

/*
 * No notification is lost: threads call notify_one M times in total while
 * tasks wait in loops; every notify_one ends exactly one wait (a waiter's or
 * a stored permit's), so the waits add up to M.
 */
struct consumer {
  schedrt_notify *n;
  uint64_t ticket;
  _Atomic unsigned long *consumed;
  _Atomic bool *stop;
};
static schedrt_poll consumer_fn(schedrt_task *t, void *arg) {
  struct consumer *c = arg;
  for (;;) {
    if (atomic_load(c->stop))
      return SCHEDRT_READY;
    if (schedrt_notify_wait(c->n, t, &c->ticket) == SCHEDRT_PENDING) {
      /* Registered after the final notify_all? Then stop is already visible
       * (the test sets it before notify_all takes the notify's lock, which
       * our registration took after): give up the wait instead of sleeping. */
      if (atomic_load(c->stop)) {
        schedrt_notify_cancel(c->n, &c->ticket);
        return SCHEDRT_READY;
      }
      return SCHEDRT_PENDING;
    }
    if (atomic_load(c->stop))
      return SCHEDRT_READY; /* the final notify_all, not a notify_one */
    atomic_fetch_add(c->consumed, 1);
  }
}
struct producer {
  schedrt_notify *n;
  unsigned long count;
};
static void *producer_fn(void *arg) {
  struct producer *p = arg;
  for (unsigned long i = 0; i < p->count; i++)
    schedrt_notify_one(p->n);
  return NULL;
}

Test(notify, no_notification_is_lost, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_notify *n;
  cr_assert_eq(schedrt_notify_create(&n), 0);
  enum { CONSUMERS = 4, PRODUCERS = 3 };
  unsigned long per = stress_scaled(5000), total = per * PRODUCERS;
  _Atomic unsigned long consumed = 0;
  _Atomic bool stop = false;
  struct consumer c[CONSUMERS];
  schedrt_handle *h[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++) {
    c[i] = (struct consumer){.n = n, .consumed = &consumed, .stop = &stop};
    cr_assert_eq(schedrt_spawn_ex(rt, consumer_fn, &c[i], NULL, &h[i]), 0);
  }
  pthread_t th[PRODUCERS];
  struct producer p = {n, per};
  for (int i = 0; i < PRODUCERS; i++)
    pthread_create(&th[i], NULL, producer_fn, &p);
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(th[i], NULL);
  bool ok;
  STRESS_WAIT_UNTIL(ok, atomic_load(&consumed) == total, WAIT_S);
  cr_assert(ok, "%lu of %lu notifications consumed", atomic_load(&consumed), total);
  /* Consumers still registered are released by one notify_all. */
  atomic_store(&stop, true);
  schedrt_notify_all(n);
  for (int i = 0; i < CONSUMERS; i++)
    cr_assert_eq(schedrt_join(h[i], JOIN_NS, NULL), 0);
  cr_assert_eq(atomic_load(&consumed), total);
  schedrt_notify_destroy(n);
  schedrt_runtime_destroy(rt);
}
