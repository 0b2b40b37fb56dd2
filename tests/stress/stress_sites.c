/*
 * Spawn-site counters under contention: two foreign threads and the workers
 * spawn at 24 sites into a table of 15 (and its overflow row), so sites are
 * interned by racing threads and the table fills while they spawn; a reader
 * thread reads the sites all along. Checks: no site ever shows more ended
 * than spawned tasks (the ends are read first, shm_layout.h), no counter
 * goes back, a site keeps its index, and at the end every site's counts are
 * exact: the interned ones by their file and line, the rest in the overflow
 * row. Plain executable: exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedrt.h"
#include "schedrt/reader.h"
#include "stress.h"

#define NSITES 24
#define TABLE 16 /* descriptors: 15 sites and the overflow row */
#define CHILDREN 2
#define SPAWNERS 2

static schedrt_runtime *rt;
static char files[NSITES][16];
static _Atomic unsigned long expected[NSITES];
static _Atomic unsigned long finished, total;
static _Atomic int stop;

struct job {
  int site, yielded;
};

static schedrt_poll leaf(schedrt_task *t, void *arg) {
  (void)t;
  free(arg);
  atomic_fetch_add(&finished, 1);
  return SCHEDRT_READY;
}

static void spawn_at(int site, schedrt_task_fn fn) {
  struct job *j = calloc(1, sizeof(*j));
  STRESS_CHECK(j != NULL, "calloc");
  j->site = site;
  atomic_fetch_add(&expected[site], 1);
  atomic_fetch_add(&total, 1);
  STRESS_OK(schedrt_spawn_at(rt, fn, j, NULL, NULL, files[site], 1000 + site, "spawn_at"));
}

/* Spawned by a foreign thread: spawns its children from a worker, yields once. */
static schedrt_poll branch(schedrt_task *t, void *arg) {
  struct job *j = arg;
  if (!j->yielded) {
    j->yielded = 1;
    for (int k = 1; k <= CHILDREN; k++)
      spawn_at((j->site + k) % NSITES, leaf);
    schedrt_yield(t);
    return SCHEDRT_PENDING;
  }
  return leaf(t, arg);
}

static void *spawner(void *arg) {
  unsigned long rounds = (unsigned long)(uintptr_t)arg;
  for (unsigned long i = 0; i < rounds; i++)
    spawn_at((int)(i % NSITES), branch);
  return NULL;
}

struct seen {
  int valid;
  uint64_t spawned, ended, polls;
  char file[57];
  uint32_t line;
};

static void check_read(const schedrt_site_snap *s, uint32_t n, struct seen *prev) {
  for (uint32_t i = 0; i < n; i++) {
    STRESS_CHECK(s[i].ended <= s[i].spawned, "site %u: %llu ended of %llu spawned", s[i].index,
                 (unsigned long long)s[i].ended, (unsigned long long)s[i].spawned);
    uint32_t k = s[i].index;
    STRESS_CHECK(k < TABLE && (k == TABLE - 1) == (s[i].overflow != 0), "index %u", k);
    struct seen *p = &prev[k];
    if (p->valid) {
      STRESS_CHECK(s[i].spawned >= p->spawned && s[i].ended >= p->ended && s[i].polls >= p->polls,
                   "site %u went back", k);
      STRESS_CHECK(strcmp(p->file, s[i].file) == 0 && p->line == s[i].line,
                   "site %u changed from %s:%u to %s:%u", k, p->file, p->line, s[i].file, s[i].line);
    }
    *p = (struct seen){1, s[i].spawned, s[i].ended, s[i].polls, "", s[i].line};
    memcpy(p->file, s[i].file, sizeof(p->file));
  }
}

static void *reader_thread(void *arg) {
  schedrt_reader *r = arg;
  schedrt_site_snap s[TABLE];
  struct seen prev[TABLE];
  memset(prev, 0, sizeof(prev));
  unsigned long reads = 0;
  while (!atomic_load(&stop)) {
    uint32_t n = 0;
    STRESS_OK(schedrt_reader_sites(r, s, TABLE, &n));
    STRESS_CHECK(n <= TABLE, "%u sites", n);
    check_read(s, n, prev);
    reads++;
  }
  return (void *)(uintptr_t)reads;
}

static void wait_finished(void) {
  for (int ms = 0; atomic_load(&finished) != atomic_load(&total); ms++) {
    STRESS_CHECK(ms < 120000, "%lu of %lu tasks finished", atomic_load(&finished), atomic_load(&total));
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

/* The totals once idle: a task's end is counted right after its function
 * returned, so the last few may trail `finished` by a moment. */
static void check_totals(schedrt_reader *r) {
  schedrt_site_snap s[TABLE];
  for (int ms = 0;; ms++) {
    uint32_t n = 0;
    STRESS_OK(schedrt_reader_sites(r, s, TABLE, &n));
    unsigned long want_over = 0, got_over = 0, ended = 0;
    int exact = 1;
    unsigned long seen = 0;
    for (int site = 0; site < NSITES; site++) {
      const schedrt_site_snap *m = NULL;
      for (uint32_t i = 0; i < n; i++)
        if (!s[i].overflow && s[i].line == 1000u + (uint32_t)site && strcmp(s[i].file, files[site]) == 0)
          m = &s[i];
      if (m) {
        seen++;
        exact &= m->spawned == atomic_load(&expected[site]);
      } else {
        want_over += atomic_load(&expected[site]);
      }
    }
    for (uint32_t i = 0; i < n; i++) {
      ended += s[i].ended;
      if (s[i].overflow)
        got_over = s[i].spawned;
    }
    STRESS_CHECK(seen == TABLE - 1, "%lu sites in a table of %u", seen, TABLE - 1);
    if (exact && got_over == want_over && ended == atomic_load(&total)) {
      printf("stress_sites: %lu tasks, %lu in the overflow row\n", atomic_load(&total), got_over);
      return;
    }
    STRESS_CHECK(ms < 10000, "totals: exact %d, overflow %lu of %lu, ended %lu of %lu", exact, got_over,
                 want_over, ended, atomic_load(&total));
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

int main(void) {
  for (int i = 0; i < NSITES; i++)
    snprintf(files[i], sizeof(files[i]), "site%02u.c", (unsigned)i % 100u);
  setenv("SCHEDRT_SPAWN_SITES", "16", 1);
  rt = stress_runtime(2);
  schedrt_reader *r = NULL;
  STRESS_OK(schedrt_reader_open_pid(getpid(), NULL, &r));
  STRESS_CHECK(schedrt_reader_site_cap(r) == TABLE, "cap %u", schedrt_reader_site_cap(r));
  pthread_t rd, sp[SPAWNERS];
  STRESS_CHECK(pthread_create(&rd, NULL, reader_thread, r) == 0, "reader thread");
  unsigned long rounds = stress_count(100000, 30000);
  for (int i = 0; i < SPAWNERS; i++)
    STRESS_CHECK(pthread_create(&sp[i], NULL, spawner, (void *)(uintptr_t)rounds) == 0, "spawner");
  for (int i = 0; i < SPAWNERS; i++)
    pthread_join(sp[i], NULL);
  wait_finished();
  atomic_store(&stop, 1);
  void *reads;
  pthread_join(rd, &reads);
  STRESS_CHECK((uintptr_t)reads > 0, "the reader read nothing");
  check_totals(r);
  schedrt_reader_close(r);
  schedrt_runtime_destroy(rt);
  return STRESS_PASS;
}
