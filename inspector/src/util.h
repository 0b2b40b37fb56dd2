/*
 * Small helpers every part of sched-inspect uses: clocks, allocation that
 * fails hard (an interactive tool has nothing better to do on ENOMEM than to
 * restore the terminal and say so, as htop's xMalloc does) and exit codes.
 */
#ifndef INSPECT_UTIL_H
#define INSPECT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses, documented in sched-inspect(1) and docs/inspector.md. */
enum {
  INSPECT_EXIT_OK = 0,
  INSPECT_EXIT_FAILURE = 1,  /* unreadable/corrupt segment or dump, I/O error, dump failed */
  INSPECT_EXIT_USAGE = 2,    /* bad command line */
  INSPECT_EXIT_PARTIAL = 3,  /* dump saved but PARTIAL: some workers missed the deadline */
  INSPECT_EXIT_NOTARGET = 4, /* no such process, or it has no schedrt segment */
  INSPECT_EXIT_GONE = 5,     /* the target exited (or its segment went stale) during the command */
  INSPECT_EXIT_TIMEOUT = 6,  /* the runtime did not answer a dump request in time (hung?) */
};

#define INSPECT_PROG "sched-inspect"

/* CLOCK_MONOTONIC / CLOCK_REALTIME in nanoseconds. */
uint64_t inspect_now_ns(void);
uint64_t inspect_realtime_ns(void);
void inspect_sleep_ns(uint64_t ns);
/* For the commands that run until stopped (stat, record, dump; the TUI has crt.c's): SIGINT and SIGTERM
 * no longer kill the process but are remembered, the first one's number returned by
 * inspect_stop_signal() (0: none yet). No SA_RESTART: a sleep or a wait they interrupt ends at once. */
void inspect_catch_stop(void);
int inspect_stop_signal(void);

/* Called before a fatal exit (the TUI registers crt_done here). */
void inspect_set_fatal_hook(void (*hook)(void));
/* Restores the terminal (via the hook), prints "sched-inspect: <msg>" and exits 1. */
_Noreturn void inspect_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A duration as a user types it: "100ms", "2.5s", "1m", "250us", "1h", or plain seconds ("0.5").
 * 0 with *out_ns in [min_ns, max_ns], or -EINVAL. */
int parse_duration_ns(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns);

/* snprintf that never overflows and always terminates; returns dst. */
char *xsnprintf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sorts the row indexes order[0..n) by value(ctx, row), highest first, NAN (not known) last, ties by
 * index: a total order, so the tables keep still between refreshes. */
void sort_rows_desc(uint32_t *order, uint32_t n, double (*value)(const void *ctx, uint32_t row),
                    const void *ctx);

#endif
