/* CBOR to JSON, faithfully (see dump_json.h). */
#include "dump_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedrt/proto/dump_keys.h"
#include "util.h"

#define MAX_DEPTH 64 /* the decoder accepts 16 levels; this guards items built elsewhere */

/* The item inside a tag, borrowed: cbor_tag_item() takes a reference for the
 * caller and the tag keeps its own, so dropping ours at once leaves a pointer
 * that lives as long as the tag. */
static cbor_item_t *tag_item(const cbor_item_t *tag) {
  cbor_item_t *inner = cbor_tag_item(tag), *ref = inner;
  cbor_decref(&ref);
  return inner;
}

static json_t *text_of(const cbor_item_t *it) {
  size_t len = 0;
  if (cbor_string_is_definite(it))
    return json_stringn_nocheck((const char *)cbor_string_handle(it), cbor_string_length(it));
  size_t nc = cbor_string_chunk_count(it);
  cbor_item_t **ch = cbor_string_chunks_handle(it);
  for (size_t i = 0; i < nc; i++)
    len += cbor_string_length(ch[i]);
  char *buf = xmalloc(len + 1);
  size_t used = 0;
  for (size_t i = 0; i < nc; i++) {
    memcpy(buf + used, cbor_string_handle(ch[i]), cbor_string_length(ch[i]));
    used += cbor_string_length(ch[i]);
  }
  json_t *j = json_stringn_nocheck(buf, used);
  free(buf);
  return j;
}

static void hex_append(char **buf, size_t *len, const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  *buf = xrealloc(*buf, *len + 2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    (*buf)[(*len)++] = digits[p[i] >> 4];
    (*buf)[(*len)++] = digits[p[i] & 15];
  }
  (*buf)[*len] = '\0';
}

static json_t *bytes_of(const cbor_item_t *it) {
  char *buf = NULL;
  size_t len = 0;
  if (cbor_bytestring_is_definite(it)) {
    hex_append(&buf, &len, cbor_bytestring_handle(it), cbor_bytestring_length(it));
  } else {
    size_t nc = cbor_bytestring_chunk_count(it);
    cbor_item_t **ch = cbor_bytestring_chunks_handle(it);
    for (size_t i = 0; i < nc; i++)
      hex_append(&buf, &len, cbor_bytestring_handle(ch[i]), cbor_bytestring_length(ch[i]));
  }
  json_t *j = json_string(buf ? buf : "");
  free(buf);
  return j;
}

static json_t *int_of(const cbor_item_t *it) {
  uint64_t v = cbor_get_int(it);
  char buf[32];
  if (cbor_isa_uint(it)) {
    if (v <= INT64_MAX)
      return json_integer((json_int_t)v);
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
  }
  /* Negative: -1 - v. Below int64's range, a decimal string (v + 1 overflows only at the very end). */
  if (v < (uint64_t)INT64_MAX)
    return json_integer(-1 - (json_int_t)v);
  if (v == UINT64_MAX)
    return json_string("-18446744073709551616");
  snprintf(buf, sizeof(buf), "-%" PRIu64, v + 1);
  return json_string(buf);
}

static json_t *convert(const cbor_item_t *it, int depth);

static char *key_text(const cbor_item_t *k, int depth) {
  if (cbor_isa_string(k)) {
    json_t *j = text_of(k);
    char *s = xstrdup(json_string_value(j) ? json_string_value(j) : "");
    json_decref(j);
    return s;
  }
  json_t *j = convert(k, depth + 1);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  return s ? s : xstrdup("?");
}

static json_t *convert(const cbor_item_t *it, int depth) {
  if (depth > MAX_DEPTH)
    return json_string("<nested too deep>");
  switch (cbor_typeof(it)) {
  case CBOR_TYPE_UINT:
  case CBOR_TYPE_NEGINT:
    return int_of(it);
  case CBOR_TYPE_BYTESTRING:
    return bytes_of(it);
  case CBOR_TYPE_STRING:
    return text_of(it);
  case CBOR_TYPE_ARRAY: {
    json_t *a = json_array();
    size_t n = cbor_array_size(it);
    cbor_item_t **h = cbor_array_handle(it);
    for (size_t i = 0; i < n; i++)
      json_array_append_new(a, convert(h[i], depth + 1));
    return a;
  }
  case CBOR_TYPE_MAP: {
    json_t *o = json_object();
    size_t n = cbor_map_size(it);
    struct cbor_pair *p = cbor_map_handle(it);
    for (size_t i = 0; i < n; i++) {
      char *k = key_text(p[i].key, depth);
      json_object_set_new_nocheck(o, k, convert(p[i].value, depth + 1));
      free(k);
    }
    return o;
  }
  case CBOR_TYPE_TAG: {
    cbor_item_t *inner = tag_item(it);
    if (cbor_tag_value(it) == SCHEDRT_DUMP_SELF_DESCRIBE_TAG)
      return convert(inner, depth + 1);
    json_t *o = json_object();
    json_object_set_new(o, "tag", json_integer((json_int_t)cbor_tag_value(it)));
    json_object_set_new(o, "value", convert(inner, depth + 1));
    return o;
  }
  case CBOR_TYPE_FLOAT_CTRL:
    if (cbor_float_ctrl_is_ctrl(it)) {
      if (cbor_is_bool(it))
        return json_boolean(cbor_get_bool(it));
      return json_null(); /* null, undefined, other simple values */
    } else {
      double d = cbor_float_get_float(it);
      return isfinite(d) ? json_real(d) : json_null();
    }
  default:
    return json_null();
  }
}

json_t *dump_json_item(const cbor_item_t *it) { return convert(it, 0); }

json_t *dump_json(const schedrt_dump_doc *d) { return d && d->cbor ? convert(d->cbor, 0) : json_null(); }
