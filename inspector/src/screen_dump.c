/*
 * The dump viewer: a list of tasks (flat and sorted, or grouped by await
 * point and state with collapsible groups), and a detail panel. Sorting and
 * grouping come from dump_group.c, what needs attention from dump_analysis.c;
 * this file lays rows out and draws them.
 *
 * Tasks that need attention carry a mark in the first column, so it shows
 * without colour too: L a lost wake-up, D deadlocked, S polled by a stuck
 * worker; their rows are drawn as CRT_ATTENTION. `a` brings them first, then
 * shows them alone.
 */
#include "screen_dump.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"
#include "dump_analysis.h"
#include "dump_group.h"
#include "dump_text.h"
#include "format.h"
#include "screen_help.h"
#include "task_row.h"
#include "util.h"
#include "widgets.h"

#define DETAIL_ROWS 9
#define MIN_SITE_COLS 16 /* a site squeezed below this is not worth drawing */

typedef enum attention_view {
  SHOW_IN_PLACE = 0,
  SHOW_ATTN_FIRST,
  SHOW_ATTN_ONLY,
  SHOW__COUNT
} attention_view;

static const char *const attention_names[SHOW__COUNT] = {"", "; attention first", "; attention only"};

typedef struct view_row {
  int is_group;
  size_t index; /* group index, or task index */
} view_row;

typedef struct dump_view {
  screen base;
  schedrt_dump_doc *m;
  dump_analysis an;
  unsigned char *attn; /* per task: ATTN_* mask */
  size_t nattn;        /* tasks with a mark */
  size_t nlost, ndeadlocked, nstuck;
  char path[PATH_MAX];
  task_sort_key sort;
  int reverse;
  int grouped;
  attention_view attention;
  task_group *groups;
  size_t ngroups;
  size_t *group_attn;       /* per group: members with a mark */
  unsigned char *collapsed; /* per group */
  size_t *order;            /* task order for the current sort */
  view_row *rows;
  size_t nrows;
  size_t selected, scroll;
  size_t page; /* rows per page, from the last draw */
  int detail;  /* the detail panel of the selected task is open */
} dump_view;

/* Rows come in one pass, or two when marked ones go first: whether a row (marked or not) is in this one. */
static int in_pass(const dump_view *v, int marked, int pass) {
  switch (v->attention) {
  case SHOW_ATTN_FIRST:
    return marked == (pass == 0);
  case SHOW_ATTN_ONLY:
    return marked && pass == 0;
  default:
    return pass == 0;
  }
}

static int npasses(const dump_view *v) { return v->attention == SHOW_ATTN_FIRST ? 2 : 1; }

static int cmp_rank(const void *pa, const void *pb, void *arg) {
  const size_t *rank = arg;
  size_t a = rank[((const view_row *)pa)->index], b = rank[((const view_row *)pb)->index];
  return a < b ? -1 : a > b;
}

/* Appends the members of g in rank order, those with a mark first (FIRST) or alone (ONLY). */
static void add_members(dump_view *v, const task_group *g, const size_t *rank) {
  for (int pass = 0; pass < npasses(v); pass++) {
    size_t first = v->nrows;
    for (size_t k = 0; k < g->count; k++) {
      size_t t = g->members[k];
      if (in_pass(v, v->attn[t] != 0, pass))
        v->rows[v->nrows++] = (view_row){0, t};
    }
    /* In the current sort's order (a group may hold a million tasks: no insertion sort). */
    if (v->nrows - first > 1)
      qsort_r(v->rows + first, v->nrows - first, sizeof(*v->rows), cmp_rank, (void *)rank);
  }
}

/* Rebuilds rows after a change of sort, grouping, collapse or attention mode. */
static void rebuild(dump_view *v) {
  const schedrt_dump_doc *m = v->m;
  dump_sort_tasks(m, v->sort, v->reverse, v->order);
  v->nrows = 0;
  if (!v->grouped) {
    for (int pass = 0; pass < npasses(v); pass++)
      for (size_t i = 0; i < m->ntasks; i++)
        if (in_pass(v, v->attn[v->order[i]] != 0, pass))
          v->rows[v->nrows++] = (view_row){0, v->order[i]};
  } else {
    size_t *rank = xmalloc((m->ntasks ? m->ntasks : 1) * sizeof(*rank));
    for (size_t i = 0; i < m->ntasks; i++)
      rank[v->order[i]] = i;
    for (int pass = 0; pass < npasses(v); pass++) {
      for (size_t g = 0; g < v->ngroups; g++) {
        if (!in_pass(v, v->group_attn[g] != 0, pass))
          continue;
        v->rows[v->nrows++] = (view_row){1, g};
        if (!v->collapsed[g])
          add_members(v, &v->groups[g], rank);
      }
    }
    free(rank);
  }
  if (v->selected >= v->nrows)
    v->selected = v->nrows ? v->nrows - 1 : 0;
}

static const screen_class dump_class;

/* A viewer of m (which it owns from now on); path is what the title names. */
static dump_view *view_new(schedrt_dump_doc *m, const char *path) {
  dump_view *v = xcalloc(1, sizeof(*v));
  v->base.cls = &dump_class;
  v->m = m;
  xsnprintf(v->path, sizeof(v->path), "%s", path);
  v->grouped = 1;
  dump_analyze(m, &v->an);
  attention_counts n;
  v->attn = dump_attention_all(&v->an, &n);
  v->nattn = n.any;
  v->nlost = n.lost;
  v->ndeadlocked = n.deadlocked;
  v->nstuck = n.stuck;
  dump_group_tasks(m, &v->groups, &v->ngroups);
  v->group_attn = xcalloc(v->ngroups ? v->ngroups : 1, sizeof(*v->group_attn));
  for (size_t g = 0; g < v->ngroups; g++)
    for (size_t k = 0; k < v->groups[g].count; k++)
      v->group_attn[g] += v->attn[v->groups[g].members[k]] != 0;
  v->collapsed = xcalloc(v->ngroups ? v->ngroups : 1, 1);
  v->order = xcalloc(m->ntasks ? m->ntasks : 1, sizeof(*v->order));
  v->rows = xcalloc(m->ntasks + v->ngroups + 1, sizeof(*v->rows));
  rebuild(v);
  return v;
}

screen *screen_dump_new(const char *path, char *err, size_t errsize) {
  schedrt_dump_doc *m;
  if (schedrt_dump_load_ex(path, INSPECT_DUMP_FLAGS, &m, err, errsize))
    return NULL;
  return &view_new(m, path)->base;
}

screen *screen_dump_new_mem(const void *buf, size_t len, const char *title, uint64_t task_id, char *err,
                            size_t errsize) {
  schedrt_dump_doc *m;
  if (schedrt_dump_parse_ex(buf, len, INSPECT_DUMP_FLAGS & ~(unsigned)SCHEDRT_DUMP_FOLLOW, &m, err, errsize))
    return NULL;
  dump_view *v = view_new(m, title);
  /* The task's row, its details open: what Enter on it in a list asked for. */
  for (size_t r = 0; r < v->nrows; r++)
    if (!v->rows[r].is_group && m->tasks[v->rows[r].index].id == task_id) {
      v->selected = r;
      v->detail = 1;
      break;
    }
  return &v->base;
}

static void dump_free(screen *self) {
  dump_view *v = (dump_view *)self;
  dump_groups_free(v->groups, v->ngroups);
  dump_analysis_free(&v->an);
  schedrt_dump_doc_free(v->m);
  free(v->attn);
  free(v->group_attn);
  free(v->collapsed);
  free(v->order);
  free(v->rows);
  free(v);
}

/* Why a marked task needs attention, in words; "" for the others. */
static char *attention_text(char *buf, size_t size, const dump_view *v, size_t i) {
  const schedrt_dump_doc *m = v->m;
  char b[32];
  unsigned at = v->attn[i];
  buf[0] = '\0';
  if (at & ATTN_LOST)
    return xsnprintf(buf, size, "LOST WAKE-UP: idle, and no waker and no timer can wake it");
  if (at & ATTN_DEADLOCK) {
    const wait_cycle *c = &v->an.waits.cycles[v->an.waits.cycle_of[i] - 1];
    return xsnprintf(buf, size,
                     "DEADLOCK: one of %zu tasks waiting for each other, from #%llu (show lists them)", c->n,
                     (unsigned long long)m->tasks[c->members[0]].id);
  }
  if (at & ATTN_STUCK) {
    const schedrt_dump_task *t = &m->tasks[i];
    const schedrt_dump_worker *w = t->worker >= 0 ? &m->workers[t->worker] : NULL;
    return xsnprintf(buf, size, "STUCK: its worker %lld is missing (%s) after %s", (long long)t->worker,
                     w && schedrt_dump_reason_text(w->reason) ? schedrt_dump_reason_text(w->reason) : "?",
                     w ? dump_opt_duration(b, sizeof(b), w->running_ns) : "?");
  }
  return buf;
}

static void draw_detail(dump_view *v, int y0) {
  const view_row *r = v->nrows ? &v->rows[v->selected] : NULL;
  const schedrt_dump_doc *m = v->m;
  char a[32], b[32], c[32], buf[768];
  int y = y0, width = COLS - 1;
  if (!r || r->is_group)
    return;
  const schedrt_dump_task *t = &m->tasks[r->index];
  w_clear_row(y, 0, CRT_COLHEAD);
  w_printf(y++, 0, COLS, CRT_COLHEAD, " task #%llu \"%s\"", (unsigned long long)t->id,
           t->name && t->name[0] ? t->name : "unnamed");
  w_printf(y++, 1, width, CRT_NORMAL, "state %s for %s   polls %llu   age %s",
           schedrt_dump_state_text(t->state), dump_opt_duration(a, sizeof(a), dump_task_for_ns_opt(m, t)),
           (unsigned long long)t->polls, fmt_duration(b, sizeof(b), t->age_ns));
  if (t->worker >= 0) {
    const schedrt_dump_worker *w = &m->workers[t->worker];
    w_printf(y++, 1, width, CRT_NORMAL, "worker %lld (%s, tid %s, held %s)   position %s",
             (long long)t->worker, schedrt_dump_role_text(w->role), dump_opt_count(a, sizeof(a), w->tid),
             dump_opt_duration(b, sizeof(b), w->held_ns), dump_opt_count(c, sizeof(c), t->position));
  } else if (t->position >= 0) {
    w_printf(y++, 1, width, CRT_NORMAL, "position %lld", (long long)t->position);
  }
  if (dump_has_wake_info(m)) {
    w_printf(y++, 1, width, CRT_NORMAL, "wakers %llu   timers %llu%s%s", (unsigned long long)t->wakers,
             (unsigned long long)t->timers, t->timer_in_ns >= 0 ? ", the last due in " : "",
             t->timer_in_ns >= 0 ? fmt_duration(a, sizeof(a), (uint64_t)t->timer_in_ns) : "");
    dump_wake_text(buf, sizeof(buf), m, &v->an.waits, r->index);
    w_printf(y++, 1, width, CRT_NORMAL, "can be woken by: %s", buf[0] ? buf : "-");
  } else {
    w_text(y++, 1, width, CRT_DIM, "a format 1.0 dump does not say what can wake a task");
  }
  if (v->attn[r->index])
    w_text(y++, 1, width, CRT_ATTENTION, attention_text(buf, sizeof(buf), v, r->index));
  /* Whole sites when they fit, else shortened with the line number kept. */
  w_text(y++, 1, width, CRT_NORMAL,
         dump_await_site_text(buf, sizeof(buf), schedrt_dump_await_site(m, t), width - 40, crt_utf8));
  w_text(y++, 1, width, CRT_NORMAL,
         dump_spawn_text(buf, sizeof(buf), schedrt_dump_spawn_site(m, t), width - 30, crt_utf8));
}

/* Fixed columns of a task row: mark, id, name, state, for, worker, polls, age (78), 2 more when grouped.
 * Below NARROW_COLS the worker, polls and age go and the name narrows (29), so that the await point keeps
 * room, and a footer names the selected row's whole await point. */
#define FIXED_COLS 78
#define NARROW_DROP 29
#define NARROW_COLS 110

static int narrow(void) { return COLS < NARROW_COLS; }

/* A task's await point ("label file:line") or spawn site in at most width columns. Narrow: the label
 * alone, as much as fits; the footer names the selected row's whole await point. */
static char *where_text(char *buf, size_t size, const schedrt_dump_doc *m, const schedrt_dump_task *t,
                        int width) {
  const schedrt_dump_site *aw = schedrt_dump_await_site(m, t), *sp = schedrt_dump_spawn_site(m, t);
  char site[512];
  if (aw && (aw->label || aw->file)) {
    if (narrow() && aw->label)
      return task_cut_label(buf, size, aw->label, width, crt_utf8);
    return task_fit_await(buf, size, 0, aw->label, aw->file, aw->line, width, crt_utf8);
  }
  int room = width - 11;
  return xsnprintf(buf, size, "spawned at %s",
                   fmt_site(site, sizeof(site), sp ? sp->file : NULL, sp ? sp->line : 0,
                            room < MIN_SITE_COLS ? MIN_SITE_COLS : room, crt_utf8));
}

/* A group holding marked tasks gets '!' in the mark column (the status line counts them). Its await point
 * gets what the rest of the row leaves: whole, or the site with its line number and the label cut, or,
 * narrow and a long label, the label alone (the footer has the rest). */
static void draw_group_row(dump_view *v, int row, size_t gi, int sel) {
  const task_group *g = &v->groups[gi];
  char a[32], head[64], tail[48], buf[768];
  crt_elem e = sel ? CRT_SELECTED : v->group_attn[gi] ? CRT_ATTENTION : CRT_LABEL;
  xsnprintf(head, sizeof(head), "%c %s %-10s %5zu  ", v->group_attn[gi] ? '!' : ' ',
            v->collapsed[gi] ? "+" : "-", schedrt_dump_state_text(g->state), g->count);
  xsnprintf(tail, sizeof(tail), "  longest %s", fmt_duration(a, sizeof(a), g->max_idle_ns));
  int room = COLS - (int)strlen(head) - (int)strlen(tail);
  int whole = g->await_label && 14 + (int)fmt_cols(g->await_label) + MIN_SITE_COLS <= room;
  if (narrow() && g->await_label && !whole)
    task_cut_label(buf, sizeof(buf), g->await_label, room, crt_utf8);
  else if (g->await_label || g->await_file)
    task_fit_await(buf, sizeof(buf), 1, g->await_label, g->await_file, (uint64_t)g->await_line, room,
                   crt_utf8);
  else
    dump_await_text(buf, sizeof(buf), NULL, NULL, 0, MIN_SITE_COLS, crt_utf8);
  w_clear_row(row, 0, sel ? CRT_SELECTED : CRT_NORMAL);
  w_printf(row, 0, COLS, e, "%s%s%s", head, buf, room > 0 && (int)fmt_cols(buf) <= room ? tail : "");
}

static void draw_task_row(dump_view *v, int row, size_t ti, int sel) {
  const schedrt_dump_doc *m = v->m;
  const schedrt_dump_task *t = &m->tasks[ti];
  char a[32], b[32], worker[16] = "-", where[768];
  crt_elem e = sel           ? CRT_SELECTED
               : v->attn[ti] ? CRT_ATTENTION
               : t->state == SCHEDRT_DUMP_STATE_RUNNING || t->state == SCHEDRT_DUMP_STATE_BLOCKING
                   ? CRT_RUNNING
                   : CRT_NORMAL;
  if (t->worker >= 0)
    xsnprintf(worker, sizeof(worker), "%lld", (long long)t->worker);
  int fixed = FIXED_COLS + (v->grouped ? 2 : 0) - (narrow() ? NARROW_DROP : 0);
  where_text(where, sizeof(where), m, t, COLS - fixed);
  w_clear_row(row, 0, sel ? CRT_SELECTED : CRT_NORMAL);
  if (narrow())
    w_printf(row, 0, COLS, e, "%c %s#%-8llu %-14.14s %-10s %9s  %s", dump_attention_mark(v->attn[ti]),
             v->grouped ? "  " : "", (unsigned long long)t->id, t->name && t->name[0] ? t->name : "-",
             schedrt_dump_state_text(t->state), dump_opt_duration(a, sizeof(a), dump_task_for_ns_opt(m, t)),
             where);
  else
    w_printf(row, 0, COLS, e, "%c %s#%-8llu %-18.18s %-10s %9s %6s %7llu %8s  %s",
             dump_attention_mark(v->attn[ti]), v->grouped ? "  " : "", (unsigned long long)t->id,
             t->name && t->name[0] ? t->name : "-", schedrt_dump_state_text(t->state),
             dump_opt_duration(a, sizeof(a), dump_task_for_ns_opt(m, t)), worker,
             (unsigned long long)t->polls, fmt_duration(b, sizeof(b), t->age_ns), where);
}

/* Narrow terminals: the selected row's whole await point (or spawn site) on a row of its own, the site's
 * line number kept. */
static void draw_footer(dump_view *v, int y) {
  const view_row *r = &v->rows[v->selected];
  const schedrt_dump_doc *m = v->m;
  char buf[768];
  int width = COLS - 2;
  if (r->is_group) {
    const task_group *g = &v->groups[r->index];
    task_fit_await(buf, sizeof(buf), 1, g->await_label, g->await_file, (uint64_t)g->await_line, width,
                   crt_utf8);
  } else {
    const schedrt_dump_task *t = &m->tasks[r->index];
    const schedrt_dump_site *aw = schedrt_dump_await_site(m, t);
    if (aw && (aw->label || aw->file))
      task_fit_await(buf, sizeof(buf), 1, aw->label, aw->file, aw->line, width, crt_utf8);
    else
      dump_spawn_text(buf, sizeof(buf), schedrt_dump_spawn_site(m, t), width - 11, crt_utf8);
  }
  w_clear_row(y, 0, CRT_NORMAL);
  w_text(y, 1, width, CRT_LABEL, buf);
}

static void draw(screen *self) {
  dump_view *v = (dump_view *)self;
  const schedrt_dump_doc *m = v->m;
  erase();
  w_clear_row(0, 0, CRT_TITLE);
  /* The figures whole, then the file's path if it fits, else its base name, else nothing: never a cut
   * number (the path holds the pid and the time). */
  char title[256], base[PATH_MAX];
  xsnprintf(title, sizeof(title), " dump of pid %llu \"%s\"  %s  %zu tasks  %zu/%llu workers",
            (unsigned long long)m->pid, m->runtime ? m->runtime : "?", m->status ? m->status : "?", m->ntasks,
            m->ncovered, (unsigned long long)m->nworkers);
  const char *slash = strrchr(v->path, '/');
  xsnprintf(base, sizeof(base), "%s", slash ? slash + 1 : v->path);
  int tx = w_text(0, 0, COLS, CRT_TITLE, title);
  if (tx + 2 + (int)fmt_cols(v->path) <= COLS)
    w_text(0, tx + 2, COLS - tx - 2, CRT_TITLE, v->path);
  else if (tx + 2 + (int)fmt_cols(base) <= COLS)
    w_text(0, tx + 2, COLS - tx - 2, CRT_TITLE, base);
  int y = 1;
  w_printf(y++, 1, COLS - 1, CRT_LABEL, "%s, sorted by %s%s%s",
           v->grouped ? "grouped by await point and state" : "all tasks", task_sort_name(v->sort),
           v->reverse ? " (reversed)" : "", attention_names[v->attention]);
  w_clear_row(y, 0, CRT_COLHEAD);
  if (narrow())
    w_printf(y++, 0, COLS, CRT_COLHEAD, "! %-9s %-14s %-10s %9s  %s", "ID", "NAME", "STATE", "FOR",
             "AWAIT / SPAWN");
  else
    w_printf(y++, 0, COLS, CRT_COLHEAD, "! %-9s %-18s %-10s %9s %6s %7s %8s  %s", "ID", "NAME", "STATE",
             "FOR", "WORKER", "POLLS", "AGE", "AWAIT / SPAWN");
  int detail_rows = v->detail ? DETAIL_ROWS : 0;
  int footer = narrow() && !v->detail && v->nrows;
  int avail = LINES - y - 2 - detail_rows - footer;
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
    if (r->is_group)
      draw_group_row(v, y + i, r->index, ri == v->selected);
    else
      draw_task_row(v, y + i, r->index, ri == v->selected);
  }
  if (v->detail)
    draw_detail(v, LINES - 2 - detail_rows);
  if (footer)
    draw_footer(v, LINES - 3);
  w_clear_row(LINES - 2, 0, CRT_NORMAL);
  int x = 1 + w_printf(LINES - 2, 1, COLS - 1, CRT_DIM, "row %zu of %zu", v->nrows ? v->selected + 1 : 0,
                       v->nrows);
  if (v->nattn) {
    char need[160];
    xsnprintf(need, sizeof(need), "   %zu need attention: %zu lost wake-up%s, %zu deadlocked, %zu stuck",
              v->nattn, v->nlost, v->nlost == 1 ? "" : "s", v->ndeadlocked, v->nstuck);
    /* The key's hint only where it fits whole; narrower, the marks' letters. */
    if (x + (int)strlen(need) + 17 <= COLS)
      xsnprintf(need + strlen(need), sizeof(need) - strlen(need), " (a: first/only)");
    else if (x + (int)strlen(need) > COLS)
      xsnprintf(need, sizeof(need), "   %zu need attention: L %zu D %zu S %zu", v->nattn, v->nlost,
                v->ndeadlocked, v->nstuck);
    w_text(LINES - 2, x, COLS - x, CRT_ATTENTION, need);
  }
  w_function_bar(LINES - 1, self->cls->keys);
}

/* q and Esc leave the viewer: back to the live view, or out of `show -t`, where it is alone. */
static screen_result key(screen *self, inspect_action a, int ch) {
  dump_view *v = (dump_view *)self;
  (void)ch;
  if (keys_nav_move(a, v->selected, v->nrows, v->page ? v->page : 10, &v->selected))
    return screen_react(SCREEN_HANDLED);
  switch (a) {
  case ACT_QUIT:
    return screen_react(SCREEN_CLOSE);
  case ACT_BACK:
    if (v->detail) {
      v->detail = 0;
      break;
    }
    return screen_react(SCREEN_CLOSE);
  case ACT_HELP: {
    const char *notes[] = {
        "Marks in the first column: L a lost wake-up (idle, nothing can wake it), D deadlocked (waits for "
        "a task that waits back), S polled by a stuck worker.",
    };
    return screen_open(screen_help_new(self->cls, notes, 1));
  }
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
  case ACT_ATTENTION:
    v->attention = (attention_view)((v->attention + 1) % SHOW__COUNT);
    v->selected = v->scroll = 0;
    rebuild(v);
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
