# Writes OUT, a C++ source defining cotenant::rpc::EmbeddedConsoleFiles(): the files of
# the directory DIR (not its subdirectories), each as a name and its bytes.
# Run with: cmake -DDIR=... -DOUT=... -P embed_console.cmake
file(GLOB files LIST_DIRECTORIES false RELATIVE "${DIR}" "${DIR}/*")
list(SORT files)
set(body "")
set(n 0)
foreach(name IN LISTS files)
  if(name MATCHES "^\\.")
    continue()
  endif()
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "  static const char f${n}[] = {${bytes} 0};\n")
  string(APPEND body "  files.push_back({\"${name}\", std::string_view(f${n}, ${size})});\n")
  math(EXPR n "${n} + 1")
endforeach()
set(text "// Generated from the console's directory by cmake/embed_console.cmake. Do not edit.
#include <string_view>
#include <utility>
#include <vector>

namespace cotenant::rpc {

std::vector<std::pair<std::string_view, std::string_view>> EmbeddedConsoleFiles() {
  std::vector<std::pair<std::string_view, std::string_view>> files;
${body}  return files;
}

}  // namespace cotenant::rpc
")
# Rewritten only when it changes, so an unchanged console rebuilds nothing.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
