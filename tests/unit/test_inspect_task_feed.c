/*
 * task_feed.c against a real runtime (inspect_target): the live task list's
 * dumps come every period with their pause, stay in memory (no file in the
 * working directory, no object left in /dev/shm), a refresh still running
 * when the next is due is not doubled nor followed by one at once, quitting
 * mid-refresh still removes the runtime's object (and a request given up
 * on past its deadline leaves none), and a target that exits
 * stops the refreshes. Every wait polls with a deadline.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "dump_client.h"
#include "inspect_cli.h"
#include "task_feed.h"
#include "util.h"

#define MS 1000000ull
#define PERIOD_NS (500 * MS)

TestSuite(task_feed_live, .fini = cleanup, .timeout = 90);
TestSuite(task_feed);

static inspect_target target;

/* The target, attached; the test's working directory a fresh empty one. */
static void start(void) {
  start_target("--idle", "5", NULL, NULL);
  inspect_attach_opts ao = {0};
  cr_assert_eq(target_attach(target_pid, &ao, &target), 0);
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/inspect_feed_%ld", (long)getpid());
  cr_assert(mkdir(tmp_dir, 0700) == 0, "mkdir %s: %s", tmp_dir, strerror(errno));
  cr_assert_eq(chdir(tmp_dir), 0);
}

static int dump_objects(void) {
  char pattern[96];
  glob_t g;
  snprintf(pattern, sizeof(pattern), "/dev/shm/schedrt.*.%ld.*.dump.*", (long)target_pid);
  int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
  globfree(&g);
  return n;
}

static int files_in_cwd(void) {
  DIR *d = opendir(".");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (d)
    closedir(d);
  return n;
}

/* Ticks f until cond holds or secs pass (sleeping until the tick it asks for, at most 10 ms). */
#define TICK_UNTIL(f, cond, secs)                                                                            \
  do {                                                                                                       \
    uint64_t end_ = inspect_now_ns() + (uint64_t)((secs)*1000) * MS;                                         \
    int busy_;                                                                                               \
    while (!(cond) && inspect_now_ns() < end_) {                                                             \
      task_feed_tick((f), inspect_now_ns(), 0, &busy_);                                                      \
      if (!(cond))                                                                                           \
        inspect_sleep_ns(10 * MS);                                                                           \
    }                                                                                                        \
  } while (0)

/* The task named name in the feed's list, or NULL. */
static const schedrt_dump_task *find(const task_feed *f, const char *name) {
  for (size_t i = 0; f->doc && i < f->doc->ntasks; i++)
    if (f->doc->tasks[i].name && strcmp(f->doc->tasks[i].name, name) == 0)
      return &f->doc->tasks[i];
  return NULL;
}

Test(task_feed_live, refreshes_every_period_in_memory_only) {
  start();
  task_feed *f = task_feed_new(&target, 0, NULL, PERIOD_NS);
  int busy;
  /* Inactive: nothing is asked. */
  task_feed_tick(f, inspect_now_ns(), 0, &busy);
  cr_expect_null(f->client);
  task_feed_set_active(f, 1, inspect_now_ns());
  TICK_UNTIL(f, f->generation >= 1, 15);
  cr_assert_geq(f->generation, 1, "no list: %s", f->failure);
  const schedrt_dump_task *t = find(f, "idle-0");
  cr_assert_not_null(t, "the target's task idle-0 is not in the list");
  const schedrt_dump_site *aw = schedrt_dump_await_site(f->doc, t);
  cr_expect(aw && aw->label && strcmp(aw->label, "wait-notify") == 0, "idle-0's await point");
  cr_expect_gt(f->doc->pause_ns, 0);
  cr_expect_gt(f->took_ns, 0);
  cr_expect_not_null(f->buf);
  /* When each was asked for (started_ns, until the next starts): their answers come after times that
   * vary, and a first answer slower than the second would bring the answers nearer than a period. */
  uint64_t first = f->started_ns;
  /* The next one a period later (not sooner), and again none on disk. */
  TICK_UNTIL(f, f->generation >= 2, 15);
  cr_assert_geq(f->generation, 2, "no second list: %s", f->failure);
  uint64_t second = f->started_ns;
  cr_expect_geq(second - first, PERIOD_NS, "two refreshes asked for %llu ns apart",
                (unsigned long long)(second - first));
  cr_expect_eq(f->failures, 0, "%s", f->failure);
  cr_expect_eq(files_in_cwd(), 0, "the feed wrote into the working directory");
  cr_expect_eq(dump_objects(), 0, "a dump object was left in /dev/shm");
  /* Closed: no more refreshes. */
  task_feed_set_active(f, 0, inspect_now_ns());
  uint64_t gen = f->generation;
  TICK_UNTIL(f, 0, 1.2);
  cr_expect_eq(f->generation, gen);
  cr_expect_null(f->client);
  task_feed_free(f, 0);
  target_detach(&target);
}

Test(task_feed_live, a_late_refresh_is_not_doubled) {
  start();
  task_feed *f = task_feed_new(&target, 0, NULL, PERIOD_NS);
  int busy;
  /* A stopped target answers nothing: the refresh is still running two periods later. */
  kill(target_pid, SIGSTOP);
  task_feed_set_active(f, 1, inspect_now_ns());
  task_feed_tick(f, inspect_now_ns(), 0, &busy);
  cr_assert_not_null(f->client, "no request made: %s", f->failure);
  cr_expect_eq(busy, 1);
  struct dump_client *c = f->client;
  uint64_t end = inspect_now_ns() + 3 * PERIOD_NS;
  while (inspect_now_ns() < end) {
    task_feed_tick(f, inspect_now_ns(), 0, &busy);
    cr_assert_eq(f->client, c, "a second request while the first was running");
    inspect_sleep_ns(10 * MS);
  }
  cr_expect_eq(f->failures, 0, "%s", f->failure);
  kill(target_pid, SIGCONT);
  TICK_UNTIL(f, f->generation >= 1, 10);
  cr_assert_eq(f->generation, 1, "%s", f->failure);
  cr_expect(f->late, "a refresh of %llu ns is not marked late", (unsigned long long)f->took_ns);
  /* Late: the next one is a whole period away, not at once to catch up. */
  uint64_t now = inspect_now_ns();
  task_feed_tick(f, now, 0, &busy);
  cr_expect_null(f->client, "a catch-up request right after the late one");
  cr_expect_geq(f->next_ns, f->received_ns + PERIOD_NS - 20 * MS);
  task_feed_free(f, 0);
  target_detach(&target);
}

/* Asks for a dump and waits for it: requests are answered one at a time, in order, so once this one is,
 * every earlier request was answered (and its object, if one was made, exists). BUSY while an earlier
 * one is still pending (the target just continued): asked again. */
static void later_dump_answered(void) {
  dump_request req = {.in_memory = 1};
  dump_client *c;
  dump_outcome out;
  int err;
  uint64_t end = inspect_now_ns() + 10000 * MS;
  while ((err = dump_client_start(&target, &req, &c, &out)) == -EBUSY && inspect_now_ns() < end)
    inspect_sleep_ns(20 * MS);
  cr_assert_eq(err, 0, "%s", out.message);
  int rc;
  while ((rc = dump_client_poll(c, &out)) == -EAGAIN && inspect_now_ns() < end)
    dump_client_wait(c, 20 * MS);
  cr_expect_eq(rc, 0);
  cr_expect_eq(out.err, 0, "%s", out.message);
  cr_expect_str_eq(out.path, "");
  cr_expect(strstr(out.message, "in memory") != NULL, "%s", out.message);
  dump_client_free(c);
}

Test(task_feed_live, quitting_mid_refresh_leaves_no_dump_object) {
  start();
  task_feed *f = task_feed_new(&target, 0, NULL, PERIOD_NS);
  int busy;
  kill(target_pid, SIGSTOP);
  task_feed_set_active(f, 1, inspect_now_ns());
  task_feed_tick(f, inspect_now_ns(), 0, &busy);
  cr_assert_not_null(f->client, "no request made: %s", f->failure);
  kill(target_pid, SIGCONT);
  /* Freed before the answer came: it waits for it and removes the object. */
  task_feed_free(f, 5000 * MS);
  later_dump_answered();
  cr_expect_eq(dump_objects(), 0, "the abandoned refresh's dump object is still in /dev/shm");
  cr_expect_eq(files_in_cwd(), 0);
  target_detach(&target);
}

/* Given up on while the target is stopped, which runs again only after the request's deadline: the
 * runtime was told the deadline and makes no object (an older one left it for its keep time). */
Test(task_feed_live, a_request_given_up_past_its_deadline_leaves_no_object) {
  start();
  kill(target_pid, SIGSTOP);
  dump_request req = {.in_memory = 1};
  dump_client *c;
  dump_outcome out;
  cr_assert_eq(dump_client_start(&target, &req, &c, &out), 0, "%s", out.message);
  cr_expect_eq(dump_client_cancel(c, 0), -ETIMEDOUT);
  /* The client says when its deadline has passed. */
  uint64_t end = inspect_now_ns() + 30000 * MS;
  while (dump_client_poll(c, &out) == -EAGAIN && inspect_now_ns() < end)
    inspect_sleep_ns(50 * MS);
  cr_assert_eq(out.err, -ETIMEDOUT, "%s", out.message);
  dump_client_free(c);
  kill(target_pid, SIGCONT);
  later_dump_answered();
  cr_expect_eq(dump_objects(), 0, "the given-up request's dump object is in /dev/shm");
  target_detach(&target);
}

Test(task_feed_live, a_target_that_exits_stops_the_refreshes) {
  start();
  task_feed *f = task_feed_new(&target, 0, NULL, PERIOD_NS);
  task_feed_set_active(f, 1, inspect_now_ns());
  TICK_UNTIL(f, f->generation >= 1, 15);
  cr_assert_eq(f->generation, 1, "%s", f->failure);
  stop_target();
  TICK_UNTIL(f, f->gone, 10);
  cr_assert(f->gone, "still refreshing a target that exited (%llu failures: %s)",
            (unsigned long long)f->failures, f->failure);
  cr_expect_neq(f->failed_ns, 0);
  /* The last list stays; nothing more is asked. */
  uint64_t failures = f->failures;
  TICK_UNTIL(f, 0, 1.2);
  cr_expect_eq(f->failures, failures);
  cr_expect_null(f->client);
  cr_expect_not_null(f->doc);
  int busy;
  cr_expect_eq(task_feed_tick(f, inspect_now_ns(), 0, &busy), UINT64_MAX);
  task_feed_free(f, 0);
  target_detach(&target);
}

Test(task_feed, periods_step_between_half_a_second_and_a_minute) {
  cr_expect_eq(task_feed_step_period(2000 * MS, 1), 1000 * MS);
  cr_expect_eq(task_feed_step_period(2000 * MS, 0), 5000 * MS);
  cr_expect_eq(task_feed_step_period(500 * MS, 1), 500 * MS);
  cr_expect_eq(task_feed_step_period(60000 * MS, 0), 60000 * MS);
  /* --tasks-every 3: the steps on either side. */
  cr_expect_eq(task_feed_step_period(3000 * MS, 1), 2000 * MS);
  cr_expect_eq(task_feed_step_period(3000 * MS, 0), 5000 * MS);
}
