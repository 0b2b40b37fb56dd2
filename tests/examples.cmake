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
  add_test(NAME example_demo_version COMMAND schedrt-demo --version)
  set_tests_properties(example_demo_version PROPERTIES LABELS "unit;examples" TIMEOUT 30
    PASS_REGULAR_EXPRESSION "^schedrt-demo ${PROJECT_VERSION} \\(libschedrt ${PROJECT_VERSION}\\)\n$")
  set_tests_properties(example_hello PROPERTIES PASS_REGULAR_EXPRESSION "returned 42")
  set_tests_properties(example_demo_duration PROPERTIES PASS_REGULAR_EXPRESSION "served [1-9][0-9]* requests")
  set_tests_properties(example_demo_sigint PROPERTIES PASS_REGULAR_EXPRESSION "demo_sigint: ok")
  # --real-sockets: the connections are loopback TCP sockets (demo_sockets.c).
  add_test(NAME example_demo_real_sockets
    COMMAND schedrt-demo --real-sockets --duration 2 --workers 2 --connections 50 --quiet)
  set_tests_properties(example_demo_real_sockets PROPERTIES
    PASS_REGULAR_EXPRESSION "got [1-9][0-9]* answers over loopback sockets")
  set_tests_properties(example_hello example_demo_duration example_demo_sigint example_demo_real_sockets PROPERTIES
    LABELS "unit;examples" TIMEOUT 60
    FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};still allocated")
endif()

# The I/O examples end to end with real clients (tests/examples/net_e2e.py):
# the echo server under 200 concurrent connections, the HTTP server's
# keep-alive, pipelining, bad input, idle deadline, clients that vanish,
# EMFILE (run with a 64-fd limit) and its I/O waits in a task dump. Debian's
# /usr/bin/python3 (the standard library is enough); curl is used if present.
find_program(SCHEDRT_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(TARGET schedrt-echo AND TARGET schedrt-http AND SCHEDRT_SYSTEM_PYTHON3)
  add_dependencies(schedrt_tests schedrt-echo schedrt-http)
  set(net_e2e ${SCHEDRT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/examples/net_e2e.py)
  set(net_tests example_echo)
  add_test(NAME example_echo COMMAND ${net_e2e} echo $<TARGET_FILE:schedrt-echo>)
  foreach(case http_basic http_bad_input http_idle http_disconnect http_emfile)
    add_test(NAME example_${case} COMMAND ${net_e2e} ${case} $<TARGET_FILE:schedrt-http>)
    list(APPEND net_tests example_${case})
  endforeach()
  if(TARGET sched-inspect AND SCHEDRT_ENABLE_METRICS AND SCHEDRT_ENABLE_TASKDUMP)
    add_test(NAME example_http_inspect
      COMMAND ${net_e2e} http_inspect $<TARGET_FILE:schedrt-http> $<TARGET_FILE:sched-inspect>)
    list(APPEND net_tests example_http_inspect)
  endif()
  set_tests_properties(${net_tests} PROPERTIES
    LABELS "unit;examples" TIMEOUT 120
    PASS_REGULAR_EXPRESSION "net_e2e: ok"
    FAIL_REGULAR_EXPRESSION "${SCHEDRT_TEST_FAIL_REGEX};still allocated;net_e2e: FAIL")
  # The idle test times the server's deadline, the EMFILE test its CPU time:
  # not next to the stress tests.
  set_tests_properties(example_http_idle example_http_emfile PROPERTIES RUN_SERIAL TRUE)
endif()

# The HTTP example's head parser on its own (no sockets).
if(TARGET schedrt-http)
  schedrt_unit_test(NAME test_http_parse SOURCES unit/test_http_parse.c ../examples/http_parse.c LABELS examples)
  if(TARGET test_http_parse)
    target_include_directories(test_http_parse PRIVATE ${PROJECT_SOURCE_DIR}/examples)
  endif()
endif()
