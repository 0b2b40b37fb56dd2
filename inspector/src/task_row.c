/* A task's row: columns by priority and their texts (see task_row.h). No curses. */
#include "task_row.h"

#include <string.h>

#include "dump_group.h"
#include "dump_text.h"
#include "format.h"
#include "util.h"

/* Widths with the separator. Fixed: */
#define W_MARK 2
#define W_STATE 11 /* "completing", "blk_queued" */
#define W_FOR 9    /* fmt_duration is at most 7 columns ("123.4ms") */
#define W_POLLS 8  /* 7 digits exact, then "12M" */
#define W_WORKER 4
#define W_AGE 9
/* Variable: the least worth drawing, what comes before the optional columns, and the most. */
#define NAME_MIN 11
#define NAME_WIDE 16
#define NAME_MAX 24 /* the runtime keeps 23 bytes of a name */
#define AWAIT_MIN 14
#define AWAIT_WIDE 26
#define AWAIT_LONG 48  /* a label and a short site */
#define AWAIT_WIDER 72 /* a label and a path of a few directories */
#define AWAIT_MAX 100  /* a label and a long path */
#define SPAWN_MIN 24
#define SPAWN_LONG 40 /* a site and its function */
#define SPAWN_MAX 64
#define MIN_SITE_COLS 16    /* a site squeezed below this is not worth drawing */
#define LABEL_ONLY_BELOW 40 /* a narrower await cell holds the label alone (the footer has the site) */

static int digits(uint64_t v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    n++;
  }
  return n;
}

static int min_width(task_col c, uint64_t max_id) {
  switch (c) {
  case TCOL_MARK:
    return W_MARK;
  case TCOL_ID:
    /* '#', the digits, a separator; at least as wide as its head. */
    return digits(max_id) + 2 > 4 ? digits(max_id) + 2 : 4;
  case TCOL_NAME:
    return NAME_MIN;
  case TCOL_STATE:
    return W_STATE;
  case TCOL_FOR:
    return W_FOR;
  case TCOL_POLLS:
    return W_POLLS;
  case TCOL_WORKER:
    return W_WORKER;
  case TCOL_AGE:
    return W_AGE;
  case TCOL_AWAIT:
    return AWAIT_MIN;
  case TCOL_SPAWN:
    return SPAWN_MIN;
  default:
    return 0;
  }
}

/* Widens column c (if shown) towards `to` with at most room columns; returns what it took. */
static int grow(task_layout *l, task_col c, int to, int room) {
  int add = to - l->width[c];
  if (!l->width[c] || add <= 0 || room <= 0)
    return 0;
  add = add < room ? add : room;
  l->width[c] += add;
  return add;
}

/* Adds the columns of list while each fits whole; returns how many did. */
static size_t add_while_fits(task_layout *l, const task_col *list, size_t n, int cols, int *used,
                             uint64_t max_id) {
  size_t i = 0;
  for (; i < n; i++) {
    int w = min_width(list[i], max_id);
    if (*used + w > cols)
      break;
    l->width[list[i]] = w;
    *used += w;
  }
  return i;
}

task_layout task_layout_for(int cols, uint64_t max_id, int name_cols) {
  static const task_col first[] = {TCOL_MARK,  TCOL_NAME,  TCOL_STATE, TCOL_FOR,
                                   TCOL_AWAIT, TCOL_POLLS, TCOL_ID};
  static const task_col optional[] = {TCOL_SPAWN, TCOL_WORKER, TCOL_AGE};
  const size_t nfirst = sizeof(first) / sizeof(first[0]);
  task_layout l = {{0}};
  int used = 0;
  /* A name column no wider than the longest name needs (and its separator). */
  int name_wide = name_cols + 1 < NAME_WIDE ? name_cols + 1 : NAME_WIDE;
  int name_max = name_cols + 1 < NAME_MAX ? name_cols + 1 : NAME_MAX;
  if (add_while_fits(&l, first, nfirst, cols, &used, max_id) == nfirst) {
    /* Room for the await point's label and a whole name first: they say what the task is. */
    used += grow(&l, TCOL_AWAIT, AWAIT_WIDE, cols - used);
    used += grow(&l, TCOL_NAME, name_wide, cols - used);
    add_while_fits(&l, optional, sizeof(optional) / sizeof(optional[0]), cols, &used, max_id);
  }
  used += grow(&l, TCOL_AWAIT, AWAIT_LONG, cols - used);
  used += grow(&l, TCOL_NAME, name_max, cols - used);
  used += grow(&l, TCOL_SPAWN, SPAWN_LONG, cols - used);
  used += grow(&l, TCOL_AWAIT, AWAIT_WIDER, cols - used);
  used += grow(&l, TCOL_SPAWN, SPAWN_MAX, cols - used);
  used += grow(&l, TCOL_AWAIT, AWAIT_MAX, cols - used);
  /* The rest to the await point (the longer text), so that the row ends at the edge. */
  if (l.width[TCOL_AWAIT] && used < cols)
    l.width[TCOL_AWAIT] += cols - used;
  return l;
}

void task_extent(const schedrt_dump_doc *d, uint64_t *max_id, int *name_cols) {
  *max_id = 0;
  *name_cols = 1; /* "-" */
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    int n = t->name ? (int)fmt_cols(t->name) : 1;
    *max_id = t->id > *max_id ? t->id : *max_id;
    *name_cols = n > *name_cols ? n : *name_cols;
  }
}

/* Copies at most cols characters (UTF-8: continuation bytes ride along) of src. */
static char *copy_cols(char *buf, size_t size, const char *src, int cols) {
  size_t n = 0;
  int c = 0;
  while (src[n] && n + 1 < size) {
    if (((unsigned char)src[n] & 0xC0) != 0x80 && c++ == cols)
      break;
    n++;
  }
  /* Never end inside a character the buffer cut. */
  while (n > 0 && n < strlen(src) && ((unsigned char)src[n] & 0xC0) == 0x80)
    n--;
  memcpy(buf, src, n);
  buf[n] = '\0';
  return buf;
}

char *task_cut_label(char *buf, size_t size, const char *label, int width, int utf8) {
  char head[512];
  if ((int)fmt_cols(label) <= width)
    return xsnprintf(buf, size, "%s", label);
  if (width < 1)
    return xsnprintf(buf, size, "%s", "");
  return xsnprintf(buf, size, "%s%s", copy_cols(head, sizeof(head), label, width - 1), utf8 ? "\u2026" : "~");
}

char *task_fit_await(char *buf, size_t size, int quoted, const char *label, const char *file, uint64_t line,
                     int width, int utf8) {
  char site[512], cut[512];
  label = label ? label : "";
  width -= quoted ? 14 : 1; /* await "" at, and the spaces */
  int room = width - (int)fmt_cols(label);
  fmt_site(site, sizeof(site), file, line, room < MIN_SITE_COLS ? MIN_SITE_COLS : room, utf8);
  int left = width - (int)fmt_cols(site);
  if (left < 2)
    return xsnprintf(buf, size, "%s%s", quoted ? "await at " : "", site);
  task_cut_label(cut, sizeof(cut), label, left, utf8);
  if (quoted)
    return xsnprintf(buf, size, "await \"%s\" at %s", cut, site);
  return xsnprintf(buf, size, "%s %s", cut, site);
}

/* Appends text in a cell of width columns (its last one the separator), cut with an ellipsis when
 * longer, right-aligned if asked; the row's texts are UTF-8, so columns are counted, not bytes. */
static void put_cell(char *row, size_t size, const char *text, int width, int right, int utf8) {
  char cut[768];
  size_t len = strlen(row);
  if (width <= 0 || len + 1 >= size)
    return;
  task_cut_label(cut, sizeof(cut), text, width - 1, utf8);
  int pad = width - 1 - (int)fmt_cols(cut);
  xsnprintf(row + len, size - len, "%*s%s%*s ", right ? pad : 0, "", cut, right ? 0 : pad, "");
}

/* A count in width - 1 columns: exact when it fits, else "12M". */
static char *count_cell(char *buf, size_t size, uint64_t v, int width) {
  if (digits(v) <= width - 1)
    return xsnprintf(buf, size, "%llu", (unsigned long long)v);
  return fmt_si(buf, size, (double)v);
}

/* The await point: "label file:line" whole if it fits, else narrow the label alone, else the site with
 * its line number and the label cut; "-" when none was recorded. */
static char *await_cell(char *buf, size_t size, const schedrt_dump_site *aw, int width, int utf8) {
  char site[512];
  if (!aw || (!aw->label && !aw->file))
    return xsnprintf(buf, size, "-");
  if (!aw->file)
    return xsnprintf(buf, size, "%s", aw->label);
  if (!aw->label)
    return fmt_site(buf, size, aw->file, aw->line, width, utf8);
  xsnprintf(buf, size, "%s %s", aw->label, fmt_site(site, sizeof(site), aw->file, aw->line, 0, utf8));
  if ((int)fmt_cols(buf) <= width)
    return buf;
  if (width < LABEL_ONLY_BELOW)
    return xsnprintf(buf, size, "%s", aw->label); /* put_cell cuts it */
  return task_fit_await(buf, size, 0, aw->label, aw->file, aw->line, width, utf8);
}

/* "file:line (func)", the function left out first, the site shortened with its line number kept. */
static char *spawn_cell(char *buf, size_t size, const schedrt_dump_site *sp, int width, int utf8) {
  char site[512];
  if (!sp || !sp->file)
    return xsnprintf(buf, size, "?");
  fmt_site(site, sizeof(site), sp->file, sp->line, width, utf8);
  if (sp->func && (int)(fmt_cols(site) + 3 + fmt_cols(sp->func)) <= width)
    return xsnprintf(buf, size, "%s (%s)", site, sp->func);
  return xsnprintf(buf, size, "%s", site);
}

char *task_row_head(char *buf, size_t size, const task_layout *l) {
  static const char *const heads[TCOL__COUNT] = {"!",     "ID", "NAME", "STATE", "FOR",
                                                 "POLLS", "W",  "AGE",  "AWAIT", "SPAWN"};
  static const int right[TCOL__COUNT] = {[TCOL_FOR] = 1, [TCOL_POLLS] = 1, [TCOL_WORKER] = 1, [TCOL_AGE] = 1};
  buf[0] = '\0';
  for (int c = 0; c < TCOL__COUNT; c++)
    put_cell(buf, size, heads[c], l->width[c], right[c], 0);
  return buf;
}

char *task_row_text(char *buf, size_t size, const task_layout *l, const schedrt_dump_doc *d,
                    const schedrt_dump_task *t, char mark, int utf8) {
  char cell[768];
  buf[0] = '\0';
  for (int c = 0; c < TCOL__COUNT; c++) {
    int w = l->width[c], right = 0;
    if (!w)
      continue;
    switch ((task_col)c) {
    case TCOL_MARK:
      xsnprintf(cell, sizeof(cell), "%c", mark ? mark : ' ');
      break;
    case TCOL_ID:
      xsnprintf(cell, sizeof(cell), "#%llu", (unsigned long long)t->id);
      break;
    case TCOL_NAME:
      xsnprintf(cell, sizeof(cell), "%s", t->name && t->name[0] ? t->name : "-");
      break;
    case TCOL_STATE:
      xsnprintf(cell, sizeof(cell), "%s", schedrt_dump_state_text(t->state));
      break;
    case TCOL_FOR:
      dump_opt_duration(cell, sizeof(cell), dump_task_for_ns_opt(d, t));
      right = 1;
      break;
    case TCOL_POLLS:
      count_cell(cell, sizeof(cell), t->polls, w);
      right = 1;
      break;
    case TCOL_WORKER:
      dump_opt_count(cell, sizeof(cell), t->worker);
      right = 1;
      break;
    case TCOL_AGE:
      fmt_duration(cell, sizeof(cell), t->age_ns);
      right = 1;
      break;
    case TCOL_AWAIT:
      await_cell(cell, sizeof(cell), schedrt_dump_await_site(d, t), w - 1, utf8);
      break;
    case TCOL_SPAWN:
      spawn_cell(cell, sizeof(cell), schedrt_dump_spawn_site(d, t), w - 1, utf8);
      break;
    default:
      cell[0] = '\0';
      break;
    }
    put_cell(buf, size, cell, w, right, utf8);
  }
  return buf;
}
