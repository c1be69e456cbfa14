// Helpers of more than one part of the declarative configuration (config_*.cc).

#ifndef COTENANT_TOOLS_COTENANT_CONFIG_INTERNAL_H_
#define COTENANT_TOOLS_COTENANT_CONFIG_INTERNAL_H_

#include <string>
#include <utility>

namespace cotenant::cli::config {

// "user@tenant" -> {user, tenant}; the last '@' counts. No '@' -> {spec, ""}.
inline std::pair<std::string, std::string> splitUser(const std::string& spec) {
  size_t at = spec.rfind('@');
  if (at == std::string::npos) return {spec, ""};
  return {spec.substr(0, at), spec.substr(at + 1)};
}

}  // namespace cotenant::cli::config

#endif  // COTENANT_TOOLS_COTENANT_CONFIG_INTERNAL_H_
