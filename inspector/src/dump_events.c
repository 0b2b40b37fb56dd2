/* The events of a watchdog dump, as text and JSON (see dump_events.h). */
#include "dump_events.h"

#include <inttypes.h>

#include "event_text.h"
#include "format.h"
#include "util.h"

/* Task ids to names from the dump's tasks: their own name and spawn site. Tasks that ended before the
 * dump are not in it: their events show the id alone. */
static void names_of(const schedrt_dump_doc *d, ev_names *names) {
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    const schedrt_dump_site *s = schedrt_dump_spawn_site(d, t);
    ev_site site = {.name = "",
                    .func = s ? s->func : NULL,
                    .file = s ? s->file : NULL,
                    .line = s && s->line <= UINT32_MAX ? (uint32_t)s->line : 0};
    ev_names_add(names, t->id, t->name, s && s->file ? &site : NULL);
  }
  ev_names_finish(names);
}

static uint64_t newest_of(const schedrt_dump_doc *d) {
  uint64_t newest = 0;
  for (size_t r = 0; r < d->nev_rings; r++)
    for (size_t k = 0; k < d->ev_rings[r].nevents; k++)
      if (d->ev_rings[r].events[k].time_ns > newest)
        newest = d->ev_rings[r].events[k].time_ns;
  return newest;
}

static char *ring_label(char *buf, size_t size, const schedrt_dump_ev_ring *r) {
  return ev_ring_label(buf, size, r->worker == SCHEDRT_DUMP_NONE, r->worker < 0 ? 0 : (uint32_t)r->worker);
}

void dump_events_print(const schedrt_dump_doc *d, FILE *f, size_t per_ring) {
  if (!d->has_events)
    return;
  ev_names names = {0};
  names_of(d, &names);
  uint64_t newest = newest_of(d);
  char win[32], line[1024], label[32];
  fprintf(f,
          "\nEVENTS (the last %s before the watchdog fired, at most %" PRIu64
          " a ring; times in seconds before the newest event)\n",
          fmt_duration(win, sizeof(win), d->ev_window_ns), d->ev_max);
  for (size_t r = 0; r < d->nev_rings; r++) {
    const schedrt_dump_ev_ring *ring = &d->ev_rings[r];
    fprintf(f, "%s: %" PRIu64 " written, %" PRIu64 " lost%s", ring_label(label, sizeof(label), ring),
            ring->written, ring->lost, ring->torn ? " (a record was being written)" : "");
    if (ring->cut)
      fprintf(f, ", %" PRIu64 " older in the window not kept", ring->cut);
    fputc('\n', f);
    size_t first = per_ring && ring->nevents > per_ring ? ring->nevents - per_ring : 0;
    if (first)
      fprintf(f, "    ... %zu earlier (show --all lists every event)\n", first);
    for (size_t k = first; k < ring->nevents; k++)
      fprintf(f, "%s\n", ev_line(line, sizeof(line), &ring->events[k], newest, &names));
  }
  ev_names_free(&names);
}

json_t *dump_events_json(const schedrt_dump_doc *d) {
  if (!d->has_events)
    return NULL;
  ev_names names = {0};
  names_of(d, &names);
  uint64_t newest = newest_of(d);
  json_t *j = json_object(), *rings = json_array();
  json_object_set_new(j, "window_ns", json_integer((json_int_t)d->ev_window_ns));
  json_object_set_new(j, "copied_mono_ns", json_integer((json_int_t)d->ev_copied_mono_ns));
  json_object_set_new(j, "newest_ns", json_integer((json_int_t)newest));
  for (size_t r = 0; r < d->nev_rings; r++) {
    const schedrt_dump_ev_ring *ring = &d->ev_rings[r];
    json_t *jr = json_object(), *evs = json_array();
    if (ring->worker == SCHEDRT_DUMP_NONE)
      json_object_set_new(jr, "other", json_true());
    else
      json_object_set_new(jr, "worker", json_integer(ring->worker));
    json_object_set_new(jr, "written", json_integer((json_int_t)ring->written));
    json_object_set_new(jr, "lost", json_integer((json_int_t)ring->lost));
    json_object_set_new(jr, "torn", json_integer((json_int_t)ring->torn));
    json_object_set_new(jr, "cut", json_integer((json_int_t)ring->cut));
    for (size_t k = 0; k < ring->nevents; k++)
      json_array_append_new(evs, ev_json(&ring->events[k], newest, &names));
    json_object_set_new(jr, "events", evs);
    json_array_append_new(rings, jr);
  }
  json_object_set_new(j, "rings", rings);
  ev_names_free(&names);
  return j;
}
