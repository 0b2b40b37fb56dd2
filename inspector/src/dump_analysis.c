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

/* Idle and wakeable only through its wait's own registration: one waker, no timer. */
static bool only_through_edge(const schedrt_dump_task *t) {
  return t->state == SCHEDRT_DUMP_STATE_IDLE && t->timers == 0 && t->wakers <= 1;
}

/* A wait whose waking side's holders a dump may list (the program gave them: include/schedrt.h). */
static bool handle_wait(uint32_t wait) {
  return wait == SCHEDRT_DUMP_WAIT_NOTIFY || wait == SCHEDRT_DUMP_WAIT_ONESHOT ||
         wait == SCHEDRT_DUMP_WAIT_CHANNEL_RECV || wait == SCHEDRT_DUMP_WAIT_CHANNEL_SEND;
}

/* Whether task j of the dump has finished: its function returned (it is only being taken out). */
static bool finished(const schedrt_dump_doc *d, size_t j) {
  return d->tasks[j].state == SCHEDRT_DUMP_STATE_COMPLETING;
}

/*
 * Who could wake task i, for the proofs: appends to sig the tasks it waits
 * on (those that could still do it, if they ever run again); false when
 * something outside the dump's tasks could (a timer, a second waker, a
 * thread outside the runtime, a holder the list leaves out, a join on a
 * task that finished: its joiner is about to be woken) or nothing says.
 */
static bool signallers(const schedrt_dump_doc *d, const dump_waits *w, size_t i, size_t *sig, size_t *n) {
  const schedrt_dump_task *t = &d->tasks[i];
  uint64_t id;
  if (!only_through_edge(t))
    return false;
  if (dump_waits_edge(d, i, &id)) {
    if (w->next[i] != WAITS_NONE)
      sig[(*n)++] = w->next[i];
    else if (t->wait == SCHEDRT_DUMP_WAIT_JOIN)
      return false;
    /* else a mutex or semaphore whose holder finished while holding it */
    return true;
  }
  if (!handle_wait(t->wait) || !t->holders || t->holders_more)
    return false;
  for (size_t k = 0; k + 1 < t->nholders; k += 2) {
    uint64_t h = t->holders[k];
    if (h == 0)
      return false; /* held outside the runtime */
    if (h == t->id) {
      /* Its own hold cannot wake it while it waits; but a oneshot's sending side waits too (closed),
       * for a receiver nobody records: no proof for it. */
      if (t->wait == SCHEDRT_DUMP_WAIT_ONESHOT)
        return false;
      continue;
    }
    size_t j = dump_waits_find(w, h);
    if (j != WAITS_NONE && !finished(d, j))
      sig[(*n)++] = j;
  }
  return true;
}

/*
 * The proofs of dump_analysis.h as one fixed point over "who could wake
 * whom": every candidate (a task that only its wait can wake) starts out
 * leaked, and a candidate that a task outside the set could wake is taken
 * out, then so is every candidate that one could wake, and so on. What stays
 * is a set whose members only wake one another and all wait: none can go
 * first. A cycle of joins and a chain down to a lost wake-up are special
 * cases. O(n + edges).
 */
static void prove_leaks(const schedrt_dump_doc *d, dump_analysis *a) {
  size_t n = d->ntasks, alloc = n ? n : 1;
  const dump_waits *w = &a->waits;
  a->proven = xcalloc(alloc, 1);
  if (!a->wake_info)
    return;
  size_t cap = alloc, used = 0;
  size_t *start = xmalloc((n + 1) * sizeof(*start)), *sig = xmalloc(cap * sizeof(*sig));
  size_t tmp_cap = SCHEDRT_DUMP_HOLDERS_MAX + 1;
  size_t *tmp = xmalloc(tmp_cap * sizeof(*tmp));
  for (size_t i = 0; i < n; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    size_t k = 0;
    start[i] = used;
    if (t->nholders / 2 + 1 > tmp_cap) {
      tmp_cap = t->nholders / 2 + 1;
      tmp = xrealloc(tmp, tmp_cap * sizeof(*tmp));
    }
    a->proven[i] = t->lost_wake || signallers(d, w, i, tmp, &k);
    if (used + k > cap) {
      cap = (used + k) * 2;
      sig = xrealloc(sig, cap * sizeof(*sig));
    }
    memcpy(sig + used, tmp, k * sizeof(*sig));
    used += k;
  }
  start[n] = used;
  /* Reversed: for each task, the candidates it could wake. */
  size_t *rstart = xcalloc(n + 1, sizeof(*rstart)), *rev = xmalloc((used ? used : 1) * sizeof(*rev));
  for (size_t e = 0; e < used; e++)
    rstart[sig[e] + 1]++;
  for (size_t i = 0; i < n; i++)
    rstart[i + 1] += rstart[i];
  size_t *fill = xmalloc(alloc * sizeof(*fill));
  memcpy(fill, rstart, n * sizeof(*fill));
  for (size_t i = 0; i < n; i++)
    for (size_t e = start[i]; e < start[i + 1]; e++)
      rev[fill[sig[e]]++] = i;
  /* Taken out: candidates that a task outside the set can wake, then what those can wake. */
  size_t *stack = fill, top = 0;
  for (size_t i = 0; i < n; i++) {
    bool out = false;
    for (size_t e = start[i]; a->proven[i] && e < start[i + 1] && !out; e++)
      out = !a->proven[sig[e]];
    if (out) {
      a->proven[i] = 0;
      stack[top++] = i;
    }
  }
  while (top) {
    size_t j = stack[--top];
    for (size_t e = rstart[j]; e < rstart[j + 1]; e++) {
      size_t i = rev[e];
      if (a->proven[i] && !d->tasks[i].lost_wake) {
        a->proven[i] = 0;
        stack[top++] = i;
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    a->nproven += a->proven[i];
  free(start);
  free(sig);
  free(tmp);
  free(rstart);
  free(rev);
  free(fill);
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
      xsnprintf(buf, size, handle_wait(t->wait) ? ", held by no task" : " (free)");
    return buf;
  }
  (void)d;
  bool mutex = t->wait == SCHEDRT_DUMP_WAIT_MUTEX;
  bool handles = handle_wait(t->wait); /* (task, handles) of the side that can wake it */
  size_t used = 0;
  xsnprintf(buf, size, "%s", mutex ? " held by " : handles ? ", held by " : ", permits held by ");
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
    if (t->wait == SCHEDRT_DUMP_WAIT_MUTEX || t->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE || handle_wait(t->wait))
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
