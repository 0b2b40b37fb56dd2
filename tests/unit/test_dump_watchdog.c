/*
 * Watchdog dumps: a task that blocks its worker six times, each time past
 * the threshold, gets exactly the bounded number of dumps (three), each a
 * private regular file in the watchdog directory, never written through a
 * link planted under the first name, each showing the blocking task running
 * on its worker; the segment says where they are and how many.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/reader.h"
#include "schedrt/shm_util.h"
#include "shm_fixture.h"
#include "test_dump_util.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define BLOCKS 6

static char dir[64];
static atomic_int blocks_done;

static void remove_dir(void) { fixture_dir_remove(dir); }

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/schedrt-watchdog-test.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

TestSuite(dump_watchdog, .init = setup, .fini = remove_dir);

static int files_in_dir(void) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d)
    return 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Blocks its worker 150 ms, sleeps 200 ms, six times: each block is a new stuck
 * poll, and the blocks are further apart than the watchdog's rate limit. The
 * first three blocks also last until their dump is saved (at most 10 s): on a
 * loaded machine a dump can take longer than 150 ms, and one that ends after
 * the poll rightly shows the task no longer running. */
static schedrt_poll blocker(schedrt_task *t, void *arg) {
  static uint64_t deadline;
  (void)arg;
  /* Between blocks: the sleep's own state says whether it is over. */
  if (deadline != 0 && schedrt_sleep(t, &deadline, 200 * MS) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  const bool dumped = atomic_load(&blocks_done) < 3;
  const int before = files_in_dir();
  const uint64_t start = tdu_now();
  for (;;) {
    struct timespec ts = {0, (long)MS};
    nanosleep(&ts, NULL);
    uint64_t spent = tdu_now() - start;
    if (spent >= 150 * MS && (!dumped || files_in_dir() > before || spent >= 10 * SEC))
      break;
  }
  if (atomic_fetch_add(&blocks_done, 1) + 1 >= BLOCKS)
    return SCHEDRT_READY;
  schedrt_await(t, "between blocks");
  return schedrt_sleep(t, &deadline, 200 * MS);
}

Test(dump_watchdog, bounded_private_files_that_show_the_stuck_task, .timeout = 60) {
  uint64_t start;
  cr_assert_eq(schedrt__proc_starttime(getpid(), &start), 0);
  /* A link planted under the first name: the runtime must not write through it. */
  char planted[256], target[128];
  snprintf(planted, sizeof(planted), "%s/schedrt-watchdog.%d.%llu.0.cbor", dir, (int)getpid(),
           (unsigned long long)start);
  snprintf(target, sizeof(target), "%s-target", dir);
  cr_assert_eq(symlink(target, planted), 0);

  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.monitor_period_ms = 10;
  cfg.watchdog_ms = 30;
  cfg.watchdog_dir = dir;
  cfg.watchdog_max_dumps = 3;
  cfg.name = "watchdogtest";
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, NULL, &(schedrt_spawn_opts){.name = "blocker"}, &h), 0);
  cr_assert_eq(schedrt_join(h, 30 * SEC, NULL), 0);
  const char *seg = schedrt_metrics_segment(rt);
  if (seg) {
    /* The segment names the directory and counts the dumps (the third may still be being written). */
    uint64_t until = tdu_now() + 10 * SEC;
    for (;;) {
      schedrt_reader *r;
      cr_assert_eq(schedrt_reader_open_name(seg, NULL, &r), 0);
      const schedrt_segment_info *in = schedrt_reader_info(r);
      char real[PATH_MAX];
      cr_assert_not_null(realpath(dir, real));
      cr_assert_str_eq(in->saved_dir, real);
      uint32_t n = in->saved_dumps;
      schedrt_reader_close(r);
      if (n == 3)
        break;
      cr_assert_lt(tdu_now(), until, "saved_dumps %u", n);
      usleep(1000);
    }
  }
  schedrt_runtime_destroy(rt); /* joins a watchdog dump still running */

  struct stat st;
  cr_assert_eq(lstat(planted, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "the planted link is still a link");
  cr_assert_neq(access(target, F_OK), 0, "nothing was written through it");
  int files = 0;
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || strcmp(path, planted) == 0)
      continue;
    files++;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600, "%s: mode %o", path, st.st_mode);
    schedrt_dump_doc *doc;
    char err[256];
    cr_assert_eq(schedrt_dump_load_ex(path, 0, &doc, err, sizeof(err)), 0, "%s: %s", path, err);
    cr_assert_str_eq(doc->source, "watchdog");
    cr_assert(doc->label && strstr(doc->label, "in one poll for"), "label %s", doc->label);
    const schedrt_dump_task *b = tdu_task_named(doc, "blocker");
    cr_assert_not_null(b);
    cr_assert_eq(b->state, SCHEDRT_DUMP_STATE_RUNNING, "%s: the blocker is shown running", path);
    cr_assert_eq(doc->nmissing, 1);
    cr_assert_eq(doc->workers[doc->missing[0]].current_task, (int64_t)b->id);
    cr_assert_geq(doc->workers[doc->missing[0]].running_ns, 30 * (int64_t)MS);
    schedrt_dump_doc_free(doc);
  }
  closedir(d);
  cr_assert_eq(files, 3, "exactly watchdog_max_dumps files, got %d", files);
}

/* Runs one 150 ms block on a runtime made from cfg; the files in dir afterwards. */
static int files_after_one_block(const schedrt_config *cfg) {
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(cfg, &rt), 0);
  atomic_store(&blocks_done, BLOCKS - 1); /* one block of 150 ms, then done */
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, NULL, NULL, &h), 0);
  cr_assert_eq(schedrt_join(h, 30 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt);
  DIR *d = opendir(dir);
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    files += e->d_name[0] != '.';
  closedir(d);
  return files;
}

Test(dump_watchdog, off_unless_asked, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.monitor_period_ms = 10;
  cfg.watchdog_dir = dir;
  cfg.name = "watchdogtest";
  cr_assert_eq(unsetenv("SCHEDRT_WATCHDOG_MS"), 0);
  cr_assert_eq(files_after_one_block(&cfg), 0, "no watchdog, no file");
}

/* Dumps disabled: the watchdog says so at start and writes nothing. */
Test(dump_watchdog, off_while_dumps_are_disabled, .timeout = 60) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.monitor_period_ms = 10;
  cfg.watchdog_ms = 50;
  cfg.watchdog_dir = dir;
  cfg.flags = SCHEDRT_CFG_NO_DUMP;
  cfg.name = "watchdogtest";
  cr_assert_eq(files_after_one_block(&cfg), 0, "dumps disabled, no watchdog file");
}
