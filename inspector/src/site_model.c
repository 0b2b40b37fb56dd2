/* Spawn-site rates, orders and leak suspects (see site_model.h). */
#include "site_model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int site_model_init(site_model *m, uint32_t cap, int timing) {
  memset(m, 0, sizeof(*m));
  m->timing = timing;
  if (cap == 0)
    return 0;
  m->v = calloc(cap, sizeof(*m->v));
  m->buf = calloc(cap, sizeof(*m->buf));
  if (!m->v || !m->buf) {
    site_model_fini(m);
    return -ENOMEM;
  }
  m->cap = cap;
  return 0;
}

void site_model_fini(site_model *m) {
  free(m->v);
  free(m->buf);
  memset(m, 0, sizeof(*m));
}

static double per_s(uint64_t now, uint64_t before, double dt_s) {
  return now >= before ? (double)(now - before) / dt_s : NAN;
}

/* A period ended: did the site's alive count set a new high? */
static void leak_period(site_view *v, int warm) {
  uint64_t alive = v->s.alive;
  if (alive > v->high) {
    v->high = alive;
    v->grew++;
    if (v->grew >= SITE_LEAK_PERIODS && warm)
      v->leak = 1;
  } else {
    v->grew = 0;
  }
  /* A suspect stays marked while its leaked tasks stay: only a fall clears it. */
  if (alive < v->period_alive)
    v->leak = 0;
  v->period_alive = alive;
}

void site_model_update(site_model *m, const schedrt_site_snap *s, uint32_t n, uint64_t now_ns,
                       uint64_t uptime_ns) {
  double dt_s = m->taken_ns && now_ns > m->taken_ns ? (double)(now_ns - m->taken_ns) / 1e9 : 0.0;
  int period_end = m->period_ns == 0 || now_ns - m->period_ns >= SITE_LEAK_PERIOD_NS;
  for (uint32_t i = 0; i < m->cap; i++)
    m->v[i].present = 0;
  m->npresent = m->nleaks = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (s[k].index >= m->cap)
      continue;
    site_view *v = &m->v[s[k].index];
    /* A site first seen now is all zero here: it had no task before. */
    schedrt_site_snap before = v->s;
    v->s = s[k];
    v->present = 1;
    m->npresent++;
    v->spawn_rate = dt_s > 0 ? per_s(v->s.spawned, before.spawned, dt_s) : NAN;
    v->poll_rate = dt_s > 0 ? per_s(v->s.polls, before.polls, dt_s) : NAN;
    v->busy_pct = m->timing && dt_s > 0 ? per_s(v->s.busy_ns, before.busy_ns, dt_s) / 1e7 : NAN;
    uint64_t polls = v->s.polls - before.polls;
    v->latency_ns = m->timing && dt_s > 0 && v->s.polls > before.polls
                        ? (double)(v->s.sched_latency_ns - before.sched_latency_ns) / (double)polls
                        : NAN;
    if (!m->taken_ns)
      v->period_alive = v->high = v->s.alive;
    else if (period_end)
      leak_period(v, uptime_ns >= SITE_LEAK_WARMUP_NS);
    m->nleaks += v->leak != 0;
  }
  if (period_end)
    m->period_ns = now_ns;
  m->have_prev = m->taken_ns != 0;
  m->prev_ns = m->taken_ns;
  m->taken_ns = now_ns;
}

int site_model_refresh(site_model *m, schedrt_reader *r, uint64_t now_ns, uint64_t uptime_ns) {
  if (m->cap == 0)
    return 0;
  uint32_t n = 0;
  int rc = schedrt_reader_sites(r, m->buf, m->cap, &n);
  if (rc)
    return rc;
  site_model_update(m, m->buf, n, now_ns, uptime_ns);
  return 0;
}

static const char *const names[SSORT__COUNT] = {"alive", "spawn/s", "polls/s", "busy%", "latency", "site"};

const char *site_sort_name(site_sort_key k) { return (unsigned)k < SSORT__COUNT ? names[k] : "?"; }

site_sort_key site_sort_next(site_sort_key k) { return (site_sort_key)(((unsigned)k + 1) % SSORT__COUNT); }

static double sort_value(const site_view *v, site_sort_key key) {
  switch (key) {
  case SSORT_ALIVE:
    /* Suspects first, then by count. */
    return (double)v->s.alive + (v->leak ? 1e18 : 0.0);
  case SSORT_SPAWNS:
    return v->spawn_rate;
  case SSORT_POLLS:
    return v->poll_rate;
  case SSORT_BUSY:
    return v->busy_pct;
  case SSORT_LATENCY:
    return v->latency_ns;
  default:
    return 0.0;
  }
}

struct sort_ctx {
  const site_view *v;
  site_sort_key key;
};

static double row_value(const void *ctx, uint32_t row) {
  const struct sort_ctx *c = ctx;
  return sort_value(&c->v[row], c->key);
}

uint32_t site_model_sorted(const site_model *m, site_sort_key key, uint32_t *order) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->cap; i++)
    if (m->v[i].present)
      order[n++] = i;
  struct sort_ctx c = {m->v, key};
  if (key != SSORT_SITE)
    sort_rows_desc(order, n, row_value, &c);
  return n;
}
