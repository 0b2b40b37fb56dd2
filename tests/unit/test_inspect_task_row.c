/*
 * task_row.c: the live task list's columns at every width (whole columns go
 * by priority, the row ends at the edge, numbers are never cut, an await
 * point keeps its line number, UTF-8 names are cut between characters), on
 * dumps built in memory; and the polls sort the list added to dump_group.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dump_group.h"
#include "format.h"
#include "task_row.h"
#include "test_doc_builder.h"

static const char *const long_label = "socket: wait for the next request from the client";

static task_layout layout_of(int cols) { return task_layout_for(cols, 99999, 15); }

static int total(const task_layout *l) {
  int n = 0;
  for (int c = 0; c < TCOL__COUNT; c++)
    n += l->width[c];
  return n;
}

/* Valid UTF-8 throughout: no character cut in half. */
static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
    if (n < 0)
      return 0;
    for (int k = 1; k <= n; k++)
      if ((p[k] & 0xC0) != 0x80)
        return 0;
    p += n + 1;
  }
  return 1;
}

Test(task_row, eighty_columns_keep_the_essentials_and_drop_the_extras) {
  task_layout l = layout_of(80);
  for (task_col c = TCOL_MARK; c <= TCOL_POLLS; c++)
    cr_expect_gt(l.width[c], 0, "column %d left out at 80", (int)c);
  cr_expect_gt(l.width[TCOL_AWAIT], 20, "the await point gets %d columns", l.width[TCOL_AWAIT]);
  cr_expect_eq(l.width[TCOL_SPAWN], 0);
  cr_expect_eq(l.width[TCOL_WORKER], 0);
  cr_expect_eq(l.width[TCOL_AGE], 0);
  cr_expect_eq(total(&l), 80);
  /* The longest name (15) whole, not wider. */
  cr_expect_eq(l.width[TCOL_NAME], 16);
}

Test(task_row, wide_terminals_add_the_spawn_site_worker_and_age) {
  task_layout l = layout_of(160);
  for (int c = 0; c < TCOL__COUNT; c++)
    cr_expect_gt(l.width[c], 0, "column %d left out at 160", c);
  cr_expect_eq(total(&l), 160);
  cr_expect_geq(l.width[TCOL_SPAWN], 24);
}

/* A column shown at some width is shown at every larger one; the row never passes the edge. */
Test(task_row, columns_only_join_as_the_terminal_widens) {
  task_layout prev = layout_of(10);
  for (int cols = 11; cols <= 300; cols++) {
    task_layout l = layout_of(cols);
    cr_assert_leq(total(&l), cols, "%d columns at %d", total(&l), cols);
    for (int c = 0; c < TCOL__COUNT; c++)
      cr_assert(!prev.width[c] || l.width[c], "column %d gone at %d after being there at %d", c, cols,
                cols - 1);
    if (l.width[TCOL_AWAIT])
      cr_assert_eq(total(&l), cols, "the row ends short of the edge at %d", cols);
    prev = l;
  }
}

/* Narrow: the id goes first, then the polls, then the await point; the name and state stay. */
Test(task_row, narrow_terminals_drop_by_priority) {
  task_layout l = layout_of(60);
  cr_expect_eq(l.width[TCOL_ID], 0);
  cr_expect_gt(l.width[TCOL_POLLS], 0);
  cr_expect_gt(l.width[TCOL_AWAIT], 0);
  l = layout_of(50);
  cr_expect_eq(l.width[TCOL_POLLS], 0);
  cr_expect_gt(l.width[TCOL_AWAIT], 0);
  l = layout_of(40);
  cr_expect_eq(l.width[TCOL_AWAIT], 0);
  cr_expect_gt(l.width[TCOL_NAME], 0);
  cr_expect_gt(l.width[TCOL_STATE], 0);
  cr_expect_gt(l.width[TCOL_FOR], 0);
}

/* A task with every field, in a dump of one. */
static schedrt_dump_doc *one_task(const char *name, uint64_t polls) {
  schedrt_dump_doc *d = tdb_new(1, 2);
  d->await_sites[0].label = long_label;
  d->await_sites[0].file = "examples/very/long/directory/demo_tasks.c";
  d->await_sites[0].line = 394;
  d->tasks[0].await = 0;
  d->tasks[0].name = name;
  d->tasks[0].polls = polls;
  d->tasks[0].worker = 1;
  return d;
}

Test(task_row, rows_fill_their_width_and_line_up_with_the_heads) {
  schedrt_dump_doc *d = one_task("conn-1533", 42);
  char row[1024], head[1024];
  for (int cols = 30; cols <= 220; cols += 7) {
    uint64_t max_id;
    int name_cols;
    task_extent(d, &max_id, &name_cols);
    task_layout l = task_layout_for(cols, max_id, name_cols);
    task_row_text(row, sizeof(row), &l, d, &d->tasks[0], 'L', 1);
    task_row_head(head, sizeof(head), &l);
    cr_expect_eq((int)fmt_cols(row), total(&l), "row of %zu columns at %d: '%s'", fmt_cols(row), cols, row);
    cr_expect_eq(fmt_cols(head), fmt_cols(row), "head '%s' row '%s'", head, row);
    cr_expect_eq(row[0], 'L');
    cr_expect(strstr(row, "conn-1533") != NULL, "name cut at %d: '%s'", cols, row);
    /* The polls, right-aligned under POLLS: both end in the same column. */
    if (l.width[TCOL_POLLS]) {
      const char *p = strstr(row, " 42 "), *h = strstr(head, "POLLS ");
      cr_assert(p && h, "'%s' / '%s'", row, head);
      cr_expect_eq(p + 3 - row, h + 5 - head, "'%s' / '%s'", row, head);
    }
  }
  tdb_free(d);
}

Test(task_row, the_await_point_keeps_its_line_number_or_shows_the_label) {
  schedrt_dump_doc *d = one_task("conn-1", 1);
  char row[1024];
  task_layout l = task_layout_for(80, 1, 6);
  task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 1);
  /* 80 columns: the label alone, cut with an ellipsis (the list's footer names the whole point). */
  cr_expect(strstr(row, "socket: wait") != NULL, "'%s'", row);
  cr_expect(strstr(row, "\u2026") != NULL, "'%s'", row);
  /* Wider: once the cell holds 40 columns, the site with its line number, the label cut to the rest. */
  int sites = 0;
  for (int cols = 81; cols <= 200; cols++) {
    l = task_layout_for(cols, 1, 6);
    task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 1);
    if (l.width[TCOL_AWAIT] - 1 >= 40) {
      sites++;
      cr_expect(strstr(row, "demo_tasks.c:394") != NULL, "the line number is gone at %d: '%s'", cols, row);
    } else {
      cr_expect(strstr(row, "socket: wait") != NULL, "no label at %d: '%s'", cols, row);
    }
  }
  cr_expect_gt(sites, 50);
  l = task_layout_for(240, 1, 6);
  task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 0);
  cr_expect(strstr(row, long_label) != NULL, "the label is cut at 240: '%s'", row);
  cr_expect(strstr(row, "examples/very/long/directory/demo_tasks.c:394") != NULL, "'%s'", row);
  cr_expect(strstr(row, "spawn.c:10 (f0)") != NULL, "no spawn site at 240: '%s'", row);
  tdb_free(d);
}

Test(task_row, numbers_are_never_cut) {
  schedrt_dump_doc *d = one_task("x", 123456789);
  char row[1024];
  task_layout l = task_layout_for(80, 1, 1);
  task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 1);
  /* 9 digits do not fit the column's 7: an abbreviation, not the first 7 digits. */
  cr_expect(strstr(row, "123M") != NULL, "'%s'", row);
  cr_expect(strstr(row, "1234567") == NULL, "'%s'", row);
  d->tasks[0].polls = 1234567;
  task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 1);
  cr_expect(strstr(row, " 1234567 ") != NULL, "'%s'", row);
  tdb_free(d);
}

Test(task_row, names_are_cut_between_characters) {
  /* 20 two-byte characters: wider than the name column at 80. */
  static const char name[] = "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                             "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9";
  schedrt_dump_doc *d = one_task(name, 1);
  char row[1024];
  task_layout l = task_layout_for(80, 1, 20);
  task_row_text(row, sizeof(row), &l, d, &d->tasks[0], ' ', 1);
  cr_expect(valid_utf8(row), "'%s'", row);
  cr_expect_eq((int)fmt_cols(row), 80, "'%s'", row);
  cr_expect(strstr(row, "\u00e9\u2026") != NULL, "'%s'", row);
  tdb_free(d);
}

Test(task_row, cut_label_and_fit_await) {
  char buf[256];
  cr_expect_str_eq(task_cut_label(buf, sizeof(buf), "abcdef", 6, 1), "abcdef");
  cr_expect_str_eq(task_cut_label(buf, sizeof(buf), "abcdef", 4, 1), "abc\u2026");
  cr_expect_str_eq(task_cut_label(buf, sizeof(buf), "abcdef", 4, 0), "abc~");
  task_fit_await(buf, sizeof(buf), 1, long_label, "a/b/c/demo_tasks.c", 394, 50, 1);
  cr_expect_leq(fmt_cols(buf), 50, "'%s'", buf);
  cr_expect(strstr(buf, "demo_tasks.c:394") != NULL, "'%s'", buf);
  cr_expect(strncmp(buf, "await \"socket", 13) == 0, "'%s'", buf);
}

Test(task_row, tasks_sort_by_polls_most_first) {
  schedrt_dump_doc *d = tdb_new(4, 1);
  size_t o[4];
  d->tasks[0].polls = 5;
  d->tasks[1].polls = 50;
  d->tasks[2].polls = 1;
  d->tasks[3].polls = 50;
  dump_sort_tasks(d, TSORT_POLLS, 0, o);
  /* Equal counts by id. */
  cr_expect(o[0] == 1 && o[1] == 3 && o[2] == 0 && o[3] == 2, "%zu %zu %zu %zu", o[0], o[1], o[2], o[3]);
  cr_expect_str_eq(task_sort_name(TSORT_POLLS), "polls");
  cr_expect_eq(task_sort_next(TSORT_ID), TSORT_POLLS);
  cr_expect_eq(task_sort_next(TSORT_POLLS), TSORT_STATE);
  tdb_free(d);
}
