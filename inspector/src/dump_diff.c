/* Two dumps compared (see dump_diff.h). */
#include "dump_diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "hist.h"
#include "util.h"

int dump_diff_same_runtime(const schedrt_dump_doc *a, const schedrt_dump_doc *b, char *err, size_t errsize) {
  if (a->pid != b->pid || a->proc_starttime != b->proc_starttime ||
      memcmp(a->boot_id, b->boot_id, sizeof(a->boot_id)) != 0) {
    xsnprintf(
        err, errsize,
        "the dumps come from different processes (pid %llu, start time %llu; pid %llu, start time %llu): "
        "their task ids cannot be compared",
        (unsigned long long)a->pid, (unsigned long long)a->proc_starttime, (unsigned long long)b->pid,
        (unsigned long long)b->proc_starttime);
    return -1;
  }
  if (a->started_mono_ns != b->started_mono_ns) {
    xsnprintf(
        err, errsize,
        "the dumps come from different runtimes of pid %llu (\"%s\" and \"%s\"): their task ids cannot be "
        "compared",
        (unsigned long long)a->pid, a->runtime ? a->runtime : "?", b->runtime ? b->runtime : "?");
    return -1;
  }
  return 0;
}

/* (id, index) sorted by id, one per id (its first task). */
typedef struct id_ix {
  uint64_t id;
  size_t index;
} id_ix;

static int cmp_id_ix(const void *pa, const void *pb) {
  const id_ix *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

static id_ix *sorted_ids(const schedrt_dump_doc *d, size_t *n) {
  id_ix *v = xmalloc((d->ntasks ? d->ntasks : 1) * sizeof(*v));
  for (size_t i = 0; i < d->ntasks; i++)
    v[i] = (id_ix){d->tasks[i].id, i};
  if (d->ntasks > 1)
    qsort(v, d->ntasks, sizeof(*v), cmp_id_ix);
  size_t k = 0;
  for (size_t i = 0; i < d->ntasks; i++)
    if (k == 0 || v[k - 1].id != v[i].id)
      v[k++] = v[i];
  *n = k;
  return v;
}

/* ------------------------------------------------------------ spawn sites */

typedef struct site_ref {
  const schedrt_dump_site *site;
  int which; /* 0: a, 1: b */
  size_t index;
} site_ref;

static int str_cmp(const char *a, const char *b) {
  if (!a || !b)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

static int site_key_cmp(const schedrt_dump_site *a, const schedrt_dump_site *b) {
  int c = str_cmp(a->file, b->file);
  if (!c)
    c = a->line < b->line ? -1 : a->line > b->line;
  if (!c)
    c = str_cmp(a->func, b->func);
  return c;
}

static int cmp_site_ref(const void *pa, const void *pb) {
  const site_ref *a = pa, *b = pb;
  int c = site_key_cmp(a->site, b->site);
  /* B's entry first within a key, so the group shows B's; then by index, for a stable order. */
  if (!c)
    c = b->which - a->which;
  if (!c)
    c = a->index < b->index ? -1 : a->index > b->index;
  return c;
}

/* Groups the spawn sites of both dumps by (file, line, func): map_a/map_b[site index] = group; the last
 * group (index ngroups - 1) is for tasks without a site. */
static void match_sites(dump_diff *df, size_t **map_a, size_t **map_b) {
  const schedrt_dump_doc *a = df->a, *b = df->b;
  size_t n = a->nspawn_sites + b->nspawn_sites, k = 0;
  site_ref *refs = xmalloc((n ? n : 1) * sizeof(*refs));
  for (size_t i = 0; i < a->nspawn_sites; i++)
    refs[k++] = (site_ref){&a->spawn_sites[i], 0, i};
  for (size_t i = 0; i < b->nspawn_sites; i++)
    refs[k++] = (site_ref){&b->spawn_sites[i], 1, i};
  if (n > 1)
    qsort(refs, n, sizeof(*refs), cmp_site_ref);
  *map_a = xmalloc((a->nspawn_sites + 1) * sizeof(**map_a));
  *map_b = xmalloc((b->nspawn_sites + 1) * sizeof(**map_b));
  df->sites = xcalloc(n + 1, sizeof(*df->sites));
  size_t groups = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || site_key_cmp(refs[i - 1].site, refs[i].site) != 0)
      df->sites[groups++].site = refs[i].site;
    (refs[i].which ? *map_b : *map_a)[refs[i].index] = groups - 1;
  }
  size_t none = groups;
  (*map_a)[a->nspawn_sites] = none;
  (*map_b)[b->nspawn_sites] = none;
  df->nsites = none + 1;
  free(refs);
}

static size_t site_group(const size_t *map, const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  return map[t->spawn >= 0 && (uint64_t)t->spawn < d->nspawn_sites ? (size_t)t->spawn : d->nspawn_sites];
}

static double per_s(uint64_t n, uint64_t interval_ns) {
  return interval_ns ? (double)n * 1e9 / (double)interval_ns : NAN;
}

static int cmp_diff_site(const void *pa, const void *pb) {
  const diff_site *a = pa, *b = pb;
  size_t da = a->tasks_a > a->tasks_b ? a->tasks_a - a->tasks_b : a->tasks_b - a->tasks_a;
  size_t db = b->tasks_a > b->tasks_b ? b->tasks_a - b->tasks_b : b->tasks_b - b->tasks_a;
  if (da != db)
    return da > db ? -1 : 1;
  if (a->polls != b->polls)
    return a->polls > b->polls ? -1 : 1;
  return (b->tasks_b > a->tasks_b) - (b->tasks_b < a->tasks_b);
}

/* ---------------------------------------------------------------- tasks */

static int stalled(const dump_diff *df, const schedrt_dump_task *ta, const schedrt_dump_task *tb) {
  if (!df->interval_ns || ta->state != SCHEDRT_DUMP_STATE_IDLE || tb->state != SCHEDRT_DUMP_STATE_IDLE)
    return 0;
  if (ta->polls != tb->polls || ta->state_ns < 0 || tb->state_ns < ta->state_ns)
    return 0;
  uint64_t grew = (uint64_t)(tb->state_ns - ta->state_ns);
  uint64_t off = grew > df->interval_ns ? grew - df->interval_ns : df->interval_ns - grew;
  return off <= df->margin_ns;
}

static void compare_tasks(dump_diff *df, const size_t *map_a, const size_t *map_b) {
  const schedrt_dump_doc *a = df->a, *b = df->b;
  size_t na, nb;
  id_ix *ia = sorted_ids(a, &na), *ib = sorted_ids(b, &nb);
  df->appeared = xmalloc((nb ? nb : 1) * sizeof(size_t));
  df->new_lost = xmalloc((nb ? nb : 1) * sizeof(size_t));
  df->stalled = xmalloc((nb ? nb : 1) * sizeof(size_t));
  df->stalled_a = xmalloc((nb ? nb : 1) * sizeof(size_t));
  df->finished = xmalloc((na ? na : 1) * sizeof(size_t));
  size_t x = 0, y = 0;
  /* Merge by id: each id of either dump is seen once. */
  while (x < na || y < nb) {
    const schedrt_dump_task *ta = x < na ? &a->tasks[ia[x].index] : NULL;
    const schedrt_dump_task *tb = y < nb ? &b->tasks[ib[y].index] : NULL;
    if (tb && (!ta || ib[y].id < ia[x].id)) {
      diff_site *s = &df->sites[site_group(map_b, b, tb)];
      df->appeared[df->nappeared++] = ib[y].index;
      s->tasks_b++;
      s->appeared++;
      s->polls += tb->polls;
      if (tb->lost_wake)
        df->new_lost[df->nnew_lost++] = ib[y].index;
      y++;
    } else if (ta && (!tb || ia[x].id < ib[y].id)) {
      diff_site *s = &df->sites[site_group(map_a, a, ta)];
      df->finished[df->nfinished++] = ia[x].index;
      s->tasks_a++;
      s->finished++;
      x++;
    } else {
      diff_site *sa = &df->sites[site_group(map_a, a, ta)], *sb = &df->sites[site_group(map_b, b, tb)];
      sa->tasks_a++;
      sb->tasks_b++;
      /* A count that went backwards is not a count of the same task: no polls then. */
      if (tb->polls >= ta->polls)
        sb->polls += tb->polls - ta->polls;
      if (tb->lost_wake && !ta->lost_wake)
        df->new_lost[df->nnew_lost++] = ib[y].index;
      if (stalled(df, ta, tb)) {
        df->stalled_a[df->nstalled] = ia[x].index;
        df->stalled[df->nstalled++] = ib[y].index;
      }
      x++;
      y++;
    }
  }
  free(ia);
  free(ib);
}

static void compare_deadlocks(dump_diff *df) {
  dump_waits_build(df->a, &df->waits_a);
  dump_waits_build(df->b, &df->waits_b);
  df->ndeadlocks_b = df->waits_b.ncycles;
  for (size_t c = 0; c < df->waits_b.ncycles; c++) {
    const wait_cycle *cy = &df->waits_b.cycles[c];
    int old = 1;
    for (size_t k = 0; k < cy->n && old; k++) {
      size_t ia = dump_waits_find(&df->waits_a, df->b->tasks[cy->members[k]].id);
      old = ia != WAITS_NONE && dump_waits_in_cycle(&df->waits_a, ia);
    }
    df->nnew_deadlocks += !old;
  }
}

static int worker_polls(const schedrt_dump_doc *d, size_t i, uint64_t *count) {
  const schedrt_dump_worker *w = &d->workers[i];
  size_t h = HIST_ID(poll_time);
  if (!d->nhist_bounds || !w->hist[h] || w->nhist[h] != d->nhist_bounds)
    return 0;
  *count = hist_count(w->hist[h], (uint32_t)w->nhist[h]);
  return 1;
}

static void compare_workers(dump_diff *df) {
  const schedrt_dump_doc *a = df->a, *b = df->b;
  df->nworkers = b->nworkers_listed;
  df->workers = xcalloc(df->nworkers ? df->nworkers : 1, sizeof(*df->workers));
  for (size_t i = 0; i < df->nworkers; i++) {
    diff_worker *w = &df->workers[i];
    uint64_t pa, pb;
    w->index = b->workers[i].index;
    w->local_b = b->workers[i].local_queue;
    w->local_a = i < a->nworkers_listed ? a->workers[i].local_queue : SCHEDRT_DUMP_NONE;
    w->polls_per_s = NAN;
    /* A count that went backwards: the counters started again; no rate. */
    if (i < a->nworkers_listed && worker_polls(a, i, &pa) && worker_polls(b, i, &pb) && pb >= pa) {
      w->has_polls = 1;
      w->polls = pb - pa;
      w->polls_per_s = per_s(w->polls, df->interval_ns);
    }
  }
}

void dump_diff_build(const schedrt_dump_doc *a, const schedrt_dump_doc *b, dump_diff *df) {
  *df = (dump_diff){.a = a, .b = b};
  if (b->taken_mono_ns < a->taken_mono_ns) {
    df->a = b;
    df->b = a;
    df->swapped = 1;
  }
  df->interval_ns = df->b->taken_mono_ns - df->a->taken_mono_ns;
  df->margin_ns = df->interval_ns / 1000 * DIFF_STALL_MARGIN_PERMILLE;
  if (df->margin_ns < DIFF_STALL_MARGIN_MIN_NS)
    df->margin_ns = DIFF_STALL_MARGIN_MIN_NS;
  size_t *map_a, *map_b;
  match_sites(df, &map_a, &map_b);
  compare_tasks(df, map_a, map_b);
  free(map_a);
  free(map_b);
  for (size_t i = 0; i < df->nsites; i++)
    df->sites[i].polls_per_s = per_s(df->sites[i].polls, df->interval_ns);
  /* Drop the groups no task used (sites of neither dump's tasks, the empty "unknown" group). */
  size_t k = 0;
  for (size_t i = 0; i < df->nsites; i++)
    if (df->sites[i].tasks_a || df->sites[i].tasks_b)
      df->sites[k++] = df->sites[i];
  df->nsites = k;
  if (k > 1)
    qsort(df->sites, k, sizeof(*df->sites), cmp_diff_site);
  compare_deadlocks(df);
  compare_workers(df);
}

void dump_diff_free(dump_diff *df) {
  free(df->appeared);
  free(df->finished);
  free(df->stalled);
  free(df->stalled_a);
  free(df->new_lost);
  free(df->sites);
  free(df->workers);
  dump_waits_free(&df->waits_a);
  dump_waits_free(&df->waits_b);
  *df = (dump_diff){0};
}

char *dump_diff_summary(char *buf, size_t size, const dump_diff *df) {
  char iv[32], dl[64] = "";
  if (df->ndeadlocks_b)
    xsnprintf(dl, sizeof(dl), ", %zu deadlock%s (%zu new)", df->ndeadlocks_b,
              df->ndeadlocks_b == 1 ? "" : "s", df->nnew_deadlocks);
  return xsnprintf(buf, size, "%zu new lost wake-up%s, %zu stalled%s, +%zu -%zu tasks in %s", df->nnew_lost,
                   df->nnew_lost == 1 ? "" : "s", df->nstalled, dl, df->nappeared, df->nfinished,
                   fmt_duration(iv, sizeof(iv), df->interval_ns));
}
