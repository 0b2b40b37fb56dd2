/* What needs attention in a dump (see dump_analysis.h). */
#include "dump_analysis.h"

#include <stdlib.h>
#include <string.h>

#include "dump_text.h"
#include "format.h"
#include "util.h"

const char *dump_task_name(const schedrt_dump_task *t) {
  return t->name && t->name[0] ? t->name : "(unnamed)";
}

static size_t state_slot(uint32_t s) { return s < SCHEDRT_DUMP_STATE__COUNT ? s : SCHEDRT_DUMP_STATE__COUNT; }

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static int cmp_idle(const void *pa, const void *pb, void *arg) {
  const schedrt_dump_doc *d = arg;
  const schedrt_dump_task *a = &d->tasks[*(const size_t *)pa], *b = &d->tasks[*(const size_t *)pb];
  uint64_t x = dump_task_for_ns(d, a), y = dump_task_for_ns(d, b);
  if (x != y)
    return x > y ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_await(const void *pa, const void *pb) {
  const await_summary *a = pa, *b = pb;
  if (a->longest_idle_ns != b->longest_idle_ns)
    return a->longest_idle_ns > b->longest_idle_ns ? -1 : 1;
  if (a->idle != b->idle)
    return a->idle > b->idle ? -1 : 1;
  return a->await < b->await ? -1 : a->await > b->await;
}

static int cmp_site(const void *pa, const void *pb) {
  const site_summary *a = pa, *b = pb;
  if (a->tasks != b->tasks)
    return a->tasks > b->tasks ? -1 : 1;
  return a->spawn < b->spawn ? -1 : a->spawn > b->spawn;
}

/* Slot of a site index in a table of n + 1 (the last: none). */
static size_t site_slot(int64_t idx, size_t n) { return idx >= 0 && (uint64_t)idx < n ? (size_t)idx : n; }

static void summarize_awaits(const schedrt_dump_doc *d, dump_analysis *a) {
  size_t n = d->nawait_sites;
  await_summary *s = xcalloc(n + 1, sizeof(*s));
  for (size_t k = 0; k <= n; k++)
    s[k].await = k < n ? (int64_t)k : SCHEDRT_DUMP_NONE;
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    uint64_t idle = dump_task_for_ns(d, t);
    await_summary *x = &s[site_slot(t->await, n)];
    if (t->lost_wake) {
      if (x->lost == 0 || idle > x->longest_lost_ns) {
        x->longest_lost_ns = idle;
        x->longest_lost = i;
      }
      x->lost++;
    }
    if (t->state != SCHEDRT_DUMP_STATE_IDLE)
      continue;
    if (x->idle == 0 || idle > x->longest_idle_ns) {
      x->longest_idle_ns = idle;
      x->longest = i;
    }
    x->idle++;
  }
  size_t k = 0;
  for (size_t j = 0; j <= n; j++)
    if (s[j].idle || s[j].lost)
      s[k++] = s[j];
  if (k > 1)
    qsort(s, k, sizeof(*s), cmp_await);
  a->awaits = s;
  a->nawaits = k;
}

static void summarize_sites(const schedrt_dump_doc *d, dump_analysis *a) {
  size_t n = d->nspawn_sites;
  site_summary *s = xcalloc(n + 1, sizeof(*s));
  for (size_t k = 0; k <= n; k++)
    s[k] = (site_summary){.spawn = k < n ? (int64_t)k : SCHEDRT_DUMP_NONE, .youngest_ns = UINT64_MAX};
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    site_summary *x = &s[site_slot(t->spawn, n)];
    x->tasks++;
    x->by_state[state_slot(t->state)]++;
    x->lost += t->lost_wake;
    x->deadlocked += dump_waits_in_cycle(&a->waits, i);
    x->proven += a->proven[i];
    x->polls = sat_add(x->polls, t->polls);
    if (t->state == SCHEDRT_DUMP_STATE_IDLE && dump_task_for_ns(d, t) > x->longest_idle_ns)
      x->longest_idle_ns = dump_task_for_ns(d, t);
    if (t->age_ns < x->youngest_ns)
      x->youngest_ns = t->age_ns;
  }
  size_t k = 0;
  for (size_t j = 0; j <= n; j++)
    if (s[j].tasks)
      s[k++] = s[j];
  if (k > 1)
    qsort(s, k, sizeof(*s), cmp_site);
  a->sites = s;
  a->nsites = k;
}

static void summarize_workers(const schedrt_dump_doc *d, dump_analysis *a) {
  size_t nw = d->nworkers_listed;
  a->workers = xcalloc(nw ? nw : 1, sizeof(*a->workers));
  a->stuck = xmalloc((nw ? nw : 1) * sizeof(*a->stuck));
  for (size_t i = 0; i < nw; i++) {
    const schedrt_dump_worker *w = &d->workers[i];
    worker_summary *x = &a->workers[i];
    x->current = w->current_task >= 0 ? dump_waits_find(&a->waits, (uint64_t)w->current_task) : WAITS_NONE;
    if (w->role == SCHEDRT_DUMP_ROLE_MISSING)
      a->stuck[a->nstuck++] = i;
    /* Both or neither: the decoder checked each against the bounds. */
    x->has_hist = d->nhist_bounds > 0;
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      x->has_hist &= w->hist[h] != NULL && w->nhist[h] == d->nhist_bounds;
    for (size_t h = 0; x->has_hist && h < SCHEDRT_M__HIST_COUNT; h++)
      hist_summarize(w->hist[h], d->hist_bounds, (uint32_t)d->nhist_bounds, &x->hist[h]);
  }
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    if (t->worker >= 0 && (size_t)t->worker < nw)
      a->workers[t->worker].by_state[state_slot(t->state)]++;
  }
}

/* Nearer the end of its chain first (cycle members and tasks that wait for none: depth 0). */
static int cmp_depth(const void *x, const void *y, void *arg) {
  const dump_waits *w = arg;
  size_t i = *(const size_t *)x, j = *(const size_t *)y;
  if (w->depth[i] != w->depth[j])
    return w->depth[i] < w->depth[j] ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* Idle and wakeable only through its wait's own registration: one waker, no timer. */
static bool only_through_edge(const schedrt_dump_task *t) {
  return t->state == SCHEDRT_DUMP_STATE_IDLE && t->timers == 0 && t->wakers <= 1;
}

/* The proofs of dump_analysis.h, in order of chain depth: a task's proof needs the one of the task it
 * waits for, which is one edge nearer the chain's end. O(n log n). */
static void prove_leaks(const schedrt_dump_doc *d, dump_analysis *a) {
  size_t n = d->ntasks;
  const dump_waits *w = &a->waits;
  a->proven = xcalloc(n ? n : 1, 1);
  if (!a->wake_info)
    return;
  size_t *order = xmalloc((n ? n : 1) * sizeof(*order));
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  if (n > 1)
    qsort_r(order, n, sizeof(*order), cmp_depth, (void *)w);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    const schedrt_dump_task *t = &d->tasks[i];
    bool p = t->lost_wake;
    uint64_t id;
    if (!p && dump_waits_in_cycle(w, i)) {
      const wait_cycle *c = &w->cycles[w->cycle_of[i] - 1];
      p = true;
      for (size_t m = 0; m < c->n; m++)
        p = p && only_through_edge(&d->tasks[c->members[m]]);
    } else if (!p && only_through_edge(t) && dump_waits_edge(d, i, &id)) {
      if (w->next[i] != WAITS_NONE)
        p = a->proven[w->next[i]];
      else /* the holder is gone: it finished holding the mutex or the permits */
        p = t->wait == SCHEDRT_DUMP_WAIT_MUTEX || t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE;
    }
    a->proven[i] = p;
    a->nproven += p;
  }
  free(order);
}

void dump_analyze(const schedrt_dump_doc *d, dump_analysis *a) {
  *a = (dump_analysis){.d = d, .wake_info = dump_has_wake_info(d)};
  dump_waits_build(d, &a->waits);
  a->lost = xmalloc((d->ntasks ? d->ntasks : 1) * sizeof(*a->lost));
  for (size_t i = 0; i < d->ntasks; i++)
    if (d->tasks[i].lost_wake)
      a->lost[a->nlost++] = i;
  if (a->nlost > 1)
    qsort_r(a->lost, a->nlost, sizeof(*a->lost), cmp_idle, (void *)d);
  a->chains = xmalloc((a->waits.nheads ? a->waits.nheads : 1) * sizeof(*a->chains));
  for (size_t k = 0; k < a->waits.nheads; k++) {
    size_t head = a->waits.heads[k], last;
    if (a->waits.depth[head] >= ANALYSIS_MIN_CHAIN ||
        dump_waits_chain_end(d, &a->waits, head, &last) == WAIT_END_CYCLE)
      a->chains[a->nchains++] = head;
  }
  prove_leaks(d, a);
  summarize_awaits(d, a);
  summarize_sites(d, a);
  summarize_workers(d, a);
}

void dump_analysis_free(dump_analysis *a) {
  dump_waits_free(&a->waits);
  free(a->stuck);
  free(a->lost);
  free(a->chains);
  free(a->proven);
  free(a->awaits);
  free(a->sites);
  free(a->workers);
  *a = (dump_analysis){0};
}

unsigned dump_attention(const dump_analysis *a, size_t i) {
  const schedrt_dump_doc *d = a->d;
  if (i >= d->ntasks)
    return 0;
  unsigned m = 0;
  if (d->tasks[i].lost_wake)
    m |= ATTN_LOST;
  if (dump_waits_in_cycle(&a->waits, i))
    m |= ATTN_DEADLOCK;
  if (a->proven && a->proven[i])
    m |= ATTN_PROVEN;
  for (size_t k = 0; k < a->nstuck; k++)
    if (a->workers[a->stuck[k]].current == i)
      m |= ATTN_STUCK;
  return m;
}

unsigned char *dump_attention_all(const dump_analysis *a, attention_counts *n) {
  size_t nt = a->d->ntasks;
  unsigned char *m = xcalloc(nt ? nt : 1, 1);
  *n = (attention_counts){0};
  for (size_t i = 0; i < nt; i++) {
    m[i] = (unsigned char)dump_attention(a, i);
    n->any += m[i] != 0;
    n->lost += (m[i] & ATTN_LOST) != 0;
    n->deadlocked += (m[i] & ATTN_DEADLOCK) != 0;
    n->stuck += (m[i] & ATTN_STUCK) != 0;
  }
  return m;
}

char dump_attention_mark(unsigned m) {
  return m & ATTN_LOST ? 'L' : m & ATTN_DEADLOCK ? 'D' : m & ATTN_PROVEN ? 'P' : m & ATTN_STUCK ? 'S' : ' ';
}

char *dump_attention_line(char *buf, size_t size, const dump_analysis *a) {
  const schedrt_dump_doc *d = a->d;
  char dur[32], aw[600], dl[256] = "";
  buf[0] = '\0';
  if (a->waits.ncycles) {
    const wait_cycle *c = &a->waits.cycles[0];
    const schedrt_dump_task *t = &d->tasks[c->members[0]];
    char more[48] = "waits for itself";
    if (c->n > 1)
      xsnprintf(more, sizeof(more), "and %zu more wait for each other", c->n - 1);
    xsnprintf(dl, sizeof(dl), "%zu deadlock%s: #%llu \"%s\" %s", a->waits.ncycles,
              a->waits.ncycles == 1 ? "" : "s", (unsigned long long)t->id, dump_task_name(t), more);
  }
  /* Proven leaks beyond the lost wake-ups and deadlocks: tasks waiting on them. */
  size_t chained = 0;
  for (size_t i = 0; a->nproven && i < d->ntasks; i++)
    chained += a->proven[i] && !d->tasks[i].lost_wake && !dump_waits_in_cycle(&a->waits, i);
  if (chained) {
    size_t used = strlen(dl);
    xsnprintf(dl + used, sizeof(dl) - used, "%s%zu more proven leaked", used ? "; " : "", chained);
  }
  if (!a->nlost)
    return xsnprintf(buf, size, "%s", dl);
  const schedrt_dump_task *t = &d->tasks[a->lost[0]];
  const schedrt_dump_site *w = schedrt_dump_await_site(d, t);
  char at[128] = "";
  if (w && w->file)
    xsnprintf(at, sizeof(at), " at %s", fmt_site(aw, sizeof(aw), w->file, w->line, 40, 0));
  return xsnprintf(buf, size, "%zu lost wake-up%s: #%llu \"%s\" idle %s%s%s%s", a->nlost,
                   a->nlost == 1 ? "" : "s", (unsigned long long)t->id, dump_task_name(t),
                   dump_opt_duration(dur, sizeof(dur), t->state_ns), at, dl[0] ? "; " : "", dl);
}

/* Appends ", " (unless first) and the formatted text. */
static void add(char *buf, size_t size, const char *fmt, const char *arg) {
  size_t used = strlen(buf);
  if (used + 1 >= size)
    return;
  xsnprintf(buf + used, size - used, "%s", used ? ", " : "");
  used = strlen(buf);
  xsnprintf(buf + used, size - used, fmt, arg);
}

char *dump_holders_text(char *buf, size_t size, const schedrt_dump_doc *d, const dump_waits *w,
                        const schedrt_dump_task *t) {
  buf[0] = '\0';
  if (!t->holders || t->nholders < 2) {
    if (t->holders)
      xsnprintf(buf, size, " (free)");
    return buf;
  }
  (void)d;
  bool mutex = t->wait == SCHEDRT_DUMP_WAIT_MUTEX;
  size_t used = 0;
  xsnprintf(buf, size, "%s", mutex ? " held by " : ", permits held by ");
  for (size_t k = 0; k + 1 < t->nholders; k += 2) {
    used = strlen(buf);
    uint64_t id = t->holders[k], n = t->holders[k + 1];
    char who[80];
    size_t j = id ? dump_waits_find(w, id) : WAITS_NONE;
    bool gone = id && j == WAITS_NONE; /* finished and holds it still: a leaked lock? */
    if (id == 0)
      xsnprintf(who, sizeof(who), "a thread that is not a task");
    else
      xsnprintf(who, sizeof(who), "#%llu", (unsigned long long)id);
    if (mutex)
      xsnprintf(buf + used, size - used, "%s%s%s", k ? ", " : "", who,
                gone ? " (finished: not in the dump)" : "");
    else
      xsnprintf(buf + used, size - used, "%s%s(%llu%s)", k ? ", " : "", who, (unsigned long long)n,
                gone ? ", finished" : "");
  }
  if (t->holders_more) {
    used = strlen(buf);
    xsnprintf(buf + used, size - used, " and %llu more", (unsigned long long)t->holders_more);
  }
  return buf;
}

int dump_has_wake_info(const schedrt_dump_doc *d) { return d->major > 1 || d->minor >= 1; }

char *dump_wake_text(char *buf, size_t size, const schedrt_dump_doc *d, const dump_waits *w, size_t i) {
  char tmp[160], dur[32];
  buf[0] = '\0';
  if (!dump_has_wake_info(d) || i >= d->ntasks)
    return buf;
  const schedrt_dump_task *t = &d->tasks[i];
  if (t->lost_wake)
    add(buf, size, "%s", "LOST WAKE-UP");
  if (dump_waits_in_cycle(w, i))
    add(buf, size, "%s", "DEADLOCK");
  if (t->wait == SCHEDRT_DUMP_WAIT_JOIN && t->wait_for >= 0) {
    size_t j = dump_waits_find(w, (uint64_t)t->wait_for);
    if (j == WAITS_NONE)
      xsnprintf(tmp, sizeof(tmp), "waits for #%lld (finished: not in the dump)", (long long)t->wait_for);
    else
      xsnprintf(tmp, sizeof(tmp), "waits for #%lld (%s)", (long long)t->wait_for,
                dump_task_name(&d->tasks[j]));
    add(buf, size, "%s", tmp);
  } else if (t->wait != SCHEDRT_DUMP_WAIT_NONE) {
    const char *what = schedrt_dump_wait_text(t->wait);
    if (t->wait == SCHEDRT_DUMP_WAIT_IO && t->wait_fd >= 0)
      xsnprintf(tmp, sizeof(tmp), "io %s fd %lld%s%s", t->wait_interest ? t->wait_interest : "?",
                (long long)t->wait_fd, t->peer ? " peer " : "", t->peer ? t->peer : "");
    else if (t->wait_object >= 0)
      xsnprintf(tmp, sizeof(tmp), "%s 0x%llx", what, (unsigned long long)t->wait_object);
    else
      xsnprintf(tmp, sizeof(tmp), "%s", what);
    if (t->wait == SCHEDRT_DUMP_WAIT_MUTEX || t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE)
      dump_holders_text(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), d, w, t);
    add(buf, size, "%s", tmp);
  }
  if (t->wakers) {
    xsnprintf(tmp, sizeof(tmp), "wakers %llu", (unsigned long long)t->wakers);
    add(buf, size, "%s", tmp);
  }
  if (t->timers) {
    if (t->timer_in_ns >= 0)
      xsnprintf(tmp, sizeof(tmp), "timer in %s", fmt_duration(dur, sizeof(dur), (uint64_t)t->timer_in_ns));
    else
      xsnprintf(tmp, sizeof(tmp), "timers %llu", (unsigned long long)t->timers);
    if (t->timers > 1 && t->timer_in_ns >= 0)
      xsnprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), " (%llu timers)",
                (unsigned long long)t->timers);
    add(buf, size, "%s", tmp);
  }
  if (!buf[0] && t->state == SCHEDRT_DUMP_STATE_IDLE)
    add(buf, size, "%s", "wakers 0");
  return buf;
}
