/*
 * The live view's main loop (htop's ScreenManager_run): take a snapshot when
 * the refresh period is due, draw the screen that is on top, wait for a key
 * with halfdelay (ERR is the idle tick), dispatch the key through the screen's
 * key table. Dumps run asynchronously: the status line follows them.
 */
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_client.h"
#include "dump_group.h"
#include "format.h"
#include "screen_dump.h"
#include "tui.h"
#include "util.h"
#include "widgets.h"

#define NS_PER_TENTH 100000000ull
#define LIVENESS_PERIOD_NS 500000000ull /* full process checks at most twice a second */

static const unsigned delay_steps[] = {1, 2, 5, 10, 20, 50, 100};
#define NSTEPS (sizeof(delay_steps) / sizeof(delay_steps[0]))

void tui_status(tui_state *s, crt_elem e, uint64_t for_ns, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->status, sizeof(s->status), fmt, ap);
  va_end(ap);
  s->status_elem = e;
  s->status_until_ns = for_ns ? inspect_now_ns() + for_ns : 0;
}

char *tui_task_label(tui_state *s, uint64_t task_id, char *buf, size_t size) {
  const schedrt_dump_doc *d = s->last_view ? dump_view_doc(s->last_view) : NULL;
  const schedrt_dump_task *t = d ? schedrt_dump_find_task(d, task_id) : NULL;
  if (!t)
    return xsnprintf(buf, size,
                     "(not named yet: the runtime names polls that outlast its monitor period; d dumps now)");
  /* The base name: a status line has no room for build paths. */
  const schedrt_dump_site *sp = schedrt_dump_spawn_site(d, t);
  const char *file = sp && sp->file ? sp->file : "?";
  const char *slash = strrchr(file, '/');
  return xsnprintf(buf, size, "\"%s\" spawned at %s:%llu (%s)", t->name && t->name[0] ? t->name : "unnamed",
                   slash ? slash + 1 : file, sp ? (unsigned long long)sp->line : 0ull,
                   sp && sp->func ? sp->func : "?");
}

static void refresh_model(tui_state *s) {
  uint64_t now = inspect_now_ns();
  unsigned flags = 0;
  /* The process checks (kill, /proc, flock) cost system calls: not at every 10 Hz tick. */
  if (now - s->last_liveness_ns < LIVENESS_PERIOD_NS)
    flags |= SCHEDRT_SNAP_NO_LIVENESS;
  else
    s->last_liveness_ns = now;
  int err = model_refresh(&s->model, s->target.reader, flags);
  s->snap_err = err == SCHEDRT_ETORN ? 0 : err;
}

static void start_dump(tui_state *s) {
  dump_request req = {.timeout_ms = s->opts->timeout_ms,
                      .label = "sched-inspect top",
                      .output_dir = s->opts->output_dir,
                      .shm_dir = s->opts->shm_dir};
  dump_outcome out;
  if (s->dump) {
    tui_status(s, CRT_STATUS_INFO, 2000000000ull, "a dump is already in progress");
    return;
  }
  if (s->model.g.target_gone) {
    tui_status(s, CRT_STATUS_ERR, 0, "dump: the target has exited");
    return;
  }
  if (dump_client_start(&s->target, &req, &s->dump, &out)) {
    s->dump = NULL;
    tui_status(s, CRT_STATUS_ERR, 0, "dump failed: %s", out.message);
    return;
  }
  tui_status(s, CRT_STATUS_INFO, 0, "dump: requested, waiting for the runtime...");
}

static void poll_dump(tui_state *s) {
  dump_outcome out;
  char a[32], err[256];
  if (!s->dump)
    return;
  int rc = dump_client_poll(s->dump, &out);
  if (rc == -EAGAIN) {
    tui_status(s, CRT_STATUS_INFO, 0, "dump: waiting for the runtime... %s",
               fmt_duration(a, sizeof(a), dump_client_elapsed_ns(s->dump)));
    return;
  }
  dump_client_free(s->dump);
  s->dump = NULL;
  if (!out.path[0]) {
    tui_status(s, CRT_STATUS_ERR, 0, "dump failed: %s", out.message);
    return;
  }
  xsnprintf(s->last_dump, sizeof(s->last_dump), "%s", out.path);
  /* Load it now: stuck workers get their task's name and spawn site from it. */
  dump_view *v = dump_view_open(out.path, err, sizeof(err));
  if (v) {
    dump_view_free(s->last_view);
    s->last_view = v;
  }
  tui_status(s, out.status == 0 ? CRT_STATUS_OK : CRT_STATUS_ERR, 0, "%s%s%s", out.message, v ? "" : "; ",
             v ? "" : err);
}

static void open_viewer(tui_state *s) {
  char err[256];
  if (!s->last_dump[0]) {
    tui_status(s, CRT_STATUS_INFO, 3000000000ull, "no dump taken yet: press d first");
    return;
  }
  dump_view *v = dump_view_open(s->last_dump, err, sizeof(err));
  if (!v) {
    tui_status(s, CRT_STATUS_ERR, 0, "cannot open %s: %s", s->last_dump, err);
    return;
  }
  s->viewer = v;
}

static void change_delay(tui_state *s, int faster) {
  size_t i = 0;
  while (i < NSTEPS && delay_steps[i] < s->delay_tenths)
    i++;
  if (faster)
    i = i > 0 ? i - 1 : 0;
  else if (i < NSTEPS && delay_steps[i] == s->delay_tenths)
    i = i + 1 < NSTEPS ? i + 1 : i;
  if (i >= NSTEPS)
    i = NSTEPS - 1;
  s->delay_tenths = delay_steps[i];
  tui_status(s, CRT_STATUS_INFO, 2000000000ull, "refresh every %.1f s", s->delay_tenths / 10.0);
}

static void move_selection(tui_state *s, long delta) {
  long n = (long)s->model.g.nworkers;
  long sel = (long)s->selected + delta;
  if (sel >= n)
    sel = n - 1;
  if (sel < 0)
    sel = 0;
  s->selected = (uint32_t)sel;
}

static uint32_t selected_worker(tui_state *s) {
  uint32_t n = s->model.g.nworkers;
  if (!n)
    return 0;
  worker_sort(s->model.w, n, s->sort, s->order);
  uint32_t pos = s->selected < n ? s->selected : n - 1;
  return s->order[s->sort_reverse ? n - 1 - pos : pos];
}

static void top_key(tui_state *s, int ch) {
  inspect_action a = keys_lookup(keys_top, ch);
  long page = s->table_rows ? (long)s->table_rows : 10;
  if (s->detail) {
    /* The worker panel: Up/Down step through workers, Esc/Enter close it. */
    if (a == ACT_BACK || a == ACT_ENTER) {
      s->detail = 0;
      return;
    }
    if (a == ACT_UP || a == ACT_DOWN) {
      uint32_t n = s->model.g.nworkers;
      if (n)
        s->detail_worker = (s->detail_worker + (a == ACT_UP ? n - 1 : 1)) % n;
      return;
    }
  }
  switch (a) {
  case ACT_QUIT:
    s->quit = 1;
    break;
  case ACT_HELP:
    s->help_table = keys_top;
    s->help_scroll = 0;
    break;
  case ACT_DUMP:
    start_dump(s);
    break;
  case ACT_OPEN_DUMP:
    open_viewer(s);
    break;
  case ACT_PAUSE:
    s->paused = !s->paused;
    tui_status(s, CRT_STATUS_INFO, 2000000000ull, s->paused ? "paused" : "resumed");
    break;
  case ACT_FASTER:
  case ACT_SLOWER:
    change_delay(s, a == ACT_FASTER);
    break;
  case ACT_SORT:
    s->sort = worker_sort_next(s->sort);
    tui_status(s, CRT_STATUS_INFO, 2000000000ull, "sorted by %s", worker_sort_name(s->sort));
    break;
  case ACT_REVERSE:
    s->sort_reverse = !s->sort_reverse;
    break;
  case ACT_UP:
    move_selection(s, -1);
    break;
  case ACT_DOWN:
    move_selection(s, 1);
    break;
  case ACT_PGUP:
    move_selection(s, -page);
    break;
  case ACT_PGDN:
    move_selection(s, page);
    break;
  case ACT_HOME:
    s->selected = 0;
    break;
  case ACT_END:
    move_selection(s, (long)s->model.g.nworkers);
    break;
  case ACT_ENTER:
    s->detail = 1;
    s->detail_worker = selected_worker(s);
    break;
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    break;
  default:
    break;
  }
}

static void help_key(tui_state *s, int ch) {
  inspect_action a = keys_lookup(keys_help, ch);
  if (a == ACT_UP) {
    if (s->help_scroll)
      s->help_scroll--;
  } else if (a == ACT_DOWN) {
    s->help_scroll++;
  } else {
    s->help_table = NULL;
  }
}

static void draw(tui_state *s) {
  if (s->status_until_ns && inspect_now_ns() > s->status_until_ns) {
    s->status[0] = '\0';
    s->status_until_ns = 0;
  }
  if (s->help_table)
    screen_help_draw(s->help_table, &s->help_scroll, s->model.stuck_ns);
  else if (s->viewer)
    screen_dump_draw(s->viewer);
  else if (s->detail)
    screen_worker_draw(s);
  else
    screen_top_draw(s);
}

static void loop(tui_state *s) {
  uint64_t next = 0;
  long iterations = 0;
  while (!s->quit && !crt_stop_signal()) {
    uint64_t now = inspect_now_ns();
    if (now >= next) {
      if (!s->paused)
        refresh_model(s);
      next = now + s->delay_tenths * NS_PER_TENTH;
      iterations++;
    }
    poll_dump(s);
    draw(s);
    if (s->opts->max_iterations && iterations >= s->opts->max_iterations && !s->dump) {
      refresh();
      break;
    }
    /* Wake for the next refresh, or sooner while a dump is pending (its progress is shown). */
    now = inspect_now_ns();
    uint64_t wait = next > now ? next - now : 0;
    if (s->dump && wait > NS_PER_TENTH)
      wait = NS_PER_TENTH;
    crt_set_delay((unsigned)((wait + NS_PER_TENTH - 1) / NS_PER_TENTH));
    int ch = getch();
    if (ch == ERR)
      continue;
    if (ch == KEY_RESIZE) {
      clearok(curscr, TRUE);
      continue;
    }
    if (s->help_table) {
      help_key(s, ch);
    } else if (s->viewer) {
      inspect_action a = keys_lookup(keys_dump, ch);
      if (a == ACT_HELP) {
        s->help_table = keys_dump;
        s->help_scroll = 0;
      } else if (screen_dump_key(s->viewer, a)) {
        dump_view_free(s->viewer);
        s->viewer = NULL;
      }
    } else {
      top_key(s, ch);
    }
  }
}

int tui_run(const inspect_opts *o) {
  tui_state s;
  char msg[512];
  memset(&s, 0, sizeof(s));
  s.opts = o;
  s.delay_tenths = o->delay_tenths;

  /* Attach before entering curses, so an error reads like any other command's. */
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  int err = target_attach(o->pid, &ao, &s.target);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
    return target_exit_code(err);
  }
  if (model_init(&s.model, s.target.reader, o->stuck_ns))
    inspect_fatal("out of memory");
  s.order = xcalloc(s.model.max_workers ? s.model.max_workers : 1, sizeof(*s.order));
  s.attached = 1;
  if (crt_init(o->no_color, s.delay_tenths)) {
    model_fini(&s.model);
    target_detach(&s.target);
    free(s.order);
    return INSPECT_EXIT_USAGE;
  }
  tui_status(&s, CRT_STATUS_INFO, 3000000000ull, "attached in %.2f ms; h for help",
             (double)s.target.attach_ns / 1e6);
  loop(&s);
  crt_done();

  int sig = crt_stop_signal();
  if (s.dump) {
    dump_client_free(s.dump);
    fprintf(stderr, INSPECT_PROG ": a dump was still pending; the runtime removes it after a while\n");
  }
  dump_view_free(s.viewer);
  dump_view_free(s.last_view);
  if (s.last_dump[0])
    fprintf(stderr, INSPECT_PROG ": last dump saved to %s\n", s.last_dump);
  model_fini(&s.model);
  target_detach(&s.target);
  free(s.order);
  return sig ? 128 + sig : INSPECT_EXIT_OK;
}
