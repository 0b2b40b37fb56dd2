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

#include "schedrt/dump_read.h"

/* One CBOR item as JSON (new reference). A depth limit guards the recursion. */
json_t *dump_json_item(const cbor_item_t *it);

/* The whole dump, i.e. its top-level map (the tag is transparent), from the
 * item tree the decoder kept: d must come from a load with
 * SCHEDRT_DUMP_KEEP_CBOR (else JSON null). Only a dump the decoder accepted
 * gets here, so a truncated or malformed file is an error, not a partial JSON. */
json_t *dump_json(const schedrt_dump_doc *d);

#endif
