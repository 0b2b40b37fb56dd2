/*
 * The reader against damaged, hostile or foreign segments: each case gets
 * its own clear error, and nothing crashes it (a random-mutation pass at the
 * end). Segments are built by the fixture in a private test directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reader_internal.h"
#include "reliability.h"
#include "schedrt/reader.h"
#include "schedrt/shm_util.h"
#include "shm_fixture.h"

static char dir[128];
static struct shm_fixture fx;

static void setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create(dir, 4, 0, 0, 0, &fx), 0);
}

static void teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

TestSuite(reader_corrupt, .init = setup, .fini = teardown);

static int try_open(const char *path) {
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT, .shm_dir = dir};
  schedrt_reader *r = NULL;
  int rc = schedrt_reader_open_path(path, &o, &r);
  if (rc == 0) {
    schedrt_snapshot s;
    cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
    int t = schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s);
    cr_assert(t == 0 || t == SCHEDRT_ETORN);
    schedrt_snapshot_fini(&s);
    schedrt_reader_close(r);
  } else {
    cr_assert_null(r);
  }
  return rc;
}

#define EXPECT_OPEN(path, want)                                                                              \
  do {                                                                                                       \
    int got_ = try_open(path);                                                                               \
    cr_assert_eq(got_, (want), "%s: got %s (%s), want %s", #want, schedrt_err_name(got_),                    \
                 schedrt_strerror(got_), schedrt_err_name(want));                                            \
  } while (0)

Test(reader_corrupt, valid_segment_opens) { EXPECT_OPEN(fx.path, 0); }

Test(reader_corrupt, truncated) {
  cr_assert_eq(ftruncate(fx.fd, 1000), 0); /* header intact, regions cut off */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  cr_assert_eq(ftruncate(fx.fd, 200), 0); /* inside the header */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  cr_assert_eq(ftruncate(fx.fd, 8), 0); /* inside the preamble */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  /* Size 0 is an object whose creator has not sized it yet: not ready. */
  cr_assert_eq(ftruncate(fx.fd, 0), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_ENOTREADY);
}

Test(reader_corrupt, unknown_state_is_corrupt_not_unready) {
  /* 0xdeadbeef read as a negative int once, i.e. "timed out waiting": now
   * any state no writer stores is corrupt, at once. */
  static const uint32_t bad[] = {3, 77, 0x7fffffffu, 0x80000000u, 0xdeadbeefu, 0xffffffffu};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    atomic_store(&fixture_header(&fx)->state, bad[i]);
    EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  }
  RELIABILITY("segment: state words no writer stores", sizeof(bad) / sizeof(bad[0]), "ECORRUPT at once");
}

Test(reader_corrupt, segment_truncated_under_an_open_reader) {
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT};
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_path(fx.path, &o, &r), 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s), 0);
  /* The owner shrinks it: every later read says so, none touches the lost pages. */
  cr_assert_eq(ftruncate(fx.fd, 4096), 0);
  cr_assert_eq(schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s), SCHEDRT_ECHANGED);
  schedrt_liveness l;
  cr_assert_eq(schedrt_reader_liveness(r, &l), SCHEDRT_ECHANGED);
  uint64_t v;
  cr_assert_eq(schedrt_snapshot_raw(r, 0, 0, 0, &v), SCHEDRT_ECHANGED);
  cr_assert_eq(ftruncate(fx.fd, 0), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), SCHEDRT_ECHANGED);
  cr_assert_str_eq(schedrt_err_name(SCHEDRT_ECHANGED), "SCHEDRT_ECHANGED");
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  RELIABILITY("segment: truncated (to 4096, then 0) under an open reader", 4,
              "snapshot, liveness, raw read: ECHANGED, no SIGBUS");
}

/* Reads every page of a mapping (as a snapshot's copy would). */
struct touch {
  const volatile unsigned char *p;
  size_t size;
  unsigned sum;
};
static int touch_all(void *arg) {
  struct touch *t = arg;
  for (size_t i = 0; i < t->size; i += 4096)
    t->sum += t->p[i];
  return 0;
}

static volatile sig_atomic_t late_handler_ran;
static void on_late_handler(int sig) {
  (void)sig;
  late_handler_ran = 1;
  _exit(3); /* returning would re-fault for ever */
}

Test(reader_corrupt, sigbus_during_a_copy_becomes_an_error) {
  /* The size check and the copy are two steps: a truncation between them
   * raises SIGBUS inside the copy, which the guard turns into ECHANGED. */
  const unsigned char *m = mmap(NULL, fx.size, PROT_READ, MAP_SHARED, fx.fd, 0);
  cr_assert_neq(m, MAP_FAILED);
  struct touch t = {m, fx.size, 0};
  cr_assert_eq(schedrt__reader_guarded(touch_all, &t), 0);
  cr_assert_eq(ftruncate(fx.fd, 4096), 0);
  t.sum = 0;
  cr_assert_eq(schedrt__reader_guarded(touch_all, &t), SCHEDRT_ECHANGED);
  /* The guard is scoped: nested and repeated uses work, and once it is left
   * the process's own SIGBUS handling is what it was. */
  cr_assert_eq(schedrt__reader_guarded(touch_all, &t), SCHEDRT_ECHANGED);
  /* A handler the program installs later (sched-inspect's terminal restorer)
   * is wrapped again by the next guarded copy, not left to catch it. */
  struct sigaction sa = {.sa_handler = on_late_handler};
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
  cr_assert_eq(schedrt__reader_guarded(touch_all, &t), SCHEDRT_ECHANGED);
  cr_assert_eq(late_handler_ran, 0);
  RELIABILITY("segment: SIGBUS inside a guarded copy (truncated between check and copy)", 3,
              "ECHANGED, the process lives (also under a handler the program installed later)");
#if !defined(__SANITIZE_ADDRESS__)
  /* (Under ASan the previous handler is ASan's, which reports instead.) */
  pid_t p = fork();
  cr_assert_geq(p, 0);
  if (p == 0) {
    const volatile unsigned char *q = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fx.fd, 0);
    (void)q[4096]; /* past the end, unguarded: the program's own handler gets it */
    _exit(0);
  }
  int st;
  cr_assert_eq(waitpid(p, &st, 0), p);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %#x: the late handler ran", st);
  /* Without a handler of the program's: the default action, death by SIGBUS. */
  cr_assert_eq(sigaction(SIGBUS, &(struct sigaction){.sa_handler = SIG_DFL}, NULL), 0);
  cr_assert_eq(schedrt__reader_guarded(touch_all, &t), SCHEDRT_ECHANGED); /* re-wraps SIG_DFL */
  p = fork();
  cr_assert_geq(p, 0);
  if (p == 0) {
    const volatile unsigned char *q = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fx.fd, 0);
    (void)q[4096];
    _exit(0);
  }
  cr_assert_eq(waitpid(p, &st, 0), p);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "status %#x", st);
#endif
  munmap((void *)m, fx.size);
}

Test(reader_corrupt, truncated_file_is_never_touched_past_its_end) {
  /* Shrink to exactly what the header claims minus one page: a SIGBUS would kill the test. */
  cr_assert_eq(ftruncate(fx.fd, (off_t)fx.size - 4096), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
}

Test(reader_corrupt, wrong_magic) {
  memcpy(fx.base, "NOTSCHED", 8);
  EXPECT_OPEN(fx.path, SCHEDRT_EMAGIC);
  memcpy(fx.base, "SCHEDRTX", 8);
  EXPECT_OPEN(fx.path, SCHEDRT_EMAGIC);
}

Test(reader_corrupt, unknown_major_version) {
  fixture_header(&fx)->layout_major = SCHEDRT_SHM_MAJOR + 1;
  EXPECT_OPEN(fx.path, SCHEDRT_EVERSION);
}

Test(reader_corrupt, newer_minor_is_accepted) {
  fixture_header(&fx)->layout_minor = SCHEDRT_SHM_MINOR + 7;
  EXPECT_OPEN(fx.path, 0);
}

Test(reader_corrupt, foreign_byte_order) {
  fixture_header(&fx)->byte_order = 0x04030201u;
  EXPECT_OPEN(fx.path, SCHEDRT_EVERSION);
  fixture_header(&fx)->byte_order = 0xdeadbeefu;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
}

Test(reader_corrupt, absurd_worker_count) {
  fixture_header(&fx)->max_workers = 1000000;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  fixture_header(&fx)->max_workers = 4000; /* under the limit, but past the end of the file */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  fixture_header(&fx)->max_workers = 0;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
}

Test(reader_corrupt, published_worker_count_is_clamped) {
  atomic_store(&fixture_header(&fx)->nr_workers, 999999);
  schedrt_reader *r;
  cr_assert_eq(schedrt_reader_open_path(fx.path, NULL, &r), 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.nworkers, 4);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

#define CORRUPT_FIELD(field, value)                                                                          \
  do {                                                                                                       \
    struct schedrt_shm_header saved_ = *fixture_header(&fx);                                                 \
    fixture_header(&fx)->field = (value);                                                                    \
    EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);                                                                  \
    memcpy(fx.base, &saved_, sizeof(saved_));                                                                \
    EXPECT_OPEN(fx.path, 0);                                                                                 \
  } while (0)

Test(reader_corrupt, offsets_and_sizes_past_the_end) {
  uint64_t total = fx.size;
  CORRUPT_FIELD(total_size, total + 4096);
  CORRUPT_FIELD(total_size, 100);
  CORRUPT_FIELD(header_size, 16);
  CORRUPT_FIELD(header_size, (uint32_t)total + 8);
  CORRUPT_FIELD(slot_off, (uint32_t)total - 256);
  CORRUPT_FIELD(slot_off, 0);
  CORRUPT_FIELD(slot_off, fx.geo.slot_off + 8); /* misaligned */
  CORRUPT_FIELD(slot_stride, 100);
  CORRUPT_FIELD(slot_stride, 0xffffff00u);
  CORRUPT_FIELD(global_off, (uint32_t)total - 8);
  CORRUPT_FIELD(global_size, 8);
  CORRUPT_FIELD(hist_off, (uint32_t)total - 8);
  CORRUPT_FIELD(hist_stride, 0xfffffff8u);
  CORRUPT_FIELD(hist_buckets, 65);
  CORRUPT_FIELD(hist_buckets, 0);
  CORRUPT_FIELD(hist_bounds_off, (uint32_t)total - 16);
  CORRUPT_FIELD(hist_spacing, 8);
  CORRUPT_FIELD(ctl_off, fx.geo.ctl_off + 128); /* not page-aligned */
  CORRUPT_FIELD(ctl_size, 1u << 30);
  CORRUPT_FIELD(desc_off, (uint32_t)total - 64);
  CORRUPT_FIELD(desc_count, 5000);
  CORRUPT_FIELD(desc_size, 64);
  CORRUPT_FIELD(page_size, 4095);
  CORRUPT_FIELD(heartbeat_period_ms, 0);
}

Test(reader_corrupt, bad_descriptor_and_bounds) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  struct schedrt_shm_desc *d = (struct schedrt_shm_desc *)(void *)(fx.base + h->desc_off);
  struct schedrt_shm_desc saved = d[2];
  d[2].offset = 4000; /* outside a 256-byte slot */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  d[2] = saved;
  d[2].region = 9;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  d[2] = saved;
  d[2].width = 3;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
  d[2] = saved;
  memset(d[2].name, 'A', sizeof(d[2].name)); /* no NUL: clamped, still fine */
  EXPECT_OPEN(fx.path, 0);
  d[2] = saved;
  uint64_t *b = (uint64_t *)(void *)(fx.base + h->hist_bounds_off);
  b[5] = b[4]; /* not increasing */
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
}

Test(reader_corrupt, name_and_header_disagree) {
  fixture_header(&fx)->pid += 1;
  EXPECT_OPEN(fx.path, SCHEDRT_ECORRUPT);
}

Test(reader_corrupt, group_or_world_readable) {
  cr_assert_eq(fchmod(fx.fd, 0640), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_EOWNER);
  cr_assert_eq(fchmod(fx.fd, 0604), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_EOWNER);
}

Test(reader_corrupt, hard_link) {
  char other[600];
  snprintf(other, sizeof(other), "%s/elsewhere", dir);
  cr_assert_eq(link(fx.path, other), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_EOWNER);
}

Test(reader_corrupt, symlink_is_refused) {
  char link_path[128];
  schedrt__shm_name_format(link_path, sizeof(link_path), (uint32_t)geteuid(), (uint32_t)getpid(), 1, 1);
  char full[700];
  snprintf(full, sizeof(full), "%s/%s", dir, link_path);
  cr_assert_eq(symlink(fx.path, full), 0);
  EXPECT_OPEN(full, -ELOOP);
}

Test(reader_corrupt, not_a_regular_file) {
  char fifo[600];
  snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  EXPECT_OPEN(fifo, SCHEDRT_ENOTSEG);
  EXPECT_OPEN(dir, SCHEDRT_ENOTSEG);
}

Test(reader_corrupt, unix_socket_is_not_a_segment) {
  /* open() of a socket fails with ENXIO before any fstat: it must still read
   * as "not a segment", not as "No such device or address". */
  char sock[600];
  snprintf(sock, sizeof(sock), "%s/schedrt.%u.%u.1.7", dir, (unsigned)geteuid(), (unsigned)getpid());
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert_lt(strlen(sock), sizeof(sa.sun_path));
  strcpy(sa.sun_path, sock);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  EXPECT_OPEN(sock, SCHEDRT_ENOTSEG);
  close(fd);
  unlink(sock);
}

Test(reader_corrupt, missing) {
  char p[600];
  snprintf(p, sizeof(p), "%s/schedrt.0.1.2.3", dir);
  EXPECT_OPEN(p, -ENOENT);
}

Test(reader_corrupt, not_ready_yet) {
  atomic_store(&fixture_header(&fx)->state, SCHEDRT_SHM_STATE_INIT);
  EXPECT_OPEN(fx.path, SCHEDRT_ENOTREADY);
  /* Zero magic too: an object whose creator has not formatted it yet. */
  memset(fx.base, 0, 16);
  EXPECT_OPEN(fx.path, SCHEDRT_ENOTREADY);
  /* With a wait: gives up after the timeout, not before. */
  schedrt_reader_opts o = {.ready_timeout_ms = 50};
  schedrt_reader *r;
  uint64_t t0 = fixture_now_ns();
  cr_assert_eq(schedrt_reader_open_path(fx.path, &o, &r), SCHEDRT_ENOTREADY);
  cr_assert_geq(fixture_now_ns() - t0, 50u * 1000000u);
}

Test(reader_corrupt, another_owner) {
  if (geteuid() != 0) {
    /* Without root we cannot make a file of another uid; the check below
     * (name uid vs owner) is the same code. */
    cr_skip_test("needs root to chown");
  }
  /* As root every owner is readable, but the name and header must agree
   * with the owner: a segment claiming uid 0 but owned by 12345 is refused. */
  cr_assert_eq(fchown(fx.fd, 12345, 12345), 0);
  EXPECT_OPEN(fx.path, SCHEDRT_EOWNER);
  /* A non-root reader never reads someone else's segment. */
  cr_assert_eq(fchown(fx.fd, 0, 0), 0);
  cr_assert_eq(fchmod(fx.fd, 0644), 0); /* so that open() itself succeeds for uid 12345 */
  cr_assert_eq(chmod(dir, 0755), 0);    /* mkdtemp made it 0700 */
  pid_t p = fork();
  cr_assert_geq(p, 0);
  if (p == 0) {
    if (setgid(12345) != 0 || setuid(12345) != 0)
      _exit(2);
    schedrt_reader *r;
    int rc = schedrt_reader_open_path(fx.path, NULL, &r);
    _exit(rc == SCHEDRT_EOWNER ? 0 : 1);
  }
  int st;
  cr_assert_eq(waitpid(p, &st, 0), p);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "non-root reader of a root segment: status %d", st);
  /* And with the proper 0600 mode the kernel refuses first. */
  cr_assert_eq(fchmod(fx.fd, 0600), 0);
  p = fork();
  if (p == 0) {
    if (setgid(12345) != 0 || setuid(12345) != 0)
      _exit(2);
    schedrt_reader *r;
    _exit(schedrt_reader_open_path(fx.path, NULL, &r) == -EACCES ? 0 : 1);
  }
  cr_assert_eq(waitpid(p, &st, 0), p);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(reader_corrupt, header_claims_another_uid) {
  fixture_header(&fx)->uid = (uint32_t)geteuid() + 1;
  EXPECT_OPEN(fx.path, SCHEDRT_EOWNER);
}

Test(reader_corrupt, bad_names) {
  schedrt_reader *r;
  schedrt_reader_opts o = {.shm_dir = dir};
  cr_assert_eq(schedrt_reader_open_name("../etc/passwd", &o, &r), -EINVAL);
  cr_assert_eq(schedrt_reader_open_name("", &o, &r), -EINVAL);
  cr_assert_eq(schedrt_reader_open_name("..", &o, &r), -EINVAL);
  cr_assert_eq(schedrt_reader_open_name(fx.name, &o, &r), 0);
  schedrt_reader_close(r);
  char slash[200];
  snprintf(slash, sizeof(slash), "/%s", fx.name);
  cr_assert_eq(schedrt_reader_open_name(slash, &o, &r), 0);
  schedrt_reader_close(r);
}

Test(reader_corrupt, open_by_pid) {
  schedrt_reader *r;
  schedrt_reader_opts o = {.shm_dir = dir};
  cr_assert_eq(schedrt_reader_open_pid(getpid(), &o, &r), 0);
  cr_assert_eq(schedrt_reader_info(r)->pid, (uint32_t)getpid());
  schedrt_reader_close(r);
  cr_assert_eq(schedrt_reader_open_pid(fixture_dead_pid(), &o, &r), -ESRCH);
  cr_assert_eq(schedrt_reader_open_pid(1, &o, &r), -ENOENT); /* alive, no segment */
  cr_assert_eq(schedrt_reader_open_pid(0, &o, &r), -EINVAL);
}

Test(reader_corrupt, open_by_pid_picks_the_newest_of_this_process) {
  struct shm_fixture f2, old;
  uint64_t st;
  cr_assert_eq(schedrt__proc_starttime(getpid(), &st), 0);
  cr_assert_eq(fixture_segment_create(dir, 2, getpid(), st, 5, &f2), 0);
  /* An older process with our pid (another start time) is ignored while we live. */
  cr_assert_eq(fixture_segment_create(dir, 1, getpid(), st + 1000, 9, &old), 0);
  schedrt_reader *r;
  schedrt_reader_opts o = {.shm_dir = dir};
  cr_assert_eq(schedrt_reader_open_pid(getpid(), &o, &r), 0);
  cr_assert_eq(schedrt_reader_info(r)->runtime_index, 5);
  schedrt_reader_close(r);
  fixture_segment_close(&f2);
  fixture_segment_close(&old);
}

Test(reader_corrupt, random_mutations_never_crash) {
  /* Keep a pristine copy; flip bytes in the header, bounds, descriptors and
   * the first slots, and check the reader only ever returns. */
  size_t span = fx.geo.slot_off + 2 * SCHEDRT_SHM_SLOT_STRIDE;
  unsigned char *pristine = malloc(span);
  memcpy(pristine, fx.base, span);
  srand(12345);
  unsigned opened = 0;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(fx.base, pristine, span);
    int flips = 1 + rand() % 4;
    for (int k = 0; k < flips; k++) {
      size_t at = (iter % 3 == 0) ? (size_t)(rand() % 512) : (size_t)rand() % span;
      fx.base[at] = (unsigned char)rand();
    }
    int rc = try_open(fx.path);
    opened += rc == 0;
  }
  memcpy(fx.base, pristine, span);
  free(pristine);
  cr_assert_gt(opened, 0); /* many flips hit harmless bytes */
  EXPECT_OPEN(fx.path, 0);
  RELIABILITY("segment: 1-4 random bytes in header, bounds, descriptors, slots", 3000,
              "%u opened and snapshotted, %u refused with an error, no crash", opened, 3000 - opened);
}
