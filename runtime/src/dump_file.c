/*
 * Dump files and shm objects. Nothing is ever visible half-written: a dump is
 * written into an unnamed O_TMPFILE and linked under its name once complete
 * (or, where the filesystem lacks O_TMPFILE, created with mode 0 and made 0600
 * once complete, so its owner cannot open it before). Names are created
 * exclusively and links are never followed. For another process the runtime
 * chooses the name itself, in /dev/shm, and removes what nobody collected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"

#define SHM_DIR "/dev/shm"

/*
 * Tries per request for a free object name. Each name is random (below), so a
 * taken one is a leftover or a squatter's guess; another user would have to
 * fill a noticeable share of 2^32 names per process to make one try fail, and
 * all of these to fail one request (docs/security.md, "squatted names").
 */
#define NAME_TRIES 64

int schedrt__dfile_create(struct schedrt__dfile *f, int dirfd, const char *name) {
  struct stat st;
  f->fd = -1;
  f->dirfd = dirfd;
  f->tmpfile = false;
  if (!name[0] || strchr(name, '/'))
    return -EINVAL;
  if ((size_t)snprintf(f->name, sizeof(f->name), "%s", name) >= sizeof(f->name))
    return -ENAMETOOLONG;
  /* Fail before the work, not at the link (which re-checks anyway). */
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return -EEXIST;
  f->fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (f->fd >= 0) {
    f->tmpfile = true;
    return 0;
  }
  /* EISDIR/EOPNOTSUPP/EINVAL: no O_TMPFILE in this kernel or filesystem. */
  if (errno != EISDIR && errno != EOPNOTSUPP && errno != EINVAL)
    return -errno;
  f->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
  return f->fd < 0 ? -errno : 0;
}

int schedrt__dfile_commit(struct schedrt__dfile *f) {
  int rc = 0;
  /* Explicit, whatever the umask did at creation. */
  if (fchmod(f->fd, 0600) != 0) {
    rc = -errno;
    schedrt__dfile_abort(f);
    return rc;
  }
  if (f->tmpfile) {
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    if (linkat(AT_FDCWD, proc, f->dirfd, f->name, AT_SYMLINK_FOLLOW) != 0) {
      rc = -errno;
      if (rc == -EEXIST)
        return rc; /* the caller may pick another name */
    }
  }
  close(f->fd);
  f->fd = -1;
  return rc;
}

void schedrt__dfile_abort(struct schedrt__dfile *f) {
  if (f->fd < 0)
    return;
  if (!f->tmpfile)
    unlinkat(f->dirfd, f->name, 0);
  close(f->fd);
  f->fd = -1;
}

int schedrt__dobj_dir(void) {
  int fd = open(SHM_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/*
 * A fresh object name: <n> is 32 random bits from getrandom(2), not a
 * counter, so another user cannot create our next names first (a counter
 * from 0 let any local user make every request fail). GRND_NONBLOCK: early
 * at boot the pool may not be ready; then the clock and a counter stand in,
 * which only makes squatting guessable, never two names of ours equal.
 */
static int next_name(struct schedrt__dump *d, char *buf, size_t size) {
  static _Atomic uint32_t fallback;
  uint32_t n;
  if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t)sizeof(n))
    /* Relaxed: uniqueness only. */
    n = (uint32_t)schedrt__now_ns() ^ (atomic_fetch_add_explicit(&fallback, 1, memory_order_relaxed) << 20);
  int len = snprintf(buf, size, SCHEDRT_SHM_PREFIX "%u.%u.%llu.dump.%u", (unsigned)d->uid, (unsigned)d->pid,
                     (unsigned long long)d->starttime, (unsigned)n);
  return (len < 0 || (size_t)len >= size) ? -ENAMETOOLONG : 0;
}

int schedrt__dobj_create(struct schedrt__dump *d, struct schedrt__dfile *f, int dirfd) {
  char name[SCHEDRT_CTL_OBJECT_SIZE - 1];
  int rc = -EEXIST;
  /* A taken name is a squatter or a leftover: another random one will do. */
  for (int attempt = 0; attempt < NAME_TRIES && rc == -EEXIST; attempt++) {
    if ((rc = next_name(d, name, sizeof(name))))
      return rc;
    rc = schedrt__dfile_create(f, dirfd, name);
  }
  return rc;
}

int schedrt__dobj_commit(struct schedrt__dump *d, struct schedrt__dfile *f,
                         char name[SCHEDRT_CTL_OBJECT_SIZE]) {
  int rc = schedrt__dfile_commit(f);
  for (int attempt = 0; attempt < NAME_TRIES && rc == -EEXIST; attempt++) {
    if ((rc = next_name(d, f->name, SCHEDRT_CTL_OBJECT_SIZE - 1)))
      break;
    rc = schedrt__dfile_commit(f);
  }
  if (rc) {
    schedrt__dfile_abort(f);
    return rc;
  }
  struct stat st;
  if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    rc = -errno;
    unlinkat(f->dirfd, f->name, 0);
    return rc;
  }
  /* next_name kept it short: '/' + name + NUL fit. */
  size_t len = strnlen(f->name, SCHEDRT_CTL_OBJECT_SIZE - 2);
  name[0] = '/';
  memcpy(name + 1, f->name, len);
  name[len + 1] = '\0';
  pthread_mutex_lock(&d->obj_lock);
  if (d->nobjs < SCHEDRT__DOBJ_MAX) {
    struct schedrt__dobj *o = &d->objs[d->nobjs++];
    memcpy(o->name, f->name, len);
    o->name[len] = '\0';
    o->created_ns = schedrt__now_ns();
    o->dev = (uint64_t)st.st_dev;
    o->ino = (uint64_t)st.st_ino;
  }
  pthread_mutex_unlock(&d->obj_lock);
  return 0;
}

uint64_t schedrt__dobj_abandon_ns(const struct schedrt__dump *d) {
  return (2ull * d->rt->cfg.monitor_period_ms + SCHEDRT__DOBJ_ABANDON_MARGIN_MS) * 1000000ull;
}

uint32_t schedrt__dobj_sweep(struct schedrt__dump *d, uint64_t now, uint64_t keep_ns, bool all) {
  pthread_mutex_lock(&d->obj_lock);
  if (d->nobjs == 0) {
    pthread_mutex_unlock(&d->obj_lock);
    return 0;
  }
  int dirfd = schedrt__dobj_dir();
  for (uint32_t i = 0; dirfd >= 0 && i < d->nobjs;) {
    struct schedrt__dobj *o = &d->objs[i];
    struct stat st;
    bool ours = fstatat(dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t)st.st_dev == o->dev &&
                (uint64_t)st.st_ino == o->ino;
    /* `now` may predate the object: the tick's clock was read before its dump. */
    uint64_t age = now > o->created_ns ? now - o->created_ns : 0;
    bool keep = ours && !all && age < keep_ns;
    if (keep) {
      i++;
      continue;
    }
    /* Gone (collected) or replaced: forget it; ours and expired: remove it.
     * Only the entry we made is unlinked, never a namesake. */
    if (ours)
      unlinkat(dirfd, o->name, 0);
    d->objs[i] = d->objs[--d->nobjs];
  }
  if (dirfd >= 0)
    close(dirfd);
  uint32_t left = d->nobjs;
  pthread_mutex_unlock(&d->obj_lock);
  return left;
}
