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

// ---- permission sets (seeds/003) -------------------------------------------------------------

// One --allow / --deny of `permission-set create/update`, in command-line order.
struct PolicyArg {
  Effect effect;
  std::string spec;
};

// "RESOURCE-TYPE API-NAME METHOD": exactly three RE2 patterns separated by blanks (spaces or
// tabs; a pattern that must match a space writes it as \x20 or \s). A lone "*" stands for
// ".*". Anything else (fewer or more fields) is a UsageError naming the flag and the spec.
PermissionPolicy parsePolicySpec(Effect effect, const std::string& spec);
// Every --allow/--deny of one command, in order; at least one.
std::vector<PermissionPolicy> parsePolicySpecs(const std::vector<PolicyArg>& args);
// "deny records/Job.* .* GET|DELETE" (the effect, then what parsePolicySpec reads).
std::string formatPolicy(const PermissionPolicy& p);

// 1-64 of [A-Za-z0-9_.-]. Throws UsageError naming `name`.
void checkPermissionSetName(const std::string& name);

// A user named on the command line: a decimal id; NAME (looked up in a default tenant); or
// NAME@TENANT (TENANT a decimal tenant id; the last '@' counts, so names may contain '@').
struct UserRef {
  uint64_t id = 0;      // non-zero: given as an id
  std::string name;     // otherwise: the name to look up
  uint64_t tenant = 0;  // the tenant given after '@'; 0 = the default tenant
};
UserRef parseUserRef(const std::string& spec);

// ---- explain / simulate ----------------------------------------------------------------------

// The record calls of the schema (their requests name an object).
bool isRecordApi(const std::string& api);

// Reads a JSON document from `path`. Throws UsageError "PATH: why".
nlohmann::json readJsonFile(const std::string& path);
// A PERMSET (docs/CLI.md), as `permission-set list --json` prints one, alone or wrapped as
// {"permissionSet": PERMSET}. Throws UsageError naming the JSON path and the problem.
PermissionSetInfo permissionSetFromJson(const nlohmann::json& j);
// A POLICY (docs/CLI.md), as `policy list --json` prints one, alone or wrapped as
// {"policy": POLICY}; publisher, expired, createdAt and modifiedAt are ignored. Throws
// UsageError naming the JSON path and the problem.
PolicyInfo policyFromJson(const nlohmann::json& j);
// readJsonFile + the above; errors start with the path.
PermissionSetInfo loadPermissionSetFile(const std::string& path);
PolicyInfo loadPolicyFile(const std::string& path);

// One distinct call of an audit log: who called what in which tenant, how often.
struct AuditCall {
  uint64_t callerUser = 0;
  uint64_t callerTenant = 0;
  uint64_t targetTenant = 0;
  std::string api;
  std::string object;         // record calls only ("" for administrative calls)
  uint64_t calls = 0;         // entries folded into this one
  int64_t lastTime = 0;       // the newest of them
  std::string lastOutcome;    // its recorded outcome
};
// Folds entries into distinct calls (first-seen order). Entries without a caller user are
// left out and counted in *skipped.
std::vector<AuditCall> distinctCalls(const std::vector<AuditEntry>& entries, size_t* skipped);
// The explain request that decides `call` again (the tenant it touched, as its caller).
ExplainRequest explainRequestFor(const AuditCall& call);

enum class Change { NewlyDenied, NewlyAllowed, Unchanged };
Change classifyChange(bool allowedNow, bool allowedWithDraft);
const char* changeName(Change c);  // "newly-denied", "newly-allowed", "unchanged"

// "ALLOWED" or "DENIED (PermissionDenied)".
std::string verdict(const Explanation& e);

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
nlohmann::json toJson(const PermissionPolicy& p);
nlohmann::json toJson(const PermissionSetInfo& s);
nlohmann::json toJson(const Explanation& e);

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
// One row per policy: NAME SCOPE TENANTS USERS # EFFECT RESOURCE-TYPE API-NAME METHOD.
void printPermissionSets(std::ostream& os, const std::vector<PermissionSetInfo>& sets);
// The whole decision, one item per line (docs/CLI.md, `explain`).
void printExplanation(std::ostream& os, const Explanation& e);

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_UTIL_H_
