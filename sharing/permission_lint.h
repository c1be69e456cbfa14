// Lint of permission sets: rules that cannot do what their author meant. One
// implementation for the server (Admin.lintPermissionSets, on the stored sets) and the CLI
// (`cotenant lint`, on a configuration read from a server or a file); docs/PERMISSIONS.md,
// "Lint".
//
// Rules are matched against a finite universe of calls: each API the permission sets
// evaluate with its method class and resource type, the record APIs once per object name
// given (records/<Object>). Regexes are RE2 full matches, as when a call is decided.
//
// Thread safety: pure functions of their inputs.

#ifndef COTENANT_SHARING_PERMISSION_LINT_H_
#define COTENANT_SHARING_PERMISSION_LINT_H_

#include <string>
#include <vector>

namespace cotenant::sharing {

struct LintCall {
  std::string resource_type;
  std::string api;
  std::string method;
};

struct LintUniverse {
  std::vector<std::string> resource_types;  // sorted, distinct
  std::vector<std::string> apis;            // sorted, distinct
  std::vector<std::string> methods;         // DELETE GET POST PUT
  std::vector<LintCall> calls;              // every call there is
};

// The calls of the API catalogue, the record APIs on records/<each of `objects`>.
LintUniverse KnownCalls(const std::vector<std::string>& objects);

struct LintRule {
  std::string effect;  // "allow" | "deny"
  std::string resource_type, api_name, method;  // regexes
};

struct LintSet {
  std::string name;
  bool system_scope = false;          // every user; else `users`
  bool all_tenants = true;            // every tenant; else `tenants`
  std::vector<std::string> users;     // sorted keys (ids or user@tenant names)
  std::vector<std::string> tenants;   // sorted keys
  std::vector<LintRule> policies;     // in order; numbered from 1
};

struct LintFinding {
  std::string severity;  // "error" | "warning"
  // invalid-regex | regex-never-matches | matches-no-call | shadowed-allow |
  // system-allow-all | duplicate | no-users | no-tenants
  std::string kind;
  std::string set;
  int policy = 0;        // 1-based; 0 = the set as a whole
  std::string message;
};

// The findings of every set, in the sets' order, then their rules'.
std::vector<LintFinding> LintPermissionSets(const std::vector<LintSet>& sets, const LintUniverse& u);

// "permission set 'x' policy 2" (or "permission set 'x'" for policy 0).
std::string LintWhere(const LintFinding& f);

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_PERMISSION_LINT_H_
