/*
 * The one loop of the TUI (htop's ScreenManager_run), for every screen: tick
 * the stack, draw the top screen, wait for a key under halfdelay (ERR is the
 * idle tick), hand the key to the top screen and, while screens pass it on,
 * to the ones below. What is timed (snapshots, dumps, the status line) lives
 * in the screens' tick hooks: this file knows only screens.
 */
#include <curses.h>
#include <stdlib.h>

#include "crt.h"
#include "screen.h"
#include "util.h"

#define NS_PER_TENTH 100000000ull
#define MAX_TENTHS 255u       /* halfdelay's limit */
#define IDLE_NS 1000000000ull /* when no screen has timed work: redraw once a second */

typedef struct screen_stack {
  screen **s;
  size_t n, cap;
} screen_stack;

static void push(screen_stack *st, screen *s) {
  if (st->n == st->cap) {
    st->cap = st->cap ? 2 * st->cap : 4;
    st->s = xrealloc(st->s, st->cap * sizeof(*st->s));
  }
  st->s[st->n++] = s;
}

/* Pops down to depth screens. The bottom one is the caller's: popped, not freed. */
static void pop_to(screen_stack *st, size_t depth) {
  while (st->n > depth) {
    screen *s = st->s[--st->n];
    if (st->n > 0)
      screen_free(s);
  }
}

/* Ticks every screen, bottom first; returns the earliest time one wants its next tick. */
static uint64_t tick_all(screen_stack *st, int *round, int *busy) {
  uint64_t now = inspect_now_ns(), due = UINT64_MAX;
  *round = *busy = 0;
  for (size_t i = 0; i < st->n; i++) {
    screen *s = st->s[i];
    if (!s->cls->tick)
      continue;
    screen_tick t = s->cls->tick(s, now);
    *round |= t.round;
    *busy |= t.busy;
    if (t.due_ns < due)
      due = t.due_ns;
  }
  return due;
}

/* getch()'s timeout until due, in whole tenths rounded up (halfdelay counts tenths). */
static unsigned tenths_until(uint64_t due) {
  uint64_t now = inspect_now_ns();
  uint64_t wait = due == UINT64_MAX ? IDLE_NS : due > now ? due - now : 0;
  if (wait > (uint64_t)MAX_TENTHS * NS_PER_TENTH)
    return MAX_TENTHS;
  return (unsigned)((wait + NS_PER_TENTH - 1) / NS_PER_TENTH);
}

/* The key goes to the top screen, then down while screens pass it. Returns 1 to quit. */
static int dispatch(screen_stack *st, int ch) {
  for (size_t i = st->n; i-- > 0;) {
    screen *s = st->s[i];
    inspect_action a = s->cls->keys ? keys_lookup(s->cls->keys, ch) : ACT_NONE;
    screen_result r = s->cls->key(s, a, ch);
    switch (r.reaction) {
    case SCREEN_PASS:
      continue;
    case SCREEN_CLOSE:
      pop_to(st, i);
      return 0;
    case SCREEN_QUIT:
      return 1;
    case SCREEN_OPEN:
      if (r.open)
        push(st, r.open);
      return 0;
    case SCREEN_HANDLED:
    default:
      return 0;
    }
  }
  return 0;
}

void screen_manager_run(screen *first, long max_rounds) { screen_manager_run_open(first, NULL, max_rounds); }

void screen_manager_run_open(screen *first, screen *open, long max_rounds) {
  screen_stack st = {0};
  long rounds = 0;
  push(&st, first);
  if (open)
    push(&st, open);
  while (st.n && !crt_stop_signal()) {
    int round, busy;
    uint64_t due = tick_all(&st, &round, &busy);
    rounds += round;
    screen *top = st.s[st.n - 1];
    top->cls->draw(top);
    if (max_rounds && rounds >= max_rounds && !busy) {
      /* Show the last frame: no getch() comes to refresh it. */
      refresh();
      break;
    }
    crt_set_delay(tenths_until(due));
    int ch = getch();
    if (ch == ERR)
      continue;
    if (ch == KEY_RESIZE) {
      clearok(curscr, TRUE);
      continue;
    }
    if (dispatch(&st, ch))
      break;
  }
  pop_to(&st, 0);
  free(st.s);
}
