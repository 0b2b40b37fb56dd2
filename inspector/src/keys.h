/*
 * The key tables: one per screen, each entry a key, the name shown in help,
 * the action and a help line. The screens dispatch through these tables and
 * the help screens, `top --help` and the function bar are printed from them,
 * so help can never drift from what the keys do (htop's Action_setBindings
 * idea). Only the KEY_* constants come from curses.
 */
#ifndef INSPECT_KEYS_H
#define INSPECT_KEYS_H

#include <stddef.h>
#include <stdio.h>

typedef enum inspect_action {
  ACT_NONE = 0,
  ACT_QUIT,
  ACT_HELP,
  ACT_DUMP,      /* take a dump */
  ACT_OPEN_DUMP, /* open the last dump in the viewer */
  ACT_PAUSE,
  ACT_FASTER,
  ACT_SLOWER,
  ACT_SORT,    /* next sort column */
  ACT_REVERSE, /* reverse the sort order */
  ACT_GROUP,   /* dump viewer: group by await point */
  ACT_UP,
  ACT_DOWN,
  ACT_PGUP,
  ACT_PGDN,
  ACT_HOME,
  ACT_END,
  ACT_ENTER, /* details */
  ACT_BACK,  /* leave a sub-screen */
  ACT_REDRAW,
  ACT_COMPARE,    /* live view: compare the last two dumps */
  ACT_ATTENTION,  /* dump viewer: tasks needing attention first / only / in place */
  ACT_SITE_SORT,  /* live view: sort the spawn sites by the next column */
  ACT_LIVE_TASKS, /* live view: the live task list (screen_tasks.c) */
  ACT_SEEK_BACK,  /* replay: back in the recording */
  ACT_SEEK_FWD,   /* replay: forward */
  ACT_EVENTS,     /* live view: the events screen (screen_events.c) */
} inspect_action;

typedef struct key_binding {
  int key;          /* a character or a curses KEY_* code */
  const char *name; /* as shown in help: "d", "Up", "Enter" */
  inspect_action action;
  const char *help; /* one line; NULL: an alias listed with the key before it */
  const char *bar;  /* short label for the function bar, or NULL */
} key_binding;

/* The rows the live view and the replay share, in this order: sorting the workers, ... */
#define KEYS_WORKER_SORT                                                                                     \
  {'s', "s", ACT_SORT, "sort workers by the next column (worker, depth, polls, steals, busy, running)",      \
   "Sort"},                                                                                                  \
  {                                                                                                          \
    'r', "r", ACT_REVERSE, "reverse the sort order", NULL                                                    \
  }
/* ... selecting one and its panel, then help, redraw and quit, and the end of the table. */
#define KEYS_WORKER_NAV_HELP_QUIT                                                                            \
  {KEY_UP, "Up", ACT_UP, "select a worker", NULL}, {'k', "k", ACT_UP, NULL, NULL},                           \
      {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL}, {'j', "j", ACT_DOWN, NULL, NULL},                            \
      {KEY_PPAGE, "PgUp", ACT_PGUP, "scroll a page", NULL}, {KEY_NPAGE, "PgDn", ACT_PGDN, NULL, NULL},       \
      {KEY_HOME, "Home", ACT_HOME, "first / last worker", NULL}, {KEY_END, "End", ACT_END, NULL, NULL},      \
      {'\n', "Enter", ACT_ENTER, "every metric and the latency histograms of the selected worker", NULL},    \
      {'\r', "Enter", ACT_ENTER, NULL, NULL}, {KEY_ENTER, "Enter", ACT_ENTER, NULL, NULL},                   \
      {27, "Esc", ACT_BACK, "close the worker details", NULL}, {'h', "h", ACT_HELP, "this help", "Help"},    \
      {'?', "?", ACT_HELP, NULL, NULL}, {KEY_F(1), "F1", ACT_HELP, NULL, NULL},                              \
      {'L' - '@', "^L", ACT_REDRAW, "redraw the screen", NULL}, {'q', "q", ACT_QUIT, "quit", "Quit"},        \
      {KEY_F(10), "F10", ACT_QUIT, NULL, NULL}, {                                                            \
    0, NULL, ACT_NONE, NULL, NULL                                                                            \
  }

/* Tables end with an entry whose key is 0. */
extern const key_binding keys_top[];
extern const key_binding keys_dump[];
extern const key_binding keys_help[];
extern const key_binding keys_diff[];
extern const key_binding keys_tasks[];
extern const key_binding keys_events[];

/* The action bound to ch in table, or ACT_NONE. */
inspect_action keys_lookup(const key_binding *table, int ch);
/* Where a navigation action (Up, Down, PgUp, PgDn, Home, End) moves a position among n rows, page rows a
 * page: 1 and *to, clamped to [0, n - 1] (0 when n is 0); 0 for any other action. */
int keys_nav_move(inspect_action a, size_t pos, size_t n, size_t page, size_t *to);

/*
 * Help lines generated from table: "  d          take a task dump ...", one per
 * action, aliases joined ("h ?"). Returns the number of lines; line i is
 * written to buf when i < count. width limits each line.
 */
size_t keys_help_count(const key_binding *table);
const char *keys_help_line(const key_binding *table, size_t i, char *buf, size_t size);
/* Where a help line's text starts: "  " and the key names in 14 columns, then a space. */
#define KEYS_HELP_INDENT 17
/* The next row of help line *p wrapped at width columns (first: its first row; the others are indented
 * under its text). 0 when nothing is left. */
int keys_help_wrap(const char **p, int first, int width, char *line, size_t size);
/* Prints every help line of table to f, wrapped at width columns (for `--help` of the TUI commands). */
void keys_print_help(const key_binding *table, FILE *f, int width);

#endif
