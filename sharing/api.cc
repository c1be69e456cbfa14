#include "sharing/api.h"

#include <array>

namespace cotenant::sharing {
namespace {

using L = AdminLevel;

struct Entry {
  Api api;
  std::string_view name;
  ApiAccess access;
  AdminRule rule;
};

// One row per schema method, in Api order (checked below).
constexpr std::array<Entry, static_cast<size_t>(Api::kCount)> kCatalogue = {{
    {Api::kLogin, "login", {"", ""}, {}},
    {Api::kRecords, "records", {"", ""}, {}},
    {Api::kAdmin, "admin", {"", ""}, {}},
    {Api::kWhoami, "whoami", {"", ""}, {}},
    {Api::kAddRecord, "addRecord", {"records", "POST"}, {}},
    {Api::kAddRecords, "addRecords", {"records", "POST"}, {}},
    {Api::kUpdateRecord, "updateRecord", {"records", "PUT"}, {}},
    {Api::kDeleteRecord, "deleteRecord", {"records", "DELETE"}, {}},
    {Api::kGetRecord, "getRecord", {"records", "GET"}, {}},
    {Api::kSearchRecords, "searchRecords", {"records", "GET"}, {}},
    {Api::kGetRecords, "getRecords", {"records", "GET"}, {}},
    {Api::kImportRecords, "importRecords", {"records", "POST"}, {}},
    {Api::kFinishImport, "finishImport", {"records", "POST"}, {}},
    {Api::kDescribeObject, "describeObject", {"records", "GET"}, {}},
    {Api::kGetRecordBy, "getRecordBy", {"records", "GET"}, {}},
    {Api::kUpdateRecordBy, "updateRecordBy", {"records", "PUT"}, {}},
    {Api::kDeleteRecordBy, "deleteRecordBy", {"records", "DELETE"}, {}},
    {Api::kUpsertRecord, "upsertRecord", {"records", "PUT"}, {}},
    {Api::kBeginPhysicalImport, "beginPhysicalImport", {"records", "POST"}, {}},
    {Api::kCreateTenant, "createTenant", {"admin/tenants", "POST"}, {L::kSystemAdmin, "create tenants"}},
    {Api::kListTenants, "listTenants", {"admin/tenants", "GET"}, {L::kUser, "list tenants"}},
    {Api::kDeleteTenant, "deleteTenant", {"admin/tenants", "DELETE"}, {L::kSystemAdmin, "delete tenants", true}},
    {Api::kCreateObject, "createObject", {"admin/objects", "POST"}, {L::kTenantAdmin, "create objects", true}},
    {Api::kListObjects, "listObjects", {"admin/objects", "GET"}, {L::kUser, "list objects", true}},
    {Api::kCreateUser, "createUser", {"admin/users", "POST"}, {L::kTenantAdmin, "create users", true}},
    {Api::kListUsers, "listUsers", {"admin/users", "GET"}, {L::kTenantAdmin, "list users", true}},
    {Api::kDeleteUser, "deleteUser", {"admin/users", "DELETE"}, {L::kTenantAdmin, "delete users", true, true, false}},
    {Api::kCreateApiKey, "createApiKey", {"admin/keys", "POST"}, {L::kTenantAdmin, "create API keys", true, true, true}},
    {Api::kRevokeApiKey, "revokeApiKey", {"admin/keys", "DELETE"}, {L::kTenantAdmin, "revoke API keys", true, true, true}},
    {Api::kListApiKeys, "listApiKeys", {"admin/keys", "GET"}, {L::kTenantAdmin, "list API keys", true, true, true}},
    {Api::kCreateRole, "createRole", {"admin/roles", "POST"}, {L::kTenantAdmin, "create roles", true}},
    {Api::kUpdateRole, "updateRole", {"admin/roles", "PUT"}, {L::kTenantAdmin, "update roles", true}},
    {Api::kDeleteRole, "deleteRole", {"admin/roles", "DELETE"}, {L::kTenantAdmin, "delete roles", true}},
    {Api::kListRoles, "listRoles", {"admin/roles", "GET"}, {L::kUser, "list roles", true}},
    {Api::kAddRoleMember, "addRoleMember", {"admin/memberships", "POST"}, {L::kTenantAdmin, "manage role members", true}},
    {Api::kRemoveRoleMember, "removeRoleMember", {"admin/memberships", "DELETE"}, {L::kTenantAdmin, "manage role members", true}},
    {Api::kCreatePolicy, "createPolicy", {"admin/policies", "POST"}, {L::kTenantAdmin, "create data-sharing policies", true}},
    {Api::kUpdatePolicy, "updatePolicy", {"admin/policies", "PUT"}, {L::kTenantAdmin, "update data-sharing policies", true}},
    {Api::kDeletePolicy, "deletePolicy", {"admin/policies", "DELETE"}, {L::kTenantAdmin, "delete data-sharing policies", true}},
    {Api::kListPolicies, "listPolicies", {"admin/policies", "GET"}, {L::kTenantAdmin, "list data-sharing policies", true}},
    {Api::kSetSetting, "setSetting", {"admin/settings", "PUT"}, {L::kSystemAdmin, "change system settings"}},
    {Api::kListSettings, "listSettings", {"admin/settings", "GET"}, {L::kUser, "list system settings"}},
    {Api::kQueryAudit, "queryAudit", {"admin/audit", "GET"}, {L::kTenantAdmin, "read audit logs", true}},
    {Api::kUsage, "usage", {"admin/usage", "GET"}, {L::kTenantAdmin, "read usage", true}},
    {Api::kCreatePermissionSet, "createPermissionSet", {"admin/permissionsets", "POST"}, {L::kSystemAdmin, "create permission sets"}},
    {Api::kUpdatePermissionSet, "updatePermissionSet", {"admin/permissionsets", "PUT"}, {L::kSystemAdmin, "update permission sets"}},
    {Api::kDeletePermissionSet, "deletePermissionSet", {"admin/permissionsets", "DELETE"}, {L::kSystemAdmin, "delete permission sets"}},
    {Api::kListPermissionSets, "listPermissionSets", {"admin/permissionsets", "GET"}, {L::kTenantAdmin, "list permission sets"}},
    {Api::kExplain, "explain", {"admin/explain", "GET"}, {L::kUser, "explain calls"}},
    {Api::kSetQuota, "setQuota", {"admin/quotas", "PUT"}, {L::kSystemAdmin, "set quotas", true}},
    {Api::kCheckStore, "checkStore", {"admin/store", "GET"}, {L::kSystemAdmin, "check the store"}},
    {Api::kBackup, "backup", {"admin/store", "POST"}, {L::kSystemAdmin, "back up the store"}},
    {Api::kReadTenantRecords, "readTenantRecords", {"admin/records", "GET"}, {L::kSystemAdmin, "read a tenant's records for a dump", true}},
    {Api::kRestoreTenantRecords, "restoreTenantRecords", {"admin/records", "POST"}, {L::kSystemAdmin, "restore a tenant's records", true}},
    {Api::kUsageHistory, "usageHistory", {"admin/usage", "GET"}, {L::kTenantAdmin, "read usage", true}},
    {Api::kLintPermissionSets, "lintPermissionSets", {"admin/permissionsets", "GET"}, {L::kTenantAdmin, "lint permission sets"}},
}};

constexpr bool InApiOrder() {
  for (size_t i = 0; i < kCatalogue.size(); ++i) {
    if (static_cast<size_t>(kCatalogue[i].api) != i) return false;
  }
  return true;
}
static_assert(InApiOrder(), "kCatalogue rows must follow the order of enum Api");

const Entry* Find(Api api) {
  auto i = static_cast<size_t>(api);
  return i < kCatalogue.size() ? &kCatalogue[i] : nullptr;
}

}  // namespace

std::string_view ApiName(Api api) {
  const Entry* e = Find(api);
  return e != nullptr ? e->name : "unknown";
}

ApiAccess AccessOf(Api api) {
  const Entry* e = Find(api);
  return e != nullptr ? e->access : ApiAccess{"", ""};
}

std::optional<Api> ApiByName(std::string_view name) {
  for (const Entry& e : kCatalogue) {
    if (e.name == name) return e.api;
  }
  return std::nullopt;
}

bool IsRecordApi(Api api) { return AccessOf(api).resource == "records"; }

const AdminRule& AdminRuleOf(Api api) {
  static const AdminRule kNone{};
  const Entry* e = Find(api);
  return e != nullptr ? e->rule : kNone;
}

}  // namespace cotenant::sharing
