// Lint of permission sets: rules that cannot do what their author meant
// (docs/PERMISSIONS.md, "Lint").
//
// Every rule is matched against every call there is: each API of the catalogue with its
// method class and resource type, the record APIs once per object name given. Findings:
//   never-matches      a rule that matches no call (names the part that matches nothing)
//   no-such-object     a record rule that matches record APIs but none of the objects
//   shadowed-by-deny   an allow rule every call of which a deny rule denies (a deny of the
//                      same set, or of a set that applies to every user in every tenant)
//   duplicate          a rule equal to an earlier rule of its set
//   allows-everything  an allow rule of a set for every user that matches every call
//   no-users           a set for listed users that lists none
//   no-tenants         a set for listed tenants that lists none
//   unknown-user       a listed user that does not exist
//   unknown-tenant     a listed tenant that does not exist
// Thread safety: a pure function of its inputs.

#ifndef COTENANT_SHARING_PERMISSION_LINT_H_
#define COTENANT_SHARING_PERMISSION_LINT_H_

#include <functional>
#include <string>
#include <vector>

#include "sharing/permission_sets.h"

namespace cotenant::sharing {

struct LintFinding {
  std::string set;
  int policy = 0;  // 1-based; 0 = the set as a whole
  std::string kind;
  std::string message;
};

struct LintInputs {
  std::vector<PermissionSet> sets;
  std::vector<std::string> objects;  // the object names record rules are matched against
  std::function<bool(storage::UserId)> user_exists;      // null: not checked
  std::function<bool(storage::TenantId)> tenant_exists;  // null: not checked
};

// The findings, in set order then rule order.
std::vector<LintFinding> LintPermissionSets(const LintInputs& in);

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_PERMISSION_LINT_H_
