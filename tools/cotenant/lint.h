// `cotenant lint`: finds access configuration that is probably a mistake (docs/CLI.md, "lint").
//
// Works on the name-based model of config.h, read from a server or from a file, and a finite
// universe of known calls: every (resource type, API name, method) triple the server can
// evaluate, with `records/<Object>` for each object of each tenant and the admin/ resource
// types of docs/PERMISSIONS.md. Regexes are RE2 full matches, as on the server.

#ifndef COTENANT_TOOLS_COTENANT_LINT_H_
#define COTENANT_TOOLS_COTENANT_LINT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "sharing/permission_lint.h"

namespace cotenant::cli::lint {

// Exit code of `cotenant lint` when it reports findings (docs/CLI.md).
constexpr int kExitFindings = 6;

// The known calls (the rules' lint is sharing/permission_lint.h, shared with the server).
using Universe = sharing::LintUniverse;

// The known calls of `cfg`: record APIs on records/<each object of each tenant>, and each
// administrative API on its admin/ resource type with its method.
Universe knownUniverse(const config::Config& cfg);

struct Finding {
  std::string severity;  // "error" | "warning"
  std::string what;      // a permission-set finding's kind (sharing/permission_lint.h) |
                         // policy-user-deleted | policy-expired | role-object-missing
  std::string where;     // "permission set 'x' policy 2", "policy ABC/p"
  std::string why;
};

// Every finding, in a stable order (permission sets by name, then policies by tenant/name).
std::vector<Finding> lintConfig(const config::Config& cfg, const Universe& u, int64_t nowMicros);

nlohmann::json toJson(const std::vector<Finding>& findings);
void printFindings(std::ostream& os, const std::vector<Finding>& findings);

}  // namespace cotenant::cli::lint

#endif  // COTENANT_TOOLS_COTENANT_LINT_H_
