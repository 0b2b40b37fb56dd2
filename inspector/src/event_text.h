/*
 * Events as sched-inspect shows them, whatever they were read from (a live
 * segment's rings: `events`, the live view's events screen; a watchdog
 * dump's copy: `show`): the names of the task ids they carry, one event as a
 * line of text and as JSON. One formatter, so the three print alike. No curses.
 */
#ifndef INSPECT_EVENT_TEXT_H
#define INSPECT_EVENT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "schedrt/reader.h"

/* Where a task was spawned: the site's place, and the name of the first task spawned there ("" none). */
typedef struct ev_site {
  const char *name, *func, *file;
  uint32_t line;
} ev_site;

/* What a task id is known as: its own name ("" unknown), its spawn site (has_site). The strings are
 * borrowed: they must outlive the table. */
typedef struct ev_task_name {
  uint64_t id;
  const char *name;
  ev_site site;
  bool has_site;
} ev_task_name;

typedef struct ev_names {
  ev_task_name *v; /* sorted by id once finished */
  size_t n, cap;
} ev_names;

/* Adds what is known of id (name may be NULL or "", site NULL); entries of one id are merged by finish. */
void ev_names_add(ev_names *t, uint64_t id, const char *name, const ev_site *site);
void ev_names_finish(ev_names *t);
/* The entry of id, or NULL (0: never a task). */
const ev_task_name *ev_names_find(const ev_names *t, uint64_t id);
void ev_names_free(ev_names *t);

/* "worker 3", or "other threads" for the ring of the threads that are not workers. */
char *ev_ring_label(char *buf, size_t size, bool other, uint32_t worker);
/*
 * One event as `sched-inspect events` prints it (no newline): seconds before newest, #seq, the kind and
 * its arguments by name, task ids with their name and spawn site where names knows them.
 */
char *ev_line(char *buf, size_t size, const schedrt_event *e, uint64_t newest, const ev_names *names);
/* The same as a JSON object: seq, time_ns, ago_ns, kind, the arguments by name, <arg>_name, <arg>_site. */
json_t *ev_json(const schedrt_event *e, uint64_t newest, const ev_names *names);

#endif
