/*
 * `sched-inspect serve --listen ADDR:PORT`: every runtime of the host (of
 * this user; every user's for root) in OpenMetrics on /metrics, for
 * Prometheus to scrape. The HTTP is libmicrohttpd's, one internal thread:
 * scrapes are answered one at a time, so the open segments (om_targets)
 * need no lock, and a scrape's work is bounded by --max-targets and
 * --max-bytes, not by how many scrapers connect at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "om_targets.h"
#include "openmetrics.h"
#include "util.h"

#define WARN_EVERY_NS (60ull * 1000000000ull) /* a limit being hit is said once a minute, not per scrape */

typedef struct serve_state {
  om_targets targets;
  size_t max_bytes;
  uint64_t last_warn_ns;
} serve_state;

/* Splits "HOST:PORT" or "[V6]:PORT" into its two parts. 0 or -EINVAL. */
static int split_listen(const char *s, char *host, size_t hsize, char *port, size_t psize) {
  const char *colon;
  size_t hlen;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return -EINVAL;
    colon = close + 1;
    s++;
    hlen = (size_t)(close - s);
  } else {
    colon = strrchr(s, ':');
    if (!colon || memchr(s, ':', (size_t)(colon - s)))
      return -EINVAL; /* an IPv6 address needs its brackets */
    hlen = (size_t)(colon - s);
  }
  const char *p = colon + 1;
  size_t plen = strlen(p);
  if (hlen == 0 || hlen >= hsize || plen == 0 || plen > 5 || plen >= psize ||
      strspn(p, "0123456789") != plen || atoi(p) > 65535)
    return -EINVAL;
  memcpy(host, s, hlen);
  host[hlen] = '\0';
  memcpy(port, p, plen + 1);
  return 0;
}

/* A listening socket on ADDR:PORT (ours, so that a failure names its cause, and port 0 says which it got). */
static int listen_on(const char *spec, int *fd_out, char *where, size_t wsize, int *v6) {
  char host[256], port[8];
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  int fd = -1, one = 1, err;
  if (split_listen(spec, host, sizeof(host), port, sizeof(port)))
    return -EINVAL;
  if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
    fprintf(stderr, INSPECT_PROG ": serve: --listen %s: %s\n", spec, gai_strerror(err));
    return -EADDRNOTAVAIL;
  }
  fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
      bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 128) ||
      getsockname(fd, (struct sockaddr *)&ss, &sl)) {
    err = -errno;
    fprintf(stderr, INSPECT_PROG ": serve: cannot listen on %s: %s\n", spec, strerror(errno));
    goto fail;
  }
  char addr[INET6_ADDRSTRLEN];
  *v6 = ss.ss_family == AF_INET6;
  if (*v6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
  else
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
  unsigned p = ntohs(*v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  xsnprintf(where, wsize, *v6 ? "[%s]:%u" : "%s:%u", addr, p);
  freeaddrinfo(res);
  *fd_out = fd;
  return 0;
fail:
  if (fd >= 0)
    close(fd);
  freeaddrinfo(res);
  return err;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
                             size_t len, const char *allow) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result rc = MHD_queue_response(c, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *allow) {
  char *body = xstrdup(text);
  return reply(c, status, "text/plain; charset=utf-8", body, strlen(body), allow);
}

/* Says once a minute that limits left runtimes out, with the option that moves the limit. */
static void warn_limits(serve_state *s, const om_scrape_stats *st) {
  unsigned over = st->skipped[OM_SKIP_MAX_TARGETS], big = st->skipped[OM_SKIP_MAX_BYTES];
  uint64_t now = inspect_now_ns();
  if ((!over && !big) || (s->last_warn_ns && now - s->last_warn_ns < WARN_EVERY_NS))
    return;
  s->last_warn_ns = now;
  fprintf(stderr,
          INSPECT_PROG ": serve: %u runtime(s) left out of a scrape beyond --max-targets %zu, %u beyond "
                       "--max-bytes %zu (sched_inspect_targets_skipped counts them)\n",
          over, s->targets.max_targets, big, s->max_bytes);
}

static enum MHD_Result scrape(serve_state *s, struct MHD_Connection *c) {
  const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  om_dialect d = om_negotiate(accept);
  om_scrape_stats st = {0};
  char *text = NULL, msg[256];
  size_t len = 0;
  int err = om_targets_collect(&s->targets, &st);
  if (err) {
    xsnprintf(msg, sizeof(msg), "cannot read %s: %s\n", s->targets.shm_dir ? s->targets.shm_dir : "/dev/shm",
              strerror(-err));
    return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, NULL);
  }
  if (om_render(s->targets.srcs, s->targets.nsrcs, d, s->max_bytes, &st, &text, &len))
    return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
  warn_limits(s, &st);
  return reply(c, MHD_HTTP_OK, d == OM_OPENMETRICS ? OM_CONTENT_TYPE_OPENMETRICS : OM_CONTENT_TYPE_PROMETHEUS,
               text, len, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req) {
  static int seen;
  (void)version;
  (void)upload;
  /* The first call brings the headers; answer once the whole request is in. */
  if (!*req) {
    *req = &seen;
    return MHD_YES;
  }
  if (*upload_size) {
    *upload_size = 0; /* a body nobody asked for: read and dropped */
    return MHD_YES;
  }
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n", "GET, HEAD");
  if (strcmp(url, "/metrics") != 0)
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: sched-inspect serves /metrics only\n", NULL);
  return scrape(cls, c);
}

int cmd_serve(const inspect_opts *o) {
  serve_state s = {.max_bytes = o->max_bytes};
  const char *spec = o->listen ? o->listen : INSPECT_SERVE_DEFAULT_LISTEN;
  char where[96];
  int fd = -1, v6 = 0, sig = 0;
  sigset_t stop;
  struct MHD_Daemon *d = NULL;
  int err = listen_on(spec, &fd, where, sizeof(where), &v6);
  if (err == -EINVAL) {
    fprintf(stderr,
            INSPECT_PROG ": serve: --listen: expected ADDR:PORT (or [IPV6]:PORT), got '%s'\n"
                         "Try '" INSPECT_PROG " serve --help'.\n",
            spec);
    return INSPECT_EXIT_USAGE;
  }
  if (err)
    return INSPECT_EXIT_FAILURE;
  om_targets_init(&s.targets, o->shm_dir, 0, o->max_targets);
  s.targets.leak_period_ns = (uint64_t)o->leak_check_s * 1000000000ull;
  /* SIGINT and SIGTERM are taken by sigwait below; blocked first so that the server's thread, which
   * inherits the mask, never takes them. A client gone mid-answer must not kill us either. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                           (v6 ? MHD_USE_IPv6 : 0),
                       0, NULL, NULL, on_request, &s, MHD_OPTION_LISTEN_SOCKET, fd,
                       MHD_OPTION_CONNECTION_LIMIT, (unsigned)INSPECT_SERVE_MAX_CONNECTIONS,
                       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)INSPECT_SERVE_IDLE_TIMEOUT_S, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, INSPECT_PROG ": serve: libmicrohttpd could not start on %s\n", where);
    close(fd);
    om_targets_fini(&s.targets);
    return INSPECT_EXIT_FAILURE;
  }
  /* Tests and scripts read the address (port 0 picks a free one) from this line. */
  printf("serving http://%s/metrics\n", where);
  fflush(stdout);
  while (sigwait(&stop, &sig) != 0)
    ;
  /* Quiesced first: the listening socket is then ours again, and closed once, here. */
  MHD_quiesce_daemon(d);
  MHD_stop_daemon(d);
  close(fd);
  om_targets_fini(&s.targets);
  fprintf(stderr, INSPECT_PROG ": serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  return INSPECT_EXIT_OK;
}
