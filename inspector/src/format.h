/*
 * Human-readable numbers for the TUI and the text outputs, and the pure parts
 * of the bar and sparkline widgets (how many cells, which level), so that the
 * curses layer only puts characters on the screen. No curses here.
 */
#ifndef INSPECT_FORMAT_H
#define INSPECT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "850ns", "12.3us", "4.5ms", "1.23s", "2m05s", "3h02m", "5d03h". Returns buf. */
char *fmt_duration(char *buf, size_t size, uint64_t ns);
/* src made safe for a terminal: C0 and C1 control characters (U+0000..U+001F,
 * U+007F..U+009F, raw or UTF-8 encoded) and bytes that are not valid UTF-8
 * become "\xNN" escapes (a raw 0x9b is CSI on many terminals); valid UTF-8
 * text is kept. Truncated to fit buf. */
char *fmt_escape(char *buf, size_t size, const char *src);
/* Uptime: "02:03:04", "1d 02:03:04". */
char *fmt_uptime(char *buf, size_t size, uint64_t ns);
/* Compact quantity: "0", "7.5", "999", "1.2k", "12k", "1.2M", "3.4G"; "-" for NaN. */
char *fmt_si(char *buf, size_t size, double v);
/* Local wall-clock time of a CLOCK_REALTIME value: "12:00:01". */
char *fmt_clock(char *buf, size_t size, uint64_t realtime_ns);
/* Local date and time: "2024-01-31 12:00:01". */
char *fmt_datetime(char *buf, size_t size, uint64_t realtime_ns);
/* Local date and time for file names: "20240131-120001". */
char *fmt_stamp(char *buf, size_t size, uint64_t realtime_ns);

/*
 * A source site "file:line" in at most width columns (width <= 0: no limit),
 * the same everywhere a spawn or await site is printed. The line number
 * always stays: the whole path when it fits; else an ellipsis and as many of
 * the last directories as fit ("…/src/file.c:123"); else the base name
 * ("file.c:123"); else the base name's end ("…e.c:123"); a width too small
 * even for ":123" gets the line's last digits. utf8 picks the ellipsis: "…"
 * (one column) or "...". file NULL or "": "?". Returns buf.
 */
char *fmt_site(char *buf, size_t size, const char *file, uint64_t line, int width, int utf8);

/* Columns of UTF-8 text: one per character, as the widgets count them. */
size_t fmt_cols(const char *s);

/*
 * The next line of text wrapped at width columns (width >= 1): copied into
 * line (NULL with size 0: only counted), *p moved past it and the spaces
 * after it (spaces that start the text stay: an indent). Breaks at the last space
 * that fits, so a word (a number, a path) is never split unless it is alone
 * wider than width. Returns 0 when nothing is left.
 */
int fmt_wrap_next(const char **p, int width, char *line, size_t size);
/* How many lines fmt_wrap_next makes of text at width. */
int fmt_wrap_count(const char *text, int width);

/* Filled cells of a bar of `width` cells for value out of cap: never 0 for a non-zero value. */
unsigned bar_cells(uint64_t value, uint64_t cap, unsigned width);

/* Sparkline levels 0..8 (0: nothing, 8: full block) for n values scaled to max(values, floor). */
#define SPARK_LEVELS 8
void spark_levels(const uint32_t *values, size_t n, uint32_t floor, uint8_t *levels);
/* The glyph for a level: U+2581..U+2588 blocks in UTF-8, or ASCII " _.-=+*#@" otherwise. */
const char *spark_glyph(uint8_t level, int utf8);

#endif
