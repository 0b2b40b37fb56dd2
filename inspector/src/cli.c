/* Command-line parsing, help texts and dispatch (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "keys.h"
#include "replay.h"
#include "schedrt.h"
#include "schedrt/proto/control.h"
#include "schedrt/proto/shm_layout.h"
#include "task_feed.h"
#include "util.h"

#define DEFAULT_DELAY_TENTHS 10u
#define HELP_WIDTH 80 /* every --help line fits a standard terminal */
/* 0: the runtime's own default (250 ms unless it was configured otherwise). */
#define DEFAULT_DUMP_TIMEOUT_MS 0u

/* Every line at most 80 columns (test_inspect_cli checks each --help). */
static const char usage_main[] =
    "Usage: " INSPECT_PROG " COMMAND [OPTIONS]\n"
    "\n"
    "Watch schedrt runtimes live and take task dumps.\n"
    "\n"
    "Commands:\n"
    "  list [--json]             schedrt processes of this user: LIVE, HUNG or STALE\n"
    "  PID | top PID [OPTIONS]   the live view (an htop for the runtime's workers)\n"
    "  stat PID [-i S] [-c N] [-h N] [--json]\n"
    "                            one line of figures per interval, for scripts\n"
    "  stat PID|--all --format openmetrics\n"
    "                            the metrics for Prometheus, once (node_exporter's\n"
    "                            textfile collector)\n"
    "  serve [--listen ADDR:PORT]\n"
    "                            every runtime's metrics on http://ADDR:PORT/metrics\n"
    "  dump PID [-o FILE] [--force] [--timeout MS] [--label TEXT]\n"
    "                            take a task dump and save it\n"
    "  show FILE|- [--json | -t | --all]\n"
    "                            open a saved dump: report, JSON, or the viewer;\n"
    "                            a recording: summary per worker, or its replay\n"
    "  diff A B [--json]         what changed between two dumps of one runtime\n"
    "  record PID [-i 100ms] [-o FILE] [--duration 10m | -n COUNT]\n"
    "                            record the metrics over time into one file\n"
    "  plot FILE -o OUT.svg      a recording's queue depths and busy %, per worker\n"
    "  events PID [--last S] [--json]\n"
    "                            the last events of each worker (SCHEDRT_EVENTS=1),\n"
    "                            also from a stopped or hung process\n"
    "\n"
    "Options:\n"
    "  -h, --help       help (also after a command: `" INSPECT_PROG " stat --help`)\n"
    "  -V, --version    version\n"
    "\n"
    "Exit status: 0 ok, 1 failure, 2 bad usage, 3 partial dump, 4 no such target,\n"
    "5 the target exited, 6 the runtime did not answer in time. See sched-inspect(1).\n";

static const char usage_list[] = "Usage: " INSPECT_PROG " list [--json] [--shm-dir DIR]\n"
                                 "\n"
                                 "Lists the schedrt metrics segments this user may read, one per runtime:\n"
                                 "PID, state, workers, uptime, runtime name, command and segment name.\n"
                                 "States: LIVE; HUNG (alive, heartbeat stopped); STALE (process gone);\n"
                                 "EXITING (shutting down); ERROR (the segment failed validation: the reason\n"
                                 "is shown).\n"
                                 "\n"
                                 "  --json          a JSON array instead of the table\n"
                                 "  --shm-dir DIR   look in DIR instead of /dev/shm\n"
                                 "                  (/proc/PID/root/dev/shm for a runtime in a container)\n"
                                 "  -h, --help      this help\n";

static const char usage_top[] =
    "Usage: " INSPECT_PROG " PID [OPTIONS]\n"
    "       " INSPECT_PROG " top PID [OPTIONS]\n"
    "\n"
    "The live view: a header with the runtime's figures and one row per worker\n"
    "(state, queue depth and history, polls/s, steals/s, parks/s, busy %, the task\n"
    "it is polling and for how long). Workers stuck on one task longer than\n"
    "--stuck-ms are highlighted: a poll a refresh finds running (named by the\n"
    "runtime after its 100 ms monitor period, at once with SCHEDRT_TIMING=1), or\n"
    "one the runtime counted since the last refresh. It counts every poll of\n"
    "1.4 x its threshold (SCHEDRT_LONG_POLL_MS, default 10 ms: 14 ms) or more,\n"
    "some from 1 x, none under: shorter polls are flagged only with timing and a\n"
    "refresh inside them. Several long polls between two refreshes: the last one's\n"
    "length decides.\n"
    "\n"
    "  -d, --delay TENTHS      refresh period in tenths of a second (1-100,\n"
    "                          default 10)\n"
    "      --stuck-ms MS       stuck threshold in ms (default 10, as Go's sysmon)\n"
    "      --timeout MS        deadline for dumps taken with `d` (default: the\n"
    "                          runtime's, 250 ms)\n"
    "  -o, --output-dir DIR    where `d` saves dumps (default: the current directory)\n"
    "      --tasks-every SECONDS\n"
    "                          start with the live task list (T) open, refreshed\n"
    "                          from a task dump every SECONDS (0.5 to 3600; T\n"
    "                          alone: 2), kept in memory: no file is written\n"
    "      --no-color          no colours (also when NO_COLOR is set)\n"
    "  -n, --max-iterations N  quit after N refreshes (for tests)\n"
    "      --shm-dir DIR       look for segments in DIR instead of /dev/shm\n"
    "  -h, --help              this help\n"
    "\n"
    "Keys:\n";

static const char usage_stat[] =
    "Usage: " INSPECT_PROG " stat PID [-i SECONDS] [-c COUNT] [-h LINES] [--json]\n"
    "       " INSPECT_PROG " stat PID|--all --format openmetrics|prometheus\n"
    "\n"
    "Prints one line per interval, like vmstat or jstat: time, state, workers,\n"
    "alive tasks, injection depth, spawn/s, polls/s, steals/s, parks/s, busy %,\n"
    "stuck workers, the blocking pool, then per-worker depths, polls/s and\n"
    "steals/s (comma-separated, worker 0 first). Rates are integers per second\n"
    "over the interval; a figure that is not known (a process already gone) is -.\n"
    "\n"
    "  -i, --interval SECONDS  seconds between lines (default 1; at least 0.01)\n"
    "  -c, --count N           stop after N lines (default: until interrupted)\n"
    "  -h, --header LINES      print the header again every LINES lines, as jstat\n"
    "                          (-h alone is this help)\n"
    "      --json              one JSON object per line (every metric, raw and\n"
    "                          per second)\n"
    "      --format FMT        text (default), json (as --json), openmetrics (one\n"
    "                          OpenMetrics exposition of every metric, then exit;\n"
    "                          no -i, -c or -h) or prometheus (the same in the\n"
    "                          Prometheus text format 0.0.4)\n"
    "      --all               with openmetrics or prometheus: every runtime this\n"
    "                          user may read (root: every user's) instead of PID\n"
    "      --leak-check SECS   with openmetrics or prometheus: also take a task\n"
    "                          dump of each runtime and add the gauge\n"
    "                          schedrt_site_proven_leaked (as serve's; one check,\n"
    "                          SECS as there, 1 to 86400)\n"
    "      --stuck-ms MS       stuck threshold for the `stuck` figure (default 10;\n"
    "                          what it catches: see " INSPECT_PROG " top --help)\n"
    "      --shm-dir DIR       look for segments in DIR instead of /dev/shm\n"
    "  -h, --help              this help\n"
    "\n"
    "Ends with status 5 when the target exits, 0 after COUNT lines or on SIGINT\n"
    "or SIGTERM.\n";

static const char usage_serve[] =
    "Usage: " INSPECT_PROG " serve [--listen ADDR:PORT] [OPTIONS]\n"
    "\n"
    "Serves the metrics of every schedrt runtime this user may read (root: every\n"
    "user's) on http://ADDR:PORT/metrics in the OpenMetrics text format, for\n"
    "Prometheus. Each scrape looks again: runtimes that started since are in it,\n"
    "those that exited are left out. Other paths answer 404.\n"
    "\n"
    "  --listen ADDR:PORT  where to listen (default " INSPECT_SERVE_DEFAULT_LISTEN ", loopback\n"
    "                      only; [::1]:PORT for IPv6, 0.0.0.0:PORT for every\n"
    "                      interface, port 0 for a free one); the address is\n"
    "                      printed on standard output once it listens\n"
    "  --max-targets N     at most N runtimes per scrape, the lowest pids first\n"
    "                      (default 256)\n"
    "  --max-bytes N       at most N bytes of samples per scrape (default 16 MiB);\n"
    "                      a runtime that does not fit is left out whole\n"
    "  --leak-check SECS   a scrape also takes a task dump of each runtime (at\n"
    "                      most once in SECS, 1 to 86400, per runtime) and adds\n"
    "                      schedrt_site_proven_leaked: the tasks it proves leaked\n"
    "                      per spawn site (a dump holds the workers for its copy)\n"
    "  --shm-dir DIR       look for segments in DIR instead of /dev/shm\n"
    "  -h, --help          this help\n"
    "\n"
    "Runtimes left out are counted in sched_inspect_targets_skipped{reason=...}.\n"
    "Content type: application/openmetrics-text; version=1.0.0, or text/plain;\n"
    "version=0.0.4 when the Accept header names text/plain and not OpenMetrics.\n"
    "Runs until SIGINT or SIGTERM (status 0); 1 if it cannot listen.\n";

static const char usage_dump[] =
    "Usage: " INSPECT_PROG " dump PID [-o FILE] [--force] [--timeout MS] [--label TEXT]\n"
    "\n"
    "Asks the runtime for a task dump through its segment's control area, waits\n"
    "for the answer, copies the dump the runtime wrote to FILE, removes the\n"
    "runtime's copy, and prints the status and where the dump went. FILE is\n"
    "created before the request: a destination that cannot be written is refused\n"
    "before the runtime pauses anything.\n"
    "\n"
    "  -o, --output FILE   where to save it (default:\n"
    "                      sched-dump-PID-YYYYmmdd-HHMMSS.cbor); `-` writes to\n"
    "                      standard output\n"
    "      --force         replace FILE if it exists (once the dump is saved);\n"
    "                      without it an existing FILE is refused\n"
    "      --timeout MS    deadline for the workers to reach the barrier (default:\n"
    "                      the runtime's, 250 ms)\n"
    "      --label TEXT    recorded in the dump (printable ASCII, up to 63 bytes)\n"
    "      --shm-dir DIR   look for segments in DIR instead of /dev/shm\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: 0 OK, 3 PARTIAL (saved; some workers missed the deadline),\n"
    "1 refused or failed (BUSY, DISABLED, REJECTED, SHUTDOWN, FAILED, or FILE\n"
    "cannot be created), 4 no such target, 5 the target exited, 6 no answer in\n"
    "time.\n";

static const char usage_show[] =
    "Usage: " INSPECT_PROG " show FILE [--json | -t | --all]\n"
    "\n"
    "A recording (from `" INSPECT_PROG " record`): a summary per worker (local queue\n"
    "depth p50/max, busy %, polls, steals, parks, stuck episodes with their\n"
    "tasks), --json the same for scripts, -t replays it in the live view (p\n"
    "pauses, + and - change the speed, Left and Right seek; -d, -n, --stuck-ms\n"
    "and --no-color as for the live view).\n"
    "\n"
    "Opens a saved task dump (FILE `-`: read it from standard input). By default\n"
    "prints a report: what needs attention first (stuck workers, lost wake-ups,\n"
    "deadlocks, wait chains, the longest-idle await points), each worker and\n"
    "spawn site at a glance, then the details and the tasks grouped by await\n"
    "point and state (running first, then longest idle; 10 per group).\n"
    "\n"
    "      --all    every task of every group in the report\n"
    "      --json   a faithful JSON conversion of the whole dump, each task's\n"
    "               await point and spawn site resolved, plus \"analysis\" (the\n"
    "               same findings, for scripts)\n"
    "  -t, --tui    the interactive dump viewer (needs a terminal and a FILE)\n"
    "  -h, --help   this help\n"
    "\n"
    "Viewer keys:\n";

static const char usage_diff[] =
    "Usage: " INSPECT_PROG " diff A B [--json]\n"
    "\n"
    "Compares two dumps of one runtime, A taken before B: the headlines first\n"
    "(tasks stalled, new lost wake-ups, deadlocks, tasks that appeared and\n"
    "finished, the busiest spawn sites), then the lists and the tables per spawn\n"
    "site and per worker. Tasks are matched by id. One of A and B may be `-`,\n"
    "standard input.\n"
    "\n"
    "Stalled: idle in both dumps, not polled in between, and its idle time grew by\n"
    "the time between the dumps (within 5 % of it, or 5 ms).\n"
    "Polls per second of a spawn site: B's polls of its tasks plus A's for those\n"
    "that finished (their last known count), minus A's, over the interval.\n"
    "\n"
    "      --json   the same as JSON, every task listed\n"
    "  -h, --help   this help\n"
    "\n"
    "Two dumps of different processes (or runtimes) are an error (status 1). If B\n"
    "was taken before A, a warning says so and they are compared in time order.\n";

static const char usage_record[] =
    "Usage: " INSPECT_PROG " record PID [-i INTERVAL] [-o FILE] [--force]\n"
    "                            [--duration TIME | -n COUNT] [--no-histograms]\n"
    "\n"
    "Takes a snapshot of the runtime's metrics every INTERVAL and appends it to\n"
    "FILE, a CBOR sequence (docs/recording-format.md): every worker's metrics,\n"
    "the global ones, the task of a worker stuck in a poll, and the latency\n"
    "histograms when the target runs with SCHEDRT_TIMING=1. Each sample is\n"
    "written at once, so a recorder killed at any point leaves every whole\n"
    "sample readable. `" INSPECT_PROG " show FILE` summarises it, `plot` draws it,\n"
    "`show FILE -t` replays it.\n"
    "\n"
    "  -i, --interval TIME  between samples: 100ms (default), 1s, 0.5 (seconds);\n"
    "                       from 10ms to 1h\n"
    "  -o, --output FILE    where to write (default:\n"
    "                       sched-rec-PID-YYYYmmdd-HHMMSS.cbor, mode 0600); `-`:\n"
    "                       standard output (not a terminal)\n"
    "      --force          replace FILE if it exists (else it is refused)\n"
    "      --duration TIME  stop after TIME (10s, 5m, 2h)\n"
    "  -n, --count COUNT    stop after COUNT samples\n"
    "      --no-histograms  leave the latency histograms out (they are more than\n"
    "                       half of a sample's bytes)\n"
    "      --shm-dir DIR    look for segments in DIR instead of /dev/shm\n"
    "  -h, --help           this help\n"
    "\n"
    "Ends cleanly (a trailer says why, status 0) after --duration or -n, on\n"
    "SIGINT or SIGTERM, and when the target exits (its last figures are the\n"
    "last sample). Status 1 when FILE cannot be written, 4 no such target.\n";

static const char usage_plot[] =
    "Usage: " INSPECT_PROG " plot FILE -o OUT.svg\n"
    "\n"
    "Draws a recording as an SVG image: one panel per worker with its local\n"
    "queue depth, its busy % and the runtime's injection queue depth over time.\n"
    "Written by sched-inspect itself (no plotting program needed); OUT is\n"
    "replaced if it exists.\n"
    "\n"
    "  -o, --output OUT.svg  where to write the image (`-`: standard output)\n"
    "  -h, --help            this help\n";

static const char usage_events[] =
    "Usage: " INSPECT_PROG " events PID [--last SECONDS] [--json]\n"
    "\n"
    "Prints the event rings of a runtime started with SCHEDRT_EVENTS=1 (or\n"
    "SCHEDRT_CFG_EVENTS): per worker, oldest first, its last spawns, polls (start\n"
    "and end, with the task), wakes (the task and its waker), parks, unparks and\n"
    "steals; then the other threads' ring (blocking jobs, stalls, spawns and wakes\n"
    "from outside the runtime). Read from the segment alone: works on a process\n"
    "that runs, hangs or is stopped (SIGSTOP). A task is named (\"name\") when a\n"
    "worker's slot names it as its current task; with its SPAWN event in the\n"
    "window, its spawn site follows in brackets: [first task's name @ file:line].\n"
    "Each ring says how many events were written and how many are lost\n"
    "(overwritten). Times are seconds before the newest event.\n"
    "\n"
    "  --last SECONDS   only the events of the SECONDS before the newest one\n"
    "  --json           one JSON object: rings[], each with its events[]\n"
    "  --shm-dir DIR    look for the segment in DIR instead of /dev/shm\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 ok, 1 the runtime keeps no events (or its segment is\n"
    "unreadable), 2 bad usage, 4 no such target.\n";

_Static_assert(SCHEDRT_CTL_TIMEOUT_MIN_MS == 10 && SCHEDRT_CTL_TIMEOUT_MAX_MS == 10000,
               "the --timeout message states the runtime's limits");
_Static_assert(TASK_FEED_MIN_PERIOD_MS == 500 && TASK_FEED_MAX_PERIOD_MS == 3600000,
               "the --tasks-every message and usage state the limits");

static int bad_usage(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, INSPECT_PROG ": ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry '" INSPECT_PROG "%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
  return INSPECT_EXIT_USAGE;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out) {
  char *end;
  if (!s || *s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max)
    return -EINVAL;
  *out = (unsigned long)v;
  return 0;
}

enum {
  OPT_JSON = 256,
  OPT_SHM_DIR,
  OPT_STUCK_MS,
  OPT_NO_COLOR,
  OPT_TIMEOUT,
  OPT_LABEL,
  OPT_FORCE,
  OPT_ALL,
  OPT_HEADER,
  OPT_FORMAT,
  OPT_LISTEN,
  OPT_MAX_TARGETS,
  OPT_MAX_BYTES,
  OPT_LEAK_CHECK,
  OPT_TASKS_EVERY,
  OPT_DURATION,
  OPT_NO_HISTOGRAMS,
  OPT_LAST,
};

/* The options every subcommand accepts (each ignores what does not apply to it). */
static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, OPT_JSON},
    {"shm-dir", required_argument, NULL, OPT_SHM_DIR},
    {"delay", required_argument, NULL, 'd'},
    {"max-iterations", required_argument, NULL, 'n'},
    {"stuck-ms", required_argument, NULL, OPT_STUCK_MS},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"output-dir", required_argument, NULL, 'O'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"interval", required_argument, NULL, 'i'},
    {"count", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {"label", required_argument, NULL, OPT_LABEL},
    {"tui", no_argument, NULL, 't'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"all", no_argument, NULL, OPT_ALL},
    {"header", required_argument, NULL, OPT_HEADER},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"max-targets", required_argument, NULL, OPT_MAX_TARGETS},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"leak-check", required_argument, NULL, OPT_LEAK_CHECK},
    {"tasks-every", required_argument, NULL, OPT_TASKS_EVERY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"no-histograms", no_argument, NULL, OPT_NO_HISTOGRAMS},
    {"last", required_argument, NULL, OPT_LAST},
    {NULL, 0, NULL, 0},
};

/* stat's `-h N` (jstat's header interval): -h followed by a number, attached or not. -h alone (or
 * before anything else) stays the help, as for every command. */
static int stat_header_arg(int argc, char **argv, const char **arg) {
  if (optarg) {
    *arg = optarg;
    return 1;
  }
  if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') {
    *arg = argv[optind++];
    return 1;
  }
  return 0;
}

/* Which options make sense for which command: anything else is a usage error. */
static int opt_allowed(inspect_cmd cmd, int c) {
  switch (c) {
  case 'h':
    return 1;
  case OPT_SHM_DIR:
    return cmd != CMD_SHOW && cmd != CMD_DIFF && cmd != CMD_PLOT;
  case OPT_JSON:
    return cmd == CMD_LIST || cmd == CMD_STAT || cmd == CMD_SHOW || cmd == CMD_DIFF || cmd == CMD_EVENTS;
  case OPT_LAST:
    return cmd == CMD_EVENTS;
  case 'd':
  case OPT_NO_COLOR:
    return cmd == CMD_TOP || cmd == CMD_SHOW; /* show -t on a recording: the live view replays it */
  case 'n':
    return cmd == CMD_TOP || cmd == CMD_SHOW || cmd == CMD_RECORD;
  case 'O':
  case OPT_TASKS_EVERY:
    return cmd == CMD_TOP;
  case OPT_STUCK_MS:
    return cmd == CMD_TOP || cmd == CMD_STAT || cmd == CMD_SHOW;
  case OPT_TIMEOUT:
    return cmd == CMD_TOP || cmd == CMD_DUMP;
  case 'i':
    return cmd == CMD_STAT || cmd == CMD_RECORD;
  case 'c':
    return cmd == CMD_STAT;
  case 'o':
    return cmd == CMD_DUMP || cmd == CMD_TOP || cmd == CMD_RECORD || cmd == CMD_PLOT; /* top: --output-dir */
  case OPT_LABEL:
    return cmd == CMD_DUMP;
  case OPT_FORCE:
    return cmd == CMD_DUMP || cmd == CMD_RECORD;
  case OPT_DURATION:
  case OPT_NO_HISTOGRAMS:
    return cmd == CMD_RECORD;
  case 't':
    return cmd == CMD_SHOW;
  case OPT_ALL:
    return cmd == CMD_SHOW || cmd == CMD_STAT;
  case OPT_HEADER:
  case OPT_FORMAT:
    return cmd == CMD_STAT;
  case OPT_LISTEN:
  case OPT_MAX_TARGETS:
  case OPT_MAX_BYTES:
  case OPT_LEAK_CHECK:
    return cmd == CMD_SERVE || cmd == CMD_STAT;
  default:
    return 0;
  }
}

static const char *cmd_name(inspect_cmd c) {
  static const char *const names[] = {NULL,   "list",  "top",    "stat", "dump",  "show",
                                      "diff", "serve", "record", "plot", "events"};
  return names[c];
}

static int print_help(inspect_cmd cmd) {
  switch (cmd) {
  case CMD_LIST:
    fputs(usage_list, stdout);
    break;
  case CMD_TOP:
    fputs(usage_top, stdout);
    keys_print_help(keys_top, stdout, HELP_WIDTH);
    break;
  case CMD_STAT:
    fputs(usage_stat, stdout);
    break;
  case CMD_DUMP:
    fputs(usage_dump, stdout);
    break;
  case CMD_SHOW:
    fputs(usage_show, stdout);
    keys_print_help(keys_dump, stdout, HELP_WIDTH);
    fputs("\nReplay keys (show -t on a recording):\n", stdout);
    keys_print_help(keys_replay, stdout, HELP_WIDTH);
    break;
  case CMD_DIFF:
    fputs(usage_diff, stdout);
    break;
  case CMD_SERVE:
    fputs(usage_serve, stdout);
    break;
  case CMD_RECORD:
    fputs(usage_record, stdout);
    break;
  case CMD_PLOT:
    fputs(usage_plot, stdout);
    break;
  case CMD_EVENTS:
    fputs(usage_events, stdout);
    break;
  default:
    fputs(usage_main, stdout);
    break;
  }
  return INSPECT_EXIT_OK;
}

static int parse_options(int argc, char **argv, inspect_opts *o) {
  const char *name = cmd_name(o->cmd);
  unsigned long v;
  int c;
  /* '+': stop at the first operand? No: operands may come before options
   * ("stat 42 -i 1"), so let getopt permute, and start afresh (optind 0). */
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h::d:n:O:i:c:o:t", long_opts, NULL)) != -1) {
    const char *hv;
    if (c == '?')
      return bad_usage(name, "unknown option '%s'", argv[optind - 1]);
    if (c == ':')
      return bad_usage(name, "option '%s' needs a value", argv[optind - 1]);
    if (!opt_allowed(o->cmd, c))
      return bad_usage(name, "option '%s' does not apply to this command", argv[optind - 1]);
    switch (c) {
    case 'h':
      if (o->cmd != CMD_STAT || !stat_header_arg(argc, argv, &hv))
        return print_help(o->cmd);
      optarg = (char *)hv;
      /* fall through */
    case OPT_HEADER:
      if (parse_ulong(optarg, 1, 1000000000, &v))
        return bad_usage(name, "-h/--header: expected a number of lines, got '%s'", optarg);
      o->header_every = (long)v;
      o->repeat_given = 1;
      break;
    case OPT_FORMAT: {
      static const char *const formats[] = {"text", "json", "openmetrics", "prometheus"};
      size_t i = 0;
      while (i < sizeof(formats) / sizeof(formats[0]) && strcmp(optarg, formats[i]) != 0)
        i++;
      if (i == sizeof(formats) / sizeof(formats[0]))
        return bad_usage(name, "--format: expected text, json, openmetrics or prometheus, got '%s'", optarg);
      o->format = (stat_format)i;
      break;
    }
    case OPT_LISTEN:
      o->listen = optarg;
      break;
    case OPT_MAX_TARGETS:
      if (parse_ulong(optarg, 1, 65536, &v))
        return bad_usage(name, "--max-targets: expected a number of runtimes from 1 to 65536, got '%s'",
                         optarg);
      o->max_targets = v;
      break;
    case OPT_MAX_BYTES:
      if (parse_ulong(optarg, 4096, 1ul << 30, &v))
        return bad_usage(name, "--max-bytes: expected bytes from 4096 to 1073741824, got '%s'", optarg);
      o->max_bytes = v;
      break;
    case OPT_LEAK_CHECK:
      if (parse_ulong(optarg, 1, 86400, &v))
        return bad_usage(name, "--leak-check: expected seconds from 1 to 86400, got '%s'", optarg);
      o->leak_check_s = v;
      break;
    case OPT_FORCE:
      o->force = 1;
      break;
    case OPT_ALL:
      o->all = 1;
      break;
    case OPT_JSON:
      o->json = 1;
      break;
    case OPT_SHM_DIR:
      o->shm_dir = optarg;
      break;
    case 'd':
      if (parse_ulong(optarg, 1, 100, &v))
        return bad_usage(name, "--delay: expected tenths of a second from 1 to 100, got '%s'", optarg);
      o->delay_tenths = (unsigned)v;
      break;
    case 'n':
      if (parse_ulong(optarg, 1, 100000000, &v))
        return bad_usage(name,
                         o->cmd == CMD_RECORD ? "-n/--count: expected a positive number, got '%s'"
                                              : "--max-iterations: expected a positive number, got '%s'",
                         optarg);
      if (o->cmd == CMD_RECORD)
        o->count = (long)v;
      else
        o->max_iterations = (long)v;
      break;
    case OPT_NO_HISTOGRAMS:
      o->no_histograms = 1;
      break;
    case OPT_DURATION:
      if (parse_duration_ns(optarg, 1000000ull, 366ull * 86400 * 1000000000ull, &o->duration_ns))
        return bad_usage(name, "--duration: expected a time such as 30s, 10m or 2h, got '%s'", optarg);
      break;
    case OPT_STUCK_MS:
      if (parse_ulong(optarg, 1, 3600000, &v))
        return bad_usage(name, "--stuck-ms: expected milliseconds from 1 to 3600000, got '%s'", optarg);
      o->stuck_ns = (uint64_t)v * 1000000u;
      break;
    case OPT_NO_COLOR:
      o->no_color = 1;
      break;
    case 'O':
      o->output_dir = optarg;
      break;
    case OPT_TIMEOUT:
      /* The runtime's own bounds (control.h): a larger value used to be clamped silently. */
      if (parse_ulong(optarg, SCHEDRT_CTL_TIMEOUT_MIN_MS, SCHEDRT_CTL_TIMEOUT_MAX_MS, &v))
        return bad_usage(name,
                         "--timeout: expected milliseconds from 10 to 10000 (the runtime's limits), got '%s'",
                         optarg);
      o->timeout_ms = (uint32_t)v;
      break;
    case 'i': {
      char *end;
      if (o->cmd == CMD_RECORD) {
        /* At most 100 samples a second: each costs a snapshot and a write. */
        if (parse_duration_ns(optarg, 10000000ull, 3600000000000ull, &o->interval_ns))
          return bad_usage(name, "--interval: expected a time from 10ms to 1h (100ms, 1s, 0.5), got '%s'",
                           optarg);
        break;
      }
      errno = 0;
      double d = strtod(optarg, &end);
      if (errno || *end || optarg[0] == '-' || !isfinite(d) || d < 0.01 || d > 86400)
        return bad_usage(name, "--interval: expected seconds from 0.01 to 86400, got '%s'", optarg);
      o->interval_s = d;
      o->repeat_given = 1;
      break;
    }
    case OPT_LAST: {
      char *end;
      errno = 0;
      double d = strtod(optarg, &end);
      if (errno || *end || end == optarg || optarg[0] == '-' || !isfinite(d) || d <= 0 || d > 86400)
        return bad_usage(name, "--last: expected seconds above 0, at most 86400, got '%s'", optarg);
      o->last_s = d;
      break;
    }
    case OPT_TASKS_EVERY: {
      char *end;
      errno = 0;
      double d = strtod(optarg, &end);
      if (errno || *end || end == optarg || optarg[0] == '-' || !isfinite(d) ||
          d * 1000 < TASK_FEED_MIN_PERIOD_MS || d * 1000 > TASK_FEED_MAX_PERIOD_MS)
        return bad_usage(
            name, "--tasks-every: expected seconds from 0.5 to 3600 (a task dump each), got '%s'", optarg);
      o->tasks_ms = (uint32_t)(d * 1000 + 0.5);
      break;
    }
    case 'c':
      if (parse_ulong(optarg, 1, 1000000000, &v))
        return bad_usage(name, "--count: expected a positive number, got '%s'", optarg);
      o->count = (long)v;
      o->repeat_given = 1;
      break;
    case 'o':
      if (o->cmd == CMD_TOP)
        o->output_dir = optarg;
      else
        o->output = optarg;
      break;
    case OPT_LABEL: {
      size_t len = strlen(optarg);
      if (len > 63)
        return bad_usage(name, "--label: at most 63 bytes, got '%s'", optarg);
      for (size_t i = 0; i < len; i++)
        if (optarg[i] < 0x20 || optarg[i] > 0x7e)
          return bad_usage(name, "--label: printable ASCII only, got '%s'", optarg);
      o->label = optarg;
      break;
    }
    case 't':
      o->tui = 1;
      break;
    default:
      return bad_usage(name, "unexpected option '%s'", argv[optind - 1]);
    }
  }
  /* Operands: argv[optind..]. The first was the command word (skipped by the caller). */
  int nops = argc - optind;
  const char *op = nops > 0 ? argv[optind] : NULL;
  switch (o->cmd) {
  case CMD_LIST:
    if (nops > 0)
      return bad_usage(name, "unexpected argument '%s'", op);
    break;
  case CMD_SHOW:
    if (nops != 1)
      return bad_usage(name, nops ? "expected one FILE, got '%s' and more" : "missing FILE%s",
                       nops ? op : "");
    o->file = op;
    if (o->json + o->tui + o->all > 1)
      return bad_usage(name, "--json, -t and --all exclude each other%s", "");
    break;
  case CMD_PLOT:
    if (nops != 1)
      return bad_usage(name, nops ? "expected one FILE, got '%s' and more" : "missing FILE%s",
                       nops ? op : "");
    o->file = op;
    if (!o->output)
      return bad_usage(name, "missing -o OUT.svg%s", "");
    break;
  case CMD_SERVE:
    if (nops > 0)
      return bad_usage(name, "unexpected argument '%s' (serve takes every runtime; no PID)", op);
    break;
  case CMD_STAT:
    if (o->json && o->format != STAT_FORMAT_TEXT && o->format != STAT_FORMAT_JSON)
      return bad_usage(name, "--json and --format %s exclude each other",
                       o->format == STAT_FORMAT_OPENMETRICS ? "openmetrics" : "prometheus");
    if (o->format == STAT_FORMAT_JSON)
      o->json = 1;
    {
      int expo = o->format == STAT_FORMAT_OPENMETRICS || o->format == STAT_FORMAT_PROMETHEUS;
      if (o->all && !expo)
        return bad_usage(name, "--all needs --format openmetrics or --format prometheus%s", "");
      if (o->leak_check_s && !expo)
        return bad_usage(name, "--leak-check needs --format openmetrics or --format prometheus%s", "");
      if (expo && o->repeat_given)
        return bad_usage(name, "--format %s prints one exposition: -i, -c and -h do not apply",
                         o->format == STAT_FORMAT_OPENMETRICS ? "openmetrics" : "prometheus");
    }
    if (o->all) {
      if (nops > 0)
        return bad_usage(name, "--all takes every runtime: no PID, got '%s'", op);
      break;
    }
    if (nops != 1)
      return bad_usage(name, nops ? "expected one PID, got '%s' and more" : "missing PID%s", nops ? op : "");
    if (target_parse_pid(op, &o->pid))
      return bad_usage(name, "expected a process id, got '%s'", op);
    break;
  case CMD_DIFF:
    if (nops != 2)
      return bad_usage(name, nops > 2 ? "expected two FILEs, got '%s' and more" : "expected two FILEs%s",
                       nops > 2 ? argv[optind + 2] : "");
    o->file = argv[optind];
    o->file_b = argv[optind + 1];
    if (strcmp(o->file, "-") == 0 && strcmp(o->file_b, "-") == 0)
      return bad_usage(name, "only one of A and B can be standard input ('-')%s", "");
    break;
  default:
    if (nops != 1)
      return bad_usage(name, nops ? "expected one PID, got '%s' and more" : "missing PID%s", nops ? op : "");
    if (target_parse_pid(op, &o->pid))
      return bad_usage(name, "expected a process id, got '%s'", op);
    if (o->force && (!o->output || strcmp(o->output, "-") == 0))
      return bad_usage(name, "--force replaces the FILE of -o FILE: give one%s", "");
    break;
  }
  return -1;
}

int cli_parse(int argc, char **argv, inspect_opts *o) {
  memset(o, 0, sizeof(*o));
  o->delay_tenths = DEFAULT_DELAY_TENTHS;
  o->interval_s = 1.0;
  o->timeout_ms = DEFAULT_DUMP_TIMEOUT_MS;
  o->max_targets = INSPECT_SERVE_DEFAULT_MAX_TARGETS;
  o->max_bytes = INSPECT_SERVE_DEFAULT_MAX_BYTES;
  o->interval_ns = 100000000ull; /* record: 10 samples a second */
  const char *nc = getenv("NO_COLOR");
  o->no_color = nc && *nc; /* no-color.org: set and not empty */

  if (argc < 2) {
    fputs(usage_main, stderr);
    return INSPECT_EXIT_USAGE;
  }
  const char *first = argv[1];
  if (strcmp(first, "-h") == 0 || strcmp(first, "--help") == 0 || strcmp(first, "help") == 0)
    return print_help(CMD_NONE);
  if (strcmp(first, "-V") == 0 || strcmp(first, "--version") == 0) {
    printf(INSPECT_PROG " %s (reads shm layout %d.x)\n", SCHEDRT_VERSION_STRING, SCHEDRT_SHM_MAJOR);
    return INSPECT_EXIT_OK;
  }
  if (strcmp(first, "list") == 0)
    o->cmd = CMD_LIST;
  else if (strcmp(first, "top") == 0)
    o->cmd = CMD_TOP;
  else if (strcmp(first, "stat") == 0)
    o->cmd = CMD_STAT;
  else if (strcmp(first, "dump") == 0)
    o->cmd = CMD_DUMP;
  else if (strcmp(first, "show") == 0)
    o->cmd = CMD_SHOW;
  else if (strcmp(first, "diff") == 0)
    o->cmd = CMD_DIFF;
  else if (strcmp(first, "serve") == 0)
    o->cmd = CMD_SERVE;
  else if (strcmp(first, "record") == 0)
    o->cmd = CMD_RECORD;
  else if (strcmp(first, "plot") == 0)
    o->cmd = CMD_PLOT;
  else if (strcmp(first, "events") == 0)
    o->cmd = CMD_EVENTS;
  else if (first[0] >= '0' && first[0] <= '9') {
    /* "sched-inspect PID [OPTIONS]": the PID is the operand of an implicit `top`. */
    o->cmd = CMD_TOP;
    return parse_options(argc, argv, o);
  } else if (first[0] == '-')
    return bad_usage(NULL, "unknown option '%s' (options come after the command)", first);
  else
    return bad_usage(NULL, "unknown command '%s'", first);
  /* Skip the command word: getopt sees "cmd args..." with cmd as argv[0]. */
  return parse_options(argc - 1, argv + 1, o);
}

int inspect_run(int argc, char **argv) {
  inspect_opts o;
  int rc = cli_parse(argc, argv, &o);
  if (rc >= 0)
    return rc;
  switch (o.cmd) {
  case CMD_LIST:
    return cmd_list(&o);
  case CMD_TOP:
    return cmd_top(&o);
  case CMD_STAT:
    return cmd_stat(&o);
  case CMD_DUMP:
    return cmd_dump(&o);
  case CMD_SHOW:
    return cmd_show(&o);
  case CMD_DIFF:
    return cmd_diff(&o);
  case CMD_SERVE:
    return cmd_serve(&o);
  case CMD_RECORD:
    return cmd_record(&o);
  case CMD_PLOT:
    return cmd_plot(&o);
  case CMD_EVENTS:
    return cmd_events(&o);
  default:
    return INSPECT_EXIT_USAGE;
  }
}
