/* schedrt_oneshot_close and schedrt_oneshot_closed: the receiving side gives up, the sender finds out. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "test_sync_util.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-sync-oneshot")
#define V(x) ((void *)(uintptr_t)(x))

static schedrt_poll closed_step(struct poller *p, schedrt_task *t) {
  return schedrt_oneshot_closed(p->obj, t);
}
static schedrt_poll recv_step(struct poller *p, schedrt_task *t) {
  return schedrt_oneshot_recv(p->obj, t, &p->value);
}

/* Close and send in either order, then what recv and a second send say. */
Test(oneshot_close, table, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct {
    bool close_first;
    int send_rc, resend_rc;
    void *got;
  } cases[] = {{true, -EPIPE, -EPIPE, NULL}, {false, 0, -EPIPE, V(9)}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    schedrt_oneshot ch;
    schedrt_oneshot_init(&ch);
    if (cases[i].close_first)
      schedrt_oneshot_close(&ch);
    cr_expect_eq(schedrt_oneshot_send(&ch, V(9)), cases[i].send_rc, "case %zu", i);
    if (!cases[i].close_first)
      schedrt_oneshot_close(&ch);
    schedrt_oneshot_close(&ch); /* idempotent */
    cr_expect_eq(schedrt_oneshot_send(&ch, V(10)), cases[i].resend_rc, "case %zu", i);
    struct poller p;
    poller_init(&p, recv_step, &ch, NULL);
    p.value = V(1);
    schedrt_handle *h;
    cr_assert_eq(schedrt_spawn_ex(rt, poller_fn, &p, NULL, &h), 0);
    poller_join(h);
    cr_expect_eq(p.value, cases[i].got, "case %zu", i);
    schedrt_oneshot_destroy(&ch);
  }
  schedrt_runtime_destroy(rt);
}

Test(oneshot_close, closed_waits_and_close_wakes_it, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_oneshot ch;
  schedrt_oneshot_init(&ch);
  struct poller p;
  poller_init(&p, closed_step, &ch, NULL);
  schedrt_handle *h = poller_spawn_pending(rt, &p);
  schedrt_oneshot_close(&ch);
  poller_join(h);
  cr_expect_eq(schedrt_oneshot_send(&ch, V(1)), -EPIPE);
  schedrt_oneshot_destroy(&ch);
  schedrt_runtime_destroy(rt);
}

Test(oneshot_close, moved_closed_wakes_the_new_task, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_oneshot ch;
  schedrt_oneshot_init(&ch);
  struct poller a, b;
  poller_init(&a, closed_step, &ch, NULL);
  poller_init(&b, closed_step, &ch, NULL);
  a.abandon = true;
  poller_join(poller_spawn_pending(rt, &a));
  schedrt_handle *h = poller_spawn_pending(rt, &b);
  schedrt_oneshot_close(&ch);
  poller_join(h);
  schedrt_oneshot_destroy(&ch);
  schedrt_runtime_destroy(rt);
}

/* A send while the sending side waits in closed(): that task is woken and sees READY (nothing left to
 * wait for); a later closed() is READY at once. */
Test(oneshot_close, send_wakes_a_closed_waiter, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_oneshot ch;
  schedrt_oneshot_init(&ch);
  struct poller a;
  poller_init(&a, closed_step, &ch, NULL);
  schedrt_handle *ha = poller_spawn_pending(rt, &a);
  cr_expect_eq(schedrt_oneshot_send(&ch, V(3)), 0);
  poller_join(ha);
  struct poller b;
  poller_init(&b, closed_step, &ch, NULL);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, poller_fn, &b, NULL, &h), 0);
  poller_join(h);
  cr_expect_eq(atomic_load(&b.pendings), 0);
  schedrt_oneshot_destroy(&ch);
  schedrt_runtime_destroy(rt);
}

/* Destroy with both sides registered releases both wakers (ASan checks the tasks are freed). */
Test(oneshot_close, destroy_releases_both_registrations, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  schedrt_oneshot ch;
  schedrt_oneshot_init(&ch);
  struct poller tx, rx;
  poller_init(&tx, closed_step, &ch, NULL);
  poller_init(&rx, recv_step, &ch, NULL);
  tx.abandon = rx.abandon = true;
  poller_join(poller_spawn_pending(rt, &tx));
  poller_join(poller_spawn_pending(rt, &rx));
  schedrt_oneshot_destroy(&ch);
  schedrt_runtime_destroy(rt);
}

/* Close from another thread races a send: exactly one outcome, never a lost value or a double wake. */
struct racer {
  schedrt_oneshot ch;
  _Atomic int go;
  int rc;
};
static void *send_thread(void *arg) {
  struct racer *r = arg;
  while (!atomic_load(&r->go))
    ;
  r->rc = schedrt_oneshot_send(&r->ch, V(1));
  return NULL;
}

Test(oneshot_close, close_races_send, .timeout = 60) {
  for (int i = 0; i < 2000; i++) {
    struct racer r = {0};
    schedrt_oneshot_init(&r.ch);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, send_thread, &r), 0);
    atomic_store(&r.go, 1);
    schedrt_oneshot_close(&r.ch);
    pthread_join(th, NULL);
    cr_assert(r.rc == 0 || r.rc == -EPIPE, "%d", r.rc);
    schedrt_oneshot_destroy(&r.ch);
  }
}
