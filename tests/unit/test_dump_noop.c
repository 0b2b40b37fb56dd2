/* Task dumps compiled out (SCHEDRT_ENABLE_TASKDUMP=OFF): same ABI, every call says not supported. */
#include <criterion/criterion.h>
#include <errno.h>

#include "schedrt.h"

Test(dump_noop, calls_answer_not_supported) {
  schedrt_runtime *rt;
  cr_assert_eq(schedrt_runtime_create(NULL, &rt), 0);
  schedrt_dump_result res;
  cr_assert_eq(schedrt_dump_fd(rt, 1, NULL, &res), -ENOTSUP);
  cr_assert_eq(schedrt_dump_path(rt, "/tmp/never-written.cbor", NULL, &res), -ENOTSUP);
  cr_assert_eq(schedrt_features() & SCHEDRT_FEATURE_TASKDUMP, 0);
  /* The names are common/'s: the same in every build. */
  cr_assert_str_eq(schedrt_dump_status_name(SCHEDRT_DUMP_FAILED), "FAILED");
  cr_assert_str_eq(schedrt_dump_status_name((schedrt_dump_status)99), "UNKNOWN");
  schedrt_runtime_destroy(rt);
}
