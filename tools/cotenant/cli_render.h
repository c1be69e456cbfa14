// How the `cotenant` CLI shows SDK types: the stable JSON of --json (docs/CLI.md) and the
// aligned text tables otherwise.

#ifndef COTENANT_TOOLS_COTENANT_CLI_RENDER_H_
#define COTENANT_TOOLS_COTENANT_CLI_RENDER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cotenant/client.h"

namespace cotenant::cli {

// ---- JSON renderings (stable; docs/CLI.md) -------------------------------------------------

// An id as the JSON shows ids: a decimal string, or null for 0 (no id).
nlohmann::json idOrNull(uint64_t id);

nlohmann::json toJson(const Value& v);
nlohmann::json toJson(const Record& r);
nlohmann::json toJson(const Quota& q);
nlohmann::json toJson(const TenantInfo& t);
nlohmann::json toJson(const UserInfo& u);
nlohmann::json toJson(const ObjectInfo& o);
nlohmann::json toJson(const Rights& r);
nlohmann::json toJson(const RoleInfo& r);
nlohmann::json toJson(const PolicyInfo& p, int64_t now);
nlohmann::json toJson(const ApiKeyInfo& k);
nlohmann::json toJson(const AuditEntry& e);
nlohmann::json toJson(const UsageInfo& u);
nlohmann::json toJson(const Setting& s);
nlohmann::json toJson(const PermissionPolicy& p);
nlohmann::json toJson(const PermissionSetInfo& s);
nlohmann::json toJson(const Explanation& e);

// "ALLOWED" or "DENIED (PermissionDenied)".
std::string verdict(const Explanation& e);

// ---- text tables ---------------------------------------------------------------------------

// Left-aligned columns separated by two spaces, widths by UTF-8 code points.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& os) const;
  size_t size() const { return rows_.size(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Table cell for a value: "" for null (so missing and null read alike in a grid).
std::string cell(const Value& v);

// Records as a table: ID, the fields in first-seen order, VERSION, MODIFIED.
void printRecords(std::ostream& os, const std::vector<Record>& records);

// One record as "name: value" lines.
void printRecord(std::ostream& os, const Record& r);

// Tables of the sharing objects (columns in docs/CLI.md).
void printRoles(std::ostream& os, const std::vector<RoleInfo>& roles);
void printPolicies(std::ostream& os, const std::vector<PolicyInfo>& policies, int64_t now);
void printApiKeys(std::ostream& os, const std::vector<ApiKeyInfo>& keys);
void printAudit(std::ostream& os, const std::vector<AuditEntry>& entries);
// A quota, with the usage it holds (records, bytes) when given.
void printQuota(std::ostream& os, const Quota& q, const UsageInfo* usage);
void printUsage(std::ostream& os, const UsageInfo& u);
void printSettings(std::ostream& os, const std::vector<Setting>& settings);
// One row per policy: NAME SCOPE TENANTS USERS # EFFECT RESOURCE-TYPE API-NAME METHOD.
void printPermissionSets(std::ostream& os, const std::vector<PermissionSetInfo>& sets);
// The whole decision, one item per line (docs/CLI.md, `explain`).
void printExplanation(std::ostream& os, const Explanation& e);

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_RENDER_H_
