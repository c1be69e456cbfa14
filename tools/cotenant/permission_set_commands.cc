// `cotenant permission-set create|update|delete|list`: API-level allow/deny rules.

#include <algorithm>
#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string name, psScope = "user", userTenant;
  std::vector<std::string> forTenants, userRefs;
  std::vector<PolicyArg> policyArgs;
  bool allTenants = false;
};

// Everything but user-name lookups, so that usage errors need no connection.
PermissionSetInfo draftSet(const Options& o) {
  checkPermissionSetName(o.name);
  PermissionSetInfo set;
  set.name = o.name;
  set.systemScope = o.psScope == "system";
  set.allTenants = o.allTenants;
  if (!o.allTenants && o.forTenants.empty()) {
    throw UsageError("give --for-tenant ID (repeatable) or --all-tenants");
  }
  for (const auto& t : o.forTenants) {
    uint64_t tid = parseId(t, "--for-tenant id");
    if (std::find(set.tenants.begin(), set.tenants.end(), tid) == set.tenants.end()) set.tenants.push_back(tid);
  }
  if (set.systemScope && !o.userRefs.empty()) {
    throw UsageError("--scope system applies to every user: leave out --user (or use --scope user)");
  }
  set.policies = parsePolicySpecs(o.policyArgs);
  return set;
}

void saveSet(CliContext& s, const Options& o, bool create) {
  PermissionSetInfo set = draftSet(o);
  for (const auto& spec : o.userRefs) parseUserRef(spec);  // usage errors before connecting
  for (const auto& spec : o.userRefs) {
    uint64_t uid = userIdOf(s, spec, o.userTenant);
    if (std::find(set.users.begin(), set.users.end(), uid) == set.users.end()) set.users.push_back(uid);
  }
  if (!set.systemScope && set.users.empty()) {
    std::cerr << "cotenant: note: user-scope set '" << set.name
              << "' has no --user: it applies to nobody until users are added\n";
  }
  check(create ? s.client().createPermissionSet(set) : s.client().updatePermissionSet(set));
  s.emit({{"permissionSet", toJson(set)}}, [&] {
    std::cout << (create ? "Created" : "Updated") << " permission set " << set.name << "\n";
    printPermissionSets(std::cout, {set});
  });
}

}  // namespace

void AddPermissionSetCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* pset = app.add_subcommand(
      "permission-set", "API-level allow/deny rules checked on every call: create, update, delete, list");
  pset->require_subcommand(1);
  // --allow and --deny are collected in command-line order (trigger_on_parse): policies are
  // numbered in the order written.
  auto psetOptions = [&](CLI::App* sub) {
    sub->add_option("NAME", o.name, "set name, 1-64 of A-Z a-z 0-9 _ . -")->required();
    sub->add_option("--scope", o.psScope, "user: applies to --user only; system: to every user")
        ->check(CLI::IsMember({"user", "system"}))
        ->capture_default_str();
    auto* ft = sub->add_option("--for-tenant", o.forTenants, "a tenant the set applies to (repeatable)");
    sub->add_flag("--all-tenants", o.allTenants, "the set applies in every tenant")->excludes(ft);
    sub->add_option("--user", o.userRefs, "a user it applies to: ID, NAME or NAME@TENANT (repeatable)");
    sub->add_option("--user-tenant", o.userTenant, "tenant in which --user NAMEs are looked up (default: own)");
    for (Effect effect : {Effect::Allow, Effect::Deny}) {
      std::string flag = std::string("--") + effectName(effect);
      sub->add_option_function<std::string>(
             flag, [&o, effect](const std::string& v) { o.policyArgs.push_back({effect, v}); },
             std::string("'RESOURCE-TYPE API-NAME METHOD': three regexes separated by blanks, "
                         "in quotes (repeatable; policies keep command-line order)"))
          ->trigger_on_parse();
    }
  };
  psetOptions(s.leaf(pset, "create", "Create a permission set (system admins)", [&s, &o] { saveSet(s, o, true); }));
  psetOptions(s.leaf(pset, "update", "Replace a permission set with exactly what the command says",
                   [&s, &o] { saveSet(s, o, false); }));
  auto* psdelete = s.leaf(pset, "delete", "Delete a permission set (system admins)", [&s, &o] {
    check(s.client().deletePermissionSet(o.name));
    s.emit({{"deleted", o.name}}, [&] { std::cout << "Deleted permission set " << o.name << "\n"; });
  });
  psdelete->add_option("NAME", o.name, "set name")->required();
  s.leaf(pset, "list", "List permission sets with their numbered policies", [&s] {
    auto l = s.client().listPermissionSets();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : l.value()) arr.push_back(toJson(x));
    s.emit({{"permissionSets", arr}}, [&] { printPermissionSets(std::cout, l.value()); });
  });
}

}  // namespace cotenant::cli
