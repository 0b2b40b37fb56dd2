/*
 * The OpenMetrics renderer (inspector/src/openmetrics.c) on hand-made
 * snapshots: the naming rule, ns to seconds, exact `le` bounds, labels
 * escaped and made UTF-8, torn workers and histograms without timing left
 * out, families grouped across runtimes, the byte limit, the 0.0.4 dialect
 * and the Accept negotiation. The real tools check the real output in
 * tests/inspector/openmetrics_e2e.py.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openmetrics.h"
#include "schedrt/proto/shm_layout.h"

#define NW 2

typedef struct fake {
  schedrt_segment_info info;
  schedrt_reader_desc desc[5];
  schedrt_worker_snap workers[NW];
  uint64_t hist[NW * SCHEDRT_M__HIST_COUNT * 3];
  schedrt_snapshot snap;
  om_source src;
} fake;

static void desc(schedrt_reader_desc *d, const char *name, const char *unit, schedrt_metric_kind kind,
                 schedrt_metric_scope scope, int id) {
  snprintf(d->name, sizeof(d->name), "%s", name);
  snprintf(d->unit, sizeof(d->unit), "%s", unit);
  snprintf(d->help, sizeof(d->help), "help of %s", name);
  d->kind = kind;
  d->scope = scope;
  d->known = 1;
  d->known_id = id;
  d->count = kind == SCHEDRT_METRIC_HISTOGRAM ? 3 : 1;
}

/* A runtime of pid with two workers: polls (counter), busy_ns (ns counter), alive (global gauge),
 * poll_time (histogram with bounds 64, 96, max) and a descriptor no format can carry. */
static void fake_init(fake *f, uint32_t pid, const char *comm, const char *rt, int timing) {
  memset(f, 0, sizeof(*f));
  f->info.pid = pid;
  snprintf(f->info.comm, sizeof(f->info.comm), "%s", comm);
  snprintf(f->info.runtime_name, sizeof(f->info.runtime_name), "%s", rt);
  f->info.features = timing ? SCHEDRT_SHM_F_TIMING : 0;
  f->info.hist_buckets = 3;
  f->info.hist_upper_ns[0] = 64;
  f->info.hist_upper_ns[1] = 96;
  f->info.hist_upper_ns[2] = UINT64_MAX;
  desc(&f->desc[0], "polls", "polls", SCHEDRT_METRIC_COUNTER, SCHEDRT_SCOPE_WORKER, SCHEDRT_M_polls);
  desc(&f->desc[1], "busy_ns", "ns", SCHEDRT_METRIC_COUNTER, SCHEDRT_SCOPE_WORKER, SCHEDRT_M_busy_ns);
  desc(&f->desc[2], "alive", "tasks", SCHEDRT_METRIC_GAUGE, SCHEDRT_SCOPE_GLOBAL, SCHEDRT_M_alive);
  desc(&f->desc[3], "poll_time", "ns", SCHEDRT_METRIC_HISTOGRAM, SCHEDRT_SCOPE_WORKER, SCHEDRT_M_poll_time);
  desc(&f->desc[4], "bad-name", "x", SCHEDRT_METRIC_GAUGE, SCHEDRT_SCOPE_GLOBAL, SCHEDRT_M_alive);
  for (uint32_t w = 0; w < NW; w++) {
    f->workers[w].index = w;
    f->workers[w].polls = 10 + w;
    f->workers[w].busy_ns = 1500000000ull + w; /* 1.5 s (+ w ns) */
    uint64_t *h = f->hist + (size_t)w * SCHEDRT_M__HIST_COUNT * 3;
    h[0] = 4, h[1] = 2, h[2] = 1; /* poll_time: 4 below 64 ns, 2 in [64, 96), 1 above */
  }
  f->snap.nworkers = NW;
  f->snap.max_workers = NW;
  f->snap.workers = f->workers;
  f->snap.global.alive = 7;
  f->snap.hist = f->hist;
  f->snap.hist_buckets = 3;
  f->snap.hist_taken = timing;
  f->src = (om_source){.info = &f->info, .desc = f->desc, .ndesc = 5, .snap = &f->snap};
}

static char *render(const om_source *s, size_t n, om_dialect d, size_t max, om_scrape_stats *st) {
  char *out = NULL;
  size_t len = 0;
  cr_assert_eq(om_render(s, n, d, max, st, &out, &len), 0);
  cr_assert_eq(strlen(out), len);
  return out;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

#define HAS(out, s) cr_expect(strstr((out), (s)) != NULL, "lacks <%s> in:\n%s", (s), (out))
#define LACKS(out, s) cr_expect(strstr((out), (s)) == NULL, "has <%s> in:\n%s", (s), (out))

Test(openmetrics, names_units_values) {
  fake f;
  fake_init(&f, 42, "demo", "rt", 1);
  char *out = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  const char *lab = "pid=\"42\",comm=\"demo\",runtime=\"rt\",runtime_index=\"0\"";
  char line[256];
  HAS(out, "# TYPE schedrt_worker_polls counter\n# HELP schedrt_worker_polls help of polls [polls]\n");
  snprintf(line, sizeof(line), "schedrt_worker_polls_total{%s,worker=\"1\"} 11\n", lab);
  HAS(out, line);
  /* ns: the name's _ns becomes _seconds, a UNIT line, the value exact in seconds. */
  HAS(out, "# TYPE schedrt_worker_busy_seconds counter\n# UNIT schedrt_worker_busy_seconds seconds\n");
  snprintf(line, sizeof(line), "schedrt_worker_busy_seconds_total{%s,worker=\"1\"} 1.500000001\n", lab);
  HAS(out, line);
  snprintf(line, sizeof(line), "schedrt_alive{%s} 7\n", lab);
  HAS(out, line);
  /* Histogram: cumulative, le the inclusive bound (integer ns below 64 are at most 63), +Inf last. */
  snprintf(line, sizeof(line),
           "schedrt_worker_poll_time_seconds_bucket{%s,worker=\"0\",le=\"0.000000063\"} 4\n", lab);
  HAS(out, line);
  snprintf(line, sizeof(line),
           "schedrt_worker_poll_time_seconds_bucket{%s,worker=\"0\",le=\"0.000000095\"} 6\n", lab);
  HAS(out, line);
  snprintf(line, sizeof(line), "schedrt_worker_poll_time_seconds_bucket{%s,worker=\"0\",le=\"+Inf\"} 7\n",
           lab);
  HAS(out, line);
  /* No _sum (the segment keeps no sum), hence no _count either (OpenMetrics: only with _sum). */
  LACKS(out, "_sum");
  LACKS(out, "_count");
  LACKS(out, "bad-name");
  cr_expect(strcmp(out + strlen(out) - 6, "# EOF\n") == 0, "no # EOF at the end:\n%s", out);
  free(out);
}

Test(openmetrics, labels_escaped_and_utf8) {
  fake f;
  fake_init(&f, 1, "a\"b\\c\xff", "r\xc3\xa9s\xe2\x82", 0);
  char *out = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  /* Quote and backslash escaped; a byte that is no UTF-8 (0xff, a cut sequence) becomes '?', é stays. */
  HAS(out, "comm=\"a\\\"b\\\\c?\",runtime=\"r\xc3\xa9s??\"");
  free(out);
}

Test(openmetrics, torn_worker_and_no_timing) {
  fake f;
  fake_init(&f, 1, "c", "r", 0);
  f.workers[1].torn = 1;
  char *out = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  HAS(out, "worker=\"0\"} 10\n");
  LACKS(out, "worker=\"1\"");
  /* Without per-poll timing the buckets are zeros: no family at all, not an empty histogram. */
  LACKS(out, "poll_time");
  free(out);
}

Test(openmetrics, families_grouped_across_runtimes) {
  fake a, b;
  fake_init(&a, 1, "a", "ra", 1);
  fake_init(&b, 2, "b", "rb", 1);
  om_source s[2] = {a.src, b.src};
  char *out = render(s, 2, OM_OPENMETRICS, 0, NULL);
  cr_expect_eq(count(out, "# TYPE schedrt_worker_polls counter"), 1);
  /* Both runtimes' polls come before the next family starts. */
  const char *p1 = strstr(out, "schedrt_worker_polls_total{pid=\"1\"");
  const char *p2 = strstr(out, "schedrt_worker_polls_total{pid=\"2\"");
  const char *next = strstr(out, "# TYPE schedrt_worker_busy");
  cr_assert(p1 && p2 && next && p1 < next && p2 < next, "not grouped:\n%s", out);
  free(out);
}

Test(openmetrics, byte_limit_leaves_whole_runtimes_out) {
  fake a, b;
  fake_init(&a, 1, "a", "ra", 0);
  fake_init(&b, 2, "b", "rb", 0);
  om_source s[2] = {a.src, b.src};
  om_scrape_stats st = {0};
  char *one = render(s, 1, OM_OPENMETRICS, 0, NULL);
  free(one);
  /* Room for a bit more than one runtime's samples: the second is left out whole and counted. */
  char *out = render(s, 2, OM_OPENMETRICS, 800, &st);
  cr_expect_eq(st.exported, 1);
  cr_expect_eq(st.skipped[OM_SKIP_MAX_BYTES], 1);
  HAS(out, "pid=\"1\"");
  LACKS(out, "pid=\"2\"");
  HAS(out, "sched_inspect_targets 1\n");
  HAS(out, "sched_inspect_targets_skipped{reason=\"max_bytes\"} 1\n");
  free(out);
}

Test(openmetrics, prometheus_dialect) {
  fake f;
  fake_init(&f, 1, "c", "r", 1);
  char *out = render(&f.src, 1, OM_PROMETHEUS, 0, NULL);
  /* 0.0.4 names a counter by its sample; no UNIT, no EOF. */
  HAS(out, "# TYPE schedrt_worker_polls_total counter\n# HELP schedrt_worker_polls_total help of polls");
  LACKS(out, "# UNIT");
  LACKS(out, "# EOF");
  free(out);
  out = render(NULL, 0, OM_PROMETHEUS, 0, NULL);
  cr_expect_str_eq(out, "");
  free(out);
  out = render(NULL, 0, OM_OPENMETRICS, 0, NULL);
  cr_expect_str_eq(out, "# EOF\n");
  free(out);
}

Test(openmetrics, accept_negotiation) {
  cr_expect_eq(om_negotiate(NULL), OM_OPENMETRICS);
  cr_expect_eq(om_negotiate("*/*"), OM_OPENMETRICS);
  cr_expect_eq(om_negotiate("text/plain;version=0.0.4"), OM_PROMETHEUS);
  cr_expect_eq(om_negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
               OM_OPENMETRICS);
}

/* Sites i = 0 .. n-1 of a fake runtime: "src/s<i>.c":(10 + i) in f<i>, i + 1 tasks spawned, i ended;
 * site 36 is the overflow row. */
static void fake_sites(fake *f, schedrt_site_snap *s, uint32_t n) {
  memset(s, 0, n * sizeof(*s));
  for (uint32_t i = 0; i < n; i++) {
    s[i].index = i;
    s[i].line = 10 + i;
    snprintf(s[i].file, sizeof(s[i].file), "src/s%u.c", i);
    snprintf(s[i].func, sizeof(s[i].func), "f%u", i);
    s[i].spawned = i + 1;
    s[i].ended = i;
    s[i].alive = 1;
    s[i].busy_ns = 2000000000ull;
  }
  s[n - 1].overflow = 1;
  s[n - 1].file[0] = s[n - 1].func[0] = '\0';
  f->src.sites = s;
  f->src.nsites = n;
}

Test(openmetrics, spawn_sites_with_bounded_labels) {
  fake f;
  fake_init(&f, 42, "app", "rt", 0);
  schedrt_site_snap s[37];
  fake_sites(&f, s, 37);
  char *t = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  cr_assert(strstr(t, "# TYPE schedrt_site_spawned counter\n"), "%s", t);
  cr_assert(strstr(t, "schedrt_site_spawned_total{pid=\"42\",comm=\"app\",runtime=\"rt\",runtime_index=\"0\","
                      "site=\"src/s3.c:13\",func=\"f3\"} 4\n"));
  cr_assert(strstr(t, "# TYPE schedrt_site_alive gauge\n"));
  /* OM_MAX_SITES (32) of their own, the other four (32..35 and the overflow row) summed: 33+34+35+36+37. */
  cr_assert_eq(count(t, "schedrt_site_spawned_total{"), OM_MAX_SITES + 1);
  cr_assert(strstr(t, "site=\"other\",func=\"\"} 175\n"), "%s", t);
  cr_assert(!strstr(t, "src/s32.c"));
  /* Without timing, no busy series (they would all read 0). */
  cr_assert(!strstr(t, "schedrt_site_busy"));
  free(t);
  fake_init(&f, 42, "app", "rt", 1);
  fake_sites(&f, s, 37);
  t = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  cr_assert(strstr(t, "# UNIT schedrt_site_busy_seconds seconds\n"));
  cr_assert(
      strstr(t, "schedrt_site_busy_seconds_total{pid=\"42\",comm=\"app\",runtime=\"rt\",runtime_index=\"0\","
                "site=\"src/s0.c:10\",func=\"f0\"} 2.0\n"),
      "%s", t);
  free(t);
}

Test(openmetrics, a_repeated_site_label_is_folded_into_other) {
  fake f;
  fake_init(&f, 42, "app", "rt", 0);
  schedrt_site_snap s[3];
  fake_sites(&f, s, 3);
  s[2].overflow = 0;
  snprintf(s[1].file, sizeof(s[1].file), "src/s0.c"); /* two files with the same tail, same line, func */
  s[1].line = 10;
  snprintf(s[1].func, sizeof(s[1].func), "f0");
  char *t = render(&f.src, 1, OM_PROMETHEUS, 0, NULL);
  cr_assert_eq(count(t, "site=\"src/s0.c:10\",func=\"f0\"}"), 4, "one series per site family (no timing)\n%s",
               t);
  cr_assert(strstr(t, "schedrt_site_spawned_total{pid=\"42\",comm=\"app\",runtime=\"rt\",runtime_index=\"0\","
                      "site=\"other\",func=\"\"} 2\n"),
            "%s", t);
  free(t);
}

/* A leak check's proofs: a gauge family of its own with the sites' labels, bounded the same way (the rows
 * past OM_MAX_SITES and the proven tasks of sites the table lacks summed under "other"); none without a
 * check. */
Test(openmetrics, proven_leaks_per_site) {
  fake f;
  fake_init(&f, 42, "app", "rt", 0);
  schedrt_site_snap s[37];
  fake_sites(&f, s, 37);
  char *t = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  cr_assert(!strstr(t, "proven"), "no leak check, no proof series\n%s", t);
  free(t);
  uint64_t proven[37] = {0};
  proven[3] = 2;
  proven[33] = 5; /* past OM_MAX_SITES */
  f.src.site_proven = proven;
  f.src.proven_unplaced = 1;
  t = render(&f.src, 1, OM_OPENMETRICS, 0, NULL);
  cr_assert(strstr(t, "# TYPE schedrt_site_proven_leaked gauge\n"), "%s", t);
  cr_assert(strstr(t, "schedrt_site_proven_leaked{pid=\"42\",comm=\"app\",runtime=\"rt\",runtime_index=\"0\","
                      "site=\"src/s3.c:13\",func=\"f3\"} 2\n"),
            "%s", t);
  cr_assert(strstr(t, "schedrt_site_proven_leaked{pid=\"42\",comm=\"app\",runtime=\"rt\",runtime_index=\"0\","
                      "site=\"other\",func=\"\"} 6\n"),
            "%s", t);
  cr_assert_eq(count(t, "schedrt_site_proven_leaked{"), OM_MAX_SITES + 1);
  cr_assert(!strstr(t, "suspect"));
  free(t);
  t = render(&f.src, 1, OM_PROMETHEUS, 0, NULL);
  cr_assert(strstr(t, "# TYPE schedrt_site_proven_leaked gauge\n"), "%s", t);
  free(t);
}
