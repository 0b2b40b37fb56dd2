/*
 * Leak proofs through handle holders, on a real runtime (docs/forensics.md, "Proven leaks"): one table of
 * scripted tasks over every primitive that has holders (notify, oneshot, channel senders and receiver)
 * plus joins through them, dumped and read by sched-inspect's analysis. Each scripted leak must be proven,
 * and no legitimate wait ever: a timer, a live holder, a holder outside the runtime or in another runtime,
 * a primitive never given holders, a join on a running task, a notification still on its way, a oneshot
 * whose waiting task holds the sending side itself.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dump_analysis.h"
#include "dump_analysis_json.h"
#include "dump_report.h"
#include "om_targets.h"
#include "rt_fixture.h"
#include "test_dump_util.h"

/* Tasks that reached the wait the scenario leaves them in. */
static _Atomic int parked;

enum kind { NOTIFY, ONESHOT, ONESHOT_CLOSED, RECV, SEND, JOIN, SLEEP, TICK, NOTIFIED_THEN_SLEEP };

struct script {
  const char *name;
  enum kind kind;
  bool proven; /* what the analysis must say */
  bool quiet;  /* not one of the table's: not counted in parked */
  /* What it waits on (by kind). */
  schedrt_notify *n;
  schedrt_oneshot *o;
  schedrt_channel *rx;
  schedrt_sender *tx;
  schedrt_handle *join;
  /* Its state across polls. */
  uint64_t ticket, deadline;
  int status;
  bool counted, woken; /* its own */
  _Atomic bool at_wait;
  schedrt_handle *h; /* its own join handle */
};

static void park(struct script *s) {
  if (!s->counted && !s->quiet) {
    s->counted = true;
    atomic_store(&s->at_wait, true);
    atomic_fetch_add(&parked, 1);
  }
}

static schedrt_poll script_fn(schedrt_task *t, void *arg) {
  struct script *s = arg;
  void *v;
  switch (s->kind) {
  case NOTIFY:
    if (schedrt_notify_wait(s->n, t, &s->ticket) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case ONESHOT:
    if (schedrt_oneshot_recv(s->o, t, &v) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case ONESHOT_CLOSED:
    if (schedrt_oneshot_closed(s->o, t) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case RECV:
    if (schedrt_channel_recv(s->rx, t, &v, &s->status) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case SEND:
    if (schedrt_channel_send(s->tx, t, s, &s->ticket, &s->status) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case JOIN:
    if (schedrt_handle_poll(s->join, t, &v) == SCHEDRT_READY)
      return SCHEDRT_READY;
    break;
  case SLEEP:
    (void)schedrt_sleep(t, &s->deadline, 3600ull * 1000 * MS);
    break;
  case TICK:
    /* Alive and well: wakes every millisecond for ever. */
    if (schedrt_sleep(t, &s->deadline, MS) == SCHEDRT_READY)
      return schedrt_yield(t);
    break;
  case NOTIFIED_THEN_SLEEP:
    /* Takes a ticket, and once woken does not look at it: the notification stays on its way (a cancel
     * would pass it on to the next waiter). */
    if (!s->woken) {
      if (schedrt_notify_wait(s->n, t, &s->ticket) == SCHEDRT_READY)
        return SCHEDRT_READY;
      s->woken = true;
      break;
    }
    (void)schedrt_sleep(t, &s->deadline, 3600ull * 1000 * MS);
    break;
  }
  park(s);
  return SCHEDRT_PENDING;
}

static schedrt_poll finish_fn(schedrt_task *t, void *arg) {
  (void)t;
  (void)arg;
  return SCHEDRT_READY;
}

/* A task that notifies n once, then finishes. */
static schedrt_poll notify_once_fn(schedrt_task *t, void *arg) {
  (void)t;
  schedrt_notify_one(arg);
  return SCHEDRT_READY;
}

static schedrt_handle *spawn(schedrt_runtime *rt, struct script *s) {
  schedrt_handle *h = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, script_fn, s, &(schedrt_spawn_opts){.name = s->name}, &h), 0);
  s->h = h;
  return h;
}

static bool wait_parked(int want) {
  for (int i = 0; i < 2000 && atomic_load(&parked) < want; i++)
    usleep(5000);
  return atomic_load(&parked) >= want;
}

static bool wait_at_wait(struct script *s) {
  for (int i = 0; i < 2000 && !atomic_load(&s->at_wait); i++)
    usleep(5000);
  return atomic_load(&s->at_wait);
}

static bool is_proven(const dump_analysis *a, const schedrt_dump_doc *d, const char *name, bool *found) {
  for (size_t i = 0; i < d->ntasks; i++)
    if (d->tasks[i].name && strcmp(d->tasks[i].name, name) == 0) {
      *found = true;
      return a->proven[i];
    }
  *found = false;
  return false;
}

#define HOLD(call) cr_assert_eq((call), 0, "%s", #call)

Test(leak_proofs, every_primitive_leaks_proven_and_legitimate_waits_not, .timeout = 120) {
  schedrt_runtime *rt = fixture_rt(2, "test-leak-proofs");
  schedrt_runtime *rt2 = fixture_rt(1, "test-leak-proofs-2");
  enum { NN = 12, NO = 4, NC = 4 };
  schedrt_notify *n[NN];
  schedrt_oneshot o[NO];
  schedrt_channel *rx[NC];
  schedrt_sender *tx[NC];
  for (int i = 0; i < NN; i++)
    cr_assert_eq(schedrt_notify_create(&n[i]), 0);
  for (int i = 0; i < NO; i++)
    schedrt_oneshot_init(&o[i]);
  for (int i = 0; i < NC; i++)
    cr_assert_eq(schedrt_channel_create(1, &rx[i], &tx[i]), 0);

  /* Holders that finished: one that never signals, one that notified before it went (n[10]). */
  schedrt_handle *gone = NULL, *gone_notifier = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt, finish_fn, NULL, NULL, &gone), 0);
  HOLD(schedrt_notify_hold(n[1], schedrt_holder_of_handle(gone)));
  HOLD(schedrt_oneshot_hold(&o[0], schedrt_holder_of_handle(gone)));

  /* A live holder: ticks for ever; and one in another runtime. */
  struct script tick = {.name = "ticker", .kind = TICK, .quiet = true};
  struct script other = {.name = "other-runtime", .kind = SLEEP, .quiet = true};
  schedrt_handle *ht = spawn(rt, &tick);
  schedrt_handle *ho = NULL;
  cr_assert_eq(schedrt_spawn_ex(rt2, script_fn, &other, &(schedrt_spawn_opts){.name = other.name}, &ho), 0);

  struct script s[] = {
      /* Scripted leaks. */
      {.name = "notify-self-only", .kind = NOTIFY, .proven = true, .n = n[0]},
      {.name = "notify-holder-gone", .kind = NOTIFY, .proven = true, .n = n[1]},
      {.name = "oneshot-sender-gone", .kind = ONESHOT, .proven = true, .o = &o[0]},
      {.name = "sender-holder", .kind = NOTIFY, .proven = true, .n = n[2]}, /* holds tx[0] */
      {.name = "recv-senders-leaked", .kind = RECV, .proven = true, .rx = rx[0]},
      {.name = "receiver-holder", .kind = NOTIFY, .proven = true, .n = n[3]}, /* holds rx[1] */
      {.name = "send-receiver-leaked", .kind = SEND, .proven = true, .tx = tx[1]},
      {.name = "cycle-a", .kind = NOTIFY, .proven = true, .n = n[4]}, /* n[4] held by cycle-b */
      {.name = "cycle-b", .kind = NOTIFY, .proven = true, .n = n[5]}, /* n[5] held by cycle-a */
      {.name = "joins-leaked", .kind = JOIN, .proven = true},
      /* Legitimate waits. */
      {.name = "notify-outside", .kind = NOTIFY, .n = n[6]},
      {.name = "notify-no-holders", .kind = NOTIFY, .n = n[7]},
      {.name = "notify-live-holder", .kind = NOTIFY, .n = n[8]},
      {.name = "notify-other-runtime", .kind = NOTIFY, .n = n[9]},
      {.name = "notified-first", .kind = NOTIFIED_THEN_SLEEP, .n = n[10]},
      {.name = "notification-on-its-way", .kind = NOTIFY, .n = n[10]},
      {.name = "oneshot-live-sender", .kind = ONESHOT, .o = &o[1]},
      {.name = "oneshot-closed-self", .kind = ONESHOT_CLOSED, .o = &o[2]},
      {.name = "recv-live-sender", .kind = RECV, .rx = rx[2]},
      {.name = "send-live-receiver", .kind = SEND, .tx = tx[3]},
      {.name = "join-running", .kind = JOIN, .join = ht},
      {.name = "timer", .kind = SLEEP},
      /* A leak again: its notify's only holder (outside) released it, below. */
      {.name = "notify-all-released", .kind = NOTIFY, .proven = true, .n = n[11]},
  };
  enum { NS = sizeof(s) / sizeof(s[0]) };
  /* The leaks' holders, given through join handles before the tasks can wait (holds never wake). */
  schedrt_handle *h[NS];
  /* Two full channels, for the senders that wait for room. */
  cr_assert_eq(schedrt_channel_try_send(tx[1], NULL), 0);
  cr_assert_eq(schedrt_channel_try_send(tx[3], NULL), 0);
  for (size_t i = 0; i < NS; i++) {
    if (strcmp(s[i].name, "joins-leaked") == 0)
      s[i].join = h[0];
    if (strcmp(s[i].name, "notification-on-its-way") == 0) /* FIFO: the first waiter gets the notification */
      cr_assert(wait_at_wait(&s[i - 1]), "the first waiter of n[10] never waited");
    h[i] = spawn(rt, &s[i]);
  }
  HOLD(schedrt_notify_hold(n[0], schedrt_holder_of_handle(h[0]))); /* its own: cannot wake it */
  HOLD(schedrt_notify_hold(n[2], schedrt_holder_of_handle(h[3])));
  HOLD(schedrt_notify_hold(n[3], schedrt_holder_of_handle(h[5])));
  HOLD(schedrt_sender_hold(tx[0], schedrt_holder_of_handle(h[3])));
  HOLD(schedrt_channel_hold(rx[1], schedrt_holder_of_handle(h[5])));
  HOLD(schedrt_notify_hold(n[4], schedrt_holder_of_handle(h[8])));
  HOLD(schedrt_notify_hold(n[5], schedrt_holder_of_handle(h[7])));
  HOLD(schedrt_notify_hold(n[6], SCHEDRT_HOLDER_OUTSIDE));
  HOLD(schedrt_notify_hold(n[6], schedrt_holder_of_handle(gone)));
  HOLD(schedrt_notify_hold(n[8], schedrt_holder_of_handle(ht)));
  HOLD(schedrt_notify_hold(n[9], schedrt_holder_of_handle(ho)));
  HOLD(schedrt_oneshot_hold(&o[1], schedrt_holder_of_handle(ht)));
  HOLD(schedrt_oneshot_hold(&o[2], schedrt_holder_of_handle(h[17])));
  HOLD(schedrt_sender_hold(tx[2], schedrt_holder_of_handle(ht)));
  HOLD(schedrt_channel_hold(rx[3], schedrt_holder_of_handle(ht)));
  cr_assert(wait_parked(NS), "only %d of %d tasks reached their wait", atomic_load(&parked), (int)NS);
  /* n[10]: notified by a holder that then finished; the notification goes to the first waiter, which
   * does not look at it. */
  cr_assert_eq(schedrt_spawn_ex(rt, notify_once_fn, n[10], NULL, &gone_notifier), 0);
  HOLD(schedrt_notify_hold(n[10], schedrt_holder_of_handle(gone_notifier)));
  void *r;
  cr_assert_eq(schedrt_join(gone_notifier, JOIN_NS, &r), 0);
  cr_assert_eq(schedrt_join(gone, JOIN_NS, &r), 0);
  /* Release: a hold one does not have is refused; the token of no task is not a token. */
  cr_expect_eq(schedrt_notify_release(n[7], SCHEDRT_HOLDER_OUTSIDE), -ENOENT);
  cr_expect_eq(schedrt_notify_hold(n[7], (schedrt_holder)5), -EINVAL);
  HOLD(schedrt_notify_hold(n[11], SCHEDRT_HOLDER_OUTSIDE));
  HOLD(schedrt_notify_release(n[11], SCHEDRT_HOLDER_OUTSIDE));
  cr_expect_eq(schedrt_notify_release(n[11], SCHEDRT_HOLDER_OUTSIDE), -ENOENT);
  cr_expect_eq(schedrt_holder_of(NULL), SCHEDRT_HOLDER_OUTSIDE);

  schedrt_dump_result res;
  schedrt_dump_doc *d;
  cr_assert_eq(tdu_dump(rt, NULL, &res, &d), 0);
  dump_analysis a;
  dump_analyze(d, &a);
  size_t want = 0;
  for (size_t i = 0; i < NS; i++) {
    bool found;
    bool p = is_proven(&a, d, s[i].name, &found);
    cr_expect(found, "%s is not in the dump", s[i].name);
    cr_expect_eq(p, s[i].proven, "%s: proven %d, want %d", s[i].name, p, s[i].proven);
    want += s[i].proven;
  }
  bool found;
  cr_expect(!is_proven(&a, d, "ticker", &found) && found);
  cr_expect_eq(a.nproven, want, "%zu proven, want %zu", a.nproven, want);
  /* What the dump says of a leak's holders: the finished one is not in the dump. */
  const schedrt_dump_task *t = tdu_task_named(d, "notify-holder-gone");
  cr_assert(t && t->holders && t->nholders == 2, "holders of n[1] not recorded");
  cr_expect_eq(t->wait_for, SCHEDRT_DUMP_NONE, "a notify has no single owner edge");
  char buf[512];
  dump_wake_text(buf, sizeof(buf), d, &a.waits, (size_t)(t - d->tasks));
  cr_expect(strstr(buf, "notify 0x") && strstr(buf, "held by #") && strstr(buf, "finished"), "%s", buf);
  t = tdu_task_named(d, "notify-no-holders");
  cr_expect(t && !t->holders, "a notify never given holders lists none");
  t = tdu_task_named(d, "notify-other-runtime");
  cr_expect(t && t->nholders == 2 && t->holders[0] == 0, "another runtime's task is outside");
  t = tdu_task_named(d, "notification-on-its-way");
  cr_expect(t && t->nholders >= 2 && t->holders[0] == 0, "a notification on its way is an outside holder");
  /* show --json's per-site counts add up (the proven leaks were spawned at one site). */
  json_t *j = dump_analysis_json(&a);
  json_t *pl = json_object_get(j, "proven_leaked");
  cr_expect_eq(json_array_size(json_object_get(pl, "tasks")), want);
  json_decref(j);
  /* show's report says it in its NEEDS ATTENTION part, with the spawn site. */
  char *text = NULL;
  size_t tlen = 0;
  FILE *f = open_memstream(&text, &tlen);
  cr_assert(f);
  dump_report_print(d, f, 5);
  fclose(f);
  char want_line[64];
  snprintf(want_line, sizeof(want_line), "proven leaked: %zu", want);
  cr_expect(strstr(text, want_line), "no \"%s\" in\n%s", want_line, text);
  free(text);
  /* The live view's line about the last dump: none is a lost wake-up or a join deadlock here. */
  char news[512];
  dump_attention_line(news, sizeof(news), &a);
  snprintf(want_line, sizeof(want_line), "%zu more proven leaked", want);
  cr_expect(strstr(news, want_line), "no \"%s\" in \"%s\"", want_line, news);
  dump_analysis_free(&a);
  schedrt_dump_doc_free(d);

  /* The exports: serve's leak check (a dump in memory, as the target of another process) counts the same
   * proofs in schedrt_site_proven_leaked, at the site the table's tasks were spawned from (spawn()). */
  om_targets ts;
  om_scrape_stats st = {0};
  om_targets_init(&ts, NULL, getpid(), 0);
  ts.leak_period_ns = 1;
  cr_assert_eq(om_targets_collect(&ts, &st), 0);
  const om_source *src = NULL;
  for (size_t k = 0; k < ts.nsrcs; k++)
    if (strcmp(ts.srcs[k].info->runtime_name, "test-leak-proofs") == 0)
      src = &ts.srcs[k];
  cr_assert(src && src->site_proven, "no leak check of the runtime");
  uint64_t at_spawn = 0, all = src->proven_unplaced;
  for (uint32_t k = 0; k < src->nsites; k++) {
    all += src->site_proven[k];
    if (strcmp(src->sites[k].func, "spawn") == 0)
      at_spawn += src->site_proven[k];
  }
  cr_expect_eq(all, want, "%llu proven in the export, want %zu", (unsigned long long)all, want);
  cr_expect_eq(at_spawn, want, "all at spawn(): %llu", (unsigned long long)at_spawn);
  char *om = NULL;
  size_t omlen = 0;
  cr_assert_eq(om_render(src, 1, OM_OPENMETRICS, 0, NULL, &om, &omlen), 0);
  char line[64];
  snprintf(line, sizeof(line), ",func=\"spawn\"} %zu\n", want);
  const char *p = strstr(om, "schedrt_site_proven_leaked{");
  cr_expect(p && strstr(p, line), "%s", om);
  free(om);
  om_targets_fini(&ts);

  /* The channels' waiters are let go first: a channel destroyed after the runtime must wake nobody. */
  void *v;
  cr_expect_eq(schedrt_channel_try_recv(rx[1], &v), 0);
  cr_expect_eq(schedrt_channel_try_recv(rx[3], &v), 0);
  cr_expect_eq(schedrt_channel_try_send(tx[0], NULL), 0);
  cr_expect_eq(schedrt_channel_try_send(tx[2], NULL), 0);
  static const size_t chan_users[] = {4, 6, 18, 19};
  for (size_t k = 0; k < 4; k++) {
    cr_expect_eq(schedrt_join(h[chan_users[k]], JOIN_NS, &r), 0, "%s", s[chan_users[k]].name);
    h[chan_users[k]] = NULL;
  }
  schedrt_runtime_destroy(rt);
  schedrt_runtime_destroy(rt2);
  for (size_t i = 0; i < NS; i++)
    if (h[i])
      schedrt_handle_release(h[i]);
  schedrt_handle_release(ht);
  schedrt_handle_release(ho);
  for (int i = 0; i < NN; i++)
    schedrt_notify_destroy(n[i]);
  for (int i = 0; i < NO; i++)
    schedrt_oneshot_destroy(&o[i]);
  for (int i = 0; i < NC; i++) {
    schedrt_sender_drop(tx[i]);
    schedrt_channel_destroy(rx[i]);
  }
}
