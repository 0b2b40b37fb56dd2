/* `sched-inspect show FILE`: report, JSON, or the viewer (-t). */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "dump_group.h"
#include "dump_json.h"
#include "dump_report.h"
#include "json_export.h"
#include "screen_dump.h"
#include "util.h"

#define REPORT_PER_GROUP 10

int cmd_show(const inspect_opts *o) {
  schedrt_dump_doc *d;
  char err[512];
  if (o->tui)
    return dump_viewer_run(o->file, o->no_color);
  /* The JSON walks libcbor's item tree (faithful: every key, in file order). */
  unsigned flags = INSPECT_DUMP_FLAGS | (o->json ? SCHEDRT_DUMP_KEEP_CBOR : 0u);
  if (schedrt_dump_load_ex(o->file, flags, &d, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, err);
    return INSPECT_EXIT_FAILURE;
  }
  int status = INSPECT_EXIT_OK;
  if (o->json) {
    if (json_emit(dump_json(d), stdout, 0))
      status = INSPECT_EXIT_FAILURE;
  } else {
    dump_report_print(d, stdout, REPORT_PER_GROUP);
    if (fflush(stdout))
      status = INSPECT_EXIT_FAILURE;
  }
  schedrt_dump_doc_free(d);
  return status;
}
