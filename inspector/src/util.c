/* Clocks, fail-hard allocation and the fatal-exit path. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void (*fatal_hook)(void);

uint64_t inspect_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t inspect_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void inspect_sleep_ns(uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
  /* A signal cuts the sleep short: callers re-check their stop flag anyway. */
  nanosleep(&ts, NULL);
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) {
  if (!stop_signal)
    stop_signal = sig;
}

void inspect_catch_stop(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int inspect_stop_signal(void) { return stop_signal; }

void inspect_set_fatal_hook(void (*hook)(void)) { fatal_hook = hook; }

_Noreturn void inspect_fatal(const char *fmt, ...) {
  va_list ap;
  if (fatal_hook)
    fatal_hook();
  fputs(INSPECT_PROG ": ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(INSPECT_EXIT_FAILURE);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    inspect_fatal("out of memory (%zu bytes)", n);
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    inspect_fatal("out of memory (%zu x %zu bytes)", n, size);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    inspect_fatal("out of memory (%zu bytes)", n);
  return q;
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

char *xsnprintf(char *dst, size_t size, const char *fmt, ...) {
  va_list ap;
  if (size == 0)
    return dst;
  va_start(ap, fmt);
  int n = vsnprintf(dst, size, fmt, ap);
  va_end(ap);
  if (n < 0)
    dst[0] = '\0';
  return dst;
}

int parse_duration_ns(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns) {
  static const struct {
    const char *suffix;
    double ns;
  } units[] = {{"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"m", 60e9}, {"h", 3600e9}};
  char *end;
  if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
    return -EINVAL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || !(v >= 0))
    return -EINVAL;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(end, units[i].suffix) != 0)
      continue;
    double ns = v * units[i].ns;
    if (!(ns >= (double)min_ns && ns <= (double)max_ns))
      return -EINVAL;
    *out_ns = (uint64_t)ns;
    return 0;
  }
  return -EINVAL;
}

struct sort_rows_ctx {
  double (*value)(const void *ctx, uint32_t row);
  const void *ctx;
};

static int cmp_rows_desc(const void *a, const void *b, void *arg) {
  const struct sort_rows_ctx *c = arg;
  uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
  double va = c->value(c->ctx, ia), vb = c->value(c->ctx, ib);
  if (isnan(va))
    va = -INFINITY;
  if (isnan(vb))
    vb = -INFINITY;
  if (va != vb)
    return va > vb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

void sort_rows_desc(uint32_t *order, uint32_t n, double (*value)(const void *ctx, uint32_t row),
                    const void *ctx) {
  struct sort_rows_ctx c = {value, ctx};
  if (n > 1)
    qsort_r(order, n, sizeof(*order), cmp_rows_desc, &c);
}
