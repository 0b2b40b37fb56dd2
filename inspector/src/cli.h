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
  CMD_SERVE,
  CMD_RECORD,
  CMD_PLOT,
  CMD_EVENTS,
} inspect_cmd;

/* stat --format */
typedef enum stat_format {
  STAT_FORMAT_TEXT = 0,
  STAT_FORMAT_JSON,        /* --json */
  STAT_FORMAT_OPENMETRICS, /* one OpenMetrics exposition, then exit */
  STAT_FORMAT_PROMETHEUS,  /* the same in the Prometheus text format 0.0.4 */
} stat_format;

/* serve: loopback unless told otherwise; 9464 is the port OpenTelemetry's Prometheus exporters use. */
#define INSPECT_SERVE_DEFAULT_LISTEN "127.0.0.1:9464"
#define INSPECT_SERVE_DEFAULT_MAX_TARGETS 256u
#define INSPECT_SERVE_DEFAULT_MAX_BYTES (16u << 20)
#define INSPECT_SERVE_MAX_CONNECTIONS 64u /* beyond: libmicrohttpd refuses the connection */
#define INSPECT_SERVE_IDLE_TIMEOUT_S 30u  /* an idle keep-alive connection is closed after this */

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
  uint32_t tasks_ms;      /* --tasks-every: the live task list open at the start, this period; 0: closed */
  /* stat */
  double interval_s;  /* -i */
  long count;         /* -c; 0: until interrupted */
  long header_every;  /* -h N: the header again every N lines (jstat's -h); 0: once */
  stat_format format; /* --format (--json is STAT_FORMAT_JSON) */
  int repeat_given;   /* -i, -c or -h N given: not with an exposition, which is printed once */
  /* dump */
  const char *output; /* -o */
  const char *label;  /* --label */
  int force;          /* --force: an existing FILE is replaced (only once the dump is saved) */
  /* show, diff */
  const char *file;
  const char *file_b; /* diff: the second dump */
  int tui;            /* -t */
  int all;            /* show --all: every task of every group; stat --all: every runtime */
  /* serve */
  const char *listen;  /* --listen ADDR:PORT; NULL: INSPECT_SERVE_DEFAULT_LISTEN */
  size_t max_targets;  /* --max-targets */
  size_t max_bytes;    /* --max-bytes */
  size_t leak_check_s; /* --leak-check: seconds between leak checks of a runtime; 0: none */
  /* record (also -c/--count as -n COUNT, -o, --force) */
  uint64_t interval_ns; /* -i: between samples */
  uint64_t duration_ns; /* --duration; 0: until a signal, -n or the target's exit */
  int no_histograms;    /* --no-histograms: samples without the latency histograms */
  /* events */
  double last_s; /* --last: the seconds before the newest event; 0: the whole window */
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
int cmd_show_recording(const inspect_opts *o); /* show on a recording (cmd_show_rec.c) */
int cmd_diff(const inspect_opts *o);
int cmd_top(const inspect_opts *o);
int cmd_record(const inspect_opts *o);
int cmd_plot(const inspect_opts *o);
int cmd_events(const inspect_opts *o);
/* cmd_serve.c, or cmd_serve_off.c where libmicrohttpd was missing at configure time. */
int cmd_serve(const inspect_opts *o);

#endif
