/* The text report of a dump (see dump_report.h). */
#include "dump_report.h"

#include <string.h>

#include "format.h"
#include "util.h"

char *dump_await_text(char *buf, size_t size, const char *label, const char *file, long long line) {
  if (!label && !file)
    return xsnprintf(buf, size, "no await point recorded");
  return xsnprintf(buf, size, "await \"%s\" at %s:%lld", label ? label : "", file ? file : "?", line);
}

char *dump_spawn_text(char *buf, size_t size, const dump_task *t) {
  if (!t->spawn_file)
    return xsnprintf(buf, size, "spawn site unknown");
  return xsnprintf(buf, size, "spawned at %s:%lld (%s)", t->spawn_file, (long long)t->spawn_line,
                   t->spawn_func ? t->spawn_func : "?");
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static void print_summary(const dump_model *m, FILE *f) {
  const dump_meta *d = &m->meta;
  char when[64] = "?", a[32], b[32], c[32];
  if (d->taken_realtime_ns)
    fmt_datetime(when, sizeof(when), d->taken_realtime_ns);
  fprintf(f, "Task dump of pid %llu (runtime \"%s\", schedrt %s), taken %s\n", (unsigned long long)d->pid,
          or_dash(d->runtime_name), or_dash(d->runtime_version), when);
  fprintf(f, "status %s  label \"%s\"  source %s  deadline %llu ms  gather %s  pause %s\n", or_dash(d->status),
          d->label ? d->label : "", or_dash(d->source), (unsigned long long)d->deadline_ms,
          fmt_duration(a, sizeof(a), d->gather_ns), fmt_duration(b, sizeof(b), d->pause_ns));
  fprintf(f, "workers %llu (covered %zu, missing %zu)  tasks %zu  injection queue %s  format %s %llu.%llu\n",
          (unsigned long long)d->nworkers, d->workers_covered, d->workers_missing, m->ntasks,
          fmt_si(c, sizeof(c), (double)d->inject_depth), or_dash(d->format), (unsigned long long)d->major,
          (unsigned long long)d->minor);
}

static void print_workers(const dump_model *m, FILE *f) {
  char a[32], cur[32];
  fprintf(f, "\nWORKERS\n  %3s %-10s %6s %4s %8s %10s %10s  %s\n", "W", "ROLE", "LOCAL", "LIFO", "DEFERRED", "CURRENT",
          "RUNNING", "NOTE");
  for (size_t i = 0; i < m->nworkers; i++) {
    const dump_worker *w = &m->workers[i];
    char note[160] = "";
    if (w->current_task)
      xsnprintf(cur, sizeof(cur), "#%llu", (unsigned long long)w->current_task);
    else
      xsnprintf(cur, sizeof(cur), "-");
    if (w->reason || w->running_source)
      xsnprintf(note, sizeof(note), "%s%s%s", w->reason ? w->reason : "", w->reason && w->running_source ? ", " : "",
                w->running_source ? w->running_source : "");
    fprintf(f, "  %3u %-10s %6llu %4s %8llu %10s %10s  %s\n", w->index, or_dash(w->role),
            (unsigned long long)w->local_queue, w->lifo ? "yes" : "-", (unsigned long long)w->deferred, cur,
            w->running_ns ? fmt_duration(a, sizeof(a), w->running_ns) : "-", note);
  }
}

static void print_groups(const dump_model *m, FILE *f, size_t per_group) {
  task_group *g;
  size_t ng;
  char a[32], b[32], aw[512], sp[512];
  dump_group_tasks(m, &g, &ng);
  fprintf(f, "\nTASKS BY AWAIT POINT AND STATE (longest idle first)\n");
  if (ng == 0)
    fprintf(f, "  (no tasks)\n");
  for (size_t i = 0; i < ng; i++) {
    const task_group *grp = &g[i];
    fprintf(f, "\n  %-10s %5zu task%s  %s  longest %s\n", grp->state, grp->count, grp->count == 1 ? " " : "s",
            dump_await_text(aw, sizeof(aw), grp->await_label, grp->await_file, (long long)grp->await_line),
            fmt_duration(a, sizeof(a), grp->max_idle_ns));
    size_t shown = per_group && grp->count > per_group ? per_group : grp->count;
    for (size_t k = 0; k < shown; k++) {
      const dump_task *t = &m->tasks[grp->members[k]];
      char where[48] = "";
      if (t->worker >= 0)
        xsnprintf(where, sizeof(where), " worker %lld", (long long)t->worker);
      if (t->position >= 0)
        xsnprintf(where + strlen(where), sizeof(where) - strlen(where), " pos %lld", (long long)t->position);
      fprintf(f, "    #%-8llu %-20s %s %-8s polls %-6llu age %-8s%s  %s\n", (unsigned long long)t->id,
              t->name[0] ? t->name : "(unnamed)", t->state, fmt_duration(a, sizeof(a), t->state_ns),
              (unsigned long long)t->polls, fmt_duration(b, sizeof(b), t->age_ns), where,
              dump_spawn_text(sp, sizeof(sp), t));
    }
    if (shown < grp->count)
      fprintf(f, "    ... %zu more (show --json or show -t lists all)\n", grp->count - shown);
  }
  dump_groups_free(g, ng);
}

void dump_report_print(const dump_model *m, FILE *f, size_t per_group) {
  print_summary(m, f);
  print_workers(m, f);
  print_groups(m, f, per_group);
  if (m->warnings[0])
    fprintf(f, "\nwarning: %s\n", m->warnings);
}
