/*
 * The SVG writer of `plot` (see recording_plot.h). The samples are gathered
 * into at most one bucket per horizontal pixel: a bucket keeps the deepest
 * queue it saw (a short spike stays visible however long the recording) and
 * the busy time over its time, so a week-long recording draws as fast and as
 * small as a minute's. Each panel and series is named (id, class,
 * data-series, title) so that viewers show tooltips and tests find them.
 */
#include "recording_plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

#define LEFT 60
#define RIGHT 50
#define TOP 64
#define PANEL_H 130
#define PANEL_GAP 34
#define PLOT_W (PLOT_WIDTH - LEFT - RIGHT)

/* One pixel column of one worker. */
struct cell {
  uint64_t depth; /* the deepest local queue */
  uint64_t busy_ns, dt_ns;
  int seen;
};

/* One pixel column of the whole runtime. */
struct column {
  uint64_t inject; /* the deepest injection queue */
  int seen;
};

/* Text for XML: markup characters as entities (the names came from the target). */
static void put_xml(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*s, f);
    }
  }
}

/* A round axis maximum at or above v: 1, 2, 5 times a power of ten. */
static uint64_t nice_max(uint64_t v) {
  uint64_t p = 1;
  if (v < 1)
    return 1;
  for (;;) {
    if (v <= p)
      return p;
    if (v <= 2 * p)
      return 2 * p;
    if (v <= 5 * p)
      return 5 * p;
    if (p > UINT64_MAX / 10)
      return v;
    p *= 10;
  }
}

static double px_x(size_t col, size_t ncols) {
  return ncols > 1 ? LEFT + (double)col * PLOT_W / (double)(ncols - 1) : LEFT;
}

static void axes(FILE *f, int y0, uint64_t dmax, double span_s) {
  char a[32];
  fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LEFT, y0, PLOT_W,
          PANEL_H);
  for (int k = 0; k <= 4; k++) {
    double y = y0 + PANEL_H - (double)k * PANEL_H / 4;
    fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", LEFT, y, LEFT + PLOT_W,
            y);
    fprintf(f, "<text class=\"left\" x=\"%d\" y=\"%.1f\">%s</text>\n", LEFT - 4, y + 4,
            fmt_si(a, sizeof(a), (double)dmax * k / 4));
    fprintf(f, "<text class=\"right\" x=\"%d\" y=\"%.1f\">%d%%</text>\n", LEFT + PLOT_W + 4, y + 4, k * 25);
  }
  for (int k = 0; k <= 6; k++) {
    double x = LEFT + (double)k * PLOT_W / 6;
    fprintf(f, "<text class=\"time\" x=\"%.1f\" y=\"%d\">%s</text>\n", x, y0 + PANEL_H + 13,
            k ? fmt_duration(a, sizeof(a), (uint64_t)(span_s * 1e9 * k / 6)) : "0");
  }
}

/* A series is a polyline over the columns that saw a sample, named for viewers and tests. */
static void series_begin(FILE *f, const char *cls, const char *name, uint32_t w) {
  fprintf(f, "<polyline class=\"series %s\" data-series=\"%s\" data-worker=\"%u\" points=\"", cls, name, w);
}
static void series_end(FILE *f, const char *title, uint32_t w, int per_worker) {
  fputs("\">", f);
  if (per_worker)
    fprintf(f, "<title>worker %u: %s</title>", w, title);
  else
    fprintf(f, "<title>%s</title>", title);
  fputs("</polyline>\n", f);
}

int rec_plot_svg(const recording *r, FILE *f) {
  const rec_header *h = &r->h;
  schedrt_snapshot snap[2];
  uint64_t t0 = 0, t1 = 0, first_real = 0;
  uint32_t nworkers = 0;
  if (rec_snapshot_init(r, &snap[0]))
    return -ENOMEM;
  if (rec_snapshot_init(r, &snap[1])) {
    rec_snapshot_fini(&snap[0]);
    return -ENOMEM;
  }
  /* First pass: the time span and the workers, so that samples land in their columns in one pass after. */
  for (size_t i = 0; i < r->nsamples; i++) {
    if (rec_sample_read(r, i, &snap[0], i == 0 ? &first_real : NULL))
      continue;
    if (i == 0)
      t0 = snap[0].taken_mono_ns;
    if (snap[0].taken_mono_ns > t1)
      t1 = snap[0].taken_mono_ns;
    if (snap[0].nworkers > nworkers)
      nworkers = snap[0].nworkers;
  }
  size_t ncols = r->nsamples < (size_t)PLOT_W ? r->nsamples : (size_t)PLOT_W;
  uint64_t span = t1 > t0 ? t1 - t0 : 0;
  struct cell *cells = xcalloc((size_t)(nworkers ? nworkers : 1) * (ncols ? ncols : 1), sizeof(*cells));
  struct column *cols = xcalloc(ncols ? ncols : 1, sizeof(*cols));
  uint64_t dmax = 1;
  int cur = 0, have_prev = 0;
  for (size_t i = 0; i < r->nsamples; i++) {
    schedrt_snapshot *s = &snap[cur], *p = &snap[!cur];
    if (rec_sample_read(r, i, s, NULL))
      continue;
    uint64_t t = s->taken_mono_ns > t0 ? s->taken_mono_ns - t0 : 0;
    size_t c = span && ncols > 1 ? (size_t)((double)t / (double)span * (double)(ncols - 1) + 0.5) : 0;
    if (c >= ncols)
      c = ncols - 1;
    uint64_t dt = have_prev && s->taken_mono_ns > p->taken_mono_ns ? s->taken_mono_ns - p->taken_mono_ns : 0;
    if (!s->global.torn) {
      cols[c].seen = 1;
      if (s->global.inject_depth > cols[c].inject)
        cols[c].inject = s->global.inject_depth;
      if (s->global.inject_depth > dmax)
        dmax = s->global.inject_depth;
    }
    for (uint32_t w = 0; w < s->nworkers && w < nworkers; w++) {
      const schedrt_worker_snap *ws = &s->workers[w];
      struct cell *x = &cells[(size_t)w * ncols + c];
      if (ws->torn)
        continue;
      x->seen = 1;
      if (ws->local_queue_depth > x->depth)
        x->depth = ws->local_queue_depth;
      if (ws->local_queue_depth > dmax)
        dmax = ws->local_queue_depth;
      if (dt && w < p->nworkers && !p->workers[w].torn && ws->busy_ns_live >= p->workers[w].busy_ns_live) {
        uint64_t b = ws->busy_ns_live - p->workers[w].busy_ns_live;
        x->busy_ns += b < dt ? b : dt;
        x->dt_ns += dt;
      }
    }
    have_prev = 1;
    cur = !cur;
  }
  rec_snapshot_fini(&snap[0]);
  rec_snapshot_fini(&snap[1]);
  dmax = nice_max(dmax);

  char a[48], b[48], c[48];
  int height = TOP + (int)nworkers * (PANEL_H + PANEL_GAP) + 10;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\" font-size=\"11\">\n",
          PLOT_WIDTH, height, PLOT_WIDTH, height);
  fputs("<style>rect.frame{fill:#fff;stroke:#999} line.grid{stroke:#e6e6e6} text.left{text-anchor:end} "
        "text.time{text-anchor:middle;fill:#555} text.heading{font-size:13px;font-weight:bold} "
        "polyline{fill:none;stroke-width:1.3} .depth{stroke:#1f77b4} .busy{stroke:#d62728} "
        ".inject{stroke:#7f7f7f;stroke-dasharray:4 3}</style>\n",
        f);
  fputs("<title>schedrt recording of pid ", f);
  fprintf(f, "%u, runtime \"", h->pid);
  put_xml(f, h->runtime);
  fputs("\"</title>\n<text class=\"heading\" x=\"10\" y=\"20\">pid ", f);
  fprintf(f, "%u ", h->pid);
  put_xml(f, h->comm);
  fputs(", runtime \"", f);
  put_xml(f, h->runtime);
  fprintf(f, "\": %zu samples every %s over %s, from %s</text>\n", r->nsamples,
          fmt_duration(a, sizeof(a), h->interval_ns), fmt_duration(b, sizeof(b), span),
          fmt_datetime(c, sizeof(c), first_real));
  fputs("<g id=\"legend\">"
        "<line class=\"depth\" x1=\"10\" y1=\"38\" x2=\"34\" y2=\"38\" stroke-width=\"2\"/>"
        "<text x=\"38\" y=\"42\">local queue depth (left axis)</text>"
        "<line class=\"inject\" x1=\"210\" y1=\"38\" x2=\"234\" y2=\"38\" stroke-width=\"2\"/>"
        "<text x=\"238\" y=\"42\">injection queue depth (left axis)</text>"
        "<line class=\"busy\" x1=\"430\" y1=\"38\" x2=\"454\" y2=\"38\" stroke-width=\"2\"/>"
        "<text x=\"458\" y=\"42\">busy % (right axis)</text></g>\n",
        f);
  for (uint32_t w = 0; w < nworkers; w++) {
    int y0 = TOP + (int)w * (PANEL_H + PANEL_GAP);
    fprintf(f, "<g class=\"panel\" id=\"worker-%u\" data-worker=\"%u\">\n<title>worker %u</title>\n", w, w,
            w);
    fprintf(f, "<text class=\"heading\" x=\"%d\" y=\"%d\">worker %u</text>\n", LEFT, y0 - 5, w);
    axes(f, y0, dmax, (double)span / 1e9);
    series_begin(f, "depth", "local_queue_depth", w);
    for (size_t c = 0; c < ncols; c++) {
      const struct cell *x = &cells[(size_t)w * ncols + c];
      if (x->seen)
        fprintf(f, "%.1f,%.1f ", px_x(c, ncols), y0 + PANEL_H - (double)x->depth * PANEL_H / (double)dmax);
    }
    series_end(f, "local queue depth", w, 1);
    series_begin(f, "busy", "busy_pct", w);
    for (size_t c = 0; c < ncols; c++) {
      const struct cell *x = &cells[(size_t)w * ncols + c];
      if (x->dt_ns)
        fprintf(f, "%.1f,%.1f ", px_x(c, ncols),
                y0 + PANEL_H - (double)x->busy_ns / (double)x->dt_ns * PANEL_H);
    }
    series_end(f, "busy %", w, 1);
    series_begin(f, "inject", "inject_depth", w);
    for (size_t c = 0; c < ncols; c++)
      if (cols[c].seen)
        fprintf(f, "%.1f,%.1f ", px_x(c, ncols),
                y0 + PANEL_H - (double)cols[c].inject * PANEL_H / (double)dmax);
    series_end(f, "injection queue depth (the runtime's, in every panel)", w, 0);
    fputs("</g>\n", f);
  }
  fputs("</svg>\n", f);
  free(cells);
  free(cols);
  return ferror(f) ? -EIO : 0;
}
