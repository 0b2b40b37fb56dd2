/*
 * A task's row in a list of a dump's tasks: which columns fit a width (whole
 * columns go by priority, never part of a number) and each cell's text, the
 * await point's site keeping its line number. The live task list draws its
 * rows with it; the dump viewer shares the await point's texts. No curses:
 * the unit tests lay rows out at any width.
 */
#ifndef INSPECT_TASK_ROW_H
#define INSPECT_TASK_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/dump_read.h"

/* In the order they are drawn, left to right: the texts of variable width come last. */
typedef enum task_col {
  TCOL_MARK = 0, /* L, D or S: needs attention (dump_analysis.h) */
  TCOL_ID,
  TCOL_NAME,
  TCOL_STATE,
  TCOL_FOR, /* how long in its state: the idle time of an idle task, the running time of a running one */
  TCOL_POLLS,
  TCOL_WORKER,
  TCOL_AGE,
  TCOL_AWAIT,
  TCOL_SPAWN,
  TCOL__COUNT
} task_col;

typedef struct task_layout {
  int width[TCOL__COUNT]; /* columns each cell takes, its separator included; 0: left out */
} task_layout;

/*
 * The columns for a row of cols columns, for ids up to max_id and names of
 * up to name_cols columns. By priority: mark, name, state, for, await point,
 * polls, id (in this order until one does not fit: the rest are left out);
 * then the await point and the name widen (the name no wider than the
 * longest); then the spawn site, the worker and the age join where there is
 * room, and what is left widens the await point, the name and the spawn
 * site. The widths add up to cols (or less, below the first two columns).
 */
task_layout task_layout_for(int cols, uint64_t max_id, int name_cols);
/* The largest task id and the longest name (in columns) of d's tasks, for task_layout_for. */
void task_extent(const schedrt_dump_doc *d, uint64_t *max_id, int *name_cols);

/* The column heads ("! ID  NAME  STATE  FOR  POLLS  AWAIT"), laid out as the rows. Returns buf. */
char *task_row_head(char *buf, size_t size, const task_layout *l);
/* Task t of d laid out in l, mark in the first column (' ': none). utf8 picks the ellipsis of cut texts.
 * Returns buf. */
char *task_row_text(char *buf, size_t size, const task_layout *l, const schedrt_dump_doc *d,
                    const schedrt_dump_task *t, char mark, int utf8);

/* label in at most width columns, an ellipsis ("…", or "~" without UTF-8) ending it when it was cut. */
char *task_cut_label(char *buf, size_t size, const char *label, int width, int utf8);
/* An await point in at most width columns, its site first (the line number always kept), the label cut
 * to what is left: `await "label" at file:line` when quoted, else `label file:line`. */
char *task_fit_await(char *buf, size_t size, int quoted, const char *label, const char *file, uint64_t line,
                     int width, int utf8);

#endif
