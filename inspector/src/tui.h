/*
 * State of the interactive program, shared by the main loop (tui.c) and the
 * screens that draw it (screen_top.c, screen_help.c, screen_dump.c).
 */
#ifndef INSPECT_TUI_H
#define INSPECT_TUI_H

#include <limits.h>
#include <stdint.h>

#include "attach.h"
#include "cli.h"
#include "crt.h"
#include "keys.h"
#include "snapshot_model.h"
#include "worker_sort.h"

struct dump_client;
struct dump_view;

typedef struct tui_state {
  const inspect_opts *opts;
  inspect_target target;
  inspect_model model;
  int attached; /* top mode; 0 for `show -t` */
  int paused;
  unsigned delay_tenths;
  int snap_err; /* last snapshot error (0: fine) */
  uint64_t last_liveness_ns;
  worker_sort_key sort;
  int sort_reverse;
  uint32_t *order;   /* [max_workers] display order */
  uint32_t scroll;   /* first worker row shown */
  uint32_t selected; /* selected row (display position) */
  int detail;        /* the selected worker's detail panel is open */
  uint32_t detail_worker;
  uint32_t table_rows; /* worker rows that fit: set by the last draw, for paging */
  /* Help overlay: open when help_table != NULL. */
  const key_binding *help_table;
  uint32_t help_scroll;
  /* Status line. */
  char status[512];
  crt_elem status_elem;
  uint64_t status_until_ns; /* 0: stays */
  /* Dumps: one in flight at a time; the last one saved, for `t`. */
  struct dump_client *dump;
  char last_dump[PATH_MAX];
  struct dump_view *viewer;    /* the dump viewer, when open */
  struct dump_view *last_view; /* the last dump taken, loaded: names and spawn sites of stuck tasks */
  int quit;
} tui_state;

void tui_status(tui_state *s, crt_elem e, uint64_t for_ns, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Screens draw the whole terminal from the state; the loop's getch() refreshes. */
void screen_top_draw(tui_state *s);
/* The help of a key table; *scroll is clamped. stuck_ns is quoted in the live view's help. */
void screen_help_draw(const key_binding *table, uint32_t *scroll, uint64_t stuck_ns);
/* Every metric of one worker, generated from the metric list. */
void screen_worker_draw(tui_state *s);

/* "\"name\" spawned at file:line (func)" for a task id from the last dump, or a hint; returns buf. */
char *tui_task_label(tui_state *s, uint64_t task_id, char *buf, size_t size);

#endif
