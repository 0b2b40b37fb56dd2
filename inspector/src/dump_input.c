/* Dumps from a file or standard input (see dump_input.h). */
#include "dump_input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedrt.h"
#include "util.h"

#define READ_CHUNK (1u << 16)

int dump_input_is_stdin(const char *arg) { return arg && strcmp(arg, "-") == 0; }

const char *dump_input_name(const char *arg) { return dump_input_is_stdin(arg) ? "standard input" : arg; }

/* All of standard input, at most one byte past the format's limit (so that a larger input is known). */
static int read_stdin(char **out, size_t *len, char *err, size_t errsize) {
  size_t cap = READ_CHUNK, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t k = read(STDIN_FILENO, buf + n, cap - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      int e = errno;
      free(buf);
      xsnprintf(err, errsize, "%s", strerror(e));
      return -e;
    }
    if (k == 0)
      break;
    n += (size_t)k;
    if (n > SCHEDRT_DUMP_MAX_SIZE) {
      free(buf);
      xsnprintf(err, errsize, "more than 1 GiB: not a dump");
      return SCHEDRT_ECORRUPT;
    }
  }
  *out = buf;
  *len = n;
  return 0;
}

int dump_input_load(const char *arg, unsigned flags, schedrt_dump_doc **out, char *err, size_t errsize) {
  char *buf = NULL;
  size_t len = 0;
  *out = NULL;
  if (!dump_input_is_stdin(arg))
    return schedrt_dump_load_ex(arg, flags, out, err, errsize);
  /* A terminal would wait for a dump typed by hand: say what to do instead. */
  if (isatty(STDIN_FILENO)) {
    xsnprintf(err, errsize,
              "is a terminal: pipe a dump in (" INSPECT_PROG " dump PID -o - | " INSPECT_PROG " show -)");
    return -ENOTTY;
  }
  int rc = read_stdin(&buf, &len, err, errsize);
  if (rc)
    return rc;
  if (len == 0) {
    free(buf);
    xsnprintf(err, errsize, "empty: no dump came");
    return SCHEDRT_ECORRUPT;
  }
  rc = schedrt_dump_parse_ex(buf, len, flags & ~(unsigned)SCHEDRT_DUMP_FOLLOW, out, err, errsize);
  free(buf);
  return rc;
}
