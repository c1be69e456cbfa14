# End-to-end test of `cotenant export`, `apply` and `lint` against a real cotenantd
# (tests/access_roundtrip_test.sh). Included from tests/CMakeLists.txt.
add_test(NAME access_roundtrip
  COMMAND bash ${PROJECT_SOURCE_DIR}/tests/access_roundtrip_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(access_roundtrip PROPERTIES TIMEOUT 600 LABELS "e2e")
