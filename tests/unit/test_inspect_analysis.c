/*
 * What `show` puts first and `show --json` adds as "analysis"
 * (inspector/src/dump_analysis.c, dump_report.c, dump_analysis_json.c), on
 * dumps built in memory: stuck workers, lost wake-ups (listed, and grouped
 * by await point when there are many), deadlocks with every member's name,
 * await point and spawn site, wait chains, the longest-idle await points,
 * the per-worker and per-spawn-site summaries, what can wake each task, the
 * histograms at dump time, and a 1.0 dump, which cannot say any of it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dump_analysis.h"
#include "dump_analysis_json.h"
#include "dump_report.h"
#include "test_doc_builder.h"

static schedrt_dump_doc *d;
static char *text;

static void fini(void) {
  tdb_free(d);
  d = NULL;
  free(text);
  text = NULL;
}

TestSuite(analysis, .fini = fini, .timeout = 60);

static const char *report(size_t per_group) {
  size_t len = 0;
  free(text);
  FILE *f = open_memstream(&text, &len);
  cr_assert_not_null(f);
  dump_report_print(d, f, per_group);
  fclose(f);
  return text;
}

#define EXPECT_IN(hay, needle) cr_expect(strstr((hay), (needle)) != NULL, "no '%s' in:\n%s", (needle), (hay))
#define EXPECT_NOT_IN(hay, needle) cr_expect(strstr((hay), (needle)) == NULL, "'%s' in:\n%s", (needle), (hay))

/* Where needle starts in text, or the end (so an absent one sorts last and fails the order checks). */
static size_t at(const char *needle) {
  const char *p = strstr(text, needle);
  cr_expect_not_null(p, "no '%s' in:\n%s", needle, text);
  return p ? (size_t)(p - text) : strlen(text);
}

/*
 * Ten tasks, two workers:
 *   #1 "spinner" running on worker 0, which the dump lists missing (polling, 2 s)
 *   #2 "lost-one" idle 7 s at await-2, no waker, no timer (a lost wake-up), spawned at f3
 *   #3 "cyc-a" -> #4 "cyc-b" -> #5 "cyc-c" -> #3: a deadlock, at await-1, spawned at f1
 *   #6 "head" -> #7 "mid" -> #8 "end": a wait chain; #8 is queued on worker 1
 *   #9 "sleeper" idle with a timer in 40 ms; #10 "notified" idle on a notify (one waker)
 */
static void build_scene(void) {
  static const char *const names[] = {"spinner", "lost-one", "cyc-a", "cyc-b",   "cyc-c",
                                      "head",    "mid",      "end",   "sleeper", "notified"};
  d = tdb_new(10, 2);
  for (size_t i = 0; i < 10; i++)
    d->tasks[i].name = names[i];
  d->tasks[0].state = SCHEDRT_DUMP_STATE_RUNNING;
  d->tasks[0].state_ns = SCHEDRT_DUMP_NONE;
  d->tasks[0].worker = 0;
  d->tasks[0].spawn = 2;
  d->workers[0].role = SCHEDRT_DUMP_ROLE_MISSING;
  d->workers[0].reason = SCHEDRT_DUMP_REASON_POLLING;
  d->workers[0].current_task = 1;
  d->workers[0].running_ns = 2000000000;
  d->ncovered = 1;
  d->covered[0] = 1;
  d->missing = tdb_zalloc(1, sizeof(*d->missing));
  d->nmissing = 1;
  tdb_lost(d, 1);
  d->tasks[1].await = 2;
  d->tasks[1].spawn = 3;
  d->tasks[1].state_ns = 7000000000;
  for (size_t i = 2; i < 5; i++) {
    tdb_join(d, i, i == 4 ? 3 : i + 2);
    d->tasks[i].await = 1;
    d->tasks[i].spawn = 1;
  }
  tdb_join(d, 5, 7);
  tdb_join(d, 6, 8);
  d->tasks[7].state = SCHEDRT_DUMP_STATE_LOCAL;
  d->tasks[7].worker = 1;
  d->tasks[7].position = 0;
  d->tasks[8].wakers = 0;
  d->tasks[8].timers = 1;
  d->tasks[8].timer_in_ns = 40000000;
  d->tasks[9].wait = SCHEDRT_DUMP_WAIT_NOTIFY;
  d->tasks[9].wait_object = 0x1234;
  d->tasks[9].state_ns = 9000000000;
  d->tasks[9].await = 4;
}

Test(analysis, finds_every_kind_of_trouble) {
  build_scene();
  dump_analysis a;
  dump_analyze(d, &a);
  cr_expect(a.wake_info);
  cr_assert_eq(a.nstuck, 1u);
  cr_expect_eq(a.stuck[0], 0u);
  cr_expect_eq(a.workers[0].current, 0u);
  cr_assert_eq(a.nlost, 1u);
  cr_expect_eq(a.lost[0], 1u);
  cr_assert_eq(a.waits.ncycles, 1u);
  cr_expect_eq(a.waits.cycles[0].n, 3u);
  cr_assert_eq(a.nchains, 1u, "#6 -> #7 -> #8; the cycle is not a chain");
  cr_expect_eq(a.chains[0], 5u);
  cr_expect_eq(dump_attention(&a, 0), (unsigned)ATTN_STUCK);
  cr_expect_eq(dump_attention(&a, 1), (unsigned)(ATTN_LOST | ATTN_PROVEN));
  cr_expect_eq(dump_attention(&a, 3), (unsigned)(ATTN_DEADLOCK | ATTN_PROVEN));
  /* The lost one and the three of the cycle; the chain ends at a queued task, the sleeper has a timer. */
  cr_expect_eq(a.nproven, 4u);
  cr_expect(!a.proven[5] && !a.proven[6] && !a.proven[8] && !a.proven[9]);
  cr_expect_eq(dump_attention(&a, 9), 0u, "a notify waiter has a waker: not lost");
  cr_expect_eq(a.workers[1].by_state[SCHEDRT_DUMP_STATE_LOCAL], 1u);
  /* Longest idle first: the notify waiter (9 s), then the lost one (7 s). */
  cr_assert(a.nawaits >= 2);
  cr_expect_eq(a.awaits[0].longest, 9u);
  cr_expect_eq(a.awaits[1].longest, 1u);
  cr_expect_eq(a.awaits[1].lost, 1u);
  /* Spawn sites, most tasks first: f0 has #6..#10. */
  cr_assert(a.nsites >= 1);
  cr_expect_eq(a.sites[0].spawn, 0);
  cr_expect_eq(a.sites[0].tasks, 5u);
  dump_analysis_free(&a);
}

/* The live view's line after a dump: the first lost wake-up with where it waits, then the deadlocks. */
Test(analysis, one_line_of_news_for_the_live_view) {
  build_scene();
  dump_analysis a;
  char line[512];
  dump_analyze(d, &a);
  dump_attention_line(line, sizeof(line), &a);
  dump_analysis_free(&a);
  const schedrt_dump_site *w = &d->await_sites[2];
  char want[256];
  snprintf(want, sizeof(want), "1 lost wake-up: #2 \"lost-one\" idle 7.00s at %s:%llu; ", w->file,
           (unsigned long long)w->line);
  cr_expect_eq(strncmp(line, want, strlen(want)), 0, "'%s' does not start with '%s'", line, want);
  EXPECT_IN(line, "1 deadlock: #3 \"cyc-a\" and 2 more wait for each other");
  tdb_free(d);
  d = tdb_new(3, 1);
  dump_analyze(d, &a);
  cr_expect_str_eq(dump_attention_line(line, sizeof(line), &a), "", "nothing to say: no line");
  dump_analysis_free(&a);
}

Test(analysis, the_report_starts_with_what_needs_attention) {
  build_scene();
  report(0);
  size_t attn = at("NEEDS ATTENTION"), stuck = at("stuck worker 0"), lost = at("lost wake-ups: 1"),
         dead = at("deadlocks: 1"), chains = at("wait chains: 1"), idle = at("longest-idle await points"),
         wglance = at("WORKERS AT A GLANCE"), sglance = at("SPAWN SITES AT A GLANCE"),
         details = at("\nDUMP\n"), workers = at("\nWORKERS\n"), tasks = at("TASKS BY AWAIT POINT AND STATE");
  cr_expect_lt(at("Task dump of pid 4242"), attn);
  cr_expect_lt(attn, stuck);
  cr_expect_lt(stuck, lost);
  cr_expect_lt(lost, dead);
  cr_expect_lt(dead, chains);
  cr_expect_lt(chains, idle);
  cr_expect_lt(idle, wglance);
  cr_expect_lt(wglance, sglance);
  cr_expect_lt(sglance, details);
  cr_expect_lt(details, workers);
  cr_expect_lt(workers, tasks);
}

Test(analysis, the_report_names_each_finding) {
  build_scene();
  report(0);
  /* The stuck worker's task: name, spawn site and how long it has run. */
  EXPECT_IN(
      text,
      "stuck worker 0 (missing: polling): task #1 \"spinner\" running 2.00s, spawned at spawn.c:12 (f2)");
  EXPECT_IN(text, "#2 \"lost-one\" idle 7.00s  await \"await-2\" at await.c:22  spawned at spawn.c:13 (f3)");
  /* Every member of the deadlock with its await point and spawn site. */
  EXPECT_IN(
      text,
      "#3 \"cyc-a\" idle 1.00s  waits for #4  await \"await-1\" at await.c:21  spawned at spawn.c:11 (f1)");
  EXPECT_IN(
      text,
      "#4 \"cyc-b\" idle 1.00s  waits for #5  await \"await-1\" at await.c:21  spawned at spawn.c:11 (f1)");
  EXPECT_IN(
      text,
      "#5 \"cyc-c\" idle 1.00s  waits for #3  await \"await-1\" at await.c:21  spawned at spawn.c:11 (f1)");
  EXPECT_IN(text, "2 waiting: #6 \"head\" -> #7 \"mid\" -> #8 \"end\" (local, wakers 1)");
  EXPECT_IN(text, "9.00s  1 idle  await \"await-4\" at await.c:24  (longest: #10 \"notified\")");
}

Test(analysis, each_task_line_says_what_can_wake_it) {
  build_scene();
  report(0);
  EXPECT_IN(text, "LOST WAKE-UP");
  EXPECT_IN(text, "timer in 40.0ms");
  EXPECT_IN(text, "waits for #7 (mid), wakers 1");
  EXPECT_IN(text, "DEADLOCK, waits for #4 (cyc-b), wakers 1");
  EXPECT_IN(text, "notify 0x1234, wakers 1");
}

Test(analysis, the_worker_tables_name_the_current_task) {
  build_scene();
  report(0);
  EXPECT_IN(text, "#1 spinner (2.00s)");
  EXPECT_IN(text, "#1 spinner ");
  /* tid and the time held at the barrier. */
  EXPECT_IN(text, "5001");
  EXPECT_IN(text, "1.00us");
}

Test(analysis, the_running_group_comes_first) {
  build_scene();
  report(0);
  cr_expect_lt(at("  running        1 task"), at("  idle   "));
}

Test(analysis, many_lost_wake_ups_are_grouped_by_await_point) {
  d = tdb_new(30, 1);
  for (size_t i = 0; i < 30; i++) {
    tdb_lost(d, i);
    d->tasks[i].await = (int64_t)(i % 3);
    d->tasks[i].state_ns = (int64_t)(i + 1) * 1000000000;
  }
  report(0);
  EXPECT_IN(text, "lost wake-ups: 30");
  /* Longest idle first: await-2 holds #30 (30 s). */
  EXPECT_IN(text, "10 at await \"await-2\" at await.c:22, longest idle 30.00s: e.g. #30");
  EXPECT_IN(text, "10 at await \"await-0\" at await.c:20, longest idle 28.00s: e.g. #28");
  EXPECT_NOT_IN(text, "    #1 \"(unnamed)\" idle");
}

Test(analysis, nothing_to_report) {
  d = tdb_new(3, 1);
  report(0);
  EXPECT_IN(text, "no stuck worker, no lost wake-up, no deadlock");
  EXPECT_NOT_IN(text, "deadlocks:");
}

Test(analysis, a_format_1_0_dump_says_it_cannot_tell) {
  d = tdb_new(3, 1);
  d->minor = 0;
  for (size_t i = 0; i < 3; i++)
    d->tasks[i].wakers = 0; /* what the decoder reads for an absent key */
  report(0);
  EXPECT_IN(text, "format 1.0 dump does not say what can wake a task");
  EXPECT_NOT_IN(text, "wakers 0");
}

Test(analysis, histograms_at_dump_time) {
  static const uint64_t bounds[] = {100, 1000, 10000, UINT64_MAX};
  d = tdb_new(1, 2);
  d->hist_bounds = tdb_zalloc(4, sizeof(uint64_t));
  memcpy(d->hist_bounds, bounds, sizeof(bounds));
  d->nhist_bounds = 4;
  for (size_t w = 0; w < 2; w++)
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
      d->workers[w].hist[h] = tdb_zalloc(4, sizeof(uint64_t));
      d->workers[w].nhist[h] = 4;
      d->workers[w].hist[h][0] = 200; /* p50 and p99 at 100 ns */
      d->workers[w].hist[h][2] = 1;   /* max 10 us */
    }
  report(0);
  EXPECT_IN(text, "LATENCY AT DUMP TIME");
  EXPECT_IN(text, "poll_time");
  EXPECT_IN(text, "sched_latency");
  EXPECT_IN(text, "    201     100ns     100ns    10.0us");
  /* The glance table's polls: poll_time's count. */
  cr_expect_lt(at("WORKERS AT A GLANCE"), at("     201  -"));
}

Test(analysis, no_histograms_no_section) {
  d = tdb_new(1, 1);
  report(0);
  EXPECT_NOT_IN(text, "LATENCY AT DUMP TIME");
}

Test(analysis, spawn_sites_most_tasks_first) {
  d = tdb_new(12, 1);
  for (size_t i = 0; i < 12; i++)
    d->tasks[i].spawn = i < 9 ? 5 : 6;
  d->tasks[0].age_ns = 1000; /* the youngest */
  report(0);
  size_t f5 = at("spawn.c:15 (f5)"), f6 = at("spawn.c:16 (f6)");
  cr_expect_lt(f5, f6);
  EXPECT_IN(text,
            "       9    0      0      9     0     0        9       1     1.00s    1.00us  spawn.c:15 (f5)");
}

Test(analysis, json_holds_the_same_findings) {
  build_scene();
  dump_analysis a;
  dump_analyze(d, &a);
  json_t *j = dump_analysis_json(&a);
  dump_analysis_free(&a);
  json_t *counts = json_object_get(j, "counts");
  cr_expect_eq(json_integer_value(json_object_get(counts, "stuck_workers")), 1);
  cr_expect_eq(json_integer_value(json_object_get(counts, "lost_wakeups")), 1);
  cr_expect_eq(json_integer_value(json_object_get(counts, "deadlocks")), 1);
  cr_expect_eq(json_integer_value(json_object_get(counts, "wait_chains")), 1);
  cr_expect(json_is_true(json_object_get(j, "wake_info")));

  json_t *stuck = json_array_get(json_object_get(j, "stuck_workers"), 0);
  cr_expect_eq(json_integer_value(json_object_get(stuck, "worker")), 0);
  cr_expect_str_eq(json_string_value(json_object_get(stuck, "reason")), "polling");
  cr_expect_eq(json_integer_value(json_object_get(stuck, "running_ns")), 2000000000);
  json_t *st = json_object_get(stuck, "task");
  cr_expect_str_eq(json_string_value(json_object_get(st, "name")), "spinner");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(st, "spawn"), "file")), "spawn.c");
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(st, "spawn"), "line")), 12);

  json_t *lost = json_array_get(json_object_get(j, "lost_wakeups"), 0);
  cr_expect_eq(json_integer_value(json_object_get(lost, "id")), 2);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(lost, "await"), "label")), "await-2");
  cr_expect_eq(json_integer_value(json_object_get(lost, "for_ns")), 7000000000);

  json_t *dl = json_array_get(json_object_get(j, "deadlocks"), 0);
  cr_expect_eq(json_integer_value(json_object_get(dl, "size")), 3);
  json_t *members = json_object_get(dl, "tasks");
  cr_assert_eq(json_array_size(members), 3u);
  for (size_t k = 0; k < 3; k++) {
    json_t *m = json_array_get(members, k);
    cr_expect_eq(json_integer_value(json_object_get(m, "id")), (json_int_t)(3 + k));
    cr_expect_eq(json_integer_value(json_object_get(m, "waits_for")), (json_int_t)(k == 2 ? 3 : 4 + k));
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(m, "spawn"), "func")), "f1");
  }
  json_t *ch = json_array_get(json_object_get(j, "wait_chains"), 0);
  cr_expect_eq(json_integer_value(json_object_get(ch, "length")), 2);
  cr_expect_eq(json_array_size(json_object_get(ch, "tasks")), 2u);
  json_t *end = json_object_get(ch, "end");
  cr_expect_str_eq(json_string_value(json_object_get(end, "kind")), "task");
  cr_expect_eq(json_integer_value(json_object_get(end, "id")), 8);
  cr_expect_str_eq(json_string_value(json_object_get(end, "state")), "local");
  json_decref(j);
}

Test(analysis, json_cuts_long_chains_but_keeps_their_length) {
  const size_t n = 1000;
  d = tdb_new(n, 1);
  for (size_t i = 0; i + 1 < n; i++)
    tdb_join(d, i, d->tasks[i + 1].id);
  tdb_join(d, n - 1, 5000); /* the last waits for a task that finished */
  dump_analysis a;
  dump_analyze(d, &a);
  json_t *j = dump_analysis_json(&a);
  dump_analysis_free(&a);
  json_t *ch = json_array_get(json_object_get(j, "wait_chains"), 0);
  cr_expect_eq(json_integer_value(json_object_get(ch, "length")), (json_int_t)n);
  cr_expect_eq(json_array_size(json_object_get(ch, "tasks")), (size_t)ANALYSIS_JSON_MAX_CHAIN_IDS);
  cr_expect(json_is_true(json_object_get(ch, "truncated")));
  json_t *end = json_object_get(ch, "end");
  cr_expect_str_eq(json_string_value(json_object_get(end, "kind")), "finished");
  cr_expect_eq(json_integer_value(json_object_get(end, "id")), 5000);
  json_decref(j);
  report(0);
  EXPECT_IN(text,
            "1000 waiting: #1 \"(unnamed)\" -> #2 \"(unnamed)\" -> #3 \"(unnamed)\" -> ... 995 more -> #999 "
            "\"(unnamed)\" -> #1000 \"(unnamed)\" -> #5000 (finished: not in the dump)");
}

Test(analysis, a_million_tasks_in_deadlocks) {
  /* Half a million pairs: the report lists the first deadlocks and counts the rest. */
  const size_t n = 1000000;
  d = tdb_new(n, 1);
  for (size_t i = 0; i < n; i += 2) {
    tdb_join(d, i, d->tasks[i + 1].id);
    tdb_join(d, i + 1, d->tasks[i].id);
  }
  report(10);
  EXPECT_IN(text, "deadlocks: 500000");
  EXPECT_IN(text, "... 499980 more deadlocks");
}

Test(analysis, grouping_as_many_await_points_as_tasks) {
  /* A hostile dump: 300 k tasks, each at an await point of its own. Grouping by a linear search of the
   * groups would take 4.5e10 steps (ctest's timeout); sorting takes n log n. */
  const size_t n = 300000;
  d = tdb_new(n, 1);
  free(d->await_sites);
  d->await_sites = tdb_zalloc(n, sizeof(*d->await_sites));
  d->nawait_sites = n;
  for (size_t i = 0; i < n; i++) {
    d->await_sites[i] = (schedrt_dump_site){.label = "same label", .file = "far.c", .line = i};
    d->tasks[i].await = (int64_t)i;
    d->tasks[i].state_ns = (int64_t)(i % 1000);
  }
  d->tasks[7].await = 3; /* one group of two */
  task_group *g;
  size_t ng;
  cr_assert_eq(dump_group_tasks(d, &g, &ng), 0);
  cr_expect_eq(ng, n - 1);
  size_t two = 0;
  for (size_t i = 0; i < ng; i++)
    if (g[i].count == 2) {
      two++;
      cr_expect_eq(g[i].await_line, 3);
      cr_expect_eq(d->tasks[g[i].members[0]].id, 8u, "longest idle first: #8 (7 ns) before #4 (3 ns)");
    }
  cr_expect_eq(two, 1u);
  for (size_t i = 1; i < ng; i++)
    cr_assert_geq(g[i - 1].max_idle_ns, g[i].max_idle_ns, "longest idle first");
  dump_groups_free(g, ng);
}

/*
 * Proven leaks through handle holders (notify, oneshot, channel), one table with the rules they feed
 * (docs/forensics.md): a wait whose every other holder finished, is not in the dump or is proven leaked
 * is proven, through chains and cycles and joins; a holder outside the runtime, a live holder, a list
 * with holders left out, a oneshot whose waiter holds the sending side, a wait beside a timer and a
 * primitive with no holder list never are.
 */
Test(analysis, proven_leaks_through_handle_holders) {
  d = tdb_new(20, 1);
  d->minor = 3;
  const uint64_t self1[] = {1}, gone[] = {99}, h4[] = {4}, h5[] = {5}, h7[] = {7}, h3[] = {3};
  tdb_held(d, 0, SCHEDRT_DUMP_WAIT_NOTIFY, self1, 1);           /* #1: held by itself only: proven */
  tdb_held(d, 1, SCHEDRT_DUMP_WAIT_ONESHOT, gone, 1);           /* #2: sender #99 finished: proven */
  tdb_held(d, 2, SCHEDRT_DUMP_WAIT_CHANNEL_RECV, h4, 1);        /* #3: its sender #4 is leaked: proven */
  tdb_join(d, 3, 1);                                            /* #4 joins #1: proven */
  tdb_held(d, 4, SCHEDRT_DUMP_WAIT_NOTIFY, h5, 0);              /* #5: held by no task at all: proven */
  tdb_held(d, 5, SCHEDRT_DUMP_WAIT_CHANNEL_SEND, h7, 1);        /* #6: receiver #7, in a cycle: proven */
  tdb_held(d, 6, SCHEDRT_DUMP_WAIT_NOTIFY, (uint64_t[]){6}, 1); /* #7: held by #6: cycle, proven */
  tdb_join(d, 7, 3);                                            /* #8 joins #3: proven */
  const uint64_t outside[] = {0, 99}, live[] = {99, 19}, mixed[] = {1, 20};
  tdb_held(d, 8, SCHEDRT_DUMP_WAIT_NOTIFY, outside, 2); /* #9: also held outside: not */
  tdb_held(d, 9, SCHEDRT_DUMP_WAIT_NOTIFY, live, 2);    /* #10: #19 runs: not */
  d->tasks[18].state = SCHEDRT_DUMP_STATE_RUNNING;      /* #19 running */
  d->tasks[18].worker = 0;
  tdb_held(d, 10, SCHEDRT_DUMP_WAIT_NOTIFY, gone, 1); /* #11: beside a timer: not */
  d->tasks[10].timers = 1;
  d->tasks[10].timer_in_ns = 1000;
  tdb_held(d, 11, SCHEDRT_DUMP_WAIT_NOTIFY, gone, 1); /* #12: more holders than listed: not */
  d->tasks[11].holders_more = 1;
  const uint64_t self13[] = {13};
  tdb_held(d, 12, SCHEDRT_DUMP_WAIT_ONESHOT, self13, 1); /* #13: holds the sending side (closed): not */
  d->tasks[13].wait = SCHEDRT_DUMP_WAIT_NOTIFY;          /* #14: a notify with no holder list: not */
  tdb_held(d, 14, SCHEDRT_DUMP_WAIT_CHANNEL_RECV, mixed,
           2); /* #15: #1 leaked but #20 waits on a timer: not */
  d->tasks[19].timers = 1;
  d->tasks[19].timer_in_ns = 1000;
  tdb_held(d, 15, SCHEDRT_DUMP_WAIT_NOTIFY, h3, 1);   /* #16: held by #3 (proven): proven */
  d->tasks[16].state = SCHEDRT_DUMP_STATE_COMPLETING; /* #17 finished */
  d->tasks[16].wakers = 0;
  tdb_held(d, 17, SCHEDRT_DUMP_WAIT_NOTIFY, (uint64_t[]){17}, 1); /* #18: held by the finished #17 */
  dump_analysis a;
  dump_analyze(d, &a);
  static const unsigned char want[20] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0};
  for (size_t i = 0; i < 20; i++)
    cr_expect_eq(a.proven[i], want[i], "#%zu: proven %d, want %d", i + 1, a.proven[i], want[i]);
  cr_expect_eq(a.nproven, 10u);
  char buf[256];
  dump_wake_text(buf, sizeof(buf), d, &a.waits, 1);
  cr_expect(strstr(buf, "oneshot 0x") && strstr(buf, "held by #99(1, finished)"), "%s", buf);
  dump_wake_text(buf, sizeof(buf), d, &a.waits, 4);
  cr_expect(strstr(buf, "held by no task") != NULL, "%s", buf);
  /* Per spawn site, as show and --json count them: every task here was spawned at site 0. */
  size_t site_proven = 0;
  for (size_t k = 0; k < a.nsites; k++)
    site_proven += a.sites[k].proven;
  cr_expect_eq(site_proven, 10u);
  dump_analysis_free(&a);
  tdb_free(d);
  d = NULL;
}

/*
 * Proven leaks, a table over the waits a dump can prove (docs/forensics.md): a join on a lost task, a
 * join on that joiner, a mutex whose owner finished holding it and a semaphore whose only holder did
 * are proven; a join with a timer beside it, a join on a running task, on a finished one (its joiner is
 * about to be woken), a notify wait and a join with a second waker never are.
 */
Test(analysis, proven_leaks_and_legitimate_waits) {
  d = tdb_new(11, 1);
  d->minor = 2;      /* mutex and semaphore owners */
  tdb_lost(d, 0);    /* #1 lost */
  tdb_join(d, 1, 1); /* #2 joins #1: proven */
  tdb_join(d, 2, 2); /* #3 joins #2: proven */
  tdb_join(d, 3, 1); /* #4 joins #1 with a timer too: not */
  d->tasks[3].timers = 1;
  d->tasks[3].timer_in_ns = 1000000;
  d->tasks[4].state = SCHEDRT_DUMP_STATE_RUNNING; /* #5 running */
  d->tasks[4].state_ns = SCHEDRT_DUMP_NONE;
  d->tasks[4].worker = 0;
  tdb_join(d, 5, 5);  /* #6 joins the running #5: not */
  tdb_join(d, 6, 99); /* #7 joins a finished task: not */
  tdb_join(d, 7, 98); /* #8 waits on a mutex whose owner #98 finished: proven */
  d->tasks[7].wait = SCHEDRT_DUMP_WAIT_MUTEX;
  tdb_join(d, 8, 97); /* #9 on a semaphore whose only holder #97 finished: proven */
  d->tasks[8].wait = SCHEDRT_DUMP_WAIT_SEMAPHORE;
  d->tasks[9].state = SCHEDRT_DUMP_STATE_IDLE; /* #10 on a notify (its waker is there): not */
  d->tasks[9].wait = SCHEDRT_DUMP_WAIT_NOTIFY;
  d->tasks[9].wakers = 1;
  tdb_join(d, 10, 1); /* #11 joins #1 and holds another waker: not */
  d->tasks[10].wakers = 2;
  dump_analysis a;
  dump_analyze(d, &a);
  static const unsigned char want[11] = {1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0};
  for (size_t i = 0; i < 11; i++)
    cr_expect_eq(a.proven[i], want[i], "#%zu: proven %d, want %d", i + 1, a.proven[i], want[i]);
  cr_expect_eq(a.nproven, 5u);
  cr_expect_eq(dump_attention_mark(dump_attention(&a, 2)), 'P');
  cr_expect_eq(dump_attention_mark(dump_attention(&a, 0)), 'L');
  char line[512];
  dump_attention_line(line, sizeof(line), &a);
  cr_expect(strstr(line, "4 more proven leaked") != NULL, "%s", line);
  /* An older dump says nothing of wakers: nothing is proven from it. */
  dump_analysis_free(&a);
  d->minor = 0;
  dump_analyze(d, &a);
  cr_expect_eq(a.nproven, 0u);
  dump_analysis_free(&a);
  tdb_free(d);
  d = NULL;
}
