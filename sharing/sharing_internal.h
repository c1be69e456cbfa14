// What sharing.cc, access.cc and resolve.cc share: the JSON forms of roles, policies and
// rights, names, and rights arithmetic. Internal to sharing/.

#ifndef COTENANT_SHARING_SHARING_INTERNAL_H_
#define COTENANT_SHARING_SHARING_INTERNAL_H_

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "sharing/sharing.h"
#include "storage/key_encoding.h"

namespace cotenant::sharing::internal {

using json = nlohmann::json;
using storage::kGlobalTenant;

std::string Hex(uint64_t v);
std::string U64(uint64_t v);
bool ValidName(std::string_view name);
Status CheckName(std::string_view what, const std::string& name);
json RightsToJson(const RightsMap& rights);
RightsMap RightsFromJson(const json& j);
json ScopeToJson(const std::vector<ObjectScope>& scope);
std::vector<ObjectScope> ScopeFromJson(const json& a);
json PolicyToJson(const Policy& p);
bool PolicyFromJson(std::string_view text, Policy* p);
json RoleToJson(const Role& r);
bool RoleFromJson(std::string_view text, TenantId tenant, Role* r);
// The rights a role's map gives on `object`: its entry, else its "*" entry.
uint8_t RoleRightsOn(const RightsMap& rights, std::string_view object);
// Union of roles: per object the OR of each role's effective rights.
void MergeRights(const RightsMap& role, RightsMap* acc);
std::string DenyNoPolicy(TenantId target, TenantId caller_tenant);

inline constexpr std::string_view kSettingCrossTenantRoles = "crossTenantRoles";

}  // namespace cotenant::sharing::internal

#endif  // COTENANT_SHARING_SHARING_INTERNAL_H_
