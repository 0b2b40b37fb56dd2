/*
 * A live target's event rings, read whole (layout 2.6, without the target's
 * help: it may run, hang or be stopped), with the names of their tasks: the
 * spawn site of each SPAWN event in the window, and the name of each worker's
 * current task (the monitor names a poll that lasted a period). What `events`
 * prints and the live view's events screen shows. No curses.
 */
#ifndef INSPECT_EVENT_LIVE_H
#define INSPECT_EVENT_LIVE_H

#include <stdint.h>

#include "event_text.h"
#include "schedrt/reader.h"

typedef struct ev_live {
  uint32_t nrings, cap;      /* rings (the last: the other threads'), records per ring */
  schedrt_event **ev;        /* [nrings][win[r].n], oldest first */
  schedrt_event_window *win; /* [nrings] */
  uint64_t newest;           /* the newest event's time of all rings (0: none) */
  ev_names names;            /* borrows from sites and snap */
  schedrt_site_snap *sites;
  uint32_t nsites;
  schedrt_snapshot snap;
  int have_snap, snap_ok;
} ev_live;

/* Reads every ring of r into v (freed with ev_live_free, also after a failure). 0; -ENOENT: the target
 * keeps no events (off, or older than 2.6); -ENOMEM; a reader error (SCHEDRT_ECHANGED...). */
int ev_live_read(schedrt_reader *r, ev_live *v);
void ev_live_free(ev_live *v);

#endif
