/*
 * Reading recordings (recording.h, docs/recording-format.md) on libcbor's
 * streaming decoder: cbor_stream_decode() decodes one item head per call,
 * and this file walks the format's fixed shape on top of it. As for dumps
 * (common/src/dump_read.c), not cbor_load(): libcbor 0.8 allocates a
 * definite array or map from its declared count before reading an element,
 * so a few bytes could ask for a terabyte. Here every count is checked
 * against the bytes left and the header's bounds before it is used, nesting
 * is bounded, texts must fit their fields and be UTF-8, and nothing is
 * allocated per sample: a sample is validated at load and decoded again,
 * into the caller's snapshot, when it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recording.h"
#include "schedrt/cbor_head.h"

#define MAX_DEPTH 8 /* the format nests 5 deep (sample, workers, worker, histograms, buckets) */

/* ------------------------------------------------------ one item head */

/* -------------------------------------------------------------- cursor */

struct cur {
  const uint8_t *start, *p, *end;
  int depth;
  char where[96]; /* "sample 12: workers[1]" for messages */
  char *err;
  size_t errsize;
  int failed;
  int truncated; /* the failure was the input ending inside an item */
};

static int fail(struct cur *c, const uint8_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct cur *c, const uint8_t *at, const char *fmt, ...) {
  if (c->failed)
    return SCHEDRT_ECORRUPT;
  c->failed = 1;
  if (c->err && c->errsize) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at)
      snprintf(c->err, c->errsize, "%s%s%s (byte %zu)", c->where, c->where[0] ? ": " : "", msg,
               (size_t)(at - c->start));
    else
      snprintf(c->err, c->errsize, "%s%s%s", c->where, c->where[0] ? ": " : "", msg);
  }
  return SCHEDRT_ECORRUPT;
}

static int truncated(struct cur *c, const uint8_t *at, const char *what) {
  int rc = fail(c, at, "truncated: the file ends inside %s", what);
  c->truncated = 1;
  return rc;
}

static size_t left(const struct cur *c) { return (size_t)(c->end - c->p); }

/* The next item head (schedrt/cbor_head.h), its refusals worded for a recording. A count that cannot fit
 * in the bytes left means the file ends inside the item; undefined reads as null. */
static int next(struct cur *c, struct schedrt__cbor_ev *e) {
  const uint8_t *at = c->p;
  size_t read;
  int why = schedrt__cbor_head(c->p, left(c), e, &read);
  c->p += read;
  switch (why) {
  case 0:
    if (e->kind == SCHEDRT__CBOR_UNDEF)
      e->kind = SCHEDRT__CBOR_NULL;
    return 0;
  case SCHEDRT__CBOR_TRUNCATED:
    return truncated(c, at, "an item");
  case SCHEDRT__CBOR_MALFORMED:
    return fail(c, at, "malformed CBOR (initial byte 0x%02x)", *at);
  case SCHEDRT__CBOR_INDEFINITE:
    return fail(c, at, "an indefinite-length item or a break (0x%02x): recordings use definite lengths", *at);
  case SCHEDRT__CBOR_LONG_ARRAY:
    return truncated(c, at, "an array");
  case SCHEDRT__CBOR_LONG_MAP:
    return truncated(c, at, "a map");
  default:
    return fail(c, at, "a text string that is not valid UTF-8");
  }
}

static int expect(struct cur *c, struct schedrt__cbor_ev *e, enum schedrt__cbor_kind want) {
  const uint8_t *at = c->p;
  int rc = next(c, e);
  if (rc)
    return rc;
  if (e->kind != want)
    return fail(c, at, "expected %s, found %s", schedrt__cbor_kind_names[want],
                schedrt__cbor_kind_names[e->kind]);
  return 0;
}

/* Skips one item of any kind: a key a later minor version added. */
static int skip(struct cur *c) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc || (e.kind != SCHEDRT__CBOR_ARRAY && e.kind != SCHEDRT__CBOR_MAP && e.kind != SCHEDRT__CBOR_TAG))
    return rc;
  if (c->depth >= MAX_DEPTH)
    return fail(c, at, "nested deeper than %d levels", MAX_DEPTH);
  c->depth++;
  uint64_t n = e.kind == SCHEDRT__CBOR_ARRAY ? e.v : e.kind == SCHEDRT__CBOR_MAP ? 2 * e.v : 1;
  for (uint64_t i = 0; i < n && !rc; i++)
    rc = skip(c);
  c->depth--;
  return rc;
}

static int get_uint(struct cur *c, uint64_t *out) {
  struct schedrt__cbor_ev e;
  int rc = expect(c, &e, SCHEDRT__CBOR_UINT);
  if (!rc)
    *out = e.v;
  return rc;
}

static int get_u32(struct cur *c, uint32_t *out) {
  const uint8_t *at = c->p;
  uint64_t v;
  int rc = get_uint(c, &v);
  if (rc)
    return rc;
  if (v > UINT32_MAX)
    return fail(c, at, "%llu is out of range", (unsigned long long)v);
  *out = (uint32_t)v;
  return 0;
}

static int get_bool(struct cur *c, int *out) {
  struct schedrt__cbor_ev e;
  int rc = expect(c, &e, SCHEDRT__CBOR_BOOL);
  if (!rc)
    *out = (int)e.v;
  return rc;
}

/* A text into buf (NUL-terminated), control characters as '?' (it may reach a terminal). Longer than the
 * field: corrupt, since the writer copies fields of these sizes. */
static int get_text(struct cur *c, char *buf, size_t size) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = expect(c, &e, SCHEDRT__CBOR_TEXT);
  if (rc)
    return rc;
  if (e.n >= size)
    return fail(c, at, "a text of %zu bytes where at most %zu fit", e.n, size - 1);
  memcpy(buf, e.s, e.n);
  buf[e.n] = '\0';
  for (size_t i = 0; i < e.n; i++) {
    unsigned char b = (unsigned char)buf[i];
    if (b < 0x20 || b == 0x7f)
      buf[i] = '?';
    else if (b == 0xc2 && i + 1 < e.n && (unsigned char)buf[i + 1] <= 0x9f) /* C1 controls */
      buf[i] = buf[i + 1] = '?';
  }
  return 0;
}

/* A map key: a text, compared by the callers with key_is. */
static int get_key(struct cur *c, struct schedrt__cbor_ev *k) { return expect(c, k, SCHEDRT__CBOR_TEXT); }
static int key_is(const struct schedrt__cbor_ev *k, const char *name) {
  return strlen(name) == k->n && memcmp(k->s, name, k->n) == 0;
}

/* Opens a container (one level deeper; close with depth--). */
static int open_container(struct cur *c, struct schedrt__cbor_ev *e, enum schedrt__cbor_kind want) {
  const uint8_t *at = c->p;
  int rc = expect(c, e, want);
  if (rc)
    return rc;
  if (c->depth >= MAX_DEPTH)
    return fail(c, at, "nested deeper than %d levels", MAX_DEPTH);
  c->depth++;
  return 0;
}

/* A required key given twice, or missing. bit: its place in a bit set of seen keys. */
static int seen_once(struct cur *c, const uint8_t *at, uint64_t *seen, unsigned bit, const char *name) {
  if (*seen & (1ull << bit))
    return fail(c, at, "the key \"%s\" appears twice", name);
  *seen |= 1ull << bit;
  return 0;
}

/* ------------------------------------------------------------- header */

enum {
  H_FORMAT,
  H_VERSION,
  H_RECORDER,
  H_PID,
  H_RUNTIME,
  H_RUNTIME_VERSION,
  H_RUNTIME_INDEX,
  H_COMM,
  H_LAYOUT,
  H_TIMING,
  H_MAX_WORKERS,
  H_NWORKERS,
  H_QCAP,
  H_HB,
  H_LONG_POLL,
  H_INTERVAL,
  H_CREATED,
  H_STARTED_MONO,
  H_STARTED_REAL,
  H_METRICS,
  H_BOUNDS,
  H__COUNT
};
static const char *const header_keys[H__COUNT] = {
    "format",
    "version",
    "recorder",
    "pid",
    "runtime",
    "runtime_version",
    "runtime_index",
    "comm",
    "layout",
    "timing",
    "max_workers",
    "nworkers",
    "local_queue_cap",
    "heartbeat_period_ms",
    "long_poll_ms",
    "interval_ns",
    "created_mono_ns",
    "started_mono_ns",
    "started_realtime_ns",
    "metrics",
    "histogram_bounds_ns",
};
/* Without these a recording cannot be read; the others default to 0 or "". */
static const unsigned header_required[] = {H_FORMAT,   H_VERSION, H_PID,    H_MAX_WORKERS,
                                           H_NWORKERS, H_METRICS, H_BOUNDS, H_TIMING};

/* The private part of a recording: where each sample's arrays go in a snapshot. */
struct rec_maps {
  int *wmap; /* [nworker_values]: a WSLOT metric id, or -1 */
  int *gmap; /* [nglobal_values]: an index into the GLOBAL list, or -1 */
  int *hmap; /* [nhist]: an index into the HIST list, or -1 */
};

static int get_pair(struct cur *c, uint32_t *a, uint32_t *b) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
  if (rc)
    return rc;
  if (e.v != 2)
    return fail(c, at, "expected two numbers, found %llu", (unsigned long long)e.v);
  rc = get_u32(c, a);
  if (!rc)
    rc = get_u32(c, b);
  c->depth--;
  return rc;
}

static int get_metric(struct cur *c, rec_metric *m) {
  struct schedrt__cbor_ev e, k;
  char kind[16] = "", scope[16] = "";
  uint64_t seen = 0;
  int rc = open_container(c, &e, SCHEDRT__CBOR_MAP);
  for (uint64_t i = 0; !rc && i < e.v; i++) {
    const uint8_t *at = c->p;
    rc = get_key(c, &k);
    if (rc)
      break;
    if (key_is(&k, "name"))
      rc = seen_once(c, at, &seen, 0, "name") || get_text(c, m->name, sizeof(m->name)) ? SCHEDRT_ECORRUPT : 0;
    else if (key_is(&k, "unit"))
      rc = get_text(c, m->unit, sizeof(m->unit));
    else if (key_is(&k, "help"))
      rc = get_text(c, m->help, sizeof(m->help));
    else if (key_is(&k, "kind"))
      rc = seen_once(c, at, &seen, 1, "kind") || get_text(c, kind, sizeof(kind)) ? SCHEDRT_ECORRUPT : 0;
    else if (key_is(&k, "scope"))
      rc = seen_once(c, at, &seen, 2, "scope") || get_text(c, scope, sizeof(scope)) ? SCHEDRT_ECORRUPT : 0;
    else if (key_is(&k, "count"))
      rc = seen_once(c, at, &seen, 3, "count") || get_u32(c, &m->count) ? SCHEDRT_ECORRUPT : 0;
    else
      rc = skip(c);
  }
  if (rc)
    return rc;
  c->depth--;
  if (seen != 0xf)
    return fail(c, NULL, "a metric needs name, kind, scope and count");
  if (strcmp(kind, "counter") == 0)
    m->kind = REC_COUNTER;
  else if (strcmp(kind, "gauge") == 0)
    m->kind = REC_GAUGE;
  else if (strcmp(kind, "histogram") == 0)
    m->kind = REC_HISTOGRAM;
  else
    return fail(c, NULL, "metric \"%s\": unknown kind \"%s\"", m->name, kind);
  if (strcmp(scope, "worker") == 0)
    m->scope = REC_WORKER;
  else if (strcmp(scope, "global") == 0)
    m->scope = REC_GLOBAL;
  else
    return fail(c, NULL, "metric \"%s\": unknown scope \"%s\"", m->name, scope);
  return 0;
}

static int get_metrics(struct cur *c, rec_header *h) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
  if (rc)
    return rc;
  if (e.v > REC_MAX_METRICS)
    return fail(c, at, "%llu metrics: at most %u", (unsigned long long)e.v, REC_MAX_METRICS);
  h->metrics = calloc(e.v ? e.v : 1, sizeof(*h->metrics));
  if (!h->metrics)
    return -ENOMEM;
  h->nmetrics = (uint32_t)e.v;
  for (uint32_t i = 0; !rc && i < h->nmetrics; i++) {
    snprintf(c->where, sizeof(c->where), "header: metrics[%u]", i);
    rc = get_metric(c, &h->metrics[i]);
  }
  snprintf(c->where, sizeof(c->where), "header");
  c->depth--;
  return rc;
}

static int get_bounds(struct cur *c, rec_header *h) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
  if (rc)
    return rc;
  if (e.v > REC_MAX_BUCKETS)
    return fail(c, at, "%llu histogram bounds: at most %u", (unsigned long long)e.v, REC_MAX_BUCKETS);
  h->nbuckets = (uint32_t)e.v;
  for (uint32_t i = 0; !rc && i < h->nbuckets; i++) {
    at = c->p;
    rc = get_uint(c, &h->bounds[i]);
    if (!rc && i && h->bounds[i] <= h->bounds[i - 1])
      rc = fail(c, at, "histogram bounds must increase");
  }
  c->depth--;
  return rc;
}

/* The header's format first: anything else is not a recording (EMAGIC), another major EVERSION. */
static int header_key(struct cur *c, rec_header *h, unsigned key, const uint8_t *at) {
  char text[64];
  switch (key) {
  case H_FORMAT:
    if (get_text(c, text, sizeof(text)) || strcmp(text, REC_FORMAT) != 0) {
      c->failed = 0;
      fail(c, at, "not a recording: the format is not \"" REC_FORMAT "\"");
      return SCHEDRT_EMAGIC;
    }
    return 0;
  case H_VERSION: {
    int rc = get_pair(c, &h->version_major, &h->version_minor);
    if (!rc && h->version_major != REC_VERSION_MAJOR) {
      fail(c, at, "format version %u.%u: this sched-inspect reads %u.x", h->version_major, h->version_minor,
           REC_VERSION_MAJOR);
      return SCHEDRT_EVERSION;
    }
    return rc;
  }
  case H_RECORDER:
    return get_text(c, h->recorder, sizeof(h->recorder));
  case H_PID:
    return get_u32(c, &h->pid);
  case H_RUNTIME:
    return get_text(c, h->runtime, sizeof(h->runtime));
  case H_RUNTIME_VERSION:
    return get_text(c, h->runtime_version, sizeof(h->runtime_version));
  case H_RUNTIME_INDEX:
    return get_u32(c, &h->runtime_index);
  case H_COMM:
    return get_text(c, h->comm, sizeof(h->comm));
  case H_LAYOUT:
    return get_pair(c, &h->layout_major, &h->layout_minor);
  case H_TIMING:
    return get_bool(c, &h->timing);
  case H_MAX_WORKERS:
    return get_u32(c, &h->max_workers);
  case H_NWORKERS:
    return get_u32(c, &h->nworkers);
  case H_QCAP:
    return get_u32(c, &h->local_queue_cap);
  case H_HB:
    return get_u32(c, &h->heartbeat_period_ms);
  case H_LONG_POLL:
    return get_u32(c, &h->long_poll_ms);
  case H_INTERVAL:
    return get_uint(c, &h->interval_ns);
  case H_CREATED:
    return get_uint(c, &h->created_mono_ns);
  case H_STARTED_MONO:
    return get_uint(c, &h->started_mono_ns);
  case H_STARTED_REAL:
    return get_uint(c, &h->started_realtime_ns);
  case H_METRICS:
    return get_metrics(c, h);
  case H_BOUNDS:
    return get_bounds(c, h);
  default:
    return skip(c);
  }
}

/* This build's metric of that name, scope and kind (a histogram only as a histogram), or -1. */
static int known_id(const rec_metric *m) {
  for (size_t i = 0; i < SCHEDRT_M__COUNT; i++) {
    const schedrt_metric_desc *d = schedrt_metric_info(i);
    int kind_ok = (d->kind == SCHEDRT_METRIC_HISTOGRAM) == (m->kind == REC_HISTOGRAM);
    int scope_ok = (d->scope == SCHEDRT_SCOPE_WORKER) == (m->scope == REC_WORKER);
    if (kind_ok && scope_ok && strcmp(d->name, m->name) == 0)
      return (int)i;
  }
  return -1;
}

/* Everything the samples' shape depends on, checked once; then the maps into a snapshot. */
static int check_header(struct cur *c, rec_header *h, struct rec_maps *mp) {
  if (h->max_workers == 0 || h->max_workers > REC_MAX_WORKERS)
    return fail(c, NULL, "max_workers %u: expected 1 to %u", h->max_workers, REC_MAX_WORKERS);
  if (h->nworkers > h->max_workers)
    return fail(c, NULL, "nworkers %u is more than max_workers %u", h->nworkers, h->max_workers);
  for (uint32_t i = 0; i < h->nmetrics; i++) {
    rec_metric *m = &h->metrics[i];
    if (m->kind == REC_HISTOGRAM && (m->scope != REC_WORKER || m->count != h->nbuckets))
      return fail(c, NULL, "histogram \"%s\": expected a worker metric of %u buckets", m->name, h->nbuckets);
    if (m->kind != REC_HISTOGRAM && m->count != 1)
      return fail(c, NULL, "metric \"%s\": a count of %u, expected 1", m->name, m->count);
    m->known_id = known_id(m);
    if (m->kind == REC_HISTOGRAM)
      h->nhist++;
    else if (m->scope == REC_WORKER)
      h->nworker_values++;
    else
      h->nglobal_values++;
  }
  mp->wmap = calloc(h->nworker_values + 1, sizeof(int));
  mp->gmap = calloc(h->nglobal_values + 1, sizeof(int));
  mp->hmap = calloc(h->nhist + 1, sizeof(int));
  if (!mp->wmap || !mp->gmap || !mp->hmap)
    return -ENOMEM;
  uint32_t nw = 0, ng = 0, nh = 0;
  for (uint32_t i = 0; i < h->nmetrics; i++) {
    const rec_metric *m = &h->metrics[i];
    int id = m->known_id;
    if (m->kind == REC_HISTOGRAM)
      mp->hmap[nh++] = id >= 0 ? id - SCHEDRT_M__HIST_FIRST : -1;
    else if (m->scope == REC_WORKER)
      mp->wmap[nw++] = id >= 0 && id < SCHEDRT_M__WSLOT_COUNT ? id : -1;
    else
      mp->gmap[ng++] =
          id >= SCHEDRT_M__GLOBAL_FIRST && id < SCHEDRT_M__HIST_FIRST ? id - SCHEDRT_M__GLOBAL_FIRST : -1;
  }
  return 0;
}

static int parse_header(struct cur *c, rec_header *h, struct rec_maps *mp) {
  struct schedrt__cbor_ev e, k;
  uint64_t seen = 0;
  snprintf(c->where, sizeof(c->where), "header");
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc || e.kind != SCHEDRT__CBOR_TAG || e.v != 55799) {
    c->failed = 0;
    c->truncated = 0;
    fail(c, at, "not a recording: no self-described CBOR tag (55799) at the start");
    return SCHEDRT_EMAGIC;
  }
  rc = open_container(c, &e, SCHEDRT__CBOR_MAP);
  if (rc)
    return rc;
  for (uint64_t i = 0; !rc && i < e.v; i++) {
    at = c->p;
    rc = get_key(c, &k);
    if (rc)
      break;
    unsigned key = 0;
    while (key < H__COUNT && !key_is(&k, header_keys[key]))
      key++;
    if (i == 0 && key != H_FORMAT) {
      c->failed = 0;
      fail(c, at, "not a recording: the header's first key is not \"format\"");
      return SCHEDRT_EMAGIC;
    }
    if (key < H__COUNT && (rc = seen_once(c, at, &seen, key, header_keys[key])))
      break;
    rc = header_key(c, h, key, at);
  }
  if (rc)
    return rc;
  c->depth--;
  for (size_t i = 0; i < sizeof(header_required) / sizeof(header_required[0]); i++)
    if (!(seen & (1ull << header_required[i])))
      return fail(c, NULL, "the key \"%s\" is missing", header_keys[header_required[i]]);
  return check_header(c, h, mp);
}

/* ------------------------------------------------------------- samples */

/* Where a known worker metric lives in the reader's struct, by metric id. */
#define WFIELD(id, kind, off, type, unit, help, pub) offsetof(schedrt_worker_snap, id),
static const size_t wfield[SCHEDRT_M__WSLOT_COUNT] = {SCHEDRT_WSLOT_METRICS(WFIELD)};
#undef WFIELD
#define GFIELD(id, kind, off, type, unit, help, pub) offsetof(schedrt_global_snap, id),
static const size_t gfield[SCHEDRT_M__GLOBAL_COUNT] = {SCHEDRT_GLOBAL_METRICS(GFIELD)};
#undef GFIELD

static void set_field(void *base, size_t off, uint64_t v) { memcpy((char *)base + off, &v, sizeof(v)); }

/* n unsigned values into fields through map (NULL out: only checked). */
static int get_values(struct cur *c, uint32_t n, const int *map, const size_t *fields, void *out,
                      const char *what) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
  if (rc)
    return rc;
  if (e.v != n)
    return fail(c, at, "%s: expected %u values, found %llu", what, n, (unsigned long long)e.v);
  for (uint32_t i = 0; !rc && i < n; i++) {
    uint64_t v;
    rc = get_uint(c, &v);
    if (!rc && out && map[i] >= 0)
      set_field(out, fields[map[i]], v);
  }
  c->depth--;
  return rc;
}

static int get_task(struct cur *c, schedrt_worker_snap *ws) {
  struct schedrt__cbor_ev e, k;
  schedrt_worker_snap scratch;
  if (!ws)
    ws = &scratch;
  int rc = open_container(c, &e, SCHEDRT__CBOR_MAP);
  for (uint64_t i = 0; !rc && i < e.v; i++) {
    rc = get_key(c, &k);
    if (rc)
      break;
    if (key_is(&k, "id"))
      rc = get_uint(c, &ws->current_task);
    else if (key_is(&k, "since_ns"))
      rc = get_uint(c, &ws->current_since_ns);
    else if (key_is(&k, "since_resolution_ns"))
      rc = get_uint(c, &ws->since_resolution_ns);
    else if (key_is(&k, "name"))
      rc = get_text(c, ws->current_name, sizeof(ws->current_name));
    else if (key_is(&k, "file"))
      rc = get_text(c, ws->current_file, sizeof(ws->current_file));
    else if (key_is(&k, "line"))
      rc = get_u32(c, &ws->current_line);
    else
      rc = skip(c);
  }
  if (!rc)
    c->depth--;
  return rc;
}

/* The histograms of worker wi: nhist arrays of nbuckets counts, the known ones into s->hist. */
static int get_histograms(struct cur *c, const rec_header *h, const struct rec_maps *mp, schedrt_snapshot *s,
                          uint32_t wi) {
  struct schedrt__cbor_ev e, b;
  const uint8_t *at = c->p;
  int rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
  if (rc)
    return rc;
  if (e.v != h->nhist)
    return fail(c, at, "histograms: expected %u, found %llu", h->nhist, (unsigned long long)e.v);
  for (uint32_t hi = 0; !rc && hi < h->nhist; hi++) {
    at = c->p;
    rc = open_container(c, &b, SCHEDRT__CBOR_ARRAY);
    if (rc)
      break;
    if (b.v != h->nbuckets)
      return fail(c, at, "histograms[%u]: expected %u buckets, found %llu", hi, h->nbuckets,
                  (unsigned long long)b.v);
    uint64_t *dst = NULL;
    if (s && mp->hmap[hi] >= 0)
      dst = s->hist + ((size_t)wi * SCHEDRT_M__HIST_COUNT + (size_t)mp->hmap[hi]) * s->hist_buckets;
    for (uint32_t k = 0; !rc && k < h->nbuckets; k++) {
      uint64_t v;
      rc = get_uint(c, &v);
      if (!rc && dst)
        dst[k] = v;
    }
    c->depth--;
  }
  if (!rc)
    c->depth--;
  return rc;
}

static int get_worker(struct cur *c, const rec_header *h, const struct rec_maps *mp, schedrt_snapshot *s,
                      uint32_t wi, int *has_hist) {
  struct schedrt__cbor_ev e, k;
  int torn = 0, have_values = 0;
  schedrt_worker_snap *ws = s ? &s->workers[wi] : NULL;
  if (ws) {
    memset(ws, 0, sizeof(*ws));
    ws->index = wi;
  }
  *has_hist = 0;
  int rc = open_container(c, &e, SCHEDRT__CBOR_MAP);
  for (uint64_t i = 0; !rc && i < e.v; i++) {
    rc = get_key(c, &k);
    if (rc)
      break;
    if (key_is(&k, "torn")) {
      rc = get_bool(c, &torn);
    } else if (key_is(&k, "values")) {
      have_values = 1;
      rc = get_values(c, h->nworker_values, mp->wmap, wfield, ws, "values");
    } else if (key_is(&k, "busy_ns_live")) {
      uint64_t v;
      rc = get_uint(c, &v);
      if (!rc && ws)
        ws->busy_ns_live = v;
    } else if (key_is(&k, "task")) {
      rc = get_task(c, ws);
    } else if (key_is(&k, "histograms")) {
      if (!h->timing)
        rc = fail(c, NULL, "histograms in a recording without timing");
      else
        rc = get_histograms(c, h, mp, s, wi);
      *has_hist = 1;
    } else {
      rc = skip(c);
    }
  }
  if (rc)
    return rc;
  c->depth--;
  if (!torn && !have_values)
    return fail(c, NULL, "a worker needs \"values\" (or \"torn\": true)");
  if (ws && torn) {
    memset(ws, 0, sizeof(*ws));
    ws->index = wi;
    ws->torn = 1;
  }
  return 0;
}

static int liveness_of(const char *name) {
  for (int l = SCHEDRT_LIVENESS_UNKNOWN; l <= SCHEDRT_LIVENESS_EXITING; l++)
    if (strcmp(name, schedrt_liveness_name((schedrt_liveness)l)) == 0)
      return l;
  return SCHEDRT_LIVENESS_UNKNOWN;
}

/* One sample map (its head already read: n entries); into s when s is not NULL. */
static int parse_sample(struct cur *c, uint64_t n, const rec_header *h, const struct rec_maps *mp,
                        schedrt_snapshot *s, uint64_t *realtime_ns) {
  struct schedrt__cbor_ev e, k;
  uint64_t seen = 0, v;
  char text[32];
  int rc = 0, all_hist = 1;
  if (s) {
    uint32_t keep_max = s->max_workers, keep_buckets = s->hist_buckets;
    schedrt_worker_snap *keep_w = s->workers;
    uint64_t *keep_h = s->hist;
    memset(s, 0, sizeof(*s));
    s->workers = keep_w;
    s->hist = keep_h;
    s->max_workers = keep_max;
    s->hist_buckets = keep_buckets;
    s->global.torn = 1;
  }
  for (uint64_t i = 0; !rc && i < n; i++) {
    const uint8_t *at = c->p;
    rc = get_key(c, &k);
    if (rc)
      break;
    if (key_is(&k, "mono_ns")) {
      rc = seen_once(c, at, &seen, 0, "mono_ns") || get_uint(c, &v) ? SCHEDRT_ECORRUPT : 0;
      if (!rc && s)
        s->taken_mono_ns = v;
    } else if (key_is(&k, "realtime_ns")) {
      rc = get_uint(c, &v);
      if (!rc && realtime_ns)
        *realtime_ns = v;
    } else if (key_is(&k, "writer_ns")) {
      rc = get_uint(c, &v);
      if (!rc && s)
        s->writer_now_ns = v;
    } else if (key_is(&k, "heartbeat_ns")) {
      rc = get_uint(c, &v);
      if (!rc && s)
        s->heartbeat_mono_ns = v;
    } else if (key_is(&k, "liveness")) {
      rc = get_text(c, text, sizeof(text));
      if (!rc && s)
        s->liveness = (schedrt_liveness)liveness_of(text);
    } else if (key_is(&k, "seg_state")) {
      uint32_t st = 0;
      rc = get_u32(c, &st);
      if (!rc && s)
        s->seg_state = st;
    } else if (key_is(&k, "global")) {
      rc = seen_once(c, at, &seen, 1, "global");
      if (!rc && c->p < c->end && (*c->p == 0xf6 || *c->p == 0xf7)) {
        rc = skip(c); /* null: the global area was torn */
      } else if (!rc) {
        rc = get_values(c, h->nglobal_values, mp->gmap, gfield, s ? &s->global : NULL, "global");
        if (!rc && s)
          s->global.torn = 0;
      }
    } else if (key_is(&k, "workers")) {
      rc = seen_once(c, at, &seen, 2, "workers");
      if (!rc)
        rc = open_container(c, &e, SCHEDRT__CBOR_ARRAY);
      if (!rc && e.v > h->max_workers)
        rc = fail(c, at, "%llu workers, more than max_workers %u", (unsigned long long)e.v, h->max_workers);
      for (uint32_t wi = 0; !rc && wi < e.v; wi++) {
        int has_hist;
        size_t base = strlen(c->where);
        snprintf(c->where + base, sizeof(c->where) - base, ": workers[%u]", wi);
        rc = get_worker(c, h, mp, s, wi, &has_hist);
        if (!rc)
          c->where[base] = '\0';
        all_hist &= has_hist || (s && s->workers[wi].torn);
        if (!rc && s) {
          s->nworkers = wi + 1;
          s->ntorn += s->workers[wi].torn;
        }
      }
      if (!rc)
        c->depth--;
    } else {
      rc = skip(c);
    }
  }
  if (rc)
    return rc;
  if ((seen & 7) != 7)
    return fail(c, NULL, "a sample needs mono_ns, global and workers");
  if (s) {
    s->ntorn += s->global.torn;
    s->hist_taken = h->timing && all_hist && s->nworkers > 0;
    if (!s->writer_now_ns)
      s->writer_now_ns = s->taken_mono_ns;
  }
  return 0;
}

/* The trailer: {"end": reason, "samples": n}. */
static int parse_trailer(struct cur *c, uint64_t n, recording *r) {
  struct schedrt__cbor_ev k;
  int rc = 0;
  for (uint64_t i = 0; !rc && i < n; i++) {
    rc = get_key(c, &k);
    if (rc)
      break;
    if (key_is(&k, "end"))
      rc = get_text(c, r->end, sizeof(r->end));
    else
      rc = skip(c);
  }
  return rc;
}

/* Is the map whose head was just read a trailer? Its first key says (without consuming it). */
static int first_key_is(const struct cur *c, const char *name) {
  struct cur peek = *c;
  struct schedrt__cbor_ev k;
  peek.err = NULL;
  return get_key(&peek, &k) == 0 && key_is(&k, name);
}

/* The most bytes one sample of this header can take: an incomplete item longer than that is corruption. */
static size_t max_sample_bytes(const rec_header *h) {
  size_t per_worker = 64 + (size_t)h->nworker_values * 9 + 9 + 200 + (size_t)h->nhist * (9 + h->nbuckets * 9);
  return 256 + (size_t)h->nglobal_values * 9 + (size_t)h->max_workers * per_worker;
}

/* ------------------------------------------------------------- public */

void rec_free(recording *r) {
  if (!r)
    return;
  struct rec_maps *mp = (struct rec_maps *)(r + 1);
  free(mp->wmap);
  free(mp->gmap);
  free(mp->hmap);
  free(r->h.metrics);
  free(r->sample_off);
  free(r->data);
  free(r);
}

static const struct rec_maps *maps_of(const recording *r) { return (const struct rec_maps *)(r + 1); }

int rec_sniff(const uint8_t *data, size_t len) {
  struct cur c = {.start = data, .p = data, .end = data + len};
  struct schedrt__cbor_ev e, k;
  char text[32];
  if (next(&c, &e) || e.kind != SCHEDRT__CBOR_TAG || e.v != 55799)
    return 0;
  if (next(&c, &e) || e.kind != SCHEDRT__CBOR_MAP || e.v == 0)
    return 0;
  if (get_key(&c, &k) || !key_is(&k, "format"))
    return 0;
  return get_text(&c, text, sizeof(text)) == 0 && strcmp(text, REC_FORMAT) == 0;
}

/* O_NONBLOCK: a FIFO without a writer would block the open; a non-regular file is refused anyway. */
static int open_regular(const char *path, struct stat *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return -errno;
  if (fstat(fd, st) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

int rec_sniff_file(const char *path) {
  struct stat st;
  uint8_t head[128];
  int fd = open_regular(path, &st);
  if (fd < 0)
    return fd;
  ssize_t n = S_ISREG(st.st_mode) ? pread(fd, head, sizeof(head), 0) : 0;
  int e = n < 0 ? -errno : 0;
  close(fd);
  return e ? e : rec_sniff(head, (size_t)n);
}

/* Parses data (len bytes, malloc'ed: the recording keeps it, or it is freed on failure). */
static int parse_owned(uint8_t *data, size_t len, recording **out, char *err, size_t errsize) {
  *out = NULL;
  if (err && errsize)
    err[0] = '\0';
  recording *r = calloc(1, sizeof(*r) + sizeof(struct rec_maps));
  if (!r) {
    free(data);
    snprintf(err, errsize, "out of memory");
    return -ENOMEM;
  }
  r->data = data;
  r->len = len;
  struct cur c = {.start = r->data, .p = r->data, .end = r->data + len, .err = err, .errsize = errsize};
  struct rec_maps *mp = (struct rec_maps *)(r + 1);
  int rc = parse_header(&c, &r->h, mp);
  if (rc == -ENOMEM)
    snprintf(err, errsize, "out of memory");
  size_t cap = 0, max_item = rc ? 0 : max_sample_bytes(&r->h);
  while (!rc && c.p < c.end) {
    const uint8_t *item = c.p;
    struct schedrt__cbor_ev e;
    snprintf(c.where, sizeof(c.where), "sample %zu", r->nsamples);
    if (r->end[0]) {
      rc = fail(&c, item, "%zu bytes after the trailer", (size_t)(c.end - c.p));
      break;
    }
    rc = expect(&c, &e, SCHEDRT__CBOR_MAP);
    int trailer = !rc && first_key_is(&c, "end");
    if (trailer) {
      snprintf(c.where, sizeof(c.where), "trailer");
      rc = parse_trailer(&c, e.v, r);
      if (!rc && !r->end[0])
        rc = fail(&c, item, "an empty end reason");
    } else if (!rc) {
      rc = parse_sample(&c, e.v, &r->h, mp, NULL, NULL);
    }
    if (rc && c.truncated && (size_t)(c.end - item) <= max_item) {
      /* The recorder was killed while writing this last item: the samples before it stand. */
      r->tail_bytes = (size_t)(c.end - item);
      r->end[0] = '\0';
      rc = 0;
      if (err && errsize)
        err[0] = '\0';
      break;
    }
    if (rc || trailer)
      continue;
    if (r->nsamples == cap) {
      cap = cap ? 2 * cap : 256;
      size_t *o = realloc(r->sample_off, cap * sizeof(*o));
      if (!o) {
        rc = -ENOMEM;
        snprintf(err, errsize, "out of memory");
        break;
      }
      r->sample_off = o;
    }
    r->sample_off[r->nsamples++] = (size_t)(item - r->data);
  }
  if (rc) {
    rec_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int rec_parse(const uint8_t *data, size_t len, recording **out, char *err, size_t errsize) {
  *out = NULL;
  if (len > REC_MAX_SIZE) {
    snprintf(err, errsize, "larger than 1 GiB: not a recording");
    return SCHEDRT_ECORRUPT;
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    snprintf(err, errsize, "out of memory");
    return -ENOMEM;
  }
  memcpy(copy, data, len);
  return parse_owned(copy, len, out, err, errsize);
}

int rec_load(const char *path, recording **out, char *err, size_t errsize) {
  struct stat st;
  *out = NULL;
  int fd = open_regular(path, &st);
  if (fd < 0) {
    snprintf(err, errsize, "%s", strerror(-fd));
    return fd;
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > REC_MAX_SIZE) {
    close(fd);
    snprintf(err, errsize, "%s",
             S_ISREG(st.st_mode)   ? "larger than 1 GiB: not a recording"
             : S_ISDIR(st.st_mode) ? "a directory, not a recording"
                                   : "not a regular file (a FIFO, socket or device)");
    return SCHEDRT_ECORRUPT;
  }
  size_t size = (size_t)st.st_size, got = 0;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    close(fd);
    snprintf(err, errsize, "out of memory");
    return -ENOMEM;
  }
  while (got < size) {
    ssize_t k = read(fd, buf + got, size - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break; /* shorter than fstat said (truncated meanwhile): parse what there is */
    got += (size_t)k;
  }
  close(fd);
  return parse_owned(buf, got, out, err, errsize); /* the file's bytes, not a copy of them */
}

int rec_snapshot_init(const recording *r, schedrt_snapshot *s) {
  memset(s, 0, sizeof(*s));
  s->max_workers = r->h.max_workers;
  s->hist_buckets = r->h.nbuckets;
  s->workers = calloc(r->h.max_workers, sizeof(*s->workers));
  s->hist = calloc((size_t)r->h.max_workers * SCHEDRT_M__HIST_COUNT * (r->h.nbuckets ? r->h.nbuckets : 1),
                   sizeof(uint64_t));
  if (!s->workers || !s->hist) {
    rec_snapshot_fini(s);
    return -ENOMEM;
  }
  return 0;
}

void rec_snapshot_fini(schedrt_snapshot *s) {
  free(s->workers);
  free(s->hist);
  memset(s, 0, sizeof(*s));
}

int rec_sample_read(const recording *r, size_t i, schedrt_snapshot *s, uint64_t *realtime_ns) {
  if (i >= r->nsamples || !s->workers || s->max_workers < r->h.max_workers ||
      (r->h.timing && r->h.nbuckets && (!s->hist || s->hist_buckets != r->h.nbuckets)))
    return -EINVAL;
  struct cur c = {.start = r->data, .p = r->data + r->sample_off[i], .end = r->data + r->len};
  struct schedrt__cbor_ev e;
  if (realtime_ns)
    *realtime_ns = 0;
  int rc = expect(&c, &e, SCHEDRT__CBOR_MAP);
  if (!rc)
    rc = parse_sample(&c, e.v, &r->h, maps_of(r), s, realtime_ns);
  return rc ? -EINVAL : 0; /* checked at load: cannot happen */
}
