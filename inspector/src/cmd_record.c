/*
 * `sched-inspect record PID -i 100ms -o FILE`: a snapshot every interval,
 * each appended to FILE as one item of a recording (recording.h,
 * docs/recording-format.md) in one write, until a bound (--duration, -n), a
 * signal (SIGINT, SIGTERM) or the target's exit, which end the file with a
 * trailer saying why. The snapshots are the reader library's, the same the
 * live view takes; a sample costs one seqlock copy of the segment and one
 * write (docs/performance.md has the CPU it takes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "format.h"
#include "recording.h"
#include "schedrt/proto/shm_layout.h"
#include "util.h"

#define LIVENESS_PERIOD_NS 500000000ull /* process checks (kill, /proc, flock) at most twice a second */

/* The sleep between samples ends at once on SIGINT/SIGTERM, and so does the recording. */
static void install_handlers(void) {
  inspect_catch_stop();
  /* A reader that went away (`-o - | head`) is a write error with a message, not a silent death. */
  signal(SIGPIPE, SIG_IGN);
}

/* FILE created before anything is read: exclusively (or replacing it with --force), mode 0600 since a
 * recording names tasks and source files, as a dump does. "-": standard output, unless a terminal. */
static int open_output(const inspect_opts *o, const char *path, int *fd) {
  if (strcmp(path, "-") == 0) {
    if (isatty(STDOUT_FILENO)) {
      fprintf(stderr, INSPECT_PROG ": record -o -: standard output is a terminal; redirect it to a file or a "
                                   "pipe\n");
      return INSPECT_EXIT_USAGE;
    }
    *fd = STDOUT_FILENO;
    return 0;
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (o->force ? O_TRUNC : O_EXCL);
  *fd = open(path, flags, 0600);
  if (*fd < 0) {
    int e = errno;
    fprintf(stderr, INSPECT_PROG ": cannot create %s: %s%s\n", path, strerror(e),
            e == EEXIST ? " (--force replaces it)" : "");
    return INSPECT_EXIT_FAILURE;
  }
  return 0;
}

static int gone(const schedrt_snapshot *s) {
  return s->seg_state == 2 /* EXITING */ || s->liveness == SCHEDRT_LIVENESS_STALE ||
         s->liveness == SCHEDRT_LIVENESS_EXITING;
}

/* Sleeps until the monotonic time due, or until a signal. */
static void sleep_until(uint64_t due) {
  uint64_t now = inspect_now_ns();
  if (due > now)
    inspect_sleep_ns(due - now);
}

int cmd_record(const inspect_opts *o) {
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  inspect_target t;
  schedrt_snapshot s;
  rec_writer w = {.fd = -1};
  char msg[512], path_buf[128], stamp[32], size[32];
  int fd = -1, rc;
  int err = target_attach(o->pid, &ao, &t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
    return target_exit_code(err);
  }
  const char *path = o->output;
  if (!path) {
    xsnprintf(path_buf, sizeof(path_buf), "sched-rec-%ld-%s.cbor", (long)o->pid,
              fmt_stamp(stamp, sizeof(stamp), inspect_realtime_ns()));
    path = path_buf;
  }
  if ((rc = open_output(o, path, &fd)) != 0) {
    target_detach(&t);
    return rc;
  }
  if (schedrt_snapshot_init(t.reader, &s))
    inspect_fatal("out of memory");
  install_handlers();

  int timing = (t.info->features & SCHEDRT_SHM_F_TIMING) != 0 && !o->no_histograms;
  unsigned hist = timing ? SCHEDRT_SNAP_HISTOGRAMS : 0;
  uint64_t start = inspect_now_ns(), next = start, last_liveness = start;
  const char *why = NULL;
  rc = INSPECT_EXIT_OK;
  err = schedrt_snapshot_take(t.reader, hist, &s);
  if (err && err != SCHEDRT_ETORN) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
    rc = INSPECT_EXIT_FAILURE;
    goto out;
  }
  rec_writer_opts wo = {.interval_ns = o->interval_ns,
                        .started_mono_ns = s.taken_mono_ns,
                        .started_realtime_ns = inspect_realtime_ns(),
                        .nworkers = s.nworkers,
                        .no_histograms = o->no_histograms};
  err = rec_writer_open(&w, fd, t.reader, &wo);
  if (!err)
    fprintf(stderr,
            INSPECT_PROG ": recording pid %ld (runtime \"%s\", %u workers) every %s to %s; Ctrl-C stops\n",
            (long)o->pid, t.info->runtime_name, s.nworkers,
            fmt_duration(stamp, sizeof(stamp), o->interval_ns),
            strcmp(path, "-") == 0 ? "standard output" : path);
  while (!err) {
    err = rec_writer_sample(&w, t.reader, &s, inspect_realtime_ns());
    if (err)
      break;
    if (gone(&s)) {
      why = "exited";
      break;
    }
    if (o->count && (long)w.samples >= o->count) {
      why = "count";
      break;
    }
    next += o->interval_ns;
    if (o->duration_ns && next - start > o->duration_ns) {
      why = "duration";
      break;
    }
    sleep_until(next);
    if (inspect_stop_signal()) {
      why = "signal";
      break;
    }
    /* Falling behind (a stopped recorder, a slow disk): the next sample on the grid from now, no burst. */
    uint64_t now = inspect_now_ns();
    if (now > next + o->interval_ns)
      next = now - (now - start) % o->interval_ns;
    unsigned flags = hist;
    if (now - last_liveness < LIVENESS_PERIOD_NS)
      flags |= SCHEDRT_SNAP_NO_LIVENESS;
    else
      last_liveness = now;
    int serr = schedrt_snapshot_take(t.reader, flags, &s);
    if (serr && serr != SCHEDRT_ETORN) {
      fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, serr));
      why = "error";
      rc = INSPECT_EXIT_FAILURE;
      break;
    }
  }
  if (!err && why)
    err = rec_writer_end(&w, why);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": cannot write %s: %s\n", path, strerror(-err));
    rc = INSPECT_EXIT_FAILURE;
    goto out;
  }
  struct stat st;
  if (fd != STDOUT_FILENO && fstat(fd, &st) == 0)
    xsnprintf(size, sizeof(size), ", %s bytes", fmt_si(stamp, sizeof(stamp), (double)st.st_size));
  else
    size[0] = '\0';
  if (strcmp(why, "exited") == 0)
    fprintf(stderr,
            INSPECT_PROG ": pid %ld exited (%s): the recording ends with its last figures, %llu samples%s "
                         "in %s\n",
            (long)o->pid, schedrt_liveness_name(s.liveness), (unsigned long long)w.samples, size, path);
  else
    fprintf(stderr, INSPECT_PROG ": %llu samples%s in %s (ended: %s)\n", (unsigned long long)w.samples, size,
            path,
            strcmp(why, "signal") == 0  ? "signal"
            : strcmp(why, "count") == 0 ? "-n reached"
                                        : why);
out:
  rec_writer_fini(&w);
  schedrt_snapshot_fini(&s);
  if (fd >= 0 && fd != STDOUT_FILENO && close(fd) != 0 && rc == INSPECT_EXIT_OK) {
    fprintf(stderr, INSPECT_PROG ": cannot write %s: %s\n", path, strerror(errno));
    rc = INSPECT_EXIT_FAILURE;
  }
  target_detach(&t);
  return rc;
}
