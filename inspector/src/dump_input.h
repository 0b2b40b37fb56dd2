/*
 * A dump named on the command line: a file, or `-` for standard input (as
 * `dump -o -` writes one to standard output). No curses.
 */
#ifndef INSPECT_DUMP_INPUT_H
#define INSPECT_DUMP_INPUT_H

#include <stddef.h>

#include "schedrt/dump_read.h"

/* "-": the dump is read from standard input. */
int dump_input_is_stdin(const char *arg);

/* Loads the dump arg names with the decoder's flags (SCHEDRT_DUMP_*): a path
 * through schedrt_dump_load_ex (a FIFO, a directory or a device is refused at
 * once), "-" from standard input (refused when it is a terminal, or past the
 * format's 1 GiB). 0, or an error with a one-line message in err. */
int dump_input_load(const char *arg, unsigned flags, schedrt_dump_doc **out, char *err, size_t errsize);

/* How to name arg in a message: "standard input" for "-". */
const char *dump_input_name(const char *arg);

#endif
