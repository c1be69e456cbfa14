// End-to-end checks of how cotenantd holds up against hostile or unlucky input: criteria
// texts too large to parse, ids at the top of the unsigned range, internal errors that must
// not show server paths, and a data directory other local users must not reach.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr size_t kCriteriaLimit = 16 << 10;  // the documented default

// Resident set size of a process in KiB (VmRSS of /proc/<pid>/status); -1 when unknown.
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A well-formed criteria text of at least `bytes` bytes: parsing it whole would cost
// hundreds of bytes per byte.
std::string LongFilter(size_t bytes) {
  std::string s = "age = 1";
  while (s.size() < bytes) s += " and age = 1";
  return s;
}

PolicyInfo Draft(const TenantHandle& publisher, const TenantHandle& designated,
                 const std::string& filter) {
  PolicyInfo p;
  p.name = "share";
  p.designated = designated.id;
  p.userId = publisher.user;
  p.scope = {{"Customers", filter, {}}};
  return p;
}

TEST(CriteriaLimitsTest, OversizedFiltersAreRefusedBeforeTheyAreParsed) {
  Cotenantd server;
  ASSERT_TRUE(server.ok());
  auto admin = AdminClient(server);
  TenantHandle pub = MakeTenant(server, *admin, "publisher");
  TenantHandle other = MakeTenant(server, *admin, "designated");

  const std::string huge = LongFilter(8u << 20);
  const std::string expected = "row filter of Customers is " + std::to_string(huge.size()) +
                               " bytes; the limit is " + std::to_string(kCriteriaLimit) +
                               " bytes";
  const long before = RssKib(server.pid());
  ASSERT_GT(before, 0);

  // explain with a draft policy of the caller's own tenant (simulate).
  ExplainRequest req;
  req.api = "getRecord";
  req.object = "Customers";
  req.draftPolicy = Draft(pub, other, huge);
  auto explained = pub.client->explain(req);
  EXPECT_EQ(explained.getCode(), ErrorCode::InvalidArgument) << explained.getMessage();
  EXPECT_NE(explained.getMessage().find(expected), std::string::npos) << explained.getMessage();

  auto created = pub.client->createPolicy(0, Draft(pub, other, huge));
  EXPECT_EQ(created.getCode(), ErrorCode::InvalidArgument) << created.getMessage();
  EXPECT_NE(created.getMessage().find(expected), std::string::npos) << created.getMessage();

  // At the limit a filter is accepted; one byte more is refused, on update as on create.
  std::string at_limit = "age >= 0";
  at_limit.resize(kCriteriaLimit, ' ');
  auto ok = pub.client->createPolicy(0, Draft(pub, other, at_limit));
  ASSERT_TRUE(ok.ok()) << ok.getMessage();
  auto updated = pub.client->updatePolicy(0, Draft(pub, other, at_limit + " "));
  EXPECT_EQ(updated.getCode(), ErrorCode::InvalidArgument) << updated.getMessage();
  EXPECT_NE(updated.getMessage().find("row filter of Customers is 16385 bytes; the limit is "
                                      "16384 bytes"),
            std::string::npos)
      << updated.getMessage();
  updated = pub.client->updatePolicy(0, Draft(pub, other, huge));
  EXPECT_EQ(updated.getCode(), ErrorCode::InvalidArgument) << updated.getMessage();

  Result searched = pub.client->searchRecords("Customers", "*", huge);
  EXPECT_EQ(searched.getCode(), ErrorCode::InvalidArgument) << searched.getMessage();
  EXPECT_NE(searched.getMessage().find("criteria is " + std::to_string(huge.size()) +
                                       " bytes; the limit is 16384 bytes"),
            std::string::npos)
      << searched.getMessage();

  const long after = RssKib(server.pid());
  std::printf("cotenantd RSS before %ld KiB, after %ld KiB (+%ld KiB)\n", before, after,
              after - before);
  EXPECT_LT(after - before, 64L << 10) << "the server's memory grew by " << (after - before)
                                       << " KiB";
  // The server still serves.
  EXPECT_TRUE(pub.client->addRecord("Customers", Parameters().add("first_name", "Ann")).ok());
}

// Record ids are unsigned 64-bit; the largest one can be named in criteria.
TEST(CriteriaIdsTest, TheLargestIdIsANumberNotAnError) {
  Cotenantd server;
  ASSERT_TRUE(server.ok());
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "ids");
  ASSERT_TRUE(t.client->addRecord("Customers", Parameters().add("first_name", "Ann")).ok());

  Result none = t.client->searchRecords("Customers", "*", "id = 18446744073709551615");
  ASSERT_TRUE(none.ok()) << none.getMessage();
  EXPECT_TRUE(none.getRecords().empty());
  EXPECT_TRUE(none.complete());
  Result upper = t.client->searchRecords("Customers", "*", "id > 9223372036854775807");
  ASSERT_TRUE(upper.ok()) << upper.getMessage();
  EXPECT_TRUE(upper.getRecords().empty());
  Result all = t.client->searchRecords("Customers", "*", "id < 18446744073709551615");
  ASSERT_TRUE(all.ok()) << all.getMessage();
  EXPECT_EQ(all.getRecords().size(), 1u);

  Result negative = t.client->searchRecords("Customers", "*", "id = -1");
  EXPECT_EQ(negative.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(negative.getMessage().find("field 'id' expects an integer from 0 to "
                                       "18446744073709551615"),
            std::string::npos)
      << negative.getMessage();
  Result too_big = t.client->searchRecords("Customers", "*", "age = 18446744073709551615");
  EXPECT_EQ(too_big.getCode(), ErrorCode::InvalidArgument);
}

// A restore may place a record at the top of the signed range, 2^63 - 1; the sequence then
// goes on above it. Ids from 2^63 are ordinary ids end to end: read, named in criteria,
// ordered as unsigned numbers, updated and deleted.
TEST(CriteriaIdsTest, IdsFromTwoToThe63AreServedLikeAnyOther) {
  Cotenantd server;
  ASSERT_TRUE(server.ok());
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "high-ids");
  ASSERT_TRUE(t.client->addRecord("Customers", Parameters().add("first_name", "Low")).ok());
  constexpr uint64_t kTop = (uint64_t{1} << 63) - 1;
  RestoredRecord r;
  r.createdBy = r.modifiedBy = t.user;
  r.createdAt = r.modifiedAt = 1700000000000000;
  r.fields.add("first_name", "Top");
  r.id = kTop + 1;
  auto refused = admin->restoreTenantRecords(t.id, "Customers", {r});
  EXPECT_EQ(refused.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(refused.getMessage().find("the id must be from 1 to 2^63-1"), std::string::npos)
      << refused.getMessage();
  r.id = kTop;
  auto restored = admin->restoreTenantRecords(t.id, "Customers", {r});
  ASSERT_TRUE(restored.ok()) << restored.getMessage();
  Result added = t.client->addRecord("Customers", Parameters().add("first_name", "High"));
  ASSERT_TRUE(added.ok()) << added.getMessage();
  const uint64_t high = added.getId();
  ASSERT_EQ(high, kTop + 1);

  Result read = t.client->getRecord("Customers", "*", high);
  ASSERT_TRUE(read.ok()) << read.getMessage();
  EXPECT_EQ(read.getRecords().at(0).get("first_name").asText(), "High");
  Result named = t.client->searchRecords("Customers", "first_name", "id = 9223372036854775808");
  ASSERT_TRUE(named.ok()) << named.getMessage();
  ASSERT_EQ(named.getRecords().size(), 1u);
  EXPECT_EQ(named.getRecords()[0].id(), high);
  Result above = t.client->searchRecords("Customers", "first_name", "id >= 9223372036854775807");
  ASSERT_TRUE(above.ok()) << above.getMessage();
  ASSERT_EQ(above.getRecords().size(), 2u);
  EXPECT_EQ(above.getRecords()[0].id(), kTop);  // in id order, unsigned
  EXPECT_EQ(above.getRecords()[1].id(), high);
  Result below = t.client->searchRecords("Customers", "first_name", "id < 9223372036854775808");
  ASSERT_TRUE(below.ok()) << below.getMessage();
  EXPECT_EQ(below.getRecords().size(), 2u);

  EXPECT_TRUE(t.client->updateRecord("Customers", high, Parameters().add("first_name", "Higher")).ok());
  Result updated = t.client->getRecord("Customers", "*", high);
  ASSERT_TRUE(updated.ok()) << updated.getMessage();
  EXPECT_EQ(updated.getRecords().at(0).get("first_name").asText(), "Higher");
  EXPECT_TRUE(t.client->deleteRecord("Customers", high).ok());
  EXPECT_EQ(t.client->getRecord("Customers", "*", high).getCode(), ErrorCode::NotFound);
}

// A storage failure reaches the client as an id; the detail, with its paths, stays in the
// server's log under the same id.
TEST(InternalErrorsTest, TheClientGetsAnIdAndTheLogHasTheDetail) {
  Cotenantd server({"--memtable-mb", "1", "--durability", "sync"});
  ASSERT_TRUE(server.ok());
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "doomed");
  ASSERT_TRUE(t.client->addRecord("Customers", Parameters().add("first_name", "Ann")).ok());

  // The data directory disappears under the running server: the next WAL or table file
  // it creates there fails with an I/O error that names the path. A rename takes it away
  // at once; removing it entry by entry would race the server's background threads,
  // which may add a file between the removal of the last entry and of the directory.
  const std::string data = server.data_dir() + "/data";
  const std::string gone = server.data_dir() + "/data-gone";
  const std::string storage = TestStorageUri(data);
  // On PostgreSQL the records' table disappears instead; the detail names it.
  const std::string named = storage.empty() ? data : "kv_records";
  if (storage.empty()) {
    std::filesystem::rename(data, gone);
  } else {
    ASSERT_EQ(RunCommand("psql -q '" + storage + "' -c 'DROP TABLE kv_records'"), 0);
  }
  std::vector<Parameters> batch(200, Parameters().add("first_name", std::string(1000, 'x')));
  Result failed;
  for (int i = 0; i < 200; ++i) {
    failed = t.client->addRecords("Customers", batch);
    if (!failed.ok()) break;
  }
  ASSERT_EQ(failed.getCode(), ErrorCode::Internal) << failed.getMessage();
  const std::string& msg = failed.getMessage();
  EXPECT_EQ(msg.find('/'), std::string::npos) << msg;
  const std::string prefix = "internal error (id ";
  const size_t at = msg.find(prefix);
  ASSERT_NE(at, std::string::npos) << msg;
  const std::string id = msg.substr(at + prefix.size(), 16);
  EXPECT_EQ(msg.substr(at), prefix + id + ")");

  const std::string log = server.log();
  const size_t line = log.find(prefix + id + "): ");
  ASSERT_NE(line, std::string::npos) << log;
  const std::string detail = log.substr(line, log.find('\n', line) - line);
  EXPECT_NE(detail.find(named), std::string::npos) << detail;
}

// Mode bits of every entry under `dir` (the directory itself included) that group or
// others have; empty when none.
std::vector<std::string> SharedEntries(const std::string& dir) {
  std::vector<std::string> out;
  auto check = [&](const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
      out.push_back(p.string() + " " + mode);
    }
  };
  check(dir);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) check(e.path());
  return out;
}

TEST(DataDirTest, FilesAreTheServersAloneWhateverTheUmask) {
  COTENANT_SKIP_ON_POSTGRESQL("the records' files are the embedded engine's");
  const mode_t old = ::umask(022);  // inherited by the server
  Cotenantd server({"--memtable-mb", "1"});
  ::umask(old);
  ASSERT_TRUE(server.ok());
  {
    // 3 MB of records through a 1 MiB memtable: flushed to table files on the way.
    auto admin = AdminClient(server);
    TenantHandle t = MakeTenant(server, *admin, "private");
    std::vector<Parameters> batch(100, Parameters().add("first_name", std::string(1000, 'x')));
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(t.client->addRecords("Customers", batch).ok());
  }
  EXPECT_EQ(WEXITSTATUS(server.Stop()), 0);
  const std::string data = server.data_dir() + "/data";
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  size_t files = 0, tables = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
    ++files;
    if (e.path().extension() == ".sst") ++tables;
  }
  EXPECT_GT(files, 3u);
  EXPECT_GT(tables, 0u) << "no table file was written";
  EXPECT_EQ(SharedEntries(data), std::vector<std::string>());
}

// Runs cotenantd with `flags` until it exits (or 20 s); its output goes to `log`.
int RunUntilExit(const std::vector<std::string>& flags, const std::string& log) {
  Process p;
  std::vector<std::string> argv = {BinaryPath("cotenantd"), "--listen",
                                   "127.0.0.1:" + std::to_string(FreePort())};
  argv.insert(argv.end(), flags.begin(), flags.end());
  if (!p.Start(argv, log)) return -1;
  return p.Stop(0, std::chrono::seconds(20));  // signal 0: only wait
}

TEST(DataDirTest, ASharedDataDirectoryIsRefusedUnlessAllowed) {
  TempDir tmp;
  const std::string data = tmp.path() + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(data.c_str(), 0755), 0);
  const std::string log = tmp.path() + "/refused.log";
  int status = RunUntilExit({"--data", data}, log);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string out = ReadFile(log);
  EXPECT_NE(out.find("data directory " + data + " has mode 0755"), std::string::npos) << out;
  EXPECT_NE(out.find("chmod 700 " + data), std::string::npos) << out;
  EXPECT_NE(out.find("--allow-shared-data-dir"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(data + "/CURRENT")) << "nothing is created";

  // Allowed: it starts, warns, and still creates its files for its user alone.
  const int port = FreePort();
  Process p;
  ASSERT_TRUE(p.Start({BinaryPath("cotenantd"), "--data", data, "--listen",
                       "127.0.0.1:" + std::to_string(port), "--allow-shared-data-dir"},
                      tmp.path() + "/allowed.log"));
  ASSERT_TRUE(WaitForPort(port, std::chrono::seconds(20))) << ReadFile(tmp.path() + "/allowed.log");
  EXPECT_EQ(WEXITSTATUS(p.Stop(SIGTERM)), 0);
  const std::string allowed = ReadFile(tmp.path() + "/allowed.log");
  EXPECT_NE(allowed.find("HAS MODE 0755"), std::string::npos) << allowed;
  std::vector<std::string> shared = SharedEntries(data);
  EXPECT_EQ(shared, std::vector<std::string>{data + " 0755"});
}

}  // namespace
}  // namespace cotenant::testing
