// What `cotenant explain` and `simulate` need beyond the SDK: draft permission sets and
// policies read from JSON files, and the distinct calls of an audit log to replay.

#ifndef COTENANT_TOOLS_COTENANT_CLI_EXPLAIN_H_
#define COTENANT_TOOLS_COTENANT_CLI_EXPLAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_parse.h"
#include "cotenant/client.h"

namespace cotenant::cli {

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

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_EXPLAIN_H_
