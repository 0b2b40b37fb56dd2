/*
 * The tasks of schedrt-demo. Each is a poll function over a small state
 * machine kept in its heap-allocated argument:
 *
 *   conn-<n>         a client connection: waits for requests (timer), idles on
 *                    the broadcast tick (notify_all), parses and answers them
 *                    with CPU bursts (rarely a 30-200 ms "slow query"), asks
 *                    the db (oneshot), fans out to child tasks (join handles)
 *                    or streams a reply in chunks (yield).
 *   db:conn-<n>      one db query: waits for a pool slot (notify_one), for the
 *                    db's answer (timer), replies through a oneshot.
 *   conn-<n>/part-<i> a child of a fan-out: waits on a backend (timer), works,
 *                    yields once, returns its row count to the joiner.
 *   ticker           notify_all on srv->tick every DEMO_TICK_NS (wake_at); asks
 *                    for a stats flush every 10 ticks.
 *   stats-flush-a/b  flush the stats when asked. A seeded bug: the request has
 *                    one waker slot for two waiters, and a flusher that waits
 *                    drops the other's waker: that one is a lost wake-up.
 *   cache-warmup     a few rounds of sleep + CPU; main() joins it.
 *   logger           (demo_log.c) the access log: each connection sends a record
 *                    per request through a bounded channel (waiting when full).
 *
 * Memory: a task frees its state right before returning SCHEDRT_READY, or its
 * drop callback frees it when the runtime drops the task at shutdown. The only
 * shared object, a db request, is reference-counted by its two users.
 * Before every SCHEDRT_PENDING the task records where it waits
 * (schedrt_await), which is what task dumps show.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define US(x) ((uint64_t)(x)*1000u)
#define MS(x) ((uint64_t)(x)*1000u * 1000u)

/* One CPU-only request in this many is a slow query: about 2/s with the defaults. */
#define SLOW_QUERY_ONE_IN 300u
#define CONN_MAX_PARTS 4
#define TASK_NAME_LEN 24 /* the runtime keeps 23 bytes of a name */

/* Record where the task waits, then return PENDING: always in this order. */
#define DEMO_PENDING(task, label)                                                                            \
  do {                                                                                                       \
    schedrt_await((task), label);                                                                            \
    return SCHEDRT_PENDING;                                                                                  \
  } while (0)
/* Let others run; the task is polled again later. */
#define DEMO_YIELD(task, label)                                                                              \
  do {                                                                                                       \
    schedrt_await((task), label);                                                                            \
    return schedrt_yield(task);                                                                              \
  } while (0)

#define BUMP(srv, field) atomic_fetch_add_explicit(&(srv)->stats.field, 1, memory_order_relaxed)

/* A refused spawn; -ESHUTDOWN is expected while the runtime is being destroyed. */
static void count_spawn_error(demo_server *srv, int err) {
  if (err != -ESHUTDOWN)
    BUMP(srv, spawn_errors);
}

/* ------------------------------------------------------------- helpers */

static _Atomic int64_t objects_live;

void *demo_alloc(size_t size) {
  void *p = calloc(1, size);
  if (p)
    atomic_fetch_add_explicit(&objects_live, 1, memory_order_relaxed);
  return p;
}

void demo_free(void *p) {
  if (!p)
    return;
  atomic_fetch_sub_explicit(&objects_live, 1, memory_order_relaxed);
  free(p);
}

int64_t demo_objects_live(void) { return atomic_load(&objects_live); }

/* splitmix64 to seed, xorshift64* per task: no shared state, no locks. */
static uint64_t rng_seed(uint64_t salt) {
  uint64_t z = salt + schedrt_now_ns() + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return z ? z : 1;
}

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1du;
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi) { return lo + rng_next(s) % (hi - lo + 1); }

static unsigned rng_pct(uint64_t *s) { return (unsigned)(rng_next(s) % 100u); }

static _Atomic uint64_t burn_sink; /* keeps the busy loop from being optimised out */

/* Keeps this worker busy for ns: the simulated work of a request. */
static void burn_cpu(uint64_t ns) {
  uint64_t end = schedrt_now_ns() + ns;
  uint64_t x = ns | 1;
  do {
    for (unsigned i = 0; i < 256; i++)
      x = x * 6364136223846793005u + 1442695040888963407u;
  } while (schedrt_now_ns() < end);
  atomic_fetch_add_explicit(&burn_sink, x, memory_order_relaxed);
}

/* A request's CPU cost: mostly short, sometimes a few ms. */
static uint64_t request_cpu_ns(uint64_t *rng) {
  unsigned p = rng_pct(rng);
  if (p < 70)
    return rng_range(rng, US(10), US(100));
  if (p < 95)
    return rng_range(rng, US(100), MS(1));
  return rng_range(rng, MS(1), MS(5));
}

/* Client think time between two requests on one connection. */
static uint64_t think_ns(uint64_t *rng) {
  unsigned p = rng_pct(rng);
  if (p < 60)
    return rng_range(rng, MS(5), MS(50));
  if (p < 90)
    return rng_range(rng, MS(50), MS(200));
  return rng_range(rng, MS(200), MS(1000));
}

/* ------------------------------------------------------------ db query */

/* A query and its reply slot, shared by a connection and its db task. */
typedef struct db_req {
  _Atomic uint32_t refs; /* one for the connection, one for the db task */
  schedrt_oneshot reply; /* db task -> connection: a pointer to rows */
  uint64_t rows;
} db_req;

static db_req *db_req_new(void) {
  db_req *r = demo_alloc(sizeof *r);
  if (!r)
    return NULL;
  atomic_init(&r->refs, 2);
  schedrt_oneshot_init(&r->reply);
  return r;
}

static void db_req_free(db_req *r) {
  schedrt_oneshot_destroy(&r->reply); /* drops a receiver's waker, if any */
  demo_free(r);
}

static void db_req_release(db_req *r) {
  if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
    db_req_free(r);
}

enum db_state { DB_ACQUIRE, DB_QUERY, DB_REPLY };

typedef struct db_task {
  demo_server *srv;
  db_req *req;
  enum db_state state;
  uint64_t rng;
  uint64_t ticket;   /* schedrt_notify_wait state */
  uint64_t deadline; /* schedrt_sleep state */
  uint64_t latency_ns;
} db_task;

static bool db_pool_try_acquire(demo_server *srv) {
  int n = atomic_load_explicit(&srv->db_slots, memory_order_relaxed);
  while (n > 0) {
    if (atomic_compare_exchange_weak_explicit(&srv->db_slots, &n, n - 1, memory_order_acquire,
                                              memory_order_relaxed))
      return true;
  }
  return false;
}

static void db_pool_release(demo_server *srv) {
  atomic_fetch_add_explicit(&srv->db_slots, 1, memory_order_release);
  schedrt_notify_one(srv->db_pool); /* wakes one waiter, or leaves a permit */
}

static schedrt_poll db_poll(schedrt_task *task, void *arg) {
  db_task *d = arg;
  demo_server *srv = d->srv;
  for (;;) {
    switch (d->state) {
    case DB_ACQUIRE:
      /*
       * A semaphore from an atomic and a notify. While registered (ticket set)
       * we only retry once notified, so a registration is never abandoned and
       * never swallows a notify_one meant for another waiter.
       */
      if (d->ticket == 0 && db_pool_try_acquire(srv)) {
        d->latency_ns = rng_pct(&d->rng) == 0 ? rng_range(&d->rng, MS(50), MS(150)) /* lock wait */
                                              : rng_range(&d->rng, MS(1), MS(15));
        d->state = DB_QUERY;
        break;
      }
      if (schedrt_notify_wait(srv->db_pool, task, &d->ticket) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "db pool: wait for a free connection");
      d->ticket = 0; /* notified: a slot was freed, try again */
      break;
    case DB_QUERY:
      if (schedrt_sleep(task, &d->deadline, d->latency_ns) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "db: wait for the server's answer");
      d->state = DB_REPLY;
      break;
    case DB_REPLY:
      burn_cpu(rng_range(&d->rng, US(20), US(100))); /* decode the rows */
      d->req->rows = rng_range(&d->rng, 0, 500);
      db_pool_release(srv);
      /* The connection holds its reference until it has read rows. */
      (void)schedrt_oneshot_send(&d->req->reply, &d->req->rows);
      db_req_release(d->req);
      demo_free(d);
      return SCHEDRT_READY;
    }
  }
}

static void db_drop(void *arg) {
  db_task *d = arg;
  BUMP(d->srv, dropped);
  /* A pool slot it may hold is not returned: the pool dies with the runtime. */
  db_req_release(d->req);
  demo_free(d);
}

/* ------------------------------------------------------ fan-out parts */

enum part_state { PART_FETCH, PART_FILTER, PART_DONE };

typedef struct part_task {
  demo_server *srv;
  enum part_state state;
  uint64_t rng;
  uint64_t deadline;
  uint64_t fetch_ns;
  uint64_t rows;
} part_task;

static schedrt_poll part_poll(schedrt_task *task, void *arg) {
  part_task *p = arg;
  for (;;) {
    switch (p->state) {
    case PART_FETCH:
      if (schedrt_sleep(task, &p->deadline, p->fetch_ns) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "shard: wait for the backend");
      p->state = PART_FILTER;
      break;
    case PART_FILTER:
      burn_cpu(rng_range(&p->rng, US(50), US(300)));
      p->rows = rng_range(&p->rng, 1, 100);
      p->state = PART_DONE;
      DEMO_YIELD(task, "shard: yield before merging");
    case PART_DONE:
      burn_cpu(rng_range(&p->rng, US(10), US(50)));
      /* An integer result: nothing for the joiner to free, even if it is dropped. */
      schedrt_task_set_result(task, (void *)(uintptr_t)p->rows);
      demo_free(p);
      return SCHEDRT_READY;
    }
  }
}

static void part_drop(void *arg) {
  part_task *p = arg;
  BUMP(p->srv, dropped);
  demo_free(p);
}

/* ---------------------------------------------------------- connection */

enum conn_state {
  CONN_READ,      /* wait for the next request (timer) */
  CONN_KEEPALIVE, /* idle: wait for a few broadcast ticks */
  CONN_PARSE,     /* short CPU burst, pick the kind of request */
  CONN_COMPUTE,   /* answer with CPU only; rarely a slow query */
  CONN_DB_SEND,   /* spawn a db task */
  CONN_DB_WAIT,   /* await its reply (oneshot) */
  CONN_FANOUT,    /* spawn children with join handles */
  CONN_JOIN,      /* await them (schedrt_handle_poll) */
  CONN_STREAM,    /* write the reply in chunks, yielding between them */
  CONN_RESPOND,   /* count the response, choose what's next */
  CONN_LOG,       /* send the access-log record (bounded channel; waits when the logger lags) */
  CONN_CLOSE,
};

typedef struct conn {
  demo_server *srv;
  uint64_t id;
  enum conn_state state;
  uint64_t rng;
  uint32_t reqs_left; /* requests until the client hangs up */
  uint32_t ticks_left;
  uint32_t chunks_left;
  uint32_t nparts;
  uint64_t deadline; /* schedrt_sleep state */
  uint64_t ticket;   /* schedrt_notify_wait state */
  uint64_t think_ns; /* 0: pick one */
  uint64_t rows;
  db_req *db;                /* our reference while CONN_DB_WAIT */
  schedrt_sender *log;       /* our handle on the access log */
  demo_log_pending log_send; /* CONN_LOG's record in flight */
  enum conn_state after_log;
  schedrt_handle *parts[CONN_MAX_PARTS]; /* unjoined children */
  demo_sock *sock;                       /* --real-sockets: the client's connection */
} conn;

static void conn_start_db(schedrt_task *task, conn *c) {
  demo_server *srv = c->srv;
  db_req *req = db_req_new();
  db_task *d = demo_alloc(sizeof *d);
  if (!req || !d) {
    if (req)
      db_req_free(req); /* never shared */
    demo_free(d);
    BUMP(srv, spawn_errors);
    c->state = CONN_RESPOND; /* answer with an error */
    return;
  }
  d->srv = srv;
  d->req = req;
  d->state = DB_ACQUIRE;
  d->rng = rng_seed(c->id ^ 0xdbu);
  char name[TASK_NAME_LEN];
  snprintf(name, sizeof name, "db:conn-%" PRIu64, c->id);
  schedrt_spawn_opts opts = {.name = name, .drop = db_drop};
  int err = schedrt_spawn_ex(schedrt_task_runtime(task), db_poll, d, &opts, NULL);
  if (err) {
    /* The runtime took nothing: req was never shared and d is still ours. */
    db_req_free(req);
    demo_free(d);
    count_spawn_error(srv, err);
    c->state = CONN_RESPOND;
    return;
  }
  c->db = req;
  c->state = CONN_DB_WAIT;
}

static void conn_start_fanout(schedrt_task *task, conn *c) {
  demo_server *srv = c->srv;
  c->nparts = (uint32_t)rng_range(&c->rng, 2, CONN_MAX_PARTS);
  c->rows = 0;
  uint32_t started = 0;
  for (uint32_t i = 0; i < c->nparts; i++) {
    part_task *p = demo_alloc(sizeof *p);
    if (!p) {
      BUMP(srv, spawn_errors);
      continue;
    }
    p->srv = srv;
    p->state = PART_FETCH;
    p->rng = rng_seed(c->id * 31u + i);
    p->fetch_ns = rng_range(&p->rng, MS(1), MS(20));
    char name[TASK_NAME_LEN];
    snprintf(name, sizeof name, "conn-%" PRIu64 "/part-%" PRIu32, c->id, i);
    schedrt_spawn_opts opts = {.name = name, .drop = part_drop};
    int err = schedrt_spawn_ex(schedrt_task_runtime(task), part_poll, p, &opts, &c->parts[i]);
    if (err) {
      c->parts[i] = NULL;
      demo_free(p);
      count_spawn_error(srv, err);
      continue;
    }
    started++;
  }
  c->state = started ? CONN_JOIN : CONN_RESPOND;
}

static schedrt_poll conn_poll(schedrt_task *task, void *arg) {
  conn *c = arg;
  demo_server *srv = c->srv;
  for (;;) {
    switch (c->state) {
    case CONN_READ:
      if (c->reqs_left == 0) {
        c->state = CONN_CLOSE;
        break;
      }
      if (c->sock) {
        bool eof;
        if (demo_sock_recv(task, c->sock, &eof) == SCHEDRT_PENDING)
          return SCHEDRT_PENDING; /* the I/O wait names itself in dumps */
        c->state = eof ? CONN_CLOSE : CONN_PARSE;
        break;
      }
      if (c->think_ns == 0)
        c->think_ns = think_ns(&c->rng);
      if (schedrt_sleep(task, &c->deadline, c->think_ns) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "socket: wait for the next request");
      c->think_ns = 0;
      c->state = CONN_PARSE;
      break;

    case CONN_KEEPALIVE:
      if (schedrt_notify_wait(srv->tick, task, &c->ticket) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "keepalive: wait for the server tick");
      c->ticket = 0;
      if (--c->ticks_left == 0)
        c->state = CONN_READ;
      break;

    case CONN_PARSE: {
      burn_cpu(rng_range(&c->rng, US(5), US(50)));
      c->reqs_left--;
      unsigned p = rng_pct(&c->rng);
      if (p < 50) {
        c->state = CONN_COMPUTE;
      } else if (p < 70) {
        c->state = CONN_DB_SEND;
      } else if (p < 85) {
        c->state = CONN_FANOUT;
      } else {
        c->chunks_left = (uint32_t)rng_range(&c->rng, 3, 10);
        c->state = CONN_STREAM;
      }
      break;
    }

    case CONN_COMPUTE:
      if (rng_next(&c->rng) % SLOW_QUERY_ONE_IN == 0) {
        /* Hogs this worker: sched-inspect highlights it as stuck. */
        BUMP(srv, slow_queries);
        burn_cpu(rng_range(&c->rng, MS(30), MS(200)));
      } else {
        burn_cpu(request_cpu_ns(&c->rng));
      }
      c->state = CONN_RESPOND;
      break;

    case CONN_DB_SEND:
      conn_start_db(task, c);
      break;

    case CONN_DB_WAIT: {
      void *value = NULL;
      if (schedrt_oneshot_recv(&c->db->reply, task, &value) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "db: wait for the query reply");
      c->rows = *(const uint64_t *)value; /* lives in c->db: read before releasing */
      db_req_release(c->db);
      c->db = NULL;
      BUMP(srv, db_queries);
      burn_cpu(c->rows * 200u); /* render the rows */
      c->state = CONN_RESPOND;
      break;
    }

    case CONN_FANOUT:
      conn_start_fanout(task, c);
      break;

    case CONN_JOIN: {
      /* join_all: poll every unfinished child; each registers our waker. */
      bool pending = false;
      for (uint32_t i = 0; i < c->nparts; i++) {
        void *result = NULL;
        if (!c->parts[i])
          continue;
        if (schedrt_handle_poll(c->parts[i], task, &result) == SCHEDRT_PENDING) {
          pending = true;
          continue;
        }
        c->rows += (uintptr_t)result;
        schedrt_handle_release(c->parts[i]);
        c->parts[i] = NULL;
        BUMP(srv, parts);
      }
      if (pending)
        DEMO_PENDING(task, "fan-out: join the shard queries");
      BUMP(srv, fanouts);
      burn_cpu(US(20) + c->rows * 100u); /* merge */
      c->state = CONN_RESPOND;
      break;
    }

    case CONN_STREAM:
      burn_cpu(rng_range(&c->rng, US(20), US(100)));
      if (--c->chunks_left > 0)
        DEMO_YIELD(task, "stream: yield between chunks");
      BUMP(srv, streams);
      c->state = CONN_RESPOND;
      break;

    case CONN_RESPOND:
      if (c->sock && demo_sock_send(task, c->sock, c->id) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING;
      BUMP(srv, requests);
      if (c->reqs_left > 0 && rng_pct(&c->rng) < 20) {
        c->ticks_left = (uint32_t)rng_range(&c->rng, 1, 5);
        BUMP(srv, keepalives);
        c->after_log = CONN_KEEPALIVE;
      } else {
        c->after_log = CONN_READ;
      }
      c->state = c->log ? CONN_LOG : c->after_log;
      break;

    case CONN_LOG:
      if (demo_log_send(task, srv, c->log, &c->log_send, c->id) == SCHEDRT_PENDING)
        return SCHEDRT_PENDING; /* the await point is set */
      c->state = c->after_log;
      break;

    case CONN_CLOSE:
      schedrt_sender_drop(c->log);
      atomic_fetch_sub_explicit(&srv->live_conns, 1, memory_order_relaxed);
      BUMP(srv, conns_closed);
      demo_sock_free(c->sock);
      demo_free(c);
      return SCHEDRT_READY;
    }
  }
}

static void conn_drop(void *arg) {
  conn *c = arg;
  demo_server *srv = c->srv;
  for (uint32_t i = 0; i < CONN_MAX_PARTS; i++)
    schedrt_handle_release(c->parts[i]);
  if (c->db)
    db_req_release(c->db);
  if (c->log) {
    demo_log_cancel(c->log, &c->log_send);
    schedrt_sender_drop(c->log);
  }
  atomic_fetch_sub_explicit(&srv->live_conns, 1, memory_order_relaxed);
  BUMP(srv, dropped);
  demo_sock_free(c->sock);
  demo_free(c);
}

/* sock: NULL for a simulated connection; else taken over, even on error. */
static int spawn_conn(demo_server *srv, demo_sock *sock) {
  conn *c = demo_alloc(sizeof *c);
  if (!c) {
    demo_sock_free(sock);
    return -ENOMEM;
  }
  c->srv = srv;
  c->sock = sock;
  c->id = atomic_fetch_add_explicit(&srv->next_conn, 1, memory_order_relaxed) + 1;
  c->rng = rng_seed(c->id);
  c->state = CONN_READ;
  /* A real client decides itself when it hangs up. */
  c->reqs_left = sock ? UINT32_MAX : (uint32_t)rng_range(&c->rng, 3, 40);
  c->think_ns = rng_range(&c->rng, US(100), MS(5)); /* the first request comes quickly */
  c->log = srv->log_tx ? schedrt_sender_clone(srv->log_tx) : NULL;
  char name[TASK_NAME_LEN];
  snprintf(name, sizeof name, "conn-%" PRIu64, c->id);
  schedrt_spawn_opts opts = {.name = name, .drop = conn_drop};
  /* Counted first: the task may finish before the spawn returns. */
  atomic_fetch_add_explicit(&srv->live_conns, 1, memory_order_relaxed);
  int err = schedrt_spawn_ex(srv->rt, conn_poll, c, &opts, NULL);
  if (err) {
    atomic_fetch_sub_explicit(&srv->live_conns, 1, memory_order_relaxed);
    count_spawn_error(srv, err);
    schedrt_sender_drop(c->log);
    demo_sock_free(sock);
    demo_free(c);
    return err;
  }
  BUMP(srv, conns_accepted);
  return 0;
}

int demo_spawn_conn(demo_server *srv) { return spawn_conn(srv, NULL); }

int demo_spawn_conn_socket(demo_server *srv, demo_sock *sock) { return spawn_conn(srv, sock); }

/* -------------------------------------------------------------- ticker */

typedef struct ticker {
  demo_server *srv;
  uint64_t next; /* absolute deadline of the next tick: a steady clock, no drift */
  bool armed;    /* a timer for next is set: do not add another on a spurious poll */
} ticker;

static schedrt_poll ticker_poll(schedrt_task *task, void *arg) {
  ticker *t = arg;
  for (;;) {
    uint64_t now = schedrt_now_ns();
    if (now < t->next) {
      /* Fails at shutdown, when the task is about to be dropped (or without memory). */
      if (!t->armed && schedrt_wake_at(task, t->next) == 0)
        t->armed = true;
      DEMO_PENDING(task, "ticker: wait for the next tick");
    }
    t->armed = false;
    schedrt_notify_all(t->srv->tick); /* every idle connection wakes */
    if (atomic_fetch_add_explicit(&t->srv->stats.ticks, 1, memory_order_relaxed) % 10 == 9) {
      /* Release: the flag before the wake, so the flusher woken sees it. */
      atomic_store_explicit(&t->srv->flush_requested, 1, memory_order_release);
      schedrt_wake(atomic_exchange_explicit(&t->srv->flush_waiter, NULL, memory_order_acq_rel));
    }
    t->next += DEMO_TICK_NS;
    if (t->next <= now) /* late by a whole period (a slow query on this worker): skip */
      t->next = now + DEMO_TICK_NS;
  }
}

static void ticker_drop(void *arg) {
  ticker *t = arg;
  BUMP(t->srv, dropped);
  demo_free(t);
}

int demo_spawn_ticker(demo_server *srv) {
  ticker *t = demo_alloc(sizeof *t);
  if (!t)
    return -ENOMEM;
  t->srv = srv;
  t->next = schedrt_now_ns() + DEMO_TICK_NS;
  schedrt_spawn_opts opts = {.name = "ticker", .drop = ticker_drop};
  int err = schedrt_spawn_ex(srv->rt, ticker_poll, t, &opts, NULL);
  if (err)
    demo_free(t);
  return err;
}

/* -------------------------------------------------------- stats flushers */

typedef struct flusher {
  demo_server *srv;
} flusher;

static schedrt_poll flusher_poll(schedrt_task *task, void *arg) {
  demo_server *srv = ((flusher *)arg)->srv;
  /* Acquire: pairs with the ticker's release of the flag. */
  if (atomic_exchange_explicit(&srv->flush_requested, 0, memory_order_acquire)) {
    burn_cpu(US(300));
    BUMP(srv, flushes);
  }
  /* THE SEEDED BUG: one slot for two waiters. Whoever registers second
   * drops the first one's waker, and that flusher is never woken again. */
  schedrt_waker *old =
      atomic_exchange_explicit(&srv->flush_waiter, schedrt_waker_get(task), memory_order_acq_rel);
  schedrt_waker_drop(old);
  DEMO_PENDING(task, "stats: wait for a flush request");
}

static void flusher_drop(void *arg) {
  flusher *f = arg;
  BUMP(f->srv, dropped);
  demo_free(f);
}

int demo_spawn_flushers(demo_server *srv) {
  static const char *const names[] = {"stats-flush-a", "stats-flush-b"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    flusher *f = demo_alloc(sizeof *f);
    if (!f)
      return -ENOMEM;
    f->srv = srv;
    schedrt_spawn_opts opts = {.name = names[i], .drop = flusher_drop};
    int err = schedrt_spawn_ex(srv->rt, flusher_poll, f, &opts, NULL);
    if (err) {
      demo_free(f);
      return err;
    }
  }
  return 0;
}

/* ------------------------------------------------------ report exporter */

#define EXPORT_PERIOD_NS MS(2000)

/* One export: the job's own, freed by the job or by its drop if it never ran. */
typedef struct export_job {
  demo_server *srv;
  uint64_t slow_ns; /* a slow disk */
} export_job;

static void report_path(char *path, size_t size) {
  snprintf(path, size, "/tmp/schedrt-demo-report.%ld.txt", (long)getpid());
}

void demo_remove_report(void) {
  char path[64];
  report_path(path, sizeof(path));
  (void)unlink(path); /* ENOENT when no export ran: fine */
}

/* Runs on a pool thread: plain blocking calls are fine here, and only here. */
static void *export_run(void *arg) {
  export_job *j = arg;
  demo_stats *st = &j->srv->stats;
  char path[64];
  report_path(path, sizeof(path));
  struct timespec ts = {0, (long)j->slow_ns};
  nanosleep(&ts, NULL);
  intptr_t written = -1;
  FILE *f = fopen(path, "w");
  if (f) {
    written = fprintf(
        f, "requests %" PRIu64 "\nconnections %" PRIu64 "\ndb_queries %" PRIu64 "\nexports %" PRIu64 "\n",
        atomic_load_explicit(&st->requests, memory_order_relaxed),
        atomic_load_explicit(&st->conns_accepted, memory_order_relaxed),
        atomic_load_explicit(&st->db_queries, memory_order_relaxed),
        atomic_load_explicit(&st->exports, memory_order_relaxed));
    if (fclose(f) != 0)
      written = -1;
  }
  demo_free(j);
  return (void *)written;
}

static void export_drop(void *arg) {
  export_job *j = arg;
  BUMP(j->srv, dropped);
  demo_free(j);
}

typedef struct exporter {
  demo_server *srv;
  uint64_t rng;
  uint64_t deadline; /* schedrt_sleep's state */
  schedrt_handle *job;
} exporter;

static schedrt_poll exporter_poll(schedrt_task *task, void *arg) {
  exporter *e = arg;
  for (;;) {
    if (e->job) {
      void *written;
      if (schedrt_handle_poll(e->job, task, &written) == SCHEDRT_PENDING)
        DEMO_PENDING(task, "export: wait for the report file");
      schedrt_handle_release(e->job);
      e->job = NULL;
      if ((intptr_t)written >= 0)
        BUMP(e->srv, exports);
    }
    if (schedrt_sleep(task, &e->deadline, EXPORT_PERIOD_NS) == SCHEDRT_PENDING)
      DEMO_PENDING(task, "export: wait for the next report");
    export_job *j = demo_alloc(sizeof *j);
    if (!j) {
      BUMP(e->srv, spawn_errors);
      continue;
    }
    j->srv = e->srv;
    j->slow_ns = rng_range(&e->rng, MS(100), MS(600));
    static const schedrt_spawn_opts opts = {.name = "report-export", .drop = export_drop};
    int err = schedrt_spawn_blocking_ex(schedrt_task_runtime(task), export_run, j, &opts, &e->job);
    if (err) {
      demo_free(j);
      count_spawn_error(e->srv, err);
      if (err == -ESHUTDOWN)
        DEMO_PENDING(task, "export: shutting down");
    }
  }
}

static void exporter_drop(void *arg) {
  exporter *e = arg;
  BUMP(e->srv, dropped);
  /* A job still running finishes on its own (destroy waits for it) and frees its state. */
  schedrt_handle_release(e->job);
  demo_free(e);
}

int demo_spawn_exporter(demo_server *srv) {
  exporter *e = demo_alloc(sizeof *e);
  if (!e)
    return -ENOMEM;
  memset(e, 0, sizeof *e);
  e->srv = srv;
  e->rng = rng_seed(0xe7);
  schedrt_spawn_opts opts = {.name = "report-exporter", .drop = exporter_drop};
  int err = schedrt_spawn_ex(srv->rt, exporter_poll, e, &opts, NULL);
  if (err)
    demo_free(e);
  return err;
}

/* -------------------------------------------------------- cache warmup */

typedef struct warmup {
  demo_server *srv;
  uint32_t round;
  uint64_t rng;
  uint64_t deadline;
  uint64_t entries;
} warmup;

static schedrt_poll warmup_poll(schedrt_task *task, void *arg) {
  warmup *w = arg;
  while (w->round < 5) {
    if (schedrt_sleep(task, &w->deadline, MS(10)) == SCHEDRT_PENDING)
      DEMO_PENDING(task, "warmup: load a cache shard");
    burn_cpu(US(200));
    w->entries += rng_range(&w->rng, 100, 1000);
    w->round++;
  }
  schedrt_task_set_result(task, (void *)(uintptr_t)w->entries);
  demo_free(w);
  return SCHEDRT_READY;
}

static void warmup_drop(void *arg) {
  warmup *w = arg;
  BUMP(w->srv, dropped);
  demo_free(w);
}

int demo_spawn_warmup(demo_server *srv, schedrt_handle **handle) {
  warmup *w = demo_alloc(sizeof *w);
  if (!w)
    return -ENOMEM;
  w->srv = srv;
  w->rng = rng_seed(0x3a);
  schedrt_spawn_opts opts = {.name = "cache-warmup", .drop = warmup_drop};
  int err = schedrt_spawn_ex(srv->rt, warmup_poll, w, &opts, handle);
  if (err)
    demo_free(w);
  return err;
}

/* -------------------------------------------------------------- server */

int demo_server_init(demo_server *srv) {
  memset(srv, 0, sizeof *srv);
  atomic_init(&srv->db_slots, DEMO_DB_POOL_SIZE);
  int err = schedrt_notify_create(&srv->tick);
  if (err)
    return err;
  err = schedrt_notify_create(&srv->db_pool);
  if (err)
    goto err_tick;
  err = demo_log_init(srv);
  if (err)
    goto err_pool;
  return 0;
err_pool:
  schedrt_notify_destroy(srv->db_pool);
  srv->db_pool = NULL;
err_tick:
  schedrt_notify_destroy(srv->tick);
  srv->tick = NULL;
  return err;
}

void demo_server_fini(demo_server *srv) {
  /* The waker left in the slot: released after destroy, as the API allows. */
  schedrt_waker_drop(atomic_exchange(&srv->flush_waiter, NULL));
  demo_log_fini(srv);
  schedrt_notify_destroy(srv->db_pool);
  schedrt_notify_destroy(srv->tick);
  srv->db_pool = srv->tick = NULL;
}
