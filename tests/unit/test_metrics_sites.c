/*
 * Spawn-site counters (layout 2.5): a program with known spawns per site
 * finds exactly those counts in its own segment through the reader, with
 * none alive once all are joined; a full table counts the rest in its
 * overflow row; one site under two copies of its file string is one site;
 * with timing, busy time and schedule latency are summed per site; an older
 * writer's segment (no region) and corrupt regions are told apart.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/proto/metrics_def.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"

static schedrt_runtime *make_rt(uint32_t nworkers, uint32_t flags) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = nworkers;
  cfg.flags = flags;
  cfg.name = "sites";
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "create: %s", schedrt_strerror(rc));
  return rt;
}

/* Every site of our own runtime's segment into out (at most cap). */
static uint32_t read_sites(schedrt_site_snap *out, uint32_t cap) {
  schedrt_reader *r = NULL;
  int rc = schedrt_reader_open_pid(getpid(), NULL, &r);
  cr_assert_eq(rc, 0, "open: %s", schedrt_strerror(rc));
  cr_assert_geq(schedrt_reader_site_cap(r), 2);
  uint32_t n = 0;
  rc = schedrt_reader_sites(r, out, cap, &n);
  cr_assert_eq(rc, 0, "sites: %s", schedrt_strerror(rc));
  schedrt_reader_close(r);
  return n;
}

static const schedrt_site_snap *find_site(const schedrt_site_snap *s, uint32_t n, const char *func) {
  for (uint32_t i = 0; i < n; i++)
    if (!s[i].overflow && strcmp(s[i].func, func) == 0)
      return &s[i];
  return NULL;
}

/* Returns PENDING once (yielding), then READY: two polls a task. */
static schedrt_poll yield_once(schedrt_task *self, void *arg) {
  int *state = arg;
  if (*state == 0) {
    *state = 1;
    schedrt_yield(self);
    return SCHEDRT_PENDING;
  }
  return SCHEDRT_READY;
}

#define FOREIGN_TASKS 37
#define CHILD_TASKS 53

struct parent {
  int child_state[CHILD_TASKS];
  schedrt_handle *children[CHILD_TASKS];
};

static void spawn_children(schedrt_task *self, struct parent *p) {
  for (int i = 0; i < CHILD_TASKS; i++) {
    int rc = schedrt_spawn_ex(schedrt_task_runtime(self), yield_once, &p->child_state[i],
                              &(schedrt_spawn_opts){.name = "child"}, &p->children[i]);
    cr_assert_eq(rc, 0);
  }
}

/* One poll: spawns CHILD_TASKS children from a worker (their site's counts
 * land in the worker's block), then completes. */
static schedrt_poll parent_task(schedrt_task *self, void *arg) {
  spawn_children(self, arg);
  return SCHEDRT_READY;
}

static void spawn_foreign(schedrt_runtime *rt, int *states, schedrt_handle **h) {
  for (int i = 0; i < FOREIGN_TASKS; i++)
    cr_assert_eq(schedrt_spawn_ex(rt, yield_once, &states[i], NULL, &h[i]), 0);
}

Test(metrics_sites, known_spawns_per_site_are_counted_exactly) {
  schedrt_runtime *rt = make_rt(2, 0);
  int states[FOREIGN_TASKS] = {0};
  schedrt_handle *h[FOREIGN_TASKS];
  struct parent p = {0};
  schedrt_handle *ph = NULL;
  spawn_foreign(rt, states, h);
  cr_assert_eq(schedrt_spawn_ex(rt, parent_task, &p, &(schedrt_spawn_opts){.name = "parent"}, &ph), 0);
  cr_assert_eq(schedrt_join(ph, UINT64_MAX, NULL), 0);
  for (int i = 0; i < FOREIGN_TASKS; i++) {
    cr_assert_eq(schedrt_join(h[i], UINT64_MAX, NULL), 0);
  }
  for (int i = 0; i < CHILD_TASKS; i++) {
    cr_assert_eq(schedrt_join(p.children[i], UINT64_MAX, NULL), 0);
  }
  schedrt_site_snap s[16];
  uint32_t n = read_sites(s, 16);
  const schedrt_site_snap *f = find_site(s, n, "spawn_foreign");
  const schedrt_site_snap *c = find_site(s, n, "spawn_children");
  const schedrt_site_snap *pa = NULL;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(s[i].name, "parent") == 0)
      pa = &s[i];
  cr_assert(f && c && pa, "sites: %u, foreign %p children %p parent %p", n, (void *)f, (void *)c, (void *)pa);
  cr_assert_eq(f->spawned, FOREIGN_TASKS);
  cr_assert_eq(f->ended, FOREIGN_TASKS);
  cr_assert_eq(f->alive, 0);
  cr_assert_eq(f->polls, 2 * FOREIGN_TASKS);
  cr_assert_eq(c->spawned, CHILD_TASKS);
  cr_assert_eq(c->ended, CHILD_TASKS);
  cr_assert_eq(c->alive, 0);
  cr_assert_eq(c->polls, 2 * CHILD_TASKS);
  cr_assert_str_eq(c->name, "child");
  cr_assert_eq(pa->spawned, 1);
  cr_assert_eq(pa->polls, 1);
  cr_assert(strstr(f->file, "test_metrics_sites.c") != NULL, "file: %s", f->file);
  cr_assert_gt(f->line, 0);
  cr_assert_eq(f->busy_ns, 0, "no timing, no busy time");
  for (uint32_t i = 0; i < n; i++)
    cr_assert(!s[i].overflow, "no overflow row with three sites");
  schedrt_runtime_destroy(rt);
}

/*
 * With metrics compiled in, a worker's spawns and ends are counted by its
 * site counters only: the runtime's spawned and alive totals are their sums,
 * the overflow row's included (a table of one site: the parent's, spawned
 * from this thread, takes it and the children go to the overflow row).
 */
Test(metrics_sites, the_runtime_totals_are_sums_of_the_site_counters) {
  setenv("SCHEDRT_SPAWN_SITES", "2", 1);
  schedrt_runtime *rt = make_rt(2, 0);
  unsetenv("SCHEDRT_SPAWN_SITES");
  struct parent p = {0};
  schedrt_handle *ph = NULL;
  uint64_t v;
  cr_assert_eq(schedrt_spawn_ex(rt, parent_task, &p, &(schedrt_spawn_opts){.name = "parent"}, &ph), 0);
  cr_assert_eq(schedrt_join(ph, UINT64_MAX, NULL), 0);
  for (int i = 0; i < CHILD_TASKS; i++)
    cr_assert_eq(schedrt_join(p.children[i], UINT64_MAX, NULL), 0);
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_spawned, 0, &v), 0);
  cr_assert_eq(v, 1 + CHILD_TASKS);
  cr_assert_eq(schedrt_metric_read(rt, SCHEDRT_M_alive, 0, &v), 0);
  cr_assert_eq(v, 0);
  schedrt_site_snap s[4];
  uint32_t n = read_sites(s, 4);
  cr_assert_eq(n, 2, "the parent's site and the overflow row");
  cr_assert(s[1].overflow);
  cr_assert_eq(s[1].spawned, CHILD_TASKS);
  cr_assert_eq(s[1].ended, CHILD_TASKS);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll pending_forever(schedrt_task *self, void *arg) {
  (void)self;
  (void)arg;
  return SCHEDRT_PENDING;
}

Test(metrics_sites, tasks_that_never_end_stay_alive_and_cancelled_ones_end) {
  schedrt_runtime *rt = make_rt(1, 0);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(schedrt_spawn_at(rt, pending_forever, NULL, NULL, NULL, "leak.c", 7, "leaker"), 0);
  /* Each has been polled once it counted a poll: wait for the five, with a deadline. */
  schedrt_site_snap s[8];
  const schedrt_site_snap *l = NULL;
  for (int tries = 0; tries < 5000; tries++) {
    uint32_t n = read_sites(s, 8);
    l = find_site(s, n, "leaker");
    if (l && l->polls == 5)
      break;
    usleep(1000);
  }
  cr_assert(l && l->polls == 5);
  cr_assert_eq(l->spawned, 5);
  cr_assert_eq(l->alive, 5);
  cr_assert_str_eq(l->file, "leak.c");
  cr_assert_eq(l->line, 7);
  schedrt_runtime_destroy(rt);
}

Test(metrics_sites, a_full_table_counts_the_rest_in_its_overflow_row) {
  /* Four descriptors: three sites and the overflow row. */
  setenv("SCHEDRT_SPAWN_SITES", "4", 1);
  schedrt_runtime *rt = make_rt(1, 0);
  unsetenv("SCHEDRT_SPAWN_SITES");
  schedrt_handle *h[6 * 3];
  int states[6 * 3] = {0};
  static const char *const funcs[6] = {"f0", "f1", "f2", "f3", "f4", "f5"};
  for (int site = 0; site < 6; site++)
    for (int k = 0; k < 3; k++)
      cr_assert_eq(schedrt_spawn_at(rt, yield_once, &states[site * 3 + k], NULL, &h[site * 3 + k], "full.c",
                                    100 + site, funcs[site]),
                   0);
  for (int i = 0; i < 18; i++) {
    cr_assert_eq(schedrt_join(h[i], UINT64_MAX, NULL), 0);
  }
  schedrt_site_snap s[8];
  uint32_t n = read_sites(s, 8);
  cr_assert_eq(n, 4, "three sites and the overflow row");
  uint64_t total = 0;
  for (uint32_t i = 0; i < 3; i++) {
    cr_assert(!s[i].overflow);
    cr_assert_eq(s[i].line, 100 + i);
    cr_assert_eq(s[i].spawned, 3);
    total += s[i].spawned;
  }
  cr_assert(s[3].overflow);
  cr_assert_eq(s[3].spawned, 9, "the other three sites' tasks");
  cr_assert_eq(s[3].polls, 18);
  cr_assert_eq(s[3].alive, 0);
  cr_assert_eq(total + s[3].spawned, 18);
  schedrt_runtime_destroy(rt);
}

Test(metrics_sites, one_site_under_two_copies_of_its_file_string_is_one_site) {
  schedrt_runtime *rt = make_rt(1, 0);
  /* Two arrays: two addresses for the same text, as a header inlined into
   * two objects would give. */
  static const char a[] = "dup.h", b[] = "dup.h";
  cr_assert_neq((const void *)a, (const void *)b);
  schedrt_handle *h[4];
  int states[4] = {0};
  for (int i = 0; i < 4; i++)
    cr_assert_eq(schedrt_spawn_at(rt, yield_once, &states[i], NULL, &h[i], i % 2 ? a : b, 9, "dup"), 0);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(schedrt_join(h[i], UINT64_MAX, NULL), 0);
  }
  schedrt_site_snap s[8];
  uint32_t n = read_sites(s, 8), found = 0;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(s[i].func, "dup") == 0) {
      found++;
      cr_assert_eq(s[i].spawned, 4);
    }
  cr_assert_eq(found, 1);
  schedrt_runtime_destroy(rt);
}

static schedrt_poll spin_a_while(schedrt_task *self, void *arg) {
  (void)self;
  (void)arg;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 2000000L);
  return SCHEDRT_READY;
}

Test(metrics_sites, with_timing_busy_time_and_latency_are_summed_per_site) {
  schedrt_runtime *rt = make_rt(1, SCHEDRT_CFG_TIMING);
  schedrt_handle *h[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(schedrt_spawn_at(rt, spin_a_while, NULL, NULL, &h[i], "busy.c", 1, "spinner"), 0);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(schedrt_join(h[i], UINT64_MAX, NULL), 0);
  }
  schedrt_site_snap s[8];
  const schedrt_site_snap *b = NULL;
  /* The last poll's time is added after its task completed (and its joiner
   * woke): wait for it, with a deadline. */
  for (int tries = 0; tries < 5000; tries++) {
    uint32_t n = read_sites(s, 8);
    b = find_site(s, n, "spinner");
    if (b && b->busy_ns >= 6000000u)
      break;
    usleep(1000);
  }
  cr_assert_not_null(b);
  /* Three polls of at least 2 ms each. */
  cr_assert_geq(b->busy_ns, 6000000u, "busy %llu", (unsigned long long)b->busy_ns);
  /* The second and third waited at least for the first's 2 ms. */
  cr_assert_geq(b->sched_latency_ns, 6000000u, "latency %llu", (unsigned long long)b->sched_latency_ns);
  schedrt_runtime_destroy(rt);
}

static void spin_ms(long ms) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ms * 1000000L);
}

struct stamp_run {
  schedrt_handle *child;
  int child_polls;
};

/* First poll: 60 ms, then a yield (its second poll follows at once). */
static schedrt_poll stamp_child(schedrt_task *self, void *arg) {
  struct stamp_run *r = arg;
  if (r->child_polls++ == 0) {
    spin_ms(60);
    return schedrt_yield(self);
  }
  return SCHEDRT_READY;
}

/* 60 ms, then a spawn: the worker polls the child right after (LIFO slot). */
static schedrt_poll stamp_driver(schedrt_task *self, void *arg) {
  struct stamp_run *r = arg;
  spin_ms(60);
  cr_assert_eq(
      schedrt_spawn_at(schedrt_task_runtime(self), stamp_child, r, NULL, &r->child, "stamp.c", 2, "stamped"),
      0);
  return SCHEDRT_READY;
}

/*
 * A worker of a timing runtime keeps no clock cache: its spawns and requeues
 * are stamped with the clock, so a task polled right after either waited
 * microseconds. A stamp from a cache taken before the 60 ms polls would add
 * at least 60 ms per poll (the monitor's stale mark needs a poll that spans
 * two of its 100 ms ticks).
 */
Test(metrics_sites, with_timing_a_workers_spawns_and_requeues_are_stamped_exactly) {
  schedrt_runtime *rt = make_rt(1, SCHEDRT_CFG_TIMING);
  struct stamp_run r = {0};
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_at(rt, stamp_driver, &r, NULL, &h, "stamp.c", 1, "driver"), 0);
  cr_assert_eq(schedrt_join(h, UINT64_MAX, NULL), 0);
  cr_assert_eq(schedrt_join(r.child, UINT64_MAX, NULL), 0);
  schedrt_site_snap s[8];
  const schedrt_site_snap *c = find_site(s, read_sites(s, 8), "stamped");
  cr_assert_not_null(c);
  cr_assert_eq(c->polls, 2);
  cr_assert_lt(c->sched_latency_ns, 30000000u, "latency %llu", (unsigned long long)c->sched_latency_ns);
  schedrt_runtime_destroy(rt);
}

/* ------------------------------------------------ the region, as a reader sees it */

static char dir[128];
static struct shm_fixture fx;

static void fixture_setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create(dir, 2, 0, 0, 0, &fx), 0);
}

static void fixture_teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

static int open_fixture(schedrt_reader **r) {
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT, .shm_dir = dir};
  return schedrt_reader_open_path(fx.path, &o, r);
}

static struct schedrt_shm_sites *fixture_sites(void) {
  return (struct schedrt_shm_sites *)(void *)(fx.base + fixture_header(&fx)->sites_off);
}

Test(metrics_sites, an_older_writer_has_no_sites_and_still_opens, .init = fixture_setup,
     .fini = fixture_teardown) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  /* A 2.4 writer: the two fields were reserved, zero. */
  h->layout_minor = 4;
  h->sites_off = 0;
  h->sites_size = 0;
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  cr_assert_eq(schedrt_reader_site_cap(r), 0);
  schedrt_site_snap s[2];
  uint32_t n = 7;
  cr_assert_eq(schedrt_reader_sites(r, s, 2, &n), -ENOENT);
  cr_assert_eq(n, 0);
  schedrt_reader_close(r);
}

Test(metrics_sites, counts_and_descriptors_are_read_from_the_blocks, .init = fixture_setup,
     .fini = fixture_teardown) {
  struct schedrt_shm_sites *sh = fixture_sites();
  unsigned char *region = (unsigned char *)sh;
  struct schedrt_shm_site_desc *d = (struct schedrt_shm_site_desc *)(void *)(region + sh->desc_off);
  atomic_store(&d[0].line, 42u);
  char file[SCHEDRT_SHM_SITE_FILE_LEN] = "src/a\x01.c";
  memcpy((void *)d[0].file, file, sizeof(file));
  /* Worker 0, worker 1 and the foreign block each count a part. */
  for (uint32_t b = 0; b < 3; b++) {
    struct schedrt_shm_site_ctr *c =
        (struct schedrt_shm_site_ctr *)(void *)(region + sh->ctr_off + b * sh->block_stride);
    atomic_store(&c[0].spawned, 10u + b);
    atomic_store(&c[0].ended, 2u * b);
    atomic_store(&c[0].polls, 100u);
  }
  atomic_store(&sh->count, 1u);
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  schedrt_site_snap s[4];
  uint32_t n = 0;
  cr_assert_eq(schedrt_reader_sites(r, s, 4, &n), 0);
  cr_assert_eq(n, 1, "the overflow row counted nothing: left out");
  cr_assert_eq(s[0].line, 42);
  cr_assert_str_eq(s[0].file, "src/a?.c", "control characters replaced");
  cr_assert_eq(s[0].spawned, 33);
  cr_assert_eq(s[0].ended, 6);
  cr_assert_eq(s[0].alive, 27);
  cr_assert_eq(s[0].polls, 300);
  /* A count past the table is clamped, never followed. */
  atomic_store(&sh->count, 100000u);
  cr_assert_eq(schedrt_reader_sites(r, s, 4, &n), 0);
  cr_assert_leq(n, 4);
  schedrt_reader_close(r);
}

/* Sets field of the region header to v, expects open to refuse it, restores it. */
#define EXPECT_CORRUPT(field, v)                                                                             \
  do {                                                                                                       \
    struct schedrt_shm_sites *sh_ = fixture_sites();                                                         \
    uint32_t keep_ = sh_->field;                                                                             \
    sh_->field = (v);                                                                                        \
    schedrt_reader *r_ = NULL;                                                                               \
    int rc_ = open_fixture(&r_);                                                                             \
    cr_assert_eq(rc_, SCHEDRT_ECORRUPT, #field " = " #v ": %s", schedrt_err_name(rc_));                      \
    cr_assert_null(r_);                                                                                      \
    sh_->field = keep_;                                                                                      \
  } while (0)

Test(metrics_sites, a_corrupt_region_is_refused_at_open, .init = fixture_setup, .fini = fixture_teardown) {
  EXPECT_CORRUPT(site_cap, 0);
  EXPECT_CORRUPT(site_cap, SCHEDRT_SHM_MAX_SITES + 1);
  EXPECT_CORRUPT(site_cap, 1000); /* the descriptors would pass the counters */
  EXPECT_CORRUPT(desc_off, 0xfffff000u);
  EXPECT_CORRUPT(desc_size, 64);
  EXPECT_CORRUPT(ctr_off, 3);
  EXPECT_CORRUPT(ctr_size, 0);
  EXPECT_CORRUPT(ctr_count, 100);
  EXPECT_CORRUPT(nblocks, 4); /* two workers: three blocks */
  EXPECT_CORRUPT(nblocks, 0);
  EXPECT_CORRUPT(block_stride, 64);
  struct schedrt_shm_header *h = fixture_header(&fx);
  uint32_t size = h->sites_size;
  h->sites_size = (uint32_t)fx.size;
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), SCHEDRT_ECORRUPT, "a region past the end of the segment");
  h->sites_size = size;
  cr_assert_eq(open_fixture(&r), 0, "restored: opens");
  schedrt_reader_close(r);
}
