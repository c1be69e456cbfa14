# End-to-end test of the installed SDK package, the quickstart example and the CLI against a
# real cotenantd (tests/sdk_example_test.sh). Included from tests/CMakeLists.txt.
add_test(NAME sdk_example
  COMMAND bash ${PROJECT_SOURCE_DIR}/tests/sdk_example_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(sdk_example PROPERTIES TIMEOUT 600 LABELS "e2e")
if(COTENANT_SANITIZE)
  set_property(TEST sdk_example PROPERTY ENVIRONMENT
    "COTENANT_EXAMPLE_CMAKE_ARGS=-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${COTENANT_SANITIZE}")
endif()
