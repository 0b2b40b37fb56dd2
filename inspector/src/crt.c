/* Terminal set-up, colours and exit paths (see crt.h). */
#include "crt.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int crt_attr[CRT__COUNT];
int crt_utf8;

static volatile sig_atomic_t active;      /* curses mode is on */
static volatile sig_atomic_t stop_signal; /* first SIGINT/SIGTERM/SIGHUP */
static unsigned cur_delay;

/* Colour pairs by element: foreground, background (-1: the terminal's default). */
static const short palette[CRT__COUNT][2] = {
    [CRT_NORMAL] = {-1, -1},
    [CRT_TITLE] = {COLOR_BLACK, COLOR_CYAN},
    [CRT_LABEL] = {COLOR_CYAN, -1},
    [CRT_VALUE] = {-1, -1},
    [CRT_BANNER_WARN] = {COLOR_BLACK, COLOR_YELLOW},
    [CRT_BANNER_BAD] = {COLOR_WHITE, COLOR_RED},
    [CRT_COLHEAD] = {COLOR_BLACK, COLOR_GREEN},
    [CRT_SORTED] = {COLOR_BLACK, COLOR_CYAN},
    [CRT_RUNNING] = {COLOR_GREEN, -1},
    [CRT_SEARCHING] = {COLOR_YELLOW, -1},
    [CRT_PARKED] = {COLOR_BLUE, -1},
    [CRT_STOPPED] = {COLOR_RED, -1},
    [CRT_STUCK] = {COLOR_WHITE, COLOR_RED},
    [CRT_BAR] = {COLOR_GREEN, -1},
    [CRT_SPARK] = {COLOR_CYAN, -1},
    [CRT_DIM] = {COLOR_BLUE, -1},
    [CRT_STATUS_OK] = {COLOR_GREEN, -1},
    [CRT_STATUS_ERR] = {COLOR_RED, -1},
    [CRT_STATUS_INFO] = {COLOR_YELLOW, -1},
    [CRT_FKEY] = {-1, -1},
    [CRT_FLABEL] = {COLOR_BLACK, COLOR_CYAN},
    [CRT_SELECTED] = {COLOR_BLACK, COLOR_CYAN},
    [CRT_ATTENTION] = {COLOR_RED, -1},
};

/* Without colour every element still has to be told apart: attributes only. */
static const int mono[CRT__COUNT] = {
    [CRT_TITLE] = A_REVERSE,
    [CRT_LABEL] = A_NORMAL,
    [CRT_VALUE] = A_BOLD,
    [CRT_BANNER_WARN] = A_REVERSE | A_BOLD,
    [CRT_BANNER_BAD] = A_REVERSE | A_BOLD,
    [CRT_COLHEAD] = A_REVERSE,
    [CRT_SORTED] = A_REVERSE | A_BOLD | A_UNDERLINE,
    [CRT_RUNNING] = A_BOLD,
    [CRT_STOPPED] = A_UNDERLINE,
    [CRT_STUCK] = A_REVERSE | A_BOLD,
    [CRT_DIM] = A_DIM,
    [CRT_STATUS_ERR] = A_BOLD,
    [CRT_FKEY] = A_BOLD,
    [CRT_FLABEL] = A_REVERSE,
    [CRT_SELECTED] = A_REVERSE,
    [CRT_ATTENTION] = A_BOLD | A_UNDERLINE,
};

void crt_done(void) {
  if (!active)
    return;
  active = 0;
  curs_set(1);
  endwin();
  fflush(stdout);
}

/*
 * SIGINT/SIGTERM/SIGHUP: note it and let the main loop unwind (getch returns
 * within one delay). A second one means the loop is stuck: restore and leave now.
 */
static void on_stop(int sig) {
  if (stop_signal) {
    if (active)
      endwin();
    _exit(128 + sig);
  }
  stop_signal = sig;
}

/* Crashes: give the terminal back first (as htop's CRT_handleSIGSEGV), then die as the signal wants. */
static void on_crash(int sig) {
  if (active) {
    active = 0;
    endwin();
  }
  static const char msg[] = INSPECT_PROG ": fatal signal; terminal restored\n";
  ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)n;
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGABRT, &sa, NULL);
}

int crt_init(int no_color, unsigned delay_tenths, const char *no_terminal) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, INSPECT_PROG ": %s\n", no_terminal);
    return -1;
  }
  setlocale(LC_ALL, "");
  crt_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  /* Escape alone means "back" in the dump viewer: do not wait a second for a sequence. */
  if (!getenv("ESCDELAY"))
    set_escdelay(25);
  if (!initscr()) {
    fprintf(stderr, INSPECT_PROG ": cannot initialise the terminal (TERM=%s)\n",
            getenv("TERM") ? getenv("TERM") : "");
    return -1;
  }
  active = 1;
  install_handlers();
  atexit(crt_done);
  inspect_set_fatal_hook(crt_done);
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  curs_set(0);
  cur_delay = 0;
  crt_set_delay(delay_tenths);

  int color = !no_color && has_colors();
  if (color) {
    start_color();
    use_default_colors();
  }
  for (int e = 0; e < CRT__COUNT; e++) {
    if (color && e != CRT_NORMAL) {
      init_pair((short)e, palette[e][0], palette[e][1]);
      crt_attr[e] = (int)COLOR_PAIR(e);
      if (e == CRT_TITLE || e == CRT_BANNER_BAD || e == CRT_BANNER_WARN || e == CRT_STUCK || e == CRT_FKEY ||
          e == CRT_VALUE)
        crt_attr[e] |= (int)A_BOLD;
    } else {
      crt_attr[e] = color ? (int)A_NORMAL : mono[e];
    }
  }
  return 0;
}

void crt_set_delay(unsigned tenths) {
  if (tenths < 1)
    tenths = 1;
  if (tenths > 255)
    tenths = 255;
  if (tenths != cur_delay) {
    halfdelay((int)tenths);
    cur_delay = tenths;
  }
}

int crt_stop_signal(void) { return stop_signal; }
