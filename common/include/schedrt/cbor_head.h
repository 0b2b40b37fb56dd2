/*
 * One CBOR item head at a time, on libcbor's streaming decoder: the layer
 * under the two decoders of untrusted CBOR that sched-inspect has, the task
 * dump's (common/src/dump_read.c) and the recording's
 * (inspector/src/recording_read.c). cbor_stream_decode() reports a head
 * through a callback; this turns it into a value and checks what can be
 * checked without the format: a count that cannot fit in the bytes left, an
 * indefinite length (neither format uses one), text that is not UTF-8. Each
 * decoder words the failures in its own terms. Not installed.
 */
#ifndef SCHEDRT_CBOR_HEAD_H
#define SCHEDRT_CBOR_HEAD_H

#include <stddef.h>
#include <stdint.h>

enum schedrt__cbor_kind {
  SCHEDRT__CBOR_UINT,
  SCHEDRT__CBOR_NEG,
  SCHEDRT__CBOR_BYTES,
  SCHEDRT__CBOR_TEXT,
  SCHEDRT__CBOR_ARRAY,
  SCHEDRT__CBOR_MAP,
  SCHEDRT__CBOR_TAG,
  SCHEDRT__CBOR_FLOAT,
  SCHEDRT__CBOR_BOOL,
  SCHEDRT__CBOR_NULL,
  SCHEDRT__CBOR_UNDEF,
  SCHEDRT__CBOR_INDEF, /* an indefinite-length string, array or map, or a break */
};

/* "an unsigned integer", ... by kind, for messages. */
extern const char *const schedrt__cbor_kind_names[];

/* What a head says. */
struct schedrt__cbor_ev {
  enum schedrt__cbor_kind kind;
  uint64_t v;       /* integer, element or pair count, tag number, boolean */
  const uint8_t *s; /* string bytes, inside the input */
  size_t n;         /* string length */
};

/* Why a head was refused (0: it was not). */
enum {
  SCHEDRT__CBOR_TRUNCATED = 1, /* the input ends inside the head, or before it */
  SCHEDRT__CBOR_MALFORMED,     /* not CBOR */
  SCHEDRT__CBOR_INDEFINITE,    /* an indefinite length or a break */
  SCHEDRT__CBOR_LONG_ARRAY,    /* more elements than bytes left */
  SCHEDRT__CBOR_LONG_MAP,      /* more entries than pairs of bytes left */
  SCHEDRT__CBOR_BAD_UTF8,      /* a text string that is not well-formed UTF-8 */
};

/*
 * Decodes the head at p (left bytes) into *e and *read (bytes it takes; set
 * for every answer but TRUNCATED and MALFORMED, so a caller can say where the
 * next item would have started). 0 or one of the reasons above.
 */
int schedrt__cbor_head(const uint8_t *p, size_t left, struct schedrt__cbor_ev *e, size_t *read);

#endif
