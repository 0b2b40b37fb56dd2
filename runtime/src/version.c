/* What this library is and was built with: answered the same in every build. */
#include "internal.h"

SCHEDRT_API unsigned schedrt_features(void) {
  return (SCHEDRT_ENABLE_METRICS ? SCHEDRT_FEATURE_METRICS : 0u) |
         (SCHEDRT_ENABLE_TASKDUMP ? SCHEDRT_FEATURE_TASKDUMP : 0u) |
         (SCHEDRT_ENABLE_STALL_BACKTRACE ? SCHEDRT_FEATURE_STALL_BACKTRACE : 0u);
}

SCHEDRT_API const char *schedrt_version(void) { return SCHEDRT_VERSION_STRING; }
