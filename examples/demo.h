/*
 * schedrt-demo: a simulated server for watching with sched-inspect.
 *
 * schedrt_demo.c holds main(): the command line, signals, the acceptor thread
 * and the summary. demo_tasks.c holds the tasks, each a small state machine
 * written as a poll function. This header is what the two share.
 */
#ifndef SCHEDRT_DEMO_H
#define SCHEDRT_DEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <schedrt.h>

/* Counters the tasks bump (relaxed) and main() prints. */
typedef struct demo_stats {
  _Atomic uint64_t conns_accepted; /* connection tasks spawned */
  _Atomic uint64_t conns_closed;   /* connection tasks that completed */
  _Atomic uint64_t requests;       /* responses sent */
  _Atomic uint64_t db_queries;     /* oneshot request/response round trips */
  _Atomic uint64_t fanouts;        /* requests answered by child tasks */
  _Atomic uint64_t parts;          /* child tasks joined */
  _Atomic uint64_t streams;        /* responses sent in yielding chunks */
  _Atomic uint64_t keepalives;     /* waits on the broadcast tick */
  _Atomic uint64_t slow_queries;   /* 30-200 ms CPU bursts */
  _Atomic uint64_t ticks;          /* broadcast ticks sent */
  _Atomic uint64_t flushes;        /* stats flushes done */
  _Atomic uint64_t spawn_errors;   /* failed spawns (or allocations), not counting -ESHUTDOWN */
  _Atomic uint64_t dropped;        /* drop callbacks run (tasks cut at shutdown) */
  _Atomic uint64_t exports;        /* report files written on the blocking pool */
  _Atomic uint64_t log_records;    /* access-log records the logger wrote */
  _Atomic uint64_t log_refused;    /* records the channel refused (the logger was gone) */
} demo_stats;

/* What every task of the demo shares. Outlives the runtime. */
typedef struct demo_server {
  schedrt_runtime *rt;
  schedrt_notify *tick;    /* broadcast: notify_all every DEMO_TICK_NS */
  schedrt_notify *db_pool; /* a slot of the db pool was freed: notify_one */
  _Atomic int db_slots;    /* free db pool connections */
  _Atomic uint64_t live_conns;
  _Atomic uint64_t next_conn;
  /*
   * The stats flushers' request: a flag, and ONE waker slot for two waiters.
   * The seeded bug: a flusher that registers drops the other's waker, which
   * is then a lost wake-up (sched-inspect names it: `show`, the dump viewer).
   */
  _Atomic int flush_requested;
  _Atomic(schedrt_waker *) flush_waiter;
  /* The access log (demo_log.c): connections -> bounded channel -> "logger". */
  schedrt_channel *log_rx;
  schedrt_sender *log_tx; /* the server's handle; each connection clones its own */
  demo_stats stats;
} demo_server;

#define DEMO_TICK_NS (100u * 1000u * 1000u) /* broadcast tick period: 100 ms */
#define DEMO_DB_POOL_SIZE 8                 /* concurrent db queries */
#define DEMO_LOG_CAPACITY 64                /* access-log records buffered before senders wait */

/* 0, or -errno after freeing what it had allocated. */
int demo_server_init(demo_server *srv);
/* After schedrt_runtime_destroy: every task is gone by then. */
void demo_server_fini(demo_server *srv);

/* One connection task "conn-<n>", spawned from any thread. 0 or a schedrt error. */
int demo_spawn_conn(demo_server *srv);
/* The "ticker" task that drives srv->tick. */
int demo_spawn_ticker(demo_server *srv);
/* "stats-flush-a" and "stats-flush-b": the ticker asks for a flush every second. */
int demo_spawn_flushers(demo_server *srv);
/*
 * "report-exporter": every 2 s it writes a stats report to
 * /tmp/schedrt-demo-report.<pid>.txt on the blocking pool
 * (schedrt_spawn_blocking, job "report-export", 100-600 ms of slow disk) and
 * awaits the job: the live view's blocking row and dumps show it.
 */
int demo_spawn_exporter(demo_server *srv);
/* Removes the report file the exporter writes (at exit). */
void demo_remove_report(void);
/* "cache-warmup": main() awaits it through a join handle (schedrt_join). */
int demo_spawn_warmup(demo_server *srv, schedrt_handle **handle);

/* The access log (demo_log.c). A send in progress: the record and the channel ticket. */
typedef struct demo_log_pending {
  void *rec;
  uint64_t ticket;
} demo_log_pending;
int demo_log_init(demo_server *srv);
/* After schedrt_runtime_destroy: frees what is still buffered, releases the channel. */
void demo_log_fini(demo_server *srv);
/* The "logger" task: receives records until every sender is dropped. */
int demo_spawn_logger(demo_server *srv);
/* Logs one request of connection conn through tx: READY once sent (or refused), PENDING while full. */
schedrt_poll demo_log_send(schedrt_task *task, demo_server *srv, schedrt_sender *tx, demo_log_pending *p,
                           uint64_t conn);
/* A connection dropped mid-send: takes its record back (or leaves it to the channel). */
void demo_log_cancel(schedrt_sender *tx, demo_log_pending *p);

/* Counted allocations (demo_objects_live). */
void *demo_alloc(size_t size);
void demo_free(void *p);

/*
 * Objects the demo allocated and has not freed yet. After the runtime is
 * destroyed this must be 0: every task freed its state when it completed or
 * in its drop callback.
 */
int64_t demo_objects_live(void);

/*
 * --real-sockets (demo_sockets.c): a loopback listener, a "sock-acceptor"
 * task and a client thread keeping nconns TCP connections busy; the
 * connection tasks read their requests from and answer on their socket.
 */
typedef struct demo_sockets demo_sockets;
typedef struct demo_sock demo_sock; /* a connection task's socket */
int demo_sockets_start(demo_server *srv, uint32_t nconns, demo_sockets **out);
/* Before schedrt_runtime_destroy; returns the answers the clients got. */
uint64_t demo_sockets_stop(demo_sockets *ds);
/* A conn-<n> task on an accepted socket, which it takes over. */
int demo_spawn_conn_socket(demo_server *srv, demo_sock *sock);
/* READY with a request line read, or *eof (the client hung up). */
schedrt_poll demo_sock_recv(schedrt_task *task, demo_sock *s, bool *eof);
/* READY once the answer to request is written (or the client is gone). */
schedrt_poll demo_sock_send(schedrt_task *task, demo_sock *s, uint64_t request);
void demo_sock_free(demo_sock *s); /* NULL is fine */

#endif /* SCHEDRT_DEMO_H */
