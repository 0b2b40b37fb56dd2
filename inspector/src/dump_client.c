/*
 * The inspector's requests through the control page (control.h,
 * docs/dump-format.md). The protocol itself is the common requester's
 * (common/src/dump_read_ctl.c: schedrt_ctl_submit claims req_seq and rings the
 * doorbell with compare-and-swaps, schedrt_ctl_wait reads our own answer slot
 * as a seqlock and checks the echoed nonce, schedrt_ctl_collect opens, checks
 * and removes the dump object); this file adds what a user needs around it:
 * mapping only the control page writable after checking it is still the
 * segment we attached to, clamping the timeout, a non-blocking poll for the
 * TUI with the target's exit, shutdown and a deadline noticed, an object name
 * that must be a dump of this very process, and saving to the user's file.
 */
#include "dump_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "schedrt.h"
#include "schedrt/dump_read.h"
#include "schedrt/proto/control.h"
#include "schedrt/proto/shm_layout.h"
#include "schedrt/shm_util.h"
#include "util.h"

#define ANSWER_MARGIN_MS 3000u /* encoding and writing after the barrier, plus scheduling noise */

struct dump_client {
  pid_t pid;
  uint32_t uid;            /* the segment's owner: the dump object must be theirs too */
  struct schedrt_ctl *ctl; /* the mapped control page */
  size_t map_size;
  uint32_t seq; /* the sequence our answer carries (from schedrt_ctl_submit) */
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  int answered; /* answer is ours (schedrt_ctl_wait said so) */
  schedrt_ctl_answer answer;
  uint64_t started_ns, deadline_ns;
  uint32_t timeout_ms;
  char output[PATH_MAX];
  int to_stdout;
  /* The destination, created before the request (so a bad one costs the runtime nothing): output
   * itself, or with --force a new file beside it that replaces it once the dump is in. */
  int out_fd;
  char created[PATH_MAX]; /* the file we made ("" for stdout): removed unless the dump was saved in it */
  int saved;
  char shm_dir[PATH_MAX];
  /* In memory: no file at all; the dump stays here until taken (or the client is freed). */
  int in_memory;
  void *mem;
  size_t mem_len;
  int collected; /* the answer's object was read (and removed), or that was tried */
};

char *dump_default_name(char *buf, size_t size, const char *dir, long pid, uint64_t realtime_ns) {
  char stamp[32];
  return xsnprintf(buf, size, "%s/sched-dump-%ld-%s.cbor", dir ? dir : ".", pid,
                   fmt_stamp(stamp, sizeof(stamp), realtime_ns));
}

static int fail(dump_outcome *o, int err, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
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
  /* O_NONBLOCK as for every object under /dev/shm: whatever is under the name now must not block us. */
  int fd = open(info->path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
                "refusing to write to %s: not the segment it was (owner, mode, links or size changed)",
                info->path);
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

static int create_excl(const char *path) {
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Removes the file we created for a dump that did not come, and closes it. */
static void drop_output(dump_client *c) {
  if (c->out_fd >= 0 && !c->to_stdout)
    close(c->out_fd);
  c->out_fd = -1;
  if (c->created[0] && !c->saved)
    unlink(c->created);
  c->created[0] = '\0';
}

/*
 * Creates the destination before anything is asked of the runtime: O_EXCL, mode 0600, never
 * following a link. The default name takes a number when taken ("...-2.cbor": `d` twice in one
 * second); a name the user gave is refused when it exists, unless --force, which writes a new file
 * beside it (mkstemp in the same directory) and renames it over the old one once the dump is in.
 */
static int open_output(dump_client *c, const dump_request *req, pid_t pid, dump_outcome *o) {
  c->out_fd = -1;
  if (req->in_memory) {
    c->in_memory = 1;
    return 0;
  }
  if (req->output && strcmp(req->output, "-") == 0) {
    c->to_stdout = 1;
    c->out_fd = STDOUT_FILENO;
    return 0;
  }
  if (req->output && req->force) {
    xsnprintf(c->output, sizeof(c->output), "%s", req->output);
    xsnprintf(c->created, sizeof(c->created), "%s.XXXXXX", req->output);
    c->out_fd = mkstemp(c->created);
    if (c->out_fd >= 0)
      return 0;
    c->created[0] = '\0';
  } else if (req->output) {
    xsnprintf(c->output, sizeof(c->output), "%s", req->output);
    c->out_fd = create_excl(c->output);
  } else {
    dump_default_name(c->output, sizeof(c->output), req->output_dir, (long)pid, inspect_realtime_ns());
    c->out_fd = create_excl(c->output);
    if (c->out_fd < 0 && errno == EEXIST) {
      char stem[PATH_MAX];
      xsnprintf(stem, sizeof(stem), "%.*s", (int)(strlen(c->output) - strlen(".cbor")), c->output);
      for (int n = 2; c->out_fd < 0 && errno == EEXIST && n < 100; n++) {
        xsnprintf(c->output, sizeof(c->output), "%s-%d.cbor", stem, n);
        c->out_fd = create_excl(c->output);
      }
    }
  }
  if (c->out_fd < 0) {
    int e = errno;
    return fail(o, -e, INSPECT_EXIT_FAILURE, "cannot create %s: %s%s; no dump was asked for", c->output,
                strerror(e), e == EEXIST && req->output ? ", not overwriting (--force replaces it)" : "");
  }
  xsnprintf(c->created, sizeof(c->created), "%s", c->output);
  return 0;
}

int dump_output_dir_check(const char *dir, char *msg, size_t size) {
  struct stat st;
  if (stat(dir, &st)) {
    int e = errno;
    xsnprintf(msg, size, "-o %s: %s", dir, strerror(e));
    return -e;
  }
  if (!S_ISDIR(st.st_mode)) {
    xsnprintf(msg, size, "-o %s: not a directory", dir);
    return -ENOTDIR;
  }
  /* Trying is the only true test: access() says yes to root on a read-only mount or /proc. */
  char probe[PATH_MAX];
  xsnprintf(probe, sizeof(probe), "%s/.sched-inspect-probe-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    int e = errno;
    xsnprintf(msg, size, "-o %s: dumps cannot be saved there: %s", dir, strerror(e));
    return -e;
  }
  close(fd);
  unlink(probe);
  return 0;
}

int dump_client_start(const inspect_target *t, const dump_request *req, dump_client **out, dump_outcome *o) {
  struct schedrt_ctl *ctl = NULL;
  size_t size = 0;
  memset(o, 0, sizeof(*o));
  o->status = -1;
  *out = NULL;
  dump_client *c = xcalloc(1, sizeof(*c));
  int err = open_output(c, req, t->pid, o);
  if (!err)
    err = map_ctl(t, &ctl, &size, o);
  if (err) {
    drop_output(c);
    free(c);
    return err;
  }
  c->ctl = ctl;
  c->map_size = size;
  c->pid = t->pid;
  c->uid = t->info->uid;

  /* Acquire: the identity fields are published before state turns SERVED, so they
   * mean something only after it did (a runtime without task dumps leaves the page zero). */
  uint32_t state = atomic_load_explicit(&ctl->state, memory_order_acquire);
  if (state == SCHEDRT_CTL_STATE_CLOSED) {
    err = fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "the runtime is shutting down and takes no more requests");
    goto out;
  }
  if (state != SCHEDRT_CTL_STATE_SERVED && state != SCHEDRT_CTL_STATE_OFF) {
    /* No runtime stores anything else; it puts its page back at its next tick. */
    err = fail(o, SCHEDRT_ECORRUPT, INSPECT_EXIT_FAILURE,
               "the control page is corrupt (state %#x; the runtime repairs it within a monitor period: "
               "try again)",
               state);
    goto out;
  }
  if (state != SCHEDRT_CTL_STATE_SERVED) {
    err = fail(o, -ENOTSUP, INSPECT_EXIT_FAILURE,
               "the runtime serves no dump requests (built without task dumps?)");
    goto out;
  }
  if (ctl->magic != SCHEDRT_CTL_MAGIC || ctl->major != SCHEDRT_CTL_MAJOR) {
    err = fail(o, SCHEDRT_EVERSION, INSPECT_EXIT_FAILURE,
               "the control page speaks another protocol version (%u.%u; this sched-inspect knows %d.x)",
               ctl->major, ctl->minor, SCHEDRT_CTL_MAJOR);
    goto out;
  }
  if (!(ctl->kinds & (1u << SCHEDRT_CTL_KIND_DUMP))) {
    err = fail(o, -ENOTSUP, INSPECT_EXIT_FAILURE,
               "the runtime serves no dump requests (built without task dumps?)");
    goto out;
  }
  /* 0 asks for the runtime's own default, which its page says. */
  uint32_t timeout = req->timeout_ms;
  if (timeout && timeout < ctl->timeout_min_ms)
    timeout = ctl->timeout_min_ms;
  if (timeout && ctl->timeout_max_ms && timeout > ctl->timeout_max_ms)
    timeout = ctl->timeout_max_ms;
  c->timeout_ms = timeout ? timeout : ctl->timeout_default_ms;

  /* Past this we stop waiting; the runtime is told, so that it does not dump for nobody. */
  c->started_ns = inspect_now_ns();
  c->deadline_ns =
      c->started_ns +
      ((uint64_t)timeout + 2ull * (ctl->poll_period_ms ? ctl->poll_period_ms : 100u) + ANSWER_MARGIN_MS) *
          1000000ull;
  /* Claim, fill with a fresh nonce, ring: both steps compare-and-swaps (dump_read_ctl.c). */
  err =
      schedrt_ctl_submit(ctl, SCHEDRT_CTL_KIND_DUMP, timeout, req->label, c->deadline_ns, &c->seq, c->nonce);
  switch (err) {
  case 0:
    break;
  case -EBUSY:
    o->status = SCHEDRT_DUMP_BUSY;
    err = fail(o, err, INSPECT_EXIT_FAILURE,
               "BUSY: another inspector's request is pending; try again in a moment");
    goto out;
  case -ENOTSUP:
    err = fail(o, err, INSPECT_EXIT_FAILURE, "the runtime stopped serving requests");
    goto out;
  case -EINVAL:
    err = fail(o, err, INSPECT_EXIT_USAGE, "the label must be printable ASCII of at most %d bytes",
               SCHEDRT_CTL_LABEL_SIZE - 1);
    goto out;
  default:
    err = fail(o, err, INSPECT_EXIT_FAILURE, "cannot make the request: %s", schedrt_strerror(err));
    goto out;
  }

  xsnprintf(c->shm_dir, sizeof(c->shm_dir), "%s", req->shm_dir ? req->shm_dir : SCHEDRT_READER_SHM_DIR);
  *out = c;
  return 0;
out:
  munmap(ctl, size);
  drop_output(c);
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
      [SCHEDRT_CTL_R_EXPIRED] = "answered after this request's deadline (the target was stopped or slow)",
  };
  return r < SCHEDRT_CTL_R__COUNT && texts[r] ? texts[r] : "unknown reason";
}

/* Writes all of buf to fd. 0 or an errno value. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t k = write(fd, buf, len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return k < 0 ? errno : EIO;
    buf += k;
    len -= (size_t)k;
  }
  return 0;
}

/* Collects the runtime's dump object (read, checked, removed: schedrt_ctl_collect) into the user's file. */
static int collect(dump_client *c, const char *object, uint64_t bytes, dump_outcome *o) {
  struct schedrt__shm_name nm;
  char obj[SCHEDRT_CTL_OBJECT_SIZE + 1];
  const char *name = object[0] == '/' ? object + 1 : object;
  /* The name comes from shared memory: accept only a dump object of this very process. */
  if (schedrt__shm_name_parse(name, &nm) || !nm.is_dump || nm.pid != (uint32_t)c->pid || nm.uid != c->uid)
    return fail(o, SCHEDRT_EREJECTED, INSPECT_EXIT_FAILURE,
                "the runtime answered with an unexpected object name");
  xsnprintf(obj, sizeof(obj), "/%s", name);
  void *buf = NULL;
  size_t len = 0;
  c->collected = 1;
  /* Non-blocking and checked before any read (a FIFO or another user's file under the name fails
   * at once), so the file we just created is removed again on every failure below. */
  int err = schedrt_ctl_collect(c->shm_dir, obj, c->uid, &buf, &len);
  if (!err && len < bytes)
    err = SCHEDRT_ECORRUPT;
  int e = 0;
  if (!err && c->in_memory) {
    c->mem = buf;
    c->mem_len = bytes ? (size_t)bytes : len;
    buf = NULL;
  } else if (!err) {
    e = write_all(c->out_fd, buf, bytes ? (size_t)bytes : len);
  }
  free(buf);
  if (c->out_fd >= 0 && !c->to_stdout && close(c->out_fd) && !err && !e)
    e = errno;
  c->out_fd = -1;
  /* --force: the old file is replaced only now, by the complete dump. */
  if (!err && !e && !c->in_memory && !c->to_stdout && strcmp(c->created, c->output) != 0 &&
      rename(c->created, c->output))
    e = errno;
  if (err || e) {
    drop_output(c);
    if (err == SCHEDRT_ENOTSEG)
      return fail(o, err, INSPECT_EXIT_FAILURE,
                  "refusing the dump object %s%s: not a regular file (planted by someone?)", c->shm_dir, obj);
    if (err == SCHEDRT_EOWNER)
      return fail(o, err, INSPECT_EXIT_FAILURE, "refusing the dump object %s%s: wrong owner, mode or links",
                  c->shm_dir, obj);
    if (err == SCHEDRT_ECORRUPT)
      return fail(o, err, INSPECT_EXIT_FAILURE,
                  "the dump object is shorter than announced (or larger than 1 GiB)");
    if (err)
      return fail(o, err, INSPECT_EXIT_FAILURE, "cannot collect the dump object %s%s: %s", c->shm_dir, obj,
                  schedrt_strerror(err));
    return fail(o, -e, INSPECT_EXIT_FAILURE, "writing %s: %s", c->to_stdout ? "standard output" : c->output,
                strerror(e));
  }
  c->saved = 1;
  if (!c->in_memory)
    xsnprintf(o->path, sizeof(o->path), "%s", c->to_stdout ? "-" : c->output);
  return 0;
}

int dump_client_poll(dump_client *c, dump_outcome *o) {
  memset(o, 0, sizeof(o[0]));
  o->status = -1;
  if (!c->answered) {
    /* Our slot, copied as a seqlock read and only if it echoes our nonce; no waiting here. */
    int rc = schedrt_ctl_wait(c->ctl, c->seq, c->nonce, 0, &c->answer);
    uint64_t now = inspect_now_ns();
    o->elapsed_ns = now - c->started_ns;
    if (rc == -ESTALE)
      return fail(o, SCHEDRT_ETORN, INSPECT_EXIT_FAILURE,
                  "the answer was overwritten: %d later requests were answered first (other inspectors?)",
                  SCHEDRT_CTL_SLOTS);
    if (rc) {
      if (kill(c->pid, 0) && errno == ESRCH)
        return fail(o, SCHEDRT_ESTALE, INSPECT_EXIT_GONE, "the target exited before answering");
      if (atomic_load_explicit(&c->ctl->state, memory_order_acquire) == SCHEDRT_CTL_STATE_CLOSED)
        return fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "the runtime shut down before answering");
      if (now > c->deadline_ns)
        return fail(
            o, -ETIMEDOUT, INSPECT_EXIT_TIMEOUT,
            "no answer after %.1f s: the runtime's monitor thread is not serving requests (hung or stopped?)",
            (double)(now - c->started_ns) / 1e9);
      return -EAGAIN;
    }
    c->answered = 1;
  }
  const schedrt_ctl_answer *a = &c->answer;
  o->elapsed_ns = inspect_now_ns() - c->started_ns;
  o->status = (int)a->status;
  o->tasks = a->tasks;
  o->workers_ok = a->workers_covered;
  o->workers_missing = a->workers_missing;
  o->bytes = a->bytes;
  o->pause_ns = a->pause_ns;
  const char *sname = schedrt_dump_status_name((schedrt_dump_status)a->status);
  switch (a->status) {
  case SCHEDRT_DUMP_OK:
  case SCHEDRT_DUMP_PARTIAL: {
    int err = collect(c, a->object, a->bytes, o);
    if (err)
      return 0; /* o says why */
    char x[32], y[32], where[PATH_MAX + 16];
    o->exit_code = a->status == SCHEDRT_DUMP_OK ? INSPECT_EXIT_OK : INSPECT_EXIT_PARTIAL;
    xsnprintf(where, sizeof(where), "%s%s", c->in_memory ? "in memory" : "saved to ",
              c->in_memory ? "" : o->path);
    /* The file first: a narrow status line cuts the end, and the file is what the user needs. */
    xsnprintf(o->message, sizeof(o->message), "dump %s: %s (%u tasks, %u/%u workers%s, %s bytes, pause %s)",
              sname, where, a->tasks, a->workers_covered, a->workers_covered + a->workers_missing,
              a->workers_missing ? ": the others missed the deadline" : "",
              fmt_si(x, sizeof(x), (double)a->bytes), fmt_duration(y, sizeof(y), a->pause_ns));
    return 0;
  }
  case SCHEDRT_DUMP_SHUTDOWN:
    fail(o, -ESHUTDOWN, INSPECT_EXIT_GONE, "%s: the runtime is shutting down", sname);
    return 0;
  case SCHEDRT_DUMP_DISABLED:
    fail(o, SCHEDRT_EDISABLED, INSPECT_EXIT_FAILURE,
         "%s: dumps are turned off in the target (SCHEDRT_DUMP=0?)", sname);
    return 0;
  default:
    fail(o, a->status == SCHEDRT_DUMP_BUSY ? -EBUSY : SCHEDRT_EREJECTED, INSPECT_EXIT_FAILURE, "%s%s%s",
         sname, a->reason ? ": " : "", reason_text(a->reason));
    return 0;
  }
}

int dump_client_take(dump_client *c, void **buf, size_t *len) {
  if (!c->mem)
    return -ENOENT;
  *buf = c->mem;
  *len = c->mem_len;
  c->mem = NULL;
  c->mem_len = 0;
  return 0;
}

#define CANCEL_STEP_NS 20000000ull /* 20 ms: the target's exit is noticed between futex waits */

int dump_client_cancel(dump_client *c, uint64_t max_ns) {
  uint64_t now = inspect_now_ns();
  /* The runtime links no object for us after our deadline (it was told): no need to wait past it. */
  uint64_t end =
      c->deadline_ns > now ? now + (c->deadline_ns - now < max_ns ? c->deadline_ns - now : max_ns) : now;
  while (!c->answered) {
    now = inspect_now_ns();
    if (kill(c->pid, 0) && errno == ESRCH)
      return -ESRCH; /* a runtime that shuts down removes what nobody collected */
    /* One last look at the end: an answer that came just before it holds an object. */
    uint64_t step = now >= end ? 0 : end - now < CANCEL_STEP_NS ? end - now : CANCEL_STEP_NS;
    int rc = schedrt_ctl_wait(c->ctl, c->seq, c->nonce, step, &c->answer);
    if (rc == -ESTALE)
      return rc;
    c->answered = rc == 0;
    if (!c->answered && now >= end)
      return -ETIMEDOUT;
  }
  if (c->collected || (c->answer.status != SCHEDRT_DUMP_OK && c->answer.status != SCHEDRT_DUMP_PARTIAL))
    return 0;
  /* Read and dropped: removing it is what collecting does (with every check on the name and the file). */
  dump_outcome o;
  int in_memory = c->in_memory;
  c->in_memory = 1;
  int err = collect(c, c->answer.object, c->answer.bytes, &o);
  c->in_memory = in_memory;
  free(c->mem);
  c->mem = NULL;
  if (!in_memory)
    c->saved = 0; /* the user's file got nothing: free removes it */
  return err;
}

void dump_client_free(dump_client *c) {
  if (!c)
    return;
  free(c->mem);
  drop_output(c);
  munmap(c->ctl, c->map_size);
  free(c);
}

/* For the blocking `sched-inspect dump`: sleep on the answer word (schedrt_ctl_wait's futex) instead of
 * spinning. */
void dump_client_wait(dump_client *c, uint64_t max_ns) {
  if (!c->answered && schedrt_ctl_wait(c->ctl, c->seq, c->nonce, max_ns, &c->answer) == 0)
    c->answered = 1;
}
