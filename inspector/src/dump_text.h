/*
 * One-line texts of a dump's items, the same in the report, the diff, the
 * JSON-free parts of the viewer and the live view: await points, spawn
 * sites (always through fmt_site, so the line number stays whatever the
 * width), values the dump may leave out. No curses.
 */
#ifndef INSPECT_DUMP_TEXT_H
#define INSPECT_DUMP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "schedrt/dump_read.h"

/* "await \"label\" at file:line" / "no await point recorded"; the site in at most site_width columns
 * (<= 0: whole). Returns buf. */
char *dump_await_text(char *buf, size_t size, const char *label, const char *file, uint64_t line,
                      int site_width, int utf8);
/* The same for a task's await site (NULL: none recorded). */
char *dump_await_site_text(char *buf, size_t size, const schedrt_dump_site *aw, int site_width, int utf8);
/* "spawned at file:line (func)" / "spawn site unknown". Returns buf. */
char *dump_spawn_text(char *buf, size_t size, const schedrt_dump_site *sp, int site_width, int utf8);
/* "file:line (func)" / "?" for tables. Returns buf. */
char *dump_site_cell(char *buf, size_t size, const schedrt_dump_site *sp, int site_width, int utf8);
/* A count, duration or task id that the dump may leave out (SCHEDRT_DUMP_NONE): "-" then. */
char *dump_opt_count(char *buf, size_t size, int64_t v);
char *dump_opt_duration(char *buf, size_t size, int64_t ns);

#endif
