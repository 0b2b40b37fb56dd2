/*
 * The shared dump reader (common/src/dump_read.c) on real dumps and on
 * hostile ones: every truncation, flipped bytes, another tag, another format,
 * another major version, absurd counts, deep nesting, repeated keys.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "test_dump_util.h"

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
    unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
    memcpy(copy, buf, n);
    int rc = schedrt_dump_parse(copy, n, &d);
    cr_assert(rc == SCHEDRT_ECORRUPT || rc == SCHEDRT_EMAGIC, "prefix %zu: %d", n, rc);
    cr_assert_null(d);
    free(copy);
  }
  free(buf);
}

Test(dump_read, flipped_bytes_never_crash) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  unsigned char *copy = malloc(len);
  srand(4);
  for (int round = 0; round < 3000; round++) {
    memcpy(copy, buf, len);
    for (int k = 0; k < 1 + round % 4; k++)
      copy[(size_t)rand() % len] = (unsigned char)rand();
    schedrt_dump_doc *d;
    if (schedrt_dump_parse(copy, len, &d) == 0)
      schedrt_dump_doc_free(d); /* a flip inside a string or number can stay valid */
  }
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
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), SCHEDRT_EMAGIC, "another format name");
  f[11] = 'p';
  buf[2] = 0xf6; /* tag 55798 */
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), SCHEDRT_EMAGIC, "another tag");
  buf[2] = 0xf7;
  cr_assert_eq(schedrt_dump_parse("\xa0", 1, &d), SCHEDRT_EMAGIC, "no tag");
  cr_assert_eq(schedrt_dump_parse(buf, 0, &d), SCHEDRT_ECORRUPT);
  free(buf);
}

Test(dump_read, another_major_version) {
  size_t len;
  unsigned char *buf = real_dump(&len);
  unsigned char *v = find(buf, len, "\x67version\x82\x01", 10);
  cr_assert_not_null(v);
  v[9] = 0x02;
  schedrt_dump_doc *d;
  cr_assert_eq(schedrt_dump_parse(buf, len, &d), SCHEDRT_EVERSION);
  v[9] = 0x01;
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
