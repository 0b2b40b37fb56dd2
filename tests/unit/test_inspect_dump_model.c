/*
 * The inspector's view of a dump: dumps built here with libcbor's builders,
 * spelled with the keys of dump_keys.h, decoded by the one decoder
 * (common/src/dump_read.c, as sched-inspect loads them), then dump_group.c's
 * sorting and grouping, dump_json.c's faithful JSON, dump_report.c's report,
 * and what sched-inspect gets for bad input (a message, no partial model).
 * The decoder's own hostile-input tests are in test_dump_read.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>

#include "dump_analysis_json.h"
#include "dump_group.h"
#include "dump_json.h"
#include "dump_report.h"
#include "schedrt.h"
#include "schedrt/proto/dump_keys.h"

static void put(cbor_item_t *map, const char *k, cbor_item_t *v) {
  cr_assert(
      cbor_map_add(map, (struct cbor_pair){.key = cbor_move(cbor_build_string(k)), .value = cbor_move(v)}));
}

/* Definite lengths, as the format requires: room for 32 entries, written with the count added. */
static cbor_item_t *new_map(void) { return cbor_new_definite_map(32); }

static cbor_item_t *site(const char *file, int line, const char *func, const char *label) {
  cbor_item_t *s = new_map();
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
    {1, "conn-1", "idle", -1, 0, 3000000000ull},     {2, "conn-2", "idle", -1, 0, 5000000000ull},
    {3, "ticker", "idle", -1, 1, 10000000ull},       {4, "worker-job", "local", 1, -1, 2000000ull},
    {5, "spinner", "running", 0, -1, 1500000000ull}, {6, "conn-3", "idle", -1, 0, 1000000000ull},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* A dump like the runtime writes, with `major` as its version. */
static cbor_item_t *build_dump(uint64_t major) {
  cbor_item_t *top = new_map();
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  cbor_item_t *ver = cbor_new_definite_array(2);
  cbor_array_push(ver, cbor_move(cbor_build_uint64(major)));
  cbor_array_push(ver, cbor_move(cbor_build_uint8(0)));
  put(top, SCHEDRT_DK_VERSION, ver);

  cbor_item_t *meta = new_map();
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
  cbor_item_t *w0 = new_map();
  put(w0, SCHEDRT_DK_INDEX, cbor_build_uint8(0));
  put(w0, SCHEDRT_DK_ROLE, cbor_build_string("missing"));
  put(w0, SCHEDRT_DK_REASON, cbor_build_string("polling"));
  put(w0, SCHEDRT_DK_CURRENT, cbor_build_uint8(5));
  put(w0, SCHEDRT_DK_RUNNING_NS, cbor_build_uint64(1500000000ull));
  put(w0, SCHEDRT_DK_RUNNING_SRC, cbor_build_string("monitor"));
  cbor_array_push(workers, cbor_move(w0));
  cbor_item_t *w1 = new_map();
  put(w1, SCHEDRT_DK_INDEX, cbor_build_uint8(1));
  put(w1, SCHEDRT_DK_ROLE, cbor_build_string("leader"));
  put(w1, SCHEDRT_DK_LOCAL_QUEUE, cbor_build_uint8(1));
  put(w1, SCHEDRT_DK_LIFO, cbor_new_null());
  cbor_array_push(workers, cbor_move(w1));
  put(top, SCHEDRT_DK_WORKERS, workers);

  cbor_item_t *inj = new_map();
  put(inj, SCHEDRT_DK_DEPTH, cbor_build_uint8(0));
  put(top, SCHEDRT_DK_INJECTION, inj);

  cbor_item_t *tasks = cbor_new_definite_array(NSPECS);
  for (size_t i = 0; i < NSPECS; i++) {
    cbor_item_t *t = new_map();
    put(t, SCHEDRT_DK_ID, cbor_build_uint64(specs[i].id));
    put(t, SCHEDRT_DK_NAME, cbor_build_string(specs[i].name));
    put(t, SCHEDRT_DK_STATE, cbor_build_string(specs[i].state));
    put(t, SCHEDRT_DK_WORKER,
        specs[i].worker >= 0 ? cbor_build_uint8((uint8_t)specs[i].worker) : cbor_new_null());
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

/* As sched-inspect loads a file for `show --json` (the others only lack KEEP_CBOR). */
#define LOAD_FLAGS (INSPECT_DUMP_FLAGS | SCHEDRT_DUMP_KEEP_CBOR)

static schedrt_dump_doc *load_ok(uint64_t major) {
  size_t len;
  unsigned char *buf = serialize(build_dump(major), &len);
  cr_assert(len > 3 && buf[0] == 0xd9 && buf[1] == 0xd9 && buf[2] == 0xf7, "self-describe tag first");
  schedrt_dump_doc *m;
  char err[256];
  int rc = schedrt_dump_parse_ex(buf, len, LOAD_FLAGS, &m, err, sizeof(err));
  free(buf);
  cr_assert_eq(rc, 0, "%s", err);
  return m;
}

static const char *state_of(const schedrt_dump_task *t) { return schedrt_dump_state_text(t->state); }

Test(dump_model, decodes_every_section) {
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
  cr_expect_str_eq(m->runtime, "demo");
  cr_expect_eq(m->pid, 4242u);
  cr_expect_str_eq(m->status, "PARTIAL");
  cr_expect_str_eq(m->label, "unit test");
  cr_expect_eq(m->ncovered, 1u);
  cr_expect_eq(m->nmissing, 1u);
  cr_assert_eq(m->nworkers_listed, 2u);
  cr_expect_str_eq(schedrt_dump_role_text(m->workers[0].role), "missing");
  cr_expect_str_eq(schedrt_dump_reason_text(m->workers[0].reason), "polling");
  cr_expect_eq(m->workers[0].current_task, 5);
  cr_expect_eq(m->workers[1].local_queue, 1);
  cr_expect_eq(m->workers[1].lifo, SCHEDRT_DUMP_NONE, "null lifo: not known");
  cr_expect_null(schedrt_dump_reason_text(m->workers[1].reason), "no reason: not missing");
  cr_assert_eq(m->ntasks, NSPECS);
  const schedrt_dump_task *t = schedrt_dump_find_task(m, 3);
  cr_assert_not_null(t);
  cr_expect_str_eq(t->name, "ticker");
  const schedrt_dump_site *aw = schedrt_dump_await_site(m, t), *sp = schedrt_dump_spawn_site(m, t);
  cr_assert(aw && sp);
  cr_expect_str_eq(aw->label, "tick-sleep");
  cr_expect_str_eq(aw->file, "tick.c");
  cr_expect_eq(aw->line, 30u);
  cr_expect_str_eq(sp->file, "server.c");
  cr_expect_str_eq(sp->func, "accept_loop");
  t = schedrt_dump_find_task(m, 5);
  cr_expect_null(schedrt_dump_await_site(m, t), "null await: none");
  cr_expect_str_eq(schedrt_dump_spawn_site(m, t)->file, "spin.c");
  cr_expect_eq(t->worker, 0);
  cr_expect_eq(schedrt_dump_find_task(m, 99), NULL);
  cr_expect_not_null(m->cbor, "kept for the JSON");
  schedrt_dump_doc_free(m);
}

Test(dump_model, groups_by_await_point_and_state_running_then_longest_idle_first) {
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
  task_group *g;
  size_t n;
  cr_assert_eq(dump_group_tasks(m, &g, &n), 0);
  cr_assert_eq(n, 4u, "none/running, read-request/idle, tick-sleep/idle, none/local");
  cr_expect_eq(g[0].state, SCHEDRT_DUMP_STATE_RUNNING, "what runs comes first, whatever the idle times");
  cr_expect_str_eq(g[1].await_label, "read-request");
  cr_expect_eq(g[1].count, 3u);
  cr_expect_eq(g[1].max_idle_ns, 5000000000ull);
  cr_expect_eq(m->tasks[g[1].members[0]].id, 2u, "longest idle first");
  cr_expect_eq(m->tasks[g[1].members[2]].id, 6u);
  cr_expect_str_eq(g[2].await_label, "tick-sleep");
  cr_expect_eq(g[3].state, SCHEDRT_DUMP_STATE_LOCAL);
  dump_groups_free(g, n);
  schedrt_dump_doc_free(m);
}

Test(dump_model, sorts) {
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
  size_t o[NSPECS];
  dump_sort_tasks(m, TSORT_STATE, 0, o);
  cr_expect_str_eq(state_of(&m->tasks[o[0]]), "running");
  cr_expect_str_eq(state_of(&m->tasks[o[1]]), "local");
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
  schedrt_dump_doc_free(m);
}

Test(dump_model, running_tasks_without_state_time) {
  /* A real dump writes null state_ns for a running task: sorted as 0, shown with its worker's running_ns. */
  cbor_item_t *tag = build_dump(SCHEDRT_DUMP_MAJOR), *top = cbor_tag_item(tag);
  cbor_item_t *tasks = NULL;
  for (size_t i = 0; i < cbor_map_size(top); i++)
    if (cbor_string_length(cbor_map_handle(top)[i].key) == 5 &&
        memcmp(cbor_string_handle(cbor_map_handle(top)[i].key), "tasks", 5) == 0)
      tasks = cbor_map_handle(top)[i].value;
  cr_assert_not_null(tasks);
  cbor_item_t *spinner = cbor_array_handle(tasks)[4];
  struct cbor_pair *p = cbor_map_handle(spinner);
  for (size_t i = 0; i < cbor_map_size(spinner); i++)
    if (cbor_string_length(p[i].key) == 8 && memcmp(cbor_string_handle(p[i].key), "state_ns", 8) == 0) {
      cbor_decref(&p[i].value);
      p[i].value = cbor_new_null();
    }
  cbor_decref(&top);
  size_t len;
  unsigned char *buf = serialize(tag, &len);
  schedrt_dump_doc *m;
  char err[256];
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, INSPECT_DUMP_FLAGS, &m, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(schedrt_dump_find_task(m, 5)->state_ns, SCHEDRT_DUMP_NONE);
  size_t o[NSPECS];
  dump_sort_tasks(m, TSORT_IDLE, 0, o);
  cr_expect_eq(m->tasks[o[NSPECS - 1]].id, 5u, "unknown idle time sorts as the shortest");
  char *text = NULL;
  size_t tl = 0;
  FILE *f = open_memstream(&text, &tl);
  dump_report_print(m, f, 0);
  fclose(f);
  /* Its time is its worker's running_ns (1.5 s: worker 0 is missing, polling task 5). */
  cr_expect(strstr(text, "#5        spinner              running 1.50s") != NULL, "%s", text);
  free(text);
  schedrt_dump_doc_free(m);
  free(buf);
}

Test(dump_model, faithful_json) {
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
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
  /* Every key of the file, in its order (the top map has 8, the first task 9). */
  cr_expect_eq(json_object_size(j), 8u);
  cr_expect_eq(json_object_size(json_array_get(tasks, 0)), 9u);
  cr_expect_str_eq(json_object_iter_key(json_object_iter(j)), SCHEDRT_DK_FORMAT);
  json_decref(j);
  schedrt_dump_doc_free(m);
}

Test(dump_model, show_json_adds_the_analysis_after_the_dump) {
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
  json_t *j = dump_json_with_analysis(m), *plain = dump_json(m);
  cr_assert(json_is_object(j));
  cr_expect_eq(json_object_size(j), 9u, "the dump's 8 keys and analysis");
  json_t *a = json_incref(json_object_get(j, "analysis")); /* ours: it outlives the json_object_del below */
  cr_assert(json_is_object(a));
  /* Each task's await point and spawn site, resolved beside their indices. */
  json_t *tasks = json_object_get(j, SCHEDRT_DK_TASKS), *t;
  size_t i, nresolved = 0;
  json_array_foreach(tasks, i, t) {
    json_t *aw = json_object_get(t, SCHEDRT_DK_AWAIT), *sp = json_object_get(t, SCHEDRT_DK_SPAWN);
    json_t *want_aw = json_is_integer(aw) ? json_array_get(json_object_get(j, SCHEDRT_DK_AWAIT_SITES),
                                                           (size_t)json_integer_value(aw))
                                          : NULL;
    json_t *want_sp = json_is_integer(sp) ? json_array_get(json_object_get(j, SCHEDRT_DK_SPAWN_SITES),
                                                           (size_t)json_integer_value(sp))
                                          : NULL;
    cr_expect(want_aw ? json_equal(json_object_get(t, "await_site"), want_aw)
                      : json_is_null(json_object_get(t, "await_site")),
              "task %zu: await_site", i);
    cr_expect(want_sp ? json_equal(json_object_get(t, "spawn_site"), want_sp)
                      : json_is_null(json_object_get(t, "spawn_site")),
              "task %zu: spawn_site", i);
    nresolved += want_aw != NULL;
    json_object_del(t, "await_site");
    json_object_del(t, "spawn_site");
  }
  cr_expect(nresolved > 0, "no task has an await point to resolve");
  /* The rest is the faithful conversion, unchanged. */
  json_object_del(j, "analysis");
  cr_expect(json_equal(j, plain));
  /* Worker 0 is missing, polling task 5 ("spinner"). A 1.0 dump says nothing about wakers. */
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(a, "counts"), "stuck_workers")), 1);
  json_t *stuck = json_array_get(json_object_get(a, "stuck_workers"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(stuck, "task"), "name")), "spinner");
  cr_expect(json_is_false(json_object_get(a, "wake_info")));
  json_decref(a);
  json_decref(j);
  json_decref(plain);
  schedrt_dump_doc_free(m);
}

Test(dump_model, json_needs_the_kept_items) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR), &len);
  schedrt_dump_doc *m;
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, INSPECT_DUMP_FLAGS, &m, NULL, 0), 0);
  cr_expect_null(m->cbor, "no item tree unless asked for");
  json_t *j = dump_json(m);
  cr_expect(json_is_null(j));
  json_decref(j);
  schedrt_dump_doc_free(m);
  free(buf);
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
  schedrt_dump_doc *m = load_ok(SCHEDRT_DUMP_MAJOR);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  dump_report_print(m, f, 2);
  fclose(f);
  cr_expect(strstr(text, "status PARTIAL") != NULL);
  cr_expect(strstr(text, "covered 1, missing 1") != NULL);
  cr_expect(strstr(text, "format schedrt-dump 1.0") != NULL);
  cr_expect(strstr(text, "await \"read-request\" at conn.c:140") != NULL);
  cr_expect(strstr(text, "missing") != NULL && strstr(text, "polling, monitor") != NULL, "%s", text);
  cr_expect(strstr(text, "... 1 more") != NULL, "per-group limit");
  cr_expect(strstr(text, "spawned at server.c:88 (accept_loop)") != NULL);
  free(text);
  schedrt_dump_doc_free(m);
}

/* What sched-inspect gets for a bad file: an error with a message, never a partial model. */
static int load_err(const unsigned char *buf, size_t len) {
  char err[256] = "";
  schedrt_dump_doc *m = (schedrt_dump_doc *)1;
  int rc = schedrt_dump_parse_ex(buf, len, LOAD_FLAGS, &m, err, sizeof(err));
  if (rc) {
    cr_expect(strlen(err) > 5, "an error needs a message");
    cr_expect_null(m);
  } else {
    schedrt_dump_doc_free(m);
  }
  return rc;
}

Test(dump_model, truncated_file_is_an_error) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR), &len);
  for (size_t cut = 0; cut < len; cut += 1 + cut / 8)
    cr_expect_neq(load_err(buf, cut), 0, "cut at %zu of %zu", cut, len);
  free(buf);
}

Test(dump_model, trailing_garbage_after_a_complete_dump) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR), &len);
  buf = realloc(buf, len + 3);
  buf[len] = 0xff; /* a lone "break": not an item */
  buf[len + 1] = 0x1c;
  buf[len + 2] = 0x00;
  char err[256];
  schedrt_dump_doc *m;
  cr_expect_eq(schedrt_dump_parse_ex(buf, len + 3, LOAD_FLAGS, &m, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect(strstr(err, "3 bytes after the dump") != NULL, "%s", err);
  free(buf);
}

Test(dump_model, not_a_dump) {
  char err[256];
  schedrt_dump_doc *m;
  /* 'n' starts a CBOR text string: valid CBOR, but no tag. The CLI test greps this message. */
  cr_expect_eq(schedrt_dump_parse_ex("not a dump at all", 17, LOAD_FLAGS, &m, err, sizeof(err)),
               SCHEDRT_EMAGIC);
  cr_expect(strstr(err, "not a schedrt dump") != NULL, "%s", err);
  cr_expect_eq(load_err((const unsigned char *)"", 0), SCHEDRT_ECORRUPT);
  /* A valid CBOR map from somewhere else, tagged as self-described. */
  cbor_item_t *map = new_map();
  put(map, "format", cbor_build_string("something-else"));
  size_t len;
  unsigned char *buf = serialize(cbor_build_tag(SCHEDRT_DUMP_SELF_DESCRIBE_TAG, cbor_move(map)), &len);
  cr_expect_eq(schedrt_dump_parse_ex(buf, len, LOAD_FLAGS, &m, err, sizeof(err)), SCHEDRT_EMAGIC);
  cr_expect(strstr(err, "something-else") != NULL, "%s", err);
  free(buf);
  /* A CBOR number. */
  unsigned char one = 0x01;
  cr_expect_eq(load_err(&one, 1), SCHEDRT_EMAGIC);
}

Test(dump_model, other_major_version) {
  size_t len;
  unsigned char *buf = serialize(build_dump(SCHEDRT_DUMP_MAJOR + 1), &len);
  cr_expect_eq(load_err(buf, len), SCHEDRT_EVERSION);
  free(buf);
}

Test(dump_model, wrong_types_are_errors_that_say_where) {
  cbor_item_t *top = new_map();
  put(top, SCHEDRT_DK_FORMAT, cbor_build_string(SCHEDRT_DUMP_FORMAT));
  cbor_item_t *ver = cbor_new_definite_array(2);
  cbor_array_push(ver, cbor_move(cbor_build_uint8(SCHEDRT_DUMP_MAJOR)));
  cbor_array_push(ver, cbor_move(cbor_build_uint8(9)));
  put(top, SCHEDRT_DK_VERSION, ver);
  put(top, SCHEDRT_DK_META, cbor_build_string("not a map"));
  size_t len;
  unsigned char *buf = serialize(cbor_build_tag(SCHEDRT_DUMP_SELF_DESCRIBE_TAG, cbor_move(top)), &len);
  char err[256];
  schedrt_dump_doc *m;
  cr_expect_eq(schedrt_dump_parse_ex(buf, len, LOAD_FLAGS, &m, err, sizeof(err)), SCHEDRT_ECORRUPT);
  cr_expect(strstr(err, "meta: expected a map, found a text string") != NULL, "%s", err);
  free(buf);
}

Test(dump_model, escape_sequences_never_reach_the_terminal) {
  cbor_item_t *tag = build_dump(SCHEDRT_DUMP_MAJOR), *top = cbor_tag_item(tag);
  put(top, "extra", cbor_build_string("\x1b[2J")); /* an unknown key: skipped */
  cbor_decref(&top);
  size_t len;
  unsigned char *buf = serialize(tag, &len);
  unsigned char *name = memmem(buf, len, "conn-1", 6);
  cr_assert_not_null(name);
  memcpy(name, "\x1b[2J\x9b", 5); /* ESC, then a raw C1 byte: not UTF-8 */
  cr_expect_eq(load_err(buf, len), SCHEDRT_ECORRUPT, "a raw 0x9b is not UTF-8");
  memcpy(name, "\x1b[\xc2\x9b-", 5); /* ESC, then CSI as UTF-8 (U+009B) */
  schedrt_dump_doc *m;
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, INSPECT_DUMP_FLAGS, &m, NULL, 0), 0);
  cr_expect_str_eq(schedrt_dump_find_task(m, 1)->name, "?[?"
                                                       "?-1");
  schedrt_dump_doc_free(m);
  cr_assert_eq(schedrt_dump_parse_ex(buf, len, 0, &m, NULL, 0), 0);
  cr_expect_str_eq(schedrt_dump_find_task(m, 1)->name, "\x1b[\xc2\x9b-1", "without the flag: as written");
  schedrt_dump_doc_free(m);
  free(buf);
}

Test(dump_model, hostile_nesting_and_lengths) {
  /* 100000 nested arrays, then a huge declared length: errors, no crash, no giant allocation. */
  size_t n = 100000;
  unsigned char *buf = malloc(n + 16);
  memcpy(buf, "\xd9\xd9\xf7\xa1\x61z", 6);
  memset(buf + 6, 0x81, n); /* array of 1 */
  buf[n + 6] = 0x01;
  cr_expect_eq(load_err(buf, n + 7), SCHEDRT_ECORRUPT);
  /* Arrays of 2^63-1 and of 2^37 elements: libcbor's cbor_load would allocate the latter (1 TiB) at once. */
  const unsigned char huge[] = {0xd9, 0xd9, 0xf7, 0xa1, 0x61, 'z',  0x9b, 0x7f,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  cr_expect_eq(load_err(huge, sizeof(huge)), SCHEDRT_ECORRUPT);
  const unsigned char tib[] = {0xd9, 0xd9, 0xf7, 0xa1, 0x61, 'z', 0x9b, 0, 0, 0, 0x20, 0, 0, 0, 0};
  cr_expect_eq(load_err(tib, sizeof(tib)), SCHEDRT_ECORRUPT);
  free(buf);
}
