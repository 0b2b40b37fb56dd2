/*
 * `sched-inspect events PID [--last SECONDS] [--json]`: the event rings of a
 * layout 2.6 segment (shm_layout.h), copied without the target's help, so it
 * works on a process that runs, hangs or is stopped. Per ring (a worker, or
 * the threads that are not workers), oldest first, with what the segment
 * knows of each task: its name when a worker slot names it as its current
 * task, and the spawn site of its SPAWN event in the window (with the name
 * of the site's first task, in brackets: maybe another task's).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "json_export.h"
#include "util.h"

/* What a task id is known as: its own name (a worker's current task, named
 * by the monitor), or its spawn site, whose name is the first task's spawned
 * there (another task's, maybe). */
typedef struct task_name {
  uint64_t id;
  const char *name; /* its own; "" unknown */
  const schedrt_site_snap *site;
} task_name;

typedef struct ev_view {
  inspect_target t;
  uint32_t nrings, cap;
  schedrt_event **ev; /* [nrings][cap] */
  schedrt_event_window *win;
  schedrt_site_snap *sites;
  uint32_t nsites;
  schedrt_snapshot snap;
  int have_snap, snap_ok;
  task_name *names; /* sorted by id */
  size_t nnames;
} ev_view;

static int by_id(const void *a, const void *b) {
  uint64_t x = ((const task_name *)a)->id, y = ((const task_name *)b)->id;
  return x < y ? -1 : x > y;
}

static const task_name *find_name(const ev_view *v, uint64_t id) {
  task_name key = {.id = id};
  return id ? bsearch(&key, v->names, v->nnames, sizeof(key), by_id) : NULL;
}

/* Task ids to names: SPAWN events name their site; the slots their current task. */
static void build_names(ev_view *v) {
  size_t n = 0, cap = 64;
  v->names = xmalloc(cap * sizeof(*v->names));
  for (uint32_t r = 0; r < v->nrings; r++)
    for (uint32_t k = 0; k < v->win[r].n; k++) {
      const schedrt_event *e = &v->ev[r][k];
      if (e->kind != SCHEDRT_EV_SPAWN || e->b == 0)
        continue;
      const schedrt_site_snap *s = NULL;
      for (uint32_t i = 0; i < v->nsites && !s; i++)
        if (v->sites[i].index == e->b - 1u && !v->sites[i].overflow)
          s = &v->sites[i];
      if (!s)
        continue;
      if (n == cap)
        v->names = xrealloc(v->names, (cap *= 2) * sizeof(*v->names));
      v->names[n++] = (task_name){.id = e->a, .name = "", .site = s};
    }
  if (v->snap_ok)
    for (uint32_t i = 0; i < v->snap.nworkers; i++) {
      const schedrt_worker_snap *w = &v->snap.workers[i];
      if (!w->current_task || !w->current_name[0])
        continue;
      if (n == cap)
        v->names = xrealloc(v->names, (cap *= 2) * sizeof(*v->names));
      v->names[n++] = (task_name){.id = w->current_task, .name = w->current_name};
    }
  qsort(v->names, n, sizeof(*v->names), by_id);
  /* One entry per id: the slot's name and the SPAWN event's site together. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && v->names[m - 1].id == v->names[i].id) {
      if (!v->names[m - 1].name[0])
        v->names[m - 1].name = v->names[i].name;
      if (!v->names[m - 1].site)
        v->names[m - 1].site = v->names[i].site;
      continue;
    }
    v->names[m++] = v->names[i];
  }
  v->nnames = m;
}

/* Is argument `which` of kind a task id? */
static int arg_is_task(uint32_t kind, int which) {
  const char *a = schedrt_event_arg_name(kind, which);
  return a && (strcmp(a, "task") == 0 || strcmp(a, "waker") == 0 || strcmp(a, "job") == 0);
}

static void ring_label(char *buf, size_t size, const ev_view *v, uint32_t r) {
  if (r + 1u == v->nrings)
    xsnprintf(buf, size, "other threads");
  else
    xsnprintf(buf, size, "worker %" PRIu32, r);
}

static void print_arg(const ev_view *v, const schedrt_event *e, int which) {
  const char *an = schedrt_event_arg_name(e->kind, which);
  if (!an || !an[0])
    return;
  uint64_t x = which ? e->b : e->a;
  if (e->kind == SCHEDRT_EV_SPAWN && which == 1)
    return; /* the site is printed with the task's name */
  if (e->kind == SCHEDRT_EV_STALL && which == 1) {
    printf(" %.1f ms", (double)x / 1e6);
    return;
  }
  printf(" %s %" PRIu64, an, x);
  const task_name *tn = arg_is_task(e->kind, which) ? find_name(v, x) : NULL;
  if (tn && tn->name[0])
    printf(" \"%s\"", tn->name);
  /* The site's name is its first task's: in brackets, with the place. */
  if (tn && tn->site)
    printf(" [%s%s%s:%" PRIu32 "]", tn->site->name, tn->site->name[0] ? " @ " : "", tn->site->file,
           tn->site->line);
}

static void print_text(const ev_view *v, uint64_t newest, uint64_t from) {
  const schedrt_segment_info *in = v->t.info;
  printf("pid %" PRIu32 " (%s), runtime \"%s\": %" PRIu32 " rings of %" PRIu32
         " events; times in seconds before the newest event\n",
         in->pid, in->comm, in->runtime_name, v->nrings, v->cap);
  for (uint32_t r = 0; r < v->nrings; r++) {
    char label[32];
    ring_label(label, sizeof(label), v, r);
    const schedrt_event_window *w = &v->win[r];
    printf("\n%s: %" PRIu64 " written, %" PRIu64 " lost%s\n", label, w->written, w->lost,
           w->torn ? " (a record was being written)" : "");
    for (uint32_t k = 0; k < w->n; k++) {
      const schedrt_event *e = &v->ev[r][k];
      if (e->time_ns && e->time_ns < from)
        continue;
      const char *kn = schedrt_event_kind_name(e->kind);
      if (e->time_ns && newest >= e->time_ns)
        printf("  %12.6f", -(double)(newest - e->time_ns) / 1e9);
      else
        printf("  %12s", "?");
      printf(" #%-8" PRIu64 " %-14s", e->seq, kn ? kn : "?");
      if (!kn)
        printf(" kind %" PRIu32 " %" PRIu64 " %" PRIu64, e->kind, e->a, e->b);
      else {
        print_arg(v, e, 0);
        print_arg(v, e, 1);
      }
      putchar('\n');
    }
  }
}

static json_t *json_event(const ev_view *v, const schedrt_event *e, uint64_t newest) {
  json_t *j = json_object();
  const char *kn = schedrt_event_kind_name(e->kind);
  json_object_set_new(j, "seq", json_integer((json_int_t)e->seq));
  json_object_set_new(j, "time_ns", json_integer((json_int_t)e->time_ns));
  if (e->time_ns && newest >= e->time_ns)
    json_object_set_new(j, "ago_ns", json_integer((json_int_t)(newest - e->time_ns)));
  json_object_set_new(j, "kind", kn ? json_string(kn) : json_integer(e->kind));
  for (int which = 0; which < 2; which++) {
    const char *an = schedrt_event_arg_name(e->kind, which);
    uint64_t x = which ? e->b : e->a;
    if (!an) {
      json_object_set_new(j, which ? "b" : "a", json_integer((json_int_t)x));
      continue;
    }
    if (!an[0])
      continue;
    json_object_set_new(j, an, json_integer((json_int_t)x));
    const task_name *tn = arg_is_task(e->kind, which) ? find_name(v, x) : NULL;
    if (tn && tn->name[0]) {
      char key[32];
      json_object_set_new(j, xsnprintf(key, sizeof(key), "%s_name", an), json_text(tn->name));
    }
    if (tn && tn->site) {
      char key[32];
      json_t *site = json_object();
      json_object_set_new(site, "name", json_text(tn->site->name));
      json_object_set_new(site, "func", json_text(tn->site->func));
      json_object_set_new(site, "file", json_text(tn->site->file));
      json_object_set_new(site, "line", json_integer(tn->site->line));
      json_object_set_new(j, xsnprintf(key, sizeof(key), "%s_site", an), site);
    }
  }
  return j;
}

static int print_json(const ev_view *v, uint64_t newest, uint64_t from) {
  const schedrt_segment_info *in = v->t.info;
  json_t *root = json_object(), *rings = json_array();
  json_object_set_new(root, "pid", json_integer(in->pid));
  json_object_set_new(root, "runtime", json_text(in->runtime_name));
  json_object_set_new(root, "ring_size", json_integer(v->cap));
  json_object_set_new(root, "newest_ns", json_integer((json_int_t)newest));
  for (uint32_t r = 0; r < v->nrings; r++) {
    const schedrt_event_window *w = &v->win[r];
    json_t *jr = json_object(), *evs = json_array();
    if (r + 1u == v->nrings)
      json_object_set_new(jr, "other", json_true());
    else
      json_object_set_new(jr, "worker", json_integer(r));
    json_object_set_new(jr, "written", json_integer((json_int_t)w->written));
    json_object_set_new(jr, "lost", json_integer((json_int_t)w->lost));
    json_object_set_new(jr, "torn", json_integer(w->torn));
    for (uint32_t k = 0; k < w->n; k++)
      if (!v->ev[r][k].time_ns || v->ev[r][k].time_ns >= from)
        json_array_append_new(evs, json_event(v, &v->ev[r][k], newest));
    json_object_set_new(jr, "events", evs);
    json_array_append_new(rings, jr);
  }
  json_object_set_new(root, "rings", rings);
  /* json_emit takes root (and frees it). */
  return json_emit(root, stdout, 0) ? INSPECT_EXIT_FAILURE : INSPECT_EXIT_OK;
}

static void view_free(ev_view *v) {
  for (uint32_t r = 0; v->ev && r < v->nrings; r++)
    free(v->ev[r]);
  free(v->ev);
  free(v->win);
  free(v->sites);
  free(v->names);
  if (v->have_snap)
    schedrt_snapshot_fini(&v->snap);
  target_detach(&v->t);
}

/* Every ring first (the events are what is going away), then the names. */
static int read_all(ev_view *v) {
  v->ev = xcalloc(v->nrings, sizeof(*v->ev));
  v->win = xcalloc(v->nrings, sizeof(*v->win));
  /* One ring's room to copy into, then what it held: a segment's unused
   * rings (and a large ring with few events) take no memory. */
  schedrt_event *scratch = xmalloc((size_t)v->cap * sizeof(schedrt_event));
  for (uint32_t r = 0; r < v->nrings; r++) {
    int err = schedrt_reader_events(v->t.reader, r, scratch, v->cap, &v->win[r]);
    if (err) {
      free(scratch);
      return err;
    }
    v->ev[r] = xmalloc(((size_t)v->win[r].n + 1u) * sizeof(schedrt_event));
    memcpy(v->ev[r], scratch, (size_t)v->win[r].n * sizeof(schedrt_event));
  }
  free(scratch);
  uint32_t scap = schedrt_reader_site_cap(v->t.reader);
  if (scap) {
    v->sites = xcalloc(scap, sizeof(*v->sites));
    if (schedrt_reader_sites(v->t.reader, v->sites, scap, &v->nsites))
      v->nsites = 0;
  }
  if (schedrt_snapshot_init(v->t.reader, &v->snap) == 0) {
    v->have_snap = 1;
    /* A torn worker has no name (zeroed): names are a courtesy here. */
    int rc = schedrt_snapshot_take(v->t.reader, 0, &v->snap);
    v->snap_ok = rc == 0 || rc == SCHEDRT_ETORN;
  }
  build_names(v);
  return 0;
}

int cmd_events(const inspect_opts *o) {
  ev_view v = {0};
  char msg[512];
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  int err = target_attach(o->pid, &ao, &v.t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &v.t, err));
    return target_exit_code(err);
  }
  v.nrings = schedrt_reader_event_rings(v.t.reader);
  v.cap = schedrt_reader_event_cap(v.t.reader);
  if (!v.nrings) {
    fprintf(stderr,
            INSPECT_PROG
            ": pid %d: the runtime keeps no events (layout %u.%u; start it with SCHEDRT_EVENTS=1 "
            "or SCHEDRT_CFG_EVENTS, layout 2.6 or later)\n",
            (int)o->pid, v.t.info->layout_major, v.t.info->layout_minor);
    view_free(&v);
    return INSPECT_EXIT_FAILURE;
  }
  err = read_all(&v);
  if (err) {
    if (err == -ENOMEM)
      inspect_fatal("out of memory");
    fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
    view_free(&v);
    return target_exit_code(err);
  }
  uint64_t newest = 0;
  for (uint32_t r = 0; r < v.nrings; r++)
    for (uint32_t k = 0; k < v.win[r].n; k++)
      if (v.ev[r][k].time_ns > newest)
        newest = v.ev[r][k].time_ns;
  /* --last: the seconds before the newest event (a stopped process's last
   * events are old by the time we look). */
  uint64_t span = (uint64_t)(o->last_s * 1e9);
  uint64_t from = o->last_s > 0 && newest > span ? newest - span : 0;
  int rc = INSPECT_EXIT_OK;
  if (o->json)
    rc = print_json(&v, newest, from);
  else
    print_text(&v, newest, from);
  view_free(&v);
  return rc;
}
