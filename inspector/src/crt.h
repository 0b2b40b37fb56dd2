/*
 * The terminal: ncurses set-up and tear-down, colours (or plain attributes
 * under NO_COLOR), and the signal handlers that make sure the terminal comes
 * back on every exit path (htop's CRT module).
 */
#ifndef INSPECT_CRT_H
#define INSPECT_CRT_H

/* What the screens draw; each element maps to a colour pair or to attributes. */
typedef enum crt_elem {
  CRT_NORMAL = 0,
  CRT_TITLE,       /* program line */
  CRT_LABEL,       /* header labels */
  CRT_VALUE,       /* header values */
  CRT_BANNER_WARN, /* HUNG, PAUSED */
  CRT_BANNER_BAD,  /* EXITED, errors */
  CRT_COLHEAD,     /* table column header */
  CRT_SORTED,      /* the sort column's header */
  CRT_RUNNING,
  CRT_SEARCHING,
  CRT_PARKED,
  CRT_STOPPED,
  CRT_STUCK, /* a stuck worker's row */
  CRT_BAR,
  CRT_SPARK,
  CRT_DIM,
  CRT_STATUS_OK,
  CRT_STATUS_ERR,
  CRT_STATUS_INFO,
  CRT_FKEY,      /* function bar: key */
  CRT_FLABEL,    /* function bar: label */
  CRT_SELECTED,  /* selected row in lists */
  CRT_ATTENTION, /* a task that needs attention: lost wake-up, deadlocked, stuck */
  CRT__COUNT
} crt_elem;

/* curses attributes of each element, valid after crt_init. */
extern int crt_attr[CRT__COUNT];
/* 1 when the locale is UTF-8 (block characters for bars and sparklines). */
extern int crt_utf8;

/* Enters curses mode. -1, and no_terminal on stderr, when stdin/stdout is not a terminal: each screen
 * says what it is and what to use instead. */
int crt_init(int no_color, unsigned delay_tenths, const char *no_terminal);
/* Leaves curses mode; idempotent and safe from atexit. */
void crt_done(void);
/* The getch() timeout in tenths of a second (halfdelay), only re-set when it changes. */
void crt_set_delay(unsigned tenths);
/* The SIGINT/SIGTERM/SIGHUP received (0 if none): the loop then returns normally. */
int crt_stop_signal(void);

#endif
