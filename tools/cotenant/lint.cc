// `cotenant lint` checks (lint.h).

#include "lint.h"

#include <set>

#include "cli_render.h"

namespace cotenant::cli::lint {

Universe knownUniverse(const config::Config& cfg) {
  std::set<std::string> objects;
  for (const auto& [tn, t] : cfg.tenants) {
    for (const auto& [on, o] : t.objects) objects.insert(on);
  }
  return sharing::KnownCalls(std::vector<std::string>(objects.begin(), objects.end()));
}

std::vector<Finding> lintConfig(const config::Config& cfg, const Universe& u, int64_t now) {
  std::vector<Finding> out;
  std::vector<sharing::LintSet> sets;
  for (const auto& [sn, s] : cfg.permissionSets) {
    sharing::LintSet set;
    set.name = sn;
    set.system_scope = s.scope == "system";
    set.all_tenants = s.allTenants;
    set.users.assign(s.users.begin(), s.users.end());  // std::set: sorted
    set.tenants.assign(s.tenants.begin(), s.tenants.end());
    for (const auto& r : s.policies) {
      set.policies.push_back({r.effect, r.resourceTypeRegex, r.apiNameRegex, r.methodRegex});
    }
    sets.push_back(std::move(set));
  }
  for (auto& f : sharing::LintPermissionSets(sets, u)) {
    out.push_back({f.severity, f.kind, sharing::LintWhere(f), std::move(f.message)});
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
