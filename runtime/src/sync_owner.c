/* The registry of mutexes and semaphores that dumps look holders up in (sync_owner.h). */
#include "sync_owner.h"

#include <pthread.h>
#include <stddef.h>

/*
 * Process-wide, not per runtime: a mutex is not tied to a runtime (threads
 * that are not workers use it too). Hashed by address into buckets, so a
 * dump's lookups stay cheap with many objects alive. One lock: create and
 * destroy are rare next to lock and unlock, which never take it.
 */
#define BUCKETS 256u
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct schedrt__owned_obj *buckets[BUCKETS];

static size_t bucket_of(const void *addr) {
  uint64_t x = (uint64_t)(uintptr_t)addr;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return (size_t)(x & (BUCKETS - 1));
}

void schedrt__owned_register(struct schedrt__owned_obj *o, const void *addr) {
  for (unsigned i = 0; i < SCHEDRT_DUMP_HOLDERS_MAX; i++)
    atomic_init(&o->holders[i], 0);
  atomic_init(&o->more, 0);
  o->addr = addr;
  o->prev = NULL;
  pthread_mutex_lock(&registry_lock);
  struct schedrt__owned_obj **head = &buckets[bucket_of(addr)];
  o->next = *head;
  if (*head)
    (*head)->prev = o;
  *head = o;
  pthread_mutex_unlock(&registry_lock);
}

void schedrt__owned_unregister(struct schedrt__owned_obj *o) {
  pthread_mutex_lock(&registry_lock);
  if (o->prev)
    o->prev->next = o->next;
  else
    buckets[bucket_of(o->addr)] = o->next;
  if (o->next)
    o->next->prev = o->prev;
  pthread_mutex_unlock(&registry_lock);
}

void schedrt__owned_lock_registry(void) { pthread_mutex_lock(&registry_lock); }
void schedrt__owned_unlock_registry(void) { pthread_mutex_unlock(&registry_lock); }

bool schedrt__owned_lookup_locked(const void *addr, struct schedrt__owned_info *out) {
  for (struct schedrt__owned_obj *o = buckets[bucket_of(addr)]; o; o = o->next) {
    if (o->addr != addr)
      continue;
    out->n = 0;
    for (unsigned i = 0; i < SCHEDRT_DUMP_HOLDERS_MAX; i++) {
      /* Relaxed: see schedrt__owned_publish. */
      uint64_t h = atomic_load_explicit(&o->holders[i], memory_order_relaxed);
      if (h)
        out->holders[out->n++] = h;
    }
    out->more = atomic_load_explicit(&o->more, memory_order_relaxed);
    return true;
  }
  return false;
}

bool schedrt__owned_lookup(const void *addr, struct schedrt__owned_info *out) {
  pthread_mutex_lock(&registry_lock);
  bool found = schedrt__owned_lookup_locked(addr, out);
  pthread_mutex_unlock(&registry_lock);
  return found;
}
