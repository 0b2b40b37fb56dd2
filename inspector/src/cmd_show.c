/* `sched-inspect show FILE`: report, JSON, or the viewer (-t). */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "dump_json.h"
#include "dump_model.h"
#include "dump_report.h"
#include "json_export.h"
#include "screen_dump.h"
#include "util.h"

#define REPORT_PER_GROUP 10

int cmd_show(const inspect_opts *o) {
  dump_model *m;
  char err[512];
  if (o->tui)
    return dump_viewer_run(o->file, o->no_color);
  int rc = dump_model_load_file(o->file, &m, err, sizeof(err));
  if (rc) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, err);
    return INSPECT_EXIT_FAILURE;
  }
  int status = INSPECT_EXIT_OK;
  if (o->json) {
    if (json_emit(dump_json(m), stdout, 0))
      status = INSPECT_EXIT_FAILURE;
  } else {
    dump_report_print(m, stdout, REPORT_PER_GROUP);
    if (fflush(stdout))
      status = INSPECT_EXIT_FAILURE;
  }
  /* A cut file is shown as far as it goes, but a script must be able to tell. */
  if (m->truncated) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, m->warnings);
    status = INSPECT_EXIT_FAILURE;
  }
  dump_model_free(m);
  return status;
}
