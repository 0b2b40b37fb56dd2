/*
 * The requester's side of the control page (schedrt/proto/control.h): claim,
 * fill, ring; wait for the answer; collect the dump object. The runtime
 * treats all of it as untrusted, so these helpers only need to be polite:
 * they never write while another request is pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "schedrt/dump_read.h"
#include "schedrt/proto/seqlock.h"

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fresh_nonce(uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE]) {
  if (getrandom(nonce, SCHEDRT_CTL_NONCE_SIZE, 0) != SCHEDRT_CTL_NONCE_SIZE)
    return -EIO;
  nonce[0] |= 1u; /* never all zero */
  return 0;
}

int schedrt_ctl_submit(struct schedrt_ctl *c, uint32_t kind, uint32_t timeout_ms, const char *label,
                       uint64_t deadline_ns, uint32_t *seq, uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE]) {
  uint8_t n[SCHEDRT_CTL_NONCE_SIZE];
  size_t len = label ? strlen(label) : 0;
  if (!c || !seq || len >= SCHEDRT_CTL_LABEL_SIZE)
    return -EINVAL;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)label[i] < 0x20 || (unsigned char)label[i] > 0x7e)
      return -EINVAL;
  /* Acquire: the identity fields were written before SERVED. */
  if (atomic_load_explicit(&c->state, memory_order_acquire) != SCHEDRT_CTL_STATE_SERVED ||
      c->magic != SCHEDRT_CTL_MAGIC)
    return -ENOTSUP;
  if (c->major != SCHEDRT_CTL_MAJOR)
    return SCHEDRT_EVERSION;
  if (c->size < sizeof(*c))
    return SCHEDRT_ECORRUPT; /* no answer slots: not a 1.x page */
  int rc = fresh_nonce(n);
  if (rc)
    return rc;
  /* Acquire both: a pending request (not answered yet) makes us wait our turn. */
  uint32_t s = atomic_load_explicit(&c->req_seq, memory_order_acquire);
  if ((s & 1u) || atomic_load_explicit(&c->resp_seq, memory_order_acquire) != s)
    return -EBUSY;
  /* Acquire on success: we own the request fields from here. */
  if (!atomic_compare_exchange_strong_explicit(&c->req_seq, &s, s + 1u, memory_order_acquire,
                                               memory_order_relaxed))
    return -EBUSY;
  /* A 1.0 runtime rejects any flag: only one that says it knows the deadline gets it. */
  bool with_deadline = deadline_ns && (c->flags_known & SCHEDRT_CTL_FLAG_DEADLINE);
  c->req_kind = kind;
  c->req_flags = with_deadline ? SCHEDRT_CTL_FLAG_DEADLINE : 0;
  c->req_timeout_ms = timeout_ms;
  c->req_pid = (uint32_t)getpid();
  c->req_resv = 0;
  c->req_deadline_ns = with_deadline ? deadline_ns : 0;
  memset(c->req_resv2, 0, sizeof(c->req_resv2));
  memcpy(c->req_nonce, n, sizeof(n));
  memset(c->req_label, 0, sizeof(c->req_label));
  if (len)
    memcpy(c->req_label, label, len);
  /* Release: the doorbell publishes the fields above. A CAS, not a store: if
   * we were so slow that the runtime closed our claim as torn (and someone
   * else may hold the page now), we must not ring over them. */
  uint32_t claimed = s + 1u;
  if (!atomic_compare_exchange_strong_explicit(&c->req_seq, &claimed, s + 2u, memory_order_release,
                                               memory_order_relaxed))
    return -EBUSY;
  syscall(SYS_futex, (uint32_t *)&c->req_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  *seq = s + 2u;
  if (nonce)
    memcpy(nonce, n, sizeof(n));
  return 0;
}

int schedrt_ctl_wait(struct schedrt_ctl *c, uint32_t seq, const uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE],
                     uint64_t timeout_ns, schedrt_ctl_answer *out) {
  uint64_t until = mono_ns() + timeout_ns;
  struct schedrt_ctl_slot *x = schedrt_ctl_slot_of(c, seq);
  for (;;) {
    /* Acquire: the futex value first, so an answer after it wakes us. */
    uint32_t bell = atomic_load_explicit(&c->resp_seq, memory_order_acquire);
    /* Acquire: pairs with the runtime's release store of the slot's seq. */
    uint32_t v = atomic_load_explicit(&x->seq, memory_order_acquire);
    if (v == seq) {
      out->status = x->status;
      out->reason = x->reason;
      out->tasks = x->tasks;
      out->workers_covered = x->workers_covered;
      out->workers_missing = x->workers_missing;
      out->bytes = x->bytes;
      out->pause_ns = x->pause_ns;
      out->done_ns = x->done_ns;
      memcpy(out->nonce, x->nonce, sizeof(out->nonce));
      memcpy(out->object, x->object, sizeof(out->object));
      out->object[sizeof(out->object) - 1] = '\0';
      /* The copy before the second look at the sequence (seqlock R2). */
      schedrt_seq_fence_acquire();
      if (atomic_load_explicit(&x->seq, memory_order_relaxed) == seq &&
          (!nonce || memcmp(out->nonce, nonce, sizeof(out->nonce)) == 0))
        return 0;
    }
    /* A later answer took the slot (we slept through SCHEDRT_CTL_SLOTS answers). */
    if (v != seq && v != seq - 1u && schedrt_ctl_seq_after(v, seq))
      return -ESTALE;
    uint64_t now = mono_ns();
    if (now >= until)
      return -ETIMEDOUT;
    uint64_t nap = until - now < 10000000u ? until - now : 10000000u;
    struct timespec ts = {0, (long)nap};
    syscall(SYS_futex, (uint32_t *)&c->resp_seq, FUTEX_WAIT, bell, &ts, NULL, 0);
  }
}

int schedrt_ctl_collect(const char *dir, const char *object, uint32_t uid, void **buf, size_t *len) {
  char path[PATH_MAX];
  struct stat st;
  char *b = NULL;
  size_t got = 0;
  int fd = -1, rc = 0;
  *buf = NULL;
  *len = 0;
  if (!object || object[0] != '/' || strchr(object + 1, '/') || !object[1])
    return -EINVAL;
  /* The name comes from a page other processes of the uid can write: it must
   * at least be a dump object of that uid before we open anything. */
  char want[32];
  snprintf(want, sizeof(want), "/schedrt.%u.", (unsigned)uid);
  if (strncmp(object, want, strlen(want)) != 0 || !strstr(object, ".dump."))
    return SCHEDRT_ECORRUPT;
  if ((size_t)snprintf(path, sizeof(path), "%s%s", dir ? dir : "/dev/shm", object) >= sizeof(path))
    return -ENAMETOOLONG;
  /* O_NONBLOCK: a FIFO planted under the name must not hang the open (it
   * would wait for a writer for ever); O_NOFOLLOW: a symlink fails (ELOOP). */
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENXIO ? SCHEDRT_ENOTSEG : -errno; /* ENXIO: a unix socket */
    goto out;
  }
  /* Every check before the first read. */
  if (fstat(fd, &st)) {
    rc = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = SCHEDRT_ENOTSEG;
    goto out;
  }
  if ((st.st_mode & 077) || st.st_nlink != 1 || st.st_uid != (uid_t)uid) {
    rc = SCHEDRT_EOWNER;
    goto out;
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > SCHEDRT_CTL_OBJECT_MAX) {
    rc = SCHEDRT_ECORRUPT;
    goto out;
  }
  b = malloc((size_t)st.st_size + 1);
  if (!b) {
    rc = -ENOMEM;
    goto out;
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = n < 0 ? -errno : SCHEDRT_ECORRUPT; /* shrank under us */
      goto out;
    }
    got += (size_t)n;
  }
  /* Collected: the runtime forgets it at its next sweep. */
  unlink(path);
  *buf = b;
  *len = got;
  b = NULL;
out:
  free(b);
  if (fd >= 0)
    close(fd);
  return rc;
}
