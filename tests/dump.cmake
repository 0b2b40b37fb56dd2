# Task dump tests. Unit tests: Criterion (normal + ASan/UBSan builds); stress
# tests: plain executables (normal + TSan builds), scaled by STRESS_SCALE.
# Tests that read dumps back (test_dump_util.h) or use the control page's requester side
# link the dump reader (common/: schedrt_dump_reader, on libcbor).

if(SCHEDRT_ENABLE_TASKDUMP)
  set(DUMP_READER schedrt_dump_reader)
  schedrt_unit_test(NAME test_dump_api SOURCES unit/test_dump_api.c LIBS ${DUMP_READER})
  target_compile_definitions(test_dump_api PRIVATE SCHEDRT_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data")
  schedrt_unit_test(NAME test_dump_control SOURCES unit/test_dump_control.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_read SOURCES unit/test_dump_read.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_wake SOURCES unit/test_dump_wake.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_watchdog SOURCES unit/test_dump_watchdog.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_blocking SOURCES unit/test_dump_blocking.c LIBS ${DUMP_READER})
  schedrt_stress_test(NAME stress_dump_barrier SOURCES stress/stress_dump_barrier.c)
  schedrt_stress_test(NAME stress_dump_lost SOURCES stress/stress_dump_lost.c LIBS ${DUMP_READER})
  schedrt_stress_test(NAME stress_dump_partial SOURCES stress/stress_dump_partial.c LIBS ${DUMP_READER})
  schedrt_stress_test(NAME stress_dump_notified SOURCES stress/stress_dump_notified.c LIBS ${DUMP_READER})
else()
  schedrt_unit_test(NAME test_dump_noop SOURCES unit/test_dump_noop.c)
endif()
