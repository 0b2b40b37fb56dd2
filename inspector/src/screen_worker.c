/*
 * Every metric of one worker, generated from the metric list: a metric added
 * to metrics_def.h appears here with its unit and help text, untouched code.
 * Below them, the worker's latency histograms (hist.h): their figures over
 * the whole run and the last refresh, then their buckets as bars in the rows
 * that are left. The live view takes histograms only while this panel is
 * open (model_show_histograms).
 */
#include "screen_worker.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "format.h"
#include "hist.h"
#include "rates.h"
#include "util.h"
#include "widgets.h"

typedef struct worker_screen {
  screen base;
  inspect_model *model;
  uint32_t worker;
  long pid;
  char runtime_name[40];
  /* The metrics table scrolls (PgUp/PgDn/Home/End): its first row shown, and the rows it fits. */
  int scroll;
  int page;
} worker_screen;

/* The table's fixed columns: name, value, rate, unit; the meaning follows, or goes under when narrow. */
#define METRIC_COLS 56
#define MEANING_MIN 30 /* narrower than this beside the figures: the meaning gets rows of its own */
#define MAX_ROWS 256
#define BUCKET_ROWS 8      /* a title and 7 bucket rows under the figures, when the terminal has them */
#define METRICS_MIN_PAGE 8 /* the metrics table keeps this many rows before the bars get theirs */
#define ROW_SIZE 320

/* The histograms' section heads and bars need this many columns per pane, side by side. */
#define PANE_MIN_COLS 38
/* Table rows: a header, then for each histogram its whole-run and last-interval rows. */
#define SUMMARY_ROWS (1 + 2 * SCHEDRT_M__HIST_COUNT)
/* What the histogram section wants: the summary, the note, a title and two rows of bucket bars. */
#define HISTO_ROWS (SUMMARY_ROWS + 4)

static const char *histo_name(uint32_t h) { return schedrt_metric_info(SCHEDRT_M__HIST_FIRST + h)->name; }

/* One row of the figures table: over the whole run or the last interval. */
static void draw_figures(int y, const inspect_model *m, const char *name, const char *over,
                         const hist_summary *hs) {
  char n[16], p50[24], p90[24], p99[24], max[24];
  const uint64_t *ub = m->bucket_upper;
  uint32_t nb = m->nbuckets;
  w_printf(y, 1, COLS - 1, CRT_NORMAL, "%-14s %-12s %7s %8s %8s %8s %8s", name, over,
           fmt_si(n, sizeof(n), (double)hs->count), hist_fmt(p50, sizeof(p50), hs->p50, ub, nb),
           hist_fmt(p90, sizeof(p90), hs->p90, ub, nb), hist_fmt(p99, sizeof(p99), hs->p99, ub, nb),
           hist_fmt(max, sizeof(max), hs->max, ub, nb));
}

/* Count, p50, p90, p99 and max of each histogram, over the whole run and the last refresh. */
static int draw_summary(int y, int end, const inspect_model *m, const worker_view *v) {
  char over[32], d[24];
  int y0 = y;
  if (y < end)
    w_printf(y++, 1, COLS - 1, CRT_COLHEAD, "%-14s %-12s %7s %8s %8s %8s %8s", "histogram", "over", "count",
             "p50", "p90", "p99", "max");
  xsnprintf(over, sizeof(over), "last %s", fmt_duration(d, sizeof(d), m->g.dt_ns));
  for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
    const histo_view *hv = &v->histo[h];
    if (y < end)
      draw_figures(y++, m, histo_name(h), "whole run", &hv->run);
    if (y >= end)
      continue;
    if (hv->have_last)
      draw_figures(y++, m, "", over, &hv->last);
    else
      w_printf(y++, 1, COLS - 1, CRT_DIM, "%-14s %-12s %s", "", "last", "known after the next refresh");
  }
  return y - y0;
}

/*
 * Histogram h's non-empty buckets in rows [y, y + rows) of columns [x, x + w):
 * each row a bucket's upper bound, a bar of its count over the whole run, that
 * count and the last refresh's. More buckets than rows: neighbours share a
 * row, labelled with the bound of the highest.
 */
static void draw_buckets(const inspect_model *m, uint32_t wi, uint32_t h, int y, int x, int w, int rows) {
  const schedrt_snapshot *snap = model_current(m);
  const hist_summary *run = &m->w[wi].histo[h].run;
  const uint64_t *cur = snap ? schedrt_snapshot_hist(snap, wi, h) : NULL;
  const uint64_t *last = model_histo_last(m, wi, h);
  char title[64], label[32], a[16], b[16];
  /* label, bar, run count, last count; the last count goes first when narrow. */
  int w_label = 9, w_count = 7, w_last = last ? 7 : 0;
  int bar_w = w - w_label - w_count - w_last - 1;
  if (bar_w < 4 && w_last) {
    w_last = 0;
    bar_w = w - w_label - w_count - 1;
  }
  if (rows < 2 || bar_w < 4 || !cur)
    return;
  xsnprintf(title, sizeof(title), "%s buckets", histo_name(h));
  w_printf(y, x, w, CRT_COLHEAD, "%-*s %*s%*s", w_label + bar_w, title, w_count, "run", w_last,
           w_last ? "last" : "");
  if (run->count == 0) {
    w_text(y + 1, x, w, CRT_DIM, "  nothing recorded yet");
    return;
  }
  uint32_t per_row, nrows = hist_rows(run->lo, run->hi, (uint32_t)rows - 1, &per_row);
  uint64_t sums[SCHEDRT_READER_MAX_BUCKETS], lasts[SCHEDRT_READER_MAX_BUCKETS], top = 0;
  for (uint32_t r = 0; r < nrows; r++) {
    sums[r] = lasts[r] = 0;
    for (uint32_t b = run->lo + r * per_row; b <= run->hi && b < run->lo + (r + 1) * per_row; b++) {
      sums[r] += cur[b];
      lasts[r] += last ? last[b] : 0;
    }
    top = sums[r] > top ? sums[r] : top;
  }
  for (uint32_t r = 0; r < nrows; r++) {
    uint32_t hi = run->lo + (r + 1) * per_row - 1;
    uint64_t bound = m->bucket_upper[hi < run->hi ? hi : run->hi];
    int ry = y + 1 + (int)r;
    hist_fmt(a, sizeof(a), bound, m->bucket_upper, m->nbuckets);
    /* "<96ns": the bucket holds values below its bound; ">=1m08s" already says where it starts. */
    xsnprintf(label, sizeof(label), "%s%s", bound == UINT64_MAX ? "" : "<", a);
    w_printf(ry, x, w_label, CRT_NORMAL, "%*s ", w_label - 1, label);
    w_bar(ry, x + w_label, bar_w, sums[r], top);
    w_printf(ry, x + w_label + bar_w, w_count + 1, CRT_NORMAL, " %*s", w_count,
             fmt_si(a, sizeof(a), (double)sums[r]));
    if (w_last)
      w_printf(ry, x + w_label + bar_w + w_count + 1, w_last, CRT_NORMAL, "%*s", w_last,
               fmt_si(b, sizeof(b), (double)lasts[r]));
  }
}

/* The histogram section from row y up to (not including) row end. */
static void draw_histograms(const inspect_model *m, uint32_t wi, int y, int end) {
  const worker_view *v = &m->w[wi];
  if (y >= end)
    return;
  if (!m->timing) {
    w_text(y, 1, COLS - 1, CRT_DIM,
           "histograms off: start the target with SCHEDRT_TIMING=1 in its environment");
    return;
  }
  if (!v->have_histo) {
    w_text(y, 1, COLS - 1, CRT_DIM, "histograms: taken from the next refresh on");
    return;
  }
  /* A gap above when there is a row to spare. */
  if (end - y > HISTO_ROWS)
    y++;
  y += draw_summary(y, end, m, v);
  if (end - y < 3)
    return;
  w_text(y++, 1, COLS - 1, CRT_DIM, "figures are bucket upper bounds: at most 50% above the true value");
  int rows = end - y;
  if (COLS - 1 >= 2 * PANE_MIN_COLS) {
    int pw = (COLS - 3) / 2;
    for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      draw_buckets(m, wi, h, y, 1 + (int)h * (pw + 2), pw, rows);
  } else {
    int per = rows / SCHEDRT_M__HIST_COUNT;
    for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      draw_buckets(m, wi, h, y + (int)h * per, 1, COLS - 2, per);
  }
}

/* Appends the rows of one metric: its figures and its meaning, wrapped beside them or under them. */
static void metric_rows(char (*rows)[ROW_SIZE], int *n, const char *figures, const char *meaning) {
  int wide = COLS - 1 - METRIC_COLS >= MEANING_MIN;
  int width = wide ? COLS - 1 - METRIC_COLS : COLS - 1 - 4;
  char part[ROW_SIZE];
  const char *p = meaning;
  if (*n >= MAX_ROWS)
    return;
  if (wide && fmt_wrap_next(&p, width, part, sizeof(part)))
    xsnprintf(rows[(*n)++], ROW_SIZE, "%-*s%s", METRIC_COLS, figures, part);
  else
    xsnprintf(rows[(*n)++], ROW_SIZE, "%s", figures);
  while (*n < MAX_ROWS && fmt_wrap_next(&p, width, part, sizeof(part)))
    xsnprintf(rows[(*n)++], ROW_SIZE, "%*s%s", wide ? METRIC_COLS : 4, "", part);
}

/* Every metric of the worker with its value, rate, unit and meaning; the state by its name. */
static int build_metric_rows(char (*rows)[ROW_SIZE], const schedrt_worker_snap *w, const worker_view *v) {
  char a[32], fig[ROW_SIZE], value[32];
  int n = 0;
#define ROW(id, kind, off, type, unit, help, pub)                                                            \
  {                                                                                                          \
    double r_ = v->rate[RATE_W(id)];                                                                         \
    if (SCHEDRT_M_##id == SCHEDRT_M_state)                                                                   \
      xsnprintf(value, sizeof(value), "%s", schedrt_worker_state_name(w->state));                            \
    else                                                                                                     \
      xsnprintf(value, sizeof(value), "%llu", (unsigned long long)w->id);                                    \
    xsnprintf(fig, sizeof(fig), "%-18s %14s %10s  %-8s ", #id, value,                                        \
              isnan(r_) ? "" : fmt_si(a, sizeof(a), r_), unit);                                              \
    metric_rows(rows, &n, fig, help);                                                                        \
  }
  SCHEDRT_WSLOT_METRICS(ROW)
#undef ROW
  return n;
}

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
  w_clear_row(LINES - 1, 0, CRT_NORMAL);
  w_text(LINES - 1, 0, COLS, CRT_FLABEL, " Esc back  Up/Down other worker  PgUp/PgDn scroll  q quit ");
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
  static char rows[MAX_ROWS][ROW_SIZE];
  int nrows = build_metric_rows(rows, w, v);
  /* Below the table: the busy line and the histogram figures (a gap, the table, the note), when the
   * terminal has the rows; the table scrolls in what is left. */
  int body = LINES - 1 - (y + 1);
  int below = 2 + (m->timing ? 1 + SUMMARY_ROWS + 1 : 1);
  /* A tall terminal keeps rows for the bucket bars too: the table scrolls, the bars could not. */
  if (m->timing && body - below - BUCKET_ROWS >= METRICS_MIN_PAGE)
    below += BUCKET_ROWS;
  int page = body - below;
  if (page < 3)
    page = body - 2 > 1 ? body - 2 : 1;
  if (page > nrows)
    page = nrows;
  ws->page = page;
  if (ws->scroll > nrows - page)
    ws->scroll = nrows - page > 0 ? nrows - page : 0;
  if (nrows > page)
    w_printf(y++, 1, COLS - 1, CRT_COLHEAD, "%-18s %14s %10s  %-8s %s %d-%d/%d", "metric", "value", "per s",
             "unit", "meaning", ws->scroll + 1, ws->scroll + page, nrows);
  else
    w_printf(y++, 1, COLS - 1, CRT_COLHEAD, "%-18s %14s %10s  %-8s %s", "metric", "value", "per s", "unit",
             "meaning");
  for (int i = ws->scroll; i < nrows && i < ws->scroll + page; i++)
    w_text(y++, 1, COLS - 1, CRT_NORMAL, rows[i]);
  y++;
  if (y < LINES - 1)
    w_printf(y++, 1, COLS - 1, CRT_NORMAL, "busy %s%%   current poll running for %s   os tid %llu",
             isnan(v->busy_pct) ? "-" : fmt_si(b, sizeof(b), round(v->busy_pct)),
             v->running_ns ? fmt_duration(a, sizeof(a), v->running_ns) : "-", (unsigned long long)w->os_tid);
  draw_histograms(m, wi, y, LINES - 1);
}

/* Up/Down step through the workers, PgUp/PgDn/Home/End scroll the metrics and Esc/Enter close the panel;
 * any other key is the live view's. */
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
  case ACT_PGUP:
    ws->scroll = ws->scroll > ws->page ? ws->scroll - ws->page : 0;
    return screen_react(SCREEN_HANDLED);
  case ACT_PGDN:
    ws->scroll += ws->page; /* clamped by the next draw, which knows how many rows there are */
    return screen_react(SCREEN_HANDLED);
  case ACT_HOME:
    ws->scroll = 0;
    return screen_react(SCREEN_HANDLED);
  case ACT_END:
    ws->scroll = MAX_ROWS;
    return screen_react(SCREEN_HANDLED);
  default:
    return screen_react(SCREEN_PASS);
  }
}

static void worker_free(screen *self) {
  worker_screen *ws = (worker_screen *)self;
  model_show_histograms(ws->model, 0);
  free(ws);
}

/* The live view's table: this panel takes a few of its keys and passes it the rest. */
static const screen_class worker_class = {
    .name = "worker panel",
    .keys = keys_top,
    .draw = draw,
    .key = key,
    .free = worker_free,
};

screen *screen_worker_new(inspect_model *m, uint32_t worker, long pid, const char *runtime_name) {
  worker_screen *ws = xcalloc(1, sizeof(*ws));
  ws->base.cls = &worker_class;
  ws->model = m;
  model_show_histograms(m, 1);
  ws->worker = worker;
  ws->pid = pid;
  xsnprintf(ws->runtime_name, sizeof(ws->runtime_name), "%s", runtime_name);
  return &ws->base;
}
