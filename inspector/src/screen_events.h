/*
 * The live view's events screen (e): the newest events of the attached
 * target's event rings, all rings merged in time order (the newest at the
 * bottom), each row its ring and the line `sched-inspect events` prints
 * (event_text.c), read again at every refresh of the live view and
 * scrollable; when the target keeps no events, it says how to turn them on.
 */
#ifndef INSPECT_SCREEN_EVENTS_H
#define INSPECT_SCREEN_EVENTS_H

#include <stdint.h>

#include "schedrt/reader.h"
#include "screen.h"

/* Over reader (borrowed: the live view's, which outlives the screen), read every period_ns. pid and
 * runtime name the target in the title (runtime is copied). */
screen *screen_events_new(schedrt_reader *reader, long pid, const char *runtime, uint64_t period_ns);

#endif
