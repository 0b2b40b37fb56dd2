/*
 * Readiness driver on epoll, edge-triggered (io.h). A registration holds a
 * readiness word and one waker per direction; the driver ORs in what epoll
 * reports and wakes the waiting direction, a task that got EAGAIN clears its
 * bit (only if no event came since it looked: the word's tick), Tokio's
 * ScheduledIo in C.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Readiness bits, in the low byte of the readiness word; above: the tick. */
enum {
  IO_READABLE = 1u << 0,
  IO_WRITABLE = 1u << 1,
  IO_READ_CLOSED = 1u << 2,
  IO_WRITE_CLOSED = 1u << 3,
  IO_ERROR = 1u << 4,
  IO_SHUTDOWN = 1u << 5, /* closed by its owner or by runtime destroy */
};
#define IO_TICK_ONE (1ull << 8)
#define CLOSED_WAKE 64u /* closes between two ends of a turn forced for their memory */
#define IO_READ_SET (IO_READABLE | IO_READ_CLOSED | IO_ERROR | IO_SHUTDOWN)
#define IO_WRITE_SET (IO_WRITABLE | IO_WRITE_CLOSED | IO_ERROR | IO_SHUTDOWN)

struct schedrt_io {
  _Atomic uint64_t readiness;
  int fd;
  schedrt_runtime *rt;
  /* The waiting task of each direction, under lock; the driver sets the
   * readiness word before it takes the lock, a poller reads it under the
   * lock, so one of them always sees the other (no lost wake-up). */
  pthread_mutex_t lock;
  schedrt_waker *reader, *writer;
  /* users: the owner's reference plus one per schedrt_io_clone; the last
   * one closes the fd. refs: the memory's, one for all users and one for
   * the driver, which may still hold an event for io after it closed. */
  _Atomic uint32_t users;
  _Atomic uint32_t refs;
  struct schedrt_io *prev, *next; /* the driver's live or closed list */
};

static struct schedrt_io_driver *drv(schedrt_runtime *rt) { return &rt->io; }

int schedrt__io_init(schedrt_runtime *rt) {
  struct schedrt_io_driver *d = drv(rt);
  d->live = d->closed = NULL;
  atomic_init(&d->active, false);
  atomic_init(&d->owner, 0);
  atomic_init(&d->events, 0);
  atomic_init(&d->registered, 0);
  atomic_init(&d->turns, 0);
  d->nclosed = 0;
  d->monitor_turns = 0;
  d->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (d->epfd < 0)
    return -errno;
  int rc;
  d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (d->wake_fd < 0) {
    rc = -errno;
    goto err_ep;
  }
  /* data.ptr NULL marks the eventfd among the events. */
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wake_fd, &ev) != 0) {
    rc = -errno;
    goto err_wake;
  }
  rc = -pthread_mutex_init(&d->lock, NULL);
  if (rc)
    goto err_wake;
  for (uint32_t i = 0; i < rt->nworkers; i++)
    rt->workers[i].park.wake_fd = d->wake_fd;
  return 0;
err_wake:
  close(d->wake_fd);
err_ep:
  close(d->epfd);
  d->epfd = d->wake_fd = -1;
  return rc;
}

static void io_unref(struct schedrt_io *io) {
  /* AcqRel: the last one sees every other holder's writes before it frees. */
  if (atomic_fetch_sub_explicit(&io->refs, 1, memory_order_acq_rel) == 1) {
    pthread_mutex_destroy(&io->lock);
    free(io);
  }
}

SCHEDRT_API schedrt_io *schedrt_io_clone(schedrt_io *io) {
  /* Relaxed: the caller already holds a reference. */
  atomic_fetch_add_explicit(&io->users, 1, memory_order_relaxed);
  return io;
}

static void unlink_locked(struct schedrt_io **head, struct schedrt_io *io) {
  if (io->prev)
    io->prev->next = io->next;
  else
    *head = io->next;
  if (io->next)
    io->next->prev = io->prev;
  io->prev = io->next = NULL;
}

static void push_locked(struct schedrt_io **head, struct schedrt_io *io) {
  io->prev = NULL;
  io->next = *head;
  if (*head)
    (*head)->prev = io;
  *head = io;
}

/* Sets bits (and a new tick), then wakes the directions they make ready.
 * Returns the word as it was. */
static uint64_t io_ready(struct schedrt_io *io, uint32_t bits) {
  uint64_t r = atomic_load_explicit(&io->readiness, memory_order_relaxed);
  /* Release: a poller that acquires the word sees the event's data.
   * Acquire: the closer that set SHUTDOWN first (io_shut) sees the others'
   * use of io before it deregisters. */
  while (!atomic_compare_exchange_weak_explicit(&io->readiness, &r, (r + IO_TICK_ONE) | bits,
                                                memory_order_acq_rel, memory_order_relaxed))
    ;
  schedrt_waker *rd = NULL, *wr = NULL;
  pthread_mutex_lock(&io->lock);
  if (bits & IO_READ_SET) {
    rd = io->reader;
    io->reader = NULL;
  }
  if (bits & IO_WRITE_SET) {
    wr = io->writer;
    io->writer = NULL;
  }
  pthread_mutex_unlock(&io->lock);
  schedrt_wake(rd);
  schedrt_wake(wr);
  return r;
}

SCHEDRT_API int schedrt_io_register(schedrt_runtime *rt, int fd, schedrt_io **out) {
  if (!rt || fd < 0 || !out)
    return -EINVAL;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return -ESHUTDOWN;
  struct schedrt_io *io = calloc(1, sizeof(*io));
  if (!io)
    return -ENOMEM;
  int rc = -pthread_mutex_init(&io->lock, NULL);
  if (rc) {
    free(io);
    return rc;
  }
  atomic_init(&io->readiness, 0);
  atomic_init(&io->users, 1);
  atomic_init(&io->refs, 2);
  io->fd = fd;
  io->rt = rt;
  struct schedrt_io_driver *d = drv(rt);
  pthread_mutex_lock(&d->lock);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = io};
  if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    rc = -errno;
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_destroy(&io->lock);
    free(io);
    return rc; /* the fd stays the caller's */
  }
  push_locked(&d->live, io);
  pthread_mutex_unlock(&d->lock);
  atomic_fetch_add_explicit(&d->registered, 1, memory_order_relaxed);
  schedrt_worker *w = schedrt__tls_worker;
  if (w && w->rt == rt)
    schedrt__m_io_registration(w);
  bool was = false;
  /* seq_cst, then the idle set's fence and load (notify_parked): a worker
   * that parked on its futex before it could see this is found asleep and
   * woken, and parks again in the driver; one that parks later sees it. */
  if (!atomic_load_explicit(&d->active, memory_order_relaxed) &&
      atomic_compare_exchange_strong_explicit(&d->active, &was, true, memory_order_seq_cst,
                                              memory_order_relaxed))
    schedrt__notify_parked(rt);
  *out = io;
  return 0;
}

SCHEDRT_API int schedrt_io_fd(const schedrt_io *io) { return io->fd; }

/* Shuts io: no more events, both waiters woken (they see SHUTDOWN). */
static bool io_shut(struct schedrt_io *io) {
  /* Only the first closer (the one that set SHUTDOWN) deregisters. */
  return !(io_ready(io, IO_SHUTDOWN) & IO_SHUTDOWN);
}

/* Shuts and deregisters, once; after destroy fini has shut it already. */
static void io_deregister(struct schedrt_io *io) {
  if (!io_shut(io))
    return;
  struct schedrt_io_driver *d = drv(io->rt);
  pthread_mutex_lock(&d->lock);
  (void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  unlink_locked(&d->live, io);
  /* The driver may hold an event for io from its current epoll_wait: it
   * drops its reference after dispatching that batch. Only memory waits for
   * it, so no wake-up, except every CLOSED_WAKE closes: a worker may sleep
   * in epoll for hours while a thread registers and closes fds. */
  push_locked(&d->closed, io);
  bool wake = ++d->nclosed % CLOSED_WAKE == 0;
  pthread_mutex_unlock(&d->lock);
  atomic_fetch_sub_explicit(&d->registered, 1, memory_order_relaxed);
  if (wake) {
    uint64_t one = 1;
    ssize_t rc = write(d->wake_fd, &one, sizeof(one)); /* ends the current turn */
    (void)rc;
  }
}

SCHEDRT_API void schedrt_io_release(schedrt_io *io) {
  if (!io)
    return;
  /* AcqRel: the last user sees the others' use of the fd before closing it. */
  if (atomic_fetch_sub_explicit(&io->users, 1, memory_order_acq_rel) != 1)
    return;
  io_deregister(io);
  close(io->fd);
  io_unref(io);
}

SCHEDRT_API void schedrt_io_close(schedrt_io *io) {
  if (!io)
    return;
  io_deregister(io);
  schedrt_io_release(io);
}

static const schedrt_await_site io_sites[] = {
    {"io read", "schedrt io", 0},
    {"io write", "schedrt io", 0},
};

SCHEDRT_API schedrt_poll schedrt_io_poll(schedrt_io *io, schedrt_task *self, unsigned interest,
                                         uint64_t *token) {
  const uint32_t set = interest == SCHEDRT_IO_WRITE ? IO_WRITE_SET : IO_READ_SET;
  pthread_mutex_lock(&io->lock);
  /* Acquire: pairs with io_ready's release. */
  uint64_t r = atomic_load_explicit(&io->readiness, memory_order_acquire);
  if (r & set) {
    pthread_mutex_unlock(&io->lock);
    if (!schedrt__coop_proceed(self))
      return SCHEDRT_PENDING;
    if (token)
      *token = r;
    return SCHEDRT_READY;
  }
  schedrt_waker **slot = interest == SCHEDRT_IO_WRITE ? &io->writer : &io->reader;
  if (!schedrt__will_wake(*slot, self)) {
    schedrt_waker_drop(*slot);
    *slot = schedrt_waker_get(self);
  }
  pthread_mutex_unlock(&io->lock);
  schedrt_task_set_await(self, &io_sites[interest == SCHEDRT_IO_WRITE]);
  schedrt__task_waits_on(self, SCHEDRT_DUMP_WAIT_IO,
                         ((uint64_t)(uint32_t)io->fd << 8) | (interest == SCHEDRT_IO_WRITE ? 2u : 1u));
  return SCHEDRT_PENDING;
}

SCHEDRT_API void schedrt_io_clear(schedrt_io *io, unsigned interest, uint64_t token) {
  const uint64_t bit = interest == SCHEDRT_IO_WRITE ? IO_WRITABLE : IO_READABLE;
  uint64_t r = atomic_load_explicit(&io->readiness, memory_order_relaxed);
  /* Only if no event came since the caller's poll: an edge that arrived
   * after its EAGAIN must stay, or the next poll would wait for ever.
   * Relaxed: the tick comparison is all that matters. */
  while ((r & ~0xffull) == (token & ~0xffull) && (r & bit))
    if (atomic_compare_exchange_weak_explicit(&io->readiness, &r, r & ~bit, memory_order_relaxed,
                                              memory_order_relaxed))
      return;
}

SCHEDRT_API bool schedrt_io_is_closed(const schedrt_io *io) {
  return atomic_load_explicit(&io->readiness, memory_order_acquire) & IO_SHUTDOWN;
}

/* What epoll reports, as readiness bits. */
static uint32_t bits_of(uint32_t ev) {
  uint32_t b = 0;
  if (ev & (EPOLLIN | EPOLLPRI))
    b |= IO_READABLE;
  if (ev & EPOLLOUT)
    b |= IO_WRITABLE;
  if (ev & (EPOLLRDHUP | EPOLLHUP))
    b |= IO_READ_CLOSED;
  if (ev & EPOLLHUP)
    b |= IO_WRITE_CLOSED;
  if (ev & EPOLLERR)
    b |= IO_ERROR;
  return b;
}

/* Takes the closed list: registrations deregistered before this call. */
static struct schedrt_io *take_closed(struct schedrt_io_driver *d) {
  pthread_mutex_lock(&d->lock);
  struct schedrt_io *list = d->closed;
  d->closed = NULL;
  d->nclosed = 0;
  pthread_mutex_unlock(&d->lock);
  return list;
}

static void drop_closed(struct schedrt_io *list) {
  for (struct schedrt_io *io = list, *nx; io; io = nx) {
    nx = io->next;
    io_unref(io);
  }
}

/*
 * The owner word. A parked holder may sleep in epoll for ever: a worker that
 * finds the driver held sleeps on its futex and sets WANTED, knowing the
 * holder will see the events. A brief holder (maintenance, the monitor's tick)
 * leaves at once, so when it lets go of a wanted driver it wakes a sleeper,
 * which parks again and takes it: never are all workers asleep with nobody
 * in epoll. One word, so the holder's exchange and the sleeper's CAS are
 * ordered: one of them sees the other.
 */
bool schedrt__io_acquire_to_park(schedrt_runtime *rt) {
  _Atomic uint32_t *owner = &drv(rt)->owner;
  uint32_t s = atomic_load_explicit(owner, memory_order_relaxed);
  for (;;) {
    /* A parked holder serves every sleeper's want: clear it. */
    uint32_t next = s & SCHEDRT__IO_HELD ? s | SCHEDRT__IO_WANTED : SCHEDRT__IO_HELD;
    if (next == s)
      return false;
    /* Acquire: the previous holder's dispatch and closed list are seen. */
    if (atomic_compare_exchange_weak_explicit(owner, &s, next, memory_order_acq_rel, memory_order_relaxed))
      return !(s & SCHEDRT__IO_HELD);
  }
}

void schedrt__io_release_parked(schedrt_runtime *rt) {
  /* Release: the next holder sees this one's dispatch. A WANTED set while
   * we slept stays: we leave with work, and our own next maintenance, a
   * brief holder, hands the driver to that sleeper. */
  atomic_fetch_and_explicit(&drv(rt)->owner, ~(uint32_t)SCHEDRT__IO_HELD, memory_order_release);
}

bool schedrt__io_acquire_brief(schedrt_runtime *rt) {
  struct schedrt_io_driver *d = drv(rt);
  /* Relaxed pre-check: a held driver is the common case under load. */
  if (atomic_load_explicit(&d->owner, memory_order_relaxed) & SCHEDRT__IO_HELD)
    return false;
  /* Acquire: pairs with the previous holder's release. */
  return !(atomic_fetch_or_explicit(&d->owner, SCHEDRT__IO_HELD, memory_order_acquire) & SCHEDRT__IO_HELD);
}

void schedrt__io_release_brief(schedrt_runtime *rt) {
  /* AcqRel: releases our dispatch; reads a WANTED set before it. */
  if (atomic_exchange_explicit(&drv(rt)->owner, 0, memory_order_acq_rel) & SCHEDRT__IO_WANTED)
    schedrt__notify_parked(rt);
}

int schedrt__io_wait(schedrt_runtime *rt, schedrt_parker *p, uint64_t timeout_ns,
                     struct schedrt_io_batch *b) {
  struct schedrt_io_driver *d = drv(rt);
  /* A pending unpark makes this a look without sleeping; else announce the
   * sleep (relaxed: the exchange below orders what matters). */
  uint32_t empty = SCHEDRT_PARK_EMPTY;
  bool sleep = p && !schedrt__park_take(p) &&
               atomic_compare_exchange_strong_explicit(&p->state, &empty, SCHEDRT_PARK_PARKED_DRIVER,
                                                       memory_order_relaxed, memory_order_relaxed);
  if (!sleep)
    timeout_ns = 0;
  struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                        .tv_nsec = (long)(timeout_ns % 1000000000u)};
  int n = epoll_pwait2(d->epfd, b->evs, SCHEDRT__IO_BATCH, timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
  if (n < 0 && errno == ENOSYS) {
    /* Kernels before 5.11: millisecond resolution, rounded up (never early). */
    uint64_t ms = timeout_ns == UINT64_MAX ? UINT64_MAX : (timeout_ns + 999999u) / 1000000u;
    n = epoll_wait(d->epfd, b->evs, SCHEDRT__IO_BATCH, ms > INT_MAX ? -1 : (int)ms);
  }
  if (sleep)
    /* Acquire: an unparker's work is visible; NOTIFIED is consumed too. */
    (void)atomic_exchange_explicit(&p->state, SCHEDRT_PARK_EMPTY, memory_order_acquire);
  /* Relaxed: only the holder writes it; the monitor only compares it. */
  atomic_store_explicit(&d->turns, atomic_load_explicit(&d->turns, memory_order_relaxed) + 1u,
                        memory_order_relaxed);
  b->n = n < 0 ? 0 : n;
  /*
   * Under the driver lock, which registration holds around EPOLL_CTL_ADD:
   * a registration whose event we hold is initialised before we touch it
   * (epoll orders it in the kernel, where TSan cannot see). The closed
   * ones taken now were deregistered before: an event for them can only
   * be in this batch (holders take turns), so they are released after it.
   */
  b->closed = take_closed(d);
  int ready = 0;
  for (int i = 0; i < b->n; i++) {
    if (!b->evs[i].data.ptr) {
      uint64_t v;
      ssize_t rc = read(d->wake_fd, &v, sizeof(v)); /* drain; EAGAIN if already drained */
      (void)rc;
      continue;
    }
    ready++;
  }
  return ready;
}

uint32_t schedrt__io_dispatch(schedrt_runtime *rt, struct schedrt_io_batch *b) {
  uint32_t dispatched = 0;
  for (int i = 0; i < b->n; i++) {
    struct schedrt_io *io = b->evs[i].data.ptr;
    if (!io)
      continue;
    /* Still referenced by the driver, even if closed meanwhile. */
    if (!(atomic_load_explicit(&io->readiness, memory_order_relaxed) & IO_SHUTDOWN))
      io_ready(io, bits_of(b->evs[i].events));
    dispatched++;
  }
  if (dispatched)
    atomic_fetch_add_explicit(&drv(rt)->events, dispatched, memory_order_relaxed);
  drop_closed(b->closed);
  b->closed = NULL;
  b->n = 0;
  return dispatched;
}

uint32_t schedrt__io_poll_now(schedrt_runtime *rt) {
  if (!schedrt__io_acquire_brief(rt))
    return 0;
  struct schedrt_io_batch b;
  (void)schedrt__io_wait(rt, NULL, 0, &b);
  uint32_t n = schedrt__io_dispatch(rt, &b);
  schedrt__io_release_brief(rt);
  return n;
}

void schedrt__io_monitor_tick(schedrt_runtime *rt) {
  struct schedrt_io_driver *d = drv(rt);
  if (!schedrt__io_active(rt))
    return;
  uint64_t turns = atomic_load_explicit(&d->turns, memory_order_relaxed);
  if (turns == d->monitor_turns)
    (void)schedrt__io_poll_now(rt);
  d->monitor_turns = atomic_load_explicit(&d->turns, memory_order_relaxed);
}

void schedrt__io_fini(schedrt_runtime *rt) {
  struct schedrt_io_driver *d = drv(rt);
  if (d->epfd < 0)
    return;
  /* Registrations still open: shut (their waiters see closed) and drop the
   * driver's reference; their owners may still release theirs. */
  pthread_mutex_lock(&d->lock);
  struct schedrt_io *live = d->live;
  d->live = NULL;
  pthread_mutex_unlock(&d->lock);
  for (struct schedrt_io *io = live, *nx; io; io = nx) {
    nx = io->next;
    if (io_shut(io))
      atomic_fetch_sub_explicit(&d->registered, 1, memory_order_relaxed);
    io_unref(io);
  }
  drop_closed(take_closed(d));
  for (uint32_t i = 0; i < rt->nworkers; i++)
    rt->workers[i].park.wake_fd = -1;
  close(d->wake_fd);
  close(d->epfd);
  pthread_mutex_destroy(&d->lock);
  d->epfd = d->wake_fd = -1;
}

bool schedrt__io_peer(int fd, char *out, size_t n) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
    return false;
  char host[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    snprintf(out, n, "%s:%u", host, (unsigned)ntohs(a->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    snprintf(out, n, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
  } else if (ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *a = (const struct sockaddr_un *)&ss;
    size_t plen =
        len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    snprintf(out, n, "unix:%.*s", (int)strnlen(a->sun_path, plen), a->sun_path);
  } else {
    return false;
  }
  return true;
}
