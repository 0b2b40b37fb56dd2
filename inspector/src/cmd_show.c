/* `sched-inspect show FILE`: report, JSON, or the viewer (-t); FILE `-` is standard input. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "crt.h"
#include "dump_analysis_json.h"
#include "dump_group.h"
#include "dump_input.h"
#include "dump_report.h"
#include "json_export.h"
#include "recording.h"
#include "screen.h"
#include "screen_dump.h"
#include "util.h"

#define REPORT_PER_GROUP 10

/* -t: the dump viewer alone on the screen loop; when it closes (q, Esc), the loop ends. */
static int show_viewer(const inspect_opts *o) {
  char err[512];
  /* The viewer reads its keys from standard input: the dump cannot come that way too. */
  if (dump_input_is_stdin(o->file)) {
    fprintf(stderr, INSPECT_PROG ": show -t reads keys from standard input, so it needs the dump in a file "
                                 "(show - without -t prints the report)\n");
    return INSPECT_EXIT_USAGE;
  }
  /* Before loading: without a terminal the answer is the same, and at once. */
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, INSPECT_PROG ": the dump viewer (show -t) needs a terminal; without one, `" INSPECT_PROG
                                 " show FILE` prints the report and `--json` everything\n");
    return INSPECT_EXIT_USAGE;
  }
  screen *v = screen_dump_new(o->file, err, sizeof(err));
  if (!v) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, err);
    return INSPECT_EXIT_FAILURE;
  }
  if (crt_init(o->no_color, 10, "the dump viewer (show -t) needs a terminal")) {
    screen_free(v);
    return INSPECT_EXIT_USAGE;
  }
  screen_manager_run(v, 0);
  crt_done();
  int sig = crt_stop_signal();
  screen_free(v);
  return sig ? 128 + sig : INSPECT_EXIT_OK;
}

int cmd_show(const inspect_opts *o) {
  schedrt_dump_doc *d;
  char err[512];
  /* A recording opens like a dump: its summary, --json, or -t its replay (cmd_show_rec.c). */
  if (!dump_input_is_stdin(o->file) && rec_sniff_file(o->file) == 1)
    return cmd_show_recording(o);
  if (o->tui)
    return show_viewer(o);
  /* The JSON walks libcbor's item tree (faithful: every key, in file order), then adds "analysis". */
  unsigned flags = INSPECT_DUMP_FLAGS | (o->json ? SCHEDRT_DUMP_KEEP_CBOR : 0u);
  if (dump_input_load(o->file, flags, &d, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", dump_input_name(o->file), err);
    return INSPECT_EXIT_FAILURE;
  }
  int status = INSPECT_EXIT_OK;
  if (o->json) {
    if (json_emit(dump_json_with_analysis(d), stdout, 0))
      status = INSPECT_EXIT_FAILURE;
  } else {
    dump_report_print(d, stdout, o->all ? 0 : REPORT_PER_GROUP);
    if (fflush(stdout))
      status = INSPECT_EXIT_FAILURE;
  }
  schedrt_dump_doc_free(d);
  return status;
}
