/* The help screen: generated from the key table of the screen that opened it (see screen_help.h). */
#include "screen_help.h"

#include <curses.h>
#include <stdlib.h>

#include "util.h"
#include "widgets.h"

typedef struct help_screen {
  screen base;
  const key_binding *table;
  char title[96];
  char notes[SCREEN_HELP_NOTES][160];
  int nnotes;
  uint32_t scroll;
} help_screen;

static void draw(screen *self) {
  help_screen *h = (help_screen *)self;
  size_t n = keys_help_count(h->table);
  char line[256];
  int y = 0;

  erase();
  w_clear_row(y, 0, CRT_TITLE);
  w_text(y++, 0, COLS, CRT_TITLE, h->title);
  y++;
  /* The same rows whether there are notes or not: room for SCREEN_HELP_NOTES lines, a gap and the bar. */
  int rows = LINES - y - 6;
  if (rows < 1)
    rows = 1;
  if (h->scroll + (uint32_t)rows > n)
    h->scroll = n > (size_t)rows ? (uint32_t)(n - (size_t)rows) : 0;
  for (size_t i = h->scroll; i < n && y < LINES - 5; i++)
    w_text(y++, 0, COLS, CRT_NORMAL, keys_help_line(h->table, i, line, sizeof(line)));
  y++;
  for (int i = 0; i < h->nnotes; i++)
    w_text(y++, 2, COLS - 2, CRT_LABEL, h->notes[i]);
  w_clear_row(LINES - 1, 0, CRT_NORMAL);
  w_text(LINES - 1, 0, COLS, CRT_FLABEL, " Up/Down scroll, any other key closes the help ");
}

static screen_result key(screen *self, inspect_action a, int ch) {
  help_screen *h = (help_screen *)self;
  (void)ch;
  if (a == ACT_UP) {
    if (h->scroll)
      h->scroll--;
  } else if (a == ACT_DOWN) {
    h->scroll++; /* clamped by the next draw, which knows the height */
  } else {
    return screen_react(SCREEN_CLOSE);
  }
  return screen_react(SCREEN_HANDLED);
}

static void help_free(screen *self) { free(self); }

static const screen_class help_class = {
    .name = "help",
    .keys = keys_help,
    .draw = draw,
    .key = key,
    .free = help_free,
};

screen *screen_help_new(const screen_class *of, const char *const *notes, int nnotes) {
  help_screen *h = xcalloc(1, sizeof(*h));
  h->base.cls = &help_class;
  h->table = of->keys;
  xsnprintf(h->title, sizeof(h->title), " sched-inspect: keys of the %s", of->name);
  h->nnotes = nnotes < SCREEN_HELP_NOTES ? nnotes : SCREEN_HELP_NOTES;
  for (int i = 0; i < h->nnotes; i++)
    xsnprintf(h->notes[i], sizeof(h->notes[i]), "%s", notes[i]);
  return &h->base;
}
