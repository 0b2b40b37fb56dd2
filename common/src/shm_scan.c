/*
 * The one walk over the directory of shm objects. Opening a runtime's
 * segment by pid, listing a user's objects and sweeping stale ones all want
 * the same entries (those whose names parse as ours, with the fields
 * parsed), so the reading of the directory and the name test live here.
 */
#include <dirent.h>
#include <errno.h>

#include "schedrt/shm_util.h"

int schedrt__shm_scan(const char *dir, schedrt__shm_scan_fn fn, void *ctx) {
  DIR *d = opendir(dir ? dir : SCHEDRT_SHM_DIR);
  if (!d)
    return -errno;
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    struct schedrt__shm_name nm;
    if (schedrt__shm_name_parse(e->d_name, &nm) == 0)
      rc = fn(dirfd(d), e->d_name, &nm, ctx);
  }
  closedir(d);
  return rc;
}
