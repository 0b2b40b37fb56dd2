/*
 * Event-ring stress: a writer overwrites a small ring (64 records) as fast
 * as it can with the protocol's writer (proto/event_ring.h), every field of
 * event n derived from n, while a reader copies windows through the reader
 * library (schedrt_reader_events) and checks every event it accepted: a
 * torn record that got through the stamps shows as a field that does not
 * match its sequence. Each window must also be consecutive, end at most at
 * the writer's progress, and account for every event (shown + lost =
 * written). Two rounds, as stress_metrics_torn: threads of one process (what
 * TSan can see), then two processes sharing the segment. Plain executable:
 * exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "schedrt/proto/event_ring.h"
#include "schedrt/reader.h"
#include "shm_fixture.h"
#include "stress.h"

#define CAP 64u
#define MIX 0x9e3779b97f4a7c15ull

static struct shm_fixture fx;
static _Atomic int *stop_flag;          /* shared anonymous page: survives fork */
static _Atomic uint64_t *writer_events; /* events written so far (after each one) */

static uint32_t kind_of(uint64_t n) { return 1u + (uint32_t)(n % SCHEDRT_EV__COUNT); }

static void writer_loop(void) {
  struct schedrt_shm_event *rec = fixture_ring(&fx, 0);
  for (uint64_t n = 0; !atomic_load_explicit(stop_flag, memory_order_relaxed); n++) {
    schedrt_ev_record_write(&rec[n % CAP], n, kind_of(n), 3u * n + 1u, n * MIX, ~(n * MIX));
    /* Release: a reader that sees this count sees the record written. */
    atomic_store_explicit(writer_events, n + 1u, memory_order_release);
  }
}

static void *writer_thread(void *arg) {
  (void)arg;
  writer_loop();
  return NULL;
}

struct result {
  unsigned long windows, events, short_windows, torn, went_back;
};

static struct result reader_loop(unsigned long nreads) {
  struct result res = {0};
  schedrt_reader_opts o = {.flags = SCHEDRT_READER_NO_LIVENESS};
  schedrt_reader *r;
  STRESS_OK(schedrt_reader_open_path(fx.path, &o, &r));
  STRESS_CHECK(schedrt_reader_event_cap(r) == CAP, "ring size %u", schedrt_reader_event_cap(r));
  schedrt_event ev[CAP];
  uint64_t last_written = 0;
  for (unsigned long i = 0; i < nreads; i++) {
    schedrt_event_window w;
    STRESS_OK(schedrt_reader_events(r, 0, ev, CAP, &w));
    /* Acquire: pairs with the writer's release after each event. */
    uint64_t done = atomic_load_explicit(writer_events, memory_order_acquire);
    STRESS_CHECK(w.written <= done + 1u, "written %llu, the writer is at %llu", (unsigned long long)w.written,
                 (unsigned long long)done);
    /* A newer window may end earlier: its newest records were being
     * rewritten during the copy (the writer lapped the reader). Counted. */
    res.went_back += w.n && w.written < last_written;
    STRESS_CHECK(w.n + w.lost == w.written, "shown %u + lost %llu != written %llu", w.n,
                 (unsigned long long)w.lost, (unsigned long long)w.written);
    STRESS_CHECK(w.n <= CAP, "window of %u", w.n);
    for (uint32_t k = 0; k < w.n; k++) {
      const schedrt_event *e = &ev[k];
      uint64_t n = e->seq;
      STRESS_CHECK(n == w.written - w.n + k, "event %u of the window has seq %llu", k, (unsigned long long)n);
      STRESS_CHECK(
          e->a == n * MIX && e->b == ~(n * MIX) && e->time_ns == 3u * n + 1u && e->kind == kind_of(n),
          "torn record accepted: seq %llu a %llx b %llx time %llu kind %u", (unsigned long long)n,
          (unsigned long long)e->a, (unsigned long long)e->b, (unsigned long long)e->time_ns, e->kind);
    }
    if (w.n)
      last_written = w.written;
    res.windows++;
    res.events += w.n;
    res.short_windows += w.written >= CAP && w.n < CAP;
    res.torn += w.torn;
  }
  schedrt_reader_close(r);
  return res;
}

static void report(const char *mode, struct result res) {
  printf("%s: %lu windows, %lu events checked, %lu windows cut short by the writer, %lu records seen busy, "
         "%lu windows ending before the previous one, writer at %llu\n",
         mode, res.windows, res.events, res.short_windows, res.torn, res.went_back,
         (unsigned long long)atomic_load(writer_events));
  STRESS_CHECK(res.events > res.windows, "%s: (almost) no events were accepted", mode);
  STRESS_CHECK(atomic_load(writer_events) > 10u * CAP, "%s: the writer never lapped the ring", mode);
}

int main(void) {
  char dir[128];
  unsigned long n = stress_count(200000, 20000);
  void *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  STRESS_CHECK(shared != MAP_FAILED, "mmap");
  stop_flag = shared;
  writer_events = (_Atomic uint64_t *)((char *)shared + 64);
  STRESS_OK(fixture_dir_create(dir, sizeof(dir)));
  STRESS_OK(fixture_segment_create_ev(dir, 1, CAP, 0, 0, 0, &fx));

  /* Round 1: threads (TSan sees both sides). */
  pthread_t th;
  STRESS_CHECK(pthread_create(&th, NULL, writer_thread, NULL) == 0, "pthread_create");
  stress_await_progress(writer_events, 2u * CAP);
  struct result res = reader_loop(n);
  atomic_store(stop_flag, 1);
  pthread_join(th, NULL);
  report("threads", res);

  /* Round 2: processes (the reader maps the segment read-only), a fresh ring. */
  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
  STRESS_OK(fixture_dir_create(dir, sizeof(dir)));
  STRESS_OK(fixture_segment_create_ev(dir, 1, CAP, 0, 0, 0, &fx));
  atomic_store(stop_flag, 0);
  atomic_store(writer_events, 0);
  pid_t child = stress_fork_writer(writer_loop, writer_events, 2u * CAP);
  res = reader_loop(n);
  atomic_store(stop_flag, 1);
  stress_reap_writer(child);
  report("processes", res);

  fixture_segment_close(&fx);
  fixture_dir_remove(dir);
  return STRESS_PASS;
}
