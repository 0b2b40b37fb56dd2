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
} inspect_action;

typedef struct key_binding {
  int key;          /* a character or a curses KEY_* code */
  const char *name; /* as shown in help: "d", "Up", "Enter" */
  inspect_action action;
  const char *help; /* one line; NULL: an alias listed with the key before it */
  const char *bar;  /* short label for the function bar, or NULL */
} key_binding;

/* Tables end with an entry whose key is 0. */
extern const key_binding keys_top[];
extern const key_binding keys_dump[];
extern const key_binding keys_help[];
extern const key_binding keys_diff[];
extern const key_binding keys_tasks[];

/* The action bound to ch in table, or ACT_NONE. */
inspect_action keys_lookup(const key_binding *table, int ch);

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
