/* keys.c: dispatch and the help generated from the same tables. */
#include <criterion/criterion.h>
#include <curses.h>
#include <string.h>

#include "keys.h"

Test(keys, lookup) {
  cr_expect_eq(keys_lookup(keys_top, 'q'), ACT_QUIT);
  cr_expect_eq(keys_lookup(keys_top, 'd'), ACT_DUMP);
  cr_expect_eq(keys_lookup(keys_top, 't'), ACT_OPEN_DUMP);
  cr_expect_eq(keys_lookup(keys_top, 'p'), ACT_PAUSE);
  cr_expect_eq(keys_lookup(keys_top, '+'), ACT_FASTER);
  cr_expect_eq(keys_lookup(keys_top, '-'), ACT_SLOWER);
  cr_expect_eq(keys_lookup(keys_top, 's'), ACT_SORT);
  cr_expect_eq(keys_lookup(keys_top, 'h'), ACT_HELP);
  cr_expect_eq(keys_lookup(keys_top, '?'), ACT_HELP);
  cr_expect_eq(keys_lookup(keys_top, 'Z'), ACT_NONE);
  cr_expect_eq(keys_lookup(keys_dump, '\n'), ACT_ENTER);
  cr_expect_eq(keys_lookup(keys_dump, KEY_ENTER), ACT_ENTER);
  cr_expect_eq(keys_lookup(keys_dump, 'g'), ACT_GROUP);
  cr_expect_eq(keys_lookup(keys_dump, 'a'), ACT_ATTENTION);
  cr_expect_eq(keys_lookup(keys_top, 'c'), ACT_COMPARE);
  cr_expect_eq(keys_lookup(keys_diff, 27), ACT_BACK);
  cr_expect_eq(keys_lookup(keys_diff, 'q'), ACT_BACK);
  cr_expect_eq(keys_lookup(keys_diff, KEY_NPAGE), ACT_PGDN);
  /* The live task list: T opens it from the live view, and closes it again. */
  cr_expect_eq(keys_lookup(keys_top, 'T'), ACT_LIVE_TASKS);
  cr_expect_eq(keys_lookup(keys_tasks, 'T'), ACT_BACK);
  cr_expect_eq(keys_lookup(keys_tasks, 27), ACT_BACK);
  cr_expect_eq(keys_lookup(keys_tasks, 'p'), ACT_PAUSE);
  cr_expect_eq(keys_lookup(keys_tasks, '-'), ACT_SLOWER);
  cr_expect_eq(keys_lookup(keys_tasks, '\n'), ACT_ENTER);
  cr_expect_eq(keys_lookup(keys_tasks, 'd'), ACT_NONE);
}

/* Every action reachable by a key is described in the help (its own line or as an alias). */
static void every_key_in_help(const key_binding *table) {
  size_t n = keys_help_count(table);
  char line[256];
  for (const key_binding *k = table; k->key; k++) {
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
      keys_help_line(table, i, line, sizeof(line));
      /* The names column is the first 16 characters. */
      char names[20];
      snprintf(names, sizeof(names), "%.16s ", line);
      char needle[24];
      snprintf(needle, sizeof(needle), " %s ", k->name);
      found = strstr(names, needle) != NULL;
    }
    cr_expect(found, "key %s is missing from the help", k->name);
  }
}

Test(keys, help_lists_every_key) {
  every_key_in_help(keys_top);
  every_key_in_help(keys_dump);
  every_key_in_help(keys_diff);
  every_key_in_help(keys_tasks);
}

/* The compare, attention and live task list keys are on their screens' function bars. */
Test(keys, new_keys_on_the_function_bar) {
  int compare = 0, attention = 0, live = 0;
  for (const key_binding *k = keys_top; k->key; k++) {
    compare |= k->action == ACT_COMPARE && k->bar != NULL;
    live |= k->action == ACT_LIVE_TASKS && k->bar != NULL;
  }
  for (const key_binding *k = keys_dump; k->key; k++)
    attention |= k->action == ACT_ATTENTION && k->bar != NULL;
  cr_expect(compare);
  cr_expect(attention);
  cr_expect(live);
}

Test(keys, help_lines_join_aliases) {
  char line[256];
  int found = 0;
  for (size_t i = 0; i < keys_help_count(keys_top); i++) {
    keys_help_line(keys_top, i, line, sizeof(line));
    if (strstr(line, "this help")) {
      found = 1;
      cr_expect(strstr(line, "h ? F1") != NULL, "got '%s'", line);
    }
  }
  cr_expect(found);
  /* "Enter" is bound to three codes but listed once. */
  for (size_t i = 0; i < keys_help_count(keys_dump); i++) {
    keys_help_line(keys_dump, i, line, sizeof(line));
    if (strstr(line, "Enter"))
      cr_expect(strstr(strstr(line, "Enter") + 1, "Enter") == NULL, "got '%s'", line);
  }
}

Test(keys, navigation_moves_stay_among_the_rows) {
  static const struct {
    inspect_action a;
    size_t pos, n, page, to;
  } cases[] = {
      {ACT_UP, 3, 10, 5, 2},   {ACT_UP, 0, 10, 5, 0},    {ACT_DOWN, 3, 10, 5, 4}, {ACT_DOWN, 9, 10, 5, 9},
      {ACT_PGUP, 7, 10, 5, 2}, {ACT_PGUP, 4, 10, 5, 0},  {ACT_PGDN, 2, 10, 5, 7}, {ACT_PGDN, 6, 10, 5, 9},
      {ACT_HOME, 6, 10, 5, 0}, {ACT_END, 2, 10, 5, 9},   {ACT_END, 0, 0, 5, 0},   {ACT_DOWN, 0, 0, 5, 0},
      {ACT_UP, 30, 10, 5, 9},  {ACT_PGDN, 30, 10, 5, 9}, {ACT_DOWN, 8, 10, 1, 9}, {ACT_PGUP, 5, 10, 5, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t to = 12345;
    cr_assert_eq(keys_nav_move(cases[i].a, cases[i].pos, cases[i].n, cases[i].page, &to), 1, "case %zu", i);
    cr_expect_eq(to, cases[i].to, "case %zu: %zu, not %zu", i, to, cases[i].to);
  }
  size_t to = 7;
  cr_expect_eq(keys_nav_move(ACT_ENTER, 3, 10, 5, &to), 0);
  cr_expect_eq(to, 7, "another action leaves the position alone");
}
