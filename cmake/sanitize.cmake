# COTENANT_SANITIZE: builds all project code with -fsanitize=<list> (e.g. address,undefined
# or thread; tested with clang). Included from the top-level CMakeLists.txt before any
# target is defined, so every library, test and tool gets the flags.
#
# A report is fatal (-fno-sanitize-recover=all) so no finding can scroll by unnoticed.
# COTENANT_SANITIZE_OPT (-O1) and line-table-only debug info keep the sanitized trees cheap
# to build while the stack traces still name file:line; -O0 builds in less than half the
# time and finds the same errors, running slower. The frame pointer keeps the unwinder fast
# and exact.
set(COTENANT_SANITIZE_OPT "-O1" CACHE STRING "Optimization of a sanitized tree's code")
set(_cotenant_san "-fsanitize=${COTENANT_SANITIZE}")
add_compile_options(${_cotenant_san} -fno-sanitize-recover=all -fno-omit-frame-pointer
  ${COTENANT_SANITIZE_OPT}
  $<IF:$<CXX_COMPILER_ID:Clang>,-gline-tables-only,-g1>)
add_link_options(${_cotenant_san})
message(STATUS "Sanitizers: ${COTENANT_SANITIZE}")
