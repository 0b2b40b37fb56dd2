/*
 * The control page as untrusted input: requests through the
 * metrics segment (mapped a second time, as another process would) and
 * through a test page, hostile fields, replayed and torn requests, concurrent
 * requesters, BUSY, uncollected objects, and an answer at shutdown.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"
#include "reliability.h"
#include "schedrt/proto/shm_layout.h"
#include "test_dump_util.h"

#define SEC 1000000000ull
#define MS 1000000ull

/*
 * The barrier deadline of dumps whose outcome is not the point of the test:
 * a parked worker woken for a dump on a loaded machine can miss the 250 ms
 * default and make the dump PARTIAL. A healthy dump never waits it out.
 */
#define LOADED_MS 5000u

static schedrt_runtime *make_rt(uint32_t nworkers, uint32_t keep_s) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.monitor_period_ms = 10;
  cfg.dump_keep_s = keep_s;
  cfg.name = "ctltest";
  schedrt_runtime *rt = NULL;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  return rt;
}

static struct schedrt_ctl *test_page(schedrt_runtime *rt) {
  struct schedrt_ctl *c = aligned_alloc(4096, 4096);
  cr_assert_not_null(c);
  memset(c, 0, 4096);
  schedrt__dump_ctl_attach(rt, c);
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load(&c->state) != SCHEDRT_CTL_STATE_SERVED) {
    cr_assert_lt(tdu_now(), until, "the monitor serves the page");
    usleep(1000);
  }
  cr_assert_eq(c->magic, SCHEDRT_CTL_MAGIC);
  cr_assert_eq(c->major, SCHEDRT_CTL_MAJOR);
  return c;
}

static schedrt_ctl_answer ask(struct schedrt_ctl *c, uint32_t kind, uint32_t timeout_ms, const char *label) {
  uint32_t seq;
  uint8_t nonce[16];
  schedrt_ctl_answer a;
  int rc;
  uint64_t until = tdu_now() + 10 * SEC;
  while ((rc = schedrt_ctl_submit(c, kind, timeout_ms, label, 0, &seq, nonce)) == -EBUSY)
    cr_assert_lt(tdu_now(), until, "the page frees up");
  cr_assert_eq(rc, 0, "%s", schedrt_strerror(rc));
  int wrc_ = schedrt_ctl_wait(c, seq, nonce, 20 * SEC, &a);
  cr_assert_eq(wrc_, 0, "answered: %s (seq %u, slot seq %u)", schedrt_err_name(wrc_), seq,
               atomic_load(&schedrt_ctl_slot_of(c, seq)->seq));
  cr_assert_eq(memcmp(a.nonce, nonce, 16), 0, "the nonce comes back");
  return a;
}

/* Collects the answer's object and parses it. */
static schedrt_dump_doc *collect(const schedrt_ctl_answer *a) {
  void *buf;
  size_t len;
  char path[600];
  cr_assert_neq(a->object[0], '\0');
  cr_assert_eq(strncmp(a->object, "/schedrt.", 9), 0, "%s", a->object);
  cr_assert_not_null(strstr(a->object, ".dump."), "%s", a->object);
  cr_assert_eq(schedrt_ctl_collect(NULL, a->object, (uint32_t)geteuid(), &buf, &len), 0);
  cr_assert_eq(len, a->bytes);
  snprintf(path, sizeof(path), "/dev/shm%s", a->object);
  cr_assert_eq(access(path, F_OK), -1, "collecting removes it");
  schedrt_dump_doc *d;
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), 0);
  free(buf);
  return d;
}

static bool object_exists(const char *object) {
  char path[600];
  snprintf(path, sizeof(path), "/dev/shm%s", object);
  return access(path, F_OK) == 0;
}

/* ------------------------------------------------ through the segment */

static schedrt_poll idle_task(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_PENDING;
}

Test(control, request_through_a_second_mapping_of_the_segment) {
  schedrt_runtime *rt = make_rt(2, 60);
  const char *name = schedrt_metrics_segment(rt);
  if (!name)
    cr_skip_test("no published metrics segment in this build or environment");
  char path[160];
  snprintf(path, sizeof(path), "/dev/shm%s", name);
  int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  struct schedrt_shm_header h;
  cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
  cr_assert(h.features & SCHEDRT_SHM_F_TASKDUMP);
  /* What an inspector does: only the control page writable. */
  struct schedrt_ctl *c = mmap(NULL, h.ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, h.ctl_off);
  cr_assert_neq(c, MAP_FAILED);
  close(fd);
  /* Served from the moment the runtime exists, not from its monitor's first tick: an inspector that
   * attaches at once is not told that this runtime serves no requests. */
  cr_assert_eq(atomic_load(&c->state), SCHEDRT_CTL_STATE_SERVED);
  cr_assert_eq(c->magic, SCHEDRT_CTL_MAGIC);
  schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL);
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
  cr_assert_eq(a.object[0], '\0');
  for (int i = 0; i < 10; i++)
    cr_assert_eq(schedrt_spawn(rt, idle_task, NULL), 0);
  a = ask(c, SCHEDRT_CTL_KIND_DUMP, 1000, "from the segment");
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK, "%s", schedrt_dump_status_name(a.status));
  cr_assert_eq(a.workers_covered, 2);
  schedrt_dump_doc *d = collect(&a);
  cr_assert_str_eq(d->label, "from the segment");
  cr_assert_str_eq(d->source, "control");
  cr_assert_eq(d->deadline_ms, 1000);
  cr_assert_eq(d->ntasks, 10);
  schedrt_dump_doc_free(d);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(atomic_load(&c->state), SCHEDRT_CTL_STATE_CLOSED);
  munmap(c, h.ctl_size);
}

static atomic_int go, started;

static schedrt_poll blocker(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  atomic_store(&started, 1);
  while (!atomic_load(&go))
    sched_yield();
  return SCHEDRT_READY;
}

static void wait_flag(atomic_int *f) {
  uint64_t until = tdu_now() + 10 * SEC;
  while (!atomic_load(f))
    cr_assert_lt(tdu_now(), until);
}

/* The worker polling task t (white-box: its `current`), or NULL. */
static schedrt_worker *worker_polling(schedrt_runtime *rt, const schedrt_handle *t) {
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (atomic_load(&rt->workers[i].current) == (const schedrt_task *)t)
      return &rt->workers[i];
  return NULL;
}

/* A task blocked in its poll (until `go`) on a worker made to look between polls (white-box: its
 * `current` cleared): a dump, which does not wait for a worker in a long poll, then waits for this one
 * in rounds until its deadline. */
static schedrt_handle *spawn_held_between_polls(schedrt_runtime *rt) {
  schedrt_handle *h;
  cr_assert_eq(schedrt_spawn_ex(rt, blocker, NULL, NULL, &h), 0);
  wait_flag(&started);
  schedrt_worker *w = worker_polling(rt, h);
  cr_assert_not_null(w);
  atomic_store(&w->current, NULL);
  return h;
}

/* A control dump that gathers for a long time runs beside the monitor, whose
 * heartbeat (and timers) go on. */
Test(control, monitor_keeps_beating_while_a_dump_waits) {
  schedrt_runtime *rt = make_rt(2, 60);
  const char *name = schedrt_metrics_segment(rt);
  if (!name)
    cr_skip_test("no published metrics segment in this build or environment");
  char path[160];
  snprintf(path, sizeof(path), "/dev/shm%s", name);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  struct schedrt_shm_header *h = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  cr_assert_neq(h, MAP_FAILED);
  close(fd);
  struct schedrt_ctl *c = test_page(rt);
  schedrt_handle *hb = spawn_held_between_polls(rt);
  uint32_t seq;
  cr_assert_eq(schedrt_ctl_submit(c, SCHEDRT_CTL_KIND_DUMP, 1500, "slow", 0, &seq, NULL), 0);
  uint64_t until = tdu_now() + 10 * SEC;
  while (!atomic_load(&rt->dump->busy))
    cr_assert_lt(tdu_now(), until);
  uint64_t beat = atomic_load(&h->heartbeat_seq);
  usleep(300000);
  cr_assert(atomic_load(&rt->dump->busy), "still gathering");
  cr_assert_geq(atomic_load(&h->heartbeat_seq), beat + 5, "the heartbeat went on");
  schedrt_ctl_answer a;
  cr_assert_eq(schedrt_ctl_wait(c, seq, NULL, 10 * SEC, &a), 0);
  cr_assert_eq(a.status, SCHEDRT_DUMP_PARTIAL);
  cr_assert_eq(a.workers_missing, 1, "only the blocked worker is missing (%u missing, %u covered)",
               a.workers_missing, a.workers_covered);
  schedrt_dump_doc *d = collect(&a);
  cr_assert_eq(d->nmissing, 1);
  cr_assert_eq(d->workers[d->missing[0]].reason, SCHEDRT_DUMP_REASON_NO_SAFEPOINT);
  cr_assert_gt(d->gather_rounds, 1, "the held worker was let go and gathered again");
  schedrt_dump_doc_free(d);
  atomic_store(&go, 1);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  schedrt_runtime_destroy(rt);
  munmap(h, 4096);
  free(c);
}

/* The dumps of this process left in /dev/shm. */
static int own_objects(void) {
  char pattern[96];
  glob_t g;
  snprintf(pattern, sizeof(pattern), "/dev/shm/schedrt.*.%ld.*.dump.*", (long)getpid());
  int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
  globfree(&g);
  return n;
}

/* A dump that ends after its requester's deadline (this process was stopped meanwhile, or the dump was
 * slow) is never linked: its requester no longer collects, and the object would lie in /dev/shm for the
 * keep time. A worker held between polls holds the dump past the deadline. */
Test(control, a_dump_ended_past_the_requester_deadline_leaves_no_object) {
  schedrt_runtime *rt = make_rt(2, 60);
  struct schedrt_ctl *c = test_page(rt);
  schedrt_handle *hb = spawn_held_between_polls(rt);
  uint64_t deadline = tdu_now() + SEC;
  uint32_t seq;
  cr_assert_eq(schedrt_ctl_submit(c, SCHEDRT_CTL_KIND_DUMP, 2000, "late", deadline, &seq, NULL), 0);
  while (!atomic_load(&rt->dump->busy) && tdu_now() < deadline)
    usleep(1000);
  cr_assert(atomic_load(&rt->dump->busy), "the monitor (every 10 ms) took the request within 1 s");
  schedrt_ctl_answer a;
  cr_assert_eq(schedrt_ctl_wait(c, seq, NULL, 10 * SEC, &a), 0);
  cr_assert_geq(a.done_ns, deadline, "answered after the deadline");
  cr_assert_eq(a.status, SCHEDRT_DUMP_REJECTED, "status %u", a.status);
  cr_assert_eq(a.reason, SCHEDRT_CTL_R_EXPIRED, "reason %u", a.reason);
  cr_assert_eq(a.object[0], '\0');
  cr_assert_eq(a.workers_missing, 1, "the dump was taken, its figures come back");
  cr_assert_eq(rt->dump->nobjs, 0, "an object to remove later");
  cr_assert_eq(own_objects(), 0, "a dump object in /dev/shm");
  atomic_store(&go, 1);
  cr_assert_eq(schedrt_join(hb, 10 * SEC, NULL), 0);
  /* A request whose deadline passed before the monitor saw it is not served at all. */
  schedrt_ctl_answer b;
  cr_assert_eq(schedrt_ctl_submit(c, SCHEDRT_CTL_KIND_DUMP, 0, NULL, tdu_now(), &seq, NULL), 0);
  cr_assert_eq(schedrt_ctl_wait(c, seq, NULL, 10 * SEC, &b), 0);
  cr_assert_eq(b.reason, SCHEDRT_CTL_R_EXPIRED, "reason %u", b.reason);
  cr_assert_eq(b.tasks + b.workers_covered, 0, "no dump was taken");
  cr_assert_eq(own_objects(), 0, "a dump object in /dev/shm");
  /* Without a deadline (a 1.0 requester), nothing changes. */
  schedrt_ctl_answer ok = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
  cr_assert_eq(ok.status, SCHEDRT_DUMP_OK);
  schedrt_dump_doc_free(collect(&ok));
  schedrt_runtime_destroy(rt);
  free(c);
}

/* ------------------------------------------------------ hostile fields */

/* Writes a request by hand (valid unless `spoil` changes it) and rings. */
static uint32_t raw_request(struct schedrt_ctl *c, void (*spoil)(struct schedrt_ctl *)) {
  uint32_t s = atomic_load(&c->req_seq);
  cr_assert_eq(s & 1u, 0u);
  cr_assert_eq(atomic_load(&c->resp_seq), s, "nothing pending");
  atomic_store(&c->req_seq, s + 1);
  c->req_kind = SCHEDRT_CTL_KIND_PING;
  c->req_flags = 0;
  c->req_timeout_ms = 0;
  c->req_pid = (uint32_t)getpid();
  c->req_resv = 0;
  c->req_deadline_ns = 0;
  memset(c->req_resv2, 0, sizeof(c->req_resv2));
  cr_assert_eq(getrandom(c->req_nonce, 16, 0), 16);
  c->req_nonce[0] |= 1;
  snprintf(c->req_label, sizeof(c->req_label), "fine");
  if (spoil)
    spoil(c);
  atomic_store_explicit(&c->req_seq, s + 2, memory_order_release);
  return s + 2;
}

static schedrt_ctl_answer answer_of(struct schedrt_ctl *c, uint32_t seq) {
  schedrt_ctl_answer a;
  cr_assert_eq(schedrt_ctl_wait(c, seq, NULL, 10 * SEC, &a), 0, "answered");
  return a;
}

static void kind_zero(struct schedrt_ctl *c) { c->req_kind = 0; }
static void kind_big(struct schedrt_ctl *c) { c->req_kind = 0xdeadbeef; }
static void flags_set(struct schedrt_ctl *c) { c->req_flags = SCHEDRT_CTL_FLAGS_KNOWN + 1u; }
static void timeout_tiny(struct schedrt_ctl *c) { c->req_timeout_ms = SCHEDRT_CTL_TIMEOUT_MIN_MS - 1; }
static void timeout_huge(struct schedrt_ctl *c) { c->req_timeout_ms = UINT32_MAX; }
static void timeout_over(struct schedrt_ctl *c) { c->req_timeout_ms = SCHEDRT_CTL_TIMEOUT_MAX_MS + 1; }
static void label_unterminated(struct schedrt_ctl *c) { memset(c->req_label, 'x', sizeof(c->req_label)); }
static void label_control(struct schedrt_ctl *c) { snprintf(c->req_label, sizeof(c->req_label), "a\nb"); }
static void label_high(struct schedrt_ctl *c) { snprintf(c->req_label, sizeof(c->req_label), "caf\xc3\xa9"); }
static void nonce_zero(struct schedrt_ctl *c) { memset(c->req_nonce, 0, sizeof(c->req_nonce)); }
static void resv_set(struct schedrt_ctl *c) { c->req_resv = 1; }
static void resv2_set(struct schedrt_ctl *c) { c->req_resv2[1] = 1ull << 63; }
static void deadline_unflagged(struct schedrt_ctl *c) { c->req_deadline_ns = tdu_now() + 60 * SEC; }
static void deadline_past(struct schedrt_ctl *c) {
  c->req_flags = SCHEDRT_CTL_FLAG_DEADLINE;
  c->req_deadline_ns = 1;
}
static void dump_kind(struct schedrt_ctl *c) { c->req_kind = SCHEDRT_CTL_KIND_DUMP; }

Test(control, hostile_fields_are_rejected) {
  schedrt_runtime *rt = make_rt(2, 60);
  struct schedrt_ctl *c = test_page(rt);
  static const struct {
    void (*spoil)(struct schedrt_ctl *);
    uint32_t reason;
  } cases[] = {
      {kind_zero, SCHEDRT_CTL_R_KIND},
      {kind_big, SCHEDRT_CTL_R_KIND},
      {flags_set, SCHEDRT_CTL_R_FLAGS},
      {timeout_tiny, SCHEDRT_CTL_R_TIMEOUT},
      {timeout_huge, SCHEDRT_CTL_R_TIMEOUT},
      {timeout_over, SCHEDRT_CTL_R_TIMEOUT},
      {label_unterminated, SCHEDRT_CTL_R_LABEL},
      {label_control, SCHEDRT_CTL_R_LABEL},
      {label_high, SCHEDRT_CTL_R_LABEL},
      {nonce_zero, SCHEDRT_CTL_R_NONCE},
      {resv_set, SCHEDRT_CTL_R_RESERVED},
      {resv2_set, SCHEDRT_CTL_R_RESERVED},
      {deadline_unflagged, SCHEDRT_CTL_R_RESERVED},
      {deadline_past, SCHEDRT_CTL_R_EXPIRED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    schedrt_ctl_answer a = answer_of(c, raw_request(c, cases[i].spoil));
    cr_assert_eq(a.status, SCHEDRT_DUMP_REJECTED, "case %zu", i);
    cr_assert_eq(a.reason, cases[i].reason, "case %zu: reason %u", i, a.reason);
    cr_assert_eq(a.object[0], '\0');
  }
  RELIABILITY("control page: hostile request fields (kind, flags, timeout, label, nonce, reserved, deadline)",
              sizeof(cases) / sizeof(cases[0]), "REJECTED with the matching reason, then a dump OK");
  /* The runtime is unharmed: a good request still gets a dump. */
  schedrt_ctl_answer a = answer_of(c, raw_request(c, dump_kind));
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
  schedrt_dump_doc *d = collect(&a);
  cr_assert_str_eq(d->label, "fine");
  schedrt_dump_doc_free(d);
  schedrt_runtime_destroy(rt);
  free(c);
}

static uint8_t kept_nonce[16];
static void keep_nonce(struct schedrt_ctl *c) { memcpy(kept_nonce, c->req_nonce, 16); }
static void reuse_nonce(struct schedrt_ctl *c) { memcpy(c->req_nonce, kept_nonce, 16); }

Test(control, replayed_requests_are_rejected) {
  schedrt_runtime *rt = make_rt(1, 60);
  struct schedrt_ctl *c = test_page(rt);
  uint32_t first = raw_request(c, keep_nonce);
  cr_assert_eq(answer_of(c, first).status, SCHEDRT_DUMP_OK);
  /* The same request again, under a new sequence. */
  schedrt_ctl_answer a = answer_of(c, raw_request(c, reuse_nonce));
  cr_assert_eq(a.status, SCHEDRT_DUMP_REJECTED);
  cr_assert_eq(a.reason, SCHEDRT_CTL_R_REPLAY);
  /* The doorbell wound back to the first request's sequence: not a request
   * (a requester only ever moves it on from the last answer) but damage,
   * which the runtime puts back without answering. */
  uint32_t last = atomic_load(&c->resp_seq);
  atomic_store_explicit(&c->req_seq, first, memory_order_release);
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load_explicit(&c->req_seq, memory_order_acquire) != last)
    cr_assert_lt(tdu_now(), until, "put back");
  cr_assert_eq(atomic_load(&c->resp_seq), last, "and not answered");
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK);
  schedrt_runtime_destroy(rt);
  free(c);
}

Test(control, abandoned_claim_is_answered_torn) {
  schedrt_runtime *rt = make_rt(1, 60);
  struct schedrt_ctl *c = test_page(rt);
  uint32_t s = atomic_load(&c->req_seq);
  /* A requester claims the page and dies halfway through its fields. */
  atomic_store(&c->req_seq, s + 1);
  c->req_kind = SCHEDRT_CTL_KIND_DUMP;
  schedrt_ctl_answer a = answer_of(c, s + 2);
  cr_assert_eq(a.status, SCHEDRT_DUMP_REJECTED);
  cr_assert_eq(a.reason, SCHEDRT_CTL_R_TORN);
  cr_assert_eq(atomic_load(&c->req_seq), s + 2, "the claim was closed");
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK, "and the page works again");
  schedrt_runtime_destroy(rt);
  free(c);
}

/* ----------------------------------------------- concurrent requesters */

struct requester {
  struct schedrt_ctl *c;
  int answered, busy, lapped;
  char why[160]; /* why it stopped early */
};

static void *requester_main(void *arg) {
  struct requester *r = arg;
  uint64_t until = tdu_now() + 30 * SEC;
  while (r->answered < 10 && tdu_now() < until) {
    uint32_t seq;
    uint8_t nonce[16];
    uint32_t kind = r->answered % 3 == 0 ? SCHEDRT_CTL_KIND_DUMP : SCHEDRT_CTL_KIND_PING;
    int rc = schedrt_ctl_submit(r->c, kind, 0, "many", 0, &seq, nonce);
    if (rc == -EBUSY) {
      r->busy++;
      sched_yield();
      continue;
    }
    if (rc) {
      snprintf(r->why, sizeof(r->why), "submit: %s", schedrt_strerror(rc));
      return NULL;
    }
    schedrt_ctl_answer a;
    rc = schedrt_ctl_wait(r->c, seq, nonce, 20 * SEC, &a);
    if (rc == -ESTALE) {
      /* Descheduled while SCHEDRT_CTL_SLOTS later answers went by (four
       * requesters on two cores): the protocol says so rather than hand over
       * another's answer. Ask again. */
      r->lapped++;
      continue;
    }
    /* PARTIAL is an answer too: with four requesters spinning on two cores a
     * parked worker can miss the 250 ms barrier; the page's turns are tested. */
    if (rc || memcmp(a.nonce, nonce, 16) != 0 ||
        (a.status != SCHEDRT_DUMP_OK && a.status != SCHEDRT_DUMP_PARTIAL)) {
      snprintf(r->why, sizeof(r->why), "wait: %s, status %u reason %u, nonce %s", schedrt_strerror(rc),
               (unsigned)a.status, (unsigned)a.reason, memcmp(a.nonce, nonce, 16) ? "other" : "ours");
      return NULL;
    }
    if (a.object[0]) {
      void *buf;
      size_t len;
      if ((rc = schedrt_ctl_collect(NULL, a.object, (uint32_t)geteuid(), &buf, &len))) {
        snprintf(r->why, sizeof(r->why), "collect %s: %s", a.object, schedrt_strerror(rc));
        return NULL;
      }
      free(buf);
    }
    r->answered++;
  }
  return NULL;
}

Test(control, concurrent_requesters_take_turns) {
  schedrt_runtime *rt = make_rt(2, 60);
  struct schedrt_ctl *c = test_page(rt);
  enum { N = 4 };
  struct requester r[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    r[i] = (struct requester){.c = c};
    cr_assert_eq(pthread_create(&th[i], NULL, requester_main, &r[i]), 0);
  }
  int busy = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(r[i].answered, 10, "requester %d got %d answers of 10 (%s)", i, r[i].answered,
                 r[i].why[0] ? r[i].why : "out of time");
    busy += r[i].busy;
  }
  cr_assert_gt(busy, 0, "some found the page busy and waited their turn");
  schedrt_runtime_destroy(rt);
  free(c);
}

/* --------------------------------------- BUSY, objects, shutdown */

struct bg {
  schedrt_runtime *rt;
  int fd;
  schedrt_dump_result res;
  int rc;
};

static void *bg_dump(void *arg) {
  struct bg *b = arg;
  b->rc = schedrt_dump_fd(b->rt, b->fd, &(schedrt_dump_opts){.timeout_ms = 5000}, &b->res);
  close(b->fd);
  return NULL;
}

/* The API dump is held in flight by its own output: a pipe filled to the
 * brim blocks its write (under busy) until the test drains it. A stuck task
 * would not do: dumps no longer wait for one. */
Test(control, busy_while_an_api_dump_runs) {
  schedrt_runtime *rt = make_rt(1, 60);
  struct schedrt_ctl *c = test_page(rt);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  (void)fcntl(p[1], F_SETPIPE_SZ, 4096);
  char fill[4096] = {0};
  while (write(p[1], fill, sizeof(fill)) > 0)
    ;
  cr_assert_eq(errno, EAGAIN, "the pipe is full");
  cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0, "the dump's write blocks");
  struct bg b = {.rt = rt, .fd = p[1]};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, bg_dump, &b), 0);
  uint64_t until = tdu_now() + 10 * SEC;
  while (!atomic_load(&rt->dump->busy))
    cr_assert_lt(tdu_now(), until);
  schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, 0, NULL);
  cr_assert_eq(a.status, SCHEDRT_DUMP_BUSY);
  cr_assert_eq(a.reason, SCHEDRT_CTL_R_INFLIGHT);
  cr_assert_eq(a.object[0], '\0');
  cr_assert_eq(fcntl(p[0], F_SETFL, 0), 0);
  size_t drained = 0;
  ssize_t n;
  while ((n = read(p[0], fill, sizeof(fill))) > 0)
    drained += (size_t)n;
  close(p[0]);
  pthread_join(th, NULL);
  cr_assert_eq(b.rc, 0, "%s", schedrt_strerror(b.rc));
  cr_assert_eq(drained, sizeof(fill) + b.res.bytes, "the filler and the whole dump came through");
  schedrt_runtime_destroy(rt);
  free(c);
}

Test(control, uncollected_dumps_expire) {
  schedrt_runtime *rt = make_rt(1, 1);
  struct schedrt_ctl *c = test_page(rt);
  schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, "left behind");
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
  cr_assert(object_exists(a.object));
  char path[600];
  struct stat st;
  snprintf(path, sizeof(path), "/dev/shm%s", a.object);
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  cr_assert_eq(st.st_uid, geteuid());
  uint64_t until = tdu_now() + 10 * SEC;
  while (object_exists(a.object))
    cr_assert_lt(tdu_now(), until, "removed after dump_keep_s");
  schedrt_runtime_destroy(rt);
  free(c);
}

Test(control, object_limit_then_removal_at_destroy) {
  schedrt_runtime *rt = make_rt(1, 600);
  struct schedrt_ctl *c = test_page(rt);
  char names[SCHEDRT__DOBJ_MAX][SCHEDRT_CTL_OBJECT_SIZE];
  for (int i = 0; i < SCHEDRT__DOBJ_MAX; i++) {
    schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
    cr_assert_eq(a.status, SCHEDRT_DUMP_OK, "dump %d: status %s, reason %u", i,
                 schedrt_dump_status_name(a.status), (unsigned)a.reason);
    memcpy(names[i], a.object, sizeof(names[i]));
  }
  schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, 0, NULL);
  cr_assert_eq(a.status, SCHEDRT_DUMP_BUSY);
  cr_assert_eq(a.reason, SCHEDRT_CTL_R_OBJECTS);
  /* Collecting one makes room. */
  void *buf;
  size_t len;
  cr_assert_eq(schedrt_ctl_collect(NULL, names[0], (uint32_t)geteuid(), &buf, &len), 0);
  free(buf);
  a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
  memcpy(names[0], a.object, sizeof(names[0]));
  schedrt_runtime_destroy(rt);
  for (int i = 0; i < SCHEDRT__DOBJ_MAX; i++)
    cr_assert(!object_exists(names[i]), "%s removed at destroy", names[i]);
  free(c);
}

static void *destroy_main(void *arg) {
  schedrt_runtime_destroy(arg);
  return NULL;
}

Test(control, shutdown_answers_a_gathering_request) {
  schedrt_runtime *rt = make_rt(1, 60);
  struct schedrt_ctl *c = test_page(rt);
  schedrt_handle_release(spawn_held_between_polls(rt));
  uint32_t seq;
  cr_assert_eq(schedrt_ctl_submit(c, SCHEDRT_CTL_KIND_DUMP, SCHEDRT_CTL_TIMEOUT_MAX_MS, NULL, 0, &seq, NULL),
               0);
  /* The only worker does not come: the runtime waits at the barrier for it... */
  uint64_t until = tdu_now() + 10 * SEC;
  while (!atomic_load(&rt->dump->busy))
    cr_assert_lt(tdu_now(), until);
  /* ... until destroy starts, which it notices within 1 ms. */
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, destroy_main, rt), 0);
  schedrt_ctl_answer a;
  cr_assert_eq(schedrt_ctl_wait(c, seq, NULL, 5 * SEC, &a), 0);
  cr_assert_eq(a.status, SCHEDRT_DUMP_SHUTDOWN);
  atomic_store(&go, 1);
  pthread_join(th, NULL);
  cr_assert_eq(atomic_load(&c->state), SCHEDRT_CTL_STATE_CLOSED);
  free(c);
}

/* ------------------------------------------------- repairs and reclaim */

static void wait_served(struct schedrt_ctl *c) {
  uint64_t until = tdu_now() + 10 * SEC;
  while (atomic_load_explicit(&c->state, memory_order_acquire) != SCHEDRT_CTL_STATE_SERVED ||
         c->magic != SCHEDRT_CTL_MAGIC)
    cr_assert_lt(tdu_now(), until, "the page is served again");
}

Test(control, damaged_page_is_repaired_before_the_next_request) {
  schedrt_runtime *rt = make_rt(1, 60);
  struct schedrt_ctl *c = test_page(rt);
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK);
  /* Each of these once turned dumps off for the rest of the process's life:
   * state (BUSY / "serves no dump requests"), resp_seq (BUSY for ever), the
   * identity, and an answer slot's sequence (that slot's requester lapped). */
  static const uint32_t states[] = {SCHEDRT_CTL_STATE_OFF, SCHEDRT_CTL_STATE_CLOSED, 0xdeadbeefu};
  for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
    atomic_store(&c->state, states[i]);
    wait_served(c);
    cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK, "after state %#x",
                 states[i]);
  }
  uint32_t s = atomic_load(&c->resp_seq);
  atomic_store(&c->resp_seq, s + 7);
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK, "after resp_seq");
  atomic_store(&c->resp_seq, s ^ 0x80000001u);
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK, "after an odd resp_seq");
  c->magic = 0;
  c->major = 99;
  c->timeout_max_ms = 1;
  wait_served(c);
  cr_assert_eq(c->major, SCHEDRT_CTL_MAJOR);
  cr_assert_eq(c->timeout_max_ms, SCHEDRT_CTL_TIMEOUT_MAX_MS);
  cr_assert_eq(ask(c, SCHEDRT_CTL_KIND_PING, 0, NULL).status, SCHEDRT_DUMP_OK, "after the identity");
  /* Garbage over the whole page, sequence words included: at most the
   * request in flight is lost, then dumps work again. */
  for (int round = 0; round < 20; round++) {
    uint8_t junk[sizeof(*c)];
    cr_assert_eq(getrandom(junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    memcpy(c, junk, sizeof(junk));
    /* The next look repairs it (on a loaded machine that can take more than a period). */
    wait_served(c);
    schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
    cr_assert_eq(a.status, SCHEDRT_DUMP_OK, "round %d: status %u reason %u", round, a.status, a.reason);
    schedrt_dump_doc_free(collect(&a));
  }
  cr_assert_gt(rt->dump->ctl.repairs, 0);
  RELIABILITY("control page: state, resp_seq, identity overwritten", 6,
              "repaired at the next tick, the next request answered");
  RELIABILITY("control page: 1536 random bytes over the whole page", 20,
              "repaired (%llu words put back in all), every following dump OK",
              (unsigned long long)rt->dump->ctl.repairs);
  schedrt_runtime_destroy(rt);
  free(c);
}

Test(control, objects_of_killed_requesters_are_reclaimed_within_one_deadline) {
  schedrt_runtime *rt = make_rt(1, 600);
  struct schedrt_ctl *c = test_page(rt);
  char names[SCHEDRT__DOBJ_MAX][SCHEDRT_CTL_OBJECT_SIZE];
  uint64_t first = tdu_now();
  /* Eight requesters that were killed before they collected. */
  for (int i = 0; i < SCHEDRT__DOBJ_MAX; i++) {
    schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
    cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
    memcpy(names[i], a.object, sizeof(names[i]));
  }
  uint64_t t0 = tdu_now();
  schedrt_ctl_answer a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
  /* (Unless this machine is so loaded that the eight took longer than the deadline.) */
  if (tdu_now() - first < schedrt__dobj_abandon_ns(rt->dump) - SEC)
    cr_assert_eq(a.status, SCHEDRT_DUMP_BUSY, "a live requester may still be collecting");
  /* keep_s is 600 s; the requesters' deadline (2 periods + 3 s) is what counts. */
  uint64_t limit = schedrt__dobj_abandon_ns(rt->dump) + 5 * SEC;
  while (a.status == SCHEDRT_DUMP_BUSY) {
    usleep(100000);
    a = ask(c, SCHEDRT_CTL_KIND_DUMP, LOADED_MS, NULL);
    cr_assert_lt(tdu_now() - t0, limit, "reclaimed within one deadline");
  }
  cr_assert_eq(a.status, SCHEDRT_DUMP_OK);
  cr_assert(!object_exists(names[0]), "the oldest abandoned object was removed");
  RELIABILITY("control page: 8 dump objects left by killed requesters", 1,
              "BUSY for %.1f s (deadline %.1f s), then dumps again", (double)(tdu_now() - t0) / 1e9,
              (double)schedrt__dobj_abandon_ns(rt->dump) / 1e9);
  schedrt_dump_doc_free(collect(&a));
  schedrt_runtime_destroy(rt);
  free(c);
}
