/* The events screen: a live target's events, merged and scrolled (see screen_events.h). */
#include "screen_events.h"

#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_live.h"
#include "screen_help.h"
#include "util.h"
#include "widgets.h"

typedef struct events_screen {
  screen base;
  schedrt_reader *reader;
  long pid;
  char runtime[40];
  uint64_t period_ns, next_ns;
  int err; /* the last read's: 0, -ENOENT (events off), or why it failed */
  ev_live ev;
  /* Every event of every ring, in time order (ring and seq break ties): the rows. */
  schedrt_event *rows;
  size_t nrows;
  uint64_t written, lost; /* over the rings */
  /* Rows scrolled up from the newest (0: the newest row is the last one shown, and stays so). */
  size_t back, page;
} events_screen;

static int by_time(const void *a, const void *b) {
  const schedrt_event *x = a, *y = b;
  if (x->time_ns != y->time_ns)
    return x->time_ns < y->time_ns ? -1 : 1;
  if (x->ring != y->ring)
    return x->ring < y->ring ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads the rings again; the rows scrolled back stay on the same events while new ones come in. */
static void reread(events_screen *s) {
  size_t before = s->nrows;
  ev_live_free(&s->ev);
  free(s->rows);
  s->rows = NULL;
  s->nrows = 0;
  s->written = s->lost = 0;
  s->err = ev_live_read(s->reader, &s->ev);
  if (s->err == -ENOMEM)
    inspect_fatal("out of memory");
  if (s->err)
    return;
  size_t n = 0;
  for (uint32_t r = 0; r < s->ev.nrings; r++) {
    n += s->ev.win[r].n;
    s->written += s->ev.win[r].written;
    s->lost += s->ev.win[r].lost;
  }
  s->rows = xmalloc((n ? n : 1) * sizeof(*s->rows));
  for (uint32_t r = 0; r < s->ev.nrings; r++)
    for (uint32_t k = 0; k < s->ev.win[r].n; k++)
      s->rows[s->nrows++] = s->ev.ev[r][k];
  qsort(s->rows, s->nrows, sizeof(*s->rows), by_time);
  if (s->back && s->nrows > before)
    s->back += s->nrows - before;
}

static void draw(screen *self) {
  events_screen *s = (events_screen *)self;
  char line[1024], ring[16];
  erase();
  w_clear_row(0, 0, CRT_TITLE);
  w_printf(0, 0, COLS, CRT_TITLE, " events of pid %ld \"%s\"%s", s->pid, s->runtime,
           s->err    ? ""
           : s->back ? "  (scrolled: End follows the newest)"
                     : "  (newest at the bottom)");
  w_function_bar(LINES - 1, self->cls->keys);
  if (s->err == -ENOENT) {
    w_text(2, 1, COLS - 1, CRT_STATUS_ERR, "events are off: start the program with SCHEDRT_EVENTS=1");
    w_text(3, 1, COLS - 1, CRT_DIM,
           "(or SCHEDRT_CFG_EVENTS in its schedrt_config.flags; layout 2.6 or later)");
    return;
  }
  if (s->err) {
    w_printf(2, 1, COLS - 1, CRT_STATUS_ERR, "cannot read the events: %s", schedrt_strerror(s->err));
    return;
  }
  w_printf(1, 0, COLS, CRT_NORMAL, " %u rings of %u: %zu events kept, %llu written, %llu overwritten",
           s->ev.nrings, s->ev.cap, s->nrows, (unsigned long long)s->written, (unsigned long long)s->lost);
  w_clear_row(2, 0, CRT_COLHEAD);
  w_text(2, 0, COLS, CRT_COLHEAD, "RING      SECONDS #SEQ      KIND           ARGUMENTS");
  int top = 3, rows = LINES - 1 - top;
  if (rows < 1)
    rows = 1;
  s->page = (size_t)rows;
  if (s->back > (s->nrows > (size_t)rows ? s->nrows - (size_t)rows : 0))
    s->back = s->nrows > (size_t)rows ? s->nrows - (size_t)rows : 0;
  size_t end = s->nrows - s->back, first = end > (size_t)rows ? end - (size_t)rows : 0;
  if (!s->nrows)
    w_text(top, 1, COLS - 1, CRT_DIM, "no events yet");
  for (size_t i = first; i < end; i++) {
    const schedrt_event *e = &s->rows[i];
    bool other = e->ring + 1u == s->ev.nrings;
    xsnprintf(ring, sizeof(ring), other ? "other" : "w%u", e->ring);
    /* The line of `sched-inspect events` after the ring: its two leading spaces give way to it. */
    w_printf(top + (int)(i - first), 0, COLS, CRT_NORMAL, "%-5s%s", ring,
             ev_line(line, sizeof(line), e, s->ev.newest, &s->ev.names) + 2);
  }
}

static screen_result key(screen *self, inspect_action a, int ch) {
  events_screen *s = (events_screen *)self;
  (void)ch;
  size_t page = s->page ? s->page : 10, max = s->nrows > page ? s->nrows - page : 0;
  switch (a) {
  case ACT_UP:
    s->back = s->back < max ? s->back + 1 : max;
    return screen_react(SCREEN_HANDLED);
  case ACT_DOWN:
    s->back = s->back ? s->back - 1 : 0;
    return screen_react(SCREEN_HANDLED);
  case ACT_PGUP:
    s->back = s->back + page < max ? s->back + page : max;
    return screen_react(SCREEN_HANDLED);
  case ACT_PGDN:
    s->back = s->back > page ? s->back - page : 0;
    return screen_react(SCREEN_HANDLED);
  case ACT_HOME:
    s->back = max;
    return screen_react(SCREEN_HANDLED);
  case ACT_END:
    s->back = 0;
    return screen_react(SCREEN_HANDLED);
  case ACT_BACK:
    return screen_react(SCREEN_CLOSE);
  case ACT_QUIT:
    return screen_react(SCREEN_QUIT);
  case ACT_HELP:
    return screen_open(screen_help_new(self->cls, NULL, 0));
  case ACT_REDRAW:
    clearok(curscr, TRUE);
    return screen_react(SCREEN_HANDLED);
  default:
    /* The live view's keys stay below: d or s here would act on a view the user does not see. */
    return screen_react(SCREEN_HANDLED);
  }
}

/* A read at each refresh period of the live view (the rings are copied whole: cheap next to a dump). */
static screen_tick tick(screen *self, uint64_t now) {
  events_screen *s = (events_screen *)self;
  if (now >= s->next_ns) {
    reread(s);
    s->next_ns = now + s->period_ns;
  }
  return (screen_tick){.due_ns = s->next_ns};
}

static void events_free(screen *self) {
  events_screen *s = (events_screen *)self;
  ev_live_free(&s->ev);
  free(s->rows);
  free(s);
}

static const screen_class events_class = {
    .name = "events screen",
    .keys = keys_events,
    .draw = draw,
    .key = key,
    .tick = tick,
    .free = events_free,
};

screen *screen_events_new(schedrt_reader *reader, long pid, const char *runtime, uint64_t period_ns) {
  events_screen *s = xcalloc(1, sizeof(*s));
  s->base.cls = &events_class;
  s->reader = reader;
  s->pid = pid;
  s->period_ns = period_ns ? period_ns : 1000000000u;
  xsnprintf(s->runtime, sizeof(s->runtime), "%s", runtime);
  reread(s);
  s->next_ns = inspect_now_ns() + s->period_ns;
  return &s->base;
}
