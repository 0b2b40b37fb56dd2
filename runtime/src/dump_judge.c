/*
 * Judging a dump's round: which missing workers are stuck in a poll (not
 * waited for), which will reach a safe point (waited for, without holding the
 * arrived ones more than SCHEDRT__DHOLD_NS at a time), and a preempted thread
 * told from a stuck one by what the kernel says of it (docs/dump-format.md,
 * "Start barrier").
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"

/* Reads a small /proc file of worker i's thread into buf; its length, or 0. */
static size_t read_thread_file(schedrt_runtime *rt, uint32_t i, const char *what, char *buf, size_t size) {
  /* The thread id comes from the metrics (0 when built out). */
  uint64_t tid = schedrt__metrics_tid(rt, i);
  char path[64];
  if (!tid)
    return 0;
  snprintf(path, sizeof(path), "/proc/self/task/%llu/%s", (unsigned long long)tid, what);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return (size_t)n;
}

/* Worker i's thread's time on a CPU so far (the kernel's schedstat). */
static bool cpu_time(schedrt_runtime *rt, uint32_t i, uint64_t *ns) {
  char buf[96];
  unsigned long long v;
  if (!read_thread_file(rt, i, "schedstat", buf, sizeof(buf)) || sscanf(buf, "%llu", &v) != 1)
    return false;
  *ns = v;
  return true;
}

/* Whether worker i's thread is running or waiting for a CPU (state R). */
static bool runnable(schedrt_runtime *rt, uint32_t i) {
  char buf[512];
  if (!read_thread_file(rt, i, "stat", buf, sizeof(buf)))
    return false;
  /* "tid (comm) S ...": comm may hold anything, so the state follows the last ')'. */
  const char *paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' && paren[2] == 'R';
}

/* A poll that outlasted a period only because its thread was given no CPU
 * (a loaded machine) is not stuck: it reaches a safe point once it runs. A
 * thread stuck in a poll is either asleep in a call (not runnable: stuck at
 * once) or running, its CPU time growing; a preempted one is runnable and
 * barely runs. Telling those two apart takes PREEMPT_WINDOW_NS of watching,
 * done before the barrier opens for a poll already long then (a poll that
 * turns long while the barrier is open holds the arrived workers that long at
 * most, within SCHEDRT__DHOLD_NS). The kernel adds CPU time at
 * scheduler ticks, so a thread spinning in a poll can look preempted for a
 * tick: the dump then gathers another round. */
#define PREEMPT_WINDOW_NS 500000ull
static bool preempted(struct schedrt__dump *d, uint32_t i, uint64_t now) {
  const struct schedrt__dprobe *p = &d->round.probes[i];
  uint64_t on_cpu;
  if (!p->known || !runnable(d->rt, i))
    return false;
  uint64_t window = now - p->seen;
  if (window < PREEMPT_WINDOW_NS)
    return true; /* not watched long enough to tell */
  if (!cpu_time(d->rt, i, &on_cpu))
    return false;
  return on_cpu - p->on_cpu < window / 8;
}

/*
 * Where worker i is: a probe remembers the poll it saw (the current task and
 * the poll count) and since when; a poll that began before, and that the
 * metrics date, counts from its real start (with per-poll timing, or once the
 * monitor saw it a whole period).
 */
static void probe_look(struct schedrt__dump *d, uint32_t i, uint64_t now) {
  schedrt_runtime *rt = d->rt;
  struct schedrt__dprobe *p = &d->round.probes[i];
  /* Relaxed: only compared, never dereferenced. */
  const void *cur = atomic_load_explicit(&rt->workers[i].current, memory_order_relaxed);
  uint64_t seq = schedrt__dseg_poll_seq(rt, i);
  if (cur == p->cur && seq == p->seq && p->since)
    return;
  p->cur = cur;
  p->seq = seq;
  p->stuck = false;
  p->since = p->seen = now;
  p->known = cur && cpu_time(rt, i, &p->on_cpu);
  uint64_t id, since;
  uint8_t src;
  if (cur && schedrt__dseg_poll(rt, i, &id, &since, &src) == 0 && since < now &&
      schedrt__dseg_poll_seq(rt, i) == seq)
    p->since = since;
}

void schedrt__dprobe_start(struct schedrt__dump *d, uint64_t now) {
  uint64_t stuck_ns = (uint64_t)d->rt->cfg.monitor_period_ms * 1000000u;
  bool watch = false;
  memset(d->round.probes, 0, sizeof(*d->round.probes) * d->rt->nworkers);
  for (uint32_t i = 0; i < d->rt->nworkers; i++) {
    probe_look(d, i, now);
    const struct schedrt__dprobe *p = &d->round.probes[i];
    watch |= p->cur && now - p->since >= stuck_ns && p->known && runnable(d->rt, i);
  }
  /* A long poll on a runnable thread: stuck or preempted? Watched now, before
   * the barrier opens, the healthy workers do not wait at it meanwhile. */
  if (watch) {
    struct timespec ts = {0, (long)PREEMPT_WINDOW_NS};
    nanosleep(&ts, NULL);
  }
}

/*
 * The barrier's judge. A worker that has not arrived and whose poll is known
 * to be long (it outlasted a monitor period: the monitor named it, or the
 * probes saw it that long), and whose thread was not merely waiting for a
 * CPU meanwhile, is stuck: once every missing worker is, the gate
 * closes without them (listed missing, their tasks running). Any other missing
 * worker will reach a safe point (it is between polls, waking, or preempted),
 * but the arrived ones are never held for it longer than SCHEDRT__DHOLD_NS: they are let
 * go and gathered again. So no healthy worker waits more than SCHEDRT__DHOLD_NS plus the
 * copy at a time, whatever the deadline.
 */
enum schedrt__dbar_verdict schedrt__dump_judge(void *arg, const uint8_t *present, uint32_t arrived,
                                               uint64_t held_since, uint64_t now) {
  struct schedrt__dump *d = arg;
  schedrt_runtime *rt = d->rt;
  uint64_t stuck_ns = (uint64_t)rt->cfg.monitor_period_ms * 1000000u;
  bool all_stuck = true;
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    if (present[i])
      continue;
    probe_look(d, i, now);
    struct schedrt__dprobe *p = &d->round.probes[i];
    /* The verdict is kept for the poll: /proc is read under the barrier's
     * lock, once or a few times per worker, not at every look. */
    if (!p->stuck)
      p->stuck = p->cur && now - p->since >= stuck_ns && !preempted(d, i, now);
    all_stuck &= p->stuck;
  }
  if (all_stuck)
    return SCHEDRT_DBAR_CLOSE;
  /* A worker that asked from inside a task is held by its own call, not by us. */
  uint32_t waiting = arrived - (d->round.self >= 0 && present[d->round.self]);
  if (!waiting || now - held_since < SCHEDRT__DHOLD_NS)
    return SCHEDRT_DBAR_WAIT;
  /* No time left for another round: the dump is what we have now. */
  return now + SCHEDRT__DGAP_NS + SCHEDRT__DROUND_MIN_NS >= d->bar.deadline_ns ? SCHEDRT_DBAR_CLOSE
                                                                               : SCHEDRT_DBAR_RETRY;
}
