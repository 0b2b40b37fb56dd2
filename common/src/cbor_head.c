/* One CBOR item head at a time (see schedrt/cbor_head.h). */
#include "schedrt/cbor_head.h"

#include <cbor.h>
#include <stdbool.h>

const char *const schedrt__cbor_kind_names[] = {
    [SCHEDRT__CBOR_UINT] = "an unsigned integer",
    [SCHEDRT__CBOR_NEG] = "a negative integer",
    [SCHEDRT__CBOR_BYTES] = "a byte string",
    [SCHEDRT__CBOR_TEXT] = "a text string",
    [SCHEDRT__CBOR_ARRAY] = "an array",
    [SCHEDRT__CBOR_MAP] = "a map",
    [SCHEDRT__CBOR_TAG] = "a tag",
    [SCHEDRT__CBOR_FLOAT] = "a float",
    [SCHEDRT__CBOR_BOOL] = "a boolean",
    [SCHEDRT__CBOR_NULL] = "null",
    [SCHEDRT__CBOR_UNDEF] = "undefined",
    [SCHEDRT__CBOR_INDEF] = "an indefinite-length item",
};

static void ev_set(void *ctx, enum schedrt__cbor_kind k, uint64_t v) {
  struct schedrt__cbor_ev *e = ctx;
  e->kind = k;
  e->v = v;
}
static void on_uint8(void *c, uint8_t v) { ev_set(c, SCHEDRT__CBOR_UINT, v); }
static void on_uint16(void *c, uint16_t v) { ev_set(c, SCHEDRT__CBOR_UINT, v); }
static void on_uint32(void *c, uint32_t v) { ev_set(c, SCHEDRT__CBOR_UINT, v); }
static void on_uint64(void *c, uint64_t v) { ev_set(c, SCHEDRT__CBOR_UINT, v); }
static void on_neg8(void *c, uint8_t v) { ev_set(c, SCHEDRT__CBOR_NEG, v); }
static void on_neg16(void *c, uint16_t v) { ev_set(c, SCHEDRT__CBOR_NEG, v); }
static void on_neg32(void *c, uint32_t v) { ev_set(c, SCHEDRT__CBOR_NEG, v); }
static void on_neg64(void *c, uint64_t v) { ev_set(c, SCHEDRT__CBOR_NEG, v); }
static void on_array(void *c, size_t n) { ev_set(c, SCHEDRT__CBOR_ARRAY, n); }
static void on_map(void *c, size_t n) { ev_set(c, SCHEDRT__CBOR_MAP, n); }
static void on_tag(void *c, uint64_t v) { ev_set(c, SCHEDRT__CBOR_TAG, v); }
static void on_float(void *c, float f) {
  (void)f;
  ev_set(c, SCHEDRT__CBOR_FLOAT, 0);
}
static void on_double(void *c, double f) {
  (void)f;
  ev_set(c, SCHEDRT__CBOR_FLOAT, 0);
}
static void on_bool(void *c, bool b) { ev_set(c, SCHEDRT__CBOR_BOOL, b); }
static void on_null(void *c) { ev_set(c, SCHEDRT__CBOR_NULL, 0); }
static void on_undef(void *c) { ev_set(c, SCHEDRT__CBOR_UNDEF, 0); }
static void on_indef(void *c) { ev_set(c, SCHEDRT__CBOR_INDEF, 0); }
static void on_string(struct schedrt__cbor_ev *e, enum schedrt__cbor_kind k, cbor_data s, size_t n) {
  e->kind = k;
  e->s = s;
  e->n = n;
}
static void on_bytes(void *c, cbor_data s, size_t n) { on_string(c, SCHEDRT__CBOR_BYTES, s, n); }
static void on_text(void *c, cbor_data s, size_t n) { on_string(c, SCHEDRT__CBOR_TEXT, s, n); }

/* Every member set: cbor_stream_decode calls them without a NULL check. */
static const struct cbor_callbacks callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint8 = on_neg8,
    .negint16 = on_neg16,
    .negint32 = on_neg32,
    .negint64 = on_neg64,
    .byte_string_start = on_indef,
    .byte_string = on_bytes,
    .string = on_text,
    .string_start = on_indef,
    .indef_array_start = on_indef,
    .array_start = on_array,
    .indef_map_start = on_indef,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_undef,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_indef,
};

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t b = s[i], lo = 0x80, hi = 0xbf;
    size_t k;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      k = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      k = 2;
      lo = b == 0xe0 ? 0xa0 : 0x80;
      hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
      k = 3;
      lo = b == 0xf0 ? 0x90 : 0x80;
      hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
      return false;
    for (size_t j = 2; j <= k; j++)
      if (s[i + j] < 0x80 || s[i + j] > 0xbf)
        return false;
    i += k + 1;
  }
  return true;
}

int schedrt__cbor_head(const uint8_t *p, size_t left, struct schedrt__cbor_ev *e, size_t *read) {
  /* The decoder fills *e through a callback, which the compiler cannot follow: every caller's
   * head looked maybe-uninitialized to GCC. A decode that called none (it cannot finish without one)
   * reads as the refused indefinite-length kind. */
  *e = (struct schedrt__cbor_ev){.kind = SCHEDRT__CBOR_INDEF};
  *read = 0;
  if (left == 0)
    return SCHEDRT__CBOR_TRUNCATED;
  struct cbor_decoder_result r = cbor_stream_decode(p, left, &callbacks, e);
  if (r.status == CBOR_DECODER_NEDATA)
    return SCHEDRT__CBOR_TRUNCATED;
  if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || r.read > left)
    return SCHEDRT__CBOR_MALFORMED;
  *read = r.read;
  left -= r.read;
  switch (e->kind) {
  case SCHEDRT__CBOR_INDEF:
    return SCHEDRT__CBOR_INDEFINITE;
  case SCHEDRT__CBOR_ARRAY:
    return e->v > left ? SCHEDRT__CBOR_LONG_ARRAY : 0;
  case SCHEDRT__CBOR_MAP:
    return e->v > left / 2 ? SCHEDRT__CBOR_LONG_MAP : 0;
  case SCHEDRT__CBOR_TEXT:
    return utf8_ok(e->s, e->n) ? 0 : SCHEDRT__CBOR_BAD_UTF8;
  default:
    return 0;
  }
}
