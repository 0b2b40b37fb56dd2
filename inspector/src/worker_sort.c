/* Sorting worker rows (see worker_sort.h). */
#include "worker_sort.h"

#include <math.h>
#include <stdlib.h>

#include "rates.h"
#include "util.h"

static const char *const names[WSORT__COUNT] = {"worker", "depth", "polls/s", "steals/s", "busy%", "running"};

const char *worker_sort_name(worker_sort_key k) { return (unsigned)k < WSORT__COUNT ? names[k] : "?"; }

worker_sort_key worker_sort_next(worker_sort_key k) {
  return (worker_sort_key)(((unsigned)k + 1) % WSORT__COUNT);
}

/* NAN (not known yet) sorts last, like an empty value. */
static double sort_value(const worker_view *v, worker_sort_key key) {
  switch (key) {
  case WSORT_DEPTH:
    return v->torn ? -1.0 : (double)v->depth + (v->lifo ? 0.5 : 0.0);
  case WSORT_POLLS:
    return v->rate[RATE_W(polls)];
  case WSORT_STEALS:
    return v->rate[RATE_W(steals)];
  case WSORT_BUSY:
    return v->busy_pct;
  case WSORT_RUNNING:
    return (double)v->running_ns;
  default:
    return 0.0;
  }
}

struct sort_ctx {
  const worker_view *views;
  worker_sort_key key;
};

static double row_value(const void *ctx, uint32_t row) {
  const struct sort_ctx *c = ctx;
  return sort_value(&c->views[row], c->key);
}

void worker_sort(const worker_view *views, uint32_t n, worker_sort_key key, uint32_t *order) {
  struct sort_ctx c = {views, key};
  for (uint32_t i = 0; i < n; i++)
    order[i] = i;
  if (key != WSORT_INDEX)
    sort_rows_desc(order, n, row_value, &c);
}
