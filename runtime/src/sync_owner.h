/*
 * Who holds a mutex or a semaphore, published for dumps (sync_owner.c).
 *
 * A dump knows only the address a waiting task recorded (its wait_arg), and
 * the object may have been destroyed since: the address alone must never be
 * dereferenced. So every mutex and semaphore registers its holder table in a
 * process-wide registry while it exists; the dump's leader looks the address
 * up there under the registry's lock, which destroy also takes, and reads
 * only atomics, so a holder table can change under it (a thread that is not
 * a worker may lock and unlock at any time) without a data race.
 */
#ifndef SCHEDRT_SYNC_OWNER_H
#define SCHEDRT_SYNC_OWNER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "schedrt/proto/dump_keys.h"

/* A published holder: permits in the high bits, the task id (0: a thread
 * that is not a task) in the low ones, in one word so that a reader never
 * pairs one holder's id with another's count. 0: an empty slot. */
#define SCHEDRT_HOLDER_ID_BITS 40
#define SCHEDRT_HOLDER_ID_MASK ((1ull << SCHEDRT_HOLDER_ID_BITS) - 1)
#define SCHEDRT_HOLDER_PERMITS_MAX ((1ull << (64 - SCHEDRT_HOLDER_ID_BITS)) - 1)

static inline uint64_t schedrt__holder_pack(uint64_t id, uint64_t permits) {
  if (permits > SCHEDRT_HOLDER_PERMITS_MAX)
    permits = SCHEDRT_HOLDER_PERMITS_MAX; /* shown saturated; the count itself is exact elsewhere */
  return permits << SCHEDRT_HOLDER_ID_BITS | (id & SCHEDRT_HOLDER_ID_MASK);
}
static inline uint64_t schedrt__holder_id(uint64_t h) { return h & SCHEDRT_HOLDER_ID_MASK; }
static inline uint64_t schedrt__holder_permits(uint64_t h) { return h >> SCHEDRT_HOLDER_ID_BITS; }

struct schedrt__owned_obj {
  /* Registry links and key: under the registry lock only. */
  struct schedrt__owned_obj *prev, *next;
  const void *addr; /* what tasks record as their wait_arg */
  /* Written by the object under its own lock, read by dumps: relaxed, each
   * slot a value of its own (a dump is a picture of the moment). */
  _Atomic uint64_t holders[SCHEDRT_DUMP_HOLDERS_MAX];
  _Atomic uint32_t more; /* holders beyond the table */
};

/* Registers o under addr / takes it out (before its memory goes). */
void schedrt__owned_register(struct schedrt__owned_obj *o, const void *addr);
void schedrt__owned_unregister(struct schedrt__owned_obj *o);

static inline void schedrt__owned_publish(struct schedrt__owned_obj *o, unsigned slot, uint64_t packed) {
  /* Relaxed: a dump reads each slot on its own; nothing else is published through it. */
  if (slot < SCHEDRT_DUMP_HOLDERS_MAX)
    atomic_store_explicit(&o->holders[slot], packed, memory_order_relaxed);
}

/* What a dump copies: the holders as published, and how many more. */
struct schedrt__owned_info {
  uint64_t holders[SCHEDRT_DUMP_HOLDERS_MAX]; /* packed, empty slots skipped */
  uint32_t n;
  uint32_t more;
};

/*
 * For the dump's leader: looks addr up; true and *out filled if an object is
 * registered there. Takes the registry lock (never held across anything but
 * a list update), reads atomics only.
 */
bool schedrt__owned_lookup(const void *addr, struct schedrt__owned_info *out);
/* The same for many: lock once, then lookup_locked per address, then unlock. */
void schedrt__owned_lock_registry(void);
void schedrt__owned_unlock_registry(void);
bool schedrt__owned_lookup_locked(const void *addr, struct schedrt__owned_info *out);

#endif /* SCHEDRT_SYNC_OWNER_H */
