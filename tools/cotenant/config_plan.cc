// The server side of the declarative configuration: reading a server (readServer), the
// changes that make it match a file (planChanges), and running them (runPlan).

#include "config.h"

#include <algorithm>
#include <sstream>

#include "cli_parse.h"
#include "config_internal.h"

namespace cotenant::cli::config {
namespace {

// ---- conversions ---------------------------------------------------------------------------

std::vector<ObjectRights> toRights(const CRole& r) {
  std::vector<ObjectRights> out;
  for (const auto& [obj, text] : r.rights) out.push_back({obj, *parseRights(text)});
  return out;
}

std::vector<FieldDef> toFields(const CObject& o) {
  std::vector<FieldDef> out;
  for (const auto& f : o.fields) {
    FieldDef d{f.name, *parseFieldType(f.type), f.required, f.indexed};
    d.unique = f.unique;
    out.push_back(std::move(d));
  }
  return out;
}

uint64_t tenantId(const ServerState& st, const std::string& name) {
  auto it = st.tenantIds.find(name);
  if (it == st.tenantIds.end()) throw ServerError(ErrorCode::NotFound, "tenant '" + name + "' does not exist on the server");
  return it->second;
}
uint64_t userId(const ServerState& st, const std::string& tenant, const std::string& user) {
  auto it = st.userIds.find({tenant, user});
  if (it == st.userIds.end()) throw ServerError(ErrorCode::NotFound, "user '" + user + "@" + tenant + "' does not exist on the server");
  return it->second;
}

PolicyInfo toPolicy(const ServerState& st, const std::string& tenant, const CPolicy& p) {
  PolicyInfo out;
  out.name = p.name;
  out.global = p.global;
  if (!p.global) out.designated = tenantId(st, p.designated);
  out.userId = userId(st, tenant, p.user);
  for (const auto& s : p.scope) out.scope.push_back({s.object, s.filter, s.fields});
  out.expiresAt = p.expiresAt;
  return out;
}

PermissionSetInfo toSet(const ServerState& st, const CPermissionSet& s) {
  PermissionSetInfo out;
  out.name = s.name;
  out.systemScope = s.scope == "system";
  out.allTenants = s.allTenants;
  for (const auto& t : s.tenants) out.tenants.push_back(tenantId(st, t));
  for (const auto& u : s.users) {
    auto [name, ten] = splitUser(u);
    out.users.push_back(userId(st, ten, name));
  }
  for (const auto& r : s.policies) {
    out.policies.push_back({*parseEffect(r.effect), r.resourceTypeRegex, r.apiNameRegex, r.methodRegex});
  }
  return out;
}

void check(const Result& r) {
  if (!r.ok()) throw ServerError(r.getCode(), r.getMessage());
}
// By value: callers iterate over the result of a temporary Outcome.
template <typename T>
T check(const Outcome<T>& r) {
  if (!r.ok()) throw ServerError(r.getCode(), r.getMessage());
  return r.value();
}

int kindRank(const std::string& kind) {
  if (kind == "system") return 0;
  if (kind == "isv") return 1;
  if (kind == "msp") return 2;
  return 3;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

// ---- reading a server ----------------------------------------------------------------------

ServerState readServer(Client& client) {
  ServerState st;
  const UserInfo& me = client.user();
  if (me.level != AdminLevel::SystemAdmin) {
    throw ServerError(ErrorCode::PermissionDenied,
                      "export, apply and lint read every tenant: log in as a system admin");
  }
  auto tenants = check(client.listTenants());
  std::map<uint64_t, std::string> tenantName;
  for (const auto& t : tenants) tenantName[t.id] = t.name;
  std::map<uint64_t, std::pair<std::string, std::string>> userById;  // id -> (tenant, user)
  struct Raw {
    TenantInfo info;
    std::vector<RoleInfo> roles;
    std::vector<PolicyInfo> policies;
  };
  std::vector<Raw> raws;
  for (const auto& t : tenants) {
    CTenant ct;
    ct.name = t.name;
    ct.kind = tenantKindName(t.kind);
    if (t.provider != 0) {
      auto p = tenantName.find(t.provider);
      if (p != tenantName.end()) ct.provider = p->second;  // a deleted provider: no chain
    }
    ct.quota = t.quota;
    if (t.kind == TenantKind::System) st.systemTenant = t.name;
    st.tenantIds[t.name] = t.id;
    for (const auto& u : check(client.listUsers(t.id))) {
      ct.users[u.name] = CUser{u.name, adminLevelName(u.level), {}};
      st.userIds[{t.name, u.name}] = u.id;
      userById[u.id] = {t.name, u.name};
      if (u.id == me.id) st.self = u.name + "@" + t.name;
    }
    for (const auto& o : check(client.listObjects(t.id))) {
      CObject co;
      co.name = o.name;
      for (const auto& f : o.fields) {
        co.fields.push_back({f.name, fieldTypeName(f.type), f.required, f.indexed, f.unique});
      }
      ct.objects[o.name] = co;
    }
    Raw raw{t, check(client.listRoles(t.id)), check(client.listPolicies(t.id, 0))};
    raws.push_back(std::move(raw));
    st.cfg.tenants[t.name] = std::move(ct);
  }
  for (const auto& raw : raws) {
    CTenant& ct = st.cfg.tenants[raw.info.name];
    for (const auto& r : raw.roles) {
      CRole cr;
      cr.name = r.name;
      cr.crossTenant = r.crossTenant;
      for (const auto& x : r.rights) cr.rights[x.object] = formatRights(x.rights);
      for (const auto& m : r.members) {
        auto u = userById.find(m.userId);
        if (u == userById.end()) continue;  // deleted: admits nobody
        cr.members.insert(u->second.first == raw.info.name ? u->second.second
                                                           : u->second.second + "@" + u->second.first);
      }
      ct.roles[r.name] = cr;
    }
    for (const auto& p : raw.policies) {
      if (p.publisher != 0 && p.publisher != raw.info.id) continue;
      CPolicy cp;
      cp.name = p.name;
      cp.global = p.global;
      if (!p.global) {
        auto d = tenantName.find(p.designated);
        cp.designated = d != tenantName.end() ? d->second : "#" + std::to_string(p.designated);
      }
      auto u = userById.find(p.userId);
      if (u != userById.end() && u->second.first == raw.info.name) {
        cp.user = u->second.second;
      } else {
        cp.missingUserId = p.userId;
      }
      for (const auto& s : p.scope) {
        CScope cs{s.object, s.rowFilter, s.fields};
        std::sort(cs.fields.begin(), cs.fields.end());
        cp.scope.push_back(cs);
      }
      std::sort(cp.scope.begin(), cp.scope.end(), [](const CScope& a, const CScope& b) { return a.object < b.object; });
      cp.expiresAt = p.expiresAt;
      ct.policies[p.name] = cp;
    }
  }
  for (const auto& s : check(client.listPermissionSets())) {
    CPermissionSet cs;
    cs.name = s.name;
    cs.scope = s.systemScope ? "system" : "user";
    cs.allTenants = s.allTenants;
    for (uint64_t t : s.tenants) {
      auto n = tenantName.find(t);
      if (n != tenantName.end()) cs.tenants.insert(n->second);
    }
    for (uint64_t u : s.users) {
      auto n = userById.find(u);
      if (n != userById.end()) cs.users.insert(n->second.second + "@" + n->second.first);
    }
    for (const auto& p : s.policies) {
      cs.policies.push_back({effectName(p.effect), p.resourceTypeRegex, p.apiNameRegex, p.methodRegex});
    }
    st.cfg.permissionSets[s.name] = cs;
  }
  for (const auto& s : check(client.listSettings())) st.cfg.settings[s.name] = s.value;
  return st;
}

// ---- planning ------------------------------------------------------------------------------

Plan planChanges(const Config& desired, const ServerState& current, const PlanOptions& opts) {
  Plan plan;
  const Config& cur = current.cfg;
  auto add = [&](char sign, std::string text,
                 std::function<void(Client&, ServerState&, std::ostream&)> run) {
    plan.changes.push_back({sign, std::move(text), std::move(run)});
  };
  // Which current tenants the file manages, and which go.
  bool systemManaged = false;
  std::set<std::string> deletedTenants;
  for (const auto& [tn, t] : cur.tenants) {
    if (tn == current.systemTenant) {
      systemManaged = desired.tenants.count(tn) > 0;
      if (!systemManaged) plan.notes.push_back("the system tenant '" + tn + "' is not in the file: left as it is");
      continue;
    }
    if (desired.tenants.count(tn)) continue;
    if (!opts.allowTenantDeletion) {
      plan.conflicts.push_back("tenant '" + tn + "' is not in the file: deleting it would delete all its data; pass --allow-tenant-deletion to do that");
    }
    deletedTenants.insert(tn);
  }
  for (const auto& [tn, t] : desired.tenants) {
    auto c = cur.tenants.find(tn);
    if (t.kind == "system") {
      if (tn != current.systemTenant) {
        plan.conflicts.push_back("tenant '" + tn + "' has kind system, but the server's system tenant is '" + current.systemTenant + "' (it cannot be created or renamed)");
      }
      continue;
    }
    if (c == cur.tenants.end()) continue;
    if (c->second.kind != t.kind) plan.conflicts.push_back("tenant '" + tn + "' is " + c->second.kind + " on the server and " + t.kind + " in the file (tenants cannot be altered)");
    if (c->second.provider != t.provider) plan.conflicts.push_back("tenant '" + tn + "' has provider '" + c->second.provider + "' on the server and '" + t.provider + "' in the file (tenants cannot be altered)");
    for (const auto& [on, o] : t.objects) {
      auto co = c->second.objects.find(on);
      if (co != c->second.objects.end() && co->second.fields != o.fields) {
        plan.conflicts.push_back("object '" + tn + "/" + on + "' differs between the server and the file; objects cannot be altered: change the file to match (cotenant export) or recreate the tenant");
      }
    }
    for (const auto& [on, o] : c->second.objects) {
      if (!t.objects.count(on)) plan.notes.push_back("object '" + tn + "/" + on + "' is not in the file: objects cannot be deleted, left in place");
    }
    for (const auto& [un, u] : t.users) {
      auto cu = c->second.users.find(un);
      if (cu != c->second.users.end() && cu->second.level != u.level) {
        plan.conflicts.push_back("user '" + tn + "/" + un + "' is " + cu->second.level + " on the server and " + u.level + " in the file (levels cannot be changed: delete the user or change the file)");
      }
    }
  }
  auto managed = [&](const std::string& tn) {
    return !deletedTenants.count(tn) && (tn != current.systemTenant || systemManaged);
  };
  auto memberTenant = [](const std::string& member, const std::string& roleTenant) {
    auto at = member.rfind('@');
    return at == std::string::npos ? roleTenant : member.substr(at + 1);
  };

  // -- deletes, most dependent first: permission sets, policies, members, roles, users, tenants
  for (const auto& [sn, s] : cur.permissionSets) {
    if (!desired.permissionSets.count(sn)) {
      add('-', "delete permission set " + sn, [sn = sn](Client& c, ServerState&, std::ostream&) { check(c.deletePermissionSet(sn)); });
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [pn, p] : t.policies) {
      if (!p.global && deletedTenants.count(p.designated)) continue;  // goes with the tenant
      auto dp = d.policies.find(pn);
      bool recreate = dp != d.policies.end() && (dp->second.global != p.global || dp->second.designated != p.designated);
      if (dp == d.policies.end() || recreate) {
        add('-', "delete policy " + tn + "/" + pn + (recreate ? " (designated tenant changed: re-created below)" : ""),
            [tn = tn, pn = pn](Client& c, ServerState& st, std::ostream&) { check(c.deletePolicy(tenantId(st, tn), pn)); });
      }
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [rn, r] : t.roles) {
      auto dr = d.roles.find(rn);
      if (dr == d.roles.end()) continue;  // the role goes, and its members with it
      for (const auto& m : r.members) {
        std::string mt = memberTenant(m, tn);
        if (dr->second.members.count(m) || deletedTenants.count(mt)) continue;
        std::string user = m.substr(0, m.rfind('@') == std::string::npos ? m.size() : m.rfind('@'));
        add('-', "remove member " + m + " from role " + tn + "/" + rn,
            [tn = tn, rn = rn, mt, user](Client& c, ServerState& st, std::ostream&) {
              check(c.removeRoleMember(tenantId(st, tn), rn, tenantId(st, mt), userId(st, mt, user)));
            });
      }
    }
    for (const auto& [rn, r] : t.roles) {
      if (!d.roles.count(rn)) {
        add('-', "delete role " + tn + "/" + rn, [tn = tn, rn = rn](Client& c, ServerState& st, std::ostream&) { check(c.deleteRole(tenantId(st, tn), rn)); });
      }
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [un, u] : t.users) {
      if (d.users.count(un)) continue;
      if (un + "@" + tn == current.self) {
        plan.notes.push_back("user '" + tn + "/" + un + "' runs this apply: not deleted although it is not in the file");
        continue;
      }
      add('-', "delete user " + tn + "/" + un, [tn = tn, un = un](Client& c, ServerState& st, std::ostream&) { check(c.deleteUser(tenantId(st, tn), userId(st, tn, un))); });
    }
  }
  {
    std::vector<std::string> order(deletedTenants.begin(), deletedTenants.end());
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return kindRank(cur.tenants.at(a).kind) > kindRank(cur.tenants.at(b).kind);
    });
    for (const auto& tn : order) {
      add('-', "delete tenant " + tn + " (and all its data)", [tn](Client& c, ServerState& st, std::ostream&) { check(c.deleteTenant(tenantId(st, tn))); });
    }
  }

  // -- creates and updates: settings, tenants, objects, users, roles, members, policies, sets
  for (const auto& [k, v] : desired.settings) {
    auto c = cur.settings.find(k);
    if (c != cur.settings.end() && c->second == v) continue;
    add('~', "update setting " + k + " (" + (c == cur.settings.end() ? std::string("unset") : c->second) + " -> " + v + ")",
        [k = k, v = v](Client& c, ServerState&, std::ostream&) { check(c.setSetting(k, v)); });
  }
  {
    std::vector<const CTenant*> order;
    for (const auto& [tn, t] : desired.tenants) {
      if (!cur.tenants.count(tn) && t.kind != "system") order.push_back(&t);
    }
    std::stable_sort(order.begin(), order.end(), [](const CTenant* a, const CTenant* b) { return kindRank(a->kind) < kindRank(b->kind); });
    for (const CTenant* t : order) {
      add('+', "create tenant " + t->name + " (" + t->kind + (t->provider.empty() ? "" : ", provider " + t->provider) + ")",
          [name = t->name, kind = t->kind, prov = t->provider](Client& c, ServerState& st, std::ostream&) {
            uint64_t p = prov.empty() ? 0 : tenantId(st, prov);
            TenantInfo info = check(c.createTenant(name, *parseTenantKind(kind), p));
            st.tenantIds[name] = info.id;
          });
    }
  }
  auto quotaText = [](const Quota& q) {
    if (q == Quota{}) return std::string("none");
    std::string out;
    auto part = [&out](const char* name, uint64_t v) {
      if (v != 0) out += (out.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(v);
    };
    part("records", q.records);
    part("bytes", q.bytes);
    part("callsPerSecond", q.callsPerSecond);
    part("concurrentWork", q.concurrentWork);
    return out;
  };
  for (const auto& [tn, t] : desired.tenants) {
    auto c = cur.tenants.find(tn);
    Quota now = c == cur.tenants.end() ? Quota{} : c->second.quota;
    if (now == t.quota || (c != cur.tenants.end() && !managed(tn))) continue;
    add('~', "set quota of tenant " + tn + " (" + quotaText(now) + " -> " + quotaText(t.quota) + ")",
        [tn = tn, q = t.quota](Client& c, ServerState& st, std::ostream&) {
          check(c.setQuota(tenantId(st, tn), q));
        });
  }
  auto curTenant = [&](const std::string& tn) -> const CTenant* {
    auto it = cur.tenants.find(tn);
    return it == cur.tenants.end() || !managed(tn) ? nullptr : &it->second;
  };
  static const CTenant kEmpty;
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [on, o] : t.objects) {
      if (c.objects.count(on)) continue;
      add('+', "create object " + tn + "/" + on, [tn = tn, o = o](Client& cl, ServerState& st, std::ostream&) { check(cl.createObject(tenantId(st, tn), o.name, toFields(o))); });
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [un, u] : t.users) {
      if (c.users.count(un)) continue;
      add('+', "create user " + tn + "/" + un + " (" + u.level + ")",
          [tn = tn, un = un, lvl = u.level](Client& cl, ServerState& st, std::ostream& out) {
            NewUser nu = check(cl.createUser(tenantId(st, tn), un, *parseAdminLevel(lvl)));
            st.userIds[{tn, un}] = nu.user.id;
            out << "    API key for " << un << "@" << tn << ": " << nu.apiKey << "  (shown once: store it now)\n";
          });
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [rn, r] : t.roles) {
      auto cr = c.roles.find(rn);
      if (cr == c.roles.end()) {
        add('+', "create role " + tn + "/" + rn, [tn = tn, r = r](Client& cl, ServerState& st, std::ostream&) { check(cl.createRole(tenantId(st, tn), r.name, toRights(r), r.crossTenant)); });
        continue;
      }
      std::vector<std::string> what;
      if (cr->second.rights != r.rights) what.push_back("rights");
      if (cr->second.crossTenant != r.crossTenant) what.push_back("crossTenant");
      if (!what.empty()) {
        add('~', "update role " + tn + "/" + rn + " (" + join(what, ", ") + ")",
            [tn = tn, r = r](Client& cl, ServerState& st, std::ostream&) { check(cl.updateRole(tenantId(st, tn), r.name, toRights(r), r.crossTenant)); });
      }
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [rn, r] : t.roles) {
      auto cr = c.roles.find(rn);
      for (const auto& m : r.members) {
        if (cr != c.roles.end() && cr->second.members.count(m)) continue;
        std::string mt = memberTenant(m, tn);
        std::string user = m.substr(0, m.rfind('@') == std::string::npos ? m.size() : m.rfind('@'));
        add('+', "add member " + m + " to role " + tn + "/" + rn,
            [tn = tn, rn = rn, mt, user](Client& cl, ServerState& st, std::ostream&) {
              check(cl.addRoleMember(tenantId(st, tn), rn, tenantId(st, mt), userId(st, mt, user)));
            });
      }
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [pn, p] : t.policies) {
      auto cp = c.policies.find(pn);
      bool recreate = cp != c.policies.end() && (cp->second.global != p.global || cp->second.designated != p.designated) &&
                      (p.global || !deletedTenants.count(cp->second.designated));
      if (cp != c.policies.end() && !cp->second.global && deletedTenants.count(cp->second.designated)) cp = c.policies.end();
      if (cp == c.policies.end() || recreate) {
        add('+', "create policy " + tn + "/" + pn + (p.global ? " (global)" : " (designates " + p.designated + ")"),
            [tn = tn, p = p](Client& cl, ServerState& st, std::ostream&) { check(cl.createPolicy(tenantId(st, tn), toPolicy(st, tn, p))); });
        continue;
      }
      std::vector<std::string> what;
      if (cp->second.user != p.user) what.push_back("user");
      if (cp->second.scope != p.scope) what.push_back("scope");
      if (cp->second.expiresAt != p.expiresAt) what.push_back("expiry");
      if (!what.empty()) {
        add('~', "update policy " + tn + "/" + pn + " (" + join(what, ", ") + ")",
            [tn = tn, p = p](Client& cl, ServerState& st, std::ostream&) { check(cl.updatePolicy(tenantId(st, tn), toPolicy(st, tn, p))); });
      }
    }
  }
  for (const auto& [sn, s] : desired.permissionSets) {
    auto cs = cur.permissionSets.find(sn);
    if (cs == cur.permissionSets.end()) {
      add('+', "create permission set " + sn, [s = s](Client& cl, ServerState& st, std::ostream&) { check(cl.createPermissionSet(toSet(st, s))); });
      continue;
    }
    std::vector<std::string> what;
    const CPermissionSet& c = cs->second;
    if (c.scope != s.scope) what.push_back("scope");
    // Tenants and users that are being deleted fall out of the set on the server too.
    std::set<std::string> curTenants, curUsers;
    for (const auto& x : c.tenants) if (!deletedTenants.count(x)) curTenants.insert(x);
    for (const auto& x : c.users) if (!deletedTenants.count(memberTenant(x, ""))) curUsers.insert(x);
    if (c.allTenants != s.allTenants || curTenants != s.tenants) what.push_back("tenants");
    if (curUsers != s.users) what.push_back("users");
    if (c.policies != s.policies) what.push_back("policies");
    if (!what.empty()) {
      add('~', "update permission set " + sn + " (" + join(what, ", ") + ")",
          [s = s](Client& cl, ServerState& st, std::ostream&) { check(cl.updatePermissionSet(toSet(st, s))); });
    }
  }
  return plan;
}

void runPlan(Client& client, Plan& plan, ServerState& state, std::ostream& out) {
  size_t i = 0;
  for (auto& ch : plan.changes) {
    ++i;
    try {
      ch.run(client, state, out);
    } catch (const ServerError& e) {
      throw ServerError(e.code(), "change " + std::to_string(i) + " of " + std::to_string(plan.changes.size()) +
                                      " (" + ch.text + ") failed: " + e.what() +
                                      (i > 1 ? "; the changes before it were applied" : "; nothing was applied"));
    }
  }
}

}  // namespace cotenant::cli::config
