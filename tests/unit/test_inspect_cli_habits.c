/*
 * sched-inspect's commands against the habits of a Unix user and the
 * mistakes of a careless one: --help in 80 columns; another user's process
 * named as such (two users: root's target, sched-inspect as nobody); `dump`
 * refusing a bad destination before it asks anything of the runtime (and
 * --force); `show` refusing a FIFO at once, reading standard input (`-`),
 * listing every task (--all), resolving sites in --json, and saying what -t
 * needs; `stat` printing `-` for what it cannot know and repeating its
 * header (-h N).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "inspect_cli.h"

TestSuite(habits, .fini = cleanup, .timeout = 60);
TestSuite(habits_live, .fini = cleanup, .timeout = 60);

/* A directory of the test's own under /tmp, removed by cleanup. */
static const char *own_dir(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/inspect_habits_%ld", (long)getpid());
  cr_assert(mkdir(tmp_dir, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", tmp_dir, strerror(errno));
  return tmp_dir;
}

/* Dump objects of process pid in /dev/shm: the runtime's copies nobody collected. */
static int dump_objects_of(pid_t pid) {
  char pattern[96];
  glob_t g;
  snprintf(pattern, sizeof(pattern), "/dev/shm/schedrt.*.%ld.*.dump.*", (long)pid);
  int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
  globfree(&g);
  return n;
}

static void take_dump(const char *path) {
  run("dump", target_pid_s, "-o", path, NULL);
  if (strstr(r.err, "serves no dump requests")) {
    stop_target(); /* a skip does not run the suite's fini */
    cr_skip_test("this build's runtime serves no dumps");
  }
  cr_assert_eq(r.status, 0, "dump: %s%s", r.out, r.err);
}

/* ---------------------------------------------------------- 80 columns */

Test(habits, every_help_fits_80_columns) {
  static const char *const cmds[] = {NULL,   "list", "top",   "stat",   "dump",
                                     "show", "diff", "serve", "record", "plot"};
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    if (cmds[i])
      run(cmds[i], "--help", NULL);
    else
      run("--help", NULL);
    EXPECT_STATUS(0);
    size_t cols = 0, lineno = 1;
    for (const char *p = r.out; *p; p++) {
      if (*p == '\n') {
        cols = 0;
        lineno++;
        continue;
      }
      cols += ((unsigned char)*p & 0xC0) != 0x80; /* a column per UTF-8 character */
      cr_expect(cols <= 80, "`%s --help`, line %zu is wider than 80 columns", cmds[i] ? cmds[i] : "", lineno);
      if (cols > 80)
        break;
    }
  }
  /* The keys' help wraps under its text, not under the key names. */
  run("top", "--help", NULL);
  EXPECT_OUT("  s              sort workers by the next column (worker, depth, polls, steals,\n"
             "                 busy, running)\n");
}

/* ---------------------------------------------------------- show */

/* A FIFO with no writer used to block the open for ever (the suite's timeout would end this test). */
Test(habits, show_refuses_what_is_not_a_regular_file_at_once, .timeout = 10) {
  char fifo[300];
  snprintf(fifo, sizeof(fifo), "%s/pipe.cbor", own_dir());
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  run("show", fifo, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not a regular file but a FIFO");
  run("show", fifo, "--json", NULL);
  EXPECT_STATUS(1);
  run("diff", fifo, fifo, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("FIFO");
  run("show", tmp_dir, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not a regular file but a directory");
  run("show", "/dev/null", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not a regular file but a device");
}

Test(habits, show_stdin_errors) {
  /* Nothing came: an error, not an empty report. */
  run_stdin("/dev/null", "show", "-", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("standard input: empty");
  /* The viewer needs standard input for its keys. */
  run("show", "-", "-t", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("show -t reads keys from standard input");
  run("diff", "-", "-", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("only one of A and B");
  run("show", "a.cbor", "--all", "--json", NULL);
  EXPECT_STATUS(2);
}

Test(habits_live, show_reads_standard_input_and_lists_all) {
  char path[256];
  /* 30 tasks at one await point: more than the report's 10 per group. */
  start_target("--idle", "30", "--no-ticker", NULL);
  tmp_path(path, sizeof(path), "habits.cbor");
  take_dump(path);

  run_stdin(path, "show", "-", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("TASKS BY AWAIT POINT AND STATE");
  EXPECT_OUT("... 20 more (show --all lists every task)");
  char *report = strdup(r.out);
  run("show", path, NULL);
  cr_expect_str_eq(r.out, report, "show - and show FILE differ");
  free(report);

  run("show", path, "--all", NULL);
  EXPECT_STATUS(0);
  cr_expect(strstr(r.out, "more (show --all") == NULL, "--all still leaves tasks out");
  int listed = 0;
  for (int i = 0; i < 30; i++) {
    char name[32];
    snprintf(name, sizeof(name), " idle-%d ", i);
    listed += strstr(r.out, name) != NULL;
  }
  cr_expect_eq(listed, 30, "--all lists %d of the 30 idle tasks", listed);

  run_stdin(path, "show", "-", "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "show - --json: %s", e.text);
  json_decref(j);

  run_stdin(path, "diff", path, "-", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("HEADLINES");
}

/* Await points and spawn sites resolved in every task, the indices kept: jq needs no join. */
Test(habits_live, show_json_resolves_sites) {
  char path[256];
  start_target("--idle", "2", "--no-ticker", NULL);
  tmp_path(path, sizeof(path), "sites.cbor");
  take_dump(path);
  run("show", path, "--json", NULL);
  EXPECT_STATUS(0);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e), *t;
  cr_assert(json_is_object(j), "%s", e.text);
  size_t i, idle = 0;
  json_array_foreach(json_object_get(j, "tasks"), i, t) {
    const char *name = json_string_value(json_object_get(t, "name"));
    if (!name || strncmp(name, "idle-", 5) != 0)
      continue;
    idle++;
    json_t *aw = json_object_get(t, "await_site"), *sp = json_object_get(t, "spawn_site");
    cr_expect(json_is_integer(json_object_get(t, "await")), "%s: the await index is gone", name);
    cr_expect(json_is_integer(json_object_get(t, "spawn")), "%s: the spawn index is gone", name);
    cr_expect(json_is_string(json_object_get(aw, "label")), "%s: no await_site.label", name);
    const char *file = json_string_value(json_object_get(sp, "file"));
    cr_expect(file && strstr(file, "inspect_target.c"), "%s: spawn_site.file %s", name, file ? file : "null");
    cr_expect(json_integer_value(json_object_get(sp, "line")) > 0, "%s: no spawn_site.line", name);
  }
  cr_expect_eq(idle, 2u);
  json_decref(j);
}

Test(habits_live, show_t_without_a_terminal_says_what_it_needs) {
  char path[256];
  start_target("--idle", "1", NULL, NULL);
  tmp_path(path, sizeof(path), "viewer.cbor");
  take_dump(path);
  run("show", path, "-t", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("the dump viewer (show -t) needs a terminal");
  cr_expect(strstr(r.err, "live view") == NULL, "show -t talks about the live view: %s", r.err);
}

/* ---------------------------------------------------------- dump's destination */

/* Every bad destination is refused before the request: the runtime writes no dump object for it
 * (one collected by nobody stays in /dev/shm for a minute), and an existing file is left alone. */
Test(habits_live, dump_checks_its_destination_before_asking) {
  char path[300], ro[300], cmd[400];
  const char *dir = own_dir();
  start_target("--idle", "2", NULL, NULL);

  snprintf(path, sizeof(path), "%s/taken.cbor", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("mine", f);
  fclose(f);
  run("dump", target_pid_s, "-o", path, NULL);
  if (strstr(r.err, "serves no dump requests")) {
    stop_target();
    cr_skip_test("this build's runtime serves no dumps");
  }
  EXPECT_STATUS(1);
  EXPECT_ERR("not overwriting (--force replaces it); no dump was asked for");
  cr_expect_eq(dump_objects_of(target_pid), 0, "a dump was taken for a file that exists");
  char was[16] = "";
  slurp(path, was, sizeof(was));
  cr_expect_str_eq(was, "mine", "the existing file was changed");

  snprintf(cmd, sizeof(cmd), "%s/missing/d.cbor", dir);
  run("dump", target_pid_s, "-o", cmd, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("No such file or directory; no dump was asked for");
  cr_expect_eq(dump_objects_of(target_pid), 0, "a dump was taken for a missing directory");

  /* Read-only: a mode 0500 directory, or for root (who writes anywhere by mode) sysfs, which refuses
   * new files to everyone. */
  if (geteuid() == 0) {
    snprintf(ro, sizeof(ro), "/sys/inspect_habits.cbor");
  } else {
    snprintf(ro, sizeof(ro), "%s/ro", dir);
    cr_assert_eq(mkdir(ro, 0500), 0);
    strcat(ro, "/d.cbor");
  }
  run("dump", target_pid_s, "-o", ro, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("no dump was asked for");
  cr_expect_eq(dump_objects_of(target_pid), 0, "a dump was taken for a read-only directory");
  cr_expect(access(ro, F_OK) != 0, "%s was created", ro);

  /* --force: the old file is replaced by the whole dump, and nothing else is left in the directory. */
  run("dump", target_pid_s, "-o", path, "--force", NULL);
  EXPECT_STATUS(0);
  run("show", path, NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("Task dump of pid");
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int entries = 0;
  for (struct dirent *de; (de = readdir(d));)
    entries += de->d_name[0] != '.' && strcmp(de->d_name, "ro") != 0;
  closedir(d);
  cr_expect_eq(entries, 1, "--force left %d files in %s (a temporary one?)", entries, dir);
  run("dump", target_pid_s, "--force", NULL);
  EXPECT_STATUS(2);
  EXPECT_ERR("--force replaces the FILE of -o FILE");
}

/* The live view checks its -o DIR at start, before attaching: no `d` can find it bad later. */
Test(habits_live, top_refuses_a_bad_output_dir_at_start) {
  char missing[300];
  snprintf(missing, sizeof(missing), "%s/missing", own_dir());
  start_target("--idle", "1", NULL, NULL);
  run(target_pid_s, "-o", missing, NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("-o /tmp/inspect_habits_");
  EXPECT_ERR("No such file or directory");
  run(target_pid_s, "-o", "/etc/hostname", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("not a directory");
  run(target_pid_s, "-o", geteuid() == 0 ? "/sys" : "/", NULL);
  EXPECT_STATUS(1);
  EXPECT_ERR("dumps cannot be saved there");
}

/* ---------------------------------------------------------- stat */

Test(habits_live, stat_repeats_its_header) {
  start_target("--idle", "1", NULL, NULL);
  run("stat", target_pid_s, "-i", "0.05", "-c", "5", "-h", "2", NULL);
  EXPECT_STATUS(0);
  size_t headers = 0;
  for (const char *p = r.out; (p = strstr(p, "    time state")); p++)
    headers++;
  cr_expect_eq(headers, 3u, "-h 2 over 5 lines: headers before lines 1, 3 and 5, got %zu:\n%s", headers,
               r.out);
  cr_expect_eq(count_lines(r.out), 8u);
  run("stat", target_pid_s, "-i", "0.05", "-c", "3", "-h3", NULL);
  EXPECT_STATUS(0);
  cr_expect_eq(count_lines(r.out), 4u, "-h3 over 3 lines: one header");
  run("stat", target_pid_s, "-i", "0.05", "-c", "2", "--header", "1", NULL);
  cr_expect_eq(count_lines(r.out), 4u, "--header 1: a header before each line");
  run("stat", "-h", NULL);
  EXPECT_STATUS(0);
  EXPECT_OUT("Usage: sched-inspect stat");
  run("stat", target_pid_s, "-h", "0", NULL);
  EXPECT_STATUS(2);
}

/* Copies file from to the directory dir under its base name, mode 0600 as a segment must be. */
static void copy_into(const char *from, const char *dir) {
  char to[512], buf[1 << 14];
  const char *slash = strrchr(from, '/');
  const char *name = slash ? slash + 1 : from;
  cr_assert(strlen(dir) + 1 + strlen(name) < sizeof(to), "path too long: %s/%s", dir, name);
  memcpy(to, dir, strlen(dir));
  to[strlen(dir)] = '/';
  strcpy(to + strlen(dir) + 1, name);
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
  cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0)
    cr_assert_eq(write(out, buf, (size_t)n), n);
  close(in);
  close(out);
}

/* A process killed inside a long poll leaves a segment that says a worker is running: nothing is, and
 * no rate can be computed from one snapshot. `-`, not -1 and not `stuck 1`. The segment is read from a
 * copy in a directory of the test's own: any runtime that starts meanwhile (a parallel test) sweeps
 * stale segments out of /dev/shm. */
Test(habits_live, stat_of_a_dead_process_prints_dashes) {
  char seg[256] = "", pattern[96];
  glob_t g;
  start_target("--stuck-ms", "5000", NULL, NULL); /* "spinner" holds its worker 5 s per poll */
  snprintf(pattern, sizeof(pattern), "/dev/shm/schedrt.*.%s.*", target_pid_s);
  if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1)
    snprintf(seg, sizeof(seg), "%s", g.gl_pathv[0]);
  globfree(&g);
  cr_assert(seg[0], "no segment for %s", target_pid_s);
  /* Removed by cleanup: kill -9 leaves it behind. */
  snprintf(tmp_files[ntmp_files++], sizeof(tmp_files[0]), "%s", seg);
  /* Until the spinner is inside its poll (a bounded wait on what stat sees, not a sleep). */
  int stuck = 0;
  for (int i = 0; i < 50 && !stuck; i++) {
    run("stat", target_pid_s, "-i", "0.1", "-c", "1", NULL);
    const char *line = strchr(r.out, '\n');
    stuck = line && strcmp(field(line + 1, 10), "1") == 0;
  }
  cr_assert(stuck, "the spinner never showed as stuck:\n%s", r.out);
  /* Stopped first, so that the copy is of a segment nobody is writing. */
  kill(target_pid, SIGSTOP);
  copy_into(seg, own_dir());
  kill(target_pid, SIGKILL);
  while (waitpid(target_pid, NULL, 0) < 0 && errno == EINTR) {
  }
  target_pid = 0;

  run("stat", target_pid_s, "-i", "0.05", "-c", "1", "--shm-dir", tmp_dir, NULL);
  EXPECT_STATUS(5);
  const char *line = strchr(r.out, '\n');
  cr_assert_not_null(line, "no data line:\n%s%s", r.out, r.err);
  line++;
  cr_expect_str_eq(field(line, 1), "STALE");
  cr_expect_str_eq(field(line, 10), "-", "stuck of a dead process: %s", line);
  for (int i = 5; i <= 9; i++)
    cr_expect_str_eq(field(line, i), "-", "field %d of %s", i, line);
  cr_expect(strstr(line, "-1") == NULL, "-1 in %s", line);

  run("stat", target_pid_s, "-i", "0.05", "-c", "1", "--json", "--shm-dir", tmp_dir, NULL);
  json_error_t e;
  json_t *j = json_loads(r.out, 0, &e);
  cr_assert(json_is_object(j), "stat --json: %s (exit %d)\n%s%s", e.text, r.status, r.out, r.err);
  json_t *glob_o = json_object_get(j, "global");
  cr_expect(json_is_null(json_object_get(glob_o, "stuck_workers")), "stuck_workers of a dead process");
  cr_expect(json_is_null(json_object_get(glob_o, "polls_per_s")));
  json_decref(j);
}

/* ---------------------------------------------------------- another user's process */

/* Root's target, sched-inspect run as nobody: the segment is there, and the message says whose it is and
 * what to do, not "not a schedrt program". */
Test(habits_live, another_users_process_is_named_as_such) {
  struct passwd *pw = getpwnam("nobody");
  if (geteuid() != 0 || !pw || access("/usr/sbin/runuser", X_OK) != 0)
    cr_skip_test("needs root, a user nobody and runuser to run as two users");
  start_target("--idle", "1", NULL, NULL);
  const char *stat_argv[] = {"runuser", "-u",         "nobody", "--", SCHED_INSPECT_BIN,
                             "stat",    target_pid_s, "-c",     "1",  NULL};
  run_argv(NULL, stat_argv);
  if (r.status == 126 || r.status == 127 || strstr(r.err, "Permission denied")) {
    stop_target();
    cr_skip_test("nobody cannot run %s (%s)", SCHED_INSPECT_BIN, r.err);
  }
  EXPECT_STATUS(1);
  char want[128];
  snprintf(want, sizeof(want), "its schedrt segment /dev/shm/schedrt.0.%s.", target_pid_s);
  EXPECT_ERR(want);
  EXPECT_ERR("belongs to uid 0 (root) and you are uid");
  EXPECT_ERR("run sched-inspect as root");
  cr_expect(strstr(r.err, "not a schedrt program") == NULL, "%s", r.err);
  const char *dump_argv[] = {"runuser", "-u",         "nobody", "--",          SCHED_INSPECT_BIN,
                             "dump",    target_pid_s, "-o",     "/dev/null/x", NULL};
  run_argv(NULL, dump_argv);
  EXPECT_STATUS(1);
  EXPECT_ERR("belongs to uid 0 (root)");
  /* list leaves root's segment out, and says so instead of only "no schedrt processes found". */
  const char *list_argv[] = {"runuser", "-u", "nobody", "--", SCHED_INSPECT_BIN, "list", NULL};
  run_argv(NULL, list_argv);
  EXPECT_STATUS(0);
  cr_expect(strstr(r.out, target_pid_s) == NULL, "nobody's list shows root's target: %s", r.out);
  EXPECT_ERR("of other users not listed: only their owner and root may read them");
  /* Root's process 1 has no segment: that is what to say, not "wrong owner or unsafe permissions". */
  const char *init_argv[] = {"runuser", "-u", "nobody", "--", SCHED_INSPECT_BIN,
                             "stat",    "1",  "-c",     "1",  NULL};
  run_argv(NULL, init_argv);
  EXPECT_STATUS(4);
  EXPECT_ERR("no schedrt metrics segment");
}
