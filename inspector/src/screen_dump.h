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
#include <stdint.h>

#include "screen.h"

/* Loads path into a viewer. NULL with a message in err on failure. */
screen *screen_dump_new(const char *path, char *err, size_t errsize);
/* A viewer of the dump in buf (len bytes, not kept), its title naming it as title, the task with id
 * task_id selected and its details open (when the dump holds it). NULL with a message in err. */
screen *screen_dump_new_mem(const void *buf, size_t len, const char *title, uint64_t task_id, char *err,
                            size_t errsize);

#endif
