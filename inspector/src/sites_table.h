/*
 * The live view's SPAWN SITES table, under the workers: one row per spawn
 * site with its alive tasks, rates and (with timing) busy share and mean
 * schedule latency, leak suspects marked. Columns drop by priority as the
 * terminal narrows (latency, busy, polls/s, spawn/s); the site and the alive
 * count always stay.
 */
#ifndef INSPECT_SITES_TABLE_H
#define INSPECT_SITES_TABLE_H

#include "site_model.h"

/* Rows the table wants for its sites: a title, the column heads, one per site; 0 when there are none. */
int sites_table_rows(const site_model *m);
/* Draws the table into rows [y, y + rows) (rows >= 3), sorted by key. */
void sites_table_draw(const site_model *m, site_sort_key key, int y, int rows);

#endif
