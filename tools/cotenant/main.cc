// cotenant: the admin and data CLI for a Cotenant server (docs/CLI.md).
//
// Parses the command line with CLI11, connects with the SDK (cotenant::Client), and prints
// aligned tables, or with --json one JSON document on stdout. Errors go to stderr as
// "cotenant: <Code>: <message>" and select the exit code (cli_parse.h). The commands
// themselves are in the *_commands.cc files, one per noun.

#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "completion.h"
#include "config.h"
#include "cotenant/client.h"

namespace cotenant::cli {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"cotenant: administer a Cotenant server and work with its records.\n"
               "See docs/CLI.md. Exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 not found, "
               "5 rejected, 6 lint findings."};
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);

  CliContext s;
  AddConnectionOptions(app, s);
  app.add_flag("--json", s.json, "print one JSON document on stdout (shapes in docs/CLI.md)");

  AddWhoamiCommand(app, s);
  AddTenantCommands(app, s);
  AddUserCommands(app, s);
  AddKeyCommands(app, s);
  AddObjectCommands(app, s);
  AddRoleCommands(app, s);
  AddPolicyCommands(app, s);
  AddSettingCommands(app, s);
  AddAuditUsageCommands(app, s);
  AddPermissionSetCommands(app, s);
  AddExplainCommands(app, s);
  AddRecordCommands(app, s);
  AddExportRecordsCommand(app, s);
  AddConfigCommands(app, s);
  AddStoreCommands(app, s);
  AddCompletionCommand(app, s);  // hidden: `completion bash` prints the script of this app

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the parse error
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (s.runSelected()) return s.commandExit;
    std::cerr << "cotenant: usage: no command given (see --help)\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "cotenant: usage: " << e.what() << "\n";
    return kExitUsage;
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) std::cerr << "cotenant: InvalidArgument: " << p << "\n";
    std::cerr << "cotenant: InvalidArgument: " << e.problems().size()
              << (e.problems().size() == 1 ? " problem" : " problems") << " in the file; nothing was applied\n";
    return kExitRejected;
  } catch (const config::ServerError& e) {
    std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.what() << "\n";
    return exitCodeFor(e.code());
  } catch (const Failed& f) {
    std::cerr << "cotenant: " << errorCodeName(f.code) << ": " << f.message << "\n";
    return exitCodeFor(f.code);
  } catch (const Error& e) {  // connect
    std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.message() << "\n";
    return exitCodeFor(e.code());
  } catch (const std::exception& e) {
    std::cerr << "cotenant: Internal: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace
}  // namespace cotenant::cli

int main(int argc, char** argv) { return cotenant::cli::run(argc, argv); }
