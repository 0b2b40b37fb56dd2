/*
 * The one dump decoder (common/src/dump_read.c, on libcbor's streaming
 * decoder) on real dumps and on hostile ones: every truncation, flipped bytes
 * (with and without the kept libcbor tree), another tag, another format,
 * another major version, absurd counts, deep nesting, indefinite lengths,
 * repeated keys, wrong types, indexes out of range, bad UTF-8; each with a
 * message saying where. Plus what a newer minor version may do (unknown keys
 * and values), the flags, and loading files.
 */
#include <cbor.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reliability.h"
#include "test_dump_util.h"

#define ALL_FLAGS (SCHEDRT_DUMP_KEEP_CBOR | SCHEDRT_DUMP_PRINTABLE)

static schedrt_poll idle_task(schedrt_task *t, void *arg) {
  (void)arg;
  schedrt_await(t, "forever");
  return SCHEDRT_PENDING;
}

/* A real dump of a runtime with a few idle tasks, in memory. */
static unsigned char *real_dump(size_t *len) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(&cfg, &rt), 0);
  for (int i = 0; i < 20; i++)
    cr_assert_eq(schedrt_spawn_ex(rt, idle_task, NULL, &(schedrt_spawn_opts){.name = "idler"}, NULL), 0);
  int fd = memfd_create("d", MFD_CLOEXEC);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_fd(rt, fd, &(schedrt_dump_opts){.label = "reader"}, &res), 0);
  schedrt_runtime_destroy(rt);
  *len = (size_t)lseek(fd, 0, SEEK_END);
  unsigned char *buf = malloc(*len);
  cr_assert_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
  close(fd);
  return buf;
}

static unsigned char *find(unsigned char *buf, size_t len, const void *pat, size_t n) {
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, pat, n) == 0)
      return buf + i;
  return NULL;
}

Test(dump_read, a_real_dump) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  schedrt_dump_doc *d;
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), 0);
  cr_assert_eq(d->major, SCHEDRT_DUMP_MAJOR);
  cr_assert_eq(d->ntasks, 20);
  cr_assert_str_eq(d->label, "reader");
  cr_assert_str_eq(d->source, "api");
  cr_assert_str_eq(d->runtime_version, SCHEDRT_VERSION_STRING);
  cr_assert_null(tdu_check(d, 2), "%s", tdu_check(d, 2));
  cr_assert_leq(d->nawait_sites, 1, "once polled, all wait at one place");
  if (d->nawait_sites)
    cr_assert_str_eq(d->await_sites[0].label, "forever");
  for (size_t i = 0; i < d->ntasks; i++) {
    cr_assert_str_eq(d->tasks[i].name, "idler");
    /* Idle once polled; queued (or on their way) if not yet. */
    cr_assert_neq(d->tasks[i].state, SCHEDRT_DUMP_STATE_RUNNING);
    cr_assert_neq(d->tasks[i].state, SCHEDRT_DUMP_STATE__COUNT);
    cr_assert_str_neq(schedrt_dump_state_text(d->tasks[i].state), "unknown");
  }
  schedrt_dump_doc_free(d);
  free(buf);
}

Test(dump_read, every_truncation_fails_cleanly) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  for (size_t n = 0; n < len; n++) {
    schedrt_dump_doc *d = (schedrt_dump_doc *)1;
    char err[256] = "";
    unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
    memcpy(copy, buf, n);
    int rc = schedrt_dump_parse_ex(copy, n, n % 2 ? ALL_FLAGS : 0, &d, err, sizeof(err));
    cr_assert(rc == SCHEDRT_ECORRUPT || rc == SCHEDRT_EMAGIC, "prefix %zu: %d", n, rc);
    cr_assert_null(d);
    cr_assert(n < 3 || strstr(err, "truncated") != NULL, "prefix %zu: %s", n, err);
    free(copy);
  }
  RELIABILITY("dump: every proper prefix of a real dump (truncated file)", len,
              "all refused (ECORRUPT/EMAGIC, \"truncated\"), no crash, exact-size buffers under ASan");
  free(buf);
}

Test(dump_read, flipped_bytes_never_crash) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  unsigned char *copy = malloc(len);
  srand(4);
  int ok = 0;
  for (int round = 0; round < 3000; round++) {
    memcpy(copy, buf, len);
    for (int k = 0; k < 1 + round % 4; k++)
      copy[(size_t)rand() % len] = (unsigned char)rand();
    schedrt_dump_doc *d;
    char err[256] = "";
    /* Every other round with the libcbor tree kept: cbor_load then runs on what was accepted. */
    int rc = schedrt_dump_parse_ex(copy, len, round % 2 ? ALL_FLAGS : 0, &d, err, sizeof(err));
    if (rc == 0) {
      ok++; /* a flip inside a string or number can stay valid */
      cr_assert(!(round % 2) || d->cbor, "the tree is kept");
      schedrt_dump_doc_free(d);
    } else {
      cr_assert(rc == SCHEDRT_ECORRUPT || rc == SCHEDRT_EMAGIC || rc == SCHEDRT_EVERSION, "%d", rc);
      cr_assert(err[0], "round %d: no message", round);
    }
  }
  cr_log_info("%d of 3000 flipped dumps still decode", ok);
  RELIABILITY("dump: 1-4 random bytes replaced in a real dump", 3000,
              "%d decoded, %d refused with a message, no crash", ok, 3000 - ok);
  free(copy);
  free(buf);
}

Test(dump_read, not_a_dump) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  schedrt_dump_doc *d;
  unsigned char *f = find(buf, len, "schedrt-dump", 12);
  cr_assert_not_null(f);
  f[11] = 'q';
  char err[256];
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, 0, &d, err, sizeof(err)), SCHEDRT_EMAGIC,
               "another format name");
  cr_assert(strstr(err, "\"schedrt-dumq\"") != NULL, "%s", err);
  f[11] = 'p';
  buf[2] = 0xf6; /* tag 55798 */
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), SCHEDRT_EMAGIC, "another tag");
  buf[2] = 0xf7;
  cr_assert_eq(schedrt_dump_parse("\xa0", 1, &d), SCHEDRT_EMAGIC, "no tag");
  cr_assert_eq(schedrt_dump_parse("\x9b\x00\x00\x00\x20\x00\x00\x00\x00", 9, &d), SCHEDRT_EMAGIC,
               "no tag: whatever it declares");
  cr_assert_eq(schedrt_dump_parse("\xd9\xd9", 2, &d), SCHEDRT_ECORRUPT, "a cut tag");
  cr_assert_eq(schedrt_dump_parse(buf, 0, &d), SCHEDRT_ECORRUPT);
  free(buf);
}

Test(dump_read, another_major_version) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  unsigned char *v = find(buf, len, "\x67version\x82\x01", 10);
  cr_assert_not_null(v);
  v[9] = 0x02;
  v[10] = 0x00;
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, 0, &d, err, sizeof(err)), SCHEDRT_EVERSION);
  cr_assert(strstr(err, "version 2.0 is not supported") != NULL, "%s", err);
  v[10] = 0x07; /* a later minor: fine */
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), SCHEDRT_EVERSION);
  v[9] = 0x01;
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), 0);
  cr_assert_eq(d->minor, 7u);
  schedrt_dump_doc_free(d);
  v[10] = 0x00;
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), 0);
  schedrt_dump_doc_free(d);
  free(buf);
}

Test(dump_read, absurd_counts_and_nesting) {
  schedrt_dump_doc *d;
  /* tag, map of 1: "tasks": array of 2^63 elements. */
  static const unsigned char huge[] = {0xd9, 0xd9, 0xf7, 0xa1, 0x65, 't', 'a', 's', 'k', 's',
                                       0x9b, 0x80, 0,    0,    0,    0,   0,   0,   0};
  cr_assert_eq(schedrt_dump_parse(huge, sizeof(huge), &d), SCHEDRT_ECORRUPT);
  /* An unknown key holding arrays nested 1000 deep. */
  unsigned char deep[1100] = {0xd9, 0xd9, 0xf7, 0xa1, 0x61, 'z'};
  memset(deep + 6, 0x81, 1000);
  deep[1006] = 0x00;
  cr_assert_eq(schedrt_dump_parse(deep, 1007, &d), SCHEDRT_ECORRUPT);
  /* Indefinite lengths are not part of the format. */
  static const unsigned char indef[] = {0xd9, 0xd9, 0xf7, 0xbf, 0xff};
  cr_assert_eq(schedrt_dump_parse(indef, sizeof(indef), &d), SCHEDRT_ECORRUPT);
  /* A list given twice. */
  static const unsigned char twice[] = {0xd9, 0xd9, 0xf7, 0xa2, 0x65, 't', 'a', 's', 'k',
                                        's',  0x80, 0x65, 't',  'a',  's', 'k', 's', 0x80};
  cr_assert_eq(schedrt_dump_parse(twice, sizeof(twice), &d), SCHEDRT_ECORRUPT);
}

/* ------------------------------------------------ dumps built with libcbor */

static void put(cbor_item_t *map, const char *k, cbor_item_t *v) {
  cr_assert(
      cbor_map_add(map, (struct cbor_pair){.key = cbor_move(cbor_build_string(k)), .value = cbor_move(v)}));
}

static cbor_item_t *uints(int n, ...) {
  va_list ap;
  cbor_item_t *a = cbor_new_definite_array((size_t)n);
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    cbor_array_push(a, cbor_move(cbor_build_uint64((uint64_t)va_arg(ap, int))));
  va_end(ap);
  return a;
}

/* The value of key in map (borrowed), or NULL. */
static cbor_item_t *get(cbor_item_t *map, const char *key) {
  struct cbor_pair *p = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); i++)
    if (cbor_string_length(p[i].key) == strlen(key) &&
        memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0)
      return p[i].value;
  return NULL;
}

/* Replaces the value of key in map (takes v). */
static void set(cbor_item_t *map, const char *key, cbor_item_t *v) {
  struct cbor_pair *p = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); i++)
    if (cbor_string_length(p[i].key) == strlen(key) &&
        memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0) {
      cbor_decref(&p[i].value);
      p[i].value = v;
      return;
    }
  cr_assert_fail("no key %s", key);
}

/* The smallest complete dump: two workers, two tasks, one spawn and one await site. Untagged. */
static cbor_item_t *mini(void) {
  cbor_item_t *top = cbor_new_definite_map(16);
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  put(top, SCHEDRT_DK_VERSION, uints(2, SCHEDRT_DUMP_MAJOR, SCHEDRT_DUMP_MINOR));
  cbor_item_t *meta = cbor_new_definite_map(32);
  put(meta, SCHEDRT_DK_RUNTIME, cbor_build_string("mini"));
  put(meta, SCHEDRT_DK_NWORKERS, cbor_build_uint8(2));
  put(meta, SCHEDRT_DK_COVERED, uints(1, 0));
  put(meta, SCHEDRT_DK_MISSING, uints(1, 1));
  put(meta, SCHEDRT_DK_NTASKS, cbor_build_uint8(2));
  put(top, SCHEDRT_DK_META, meta);
  cbor_item_t *workers = cbor_new_definite_array(2);
  for (int i = 0; i < 2; i++) {
    cbor_item_t *w = cbor_new_definite_map(16);
    put(w, SCHEDRT_DK_INDEX, cbor_build_uint8((uint8_t)i));
    put(w, SCHEDRT_DK_ROLE, cbor_build_string(i ? "missing" : "held"));
    put(w, SCHEDRT_DK_REASON, i ? cbor_build_string("polling") : cbor_new_null());
    put(w, SCHEDRT_DK_CURRENT, i ? cbor_build_uint8(2) : cbor_new_null());
    cbor_array_push(workers, cbor_move(w));
  }
  put(top, SCHEDRT_DK_WORKERS, workers);
  cbor_item_t *inj = cbor_new_definite_map(4);
  put(inj, SCHEDRT_DK_DEPTH, cbor_build_uint8(0));
  put(top, SCHEDRT_DK_INJECTION, inj);
  cbor_item_t *tasks = cbor_new_definite_array(2);
  for (int i = 0; i < 2; i++) {
    cbor_item_t *t = cbor_new_definite_map(16);
    put(t, SCHEDRT_DK_ID, cbor_build_uint8((uint8_t)(i + 1)));
    put(t, SCHEDRT_DK_NAME, i ? cbor_new_null() : cbor_build_string("first"));
    put(t, SCHEDRT_DK_STATE, cbor_build_string(i ? "running" : "idle"));
    put(t, SCHEDRT_DK_WORKER, i ? cbor_build_uint8(1) : cbor_new_null());
    put(t, SCHEDRT_DK_SPAWN, cbor_build_uint8(0));
    put(t, SCHEDRT_DK_AWAIT, i ? cbor_new_null() : cbor_build_uint8(0));
    put(t, SCHEDRT_DK_STATE_NS, i ? cbor_new_null() : cbor_build_uint32(5000));
    cbor_array_push(tasks, cbor_move(t));
  }
  put(top, SCHEDRT_DK_TASKS, tasks);
  cbor_item_t *ss = cbor_new_definite_array(1), *s = cbor_new_definite_map(4);
  put(s, SCHEDRT_DK_FILE, cbor_build_string("main.c"));
  put(s, SCHEDRT_DK_LINE, cbor_build_uint8(7));
  put(s, SCHEDRT_DK_FUNC, cbor_build_string("main"));
  cbor_array_push(ss, cbor_move(s));
  put(top, SCHEDRT_DK_SPAWN_SITES, ss);
  cbor_item_t *as = cbor_new_definite_array(1), *a = cbor_new_definite_map(4);
  put(a, SCHEDRT_DK_LABEL, cbor_build_string("wait here"));
  put(a, SCHEDRT_DK_FILE, cbor_new_null());
  put(a, SCHEDRT_DK_LINE, cbor_build_uint8(9));
  cbor_array_push(as, cbor_move(a));
  put(top, SCHEDRT_DK_AWAIT_SITES, as);
  return top;
}

static cbor_item_t *task_at(cbor_item_t *top, size_t i) {
  return cbor_array_handle(get(top, SCHEDRT_DK_TASKS))[i];
}
static cbor_item_t *worker_at(cbor_item_t *top, size_t i) {
  return cbor_array_handle(get(top, SCHEDRT_DK_WORKERS))[i];
}

/* Tags and serializes top (consumed); decodes it with flags. The code; message in err. */
static int decode_item(cbor_item_t *top, unsigned flags, schedrt_dump_doc **d, char *err, size_t errsize) {
  cbor_item_t *tag = cbor_build_tag(SCHEDRT_DUMP_SELF_DESCRIBE_TAG, top);
  cbor_decref(&top);
  unsigned char *buf = NULL;
  size_t cap, len = cbor_serialize_alloc(tag, &buf, &cap);
  cbor_decref(&tag);
  cr_assert(len > 0);
  int rc = schedrt_dump_parse_ex(buf, len, flags, d, err, errsize);
  free(buf);
  return rc;
}

/* Expects top to be refused with rc and a message containing want. */
static void refused(cbor_item_t *top, int rc, const char *want) {
  schedrt_dump_doc *d = (schedrt_dump_doc *)1;
  char err[256] = "";
  cr_expect_eq(decode_item(top, ALL_FLAGS, &d, err, sizeof(err)), rc, "%s", err);
  cr_expect_null(d);
  cr_expect(strstr(err, want) != NULL, "wanted \"%s\" in \"%s\"", want, err);
}

Test(dump_read, a_built_dump_and_the_helpers) {
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(decode_item(mini(), SCHEDRT_DUMP_KEEP_CBOR, &d, err, sizeof(err)), 0, "%s", err);
  cr_assert_null(tdu_check(d, 2), "%s", tdu_check(d, 2));
  cr_expect_str_eq(d->runtime, "mini");
  cr_expect_null(d->label, "absent: NULL");
  const schedrt_dump_task *t1 = schedrt_dump_find_task(d, 1), *t2 = schedrt_dump_find_task(d, 2);
  cr_assert(t1 && t2);
  cr_expect_str_eq(t1->name, "first");
  cr_expect_null(t2->name);
  cr_expect_eq(t1->state, SCHEDRT_DUMP_STATE_IDLE);
  cr_expect_eq(t1->state_ns, 5000);
  cr_expect_eq(t2->state_ns, SCHEDRT_DUMP_NONE);
  cr_expect_eq(t2->worker, 1);
  cr_expect_str_eq(schedrt_dump_spawn_site(d, t2)->func, "main");
  cr_expect_str_eq(schedrt_dump_await_site(d, t1)->label, "wait here");
  cr_expect_null(schedrt_dump_await_site(d, t1)->file);
  cr_expect_null(schedrt_dump_await_site(d, t2));
  cr_expect_eq(d->workers[1].role, SCHEDRT_DUMP_ROLE_MISSING);
  cr_expect_str_eq(schedrt_dump_reason_text(d->workers[1].reason), "polling");
  cr_expect_null(schedrt_dump_reason_text(d->workers[0].reason));
  cr_expect_eq(d->workers[0].local_queue, SCHEDRT_DUMP_NONE, "absent");
  cr_expect_str_eq(schedrt_dump_wstate_text(d->workers[0].state), "unknown", "absent");
  cr_expect_null(schedrt_dump_source_text(d->workers[0].running_src));
  /* The kept tree is the whole dump, tag and all. */
  cr_assert_not_null(d->cbor);
  cr_expect(cbor_isa_tag(d->cbor) && cbor_tag_value(d->cbor) == SCHEDRT_DUMP_SELF_DESCRIBE_TAG);
  schedrt_dump_doc_free(d);
}

Test(dump_read, what_a_newer_minor_may_do) {
  cbor_item_t *top = mini();
  set(top, SCHEDRT_DK_VERSION, uints(2, SCHEDRT_DUMP_MAJOR, 9));
  put(top, "later_section", uints(3, 1, 2, 3));
  put(get(top, SCHEDRT_DK_META), "later_meta", cbor_build_tag(1, cbor_move(cbor_build_float8(1.5))));
  put(task_at(top, 0), "later_task_key", cbor_build_negint8(4));
  set(task_at(top, 1), SCHEDRT_DK_STATE, cbor_build_string("teleporting"));
  set(worker_at(top, 1), SCHEDRT_DK_REASON, cbor_build_string("on_holiday"));
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(d->minor, 9u);
  cr_expect_eq(d->tasks[1].state, SCHEDRT_DUMP_STATE__COUNT);
  cr_expect_str_eq(schedrt_dump_state_text(d->tasks[1].state), "unknown");
  cr_expect_str_eq(schedrt_dump_reason_text(d->workers[1].reason), "unknown");
  schedrt_dump_doc_free(d);
}

Test(dump_read, repeated_keys_at_every_level) {
  cbor_item_t *top = mini();
  put(top, SCHEDRT_DK_TASKS, cbor_new_definite_array(0));
  refused(top, SCHEDRT_ECORRUPT, "tasks: the key is given twice");
  top = mini();
  put(get(top, SCHEDRT_DK_META), SCHEDRT_DK_PID, cbor_build_uint8(1));
  put(get(top, SCHEDRT_DK_META), SCHEDRT_DK_PID, cbor_build_uint8(2));
  refused(top, SCHEDRT_ECORRUPT, "meta.pid: the key is given twice");
  top = mini();
  put(task_at(top, 1), SCHEDRT_DK_ID, cbor_build_uint8(1));
  refused(top, SCHEDRT_ECORRUPT, "tasks[1].id: the key is given twice");
  top = mini();
  put(worker_at(top, 0), SCHEDRT_DK_ROLE, cbor_build_string("leader"));
  refused(top, SCHEDRT_ECORRUPT, "workers[0].role: the key is given twice");
  top = mini();
  put(cbor_array_handle(get(top, SCHEDRT_DK_SPAWN_SITES))[0], SCHEDRT_DK_LINE, cbor_build_uint8(8));
  refused(top, SCHEDRT_ECORRUPT, "spawn_sites[0].line: the key is given twice");
  top = mini();
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  refused(top, SCHEDRT_ECORRUPT, "format: the key is given twice");
}

Test(dump_read, version_is_exactly_major_and_minor) {
  /* [1, 0, 0] was accepted (the third part skipped): no such version exists. */
  cbor_item_t *top = mini();
  set(top, SCHEDRT_DK_VERSION, uints(3, SCHEDRT_DUMP_MAJOR, 0, 0));
  refused(top, SCHEDRT_ECORRUPT, "expected [major, minor], got an array of 3");
  top = mini();
  set(top, SCHEDRT_DK_VERSION, uints(1, SCHEDRT_DUMP_MAJOR));
  refused(top, SCHEDRT_ECORRUPT, "expected [major, minor], got an array of 1");
}

Test(dump_read, duplicate_task_ids_are_refused) {
  cbor_item_t *top = mini();
  set(task_at(top, 1), SCHEDRT_DK_ID, cbor_build_uint8(1));
  refused(top, SCHEDRT_ECORRUPT, "tasks[0] and tasks[1] have the same id 1");
  RELIABILITY("dump: version [1,0,0] or [1]; duplicate task ids", 3, "refused (ECORRUPT) with the reason");
}

Test(dump_read, wrong_types_say_where) {
  cbor_item_t *top = mini();
  set(task_at(top, 1), SCHEDRT_DK_ID, cbor_build_string("seven"));
  refused(top, SCHEDRT_ECORRUPT, "tasks[1].id: expected an unsigned integer, found a text string (byte ");
  top = mini();
  set(task_at(top, 0), SCHEDRT_DK_WORKER, cbor_build_negint8(0));
  refused(top, SCHEDRT_ECORRUPT,
          "tasks[0].worker: expected an unsigned integer or null, found a negative integer");
  top = mini();
  put(task_at(top, 0), SCHEDRT_DK_POSITION, cbor_build_uint64(UINT64_MAX));
  refused(top, SCHEDRT_ECORRUPT, "tasks[0].position: 18446744073709551615 is out of range");
  top = mini();
  set(task_at(top, 0), SCHEDRT_DK_NAME, cbor_build_tag(32, cbor_move(cbor_build_string("x"))));
  refused(top, SCHEDRT_ECORRUPT, "tasks[0].name: expected a text string or null, found a tag");
  top = mini();
  set(get(top, SCHEDRT_DK_META), SCHEDRT_DK_COVERED, cbor_build_uint8(0));
  refused(top, SCHEDRT_ECORRUPT, "meta.workers_covered: expected an array, found an unsigned integer");
  top = mini();
  put(get(top, SCHEDRT_DK_META), SCHEDRT_DK_NONCE, cbor_build_bytestring((const unsigned char *)"short", 5));
  refused(top, SCHEDRT_ECORRUPT, "meta.nonce: expected 16 bytes, found 5");
  top = mini();
  set(top, SCHEDRT_DK_WORKERS, cbor_build_string("two"));
  refused(top, SCHEDRT_ECORRUPT, "workers: expected an array, found a text string");
  top = mini();
  struct cbor_pair *p = cbor_map_handle(task_at(top, 0));
  cbor_decref(&p[0].key);
  p[0].key = cbor_build_uint8(1);
  refused(top, SCHEDRT_ECORRUPT, "tasks[0]: a map key is an unsigned integer, not a text string");
  top = mini();
  set(top, SCHEDRT_DK_VERSION, uints(1, SCHEDRT_DUMP_MAJOR));
  refused(top, SCHEDRT_ECORRUPT, "version: expected [major, minor]");
}

Test(dump_read, missing_parts) {
  cbor_item_t *top = mini();
  set(top, SCHEDRT_DK_FORMAT, cbor_new_null());
  refused(top, SCHEDRT_EMAGIC, "not a schedrt dump: the format is \"null\"");
  cbor_item_t *m = cbor_new_definite_map(1);
  put(m, SCHEDRT_DK_VERSION, uints(2, SCHEDRT_DUMP_MAJOR, 0));
  refused(m, SCHEDRT_EMAGIC, "not a schedrt dump: no \"format\" key");
  m = cbor_new_definite_map(1);
  put(m, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  refused(m, SCHEDRT_EVERSION, "no \"version\" key");
  m = cbor_new_definite_map(2);
  put(m, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  put(m, SCHEDRT_DK_VERSION, uints(2, SCHEDRT_DUMP_MAJOR, 0));
  refused(m, SCHEDRT_ECORRUPT, "no \"meta\" key");
  refused(cbor_new_definite_array(0), SCHEDRT_EMAGIC,
          "not a schedrt dump: the tagged item is an array, not a map");
  top = mini();
  cbor_item_t *t = task_at(top, 0);
  struct cbor_pair *p = cbor_map_handle(t);
  cbor_decref(&p[2].key); /* "state" -> "status" */
  p[2].key = cbor_build_string("status");
  refused(top, SCHEDRT_ECORRUPT, "tasks[0]: no \"state\" key");
}

Test(dump_read, indexes_are_checked) {
  cbor_item_t *top = mini();
  set(task_at(top, 0), SCHEDRT_DK_SPAWN, cbor_build_uint8(1));
  refused(top, SCHEDRT_ECORRUPT, "tasks[0].spawn is 1, but there are 1 spawn sites");
  top = mini();
  set(task_at(top, 1), SCHEDRT_DK_AWAIT, cbor_build_uint8(3));
  refused(top, SCHEDRT_ECORRUPT, "tasks[1].await is 3, but there are 1 await sites");
  top = mini();
  set(task_at(top, 1), SCHEDRT_DK_WORKER, cbor_build_uint8(2));
  refused(top, SCHEDRT_ECORRUPT, "tasks[1].worker is 2, but there are 2 workers");
  top = mini();
  set(get(top, SCHEDRT_DK_META), SCHEDRT_DK_MISSING, uints(1, 5));
  refused(top, SCHEDRT_ECORRUPT, "meta.workers_missing[0] is worker 5, but there are 2 workers");
  top = mini();
  set(worker_at(top, 1), SCHEDRT_DK_INDEX, cbor_build_uint8(0));
  refused(top, SCHEDRT_ECORRUPT, "workers[1].index is 0: workers are listed in index order");
  top = mini();
  set(get(top, SCHEDRT_DK_META), SCHEDRT_DK_NTASKS, cbor_build_uint8(3));
  refused(top, SCHEDRT_ECORRUPT, "meta.task_count is 3, but tasks lists 2");
}

Test(dump_read, texts_must_be_utf8_and_printable_is_an_option) {
  static const char *const bad[] = {"\xff", "\xc0\xaf" /* overlong '/' */, "\xed\xa0\x80" /* surrogate */,
                                    "\xf4\x90\x80\x80" /* > U+10FFFF */, "ab\xe2\x82" /* cut */};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cbor_item_t *top = mini();
    set(task_at(top, 0), SCHEDRT_DK_NAME, cbor_build_stringn(bad[i], strlen(bad[i])));
    refused(top, SCHEDRT_ECORRUPT, "tasks[0].name: a text string that is not valid UTF-8");
  }
  cbor_item_t *top = mini();
  set(task_at(top, 0), SCHEDRT_DK_NAME, cbor_build_string("a\tb\x7f\xc2\x85\xc3\xa9\xe2\x82\xac"));
  schedrt_dump_doc *d;
  cr_assert_eq(decode_item(top, SCHEDRT_DUMP_PRINTABLE, &d, NULL, 0), 0);
  cr_expect_str_eq(d->tasks[0].name, "a?b???\xc3\xa9\xe2\x82\xac", "controls out, other UTF-8 kept");
  schedrt_dump_doc_free(d);
}

/* A real dump with one more top-level key, "z": its value is the bytes in extra. */
static unsigned char *with_extra_key(const unsigned char *dump, size_t len, const void *extra, size_t n,
                                     size_t *out_len) {
  unsigned char *b = malloc(len + 2 + n);
  memcpy(b, dump, len);
  /* 8 keys in 1.1, 9 with 1.2's "blocking" (+1 with histogram bounds): a one-byte map head. */
  cr_assert(b[3] >= 0xa8 && b[3] < 0xb7, "the writer's top map has 8 to 22 keys");
  b[3]++; /* the top map is the last thing in the file: append an entry */
  memcpy(b + len, "\x61z", 2);
  memcpy(b + len + 2, extra, n);
  *out_len = len + 2 + n;
  return b;
}

Test(dump_read, nesting_is_bounded) {
  size_t len, n;
  unsigned char *buf = real_dump(&len), deep[32];
  schedrt_dump_doc *d;
  char err[256];
  /* Tag and dump are 2 levels: 14 more fit in 16, 15 do not. */
  memset(deep, 0x81, sizeof(deep));
  deep[14] = 0x00;
  unsigned char *b = with_extra_key(buf, len, deep, 15, &n);
  cr_assert_eq(schedrt_dump_parse_ex(b, n, ALL_FLAGS, &d, err, sizeof(err)), 0, "%s", err);
  cr_assert_not_null(d->cbor);
  schedrt_dump_doc_free(d);
  free(b);
  deep[14] = 0x81;
  deep[15] = 0x00;
  b = with_extra_key(buf, len, deep, 16, &n);
  cr_assert_eq(schedrt_dump_parse_ex(b, n, ALL_FLAGS, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_assert(strstr(err, "z: nested deeper than 16 levels") != NULL, "%s", err);
  free(b);
  /* Tags count too. */
  unsigned char tags[64];
  for (int i = 0; i < 20; i++)
    memcpy(tags + 2 * i, "\xc1\xc1", 2);
  tags[40] = 0x00;
  b = with_extra_key(buf, len, tags, 41, &n);
  cr_assert_eq(schedrt_dump_parse_ex(b, n, 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  free(b);
  free(buf);
}

Test(dump_read, indefinite_lengths_are_refused) {
  static const struct {
    const char *bytes;
    size_t n;
  } items[] = {{"\x9f\xff", 2}, {"\xbf\xff", 2}, {"\x7f\x61x\xff", 4}, {"\x5f\x41x\xff", 4}, {"\xff", 1}};
  size_t len, n;
  unsigned char *buf = real_dump(&len);
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
    unsigned char *b = with_extra_key(buf, len, items[i].bytes, items[i].n, &n);
    schedrt_dump_doc *d;
    char err[256];
    cr_expect_eq(schedrt_dump_parse_ex(b, n, 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT, "item %zu", i);
    cr_expect(strstr(err, "definite lengths only") != NULL, "%s", err);
    free(b);
  }
  free(buf);
}

Test(dump_read, absurd_declared_lengths) {
  size_t len, n;
  unsigned char *buf = real_dump(&len);
  static const struct {
    const char *bytes;
    size_t n;
    const char *want;
  } items[] = {
      {"\x9b\x00\x00\x00\x20\x00\x00\x00\x00", 9,
       "an array of 137438953472 elements cannot fit"}, /* 1 TiB of pointers */
      {"\xbb\x40\x00\x00\x00\x00\x00\x00\x00", 9, "a map of 4611686018427387904 entries cannot fit"},
      {"\x7b\x7f\xff\xff\xff\xff\xff\xff\xff", 9, "truncated"},
      {"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", 9, "truncated"},
      {"\x1b\x00", 2, "truncated"},
  };
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
    unsigned char *b = with_extra_key(buf, len, items[i].bytes, items[i].n, &n);
    schedrt_dump_doc *d;
    char err[256];
    cr_expect_eq(schedrt_dump_parse_ex(b, n, ALL_FLAGS, &d, err, sizeof(err)), SCHEDRT_ECORRUPT, "item %zu",
                 i);
    cr_expect(strstr(err, items[i].want) != NULL, "%s", err);
    free(b);
  }
  /* A task list whose count fits the bytes left but not the least a task takes. */
  static const unsigned char few[] = {0xd9, 0xd9, 0xf7, 0xa1, 0x65, 't',  'a', 's',
                                      'k',  's',  0x84, 0xa0, 0xa0, 0xa0, 0xa0};
  schedrt_dump_doc *d;
  char err[256];
  cr_expect_eq(schedrt_dump_parse_ex(few, sizeof(few), 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect(strstr(err, "tasks: truncated or corrupt: 4 entries cannot fit in the 4 bytes left") != NULL,
            "%s", err);
  free(buf);
}

Test(dump_read, loading_files) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  char dir[] = "/tmp/dump_read_XXXXXX", path[64], link[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/d.cbor", dir);
  snprintf(link, sizeof(link), "%s/l.cbor", dir);
  FILE *f = fopen(path, "wb");
  cr_assert_eq(fwrite(buf, 1, len, f), len);
  fclose(f);
  cr_assert_eq(symlink(path, link), 0);
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(schedrt_dump_load_ex(path, ALL_FLAGS, &d, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(d->ntasks, 20u);
  schedrt_dump_doc_free(d);
  cr_expect_eq(schedrt_dump_load_ex(link, 0, &d, err, sizeof(err)), -ELOOP);
  cr_expect_str_eq(err, "a symbolic link (refused)");
  cr_assert_eq(schedrt_dump_load_ex(link, SCHEDRT_DUMP_FOLLOW, &d, err, sizeof(err)), 0, "%s", err);
  schedrt_dump_doc_free(d);
  cr_expect_eq(schedrt_dump_load_ex(dir, 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect_str_eq(err, "not a regular file but a directory");
  /* A FIFO nobody writes to: refused at once, not waited on (the open used to block for ever). */
  char fifo[300];
  snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_expect_eq(schedrt_dump_load_ex(fifo, 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect_str_eq(err, "not a regular file but a FIFO");
  unlink(fifo);
  unlink(path);
  cr_expect_eq(schedrt_dump_load_ex(path, 0, &d, err, sizeof(err)), -ENOENT);
  cr_expect(strstr(err, "No such file") != NULL, "%s", err);
  cr_expect_null(d);
  unlink(link);
  rmdir(dir);
  free(buf);
}

/* 1.2: a lock waiter's holders, (id, permits) pairs; an odd count is refused. */
Test(dump_read, lock_holders) {
  cbor_item_t *top = mini();
  put(task_at(top, 0), SCHEDRT_DK_WAIT, cbor_build_string("semaphore"));
  put(task_at(top, 0), SCHEDRT_DK_WAIT_OBJECT, cbor_build_uint32(0x1000));
  put(task_at(top, 0), SCHEDRT_DK_HOLDERS, uints(4, 7, 2, 9, 1));
  put(task_at(top, 0), SCHEDRT_DK_HOLDERS_MORE, cbor_build_uint8(3));
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  const schedrt_dump_task *t = &d->tasks[0];
  cr_expect_eq(t->wait, SCHEDRT_DUMP_WAIT_SEMAPHORE);
  cr_expect_eq(t->wait_object, 0x1000);
  cr_assert_eq(t->nholders, 4u);
  cr_expect(t->holders[0] == 7 && t->holders[1] == 2 && t->holders[2] == 9 && t->holders[3] == 1);
  cr_expect_eq(t->holders_more, 3u);
  cr_expect_null(d->tasks[1].holders);
  schedrt_dump_doc_free(d);
  top = mini();
  put(task_at(top, 1), SCHEDRT_DK_HOLDERS, uints(3, 7, 2, 9));
  refused(top, SCHEDRT_ECORRUPT, "tasks[1].holders has 3 numbers");
}

/* 1.3: a stall backtrace in the stuck worker's entry. */
static cbor_item_t *frame(uint64_t ip, const char *module, uint64_t off, const char *symbol) {
  cbor_item_t *f = cbor_new_definite_map(5);
  put(f, SCHEDRT_DK_BT_IP, cbor_build_uint64(ip));
  put(f, SCHEDRT_DK_BT_MODULE, module ? cbor_build_string(module) : cbor_new_null());
  put(f, SCHEDRT_DK_BT_MODULE_OFFSET, module ? cbor_build_uint64(off) : cbor_new_null());
  put(f, SCHEDRT_DK_BT_SYMBOL, symbol ? cbor_build_string(symbol) : cbor_new_null());
  put(f, SCHEDRT_DK_BT_SYMBOL_OFFSET, symbol ? cbor_build_uint8(4) : cbor_new_null());
  return f;
}

static cbor_item_t *backtrace(size_t nframes) {
  cbor_item_t *b = cbor_new_definite_map(8), *frames = cbor_new_definite_array(nframes);
  put(b, SCHEDRT_DK_BT_RESULT, cbor_build_string("ok"));
  put(b, SCHEDRT_DK_BT_SIGNAL, cbor_build_uint8(61));
  put(b, SCHEDRT_DK_BT_WAIT_NS, cbor_build_uint32(12345));
  put(b, SCHEDRT_DK_BT_TRUNCATED, cbor_build_bool(false));
  for (size_t k = 0; k < nframes; k++)
    cbor_array_push(frames, cbor_move(frame(0x1000 + k, k % 2 ? NULL : "/bin/x", 0x100 + k, k ? NULL : "f")));
  put(b, SCHEDRT_DK_BT_FRAMES, frames);
  return b;
}

Test(dump_read, stall_backtraces) {
  cbor_item_t *top = mini();
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, backtrace(3));
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  const schedrt_dump_worker *w = &d->workers[1];
  cr_expect_eq(d->workers[0].bt_result, SCHEDRT_DUMP_BT_NONE, "worker 0 has none");
  cr_expect_null(d->workers[0].bt_frames);
  cr_expect_eq(w->bt_result, SCHEDRT_DUMP_BT_OK);
  cr_expect_eq(w->bt_signal, 61);
  cr_expect_eq(w->bt_wait_ns, 12345);
  cr_expect_eq(w->bt_truncated, false);
  cr_assert_eq(w->bt_nframes, 3u);
  cr_expect_eq(w->bt_frames[0].ip, 0x1000u);
  cr_expect_str_eq(w->bt_frames[0].module, "/bin/x");
  cr_expect_eq(w->bt_frames[0].module_offset, 0x100);
  cr_expect_str_eq(w->bt_frames[0].symbol, "f");
  cr_expect_eq(w->bt_frames[0].symbol_offset, 4);
  cr_expect_null(w->bt_frames[1].module);
  cr_expect_eq(w->bt_frames[1].module_offset, SCHEDRT_DUMP_NONE);
  cr_expect_eq(w->bt_frames[1].symbol_offset, SCHEDRT_DUMP_NONE);
  cr_expect_str_eq(schedrt_dump_bt_result_text(w->bt_result), "ok");
  schedrt_dump_doc_free(d);

  /* A result a later minor adds reads as unknown; the map and its frames are still read. */
  top = mini();
  cbor_item_t *b = backtrace(1);
  set(b, SCHEDRT_DK_BT_RESULT, cbor_build_string("partial"));
  put(b, "future_key", cbor_build_uint8(1));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(d->workers[1].bt_result, SCHEDRT_DUMP_BT__COUNT);
  cr_expect_str_eq(schedrt_dump_bt_result_text(d->workers[1].bt_result), "unknown");
  cr_expect_eq(d->workers[1].bt_nframes, 1u);
  schedrt_dump_doc_free(d);

  /* Every count and type of the new keys is checked. */
  top = mini();
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, backtrace(SCHEDRT_DUMP_BT_MAX_FRAMES + 1));
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace.frames: 257 frames (at most 256)");
  top = mini();
  b = backtrace(2);
  set(b, SCHEDRT_DK_BT_FRAMES, cbor_build_uint8(2));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace.frames: expected an array, found an unsigned integer");
  top = mini();
  b = backtrace(0);
  cbor_item_t *fr = cbor_new_definite_array(1), *no_ip = cbor_new_definite_map(1);
  put(no_ip, SCHEDRT_DK_BT_MODULE, cbor_build_string("/bin/x"));
  cbor_array_push(fr, cbor_move(no_ip));
  set(b, SCHEDRT_DK_BT_FRAMES, fr);
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace.frames[0]: no \"ip\" key");
  top = mini();
  b = backtrace(1);
  set(cbor_array_handle(get(b, SCHEDRT_DK_BT_FRAMES))[0], SCHEDRT_DK_BT_MODULE, cbor_build_uint8(1));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace.frames[0].module: expected a text string or null");
  top = mini();
  b = backtrace(1);
  set(b, SCHEDRT_DK_BT_WAIT_NS, cbor_build_negint8(1));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace.wait_ns: expected an unsigned integer or null");
  top = mini();
  b = cbor_new_definite_map(1);
  put(b, SCHEDRT_DK_BT_SIGNAL, cbor_build_uint8(61));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, b);
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace: no \"result\" key");
  top = mini();
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, cbor_build_string("ok"));
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace: expected a map, found a text string");
  top = mini();
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, backtrace(1));
  put(worker_at(top, 1), SCHEDRT_DK_BACKTRACE, backtrace(1));
  refused(top, SCHEDRT_ECORRUPT, "workers[1].backtrace: the key is given twice");
}

/* 1.4: the event rings of a watchdog dump. */
static cbor_item_t *ev_ring(int64_t worker, size_t n, uint64_t first_seq) {
  cbor_item_t *r = cbor_new_definite_map(8), *evs = cbor_new_definite_array(n);
  put(r, SCHEDRT_DK_WORKER, worker < 0 ? cbor_new_null() : cbor_build_uint8((uint8_t)worker));
  put(r, SCHEDRT_DK_EV_WRITTEN, cbor_build_uint64(first_seq + n));
  put(r, SCHEDRT_DK_EV_LOST, cbor_build_uint64(first_seq));
  put(r, SCHEDRT_DK_EV_TORN, cbor_build_uint8(0));
  put(r, SCHEDRT_DK_EV_CUT, cbor_build_uint8(1));
  for (size_t k = 0; k < n; k++)
    cbor_array_push(evs, cbor_move(uints(5, (int)(first_seq + k), 1000 + (int)k, 2 + (int)(k % 2), 7, 0)));
  put(r, SCHEDRT_DK_EV_LIST, evs);
  return r;
}

static cbor_item_t *events(cbor_item_t *rings) {
  cbor_item_t *e = cbor_new_definite_map(8);
  put(e, SCHEDRT_DK_EV_WINDOW_NS, cbor_build_uint32(2000000000u));
  put(e, SCHEDRT_DK_EV_COPIED, cbor_build_uint32(5000));
  put(e, SCHEDRT_DK_EV_RING_SIZE, cbor_build_uint16(4096));
  put(e, SCHEDRT_DK_EV_MAX, cbor_build_uint16(4096));
  put(e, SCHEDRT_DK_EV_RINGS, rings);
  return e;
}

static cbor_item_t *rings_of(int n, ...) {
  cbor_item_t *a = cbor_new_definite_array((size_t)n);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    cbor_array_push(a, cbor_move(va_arg(ap, cbor_item_t *)));
  va_end(ap);
  return a;
}

Test(dump_read, watchdog_events) {
  cbor_item_t *top = mini();
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(2, ev_ring(1, 3, 10), ev_ring(-1, 1, 0))));
  schedrt_dump_doc *d;
  char err[256];
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  cr_assert(d->has_events);
  cr_expect_eq(d->ev_window_ns, 2000000000u);
  cr_expect_eq(d->ev_copied_mono_ns, 5000u);
  cr_expect_eq(d->ev_ring_size, 4096u);
  cr_assert_eq(d->nev_rings, 2u);
  const schedrt_dump_ev_ring *r = &d->ev_rings[0];
  cr_expect_eq(r->worker, 1);
  cr_expect_eq(r->written, 13u);
  cr_expect_eq(r->lost, 10u);
  cr_expect_eq(r->cut, 1u);
  cr_assert_eq(r->nevents, 3u);
  cr_expect_eq(r->events[2].seq, 12u);
  cr_expect_eq(r->events[2].time_ns, 1002u);
  cr_expect_eq(r->events[2].kind, (uint32_t)SCHEDRT_EV_POLL_START);
  cr_expect_eq(r->events[2].a, 7u);
  cr_expect_eq(r->events[2].ring, 0u);
  cr_expect_eq(d->ev_rings[1].worker, SCHEDRT_DUMP_NONE, "null: the other threads' ring");
  cr_expect_eq(d->ev_rings[1].events[0].ring, 1u);
  schedrt_dump_doc_free(d);

  /* A dump without them (events off, or 1.3): nothing. */
  cr_assert_eq(decode_item(mini(), 0, &d, err, sizeof(err)), 0, "%s", err);
  cr_expect_not(d->has_events);
  cr_expect_eq(d->nev_rings, 0u);
  schedrt_dump_doc_free(d);

  /* What a later minor may add: keys, and numbers after an event's five. */
  top = mini();
  cbor_item_t *r6 = ev_ring(0, 0, 0);
  set(r6, SCHEDRT_DK_EV_LIST, rings_of(1, uints(6, 1, 2, 3, 4, 5, 6)));
  put(r6, "future", cbor_build_uint8(1));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, r6)));
  cr_assert_eq(decode_item(top, 0, &d, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(d->ev_rings[0].events[0].b, 5u);
  schedrt_dump_doc_free(d);

  /* Every count, reference and value is checked. */
  top = mini();
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, ev_ring(2, 1, 0))));
  refused(top, SCHEDRT_ECORRUPT, "events.rings[0].worker is 2, but there are 2 workers");
  top = mini();
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(2, ev_ring(1, 1, 0), ev_ring(1, 1, 0))));
  refused(top, SCHEDRT_ECORRUPT, "events.rings[1]: a second ring of the same worker");
  top = mini();
  put(top, SCHEDRT_DK_EVENTS,
      events(rings_of(4, ev_ring(0, 0, 0), ev_ring(1, 0, 0), ev_ring(-1, 0, 0), ev_ring(-1, 0, 0))));
  refused(top, SCHEDRT_ECORRUPT, "4 event rings for 2 workers");
  top = mini();
  cbor_item_t *bad = ev_ring(0, 0, 0);
  set(bad, SCHEDRT_DK_EV_LIST, rings_of(2, uints(5, 4, 0, 2, 0, 0), uints(5, 4, 0, 3, 0, 0)));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, bad)));
  refused(top, SCHEDRT_ECORRUPT, "events.rings[0].events[1]: event seq 4 after 4");
  top = mini();
  bad = ev_ring(0, 0, 0);
  set(bad, SCHEDRT_DK_EV_LIST, rings_of(1, uints(5, 1, 0, 256, 0, 0)));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, bad)));
  refused(top, SCHEDRT_ECORRUPT, "event kind 256");
  top = mini();
  bad = ev_ring(0, 0, 0);
  set(bad, SCHEDRT_DK_EV_LIST, rings_of(1, uints(4, 1, 0, 2, 0)));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, bad)));
  refused(top, SCHEDRT_ECORRUPT, "an event of 4 numbers");
  top = mini();
  bad = ev_ring(0, 0, 0);
  set(bad, SCHEDRT_DK_EV_LIST, uints(1, 3));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, bad)));
  refused(top, SCHEDRT_ECORRUPT, "events.rings[0].events[0]: expected an array, found an unsigned integer");
  top = mini();
  cbor_item_t *no_list = cbor_new_definite_map(1);
  put(no_list, SCHEDRT_DK_WORKER, cbor_build_uint8(0));
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, no_list)));
  refused(top, SCHEDRT_ECORRUPT, "events.rings[0]: no \"events\" key");
  top = mini();
  put(top, SCHEDRT_DK_EVENTS, cbor_build_uint8(1));
  refused(top, SCHEDRT_ECORRUPT, "events: expected a map");
  top = mini();
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, ev_ring(0, SCHEDRT_DUMP_EV_MAX + 1, 0))));
  refused(top, SCHEDRT_ECORRUPT, "65537 events in a ring");
}

/* A ring that declares more events than its bytes can hold is refused before anything is allocated. */
Test(dump_read, event_counts_are_bounded_by_the_input) {
  cbor_item_t *top = mini();
  cbor_item_t *r = ev_ring(0, 0, 0);
  put(top, SCHEDRT_DK_EVENTS, events(rings_of(1, r)));
  cbor_item_t *tag = cbor_build_tag(SCHEDRT_DUMP_SELF_DESCRIBE_TAG, top);
  cbor_decref(&top);
  unsigned char *buf = NULL;
  size_t cap, len = cbor_serialize_alloc(tag, &buf, &cap);
  cbor_decref(&tag);
  /* The empty list is 0x80 after the text "events" inside the ring: make it declare 60000 events. */
  static const unsigned char key[] = {0x66, 'e', 'v', 'e', 'n', 't', 's', 0x80};
  unsigned char *at = find(buf, len, key, sizeof(key));
  cr_assert_not_null(at);
  unsigned char *big = malloc(len + 2);
  size_t off = (size_t)(at - buf) + sizeof(key) - 1;
  memcpy(big, buf, off);
  big[off] = 0x99; /* array, 2-byte count */
  big[off + 1] = 0xea;
  big[off + 2] = 0x60;
  memcpy(big + off + 3, buf + off + 1, len - off - 1);
  schedrt_dump_doc *d = (schedrt_dump_doc *)1;
  char err[256] = "";
  cr_expect_eq(schedrt_dump_parse_ex(big, len + 2, 0, &d, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect_null(d);
  cr_expect(strstr(err, "60000 events in a ring") || strstr(err, "cannot fit"), "%s", err);
  free(big);
  free(buf);
}
