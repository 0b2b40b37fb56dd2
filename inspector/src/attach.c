/* Opening a target's segment and explaining failures (see attach.h). */
#include "attach.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int target_parse_pid(const char *s, pid_t *out) {
  unsigned long long v = 0;
  if (!s || !*s || strlen(s) > 10)
    return -EINVAL;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return -EINVAL;
    v = v * 10 + (unsigned)(*p - '0');
  }
  if (v == 0 || v > INT_MAX)
    return -EINVAL;
  *out = (pid_t)v;
  return 0;
}

static void fill_opts(const inspect_attach_opts *o, schedrt_reader_opts *ro) {
  memset(ro, 0, sizeof(*ro));
  if (o) {
    ro->shm_dir = o->shm_dir;
    ro->ready_timeout_ms = o->ready_timeout_ms;
  }
}

int target_attach(pid_t pid, const inspect_attach_opts *opts, inspect_target *t) {
  schedrt_reader_opts ro;
  uint64_t t0 = inspect_now_ns();
  memset(t, 0, sizeof(*t));
  fill_opts(opts, &ro);
  int err = schedrt_reader_open_pid(pid, &ro, &t->reader);
  if (err) {
    t->reader = NULL;
    return err;
  }
  t->pid = pid;
  t->info = schedrt_reader_info(t->reader);
  t->attach_ns = inspect_now_ns() - t0;
  return 0;
}

int target_attach_path(const char *path, const inspect_attach_opts *opts, inspect_target *t) {
  schedrt_reader_opts ro;
  uint64_t t0 = inspect_now_ns();
  memset(t, 0, sizeof(*t));
  fill_opts(opts, &ro);
  int err = schedrt_reader_open_path(path, &ro, &t->reader);
  if (err) {
    t->reader = NULL;
    return err;
  }
  t->info = schedrt_reader_info(t->reader);
  t->pid = (pid_t)t->info->pid;
  t->attach_ns = inspect_now_ns() - t0;
  return 0;
}

void target_detach(inspect_target *t) {
  schedrt_reader_close(t->reader);
  memset(t, 0, sizeof(*t));
}

char *target_error_message(char *buf, size_t size, pid_t pid, int err) {
  const char *what;
  switch (err) {
  case -ESRCH:
    what = "no such process, and no segment left behind by it";
    break;
  case -ENOENT:
    what = "the process has no schedrt metrics segment (not a schedrt program, metrics compiled out, "
           "or SCHEDRT_METRICS=0)";
    break;
  case -EACCES:
  case -EPERM:
    what = "permission denied: the segment belongs to another user (run as that user, or as root)";
    break;
  case -ELOOP:
    what = "refusing the segment: it is a symbolic link, not a shared-memory object (planted by someone?)";
    break;
  case SCHEDRT_EOWNER:
    what = "refusing the segment: wrong owner or unsafe permissions (the uid in its name, its owner and the "
           "target process's owner must agree; mode 0600, one link)";
    break;
  case SCHEDRT_ENOTSEG:
    what = "refusing the segment: it is not a regular file (a socket, FIFO, device or directory under a "
           "segment's name, planted by someone?)";
    break;
  case SCHEDRT_ECHANGED:
    what = "the target changed its segment while it was read (truncated or replaced)";
    break;
  case SCHEDRT_EMAGIC:
    what = "not a schedrt segment (bad magic)";
    break;
  case SCHEDRT_EVERSION:
    what = "the segment's layout version (or byte order) is not one this sched-inspect understands: "
           "use the sched-inspect that came with the target's schedrt";
    break;
  case SCHEDRT_ECORRUPT:
    what = "the segment is corrupt: a size, offset or count is out of bounds (truncated file?)";
    break;
  case SCHEDRT_ENOTREADY:
    what = "the segment is still being initialised (the runtime did not mark it ready in time)";
    break;
  case SCHEDRT_ETORN:
    what = "could not read a consistent snapshot (the writer kept changing, or died mid-update)";
    break;
  case SCHEDRT_ESTALE:
    what = "the process is gone (stale segment)";
    break;
  case SCHEDRT_EHUNG:
    what = "the process is alive but its heartbeat stopped (hung or stopped)";
    break;
  case -ENOMEM:
    what = "out of memory";
    break;
  default:
    what = NULL;
    break;
  }
  if (what)
    return xsnprintf(buf, size, "pid %ld: %s", (long)pid, what);
  return xsnprintf(buf, size, "pid %ld: %s (%s)", (long)pid, schedrt_strerror(err), schedrt_err_name(err));
}

int target_exit_code(int err) {
  switch (err) {
  case -ESRCH:
  case -ENOENT:
    return INSPECT_EXIT_NOTARGET;
  case SCHEDRT_ESTALE:
    return INSPECT_EXIT_GONE;
  default:
    return INSPECT_EXIT_FAILURE;
  }
}
