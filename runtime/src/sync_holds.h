/*
 * Who holds the signalling side of a notify, a oneshot or a channel, for the
 * leak proofs of dumps (sync_holds.c; docs/forensics.md, "Proven leaks").
 *
 * The objects themselves stay as they were: the first schedrt_*_hold call on
 * one attaches an entry, keyed by the object's address and side, in a table
 * beside the mutex registry (sync_owner.h) and under its lock; destroy takes
 * it out. Holds and releases change only that entry, so the hot paths (send,
 * receive, notify, wait) never see any of it. A dump's leader takes the same
 * lock before it walks the alive tasks (when any entry exists) and keeps it
 * until every waiting task's holders are copied: the holders it reads and the tasks it lists are one
 * moment's, so a holder absent from the list has finished (a task leaves the
 * alive list when it completes, and a holder token names a task that was in
 * it). Looked up by address, never dereferenced: the object may be gone.
 */
#ifndef SCHEDRT_SYNC_HOLDS_H
#define SCHEDRT_SYNC_HOLDS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "schedrt.h"
#include "sync_owner.h"

/* The side of an object a holder can signal through. */
enum schedrt__hold_side {
  SCHEDRT_HOLD_NOTIFY,   /* may notify (wakes notify waiters) */
  SCHEDRT_HOLD_ONESHOT,  /* the sending side (wakes the receiver) */
  SCHEDRT_HOLD_SENDERS,  /* a channel's senders (wake the receiver) */
  SCHEDRT_HOLD_RECEIVER, /* a channel's receiver (wakes queued senders) */
};

/* A holder token (schedrt_holder): the runtime's tag in the high bits, the task id in the low ones; 0:
 * outside the runtime. */
#define SCHEDRT_HOLD_ID_BITS 40
#define SCHEDRT_HOLD_TAG_MAX ((1u << (64 - SCHEDRT_HOLD_ID_BITS)) - 1)

/* A process-wide tag for a new runtime, 1 to SCHEDRT_HOLD_TAG_MAX, or 0 once they ran out (its tasks'
 * tokens are then all "outside": never a proof). */
uint32_t schedrt__holds_new_tag(void);

/*
 * For a dump, under the registry lock while addr's entry exists (so the
 * object does too: destroy takes the entry out first): whether a wake is
 * already on its way through the object without a holder (a notification
 * given to a ticket whose task has not seen it passes on to another waiter
 * if that task cancels). The dump then lists a holder outside the runtime.
 */
typedef bool (*schedrt__holds_pending_fn)(const void *addr);

/*
 * Adds (delta 1) or takes away (delta -1) one hold of who on addr's side,
 * attaching the entry on the first hold; *attached is the object's flag that
 * it has one (set under the lock, read by its destroy); pending may be NULL.
 * 0, -EINVAL (not a token), -ENOMEM, or -ENOENT for a release of a hold who
 * does not have.
 */
int schedrt__holds_change(const void *addr, enum schedrt__hold_side side, schedrt_holder who, int delta,
                          _Atomic bool *attached, schedrt__holds_pending_fn pending);
/* Takes addr's entries out (every side), if *attached says it has any. Before its memory goes. */
void schedrt__holds_detach(const void *addr, _Atomic bool *attached);

/*
 * For the dump's leader, under schedrt__owned_lock_registry: the holders of
 * addr's side, each as schedrt__holder_pack(task id, holds), a task of
 * another runtime than tag's (or of none) as id 0; false when the object has
 * no entry (no owner was ever given: held outside the runtime).
 */
bool schedrt__holds_lookup_locked(const void *addr, enum schedrt__hold_side side, uint32_t tag,
                                  struct schedrt__owned_info *out);
/* Whether any entry may exist, without the lock: a dump that sees none keeps the lock out of its walk
 * and lists no handle holders (an entry attached meanwhile is then simply not seen: no proof). */
bool schedrt__holds_maybe_any(void);

#endif /* SCHEDRT_SYNC_HOLDS_H */
