/*
 * The live view's keys and timed work: a snapshot every refresh period, the
 * asynchronous dump and its progress on the status line, the status line's
 * expiry. The loop (screen_manager.c) calls the tick; the worker panel, the
 * help and the dump viewer are screens this view opens on top of itself.
 */
#include "live_view.h"

#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_analysis.h"
#include "dump_client.h"
#include "dump_diff.h"
#include "dump_group.h"
#include "format.h"
#include "screen_diff.h"
#include "screen_dump.h"
#include "screen_events.h"
#include "screen_help.h"
#include "screen_tasks.h"
#include "screen_worker.h"
#include "task_feed.h"
#include "util.h"

#define NS_PER_TENTH 100000000ull
#define LIVENESS_PERIOD_NS 500000000ull /* full process checks at most twice a second */
/* Quitting with a dump or a refresh pending waits for its answer until the request's deadline (its timeout
 * and about 3 s), past which the runtime makes no object: nothing is left behind, even by a target stopped
 * meanwhile. */
#define QUIT_WAIT_NS UINT64_MAX

static const unsigned delay_steps[] = {1, 2, 5, 10, 20, 50, 100};
#define NSTEPS (sizeof(delay_steps) / sizeof(delay_steps[0]))

void live_view_status(live_view *lv, crt_elem e, uint64_t for_ns, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lv->status, sizeof(lv->status), fmt, ap);
  va_end(ap);
  lv->status_elem = e;
  lv->status_until_ns = for_ns ? inspect_now_ns() + for_ns : 0;
}

int live_view_dump_task(const live_view *lv, uint64_t task_id, const char **name, const char **file,
                        uint64_t *line, const char **func) {
  const schedrt_dump_doc *d = lv->last_doc;
  const schedrt_dump_task *t = d ? schedrt_dump_find_task(d, task_id) : NULL;
  if (!t)
    return -ENOENT;
  const schedrt_dump_site *sp = schedrt_dump_spawn_site(d, t);
  *name = t->name && t->name[0] ? t->name : NULL;
  *file = sp && sp->file ? sp->file : NULL;
  *line = sp ? (uint64_t)sp->line : 0;
  *func = sp && sp->func ? sp->func : NULL;
  return 0;
}

static void refresh_model(live_view *lv) {
  uint64_t now = inspect_now_ns();
  unsigned flags = 0;
  if (lv->source) {
    lv->snap_err = lv->source->take(lv, now);
    return;
  }
  /* The process checks (kill, /proc, flock) cost system calls: not at every 10 Hz tick. */
  if (now - lv->last_liveness_ns < LIVENESS_PERIOD_NS)
    flags |= SCHEDRT_SNAP_NO_LIVENESS;
  else
    lv->last_liveness_ns = now;
  int err = model_refresh(&lv->model, lv->target.reader, flags);
  lv->snap_err = err == SCHEDRT_ETORN ? 0 : err;
}

static void start_dump(live_view *lv) {
  dump_request req = {.timeout_ms = lv->opts->timeout_ms,
                      .label = "sched-inspect top",
                      .output_dir = lv->opts->output_dir,
                      .shm_dir = lv->opts->shm_dir};
  dump_outcome out;
  if (lv->dump || (lv->tasks && lv->tasks->client)) {
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "a dump is already in progress%s",
                     lv->dump ? "" : " (the task list's): d again in a moment");
    return;
  }
  if (lv->model.g.target_gone) {
    live_view_status(lv, CRT_STATUS_ERR, 0, "dump: the target has exited");
    return;
  }
  if (dump_client_start(&lv->target, &req, &lv->dump, &out)) {
    lv->dump = NULL;
    live_view_status(lv, CRT_STATUS_ERR, 0, "dump failed: %s", out.message);
    return;
  }
  live_view_status(lv, CRT_STATUS_INFO, 0, "dump: requested, waiting for the runtime...");
}

static void poll_dump(live_view *lv) {
  dump_outcome out;
  char a[32], err[256];
  if (!lv->dump)
    return;
  int rc = dump_client_poll(lv->dump, &out);
  if (rc == -EAGAIN) {
    live_view_status(lv, CRT_STATUS_INFO, 0, "dump: waiting for the runtime... %s",
                     fmt_duration(a, sizeof(a), dump_client_elapsed_ns(lv->dump)));
    return;
  }
  dump_client_free(lv->dump);
  lv->dump = NULL;
  if (!out.path[0]) {
    live_view_status(lv, CRT_STATUS_ERR, 0, "dump failed: %s", out.message);
    return;
  }
  /* Load it now: stuck workers get their task's name and spawn site from it, and `c` compares it with the
   * one before. */
  schedrt_dump_doc *d;
  xsnprintf(lv->last_dump, sizeof(lv->last_dump), "%s", out.path);
  if (schedrt_dump_load_ex(out.path, INSPECT_DUMP_FLAGS, &d, err, sizeof(err))) {
    live_view_status(lv, CRT_STATUS_ERR, 0, "%s; %s", out.message, err);
    return;
  }
  schedrt_dump_doc_free(lv->prev_doc);
  lv->prev_doc = lv->last_doc;
  lv->last_doc = d;
  xsnprintf(lv->prev_doc_path, sizeof(lv->prev_doc_path), "%s", lv->last_doc_path);
  xsnprintf(lv->last_doc_path, sizeof(lv->last_doc_path), "%s", out.path);
  dump_analysis an;
  dump_analyze(d, &an);
  dump_attention_line(lv->attention, sizeof(lv->attention), &an);
  dump_analysis_free(&an);
  crt_elem e = out.status == 0 ? CRT_STATUS_OK : CRT_STATUS_ERR;
  if (!lv->prev_doc || dump_diff_same_runtime(lv->prev_doc, d, err, sizeof(err))) {
    live_view_status(lv, e, 0, "%s", out.message);
    return;
  }
  /* The second dump on: what changed comes first, it is the news; the file after it. */
  dump_diff df;
  char what[256];
  dump_diff_build(lv->prev_doc, d, &df);
  if (df.nnew_lost || df.nnew_deadlocks)
    e = CRT_STATUS_ERR;
  live_view_status(lv, e, 0, "vs the previous dump (c compares): %s; %s",
                   dump_diff_summary(what, sizeof(what), &df), out.message);
  dump_diff_free(&df);
}

/* `c`: the last two dumps compared, in a screen over this view. */
static screen_result open_diff(live_view *lv) {
  char err[256];
  if (!lv->prev_doc || !lv->last_doc) {
    live_view_status(lv, CRT_STATUS_INFO, 3000000000ull, "compare needs two dumps: press d %s",
                     lv->last_doc ? "once more" : "twice");
    return screen_react(SCREEN_HANDLED);
  }
  if (dump_diff_same_runtime(lv->prev_doc, lv->last_doc, err, sizeof(err))) {
    live_view_status(lv, CRT_STATUS_ERR, 3000000000ull, "cannot compare: %s", err);
    return screen_react(SCREEN_HANDLED);
  }
  return screen_open(screen_diff_new(lv->prev_doc, lv->last_doc, lv->prev_doc_path, lv->last_doc_path));
}

/* `t`: the last dump, read afresh from its file, in a viewer over this view. */
static screen_result open_viewer(live_view *lv) {
  char err[256];
  if (!lv->last_dump[0]) {
    live_view_status(lv, CRT_STATUS_INFO, 3000000000ull, "no dump taken yet: press d first");
    return screen_react(SCREEN_HANDLED);
  }
  screen *v = screen_dump_new(lv->last_dump, err, sizeof(err));
  if (!v)
    live_view_status(lv, CRT_STATUS_ERR, 0, "cannot open %s: %s", lv->last_dump, err);
  return screen_open(v);
}

screen *live_view_open_tasks(live_view *lv, uint64_t period_ns) {
  if (!lv->tasks)
    lv->tasks = task_feed_new(&lv->target, lv->opts->timeout_ms, lv->opts->shm_dir,
                              (uint64_t)TASK_FEED_DEFAULT_PERIOD_MS * 1000000u);
  if (period_ns)
    task_feed_set_period(lv->tasks, period_ns, inspect_now_ns());
  return screen_tasks_new(lv->tasks, (long)lv->target.pid, lv->target.info->runtime_name);
}

/* The help of this view, with what its columns mean. */
static screen_result open_help(live_view *lv) {
  char stuck[128];
  xsnprintf(stuck, sizeof(stuck), "A worker polling one task for more than %.0f ms, or that had such a poll",
            (double)lv->model.stuck_ns / 1e6);
  const char *notes[] = {
      "DEPTH: local queue (+1: the LIFO slot is occupied); QUEUE: depth out of the ring's capacity; "
      "HISTORY: recent depths; rates per second over the refresh.",
      stuck,
      "since the last refresh (a long poll the runtime counted), is shown as STUCK.",
  };
  return screen_open(screen_help_new(lv->base.cls, notes, (int)(sizeof(notes) / sizeof(notes[0]))));
}

static void change_delay(live_view *lv, int faster) {
  size_t i = 0;
  while (i < NSTEPS && delay_steps[i] < lv->delay_tenths)
    i++;
  if (faster)
    i = i > 0 ? i - 1 : 0;
  else if (i < NSTEPS && delay_steps[i] == lv->delay_tenths)
    i = i + 1 < NSTEPS ? i + 1 : i;
  if (i >= NSTEPS)
    i = NSTEPS - 1;
  lv->delay_tenths = delay_steps[i];
  /* At once: a refresh due in 10 s under the old rate would leave the screen frozen that long. */
  uint64_t due = inspect_now_ns() + lv->delay_tenths * NS_PER_TENTH;
  if (due < lv->next_refresh_ns)
    lv->next_refresh_ns = due;
  live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "refresh every %.1f s", lv->delay_tenths / 10.0);
}

static uint32_t selected_worker(live_view *lv) {
  uint32_t n = lv->model.g.nworkers;
  if (!n)
    return 0;
  worker_sort(lv->model.w, n, lv->sort, lv->order);
  uint32_t pos = lv->selected < n ? lv->selected : n - 1;
  return lv->order[lv->sort_reverse ? n - 1 - pos : pos];
}

/* Also the keys the worker panel passes down while it is open. */
static screen_result key(screen *self, inspect_action a, int ch) {
  live_view *lv = (live_view *)self;
  size_t to;
  if (lv->source && lv->source->key) {
    screen_result r = lv->source->key(lv, a, ch);
    if (r.reaction != SCREEN_PASS)
      return r;
  }
  if (keys_nav_move(a, lv->selected, lv->model.g.nworkers, lv->table_rows ? lv->table_rows : 10, &to)) {
    lv->selected = (uint32_t)to;
    return screen_react(SCREEN_HANDLED);
  }
  switch (a) {
  case ACT_QUIT:
    return screen_react(SCREEN_QUIT);
  case ACT_HELP:
    return open_help(lv);
  case ACT_DUMP:
    start_dump(lv);
    break;
  case ACT_OPEN_DUMP:
    return open_viewer(lv);
  case ACT_COMPARE:
    return open_diff(lv);
  case ACT_LIVE_TASKS:
    return screen_open(live_view_open_tasks(lv, 0));
  case ACT_EVENTS:
    if (!lv->target.reader)
      return screen_react(SCREEN_HANDLED); /* a replay: no rings to read */
    return screen_open(screen_events_new(lv->target.reader, (long)lv->target.pid,
                                         lv->target.info->runtime_name, lv->delay_tenths * NS_PER_TENTH));
  case ACT_PAUSE:
    lv->paused = !lv->paused;
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, lv->paused ? "paused" : "resumed");
    break;
  case ACT_FASTER:
  case ACT_SLOWER:
    change_delay(lv, a == ACT_FASTER);
    break;
  case ACT_SORT:
    lv->sort = worker_sort_next(lv->sort);
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "sorted by %s%s", worker_sort_name(lv->sort),
                     lv->sort_reverse ? ", reversed" : "");
    break;
  case ACT_SITE_SORT:
    lv->site_sort = site_sort_next(lv->site_sort);
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "spawn sites sorted by %s",
                     site_sort_name(lv->site_sort));
    break;
  case ACT_REVERSE:
    lv->sort_reverse = !lv->sort_reverse;
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "sorted by %s, %s", worker_sort_name(lv->sort),
                     lv->sort_reverse ? "reversed" : "in order again");
    break;
  case ACT_ENTER:
    return screen_open(screen_worker_new(&lv->model, selected_worker(lv), (long)lv->target.pid,
                                         lv->target.info->runtime_name));
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    break;
  default:
    break;
  }
  return screen_react(SCREEN_HANDLED);
}

/*
 * A snapshot when the period is due (a paused view skips it, but the period
 * still counts for -n), the dump's progress, and the status line's expiry.
 * While a dump is pending, come back within a tenth: its progress is shown.
 */
static screen_tick tick(screen *self, uint64_t now) {
  live_view *lv = (live_view *)self;
  screen_tick t = {.due_ns = UINT64_MAX};
  if (now >= lv->next_refresh_ns) {
    if (!lv->paused)
      refresh_model(lv);
    lv->next_refresh_ns = now + lv->delay_tenths * NS_PER_TENTH;
    t.round = 1;
  }
  poll_dump(lv);
  /* The task list's refreshes, also the one in flight when the list closed. */
  uint64_t tasks_due = UINT64_MAX;
  int tasks_busy = 0;
  if (lv->tasks)
    tasks_due = task_feed_tick(lv->tasks, now, lv->dump != NULL, &tasks_busy);
  if (lv->status_until_ns && inspect_now_ns() > lv->status_until_ns) {
    lv->status[0] = '\0';
    lv->status_until_ns = 0;
  }
  t.due_ns = lv->next_refresh_ns;
  if (lv->status_until_ns && lv->status_until_ns < t.due_ns)
    t.due_ns = lv->status_until_ns;
  if (lv->dump) {
    t.busy = 1;
    if (now + NS_PER_TENTH < t.due_ns)
      t.due_ns = now + NS_PER_TENTH;
  }
  t.busy |= tasks_busy;
  if (tasks_due < t.due_ns)
    t.due_ns = tasks_due;
  return t;
}

static void draw(screen *self) { screen_top_draw((live_view *)self); }

static void free_screen(screen *self) { live_view_free((live_view *)self); }

static const screen_class live_class = {
    .name = "live view",
    .keys = keys_top,
    .draw = draw,
    .key = key,
    .tick = tick,
    .free = free_screen,
};

live_view *live_view_new(const inspect_opts *o, const inspect_target *t) {
  live_view *lv = xcalloc(1, sizeof(*lv));
  lv->base.cls = &live_class;
  lv->opts = o;
  lv->target = *t;
  lv->delay_tenths = o->delay_tenths;
  if (model_init(&lv->model, lv->target.reader, o->stuck_ns))
    inspect_fatal("out of memory");
  lv->order = xcalloc(lv->model.max_workers ? lv->model.max_workers : 1, sizeof(*lv->order));
  live_view_status(lv, CRT_STATUS_INFO, 3000000000ull, "attached in %.2f ms; h for help",
                   (double)lv->target.attach_ns / 1e6);
  return lv;
}

live_view *live_view_new_source(const inspect_opts *o, const inspect_target *t, const inspect_model *m,
                                const live_source *src) {
  live_view *lv = xcalloc(1, sizeof(*lv));
  lv->source = src;
  lv->source_cls = live_class;
  lv->source_cls.name = src->name;
  lv->source_cls.keys = src->keys;
  lv->base.cls = &lv->source_cls;
  lv->opts = o;
  lv->target = *t;
  lv->model = *m;
  lv->delay_tenths = o->delay_tenths;
  lv->order = xcalloc(lv->model.max_workers ? lv->model.max_workers : 1, sizeof(*lv->order));
  return lv;
}

void live_view_free(live_view *lv) {
  if (!lv)
    return;
  if (lv->source && lv->source->free)
    lv->source->free(lv);
  if (lv->dump)
    (void)dump_client_cancel(lv->dump, QUIT_WAIT_NS);
  dump_client_free(lv->dump);
  task_feed_free(lv->tasks, QUIT_WAIT_NS);
  schedrt_dump_doc_free(lv->last_doc);
  schedrt_dump_doc_free(lv->prev_doc);
  model_fini(&lv->model);
  target_detach(&lv->target);
  free(lv->order);
  free(lv);
}
