/* Opening a target's segment and explaining failures (see attach.h). */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/shm_util.h"
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

/* The search for another user's segment of a process we could not open. */
struct foreign_search {
  uint32_t pid, me;
  int proc_known;      /* the process is alive and its owner could be read */
  uint32_t proc_owner; /* then: its effective uid */
  struct schedrt__shm_name best;
  char name[SCHEDRT_SHM_NAME_MAX];
};

static int consider_foreign(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  struct foreign_search *s = ctx;
  struct stat st;
  if (nm->is_dump || nm->pid != s->pid || nm->uid == s->me)
    return 0;
  /* Only a consistent one: owned by the uid its name carries and, when we can tell, the process's
   * owner. A file someone planted under another's name must not send the user to run as them. */
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) || st.st_uid != (uid_t)nm->uid)
    return 0;
  if (s->proc_known && s->proc_owner != nm->uid)
    return 0;
  if (!s->name[0] || nm->starttime > s->best.starttime ||
      (nm->starttime == s->best.starttime && nm->index > s->best.index)) {
    s->best = *nm;
    snprintf(s->name, sizeof(s->name), "%s", name);
  }
  return 0;
}

/* After a failed open: is pid's segment there, but another user's? Then that is what to say, whatever
 * the reader found (no segment of ours, or a process it may not read). Root reads every user's. */
static int find_foreign(pid_t pid, const char *shm_dir, inspect_target *t, int *others) {
  struct foreign_search s = {.pid = (uint32_t)pid, .me = (uint32_t)geteuid()};
  *others = 0;
  if (s.me == 0)
    return 0;
  s.proc_known = schedrt__proc_euid(pid, &s.proc_owner) == 0;
  *others = s.proc_known && s.proc_owner != s.me;
  if (schedrt__shm_scan(shm_dir ? shm_dir : SCHEDRT_READER_SHM_DIR, consider_foreign, &s) || !s.name[0])
    return 0;
  t->foreign = 1;
  t->foreign_uid = s.best.uid;
  xsnprintf(t->foreign_path, sizeof(t->foreign_path), "%s/%s", shm_dir ? shm_dir : SCHEDRT_READER_SHM_DIR,
            s.name);
  return 1;
}

int target_attach(pid_t pid, const inspect_attach_opts *opts, inspect_target *t) {
  schedrt_reader_opts ro;
  uint64_t t0 = inspect_now_ns();
  memset(t, 0, sizeof(*t));
  fill_opts(opts, &ro);
  int err = schedrt_reader_open_pid(pid, &ro, &t->reader);
  if (err) {
    t->reader = NULL;
    t->pid = pid;
    int others = 0;
    if ((err == -ENOENT || err == -ESRCH || err == -EACCES || err == -EPERM || err == SCHEDRT_EOWNER) &&
        find_foreign(pid, opts ? opts->shm_dir : NULL, t, &others))
      return -EACCES;
    /* The reader refuses another user's process before looking; we looked: it has no segment at all. */
    if (err == SCHEDRT_EOWNER && others)
      return -ENOENT;
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

/* "uid 1000 (alice)", or "uid 1000" when the name is not known. */
static char *uid_text(char *buf, size_t size, uint32_t uid) {
  const struct passwd *pw = getpwuid((uid_t)uid);
  if (pw && pw->pw_name)
    return xsnprintf(buf, size, "uid %u (%s)", uid, pw->pw_name);
  return xsnprintf(buf, size, "uid %u", uid);
}

char *target_attach_message(char *buf, size_t size, const inspect_target *t, int err) {
  char owner[96], me[96], user[80];
  if (!t->foreign || err != -EACCES)
    return target_error_message(buf, size, t->pid, err);
  const struct passwd *pw = getpwuid((uid_t)t->foreign_uid);
  if (t->foreign_uid == 0)
    xsnprintf(user, sizeof(user), "root (sudo)");
  else if (pw && pw->pw_name)
    xsnprintf(user, sizeof(user), "%s (sudo -u %s) or as root", pw->pw_name, pw->pw_name);
  else
    xsnprintf(user, sizeof(user), "uid %u (sudo -u '#%u') or as root", t->foreign_uid, t->foreign_uid);
  return xsnprintf(buf, size,
                   "pid %ld: its schedrt segment %s belongs to %s and you are %s; only its owner and root "
                   "may read it: run " INSPECT_PROG " as %s",
                   (long)t->pid, t->foreign_path, uid_text(owner, sizeof(owner), t->foreign_uid),
                   uid_text(me, sizeof(me), (uint32_t)geteuid()), user);
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
