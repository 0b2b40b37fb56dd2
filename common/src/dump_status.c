/*
 * The dump statuses' names, from SCHEDRT_DUMP_STATUSES. Here, not in the
 * runtime's dump code: sched-inspect names the answers it reads from a
 * control page, and a runtime built without dumps still knows the names.
 */
#include "schedrt.h"

SCHEDRT_API const char *schedrt_dump_status_name(schedrt_dump_status s) {
  switch (s) {
#define SCHEDRT__DUMP_STATUS_NAME(name, value)                                                               \
  case SCHEDRT_DUMP_##name:                                                                                  \
    return #name;
    SCHEDRT_DUMP_STATUSES(SCHEDRT__DUMP_STATUS_NAME)
#undef SCHEDRT__DUMP_STATUS_NAME
  default:
    break;
  }
  return "UNKNOWN";
}
