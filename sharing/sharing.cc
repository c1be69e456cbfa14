#include "sharing/sharing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>

#include "sharing/sharing_internal.h"
#include "storage/kv.h"

namespace cotenant::sharing {
namespace internal {


std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

std::string U64(uint64_t v) {
  std::string s;
  storage::AppendU64(&s, v);
  return s;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Status CheckName(std::string_view what, const std::string& name) {
  if (!ValidName(name)) {
    return Status::InvalidArgument(std::string(what) + " name '" + name +
                                   "' is invalid: use 1-64 letters, digits, '_', '-' or '.'");
  }
  return Status::OK();
}

json RightsToJson(const RightsMap& rights) {
  json j = json::object();
  for (const auto& [obj, mask] : rights) j[obj] = mask;
  return j;
}

RightsMap RightsFromJson(const json& j) {
  RightsMap r;
  if (!j.is_object()) return r;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_number_unsigned()) r[it.key()] = it.value().get<uint8_t>();
  }
  return r;
}

json ScopeToJson(const std::vector<ObjectScope>& scope) {
  json a = json::array();
  for (const auto& s : scope) {
    a.push_back({{"object", s.object}, {"rowFilter", s.row_filter}, {"fields", s.fields}});
  }
  return a;
}

std::vector<ObjectScope> ScopeFromJson(const json& a) {
  std::vector<ObjectScope> out;
  if (!a.is_array()) return out;
  for (const auto& s : a) {
    ObjectScope o;
    o.object = s.value("object", std::string());
    o.row_filter = s.value("rowFilter", std::string());
    o.fields = s.value("fields", std::vector<std::string>());
    out.push_back(std::move(o));
  }
  return out;
}

json PolicyToJson(const Policy& p) {
  return json{{"publisher", p.publisher}, {"name", p.name},         {"designated", p.designated},
              {"global", p.global},       {"user", p.user},         {"scope", ScopeToJson(p.scope)},
              {"expiresAt", p.expires_at}, {"createdAt", p.created_at}, {"modifiedAt", p.modified_at},
              {"dormant", p.dormant}};
}

bool PolicyFromJson(std::string_view text, Policy* p) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  p->publisher = j.value("publisher", uint64_t{0});
  p->name = j.value("name", std::string());
  p->designated = j.value("designated", uint64_t{0});
  p->global = j.value("global", false);
  p->user = j.value("user", uint64_t{0});
  p->scope = ScopeFromJson(j.value("scope", json::array()));
  p->expires_at = j.value("expiresAt", int64_t{0});
  p->created_at = j.value("createdAt", int64_t{0});
  p->modified_at = j.value("modifiedAt", int64_t{0});
  p->dormant = j.value("dormant", false);
  return true;
}

json RoleToJson(const Role& r) {
  return json{{"id", r.id}, {"name", r.name}, {"rights", RightsToJson(r.rights)},
              {"crossTenant", r.cross_tenant}};
}

bool RoleFromJson(std::string_view text, TenantId tenant, Role* r) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  r->id = j.value("id", uint64_t{0});
  r->tenant = tenant;
  r->name = j.value("name", std::string());
  r->rights = RightsFromJson(j.value("rights", json::object()));
  r->cross_tenant = j.value("crossTenant", false);
  return true;
}

// Effective rights of one role on an object: its entry for the object, else its "*".
uint8_t RoleRightsOn(const RightsMap& rights, std::string_view object) {
  auto it = rights.find(object);
  if (it != rights.end()) return it->second;
  auto star = rights.find("*");
  return star == rights.end() ? 0 : star->second;
}

// Union of roles: per object the OR of each role's effective rights.
void MergeRights(const RightsMap& role, RightsMap* acc) {
  // Objects named by earlier roles get this role's effective rights too.
  for (auto& [obj, mask] : *acc) {
    if (obj != "*") mask |= RoleRightsOn(role, obj);
  }
  uint8_t acc_star = RoleRightsOn(*acc, "*");
  for (const auto& [obj, mask] : role) {
    if (obj == "*") continue;
    if (acc->find(obj) == acc->end()) (*acc)[obj] = mask | acc_star;
  }
  uint8_t role_star = RoleRightsOn(role, "*");
  if (role_star != 0 || acc->count("*") != 0) (*acc)["*"] = acc_star | role_star;
}

std::string DenyNoPolicy(TenantId target, TenantId caller_tenant) {
  return "Access Denied: no data-sharing policy of tenant " + std::to_string(target) +
         " admits tenant " + std::to_string(caller_tenant);
}


}  // namespace internal

using namespace internal;  // NOLINT: this layer's own helpers

// ---- Sharing: generations -----------------------------------------------------------------

Sharing::Sharing(storage::Store* store, Identity* identity, ContextCache* cache,
                 const Clock* clock)
    : store_(store), identity_(identity), cache_(cache), clock_(clock) {}

uint64_t Sharing::Generation(TenantId tenant) {
  {
    std::shared_lock<std::shared_mutex> l(gen_mu_);
    auto it = gens_.find(tenant);
    if (it != gens_.end()) return it->second;
  }
  std::vector<std::optional<std::string>> stored;
  if (!store_->MetaMultiGet({{tenant, "gen"}}, &stored).ok()) stored.assign(1, std::nullopt);
  // A tenant that does not exist has generation 1 until it does; its contexts are denials.
  return Observe(tenant, stored[0]);
}

uint64_t Sharing::GenerationOf(const std::optional<std::string>& stored) {
  return stored && stored->size() == 8 ? storage::DecodeU64(stored->data()) : 1;
}

uint64_t Sharing::Observe(TenantId tenant, const std::optional<std::string>& stored) {
  const uint64_t g = GenerationOf(stored);
  {
    std::shared_lock<std::shared_mutex> l(gen_mu_);
    auto it = gens_.find(tenant);
    if (it != gens_.end() && it->second >= g) return it->second;
  }
  // Ahead of what this process knew (or the first time it looks): on a shared store,
  // another front-end changed the tenant, so what this process keeps of it (users and
  // keys, the catalog) may be stale; it is read again before the generation is
  // published, so nothing stamped with it rests on older data.
  if (store_->shared()) {
    if (tenant == kGlobalTenant) {
      (void)store_->Refresh(std::nullopt);
    } else {
      identity_->ForgetTenant(tenant);
      (void)store_->Refresh(tenant);
    }
  }
  std::unique_lock<std::shared_mutex> l(gen_mu_);
  uint64_t& known = gens_[tenant];
  known = std::max(known, g);
  return known;
}

Stamp Sharing::CurrentStamp(TenantId caller_tenant, TenantId target) {
  Stamp s;
  s.global = Generation(kGlobalTenant);
  s.target = Generation(target);
  s.caller = Generation(caller_tenant);
  return s;
}

Status Sharing::Commit(storage::Store::MetaBatch* batch, std::vector<TenantId> tenants,
                       bool global) {
  if (global) tenants.push_back(kGlobalTenant);
  std::sort(tenants.begin(), tenants.end());
  tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
  std::vector<std::pair<TenantId, uint64_t>> next;
  if (store_->shared()) {
    // Other front-ends change these tenants too: each bump is made from the generation
    // stored now and only if it is still stored when the change is written, so no two
    // changes publish the same generation and none is missed. A change that is nothing
    // but the bumps (a change made elsewhere, announced) simply bumps again.
    const bool only_bumps = batch->empty();
    const storage::Store::MetaBatch changes = *batch;
    for (int attempt = 0;; ++attempt) {
      *batch = changes;
      next.clear();
      std::vector<std::pair<TenantId, std::string>> keys;
      for (TenantId t : tenants) keys.emplace_back(t, "gen");
      std::vector<std::optional<std::string>> stored;
      COTENANT_RETURN_IF_ERROR(store_->MetaMultiGet(keys, &stored));
      for (size_t i = 0; i < tenants.size(); ++i) {
        uint64_t g = GenerationOf(stored[i]) + 1;
        batch->Expect(tenants[i], "gen", stored[i]);
        batch->Put(tenants[i], "gen", U64(g));
        next.emplace_back(tenants[i], g);
      }
      Status s = store_->MetaWrite(*batch);
      if (s.ok()) {
        // What other front-ends changed up to the generations this change bumped from is
        // read before the new ones are published (they stand for all of it).
        for (size_t i = 0; i < tenants.size(); ++i) Observe(tenants[i], stored[i]);
        break;
      }
      if (!storage::IsConditionFailed(s)) return s;
      if (!only_bumps || attempt == 100) {
        return Status::Busy("the sharing settings changed on another server at the same "
                            "moment; send the change again");
      }
    }
  } else {
    for (TenantId t : tenants) {
      uint64_t g = Generation(t) + 1;
      batch->Put(t, "gen", U64(g));
      next.emplace_back(t, g);
    }
    COTENANT_RETURN_IF_ERROR(store_->MetaWrite(*batch));
  }
  // Published before the changing call returns: from here on every cached context
  // stamped with an older generation is stale.
  std::unique_lock<std::shared_mutex> l(gen_mu_);
  for (auto [t, g] : next) gens_[t] = std::max(gens_[t], g);
  return Status::OK();
}

// ---- Roles --------------------------------------------------------------------------------

Status Sharing::LoadRole(TenantId tenant, const std::string& name, Role* out) {
  std::string v;
  Status s = store_->MetaGet(tenant, "role/" + name, &v);
  if (s.IsNotFound()) return Status::NotFound("role '" + name + "' does not exist");
  COTENANT_RETURN_IF_ERROR(s);
  if (!RoleFromJson(v, tenant, out)) return Status::Internal("corrupt role " + name);
  return Status::OK();
}

namespace {
Status ValidateRights(const RightsMap& rights) {
  for (const auto& [obj, mask] : rights) {
    if (obj != "*" && !ValidName(obj)) {
      return Status::InvalidArgument("rights name an invalid object '" + obj + "'");
    }
    if (mask & ~kAllRights) return Status::InvalidArgument("unknown right on " + obj);
  }
  return Status::OK();
}
}  // namespace

Status Sharing::CreateRole(TenantId tenant, const std::string& name, const RightsMap& rights,
                           bool cross_tenant, Role* out) {
  COTENANT_RETURN_IF_ERROR(CheckName("role", name));
  COTENANT_RETURN_IF_ERROR(ValidateRights(rights));
  std::lock_guard<std::mutex> l(change_mu_);
  Role existing;
  Status s = LoadRole(tenant, name, &existing);
  if (s.ok()) return Status::Conflict("role '" + name + "' already exists");
  if (!s.IsNotFound()) return s;
  Role r;
  COTENANT_RETURN_IF_ERROR(store_->NextId(kGlobalTenant, "role", &r.id));
  r.tenant = tenant;
  r.name = name;
  r.rights = rights;
  r.cross_tenant = cross_tenant;
  storage::Store::MetaBatch b;
  b.Put(tenant, "role/" + name, RoleToJson(r).dump());
  COTENANT_RETURN_IF_ERROR(Commit(&b, {tenant}, false));
  *out = r;
  return Status::OK();
}

Status Sharing::UpdateRole(TenantId tenant, const std::string& name, const RightsMap& rights,
                           bool cross_tenant, Role* out) {
  COTENANT_RETURN_IF_ERROR(ValidateRights(rights));
  std::lock_guard<std::mutex> l(change_mu_);
  Role r;
  COTENANT_RETURN_IF_ERROR(LoadRole(tenant, name, &r));
  r.rights = rights;
  r.cross_tenant = cross_tenant;
  storage::Store::MetaBatch b;
  b.Put(tenant, "role/" + name, RoleToJson(r).dump());
  if (!cross_tenant) {
    // Members from other tenants lose the role with the flag.
    COTENANT_RETURN_IF_ERROR(store_->MetaScan(tenant, "member/", [&](std::string_view k, std::string_view v) {
      json j = json::parse(v, nullptr, false);
      if (k.size() > 7 + 17 && k.substr(7 + 17) == name && j.is_object() &&
          j.value("tenant", uint64_t{0}) != tenant) {
        b.Delete(tenant, k);
      }
      return true;
    }));
  }
  COTENANT_RETURN_IF_ERROR(Commit(&b, {tenant}, false));
  *out = r;
  return Status::OK();
}

Status Sharing::DeleteRole(TenantId tenant, const std::string& name) {
  std::lock_guard<std::mutex> l(change_mu_);
  Role r;
  COTENANT_RETURN_IF_ERROR(LoadRole(tenant, name, &r));
  storage::Store::MetaBatch b;
  b.Delete(tenant, "role/" + name);
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(tenant, "member/", [&](std::string_view k, std::string_view) {
    if (k.size() > 7 + 17 && k.substr(7 + 17) == name) b.Delete(tenant, k);
    return true;
  }));
  return Commit(&b, {tenant}, false);
}

Status Sharing::ListRoles(TenantId tenant, std::vector<Role>* out) {
  out->clear();
  std::map<std::string, size_t> index;
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(tenant, "role/", [&](std::string_view, std::string_view v) {
    Role r;
    if (RoleFromJson(v, tenant, &r)) {
      index[r.name] = out->size();
      out->push_back(std::move(r));
    }
    return true;
  }));
  return store_->MetaScan(tenant, "member/", [&](std::string_view k, std::string_view v) {
    // member/<16 hex user>/<role>
    if (k.size() <= 7 + 17) return true;
    UserId user = std::strtoull(std::string(k.substr(7, 16)).c_str(), nullptr, 16);
    auto it = index.find(std::string(k.substr(7 + 17)));
    json j = json::parse(v, nullptr, false);
    if (it != index.end() && j.is_object()) {
      (*out)[it->second].members.push_back(RoleMember{j.value("tenant", uint64_t{0}), user});
    }
    return true;
  });
}

Status Sharing::AddMember(TenantId tenant, const std::string& role, TenantId member_tenant,
                          UserId user) {
  std::lock_guard<std::mutex> l(change_mu_);
  Role r;
  COTENANT_RETURN_IF_ERROR(LoadRole(tenant, role, &r));
  if (member_tenant != tenant) {
    if (!r.cross_tenant) {
      return Status::InvalidArgument("role '" + role +
                                     "' is not a cross-tenant role: only users of tenant " +
                                     std::to_string(tenant) + " may join it");
    }
    if (!CrossTenantRolesEnabled()) {
      return Status::PermissionDenied(
          "Access Denied: cross-tenant roles are disabled (system setting crossTenantRoles)");
    }
  }
  User u;
  Status s = identity_->GetUser(member_tenant, user, &u);
  bool dormant = false;
  if (s.IsNotFound()) {
    if (member_tenant == tenant) {
      return Status::NotFound("user " + std::to_string(user) + " of tenant " +
                              std::to_string(member_tenant) + " does not exist");
    }
    // Another tenant's users are not the role's tenant to learn about: a missing one is
    // accepted like a live one, and the membership never grants anything (also not to a
    // user created later under that id).
    dormant = true;
  } else {
    COTENANT_RETURN_IF_ERROR(s);
  }
  json value{{"tenant", member_tenant}};
  if (dormant) value["dormant"] = true;
  storage::Store::MetaBatch b;
  b.Put(tenant, "member/" + Hex(user) + "/" + role, value.dump());
  if (dormant) return Commit(&b, {tenant}, false);
  return Commit(&b, {tenant, member_tenant}, false);
}

Status Sharing::RemoveMember(TenantId tenant, const std::string& role, TenantId member_tenant,
                             UserId user) {
  std::lock_guard<std::mutex> l(change_mu_);
  Role r;
  COTENANT_RETURN_IF_ERROR(LoadRole(tenant, role, &r));
  std::string key = "member/" + Hex(user) + "/" + role;
  std::string v;
  Status s = store_->MetaGet(tenant, key, &v);
  if (s.IsNotFound()) {
    return Status::NotFound("user " + std::to_string(user) + " is not a member of role '" + role + "'");
  }
  COTENANT_RETURN_IF_ERROR(s);
  storage::Store::MetaBatch b;
  b.Delete(tenant, key);
  // The member's tenant has a generation to bump only while it exists (a dormant
  // membership names a tenant or user that did not exist).
  storage::TenantInfo mt;
  if (member_tenant == tenant || !store_->GetTenant(member_tenant, &mt).ok()) {
    return Commit(&b, {tenant}, false);
  }
  return Commit(&b, {tenant, member_tenant}, false);
}

Status Sharing::RolesOf(TenantId tenant, UserId user, bool cross_tenant_only, RightsMap* rights,
                        bool* any) {
  *any = false;
  std::vector<std::string> names;
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(tenant, "member/" + Hex(user) + "/",
                                            [&](std::string_view k, std::string_view v) {
                                              json j = json::parse(v, nullptr, false);
                                              if (j.is_object() && j.value("dormant", false)) return true;
                                              names.emplace_back(k.substr(7 + 17));
                                              return true;
                                            }));
  for (const auto& name : names) {
    Role r;
    Status s = LoadRole(tenant, name, &r);
    if (s.IsNotFound()) continue;
    COTENANT_RETURN_IF_ERROR(s);
    if (cross_tenant_only && !r.cross_tenant) continue;
    *any = true;
    MergeRights(r.rights, rights);
  }
  return Status::OK();
}

// ---- Policies -----------------------------------------------------------------------------

Status Sharing::LoadPolicy(TenantId publisher, const std::string& name, Policy* out) {
  std::string v;
  Status s = store_->MetaGet(publisher, "policy/" + name, &v);
  if (s.IsNotFound()) return Status::NotFound("policy '" + name + "' does not exist");
  COTENANT_RETURN_IF_ERROR(s);
  if (!PolicyFromJson(v, out)) return Status::Internal("corrupt policy " + name);
  return Status::OK();
}

Status Sharing::ValidatePolicy(TenantId publisher, const Policy& p) {
  COTENANT_RETURN_IF_ERROR(CheckName("policy", p.name));
  storage::TenantInfo pub;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(publisher, &pub));
  if (p.global) {
    if (pub.kind != storage::TenantKind::kIsv && pub.kind != storage::TenantKind::kMsp) {
      return Status::InvalidArgument("only an isv or msp may have a global policy; tenant " +
                                     std::to_string(publisher) + " is a " +
                                     std::string(storage::TenantKindName(pub.kind)));
    }
    if (p.designated != 0) {
      return Status::InvalidArgument("a global policy designates no single tenant");
    }
  } else {
    if (p.designated == 0) return Status::InvalidArgument("a policy needs a designated tenant");
    if (p.designated == publisher) {
      return Status::InvalidArgument("a tenant cannot designate itself");
    }
    // Whether the designated tenant exists is not the publisher's to learn: see dormant.
  }
  User u;
  Status s = identity_->GetUser(publisher, p.user, &u);
  if (s.IsNotFound()) {
    return Status::InvalidArgument("the policy's user " + std::to_string(p.user) +
                                   " is not a user of tenant " + std::to_string(publisher));
  }
  COTENANT_RETURN_IF_ERROR(s);
  std::set<std::string> seen;
  for (const auto& os : p.scope) {
    if (!seen.insert(os.object).second) {
      return Status::InvalidArgument("the scope names object " + os.object + " twice");
    }
    std::shared_ptr<const storage::ObjectDef> def;
    Status os_status = store_->GetObject(publisher, os.object, &def);
    if (os_status.IsNotFound()) {
      return Status::InvalidArgument("the scope names object " + os.object +
                                     ", which tenant " + std::to_string(publisher) + " does not have");
    }
    COTENANT_RETURN_IF_ERROR(os_status);
    COTENANT_RETURN_IF_ERROR(storage::criteria::CheckSize(
        "row filter of " + os.object, os.row_filter.size(),
        store_->options().limits.max_criteria_bytes));
    if (!os.row_filter.empty()) {
      std::unique_ptr<storage::criteria::BoundExpr> f;
      Status c = storage::criteria::Compile(os.row_filter, *def, &f);
      if (!c.ok()) {
        return Status::InvalidArgument("row filter of " + os.object + ": " + c.message());
      }
    }
    for (const auto& f : os.fields) {
      auto slot = def->Slot(f);
      if (!slot || *slot < 0) {
        return Status::InvalidArgument("the field allow-list of " + os.object +
                                       " names unknown field '" + f + "'");
      }
    }
  }
  return Status::OK();
}

Status Sharing::CreatePolicy(TenantId publisher, const Policy& in, Policy* out) {
  Policy p = in;
  p.publisher = publisher;
  if (p.global) p.designated = 0;
  std::lock_guard<std::mutex> l(change_mu_);
  COTENANT_RETURN_IF_ERROR(ValidatePolicy(publisher, p));
  Policy existing;
  Status s = LoadPolicy(publisher, p.name, &existing);
  if (s.ok()) return Status::Conflict("policy '" + p.name + "' already exists");
  if (!s.IsNotFound()) return s;
  std::string slot_key = p.global ? "policyglobal" : "policyfor/" + Hex(p.designated);
  std::string other;
  s = store_->MetaGet(publisher, slot_key, &other);
  if (s.ok()) {
    return Status::Conflict(p.global ? "tenant " + std::to_string(publisher) +
                                           " already has a global policy ('" + other + "')"
                                     : "tenant " + std::to_string(publisher) +
                                           " already has a policy designating tenant " +
                                           std::to_string(p.designated) + " ('" + other + "')");
  }
  if (!s.IsNotFound()) return s;
  if (!p.global) {
    storage::TenantInfo d;
    Status exists = store_->GetTenant(p.designated, &d);
    if (!exists.ok() && !exists.IsNotFound()) return exists;
    p.dormant = exists.IsNotFound();
  }
  p.created_at = p.modified_at = clock_->NowMicros();
  storage::Store::MetaBatch b;
  b.Put(publisher, "policy/" + p.name, PolicyToJson(p).dump());
  b.Put(publisher, slot_key, p.name);
  if (!p.global) b.Put(kGlobalTenant, "designated/" + Hex(p.designated) + "/" + Hex(publisher), p.name);
  COTENANT_RETURN_IF_ERROR(Commit(&b, {publisher}, false));
  *out = p;
  return Status::OK();
}

Status Sharing::UpdatePolicy(TenantId publisher, const Policy& in, Policy* out) {
  std::lock_guard<std::mutex> l(change_mu_);
  Policy old;
  COTENANT_RETURN_IF_ERROR(LoadPolicy(publisher, in.name, &old));
  // What the policy designates is fixed: changing it is delete + create, and an update
  // that names another tenant is refused rather than silently ignored (0 = unchanged).
  bool names_other = in.global ? !old.global
                               : in.designated != 0 && (old.global || in.designated != old.designated);
  if (names_other) {
    return Status::InvalidArgument(
        "data-sharing policy '" + in.name + "' " +
        (old.global ? std::string("is global") : "designates tenant " + std::to_string(old.designated)) +
        "; what a policy designates cannot change: delete it and create one for the other tenant");
  }
  Policy p = in;
  p.publisher = publisher;
  p.global = old.global;
  p.designated = old.designated;
  COTENANT_RETURN_IF_ERROR(ValidatePolicy(publisher, p));
  p.created_at = old.created_at;
  p.dormant = old.dormant;
  p.modified_at = clock_->NowMicros();
  storage::Store::MetaBatch b;
  b.Put(publisher, "policy/" + p.name, PolicyToJson(p).dump());
  COTENANT_RETURN_IF_ERROR(Commit(&b, {publisher}, false));
  *out = p;
  return Status::OK();
}

Status Sharing::DeletePolicy(TenantId publisher, const std::string& name) {
  std::lock_guard<std::mutex> l(change_mu_);
  Policy p;
  COTENANT_RETURN_IF_ERROR(LoadPolicy(publisher, name, &p));
  storage::Store::MetaBatch b;
  b.Delete(publisher, "policy/" + name);
  if (p.global) {
    b.Delete(publisher, "policyglobal");
  } else {
    b.Delete(publisher, "policyfor/" + Hex(p.designated));
    b.Delete(kGlobalTenant, "designated/" + Hex(p.designated) + "/" + Hex(publisher));
  }
  return Commit(&b, {publisher}, false);
}

Status Sharing::ListPublishedBy(TenantId publisher, std::vector<Policy>* out) {
  out->clear();
  storage::TenantInfo t;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(publisher, &t));
  return store_->MetaScan(publisher, "policy/", [&](std::string_view, std::string_view v) {
    Policy p;
    if (PolicyFromJson(v, &p)) out->push_back(std::move(p));
    return true;
  });
}

Status Sharing::ListDesignating(TenantId tenant, std::vector<Policy>* out) {
  out->clear();
  storage::TenantInfo t;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &t));
  std::vector<std::pair<TenantId, std::string>> found;
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(kGlobalTenant, "designated/" + Hex(tenant) + "/",
                                            [&](std::string_view k, std::string_view v) {
                                              TenantId p = std::strtoull(
                                                  std::string(k.substr(11 + 17)).c_str(), nullptr, 16);
                                              found.emplace_back(p, std::string(v));
                                              return true;
                                            }));
  for (const auto& [publisher, name] : found) {
    Policy p;
    Status s = LoadPolicy(publisher, name, &p);
    // A dormant policy was made before this tenant existed: it admits nobody.
    if (s.ok() && !p.dormant) out->push_back(std::move(p));
  }
  // Global policies of the providers that manage the tenant.
  std::vector<TenantId> providers;
  if (t.provider != 0) {
    providers.push_back(t.provider);
    storage::TenantInfo prov;
    if (store_->GetTenant(t.provider, &prov).ok() && prov.kind == storage::TenantKind::kMsp &&
        prov.provider != 0) {
      providers.push_back(prov.provider);
    }
  }
  for (TenantId prov : providers) {
    std::string name;
    if (!store_->MetaGet(prov, "policyglobal", &name).ok()) continue;
    Policy p;
    if (LoadPolicy(prov, name, &p).ok()) out->push_back(std::move(p));
  }
  // The designated side sees what a row filter does to it, not the filter itself: its
  // text may name fields the scope hides and constrain their values.
  for (auto& p : *out) {
    for (auto& os : p.scope) {
      if (!os.row_filter.empty()) os.row_filter = std::string(kHiddenRowFilter);
    }
  }
  return Status::OK();
}

}  // namespace cotenant::sharing
