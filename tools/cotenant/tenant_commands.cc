// `cotenant tenant create|list|delete|quota` (dump and restore: tenant_dump_commands.cc).

#include <iostream>
#include <optional>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct TenantOptions {
  std::string name, kind = "tenant", provider, id;
  std::optional<uint64_t> records, bytes;
  std::optional<uint32_t> calls_per_second, concurrent_work;
  bool clear = false;
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

  auto* tquota = s.leaf(tenant, "quota",
                        "Show or change a tenant's quota (changing: system admins). Options not "
                        "given keep their value; 0 removes a limit",
                        [&s, &o] {
    uint64_t tid = parseId(o.id, "tenant id");
    auto current = s.client().usage(tid);
    check(current);
    Quota q = current.value().quota;
    bool change = o.clear || o.records || o.bytes || o.calls_per_second || o.concurrent_work;
    if (change) {
      if (o.clear) q = Quota{};
      if (o.records) q.records = *o.records;
      if (o.bytes) q.bytes = *o.bytes;
      if (o.calls_per_second) q.callsPerSecond = *o.calls_per_second;
      if (o.concurrent_work) q.concurrentWork = *o.concurrent_work;
      check(s.client().setQuota(tid, q));
    }
    UsageInfo u = current.value();
    u.quota = q;
    s.emit({{"tenantId", std::to_string(tid)}, {"quota", toJson(q)}},
           [&] { printQuota(std::cout, q, &u); });
  });
  tquota->add_option("ID", o.id, "tenant id")->required();
  tquota->add_option("--records", o.records, "records the tenant may store");
  tquota->add_option("--bytes", o.bytes, "bytes the tenant may store, as usage counts them");
  tquota->add_option("--calls-per-second", o.calls_per_second,
                     "calls per second the tenant's users may make (bursts of a second's worth)");
  tquota->add_option("--concurrent-work", o.concurrent_work,
                     "storage jobs the tenant's users may have queued or running at once");
  tquota->add_flag("--clear", o.clear, "remove every limit first");

  AddTenantDumpCommands(tenant, s);
}

}  // namespace cotenant::cli
