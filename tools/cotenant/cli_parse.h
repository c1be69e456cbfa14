// What the `cotenant` CLI reads from its command line beyond what CLI11 parses: exit codes,
// usage errors, argument specs (fields, rights, scopes, permission-set policies, users), times
// and continuation tokens. See docs/CLI.md for the contract.

#ifndef COTENANT_TOOLS_COTENANT_CLI_PARSE_H_
#define COTENANT_TOOLS_COTENANT_CLI_PARSE_H_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// ---- permission sets: API-level allow/deny rules --------------------------------------------

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

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_PARSE_H_
