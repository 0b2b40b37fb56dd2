/*
 * libFuzzer target: the segment reader and validator (common/src/reader*.c)
 * on an arbitrary object. The input becomes a private 0600 file of ours
 * under /dev/shm (a tmpfs, as for real segments); the reader opens it by
 * path, and whatever it accepts is snapshotted (histograms included), judged
 * for liveness and read through every descriptor, as sched-inspect would.
 * Then the file is truncated under the open reader, which must say
 * SCHEDRT_ECHANGED, never take a SIGBUS.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

static void make_path(void) {
  if (path[0])
    return;
  /* Not a segment name: name-based checks are the scanner's, tested elsewhere. */
  snprintf(path, sizeof(path), "/dev/shm/schedrt-fuzz-segment.%ld", (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  make_path();
  if (size > (1u << 20))
    return 0; /* the reader's own bound is 64 MiB; keep iterations fast */
  unlink(path);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    unlink(path);
    return 0;
  }
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_WAIT | SCHEDRT_READER_NO_LIVENESS, .max_retries = 4};
  schedrt_reader *r = NULL;
  if (schedrt_reader_open_path(path, &o, &r) == 0) {
    schedrt_snapshot s;
    if (schedrt_snapshot_init(r, &s) == 0) {
      int rc = schedrt_snapshot_take(r, SCHEDRT_SNAP_HISTOGRAMS | SCHEDRT_SNAP_NO_LIVENESS, &s);
      if (rc != 0 && rc != SCHEDRT_ETORN)
        __builtin_trap(); /* the file did not change: only a torn block may fail */
      for (int id = 0; id < SCHEDRT_M__COUNT; id++)
        for (uint32_t w = 0; w < s.nworkers && w < 4; w++) {
          uint64_t v;
          int vr = schedrt_snapshot_value(&s, id, w, &v);
          (void)vr; /* -ENODATA for a torn worker: fine */
        }
      for (size_t i = 0; i < schedrt_reader_desc_count(r); i++) {
        uint64_t v;
        if (schedrt_snapshot_raw(r, i, 0, 0, &v) != 0)
          __builtin_trap(); /* every descriptor was validated at open */
      }
      schedrt_liveness l;
      if (schedrt_reader_liveness(r, &l) != 0)
        __builtin_trap();
      /* Shrink it under the open reader: an error, not a SIGBUS. */
      if (ftruncate(fd, 16) == 0 && schedrt_snapshot_take(r, 0, &s) != SCHEDRT_ECHANGED)
        __builtin_trap();
      schedrt_snapshot_fini(&s);
    }
    schedrt_reader_close(r);
  }
  close(fd);
  unlink(path);
  return 0;
}
