/*
 * Watchdog dumps: Seastar's stall detector and Go's sysmon notice a task
 * that holds its thread; this one also keeps the evidence. When a worker
 * stays inside one poll past the threshold, the monitor starts a dump on a
 * helper thread (the monitor keeps its heartbeat and timers), written to a
 * file in the watchdog directory, and says where on stderr. The stuck worker
 * is left out of the dump at once (dump.c: judge), so the dump costs the
 * others only its copy, and shows the stuck task running, with how long.
 *
 * Bounded: one dump per stuck poll, at most one per ten thresholds, at most
 * max_dumps files per runtime, none for a runtime whose dump would pass
 * MAX_BYTES. Files are created exclusively, mode 0600, never through a link
 * (dump_file.c), under names that say whose they are:
 * schedrt-watchdog.<pid>.<starttime>.<n>.cbor. The metrics segment tells
 * sched-inspect where they are and how many were written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"

#define MIN_MS 10u
#define MAX_MS 3600000u
#define DEFAULT_MAX_DUMPS 10u
/* A dump record takes 90 to 220 bytes a task (docs/dump-format.md; a long
 * name, a wait and a timer make the most): a dump estimated past MAX_BYTES
 * is not started, and one that comes out past it is dropped. */
#define MAX_BYTES (64ull << 20)
#define BYTES_PER_TASK 220u
/* The event rings' last seconds in each dump, when events are on: the
 * newest EV_MAX events of a ring at most (about 40 bytes each), so the events
 * add at most 160 KiB a worker whatever the rings' size and rate. */
#define EV_DEFAULT_S 2u
#define EV_MAX_S 3600u
#define EV_MAX 4096u

/*
 * Stall backtraces, when asked for: the handler and the slots (stall_bt.c),
 * and the helper's result buffer. Made before the workers start, so the
 * handler finds d->bt from their threads. Only -ENOMEM fails the runtime.
 */
static int bt_init(struct schedrt__dump *d) {
  struct schedrt__dwatch *x = &d->watch;
  if (!schedrt__bt_wanted(&d->rt->cfg))
    return 0;
  int rc = schedrt__bt_create(d->rt, &d->bt);
  if (rc)
    return rc == -ENOMEM ? rc : 0;
  if (!(x->bt = malloc(sizeof(*x->bt)))) {
    schedrt__bt_destroy(d->bt);
    d->bt = NULL;
    return -ENOMEM;
  }
  return 0;
}

/* SCHEDRT_WATCHDOG_EVENTS_S: unset, EV_DEFAULT_S; "0", none; a bad value is
 * reported (schedrt__env_u32) and the default kept. */
static uint64_t events_window_ns(void) {
  const char *s = getenv("SCHEDRT_WATCHDOG_EVENTS_S");
  uint32_t v = EV_DEFAULT_S;
  if (s && strcmp(s, "0") == 0)
    v = 0;
  else if (s && *s && (v = schedrt__env_u32("SCHEDRT_WATCHDOG_EVENTS_S", 1, EV_MAX_S)) == 0)
    v = EV_DEFAULT_S;
  return (uint64_t)v * 1000000000u;
}

int schedrt__dwatch_init(struct schedrt__dump *d) {
  struct schedrt__dwatch *x = &d->watch;
  const schedrt_config *cfg = &d->rt->cfg;
  memset(x, 0, sizeof(*x));
  x->dirfd = -1;
  atomic_init(&x->done, false);
  x->threshold_ms =
      cfg->watchdog_ms ? cfg->watchdog_ms : schedrt__env_u32("SCHEDRT_WATCHDOG_MS", MIN_MS, MAX_MS);
  if (!x->threshold_ms) {
    if (schedrt__bt_wanted(cfg))
      fprintf(stderr,
              "schedrt: %s: stall backtraces are taken for watchdog dumps, and the watchdog is off "
              "(SCHEDRT_WATCHDOG_MS): none will be taken\n",
              d->rt->name);
    return 0;
  }
  if (d->disabled) {
    fprintf(stderr,
            "schedrt: %s: watchdog dumps disabled: dumps are (SCHEDRT_DUMP=0 or SCHEDRT_CFG_NO_DUMP)\n",
            d->rt->name);
    x->threshold_ms = 0;
    return 0;
  }
  x->max_dumps =
      cfg->watchdog_max_dumps ? cfg->watchdog_max_dumps : schedrt__env_u32("SCHEDRT_WATCHDOG_MAX", 1, 1000);
  if (!x->max_dumps)
    x->max_dumps = DEFAULT_MAX_DUMPS;
  const char *dir = cfg->watchdog_dir ? cfg->watchdog_dir : getenv("SCHEDRT_DUMP_DIR");
  if (!dir || !*dir)
    dir = ".";
  /* The directory is the user's choice; names inside it are ours, created
   * exclusively. The absolute path is what messages and sched-inspect show. */
  x->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (x->dirfd < 0 || !realpath(dir, x->dir)) {
    int rc = -errno;
    fprintf(stderr, "schedrt: %s: watchdog dumps disabled: directory %s: %s\n", d->rt->name, dir,
            schedrt_strerror(rc));
    if (x->dirfd >= 0)
      close(x->dirfd);
    x->dirfd = -1;
    x->threshold_ms = 0;
    return 0;
  }
  x->polls = calloc(d->rt->nworkers, sizeof(*x->polls));
  if (!x->polls) {
    close(x->dirfd);
    x->dirfd = -1;
    x->threshold_ms = 0;
    return -ENOMEM;
  }
  int rc = bt_init(d);
  if (rc) {
    free(x->polls);
    x->polls = NULL;
    close(x->dirfd);
    x->dirfd = -1;
    x->threshold_ms = 0;
    return rc;
  }
  x->events_ns = events_window_ns();
  /* Published in the metrics segment, which is made after us. */
  d->rt->watchdog_dir = x->dir;
  return 0;
}

/* Joins a finished helper; true while one still runs. */
static bool busy(struct schedrt__dwatch *x) {
  if (!x->live)
    return false;
  /* Acquire: pairs with the helper's last store. */
  if (!atomic_load_explicit(&x->done, memory_order_acquire))
    return true;
  pthread_join(x->thread, NULL);
  x->live = false;
  return false;
}

void schedrt__dwatch_fini(struct schedrt__dump *d) {
  struct schedrt__dwatch *x = &d->watch;
  /* The runtime is stopping: a dump still gathering gives up within 1 ms. */
  if (x->live) {
    pthread_join(x->thread, NULL);
    x->live = false;
  }
  if (x->dirfd >= 0)
    close(x->dirfd);
  x->dirfd = -1;
  free(x->polls);
  x->polls = NULL;
  /* The workers have stopped: no handler can reach the slots any more. */
  schedrt__bt_destroy(d->bt);
  d->bt = NULL;
  free(x->bt);
  x->bt = NULL;
}

/* The next file name of ours; false when the names to try are used up. */
static bool next_name(struct schedrt__dump *d, char *name, size_t size) {
  struct schedrt__dwatch *x = &d->watch;
  if (x->next_n >= x->max_dumps * 4u)
    return false;
  snprintf(name, size, "schedrt-watchdog.%u.%llu.%u.cbor", d->pid, (unsigned long long)d->starttime,
           x->next_n++);
  return true;
}

static void write_dump(struct schedrt__dump *d) {
  struct schedrt__dwatch *x = &d->watch;
  struct schedrt__dfile f;
  struct stat st;
  char name[128];
  int rc = -EEXIST;
  /* A taken name (a squatter, a leftover of an earlier process with our pid
   * and start time) is skipped: the next number will do. */
  while (rc == -EEXIST && next_name(d, name, sizeof(name)))
    rc = schedrt__dfile_create(&f, x->dirfd, name);
  if (rc) {
    fprintf(stderr, "schedrt: %s: watchdog: no file for the dump in %s: %s\n", d->rt->name, x->dir,
            schedrt_strerror(rc));
    return;
  }
  /* The events first: the dump's own barrier (its wakes, parks and unparks)
   * would push the seconds before it out of a small ring. Events off (or no
   * memory): a dump without them. */
  x->req.ev = NULL;
  if (x->events_ns && schedrt__events_snap(d->rt, x->events_ns, EV_MAX, &x->ev) == 0)
    x->req.ev = &x->ev;
  /* The stuck worker's stack first, while it is still stuck; the dump then leaves it out. */
  char bt_note[160] = "";
  if (x->req.bt) {
    schedrt__bt_capture(d->bt, x->req.bt_worker, SCHEDRT__BT_WAIT_NS, x->bt);
    if (x->bt->result == SCHEDRT_DUMP_BT_OK)
      snprintf(bt_note, sizeof(bt_note), "; backtrace of %u frames in %llu us", x->bt->n,
               (unsigned long long)(x->bt->wait_ns / 1000u));
    else if (x->bt->result == SCHEDRT_DUMP_BT_NO_ANSWER)
      snprintf(bt_note, sizeof(bt_note), "; no backtrace: the thread did not answer signal %d in %llu ms",
               x->bt->signo, (unsigned long long)(x->bt->wait_ns / 1000000u));
    else
      snprintf(bt_note, sizeof(bt_note), "; no backtrace: %s", x->bt->why);
  }
  schedrt_dump_result res;
  rc = schedrt__dump_run(d, &x->req, f.fd, &res);
  /* The estimate that let the dump start may be short (long names, many
   * sites): the cap itself is checked on the file. */
  if (rc == 0 && fstat(f.fd, &st) == 0 && (uint64_t)st.st_size > MAX_BYTES) {
    fprintf(stderr, "schedrt: %s: watchdog: dump dropped: %llu bytes, past the %llu MiB cap\n", d->rt->name,
            (unsigned long long)st.st_size, MAX_BYTES >> 20);
    schedrt__dfile_abort(&f);
    return;
  }
  if (rc == 0) {
    /* A name taken meanwhile: the next one, as at creation. */
    while ((rc = schedrt__dfile_commit(&f)) == -EEXIST && next_name(d, f.name, sizeof(f.name)))
      ;
  }
  if (rc) {
    schedrt__dfile_abort(&f);
    fprintf(stderr, "schedrt: %s: watchdog: the dump failed: %s\n", d->rt->name, schedrt_strerror(rc));
    return;
  }
  x->written++;
  schedrt__metrics_saved_dumps(d->rt, x->written);
  fprintf(stderr, "schedrt: %s: %s; %s dump (%u tasks) saved to %s/%s%s\n", d->rt->name, x->req.label,
          schedrt_dump_status_name(res.status), res.tasks, x->dir, f.name, bt_note);
}

static void *helper_main(void *arg) {
  struct schedrt__dump *d = arg;
  write_dump(d);
  d->watch.req.ev = NULL;
  schedrt__events_snap_free(&d->watch.ev);
  /* Release: the monitor joins us after this. */
  atomic_store_explicit(&d->watch.done, true, memory_order_release);
  return NULL;
}

/* Starts the dump for worker i, stuck for `ms` in the poll of the task at cur. */
static void start(struct schedrt__dump *d, uint32_t i, const void *cur, uint64_t ms, uint64_t now) {
  struct schedrt__dwatch *x = &d->watch;
  x->last_ns = now;
  uint64_t alive = schedrt__alive_tasks(d->rt);
  if (alive * BYTES_PER_TASK > MAX_BYTES) {
    if (!x->warned_size)
      fprintf(stderr,
              "schedrt: %s: worker %u in one poll for %llu ms; no watchdog dump: %llu tasks would pass %llu "
              "MiB\n",
              d->rt->name, i, (unsigned long long)ms, (unsigned long long)alive, MAX_BYTES >> 20);
    x->warned_size = true;
    return;
  }
  memset(&x->req, 0, sizeof(x->req));
  x->req.source = SCHEDRT__SRC_WATCHDOG;
  x->req.has_label = true;
  x->req.bt = d->bt ? x->bt : NULL;
  x->req.bt_worker = i;
  /* The label names the task, as far as it fits (the dump has the rest). */
  struct schedrt__task_ident t;
  size_t room = sizeof(x->req.label);
  int n = schedrt__task_find(d->rt, i, cur, &t) == 1
              ? snprintf(x->req.label, room, "watchdog: worker %u in one poll for %llu ms: task #%llu %s", i,
                         (unsigned long long)ms, (unsigned long long)t.id, t.name[0] ? t.name : "(unnamed)")
              : snprintf(x->req.label, room, "watchdog: worker %u in one poll for %llu ms", i,
                         (unsigned long long)ms);
  if (n < 0 || (size_t)n >= room)
    x->req.label[room - 1] = '\0'; /* cut: the dump itself names the task in full */
  /* Distinguishable dumps, as the others are: a nonce from the clock and the count. */
  uint64_t a = now, b = ((uint64_t)d->pid << 32) | x->written;
  memcpy(x->req.nonce, &a, 8);
  memcpy(x->req.nonce + 8, &b, 8);
  atomic_store_explicit(&x->done, false, memory_order_relaxed);
  /* Never on the monitor itself: its heartbeat, timers and control page
   * would wait for the whole dump. */
  int rc = pthread_create(&x->thread, NULL, helper_main, d);
  if (rc == 0)
    x->live = true;
  else
    fprintf(stderr, "schedrt: %s: worker %u in one poll for %llu ms; no watchdog dump: no thread: %s\n",
            d->rt->name, i, (unsigned long long)ms, schedrt_strerror(-rc));
}

void schedrt__dwatch_tick(struct schedrt__dump *d, uint64_t now) {
  struct schedrt__dwatch *x = &d->watch;
  if (!x->threshold_ms || busy(x))
    return;
  schedrt_runtime *rt = d->rt;
  uint64_t threshold = (uint64_t)x->threshold_ms * 1000000u;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    struct schedrt__dwatch_poll *p = &x->polls[i];
    /* Relaxed: only compared, never dereferenced. */
    const void *cur = atomic_load_explicit(&rt->workers[i].current, memory_order_relaxed);
    uint64_t seq = schedrt__dseg_poll_seq(rt, i);
    if (!cur || cur != p->cur || seq != p->seq) {
      /* Another poll (or none): watched from now on, or from its real start
       * when the metrics know it. */
      uint64_t id, since;
      uint8_t src;
      p->cur = cur;
      p->seq = seq;
      p->fired = false;
      p->since = cur && schedrt__dseg_poll(rt, i, &id, &since, &src) == 0 && since < now ? since : now;
      continue;
    }
    if (p->fired || now - p->since < threshold)
      continue;
    p->fired = true; /* one dump per stuck poll, whether written or not */
    if (x->written >= x->max_dumps || (x->last_ns && now - x->last_ns < 10 * threshold))
      continue;
    start(d, i, cur, (now - p->since) / 1000000u, now);
    return; /* one at a time */
  }
}
