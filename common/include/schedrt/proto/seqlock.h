/*
 * Single-writer seqlock over a 64-bit sequence, in the form that is correct
 * under the C11 memory model (Boehm, "Can seqlocks get along with programming
 * language memory models?", MSPC 2012):
 *
 *   writer: seq = s+1 (relaxed); release fence; data stores (relaxed);
 *           seq = s+2 (release)
 *   reader: s0 = seq (acquire); data loads (relaxed); acquire fence;
 *           retry if s0 is odd or seq != s0
 *
 * Every protected field is an _Atomic of at most 64 bits: a plain or
 * memcpy'd racing read would be a data race (undefined behaviour, and TSan
 * says so). On x86-64 both fences compile to nothing and relaxed accesses are
 * plain MOVs, so this costs what the classic racy version costs.
 *
 * TSan does not model stand-alone fences (GCC even warns about them under
 * -fsanitize=thread). With SCHEDRT_TSAN=1 the fences are dropped and data
 * stores become release, data loads acquire, which gives the same
 * guarantees through the accesses themselves (a reader's acquire load that
 * sees a post-begin store synchronises with it, so its later seq load sees
 * the odd value or a newer one).
 */
#ifndef SCHEDRT_PROTO_SEQLOCK_H
#define SCHEDRT_PROTO_SEQLOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* SCHEDRT_TSAN=1 comes from the build (CMake, under -fsanitize=thread). */
#if defined(SCHEDRT_TSAN) && SCHEDRT_TSAN
#define SCHEDRT__SEQ_TSAN 1
#else
#define SCHEDRT__SEQ_TSAN 0
#endif

#if SCHEDRT__SEQ_TSAN
#define SCHEDRT_SEQ_STORE_ORDER memory_order_release
#define SCHEDRT_SEQ_LOAD_ORDER memory_order_acquire
#else
#define SCHEDRT_SEQ_STORE_ORDER memory_order_relaxed
#define SCHEDRT_SEQ_LOAD_ORDER memory_order_relaxed
#endif

/* A data store inside a write section. */
#define SCHEDRT_SEQ_STORE(field, value) atomic_store_explicit((field), (value), SCHEDRT_SEQ_STORE_ORDER)
/* A data load inside a read section: copy only, decide nothing before the retry check. */
#define SCHEDRT_SEQ_LOAD(field) atomic_load_explicit((field), SCHEDRT_SEQ_LOAD_ORDER)

static inline void schedrt_seq_fence_release(void) {
#if !SCHEDRT__SEQ_TSAN
  /* W1: orders the odd sequence before the data stores that follow. */
  atomic_thread_fence(memory_order_release);
#endif
}

static inline void schedrt_seq_fence_acquire(void) {
#if !SCHEDRT__SEQ_TSAN
  /* R2: orders the data loads before the re-read of the sequence. */
  atomic_thread_fence(memory_order_acquire);
#endif
}

/*
 * Starts a write section. Single writer only: the sequence is read and
 * written without an RMW (no lock prefix). Returns the odd value to pass to
 * schedrt_seq_write_end.
 */
static inline uint64_t schedrt_seq_write_begin(_Atomic uint64_t *seq) {
  /* Relaxed load: only this thread writes seq. */
  uint64_t s = atomic_load_explicit(seq, memory_order_relaxed) + 1u;
  /* Relaxed store of the odd value; the fence below keeps it before the data. */
  atomic_store_explicit(seq, s, memory_order_relaxed);
  schedrt_seq_fence_release();
  return s;
}

static inline void schedrt_seq_write_end(_Atomic uint64_t *seq, uint64_t odd) {
  /* W2: release publishes every data store of the section with the even value. */
  atomic_store_explicit(seq, odd + 1u, memory_order_release);
}

/* Starts a read attempt: the sequence to compare at the end. */
static inline uint64_t schedrt_seq_read_begin(const _Atomic uint64_t *seq) {
  /* R1: acquire pairs with W2, so an even value makes the section's data visible. */
  return atomic_load_explicit((_Atomic uint64_t *)seq, memory_order_acquire);
}

/* True when the attempt that began with s0 must be discarded. */
static inline bool schedrt_seq_read_retry(const _Atomic uint64_t *seq, uint64_t s0) {
  schedrt_seq_fence_acquire();
  /* Relaxed: the acquire fence above (or the acquire data loads under TSan) orders it. */
  uint64_t s1 = atomic_load_explicit((_Atomic uint64_t *)seq, memory_order_relaxed);
  /* An odd s0 means the writer was inside its section the whole time: torn. */
  return (s0 & 1u) != 0 || s1 != s0;
}

/* Politely spins between retries. */
static inline void schedrt_seq_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/*
 * The one read loop of every reader, in Concurrency Kit's CK_SEQUENCE_READ
 * shape:
 *
 *   schedrt_seq_reader rd;
 *   SCHEDRT_SEQ_READ(&rd, &slot->seq, SCHEDRT_SEQ_ATTEMPTS) {
 *     copy.x = SCHEDRT_SEQ_LOAD(&slot->x);  // copy only, decide nothing
 *   }
 *   if (!rd.ok) ...  // the writer stayed inside its section: torn
 *
 * The body runs until one copy is consistent or `attempts` are spent, with
 * one backoff policy between attempts: a pause for the first
 * SCHEDRT_SEQ_SPINS (a section is a few stores), then sched_yield for
 * SCHEDRT_SEQ_YIELDS (the writer may be waiting for our CPU), then naps of
 * SCHEDRT_SEQ_NAP_NS (a writer preempted inside its section needs its own CPU
 * back, which can take a scheduler time slice: about 50 ms in all with the
 * default attempts). A reader that must never sleep (the runtime's own, while
 * workers wait at a dump barrier) passes at most SCHEDRT_SEQ_SPINS.
 */
#define SCHEDRT_SEQ_SPINS 64u
#define SCHEDRT_SEQ_YIELDS 64u
#define SCHEDRT_SEQ_NAP_NS 20000u
#define SCHEDRT_SEQ_ATTEMPTS 1000u

typedef struct schedrt_seq_reader {
  const _Atomic uint64_t *seq;
  uint64_t s0;      /* the sequence this attempt began with */
  uint32_t attempt; /* attempts begun */
  uint32_t max;
  bool ok; /* after the loop: the last copy is consistent */
} schedrt_seq_reader;

static inline void schedrt_seq_backoff(uint32_t attempt) {
  if (attempt < SCHEDRT_SEQ_SPINS) {
    schedrt_seq_pause();
  } else if (attempt < SCHEDRT_SEQ_SPINS + SCHEDRT_SEQ_YIELDS) {
    sched_yield();
  } else {
    struct timespec ts = {0, (long)SCHEDRT_SEQ_NAP_NS};
    nanosleep(&ts, NULL);
  }
}

static inline void schedrt_seq_reader_init(schedrt_seq_reader *r, const _Atomic uint64_t *seq, uint32_t max) {
  r->seq = seq;
  r->s0 = 0;
  r->attempt = 0;
  r->max = max ? max : 1u;
  r->ok = false;
}

/* True: run the body (again). After the first copy, judges it. */
static inline bool schedrt_seq_reader_next(schedrt_seq_reader *r) {
  if (r->attempt > 0) {
    if (!schedrt_seq_read_retry(r->seq, r->s0)) {
      r->ok = true;
      return false;
    }
    if (r->attempt >= r->max)
      return false;
    schedrt_seq_backoff(r->attempt);
  }
  r->attempt++;
  r->s0 = schedrt_seq_read_begin(r->seq);
  return true;
}

/* Attempts that were thrown away. */
static inline uint32_t schedrt_seq_reader_retries(const schedrt_seq_reader *r) {
  return r->ok ? r->attempt - 1u : r->attempt;
}

#define SCHEDRT_SEQ_READ(r, seqp, attempts)                                                                  \
  for (schedrt_seq_reader_init((r), (seqp), (attempts)); schedrt_seq_reader_next(r);)

#endif /* SCHEDRT_PROTO_SEQLOCK_H */
