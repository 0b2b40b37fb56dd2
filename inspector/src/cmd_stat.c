/*
 * `sched-inspect stat PID`: one line per interval, like vmstat/jstat. The
 * first line comes after the first interval, since every rate needs two
 * snapshots.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "format.h"
#include "hist.h"
#include "json_export.h"
#include "om_targets.h"
#include "openmetrics.h"
#include "rates.h"
#include "snapshot_model.h"
#include "util.h"

/* With histograms (a TIMING segment) each line ends with their p50 and p99 per worker. */
static void print_header(int timing) {
  printf("%8s %-7s %3s %7s %6s %8s %9s %8s %8s %5s %5s %7s %6s %7s %s %s %s", "time", "state", "wrk", "alive",
         "inject", "spawn/s", "polls/s", "steals/s", "parks/s", "busy%", "stuck", "blk/max", "blkq", "blkj/s",
         "depths", "polls/s(w)", "steals/s(w)");
#define H_HEAD(id, kind, off, type, unit, help, pub)                                                         \
  if (timing)                                                                                                \
    printf(" %s.p50(w) %s.p99(w)", #id, #id);
  SCHEDRT_HIST_METRICS(H_HEAD)
#undef H_HEAD
  putchar('\n');
}

/* A rate as an integer, or "-" when it is not known (NAN: one snapshot, or a process already gone). */
static const char *r(char *buf, size_t size, double v) {
  if (!isfinite(v))
    return "-";
  snprintf(buf, size, "%lld", llround(v));
  return buf;
}

/* A comma-separated per-worker list: "3,0,12". Torn workers print as "?". */
static void print_list(const inspect_model *m, int which) {
  const schedrt_snapshot *s = model_current(m);
  char buf[32];
  for (uint32_t i = 0; i < m->g.nworkers; i++) {
    const worker_view *v = &m->w[i];
    if (i)
      putchar(',');
    if (v->torn || !s) {
      putchar('?');
      continue;
    }
    switch (which) {
    case 0:
      printf("%llu", (unsigned long long)v->depth);
      break;
    case 1:
      fputs(r(buf, sizeof(buf), v->rate[RATE_W(polls)]), stdout);
      break;
    default:
      fputs(r(buf, sizeof(buf), v->rate[RATE_W(steals)]), stdout);
      break;
    }
  }
  if (m->g.nworkers == 0)
    putchar('-');
}

/* Histogram h's figure over the interval per worker: "12.3us,-,4.50ms" ("-": nothing recorded in it). */
static void print_histo_list(const inspect_model *m, uint32_t h, int p99) {
  char buf[32];
  for (uint32_t i = 0; i < m->g.nworkers; i++) {
    const worker_view *v = &m->w[i];
    const hist_summary *last = &v->histo[h].last;
    if (i)
      putchar(',');
    if (v->torn)
      putchar('?');
    else if (!v->have_histo || !v->histo[h].have_last)
      putchar('-');
    else
      fputs(hist_fmt(buf, sizeof(buf), p99 ? last->p99 : last->p50, m->bucket_upper, m->nbuckets), stdout);
  }
  if (m->g.nworkers == 0)
    putchar('-');
}

static void print_line(const inspect_model *m, uint64_t now_real) {
  const global_view *g = &m->g;
  char clock[16], blk[24], stuck[16];
  char f[6][32];
  /* The blocking pool: threads over its limit, queued jobs, jobs finished per second. */
  snprintf(blk, sizeof(blk), "%llu/%llu", (unsigned long long)g->values[RATE_G(blocking_threads)],
           (unsigned long long)g->values[RATE_G(blocking_max_threads)]);
  /* A process that was gone before any live snapshot: nothing is polling, nothing is stuck. */
  if (g->stuck_known)
    snprintf(stuck, sizeof(stuck), "%u", g->nstuck);
  else
    snprintf(stuck, sizeof(stuck), "-");
  printf("%8s %-7s %3u %7llu %6llu %8s %9s %8s %8s %5s %5s %7s %6llu %7s ",
         fmt_clock(clock, sizeof(clock), now_real), schedrt_liveness_name(g->liveness), g->nworkers,
         (unsigned long long)g->values[RATE_G(alive)], (unsigned long long)g->values[RATE_G(inject_depth)],
         r(f[0], sizeof(f[0]), g->grate[RATE_G(spawned)]), r(f[1], sizeof(f[1]), g->polls_per_s),
         r(f[2], sizeof(f[2]), g->steals_per_s), r(f[3], sizeof(f[3]), g->parks_per_s),
         r(f[4], sizeof(f[4]), g->busy_pct), stuck, blk,
         (unsigned long long)g->values[RATE_G(blocking_queue_depth)],
         r(f[5], sizeof(f[5]), g->grate[RATE_G(blocking_jobs_finished)]));
  print_list(m, 0);
  putchar(' ');
  print_list(m, 1);
  putchar(' ');
  print_list(m, 2);
  for (uint32_t h = 0; m->timing && h < SCHEDRT_M__HIST_COUNT; h++) {
    putchar(' ');
    print_histo_list(m, h, 0);
    putchar(' ');
    print_histo_list(m, h, 1);
  }
  putchar('\n');
}

/*
 * --format openmetrics|prometheus: one exposition of PID's runtimes (every
 * runtime of the process: a program may create several) or, with --all, of
 * every runtime this user may read, then exit. For node_exporter's textfile
 * collector, run from cron: written to a temporary file, renamed into place.
 */
static int stat_exposition(const inspect_opts *o) {
  om_dialect d = o->format == STAT_FORMAT_PROMETHEUS ? OM_PROMETHEUS : OM_OPENMETRICS;
  om_scrape_stats st = {0};
  om_targets ts;
  char *text = NULL, msg[512];
  size_t len = 0;
  int rc = INSPECT_EXIT_FAILURE, err;
  if (!o->all) {
    /* The attach says what is wrong with PID in the words of every other command (status 4 ...). */
    inspect_attach_opts ao = {.shm_dir = o->shm_dir};
    inspect_target t;
    err = target_attach(o->pid, &ao, &t);
    if (err) {
      fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
      return target_exit_code(err);
    }
    target_detach(&t);
  }
  om_targets_init(&ts, o->shm_dir, o->all ? 0 : o->pid, 0);
  /* One collect: any period takes the one leak check (as serve's first scrape). */
  ts.leak_period_ns = (uint64_t)o->leak_check_s * 1000000000ull;
  err = om_targets_collect(&ts, &st);
  if (err == -ENOMEM)
    inspect_fatal("out of memory");
  if (err) {
    fprintf(stderr, INSPECT_PROG ": cannot read %s: %s\n", o->shm_dir ? o->shm_dir : SCHEDRT_READER_SHM_DIR,
            strerror(-err));
    goto out;
  }
  if (!o->all && ts.nsrcs == 0) {
    fprintf(stderr, INSPECT_PROG ": pid %ld exited before its metrics could be read\n", (long)o->pid);
    rc = INSPECT_EXIT_GONE;
    goto out;
  }
  if (st.skipped[OM_SKIP_UNREADABLE])
    fprintf(stderr,
            INSPECT_PROG ": %u runtime(s) left out: their segment failed validation (`list` says why)\n",
            st.skipped[OM_SKIP_UNREADABLE]);
  if (om_render(ts.srcs, ts.nsrcs, d, 0, NULL, &text, &len))
    inspect_fatal("out of memory");
  if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
    fprintf(stderr, INSPECT_PROG ": cannot write the exposition: %s\n", strerror(errno));
    goto out;
  }
  rc = INSPECT_EXIT_OK;
out:
  free(text);
  om_targets_fini(&ts);
  return rc;
}

int cmd_stat(const inspect_opts *o) {
  if (o->format == STAT_FORMAT_OPENMETRICS || o->format == STAT_FORMAT_PROMETHEUS)
    return stat_exposition(o);
  inspect_attach_opts ao = {.shm_dir = o->shm_dir};
  inspect_target t;
  inspect_model m;
  char msg[512];
  int err = target_attach(o->pid, &ao, &t);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_attach_message(msg, sizeof(msg), &t, err));
    return target_exit_code(err);
  }
  if (model_init(&m, t.reader, o->stuck_ns)) {
    target_detach(&t);
    inspect_fatal("out of memory");
  }
  /* p50 and p99 per interval: a TIMING segment's histograms are taken with every snapshot. */
  model_show_histograms(&m, 1);
  inspect_catch_stop();

  int rc = INSPECT_EXIT_OK;
  uint64_t period = (uint64_t)(o->interval_s * 1e9);
  uint64_t next = inspect_now_ns();
  long printed = 0;
  err = model_refresh(&m, t.reader, 0);
  if (err && err != SCHEDRT_ETORN) {
    fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
    rc = INSPECT_EXIT_FAILURE;
    goto out;
  }
  if (!o->json)
    print_header(m.timing);
  while (!inspect_stop_signal() && (o->count == 0 || printed < o->count)) {
    /* Absolute deadlines: the lines stay on the interval grid however long a snapshot takes. */
    next += period;
    uint64_t now = inspect_now_ns();
    if (!m.g.target_gone && next > now)
      inspect_sleep_ns(next - now);
    if (inspect_stop_signal())
      break;
    if (!m.g.target_gone) {
      err = model_refresh(&m, t.reader, 0);
      if (err && err != SCHEDRT_ETORN) {
        fprintf(stderr, INSPECT_PROG ": %s\n", target_error_message(msg, sizeof(msg), o->pid, err));
        rc = INSPECT_EXIT_FAILURE;
        break;
      }
    }
    uint64_t now_real = inspect_realtime_ns();
    if (o->json) {
      if (json_emit(json_stat_sample(&t, &m, now_real), stdout, 1)) {
        rc = INSPECT_EXIT_FAILURE;
        break;
      }
    } else {
      /* jstat's -h N: the header again after every N lines, so a long log keeps its column names in view. */
      if (o->header_every && printed > 0 && printed % o->header_every == 0)
        print_header(m.timing);
      print_line(&m, now_real);
      if (fflush(stdout)) {
        rc = INSPECT_EXIT_FAILURE;
        break;
      }
    }
    printed++;
    if (m.g.target_gone) {
      fprintf(stderr, INSPECT_PROG ": pid %ld exited (%s); the last line shows its last published figures\n",
              (long)o->pid, schedrt_liveness_name(m.g.liveness));
      rc = INSPECT_EXIT_GONE;
      break;
    }
  }
out:
  model_fini(&m);
  target_detach(&t);
  return rc;
}
