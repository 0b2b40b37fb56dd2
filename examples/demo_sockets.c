/*
 * schedrt-demo --real-sockets: the connections are loopback TCP sockets.
 *
 * A "client" thread (not a worker) keeps N connections to the demo's
 * listener open, each sending a one-line request, waiting for the one-line
 * answer, thinking a while, and hanging up after a few requests (it then
 * opens a new one). On the runtime, the "sock-acceptor" task accepts them
 * and spawns conn-<n> tasks that read their requests from the socket and
 * write the answers back (demo_sock_recv and demo_sock_send, called from
 * conn_poll in demo_tasks.c), so a task dump shows them waiting on I/O, with
 * the fd and the client's address, instead of on a timer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

#define MS_NS (1000ull * 1000)
#define CLIENT_REQS_MIN 3 /* requests on one connection before the client hangs up */
#define CLIENT_REQS_MAX 40
#define CLIENT_THINK_MIN_MS 1 /* between an answer and the next request */
#define CLIENT_THINK_MAX_MS 50

/* ------------------------------------------------------------ server side */

struct demo_sock {
  schedrt_io *io;
  size_t len;     /* bytes in buf */
  size_t done;    /* schedrt_io_write's progress */
  size_t out_len; /* 0: no answer being written */
  char buf[128];  /* a request line is far shorter */
  char out[64];
};

schedrt_poll demo_sock_recv(schedrt_task *task, demo_sock *s, bool *eof) {
  *eof = false;
  for (;;) {
    char *nl = memchr(s->buf, '\n', s->len);
    if (nl) {
      size_t used = (size_t)(nl - s->buf) + 1;
      memmove(s->buf, nl + 1, s->len - used);
      s->len -= used;
      return SCHEDRT_READY;
    }
    if (s->len == sizeof(s->buf)) {
      *eof = true; /* not our client: hang up */
      return SCHEDRT_READY;
    }
    ssize_t res;
    if (schedrt_io_read(s->io, task, s->buf + s->len, sizeof(s->buf) - s->len, &res) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (res <= 0) {
      *eof = true;
      return SCHEDRT_READY;
    }
    s->len += (size_t)res;
  }
}

schedrt_poll demo_sock_send(schedrt_task *task, demo_sock *s, uint64_t request) {
  if (s->out_len == 0)
    s->out_len = (size_t)snprintf(s->out, sizeof(s->out), "OK %" PRIu64 "\n", request);
  ssize_t res;
  if (schedrt_io_write(s->io, task, s->out, s->out_len, &s->done, &res) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  /* An error is the client gone: the next read says so. */
  s->out_len = 0;
  return SCHEDRT_READY;
}

void demo_sock_free(demo_sock *s) {
  if (!s)
    return;
  schedrt_io_release(s->io);
  free(s);
}

/* The task's own allocation: it may outlive demo_sockets_stop by a poll. */
typedef struct sock_acceptor {
  demo_server *srv;
  schedrt_io *io; /* the task's reference to the listener */
} sock_acceptor;

static void sock_acceptor_drop(void *arg) {
  sock_acceptor *a = arg;
  schedrt_io_release(a->io);
  free(a);
}

static schedrt_poll sock_acceptor_poll(schedrt_task *task, void *arg) {
  sock_acceptor *a = arg;
  for (;;) {
    int fd;
    if (schedrt_io_accept(a->io, task, NULL, NULL, &fd) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (fd == -ECANCELED)
      break; /* the listener closed: shutting down */
    if (fd < 0) {
      /* Out of fds or memory: the client thread is ours and bounded,
       * so this is rare; say it and keep accepting. */
      atomic_fetch_add_explicit(&a->srv->stats.spawn_errors, 1, memory_order_relaxed);
      return schedrt_yield(task);
    }
    demo_sock *s = calloc(1, sizeof(*s));
    int err = s ? schedrt_io_register(a->srv->rt, fd, &s->io) : -ENOMEM;
    if (err) {
      close(fd);
      free(s);
      if (err == -ESHUTDOWN)
        break;
      continue;
    }
    err = demo_spawn_conn_socket(a->srv, s);
    if (err == -ESHUTDOWN)
      break;
  }
  sock_acceptor_drop(a);
  return SCHEDRT_READY;
}

/* ------------------------------------------------------------ client side */

typedef struct client_conn {
  int fd;
  bool waiting;       /* a request is out, its answer not in */
  uint32_t left;      /* requests before hanging up */
  uint64_t next_send; /* when not waiting */
} client_conn;

struct demo_sockets {
  demo_server *srv;
  uint32_t nconns;
  struct sockaddr_in addr; /* the listener's */
  schedrt_io *listener;    /* the owner's reference, closed at stop */
  int epfd, stop_fd;
  client_conn *conns;
  uint64_t rng;
  pthread_t thread;
  _Atomic uint64_t answers;
};

static uint64_t rng_next(uint64_t *s) {
  /* xorshift64*: good enough for think times. */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static uint64_t think_ns(demo_sockets *ds) {
  return (CLIENT_THINK_MIN_MS + rng_next(&ds->rng) % (CLIENT_THINK_MAX_MS - CLIENT_THINK_MIN_MS + 1)) * MS_NS;
}

/* Opens connection i (blocking connect: loopback, into the listen queue). */
static int client_open(demo_sockets *ds, uint32_t i) {
  client_conn *c = &ds->conns[i];
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -errno;
  int rc;
  if (connect(c->fd, (struct sockaddr *)&ds->addr, sizeof(ds->addr)) != 0) {
    rc = -errno;
    goto err;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
  if (epoll_ctl(ds->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    rc = -errno;
    goto err;
  }
  c->waiting = false;
  c->left = CLIENT_REQS_MIN + (uint32_t)(rng_next(&ds->rng) % (CLIENT_REQS_MAX - CLIENT_REQS_MIN + 1));
  c->next_send = schedrt_now_ns() + think_ns(ds) / 4; /* the first request comes quickly */
  return 0;
err:
  close(c->fd);
  c->fd = -1;
  return rc;
}

static void client_close(demo_sockets *ds, uint32_t i) {
  if (ds->conns[i].fd >= 0)
    close(ds->conns[i].fd); /* also leaves the epoll set */
  ds->conns[i].fd = -1;
}

/* An answer (or the end) arrived on connection i. */
static void client_on_readable(demo_sockets *ds, uint32_t i) {
  client_conn *c = &ds->conns[i];
  char buf[256];
  ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0 || --c->left == 0) {
    /* The server hung up, or this client is done: a new one takes its place. */
    client_close(ds, i);
    (void)client_open(ds, i);
    return;
  }
  atomic_fetch_add_explicit(&ds->answers, 1, memory_order_relaxed);
  c->waiting = false;
  c->next_send = schedrt_now_ns() + think_ns(ds);
}

static void *client_main(void *arg) {
  demo_sockets *ds = arg;
  pthread_setname_np(pthread_self(), "client");
  for (uint32_t i = 0; i < ds->nconns; i++)
    (void)client_open(ds, i);
  for (;;) {
    /* Send what is due; find the next due time. */
    uint64_t now = schedrt_now_ns(), next = now + 100 * MS_NS;
    for (uint32_t i = 0; i < ds->nconns; i++) {
      client_conn *c = &ds->conns[i];
      if (c->fd < 0 && client_open(ds, i) != 0)
        continue; /* retried on the next round */
      if (c->waiting)
        continue;
      if (c->next_send <= now) {
        static const char req[] = "GET /demo\n";
        if (send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(req) - 1)
          c->waiting = true;
        else
          client_close(ds, i);
      } else if (c->next_send < next) {
        next = c->next_send;
      }
    }
    struct epoll_event evs[64];
    int timeout_ms = (int)((next - now + MS_NS - 1) / MS_NS);
    int n = epoll_wait(ds->epfd, evs, 64, timeout_ms);
    for (int k = 0; k < n; k++) {
      if (evs[k].data.u32 == UINT32_MAX)
        goto out; /* stop_fd */
      client_on_readable(ds, evs[k].data.u32);
    }
  }
out:
  for (uint32_t i = 0; i < ds->nconns; i++)
    client_close(ds, i);
  return NULL;
}

/* ------------------------------------------------------------ start, stop */

static int listen_loopback(struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(*addr);
  int rc;
  if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

int demo_sockets_start(demo_server *srv, uint32_t nconns, demo_sockets **out) {
  demo_sockets *ds = calloc(1, sizeof(*ds));
  if (!ds)
    return -ENOMEM;
  ds->srv = srv;
  ds->nconns = nconns;
  ds->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
  ds->epfd = ds->stop_fd = -1;
  int rc = -ENOMEM;
  ds->conns = malloc(nconns * sizeof(*ds->conns));
  if (!ds->conns)
    goto err;
  for (uint32_t i = 0; i < nconns; i++)
    ds->conns[i].fd = -1;
  int lfd = listen_loopback(&ds->addr);
  rc = lfd;
  if (lfd < 0)
    goto err;
  rc = schedrt_io_register(srv->rt, lfd, &ds->listener);
  if (rc) {
    close(lfd);
    goto err;
  }
  ds->epfd = epoll_create1(EPOLL_CLOEXEC);
  ds->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  if (ds->epfd < 0 || ds->stop_fd < 0 || epoll_ctl(ds->epfd, EPOLL_CTL_ADD, ds->stop_fd, &ev) != 0) {
    rc = -errno;
    goto err;
  }
  sock_acceptor *a = malloc(sizeof(*a));
  rc = -ENOMEM;
  if (!a)
    goto err;
  *a = (sock_acceptor){.srv = srv, .io = schedrt_io_clone(ds->listener)};
  schedrt_spawn_opts opts = {.name = "sock-acceptor", .drop = sock_acceptor_drop};
  rc = schedrt_spawn_ex(srv->rt, sock_acceptor_poll, a, &opts, NULL);
  if (rc) {
    sock_acceptor_drop(a);
    goto err;
  }
  rc = -pthread_create(&ds->thread, NULL, client_main, ds);
  if (rc)
    goto err; /* the acceptor ends when the listener closes */
  *out = ds;
  return 0;
err:
  schedrt_io_close(ds->listener);
  if (ds->epfd >= 0)
    close(ds->epfd);
  if (ds->stop_fd >= 0)
    close(ds->stop_fd);
  free(ds->conns);
  free(ds);
  return rc;
}

uint64_t demo_sockets_stop(demo_sockets *ds) {
  if (!ds)
    return 0;
  uint64_t one = 1;
  ssize_t w = write(ds->stop_fd, &one, sizeof(one));
  (void)w; /* an eventfd write of 1 cannot fail here */
  pthread_join(ds->thread, NULL);
  /* The acceptor sees the listener closed and ends; the connection tasks
   * see their clients gone (or are dropped by destroy). */
  schedrt_io_close(ds->listener);
  close(ds->epfd);
  close(ds->stop_fd);
  uint64_t answers = atomic_load_explicit(&ds->answers, memory_order_relaxed);
  free(ds->conns);
  free(ds);
  return answers;
}
