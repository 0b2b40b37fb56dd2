/*
 * Single-writer seqlock over a 64-bit sequence, in the form that is correct
 * under the C11 memory model (Boehm, MSPC 2012; peers.md section 3):
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

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

#endif /* SCHEDRT_PROTO_SEQLOCK_H */
