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
#include "util.h"
#include "widgets.h"

#define HEADER_ROWS 4

/* The rate columns, named after their metrics in the list: "polls/s", "steals/s", "parks/s". */
static const int rate_cols[] = {SCHEDRT_M_polls, SCHEDRT_M_steals, SCHEDRT_M_parks};
#define NRATE (int)(sizeof(rate_cols) / sizeof(rate_cols[0]))
static const worker_sort_key rate_sort[NRATE] = {WSORT_POLLS, WSORT_STEALS, WSORT__COUNT};

/* Column widths, separators included. Sized so that 80 columns show every column. */
typedef struct layout {
  int w_idx, w_state, w_depth, w_bar, w_spark, w_rate[NRATE], w_busy, w_task;
} layout;

static layout compute_layout(int cols) {
  layout l = {.w_idx = 4, .w_state = 8, .w_depth = 6, .w_busy = 6};
  int fixed = l.w_idx + l.w_state + l.w_depth + l.w_busy;
  for (int i = 0; i < NRATE; i++) {
    /* As wide as the header ("steals/s") plus a separator, at least 7. */
    int w = (int)strlen(schedrt_metric_info((size_t)rate_cols[i])->name) + 3;
    l.w_rate[i] = w < 8 ? 8 : w;
    fixed += l.w_rate[i];
  }
  int rem = cols - fixed;
  const int task_min = 14;
  if (rem < task_min + 10) {
    l.w_bar = l.w_spark = 0; /* too narrow: drop the graphics, keep the numbers */
  } else {
    int extra = rem - task_min;
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
  const char *live = g->target_gone ? "EXITED" : schedrt_liveness_name(g->liveness);
  int lw = (int)strlen(live) + 2;
  w_printf(0, 0, COLS - lw, CRT_TITLE, " sched-inspect  pid %ld %s  runtime \"%s\"  up %s",
           (long)s->target.pid, info->comm[0] ? info->comm : "?", info->runtime_name,
           fmt_uptime(a, sizeof(a), g->uptime_ns));
  w_printf(0, COLS - lw, lw,
           g->target_gone || g->liveness != SCHEDRT_LIVENESS_LIVE ? CRT_BANNER_BAD : CRT_TITLE, " %s ", live);

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
  xsnprintf(b, sizeof(b), "%s%%", isnan(g->busy_pct) ? "-" : fmt_si(a, sizeof(a), round(g->busy_pct)));
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
    w_printf(y, 0, COLS, CRT_BANNER_BAD,
             " TARGET HUNG: heartbeat stopped %s ago (process stopped or its monitor is blocked); figures "
             "are frozen",
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
  COL(l->w_task, WSORT_RUNNING, 0, "TASK  RUNNING FOR");
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
  w_printf(y, x, l->w_state, row == CRT_NORMAL ? state_elem(v->state) : row, "%-*s ", l->w_state - 1,
           state_short(v->state));
  x += l->w_state;
  xsnprintf(a, sizeof(a), "%llu%s", (unsigned long long)v->depth, v->lifo ? "+1" : "");
  w_printf(y, x, l->w_depth, row, "%*s ", l->w_depth - 1, a);
  x += l->w_depth;
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
    w_printf(y, x, l->w_rate[i], row, "%*s ", l->w_rate[i] - 1, fmt_si(a, sizeof(a), v->rate[rate_cols[i]]));
    x += l->w_rate[i];
  }
  xsnprintf(b, sizeof(b), "%s", isnan(v->busy_pct) ? "-" : fmt_si(a, sizeof(a), round(v->busy_pct)));
  w_printf(y, x, l->w_busy, row, "%*s ", l->w_busy - 1, b);
  x += l->w_busy;
  if (v->current_task && v->state == SCHEDRT_WSTATE_RUNNING) {
    xsnprintf(b, sizeof(b), "#%llu", (unsigned long long)v->current_task);
    const char *dur = v->running_ns ? fmt_duration(a, sizeof(a), v->running_ns) : "";
    /* "STUCK" only where it fits: the row's colour (or reverse video) already says it. */
    if (v->stuck && (int)(strlen(b) + strlen(dur) + 8) <= l->w_task)
      xsnprintf(task, sizeof(task), "STUCK %s %s", b, dur);
    else
      xsnprintf(task, sizeof(task), "%s %s", b, dur);
    w_text(y, x, l->w_task, row, task);
  } else if (v->long_poll) {
    /* A long poll the runtime counted since the last refresh, its task not named. */
    xsnprintf(task, sizeof(task), "long poll %s", fmt_duration(a, sizeof(a), v->long_poll_ns));
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

/* One line per stuck worker (at most max): the task and, when known, its name and spawn site. */
static int draw_stuck(live_view *s, int y, int max) {
  int used = 0;
  char a[32], head[96], who[384];
  for (uint32_t i = 0; i < s->model.g.nworkers && used < max; i++) {
    const worker_view *v = &s->model.w[i];
    const char *name, *file, *func;
    uint64_t line;
    if (!v->stuck)
      continue;
    if (!v->current_task) {
      /* Flagged by the runtime's long-poll count alone: the poll was too short to be named. */
      w_clear_row(y + used, 0, CRT_NORMAL);
      w_printf(y + used, 0, COLS, CRT_STATUS_ERR,
               " ! worker %u: a %s poll since the last refresh (named past %u ms)", i,
               fmt_duration(a, sizeof(a), v->long_poll_ns), s->target.info->heartbeat_period_ms);
      used++;
      continue;
    }
    xsnprintf(head, sizeof(head), " ! worker %u stuck %s on task #%llu ", i,
              fmt_duration(a, sizeof(a), v->running_ns), (unsigned long long)v->current_task);
    int width = COLS - (int)strlen(head);
    if (v->current_file[0]) {
      /* The runtime named the long poll itself: no dump needed. */
      task_site(who, sizeof(who), v->current_name[0] ? v->current_name : NULL, v->current_file,
                v->current_line, NULL, width);
    } else if (live_view_dump_task(s, v->current_task, &name, &file, &line, &func) == 0) {
      if (file)
        task_site(who, sizeof(who), name, file, line, func, width);
      else
        xsnprintf(who, sizeof(who), "\"%s\" (spawn site unknown)", name ? name : "unnamed");
    } else {
      xsnprintf(who, sizeof(who),
                "(not named yet: the runtime names polls that outlast its monitor period; d dumps now)");
    }
    w_clear_row(y + used, 0, CRT_NORMAL);
    w_printf(y + used, 0, COLS, CRT_STATUS_ERR, "%s%s", head, who);
    used++;
  }
  return used;
}

void screen_top_draw(live_view *s) {
  const global_view *g = &s->model.g;
  layout l = compute_layout(COLS);
  int y = HEADER_ROWS;

  erase();
  draw_header(s);
  y += draw_banner(s, y);
  draw_colhead(s, y++, &l);

  /* Rows left for workers: leave the status line, the function bar, up to 3 stuck lines and the last
   * dump's findings. */
  int stuck_lines = g->nstuck > 3 ? 3 : (int)g->nstuck;
  int found_lines = s->attention[0] != '\0';
  int avail = LINES - y - 2 - stuck_lines - found_lines;
  if (avail < 1)
    avail = 1;
  s->table_rows = (uint32_t)avail;
  uint32_t n = g->nworkers;
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
  y += draw_stuck(s, y, stuck_lines);
  if (found_lines) {
    w_clear_row(y, 0, CRT_NORMAL);
    w_printf(y, 0, COLS, CRT_STATUS_ERR, " ! last dump: %s (t shows it)", s->attention);
  }

  w_clear_row(LINES - 2, 0, CRT_NORMAL);
  if (s->status[0])
    w_text(LINES - 2, 1, COLS - 1, s->status_elem, s->status);
  w_function_bar(LINES - 1, s->base.cls->keys);
}
