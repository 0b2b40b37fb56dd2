/*
 * The requester's side of the control-page protocol (control.h,
 * docs/dump-format.md): claim req_seq, write the request, ring the doorbell,
 * wait for resp_seq, then collect the dump object the runtime created and
 * remove it. The control page is the only thing we ever write, and it is the
 * only range mapped writable (peers.md 4.8).
 */
#include "dump_client.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format.h"
#include "schedrt.h"
#include "schedrt/proto/control.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/shm_util.h"
#include "util.h"

#define ANSWER_MARGIN_MS 3000u /* encoding and writing after the barrier, plus scheduling noise */

struct dump_client {
  pid_t pid;
  uint32_t uid;                /* the segment's owner: the dump object must be theirs too */
  struct schedrt_ctl *ctl;     /* the mapped control page */
  size_t map_size;
  uint32_t seq;                /* the req_seq value we claimed from (our answer is seq + 2) */
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  uint64_t started_ns, deadline_ns;
  uint32_t timeout_ms;
  char output[PATH_MAX];
  int to_stdout;
  char shm_dir[PATH_MAX];
};

char *dump_default_name(char *buf, size_t size, const char *dir, long pid, uint64_t realtime_ns) {
  char stamp[32];
  return xsnprintf(buf, size, "%s/sched-dump-%ld-%s.cbor", dir ? dir : ".", pid,
                   fmt_stamp(stamp, sizeof(stamp), realtime_ns));
}

static int fail(dump_outcome *o, int err, int exit_code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(dump_outcome *o, int err, int exit_code, const char *fmt, ...) {
  va_list ap;
  o->err = err;
  o->exit_code = exit_code;
  o->path[0] = '\0';
  va_start(ap, fmt);
  vsnprintf(o->message, sizeof(o->message), fmt, ap);
  va_end(ap);
  return err;
}

/* Maps the control page of t's segment read-write, after checking it is still the same object. */
static int map_ctl(const inspect_target *t, struct schedrt_ctl **out, size_t *size, dump_outcome *o) {
  const schedrt_segment_info *info = t->info;
  long page = sysconf(_SC_PAGESIZE);
  struct stat st;
  if (info->ctl_size < sizeof(struct schedrt_ctl) || page <= 0 || info->ctl_off % (uint32_t)page != 0)
    return fail(o, -ENOTSUP, INSPECT_EXIT_FAILURE, "the segment has no usable control page (layout %u.%u)",
                info->layout_major, info->layout_minor);
  int fd = open(info->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return fail(o, -ESRCH, INSPECT_EXIT_GONE, "the target's segment is gone (the process exited)");
    return fail(o, -e, INSPECT_EXIT_FAILURE, "cannot open %s for the request: %s", info->path, strerror(e));
  }
  /* The same checks the reader made, again: the name could have been replaced since. */
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 || (st.st_mode & 077) ||
      st.st_uid != (uid_t)info->uid || (uint64_t)st.st_size < (uint64_t)info->ctl_off + info->ctl_size) {
    close(fd);
    return fail(o, SCHEDRT_EOWNER, INSPECT_EXIT_FAILURE,
                "refusing to write to %s: not the segment it was (owner, mode, links or size changed)", info->path);
  }
  const struct schedrt_shm_header *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
  if (h == MAP_FAILED) {
    int e = errno;
    close(fd);
    return fail(o, -e, INSPECT_EXIT_FAILURE, "mmap: %s", strerror(e));
  }
  int same = memcmp(h->instance_id, info->instance_id, sizeof(info->instance_id)) == 0;
  munmap((void *)h, sizeof(*h));
  if (!same) {
    close(fd);
    return fail(o, SCHEDRT_ESTALE, INSPECT_EXIT_GONE, "the segment was replaced by another runtime's");
  }
  void *p = mmap(NULL, info->ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)info->ctl_off);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED)
    return fail(o, -e, INSPECT_EXIT_FAILURE, "mmap of the control page: %s", strerror(e));
  *out = p;
  *size = info->ctl_size;
  return 0;
}

static void futex_wake(_Atomic uint32_t *word) {
  /* Shared (not FUTEX_PRIVATE): the runtime waits on its own mapping of this page. */
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

int dump_client_start(const inspect_target *t, const dump_request *req, dump_client **out, dump_outcome *o) {
  struct schedrt_ctl *ctl = NULL;
  size_t size = 0;
  memset(o, 0, sizeof(*o));
  o->status = -1;
  *out = NULL;
  int err = map_ctl(t, &ctl, &size, o);
  if (err)
    return err;
  dump_client *c = xcalloc(1, sizeof(*c));
  c->ctl = ctl;
  c->map_size = size;
  c->pid = t->pid;
  c->uid = t->info->uid;

  /* Acquire: the identity fields are published before state turns SERVED. */
  uint32_t state = atomic_load_explicit(&ctl->state, memory_order_acquire);
  if (ctl->magic != SCHEDRT_CTL_MAGIC || ctl->major != SCHEDRT_CTL_MAJOR) {
    err = fail(o, SCHEDRT_EVERSION, INSPECT_EXIT_FAILURE,
               "the control page speaks another protocol version (%u.%u; this sched-inspect knows %d.x)",
               ctl->major, ctl->minor, SCHEDRT_CTL_MAJOR);
    goto out;
  }
  if (state == SCHEDRT_CTL_STATE_CLOSED) {
    err = fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "the runtime is shutting down and takes no more requests");
    goto out;
  }
  if (state != SCHEDRT_CTL_STATE_SERVED || !(ctl->kinds & (1u << SCHEDRT_CTL_KIND_DUMP))) {
    err = fail(o, -ENOTSUP, INSPECT_EXIT_FAILURE,
               "the runtime serves no dump requests (built without task dumps?)");
    goto out;
  }
  uint32_t timeout = req->timeout_ms;
  if (timeout < ctl->timeout_min_ms)
    timeout = ctl->timeout_min_ms;
  if (ctl->timeout_max_ms && timeout > ctl->timeout_max_ms)
    timeout = ctl->timeout_max_ms;
  c->timeout_ms = timeout;

  /* Claim: nothing pending (resp_seq caught up with an even req_seq), then CAS to odd. */
  uint32_t s = atomic_load_explicit(&ctl->req_seq, memory_order_acquire);
  uint32_t r = atomic_load_explicit(&ctl->resp_seq, memory_order_acquire);
  if ((s & 1u) || r != s || !atomic_compare_exchange_strong_explicit(&ctl->req_seq, &s, s + 1u,
                                                                     memory_order_acq_rel, memory_order_relaxed)) {
    o->status = SCHEDRT_DUMP_BUSY;
    err = fail(o, -EBUSY, INSPECT_EXIT_FAILURE,
               "BUSY: another inspector's request is pending; try again in a moment");
    goto out;
  }
  c->seq = s;
  do {
    if (getrandom(c->nonce, sizeof(c->nonce), 0) != (ssize_t)sizeof(c->nonce)) {
      uint64_t x = inspect_now_ns() ^ ((uint64_t)getpid() << 32);
      memcpy(c->nonce, &x, sizeof(x));
    }
  } while (c->nonce[0] == 0 && memcmp(c->nonce, c->nonce + 1, sizeof(c->nonce) - 1) == 0);
  /* Plain stores: the release store of req_seq below publishes them. */
  ctl->req_kind = SCHEDRT_CTL_KIND_DUMP;
  ctl->req_flags = 0;
  ctl->req_timeout_ms = timeout;
  ctl->req_pid = (uint32_t)getpid();
  ctl->req_resv = 0;
  memcpy(ctl->req_nonce, c->nonce, sizeof(c->nonce));
  memset(ctl->req_label, 0, sizeof(ctl->req_label));
  if (req->label)
    memcpy(ctl->req_label, req->label, strnlen(req->label, sizeof(ctl->req_label) - 1));
  memset(ctl->req_resv2, 0, sizeof(ctl->req_resv2));
  atomic_store_explicit(&ctl->req_seq, s + 2u, memory_order_release);
  futex_wake(&ctl->req_seq);

  c->started_ns = inspect_now_ns();
  c->deadline_ns = c->started_ns +
                   ((uint64_t)timeout + 2ull * (ctl->poll_period_ms ? ctl->poll_period_ms : 100u) + ANSWER_MARGIN_MS) *
                       1000000ull;
  if (req->output && strcmp(req->output, "-") == 0)
    c->to_stdout = 1;
  else if (req->output)
    xsnprintf(c->output, sizeof(c->output), "%s", req->output);
  else
    dump_default_name(c->output, sizeof(c->output), req->output_dir, (long)t->pid, inspect_realtime_ns());
  xsnprintf(c->shm_dir, sizeof(c->shm_dir), "%s", req->shm_dir ? req->shm_dir : SCHEDRT_READER_SHM_DIR);
  *out = c;
  return 0;
out:
  munmap(ctl, size);
  free(c);
  return err;
}

uint64_t dump_client_elapsed_ns(const dump_client *c) { return inspect_now_ns() - c->started_ns; }

static const char *reason_text(uint32_t r) {
  static const char *const texts[SCHEDRT_CTL_R__COUNT] = {
      [SCHEDRT_CTL_R_NONE] = "",
      [SCHEDRT_CTL_R_KIND] = "unknown request kind",
      [SCHEDRT_CTL_R_FLAGS] = "unknown request flags",
      [SCHEDRT_CTL_R_TIMEOUT] = "timeout out of range",
      [SCHEDRT_CTL_R_LABEL] = "bad label",
      [SCHEDRT_CTL_R_NONCE] = "bad nonce",
      [SCHEDRT_CTL_R_REPLAY] = "replayed request",
      [SCHEDRT_CTL_R_TORN] = "request changed while the runtime read it",
      [SCHEDRT_CTL_R_RESERVED] = "reserved field not zero",
      [SCHEDRT_CTL_R_OBJECTS] = "too many uncollected dumps",
      [SCHEDRT_CTL_R_INFLIGHT] = "another dump is being taken",
      [SCHEDRT_CTL_R_IO] = "the runtime could not write the dump",
      [SCHEDRT_CTL_R_NOMEM] = "the runtime ran out of memory",
  };
  return r < SCHEDRT_CTL_R__COUNT && texts[r] ? texts[r] : "unknown reason";
}

/* Copies the runtime's dump object to the user's file, then removes the object. */
static int collect(dump_client *c, const char *object, uint64_t bytes, dump_outcome *o) {
  struct schedrt__shm_name nm;
  char src[PATH_MAX];
  struct stat st;
  const char *name = object[0] == '/' ? object + 1 : object;
  /* The name comes from shared memory: accept only a dump object of this very process. */
  if (schedrt__shm_name_parse(name, &nm) || !nm.is_dump || nm.pid != (uint32_t)c->pid || nm.uid != c->uid)
    return fail(o, SCHEDRT_EREJECTED, INSPECT_EXIT_FAILURE, "the runtime answered with an unexpected object name");
  xsnprintf(src, sizeof(src), "%s/%s", c->shm_dir, name);
  int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return fail(o, -errno, INSPECT_EXIT_FAILURE, "cannot open the dump object %s: %s", src, strerror(errno));
  if (fstat(in, &st) || !S_ISREG(st.st_mode) || st.st_uid != (uid_t)c->uid || st.st_nlink != 1 ||
      (st.st_mode & 077)) {
    close(in);
    return fail(o, SCHEDRT_EOWNER, INSPECT_EXIT_FAILURE, "refusing the dump object %s: wrong owner or mode", src);
  }
  if ((uint64_t)st.st_size < bytes) {
    close(in);
    return fail(o, SCHEDRT_ECORRUPT, INSPECT_EXIT_FAILURE, "the dump object is shorter than announced");
  }
  int out = c->to_stdout ? STDOUT_FILENO : open(c->output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    close(in);
    return fail(o, -e, INSPECT_EXIT_FAILURE, "cannot create %s: %s%s (the runtime removes its copy later)", c->output,
                strerror(e), e == EEXIST ? ", not overwriting" : "");
  }
  char buf[65536];
  uint64_t left = bytes ? bytes : (uint64_t)st.st_size;
  int e = 0;
  while (left > 0 && !e) {
    ssize_t n = read(in, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO;
      break;
    }
    for (ssize_t w = 0; w < n;) {
      ssize_t k = write(out, buf + w, (size_t)(n - w));
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0) {
        e = k < 0 ? errno : EIO;
        break;
      }
      w += k;
    }
    left -= (uint64_t)n;
  }
  close(in);
  if (!c->to_stdout && close(out) && !e)
    e = errno;
  if (e) {
    if (!c->to_stdout)
      unlink(c->output);
    return fail(o, -e, INSPECT_EXIT_FAILURE, "writing %s: %s", c->to_stdout ? "standard output" : c->output,
                strerror(e));
  }
  /* Collected: the runtime's copy has done its job. A failure here only leaves it to the runtime's cleanup. */
  unlink(src);
  xsnprintf(o->path, sizeof(o->path), "%s", c->to_stdout ? "-" : c->output);
  return 0;
}

int dump_client_poll(dump_client *c, dump_outcome *o) {
  struct schedrt_ctl *ctl = c->ctl;
  uint32_t want = c->seq + 2u;
  memset(o, 0, sizeof(*o));
  o->status = -1;
  uint32_t r = atomic_load_explicit(&ctl->resp_seq, memory_order_acquire);
  if (r != want) {
    uint64_t now = inspect_now_ns();
    o->elapsed_ns = now - c->started_ns;
    if (kill(c->pid, 0) && errno == ESRCH)
      return fail(o, SCHEDRT_ESTALE, INSPECT_EXIT_GONE, "the target exited before answering");
    if (atomic_load_explicit(&ctl->state, memory_order_acquire) == SCHEDRT_CTL_STATE_CLOSED)
      return fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "the runtime shut down before answering");
    if (now > c->deadline_ns)
      return fail(o, -ETIMEDOUT, INSPECT_EXIT_TIMEOUT,
                  "no answer after %.1f s: the runtime's monitor thread is not serving requests (hung or stopped?)",
                  (double)(now - c->started_ns) / 1e9);
    return -EAGAIN;
  }
  /* Copy the answer, then check that it did not change meanwhile (seqlock-style). */
  uint32_t status = ctl->resp_status, reason = ctl->resp_reason;
  uint32_t tasks = ctl->resp_tasks, covered = ctl->resp_workers_covered, missing = ctl->resp_workers_missing;
  uint64_t bytes = ctl->resp_bytes, pause = ctl->resp_pause_ns;
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  char object[SCHEDRT_CTL_OBJECT_SIZE];
  memcpy(nonce, ctl->resp_nonce, sizeof(nonce));
  memcpy(object, ctl->resp_object, sizeof(object));
  object[sizeof(object) - 1] = '\0';
  atomic_thread_fence(memory_order_acquire);
  if (atomic_load_explicit(&ctl->resp_seq, memory_order_relaxed) != want ||
      memcmp(nonce, c->nonce, sizeof(nonce)) != 0)
    return fail(o, SCHEDRT_ETORN, INSPECT_EXIT_FAILURE, "the answer was overwritten (another inspector?)");

  o->elapsed_ns = inspect_now_ns() - c->started_ns;
  o->status = (int)status;
  o->tasks = tasks;
  o->workers_ok = covered;
  o->workers_missing = missing;
  o->bytes = bytes;
  const char *sname = schedrt_dump_status_name((schedrt_dump_status)status);
  switch (status) {
  case SCHEDRT_DUMP_OK:
  case SCHEDRT_DUMP_PARTIAL: {
    int err = collect(c, object, bytes, o);
    if (err)
      return 0; /* o says why */
    char a[32], b[32];
    o->exit_code = status == SCHEDRT_DUMP_OK ? INSPECT_EXIT_OK : INSPECT_EXIT_PARTIAL;
    /* The file first: a narrow status line cuts the end, and the file is what the user needs. */
    xsnprintf(o->message, sizeof(o->message), "dump %s: saved to %s (%u tasks, %u/%u workers%s, %s bytes, pause %s)",
              sname, o->path, tasks, covered, covered + missing, missing ? ": the others missed the deadline" : "",
              fmt_si(a, sizeof(a), (double)bytes), fmt_duration(b, sizeof(b), pause));
    return 0;
  }
  case SCHEDRT_DUMP_SHUTDOWN:
    fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "%s: the runtime is shutting down", sname);
    return 0;
  case SCHEDRT_DUMP_DISABLED:
    fail(o, SCHEDRT_EDISABLED, INSPECT_EXIT_FAILURE, "%s: dumps are turned off in the target (SCHEDRT_DUMP=0?)",
         sname);
    return 0;
  default:
    fail(o, status == SCHEDRT_DUMP_BUSY ? -EBUSY : SCHEDRT_EREJECTED, INSPECT_EXIT_FAILURE, "%s%s%s", sname,
         reason ? ": " : "", reason_text(reason));
    return 0;
  }
}

void dump_client_free(dump_client *c) {
  if (!c)
    return;
  munmap(c->ctl, c->map_size);
  free(c);
}

/* For the blocking `sched-inspect dump`: sleep on the answer word instead of spinning. */
void dump_client_wait(dump_client *c, uint64_t max_ns) {
  uint32_t r = atomic_load_explicit(&c->ctl->resp_seq, memory_order_acquire);
  if (r != c->seq + 2u)
    futex_wait(&c->ctl->resp_seq, r, max_ns);
}
