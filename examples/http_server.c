/*
 * schedrt-http: a minimal HTTP/1.1 keep-alive server on the runtime. GET /
 * answers "Hello, World!\n"; the listener, signals and shutdown are
 * net_server.c's, the head parser http_parse.c's. This file is the
 * connection task, a state machine:
 *
 *   READING  parse every complete request in the input buffer, appending the
 *            responses in order (pipelining), discard bodies; read more
 *            (with the idle deadline) when no complete request is left
 *   WRITING  write the responses gathered; back to READING, or, after a
 *            response that ends the connection, to
 *   LINGER   half-close and read what the client still sends, so closing
 *            with unread input does not reset the connection and destroy
 *            the error response before the client reads it
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_parse.h"
#include "net_server.h"

#define HEADER_LIMIT 8192     /* a head larger than this: 431 */
#define BODY_LIMIT (1u << 20) /* a Content-Length above this: 413 */
#define OUT_CAP 16384
#define RESPONSE_MAX 512 /* the largest response this server writes */
#define LINGER_NS (1000ull * 1000 * 1000)

static const char hello_body[] = "Hello, World!\n";
/* The common case, whole: HTTP/1.1 GET / kept alive. */
static const char hello_response[] = "HTTP/1.1 200 OK\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "Content-Length: 14\r\n"
                                     "\r\n"
                                     "Hello, World!\n";

enum conn_state { READING, WRITING, LINGER };

typedef struct http_conn {
  net_server *srv;
  schedrt_io *io;
  net_idle idle;
  enum conn_state state;
  bool closing;       /* the pending output ends the connection */
  uint64_t body_left; /* bytes of a request body still to discard */
  uint64_t linger_deadline;
  /* Counted here, added to the server's once: atomics shared by every
   * connection would cost a contended cache line per request. */
  uint64_t requests, bytes_in, bytes_out;
  size_t in_off, in_len; /* unparsed input: in[in_off..in_len) */
  size_t out_len, out_done;
  char in[HEADER_LIMIT];
  char out[OUT_CAP];
} http_conn;

static void conn_free(http_conn *c) {
  net_server *srv = c->srv;
  atomic_fetch_add_explicit(&srv->requests, c->requests, memory_order_relaxed);
  atomic_fetch_add_explicit(&srv->bytes_in, c->bytes_in, memory_order_relaxed);
  atomic_fetch_add_explicit(&srv->bytes_out, c->bytes_out, memory_order_relaxed);
  schedrt_io_release(c->io);
  net_conn_count(srv, -1);
  free(c);
}

static void conn_drop(void *arg) { conn_free(arg); }

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 413:
    return "Content Too Large";
  case 431:
    return "Request Header Fields Too Large";
  case 501:
    return "Not Implemented";
  default:
    return "Error";
  }
}

/* Appends a response; body NULL: a HEAD answer (length, no body). */
static void respond(http_conn *c, int status, int minor, bool keep_alive, const char *body, size_t body_len,
                    bool head_only, const char *extra) {
  c->requests++;
  if (status == 200 && minor >= 1 && keep_alive && !head_only) {
    memcpy(c->out + c->out_len, hello_response, sizeof(hello_response) - 1);
    c->out_len += sizeof(hello_response) - 1;
    return;
  }
  const char *conn = !keep_alive ? "Connection: close\r\n" : minor == 0 ? "Connection: keep-alive\r\n" : "";
  int n = snprintf(c->out + c->out_len, OUT_CAP - c->out_len,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s%s\r\n%.*s",
                   status, reason(status), body_len, conn, extra, head_only ? 0 : (int)body_len, body);
  c->out_len += (size_t)n; /* RESPONSE_MAX of room was checked by the caller */
  if (!keep_alive)
    c->closing = true;
}

static void respond_error(http_conn *c, int status) {
  char body[64];
  int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
  respond(c, status, 1, false, body, (size_t)n, false, "");
}

/* One parsed request: the answer to it. */
static void answer(http_conn *c, const http_request *req) {
  bool get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
  bool head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
  if (!get && !head) {
    static const char body[] = "405 Method Not Allowed\n";
    respond(c, 405, req->minor, req->keep_alive, body, sizeof(body) - 1, false, "Allow: GET, HEAD\r\n");
  } else if (req->target_len == 1 && req->target[0] == '/') {
    respond(c, 200, req->minor, req->keep_alive, hello_body, sizeof(hello_body) - 1, head, "");
  } else {
    static const char body[] = "404 Not Found\n";
    respond(c, 404, req->minor, req->keep_alive, body, sizeof(body) - 1, head, "");
  }
}

/*
 * Answers every complete request in the input, in order, while the output
 * has room for one more response; stops at the first that ends the
 * connection. What is left is a partial head (or body), moved to the front.
 */
static void process_input(http_conn *c) {
  while (!c->closing && c->out_len + RESPONSE_MAX <= OUT_CAP) {
    size_t avail = c->in_len - c->in_off;
    if (c->body_left) {
      size_t k = avail < c->body_left ? avail : (size_t)c->body_left;
      c->in_off += k;
      c->body_left -= k;
      if (c->body_left)
        break;
      avail -= k;
    }
    if (avail == 0)
      break;
    http_request req;
    enum http_status st = http_parse_head(c->in + c->in_off, avail, HEADER_LIMIT, BODY_LIMIT, &req);
    if (st == HTTP_INCOMPLETE)
      break;
    if (st != HTTP_OK) {
      respond_error(c, (int)st);
      break;
    }
    c->in_off += req.head_len;
    c->body_left = req.content_length;
    answer(c, &req);
  }
  if (c->in_off == c->in_len) {
    c->in_off = c->in_len = 0;
  } else if (c->in_off > 0 && !c->closing) {
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
    c->in_len -= c->in_off;
    c->in_off = 0;
  }
}

/* The peer was silent too long: count it; the caller ends the task. */
static schedrt_poll idle_or_pending(http_conn *c, schedrt_task *task, bool *expired) {
  *expired = net_idle_expired(c->srv, &c->idle, task);
  if (*expired)
    atomic_fetch_add_explicit(&c->srv->conns_idle_closed, 1, memory_order_relaxed);
  return *expired ? SCHEDRT_READY : SCHEDRT_PENDING;
}

static schedrt_poll conn_fn(schedrt_task *task, void *arg) {
  http_conn *c = arg;
  bool expired;
  ssize_t res;
  for (;;) {
    switch (c->state) {
    case READING:
      process_input(c);
      if (c->out_len > 0) {
        c->state = WRITING;
        break;
      }
      if (c->closing)
        goto done;
      /* The body being discarded may fill the whole buffer; a head never
       * does (431 above), so there is always room here. */
      if (schedrt_io_read(c->io, task, c->in + c->in_len, sizeof(c->in) - c->in_len, &res) ==
          SCHEDRT_PENDING) {
        if (idle_or_pending(c, task, &expired) == SCHEDRT_PENDING)
          return SCHEDRT_PENDING;
        goto done;
      }
      if (res <= 0)
        goto done; /* closed (maybe mid-request), or reset */
      net_idle_touch(&c->idle);
      c->bytes_in += (uint64_t)res;
      c->in_len += (size_t)res;
      break;
    case WRITING:
      if (schedrt_io_write(c->io, task, c->out, c->out_len, &c->out_done, &res) == SCHEDRT_PENDING) {
        /* A client that stops reading its responses times out too. */
        if (idle_or_pending(c, task, &expired) == SCHEDRT_PENDING)
          return SCHEDRT_PENDING;
        goto done;
      }
      if (res < 0)
        goto done;
      c->bytes_out += c->out_len;
      c->out_len = 0;
      if (c->closing) {
        shutdown(schedrt_io_fd(c->io), SHUT_WR);
        c->state = LINGER;
      } else {
        c->state = READING;
      }
      break;
    case LINGER:
      if (schedrt_io_read(c->io, task, c->in, sizeof(c->in), &res) == SCHEDRT_PENDING) {
        if (schedrt_sleep(task, &c->linger_deadline, LINGER_NS) == SCHEDRT_PENDING)
          return SCHEDRT_PENDING;
        goto done;
      }
      if (res <= 0)
        goto done;
      break;
    }
  }
done:
  conn_free(c);
  return SCHEDRT_READY;
}

static int conn_spawn(net_server *srv, schedrt_io *io) {
  /* Not calloc'd whole: the 24 KiB of buffers need no zeroing. */
  http_conn *c = malloc(sizeof(*c));
  if (!c) {
    schedrt_io_release(io);
    return -ENOMEM;
  }
  memset(c, 0, offsetof(http_conn, in));
  c->srv = srv;
  c->io = io;
  c->state = READING;
  net_idle_touch(&c->idle);
  net_conn_count(srv, 1);
  schedrt_spawn_opts opts = {.name = "http-conn", .drop = conn_drop};
  int rc = schedrt_spawn_ex(srv->rt, conn_fn, c, &opts, NULL);
  if (rc)
    conn_free(c);
  return rc;
}

int main(int argc, char **argv) {
  static net_server srv = {
      .prog = "schedrt-http",
      .usage_extra = "A minimal HTTP/1.1 keep-alive server on schedrt: GET / answers\n"
                     "\"Hello, World!\", pipelined requests are answered in order, heads over\n"
                     "8 KiB get 431, garbage 400, and a client silent for --idle-timeout-ms\n"
                     "is closed.",
      .spawn_conn = conn_spawn,
  };
  return net_server_main(&srv, argc, argv);
}
