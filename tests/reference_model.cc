// The reference model of tests/reference_model.h: its predictions.

#include "tests/reference_model.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace cotenant::testing {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Rights ToRights(uint8_t m) {
  return Rights{(m & kRead) != 0, (m & kAdd) != 0, (m & kUpdate) != 0, (m & kDelete) != 0};
}

std::string MaskName(uint8_t m) { return formatRights(ToRights(m)); }

const char* PathName(MPath p) {
  switch (p) {
    case MPath::kOwn: return "own";
    case MPath::kCrossRole: return "cross-tenant-role";
    case MPath::kPolicy: return "policy";
    case MPath::kGlobal: return "global-policy";
    case MPath::kDenied: return "denied";
  }
  return "?";
}

std::string MAccess::Describe() const {
  std::ostringstream os;
  os << PathName(path);
  if (path == MPath::kDenied) return os.str();
  os << " principal=" << principal;
  if (!policy.empty()) os << " policy=" << policy;
  os << " roles=[";
  for (size_t i = 0; i < role_names.size(); ++i) {
    os << (i ? "," : "") << role_names[i] << "{";
    bool first = true;
    for (const auto& [o, m] : roles[i]->rights) {
      os << (first ? "" : " ") << o << ":" << MaskName(m);
      first = false;
    }
    os << "}";
  }
  os << "]";
  if (scoped) {
    os << " scope={";
    for (const auto& [o, f] : scope) {
      os << o;
      if (!f.empty()) {
        os << "(";
        for (size_t i = 0; i < f.size(); ++i) os << (i ? "," : "") << f[i];
        os << ")";
      }
      os << " ";
    }
    os << "}";
  }
  return os.str();
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kGet: return "getRecord";
    case Op::kSearch: return "searchRecords";
    case Op::kAdd: return "addRecord";
    case Op::kUpdate: return "updateRecord";
    case Op::kDelete: return "deleteRecord";
  }
  return "?";
}

uint8_t RightOf(Op op) {
  switch (op) {
    case Op::kGet:
    case Op::kSearch: return kRead;
    case Op::kAdd: return kAdd;
    case Op::kUpdate: return kUpdate;
    case Op::kDelete: return kDelete;
  }
  return 0;
}

const std::vector<std::pair<std::string, Variant>>& Variants() {
  static const auto* v = new std::vector<std::pair<std::string, Variant>>{
      {"fall back to the next path", Variant{.fallthrough = true}},
      {"'*' also adds to named objects", Variant{.star_overrides = true}},
      {"policy scope ignored", Variant{.no_scope = true}},
      {"expired policy blocks the global one", Variant{.expired_blocks = true}},
      {"cross-tenant roles with the setting off", Variant{.cross_ignores_setting = true}},
      {"ISV does not manage its MSPs' tenants", Variant{.direct_only = true}},
  };
  return *v;
}

// ---- ReferenceModel ------------------------------------------------------------------------

size_t ReferenceModel::Index(uint64_t tenant) const {
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (tenants[i].id == tenant) return i;
  }
  return tenants.size();
}

MTenant* ReferenceModel::Find(uint64_t tenant) {
  size_t i = Index(tenant);
  return i < tenants.size() ? &tenants[i] : nullptr;
}

bool ReferenceModel::Manages(uint64_t provider, uint64_t tenant) {
  MTenant* t = Find(tenant);
  if (t == nullptr || t->provider == 0) return false;
  if (t->provider == provider) return true;
  MTenant* mid = Find(t->provider);
  return mid != nullptr && mid->kind == TenantKind::Msp && mid->provider == provider;
}

void ReferenceModel::AddRolesOf(MTenant& t, uint64_t user, bool cross_only, MAccess* a) {
  for (const auto& [name, role] : t.roles) {
    if (cross_only && !role.cross) continue;
    if (role.members.count(user) != 0) {
      a->roles.push_back(&role);
      a->role_names.push_back(name);
    }
  }
}

// The paths that apply to (caller, target), in resolution order. The real model uses
// only the first; the variants (deliberately wrong readings of the rules) show that the
// random calls can tell the real rules from plausible alternatives.
std::vector<MAccess> ReferenceModel::Candidates(uint64_t caller_tenant, uint64_t caller,
                                                uint64_t target, const Variant& v) {
  std::vector<MAccess> out;
  int64_t now = NowMicros();
  if (target == caller_tenant) {
    MAccess a;
    a.path = MPath::kOwn;
    a.principal = caller;
    AddRolesOf(*Find(target), caller, false, &a);
    out.push_back(std::move(a));
    return out;
  }
  MTenant* t = Find(target);
  if (t == nullptr) return out;  // unknown tenant or the system tenant: no policies
  if (cross_tenant_roles || v.cross_ignores_setting) {
    MAccess a;
    AddRolesOf(*t, caller, true, &a);
    if (!a.roles.empty()) {
      a.path = MPath::kCrossRole;
      a.principal = caller;
      out.push_back(std::move(a));
    }
  }
  auto admit = [&](const std::string& name, const MPolicy& p, MPath path) {
    MAccess a;
    if (deleted_users.count(p.user) != 0) {
      out.push_back(a);  // the policy's user is gone: the policy admits nobody
      return;
    }
    a.path = path;
    a.policy = name;
    a.principal = p.user;
    AddRolesOf(*t, p.user, false, &a);
    if (a.roles.empty()) {
      out.push_back(MAccess{});  // the policy's user has no role: it admits nobody
      return;
    }
    a.scoped = !p.scope.empty() && !v.no_scope;
    if (a.scoped) {
      for (const auto& os : p.scope) a.scope[os.object] = os.fields;
    }
    out.push_back(std::move(a));
  };
  for (const auto& [name, p] : t->policies) {
    if (!p.global && p.designated == caller_tenant) {
      if (!p.Expired(now)) {
        admit(name, p, MPath::kPolicy);
        break;
      } else if (v.expired_blocks) {
        out.push_back(MAccess{});  // denied: resolution would stop here
        return out;
      }
    }
  }
  for (const auto& [name, p] : t->policies) {
    bool managed = v.direct_only ? Find(caller_tenant)->provider == target
                                 : Manages(target, caller_tenant);
    if (p.global && !p.Expired(now) && managed) {
      admit(name, p, MPath::kGlobal);
      break;
    }
  }
  for (auto& a : out) a.star_overrides = v.star_overrides;
  return out;
}

MAccess ReferenceModel::Resolve(uint64_t caller_tenant, uint64_t caller, uint64_t target,
                                const Variant& v) {
  auto c = Candidates(caller_tenant, caller, target, v);
  return c.empty() ? MAccess{} : std::move(c.front());
}

ErrorCode ReferenceModel::Expected(const MUser& u, uint64_t target, Op kind, const std::string& object,
                                   uint64_t rid, const Variant& v) {
  auto cands = Candidates(u.tenant, u.id, target, v);
  bool allowed = false;
  for (const auto& a : cands) {
    if ((a.RightsOn(object) & RightOf(kind)) != 0) allowed = true;
    if (!v.fallthrough || a.path == MPath::kDenied || allowed) break;
  }
  if (!allowed) return ErrorCode::PermissionDenied;
  MTenant* t = Find(target);
  if (t->objects.count(object) == 0) return ErrorCode::NotFound;
  if (rid != 0 && t->records[object].count(rid) == 0) return ErrorCode::NotFound;
  return ErrorCode::OK;
}

}  // namespace cotenant::testing
