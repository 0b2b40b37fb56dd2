/* The key tables and help generated from them (see keys.h). */
#include "keys.h"

#include <curses.h>
#include <string.h>

#include "format.h"
#include "util.h"

/* Entries with help == NULL are aliases of the entry above: same action, listed together. */
const key_binding keys_top[] = {
    {'d', "d", ACT_DUMP, "take a task dump and save it (progress and file in the status line)", "Dump"},
    {'t', "t", ACT_OPEN_DUMP, "open the last dump in the dump viewer", "Tasks"},
    {'T', "T", ACT_LIVE_TASKS, "the live task list: a task dump every 2 s, kept in memory (--tasks-every)",
     "Live"},
    {'c', "c", ACT_COMPARE, "compare the last two dumps (d twice): stalled tasks, new lost wake-ups, ...",
     "Diff"},
    {'p', "p", ACT_PAUSE, "pause / resume the refresh (the screen keeps the last data)", "Pause"},
    {' ', "Space", ACT_PAUSE, NULL, NULL},
    {'+', "+", ACT_FASTER, "refresh faster", NULL},
    {'=', "=", ACT_FASTER, NULL, NULL},
    {'-', "-", ACT_SLOWER, "refresh slower", "Rate"},
    KEYS_WORKER_SORT,
    {'S', "S", ACT_SITE_SORT,
     "sort spawn sites by the next column (alive, spawn/s, polls/s, busy, latency, site)", "Sites"},
    /* No bar label: at 80 columns the bar would drop Sites for it. */
    {'e', "e", ACT_EVENTS, "the newest events of the target's event rings (it runs with SCHEDRT_EVENTS=1)",
     NULL},
    KEYS_WORKER_NAV_HELP_QUIT,
};

const key_binding keys_dump[] = {
    {'s', "s", ACT_SORT, "sort tasks by the next column (state, idle time, name, worker, id, polls)", "Sort"},
    {'r', "r", ACT_REVERSE, "reverse the sort order", NULL},
    {'g', "g", ACT_GROUP, "group tasks by await point and state / flat list", "Group"},
    {'a', "a", ACT_ATTENTION,
     "tasks needing attention (L lost wake-up, D deadlock, S stuck): first, only, then in place again",
     "Attn"},
    {KEY_UP, "Up", ACT_UP, "move the selection", NULL},
    {'k', "k", ACT_UP, NULL, NULL},
    {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL},
    {'j', "j", ACT_DOWN, NULL, NULL},
    {KEY_PPAGE, "PgUp", ACT_PGUP, "move a page", NULL},
    {KEY_NPAGE, "PgDn", ACT_PGDN, NULL, NULL},
    {KEY_HOME, "Home", ACT_HOME, "first / last row", NULL},
    {KEY_END, "End", ACT_END, NULL, NULL},
    {'\n', "Enter", ACT_ENTER, "details of the selected task (or expand a group)", "Details"},
    {'\r', "Enter", ACT_ENTER, NULL, NULL},
    {KEY_ENTER, "Enter", ACT_ENTER, NULL, NULL},
    {'h', "h", ACT_HELP, "this help", "Help"},
    {'?', "?", ACT_HELP, NULL, NULL},
    {KEY_F(1), "F1", ACT_HELP, NULL, NULL},
    {'L' - '@', "^L", ACT_REDRAW, "redraw the screen", NULL},
    {27, "Esc", ACT_BACK, "back (close details, or leave the viewer)", "Back"},
    {KEY_BACKSPACE, "Bksp", ACT_BACK, NULL, NULL},
    {'q', "q", ACT_QUIT, "leave the viewer (quit when it was opened with show -t)", "Quit"},
    {KEY_F(10), "F10", ACT_QUIT, NULL, NULL},
    {0, NULL, ACT_NONE, NULL, NULL},
};

const key_binding keys_diff[] = {
    {KEY_UP, "Up", ACT_UP, "scroll", NULL},
    {'k', "k", ACT_UP, NULL, NULL},
    {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL},
    {'j', "j", ACT_DOWN, NULL, NULL},
    {KEY_PPAGE, "PgUp", ACT_PGUP, "scroll a page", NULL},
    {KEY_NPAGE, "PgDn", ACT_PGDN, NULL, NULL},
    {KEY_HOME, "Home", ACT_HOME, "top / bottom", NULL},
    {KEY_END, "End", ACT_END, NULL, NULL},
    {'h', "h", ACT_HELP, "this help", "Help"},
    {'?', "?", ACT_HELP, NULL, NULL},
    {KEY_F(1), "F1", ACT_HELP, NULL, NULL},
    {'L' - '@', "^L", ACT_REDRAW, "redraw the screen", NULL},
    {27, "Esc", ACT_BACK, "back to the live view", "Back"},
    {KEY_BACKSPACE, "Bksp", ACT_BACK, NULL, NULL},
    {'q', "q", ACT_BACK, NULL, NULL},
    {0, NULL, ACT_NONE, NULL, NULL},
};

const key_binding keys_tasks[] = {
    {'s', "s", ACT_SORT, "sort tasks by the next column (state, idle time, name, worker, id, polls)", "Sort"},
    {'r', "r", ACT_REVERSE, "reverse the sort order", NULL},
    {'p', "p", ACT_PAUSE, "pause / resume the refreshes (the list stays as it was)", "Pause"},
    {' ', "Space", ACT_PAUSE, NULL, NULL},
    {'+', "+", ACT_FASTER, "refresh more often (at most every 0.5 s)", NULL},
    {'=', "=", ACT_FASTER, NULL, NULL},
    {'-', "-", ACT_SLOWER, "refresh less often (at least every 60 s)", "Every"},
    {KEY_UP, "Up", ACT_UP, "move the selection", NULL},
    {'k', "k", ACT_UP, NULL, NULL},
    {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL},
    {'j', "j", ACT_DOWN, NULL, NULL},
    {KEY_PPAGE, "PgUp", ACT_PGUP, "move a page", NULL},
    {KEY_NPAGE, "PgDn", ACT_PGDN, NULL, NULL},
    {KEY_HOME, "Home", ACT_HOME, "first / last row", NULL},
    {KEY_END, "End", ACT_END, NULL, NULL},
    {'\n', "Enter", ACT_ENTER, "this refresh in the dump viewer, the selected task's details open",
     "Details"},
    {'\r', "Enter", ACT_ENTER, NULL, NULL},
    {KEY_ENTER, "Enter", ACT_ENTER, NULL, NULL},
    {'h', "h", ACT_HELP, "this help", "Help"},
    {'?', "?", ACT_HELP, NULL, NULL},
    {KEY_F(1), "F1", ACT_HELP, NULL, NULL},
    {'L' - '@', "^L", ACT_REDRAW, "redraw the screen", NULL},
    {27, "Esc", ACT_BACK, "back to the live view (the refreshes stop)", "Back"},
    {'T', "T", ACT_BACK, NULL, NULL},
    {KEY_BACKSPACE, "Bksp", ACT_BACK, NULL, NULL},
    {'q', "q", ACT_BACK, NULL, NULL},
    {0, NULL, ACT_NONE, NULL, NULL},
};

const key_binding keys_events[] = {
    {KEY_UP, "Up", ACT_UP, "scroll back (the newest events are at the bottom)", NULL},
    {'k', "k", ACT_UP, NULL, NULL},
    {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL},
    {'j', "j", ACT_DOWN, NULL, NULL},
    {KEY_PPAGE, "PgUp", ACT_PGUP, "scroll a page", NULL},
    {KEY_NPAGE, "PgDn", ACT_PGDN, NULL, NULL},
    {KEY_HOME, "Home", ACT_HOME, "the oldest events kept / the newest, followed again", NULL},
    {KEY_END, "End", ACT_END, NULL, NULL},
    {'h', "h", ACT_HELP, "this help", "Help"},
    {'?', "?", ACT_HELP, NULL, NULL},
    {KEY_F(1), "F1", ACT_HELP, NULL, NULL},
    {'L' - '@', "^L", ACT_REDRAW, "redraw the screen", NULL},
    {27, "Esc", ACT_BACK, "back to the live view", "Back"},
    {'e', "e", ACT_BACK, NULL, NULL},
    {KEY_BACKSPACE, "Bksp", ACT_BACK, NULL, NULL},
    {'q', "q", ACT_BACK, NULL, NULL},
    {0, NULL, ACT_NONE, NULL, NULL},
};

const key_binding keys_help[] = {
    {KEY_UP, "Up", ACT_UP, "scroll", NULL},
    {'k', "k", ACT_UP, NULL, NULL},
    {KEY_DOWN, "Down", ACT_DOWN, NULL, NULL},
    {'j', "j", ACT_DOWN, NULL, NULL},
    {'q', "q", ACT_BACK, "close the help (any other key too)", "Close"},
    {0, NULL, ACT_NONE, NULL, NULL},
};

inspect_action keys_lookup(const key_binding *table, int ch) {
  for (const key_binding *k = table; k->key; k++)
    if (k->key == ch)
      return k->action;
  return ACT_NONE;
}

size_t keys_help_count(const key_binding *table) {
  size_t n = 0;
  for (const key_binding *k = table; k->key; k++)
    n += k->help != NULL;
  return n;
}

const char *keys_help_line(const key_binding *table, size_t i, char *buf, size_t size) {
  const key_binding *k = table;
  for (; k->key; k++)
    if (k->help && i-- == 0)
      break;
  if (!k->key) {
    xsnprintf(buf, size, "%s", "");
    return buf;
  }
  /* The key's name, then every following alias that is not itself a help entry. */
  char names[48];
  size_t used = 0;
  names[0] = '\0';
  for (const key_binding *a = k; a->key && (a == k || !a->help); a++) {
    if (a != k && strcmp(a->name, a[-1].name) == 0)
      continue; /* "Enter" bound to several codes: list it once */
    int n = snprintf(names + used, sizeof(names) - used, "%s%s", used ? " " : "", a->name);
    if (n < 0 || (size_t)n >= sizeof(names) - used)
      break;
    used += (size_t)n;
  }
  return xsnprintf(buf, size, "  %-14s %s", names, k->help);
}

int keys_help_wrap(const char **p, int first, int width, char *line, size_t size) {
  if (first)
    return fmt_wrap_next(p, width, line, size);
  /* Continuation lines under the help text, past the key names. */
  int indent = width > KEYS_HELP_INDENT + 20 ? KEYS_HELP_INDENT : 2;
  char rest[256];
  if (!fmt_wrap_next(p, width - indent, rest, sizeof(rest)))
    return 0;
  xsnprintf(line, size, "%*s%s", indent, "", rest);
  return 1;
}

void keys_print_help(const key_binding *table, FILE *f, int width) {
  char text[256], line[256];
  size_t n = keys_help_count(table);
  for (size_t i = 0; i < n; i++) {
    const char *p = keys_help_line(table, i, text, sizeof(text));
    for (int first = 1; keys_help_wrap(&p, first, width, line, sizeof(line)); first = 0)
      fprintf(f, "%s\n", line);
  }
}

int keys_nav_move(inspect_action a, size_t pos, size_t n, size_t page, size_t *to) {
  size_t last = n ? n - 1 : 0;
  switch (a) {
  case ACT_UP:
    page = 1;
    /* fall through */
  case ACT_PGUP:
    *to = pos > page ? pos - page : 0;
    break;
  case ACT_DOWN:
    page = 1;
    /* fall through */
  case ACT_PGDN:
    *to = pos < last && last - pos > page ? pos + page : last;
    break;
  case ACT_HOME:
    *to = 0;
    return 1;
  case ACT_END:
    *to = last;
    return 1;
  default:
    return 0;
  }
  if (*to > last)
    *to = last;
  return 1;
}
