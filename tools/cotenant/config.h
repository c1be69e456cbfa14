// Declarative access configuration: `cotenant export` and `cotenant apply` (docs/CLI.md,
// "Declarative configuration").
//
// The file names everything by name, never by server id: tenants by name, users by name
// within their tenant (NAME@TENANT elsewhere), objects, roles, policies and permission sets
// by name. The same in-memory model (Config) is read from a server (readServer), read from a
// YAML file (parseConfig, which validates the whole file and names FILE:LINE:COL in every
// error), written as YAML (emitConfig, byte-stable: everything sorted by name), and compared
// (planChanges) to get the ordered list of changes that makes a server match a file.

#ifndef COTENANT_TOOLS_COTENANT_CONFIG_H_
#define COTENANT_TOOLS_COTENANT_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cotenant/client.h"

namespace cotenant::cli::config {

// Where an item was read from (1-based); 0 when it came from a server.
struct Mark {
  int line = 0;
  int col = 0;
};

struct CField {
  std::string name;
  std::string type;  // text | int | float | bool | timestamp
  bool required = false;
  bool indexed = false;
  bool unique = false;  // implies indexed
  bool operator==(const CField& o) const {
    return name == o.name && type == o.type && required == o.required && indexed == o.indexed &&
           unique == o.unique;
  }
};

struct CObject {
  std::string name;
  std::vector<CField> fields;  // in declaration order (as the server keeps them)
  Mark mark;
};

struct CUser {
  std::string name;
  std::string level = "user";  // user | tenant-admin | system-admin
  Mark mark;
};

struct CRole {
  std::string name;
  bool crossTenant = false;
  std::map<std::string, std::string> rights;  // object or "*" -> formatRights() text
  std::set<std::string> members;              // "user" (same tenant) or "user@tenant"
  Mark mark;
  std::map<std::string, Mark> memberMarks;
};

struct CScope {
  std::string object;
  std::string filter;
  std::vector<std::string> fields;  // sorted
  bool operator==(const CScope& o) const {
    return object == o.object && filter == o.filter && fields == o.fields;
  }
};

struct CPolicy {
  std::string name;
  std::string designated;  // tenant name; "" for a global policy
  bool global = false;
  std::string user;        // "" when the server's policy names a user that no longer exists
  uint64_t missingUserId = 0;  // server only: that user's id
  std::vector<CScope> scope;   // sorted by object
  int64_t expiresAt = 0;       // microseconds; 0 = never
  Mark mark;
};

struct CTenant {
  std::string name;
  std::string kind = "tenant";  // tenant | msp | isv | system
  std::string provider;         // tenant name; "" = none
  Quota quota;                  // none set = no limits
  std::map<std::string, CUser> users;
  std::map<std::string, CObject> objects;
  std::map<std::string, CRole> roles;
  std::map<std::string, CPolicy> policies;
  Mark mark;
};

struct CRule {
  std::string effect = "allow";
  std::string resourceTypeRegex;
  std::string apiNameRegex;
  std::string methodRegex;
  bool operator==(const CRule& o) const {
    return effect == o.effect && resourceTypeRegex == o.resourceTypeRegex &&
           apiNameRegex == o.apiNameRegex && methodRegex == o.methodRegex;
  }
};

struct CPermissionSet {
  std::string name;
  std::string scope = "user";  // user | system
  bool allTenants = false;
  std::set<std::string> tenants;  // tenant names
  std::set<std::string> users;    // "user@tenant"
  std::vector<CRule> policies;    // in order (numbered from 1)
  Mark mark;
  std::vector<Mark> policyMarks;
};

struct Config {
  std::map<std::string, std::string> settings;
  std::map<std::string, CTenant> tenants;
  std::map<std::string, CPermissionSet> permissionSets;
};

// A bad file: every problem found, each "FILE:LINE:COL: problem".
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems)
      : std::runtime_error(problems.empty() ? "bad file" : problems.front()),
        problems_(std::move(problems)) {}
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Parses and validates YAML `text` read from `file` (the name used in messages). Throws
// ConfigError listing every problem (syntax, unknown keys, wrong types, duplicates, unknown
// references, bad regexes, bad times, rules the server would reject).
Config parseConfig(const std::string& text, const std::string& file);

// The YAML document for `cfg` (deterministic: sorted by name; a header comment).
std::string emitConfig(const Config& cfg);

// A server's state with the ids needed to act on it.
struct ServerState {
  Config cfg;
  std::map<std::string, uint64_t> tenantIds;                           // name -> id
  std::map<std::pair<std::string, std::string>, uint64_t> userIds;     // (tenant, user) -> id
  std::string systemTenant;  // the name of the system tenant
  std::string self;          // "user@tenant" of the caller
};

// Reads everything export writes. Needs a system admin. Throws Failed-like std::runtime_error
// subclasses: ServerError carries the code.
class ServerError : public std::runtime_error {
 public:
  ServerError(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};
ServerState readServer(Client& client);

// One change of a plan.
struct Change {
  char sign = '+';     // '+' create, '~' update, '-' delete
  std::string text;    // "create role ABC/support", "update policy ABC/p (user, scope)"
  // Performs the change; the ids of created tenants and users are added to `ids`.
  std::function<void(Client&, ServerState& ids, std::ostream& out)> run;
};

struct Plan {
  std::vector<Change> changes;        // in execution order
  std::vector<std::string> conflicts;  // what apply cannot do; any => nothing is applied
  std::vector<std::string> notes;      // left alone on purpose (objects not in the file, ...)
};

struct PlanOptions {
  bool allowTenantDeletion = false;
};

// The changes that make `current` match `desired` (see docs/CLI.md for the order).
Plan planChanges(const Config& desired, const ServerState& current, const PlanOptions& opts);

// Runs every change in order, printing each line before running it; stops at the first
// failure (ServerError with the server's message).
void runPlan(Client& client, Plan& plan, ServerState& state, std::ostream& out);

}  // namespace cotenant::cli::config

#endif  // COTENANT_TOOLS_COTENANT_CONFIG_H_
