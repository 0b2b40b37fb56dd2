/* Two dumps compared, as JSON (see dump_diff.h). */
#include <math.h>

#include "dump_analysis_json.h"
#include "dump_diff.h"

static json_t *rate(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *dump_side(const schedrt_dump_doc *d, const char *name) {
  json_t *o = json_object();
  json_object_set_new(o, "file", json_string(name));
  json_object_set_new(o, "taken_mono_ns", json_integer((json_int_t)d->taken_mono_ns));
  json_object_set_new(o, "taken_realtime_ns", json_integer((json_int_t)d->taken_realtime_ns));
  json_object_set_new(o, "tasks", json_integer((json_int_t)d->ntasks));
  return o;
}

static json_t *tasks(const schedrt_dump_doc *d, const size_t *v, size_t n) {
  json_t *arr = json_array();
  for (size_t k = 0; k < n; k++)
    json_array_append_new(arr, dump_task_json(d, v[k]));
  return arr;
}

static json_t *stalled(const dump_diff *df) {
  json_t *arr = json_array();
  for (size_t k = 0; k < df->nstalled; k++) {
    json_t *t = dump_task_json(df->b, df->stalled[k]);
    json_object_set_new(t, "idle_a_ns", json_integer((json_int_t)df->a->tasks[df->stalled_a[k]].state_ns));
    json_object_set_new(t, "idle_b_ns", json_integer((json_int_t)df->b->tasks[df->stalled[k]].state_ns));
    json_array_append_new(arr, t);
  }
  return arr;
}

static json_t *deadlocks(const dump_diff *df) {
  json_t *arr = json_array();
  for (size_t c = 0; c < df->waits_b.ncycles; c++) {
    const wait_cycle *cy = &df->waits_b.cycles[c];
    json_t *ids = json_array();
    for (size_t k = 0; k < cy->n; k++)
      json_array_append_new(ids, json_integer((json_int_t)df->b->tasks[cy->members[k]].id));
    json_array_append_new(arr, ids);
  }
  return arr;
}

static json_t *sites(const dump_diff *df) {
  json_t *arr = json_array();
  for (size_t i = 0; i < df->nsites; i++) {
    const diff_site *s = &df->sites[i];
    json_t *o = json_object();
    json_object_set_new(o, "file", s->site && s->site->file ? json_string(s->site->file) : json_null());
    json_object_set_new(o, "line", s->site ? json_integer((json_int_t)s->site->line) : json_null());
    json_object_set_new(o, "func", s->site && s->site->func ? json_string(s->site->func) : json_null());
    json_object_set_new(o, "tasks_a", json_integer((json_int_t)s->tasks_a));
    json_object_set_new(o, "tasks_b", json_integer((json_int_t)s->tasks_b));
    json_object_set_new(o, "appeared", json_integer((json_int_t)s->appeared));
    json_object_set_new(o, "finished", json_integer((json_int_t)s->finished));
    json_object_set_new(o, "polls", json_integer((json_int_t)s->polls));
    json_object_set_new(o, "polls_per_s", rate(s->polls_per_s));
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *workers(const dump_diff *df) {
  json_t *arr = json_array();
  for (size_t i = 0; i < df->nworkers; i++) {
    const diff_worker *w = &df->workers[i];
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)w->index));
    json_object_set_new(o, "polls", w->has_polls ? json_integer((json_int_t)w->polls) : json_null());
    json_object_set_new(o, "polls_per_s", rate(w->polls_per_s));
    json_object_set_new(o, "local_a", w->local_a >= 0 ? json_integer(w->local_a) : json_null());
    json_object_set_new(o, "local_b", w->local_b >= 0 ? json_integer(w->local_b) : json_null());
    json_array_append_new(arr, o);
  }
  return arr;
}

json_t *dump_diff_json(const dump_diff *df, const char *name_a, const char *name_b) {
  json_t *o = json_object(), *counts = json_object();
  json_object_set_new(counts, "stalled", json_integer((json_int_t)df->nstalled));
  json_object_set_new(counts, "new_lost_wakeups", json_integer((json_int_t)df->nnew_lost));
  json_object_set_new(counts, "deadlocks_b", json_integer((json_int_t)df->ndeadlocks_b));
  json_object_set_new(counts, "new_deadlocks", json_integer((json_int_t)df->nnew_deadlocks));
  json_object_set_new(counts, "appeared", json_integer((json_int_t)df->nappeared));
  json_object_set_new(counts, "finished", json_integer((json_int_t)df->nfinished));
  json_object_set_new(o, "pid", json_integer((json_int_t)df->a->pid));
  json_object_set_new(o, "a", dump_side(df->a, df->swapped ? name_b : name_a));
  json_object_set_new(o, "b", dump_side(df->b, df->swapped ? name_a : name_b));
  json_object_set_new(o, "swapped", json_boolean(df->swapped));
  json_object_set_new(o, "interval_ns", json_integer((json_int_t)df->interval_ns));
  json_object_set_new(o, "stall_margin_ns", json_integer((json_int_t)df->margin_ns));
  json_object_set_new(o, "counts", counts);
  json_object_set_new(o, "stalled", stalled(df));
  json_object_set_new(o, "new_lost_wakeups", tasks(df->b, df->new_lost, df->nnew_lost));
  json_object_set_new(o, "deadlocks_b", deadlocks(df));
  json_object_set_new(o, "appeared", tasks(df->b, df->appeared, df->nappeared));
  json_object_set_new(o, "finished", tasks(df->a, df->finished, df->nfinished));
  json_object_set_new(o, "spawn_sites", sites(df));
  json_object_set_new(o, "workers", workers(df));
  return o;
}
