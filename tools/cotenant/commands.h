// What the command files of the `cotenant` CLI share: the context every command runs in,
// the helpers several nouns use, and one Add*Commands entry point per noun (main.cc calls
// them in the order `cotenant --help` lists the commands).

#ifndef COTENANT_TOOLS_COTENANT_COMMANDS_H_
#define COTENANT_TOOLS_COTENANT_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_parse.h"
#include "cotenant/client.h"

namespace cotenant::cli {

// Thrown by commands to end with a server-side outcome.
struct Failed {
  ErrorCode code;
  std::string message;
};

template <typename R>
void check(const R& r) {
  if (!r.ok()) throw Failed{r.getCode(), r.getMessage()};
}

// What every command shares: connection settings, output mode, and the registry of leaf
// commands. The client is made on first use, so usage errors never need a server.
class CliContext {
 public:
  std::string addr = "127.0.0.1:7770";
  std::string tenant;
  std::string key;
  std::string keyFile;
  std::string tlsCa;    // TLS: CA file the server's certificate must chain to
  std::string tlsCert;  // mutual TLS: this client's certificate and key files
  std::string tlsKey;
  std::string tlsServerName;  // name the server's certificate must carry; "" = --addr host
  bool json = false;
  int commandExit = kExitOk;  // a command that succeeds with another documented code (lint)

  Client& client();

  // Prints `j` in --json mode, otherwise runs `human`.
  void emit(const nlohmann::json& j, const std::function<void()>& human) const;

  // Adds a leaf command; `fn` runs after parsing if CLI11 selected it.
  CLI::App* leaf(CLI::App* parent, const std::string& name, const std::string& help,
                 std::function<void()> fn);

  // Runs the leaf command CLI11 selected; false when none was.
  bool runSelected();

  // Option storage for one noun's commands. CLI11 writes into it while parsing and the
  // commands read it afterwards, so it must live as long as the context. Only one command
  // runs, so the commands of a noun share it.
  template <typename T>
  T& keep() {
    auto p = std::make_shared<T>();
    kept_.push_back(p);
    return *p;
  }

 private:
  std::string resolveKey() const;

  std::unique_ptr<Client> client_;
  std::vector<std::pair<CLI::App*, std::function<void()>>> actions_;
  std::vector<std::shared_ptr<void>> kept_;
};

// The options that say how to reach and log in to the server (--addr, --tenant, --key,
// --key-file, the TLS files; their COTENANT_* environment variables), shared by every
// command of `cotenant` and by `cotenant-import`.
void AddConnectionOptions(CLI::App& app, CliContext& s);

// ---- helpers of more than one noun ------------------------------------------------------------

uint64_t optionalTenant(const std::string& text);

// The tenant an admin command acts on, as a concrete id: --in-tenant, else the caller's own.
uint64_t effectiveTenant(CliContext& s, const std::string& inTenant);

// A user given as ID or NAME. A decimal number is an id (no round trip); anything else is a
// name, looked up with one listUsers of `tenantId` (0 = the caller's own tenant).
uint64_t resolveUser(CliContext& s, const std::string& spec, uint64_t tenantId);

// A --user given as ID, NAME or NAME@TENANT, as a user id: ids as they are, NAME in
// `userTenant` (--user-tenant; default own), NAME@TENANT in TENANT.
uint64_t userIdOf(CliContext& s, const std::string& spec, const std::string& userTenant);

void printUsers(const std::vector<UserInfo>& users);

// --context TENANT of the record commands and export-records: that tenant's context, resolved
// on the server (one round trip); nullopt for "". Throws UsageError for an id that is not a
// decimal number, Failed when no data-sharing policy admits the caller (record_commands.cc).
std::optional<TenantContext> tenantContextFor(CliContext& s, const std::string& tenant);

// What selects and orders the records of `record search` and `export-records`: --where,
// --param (repeatable), --sort, --sort2.
struct SearchSpec {
  std::string where, sort, sort2;
  std::vector<std::string> params;
};
void addSearchSpecOptions(CLI::App* sub, SearchSpec& spec);
// Sets the criteria, parameters and sort keys of `q`. Throws UsageError for a bad --sort.
void applySearchSpec(const SearchSpec& spec, SearchQuery& q);

// ---- the commands, one function per noun -------------------------------------------------------

void AddWhoamiCommand(CLI::App& app, CliContext& s);
void AddTenantCommands(CLI::App& app, CliContext& s);
// tenant dump, tenant restore (tenant_dump_commands.cc), under AddTenantCommands' `tenant`.
void AddTenantDumpCommands(CLI::App* tenant, CliContext& s);
void AddUserCommands(CLI::App& app, CliContext& s);
void AddKeyCommands(CLI::App& app, CliContext& s);
void AddObjectCommands(CLI::App& app, CliContext& s);
void AddRoleCommands(CLI::App& app, CliContext& s);
void AddPolicyCommands(CLI::App& app, CliContext& s);
void AddSettingCommands(CLI::App& app, CliContext& s);
void AddAuditUsageCommands(CLI::App& app, CliContext& s);
void AddPermissionSetCommands(CLI::App& app, CliContext& s);
void AddExplainCommands(CLI::App& app, CliContext& s);  // explain, simulate
void AddRecordCommands(CLI::App& app, CliContext& s);
void AddExportRecordsCommand(CLI::App& app, CliContext& s);  // export-records
void AddConfigCommands(CLI::App& app, CliContext& s);  // export, apply, lint
void AddStoreCommands(CLI::App& app, CliContext& s);  // fsck, backup

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_COMMANDS_H_
