/*
 * The bounded MPSC channel under many producers: tasks that wait in
 * schedrt_channel_send, threads that are not workers (some spinning on
 * try_send, some waiting through schedrt_block_on), one consumer task with a
 * small buffer (capacity 64, so senders queue all the time); some producer
 * tasks give up a queued send now and then and make it again. Every message is
 * received exactly once and in its producer's order, the stream ends when the
 * last sender is dropped, and a lost wake-up shows as the watchdog firing.
 *
 * usage: stress_channel [messages]   (default 10^6, under TSan too: about 1.3 s there)
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "stress.h"

#define JOIN_NS 120000000000ull
enum { TASK_PRODUCERS = 6, SPIN_THREADS = 1, BLOCK_THREADS = 1, CAPACITY = 64 };
enum { PRODUCERS = TASK_PRODUCERS + SPIN_THREADS + BLOCK_THREADS };

static schedrt_runtime *rt;
static schedrt_channel *rx;
static unsigned long per_producer;

struct producer {
  schedrt_sender *tx;
  unsigned id;
  unsigned long next; /* 1-based sequence of the next message */
  uint64_t ticket;
  int status;
  uint64_t rng;          /* not 0: gives up a queued send now and then */
  unsigned long cancels; /* sends given up before they went in */
};
static struct producer prod[PRODUCERS];

static void *msg(unsigned id, unsigned long seq) { return (void *)(uintptr_t)((uint64_t)id << 40 | seq); }

/* One step of a waiting producer: READY when everything is sent (the handle dropped). */
static schedrt_poll produce(schedrt_task *t, void *arg) {
  struct producer *p = arg;
  while (p->next <= per_producer) {
    if (schedrt_channel_send(p->tx, t, msg(p->id, p->next), &p->ticket, &p->status) == SCHEDRT_PENDING) {
      /* A timeout won: cancel. 1: the receiver had already moved it in (it
       * is sent, go on); 0: it was not, send the same message again later.
       * Either way the consumer sees it exactly once, in order. */
      if (p->rng && stress_rand(&p->rng) % 8 == 0) {
        if (schedrt_channel_send_cancel(p->tx, &p->ticket))
          p->next++;
        else
          p->cancels++;
        return schedrt_yield(t);
      }
      return SCHEDRT_PENDING;
    }
    STRESS_CHECK(p->status == 0, "producer %u: send -> %d", p->id, p->status);
    p->next++;
  }
  schedrt_sender_drop(p->tx);
  p->tx = NULL;
  return SCHEDRT_READY;
}

static void *spin_thread(void *arg) {
  struct producer *p = arg;
  for (; p->next <= per_producer; p->next++) {
    int rc;
    while ((rc = schedrt_channel_try_send(p->tx, msg(p->id, p->next))) == -EAGAIN)
      sched_yield();
    STRESS_CHECK(rc == 0, "thread producer %u: try_send -> %s", p->id, schedrt_strerror(rc));
  }
  schedrt_sender_drop(p->tx);
  p->tx = NULL;
  return NULL;
}

static void *block_thread(void *arg) {
  STRESS_OK(schedrt_block_on(rt, produce, arg, NULL));
  return NULL;
}

struct consumer {
  unsigned long seen[PRODUCERS];
  unsigned long total;
  bool ended;
};

static schedrt_poll consume(schedrt_task *t, void *arg) {
  struct consumer *c = arg;
  for (;;) {
    void *v;
    int st;
    if (schedrt_channel_recv(rx, t, &v, &st) == SCHEDRT_PENDING)
      return SCHEDRT_PENDING;
    if (st == -EPIPE) {
      c->ended = true;
      return SCHEDRT_READY;
    }
    STRESS_CHECK(st == 0, "recv status %d", st);
    uint64_t x = (uint64_t)(uintptr_t)v;
    unsigned id = (unsigned)(x >> 40);
    unsigned long seq = (unsigned long)(x & ((1ull << 40) - 1));
    STRESS_CHECK(id < PRODUCERS, "message from producer %u", id);
    STRESS_CHECK(seq == c->seen[id] + 1,
                 "producer %u: got message %lu after %lu (lost, doubled or reordered)", id, seq, c->seen[id]);
    c->seen[id] = seq;
    c->total++;
  }
}

/*
 * Then schedrt_oneshot_close against a send from another thread, while a task
 * waits in schedrt_oneshot_closed: the send either succeeds (the receiver
 * gets the value) or fails with -EPIPE (it gets NULL), and the waiting task
 * is always woken, never twice freed (TSan, ASan).
 */
struct close_race {
  schedrt_oneshot ch;
  _Atomic int go;
  int rc;
  sem_t waiting;
};
static schedrt_poll closed_waiter(schedrt_task *t, void *arg) {
  struct close_race *r = arg;
  if (schedrt_oneshot_closed(&r->ch, t) == SCHEDRT_READY)
    return SCHEDRT_READY;
  sem_post(&r->waiting);
  return SCHEDRT_PENDING;
}
static void *race_sender(void *arg) {
  struct close_race *r = arg;
  while (!atomic_load_explicit(&r->go, memory_order_acquire))
    ;
  r->rc = schedrt_oneshot_send(&r->ch, (void *)1);
  return NULL;
}
static void oneshot_close_phase(unsigned long rounds) {
  for (unsigned long i = 0; i < rounds; i++) {
    static struct close_race r;
    memset(&r, 0, sizeof(r));
    schedrt_oneshot_init(&r.ch);
    sem_init(&r.waiting, 0, 0);
    schedrt_handle *h;
    STRESS_OK(schedrt_spawn_ex(rt, closed_waiter, &r, NULL, &h));
    STRESS_CHECK(stress_sem_wait(&r.waiting, 30), "round %lu: the waiter never waited", i);
    pthread_t th;
    STRESS_CHECK(pthread_create(&th, NULL, race_sender, &r) == 0, "pthread_create");
    atomic_store_explicit(&r.go, 1, memory_order_release);
    schedrt_oneshot_close(&r.ch);
    pthread_join(th, NULL);
    STRESS_CHECK(r.rc == 0 || r.rc == -EPIPE, "round %lu: send -> %d", i, r.rc);
    int rc = schedrt_join(h, JOIN_NS, NULL);
    STRESS_CHECK(rc == 0, "round %lu: the closed() waiter was never woken: %s", i, schedrt_strerror(rc));
    schedrt_oneshot_destroy(&r.ch);
    sem_destroy(&r.waiting);
  }
}

int main(int argc, char **argv) {
  stress_watchdog(150);
  unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 10) : stress_count(1000000, 1000000);
  per_producer = (total + PRODUCERS - 1) / PRODUCERS;
  double t0 = stress_now();
  rt = stress_runtime(2);
  schedrt_sender *tx;
  STRESS_OK(schedrt_channel_create(CAPACITY, &rx, &tx));
  for (unsigned i = 0; i < PRODUCERS; i++)
    prod[i] = (struct producer){.tx = schedrt_sender_clone(tx), .id = i, .next = 1, .rng = i % 2 ? i : 0};
  schedrt_sender_drop(tx); /* the producers hold the only handles: the last one ends the stream */
  static struct consumer c;
  schedrt_handle *hc, *hp[TASK_PRODUCERS];
  STRESS_OK(schedrt_spawn_ex(rt, consume, &c, NULL, &hc));
  for (unsigned i = 0; i < TASK_PRODUCERS; i++)
    STRESS_OK(schedrt_spawn_ex(rt, produce, &prod[i], NULL, &hp[i]));
  pthread_t th[SPIN_THREADS + BLOCK_THREADS];
  for (unsigned i = 0; i < SPIN_THREADS; i++)
    STRESS_CHECK(pthread_create(&th[i], NULL, spin_thread, &prod[TASK_PRODUCERS + i]) == 0, "pthread_create");
  for (unsigned i = 0; i < BLOCK_THREADS; i++)
    STRESS_CHECK(pthread_create(&th[SPIN_THREADS + i], NULL, block_thread,
                                &prod[TASK_PRODUCERS + SPIN_THREADS + i]) == 0,
                 "pthread_create");
  for (unsigned i = 0; i < TASK_PRODUCERS; i++) {
    int rc = schedrt_join(hp[i], JOIN_NS, NULL);
    STRESS_CHECK(rc == 0, "producer %u: %s (a lost wake-up leaves it waiting)", i, schedrt_strerror(rc));
  }
  for (unsigned i = 0; i < SPIN_THREADS + BLOCK_THREADS; i++)
    pthread_join(th[i], NULL);
  int rc = schedrt_join(hc, JOIN_NS, NULL);
  STRESS_CHECK(rc == 0, "consumer: %s (a lost wake-up leaves it waiting)", schedrt_strerror(rc));
  STRESS_CHECK(c.ended, "no end of stream");
  for (unsigned i = 0; i < PRODUCERS; i++)
    STRESS_CHECK(c.seen[i] == per_producer, "producer %u: %lu of %lu received", i, c.seen[i], per_producer);
  STRESS_CHECK(c.total == per_producer * PRODUCERS, "total %lu", c.total);
  unsigned long cancels = 0;
  for (unsigned i = 0; i < TASK_PRODUCERS; i++)
    cancels += prod[i].cancels;
  schedrt_channel_destroy(rx);
  double t1 = stress_now();
  unsigned long rounds = stress_count(20000, 5000);
  oneshot_close_phase(rounds);
  schedrt_runtime_destroy(rt);
  printf("stress_channel: ok: %lu oneshot close/send races in %.2f s\n", rounds, stress_now() - t1);
  printf("stress_channel: ok: %lu messages from %d producers (%d tasks, %d spinning threads, %d block_on "
         "threads; %lu sends given up and made again) in %.2f s\n",
         c.total, PRODUCERS, TASK_PRODUCERS, SPIN_THREADS, BLOCK_THREADS, cancels, t1 - t0);
  return STRESS_PASS;
}
