# The installed library as a user sees it: pkg-config and find_package(schedrt).
# Not in sanitizer builds: a consumer built without the sanitizer cannot link them.
if(NOT SCHEDRT_SANITIZE)
  add_test(NAME install_consumer
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer_test.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(install_consumer PROPERTIES LABELS "install" TIMEOUT 120
    PASS_REGULAR_EXPRESSION "consumer_test: ok")
endif()

# The public header as a user compiles it: README's example (a spawn with two options) under gcc and
# clang, C11 and C2x, -Werror; what silences SCHEDRT_NODISCARD and what does not.
if(NOT SCHEDRT_SANITIZE)
  add_test(NAME api_compile
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/api/api_compile_test.sh ${PROJECT_SOURCE_DIR} $<TARGET_FILE:schedrt_shared>)
  set_tests_properties(api_compile PROPERTIES LABELS "unit;install" TIMEOUT 120
    PASS_REGULAR_EXPRESSION "api_compile_test: ok")
endif()
