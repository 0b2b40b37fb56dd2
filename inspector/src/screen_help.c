/* The help screen: generated from the key table of the screen that opened it (see screen_help.h). */
#include "screen_help.h"

#include <curses.h>
#include <stdlib.h>

#include "format.h"
#include "util.h"
#include "widgets.h"

typedef struct help_screen {
  screen base;
  const key_binding *table;
  char title[96];
  char notes[SCREEN_HELP_NOTES][256];
  int nnotes;
  uint32_t scroll;
} help_screen;

/* Rows the notes take at this width, each wrapped. */
static int notes_rows(const help_screen *h) {
  int n = 0;
  for (int i = 0; i < h->nnotes; i++)
    n += fmt_wrap_count(h->notes[i], COLS - 2 > 1 ? COLS - 2 : 1);
  return n;
}

static void draw(screen *self) {
  help_screen *h = (help_screen *)self;
  size_t n = keys_help_count(h->table);
  char text[256], line[256];
  int y = 0;

  erase();
  w_clear_row(y, 0, CRT_TITLE);
  w_text(y++, 0, COLS, CRT_TITLE, h->title);
  y++;
  /* Lines wrap at the terminal's width: the keys take what the notes, a gap and the bar leave. */
  int nrows = notes_rows(h);
  int last = LINES - nrows - 2; /* first row not for keys */
  if (last < y + 1)
    last = y + 1;
  if (h->scroll >= n)
    h->scroll = n ? (uint32_t)(n - 1) : 0;
  for (size_t i = h->scroll; i < n && y < last; i++) {
    const char *p = keys_help_line(h->table, i, text, sizeof(text));
    for (int first = 1; y < last && keys_help_wrap(&p, first, COLS, line, sizeof(line)); first = 0)
      w_text(y++, 0, COLS, CRT_NORMAL, line);
  }
  y++;
  for (int i = 0; i < h->nnotes; i++) {
    const char *p = h->notes[i];
    while (y < LINES - 1 && fmt_wrap_next(&p, COLS - 2 > 1 ? COLS - 2 : 1, line, sizeof(line)))
      w_text(y++, 2, COLS - 2, CRT_LABEL, line);
  }
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
