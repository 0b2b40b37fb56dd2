/* Events as text and JSON, and the names of their tasks (see event_text.h). */
#include "event_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_export.h"
#include "util.h"

void ev_names_add(ev_names *t, uint64_t id, const char *name, const ev_site *site) {
  if (t->n == t->cap)
    t->v = xrealloc(t->v, (t->cap = t->cap ? 2 * t->cap : 64) * sizeof(*t->v));
  t->v[t->n++] = (ev_task_name){
      .id = id, .name = name ? name : "", .site = site ? *site : (ev_site){0}, .has_site = site != NULL};
}

static int by_id(const void *a, const void *b) {
  uint64_t x = ((const ev_task_name *)a)->id, y = ((const ev_task_name *)b)->id;
  return x < y ? -1 : x > y;
}

void ev_names_finish(ev_names *t) {
  if (!t->n)
    return;
  qsort(t->v, t->n, sizeof(*t->v), by_id);
  /* One entry per id: a name from one source, a site from another. */
  size_t m = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (m && t->v[m - 1].id == t->v[i].id) {
      if (!t->v[m - 1].name[0])
        t->v[m - 1].name = t->v[i].name;
      if (!t->v[m - 1].has_site) {
        t->v[m - 1].site = t->v[i].site;
        t->v[m - 1].has_site = t->v[i].has_site;
      }
      continue;
    }
    t->v[m++] = t->v[i];
  }
  t->n = m;
}

const ev_task_name *ev_names_find(const ev_names *t, uint64_t id) {
  ev_task_name key = {.id = id};
  return id && t && t->n ? bsearch(&key, t->v, t->n, sizeof(key), by_id) : NULL;
}

void ev_names_free(ev_names *t) {
  free(t->v);
  *t = (ev_names){0};
}

char *ev_ring_label(char *buf, size_t size, bool other, uint32_t worker) {
  return other ? xsnprintf(buf, size, "other threads") : xsnprintf(buf, size, "worker %" PRIu32, worker);
}

/* Is argument `which` of kind a task id? */
static bool arg_is_task(uint32_t kind, int which) {
  const char *a = schedrt_event_arg_name(kind, which);
  return a && (strcmp(a, "task") == 0 || strcmp(a, "waker") == 0 || strcmp(a, "job") == 0);
}

/* Appends to buf[size] at *at, cut at the end. */
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *at, const char *fmt, ...) {
  if (*at + 1 >= size)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *at, size - *at, fmt, ap);
  va_end(ap);
  if (n > 0)
    *at = *at + (size_t)n < size ? *at + (size_t)n : size - 1;
}

static void put_arg(char *buf, size_t size, size_t *at, const schedrt_event *e, int which,
                    const ev_names *names) {
  const char *an = schedrt_event_arg_name(e->kind, which);
  if (!an || !an[0])
    return;
  uint64_t x = which ? e->b : e->a;
  if (e->kind == SCHEDRT_EV_SPAWN && which == 1)
    return; /* the site is printed with the task's name */
  if (e->kind == SCHEDRT_EV_STALL && which == 1) {
    put(buf, size, at, " %.1f ms", (double)x / 1e6);
    return;
  }
  put(buf, size, at, " %s %" PRIu64, an, x);
  const ev_task_name *tn = arg_is_task(e->kind, which) ? ev_names_find(names, x) : NULL;
  if (tn && tn->name[0])
    put(buf, size, at, " \"%s\"", tn->name);
  /* A site's name is its first task's: in brackets, with the place. */
  if (tn && tn->has_site)
    put(buf, size, at, " [%s%s%s:%" PRIu32 "]", tn->site.name ? tn->site.name : "",
        tn->site.name && tn->site.name[0] ? " @ " : "", tn->site.file ? tn->site.file : "?", tn->site.line);
}

char *ev_line(char *buf, size_t size, const schedrt_event *e, uint64_t newest, const ev_names *names) {
  size_t at = 0;
  if (!size)
    return buf;
  buf[0] = '\0';
  const char *kn = schedrt_event_kind_name(e->kind);
  if (e->time_ns && newest >= e->time_ns)
    put(buf, size, &at, "  %12.6f", -(double)(newest - e->time_ns) / 1e9);
  else
    put(buf, size, &at, "  %12s", "?");
  put(buf, size, &at, " #%-8" PRIu64 " %-14s", e->seq, kn ? kn : "?");
  if (!kn) {
    put(buf, size, &at, " kind %" PRIu32 " %" PRIu64 " %" PRIu64, e->kind, e->a, e->b);
  } else {
    put_arg(buf, size, &at, e, 0, names);
    put_arg(buf, size, &at, e, 1, names);
  }
  return buf;
}

json_t *ev_json(const schedrt_event *e, uint64_t newest, const ev_names *names) {
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
    const ev_task_name *tn = arg_is_task(e->kind, which) ? ev_names_find(names, x) : NULL;
    char key[32];
    if (tn && tn->name[0])
      json_object_set_new(j, xsnprintf(key, sizeof(key), "%s_name", an), json_text(tn->name));
    if (tn && tn->has_site) {
      json_t *site = json_object();
      json_object_set_new(site, "name", json_text(tn->site.name ? tn->site.name : ""));
      json_object_set_new(site, "func", json_text(tn->site.func ? tn->site.func : ""));
      json_object_set_new(site, "file", json_text(tn->site.file ? tn->site.file : ""));
      json_object_set_new(site, "line", json_integer(tn->site.line));
      json_object_set_new(j, xsnprintf(key, sizeof(key), "%s_site", an), site);
    }
  }
  return j;
}
