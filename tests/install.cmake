# The installed library as a user sees it: pkg-config and find_package(schedrt).
# Not in sanitizer builds: a consumer built without the sanitizer cannot link them.
if(NOT SCHEDRT_SANITIZE)
  add_test(NAME install_consumer
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer_test.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(install_consumer PROPERTIES LABELS "install" TIMEOUT 120
    PASS_REGULAR_EXPRESSION "consumer_test: ok")
endif()
