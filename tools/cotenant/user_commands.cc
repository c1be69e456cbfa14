// `cotenant whoami` and `cotenant user create|list|delete`.

#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct UserOptions {
  std::string name, level = "user", inTenant, userRef;
};

}  // namespace

void AddWhoamiCommand(CLI::App& app, CliContext& s) {
  s.leaf(&app, "whoami", "Show the logged-in user", [&s] {
    auto who = s.client().whoami();
    check(who);
    s.emit({{"user", toJson(who.value())}}, [&] { printUsers({who.value()}); });
  });
}

void AddUserCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<UserOptions>();
  CLI::App* user = app.add_subcommand("user", "Create, list and delete users");
  user->require_subcommand(1);
  auto* ucreate = s.leaf(user, "create", "Create a user and print its first API key", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);  // before connecting: usage errors need no server
    auto u = s.client().createUser(tid, o.name, *parseAdminLevel(o.level));
    check(u);
    const char* notice = "This API key will not be shown again: store it now.";
    if (s.json) {
      std::cout << nlohmann::json{{"user", toJson(u.value().user)}, {"apiKey", u.value().apiKey}}.dump(2)
                << "\n";
      std::cerr << "cotenant: " << notice << "\n";
    } else {
      printUsers({u.value().user});
      std::cout << "\nAPI key: " << u.value().apiKey << "\n" << notice << "\n";
    }
  });
  ucreate->add_option("NAME", o.name, "user name, unique in its tenant")->required();
  ucreate->add_option("--level", o.level, "user, tenant-admin or system-admin")
      ->check(CLI::IsMember({"user", "tenant-admin", "system-admin"}))
      ->capture_default_str();
  ucreate->add_option("--in-tenant", o.inTenant, "tenant to create the user in (default: own)");

  auto* ulist = s.leaf(user, "list", "List users of a tenant", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    auto l = s.client().listUsers(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& u : l.value()) arr.push_back(toJson(u));
    s.emit({{"users", arr}}, [&] { printUsers(l.value()); });
  });
  ulist->add_option("--in-tenant", o.inTenant, "tenant (default: own)");

  auto* udelete = s.leaf(user, "delete", "Delete a user, its API keys and role memberships", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    uint64_t uid = resolveUser(s, o.userRef, tid);
    check(s.client().deleteUser(tid, uid));
    s.emit({{"deleted", std::to_string(uid)}}, [&] { std::cout << "Deleted user " << uid << "\n"; });
  });
  udelete->add_option("USER", o.userRef, "user id or name")->required();
  udelete->add_option("--in-tenant", o.inTenant, "the user's tenant (default: own)");
}

}  // namespace cotenant::cli
