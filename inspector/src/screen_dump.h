/*
 * The dump viewer screen: task list sortable by state, idle time, name and
 * worker, grouped by await point, with a detail panel. The dump comes from
 * the decoder in common/ (dump_read.h), sorting and grouping from
 * dump_group.c; this file only draws and moves the selection. The live view
 * opens it with `t`; `show -t` runs it alone.
 */
#ifndef INSPECT_SCREEN_DUMP_H
#define INSPECT_SCREEN_DUMP_H

#include <stddef.h>

#include "screen.h"

/* Loads path into a viewer. NULL with a message in err on failure. */
screen *screen_dump_new(const char *path, char *err, size_t errsize);

#endif
