/* The diff screen: the text of dump_diff_print, scrolled (see screen_diff.h). */
#include "screen_diff.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_diff.h"
#include "screen_help.h"
#include "util.h"
#include "widgets.h"

#define DIFF_LISTED 50 /* tasks per list: the whole of them is `diff --json`'s */

typedef struct diff_screen {
  screen base;
  char *text;   /* the report, its lines cut in place */
  char **lines; /* into text */
  size_t nlines, scroll, page;
  char title[256];
} diff_screen;

static void draw(screen *self) {
  diff_screen *s = (diff_screen *)self;
  erase();
  w_clear_row(0, 0, CRT_TITLE);
  w_text(0, 0, COLS, CRT_TITLE, s->title);
  int rows = LINES - 2;
  if (rows < 1)
    rows = 1;
  s->page = (size_t)rows;
  if (s->scroll + (size_t)rows > s->nlines)
    s->scroll = s->nlines > (size_t)rows ? s->nlines - (size_t)rows : 0;
  for (int i = 0; i < rows && s->scroll + (size_t)i < s->nlines; i++) {
    const char *line = s->lines[s->scroll + (size_t)i];
    /* Section titles are the lines that start in the first column with a capital. */
    crt_elem e =
        line[0] >= 'A' && line[0] <= 'Z' && line[1] >= 'A' && line[1] <= 'Z' ? CRT_LABEL : CRT_NORMAL;
    w_text(1 + i, 0, COLS, e, line);
  }
  w_function_bar(LINES - 1, self->cls->keys);
}

static screen_result key(screen *self, inspect_action a, int ch) {
  diff_screen *s = (diff_screen *)self;
  (void)ch;
  /* Down to the last line: the next draw, which knows the height, keeps the last screen full. */
  if (keys_nav_move(a, s->scroll, s->nlines + 1, s->page ? s->page : 10, &s->scroll))
    return screen_react(SCREEN_HANDLED);
  switch (a) {
  case ACT_BACK:
  case ACT_QUIT:
    return screen_react(SCREEN_CLOSE);
  case ACT_HELP:
    return screen_open(screen_help_new(self->cls, NULL, 0));
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    break;
  default:
    break;
  }
  /* The live view's keys stay below: d or t here would act on a view the user does not see. */
  return screen_react(SCREEN_HANDLED);
}

static void diff_free(screen *self) {
  diff_screen *s = (diff_screen *)self;
  free(s->lines);
  free(s->text);
  free(s);
}

static const screen_class diff_class = {
    .name = "diff screen",
    .keys = keys_diff,
    .draw = draw,
    .key = key,
    .free = diff_free,
};

screen *screen_diff_new(const schedrt_dump_doc *a, const schedrt_dump_doc *b, const char *name_a,
                        const char *name_b) {
  diff_screen *s = xcalloc(1, sizeof(*s));
  s->base.cls = &diff_class;
  size_t len = 0;
  FILE *f = open_memstream(&s->text, &len);
  if (!f)
    inspect_fatal("out of memory");
  dump_diff df;
  dump_diff_build(a, b, &df);
  dump_diff_print(&df, f, name_a, name_b, DIFF_LISTED);
  dump_diff_free(&df);
  fclose(f);
  size_t cap = 64;
  s->lines = xmalloc(cap * sizeof(*s->lines));
  for (char *p = s->text; p && *p;) {
    if (s->nlines == cap) {
      cap *= 2;
      s->lines = xrealloc(s->lines, cap * sizeof(*s->lines));
    }
    s->lines[s->nlines++] = p;
    char *nl = strchr(p, '\n');
    if (!nl)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  xsnprintf(s->title, sizeof(s->title), " diff of the last two dumps: %s -> %s", name_a, name_b);
  return &s->base;
}
