/*
 * schedrt-echo: a TCP echo server on the runtime. The listener, signals and
 * shutdown are net_server.c's; this file is the connection task, a state
 * machine of two states: reading (with the idle deadline) and writing back
 * what was read (partial writes resume where they stopped).
 */
#include <errno.h>
#include <stdlib.h>

#include "net_server.h"

#define ECHO_BUF 16384

typedef struct echo_conn {
  net_server *srv;
  schedrt_io *io;
  net_idle idle;
  bool writing;
  size_t len, done; /* bytes in buf; written so far (schedrt_io_write's state) */
  char buf[ECHO_BUF];
} echo_conn;

static void echo_free(echo_conn *c) {
  schedrt_io_release(c->io);
  net_conn_count(c->srv, -1);
  free(c);
}

static void echo_drop(void *arg) { echo_free(arg); }

static schedrt_poll echo_fn(schedrt_task *task, void *arg) {
  echo_conn *c = arg;
  net_server *srv = c->srv;
  for (;;) {
    ssize_t res;
    if (!c->writing) {
      if (schedrt_io_read(c->io, task, c->buf, sizeof(c->buf), &res) == SCHEDRT_PENDING) {
        if (!net_idle_expired(srv, &c->idle, task))
          return SCHEDRT_PENDING;
        atomic_fetch_add_explicit(&srv->conns_idle_closed, 1, memory_order_relaxed);
        break;
      }
      if (res <= 0)
        break; /* end of stream, or an error (reset): the connection is over */
      net_idle_touch(&c->idle);
      atomic_fetch_add_explicit(&srv->bytes_in, (uint64_t)res, memory_order_relaxed);
      c->len = (size_t)res;
      c->writing = true;
    }
    /* A peer that stops reading is as silent as one that stops writing:
     * the same deadline ends it (its last data counts as activity). */
    if (schedrt_io_write(c->io, task, c->buf, c->len, &c->done, &res) == SCHEDRT_PENDING) {
      if (!net_idle_expired(srv, &c->idle, task))
        return SCHEDRT_PENDING;
      atomic_fetch_add_explicit(&srv->conns_idle_closed, 1, memory_order_relaxed);
      break;
    }
    if (res < 0)
      break;
    atomic_fetch_add_explicit(&srv->bytes_out, (uint64_t)res, memory_order_relaxed);
    c->writing = false;
  }
  echo_free(c);
  return SCHEDRT_READY;
}

static int echo_spawn(net_server *srv, schedrt_io *io) {
  echo_conn *c = malloc(sizeof(*c));
  if (!c) {
    schedrt_io_release(io);
    return -ENOMEM;
  }
  *c = (echo_conn){.srv = srv, .io = io};
  net_idle_touch(&c->idle);
  net_conn_count(srv, 1);
  schedrt_spawn_opts opts = {.name = "echo-conn", .drop = echo_drop};
  int rc = schedrt_spawn_ex(srv->rt, echo_fn, c, &opts, NULL);
  if (rc)
    echo_free(c);
  return rc;
}

int main(int argc, char **argv) {
  static net_server srv = {
      .prog = "schedrt-echo",
      .usage_extra = "A TCP echo server on schedrt: one task per connection writes back every\n"
                     "byte it reads, until the client closes or stays silent too long.",
      .spawn_conn = echo_spawn,
  };
  return net_server_main(&srv, argc, argv);
}
