/* A recording's summary per worker (see recording_summary.h). */
#include "recording_summary.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "json_export.h"
#include "snapshot_model.h"
#include "util.h"

/* Per worker while the samples go by. */
struct acc {
  uint32_t *depths;
  size_t ndepths, cap;
  uint64_t busy_ns, dt_ns;
  int open; /* an episode is under way */
  rec_episode cur;
  size_t ep_cap; /* room in the worker's episode list */
};

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* A counter's growth between two samples; a counter that went back (a new runtime) adds nothing. */
static uint64_t grew(uint64_t prev, uint64_t cur) { return cur > prev ? cur - prev : 0; }

static void close_episode(rec_worker_summary *ws, struct acc *a) {
  if (!a->open)
    return;
  a->open = 0;
  ws->episodes_all++;
  if (ws->nepisodes == REC_EPISODES_KEPT)
    return;
  if (ws->nepisodes == a->ep_cap) {
    a->ep_cap = a->ep_cap ? 2 * a->ep_cap : 16;
    ws->episodes = xrealloc(ws->episodes, a->ep_cap * sizeof(*ws->episodes));
  }
  ws->episodes[ws->nepisodes++] = a->cur;
}

/* A stuck episode begins with a poll of task; its start goes back by how long it has run. */
static void open_episode(rec_worker_summary *ws, struct acc *a, uint64_t task, uint64_t ran_ns,
                         uint64_t rel_ns, uint64_t realtime) {
  close_episode(ws, a);
  a->open = 1;
  memset(&a->cur, 0, sizeof(a->cur));
  a->cur.task = task;
  a->cur.duration_ns = ran_ns;
  a->cur.start_ns = rel_ns > ran_ns ? rel_ns - ran_ns : 0;
  a->cur.realtime_ns = realtime > ran_ns ? realtime - ran_ns : realtime;
}

/*
 * Worker v at a sample taken at rel_ns (since the first) and realtime: an
 * episode starts, goes on or ends. The poll under way is stuck when it has
 * run for the threshold; a long poll the runtime counted (v->long_poll) with
 * no stuck poll under way ended since the last sample: the end of the
 * episode under way, or one of its own that no sample saw.
 */
static void track_stuck(rec_worker_summary *ws, struct acc *a, const worker_view *v, uint64_t stuck_ns,
                        uint64_t rel_ns, uint64_t realtime) {
  int running_stuck = !v->torn && v->current_task && v->running_ns >= stuck_ns;
  if (running_stuck) {
    if (!a->open || a->cur.task != v->current_task)
      open_episode(ws, a, v->current_task, v->running_ns, rel_ns, realtime);
    a->cur.samples++;
    if (v->running_ns > a->cur.duration_ns)
      a->cur.duration_ns = v->running_ns;
    /* The runtime's monitor names the task from its second period on: take the name whenever it comes. */
    if (!a->cur.file[0] && v->current_file[0]) {
      xsnprintf(a->cur.name, sizeof(a->cur.name), "%s", v->current_name);
      xsnprintf(a->cur.file, sizeof(a->cur.file), "%s", v->current_file);
      a->cur.line = v->current_line;
    }
    return;
  }
  if (v->long_poll && !v->torn) {
    if (a->open) {
      if (v->long_poll_ns > a->cur.duration_ns)
        a->cur.duration_ns = v->long_poll_ns;
    } else {
      open_episode(ws, a, 0, v->long_poll_ns, rel_ns, realtime);
      a->cur.samples = 1;
    }
  }
  close_episode(ws, a);
}

static void add_depth(struct acc *a, uint64_t d) {
  if (a->ndepths == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 256;
    a->depths = xrealloc(a->depths, a->cap * sizeof(*a->depths));
  }
  a->depths[a->ndepths++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

int rec_summarize(const recording *r, uint64_t stuck_ns, rec_summary *out) {
  const rec_header *h = &r->h;
  inspect_model m;
  memset(out, 0, sizeof(*out));
  if (model_init_raw(&m, h->max_workers, h->created_mono_ns, stuck_ns))
    return -ENOMEM;
  if (model_set_buckets(&m, h->bounds, h->nbuckets, h->timing)) {
    model_fini(&m);
    return -ENOMEM;
  }
  m.long_poll_ns = (uint64_t)h->long_poll_ms * 1000000u;
  out->stuck_ns = m.stuck_ns;
  out->samples = r->nsamples;
  out->w = xcalloc(h->max_workers, sizeof(*out->w));
  struct acc *acc = xcalloc(h->max_workers, sizeof(*acc));
  uint64_t *inject = xcalloc(r->nsamples ? r->nsamples : 1, sizeof(*inject));
  size_t ninject = 0;
  for (uint32_t i = 0; i < h->max_workers; i++) {
    out->w[i].index = i;
    out->w[i].busy_pct = NAN;
  }
  out->nslots = h->max_workers;
  for (size_t i = 0; i < r->nsamples; i++) {
    schedrt_snapshot *s = model_spare(&m);
    uint64_t realtime;
    if (rec_sample_read(r, i, s, &realtime))
      continue; /* checked when the file was loaded: cannot happen */
    const schedrt_snapshot *prev = model_current(&m);
    if (i == 0) {
      out->first_mono_ns = s->taken_mono_ns;
      out->first_realtime_ns = realtime;
    }
    out->last_mono_ns = s->taken_mono_ns;
    if (s->nworkers > out->nworkers)
      out->nworkers = s->nworkers;
    if (!s->global.torn) {
      inject[ninject++] = s->global.inject_depth;
      if (s->global.alive > out->alive_max)
        out->alive_max = s->global.alive;
    }
    uint64_t dt = prev && s->taken_mono_ns > prev->taken_mono_ns ? s->taken_mono_ns - prev->taken_mono_ns : 0;
    for (uint32_t w = 0; w < s->nworkers; w++) {
      const schedrt_worker_snap *ws = &s->workers[w];
      rec_worker_summary *sum = &out->w[w];
      if (ws->torn)
        continue;
      sum->samples++;
      add_depth(&acc[w], ws->local_queue_depth);
      const schedrt_worker_snap *pw =
          prev && w < prev->nworkers && !prev->workers[w].torn ? &prev->workers[w] : NULL;
      if (pw && dt) {
        sum->polls += grew(pw->polls, ws->polls);
        sum->steals += grew(pw->steals, ws->steals);
        sum->parks += grew(pw->parks, ws->parks);
        uint64_t b = grew(pw->busy_ns_live, ws->busy_ns_live);
        acc[w].busy_ns += b < dt ? b : dt;
        acc[w].dt_ns += dt;
      }
    }
    model_advance(&m);
    /* Once the target is gone the model keeps its last live picture: nothing more is stuck. */
    for (uint32_t w = 0; w < m.g.nworkers && !m.g.target_gone; w++) {
      track_stuck(&out->w[w], &acc[w], &m.w[w], m.stuck_ns, s->taken_mono_ns - out->first_mono_ns, realtime);
    }
  }
  for (uint32_t w = 0; w < h->max_workers; w++) {
    rec_worker_summary *sum = &out->w[w];
    close_episode(sum, &acc[w]);
    if (acc[w].ndepths) {
      qsort(acc[w].depths, acc[w].ndepths, sizeof(uint32_t), cmp_u32);
      sum->depth_p50 = acc[w].depths[(acc[w].ndepths - 1) / 2];
      sum->depth_max = acc[w].depths[acc[w].ndepths - 1];
    }
    if (acc[w].dt_ns)
      sum->busy_pct = 100.0 * (double)acc[w].busy_ns / (double)acc[w].dt_ns;
    free(acc[w].depths);
  }
  if (ninject) {
    qsort(inject, ninject, sizeof(uint64_t), cmp_u64);
    out->inject_p50 = inject[(ninject - 1) / 2];
    out->inject_max = inject[ninject - 1];
  }
  free(inject);
  free(acc);
  model_fini(&m);
  return 0;
}

void rec_summary_free(rec_summary *s) {
  for (uint32_t w = 0; s->w && w < s->nslots; w++)
    free(s->w[w].episodes);
  free(s->w);
  memset(s, 0, sizeof(*s));
}

static const char *task_label(char *buf, size_t size, const rec_episode *e) {
  char site[128];
  if (!e->task)
    return xsnprintf(buf, size, "a poll that ended between two samples (the runtime counted it)");
  if (!e->file[0])
    return xsnprintf(buf, size, "#%llu (not named: the runtime names polls past one monitor period)",
                     (unsigned long long)e->task);
  return xsnprintf(buf, size, "#%llu \"%s\" spawned at %s", (unsigned long long)e->task,
                   e->name[0] ? e->name : "unnamed", fmt_site(site, sizeof(site), e->file, e->line, 0, 0));
}

void rec_summary_print(const recording *r, const rec_summary *s, FILE *f, size_t max_episodes) {
  const rec_header *h = &r->h;
  char a[48], b[48], c[48], d[48], e[48], when[48];
  uint64_t span = s->last_mono_ns - s->first_mono_ns;
  fprintf(f,
          "Recording of pid %u (runtime \"%s\", %s, schedrt %s), from %s for %s: %zu samples every %s, %u "
          "workers",
          h->pid, h->runtime, h->comm[0] ? h->comm : "?", h->runtime_version[0] ? h->runtime_version : "?",
          fmt_datetime(when, sizeof(when), s->first_realtime_ns), fmt_duration(a, sizeof(a), span),
          s->samples, fmt_duration(b, sizeof(b), h->interval_ns), s->nworkers);
  if (r->end[0])
    fprintf(f, "; ended: %s\n", strcmp(r->end, "exited") == 0 ? "the target exited" : r->end);
  else
    fprintf(f, "; no trailer: the recorder was killed%s\n",
            r->tail_bytes ? " while writing (an incomplete last sample was left out)" : "");
  fprintf(f, "injection queue depth p50 %llu, max %llu; alive tasks at most %llu%s\n",
          (unsigned long long)s->inject_p50, (unsigned long long)s->inject_max,
          (unsigned long long)s->alive_max, h->timing ? "; with latency histograms" : "");
  fprintf(f, "\nWORKERS (depth: local queue, LIFO excluded; counts over the recording)\n");
  fprintf(f, "%5s %8s %9s %6s %6s %9s %9s %9s %6s\n", "W", "SAMPLES", "DEPTH p50", "max", "BUSY%", "POLLS",
          "STEALS", "PARKS", "STUCK");
  for (uint32_t w = 0; w < s->nworkers; w++) {
    const rec_worker_summary *ws = &s->w[w];
    if (isnan(ws->busy_pct))
      xsnprintf(e, sizeof(e), "-");
    else
      xsnprintf(e, sizeof(e), "%.0f", ws->busy_pct);
    fprintf(f, "%5u %8llu %9llu %6llu %6s %9s %9s %9s %6llu\n", w, (unsigned long long)ws->samples,
            (unsigned long long)ws->depth_p50, (unsigned long long)ws->depth_max, e,
            fmt_si(a, sizeof(a), (double)ws->polls), fmt_si(c, sizeof(c), (double)ws->steals),
            fmt_si(d, sizeof(d), (double)ws->parks), (unsigned long long)ws->episodes_all);
  }
  fprintf(
      f,
      "\nSTUCK EPISODES (a poll seen running for %s or more; when it began, how long at least, the task)\n",
      fmt_duration(a, sizeof(a), s->stuck_ns));
  int any = 0;
  for (uint32_t w = 0; w < s->nworkers; w++) {
    const rec_worker_summary *ws = &s->w[w];
    if (!ws->episodes_all)
      continue;
    any = 1;
    fprintf(f, "  worker %u: %llu\n", w, (unsigned long long)ws->episodes_all);
    size_t n = max_episodes && ws->nepisodes > max_episodes ? max_episodes : ws->nepisodes;
    for (size_t i = 0; i < n; i++) {
      const rec_episode *ep = &ws->episodes[i];
      char label[256];
      fprintf(f, "    %s +%-9s %9s  %s\n", fmt_clock(when, sizeof(when), ep->realtime_ns),
              fmt_duration(a, sizeof(a), ep->start_ns), fmt_duration(b, sizeof(b), ep->duration_ns),
              task_label(label, sizeof(label), ep));
    }
    if (ws->episodes_all > n)
      fprintf(f, "    ... %llu more%s\n", (unsigned long long)(ws->episodes_all - n),
              n < ws->nepisodes ? " (--all lists them, --json too)" : "");
  }
  if (!any)
    fprintf(f, "  none\n");
}

static json_t *juint(uint64_t v) { return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v); }

json_t *rec_summary_json(const recording *r, const rec_summary *s) {
  const rec_header *h = &r->h;
  json_t *o = json_object(), *ws = json_array();
  json_object_set_new(o, "format", json_string(REC_FORMAT));
  json_object_set_new(o, "pid", juint(h->pid));
  json_object_set_new(o, "runtime", json_string(h->runtime));
  json_object_set_new(o, "comm", json_string(h->comm));
  json_object_set_new(o, "runtime_version", json_string(h->runtime_version));
  json_object_set_new(o, "samples", juint(s->samples));
  json_object_set_new(o, "interval_ns", juint(h->interval_ns));
  json_object_set_new(o, "start_realtime_ns", juint(s->first_realtime_ns));
  json_object_set_new(o, "duration_ns", juint(s->last_mono_ns - s->first_mono_ns));
  json_object_set_new(o, "ended", r->end[0] ? json_string(r->end) : json_null());
  json_object_set_new(o, "incomplete_tail_bytes", juint(r->tail_bytes));
  json_object_set_new(o, "timing", json_boolean(h->timing));
  json_object_set_new(o, "stuck_threshold_ns", juint(s->stuck_ns));
  json_object_set_new(o, "inject_depth_p50", juint(s->inject_p50));
  json_object_set_new(o, "inject_depth_max", juint(s->inject_max));
  json_object_set_new(o, "alive_max", juint(s->alive_max));
  for (uint32_t w = 0; w < s->nworkers; w++) {
    const rec_worker_summary *x = &s->w[w];
    json_t *j = json_object(), *eps = json_array();
    json_object_set_new(j, "index", juint(w));
    json_object_set_new(j, "samples", juint(x->samples));
    json_object_set_new(j, "local_queue_depth_p50", juint(x->depth_p50));
    json_object_set_new(j, "local_queue_depth_max", juint(x->depth_max));
    json_object_set_new(j, "busy_pct", json_rate(x->busy_pct));
    json_object_set_new(j, "polls", juint(x->polls));
    json_object_set_new(j, "steals", juint(x->steals));
    json_object_set_new(j, "parks", juint(x->parks));
    json_object_set_new(j, "stuck_episodes_total", juint(x->episodes_all));
    for (size_t i = 0; i < x->nepisodes; i++) {
      const rec_episode *ep = &x->episodes[i];
      json_t *e = json_object();
      json_object_set_new(e, "start_ns", juint(ep->start_ns));
      json_object_set_new(e, "start_realtime_ns", juint(ep->realtime_ns));
      json_object_set_new(e, "duration_ns", juint(ep->duration_ns));
      json_object_set_new(e, "samples", juint(ep->samples));
      json_object_set_new(e, "task", ep->task ? juint(ep->task) : json_null());
      json_object_set_new(e, "name", ep->name[0] ? json_string(ep->name) : json_null());
      json_object_set_new(e, "spawn_file", ep->file[0] ? json_string(ep->file) : json_null());
      json_object_set_new(e, "spawn_line", ep->file[0] ? juint(ep->line) : json_null());
      json_array_append_new(eps, e);
    }
    json_object_set_new(j, "stuck_episodes", eps);
    json_array_append_new(ws, j);
  }
  json_object_set_new(o, "workers", ws);
  return o;
}
