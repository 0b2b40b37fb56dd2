# Tests of the metrics module: the shm layout and reader in common/,
# the runtime's segment, the in-process API and Tokio's metric semantics.
schedrt_unit_test(NAME test_metrics_layout SOURCES unit/test_metrics_layout.c support/shm_fixture.c)
schedrt_unit_test(NAME test_reader_corrupt SOURCES unit/test_reader_corrupt.c support/shm_fixture.c)
# It drives the reader's SIGBUS guard directly (reader_internal.h).
target_include_directories(test_reader_corrupt PRIVATE ${PROJECT_SOURCE_DIR}/common/src)
schedrt_unit_test(NAME test_reader_snapshot SOURCES unit/test_reader_snapshot.c support/shm_fixture.c)
# The event rings (layout 2.6): the reader on driven rings, and the runtime's own (skipped when built out).
schedrt_unit_test(NAME test_events SOURCES unit/test_events.c support/shm_fixture.c)
schedrt_stress_test(NAME stress_events SOURCES stress/stress_events.c support/shm_fixture.c)
# The watchdog's in-process copy of the rings (schedrt__events_snap) against workers that wrap them.
schedrt_stress_test(NAME stress_watchdog_events SOURCES stress/stress_watchdog_events.c)
schedrt_stress_test(NAME stress_metrics_torn SOURCES stress/stress_metrics_torn.c support/shm_fixture.c)
if(SCHEDRT_ENABLE_METRICS)
  schedrt_unit_test(NAME test_metrics_api SOURCES unit/test_metrics_api.c)
  schedrt_unit_test(NAME test_metrics_lifecycle SOURCES unit/test_metrics_lifecycle.c)
  schedrt_unit_test(NAME test_long_polls SOURCES unit/test_long_polls.c)
  schedrt_stress_test(NAME stress_metrics_live SOURCES stress/stress_metrics_live.c)
  schedrt_stress_test(NAME stress_watch_wake SOURCES stress/stress_watch_wake.c)
else()
  schedrt_unit_test(NAME test_metrics_noop SOURCES unit/test_metrics_noop.c)
endif()
schedrt_stress_test(NAME stress_metrics_snapshot_cost SOURCES stress/stress_metrics_snapshot_cost.c
  support/shm_fixture.c PROCESSORS 1)
if(SCHEDRT_ENABLE_METRICS)
  schedrt_unit_test(NAME test_metrics_sites SOURCES unit/test_metrics_sites.c support/shm_fixture.c)
  schedrt_stress_test(NAME stress_sites SOURCES stress/stress_sites.c)
endif()
