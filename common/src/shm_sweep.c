/*
 * Stale segments: the objects of processes that died without unlinking
 * (SIGKILL, a crash). Both the runtime (at start) and sched-inspect (gc)
 * use this. The rule, from HotSpot's hsperfdata sweep: an object is stale
 * only if nobody holds its lock AND its process is gone, owned by another
 * user, or has another start time (pid reuse). Never another user's object.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/shm_util.h"

/*
 * A dump object its writer died in the middle of (mode 0000 without
 * O_TMPFILE) cannot be opened, so it has no lock to probe; dump objects are
 * never locked anyway. Ours, a regular file, and its process gone: stale.
 */
static int stale_unreadable_dump(int dirfd, const char *name, const struct schedrt__shm_name *nm,
                                 uint32_t uid, bool unlink_it, bool *stale) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISREG(st.st_mode) || st.st_uid != uid ||
      schedrt__proc_check(nm->pid, nm->starttime) == SCHEDRT_PROC_ALIVE)
    return 0;
  *stale = true;
  if (unlink_it && unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
    return -errno;
  return 0;
}

bool schedrt__shm_owner_alive(int fd, uint32_t pid, uint64_t starttime) {
  /* If our LOCK_EX probe succeeds nobody holds LOCK_SH; release it at once. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    return true; /* also right across pid namespaces, where the pid means nothing here */
  flock(fd, LOCK_UN);
  return schedrt__proc_check(pid, starttime) == SCHEDRT_PROC_ALIVE;
}

int schedrt__shm_check_stale(int dirfd, const char *name, uint32_t uid, bool unlink_it, bool *stale) {
  struct schedrt__shm_name nm;
  struct stat st, st2;
  int fd = -1, rc = 0;
  *stale = false;
  if (schedrt__shm_name_parse(name, &nm) != 0 || nm.uid != uid)
    return 0; /* not ours to judge */
  /* O_NOFOLLOW: a planted symlink is never followed; O_NONBLOCK: never a FIFO hang. */
  fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == EACCES && nm.is_dump)
    return stale_unreadable_dump(dirfd, name, &nm, uid, unlink_it, stale);
  if (fd < 0)
    return errno == ENOENT ? 0 : -errno;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != uid)
    goto out;
  /* A live runtime holds LOCK_SH for its whole life: if we cannot get
   * LOCK_EX, somebody is alive behind this object. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      rc = -errno;
    goto out;
  }
  if (schedrt__proc_check(nm.pid, nm.starttime) == SCHEDRT_PROC_ALIVE)
    goto out; /* unlocked but alive: initialising, or a live process's dump object; keep */
  *stale = true;
  if (!unlink_it)
    goto out;
  /* The name may have been replaced since we opened it: unlink only the
   * object we hold locked. */
  if (fstatat(dirfd, name, &st2, AT_SYMLINK_NOFOLLOW) == 0 && st2.st_dev == st.st_dev &&
      st2.st_ino == st.st_ino) {
    if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
      rc = -errno;
  } else {
    *stale = false;
  }
out:
  if (fd >= 0)
    close(fd); /* drops the lock, after the unlink */
  return rc;
}

struct sweep {
  uint32_t uid;
  uint32_t my_pid;
  uint64_t my_start;
  unsigned removed;
  int first_error;
};

static int sweep_one(int dirfd, const char *name, const struct schedrt__shm_name *nm, void *ctx) {
  struct sweep *s = ctx;
  bool stale;
  if (nm->uid != s->uid || (nm->pid == s->my_pid && nm->starttime == s->my_start))
    return 0; /* another user's, or our own process's */
  int r = schedrt__shm_check_stale(dirfd, name, s->uid, true, &stale);
  if (r == 0 && stale)
    s->removed++;
  else if (r != 0 && s->first_error == 0)
    s->first_error = r; /* remember the first failure, keep sweeping */
  return 0;
}

int schedrt__shm_sweep(const char *dir, uint32_t uid, unsigned *removed) {
  struct sweep s = {.uid = uid, .my_pid = (uint32_t)getpid()};
  if (removed)
    *removed = 0;
  (void)schedrt__proc_starttime((pid_t)s.my_pid, &s.my_start);
  int rc = schedrt__shm_scan(dir, sweep_one, &s);
  if (removed)
    *removed = s.removed;
  return rc ? rc : s.first_error;
}
