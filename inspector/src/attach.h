/*
 * Attaching to a target process: open its segment through the common reader,
 * and turn the reader's error codes into messages a user can act on.
 * No curses. The reader does every check (owner, mode, magic, version,
 * bounds); this file only decides what to say and which exit status follows.
 */
#ifndef INSPECT_ATTACH_H
#define INSPECT_ATTACH_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schedrt/reader.h"

typedef struct inspect_target {
  pid_t pid;
  schedrt_reader *reader;
  const schedrt_segment_info *info; /* owned by reader */
  uint64_t attach_ns;               /* how long opening and validating took */
  /* After a failed target_attach: the process's segment is there but another user's. */
  int foreign;
  uint32_t foreign_uid;
  char foreign_path[PATH_MAX];
} inspect_target;

typedef struct inspect_attach_opts {
  const char *shm_dir;       /* NULL: /dev/shm */
  uint32_t ready_timeout_ms; /* 0: the reader's default */
} inspect_attach_opts;

/* Parses a PID argument: decimal, 1..INT_MAX, nothing else. 0 or -EINVAL. */
int target_parse_pid(const char *s, pid_t *out);

/* Opens pid's segment. 0, or the reader's error (target is then zeroed). */
int target_attach(pid_t pid, const inspect_attach_opts *opts, inspect_target *t);
/* Opens a segment file directly (tests, post-mortems of copied segments). */
int target_attach_path(const char *path, const inspect_attach_opts *opts, inspect_target *t);
void target_detach(inspect_target *t);

/* A full sentence for an attach or snapshot error of pid ("pid 42: ..."). */
char *target_error_message(char *buf, size_t size, pid_t pid, int err);
/* The same for target_attach's error: another user's segment is named with its owner's uid and what to
 * do. */
char *target_attach_message(char *buf, size_t size, const inspect_target *t, int err);
/* The exit status for such an error (INSPECT_EXIT_NOTARGET, _GONE or _FAILURE). */
int target_exit_code(int err);

#endif
