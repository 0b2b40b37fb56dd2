/* The runtimes of an exposition, kept open across scrapes (see om_targets.h). */
#include "om_targets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "om_leaks.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/shm_util.h"
#include "util.h"

typedef enum target_state {
  TARGET_NEW = 0, /* not open (yet, or again after being beyond the limit) */
  TARGET_OPEN,
  TARGET_GONE, /* exited or unreadable: not opened again while the name stays */
} target_state;

struct om_target {
  char name[SCHEDRT_SHM_NAME_MAX];
  struct schedrt__shm_name nm;
  target_state state;
  unsigned mark; /* the collection that last saw the name */
  schedrt_reader *reader;
  schedrt_snapshot snap;
  schedrt_reader_desc *desc; /* a copy of the segment's descriptor table */
  size_t ndesc;
  schedrt_site_snap *sites; /* [schedrt_reader_site_cap]: read with each snapshot */
  uint32_t nsites;
  /* The last leak check (om_leaks.h): proven leaked tasks per site row (the table only grows, so a row
   * keeps its index), those of no row, and when it was done (0: never, or the last one failed). */
  uint64_t *proven;
  uint64_t unplaced;
  uint64_t checked_ns;
};

void om_targets_init(om_targets *t, const char *shm_dir, pid_t pid, size_t max_targets) {
  memset(t, 0, sizeof(*t));
  t->shm_dir = shm_dir;
  t->pid = pid;
  t->max_targets = max_targets;
}

static void target_close(om_target *x) {
  schedrt_snapshot_fini(&x->snap);
  schedrt_reader_close(x->reader);
  free(x->desc);
  free(x->sites);
  free(x->proven);
  x->proven = NULL;
  x->checked_ns = 0;
  x->reader = NULL;
  x->desc = NULL;
  x->ndesc = 0;
  x->sites = NULL;
  x->nsites = 0;
}

void om_targets_fini(om_targets *t) {
  for (size_t i = 0; i < t->n; i++) {
    target_close(t->v[i]);
    free(t->v[i]);
  }
  free(t->v);
  free(t->srcs);
  memset(t, 0, sizeof(*t));
}

/* The directory walk's callback: marks the names still there, adds the new ones. */
static int see_name(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  om_targets *t = ctx;
  uid_t me = geteuid();
  (void)dirfd;
  if (nm->is_dump || (me != 0 && nm->uid != (uint32_t)me) || (t->pid && nm->pid != (uint32_t)t->pid))
    return 0;
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i]->name, name) == 0) {
      t->v[i]->mark = t->mark;
      return 0;
    }
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 16;
    om_target **nv = realloc(t->v, ncap * sizeof(*nv));
    if (!nv)
      return -ENOMEM;
    t->v = nv;
    t->cap = ncap;
  }
  om_target *x = calloc(1, sizeof(*x));
  if (!x)
    return -ENOMEM;
  snprintf(x->name, sizeof(x->name), "%s", name);
  x->nm = *nm;
  x->mark = t->mark;
  t->v[t->n++] = x;
  return 0;
}

static int cmp_target(const void *a, const void *b) {
  const om_target *x = *(om_target *const *)a, *y = *(om_target *const *)b;
  if (x->nm.pid != y->nm.pid)
    return x->nm.pid < y->nm.pid ? -1 : 1;
  if (x->nm.starttime != y->nm.starttime)
    return x->nm.starttime < y->nm.starttime ? -1 : 1;
  return x->nm.index < y->nm.index ? -1 : x->nm.index > y->nm.index;
}

/* Opens x's segment without waiting for one still being set up. 0, or the reason to skip it. */
static int target_open(om_targets *t, om_target *x, om_skip_reason *why) {
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT, .shm_dir = t->shm_dir};
  int err = schedrt_reader_open_name(x->name, &o, &x->reader);
  if (err) {
    x->reader = NULL;
    *why = err == SCHEDRT_ENOTREADY                  ? OM_SKIP_STARTING
           : err == -ENOENT || err == SCHEDRT_ESTALE ? OM_SKIP_GONE
                                                     : OM_SKIP_UNREADABLE;
    if (*why != OM_SKIP_STARTING)
      x->state = TARGET_GONE;
    return err;
  }
  x->ndesc = schedrt_reader_desc_count(x->reader);
  x->desc = calloc(x->ndesc ? x->ndesc : 1, sizeof(*x->desc));
  uint32_t cap = schedrt_reader_site_cap(x->reader);
  x->sites = cap ? calloc(cap, sizeof(*x->sites)) : NULL;
  x->proven = cap && t->leak_period_ns ? calloc(cap, sizeof(*x->proven)) : NULL;
  if (!x->desc || (cap && !x->sites) || (cap && t->leak_period_ns && !x->proven) ||
      schedrt_snapshot_init(x->reader, &x->snap)) {
    target_close(x);
    return -ENOMEM;
  }
  for (size_t k = 0; k < x->ndesc; k++)
    x->desc[k] = *schedrt_reader_desc_at(x->reader, k);
  x->state = TARGET_OPEN;
  return 0;
}

/* A snapshot of an open target. 0, or the reason to skip it (then it is closed for good). */
static int target_read(om_target *x, om_skip_reason *why) {
  const schedrt_segment_info *in = schedrt_reader_info(x->reader);
  unsigned flags = (in->features & SCHEDRT_SHM_F_TIMING) ? SCHEDRT_SNAP_HISTOGRAMS : 0;
  int err = schedrt_snapshot_take(x->reader, flags, &x->snap);
  /* No sites (an older writer, or a failed read) is no reason to leave the runtime out. */
  if (!x->sites || schedrt_reader_sites(x->reader, x->sites, schedrt_reader_site_cap(x->reader), &x->nsites))
    x->nsites = 0;
  /* A torn worker is left out by the renderer; the rest of the runtime is good. */
  if (err && err != SCHEDRT_ETORN) {
    *why = OM_SKIP_UNREADABLE;
  } else if (x->snap.liveness == SCHEDRT_LIVENESS_STALE || x->snap.liveness == SCHEDRT_LIVENESS_EXITING) {
    *why = OM_SKIP_GONE;
    err = -ESRCH;
  } else {
    return 0;
  }
  target_close(x);
  x->state = TARGET_GONE;
  return err ? err : -EIO;
}

/* A leak check of x when one is due: a dump of its runtime, taken in memory and analysed. A failed one
 * (no dumps in that build, a timeout) leaves no proof series until one succeeds. */
static void target_leaks(om_targets *t, om_target *x) {
  uint64_t now = inspect_now_ns();
  if (!t->leak_period_ns || !x->proven || (x->checked_ns && now - x->checked_ns < t->leak_period_ns))
    return;
  inspect_target it = {.pid = (pid_t)x->nm.pid, .reader = x->reader, .info = schedrt_reader_info(x->reader)};
  int err = om_leaks_check(&it, t->shm_dir, 0, x->sites, x->nsites, x->proven, &x->unplaced);
  x->checked_ns = err ? 0 : now ? now : 1;
}

int om_targets_collect(om_targets *t, om_scrape_stats *st) {
  size_t live = 0, kept = 0;
  t->mark++;
  t->nsrcs = 0;
  int err = schedrt__shm_scan(t->shm_dir ? t->shm_dir : SCHEDRT_READER_SHM_DIR, see_name, t);
  if (err)
    return err;
  /* Names no longer in the directory: their process exited and the runtime removed its segment. */
  for (size_t i = 0; i < t->n; i++) {
    om_target *x = t->v[i];
    if (x->mark == t->mark) {
      t->v[kept++] = x;
      continue;
    }
    target_close(x);
    free(x);
  }
  t->n = kept;
  if (t->n)
    qsort(t->v, t->n, sizeof(*t->v), cmp_target);
  free(t->srcs);
  t->srcs = calloc(t->n ? t->n : 1, sizeof(*t->srcs));
  if (!t->srcs)
    return -ENOMEM;
  for (size_t i = 0; i < t->n; i++) {
    om_target *x = t->v[i];
    om_skip_reason why = OM_SKIP_GONE;
    if (x->state == TARGET_GONE)
      continue; /* counted once, when it went */
    if (t->max_targets && live >= t->max_targets) {
      /* Beyond the limit: not read, and not kept open either (the limit bounds the descriptors too). */
      target_close(x);
      x->state = TARGET_NEW;
      st->skipped[OM_SKIP_MAX_TARGETS]++;
      continue;
    }
    if (x->state == TARGET_NEW && (err = target_open(t, x, &why)) != 0) {
      if (err == -ENOMEM)
        return err;
      st->skipped[why]++;
      continue;
    }
    if (target_read(x, &why)) {
      st->skipped[why]++;
      continue;
    }
    live++;
    target_leaks(t, x);
    t->srcs[t->nsrcs++] = (om_source){.info = schedrt_reader_info(x->reader),
                                      .desc = x->desc,
                                      .ndesc = x->ndesc,
                                      .snap = &x->snap,
                                      .reader = x->reader,
                                      .sites = x->sites,
                                      .nsites = x->nsites,
                                      .site_proven = x->checked_ns ? x->proven : NULL,
                                      .proven_unplaced = x->unplaced};
  }
  return 0;
}
