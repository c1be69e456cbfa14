// `cotenant export`, `apply` and `lint`: the declarative access configuration (config.h) as
// read from, written to and checked against a server.

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_parse.h"
#include "commands.h"
#include "config.h"
#include "lint.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string file, outFile;
  bool dryRun = false, allowTenantDeletion = false;
};

std::string readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void AddConfigCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  auto* exportCmd = s.leaf(&app, "export", "Write every tenant's users, objects, roles, policies, permission sets and settings as YAML (system admins)", [&s, &o] {
    std::string text = config::emitConfig(config::readServer(s.client()).cfg);
    if (o.outFile.empty() || o.outFile == "-") {
      std::cout << text;
    } else {
      std::ofstream out(o.outFile, std::ios::binary | std::ios::trunc);
      if (!out || !(out << text)) throw Failed{ErrorCode::Internal, "cannot write '" + o.outFile + "'"};
    }
  });
  exportCmd->add_option("-o,--output", o.outFile, "write to this file instead of stdout");

  auto* applyCmd = s.leaf(&app, "apply", "Make the server match a configuration file: shows the diff, then applies it (system admins)", [&s, &o] {
    std::string text = readTextFile(o.file);
    config::Config desired = config::parseConfig(text, o.file);  // the whole file, before any call
    config::ServerState state = config::readServer(s.client());
    config::PlanOptions opts;
    opts.allowTenantDeletion = o.allowTenantDeletion;
    config::Plan plan = config::planChanges(desired, state, opts);
    for (const auto& n : plan.notes) std::cout << "note: " << n << "\n";
    if (!plan.conflicts.empty()) {
      for (const auto& c : plan.conflicts) std::cerr << "cotenant: Conflict: " << c << "\n";
      throw Failed{ErrorCode::Conflict, std::to_string(plan.conflicts.size()) +
                                            " conflict(s) between the file and the server; nothing was applied"};
    }
    if (plan.changes.empty()) {
      std::cout << "No changes: the server matches " << o.file << ".\n";
      return;
    }
    for (const auto& c : plan.changes) std::cout << c.sign << " " << c.text << "\n";
    if (o.dryRun) {
      std::cout << plan.changes.size() << (plan.changes.size() == 1 ? " change" : " changes")
                << " (dry run: nothing applied)\n";
      return;
    }
    std::cout << "Applying " << plan.changes.size() << (plan.changes.size() == 1 ? " change" : " changes") << "...\n";
    config::runPlan(s.client(), plan, state, std::cout);
    std::cout << "Applied " << plan.changes.size() << (plan.changes.size() == 1 ? " change.\n" : " changes.\n");
  });
  applyCmd->add_option("-f,--file", o.file, "the configuration file (YAML, as written by export)")->required();
  applyCmd->add_flag("--dry-run", o.dryRun, "show the diff and change nothing");
  applyCmd->add_flag("--allow-tenant-deletion", o.allowTenantDeletion,
                     "delete tenants that are not in the file, with all their data");

  auto* lintCmd = s.leaf(&app, "lint", "Report permission sets and policies that are probably mistakes (exit 6 when there are findings)", [&s, &o] {
    config::Config cfg = o.file.empty() ? config::readServer(s.client()).cfg
                                        : config::parseConfig(readTextFile(o.file), o.file);
    auto findings = lint::lintConfig(cfg, lint::knownUniverse(cfg), nowMicros());
    s.emit(lint::toJson(findings), [&] { lint::printFindings(std::cout, findings); });
    if (!findings.empty()) s.commandExit = lint::kExitFindings;
  });
  lintCmd->add_option("-f,--file", o.file, "lint a configuration file instead of the server");
}

}  // namespace cotenant::cli
