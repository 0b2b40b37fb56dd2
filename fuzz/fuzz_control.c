/*
 * libFuzzer target: the runtime's handling of its control page
 * (runtime/src/dump_control.c), which any process of the runtime's uid may
 * write. The input is a script of steps against a fresh page: write bytes
 * anywhere in it, ring a well-formed request (schedrt_ctl_submit), or let
 * the runtime look at the page (schedrt__dctl_tick) some time later. After
 * every look the page must be served again (the runtime repairs it), and a
 * well-formed request made then must be answered at once: garbage may cost
 * the request in flight, never the next one.
 *
 * The runtime is a stand-in with dumps disabled, so a DUMP request is
 * answered DISABLED without stopping workers (the barrier has its own
 * tests); everything up to that point is the real code.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "schedrt/dump_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rig {
  schedrt_runtime *rt;
  struct schedrt__dump *d;
  struct schedrt_ctl *c;
  uint64_t now;
};

/* One look by the runtime, and the helper thread it may start, finished. */
static void tick(struct rig *g) {
  schedrt__dctl_tick(g->d, g->now);
  struct schedrt__dctl *x = &g->d->ctl;
  if (x->helper_live) {
    pthread_join(x->helper, NULL);
    x->helper_live = false;
  }
}

static void check_served(struct rig *g) {
  struct schedrt_ctl *c = g->c;
  if (atomic_load(&c->state) != SCHEDRT_CTL_STATE_SERVED || c->magic != SCHEDRT_CTL_MAGIC ||
      c->major != SCHEDRT_CTL_MAJOR || c->size != sizeof(*c) ||
      atomic_load(&c->resp_seq) != g->d->ctl.last_seq)
    __builtin_trap(); /* a write survived a look: dumps would stay off */
}

/* After a look, a request is accepted (unless a claim is open) and answered by the next look. */
static void check_request_works(struct rig *g, uint32_t kind) {
  uint32_t seq;
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  g->now += 1000000;
  tick(g);
  int rc = schedrt_ctl_submit(g->c, kind, 0, "fuzz", 0, &seq, nonce);
  if (rc == -EBUSY && (atomic_load(&g->c->req_seq) & 1u))
    return; /* a claim the garbage left open: closed after its timeout, checked at the end */
  if (rc != 0)
    __builtin_trap();
  g->now += 1000000;
  tick(g);
  schedrt_ctl_answer a;
  if (schedrt_ctl_wait(g->c, seq, nonce, 0, &a) != 0)
    __builtin_trap();
  if (a.status != SCHEDRT_DUMP_DISABLED) /* the stand-in's dumps are off, for both kinds */
    __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rig g = {.now = 1000000000ull};
  g.rt = calloc(1, sizeof(*g.rt));
  g.d = calloc(1, sizeof(*g.d));
  g.c = aligned_alloc(4096, 4096);
  if (!g.rt || !g.d || !g.c)
    abort();
  memset(g.c, 0, 4096);
  schedrt_config_init(&g.rt->cfg);
  g.rt->cfg.monitor_period_ms = 100;
  g.rt->cfg.dump_timeout_ms = 250;
  g.rt->cfg.dump_keep_s = 60;
  g.rt->dump = g.d;
  g.d->rt = g.rt;
  g.d->disabled = true;
  pthread_mutex_init(&g.d->obj_lock, NULL);
  atomic_store(&g.d->ctl.page, g.c);
  tick(&g);
  check_served(&g);

  size_t i = 0;
  while (i < size) {
    uint8_t op = data[i++];
    switch (op % 4) {
    case 0: { /* write up to 32 bytes at an offset of the page */
      if (i + 3 > size)
        goto done;
      size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % sizeof(*g.c);
      size_t n = data[i + 2] % 33;
      i += 3;
      if (n > size - i)
        n = size - i;
      if (n > sizeof(*g.c) - off)
        n = sizeof(*g.c) - off;
      memcpy((char *)g.c + off, data + i, n);
      i += n;
      break;
    }
    case 1: /* the runtime looks, op/4 periods later */
      g.now += (uint64_t)(op / 4u + 1u) * 100000000ull;
      tick(&g);
      check_served(&g);
      break;
    case 2:
      check_request_works(&g, op & 4 ? SCHEDRT_CTL_KIND_DUMP : SCHEDRT_CTL_KIND_PING);
      break;
    default: /* shutdown starts (or not) */
      atomic_store(&g.rt->shutdown, (op & 4) != 0);
      break;
    }
  }
done:
  /* Whatever happened, after two looks a second apart the page works again. */
  atomic_store(&g.rt->shutdown, false);
  for (int k = 0; k < 3; k++) {
    g.now += 1100000000ull;
    tick(&g);
  }
  check_served(&g);
  uint32_t seq;
  uint8_t nonce[SCHEDRT_CTL_NONCE_SIZE];
  if (schedrt_ctl_submit(g.c, SCHEDRT_CTL_KIND_PING, 0, NULL, 0, &seq, nonce) != 0)
    __builtin_trap();
  g.now += 1000000;
  tick(&g);
  schedrt_ctl_answer a;
  if (schedrt_ctl_wait(g.c, seq, nonce, 0, &a) != 0 || a.status != SCHEDRT_DUMP_DISABLED)
    __builtin_trap();
  pthread_mutex_destroy(&g.d->obj_lock);
  free(g.c);
  free(g.d);
  free(g.rt);
  return 0;
}
