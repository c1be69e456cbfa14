// JSON renderings and text tables of SDK types.

#include "cli_render.h"

#include <algorithm>
#include <map>
#include <set>

#include "cli_parse.h"

namespace cotenant::cli {

// ---- verdicts ---------------------------------------------------------------------------

std::string verdict(const Explanation& e) {
  if (e.allowed) return "ALLOWED";
  return "DENIED (" + (e.code.empty() ? std::string("PermissionDenied") : e.code) + ")";
}

// ---- JSON -------------------------------------------------------------------------------

nlohmann::json toJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return nullptr;
    case Value::Type::Text: return v.asText();
    case Value::Type::Int: return v.asInt();
    case Value::Type::Float: return v.asFloat();
    case Value::Type::Bool: return v.asBool();
    case Value::Type::Timestamp: return v.toString();
  }
  return nullptr;
}

nlohmann::json toJson(const Record& r) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [name, value] : r.fields()) fields[name] = toJson(value);
  nlohmann::json j = {
      {"id", r.idString()},
      {"version", r.version()},
      {"createdBy", std::to_string(r.createdBy())},
      {"createdAt", formatTimestamp(r.createdAt())},
      {"modifiedBy", std::to_string(r.modifiedBy())},
      {"modifiedAt", formatTimestamp(r.modifiedAt())},
      {"fields", fields},
  };
  if (r.canUpdate() || r.canDelete()) {
    j["permissions"] = {{"canUpdate", r.canUpdate().value_or(false)},
                        {"canDelete", r.canDelete().value_or(false)}};
  }
  return j;
}

nlohmann::json toJson(const Quota& q) {
  return {{"records", q.records},
          {"bytes", q.bytes},
          {"callsPerSecond", q.callsPerSecond},
          {"concurrentWork", q.concurrentWork}};
}

nlohmann::json toJson(const TenantInfo& t) {
  nlohmann::json j = {
      {"id", std::to_string(t.id)},
      {"name", t.name},
      {"kind", tenantKindName(t.kind)},
      {"provider", idOrNull(t.provider)},
      {"createdAt", formatTimestamp(t.createdAt)},
  };
  if (!(t.quota == Quota{})) j["quota"] = toJson(t.quota);
  return j;
}

nlohmann::json toJson(const UserInfo& u) {
  return {
      {"id", std::to_string(u.id)},
      {"tenantId", std::to_string(u.tenantId)},
      {"name", u.name},
      {"level", adminLevelName(u.level)},
      {"createdAt", formatTimestamp(u.createdAt)},
  };
}

nlohmann::json toJson(const ObjectInfo& o) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : o.fields) {
    fields.push_back({{"name", f.name},
                      {"type", fieldTypeName(f.type)},
                      {"required", f.required},
                      {"indexed", f.indexed},
                      {"unique", f.unique}});
  }
  return {{"id", o.id}, {"name", o.name}, {"fields", fields}};
}

nlohmann::json idOrNull(uint64_t id) {
  return id == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(id));
}

nlohmann::json toJson(const Rights& r) {
  return {{"read", r.read}, {"add", r.add}, {"update", r.update}, {"delete", r.del}};
}

nlohmann::json toJson(const RoleInfo& r) {
  nlohmann::json rights = nlohmann::json::array();
  for (const auto& o : r.rights) rights.push_back({{"object", o.object}, {"rights", toJson(o.rights)}});
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : r.members) {
    members.push_back({{"tenantId", std::to_string(m.tenantId)}, {"userId", std::to_string(m.userId)}});
  }
  return {{"id", std::to_string(r.id)}, {"tenantId", std::to_string(r.tenantId)},
          {"name", r.name},           {"crossTenant", r.crossTenant},
          {"rights", rights},         {"members", members}};
}

nlohmann::json toJson(const PolicyInfo& p, int64_t now) {
  nlohmann::json scope = nlohmann::json::array();
  for (const auto& o : p.scope) {
    scope.push_back({{"object", o.object},
                     {"rowFilter", o.rowFilter.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.rowFilter)},
                     {"fields", o.fields}});
  }
  return {
      {"name", p.name},
      {"publisher", std::to_string(p.publisher)},
      {"designated", idOrNull(p.designated)},
      {"global", p.global},
      {"userId", std::to_string(p.userId)},
      {"scope", scope},
      {"expiresAt", p.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatTimestamp(p.expiresAt))},
      {"expired", p.expiredAt(now)},
      {"createdAt", formatTimestamp(p.createdAt)},
      {"modifiedAt", formatTimestamp(p.modifiedAt)},
  };
}

nlohmann::json toJson(const ApiKeyInfo& k) {
  return {{"keyId", k.keyId},
          {"userId", std::to_string(k.userId)},
          {"createdAt", formatTimestamp(k.createdAt)},
          {"revoked", k.revoked}};
}

nlohmann::json toJson(const AuditEntry& e) {
  return {
      {"time", formatTimestamp(e.time)},
      {"callerTenant", std::to_string(e.callerTenant)},
      {"callerUser", std::to_string(e.callerUser)},
      {"principal", std::to_string(e.principal)},
      {"targetTenant", std::to_string(e.targetTenant)},
      {"api", e.api},
      {"object", e.object},
      {"recordId", idOrNull(e.recordId)},
      {"outcome", e.outcome},
      {"detail", e.detail},
  };
}

nlohmann::json toJson(const UsageInfo& u) {
  nlohmann::json calls = nlohmann::json::object();
  for (const auto& c : u.calls) calls[c.api] = c.calls;
  return {
      {"tenantId", std::to_string(u.tenantId)},
      {"records", u.records},
      {"bytes", u.bytes},
      {"calls", calls},
      {"servedToOthers", u.servedToOthers},
      {"consumedFromOthers", u.consumedFromOthers},
      {"quota", toJson(u.quota)},
  };
}

nlohmann::json toJson(const Setting& s) { return {{"name", s.name}, {"value", s.value}}; }

nlohmann::json toJson(const PermissionPolicy& p) {
  return {{"effect", effectName(p.effect)},
          {"resourceTypeRegex", p.resourceTypeRegex},
          {"apiNameRegex", p.apiNameRegex},
          {"methodRegex", p.methodRegex}};
}

nlohmann::json toJson(const PermissionSetInfo& s) {
  nlohmann::json tenants = nlohmann::json::array();
  for (uint64_t t : s.tenants) tenants.push_back(std::to_string(t));
  nlohmann::json users = nlohmann::json::array();
  for (uint64_t u : s.users) users.push_back(std::to_string(u));
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& p : s.policies) policies.push_back(toJson(p));
  return {{"name", s.name},
          {"scope", s.systemScope ? "system" : "user"},
          {"allTenants", s.allTenants},
          {"tenants", tenants},
          {"users", users},
          {"policies", policies}};
}

nlohmann::json toJson(const Explanation& e) {
  auto textOrNull = [](const std::string& t) {
    return t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t);
  };
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& c : e.permissionSets) {
    sets.push_back({{"name", c.name},
                    {"forUser", std::to_string(c.forUser)},
                    {"matchedAllow", c.matchedAllow},
                    {"matchedDeny", c.matchedDeny}});
  }
  return {
      {"allowed", e.allowed},
      {"code", e.code},
      {"message", e.message},
      {"contextPath", e.contextPath},
      {"policy", textOrNull(e.policy)},
      {"principal", idOrNull(e.principal)},
      {"permissionSets", sets},
      {"decidingSet", textOrNull(e.decidingSet)},
      {"decidingPolicy", e.decidingPolicy == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.decidingPolicy)},
      {"roleRights", textOrNull(e.roleRights)},
      {"scope", textOrNull(e.scope)},
      {"steps", e.steps},
  };
}

// ---- text -------------------------------------------------------------------------------

namespace {
size_t displayWidth(const std::string& s) {
  // Code points, not bytes: continuation bytes (10xxxxxx) do not count.
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}
}  // namespace

void Table::print(std::ostream& os) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& c = i < row.size() ? row[i] : std::string();
      out += c;
      if (i + 1 < widths.size()) out.append(widths[i] - displayWidth(c) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    os << out << "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

std::string cell(const Value& v) {
  if (v.isNull()) return "";
  std::string s = v.toString();
  // Keep one record on one line.
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

void printRecords(std::ostream& os, const std::vector<Record>& records) {
  std::vector<std::string> names;
  for (const auto& r : records) {
    for (const auto& f : r.fields()) {
      if (std::find(names.begin(), names.end(), f.first) == names.end()) names.push_back(f.first);
    }
  }
  std::vector<std::string> header{"ID"};
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("VERSION");
  header.push_back("MODIFIED");
  Table t(header);
  for (const auto& r : records) {
    std::vector<std::string> row{r.idString()};
    for (const auto& n : names) row.push_back(cell(r.get(n)));
    row.push_back(std::to_string(r.version()));
    row.push_back(formatTimestamp(r.modifiedAt()));
    t.add(std::move(row));
  }
  t.print(os);
}

void printRecord(std::ostream& os, const Record& r) {
  Table t({"FIELD", "VALUE"});
  t.add({"id", r.idString()});
  for (const auto& [name, value] : r.fields()) t.add({name, value.isNull() ? "(null)" : cell(value)});
  t.add({"version", std::to_string(r.version())});
  t.add({"createdBy", std::to_string(r.createdBy())});
  t.add({"createdAt", formatTimestamp(r.createdAt())});
  t.add({"modifiedBy", std::to_string(r.modifiedBy())});
  t.add({"modifiedAt", formatTimestamp(r.modifiedAt())});
  if (r.canUpdate()) t.add({"canUpdate", *r.canUpdate() ? "true" : "false"});
  if (r.canDelete()) t.add({"canDelete", *r.canDelete() ? "true" : "false"});
  t.print(os);
}

namespace {
std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}
}  // namespace

void printRoles(std::ostream& os, const std::vector<RoleInfo>& roles) {
  Table t({"ID", "NAME", "CROSS-TENANT", "RIGHTS", "MEMBERS"});
  for (const auto& r : roles) {
    std::string members;
    for (const auto& m : r.members) {
      if (!members.empty()) members += ' ';
      members += std::to_string(m.userId);
      if (m.tenantId != r.tenantId) members += "@" + std::to_string(m.tenantId);
    }
    t.add({std::to_string(r.id), r.name, r.crossTenant ? "yes" : "no",
           r.rights.empty() ? "none" : formatRightSpecs(r.rights), members});
  }
  t.print(os);
}

void printPolicies(std::ostream& os, const std::vector<PolicyInfo>& policies, int64_t now) {
  Table t({"NAME", "PUBLISHER", "DESIGNATED", "USER", "SCOPE", "EXPIRES"});
  for (const auto& p : policies) {
    std::string expires = p.expiresAt == 0 ? "never" : formatTimestamp(p.expiresAt);
    if (p.expiredAt(now)) expires += " (expired)";
    t.add({p.name, std::to_string(p.publisher),
           p.global ? "global" : std::to_string(p.designated), std::to_string(p.userId),
           oneLine(scopeSummary(p.scope)), expires});
  }
  t.print(os);
  // The table only summarises scopes; spell out filters and field lists below it.
  for (const auto& p : policies) {
    for (const auto& o : p.scope) {
      if (!o.rowFilter.empty()) {
        os << "  " << p.name << " " << o.object << " filter: " << oneLine(o.rowFilter) << "\n";
      }
      if (!o.fields.empty()) {
        os << "  " << p.name << " " << o.object << " fields: ";
        for (size_t i = 0; i < o.fields.size(); ++i) os << (i ? "," : "") << o.fields[i];
        os << "\n";
      }
    }
  }
}

void printApiKeys(std::ostream& os, const std::vector<ApiKeyInfo>& keys) {
  Table t({"KEY ID", "USER", "CREATED", "STATUS"});
  for (const auto& k : keys) {
    t.add({k.keyId, std::to_string(k.userId), formatTimestamp(k.createdAt),
           k.revoked ? "revoked" : "active"});
  }
  t.print(os);
}

void printAudit(std::ostream& os, const std::vector<AuditEntry>& entries) {
  Table t({"TIME", "CALLER", "PRINCIPAL", "TARGET", "API", "OBJECT", "RECORD", "OUTCOME", "DETAIL"});
  for (const auto& e : entries) {
    t.add({formatTimestamp(e.time),
           std::to_string(e.callerUser) + "@" + std::to_string(e.callerTenant),
           std::to_string(e.principal), std::to_string(e.targetTenant), e.api, oneLine(e.object),
           e.recordId == 0 ? "" : std::to_string(e.recordId), e.outcome, oneLine(e.detail)});
  }
  t.print(os);
}

void printQuota(std::ostream& os, const Quota& q, const UsageInfo* usage) {
  auto limit = [](uint64_t v) { return v == 0 ? std::string("none") : std::to_string(v); };
  Table t({"QUOTA", "LIMIT", "NOW"});
  t.add({"records", limit(q.records), usage ? std::to_string(usage->records) : ""});
  t.add({"bytes", limit(q.bytes), usage ? std::to_string(usage->bytes) : ""});
  t.add({"calls-per-second", limit(q.callsPerSecond), ""});
  t.add({"concurrent-work", limit(q.concurrentWork), ""});
  t.print(os);
}

void printUsage(std::ostream& os, const UsageInfo& u) {
  Table t({"TENANT", "RECORDS", "BYTES", "SERVED-TO-OTHERS", "CONSUMED-FROM-OTHERS"});
  t.add({std::to_string(u.tenantId), std::to_string(u.records), std::to_string(u.bytes),
         std::to_string(u.servedToOthers), std::to_string(u.consumedFromOthers)});
  t.print(os);
  if (!(u.quota == Quota{})) {
    os << "\n";
    printQuota(os, u.quota, &u);
  }
  if (u.calls.empty()) return;
  os << "\n";
  Table calls({"API", "CALLS"});
  for (const auto& c : u.calls) calls.add({c.api, std::to_string(c.calls)});
  calls.print(os);
}

void printSettings(std::ostream& os, const std::vector<Setting>& settings) {
  Table t({"NAME", "VALUE"});
  for (const auto& s : settings) t.add({s.name, s.value});
  t.print(os);
}

void printPermissionSets(std::ostream& os, const std::vector<PermissionSetInfo>& sets) {
  Table t({"NAME", "SCOPE", "TENANTS", "USERS", "#", "EFFECT", "RESOURCE-TYPE", "API-NAME", "METHOD"});
  auto ids = [](const std::vector<uint64_t>& v) {
    std::string out;
    for (uint64_t x : v) out += (out.empty() ? "" : " ") + std::to_string(x);
    return out;
  };
  for (const auto& s : sets) {
    std::string scope = s.systemScope ? "system" : "user";
    std::string tenants = s.allTenants ? "all" : (s.tenants.empty() ? "none" : ids(s.tenants));
    std::string users = s.systemScope ? "all" : (s.users.empty() ? "none" : ids(s.users));
    if (s.policies.empty()) t.add({s.name, scope, tenants, users, "", "(no policies)"});
    for (size_t i = 0; i < s.policies.size(); ++i) {
      const auto& p = s.policies[i];
      // The set's columns on its first row only; the name on every row, for grep.
      t.add({s.name, i == 0 ? scope : "", i == 0 ? tenants : "", i == 0 ? users : "",
             std::to_string(i + 1), effectName(p.effect), oneLine(p.resourceTypeRegex),
             oneLine(p.apiNameRegex), oneLine(p.methodRegex)});
    }
  }
  t.print(os);
}

void printExplanation(std::ostream& os, const Explanation& e) {
  auto numbers = [](const std::vector<uint32_t>& v) {
    if (v.empty()) return std::string("-");
    std::string out;
    for (uint32_t n : v) out += (out.empty() ? "" : ",") + std::to_string(n);
    return out;
  };
  auto line = [&](const char* label, const std::string& value) {
    std::string l = label;
    l.append(l.size() < 17 ? 17 - l.size() : 1, ' ');
    os << l << oneLine(value) << "\n";
  };
  line("Context path:", e.contextPath.empty() ? "-" : e.contextPath);
  line("Policy:", e.policy.empty() ? "none" : e.policy);
  line("Principal:", e.principal == 0 ? "-" : "user " + std::to_string(e.principal));
  if (e.permissionSets.empty()) {
    line("Permission sets:", "none considered");
  } else {
    os << "Permission sets:\n";
    Table t({"  SET", "FOR-USER", "MATCHED-ALLOW", "MATCHED-DENY", "DECIDES"});
    bool marked = false;
    for (const auto& c : e.permissionSets) {
      std::string decides;
      bool matches = std::find(c.matchedDeny.begin(), c.matchedDeny.end(), e.decidingPolicy) !=
                         c.matchedDeny.end() ||
                     std::find(c.matchedAllow.begin(), c.matchedAllow.end(), e.decidingPolicy) !=
                         c.matchedAllow.end();
      if (!marked && e.decidingPolicy != 0 && c.name == e.decidingSet && matches) {
        decides = "policy " + std::to_string(e.decidingPolicy);
        marked = true;
      }
      t.add({"  " + c.name, std::to_string(c.forUser), numbers(c.matchedAllow),
             numbers(c.matchedDeny), decides});
    }
    t.print(os);
  }
  std::string deciding;
  if (!e.decidingSet.empty()) {
    deciding = "permission set '" + e.decidingSet + "'";
    if (e.decidingPolicy != 0) deciding += " policy " + std::to_string(e.decidingPolicy);
  } else if (!e.permissionSets.empty()) {
    deciding = "none: no policy matched (default deny)";
  } else {
    deciding = "none";
  }
  line("Deciding:", deciding);
  line("Role rights:", e.roleRights.empty() ? "-" : e.roleRights);
  line("Scope:", e.scope.empty() ? "-" : e.scope);
  if (!e.steps.empty()) {
    os << "Steps:\n";
    for (size_t i = 0; i < e.steps.size(); ++i) {
      os << "  " << (i + 1) << ". " << oneLine(e.steps[i]) << "\n";
    }
  }
  std::string v = verdict(e);
  if (!e.message.empty()) v += ": " + e.message;
  line("Verdict:", v);
}

}  // namespace cotenant::cli
