/* `sched-inspect top PID` (and `sched-inspect PID`): the live view, run by the screen loop. */
#include <errno.h>
#include <stdio.h>

#include "attach.h"
#include "cli.h"
#include "crt.h"
#include "dump_client.h"
#include "live_view.h"
#include "screen.h"
#include "util.h"

#define QUIT_DUMP_WAIT_NS 3000000000ull /* how long quitting waits for a `d` still pending */

int cmd_top(const inspect_opts *o) {
  inspect_target t;
  char msg[512];
  /* Where `d` saves, checked now: a bad directory found only by a dump would have paused the workers
   * for nothing. */
  if (o->output_dir && dump_output_dir_check(o->output_dir, msg, sizeof(msg))) {
    fprintf(stderr, INSPECT_PROG ": %s\n", msg);
    return INSPECT_EXIT_FAILURE;
  }
  /* Attach before entering curses, so an error reads like any other command's. */
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  int err = target_attach(o->pid, &ao, &t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
    return target_exit_code(err);
  }
  live_view *lv = live_view_new(o, &t);
  if (crt_init(o->no_color, o->delay_tenths,
               "the live view needs a terminal (use `" INSPECT_PROG " stat` in scripts)")) {
    live_view_free(lv);
    return INSPECT_EXIT_USAGE;
  }
  /* --tasks-every: the task list open from the start, over the live view it goes back to. */
  screen *tasks = o->tasks_ms ? live_view_open_tasks(lv, (uint64_t)o->tasks_ms * 1000000u) : NULL;
  screen_manager_run_open(&lv->base, tasks, o->max_iterations);
  crt_done();

  /* Out of curses: what is left to say goes to the terminal the user gets back. */
  int sig = crt_stop_signal();
  if (lv->dump) {
    /* A `d` still pending: the user asked for it, so it is waited for (a few seconds at most) and
     * saved as any other; else its object is left for the runtime, which removes uncollected ones. */
    dump_outcome out;
    uint64_t end = inspect_now_ns() + QUIT_DUMP_WAIT_NS;
    int rc;
    while ((rc = dump_client_poll(lv->dump, &out)) == -EAGAIN && inspect_now_ns() < end)
      dump_client_wait(lv->dump, 50000000ull);
    if (rc == 0 && out.path[0])
      snprintf(lv->last_dump, sizeof(lv->last_dump), "%s", out.path);
    else if (rc == 0)
      fprintf(stderr, INSPECT_PROG ": the last dump: %s\n", out.message);
    else
      fprintf(stderr, INSPECT_PROG ": a dump was still pending; the runtime removes it after a while\n");
  }
  if (lv->last_dump[0])
    fprintf(stderr, INSPECT_PROG ": last dump saved to %s\n", lv->last_dump);
  live_view_free(lv);
  return sig ? 128 + sig : INSPECT_EXIT_OK;
}
