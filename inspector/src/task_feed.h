/*
 * The live task list's data: a task dump of the target every period, asked
 * for with the dump client and kept in memory only (no file anywhere, the
 * runtime's object removed as soon as it is read), with what needs attention
 * in it. One request at a time: a refresh still running when the next is due
 * makes that one wait, it is never doubled. The live view owns the feed and
 * ticks it, so a refresh in flight is collected even after the list closed;
 * screen_tasks.c draws it. No curses.
 */
#ifndef INSPECT_TASK_FEED_H
#define INSPECT_TASK_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "dump_analysis.h"
#include "schedrt/dump_read.h"

struct dump_client;

/* --tasks-every's range and the period the key starts with. */
#define TASK_FEED_MIN_PERIOD_MS 500u
#define TASK_FEED_MAX_PERIOD_MS 3600000u
#define TASK_FEED_DEFAULT_PERIOD_MS 2000u

typedef struct task_feed {
  /* Set by task_feed_new. */
  const inspect_target *target; /* the live view's, which outlives the feed */
  uint32_t timeout_ms;          /* the barrier deadline asked for (0: the runtime's) */
  const char *shm_dir;
  uint64_t period_ns;
  int active; /* the list is open: refreshes are due every period */
  int paused; /* no new refreshes (one in flight still completes) */
  int gone;   /* the target exited: no more refreshes */
  /* The refresh in flight. */
  struct dump_client *client;
  uint64_t started_ns; /* when it was asked for */
  uint64_t next_ns;    /* when the next one is due */
  /* The last list: the dump, its bytes (for the viewer), what needs attention. NULL before the first. */
  schedrt_dump_doc *doc;
  void *buf;
  size_t len;
  dump_analysis an;
  unsigned char *attn; /* per task: ATTN_* */
  size_t nlost, ndeadlocked, nstuck, nattn;
  uint64_t received_ns; /* when it came (inspector's clock) */
  uint64_t took_ns;     /* from the request to the answer */
  uint64_t generation;  /* lists received: screens rebuild their rows when it changes */
  int late;             /* the refresh took longer than the period */
  /* The last attempt, when it failed (failed_ns 0: the last one worked). */
  uint64_t failed_ns;
  char failure[512];
  uint64_t failures; /* in all */
} task_feed;

/* A feed of t's tasks every period_ns (inactive until task_feed_set_active). Fails hard on ENOMEM. */
task_feed *task_feed_new(const inspect_target *t, uint32_t timeout_ms, const char *shm_dir,
                         uint64_t period_ns);
/* Frees f. A refresh in flight is given up without leaving its dump behind: its answer is waited for,
 * at most max_wait_ns, and the object it names removed. */
void task_feed_free(task_feed *f, uint64_t max_wait_ns);

/* Opening the list makes a refresh due now unless the last list is younger than the period. */
void task_feed_set_active(task_feed *f, int on, uint64_t now);
void task_feed_set_paused(task_feed *f, int paused);
/* A new period, at once: a refresh due later than the new period allows is brought forward. */
void task_feed_set_period(task_feed *f, uint64_t period_ns, uint64_t now);
/* The next of the periods the keys step through (faster or slower than period_ns). */
uint64_t task_feed_step_period(uint64_t period_ns, int faster);

/*
 * Collects a refresh that came, and starts one when due (not while hold: a
 * request of the live view's own is in flight, which the runtime would
 * answer BUSY). Returns the time it wants its next tick by (UINT64_MAX: no
 * wish); *busy says a refresh is in flight.
 */
uint64_t task_feed_tick(task_feed *f, uint64_t now, int hold, int *busy);

#endif
