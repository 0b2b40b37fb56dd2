/* The event rings of a layout 2.6 segment (shm_layout.h): validation and reading. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "reader_internal.h"
#include "schedrt/proto/seqlock.h"

int schedrt__reader_events_open(struct schedrt_reader *r, const struct schedrt_shm_header *h,
                                uint32_t header_size) {
  r->ev_nrings = 0;
  /* Older writers (and events off): the fields were reserved, zero. */
  if (header_size < offsetof(struct schedrt_shm_header, events_size) + 4u || h->events_off == 0)
    return 0;
  uint32_t off = h->events_off, size = h->events_size;
  if (off % 8 != 0 || off < header_size || size < SCHEDRT_SHM_EVENTS_HDR_SIZE ||
      !schedrt__reader_fits(off, 1, size, r->total_size))
    return SCHEDRT_ECORRUPT;
  /* Written before READY and never again (the calibration aside): plain reads, once. */
  const struct schedrt_shm_events *e = (const struct schedrt_shm_events *)(const void *)(r->base + off);
  uint32_t nrings = e->nrings, cap = e->ring_cap, rec = e->rec_size, ring_off = e->ring_off;
  uint32_t stride = e->ring_stride, clock = e->clock;
  if (nrings == 0 || nrings > r->max_workers + 1u || cap < SCHEDRT_SHM_EV_MIN || cap > SCHEDRT_SHM_EV_MAX ||
      (cap & (cap - 1u)) != 0 || rec < SCHEDRT_SHM_EV_REC_SIZE || rec % 8 != 0 || ring_off % 8 != 0 ||
      ring_off < SCHEDRT_SHM_EVENTS_HDR_SIZE ||
      (uint64_t)SCHEDRT_SHM_EV_RING_HDR_SIZE + (uint64_t)cap * rec > stride || stride % 8 != 0 ||
      !schedrt__reader_fits(ring_off, nrings, stride, size) ||
      (clock != SCHEDRT_SHM_EV_CLOCK_MONO && clock != SCHEDRT_SHM_EV_CLOCK_TSC))
    return SCHEDRT_ECORRUPT;
  r->events_off = off;
  r->ev_nrings = nrings;
  r->ev_cap = cap;
  r->ev_rec_size = rec;
  r->ev_ring_off = off + ring_off;
  r->ev_ring_stride = stride;
  r->ev_clock = clock;
  return 0;
}

uint32_t schedrt_reader_event_rings(const schedrt_reader *r) { return r ? r->ev_nrings : 0; }
uint32_t schedrt_reader_event_cap(const schedrt_reader *r) { return r && r->ev_nrings ? r->ev_cap : 0; }

const char *schedrt_event_kind_name(uint32_t kind) {
  switch (kind) {
#define SCHEDRT__EV_NAME(id, value, name, a, b, help)                                                        \
  case (value):                                                                                              \
    return name;
    SCHEDRT_EVENT_KINDS(SCHEDRT__EV_NAME)
#undef SCHEDRT__EV_NAME
  default:
    return NULL;
  }
}

const char *schedrt_event_arg_name(uint32_t kind, int which) {
  switch (kind) {
#define SCHEDRT__EV_ARG(id, value, name, a, b, help)                                                         \
  case (value):                                                                                              \
    return which == 0 ? a : b;
    SCHEDRT_EVENT_KINDS(SCHEDRT__EV_ARG)
#undef SCHEDRT__EV_ARG
  default:
    return NULL;
  }
}

void schedrt__reader_ev_copy(const unsigned char *recs, uint32_t cap, uint32_t rec_size,
                             struct schedrt__ev_raw *raw, uint32_t *torn) {
  *torn = 0;
  for (uint32_t i = 0; i < cap; i++) {
    const struct schedrt_shm_event *e =
        (const struct schedrt_shm_event *)(const void *)(recs + (size_t)i * rec_size);
    _Atomic uint64_t *stamp = (_Atomic uint64_t *)(uintptr_t)&e->stamp;
    /* A seqlock read of one record, once: a record being rewritten now is
     * an event being lost now, not worth waiting for. Acquire pairs with
     * the writer's release store of the final stamp. */
    uint64_t s0 = atomic_load_explicit(stamp, memory_order_acquire);
    struct schedrt__ev_raw c = {
        .stamp = s0,
        .time = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)(uintptr_t)&e->time),
        .a = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)(uintptr_t)&e->a),
        .b = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)(uintptr_t)&e->b),
    };
    schedrt_seq_fence_acquire();
    /* Relaxed: ordered after the data loads by the fence above (or their
     * acquire loads under TSan). */
    uint64_t s1 = atomic_load_explicit(stamp, memory_order_relaxed);
    uint64_t n1 = s0 >> SCHEDRT_SHM_EV_STAMP_SHIFT;
    bool ok = s0 == s1 && !(s0 & SCHEDRT_SHM_EV_BUSY) && n1 != 0 && ((n1 - 1u) & (cap - 1u)) == i &&
              ((s0 >> 1) & 0xffu) != 0;
    if (!ok) {
      /* Never written (stamp 0) is not torn: an empty record. */
      if (s0 != 0 || s1 != 0)
        (*torn)++;
      c.stamp = 0;
    }
    raw[i] = c;
  }
}

void schedrt__reader_ev_window(const struct schedrt__ev_raw *raw, uint32_t cap, uint32_t ring,
                               schedrt_event *out, uint32_t out_cap, schedrt_event_window *win) {
  uint64_t newest = 0; /* n + 1 of the newest consistent record */
  for (uint32_t i = 0; i < cap; i++) {
    uint64_t n1 = raw[i].stamp >> SCHEDRT_SHM_EV_STAMP_SHIFT;
    if (n1 > newest)
      newest = n1;
  }
  win->written = newest;
  win->n = 0;
  /* Back from the newest while the events are consecutive: a gap is an
   * event overwritten (or torn) during the copy, and what lies before it
   * may be from another lap. */
  uint32_t run = 0;
  while (run < cap && run < newest) {
    uint64_t n = newest - 1u - run;
    if ((raw[n & (cap - 1u)].stamp >> SCHEDRT_SHM_EV_STAMP_SHIFT) != n + 1u)
      break;
    run++;
  }
  uint32_t take = run < out_cap ? run : out_cap;
  for (uint32_t k = 0; k < take; k++) {
    uint64_t n = newest - take + k;
    const struct schedrt__ev_raw *c = &raw[n & (cap - 1u)];
    out[k] = (schedrt_event){.seq = n,
                             .time_ns = c->time,
                             .a = c->a,
                             .b = c->b,
                             .kind = (uint32_t)(c->stamp >> 1) & 0xffu,
                             .ring = ring};
  }
  win->n = take;
  win->lost = newest - run;
}

struct events_args {
  const struct schedrt_reader *r;
  uint32_t ring;
  struct schedrt__ev_raw *raw;
  uint32_t torn;
  struct schedrt__ev_cal cal;
};

/* Everything that touches the mapping, under schedrt__reader_guarded. */
static int copy_ring(void *arg) {
  struct events_args *a = arg;
  const struct schedrt_reader *r = a->r;
  const unsigned char *recs =
      r->base + r->ev_ring_off + (size_t)a->ring * r->ev_ring_stride + SCHEDRT_SHM_EV_RING_HDR_SIZE;
  schedrt__reader_ev_copy(recs, r->ev_cap, r->ev_rec_size, a->raw, &a->torn);
  if (r->ev_clock != SCHEDRT_SHM_EV_CLOCK_TSC)
    return 0;
  schedrt__ev_cal_read((const struct schedrt_shm_events *)(const void *)(r->base + r->events_off), &a->cal);
  return 0;
}

void schedrt__ev_cal_read(const struct schedrt_shm_events *e, struct schedrt__ev_cal *cal) {
  cal->tsc0 = e->tsc0;
  cal->ns0 = e->ns0;
  schedrt_seq_reader rd;
  SCHEDRT_SEQ_READ(&rd, &e->cal_seq, SCHEDRT_SEQ_SPINS) {
    cal->tsc1 = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)(uintptr_t)&e->tsc1);
    cal->ns1 = SCHEDRT_SEQ_LOAD((_Atomic uint64_t *)(uintptr_t)&e->ns1);
  }
  cal->ok = rd.ok;
}

/* TSC ticks to CLOCK_MONOTONIC by the two calibration pairs; 0 when they
 * give no rate (the target's values are untrusted: no division by zero, no
 * overflow, since 128-bit products). */
__extension__ typedef __int128 i128;
uint64_t schedrt__ev_tsc_to_ns(const struct schedrt__ev_cal *cal, uint64_t t) {
  if (!cal->ok || cal->tsc1 <= cal->tsc0 || cal->ns1 <= cal->ns0)
    return 0;
  i128 d = (i128)t - (i128)cal->tsc0;
  i128 ns = (i128)cal->ns0 + d * (i128)(cal->ns1 - cal->ns0) / (i128)(cal->tsc1 - cal->tsc0);
  return ns > 0 && ns < (i128)UINT64_MAX ? (uint64_t)ns : 0;
}

int schedrt_reader_events(schedrt_reader *r, uint32_t ring, schedrt_event *out, uint32_t cap,
                          schedrt_event_window *win) {
  if (!r || !win || (cap && !out))
    return -EINVAL;
  *win = (schedrt_event_window){0};
  if (r->ev_nrings == 0)
    return -ENOENT;
  if (ring >= r->ev_nrings)
    return -EINVAL;
  int rc = schedrt__reader_check_size(r);
  if (rc)
    return rc;
  /* Allocated outside the guard: the guarded copy may be left anywhere. */
  struct events_args a = {.r = r, .ring = ring, .raw = calloc(r->ev_cap, sizeof(*a.raw))};
  if (!a.raw)
    return -ENOMEM;
  rc = schedrt__reader_guarded(copy_ring, &a);
  if (!rc) {
    schedrt__reader_ev_window(a.raw, r->ev_cap, ring, out, cap, win);
    win->torn = a.torn;
    if (r->ev_clock == SCHEDRT_SHM_EV_CLOCK_TSC)
      for (uint32_t k = 0; k < win->n; k++)
        out[k].time_ns = schedrt__ev_tsc_to_ns(&a.cal, out[k].time_ns);
  }
  free(a.raw);
  return rc;
}
