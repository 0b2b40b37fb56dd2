/* The readiness driver and its helpers (<schedrt.h>, "I/O"). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rt_fixture.h"
#include "schedrt/proto/metrics_def.h"
#include "stress.h"

#define make_rt(nworkers) fixture_rt((nworkers), "test-io")

static void nonblock(int fd) { cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0); }

/* A socket pair: [0] registered with the runtime, [1] the test's (blocking). */
static void pair(int sv[2]) {
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  nonblock(sv[0]);
}

/* ------------------------------------------------------ read, many edges */

struct echo {
  schedrt_io *io;
  char buf[64];
  size_t done;
  ssize_t got;
  bool writing;
  unsigned rounds, polls;
  sem_t first_poll;
};

/* Reads a message, writes it back, until the peer closes (read 0). */
static schedrt_poll echo_fn(schedrt_task *t, void *arg) {
  struct echo *e = arg;
  if (e->polls++ == 0)
    sem_post(&e->first_poll);
  for (;;) {
    ssize_t res;
    if (!e->writing) {
      if (schedrt_io_read(e->io, t, e->buf, sizeof(e->buf), &res) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      if (res <= 0) {
        e->got = res;
        return SCHEDRT_READY;
      }
      e->got = res;
      e->writing = true;
    }
    if (schedrt_io_write(e->io, t, e->buf, (size_t)e->got, &e->done, &res) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    cr_assert_eq(res, e->got);
    e->writing = false;
    e->rounds++;
  }
}

Test(io, every_edge_wakes_the_reader, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  int sv[2];
  pair(sv);
  struct echo e = {0};
  sem_init(&e.first_poll, 0, 0);
  cr_assert_eq(schedrt_io_register(rt, sv[0], &e.io), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, echo_fn, &e, NULL, &h), 0);
  cr_assert(stress_sem_wait(&e.first_poll, WAIT_S));
  /* A lost wake-up fails the read below with EAGAIN, not a hang. */
  struct timeval tv = {.tv_sec = 10};
  cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  enum { ROUNDS = 2000 };
  for (unsigned i = 0; i < ROUNDS; i++) {
    char msg[16], back[16];
    int n = snprintf(msg, sizeof(msg), "m%u", i);
    cr_assert_eq(write(sv[1], msg, (size_t)n), n);
    ssize_t r = 0;
    while (r < n) {
      ssize_t k = read(sv[1], back + r, (size_t)(n - r));
      cr_assert_gt(k, 0, "round %u: the echo task was not woken", i);
      r += k;
    }
    cr_assert_eq(memcmp(msg, back, (size_t)n), 0);
  }
  shutdown(sv[1], SHUT_WR); /* end of stream: the task reads 0 and ends */
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(e.got, 0);
  cr_assert_eq(e.rounds, ROUNDS);
  schedrt_io_close(e.io);
  close(sv[1]);
  schedrt_runtime_destroy(rt);
}

/* ---------------------------------------------------------- partial writes */

struct big_write {
  schedrt_io *io;
  unsigned char *data;
  size_t len, done;
  ssize_t res;
  unsigned polls;
};

static schedrt_poll big_write_fn(schedrt_task *t, void *arg) {
  struct big_write *b = arg;
  b->polls++;
  return schedrt_io_write(b->io, t, b->data, b->len, &b->done, &b->res);
}

Test(io, a_write_larger_than_the_socket_buffer_completes_in_parts, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  int sv[2];
  pair(sv);
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  struct big_write b = {.len = 4u << 20};
  b.data = malloc(b.len);
  for (size_t i = 0; i < b.len; i++)
    b.data[i] = (unsigned char)(i * 7 + 3);
  cr_assert_eq(schedrt_io_register(rt, sv[0], &b.io), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, big_write_fn, &b, NULL, &h), 0);
  unsigned char *got = malloc(b.len);
  size_t have = 0;
  while (have < b.len) {
    ssize_t k = read(sv[1], got + have, b.len - have < 1000 ? b.len - have : 1000);
    cr_assert_gt(k, 0);
    have += (size_t)k;
  }
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(b.res, (ssize_t)b.len);
  cr_assert_eq(memcmp(got, b.data, b.len), 0);
  cr_assert_gt(b.polls, 1, "the write never had to wait: the test proves nothing");
  schedrt_io_close(b.io);
  close(sv[1]);
  free(got);
  free(b.data);
  schedrt_runtime_destroy(rt);
}

/* --------------------------------------------------- close while waiting */

struct closer {
  schedrt_io *io; /* the waiting task's own reference (a clone) */
  ssize_t res;
  sem_t waiting;
  unsigned polls;
};

static schedrt_poll wait_read_fn(schedrt_task *t, void *arg) {
  struct closer *c = arg;
  char b[8];
  schedrt_poll p = schedrt_io_read(c->io, t, b, sizeof(b), &c->res);
  if (c->polls++ == 0)
    sem_post(&c->waiting);
  if (p == SCHEDRT_READY)
    schedrt_io_release(c->io);
  return p;
}

Test(io, close_wakes_the_waiter_with_an_error_and_keeps_the_fd_until_released, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  int sv[2];
  pair(sv);
  schedrt_io *io;
  cr_assert_eq(schedrt_io_register(rt, sv[0], &io), 0);
  struct closer c = {.io = schedrt_io_clone(io)};
  sem_init(&c.waiting, 0, 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wait_read_fn, &c, NULL, &h), 0);
  cr_assert(stress_sem_wait(&c.waiting, WAIT_S));
  schedrt_io_close(io); /* from another thread, while the task waits */
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(c.res, -ECANCELED);
  /* The task released its clone: the fd is closed now. */
  cr_assert_eq(fcntl(sv[0], F_GETFD), -1);
  cr_assert_eq(errno, EBADF);
  close(sv[1]);
  schedrt_runtime_destroy(rt);
}

/* A task dropped at shutdown while it waits: its drop callback closes. */
static void drop_io(void *arg) {
  struct closer *c = arg;
  schedrt_io_close(c->io);
}

Test(io, a_task_dropped_while_registered_releases_its_fd, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  int sv[2];
  pair(sv);
  struct closer c = {0};
  sem_init(&c.waiting, 0, 0);
  cr_assert_eq(schedrt_io_register(rt, sv[0], &c.io), 0);
  schedrt_spawn_opts o = {.name = "conn", .drop = drop_io};
  cr_assert_eq(schedrt_spawn_ex(rt, wait_read_fn, &c, &o, NULL), 0);
  cr_assert(stress_sem_wait(&c.waiting, WAIT_S));
  schedrt_runtime_destroy(rt);
  cr_assert_eq(fcntl(sv[0], F_GETFD), -1, "the registered fd outlived the runtime");
  close(sv[1]);
}

/* A registration its owner never closed is shut by destroy; releasing it
 * afterwards only drops the reference (and closes the fd). */
Test(io, a_registration_left_open_is_shut_at_destroy, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  int sv[2];
  pair(sv);
  schedrt_io *io;
  cr_assert_eq(schedrt_io_register(rt, sv[0], &io), 0);
  schedrt_runtime_destroy(rt);
  cr_assert(schedrt_io_is_closed(io));
  cr_assert_neq(fcntl(sv[0], F_GETFD), -1);
  schedrt_io_close(io);
  cr_assert_eq(fcntl(sv[0], F_GETFD), -1);
  close(sv[1]);
}

Test(io, register_errors, .timeout = 30) {
  schedrt_runtime *rt = make_rt(1);
  schedrt_io *io;
  cr_assert_eq(schedrt_io_register(rt, -1, &io), -EINVAL);
  cr_assert_eq(schedrt_io_register(NULL, 0, &io), -EINVAL);
  char path[] = "/tmp/schedrt-test-io-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  unlink(path);
  cr_assert_eq(schedrt_io_register(rt, fd, &io), -EPERM, "a regular file cannot be polled");
  cr_assert_neq(fcntl(fd, F_GETFD), -1, "on error the fd stays the caller's");
  close(fd);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------------ accept and connect */

struct tcp {
  schedrt_runtime *rt;
  schedrt_io *listener, *conn;
  struct sockaddr_in addr;
  int accepted;
  int connect_res;
  uint64_t deadline;
  uint64_t timeout_ns;
  bool started;
};

static int listen_loopback(struct sockaddr_in *addr, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
  socklen_t l = sizeof(*addr);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &l), 0);
  cr_assert_eq(listen(fd, backlog), 0);
  return fd;
}

static schedrt_poll accept_fn(schedrt_task *t, void *arg) {
  struct tcp *x = arg;
  return schedrt_io_accept(x->listener, t, NULL, NULL, &x->accepted);
}

static schedrt_poll connect_fn(schedrt_task *t, void *arg) {
  struct tcp *x = arg;
  if (!x->started) {
    x->started = true;
    int rc = schedrt_io_connect_start(x->rt, (struct sockaddr *)&x->addr, sizeof(x->addr), &x->conn);
    if (rc) {
      x->connect_res = rc;
      return SCHEDRT_READY;
    }
  }
  return schedrt_io_connect_poll(x->conn, t, &x->deadline, x->timeout_ns, &x->connect_res);
}

Test(io, accept_and_connect_on_loopback, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct tcp x = {.rt = rt, .accepted = -1, .connect_res = 1, .timeout_ns = 5000 * MS};
  int lfd = listen_loopback(&x.addr, 16);
  cr_assert_eq(schedrt_io_register(rt, lfd, &x.listener), 0);
  schedrt_handle *ha, *hc;
  cr_assert_eq(schedrt_spawn_ex(rt, accept_fn, &x, NULL, &ha), 0);
  cr_assert_eq(schedrt_spawn_ex(rt, connect_fn, &x, NULL, &hc), 0);
  cr_assert_eq(schedrt_join(hc, JOIN_NS, NULL), 0);
  cr_assert_eq(schedrt_join(ha, JOIN_NS, NULL), 0);
  cr_assert_eq(x.connect_res, 0, "connect: %s", strerror(-x.connect_res));
  cr_assert_geq(x.accepted, 0, "accept: %s", strerror(-x.accepted));
  cr_assert(fcntl(x.accepted, F_GETFL) & O_NONBLOCK);
  close(x.accepted);
  schedrt_io_close(x.conn);
  schedrt_io_close(x.listener);
  schedrt_runtime_destroy(rt);
}

Test(io, connect_to_a_closed_port_is_refused, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  struct tcp x = {.rt = rt, .connect_res = 1, .timeout_ns = 5000 * MS};
  int lfd = listen_loopback(&x.addr, 1);
  close(lfd); /* the port is free now: nobody listens */
  schedrt_handle *hc;
  cr_assert_eq(schedrt_spawn_ex(rt, connect_fn, &x, NULL, &hc), 0);
  cr_assert_eq(schedrt_join(hc, JOIN_NS, NULL), 0);
  cr_assert_eq(x.connect_res, -ECONNREFUSED, "connect: %s", strerror(-x.connect_res));
  schedrt_io_close(x.conn);
  schedrt_runtime_destroy(rt);
}

/* ----------------------------------------------------------------- dumps */

#if SCHEDRT_TEST_DUMPS
#include "test_dump_util.h"

Test(io, a_dump_names_the_fd_the_direction_and_the_peer, .timeout = 60) {
  schedrt_runtime *rt = make_rt(2);
  struct sockaddr_in addr;
  int lfd = listen_loopback(&addr, 4);
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_eq(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  struct sockaddr_in caddr;
  socklen_t cl = sizeof(caddr);
  cr_assert_eq(getsockname(cfd, (struct sockaddr *)&caddr, &cl), 0);
  int sfd;
  bool ok;
  STRESS_WAIT_UNTIL(ok, (sfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0, WAIT_S);
  cr_assert(ok);
  struct closer c = {0};
  sem_init(&c.waiting, 0, 0);
  cr_assert_eq(schedrt_io_register(rt, sfd, &c.io), 0);
  schedrt_spawn_opts o = {.name = "conn-reader"};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, wait_read_fn, &c, &o, &h), 0);
  cr_assert(stress_sem_wait(&c.waiting, WAIT_S));

  schedrt_dump_result res;
  schedrt_dump_doc *d;
  int rc = tdu_dump(rt, NULL, &res, &d);
  {
    cr_assert_eq(rc, 0, "%s", schedrt_strerror(rc));
    const schedrt_dump_task *t = tdu_task_named(d, "conn-reader");
    cr_assert_not_null(t);
    cr_assert_eq(t->wait, SCHEDRT_DUMP_WAIT_IO);
    cr_assert_eq(t->wait_fd, sfd);
    cr_assert_str_eq(t->wait_interest, "read");
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)ntohs(caddr.sin_port));
    cr_assert_not_null(t->peer);
    cr_assert_str_eq(t->peer, want);
    const schedrt_dump_site *a = schedrt_dump_await_site(d, t);
    cr_assert_not_null(a);
    cr_assert_str_eq(a->label, "io read");
    schedrt_dump_doc_free(d);
  }
  cr_assert_eq(write(cfd, "x", 1), 1);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(c.res, 1);
  close(cfd);
  close(lfd);
  schedrt_runtime_destroy(rt);
}

#endif

/* --------------------------------------------------------------- metrics */

static bool global_is(schedrt_runtime *rt, size_t id, uint64_t want) {
  uint64_t v;
  return schedrt_metric_read(rt, id, 0, &v) == 0 && v == want;
}

Test(io, the_registered_count_and_events_are_metrics, .timeout = 60) {
  schedrt_runtime *rt = make_rt(1);
  uint64_t v;
  if (schedrt_metric_read(rt, SCHEDRT_M_io_registered, 0, &v) == -ENOTSUP) {
    schedrt_runtime_destroy(rt);
    cr_skip_test("metrics compiled out");
  }
  int a[2], b[2];
  pair(a);
  pair(b);
  schedrt_io *ia, *ib;
  cr_assert_eq(schedrt_io_register(rt, a[0], &ia), 0);
  cr_assert_eq(schedrt_io_register(rt, b[0], &ib), 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, global_is(rt, SCHEDRT_M_io_registered, 2), WAIT_S);
  cr_assert(ok, "io_registered is not 2");
  uint64_t before = 0;
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_io_events, 0, &before), 0);
  cr_assert_eq(write(a[1], "x", 1), 1);
  STRESS_WAIT_UNTIL(ok, schedrt_metric_read(rt, SCHEDRT_M_io_events, 0, &v) == 0 && v > before, WAIT_S);
  cr_assert(ok, "the readiness event was not counted");
  schedrt_io_close(ia);
  STRESS_WAIT_UNTIL(ok, global_is(rt, SCHEDRT_M_io_registered, 1), WAIT_S);
  cr_assert(ok, "io_registered did not drop to 1");
  schedrt_io_close(ib);
  close(a[1]);
  close(b[1]);
  schedrt_runtime_destroy(rt);
}

struct registrar {
  int fd;
  schedrt_io *io;
  int rc;
};

static schedrt_poll register_fn(schedrt_task *t, void *arg) {
  struct registrar *r = arg;
  r->rc = schedrt_io_register(schedrt_task_runtime(t), r->fd, &r->io);
  return SCHEDRT_READY;
}

static bool worker_metric_is_at_least(schedrt_runtime *rt, size_t id, uint64_t want) {
  uint64_t v;
  return schedrt_metric_read(rt, id, 0, &v) == 0 && v >= want;
}

/* The worker that registers is counted, and the worker that waits in the
 * driver dispatches (the monitor's look, the one other dispatcher, is
 * switched off by its 60 s period). */
Test(io, registrations_and_dispatched_events_are_counted_per_worker, .timeout = 60) {
  schedrt_runtime *rt = fixture_rt_quiet_monitor(1, "test-io");
  uint64_t v;
  if (schedrt_metric_read(rt, SCHEDRT_M_io_dispatched, 0, &v) == -ENOTSUP) {
    schedrt_runtime_destroy(rt);
    cr_skip_test("metrics compiled out");
  }
  int sv[2];
  pair(sv);
  struct registrar reg = {.fd = sv[0], .rc = 1};
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, register_fn, &reg, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  cr_assert_eq(reg.rc, 0);
  bool ok;
  STRESS_WAIT_UNTIL(ok, worker_metric_is_at_least(rt, SCHEDRT_M_io_registrations, 1), WAIT_S);
  cr_assert(ok, "worker 0's io_registrations is not 1");
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_io_registrations, 0, &v), 0);
  cr_assert_eq(v, 1);
  struct echo e = {.io = reg.io};
  sem_init(&e.first_poll, 0, 0);
  cr_assert_eq(schedrt_spawn_ex(rt, echo_fn, &e, NULL, &h), 0);
  enum { ROUNDS = 10 };
  for (unsigned i = 0; i < ROUNDS; i++) {
    char b;
    cr_assert_eq(write(sv[1], "x", 1), 1);
    cr_assert_eq(read(sv[1], &b, 1), 1);
  }
  close(sv[1]);
  cr_assert_eq(schedrt_join(h, JOIN_NS, NULL), 0);
  /* The bytes were edges only the worker could see (edges that come close
   * together are one event, so there may be fewer than ROUNDS). */
  STRESS_WAIT_UNTIL(ok, worker_metric_is_at_least(rt, SCHEDRT_M_io_dispatched, 1), WAIT_S);
  cr_assert(ok, "worker 0 counted no readiness event");
  uint64_t all;
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_io_dispatched, 0, &v), 0);
  STRESS_WAIT_UNTIL(ok, schedrt_metric_read(rt, SCHEDRT_M_io_events, 0, &all) == 0 && all >= v, WAIT_S);
  cr_assert(ok, "the worker's count %llu exceeds the runtime's", (unsigned long long)v);
  schedrt_io_close(reg.io);
  schedrt_runtime_destroy(rt);
}
