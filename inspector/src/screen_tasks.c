/*
 * The live task list (see screen_tasks.h). The feed brings a new dump every
 * period; this file sorts its tasks (dump_group.c), keeps the selected task
 * selected across refreshes (by id: rows move as tasks come and go), lays
 * rows out with task_row.c and says how fresh the list is. Enter hands the
 * refresh on screen to the dump viewer, frozen, the task's details open.
 */
#include "screen_tasks.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"
#include "dump_group.h"
#include "dump_text.h"
#include "format.h"
#include "screen_dump.h"
#include "screen_help.h"
#include "task_row.h"
#include "util.h"
#include "widgets.h"

#define AGE_TICK_NS 500000000ull /* the list's age on screen moves twice a second */
#define STATUS_NS 2000000000ull
#define FOOTER_ROWS 2       /* the selected task's await point and spawn site, whole */
#define INFO_MAX_ROWS 2     /* a failed refresh says why in up to two rows */
#define MIN_FOOTER_LINES 14 /* a shorter terminal keeps its rows for tasks */

typedef struct tasks_view {
  screen base;
  task_feed *feed;
  long pid;
  char runtime[64];
  uint64_t generation; /* of the list the rows were sorted for */
  task_sort_key sort;
  int reverse;
  size_t *order; /* task indexes in display order */
  size_t ntasks;
  size_t selected, scroll, page;
  uint64_t selected_id; /* the selected task, followed across refreshes once the user moved */
  int follow;
  char status[160];
  uint64_t status_until_ns;
} tasks_view;

static void set_status(tasks_view *v, const char *text) {
  xsnprintf(v->status, sizeof(v->status), "%s", text);
  v->status_until_ns = inspect_now_ns() + STATUS_NS;
}

static const schedrt_dump_task *selected_task(const tasks_view *v) {
  return v->ntasks ? &v->feed->doc->tasks[v->order[v->selected]] : NULL;
}

static void select_row(tasks_view *v, size_t r) {
  v->selected = r;
  const schedrt_dump_task *t = selected_task(v);
  v->selected_id = t ? t->id : 0;
}

/* Sorts the feed's list; the task selected before stays selected if it is still there. */
static void rebuild(tasks_view *v) {
  const schedrt_dump_doc *d = v->feed->doc;
  v->generation = v->feed->generation;
  free(v->order);
  v->order = NULL;
  v->ntasks = 0;
  if (!d)
    return;
  v->order = xcalloc(d->ntasks ? d->ntasks : 1, sizeof(*v->order));
  v->ntasks = d->ntasks;
  dump_sort_tasks(d, v->sort, v->reverse, v->order);
  size_t r = 0;
  while (v->follow && r < v->ntasks && d->tasks[v->order[r]].id != v->selected_id)
    r++;
  /* Gone (or none selected yet): the row it was on, and whichever task is there now. */
  if (r == v->ntasks)
    r = v->selected < v->ntasks ? v->selected : v->ntasks ? v->ntasks - 1 : 0;
  select_row(v, r);
}

static crt_elem row_elem(const tasks_view *v, size_t ti, int sel) {
  const schedrt_dump_task *t = &v->feed->doc->tasks[ti];
  if (sel)
    return CRT_SELECTED;
  if (v->feed->attn[ti])
    return CRT_ATTENTION;
  return t->state == SCHEDRT_DUMP_STATE_RUNNING || t->state == SCHEDRT_DUMP_STATE_BLOCKING ? CRT_RUNNING
                                                                                           : CRT_NORMAL;
}

/* " tasks of pid 42 "demo"  OK  212 tasks  2/2 workers", and at the right "every 2.0s LIVE". A PARTIAL
 * dump's word is drawn as a banner: some workers were not held, their queues are not exact. */
static void draw_title(tasks_view *v) {
  const task_feed *f = v->feed;
  const schedrt_dump_doc *d = f->doc;
  char head[128], figures[96], right[48];
  xsnprintf(head, sizeof(head), " tasks of pid %ld \"%s\"  ", v->pid, v->runtime);
  xsnprintf(right, sizeof(right), "  every %.1fs  %s ", (double)f->period_ns / 1e9,
            f->gone     ? "EXITED"
            : f->paused ? "PAUSED"
                        : "LIVE");
  w_clear_row(0, 0, CRT_TITLE);
  int x = w_text(0, 0, COLS, CRT_TITLE, head);
  if (d) {
    int partial = d->status && strcmp(d->status, "OK") != 0;
    x += w_text(0, x, COLS - x, partial ? CRT_BANNER_BAD : CRT_TITLE, d->status ? d->status : "?");
    xsnprintf(figures, sizeof(figures), "  %zu tasks  %zu/%llu workers", d->ntasks, d->ncovered,
              (unsigned long long)d->nworkers);
    x += w_text(0, x, COLS - x, CRT_TITLE, figures);
  }
  int rw = (int)strlen(right);
  if (x + rw <= COLS)
    w_text(0, COLS - rw, rw, f->gone || f->paused ? CRT_BANNER_BAD : CRT_TITLE, right);
}

/* How fresh the list is and what its refresh cost, or why the last refresh failed. Returns rows used. */
static int draw_info(tasks_view *v, int y, uint64_t now) {
  const task_feed *f = v->feed;
  const schedrt_dump_doc *d = f->doc;
  char a[32], b[32], c[32], text[768], line[256];
  crt_elem e = CRT_LABEL;
  if (f->failed_ns) {
    int n = 0;
    n += snprintf(text, sizeof(text), "refresh failed %s ago: %s",
                  fmt_duration(a, sizeof(a), now - f->failed_ns), f->failure);
    if (d && n > 0 && (size_t)n < sizeof(text))
      snprintf(text + n, sizeof(text) - (size_t)n, "; the list is %s old",
               fmt_duration(b, sizeof(b), now - f->received_ns));
    e = CRT_STATUS_ERR;
  } else if (d) {
    xsnprintf(text, sizeof(text), "list %s old (refresh %llu): pause %s, answered in %s%s%s",
              fmt_duration(a, sizeof(a), now - f->received_ns), (unsigned long long)f->generation,
              fmt_duration(b, sizeof(b), d->pause_ns), fmt_duration(c, sizeof(c), f->took_ns),
              f->late ? ", slower than the period" : "", f->client ? "; refreshing" : "");
    if (d->ncovered < d->nworkers) {
      size_t n = strlen(text);
      xsnprintf(text + n, sizeof(text) - n, "; PARTIAL: %llu worker%s not held (stuck?)",
                (unsigned long long)(d->nworkers - d->ncovered), d->nworkers - d->ncovered == 1 ? "" : "s");
      e = CRT_STATUS_ERR;
    }
  } else {
    xsnprintf(text, sizeof(text), "%s", f->client ? "taking the first task dump..." : "no task dump yet");
  }
  const char *p = text;
  int rows = 0;
  while (rows < INFO_MAX_ROWS && fmt_wrap_next(&p, COLS - 2 > 1 ? COLS - 2 : 1, line, sizeof(line))) {
    w_clear_row(y + rows, 0, CRT_NORMAL);
    w_text(y + rows++, 1, COLS - 1, e, line);
  }
  return rows ? rows : 1;
}

/* The selected task's await point and spawn site, whole (the line number always kept). */
static void draw_footer(tasks_view *v, int y) {
  const schedrt_dump_task *t = selected_task(v);
  const schedrt_dump_doc *d = v->feed->doc;
  char buf[768];
  int width = COLS - 2;
  if (!t)
    return;
  const schedrt_dump_site *aw = schedrt_dump_await_site(d, t);
  if (aw && (aw->label || aw->file))
    task_fit_await(buf, sizeof(buf), 1, aw->label, aw->file, aw->line, width, crt_utf8);
  else
    xsnprintf(buf, sizeof(buf), "no await point recorded");
  w_clear_row(y, 0, CRT_NORMAL);
  w_text(y, 1, width, CRT_LABEL, buf);
  dump_spawn_text(buf, sizeof(buf), schedrt_dump_spawn_site(d, t), width - 30, crt_utf8);
  w_clear_row(y + 1, 0, CRT_NORMAL);
  w_text(y + 1, 1, width, CRT_LABEL, buf);
}

/* "row 3 of 212", what needs attention, the sort; or a key's message while it lasts. */
static void draw_count(tasks_view *v, int y, uint64_t now) {
  const task_feed *f = v->feed;
  char text[256];
  w_clear_row(y, 0, CRT_NORMAL);
  if (v->status[0] && now < v->status_until_ns) {
    w_text(y, 1, COLS - 1, CRT_STATUS_INFO, v->status);
    return;
  }
  int x = 1 + w_printf(y, 1, COLS - 1, CRT_DIM, "row %zu of %zu, by %s%s", v->ntasks ? v->selected + 1 : 0,
                       v->ntasks, task_sort_name(v->sort), v->reverse ? " (reversed)" : "");
  if (f->doc && f->nattn) {
    xsnprintf(text, sizeof(text), "   %zu need attention: %zu lost wake-up%s, %zu deadlocked, %zu stuck",
              f->nattn, f->nlost, f->nlost == 1 ? "" : "s", f->ndeadlocked, f->nstuck);
    if (x + (int)strlen(text) > COLS)
      xsnprintf(text, sizeof(text), "   %zu need attention: L %zu D %zu S %zu", f->nattn, f->nlost,
                f->ndeadlocked, f->nstuck);
    w_text(y, x, COLS - x, CRT_ATTENTION, text);
  }
}

static void draw(screen *self) {
  tasks_view *v = (tasks_view *)self;
  const task_feed *f = v->feed;
  uint64_t now = inspect_now_ns();
  char row[1024];
  if (f->generation != v->generation)
    rebuild(v);
  erase();
  draw_title(v);
  int y = 1 + draw_info(v, 1, now);
  const schedrt_dump_doc *d = f->doc;
  uint64_t max_id = 0;
  int name_cols = 4;
  if (d)
    task_extent(d, &max_id, &name_cols);
  task_layout l = task_layout_for(COLS, max_id, name_cols);
  w_clear_row(y, 0, CRT_COLHEAD);
  w_text(y++, 0, COLS, CRT_COLHEAD, task_row_head(row, sizeof(row), &l));
  int footer = LINES >= MIN_FOOTER_LINES && v->ntasks ? FOOTER_ROWS : 0;
  int avail = LINES - y - footer - 2;
  if (avail < 1)
    avail = 1;
  v->page = (size_t)avail;
  if (v->selected < v->scroll)
    v->scroll = v->selected;
  if (v->selected >= v->scroll + (size_t)avail)
    v->scroll = v->selected - (size_t)avail + 1;
  if (v->scroll + (size_t)avail > v->ntasks)
    v->scroll = v->ntasks > (size_t)avail ? v->ntasks - (size_t)avail : 0;
  for (int i = 0; i < avail && v->scroll + (size_t)i < v->ntasks; i++) {
    size_t r = v->scroll + (size_t)i, ti = v->order[r];
    crt_elem e = row_elem(v, ti, r == v->selected);
    w_clear_row(y + i, 0, r == v->selected ? CRT_SELECTED : CRT_NORMAL);
    w_text(y + i, 0, COLS, e,
           task_row_text(row, sizeof(row), &l, d, &d->tasks[ti], dump_attention_mark(f->attn[ti]), crt_utf8));
  }
  if (footer)
    draw_footer(v, LINES - 2 - footer);
  draw_count(v, LINES - 2, now);
  w_function_bar(LINES - 1, self->cls->keys);
}

static screen_result open_details(tasks_view *v) {
  const schedrt_dump_task *t = selected_task(v);
  char title[96], when[32], err[256];
  if (!t) {
    set_status(v, "no task to show yet");
    return screen_react(SCREEN_HANDLED);
  }
  /* Short: the viewer's title names it only where its figures leave room. */
  xsnprintf(title, sizeof(title), "in memory %s",
            fmt_clock(when, sizeof(when), v->feed->doc->taken_realtime_ns));
  screen *s = screen_dump_new_mem(v->feed->buf, v->feed->len, title, t->id, err, sizeof(err));
  if (!s)
    set_status(v, err);
  return screen_open(s);
}

static screen_result key(screen *self, inspect_action a, int ch) {
  tasks_view *v = (tasks_view *)self;
  task_feed *f = v->feed;
  char msg[96];
  size_t to;
  (void)ch;
  if (keys_nav_move(a, v->selected, v->ntasks, v->page ? v->page : 10, &to)) {
    select_row(v, to);
    /* Chosen: it stays selected wherever the next refreshes sort it. Untouched (or Home), the list keeps
     * its top. */
    v->follow = a != ACT_HOME;
    return screen_react(SCREEN_HANDLED);
  }
  switch (a) {
  case ACT_BACK:
    return screen_react(SCREEN_CLOSE);
  case ACT_HELP: {
    const char *notes[] = {
        "Each refresh is a task dump kept in memory (no file); its pause is how long the workers were held "
        "for the copy. A worker stuck in a poll is not waited for: the list is then PARTIAL.",
        "FOR: how long the task has been in its state (an idle task: its idle time; a running one: its poll "
        "so far). Marks: L a lost wake-up, D deadlocked, S polled by a stuck worker.",
    };
    return screen_open(screen_help_new(self->cls, notes, 2));
  }
  case ACT_SORT:
  case ACT_REVERSE:
    if (a == ACT_SORT)
      v->sort = task_sort_next(v->sort);
    else
      v->reverse = !v->reverse;
    v->generation = 0; /* sorted again at the next draw, the selection kept */
    xsnprintf(msg, sizeof(msg), "sorted by %s%s", task_sort_name(v->sort), v->reverse ? ", reversed" : "");
    set_status(v, msg);
    break;
  case ACT_PAUSE:
    task_feed_set_paused(f, !f->paused);
    set_status(v, f->paused ? "refreshes paused" : "refreshes resumed");
    break;
  case ACT_FASTER:
  case ACT_SLOWER:
    task_feed_set_period(f, task_feed_step_period(f->period_ns, a == ACT_FASTER), inspect_now_ns());
    xsnprintf(msg, sizeof(msg), "a task dump every %.1f s", (double)f->period_ns / 1e9);
    set_status(v, msg);
    break;
  case ACT_ENTER:
    return open_details(v);
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    break;
  default:
    break;
  }
  /* Keys the list does not bind do nothing: the live view's `d` under it would compete with its dumps. */
  return screen_react(SCREEN_HANDLED);
}

/* The feed is the live view's to tick; here only the age on screen and the status's expiry. */
static screen_tick tick(screen *self, uint64_t now) {
  tasks_view *v = (tasks_view *)self;
  screen_tick t = {.due_ns = now + AGE_TICK_NS};
  if (v->status_until_ns > now && v->status_until_ns < t.due_ns)
    t.due_ns = v->status_until_ns;
  return t;
}

static void tasks_free(screen *self) {
  tasks_view *v = (tasks_view *)self;
  task_feed_set_active(v->feed, 0, inspect_now_ns());
  free(v->order);
  free(v);
}

static const screen_class tasks_class = {
    .name = "task list",
    .keys = keys_tasks,
    .draw = draw,
    .key = key,
    .tick = tick,
    .free = tasks_free,
};

screen *screen_tasks_new(task_feed *feed, long pid, const char *runtime) {
  tasks_view *v = xcalloc(1, sizeof(*v));
  v->base.cls = &tasks_class;
  v->feed = feed;
  v->pid = pid;
  xsnprintf(v->runtime, sizeof(v->runtime), "%s", runtime ? runtime : "?");
  task_feed_set_paused(feed, 0);
  task_feed_set_active(feed, 1, inspect_now_ns());
  return &v->base;
}
