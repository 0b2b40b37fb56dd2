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

char *dump_spawn_text(char *buf, size_t size, const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  const schedrt_dump_site *s = schedrt_dump_spawn_site(d, t);
  if (!s || !s->file)
    return xsnprintf(buf, size, "spawn site unknown");
  return xsnprintf(buf, size, "spawned at %s:%llu (%s)", s->file, (unsigned long long)s->line,
                   s->func ? s->func : "?");
}

char *dump_opt_count(char *buf, size_t size, int64_t v) {
  return v < 0 ? xsnprintf(buf, size, "-") : xsnprintf(buf, size, "%lld", (long long)v);
}

char *dump_opt_duration(char *buf, size_t size, int64_t ns) {
  return ns < 0 ? xsnprintf(buf, size, "-") : fmt_duration(buf, size, (uint64_t)ns);
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static void print_summary(const schedrt_dump_doc *d, FILE *f) {
  char when[64] = "?", a[32], b[32], c[32];
  if (d->taken_realtime_ns)
    fmt_datetime(when, sizeof(when), d->taken_realtime_ns);
  fprintf(f, "Task dump of pid %llu (runtime \"%s\", schedrt %s), taken %s\n", (unsigned long long)d->pid,
          or_dash(d->runtime), or_dash(d->runtime_version), when);
  fprintf(f, "status %s  label \"%s\"  source %s  deadline %llu ms  gather %s  pause %s\n",
          or_dash(d->status), d->label ? d->label : "", or_dash(d->source),
          (unsigned long long)d->deadline_ms, fmt_duration(a, sizeof(a), d->gather_ns),
          fmt_duration(b, sizeof(b), d->pause_ns));
  fprintf(f, "workers %llu (covered %zu, missing %zu)  tasks %zu  injection queue %s  format %s %llu.%llu\n",
          (unsigned long long)d->nworkers, d->ncovered, d->nmissing, d->ntasks,
          fmt_si(c, sizeof(c), (double)d->injection_depth), SCHEDRT_DUMP_FORMAT, (unsigned long long)d->major,
          (unsigned long long)d->minor);
}

static void print_workers(const schedrt_dump_doc *d, FILE *f) {
  char a[32], cur[32], lq[24], df[24];
  fprintf(f, "\nWORKERS\n  %3s %-10s %-9s %6s %4s %8s %10s %10s  %s\n", "W", "ROLE", "STATE", "LOCAL", "LIFO",
          "DEFERRED", "CURRENT", "RUNNING", "NOTE");
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    const schedrt_dump_worker *w = &d->workers[i];
    const char *reason = schedrt_dump_reason_text(w->reason), *src = schedrt_dump_source_text(w->running_src);
    char note[160] = "";
    if (w->current_task >= 0)
      xsnprintf(cur, sizeof(cur), "#%lld", (long long)w->current_task);
    else
      xsnprintf(cur, sizeof(cur), "-");
    if (reason || src)
      xsnprintf(note, sizeof(note), "%s%s%s", reason ? reason : "", reason && src ? ", " : "",
                src ? src : "");
    fprintf(f, "  %3llu %-10s %-9s %6s %4s %8s %10s %10s  %s\n", (unsigned long long)w->index,
            schedrt_dump_role_text(w->role), schedrt_dump_wstate_text(w->state),
            dump_opt_count(lq, sizeof(lq), w->local_queue), w->lifo > 0 ? "yes" : "-",
            dump_opt_count(df, sizeof(df), w->deferred), cur, dump_opt_duration(a, sizeof(a), w->running_ns),
            note);
  }
}

static void print_groups(const schedrt_dump_doc *d, FILE *f, size_t per_group) {
  task_group *g;
  size_t ng;
  char a[32], b[32], aw[512], sp[512];
  dump_group_tasks(d, &g, &ng);
  fprintf(f, "\nTASKS BY AWAIT POINT AND STATE (longest idle first)\n");
  if (ng == 0)
    fprintf(f, "  (no tasks)\n");
  for (size_t i = 0; i < ng; i++) {
    const task_group *grp = &g[i];
    fprintf(f, "\n  %-10s %5zu task%s  %s  longest %s\n", schedrt_dump_state_text(grp->state), grp->count,
            grp->count == 1 ? " " : "s",
            dump_await_text(aw, sizeof(aw), grp->await_label, grp->await_file, (long long)grp->await_line),
            fmt_duration(a, sizeof(a), grp->max_idle_ns));
    size_t shown = per_group && grp->count > per_group ? per_group : grp->count;
    for (size_t k = 0; k < shown; k++) {
      const schedrt_dump_task *t = &d->tasks[grp->members[k]];
      char where[48] = "";
      if (t->worker >= 0)
        xsnprintf(where, sizeof(where), " worker %lld", (long long)t->worker);
      if (t->position >= 0)
        xsnprintf(where + strlen(where), sizeof(where) - strlen(where), " pos %lld", (long long)t->position);
      fprintf(f, "    #%-8llu %-20s %s %-8s polls %-6llu age %-8s%s  %s\n", (unsigned long long)t->id,
              t->name && t->name[0] ? t->name : "(unnamed)", schedrt_dump_state_text(t->state),
              dump_opt_duration(a, sizeof(a), t->state_ns), (unsigned long long)t->polls,
              fmt_duration(b, sizeof(b), t->age_ns), where, dump_spawn_text(sp, sizeof(sp), d, t));
    }
    if (shown < grp->count)
      fprintf(f, "    ... %zu more (show --json or show -t lists all)\n", grp->count - shown);
  }
  dump_groups_free(g, ng);
}

void dump_report_print(const schedrt_dump_doc *d, FILE *f, size_t per_group) {
  print_summary(d, f);
  print_workers(d, f);
  print_groups(d, f, per_group);
}
