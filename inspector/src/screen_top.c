/*
 * The live view's drawing: header figures, one row per worker, stuck workers'
 * details, the status line and the function bar. live_view.c changes the
 * state; drawing only moves the scroll position to keep the selection in sight.
 */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "live_view.h"
#include "rates.h"
#include "sites_table.h"
#include "stall_text.h"
#include "util.h"
#include "widgets.h"

#define HEADER_ROWS 4

/* The rate columns, named after their metrics in the list: "polls/s", "steals/s", "parks/s". */
static const int rate_cols[] = {SCHEDRT_M_polls, SCHEDRT_M_steals, SCHEDRT_M_parks};
#define NRATE (int)(sizeof(rate_cols) / sizeof(rate_cols[0]))
static const worker_sort_key rate_sort[NRATE] = {WSORT_POLLS, WSORT_STEALS, WSORT__COUNT};

/* Column widths, separators included; 0: the column is left out. Sized so that 80 columns show every
 * column; narrower, whole columns go (graphics first, then the rates from the right) rather than
 * numbers being cut. */
typedef struct layout {
  int w_idx, w_state, w_depth, w_bar, w_spark, w_rate[NRATE], w_busy, w_task;
} layout;

#define TASK_MIN 16 /* "#123456 108.8ms" */

static layout compute_layout(int cols) {
  layout l = {.w_idx = 4, .w_state = 8, .w_depth = 6, .w_busy = 6};
  int fixed = l.w_idx + l.w_state + l.w_depth + l.w_busy;
  for (int i = 0; i < NRATE; i++) {
    /* As wide as the header ("steals/s") plus a separator, at least 7. */
    int w = (int)strlen(schedrt_metric_info((size_t)rate_cols[i])->name) + 3;
    l.w_rate[i] = w < 8 ? 8 : w;
    fixed += l.w_rate[i];
  }
  for (int i = NRATE - 1; i >= 0 && cols - fixed < TASK_MIN; i--) {
    fixed -= l.w_rate[i];
    l.w_rate[i] = 0;
  }
  if (cols - fixed < TASK_MIN) {
    fixed -= l.w_depth;
    l.w_depth = 0;
  }
  int rem = cols - fixed;
  if (rem < TASK_MIN + 10) {
    l.w_bar = l.w_spark = 0; /* too narrow: drop the graphics, keep the numbers */
  } else {
    int extra = rem - TASK_MIN;
    l.w_bar = extra * 2 / 5;
    l.w_bar = l.w_bar < 6 ? 6 : l.w_bar > 11 ? 11 : l.w_bar;
    l.w_spark = extra - l.w_bar;
    l.w_spark = l.w_spark > 41 ? 41 : l.w_spark;
  }
  l.w_task = rem - l.w_bar - l.w_spark;
  if (l.w_task < 0)
    l.w_task = 0;
  return l;
}

/* The short names of the state list fit the seven columns of STATE. */
static const char *state_short(uint32_t st) {
  return st < SCHEDRT_WSTATE__COUNT ? schedrt_worker_state_short[st] : "?";
}

static crt_elem state_elem(uint32_t st) {
  switch (st) {
  case SCHEDRT_WSTATE_RUNNING:
    return CRT_RUNNING;
  case SCHEDRT_WSTATE_SEARCHING:
    return CRT_SEARCHING;
  case SCHEDRT_WSTATE_PARKED:
    return CRT_PARKED;
  case SCHEDRT_WSTATE_STOPPED:
    return CRT_STOPPED;
  default:
    return CRT_NORMAL;
  }
}

/* "label value  " pairs flowing along a row; a pair that does not fit is left out. */
static int header_item(int y, int x, const char *label, const char *value) {
  int need = (int)strlen(label) + 1 + (int)strlen(value) + 2;
  if (x + need > COLS)
    return x;
  x += w_text(y, x, COLS - x, CRT_LABEL, label);
  x += w_text(y, x, COLS - x, CRT_NORMAL, " ");
  x += w_text(y, x, COLS - x, CRT_VALUE, value);
  return x + 2;
}

static void draw_header(live_view *s) {
  const global_view *g = &s->model.g;
  const schedrt_segment_info *info = s->target.info;
  char a[64], b[64];
  int x;

  w_clear_row(0, 0, CRT_TITLE);
  /* Paused, the figures are not live even when the target is. */
  const char *live = g->target_gone                                      ? "EXITED"
                     : s->paused && g->liveness == SCHEDRT_LIVENESS_LIVE ? "PAUSED"
                                                                         : schedrt_liveness_name(g->liveness);
  char badge[64];
  if (s->source && s->source->badge)
    live = s->source->badge(s, badge, sizeof(badge)); /* a replay says so, and where it is */
  int lw = (int)strlen(live) + 2;
  /* Items that do not fit are left out whole, the least needed first: never a cut pid. */
  char pid[32], comm[40], rt[80], up[48];
  xsnprintf(pid, sizeof(pid), "pid %ld", (long)s->target.pid);
  xsnprintf(comm, sizeof(comm), "%s", info->comm[0] ? info->comm : "?");
  xsnprintf(rt, sizeof(rt), "runtime \"%s\"", info->runtime_name);
  xsnprintf(up, sizeof(up), "up %s", fmt_uptime(a, sizeof(a), g->uptime_ns));
  const char *items[] = {"sched-inspect", pid, comm, rt, up};
  const int drop_order[] = {3, 2, 4, 0}; /* runtime, command, uptime, the program's name; pid stays */
  int keep[5] = {1, 1, 1, 1, 1};
  for (size_t d = 0;; d++) {
    int need = 1;
    for (int i = 0; i < 5; i++)
      need += keep[i] ? (int)strlen(items[i]) + 2 : 0;
    if (need <= COLS - lw || d == sizeof(drop_order) / sizeof(drop_order[0]))
      break;
    keep[drop_order[d]] = 0;
  }
  x = 1;
  for (int i = 0; i < 5; i++)
    if (keep[i] && x + (int)strlen(items[i]) <= COLS - lw)
      x += w_text(0, x, COLS - lw - x, CRT_TITLE, items[i]) + 2;
  w_printf(0, COLS - lw, lw,
           g->target_gone || g->liveness != SCHEDRT_LIVENESS_LIVE || s->paused ? CRT_BANNER_BAD : CRT_TITLE,
           " %s ", live);

  w_clear_row(1, 0, CRT_NORMAL);
  x = 1;
  xsnprintf(a, sizeof(a), "%u (run %u search %u park %u)", g->nworkers, g->nrunning, g->nsearching,
            g->nparked);
  x = header_item(1, x, "workers", a);
  x = header_item(1, x, "alive", fmt_si(a, sizeof(a), (double)g->values[RATE_G(alive)]));
  x = header_item(1, x, "inject", fmt_si(a, sizeof(a), (double)g->values[RATE_G(inject_depth)]));
  x = header_item(1, x, "heartbeat", fmt_duration(a, sizeof(a), g->hb_age_ns));

  w_clear_row(2, 0, CRT_NORMAL);
  x = 1;
  x = header_item(2, x, "polls/s", fmt_si(a, sizeof(a), g->polls_per_s));
  x = header_item(2, x, "steals/s", fmt_si(a, sizeof(a), g->steals_per_s));
  x = header_item(2, x, "spawn/s", fmt_si(a, sizeof(a), g->grate[RATE_G(spawned)]));
  x = header_item(2, x, "parks/s", fmt_si(a, sizeof(a), g->parks_per_s));
  /* NAN: not known (one snapshot, a hung target whose busy time the reader would extrapolate). */
  if (isnan(g->busy_pct))
    xsnprintf(b, sizeof(b), "-");
  else
    xsnprintf(b, sizeof(b), "%s%%", fmt_si(a, sizeof(a), round(g->busy_pct)));
  x = header_item(2, x, "busy", b);
  if (g->nstuck) {
    xsnprintf(b, sizeof(b), "%u", g->nstuck);
    x = header_item(2, x, "stuck", b);
  }
  xsnprintf(b, sizeof(b), "%.1fs", s->delay_tenths / 10.0);
  header_item(2, x, "refresh", b);

  /* The blocking pool (schedrt_spawn_blocking): its threads, its queue, its jobs per second. */
  uint64_t bt = g->values[RATE_G(blocking_threads)], bi = g->values[RATE_G(blocking_idle_threads)];
  w_clear_row(3, 0, CRT_NORMAL);
  x = 1;
  xsnprintf(b, sizeof(b), "%llu (busy %llu idle %llu max %llu)", (unsigned long long)bt,
            (unsigned long long)(bt > bi ? bt - bi : 0), (unsigned long long)bi,
            (unsigned long long)g->values[RATE_G(blocking_max_threads)]);
  x = header_item(3, x, "blocking threads", b);
  x = header_item(3, x, "queue", fmt_si(a, sizeof(a), (double)g->values[RATE_G(blocking_queue_depth)]));
  x = header_item(3, x, "jobs/s", fmt_si(a, sizeof(a), g->grate[RATE_G(blocking_jobs_finished)]));
  /* The I/O driver, for a program that registered file descriptors (else
   * the pool's start rate, which then has the room). */
  if (g->values[RATE_G(io_registered)] || g->values[RATE_G(io_events)]) {
    x = header_item(3, x, "io fds", fmt_si(a, sizeof(a), (double)g->values[RATE_G(io_registered)]));
    header_item(3, x, "io events/s", fmt_si(a, sizeof(a), g->grate[RATE_G(io_events)]));
  } else {
    header_item(3, x, "started/s", fmt_si(a, sizeof(a), g->grate[RATE_G(blocking_jobs_started)]));
  }
}

/* A banner row when something needs saying; returns the rows used (0 or 1). */
static int draw_banner(live_view *s, int y) {
  const global_view *g = &s->model.g;
  char a[32];
  if (g->target_gone) {
    w_clear_row(y, 0, CRT_BANNER_BAD);
    w_printf(y, 0, COLS, CRT_BANNER_BAD, " TARGET EXITED (%s): showing its last published data. q quits.",
             schedrt_liveness_name(g->liveness));
  } else if (g->liveness == SCHEDRT_LIVENESS_HUNG) {
    w_clear_row(y, 0, CRT_BANNER_BAD);
    w_printf(y, 0, COLS, CRT_BANNER_BAD, " TARGET HUNG: no heartbeat for %s (stopped? monitor blocked?)",
             fmt_duration(a, sizeof(a), g->hb_age_ns > g->hb_stalled_ns ? g->hb_age_ns : g->hb_stalled_ns));
  } else if (s->snap_err) {
    char msg[256];
    w_clear_row(y, 0, CRT_BANNER_BAD);
    w_printf(y, 0, COLS, CRT_BANNER_BAD, " %s",
             target_error_message(msg, sizeof(msg), s->target.pid, s->snap_err));
  } else if (s->paused) {
    w_clear_row(y, 0, CRT_BANNER_WARN);
    w_text(y, 0, COLS, CRT_BANNER_WARN, " PAUSED: p resumes");
  } else if (g->ntorn) {
    w_clear_row(y, 0, CRT_BANNER_WARN);
    w_printf(y, 0, COLS, CRT_BANNER_WARN,
             " %u worker(s) could not be read consistently this time (shown as ?)", g->ntorn);
  } else {
    return 0;
  }
  return 1;
}

static void draw_colhead(live_view *s, int y, const layout *l) {
  int x = 0;
  w_clear_row(y, 0, CRT_COLHEAD);
  /* Right-aligned numbers get right-aligned headers; w includes the separator. */
#define COL(w, sortkey, right, text)                                                                         \
  do {                                                                                                       \
    if ((w) > 0)                                                                                             \
      w_printf(y, x, (w), s->sort == (sortkey) ? CRT_SORTED : CRT_COLHEAD, right ? "%*s " : "%-*s ", (w)-1,  \
               text);                                                                                        \
    x += (w);                                                                                                \
  } while (0)
  COL(l->w_idx, WSORT_INDEX, 1, "W");
  COL(l->w_state, WSORT__COUNT, 0, "STATE");
  COL(l->w_depth, WSORT_DEPTH, 1, "DEPTH");
  COL(l->w_bar, WSORT__COUNT, 0, "QUEUE");
  COL(l->w_spark, WSORT__COUNT, 0, "HISTORY");
  for (int i = 0; i < NRATE; i++) {
    char name[40];
    xsnprintf(name, sizeof(name), "%s/s", schedrt_metric_info((size_t)rate_cols[i])->name);
    COL(l->w_rate[i], rate_sort[i], 1, name);
  }
  COL(l->w_busy, WSORT_BUSY, 1, "BUSY%");
  COL(l->w_task, WSORT_RUNNING, 0,
      l->w_task > 17   ? "TASK  RUNNING FOR"
      : l->w_task > 13 ? "TASK  RUNNING"
                       : "TASK");
#undef COL
}

static void draw_worker(live_view *s, int y, const layout *l, uint32_t wi, int selected) {
  const worker_view *v = &s->model.w[wi];
  char a[32], b[32], task[96];
  int x = 0;
  crt_elem row = v->stuck ? CRT_STUCK : selected ? CRT_SELECTED : CRT_NORMAL;

  w_clear_row(y, 0, row);
  w_printf(y, x, l->w_idx, row, "%*u ", l->w_idx - 1, wi);
  x += l->w_idx;
  if (v->torn) {
    w_text(y, x, COLS - x, CRT_DIM, "?  (no consistent read this time)");
    return;
  }
  /* A stuck worker says so in words too, at any width (its colour may not show). */
  w_printf(y, x, l->w_state, row == CRT_NORMAL ? state_elem(v->state) : row, "%-*s ", l->w_state - 1,
           v->stuck ? "STUCK" : state_short(v->state));
  x += l->w_state;
  if (l->w_depth) {
    xsnprintf(a, sizeof(a), "%llu%s", (unsigned long long)v->depth, v->lifo ? "+1" : "");
    w_printf(y, x, l->w_depth, row, "%*s ", l->w_depth - 1, a);
    x += l->w_depth;
  }
  if (l->w_bar) {
    w_bar(y, x, l->w_bar - 1, v->depth, s->target.info->local_queue_cap);
    x += l->w_bar;
  }
  if (l->w_spark) {
    uint32_t hist[MODEL_HISTORY];
    uint32_t n = model_depth_history(&s->model, wi, hist, (uint32_t)l->w_spark - 1);
    w_spark(y, x, l->w_spark - 1, hist, n, 8);
    x += l->w_spark;
  }
  for (int i = 0; i < NRATE; i++) {
    if (!l->w_rate[i])
      continue;
    w_printf(y, x, l->w_rate[i], row, "%*s ", l->w_rate[i] - 1, fmt_si(a, sizeof(a), v->rate[rate_cols[i]]));
    x += l->w_rate[i];
  }
  xsnprintf(b, sizeof(b), "%s", isnan(v->busy_pct) ? "-" : fmt_si(a, sizeof(a), round(v->busy_pct)));
  w_printf(y, x, l->w_busy, row, "%*s ", l->w_busy - 1, b);
  x += l->w_busy;
  if (v->current_task && v->state == SCHEDRT_WSTATE_RUNNING) {
    xsnprintf(b, sizeof(b), "#%llu", (unsigned long long)v->current_task);
    const char *dur = v->running_ns ? fmt_duration(a, sizeof(a), v->running_ns) : "";
    /* Whole figures only: the running time goes first, then the id, never half a number. */
    xsnprintf(task, sizeof(task), "%s %s", b, dur);
    if ((int)strlen(task) > l->w_task)
      xsnprintf(task, sizeof(task), "%s", (int)strlen(b) <= l->w_task ? b : "");
    w_text(y, x, l->w_task, row, task);
  } else if (v->long_poll) {
    /* A long poll the runtime counted since the last refresh, its task not named: the words give way
     * before the figure is cut. */
    fmt_duration(a, sizeof(a), v->long_poll_ns);
    xsnprintf(task, sizeof(task), "long poll %s", a);
    if ((int)strlen(task) > l->w_task)
      xsnprintf(task, sizeof(task), "long %s", a);
    w_text(y, x, l->w_task, row, task);
  } else {
    w_text(y, x, l->w_task, row == CRT_NORMAL ? CRT_DIM : row, "-");
  }
}

/* `"name" spawned at site (func)` in at most width columns: the site is shortened (fmt_site) so that
 * its line number stays on screen; the function only where it fits after it. */
static char *task_site(char *buf, size_t size, const char *name, const char *file, uint64_t line,
                       const char *func, int width) {
  char lead[64], site[256], tail[72] = "";
  xsnprintf(lead, sizeof(lead), "\"%s\" spawned at ", name ? name : "unnamed");
  int room = width - (int)strlen(lead);
  if (func) {
    xsnprintf(tail, sizeof(tail), " (%s)", func);
    /* The function is the first to go: the site keeps at least a base name's room. */
    if (room - (int)strlen(tail) >= 24)
      room -= (int)strlen(tail);
  }
  return xsnprintf(buf, size, "%s%s%s", lead, fmt_site(site, sizeof(site), file, line, room, crt_utf8), tail);
}

#define STUCK_MAX 3        /* stuck workers named under the table; the table's rows say the rest */
#define STUCK_DETAIL_MAX 2 /* rows of a stuck worker's task, site or why they are not known yet */
#define STATUS_MAX_ROWS 8  /* the status line wraps into this many rows at most (a PARTIAL dump says why) */
#define FOUND_MAX_ROWS 2   /* the last dump's findings */
#define DETAIL_INDENT 3

/* What a stuck worker's second row says: its task's name and spawn site in width columns (the site
 * shortened with its line number kept), or why they are not known yet. */
static void stuck_detail(live_view *s, const worker_view *v, int width, char *who, size_t size) {
  const char *name, *file, *func;
  uint64_t line;
  if (v->current_file[0]) {
    /* The runtime named the long poll itself: no dump needed. */
    task_site(who, size, v->current_name[0] ? v->current_name : NULL, v->current_file, v->current_line, NULL,
              width);
  } else if (live_view_dump_task(s, v->current_task, &name, &file, &line, &func) == 0) {
    if (file)
      task_site(who, size, name, file, line, func, width);
    else
      xsnprintf(who, size, "\"%s\" (spawn site unknown)", name ? name : "unnamed");
  } else {
    xsnprintf(who, size, "not named yet (the runtime names polls past one monitor period)%s",
              s->source ? "" : "; d dumps now"); /* a replay has no process to dump */
  }
}

/* Rows the stuck workers take under the table (at most max of them): a head row each, then the detail
 * wrapped in at most STUCK_DETAIL_MAX rows. */
static int stuck_rows(live_view *s, int max) {
  char who[384];
  int rows = 0, shown = 0;
  for (uint32_t i = 0; i < s->model.g.nworkers && shown < max; i++) {
    const worker_view *v = &s->model.w[i];
    if (!v->stuck)
      continue;
    if (!v->current_task) {
      /* Flagged by the runtime's long-poll count alone: one row. */
      rows++;
      shown++;
      continue;
    }
    stuck_detail(s, v, COLS - DETAIL_INDENT, who, sizeof(who));
    const char *p = who;
    int r = 0;
    while (r < STUCK_DETAIL_MAX && fmt_wrap_next(&p, COLS - DETAIL_INDENT, NULL, 0))
      r++;
    rows += 1 + r;
    shown++;
  }
  return rows;
}

/* The stuck workers (at most max): the worker, for how long and which task; under it, indented, the
 * task's name and spawn site or why they are not known. */
static int draw_stuck(live_view *s, int y, int max) {
  int used = 0, shown = 0;
  char a[32], head[192], who[384], row[384];
  int width = COLS - DETAIL_INDENT;
  for (uint32_t i = 0; i < s->model.g.nworkers && shown < max; i++) {
    const worker_view *v = &s->model.w[i];
    if (!v->stuck)
      continue;
    shown++;
    /* What held it, as the runtime classified it (", off CPU in clock_nanosleep"): the long poll of the
     * row, or the poll in progress once the runtime can have classified it. */
    char kind[96] = "";
    int current = v->running_ns >= s->model.long_poll_ns + s->model.long_poll_ns / 2;
    if (v->stall_kind && (!v->current_task || current)) {
      kind[0] = ',';
      kind[1] = ' ';
      stall_text(kind + 2, sizeof(kind) - 2, v->stall_kind, v->stall_syscall, v->stall_cpu_pct);
    }
    if (!v->current_task) {
      /* Flagged by the runtime's long-poll count alone: the poll was too short to be named. The aside
       * goes before anything is cut. */
      xsnprintf(row, sizeof(row), " ! worker %u: a %s poll since the last refresh%s (named past %u ms)", i,
                fmt_duration(a, sizeof(a), v->long_poll_ns), kind, s->target.info->heartbeat_period_ms);
      if ((int)fmt_cols(row) > COLS)
        xsnprintf(row, sizeof(row), " ! worker %u: a %s poll since the last refresh%s", i, a, kind);
      w_clear_row(y + used, 0, CRT_NORMAL);
      w_text(y + used++, 0, COLS, CRT_STATUS_ERR, row);
      continue;
    }
    xsnprintf(head, sizeof(head), " ! worker %u stuck %s on task #%llu%s", i,
              fmt_duration(a, sizeof(a), v->running_ns), (unsigned long long)v->current_task, kind);
    w_clear_row(y + used, 0, CRT_NORMAL);
    w_text(y + used++, 0, COLS, CRT_STATUS_ERR, head);
    stuck_detail(s, v, width, who, sizeof(who));
    const char *p = who;
    for (int r = 0; r < STUCK_DETAIL_MAX && fmt_wrap_next(&p, width, row, sizeof(row)); r++) {
      w_clear_row(y + used, 0, CRT_NORMAL);
      w_text(y + used++, DETAIL_INDENT, width, CRT_STATUS_ERR, row);
    }
  }
  return used;
}

/* Text wrapped into rows [y, y + rows) from column x (the rows after the first indented by indent),
 * cut after the last row. */
static void draw_wrapped(int y, int x, int indent, int rows, crt_elem e, const char *text) {
  char line[512];
  const char *p = text;
  for (int r = 0; r < rows; r++) {
    int cx = r ? x + indent : x;
    if (!fmt_wrap_next(&p, COLS - cx, line, sizeof(line)))
      break;
    w_clear_row(y + r, 0, CRT_NORMAL);
    w_text(y + r, cx, COLS - cx, e, line);
  }
}

/* Rows draw_wrapped takes for text, at most max. */
static int wrapped_rows(const char *text, int x, int indent, int max) {
  const char *p = text;
  int r = 0;
  while (r < max && fmt_wrap_next(&p, COLS - (r ? x + indent : x), NULL, 0))
    r++;
  return r;
}

void screen_top_draw(live_view *s) {
  const global_view *g = &s->model.g;
  layout l = compute_layout(COLS);
  int y = HEADER_ROWS;
  char found[640];

  erase();
  draw_header(s);
  y += draw_banner(s, y);
  draw_colhead(s, y++, &l);

  /* Under the table, each in as many rows as its text needs at this width: stuck workers, the last
   * dump's findings, the status line; then the function bar. The table keeps at least two rows: the
   * status gives up rows first, then the findings, then the stuck workers. */
  int nstuck = g->nstuck > STUCK_MAX ? STUCK_MAX : (int)g->nstuck;
  found[0] = '\0';
  if (s->attention[0])
    xsnprintf(found, sizeof(found), "! last dump: %s (t shows it)", s->attention);
  int found_rows = found[0] ? wrapped_rows(found, 1, 2, FOUND_MAX_ROWS) : 0;
  int status_rows = s->status[0] ? wrapped_rows(s->status, 1, 0, STATUS_MAX_ROWS) : 1;
  int left = LINES - y - 1; /* rows between the column heads and the function bar */
  int srows = stuck_rows(s, nstuck);
  if (left - srows - found_rows - status_rows < 2 && status_rows > 1)
    status_rows = left - srows - found_rows - 2 > 1 ? left - srows - found_rows - 2 : 1;
  if (left - srows - found_rows - status_rows < 2 && found_rows > 1)
    found_rows = 1;
  while (nstuck > 1 && left - srows - found_rows - status_rows < 2)
    srows = stuck_rows(s, --nstuck);
  int avail = left - srows - found_rows - status_rows;
  if (avail < 1)
    avail = 1;
  uint32_t n = g->nworkers;
  /* The spawn sites go right under the workers' rows and take what those leave, at most half when
   * both want more; the table needs a blank row, its title, its heads and a site row at least. */
  int want_sites = sites_table_rows(&s->model.sites), site_rows = 0, total = avail;
  if (want_sites) {
    int wrows = total - want_sites - 1;
    wrows = wrows > total / 2 ? wrows : total / 2;
    if (wrows > (int)n)
      wrows = (int)n;
    site_rows = total - wrows;
    if (site_rows > want_sites + 1)
      site_rows = want_sites + 1;
    if (site_rows < 4)
      site_rows = 0;
    else
      avail = wrows;
  }
  s->table_rows = (uint32_t)avail;
  if (s->selected >= n && n)
    s->selected = n - 1;
  /* Keep the selection visible. */
  if (s->selected < s->scroll)
    s->scroll = s->selected;
  if (s->selected >= s->scroll + (uint32_t)avail)
    s->scroll = s->selected - (uint32_t)avail + 1;
  if (s->scroll + (uint32_t)avail > n)
    s->scroll = n > (uint32_t)avail ? n - (uint32_t)avail : 0;

  worker_sort(s->model.w, n, s->sort, s->order);
  for (int r = 0; r < avail && s->scroll + (uint32_t)r < n; r++) {
    uint32_t pos = s->scroll + (uint32_t)r;
    uint32_t wi = s->order[s->sort_reverse ? n - 1 - pos : pos];
    draw_worker(s, y + r, &l, wi, pos == s->selected);
  }
  if (n > (uint32_t)avail)
    w_printf(y + avail - 1, COLS - 12, 12, CRT_DIM, " %u-%u/%u ", s->scroll + 1, s->scroll + (uint32_t)avail,
             n);
  y += avail;
  if (site_rows) {
    sites_table_draw(&s->model.sites, s->site_sort, y + 1, site_rows - 1);
    y += total - avail;
  }
  y += draw_stuck(s, y, nstuck);
  if (found_rows) {
    draw_wrapped(y, 1, 2, found_rows, CRT_STATUS_ERR, found);
    y += found_rows;
  }
  if (s->status[0])
    draw_wrapped(LINES - 1 - status_rows, 1, 0, status_rows, s->status_elem, s->status);
  w_function_bar(LINES - 1, s->base.cls->keys);
}
