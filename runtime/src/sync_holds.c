/* The table of handle holders that dumps look up (sync_holds.h). */
#include "sync_holds.h"

#include <errno.h>
#include <stdlib.h>

struct hold {
  schedrt_holder who;
  uint64_t n;
};

/* One side of one object: its holders, exact (the dump shows the first SCHEDRT_DUMP_HOLDERS_MAX). */
struct entry {
  struct entry *next;
  const void *addr;
  enum schedrt__hold_side side;
  schedrt__holds_pending_fn pending;
  struct hold *h;
  size_t len, cap;
};

/*
 * Everything below is under the registry lock of sync_owner.c: holds and
 * releases are rare next to the messages themselves (a hold is given with a
 * handle, not per send), and the dump must read the holders and the alive
 * tasks at one moment, which the one lock gives it. Hashed by address.
 */
#define BUCKETS 256u
static struct entry *buckets[BUCKETS];
/* Written under the lock; read without it too (schedrt__holds_maybe_any). */
static _Atomic size_t nentries;
/* Relaxed: a counter that only hands out distinct values. */
static _Atomic uint32_t next_tag;

static size_t bucket_of(const void *addr) {
  uint64_t x = (uint64_t)(uintptr_t)addr;
  x ^= x >> 31;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 29;
  return (size_t)(x & (BUCKETS - 1));
}

uint32_t schedrt__holds_new_tag(void) {
  /* Relaxed: only distinct values are wanted, nothing is published with them. */
  uint32_t t = atomic_fetch_add_explicit(&next_tag, 1, memory_order_relaxed) + 1;
  return t <= SCHEDRT_HOLD_TAG_MAX ? t : 0;
}

static struct entry **find(const void *addr, enum schedrt__hold_side side) {
  struct entry **p = &buckets[bucket_of(addr)];
  while (*p && ((*p)->addr != addr || (*p)->side != side))
    p = &(*p)->next;
  return p;
}

int schedrt__holds_change(const void *addr, enum schedrt__hold_side side, schedrt_holder who, int delta,
                          _Atomic bool *attached, schedrt__holds_pending_fn pending) {
  /* A token with an id but no runtime tag was not made by schedrt_holder_of*. */
  if (who >> SCHEDRT_HOLD_ID_BITS == 0 && who != SCHEDRT_HOLDER_OUTSIDE)
    return -EINVAL;
  int rc = 0;
  schedrt__owned_lock_registry();
  struct entry **p = find(addr, side), *e = *p;
  if (!e && delta < 0) {
    rc = -ENOENT;
    goto out;
  }
  if (!e) {
    e = calloc(1, sizeof(*e));
    if (!e) {
      rc = -ENOMEM;
      goto out;
    }
    e->addr = addr;
    e->side = side;
    e->pending = pending;
    *p = e;
    /* Relaxed: under the lock; a reader without it only skips its lookups on 0 (see the header). */
    atomic_fetch_add_explicit(&nentries, 1, memory_order_relaxed);
    /* Relaxed: written and read under the registry lock or by the object's destroy, which comes after
     * every hold by the object's own rules. */
    atomic_store_explicit(attached, true, memory_order_relaxed);
  }
  size_t i = 0;
  while (i < e->len && e->h[i].who != who)
    i++;
  if (delta < 0) {
    if (i == e->len)
      rc = -ENOENT;
    else if (--e->h[i].n == 0)
      e->h[i] = e->h[--e->len];
    goto out;
  }
  if (i == e->len) {
    if (e->len == e->cap) {
      size_t cap = e->cap ? e->cap * 2 : 4;
      struct hold *h = realloc(e->h, cap * sizeof(*h));
      if (!h) {
        rc = -ENOMEM;
        goto out;
      }
      e->h = h;
      e->cap = cap;
    }
    e->h[e->len++] = (struct hold){who, 0};
  }
  e->h[i].n++;
out:
  schedrt__owned_unlock_registry();
  return rc;
}

void schedrt__holds_detach(const void *addr, _Atomic bool *attached) {
  /* Relaxed: see schedrt__holds_change. */
  if (!atomic_load_explicit(attached, memory_order_relaxed))
    return;
  schedrt__owned_lock_registry();
  for (struct entry **p = &buckets[bucket_of(addr)]; *p;) {
    struct entry *e = *p;
    if (e->addr != addr) {
      p = &e->next;
      continue;
    }
    *p = e->next;
    /* Relaxed: as in schedrt__holds_change. */
    atomic_fetch_sub_explicit(&nentries, 1, memory_order_relaxed);
    free(e->h);
    free(e);
  }
  /* Relaxed, under the lock: see schedrt__holds_change. */
  atomic_store_explicit(attached, false, memory_order_relaxed);
  schedrt__owned_unlock_registry();
}

bool schedrt__holds_lookup_locked(const void *addr, enum schedrt__hold_side side, uint32_t tag,
                                  struct schedrt__owned_info *out) {
  const struct entry *e = *find(addr, side);
  if (!e)
    return false;
  out->n = 0;
  out->more = 0;
  if (e->pending && e->pending(addr))
    out->holders[out->n++] = schedrt__holder_pack(0, 1);
  for (size_t i = 0; i < e->len; i++) {
    schedrt_holder who = e->h[i].who;
    /* Another runtime's task is a thread outside this one, for this runtime's dump. */
    uint64_t id = tag && who >> SCHEDRT_HOLD_ID_BITS == tag ? who & SCHEDRT_HOLDER_ID_MASK : 0;
    if (out->n < SCHEDRT_DUMP_HOLDERS_MAX)
      out->holders[out->n++] = schedrt__holder_pack(id, e->h[i].n);
    else
      out->more++;
  }
  return true;
}

bool schedrt__holds_maybe_any(void) {
  /* Relaxed: a stale 0 only means a dump that lists no handle holders, which proves nothing. */
  return atomic_load_explicit(&nentries, memory_order_relaxed) != 0;
}
