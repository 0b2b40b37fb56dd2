/*
 * Every metric of one worker, generated from the metric list: a metric added
 * to metrics_def.h appears here with its unit and help text, untouched code.
 */
#include "screen_worker.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "format.h"
#include "rates.h"
#include "util.h"
#include "widgets.h"

typedef struct worker_screen {
  screen base;
  const inspect_model *model;
  uint32_t worker;
  long pid;
  char runtime_name[40];
} worker_screen;

static void draw(screen *self) {
  worker_screen *ws = (worker_screen *)self;
  const inspect_model *m = ws->model;
  uint32_t wi = ws->worker;
  const schedrt_snapshot *snap = model_current(m);
  char a[32], b[32];
  int y = 0;

  erase();
  w_clear_row(y, 0, CRT_TITLE);
  w_printf(y++, 0, COLS, CRT_TITLE, " worker %u of pid %ld (\"%s\")", wi, ws->pid, ws->runtime_name);
  if (!snap || wi >= m->g.nworkers) {
    w_text(y + 1, 1, COLS - 1, CRT_DIM, "no data for this worker");
    return;
  }
  const schedrt_worker_snap *w = &snap->workers[wi];
  const worker_view *v = &m->w[wi];
  if (w->torn) {
    w_text(y + 1, 1, COLS - 1, CRT_DIM, "no consistent read of this worker in the last snapshot");
    return;
  }
  y++;
  w_printf(y++, 1, COLS - 1, CRT_COLHEAD, "%-18s %14s %10s  %-8s %s", "metric", "value", "per s", "unit",
           "meaning");
#define ROW(id, kind, off, type, unit, help, pub)                                                            \
  if (y < LINES - 4) {                                                                                       \
    double r_ = v->rate[RATE_W(id)];                                                                         \
    w_printf(y++, 1, COLS - 1, CRT_NORMAL, "%-18s %14llu %10s  %-8s %s", #id, (unsigned long long)w->id,     \
             isnan(r_) ? "" : fmt_si(a, sizeof(a), r_), unit, help);                                         \
  }
  SCHEDRT_WSLOT_METRICS(ROW)
#undef ROW
  y++;
  if (y < LINES - 3)
    w_printf(y++, 1, COLS - 1, CRT_NORMAL, "busy %s%%   current poll running for %s   os tid %llu",
             isnan(v->busy_pct) ? "-" : fmt_si(b, sizeof(b), round(v->busy_pct)),
             v->running_ns ? fmt_duration(a, sizeof(a), v->running_ns) : "-", (unsigned long long)w->os_tid);
  w_clear_row(LINES - 1, 0, CRT_NORMAL);
  w_text(LINES - 1, 0, COLS, CRT_FLABEL, " Esc/Enter back   Up/Down other worker   q quit ");
}

/* Up/Down step through the workers and Esc/Enter close the panel; any other key is the live view's. */
static screen_result key(screen *self, inspect_action a, int ch) {
  worker_screen *ws = (worker_screen *)self;
  uint32_t n = ws->model->g.nworkers;
  (void)ch;
  switch (a) {
  case ACT_BACK:
  case ACT_ENTER:
    return screen_react(SCREEN_CLOSE);
  case ACT_UP:
  case ACT_DOWN:
    if (n)
      ws->worker = (ws->worker + (a == ACT_UP ? n - 1 : 1)) % n;
    return screen_react(SCREEN_HANDLED);
  default:
    return screen_react(SCREEN_PASS);
  }
}

static void worker_free(screen *self) { free(self); }

/* The live view's table: this panel takes a few of its keys and passes it the rest. */
static const screen_class worker_class = {
    .name = "worker panel",
    .keys = keys_top,
    .draw = draw,
    .key = key,
    .free = worker_free,
};

screen *screen_worker_new(const inspect_model *m, uint32_t worker, long pid, const char *runtime_name) {
  worker_screen *ws = xcalloc(1, sizeof(*ws));
  ws->base.cls = &worker_class;
  ws->model = m;
  ws->worker = worker;
  ws->pid = pid;
  xsnprintf(ws->runtime_name, sizeof(ws->runtime_name), "%s", runtime_name);
  return &ws->base;
}
