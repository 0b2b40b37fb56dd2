# Tests of the runtime core: the scheduler's queues, tasks and wakers, join and
# block_on, timers, oneshot and notify, shutdown.
#
# Unit tests (Criterion; normal and ASan+UBSan builds, where LSan also checks that shutdown
# frees every task). Several are white-box: they include runtime/src headers to look at queue
# lengths, the LIFO slot or task state bits.
schedrt_unit_test(NAME test_local_queue SOURCES unit/test_local_queue.c)
schedrt_unit_test(NAME test_task SOURCES unit/test_task.c)
schedrt_unit_test(NAME test_join SOURCES unit/test_join.c)
schedrt_unit_test(NAME test_timer SOURCES unit/test_timer.c)
schedrt_unit_test(NAME test_sync SOURCES unit/test_sync.c)
schedrt_unit_test(NAME test_promises SOURCES unit/test_promises.c)
schedrt_unit_test(NAME test_fairness SOURCES unit/test_fairness.c)
if(SCHEDRT_ENABLE_TASKDUMP)
  schedrt_unit_test(NAME test_io SOURCES unit/test_io.c LIBS schedrt_dump_reader)
  target_compile_definitions(test_io PRIVATE SCHEDRT_TEST_DUMPS=1)
else()
  schedrt_unit_test(NAME test_io SOURCES unit/test_io.c)
endif()
schedrt_unit_test(NAME test_io_driver SOURCES unit/test_io_driver.c)
schedrt_unit_test(NAME test_shutdown SOURCES unit/test_shutdown.c)
schedrt_unit_test(NAME test_park SOURCES unit/test_park.c)
schedrt_unit_test(NAME test_blocking SOURCES unit/test_blocking.c)

# Stress tests (plain executables; normal and TSan builds). Counts have separate TSan
# defaults (stress_count() in support/stress.h) and scale with STRESS_SCALE; each has a
# 150 s watchdog so that a lost wake-up fails with a message instead of hitting TIMEOUT.
# A phase can be run alone: e.g. `stress_wake park`, `stress_steal queue`, `stress_shutdown remote`.
schedrt_stress_test(NAME stress_spawn SOURCES stress/stress_spawn.c)
schedrt_stress_test(NAME stress_wake SOURCES stress/stress_wake.c)
schedrt_stress_test(NAME stress_steal SOURCES stress/stress_steal.c)
schedrt_stress_test(NAME stress_shutdown SOURCES stress/stress_shutdown.c)
schedrt_stress_test(NAME stress_park SOURCES stress/stress_park.c)
schedrt_stress_test(NAME stress_io SOURCES stress/stress_io.c)
schedrt_stress_test(NAME stress_blocking SOURCES stress/stress_blocking.c)

# The sync primitives that know their owners (channel, mutex, semaphore, oneshot close).
schedrt_unit_test(NAME test_sync_channel SOURCES unit/test_sync_channel.c)
schedrt_unit_test(NAME test_sync_mutex SOURCES unit/test_sync_mutex.c)
schedrt_unit_test(NAME test_sync_oneshot_close SOURCES unit/test_sync_oneshot_close.c)
# 10^6 messages / lock-unlock each (fewer under TSan); a lost wake-up fails through the watchdog.
schedrt_stress_test(NAME stress_channel SOURCES stress/stress_channel.c)
schedrt_stress_test(NAME stress_mutex SOURCES stress/stress_mutex.c)
