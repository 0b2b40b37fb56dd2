/* Drawing primitives (see widgets.h). */
#include "widgets.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "format.h"

/* Byte length of the first `cols` characters of a UTF-8 string. */
static size_t utf8_prefix(const char *s, int cols, int *used) {
  size_t i = 0;
  int c = 0;
  while (s[i] && c < cols) {
    unsigned char b = (unsigned char)s[i];
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    for (size_t k = 1; k < len; k++)
      if (!s[i + k])
        len = k;
    i += len;
    c++;
  }
  *used = c;
  return i;
}

int w_text(int y, int x, int maxw, crt_elem e, const char *s) {
  if (maxw <= 0 || y < 0 || y >= LINES || x >= COLS)
    return 0;
  if (x + maxw > COLS)
    maxw = COLS - x;
  int used;
  size_t n = utf8_prefix(s, maxw, &used);
  attrset(crt_attr[e]);
  mvaddnstr(y, x, s, (int)n);
  attrset(A_NORMAL);
  return used;
}

int w_printf(int y, int x, int maxw, crt_elem e, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return w_text(y, x, maxw, e, buf);
}

void w_clear_row(int y, int x, crt_elem e) {
  if (y < 0 || y >= LINES)
    return;
  attrset(crt_attr[e]);
  mvhline(y, x, ' ', COLS - x);
  attrset(A_NORMAL);
}

/*
 * Bars and sparklines are most of the cells on a big screen. Their glyphs are
 * converted to cchar_t once, so each refresh writes cells with add_wchnstr and
 * skips the per-character multibyte decoding of addstr (a third of the CPU at
 * 10 Hz with 64 workers on screen).
 */
static cchar_t spark_cc[SPARK_LEVELS + 1], bar_full_cc, bar_empty_cc, blank_cc;
static int cc_ready;

static void cell(cchar_t *cc, const char *utf8, crt_elem e) {
  wchar_t wc[2] = {L' ', L'\0'};
  if (mbtowc(&wc[0], utf8, strlen(utf8)) <= 0)
    wc[0] = L'?';
  attr_t a = (attr_t)crt_attr[e];
  setcchar(cc, wc, a & ~A_COLOR, (short)PAIR_NUMBER(a), NULL);
}

static void prepare_cells(void) {
  for (uint8_t l = 0; l <= SPARK_LEVELS; l++)
    cell(&spark_cc[l], spark_glyph(l, crt_utf8), CRT_SPARK);
  cell(&bar_full_cc, crt_utf8 ? "\u2588" : "|", CRT_BAR);
  cell(&bar_empty_cc, crt_utf8 ? "\u00b7" : ".", CRT_DIM);
  cell(&blank_cc, " ", CRT_NORMAL);
  cc_ready = 1;
}

void w_bar(int y, int x, int width, uint64_t value, uint64_t cap) {
  cchar_t cells[256];
  if (width <= 0)
    return;
  if (width > 256)
    width = 256;
  if (!cc_ready)
    prepare_cells();
  unsigned full = bar_cells(value, cap, (unsigned)width);
  for (int i = 0; i < width; i++)
    cells[i] = (unsigned)i < full ? bar_full_cc : bar_empty_cc;
  mvadd_wchnstr(y, x, cells, width);
}

void w_spark(int y, int x, int width, const uint32_t *values, uint32_t n, uint32_t floor) {
  uint8_t levels[256];
  cchar_t cells[256];
  if (width <= 0)
    return;
  if (width > 256)
    width = 256;
  if (!cc_ready)
    prepare_cells();
  if (n > (uint32_t)width) {
    values += n - (uint32_t)width;
    n = (uint32_t)width;
  }
  spark_levels(values, n, floor, levels);
  int pad = width - (int)n;
  for (int i = 0; i < pad; i++)
    cells[i] = blank_cc;
  for (uint32_t i = 0; i < n; i++)
    cells[pad + (int)i] = spark_cc[levels[i]];
  mvadd_wchnstr(y, x, cells, width);
}

/* "+-" reads better than "-" for the refresh-rate pair. */
static const char *bar_key_name(const key_binding *k) { return k->action == ACT_SLOWER ? "+-" : k->name; }

/* Columns of one function bar item: "d Dump   " (key, space, label in pad, space). */
static int bar_item_cols(const key_binding *k, int pad) {
  int label = (int)strlen(k->bar);
  return (int)strlen(bar_key_name(k)) + 1 + (label > pad ? label : pad) + 1;
}

void w_function_bar(int y, const key_binding *table) {
  enum { MAX_ITEMS = 32 };
  const key_binding *items[MAX_ITEMS];
  int keep[MAX_ITEMS], n = 0, total = 0, wide = 0, pad = 6;
  for (const key_binding *k = table; k->key && n < MAX_ITEMS; k++)
    if (k->bar) {
      items[n] = k;
      keep[n] = 1;
      wide += bar_item_cols(k, 6);
      total += bar_item_cols(k, 0) + 1;
      n++;
    }
  /* Labels in columns of 6 where they fit; else each item's own width and two spaces between. */
  if (wide <= COLS) {
    total = wide;
  } else {
    pad = 0;
  }
  /* Too narrow: whole items go, from the right, but help and quit stay (a cut label helps nobody). */
  for (int i = n - 1; i >= 0 && total > COLS; i--)
    if (items[i]->action != ACT_HELP && items[i]->action != ACT_QUIT && items[i]->action != ACT_BACK) {
      keep[i] = 0;
      total -= bar_item_cols(items[i], pad) + (pad ? 0 : 1);
    }
  int x = 0;
  w_clear_row(y, 0, CRT_NORMAL);
  for (int i = 0; i < n && x < COLS; i++) {
    if (!keep[i])
      continue;
    x += w_text(y, x, COLS - x, CRT_FKEY, bar_key_name(items[i]));
    x += w_printf(y, x, COLS - x, CRT_FLABEL, " %-*s", pad, items[i]->bar);
    x += w_text(y, x, COLS - x, CRT_NORMAL, pad ? " " : "  ");
  }
}
