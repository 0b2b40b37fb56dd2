/*
 * The watchdog's copy of the event rings (schedrt__events_snap, the reader's
 * code run inside the runtime) while every worker writes its ring as fast as
 * it can: tasks that spawn children and yield, so each poll writes poll and
 * spawn events, and the rings (64 records) wrap thousands of times a second.
 * The main thread copies them back to back, as the watchdog's helper does,
 * and checks every copy: each ring's events consecutive and within what it
 * had written, at most max of them, the counts adding up (kept + cut never
 * more than the window), every kind one the runtime writes. Under TSan, the
 * copy's loads against the workers' stores. Plain executable: exit 0 pass.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "stress.h"

#define MAX_KEPT 48u /* below the ring's 64: the cut is exercised too */

static atomic_bool stop;

static schedrt_poll child(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

static schedrt_poll churn(schedrt_task *t, void *arg) {
  schedrt_runtime *rt = arg;
  if (atomic_load_explicit(&stop, memory_order_relaxed))
    return SCHEDRT_READY;
  int rc = schedrt_spawn(rt, child, NULL);
  STRESS_CHECK(rc == 0, "spawn: %s", schedrt_strerror(rc));
  return schedrt_yield(t);
}

int main(void) {
  stress_watchdog(240);
  if (setenv("SCHEDRT_EVENTS_SIZE", "64", 1))
    return STRESS_FAIL;
  schedrt_runtime *rt = stress_runtime_ex(2, SCHEDRT_CFG_EVENTS);
  schedrt_handle *h[4];
  for (int i = 0; i < 4; i++)
    STRESS_OK(schedrt_spawn_ex(rt, churn, rt, NULL, &h[i]));
  unsigned long copies = stress_count(4000, 400), events = 0, cut = 0;
  for (unsigned long c = 0; c < copies; c++) {
    struct schedrt__ev_snap s;
    int rc = schedrt__events_snap(rt, 60ull * 1000000000u, MAX_KEPT, &s);
    if (rc == -ENOENT) {
      fprintf(stderr, "stress_watchdog_events: no event rings (no metrics segment?): skipped\n");
      return STRESS_SKIP;
    }
    STRESS_OK(rc);
    STRESS_CHECK(s.nrings == 3 && s.ring_cap == 64 && s.max == MAX_KEPT, "rings %u cap %u", s.nrings,
                 s.ring_cap);
    for (uint32_t r = 0; r < s.nrings; r++) {
      const struct schedrt__ev_snap_ring *x = &s.rings[r];
      STRESS_CHECK(x->n <= MAX_KEPT && x->n + x->cut == x->win.n, "ring %u: %u kept + %u cut of %u", r, x->n,
                   x->cut, x->win.n);
      STRESS_CHECK(x->win.n + x->win.lost == x->win.written, "ring %u: shown + lost != written", r);
      for (uint32_t k = 0; k < x->n; k++) {
        const schedrt_event *e = &x->ev[k];
        STRESS_CHECK(e->kind >= 1 && e->kind <= SCHEDRT_EV__COUNT, "ring %u: kind %u", r, e->kind);
        STRESS_CHECK(e->seq < x->win.written && (k == 0 || e->seq == x->ev[k - 1].seq + 1),
                     "ring %u: seq %llu after %llu (written %llu)", r, (unsigned long long)e->seq,
                     (unsigned long long)(k ? x->ev[k - 1].seq : 0), (unsigned long long)x->win.written);
        STRESS_CHECK(e->ring == r, "ring %u: an event of ring %u", r, e->ring);
      }
      /* The newest kept is the window's newest: the cut takes the oldest. */
      STRESS_CHECK(!x->n || x->ev[x->n - 1].seq + 1 == x->win.written, "ring %u: the newest is not kept", r);
      events += x->n;
      cut += x->cut;
    }
    schedrt__events_snap_free(&s);
  }
  atomic_store(&stop, true);
  for (int i = 0; i < 4; i++)
    STRESS_OK(schedrt_join(h[i], UINT64_MAX, NULL));
  schedrt_runtime_destroy(rt);
  STRESS_CHECK(events > copies, "only %lu events in %lu copies", events, copies);
  printf("stress_watchdog_events: ok: %lu copies, %lu events kept, %lu cut\n", copies, events, cut);
  return STRESS_PASS;
}
