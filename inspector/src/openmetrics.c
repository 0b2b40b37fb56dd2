/* The OpenMetrics / Prometheus text exposition of runtime snapshots (see openmetrics.h). */
#include "openmetrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedrt/proto/shm_layout.h"

/* ------------------------------------------------------------ a buffer */

/* A growing byte buffer; after a failed allocation it stays failed (one check at the end). */
typedef struct obuf {
  char *p;
  size_t len, cap;
  int oom;
} obuf;

static void ob_put(obuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void ob_str(obuf *b, const char *s) { ob_put(b, s, strlen(s)); }

/* Decimal without printf: a scrape of 50 runtimes writes thousands of numbers. */
static void ob_u64(obuf *b, uint64_t v) {
  char tmp[24];
  size_t i = sizeof(tmp);
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  ob_put(b, tmp + i, sizeof(tmp) - i);
}

/* ns as seconds, exactly: "12.000345" (the decimal of ns / 1e9, trailing zeros cut, at least "N.0"),
 * so no value loses precision to a double on the way. */
static void ob_seconds(obuf *b, uint64_t ns) {
  char frac[10];
  uint64_t f = ns % 1000000000u;
  int n = 9;
  ob_u64(b, ns / 1000000000u);
  for (int i = 8; i >= 0; i--, f /= 10)
    frac[i] = (char)('0' + f % 10);
  while (n > 1 && frac[n - 1] == '0')
    n--;
  ob_put(b, ".", 1);
  ob_put(b, frac, (size_t)n);
}

/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4))
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
    return 0; /* overlong, or a surrogate */
  if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
    return 0;
  return n;
}

/*
 * s escaped for a label value or a HELP text: both formats want UTF-8 and
 * escape backslash and newline; OpenMetrics also escapes '"' everywhere, the
 * 0.0.4 format only in label values (its HELP knows no \"). Bytes that are
 * not UTF-8 (a comm is any 16 bytes) become '?'.
 */
static void ob_escaped(obuf *b, const char *s, int quote) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n = utf8_len(p);
    if (n == 0)
      ob_put(b, "?", 1), p++;
    else if (*p == '\\')
      ob_put(b, "\\\\", 2), p++;
    else if (*p == '\n')
      ob_put(b, "\\n", 2), p++;
    else if (*p == '"' && quote)
      ob_put(b, "\\\"", 2), p++;
    else if (*p < 0x20 || *p == 0x7f)
      ob_put(b, "?", 1), p++;
    else
      ob_put(b, (const char *)p, n), p += n;
  }
}

/* ------------------------------------------------------------ families */

#define OM_NAME_MAX 96

typedef struct om_family {
  char name[OM_NAME_MAX]; /* the family: schedrt_worker_busy_seconds */
  schedrt_metric_kind kind;
  int seconds;   /* unit ns, exposed in seconds */
  int worker;    /* per worker */
  char unit[17]; /* a unit that is no OpenMetrics unit, named in the help; "" */
  char help[65];
} om_family;

static int ident_ok(const char *s, int allow_upper) {
  if (!*s || (*s >= '0' && *s <= '9'))
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          (allow_upper && *s >= 'A' && *s <= 'Z')))
      return 0;
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * The family a descriptor becomes, by the rule of openmetrics.h. -1 for one
 * that cannot be exposed faithfully: a name that is no identifier (the table
 * is untrusted input), or one that would collide with the suffixes the
 * formats reserve (a gauge called foo_total reads as a counter's sample).
 */
static int family_of(const schedrt_reader_desc *d, om_family *f) {
  char base[64];
  memset(f, 0, sizeof(*f));
  if (!ident_ok(d->name, 1) || d->kind > SCHEDRT_METRIC_HISTOGRAM)
    return -1;
  snprintf(base, sizeof(base), "%s", d->name);
  f->kind = d->kind;
  f->worker = d->scope == SCHEDRT_SCOPE_WORKER;
  f->seconds = strcmp(d->unit, "ns") == 0;
  if (f->seconds && ends_with(base, "_ns"))
    base[strlen(base) - 3] = '\0';
  if (f->kind == SCHEDRT_METRIC_COUNTER && ends_with(base, "_total"))
    base[strlen(base) - 6] = '\0';
  snprintf(f->name, sizeof(f->name), "schedrt_%s%s%s", f->worker ? "worker_" : "", base,
           f->seconds ? "_seconds" : "");
  static const char *const reserved[] = {"_total", "_count", "_sum", "_bucket", "_created", "_info"};
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
    if (ends_with(f->name, reserved[i]))
      return -1;
  if (f->kind == SCHEDRT_METRIC_HISTOGRAM && !f->worker)
    return -1; /* histograms are per worker (region HIST) */
  if (!f->seconds && d->unit[0] && ident_ok(d->unit, 0))
    snprintf(f->unit, sizeof(f->unit), "%s", d->unit);
  snprintf(f->help, sizeof(f->help), "%s", d->help);
  return 0;
}

static void family_header(obuf *b, const om_family *f, om_dialect d) {
  static const char *const types[] = {"counter", "gauge", "histogram"};
  const char *total = d == OM_PROMETHEUS && f->kind == SCHEDRT_METRIC_COUNTER ? "_total" : "";
  /* 0.0.4 names a counter by its sample (foo_total); OpenMetrics by its family (foo). */
  ob_str(b, "# TYPE "), ob_str(b, f->name), ob_str(b, total), ob_put(b, " ", 1);
  ob_str(b, types[f->kind]), ob_put(b, "\n", 1);
  if (d == OM_OPENMETRICS && f->seconds)
    ob_str(b, "# UNIT "), ob_str(b, f->name), ob_str(b, " seconds\n");
  ob_str(b, "# HELP "), ob_str(b, f->name), ob_str(b, total), ob_put(b, " ", 1);
  ob_escaped(b, f->help, d == OM_OPENMETRICS);
  if (f->unit[0])
    ob_str(b, " ["), ob_str(b, f->unit), ob_put(b, "]", 1);
  ob_put(b, "\n", 1);
}

/* ------------------------------------------------------------- samples */

/* One source's samples, family by family: chunk f is buf[off[f], off[f + 1]). */
typedef struct om_chunks {
  obuf buf;
  size_t *off;
  char labels[512]; /* pid="1",comm="x",runtime="y",runtime_index="0" */
} om_chunks;

static void source_labels(om_chunks *c, const schedrt_segment_info *in) {
  obuf b = {0};
  ob_str(&b, "pid=\""), ob_u64(&b, in->pid), ob_str(&b, "\",comm=\"");
  ob_escaped(&b, in->comm, 1);
  ob_str(&b, "\",runtime=\""), ob_escaped(&b, in->runtime_name, 1);
  ob_str(&b, "\",runtime_index=\""), ob_u64(&b, in->runtime_index), ob_put(&b, "\"", 1);
  /* 17 + 33 bytes of text, each escaped to at most 2 bytes per byte: it fits. */
  snprintf(c->labels, sizeof(c->labels), "%s", b.oom ? "" : b.p);
  free(b.p);
}

static void sample_start(obuf *b, const om_family *f, const char *suffix, const om_chunks *c, int worker) {
  ob_str(b, f->name), ob_str(b, suffix), ob_put(b, "{", 1), ob_str(b, c->labels);
  if (worker >= 0)
    ob_str(b, ",worker=\""), ob_u64(b, (uint64_t)worker), ob_put(b, "\"", 1);
}

static void sample_value(obuf *b, const om_family *f, uint64_t v) {
  ob_put(b, " ", 1);
  if (f->seconds)
    ob_seconds(b, v);
  else
    ob_u64(b, v);
  ob_put(b, "\n", 1);
}

/* A value of descriptor k: from the snapshot for a known metric (consistent), else read now. */
static int value_of(const om_source *s, size_t k, uint32_t worker, uint32_t bucket, uint64_t *v) {
  const schedrt_reader_desc *d = &s->desc[k];
  if (d->known && d->known_id >= 0 && d->kind != SCHEDRT_METRIC_HISTOGRAM)
    return schedrt_snapshot_value(s->snap, d->known_id, worker, v);
  if (d->known && d->known_id >= SCHEDRT_M__HIST_FIRST) {
    const uint64_t *h =
        schedrt_snapshot_hist(s->snap, worker, (uint32_t)(d->known_id - SCHEDRT_M__HIST_FIRST));
    if (!h || bucket >= s->snap->hist_buckets)
      return -ENODATA;
    *v = h[bucket];
    return 0;
  }
  return s->reader ? schedrt_snapshot_raw(s->reader, k, worker, bucket, v) : -ENODATA;
}

/* Worker w's histogram: cumulative buckets, `le` the inclusive bound of each. */
static void histogram_samples(obuf *b, const om_family *f, const om_source *s, size_t k, const om_chunks *c,
                              uint32_t w) {
  const schedrt_segment_info *in = s->info;
  uint32_t nb = in->hist_buckets < s->desc[k].count ? in->hist_buckets : s->desc[k].count;
  uint64_t counts[SCHEDRT_READER_MAX_BUCKETS], cum = 0;
  for (uint32_t i = 0; i < nb; i++)
    if (value_of(s, k, w, i, &counts[i]))
      return; /* all of a worker's buckets or none: a partial histogram would lie */
  for (uint32_t i = 0; i < nb; i++) {
    cum += counts[i];
    if (in->hist_upper_ns[i] == UINT64_MAX)
      continue; /* the last bucket is +Inf, below */
    /* Bucket i holds integer ns values below its exclusive bound: at most bound - 1, which is le. */
    sample_start(b, f, "_bucket", c, (int)w);
    ob_str(b, ",le=\"");
    if (f->seconds)
      ob_seconds(b, in->hist_upper_ns[i] - 1);
    else
      ob_u64(b, in->hist_upper_ns[i] - 1);
    ob_str(b, "\"} "), ob_u64(b, cum), ob_put(b, "\n", 1);
  }
  sample_start(b, f, "_bucket", c, (int)w);
  ob_str(b, ",le=\"+Inf\"} "), ob_u64(b, cum), ob_put(b, "\n", 1);
}

static void family_samples(obuf *b, const om_family *f, const om_source *s, size_t k, const om_chunks *c) {
  const char *suffix = f->kind == SCHEDRT_METRIC_COUNTER ? "_total" : "";
  uint64_t v;
  if (!f->worker) {
    if (value_of(s, k, 0, 0, &v) == 0)
      sample_start(b, f, suffix, c, -1), ob_put(b, "}", 1), sample_value(b, f, v);
    return;
  }
  for (uint32_t w = 0; w < s->snap->nworkers; w++) {
    if (f->kind == SCHEDRT_METRIC_HISTOGRAM) {
      /* Without per-poll timing the buckets stay zero: no histogram rather than one saying "no polls". */
      if (s->info->features & SCHEDRT_SHM_F_TIMING)
        histogram_samples(b, f, s, k, c, w);
      continue;
    }
    if (s->snap->workers[w].torn || value_of(s, k, w, 0, &v))
      continue; /* not read consistently: no sample rather than a zero */
    sample_start(b, f, suffix, c, (int)w), ob_put(b, "}", 1), sample_value(b, f, v);
  }
}

/* ---------------------------------------------------------- spawn sites */

/* The site families: every counter of the list, then the alive gauge. */
enum {
#define SF_ENUM(id, kind, off, unit, help, timing) SF_##id,
  SCHEDRT_SITE_COUNTERS(SF_ENUM)
#undef SF_ENUM
      SF_alive,
  SF_proven_leaked, /* from a leak check (om_source.site_proven), never from the counters */
  SF__COUNT
};

typedef struct site_family {
  om_family f;
  int timing; /* only from segments that record it */
} site_family;

/* Family i, named by the rule of the descriptors' (as if each were a global metric "site_<id>"). */
static void site_family_of(size_t i, site_family *out) {
  static const struct {
    const char *id, *unit, *help;
    schedrt_metric_kind kind;
    int timing;
  } defs[SF__COUNT] = {
#define SF_DEF(id, kind, off, unit, help, timing) {#id, unit, help, SCHEDRT_METRIC_##kind, timing},
      SCHEDRT_SITE_COUNTERS(SF_DEF)
#undef SF_DEF
          {"alive", "tasks", "tasks of this spawn site spawned and not ended", SCHEDRT_METRIC_GAUGE, 0},
      {"proven_leaked", "tasks",
       "tasks of this spawn site proven leaked by the last leak check (a task dump): nothing alive can "
       "ever wake them; a proof, not the growth suspicion",
       SCHEDRT_METRIC_GAUGE, 0},
  };
  schedrt_reader_desc d;
  memset(&d, 0, sizeof(d));
  snprintf(d.name, sizeof(d.name), "site_%s", defs[i].id);
  snprintf(d.unit, sizeof(d.unit), "%s", defs[i].unit);
  snprintf(d.help, sizeof(d.help), "%s", defs[i].help);
  d.kind = defs[i].kind;
  d.scope = SCHEDRT_SCOPE_GLOBAL;
  (void)family_of(&d, &out->f); /* the list's names are identifiers: it cannot fail */
  out->timing = defs[i].timing;
}

static uint64_t site_value(const om_source *src, uint32_t k, size_t i) {
  const schedrt_site_snap *s = &src->sites[k];
  if (i == SF_proven_leaked)
    return src->site_proven[k];
  switch (i) {
#define SF_VAL(id, kind, off, unit, help, timing)                                                            \
  case SF_##id:                                                                                              \
    return s->id;
    SCHEDRT_SITE_COUNTERS(SF_VAL)
#undef SF_VAL
  default:
    return s->alive;
  }
}

/* Site k of s gets a label set of its own: among the first OM_MAX_SITES, and not the same file:line and
 * function as one before it (two files with the same tail). */
static int site_own_row(const om_source *s, uint32_t k) {
  const schedrt_site_snap *x = &s->sites[k];
  if (x->overflow || x->index >= OM_MAX_SITES)
    return 0;
  for (uint32_t j = 0; j < k; j++)
    if (s->sites[j].line == x->line && strcmp(s->sites[j].file, x->file) == 0 &&
        strcmp(s->sites[j].func, x->func) == 0)
      return 0;
  return 1;
}

static void site_sample(obuf *b, const om_family *f, const om_chunks *c, const char *file, uint32_t line,
                        const char *func, uint64_t v) {
  sample_start(b, f, f->kind == SCHEDRT_METRIC_COUNTER ? "_total" : "", c, -1);
  ob_str(b, ",site=\"");
  if (file) {
    ob_escaped(b, file, 1), ob_put(b, ":", 1), ob_u64(b, line);
  } else {
    ob_str(b, "other");
  }
  ob_str(b, "\",func=\""), ob_escaped(b, func, 1), ob_str(b, "\"}");
  sample_value(b, f, v);
}

static void site_samples(obuf *b, const site_family *sf, size_t i, const om_source *s, const om_chunks *c) {
  if (sf->timing && !(s->info->features & SCHEDRT_SHM_F_TIMING))
    return; /* zero without per-poll timing: no series rather than one saying "never busy" */
  if (i == SF_proven_leaked && !s->site_proven)
    return; /* no leak check: no series rather than one saying "none leaked" */
  uint64_t other = i == SF_proven_leaked ? s->proven_unplaced : 0;
  int any_other = other != 0;
  for (uint32_t k = 0; k < s->nsites; k++) {
    if (site_own_row(s, k)) {
      site_sample(b, &sf->f, c, s->sites[k].file, s->sites[k].line, s->sites[k].func, site_value(s, k, i));
    } else {
      other += site_value(s, k, i);
      any_other = 1;
    }
  }
  if (any_other)
    site_sample(b, &sf->f, c, NULL, 0, "", other);
}

/* ------------------------------------------------------------- the whole */

typedef struct om_registry {
  om_family *v;
  size_t n, cap;
  int *desc_of; /* [source][family cap]: the descriptor of family f in source s, -1 */
} om_registry;

static int family_find(const om_registry *r, const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->v[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* Every family of every source, in first-seen order; desc_of[s * max_fam + f] its descriptor in s. */
static int registry_build(om_registry *r, const om_source *srcs, size_t n, size_t max_fam) {
  r->v = calloc(max_fam ? max_fam : 1, sizeof(*r->v));
  r->desc_of = malloc((n ? n : 1) * (max_fam ? max_fam : 1) * sizeof(int));
  if (!r->v || !r->desc_of)
    return -ENOMEM;
  for (size_t i = 0; i < n * max_fam; i++)
    r->desc_of[i] = -1;
  for (size_t s = 0; s < n; s++) {
    for (size_t k = 0; k < srcs[s].ndesc; k++) {
      om_family f;
      if (family_of(&srcs[s].desc[k], &f))
        continue;
      int i = family_find(r, f.name);
      if (i < 0) {
        i = (int)r->n;
        r->v[r->n++] = f;
      } else if (r->v[i].kind != f.kind || r->v[i].worker != f.worker) {
        continue; /* the same name with another meaning (another layout): not mixed into one family */
      }
      if (r->desc_of[s * max_fam + (size_t)i] < 0)
        r->desc_of[s * max_fam + (size_t)i] = (int)k;
    }
  }
  return 0;
}

static void self_families(obuf *b, const om_scrape_stats *st) {
  ob_str(b, "# TYPE sched_inspect_targets gauge\n"
            "# HELP sched_inspect_targets runtimes in this exposition\n"
            "sched_inspect_targets ");
  ob_u64(b, st->exported);
  ob_str(
      b,
      "\n# TYPE sched_inspect_targets_skipped gauge\n"
      "# HELP sched_inspect_targets_skipped runtimes of the host left out of this exposition, by reason\n");
  for (int i = 0; i < OM_SKIP__COUNT; i++) {
    ob_str(b, "sched_inspect_targets_skipped{reason=\""), ob_str(b, om_skip_reason_name((om_skip_reason)i));
    ob_str(b, "\"} "), ob_u64(b, st->skipped[i]), ob_put(b, "\n", 1);
  }
}

om_dialect om_negotiate(const char *accept) {
  if (accept && !strstr(accept, "application/openmetrics-text") && strstr(accept, "text/plain"))
    return OM_PROMETHEUS;
  return OM_OPENMETRICS;
}

const char *om_skip_reason_name(om_skip_reason r) {
  static const char *const names[OM_SKIP__COUNT] = {"max_targets", "max_bytes", "gone", "starting",
                                                    "unreadable"};
  return (unsigned)r < OM_SKIP__COUNT ? names[r] : "?";
}

int om_render(const om_source *srcs, size_t n, om_dialect d, size_t max_bytes, om_scrape_stats *stats,
              char **out, size_t *len) {
  om_registry reg = {0};
  om_chunks *ch = calloc(n ? n : 1, sizeof(*ch));
  unsigned char *admitted = calloc(n ? n : 1, 1);
  obuf b = {0};
  size_t max_fam = 0, used = 0, nfam = 0;
  site_family sites[SF__COUNT];
  int err = -ENOMEM;
  for (size_t i = 0; i < SF__COUNT; i++)
    site_family_of(i, &sites[i]);
  *out = NULL;
  *len = 0;
  for (size_t s = 0; s < n; s++)
    max_fam += srcs[s].ndesc;
  if (!ch || !admitted || registry_build(&reg, srcs, n, max_fam))
    goto out;
  /* The descriptors' families, then the spawn sites'. */
  nfam = reg.n + SF__COUNT;
  for (size_t s = 0; s < n; s++) {
    om_chunks *c = &ch[s];
    c->off = malloc((nfam + 1) * sizeof(size_t));
    if (!c->off)
      goto out;
    source_labels(c, srcs[s].info);
    for (size_t f = 0; f < nfam; f++) {
      c->off[f] = c->buf.len;
      int k = f < reg.n ? reg.desc_of[s * max_fam + f] : -1;
      if (k >= 0)
        family_samples(&c->buf, &reg.v[f], &srcs[s], (size_t)k, c);
      else if (f >= reg.n)
        site_samples(&c->buf, &sites[f - reg.n], f - reg.n, &srcs[s], c);
    }
    c->off[nfam] = c->buf.len;
    if (c->buf.oom)
      goto out;
    /* Whole runtimes or nothing: half of one would mislead more than its absence. */
    if (max_bytes && used + c->buf.len > max_bytes) {
      if (stats)
        stats->skipped[OM_SKIP_MAX_BYTES]++;
      continue;
    }
    used += c->buf.len;
    admitted[s] = 1;
    if (stats)
      stats->exported++;
  }
  for (size_t f = 0; f < nfam; f++) {
    int any = 0;
    for (size_t s = 0; s < n && !any; s++)
      any = admitted[s] && ch[s].off[f + 1] > ch[s].off[f];
    if (!any)
      continue; /* no family without samples: metadata alone says nothing */
    family_header(&b, f < reg.n ? &reg.v[f] : &sites[f - reg.n].f, d);
    for (size_t s = 0; s < n; s++)
      if (admitted[s])
        ob_put(&b, ch[s].buf.p + ch[s].off[f], ch[s].off[f + 1] - ch[s].off[f]);
  }
  if (stats)
    self_families(&b, stats);
  if (d == OM_OPENMETRICS)
    ob_str(&b, "# EOF\n");
  if (!b.oom && !b.p)
    ob_put(&b, "", 0);
  if (b.oom)
    goto out;
  *out = b.p;
  *len = b.len;
  b.p = NULL;
  err = 0;
out:
  for (size_t s = 0; ch && s < n; s++) {
    free(ch[s].buf.p);
    free(ch[s].off);
  }
  free(ch);
  free(admitted);
  free(reg.v);
  free(reg.desc_of);
  free(b.p);
  return err;
}
