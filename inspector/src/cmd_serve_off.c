/* `serve` in a build configured without libmicrohttpd: says so and what to do (see cmd_serve.c). */
#include <stdio.h>

#include "cli.h"
#include "util.h"

int cmd_serve(const inspect_opts *o) {
  (void)o;
  fprintf(stderr, INSPECT_PROG ": serve: this sched-inspect was built without libmicrohttpd; install "
                               "libmicrohttpd-dev (scripts/setup.sh) and configure and build again\n");
  return INSPECT_EXIT_FAILURE;
}
