# One place that adds a module and its tests.
#
#   dvs_module(common
#     SOURCES ids.cc sha256.cc
#     DEPS absl::status
#     TESTS ids_test.cc
#     TEST_DEPS ...)
#
# makes the static library `dvs_common` (include root: src/) and one GoogleTest
# executable per test source, each registered with CTest under its file name.
function(dvs_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  add_library(dvs_${name} STATIC ${M_SOURCES})
  target_include_directories(dvs_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(dvs_${name} PUBLIC ${M_DEPS})
  foreach(test_source ${M_TESTS})
    get_filename_component(test_name ${test_source} NAME_WE)
    add_executable(${test_name} ${test_source})
    target_link_libraries(${test_name} PRIVATE dvs_${name} ${M_TEST_DEPS} GTest::gmock GTest::gtest_main)
    add_test(NAME ${test_name} COMMAND ${test_name})
    set_tests_properties(${test_name} PROPERTIES LABELS unit TIMEOUT 300)
  endforeach()
endfunction()
