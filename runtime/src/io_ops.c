/*
 * The common operations on a registration (<schedrt.h>, "I/O"): each polls
 * for readiness, tries the system call, and on EAGAIN clears the readiness
 * it saw and polls again, so it returns PENDING with the task registered, or
 * READY with a result.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* Polls interest; on READY tells whether the registration was closed. */
static schedrt_poll ready(schedrt_io *io, schedrt_task *self, unsigned interest, uint64_t *tok,
                          bool *closed) {
  if (schedrt_io_poll(io, self, interest, tok) == SCHEDRT_PENDING)
    return SCHEDRT_PENDING;
  *closed = schedrt_io_is_closed(io);
  return SCHEDRT_READY;
}

SCHEDRT_API schedrt_poll schedrt_io_read(schedrt_io *io, schedrt_task *self, void *buf, size_t len,
                                         ssize_t *res) {
  for (;;) {
    uint64_t tok;
    bool closed;
    if (ready(io, self, SCHEDRT_IO_READ, &tok, &closed) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (closed) {
      *res = -ECANCELED;
      return SCHEDRT_READY;
    }
    ssize_t n = read(schedrt_io_fd(io), buf, len);
    if (n >= 0) {
      *res = n;
      return SCHEDRT_READY;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      schedrt_io_clear(io, SCHEDRT_IO_READ, tok);
    else if (errno != EINTR) {
      *res = -errno;
      return SCHEDRT_READY;
    }
  }
}

/* send() with MSG_NOSIGNAL, so a peer that went away is EPIPE, not a
 * SIGPIPE that kills the process; write() for what is not a socket. */
static ssize_t write_some(int fd, const void *buf, size_t len) {
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK)
    n = write(fd, buf, len);
  return n;
}

SCHEDRT_API schedrt_poll schedrt_io_write(schedrt_io *io, schedrt_task *self, const void *buf, size_t len,
                                          size_t *done, ssize_t *res) {
  while (*done < len) {
    uint64_t tok;
    bool closed;
    if (ready(io, self, SCHEDRT_IO_WRITE, &tok, &closed) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (closed) {
      *res = -ECANCELED;
      goto out;
    }
    ssize_t n = write_some(schedrt_io_fd(io), (const char *)buf + *done, len - *done);
    if (n >= 0) {
      *done += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      schedrt_io_clear(io, SCHEDRT_IO_WRITE, tok);
    } else if (errno != EINTR) {
      *res = -errno;
      goto out;
    }
  }
  *res = (ssize_t)len;
out:
  *done = 0; /* ready for the next buffer */
  return SCHEDRT_READY;
}

SCHEDRT_API schedrt_poll schedrt_io_accept(schedrt_io *listener, schedrt_task *self, struct sockaddr *peer,
                                           socklen_t *peer_len, int *res) {
  for (;;) {
    uint64_t tok;
    bool closed;
    if (ready(listener, self, SCHEDRT_IO_READ, &tok, &closed) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (closed) {
      *res = -ECANCELED;
      return SCHEDRT_READY;
    }
    int fd = accept4(schedrt_io_fd(listener), peer, peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      *res = fd;
      return SCHEDRT_READY;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      schedrt_io_clear(listener, SCHEDRT_IO_READ, tok);
    else if (errno != EINTR && errno != ECONNABORTED) {
      /* EMFILE and the like: the caller decides how to back off (the
       * connection stays queued, and readiness stays set). */
      *res = -errno;
      return SCHEDRT_READY;
    }
  }
}

SCHEDRT_API int schedrt_io_connect_start(schedrt_runtime *rt, const struct sockaddr *addr, socklen_t len,
                                         schedrt_io **out) {
  if (!rt || !addr || !out)
    return -EINVAL;
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int rc;
  /* Registered after connect: epoll reports an unconnected socket as
   * writable and hung up, which would read as a failed connect. */
  if (connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
    rc = -errno;
    goto err;
  }
  rc = schedrt_io_register(rt, fd, out);
  if (rc)
    goto err;
  return 0;
err:
  close(fd);
  return rc;
}

SCHEDRT_API schedrt_poll schedrt_io_connect_poll(schedrt_io *io, schedrt_task *self, uint64_t *deadline,
                                                 uint64_t timeout_ns, int *res) {
  uint64_t tok;
  bool closed;
  if (ready(io, self, SCHEDRT_IO_WRITE, &tok, &closed) == SCHEDRT_READY) {
    int err = 0;
    socklen_t l = sizeof(err);
    if (closed)
      err = ECANCELED;
    else if (getsockopt(schedrt_io_fd(io), SOL_SOCKET, SO_ERROR, &err, &l) != 0)
      err = errno;
    /* The timer, if armed, fires into a spurious poll later: harmless. */
    *deadline = 0;
    *res = -err;
    return SCHEDRT_READY;
  }
  if (schedrt_sleep(self, deadline, timeout_ns) == SCHEDRT_READY) {
    *res = -ETIMEDOUT;
    return SCHEDRT_READY;
  }
  return SCHEDRT_PENDING;
}
