// Online backup end to end: `cotenant backup` against a real cotenantd while a writer
// keeps adding records, then `cotenantd --restore-from` into a new data directory, and a
// server started on it. The restored store passes the consistency check and holds every
// write acknowledged before the backup began, with the content it was written with.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

namespace fs = std::filesystem;

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Runs the CLI as the system admin of `server`; its exit code, stdout+stderr in *out.
int Cli(const Cotenantd& server, const std::string& args, std::string* out) {
  return RunCommand(Quote(BinaryPath("cotenant")) + " --addr " + server.address() + " --tenant 1 --key " +
                        Quote(server.admin_key()) + " " + args + " 2>&1",
                    out);
}

// Restores with the server binary; its exit code, its log in *out.
int Restore(const std::string& backups, const std::string& data, const std::string& extra,
            std::string* out) {
  return RunCommand(Quote(BinaryPath("cotenantd")) + " --restore-from " + Quote(backups) +
                        " --data " + Quote(data) + " " + extra + " 2>&1",
                    out);
}

TEST(BackupE2eTest, BackupWhileWritingRestoresEveryAcknowledgedWrite) {
  COTENANT_SKIP_ON_POSTGRESQL("online backups copy the embedded engine's files");
  // Small memtables, so the store has table files and a second backup shares them.
  Cotenantd server({"--memtable-mb", "1"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "acme");
  ASSERT_TRUE(t.client);

  // The writer: batches of 50 records of ~1 KiB, each named by its sequence number.
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> acked;  // id, name, in order acknowledged
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    auto c = Client::connect(server.address(), t.id, t.key);
    // Filler that does not compress, so the store really holds ~1 KiB a record.
    std::mt19937_64 rng(42);
    auto filler = [&rng] {
      std::string f(1000, ' ');
      for (char& c : f) c = static_cast<char>('a' + rng() % 26);
      return f;
    };
    for (int batch = 0; !stop.load() && batch < 400; ++batch) {
      std::vector<Parameters> rows;
      std::vector<std::string> names;
      for (int i = 0; i < 50; ++i) {
        names.push_back("row-" + std::to_string(batch * 50 + i));
        rows.push_back(Parameters().add("first_name", names.back()).add("last_name", filler()).add("age", i));
      }
      Result r = c->addRecords("Customers", rows);
      if (!r.ok()) {
        ++failures;
        continue;
      }
      std::lock_guard<std::mutex> l(mu);
      for (size_t i = 0; i < names.size(); ++i) acked.emplace_back(r.ids()[i], names[i]);
    }
  });
  auto ackedCount = [&] {
    std::lock_guard<std::mutex> l(mu);
    return acked.size();
  };
  while (ackedCount() < 3000) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  TempDir dir;
  const std::string backups = dir.path() + "/backups";
  size_t before_first = ackedCount();
  std::string out;
  ASSERT_EQ(Cli(server, "--json backup --to " + Quote(backups), &out), 0) << out;
  auto first = nlohmann::json::parse(out)["backup"];
  EXPECT_EQ(first["id"], 1);
  EXPECT_GT(first["sizeBytes"].get<uint64_t>(), 3000u * 600u);
  EXPECT_EQ(first["kept"], 1);

  while (ackedCount() < before_first + 2000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  size_t before_second = ackedCount();
  ASSERT_EQ(Cli(server, "--json backup --to " + Quote(backups), &out), 0) << out;
  auto second = nlohmann::json::parse(out)["backup"];
  EXPECT_EQ(second["id"], 2);
  EXPECT_EQ(second["kept"], 2);
  // Incremental: the tables of the first backup are shared, not copied again.
  EXPECT_LT(second["copiedBytes"].get<uint64_t>(), second["sizeBytes"].get<uint64_t>());
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);

  // Refusals: a relative path, and a plain user.
  EXPECT_EQ(Cli(server, "backup --to relative/dir", &out), 5) << out;  // InvalidArgument
  EXPECT_NE(out.find("absolute path"), std::string::npos) << out;
  std::string plain;
  {
    auto u = admin->createUser(t.id, "plain", AdminLevel::User);
    ASSERT_TRUE(u.ok()) << u.getMessage();
    int rc = RunCommand(Quote(BinaryPath("cotenant")) + " --addr " +
                            server.address() + " --tenant " + std::to_string(t.id) + " --key " +
                            Quote(u.value().apiKey) + " backup --to " + Quote(dir.path() + "/mine") + " 2>&1",
                        &plain);
    EXPECT_EQ(rc, 3) << plain;
    EXPECT_FALSE(fs::exists(dir.path() + "/mine"));
  }

  // Restore each backup into a new directory; the restored store is checked on the way.
  for (auto [id, acked_before] : std::vector<std::pair<int, size_t>>{{1, before_first}, {2, before_second}}) {
    const std::string data = dir.path() + "/restored-" + std::to_string(id);
    ASSERT_EQ(Restore(backups, data, "--backup-id " + std::to_string(id), &out), 0) << out;
    EXPECT_NE(out.find("restored backup " + std::to_string(id)), std::string::npos) << out;
    EXPECT_NE(out.find("consistent"), std::string::npos) << out;
    // The restored store keeps its users and keys: the original admin key logs in.
    std::ofstream(data + "/admin.key") << server.admin_key() << "\n";
    Cotenantd copy({"--data", data});
    ASSERT_TRUE(copy.ok()) << copy.log();
    auto copy_admin = AdminClient(copy);
    auto report = copy_admin->checkStore(100);
    ASSERT_TRUE(report.ok()) << report.getMessage();
    EXPECT_TRUE(report.value().clean) << id;

    auto reader = Client::connect(copy.address(), t.id, t.key);
    std::vector<std::pair<uint64_t, std::string>> want;
    {
      std::lock_guard<std::mutex> l(mu);
      want.assign(acked.begin(), acked.begin() + static_cast<std::ptrdiff_t>(acked_before));
    }
    for (size_t i = 0; i < want.size(); i += 500) {
      std::vector<RecordId> ids;
      for (size_t j = i; j < std::min(want.size(), i + 500); ++j) ids.emplace_back(want[j].first);
      auto got = reader->getRecords("Customers", "first_name", ids);
      ASSERT_TRUE(got.ok()) << got.getMessage();
      for (size_t j = 0; j < ids.size(); ++j) {
        const Result& r = got.value()[j];
        ASSERT_TRUE(r.ok()) << "backup " << id << ": record " << want[i + j].first
                            << " acknowledged before the backup is missing: " << r.getMessage();
        EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), want[i + j].second);
      }
    }
  }

  // Never over an existing store, and a missing backup says which exist.
  EXPECT_EQ(Restore(backups, dir.path() + "/restored-1", "", &out), 1) << out;
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;
  EXPECT_EQ(Restore(backups, dir.path() + "/restored-9", "--backup-id 9", &out), 1) << out;
  EXPECT_NE(out.find("no backup 9"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.path() + "/restored-9"));
}

}  // namespace
}  // namespace cotenant::testing
