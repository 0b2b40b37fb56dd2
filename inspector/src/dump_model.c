/*
 * Decoding a task dump (docs/dump-format.md) into a dump_model. The file is
 * read as a CBOR sequence: normally one tagged top-level map, but every
 * complete item before a cut is kept, so a truncated file still shows what it
 * has. Each field is looked up by its key from dump_keys.h and type-checked;
 * a missing or mistyped field leaves a default and a warning, never a crash.
 */
#include "dump_model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/proto/dump_keys.h"
#include "util.h"

#define DUMP_MAX_FILE (1ull << 30) /* a dump of a million tasks is ~100 MB */

static void warn(dump_model *m, const char *fmt, ...) {
  size_t len = strlen(m->warnings);
  if (len + 4 >= sizeof(m->warnings))
    return;
  if (len)
    len += (size_t)snprintf(m->warnings + len, sizeof(m->warnings) - len, "; ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->warnings + len, sizeof(m->warnings) - len, fmt, ap);
  va_end(ap);
}

/* ----------------------------------------------------------- CBOR access */

cbor_item_t *dump_tag_item(cbor_item_t *tag) {
  /* cbor_tag_item() takes a reference for the caller; the tag keeps its own, so
   * dropping ours at once leaves a borrowed pointer that lives as long as the tag. */
  cbor_item_t *inner = cbor_tag_item(tag), *ref = inner;
  cbor_decref(&ref);
  return inner;
}

/* Skips tag 55799 (self-describe), which may wrap any item. */
static cbor_item_t *untag(cbor_item_t *it) {
  while (it && cbor_isa_tag(it) && cbor_tag_value(it) == SCHEDRT_DUMP_SELF_DESCRIBE_TAG)
    it = dump_tag_item(it);
  return it;
}

/* The value of text key `key` in map (NULL if absent or not a map). */
static cbor_item_t *map_get(cbor_item_t *map, const char *key) {
  map = untag(map);
  if (!map || !cbor_isa_map(map))
    return NULL;
  size_t n = cbor_map_size(map), klen = strlen(key);
  struct cbor_pair *pairs = cbor_map_handle(map);
  for (size_t i = 0; i < n; i++) {
    cbor_item_t *k = pairs[i].key;
    if (k && cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == klen &&
        memcmp(cbor_string_handle(k), key, klen) == 0)
      return untag(pairs[i].value);
  }
  return NULL;
}

static int get_u64(cbor_item_t *it, uint64_t *out) {
  if (!it || !cbor_isa_uint(it))
    return -1;
  *out = cbor_get_int(it);
  return 0;
}

static int get_i64(cbor_item_t *it, int64_t *out) {
  if (!it)
    return -1;
  if (cbor_isa_uint(it)) {
    uint64_t v = cbor_get_int(it);
    *out = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    return 0;
  }
  if (cbor_isa_negint(it)) {
    uint64_t v = cbor_get_int(it); /* value is -1 - v */
    *out = v >= (uint64_t)INT64_MAX ? INT64_MIN : -1 - (int64_t)v;
    return 0;
  }
  return -1;
}

static uint64_t field_u64(cbor_item_t *map, const char *key, uint64_t def) {
  uint64_t v;
  return get_u64(map_get(map, key), &v) ? def : v;
}

static int64_t field_i64(cbor_item_t *map, const char *key, int64_t def) {
  int64_t v;
  return get_i64(map_get(map, key), &v) ? def : v;
}

/* Copies a text string (definite or chunked) into the model's pool; control bytes become '?'. */
static const char *pool_text(dump_model *m, cbor_item_t *it) {
  if (!it || !cbor_isa_string(it))
    return NULL;
  size_t len = 0;
  if (cbor_string_is_definite(it)) {
    len = cbor_string_length(it);
  } else {
    size_t nc = cbor_string_chunk_count(it);
    cbor_item_t **ch = cbor_string_chunks_handle(it);
    for (size_t i = 0; i < nc; i++)
      len += cbor_string_length(ch[i]);
  }
  if (len > 4096)
    len = 4096; /* a name or path longer than this is not worth showing whole */
  char *s = xmalloc(len + 1);
  size_t used = 0;
  if (cbor_string_is_definite(it)) {
    memcpy(s, cbor_string_handle(it), len);
    used = len;
  } else {
    size_t nc = cbor_string_chunk_count(it);
    cbor_item_t **ch = cbor_string_chunks_handle(it);
    for (size_t i = 0; i < nc && used < len; i++) {
      size_t cl = cbor_string_length(ch[i]);
      if (cl > len - used)
        cl = len - used;
      memcpy(s + used, cbor_string_handle(ch[i]), cl);
      used += cl;
    }
  }
  s[used] = '\0';
  for (size_t i = 0; i < used; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      s[i] = '?'; /* never let a dump drive the terminal */
  if (m->nstrings == m->cap_strings) {
    m->cap_strings = m->cap_strings ? m->cap_strings * 2 : 64;
    m->strings = xrealloc(m->strings, m->cap_strings * sizeof(*m->strings));
  }
  m->strings[m->nstrings++] = s;
  return s;
}

static const char *field_text(dump_model *m, cbor_item_t *map, const char *key) {
  return pool_text(m, map_get(map, key));
}

/* A known enumerated value, or "unknown" (readers must accept values from newer minors). */
static const char *field_enum(dump_model *m, cbor_item_t *map, const char *key, const char *const *known) {
  const char *t = field_text(m, map, key);
  if (!t)
    return NULL;
  for (size_t i = 0; known[i]; i++)
    if (strcmp(t, known[i]) == 0)
      return known[i];
  return "unknown";
}

#define TEXT_OF(n, t, h) t,
static const char *const state_names[] = {SCHEDRT_DUMP_STATES(TEXT_OF) NULL};
static const char *const role_names[] = {SCHEDRT_DUMP_ROLES(TEXT_OF) NULL};
static const char *const reason_names[] = {SCHEDRT_DUMP_REASONS(TEXT_OF) NULL};
static const char *const source_names[] = {SCHEDRT_DUMP_SOURCES(TEXT_OF) NULL};
#undef TEXT_OF

static size_t array_len(cbor_item_t *it) { return it && cbor_isa_array(it) ? cbor_array_size(it) : 0; }

/* ------------------------------------------------------------- sections */

static void load_meta(dump_model *m, cbor_item_t *top) {
  dump_meta *d = &m->meta;
  cbor_item_t *meta = map_get(top, SCHEDRT_DK_META);
  cbor_item_t *ver = map_get(top, SCHEDRT_DK_VERSION);
  d->format = field_text(m, top, SCHEDRT_DK_FORMAT);
  if (array_len(ver) >= 2) {
    get_u64(untag(cbor_array_handle(ver)[0]), &d->major);
    get_u64(untag(cbor_array_handle(ver)[1]), &d->minor);
  }
  if (!meta) {
    warn(m, "no meta section");
    return;
  }
  d->runtime_name = field_text(m, meta, SCHEDRT_DK_RUNTIME);
  d->runtime_version = field_text(m, meta, SCHEDRT_DK_RUNTIME_VERSION);
  d->pid = field_u64(meta, SCHEDRT_DK_PID, 0);
  d->proc_starttime = field_u64(meta, SCHEDRT_DK_PROC_START, 0);
  d->nworkers = field_u64(meta, SCHEDRT_DK_NWORKERS, 0);
  d->source = field_text(m, meta, SCHEDRT_DK_SOURCE);
  d->label = field_text(m, meta, SCHEDRT_DK_LABEL);
  d->status = field_text(m, meta, SCHEDRT_DK_STATUS);
  d->deadline_ms = field_u64(meta, SCHEDRT_DK_DEADLINE_MS, 0);
  d->taken_realtime_ns = field_u64(meta, SCHEDRT_DK_TAKEN_REALTIME, 0);
  d->gather_ns = field_u64(meta, SCHEDRT_DK_GATHER_NS, 0);
  d->pause_ns = field_u64(meta, SCHEDRT_DK_PAUSE_NS, 0);
  d->ntasks_declared = field_u64(meta, SCHEDRT_DK_NTASKS, 0);
  d->workers_covered = array_len(map_get(meta, SCHEDRT_DK_COVERED));
  d->workers_missing = array_len(map_get(meta, SCHEDRT_DK_MISSING));
  d->inject_depth = field_u64(map_get(top, SCHEDRT_DK_INJECTION), SCHEDRT_DK_DEPTH, 0);
}

/* A count that may be written as a number or as an array of task ids. */
static uint64_t count_field(cbor_item_t *map, const char *key) {
  cbor_item_t *it = map_get(map, key);
  uint64_t v = 0;
  if (it && cbor_isa_array(it))
    return cbor_array_size(it);
  if (it && (cbor_is_bool(it)))
    return cbor_get_bool(it);
  if (get_u64(it, &v) == 0)
    return v;
  return 0;
}

static void load_workers(dump_model *m, cbor_item_t *top) {
  cbor_item_t *arr = map_get(top, SCHEDRT_DK_WORKERS);
  size_t n = array_len(arr);
  if (!arr)
    warn(m, "no workers section");
  m->workers = xcalloc(n ? n : 1, sizeof(*m->workers));
  for (size_t i = 0; i < n; i++) {
    cbor_item_t *w = untag(cbor_array_handle(arr)[i]);
    dump_worker *d = &m->workers[m->nworkers];
    if (!w || !cbor_isa_map(w)) {
      warn(m, "worker entry %zu is not a map", i);
      continue;
    }
    d->index = (uint32_t)field_u64(w, SCHEDRT_DK_INDEX, i);
    d->role = field_enum(m, w, SCHEDRT_DK_ROLE, role_names);
    d->reason = field_enum(m, w, SCHEDRT_DK_REASON, reason_names);
    d->local_queue = count_field(w, SCHEDRT_DK_LOCAL_QUEUE);
    /* lifo: a task id, true/false, or null. */
    cbor_item_t *lifo = map_get(w, SCHEDRT_DK_LIFO);
    uint64_t lifo_n;
    if (get_u64(lifo, &lifo_n) == 0)
      d->lifo = lifo_n != 0; /* a count of tasks in the slot */
    else
      d->lifo = lifo && cbor_is_bool(lifo) && cbor_get_bool(lifo);
    d->deferred = count_field(w, SCHEDRT_DK_DEFERRED);
    d->current_task = field_u64(w, SCHEDRT_DK_CURRENT, 0);
    d->running_ns = field_u64(w, SCHEDRT_DK_RUNNING_NS, 0);
    d->running_source = field_enum(m, w, SCHEDRT_DK_RUNNING_SRC, source_names);
    m->nworkers++;
  }
}

/* A site (file, line, func, label) from the table by index; -1 leaves the outputs alone. */
static void site_at(dump_model *m, cbor_item_t *table, cbor_item_t *idx, const char **file, int64_t *line,
                    const char **func, const char **label) {
  uint64_t i;
  if (get_u64(idx, &i))
    return;
  if (i >= array_len(table)) {
    warn(m, "site index %llu out of range", (unsigned long long)i);
    return;
  }
  cbor_item_t *site = untag(cbor_array_handle(table)[i]);
  *file = field_text(m, site, SCHEDRT_DK_FILE);
  *line = field_i64(site, SCHEDRT_DK_LINE, 0);
  if (func)
    *func = field_text(m, site, SCHEDRT_DK_FUNC);
  if (label)
    *label = field_text(m, site, SCHEDRT_DK_LABEL);
}

static void load_tasks(dump_model *m, cbor_item_t *top) {
  cbor_item_t *arr = map_get(top, SCHEDRT_DK_TASKS);
  cbor_item_t *spawn_sites = map_get(top, SCHEDRT_DK_SPAWN_SITES);
  cbor_item_t *await_sites = map_get(top, SCHEDRT_DK_AWAIT_SITES);
  size_t n = array_len(arr);
  if (!arr)
    warn(m, "no tasks section");
  m->tasks = xcalloc(n ? n : 1, sizeof(*m->tasks));
  for (size_t i = 0; i < n; i++) {
    cbor_item_t *t = untag(cbor_array_handle(arr)[i]);
    dump_task *d = &m->tasks[m->ntasks];
    if (!t || !cbor_isa_map(t)) {
      warn(m, "task entry %zu is not a map", i);
      continue;
    }
    d->id = field_u64(t, SCHEDRT_DK_ID, 0);
    d->name = field_text(m, t, SCHEDRT_DK_NAME);
    if (!d->name)
      d->name = "";
    d->state = field_enum(m, t, SCHEDRT_DK_STATE, state_names);
    if (!d->state)
      d->state = "unknown";
    d->worker = field_i64(t, SCHEDRT_DK_WORKER, DUMP_NO_WORKER);
    d->position = field_i64(t, SCHEDRT_DK_POSITION, -1);
    site_at(m, spawn_sites, map_get(t, SCHEDRT_DK_SPAWN), &d->spawn_file, &d->spawn_line, &d->spawn_func, NULL);
    site_at(m, await_sites, map_get(t, SCHEDRT_DK_AWAIT), &d->await_file, &d->await_line, NULL, &d->await_label);
    d->polls = field_u64(t, SCHEDRT_DK_POLLS, 0);
    d->age_ns = field_u64(t, SCHEDRT_DK_AGE_NS, 0);
    d->state_ns = field_u64(t, SCHEDRT_DK_STATE_NS, 0);
    m->ntasks++;
  }
}

/* ----------------------------------------------------------------- load */

int dump_model_load_buffer(const uint8_t *data, size_t size, dump_model **out, char *err, size_t errsize) {
  dump_model *m = xcalloc(1, sizeof(*m));
  size_t off = 0, cap = 0;
  *out = NULL;
  while (off < size) {
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(data + off, size - off, &res);
    if (!it) {
      if (res.error.code == CBOR_ERR_NOTENOUGHDATA) {
        m->truncated = 1;
        warn(m, "the file is truncated at byte %zu of %zu: only the complete parts are shown", off, size);
      } else {
        warn(m, "undecodable CBOR at byte %zu (%s)", off + res.error.position,
             res.error.code == CBOR_ERR_MEMERROR ? "too large" : "malformed");
        m->truncated = 1;
      }
      break;
    }
    if (m->nitems == cap) {
      cap = cap ? cap * 2 : 4;
      m->items = xrealloc(m->items, cap * sizeof(*m->items));
    }
    m->items[m->nitems++] = it;
    off += res.read;
  }
  /* The first map is the dump; later items (a newer writer's extra sections) are kept for JSON only. */
  cbor_item_t *top = NULL;
  for (size_t i = 0; i < m->nitems && !top; i++)
    if (cbor_isa_map(untag(m->items[i])))
      top = untag(m->items[i]);
  int rc = 0;
  if (!top) {
    xsnprintf(err, errsize, "%s", size == 0 ? "empty file" : m->truncated ? "not a schedrt dump (truncated or not CBOR)"
                                                                          : "not a schedrt dump (no CBOR map)");
    rc = size && !m->nitems ? SCHEDRT_ECORRUPT : SCHEDRT_EMAGIC;
    if (size == 0)
      rc = SCHEDRT_ECORRUPT;
    goto fail;
  }
  load_meta(m, top);
  if (!m->meta.format || strcmp(m->meta.format, SCHEDRT_DUMP_FORMAT) != 0) {
    xsnprintf(err, errsize, "not a schedrt dump (format is \"%s\", expected \"%s\")",
              m->meta.format ? m->meta.format : "", SCHEDRT_DUMP_FORMAT);
    rc = SCHEDRT_EMAGIC;
    goto fail;
  }
  if (m->meta.major != SCHEDRT_DUMP_MAJOR) {
    xsnprintf(err, errsize, "dump format version %llu.%llu is not supported (this sched-inspect reads %d.x)",
              (unsigned long long)m->meta.major, (unsigned long long)m->meta.minor, SCHEDRT_DUMP_MAJOR);
    rc = SCHEDRT_EVERSION;
    goto fail;
  }
  load_workers(m, top);
  load_tasks(m, top);
  if (m->meta.ntasks_declared && m->meta.ntasks_declared != m->ntasks)
    warn(m, "meta says %llu tasks, %zu found", (unsigned long long)m->meta.ntasks_declared, m->ntasks);
  *out = m;
  return 0;
fail:
  dump_model_free(m);
  return rc;
}

int dump_model_load_file(const char *path, dump_model **out, char *err, size_t errsize) {
  struct stat st;
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    xsnprintf(err, errsize, "%s", strerror(e));
    return -e;
  }
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DUMP_MAX_FILE) {
    int e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
    xsnprintf(err, errsize, "%s", e == EFBIG ? "file too large for a dump" : "not a regular file");
    close(fd);
    return -e;
  }
  size_t size = (size_t)st.st_size, got = 0;
  uint8_t *buf = xmalloc(size ? size : 1);
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  int rc = dump_model_load_buffer(buf, got, out, err, errsize);
  free(buf);
  return rc;
}

void dump_model_free(dump_model *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->nitems; i++)
    cbor_decref(&m->items[i]);
  for (size_t i = 0; i < m->nstrings; i++)
    free(m->strings[i]);
  free(m->items);
  free(m->strings);
  free(m->workers);
  free(m->tasks);
  free(m);
}

const dump_task *dump_model_find_task(const dump_model *m, uint64_t id) {
  for (size_t i = 0; m && i < m->ntasks; i++)
    if (m->tasks[i].id == id)
      return &m->tasks[i];
  return NULL;
}
