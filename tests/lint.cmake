# Checks of the source tree itself, run once (in the release preset: no sanitizer, everything built).
if(NOT SCHEDRT_SANITIZE AND SCHEDRT_BUILD_INSPECTOR AND SCHEDRT_ENABLE_METRICS AND SCHEDRT_ENABLE_TASKDUMP)
  add_test(NAME format_check COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-format.sh)
  set_tests_properties(format_check PROPERTIES LABELS "lint" TIMEOUT 120 SKIP_RETURN_CODE 77)
  # Every sched-inspect command and repository file the documents name exists (tests/docs/check_names.sh).
  add_test(NAME docs_check
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_names.sh ${PROJECT_SOURCE_DIR} $<TARGET_FILE:sched-inspect>)
  set_tests_properties(docs_check PROPERTIES LABELS "lint" TIMEOUT 60 PASS_REGULAR_EXPRESSION "check_names: ok")
  # docs/offline-analysis.md's Python and jq programs agree on a dump of the demo.
  if(TARGET schedrt-demo)
    add_test(NAME docs_offline_analysis
      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/offline_analysis.sh ${PROJECT_SOURCE_DIR}
              $<TARGET_FILE:sched-inspect> $<TARGET_FILE:schedrt-demo>)
    set_tests_properties(docs_offline_analysis PROPERTIES LABELS "lint" TIMEOUT 120 SKIP_RETURN_CODE 77)
  endif()
endif()
# docs/forensics.md's worked example of the event ring, run as written (tests/docs/forensics_events.sh).
if(SCHEDRT_BUILD_INSPECTOR AND SCHEDRT_ENABLE_METRICS)
  add_test(NAME docs_forensics_events
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/forensics_events.sh ${PROJECT_SOURCE_DIR}
            $<TARGET_FILE:sched-inspect> $<TARGET_FILE:inspect_target>)
  set_tests_properties(docs_forensics_events PROPERTIES LABELS "e2e" TIMEOUT 90 SKIP_RETURN_CODE 77
    PASS_REGULAR_EXPRESSION "forensics_events: ok")
endif()
# docs/api.md names every schedrt_ function, type and macro of include/schedrt.h, and nothing else.
add_test(NAME docs_api_reference COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs/api_doc_check.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(docs_api_reference PROPERTIES LABELS "lint" TIMEOUT 30
  PASS_REGULAR_EXPRESSION "api_doc_check: ok")
