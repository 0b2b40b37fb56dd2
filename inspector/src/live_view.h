/*
 * The live view (`sched-inspect top PID`), the bottom screen of its loop: the
 * attached target, its model, the worker table's order and selection, the
 * status line, and the dumps it takes. live_view.c changes this state (keys
 * and timed work), screen_top.c draws it; no other screen reads it.
 */
#ifndef INSPECT_LIVE_VIEW_H
#define INSPECT_LIVE_VIEW_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "cli.h"
#include "crt.h"
#include "schedrt/dump_read.h"
#include "screen.h"
#include "snapshot_model.h"
#include "worker_sort.h"

struct dump_client;
struct task_feed;
struct live_view;

/*
 * Where the view's snapshots come from when it is not the attached target
 * (the seam a recording's replay uses, replay.c): the refresh, keys looked at
 * before the view's own, and the header's corner. The view draws and sorts
 * as ever; it takes no dumps (the source's key table binds none).
 */
typedef struct live_source {
  const char *name;        /* the screen's name in its help */
  const key_binding *keys; /* its key table */
  /* Puts the next snapshot into lv->model when a refresh is due (never while paused). 0, or an error
   * for the banner. */
  int (*take)(struct live_view *lv, uint64_t now_ns);
  /* SCREEN_PASS: the view handles the key as always (after the source saw it). */
  screen_result (*key)(struct live_view *lv, inspect_action a, int ch);
  /* The header's corner instead of the liveness ("REPLAY 2x"). */
  const char *(*badge)(const struct live_view *lv, char *buf, size_t size);
  void (*free)(struct live_view *lv);
  void *ctx;
} live_source;

typedef struct live_view {
  screen base;
  const live_source *source; /* NULL: the attached target */
  screen_class source_cls;   /* with a source: the live view's class with its name and keys */
  const inspect_opts *opts;
  inspect_target target;
  inspect_model model;
  int snap_err; /* last snapshot error (0: fine) */
  uint64_t last_liveness_ns;
  /* Refresh. */
  int paused;
  unsigned delay_tenths;
  uint64_t next_refresh_ns;
  /* The worker table. */
  worker_sort_key sort;
  int sort_reverse;
  uint32_t *order;     /* [max_workers] display order */
  uint32_t scroll;     /* first worker row shown */
  uint32_t selected;   /* selected row (display position) */
  uint32_t table_rows; /* worker rows that fit: set by the last draw, for paging */
  /* The spawn-site table (model.sites) under the workers. */
  site_sort_key site_sort;
  /* Status line. */
  char status[512];
  crt_elem status_elem;
  uint64_t status_until_ns; /* 0: stays */
  /* Dumps: one in flight at a time; the last one saved, for `t`, and the one before, for `c`. */
  struct dump_client *dump;
  char last_dump[PATH_MAX];
  schedrt_dump_doc *last_doc; /* the last dump taken that loaded: names and spawn sites of stuck tasks */
  schedrt_dump_doc *prev_doc; /* the one before it: what `c` compares the last one with */
  char last_doc_path[PATH_MAX], prev_doc_path[PATH_MAX];
  /* The last dump's lost wake-ups and deadlocks, one line (dump_attention_line), or "". */
  char attention[512];
  /* The live task list's dumps (T, --tasks-every): NULL until it was first opened. */
  struct task_feed *tasks;
} live_view;

/* Takes over an attached target (detached by live_view_free). Fails hard on ENOMEM. */
live_view *live_view_new(const inspect_opts *o, const inspect_target *t);
/* A view fed by src: takes over t (its reader may be NULL; info and pid are shown) and a model already
 * initialised (model_init_raw); src->free runs in live_view_free. */
live_view *live_view_new_source(const inspect_opts *o, const inspect_target *t, const inspect_model *m,
                                const live_source *src);
/* The status line, from a source: for for_ns (0: until replaced). */
void live_view_status(live_view *lv, crt_elem e, uint64_t for_ns, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void live_view_free(live_view *lv);

/* The live task list over this view, its feed made on first use; period_ns 0 keeps the feed's period
 * (2 s at first). */
screen *live_view_open_tasks(live_view *lv, uint64_t period_ns);

/* The live view's whole terminal from its state (screen_top.c); sets table_rows and keeps the
 * selection in sight. */
void screen_top_draw(live_view *s);

/* A task's name, spawn site and function as the last dump taken records them
 * (each NULL when the dump has none; the strings live as long as that dump).
 * 0, or -ENOENT when no dump of this session holds the task. */
int live_view_dump_task(const live_view *lv, uint64_t task_id, const char **name, const char **file,
                        uint64_t *line, const char **func);

#endif
