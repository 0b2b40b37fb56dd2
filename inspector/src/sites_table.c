/* The SPAWN SITES table of the live view (see sites_table.h). */
#include "sites_table.h"

#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"
#include "format.h"
#include "util.h"
#include "widgets.h"

/* The numeric columns in the order they are given up when room runs out (last first). */
enum { C_ALIVE, C_SPAWNS, C_POLLS, C_BUSY, C_LAT, NCOLS };
static const struct {
  const char *head;
  int width; /* separator included */
  site_sort_key key;
  int timing; /* shown only when the segment records busy time and latency */
} cols[NCOLS] = {
    {"ALIVE", 8, SSORT_ALIVE, 0}, {"SPAWN/s", 9, SSORT_SPAWNS, 0},  {"POLLS/s", 9, SSORT_POLLS, 0},
    {"BUSY%", 7, SSORT_BUSY, 1},  {"LATENCY", 9, SSORT_LATENCY, 1},
};
#define MARK_W 7    /* " LEAK? " */
#define SITE_MIN 22 /* "demo_tasks.c:573 conn" */

/* Which columns fit in `width` beside a site column of at least SITE_MIN and a mark column of mark_w. */
static void choose(int width, int timing, int mark_w, int *on, int *site_w) {
  int used = mark_w;
  for (int c = 0; c < NCOLS; c++) {
    on[c] = !cols[c].timing || timing;
    used += on[c] ? cols[c].width : 0;
  }
  for (int c = NCOLS - 1; c > C_ALIVE && width - used < SITE_MIN; c--) {
    if (on[c])
      used -= cols[c].width;
    on[c] = 0;
  }
  *site_w = width - used > 4 ? width - used : 4;
}

int sites_table_rows(const site_model *m) { return m->npresent ? (int)m->npresent + 2 : 0; }

/* "file.c:123 func [name]" in width columns: the site first (its line kept), the function and the
 * first task's name where they fit. */
static void site_text(char *buf, size_t size, const site_view *v, int width) {
  if (v->s.overflow) {
    xsnprintf(buf, size, "(other sites: the table is full)");
    return;
  }
  char site[256], rest[96] = "";
  const char *base = strrchr(v->s.file, '/');
  base = base ? base + 1 : v->s.file;
  fmt_site(site, sizeof(site), base, v->s.line, width, crt_utf8);
  int room = width - (int)fmt_cols(site);
  if (v->s.func[0] && room > 4)
    xsnprintf(rest, sizeof(rest), " %s", v->s.func);
  if (v->s.name[0] && room - (int)strlen(rest) > (int)strlen(v->s.name) + 3) {
    size_t n = strlen(rest);
    xsnprintf(rest + n, sizeof(rest) - n, " [%s]", v->s.name);
  }
  xsnprintf(buf, size, "%s%s", site, rest);
}

static const char *num(char *buf, size_t size, double v) { return isfinite(v) ? fmt_si(buf, size, v) : "-"; }

void sites_table_draw(const site_model *m, site_sort_key key, int y, int rows) {
  int on[NCOLS], site_w, mark_w = m->nleaks ? MARK_W : 0;
  choose(COLS, m->timing, mark_w, on, &site_w);
  uint32_t *order = xmalloc((m->cap ? m->cap : 1) * sizeof(*order));
  uint32_t n = site_model_sorted(m, key, order);
  char a[32], text[320];

  /* The suspects first: at 80 columns the sort order is what may be cut. */
  int x = 0;
  w_text(y, x, COLS, CRT_LABEL, "SPAWN SITES");
  x += 11;
  if (m->nleaks) {
    xsnprintf(text, sizeof(text), "  %u leak suspect%s (alive kept growing)", m->nleaks,
              m->nleaks > 1 ? "s" : "");
    w_text(y, x, COLS - x, CRT_STATUS_ERR, text);
    x += (int)strlen(text);
  }
  xsnprintf(text, sizeof(text), "  %u, by %s (S)", n, site_sort_name(key));
  if (x < COLS)
    w_text(y, x, COLS - x, CRT_LABEL, text);
  y++;
  w_clear_row(y, 0, CRT_COLHEAD);
  x = mark_w;
  w_printf(y, x, site_w, key == SSORT_SITE ? CRT_SORTED : CRT_COLHEAD, "%-*s", site_w, "SITE");
  x += site_w;
  for (int c = 0; c < NCOLS; c++) {
    if (!on[c])
      continue;
    w_printf(y, x, cols[c].width, key == cols[c].key ? CRT_SORTED : CRT_COLHEAD, "%*s ", cols[c].width - 1,
             cols[c].head);
    x += cols[c].width;
  }
  y++;
  /* Sites that do not fit are counted on a last row of their own, never drawn over a row's figures. */
  uint32_t shown = (int)n <= rows - 2 ? n : (uint32_t)(rows - 3);
  for (int r = 0; (uint32_t)r < shown; r++) {
    const site_view *v = &m->v[order[r]];
    crt_elem row = v->s.overflow ? CRT_DIM : CRT_NORMAL;
    if (v->leak)
      w_text(y + r, 0, mark_w, CRT_STATUS_ERR, "LEAK?");
    x = mark_w;
    site_text(text, sizeof(text), v, site_w - 1);
    w_text(y + r, x, site_w - 1, row, text);
    x += site_w;
    for (int c = 0; c < NCOLS; c++) {
      if (!on[c])
        continue;
      const char *val = "-";
      switch (c) {
      case C_ALIVE:
        val = fmt_si(a, sizeof(a), (double)v->s.alive);
        break;
      case C_SPAWNS:
        val = num(a, sizeof(a), v->spawn_rate);
        break;
      case C_POLLS:
        val = num(a, sizeof(a), v->poll_rate);
        break;
      case C_BUSY:
        val = isfinite(v->busy_pct) ? fmt_si(a, sizeof(a), round(v->busy_pct)) : "-";
        break;
      default:
        val = isfinite(v->latency_ns) ? fmt_duration(a, sizeof(a), (uint64_t)v->latency_ns) : "-";
        break;
      }
      w_printf(y + r, x, cols[c].width, row, "%*s ", cols[c].width - 1, val);
      x += cols[c].width;
    }
  }
  if (shown < n)
    w_printf(y + (int)shown, 0, COLS, CRT_DIM, "  +%u more site%s", n - shown, n - shown > 1 ? "s" : "");
  free(order);
}
