// `cotenant audit` (a tenant's audit log) and `cotenant usage` (its metering).

#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string inTenant, since, until, callerTenant, outcome, direction, id;
  uint32_t limit = 0;
};

}  // namespace

void AddAuditUsageCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  auto* audit = s.leaf(&app, "audit", "Read a tenant's audit log (cross-tenant calls and admin changes)", [&s, &o] {
    AuditQuery q;
    q.tenantId = optionalTenant(o.inTenant);
    int64_t now = nowMicros();
    if (!o.since.empty()) q.from = parsePastTime(o.since, now, "--since");
    if (!o.until.empty()) q.to = parsePastTime(o.until, now, "--until");
    if (q.from != 0 && q.to != 0 && q.to <= q.from) {
      throw UsageError("--until must be after --since");
    }
    if (!o.callerTenant.empty()) q.callerTenant = parseId(o.callerTenant, "caller tenant id");
    if (!o.outcome.empty()) q.outcome = checkOutcome(o.outcome);
    q.direction = o.direction;
    q.limit = o.limit;
    auto l = s.client().queryAudit(q);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : l.value()) arr.push_back(toJson(e));
    s.emit({{"entries", arr}}, [&] {
      printAudit(std::cout, l.value());
      std::cout << l.value().size() << (l.value().size() == 1 ? " entry\n" : " entries\n");
    });
  });
  audit->add_option("--in-tenant", o.inTenant, "whose log (default: own; others: system admins)");
  audit->add_option("--since", o.since, "from this time: ISO-8601, or a duration ago (1h, 1d)");
  audit->add_option("--until", o.until, "before this time: ISO-8601, or a duration ago");
  audit->add_option("--caller-tenant", o.callerTenant, "only calls made by this tenant");
  audit->add_option("--outcome", o.outcome, "only this outcome: OK, PermissionDenied, NotFound, ...");
  audit->add_option("--direction", o.direction,
                    "in: only calls of other tenants into this one; out: only calls its users "
                    "made into other tenants")
      ->check(CLI::IsMember({"in", "out"}));
  audit->add_option("--limit", o.limit, "at most N entries, newest last (default: server's, 1000)");

  auto* usage = s.leaf(&app, "usage", "Show a tenant's metering (records, bytes, calls)", [&s, &o] {
    uint64_t tid = optionalTenant(o.id);
    auto u = s.client().usage(tid);
    check(u);
    s.emit({{"usage", toJson(u.value())}}, [&] { printUsage(std::cout, u.value()); });
  });
  usage->add_option("TENANT", o.id, "tenant id (default: own)");
}

}  // namespace cotenant::cli
