/*
 * Writing recordings (recording.h, docs/recording-format.md) with libcbor's
 * streaming encoders (cbor_encode_*) into a buffer that grows to the size of
 * the largest item once and is then reused: a sample allocates nothing. Each
 * item goes to the kernel in one write (retried for the rest on a short
 * write), so a recorder killed at any point leaves whole samples and at most
 * one incomplete item at the end, which the reader leaves out.
 */
#include <cbor.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recording.h"
#include "schedrt/proto/shm_layout.h"

#define HEAD_MAX 9 /* the longest item head: the initial byte and a 64-bit argument */

/* Room for n more bytes. 0 or -ENOMEM. */
static int room(rec_writer *w, size_t n) {
  if (w->len + n <= w->cap)
    return 0;
  size_t cap = w->cap ? w->cap : 4096;
  while (cap < w->len + n)
    cap *= 2;
  uint8_t *b = realloc(w->buf, cap);
  if (!b)
    return -ENOMEM;
  w->buf = b;
  w->cap = cap;
  return 0;
}

/* Each encoder gets HEAD_MAX bytes, which every head fits: a 0 from libcbor cannot happen here. */
#define PUT_HEAD(w, call)                                                                                    \
  do {                                                                                                       \
    if (room((w), HEAD_MAX))                                                                                 \
      return -ENOMEM;                                                                                        \
    (w)->len += call;                                                                                        \
  } while (0)

static int put_uint(rec_writer *w, uint64_t v) {
  PUT_HEAD(w, cbor_encode_uint(v, w->buf + w->len, HEAD_MAX));
  return 0;
}
static int put_map(rec_writer *w, size_t n) {
  PUT_HEAD(w, cbor_encode_map_start(n, w->buf + w->len, HEAD_MAX));
  return 0;
}
static int put_array(rec_writer *w, size_t n) {
  PUT_HEAD(w, cbor_encode_array_start(n, w->buf + w->len, HEAD_MAX));
  return 0;
}
static int put_bool(rec_writer *w, int v) {
  PUT_HEAD(w, cbor_encode_bool(v != 0, w->buf + w->len, HEAD_MAX));
  return 0;
}
static int put_null(rec_writer *w) {
  PUT_HEAD(w, cbor_encode_null(w->buf + w->len, HEAD_MAX));
  return 0;
}
static int put_text(rec_writer *w, const char *s) {
  size_t n = strlen(s);
  if (room(w, HEAD_MAX + n))
    return -ENOMEM;
  w->len += cbor_encode_string_start(n, w->buf + w->len, HEAD_MAX);
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  return 0;
}
/* A key and its unsigned value. */
static int kv_uint(rec_writer *w, const char *k, uint64_t v) { return put_text(w, k) || put_uint(w, v); }
static int kv_text(rec_writer *w, const char *k, const char *v) { return put_text(w, k) || put_text(w, v); }

/* The buffer to the file, whole; then it is empty again. The first failure stops all later writes. */
static int flush_item(rec_writer *w) {
  size_t off = 0;
  if (w->failed)
    return w->failed;
  while (off < w->len) {
    ssize_t k = write(w->fd, w->buf + off, w->len - off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      w->failed = k < 0 ? -errno : -EIO;
      return w->failed;
    }
    off += (size_t)k;
  }
  w->len = 0;
  return 0;
}

static const char *kind_text(schedrt_metric_kind k) {
  return k == SCHEDRT_METRIC_COUNTER ? "counter" : k == SCHEDRT_METRIC_GAUGE ? "gauge" : "histogram";
}

static int put_descriptor(rec_writer *w, const schedrt_reader_desc *d) {
  if (put_map(w, 6) || kv_text(w, "name", d->name) || kv_text(w, "unit", d->unit) ||
      kv_text(w, "help", d->help) || kv_text(w, "kind", kind_text(d->kind)) ||
      kv_text(w, "scope", d->scope == SCHEDRT_SCOPE_WORKER ? "worker" : "global") ||
      kv_uint(w, "count", d->count))
    return -ENOMEM;
  return 0;
}

int rec_writer_open(rec_writer *w, int fd, const schedrt_reader *r, const rec_writer_opts *o) {
  const schedrt_segment_info *info = schedrt_reader_info(r);
  size_t nd = schedrt_reader_desc_count(r);
  memset(w, 0, sizeof(*w));
  w->fd = fd;
  w->timing = (info->features & SCHEDRT_SHM_F_TIMING) != 0 && !o->no_histograms;
  /* 55799: self-described CBOR, as dumps start; the header is the sequence's first item. */
  if (room(w, HEAD_MAX))
    return -ENOMEM;
  w->len += cbor_encode_tag(55799, w->buf, HEAD_MAX);
  if (put_map(w, 21) || kv_text(w, "format", REC_FORMAT) || put_text(w, "version") || put_array(w, 2) ||
      put_uint(w, REC_VERSION_MAJOR) || put_uint(w, REC_VERSION_MINOR) ||
      kv_text(w, "recorder", "sched-inspect " SCHEDRT_VERSION_STRING) || kv_uint(w, "pid", info->pid) ||
      kv_text(w, "runtime", info->runtime_name) || kv_text(w, "runtime_version", info->runtime_version) ||
      kv_uint(w, "runtime_index", info->runtime_index) || kv_text(w, "comm", info->comm) ||
      put_text(w, "layout") || put_array(w, 2) || put_uint(w, info->layout_major) ||
      put_uint(w, info->layout_minor) || put_text(w, "timing") || put_bool(w, w->timing) ||
      kv_uint(w, "max_workers", info->max_workers) || kv_uint(w, "nworkers", o->nworkers) ||
      kv_uint(w, "local_queue_cap", info->local_queue_cap) ||
      kv_uint(w, "heartbeat_period_ms", info->heartbeat_period_ms) ||
      kv_uint(w, "long_poll_ms", info->long_poll_ms) || kv_uint(w, "interval_ns", o->interval_ns) ||
      kv_uint(w, "created_mono_ns", info->create_mono_ns) ||
      kv_uint(w, "started_mono_ns", o->started_mono_ns) ||
      kv_uint(w, "started_realtime_ns", o->started_realtime_ns) || put_text(w, "metrics") || put_array(w, nd))
    return -ENOMEM;
  for (size_t i = 0; i < nd; i++)
    if (put_descriptor(w, schedrt_reader_desc_at(r, i)))
      return -ENOMEM;
  if (put_text(w, "histogram_bounds_ns") || put_array(w, info->hist_buckets))
    return -ENOMEM;
  for (uint32_t i = 0; i < info->hist_buckets; i++)
    if (put_uint(w, info->hist_upper_ns[i]))
      return -ENOMEM;
  return flush_item(w);
}

/* One value of descriptor i for worker wi (ignored for globals): from the snapshot when this build knows
 * the metric (consistent with the rest of the sample), else read from the segment now. */
static uint64_t value_of(schedrt_reader *r, const schedrt_snapshot *s, size_t i, const schedrt_reader_desc *d,
                         uint32_t wi) {
  uint64_t v = 0;
  if (d->known && schedrt_snapshot_value(s, d->known_id, wi, &v) == 0)
    return v;
  if (schedrt_snapshot_raw(r, i, wi, 0, &v) != 0)
    v = 0;
  return v;
}

static int put_task(rec_writer *w, const schedrt_worker_snap *ws) {
  int named = ws->current_file[0] != '\0';
  if (put_text(w, "task") || put_map(w, named ? 6 : 3) || kv_uint(w, "id", ws->current_task) ||
      kv_uint(w, "since_ns", ws->current_since_ns) ||
      kv_uint(w, "since_resolution_ns", ws->since_resolution_ns))
    return -ENOMEM;
  /* The monitor's naming of a long poll: the segment's own words, already made printable by the reader. */
  if (named && (kv_text(w, "name", ws->current_name) || kv_text(w, "file", ws->current_file) ||
                kv_uint(w, "line", ws->current_line)))
    return -ENOMEM;
  return 0;
}

static int put_histograms(rec_writer *w, schedrt_reader *r, const schedrt_snapshot *s, uint32_t wi,
                          size_t nd) {
  size_t nh = 0;
  for (size_t i = 0; i < nd; i++)
    nh += schedrt_reader_desc_at(r, i)->kind == SCHEDRT_METRIC_HISTOGRAM;
  if (put_text(w, "histograms") || put_array(w, nh))
    return -ENOMEM;
  for (size_t i = 0; i < nd; i++) {
    const schedrt_reader_desc *d = schedrt_reader_desc_at(r, i);
    if (d->kind != SCHEDRT_METRIC_HISTOGRAM)
      continue;
    const uint64_t *b =
        d->known ? schedrt_snapshot_hist(s, wi, (uint32_t)(d->known_id - SCHEDRT_M__HIST_FIRST)) : NULL;
    if (put_array(w, d->count))
      return -ENOMEM;
    for (uint32_t k = 0; k < d->count; k++) {
      uint64_t v = 0;
      if (b && k < s->hist_buckets)
        v = b[k];
      else if (!b && schedrt_snapshot_raw(r, i, wi, k, &v) != 0)
        v = 0;
      if (put_uint(w, v))
        return -ENOMEM;
    }
  }
  return 0;
}

static int put_worker(rec_writer *w, schedrt_reader *r, const schedrt_snapshot *s, uint32_t wi, size_t nd) {
  const schedrt_worker_snap *ws = &s->workers[wi];
  if (ws->torn)
    return put_map(w, 1) || put_text(w, "torn") || put_bool(w, 1) ? -ENOMEM : 0;
  size_t nv = 0;
  for (size_t i = 0; i < nd; i++) {
    const schedrt_reader_desc *d = schedrt_reader_desc_at(r, i);
    nv += d->scope == SCHEDRT_SCOPE_WORKER && d->kind != SCHEDRT_METRIC_HISTOGRAM;
  }
  int hist = w->timing && s->hist_taken;
  if (put_map(w, 2 + (ws->current_task != 0) + hist) || put_text(w, "values") || put_array(w, nv))
    return -ENOMEM;
  for (size_t i = 0; i < nd; i++) {
    const schedrt_reader_desc *d = schedrt_reader_desc_at(r, i);
    if (d->scope == SCHEDRT_SCOPE_WORKER && d->kind != SCHEDRT_METRIC_HISTOGRAM &&
        put_uint(w, value_of(r, s, i, d, wi)))
      return -ENOMEM;
  }
  if (kv_uint(w, "busy_ns_live", ws->busy_ns_live))
    return -ENOMEM;
  if (ws->current_task && put_task(w, ws))
    return -ENOMEM;
  if (hist && put_histograms(w, r, s, wi, nd))
    return -ENOMEM;
  return 0;
}

int rec_writer_sample(rec_writer *w, schedrt_reader *r, const schedrt_snapshot *s, uint64_t realtime_ns) {
  size_t nd = schedrt_reader_desc_count(r);
  if (w->failed)
    return w->failed;
  w->len = 0;
  if (put_map(w, 8) || kv_uint(w, "mono_ns", s->taken_mono_ns) || kv_uint(w, "realtime_ns", realtime_ns) ||
      kv_uint(w, "writer_ns", s->writer_now_ns) || kv_uint(w, "heartbeat_ns", s->heartbeat_mono_ns) ||
      kv_text(w, "liveness", schedrt_liveness_name(s->liveness)) || kv_uint(w, "seg_state", s->seg_state) ||
      put_text(w, "global"))
    return -ENOMEM;
  if (s->global.torn) {
    if (put_null(w))
      return -ENOMEM;
  } else {
    size_t ng = 0;
    for (size_t i = 0; i < nd; i++)
      ng += schedrt_reader_desc_at(r, i)->scope == SCHEDRT_SCOPE_GLOBAL;
    if (put_array(w, ng))
      return -ENOMEM;
    for (size_t i = 0; i < nd; i++) {
      const schedrt_reader_desc *d = schedrt_reader_desc_at(r, i);
      if (d->scope == SCHEDRT_SCOPE_GLOBAL && put_uint(w, value_of(r, s, i, d, 0)))
        return -ENOMEM;
    }
  }
  if (put_text(w, "workers") || put_array(w, s->nworkers))
    return -ENOMEM;
  for (uint32_t wi = 0; wi < s->nworkers; wi++) {
    int rc = put_worker(w, r, s, wi, nd);
    if (rc)
      return rc;
  }
  int rc = flush_item(w);
  if (!rc)
    w->samples++;
  return rc;
}

int rec_writer_end(rec_writer *w, const char *reason) {
  if (w->failed)
    return w->failed;
  w->len = 0;
  if (put_map(w, 2) || kv_text(w, "end", reason) || kv_uint(w, "samples", w->samples))
    return -ENOMEM;
  return flush_item(w);
}

void rec_writer_fini(rec_writer *w) {
  free(w->buf);
  w->buf = NULL;
  w->len = w->cap = 0;
}
