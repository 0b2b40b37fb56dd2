/*
 * The metric table, generated from the X-macro list in metrics_def.h, and
 * its public face (<schedrt.h>: the descriptions and the histogram buckets).
 * Here rather than in the runtime: sched-inspect describes what it reads
 * with them, and they hold whether or not this build publishes metrics.
 */
#include "schedrt/shm_util.h"

#define SCHEDRT__WSLOT_DEF(id, kind_, off, type, unit_, help_, pub_)                                         \
  {.pub = {.name = #id,                                                                                      \
           .unit = unit_,                                                                                    \
           .help = help_,                                                                                    \
           .kind = SCHEDRT_METRIC_##kind_,                                                                   \
           .scope = SCHEDRT_SCOPE_WORKER},                                                                   \
   .region = SCHEDRT_REGION_WSLOT,                                                                           \
   .width = (uint16_t)sizeof(type),                                                                          \
   .offset = off,                                                                                            \
   .count = 1u},
#define SCHEDRT__GLOBAL_DEF(id, kind_, off, type, unit_, help_, pub_)                                        \
  {.pub = {.name = #id,                                                                                      \
           .unit = unit_,                                                                                    \
           .help = help_,                                                                                    \
           .kind = SCHEDRT_METRIC_##kind_,                                                                   \
           .scope = SCHEDRT_SCOPE_GLOBAL},                                                                   \
   .region = SCHEDRT_REGION_GLOBAL,                                                                          \
   .width = (uint16_t)sizeof(type),                                                                          \
   .offset = off,                                                                                            \
   .count = 1u},
#define SCHEDRT__HIST_DEF(id, kind_, off, type, unit_, help_, pub_)                                          \
  {.pub = {.name = #id,                                                                                      \
           .unit = unit_,                                                                                    \
           .help = help_,                                                                                    \
           .kind = SCHEDRT_METRIC_##kind_,                                                                   \
           .scope = SCHEDRT_SCOPE_WORKER},                                                                   \
   .region = SCHEDRT_REGION_HIST,                                                                            \
   .width = (uint16_t)sizeof(type),                                                                          \
   .offset = off,                                                                                            \
   .count = SCHEDRT_HIST_BUCKETS},

const struct schedrt__metric_def schedrt__metric_defs[SCHEDRT_M__COUNT] = {SCHEDRT_WSLOT_METRICS(
    SCHEDRT__WSLOT_DEF) SCHEDRT_GLOBAL_METRICS(SCHEDRT__GLOBAL_DEF) SCHEDRT_HIST_METRICS(SCHEDRT__HIST_DEF)};

/* Help strings must fit the 64-byte descriptor field with their NUL, names 32, units 16. */
#define SCHEDRT__LEN_ASSERT(id, kind_, off, type, unit_, help_, pub_)                                        \
  _Static_assert(sizeof(#id) <= 32 && sizeof(unit_) <= 16 && sizeof(help_) <= 64,                            \
                 "descriptor strings too long: " #id);
SCHEDRT_WSLOT_METRICS(SCHEDRT__LEN_ASSERT)
SCHEDRT_GLOBAL_METRICS(SCHEDRT__LEN_ASSERT)
SCHEDRT_HIST_METRICS(SCHEDRT__LEN_ASSERT)

SCHEDRT_API size_t schedrt_metric_count(void) { return SCHEDRT_M__COUNT; }

SCHEDRT_API const schedrt_metric_desc *schedrt_metric_info(size_t index) {
  return index < SCHEDRT_M__COUNT ? &schedrt__metric_defs[index].pub : NULL;
}

SCHEDRT_API size_t schedrt_histogram_buckets(void) { return SCHEDRT_HIST_BUCKETS; }

SCHEDRT_API uint64_t schedrt_histogram_upper_ns(size_t bucket) {
  return bucket < SCHEDRT_HIST_BUCKETS ? schedrt_hist_upper((uint32_t)bucket) : UINT64_MAX;
}
