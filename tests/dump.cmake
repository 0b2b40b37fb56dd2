# Task dump tests. Unit tests: Criterion (normal + ASan/UBSan builds); stress
# tests: plain executables (normal + TSan builds), scaled by STRESS_SCALE.
# Tests that read dumps back (test_dump_util.h) or use the control page's requester side
# link the dump reader (common/: schedrt_dump_reader, on libcbor).

if(SCHEDRT_ENABLE_TASKDUMP)
  set(DUMP_READER schedrt_dump_reader)
  schedrt_unit_test(NAME test_dump_api SOURCES unit/test_dump_api.c LIBS ${DUMP_READER})
  target_compile_definitions(test_dump_api PRIVATE SCHEDRT_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data")
  schedrt_unit_test(NAME test_dump_control SOURCES unit/test_dump_control.c LIBS ${DUMP_READER})
  # The local attacks of docs/security.md, played by `nobody` through runuser (skipped without root).
  schedrt_unit_test(NAME test_local_attacks SOURCES unit/test_local_attacks.c support/shm_fixture.c
                    LIBS ${DUMP_READER})
  if(TARGET test_local_attacks AND TARGET sched-inspect)
    target_compile_definitions(test_local_attacks PRIVATE SCHED_INSPECT_BIN="$<TARGET_FILE:sched-inspect>")
    add_dependencies(schedrt_tests sched-inspect)
  endif()
  schedrt_unit_test(NAME test_dump_read SOURCES unit/test_dump_read.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_wake SOURCES unit/test_dump_wake.c LIBS ${DUMP_READER})
  schedrt_unit_test(NAME test_dump_watchdog SOURCES unit/test_dump_watchdog.c support/shm_fixture.c
                    LIBS ${DUMP_READER})
  if(SCHEDRT_ENABLE_METRICS)
    # The event rings in watchdog dumps (1.4): they need the metrics segment.
    schedrt_unit_test(NAME test_dump_watchdog_events SOURCES unit/test_dump_watchdog_events.c
                      support/shm_fixture.c LIBS ${DUMP_READER})
  endif()
  schedrt_unit_test(NAME test_dump_blocking SOURCES unit/test_dump_blocking.c LIBS ${DUMP_READER})
  if(SCHEDRT_ENABLE_METRICS AND SCHEDRT_ENABLE_STALL_BACKTRACE)
    # Stall backtraces (the signal handshake needs the workers' thread ids, from the metrics):
    # a capture that gives up, installation rules; and many captures of busy threads.
    schedrt_unit_test(NAME test_stall_bt SOURCES unit/test_stall_bt.c)
    schedrt_stress_test(NAME stress_stall_bt SOURCES stress/stress_stall_bt.c)
  endif()
  schedrt_stress_test(NAME stress_dump_barrier SOURCES stress/stress_dump_barrier.c)
  schedrt_stress_test(NAME stress_dump_lost SOURCES stress/stress_dump_lost.c LIBS ${DUMP_READER})
  schedrt_stress_test(NAME stress_dump_partial SOURCES stress/stress_dump_partial.c LIBS ${DUMP_READER})
  schedrt_stress_test(NAME stress_dump_notified SOURCES stress/stress_dump_notified.c LIBS ${DUMP_READER})
  # Handle holders given, released and destroyed by tasks and threads while dumps run (sync_holds.c).
  schedrt_stress_test(NAME stress_holds SOURCES stress/stress_holds.c LIBS ${DUMP_READER})
  if(SCHEDRT_ENABLE_METRICS)
    # Heavy spawn load, alone then observed (dumps as fast as accepted, snapshots at 100 Hz):
    # 2 x 30 s (SOAK_SECONDS per phase; 10 under TSan).
    schedrt_stress_test(NAME soak_observers SOURCES stress/soak_observers.c LIBS ${DUMP_READER} LABELS soak)
  endif()
else()
  schedrt_unit_test(NAME test_dump_noop SOURCES unit/test_dump_noop.c)
endif()
