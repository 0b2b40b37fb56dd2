# The examples as smoke tests: they must build, run and shut down cleanly in
# the normal and the ASan+UBSan builds (label unit). The TSan preset builds no
# examples; the demo's concurrency is the runtime's, covered by stress tests.
if(TARGET schedrt-demo AND TARGET schedrt-hello)
  add_dependencies(schedrt_tests schedrt-demo schedrt-hello)
  add_test(NAME example_hello COMMAND schedrt-hello)
  add_test(NAME example_demo_duration
    COMMAND schedrt-demo --duration 2 --workers 2 --connections 50 --quiet)
  if(SCHEDRT_ENABLE_METRICS)
    set(demo_metrics metrics)
  endif()
  add_test(NAME example_demo_sigint
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/examples/demo_sigint.sh $<TARGET_FILE:schedrt-demo> ${demo_metrics})
  set_tests_properties(example_hello PROPERTIES PASS_REGULAR_EXPRESSION "returned 42")
  set_tests_properties(example_demo_duration PROPERTIES PASS_REGULAR_EXPRESSION "served [1-9][0-9]* requests")
  set_tests_properties(example_demo_sigint PROPERTIES PASS_REGULAR_EXPRESSION "demo_sigint: ok")
  set_tests_properties(example_hello example_demo_duration example_demo_sigint PROPERTIES
    LABELS "unit;examples" TIMEOUT 60
    FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};still allocated")
endif()
