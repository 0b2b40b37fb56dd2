/*
 * The dump as CBOR (RFC 8949), written after the workers were released:
 * docs/dump-format.md has the CDDL schema. Every item head comes from
 * libcbor's streaming encoders (cbor_encode_*) into a 64 KiB buffer that is
 * flushed to the file descriptor as it fills; only text and byte string
 * payloads are copied after their heads. Every container has a definite
 * length, so a truncated dump fails to decode instead of looking complete.
 *
 * Spawn and await sites are emitted once each, in tables after the tasks
 * (tasks refer to them by index): a million tasks spawned from one line
 * repeat no file name, and the writer validates each string only once.
 */
#include <cbor.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "sync_owner.h"

#define BUF_SIZE (64u * 1024u)
#define STR_MAX 1024u /* longer strings (absurd file names) are cut */
#define HEAD_MAX 9u   /* the longest CBOR item head */

struct cw {
  int fd;
  int err;
  size_t len;
  uint64_t total;
  unsigned char *buf;
};

static void cw_flush(struct cw *w) {
  size_t off = 0;
  while (!w->err && off < w->len) {
    ssize_t n = write(w->fd, w->buf + off, w->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      w->err = n < 0 ? -errno : -EIO;
    else
      off += (size_t)n;
  }
  w->total += off;
  w->len = 0;
}

/* Room for n more bytes (n <= BUF_SIZE). */
static unsigned char *cw_room(struct cw *w, size_t n) {
  if (w->len + n > BUF_SIZE)
    cw_flush(w);
  return w->buf + w->len;
}

static void put_uint(struct cw *w, uint64_t v) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_uint(v, p, HEAD_MAX);
}
static void put_map(struct cw *w, size_t n) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_map_start(n, p, HEAD_MAX);
}
static void put_array(struct cw *w, size_t n) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_array_start(n, p, HEAD_MAX);
}
static void put_tag(struct cw *w, uint64_t tag) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_tag(tag, p, HEAD_MAX);
}
static void put_null(struct cw *w) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_null(p, HEAD_MAX);
}
static void put_bool(struct cw *w, bool v) {
  unsigned char *p = cw_room(w, HEAD_MAX);
  w->len += cbor_encode_bool(v, p, HEAD_MAX);
}

static void put_bytes(struct cw *w, const void *b, size_t n) {
  unsigned char *p = cw_room(w, HEAD_MAX + n);
  size_t h = cbor_encode_bytestring_start(n, p, HEAD_MAX);
  memcpy(p + h, b, n);
  w->len += h + n;
}

/* Text known to be valid UTF-8, at most STR_MAX bytes. */
static void put_text_raw(struct cw *w, const char *s, size_t n) {
  unsigned char *p = cw_room(w, HEAD_MAX + n);
  size_t h = cbor_encode_string_start(n, p, HEAD_MAX);
  memcpy(p + h, s, n);
  w->len += h + n;
}

static void put_key(struct cw *w, const char *k) { put_text_raw(w, k, strlen(k)); }

/*
 * The texts repeated for every task (its keys and state names), encoded once
 * by libcbor and copied from then on: half the writer's time went into
 * re-encoding the same ten keys a million times.
 */
/* clang-format off */
#define TEXTS(X)                       \
  X(T_ID, SCHEDRT_DK_ID)               \
  X(T_NAME, SCHEDRT_DK_NAME)           \
  X(T_STATE, SCHEDRT_DK_STATE)         \
  X(T_WORKER, SCHEDRT_DK_WORKER)       \
  X(T_POSITION, SCHEDRT_DK_POSITION)   \
  X(T_SPAWN, SCHEDRT_DK_SPAWN)         \
  X(T_AWAIT, SCHEDRT_DK_AWAIT)         \
  X(T_POLLS, SCHEDRT_DK_POLLS)         \
  X(T_AGE_NS, SCHEDRT_DK_AGE_NS)       \
  X(T_STATE_NS, SCHEDRT_DK_STATE_NS)   \
  X(T_WAKERS, SCHEDRT_DK_WAKERS)       \
  X(T_TIMERS, SCHEDRT_DK_TIMERS)       \
  X(T_TIMER_IN, SCHEDRT_DK_TIMER_IN_NS)\
  X(T_WAIT, SCHEDRT_DK_WAIT)           \
  X(T_WAIT_FOR, SCHEDRT_DK_WAIT_FOR)   \
  X(T_WAIT_OBJ, SCHEDRT_DK_WAIT_OBJECT)\
  X(T_HOLDERS, SCHEDRT_DK_HOLDERS)     \
  X(T_HOLDERS_MORE, SCHEDRT_DK_HOLDERS_MORE)\
  X(T_LOST_WAKE, SCHEDRT_DK_LOST_WAKE)
/* clang-format on */
enum text_id {
#define X(id, text) id,
  TEXTS(X)
#undef X
      T_STATE0, /* then one per SCHEDRT_DUMP_STATES entry */
  T__COUNT = T_STATE0 + SCHEDRT_DUMP_STATE__COUNT
};
#define TEXT_BYTES 24u

struct enc_text {
  unsigned char b[TEXT_BYTES];
  size_t len;
};

static struct enc_text texts[T__COUNT];
static pthread_once_t texts_once = PTHREAD_ONCE_INIT;

static void enc_text(struct enc_text *e, const char *s) {
  size_t n = strlen(s);
  size_t h = cbor_encode_string_start(n, e->b, HEAD_MAX);
  memcpy(e->b + h, s, n);
  e->len = h + n;
}

static void texts_init(void) {
  static const char *const keys[] = {
#define X(id, text) text,
      TEXTS(X)
#undef X
  };
  static const char *const states[] = {
#define X(n, t, h) t,
      SCHEDRT_DUMP_STATES(X)
#undef X
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    enc_text(&texts[i], keys[i]);
  for (size_t i = 0; i < SCHEDRT_DUMP_STATE__COUNT; i++)
    enc_text(&texts[T_STATE0 + i], states[i]);
}

_Static_assert(sizeof(SCHEDRT_DK_TIMER_IN_NS) + HEAD_MAX <= TEXT_BYTES, "longest cached key fits");
_Static_assert(sizeof(SCHEDRT_DK_HOLDERS_MORE) + HEAD_MAX <= TEXT_BYTES, "longest cached key fits");
_Static_assert(sizeof("completing") + HEAD_MAX <= TEXT_BYTES, "longest state fits");

static void put_cached(struct cw *w, enum text_id id) {
  unsigned char *p = cw_room(w, TEXT_BYTES);
  memcpy(p, texts[id].b, TEXT_BYTES);
  w->len += texts[id].len;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, min = 0x10000;
  else
    return 0;
  if (len > n)
    return 0;
  unsigned cp = c & (0x7fu >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* Any C string as CBOR text: cut at STR_MAX, invalid UTF-8 bytes become '?'
 * (CBOR text must be UTF-8; a task name is cut at 23 bytes, maybe mid-character). */
static void put_str(struct cw *w, const char *s) {
  if (!s) {
    put_null(w);
    return;
  }
  size_t n = strnlen(s, STR_MAX);
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, k;
  while (i < n && (k = utf8_seq(u + i, n - i)))
    i += k;
  if (i == n) {
    put_text_raw(w, s, n);
    return;
  }
  char tmp[STR_MAX];
  for (i = 0; i < n;) {
    k = utf8_seq(u + i, n - i);
    if (k == 0) {
      tmp[i++] = '?';
    } else {
      memcpy(tmp + i, u + i, k);
      i += k;
    }
  }
  put_text_raw(w, tmp, n);
}

/* ----------------------------------------------------------- site tables */

struct site {
  const void *a, *b;
  int32_t line;
};

struct sites {
  uint32_t *slots; /* index + 1 into list; 0: empty */
  size_t mask;
  struct site *list;
  size_t n, cap;
};

static void sites_free(struct sites *t) {
  free(t->slots);
  free(t->list);
}

static size_t site_hash(const struct site *s, size_t mask) {
  uint64_t x = (uint64_t)(uintptr_t)s->a * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)s->b ^
               ((uint64_t)(uint32_t)s->line << 17);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return (size_t)x & mask;
}

static bool sites_grow(struct sites *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  struct site *list = realloc(t->list, cap * sizeof(*list));
  if (!list)
    return false;
  t->list = list;
  uint32_t *slots = calloc(cap * 2, sizeof(*slots));
  if (!slots)
    return false;
  size_t mask = cap * 2 - 1;
  for (size_t i = 0; i < t->n; i++) {
    size_t h = site_hash(&list[i], mask);
    while (slots[h])
      h = (h + 1) & mask;
    slots[h] = (uint32_t)i + 1;
  }
  free(t->slots);
  t->slots = slots;
  t->mask = mask;
  t->cap = cap;
  return true;
}

/* Index of the site, added if new; -1 when out of memory. */
static int64_t sites_index(struct sites *t, const void *a, const void *b, int32_t line) {
  struct site s = {a, b, line};
  if (t->n == t->cap && !sites_grow(t))
    return -1;
  size_t h = site_hash(&s, t->mask);
  for (; t->slots[h]; h = (h + 1) & t->mask) {
    const struct site *x = &t->list[t->slots[h] - 1];
    if (x->a == a && x->b == b && x->line == line)
      return t->slots[h] - 1;
  }
  t->list[t->n] = s;
  t->slots[h] = (uint32_t)++t->n;
  return (int64_t)t->n - 1;
}

/* ------------------------------------------------------------- sections */

static void put_enum(struct cw *w, const char *const *names, size_t count, unsigned v) {
  put_str(w, v < count ? names[v] : NULL);
}

static uint64_t since(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

static void put_meta(struct cw *w, struct schedrt__dump *d) {
  const struct schedrt__dround *r = &d->round;
  schedrt_runtime *rt = d->rt;
  put_map(w, 21);
  put_key(w, SCHEDRT_DK_RUNTIME);
  put_str(w, rt->name);
  put_key(w, SCHEDRT_DK_RUNTIME_VERSION);
  put_str(w, SCHEDRT_VERSION_STRING);
  put_key(w, SCHEDRT_DK_PID);
  put_uint(w, d->pid);
  put_key(w, SCHEDRT_DK_PROC_START);
  put_uint(w, d->starttime);
  put_key(w, SCHEDRT_DK_BOOT_ID);
  put_bytes(w, d->boot_id, sizeof(d->boot_id));
  put_key(w, SCHEDRT_DK_STARTED);
  put_uint(w, rt->start_ns);
  put_key(w, SCHEDRT_DK_NWORKERS);
  put_uint(w, rt->nworkers);
  put_key(w, SCHEDRT_DK_SOURCE);
  static const char *const sources[] = {
      [SCHEDRT__SRC_API] = "api", [SCHEDRT__SRC_CONTROL] = "control", [SCHEDRT__SRC_WATCHDOG] = "watchdog"};
  put_str(w, sources[r->source]);
  put_key(w, SCHEDRT_DK_LABEL);
  put_str(w, r->has_label ? r->label : NULL);
  put_key(w, SCHEDRT_DK_NONCE);
  put_bytes(w, r->nonce, sizeof(r->nonce));
  put_key(w, SCHEDRT_DK_STATUS);
  put_str(w, schedrt_dump_status_name(r->status));
  put_key(w, SCHEDRT_DK_DEADLINE_MS);
  put_uint(w, r->timeout_ms);
  put_key(w, SCHEDRT_DK_REQUESTED);
  put_uint(w, r->requested_ns);
  put_key(w, SCHEDRT_DK_TAKEN);
  put_uint(w, r->taken_ns);
  put_key(w, SCHEDRT_DK_TAKEN_REALTIME);
  put_uint(w, r->taken_realtime_ns);
  put_key(w, SCHEDRT_DK_GATHER_NS);
  put_uint(w, since(r->closed_ns, r->requested_ns));
  put_key(w, SCHEDRT_DK_PAUSE_NS);
  put_uint(w, since(r->released_ns, r->closed_ns));
  put_key(w, SCHEDRT_DK_ROUNDS);
  put_uint(w, r->rounds);
  put_key(w, SCHEDRT_DK_COVERED);
  put_array(w, r->covered);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (r->workers[i].role != SCHEDRT_DUMP_ROLE_MISSING)
      put_uint(w, i);
  put_key(w, SCHEDRT_DK_MISSING);
  put_array(w, r->missing);
  for (uint32_t i = 0; i < rt->nworkers; i++)
    if (r->workers[i].role == SCHEDRT_DUMP_ROLE_MISSING)
      put_uint(w, i);
  put_key(w, SCHEDRT_DK_NTASKS);
  put_uint(w, r->nrecs);
}

static const char *const hist_names[SCHEDRT_M__HIST_COUNT] = {
#define SCHEDRT__HIST_NAME(id, kind, off, type, unit, help, pub) #id,
    SCHEDRT_HIST_METRICS(SCHEDRT__HIST_NAME)
#undef SCHEDRT__HIST_NAME
};

/* Worker index's histograms, under their metric names (docs/dump-format.md). */
static void put_worker_hist(struct cw *w, const struct schedrt__dround *r, uint32_t index) {
  for (uint32_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++) {
    const uint64_t *b = r->hist + ((size_t)index * SCHEDRT_M__HIST_COUNT + h) * SCHEDRT_HIST_BUCKETS;
    put_key(w, hist_names[h]);
    put_array(w, SCHEDRT_HIST_BUCKETS);
    for (uint32_t i = 0; i < SCHEDRT_HIST_BUCKETS; i++)
      put_uint(w, b[i]);
  }
}

/* 1.3: a stall backtrace (stall_bt.h), as docs/dump-format.md describes it. */
static void put_backtrace(struct cw *w, const struct schedrt__bt_result *bt) {
  bool why = bt->result == SCHEDRT_DUMP_BT_UNAVAILABLE;
  put_key(w, SCHEDRT_DK_BACKTRACE);
  put_map(w, 5 + why);
  put_key(w, SCHEDRT_DK_BT_RESULT);
  put_enum(w, schedrt_dump_bt_result_names, SCHEDRT_DUMP_BT__COUNT, bt->result);
  if (why) {
    put_key(w, SCHEDRT_DK_BT_WHY);
    put_str(w, bt->why);
  }
  put_key(w, SCHEDRT_DK_BT_SIGNAL);
  if (bt->signo)
    put_uint(w, (uint64_t)bt->signo);
  else
    put_null(w);
  put_key(w, SCHEDRT_DK_BT_WAIT_NS);
  put_uint(w, bt->wait_ns);
  put_key(w, SCHEDRT_DK_BT_TRUNCATED);
  put_bool(w, bt->truncated);
  put_key(w, SCHEDRT_DK_BT_FRAMES);
  put_array(w, bt->n);
  for (uint32_t k = 0; k < bt->n; k++) {
    const struct schedrt__bt_frame *f = &bt->frames[k];
    bool mod = f->module != SCHEDRT__BT_NO_TEXT, sym = f->symbol != SCHEDRT__BT_NO_TEXT;
    put_map(w, 5);
    put_key(w, SCHEDRT_DK_BT_IP);
    put_uint(w, f->ip);
    put_key(w, SCHEDRT_DK_BT_MODULE);
    put_str(w, mod ? bt->text + f->module : NULL);
    put_key(w, SCHEDRT_DK_BT_MODULE_OFFSET);
    if (mod)
      put_uint(w, f->module_offset);
    else
      put_null(w);
    put_key(w, SCHEDRT_DK_BT_SYMBOL);
    put_str(w, sym ? bt->text + f->symbol : NULL);
    put_key(w, SCHEDRT_DK_BT_SYMBOL_OFFSET);
    if (sym)
      put_uint(w, f->symbol_offset);
    else
      put_null(w);
  }
}

static void put_worker(struct cw *w, const struct schedrt__dround *r, const struct schedrt__dworker *x,
                       uint32_t index) {
  bool missing = x->role == SCHEDRT_DUMP_ROLE_MISSING;
  bool bt = r->bt && r->bt_worker == index;
  put_map(w, 12 + (r->has_hist ? SCHEDRT_M__HIST_COUNT : 0) + bt);
  if (bt)
    put_backtrace(w, r->bt);
  put_key(w, SCHEDRT_DK_TID);
  if (x->tid)
    put_uint(w, x->tid);
  else
    put_null(w);
  put_key(w, SCHEDRT_DK_HELD_NS);
  put_uint(w, x->held_ns);
  if (r->has_hist)
    put_worker_hist(w, r, index);
  put_key(w, SCHEDRT_DK_INDEX);
  put_uint(w, index);
  put_key(w, SCHEDRT_DK_ROLE);
  put_enum(w, schedrt_dump_role_names, SCHEDRT_DUMP_ROLE__COUNT, x->role);
  put_key(w, SCHEDRT_DK_WSTATE);
  put_enum(w, schedrt_worker_state_names, SCHEDRT_WSTATE__COUNT, x->wstate);
  put_key(w, SCHEDRT_DK_REASON);
  put_enum(w, schedrt_dump_reason_names, SCHEDRT_DUMP_REASON__COUNT, x->reason);
  put_key(w, SCHEDRT_DK_LOCAL_QUEUE);
  put_uint(w, x->local_queue);
  put_key(w, SCHEDRT_DK_LIFO);
  put_uint(w, x->lifo);
  put_key(w, SCHEDRT_DK_DEFERRED);
  if (missing)
    put_null(w); /* a running worker's private list is not ours to read */
  else
    put_uint(w, x->deferred);
  put_key(w, SCHEDRT_DK_CURRENT);
  if (x->has_current)
    put_uint(w, x->current_id);
  else
    put_null(w);
  put_key(w, SCHEDRT_DK_RUNNING_NS);
  if (x->running_src)
    put_uint(w, x->running_ns);
  else
    put_null(w);
  put_key(w, SCHEDRT_DK_RUNNING_SRC);
  put_enum(w, schedrt_dump_source_names, SCHEDRT_DUMP_SOURCE__COUNT, x->running_src);
}

static bool queued(uint8_t state) {
  return state == SCHEDRT_DUMP_STATE_LIFO || state == SCHEDRT_DUMP_STATE_LOCAL ||
         state == SCHEDRT_DUMP_STATE_DEFERRED || state == SCHEDRT_DUMP_STATE_INJECTION;
}

/* The sites of the previous task: tasks spawned in a loop share them. */
struct site_memo {
  const char *file, *func;
  int32_t line;
  int64_t index;
  const schedrt_await_site *await;
  int64_t await_index;
};

/* One task; false when a site table could not grow. */
static bool put_task(struct cw *w, const struct schedrt__drec *x, const struct schedrt__dholders *holders,
                     uint64_t now, struct sites *spawn, struct sites *await, struct site_memo *memo) {
  int64_t si = memo->index;
  if (si < 0 || x->file != memo->file || x->func != memo->func || x->line != memo->line) {
    si = sites_index(spawn, x->file, x->func, x->line);
    memo->file = x->file;
    memo->func = x->func;
    memo->line = x->line;
    memo->index = si;
  }
  int64_t ai = memo->await_index;
  if (x->await && (ai < 0 || x->await != memo->await)) {
    ai = sites_index(await, x->await, NULL, 0);
    memo->await = x->await;
    memo->await_index = ai;
  }
  if (si < 0 || (x->await && ai < 0))
    return false;
  bool wait = x->wait > SCHEDRT_DUMP_WAIT_NONE && x->wait < SCHEDRT_DUMP_WAIT__COUNT;
  bool lost = x->state == SCHEDRT_DUMP_STATE_IDLE && x->wakers == 0 && x->timers == 0;
  char peer[SCHEDRT__PEER_MAX];
  bool io = wait && x->wait == SCHEDRT_DUMP_WAIT_IO;
  bool has_peer = io && schedrt__io_peer((int)(x->wait_arg >> 8), peer, sizeof(peer));
  /* 1.2: a mutex's or semaphore's holders; wait_for when exactly one task holds it. A notify's,
   * oneshot's or channel's holders (recorded only once the program gave them owners) are those of the
   * side that can wake the task: no wait_for, several may. */
  const struct schedrt__dholders *h = wait && x->holders ? &holders[x->holders - 1] : NULL;
  bool owner = h && (x->wait == SCHEDRT_DUMP_WAIT_MUTEX || x->wait == SCHEDRT_DUMP_WAIT_SEMAPHORE) &&
               h->n == 1 && h->more == 0 && schedrt__holder_id(h->packed[0]) != 0;
  put_map(w, 12 + (x->timers != 0) + (wait ? (io ? 3 : 2) : 0) + has_peer + lost +
                 (h ? 1 + (h->more != 0) : 0) + owner);
  put_cached(w, T_ID);
  put_uint(w, x->id);
  put_cached(w, T_NAME);
  put_str(w, x->name[0] ? x->name : NULL);
  put_cached(w, T_STATE);
  if (x->state < SCHEDRT_DUMP_STATE__COUNT)
    put_cached(w, (enum text_id)(T_STATE0 + x->state));
  else
    put_null(w);
  put_cached(w, T_WORKER);
  if (x->worker != SCHEDRT__NO_WORKER)
    put_uint(w, x->worker);
  else
    put_null(w);
  put_cached(w, T_POSITION);
  if (queued(x->state))
    put_uint(w, x->pos);
  else
    put_null(w);
  put_cached(w, T_SPAWN);
  put_uint(w, (uint64_t)si);
  put_cached(w, T_AWAIT);
  if (x->await)
    put_uint(w, (uint64_t)ai);
  else
    put_null(w);
  put_cached(w, T_POLLS);
  put_uint(w, x->polls);
  put_cached(w, T_AGE_NS);
  put_uint(w, since(now, x->spawn_ns));
  put_cached(w, T_STATE_NS);
  if (x->since_ns && x->state != SCHEDRT_DUMP_STATE_RUNNING && x->state != SCHEDRT_DUMP_STATE_COMPLETING)
    put_uint(w, since(now, x->since_ns));
  else
    put_null(w);
  put_cached(w, T_WAKERS);
  put_uint(w, x->wakers);
  put_cached(w, T_TIMERS);
  put_uint(w, x->timers);
  if (x->timers) {
    put_cached(w, T_TIMER_IN);
    put_uint(w, x->timer_deadline > now ? x->timer_deadline - now : 0);
  }
  if (wait) {
    put_cached(w, T_WAIT);
    put_str(w, schedrt_dump_wait_names[x->wait]);
    if (io) {
      put_key(w, SCHEDRT_DK_WAIT_FD);
      put_uint(w, x->wait_arg >> 8);
      put_key(w, SCHEDRT_DK_WAIT_INTEREST);
      put_str(w, (x->wait_arg & 0xffu) == 2u ? "write" : "read");
      if (has_peer) {
        put_key(w, SCHEDRT_DK_PEER);
        put_str(w, peer);
      }
    } else {
      put_cached(w, x->wait == SCHEDRT_DUMP_WAIT_JOIN ? T_WAIT_FOR : T_WAIT_OBJ);
      put_uint(w, x->wait_arg);
    }
  }
  if (owner) {
    put_cached(w, T_WAIT_FOR);
    put_uint(w, schedrt__holder_id(h->packed[0]));
  }
  if (h) {
    put_cached(w, T_HOLDERS);
    put_array(w, 2 * (size_t)h->n);
    for (uint32_t i = 0; i < h->n; i++) {
      put_uint(w, schedrt__holder_id(h->packed[i]));
      put_uint(w, schedrt__holder_permits(h->packed[i]));
    }
    if (h->more) {
      put_cached(w, T_HOLDERS_MORE);
      put_uint(w, h->more);
    }
  }
  if (lost) {
    /* Idle, and neither a waker nor a timer holds it: nothing can wake it. */
    put_cached(w, T_LOST_WAKE);
    put_bool(w, true);
  }
  return true;
}

static void put_line(struct cw *w, int32_t line) { put_uint(w, line > 0 ? (uint64_t)line : 0); }

static void put_sites(struct cw *w, const struct sites *spawn, const struct sites *await) {
  put_key(w, SCHEDRT_DK_SPAWN_SITES);
  put_array(w, spawn->n);
  for (size_t i = 0; i < spawn->n; i++) {
    const struct site *s = &spawn->list[i];
    put_map(w, 3);
    put_key(w, SCHEDRT_DK_FILE);
    put_str(w, s->a);
    put_key(w, SCHEDRT_DK_LINE);
    put_line(w, s->line);
    put_key(w, SCHEDRT_DK_FUNC);
    put_str(w, s->b);
  }
  put_key(w, SCHEDRT_DK_AWAIT_SITES);
  put_array(w, await->n);
  for (size_t i = 0; i < await->n; i++) {
    const schedrt_await_site *a = await->list[i].a;
    put_map(w, 3);
    put_key(w, SCHEDRT_DK_LABEL);
    put_str(w, a->label);
    put_key(w, SCHEDRT_DK_FILE);
    put_str(w, a->file);
    put_key(w, SCHEDRT_DK_LINE);
    put_line(w, a->line);
  }
}

/* 1.4: the event rings' last seconds (a watchdog dump of a runtime with events on). */
static void put_events(struct cw *w, const struct schedrt__ev_snap *s, uint32_t nworkers) {
  put_key(w, SCHEDRT_DK_EVENTS);
  put_map(w, 5);
  put_key(w, SCHEDRT_DK_EV_WINDOW_NS);
  put_uint(w, s->window_ns);
  put_key(w, SCHEDRT_DK_EV_COPIED);
  put_uint(w, s->copied_ns);
  put_key(w, SCHEDRT_DK_EV_RING_SIZE);
  put_uint(w, s->ring_cap);
  put_key(w, SCHEDRT_DK_EV_MAX);
  put_uint(w, s->max);
  put_key(w, SCHEDRT_DK_EV_RINGS);
  put_array(w, s->nrings);
  for (uint32_t k = 0; k < s->nrings; k++) {
    const struct schedrt__ev_snap_ring *r = &s->rings[k];
    put_map(w, 6);
    put_key(w, SCHEDRT_DK_WORKER);
    if (k < nworkers)
      put_uint(w, k);
    else
      put_null(w);
    put_key(w, SCHEDRT_DK_EV_WRITTEN);
    put_uint(w, r->win.written);
    put_key(w, SCHEDRT_DK_EV_LOST);
    put_uint(w, r->win.lost);
    put_key(w, SCHEDRT_DK_EV_TORN);
    put_uint(w, r->win.torn);
    put_key(w, SCHEDRT_DK_EV_CUT);
    put_uint(w, r->cut);
    put_key(w, SCHEDRT_DK_EV_LIST);
    put_array(w, r->n);
    for (uint32_t j = 0; j < r->n; j++) {
      const schedrt_event *e = &r->ev[j];
      put_array(w, SCHEDRT_DUMP_EV_FIELDS);
      put_uint(w, e->seq);
      put_uint(w, e->time_ns);
      put_uint(w, e->kind);
      put_uint(w, e->a);
      put_uint(w, e->b);
    }
  }
}

int schedrt__dump_encode(struct schedrt__dump *d, int fd, uint64_t *bytes) {
  const struct schedrt__dround *r = &d->round;
  struct cw w = {.fd = fd};
  struct sites spawn = {0}, await = {0};
  struct site_memo memo = {.index = -1, .await_index = -1};
  int rc = 0;
  *bytes = 0;
  pthread_once(&texts_once, texts_init);
  if (!(w.buf = malloc(BUF_SIZE)))
    return -ENOMEM;
  put_tag(&w, SCHEDRT_DUMP_SELF_DESCRIBE_TAG);
  bool events = r->ev && r->ev->nrings;
  put_map(&w, 9u + r->has_hist + events);
  put_key(&w, SCHEDRT_DK_FORMAT);
  put_str(&w, SCHEDRT_DUMP_FORMAT);
  put_key(&w, SCHEDRT_DK_VERSION);
  put_array(&w, 2);
  put_uint(&w, SCHEDRT_DUMP_MAJOR);
  put_uint(&w, SCHEDRT_DUMP_MINOR);
  put_key(&w, SCHEDRT_DK_META);
  put_meta(&w, d);
  put_key(&w, SCHEDRT_DK_WORKERS);
  put_array(&w, d->rt->nworkers);
  for (uint32_t i = 0; i < d->rt->nworkers; i++)
    put_worker(&w, r, &r->workers[i], i);
  if (r->has_hist) {
    put_key(&w, SCHEDRT_DK_HIST_BOUNDS);
    put_array(&w, SCHEDRT_HIST_BUCKETS);
    for (uint32_t i = 0; i < SCHEDRT_HIST_BUCKETS; i++)
      put_uint(&w, schedrt_hist_upper(i));
  }
  put_key(&w, SCHEDRT_DK_INJECTION);
  put_map(&w, 1);
  put_key(&w, SCHEDRT_DK_DEPTH);
  put_uint(&w, r->inject_depth);
  put_key(&w, SCHEDRT_DK_BLOCKING);
  put_map(&w, 4);
  put_key(&w, SCHEDRT_DK_BTHREADS);
  put_uint(&w, r->blocking_threads);
  put_key(&w, SCHEDRT_DK_BIDLE);
  put_uint(&w, r->blocking_idle);
  put_key(&w, SCHEDRT_DK_BMAX);
  put_uint(&w, r->blocking_max);
  put_key(&w, SCHEDRT_DK_DEPTH);
  put_uint(&w, r->blocking_queue);
  if (events)
    put_events(&w, r->ev, d->rt->nworkers);
  put_key(&w, SCHEDRT_DK_TASKS);
  put_array(&w, r->nrecs);
  for (size_t i = 0; i < r->nrecs && !w.err; i++) {
    if (!put_task(&w, &r->recs[i], r->holders, r->taken_ns, &spawn, &await, &memo)) {
      rc = -ENOMEM;
      goto out;
    }
  }
  put_sites(&w, &spawn, &await);
  cw_flush(&w);
  rc = w.err;
out:
  *bytes = w.total;
  sites_free(&spawn);
  sites_free(&await);
  free(w.buf);
  return rc;
}
