// `cotenant policy create|update|delete|list`: data-sharing policies.

#include <algorithm>
#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string name, designated, userRef, expires = "never", inTenant, publishedBy, designating;
  std::vector<ScopeArg> scopeArgs;
  bool global = false;
};

// Everything but the server-side lookups, so that usage errors need no connection.
PolicyInfo draftPolicy(const Options& o) {
  PolicyInfo p;
  p.name = o.name;
  p.global = o.global;
  if (!o.designated.empty()) p.designated = parseId(o.designated, "designated tenant id");
  p.scope = groupScope(o.scopeArgs);
  p.expiresAt = parseExpiry(o.expires, nowMicros());
  return p;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* policy = app.add_subcommand("policy", "Data-sharing policies (let another tenant act on your data): create, update, delete, list");
  policy->require_subcommand(1);
  // Scope options are collected in command-line order (trigger_on_parse), so that each
  // --filter and --fields can be tied to the --object before it (groupScope).
  auto policyOptions = [&](CLI::App* sub) {
    sub->add_option("NAME", o.name, "policy name, unique in the publishing tenant")->required();
    auto* d = sub->add_option("--designated", o.designated, "the tenant admitted");
    sub->add_flag("--global", o.global, "admit every tenant the publisher manages (ISVs and MSPs only)")
        ->excludes(d);
    sub->add_option("--user", o.userRef, "the publisher's user the designated tenant acts as (id or name)")
        ->required();
    auto scopeOpt = [&](const std::string& flag, ScopeArg::Kind kind, const std::string& help) {
      sub->add_option_function<std::string>(
             flag, [&o, kind](const std::string& v) { o.scopeArgs.push_back({kind, v}); }, help)
          ->trigger_on_parse();
    };
    scopeOpt("--object", ScopeArg::Kind::Object, "share only this object (repeatable; default: every object)");
    scopeOpt("--filter", ScopeArg::Kind::Filter, "row filter (criteria) for the --object before it");
    scopeOpt("--fields", ScopeArg::Kind::Fields, "field allow-list a,b for the --object before it");
    sub->add_option("--expires", o.expires, "ISO-8601 time, a duration from now (30d), or never")
        ->capture_default_str();
    sub->add_option("--in-tenant", o.inTenant, "publishing tenant (default: own)");
  };
  auto* pcreate = s.leaf(policy, "create", "Let another tenant act on your data as one of your users", [&s, &o] {
    if (o.designated.empty() && !o.global) throw UsageError("give --designated TENANT or --global");
    PolicyInfo p = draftPolicy(o);
    uint64_t tid = optionalTenant(o.inTenant);
    p.userId = resolveUser(s, o.userRef, tid);
    auto r = s.client().createPolicy(tid, p);
    check(r);
    int64_t now = nowMicros();
    s.emit({{"policy", toJson(r.value(), now)}}, [&] { printPolicies(std::cout, {r.value()}, now); });
  });
  policyOptions(pcreate);

  auto* pupdate = s.leaf(policy, "update", "Replace a policy's user, scope and expiry", [&s, &o] {
    PolicyInfo p = draftPolicy(o);
    uint64_t tid = optionalTenant(o.inTenant);
    if (o.designated.empty() && !o.global) {
      // Not replaced by an update: keep the policy's own (one listPolicies round trip).
      auto l = s.client().listPolicies(effectiveTenant(s, o.inTenant), 0);
      check(l);
      auto it = std::find_if(l.value().begin(), l.value().end(),
                             [&](const PolicyInfo& x) { return x.name == o.name; });
      if (it == l.value().end()) throw Failed{ErrorCode::NotFound, "no policy named '" + o.name + "'"};
      p.designated = it->designated;
      p.global = it->global;
    }
    p.userId = resolveUser(s, o.userRef, tid);
    auto r = s.client().updatePolicy(tid, p);
    check(r);
    int64_t now = nowMicros();
    s.emit({{"policy", toJson(r.value(), now)}}, [&] { printPolicies(std::cout, {r.value()}, now); });
  });
  policyOptions(pupdate);

  auto* pdelete = s.leaf(policy, "delete", "Delete a policy (the designated tenant loses access at once)", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    check(s.client().deletePolicy(tid, o.name));
    s.emit({{"deleted", o.name}}, [&] { std::cout << "Deleted policy " << o.name << "\n"; });
  });
  pdelete->add_option("NAME", o.name, "policy name")->required();
  pdelete->add_option("--in-tenant", o.inTenant, "publishing tenant (default: own)");

  auto* plist = s.leaf(policy, "list", "Who can reach a tenant's data, or whose data it can reach", [&s, &o] {
    uint64_t by = o.publishedBy.empty() ? 0 : parseId(o.publishedBy, "tenant id");
    uint64_t to = o.designating.empty() ? 0 : parseId(o.designating, "tenant id");
    if (by == 0 && to == 0) by = s.client().user().tenantId;
    auto l = s.client().listPolicies(by, to);
    check(l);
    int64_t now = nowMicros();
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : l.value()) arr.push_back(toJson(p, now));
    s.emit({{"policies", arr}}, [&] { printPolicies(std::cout, l.value(), now); });
  });
  auto* pby = plist->add_option("--published-by", o.publishedBy,
                                "policies tenant T publishes: who can reach T's data (default: own tenant)");
  plist->add_option("--designating", o.designating,
                    "policies that admit tenant T: whose data T can reach (global ones included)")
      ->excludes(pby);
}

}  // namespace cotenant::cli
