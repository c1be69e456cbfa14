# COTENANT_SANITIZE: builds all project code with -fsanitize=<list> (e.g. address,undefined
# or thread; tested with clang). Included from the top-level CMakeLists.txt before any
# target is defined, so every library, test and tool gets the flags.
#
# A report is fatal (-fno-sanitize-recover=all) so no finding can scroll by unnoticed.
# -O1 and line-table-only debug info keep the sanitized trees cheap to build while the
# stack traces still name file:line; the frame pointer keeps the unwinder fast and exact.
set(_cotenant_san "-fsanitize=${COTENANT_SANITIZE}")
add_compile_options(${_cotenant_san} -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
  $<IF:$<CXX_COMPILER_ID:Clang>,-gline-tables-only,-g1>)
add_link_options(${_cotenant_san})
message(STATUS "Sanitizers: ${COTENANT_SANITIZE}")
