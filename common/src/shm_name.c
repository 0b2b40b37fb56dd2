/* Segment names and the identity of the process behind them (/proc). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "schedrt/shm_util.h"

int schedrt__shm_name_format(char *buf, size_t size, uint32_t uid, uint32_t pid, uint64_t starttime,
                             uint32_t index) {
  int n = snprintf(buf, size, SCHEDRT_SHM_PREFIX "%u.%u.%llu.%u", (unsigned)uid, (unsigned)pid,
                   (unsigned long long)starttime, (unsigned)index);
  return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* Parses one strict decimal number ending at '.' or NUL; advances *p. */
static int parse_u64(const char **p, uint64_t max, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  if (*s < '0' || *s > '9')
    return -EINVAL;
  if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
    return -EINVAL; /* leading zeros would give two names for one segment */
  for (; *s >= '0' && *s <= '9'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10u)
      return -EINVAL;
    v = v * 10u + d;
  }
  *p = s;
  *out = v;
  return 0;
}

int schedrt__shm_name_parse(const char *name, struct schedrt__shm_name *out) {
  const size_t plen = sizeof(SCHEDRT_SHM_PREFIX) - 1;
  uint64_t uid, pid, st, idx;
  const char *p = name;
  if (!name || strncmp(name, SCHEDRT_SHM_PREFIX, plen) != 0 || strlen(name) >= SCHEDRT_SHM_NAME_MAX)
    return -EINVAL;
  p += plen;
  if (parse_u64(&p, UINT32_MAX, &uid) || *p++ != '.' || parse_u64(&p, UINT32_MAX, &pid) || *p++ != '.' ||
      parse_u64(&p, UINT64_MAX, &st) || *p++ != '.')
    return -EINVAL;
  out->is_dump = false;
  if (strncmp(p, "dump.", 5) == 0) {
    out->is_dump = true;
    p += 5;
  }
  if (parse_u64(&p, UINT32_MAX, &idx) || *p != '\0')
    return -EINVAL;
  out->uid = (uint32_t)uid;
  out->pid = (uint32_t)pid;
  out->starttime = st;
  out->index = (uint32_t)idx;
  return 0;
}

/* One bounded read of /proc/PID/<file>, NUL-terminated: 0, -ESRCH (no such
 * process), or another negative errno. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ESRCH : -errno;
  ssize_t n = read(fd, buf, size - 1);
  int saved = errno;
  close(fd);
  if (n <= 0)
    return n < 0 ? -saved : -EIO;
  buf[n] = '\0';
  return 0;
}

int schedrt__proc_starttime(pid_t pid, uint64_t *out) {
  char buf[1024];
  int rc = read_proc(pid, "stat", buf, sizeof(buf));
  if (rc)
    return rc;
  /* comm (field 2) may contain spaces and ')': fields resume after the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p)
    return -EIO;
  p++;
  /* Field 3 is the first after ')'; starttime is field 22, 20 fields on. */
  for (int field = 3; field < 22; field++) {
    while (*p == ' ')
      p++;
    while (*p && *p != ' ')
      p++;
    if (!*p)
      return -EIO;
  }
  while (*p == ' ')
    p++;
  const char *q = p;
  uint64_t v;
  if (parse_u64(&q, UINT64_MAX, &v))
    return -EIO;
  *out = v;
  return 0;
}

int schedrt__proc_euid(pid_t pid, uint32_t *out) {
  char buf[4096];
  /* The Uid: line comes early (line 9 of ~55); one bounded read reaches it. */
  int rc = read_proc(pid, "status", buf, sizeof(buf));
  if (rc)
    return rc;
  /* "Uid:\t<real>\t<effective>\t<saved>\t<fs>": the effective one names segments. */
  const char *p = strstr(buf, "\nUid:");
  if (!p)
    return -EIO;
  p += 5;
  uint64_t real, eff;
  while (*p == '\t' || *p == ' ')
    p++;
  if (parse_u64(&p, UINT32_MAX, &real))
    return -EIO;
  while (*p == '\t' || *p == ' ')
    p++;
  if (parse_u64(&p, UINT32_MAX, &eff))
    return -EIO;
  *out = (uint32_t)eff;
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void schedrt__boot_id(uint8_t out[16]) {
  char buf[64];
  memset(out, 0, 16);
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  unsigned k = 0;
  for (const char *p = buf; *p && k < 32; p++) {
    int h = hexval((unsigned char)*p);
    if (h < 0)
      continue; /* dashes, newline */
    out[k / 2] = (uint8_t)(out[k / 2] | (h << ((k & 1u) ? 0 : 4)));
    k++;
  }
}

enum schedrt__proc_state schedrt__proc_check(uint32_t pid, uint64_t starttime) {
  if (pid == 0 || pid > (uint32_t)INT32_MAX)
    return SCHEDRT_PROC_GONE;
  int saved = errno;
  int rc = kill((pid_t)pid, 0);
  int err = errno;
  errno = saved;
  if (rc != 0 && err == ESRCH)
    return SCHEDRT_PROC_GONE;
  if (rc != 0 && err == EPERM && geteuid() != 0)
    return SCHEDRT_PROC_REUSED; /* a pid of another user now: our segment's owner is gone */
  uint64_t st;
  int r = schedrt__proc_starttime((pid_t)pid, &st);
  if (r == -ESRCH)
    return SCHEDRT_PROC_GONE;
  if (r == 0 && st != starttime)
    return SCHEDRT_PROC_REUSED;
  return SCHEDRT_PROC_ALIVE;
}
