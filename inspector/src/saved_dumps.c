/* The watchdog's saved dumps of one process (see saved_dumps.h). */
#include "saved_dumps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

struct found {
  unsigned long n;
  char *path;
};

static int by_number(const void *a, const void *b) {
  unsigned long x = ((const struct found *)a)->n, y = ((const struct found *)b)->n;
  return x < y ? -1 : x > y;
}

/* The <n> of "<prefix><n>.cbor", or -1 for any other name. */
static long number_of(const char *name, const char *prefix) {
  size_t pl = strlen(prefix);
  if (strncmp(name, prefix, pl) != 0)
    return -1;
  char *end;
  errno = 0;
  unsigned long n = strtoul(name + pl, &end, 10);
  if (errno || end == name + pl || strcmp(end, ".cbor") != 0 || n > 1000000ul)
    return -1;
  return (long)n;
}

int saved_dumps_list(const char *dir, uint32_t pid, uint64_t starttime, char ***out, size_t *n) {
  char prefix[96];
  *out = NULL;
  *n = 0;
  xsnprintf(prefix, sizeof(prefix), "schedrt-watchdog.%u.%llu.", (unsigned)pid,
            (unsigned long long)starttime);
  DIR *d = opendir(dir);
  if (!d)
    return -errno;
  struct found *f = NULL;
  size_t len = 0;
  struct dirent *e;
  while ((e = readdir(d)) && len < SAVED_DUMPS_MAX) {
    long k = number_of(e->d_name, prefix);
    struct stat st;
    /* A planted link or a FIFO under a good name is not a dump of ours. */
    if (k < 0 || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    f = xrealloc(f, (len + 1) * sizeof(*f));
    f[len].n = (unsigned long)k;
    char path[4096];
    f[len].path = xstrdup(xsnprintf(path, sizeof(path), "%s/%s", dir, e->d_name));
    len++;
  }
  closedir(d);
  if (len) /* qsort's base must not be NULL, even for no elements */
    qsort(f, len, sizeof(*f), by_number);
  char **list = xcalloc(len ? len : 1, sizeof(*list));
  for (size_t i = 0; i < len; i++)
    list[i] = f[i].path;
  free(f);
  *out = list;
  *n = len;
  return 0;
}

void saved_dumps_free(char **list, size_t n) {
  for (size_t i = 0; list && i < n; i++)
    free(list[i]);
  free(list);
}
