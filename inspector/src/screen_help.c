/* The help overlay: generated from the key table of the screen that opened it. */
#include <curses.h>

#include "tui.h"
#include "widgets.h"

void screen_help_draw(const key_binding *table, uint32_t *scroll, uint64_t stuck_ns) {
  size_t n = keys_help_count(table);
  char line[256];
  int y = 0;

  erase();
  w_clear_row(y, 0, CRT_TITLE);
  w_text(y++, 0, COLS, CRT_TITLE,
         table == keys_top ? " sched-inspect: keys of the live view"
                           : " sched-inspect: keys of the dump viewer");
  y++;
  int rows = LINES - y - 6;
  if (rows < 1)
    rows = 1;
  if (*scroll + (uint32_t)rows > n)
    *scroll = n > (size_t)rows ? (uint32_t)(n - (size_t)rows) : 0;
  for (size_t i = *scroll; i < n && y < LINES - 5; i++)
    w_text(y++, 0, COLS, CRT_NORMAL, keys_help_line(table, i, line, sizeof(line)));
  y++;
  if (table == keys_top) {
    w_text(y++, 2, COLS - 2, CRT_LABEL,
           "DEPTH: local queue (+1: the LIFO slot is occupied); QUEUE: depth out of the");
    w_text(y++, 2, COLS - 2, CRT_LABEL,
           "ring's capacity; HISTORY: recent depths; rates per second over the refresh.");
    w_printf(y++, 2, COLS - 2, CRT_LABEL,
             "A worker polling one task for more than %.0f ms is shown as STUCK.", (double)stuck_ns / 1e6);
  }
  w_clear_row(LINES - 1, 0, CRT_NORMAL);
  w_text(LINES - 1, 0, COLS, CRT_FLABEL, " Up/Down scroll, any other key closes the help ");
}
