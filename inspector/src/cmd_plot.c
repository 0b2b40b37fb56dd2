/* `sched-inspect plot FILE -o OUT.svg`: a recording as an SVG image (recording_plot.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "recording.h"
#include "recording_plot.h"
#include "util.h"

int cmd_plot(const inspect_opts *o) {
  recording *rec;
  char err[512];
  int rc = rec_sniff_file(o->file);
  if (rc == 0) {
    fprintf(stderr, INSPECT_PROG ": %s: not a recording (plot draws what `" INSPECT_PROG " record` wrote)\n",
            o->file);
    return INSPECT_EXIT_FAILURE;
  }
  if (rc < 0 || rec_load(o->file, &rec, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, rc < 0 ? strerror(-rc) : err);
    return INSPECT_EXIT_FAILURE;
  }
  if (rec->nsamples == 0) {
    fprintf(stderr, INSPECT_PROG ": %s: the recording has no samples to draw\n", o->file);
    rec_free(rec);
    return INSPECT_EXIT_FAILURE;
  }
  int to_stdout = strcmp(o->output, "-") == 0;
  FILE *f = to_stdout ? stdout : fopen(o->output, "w");
  if (!f) {
    fprintf(stderr, INSPECT_PROG ": cannot create %s: %s\n", o->output, strerror(errno));
    rec_free(rec);
    return INSPECT_EXIT_FAILURE;
  }
  rc = rec_plot_svg(rec, f);
  if (rc == -ENOMEM)
    inspect_fatal("out of memory");
  if ((to_stdout ? fflush(f) : fclose(f)) != 0 || rc) {
    fprintf(stderr, INSPECT_PROG ": cannot write %s: %s\n", o->output, strerror(rc ? -rc : errno));
    rec_free(rec);
    return INSPECT_EXIT_FAILURE;
  }
  if (!to_stdout)
    fprintf(stderr, INSPECT_PROG ": %s: %zu samples of %u workers drawn\n", o->output, rec->nsamples,
            rec->h.nworkers);
  rec_free(rec);
  return INSPECT_EXIT_OK;
}
