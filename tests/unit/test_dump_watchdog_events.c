/*
 * Watchdog dumps carry the event rings' last seconds (format 1.4, "events"):
 * with events on, the dump of a task stuck in a poll has that poll's
 * poll_start in its worker's ring, the last poll event there (the poll it is
 * still in), and the task's spawn in the window; with events off, or
 * SCHEDRT_WATCHDOG_EVENTS_S=0, there is no events key at all.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shm_fixture.h"
#include "test_dump_util.h"

#define SEC 1000000000ull
#define MS 1000000ull

static char dir[64];

static void remove_dir(void) { fixture_dir_remove(dir); }

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/schedrt-wd-events.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(unsetenv("SCHEDRT_WATCHDOG_EVENTS_S"), 0);
  cr_assert_eq(unsetenv("SCHEDRT_EVENTS"), 0);
}

TestSuite(dump_watchdog_events, .init = setup, .fini = remove_dir);

/* The one file in dir (the saved dump), or "" while there is none. */
static void saved_dump(char *path, size_t size) {
  path[0] = '\0';
  DIR *d = opendir(dir);
  if (!d)
    return;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.')
      snprintf(path, size, "%s/%s", dir, e->d_name);
  closedir(d);
}

/* Holds its worker until the watchdog's dump is saved (its file appears; at most 10 s). */
static schedrt_poll stuck(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  char path[512];
  for (uint64_t until = tdu_now() + 10 * SEC; tdu_now() < until;) {
    saved_dump(path, sizeof(path));
    if (path[0])
      break;
    struct timespec ts = {0, (long)MS};
    nanosleep(&ts, NULL);
  }
  return SCHEDRT_READY;
}

/* Runs `stuck` once on a runtime with these flags; the dump it left (the caller frees it). */
static schedrt_dump_doc *watchdog_dump(uint32_t flags, uint64_t *stuck_id) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.monitor_period_ms = 10;
  cfg.watchdog_ms = 30;
  cfg.watchdog_dir = dir;
  cfg.flags = flags;
  cfg.name = "wdevents";
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, stuck, NULL, &(schedrt_spawn_opts){.name = "stuck"}, &h), 0);
  cr_assert_eq(schedrt_join(h, 30 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt); /* joins the watchdog's helper: the file is complete */
  char path[512], err[256];
  saved_dump(path, sizeof(path));
  cr_assert(path[0], "the watchdog saved a dump");
  /* For an older reader, or the fuzz corpus: SCHEDRT_TEST_SAVE_DUMP=path keeps a copy (the last test's). */
  const char *save = getenv("SCHEDRT_TEST_SAVE_DUMP");
  if (save && flags)
    cr_expect_eq(link(path, save) == 0 || (unlink(save) == 0 && link(path, save) == 0), true, "%s", save);
  schedrt_dump_doc *doc;
  cr_assert_eq(schedrt_dump_load_ex(path, 0, &doc, err, sizeof(err)), 0, "%s: %s", path, err);
  cr_assert_str_eq(doc->source, "watchdog");
  cr_assert_eq(doc->minor, SCHEDRT_DUMP_MINOR);
  const schedrt_dump_task *t = tdu_task_named(doc, "stuck");
  cr_assert_not_null(t, "the stuck task is in the dump");
  *stuck_id = t->id;
  return doc;
}

Test(dump_watchdog_events, the_stuck_poll_is_in_the_dump, .timeout = 60) {
  uint64_t id;
  schedrt_dump_doc *doc = watchdog_dump(SCHEDRT_CFG_EVENTS, &id);
  cr_assert(doc->has_events, "events on: the dump has them");
  cr_assert_eq(doc->nev_rings, 3, "two workers' rings and the other threads'");
  cr_assert_eq(doc->ev_window_ns, 2 * SEC, "the default window");
  cr_assert_eq(doc->nmissing, 1, "the stuck worker is left out of the dump");
  uint64_t w = doc->missing[0];
  const schedrt_dump_ev_ring *r = NULL;
  bool spawned = false;
  for (size_t i = 0; i < doc->nev_rings; i++) {
    if (doc->ev_rings[i].worker == (int64_t)w)
      r = &doc->ev_rings[i];
    for (size_t k = 0; k < doc->ev_rings[i].nevents; k++) {
      const schedrt_event *e = &doc->ev_rings[i].events[k];
      spawned |= e->kind == SCHEDRT_EV_SPAWN && e->a == id;
      cr_assert_geq(e->time_ns + doc->ev_window_ns, doc->ev_copied_mono_ns, "within the window");
    }
  }
  cr_assert(spawned, "the task's spawn is in the window");
  cr_assert_not_null(r, "the stuck worker has its ring");
  /* Its last poll event: the start of the poll it is stuck in. */
  const schedrt_event *last = NULL;
  for (size_t k = 0; k < r->nevents; k++)
    if (r->events[k].kind == SCHEDRT_EV_POLL_START || r->events[k].kind == SCHEDRT_EV_POLL_END)
      last = &r->events[k];
  cr_assert_not_null(last, "the stuck worker's ring has its polls");
  cr_assert_eq(last->kind, SCHEDRT_EV_POLL_START, "the last poll event is a start (no end: still in it)");
  cr_assert_eq(last->a, id, "of the stuck task");
  cr_assert_leq(r->nevents, doc->ev_max);
  cr_assert_eq(r->written, r->events[r->nevents - 1].seq + 1, "the ring's newest event is the last kept");
  schedrt_dump_doc_free(doc);
}

Test(dump_watchdog_events, none_with_events_off, .timeout = 60) {
  uint64_t id;
  schedrt_dump_doc *doc = watchdog_dump(0, &id);
  cr_assert_not(doc->has_events, "events off: no events key");
  cr_assert_eq(doc->nev_rings, 0);
  schedrt_dump_doc_free(doc);
}

Test(dump_watchdog_events, none_when_the_window_is_zero, .timeout = 60) {
  cr_assert_eq(setenv("SCHEDRT_WATCHDOG_EVENTS_S", "0", 1), 0);
  uint64_t id;
  schedrt_dump_doc *doc = watchdog_dump(SCHEDRT_CFG_EVENTS, &id);
  cr_assert_not(doc->has_events, "SCHEDRT_WATCHDOG_EVENTS_S=0: no events key");
  schedrt_dump_doc_free(doc);
}
