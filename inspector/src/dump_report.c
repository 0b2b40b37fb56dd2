/* The text report of a dump (see dump_report.h). */
#include "dump_report.h"

#include <string.h>

#include "dump_backtrace.h"
#include "dump_events.h"
#include "format.h"
#include "util.h"

/* Beyond these the report says how many more there are: show --json and show -t list everything. */
#define MAX_LOST_LISTED 10   /* more lost wake-ups than this: grouped by await point */
#define MAX_GROUPS_LISTED 10 /* await points of lost wake-ups, idle await points */
#define MAX_CYCLES_LISTED 20 /* deadlocks */
#define MAX_CYCLE_MEMBERS 50 /* tasks of one deadlock */
#define MAX_CHAINS_LISTED 5  /* wait chains */
#define CHAIN_HEAD_SHOWN 3   /* a long chain shows its first tasks ... */
#define CHAIN_TAIL_SHOWN 2   /* ... and its last */
#define MAX_IDLE_AWAITS 5    /* the longest-idle await points */
#define MAX_SITES_LISTED 15  /* spawn sites */
#define EVENTS_PER_RING 20   /* a watchdog dump's events: the newest of each ring */
#define SITE_WIDTH 0         /* sites in full in the report: it goes to files and pagers */

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static const schedrt_dump_site *spawn_of(const schedrt_dump_doc *d, size_t i) {
  return schedrt_dump_spawn_site(d, &d->tasks[i]);
}
static const schedrt_dump_site *await_of(const schedrt_dump_doc *d, size_t i) {
  return schedrt_dump_await_site(d, &d->tasks[i]);
}

/* `#12 "name"` */
static char *task_ref(char *buf, size_t size, const schedrt_dump_doc *d, size_t i) {
  return xsnprintf(buf, size, "#%llu \"%s\"", (unsigned long long)d->tasks[i].id,
                   dump_task_name(&d->tasks[i]));
}

/* A task on one line with its await point and spawn site: what the attention findings list. */
static void print_task_line(const dump_analysis *a, FILE *f, const char *indent, size_t i,
                            const char *extra) {
  const schedrt_dump_doc *d = a->d;
  const schedrt_dump_task *t = &d->tasks[i];
  char ref[128], dur[32], aw[600], sp[600];
  fprintf(f, "%s%s %s %s%s%s  %s  %s\n", indent, task_ref(ref, sizeof(ref), d, i),
          schedrt_dump_state_text(t->state), dump_opt_duration(dur, sizeof(dur), dump_task_for_ns_opt(d, t)),
          extra ? "  " : "", extra ? extra : "",
          dump_await_site_text(aw, sizeof(aw), await_of(d, i), SITE_WIDTH, 0),
          dump_spawn_text(sp, sizeof(sp), spawn_of(d, i), SITE_WIDTH, 0));
}

static void print_title(const schedrt_dump_doc *d, FILE *f) {
  char when[64] = "?";
  if (d->taken_realtime_ns)
    fmt_datetime(when, sizeof(when), d->taken_realtime_ns);
  fprintf(
      f,
      "Task dump of pid %llu (runtime \"%s\", schedrt %s), taken %s: %s, %zu tasks, %zu/%llu workers held\n",
      (unsigned long long)d->pid, or_dash(d->runtime), or_dash(d->runtime_version), when, or_dash(d->status),
      d->ntasks, d->ncovered, (unsigned long long)d->nworkers);
}

static void print_stuck(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char ref[128], dur[32], sp[600];
  bt_symbolizer *sym = bt_symbolizer_new();
  for (size_t k = 0; k < a->nstuck; k++) {
    const schedrt_dump_worker *w = &d->workers[a->stuck[k]];
    const char *reason = schedrt_dump_reason_text(w->reason);
    size_t ti = a->workers[a->stuck[k]].current;
    fprintf(f, "  stuck worker %llu (missing%s%s): ", (unsigned long long)w->index, reason ? ": " : "",
            reason ? reason : "");
    if (ti != WAITS_NONE)
      fprintf(f, "task %s running %s, %s\n", task_ref(ref, sizeof(ref), d, ti),
              dump_opt_duration(dur, sizeof(dur), w->running_ns),
              dump_spawn_text(sp, sizeof(sp), spawn_of(d, ti), SITE_WIDTH, 0));
    else if (w->current_task >= 0)
      fprintf(f, "task #%lld (not in the dump) running %s\n", (long long)w->current_task,
              dump_opt_duration(dur, sizeof(dur), w->running_ns));
    else
      fprintf(f, "between polls, did not reach a safe point\n");
    /* 1.3: the native stack a watchdog dump took of it (docs/forensics.md). */
    dump_backtrace_print(sym, w, f, "    ");
  }
  bt_symbolizer_free(sym);
}

static void print_lost(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char aw[600], sp[600], dur[32], ref[128];
  if (!a->nlost)
    return;
  fprintf(f, "  lost wake-ups: %zu (idle, and no waker and no timer can wake them)\n", a->nlost);
  if (a->nlost <= MAX_LOST_LISTED) {
    for (size_t k = 0; k < a->nlost; k++)
      print_task_line(a, f, "    ", a->lost[k], NULL);
    return;
  }
  /* Many: one line per await point, with the task idle longest there as the example. */
  size_t shown = 0, groups = 0;
  for (size_t k = 0; k < a->nawaits; k++) {
    const await_summary *s = &a->awaits[k];
    if (!s->lost)
      continue;
    groups++;
    if (shown == MAX_GROUPS_LISTED)
      continue;
    shown++;
    const schedrt_dump_site *site = s->await >= 0 ? &d->await_sites[s->await] : NULL;
    fprintf(f, "    %zu at %s, longest idle %s: e.g. %s %s\n", s->lost,
            dump_await_site_text(aw, sizeof(aw), site, SITE_WIDTH, 0),
            fmt_duration(dur, sizeof(dur), s->longest_lost_ns),
            task_ref(ref, sizeof(ref), d, s->longest_lost),
            dump_spawn_text(sp, sizeof(sp), spawn_of(d, s->longest_lost), SITE_WIDTH, 0));
  }
  if (groups > shown)
    fprintf(f, "    ... %zu more await points with lost wake-ups (show --json lists every task)\n",
            groups - shown);
}

static void print_deadlocks(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  const dump_waits *w = &a->waits;
  char extra[200];
  if (!w->ncycles)
    return;
  fprintf(f, "  deadlocks: %zu (tasks that each wait for the next one's completion or lock, in a circle)\n",
          w->ncycles);
  for (size_t c = 0; c < w->ncycles && c < MAX_CYCLES_LISTED; c++) {
    const wait_cycle *cy = &w->cycles[c];
    fprintf(f, "    deadlock %zu: %zu task%s\n", c + 1, cy->n, cy->n == 1 ? " waiting for itself" : "s");
    for (size_t k = 0; k < cy->n && k < MAX_CYCLE_MEMBERS; k++) {
      size_t i = cy->members[k], next = cy->members[(k + 1) % cy->n];
      const schedrt_dump_task *t = &d->tasks[i];
      if (t->wait == SCHEDRT_DUMP_WAIT_MUTEX || t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE)
        /* 1.2: through a lock: say which, and who holds it. */
        xsnprintf(extra, sizeof(extra), "waits for #%llu: %s 0x%llx held by it",
                  (unsigned long long)d->tasks[next].id, schedrt_dump_wait_text(t->wait),
                  (unsigned long long)t->wait_object);
      else
        xsnprintf(extra, sizeof(extra), "waits for #%llu", (unsigned long long)d->tasks[next].id);
      print_task_line(a, f, "      ", i, extra);
    }
    if (cy->n > MAX_CYCLE_MEMBERS)
      fprintf(f, "      ... %zu more tasks in this deadlock (show --json lists them)\n",
              cy->n - MAX_CYCLE_MEMBERS);
  }
  if (w->ncycles > MAX_CYCLES_LISTED)
    fprintf(f, "    ... %zu more deadlocks (show --json lists them)\n", w->ncycles - MAX_CYCLES_LISTED);
}

/* Where a chain from i stops, for a person. */
static char *chain_end_text(char *buf, size_t size, const dump_analysis *a, size_t i) {
  const schedrt_dump_doc *d = a->d;
  size_t last;
  char ref[128], wake[256];
  switch (dump_waits_chain_end(d, &a->waits, i, &last)) {
  case WAIT_END_CYCLE:
    return xsnprintf(buf, size, "%s (in deadlock %zu)", task_ref(ref, sizeof(ref), d, last),
                     a->waits.cycle_of[last]);
  case WAIT_END_MISSING:
    return xsnprintf(buf, size, "#%lld (finished: not in the dump)", (long long)d->tasks[last].wait_for);
  default:
    dump_wake_text(wake, sizeof(wake), d, &a->waits, last);
    return xsnprintf(buf, size, "%s (%s%s%s)", task_ref(ref, sizeof(ref), d, last),
                     schedrt_dump_state_text(d->tasks[last].state), wake[0] ? ", " : "", wake);
  }
}

static void print_chains(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  const dump_waits *w = &a->waits;
  char ref[128], end[512];
  size_t n = a->nchains;
  if (!n)
    return;
  fprintf(f, "  wait chains: %zu (tasks waiting for a task that waits for another...; the longest first)\n",
          n);
  size_t shown = 0;
  for (; shown < n && shown < MAX_CHAINS_LISTED; shown++) {
    size_t head = a->chains[shown], len = w->depth[head];
    fprintf(f, "    %zu waiting: ", len);
    /* The tasks with an edge: len of them from the head, then where it stops. */
    size_t p = head;
    for (size_t step = 0; step < len && p != WAITS_NONE && !dump_waits_in_cycle(w, p); step++) {
      int head_part = step < CHAIN_HEAD_SHOWN, tail_part = step + CHAIN_TAIL_SHOWN >= len;
      if (head_part || tail_part)
        fprintf(f, "%s -> ", task_ref(ref, sizeof(ref), d, p));
      else if (step == CHAIN_HEAD_SHOWN)
        fprintf(f, "... %zu more -> ", len - CHAIN_HEAD_SHOWN - CHAIN_TAIL_SHOWN);
      p = w->next[p];
    }
    fprintf(f, "%s\n", chain_end_text(end, sizeof(end), a, head));
  }
  if (n > shown)
    fprintf(f, "    ... %zu more chains (show --json lists the longest)\n", n - shown);
}

static void print_idle_awaits(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char aw[600], dur[32], ref[128];
  size_t shown = 0;
  for (size_t k = 0; k < a->nawaits && shown < MAX_IDLE_AWAITS; k++) {
    const await_summary *s = &a->awaits[k];
    if (!s->idle)
      continue;
    if (!shown++)
      fprintf(f, "  longest-idle await points:\n");
    const schedrt_dump_site *site = s->await >= 0 ? &d->await_sites[s->await] : NULL;
    fprintf(f, "    %8s  %zu idle  %s  (longest: %s)\n", fmt_duration(dur, sizeof(dur), s->longest_idle_ns),
            s->idle, dump_await_site_text(aw, sizeof(aw), site, SITE_WIDTH, 0),
            task_ref(ref, sizeof(ref), d, s->longest));
  }
}

/* Proven leaks by spawn site: the count, the site; the proof's rule in one line. */
static void print_proven(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char site[256];
  if (!a->nproven)
    return;
  fprintf(
      f,
      "  proven leaked: %zu (nothing can ever wake them: a lost wake-up, a deadlock, or a wait whose only\n"
      "  way out is a task or a mutex holder that is itself leaked or finished; docs/forensics.md)\n",
      a->nproven);
  for (size_t k = 0; k < a->nsites; k++) {
    const site_summary *s = &a->sites[k];
    if (!s->proven)
      continue;
    const schedrt_dump_site *sp = s->spawn >= 0 ? &d->spawn_sites[s->spawn] : NULL;
    fprintf(f, "    %zu spawned at %s\n", s->proven, dump_site_cell(site, sizeof(site), sp, SITE_WIDTH, 0));
  }
}

static void print_attention(const dump_analysis *a, FILE *f) {
  fprintf(f, "\nNEEDS ATTENTION\n");
  if (!a->nstuck && !a->nlost && !a->waits.ncycles)
    fprintf(f, "  no stuck worker, no lost wake-up, no deadlock\n");
  if (!a->wake_info)
    fprintf(f,
            "  (a format %llu.%llu dump does not say what can wake a task: lost wake-ups, deadlocks and "
            "wait chains need 1.1)\n",
            (unsigned long long)a->d->major, (unsigned long long)a->d->minor);
  print_stuck(a, f);
  print_lost(a, f);
  print_deadlocks(a, f);
  print_proven(a, f);
  print_chains(a, f);
  print_idle_awaits(a, f);
}

static const char *worker_state(const schedrt_dump_worker *w) {
  return w->state < SCHEDRT_WSTATE__COUNT ? schedrt_dump_wstate_text(w->state) : "-";
}

static void print_worker_glance(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char tid[24], held[32], polls[32], cur[160], dur[32];
  fprintf(f,
          "\nWORKERS AT A GLANCE (tasks the dump places on each; polls: the poll_time histogram's count)\n");
  fprintf(f, "  %3s %8s %-9s %4s %4s %6s %6s %9s %8s  %s\n", "W", "TID", "STATE", "RUN", "LIFO", "LOCAL",
          "DEFER", "HELD", "POLLS", "CURRENT TASK");
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    const schedrt_dump_worker *w = &d->workers[i];
    const worker_summary *x = &a->workers[i];
    if (x->current != WAITS_NONE)
      xsnprintf(cur, sizeof(cur), "#%llu %s (%s)", (unsigned long long)d->tasks[x->current].id,
                dump_task_name(&d->tasks[x->current]), dump_opt_duration(dur, sizeof(dur), w->running_ns));
    else if (w->current_task >= 0)
      xsnprintf(cur, sizeof(cur), "#%lld (not in the dump)", (long long)w->current_task);
    else
      xsnprintf(cur, sizeof(cur), "-");
    if (x->has_hist)
      fmt_si(polls, sizeof(polls), (double)x->hist[HIST_ID(poll_time)].count);
    else
      xsnprintf(polls, sizeof(polls), "-");
    fprintf(f, "  %3llu %8s %-9s %4zu %4zu %6zu %6zu %9s %8s  %s\n", (unsigned long long)w->index,
            dump_opt_count(tid, sizeof(tid), w->tid), worker_state(w),
            x->by_state[SCHEDRT_DUMP_STATE_RUNNING], x->by_state[SCHEDRT_DUMP_STATE_LIFO],
            x->by_state[SCHEDRT_DUMP_STATE_LOCAL], x->by_state[SCHEDRT_DUMP_STATE_DEFERRED],
            dump_opt_duration(held, sizeof(held), w->held_ns), polls, cur);
  }
}

static void print_site_glance(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  char polls[32], per[32], idle[32], young[32], site[600];
  fprintf(f,
          "\nSPAWN SITES AT A GLANCE (tasks alive, most first; QUEUED: in a queue or woken; blocking jobs: "
          "RUN on a pool thread, QUEUED for one)\n");
  fprintf(f, "  %6s %4s %6s %6s %5s %5s %8s %7s %9s %9s  %s\n", "TASKS", "RUN", "QUEUED", "IDLE", "LOST",
          "DEADL", "POLLS", "/TASK", "MAX IDLE", "YOUNGEST", "SITE");
  for (size_t k = 0; k < a->nsites && k < MAX_SITES_LISTED; k++) {
    const site_summary *s = &a->sites[k];
    size_t queued = s->by_state[SCHEDRT_DUMP_STATE_LIFO] + s->by_state[SCHEDRT_DUMP_STATE_LOCAL] +
                    s->by_state[SCHEDRT_DUMP_STATE_DEFERRED] + s->by_state[SCHEDRT_DUMP_STATE_INJECTION] +
                    s->by_state[SCHEDRT_DUMP_STATE_SCHEDULED] +
                    s->by_state[SCHEDRT_DUMP_STATE_BLOCKING_QUEUED];
    const schedrt_dump_site *sp = s->spawn >= 0 ? &d->spawn_sites[s->spawn] : NULL;
    fprintf(f, "  %6zu %4zu %6zu %6zu %5zu %5zu %8s %7s %9s %9s  %s\n", s->tasks,
            s->by_state[SCHEDRT_DUMP_STATE_RUNNING] + s->by_state[SCHEDRT_DUMP_STATE_BLOCKING], queued,
            s->by_state[SCHEDRT_DUMP_STATE_IDLE], s->lost, s->deadlocked,
            fmt_si(polls, sizeof(polls), (double)s->polls),
            fmt_si(per, sizeof(per), (double)s->polls / (double)s->tasks),
            s->by_state[SCHEDRT_DUMP_STATE_IDLE] ? fmt_duration(idle, sizeof(idle), s->longest_idle_ns) : "-",
            fmt_duration(young, sizeof(young), s->youngest_ns),
            dump_site_cell(site, sizeof(site), sp, SITE_WIDTH, 0));
  }
  if (a->nsites > MAX_SITES_LISTED)
    fprintf(f, "  ... %zu more spawn sites\n", a->nsites - MAX_SITES_LISTED);
}

static void print_details(const schedrt_dump_doc *d, FILE *f) {
  char a[32], b[32], c[32];
  fprintf(f, "\nDUMP\n");
  fprintf(f, "  status %s  label \"%s\"  source %s  deadline %llu ms  gather %s  pause %s  rounds %llu\n",
          or_dash(d->status), d->label ? d->label : "", or_dash(d->source),
          (unsigned long long)d->deadline_ms, fmt_duration(a, sizeof(a), d->gather_ns),
          fmt_duration(b, sizeof(b), d->pause_ns), (unsigned long long)d->gather_rounds);
  fprintf(f,
          "  workers %llu (covered %zu, missing %zu)  tasks %zu  injection queue %s  format %s %llu.%llu\n",
          (unsigned long long)d->nworkers, d->ncovered, d->nmissing, d->ntasks,
          fmt_si(c, sizeof(c), (double)d->injection_depth), SCHEDRT_DUMP_FORMAT, (unsigned long long)d->major,
          (unsigned long long)d->minor);
  if (d->blocking_threads >= 0)
    fprintf(f, "  blocking pool: threads %lld (busy %lld, idle %lld) of at most %s, jobs waiting %lld\n",
            (long long)d->blocking_threads,
            (long long)(d->blocking_threads - (d->blocking_idle > 0 ? d->blocking_idle : 0)),
            (long long)(d->blocking_idle > 0 ? d->blocking_idle : 0),
            d->blocking_max >= 0 ? fmt_si(a, sizeof(a), (double)d->blocking_max) : "-",
            (long long)(d->blocking_queue > 0 ? d->blocking_queue : 0));
}

static void print_workers(const dump_analysis *an, FILE *f) {
  const schedrt_dump_doc *d = an->d;
  char a[32], cur[160], lq[24], df[24];
  fprintf(f, "\nWORKERS\n  %3s %-10s %-9s %6s %4s %8s %10s  %-24s %s\n", "W", "ROLE", "STATE", "LOCAL",
          "LIFO", "DEFERRED", "RUNNING", "CURRENT TASK", "NOTE");
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    const schedrt_dump_worker *w = &d->workers[i];
    const char *reason = schedrt_dump_reason_text(w->reason), *src = schedrt_dump_source_text(w->running_src);
    size_t ti = an->workers[i].current;
    char note[160] = "";
    if (ti != WAITS_NONE)
      xsnprintf(cur, sizeof(cur), "#%llu %s", (unsigned long long)d->tasks[ti].id,
                dump_task_name(&d->tasks[ti]));
    else if (w->current_task >= 0)
      xsnprintf(cur, sizeof(cur), "#%lld (not in the dump)", (long long)w->current_task);
    else
      xsnprintf(cur, sizeof(cur), "-");
    if (reason || src)
      xsnprintf(note, sizeof(note), "%s%s%s", reason ? reason : "", reason && src ? ", " : "",
                src ? src : "");
    fprintf(f, "  %3llu %-10s %-9s %6s %4s %8s %10s  %-24s %s\n", (unsigned long long)w->index,
            schedrt_dump_role_text(w->role), schedrt_dump_wstate_text(w->state),
            dump_opt_count(lq, sizeof(lq), w->local_queue), w->lifo > 0 ? "yes" : "-",
            dump_opt_count(df, sizeof(df), w->deferred), dump_opt_duration(a, sizeof(a), w->running_ns), cur,
            note);
  }
}

static void print_histograms(const dump_analysis *a, FILE *f) {
  const schedrt_dump_doc *d = a->d;
  const uint64_t *ub = d->hist_bounds;
  uint32_t nb = (uint32_t)d->nhist_bounds;
  int any = 0;
  for (size_t i = 0; i < d->nworkers_listed; i++)
    any |= a->workers[i].has_hist;
  if (!any)
    return;
  fprintf(f,
          "\nLATENCY AT DUMP TIME (per worker, since start; bucket upper bounds: at most 50%% above)\n  %3s",
          "W");
  for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
    fprintf(f, "  %-14s %7s %9s %9s %9s", schedrt_metric_info(SCHEDRT_M__HIST_FIRST + h)->name, "count",
            "p50", "p99", "max");
  fputc('\n', f);
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    const worker_summary *x = &a->workers[i];
    char c[32], p50[32], p99[32], mx[32];
    fprintf(f, "  %3llu", (unsigned long long)d->workers[i].index);
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
      if (!x->has_hist) {
        fprintf(f, "  %-14s %7s %9s %9s %9s", "", "-", "-", "-", "-");
        continue;
      }
      const hist_summary *s = &x->hist[h];
      fprintf(f, "  %-14s %7s %9s %9s %9s", "", fmt_si(c, sizeof(c), (double)s->count),
              hist_fmt(p50, sizeof(p50), s->p50, ub, nb), hist_fmt(p99, sizeof(p99), s->p99, ub, nb),
              hist_fmt(mx, sizeof(mx), s->max, ub, nb));
    }
    fputc('\n', f);
  }
}

static void print_groups(const dump_analysis *an, FILE *f, size_t per_group) {
  const schedrt_dump_doc *d = an->d;
  task_group *g;
  size_t ng;
  char a[32], b[32], aw[600], sp[600], wake[300];
  dump_group_tasks(d, &g, &ng);
  fprintf(f, "\nTASKS BY AWAIT POINT AND STATE (running first, then the longest idle)\n");
  if (ng == 0)
    fprintf(f, "  (no tasks)\n");
  for (size_t i = 0; i < ng; i++) {
    const task_group *grp = &g[i];
    fprintf(f, "\n  %-10s %5zu task%s  %s  longest %s\n", schedrt_dump_state_text(grp->state), grp->count,
            grp->count == 1 ? " " : "s",
            dump_await_text(aw, sizeof(aw), grp->await_label, grp->await_file, (uint64_t)grp->await_line,
                            SITE_WIDTH, 0),
            fmt_duration(a, sizeof(a), grp->max_idle_ns));
    size_t shown = per_group && grp->count > per_group ? per_group : grp->count;
    for (size_t k = 0; k < shown; k++) {
      size_t ti = grp->members[k];
      const schedrt_dump_task *t = &d->tasks[ti];
      char where[48] = "";
      if (t->worker >= 0)
        xsnprintf(where, sizeof(where), " worker %lld", (long long)t->worker);
      if (t->position >= 0)
        xsnprintf(where + strlen(where), sizeof(where) - strlen(where), " pos %lld", (long long)t->position);
      dump_wake_text(wake, sizeof(wake), d, &an->waits, ti);
      fprintf(f, "    #%-8llu %-20s %s %-8s polls %-6llu age %-8s%s%s%s  %s\n", (unsigned long long)t->id,
              dump_task_name(t), schedrt_dump_state_text(t->state),
              dump_opt_duration(a, sizeof(a), dump_task_for_ns_opt(d, t)), (unsigned long long)t->polls,
              fmt_duration(b, sizeof(b), t->age_ns), where, wake[0] ? "  " : "", wake,
              dump_spawn_text(sp, sizeof(sp), schedrt_dump_spawn_site(d, t), SITE_WIDTH, 0));
    }
    if (shown < grp->count)
      fprintf(f, "    ... %zu more (show --all lists every task)\n", grp->count - shown);
  }
  dump_groups_free(g, ng);
}

void dump_report_print(const schedrt_dump_doc *d, FILE *f, size_t per_group) {
  dump_analysis a;
  dump_analyze(d, &a);
  print_title(d, f);
  print_attention(&a, f);
  print_worker_glance(&a, f);
  print_site_glance(&a, f);
  print_details(d, f);
  print_workers(&a, f);
  print_histograms(&a, f);
  print_groups(&a, f, per_group);
  dump_events_print(d, f, per_group ? EVENTS_PER_RING : 0);
  dump_analysis_free(&a);
}
