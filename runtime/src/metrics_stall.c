/*
 * The stall detector: what held a worker through a long poll (one the
 * long-poll watch saw run for long_poll_ms), and reports of it on stderr.
 *
 * Seastar's detector counts CPU time only, so a poll blocked in a syscall is
 * invisible to it, and a host that stops the process raises false alarms.
 * Here each long poll gets a kind (SCHEDRT_STALL_KINDS): PROCESS when the
 * monitor itself was held up for at least half of the poll's length and
 * the worker did not run for most of it either (the whole process was
 * stopped, or its host paused: the poll did not hold anything);
 * else ON_CPU when the worker thread ran for at least 60 % of the time it
 * ran or was blocked since the poll's second sample (its schedstat), and
 * SYSCALL (off CPU) once that share is at most 40 %, the syscall read from
 * /proc/self/task/TID/syscall. Its waits in a run queue for a core count
 * for neither: they are the host's doing, not the poll's. Between the on
 * and off thresholds the kind stays as it was, so a poll that sits near one
 * line does not flap.
 *
 * On a crowded machine two things would mislead: schedstat books a wait for
 * a core only when it ends, so a thread runnable now (its /proc stat says R)
 * is counted as waiting since its figures last moved or it was last seen
 * not runnable; and a monitor sample late because the monitor itself waited
 * for a core (its own schedstat, read at every sample) is not held up, so
 * no PROCESS from that.
 *
 * Reports (SCHEDRT_STALL_MS=T): at T, then at every doubling (2T, 4T ...)
 * while the same poll goes on, at most 10 a minute per runtime; the rest are
 * counted (the global metric stall_reports_suppressed) and the next report
 * after a minute says how many the last one left out.
 *
 * All on the monitor thread, which owns the watch records; the slot's stall
 * metrics are single values it stores outside any section, as long_polls.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define ON_CPU_PCT 60u      /* a poll becomes ON_CPU at this CPU share or more */
#define OFF_CPU_PCT 40u     /* and SYSCALL at this or less */
#define PROCESS_ON 50u      /* % of its length the monitor was held up: PROCESS */
#define PROCESS_OFF 30u     /* and no longer PROCESS below this */
#define PROCESS_RUN_MAX 50u /* nor once the worker ran or waited for a core this much of it */
#define REPORTS_PER_MINUTE 10u
#define MINUTE_NS 60000000000ull
#define SYSCALL_EVERY_NS 20000000ull /* /proc is read at most this often per stall */
#define LATE_MIN_NS 50000000ull      /* a monitor sample this late or more counts as held up */

uint64_t schedrt__stall_report_ns(void) {
  return (uint64_t)schedrt__env_u32("SCHEDRT_STALL_MS", 1, 3600000u) * 1000000u;
}

static void store(schedrt_runtime *rt, uint32_t i, uint32_t off, uint64_t v) {
  /* Relaxed: a value of its own for readers, the monitor its only writer. */
  atomic_store_explicit(SCHEDRT_SHM_WSLOT_AT(rt->workers[i].m.slot, off, uint64_t), v, memory_order_relaxed);
}

/* A schedstat file's time on a CPU and waiting in a run queue (ns). */
static bool read_schedstat(const char *path, uint64_t *cpu, uint64_t *wait) {
  char buf[96];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  unsigned long long c, w;
  if (n <= 0 || (buf[n] = '\0', sscanf(buf, "%llu %llu", &c, &w) != 2))
    return false;
  *cpu = c;
  *wait = w;
  return true;
}

/* Above the descriptors a program usually has open: see schedrt__metrics_monitor_start. */
#define OWN_FD_MIN 100

void schedrt__metrics_monitor_start(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  if (!m->base || !m->watch || !m->long_poll_ns)
    return;
  /* /proc/thread-self names the opening thread: this one, the monitor. */
  int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    int high = fcntl(fd, F_DUPFD_CLOEXEC, OWN_FD_MIN);
    if (high >= 0) {
      close(fd);
      fd = high;
    }
  }
  m->own_schedstat = fd >= 0 ? fd + 1 : -1;
}

/*
 * The calling (monitor) thread's own run-queue time. Read at every sample,
 * so its file is kept open (schedrt__metrics_monitor_start) and read with
 * pread: about 1.5 us, a fifth of an open, read and close.
 */
static bool own_wait(struct schedrt__metrics *m, uint64_t *wait) {
  char buf[96];
  unsigned long long c, w;
  ssize_t n = m->own_schedstat > 0 ? pread(m->own_schedstat - 1, buf, sizeof(buf) - 1, 0) : -1;
  if (n <= 0 || (buf[n] = '\0', sscanf(buf, "%llu %llu", &c, &w) != 2))
    return false;
  *wait = w;
  return true;
}

void schedrt__stall_fini(schedrt_runtime *rt) {
  struct schedrt__metrics *m = &rt->metrics;
  if (m->own_schedstat > 0)
    close(m->own_schedstat - 1);
  m->own_schedstat = 0;
}

void schedrt__stall_gap(schedrt_runtime *rt, uint64_t now) {
  struct schedrt__metrics *m = &rt->metrics;
  uint64_t planned = m->long_poll_watch_ns, gap = m->watch_last ? now - m->watch_last : 0;
  m->watch_last = now;
  /* The monitor's own run-queue time at every sample: a sample late
   * because the monitor waited for a core (a busy machine) is no sign of a
   * stopped process, whether or not a poll in sight was judged yet when the
   * wait began (read only while judging, a wait before a poll's second
   * sample counted as a stop). */
  uint64_t wait = 0, waited = 0;
  bool known = own_wait(m, &wait);
  if (known && m->watch_wait && wait >= m->watch_wait)
    waited = wait - m->watch_wait;
  m->watch_wait = known ? wait : 0;
  /* Late: the sample came 50 ms after the one before, or later (a busy
   * host delays a thread by a few ms often, by tens now and then; a stopped
   * process, or a paused host, by far more). */
  if (gap <= 4 * planned || gap <= LATE_MIN_NS)
    return;
  uint64_t late = gap - planned;
  late = waited >= late ? 0 : late - waited;
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (m->watch[i].lp_first)
      m->watch[i].lp_late += late;
}

void schedrt__stall_begin(schedrt_runtime *rt, uint32_t i) {
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  x->lp_late = x->lp_late_judged = x->lp_t0 = x->lp_cpu0 = x->lp_wait0 = x->lp_tb = x->lp_cpub =
      x->lp_next_report = x->lp_syscall_at = x->lp_state_at = x->lp_not_run_at = x->lp_moved_at =
          x->lp_cpu_last = x->lp_wait_last = 0;
  x->lp_kind = SCHEDRT_STALL_NONE;
  x->lp_reports = 0;
  if (!x->cpu_clock_ok)
    /* The worker's pthread_t was stored before the monitor was created. */
    x->cpu_clock_ok = pthread_getcpuclockid(rt->workers[i].thread, &x->cpu_clock) == 0;
}

/*
 * The worker thread's time on a CPU and waiting for one (run queue), from
 * /proc/self/task/TID/schedstat; without it, its CPU clock and no wait.
 * A thread that waited for a core wanted to run: that is not a syscall.
 */
static void cpu_and_wait(schedrt_runtime *rt, uint32_t i, uint64_t *cpu, uint64_t *wait) {
  const struct schedrt__mwatch *x = &rt->metrics.watch[i];
  uint64_t tid = schedrt__metrics_tid(rt, i);
  char path[64];
  *cpu = *wait = 0;
  if (tid) {
    snprintf(path, sizeof(path), "/proc/self/task/%llu/schedstat", (unsigned long long)tid);
    if (read_schedstat(path, cpu, wait))
      return;
  }
  struct timespec ts;
  if (x->cpu_clock_ok && clock_gettime(x->cpu_clock, &ts) == 0)
    *cpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Whether worker i's thread is runnable now (state R in /proc/self/task/TID/
 * stat): running, or waiting for a core. schedstat counts a wait only once it
 * ends, so a thread that has waited since it last ran looks off CPU there.
 * Read at most every SYSCALL_EVERY_NS per stall.
 */
static bool runnable(schedrt_runtime *rt, uint32_t i, uint64_t now) {
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  if (x->lp_state_at && now - x->lp_state_at < SYSCALL_EVERY_NS)
    return x->lp_runnable;
  x->lp_state_at = now;
  x->lp_runnable = false;
  uint64_t tid = schedrt__metrics_tid(rt, i);
  char path[64], buf[512];
  if (!tid)
    return false;
  snprintf(path, sizeof(path), "/proc/self/task/%llu/stat", (unsigned long long)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'. */
  const char *p = strrchr(buf, ')');
  x->lp_runnable = p && p[1] == ' ' && p[2] == 'R';
  if (!x->lp_runnable)
    x->lp_not_run_at = now;
  return x->lp_runnable;
}

/* The syscall worker i's thread is in, + 1; 0 when not in one or not readable. */
static uint64_t syscall_of(schedrt_runtime *rt, uint32_t i) {
  uint64_t tid = schedrt__metrics_tid(rt, i);
  char path[64], buf[64];
  if (!tid)
    return 0;
  snprintf(path, sizeof(path), "/proc/self/task/%llu/syscall", (unsigned long long)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* "running", or the number and the arguments; -1 is no syscall (a fault). */
  char *end;
  long nr = strtol(buf, &end, 10);
  return end != buf && nr >= 0 ? (uint64_t)nr + 1u : 0;
}

/* The kind from the evidence so far, with the hysteresis of the file comment: run_pct is the share of
 * the time the thread ran or waited for a core, cpu_pct the share it ran of the time it ran or was
 * blocked. */
static uint32_t classify(const struct schedrt__mwatch *x, uint64_t seen, uint64_t run_pct, uint64_t cpu_pct) {
  uint64_t late_pct = seen ? x->lp_late * 100u / seen : 0;
  /* A monitor held up while the worker ran is a busy host, not a stopped
   * process: the poll held its worker. Stopped threads neither run nor
   * wait in a run queue. */
  if (x->lp_late >= LATE_MIN_NS && run_pct < PROCESS_RUN_MAX &&
      (late_pct >= PROCESS_ON || (x->lp_kind == SCHEDRT_STALL_PROCESS && late_pct >= PROCESS_OFF)))
    return SCHEDRT_STALL_PROCESS;
  if (cpu_pct >= ON_CPU_PCT)
    return SCHEDRT_STALL_ON_CPU;
  if (cpu_pct <= OFF_CPU_PCT)
    return SCHEDRT_STALL_SYSCALL;
  return x->lp_kind == SCHEDRT_STALL_NONE || x->lp_kind == SCHEDRT_STALL_PROCESS ? SCHEDRT_STALL_ON_CPU
                                                                                 : x->lp_kind;
}

/* Whether a report may be printed now; counts the ones the cap leaves out. */
static bool report_allowed(struct schedrt__metrics *m, uint64_t now, uint32_t *left_out) {
  *left_out = 0;
  if (!m->report_window || now - m->report_window >= MINUTE_NS) {
    *left_out = m->suppressed_in_window;
    m->report_window = now;
    m->reports_in_window = m->suppressed_in_window = 0;
  }
  if (m->reports_in_window >= REPORTS_PER_MINUTE) {
    m->suppressed_in_window++;
    m->reports_suppressed++;
    return false;
  }
  m->reports_in_window++;
  return true;
}

static void report(schedrt_runtime *rt, uint32_t i, const void *cur, uint64_t now, uint64_t seen,
                   uint64_t cpu_pct, uint64_t wait_pct, uint64_t syscall) {
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  uint32_t left_out;
  bool again = x->lp_reports++ > 0;
  _Atomic uint64_t *due =
      SCHEDRT_SHM_WSLOT_AT(rt->workers[i].m.slot, SCHEDRT_SHM_WOFF_stall_reports, uint64_t);
  /* Relaxed, single writer: a count of its own (compared with the suppressed count once all is quiet). */
  atomic_store_explicit(due, atomic_load_explicit(due, memory_order_relaxed) + 1u, memory_order_relaxed);
  if (!report_allowed(&rt->metrics, now, &left_out))
    return;
  char task[160] = "", why[96], tail[80] = "";
  struct schedrt__task_ident t;
  if (schedrt__task_find(rt, i, cur, &t) == 1)
    snprintf(task, sizeof(task), " of task #%llu \"%s\" (%s:%d)", (unsigned long long)t.id,
             t.name[0] ? t.name : "unnamed", t.file_tail, t.line);
  if (x->lp_kind == SCHEDRT_STALL_SYSCALL && syscall)
    snprintf(why, sizeof(why), "off CPU in syscall %llu (%llu%% CPU)", (unsigned long long)(syscall - 1u),
             (unsigned long long)cpu_pct);
  else if (x->lp_kind == SCHEDRT_STALL_PROCESS)
    snprintf(why, sizeof(why), "the whole process stalled (the monitor was held up %llu ms of it)",
             (unsigned long long)(x->lp_late / 1000000u));
  else if (wait_pct)
    snprintf(why, sizeof(why), "%s (%llu%% CPU, %llu%% waiting for a core)",
             schedrt_stall_kind_names[x->lp_kind], (unsigned long long)cpu_pct, (unsigned long long)wait_pct);
  else
    snprintf(why, sizeof(why), "%s (%llu%% CPU)", schedrt_stall_kind_names[x->lp_kind],
             (unsigned long long)cpu_pct);
  if (left_out)
    snprintf(tail, sizeof(tail), "; %u report%s left out in the minute before", left_out,
             left_out > 1 ? "s" : "");
  fprintf(stderr, "schedrt: %s: worker %u %s %llu ms in one poll%s: %s%s\n", rt->name, i,
          again ? "still stalled," : "stalled", (unsigned long long)(seen / 1000000u), task, why, tail);
}

/*
 * The poll's kind from its evidence up to now (cpu and wait just read), published with its CPU share
 * and, off CPU, its syscall (read at most every SYSCALL_EVERY_NS: *syscall 0 when not read). Returns the
 * share of the time the thread ran or waited for a core.
 */
static uint64_t judge(schedrt_runtime *rt, uint32_t i, uint64_t now, uint64_t seen, uint64_t cpu,
                      uint64_t wait, uint64_t *cpu_pct_out, uint64_t *syscall) {
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  uint64_t wall = now - x->lp_t0;
  uint64_t cpu_pct = wall && cpu >= x->lp_cpu0 ? (cpu - x->lp_cpu0) * 100u / wall : 0;
  uint64_t wait_pct = wall && wait >= x->lp_wait0 ? (wait - x->lp_wait0) * 100u / wall : 0;
  cpu_pct = cpu_pct > 100u ? 100u : cpu_pct;
  uint64_t run_pct = cpu_pct + wait_pct > 100u ? 100u : cpu_pct + wait_pct;
  if (!cpu && !wait)
    run_pct = 100u; /* no evidence at all: said to be on CPU, the kind that needs none */
  /* Its current wait for a core is not in schedstat yet: a thread runnable
   * now has waited since its figures last moved, or since it was last seen
   * not runnable (a syscall that just returned), whichever came later. Not
   * with the monitor held up in the poll: then the lateness judges (a
   * process just continued is runnable too). */
  if (cpu != x->lp_cpu_last || wait != x->lp_wait_last || !x->lp_moved_at) {
    x->lp_moved_at = now;
    x->lp_cpu_last = cpu;
    x->lp_wait_last = wait;
  }
  /* The kind: since the baseline, the share of the time the thread ran out
   * of the time it ran or was blocked. Its waits for a core count for
   * neither (the host's doing, not the poll's): a spinner that waits for its
   * core most of the time is on CPU, and a sleeper still off CPU once it
   * woke into a queue for one. */
  uint64_t ran = cpu >= x->lp_cpub ? cpu - x->lp_cpub : 0;
  uint64_t queued = wait >= x->lp_wait0 ? wait - x->lp_wait0 : 0;
  bool run_now = runnable(rt, i, now);
  if (x->lp_late < LATE_MIN_NS && run_now) {
    uint64_t since = x->lp_moved_at > x->lp_not_run_at ? x->lp_moved_at : x->lp_not_run_at;
    since = since > x->lp_tb ? since : x->lp_tb;
    queued += now - since;
  }
  uint64_t span = now - x->lp_tb, blocked = span > ran + queued ? span - ran - queued : 0;
  uint64_t kind_pct = ran + blocked ? ran * 100u / (ran + blocked) : 100u;
  /* No evidence, or a thread never seen blocked since the baseline: what
   * looks blocked is a gap in the figures (on a crowded machine the monitor
   * sees them move late), not a syscall. */
  if ((!cpu && !wait) || x->lp_not_run_at < x->lp_tb)
    kind_pct = 100u;
  x->lp_kind = classify(x, seen, run_pct, kind_pct);
  x->lp_late_judged = x->lp_late;
  *syscall = 0;
  if (x->lp_kind == SCHEDRT_STALL_SYSCALL && now - x->lp_syscall_at >= SYSCALL_EVERY_NS) {
    x->lp_syscall_at = now;
    *syscall = syscall_of(rt, i);
    /* None now ("running": back from it, or waiting for a core to be): the one
     * seen last in this stall stays. */
    if (*syscall)
      store(rt, i, SCHEDRT_SHM_WOFF_stall_syscall, *syscall);
  } else if (x->lp_kind != SCHEDRT_STALL_SYSCALL) {
    store(rt, i, SCHEDRT_SHM_WOFF_stall_syscall, 0);
  }
  store(rt, i, SCHEDRT_SHM_WOFF_stall_cpu_pct, cpu_pct);
  store(rt, i, SCHEDRT_SHM_WOFF_stall_kind, x->lp_kind);
  *cpu_pct_out = cpu_pct;
  return run_pct;
}

void schedrt__stall_sample(schedrt_runtime *rt, uint32_t i, const void *cur, uint64_t now, uint64_t seen) {
  struct schedrt__metrics *m = &rt->metrics;
  struct schedrt__mwatch *x = &m->watch[i];
  if (x->lp_t0 && seen < m->long_poll_ns)
    return;
  uint64_t cpu, wait;
  cpu_and_wait(rt, i, &cpu, &wait);
  if (!x->lp_t0) {
    /* The second sample of a poll is the baseline: polls that outlast a
     * sample period (0.2 to 2 ms) are few, so /proc is read rarely. The
     * span since the first sighting counts from the first sighting: the
     * time the monitor was held up in it as not run (a stop before the
     * baseline still counts), the rest as run (the worst case for PROCESS). */
    uint64_t before = now - x->lp_first, unknown = before > x->lp_late ? before - x->lp_late : 0;
    x->lp_t0 = x->lp_first;
    x->lp_cpu0 = cpu > unknown ? cpu - unknown : 0;
    x->lp_wait0 = wait;
    x->lp_tb = now;
    x->lp_cpub = cpu;
    /* The figures as read here: a thread runnable from here on without
     * their moving has waited for a core since (a preempted short poll). */
    x->lp_moved_at = now;
    x->lp_cpu_last = cpu;
    x->lp_wait_last = wait;
    /* Its run state now: a sleeper seen asleep here was seen blocked. */
    (void)runnable(rt, i, now);
    return;
  }
  uint64_t cpu_pct, syscall, run_pct = judge(rt, i, now, seen, cpu, wait, &cpu_pct, &syscall);
  if (m->stall_report_ns && seen >= m->stall_report_ns && seen >= x->lp_next_report) {
    if (x->lp_kind == SCHEDRT_STALL_SYSCALL && !syscall)
      syscall = syscall_of(rt, i);
    report(rt, i, cur, now, seen, cpu_pct, run_pct - cpu_pct, syscall);
    /* The next at the next doubling of the threshold past this length. */
    uint64_t next = m->stall_report_ns;
    while (next <= seen)
      next *= 2u;
    x->lp_next_report = next;
  }
}

void schedrt__stall_end(schedrt_runtime *rt, uint32_t i, uint64_t now) {
  struct schedrt__mwatch *x = &rt->metrics.watch[i];
  if (x->lp_t0 && x->lp_late != x->lp_late_judged) {
    /* The monitor was held up since the poll was last judged (a stop that ended the poll as the
     * process resumed): judged again with that, to this sample. */
    uint64_t cpu, wait, cpu_pct, syscall;
    cpu_and_wait(rt, i, &cpu, &wait);
    (void)judge(rt, i, now, now - x->lp_first, cpu, wait, &cpu_pct, &syscall);
  }
  uint32_t off = x->lp_kind == SCHEDRT_STALL_SYSCALL   ? SCHEDRT_SHM_WOFF_stalls_syscall
                 : x->lp_kind == SCHEDRT_STALL_PROCESS ? SCHEDRT_SHM_WOFF_stalls_process
                                                       : SCHEDRT_SHM_WOFF_stalls_on_cpu;
  if (x->lp_kind == SCHEDRT_STALL_NONE) {
    /* Counted long at its last sample: no second look, so no evidence of a kind. */
    x->lp_kind = SCHEDRT_STALL_ON_CPU;
    store(rt, i, SCHEDRT_SHM_WOFF_stall_kind, x->lp_kind);
  }
  _Atomic uint64_t *c = SCHEDRT_SHM_WSLOT_AT(rt->workers[i].m.slot, off, uint64_t);
  /* Release, single writer: a reader that sees the count sees the kind above. */
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1u, memory_order_release);
}
