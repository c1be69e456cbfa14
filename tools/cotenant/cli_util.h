// Pieces of the `cotenant` CLI that do not parse argv: argument-spec parsing, exit codes,
// and the text and JSON renderings of SDK types. See docs/CLI.md for the contract.

#ifndef COTENANT_TOOLS_COTENANT_CLI_UTIL_H_
#define COTENANT_TOOLS_COTENANT_CLI_UTIL_H_

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cotenant/client.h"

namespace cotenant::cli {

// Exit codes (docs/CLI.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;     // server, connection or internal error
constexpr int kExitUsage = 2;     // bad command line
constexpr int kExitDenied = 3;    // PermissionDenied, Unauthenticated
constexpr int kExitNotFound = 4;  // NotFound
constexpr int kExitRejected = 5;  // InvalidArgument, Conflict, ResourceExhausted

int exitCodeFor(ErrorCode code);

// A bad command line; the message names the bad argument.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "name:type[:indexed][:required]" (flags in any order). Throws UsageError naming `spec`.
FieldDef parseFieldSpec(const std::string& spec);

// "name=value" -> {name, value}; the value may contain '='. Throws UsageError.
std::pair<std::string, std::string> parseAssignment(const std::string& spec);

// "field" or "field:asc" / "field:desc" -> {field, order}. Throws UsageError.
std::pair<std::string, std::string> parseSortSpec(const std::string& spec);

// Strict decimal id for `what` ("tenant id", "record id"). Throws UsageError.
uint64_t parseId(const std::string& text, const std::string& what);

// ---- sharing: rights, policy scopes, users ---------------------------------------------------

// "OBJECT:RIGHTS" as in `role create --right`: OBJECT an object name or "*" (every object the
// role does not name), RIGHTS as cotenant::parseRights ("read,add", "all", "none").
// Throws UsageError naming `spec`.
ObjectRights parseRightSpec(const std::string& spec);
// Every --right of one command; an object named twice is a UsageError.
std::vector<ObjectRights> parseRightSpecs(const std::vector<std::string>& specs);
// "Customers:read,add *:read" (the inverse of parseRightSpecs, space-separated); "" for none.
std::string formatRightSpecs(const std::vector<ObjectRights>& rights);

// One scope option of `policy create/update`, in command-line order.
struct ScopeArg {
  enum class Kind { Object, Filter, Fields };
  Kind kind;
  std::string value;
};

// Groups scope options by object: each --filter and --fields applies to the nearest
// --object before it. A --filter/--fields before any --object, a second --filter or
// --fields for one object, an empty --object or --filter, or an object named twice is a
// UsageError. --fields is "a,b" (blanks ignored; at least one name, no "*").
std::vector<ObjectScope> groupScope(const std::vector<ScopeArg>& args);

// "Customers (filter; fields first_name,age), Orders", or "all objects" for an empty scope.
std::string scopeSummary(const std::vector<ObjectScope>& scope);

// The user of `users` (one tenant's, from listUsers) named `name`. Throws UsageError when
// none or several match, naming `tenantLabel` ("tenant 12", "your tenant").
uint64_t matchUser(const std::vector<UserInfo>& users, const std::string& name,
                   const std::string& tenantLabel);

// ---- times ---------------------------------------------------------------------------------

// Microseconds since the epoch, now.
int64_t nowMicros();

// "90s", "15m", "1h", "1d", "2w", or a sequence such as "1h30m" -> microseconds.
// nullopt when malformed, zero, or too large.
std::optional<int64_t> parseDuration(const std::string& text);

// ISO-8601: "2024-05-01", "2024-05-01T12:00", "2024-05-01T12:00:00", with ".ffffff" and a
// zone "Z" or "+02:00" / "-0500" (no zone = UTC); a space may replace the "T".
// nullopt when malformed or out of range.
std::optional<int64_t> parseIsoTime(const std::string& text);

// A point in the past for `option` (--since, --until): an ISO time, or a duration meaning
// that long before `now`. Throws UsageError.
int64_t parsePastTime(const std::string& text, int64_t now, const std::string& option);

// --expires: "never" -> 0, an ISO time, or a duration meaning that long after `now`
// (rounded down to whole seconds).
// Throws UsageError.
int64_t parseExpiry(const std::string& text, int64_t now);

// --outcome: "OK" or an error code name ("PermissionDenied", ...). Throws UsageError.
std::string checkOutcome(const std::string& text);

// Continuation tokens are bytes; the CLI shows them as lowercase hex.
std::string toHex(const std::string& bytes);
std::optional<std::string> fromHex(const std::string& hex);

// ---- JSON renderings (stable; docs/CLI.md) -------------------------------------------------
nlohmann::json toJson(const Value& v);
nlohmann::json toJson(const Record& r);
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
void printUsage(std::ostream& os, const UsageInfo& u);
void printSettings(std::ostream& os, const std::vector<Setting>& settings);

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_UTIL_H_
