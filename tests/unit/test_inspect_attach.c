/*
 * attach.c over the real reader, on segments built by the metrics fixture in
 * a private directory: every failure the reader reports becomes a sentence a
 * user can act on, and the exit status the man page promises.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "shm_fixture.h"
#include "snapshot_model.h"
#include "util.h"

static char dir[128];
static struct shm_fixture fx;
static pid_t dead;

static void setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  dead = fixture_dead_pid();
  cr_assert_eq(fixture_segment_create(dir, 4, dead, 12345, 0, &fx), 0);
}

static void teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

TestSuite(attach, .init = setup, .fini = teardown);

Test(attach, parse_pid) {
  pid_t p;
  cr_expect_eq(target_parse_pid("1234", &p), 0);
  cr_expect_eq(p, 1234);
  cr_expect_eq(target_parse_pid("0", &p), -EINVAL);
  cr_expect_eq(target_parse_pid("-5", &p), -EINVAL);
  cr_expect_eq(target_parse_pid("12a", &p), -EINVAL);
  cr_expect_eq(target_parse_pid("", &p), -EINVAL);
  cr_expect_eq(target_parse_pid("99999999999", &p), -EINVAL);
}

Test(attach, stale_segment_of_a_dead_process_opens_for_post_mortem) {
  inspect_target t;
  inspect_attach_opts o = {.shm_dir = dir};
  cr_assert_eq(target_attach(dead, &o, &t), 0);
  cr_expect_eq(t.info->max_workers, 4u);
  cr_expect(t.attach_ns > 0);
  inspect_model m;
  cr_assert_eq(model_init(&m, t.reader, 0), 0);
  int err = model_refresh(&m, t.reader, 0);
  cr_expect(err == 0 || err == SCHEDRT_ETORN);
  cr_expect_eq(m.g.liveness, SCHEDRT_LIVENESS_STALE);
  cr_expect(m.g.target_gone, "a stale segment is shown as an exited target");
  model_fini(&m);
  target_detach(&t);
}

Test(attach, attach_is_fast) {
  /* The target is < 50 ms; the reader does a directory scan, an open, a few checks and an mmap. */
  inspect_target t;
  inspect_attach_opts o = {.shm_dir = dir};
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 20; i++) {
    cr_assert_eq(target_attach(dead, &o, &t), 0);
    if (t.attach_ns < best)
      best = t.attach_ns;
    target_detach(&t);
  }
  cr_expect_lt(best, 50000000ull, "attach took %llu ns", (unsigned long long)best);
}

/* The model takes the histograms (2 x 62 counters per worker) only while something shows them, and
 * only from a segment that records them (feature TIMING). */
static int model_with_histograms(unsigned users, inspect_model *m, inspect_target *t) {
  inspect_attach_opts o = {.shm_dir = dir};
  cr_assert_eq(target_attach(dead, &o, t), 0);
  cr_assert_eq(model_init(m, t->reader, 0), 0);
  for (unsigned i = 0; i < users; i++)
    model_show_histograms(m, 1);
  int err = model_refresh(m, t->reader, 0);
  cr_expect(err == 0 || err == SCHEDRT_ETORN);
  return model_current(m)->hist_taken;
}

Test(attach, histograms_only_while_shown_and_recorded) {
  inspect_target t;
  inspect_model m;
  atomic_store(&fixture_hist(&fx, 1, 0)[5], 7);
  cr_expect_not(model_with_histograms(1, &m, &t), "no TIMING feature: nothing to take");
  cr_expect_not(m.w[1].have_histo);
  model_fini(&m);
  target_detach(&t);

  fixture_header(&fx)->features |= SCHEDRT_SHM_F_TIMING;
  cr_expect_not(model_with_histograms(0, &m, &t), "nobody shows them: not taken");
  cr_expect_not(m.w[1].have_histo);
  model_fini(&m);
  target_detach(&t);

  cr_expect(model_with_histograms(1, &m, &t));
  cr_assert(m.w[1].have_histo);
  cr_expect_eq(m.w[1].histo[0].run.count, 7u);
  cr_expect_eq(m.w[1].histo[0].run.p50, t.info->hist_upper_ns[5], "the segment's own bounds");
  model_fini(&m);
  target_detach(&t);
}

static void expect_error(pid_t pid, int want, const char *phrase, int want_exit) {
  inspect_target t;
  inspect_attach_opts o = {.shm_dir = dir, .ready_timeout_ms = 50};
  char msg[512];
  int err = target_attach(pid, &o, &t);
  cr_assert_eq(err, want, "got %s, want %s", schedrt_err_name(err), schedrt_err_name(want));
  target_error_message(msg, sizeof(msg), pid, err);
  cr_expect(strstr(msg, phrase) != NULL, "message '%s' lacks '%s'", msg, phrase);
  cr_expect_eq(target_exit_code(err), want_exit);
}

Test(attach, no_segment_and_no_process) {
  pid_t other = fixture_dead_pid(); /* another reaped child: differs from `dead`, which has a segment */
  cr_assert_neq(other, dead);
  expect_error(other, -ESRCH, "no such process", INSPECT_EXIT_NOTARGET);
}

Test(attach, live_process_without_segment) {
  expect_error(getpid(), -ENOENT, "no schedrt metrics segment", INSPECT_EXIT_NOTARGET);
}

Test(attach, wrong_magic) {
  memcpy(fx.base, "NOTSCHED", 8);
  expect_error(dead, SCHEDRT_EMAGIC, "not a schedrt segment", INSPECT_EXIT_FAILURE);
}

Test(attach, unknown_major_version) {
  fixture_header(&fx)->layout_major = 99;
  expect_error(dead, SCHEDRT_EVERSION, "version", INSPECT_EXIT_FAILURE);
}

Test(attach, truncated) {
  cr_assert_eq(ftruncate(fx.fd, 1000), 0);
  expect_error(dead, SCHEDRT_ECORRUPT, "corrupt", INSPECT_EXIT_FAILURE);
}

Test(attach, absurd_worker_count) {
  fixture_header(&fx)->max_workers = 1000000;
  expect_error(dead, SCHEDRT_ECORRUPT, "corrupt", INSPECT_EXIT_FAILURE);
}

Test(attach, offset_past_the_end) {
  fixture_header(&fx)->slot_off = 1u << 30;
  expect_error(dead, SCHEDRT_ECORRUPT, "corrupt", INSPECT_EXIT_FAILURE);
}

Test(attach, unsafe_mode) {
  cr_assert_eq(fchmod(fx.fd, 0644), 0);
  expect_error(dead, SCHEDRT_EOWNER, "wrong owner or unsafe permissions", INSPECT_EXIT_FAILURE);
}

Test(attach, another_owner_in_the_header) {
  fixture_header(&fx)->uid = getuid() + 1;
  expect_error(dead, SCHEDRT_EOWNER, "wrong owner", INSPECT_EXIT_FAILURE);
}

Test(attach, symlink_is_refused) {
  char real[600], link_path[600];
  snprintf(real, sizeof(real), "%s/elsewhere", dir);
  cr_assert_eq(rename(fx.path, real), 0);
  snprintf(link_path, sizeof(link_path), "%s", fx.path);
  cr_assert_eq(symlink(real, link_path), 0);
  expect_error(dead, -ELOOP, "symbolic link", INSPECT_EXIT_FAILURE);
}

Test(attach, not_ready) {
  atomic_store(&fixture_header(&fx)->state, 0);
  expect_error(dead, SCHEDRT_ENOTREADY, "initialised", INSPECT_EXIT_FAILURE);
}

Test(attach, every_error_has_a_message) {
  static const int errs[] = {-ESRCH,
                             -ENOENT,
                             -EACCES,
                             -ELOOP,
                             SCHEDRT_EOWNER,
                             SCHEDRT_EMAGIC,
                             SCHEDRT_EVERSION,
                             SCHEDRT_ECORRUPT,
                             SCHEDRT_ENOTREADY,
                             SCHEDRT_ETORN,
                             SCHEDRT_ESTALE,
                             SCHEDRT_EHUNG,
                             -ENOMEM,
                             -EIO,
                             -12345};
  char msg[512];
  for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
    target_error_message(msg, sizeof(msg), 42, errs[i]);
    cr_expect(strncmp(msg, "pid 42: ", 8) == 0 && strlen(msg) > 12, "'%s'", msg);
  }
}
