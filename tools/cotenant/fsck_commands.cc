// The store as a whole: `cotenant fsck` checks a store, offline on its data directory
// (opened read-only, here) or online through a running server (checkStore, system
// admins); `cotenant backup` has the server back it up while it serves.
//
// Exit codes of fsck: 0 clean, 1 problems found, 2 the check could not be made (the
// directory is in use, holds no store, the server refused or was unreachable).

#include <iostream>

#include "common/time.h"

#include "commands.h"
#include "storage/fsck.h"

namespace cotenant::cli {
namespace {

struct BackupOptions {
  std::string dir;
  uint32_t keep = 0;
};

struct Options {
  std::string dataDir;
  bool online = false;
  uint32_t maxProblems = 100;
};

constexpr int kExitProblems = 1;
constexpr int kExitCannotCheck = 2;

storage::CheckReport FromSdk(const StoreCheckReport& in) {
  storage::CheckReport r;
  for (const auto& [what, n] : in.checked) r.checked[what] = n;
  r.pending_deletions = in.pendingDeletions;
  r.problem_count = in.problemCount;
  for (const auto& p : in.problems) r.problems.push_back({p.kind, p.tenant, p.key, p.what});
  return r;
}

void Print(CliContext& s, const storage::CheckReport& r) {
  if (s.json) {
    std::cout << storage::CheckReportJson(r) << "\n";
  } else {
    std::cout << storage::CheckReportText(r);
  }
  s.commandExit = r.clean() ? kExitOk : kExitProblems;
}

void AddBackupCommand(CLI::App& app, CliContext& s) {
  auto& o = s.keep<BackupOptions>();
  auto* backup = s.leaf(&app, "backup",
                        "Have the server back up the whole store into a directory on its machine, "
                        "while it serves (system admins; incremental on a second run)",
                        [&s, &o] {
    auto r = s.client().backup(o.dir, o.keep);
    check(r);
    const BackupInfo& b = r.value();
    nlohmann::json j = {{"id", b.id},
                        {"dir", o.dir},
                        {"createdAt", FormatTimestamp(b.createdAt * 1000000)},
                        {"sizeBytes", b.sizeBytes},
                        {"files", b.files},
                        {"copiedBytes", b.copiedBytes},
                        {"kept", b.kept}};
    s.emit({{"backup", j}}, [&] {
      std::cout << "backup " << b.id << " of the store in " << o.dir << " ("
                << FormatTimestamp(b.createdAt * 1000000) << "): " << b.files << " files, "
                << b.sizeBytes << " bytes, " << b.copiedBytes << " bytes copied; " << b.kept
                << (b.kept == 1 ? " backup" : " backups") << " in the directory\n";
    });
  });
  backup->add_option("--to", o.dir,
                     "backup directory: an absolute path on the server's machine (created when "
                     "missing); restore with cotenantd --restore-from DIR --data NEWDIR")
      ->required();
  backup->add_option("--keep", o.keep, "afterwards, delete all but the newest N backups there (0 = keep all)")
      ->capture_default_str();
}

}  // namespace

void AddStoreCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  auto* fsck = s.leaf(&app, "fsck",
                      "Check a store: indexes, usage counters, keys of deleted tenants, references, "
                      "id sequences (exit 0 clean, 1 problems, 2 could not check)",
                      [&s, &o] {
    if (o.online == !o.dataDir.empty()) {
      throw UsageError("give a data directory (offline, with no server running on it) or --online");
    }
    if (o.maxProblems == 0 || o.maxProblems > 10000) {
      throw UsageError("--max-problems takes 1 to 10000");
    }
    if (o.online) {
      Outcome<StoreCheckReport> r(ErrorCode::Unavailable, "");
      try {
        r = s.client().checkStore(o.maxProblems);
      } catch (const Error& e) {
        std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.message() << "\n";
        s.commandExit = kExitCannotCheck;
        return;
      }
      if (!r.ok()) {
        std::cerr << "cotenant: " << errorCodeName(r.getCode()) << ": " << r.getMessage() << "\n";
        s.commandExit = kExitCannotCheck;
        return;
      }
      Print(s, FromSdk(r.value()));
      return;
    }
    storage::CheckOptions options;
    options.max_problems = o.maxProblems;
    storage::CheckReport report;
    // A PostgreSQL store is named by its connection URI (the server's --storage).
    const bool postgres = o.dataDir.rfind("postgresql://", 0) == 0 ||
                          o.dataDir.rfind("postgres://", 0) == 0;
    Status st = postgres ? storage::CheckPostgresStore(o.dataDir, options, &report)
                         : storage::CheckDataDirectory(o.dataDir, options, &report);
    if (!st.ok()) {
      std::cerr << "cotenant: cannot check " << (postgres ? "the PostgreSQL store" : o.dataDir)
                << ": " << st.message() << "\n";
      s.commandExit = kExitCannotCheck;
      return;
    }
    Print(s, report);
  });
  fsck->add_option("DATA_DIR", o.dataDir,
                   "the server's data directory (--data), or its PostgreSQL store (the "
                   "postgresql://... URI of --storage), checked offline: read-only, with no "
                   "server running on it");
  fsck->add_flag("--online", o.online,
                 "check through the server at --addr instead (system admins; it keeps serving)");
  fsck->add_option("--max-problems", o.maxProblems, "problems to list (all are counted)")
      ->capture_default_str();
  AddBackupCommand(app, s);
}

}  // namespace cotenant::cli
