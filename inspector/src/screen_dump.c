/*
 * The dump viewer: a list of tasks (flat and sorted, or grouped by await
 * point and state with collapsible groups), and a detail panel. Sorting and
 * grouping come from dump_group.c; this file lays rows out and draws them.
 */
#include "screen_dump.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"
#include "dump_group.h"
#include "dump_report.h"
#include "format.h"
#include "screen_help.h"
#include "util.h"
#include "widgets.h"

typedef struct view_row {
  int is_group;
  size_t index; /* group index, or task index */
} view_row;

typedef struct dump_view {
  screen base;
  schedrt_dump_doc *m;
  char path[PATH_MAX];
  task_sort_key sort;
  int reverse;
  int grouped;
  task_group *groups;
  size_t ngroups;
  unsigned char *collapsed; /* per group */
  size_t *order;            /* task order for the current sort */
  view_row *rows;
  size_t nrows;
  size_t selected, scroll;
  size_t page; /* rows per page, from the last draw */
  int detail;  /* the detail panel of the selected task is open */
} dump_view;

/* Rebuilds rows after a change of sort, grouping or collapse. */
static void rebuild(dump_view *v) {
  const schedrt_dump_doc *m = v->m;
  dump_sort_tasks(m, v->sort, v->reverse, v->order);
  v->nrows = 0;
  if (!v->grouped) {
    for (size_t i = 0; i < m->ntasks; i++)
      v->rows[v->nrows++] = (view_row){0, v->order[i]};
  } else {
    size_t *rank = xmalloc((m->ntasks ? m->ntasks : 1) * sizeof(*rank));
    for (size_t i = 0; i < m->ntasks; i++)
      rank[v->order[i]] = i;
    for (size_t g = 0; g < v->ngroups; g++) {
      task_group *grp = &v->groups[g];
      v->rows[v->nrows++] = (view_row){1, g};
      if (v->collapsed[g])
        continue;
      /* Members in the current sort order: sort the group's slice by rank. */
      size_t first = v->nrows;
      for (size_t k = 0; k < grp->count; k++)
        v->rows[v->nrows++] = (view_row){0, grp->members[k]};
      for (size_t a = first + 1; a < v->nrows; a++) {
        view_row x = v->rows[a];
        size_t b = a;
        while (b > first && rank[v->rows[b - 1].index] > rank[x.index]) {
          v->rows[b] = v->rows[b - 1];
          b--;
        }
        v->rows[b] = x;
      }
    }
    free(rank);
  }
  if (v->selected >= v->nrows)
    v->selected = v->nrows ? v->nrows - 1 : 0;
}

static const screen_class dump_class;

screen *screen_dump_new(const char *path, char *err, size_t errsize) {
  schedrt_dump_doc *m;
  if (schedrt_dump_load_ex(path, INSPECT_DUMP_FLAGS, &m, err, errsize))
    return NULL;
  dump_view *v = xcalloc(1, sizeof(*v));
  v->base.cls = &dump_class;
  v->m = m;
  xsnprintf(v->path, sizeof(v->path), "%s", path);
  v->grouped = 1;
  dump_group_tasks(m, &v->groups, &v->ngroups);
  v->collapsed = xcalloc(v->ngroups ? v->ngroups : 1, 1);
  v->order = xcalloc(m->ntasks ? m->ntasks : 1, sizeof(*v->order));
  v->rows = xcalloc(m->ntasks + v->ngroups + 1, sizeof(*v->rows));
  rebuild(v);
  return &v->base;
}

static void dump_free(screen *self) {
  dump_view *v = (dump_view *)self;
  dump_groups_free(v->groups, v->ngroups);
  schedrt_dump_doc_free(v->m);
  free(v->collapsed);
  free(v->order);
  free(v->rows);
  free(v);
}

static void draw_detail(dump_view *v, int y0) {
  const view_row *r = v->nrows ? &v->rows[v->selected] : NULL;
  char a[32], b[32], buf[512];
  int y = y0;
  if (!r || r->is_group)
    return;
  const schedrt_dump_task *t = &v->m->tasks[r->index];
  const schedrt_dump_site *aw = schedrt_dump_await_site(v->m, t);
  w_clear_row(y, 0, CRT_COLHEAD);
  w_printf(y++, 0, COLS, CRT_COLHEAD, " task #%llu \"%s\"", (unsigned long long)t->id,
           t->name && t->name[0] ? t->name : "unnamed");
  w_printf(y++, 1, COLS - 1, CRT_NORMAL, "state %s for %s   polls %llu   age %s",
           schedrt_dump_state_text(t->state), dump_opt_duration(a, sizeof(a), t->state_ns),
           (unsigned long long)t->polls, fmt_duration(b, sizeof(b), t->age_ns));
  if (t->worker >= 0 || t->position >= 0)
    w_printf(y++, 1, COLS - 1, CRT_NORMAL, "worker %lld   position %lld", (long long)t->worker,
             (long long)t->position);
  w_text(y++, 1, COLS - 1, CRT_NORMAL, dump_await_site_text(buf, sizeof(buf), aw, 0, crt_utf8));
  w_text(y++, 1, COLS - 1, CRT_NORMAL,
         dump_spawn_text(buf, sizeof(buf), schedrt_dump_spawn_site(v->m, t), 0, crt_utf8));
}

static void draw(screen *self) {
  dump_view *v = (dump_view *)self;
  const schedrt_dump_doc *m = v->m;
  char a[32], b[32], buf[512];
  erase();
  w_clear_row(0, 0, CRT_TITLE);
  w_printf(0, 0, COLS, CRT_TITLE, " dump of pid %llu \"%s\"  %s  %zu tasks  %zu/%llu workers  %s",
           (unsigned long long)m->pid, m->runtime ? m->runtime : "?", m->status ? m->status : "?", m->ntasks,
           m->ncovered, (unsigned long long)m->nworkers, v->path);
  int y = 1;
  w_printf(y++, 1, COLS - 1, CRT_LABEL, "%s, sorted by %s%s",
           v->grouped ? "grouped by await point and state" : "all tasks", task_sort_name(v->sort),
           v->reverse ? " (reversed)" : "");
  w_clear_row(y, 0, CRT_COLHEAD);
  w_printf(y++, 0, COLS, CRT_COLHEAD, " %-9s %-18s %-10s %9s %6s %7s %8s  %s", "ID", "NAME", "STATE", "FOR",
           "WORKER", "POLLS", "AGE", "AWAIT / SPAWN");
  int detail_rows = v->detail ? 6 : 0;
  int avail = LINES - y - 2 - detail_rows;
  if (avail < 1)
    avail = 1;
  v->page = (size_t)avail;
  if (v->selected < v->scroll)
    v->scroll = v->selected;
  if (v->selected >= v->scroll + (size_t)avail)
    v->scroll = v->selected - (size_t)avail + 1;
  for (int i = 0; i < avail && v->scroll + (size_t)i < v->nrows; i++) {
    size_t ri = v->scroll + (size_t)i;
    const view_row *r = &v->rows[ri];
    int sel = ri == v->selected;
    int row = y + i;
    if (r->is_group) {
      const task_group *g = &v->groups[r->index];
      crt_elem e = sel ? CRT_SELECTED : CRT_LABEL;
      w_clear_row(row, 0, sel ? CRT_SELECTED : CRT_NORMAL);
      const char *gf =
          g->await_file && strrchr(g->await_file, '/') ? strrchr(g->await_file, '/') + 1 : g->await_file;
      w_printf(row, 0, COLS, e, "%s %-10s %5zu  %s  longest %s", v->collapsed[r->index] ? "+" : "-",
               schedrt_dump_state_text(g->state), g->count,
               dump_await_text(buf, sizeof(buf), g->await_label, gf, (uint64_t)g->await_line, 0, crt_utf8),
               fmt_duration(a, sizeof(a), g->max_idle_ns));
      continue;
    }
    const schedrt_dump_task *t = &m->tasks[r->index];
    const schedrt_dump_site *aw = schedrt_dump_await_site(m, t), *sp = schedrt_dump_spawn_site(m, t);
    crt_elem e = sel ? CRT_SELECTED : t->state == SCHEDRT_DUMP_STATE_RUNNING ? CRT_RUNNING : CRT_NORMAL;
    char worker[16] = "-", where[256];
    if (t->worker >= 0)
      xsnprintf(worker, sizeof(worker), "%lld", (long long)t->worker);
    /* Base names in the list; Enter shows the full paths. */
    const char *af = aw && aw->file ? aw->file : "?", *sf = sp && sp->file ? sp->file : "?";
    if (strrchr(af, '/'))
      af = strrchr(af, '/') + 1;
    if (strrchr(sf, '/'))
      sf = strrchr(sf, '/') + 1;
    if (aw && (aw->label || aw->file))
      xsnprintf(where, sizeof(where), "%s %s:%llu", aw->label ? aw->label : "", af,
                (unsigned long long)aw->line);
    else
      xsnprintf(where, sizeof(where), "spawned at %s:%llu", sf, sp ? (unsigned long long)sp->line : 0ull);
    w_clear_row(row, 0, sel ? CRT_SELECTED : CRT_NORMAL);
    w_printf(row, 0, COLS, e, " %s#%-8llu %-18.18s %-10s %9s %6s %7llu %8s  %s", v->grouped ? "  " : "",
             (unsigned long long)t->id, t->name && t->name[0] ? t->name : "-",
             schedrt_dump_state_text(t->state), dump_opt_duration(a, sizeof(a), t->state_ns), worker,
             (unsigned long long)t->polls, fmt_duration(b, sizeof(b), t->age_ns), where);
  }
  if (v->detail)
    draw_detail(v, LINES - 2 - detail_rows);
  w_clear_row(LINES - 2, 0, CRT_NORMAL);
  w_printf(LINES - 2, 1, COLS - 1, CRT_DIM, "row %zu of %zu", v->nrows ? v->selected + 1 : 0, v->nrows);
  w_function_bar(LINES - 1, self->cls->keys);
}

/* q and Esc leave the viewer: back to the live view, or out of `show -t`, where it is alone. */
static screen_result key(screen *self, inspect_action a, int ch) {
  dump_view *v = (dump_view *)self;
  size_t page = v->page ? v->page : 10;
  (void)ch;
  switch (a) {
  case ACT_QUIT:
    return screen_react(SCREEN_CLOSE);
  case ACT_BACK:
    if (v->detail) {
      v->detail = 0;
      break;
    }
    return screen_react(SCREEN_CLOSE);
  case ACT_HELP:
    return screen_open(screen_help_new(self->cls, NULL, 0));
  case ACT_SORT:
    v->sort = task_sort_next(v->sort);
    rebuild(v);
    break;
  case ACT_REVERSE:
    v->reverse = !v->reverse;
    rebuild(v);
    break;
  case ACT_GROUP:
    v->grouped = !v->grouped;
    v->selected = v->scroll = 0;
    rebuild(v);
    break;
  case ACT_UP:
    if (v->selected)
      v->selected--;
    break;
  case ACT_DOWN:
    if (v->selected + 1 < v->nrows)
      v->selected++;
    break;
  case ACT_PGUP:
    v->selected = v->selected > page ? v->selected - page : 0;
    break;
  case ACT_PGDN:
    v->selected = v->selected + page < v->nrows ? v->selected + page : (v->nrows ? v->nrows - 1 : 0);
    break;
  case ACT_HOME:
    v->selected = 0;
    break;
  case ACT_END:
    v->selected = v->nrows ? v->nrows - 1 : 0;
    break;
  case ACT_ENTER:
    if (v->nrows && v->rows[v->selected].is_group) {
      size_t g = v->rows[v->selected].index;
      v->collapsed[g] = !v->collapsed[g];
      rebuild(v);
    } else {
      v->detail = !v->detail;
    }
    break;
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    break;
  default:
    break;
  }
  /* Keys the viewer does not bind do nothing: they must not reach the live view below. */
  return screen_react(SCREEN_HANDLED);
}

static const screen_class dump_class = {
    .name = "dump viewer",
    .keys = keys_dump,
    .draw = draw,
    .key = key,
    .free = dump_free,
};
