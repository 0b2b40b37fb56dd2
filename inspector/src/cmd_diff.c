/* `sched-inspect diff A B`: two dumps of one runtime compared, as text or JSON. */
#include <stdio.h>

#include "cli.h"
#include "dump_diff.h"
#include "dump_group.h"
#include "dump_input.h"
#include "json_export.h"
#include "util.h"

#define DIFF_LISTED 20 /* tasks per list in the text; --json lists all */

static schedrt_dump_doc *load(const char *path) {
  schedrt_dump_doc *d;
  char err[512];
  if (dump_input_load(path, INSPECT_DUMP_FLAGS, &d, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", dump_input_name(path), err);
    return NULL;
  }
  return d;
}

int cmd_diff(const inspect_opts *o) {
  schedrt_dump_doc *a = load(o->file), *b = a ? load(o->file_b) : NULL;
  char err[512];
  int status = INSPECT_EXIT_OK;
  if (!a || !b) {
    status = INSPECT_EXIT_FAILURE;
    goto out;
  }
  if (dump_diff_same_runtime(a, b, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s and %s: %s\n", o->file, o->file_b, err);
    status = INSPECT_EXIT_FAILURE;
    goto out;
  }
  dump_diff df;
  dump_diff_build(a, b, &df);
  if (df.swapped)
    fprintf(stderr, INSPECT_PROG ": warning: %s was taken before %s: it is compared as A, the earlier dump\n",
            o->file_b, o->file);
  if (o->json) {
    if (json_emit(dump_diff_json(&df, o->file, o->file_b), stdout, 0))
      status = INSPECT_EXIT_FAILURE;
  } else {
    dump_diff_print(&df, stdout, o->file, o->file_b, DIFF_LISTED);
    if (fflush(stdout))
      status = INSPECT_EXIT_FAILURE;
  }
  dump_diff_free(&df);
out:
  schedrt_dump_doc_free(a);
  schedrt_dump_doc_free(b);
  return status;
}
