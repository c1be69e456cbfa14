// Backups: a backup taken while the store is open restores to a store with exactly the
// records of that moment; backups are incremental, verified, and refused where a restore
// would overwrite or mix stores.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/backup.h"
#include "storage/fsck.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

namespace fs = std::filesystem;
using testing::OpenStore;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COTENANT_SKIP_ON_POSTGRESQL("online backups copy the embedded engine's files");
    store_ = OpenStore(dir_.path() + "/data");
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    ObjectDef def;
    ASSERT_TRUE(store_->CreateObject(tenant_.id, "Customers",
                                     {{"name", FieldType::kText, true, true}}, &def)
                    .ok());
  }

  RecordId Add(const std::string& name) {
    Record r;
    Status s = store_->AddRecord(tenant_.id, "Customers", {{"name", Value::Text(name)}}, 7, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r.id;
  }

  // The names of a store's Customers records, in id order.
  static std::vector<std::string> Names(const Store& store, TenantId tenant) {
    SearchRequest req;
    req.object = "Customers";
    req.rows = 100;
    SearchResult res;
    Status s = store.Search(tenant, req, &res);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> out;
    for (const auto& r : res.records) out.push_back(r.values[0].text());
    return out;
  }

  std::string backups() const { return dir_.path() + "/backups"; }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
};

TEST_F(BackupTest, RestoresExactlyTheRecordsOfEachBackup) {
  Add("ann");
  Add("bob");
  BackupInfo first;
  Status s = store_->Backup(backups(), 0, &first);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(first.id, 1u);
  EXPECT_GT(first.size_bytes, 0u);
  EXPECT_GT(first.files, 0u);
  EXPECT_EQ(first.kept, 1u);
  Add("cy");
  BackupInfo second;
  ASSERT_TRUE(store_->Backup(backups(), 0, &second).ok());
  EXPECT_EQ(second.id, 2u);
  EXPECT_EQ(second.kept, 2u);
  Add("after-both");

  std::vector<BackupInfo> list;
  ASSERT_TRUE(ListBackups(backups(), &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, 1u);
  EXPECT_EQ(list[1].id, 2u);

  BackupInfo restored;
  s = RestoreBackup(backups(), dir_.path() + "/latest", 0, &restored);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(restored.id, 2u);
  s = RestoreBackup(backups(), dir_.path() + "/one", 1, &restored);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(restored.id, 1u);
  EXPECT_EQ((fs::status(dir_.path() + "/one").permissions() & fs::perms::all), fs::perms::owner_all);

  for (auto [dir, want] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"/latest", {"ann", "bob", "cy"}}, {"/one", {"ann", "bob"}}}) {
    CheckReport report;
    s = CheckDataDirectory(dir_.path() + dir, CheckOptions{}, &report);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(report.clean()) << CheckReportText(report);
    auto copy = OpenStore(dir_.path() + dir);
    ASSERT_TRUE(copy);
    EXPECT_EQ(Names(*copy, tenant_.id), want) << dir;
    uint64_t records = 0, bytes = 0;
    ASSERT_TRUE(copy->TenantUsage(tenant_.id, &records, &bytes).ok());
    EXPECT_EQ(records, want.size());
    // The copy hands out ids past every id the original had handed out when it was
    // backed up, so no id names two records.
    Record r;
    ASSERT_TRUE(copy->AddRecord(tenant_.id, "Customers", {{"name", Value::Text("new")}}, 7, &r).ok());
    EXPECT_GT(r.id, 4u);
  }
  // The original is untouched by the restores.
  EXPECT_EQ(Names(*store_, tenant_.id), (std::vector<std::string>{"ann", "bob", "cy", "after-both"}));
}

TEST_F(BackupTest, KeepPurgesTheOldestBackups) {
  BackupInfo info;
  for (int i = 0; i < 3; ++i) {
    Add("r" + std::to_string(i));
    ASSERT_TRUE(store_->Backup(backups(), 2, &info).ok());
  }
  EXPECT_EQ(info.id, 3u);
  EXPECT_EQ(info.kept, 2u);
  std::vector<BackupInfo> list;
  ASSERT_TRUE(ListBackups(backups(), &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, 2u);
  BackupInfo restored;
  Status s = RestoreBackup(backups(), dir_.path() + "/gone", 1, &restored);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("no backup 1"), std::string::npos) << s.message();
}

TEST_F(BackupTest, RefusesPathsThatWouldLoseOrMixData) {
  BackupInfo info;
  Status s = store_->Backup("relative/dir", 0, &info);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("absolute path"), std::string::npos) << s.message();

  // A file where the directory should be.
  std::ofstream(dir_.path() + "/file") << "x";
  s = store_->Backup(dir_.path() + "/file", 0, &info);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();

  ASSERT_TRUE(store_->Backup(backups(), 0, &info).ok());
  // Never into a directory that holds anything.
  fs::create_directories(dir_.path() + "/busy");
  std::ofstream(dir_.path() + "/busy/keep-me") << "mine";
  s = RestoreBackup(backups(), dir_.path() + "/busy", 0, &info);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not empty"), std::string::npos) << s.message();
  EXPECT_TRUE(fs::exists(dir_.path() + "/busy/keep-me"));

  s = RestoreBackup(dir_.path() + "/nothing-here", dir_.path() + "/x", 0, &info);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_FALSE(fs::exists(dir_.path() + "/x"));
}

TEST_F(BackupTest, ACorruptBackupIsRefusedAndLeavesNothingBehind) {
  Add("ann");
  BackupInfo info;
  ASSERT_TRUE(store_->Backup(backups(), 0, &info).ok());
  // Flip a byte in the middle of every file the backup holds.
  int flipped = 0;
  for (const auto& e : fs::recursive_directory_iterator(backups())) {
    if (!e.is_regular_file()) continue;
    std::string p = e.path().string();
    if (p.find("/meta/") != std::string::npos || p.find("/private/") == std::string::npos) continue;
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    auto size = fs::file_size(p);
    if (size == 0) continue;
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put(static_cast<char>(c ^ 0x5a));
    ++flipped;
  }
  ASSERT_GT(flipped, 0);
  Status s = RestoreBackup(backups(), dir_.path() + "/bad", 0, &info);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot restore backup 1"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(dir_.path() + "/bad"));
}

}  // namespace
}  // namespace cotenant::storage
