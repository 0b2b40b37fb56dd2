/* The segment layout, the metric list, names, histograms and the seqlock (common/, no runtime). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/shm_util.h"
#include "shm_fixture.h"

Test(metrics_layout, histogram_bucket_bounds_agree_with_bucket_function) {
  cr_assert_eq(schedrt_hist_bucket(0), 0);
  cr_assert_eq(schedrt_hist_bucket(63), 0);
  cr_assert_eq(schedrt_hist_upper(0), 64);
  for (uint32_t b = 0; b + 1 < SCHEDRT_HIST_BUCKETS; b++) {
    uint64_t up = schedrt_hist_upper(b);
    cr_assert_gt(up, b ? schedrt_hist_upper(b - 1) : 0, "bounds increase at %u", b);
    cr_assert_eq(schedrt_hist_bucket(up - 1), b, "last value of bucket %u", b);
    cr_assert_eq(schedrt_hist_bucket(up), b + 1, "first value of bucket %u", b + 1);
  }
  cr_assert_eq(schedrt_hist_upper(SCHEDRT_HIST_BUCKETS - 1), UINT64_MAX);
  cr_assert_eq(schedrt_hist_bucket(UINT64_MAX), SCHEDRT_HIST_BUCKETS - 1);
  cr_assert_eq(schedrt_hist_upper(SCHEDRT_HIST_BUCKETS - 2), 1ull << 36);
}

Test(metrics_layout, geometry_regions_fit_and_align) {
  uint32_t counts[] = {1, 2, 3, 64, 1000, SCHEDRT_SHM_MAX_WORKERS};
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    struct schedrt_shm_geometry g;
    cr_assert_eq(schedrt_shm_geometry(counts[i], SCHEDRT_SHM_SITES_DEFAULT, 4096, &g), 0);
    cr_assert_geq(g.desc_off, SCHEDRT_SHM_BOUNDS_OFF + SCHEDRT_HIST_BUCKETS * 8);
    cr_assert_eq(g.slot_off % 128, 0);
    cr_assert_geq(g.slot_off, g.desc_off + g.desc_count * SCHEDRT_SHM_DESC_SIZE);
    cr_assert_eq(g.hist_off, g.slot_off + counts[i] * SCHEDRT_SHM_SLOT_STRIDE);
    cr_assert_eq(g.sites_off % 128, 0);
    cr_assert_geq(g.sites_off, g.hist_off + g.hist_size);
    cr_assert_eq(g.site_desc_off, SCHEDRT_SHM_ALIGN);
    cr_assert_eq(g.site_ctr_off, g.site_desc_off + SCHEDRT_SHM_SITES_DEFAULT * SCHEDRT_SHM_SITE_DESC_SIZE);
    cr_assert_eq(g.site_block_stride % 128, 0);
    cr_assert_geq(g.site_block_stride, SCHEDRT_SHM_SITES_DEFAULT * SCHEDRT_SHM_SITE_CTR_SIZE);
    cr_assert_eq(g.sites_size, g.site_ctr_off + (counts[i] + 1) * g.site_block_stride);
    cr_assert_eq(g.ctl_off % 4096, 0);
    cr_assert_geq(g.ctl_off, g.sites_off + g.sites_size);
    cr_assert_eq(g.total_size, (uint64_t)g.ctl_off + 4096);
    cr_assert_leq(g.total_size, SCHEDRT_SHM_MAX_SIZE);
  }
  struct schedrt_shm_geometry g;
  cr_assert_eq(schedrt_shm_geometry(0, SCHEDRT_SHM_SITES_DEFAULT, 4096, &g), -EINVAL);
  cr_assert_eq(schedrt_shm_geometry(SCHEDRT_SHM_MAX_WORKERS + 1, SCHEDRT_SHM_SITES_DEFAULT, 4096, &g),
               -EINVAL);
  cr_assert_eq(schedrt_shm_geometry(4, SCHEDRT_SHM_SITES_DEFAULT, 3000, &g), -EINVAL);
  cr_assert_eq(schedrt_shm_geometry(4, 0, 4096, &g), -EINVAL);
  cr_assert_eq(schedrt_shm_geometry(4, SCHEDRT_SHM_MAX_SITES + 1, 4096, &g), -EINVAL);
  /* The most sites for the most workers would pass the size limit: the
   * runtime then halves the table (metrics_segment.c). */
  cr_assert_eq(schedrt_shm_geometry(SCHEDRT_SHM_MAX_WORKERS, SCHEDRT_SHM_MAX_SITES, 4096, &g), -E2BIG);
}

/* Layout 2.6: the event rings between the sites and the control page. */
Test(metrics_layout, geometry_event_rings_fit_and_align) {
  uint32_t counts[] = {1, 2, 64};
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    struct schedrt_shm_geometry g, off;
    cr_assert_eq(schedrt_shm_geometry_ev(counts[i], SCHEDRT_SHM_SITES_DEFAULT, 4096, 4096, &g), 0);
    cr_assert_eq(schedrt_shm_geometry(counts[i], SCHEDRT_SHM_SITES_DEFAULT, 4096, &off), 0);
    cr_assert_eq(off.events_off, 0);
    cr_assert_eq(off.events_size, 0);
    cr_assert_eq(g.sites_off, off.sites_off, "nothing before the rings moved");
    cr_assert_eq(g.events_off, g.sites_off + g.sites_size);
    cr_assert_eq(g.events_off % 128, 0);
    cr_assert_eq(g.ev_ring_stride,
                 schedrt_shm_align_up(SCHEDRT_SHM_EV_RING_HDR_SIZE + 4096 * SCHEDRT_SHM_EV_REC_SIZE, 128));
    cr_assert_eq(g.events_size, SCHEDRT_SHM_EVENTS_HDR_SIZE + (counts[i] + 1) * g.ev_ring_stride);
    cr_assert_geq(g.ctl_off, g.events_off + g.events_size);
    cr_assert_eq(g.ctl_off % 4096, 0);
  }
  struct schedrt_shm_geometry g;
  cr_assert_eq(schedrt_shm_geometry_ev(4, SCHEDRT_SHM_SITES_DEFAULT, 100, 4096, &g), -EINVAL, "power of two");
  cr_assert_eq(schedrt_shm_geometry_ev(4, SCHEDRT_SHM_SITES_DEFAULT, 32, 4096, &g), -EINVAL, "below the min");
  cr_assert_eq(schedrt_shm_geometry_ev(4, SCHEDRT_SHM_SITES_DEFAULT, SCHEDRT_SHM_EV_MAX * 2, 4096, &g),
               -EINVAL);
  /* 1024 workers of the largest rings pass the size limit: the runtime
   * then shortens them (metrics_segment.c). */
  cr_assert_eq(schedrt_shm_geometry_ev(1024, SCHEDRT_SHM_SITES_DEFAULT, SCHEDRT_SHM_EV_MAX, 4096, &g),
               -E2BIG);
}

Test(metrics_layout, names_round_trip_and_reject_garbage) {
  char buf[SCHEDRT_SHM_NAME_MAX];
  struct schedrt__shm_name nm;
  cr_assert_eq(schedrt__shm_name_format(buf, sizeof(buf), 1000, 4242, 987654321ull, 3), 0);
  cr_assert_str_eq(buf, "schedrt.1000.4242.987654321.3");
  cr_assert_eq(schedrt__shm_name_parse(buf, &nm), 0);
  cr_assert(nm.uid == 1000 && nm.pid == 4242 && nm.starttime == 987654321ull && nm.index == 3 && !nm.is_dump);
  cr_assert_eq(schedrt__shm_name_parse("schedrt.0.1.2.dump.7", &nm), 0);
  cr_assert(nm.is_dump && nm.index == 7);
  cr_assert_eq(schedrt__shm_name_parse("schedrt.0.1.0.0", &nm), 0);
  const char *bad[] = {"schedrt.1.2.3",
                       "schedrt.01.2.3.4",
                       "schedrt.1.2.3.4x",
                       "schedrt.-1.2.3.4",
                       "schedrt.4294967296.2.3.4",
                       "schedrt..2.3.4",
                       "sched.1.2.3.4",
                       "schedrt.1.2.3.4.",
                       "schedrt.1.2.3.dump",
                       "schedrt.1.2.3.dump.x",
                       "",
                       "schedrt.1.2.18446744073709551616.0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(schedrt__shm_name_parse(bad[i], &nm), -EINVAL, "accepted \"%s\"", bad[i]);
  cr_assert_eq(schedrt__shm_name_format(buf, 10, 1000, 4242, 1, 0), -ENAMETOOLONG);
}

Test(metrics_layout, metric_table_matches_the_list) {
  cr_assert_eq(SCHEDRT_M__COUNT, SCHEDRT_M__WSLOT_COUNT + SCHEDRT_M__GLOBAL_COUNT + SCHEDRT_M__HIST_COUNT);
  for (int i = 0; i < SCHEDRT_M__COUNT; i++) {
    const struct schedrt__metric_def *d = &schedrt__metric_defs[i];
    cr_assert(d->pub.name && d->pub.unit && d->pub.help);
    cr_assert_lt(strlen(d->pub.name), 32);
    cr_assert_lt(strlen(d->pub.help), 64);
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(d->pub.name, schedrt__metric_defs[j].pub.name);
    if (i < SCHEDRT_M__GLOBAL_FIRST)
      cr_assert(d->region == SCHEDRT_REGION_WSLOT && d->pub.scope == SCHEDRT_SCOPE_WORKER);
    else if (i < SCHEDRT_M__HIST_FIRST)
      cr_assert(d->region == SCHEDRT_REGION_GLOBAL && d->pub.scope == SCHEDRT_SCOPE_GLOBAL);
    else
      cr_assert(d->region == SCHEDRT_REGION_HIST && d->pub.kind == SCHEDRT_METRIC_HISTOGRAM &&
                d->count == SCHEDRT_HIST_BUCKETS);
  }
  cr_assert_str_eq(schedrt__metric_defs[SCHEDRT_M_polls].pub.name, "polls");
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_polls].offset, offsetof(struct schedrt_shm_wslot, polls));
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_inject_depth].offset,
               offsetof(struct schedrt_shm_global, inject_depth));
  /* 2.4: the monitor's long-poll metrics in the slot's third part (docs/shm-protocol.md 3.4). */
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_long_polls].offset, 264u);
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_long_polls].pub.kind, SCHEDRT_METRIC_COUNTER);
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_last_long_poll_ns].offset, 272u);
  cr_assert_eq(schedrt__metric_defs[SCHEDRT_M_last_long_poll_ns].pub.kind, SCHEDRT_METRIC_GAUGE);
  cr_assert_eq(offsetof(struct schedrt_shm_header, long_poll_ms), 292u);
  cr_assert_eq(offsetof(struct schedrt_shm_header, long_poll_watch_us), 300u);
}

Test(metrics_layout, formatted_header_is_self_describing) {
  char dir[128];
  struct shm_fixture fx;
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create(dir, 3, 0, 0, 0, &fx), 0);
  struct schedrt_shm_header *h = fixture_header(&fx);
  cr_assert_eq(memcmp(h->magic, "SCHEDRT\0", 8), 0);
  cr_assert_eq(h->byte_order, 0x01020304u);
  cr_assert_eq(h->layout_major, SCHEDRT_SHM_MAJOR);
  cr_assert_eq(h->layout_minor, 6);
  cr_assert_eq(h->events_off, 0, "events off: no region");
  cr_assert_eq(h->events_size, 0);
  cr_assert_eq(h->desc_count, SCHEDRT_M__COUNT);
  cr_assert_eq(h->hist_buckets, SCHEDRT_HIST_BUCKETS);
  cr_assert_eq(atomic_load(&h->state), SCHEDRT_SHM_STATE_READY);
  const struct schedrt_shm_desc *d = (const void *)(fx.base + h->desc_off);
  for (uint32_t i = 0; i < h->desc_count; i++)
    cr_assert_str_eq(d[i].name, schedrt__metric_defs[i].pub.name);
  const uint64_t *b = (const void *)(fx.base + h->hist_bounds_off);
  for (uint32_t i = 0; i < h->hist_buckets; i++)
    cr_assert_eq(b[i], schedrt_hist_upper(i));
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

Test(metrics_layout, seqlock_sections_read_back) {
  struct {
    _Atomic uint64_t seq, a, b;
  } blk = {0};
  uint64_t odd = schedrt_seq_write_begin(&blk.seq);
  cr_assert_eq(odd & 1, 1);
  /* A reader inside the section must retry. */
  uint64_t s0 = schedrt_seq_read_begin(&blk.seq);
  cr_assert(schedrt_seq_read_retry(&blk.seq, s0));
  SCHEDRT_SEQ_STORE(&blk.a, 5);
  SCHEDRT_SEQ_STORE(&blk.b, 10);
  schedrt_seq_write_end(&blk.seq, odd);
  s0 = schedrt_seq_read_begin(&blk.seq);
  uint64_t a = SCHEDRT_SEQ_LOAD(&blk.a), b = SCHEDRT_SEQ_LOAD(&blk.b);
  cr_assert_not(schedrt_seq_read_retry(&blk.seq, s0));
  cr_assert(a == 5 && b == 10 && s0 == 2);
}

/* The one read loop: a closed section reads in one attempt; one left open gives up after exactly the
 * attempts asked for, the body run once per attempt. */
Test(metrics_layout, seqlock_read_loop) {
  struct {
    _Atomic uint64_t seq, a;
  } blk = {0};
  uint64_t a = 0;
  schedrt_seq_reader rd;
  int bodies = 0;
  SCHEDRT_SEQ_READ(&rd, &blk.seq, 5) {
    a = SCHEDRT_SEQ_LOAD(&blk.a);
    bodies++;
  }
  cr_assert(rd.ok && bodies == 1 && schedrt_seq_reader_retries(&rd) == 0 && a == 0);

  uint64_t odd = schedrt_seq_write_begin(&blk.seq);
  bodies = 0;
  SCHEDRT_SEQ_READ(&rd, &blk.seq, 5) {
    a = SCHEDRT_SEQ_LOAD(&blk.a);
    bodies++;
  }
  cr_assert(!rd.ok && bodies == 5 && schedrt_seq_reader_retries(&rd) == 5, "gave up after %d", bodies);
  SCHEDRT_SEQ_STORE(&blk.a, 9);
  schedrt_seq_write_end(&blk.seq, odd);
  SCHEDRT_SEQ_READ(&rd, &blk.seq, 5) { a = SCHEDRT_SEQ_LOAD(&blk.a); }
  cr_assert(rd.ok && a == 9);
}

/* Appending a metric is one line in its list: nothing else checks that its offset is free, so this does. */
Test(metrics_layout, metric_offsets_are_disjoint_and_inside_their_region) {
  for (size_t i = 0; i < SCHEDRT_M__COUNT; i++) {
    const struct schedrt__metric_def *a = &schedrt__metric_defs[i];
    uint32_t size = a->region == SCHEDRT_REGION_WSLOT    ? SCHEDRT_SHM_SLOT_STRIDE
                    : a->region == SCHEDRT_REGION_GLOBAL ? SCHEDRT_SHM_GLOBAL_SIZE
                                                         : SCHEDRT_SHM_HIST_STRIDE;
    uint32_t end = a->offset + a->count * a->width;
    cr_assert(a->offset % a->width == 0 && end <= size, "%s at %u", a->pub.name, a->offset);
    /* Offset 0 of the slot and of the global area is the sequence. */
    cr_assert(a->region == SCHEDRT_REGION_HIST || a->offset >= 8, "%s on a sequence", a->pub.name);
    for (size_t j = i + 1; j < SCHEDRT_M__COUNT; j++) {
      const struct schedrt__metric_def *b = &schedrt__metric_defs[j];
      if (b->region != a->region)
        continue;
      cr_assert(b->offset >= end || b->offset + b->count * b->width <= a->offset, "%s and %s overlap",
                a->pub.name, b->pub.name);
    }
  }
}

Test(metrics_layout, process_identity) {
  uint64_t st = 0;
  cr_assert_eq(schedrt__proc_starttime(getpid(), &st), 0);
  cr_assert_gt(st, 0);
  cr_assert_eq(schedrt__proc_check((uint32_t)getpid(), st), SCHEDRT_PROC_ALIVE);
  cr_assert_eq(schedrt__proc_check((uint32_t)getpid(), st + 1), SCHEDRT_PROC_REUSED);
  pid_t dead = fixture_dead_pid();
  cr_assert_eq(schedrt__proc_starttime(dead, &st), -ESRCH);
  cr_assert_eq(schedrt__proc_check((uint32_t)dead, 1), SCHEDRT_PROC_GONE);
  uint8_t id[16], zero[16] = {0};
  schedrt__boot_id(id);
  cr_assert_neq(memcmp(id, zero, 16), 0);
}

Test(metrics_layout, sizes_quoted_in_the_protocol_document) {
  /* docs/shm-protocol.md, section 3 ("Example"): an independent reader
   * checks its arithmetic against these. */
  struct schedrt_shm_geometry g;
  cr_assert_eq(SCHEDRT_M__COUNT, 42, "layout 2.5's descriptors: update the document's example");
  cr_assert_eq(schedrt_shm_geometry(4, SCHEDRT_SHM_SITES_DEFAULT, 4096, &g), 0);
  cr_assert_eq(g.slot_off, 6528u);
  cr_assert_eq(g.hist_off, 8064u);
  cr_assert_eq(g.sites_off, 12160u);
  cr_assert_eq(g.sites_size, 57472u);
  cr_assert_eq(g.site_ctr_off, 16512u);
  cr_assert_eq(g.site_block_stride, 8192u);
  cr_assert_eq(g.ctl_off, 69632u);
  cr_assert_eq(g.total_size, 73728u);
  cr_assert_eq(schedrt_shm_geometry(64, SCHEDRT_SHM_SITES_DEFAULT, 4096, &g), 0);
  cr_assert_eq(g.hist_off, 31104u);
  cr_assert_eq(g.sites_off, 96640u);
  cr_assert_eq(g.ctl_off, 647168u);
  cr_assert_eq(g.total_size, 651264u);
  cr_assert_eq(schedrt_shm_geometry(1, SCHEDRT_SHM_SITES_DEFAULT, 4096, &g), 0);
  cr_assert_eq(g.total_size, 45056u);
}
