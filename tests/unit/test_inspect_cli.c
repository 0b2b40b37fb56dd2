/*
 * The headless commands as a user runs them: sched-inspect list/stat/dump/show
 * against a live runtime (tests/e2e/inspect_target.c), one that exits midway,
 * a hung one (SIGSTOPped: its heartbeat stops), and corrupt segments (built by
 * the metrics fixture in a private directory, found with --shm-dir). Checks
 * exit statuses, output shape and messages; under ASan, also that nothing in
 * sched-inspect misbehaves on bad input.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "inspect_cli.h"
#include "shm_fixture.h"

/*
 * cli: what needs no runtime (usage, missing processes, bad files); cli_live:
 * against inspect_target, so only where its runtime publishes metrics
 * (tests/inspector.cmake filters it out elsewhere; the dump tests skip where
 * it serves no dumps).
 */
TestSuite(cli, .fini = cleanup, .timeout = 60);
TestSuite(cli_live, .fini = cleanup, .timeout = 60);

/* ---------------------------------------------------------- the basics */

Test(cli, version_and_help) {
  run("--version", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("sched-inspect 0.1.0");
  run("--help", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("Exit status");
  static const char *const cmds[] = {"list", "top", "stat", "dump", "show", "diff"};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    run(cmds[i], "--help", NULL);
    EXPECT_STATUS(0);
    EXPECT_OUT("Usage: sched-inspect");
  }
  run("top", "--help", NULL);
  EXPECT_OUT("take a task dump"); /* the key table is part of the help */
}

Test(cli, usage_errors_exit_2) {
  run(NULL);
  EXPECT_STATUS(2);
  run("frobnicate", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("unknown command");
  run("stat", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("missing PID");
  run("stat", "12x", NULL);
  EXPECT_STATUS(2);
  run("stat", "1", "-i", "0", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("--interval");
  run("dump", "1", "--label", "bad\tlabel", NULL);
  EXPECT_STATUS(2);
  /* Above the runtime's 10 s limit: refused, not clamped silently. */
  run("dump", "1", "--timeout", "10001", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("from 10 to 10000");
  run("dump", "1", "--timeout", "60000", NULL);
  EXPECT_STATUS(2);
  run("dump", "1", "--timeout", "9", NULL);
  EXPECT_STATUS(2);
  run("list", "--label", "x", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("does not apply");
  run("show", "a", "--json", "-t", NULL);
  EXPECT_STATUS(2);
  run("diff", "a", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("expected two FILEs");
  run("diff", "a", "b", "c", NULL);
  EXPECT_STATUS(2);
  run("diff", "a", "b", "-t", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("does not apply");
}

Test(cli, no_such_process_exits_4) {
  char pid[16];
  snprintf(pid, sizeof(pid), "%ld", (long)fixture_dead_pid());
  run("stat", pid, "-c", "1", NULL);
  EXPECT_STATUS(4);
  EXPECT_ERR("no such process");
  run("dump", pid, NULL);
  EXPECT_STATUS(4);
  snprintf(pid, sizeof(pid), "%ld", (long)getpid());
  run("stat", pid, "-c", "1", NULL);
  EXPECT_STATUS(4);
  EXPECT_ERR("no schedrt metrics segment");
}

/* ------------------------------------------------------ a live target */

Test(cli_live, top_needs_a_terminal) {
  start_target(NULL, NULL, NULL, NULL);
  run(target_pid_s, "-n", "1", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("needs a terminal");
}

Test(cli_live, list_shows_the_target) {
  start_target(NULL, NULL, NULL, NULL);
  run("list", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("PID");
  char want[64];
  snprintf(want, sizeof(want), "%-8s %-8s %7u", target_pid_s, "LIVE", 3u);
  EXPECT_OUT(want);
  run("list", "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_array(j), "%s", e.text);
  int found = 0;
  for (size_t i = 0; i < json_array_size(j); i++) {
    json_t *o = json_array_get(j, i);
    if (json_integer_value(json_object_get(o, "pid")) == target_pid) {
      found = 1;
      cr_expect_str_eq(json_string_value(json_object_get(o, "state")), "LIVE");
      cr_expect_str_eq(json_string_value(json_object_get(o, "runtime")), "target");
      cr_expect_eq(json_integer_value(json_object_get(o, "workers")), 3);
    }
  }
  cr_expect(found);
  json_decref(j);
}

Test(cli_live, stat_prints_one_line_per_interval) {
  start_target(NULL, NULL, NULL, NULL);
  run("stat", target_pid_s, "-i", "0.1", "-c", "3", NULL);
  EXPECT_STATUS(0);
  cr_expect_eq(count_lines(r.out), 4u, "header + 3 lines:\n%s", r.out);
  EXPECT_OUT("polls/s");
  EXPECT_OUT(" LIVE ");
  /* Three workers: three comma-separated depths in each line. */
  const char *last = strrchr(r.out, ' ');
  cr_expect(last != NULL);
  /* Without SCHEDRT_TIMING the lines are as they always were: no histogram columns. */
  cr_expect(strstr(r.out, "p50") == NULL, "percentile columns without timing:\n%s", r.out);
  expect_fields(17);
}

/* With SCHEDRT_TIMING each line ends with p50 and p99 of both histograms per worker, over the interval. */
Test(cli_live, stat_text_percentile_columns_with_timing) {
  start_target_ex(1, NULL, NULL, NULL, NULL);
  int seen = 0;
  /* The ticker polls every 5 ms, but on a busy machine an interval may still see none: wait for one. */
  for (int attempt = 0; attempt < 50 && !seen; attempt++) {
    run("stat", target_pid_s, "-i", "0.1", "-c", "3", NULL);
    EXPECT_STATUS(0);
    EXPECT_OUT("poll_time.p50(w) poll_time.p99(w) sched_latency.p50(w) sched_latency.p99(w)");
    expect_fields(21);
    char *save, *line = strtok_r(r.out, "\n", &save);
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *f = field(line, 17); /* poll_time.p50(w): "12.3us,-,-" */
      int commas = 0;
      for (const char *c = f; *c; c++)
        commas += *c == ',';
      cr_expect_eq(commas, 2, "one figure per worker: %s", f);
      if (strchr(f, 's') && strpbrk(f, "0123456789"))
        seen = 1;
    }
  }
  cr_expect(seen, "no interval with a poll-time figure");
}

Test(cli_live, stat_json_lines) {
  start_target(NULL, NULL, NULL, NULL);
  run("stat", target_pid_s, "-i", "0.1", "-c", "2", "--json", NULL);
  EXPECT_STATUS(0);
  cr_assert_eq(count_lines(r.out), 2u);
  char *line = strtok(r.out, "\n");
  while (line) {
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    cr_assert(json_is_object(j), "%s: %s", e.text, line);
    cr_expect_str_eq(json_string_value(json_object_get(j, "state")), "LIVE");
    json_t *ws = json_object_get(j, "workers");
    cr_expect_eq(json_array_size(ws), 3u);
    /* Generated from the metric list: every worker metric, raw and per second for counters. */
    json_t *w0 = json_array_get(ws, 0);
    cr_expect(json_is_integer(json_object_get(w0, "local_queue_depth")));
    cr_expect(json_object_get(w0, "polls_per_s") != NULL);
    cr_expect(json_is_integer(json_object_get(json_object_get(j, "global"), "alive")));
    /* Always there for scripts; null without SCHEDRT_TIMING, and nobody is stuck. */
    for (size_t w = 0; w < json_array_size(ws); w++) {
      json_t *wo = json_array_get(ws, w);
      static const char *const keys[] = {
          "poll_time",     "poll_time_per_s",     "poll_time_p50_ns",     "poll_time_p99_ns",
          "sched_latency", "sched_latency_per_s", "sched_latency_p50_ns", "sched_latency_p99_ns",
          "stuck_task"};
      for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        json_t *v = json_object_get(wo, keys[k]);
        cr_expect(v != NULL && json_is_null(v), "worker %zu: %s is not null", w, keys[k]);
      }
    }
    json_decref(j);
    line = strtok(NULL, "\n");
  }
}

/* What one worker object of a timing target with a stuck worker says; sets *named and *figures. */
static void check_timing_worker(json_t *wo, int *named, int *figures) {
  static const char *const hists[] = {"poll_time", "sched_latency"};
  char key[64];
  int have[2] = {0, 0};
  for (int h = 0; h < 2; h++) {
    cr_expect(json_is_integer(json_object_get(wo, hists[h])), "%s: values recorded since start", hists[h]);
    snprintf(key, sizeof(key), "%s_p50_ns", hists[h]);
    json_t *p50 = json_object_get(wo, key);
    snprintf(key, sizeof(key), "%s_p99_ns", hists[h]);
    json_t *p99 = json_object_get(wo, key);
    cr_assert(p50 != NULL && p99 != NULL, "the percentile fields are always there");
    if (json_is_integer(p50)) {
      cr_expect(json_integer_value(p50) > 0);
      cr_expect(json_integer_value(p99) >= json_integer_value(p50), "p99 below p50");
      have[h] = 1;
    }
  }
  *figures |= have[0] && have[1];
  json_t *st = json_object_get(wo, "stuck_task");
  cr_assert(st != NULL, "stuck_task is always there");
  if (!json_is_true(json_object_get(wo, "stuck"))) {
    cr_expect(json_is_null(st));
    return;
  }
  if (json_is_true(json_object_get(wo, "long_poll")) && json_is_null(st))
    return; /* a poll stretched past --stuck-ms (a loaded machine), counted by the runtime: no task */
  cr_assert(json_is_object(st), "a stuck worker names its task");
  cr_expect_eq(json_integer_value(json_object_get(st, "id")),
               json_integer_value(json_object_get(wo, "current_task")));
  cr_expect_geq(json_integer_value(json_object_get(st, "running_ns")), 50 * 1000000,
                "stuck for at least --stuck-ms");
  json_t *name = json_object_get(st, "name"), *file = json_object_get(st, "spawn_file");
  if (json_is_null(file))
    return; /* not named by the runtime's monitor yet (one to two periods) */
  cr_expect_str_eq(json_string_value(name), "spinner");
  cr_expect(strstr(json_string_value(file), "inspect_target.c") != NULL, "%s", json_string_value(file));
  cr_expect_gt(json_integer_value(json_object_get(st, "spawn_line")), 0);
  *named = 1;
}

/* SCHEDRT_TIMING and a task holding its worker: percentiles per interval, and the stuck task named. */
Test(cli_live, stat_json_timing_percentiles_and_stuck_task) {
  start_target_ex(1, "--stuck-ms", "60000", NULL, NULL);
  int named = 0, figures = 0;
  /* The monitor names a poll after one to two periods, and an interval may see no poll on a busy
   * machine: sample until both are there, within a bound. */
  for (int attempt = 0; attempt < 50 && !(named && figures); attempt++) {
    run("stat", target_pid_s, "-i", "0.1", "-c", "2", "--json", "--stuck-ms", "50", NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    char *save;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      json_error_t e;
      json_t *j = json_loads(line, 0, &e);
      cr_assert(json_is_object(j), "%s: %s", e.text, line);
      json_t *ws = json_object_get(j, "workers");
      for (size_t w = 0; w < json_array_size(ws); w++)
        if (!json_is_true(json_object_get(json_array_get(ws, w), "torn")))
          check_timing_worker(json_array_get(ws, w), &named, &figures);
      json_decref(j);
    }
  }
  cr_expect(named, "no stuck worker named its task \"spinner\" and its spawn site");
  cr_expect(figures, "no worker had p50/p99 of both histograms over an interval");
}

/*
 * Without SCHEDRT_TIMING, a task that holds its worker 50 ms every 2 s (too short for the runtime's
 * monitor to name, and rarely under a sample) is flagged at --stuck-ms 10 through the runtime's
 * long-poll count (issue 16 item 1): within 6 s of samples, some line has a stuck worker whose
 * long_poll says so, with the counted poll's length.
 */
Test(cli_live, stat_flags_short_stuck_polls_without_timing) {
  start_target("--stuck-ms", "50", "--rest-ms", "2000");
  run("stat", target_pid_s, "-i", "0.5", "-c", "12", "--json", "--stuck-ms", "10", NULL);
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  int flagged = 0;
  char *save;
  for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    cr_assert(json_is_object(j), "%s: %s", e.text, line);
    json_t *ws = json_object_get(j, "workers");
    json_int_t nstuck = json_integer_value(json_object_get(json_object_get(j, "global"), "stuck_workers"));
    for (size_t w = 0; w < json_array_size(ws); w++) {
      json_t *wo = json_array_get(ws, w);
      if (!json_is_true(json_object_get(wo, "long_poll")))
        continue;
      cr_expect(json_is_true(json_object_get(wo, "stuck")), "a long poll past --stuck-ms is stuck");
      cr_expect_geq(nstuck, 1, "and counted in the header's figure");
      cr_expect_geq(json_integer_value(json_object_get(wo, "long_polls")), 1);
      json_int_t len = json_integer_value(json_object_get(wo, "last_long_poll_ns"));
      /* At least the threshold; a loaded machine stretches the 50 ms spin (it is wall time), but a
       * length past the 2 s rest would be two polls taken for one. */
      cr_expect(len >= 10 * 1000000 && len < 2000 * 1000000ll, "a 50 ms poll seen for %lld ns",
                (long long)len);
      flagged = 1;
    }
    json_decref(j);
  }
  cr_assert(flagged, "no sample flagged the 50 ms polls at --stuck-ms 10: %s", r.out);
}

Test(cli_live, stat_follows_a_target_that_exits) {
  start_target("--exit-after", "700", NULL, NULL);
  run("stat", target_pid_s, "-i", "0.1", NULL);
  EXPECT_STATUS(5);
  EXPECT_ERR("exited");
  cr_expect(count_lines(r.out) >= 3, "it printed while the target lived:\n%s", r.out);
}

Test(cli_live, hung_target_is_reported) {
  start_target(NULL, NULL, NULL, NULL);
  cr_assert_eq(kill(target_pid, SIGSTOP), 0);
  usleep(600 * 1000); /* > 3 heartbeat periods of 100 ms */
  run("stat", target_pid_s, "-i", "0.2", "-c", "2", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT(" HUNG ");
  run("list", NULL);
  EXPECT_OUT("HUNG");
  /* A stopped process cannot answer: the dump gives up with its own status. */
  char never[256];
  tmp_path(never, sizeof(never), "never.cbor");
  run("dump", target_pid_s, "--timeout", "50", "-o", never, NULL);
  cr_expect(r.status == 6 || r.status == 1, "exit %d: %s", r.status, r.err);
  cr_expect(access(never, F_OK) != 0, "%s was left", never);
  kill(target_pid, SIGCONT);
}

/* ----------------------------------------------------------- dumps */

Test(cli_live, dump_save_and_show) {
  char path[256];
  start_target("--stuck-ms", "300", NULL, NULL);
  tmp_path(path, sizeof(path), "d.cbor");
  run("dump", target_pid_s, "-o", path, "--label", "cli test", "--timeout", "100", NULL);
  if (strstr(r.err, "serves no dump requests")) {
    stop_target(); /* a skip does not run the suite's .fini */
    cr_skip_test("this build's runtime serves no dumps");
  }
  cr_expect(r.status == 0 || r.status == 3, "exit %d: %s", r.status, r.err);
  EXPECT_OUT("saved to");
  EXPECT_OUT(path);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "no file at %s", path);
  unsigned char magic[3] = {0};
  cr_expect_eq(fread(magic, 1, 3, f), 3u);
  fclose(f);
  cr_expect(magic[0] == 0xd9 && magic[1] == 0xd9 && magic[2] == 0xf7, "the self-describe tag opens a dump");
  struct stat st;
  cr_expect(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "saved private");

  run("show", path, NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("TASKS BY AWAIT POINT AND STATE");
  EXPECT_OUT("wait-notify");
  EXPECT_OUT("label \"cli test\"");

  run("show", path, "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "%s", e.text);
  cr_expect_str_eq(json_string_value(json_object_get(j, "format")), "schedrt-dump");
  cr_expect(json_array_size(json_object_get(j, "tasks")) >= 20);
  json_decref(j);

  /* Never overwrites. */
  run("dump", target_pid_s, "-o", path, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not overwriting");
  unlink(path);
}

Test(cli_live, dump_default_name) {
  char dir[256], cwd[512];
  start_target(NULL, NULL, NULL, NULL);
  snprintf(dir, sizeof(dir), "/tmp/inspect_cli_dir_%ld", (long)getpid());
  mkdir(dir, 0700);
  snprintf(tmp_dir, sizeof(tmp_dir), "%s", dir);
  cr_assert(getcwd(cwd, sizeof(cwd)) != NULL);
  cr_assert_eq(chdir(dir), 0);
  run("dump", target_pid_s, NULL);
  cr_assert_eq(chdir(cwd), 0);
  if (strstr(r.err, "serves no dump requests")) {
    cleanup(); /* a skip does not run the suite's .fini */
    cr_skip_test("this build's runtime serves no dumps");
  }
  EXPECT_STATUS(0);
  char want[64];
  snprintf(want, sizeof(want), "./sched-dump-%s-", target_pid_s);
  EXPECT_OUT(want);

  /* Two dumps in one second (d twice in the live view) must not collide: with the default name of this
   * second and the next ten taken, the next dump takes a number. */
  char taken[11][600];
  int ntaken = 0;
  for (time_t t = time(NULL); ntaken < 11; t++) {
    char stamp[32];
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime_r(&t, &tm));
    snprintf(taken[ntaken], sizeof(taken[0]), "%s/sched-dump-%s-%s.cbor", dir, target_pid_s, stamp);
    FILE *f = fopen(taken[ntaken++], "wx");
    if (f)
      fclose(f);
  }
  cr_assert_eq(chdir(dir), 0);
  run("dump", target_pid_s, NULL);
  cr_assert_eq(chdir(cwd), 0);
  EXPECT_STATUS(0);
  EXPECT_OUT("-2.cbor");
}

Test(cli, diff_bad_files) {
  run("diff", "/nonexistent/a.cbor", "/nonexistent/b.cbor", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("/nonexistent/a.cbor");
}

/* ------------------------------------------- deadlocks, lost wake-ups, diff */

/* Dumps the target to a fresh /tmp file named name; skips where its runtime serves no dumps. */
static void dump_to(char *path, size_t size, const char *name) {
  tmp_path(path, size, name);
  run("dump", target_pid_s, "-o", path, NULL);
  if (strstr(r.err, "serves no dump requests")) {
    cleanup(); /* a skip does not run the suite's .fini */
    cr_skip_test("this build's runtime serves no dumps");
  }
  cr_assert_eq(r.status, 0, "dump: exit %d: %s", r.status, r.err);
}

/* The "name"s of the task objects in a JSON array, sorted and joined with ",": "a,b,c". */
static const char *names_of(json_t *arr) {
  static char buf[512];
  const char *names[32];
  size_t n = 0;
  for (size_t i = 0; i < json_array_size(arr) && n < 32; i++)
    names[n++] = json_string_value(json_object_get(json_array_get(arr, i), "name"));
  for (size_t i = 1; i < n; i++)
    for (size_t k = i; k > 0 && strcmp(names[k - 1] ? names[k - 1] : "", names[k] ? names[k] : "") > 0; k--) {
      const char *t = names[k];
      names[k] = names[k - 1];
      names[k - 1] = t;
    }
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
             names[i] ? names[i] : "null");
  return buf;
}

static size_t occurrences(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/*
 * A real program with the two bugs (tests/e2e/inspect_target.c): three tasks
 * awaiting each other's join handles, one that dropped its only waker; and
 * one waiting on a notify, which is fine. show must name the three in one
 * deadlock and the one lost wake-up, never the notify waiter.
 */
Test(cli_live, show_finds_the_deadlock_and_the_lost_wake_up) {
  static const char *const args[] = {"--idle", "1", "--no-ticker", "--deadlock", "--lost-wake", NULL};
  char path[256];
  start_target_args(0, args);
  dump_to(path, sizeof(path), "waits.cbor");

  run("show", path, NULL);
  EXPECT_STATUS(0);
  char *attn = strstr(r.out, "NEEDS ATTENTION"), *glance = strstr(r.out, "WORKERS AT A GLANCE");
  cr_assert(attn && glance && attn < glance, "%s", r.out);
  *glance = '\0'; /* from here on: the attention section only, without its idle await points */
  char *idle_points = strstr(attn, "longest-idle await points");
  if (idle_points)
    *idle_points = '\0';
  cr_expect_eq(occurrences(attn, "deadlocks: 1 "), 1u, "%s", attn);
  cr_expect_eq(occurrences(attn, "deadlock 1: 3 tasks"), 1u, "%s", attn);
  cr_expect_eq(occurrences(attn, "deadlock 2:"), 0u, "%s", attn);
  for (const char *const *n = (const char *const[]){"\"cycle-a\"", "\"cycle-b\"", "\"cycle-c\"", NULL}; *n;
       n++) {
    cr_expect_eq(occurrences(attn, *n), 1u, "%s once in:\n%s", *n, attn);
  }
  cr_expect(strstr(attn, "await \"join-next\" at ") != NULL, "%s", attn);
  cr_expect(strstr(attn, "spawned at ") != NULL && strstr(attn, "inspect_target.c:") != NULL, "%s", attn);
  cr_expect_eq(occurrences(attn, "lost wake-ups: 1 "), 1u, "%s", attn);
  cr_expect(strstr(attn, "#5 \"lost-waker\" idle") != NULL || strstr(attn, "\"lost-waker\" idle") != NULL,
            "%s", attn);
  cr_expect(strstr(attn, "await \"dropped-waker\"") != NULL, "%s", attn);
  cr_expect(strstr(attn, "\"idle-0\" idle") == NULL, "the notify waiter is not a finding:\n%s", attn);
  cr_expect(strstr(attn, "stuck worker") == NULL, "%s", attn);

  run("show", path, "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "%s", e.text);
  json_t *a = json_object_get(j, "analysis"), *counts = json_object_get(a, "counts");
  cr_expect(json_is_true(json_object_get(a, "wake_info")));
  cr_expect_eq(json_integer_value(json_object_get(counts, "deadlocks")), 1);
  cr_expect_eq(json_integer_value(json_object_get(counts, "lost_wakeups")), 1);
  cr_expect_eq(json_integer_value(json_object_get(counts, "stuck_workers")), 0);
  json_t *dl = json_array_get(json_object_get(a, "deadlocks"), 0);
  cr_expect_str_eq(names_of(json_object_get(dl, "tasks")), "cycle-a,cycle-b,cycle-c");
  cr_expect_str_eq(names_of(json_object_get(a, "lost_wakeups")), "lost-waker");
  /* Each member waits for the next; the JSON says whom. */
  json_t *m0 = json_array_get(json_object_get(dl, "tasks"), 0),
         *m1 = json_array_get(json_object_get(dl, "tasks"), 1);
  cr_expect_eq(json_integer_value(json_object_get(m0, "waits_for")),
               json_integer_value(json_object_get(m1, "id")));
  /* The dump itself is still there, converted faithfully. */
  cr_expect_eq(json_array_size(json_object_get(j, "tasks")), 5u);
  json_decref(j);
}

/*
 * A deadlock through two async mutexes (inspect_target --lock-deadlock): show
 * names the cycle, each task with the mutex it waits on and its owner, in
 * the text and in --json (dump format 1.2).
 */
Test(cli_live, show_names_the_owners_of_a_lock_deadlock) {
  static const char *const args[] = {"--idle", "0", "--no-ticker", "--lock-deadlock", NULL};
  char path[256];
  start_target_args(0, args);
  dump_to(path, sizeof(path), "locks.cbor");

  run("show", path, NULL);
  EXPECT_STATUS(0);
  char *attn = strstr(r.out, "NEEDS ATTENTION"), *glance = strstr(r.out, "WORKERS AT A GLANCE");
  cr_assert(attn && glance && attn < glance, "%s", r.out);
  *glance = '\0';
  cr_expect_eq(occurrences(attn, "deadlocks: 1 "), 1u, "%s", attn);
  cr_expect_eq(occurrences(attn, "deadlock 1: 2 tasks"), 1u, "%s", attn);
  cr_expect_eq(occurrences(attn, ": mutex 0x"), 2u, "each waits on a mutex the other holds:\n%s", attn);
  cr_expect_eq(occurrences(attn, "held by it"), 2u, "%s", attn);
  cr_expect(strstr(attn, "\"lock-a\"") && strstr(attn, "\"lock-b\""), "%s", attn);
  cr_expect(strstr(attn, "await \"lock-second\"") != NULL, "%s", attn);

  run("show", path, "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "%s", e.text);
  json_t *a = json_object_get(j, "analysis");
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(a, "counts"), "deadlocks")), 1);
  json_t *members = json_object_get(json_array_get(json_object_get(a, "deadlocks"), 0), "tasks");
  cr_assert_eq(json_array_size(members), 2u);
  for (size_t k = 0; k < 2; k++) {
    json_t *m = json_array_get(members, k), *other = json_array_get(members, 1 - k);
    cr_expect_str_eq(json_string_value(json_object_get(m, "wait")), "mutex");
    cr_expect_eq(json_integer_value(json_object_get(m, "waits_for")),
                 json_integer_value(json_object_get(other, "id")), "waits for the owner");
    json_t *h = json_array_get(json_object_get(m, "holders"), 0);
    cr_expect_eq(json_integer_value(json_object_get(h, "id")),
                 json_integer_value(json_object_get(other, "id")));
    cr_expect_eq(json_integer_value(json_object_get(h, "permits")), 1);
  }
  json_decref(j);
}

/*
 * diff on two dumps of a scripted program (inspect_target --phases): between
 * them the two "short-*" tasks finish and two "new-*" appear; the three
 * "stay-*" wait on, never polled: they are the stalled ones.
 */
Test(cli_live, diff_of_a_scripted_program) {
  static const char *const args[] = {"--idle", "0", "--no-ticker", "--phases", NULL};
  char a[256], b[256], other[256], line[64] = "";
  start_target_args(0, args);
  dump_to(a, sizeof(a), "phase0.cbor");
  cr_assert_eq(kill(target_pid, SIGUSR1), 0);
  /* The target says when the shorts have finished and the new ones wait (bounded: it exits on failure). */
  cr_assert(fgets(line, sizeof(line), target_out) != NULL && strcmp(line, "phase 1\n") == 0, "target: '%s'",
            line);
  dump_to(b, sizeof(b), "phase1.cbor");

  run("diff", a, b, NULL);
  EXPECT_STATUS(0);
  char *head = strstr(r.out, "HEADLINES"), *stalled = strstr(r.out, "\nSTALLED (3)");
  cr_assert(head && stalled && head < stalled, "%s", r.out);
  EXPECT_OUT("3 tasks stalled");
  EXPECT_OUT("2 tasks appeared, 2 finished: 5 alive in A, 5 in B");
  char *appeared = strstr(r.out, "\nAPPEARED (2)"),
       *finished = strstr(r.out, "\nFINISHED (as A saw them) (2)");
  cr_assert(appeared && finished && stalled < appeared && appeared < finished, "%s", r.out);
  *appeared = '\0';
  for (int i = 0; i < 3; i++) {
    char want[32];
    snprintf(want, sizeof(want), " stay-%d ", i);
    cr_expect(strstr(stalled, want) != NULL, "no %s among the stalled:\n%s", want, stalled);
  }
  cr_expect(strstr(stalled, "short-") == NULL && strstr(stalled, "new-") == NULL, "%s", stalled);

  run("diff", a, b, "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "%s", e.text);
  cr_expect_str_eq(names_of(json_object_get(j, "stalled")), "stay-0,stay-1,stay-2");
  cr_expect_str_eq(names_of(json_object_get(j, "appeared")), "new-0,new-1");
  cr_expect_str_eq(names_of(json_object_get(j, "finished")), "short-0,short-1");
  cr_expect_eq(json_array_size(json_object_get(j, "new_lost_wakeups")), 0u);
  cr_expect(json_integer_value(json_object_get(j, "interval_ns")) > 0);
  cr_expect(json_is_false(json_object_get(j, "swapped")));
  json_decref(j);

  /* Newest first: a warning, and the same comparison. */
  run("diff", b, a, "--json", NULL);
  EXPECT_STATUS(0);
  EXPECT_ERR("was taken before");
  j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "%s", e.text);
  cr_expect(json_is_true(json_object_get(j, "swapped")));
  cr_expect_str_eq(names_of(json_object_get(j, "appeared")), "new-0,new-1");
  json_decref(j);

  /* A dump of another process: its ids mean nothing here. */
  stop_target();
  start_target_args(0, args);
  dump_to(other, sizeof(other), "other.cbor");
  run("diff", a, other, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("different processes");
}

Test(cli, show_bad_files) {
  char path[256];
  tmp_path(path, sizeof(path), "bad.cbor");
  FILE *f = fopen(path, "w");
  fputs("not a dump at all", f);
  fclose(f);
  run("show", path, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not a schedrt dump");
  run("show", path, "--json", NULL);
  EXPECT_STATUS(1);
  run("show", "/nonexistent/dump.cbor", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("No such file");
  unlink(path);
}

/* ------------------------------------------------- corrupt segments */

static char dir[128];
static struct shm_fixture fx;
static char dead_s[16];

static void corrupt_setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  pid_t dead = fixture_dead_pid();
  snprintf(dead_s, sizeof(dead_s), "%ld", (long)dead);
  cr_assert_eq(fixture_segment_create(dir, 4, dead, 777, 0, &fx), 0);
}

static void corrupt_teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

TestSuite(cli_corrupt, .init = corrupt_setup, .fini = corrupt_teardown, .timeout = 60);

/* stat, dump and list on the damaged segment: the message, the status, no crash. */
static void expect_refused(const char *phrase, int want) {
  run("stat", dead_s, "--shm-dir", dir, "-c", "1", "-i", "0.05", NULL);
  EXPECT_STATUS(want);
  EXPECT_ERR(phrase);
  run("dump", dead_s, "--shm-dir", dir, NULL);
  EXPECT_STATUS(want);
  EXPECT_ERR(phrase);
  run("list", "--shm-dir", dir, NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("ERROR");
  run("list", "--shm-dir", dir, "--json", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("\"error\"");
}

Test(cli_corrupt, intact_stale_segment_is_a_post_mortem) {
  run("stat", dead_s, "--shm-dir", dir, "-c", "3", "-i", "0.05", NULL);
  EXPECT_STATUS(5);
  EXPECT_OUT("STALE");
  EXPECT_ERR("exited");
  run("list", "--shm-dir", dir, NULL);
  EXPECT_OUT("STALE");
}

Test(cli_corrupt, truncated) {
  cr_assert_eq(ftruncate(fx.fd, 1000), 0);
  expect_refused("corrupt", 1);
}

Test(cli_corrupt, wrong_magic) {
  memcpy(fx.base, "NOTSCHED", 8);
  expect_refused("not a schedrt segment", 1);
}

Test(cli_corrupt, unknown_major_version) {
  fixture_header(&fx)->layout_major = 77;
  expect_refused("version", 1);
}

Test(cli_corrupt, absurd_worker_count) {
  fixture_header(&fx)->max_workers = 4000000;
  expect_refused("corrupt", 1);
}

Test(cli_corrupt, offsets_past_the_end) {
  fixture_header(&fx)->hist_off = 0x7fffff00u;
  expect_refused("corrupt", 1);
}

Test(cli_corrupt, another_owner) {
  fixture_header(&fx)->uid = getuid() + 1000;
  expect_refused("owner", 1);
}

Test(cli_corrupt, unsafe_mode) {
  cr_assert_eq(fchmod(fx.fd, 0666), 0);
  expect_refused("unsafe permissions", 1);
}

Test(cli_corrupt, symlink) {
  char real[600];
  snprintf(real, sizeof(real), "%s/planted", dir);
  cr_assert_eq(rename(fx.path, real), 0);
  cr_assert_eq(symlink(real, fx.path), 0);
  run("stat", dead_s, "--shm-dir", dir, "-c", "1", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("symbolic link");
}

Test(cli_corrupt, list_escapes_control_bytes_in_names) {
  /* The runtime name and comm are the target's bytes: a C1 CSI (raw, and
   * as UTF-8) must reach the terminal escaped, not raw. */
  struct schedrt_shm_header *h = fixture_header(&fx);
  memset(h->runtime_name, 0, sizeof(h->runtime_name));
  memcpy(h->runtime_name,
         "evil\x9b"
         "2J\xc2\x9b"
         "31m",
         12);
  memset(h->comm, 0, sizeof(h->comm));
  memcpy(h->comm, "c\x90x", 3);
  run("list", "--shm-dir", dir, NULL);
  EXPECT_STATUS(0);
  cr_assert_null(strchr(r.out, '\x9b'), "no raw CSI: %s", r.out);
  cr_assert_null(strchr(r.out, '\x90'), "no raw DCS: %s", r.out);
  EXPECT_OUT("evil\\x9b2J\\xc2\\x9b31m");
  EXPECT_OUT("c\\x90x");
}

Test(cli_corrupt, torn_worker_slot) {
  /* A writer that died inside its seqlock section: odd sequence forever. */
  atomic_store(&fixture_slot(&fx, 1)->seq, 3);
  run("stat", dead_s, "--shm-dir", dir, "-c", "1", "-i", "0.05", "--json", NULL);
  cr_expect(r.status == 5 || r.status == 0, "exit %d: %s", r.status, r.err);
  EXPECT_OUT("\"torn\":true");
}
