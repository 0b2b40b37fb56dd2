/*
 * The event rings (layout 2.6), as a reader sees them: a ring driven by the
 * protocol's writer (proto/event_ring.h) with known counts gives exactly its
 * last ring_cap events and an exact lost count when it overflowed; a record
 * left busy (a writer stopped inside it) is never accepted; a 2.5 segment
 * has no events and still opens; corrupt regions are refused at open. Then
 * our own runtime with SCHEDRT_CFG_EVENTS: every poll of a known task is in
 * its worker's ring, in order, and the polls counted by the slot match;
 * every wake that counts is recorded once, with its waker, whichever path
 * took it (an idle task's, a running task's, a foreign thread's).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/proto/event_ring.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"

#define CAP 64u

static char dir[128];
static struct shm_fixture fx;

static void fixture_setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create_ev(dir, 2, CAP, 0, 0, 0, &fx), 0);
}

static void fixture_teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

static int open_fixture(schedrt_reader **r) {
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT, .shm_dir = dir};
  return schedrt_reader_open_path(fx.path, &o, r);
}

/* Events 0 .. count-1 into ring i: a = n, b = ~n, time 1000 + n. */
static void write_events(uint32_t ring, uint64_t from, uint64_t count) {
  struct schedrt_shm_event *rec = fixture_ring(&fx, ring);
  for (uint64_t n = from; n < from + count; n++)
    schedrt_ev_record_write(&rec[n % CAP], n, SCHEDRT_EV_POLL_START + (uint32_t)(n % 2u), 1000u + n, n, ~n);
}

static schedrt_event_window read_ring(schedrt_reader *r, uint32_t ring, schedrt_event *out, uint32_t cap) {
  schedrt_event_window w;
  int rc = schedrt_reader_events(r, ring, out, cap, &w);
  cr_assert_eq(rc, 0, "events: %s", schedrt_strerror(rc));
  return w;
}

Test(events, the_region_is_found_and_sized, .init = fixture_setup, .fini = fixture_teardown) {
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  cr_assert_eq(schedrt_reader_event_rings(r), 3, "two workers and the other threads");
  cr_assert_eq(schedrt_reader_event_cap(r), CAP);
  cr_assert_eq(fixture_header(&fx)->layout_minor, 6);
  schedrt_event ev[CAP];
  schedrt_event_window w = read_ring(r, 0, ev, CAP);
  cr_assert_eq(w.written, 0);
  cr_assert_eq(w.lost, 0);
  cr_assert_eq(w.n, 0);
  cr_assert_eq(w.torn, 0, "never-written records are empty, not torn");
  cr_assert_eq(schedrt_reader_events(r, 3, ev, CAP, &w), -EINVAL, "no fourth ring");
  schedrt_reader_close(r);
}

Test(events, a_ring_that_did_not_wrap_loses_nothing, .init = fixture_setup, .fini = fixture_teardown) {
  write_events(1, 0, 40);
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  schedrt_event ev[CAP];
  schedrt_event_window w = read_ring(r, 1, ev, CAP);
  cr_assert_eq(w.written, 40);
  cr_assert_eq(w.lost, 0);
  cr_assert_eq(w.n, 40);
  for (uint32_t k = 0; k < w.n; k++) {
    cr_assert_eq(ev[k].seq, k);
    cr_assert_eq(ev[k].a, k);
    cr_assert_eq(ev[k].b, ~(uint64_t)k);
    cr_assert_eq(ev[k].time_ns, 1000u + k, "clock CLOCK_MONOTONIC: the time as written");
    cr_assert_eq(ev[k].kind, SCHEDRT_EV_POLL_START + k % 2u);
    cr_assert_eq(ev[k].ring, 1);
  }
  cr_assert_eq(read_ring(r, 0, ev, CAP).written, 0, "the other rings are untouched");
  schedrt_reader_close(r);
}

Test(events, the_lost_count_is_exact_when_the_ring_overflows, .init = fixture_setup,
     .fini = fixture_teardown) {
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  schedrt_event ev[CAP];
  /* Exactly full, then one over, then many laps. */
  static const uint64_t totals[] = {CAP, CAP + 1u, 10u * CAP + 7u, 1000003u};
  uint64_t done = 0;
  for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
    write_events(0, done, totals[t] - done);
    done = totals[t];
    schedrt_event_window w = read_ring(r, 0, ev, CAP);
    cr_assert_eq(w.written, done);
    cr_assert_eq(w.lost, done - CAP, "written %llu: lost %llu", (unsigned long long)done,
                 (unsigned long long)w.lost);
    cr_assert_eq(w.n, CAP);
    for (uint32_t k = 0; k < CAP; k++) {
      uint64_t n = done - CAP + k;
      cr_assert_eq(ev[k].seq, n, "oldest first, consecutive");
      cr_assert_eq(ev[k].a, n);
      cr_assert_eq(ev[k].b, ~n);
    }
  }
  /* A smaller buffer takes the newest events; the lost count stays the ring's. */
  schedrt_event few[5];
  schedrt_event_window w;
  cr_assert_eq(schedrt_reader_events(r, 0, few, 5, &w), 0);
  cr_assert_eq(w.n, 5);
  cr_assert_eq(few[4].seq, done - 1u);
  cr_assert_eq(few[0].seq, done - 5u);
  cr_assert_eq(w.lost, done - CAP);
  schedrt_reader_close(r);
}

Test(events, a_busy_record_is_never_accepted, .init = fixture_setup, .fini = fixture_teardown) {
  write_events(0, 0, 100);
  /* A writer stopped inside event 100 (record 100 % CAP, which held event 36). */
  struct schedrt_shm_event *e = &fixture_ring(&fx, 0)[100 % CAP];
  atomic_store(&e->stamp, (101ull << SCHEDRT_SHM_EV_STAMP_SHIFT) | SCHEDRT_SHM_EV_BUSY);
  atomic_store(&e->a, 12345u);
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  schedrt_event ev[CAP];
  schedrt_event_window w = read_ring(r, 0, ev, CAP);
  cr_assert_eq(w.torn, 1);
  cr_assert_eq(w.written, 100, "the busy event is not counted written");
  /* The window is the run after the busy record: events 37 .. 99. */
  cr_assert_eq(w.n, CAP - 1u);
  cr_assert_eq(ev[0].seq, 37);
  cr_assert_eq(w.lost, 37);
  for (uint32_t k = 0; k < w.n; k++)
    cr_assert_neq(ev[k].a, 12345u);
  /* A stamp that names an event living elsewhere is refused too. */
  atomic_store(&e->stamp, (5ull << SCHEDRT_SHM_EV_STAMP_SHIFT) | (SCHEDRT_EV_PARK << 1));
  w = read_ring(r, 0, ev, CAP);
  cr_assert_eq(w.torn, 1);
  cr_assert_eq(w.n, CAP - 1u);
  schedrt_reader_close(r);
}

Test(events, a_2_5_segment_has_no_events_and_still_opens, .init = fixture_setup, .fini = fixture_teardown) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  /* A 2.5 writer: the two words were its resv, zero. */
  h->layout_minor = 5;
  h->events_off = 0;
  h->events_size = 0;
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), 0);
  cr_assert_eq(schedrt_reader_event_rings(r), 0);
  cr_assert_eq(schedrt_reader_event_cap(r), 0);
  schedrt_event ev[1];
  schedrt_event_window w;
  cr_assert_eq(schedrt_reader_events(r, 0, ev, 1, &w), -ENOENT);
  cr_assert_eq(w.n, 0);
  schedrt_reader_close(r);
}

static struct schedrt_shm_events *fixture_events(void) {
  return (struct schedrt_shm_events *)(void *)(fx.base + fixture_header(&fx)->events_off);
}

/* Sets field of the region header to v, expects open to refuse it, restores it. */
#define EXPECT_CORRUPT(field, v)                                                                             \
  do {                                                                                                       \
    struct schedrt_shm_events *e_ = fixture_events();                                                        \
    uint32_t keep_ = e_->field;                                                                              \
    e_->field = (v);                                                                                         \
    schedrt_reader *r_ = NULL;                                                                               \
    int rc_ = open_fixture(&r_);                                                                             \
    cr_assert_eq(rc_, SCHEDRT_ECORRUPT, #field " = " #v ": %s", schedrt_err_name(rc_));                      \
    cr_assert_null(r_);                                                                                      \
    e_->field = keep_;                                                                                       \
  } while (0)

Test(events, a_corrupt_region_is_refused_at_open, .init = fixture_setup, .fini = fixture_teardown) {
  EXPECT_CORRUPT(nrings, 0);
  EXPECT_CORRUPT(nrings, 4); /* two workers: three rings */
  EXPECT_CORRUPT(ring_cap, 0);
  EXPECT_CORRUPT(ring_cap, 100); /* not a power of two */
  EXPECT_CORRUPT(ring_cap, SCHEDRT_SHM_EV_MAX * 2u);
  EXPECT_CORRUPT(ring_cap, 128); /* the records would pass the stride */
  EXPECT_CORRUPT(rec_size, 16);
  EXPECT_CORRUPT(rec_size, 33);
  EXPECT_CORRUPT(ring_off, 3);
  EXPECT_CORRUPT(ring_off, 0xfffff000u);
  EXPECT_CORRUPT(ring_stride, 64);
  EXPECT_CORRUPT(ring_stride, 0x7ffffff8u);
  EXPECT_CORRUPT(clock, 2);
  struct schedrt_shm_header *h = fixture_header(&fx);
  uint32_t size = h->events_size;
  h->events_size = (uint32_t)fx.size;
  schedrt_reader *r = NULL;
  cr_assert_eq(open_fixture(&r), SCHEDRT_ECORRUPT, "a region past the end of the segment");
  h->events_size = size;
  uint32_t off = h->events_off;
  h->events_off = 100; /* inside the header */
  cr_assert_eq(open_fixture(&r), SCHEDRT_ECORRUPT);
  h->events_off = off;
  cr_assert_eq(open_fixture(&r), 0, "restored: opens");
  schedrt_reader_close(r);
}

Test(events, every_kind_has_a_name) {
#define CHECK_KIND(id, value, name, a, b, help)                                                              \
  cr_assert_str_eq(schedrt_event_kind_name(value), name);                                                    \
  cr_assert_str_eq(schedrt_event_arg_name(value, 0), a);                                                     \
  cr_assert_str_eq(schedrt_event_arg_name(value, 1), b);
  SCHEDRT_EVENT_KINDS(CHECK_KIND)
#undef CHECK_KIND
  cr_assert_null(schedrt_event_kind_name(0));
  cr_assert_null(schedrt_event_kind_name(200));
}

/* ----------------------------------------------- the runtime's own rings */

/* Polled `polls` times (yields in between), then done. */
struct script {
  int polls, left;
  uint64_t id;
};
static schedrt_poll script_task(schedrt_task *self, void *arg) {
  struct script *s = arg;
  s->id = schedrt_task_id(self);
  s->polls++;
  if (--s->left > 0)
    return schedrt_yield(self);
  return SCHEDRT_READY;
}

static schedrt_runtime *make_rt(uint32_t flags) {
  if (!(schedrt_features() & SCHEDRT_FEATURE_METRICS))
    cr_skip_test("metrics compiled out: no segment, no events");
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 1;
  cfg.flags = flags;
  cfg.name = "events";
  schedrt_runtime *rt = NULL;
  int rc = schedrt_runtime_create(&cfg, &rt);
  cr_assert_eq(rc, 0, "create: %s", schedrt_strerror(rc));
  return rt;
}

/* Spawns a task polled n times and joins it; returns its id. */
static uint64_t run_script(schedrt_runtime *rt, int n) {
  struct script s = {.left = n};
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, script_task, &s, &(schedrt_spawn_opts){.name = "script"}, &h), 0);
  cr_assert_eq(schedrt_join(h, 10000000000ull, NULL), 0);
  cr_assert_eq(s.polls, n);
  return s.id;
}

Test(events, the_runtime_records_every_poll_of_a_task_in_order) {
  schedrt_runtime *rt = make_rt(SCHEDRT_CFG_EVENTS);
  uint64_t id = run_script(rt, 7);
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), NULL, &r), 0);
  /* Read after the workers stopped: the rings are then final. */
  schedrt_runtime_destroy(rt);
  cr_assert_eq(schedrt_reader_event_rings(r), 2);
  uint32_t cap = schedrt_reader_event_cap(r);
  cr_assert_eq(cap, SCHEDRT_SHM_EV_DEFAULT);
  schedrt_event *ev = calloc(cap, sizeof(*ev));
  schedrt_event_window w = read_ring(r, 0, ev, cap);
  cr_assert_eq(w.lost, 0);
  int starts = 0, ends = 0, open = 0;
  uint64_t polls = 0, last_t = 0;
  for (uint32_t k = 0; k < w.n; k++) {
    cr_assert_geq(ev[k].time_ns, last_t, "a worker's events are in time order");
    last_t = ev[k].time_ns;
    if (ev[k].kind == SCHEDRT_EV_POLL_START)
      polls++;
    if (ev[k].a != id)
      continue;
    if (ev[k].kind == SCHEDRT_EV_POLL_START) {
      cr_assert_eq(open, 0, "a start after a start");
      open = 1;
      starts++;
    } else if (ev[k].kind == SCHEDRT_EV_POLL_END) {
      cr_assert_eq(open, 1, "an end without a start");
      open = 0;
      ends++;
    }
  }
  cr_assert_eq(starts, 7);
  cr_assert_eq(ends, 7);
  cr_assert_neq(last_t, 0, "times converted");
  /* The spawn, from this thread: in the other threads' ring. */
  schedrt_event_window wo = read_ring(r, 1, ev, cap);
  int spawned = 0;
  for (uint32_t k = 0; k < wo.n; k++)
    spawned += ev[k].kind == SCHEDRT_EV_SPAWN && ev[k].a == id;
  cr_assert_eq(spawned, 1);
  /* Every poll of the worker is in its ring (the slot counts them too). */
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, SCHEDRT_SNAP_NO_LIVENESS, &s), 0);
  cr_assert_eq(s.workers[0].polls, polls);
  schedrt_snapshot_fini(&s);
  free(ev);
  schedrt_reader_close(r);
}

/* ----------------------------------------------------------------- wakes */

/*
 * The waiter's first poll keeps its waker and spawns the waker task, which
 * wakes it idle (a worker's wake of an idle task); its second poll wakes
 * itself while running; its third ends. The sleeper is woken idle by the
 * test's own thread (the other threads' ring).
 */
struct wakes {
  schedrt_runtime *rt;
  schedrt_waker *wk;
  _Atomic(schedrt_waker *) sleeper_wk; /* set by the sleeper's poll, read by the test's thread */
  uint64_t waiter, waker, sleeper;
  int waiter_polls;
  _Atomic int sleeper_polls;
};
static schedrt_poll waker_task(schedrt_task *self, void *arg) {
  struct wakes *p = arg;
  p->waker = schedrt_task_id(self);
  schedrt_wake(p->wk);
  return SCHEDRT_READY;
}
static schedrt_poll waiter_task(schedrt_task *self, void *arg) {
  struct wakes *p = arg;
  p->waiter = schedrt_task_id(self);
  switch (++p->waiter_polls) {
  case 1:
    p->wk = schedrt_waker_get(self);
    cr_assert_eq(schedrt_spawn(p->rt, waker_task, p), 0);
    return SCHEDRT_PENDING;
  case 2: {
    schedrt_waker *me = schedrt_waker_get(self);
    schedrt_wake(me);
    return SCHEDRT_PENDING;
  }
  default:
    return SCHEDRT_READY;
  }
}
static schedrt_poll sleeper_task(schedrt_task *self, void *arg) {
  struct wakes *p = arg;
  p->sleeper = schedrt_task_id(self);
  if (atomic_fetch_add(&p->sleeper_polls, 1) == 0) {
    atomic_store(&p->sleeper_wk, schedrt_waker_get(self));
    return SCHEDRT_PENDING;
  }
  return SCHEDRT_READY;
}

/* WAKE events in ring `ring` of (a, b); b ~0: any waker. */
static int count_wakes(schedrt_reader *r, uint32_t ring, uint64_t a, uint64_t b) {
  schedrt_event ev[CAP * 4];
  schedrt_event_window w = read_ring(r, ring, ev, CAP * 4);
  cr_assert_eq(w.lost, 0);
  int n = 0;
  for (uint32_t k = 0; k < w.n; k++)
    n += ev[k].kind == SCHEDRT_EV_WAKE && ev[k].a == a && (b == ~0ull || ev[k].b == b);
  return n;
}

Test(events, every_wake_that_counts_is_recorded_once_with_its_waker) {
  schedrt_runtime *rt = make_rt(SCHEDRT_CFG_EVENTS);
  struct wakes p = {.rt = rt};
  schedrt_handle *hw = NULL, *hs = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, waiter_task, &p, NULL, &hw), 0);
  cr_assert_eq(schedrt_join(hw, 10000000000ull, NULL), 0);
  cr_assert_eq(p.waiter_polls, 3);
  cr_assert_eq(schedrt_spawn_ex(rt, sleeper_task, &p, NULL, &hs), 0);
  /* A wake that finds the sleeper running or already notified counts for
   * nothing; the one that finds it idle is the one recorded, and the poll
   * it causes ends the task: so exactly one, however many are tried. */
  while (atomic_load(&p.sleeper_polls) < 2) {
    schedrt_waker *wk = atomic_load(&p.sleeper_wk);
    if (wk)
      schedrt_wake_by_ref(wk);
    sched_yield();
  }
  cr_assert_eq(schedrt_join(hs, 10000000000ull, NULL), 0);
  schedrt_waker_drop(atomic_load(&p.sleeper_wk));
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), NULL, &r), 0);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(count_wakes(r, 0, p.waiter, p.waker), 1, "a worker's wake of an idle task, with its waker");
  cr_assert_eq(count_wakes(r, 0, p.waiter, p.waiter), 1, "a task's wake of itself while it runs");
  cr_assert_eq(count_wakes(r, 0, p.waiter, ~0ull), 2, "no other wake of the waiter");
  cr_assert_eq(count_wakes(r, 1, p.sleeper, 0), 1, "a foreign thread's wake, in the other threads' ring");
  cr_assert_eq(count_wakes(r, 0, p.sleeper, ~0ull), 0);
  schedrt_reader_close(r);
}

Test(events, a_small_ring_overflows_with_an_exact_lost_count) {
  setenv("SCHEDRT_EVENTS_SIZE", "100", 1); /* rounded up to 128 */
  schedrt_runtime *rt = make_rt(SCHEDRT_CFG_EVENTS);
  unsetenv("SCHEDRT_EVENTS_SIZE");
  (void)run_script(rt, 500);
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), NULL, &r), 0);
  schedrt_runtime_destroy(rt);
  cr_assert_eq(schedrt_reader_event_cap(r), 128);
  schedrt_event ev[128];
  schedrt_event_window w = read_ring(r, 0, ev, 128);
  /* At least a start and an end per poll. */
  cr_assert_geq(w.written, 1000, "written %llu", (unsigned long long)w.written);
  cr_assert_eq(w.n, 128);
  cr_assert_eq(w.lost, w.written - 128);
  cr_assert_eq(ev[127].seq, w.written - 1);
  schedrt_reader_close(r);
}

Test(events, off_by_default_no_region) {
  schedrt_runtime *rt = make_rt(0);
  schedrt_reader *r = NULL;
  cr_assert_eq(schedrt_reader_open_pid(getpid(), NULL, &r), 0);
  cr_assert_eq(schedrt_reader_event_rings(r), 0);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
}
