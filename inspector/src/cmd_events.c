/*
 * `sched-inspect events PID [--last SECONDS] [--json]`: the event rings of a
 * layout 2.6 segment (shm_layout.h), copied without the target's help, so it
 * works on a process that runs, hangs or is stopped (event_live.c). Per ring
 * (a worker, or the threads that are not workers), oldest first, each event
 * as event_text.c writes it: with the task's name when a worker slot names it
 * as its current task, and the spawn site of its SPAWN event in the window
 * (with the name of the site's first task, in brackets: maybe another task's).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "event_live.h"
#include "event_text.h"
#include "json_export.h"
#include "util.h"

static void print_text(const inspect_target *t, const ev_live *v, uint64_t from) {
  const schedrt_segment_info *in = t->info;
  printf("pid %" PRIu32 " (%s), runtime \"%s\": %" PRIu32 " rings of %" PRIu32
         " events; times in seconds before the newest event\n",
         in->pid, in->comm, in->runtime_name, v->nrings, v->cap);
  for (uint32_t r = 0; r < v->nrings; r++) {
    char label[32], line[1024];
    ev_ring_label(label, sizeof(label), r + 1u == v->nrings, r);
    const schedrt_event_window *w = &v->win[r];
    printf("\n%s: %" PRIu64 " written, %" PRIu64 " lost%s\n", label, w->written, w->lost,
           w->torn ? " (a record was being written)" : "");
    for (uint32_t k = 0; k < w->n; k++)
      if (!v->ev[r][k].time_ns || v->ev[r][k].time_ns >= from)
        printf("%s\n", ev_line(line, sizeof(line), &v->ev[r][k], v->newest, &v->names));
  }
}

static int print_json(const inspect_target *t, const ev_live *v, uint64_t from) {
  const schedrt_segment_info *in = t->info;
  json_t *root = json_object(), *rings = json_array();
  json_object_set_new(root, "pid", json_integer(in->pid));
  json_object_set_new(root, "runtime", json_text(in->runtime_name));
  json_object_set_new(root, "ring_size", json_integer(v->cap));
  json_object_set_new(root, "newest_ns", json_integer((json_int_t)v->newest));
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
        json_array_append_new(evs, ev_json(&v->ev[r][k], v->newest, &v->names));
    json_object_set_new(jr, "events", evs);
    json_array_append_new(rings, jr);
  }
  json_object_set_new(root, "rings", rings);
  /* json_emit takes root (and frees it). */
  return json_emit(root, stdout, 0) ? INSPECT_EXIT_FAILURE : INSPECT_EXIT_OK;
}

int cmd_events(const inspect_opts *o) {
  inspect_target t = {0};
  ev_live v;
  char msg[512];
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  int err = target_attach(o->pid, &ao, &t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
    return target_exit_code(err);
  }
  err = ev_live_read(t.reader, &v);
  if (err == -ENOENT) {
    fprintf(stderr,
            INSPECT_PROG
            ": pid %d: the runtime keeps no events (layout %u.%u; start it with SCHEDRT_EVENTS=1 "
            "or SCHEDRT_CFG_EVENTS, layout 2.6 or later)\n",
            (int)o->pid, t.info->layout_major, t.info->layout_minor);
    ev_live_free(&v);
    target_detach(&t);
    return INSPECT_EXIT_FAILURE;
  }
  if (err) {
    if (err == -ENOMEM)
      inspect_fatal("out of memory");
    fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
    ev_live_free(&v);
    target_detach(&t);
    return target_exit_code(err);
  }
  /* --last: the seconds before the newest event (a stopped process's last
   * events are old by the time we look). */
  uint64_t span = (uint64_t)(o->last_s * 1e9);
  uint64_t from = o->last_s > 0 && v.newest > span ? v.newest - span : 0;
  int rc = INSPECT_EXIT_OK;
  if (o->json)
    rc = print_json(&t, &v, from);
  else
    print_text(&t, &v, from);
  ev_live_free(&v);
  target_detach(&t);
  return rc;
}
