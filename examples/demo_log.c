/*
 * The demo's access log: every connection task sends one record per request
 * through a bounded channel (DEMO_LOG_CAPACITY slots) to a single "logger"
 * task, which formats it. When the logger falls behind (a slow query holds
 * its worker, say), connections wait in schedrt_channel_send: the live view
 * and dumps show them waiting on "channel_send", the logger on
 * "channel_recv" when it has caught up.
 *
 * Each connection holds its own counted sender handle (cloned from the
 * server's), dropped when it closes. Records are the sender's until the
 * channel takes them, then the logger's; at shutdown what is still buffered
 * is drained and freed by demo_log_fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "demo.h"

typedef struct log_record {
  uint64_t conn;
  uint64_t at_ns;
  uint32_t status;
} log_record;

int demo_log_init(demo_server *srv) {
  return schedrt_channel_create(DEMO_LOG_CAPACITY, &srv->log_rx, &srv->log_tx);
}

void demo_log_fini(demo_server *srv) {
  if (!srv->log_rx)
    return;
  /* Records the logger never got: the tasks are gone, the channel still has them. */
  void *rec;
  while (schedrt_channel_try_recv(srv->log_rx, &rec) == 0)
    demo_free(rec);
  schedrt_sender_drop(srv->log_tx);
  schedrt_channel_destroy(srv->log_rx);
  srv->log_tx = NULL;
  srv->log_rx = NULL;
}

schedrt_poll demo_log_send(schedrt_task *task, demo_server *srv, schedrt_sender *tx, demo_log_pending *p,
                           uint64_t conn) {
  if (!p->rec) {
    log_record *r = demo_alloc(sizeof *r);
    if (!r)
      return SCHEDRT_READY; /* no memory: this request goes unlogged */
    r->conn = conn;
    r->at_ns = schedrt_now_ns();
    r->status = 200;
    p->rec = r;
  }
  int status;
  if (schedrt_channel_send(tx, task, p->rec, &p->ticket, &status) == SCHEDRT_PENDING) {
    schedrt_await(task, "log: channel full, wait for the logger");
    return SCHEDRT_PENDING;
  }
  if (status != 0) {
    demo_free(p->rec); /* the logger is gone: refused, still ours */
    atomic_fetch_add_explicit(&srv->stats.log_refused, 1, memory_order_relaxed);
  }
  p->rec = NULL;
  return SCHEDRT_READY;
}

void demo_log_cancel(schedrt_sender *tx, demo_log_pending *p) {
  if (!p->rec)
    return;
  /* 1: it went into the channel while we were being dropped; demo_log_fini frees it there. */
  if (schedrt_channel_send_cancel(tx, &p->ticket) == 0)
    demo_free(p->rec);
  p->rec = NULL;
}

/* ------------------------------------------------------------------ logger */

typedef struct logger {
  demo_server *srv;
} logger;

static schedrt_poll logger_poll(schedrt_task *task, void *arg) {
  logger *l = arg;
  demo_server *srv = l->srv;
  for (;;) {
    void *rec;
    int status;
    if (schedrt_channel_recv(srv->log_rx, task, &rec, &status) == SCHEDRT_PENDING) {
      /* Empty, or the budget is spent (then we are already re-scheduled). */
      schedrt_await(task, "log: wait for records");
      return SCHEDRT_PENDING;
    }
    if (status == -EPIPE)
      break; /* every sender dropped: end of stream */
    const log_record *r = rec;
    /* "Format and write" the line: a little CPU per record. */
    uint64_t end = schedrt_now_ns() + 2000u + (r->conn & 0x3ffu);
    while (schedrt_now_ns() < end)
      ;
    demo_free(rec);
    atomic_fetch_add_explicit(&srv->stats.log_records, 1, memory_order_relaxed);
  }
  demo_free(l);
  return SCHEDRT_READY;
}

static void logger_drop(void *arg) { demo_free(arg); }

int demo_spawn_logger(demo_server *srv) {
  logger *l = demo_alloc(sizeof *l);
  if (!l)
    return -ENOMEM;
  l->srv = srv;
  schedrt_spawn_opts opts = {.name = "logger", .drop = logger_drop};
  int err = schedrt_spawn_ex(srv->rt, logger_poll, l, &opts, NULL);
  if (err)
    demo_free(l);
  return err;
}
