/*
 * Recordings (inspector/src/recording*.c, docs/recording-format.md) on
 * crafted segments (tests/support/shm_fixture.c, no runtime): what the
 * writer puts in comes back out of the reader; a file cut at every byte is
 * either refused with a message (inside the header) or read up to its last
 * whole sample; every byte damaged in turn never crashes (ASan); hostile
 * counts, nesting, formats and versions are refused with their reason; the
 * summary names a stuck worker's task; the plot has a panel per worker.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recording.h"
#include "recording_plot.h"
#include "recording_summary.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"

#define NW 3

static char dir[256];
static struct shm_fixture fx;
static schedrt_reader *rd;

static void setup(void) {
  schedrt_reader_opts ro = {.flags = SCHEDRT_READER_NO_LIVENESS};
  cr_assert_eq(fixture_dir_create(dir, sizeof(dir)), 0);
  cr_assert_eq(fixture_segment_create(dir, NW, 0, 0, 0, &fx), 0);
  for (uint32_t w = 0; w < NW; w++)
    fixture_write_worker(fixture_slot(&fx, w), SCHEDRT_WSTATE_RUNNING, 100 * w, 1000 * w);
  cr_assert_eq(schedrt_reader_open_path(fx.path, &ro, &rd), 0);
}

static void teardown(void) {
  schedrt_reader_close(rd);
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
}

/* A recording of n samples (sample i: worker w at polls 100 w + i, depth 1000 w + 10 i + 1; worker 1 stuck
 * in task 77 "spinner" since 200 ms before the first), with a trailer when end is not NULL. */
static uint8_t *record(size_t n, const char *end, size_t *len) {
  FILE *f = tmpfile();
  rec_writer w;
  schedrt_snapshot s;
  cr_assert_not_null(f);
  cr_assert_eq(schedrt_snapshot_init(rd, &s), 0);
  uint64_t since = fixture_now_ns() - 200000000ull;
  rec_writer_opts o = {.interval_ns = 100000000ull, .nworkers = NW};
  cr_assert_eq(rec_writer_open(&w, fileno(f), rd, &o), 0);
  for (size_t i = 0; i < n; i++) {
    for (uint32_t k = 0; k < NW; k++)
      fixture_write_worker(fixture_slot(&fx, k), SCHEDRT_WSTATE_RUNNING, 100 * k + i, 1000 * k + 10 * i);
    /* The same poll all along: the poll count the monitor saw stays (a stuck worker's does). */
    fixture_write_polls(fixture_slot(&fx, 1), 100);
    fixture_write_monitor(fixture_slot(&fx, 1), 100, since, 77, "spinner", "tests/spin.c", 42);
    int err = schedrt_snapshot_take(rd, SCHEDRT_SNAP_NO_LIVENESS, &s);
    cr_assert(err == 0 || err == SCHEDRT_ETORN, "snapshot: %d", err);
    cr_assert_eq(rec_writer_sample(&w, rd, &s, 1700000000000000000ull + i), 0);
  }
  if (end)
    cr_assert_eq(rec_writer_end(&w, end), 0);
  rec_writer_fini(&w);
  schedrt_snapshot_fini(&s);
  long size = ftell(f);
  cr_assert_gt(size, 0);
  uint8_t *buf = malloc((size_t)size);
  rewind(f);
  cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  *len = (size_t)size;
  return buf;
}

TestSuite(recording, .init = setup, .fini = teardown, .timeout = 60);

Test(recording, round_trip) {
  size_t len;
  uint8_t *buf = record(5, "count", &len);
  recording *r;
  schedrt_snapshot s;
  char err[256];
  cr_assert(rec_sniff(buf, len));
  cr_assert_eq(rec_parse(buf, len, &r, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(r->nsamples, 5);
  cr_assert_str_eq(r->end, "count");
  cr_assert_eq(r->tail_bytes, 0);
  cr_assert_eq(r->h.pid, (uint32_t)getpid());
  cr_assert_eq(r->h.nworkers, NW);
  cr_assert_eq(r->h.nmetrics, schedrt_reader_desc_count(rd));
  cr_assert_eq(r->h.interval_ns, 100000000ull);
  cr_assert_eq(rec_snapshot_init(r, &s), 0);
  for (size_t i = 0; i < 5; i++) {
    uint64_t real;
    cr_assert_eq(rec_sample_read(r, i, &s, &real), 0);
    cr_assert_eq(real, 1700000000000000000ull + i);
    cr_assert_eq(s.nworkers, NW);
    cr_assert_eq(s.workers[0].polls, i);
    cr_assert_eq(s.workers[2].polls, 200 + i);
    cr_assert_eq(s.workers[2].local_queue_depth, 2000 + 10 * i + 1);
    cr_assert_eq(s.workers[2].steals, 2000 + 10 * i + 5);
    cr_assert_eq(s.workers[1].current_task, 77);
    cr_assert_str_eq(s.workers[1].current_name, "spinner");
    cr_assert_eq(s.workers[1].current_line, 42);
  }
  cr_assert_eq(rec_sample_read(r, 5, &s, NULL), -EINVAL);
  rec_snapshot_fini(&s);
  rec_free(r);
  free(buf);
}

/* Cut anywhere: inside the header an error that says so; after it, every whole sample and no more. */
Test(recording, cut_at_every_byte) {
  size_t len;
  uint8_t *buf = record(4, NULL, &len);
  recording *full, *r;
  char err[256];
  cr_assert_eq(rec_parse(buf, len, &full, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(full->nsamples, 4);
  cr_assert_str_eq(full->end, "");
  for (size_t cut = 0; cut < len; cut++) {
    err[0] = '\0';
    int rc = rec_parse(buf, cut, &r, err, sizeof(err));
    if (cut < full->sample_off[0]) {
      cr_assert_neq(rc, 0, "cut at %zu inside the header was accepted", cut);
      cr_assert_null(r);
      cr_assert_neq(err[0], '\0', "cut at %zu: no message", cut);
      continue;
    }
    cr_assert_eq(rc, 0, "cut at %zu: %s", cut, err);
    size_t whole = 0;
    while (whole < full->nsamples && (whole + 1 < full->nsamples ? full->sample_off[whole + 1] : len) <= cut)
      whole++;
    size_t boundary = whole < full->nsamples ? full->sample_off[whole] : len;
    cr_assert_eq(r->nsamples, whole, "cut at %zu: %zu samples, expected %zu", cut, r->nsamples, whole);
    cr_assert_eq(r->tail_bytes, cut - boundary, "cut at %zu", cut);
    rec_free(r);
  }
  rec_free(full);
  free(buf);
}

/* Every byte damaged in turn (three ways): refused with a message or read; never a crash, a hang or a leak.
 */
Test(recording, every_byte_damaged) {
  size_t len;
  uint8_t *buf = record(2, "signal", &len);
  static const uint8_t with[] = {0x00, 0xff, 0x9b};
  schedrt_snapshot s;
  for (size_t k = 0; k < sizeof(with); k++) {
    for (size_t i = 0; i < len; i++) {
      recording *r;
      char err[256] = "";
      uint8_t keep = buf[i];
      buf[i] = with[k] == keep ? (uint8_t)~keep : with[k];
      int rc = rec_parse(buf, len, &r, err, sizeof(err));
      buf[i] = keep;
      if (rc) {
        cr_assert_neq(err[0], '\0', "byte %zu: refused without a message", i);
        continue;
      }
      cr_assert_eq(rec_snapshot_init(r, &s), 0);
      for (size_t j = 0; j < r->nsamples; j++)
        cr_assert_eq(rec_sample_read(r, j, &s, NULL), 0, "byte %zu: sample %zu accepted then unreadable", i,
                     j);
      rec_snapshot_fini(&s);
      rec_free(r);
    }
  }
  free(buf);
}

static int parse_rc(const uint8_t *b, size_t n, char *err, size_t size) {
  recording *r = NULL;
  int rc = rec_parse(b, n, &r, err, size);
  rec_free(r);
  return rc;
}

static uint8_t *find(uint8_t *b, size_t n, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(b + i, s, k) == 0)
      return b + i;
  return NULL;
}

Test(recording, hostile_input) {
  size_t len;
  uint8_t *buf = record(1, "count", &len);
  char err[256];
  uint8_t *big = malloc(len + 64);

  /* Another format (a dump's): not a recording. */
  memcpy(big, buf, len);
  memcpy(find(big, len, "schedrt-recording"), "schedrt-recordinX", 17);
  cr_assert_eq(parse_rc(big, len, err, sizeof(err)), SCHEDRT_EMAGIC);
  cr_assert(strstr(err, "not a recording"), "%s", err);
  cr_assert_not(rec_sniff(big, len));
  /* Another major version. */
  memcpy(big, buf, len);
  uint8_t *v = find(big, len, "version");
  cr_assert_eq(v[7], 0x82);
  v[8] = 2;
  cr_assert_eq(parse_rc(big, len, err, sizeof(err)), SCHEDRT_EVERSION);
  cr_assert(strstr(err, "version 2.0"), "%s", err);
  /* Bytes after the trailer. */
  memcpy(big, buf, len);
  big[len] = 0x00;
  cr_assert_eq(parse_rc(big, len + 1, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "after the trailer"), "%s", err);
  /* Nothing at all, and a lone tag. */
  cr_assert_eq(parse_rc(buf, 0, err, sizeof(err)), SCHEDRT_EMAGIC);
  cr_assert_eq(parse_rc(buf, 3, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "truncated"), "%s", err);

  /* A sample nested 20 deep under a key it does not know: refused, not recursed into without bound. */
  size_t hlen = len;
  recording *r;
  cr_assert_eq(rec_parse(buf, len, &r, err, sizeof(err)), 0, "%s", err);
  hlen = r->sample_off[0];
  rec_free(r);
  memcpy(big, buf, hlen);
  size_t n = hlen;
  big[n++] = 0xa1; /* a map of one entry */
  big[n++] = 0x61;
  big[n++] = 'x';
  for (int i = 0; i < 20; i++)
    big[n++] = 0x81; /* [[[[...]]]] */
  big[n++] = 0x00;
  cr_assert_eq(parse_rc(big, n, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "nested deeper"), "%s", err);
  /* A whole sample without its workers. */
  n = hlen;
  big[n++] = 0xa1;
  big[n++] = 0x67;
  memcpy(big + n, "mono_ns", 7);
  n += 7;
  big[n++] = 0x01;
  cr_assert_eq(parse_rc(big, n, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "sample 0"), "%s", err);
  /* An indefinite-length map. */
  n = hlen;
  big[n++] = 0xbf;
  big[n++] = 0xff;
  cr_assert_eq(parse_rc(big, n, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "indefinite"), "%s", err);
  free(big);
  free(buf);
}

/* A header whose metrics array claims 2^32 entries in a few bytes: refused before anything is allocated. */
Test(recording, absurd_counts) {
  static const uint8_t hdr[] = {0xd9, 0xd9, 0xf7, 0xa2, 0x66, 'f',  'o',  'r',  'm',  'a', 't', 0x71,
                                's',  'c',  'h',  'e',  'd',  'r',  't',  '-',  'r',  'e', 'c', 'o',
                                'r',  'd',  'i',  'n',  'g',  0x67, 'm',  'e',  't',  'r', 'i', 'c',
                                's',  0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
  char err[256];
  cr_assert_eq(parse_rc(hdr, sizeof(hdr), err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "truncated") || strstr(err, "at most"), "%s", err);
}

Test(recording, summary_names_the_stuck_task) {
  size_t len;
  uint8_t *buf = record(6, "count", &len);
  recording *r;
  rec_summary sum;
  char err[256];
  cr_assert_eq(rec_parse(buf, len, &r, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(rec_summarize(r, 0, &sum), 0);
  cr_assert_eq(sum.nworkers, NW);
  cr_assert_eq(sum.samples, 6);
  cr_assert_eq(sum.w[2].depth_max, 2000 + 50 + 1);
  cr_assert_eq(sum.w[2].depth_p50, 2000 + 20 + 1);
  cr_assert_eq(sum.w[2].steals, 50);
  cr_assert_eq(sum.w[2].parks, 50);
  cr_assert_eq(sum.w[0].episodes_all, 0);
  cr_assert_eq(sum.w[1].episodes_all, 1, "worker 1 stuck once, found %llu",
               (unsigned long long)sum.w[1].episodes_all);
  cr_assert_eq(sum.w[1].episodes[0].task, 77);
  cr_assert_str_eq(sum.w[1].episodes[0].name, "spinner");
  cr_assert_str_eq(sum.w[1].episodes[0].file, "tests/spin.c");
  cr_assert_geq(sum.w[1].episodes[0].duration_ns, 200000000ull);
  char *text;
  size_t tlen;
  FILE *f = open_memstream(&text, &tlen);
  rec_summary_print(r, &sum, f, 10);
  fclose(f);
  cr_assert(strstr(text, "#77 \"spinner\" spawned at tests/spin.c:42"), "%s", text);
  free(text);
  rec_summary_free(&sum);
  rec_free(r);
  free(buf);
}

Test(recording, plot_has_a_panel_per_worker) {
  size_t len;
  uint8_t *buf = record(4, "count", &len);
  recording *r;
  char err[256], *svg;
  size_t slen;
  cr_assert_eq(rec_parse(buf, len, &r, err, sizeof(err)), 0, "%s", err);
  FILE *f = open_memstream(&svg, &slen);
  cr_assert_eq(rec_plot_svg(r, f), 0);
  fclose(f);
  for (uint32_t w = 0; w < NW; w++) {
    char id[64];
    snprintf(id, sizeof(id), "<g class=\"panel\" id=\"worker-%u\"", w);
    cr_assert(strstr(svg, id), "no panel for worker %u", w);
  }
  snprintf(err, sizeof(err), "<g class=\"panel\" id=\"worker-%u\"", NW);
  cr_assert_null(strstr(svg, err));
  cr_assert(strstr(svg, "data-series=\"local_queue_depth\""));
  cr_assert(strstr(svg, "data-series=\"busy_pct\""));
  cr_assert(strstr(svg, "data-series=\"inject_depth\""));
  free(svg);
  rec_free(r);
  free(buf);
}
