/*
 * The dump viewer (TUI): task list sortable by state, idle time, name and
 * worker, grouped by await point, with a detail panel. The dump comes from
 * the decoder in common/ (dump_read.h), sorting and grouping from
 * dump_group.c; this file only draws and moves the selection.
 */
#ifndef INSPECT_SCREEN_DUMP_H
#define INSPECT_SCREEN_DUMP_H

#include <stddef.h>

#include "keys.h"

struct schedrt_dump_doc;
typedef struct dump_view dump_view;

/* Loads path. NULL with a message in err on failure. */
dump_view *dump_view_open(const char *path, char *err, size_t errsize);
void dump_view_free(dump_view *v);
const struct schedrt_dump_doc *dump_view_doc(const dump_view *v);
void screen_dump_draw(dump_view *v);
/* Handles an action; returns 1 when the viewer should close. */
int screen_dump_key(dump_view *v, inspect_action a);

/* `show -t`: the viewer on its own. Returns an exit status. */
int dump_viewer_run(const char *path, int no_color);

#endif
