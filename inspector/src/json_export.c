/* JSON output of list and stat (see json_export.h); show's is in dump_json.c. */
#include "json_export.h"

#include <errno.h>
#include <math.h>

#include "hist.h"
#include "rates.h"
#include "stall_text.h"
#include "util.h"

json_t *json_rate(double v) {
  if (!isfinite(v))
    return json_null();
  /* Three decimals are plenty for a rate and keep lines short. */
  return json_real(round(v * 1000.0) / 1000.0);
}

json_t *json_segment_entry(const schedrt_segment_entry *e, uint64_t now_real) {
  json_t *o = json_object();
  json_object_set_new(o, "pid", json_integer(e->pid));
  json_object_set_new(o, "uid", json_integer(e->uid));
  json_object_set_new(o, "state", json_string(e->error ? "ERROR" : schedrt_liveness_name(e->liveness)));
  json_object_set_new(o, "segment", json_string(e->name));
  json_object_set_new(o, "starttime", json_integer((json_int_t)e->starttime));
  json_object_set_new(o, "runtime_index", json_integer(e->runtime_index));
  if (e->error) {
    json_object_set_new(o, "error", json_string(schedrt_strerror(e->error)));
    json_object_set_new(o, "error_name", json_string(schedrt_err_name(e->error)));
    return o;
  }
  json_object_set_new(o, "runtime", json_string(e->runtime_name));
  json_object_set_new(o, "comm", json_string(e->comm));
  json_object_set_new(o, "workers", json_integer(e->nworkers));
  json_object_set_new(o, "size", json_integer((json_int_t)e->size));
  json_object_set_new(o, "created_unix_s", json_real((double)e->create_realtime_ns / 1e9));
  if (e->create_realtime_ns && now_real > e->create_realtime_ns)
    json_object_set_new(o, "uptime_s",
                        json_real(round((double)(now_real - e->create_realtime_ns) / 1e6) / 1e3));
  else
    json_object_set_new(o, "uptime_s", json_null());
  return o;
}

/* A histogram figure, or null when it is not known. */
static json_t *json_figure(int known, uint64_t bound, const inspect_model *m) {
  return known ? json_integer((json_int_t)hist_finite(bound, m->bucket_upper, m->nbuckets)) : json_null();
}

/*
 * Histogram h of worker v as "<name>" (values recorded since start), "<name>_per_s",
 * "<name>_p50_ns" and "<name>_p99_ns" (over the interval): always there, null when
 * the segment records no histograms or the figure is not known yet.
 */
static void json_histo(json_t *wo, const char *name, const inspect_model *m, const worker_view *v,
                       uint32_t h) {
  const histo_view *hv = &v->histo[h];
  int run = m->timing && v->have_histo, last = run && hv->have_last && m->g.dt_ns > 0;
  int figures = last && hv->last.count > 0;
  char key[64];
  json_object_set_new(wo, name, run ? json_integer((json_int_t)hv->run.count) : json_null());
  xsnprintf(key, sizeof(key), "%s_per_s", name);
  json_object_set_new(wo, key,
                      last ? json_rate((double)hv->last.count * 1e9 / (double)m->g.dt_ns) : json_null());
  xsnprintf(key, sizeof(key), "%s_p50_ns", name);
  json_object_set_new(wo, key, json_figure(figures, hv->last.p50, m));
  xsnprintf(key, sizeof(key), "%s_p99_ns", name);
  json_object_set_new(wo, key, json_figure(figures, hv->last.p99, m));
}

/* The task a stuck worker is polling, as the model judged it (--stuck-ms), or null. */
static json_t *json_stuck_task(const worker_view *v) {
  if (!v->stuck || !v->current_task)
    return json_null(); /* not stuck, or only a long poll the runtime counted, its task not named */
  /* Name and site come with the runtime's own naming of the long poll: until then, null. */
  int named = v->current_file[0] != '\0';
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)v->current_task));
  json_object_set_new(o, "name", named && v->current_name[0] ? json_string(v->current_name) : json_null());
  json_object_set_new(o, "spawn_file", named ? json_string(v->current_file) : json_null());
  json_object_set_new(o, "spawn_line", named ? json_integer(v->current_line) : json_null());
  json_object_set_new(o, "running_ns", json_integer((json_int_t)v->running_ns));
  return o;
}

json_t *json_u64(uint64_t v) {
  if (v <= INT64_MAX)
    return json_integer((json_int_t)v);
  char buf[32];
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
  return json_string(buf);
}

json_t *json_opt_i64(int64_t v) { return v < 0 ? json_null() : json_integer((json_int_t)v); }

json_t *json_text(const char *s) {
  json_t *j = json_string(s ? s : "");
  if (j)
    return j;
  /* Not UTF-8 (bytes another process wrote): the ASCII part, the rest as '?'. */
  char buf[512];
  size_t i = 0;
  for (; s[i] && i + 1 < sizeof(buf); i++)
    buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
  buf[i] = '\0';
  return json_string(buf);
}

/* The spawn sites in the table's order, every counter of the list, with their rates and the leak mark;
 * null for a writer that publishes none (layout < 2.5). */
static json_t *json_sites(const site_model *sm) {
  if (!sm->cap)
    return json_null();
  json_t *a = json_array();
  for (uint32_t i = 0; i < sm->cap; i++) {
    const site_view *v = &sm->v[i];
    if (!v->present)
      continue;
    json_t *so = json_object();
    json_object_set_new(so, "index", json_integer(v->s.index));
    json_object_set_new(so, "overflow", json_boolean(v->s.overflow));
    if (!v->s.overflow) {
      json_object_set_new(so, "file", json_text(v->s.file));
      json_object_set_new(so, "line", json_integer(v->s.line));
      json_object_set_new(so, "func", json_text(v->s.func));
      json_object_set_new(so, "name", json_text(v->s.name));
    }
#define S_FIELD(id, kind, off, unit, help, timing)                                                           \
  json_object_set_new(so, #id, json_integer((json_int_t)v->s.id));
    SCHEDRT_SITE_COUNTERS(S_FIELD)
#undef S_FIELD
    json_object_set_new(so, "alive", json_integer((json_int_t)v->s.alive));
    json_object_set_new(so, "spawned_per_s", json_rate(v->spawn_rate));
    json_object_set_new(so, "polls_per_s", json_rate(v->poll_rate));
    json_object_set_new(so, "busy_pct", json_rate(v->busy_pct));
    json_object_set_new(so, "mean_sched_latency_ns", json_rate(v->latency_ns));
    json_object_set_new(so, "leak_suspect", json_boolean(v->leak));
    json_array_append_new(a, so);
  }
  return a;
}

json_t *json_stat_sample(const inspect_target *t, const inspect_model *m, uint64_t now_real) {
  const schedrt_snapshot *s = model_current(m);
  const global_view *g = &m->g;
  json_t *o = json_object();
  json_object_set_new(o, "time_unix_s", json_real((double)(now_real / 1000000u) / 1e3));
  json_object_set_new(o, "pid", json_integer(t->pid));
  json_object_set_new(o, "runtime", json_string(t->info->runtime_name));
  json_object_set_new(o, "state", json_string(schedrt_liveness_name(g->liveness)));
  json_object_set_new(o, "exited", json_boolean(g->target_gone));
  json_object_set_new(o, "uptime_s", json_real((double)(g->uptime_ns / 1000000u) / 1e3));
  json_object_set_new(o, "heartbeat_age_ms", json_real((double)(g->hb_age_ns / 1000u) / 1e3));
  json_object_set_new(o, "interval_s", json_real((double)(g->dt_ns / 1000u) / 1e6));
  json_object_set_new(o, "nworkers", json_integer(g->nworkers));
  json_object_set_new(o, "torn", json_integer(g->ntorn));

  json_t *glob = json_object();
  if (s && !s->global.torn) {
#define G_FIELD(id, kind, off, type, unit, help, pub)                                                        \
  json_object_set_new(glob, #id, json_integer((json_int_t)g->values[RATE_G(id)]));                           \
  if (SCHEDRT_METRIC_##kind == SCHEDRT_METRIC_COUNTER)                                                       \
    json_object_set_new(glob, #id "_per_s", json_rate(g->grate[RATE_G(id)]));
    SCHEDRT_GLOBAL_METRICS(G_FIELD)
#undef G_FIELD
  }
  json_object_set_new(glob, "polls_per_s", json_rate(g->polls_per_s));
  json_object_set_new(glob, "steals_per_s", json_rate(g->steals_per_s));
  json_object_set_new(glob, "parks_per_s", json_rate(g->parks_per_s));
  json_object_set_new(glob, "busy_pct", json_rate(g->busy_pct));
  json_object_set_new(glob, "stuck_workers", g->stuck_known ? json_integer(g->nstuck) : json_null());
  json_object_set_new(o, "global", glob);

  json_t *ws = json_array();
  for (uint32_t i = 0; s && i < g->nworkers; i++) {
    const schedrt_worker_snap *w = &s->workers[i];
    const worker_view *v = &m->w[i];
    json_t *wo = json_object();
    json_object_set_new(wo, "index", json_integer(i));
    json_object_set_new(wo, "torn", json_boolean(w->torn));
    if (!w->torn) {
      json_object_set_new(wo, "state_name", json_string(schedrt_worker_state_name(w->state)));
#define W_FIELD(id, kind, off, type, unit, help, pub)                                                        \
  json_object_set_new(wo, #id, json_integer((json_int_t)w->id));                                             \
  if (SCHEDRT_METRIC_##kind == SCHEDRT_METRIC_COUNTER)                                                       \
    json_object_set_new(wo, #id "_per_s", json_rate(v->rate[RATE_W(id)]));
      SCHEDRT_WSLOT_METRICS(W_FIELD)
#undef W_FIELD
      json_object_set_new(wo, "busy_pct", json_rate(v->busy_pct));
      json_object_set_new(wo, "running_ns", json_integer((json_int_t)v->running_ns));
      json_object_set_new(wo, "stuck", json_boolean(v->stuck));
      /* The runtime counted a long poll since the previous sample (long_polls, last_long_poll_ns). */
      json_object_set_new(wo, "long_poll", json_boolean(v->long_poll));
      json_object_set_new(wo, "stuck_task", json_stuck_task(v));
      /* The runtime's stall metrics in words (the numbers are above, with the list's). */
      char sc[64];
      json_object_set_new(
          wo, "stall_kind_name",
          json_string(w->stall_kind < SCHEDRT_STALL__COUNT ? schedrt_stall_kind_names[w->stall_kind] : "?"));
      const char *scn = stall_syscall_name(sc, sizeof(sc), w->stall_syscall);
      json_object_set_new(wo, "stall_syscall_name", scn ? json_string(scn) : json_null());
      if (w->os_tid)
        json_object_set_new(wo, "tid", json_integer((json_int_t)w->os_tid));
#define H_FIELD(id, kind, off, type, unit, help, pub) json_histo(wo, #id, m, v, HIST_ID(id));
      SCHEDRT_HIST_METRICS(H_FIELD)
#undef H_FIELD
    }
    json_array_append_new(ws, wo);
  }
  json_object_set_new(o, "workers", ws);
  json_object_set_new(o, "sites", json_sites(&m->sites));
  return o;
}

int json_emit(json_t *j, FILE *f, int compact) {
  size_t flags = JSON_ENSURE_ASCII | (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER |
                 JSON_REAL_PRECISION(15);
  int rc = j ? json_dumpf(j, f, flags) : -1;
  json_decref(j);
  if (rc == 0 && fputc('\n', f) == EOF)
    rc = -1;
  if (rc == 0 && fflush(f) != 0)
    rc = -1;
  return rc ? -EIO : 0;
}
