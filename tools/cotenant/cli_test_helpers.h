// Helpers of the CLI unit tests (cli_parse_test.cc, cli_render_test.cc).

#ifndef COTENANT_TOOLS_COTENANT_CLI_TEST_HELPERS_H_
#define COTENANT_TOOLS_COTENANT_CLI_TEST_HELPERS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "cli_parse.h"

namespace cotenant::cli {

// One second in the microseconds the SDK counts in.
inline constexpr int64_t kS = 1000000;

// The message of the UsageError `f` throws, or "(no error)".
inline std::string usageMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_TEST_HELPERS_H_
