/* The analysis as JSON (see dump_analysis_json.h). */
#include "dump_analysis_json.h"

#include <stdio.h>

#include "dump_backtrace.h"
#include "dump_events.h"
#include "dump_json.h"
#include "json_export.h"
#include "schedrt.h"

static json_t *text_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *site_json(const schedrt_dump_site *s, int await) {
  if (!s)
    return json_null();
  json_t *o = json_object();
  if (await)
    json_object_set_new(o, "label", text_or_null(s->label));
  json_object_set_new(o, "file", text_or_null(s->file));
  json_object_set_new(o, "line", json_u64(s->line));
  if (!await)
    json_object_set_new(o, "func", text_or_null(s->func));
  return o;
}

json_t *dump_task_json(const schedrt_dump_doc *d, size_t i) {
  const schedrt_dump_task *t = &d->tasks[i];
  json_t *o = json_object();
  json_object_set_new(o, "id", json_u64(t->id));
  json_object_set_new(o, "name", t->name && t->name[0] ? json_string(t->name) : json_null());
  json_object_set_new(o, "state", json_string(schedrt_dump_state_text(t->state)));
  json_object_set_new(o, "for_ns", json_opt_i64(dump_task_for_ns_opt(d, t)));
  json_object_set_new(o, "polls", json_u64(t->polls));
  json_object_set_new(o, "await", site_json(schedrt_dump_await_site(d, t), 1));
  json_object_set_new(o, "spawn", site_json(schedrt_dump_spawn_site(d, t), 0));
  json_object_set_new(o, "wakers", json_u64(t->wakers));
  json_object_set_new(o, "timers", json_u64(t->timers));
  bool edge = t->wait == SCHEDRT_DUMP_WAIT_JOIN || t->wait == SCHEDRT_DUMP_WAIT_MUTEX ||
              t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE;
  json_object_set_new(o, "waits_for", edge ? json_opt_i64(t->wait_for) : json_null());
  /* 1.2: what it waits on, and who holds it (a mutex, a semaphore). */
  json_object_set_new(o, "wait",
                      t->wait != SCHEDRT_DUMP_WAIT_NONE ? json_string(schedrt_dump_wait_text(t->wait))
                                                        : json_null());
  json_object_set_new(o, "wait_object", json_opt_i64(t->wait_object));
  if (t->holders) {
    json_t *hs = json_array();
    for (size_t k = 0; k + 1 < t->nholders; k += 2) {
      json_t *h = json_object();
      json_object_set_new(h, "id", t->holders[k] ? json_u64(t->holders[k]) : json_null());
      json_object_set_new(h, "permits", json_u64(t->holders[k + 1]));
      json_array_append_new(hs, h);
    }
    json_object_set_new(o, "holders", hs);
    json_object_set_new(o, "holders_more", json_u64(t->holders_more));
  }
  if (t->wait == SCHEDRT_DUMP_WAIT_IO) {
    json_t *io = json_object();
    json_object_set_new(io, "fd", json_opt_i64(t->wait_fd));
    json_object_set_new(io, "interest", text_or_null(t->wait_interest));
    json_object_set_new(io, "peer", text_or_null(t->peer));
    json_object_set_new(o, "io", io);
  }
  return o;
}

static json_t *stuck_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  json_t *arr = json_array();
  bt_symbolizer *sym = bt_symbolizer_new();
  for (size_t k = 0; k < a->nstuck; k++) {
    const schedrt_dump_worker *w = &d->workers[a->stuck[k]];
    size_t ti = a->workers[a->stuck[k]].current;
    json_t *o = json_object();
    json_object_set_new(o, "worker", json_u64(w->index));
    json_object_set_new(o, "reason", text_or_null(schedrt_dump_reason_text(w->reason)));
    json_object_set_new(o, "task_id", json_opt_i64(w->current_task));
    json_object_set_new(o, "running_ns", json_opt_i64(w->running_ns));
    json_object_set_new(o, "task", ti != WAITS_NONE ? dump_task_json(d, ti) : json_null());
    /* 1.3: its stall backtrace with names (null without one). */
    json_object_set_new(o, "backtrace", dump_backtrace_json(sym, w));
    json_array_append_new(arr, o);
  }
  bt_symbolizer_free(sym);
  return arr;
}

static json_t *deadlocks_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  json_t *arr = json_array();
  for (size_t c = 0; c < a->waits.ncycles; c++) {
    const wait_cycle *cy = &a->waits.cycles[c];
    json_t *o = json_object(), *tasks = json_array();
    for (size_t k = 0; k < cy->n; k++)
      json_array_append_new(tasks, dump_task_json(d, cy->members[k]));
    json_object_set_new(o, "size", json_u64(cy->n));
    json_object_set_new(o, "tasks", tasks);
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *chain_end_json(const dump_analysis *a, size_t head) {
  const schedrt_dump_doc *d = a->d;
  size_t last;
  wait_end e = dump_waits_chain_end(d, &a->waits, head, &last);
  json_t *o = json_object();
  static const char *const kinds[] = {"task", "finished", "deadlock"};
  json_object_set_new(o, "kind", json_string(kinds[e]));
  if (e == WAIT_END_MISSING) {
    json_object_set_new(o, "id", json_opt_i64(d->tasks[last].wait_for));
  } else {
    json_object_set_new(o, "id", json_u64(d->tasks[last].id));
    json_object_set_new(o, "state", json_string(schedrt_dump_state_text(d->tasks[last].state)));
  }
  if (e == WAIT_END_CYCLE)
    json_object_set_new(o, "deadlock",
                        json_u64(a->waits.cycle_of[last])); /* 1-based, as the report numbers them */
  return o;
}

static json_t *chains_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  const dump_waits *w = &a->waits;
  json_t *arr = json_array();
  for (size_t k = 0; k < a->nchains && k < ANALYSIS_JSON_MAX_CHAINS; k++) {
    size_t head = a->chains[k], len = w->depth[head], p = head;
    json_t *o = json_object(), *ids = json_array();
    for (size_t step = 0; step < len && step < ANALYSIS_JSON_MAX_CHAIN_IDS && p != WAITS_NONE; step++) {
      if (dump_waits_in_cycle(w, p))
        break;
      json_array_append_new(ids, json_u64(d->tasks[p].id));
      p = w->next[p];
    }
    json_object_set_new(o, "length", json_u64(len));
    json_object_set_new(o, "tasks", ids);
    json_object_set_new(o, "truncated", json_boolean(len > ANALYSIS_JSON_MAX_CHAIN_IDS));
    json_object_set_new(o, "end", chain_end_json(a, head));
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *awaits_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  json_t *arr = json_array();
  size_t shown = 0;
  for (size_t k = 0; k < a->nawaits && shown < ANALYSIS_JSON_MAX_AWAITS; k++) {
    const await_summary *s = &a->awaits[k];
    if (!s->idle)
      continue;
    shown++;
    json_t *o = json_object();
    json_object_set_new(o, "await", site_json(s->await >= 0 ? &d->await_sites[s->await] : NULL, 1));
    json_object_set_new(o, "idle", json_u64(s->idle));
    json_object_set_new(o, "lost", json_u64(s->lost));
    json_object_set_new(o, "longest_idle_ns", json_u64(s->longest_idle_ns));
    json_object_set_new(o, "longest_task", json_u64(d->tasks[s->longest].id));
    json_array_append_new(arr, o);
  }
  return arr;
}

/* Proven leaks: every such task's id, and the count per spawn site. */
static json_t *proven_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  json_t *o = json_object(), *ids = json_array(), *sites = json_array();
  for (size_t i = 0; i < d->ntasks; i++)
    if (a->proven[i])
      json_array_append_new(ids, json_u64(d->tasks[i].id));
  for (size_t k = 0; k < a->nsites; k++) {
    const site_summary *s = &a->sites[k];
    if (!s->proven)
      continue;
    json_t *so = json_object();
    json_object_set_new(so, "spawn", site_json(s->spawn >= 0 ? &d->spawn_sites[s->spawn] : NULL, 0));
    json_object_set_new(so, "tasks", json_u64(s->proven));
    json_array_append_new(sites, so);
  }
  json_object_set_new(o, "tasks", ids);
  json_object_set_new(o, "by_spawn_site", sites);
  return o;
}

json_t *dump_analysis_json(const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  json_t *o = json_object(), *counts = json_object(), *lost = json_array();
  for (size_t k = 0; k < a->nlost; k++)
    json_array_append_new(lost, dump_task_json(d, a->lost[k]));
  json_object_set_new(counts, "stuck_workers", json_u64(a->nstuck));
  json_object_set_new(counts, "lost_wakeups", json_u64(a->nlost));
  json_object_set_new(counts, "deadlocks", json_u64(a->waits.ncycles));
  json_object_set_new(counts, "wait_chains", json_u64(a->nchains));
  json_object_set_new(counts, "proven_leaked", json_u64(a->nproven));
  json_object_set_new(o, "by", json_string("sched-inspect " SCHEDRT_VERSION_STRING));
  /* false for a 1.0 dump: the lists below are then empty for want of data, not because all is well. */
  json_object_set_new(o, "wake_info", json_boolean(a->wake_info));
  json_object_set_new(o, "counts", counts);
  json_object_set_new(o, "stuck_workers", stuck_json(a));
  json_object_set_new(o, "lost_wakeups", lost);
  json_object_set_new(o, "deadlocks", deadlocks_json(a));
  json_object_set_new(o, "wait_chains", chains_json(a));
  json_object_set_new(o, "idle_await_points", awaits_json(a));
  json_object_set_new(o, "proven_leaked", proven_json(a));
  return o;
}

/* sites[index] of a task's index key, copied; null when the index is null or out of range. */
static json_t *site_of(json_t *task, const char *key, json_t *sites) {
  json_t *idx = json_object_get(task, key);
  if (!json_is_integer(idx) || json_integer_value(idx) < 0 || !json_is_array(sites))
    return json_null();
  json_t *site = json_array_get(sites, (size_t)json_integer_value(idx));
  return site ? json_deep_copy(site) : json_null();
}

/* Each task's await point and spawn site resolved next to their indices (which stay: the conversion is
 * faithful, this only adds), so a jq query needs no join. A key the dump has itself is left alone. */
static void resolve_sites(json_t *j) {
  json_t *tasks = json_object_get(j, SCHEDRT_DK_TASKS);
  json_t *await_sites = json_object_get(j, SCHEDRT_DK_AWAIT_SITES);
  json_t *spawn_sites = json_object_get(j, SCHEDRT_DK_SPAWN_SITES);
  size_t i;
  json_t *t;
  json_array_foreach(tasks, i, t) {
    if (!json_is_object(t))
      continue;
    if (!json_object_get(t, "await_site"))
      json_object_set_new(t, "await_site", site_of(t, SCHEDRT_DK_AWAIT, await_sites));
    if (!json_object_get(t, "spawn_site"))
      json_object_set_new(t, "spawn_site", site_of(t, SCHEDRT_DK_SPAWN, spawn_sites));
  }
}

json_t *dump_json_with_analysis(const schedrt_dump_doc *d) {
  json_t *j = dump_json(d);
  if (!json_is_object(j))
    return j;
  resolve_sites(j);
  dump_analysis a;
  dump_analyze(d, &a);
  /* The format has no "analysis" key; should a later minor add one, the dump's own stays and ours moves
   * aside rather than replace it (the conversion stays faithful). */
  json_t *an = dump_analysis_json(&a);
  /* 1.4: a watchdog dump's events with their tasks named (the dump's own key keeps them as numbers). */
  json_t *ev = dump_events_json(d);
  if (ev)
    json_object_set_new(an, "events", ev);
  json_object_set_new(j, json_object_get(j, "analysis") ? "sched_inspect_analysis" : "analysis", an);
  dump_analysis_free(&a);
  return j;
}
