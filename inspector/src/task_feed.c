/* Periodic in-memory dumps for the live task list (see task_feed.h). */
#include "task_feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump_client.h"
#include "dump_group.h"
#include "util.h"

#define POLL_NS 50000000ull /* a refresh in flight is looked at every 50 ms */

/* The periods + and - step through, in ms. */
static const uint32_t period_steps[] = {500, 1000, 2000, 5000, 10000, 30000, 60000};
#define NSTEPS (sizeof(period_steps) / sizeof(period_steps[0]))

task_feed *task_feed_new(const inspect_target *t, uint32_t timeout_ms, const char *shm_dir,
                         uint64_t period_ns) {
  task_feed *f = xcalloc(1, sizeof(*f));
  f->target = t;
  f->timeout_ms = timeout_ms;
  f->shm_dir = shm_dir;
  f->period_ns = period_ns;
  return f;
}

static void drop_list(task_feed *f) {
  if (f->doc)
    dump_analysis_free(&f->an);
  schedrt_dump_doc_free(f->doc);
  free(f->buf);
  free(f->attn);
  f->doc = NULL;
  f->buf = NULL;
  f->attn = NULL;
  f->len = 0;
}

void task_feed_free(task_feed *f, uint64_t max_wait_ns) {
  if (!f)
    return;
  if (f->client)
    (void)dump_client_cancel(f->client, max_wait_ns); /* past its deadline the runtime makes no object */
  dump_client_free(f->client);
  drop_list(f);
  free(f);
}

void task_feed_set_active(task_feed *f, int on, uint64_t now) {
  f->active = on;
  if (!on)
    return;
  /* A list younger than the period is shown as it is; an older one is refreshed at once. */
  if (!f->doc || now - f->received_ns >= f->period_ns)
    f->next_ns = now;
  else
    f->next_ns = f->received_ns + f->period_ns;
}

void task_feed_set_paused(task_feed *f, int paused) { f->paused = paused; }

void task_feed_set_period(task_feed *f, uint64_t period_ns, uint64_t now) {
  f->period_ns = period_ns;
  if (f->next_ns > now + period_ns)
    f->next_ns = now + period_ns;
}

uint64_t task_feed_step_period(uint64_t period_ns, int faster) {
  uint64_t ms = period_ns / 1000000u;
  size_t i = 0;
  /* The first step at or above the present period (which --tasks-every may have set between two). */
  while (i < NSTEPS && period_steps[i] < ms)
    i++;
  if (faster)
    i = i > 0 ? i - 1 : 0;
  else if (i < NSTEPS && period_steps[i] == ms)
    i++;
  if (i >= NSTEPS)
    i = NSTEPS - 1;
  return (uint64_t)period_steps[i] * 1000000u;
}

static void failed(task_feed *f, uint64_t now, const dump_outcome *out) {
  f->failed_ns = now ? now : 1;
  f->failures++;
  xsnprintf(f->failure, sizeof(f->failure), "%s", out->message);
  /* A target that exited answers nothing more: stop asking. */
  if (out->exit_code == INSPECT_EXIT_GONE)
    f->gone = 1;
}

/* A new list from the dump in buf (taken over). */
static void received(task_feed *f, uint64_t now, void *buf, size_t len, const dump_outcome *out) {
  schedrt_dump_doc *d;
  dump_outcome bad = *out;
  if (schedrt_dump_parse_ex(buf, len, INSPECT_DUMP_FLAGS & ~(unsigned)SCHEDRT_DUMP_FOLLOW, &d, bad.message,
                            sizeof(bad.message))) {
    free(buf);
    failed(f, now, &bad);
    return;
  }
  drop_list(f);
  f->doc = d;
  f->buf = buf;
  f->len = len;
  dump_analyze(d, &f->an);
  attention_counts n;
  f->attn = dump_attention_all(&f->an, &n);
  f->nattn = n.any;
  f->nlost = n.lost;
  f->ndeadlocked = n.deadlocked;
  f->nstuck = n.stuck;
  f->received_ns = now;
  f->took_ns = out->elapsed_ns;
  f->late = out->elapsed_ns > f->period_ns;
  f->failed_ns = 0;
  f->generation++;
}

/* The refresh in flight, if it came. */
static void collect(task_feed *f, uint64_t now) {
  dump_outcome out;
  void *buf;
  size_t len;
  if (dump_client_poll(f->client, &out) == -EAGAIN)
    return;
  int have = out.err == 0 && dump_client_take(f->client, &buf, &len) == 0;
  dump_client_free(f->client);
  f->client = NULL;
  if (have)
    received(f, now, buf, len, &out);
  else
    failed(f, now, &out);
  /* Late: the next one a whole period from now, not at once (a slow target is not asked twice in a row). */
  if (f->next_ns < now)
    f->next_ns = now + f->period_ns;
}

static void start(task_feed *f, uint64_t now) {
  dump_request req = {
      .timeout_ms = f->timeout_ms, .label = "sched-inspect tasks", .shm_dir = f->shm_dir, .in_memory = 1};
  dump_outcome out;
  f->next_ns = now + f->period_ns;
  if (dump_client_start(f->target, &req, &f->client, &out)) {
    f->client = NULL;
    failed(f, now, &out);
    return;
  }
  f->started_ns = now;
}

uint64_t task_feed_tick(task_feed *f, uint64_t now, int hold, int *busy) {
  *busy = 0;
  if (f->client)
    collect(f, now);
  if (!f->client && f->active && !f->paused && !f->gone && now >= f->next_ns) {
    if (hold)
      return now + POLL_NS;
    start(f, now);
  }
  if (f->client) {
    *busy = 1;
    return now + POLL_NS;
  }
  return f->active && !f->paused && !f->gone ? f->next_ns : UINT64_MAX;
}
