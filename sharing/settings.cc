// Sharing: system settings, and the hooks through which changes made elsewhere (users,
// keys, tenants) reach the generations that keep cached contexts exact.

#include "sharing/sharing_internal.h"

namespace cotenant::sharing {

using namespace internal;  // NOLINT: this layer's own helpers

// ---- Settings -----------------------------------------------------------------------------

Status Sharing::SetSetting(const std::string& name, const std::string& value) {
  if (name != kSettingCrossTenantRoles) {
    return Status::InvalidArgument("unknown setting '" + name + "' (known: crossTenantRoles)");
  }
  if (value != "true" && value != "false") {
    return Status::InvalidArgument("setting " + name + " takes true or false, not '" + value + "'");
  }
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b;
  b.Put(kGlobalTenant, "setting/" + name, value);
  return Commit(&b, {}, true);
}

std::vector<std::pair<std::string, std::string>> Sharing::ListSettings() {
  std::string v;
  bool on = store_->MetaGet(kGlobalTenant, "setting/crossTenantRoles", &v).ok() && v == "true";
  return {{std::string(kSettingCrossTenantRoles), on ? "true" : "false"}};
}

bool Sharing::CrossTenantRolesEnabled() {
  std::string v;
  return store_->MetaGet(kGlobalTenant, "setting/crossTenantRoles", &v).ok() && v == "true";
}

// ---- Hooks --------------------------------------------------------------------------------

Status Sharing::OnIdentityChanged(TenantId tenant) {
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b;
  return Commit(&b, {tenant}, false);
}

Status Sharing::OnTenantChanged(TenantId tenant) {
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b;
  if (tenant == kGlobalTenant) return Commit(&b, {}, true);
  return Commit(&b, {tenant}, false);
}

Status Sharing::OnUserDeleted(TenantId tenant, UserId user) {
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b;
  std::vector<TenantId> touched{tenant};
  // Memberships live in the role's tenant; a cross-tenant member may be anywhere.
  for (const auto& t : store_->ListTenants()) {
    bool any = false;
    COTENANT_RETURN_IF_ERROR(store_->MetaScan(t.id, "member/" + Hex(user) + "/",
                                              [&](std::string_view k, std::string_view) {
                                                b.Delete(t.id, k);
                                                any = true;
                                                return true;
                                              }));
    if (any) touched.push_back(t.id);
  }
  return Commit(&b, touched, false);
}

Status Sharing::OnTenantDeleted(TenantId tenant) {
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b;
  std::vector<TenantId> touched;
  std::vector<std::pair<TenantId, std::string>> designating;
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(kGlobalTenant, "designated/" + Hex(tenant) + "/",
                                            [&](std::string_view k, std::string_view v) {
                                              TenantId p = std::strtoull(
                                                  std::string(k.substr(11 + 17)).c_str(), nullptr, 16);
                                              designating.emplace_back(p, std::string(v));
                                              b.Delete(kGlobalTenant, k);
                                              return true;
                                            }));
  for (const auto& [publisher, name] : designating) {
    storage::TenantInfo info;
    if (!store_->GetTenant(publisher, &info).ok()) continue;
    b.Delete(publisher, "policy/" + name);
    b.Delete(publisher, "policyfor/" + Hex(tenant));
    touched.push_back(publisher);
  }
  // Its own policies went with its key range; the reverse entries of them go here.
  // Memberships of its users in other tenants' (cross-tenant) roles go too.
  for (const auto& t : store_->ListTenants()) {
    std::string key = "designated/" + Hex(t.id) + "/" + Hex(tenant);
    std::string v;
    if (store_->MetaGet(kGlobalTenant, key, &v).ok()) b.Delete(kGlobalTenant, key);
    bool any = false;
    COTENANT_RETURN_IF_ERROR(store_->MetaScan(t.id, "member/", [&](std::string_view k, std::string_view mv) {
      json j = json::parse(mv, nullptr, false);
      if (j.is_object() && j.value("tenant", uint64_t{0}) == tenant) {
        b.Delete(t.id, k);
        any = true;
      }
      return true;
    }));
    if (any) touched.push_back(t.id);
  }
  // Tenant 0's lookup entries of its users and API keys (user/<id>, apikey/<id> ->
  // {"tenant": T, ...}): without this they outlived the tenant.
  for (std::string_view prefix : {std::string_view("user/"), std::string_view("apikey/")}) {
    COTENANT_RETURN_IF_ERROR(store_->MetaScan(kGlobalTenant, prefix, [&](std::string_view k, std::string_view v) {
      json j = json::parse(v, nullptr, false);
      if (j.is_object() && j.value("tenant", uint64_t{0}) == tenant) b.Delete(kGlobalTenant, k);
      return true;
    }));
  }
  Status s = Commit(&b, touched, true);
  cache_->ClearLocal();
  return s;
}

}  // namespace cotenant::sharing
