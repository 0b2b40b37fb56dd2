/* The reader's private state, shared by reader*.c. */
#ifndef SCHEDRT_READER_INTERNAL_H
#define SCHEDRT_READER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "schedrt/event_copy.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/reader.h"
#include "schedrt/shm_util.h"

#define SCHEDRT_READER_DEFAULT_TIMEOUT_MS 2000u
#define SCHEDRT_READER_DEFAULT_RETRIES 1000u

struct schedrt_reader {
  int fd; /* kept open: the flock liveness probe needs it */
  const unsigned char *base;
  size_t map_size;
  uint32_t flags;
  uint32_t max_retries;
  dev_t dev;
  ino_t ino;
  schedrt_segment_info info;
  /* Validated copies of the header's geometry: only these are used after open
   * (no double fetch from memory the writer controls). */
  uint64_t total_size;
  uint32_t slot_off, slot_stride, max_workers;
  uint32_t global_off, global_size;
  uint32_t hist_off, hist_stride, hist_spacing, hist_per_worker, hist_buckets;
  schedrt_reader_desc *descs;
  size_t ndesc;
  /* Layout 2.5's sites region, validated (absolute offsets); site_cap 0: none. */
  uint32_t sites_off, site_cap, site_desc_off, site_desc_size, site_ctr_off, site_ctr_size;
  uint32_t site_block_stride, site_nblocks, site_ctr_count;
  /* Layout 2.6's event rings, validated (absolute offsets); ev_nrings 0: none. */
  uint32_t events_off, ev_nrings, ev_cap, ev_rec_size, ev_ring_off, ev_ring_stride, ev_clock;
  /* Heartbeat progress on our own clock. */
  bool hb_seen;
  uint64_t hb_last_seq;
  uint64_t hb_last_change_ns;
  schedrt_liveness proc_verdict; /* from the last process check */
};

/* SCHEDRT_ECHANGED when the file is now shorter than our mapping (its
 * owner truncated it: a read of the lost pages would be a SIGBUS), else 0. */
int schedrt__reader_check_size(const struct schedrt_reader *r);
/* fn(arg), with a SIGBUS raised on this thread during it turned into a return
 * of SCHEDRT_ECHANGED (reader_guard.c). fn must not take locks or allocate:
 * it may be left at any instruction. */
int schedrt__reader_guarded(int (*fn)(void *), void *arg);

/* off + n * size <= limit without overflow. */
static inline bool schedrt__reader_fits(uint64_t off, uint64_t n, uint64_t size, uint64_t limit) {
  if (size != 0 && n > (UINT64_MAX - off) / size)
    return false;
  return off + n * size <= limit;
}
/* NUL-padded bytes (maybe without a NUL) to a printable C string of dst[n + 1]. */
void schedrt__reader_words_str(char *dst, const void *words, size_t n);
/* Validates the sites region of a header of header_size bytes into r. */
int schedrt__reader_sites_open(struct schedrt_reader *r, const struct schedrt_shm_header *h,
                               uint32_t header_size);

/* Validates the event region of a header of header_size bytes into r. */
int schedrt__reader_events_open(struct schedrt_reader *r, const struct schedrt_shm_header *h,
                                uint32_t header_size);
/* CLOCK_MONOTONIC in ns. */
uint64_t schedrt__reader_now_ns(void);
/* The process checks only (the lock, then the pid): STALE or LIVE. Made at
 * open and again by every liveness verdict that asks for them. */
static inline schedrt_liveness schedrt__reader_proc_liveness(const struct schedrt_reader *r) {
  return schedrt__shm_owner_alive(r->fd, r->info.pid, r->info.starttime) ? SCHEDRT_LIVENESS_LIVE
                                                                         : SCHEDRT_LIVENESS_STALE;
}
/* Combines the process verdict, the header state and the heartbeat. Updates
 * the heartbeat tracking; *stalled_ns receives the stall time. */
schedrt_liveness schedrt__reader_judge(struct schedrt_reader *r, uint64_t now, uint32_t seg_state,
                                       uint64_t hb_seq, uint64_t hb_mono, uint64_t *stalled_ns);

#endif
