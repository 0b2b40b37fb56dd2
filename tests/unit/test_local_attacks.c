/*
 * The two local attacks of issue 9, played by a second user: root attaches to
 * a root process while `nobody` (through runuser) plants segments, FIFOs and
 * files under the names root's tools would use, and squats the names a
 * runtime would give its dump objects. docs/security.md lists what each test
 * proves. Every test is skipped, with the reason, where there is no second
 * uid to play the attacker (not root, or no runuser or no `nobody`).
 *
 * Everything nobody creates lives in a private sticky, world-writable
 * directory (as /dev/shm is) or, for the squatting test, under names this
 * file records; the fixture's teardown removes both even when a check failed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump.h"
#include "reliability.h"
#include "schedrt/dump_read.h"
#include "schedrt/reader.h"
#include "schedrt/shm_util.h"
#include "shm_fixture.h"
#include "test_dump_util.h"

#define SEC 1000000000ull
#define NOBODY 65534u
#define MAX_PLANTED 80

static char dir[128];
static struct shm_fixture fx;
static uint32_t me_pid;
static uint64_t me_start;
/* Names planted in /dev/shm itself (the squatting test), removed at teardown. */
static char planted[MAX_PLANTED][SCHEDRT_SHM_NAME_MAX];
static int nplanted;

/* Why there is no second user here, or NULL. */
static const char *no_second_user(void) {
  if (geteuid() != 0)
    return "needs root: the attacker is played by `nobody` through runuser";
  if (system("command -v runuser >/dev/null 2>&1") != 0)
    return "runuser is not installed: no way to act as a second user";
  struct passwd *pw = getpwnam("nobody");
  if (!pw || pw->pw_uid != NOBODY)
    return "no user `nobody` with uid 65534";
  return NULL;
}

/* Runs a shell command as nobody; its exit status. */
static int as_nobody(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int as_nobody(const char *fmt, ...) {
  char inner[8192], cmd[8300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(inner, sizeof(inner), fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof(cmd), "runuser -u nobody -- sh -c 'umask 077; %s'", inner);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void setup(void) {
  const char *why = no_second_user();
  if (why)
    return; /* each test skips with the reason */
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  /* Like /dev/shm: anyone may create, nobody may remove another's entries. */
  cr_assert_eq(chmod(dir, 01777), 0);
  cr_assert_eq(fixture_segment_create(dir, 2, 0, 0, 0, &fx), 0);
  me_pid = (uint32_t)getpid();
  cr_assert_eq(schedrt__proc_starttime(getpid(), &me_start), 0);
}

static void teardown(void) {
  fixture_segment_close(&fx);
  if (dir[0])
    fixture_dir_remove(dir);
  for (int i = 0; i < nplanted; i++) {
    char p[200];
    snprintf(p, sizeof(p), "/dev/shm/%.150s", planted[i]);
    unlink(p);
  }
  nplanted = 0;
}

TestSuite(attacks, .init = setup, .fini = teardown, .timeout = 60);

#define SKIP_WITHOUT_SECOND_USER()                                                                           \
  do {                                                                                                       \
    const char *why_ = no_second_user();                                                                     \
    if (why_)                                                                                                \
      cr_skip_test("%s", why_);                                                                              \
  } while (0)

/* A valid segment for our (root) process, but owned by nobody and naming
 * nobody's uid, planted with a higher <n> than ours. */
static void plant_segment(uint32_t name_uid, uint32_t index, char *path, size_t size) {
  char tmpl[600];
  snprintf(tmpl, sizeof(tmpl), "%s/template", dir);
  int fd = open(tmpl, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  struct schedrt_shm_header *h = fixture_header(&fx);
  uint32_t uid = h->uid;
  uint32_t idx = h->runtime_index;
  h->uid = NOBODY; /* header, name and owner agree with each other... */
  h->runtime_index = index;
  cr_assert_eq(write(fd, fx.base, fx.size), (ssize_t)fx.size);
  h->uid = uid;
  h->runtime_index = idx;
  close(fd);
  snprintf(path, size, "%s/schedrt.%u.%u.%llu.%u", dir, (unsigned)name_uid, (unsigned)me_pid,
           (unsigned long long)me_start, (unsigned)index);
  /* The template is opened by root's shell (the redirection), read by nobody's cat. */
  char cmd[1400];
  snprintf(cmd, sizeof(cmd), "runuser -u nobody -- sh -c 'umask 077; cat > %s' < %s", path, tmpl);
  cr_assert_eq(system(cmd), 0);
  unlink(tmpl);
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert_eq(st.st_uid, NOBODY);
}

Test(attacks, planted_segment_of_another_uid_is_never_used_for_a_root_process) {
  SKIP_WITHOUT_SECOND_USER();
  char path[700];
  /* ...but not with the process's owner: we are root. */
  plant_segment(NOBODY, 99, path, sizeof(path));
  schedrt_reader_opts o = {.shm_dir = dir, .flags = SCHEDRT_READER_NO_WAIT};
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), &o, &r), 0);
  cr_assert_eq(schedrt_reader_info(r)->uid, 0u, "root's own segment, not the planted one");
  cr_assert_eq(schedrt_reader_info(r)->runtime_index, 0u);
  schedrt_reader_close(r);
  /* Named explicitly, it is refused: its owner is not the process's. */
  int rc = schedrt_reader_open_path(path, &o, &r);
  cr_assert_eq(rc, SCHEDRT_EOWNER, "got %s", schedrt_err_name(rc));
  RELIABILITY("attack: nobody plants a segment with its uid and a higher index for a root process", 1,
              "root reads its own segment; the planted one is EOWNER");
}

Test(attacks, planted_fifo_under_roots_uid_does_not_shadow_the_segment) {
  SKIP_WITHOUT_SECOND_USER();
  char path[700];
  snprintf(path, sizeof(path), "%s/schedrt.0.%u.%llu.50", dir, (unsigned)me_pid,
           (unsigned long long)me_start);
  cr_assert_eq(as_nobody("mkfifo %s", path), 0);
  char file[700];
  snprintf(file, sizeof(file), "%s/schedrt.0.%u.%llu.60", dir, (unsigned)me_pid,
           (unsigned long long)me_start);
  cr_assert_eq(as_nobody("echo garbage > %s", file), 0);
  schedrt_reader_opts o = {.shm_dir = dir, .flags = SCHEDRT_READER_NO_WAIT};
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), &o, &r), 0);
  cr_assert_eq(schedrt_reader_info(r)->runtime_index, 0u);
  schedrt_reader_close(r);
  int rc = schedrt_reader_open_path(path, &o, &r);
  cr_assert_eq(rc, SCHEDRT_ENOTSEG, "got %s", schedrt_err_name(rc));
  rc = schedrt_reader_open_path(file, &o, &r);
  cr_assert_eq(rc, SCHEDRT_EOWNER, "got %s", schedrt_err_name(rc));
  RELIABILITY("attack: nobody plants a FIFO and a file under root's uid for a root process", 2,
              "not chosen; opened by name: ENOTSEG / EOWNER");
}

Test(attacks, planted_dump_objects_are_refused_without_blocking, .timeout = 20) {
  SKIP_WITHOUT_SECOND_USER();
  char name[200], path[800];
  void *buf = NULL;
  size_t len = 0;
  /* A FIFO under the name an answer gives: opening it for reading used to
   * wait for a writer for ever. */
  snprintf(name, sizeof(name), "/schedrt.0.%u.%llu.dump.5", (unsigned)me_pid, (unsigned long long)me_start);
  snprintf(path, sizeof(path), "%s%s", dir, name);
  cr_assert_eq(as_nobody("mkfifo %s", path), 0);
  int rc = schedrt_ctl_collect(dir, name, 0, &buf, &len);
  cr_assert_eq(rc, SCHEDRT_ENOTSEG, "got %s", schedrt_err_name(rc));
  cr_assert_null(buf);
  /* A regular file of nobody's under root's name. */
  snprintf(name, sizeof(name), "/schedrt.0.%u.%llu.dump.6", (unsigned)me_pid, (unsigned long long)me_start);
  snprintf(path, sizeof(path), "%s%s", dir, name);
  cr_assert_eq(as_nobody("echo not-a-dump > %s", path), 0);
  rc = schedrt_ctl_collect(dir, name, 0, &buf, &len);
  cr_assert_eq(rc, SCHEDRT_EOWNER, "got %s", schedrt_err_name(rc));
  cr_assert_eq(access(path, F_OK), 0, "someone else's file is left alone");
  /* A name that carries another uid than the runtime's is not even opened. */
  snprintf(name, sizeof(name), "/schedrt.%u.%u.%llu.dump.7", NOBODY, (unsigned)me_pid,
           (unsigned long long)me_start);
  rc = schedrt_ctl_collect(dir, name, 0, &buf, &len);
  cr_assert_eq(rc, SCHEDRT_ECORRUPT, "got %s", schedrt_err_name(rc));
  RELIABILITY("attack: nobody's FIFO, file, foreign-uid name as the answered dump object", 3,
              "ENOTSEG / EOWNER / ECORRUPT at once, nothing blocks");
}

/* --------------------------------------------- the inspector, end to end */

#ifdef SCHED_INSPECT_BIN
struct fake_runtime {
  struct schedrt_ctl *c;
  char object[SCHEDRT_CTL_OBJECT_SIZE];
  _Atomic int stop;
  _Atomic int answered;
};

/* Serves the fixture's control page as a runtime would, answering every
 * request OK with the planted object's name. */
static void *fake_runtime_main(void *arg) {
  struct fake_runtime *f = arg;
  struct schedrt_ctl *c = f->c;
  c->magic = SCHEDRT_CTL_MAGIC;
  c->major = SCHEDRT_CTL_MAJOR;
  c->size = sizeof(*c);
  c->kinds = (1u << SCHEDRT_CTL_KIND_PING) | (1u << SCHEDRT_CTL_KIND_DUMP);
  c->timeout_min_ms = SCHEDRT_CTL_TIMEOUT_MIN_MS;
  c->timeout_max_ms = SCHEDRT_CTL_TIMEOUT_MAX_MS;
  c->timeout_default_ms = 250;
  c->poll_period_ms = 10;
  atomic_store_explicit(&c->state, SCHEDRT_CTL_STATE_SERVED, memory_order_release);
  while (!atomic_load(&f->stop)) {
    uint32_t s = atomic_load_explicit(&c->req_seq, memory_order_acquire);
    if (!(s & 1u) && s != atomic_load(&c->resp_seq)) {
      struct schedrt_ctl_slot *x = schedrt_ctl_slot_of(c, s);
      atomic_store(&x->seq, s - 1u);
      x->status = SCHEDRT_DUMP_OK;
      x->reason = 0;
      x->tasks = 1;
      x->bytes = 100;
      memcpy(x->nonce, c->req_nonce, sizeof(x->nonce));
      memcpy(x->object, f->object, sizeof(x->object));
      atomic_store_explicit(&x->seq, s, memory_order_release);
      atomic_store_explicit(&c->resp_seq, s, memory_order_release);
      atomic_fetch_add(&f->answered, 1);
    }
    usleep(1000);
  }
  return NULL;
}

Test(attacks, dump_answered_with_a_planted_fifo_fails_fast_and_leaves_no_file, .timeout = 60) {
  SKIP_WITHOUT_SECOND_USER();
  struct fake_runtime f = {.c = (struct schedrt_ctl *)(void *)(fx.base + fx.geo.ctl_off)};
  snprintf(f.object, sizeof(f.object), "/schedrt.0.%u.%llu.dump.77", (unsigned)me_pid,
           (unsigned long long)me_start);
  char fifo[800], out[800], cmd[2400];
  snprintf(fifo, sizeof(fifo), "%s%s", dir, f.object);
  cr_assert_eq(as_nobody("mkfifo %s", fifo), 0);
  snprintf(out, sizeof(out), "%s/out.cbor", dir);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fake_runtime_main, &f), 0);
  /* timeout(1) stands in for the user who would have waited for ever. */
  snprintf(cmd, sizeof(cmd), "timeout 20 %s dump %u --shm-dir %s -o %s --timeout 100 >%s/log 2>&1",
           SCHED_INSPECT_BIN, (unsigned)me_pid, dir, out, dir);
  int st = system(cmd);
  atomic_store(&f.stop, 1);
  pthread_join(th, NULL);
  char log[2000] = "";
  char logp[800];
  snprintf(logp, sizeof(logp), "%s/log", dir);
  FILE *lf = fopen(logp, "r");
  if (lf) {
    size_t n = fread(log, 1, sizeof(log) - 1, lf);
    log[n] = '\0';
    fclose(lf);
  }
  cr_assert(WIFEXITED(st), "sched-inspect died: %d", st);
  cr_assert_neq(WEXITSTATUS(st), 124, "sched-inspect hung on the FIFO: %s", log);
  cr_assert_eq(WEXITSTATUS(st), 1, "exit %d: %s", WEXITSTATUS(st), log);
  cr_assert_gt(atomic_load(&f.answered), 0, "the request reached the fake runtime: %s", log);
  cr_assert_not_null(strstr(log, "not a regular file"), "%s", log);
  cr_assert_eq(access(out, F_OK), -1, "no empty output file is left behind");
  RELIABILITY("attack: sched-inspect dump answered with nobody's FIFO", 1,
              "exit 1 \"not a regular file\" at once, no output file left");
}
#endif

/* ------------------------------------------------ squatted object names */

static schedrt_runtime *rt_with_page(struct schedrt_ctl **page) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.monitor_period_ms = 10;
  cfg.name = "squat";
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  struct schedrt_ctl *c = aligned_alloc(4096, 4096);
  cr_assert_not_null(c);
  memset(c, 0, 4096);
  schedrt__dump_ctl_attach(rt, c);
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load(&c->state) != SCHEDRT_CTL_STATE_SERVED) {
    cr_assert_lt(tdu_now(), until, "the monitor serves the page");
    usleep(1000);
  }
  *page = c;
  return rt;
}

Test(attacks, squatted_dump_object_names_do_not_stop_dumps) {
  SKIP_WITHOUT_SECOND_USER();
  /* The names a counter from 0 would give this process's dumps, and a FIFO
   * among them, all made by nobody in the real /dev/shm before the request. */
  char names[MAX_PLANTED * 64] = "";
  for (int i = 0; i < 64; i++) {
    snprintf(planted[nplanted], sizeof(planted[0]), "schedrt.0.%u.%llu.dump.%d", (unsigned)me_pid,
             (unsigned long long)me_start, i);
    size_t l = strlen(names);
    snprintf(names + l, sizeof(names) - l, " /dev/shm/%s", planted[nplanted]);
    nplanted++;
  }
  cr_assert_eq(as_nobody("touch%s", names), 0);
  struct schedrt_ctl *c;
  schedrt_runtime *rt = rt_with_page(&c);
  for (int round = 0; round < 3; round++) {
    uint32_t seq;
    uint8_t nonce[16];
    schedrt_ctl_answer a;
    cr_assert_eq(schedrt_ctl_submit(c, SCHEDRT_CTL_KIND_DUMP, 0, NULL, 0, &seq, nonce), 0);
    cr_assert_eq(schedrt_ctl_wait(c, seq, nonce, 20 * SEC, &a), 0);
    cr_assert_eq(a.status, SCHEDRT_DUMP_OK, "round %d: status %u reason %u", round, a.status, a.reason);
    void *buf;
    size_t len;
    cr_assert_eq(schedrt_ctl_collect(NULL, a.object, 0, &buf, &len), 0);
    cr_assert_eq(len, a.bytes);
    free(buf);
  }
  RELIABILITY("attack: nobody creates the 64 dump-object names a counter would use", 3,
              "3 dumps in a row OK (random names)");
  schedrt_runtime_destroy(rt);
  free(c);
}
