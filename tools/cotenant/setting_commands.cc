// `cotenant setting set|list`: system settings.

#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string name, value;
};

}  // namespace

void AddSettingCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* setting = app.add_subcommand("setting", "System settings (crossTenantRoles)");
  setting->require_subcommand(1);
  auto* sset = s.leaf(setting, "set", "Set a system setting (system admins)", [&s, &o] {
    check(s.client().setSetting(o.name, o.value));
    s.emit({{"setting", toJson(Setting{o.name, o.value})}},
           [&] { std::cout << "Set " << o.name << " = " << o.value << "\n"; });
  });
  sset->add_option("NAME", o.name, "setting name, e.g. crossTenantRoles")->required();
  sset->add_option("VALUE", o.value, "new value, e.g. true")->required();
  s.leaf(setting, "list", "List system settings", [&s] {
    auto l = s.client().listSettings();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : l.value()) arr.push_back(toJson(x));
    s.emit({{"settings", arr}}, [&] { printSettings(std::cout, l.value()); });
  });
}

}  // namespace cotenant::cli
