/*
 * Every metric of one worker, generated from the metric list: a metric added
 * to metrics_def.h appears here with its unit and help text, untouched code.
 */
#include <curses.h>
#include <math.h>
#include <stdio.h>

#include "format.h"
#include "rates.h"
#include "tui.h"
#include "util.h"
#include "widgets.h"

void screen_worker_draw(tui_state *s) {
  uint32_t wi = s->detail_worker;
  const schedrt_snapshot *snap = model_current(&s->model);
  char a[32], b[32];
  int y = 0;

  erase();
  w_clear_row(y, 0, CRT_TITLE);
  w_printf(y++, 0, COLS, CRT_TITLE, " worker %u of pid %ld (\"%s\")", wi, (long)s->target.pid,
           s->target.info->runtime_name);
  if (!snap || wi >= s->model.g.nworkers) {
    w_text(y + 1, 1, COLS - 1, CRT_DIM, "no data for this worker");
    return;
  }
  const schedrt_worker_snap *w = &snap->workers[wi];
  const worker_view *v = &s->model.w[wi];
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
