/*
 * Asking a runtime for a task dump through its segment's control area, and
 * collecting the result: the runtime writes the dump into an object it names
 * itself; we copy it to the user's file and unlink the runtime's copy. The
 * protocol is non-blocking (start, then poll) so the TUI keeps drawing while a
 * dump is taken; `sched-inspect dump` polls in a loop. No curses.
 */
#ifndef INSPECT_DUMP_CLIENT_H
#define INSPECT_DUMP_CLIENT_H

#include <limits.h>
#include <stdint.h>

#include "attach.h"

typedef struct dump_request {
  uint32_t timeout_ms;    /* the barrier deadline asked of the runtime; 0: the runtime's default */
  const char *label;      /* recorded in the dump; NULL: none */
  const char *output;     /* file to write; "-": stdout; NULL: default name in output_dir */
  int force;              /* an existing output is replaced (once the dump is saved) rather than refused */
  const char *output_dir; /* for the default name; NULL: "." */
  const char *shm_dir;    /* where the runtime's dump object lives; NULL: /dev/shm */
  int in_memory;          /* keep the dump in memory (dump_client_take) and create no file: output,
                           * force and output_dir are not used */
} dump_request;

typedef struct dump_outcome {
  int err;       /* 0, or why it failed (-errno or SCHEDRT_E*) */
  int status;    /* schedrt_dump_status from the runtime, or -1 when none came */
  int exit_code; /* INSPECT_EXIT_* for `sched-inspect dump` */
  uint32_t tasks, workers_ok, workers_missing;
  uint64_t bytes;
  uint64_t pause_ns; /* the workers held together for the copy (OK/PARTIAL) */
  uint64_t elapsed_ns;
  char path[PATH_MAX]; /* where it was saved ("" if not) */
  char message[512];   /* one line for the user */
} dump_outcome;

typedef struct dump_client dump_client;

/* Creates the destination file, then writes the request into the control area.
 * 0, or an error with *out NULL and outcome filled (e.g. -EEXIST: the file
 * exists, nothing was asked of the runtime; -ENOTSUP: it serves no dumps).
 * The file is removed again unless a dump is saved in it. */
int dump_client_start(const inspect_target *t, const dump_request *req, dump_client **out,
                      dump_outcome *outcome);
/* -EAGAIN while the runtime works; then 0 with outcome filled (success or not). */
int dump_client_poll(dump_client *c, dump_outcome *outcome);
/* Time since the request was made. */
uint64_t dump_client_elapsed_ns(const dump_client *c);
/* Sleeps until the answer may have come (futex on the answer word), at most max_ns. */
void dump_client_wait(dump_client *c, uint64_t max_ns);
/* An in-memory request's dump, once dump_client_poll said it succeeded: *buf (malloc'd, the caller's
 * from now on) and *len. -ENOENT when there is none (not in memory, not answered, failed, taken). */
int dump_client_take(dump_client *c, void **buf, size_t *len);
/* Gives up a request without leaving its dump behind: waits at most max_ns (never past the request's own
 * deadline) for the answer and removes the dump object it names unread. 0 when nothing is left behind
 * (answered, or nothing pending), -ETIMEDOUT when no answer came. Past the deadline a runtime of control
 * protocol 1.1 links no object; an older one removes it itself (after its keep time, sooner when
 * uncollected ones pile up, and at shutdown). Waiting at most max_ns short of the deadline leaves one
 * the runtime may still write, as an older runtime would. */
int dump_client_cancel(dump_client *c, uint64_t max_ns);
/* Releases the client (abandoning a pending request: the runtime removes an uncollected dump). */
void dump_client_free(dump_client *c);

/* Whether dumps can be saved in dir (it exists, is a directory, and we may create files there):
 * 0, or -errno with a one-line message. */
int dump_output_dir_check(const char *dir, char *msg, size_t size);

/* "sched-dump-<pid>-<YYYYmmdd-HHMMSS>.cbor" under dir (NULL: "."). */
char *dump_default_name(char *buf, size_t size, const char *dir, long pid, uint64_t realtime_ns);

#endif
