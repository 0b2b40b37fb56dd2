/* Snapshots, liveness, listing and gc against fixture segments (no runtime). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/reader.h"
#include "schedrt/shm_util.h"
#include "shm_fixture.h"

static char dir[128];
static struct shm_fixture fx;

static void setup(void) {
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create(dir, 3, 0, 0, 0, &fx), 0);
}

static void teardown(void) {
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

TestSuite(reader_snapshot, .init = setup, .fini = teardown);

/* Writes worker i's half as the runtime would (polls outside the section). */
static void write_worker(uint32_t i, uint32_t state, uint64_t polls, uint64_t base) {
  fixture_write_worker(fixture_slot(&fx, i), state, polls, base);
}

/* The monitor names task `task` for poll `polls` of worker i, seen since `since`. */
static void write_monitor(uint32_t i, uint64_t polls, uint64_t since, uint64_t task) {
  fixture_write_monitor(fixture_slot(&fx, i), polls, since, task, "acceptor", "src/net/server.c", 42);
}

static schedrt_reader *open_fx(uint32_t flags, uint32_t retries) {
  schedrt_reader_opts o = {.flags = flags, .max_retries = retries, .shm_dir = dir};
  schedrt_reader *r = NULL;
  int rc = schedrt_reader_open_path(fx.path, &o, &r);
  cr_assert_eq(rc, 0, "open: %s", schedrt_strerror(rc));
  return r;
}

Test(reader_snapshot, values_round_trip) {
  write_worker(0, SCHEDRT_WSTATE_RUNNING, 1000, 100);
  write_monitor(0, 1000, 5555, 77);
  write_worker(1, SCHEDRT_WSTATE_PARKED, 2000, 200);
  write_monitor(1, 2000, 6666, 78); /* not shown: the worker is parked */
  struct schedrt_shm_global *g = fixture_global(&fx);
  uint64_t odd = schedrt_seq_write_begin(&g->seq);
  SCHEDRT_SEQ_STORE(&g->inject_depth, 5);
  SCHEDRT_SEQ_STORE(&g->alive, 6);
  SCHEDRT_SEQ_STORE(&g->spawned, 7);
  SCHEDRT_SEQ_STORE(&g->remote_schedules, 8);
  SCHEDRT_SEQ_STORE(&g->nworkers, 3);
  schedrt_seq_write_end(&g->seq, odd);
  atomic_store(&fixture_slot(&fx, 0)->os_tid, 4242);

  schedrt_reader *r = open_fx(0, 0);
  const schedrt_segment_info *in = schedrt_reader_info(r);
  cr_assert_str_eq(in->runtime_name, "fixture");
  cr_assert_str_eq(in->runtime_version, "0.1.0");
  cr_assert_eq(in->max_workers, 3);
  cr_assert_eq(in->hist_buckets, SCHEDRT_HIST_BUCKETS);
  cr_assert_eq(in->hist_upper_ns[0], 64);
  cr_assert_eq(in->hist_upper_ns[in->hist_buckets - 1], UINT64_MAX);
  cr_assert_eq(in->ctl_size, 4096);
  cr_assert_eq(in->ctl_off % 4096, 0);

  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.nworkers, 3);
  cr_assert_eq(s.ntorn, 0);
  cr_assert_eq(s.seg_state, SCHEDRT_SHM_STATE_READY);
  cr_assert_eq(s.global.inject_depth, 5);
  cr_assert_eq(s.global.alive, 6);
  cr_assert_eq(s.global.spawned, 7);
  cr_assert_eq(s.global.remote_schedules, 8);
  cr_assert_eq(s.global.nworkers, 3);
  const schedrt_worker_snap *w0 = &s.workers[0], *w1 = &s.workers[1];
  cr_assert_eq(w0->state, SCHEDRT_WSTATE_RUNNING);
  cr_assert_eq(w0->current_task, 77);
  cr_assert_eq(w0->current_since_ns, 5555);
  cr_assert_str_eq(w0->current_name, "acceptor");
  cr_assert_str_eq(w0->current_file, "src/net/server.c");
  cr_assert_eq(w0->current_line, 42);
  cr_assert_eq(w0->polls, 1000);
  cr_assert_eq(w0->lifo, 1);
  cr_assert_eq(w0->local_queue_depth, 101);
  cr_assert_eq(w0->busy_ns, 110);
  cr_assert_eq(w0->os_tid, 4242);
  cr_assert_eq(w1->state, SCHEDRT_WSTATE_PARKED);
  cr_assert_eq(w1->current_task, 0);
  cr_assert_eq(w1->current_since_ns, 0);
  cr_assert_str_eq(w1->current_name, "");
  cr_assert_eq(w1->parks, 207);
  cr_assert_eq(w1->unparks, 208);
  cr_assert_eq(w1->noop_unparks, 209);
  cr_assert_eq(w1->steals, 205);
  cr_assert_eq(w1->steal_ops, 206);

  uint64_t v;
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_polls, 1, &v), 0);
  cr_assert_eq(v, 2000);
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_spawned, 99, &v), 0);
  cr_assert_eq(v, 7);
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_polls, 3, &v), -EINVAL);
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M__COUNT, 0, &v), -EINVAL);
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_poll_time, 0, &v), -ENODATA); /* not taken */
  cr_assert_str_eq(schedrt_worker_state_name(w1->state), "parked");
  cr_assert_str_eq(schedrt_worker_state_name(99), "?");
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(reader_snapshot, descriptors_describe_every_metric) {
  schedrt_reader *r = open_fx(0, 0);
  cr_assert_eq(schedrt_reader_desc_count(r), SCHEDRT_M__COUNT);
  write_worker(2, SCHEDRT_WSTATE_RUNNING, 31337, 0);
  write_monitor(2, 31337, 1, 5);
  for (size_t i = 0; i < schedrt_reader_desc_count(r); i++) {
    const schedrt_reader_desc *d = schedrt_reader_desc_at(r, i);
    cr_assert(d->known && d->known_id == (int)i, "%s", d->name);
    cr_assert_str_eq(d->name, schedrt__metric_defs[i].pub.name);
    cr_assert_str_eq(d->help, schedrt__metric_defs[i].pub.help);
  }
  cr_assert_null(schedrt_reader_desc_at(r, SCHEDRT_M__COUNT));
  uint64_t v;
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_polls, 2, 0, &v), 0);
  cr_assert_eq(v, 31337);
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_state, 2, 0, &v), 0); /* a 4-byte field */
  cr_assert_eq(v, SCHEDRT_WSTATE_RUNNING);
  /* current_task's descriptor points into the monitor half. */
  cr_assert_geq(schedrt_reader_desc_at(r, SCHEDRT_M_current_task)->offset, 128);
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_current_task, 2, 0, &v), 0);
  cr_assert_eq(v, 5);
  atomic_store(&fixture_hist(&fx, 1, 1)[7], 12);
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_sched_latency, 1, 7, &v), 0);
  cr_assert_eq(v, 12);
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_sched_latency, 1, SCHEDRT_HIST_BUCKETS, &v), -EINVAL);
  cr_assert_eq(schedrt_snapshot_raw(r, SCHEDRT_M_polls, 3, 0, &v), -EINVAL);
  schedrt_reader_close(r);
}

Test(reader_snapshot, histograms) {
  for (uint32_t b = 0; b < SCHEDRT_HIST_BUCKETS; b++) {
    atomic_store(&fixture_hist(&fx, 1, 0)[b], b);
    atomic_store(&fixture_hist(&fx, 1, 1)[b], 2 * b);
  }
  schedrt_reader *r = open_fx(0, 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS, &s), 0);
  const uint64_t *pt = schedrt_snapshot_hist(&s, 1, 0), *lat = schedrt_snapshot_hist(&s, 1, 1);
  cr_assert(pt && lat);
  cr_assert_eq(pt[10], 10);
  cr_assert_eq(lat[10], 20);
  cr_assert_null(schedrt_snapshot_hist(&s, 3, 0));
  cr_assert_null(schedrt_snapshot_hist(&s, 1, 2));
  uint64_t v, want = (SCHEDRT_HIST_BUCKETS - 1) * SCHEDRT_HIST_BUCKETS / 2;
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_poll_time, 1, &v), 0);
  cr_assert_eq(v, want);
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_sched_latency, 1, &v), 0);
  cr_assert_eq(v, 2 * want);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_null(schedrt_snapshot_hist(&s, 1, 0));
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

/* A 2.0 writer's 256-byte slots: the reader walks them at the segment's stride, not its own. */
Test(reader_snapshot, older_slots_read_at_their_stride) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  h->layout_minor = 0;
  h->slot_stride = 256;
  /* A 2.0 writer describes no metric past its 256-byte slot: drop those. */
  unsigned char *descs = (unsigned char *)h + h->desc_off;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < h->desc_count; i++) {
    struct schedrt_shm_desc d;
    memcpy(&d, descs + (size_t)i * h->desc_size, sizeof(d));
    if (d.region == SCHEDRT_REGION_WSLOT && d.offset >= 256)
      continue;
    memmove(descs + (size_t)kept++ * h->desc_size, descs + (size_t)i * h->desc_size, h->desc_size);
  }
  cr_assert_lt(kept, h->desc_count, "the list has worker metrics past 2.0");
  h->desc_count = kept;
  for (uint32_t i = 0; i < 3; i++)
    fixture_write_worker((struct schedrt_shm_wslot *)(void *)(fx.base + fx.geo.slot_off + (size_t)i * 256u),
                         SCHEDRT_WSTATE_PARKED, 10 + i, 100 * i);
  schedrt_reader *r = open_fx(0, 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  for (uint32_t i = 0; i < 3; i++) {
    cr_assert_eq(s.workers[i].polls, 10 + i, "worker %u", i);
    cr_assert_eq(s.workers[i].busy_ns, 100 * i + 10, "worker %u", i);
    cr_assert_eq(s.workers[i].state, SCHEDRT_WSTATE_PARKED);
  }
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(reader_snapshot, torn_slot_is_reported_not_waited_for) {
  write_worker(0, SCHEDRT_WSTATE_RUNNING, 1, 0);
  write_monitor(0, 1, 10, 1);
  write_worker(1, SCHEDRT_WSTATE_RUNNING, 2, 0);
  /* A writer that died inside its section: the sequence stays odd forever. */
  atomic_store(&fixture_slot(&fx, 1)->seq, 41);
  schedrt_reader *r = open_fx(0, 20);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), SCHEDRT_ETORN);
  cr_assert_eq(s.ntorn, 1);
  cr_assert_eq(s.workers[1].torn, 1);
  cr_assert_eq(s.workers[1].polls, 0);
  cr_assert_eq(s.workers[0].torn, 0);
  cr_assert_eq(s.workers[0].current_task, 1);
  cr_assert_geq(s.retries, 20);
  uint64_t v;
  cr_assert_eq(schedrt_snapshot_value(&s, SCHEDRT_M_polls, 1, &v), -ENODATA);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(reader_snapshot, since_from_the_monitor_or_exact_with_timing) {
  write_worker(0, SCHEDRT_WSTATE_RUNNING, 500, 0);
  write_worker(1, SCHEDRT_WSTATE_RUNNING, 600, 0);
  write_worker(2, SCHEDRT_WSTATE_RUNNING, 700, 0);
  write_monitor(0, 500, 123456789, 9); /* the monitor named poll 500: still in progress */
  write_monitor(1, 599, 5, 10);        /* an earlier poll: says nothing about this one */
  write_monitor(2, 700, 6, 0);         /* seen, not named (yet): no task */

  schedrt_reader *r = open_fx(0, 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[0].current_task, 9);
  cr_assert_eq(s.workers[0].current_since_ns, 123456789);
  cr_assert_eq(s.workers[0].since_resolution_ns, 100u * 1000000u);
  cr_assert_eq(s.workers[1].current_task, 0);
  cr_assert_eq(s.workers[1].current_since_ns, 0);
  cr_assert_str_eq(s.workers[1].current_name, "");
  cr_assert_eq(s.workers[2].current_task, 0);
  cr_assert_eq(s.workers[2].current_since_ns, 0);

  /* The next poll began: the monitor's naming no longer applies. */
  fixture_write_polls(fixture_slot(&fx, 0), 501);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[0].current_task, 0);
  cr_assert_eq(s.workers[0].current_since_ns, 0);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);

  /* With per-poll timing the worker's own task and start time win, exactly;
   * the name comes along when the monitor named the same task. */
  fixture_header(&fx)->features |= SCHEDRT_SHM_F_TIMING;
  struct schedrt_shm_wslot *s1 = fixture_slot(&fx, 1), *s2 = fixture_slot(&fx, 2);
  uint64_t odd = schedrt_seq_write_begin(&s1->seq);
  SCHEDRT_SEQ_STORE(&s1->poll_task, 11);
  SCHEDRT_SEQ_STORE(&s1->poll_start_ns, 777);
  schedrt_seq_write_end(&s1->seq, odd);
  odd = schedrt_seq_write_begin(&s2->seq);
  SCHEDRT_SEQ_STORE(&s2->poll_task, 12);
  SCHEDRT_SEQ_STORE(&s2->poll_start_ns, 888);
  schedrt_seq_write_end(&s2->seq, odd);
  write_monitor(2, 700, 900, 12);
  r = open_fx(0, 0);
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[1].current_task, 11);
  cr_assert_eq(s.workers[1].current_since_ns, 777);
  cr_assert_eq(s.workers[1].since_resolution_ns, 0);
  cr_assert_str_eq(s.workers[1].current_name, "");
  cr_assert_eq(s.workers[2].current_task, 12);
  cr_assert_eq(s.workers[2].current_since_ns, 888);
  cr_assert_eq(s.workers[2].since_resolution_ns, 0);
  cr_assert_str_eq(s.workers[2].current_name, "acceptor");
  cr_assert_eq(s.workers[2].current_line, 42);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(reader_snapshot, task_strings_are_clamped_and_sanitised) {
  write_worker(0, SCHEDRT_WSTATE_RUNNING, 3, 0);
  /* 24 name bytes without a NUL, a control character, a file that fills its 56 bytes. */
  fixture_write_monitor(fixture_slot(&fx, 0), 3, 1, 99, "abcdefghijklmnopqrstuvwx", "a\033[2Jb", 7);
  schedrt_reader *r = open_fx(0, 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_str_eq(s.workers[0].current_name, "abcdefghijklmnopqrstuvwx");
  cr_assert_str_eq(s.workers[0].current_file, "a?[2Jb");
  char longfile[80];
  memset(longfile, 'f', sizeof(longfile) - 1);
  longfile[sizeof(longfile) - 1] = '\0';
  fixture_write_monitor(fixture_slot(&fx, 0), 3, 1, 99, "", longfile, 7);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(strlen(s.workers[0].current_file), SCHEDRT_SHM_TASK_FILE_LEN);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

Test(reader_snapshot, busy_time_includes_the_running_span) {
  struct schedrt_shm_wslot *sl = fixture_slot(&fx, 0);
  uint64_t now = fixture_now_ns();
  uint64_t odd = schedrt_seq_write_begin(&sl->seq);
  SCHEDRT_SEQ_STORE(&sl->busy_ns, 1000);
  SCHEDRT_SEQ_STORE(&sl->active_since_ns, now - 5000000);
  schedrt_seq_write_end(&sl->seq, odd);
  schedrt_reader *r = open_fx(0, 0);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[0].busy_ns, 1000);
  cr_assert_geq(s.workers[0].busy_ns_live, 1000 + 5000000);
  cr_assert_eq(s.workers[1].busy_ns_live, 0);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}

static schedrt_liveness take_liveness(schedrt_reader *r) {
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  int rc = schedrt_snapshot_take(r, 0, &s);
  cr_assert(rc == 0);
  schedrt_liveness l = s.liveness;
  schedrt_snapshot_fini(&s);
  return l;
}

Test(reader_snapshot, live_then_hung_when_the_heartbeat_stops) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  h->heartbeat_period_ms = 10;
  atomic_store(&h->heartbeat_mono_ns, fixture_now_ns());
  schedrt_reader *r = open_fx(0, 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_LIVE);
  /* No beat for more than 3 periods on our clock: HUNG. Waiting is the
   * point here (time must pass); poll with a deadline. */
  schedrt_liveness l = SCHEDRT_LIVENESS_LIVE;
  uint64_t deadline = fixture_now_ns() + 2000000000ull;
  while ((l = take_liveness(r)) == SCHEDRT_LIVENESS_LIVE && fixture_now_ns() < deadline)
    nanosleep(&(struct timespec){0, 5000000}, NULL);
  cr_assert_eq(l, SCHEDRT_LIVENESS_HUNG);
  cr_assert_eq(schedrt_liveness_error(l), SCHEDRT_EHUNG);
  /* It beats again: LIVE. */
  atomic_store(&h->heartbeat_mono_ns, fixture_now_ns());
  atomic_fetch_add(&h->heartbeat_seq, 1);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_LIVE);
  schedrt_reader_close(r);
}

Test(reader_snapshot, hung_at_first_sight_from_the_heartbeat_age) {
  atomic_store(&fixture_header(&fx)->heartbeat_mono_ns, fixture_now_ns() - 10ull * 1000000000u);
  schedrt_reader *r = open_fx(0, 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_HUNG);
  schedrt_reader_close(r);
}

Test(reader_snapshot, exiting) {
  atomic_store(&fixture_header(&fx)->state, SCHEDRT_SHM_STATE_EXITING);
  schedrt_reader *r = open_fx(0, 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_EXITING);
  schedrt_reader_close(r);
}

Test(reader_snapshot, stale_when_the_process_is_gone_or_the_pid_reused) {
  struct shm_fixture dead, reused;
  cr_assert_eq(fixture_segment_create(dir, 1, fixture_dead_pid(), 4242, 0, &dead), 0);
  uint64_t st;
  cr_assert_eq(schedrt__proc_starttime(getpid(), &st), 0);
  cr_assert_eq(fixture_segment_create(dir, 1, getpid(), st + 1, 0, &reused), 0);
  schedrt_reader *r;
  cr_assert_eq(schedrt_reader_open_path(dead.path, NULL, &r), 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_STALE);
  schedrt_liveness l;
  cr_assert_eq(schedrt_reader_liveness(r, &l), 0);
  cr_assert_eq(l, SCHEDRT_LIVENESS_STALE);
  cr_assert_eq(schedrt_liveness_error(l), SCHEDRT_ESTALE);
  schedrt_reader_close(r);
  cr_assert_eq(schedrt_reader_open_path(reused.path, NULL, &r), 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_STALE);
  schedrt_reader_close(r);
  /* A lock holder means someone is alive behind it (another pid namespace,
   * say), whatever the pid says. */
  cr_assert_eq(flock(dead.fd, LOCK_SH), 0);
  cr_assert_eq(schedrt_reader_open_path(dead.path, NULL, &r), 0);
  cr_assert_eq(take_liveness(r), SCHEDRT_LIVENESS_LIVE);
  schedrt_reader_close(r);
  fixture_segment_close(&dead);
  fixture_segment_close(&reused);
}

Test(reader_snapshot, list_and_gc) {
  struct shm_fixture dead, locked, broken;
  pid_t gone = fixture_dead_pid();
  cr_assert_eq(fixture_segment_create(dir, 1, gone, 4242, 0, &dead), 0);
  cr_assert_eq(fixture_segment_create(dir, 1, gone, 4242, 1, &locked), 0);
  cr_assert_eq(flock(locked.fd, LOCK_SH), 0);
  cr_assert_eq(fixture_segment_create(dir, 2, 0, 0, 3, &broken), 0);
  memcpy(broken.base, "GARBAGE!", 8);
  /* Not ours to list or touch: a name of another form. */
  int fd = openat(open(dir, O_RDONLY | O_DIRECTORY), "unrelated", O_CREAT | O_WRONLY, 0600);
  cr_assert_geq(fd, 0);
  close(fd);

  schedrt_segment_entry *list;
  size_t n;
  cr_assert_eq(schedrt_reader_list(dir, &list, &n), 0);
  cr_assert_eq(n, 4);
  int seen_live = 0, seen_stale = 0, seen_bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      cr_assert_leq(list[i - 1].pid, list[i].pid, "sorted by pid");
    if (list[i].error == SCHEDRT_EMAGIC)
      seen_bad++;
    else if (list[i].error == 0 && list[i].liveness == SCHEDRT_LIVENESS_STALE)
      seen_stale++;
    else if (list[i].error == 0 && list[i].liveness == SCHEDRT_LIVENESS_LIVE)
      seen_live++;
    if (list[i].error == 0)
      cr_assert_str_eq(list[i].runtime_name, "fixture");
  }
  cr_assert_eq(seen_bad, 1);
  cr_assert_eq(seen_stale, 1);
  cr_assert_eq(seen_live, 2); /* ours (the fixture's) and the locked one */
  schedrt_segment_list_free(list);

  unsigned removed = 99;
  cr_assert_eq(schedrt_reader_gc(dir, &removed), 0);
  cr_assert_eq(removed, 1);
  cr_assert_neq(access(dead.path, F_OK), 0);
  cr_assert_eq(access(locked.path, F_OK), 0);
  cr_assert_eq(access(fx.path, F_OK), 0);
  cr_assert_eq(access(broken.path, F_OK), 0); /* our own live pid: kept */
  fixture_segment_close(&dead);
  fixture_segment_close(&locked);
  fixture_segment_close(&broken);
}

/* Creates an empty dump-like object dir/schedrt.<uid>.<pid>.<start>.dump.<n> with mode. */
static void make_dump_object(pid_t pid, uint64_t start, unsigned n, mode_t mode, char *path, size_t size) {
  snprintf(path, size, "%s/schedrt.%u.%u.%llu.dump.%u", dir, (unsigned)geteuid(), (unsigned)pid,
           (unsigned long long)start, n);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(fchmod(fd, mode), 0);
  close(fd);
}

Test(reader_snapshot, gc_removes_dump_objects_of_dead_processes_only) {
  uint64_t st;
  cr_assert_eq(schedrt__proc_starttime(getpid(), &st), 0);
  pid_t gone = fixture_dead_pid();
  char live[600], dead[600], dead_unreadable[600];
  make_dump_object(getpid(), st, 0, 0600, live, sizeof(live));
  make_dump_object(gone, 4242, 1, 0600, dead, sizeof(dead));
  make_dump_object(gone, 4242, 2, 0000, dead_unreadable, sizeof(dead_unreadable));
  schedrt_segment_entry *list;
  size_t n;
  cr_assert_eq(schedrt_reader_list(dir, &list, &n), 0);
  int dumps = 0;
  for (size_t i = 0; i < n; i++)
    dumps += list[i].is_dump;
  cr_assert_eq(dumps, 3);
  schedrt_segment_list_free(list);
  unsigned removed = 0;
  cr_assert_eq(schedrt_reader_gc(dir, &removed), 0);
  cr_assert_eq(removed, 2);
  cr_assert_eq(access(live, F_OK), 0);
  cr_assert_neq(access(dead, F_OK), 0);
  cr_assert_neq(access(dead_unreadable, F_OK), 0);
}

Test(reader_snapshot, gc_never_touches_another_users_segment) {
  if (geteuid() != 0)
    cr_skip_test("needs root to chown");
  struct shm_fixture other;
  cr_assert_eq(fixture_segment_create(dir, 1, fixture_dead_pid(), 4242, 0, &other), 0);
  /* Renamed and chowned to another uid: stale by every other measure. */
  char to[600];
  snprintf(to, sizeof(to), "%s/schedrt.12345.%u.4242.0", dir, (unsigned)fixture_header(&other)->pid);
  cr_assert_eq(rename(other.path, to), 0);
  cr_assert_eq(fchown(other.fd, 12345, 12345), 0);
  unsigned removed = 99;
  cr_assert_eq(schedrt_reader_gc(dir, &removed), 0);
  cr_assert_eq(removed, 0);
  cr_assert_eq(access(to, F_OK), 0);
  fixture_segment_close(&other);
}

/* Layout 2.4's long-poll fields: the header's threshold and sampling period reach the reader's info
 * (only together), and the slot's long_polls and last_long_poll_ns its snapshots; a 2.3 writer left
 * those bytes zero: no threshold, counts of 0. */
Test(reader_snapshot, long_poll_fields_of_2_4_and_older) {
  struct schedrt_shm_header *h = fixture_header(&fx);
  h->long_poll_ms = 10;
  h->long_poll_watch_us = 2000;
  struct schedrt_shm_wslot *sl = fixture_slot(&fx, 1);
  write_worker(1, SCHEDRT_WSTATE_RUNNING, 7, 0);
  atomic_store(SCHEDRT_SHM_WSLOT_AT(sl, SCHEDRT_SHM_WOFF_long_polls, uint64_t), 3);
  atomic_store(SCHEDRT_SHM_WSLOT_AT(sl, SCHEDRT_SHM_WOFF_last_long_poll_ns, uint64_t), 52000000);
  schedrt_reader *r = open_fx(0, 0);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_ms, 10);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_watch_us, 2000);
  schedrt_snapshot s;
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[1].long_polls, 3);
  cr_assert_eq(s.workers[1].last_long_poll_ns, 52000000);
  cr_assert_eq(s.workers[0].long_polls, 0);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);

  h->long_poll_watch_us = 0; /* half a pair means nothing */
  r = open_fx(0, 0);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_ms, 0);
  schedrt_reader_close(r);

  h->layout_minor = 3; /* what a 2.3 writer leaves: zeros */
  h->long_poll_ms = 0;
  atomic_store(SCHEDRT_SHM_WSLOT_AT(sl, SCHEDRT_SHM_WOFF_long_polls, uint64_t), 0);
  atomic_store(SCHEDRT_SHM_WSLOT_AT(sl, SCHEDRT_SHM_WOFF_last_long_poll_ns, uint64_t), 0);
  r = open_fx(0, 0);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_ms, 0);
  cr_assert_eq(schedrt_reader_info(r)->long_poll_watch_us, 0);
  cr_assert_eq(schedrt_snapshot_init(r, &s), 0);
  cr_assert_eq(schedrt_snapshot_take(r, 0, &s), 0);
  cr_assert_eq(s.workers[1].long_polls, 0);
  cr_assert_eq(s.workers[1].polls, 7);
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
}
