/*
 * Drawing primitives shared by the screens: clipped text, bars, sparklines,
 * the status line and the function bar. Geometry comes from format.c; this
 * file only puts characters on the screen.
 */
#ifndef INSPECT_WIDGETS_H
#define INSPECT_WIDGETS_H

#include <stddef.h>
#include <stdint.h>

#include "crt.h"
#include "keys.h"

/* Writes s at (y, x), at most maxw columns (ASCII/UTF-8 text; one column per character). Returns columns
 * used. */
int w_text(int y, int x, int maxw, crt_elem e, const char *s);
int w_printf(int y, int x, int maxw, crt_elem e, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Paints row y with element e's background from column x to the right edge. */
void w_clear_row(int y, int x, crt_elem e);
/* A bar of width cells for value out of cap. */
void w_bar(int y, int x, int width, uint64_t value, uint64_t cap);
/* A sparkline of the last width values (right-aligned: the newest at the right). */
void w_spark(int y, int x, int width, const uint32_t *values, uint32_t n, uint32_t floor);
/* The bottom line: "d Dump  t Tasks ..." from the table's bar labels. */
void w_function_bar(int y, const key_binding *table);

#endif
