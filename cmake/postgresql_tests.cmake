# The suites on the PostgreSQL engine: CTest starts one throw-away PostgreSQL server for
# the run (fixture "postgresql": tests pg.server.start and pg.server.stop, around every test
# that needs it), and cotenant_pg_tests(TARGET ...) registers a suite a second time under
# the "pg." prefix with COTENANT_TEST_PG naming the file that holds the server's URI;
# each store of a test then lives in a schema of its own (tests/test_support.h).
#
# On by default when the PostgreSQL 15 server is installed; -DCOTENANT_TEST_POSTGRESQL=OFF
# runs the embedded engine alone (the ThreadSanitizer tree does), and
# COTENANT_TEST_POSTGRESQL_TARGETS picks suites (the AddressSanitizer tree runs the
# storage and sharing suites on PostgreSQL, the engine's own code under it).
set(COTENANT_PG_BINDIR /usr/lib/postgresql/15/bin)
if(EXISTS ${COTENANT_PG_BINDIR}/initdb)
  set(_pg_default ON)
else()
  set(_pg_default OFF)
endif()
option(COTENANT_TEST_POSTGRESQL "Also run the suites on the PostgreSQL engine" ${_pg_default})
set(COTENANT_TEST_POSTGRESQL_TARGETS "" CACHE STRING
  "The suites (targets) run on PostgreSQL too; empty = all of them")

set(COTENANT_TEST_PG_DIR ${CMAKE_BINARY_DIR}/test-postgresql)
if(COTENANT_TEST_POSTGRESQL)
  add_test(NAME pg.server.start
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/pg_cluster.sh start ${COTENANT_TEST_PG_DIR})
  set_tests_properties(pg.server.start PROPERTIES FIXTURES_SETUP postgresql TIMEOUT 120)
  add_test(NAME pg.server.stop
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/pg_cluster.sh stop ${COTENANT_TEST_PG_DIR})
  set_tests_properties(pg.server.stop PROPERTIES FIXTURES_CLEANUP postgresql TIMEOUT 60)
endif()

# cotenant_pg_tests(TARGET [TEST_PREFIX P] [ENVIRONMENT E] [TIMEOUT S] [LABELS L]):
# the suite TARGET again, on PostgreSQL, as "pg.P<name>".
function(cotenant_pg_tests target)
  if(NOT COTENANT_TEST_POSTGRESQL)
    return()
  endif()
  if(COTENANT_TEST_POSTGRESQL_TARGETS AND NOT target IN_LIST COTENANT_TEST_POSTGRESQL_TARGETS)
    return()
  endif()
  cmake_parse_arguments(PG "" "TEST_PREFIX;ENVIRONMENT;TIMEOUT;LABELS" "" ${ARGN})
  if(NOT PG_TIMEOUT)
    set(PG_TIMEOUT 600)
  endif()
  set(props FIXTURES_REQUIRED postgresql TIMEOUT ${PG_TIMEOUT}
    ENVIRONMENT_MODIFICATION "COTENANT_TEST_PG=set:${COTENANT_TEST_PG_DIR}/uri")
  if(PG_ENVIRONMENT)
    list(APPEND props ENVIRONMENT "${PG_ENVIRONMENT}")
  endif()
  if(PG_LABELS)
    list(APPEND props LABELS "${PG_LABELS}")
  endif()
  gtest_discover_tests(${target} TEST_PREFIX "pg.${PG_TEST_PREFIX}" DISCOVERY_TIMEOUT 60
    PROPERTIES ${props})
endfunction()
