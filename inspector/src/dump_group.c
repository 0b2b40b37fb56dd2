/* Sorting and grouping the tasks of a dump (see dump_model.h). No curses. */
#include <stdlib.h>
#include <string.h>

#include "dump_model.h"
#include "util.h"

static const char *const sort_names[TSORT__COUNT] = {"state", "idle time", "name", "worker", "id"};

const char *task_sort_name(task_sort_key k) { return (unsigned)k < TSORT__COUNT ? sort_names[k] : "?"; }
task_sort_key task_sort_next(task_sort_key k) { return (task_sort_key)(((unsigned)k + 1) % TSORT__COUNT); }

/* States in the order a reader cares about: what runs, what waits to run, what sleeps. */
static int state_rank(const char *s) {
  static const char *const order[] = {"running", "lifo", "local", "deferred", "injection", "scheduled",
                                      "completing", "idle"};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (strcmp(s, order[i]) == 0)
      return (int)i;
  return 100;
}

static int cmp_u64_desc(uint64_t a, uint64_t b) { return a > b ? -1 : a < b; }

static int cmp_tasks(const dump_task *a, const dump_task *b, task_sort_key key) {
  int c = 0;
  switch (key) {
  case TSORT_STATE:
    c = state_rank(a->state) - state_rank(b->state);
    if (!c)
      c = cmp_u64_desc(a->state_ns, b->state_ns);
    break;
  case TSORT_IDLE:
    c = cmp_u64_desc(a->state_ns, b->state_ns);
    break;
  case TSORT_NAME:
    c = strcmp(a->name, b->name);
    break;
  case TSORT_WORKER:
    /* Tasks without a worker after those with one. */
    c = (a->worker < 0) - (b->worker < 0);
    if (!c)
      c = a->worker < b->worker ? -1 : a->worker > b->worker;
    if (!c)
      c = a->position < b->position ? -1 : a->position > b->position;
    break;
  default:
    break;
  }
  if (!c)
    c = a->id < b->id ? -1 : a->id > b->id;
  return c;
}

struct sort_ctx {
  const dump_model *m;
  task_sort_key key;
  int reverse;
};

static int cmp_index(const void *pa, const void *pb, void *arg) {
  const struct sort_ctx *c = arg;
  int r = cmp_tasks(&c->m->tasks[*(const size_t *)pa], &c->m->tasks[*(const size_t *)pb], c->key);
  return c->reverse ? -r : r;
}

void dump_sort_tasks(const dump_model *m, task_sort_key key, int reverse, size_t *order) {
  struct sort_ctx c = {m, key, reverse};
  for (size_t i = 0; i < m->ntasks; i++)
    order[i] = i;
  if (m->ntasks > 1)
    qsort_r(order, m->ntasks, sizeof(*order), cmp_index, &c);
}

static int str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static int same_group(const dump_task *t, const task_group *g) {
  return str_eq(t->await_label, g->await_label) && str_eq(t->await_file, g->await_file) &&
         t->await_line == g->await_line && strcmp(t->state, g->state) == 0;
}

static int cmp_groups(const void *pa, const void *pb) {
  const task_group *a = pa, *b = pb;
  int c = cmp_u64_desc(a->max_idle_ns, b->max_idle_ns);
  if (!c)
    c = a->count > b->count ? -1 : a->count < b->count;
  return c;
}

int dump_group_tasks(const dump_model *m, task_group **out, size_t *n) {
  size_t *order = xmalloc((m->ntasks ? m->ntasks : 1) * sizeof(*order));
  task_group *g = NULL;
  size_t ng = 0, cap = 0;
  /* Longest idle first, so each group's members come out in that order. */
  dump_sort_tasks(m, TSORT_IDLE, 0, order);
  for (size_t k = 0; k < m->ntasks; k++) {
    const dump_task *t = &m->tasks[order[k]];
    size_t i;
    /* Linear search: dumps have few distinct await points (code sites), many tasks. */
    for (i = 0; i < ng && !same_group(t, &g[i]); i++) {
    }
    if (i == ng) {
      if (ng == cap) {
        cap = cap ? cap * 2 : 16;
        g = xrealloc(g, cap * sizeof(*g));
      }
      g[ng] = (task_group){.await_label = t->await_label, .await_file = t->await_file, .await_line = t->await_line,
                           .state = t->state, .max_idle_ns = t->state_ns};
      g[ng].members = xmalloc(sizeof(size_t) * 4);
      ng++;
    }
    task_group *grp = &g[i];
    /* Grow by doubling: count is a power of two or not, capacity tracked implicitly. */
    if (grp->count >= 4 && (grp->count & (grp->count - 1)) == 0)
      grp->members = xrealloc(grp->members, sizeof(size_t) * grp->count * 2);
    grp->members[grp->count++] = order[k];
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
