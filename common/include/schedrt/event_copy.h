/*
 * The reader's side of the event ring's record protocol (proto/event_ring.h
 * holds the writer's): a consistent copy of one ring's records, the window of
 * consecutive events it gives, and the ring's clock in ns. One code for both
 * readers: the segment reader (reader_events.c, another process's rings) and
 * the runtime's watchdog dumps (metrics_events.c, its own rings), so a dump's
 * events are exactly what `sched-inspect events` would have read then.
 */
#ifndef SCHEDRT_EVENT_COPY_H
#define SCHEDRT_EVENT_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "schedrt/proto/shm_layout.h"
#include "schedrt/reader.h"

/* One ring's raw records, as copied: the stamp, time, a, b of each (stamp 0:
 * empty, or rejected because its writer was inside it). */
struct schedrt__ev_raw {
  uint64_t stamp, time, a, b;
};

/*
 * Copies the cap (a power of two) records at recs, rec_size apart, into raw,
 * each by a seqlock read; *torn counts the records rejected. Touches the ring
 * only here: a reader of a mapping that can shrink calls it under
 * schedrt__reader_guarded.
 */
void schedrt__reader_ev_copy(const unsigned char *recs, uint32_t cap, uint32_t rec_size,
                             struct schedrt__ev_raw *raw, uint32_t *torn);
/*
 * Puts the longest run of consecutive events ending at the newest of raw into
 * out[0 .. out_cap) (the newest out_cap of them), oldest first, their times as
 * recorded (raw clock), and fills *win (torn left 0).
 */
void schedrt__reader_ev_window(const struct schedrt__ev_raw *raw, uint32_t cap, uint32_t ring,
                               schedrt_event *out, uint32_t out_cap, schedrt_event_window *win);

/* The two calibration pairs of a TSC clock (struct schedrt_shm_events). */
struct schedrt__ev_cal {
  uint64_t tsc0, ns0, tsc1, ns1;
  bool ok; /* the seqlock read of the second pair succeeded */
};
/* Reads e's calibration (same mapping rule as schedrt__reader_ev_copy). */
void schedrt__ev_cal_read(const struct schedrt_shm_events *e, struct schedrt__ev_cal *cal);
/* TSC ticks to CLOCK_MONOTONIC ns by the calibration; 0 when it gives no rate. */
uint64_t schedrt__ev_tsc_to_ns(const struct schedrt__ev_cal *cal, uint64_t t);

#endif /* SCHEDRT_EVENT_COPY_H */
