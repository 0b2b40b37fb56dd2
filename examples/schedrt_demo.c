/*
 * schedrt-demo: a simulated server to watch with sched-inspect.
 *
 * An "acceptor" thread (not a worker) keeps --connections connection tasks
 * alive, spawning the missing ones in a burst every ACCEPT_PERIOD_NS: remote
 * spawns through the injection queue. The tasks themselves are in
 * demo_tasks.c. The main thread only waits for SIGINT/SIGTERM/SIGHUP (sigtimedwait:
 * the signals are blocked in every thread, so no handler runs) or for the end
 * of --duration, prints a status line every few seconds, then shuts down:
 * acceptor first, then schedrt_runtime_destroy (which drops the tasks still
 * alive), then a summary.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define PROG "schedrt-demo"
#define NS_PER_S 1000000000ull
#define ACCEPT_PERIOD_NS (250ull * 1000 * 1000)
#define STATUS_PERIOD_NS (5ull * NS_PER_S)
#define WARMUP_TIMEOUT_NS (5ull * NS_PER_S)

#define MAX_WORKERS 1024u
#define MAX_CONNECTIONS 1000000u

typedef struct options {
  uint32_t workers;  /* 0: the runtime's default */
  double duration_s; /* 0: until a signal */
  uint32_t connections;
  const char *name;
  bool quiet;
  bool real_sockets;
} options;

/* ------------------------------------------------------------ command line */

static void usage(FILE *f) {
  fprintf(f, "Usage: " PROG " [OPTIONS]\n"
             "\n"
             "A simulated server running on schedrt, to watch with sched-inspect: named\n"
             "connection tasks waiting on timers and notifications, CPU bursts (now and\n"
             "then a 30-200 ms slow query), fan-outs joined through handles, db queries\n"
             "answered through oneshots, and remote spawns from an acceptor thread.\n"
             "One bug is seeded on purpose: two stats flushers share one waker slot, so\n"
             "one of them is a lost wake-up for sched-inspect to find.\n"
             "\n"
             "Options:\n"
             "  -w, --workers N       worker threads (default: the runtime's, one per CPU)\n"
             "  -d, --duration S      stop after S seconds (default: run until SIGINT/SIGTERM/SIGHUP)\n"
             "  -c, --connections N   simulated connections kept open (default: 200)\n"
             "  -n, --name NAME       runtime name shown by sched-inspect (default: demo)\n"
             "  -q, --quiet           no periodic status lines\n"
             "      --real-sockets    connections are loopback TCP sockets driven by a client\n"
             "                        thread, so dumps show real I/O waits (fd, client address)\n"
             "  -h, --help            show this help and exit\n"
             "  -V, --version         show the version (the demo's and the library's it runs on)\n"
             "\n"
             "On SIGINT, SIGTERM or SIGHUP the demo shuts down cleanly and prints a summary;\n"
             "a second SIGINT during the shutdown kills it.\n"
             "Exit status: 0 on success, 1 on a runtime error, 2 on bad arguments.\n");
}

static void bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, PROG ": ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  usage(stderr);
  exit(2);
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  if (!s || *s < '0' || *s > '9') /* no sign, no space, not empty */
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max)
    return false;
  *out = (uint32_t)v;
  return true;
}

static bool parse_seconds(const char *s, double *out) {
  if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
    return false;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v) || v <= 0 || v > 1e7)
    return false;
  *out = v;
  return true;
}

/*
 * Accepts "--opt VALUE", "--opt=VALUE", "-o VALUE" and "-oVALUE". Returns the
 * value of option i (advancing *i past it), or NULL when arg is not this option.
 */
static const char *opt_value(int argc, char **argv, int *i, const char *lng, const char *shrt) {
  const char *a = argv[*i];
  size_t n = strlen(lng);
  const char *v = NULL;
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
    bad_usage("option '%s' needs a value", a);
  v = argv[++*i];
  return v;
}

static void parse_args(int argc, char **argv, options *o) {
  *o = (options){.connections = 200, .name = "demo"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
      /* The header it was built with, and the library it runs on (they differ with a newer .so). */
      printf(PROG " %s (libschedrt %s)\n", SCHEDRT_VERSION_STRING, schedrt_version());
      exit(0);
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      o->quiet = true;
    } else if (strcmp(a, "--real-sockets") == 0) {
      o->real_sockets = true;
    } else if ((v = opt_value(argc, argv, &i, "--workers", "-w"))) {
      if (!parse_u32(v, 1, MAX_WORKERS, &o->workers))
        bad_usage("--workers: expected a number from 1 to 1024, got '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--duration", "-d"))) {
      if (!parse_seconds(v, &o->duration_s))
        bad_usage("--duration: expected a positive number of seconds, got '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--connections", "-c"))) {
      if (!parse_u32(v, 1, MAX_CONNECTIONS, &o->connections))
        bad_usage("--connections: expected a number from 1 to 1000000, got '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--name", "-n"))) {
      if (*v == '\0')
        bad_usage("--name: the name must not be empty%s", "");
      o->name = v;
    } else if (a[0] == '-') {
      bad_usage("unknown option '%s'", a);
    } else {
      bad_usage("unexpected argument '%s'", a);
    }
  }
}

/* ---------------------------------------------------------------- acceptor */

typedef struct acceptor {
  demo_server *srv;
  uint32_t target;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC */
  bool stop;           /* under lock */
  int last_err;        /* the last spawn error, reported once */
} acceptor;

static void *acceptor_main(void *arg) {
  acceptor *a = arg;
  demo_server *srv = a->srv;
  pthread_setname_np(pthread_self(), "acceptor");
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  pthread_mutex_lock(&a->lock);
  while (!a->stop) {
    pthread_mutex_unlock(&a->lock);
    /* One burst: open as many connections as clients hung up since the last. */
    uint64_t live = atomic_load_explicit(&srv->live_conns, memory_order_relaxed);
    for (uint64_t n = live; n < a->target; n++) {
      int err = demo_spawn_conn(srv);
      if (err) {
        if (err != a->last_err)
          fprintf(stderr, PROG ": acceptor: spawn failed: %s (%s)\n", schedrt_strerror(err),
                  schedrt_err_name(err));
        a->last_err = err;
        break;
      }
    }
    next.tv_nsec += (long)ACCEPT_PERIOD_NS;
    if (next.tv_nsec >= (long)NS_PER_S) {
      next.tv_sec++;
      next.tv_nsec -= (long)NS_PER_S;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
      next = now; /* a burst took longer than a period: do not try to catch up */
    pthread_mutex_lock(&a->lock);
    while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &next) != ETIMEDOUT) {
    }
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

static int acceptor_start(acceptor *a, demo_server *srv, uint32_t target) {
  *a = (acceptor){.srv = srv, .target = target};
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, &ca);
  pthread_condattr_destroy(&ca);
  int err = pthread_create(&a->thread, NULL, acceptor_main, a);
  if (err) {
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    return -err;
  }
  return 0;
}

static void acceptor_stop(acceptor *a) {
  pthread_mutex_lock(&a->lock);
  a->stop = true;
  pthread_cond_signal(&a->cond);
  pthread_mutex_unlock(&a->lock);
  pthread_join(a->thread, NULL);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->lock);
}

/* ------------------------------------------------------------------ output */

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

static void print_status(demo_server *srv, double elapsed_s, uint64_t *last_requests, double *last_s) {
  demo_stats *st = &srv->stats;
  uint64_t req = ld(&st->requests);
  double dt = elapsed_s - *last_s;
  printf("[%7.1fs] %" PRIu64 " connections open, %" PRIu64 " requests (%.0f/s), %" PRIu64 " db, %" PRIu64
         " fan-outs, %" PRIu64 " streams, %" PRIu64 " slow queries\n",
         elapsed_s, ld(&srv->live_conns), req, dt > 0 ? (double)(req - *last_requests) / dt : 0.0,
         ld(&st->db_queries), ld(&st->fanouts), ld(&st->streams), ld(&st->slow_queries));
  *last_requests = req;
  *last_s = elapsed_s;
}

static void print_summary(demo_server *srv, double elapsed_s) {
  demo_stats *st = &srv->stats;
  uint64_t req = ld(&st->requests);
  printf(PROG ": served %" PRIu64 " requests in %.1f s (%.0f/s) on %" PRIu64 " connections (%" PRIu64
              " closed by their clients)\n",
         req, elapsed_s, elapsed_s > 0 ? (double)req / elapsed_s : 0.0, ld(&st->conns_accepted),
         ld(&st->conns_closed));
  printf(PROG ": %" PRIu64 " db queries, %" PRIu64 " fan-outs (%" PRIu64 " parts), %" PRIu64
              " streams, %" PRIu64 " keepalive waits, %" PRIu64 " slow queries, %" PRIu64 " ticks; %" PRIu64
              " tasks dropped at shutdown; %" PRIu64 " reports exported on the blocking pool\n",
         ld(&st->db_queries), ld(&st->fanouts), ld(&st->parts), ld(&st->streams), ld(&st->keepalives),
         ld(&st->slow_queries), ld(&st->ticks), ld(&st->dropped), ld(&st->exports));
  printf(PROG ": %" PRIu64 " access-log records written through the channel\n", ld(&st->log_records));
  if (ld(&st->spawn_errors))
    printf(PROG ": %" PRIu64 " spawns failed\n", ld(&st->spawn_errors));
}

/* -------------------------------------------------------------------- main */

/* Waits for the end: a signal (returned) or the deadline (0). */
static int wait_for_end(const options *o, demo_server *srv, const sigset_t *sigs, uint64_t start) {
  uint64_t end = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
  uint64_t next_status = start + STATUS_PERIOD_NS;
  uint64_t last_requests = 0;
  double last_s = 0;
  for (;;) {
    uint64_t now = schedrt_now_ns();
    if (now >= end)
      return 0;
    if (!o->quiet && now >= next_status) {
      print_status(srv, (double)(now - start) / 1e9, &last_requests, &last_s);
      next_status += STATUS_PERIOD_NS;
    }
    uint64_t until = end < next_status ? end : next_status;
    uint64_t wait = until > now ? until - now : 0;
    if (wait > NS_PER_S)
      wait = NS_PER_S;
    if (wait < 1000000)
      wait = 1000000;
    struct timespec ts = {.tv_sec = (time_t)(wait / NS_PER_S), .tv_nsec = (long)(wait % NS_PER_S)};
    int sig = sigtimedwait(sigs, NULL, &ts);
    if (sig > 0)
      return sig;
    if (errno != EAGAIN && errno != EINTR) {
      fprintf(stderr, PROG ": sigtimedwait: %s\n", strerror(errno));
      return SIGTERM;
    }
  }
}

int main(int argc, char **argv) {
  options o;
  parse_args(argc, argv, &o);
  setvbuf(stdout, NULL, _IOLBF, 0); /* status lines reach a pipe as they are printed */

  /*
   * Block the signals before any thread exists: the workers, the monitor and
   * the acceptor inherit the mask, and the main thread takes them with
   * sigtimedwait. No handler, so nothing unsafe can run in one.
   */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP); /* its terminal closed: leave nothing behind in /dev/shm either */
  int err = pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  if (err) {
    fprintf(stderr, PROG ": pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  static demo_server srv;
  err = demo_server_init(&srv);
  if (err) {
    fprintf(stderr, PROG ": cannot create notifies or the log channel: %s\n", schedrt_strerror(err));
    return 1;
  }

  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = o.workers;
  cfg.name = o.name;
  /* Poll-time and schedule-latency histograms, for sched-inspect to show. */
  cfg.flags |= SCHEDRT_CFG_TIMING;
  err = schedrt_runtime_create(&cfg, &srv.rt);
  if (err) {
    fprintf(stderr, PROG ": cannot create the runtime: %s (%s)\n", schedrt_strerror(err),
            schedrt_err_name(err));
    demo_server_fini(&srv);
    return 1;
  }
  uint32_t nworkers = schedrt_runtime_nworkers(srv.rt);
  long pid = (long)getpid();
  printf(PROG ": pid %ld, %" PRIu32 " worker%s; attach with: sched-inspect %ld\n", pid, nworkers,
         nworkers == 1 ? "" : "s", pid);
  if (!o.quiet) {
    const char *seg = schedrt_metrics_segment(srv.rt);
    if (seg)
      printf(PROG ": runtime \"%s\", metrics segment %s, %" PRIu32 " connections\n",
             schedrt_runtime_name(srv.rt), seg, o.connections);
    else
      fprintf(stderr, PROG ": note: no metrics segment (%s); sched-inspect cannot attach\n",
              (schedrt_features() & SCHEDRT_FEATURE_METRICS) ? "disabled at run time"
                                                             : "built without metrics");
    if (!(schedrt_features() & SCHEDRT_FEATURE_TASKDUMP))
      fprintf(stderr, PROG ": note: this libschedrt has no task dumps\n");
  }

  int status = 0;
  uint64_t start = schedrt_now_ns();

  /* A join from a thread that is not a worker: warm the "cache" first. */
  schedrt_handle *warm = NULL;
  err = demo_spawn_warmup(&srv, &warm);
  if (err) {
    fprintf(stderr, PROG ": cannot spawn the warmup task: %s\n", schedrt_strerror(err));
    status = 1;
  } else {
    void *entries = NULL;
    err = schedrt_join(warm, WARMUP_TIMEOUT_NS, &entries);
    if (err == 0) {
      if (!o.quiet)
        printf(PROG ": cache warmed up: %" PRIuPTR " entries\n", (uintptr_t)entries);
    } else {
      fprintf(stderr, PROG ": warmup: %s\n", schedrt_strerror(err));
      if (err == -ETIMEDOUT)
        schedrt_handle_release(warm); /* still ours after a timeout; the task goes on */
    }
  }

  err = demo_spawn_ticker(&srv);
  if (!err)
    err = demo_spawn_flushers(&srv);
  if (!err)
    err = demo_spawn_exporter(&srv);
  if (!err)
    err = demo_spawn_logger(&srv);
  if (err) {
    fprintf(stderr, PROG ": cannot spawn the ticker, the flushers, the exporter or the logger: %s\n",
            schedrt_strerror(err));
    status = 1;
  }

  acceptor acc;
  bool acc_started = false;
  demo_sockets *socks = NULL;
  if (status == 0 && o.real_sockets) {
    err = demo_sockets_start(&srv, o.connections, &socks);
    if (err) {
      fprintf(stderr, PROG ": cannot start the loopback sockets: %s\n", strerror(-err));
      status = 1;
    }
  } else if (status == 0) {
    err = acceptor_start(&acc, &srv, o.connections);
    if (err) {
      fprintf(stderr, PROG ": cannot start the acceptor: %s\n", strerror(-err));
      status = 1;
    } else {
      acc_started = true;
    }
  }

  int sig = 0;
  if (status == 0)
    sig = wait_for_end(&o, &srv, &sigs, start);
  if (sig) {
    /* A second SIGINT now kills the process, should the shutdown hang. */
    fprintf(stderr, PROG ": %s, shutting down\n",
            sig == SIGINT   ? "interrupted"
            : sig == SIGHUP ? "hung up"
                            : "terminated");
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
  }
  double elapsed_s = (double)(schedrt_now_ns() - start) / 1e9;

  if (acc_started)
    acceptor_stop(&acc);
  uint64_t answers = demo_sockets_stop(socks);
  schedrt_runtime_destroy(srv.rt); /* drops every task still alive */
  demo_remove_report();            /* nothing left behind in /tmp */
  srv.rt = NULL;
  demo_server_fini(&srv);

  print_summary(&srv, elapsed_s);
  if (o.real_sockets)
    printf(PROG ": the client thread got %" PRIu64 " answers over loopback sockets\n", answers);
  int64_t leaked = demo_objects_live();
  if (leaked != 0) {
    /* A task that neither completed nor got its drop callback, or one dropped twice. */
    fprintf(stderr, PROG ": error: %" PRId64 " demo objects still allocated after shutdown\n", leaked);
    status = 1;
  }
  return status;
}
