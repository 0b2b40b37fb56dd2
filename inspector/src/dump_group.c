/* Sorting and grouping the tasks of a dump (see dump_group.h). No curses. */
#include "dump_group.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int64_t dump_task_for_ns_opt(const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  if (t->state_ns >= 0)
    return t->state_ns;
  /* The decoder checked the worker index against the table. */
  if (t->state == SCHEDRT_DUMP_STATE_RUNNING && t->worker >= 0 && (size_t)t->worker < d->nworkers_listed) {
    const schedrt_dump_worker *w = &d->workers[t->worker];
    if (w->current_task >= 0 && (uint64_t)w->current_task == t->id)
      return w->running_ns;
  }
  return SCHEDRT_DUMP_NONE;
}

static const char *const sort_names[TSORT__COUNT] = {"state", "idle time", "name", "worker", "id", "polls"};

const char *task_sort_name(task_sort_key k) { return (unsigned)k < TSORT__COUNT ? sort_names[k] : "?"; }
task_sort_key task_sort_next(task_sort_key k) { return (task_sort_key)(((unsigned)k + 1) % TSORT__COUNT); }

/* States in the order a reader cares about: what runs, what waits to run, what sleeps. */
static int state_rank(uint32_t s) {
  static const uint32_t order[] = {SCHEDRT_DUMP_STATE_RUNNING,    SCHEDRT_DUMP_STATE_BLOCKING,
                                   SCHEDRT_DUMP_STATE_LIFO,       SCHEDRT_DUMP_STATE_LOCAL,
                                   SCHEDRT_DUMP_STATE_DEFERRED,   SCHEDRT_DUMP_STATE_INJECTION,
                                   SCHEDRT_DUMP_STATE_SCHEDULED,  SCHEDRT_DUMP_STATE_BLOCKING_QUEUED,
                                   SCHEDRT_DUMP_STATE_COMPLETING, SCHEDRT_DUMP_STATE_IDLE};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (s == order[i])
      return (int)i;
  return 100;
}

static int cmp_u64_desc(uint64_t a, uint64_t b) { return a > b ? -1 : a < b; }

static int cmp_tasks(const schedrt_dump_task *a, const schedrt_dump_task *b, task_sort_key key) {
  int c = 0;
  switch (key) {
  case TSORT_STATE:
    c = state_rank(a->state) - state_rank(b->state);
    if (!c)
      c = cmp_u64_desc(dump_task_state_ns(a), dump_task_state_ns(b));
    break;
  case TSORT_IDLE:
    c = cmp_u64_desc(dump_task_state_ns(a), dump_task_state_ns(b));
    break;
  case TSORT_NAME:
    c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
    break;
  case TSORT_WORKER:
    /* Tasks without a worker after those with one. */
    c = (a->worker < 0) - (b->worker < 0);
    if (!c)
      c = a->worker < b->worker ? -1 : a->worker > b->worker;
    if (!c)
      c = a->position < b->position ? -1 : a->position > b->position;
    break;
  case TSORT_POLLS:
    c = cmp_u64_desc(a->polls, b->polls);
    break;
  default:
    break;
  }
  if (!c)
    c = a->id < b->id ? -1 : a->id > b->id;
  return c;
}

struct sort_ctx {
  const schedrt_dump_doc *d;
  task_sort_key key;
  int reverse;
};

static int cmp_index(const void *pa, const void *pb, void *arg) {
  const struct sort_ctx *c = arg;
  int r = cmp_tasks(&c->d->tasks[*(const size_t *)pa], &c->d->tasks[*(const size_t *)pb], c->key);
  return c->reverse ? -r : r;
}

void dump_sort_tasks(const schedrt_dump_doc *d, task_sort_key key, int reverse, size_t *order) {
  struct sort_ctx c = {d, key, reverse};
  for (size_t i = 0; i < d->ntasks; i++)
    order[i] = i;
  if (d->ntasks > 1)
    qsort_r(order, d->ntasks, sizeof(*order), cmp_index, &c);
}

/* NULL before any text. */
static int str_cmp(const char *a, const char *b) {
  if (!a || !b)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* The group key: await point by content (label, file, line; none first), then state. */
static int cmp_group_key(const schedrt_dump_doc *d, const schedrt_dump_task *a, const schedrt_dump_task *b) {
  const schedrt_dump_site *x = schedrt_dump_await_site(d, a), *y = schedrt_dump_await_site(d, b);
  int c = (x != NULL) - (y != NULL);
  if (!c && x) {
    c = str_cmp(x->label, y->label);
    if (!c)
      c = str_cmp(x->file, y->file);
    if (!c)
      c = x->line < y->line ? -1 : x->line > y->line;
  }
  if (!c)
    c = a->state < b->state ? -1 : a->state > b->state;
  return c;
}

static int cmp_member(const void *pa, const void *pb, void *arg) {
  const schedrt_dump_doc *d = arg;
  const schedrt_dump_task *a = &d->tasks[*(const size_t *)pa], *b = &d->tasks[*(const size_t *)pb];
  int c = cmp_group_key(d, a, b);
  return c ? c : cmp_tasks(a, b, TSORT_IDLE); /* each group's members longest idle first */
}

/* What runs first (a stuck poll is the first thing to see), then the longest idle. */
static int cmp_groups(const void *pa, const void *pb) {
  const task_group *a = pa, *b = pb;
  int c = (b->state == SCHEDRT_DUMP_STATE_RUNNING) - (a->state == SCHEDRT_DUMP_STATE_RUNNING);
  if (!c)
    c = cmp_u64_desc(a->max_idle_ns, b->max_idle_ns);
  if (!c)
    c = a->count > b->count ? -1 : a->count < b->count;
  return c;
}

/* One sort by (group key, idle time) makes each group a run of the order: O(n log n) however many
 * distinct await points a (hostile) dump has. */
int dump_group_tasks(const schedrt_dump_doc *d, task_group **out, size_t *n) {
  size_t *order = xmalloc((d->ntasks ? d->ntasks : 1) * sizeof(*order));
  task_group *g = NULL;
  size_t ng = 0, cap = 0;
  for (size_t i = 0; i < d->ntasks; i++)
    order[i] = i;
  if (d->ntasks > 1)
    qsort_r(order, d->ntasks, sizeof(*order), cmp_member, (void *)d);
  for (size_t k = 0; k < d->ntasks;) {
    size_t end = k + 1;
    while (end < d->ntasks && cmp_group_key(d, &d->tasks[order[k]], &d->tasks[order[end]]) == 0)
      end++;
    const schedrt_dump_task *t = &d->tasks[order[k]];
    const schedrt_dump_site *aw = schedrt_dump_await_site(d, t);
    if (ng == cap) {
      cap = cap ? cap * 2 : 16;
      g = xrealloc(g, cap * sizeof(*g));
    }
    task_group *grp = &g[ng++];
    *grp = (task_group){.await_label = aw ? aw->label : NULL,
                        .await_file = aw ? aw->file : NULL,
                        .await_line = aw ? (int64_t)aw->line : 0,
                        .state = t->state,
                        .count = end - k};
    grp->members = xmalloc(grp->count * sizeof(size_t));
    memcpy(grp->members, order + k, grp->count * sizeof(size_t));
    /* Members come by state_ns; a running task's time is its worker's: take the largest. */
    for (size_t i = 0; i < grp->count; i++)
      if (dump_task_for_ns(d, &d->tasks[grp->members[i]]) > grp->max_idle_ns)
        grp->max_idle_ns = dump_task_for_ns(d, &d->tasks[grp->members[i]]);
    k = end;
  }
  free(order);
  if (ng > 1)
    qsort(g, ng, sizeof(*g), cmp_groups);
  *out = g;
  *n = ng;
  return 0;
}

void dump_groups_free(task_group *g, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(g[i].members);
  free(g);
}
