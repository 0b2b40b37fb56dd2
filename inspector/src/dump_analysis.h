/*
 * What a dump says needs attention, found once for the report, `show
 * --json`'s "analysis" object and the viewer: workers the dump could not
 * hold (stuck in a poll), lost wake-ups (idle tasks nothing can wake),
 * deadlocks and wait chains (dump_waits.c), the await points with the
 * longest idle tasks, and per-worker and per-spawn-site summaries. No curses.
 * Everything is O(n log n) in the tasks at most.
 */
#ifndef INSPECT_DUMP_ANALYSIS_H
#define INSPECT_DUMP_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "dump_group.h"
#include "dump_waits.h"
#include "hist.h"
#include "schedrt/dump_read.h"

/* A wait chain is reported from this many waiting tasks on (A waits for B waits for C), or when it
 * leads into a deadlock: one task joining another is just a join. */
#define ANALYSIS_MIN_CHAIN 2

/* Task states plus one slot for "unknown" (a later minor's text). */
#define ANALYSIS_NSTATES (SCHEDRT_DUMP_STATE__COUNT + 1)

/* Idle tasks and lost wake-ups at one await point (an index of await_sites, or none recorded). */
typedef struct await_summary {
  int64_t await; /* index into await_sites, SCHEDRT_DUMP_NONE: no await point recorded */
  size_t idle, lost;
  uint64_t longest_idle_ns, longest_lost_ns;
  size_t longest, longest_lost; /* the task idle longest there, the lost one idle longest (indexes) */
} await_summary;

/* The tasks alive from one spawn site. */
typedef struct site_summary {
  int64_t spawn; /* index into spawn_sites, SCHEDRT_DUMP_NONE: unknown */
  size_t tasks, lost, deadlocked, proven;
  size_t by_state[ANALYSIS_NSTATES];
  uint64_t polls;           /* summed over its tasks, saturating */
  uint64_t longest_idle_ns; /* among its idle tasks */
  uint64_t youngest_ns;     /* the smallest age: a site that keeps spawning has young tasks */
} site_summary;

typedef struct worker_summary {
  size_t by_state[ANALYSIS_NSTATES]; /* tasks the dump places on it (running, LIFO slot, ring, deferred) */
  size_t current;                    /* the task it polls (index), or WAITS_NONE */
  int has_hist;                      /* both histograms were captured (per-poll timing was on) */
  hist_summary hist[SCHEDRT_M__HIST_COUNT];
} worker_summary;

typedef struct dump_analysis {
  const schedrt_dump_doc *d;
  dump_waits waits;
  int wake_info; /* the dump says who can wake each task (format 1.1 and later) */
  size_t *stuck; /* workers the dump lists missing, by index */
  size_t nstuck;
  size_t *lost; /* lost wake-ups (task indexes), longest idle first */
  size_t nlost;
  await_summary *awaits; /* idle tasks by await point, longest idle first */
  size_t nawaits;
  size_t *chains; /* heads of the wait chains worth reporting (ANALYSIS_MIN_CHAIN), longest first */
  size_t nchains;
  /* Proven leaked (dump_proven_leaked): 1 per task that nothing can ever wake; their count. */
  unsigned char *proven;
  size_t nproven;
  site_summary *sites; /* by spawn site, most tasks first */
  size_t nsites;
  worker_summary *workers; /* [d->nworkers_listed] */
} dump_analysis;

/*
 * Proven leaks, never confused with suspects (Go's leak profile, from what a
 * dump knows): an idle task is proven leaked when nothing can ever wake it:
 *  - a lost wake-up (no waker, no timer);
 *  - a member of a cycle of waits (joins, mutex owners, a semaphore's only
 *    holder) in which every member can be woken only through its edge (one
 *    waker, no timer);
 *  - a task that can be woken only through its edge (one waker, no timer)
 *    whose edge leads to a proven leaked task, or to a mutex or semaphore
 *    whose holder finished while holding it;
 *  - a task that can be woken only through its wait on a notify, a oneshot
 *    or a channel whose waking side's holders the dump lists (the program
 *    gave them owners), when every other holder finished or is proven
 *    leaked (a holder outside the runtime, or beyond the list: no proof).
 * Computed as one greatest fixed point, so the rules feed one another.
 * The scope, as Go writes its down: schedrt's own waits only (a waker kept
 * by a foreign thread or a primitive built outside the runtime counts as a
 * way to wake, so such a task is never proven); a mutex unlocked by a task
 * that is not its owner (a misuse) would break a proof. Needs a dump that
 * says who can wake each task (format 1.1); none is proven from an older one.
 */
/* Analyses d (which must outlive a). Fails hard on ENOMEM. */
void dump_analyze(const schedrt_dump_doc *d, dump_analysis *a);
void dump_analysis_free(dump_analysis *a);

/* Why task i needs attention: a mask of these (0: it does not). */
enum {
  ATTN_LOST = 1u << 0,     /* a lost wake-up */
  ATTN_DEADLOCK = 1u << 1, /* in a cycle of joins */
  ATTN_STUCK = 1u << 2,    /* polled by a worker the dump could not hold */
  ATTN_PROVEN = 1u << 3,   /* proven leaked: nothing can ever wake it */
};
unsigned dump_attention(const dump_analysis *a, size_t i);
/* How many tasks need attention, and why (a task may count under several). */
typedef struct attention_counts {
  size_t any, lost, deadlocked, stuck;
} attention_counts;
/* Every task's dump_attention mask (an array of ntasks, the caller's to free; never NULL), counted into *n.
 */
unsigned char *dump_attention_all(const dump_analysis *a, attention_counts *n);
/* The mark of a mask (one character): L lost wake-up, D deadlocked, P proven leaked through its wait,
 * S polled by a stuck worker; ' ' for none. */
char dump_attention_mark(unsigned m);

/*
 * What can wake task i of d (w: d's graph), for a person: "LOST WAKE-UP", "wakers 1", "timer in
 * 40.0ms", "waits for #12 (name)" ("#12, finished" when the dump lacks it),
 * "DEADLOCK", "notify 0x7f...", joined with ", "; "" for a dump without
 * that information (format 1.0). Returns buf.
 */
/* The dump's news on one line, for the live view: lost wake-ups and deadlocks with the first one's
 * name and where it waits (`1 lost wake-up: #3 "flush" idle 3.06s at f.c:614`); "" if
 * neither. Stuck workers are left out: the live view shows them itself. Returns buf. */
char *dump_attention_line(char *buf, size_t size, const dump_analysis *a);

char *dump_wake_text(char *buf, size_t size, const schedrt_dump_doc *d, const dump_waits *w, size_t i);
/* A mutex's or semaphore's holders as a waiter saw them (dump 1.2): " held by #7" / ", permits held by
 * #3(2), #4(1) and 2 more" / " (free)"; a notify's, oneshot's or channel's waking side: ", held by
 * #3(1), #9(1, finished)" / ", held by no task"; "" when the dump does not say. */
char *dump_holders_text(char *buf, size_t size, const schedrt_dump_doc *d, const dump_waits *w,
                        const schedrt_dump_task *t);
/* Whether d says who can wake its tasks (format 1.1 and later). */
int dump_has_wake_info(const schedrt_dump_doc *d);

/* "name" or "(unnamed)". */
const char *dump_task_name(const schedrt_dump_task *t);

#endif
