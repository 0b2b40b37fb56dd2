/* `sched-inspect dump PID`: request, wait, save, report. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "dump_client.h"
#include "util.h"

int cmd_dump(const inspect_opts *o) {
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  inspect_target t;
  dump_client *c;
  dump_outcome out;
  char msg[512];
  int err = target_attach(o->pid, &ao, &t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
    return target_exit_code(err);
  }
  dump_request req = {.timeout_ms = o->timeout_ms,
                      .label = o->label,
                      .output = o->output,
                      .force = o->force,
                      .shm_dir = o->shm_dir};
  /* With the dump on stdout, the status goes to stderr so the two never mix. */
  FILE *report = o->output && strcmp(o->output, "-") == 0 ? stderr : stdout;
  if (dump_client_start(&t, &req, &c, &out)) {
    fprintf(stderr, INSPECT_PROG ": pid %ld: %s\n", (long)o->pid, out.message);
    target_detach(&t);
    return out.exit_code;
  }
  inspect_catch_stop();
  int rc;
  while ((rc = dump_client_poll(c, &out)) == -EAGAIN && !inspect_stop_signal())
    dump_client_wait(c, 20000000ull); /* 20 ms: also notices a target that exits */
  dump_client_free(c);
  target_detach(&t);
  if (rc == -EAGAIN) {
    fprintf(stderr, INSPECT_PROG ": interrupted; the runtime removes the uncollected dump by itself\n");
    return 128 + inspect_stop_signal();
  }
  if (out.path[0]) {
    fprintf(report, "%s\n", out.message);
    fflush(report);
  } else {
    fprintf(stderr, INSPECT_PROG ": pid %ld: %s\n", (long)o->pid, out.message);
  }
  return out.exit_code;
}
