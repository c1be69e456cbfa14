// One tenant's slice of the declarative configuration (sliceTenant), and the additive plan
// that recreates it under a new tenant on another server (planRestore): the non-record
// part of `cotenant tenant dump` and `cotenant tenant restore`.

#include <algorithm>

#include "config.h"
#include "config_internal.h"

namespace cotenant::cli::config {

Config sliceTenant(const ServerState& st, const std::string& name,
                   std::vector<std::string>* left_out) {
  const Config& cur = st.cfg;
  auto it = cur.tenants.find(name);
  if (it == cur.tenants.end()) throw ServerError(ErrorCode::NotFound, "tenant '" + name + "' does not exist");
  Config out;
  CTenant t = it->second;
  // Other tenants the slice names, with the users it names of each.
  std::map<std::string, std::set<std::string>> refs;
  auto refTenant = [&](const std::string& tn) { if (tn != name) refs[tn]; };
  auto refUser = [&](const std::string& spec) {
    auto [u, tn] = splitUser(spec);
    if (!tn.empty() && tn != name) refs[tn].insert(u);
  };
  if (!t.provider.empty()) refTenant(t.provider);
  bool crossMembers = false;
  for (auto& [rn, r] : t.roles) {
    // The server lets a role name an object that does not exist yet; a file may not.
    for (auto x = r.rights.begin(); x != r.rights.end();) {
      if (x->first == "*" || t.objects.count(x->first)) {
        ++x;
        continue;
      }
      left_out->push_back("role '" + rn + "': rights on object '" + x->first + "', which does not exist: not dumped");
      x = r.rights.erase(x);
    }
    for (const auto& m : r.members) {
      if (splitUser(m).second.empty()) continue;
      refUser(m);
      crossMembers = true;
    }
  }
  for (auto p = t.policies.begin(); p != t.policies.end();) {
    const CPolicy& cp = p->second;
    if (cp.user.empty()) {
      left_out->push_back("policy '" + cp.name + "': its user (id " + std::to_string(cp.missingUserId) +
                          ") no longer exists, so it admits nobody: not dumped");
      p = t.policies.erase(p);
      continue;
    }
    if (!cp.global && !cp.designated.empty() && cp.designated[0] == '#') {
      left_out->push_back("policy '" + cp.name + "': its designated tenant (id " + cp.designated.substr(1) +
                          ") no longer exists: not dumped");
      p = t.policies.erase(p);
      continue;
    }
    if (!cp.global) refTenant(cp.designated);
    ++p;
  }
  for (const auto& [sn, s] : cur.permissionSets) {
    bool names = s.tenants.count(name) > 0;
    for (const auto& u : s.users) names = names || splitUser(u).second == name;
    if (!names) continue;
    for (const auto& tn : s.tenants) refTenant(tn);
    for (const auto& u : s.users) refUser(u);
    out.permissionSets[sn] = s;
  }
  for (const auto& [tn, users] : refs) {
    const CTenant& other = cur.tenants.at(tn);
    CTenant stub;
    stub.name = tn;
    stub.kind = other.kind;
    for (const auto& u : users) stub.users[u] = other.users.at(u);
    out.tenants[tn] = std::move(stub);
  }
  out.tenants[name] = std::move(t);
  if (crossMembers) out.settings["crossTenantRoles"] = "true";
  return out;
}

bool isStructural(const Change& change) {
  for (const char* p : {"create tenant ", "set quota of tenant ", "create object ", "create user "}) {
    if (change.text.rfind(p, 0) == 0) return true;
  }
  return false;
}

RestorePlan planRestore(const Config& slice, const std::string& dumped, const std::string& newName,
                        const ServerState& current) {
  RestorePlan rp;
  const Config& cur = current.cfg;
  auto src = slice.tenants.find(dumped);
  if (src == slice.tenants.end()) throw ServerError(ErrorCode::InvalidArgument, "the dump holds no tenant '" + dumped + "'");
  if (src->second.kind == "system") {
    throw ServerError(ErrorCode::InvalidArgument, "the dump is of a system tenant, which cannot be restored");
  }
  if (cur.tenants.count(newName)) {
    throw ServerError(ErrorCode::Conflict, "a tenant named '" + newName +
                                               "' already exists on the server: restore under another name with --name NAME");
  }
  auto userHere = [&](const std::string& tn, const std::string& u) {
    auto t = cur.tenants.find(tn);
    return t != cur.tenants.end() && t->second.users.count(u) > 0;
  };
  auto renamed = [&](const std::string& spec) { return splitUser(spec).first + "@" + newName; };
  bool crossOn = cur.settings.count("crossTenantRoles") && cur.settings.at("crossTenantRoles") == "true";

  CTenant t = src->second;
  t.name = newName;
  if (!t.provider.empty()) {
    auto p = cur.tenants.find(t.provider);
    bool fits = p != cur.tenants.end() &&
                (t.kind == "msp" ? p->second.kind == "isv" : p->second.kind == "isv" || p->second.kind == "msp");
    if (!fits) {
      rp.notRestored.push_back("provider '" + t.provider + "': no " + (t.kind == "msp" ? "ISV" : "ISV or MSP") +
                               " of that name here; the tenant has no provider");
      t.provider.clear();
    }
  }
  for (auto& [rn, r] : t.roles) {
    for (auto m = r.members.begin(); m != r.members.end();) {
      auto [u, tn] = splitUser(*m);
      std::string why;
      if (tn.empty()) {
        ++m;
        continue;
      }
      if (!userHere(tn, u)) {
        why = "no user '" + u + "' in a tenant '" + tn + "' here";
      } else if (!crossOn) {
        why = "the crossTenantRoles setting is off here";
      }
      if (why.empty()) {
        ++m;
        continue;
      }
      rp.notRestored.push_back("role '" + rn + "': member " + *m + " of another tenant: " + why);
      m = r.members.erase(m);
    }
  }
  for (auto p = t.policies.begin(); p != t.policies.end();) {
    if (!p->second.global && !cur.tenants.count(p->second.designated)) {
      rp.notRestored.push_back("policy '" + p->first + "': designates tenant '" + p->second.designated +
                               "', which does not exist here");
      p = t.policies.erase(p);
      continue;
    }
    ++p;
  }

  Config desired = cur;
  desired.tenants[newName] = std::move(t);
  for (const auto& [sn, s] : slice.permissionSets) {
    std::set<std::string> ours, otherUsers, otherTenants;
    for (const auto& u : s.users) {
      if (splitUser(u).second == dumped) {
        ours.insert(renamed(u));
      } else {
        otherUsers.insert(u);
      }
    }
    for (const auto& tn : s.tenants) {
      if (tn != dumped) otherTenants.insert(tn);
    }
    bool listed = s.allTenants || s.tenants.count(dumped) > 0;
    std::string what = "permission set '" + sn + "'";
    auto here = desired.permissionSets.find(sn);
    if (here != desired.permissionSets.end()) {
      // It exists here: add the new tenant and its users, and leave the rest as it is.
      CPermissionSet& d = here->second;
      if (d.policies != s.policies || d.scope != s.scope) {
        rp.notes.push_back(what + " exists here with other rules or scope: its rules here are kept");
      }
      if (listed && !d.allTenants) d.tenants.insert(newName);
      if (d.scope == "user") {
        d.users.insert(ours.begin(), ours.end());
      } else if (!ours.empty()) {
        rp.notes.push_back(what + " is system-scope here: it applies to the new tenant's users without naming them");
      }
      for (const auto& u : otherUsers) {
        if (!d.users.count(u)) rp.notRestored.push_back(what + ": user " + u + " of another tenant is not in it here");
      }
      for (const auto& tn : otherTenants) {
        if (!d.allTenants && !d.tenants.count(tn)) rp.notRestored.push_back(what + ": it applies to tenant '" + tn + "' in the dump, not here");
      }
      continue;
    }
    // A new set names only the new tenant's users. A user-scope set changes nothing for
    // anyone else, so it keeps the tenants it applies to that exist here; a system-scope
    // set applies to every user of its tenants, so it gets the new tenant only.
    CPermissionSet n = s;
    n.users = ours;
    n.tenants.clear();
    if (listed && !s.allTenants) n.tenants.insert(newName);
    if (s.allTenants && s.scope == "system") {
      n.allTenants = false;
      n.tenants.insert(newName);
      rp.notRestored.push_back(what + ": applies to all tenants in the dump; here it is created for the new tenant only");
    }
    for (const auto& tn : otherTenants) {
      if (s.scope == "user" && cur.tenants.count(tn)) {
        n.tenants.insert(tn);
      } else {
        rp.notRestored.push_back(what + ": applies to tenant '" + tn + "'" +
                                 (cur.tenants.count(tn) ? ", left out here (a system-scope set of the restore applies to the new tenant only)"
                                                        : ", which does not exist here"));
      }
    }
    for (const auto& u : otherUsers) {
      rp.notRestored.push_back(what + ": user " + u + " of another tenant (a restore adds only the new tenant's users)");
    }
    if ((n.scope == "user" && n.users.empty()) || (!n.allTenants && n.tenants.empty())) {
      rp.notRestored.push_back(what + ": nothing of it concerns the new tenant here: not created");
      continue;
    }
    desired.permissionSets[sn] = std::move(n);
  }

  PlanOptions opts;
  opts.usersWithoutKeys = true;
  rp.plan = planChanges(desired, current, opts);
  // A restore only adds; anything else is a bug of this function, never run.
  for (const auto& c : rp.plan.changes) {
    bool ours = c.text.find(" " + newName + "/") != std::string::npos ||
                c.text.rfind("create tenant " + newName + " ", 0) == 0 ||
                c.text.rfind("set quota of tenant " + newName + " ", 0) == 0 ||
                c.text.rfind("create permission set ", 0) == 0 ||
                c.text.rfind("update permission set ", 0) == 0 ||
                c.text.find(" to role " + newName + "/") != std::string::npos;
    if (c.sign == '-' || !ours) {
      throw ServerError(ErrorCode::Internal, "a restore must only add, but planned: " + c.text);
    }
  }
  if (!rp.plan.conflicts.empty()) throw ServerError(ErrorCode::Conflict, rp.plan.conflicts.front());
  return rp;
}

}  // namespace cotenant::cli::config
