/*
 * A faithful JSON rendering of a task dump's CBOR: every key and value, in
 * file order, so `show --json` can be piped into jq without losing anything.
 * Mapping: maps -> objects (non-text keys are rendered as their JSON text),
 * arrays -> arrays, integers -> integers (beyond int64: a decimal string),
 * text -> strings, byte strings -> lowercase hex strings, floats -> numbers
 * (NaN/Inf -> null), true/false/null -> themselves, undefined -> null, tag
 * 55799 -> transparent, other tags -> {"tag": n, "value": ...}.
 * No curses.
 */
#ifndef INSPECT_DUMP_JSON_H
#define INSPECT_DUMP_JSON_H

#include <cbor.h>
#include <jansson.h>

#include "dump_model.h"

/* One CBOR item as JSON (new reference). depth guards against hostile nesting. */
json_t *dump_json_item(const cbor_item_t *it);

/* The whole dump: the top-level map itself when the file holds exactly one
 * item, else an array of the items; plus "_truncated"/"_warnings" only when
 * the file was cut (they cannot clash with the format's keys, which never
 * start with '_'). */
json_t *dump_json(const dump_model *m);

#endif
