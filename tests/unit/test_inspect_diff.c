/*
 * Two dumps compared (inspector/src/dump_diff.c and its text and JSON), on
 * dumps built in memory: the same-runtime check, appeared and finished by
 * id, the stall test and its margin, new lost wake-ups and deadlocks, spawn
 * sites matched by file, line and function (not by table index) with their
 * polls per second, workers' polls per second from the histograms, dumps
 * given newest first, and what the report puts first.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dump_diff.h"
#include "test_doc_builder.h"

static schedrt_dump_doc *a, *b;
static dump_diff df;
static char *text;

static void fini(void) {
  dump_diff_free(&df);
  tdb_free(a);
  tdb_free(b);
  a = b = NULL;
  free(text);
  text = NULL;
}

TestSuite(diff, .fini = fini, .timeout = 60);

#define S 1000000000ll

/* a with n tasks at 100 s; b a copy of it interval_s later (idle times grown by as much, same polls). */
static void pair(size_t n, long long interval_s) {
  a = tdb_new(n, 2);
  b = tdb_new(n, 2);
  b->taken_mono_ns = a->taken_mono_ns + (uint64_t)(interval_s * S);
  b->taken_realtime_ns = a->taken_realtime_ns + (uint64_t)(interval_s * S);
  for (size_t i = 0; i < n; i++)
    b->tasks[i].state_ns = a->tasks[i].state_ns + interval_s * S;
}

static size_t id_of(const schedrt_dump_doc *d, size_t i) { return (size_t)d->tasks[i].id; }

Test(diff, dumps_of_another_process_or_runtime_are_refused) {
  char err[256];
  pair(1, 1);
  cr_expect_eq(dump_diff_same_runtime(a, b, err, sizeof(err)), 0);
  b->pid = 4243;
  cr_expect_eq(dump_diff_same_runtime(a, b, err, sizeof(err)), -1);
  cr_expect(strstr(err, "different processes") != NULL, "%s", err);
  b->pid = a->pid;
  b->proc_starttime = 1;
  cr_expect_eq(dump_diff_same_runtime(a, b, err, sizeof(err)), -1, "a pid reused by another process");
  b->proc_starttime = a->proc_starttime;
  b->boot_id[0] = 1;
  cr_expect_eq(dump_diff_same_runtime(a, b, err, sizeof(err)), -1, "another boot");
  b->boot_id[0] = 0;
  b->started_mono_ns = 5;
  cr_expect_eq(dump_diff_same_runtime(a, b, err, sizeof(err)), -1);
  cr_expect(strstr(err, "different runtimes") != NULL, "%s", err);
}

Test(diff, appeared_and_finished_by_id) {
  /* A holds #1..#4, B #3..#6 (ids shifted by 2). */
  pair(4, 1);
  for (size_t i = 0; i < 4; i++)
    b->tasks[i].id = i + 3;
  dump_diff_build(a, b, &df);
  cr_assert_eq(df.nappeared, 2u);
  cr_expect_eq(id_of(b, df.appeared[0]), 5u);
  cr_expect_eq(id_of(b, df.appeared[1]), 6u);
  cr_assert_eq(df.nfinished, 2u);
  cr_expect_eq(id_of(a, df.finished[0]), 1u);
  cr_expect_eq(id_of(a, df.finished[1]), 2u);
}

Test(diff, stalled_idle_in_both_not_polled_idle_time_grew_by_the_interval) {
  /* Interval 10 s: margin 500 ms. */
  pair(6, 10);
  b->tasks[1].polls = 2;                           /* polled in between */
  b->tasks[2].state = SCHEDRT_DUMP_STATE_LOCAL;    /* woken */
  b->tasks[3].state_ns += 400000000;               /* 10.4 s: within the margin */
  b->tasks[4].state_ns += 600000000;               /* 10.6 s: beyond it */
  b->tasks[5].state_ns = a->tasks[5].state_ns + S; /* idle again since: grew by 1 s only */
  dump_diff_build(a, b, &df);
  cr_expect_eq(df.margin_ns, 500000000u);
  cr_assert_eq(df.nstalled, 2u, "#1 and #4");
  cr_expect_eq(id_of(b, df.stalled[0]), 1u);
  cr_expect_eq(id_of(a, df.stalled_a[0]), 1u);
  cr_expect_eq(id_of(b, df.stalled[1]), 4u);
}

Test(diff, the_margin_is_at_least_5_ms) {
  pair(2, 0);
  b->taken_mono_ns = a->taken_mono_ns + 10000000; /* 10 ms */
  b->tasks[0].state_ns = a->tasks[0].state_ns + 14000000;
  b->tasks[1].state_ns = a->tasks[1].state_ns + 16000000;
  dump_diff_build(a, b, &df);
  cr_expect_eq(df.margin_ns, 5000000u);
  cr_assert_eq(df.nstalled, 1u);
  cr_expect_eq(id_of(b, df.stalled[0]), 1u);
}

Test(diff, nothing_stalls_between_dumps_taken_at_once) {
  pair(2, 0);
  dump_diff_build(a, b, &df);
  cr_expect_eq(df.nstalled, 0u);
  cr_expect(isnan(df.sites[0].polls_per_s));
}

Test(diff, new_lost_wake_ups) {
  /* #1 lost in both (not new), #2 lost in B only, and #9 appears lost. */
  pair(3, 1);
  tdb_lost(a, 0);
  tdb_lost(b, 0);
  tdb_lost(b, 1);
  b->tasks[2].id = 9;
  tdb_lost(b, 2);
  dump_diff_build(a, b, &df);
  cr_assert_eq(df.nnew_lost, 2u);
  cr_expect_eq(id_of(b, df.new_lost[0]), 2u);
  cr_expect_eq(id_of(b, df.new_lost[1]), 9u);
}

Test(diff, deadlocks_in_b_and_the_new_ones) {
  /* #1 <-> #2 in both; #3 <-> #4 only in B. */
  pair(4, 1);
  tdb_join(a, 0, 2);
  tdb_join(a, 1, 1);
  for (size_t i = 0; i < 4; i++)
    tdb_join(b, i, i % 2 ? i : i + 2);
  dump_diff_build(a, b, &df);
  cr_expect_eq(df.ndeadlocks_b, 2u);
  cr_expect_eq(df.nnew_deadlocks, 1u);
}

Test(diff, spawn_sites_matched_by_file_line_and_function_with_polls_per_second) {
  /*
   * 2 s apart. A: #1 (f0, 10 polls), #2 (f0, 5 polls, finishes), #3 (f1, 1 poll).
   * B lists its sites in another order (f1 first): #1 (f0, 30 polls), #3 (f1, 1 poll), #4 (f0, new, 7 polls).
   * f0: (30 - 10) + 7 = 27 polls, 13.5/s; 2 -> 2 tasks; f1: 0 polls.
   */
  pair(3, 2);
  a->tasks[0].polls = 10;
  a->tasks[1].polls = 5;
  a->tasks[2].spawn = 1;
  b->spawn_sites[0] = a->spawn_sites[1];
  b->spawn_sites[1] = a->spawn_sites[0];
  b->tasks[0].polls = 30;
  b->tasks[0].spawn = 1;
  b->tasks[1].id = 3;
  b->tasks[1].spawn = 0;
  b->tasks[2].id = 4;
  b->tasks[2].polls = 7;
  b->tasks[2].spawn = 1;
  dump_diff_build(a, b, &df);
  const diff_site *f0 = NULL, *f1 = NULL;
  for (size_t i = 0; i < df.nsites; i++) {
    cr_assert_not_null(df.sites[i].site);
    if (strcmp(df.sites[i].site->func, "f0") == 0)
      f0 = &df.sites[i];
    if (strcmp(df.sites[i].site->func, "f1") == 0)
      f1 = &df.sites[i];
  }
  cr_expect_eq(df.nsites, 2u, "sites no task uses are left out");
  cr_assert(f0 && f1);
  cr_expect_eq(f0->tasks_a, 2u);
  cr_expect_eq(f0->tasks_b, 2u);
  cr_expect_eq(f0->appeared, 1u);
  cr_expect_eq(f0->finished, 1u);
  cr_expect_eq(f0->polls, 27u);
  cr_expect_float_eq(f0->polls_per_s, 13.5, 1e-9);
  cr_expect_eq(f1->tasks_a, 1u);
  cr_expect_eq(f1->tasks_b, 1u);
  cr_expect_eq(f1->polls, 0u);
}

Test(diff, workers_polls_per_second_from_the_histograms) {
  static const uint64_t bounds[] = {100, UINT64_MAX};
  pair(1, 4);
  schedrt_dump_doc *docs[] = {a, b};
  for (size_t k = 0; k < 2; k++) {
    docs[k]->hist_bounds = tdb_zalloc(2, sizeof(uint64_t));
    memcpy(docs[k]->hist_bounds, bounds, sizeof(bounds));
    docs[k]->nhist_bounds = 2;
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
      docs[k]->workers[0].hist[h] = tdb_zalloc(2, sizeof(uint64_t));
      docs[k]->workers[0].nhist[h] = 2;
      docs[k]->workers[0].hist[h][0] = k ? 500 : 100;
    }
  }
  dump_diff_build(a, b, &df);
  cr_assert_eq(df.nworkers, 2u);
  cr_expect(df.workers[0].has_polls);
  cr_expect_eq(df.workers[0].polls, 400u);
  cr_expect_float_eq(df.workers[0].polls_per_s, 100.0, 1e-9);
  cr_expect(!df.workers[1].has_polls, "no histogram, no rate");
  cr_expect(isnan(df.workers[1].polls_per_s));
}

Test(diff, newest_first_is_compared_in_time_order) {
  pair(2, 3);
  b->tasks[1].id = 7; /* B: #1, #7 */
  dump_diff_build(b, a, &df);
  cr_expect(df.swapped);
  cr_expect_eq(df.a, a);
  cr_expect_eq(df.interval_ns, 3000000000u);
  cr_assert_eq(df.nappeared, 1u);
  cr_expect_eq(id_of(b, df.appeared[0]), 7u, "what B has and A has not appeared, whatever the order given");
  cr_expect_eq(df.nstalled, 1u);
}

Test(diff, one_line_for_the_status_line) {
  char buf[256];
  pair(3, 2);
  tdb_lost(b, 0);
  b->tasks[0].state_ns = 5;
  dump_diff_build(a, b, &df);
  cr_expect_str_eq(dump_diff_summary(buf, sizeof(buf), &df),
                   "1 new lost wake-up, 2 stalled, +0 -0 tasks in 2.00s");
  dump_diff_free(&df);
  tdb_join(b, 1, 3);
  tdb_join(b, 2, 2);
  dump_diff_build(a, b, &df);
  cr_expect_str_eq(dump_diff_summary(buf, sizeof(buf), &df),
                   "1 new lost wake-up, 2 stalled, 1 deadlock (1 new), +0 -0 tasks in 2.00s");
}

static void print(void) {
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  dump_diff_print(&df, f, "a.cbor", "b.cbor", 20);
  fclose(f);
}

static size_t at(const char *needle) {
  const char *p = strstr(text, needle);
  cr_expect_not_null(p, "no '%s' in:\n%s", needle, text);
  return p ? (size_t)(p - text) : strlen(text);
}

Test(diff, the_report_puts_the_headlines_first) {
  pair(4, 5);
  a->tasks[0].name = b->tasks[0].name = "stuck-one";
  tdb_lost(b, 1);
  b->tasks[1].state_ns = 1;
  b->tasks[3].id = 40;
  b->tasks[3].name = "newbie";
  dump_diff_build(a, b, &df);
  print();
  size_t head = at("HEADLINES"), st = at("2 tasks stalled"), lost = at("1 new lost wake-up"),
         app = at("1 task appeared, 1 finished: 4 alive in A, 4 in B"), lst = at("\nSTALLED (2)"),
         nl = at("\nNEW LOST WAKE-UPS (1)"), ap = at("\nAPPEARED (1)"),
         fin = at("\nFINISHED (as A saw them) (1)"), sites = at("\nSPAWN SITES"), w = at("\nWORKERS");
  cr_expect_lt(at("Two dumps of pid 4242 (runtime \"unit\"): A a.cbor"), head);
  cr_expect_lt(head, st);
  cr_expect_lt(st, lost);
  cr_expect_lt(lost, app);
  cr_expect_lt(app, lst);
  cr_expect_lt(lst, nl);
  cr_expect_lt(nl, ap);
  cr_expect_lt(ap, fin);
  cr_expect_lt(fin, sites);
  cr_expect_lt(sites, w);
  at("#1        stuck-one            idle 1.00s -> 6.00s, polls 1  wakers 1  no await point recorded  "
     "spawned at "
     "spawn.c:10 (f0)");
  at("#40       newbie");
  at("(no polls per worker: start the target with SCHEDRT_TIMING=1 for them)");
}

Test(diff, the_report_says_when_the_files_came_newest_first) {
  pair(1, 1);
  dump_diff_build(b, a, &df);
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  dump_diff_print(&df, f, "new.cbor", "old.cbor", 20);
  fclose(f);
  at("A old.cbor taken");
  at("(old.cbor was taken first");
}

Test(diff, json) {
  pair(3, 2);
  b->tasks[2].id = 30;
  tdb_lost(b, 1);
  b->tasks[1].state_ns = 5;
  dump_diff_build(a, b, &df);
  json_t *j = dump_diff_json(&df, "a.cbor", "b.cbor");
  json_t *c = json_object_get(j, "counts");
  cr_expect_eq(json_integer_value(json_object_get(c, "stalled")), 1);
  cr_expect_eq(json_integer_value(json_object_get(c, "new_lost_wakeups")), 1);
  cr_expect_eq(json_integer_value(json_object_get(c, "appeared")), 1);
  cr_expect_eq(json_integer_value(json_object_get(c, "finished")), 1);
  cr_expect_eq(json_integer_value(json_object_get(j, "interval_ns")), 2 * S);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "a"), "file")), "a.cbor");
  json_t *st = json_array_get(json_object_get(j, "stalled"), 0);
  cr_expect_eq(json_integer_value(json_object_get(st, "id")), 1);
  cr_expect_eq(json_integer_value(json_object_get(st, "idle_a_ns")), S);
  cr_expect_eq(json_integer_value(json_object_get(st, "idle_b_ns")), 3 * S);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "appeared"), 0), "id")),
               30);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "finished"), 0), "id")),
               3);
  json_t *site = json_array_get(json_object_get(j, "spawn_sites"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(site, "file")), "spawn.c");
  cr_expect_eq(json_integer_value(json_object_get(site, "tasks_a")), 3);
  json_decref(j);
}
