// Physical import: nothing of an ingest that does not commit is visible or left on disk —
// after an abort, the destructor, a failed ingestion, a deleted tenant, an engine without
// sorted files, or a process killed before the commit.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/ingest_testing.h"

namespace cotenant::storage {
namespace {

namespace fs = std::filesystem;
using ingest_testing::kUser;
using ingest_testing::ExpectClean;
using ingest_testing::FilesUnder;
using ingest_testing::MakeRows;
using ingest_testing::IngestTest;
using ::cotenant::storage::testing::OpenStore;

TEST_F(IngestTest, AbortAndTheDestructorLeaveNothingVisibleAndNoFiles) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;  // chunk files exist before the end
  Open(o);
  auto rows = MakeRows(500);
  std::vector<Store::ImportOutcome> out;
  {
    std::unique_ptr<Store::Ingest> ingest;
    ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
    ASSERT_TRUE(ingest->Add(rows, &out).ok());
    EXPECT_GT(FilesUnder(IngestRoot()), 1u);
    ingest->Abort();
    EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
    ingest->Abort();  // idempotent
    uint64_t n = 0;
    EXPECT_TRUE(ingest->Commit(&n).IsInvalidArgument());
    EXPECT_TRUE(ingest->Add(rows, &out).IsInvalidArgument());
  }
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  {
    std::unique_ptr<Store::Ingest> ingest;
    ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
    ASSERT_TRUE(ingest->Add(rows, &out).ok());
    EXPECT_GT(FilesUnder(IngestRoot()), 1u);
  }  // destroyed without a commit
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  ExpectClean(*ingest_store_);
  // The object is free again: for ordinary writes and for another ingest.
  Record r;
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r).ok());
  EXPECT_EQ(Usage(*ingest_store_), 1u);
}

TEST_F(IngestTest, ReopeningRemovesTheFilesOfAnIngestACrashInterrupted) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;
  Open(o);
  std::vector<Store::ImportOutcome> out;
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  ASSERT_TRUE(ingest->Add(MakeRows(500), &out).ok());
  // What a crash before the commit leaves on disk: the ingest's directory with its
  // files. Keep a copy, let the ingest clean up, close, and put the copy back.
  std::string aside = logical_dir_->path() + "/aside";
  fs::copy(IngestRoot(), aside, fs::copy_options::recursive);
  size_t files = FilesUnder(aside);
  EXPECT_GT(files, 1u);
  ingest.reset();
  ingest_store_.reset();
  fs::copy(aside, IngestRoot(), fs::copy_options::recursive);
  ASSERT_EQ(FilesUnder(IngestRoot()), files);
  ingest_store_ = OpenStore(ingest_dir_->path(), o);
  ASSERT_TRUE(ingest_store_);
  EXPECT_FALSE(fs::exists(IngestRoot()));
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  ExpectClean(*ingest_store_);
  // Ids the lost ingest took are not reused.
  Record r;
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r).ok());
  EXPECT_GT(r.id, out.back().id);
}

TEST_F(IngestTest, ASecondOpenOfADirectoryInUseLeavesItsIngestAlone) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;
  Open(o);
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(500), &out).ok());
  size_t files = FilesUnder(IngestRoot());
  ASSERT_GT(files, 1u);
  StoreOptions again = testing::TestStoreOptions(ingest_dir_->path(), o);
  std::unique_ptr<Store> second;
  EXPECT_FALSE(Store::Open(again, &second).ok());  // the directory's lock is held
  EXPECT_EQ(FilesUnder(IngestRoot()), files);
  uint64_t committed = 0;
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  EXPECT_GT(committed, 0u);
  ExpectClean(*ingest_store_);
}

// The child half of the next test: a store process killed in the middle of an ingest.
// It runs only when that test starts it (this binary again, with the variable set).
TEST(IngestCrashChild, FillsThenWaitsToBeKilled) {
  const char* dir = std::getenv("COTENANT_INGEST_CRASH_DIR");
  if (dir == nullptr) GTEST_SKIP() << "started by IngestTest.AProcessKilledBeforeTheCommitLeavesTheObjectEmpty";
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;
  auto store = OpenStore(dir, o);
  ASSERT_TRUE(store);
  TenantId tenant = store->ListTenants().at(0).id;
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(store->BeginIngest(tenant, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(500), &out).ok());
  std::ofstream(std::string(dir) + ".ready") << "ready\n";
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

TEST_F(IngestTest, AProcessKilledBeforeTheCommitLeavesTheObjectEmpty) {
  ingest_store_.reset();  // the child opens the store
  std::string ready = ingest_dir_->path() + ".ready";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("COTENANT_INGEST_CRASH_DIR=" + ingest_dir_->path());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=IngestCrashChild.FillsThenWaitsToBeKilled";
  char* argv[] = {self.data(), filter.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, self.c_str(), &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) FAIL() << "the child ended before it was killed";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(ready)) << "the child never got its ingest going";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  fs::remove(ready);
  EXPECT_GT(FilesUnder(IngestRoot()), 1u);  // what the crash left
  ingest_store_ = OpenStore(ingest_dir_->path(), options_);
  ASSERT_TRUE(ingest_store_);
  EXPECT_FALSE(fs::exists(IngestRoot()));
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  ExpectClean(*ingest_store_);
}


TEST_F(IngestTest, DeletingTheTenantDuringAnIngestLeavesNothingBehind) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;
  Open(o);
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(300), &out).ok());
  ASSERT_TRUE(ingest_store_->DeleteTenant(tenant_).ok());
  Status s = ingest->Add(MakeRows(10), &out);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);  // dropped as soon as the deletion was seen
  uint64_t committed = 0;
  s = ingest->Commit(&committed);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();  // what ended it
  EXPECT_EQ(committed, 0u);
  uint64_t keys = 0;
  ASSERT_TRUE(ingest_store_->CountTenantKeys(tenant_, &keys).ok());
  EXPECT_EQ(keys, 0u);
  ExpectClean(*ingest_store_);
}

TEST_F(IngestTest, ACommitAfterTheTenantIsDeletedIngestsNothing) {
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(50), &out).ok());
  ASSERT_TRUE(ingest_store_->DeleteTenant(tenant_).ok());
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  uint64_t keys = 0;
  ASSERT_TRUE(ingest_store_->CountTenantKeys(tenant_, &keys).ok());
  EXPECT_EQ(keys, 0u);
}

TEST_F(IngestTest, AnEngineWithoutSortedFilesAnswersInvalidArgument) {
  switches_.files = false;
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  Status s = ingest->Add(MakeRows(10), &out);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  uint64_t committed = 0;
  EXPECT_TRUE(ingest->Commit(&committed).IsInvalidArgument());  // the first failure, latched
  EXPECT_EQ(committed, 0u);
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  // The logical path still works.
  switches_.files = true;
  Record r;
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r).ok());
}

TEST_F(IngestTest, AFailedIngestOfTheFilesLeavesTheUsageAsItWas) {
  ASSERT_TRUE(ingest_store_->SetTenantQuota(tenant_, TenantQuota{1000, 0, 0, 0}).ok());
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(100), &out).ok());
  switches_.fail_ingest = true;
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  switches_.fail_ingest = false;
  EXPECT_EQ(s.code(), Status::Code::kInternal) << s.ToString();
  EXPECT_EQ(committed, 0u);
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));  // usage 0: the growth was taken back
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  ExpectClean(*ingest_store_);
}


TEST_F(IngestTest, AnEmptyIngestCommitsNothing) {
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  EXPECT_TRUE(ingest->Add({}, &out).IsInvalidArgument());
  ASSERT_TRUE(ingest->Add({{{"age", Value::Int(1)}}}, &out).ok());  // rejected: no name
  EXPECT_FALSE(out[0].status.ok());
  uint64_t committed = 1;
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  EXPECT_EQ(committed, 0u);
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
}

}  // namespace
}  // namespace cotenant::storage
