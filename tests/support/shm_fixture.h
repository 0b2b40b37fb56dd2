/*
 * Test fixture for the metrics reader: builds well-formed segments in a
 * private test directory (no runtime needed), so tests can then damage them
 * or drive their seqlocks by hand.
 */
#ifndef SCHEDRT_TEST_SHM_FIXTURE_H
#define SCHEDRT_TEST_SHM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schedrt/proto/shm_layout.h"

struct shm_fixture {
  char path[512];
  char name[128];
  unsigned char *base;
  size_t size;
  int fd;
  struct schedrt_shm_geometry geo;
};

/*
 * Makes a fresh private directory under /dev/shm (tmpfs, like the real thing),
 * removed at exit if the test has not removed it by then (a failed check).
 */
int fixture_dir_create(char *buf, size_t size);
/* Removes the directory and everything in it. */
void fixture_dir_remove(const char *dir);

/*
 * Creates dir/schedrt.<uid>.<pid>.<starttime>.<index> (0600), formats it for
 * nworkers, sets nr_workers, a fresh heartbeat, and READY. pid 0 means ours
 * (and our start time). The mapping stays writable for the test.
 */
int fixture_segment_create(const char *dir, uint32_t nworkers, pid_t pid, uint64_t starttime, uint32_t index,
                           struct shm_fixture *fx);
/* The same with event rings of ev_cap records (layout 2.6; clock
 * CLOCK_MONOTONIC, so a record's time is ns as written). */
int fixture_segment_create_ev(const char *dir, uint32_t nworkers, uint32_t ev_cap, pid_t pid,
                              uint64_t starttime, uint32_t index, struct shm_fixture *fx);
void fixture_segment_close(struct shm_fixture *fx);

static inline struct schedrt_shm_header *fixture_header(struct shm_fixture *fx) {
  return (struct schedrt_shm_header *)(void *)fx->base;
}
static inline struct schedrt_shm_wslot *fixture_slot(struct shm_fixture *fx, uint32_t i) {
  return (struct schedrt_shm_wslot *)(void *)(fx->base + fx->geo.slot_off +
                                              (size_t)i * SCHEDRT_SHM_SLOT_STRIDE);
}
static inline struct schedrt_shm_global *fixture_global(struct shm_fixture *fx) {
  return (struct schedrt_shm_global *)(void *)(fx->base + SCHEDRT_SHM_GLOBAL_OFF);
}
static inline _Atomic uint64_t *fixture_hist(struct shm_fixture *fx, uint32_t w, uint32_t h) {
  return (_Atomic uint64_t *)(void *)(fx->base + fx->geo.hist_off + (size_t)w * SCHEDRT_SHM_HIST_STRIDE +
                                      (size_t)h * SCHEDRT_SHM_HIST_SPACING);
}

/* The records of event ring i (i == nworkers: the other threads'). */
static inline struct schedrt_shm_event *fixture_ring(struct shm_fixture *fx, uint32_t i) {
  return (struct schedrt_shm_event *)(void *)(fx->base + fx->geo.events_off + SCHEDRT_SHM_EVENTS_HDR_SIZE +
                                              (size_t)i * fx->geo.ev_ring_stride +
                                              SCHEDRT_SHM_EV_RING_HDR_SIZE);
}

/*
 * Drives a slot as the runtime does (layout 2.0): the worker's section
 * (state, lifo and the counters derived from base: depth base+1, ticks
 * base+2, ... busy_ns base+10), the live poll count (a store outside the
 * section), and the monitor's section naming the poll seen_polls.
 */
void fixture_write_worker(struct schedrt_shm_wslot *s, uint32_t state, uint64_t polls, uint64_t base);
void fixture_write_polls(struct schedrt_shm_wslot *s, uint64_t polls);
void fixture_write_monitor(struct schedrt_shm_wslot *s, uint64_t seen_polls, uint64_t since_ns, uint64_t task,
                           const char *name, const char *file, uint32_t line);

/* CLOCK_MONOTONIC in ns. */
uint64_t fixture_now_ns(void);
/* A pid that no process has right now (a reaped child's). */
pid_t fixture_dead_pid(void);

#endif
