// The API catalogue: every call of the schema, what permission sets match it against,
// and the admin-level rule of each administrative call.
//
// Thread safety: constant data and pure functions.

#ifndef COTENANT_SHARING_API_H_
#define COTENANT_SHARING_API_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "sharing/identity.h"

namespace cotenant::sharing {

enum class Api : int {
  kLogin = 0,
  kRecords,
  kAdmin,
  kWhoami,
  kAddRecord,
  kAddRecords,
  kUpdateRecord,
  kDeleteRecord,
  kGetRecord,
  kSearchRecords,
  kGetRecords,
  kImportRecords,
  kFinishImport,
  kDescribeObject,
  kGetRecordBy,
  kUpdateRecordBy,
  kDeleteRecordBy,
  kUpsertRecord,
  kBeginPhysicalImport,
  kCreateTenant,
  kListTenants,
  kDeleteTenant,
  kCreateObject,
  kListObjects,
  kCreateUser,
  kListUsers,
  kDeleteUser,
  kCreateApiKey,
  kRevokeApiKey,
  kListApiKeys,
  kCreateRole,
  kUpdateRole,
  kDeleteRole,
  kListRoles,
  kAddRoleMember,
  kRemoveRoleMember,
  kCreatePolicy,
  kUpdatePolicy,
  kDeletePolicy,
  kListPolicies,
  kSetSetting,
  kListSettings,
  kQueryAudit,
  kUsage,
  kCreatePermissionSet,
  kUpdatePermissionSet,
  kDeletePermissionSet,
  kListPermissionSets,
  kExplain,
  kSetQuota,
  kCheckStore,
  kBackup,
  kReadTenantRecords,
  kRestoreTenantRecords,
  kUsageHistory,
  kLintPermissionSets,
  kCount,
};

// What permission sets match a call against (docs/PERMISSIONS.md): the resource type
// ("records" for record calls, completed with "/<Object>"; "admin/<thing>" for
// administrative calls; "" for calls that are not evaluated: login, records, admin,
// whoami) and the method class (GET, POST, PUT, DELETE).
struct ApiAccess {
  std::string_view resource;
  std::string_view method;
};

// Who may make an administrative call (docs/PROTOCOL.md, "Administrative calls").
struct AdminRule {
  AdminLevel level = AdminLevel::kUser;  // the least admin level the call needs
  std::string_view what;                 // "create users": words of the denial message
  bool names_tenant = false;             // the call names a tenant (0 = the caller's own)
  // The call acts on a user (users, keys): a tenant admin acts on its own tenant's users
  // only and never on a system admin; with `self_service` a plain user may act on itself.
  bool acts_on_user = false;
  bool self_service = false;
};

std::string_view ApiName(Api api);  // the schema's method name, e.g. "getRecord"
ApiAccess AccessOf(Api api);
// The Api of a schema method name; nullopt when unknown.
std::optional<Api> ApiByName(std::string_view name);
bool IsRecordApi(Api api);  // the calls of the Records interface
// REQUIRES: an administrative API (AccessOf(api).resource starts with "admin/").
const AdminRule& AdminRuleOf(Api api);

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_API_H_
