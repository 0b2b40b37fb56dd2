/*
 * The control page (schedrt/proto/control.h): dump requests from another
 * process, served by the monitor thread every period. Everything on the page
 * is untrusted: a request is copied once, checked against a second read of
 * its sequence, validated field by field, and only the private copy is used
 * afterwards. The runtime writes nothing but its identity and its answers,
 * and the dump goes into an object it names itself (dump_file.c).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dump.h"
#include "schedrt/proto/seqlock.h"

/* A claim left open this long (and at least TORN_TICKS ticks) is a requester
 * that died halfway; a live one fills 100 bytes in microseconds, but may be
 * descheduled for a while on a busy machine. */
#define TORN_TICKS 2u
#define TORN_NS 1000000000ull

/* The requester may sleep on resp_seq from another process: not a private futex. */
static void wake_shared(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* The identity fields as this runtime serves them (everything before req_seq
 * except state). */
static void fill_identity(const struct schedrt__dump *d, struct schedrt_ctl *c) {
  const schedrt_config *cfg = &d->rt->cfg;
  c->magic = SCHEDRT_CTL_MAGIC;
  c->major = SCHEDRT_CTL_MAJOR;
  c->minor = SCHEDRT_CTL_MINOR;
  c->size = sizeof(*c);
  c->kinds = (1u << SCHEDRT_CTL_KIND_PING) | (1u << SCHEDRT_CTL_KIND_DUMP);
  c->flags_known = SCHEDRT_CTL_FLAGS_KNOWN;
  c->timeout_min_ms = SCHEDRT_CTL_TIMEOUT_MIN_MS;
  c->timeout_max_ms = SCHEDRT_CTL_TIMEOUT_MAX_MS;
  c->timeout_default_ms = cfg->dump_timeout_ms;
  c->poll_period_ms = cfg->monitor_period_ms;
  c->keep_s = cfg->dump_keep_s;
  c->max_objects = SCHEDRT__DOBJ_MAX;
  memset(c->resv0, 0, sizeof(c->resv0));
}

static void serve_identity(struct schedrt__dump *d, struct schedrt_ctl *c) {
  struct schedrt__dctl *x = &d->ctl;
  fill_identity(d, c);
  /* Answers continue from whatever the page holds (a fresh segment: 0).
   * Relaxed: only this thread writes resp_seq and the slots' seqs. */
  x->last_seq = atomic_load_explicit(&c->resp_seq, memory_order_relaxed);
  for (uint32_t i = 0; i < SCHEDRT_CTL_SLOTS; i++)
    x->slot_seq[i] = atomic_load_explicit(&c->answers[i].seq, memory_order_relaxed);
  /* Release: a requester that sees SERVED sees the fields above. */
  atomic_store_explicit(&c->state, SCHEDRT_CTL_STATE_SERVED, memory_order_release);
}

/*
 * Puts back what any process of our uid may have overwritten: the identity,
 * state, resp_seq and the slots' sequences, all of which only this runtime
 * writes. Called before every look at the doorbell, so a stray or hostile
 * write to them costs at most the one request in flight (control.h's promise:
 * a misbehaving requester tears only its own request). Returns the fields
 * repaired (a count, for tests and the docs).
 */
static uint32_t repair(struct schedrt__dump *d, struct schedrt_ctl *c) {
  struct schedrt__dctl *x = &d->ctl;
  struct schedrt_ctl want;
  uint32_t fixed = 0;
  fill_identity(d, &want);
  const size_t id_end = offsetof(struct schedrt_ctl, state);
  const size_t lim_from = offsetof(struct schedrt_ctl, kinds), lim_to = offsetof(struct schedrt_ctl, req_seq);
  if (memcmp(c, &want, id_end) != 0 ||
      memcmp((char *)c + lim_from, (char *)&want + lim_from, lim_to - lim_from)) {
    fill_identity(d, c);
    fixed++;
  }
  /* Relaxed loads: only this thread stores these words legitimately; a
   * requester never writes them, so any other value is damage. */
  if (atomic_load_explicit(&c->state, memory_order_relaxed) != SCHEDRT_CTL_STATE_SERVED) {
    /* Release: the identity just rewritten is published with SERVED again. */
    atomic_store_explicit(&c->state, SCHEDRT_CTL_STATE_SERVED, memory_order_release);
    fixed++;
  }
  for (uint32_t i = 0; i < SCHEDRT_CTL_SLOTS; i++)
    if (atomic_load_explicit(&c->answers[i].seq, memory_order_relaxed) != x->slot_seq[i]) {
      /* Release: as after an answer (the slot's fields may be damaged too;
       * the next answer in this slot rewrites them). */
      atomic_store_explicit(&c->answers[i].seq, x->slot_seq[i], memory_order_release);
      fixed++;
    }
  if (atomic_load_explicit(&c->resp_seq, memory_order_relaxed) != x->last_seq) {
    /* Release, and wake: a requester waiting for "nothing pending" sees it. */
    atomic_store_explicit(&c->resp_seq, x->last_seq, memory_order_release);
    wake_shared(&c->resp_seq);
    fixed++;
  }
  x->repairs += fixed;
  return fixed;
}

/* The answer's fields, written between a sequence's odd and even values. */
struct reply {
  uint32_t status, reason;
  const uint8_t *nonce;
  const schedrt_dump_result *res;
  const char *object;
};

static void fill_slot(struct schedrt_ctl_slot *x, const struct reply *r, uint64_t now) {
  x->status = r->status;
  x->reason = r->reason;
  x->tasks = r->res ? r->res->tasks : 0;
  x->workers_covered = r->res ? r->res->workers_covered : 0;
  x->workers_missing = r->res ? r->res->workers_missing : 0;
  memcpy(x->nonce, r->nonce, SCHEDRT_CTL_NONCE_SIZE);
  x->bytes = r->res ? r->res->bytes : 0;
  x->pause_ns = r->res ? r->res->pause_ns : 0;
  x->done_ns = now;
  memset(x->object, 0, sizeof(x->object));
  if (r->object)
    memcpy(x->object, r->object, strnlen(r->object, sizeof(x->object) - 1));
}

/* Writes the answer to request seq: its slot, then the latest-answer fields. */
static void answer(struct schedrt_ctl *c, uint32_t seq, uint32_t status, uint32_t reason,
                   const uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE], const schedrt_dump_result *res,
                   const char *object) {
  struct reply r = {status, reason, nonce, res, object};
  uint64_t now = schedrt__now_ns();
  struct schedrt_ctl_slot *slot = schedrt_ctl_slot_of(c, seq), latest;
  /* Each sequence as a seqlock writer's: relaxed store of the odd value, a
   * release fence before the fields (W1), release store of the even one
   * after them (W2), so a reader that copied a mix sees a change. */
  atomic_store_explicit(&slot->seq, seq - 1u, memory_order_relaxed);
  atomic_store_explicit(&c->resp_seq, seq - 1u, memory_order_relaxed);
  schedrt_seq_fence_release();
  fill_slot(slot, &r, now);
  fill_slot(&latest, &r, now);
  c->resp_status = latest.status;
  c->resp_reason = latest.reason;
  c->resp_tasks = latest.tasks;
  c->resp_workers_covered = latest.workers_covered;
  c->resp_workers_missing = latest.workers_missing;
  memcpy(c->resp_nonce, latest.nonce, sizeof(c->resp_nonce));
  c->resp_bytes = latest.bytes;
  c->resp_pause_ns = latest.pause_ns;
  c->resp_done_ns = latest.done_ns;
  memcpy(c->resp_object, latest.object, sizeof(c->resp_object));
  atomic_store_explicit(&slot->seq, seq, memory_order_release);
  atomic_store_explicit(&c->resp_seq, seq, memory_order_release);
  wake_shared(&c->resp_seq);
}

/* answer(), remembering what it wrote so that repair() can restore it. */
static void answer_d(struct schedrt__dump *d, struct schedrt_ctl *c, uint32_t seq, uint32_t status,
                     uint32_t reason, const uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE],
                     const schedrt_dump_result *res, const char *object) {
  d->ctl.slot_seq[(seq / 2u) % SCHEDRT_CTL_SLOTS] = seq;
  d->ctl.last_seq = seq;
  answer(c, seq, status, reason, nonce, res, object);
}

static bool all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

/* Checks the private copy q; SCHEDRT_CTL_R_NONE and *out, or why not. */
static uint32_t validate(struct schedrt__dctl *x, const struct schedrt_ctl *q, struct schedrt__dreq *out) {
  if (q->req_kind != SCHEDRT_CTL_KIND_PING && q->req_kind != SCHEDRT_CTL_KIND_DUMP)
    return SCHEDRT_CTL_R_KIND;
  if (q->req_flags & ~SCHEDRT_CTL_FLAGS_KNOWN)
    return SCHEDRT_CTL_R_FLAGS;
  if (q->req_resv || !all_zero(q->req_resv2, sizeof(q->req_resv2)) ||
      (!(q->req_flags & SCHEDRT_CTL_FLAG_DEADLINE) && q->req_deadline_ns))
    return SCHEDRT_CTL_R_RESERVED;
  if (q->req_timeout_ms &&
      (q->req_timeout_ms < SCHEDRT_CTL_TIMEOUT_MIN_MS || q->req_timeout_ms > SCHEDRT_CTL_TIMEOUT_MAX_MS))
    return SCHEDRT_CTL_R_TIMEOUT;
  size_t n = 0;
  while (n < sizeof(q->req_label) && q->req_label[n])
    n++;
  if (n == sizeof(q->req_label))
    return SCHEDRT_CTL_R_LABEL;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)q->req_label[i] < 0x20 || (unsigned char)q->req_label[i] > 0x7e)
      return SCHEDRT_CTL_R_LABEL;
  if (all_zero(q->req_nonce, sizeof(q->req_nonce)))
    return SCHEDRT_CTL_R_NONCE;
  for (size_t i = 0; i < sizeof(x->nonces) / sizeof(x->nonces[0]); i++)
    if (memcmp(x->nonces[i], q->req_nonce, SCHEDRT_CTL_NONCE_SIZE) == 0)
      return SCHEDRT_CTL_R_REPLAY;
  memcpy(x->nonces[x->nonce_next], q->req_nonce, SCHEDRT_CTL_NONCE_SIZE);
  x->nonce_next = (x->nonce_next + 1u) % (uint32_t)(sizeof(x->nonces) / sizeof(x->nonces[0]));
  memset(out, 0, sizeof(*out));
  out->timeout_ms = q->req_timeout_ms;
  out->source = SCHEDRT__SRC_CONTROL;
  out->has_label = n > 0;
  memcpy(out->label, q->req_label, n);
  memcpy(out->nonce, q->req_nonce, SCHEDRT_CTL_NONCE_SIZE);
  out->requester_deadline_ns = q->req_deadline_ns;
  return SCHEDRT_CTL_R_NONE;
}

/* The status a dump would get right now without taking one (PING, and the
 * early answers of DUMP). */
static uint32_t gate_status(struct schedrt__dump *d) {
  if (d->disabled)
    return SCHEDRT_DUMP_DISABLED;
  /* Acquire: pairs with destroy's release store. */
  if (atomic_load_explicit(&d->rt->shutdown, memory_order_acquire))
    return SCHEDRT_DUMP_SHUTDOWN;
  return SCHEDRT_DUMP_OK;
}

static bool expired(const struct schedrt__dreq *req, uint64_t now) {
  return req->requester_deadline_ns && now >= req->requester_deadline_ns;
}

static void serve_dump(struct schedrt__dump *d, struct schedrt_ctl *c, uint32_t seq,
                       const struct schedrt__dreq *req, uint64_t now) {
  schedrt_dump_result res = {0};
  char object[SCHEDRT_CTL_OBJECT_SIZE] = "";
  struct schedrt__dfile f;
  uint32_t status = gate_status(d), reason = SCHEDRT_CTL_R_NONE;
  int dirfd = -1, rc;
  if (status != SCHEDRT_DUMP_OK)
    goto done;
  uint32_t left = schedrt__dobj_sweep(d, now, (uint64_t)d->rt->cfg.dump_keep_s * 1000000000u, false);
  /* Full: a requester collects its object as soon as it reads the answer,
   * so one still here a requester's whole deadline later belongs to one that
   * was killed or gave up. Those make room, rather than BUSY until keep_s. */
  if (left >= SCHEDRT__DOBJ_MAX)
    left = schedrt__dobj_sweep(d, now, schedrt__dobj_abandon_ns(d), false);
  if (left >= SCHEDRT__DOBJ_MAX) {
    status = SCHEDRT_DUMP_BUSY;
    reason = SCHEDRT_CTL_R_OBJECTS;
    goto done;
  }
  if ((dirfd = schedrt__dobj_dir()) < 0 || schedrt__dobj_create(d, &f, dirfd) != 0) {
    status = SCHEDRT_DUMP_FAILED;
    reason = SCHEDRT_CTL_R_IO;
    goto done;
  }
  rc = schedrt__dump_run(d, req, f.fd, &res);
  status = res.status;
  /* Its requester gave up (we were stopped or slow): linking the object
   * would leave it to the keep time; it is never linked instead. */
  if (rc == 0 && expired(req, schedrt__now_ns())) {
    schedrt__dfile_abort(&f);
    status = SCHEDRT_DUMP_REJECTED;
    reason = SCHEDRT_CTL_R_EXPIRED;
    goto done;
  }
  if (rc == 0)
    rc = schedrt__dobj_commit(d, &f, object);
  else
    schedrt__dfile_abort(&f);
  if (rc == -EBUSY) {
    reason = SCHEDRT_CTL_R_INFLIGHT;
  } else if (rc == -ENOMEM) {
    reason = SCHEDRT_CTL_R_NOMEM;
  } else if (rc && status != SCHEDRT_DUMP_SHUTDOWN && status != SCHEDRT_DUMP_DISABLED) {
    status = SCHEDRT_DUMP_FAILED;
    reason = SCHEDRT_CTL_R_IO;
  }
done:
  if (dirfd >= 0)
    close(dirfd);
  answer_d(d, c, seq, status, reason, req->nonce, &res, object[0] ? object : NULL);
}

static void *helper_main(void *arg) {
  struct schedrt__dctl_job *j = arg;
  serve_dump(j->d, j->c, j->seq, &j->req, j->now);
  /* Release: the monitor joins us and touches the page again after this. */
  atomic_store_explicit(&j->d->ctl.helper_done, true, memory_order_release);
  return NULL;
}

/* Hands the dump to a helper thread; does it here if no thread can be had. */
static void start_dump(struct schedrt__dump *d, struct schedrt_ctl *c, uint32_t seq,
                       const struct schedrt__dreq *req, uint64_t now) {
  struct schedrt__dctl *x = &d->ctl;
  x->job = (struct schedrt__dctl_job){d, c, seq, now, *req};
  atomic_store_explicit(&x->helper_done, false, memory_order_relaxed);
  if (pthread_create(&x->helper, NULL, helper_main, &x->job) == 0) {
    x->helper_live = true;
    return;
  }
  serve_dump(d, c, seq, req, now);
}

/* Joins a finished helper; true while one still runs. */
static bool helper_busy(struct schedrt__dctl *x) {
  if (!x->helper_live)
    return false;
  /* Acquire: pairs with the helper's last store. */
  if (!atomic_load_explicit(&x->helper_done, memory_order_acquire))
    return true;
  pthread_join(x->helper, NULL);
  x->helper_live = false;
  return false;
}

/* The page to serve: a test's, else the segment's (asked once). */
static struct schedrt_ctl *page_of(struct schedrt__dump *d) {
  struct schedrt__dctl *x = &d->ctl;
  /* Acquire: pairs with schedrt__dump_ctl_attach's release. */
  struct schedrt_ctl *c = atomic_load_explicit(&x->page, memory_order_acquire);
  if (!c && !x->looked_up) {
    x->looked_up = true;
    struct schedrt_ctl *seg = schedrt__dseg_control(d->rt);
    if (seg)
      /* Acquire on failure: a test attached its page meanwhile; it wins. */
      atomic_compare_exchange_strong_explicit(&x->page, &c, seg, memory_order_acq_rel, memory_order_acquire);
    c = atomic_load_explicit(&x->page, memory_order_acquire);
  }
  return c;
}

void schedrt__dctl_start(struct schedrt__dump *d) {
  struct schedrt_ctl *c = page_of(d);
  if (!c)
    return;
  serve_identity(d, c);
  d->ctl.served = c;
}

void schedrt__dctl_tick(struct schedrt__dump *d, uint64_t now) {
  struct schedrt__dctl *x = &d->ctl;
  if (helper_busy(x))
    return;
  struct schedrt_ctl *c = page_of(d);
  if (!c)
    return;
  if (x->served != c) {
    serve_identity(d, c);
    x->served = c;
  } else {
    repair(d, c);
  }
  /* Acquire: pairs with the requester's doorbell store; the fields it wrote
   * before are then visible to the copy below. */
  uint32_t s = atomic_load_explicit(&c->req_seq, memory_order_acquire);
  if (s != x->last_seq && s != x->last_seq + 1u && s != x->last_seq + 2u) {
    /* A requester only ever moves req_seq from the last answer to +1 (its
     * claim) and +2 (its doorbell); any other value is damage. Put it back
     * (a CAS: a requester may be claiming the page meanwhile) rather than
     * answer it: an answer at a far-off sequence would make waiting
     * requesters think they were lapped. Relaxed: no data goes with it. */
    if (atomic_compare_exchange_strong_explicit(&c->req_seq, &s, x->last_seq, memory_order_relaxed,
                                                memory_order_relaxed))
      x->repairs++;
    return;
  }
  if (s & 1u) {
    /* Claimed and not rung yet. A requester that died (or stalls) there
     * would block every other one: after TORN_TICKS periods, close the claim
     * ourselves and answer it. */
    if (s != x->odd_seq || x->odd_ticks == 0) {
      x->odd_seq = s;
      x->odd_ticks = 0;
      x->odd_since_ns = now;
    }
    if (++x->odd_ticks >= TORN_TICKS && now - x->odd_since_ns >= TORN_NS &&
        atomic_compare_exchange_strong_explicit(&c->req_seq, &s, s + 1u, memory_order_acq_rel,
                                                memory_order_relaxed)) {
      uint8_t none[SCHEDRT_CTL_NONCE_SIZE] = {0};
      x->last_seq = s + 1u;
      x->odd_ticks = 0;
      answer_d(d, c, s + 1u, SCHEDRT_DUMP_REJECTED, SCHEDRT_CTL_R_TORN, none, NULL, NULL);
    }
    return;
  }
  x->odd_ticks = 0;
  if (s == x->last_seq)
    return;
  /* The request fields only: the sequence words are atomics, read as such. */
  struct schedrt_ctl q;
  const size_t from = offsetof(struct schedrt_ctl, req_kind), to = offsetof(struct schedrt_ctl, resp_seq);
  memcpy((char *)&q + from, (const char *)c + from, to - from);
  /* The copy's loads before the second read of the sequence (R2). */
  schedrt_seq_fence_acquire();
  uint32_t s2 = atomic_load_explicit(&c->req_seq, memory_order_relaxed);
  x->last_seq = s;
  if (s2 != s) {
    answer_d(d, c, s, SCHEDRT_DUMP_REJECTED, SCHEDRT_CTL_R_TORN, q.req_nonce, NULL, NULL);
    return;
  }
  struct schedrt__dreq req;
  uint32_t why = validate(x, &q, &req);
  if (why != SCHEDRT_CTL_R_NONE) {
    answer_d(d, c, s, SCHEDRT_DUMP_REJECTED, why, q.req_nonce, NULL, NULL);
    return;
  }
  /* Seen too late (this process was stopped, or the monitor held up): the
   * requester is gone, and a dump would only hold the workers for nobody. */
  if (expired(&req, schedrt__now_ns())) {
    answer_d(d, c, s, SCHEDRT_DUMP_REJECTED, SCHEDRT_CTL_R_EXPIRED, req.nonce, NULL, NULL);
    return;
  }
  if (q.req_kind == SCHEDRT_CTL_KIND_PING) {
    answer_d(d, c, s, gate_status(d), SCHEDRT_CTL_R_NONE, req.nonce, NULL, NULL);
    return;
  }
  start_dump(d, c, s, &req, now);
}

void schedrt__dctl_close(struct schedrt__dump *d) {
  struct schedrt__dctl *x = &d->ctl;
  /* The runtime is stopping: a gathering helper gives up within 1 ms. */
  if (x->helper_live) {
    pthread_join(x->helper, NULL);
    x->helper_live = false;
  }
  struct schedrt_ctl *c = x->served;
  if (!c)
    return;
  /* Acquire: as in the tick. */
  uint32_t s = atomic_load_explicit(&c->req_seq, memory_order_acquire);
  if (s == x->last_seq + 2u) {
    uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
    memcpy(nonce, c->req_nonce, sizeof(nonce));
    answer_d(d, c, s, SCHEDRT_DUMP_SHUTDOWN, SCHEDRT_CTL_R_NONE, nonce, NULL, NULL);
  }
  /* Release: after our last answer. */
  atomic_store_explicit(&c->state, SCHEDRT_CTL_STATE_CLOSED, memory_order_release);
  x->served = NULL;
}

void schedrt__dump_ctl_attach(schedrt_runtime *rt, struct schedrt_ctl *page) {
  if (!rt->dump)
    return;
  /* Release: the page's contents (zeroed by the test) before the monitor uses it. */
  atomic_store_explicit(&rt->dump->ctl.page, page, memory_order_release);
}
