/*
 * The decoder of schedrt task dumps (docs/dump-format.md), on libcbor's
 * streaming decoder: cbor_stream_decode() decodes one item head per call (a
 * whole number or definite string, the head of an array, map or tag) and
 * reports it through a callback. This file walks the format on top of that,
 * in one pass, and maps the known keys onto schedrt_dump_doc (tables below).
 *
 * Why not cbor_load(): libcbor 0.8 builds a tree of separately allocated items
 * (about 2 kB per task for 90 bytes of CBOR), and it allocates a definite
 * array or map from its declared count before reading a single element, so
 * nine bytes can ask for a terabyte. Here every count is checked against the
 * bytes left before anything is allocated (each element takes at least one
 * byte; a task or worker at least its required keys), nesting is bounded by
 * MAX_DEPTH, and strings are copied into one arena no larger than the input.
 * cbor_load() still runs for SCHEDRT_DUMP_KEEP_CBOR, but only on input this
 * decoder accepted: there its counts are bounded by the input and its
 * recursion (appending a finished container, cbor_decref) by MAX_DEPTH.
 */
#include <cbor.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/cbor_head.h"
#include "schedrt/dump_read.h"
#include "schedrt/proto/shm_layout.h"

#define MAX_DEPTH 16 /* the format nests 4 deep (tag, dump, tasks, task) */

/* ------------------------------------------------------ one item head */

/* -------------------------------------------------------------- cursor */

/* One step of the path to the item being read, for messages. */
struct step {
  const uint8_t *key; /* NULL: an array index */
  size_t klen, index;
};

struct cur {
  const uint8_t *start, *p, *end;
  unsigned flags;
  int depth;
  /* Strings are copied here: the bytes they need never exceed the input's. */
  char *arena;
  size_t used, cap;
  struct step path[MAX_DEPTH + 1];
  int npath;
  char *err;
  size_t errsize;
  bool failed;
};

static void push_key(struct cur *c, const uint8_t *k, size_t n) {
  c->path[c->npath++] = (struct step){.key = k, .klen = n};
}
static void push_index(struct cur *c, size_t i) { c->path[c->npath++] = (struct step){.index = i}; }
static void pop(struct cur *c) { c->npath--; }

/* Appends at most max bytes of s, each unprintable one as '?'. */
static size_t put_clean(char *buf, size_t size, size_t at, const uint8_t *s, size_t n, size_t max) {
  for (size_t i = 0; i < n && i < max && at + 1 < size; i++)
    buf[at++] = s[i] < 0x20 || s[i] >= 0x7f ? '?' : (char)s[i];
  if (n > max && at + 3 < size) {
    memcpy(buf + at, "...", 3);
    at += 3;
  }
  buf[at < size ? at : size - 1] = '\0';
  return at < size ? at : size - 1;
}

/* Records the first failure as "path: message (byte N)" and returns rc. at: NULL for no byte. */
static int fail(struct cur *c, int rc, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct cur *c, int rc, const uint8_t *at, const char *fmt, ...) {
  if (c->failed)
    return rc;
  c->failed = true;
  if (!c->err || !c->errsize)
    return rc;
  char where[192] = "", msg[256];
  size_t w = 0;
  for (int i = 0; i < c->npath && w + 1 < sizeof(where); i++) {
    const struct step *s = &c->path[i];
    if (s->key) {
      if (i)
        where[w++] = '.';
      where[w] = '\0';
      w = put_clean(where, sizeof(where), w, s->key, s->klen, 40);
    } else {
      int k = snprintf(where + w, sizeof(where) - w, "[%zu]", s->index);
      w = k > 0 && (size_t)k < sizeof(where) - w ? w + (size_t)k : sizeof(where) - 1;
    }
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char pos[48] = "";
  if (at)
    snprintf(pos, sizeof(pos), " (byte %zu)", (size_t)(at - c->start));
  snprintf(c->err, c->errsize, "%s%s%s%s", where, where[0] ? ": " : "", msg, pos);
  return rc;
}

static int nomem(struct cur *c) { return fail(c, -ENOMEM, NULL, "out of memory"); }

static size_t left(const struct cur *c) { return (size_t)(c->end - c->p); }

/* The next item head (schedrt/cbor_head.h), its refusals worded for a dump. */
static int next(struct cur *c, struct schedrt__cbor_ev *e) {
  const uint8_t *at = c->p;
  size_t read;
  int why = schedrt__cbor_head(c->p, left(c), e, &read);
  c->p += read;
  switch (why) {
  case 0:
    return 0;
  case SCHEDRT__CBOR_TRUNCATED:
    return fail(c, SCHEDRT_ECORRUPT, at,
                at >= c->end ? "truncated: the input ends where an item should start"
                             : "truncated: the input ends inside an item");
  case SCHEDRT__CBOR_MALFORMED:
    return fail(c, SCHEDRT_ECORRUPT, at, "malformed CBOR (initial byte 0x%02x)", *at);
  case SCHEDRT__CBOR_INDEFINITE:
    return fail(c, SCHEDRT_ECORRUPT, at,
                "an indefinite-length item or a break (initial byte 0x%02x): dumps use definite lengths only",
                *at);
  case SCHEDRT__CBOR_LONG_ARRAY:
    return fail(c, SCHEDRT_ECORRUPT, at,
                "truncated or corrupt: an array of %llu elements cannot fit in the %zu bytes left",
                (unsigned long long)e->v, left(c));
  case SCHEDRT__CBOR_LONG_MAP:
    return fail(c, SCHEDRT_ECORRUPT, at,
                "truncated or corrupt: a map of %llu entries cannot fit in the %zu bytes left",
                (unsigned long long)e->v, left(c));
  default:
    return fail(c, SCHEDRT_ECORRUPT, at, "a text string that is not valid UTF-8");
  }
}

static int mismatch(struct cur *c, const uint8_t *at, const struct schedrt__cbor_ev *e, const char *want) {
  return fail(c, SCHEDRT_ECORRUPT, at, "expected %s, found %s", want, schedrt__cbor_kind_names[e->kind]);
}

/* Skips one item of any kind (a key a later minor version added). */
static int skip(struct cur *c) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc || (e.kind != SCHEDRT__CBOR_ARRAY && e.kind != SCHEDRT__CBOR_MAP && e.kind != SCHEDRT__CBOR_TAG))
    return rc;
  if (c->depth >= MAX_DEPTH)
    return fail(c, SCHEDRT_ECORRUPT, at, "nested deeper than %d levels", MAX_DEPTH);
  c->depth++;
  uint64_t n = e.kind == SCHEDRT__CBOR_ARRAY ? e.v
               : e.kind == SCHEDRT__CBOR_MAP ? 2 * e.v
                                             : 1; /* 2 * v: checked by next() */
  for (uint64_t i = 0; i < n && !rc; i++)
    rc = skip(c);
  c->depth--;
  return rc;
}

/* Opens an array or a map (one level deeper: the caller closes it with depth--). */
static int open_container(struct cur *c, enum schedrt__cbor_kind want, struct schedrt__cbor_ev *e) {
  const uint8_t *at = c->p;
  int rc = next(c, e);
  if (rc)
    return rc;
  if (e->kind != want)
    return mismatch(c, at, e, schedrt__cbor_kind_names[want]);
  if (c->depth >= MAX_DEPTH)
    return fail(c, SCHEDRT_ECORRUPT, at, "nested deeper than %d levels", MAX_DEPTH);
  c->depth++;
  return 0;
}

/* --------------------------------------------------------------- values */

static int get_uint(struct cur *c, uint64_t *out) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc)
    return rc;
  if (e.kind != SCHEDRT__CBOR_UINT)
    return mismatch(c, at, &e, "an unsigned integer");
  *out = e.v;
  return 0;
}

/* An unsigned number or null (SCHEDRT_DUMP_NONE). */
static int get_opt(struct cur *c, int64_t *out) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc)
    return rc;
  if (e.kind == SCHEDRT__CBOR_NULL) {
    *out = SCHEDRT_DUMP_NONE;
    return 0;
  }
  if (e.kind != SCHEDRT__CBOR_UINT)
    return mismatch(c, at, &e, "an unsigned integer or null");
  if (e.v > (uint64_t)INT64_MAX)
    return fail(c, SCHEDRT_ECORRUPT, at, "%llu is out of range", (unsigned long long)e.v);
  *out = (int64_t)e.v;
  return 0;
}

/* A text string (or null: *s NULL), pointing into the input. */
static int get_text_ref(struct cur *c, const uint8_t **s, size_t *n) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc)
    return rc;
  if (e.kind == SCHEDRT__CBOR_NULL) {
    *s = NULL;
    *n = 0;
    return 0;
  }
  if (e.kind != SCHEDRT__CBOR_TEXT)
    return mismatch(c, at, &e, "a text string or null");
  *s = e.s;
  *n = e.n;
  return 0;
}

/* A text copied into the arena, NUL-terminated (NULL for null). */
static int get_text(struct cur *c, const char **out) {
  const uint8_t *s = NULL;
  size_t n = 0;
  int rc = get_text_ref(c, &s, &n);
  *out = NULL;
  if (rc || !s)
    return rc;
  if (n + 1 > c->cap - c->used) /* cannot happen: each text has a head byte of its own */
    return fail(c, SCHEDRT_ECORRUPT, NULL, "strings larger than the input");
  char *d = c->arena + c->used;
  memcpy(d, s, n);
  d[n] = '\0';
  c->used += n + 1;
  if (c->flags & SCHEDRT_DUMP_PRINTABLE)
    for (size_t i = 0; i < n; i++) {
      unsigned char b = (unsigned char)d[i];
      if (b < 0x20 || b == 0x7f)
        d[i] = '?';
      else if (b == 0xc2 && i + 1 < n && (unsigned char)d[i + 1] <= 0x9f) /* U+0080..U+009F (C1) */
        d[i] = d[i + 1] = '?';
    }
  *out = d;
  return 0;
}

struct names {
  const char *const *v;
  uint32_t first, count, none; /* values first..count-1; none: null; an unknown text reads as count */
};

static int get_enum(struct cur *c, const struct names *nm, uint32_t *out) {
  const uint8_t *s = NULL;
  size_t n = 0;
  int rc = get_text_ref(c, &s, &n);
  if (rc)
    return rc;
  *out = s ? nm->count : nm->none;
  for (uint32_t i = nm->first; s && i < nm->count; i++)
    if (strlen(nm->v[i]) == n && memcmp(nm->v[i], s, n) == 0)
      *out = i;
  return 0;
}

static int get_bytes16(struct cur *c, uint8_t out[16]) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc)
    return rc;
  if (e.kind != SCHEDRT__CBOR_BYTES)
    return mismatch(c, at, &e, "a byte string");
  if (e.n != 16)
    return fail(c, SCHEDRT_ECORRUPT, at, "expected 16 bytes, found %zu", e.n);
  memcpy(out, e.s, 16);
  return 0;
}

static int get_bool(struct cur *c, bool *out) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = next(c, &e);
  if (rc)
    return rc;
  if (e.kind != SCHEDRT__CBOR_BOOL)
    return mismatch(c, at, &e, "a boolean");
  *out = e.v != 0;
  return 0;
}

/* An array of unsigned numbers into a fresh array. */
static int get_uints(struct cur *c, uint64_t **out, size_t *count) {
  struct schedrt__cbor_ev e;
  int rc = open_container(c, SCHEDRT__CBOR_ARRAY, &e);
  if (rc)
    return rc;
  /* e.v <= bytes left (next()): the allocation is bounded by the input. */
  if (!(*out = calloc(e.v ? e.v : 1, sizeof(**out)))) {
    c->depth--;
    return nomem(c);
  }
  *count = e.v;
  for (uint64_t i = 0; i < e.v && !rc; i++) {
    push_index(c, i);
    rc = get_uint(c, &(*out)[i]);
    pop(c);
  }
  c->depth--;
  return rc;
}

/* ------------------------------------------------------- maps by table */

enum fkind {
  F_UINT,    /* uint64_t */
  F_OPT,     /* int64_t: unsigned or null */
  F_TEXT,    /* const char *: text or null */
  F_BYTES16, /* uint8_t[16] */
  F_UINTS,   /* uint64_t * at off, size_t count at off2 */
  F_ENUM,    /* uint32_t, one of names */
  F_BOOL,    /* bool */
  F_CUSTOM,  /* fn */
};

struct field {
  const char *key;
  enum fkind kind;
  bool required;
  size_t off, off2;
  const struct names *names;
  int (*fn)(struct cur *c, void *base);
};

struct table {
  const struct field *f;
  size_t n; /* at most 64: the seen mask */
  size_t elem_size;
  void (*init)(void *elem);
};

/* Which field k is, trying the writer's order first (hint: the last one + 1); n if unknown. */
static size_t lookup(const struct table *t, const uint8_t *k, size_t kn, size_t hint) {
  for (size_t j = 0; j < t->n; j++) {
    size_t i = (hint + j) % t->n;
    if (strlen(t->f[i].key) == kn && memcmp(t->f[i].key, k, kn) == 0)
      return i;
  }
  return t->n;
}

static int get_field(struct cur *c, const struct field *f, void *base) {
  char *p = (char *)base + f->off;
  switch (f->kind) {
  case F_UINT:
    return get_uint(c, (uint64_t *)(void *)p);
  case F_OPT:
    return get_opt(c, (int64_t *)(void *)p);
  case F_TEXT:
    return get_text(c, (const char **)(void *)p);
  case F_BYTES16:
    return get_bytes16(c, (uint8_t *)p);
  case F_UINTS:
    return get_uints(c, (uint64_t **)(void *)p, (size_t *)(void *)((char *)base + f->off2));
  case F_ENUM:
    return get_enum(c, f->names, (uint32_t *)(void *)p);
  case F_BOOL:
    return get_bool(c, (bool *)(void *)p);
  case F_CUSTOM:
    return f->fn(c, base);
  }
  return SCHEDRT_ECORRUPT;
}

/* A map: known keys into base, each at most once; unknown keys skipped. *seen: which keys came. */
static int get_map(struct cur *c, const struct table *t, void *base, uint64_t *seen) {
  struct schedrt__cbor_ev e;
  int rc = open_container(c, SCHEDRT__CBOR_MAP, &e);
  if (rc)
    return rc;
  size_t hint = 0;
  *seen = 0;
  for (uint64_t i = 0; i < e.v && !rc; i++) {
    const uint8_t *s = NULL, *at = c->p;
    size_t n = 0;
    struct schedrt__cbor_ev k;
    if ((rc = next(c, &k)))
      break;
    if (k.kind != SCHEDRT__CBOR_TEXT) {
      rc = fail(c, SCHEDRT_ECORRUPT, at, "a map key is %s, not a text string",
                schedrt__cbor_kind_names[k.kind]);
      break;
    }
    s = k.s;
    n = k.n;
    size_t j = lookup(t, s, n, hint);
    push_key(c, s, n);
    if (j == t->n) {
      rc = skip(c);
    } else if (*seen & (1ull << j)) {
      rc = fail(c, SCHEDRT_ECORRUPT, at, "the key is given twice");
    } else {
      *seen |= 1ull << j;
      hint = j + 1;
      rc = get_field(c, &t->f[j], base);
    }
    pop(c);
  }
  c->depth--;
  return rc;
}

static int check_required(struct cur *c, const struct table *t, uint64_t seen, const uint8_t *at) {
  for (size_t j = 0; j < t->n; j++)
    if (t->f[j].required && !(seen & (1ull << j)))
      return fail(c, SCHEDRT_ECORRUPT, at, "no \"%s\" key", t->f[j].key);
  return 0;
}

static int get_map_checked(struct cur *c, const struct table *t, void *base) {
  const uint8_t *at = c->p;
  uint64_t seen;
  int rc = get_map(c, t, base, &seen);
  return rc ? rc : check_required(c, t, seen, at);
}

/* An array of maps of table t into a fresh array. */
static int get_list(struct cur *c, const struct table *t, void **out, size_t *count) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, SCHEDRT__CBOR_ARRAY, &e);
  if (rc)
    return rc;
  /* The least an element takes: its map head and its required keys with one-byte values. */
  size_t least = 1;
  for (size_t j = 0; j < t->n; j++)
    if (t->f[j].required)
      least += 2 + strlen(t->f[j].key);
  if (e.v > left(c) / least) {
    c->depth--;
    return fail(c, SCHEDRT_ECORRUPT, at,
                "truncated or corrupt: %llu entries cannot fit in the %zu bytes left",
                (unsigned long long)e.v, left(c));
  }
  char *a = calloc(e.v ? e.v : 1, t->elem_size);
  if (!a) {
    c->depth--;
    return nomem(c);
  }
  *out = a;
  *count = e.v;
  for (uint64_t i = 0; i < e.v && !rc; i++) {
    push_index(c, i);
    if (t->init)
      t->init(a + i * t->elem_size);
    rc = get_map_checked(c, t, a + i * t->elem_size);
    pop(c);
  }
  c->depth--;
  return rc;
}

/* ------------------------------------------------------------- vocabulary */

static const char *const state_names[] = {
#define X(n, t, h) t,
    SCHEDRT_DUMP_STATES(X)
#undef X
};

static const struct names states = {state_names, 0, SCHEDRT_DUMP_STATE__COUNT, SCHEDRT_DUMP_STATE__COUNT};
static const struct names roles = {schedrt_dump_role_names, 0, SCHEDRT_DUMP_ROLE__COUNT,
                                   SCHEDRT_DUMP_ROLE__COUNT};
static const struct names wstates = {schedrt_worker_state_names, 0, SCHEDRT_WSTATE__COUNT,
                                     SCHEDRT_WSTATE__COUNT};
static const struct names reasons = {schedrt_dump_reason_names, 1, SCHEDRT_DUMP_REASON__COUNT,
                                     SCHEDRT_DUMP_REASON_NONE};
static const struct names sources = {schedrt_dump_source_names, 1, SCHEDRT_DUMP_SOURCE__COUNT,
                                     SCHEDRT_DUMP_SOURCE_NONE};
static const struct names waits = {schedrt_dump_wait_names, 1, SCHEDRT_DUMP_WAIT__COUNT,
                                   SCHEDRT_DUMP_WAIT_NONE};
static const struct names bt_results = {schedrt_dump_bt_result_names, 1, SCHEDRT_DUMP_BT__COUNT,
                                        SCHEDRT_DUMP_BT_NONE};

/* ---------------------------------------------------------------- tables */

#define OFF(type, m) offsetof(type, m)
#define DOC(m) OFF(schedrt_dump_doc, m)

static const struct field meta_fields[] = {
    {SCHEDRT_DK_RUNTIME, F_TEXT, false, DOC(runtime), 0, NULL, NULL},
    {SCHEDRT_DK_RUNTIME_VERSION, F_TEXT, false, DOC(runtime_version), 0, NULL, NULL},
    {SCHEDRT_DK_PID, F_UINT, false, DOC(pid), 0, NULL, NULL},
    {SCHEDRT_DK_PROC_START, F_UINT, false, DOC(proc_starttime), 0, NULL, NULL},
    {SCHEDRT_DK_BOOT_ID, F_BYTES16, false, DOC(boot_id), 0, NULL, NULL},
    {SCHEDRT_DK_STARTED, F_UINT, false, DOC(started_mono_ns), 0, NULL, NULL},
    {SCHEDRT_DK_NWORKERS, F_UINT, false, DOC(nworkers), 0, NULL, NULL},
    {SCHEDRT_DK_SOURCE, F_TEXT, false, DOC(source), 0, NULL, NULL},
    {SCHEDRT_DK_LABEL, F_TEXT, false, DOC(label), 0, NULL, NULL},
    {SCHEDRT_DK_NONCE, F_BYTES16, false, DOC(nonce), 0, NULL, NULL},
    {SCHEDRT_DK_STATUS, F_TEXT, false, DOC(status), 0, NULL, NULL},
    {SCHEDRT_DK_DEADLINE_MS, F_UINT, false, DOC(deadline_ms), 0, NULL, NULL},
    {SCHEDRT_DK_REQUESTED, F_UINT, false, DOC(requested_mono_ns), 0, NULL, NULL},
    {SCHEDRT_DK_TAKEN, F_UINT, false, DOC(taken_mono_ns), 0, NULL, NULL},
    {SCHEDRT_DK_TAKEN_REALTIME, F_UINT, false, DOC(taken_realtime_ns), 0, NULL, NULL},
    {SCHEDRT_DK_GATHER_NS, F_UINT, false, DOC(gather_ns), 0, NULL, NULL},
    {SCHEDRT_DK_PAUSE_NS, F_UINT, false, DOC(pause_ns), 0, NULL, NULL},
    {SCHEDRT_DK_ROUNDS, F_UINT, false, DOC(gather_rounds), 0, NULL, NULL},
    {SCHEDRT_DK_COVERED, F_UINTS, false, DOC(covered), DOC(ncovered), NULL, NULL},
    {SCHEDRT_DK_MISSING, F_UINTS, false, DOC(missing), DOC(nmissing), NULL, NULL},
    /* Required: it is how a reader checks that it got every task. */
    {SCHEDRT_DK_NTASKS, F_UINT, true, DOC(task_count), 0, NULL, NULL},
};
static const struct table meta_table = {meta_fields, sizeof(meta_fields) / sizeof(meta_fields[0]), 0, NULL};

static const struct field injection_fields[] = {
    {SCHEDRT_DK_DEPTH, F_UINT, false, DOC(injection_depth), 0, NULL, NULL},
};
static const struct table injection_table = {injection_fields, 1, 0, NULL};

static const struct field blocking_fields[] = {
    {SCHEDRT_DK_BTHREADS, F_OPT, false, DOC(blocking_threads), 0, NULL, NULL},
    {SCHEDRT_DK_BIDLE, F_OPT, false, DOC(blocking_idle), 0, NULL, NULL},
    {SCHEDRT_DK_BMAX, F_OPT, false, DOC(blocking_max), 0, NULL, NULL},
    {SCHEDRT_DK_DEPTH, F_OPT, false, DOC(blocking_queue), 0, NULL, NULL},
};
static const struct table blocking_table = {blocking_fields,
                                            sizeof(blocking_fields) / sizeof(blocking_fields[0]), 0, NULL};

#define W(m) OFF(schedrt_dump_worker, m)
#define FR(m) OFF(schedrt_dump_frame, m)
static const struct field frame_fields[] = {
    {SCHEDRT_DK_BT_IP, F_UINT, true, FR(ip), 0, NULL, NULL},
    {SCHEDRT_DK_BT_MODULE, F_TEXT, false, FR(module), 0, NULL, NULL},
    {SCHEDRT_DK_BT_MODULE_OFFSET, F_OPT, false, FR(module_offset), 0, NULL, NULL},
    {SCHEDRT_DK_BT_SYMBOL, F_TEXT, false, FR(symbol), 0, NULL, NULL},
    {SCHEDRT_DK_BT_SYMBOL_OFFSET, F_OPT, false, FR(symbol_offset), 0, NULL, NULL},
};
static void frame_init(void *p) {
  schedrt_dump_frame *f = p;
  f->module_offset = f->symbol_offset = SCHEDRT_DUMP_NONE;
}
static const struct table frame_table = {frame_fields, sizeof(frame_fields) / sizeof(frame_fields[0]),
                                         sizeof(schedrt_dump_frame), frame_init};

/* 1.3: at most SCHEDRT_DUMP_BT_MAX_FRAMES frames, each a map with its ip. */
static int bt_frames(struct cur *c, void *base) {
  schedrt_dump_worker *w = base;
  const uint8_t *at = c->p;
  int rc = get_list(c, &frame_table, (void **)&w->bt_frames, &w->bt_nframes);
  if (!rc && w->bt_nframes > SCHEDRT_DUMP_BT_MAX_FRAMES)
    rc = fail(c, SCHEDRT_ECORRUPT, at, "%zu frames (at most %d)", w->bt_nframes, SCHEDRT_DUMP_BT_MAX_FRAMES);
  return rc;
}

/* The backtrace map's keys land in the worker itself. */
static const struct field bt_fields[] = {
    {SCHEDRT_DK_BT_RESULT, F_ENUM, true, W(bt_result), 0, &bt_results, NULL},
    {SCHEDRT_DK_BT_WHY, F_TEXT, false, W(bt_why), 0, NULL, NULL},
    {SCHEDRT_DK_BT_SIGNAL, F_OPT, false, W(bt_signal), 0, NULL, NULL},
    {SCHEDRT_DK_BT_WAIT_NS, F_OPT, false, W(bt_wait_ns), 0, NULL, NULL},
    {SCHEDRT_DK_BT_TRUNCATED, F_BOOL, false, W(bt_truncated), 0, NULL, NULL},
    {SCHEDRT_DK_BT_FRAMES, F_CUSTOM, false, 0, 0, NULL, bt_frames},
};
static const struct table bt_table = {bt_fields, sizeof(bt_fields) / sizeof(bt_fields[0]), 0, NULL};

static int worker_backtrace(struct cur *c, void *base) {
  int rc = get_map_checked(c, &bt_table, base);
  /* "result": null reads as no backtrace; a map that is there has one. */
  schedrt_dump_worker *w = base;
  if (!rc && w->bt_result == SCHEDRT_DUMP_BT_NONE)
    w->bt_result = SCHEDRT_DUMP_BT__COUNT;
  return rc;
}

static const struct field worker_fields[] = {
    {SCHEDRT_DK_INDEX, F_UINT, true, W(index), 0, NULL, NULL},
    {SCHEDRT_DK_ROLE, F_ENUM, true, W(role), 0, &roles, NULL},
    {SCHEDRT_DK_WSTATE, F_ENUM, false, W(state), 0, &wstates, NULL},
    {SCHEDRT_DK_REASON, F_ENUM, false, W(reason), 0, &reasons, NULL},
    {SCHEDRT_DK_LOCAL_QUEUE, F_OPT, false, W(local_queue), 0, NULL, NULL},
    {SCHEDRT_DK_LIFO, F_OPT, false, W(lifo), 0, NULL, NULL},
    {SCHEDRT_DK_DEFERRED, F_OPT, false, W(deferred), 0, NULL, NULL},
    {SCHEDRT_DK_CURRENT, F_OPT, false, W(current_task), 0, NULL, NULL},
    {SCHEDRT_DK_RUNNING_NS, F_OPT, false, W(running_ns), 0, NULL, NULL},
    {SCHEDRT_DK_RUNNING_SRC, F_ENUM, false, W(running_src), 0, &sources, NULL},
    {SCHEDRT_DK_TID, F_OPT, false, W(tid), 0, NULL, NULL},
    {SCHEDRT_DK_HELD_NS, F_OPT, false, W(held_ns), 0, NULL, NULL},
    {SCHEDRT_DK_BACKTRACE, F_CUSTOM, false, 0, 0, NULL, worker_backtrace},
#define SCHEDRT__HIST_FIELD(id, kind, off, type, unit, help, pub)                                            \
  {#id,                                                                                                      \
   F_UINTS,                                                                                                  \
   false,                                                                                                    \
   W(hist[SCHEDRT_M_##id - SCHEDRT_M__HIST_FIRST]),                                                          \
   W(nhist[SCHEDRT_M_##id - SCHEDRT_M__HIST_FIRST]),                                                         \
   NULL,                                                                                                     \
   NULL},
    SCHEDRT_HIST_METRICS(SCHEDRT__HIST_FIELD)
#undef SCHEDRT__HIST_FIELD
};
static void worker_init(void *p) {
  schedrt_dump_worker *w = p;
  w->role = SCHEDRT_DUMP_ROLE__COUNT;
  w->state = SCHEDRT_WSTATE__COUNT;
  w->local_queue = w->lifo = w->deferred = w->current_task = w->running_ns = w->tid = w->held_ns =
      SCHEDRT_DUMP_NONE;
  w->bt_result = SCHEDRT_DUMP_BT_NONE;
  w->bt_signal = w->bt_wait_ns = SCHEDRT_DUMP_NONE;
}
static const struct table worker_table = {worker_fields, sizeof(worker_fields) / sizeof(worker_fields[0]),
                                          sizeof(schedrt_dump_worker), worker_init};

#define T(m) OFF(schedrt_dump_task, m)
static const struct field task_fields[] = {
    {SCHEDRT_DK_ID, F_UINT, true, T(id), 0, NULL, NULL},
    {SCHEDRT_DK_NAME, F_TEXT, false, T(name), 0, NULL, NULL},
    {SCHEDRT_DK_STATE, F_ENUM, true, T(state), 0, &states, NULL},
    {SCHEDRT_DK_WORKER, F_OPT, false, T(worker), 0, NULL, NULL},
    {SCHEDRT_DK_POSITION, F_OPT, false, T(position), 0, NULL, NULL},
    {SCHEDRT_DK_SPAWN, F_OPT, false, T(spawn), 0, NULL, NULL},
    {SCHEDRT_DK_AWAIT, F_OPT, false, T(await), 0, NULL, NULL},
    {SCHEDRT_DK_POLLS, F_UINT, false, T(polls), 0, NULL, NULL},
    {SCHEDRT_DK_AGE_NS, F_UINT, false, T(age_ns), 0, NULL, NULL},
    {SCHEDRT_DK_STATE_NS, F_OPT, false, T(state_ns), 0, NULL, NULL},
    {SCHEDRT_DK_WAKERS, F_UINT, false, T(wakers), 0, NULL, NULL},
    {SCHEDRT_DK_TIMERS, F_UINT, false, T(timers), 0, NULL, NULL},
    {SCHEDRT_DK_TIMER_IN_NS, F_OPT, false, T(timer_in_ns), 0, NULL, NULL},
    {SCHEDRT_DK_WAIT, F_ENUM, false, T(wait), 0, &waits, NULL},
    {SCHEDRT_DK_WAIT_FOR, F_OPT, false, T(wait_for), 0, NULL, NULL},
    {SCHEDRT_DK_WAIT_OBJECT, F_OPT, false, T(wait_object), 0, NULL, NULL},
    {SCHEDRT_DK_WAIT_FD, F_OPT, false, T(wait_fd), 0, NULL, NULL},
    {SCHEDRT_DK_WAIT_INTEREST, F_TEXT, false, T(wait_interest), 0, NULL, NULL},
    {SCHEDRT_DK_PEER, F_TEXT, false, T(peer), 0, NULL, NULL},
    {SCHEDRT_DK_LOST_WAKE, F_BOOL, false, T(lost_wake), 0, NULL, NULL},
    {SCHEDRT_DK_HOLDERS, F_UINTS, false, T(holders), T(nholders), NULL, NULL},
    {SCHEDRT_DK_HOLDERS_MORE, F_UINT, false, T(holders_more), 0, NULL, NULL},
};
static void task_init(void *p) {
  schedrt_dump_task *t = p;
  t->state = SCHEDRT_DUMP_STATE__COUNT;
  t->worker = t->position = t->spawn = t->await = t->state_ns = SCHEDRT_DUMP_NONE;
  t->timer_in_ns = t->wait_for = t->wait_object = t->wait_fd = SCHEDRT_DUMP_NONE;
}
static const struct table task_table = {task_fields, sizeof(task_fields) / sizeof(task_fields[0]),
                                        sizeof(schedrt_dump_task), task_init};

#define S(m) OFF(schedrt_dump_site, m)
static const struct field site_fields[] = {
    {SCHEDRT_DK_FILE, F_TEXT, false, S(file), 0, NULL, NULL},
    {SCHEDRT_DK_LINE, F_UINT, false, S(line), 0, NULL, NULL},
    {SCHEDRT_DK_FUNC, F_TEXT, false, S(func), 0, NULL, NULL},
    {SCHEDRT_DK_LABEL, F_TEXT, false, S(label), 0, NULL, NULL},
};
static const struct table site_table = {site_fields, sizeof(site_fields) / sizeof(site_fields[0]),
                                        sizeof(schedrt_dump_site), NULL};

/* 1.4: the events of a watchdog dump. */
#define ER(m) OFF(schedrt_dump_ev_ring, m)

/* One event: [seq, time_mono_ns, kind, a, b] (numbers a later minor adds after them are skipped). */
static int ev_one(struct cur *c, schedrt_event *ev) {
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, SCHEDRT__CBOR_ARRAY, &e);
  if (rc)
    return rc;
  uint64_t v[SCHEDRT_DUMP_EV_FIELDS];
  if (e.v < SCHEDRT_DUMP_EV_FIELDS)
    rc = fail(c, SCHEDRT_ECORRUPT, at, "an event of %llu numbers: [seq, time_mono_ns, kind, a, b]",
              (unsigned long long)e.v);
  for (uint64_t i = 0; i < e.v && !rc; i++)
    rc = i < SCHEDRT_DUMP_EV_FIELDS ? get_uint(c, &v[i]) : skip(c);
  c->depth--;
  if (rc)
    return rc;
  /* The kind is the record's byte: 1 to 255 (events_def.h). */
  if (v[2] == 0 || v[2] > 255)
    return fail(c, SCHEDRT_ECORRUPT, at, "event kind %llu (1 to 255)", (unsigned long long)v[2]);
  *ev = (schedrt_event){.seq = v[0], .time_ns = v[1], .kind = (uint32_t)v[2], .a = v[3], .b = v[4]};
  return 0;
}

static int ev_list(struct cur *c, void *base) {
  schedrt_dump_ev_ring *r = base;
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, SCHEDRT__CBOR_ARRAY, &e);
  if (rc)
    return rc;
  /* Bounded before the allocation: by the format's cap, and by the input (an event takes at least its
   * array head and five one-byte numbers). */
  if (e.v > SCHEDRT_DUMP_EV_MAX || e.v > left(c) / (1u + SCHEDRT_DUMP_EV_FIELDS)) {
    c->depth--;
    return fail(c, SCHEDRT_ECORRUPT, at,
                "%llu events in a ring (at most %d, and what the %zu bytes left hold)",
                (unsigned long long)e.v, SCHEDRT_DUMP_EV_MAX, left(c));
  }
  if (!(r->events = calloc(e.v ? e.v : 1, sizeof(*r->events)))) {
    c->depth--;
    return nomem(c);
  }
  r->nevents = e.v;
  for (uint64_t i = 0; i < e.v && !rc; i++) {
    push_index(c, i);
    const uint8_t *ev_at = c->p;
    rc = ev_one(c, &r->events[i]);
    /* A reader may then take them as the ring's order: oldest first, no repeats. */
    if (!rc && i && r->events[i].seq <= r->events[i - 1].seq)
      rc = fail(c, SCHEDRT_ECORRUPT, ev_at, "event seq %llu after %llu: events are oldest first",
                (unsigned long long)r->events[i].seq, (unsigned long long)r->events[i - 1].seq);
    pop(c);
  }
  c->depth--;
  return rc;
}

static const struct field ev_ring_fields[] = {
    {SCHEDRT_DK_WORKER, F_OPT, false, ER(worker), 0, NULL, NULL},
    {SCHEDRT_DK_EV_WRITTEN, F_UINT, false, ER(written), 0, NULL, NULL},
    {SCHEDRT_DK_EV_LOST, F_UINT, false, ER(lost), 0, NULL, NULL},
    {SCHEDRT_DK_EV_TORN, F_UINT, false, ER(torn), 0, NULL, NULL},
    {SCHEDRT_DK_EV_CUT, F_UINT, false, ER(cut), 0, NULL, NULL},
    {SCHEDRT_DK_EV_LIST, F_CUSTOM, true, 0, 0, NULL, ev_list},
};
static void ev_ring_init(void *p) { ((schedrt_dump_ev_ring *)p)->worker = SCHEDRT_DUMP_NONE; }
static const struct table ev_ring_table = {ev_ring_fields, sizeof(ev_ring_fields) / sizeof(ev_ring_fields[0]),
                                           sizeof(schedrt_dump_ev_ring), ev_ring_init};

static int ev_rings(struct cur *c, void *base) {
  schedrt_dump_doc *d = base;
  int rc = get_list(c, &ev_ring_table, (void **)&d->ev_rings, &d->nev_rings);
  for (size_t i = 0; !rc && i < d->nev_rings; i++)
    for (size_t j = 0; j < d->ev_rings[i].nevents; j++)
      d->ev_rings[i].events[j].ring = (uint32_t)i;
  return rc;
}

static const struct field events_fields[] = {
    {SCHEDRT_DK_EV_WINDOW_NS, F_UINT, false, DOC(ev_window_ns), 0, NULL, NULL},
    {SCHEDRT_DK_EV_COPIED, F_UINT, false, DOC(ev_copied_mono_ns), 0, NULL, NULL},
    {SCHEDRT_DK_EV_RING_SIZE, F_UINT, false, DOC(ev_ring_size), 0, NULL, NULL},
    {SCHEDRT_DK_EV_MAX, F_UINT, false, DOC(ev_max), 0, NULL, NULL},
    {SCHEDRT_DK_EV_RINGS, F_CUSTOM, true, 0, 0, NULL, ev_rings},
};
static const struct table events_table = {events_fields, sizeof(events_fields) / sizeof(events_fields[0]), 0,
                                          NULL};

/* ------------------------------------------------------------- top level */

struct top {
  schedrt_dump_doc *d;
  bool format_seen;
};

static int top_format(struct cur *c, void *base) {
  struct top *t = base;
  const uint8_t *s = NULL, *at = c->p;
  size_t n = 0;
  int rc = get_text_ref(c, &s, &n);
  if (rc)
    return rc;
  t->format_seen = true;
  if (!s || n != strlen(SCHEDRT_DUMP_FORMAT) || memcmp(s, SCHEDRT_DUMP_FORMAT, n) != 0) {
    char got[64] = "null";
    if (s)
      put_clean(got, sizeof(got), 0, s, n, 40);
    return fail(c, SCHEDRT_EMAGIC, at, "not a schedrt dump: the format is \"%s\", not \"%s\"", got,
                SCHEDRT_DUMP_FORMAT);
  }
  return 0;
}

/* Exactly [major, minor] (the format has no third component: a later minor
 * adds keys, not version parts); a major we do not know stops here, before
 * its layout is misread. */
static int top_version(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  struct schedrt__cbor_ev e;
  const uint8_t *at = c->p;
  int rc = open_container(c, SCHEDRT__CBOR_ARRAY, &e);
  if (rc)
    return rc;
  if (e.v != 2)
    rc = fail(c, SCHEDRT_ECORRUPT, at, "expected [major, minor], got an array of %llu",
              (unsigned long long)e.v);
  if (!rc)
    rc = get_uint(c, &d->major);
  if (!rc)
    rc = get_uint(c, &d->minor);
  if (!rc && d->major != SCHEDRT_DUMP_MAJOR)
    rc = fail(c, SCHEDRT_EVERSION, at, "format version %llu.%llu is not supported (this reader knows %d.x)",
              (unsigned long long)d->major, (unsigned long long)d->minor, SCHEDRT_DUMP_MAJOR);
  for (uint64_t i = 2; i < e.v && !rc; i++)
    rc = skip(c);
  c->depth--;
  return rc;
}

static int top_meta(struct cur *c, void *base) {
  return get_map_checked(c, &meta_table, ((struct top *)base)->d);
}
static int top_injection(struct cur *c, void *base) {
  return get_map_checked(c, &injection_table, ((struct top *)base)->d);
}
static int top_blocking(struct cur *c, void *base) {
  return get_map_checked(c, &blocking_table, ((struct top *)base)->d);
}
static int top_workers(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  return get_list(c, &worker_table, (void **)&d->workers, &d->nworkers_listed);
}
static int top_tasks(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  return get_list(c, &task_table, (void **)&d->tasks, &d->ntasks);
}
static int top_spawn_sites(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  return get_list(c, &site_table, (void **)&d->spawn_sites, &d->nspawn_sites);
}
static int top_await_sites(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  return get_list(c, &site_table, (void **)&d->await_sites, &d->nawait_sites);
}

static int top_events(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  d->has_events = true;
  return get_map_checked(c, &events_table, d);
}

static int top_hist_bounds(struct cur *c, void *base) {
  schedrt_dump_doc *d = ((struct top *)base)->d;
  return get_uints(c, &d->hist_bounds, &d->nhist_bounds);
}

/* format and version are checked by the caller (EMAGIC, EVERSION), the rest are required. */
static const struct field top_fields[] = {
    {SCHEDRT_DK_FORMAT, F_CUSTOM, false, 0, 0, NULL, top_format},
    {SCHEDRT_DK_VERSION, F_CUSTOM, false, 0, 0, NULL, top_version},
    {SCHEDRT_DK_META, F_CUSTOM, true, 0, 0, NULL, top_meta},
    {SCHEDRT_DK_WORKERS, F_CUSTOM, true, 0, 0, NULL, top_workers},
    {SCHEDRT_DK_INJECTION, F_CUSTOM, true, 0, 0, NULL, top_injection},
    {SCHEDRT_DK_TASKS, F_CUSTOM, true, 0, 0, NULL, top_tasks},
    {SCHEDRT_DK_SPAWN_SITES, F_CUSTOM, true, 0, 0, NULL, top_spawn_sites},
    {SCHEDRT_DK_AWAIT_SITES, F_CUSTOM, true, 0, 0, NULL, top_await_sites},
    {SCHEDRT_DK_HIST_BOUNDS, F_CUSTOM, false, 0, 0, NULL, top_hist_bounds},
    {SCHEDRT_DK_BLOCKING, F_CUSTOM, false, 0, 0, NULL, top_blocking},
    {SCHEDRT_DK_EVENTS, F_CUSTOM, false, 0, 0, NULL, top_events},
};
static const struct table top_table = {top_fields, sizeof(top_fields) / sizeof(top_fields[0]), 0, NULL};

struct id_at {
  uint64_t id;
  size_t index;
};

static int by_id(const void *a, const void *b) {
  const struct id_at *x = a, *y = b;
  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

/* A task id names one task: the alive list holds each task once, so a
 * repeated id is a damaged dump (and would make a waits-for edge ambiguous). */
static int check_unique_ids(struct cur *c, const schedrt_dump_doc *d) {
  if (d->ntasks < 2)
    return 0;
  struct id_at *v = malloc(d->ntasks * sizeof(*v));
  if (!v)
    return nomem(c);
  for (size_t i = 0; i < d->ntasks; i++)
    v[i] = (struct id_at){d->tasks[i].id, i};
  qsort(v, d->ntasks, sizeof(*v), by_id);
  int rc = 0;
  for (size_t i = 1; i < d->ntasks && !rc; i++)
    if (v[i].id == v[i - 1].id)
      rc = fail(c, SCHEDRT_ECORRUPT, NULL, "tasks[%zu] and tasks[%zu] have the same id %llu", v[i - 1].index,
                v[i].index, (unsigned long long)v[i].id);
  free(v);
  return rc;
}

/* Each event ring is a worker's (listed) or the other threads', each at most once. */
static int check_ev_rings(struct cur *c, const schedrt_dump_doc *d) {
  if (!d->nev_rings)
    return 0;
  if (d->nev_rings > d->nworkers_listed + 1)
    return fail(c, SCHEDRT_ECORRUPT, NULL, "%zu event rings for %zu workers (at most one more)", d->nev_rings,
                d->nworkers_listed);
  /* seen[nworkers_listed]: the other threads' ring. */
  uint8_t *seen = calloc(d->nworkers_listed + 1, 1);
  if (!seen)
    return nomem(c);
  int rc = 0;
  for (size_t i = 0; i < d->nev_rings && !rc; i++) {
    int64_t w = d->ev_rings[i].worker;
    size_t k = w == SCHEDRT_DUMP_NONE ? d->nworkers_listed : (size_t)w;
    if (w != SCHEDRT_DUMP_NONE && (uint64_t)w >= d->nworkers_listed)
      rc = fail(c, SCHEDRT_ECORRUPT, NULL, "events.rings[%zu].worker is %lld, but there are %zu workers", i,
                (long long)w, d->nworkers_listed);
    else if (seen[k]++)
      rc = fail(c, SCHEDRT_ECORRUPT, NULL, "events.rings[%zu]: a second ring of the same %s", i,
                w == SCHEDRT_DUMP_NONE ? "other threads" : "worker");
  }
  free(seen);
  return rc;
}

/* Every index points into its table, so that a reader can follow it without a check. */
static int check_refs(struct cur *c, const schedrt_dump_doc *d) {
  if (d->task_count != d->ntasks)
    return fail(c, SCHEDRT_ECORRUPT, NULL, "meta.task_count is %llu, but tasks lists %zu",
                (unsigned long long)d->task_count, d->ntasks);
  if (d->nhist_bounds > SCHEDRT_SHM_MAX_BUCKETS)
    return fail(c, SCHEDRT_ECORRUPT, NULL, "%zu histogram buckets (at most %u)", d->nhist_bounds,
                SCHEDRT_SHM_MAX_BUCKETS);
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    if (d->workers[i].index != i)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "workers[%zu].index is %llu: workers are listed in index order",
                  i, (unsigned long long)d->workers[i].index);
    /* A histogram reads against the bounds: same length, or the reader would index past one. */
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      if (d->workers[i].hist[h] && d->workers[i].nhist[h] != d->nhist_bounds)
        return fail(c, SCHEDRT_ECORRUPT, NULL, "workers[%zu]: a histogram of %zu buckets, %zu bounds", i,
                    d->workers[i].nhist[h], d->nhist_bounds);
  }
  for (size_t i = 0; i < d->ncovered + d->nmissing; i++) {
    bool cov = i < d->ncovered;
    uint64_t w = cov ? d->covered[i] : d->missing[i - d->ncovered];
    if (w >= d->nworkers_listed)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "meta.%s[%zu] is worker %llu, but there are %zu workers",
                  cov ? SCHEDRT_DK_COVERED : SCHEDRT_DK_MISSING, cov ? i : i - d->ncovered,
                  (unsigned long long)w, d->nworkers_listed);
  }
  if (d->nev_rings > d->nworkers_listed + 1)
    return fail(c, SCHEDRT_ECORRUPT, NULL, "%zu event rings for %zu workers (at most one more)", d->nev_rings,
                d->nworkers_listed);
  int rc = check_ev_rings(c, d);
  if (rc)
    return rc;
  rc = check_unique_ids(c, d);
  if (rc)
    return rc;
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    if (t->spawn != SCHEDRT_DUMP_NONE && (uint64_t)t->spawn >= d->nspawn_sites)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "tasks[%zu].spawn is %lld, but there are %zu spawn sites", i,
                  (long long)t->spawn, d->nspawn_sites);
    if (t->await != SCHEDRT_DUMP_NONE && (uint64_t)t->await >= d->nawait_sites)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "tasks[%zu].await is %lld, but there are %zu await sites", i,
                  (long long)t->await, d->nawait_sites);
    if (t->worker != SCHEDRT_DUMP_NONE && (uint64_t)t->worker >= d->nworkers_listed)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "tasks[%zu].worker is %lld, but there are %zu workers", i,
                  (long long)t->worker, d->nworkers_listed);
    if (t->nholders % 2)
      return fail(c, SCHEDRT_ECORRUPT, NULL, "tasks[%zu].holders has %zu numbers: (id, permits) pairs", i,
                  t->nholders);
  }
  return 0;
}

/* The public struct first, so a doc pointer is also the allocation. */
struct doc {
  schedrt_dump_doc pub;
  char *arena;
};

void schedrt_dump_doc_free(schedrt_dump_doc *doc) {
  if (!doc)
    return;
  if (doc->cbor)
    cbor_decref(&doc->cbor);
  free(doc->covered);
  free(doc->missing);
  for (size_t i = 0; doc->workers && i < doc->nworkers_listed; i++) {
    for (size_t h = 0; h < SCHEDRT_M__HIST_COUNT; h++)
      free(doc->workers[i].hist[h]);
    free(doc->workers[i].bt_frames);
  }
  free(doc->workers);
  free(doc->hist_bounds);
  for (size_t i = 0; doc->tasks && i < doc->ntasks; i++)
    free(doc->tasks[i].holders);
  free(doc->tasks);
  free(doc->spawn_sites);
  free(doc->await_sites);
  for (size_t i = 0; doc->ev_rings && i < doc->nev_rings; i++)
    free(doc->ev_rings[i].events);
  free(doc->ev_rings);
  free(((struct doc *)(void *)doc)->arena);
  free(doc);
}

static int decode(struct cur *c, schedrt_dump_doc *d) {
  struct top t = {.d = d};
  struct schedrt__cbor_ev e;
  int rc;
  d->blocking_threads = d->blocking_idle = d->blocking_max = d->blocking_queue = SCHEDRT_DUMP_NONE;
  if (c->p == c->end)
    return fail(c, SCHEDRT_ECORRUPT, NULL, "empty input");
  /* Not even a tag (major type 6): whatever it is, it is not a dump (its counts do not matter). */
  bool tag = (*c->p >> 5) == 6;
  if (tag && (rc = next(c, &e)))
    return rc; /* a cut tag head */
  if (!tag || e.v != SCHEDRT_DUMP_SELF_DESCRIBE_TAG)
    return fail(c, SCHEDRT_EMAGIC, NULL,
                "not a schedrt dump: it does not open with the self-described CBOR tag (d9 d9 f7)");
  c->depth++;
  const uint8_t *at = c->p;
  if ((rc = next(c, &e)))
    return rc;
  if (e.kind != SCHEDRT__CBOR_MAP)
    return fail(c, SCHEDRT_EMAGIC, at, "not a schedrt dump: the tagged item is %s, not a map",
                schedrt__cbor_kind_names[e.kind]);
  c->p = at; /* get_map reads the head again */
  uint64_t seen;
  if ((rc = get_map(c, &top_table, &t, &seen)))
    return rc;
  if (!t.format_seen)
    return fail(c, SCHEDRT_EMAGIC, NULL, "not a schedrt dump: no \"%s\" key", SCHEDRT_DK_FORMAT);
  if (!(seen & (1ull << 1))) /* top_fields[1] */
    return fail(c, SCHEDRT_EVERSION, NULL, "no \"%s\" key", SCHEDRT_DK_VERSION);
  if ((rc = check_required(c, &top_table, seen, NULL)))
    return rc;
  c->depth--;
  if (c->p != c->end)
    return fail(c, SCHEDRT_ECORRUPT, c->p, "%zu bytes after the dump", left(c));
  return check_refs(c, d);
}

int schedrt_dump_parse_ex(const void *buf, size_t len, unsigned flags, schedrt_dump_doc **out, char *err,
                          size_t errsize) {
  *out = NULL;
  if (err && errsize)
    err[0] = '\0';
  struct cur c = {.start = buf,
                  .p = buf,
                  .end = (const uint8_t *)buf + len,
                  .flags = flags,
                  .err = err,
                  .errsize = errsize};
  if (!buf && len)
    return fail(&c, -EINVAL, NULL, "no input");
  if (len > SCHEDRT_DUMP_MAX_SIZE)
    return fail(&c, SCHEDRT_ECORRUPT, NULL, "%zu bytes: larger than a dump can be", len);
  struct doc *doc = calloc(1, sizeof(*doc));
  if (!doc)
    return nomem(&c);
  c.cap = len + 1;
  int rc = (c.arena = doc->arena = malloc(c.cap)) ? decode(&c, &doc->pub) : nomem(&c);
  if (!rc && (flags & SCHEDRT_DUMP_KEEP_CBOR)) {
    struct cbor_load_result lr;
    doc->pub.cbor = cbor_load(buf, len, &lr);
    if (!doc->pub.cbor)
      rc = lr.error.code == CBOR_ERR_MEMERROR ? nomem(&c)
                                              : fail(&c, SCHEDRT_ECORRUPT, c.start + lr.error.position,
                                                     "libcbor cannot load it (error %d)", (int)lr.error.code);
    else if (lr.read != len)
      rc = fail(&c, SCHEDRT_ECORRUPT, NULL, "libcbor read %zu of %zu bytes", lr.read, len);
  }
  if (rc) {
    schedrt_dump_doc_free(&doc->pub);
    return rc;
  }
  *out = &doc->pub;
  return 0;
}

int schedrt_dump_parse(const void *buf, size_t len, schedrt_dump_doc **out) {
  return schedrt_dump_parse_ex(buf, len, 0, out, NULL, 0);
}

static const char *not_regular_text(mode_t mode) {
  if (S_ISFIFO(mode))
    return "not a regular file but a FIFO";
  if (S_ISDIR(mode))
    return "not a regular file but a directory";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "not a regular file but a device";
  if (S_ISSOCK(mode))
    return "not a regular file but a socket";
  return "not a regular file";
}

static int load_fail(char *err, size_t errsize, int rc, const char *what) {
  if (err && errsize)
    snprintf(err, errsize, "%s", what);
  return rc;
}

int schedrt_dump_load_ex(const char *path, unsigned flags, schedrt_dump_doc **out, char *err,
                         size_t errsize) {
  struct stat st;
  *out = NULL;
  /* O_NONBLOCK: a FIFO without a writer would block the open for ever; it is refused below. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (flags & SCHEDRT_DUMP_FOLLOW ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    int e = errno;
    return load_fail(err, errsize, -e,
                     e == ELOOP && !(flags & SCHEDRT_DUMP_FOLLOW) ? "a symbolic link (refused)"
                                                                  : strerror(e));
  }
  if (fstat(fd, &st)) {
    int e = errno;
    close(fd);
    return load_fail(err, errsize, -e, strerror(e));
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SCHEDRT_DUMP_MAX_SIZE) {
    close(fd);
    return load_fail(err, errsize, SCHEDRT_ECORRUPT,
                     S_ISREG(st.st_mode) ? "larger than 1 GiB: not a dump" : not_regular_text(st.st_mode));
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = malloc(size ? size : 1);
  if (!buf) {
    close(fd);
    return load_fail(err, errsize, -ENOMEM, "out of memory");
  }
  int rc = 0;
  while (!rc && got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      rc = load_fail(err, errsize, -errno, strerror(errno));
    else if (n == 0)
      rc = load_fail(err, errsize, SCHEDRT_ECORRUPT, "the file shrank while it was read");
    else
      got += (size_t)n;
  }
  close(fd);
  if (!rc)
    rc = schedrt_dump_parse_ex(buf, got, flags & ~(unsigned)SCHEDRT_DUMP_FOLLOW, out, err, errsize);
  free(buf);
  return rc;
}

int schedrt_dump_load(const char *path, schedrt_dump_doc **out) {
  return schedrt_dump_load_ex(path, 0, out, NULL, 0);
}

/* -------------------------------------------------------------- helpers */

const schedrt_dump_site *schedrt_dump_spawn_site(const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  return t->spawn >= 0 && (uint64_t)t->spawn < d->nspawn_sites ? &d->spawn_sites[t->spawn] : NULL;
}

const schedrt_dump_site *schedrt_dump_await_site(const schedrt_dump_doc *d, const schedrt_dump_task *t) {
  return t->await >= 0 && (uint64_t)t->await < d->nawait_sites ? &d->await_sites[t->await] : NULL;
}

const schedrt_dump_task *schedrt_dump_find_task(const schedrt_dump_doc *d, uint64_t id) {
  for (size_t i = 0; d && i < d->ntasks; i++)
    if (d->tasks[i].id == id)
      return &d->tasks[i];
  return NULL;
}

const char *schedrt_dump_state_text(uint32_t state) {
  return state < SCHEDRT_DUMP_STATE__COUNT ? state_names[state] : "unknown";
}

const char *schedrt_dump_role_text(uint32_t role) {
  return role < SCHEDRT_DUMP_ROLE__COUNT ? schedrt_dump_role_names[role] : "unknown";
}

const char *schedrt_dump_wstate_text(uint32_t wstate) {
  return wstate < SCHEDRT_WSTATE__COUNT ? schedrt_worker_state_names[wstate] : "unknown";
}

const char *schedrt_dump_wait_text(uint32_t wait) {
  if (wait == SCHEDRT_DUMP_WAIT_NONE)
    return NULL;
  return wait < SCHEDRT_DUMP_WAIT__COUNT ? schedrt_dump_wait_names[wait] : "unknown";
}

const char *schedrt_dump_reason_text(uint32_t reason) {
  return reason == SCHEDRT_DUMP_REASON_NONE    ? NULL
         : reason < SCHEDRT_DUMP_REASON__COUNT ? schedrt_dump_reason_names[reason]
                                               : "unknown";
}

const char *schedrt_dump_bt_result_text(uint32_t result) {
  return result == SCHEDRT_DUMP_BT_NONE    ? NULL
         : result < SCHEDRT_DUMP_BT__COUNT ? schedrt_dump_bt_result_names[result]
                                           : "unknown";
}

const char *schedrt_dump_source_text(uint32_t source) {
  return source == SCHEDRT_DUMP_SOURCE_NONE    ? NULL
         : source < SCHEDRT_DUMP_SOURCE__COUNT ? schedrt_dump_source_names[source]
                                               : "unknown";
}
