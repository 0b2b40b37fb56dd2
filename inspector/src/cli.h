/*
 * The command line: options of every subcommand, their parsing and help
 * texts, and inspect_run(), which main() calls (as htop's main calls
 * CommandLine_run).
 */
#ifndef INSPECT_CLI_H
#define INSPECT_CLI_H

#include <stdint.h>
#include <sys/types.h>

typedef enum inspect_cmd {
  CMD_NONE = 0,
  CMD_LIST,
  CMD_TOP,
  CMD_STAT,
  CMD_DUMP,
  CMD_SHOW,
  CMD_DIFF,
} inspect_cmd;

typedef struct inspect_opts {
  inspect_cmd cmd;
  const char *shm_dir; /* --shm-dir; NULL: /dev/shm */
  pid_t pid;
  int json; /* --json */
  /* top */
  unsigned delay_tenths;  /* -d: refresh period in tenths of a second */
  long max_iterations;    /* -n: stop after that many refreshes (tests); 0: never */
  uint64_t stuck_ns;      /* --stuck-ms */
  int no_color;           /* --no-color or NO_COLOR */
  const char *output_dir; /* where `d` saves dumps; NULL: the current directory */
  uint32_t timeout_ms;    /* dump: --timeout (also used by `d` in the TUI) */
  /* stat */
  double interval_s; /* -i */
  long count;        /* -c; 0: until interrupted */
  long header_every; /* -h N: the header again every N lines (jstat's -h); 0: once */
  /* dump */
  const char *output; /* -o */
  const char *label;  /* --label */
  int force;          /* --force: an existing FILE is replaced (only once the dump is saved) */
  /* show, diff */
  const char *file;
  const char *file_b; /* diff: the second dump */
  int tui;            /* -t */
  int all;            /* show --all: every task of every group */
} inspect_opts;

/* Parses argv into o. Returns -1 to go on, or an exit status (help, version, usage error). */
int cli_parse(int argc, char **argv, inspect_opts *o);

/* The whole program. */
int inspect_run(int argc, char **argv);

/* Subcommands (cmd_*.c); each returns an exit status. */
int cmd_list(const inspect_opts *o);
int cmd_stat(const inspect_opts *o);
int cmd_dump(const inspect_opts *o);
int cmd_show(const inspect_opts *o);
int cmd_diff(const inspect_opts *o);
int cmd_top(const inspect_opts *o);

#endif
