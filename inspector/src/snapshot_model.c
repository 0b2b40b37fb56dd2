/* Snapshots in, views out (see snapshot_model.h). */
#include "snapshot_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rates.h"
#include "schedrt/proto/shm_layout.h"
#include "util.h"

static void reset_views(inspect_model *m) {
  for (uint32_t i = 0; i < m->max_workers; i++) {
    memset(&m->w[i], 0, sizeof(m->w[i]));
    m->w[i].index = i;
    m->w[i].busy_pct = NAN;
    for (int k = 0; k < SCHEDRT_M__WSLOT_COUNT; k++)
      m->w[i].rate[k] = NAN;
  }
  memset(&m->g, 0, sizeof(m->g));
  m->g.busy_pct = m->g.polls_per_s = m->g.steals_per_s = m->g.parks_per_s = NAN;
  for (int k = 0; k < SCHEDRT_M__GLOBAL_COUNT; k++)
    m->g.grate[k] = NAN;
}

static int alloc_views(inspect_model *m, uint32_t max_workers) {
  m->max_workers = max_workers;
  m->w = calloc(max_workers ? max_workers : 1, sizeof(*m->w));
  m->hist = calloc((size_t)(max_workers ? max_workers : 1) * MODEL_HISTORY, sizeof(*m->hist));
  if (!m->w || !m->hist)
    return -ENOMEM;
  reset_views(m);
  return 0;
}

int model_init(inspect_model *m, const schedrt_reader *r, uint64_t stuck_ns) {
  const schedrt_segment_info *info = schedrt_reader_info(r);
  memset(m, 0, sizeof(*m));
  m->stuck_ns = stuck_ns ? stuck_ns : MODEL_DEFAULT_STUCK_NS;
  m->create_mono_ns = info->create_mono_ns;
  m->long_poll_ns = (uint64_t)info->long_poll_ms * 1000000u;
  m->hist_period_ns = MODEL_HIST_PERIOD_NS;
  int err = schedrt_snapshot_init(r, &m->snap[0]);
  if (!err)
    err = schedrt_snapshot_init(r, &m->snap[1]);
  if (!err)
    err = alloc_views(m, info->max_workers);
  if (!err)
    err = model_set_buckets(m, info->hist_upper_ns, info->hist_buckets,
                            (info->features & SCHEDRT_SHM_F_TIMING) != 0);
  if (!err)
    err =
        site_model_init(&m->sites, schedrt_reader_site_cap(r), (info->features & SCHEDRT_SHM_F_TIMING) != 0);
  if (err)
    model_fini(m);
  return err;
}

int model_init_raw(inspect_model *m, uint32_t max_workers, uint64_t create_mono_ns, uint64_t stuck_ns) {
  memset(m, 0, sizeof(*m));
  m->raw = 1;
  m->stuck_ns = stuck_ns ? stuck_ns : MODEL_DEFAULT_STUCK_NS;
  m->create_mono_ns = create_mono_ns;
  for (int i = 0; i < 2; i++) {
    m->snap[i].workers = calloc(max_workers ? max_workers : 1, sizeof(schedrt_worker_snap));
    m->snap[i].max_workers = max_workers;
    if (!m->snap[i].workers) {
      model_fini(m);
      return -ENOMEM;
    }
  }
  int err = alloc_views(m, max_workers);
  if (err)
    model_fini(m);
  return err;
}

int model_set_buckets(inspect_model *m, const uint64_t *upper, uint32_t n, int timing) {
  if (n > SCHEDRT_READER_MAX_BUCKETS)
    n = SCHEDRT_READER_MAX_BUCKETS;
  size_t per_model = (size_t)(m->max_workers ? m->max_workers : 1) * SCHEDRT_M__HIST_COUNT * (n ? n : 1);
  free(m->bucket_last);
  m->bucket_last = calloc(per_model, sizeof(uint64_t));
  if (!m->bucket_last)
    return -ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    m->bucket_upper[i] = upper[i];
  m->nbuckets = n;
  m->timing = timing;
  /* A reader's snapshots have their own arrays; hand-made ones (tests) get them here. */
  for (int i = 0; m->raw && i < 2; i++) {
    free(m->snap[i].hist);
    m->snap[i].hist = calloc(per_model, sizeof(uint64_t));
    m->snap[i].hist_buckets = n;
    if (!m->snap[i].hist)
      return -ENOMEM;
  }
  return 0;
}

void model_fini(inspect_model *m) {
  for (int i = 0; i < 2; i++) {
    if (m->raw) {
      free(m->snap[i].workers);
      free(m->snap[i].hist);
    } else {
      schedrt_snapshot_fini(&m->snap[i]);
    }
  }
  free(m->w);
  free(m->hist);
  free(m->bucket_last);
  site_model_fini(&m->sites);
  memset(m, 0, sizeof(*m));
}

schedrt_snapshot *model_spare(inspect_model *m) { return &m->snap[m->nsnaps ? !m->cur : m->cur]; }

const schedrt_snapshot *model_current(const inspect_model *m) { return m->nsnaps ? &m->snap[m->cur] : NULL; }

static int is_gone(const schedrt_snapshot *s) {
  return s->seg_state == 2 /* EXITING */ || s->liveness == SCHEDRT_LIVENESS_STALE ||
         s->liveness == SCHEDRT_LIVENESS_EXITING;
}

/* How long worker v's current poll has run, from the runtime's stamp and our own sighting. */
static void update_running(inspect_model *m, worker_view *v, const schedrt_worker_snap *ws,
                           const schedrt_snapshot *s) {
  if (ws->torn || ws->state != SCHEDRT_WSTATE_RUNNING || ws->current_task == 0) {
    v->running_ns = 0;
    v->stuck = 0;
    v->seen_polls = v->seen_task = v->seen_since_ns = 0;
    return;
  }
  if (v->seen_since_ns == 0 || v->seen_polls != ws->polls || v->seen_task != ws->current_task) {
    v->seen_polls = ws->polls;
    v->seen_task = ws->current_task;
    v->seen_since_ns = s->taken_mono_ns;
  }
  uint64_t own = s->taken_mono_ns - v->seen_since_ns;
  uint64_t stamped = 0;
  if (ws->current_since_ns && s->writer_now_ns > ws->current_since_ns)
    stamped = s->writer_now_ns - ws->current_since_ns;
  v->running_ns = own > stamped ? own : stamped;
  v->stuck = v->running_ns >= m->stuck_ns;
}

/*
 * A long poll the runtime counted since the previous snapshot pw (the count
 * or the latest length moved: a new long poll, or one still growing). Its
 * length, as the monitor saw it, is the latest one's: with several in one
 * interval the last decides. Every counted poll lasted at least the target's
 * threshold, so with --stuck-ms at or below it any movement is stuck.
 */
static void update_long_poll(const inspect_model *m, worker_view *v, const schedrt_worker_snap *ws,
                             const schedrt_worker_snap *pw) {
  v->long_poll = 0;
  v->long_poll_ns = 0;
  if (!m->long_poll_ns || !pw || pw->torn || ws->torn)
    return;
  if (ws->long_polls == pw->long_polls && ws->last_long_poll_ns == pw->last_long_poll_ns)
    return;
  if (ws->last_long_poll_ns < m->stuck_ns)
    return;
  v->long_poll = 1;
  v->long_poll_ns = ws->last_long_poll_ns;
  v->stuck = 1;
}

/* Both histograms of the first n workers: the whole run from s, the last interval from s and prev. */
static void compute_histos(inspect_model *m, const schedrt_snapshot *s, const schedrt_snapshot *prev,
                           uint32_t n) {
  uint32_t nb = m->nbuckets < s->hist_buckets ? m->nbuckets : s->hist_buckets;
  int have_prev = prev && prev->hist_taken && prev->hist_buckets == s->hist_buckets;
  for (uint32_t i = 0; i < n; i++) {
    worker_view *v = &m->w[i];
    v->have_histo = 0;
    for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
      histo_view *hv = &v->histo[h];
      const uint64_t *cur = nb ? schedrt_snapshot_hist(s, i, h) : NULL;
      const uint64_t *old = have_prev && cur ? schedrt_snapshot_hist(prev, i, h) : NULL;
      memset(hv, 0, sizeof(*hv));
      if (!cur)
        continue;
      v->have_histo = 1;
      hist_summarize(cur, m->bucket_upper, nb, &hv->run);
      if (old) {
        uint64_t *last = &m->bucket_last[((size_t)i * SCHEDRT_M__HIST_COUNT + h) * m->nbuckets];
        hist_diff(old, cur, nb, last);
        hist_summarize(last, m->bucket_upper, nb, &hv->last);
        hv->have_last = 1;
      }
    }
  }
}

static void compute(inspect_model *m, const schedrt_snapshot *s, const schedrt_snapshot *prev) {
  global_view *g = &m->g;
  uint64_t dt = prev && s->taken_mono_ns > prev->taken_mono_ns ? s->taken_mono_ns - prev->taken_mono_ns : 0;
  uint32_t n = s->nworkers <= m->max_workers ? s->nworkers : m->max_workers;
  double polls = 0, steals = 0, parks = 0, busy = 0;
  uint32_t nbusy = 0;
  /* A process already gone at its first snapshot polls nothing: its workers' last states are history.
   * A hung one's busy time is extrapolated by the reader from a poll that is not running: not known. */
  int gone = is_gone(s), hung = s->liveness == SCHEDRT_LIVENESS_HUNG;

  g->nworkers = n;
  g->dt_ns = dt;
  g->have_rates = prev != NULL && dt > 0;
  g->taken_ns = s->taken_mono_ns;
  g->total_depth = 0;
  g->nrunning = g->nsearching = g->nparked = g->nstuck = 0;
  g->ntorn = s->ntorn;
  g->stuck_known = !gone;
#define GVAL(id, kind, off, type, unit, help, pub) g->values[RATE_G(id)] = s->global.id;
  SCHEDRT_GLOBAL_METRICS(GVAL)
#undef GVAL
  if (g->have_rates)
    rates_global(&prev->global, &s->global, dt, g->grate);

  /* The depth history advances once per period, for all workers at once; within a
   * period the newest sample keeps the deepest depth seen. */
  int new_sample = m->hist_len == 0 || s->taken_mono_ns - m->hist_started_ns >= m->hist_period_ns;
  if (new_sample) {
    m->hist_head = (m->hist_head + 1) % MODEL_HISTORY;
    if (m->hist_len < MODEL_HISTORY)
      m->hist_len++;
    m->hist_started_ns = s->taken_mono_ns;
  }

  for (uint32_t i = 0; i < n; i++) {
    const schedrt_worker_snap *ws = &s->workers[i];
    const schedrt_worker_snap *pw = g->have_rates && i < prev->nworkers ? &prev->workers[i] : NULL;
    worker_view *v = &m->w[i];
    v->index = i;
    v->torn = (int)ws->torn;
    v->state = ws->state;
    v->depth = ws->local_queue_depth;
    v->lifo = ws->lifo != 0;
    v->current_task = ws->current_task;
    snprintf(v->current_name, sizeof(v->current_name), "%s", ws->current_name);
    snprintf(v->current_file, sizeof(v->current_file), "%s", ws->current_file);
    v->current_line = ws->current_line;
    v->os_tid = ws->os_tid;
    rates_worker(pw, ws, dt, v->rate);
    v->busy_pct =
        pw && !pw->torn && !ws->torn && !hung ? busy_percent(pw->busy_ns_live, ws->busy_ns_live, dt) : NAN;
    update_running(m, v, ws, s);
    update_long_poll(m, v, ws, pw);
    /* The runtime's kind is of its current or last long poll (the screen says which it shows). */
    v->stall_kind = (uint32_t)ws->stall_kind;
    v->stall_syscall = ws->stall_syscall;
    v->stall_cpu_pct = ws->stall_cpu_pct;
    if (gone) {
      v->running_ns = 0;
      v->stuck = 0;
    }
    uint32_t *slot = &m->hist[(size_t)i * MODEL_HISTORY + m->hist_head];
    uint32_t d = ws->torn ? 0 : (uint32_t)(v->depth > UINT32_MAX ? UINT32_MAX : v->depth);
    if (new_sample || d > *slot)
      *slot = d;

    if (!ws->torn) {
      g->total_depth += v->depth;
      g->nrunning += ws->state == SCHEDRT_WSTATE_RUNNING;
      g->nsearching += ws->state == SCHEDRT_WSTATE_SEARCHING;
      g->nparked += ws->state == SCHEDRT_WSTATE_PARKED;
      g->nstuck += v->stuck != 0;
    }
    if (!isnan(v->rate[RATE_W(polls)])) {
      polls += v->rate[RATE_W(polls)];
      steals += v->rate[RATE_W(steals)];
      parks += v->rate[RATE_W(parks)];
    }
    if (!isnan(v->busy_pct)) {
      busy += v->busy_pct;
      nbusy++;
    }
  }
  compute_histos(m, s, prev, n);
  g->polls_per_s = g->have_rates ? polls : NAN;
  g->steals_per_s = g->have_rates ? steals : NAN;
  g->parks_per_s = g->have_rates ? parks : NAN;
  g->busy_pct = nbusy ? busy / nbusy : NAN;
}

static void update_liveness(inspect_model *m, const schedrt_snapshot *s) {
  global_view *g = &m->g;
  uint64_t wnow = s->writer_now_ns ? s->writer_now_ns : s->taken_mono_ns;
  g->liveness = s->liveness;
  g->seg_state = s->seg_state;
  g->hb_age_ns = wnow > s->heartbeat_mono_ns && s->heartbeat_mono_ns ? wnow - s->heartbeat_mono_ns : 0;
  g->hb_stalled_ns = s->heartbeat_stalled_ns;
  g->snapshots++;
  g->retries += s->retries;
  if (is_gone(s))
    g->target_gone = 1;
  if (!g->target_gone)
    g->uptime_ns = wnow > m->create_mono_ns ? wnow - m->create_mono_ns : 0;
}

void model_advance(inspect_model *m) {
  schedrt_snapshot *s = model_spare(m);
  int gone = is_gone(s);
  update_liveness(m, s);
  if (gone && m->nsnaps > 0)
    return; /* keep the last live picture; the spare is reused next time */
  const schedrt_snapshot *prev = m->nsnaps ? &m->snap[m->cur] : NULL;
  compute(m, s, prev);
  m->cur = (int)(s - m->snap);
  if (m->nsnaps < 2)
    m->nsnaps++;
}

void model_show_histograms(inspect_model *m, int on) {
  if (on)
    m->histo_users++;
  else if (m->histo_users)
    m->histo_users--;
}

const uint64_t *model_histo_last(const inspect_model *m, uint32_t w, uint32_t h) {
  if (w >= m->max_workers || h >= SCHEDRT_M__HIST_COUNT || !m->w[w].have_histo || !m->w[w].histo[h].have_last)
    return NULL;
  return &m->bucket_last[((size_t)w * SCHEDRT_M__HIST_COUNT + h) * m->nbuckets];
}

int model_refresh(inspect_model *m, schedrt_reader *r, unsigned snap_flags) {
  if (m->histo_users && m->timing)
    snap_flags |= SCHEDRT_SNAP_HISTOGRAMS;
  int err = schedrt_snapshot_take(r, snap_flags, model_spare(m));
  if (err && err != SCHEDRT_ETORN)
    return err;
  model_advance(m);
  /* Frozen with the rest once the target is gone. A failed read keeps the
   * last sites: the snapshot's own result says what went wrong. */
  if (!m->g.target_gone || m->sites.taken_ns == 0)
    (void)site_model_refresh(&m->sites, r, m->g.taken_ns, m->g.uptime_ns);
  return err;
}

uint32_t model_depth_history(const inspect_model *m, uint32_t w, uint32_t *out, uint32_t n) {
  if (w >= m->max_workers || m->hist_len == 0)
    return 0;
  if (n > m->hist_len)
    n = m->hist_len;
  const uint32_t *row = &m->hist[(size_t)w * MODEL_HISTORY];
  /* hist_head is the newest sample; walk back n-1 and emit forwards. */
  uint32_t start = (m->hist_head + MODEL_HISTORY - (n - 1)) % MODEL_HISTORY;
  for (uint32_t i = 0; i < n; i++)
    out[i] = row[(start + i) % MODEL_HISTORY];
  return n;
}
