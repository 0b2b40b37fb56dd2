/*
 * A defensive reader of schedrt task dumps (docs/dump-format.md): a small
 * CBOR decoder for the subset the format uses (definite lengths only) and
 * the mapping of the known keys onto schedrt_dump_doc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt/dump_read.h"

#define MAX_DEPTH 16
#define MAX_FILE (1ull << 30)

enum {
  MT_UINT = 0,
  MT_NEG = 1,
  MT_BYTES = 2,
  MT_TEXT = 3,
  MT_ARRAY = 4,
  MT_MAP = 5,
  MT_TAG = 6,
  MT_SIMPLE = 7
};
#define SIMPLE_NULL 22u

struct cur {
  const uint8_t *p, *end;
  int depth;
  /* Strings are copied here: their total never exceeds the input's size. */
  char *arena;
  size_t used, cap;
};

/* The public struct first, so a doc pointer is also the allocation. */
struct doc {
  schedrt_dump_doc pub;
  char *arena;
};

static int head(struct cur *c, unsigned *mt, uint64_t *val) {
  if (c->p >= c->end)
    return SCHEDRT_ECORRUPT;
  uint8_t ib = *c->p++;
  unsigned ai = ib & 31u;
  *mt = ib >> 5;
  if (ai < 24) {
    *val = ai;
    return 0;
  }
  if (ai > 27)
    return SCHEDRT_ECORRUPT; /* indefinite lengths and reserved values: not in this format */
  size_t n = (size_t)1 << (ai - 24);
  if ((size_t)(c->end - c->p) < n)
    return SCHEDRT_ECORRUPT;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | c->p[i];
  c->p += n;
  *val = v;
  return 0;
}

static size_t left(const struct cur *c) { return (size_t)(c->end - c->p); }

static int skip(struct cur *c) {
  unsigned mt;
  uint64_t v;
  int rc = head(c, &mt, &v);
  if (rc)
    return rc;
  switch (mt) {
  case MT_BYTES:
  case MT_TEXT:
    if (v > left(c))
      return SCHEDRT_ECORRUPT;
    c->p += v;
    return 0;
  case MT_ARRAY:
  case MT_MAP:
    if (c->depth >= MAX_DEPTH || v > left(c))
      return SCHEDRT_ECORRUPT;
    c->depth++;
    for (uint64_t i = 0; i < (mt == MT_MAP ? 2 * v : v) && !rc; i++)
      rc = skip(c);
    c->depth--;
    return rc;
  case MT_TAG:
    if (c->depth >= MAX_DEPTH)
      return SCHEDRT_ECORRUPT;
    c->depth++;
    rc = skip(c);
    c->depth--;
    return rc;
  default:
    return 0;
  }
}

/* A container head of type mt; its count, bounded by the bytes left. */
static int open_container(struct cur *c, unsigned want, uint64_t *n) {
  unsigned mt;
  int rc = head(c, &mt, n);
  if (rc)
    return rc;
  if (mt != want || *n > left(c))
    return SCHEDRT_ECORRUPT;
  return 0;
}

static bool is_null(struct cur *c) {
  if (c->p < c->end && *c->p == ((MT_SIMPLE << 5) | SIMPLE_NULL)) {
    c->p++;
    return true;
  }
  return false;
}

static int get_uint(struct cur *c, uint64_t *out) {
  unsigned mt;
  int rc = head(c, &mt, out);
  return rc ? rc : mt == MT_UINT ? 0 : SCHEDRT_ECORRUPT;
}

/* An unsigned number or null (SCHEDRT_DUMP_NONE). */
static int get_opt(struct cur *c, int64_t *out) {
  uint64_t v;
  if (is_null(c)) {
    *out = SCHEDRT_DUMP_NONE;
    return 0;
  }
  int rc = get_uint(c, &v);
  if (rc)
    return rc;
  if (v > (uint64_t)INT64_MAX)
    return SCHEDRT_ECORRUPT;
  *out = (int64_t)v;
  return 0;
}

/* A text string (or null: *s and *n zero), pointing into the input. */
static int get_text_ref(struct cur *c, const char **s, size_t *n) {
  unsigned mt;
  uint64_t v;
  *s = NULL;
  *n = 0;
  if (is_null(c))
    return 0;
  int rc = head(c, &mt, &v);
  if (rc)
    return rc;
  if (mt != MT_TEXT || v > left(c))
    return SCHEDRT_ECORRUPT;
  *s = (const char *)c->p;
  *n = (size_t)v;
  c->p += v;
  return 0;
}

/* A text string copied into the arena, NUL-terminated (NULL for null). */
static int get_text(struct cur *c, const char **out) {
  const char *s;
  size_t n;
  int rc = get_text_ref(c, &s, &n);
  if (rc || !s) {
    *out = NULL;
    return rc;
  }
  if (c->used + n + 1 > c->cap)
    return SCHEDRT_ECORRUPT;
  char *d = c->arena + c->used;
  memcpy(d, s, n);
  d[n] = '\0';
  c->used += n + 1;
  *out = d;
  return 0;
}

/* A text from a fixed vocabulary: its index, `none` for null, `count` if unknown. */
static int get_enum(struct cur *c, const char *const *names, uint32_t first, uint32_t count, uint32_t none,
                    uint32_t *out) {
  const char *s;
  size_t n;
  int rc = get_text_ref(c, &s, &n);
  if (rc)
    return rc;
  *out = s ? count : none;
  for (uint32_t i = first; s && i < count; i++)
    if (names[i] && strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
      *out = i;
  return 0;
}

static int get_bytes16(struct cur *c, uint8_t out[16]) {
  unsigned mt;
  uint64_t v;
  int rc = head(c, &mt, &v);
  if (rc)
    return rc;
  if (mt != MT_BYTES || v > left(c))
    return SCHEDRT_ECORRUPT;
  memset(out, 0, 16);
  memcpy(out, c->p, v < 16 ? (size_t)v : 16);
  c->p += v;
  return 0;
}

static bool key_is(const char *k, size_t n, const char *want) {
  return strlen(want) == n && memcmp(k, want, n) == 0;
}

static const char *const state_names[] = {
#define X(n, t, h) t,
    SCHEDRT_DUMP_STATES(X)
#undef X
};
static const char *const role_names[] = {
#define X(n, t, h) t,
    SCHEDRT_DUMP_ROLES(X)
#undef X
};
static const char *const wstate_names[] = {
#define X(n, t, h) t,
    SCHEDRT_DUMP_WSTATES(X)
#undef X
};
static const char *const reason_names[] = {NULL,
#define X(n, t, h) t,
                                           SCHEDRT_DUMP_REASONS(X)
#undef X
};
static const char *const source_names[] = {NULL,
#define X(n, t, h) t,
                                           SCHEDRT_DUMP_SOURCES(X)
#undef X
};

/* An array of unsigned numbers into a fresh array. */
static int get_uint_list(struct cur *c, uint64_t **out, size_t *count) {
  uint64_t n;
  if (*out)
    return SCHEDRT_ECORRUPT; /* a key given twice */
  int rc = open_container(c, MT_ARRAY, &n);
  if (rc)
    return rc;
  *out = calloc(n ? n : 1, sizeof(**out));
  if (!*out)
    return -ENOMEM;
  *count = n;
  for (uint64_t i = 0; i < n && !rc; i++)
    rc = get_uint(c, &(*out)[i]);
  return rc;
}

/* Iterates a map: for each key, `one` consumes the value. */
typedef int (*entry_fn)(struct cur *c, const char *k, size_t kn, void *ctx);

static int each_entry(struct cur *c, entry_fn one, void *ctx) {
  uint64_t n;
  int rc = open_container(c, MT_MAP, &n);
  if (rc)
    return rc;
  if (c->depth >= MAX_DEPTH)
    return SCHEDRT_ECORRUPT;
  c->depth++;
  for (uint64_t i = 0; i < n && !rc; i++) {
    const char *k;
    size_t kn;
    if ((rc = get_text_ref(c, &k, &kn)))
      break;
    rc = k ? one(c, k, kn, ctx) : SCHEDRT_ECORRUPT;
  }
  c->depth--;
  return rc;
}

/* Iterates an array of maps into a fresh array of `size`-byte elements. */
static int each_item(struct cur *c, void **out, size_t *count, size_t size, void (*init)(void *),
                     entry_fn one) {
  uint64_t n;
  if (*out)
    return SCHEDRT_ECORRUPT; /* a key given twice */
  int rc = open_container(c, MT_ARRAY, &n);
  if (rc)
    return rc;
  char *a = calloc(n ? n : 1, size);
  if (!a)
    return -ENOMEM;
  *out = a;
  *count = n;
  for (uint64_t i = 0; i < n && !rc; i++) {
    init(a + i * size);
    rc = each_entry(c, one, a + i * size);
  }
  return rc;
}

/* ---------------------------------------------------------------- meta */

static int meta_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  schedrt_dump_doc *d = ctx;
  if (key_is(k, n, SCHEDRT_DK_RUNTIME))
    return get_text(c, &d->runtime);
  if (key_is(k, n, SCHEDRT_DK_RUNTIME_VERSION))
    return get_text(c, &d->runtime_version);
  if (key_is(k, n, SCHEDRT_DK_SOURCE))
    return get_text(c, &d->source);
  if (key_is(k, n, SCHEDRT_DK_LABEL))
    return get_text(c, &d->label);
  if (key_is(k, n, SCHEDRT_DK_STATUS))
    return get_text(c, &d->status);
  if (key_is(k, n, SCHEDRT_DK_NONCE))
    return get_bytes16(c, d->nonce);
  if (key_is(k, n, SCHEDRT_DK_BOOT_ID))
    return get_bytes16(c, d->boot_id);
  if (key_is(k, n, SCHEDRT_DK_COVERED))
    return get_uint_list(c, &d->covered, &d->ncovered);
  if (key_is(k, n, SCHEDRT_DK_MISSING))
    return get_uint_list(c, &d->missing, &d->nmissing);
  static const struct {
    const char *key;
    size_t off;
  } nums[] = {
      {SCHEDRT_DK_PID, offsetof(schedrt_dump_doc, pid)},
      {SCHEDRT_DK_PROC_START, offsetof(schedrt_dump_doc, proc_starttime)},
      {SCHEDRT_DK_STARTED, offsetof(schedrt_dump_doc, started_mono_ns)},
      {SCHEDRT_DK_NWORKERS, offsetof(schedrt_dump_doc, nworkers)},
      {SCHEDRT_DK_DEADLINE_MS, offsetof(schedrt_dump_doc, deadline_ms)},
      {SCHEDRT_DK_REQUESTED, offsetof(schedrt_dump_doc, requested_mono_ns)},
      {SCHEDRT_DK_TAKEN, offsetof(schedrt_dump_doc, taken_mono_ns)},
      {SCHEDRT_DK_TAKEN_REALTIME, offsetof(schedrt_dump_doc, taken_realtime_ns)},
      {SCHEDRT_DK_GATHER_NS, offsetof(schedrt_dump_doc, gather_ns)},
      {SCHEDRT_DK_PAUSE_NS, offsetof(schedrt_dump_doc, pause_ns)},
      {SCHEDRT_DK_NTASKS, offsetof(schedrt_dump_doc, task_count)},
  };
  for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
    if (key_is(k, n, nums[i].key))
      return get_uint(c, (uint64_t *)(void *)((char *)d + nums[i].off));
  return skip(c);
}

/* ------------------------------------------------------------- workers */

static void worker_init(void *p) {
  schedrt_dump_worker *w = p;
  w->role = SCHEDRT_DUMP_ROLE__COUNT;
  w->state = SCHEDRT_DUMP_WSTATE__COUNT;
  w->local_queue = w->lifo = w->deferred = w->current_task = w->running_ns = SCHEDRT_DUMP_NONE;
}

static int worker_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  schedrt_dump_worker *w = ctx;
  if (key_is(k, n, SCHEDRT_DK_INDEX))
    return get_uint(c, &w->index);
  if (key_is(k, n, SCHEDRT_DK_ROLE))
    return get_enum(c, role_names, 0, SCHEDRT_DUMP_ROLE__COUNT, SCHEDRT_DUMP_ROLE__COUNT, &w->role);
  if (key_is(k, n, SCHEDRT_DK_WSTATE))
    return get_enum(c, wstate_names, 0, SCHEDRT_DUMP_WSTATE__COUNT, SCHEDRT_DUMP_WSTATE__COUNT, &w->state);
  if (key_is(k, n, SCHEDRT_DK_REASON))
    return get_enum(c, reason_names, 1, SCHEDRT_DUMP_REASON__COUNT, SCHEDRT_DUMP_REASON_NONE, &w->reason);
  if (key_is(k, n, SCHEDRT_DK_RUNNING_SRC))
    return get_enum(c, source_names, 1, SCHEDRT_DUMP_SOURCE__COUNT, SCHEDRT_DUMP_SOURCE_NONE,
                    &w->running_src);
  if (key_is(k, n, SCHEDRT_DK_LOCAL_QUEUE))
    return get_opt(c, &w->local_queue);
  if (key_is(k, n, SCHEDRT_DK_LIFO))
    return get_opt(c, &w->lifo);
  if (key_is(k, n, SCHEDRT_DK_DEFERRED))
    return get_opt(c, &w->deferred);
  if (key_is(k, n, SCHEDRT_DK_CURRENT))
    return get_opt(c, &w->current_task);
  if (key_is(k, n, SCHEDRT_DK_RUNNING_NS))
    return get_opt(c, &w->running_ns);
  return skip(c);
}

/* --------------------------------------------------------------- tasks */

static void task_init(void *p) {
  schedrt_dump_task *t = p;
  t->state = SCHEDRT_DUMP_STATE__COUNT;
  t->worker = t->position = t->spawn = t->await = t->state_ns = SCHEDRT_DUMP_NONE;
}

static int task_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  schedrt_dump_task *t = ctx;
  if (key_is(k, n, SCHEDRT_DK_ID))
    return get_uint(c, &t->id);
  if (key_is(k, n, SCHEDRT_DK_NAME))
    return get_text(c, &t->name);
  if (key_is(k, n, SCHEDRT_DK_STATE))
    return get_enum(c, state_names, 0, SCHEDRT_DUMP_STATE__COUNT, SCHEDRT_DUMP_STATE__COUNT, &t->state);
  if (key_is(k, n, SCHEDRT_DK_WORKER))
    return get_opt(c, &t->worker);
  if (key_is(k, n, SCHEDRT_DK_POSITION))
    return get_opt(c, &t->position);
  if (key_is(k, n, SCHEDRT_DK_SPAWN))
    return get_opt(c, &t->spawn);
  if (key_is(k, n, SCHEDRT_DK_AWAIT))
    return get_opt(c, &t->await);
  if (key_is(k, n, SCHEDRT_DK_POLLS))
    return get_uint(c, &t->polls);
  if (key_is(k, n, SCHEDRT_DK_AGE_NS))
    return get_uint(c, &t->age_ns);
  if (key_is(k, n, SCHEDRT_DK_STATE_NS))
    return get_opt(c, &t->state_ns);
  return skip(c);
}

/* --------------------------------------------------------------- sites */

static void site_init(void *p) { (void)p; }

static int site_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  schedrt_dump_site *s = ctx;
  if (key_is(k, n, SCHEDRT_DK_FILE))
    return get_text(c, &s->file);
  if (key_is(k, n, SCHEDRT_DK_FUNC))
    return get_text(c, &s->func);
  if (key_is(k, n, SCHEDRT_DK_LABEL))
    return get_text(c, &s->label);
  if (key_is(k, n, SCHEDRT_DK_LINE))
    return get_uint(c, &s->line);
  return skip(c);
}

/* ----------------------------------------------------------- top level */

struct top {
  schedrt_dump_doc *d;
  bool format_ok, version_ok;
};

static int injection_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  schedrt_dump_doc *d = ctx;
  return key_is(k, n, SCHEDRT_DK_DEPTH) ? get_uint(c, &d->injection_depth) : skip(c);
}

static int top_entry(struct cur *c, const char *k, size_t n, void *ctx) {
  struct top *t = ctx;
  schedrt_dump_doc *d = t->d;
  if (key_is(k, n, SCHEDRT_DK_FORMAT)) {
    const char *s;
    size_t sn;
    int rc = get_text_ref(c, &s, &sn);
    t->format_ok = !rc && s && key_is(s, sn, SCHEDRT_DUMP_FORMAT);
    return rc;
  }
  if (key_is(k, n, SCHEDRT_DK_VERSION)) {
    uint64_t len;
    int rc = open_container(c, MT_ARRAY, &len);
    if (!rc && len < 2)
      rc = SCHEDRT_ECORRUPT;
    if (!rc)
      rc = get_uint(c, &d->major);
    if (!rc)
      rc = get_uint(c, &d->minor);
    for (uint64_t i = 2; i < len && !rc; i++)
      rc = skip(c);
    t->version_ok = !rc;
    return rc;
  }
  if (key_is(k, n, SCHEDRT_DK_META))
    return each_entry(c, meta_entry, d);
  if (key_is(k, n, SCHEDRT_DK_INJECTION))
    return each_entry(c, injection_entry, d);
  if (key_is(k, n, SCHEDRT_DK_WORKERS))
    return each_item(c, (void **)&d->workers, &d->nworkers_listed, sizeof(*d->workers), worker_init,
                     worker_entry);
  if (key_is(k, n, SCHEDRT_DK_TASKS))
    return each_item(c, (void **)&d->tasks, &d->ntasks, sizeof(*d->tasks), task_init, task_entry);
  if (key_is(k, n, SCHEDRT_DK_SPAWN_SITES))
    return each_item(c, (void **)&d->spawn_sites, &d->nspawn_sites, sizeof(*d->spawn_sites), site_init,
                     site_entry);
  if (key_is(k, n, SCHEDRT_DK_AWAIT_SITES))
    return each_item(c, (void **)&d->await_sites, &d->nawait_sites, sizeof(*d->await_sites), site_init,
                     site_entry);
  return skip(c);
}

void schedrt_dump_doc_free(schedrt_dump_doc *doc) {
  if (!doc)
    return;
  free(doc->covered);
  free(doc->missing);
  free(doc->workers);
  free(doc->tasks);
  free(doc->spawn_sites);
  free(doc->await_sites);
  free(((struct doc *)(void *)doc)->arena);
  free(doc);
}

int schedrt_dump_parse(const void *buf, size_t len, schedrt_dump_doc **out) {
  *out = NULL;
  struct doc *doc = calloc(1, sizeof(*doc));
  if (!doc)
    return -ENOMEM;
  struct cur c = {.p = buf, .end = (const uint8_t *)buf + len, .cap = len + 1};
  struct top t = {.d = &doc->pub};
  unsigned mt;
  uint64_t v;
  int rc = -ENOMEM;
  if (!(c.arena = doc->arena = malloc(c.cap)))
    goto err;
  if ((rc = head(&c, &mt, &v)))
    goto err;
  if (mt != MT_TAG || v != SCHEDRT_DUMP_SELF_DESCRIBE_TAG) {
    rc = SCHEDRT_EMAGIC;
    goto err;
  }
  if ((rc = each_entry(&c, top_entry, &t)))
    goto err;
  if (!t.format_ok) {
    rc = SCHEDRT_EMAGIC;
    goto err;
  }
  if (!t.version_ok || doc->pub.major != SCHEDRT_DUMP_MAJOR) {
    rc = SCHEDRT_EVERSION;
    goto err;
  }
  if (c.p != c.end) {
    rc = SCHEDRT_ECORRUPT; /* bytes after the dump */
    goto err;
  }
  *out = &doc->pub;
  return 0;
err:
  schedrt_dump_doc_free(&doc->pub);
  return rc;
}

int schedrt_dump_load(const char *path, schedrt_dump_doc **out) {
  struct stat st;
  *out = NULL;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int rc = fstat(fd, &st) ? -errno : 0;
  if (!rc && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE))
    rc = SCHEDRT_ECORRUPT;
  char *buf = rc ? NULL : malloc((size_t)st.st_size + 1);
  if (!rc && !buf)
    rc = -ENOMEM;
  size_t got = 0;
  while (!rc && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = n < 0 ? -errno : SCHEDRT_ECORRUPT;
    else
      got += (size_t)n;
  }
  close(fd);
  if (!rc)
    rc = schedrt_dump_parse(buf, got, out);
  free(buf);
  return rc;
}

const char *schedrt_dump_state_text(uint32_t state) {
  return state < SCHEDRT_DUMP_STATE__COUNT ? state_names[state] : "unknown";
}

const char *schedrt_dump_role_text(uint32_t role) {
  return role < SCHEDRT_DUMP_ROLE__COUNT ? role_names[role] : "unknown";
}
