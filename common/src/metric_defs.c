/* The metric table, generated from the X-macro list in metrics_def.h. */
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
