/* The text report of two dumps compared (see dump_diff.h). */
#include <math.h>
#include <string.h>

#include "dump_analysis.h"
#include "dump_diff.h"
#include "dump_text.h"
#include "format.h"
#include "util.h"

#define SITES_LISTED 15
#define SITE_WIDTH 0 /* whole sites: the report goes to files and pagers */

static const char *or_q(const char *s) { return s && *s ? s : "?"; }

static char *rate_text(char *buf, size_t size, double v) {
  return isnan(v) ? xsnprintf(buf, size, "-") : fmt_si(buf, size, v);
}

static void print_head(const dump_diff *df, FILE *f, const char *name_a, const char *name_b) {
  char ta[32] = "?", tb[32] = "?", iv[32];
  if (df->a->taken_realtime_ns)
    fmt_datetime(ta, sizeof(ta), df->a->taken_realtime_ns);
  if (df->b->taken_realtime_ns)
    fmt_clock(tb, sizeof(tb), df->b->taken_realtime_ns);
  fprintf(f, "Two dumps of pid %llu (runtime \"%s\"): A %s taken %s, B %s taken %s, %s later\n",
          (unsigned long long)df->a->pid, or_q(df->a->runtime), name_a, ta, name_b, tb,
          fmt_duration(iv, sizeof(iv), df->interval_ns));
  if (df->swapped)
    fprintf(f, "(%s was taken first: it is A, the files are compared in the order they were taken)\n",
            name_a);
}

/* The site whose task count grew the most, or NULL when none grew. */
static const diff_site *most_added(const dump_diff *df) {
  const diff_site *best = NULL;
  for (size_t i = 0; i < df->nsites; i++) {
    const diff_site *s = &df->sites[i];
    if (s->tasks_b > s->tasks_a && (!best || s->tasks_b - s->tasks_a > best->tasks_b - best->tasks_a))
      best = s;
  }
  return best;
}

/* The site whose tasks polled the most in between, or NULL when none did. */
static const diff_site *most_polls(const dump_diff *df) {
  const diff_site *best = NULL;
  for (size_t i = 0; i < df->nsites; i++)
    if (df->sites[i].polls && (!best || df->sites[i].polls > best->polls))
      best = &df->sites[i];
  return best;
}

static void print_headlines(const dump_diff *df, FILE *f) {
  char cell[600], rate[32];
  fprintf(f, "\nHEADLINES\n");
  if (!df->nstalled && !df->nnew_lost && !df->ndeadlocks_b)
    fprintf(f, "  nothing stalled, no new lost wake-up, no deadlock\n");
  if (df->nstalled)
    fprintf(f, "  %zu task%s stalled: idle in both dumps and not polled in between\n", df->nstalled,
            df->nstalled == 1 ? "" : "s");
  if (df->nnew_lost)
    fprintf(f, "  %zu new lost wake-up%s (idle in B, and nothing can wake %s)\n", df->nnew_lost,
            df->nnew_lost == 1 ? "" : "s", df->nnew_lost == 1 ? "it" : "them");
  if (df->ndeadlocks_b)
    fprintf(f, "  %zu deadlock%s in B, %zu new since A\n", df->ndeadlocks_b, df->ndeadlocks_b == 1 ? "" : "s",
            df->nnew_deadlocks);
  fprintf(f, "  %zu task%s appeared, %zu finished: %zu alive in A, %zu in B\n", df->nappeared,
          df->nappeared == 1 ? "" : "s", df->nfinished, df->a->ntasks, df->b->ntasks);
  const diff_site *grow = most_added(df), *busy = most_polls(df);
  if (grow)
    fprintf(f, "  most tasks added: %s, %zu -> %zu\n",
            dump_site_cell(cell, sizeof(cell), grow->site, SITE_WIDTH, 0), grow->tasks_a, grow->tasks_b);
  if (busy)
    fprintf(f, "  most polls: %s, %s polls/s\n",
            dump_site_cell(cell, sizeof(cell), busy->site, SITE_WIDTH, 0),
            rate_text(rate, sizeof(rate), busy->polls_per_s));
}

/* `#12 "name" state  await ...  spawned at ...` of task i of d. */
static void print_task(FILE *f, const schedrt_dump_doc *d, const dump_waits *w, size_t i, const char *what) {
  const schedrt_dump_task *t = &d->tasks[i];
  char aw[600], sp[600], wake[300];
  dump_wake_text(wake, sizeof(wake), d, w, i);
  fprintf(f, "  #%-8llu %-20s %s%s%s  %s  %s\n", (unsigned long long)t->id, dump_task_name(t), what,
          wake[0] ? "  " : "", wake,
          dump_await_site_text(aw, sizeof(aw), schedrt_dump_await_site(d, t), SITE_WIDTH, 0),
          dump_spawn_text(sp, sizeof(sp), schedrt_dump_spawn_site(d, t), SITE_WIDTH, 0));
}

static void more(FILE *f, size_t n, size_t shown) {
  if (n > shown)
    fprintf(f, "  ... %zu more (diff --json lists all)\n", n - shown);
}

static size_t limit(size_t n, size_t max) { return max && n > max ? max : n; }

static void print_stalled(const dump_diff *df, FILE *f, size_t max) {
  char iv[32], mg[32], what[128], a[32], b[32];
  if (!df->nstalled)
    return;
  fprintf(f,
          "\nSTALLED (%zu): idle in both, idle time grew by the %s between the dumps (within %s), no poll\n",
          df->nstalled, fmt_duration(iv, sizeof(iv), df->interval_ns),
          fmt_duration(mg, sizeof(mg), df->margin_ns));
  size_t n = limit(df->nstalled, max);
  for (size_t k = 0; k < n; k++) {
    const schedrt_dump_task *ta = &df->a->tasks[df->stalled_a[k]], *tb = &df->b->tasks[df->stalled[k]];
    xsnprintf(what, sizeof(what), "idle %s -> %s, polls %llu",
              fmt_duration(a, sizeof(a), (uint64_t)ta->state_ns),
              fmt_duration(b, sizeof(b), (uint64_t)tb->state_ns), (unsigned long long)tb->polls);
    print_task(f, df->b, &df->waits_b, df->stalled[k], what);
  }
  more(f, df->nstalled, n);
}

static void print_list(FILE *f, const char *title, const schedrt_dump_doc *d, const dump_waits *w,
                       const size_t *v, size_t nv, size_t max) {
  char what[96], dur[32];
  if (!nv)
    return;
  fprintf(f, "\n%s (%zu)\n", title, nv);
  size_t n = limit(nv, max);
  for (size_t k = 0; k < n; k++) {
    const schedrt_dump_task *t = &d->tasks[v[k]];
    xsnprintf(what, sizeof(what), "%s %s, polls %llu", schedrt_dump_state_text(t->state),
              dump_opt_duration(dur, sizeof(dur), dump_task_for_ns_opt(d, t)), (unsigned long long)t->polls);
    print_task(f, d, w, v[k], what);
  }
  more(f, nv, n);
}

static void print_deadlocks(const dump_diff *df, FILE *f) {
  const dump_waits *w = &df->waits_b;
  if (!w->ncycles)
    return;
  fprintf(f, "\nDEADLOCKS IN B (%zu; show B lists each member's await point and spawn site)\n", w->ncycles);
  for (size_t c = 0; c < w->ncycles && c < 20; c++) {
    const wait_cycle *cy = &w->cycles[c];
    fprintf(f, "  ");
    for (size_t k = 0; k < cy->n && k < 10; k++)
      fprintf(f, "#%llu \"%s\" -> ", (unsigned long long)df->b->tasks[cy->members[k]].id,
              dump_task_name(&df->b->tasks[cy->members[k]]));
    if (cy->n > 10)
      fprintf(f, "... %zu more -> ", cy->n - 10);
    fprintf(f, "#%llu\n", (unsigned long long)df->b->tasks[cy->members[0]].id);
  }
  if (w->ncycles > 20)
    fprintf(f, "  ... %zu more\n", w->ncycles - 20);
}

static void print_sites(const dump_diff *df, FILE *f) {
  char cell[600], rate[32], polls[32], delta[32];
  fprintf(f, "\nSPAWN SITES (biggest change first; polls between the dumps: B's polls of its tasks, plus A's "
             "for those\n"
             "that finished (their last known count), minus A's)\n");
  fprintf(f, "  %7s %7s %7s %8s %8s %8s %9s  %s\n", "TASKS A", "TASKS B", "CHANGE", "APPEARED", "FINISHED",
          "POLLS", "POLLS/S", "SITE");
  for (size_t i = 0; i < df->nsites && i < SITES_LISTED; i++) {
    const diff_site *s = &df->sites[i];
    long long ch = (long long)s->tasks_b - (long long)s->tasks_a;
    xsnprintf(delta, sizeof(delta), "%+lld", ch);
    fprintf(f, "  %7zu %7zu %7s %8zu %8zu %8s %9s  %s\n", s->tasks_a, s->tasks_b, delta, s->appeared,
            s->finished, fmt_si(polls, sizeof(polls), (double)s->polls),
            rate_text(rate, sizeof(rate), s->polls_per_s),
            dump_site_cell(cell, sizeof(cell), s->site, SITE_WIDTH, 0));
  }
  if (df->nsites > SITES_LISTED)
    fprintf(f, "  ... %zu more spawn sites\n", df->nsites - SITES_LISTED);
}

static void print_workers(const dump_diff *df, FILE *f) {
  char rate[32], polls[32], la[24], lb[24];
  int any = 0;
  fprintf(f, "\nWORKERS (polls: the poll_time histogram's count, so only with per-poll timing)\n");
  fprintf(f, "  %3s %9s %9s %8s %8s\n", "W", "POLLS", "POLLS/S", "LOCAL A", "LOCAL B");
  for (size_t i = 0; i < df->nworkers; i++) {
    const diff_worker *w = &df->workers[i];
    any |= w->has_polls;
    fprintf(f, "  %3llu %9s %9s %8s %8s\n", (unsigned long long)w->index,
            w->has_polls ? fmt_si(polls, sizeof(polls), (double)w->polls) : "-",
            rate_text(rate, sizeof(rate), w->polls_per_s), dump_opt_count(la, sizeof(la), w->local_a),
            dump_opt_count(lb, sizeof(lb), w->local_b));
  }
  if (!any && df->nworkers)
    fprintf(f, "  (no polls per worker: start the target with SCHEDRT_TIMING=1 for them)\n");
}

void dump_diff_print(const dump_diff *df, FILE *f, const char *name_a, const char *name_b,
                     size_t max_listed) {
  if (df->swapped) {
    const char *t = name_a;
    name_a = name_b;
    name_b = t;
  }
  print_head(df, f, name_a, name_b);
  print_headlines(df, f);
  print_stalled(df, f, max_listed);
  print_list(f, "NEW LOST WAKE-UPS", df->b, &df->waits_b, df->new_lost, df->nnew_lost, max_listed);
  print_deadlocks(df, f);
  print_list(f, "APPEARED", df->b, &df->waits_b, df->appeared, df->nappeared, max_listed);
  print_list(f, "FINISHED (as A saw them)", df->a, &df->waits_a, df->finished, df->nfinished, max_listed);
  print_sites(df, f);
  print_workers(df, f);
}
