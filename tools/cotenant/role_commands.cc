// `cotenant role create|update|delete|list|add-member|remove-member`.

#include <algorithm>
#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string name, inTenant, memberTenant, userRef;
  std::vector<std::string> rightSpecs;
  bool crossTenant = false, noCrossTenant = false;
};

}  // namespace

void AddRoleCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* role = app.add_subcommand("role", "Create, update, delete and list roles and their members");
  role->require_subcommand(1);
  auto rightOption = [&](CLI::App* sub) {
    return sub->add_option("--right", o.rightSpecs,
                           "OBJECT:RIGHTS, RIGHTS from read,add,update,delete or all/none; "
                           "OBJECT '*' = every object not named (repeatable)")
        ->allow_extra_args(false);
  };
  auto* rlcreate = s.leaf(role, "create", "Create a role granting per-object rights", [&s, &o] {
    auto rights = parseRightSpecs(o.rightSpecs);
    uint64_t tid = optionalTenant(o.inTenant);
    auto r = s.client().createRole(tid, o.name, rights, o.crossTenant);
    check(r);
    s.emit({{"role", toJson(r.value())}}, [&] { printRoles(std::cout, {r.value()}); });
  });
  rlcreate->add_option("NAME", o.name, "role name, unique in the tenant")->required();
  rightOption(rlcreate)->required();
  rlcreate->add_flag("--cross-tenant", o.crossTenant,
                     "users of other tenants may be members (system setting crossTenantRoles)");
  rlcreate->add_option("--in-tenant", o.inTenant, "tenant (default: own)");

  auto* rlupdate = s.leaf(role, "update", "Replace a role's rights and/or its cross-tenant flag", [&s, &o] {
    if (o.rightSpecs.empty() && !o.crossTenant && !o.noCrossTenant) {
      throw UsageError("nothing to update: give --right, --cross-tenant or --no-cross-tenant");
    }
    std::vector<ObjectRights> rights = parseRightSpecs(o.rightSpecs);
    uint64_t tid = optionalTenant(o.inTenant);
    bool cross = o.crossTenant;
    if (o.rightSpecs.empty() || (!o.crossTenant && !o.noCrossTenant)) {
      // Keep what the command line does not replace: one listRoles round trip.
      auto roles = s.client().listRoles(tid);
      check(roles);
      auto it = std::find_if(roles.value().begin(), roles.value().end(),
                             [&](const RoleInfo& r) { return r.name == o.name; });
      if (it == roles.value().end()) throw Failed{ErrorCode::NotFound, "no role named '" + o.name + "'"};
      if (o.rightSpecs.empty()) rights = it->rights;
      if (!o.crossTenant && !o.noCrossTenant) cross = it->crossTenant;
    }
    auto r = s.client().updateRole(tid, o.name, rights, cross);
    check(r);
    s.emit({{"role", toJson(r.value())}}, [&] { printRoles(std::cout, {r.value()}); });
  });
  rlupdate->add_option("NAME", o.name, "role name")->required();
  rightOption(rlupdate);
  auto* crossOn = rlupdate->add_flag("--cross-tenant", o.crossTenant, "allow members of other tenants");
  rlupdate->add_flag("--no-cross-tenant", o.noCrossTenant, "members of the role's tenant only")
      ->excludes(crossOn);
  rlupdate->add_option("--in-tenant", o.inTenant, "tenant (default: own)");

  auto* rldelete = s.leaf(role, "delete", "Delete a role (its members lose its rights at once)", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    check(s.client().deleteRole(tid, o.name));
    s.emit({{"deleted", o.name}}, [&] { std::cout << "Deleted role " << o.name << "\n"; });
  });
  rldelete->add_option("NAME", o.name, "role name")->required();
  rldelete->add_option("--in-tenant", o.inTenant, "tenant (default: own)");

  auto* rllist = s.leaf(role, "list", "List roles with their rights and members", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    auto l = s.client().listRoles(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : l.value()) arr.push_back(toJson(r));
    s.emit({{"roles", arr}}, [&] { printRoles(std::cout, l.value()); });
  });
  rllist->add_option("--in-tenant", o.inTenant, "tenant (default: own)");

  // add-member / remove-member: the member's tenant defaults to the role's tenant.
  auto memberCommand = [&](const std::string& cmd, const std::string& help, bool add) {
    auto* sub = s.leaf(role, cmd, help, [&s, &o, add] {
      uint64_t tid = optionalTenant(o.inTenant);
      uint64_t mt = o.memberTenant.empty() ? 0 : parseId(o.memberTenant, "member tenant id");
      if (mt == 0) mt = effectiveTenant(s, o.inTenant);
      uint64_t uid = resolveUser(s, o.userRef, mt);
      Result r = add ? s.client().addRoleMember(tid, o.name, mt, uid)
                     : s.client().removeRoleMember(tid, o.name, mt, uid);
      check(r);
      nlohmann::json member = {{"tenantId", std::to_string(mt)}, {"userId", std::to_string(uid)}};
      s.emit({{"role", o.name}, {add ? "added" : "removed", member}}, [&] {
        std::cout << (add ? "Added user " : "Removed user ") << uid << " of tenant " << mt
                  << (add ? " to role " : " from role ") << o.name << "\n";
      });
    });
    sub->add_option("ROLE", o.name, "role name")->required();
    sub->add_option("--user", o.userRef, "user id, or name (looked up in the member's tenant)")->required();
    sub->add_option("--member-tenant", o.memberTenant,
                    "the user's home tenant, for a cross-tenant role (default: the role's tenant)");
    sub->add_option("--in-tenant", o.inTenant, "the role's tenant (default: own)");
  };
  memberCommand("add-member", "Give a user a role", true);
  memberCommand("remove-member", "Take a role from a user", false);
}

}  // namespace cotenant::cli
