/*
 * A screen of the TUI as an object (htop's PanelClass and InfoScreen): it
 * draws the whole terminal, answers keys, may do timed work, and frees
 * itself. One loop (screen_manager.c) runs a stack of them for the live view
 * and for `show -t` alike: the top screen is drawn and gets the keys.
 *
 * The point: adding a screen (a waits-for view, a recording player, a
 * spawn-site table) is a new file with draw/key and a key table, plus one
 * screen_open() where it is reached; never a new branch in a loop.
 */
#ifndef INSPECT_SCREEN_H
#define INSPECT_SCREEN_H

#include <stdint.h>

#include "keys.h"

typedef struct screen screen;

/* What a key did, for the loop (htop's HandlerResult). */
typedef enum screen_reaction {
  SCREEN_HANDLED = 0, /* done; the loop redraws */
  SCREEN_PASS,        /* not this screen's key: the loop offers it to the screen below */
  SCREEN_CLOSE,       /* pop this screen (and any above it); the bottom one ends the loop */
  SCREEN_QUIT,        /* leave the program */
  SCREEN_OPEN,        /* push the screen in `open` on top of the stack */
} screen_reaction;

typedef struct screen_result {
  screen_reaction reaction;
  screen *open; /* SCREEN_OPEN: the new screen, owned by the loop from now on; NULL does nothing */
} screen_result;

/* What a screen's timed work tells the loop. */
typedef struct screen_tick {
  uint64_t due_ns; /* CLOCK_MONOTONIC time it wants its next tick by; UINT64_MAX: no wish */
  int round;       /* a refresh period ended: counts towards -n (max iterations) */
  int busy;        /* work in flight (a dump) that the -n bound waits for */
} screen_tick;

typedef struct screen_class {
  const char *name;        /* "live view": the help says "keys of the live view" */
  const key_binding *keys; /* the loop looks keys up here; help and function bar print it */
  /* The whole terminal, from erase() on; getch() refreshes. */
  void (*draw)(screen *self);
  /* a is ch looked up in keys (ACT_NONE when unbound); ch is the raw key. */
  screen_result (*key)(screen *self, inspect_action a, int ch);
  /* Optional. Called on every pass of the loop for every screen of the stack,
   * bottom first, not only for the top one: the live view keeps sampling
   * under its worker panel, its help and the dump viewer. */
  screen_tick (*tick)(screen *self, uint64_t now_ns);
  void (*free)(screen *self);
} screen_class;

/* Each screen's struct starts with this member, so that its functions can cast
 * the screen * they are given back to their own type. */
struct screen {
  const screen_class *cls;
};

static inline screen_result screen_react(screen_reaction r) { return (screen_result){r, NULL}; }
static inline screen_result screen_open(screen *next) { return (screen_result){SCREEN_OPEN, next}; }
static inline void screen_free(screen *s) {
  if (s)
    s->cls->free(s);
}

/*
 * Runs the loop with first at the bottom of the stack until a screen quits,
 * the bottom one closes, a stop signal comes (crt_stop_signal) or, when
 * max_rounds is not 0, that many refresh rounds have been ticked with no work
 * in flight. curses must be on (crt_init). The loop frees every screen it was
 * handed through SCREEN_OPEN; first stays the caller's.
 */
void screen_manager_run(screen *first, long max_rounds);
/* The same with open (when not NULL) pushed over first from the start, as if first had opened it: the
 * loop owns it. */
void screen_manager_run_open(screen *first, screen *open, long max_rounds);

#endif
