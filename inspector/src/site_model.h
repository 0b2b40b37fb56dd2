/*
 * The spawn sites of a runtime (layout 2.5) as the live views show them:
 * rates between two readings, busy share and mean schedule latency with
 * timing, the table's orders, and the leak suspects: a site whose alive
 * count grew in each of SITE_LEAK_PERIODS consecutive periods of at least
 * SITE_LEAK_PERIOD_NS (whatever the refresh rate), marked until its alive
 * count falls. No curses: the TUI, `stat --json` and the tests read it.
 */
#ifndef INSPECT_SITE_MODEL_H
#define INSPECT_SITE_MODEL_H

#include <stdint.h>

#include "schedrt/reader.h"

#define SITE_LEAK_PERIOD_NS 1000000000ull
#define SITE_LEAK_PERIODS 5u
#define SITE_LEAK_WARMUP_NS 10000000000ull

typedef struct site_view {
  schedrt_site_snap s; /* the latest reading */
  int present;         /* in the latest reading */
  double spawn_rate;   /* tasks spawned per second; NAN until two readings */
  double poll_rate;    /* polls per second; NAN until two readings */
  double busy_pct;     /* time in its polls over the interval, % of one worker; NAN without timing */
  double latency_ns;   /* mean woken-to-polled latency over the interval; NAN without timing or polls */
  /* Leak watch: alive at the last period's end, its highest at a period's end, the periods in a
   * row that set a new high, and the mark. */
  uint64_t period_alive, high;
  uint32_t grew;
  int leak;
} site_view;

typedef enum site_sort_key {
  SSORT_ALIVE = 0, /* alive tasks, most first (leak suspects before the rest) */
  SSORT_SPAWNS,    /* spawned/s */
  SSORT_POLLS,     /* polls/s */
  SSORT_BUSY,      /* busy % (timing) */
  SSORT_LATENCY,   /* mean schedule latency (timing) */
  SSORT_SITE,      /* the table's order: first spawned first */
  SSORT__COUNT
} site_sort_key;

typedef struct site_model {
  uint32_t cap; /* the segment's table (0: it has none) */
  site_view *v; /* [cap], by site index */
  schedrt_site_snap *buf;
  uint32_t npresent; /* sites in the latest reading */
  uint32_t nleaks;   /* leak suspects among them */
  int timing;        /* the segment records busy time and latency */
  int have_prev;     /* a reading before the latest: rates are known */
  uint64_t taken_ns, prev_ns, period_ns;
} site_model;

/* cap: schedrt_reader_site_cap (0: an older writer, nothing to show). 0 or -ENOMEM. */
int site_model_init(site_model *m, uint32_t cap, int timing);
void site_model_fini(site_model *m);
/* A reading of n sites taken at now_ns (reader clock), uptime_ns after the runtime started. */
void site_model_update(site_model *m, const schedrt_site_snap *s, uint32_t n, uint64_t now_ns,
                       uint64_t uptime_ns);
/* Reads r's sites and updates; the reader's error, after which nothing changed. */
int site_model_refresh(site_model *m, schedrt_reader *r, uint64_t now_ns, uint64_t uptime_ns);

/* "alive", "spawn/s", "polls/s", "busy%", "latency", "site". */
const char *site_sort_name(site_sort_key k);
site_sort_key site_sort_next(site_sort_key k);
/* The present sites' indexes in order[0..), sorted by key; returns how many. */
uint32_t site_model_sorted(const site_model *m, site_sort_key key, uint32_t *order);

#endif
