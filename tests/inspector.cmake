# sched-inspect's tests. Included by tests/CMakeLists.txt only when the inspector is built
# (not in the tsan preset), so the inspector's targets exist here. The inspector stands on
# common/ alone, so it is built and tested in the minimal preset too, next to a runtime
# with metrics and dumps compiled out; what needs that runtime to publish is left out
# there, each with its reason below.
#
#   unit  (every build, ASan+UBSan too): the curses-free core with hand-made snapshots,
#         crafted segments and crafted dumps; and the headless commands (list, stat, dump,
#         show) run as a user would, against live, exiting, hung and corrupt targets.
#   e2e   (release/debug): the TUI in a real terminal (tmux), keys and all.
#   link  (every build without sanitizers): the binary holds no runtime code.

set(INSPECT_CORE sched_inspect_core)

# Every build: no runtime involved.
schedrt_unit_test(NAME test_inspect_format SOURCES unit/test_inspect_format.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_rates SOURCES unit/test_inspect_rates.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_hist SOURCES unit/test_inspect_hist.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_model SOURCES unit/test_inspect_model.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_sites SOURCES unit/test_inspect_sites.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_attach SOURCES unit/test_inspect_attach.c support/shm_fixture.c
                  LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_dump_model SOURCES unit/test_inspect_dump_model.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_waits SOURCES unit/test_inspect_waits.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_analysis SOURCES unit/test_inspect_analysis.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_diff SOURCES unit/test_inspect_diff.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_openmetrics SOURCES unit/test_inspect_openmetrics.c LIBS ${INSPECT_CORE})
schedrt_unit_test(NAME test_inspect_task_row SOURCES unit/test_inspect_task_row.c LIBS ${INSPECT_CORE})
# Recordings: writer and reader on crafted segments, cut and damaged files, the summary and the plot.
schedrt_unit_test(NAME test_inspect_recording SOURCES unit/test_inspect_recording.c support/shm_fixture.c
                  LIBS ${INSPECT_CORE})
# A real runtime deadlocked on two mutexes, its dump read by the analysis (needs dumps built in).
if(SCHEDRT_ENABLE_TASKDUMP)
  schedrt_unit_test(NAME test_sync_dump SOURCES unit/test_sync_dump.c LIBS ${INSPECT_CORE})
  # Leak proofs through notify, oneshot and channel holders: a table of real tasks (docs/forensics.md).
  schedrt_unit_test(NAME test_leak_proofs SOURCES unit/test_leak_proofs.c LIBS ${INSPECT_CORE})
endif()
schedrt_unit_test(NAME test_inspect_keys SOURCES unit/test_inspect_keys.c ${PROJECT_SOURCE_DIR}/inspector/src/keys.c
                  LIBS ${INSPECT_CORE} PkgConfig::NCURSESW)

# A small runtime to point the commands at: named tasks, a task that blocks its worker,
# an exit on demand (tests/e2e/inspect_target.c).
add_executable(inspect_target e2e/inspect_target.c)
target_link_libraries(inspect_target PRIVATE schedrt::schedrt schedrt_options Threads::Threads)

# A test that runs sched-inspect against inspect_target (tests/support/inspect_cli.c). Its suite
# LIVE attaches to a runtime: with metrics compiled out that runtime publishes no segment, so
# there only the rest runs (usage, missing processes, bad files, crafted segments). It starts
# runtimes of a few workers each: it gets the machine, as the stress tests get it.
function(inspect_cli_test name live)
  set(args)
  if(NOT SCHEDRT_ENABLE_METRICS)
    set(args --filter "!(${live})/*")
  endif()
  schedrt_unit_test(NAME ${name} SOURCES unit/${name}.c support/inspect_cli.c ${ARGN}
                    LIBS ${INSPECT_CORE} ARGS ${args})
  if(TARGET ${name})
    target_compile_definitions(${name} PRIVATE
      SCHED_INSPECT_BIN="$<TARGET_FILE:sched-inspect>"
      INSPECT_TARGET_BIN="$<TARGET_FILE:inspect_target>")
  endif()
  if(TEST ${name})
    set_tests_properties(${name} PROPERTIES PROCESSORS 2 TIMEOUT 300)
  endif()
endfunction()
add_dependencies(schedrt_tests sched-inspect inspect_target)
inspect_cli_test(test_inspect_cli cli_live support/shm_fixture.c)
# Unix habits and careless input (issue 16): --help widths, another user's process, dump's
# destination, show on a FIFO / stdin / --all / --json sites, stat's unknown figures and -h N.
inspect_cli_test(test_inspect_cli_habits habits_live)
# The live task list's periodic in-memory dumps (task_feed.c) against inspect_target.
inspect_cli_test(test_inspect_task_feed task_feed_live)

# The watchdog's saved dumps in `list`: needs a target with metrics and dumps compiled in.
if(SCHEDRT_ENABLE_METRICS AND SCHEDRT_ENABLE_TASKDUMP)
  schedrt_unit_test(NAME test_inspect_saved SOURCES unit/test_inspect_saved.c LIBS ${INSPECT_CORE})
  if(TARGET test_inspect_saved)
    target_compile_definitions(test_inspect_saved PRIVATE
      SCHED_INSPECT_BIN="$<TARGET_FILE:sched-inspect>"
      INSPECT_TARGET_BIN="$<TARGET_FILE:inspect_target>")
  endif()
endif()

# The TUI end to end: tmux, capture-pane, keys. Needs the demo and tmux, and a demo that
# publishes metrics (the live view) and serves dumps (the `d` key): not in the minimal preset.
find_program(SCHEDRT_TMUX tmux)
if(TARGET schedrt-demo AND SCHEDRT_TMUX AND NOT SCHEDRT_SANITIZE AND SCHEDRT_ENABLE_METRICS
   AND SCHEDRT_ENABLE_TASKDUMP)
  add_test(NAME e2e_inspect_tui
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_e2e.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui PROPERTIES LABELS e2e TIMEOUT 240 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  # 80x24, 60x20 and 28 columns: nothing that matters is cut (issue 16).
  add_test(NAME e2e_inspect_tui_narrow
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_narrow.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui_narrow PROPERTIES LABELS e2e TIMEOUT 240 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  # Quitting with a `d` pending: the dump is waited for and saved, nothing left in /dev/shm.
  add_test(NAME e2e_inspect_tui_quit_dump
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_quit_dump.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui_quit_dump PROPERTIES LABELS e2e TIMEOUT 120 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  # The SPAWN SITES table at 80x24 and its leak marks (issue 14).
  add_test(NAME e2e_inspect_tui_sites
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_sites.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui_sites PROPERTIES LABELS e2e TIMEOUT 240 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  # The live task list (T, --tasks-every) at 80x24: the demo's tasks, refreshes, nothing left behind.
  add_test(NAME e2e_inspect_tui_tasks
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_tasks.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui_tasks PROPERTIES LABELS e2e TIMEOUT 240 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  # The events screen (e) at 80x24: a live target's events, refreshed and scrolled; events off.
  add_test(NAME e2e_inspect_tui_events
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/tui_events.sh
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>)
  set_tests_properties(e2e_inspect_tui_events PROPERTIES LABELS e2e TIMEOUT 120 PROCESSORS 2
    SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX}")
  add_dependencies(schedrt_tests schedrt-demo)
endif()

# sched-inspect links common/ and never the runtime: no symbol that the runtime's own
# objects define may be in the binary (tests/inspector/no_runtime_code.sh, with nm).
# Not under sanitizers: they add their own runtime, and the check is about our code.
if(NOT SCHEDRT_SANITIZE)
  add_test(NAME inspector_no_runtime_code
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/inspector/no_runtime_code.sh ${CMAKE_NM}
            $<TARGET_FILE:sched-inspect> $<TARGET_OBJECTS:schedrt_objects>
    COMMAND_EXPAND_LISTS)
  set_tests_properties(inspector_no_runtime_code PROPERTIES LABELS link TIMEOUT 60
    PASS_REGULAR_EXPRESSION "no_runtime_code: ok")
endif()

# OpenMetrics and `serve` with the real tools (tests/inspector/openmetrics_e2e.py): the strict
# OpenMetrics parser of prometheus_client, promtool, a real Prometheus on loopback. A case whose
# tool is not installed skips (status 77) and says which package brings it. Needs targets that
# publish metrics (not the minimal preset); `serve` needs libmicrohttpd (inspector/CMakeLists.txt).
# The load and Prometheus cases time the server: not under sanitizers, and alone on the machine.
find_program(SCHEDRT_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(SCHEDRT_SYSTEM_PYTHON3 AND SCHEDRT_ENABLE_METRICS)
  set(om_cases format promtool)
  if(SCHEDRT_INSPECT_SERVE)
    list(APPEND om_cases serve_http serve_churn)
    if(NOT SCHEDRT_SANITIZE)
      list(APPEND om_cases serve_load prometheus)
    endif()
  else()
    message(STATUS "sched-inspect has no serve (no libmicrohttpd): its tests are left out")
  endif()
  foreach(case IN LISTS om_cases)
    add_test(NAME inspect_openmetrics_${case}
      COMMAND ${SCHEDRT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/inspector/openmetrics_e2e.py ${case}
              $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>
              ${PROJECT_SOURCE_DIR}/common/include/schedrt/proto/metrics_def.h)
    set_tests_properties(inspect_openmetrics_${case} PROPERTIES LABELS e2e TIMEOUT 120 PROCESSORS 2
      SKIP_RETURN_CODE 77
      FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};openmetrics_e2e: FAIL")
  endforeach()
  if(TEST inspect_openmetrics_serve_load)
    set_tests_properties(inspect_openmetrics_serve_load inspect_openmetrics_prometheus PROPERTIES RUN_SERIAL TRUE)
  endif()
endif()

# Forensics (issue 19): stalls classified (on CPU, off CPU in a syscall, the whole process stopped), the
# stall reports' per-minute cap, and proven leaks in a real dump (tests/inspector/stalls_e2e.py).
if(SCHEDRT_SYSTEM_PYTHON3 AND SCHEDRT_ENABLE_METRICS)
  set(stall_cases on_cpu syscall process reports proven proven_handles on_cpu_crowded syscall_crowded)
  # Stall backtraces in watchdog dumps (and their absence when the switch is off).
  if(SCHEDRT_ENABLE_TASKDUMP AND SCHEDRT_ENABLE_STALL_BACKTRACE)
    list(APPEND stall_cases backtrace backtrace_off)
  endif()
  foreach(case IN LISTS stall_cases)
    add_test(NAME inspect_stalls_${case}
      COMMAND ${SCHEDRT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/inspector/stalls_e2e.py ${case}
              $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>)
    set_tests_properties(inspect_stalls_${case} PROPERTIES LABELS e2e TIMEOUT 120 PROCESSORS 2
      FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};stalls_e2e: FAIL")
  endforeach()
endif()

# The event ring (tests/inspector/events_e2e.py): a stopped process's last events hold a scripted
# task's polls in order; the command's exit statuses and messages. Also `unit`, so the asan preset runs
# sched-inspect events and a runtime with events on under ASan+UBSan.
if(SCHEDRT_SYSTEM_PYTHON3 AND SCHEDRT_ENABLE_METRICS)
  set(event_cases stopped errors)
  # Watchdog dumps with the rings' last seconds, as `show` prints them (format 1.4).
  if(SCHEDRT_ENABLE_TASKDUMP)
    list(APPEND event_cases watchdog)
  endif()
  foreach(case IN LISTS event_cases)
    add_test(NAME inspect_events_${case}
      COMMAND ${SCHEDRT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/inspector/events_e2e.py ${case}
              $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>)
    set_tests_properties(inspect_events_${case} PROPERTIES LABELS "e2e;unit" TIMEOUT 60
      FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};events_e2e: FAIL")
  endforeach()
endif()

# Recordings end to end (tests/inspector/recording_e2e.py): record a real demo run, read it with
# `show --json` and Python's cbor2, plot it and check the SVG's panels; signals, a killed recorder,
# a cut file, the target's exit; the replay in tmux. Needs a demo that publishes metrics (not the
# minimal preset). All but the replay are also `unit`, so the asan preset runs sched-inspect's
# record, show and plot under ASan+UBSan on a live target.
if(SCHEDRT_SYSTEM_PYTHON3 AND TARGET schedrt-demo AND SCHEDRT_ENABLE_METRICS)
  set(rec_cases plot signals killed exit)
  if(SCHEDRT_TMUX AND NOT SCHEDRT_SANITIZE)
    list(APPEND rec_cases replay)
  endif()
  foreach(case IN LISTS rec_cases)
    add_test(NAME inspect_recording_${case}
      COMMAND ${SCHEDRT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/inspector/recording_e2e.py ${case}
              $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo>)
    set(labels e2e unit)
    if(case STREQUAL "replay")
      set(labels e2e)
    endif()
    set_tests_properties(inspect_recording_${case} PROPERTIES LABELS "${labels}" TIMEOUT 120 PROCESSORS 2
      SKIP_RETURN_CODE 77 FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};recording_e2e: FAIL")
  endforeach()
  add_dependencies(schedrt_tests schedrt-demo)
endif()
