/*
 * The events of a watchdog dump (format 1.4, the "events" key): the text
 * report's section and show --json's analysis.events, each event as
 * `sched-inspect events` writes it (event_text.c), its tasks named from the
 * dump's own task list (name and spawn site). No curses.
 */
#ifndef INSPECT_DUMP_EVENTS_H
#define INSPECT_DUMP_EVENTS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "schedrt/dump_read.h"

/* The EVENTS section (nothing for a dump without events): per ring, oldest first, the newest per_ring
 * events of each (0: all). */
void dump_events_print(const schedrt_dump_doc *d, FILE *f, size_t per_ring);
/* {"window_ns", "copied_mono_ns", "newest_ns", "rings": [{"worker" | "other", "written", "lost", "torn",
 * "cut", "events": [event as events --json]}]}, or NULL for a dump without events. */
json_t *dump_events_json(const schedrt_dump_doc *d);

#endif
