// `cotenant tenant create|list|delete`.

#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct TenantOptions {
  std::string name, kind = "tenant", provider, id;
};

void printTenants(const std::vector<TenantInfo>& tenants) {
  Table t({"ID", "NAME", "KIND", "PROVIDER", "CREATED"});
  for (const auto& x : tenants) {
    t.add({std::to_string(x.id), x.name, tenantKindName(x.kind),
           x.provider == 0 ? "" : std::to_string(x.provider), formatTimestamp(x.createdAt)});
  }
  t.print(std::cout);
}

}  // namespace

void AddTenantCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<TenantOptions>();
  CLI::App* tenant = app.add_subcommand("tenant", "Create, list and delete tenants");
  tenant->require_subcommand(1);
  auto* tcreate = s.leaf(tenant, "create", "Create a tenant (system admins)", [&s, &o] {
    uint64_t prov = o.provider.empty() ? 0 : parseId(o.provider, "provider id");
    auto t = s.client().createTenant(o.name, *parseTenantKind(o.kind), prov);
    check(t);
    s.emit({{"tenant", toJson(t.value())}}, [&] { printTenants({t.value()}); });
  });
  tcreate->add_option("NAME", o.name, "display name, unique among live tenants")->required();
  tcreate->add_option("--kind", o.kind, "tenant, msp or isv")
      ->check(CLI::IsMember({"tenant", "msp", "isv"}))
      ->capture_default_str();
  tcreate->add_option("--provider", o.provider, "id of the managing ISV or MSP");

  s.leaf(tenant, "list", "List tenants (system admins see all, others their own)", [&s] {
    auto l = s.client().listTenants();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : l.value()) arr.push_back(toJson(t));
    s.emit({{"tenants", arr}}, [&] { printTenants(l.value()); });
  });

  auto* tdelete = s.leaf(tenant, "delete", "Delete a tenant and everything in it (system admins)", [&s, &o] {
    uint64_t tid = parseId(o.id, "tenant id");
    check(s.client().deleteTenant(tid));
    s.emit({{"deleted", std::to_string(tid)}}, [&] { std::cout << "Deleted tenant " << tid << "\n"; });
  });
  tdelete->add_option("ID", o.id, "tenant id")->required();
}

}  // namespace cotenant::cli
