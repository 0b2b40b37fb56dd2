/* The bounded MPSC channel: every call, FIFO senders, end of stream, close, moved waits, the budget. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "test_sync_util.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-sync-channel")
#define V(x) ((void *)(uintptr_t)(x))

static schedrt_poll send_step(struct poller *p, schedrt_task *t) {
  return schedrt_channel_send(p->obj, t, p->value, p->ticket, &p->status);
}
static schedrt_poll recv_step(struct poller *p, schedrt_task *t) {
  return schedrt_channel_recv(p->obj, t, &p->value, &p->status);
}

Test(channel, create_rejects_bad_arguments) {
  schedrt_channel *rx;
  schedrt_sender *tx;
  struct {
    size_t cap;
    schedrt_channel **rx;
    schedrt_sender **tx;
  } cases[] = {{0, &rx, &tx}, {1, NULL, &tx}, {1, &rx, NULL}, {SIZE_MAX, &rx, &tx}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    cr_expect_eq(schedrt_channel_create(cases[i].cap, cases[i].rx, cases[i].tx), -EINVAL, "case %zu", i);
}

/* try_send / try_recv from a thread that is not a task, step by step. */
Test(channel, try_calls_table) {
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(2, &rx, &tx), 0);
  cr_expect_eq(schedrt_channel_capacity(rx), 2);
  void *v = NULL;
  struct {
    char op; /* s: try_send, r: try_recv, d: drop the sender, c: clone it */
    uintptr_t arg;
    int rc;
    uintptr_t got;
    size_t len;
  } steps[] = {
      {'r', 0, -EAGAIN, 0, 0}, {'s', 1, 0, 0, 1}, {'s', 2, 0, 0, 2}, {'s', 3, -EAGAIN, 0, 2},
      {'r', 0, 0, 1, 1},       {'s', 3, 0, 0, 2}, {'c', 0, 0, 0, 2}, {'d', 0, 0, 0, 2},
      {'r', 0, 0, 2, 1},       {'d', 0, 0, 0, 1}, {'r', 0, 0, 3, 0}, {'r', 0, -EPIPE, 0, 0},
  };
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    int rc = 0;
    switch (steps[i].op) {
    case 's':
      rc = schedrt_channel_try_send(tx, V(steps[i].arg));
      break;
    case 'r':
      v = NULL;
      rc = schedrt_channel_try_recv(rx, &v);
      if (rc == 0)
        cr_expect_eq(v, V(steps[i].got), "step %zu", i);
      break;
    case 'c':
      cr_expect_eq(schedrt_sender_clone(tx), tx);
      break;
    case 'd':
      schedrt_sender_drop(tx);
      break;
    }
    cr_expect_eq(rc, steps[i].rc, "step %zu: %d", i, rc);
    cr_expect_eq(schedrt_channel_len(rx), steps[i].len, "step %zu", i);
  }
  schedrt_channel_destroy(rx);
}

Test(channel, close_refuses_sends_and_keeps_what_is_buffered) {
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(4, &rx, &tx), 0);
  cr_assert_eq(schedrt_channel_try_send(tx, V(7)), 0);
  schedrt_channel_close(rx);
  schedrt_channel_close(rx); /* idempotent */
  cr_expect_eq(schedrt_channel_try_send(tx, V(8)), -EPIPE);
  void *v;
  cr_expect_eq(schedrt_channel_try_recv(rx, &v), 0);
  cr_expect_eq(v, V(7));
  cr_expect_eq(schedrt_channel_try_recv(rx, &v), -EPIPE);
  /* Either order of release frees it (ASan checks). */
  schedrt_channel_destroy(rx);
  schedrt_sender_drop(tx);
}

Test(channel, recv_waits_and_a_send_wakes_it, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  struct poller p;
  poller_init(&p, recv_step, rx, NULL);
  schedrt_handle *h = poller_spawn_pending(rt, &p);
  cr_assert_eq(schedrt_channel_try_send(tx, V(42)), 0);
  poller_join(h);
  cr_expect_eq(p.status, 0);
  cr_expect_eq(p.value, V(42));
  schedrt_sender_drop(tx);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

Test(channel, last_sender_dropped_ends_the_stream, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  schedrt_sender *tx2 = schedrt_sender_clone(tx);
  struct poller p;
  poller_init(&p, recv_step, rx, NULL);
  schedrt_handle *h = poller_spawn_pending(rt, &p);
  schedrt_sender_drop(tx);
  cr_expect(!stress_sem_wait(&p.done, 0.05), "woken with a sender left");
  schedrt_sender_drop(tx2);
  poller_join(h);
  cr_expect_eq(p.status, -EPIPE);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

/* Senders queued on a full channel are served in order, each value handed into the freed slot. */
Test(channel, full_channel_queues_senders_fifo, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  cr_assert_eq(schedrt_channel_try_send(tx, V(100)), 0);
  enum { N = 4 };
  struct poller p[N];
  uint64_t tickets[N] = {0};
  schedrt_handle *h[N];
  for (int i = 0; i < N; i++) {
    poller_init(&p[i], send_step, tx, &tickets[i]);
    p[i].value = V(i + 1);
    h[i] = poller_spawn_pending(rt, &p[i]);
  }
  /* No barging past queued senders, even by a thread that is not a task. */
  void *v;
  for (int i = 0; i < N; i++) {
    cr_expect_eq(schedrt_channel_try_send(tx, V(999)), -EAGAIN);
    cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0);
    cr_expect_eq(v, i == 0 ? V(100) : V(i), "message %d", i);
    poller_join(h[i]);
    cr_expect_eq(p[i].status, 0);
  }
  cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0);
  cr_expect_eq(v, V(N));
  schedrt_sender_drop(tx);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

Test(channel, close_wakes_queued_senders_with_epipe, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  cr_assert_eq(schedrt_channel_try_send(tx, V(1)), 0);
  uint64_t ticket = 0;
  struct poller p;
  poller_init(&p, send_step, tx, &ticket);
  p.value = V(2);
  schedrt_handle *h = poller_spawn_pending(rt, &p);
  schedrt_channel_close(rx);
  poller_join(h);
  cr_expect_eq(p.status, -EPIPE);
  cr_expect_eq(ticket, 0);
  void *v;
  cr_expect_eq(schedrt_channel_try_recv(rx, &v), 0);
  cr_expect_eq(v, V(1));
  schedrt_channel_destroy(rx);
  schedrt_sender_drop(tx);
  schedrt_runtime_destroy(rt);
}

Test(channel, send_cancel_says_whether_the_value_went_in, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  cr_assert_eq(schedrt_channel_try_send(tx, V(1)), 0);
  uint64_t t1 = 0, t2 = 0;
  struct poller a, b;
  poller_init(&a, send_step, tx, &t1);
  poller_init(&b, send_step, tx, &t2);
  a.value = V(2);
  b.value = V(3);
  a.abandon = b.abandon = true; /* they give up after one PENDING */
  poller_join(poller_spawn_pending(rt, &a));
  poller_join(poller_spawn_pending(rt, &b));
  void *v;
  cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0); /* hands a's value in */
  cr_expect_eq(schedrt_channel_send_cancel(tx, &t1), 1);
  cr_expect_eq(schedrt_channel_send_cancel(tx, &t2), 0);
  cr_expect_eq(t1 | t2, 0);
  cr_expect_eq(schedrt_channel_send_cancel(tx, &t2), 0); /* a zero ticket: nothing */
  cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0);
  cr_expect_eq(v, V(2));
  cr_expect_eq(schedrt_channel_try_recv(rx, &v), -EAGAIN);
  schedrt_sender_drop(tx);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

/* The waiting side moves to another task: the second one is woken (receiver, then sender). */
Test(channel, moved_receiver_wakes_the_new_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  struct poller a, b;
  poller_init(&a, recv_step, rx, NULL);
  poller_init(&b, recv_step, rx, NULL);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *h = poller_spawn_pending(rt, &b);
  cr_assert_eq(schedrt_channel_try_send(tx, V(5)), 0);
  poller_join(h);
  cr_expect_eq(b.value, V(5));
  schedrt_sender_drop(tx);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

Test(channel, moved_sender_wakes_the_new_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  cr_assert_eq(schedrt_channel_try_send(tx, V(1)), 0);
  uint64_t ticket = 0;
  struct poller a, b;
  poller_init(&a, send_step, tx, &ticket);
  poller_init(&b, send_step, tx, &ticket);
  a.value = b.value = V(2);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *h = poller_spawn_pending(rt, &b);
  void *v;
  cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0);
  poller_join(h);
  cr_expect_eq(b.status, 0);
  cr_expect_eq(ticket, 0);
  cr_assert_eq(schedrt_channel_try_recv(rx, &v), 0);
  cr_expect_eq(v, V(2));
  schedrt_sender_drop(tx);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}

/* Destroy with a waiting receiver and queued senders: nothing leaks (ASan), senders see -EPIPE. */
Test(channel, destroy_with_waiters_releases_them, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1, &rx, &tx), 0);
  struct poller r;
  poller_init(&r, recv_step, rx, NULL);
  r.abandon = true;
  poller_join(poller_spawn_pending(rt, &r));
  cr_assert_eq(schedrt_channel_try_send(tx, V(1)), 0);
  uint64_t ticket = 0;
  struct poller s;
  poller_init(&s, send_step, tx, &ticket);
  s.value = V(2);
  schedrt_handle *h = poller_spawn_pending(rt, &s);
  schedrt_channel_destroy(rx);
  poller_join(h);
  cr_expect_eq(s.status, -EPIPE);
  cr_expect_eq(schedrt_channel_try_send(tx, V(3)), -EPIPE);
  schedrt_sender_drop(tx); /* the last one frees */
  schedrt_runtime_destroy(rt);
}

/*
 * The budget: a task whose channel always has data yields within 128 receives
 * (budget_forced_yields counts it), and another task on the one worker is
 * polled meanwhile.
 */
struct greedy {
  schedrt_channel *rx;
  schedrt_sender *tx;
  _Atomic int other_ran;
  unsigned run, longest_run, yields;
  unsigned long received;
};
static schedrt_poll greedy_fn(schedrt_task *t, void *arg) {
  struct greedy *g = arg;
  for (;;) {
    if (atomic_load(&g->other_ran))
      return SCHEDRT_READY;
    /* Always something to receive. Full is fine: each forced yield leaves
     * the message of its round behind, and a test thread slow to spawn the
     * other task (a loaded machine) lets the greedy one yield many times. */
    int rc = schedrt_channel_try_send(g->tx, V(1));
    if (rc && rc != -EAGAIN)
      cr_assert_fail("send: %s", schedrt_strerror(rc));
    void *v;
    int st;
    if (schedrt_channel_recv(g->rx, t, &v, &st) == SCHEDRT_PENDING) {
      g->yields++;
      if (g->run > g->longest_run)
        g->longest_run = g->run;
      g->run = 0;
      return SCHEDRT_PENDING;
    }
    cr_assert_eq(st, 0);
    g->run++;
    g->received++;
  }
}
static schedrt_poll other_fn(schedrt_task *t, void *arg) {
  (void)t;
  atomic_store((_Atomic int *)arg, 1);
  return SCHEDRT_READY;
}

Test(channel, always_ready_recv_yields_within_the_budget, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct greedy g = {0};
  cr_assert_eq(schedrt_channel_create(64, &g.rx, &g.tx), 0);
  schedrt_handle *hg, *ho;
  cr_assert_eq(schedrt_spawn_ex(rt, greedy_fn, &g, NULL, &hg), 0);
  cr_assert_eq(schedrt_spawn_ex(rt, other_fn, (void *)&g.other_ran, NULL, &ho), 0);
  cr_assert_eq(schedrt_join(ho, JOIN_NS, NULL), 0);
  cr_assert_eq(schedrt_join(hg, JOIN_NS, NULL), 0);
  cr_expect(g.yields > 0 || g.received == 0, "never yielded after %lu receives", g.received);
  cr_expect_leq(g.longest_run, 128u, "ran %u receives in one poll", g.longest_run);
  /* Published at maintenance and park: the idle worker parks soon after the joins. */
  long long forced = metric_sum(rt, "budget_forced_yields");
  for (int i = 0; i < 200 && forced == 0; i++) {
    usleep(10000);
    forced = metric_sum(rt, "budget_forced_yields");
  }
  if (forced >= 0 && g.received >= 128)
    cr_expect_gt(forced, 0, "received %lu", g.received);
  schedrt_sender_drop(g.tx);
  schedrt_channel_destroy(g.rx);
  schedrt_runtime_destroy(rt);
}

/* With the budget spent, a READY path takes nothing: a forced PENDING leaves the message buffered. */
struct drain {
  schedrt_channel *rx;
  uintptr_t expect;
  unsigned forced;
  bool out_of_order;
};
static schedrt_poll drain_fn(schedrt_task *t, void *arg) {
  struct drain *d = arg;
  for (;;) {
    void *v = NULL;
    int st;
    if (schedrt_channel_recv(d->rx, t, &v, &st) == SCHEDRT_PENDING) {
      d->forced++;
      return SCHEDRT_PENDING;
    }
    if (st == -EPIPE)
      return SCHEDRT_READY;
    if (v != V(d->expect))
      d->out_of_order = true;
    d->expect++;
  }
}

Test(channel, forced_pending_consumes_nothing, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_channel *rx;
  schedrt_sender *tx;
  cr_assert_eq(schedrt_channel_create(1024, &rx, &tx), 0);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(schedrt_channel_try_send(tx, V(i + 1)), 0);
  schedrt_sender_drop(tx);
  struct drain d = {rx, 1, 0, false};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, drain_fn, &d, NULL, &h), 0);
  poller_join(h);
  cr_expect(!d.out_of_order);
  cr_expect_eq(d.expect, 1001, "received %lu", (unsigned long)(d.expect - 1));
  cr_expect_geq(d.forced, 1000u / 128u, "the budget forced %u yields", d.forced);
  schedrt_channel_destroy(rx);
  schedrt_runtime_destroy(rt);
}
