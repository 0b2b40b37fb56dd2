/*
 * The diff screen of the live view (`c` after two dumps): the report of
 * `sched-inspect diff` for the last two dumps taken, scrollable. The text is
 * made when the screen opens, so a dump taken meanwhile changes nothing under it.
 */
#ifndef INSPECT_SCREEN_DIFF_H
#define INSPECT_SCREEN_DIFF_H

#include "schedrt/dump_read.h"
#include "screen.h"

/* The diff of a (earlier) and b, labelled with their file names; neither is kept. */
screen *screen_diff_new(const schedrt_dump_doc *a, const schedrt_dump_doc *b, const char *name_a,
                        const char *name_b);

#endif
