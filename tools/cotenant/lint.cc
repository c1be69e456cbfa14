// `cotenant lint` checks (lint.h).

#include "lint.h"

#include <algorithm>
#include <memory>
#include <set>

#include <re2/re2.h>

#include "cli_render.h"

namespace cotenant::cli::lint {
namespace {

struct ApiAccess {
  const char* api;
  const char* resource;  // "records" = records/<Object>
  const char* method;
};

// The schema's calls that permission sets evaluate (rpc/metrics.cc AccessOf; docs/PERMISSIONS.md).
const ApiAccess kApis[] = {
    {"addRecord", "records", "POST"},        {"addRecords", "records", "POST"},
    {"updateRecord", "records", "PUT"},      {"deleteRecord", "records", "DELETE"},
    {"getRecord", "records", "GET"},         {"searchRecords", "records", "GET"},
    {"getRecords", "records", "GET"},        {"importRecords", "records", "POST"},
    {"finishImport", "records", "POST"},     {"describeObject", "records", "GET"},
    {"getRecordBy", "records", "GET"},       {"updateRecordBy", "records", "PUT"},
    {"deleteRecordBy", "records", "DELETE"}, {"upsertRecord", "records", "PUT"},
    {"beginPhysicalImport", "records", "POST"},
    {"createTenant", "admin/tenants", "POST"}, {"listTenants", "admin/tenants", "GET"},
    {"deleteTenant", "admin/tenants", "DELETE"}, {"createObject", "admin/objects", "POST"},
    {"listObjects", "admin/objects", "GET"}, {"createUser", "admin/users", "POST"},
    {"listUsers", "admin/users", "GET"},     {"deleteUser", "admin/users", "DELETE"},
    {"createApiKey", "admin/keys", "POST"},  {"revokeApiKey", "admin/keys", "DELETE"},
    {"listApiKeys", "admin/keys", "GET"},    {"createRole", "admin/roles", "POST"},
    {"updateRole", "admin/roles", "PUT"},    {"deleteRole", "admin/roles", "DELETE"},
    {"listRoles", "admin/roles", "GET"},     {"addRoleMember", "admin/memberships", "POST"},
    {"removeRoleMember", "admin/memberships", "DELETE"},
    {"createPolicy", "admin/policies", "POST"}, {"updatePolicy", "admin/policies", "PUT"},
    {"deletePolicy", "admin/policies", "DELETE"}, {"listPolicies", "admin/policies", "GET"},
    {"setSetting", "admin/settings", "PUT"}, {"listSettings", "admin/settings", "GET"},
    {"queryAudit", "admin/audit", "GET"},    {"usage", "admin/usage", "GET"},
    {"createPermissionSet", "admin/permissionsets", "POST"},
    {"updatePermissionSet", "admin/permissionsets", "PUT"},
    {"deletePermissionSet", "admin/permissionsets", "DELETE"},
    {"listPermissionSets", "admin/permissionsets", "GET"},
    {"explain", "admin/explain", "GET"},
    {"setQuota", "admin/quotas", "PUT"},     {"checkStore", "admin/store", "GET"},
    {"backup", "admin/store", "POST"},
    {"readTenantRecords", "admin/records", "GET"},
    {"restoreTenantRecords", "admin/records", "POST"},
};

struct Compiled {
  const config::CRule* rule;
  int number;  // 1-based
  std::unique_ptr<RE2> rt, api, method;
  bool ok = false;
  std::vector<bool> matches;  // per universe call
};

Compiled compile(const config::CRule& r, int number, const Universe& u) {
  Compiled c{&r, number, std::make_unique<RE2>(r.resourceTypeRegex, RE2::Quiet),
             std::make_unique<RE2>(r.apiNameRegex, RE2::Quiet),
             std::make_unique<RE2>(r.methodRegex, RE2::Quiet)};
  c.ok = c.rt->ok() && c.api->ok() && c.method->ok();
  c.matches.assign(u.calls.size(), false);
  if (!c.ok) return c;
  for (size_t i = 0; i < u.calls.size(); ++i) {
    const Call& call = u.calls[i];
    c.matches[i] = RE2::FullMatch(call.resourceType, *c.rt) && RE2::FullMatch(call.api, *c.api) &&
                   RE2::FullMatch(call.method, *c.method);
  }
  return c;
}

bool anyFull(const std::vector<std::string>& values, const RE2& re) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return RE2::FullMatch(v, re); });
}

template <typename S>
bool subset(const S& a, const S& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

// Does `outer` apply to at least every (user, tenant) that `inner` applies to? Conservative:
// only what the sets say, never whether a user happens to live in a listed tenant.
bool covers(const config::CPermissionSet& outer, const config::CPermissionSet& inner) {
  bool users = outer.scope == "system" || (inner.scope == "user" && subset(inner.users, outer.users));
  bool tenants = outer.allTenants || (!inner.allTenants && subset(inner.tenants, outer.tenants));
  return users && tenants;
}

std::string where(const std::string& set, int number) {
  return "permission set '" + set + "' policy " + std::to_string(number);
}

}  // namespace

Universe knownUniverse(const config::Config& cfg) {
  Universe u;
  std::set<std::string> objects;
  for (const auto& [tn, t] : cfg.tenants) {
    for (const auto& [on, o] : t.objects) objects.insert(on);
  }
  std::set<std::string> rts, apis;
  for (const auto& a : kApis) {
    apis.insert(a.api);
    if (std::string(a.resource) == "records") {
      for (const auto& o : objects) {
        rts.insert("records/" + o);
        u.calls.push_back({"records/" + o, a.api, a.method});
      }
    } else {
      rts.insert(a.resource);
      u.calls.push_back({a.resource, a.api, a.method});
    }
  }
  u.resourceTypes.assign(rts.begin(), rts.end());
  u.apis.assign(apis.begin(), apis.end());
  u.methods = {"DELETE", "GET", "POST", "PUT"};
  return u;
}

std::vector<Finding> lintConfig(const config::Config& cfg, const Universe& u, int64_t now) {
  std::vector<Finding> out;
  // Compile every rule once.
  std::map<std::string, std::vector<Compiled>> compiled;
  for (const auto& [sn, s] : cfg.permissionSets) {
    auto& v = compiled[sn];
    for (size_t i = 0; i < s.policies.size(); ++i) v.push_back(compile(s.policies[i], static_cast<int>(i + 1), u));
  }
  for (const auto& [sn, s] : cfg.permissionSets) {
    for (const Compiled& c : compiled[sn]) {
      std::string at = where(sn, c.number);
      if (!c.ok) {
        out.push_back({"error", "invalid-regex", at, "a regex is not a valid RE2 pattern"});
        continue;
      }
      // (1) a field regex that matches none of the known values of its field.
      bool fieldDead = false;
      auto field = [&](const char* name, const std::string& pattern, const RE2& re,
                       const std::vector<std::string>& values, const char* kind) {
        if (anyFull(values, re)) return;
        fieldDead = true;
        out.push_back({"warning", "regex-never-matches", at,
                       std::string(name) + " '" + pattern + "' matches no known " + kind +
                           " (RE2 full match), so this " + c.rule->effect + " never applies"});
      };
      field("resourceTypeRegex", c.rule->resourceTypeRegex, *c.rt, u.resourceTypes, "resource type");
      field("apiNameRegex", c.rule->apiNameRegex, *c.api, u.apis, "API name");
      field("methodRegex", c.rule->methodRegex, *c.method, u.methods, "method");
      bool any = std::find(c.matches.begin(), c.matches.end(), true) != c.matches.end();
      if (!fieldDead && !any) {
        out.push_back({"warning", "matches-no-call", at,
                       "each regex matches something, but no known call has that resource type, "
                       "API name and method together, so this " + c.rule->effect + " never applies"});
      }
      if (c.rule->effect != "allow" || !any) continue;
      // (3) system-wide allow-all.
      if (s.scope == "system" && s.allTenants &&
          std::all_of(c.matches.begin(), c.matches.end(), [](bool b) { return b; })) {
        out.push_back({"warning", "system-allow-all", at,
                       "a system-scope set for all tenants allows every known call; every user can do "
                       "anything role rights permit (the fresh-install default: narrow or delete it)"});
      }
      // (2) an allow shadowed by denies of sets applying to at least the same users and tenants.
      if (s.scope == "user" && s.users.empty()) continue;  // applies to nobody
      std::vector<bool> denied(u.calls.size(), false);
      std::vector<std::string> by;
      for (const auto& [on, os] : cfg.permissionSets) {
        if (!covers(os, s)) continue;
        for (const Compiled& d : compiled[on]) {
          if (d.rule->effect != "deny" || !d.ok) continue;
          bool contributes = false;
          for (size_t i = 0; i < u.calls.size(); ++i) {
            if (c.matches[i] && d.matches[i]) {
              denied[i] = true;
              contributes = true;
            }
          }
          if (contributes) by.push_back(where(on, d.number));
        }
      }
      bool shadowed = true;
      for (size_t i = 0; i < u.calls.size(); ++i) {
        if (c.matches[i] && !denied[i]) shadowed = false;
      }
      if (shadowed) {
        std::string list;
        for (const auto& b : by) list += (list.empty() ? "" : ", ") + b;
        out.push_back({"warning", "shadowed-allow", at,
                       "every known call it allows is denied by " + list +
                           " (a deny wins), so this allow has no effect"});
      }
    }
  }
  for (const auto& [tn, t] : cfg.tenants) {
    // A role may name rights on an object that does not exist yet; say so, since a typo
    // in the object's name looks exactly like that.
    for (const auto& [rn, r] : t.roles) {
      for (const auto& [object, rights] : r.rights) {
        if (object == "*" || t.objects.count(object) != 0) continue;
        out.push_back({"warning", "role-object-missing", "role " + tn + "/" + rn,
                       "grants " + rights + " on object " + object + ", which tenant " + tn +
                           " does not have (yet): create the object, or fix the name"});
      }
    }
    for (const auto& [pn, p] : t.policies) {
      std::string at = "policy " + tn + "/" + pn;
      if (p.user.empty()) {
        out.push_back({"error", "policy-user-deleted", at,
                       "its user " + (p.missingUserId ? std::to_string(p.missingUserId) + " " : std::string()) +
                           "no longer exists in " + tn + ", so the policy admits nobody: name a user or delete it"});
      }
      if (p.expiresAt != 0 && p.expiresAt <= now) {
        out.push_back({"warning", "policy-expired", at,
                       "expired at " + formatTimestamp(p.expiresAt) +
                           "; it admits nobody (and blocks a new policy for the same pair): delete or renew it"});
      }
    }
  }
  return out;
}

nlohmann::json toJson(const std::vector<Finding>& findings) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : findings) {
    arr.push_back({{"severity", f.severity}, {"what", f.what}, {"where", f.where}, {"why", f.why}});
  }
  return {{"findings", arr}};
}

void printFindings(std::ostream& os, const std::vector<Finding>& findings) {
  if (findings.empty()) {
    os << "No findings.\n";
    return;
  }
  Table t({"SEVERITY", "WHAT", "WHERE", "WHY"});
  for (const auto& f : findings) t.add({f.severity, f.what, f.where, f.why});
  t.print(os);
  os << findings.size() << (findings.size() == 1 ? " finding\n" : " findings\n");
}

}  // namespace cotenant::cli::lint
