/*
 * The replay (see replay.h). A play clock runs over the recording's own
 * time at the chosen speed; at each of the view's refreshes the model gets
 * the last sample at or before the clock, and only that one, so its rates
 * span the refresh period as they do live (a 100 ms recording replayed with
 * the default 1 s refresh shows per-second rates over ten samples' worth).
 * Seeking back starts the model afresh, since it only ever moves forward.
 */
#include "replay.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crt.h"
#include "format.h"
#include "live_view.h"
#include "screen.h"
#include "snapshot_model.h"
#include "util.h"

#define SEEK_NS 10000000000ull /* Left and Right: 10 s of the recording */

static const double speeds[] = {0.25, 0.5, 1, 2, 4, 8, 16, 32, 64};
#define NSPEEDS (sizeof(speeds) / sizeof(speeds[0]))

const key_binding keys_replay[] = {
    {'p', "p", ACT_PAUSE, "pause / resume the replay", "Pause"},
    {' ', "Space", ACT_PAUSE, NULL, NULL},
    {'+', "+", ACT_FASTER, "replay faster (twice, up to 64x)", NULL},
    {'=', "=", ACT_FASTER, NULL, NULL},
    {'>', ">", ACT_FASTER, NULL, NULL},
    {'-', "-", ACT_SLOWER, "replay slower (half, down to 1/4x)", "Speed"},
    {'<', "<", ACT_SLOWER, NULL, NULL},
    {KEY_RIGHT, "Right", ACT_SEEK_FWD, "10 s forward in the recording", NULL},
    {KEY_LEFT, "Left", ACT_SEEK_BACK, "10 s back", "Seek"},
    KEYS_WORKER_SORT,
    KEYS_WORKER_NAV_HELP_QUIT,
};

typedef struct replay {
  const recording *rec;
  schedrt_segment_info info; /* what the header shows, from the recording's header */
  uint64_t *mono;            /* [nsamples]: each sample's time */
  uint64_t span_ns;          /* first to last sample */
  uint64_t pos_ns;           /* the play clock, since the first sample */
  uint64_t last_wall_ns;     /* when the clock last moved; 0: it starts at the next refresh */
  size_t fed;                /* the last sample given to the model; SIZE_MAX: none since the start */
  unsigned speed;            /* index into speeds */
  int at_end;
} replay;

static replay *ctx_of(const live_view *lv) { return lv->source->ctx; }

static int model_fresh(const recording *rec, uint64_t stuck_ns, inspect_model *m) {
  if (model_init_raw(m, rec->h.max_workers, rec->h.created_mono_ns, stuck_ns))
    return -1;
  if (model_set_buckets(m, rec->h.bounds, rec->h.nbuckets, rec->h.timing)) {
    model_fini(m);
    return -1;
  }
  m->long_poll_ns = (uint64_t)rec->h.long_poll_ms * 1000000u;
  return 0;
}

/* The last sample at or before pos (the first if none). */
static size_t sample_at(const replay *rp, uint64_t pos) {
  size_t lo = 0, hi = rp->rec->nsamples;
  uint64_t t = rp->mono[0] + pos;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (rp->mono[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

static void feed(live_view *lv, replay *rp, size_t i) {
  if (rec_sample_read(rp->rec, i, model_spare(&lv->model), NULL) == 0)
    model_advance(&lv->model);
  rp->fed = i;
}

/* Back to a fresh model at pos: the sample one refresh before it first, so rates show at once. */
static void seek(live_view *lv, replay *rp, uint64_t pos) {
  uint64_t period = (uint64_t)lv->delay_tenths * 100000000ull;
  model_fini(&lv->model);
  if (model_fresh(rp->rec, lv->opts->stuck_ns, &lv->model))
    inspect_fatal("out of memory");
  rp->pos_ns = pos > rp->span_ns ? rp->span_ns : pos;
  rp->at_end = 0;
  size_t before = sample_at(rp, rp->pos_ns > period ? rp->pos_ns - period : 0),
         at = sample_at(rp, rp->pos_ns);
  if (before < at)
    feed(lv, rp, before);
  feed(lv, rp, at);
}

static int play_refresh(live_view *lv, uint64_t now) {
  replay *rp = ctx_of(lv);
  if (rp->last_wall_ns)
    rp->pos_ns += (uint64_t)((double)(now - rp->last_wall_ns) * speeds[rp->speed]);
  rp->last_wall_ns = now;
  if (rp->pos_ns > rp->span_ns)
    rp->pos_ns = rp->span_ns;
  size_t i = sample_at(rp, rp->pos_ns);
  if (rp->fed == SIZE_MAX || i > rp->fed)
    feed(lv, rp, i);
  if (i + 1 == rp->rec->nsamples && !rp->at_end) {
    rp->at_end = 1;
    live_view_status(lv, CRT_STATUS_INFO, 0, "end of the recording%s: Left seeks back, q quits",
                     rp->rec->end[0] ? "" : " (it has no trailer: the recorder was killed)");
  }
  return 0;
}

static screen_result play_key(live_view *lv, inspect_action a, int ch) {
  replay *rp = ctx_of(lv);
  (void)ch;
  switch (a) {
  case ACT_PAUSE:
    /* Resumed: the clock starts again from the next refresh, not from when it was paused. */
    rp->last_wall_ns = 0;
    return screen_react(SCREEN_PASS);
  case ACT_FASTER:
  case ACT_SLOWER:
    if (a == ACT_FASTER && rp->speed + 1 < NSPEEDS)
      rp->speed++;
    else if (a == ACT_SLOWER && rp->speed > 0)
      rp->speed--;
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "replay at %gx", speeds[rp->speed]);
    return screen_react(SCREEN_HANDLED);
  case ACT_SEEK_BACK:
  case ACT_SEEK_FWD: {
    char a1[32], a2[32];
    uint64_t pos = a == ACT_SEEK_FWD ? rp->pos_ns + SEEK_NS : rp->pos_ns > SEEK_NS ? rp->pos_ns - SEEK_NS : 0;
    seek(lv, rp, pos);
    rp->last_wall_ns = 0;
    live_view_status(lv, CRT_STATUS_INFO, 2000000000ull, "at %s of %s",
                     fmt_duration(a1, sizeof(a1), rp->pos_ns), fmt_duration(a2, sizeof(a2), rp->span_ns));
    return screen_react(SCREEN_HANDLED);
  }
  default:
    return screen_react(SCREEN_PASS);
  }
}

static const char *play_badge(const live_view *lv, char *buf, size_t size) {
  const replay *rp = ctx_of(lv);
  char a[32], b[32];
  if (lv->paused)
    return xsnprintf(buf, size, "PAUSED %s/%s", fmt_duration(a, sizeof(a), rp->pos_ns),
                     fmt_duration(b, sizeof(b), rp->span_ns));
  return xsnprintf(buf, size, "REPLAY %gx %s/%s", speeds[rp->speed], fmt_duration(a, sizeof(a), rp->pos_ns),
                   fmt_duration(b, sizeof(b), rp->span_ns));
}

static void free_ctx(live_view *lv) {
  replay *rp = ctx_of(lv);
  free(rp->mono);
  free(rp);
}

/* The header's facts from the recording's header: the view reads them as a segment's. */
static void fill_info(const rec_header *h, schedrt_segment_info *info) {
  memset(info, 0, sizeof(*info));
  info->pid = h->pid;
  info->max_workers = h->max_workers;
  info->heartbeat_period_ms = h->heartbeat_period_ms;
  info->create_mono_ns = h->created_mono_ns;
  info->local_queue_cap = h->local_queue_cap ? h->local_queue_cap : 256;
  info->hist_buckets = h->nbuckets;
  memcpy(info->hist_upper_ns, h->bounds, sizeof(uint64_t) * h->nbuckets);
  info->long_poll_ms = h->long_poll_ms;
  xsnprintf(info->runtime_name, sizeof(info->runtime_name), "%s", h->runtime);
  xsnprintf(info->runtime_version, sizeof(info->runtime_version), "%s", h->runtime_version);
  xsnprintf(info->comm, sizeof(info->comm), "%s", h->comm);
}

int replay_run(const inspect_opts *o, const recording *rec) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, INSPECT_PROG ": the replay (show -t) needs a terminal; without one, `" INSPECT_PROG
                                 " show FILE` prints the summary and `plot` draws it\n");
    return INSPECT_EXIT_USAGE;
  }
  if (rec->nsamples == 0) {
    fprintf(stderr, INSPECT_PROG ": %s: the recording has no samples to replay\n", o->file);
    return INSPECT_EXIT_FAILURE;
  }
  replay *rp = xcalloc(1, sizeof(*rp));
  schedrt_snapshot s;
  rp->rec = rec;
  rp->fed = SIZE_MAX;
  rp->speed = 2; /* 1x */
  rp->mono = xcalloc(rec->nsamples, sizeof(*rp->mono));
  if (rec_snapshot_init(rec, &s))
    inspect_fatal("out of memory");
  for (size_t i = 0; i < rec->nsamples; i++) {
    if (rec_sample_read(rec, i, &s, NULL) == 0)
      rp->mono[i] = s.taken_mono_ns;
    /* The play clock needs time to go forward: a sample from before the one before it is shown with it. */
    if (i && rp->mono[i] < rp->mono[i - 1])
      rp->mono[i] = rp->mono[i - 1];
  }
  rec_snapshot_fini(&s);
  rp->span_ns = rp->mono[rec->nsamples - 1] - rp->mono[0];
  fill_info(&rec->h, &rp->info);

  live_source src = {.name = "replay",
                     .keys = keys_replay,
                     .take = play_refresh,
                     .key = play_key,
                     .badge = play_badge,
                     .free = free_ctx,
                     .ctx = rp};
  inspect_target t = {.pid = (pid_t)rec->h.pid, .info = &rp->info};
  inspect_model m;
  if (model_fresh(rec, o->stuck_ns, &m))
    inspect_fatal("out of memory");
  live_view *lv = live_view_new_source(o, &t, &m, &src);
  if (crt_init(o->no_color, o->delay_tenths, "the replay (show -t) needs a terminal")) {
    live_view_free(lv);
    return INSPECT_EXIT_USAGE;
  }
  live_view_status(lv, CRT_STATUS_INFO, 3000000000ull,
                   "replaying %zu samples; p pauses, + - speed, Left Right seek", rec->nsamples);
  screen_manager_run(&lv->base, o->max_iterations);
  crt_done();
  int sig = crt_stop_signal();
  live_view_free(lv);
  return sig ? 128 + sig : INSPECT_EXIT_OK;
}
