/*
 * The part the example servers share (net_server.h). Three tasks besides the
 * connections: "acceptor" accepts and spawns a task per connection,
 * "signals" reads a signalfd registered with the runtime (the signals are
 * blocked in every thread, so no handler runs) and starts the shutdown by
 * closing the listener; main() joins "signals", then destroys the runtime,
 * which drops the connections still open (their drop callbacks free them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_server.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
/* An accept that failed for want of fds is retried this much later: the
 * connection waits in the kernel's queue meanwhile, and the server neither
 * spins on the still-ready listener nor stops serving the others. */
#define ACCEPT_BACKOFF_NS (10 * NS_PER_MS)
#define LISTEN_BACKLOG 4096

typedef struct net_options {
  uint32_t port;
  uint32_t workers;
  uint32_t idle_timeout_ms;
} net_options;

/* ------------------------------------------------------------ command line */

static void usage(const net_server *srv, FILE *f) {
  fprintf(f,
          "Usage: %s [OPTIONS]\n"
          "\n"
          "%s\n"
          "\n"
          "Options:\n"
          "  -p, --port N             TCP port on 127.0.0.1 (default 0: any free port; the\n"
          "                           bound one is printed as \"listening on 127.0.0.1:PORT\")\n"
          "  -w, --workers N          worker threads (default: one per CPU)\n"
          "  -i, --idle-timeout-ms N  close a client silent for N ms (default 0: never)\n"
          "  -h, --help               show this help and exit\n"
          "\n"
          "SIGINT or SIGTERM shuts the server down cleanly.\n"
          "Exit status: 0 on success, 1 on a runtime error, 2 on bad arguments.\n",
          srv->prog, srv->usage_extra);
}

static void bad_usage(const net_server *srv, const char *what, const char *arg) {
  fprintf(stderr, "%s: %s '%s'\n", srv->prog, what, arg);
  usage(srv, stderr);
  exit(2);
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out) {
  if (!s || *s < '0' || *s > '9') /* no sign, no space, not empty */
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return false;
  *out = (uint32_t)v;
  return true;
}

/* "--opt V", "--opt=V", "-o V", "-oV": the value, or NULL if a is not this option. */
static const char *opt_value(const net_server *srv, int argc, char **argv, int *i, const char *lng,
                             const char *shrt) {
  const char *a = argv[*i];
  size_t n = strlen(lng);
  if (strncmp(a, lng, n) == 0 && (a[n] == '\0' || a[n] == '=')) {
    if (a[n] == '=')
      return a + n + 1;
  } else if (strncmp(a, shrt, 2) == 0) {
    if (a[2] != '\0')
      return a + 2;
  } else {
    return NULL;
  }
  if (*i + 1 >= argc)
    bad_usage(srv, "this option needs a value:", a);
  return argv[++*i];
}

static void parse_args(const net_server *srv, int argc, char **argv, net_options *o) {
  *o = (net_options){0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(srv, stdout);
      exit(0);
    } else if ((v = opt_value(srv, argc, argv, &i, "--port", "-p"))) {
      if (!parse_u32(v, 65535, &o->port))
        bad_usage(srv, "--port: expected a number from 0 to 65535, got", v);
    } else if ((v = opt_value(srv, argc, argv, &i, "--workers", "-w"))) {
      if (!parse_u32(v, 1024, &o->workers) || o->workers == 0)
        bad_usage(srv, "--workers: expected a number from 1 to 1024, got", v);
    } else if ((v = opt_value(srv, argc, argv, &i, "--idle-timeout-ms", "-i"))) {
      if (!parse_u32(v, 86400000, &o->idle_timeout_ms))
        bad_usage(srv, "--idle-timeout-ms: expected a number of milliseconds, got", v);
    } else {
      bad_usage(srv, a[0] == '-' ? "unknown option" : "unexpected argument", a);
    }
  }
}

/* ------------------------------------------------------------ idle deadline */

void net_conn_count(net_server *srv, int delta) {
  atomic_fetch_add_explicit(&srv->conns_live, delta, memory_order_relaxed);
}

void net_idle_touch(net_idle *idle) { idle->last_active = schedrt_now_ns(); }

bool net_idle_expired(net_server *srv, net_idle *idle, schedrt_task *task) {
  if (srv->idle_ns == 0)
    return false;
  for (;;) {
    if (idle->deadline != 0) {
      if (schedrt_sleep(task, &idle->deadline, 0) == SCHEDRT_PENDING)
        return false;
      /* The timer fired (and *deadline is 0 again): was the peer quiet? */
    }
    uint64_t quiet = schedrt_now_ns() - idle->last_active;
    if (quiet >= srv->idle_ns)
      return true;
    /* READY here means no timer could be armed (shutdown): close rather
     * than leave the connection without a deadline. */
    if (schedrt_sleep(task, &idle->deadline, srv->idle_ns - quiet) == SCHEDRT_READY)
      return true;
    return false;
  }
}

/* ---------------------------------------------------------------- acceptor */

typedef struct acceptor {
  net_server *srv;
  schedrt_io *io; /* the acceptor's reference to the listener */
  bool backing_off;
  uint64_t backoff_deadline;
  uint64_t last_log_ns;
} acceptor;

static void log_backoff(acceptor *a, int err) {
  net_server *srv = a->srv;
  atomic_fetch_add_explicit(&srv->accept_backoffs, 1, memory_order_relaxed);
  uint64_t now = schedrt_now_ns();
  /* Once a second: a server out of fds must say so, not flood its log. */
  if (a->last_log_ns != 0 && now - a->last_log_ns < NS_PER_S)
    return;
  a->last_log_ns = now;
  const char *what = err == -EMFILE   ? "too many open files"
                     : err == -ENFILE ? "too many open files in the system"
                                      : strerror(-err);
  fprintf(stderr, "%s: accept: %s (%" PRId64 " connections), backing off\n", srv->prog, what,
          atomic_load_explicit(&srv->conns_live, memory_order_relaxed));
}

static schedrt_poll acceptor_fn(schedrt_task *task, void *arg) {
  acceptor *a = arg;
  net_server *srv = a->srv;
  for (;;) {
    if (a->backing_off) {
      /* A new connection may wake us before the time is up: keep waiting. */
      if (schedrt_sleep(task, &a->backoff_deadline, ACCEPT_BACKOFF_NS) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      a->backing_off = false;
    }
    int fd;
    if (schedrt_io_accept(a->io, task, NULL, NULL, &fd) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (fd == -ECANCELED)
      break; /* the listener was closed: shutting down */
    if (fd < 0) {
      log_backoff(a, fd);
      a->backing_off = true;
      a->backoff_deadline = 0;
      continue;
    }
    /* One write per response: Nagle would hold a pipelined one back. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    schedrt_io *io;
    int rc = schedrt_io_register(srv->rt, fd, &io);
    if (rc) {
      close(fd);
      if (rc == -ESHUTDOWN)
        break;
      continue;
    }
    atomic_fetch_add_explicit(&srv->conns_accepted, 1, memory_order_relaxed);
    rc = srv->spawn_conn(srv, io);
    if (rc == -ESHUTDOWN)
      break;
  }
  schedrt_io_release(a->io);
  a->io = NULL;
  return SCHEDRT_READY;
}

static void acceptor_drop(void *arg) {
  acceptor *a = arg;
  schedrt_io_release(a->io);
  a->io = NULL;
}

/* ----------------------------------------------------------------- signals */

typedef struct signal_watch {
  net_server *srv;
  schedrt_io *io;       /* the signalfd */
  schedrt_io *listener; /* the owner's reference, closed on a signal */
  struct signalfd_siginfo info;
  int signo;
} signal_watch;

static schedrt_poll signals_fn(schedrt_task *task, void *arg) {
  signal_watch *w = arg;
  ssize_t res;
  for (;;) {
    if (schedrt_io_read(w->io, task, &w->info, sizeof(w->info), &res) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (res == (ssize_t)sizeof(w->info)) {
      w->signo = (int)w->info.ssi_signo;
      break;
    }
    if (res < 0 && res != -EINTR) {
      fprintf(stderr, "%s: signalfd: %s\n", w->srv->prog, strerror((int)-res));
      w->signo = SIGTERM;
      break;
    }
  }
  /* Wakes the acceptor, which sees the listener closed and ends. */
  schedrt_io_close(w->listener);
  w->listener = NULL;
  return SCHEDRT_READY;
}

static void signals_drop(void *arg) {
  signal_watch *w = arg;
  schedrt_io_close(w->listener);
  w->listener = NULL;
}

/* -------------------------------------------------------------------- main */

/* A non-blocking listening socket on 127.0.0.1:port; its port in *bound. */
static int listen_on(uint32_t port, uint16_t *bound) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int rc;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    rc = -errno;
    goto err;
  }
  *bound = ntohs(sa.sin_port);
  return fd;
err:
  close(fd);
  return rc;
}

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

int net_server_main(net_server *srv, int argc, char **argv) {
  net_options o;
  parse_args(srv, argc, argv, &o);
  setvbuf(stdout, NULL, _IOLBF, 0); /* the "listening" line reaches a pipe at once */
  srv->idle_ns = (uint64_t)o.idle_timeout_ms * NS_PER_MS;

  /* Blocked before any thread exists, so every thread inherits the mask
   * and the signals only reach the signalfd. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  int rc = -pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  const char *what = "pthread_sigmask";
  if (rc)
    goto err;
  int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  what = "signalfd";
  if (sfd < 0) {
    rc = -errno;
    goto err;
  }
  uint16_t port = 0;
  int lfd = listen_on(o.port, &port);
  what = "listen on 127.0.0.1";
  if (lfd < 0) {
    rc = lfd;
    goto err_sfd;
  }

  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = o.workers;
  cfg.name = srv->prog;
  what = "create the runtime";
  rc = schedrt_runtime_create(&cfg, &srv->rt);
  if (rc)
    goto err_lfd;

  static signal_watch watch;
  static acceptor acc;
  watch = (signal_watch){.srv = srv};
  acc = (acceptor){.srv = srv};
  what = "register the listener";
  rc = schedrt_io_register(srv->rt, lfd, &watch.listener);
  if (rc)
    goto err_rt;
  lfd = -1; /* the registration's now */
  what = "register the signalfd";
  rc = schedrt_io_register(srv->rt, sfd, &watch.io);
  if (rc)
    goto err_rt;
  sfd = -1;
  acc.io = schedrt_io_clone(watch.listener);
  what = "spawn the acceptor";
  schedrt_spawn_opts acc_opts = {.name = "acceptor", .drop = acceptor_drop};
  rc = schedrt_spawn_ex(srv->rt, acceptor_fn, &acc, &acc_opts, NULL);
  if (rc) {
    acceptor_drop(&acc);
    goto err_rt;
  }
  schedrt_handle *h;
  what = "spawn the signal task";
  schedrt_spawn_opts sig_opts = {.name = "signals", .drop = signals_drop};
  rc = schedrt_spawn_ex(srv->rt, signals_fn, &watch, &sig_opts, &h);
  if (rc)
    goto err_rt;

  printf("listening on 127.0.0.1:%u\n", (unsigned)port);
  printf("%s: pid %ld, %u workers, idle timeout %u ms\n", srv->prog, (long)getpid(),
         (unsigned)schedrt_runtime_nworkers(srv->rt), (unsigned)o.idle_timeout_ms);
  rc = schedrt_join(h, UINT64_MAX, NULL);
  fprintf(stderr, "%s: %s, shutting down\n", srv->prog, watch.signo == SIGINT ? "interrupted" : "terminated");
  /* The signalfd consumed the first signal: a second one now kills the
   * process, should the shutdown hang. */
  pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
  schedrt_runtime_destroy(srv->rt); /* drops the connections still open */
  srv->rt = NULL;
  schedrt_io_release(watch.io);
  printf("%s: %" PRIu64 " connections (%" PRIu64 " closed idle), %" PRIu64 " requests, %" PRIu64
         " bytes in, %" PRIu64 " bytes out, %" PRIu64 " accept back-offs\n",
         srv->prog, ld(&srv->conns_accepted), ld(&srv->conns_idle_closed), ld(&srv->requests),
         ld(&srv->bytes_in), ld(&srv->bytes_out), ld(&srv->accept_backoffs));
  int64_t live = atomic_load_explicit(&srv->conns_live, memory_order_relaxed);
  if (live != 0) {
    /* A connection neither completed nor dropped, or freed twice. */
    fprintf(stderr, "%s: error: %" PRId64 " connections still allocated after shutdown\n", srv->prog, live);
    return 1;
  }
  return rc ? 1 : 0;

err_rt:
  /* Destroy shuts the registrations; then drop our references. */
  schedrt_runtime_destroy(srv->rt);
  srv->rt = NULL;
  schedrt_io_release(watch.io);
  schedrt_io_release(watch.listener);
err_lfd:
  if (lfd >= 0)
    close(lfd);
err_sfd:
  if (sfd >= 0)
    close(sfd);
err:
  fprintf(stderr, "%s: cannot %s: %s\n", srv->prog, what, schedrt_strerror(rc));
  return 1;
}
