// `cotenant explain` (why a call would be allowed or denied) and `cotenant simulate` (what a
// draft permission set or policy would change, for one call or an audit log's calls).

#include <algorithm>
#include <iostream>

#include "cli_explain.h"
#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string userRef, userTenant, context, api, object, permissionSetFile, removePermissionSet,
      policyFile, inTenant, since, until, callerTenant;
  uint32_t limit = 0;
  bool fromAudit = false;
};

ExplainRequest buildRequest(CliContext& s, const Options& o) {
  ExplainRequest q;
  if (o.api.empty()) throw UsageError("give --api NAME (e.g. --api deleteRecord)");
  if (isRecordApi(o.api) && o.object.empty()) {
    throw UsageError("--api " + o.api + " is a record call: give --object OBJECT");
  }
  q.api = o.api;
  q.object = o.object;
  q.tenantId = optionalTenant(o.context);
  if (!o.userRef.empty()) {
    parseUserRef(o.userRef);
    q.userId = userIdOf(s, o.userRef, o.userTenant);
  }
  return q;
}

nlohmann::json requestJson(const ExplainRequest& q) {
  return nlohmann::json{{"userId", idOrNull(q.userId)},
                        {"tenantId", idOrNull(q.tenantId)},
                        {"api", q.api},
                        {"object", q.object}};
}

// simulate: the drafts, loaded before connecting so that a bad file is a usage error.
void loadDrafts(const Options& o, ExplainRequest& q) {
  if (!o.permissionSetFile.empty()) q.draftPermissionSet = loadPermissionSetFile(o.permissionSetFile);
  if (!o.policyFile.empty()) q.draftPolicy = loadPolicyFile(o.policyFile);
  if (!o.removePermissionSet.empty()) {
    checkPermissionSetName(o.removePermissionSet);
    q.removePermissionSet = o.removePermissionSet;
  }
  if (!q.draftPermissionSet && !q.draftPolicy && q.removePermissionSet.empty()) {
    throw UsageError("nothing to simulate: give --permission-set-file, --remove-permission-set "
                     "or --policy-file");
  }
}

nlohmann::json draftJson(const ExplainRequest& q) {
  int64_t now = nowMicros();
  return nlohmann::json{
      {"permissionSet", q.draftPermissionSet ? toJson(*q.draftPermissionSet) : nlohmann::json(nullptr)},
      {"removePermissionSet", q.removePermissionSet.empty() ? nlohmann::json(nullptr) : nlohmann::json(q.removePermissionSet)},
      {"policy", q.draftPolicy ? toJson(*q.draftPolicy, now) : nlohmann::json(nullptr)}};
}

std::string draftSummary(const Options& o, const ExplainRequest& q) {
  std::string out;
  if (q.draftPermissionSet) out = "permission set '" + q.draftPermissionSet->name + "' as in " + o.permissionSetFile;
  if (!q.removePermissionSet.empty()) out = "permission set '" + q.removePermissionSet + "' deleted";
  if (q.draftPolicy) {
    out += (out.empty() ? "" : "; ") + std::string("data-sharing policy '") + q.draftPolicy->name +
           "' as in " + o.policyFile;
  }
  return out;
}

ExplainRequest withDraft(ExplainRequest q, const ExplainRequest& drafts) {
  q.draftPermissionSet = drafts.draftPermissionSet;
  q.draftPolicy = drafts.draftPolicy;
  q.removePermissionSet = drafts.removePermissionSet;
  return q;
}

// simulate --from-audit: replays the distinct calls of an audit log through explain, now
// and with the draft, and reports the calls whose verdict would change.
void simulateAudit(CliContext& s, const Options& o, const ExplainRequest& drafts) {
  AuditQuery aq;
  aq.tenantId = optionalTenant(o.inTenant);
  int64_t now = nowMicros();
  aq.from = parsePastTime(o.since.empty() ? "1d" : o.since, now, "--since");
  if (!o.until.empty()) aq.to = parsePastTime(o.until, now, "--until");
  if (aq.to != 0 && aq.to <= aq.from) throw UsageError("--until must be after --since");
  if (!o.callerTenant.empty()) aq.callerTenant = parseId(o.callerTenant, "caller tenant id");
  aq.limit = o.limit;
  auto log = s.client().queryAudit(aq);
  check(log);
  size_t skipped = 0;
  std::vector<AuditCall> calls = distinctCalls(log.value(), &skipped);
  struct Row {
    const AuditCall* call;
    Change change;
    Explanation before, after;
  };
  std::vector<Row> rows;
  std::vector<std::pair<const AuditCall*, Failed>> failures;
  uint64_t counts[3] = {0, 0, 0};
  uint64_t failedCalls = 0;
  for (const auto& c : calls) {
    ExplainRequest q = explainRequestFor(c);
    auto before = s.client().explain(q);
    auto after = before.ok() ? s.client().explain(withDraft(q, drafts)) : before;
    if (!before.ok() || !after.ok()) {
      const auto& bad = before.ok() ? after : before;
      if (bad.getCode() == ErrorCode::Unavailable || bad.getCode() == ErrorCode::Busy ||
          bad.getCode() == ErrorCode::Unauthenticated) {
        check(bad);  // the connection or session is gone: stop
      }
      failures.push_back({&c, Failed{bad.getCode(), bad.getMessage()}});
      failedCalls += c.calls;
      continue;
    }
    Change ch = classifyChange(before.value().allowed, after.value().allowed);
    counts[static_cast<int>(ch)] += c.calls;
    rows.push_back({&c, ch, before.value(), after.value()});
  }
  if (!calls.empty() && rows.empty() && !failures.empty()) {
    // Nothing could be explained: that is the command's outcome.
    throw Failed{failures[0].second.code,
                 "no call of the audit log could be explained; the first: " + failures[0].second.message};
  }
  auto callJson = [](const AuditCall& c) {
    return nlohmann::json{{"callerUser", std::to_string(c.callerUser)},
                          {"callerTenant", std::to_string(c.callerTenant)},
                          {"targetTenant", std::to_string(c.targetTenant)},
                          {"api", c.api},
                          {"object", c.object},
                          {"calls", c.calls},
                          {"lastTime", formatTimestamp(c.lastTime)},
                          {"recordedOutcome", c.lastOutcome}};
  };
  auto brief = [](const Explanation& e) {
    return nlohmann::json{{"allowed", e.allowed},
                          {"code", e.code},
                          {"message", e.message},
                          {"decidingSet", e.decidingSet.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.decidingSet)},
                          {"decidingPolicy", e.decidingPolicy == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.decidingPolicy)}};
  };
  nlohmann::json denied = nlohmann::json::array(), allowed = nlohmann::json::array(),
                 failed = nlohmann::json::array();
  for (const auto& r : rows) {
    if (r.change == Change::Unchanged) continue;
    nlohmann::json j = callJson(*r.call);
    j["now"] = brief(r.before);
    j["draft"] = brief(r.after);
    (r.change == Change::NewlyDenied ? denied : allowed).push_back(j);
  }
  for (const auto& [c, f] : failures) {
    nlohmann::json j = callJson(*c);
    j["code"] = errorCodeName(f.code);
    j["message"] = f.message;
    failed.push_back(j);
  }
  auto distinct = [&](Change ch) {
    return static_cast<uint64_t>(std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return r.change == ch; }));
  };
  nlohmann::json out = {
      {"draft", draftJson(drafts)},
      {"log", {{"tenantId", idOrNull(aq.tenantId)},
               {"since", formatTimestamp(aq.from)},
               {"until", aq.to == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatTimestamp(aq.to))},
               {"entries", log.value().size()},
               {"skipped", skipped},
               {"distinctCalls", calls.size()}}},
      {"newlyDenied", denied},
      {"newlyAllowed", allowed},
      {"failed", failed},
      {"counts", {{"newlyDenied", counts[0]}, {"newlyAllowed", counts[1]}, {"unchanged", counts[2]},
                  {"failed", failedCalls}}},
  };
  s.emit(out, [&] {
    std::cout << "Draft: " << draftSummary(o, drafts) << "\n";
    std::cout << "Audit log: " << log.value().size() << " entries since " << formatTimestamp(aq.from)
              << (aq.to == 0 ? "" : " until " + formatTimestamp(aq.to)) << ", " << calls.size()
              << " distinct calls" << (skipped ? " (" + std::to_string(skipped) + " entries without a caller skipped)" : "")
              << "\n";
    auto section = [&](Change ch, const char* title) {
      uint64_t n = distinct(ch);
      std::cout << "\n" << title << ": " << counts[static_cast<int>(ch)] << " calls (" << n << " distinct)\n";
      if (n == 0) return;
      Table t({"  CALLER", "TARGET", "API", "OBJECT", "CALLS", "LAST", "RECORDED", "WITH THE DRAFT"});
      for (const auto& r : rows) {
        if (r.change != ch) continue;
        const AuditCall& c = *r.call;
        std::string why = verdict(r.after);
        if (!r.after.decidingSet.empty() && r.after.decidingPolicy != 0) {
          why += " by '" + r.after.decidingSet + "' policy " + std::to_string(r.after.decidingPolicy);
        } else if (!r.after.allowed && !r.after.message.empty()) {
          why += ": " + r.after.message;
        }
        t.add({"  " + std::to_string(c.callerUser) + "@" + std::to_string(c.callerTenant),
               std::to_string(c.targetTenant), c.api, c.object, std::to_string(c.calls),
               formatTimestamp(c.lastTime), c.lastOutcome, why});
      }
      t.print(std::cout);
    };
    section(Change::NewlyDenied, "Would be newly DENIED");
    section(Change::NewlyAllowed, "Would be newly ALLOWED");
    if (!failures.empty()) {
      std::cout << "\nCould not be explained: " << failedCalls << " calls (" << failures.size() << " distinct)\n";
      Table t({"  CALLER", "TARGET", "API", "OBJECT", "CALLS", "ERROR"});
      for (const auto& [c, f] : failures) {
        t.add({"  " + std::to_string(c->callerUser) + "@" + std::to_string(c->callerTenant),
               std::to_string(c->targetTenant), c->api, c->object, std::to_string(c->calls),
               std::string(errorCodeName(f.code)) + ": " + f.message});
      }
      t.print(std::cout);
    }
    std::cout << "\nSummary: " << counts[0] << " newly denied, " << counts[1] << " newly allowed, "
              << counts[2] << " unchanged, " << failedCalls << " not explained\n";
  });
}

}  // namespace

void AddExplainCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  // The call to decide: --user (default: yourself), --context (default: the user's own
  // tenant), --api, --object.
  auto callOptions = [&](CLI::App* sub, bool required) {
    sub->add_option("--user", o.userRef, "the caller: ID, NAME or NAME@TENANT (default: you)");
    sub->add_option("--user-tenant", o.userTenant, "tenant in which a --user NAME is looked up (default: own)");
    // --tenant here is the tenant the call names (as in `cotenant explain --user U --tenant T`);
    // the login tenant then comes from COTENANT_TENANT or --tenant before the command.
    sub->add_option("--context,--tenant", o.context,
                    "the tenant the call names, as a TenantContext (default: the caller's own)");
    auto* a = sub->add_option("--api", o.api, "the API, e.g. deleteRecord, getRecord, createPolicy");
    if (required) a->required();
    sub->add_option("--object", o.object, "the object of a record call, e.g. Customers");
  };
  auto* explain = s.leaf(&app, "explain", "Why a call would be allowed or denied, rule by rule (exit 0 either way)", [&s, &o] {
    ExplainRequest q = buildRequest(s, o);
    auto r = s.client().explain(q);
    check(r);
    s.emit({{"request", requestJson(q)}, {"explanation", toJson(r.value())}},
           [&] { printExplanation(std::cout, r.value()); });
  });
  callOptions(explain, true);

  auto* simulate = s.leaf(&app, "simulate", "What a draft permission set or policy would change, before it is saved (exit 0 either way)", [&s, &o] {
    ExplainRequest drafts;
    if (o.fromAudit) {
      if (!o.userRef.empty() || !o.api.empty() || !o.object.empty() || !o.context.empty()) {
        throw UsageError("--from-audit replays the calls of the audit log: leave out --user, --context, --api and --object");
      }
      loadDrafts(o, drafts);
      simulateAudit(s, o, drafts);
      return;
    }
    if (!o.inTenant.empty() || !o.since.empty() || !o.until.empty() || !o.callerTenant.empty() || o.limit != 0) {
      throw UsageError("--in-tenant, --since, --until, --caller-tenant and --limit need --from-audit");
    }
    loadDrafts(o, drafts);
    ExplainRequest q = buildRequest(s, o);
    auto now = s.client().explain(q);
    check(now);
    auto sim = s.client().explain(withDraft(q, drafts));
    check(sim);
    Change ch = classifyChange(now.value().allowed, sim.value().allowed);
    s.emit({{"request", requestJson(q)},
            {"draft", draftJson(drafts)},
            {"current", toJson(now.value())},
            {"simulated", toJson(sim.value())},
            {"change", changeName(ch)}},
           [&] {
             std::cout << "Draft:            " << draftSummary(o, drafts) << "\n";
             std::cout << "Now:              " << verdict(now.value()) << "\n";
             std::cout << "With the draft:   " << verdict(sim.value());
             if (ch == Change::NewlyDenied) std::cout << "  <- newly denied";
             if (ch == Change::NewlyAllowed) std::cout << "  <- newly allowed";
             std::cout << "\n\n";
             printExplanation(std::cout, sim.value());
           });
  });
  callOptions(simulate, false);
  simulate->add_option("--permission-set-file", o.permissionSetFile,
                       "draft permission set (JSON PERMSET): as if saved, replacing the set of its name");
  simulate->add_option("--remove-permission-set", o.removePermissionSet, "as if this permission set were deleted");
  simulate->add_option("--policy-file", o.policyFile,
                       "draft data-sharing policy (JSON POLICY) of the tenant the call names, replacing the one of its name");
  simulate->add_flag("--from-audit", o.fromAudit, "replay the calls of an audit log and list those whose verdict would change");
  simulate->add_option("--in-tenant", o.inTenant, "with --from-audit: whose audit log (default: own)");
  simulate->add_option("--since", o.since, "with --from-audit: calls from this time: ISO-8601 or a duration ago (default 1d)");
  simulate->add_option("--until", o.until, "with --from-audit: calls before this time");
  simulate->add_option("--caller-tenant", o.callerTenant, "with --from-audit: only calls made by this tenant");
  simulate->add_option("--limit", o.limit, "with --from-audit: the newest N entries (default: server's, 1000)");
}

}  // namespace cotenant::cli
