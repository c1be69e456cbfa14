# Compiler flags for a fuzzing tree (COTENANT_FUZZ=ON), included from the top-level
# CMakeLists.txt before any target is defined, so they reach every library.
#
# All project code is compiled with -fsanitize=fuzzer-no-link: libFuzzer then sees coverage
# (and comparison operands) inside storage/, sharing/, rpc/ and the CLI, not only in the
# harness. Only the executables under fuzz/ link the libFuzzer runtime (-fsanitize=fuzzer).
#
# AddressSanitizer and UndefinedBehaviorSanitizer are turned on here unless the tree
# already asks for sanitizers with COTENANT_SANITIZE; either way an undefined-behaviour
# report aborts, so the fuzzer records it as a crash instead of printing and going on.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "COTENANT_FUZZ=ON needs clang (libFuzzer), e.g. "
    "-DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14")
endif()
add_compile_options(-fsanitize=fuzzer-no-link -fno-omit-frame-pointer)
if(NOT COTENANT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
add_compile_options(-fno-sanitize-recover=undefined)
# Every executable needs the coverage callbacks that fuzzer-no-link code calls; the
# sanitizer runtimes define them, libFuzzer's too (fuzz/ links it).
