/*
 * The event rings (layout 2.6, shm_layout.h): their size, setup, the TSC
 * calibration the monitor renews, and the ring of the threads that are not
 * workers. The per-event writer is inline (metrics_hooks.h).
 */
#include <errno.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "schedrt/event_copy.h"
#include "schedrt/proto/seqlock.h"

uint32_t schedrt__events_wanted(const schedrt_runtime *rt) {
  if (!(rt->cfg.flags & SCHEDRT_CFG_EVENTS))
    return 0;
  /* A diagnostic, never a reason to fail: a bad size is ignored. Rounded up
   * to a power of two (n % cap is then a mask). */
  uint32_t v = schedrt__env_u32("SCHEDRT_EVENTS_SIZE", SCHEDRT_SHM_EV_MIN, SCHEDRT_SHM_EV_MAX);
  if (!v)
    return SCHEDRT_SHM_EV_DEFAULT;
  uint32_t cap = SCHEDRT_SHM_EV_MIN;
  while (cap < v)
    cap *= 2u;
  return cap;
}

/*
 * The TSC stands in for CLOCK_MONOTONIC where the kernel's clock is the TSC
 * itself, or KVM's paravirtual clock on a CPU whose TSC is invariant (the
 * pvclock is the TSC scaled by the host: a vDSO read of it costs 20 ns more
 * an event than rdtsc). Then both advance together, and a linear map between
 * two pairs of readings, renewed every monitor tick, converts one into the
 * other.
 */
static bool tsc_is_clock(void) {
#if defined(__x86_64__)
  char buf[16] = {0};
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  if (strcmp(buf, "tsc") == 0)
    return true;
  /* CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in every
   * P-, C- and T-state (Intel SDM 17.17.1; AMD's "TscInvariant"). */
  unsigned a, b, c, d;
  return strcmp(buf, "kvm-clock") == 0 && __get_cpuid(0x80000007u, &a, &b, &c, &d) && (d & (1u << 8));
#else
  return false;
#endif
}

#if defined(__x86_64__)
/* One (tsc, ns) pair, the TSC read between two clock reads, whose mean it gets. */
static void tsc_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t a = schedrt__now_ns();
  *tsc = __builtin_ia32_rdtsc();
  uint64_t b = schedrt__now_ns();
  *ns = a + (b - a) / 2u;
}
#endif

static struct schedrt_shm_event *ring_records(struct schedrt_shm_events *e, uint32_t i) {
  unsigned char *ring = (unsigned char *)e + e->ring_off + (size_t)i * e->ring_stride;
  return (struct schedrt_shm_event *)(void *)(ring + SCHEDRT_SHM_EV_RING_HDR_SIZE);
}

static void ring_attach(struct schedrt__ev_ring *r, struct schedrt_shm_events *e, uint32_t i) {
  r->rec = ring_records(e, i);
  r->n = 0;
  r->mask = e->ring_cap - 1u;
  r->tsc = e->clock == SCHEDRT_SHM_EV_CLOCK_TSC;
}

void schedrt__events_init(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  /* A private image (publication off) has no reader: no events. */
  if (!m->base || !m->geo.ev_cap || !m->published)
    return;
  if (pthread_mutex_init(&m->ev_lock, NULL) != 0)
    return; /* no other ring, so no events: the header says the region is there, empty */
  m->ev_lock_ready = true;
  struct schedrt_shm_events *e = (struct schedrt_shm_events *)(void *)(m->base + m->geo.events_off);
#if defined(__x86_64__)
  if (tsc_is_clock()) {
    /* Written before READY (plain: published by its release). The first
     * renewal, 2 ms later, gives readers a rate before the first tick. */
    tsc_pair(&e->tsc0, &e->ns0);
    uint64_t until = e->ns0 + 2000000u, t1 = 0, n1 = 0;
    do
      tsc_pair(&t1, &n1);
    while (n1 < until);
    atomic_store_explicit(&e->tsc1, t1, memory_order_relaxed);
    atomic_store_explicit(&e->ns1, n1, memory_order_relaxed);
    e->clock = SCHEDRT_SHM_EV_CLOCK_TSC;
  }
#else
  (void)tsc_is_clock;
#endif
  m->ev_hdr = e;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    ring_attach(&rt->workers[i].m.ev, e, i);
    rt->workers[i].m.events = true;
    /* Events take the timed run loop (schedrt__m_set_state's run_key). */
    schedrt__m_set_state(&rt->workers[i].m, rt->workers[i].m.state);
  }
  ring_attach(&m->ev_other, e, e->nrings - 1u);
  m->events = true;
}

void schedrt__events_calibrate(schedrt_runtime *rt) {
  struct schedrt_shm_events *e = rt->metrics.ev_hdr;
  if (!e || e->clock != SCHEDRT_SHM_EV_CLOCK_TSC)
    return;
#if defined(__x86_64__)
  uint64_t tsc, ns;
  tsc_pair(&tsc, &ns);
  /* The monitor is the pair's only writer: a seqlock section of two stores. */
  uint64_t odd = schedrt_seq_write_begin(&e->cal_seq);
  SCHEDRT_SEQ_STORE(&e->tsc1, tsc);
  SCHEDRT_SEQ_STORE(&e->ns1, ns);
  schedrt_seq_write_end(&e->cal_seq, odd);
#endif
}

__attribute__((noinline)) void schedrt__ev_put_slow(struct schedrt__ev_ring *r, uint32_t kind, uint64_t a,
                                                    uint64_t b) {
  schedrt__ev_put(r, kind, a, b);
}

__attribute__((noinline)) void schedrt__ev_wake_slow(schedrt_worker *w, const schedrt_task *t) {
  /* Relaxed: w's own pointer (we are its thread), alive during its poll. */
  const schedrt_task *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
  schedrt__ev_put(&w->m.ev, SCHEDRT_EV_WAKE, t->id, cur ? cur->id : 0u);
}

void schedrt__ev_other_slow(schedrt_runtime *rt, uint32_t kind, uint64_t a, uint64_t b) {
  struct schedrt__metrics *m = &rt->metrics;
  /* Blocking threads, the monitor and foreign threads share this ring: one
   * writer at a time, as the record protocol needs. */
  pthread_mutex_lock(&m->ev_lock);
  schedrt__ev_put(&m->ev_other, kind, a, b);
  pthread_mutex_unlock(&m->ev_lock);
}

void schedrt__events_snap_free(struct schedrt__ev_snap *s) {
  for (uint32_t i = 0; s->rings && i < s->nrings; i++)
    free(s->rings[i].ev);
  free(s->rings);
  memset(s, 0, sizeof(*s));
}

/* Ring r's window into scratch, then its events since `since` (the newest max) into s->rings[k]. */
static int snap_ring(struct schedrt_shm_events *e, uint32_t r, uint32_t k, uint64_t since,
                     const struct schedrt__ev_cal *cal, struct schedrt__ev_raw *raw, schedrt_event *scratch,
                     struct schedrt__ev_snap *s) {
  struct schedrt__ev_snap_ring *out = &s->rings[k];
  uint32_t torn;
  schedrt__reader_ev_copy((const unsigned char *)ring_records(e, r), e->ring_cap, e->rec_size, raw, &torn);
  schedrt__reader_ev_window(raw, e->ring_cap, k, scratch, e->ring_cap, &out->win);
  out->win.torn = torn;
  uint32_t in = 0;
  for (uint32_t j = out->win.n; j-- > 0;) {
    if (cal)
      scratch[j].time_ns = schedrt__ev_tsc_to_ns(cal, scratch[j].time_ns);
    /* A time that did not convert (0) is kept: only the count bounds it then. */
    if (scratch[j].time_ns && scratch[j].time_ns < since)
      break;
    in++;
  }
  out->n = in < s->max ? in : s->max;
  out->cut = in - out->n;
  if (!out->n)
    return 0;
  if (!(out->ev = malloc((size_t)out->n * sizeof(*out->ev))))
    return -ENOMEM;
  memcpy(out->ev, scratch + (out->win.n - out->n), (size_t)out->n * sizeof(*out->ev));
  return 0;
}

int schedrt__events_snap(schedrt_runtime *rt, uint64_t window_ns, uint32_t max, struct schedrt__ev_snap *s) {
  memset(s, 0, sizeof(*s));
  /* Set before the workers and the monitor started, cleared after they and
   * the watchdog's helper (the caller) stopped: a plain read. */
  struct schedrt_shm_events *e = rt->metrics.ev_hdr;
  if (!e || !max)
    return -ENOENT;
  struct schedrt__ev_cal cal;
  if (e->clock == SCHEDRT_SHM_EV_CLOCK_TSC)
    schedrt__ev_cal_read(e, &cal);
  int rc = -ENOMEM;
  struct schedrt__ev_raw *raw = malloc((size_t)e->ring_cap * sizeof(*raw));
  schedrt_event *scratch = malloc((size_t)e->ring_cap * sizeof(*scratch));
  s->rings = calloc((size_t)rt->nworkers + 1u, sizeof(*s->rings));
  if (!raw || !scratch || !s->rings)
    goto out;
  s->nrings = rt->nworkers + 1u;
  s->ring_cap = e->ring_cap;
  s->max = max;
  s->window_ns = window_ns;
  s->copied_ns = schedrt__now_ns();
  uint64_t since = s->copied_ns > window_ns ? s->copied_ns - window_ns : 0;
  rc = 0;
  for (uint32_t k = 0; k < s->nrings && !rc; k++) {
    uint32_t r = k < rt->nworkers ? k : e->nrings - 1u;
    rc = snap_ring(e, r, k, since, e->clock == SCHEDRT_SHM_EV_CLOCK_TSC ? &cal : NULL, raw, scratch, s);
  }
out:
  free(raw);
  free(scratch);
  if (rc)
    schedrt__events_snap_free(s);
  return rc;
}

void schedrt__events_fini(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->ev_lock_ready)
    return;
  /* The workers and the monitor have stopped and the blocking pool has shut
   * down (an abandoned job writes no event): nobody writes any more, and
   * threads that are not workers stopped using the runtime before destroy. */
  m->events = false;
  m->ev_other.rec = NULL;
  m->ev_hdr = NULL;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    rt->workers[i].m.events = false;
    rt->workers[i].m.ev.rec = NULL;
  }
  pthread_mutex_destroy(&m->ev_lock);
  m->ev_lock_ready = false;
}
