/*
 * dump_model.c, dump_group.c and dump_json.c on dumps built here with
 * libcbor's builders, spelled with the keys of dump_keys.h: decoding, sorting,
 * grouping, the faithful JSON, and every kind of bad input (truncated, not
 * CBOR, not a dump, another major version, wrong types, hostile nesting).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>

#include "dump_json.h"
#include "dump_model.h"
#include "dump_report.h"
#include "schedrt.h"
#include "schedrt/proto/dump_keys.h"

static void put(cbor_item_t *map, const char *k, cbor_item_t *v) {
  cr_assert(cbor_map_add(map, (struct cbor_pair){.key = cbor_move(cbor_build_string(k)), .value = cbor_move(v)}));
}

static cbor_item_t *site(const char *file, int line, const char *func, const char *label) {
  cbor_item_t *s = cbor_new_indefinite_map();
  put(s, SCHEDRT_DK_FILE, cbor_build_string(file));
  put(s, SCHEDRT_DK_LINE, cbor_build_uint32((uint32_t)line));
  if (func)
    put(s, SCHEDRT_DK_FUNC, cbor_build_string(func));
  if (label)
    put(s, SCHEDRT_DK_LABEL, cbor_build_string(label));
  return s;
}

typedef struct tspec {
  uint64_t id;
  const char *name, *state;
  int worker;     /* -1: none */
  int await_site; /* -1: null */
  uint64_t state_ns;
} tspec;

static const tspec specs[] = {
    {1, "conn-1", "idle", -1, 0, 3000000000ull},
    {2, "conn-2", "idle", -1, 0, 5000000000ull},
    {3, "ticker", "idle", -1, 1, 10000000ull},
    {4, "worker-job", "local", 1, -1, 2000000ull},
    {5, "spinner", "running", 0, -1, 1500000000ull},
    {6, "conn-3", "idle", -1, 0, 1000000000ull},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* A dump like the runtime writes, with `major` as its version. */
static cbor_item_t *build_dump(uint64_t major) {
  cbor_item_t *top = cbor_new_indefinite_map();
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  cbor_item_t *ver = cbor_new_definite_array(2);
  cbor_array_push(ver, cbor_move(cbor_build_uint64(major)));
  cbor_array_push(ver, cbor_move(cbor_build_uint8(0)));
  put(top, SCHEDRT_DK_VERSION, ver);

  cbor_item_t *meta = cbor_new_indefinite_map();
  put(meta, SCHEDRT_DK_RUNTIME, cbor_build_string("demo"));
  put(meta, SCHEDRT_DK_RUNTIME_VERSION, cbor_build_string("0.1.0"));
  put(meta, SCHEDRT_DK_PID, cbor_build_uint32(4242));
  put(meta, SCHEDRT_DK_NWORKERS, cbor_build_uint8(2));
  put(meta, SCHEDRT_DK_LABEL, cbor_build_string("unit test"));
  put(meta, SCHEDRT_DK_STATUS, cbor_build_string("PARTIAL"));
  put(meta, SCHEDRT_DK_DEADLINE_MS, cbor_build_uint16(250));
  put(meta, SCHEDRT_DK_NTASKS, cbor_build_uint8(NSPECS));
  unsigned char nonce[16] = {0xde, 0xad, 0xbe, 0xef};
  put(meta, SCHEDRT_DK_NONCE, cbor_build_bytestring(nonce, sizeof(nonce)));
  cbor_item_t *cov = cbor_new_definite_array(1);
  cbor_array_push(cov, cbor_move(cbor_build_uint8(1)));
  put(meta, SCHEDRT_DK_COVERED, cov);
  cbor_item_t *mis = cbor_new_definite_array(1);
  cbor_array_push(mis, cbor_move(cbor_build_uint8(0)));
  put(meta, SCHEDRT_DK_MISSING, mis);
  put(top, SCHEDRT_DK_META, meta);

  cbor_item_t *workers = cbor_new_definite_array(2);
  cbor_item_t *w0 = cbor_new_indefinite_map();
  put(w0, SCHEDRT_DK_INDEX, cbor_build_uint8(0));
  put(w0, SCHEDRT_DK_ROLE, cbor_build_string("missing"));
  put(w0, SCHEDRT_DK_REASON, cbor_build_string("polling"));
  put(w0, SCHEDRT_DK_CURRENT, cbor_build_uint8(5));
  put(w0, SCHEDRT_DK_RUNNING_NS, cbor_build_uint64(1500000000ull));
  put(w0, SCHEDRT_DK_RUNNING_SRC, cbor_build_string("monitor"));
  cbor_array_push(workers, cbor_move(w0));
  cbor_item_t *w1 = cbor_new_indefinite_map();
  put(w1, SCHEDRT_DK_INDEX, cbor_build_uint8(1));
  put(w1, SCHEDRT_DK_ROLE, cbor_build_string("leader"));
  put(w1, SCHEDRT_DK_LOCAL_QUEUE, cbor_build_uint8(1));
  put(w1, SCHEDRT_DK_LIFO, cbor_new_null());
  cbor_array_push(workers, cbor_move(w1));
  put(top, SCHEDRT_DK_WORKERS, workers);

  cbor_item_t *inj = cbor_new_indefinite_map();
  put(inj, SCHEDRT_DK_DEPTH, cbor_build_uint8(0));
  put(top, SCHEDRT_DK_INJECTION, inj);

  cbor_item_t *tasks = cbor_new_definite_array(NSPECS);
  for (size_t i = 0; i < NSPECS; i++) {
    cbor_item_t *t = cbor_new_indefinite_map();
    put(t, SCHEDRT_DK_ID, cbor_build_uint64(specs[i].id));
    put(t, SCHEDRT_DK_NAME, cbor_build_string(specs[i].name));
    put(t, SCHEDRT_DK_STATE, cbor_build_string(specs[i].state));
    put(t, SCHEDRT_DK_WORKER, specs[i].worker >= 0 ? cbor_build_uint8((uint8_t)specs[i].worker) : cbor_new_null());
    put(t, SCHEDRT_DK_SPAWN, cbor_build_uint8(i == 4 ? 1 : 0));
    put(t, SCHEDRT_DK_AWAIT,
        specs[i].await_site >= 0 ? cbor_build_uint8((uint8_t)specs[i].await_site) : cbor_new_null());
    put(t, SCHEDRT_DK_POLLS, cbor_build_uint8(3));
    put(t, SCHEDRT_DK_AGE_NS, cbor_build_uint64(9000000000ull));
    put(t, SCHEDRT_DK_STATE_NS, cbor_build_uint64(specs[i].state_ns));
    cbor_array_push(tasks, cbor_move(t));
  }
  put(top, SCHEDRT_DK_TASKS, tasks);

  cbor_item_t *ss = cbor_new_definite_array(2);
  cbor_array_push(ss, cbor_move(site("server.c", 88, "accept_loop", NULL)));
  cbor_array_push(ss, cbor_move(site("spin.c", 12, "main", NULL)));
  put(top, SCHEDRT_DK_SPAWN_SITES, ss);
  cbor_item_t *as = cbor_new_definite_array(2);
  cbor_array_push(as, cbor_move(site("conn.c", 140, NULL, "read-request")));
  cbor_array_push(as, cbor_move(site("tick.c", 30, NULL, "tick-sleep")));
  put(top, SCHEDRT_DK_AWAIT_SITES, as);
  return cbor_build_tag(SCHEDRT_DUMP_SELF_DESCRIBE_TAG, cbor_move(top));
}

static unsigned char *serialize(cbor_item_t *it, size_t *len) {
  unsigned char *buf = NULL;
  size_t cap;
  *len = cbor_serialize_alloc(it, &buf, &cap);
  cbor_decref(&it);
  cr_assert(*len > 0);
  return buf;
}

static dump_model *load_ok(uint64_t major) {
  size_t len;
  unsigned char *buf = serialize(build_dump(major), &len);
  cr_assert(len > 3 && buf[0] == 0xd9 && buf[1] == 0xd9 && buf[2] == 0xf7, "self-describe tag first");
  dump_model *m;
  char err[256];
  int rc = dump_model_load_buffer(buf, len, &m, err, sizeof(err));
  free(buf);
  cr_assert_eq(rc, 0, "%s", err);
  return m;
}

Test(dump_model, decodes_every_section) {
  dump_model *m = load_ok(SCHEDRT_DUMP_MAJOR);
  cr_expect_str_eq(m->meta.runtime_name, "demo");
  cr_expect_eq(m->meta.pid, 4242u);
  cr_expect_str_eq(m->meta.status, "PARTIAL");
  cr_expect_str_eq(m->meta.label, "unit test");
  cr_expect_eq(m->meta.workers_covered, 1u);
  cr_expect_eq(m->meta.workers_missing, 1u);
  cr_assert_eq(m->nworkers, 2u);
  cr_expect_str_eq(m->workers[0].role, "missing");
  cr_expect_str_eq(m->workers[0].reason, "polling");
  cr_expect_eq(m->workers[0].current_task, 5u);
  cr_expect_eq(m->workers[1].local_queue, 1u);
  cr_expect_not(m->workers[1].lifo, "null lifo is empty");
  cr_assert_eq(m->ntasks, NSPECS);
  const dump_task *t = dump_model_find_task(m, 3);
  cr_assert_not_null(t);
  cr_expect_str_eq(t->name, "ticker");
  cr_expect_str_eq(t->await_label, "tick-sleep");
  cr_expect_str_eq(t->await_file, "tick.c");
  cr_expect_eq(t->await_line, 30);
  cr_expect_str_eq(t->spawn_file, "server.c");
  cr_expect_str_eq(t->spawn_func, "accept_loop");
  t = dump_model_find_task(m, 5);
  cr_expect_null(t->await_label, "null await: none");
  cr_expect_str_eq(t->spawn_file, "spin.c");
  cr_expect_eq(t->worker, 0);
  cr_expect_eq(dump_model_find_task(m, 99), NULL);
  cr_expect_str_eq(m->warnings, "");
  dump_model_free(m);
}

Test(dump_model, groups_by_await_point_and_state_longest_idle_first) {
  dump_model *m = load_ok(SCHEDRT_DUMP_MAJOR);
  task_group *g;
  size_t n;
  cr_assert_eq(dump_group_tasks(m, &g, &n), 0);
  cr_assert_eq(n, 4u, "read-request/idle, tick-sleep/idle, none/local, none/running");
  cr_expect_str_eq(g[0].await_label, "read-request");
  cr_expect_eq(g[0].count, 3u);
  cr_expect_eq(g[0].max_idle_ns, 5000000000ull);
  cr_expect_eq(m->tasks[g[0].members[0]].id, 2u, "longest idle first");
  cr_expect_eq(m->tasks[g[0].members[2]].id, 6u);
  cr_expect_str_eq(g[1].state, "running", "1.5 s running comes next");
  dump_groups_free(g, n);
  dump_model_free(m);
}

Test(dump_model, sorts) {
  dump_model *m = load_ok(SCHEDRT_DUMP_MAJOR);
  size_t o[NSPECS];
  dump_sort_tasks(m, TSORT_STATE, 0, o);
  cr_expect_str_eq(m->tasks[o[0]].state, "running");
  cr_expect_str_eq(m->tasks[o[1]].state, "local");
  cr_expect_eq(m->tasks[o[2]].id, 2u, "then idle, longest first");
  dump_sort_tasks(m, TSORT_IDLE, 0, o);
  cr_expect_eq(m->tasks[o[0]].id, 2u);
  dump_sort_tasks(m, TSORT_IDLE, 1, o);
  cr_expect_eq(m->tasks[o[0]].id, 4u, "reversed: the shortest first");
  dump_sort_tasks(m, TSORT_NAME, 0, o);
  cr_expect_str_eq(m->tasks[o[0]].name, "conn-1");
  dump_sort_tasks(m, TSORT_WORKER, 0, o);
  cr_expect_eq(m->tasks[o[0]].worker, 0);
  cr_expect_eq(m->tasks[o[1]].worker, 1);
  dump_sort_tasks(m, TSORT_ID, 0, o);
  cr_expect_eq(m->tasks[o[5]].id, 6u);
  cr_expect_str_eq(task_sort_name(TSORT_IDLE), "idle time");
  dump_model_free(m);
}

Test(dump_model, faithful_json) {
  dump_model *m = load_ok(SCHEDRT_DUMP_MAJOR);
  json_t *j = dump_json(m);
  cr_assert(json_is_object(j));
  cr_expect_str_eq(json_string_value(json_object_get(j, "format")), SCHEDRT_DUMP_FORMAT);
  json_t *meta = json_object_get(j, "meta");
  cr_expect_str_eq(json_string_value(json_object_get(meta, "nonce")), "deadbeef000000000000000000000000",
                   "bytes as hex");
  cr_expect_eq(json_integer_value(json_object_get(meta, "pid")), 4242);
  json_t *tasks = json_object_get(j, "tasks");
  cr_expect_eq(json_array_size(tasks), NSPECS);
  cr_expect(json_is_null(json_object_get(json_array_get(tasks, 4), "await")), "null stays null");
  cr_expect_eq(json_object_get(j, "_truncated"), NULL);
  json_decref(j);
  dump_model_free(m);
}

Test(dump_model, json_of_unusual_items) {
  cbor_item_t *arr = cbor_new_definite_array(5);
  cbor_array_push(arr, cbor_move(cbor_build_uint64(UINT64_MAX)));
  cbor_array_push(arr, cbor_move(cbor_build_negint64(UINT64_MAX)));
  cbor_array_push(arr, cbor_move(cbor_build_tag(1, cbor_move(cbor_build_uint8(7)))));
  cbor_array_push(arr, cbor_move(cbor_build_float8(1.5)));
  cbor_array_push(arr, cbor_move(cbor_build_bool(true)));
  json_t *j = dump_json_item(arr);
  cr_expect_str_eq(json_string_value(json_array_get(j, 0)), "18446744073709551615");
  cr_expect_str_eq(json_string_value(json_array_get(j, 1)), "-18446744073709551616");
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(j, 2), "tag")), 1);
  cr_expect_float_eq(json_real_value(json_array_get(j, 3)), 1.5, 1e-12);
  cr_expect(json_is_true(json_array_get(j, 4)));
  json_decref(j);
  cbor_decref(&arr);
}

Test(dump_model, report_mentions_groups_and_missing_workers) {
  dump_model *m = load_ok(SCHEDRT_DUMP_MAJOR);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  dump_report_print(m, f, 2);
  fclose(f);
  cr_expect(strstr(text, "status PARTIAL") != NULL);
  cr_expect(strstr(text, "await \"read-request\" at conn.c:140") != NULL);
  cr_expect(strstr(text, "missing") != NULL && strstr(text, "polling") != NULL);
  cr_expect(strstr(text, "... 1 more") != NULL, "per-group limit");
  cr_expect(strstr(text, "spawned at server.c:88 (accept_loop)") != NULL);
  free(text);
  dump_model_free(m);
}

static int load_err(const unsigned char *buf, size_t len, dump_model **m) {
  char err[256];
  int rc = dump_model_load_buffer(buf, len, m, err, sizeof(err));
  if (rc)
    cr_expect(strlen(err) > 5, "an error needs a message");
  return rc;
}

Test(dump_model, truncated_file_keeps_nothing_but_says_so) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR), &len);
  dump_model *m;
  /* One top-level item cut anywhere: no complete map to show, and a clear error. */
  for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
    int rc = load_err(buf, cut, &m);
    cr_expect_neq(rc, 0, "cut at %zu of %zu", cut, len);
  }
  free(buf);
}

Test(dump_model, trailing_garbage_after_a_complete_dump) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR), &len);
  buf = realloc(buf, len + 3);
  buf[len] = 0xff; /* a lone "break": not an item */
  buf[len + 1] = 0x1c;
  buf[len + 2] = 0x00;
  dump_model *m;
  cr_assert_eq(load_err(buf, len + 3, &m), 0);
  cr_expect(m->truncated);
  cr_expect_eq(m->ntasks, NSPECS, "the complete dump before the garbage is kept");
  cr_expect(strstr(m->warnings, "undecodable") != NULL, "%s", m->warnings);
  dump_model_free(m);
  free(buf);
}

Test(dump_model, not_a_dump) {
  dump_model *m;
  int rc = load_err((const unsigned char *)"hello world\n", 12, &m); /* 'h' starts a CBOR text string */
  cr_expect(rc == SCHEDRT_EMAGIC || rc == SCHEDRT_ECORRUPT, "%s", schedrt_err_name(rc));
  cr_expect_eq(load_err((const unsigned char *)"", 0, &m), SCHEDRT_ECORRUPT);
  /* A valid CBOR map from somewhere else. */
  cbor_item_t *map = cbor_new_indefinite_map();
  put(map, "format", cbor_build_string("something-else"));
  size_t len;
  unsigned char *buf = serialize(map, &len);
  cr_expect_eq(load_err(buf, len, &m), SCHEDRT_EMAGIC);
  free(buf);
  /* A CBOR number. */
  unsigned char one = 0x01;
  cr_expect_eq(load_err(&one, 1, &m), SCHEDRT_EMAGIC);
}

Test(dump_model, other_major_version) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR + 1), &len);
  dump_model *m;
  cr_expect_eq(load_err(buf, len, &m), SCHEDRT_EVERSION);
  free(buf);
}

Test(dump_model, wrong_types_give_defaults_not_crashes) {
  cbor_item_t *top = cbor_new_indefinite_map();
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  cbor_item_t *ver = cbor_new_definite_array(2);
  cbor_array_push(ver, cbor_move(cbor_build_uint8(SCHEDRT_DUMP_MAJOR)));
  cbor_array_push(ver, cbor_move(cbor_build_uint8(9)));
  put(top, SCHEDRT_DK_VERSION, ver);
  put(top, SCHEDRT_DK_META, cbor_build_string("not a map"));
  put(top, SCHEDRT_DK_WORKERS, cbor_build_uint8(3));
  cbor_item_t *tasks = cbor_new_definite_array(3);
  cbor_array_push(tasks, cbor_move(cbor_build_uint8(1)));
  cbor_item_t *t = cbor_new_indefinite_map();
  put(t, SCHEDRT_DK_ID, cbor_build_string("seven"));
  put(t, SCHEDRT_DK_NAME, cbor_build_string("bad\x1b[2Jname"));
  put(t, SCHEDRT_DK_STATE, cbor_build_string("teleporting"));
  put(t, SCHEDRT_DK_SPAWN, cbor_build_uint32(1000000));
  cbor_array_push(tasks, cbor_move(t));
  cbor_array_push(tasks, cbor_move(cbor_new_indefinite_map()));
  put(top, SCHEDRT_DK_TASKS, tasks);
  size_t len;
  unsigned char *buf = serialize(top, &len);
  dump_model *m;
  cr_assert_eq(load_err(buf, len, &m), 0);
  cr_expect_eq(m->ntasks, 2u, "non-map entries skipped");
  cr_expect_str_eq(m->tasks[0].state, "unknown", "a state from a newer minor");
  cr_expect_null(strchr(m->tasks[0].name, '\x1b'), "no escape sequences reach the terminal");
  cr_expect_null(m->tasks[0].spawn_file, "out-of-range site index");
  cr_expect(strstr(m->warnings, "task entry 0") != NULL, "%s", m->warnings);
  cr_expect(strstr(m->warnings, "site index") != NULL, "%s", m->warnings);
  dump_model_free(m);
  free(buf);
}

Test(dump_model, hostile_nesting_and_lengths) {
  /* 100000 nested arrays, then a huge declared length: errors, no crash, no giant allocation. */
  size_t n = 100000;
  unsigned char *buf = malloc(n + 16);
  memset(buf, 0x81, n); /* array of 1 */
  buf[n] = 0x01;
  dump_model *m;
  int rc = load_err(buf, n + 1, &m);
  if (rc == 0) {
    json_t *j = dump_json(m); /* the JSON walk is depth-limited */
    json_decref(j);
    dump_model_free(m);
  }
  const unsigned char huge[] = {0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* array of 2^63-1 */
  cr_expect_neq(load_err(huge, sizeof(huge), &m), 0);
  free(buf);
}
