/* `sched-inspect show FILE` when FILE is a recording: its summary per worker, --json, or -t the replay. */
#include <stdio.h>

#include "cli.h"
#include "json_export.h"
#include "recording.h"
#include "recording_summary.h"
#include "replay.h"
#include "util.h"

#define EPISODES_PER_WORKER 10

int cmd_show_recording(const inspect_opts *o) {
  recording *rec;
  rec_summary sum;
  char err[512];
  if (rec_load(o->file, &rec, err, sizeof(err))) {
    fprintf(stderr, INSPECT_PROG ": %s: %s\n", o->file, err);
    return INSPECT_EXIT_FAILURE;
  }
  if (rec->tail_bytes && !o->json)
    fprintf(stderr,
            INSPECT_PROG ": %s: the last %zu bytes are an incomplete sample (the recorder was killed while "
                         "writing it): left out\n",
            o->file, rec->tail_bytes);
  int status = INSPECT_EXIT_OK;
  if (o->tui) {
    status = replay_run(o, rec);
    rec_free(rec);
    return status;
  }
  if (rec_summarize(rec, o->stuck_ns, &sum))
    inspect_fatal("out of memory");
  if (o->json) {
    if (json_emit(rec_summary_json(rec, &sum), stdout, 0))
      status = INSPECT_EXIT_FAILURE;
  } else {
    rec_summary_print(rec, &sum, stdout, o->all ? 0 : EPISODES_PER_WORKER);
    if (fflush(stdout))
      status = INSPECT_EXIT_FAILURE;
  }
  rec_summary_free(&sum);
  rec_free(rec);
  return status;
}
