/*
 * Torn-read stress: a writer keeps invariants across every field of the
 * worker slots (both halves: the worker's section, the live poll count
 * stored outside it, the monitor's section with the task's id, name and
 * spawn site) and the global area (all derived from one counter k), and a
 * reader checks them on millions of snapshots taken through the reader
 * library. Any torn read that got through a seqlock shows as a broken
 * invariant. Two rounds: writer and reader as threads of one process (what
 * TSan can see), then as two processes sharing the segment (the real
 * deployment). Plain executable: exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "schedrt/proto/seqlock.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"
#include "stress.h"

#define NWORKERS 4

static struct shm_fixture fx;
static _Atomic int *stop_flag;          /* shared anonymous page: survives fork */
static _Atomic uint64_t *writer_rounds; /* the last round written */

static void task_strings(uint64_t v, char *name, size_t nsize, char *file, size_t fsize) {
  snprintf(name, nsize, "task-%llu", (unsigned long long)v);
  snprintf(file, fsize, "src/some/long/directory/name/file-%llu.c", (unsigned long long)v);
}

/* Round k, as the runtime's worker and monitor write it: worker section,
 * then the live poll count, then the monitor's naming of that poll. */
static void write_round(uint64_t k) {
  for (uint32_t w = 0; w < NWORKERS; w++) {
    struct schedrt_shm_wslot *s = fixture_slot(&fx, w);
    uint64_t v = k * NWORKERS + w;
    uint64_t odd = schedrt_seq_write_begin(&s->seq);
    SCHEDRT_SEQ_STORE(&s->state, (uint32_t)(v % 4));
    SCHEDRT_SEQ_STORE(&s->lifo, (uint32_t)(v & 1));
    SCHEDRT_SEQ_STORE(&s->poll_task, v * 11);
    SCHEDRT_SEQ_STORE(&s->local_queue_depth, v % 257);
    SCHEDRT_SEQ_STORE(&s->ticks, v * 2);
    SCHEDRT_SEQ_STORE(&s->local_schedules, v + 1);
    SCHEDRT_SEQ_STORE(&s->overflows, v + 2);
    SCHEDRT_SEQ_STORE(&s->steals, v + 3);
    SCHEDRT_SEQ_STORE(&s->steal_ops, v + 4);
    SCHEDRT_SEQ_STORE(&s->parks, v + 5);
    SCHEDRT_SEQ_STORE(&s->unparks, v + 6);
    SCHEDRT_SEQ_STORE(&s->noop_unparks, v + 7);
    SCHEDRT_SEQ_STORE(&s->busy_ns, v * 5);
    SCHEDRT_SEQ_STORE(&s->active_since_ns, 0);
    schedrt_seq_write_end(&s->seq, odd);
    fixture_write_polls(s, v);
    char name[32], file[80];
    task_strings(v, name, sizeof(name), file, sizeof(file));
    fixture_write_monitor(s, v, v * 3, v * 7 + 1, name, file, (uint32_t)(v % 100000));
  }
  struct schedrt_shm_global *g = fixture_global(&fx);
  uint64_t odd = schedrt_seq_write_begin(&g->seq);
  SCHEDRT_SEQ_STORE(&g->inject_depth, k);
  SCHEDRT_SEQ_STORE(&g->alive, k * 2);
  SCHEDRT_SEQ_STORE(&g->spawned, k * 3);
  SCHEDRT_SEQ_STORE(&g->remote_schedules, k * 4);
  SCHEDRT_SEQ_STORE(&g->nworkers, k * 5);
  schedrt_seq_write_end(&g->seq, odd);
}

static void writer_loop(void) {
  /* Continue after the last round written, skipping none: the reader allows
   * the live poll count to lag its section by one round, not by two. */
  uint64_t k = atomic_load_explicit(writer_rounds, memory_order_relaxed) + 1;
  /* A bound of its own, in case the reader died without saying stop. */
  uint64_t deadline = fixture_now_ns() + 300ull * 1000000000u;
  /* Relaxed: a stop request; the rounds counter is only a progress report. */
  while (!atomic_load_explicit(stop_flag, memory_order_relaxed)) {
    if ((k & 0xffff) == 0 && fixture_now_ns() > deadline)
      break;
    write_round(k);
    atomic_store_explicit(writer_rounds, k, memory_order_relaxed);
    k++;
  }
}

static void *writer_thread(void *arg) {
  (void)arg;
  writer_loop();
  return NULL;
}

struct result {
  unsigned long snapshots, torn, checks, distinct, tasks;
};

static void check_snapshot(const schedrt_snapshot *s, uint64_t *last_polls, struct result *res) {
  for (uint32_t w = 0; w < s->nworkers; w++) {
    const schedrt_worker_snap *x = &s->workers[w];
    if (x->torn)
      continue;
    if (x->ticks == 0)
      continue; /* not written yet */
    uint64_t v = x->ticks / 2;
    STRESS_CHECK(v % NWORKERS == w, "worker %u got ticks %llu of another slot", w,
                 (unsigned long long)x->ticks);
    STRESS_CHECK(x->ticks == v * 2 && x->state == v % 4 && x->lifo == (v & 1) &&
                     x->local_queue_depth == v % 257 && x->local_schedules == v + 1 &&
                     x->overflows == v + 2 && x->steals == v + 3 && x->steal_ops == v + 4 &&
                     x->parks == v + 5 && x->unparks == v + 6 && x->noop_unparks == v + 7 &&
                     x->busy_ns == v * 5,
                 "torn worker %u: ticks %llu depth %llu busy %llu", w, (unsigned long long)x->ticks,
                 (unsigned long long)x->local_queue_depth, (unsigned long long)x->busy_ns);
    /* polls is stored after the section: this round's or (not yet) the previous one's, or later. */
    STRESS_CHECK(x->polls + NWORKERS >= v, "worker %u: polls %llu behind section %llu", w,
                 (unsigned long long)x->polls, (unsigned long long)v);
    STRESS_CHECK(x->polls >= last_polls[w], "worker %u went backwards: %llu after %llu", w,
                 (unsigned long long)x->polls, (unsigned long long)last_polls[w]);
    if (x->current_task != 0) {
      /* Shown only when the monitor's section names the poll `polls` (and the
       * worker runs): everything in that section must belong together. */
      uint64_t p = x->polls;
      char name[32], file[80];
      task_strings(p, name, sizeof(name), file, sizeof(file));
      size_t fl = strlen(file);
      const char *tail = fl > SCHEDRT_SHM_TASK_FILE_LEN ? file + fl - SCHEDRT_SHM_TASK_FILE_LEN : file;
      STRESS_CHECK(x->state == SCHEDRT_WSTATE_RUNNING, "worker %u: a task while in state %llu", w,
                   (unsigned long long)x->state);
      STRESS_CHECK(
          x->current_task == p * 7 + 1 && x->current_since_ns == p * 3 && x->current_line == p % 100000,
          "torn monitor half %u: polls %llu task %llu since %llu line %u", w, (unsigned long long)p,
          (unsigned long long)x->current_task, (unsigned long long)x->current_since_ns, x->current_line);
      STRESS_CHECK(strcmp(x->current_name, name) == 0 &&
                       strncmp(x->current_file, tail, SCHEDRT_SHM_TASK_FILE_LEN) == 0,
                   "torn strings %u: polls %llu name '%s' file '%s'", w, (unsigned long long)p,
                   x->current_name, x->current_file);
      res->tasks++;
    }
    if (x->polls != last_polls[w])
      res->distinct++;
    last_polls[w] = x->polls;
    res->checks++;
  }
  if (!s->global.torn) {
    uint64_t k = s->global.inject_depth;
    STRESS_CHECK(s->global.alive == 2 * k && s->global.spawned == 3 * k &&
                     s->global.remote_schedules == 4 * k && s->global.nworkers == 5 * k,
                 "torn global: %llu %llu %llu", (unsigned long long)k, (unsigned long long)s->global.alive,
                 (unsigned long long)s->global.spawned);
    res->checks++;
  }
}

static struct result reader_loop(unsigned long n) {
  struct result res = {0};
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_LIVENESS};
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_path(fx.path, &o, &r));
  schedrt_snapshot s;
  STRESS_OK(schedrt_snapshot_init(r, &s));
  uint64_t last[NWORKERS] = {0};
  for (unsigned long i = 0; i < n; i++) {
    int rc = schedrt_snapshot_take(r, SCHEDRT_SNAP_NO_LIVENESS, &s);
    STRESS_CHECK(rc == 0 || rc == SCHEDRT_ETORN, "take: %s", schedrt_strerror(rc));
    res.torn += rc != 0;
    res.snapshots++;
    check_snapshot(&s, last, &res);
  }
  schedrt_snapshot_fini(&s);
  schedrt_reader_close(r);
  return res;
}

static void report(const char *mode, struct result res) {
  printf("%s: %lu snapshots, %lu field-group checks, %lu progressions seen, %lu tasks named, %lu gave up "
         "(ETORN), "
         "writer rounds %llu\n",
         mode, res.snapshots, res.checks, res.distinct, res.tasks, res.torn,
         (unsigned long long)atomic_load(writer_rounds));
  STRESS_CHECK(res.distinct > 100, "%s: the writer never overlapped the reader", mode);
  STRESS_CHECK(res.tasks > 10, "%s: the monitor half was (almost) never shown", mode);
  STRESS_CHECK(res.torn * 10 < res.snapshots, "%s: too many snapshots gave up", mode);
}

int main(void) {
  char dir[128];
  unsigned long n = stress_count(1000000, 50000);
  void *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  STRESS_CHECK(shared != MAP_FAILED, "mmap");
  stop_flag = shared;
  writer_rounds = (_Atomic uint64_t *)((char *)shared + 64);
  STRESS_OK(fixture_dir_create(dir, sizeof(dir)));
  STRESS_OK(fixture_segment_create(dir, NWORKERS, 0, 0, 0, &fx));

  /* Round 1: threads (TSan sees both sides). */
  pthread_t th;
  STRESS_CHECK(pthread_create(&th, NULL, writer_thread, NULL) == 0, "pthread_create");
  stress_await_progress(writer_rounds, 2u);
  struct result res = reader_loop(n);
  atomic_store(stop_flag, 1);
  pthread_join(th, NULL);
  report("threads", res);

  /* Round 2: processes (the reader maps the segment read-only). */
  atomic_store(stop_flag, 0);
  /* The reader waits for the child's first rounds: reads of a segment the
   * writer has not touched yet would see no progression. */
  pid_t child = stress_fork_writer(writer_loop, writer_rounds, atomic_load(writer_rounds) + 2u);
  res = reader_loop(n);
  atomic_store(stop_flag, 1);
  stress_reap_writer(child);
  report("processes", res);

  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
  return STRESS_PASS;
}
