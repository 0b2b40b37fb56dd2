/* A live target's event rings and the names of their tasks (see event_live.h). */
#include "event_live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Task ids to names: SPAWN events name their site; the slots their current task. */
static void build_names(ev_live *v) {
  for (uint32_t r = 0; r < v->nrings; r++)
    for (uint32_t k = 0; k < v->win[r].n; k++) {
      const schedrt_event *e = &v->ev[r][k];
      if (e->kind != SCHEDRT_EV_SPAWN || e->b == 0)
        continue;
      const schedrt_site_snap *s = NULL;
      for (uint32_t i = 0; i < v->nsites && !s; i++)
        if (v->sites[i].index == e->b - 1u && !v->sites[i].overflow)
          s = &v->sites[i];
      if (s)
        ev_names_add(&v->names, e->a, NULL,
                     &(ev_site){.name = s->name, .func = s->func, .file = s->file, .line = s->line});
    }
  if (v->snap_ok)
    for (uint32_t i = 0; i < v->snap.nworkers; i++) {
      const schedrt_worker_snap *w = &v->snap.workers[i];
      if (w->current_task && w->current_name[0])
        ev_names_add(&v->names, w->current_task, w->current_name, NULL);
    }
  ev_names_finish(&v->names);
}

void ev_live_free(ev_live *v) {
  for (uint32_t r = 0; v->ev && r < v->nrings; r++)
    free(v->ev[r]);
  free(v->ev);
  free(v->win);
  free(v->sites);
  ev_names_free(&v->names);
  if (v->have_snap)
    schedrt_snapshot_fini(&v->snap);
  memset(v, 0, sizeof(*v));
}

/* Every ring first (the events are what is going away), then the names. */
int ev_live_read(schedrt_reader *r, ev_live *v) {
  memset(v, 0, sizeof(*v));
  v->nrings = schedrt_reader_event_rings(r);
  v->cap = schedrt_reader_event_cap(r);
  if (!v->nrings)
    return -ENOENT;
  v->ev = xcalloc(v->nrings, sizeof(*v->ev));
  v->win = xcalloc(v->nrings, sizeof(*v->win));
  /* One ring's room to copy into, then what it held: a segment's unused
   * rings (and a large ring with few events) take no memory. */
  schedrt_event *scratch = xmalloc((size_t)v->cap * sizeof(schedrt_event));
  for (uint32_t i = 0; i < v->nrings; i++) {
    int err = schedrt_reader_events(r, i, scratch, v->cap, &v->win[i]);
    if (err) {
      free(scratch);
      return err;
    }
    v->ev[i] = xmalloc(((size_t)v->win[i].n + 1u) * sizeof(schedrt_event));
    memcpy(v->ev[i], scratch, (size_t)v->win[i].n * sizeof(schedrt_event));
    for (uint32_t k = 0; k < v->win[i].n; k++)
      if (scratch[k].time_ns > v->newest)
        v->newest = scratch[k].time_ns;
  }
  free(scratch);
  uint32_t scap = schedrt_reader_site_cap(r);
  if (scap) {
    v->sites = xcalloc(scap, sizeof(*v->sites));
    if (schedrt_reader_sites(r, v->sites, scap, &v->nsites))
      v->nsites = 0;
  }
  if (schedrt_snapshot_init(r, &v->snap) == 0) {
    v->have_snap = 1;
    /* A torn worker has no name (zeroed): names are a courtesy here. */
    int rc = schedrt_snapshot_take(r, 0, &v->snap);
    v->snap_ok = rc == 0 || rc == SCHEDRT_ETORN;
  }
  build_names(v);
  return 0;
}
