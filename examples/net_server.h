/*
 * What the two example servers (echo_server.c, http_server.c) share: the
 * command line, the listening socket, the acceptor task with its back-off
 * on EMFILE, the signal task that starts the shutdown, and the idle deadline
 * of a connection. Each server only writes its connection task.
 */
#ifndef SCHEDRT_NET_SERVER_H
#define SCHEDRT_NET_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include <schedrt.h>

typedef struct net_server net_server;

/*
 * Spawns the task of a new connection; io is registered and becomes the
 * task's. 0, or a negative error after releasing io (the connection closes).
 */
typedef int (*net_conn_spawn_fn)(net_server *srv, schedrt_io *io);

struct net_server {
  const char *prog;        /* program name, for messages */
  const char *usage_extra; /* one paragraph for --help */
  net_conn_spawn_fn spawn_conn;
  /* Filled by net_server_main. */
  schedrt_runtime *rt;
  uint64_t idle_ns; /* --idle-timeout-ms; 0: no idle deadline */
  /* Counters (relaxed); conns_live also proves nothing leaks at exit. */
  _Atomic int64_t conns_live;
  _Atomic uint64_t conns_accepted;
  _Atomic uint64_t conns_idle_closed;
  _Atomic uint64_t accept_backoffs;
  _Atomic uint64_t bytes_in, bytes_out, requests;
};

/*
 * Parses --port, --workers, --idle-timeout-ms, binds 127.0.0.1:port, prints
 * "listening on 127.0.0.1:PORT", serves until SIGINT or SIGTERM, then
 * shuts down and prints a summary. Returns the exit status.
 */
int net_server_main(net_server *srv, int argc, char **argv);

/* A connection's state object was allocated (+1) or freed (-1). */
void net_conn_count(net_server *srv, int delta);

/*
 * The idle deadline of one connection: call net_idle_touch when the peer
 * sent something, and net_idle_expired after an operation returned PENDING.
 * It keeps one timer per idle period, not one per read: a timer that fires
 * early (the peer was active since) is re-armed for the time left.
 */
typedef struct net_idle {
  uint64_t deadline; /* schedrt_sleep's state */
  uint64_t last_active;
} net_idle;
void net_idle_touch(net_idle *idle);
/* true once the peer has been silent for the idle timeout; else the task is
 * also registered to wake up when it would be. */
bool net_idle_expired(net_server *srv, net_idle *idle, schedrt_task *task);

#endif /* SCHEDRT_NET_SERVER_H */
