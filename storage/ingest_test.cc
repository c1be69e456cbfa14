// Physical import: an empty object filled from sorted files in one atomic ingest ends up
// exactly as a logical import of the same rows (records, ids, index entries, usage), and
// nothing of an ingest that does not commit is visible or left on disk.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/criteria.h"
#include "storage/fsck.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

namespace fs = std::filesystem;
using testing::CheckIndexes;
using testing::OpenStore;

constexpr UserId kUser = 7;

// Everything of one object a reader can tell apart, timestamps aside (each store takes
// its own clock): record keys with their values re-encoded without timestamps, index
// entries, and the tenant's usage.
struct ObjectDump {
  std::vector<std::pair<std::string, std::string>> records;
  std::vector<std::pair<std::string, std::string>> indexes;
  uint64_t usage_records = 0;
  uint64_t usage_bytes = 0;
};

ObjectDump Dump(Store& store, TenantId tenant, const std::string& object) {
  ObjectDump d;
  std::shared_ptr<const ObjectDef> def;
  EXPECT_TRUE(store.GetObject(tenant, object, &def).ok());
  std::string prefix = ObjectPrefix(tenant, def->id);
  auto it = store.engine()->NewIterator(Cf::kRecords, prefix, PrefixSuccessor(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Record r;
    EXPECT_TRUE(DecodeRecord(it->value(), *def, &r));
    EXPECT_NE(r.created_at, 0);
    EXPECT_EQ(r.created_at, r.modified_at);
    r.created_at = r.modified_at = 0;
    std::string v;
    EncodeRecord(r, &v);
    d.records.emplace_back(std::string(it->key()), v);
  }
  EXPECT_TRUE(it->status().ok());
  auto ix = store.engine()->NewIterator(Cf::kIndexes, prefix, PrefixSuccessor(prefix));
  for (ix->SeekToFirst(); ix->Valid(); ix->Next()) {
    d.indexes.emplace_back(std::string(ix->key()), std::string(ix->value()));
  }
  EXPECT_TRUE(ix->status().ok());
  EXPECT_TRUE(store.TenantUsage(tenant, &d.usage_records, &d.usage_bytes).ok());
  return d;
}

void ExpectClean(Store& store) {
  CheckReport report;
  ASSERT_TRUE(store.Check(CheckOptions{}, &report).ok());
  EXPECT_TRUE(report.clean()) << CheckReportText(report);
}

size_t FilesUnder(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

// Forwards to the RocksDB engine; the sorted-file calls only when `files` is set (else
// the KvEngine defaults answer), and IngestFiles fails when `fail_ingest` is set.
class FileSwitchEngine final : public KvEngine {
 public:
  struct Switches {
    std::atomic<bool> files{true};
    std::atomic<bool> fail_ingest{false};
  };
  FileSwitchEngine(std::unique_ptr<KvEngine> inner, Switches* sw) : inner_(std::move(inner)), sw_(sw) {}
  std::unique_ptr<KvBatch> NewBatch() override { return inner_->NewBatch(); }
  Status Write(KvBatch* batch, bool sync) override { return inner_->Write(batch, sync); }
  Status Get(Cf cf, std::string_view key, std::string* value, const KvReadOptions& o) const override {
    return inner_->Get(cf, key, value, o);
  }
  void MultiGet(Cf cf, const std::vector<std::string>& keys, std::vector<std::string>* values,
                std::vector<Status>* statuses, const KvReadOptions& o) const override {
    inner_->MultiGet(cf, keys, values, statuses, o);
  }
  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                          const KvReadOptions& o) const override {
    return inner_->NewIterator(cf, std::move(lower), std::move(upper), o);
  }
  std::shared_ptr<const KvSnapshot> GetSnapshot() const override { return inner_->GetSnapshot(); }
  Status DropRange(Cf cf, std::string_view begin, std::string_view end) override {
    return inner_->DropRange(cf, begin, end);
  }
  Status SyncWal() override { return inner_->SyncWal(); }
  void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const override {
    inner_->MemoryUsage(block_cache, memtables);
  }
  Status NewFileWriter(Cf cf, const std::string& path, std::unique_ptr<KvFileWriter>* out) override {
    return sw_->files ? inner_->NewFileWriter(cf, path, out) : KvEngine::NewFileWriter(cf, path, out);
  }
  Status OpenFile(const std::string& path, std::unique_ptr<KvIterator>* out) const override {
    return sw_->files ? inner_->OpenFile(path, out) : KvEngine::OpenFile(path, out);
  }
  Status IngestFiles(const std::vector<KvIngestFile>& files) override {
    if (sw_->fail_ingest) return Status::Internal("storage engine: injected ingest failure");
    return sw_->files ? inner_->IngestFiles(files) : KvEngine::IngestFiles(files);
  }

 private:
  std::unique_ptr<KvEngine> inner_;
  Switches* sw_;
};

// Rows with every kind of rejection sprinkled in: a bad type, a missing required field,
// a record over the size limit, and (with the scope) a row outside the filter.
std::vector<FieldValues> MakeRows(size_t n) {
  std::vector<FieldValues> rows;
  for (size_t i = 0; i < n; ++i) {
    FieldValues row = {{"name", Value::Text("name-" + std::to_string((i * 7919) % n))},
                       {"age", Value::Int(static_cast<int64_t>((i * 31) % 97))},
                       {"note", Value::Text("note " + std::to_string(i))}};
    if (i % 50 == 3) row[1].value = Value::Text("forty");                  // bad type
    if (i % 50 == 11) row.erase(row.begin());                              // required missing
    if (i % 50 == 17) row[2].value = Value::Text(std::string(600, 'x'));   // over the size limit
    if (i % 50 == 23) row[1].value = Value::Int(-5);                       // outside the filter
    if (i % 50 == 29) row[1].value = Value::Null();                        // null index value
    rows.push_back(std::move(row));
  }
  return rows;
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(StoreOptions{}); }

  // The ingesting store and its twin (filled logically), with the same tenant and object.
  void Open(StoreOptions options) {
    options.limits.max_record_bytes = 256;
    options_ = options;
    ingest_store_.reset();
    logical_store_.reset();
    ingest_dir_ = std::make_unique<cotenant::testing::TempDir>();
    logical_dir_ = std::make_unique<cotenant::testing::TempDir>();
    StoreOptions wrapped = options;
    wrapped.wrap_engine = [this](std::unique_ptr<KvEngine> inner) -> std::unique_ptr<KvEngine> {
      return std::make_unique<FileSwitchEngine>(std::move(inner), &switches_);
    };
    ingest_store_ = OpenStore(ingest_dir_->path(), wrapped);
    logical_store_ = OpenStore(logical_dir_->path(), options);
    ASSERT_TRUE(ingest_store_ && logical_store_);
    for (Store* s : {ingest_store_.get(), logical_store_.get()}) {
      TenantInfo t;
      ASSERT_TRUE(s->CreateTenant("acme", TenantKind::kTenant, 0, &t).ok());
      tenant_ = t.id;
      ObjectDef def;
      Status st = s->CreateObject(tenant_, "Customers",
                                  {{"name", FieldType::kText, true, true},
                                   {"age", FieldType::kInt, false, true},
                                   {"note", FieldType::kText, false, false}},
                                  &def);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    std::shared_ptr<const ObjectDef> def;
    ASSERT_TRUE(ingest_store_->GetObject(tenant_, "Customers", &def).ok());
    ASSERT_TRUE(criteria::Compile("age >= 0 OR age is null", *def, &filter_).ok());
    scope_.row_filter = filter_.get();
  }

  std::string IngestRoot() const { return ingest_dir_->path() + "/ingest"; }

  // Feeds `rows` in batches of `batch` to a new ingest of the ingesting store and to
  // ImportRecords of the twin, checking each row's outcome is the same in both.
  void IngestAndImport(const std::vector<FieldValues>& rows, size_t batch,
                       std::unique_ptr<Store::Ingest>* ingest) {
    Status s = ingest_store_->BeginIngest(tenant_, "Customers", kUser, &scope_, ingest);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (size_t at = 0; at < rows.size(); at += batch) {
      std::vector<FieldValues> part(rows.begin() + static_cast<long>(at),
                                    rows.begin() + static_cast<long>(std::min(rows.size(), at + batch)));
      std::vector<Store::ImportOutcome> physical, logical;
      s = (*ingest)->Add(part, &physical);
      ASSERT_TRUE(s.ok()) << s.ToString();
      bool replayed = false;
      s = logical_store_->ImportRecords(tenant_, "Customers", part, kUser, {}, false, &logical,
                                        &replayed, &scope_);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(physical.size(), part.size());
      ASSERT_EQ(logical.size(), part.size());
      for (size_t i = 0; i < part.size(); ++i) {
        EXPECT_EQ(physical[i].id, logical[i].id) << "row " << at + i;
        EXPECT_EQ(physical[i].status.code(), logical[i].status.code()) << "row " << at + i;
        EXPECT_EQ(physical[i].status.message(), logical[i].status.message()) << "row " << at + i;
      }
    }
  }

  void ExpectTwins() {
    ObjectDump a = Dump(*ingest_store_, tenant_, "Customers");
    ObjectDump b = Dump(*logical_store_, tenant_, "Customers");
    EXPECT_FALSE(a.records.empty());
    EXPECT_EQ(a.records.size(), b.records.size());
    EXPECT_TRUE(a.records == b.records) << "records differ";
    EXPECT_EQ(a.indexes.size(), b.indexes.size());
    EXPECT_TRUE(a.indexes == b.indexes) << "index entries differ";
    EXPECT_EQ(a.usage_records, b.usage_records);
    EXPECT_EQ(a.usage_bytes, b.usage_bytes);
    EXPECT_EQ(CheckIndexes(*ingest_store_, tenant_, "Customers"), "");
    ExpectClean(*ingest_store_);
  }

  uint64_t Usage(Store& store) {
    uint64_t records = 0, bytes = 0;
    EXPECT_TRUE(store.TenantUsage(tenant_, &records, &bytes).ok());
    return records;
  }

  bool ObjectEmpty(Store& store) {
    ObjectDump d = Dump(store, tenant_, "Customers");
    return d.records.empty() && d.indexes.empty() && d.usage_records == 0 && d.usage_bytes == 0;
  }

  FileSwitchEngine::Switches switches_;  // outlives the stores that use it
  std::unique_ptr<cotenant::testing::TempDir> ingest_dir_, logical_dir_;
  StoreOptions options_;
  std::unique_ptr<Store> ingest_store_, logical_store_;
  TenantId tenant_ = 0;
  std::unique_ptr<criteria::BoundExpr> filter_;
  RecordScope scope_;
};

TEST_F(IngestTest, EqualsALogicalImportOfTheSameRows) {
  auto rows = MakeRows(2000);
  std::unique_ptr<Store::Ingest> ingest;
  IngestAndImport(rows, 300, &ingest);
  // Nothing is visible before the commit.
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(committed, Usage(*logical_store_));
  EXPECT_EQ(ingest->chunks_written(), 1u);  // the default buffer holds every entry
  ExpectTwins();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  // Searches find the same rows the same way in both.
  for (const char* criteria : {"name = 'name-17'", "age >= 90", "age is null"}) {
    SearchRequest req;
    req.object = "Customers";
    req.criteria = criteria;
    req.rows = 1000;
    SearchResult a, b;
    ASSERT_TRUE(ingest_store_->Search(tenant_, req, &a).ok()) << criteria;
    ASSERT_TRUE(logical_store_->Search(tenant_, req, &b).ok()) << criteria;
    EXPECT_EQ(a.plan.rfind("index:", 0), 0u) << criteria << ": " << a.plan;
    EXPECT_EQ(a.plan, b.plan) << criteria;
    ASSERT_EQ(a.records.size(), b.records.size()) << criteria;
    EXPECT_FALSE(a.records.empty()) << criteria;
    for (size_t i = 0; i < a.records.size(); ++i) {
      EXPECT_EQ(a.records[i].id, b.records[i].id);
      EXPECT_EQ(a.records[i].values, b.records[i].values);
    }
  }
  // The object takes ordinary writes again, and they go on from the ingest's ids.
  Record r;
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("z")}}, kUser, &r).ok());
  ASSERT_TRUE(logical_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("z")}}, kUser, &r).ok());
  ExpectTwins();
}

TEST_F(IngestTest, RejectedRowsAreReportedEachWithItsReasonAndAbsent) {
  auto rows = MakeRows(100);
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, &scope_, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(rows, &out).ok());
  ASSERT_EQ(out.size(), rows.size());
  EXPECT_TRUE(out[3].status.IsInvalidArgument()) << out[3].status.ToString();
  EXPECT_NE(out[3].status.message().find("age"), std::string::npos);
  EXPECT_TRUE(out[11].status.IsInvalidArgument()) << out[11].status.ToString();
  EXPECT_NE(out[11].status.message().find("name"), std::string::npos);
  EXPECT_EQ(out[17].status.code(), Status::Code::kResourceExhausted) << out[17].status.ToString();
  EXPECT_TRUE(out[23].status.IsPermissionDenied()) << out[23].status.ToString();
  size_t good = 0;
  for (const auto& o : out) {
    if (o.status.ok()) {
      ++good;
    } else {
      EXPECT_EQ(o.id, 0u);
    }
  }
  EXPECT_EQ(good, rows.size() - 8);  // 4 kinds, twice in 100 rows
  uint64_t committed = 0;
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  EXPECT_EQ(committed, good);
  for (size_t i : {3, 11, 17, 23, 53, 61, 67, 73}) EXPECT_EQ(out[i].id, 0u) << i;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].status.ok()) continue;
    Record r;
    ASSERT_TRUE(ingest_store_->GetRecord(tenant_, "Customers", out[i].id, &r, nullptr).ok()) << i;
    EXPECT_EQ(r.created_by, kUser);
  }
  EXPECT_EQ(Usage(*ingest_store_), good);
  EXPECT_EQ(CheckIndexes(*ingest_store_, tenant_, "Customers"), "");
}

TEST_F(IngestTest, IndexEntriesBeyondTheBufferSpillSeveralChunksIngestedTogether) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;           // a few dozen entries per chunk
  o.ingest_max_overlapping_files = 1000;  // every chunk ingested as it is, overlapping
  Open(o);
  auto rows = MakeRows(3000);
  std::unique_ptr<Store::Ingest> ingest;
  IngestAndImport(rows, 500, &ingest);
  EXPECT_GT(ingest->chunks_written(), 20u);
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectTwins();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
}

TEST_F(IngestTest, ManyChunksAreMergedIntoOneRunOfFilesFirst) {
  StoreOptions o;
  o.ingest_buffer_bytes = 4096;
  o.ingest_max_overlapping_files = 2;  // more chunks than this: merged at commit
  o.ingest_file_bytes = 16 << 10;      // records and the merged run span several files
  Open(o);
  auto rows = MakeRows(3000);
  std::unique_ptr<Store::Ingest> ingest;
  IngestAndImport(rows, 1000, &ingest);
  EXPECT_GT(ingest->chunks_written(), 2u);
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectTwins();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  // And it all survives a reopen (the ingested files are the engine's own now).
  ingest_store_.reset();
  ingest_store_ = OpenStore(ingest_dir_->path(), o);
  ExpectTwins();
}

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
  StoreOptions again = o;
  again.path = ingest_dir_->path();
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

TEST_F(IngestTest, AnObjectWithRecordsOrAnOpenIngestIsRefused) {
  std::unique_ptr<Store::Ingest> ingest;
  Status s = ingest_store_->BeginIngest(tenant_, "Nope", kUser, nullptr, &ingest);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::unique_ptr<Store::Ingest> second;
  s = ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &second);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("already being filled"), std::string::npos) << s.message();
  ingest->Abort();
  Record r;
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r).ok());
  s = ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &second);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("holds records"), std::string::npos) << s.message();
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
}

TEST_F(IngestTest, WritesAddingRecordsDuringTheIngestAreRefusedNamingIt) {
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(10), &out).ok());
  Record r;
  Status s = ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("physical import"), std::string::npos) << s.message();
  std::vector<RecordId> ids;
  EXPECT_TRUE(ingest_store_->AddRecords(tenant_, "Customers", {{{"name", Value::Text("b")}}}, kUser, &ids)
                  .IsConflict());
  bool replayed = false;
  std::vector<Store::ImportOutcome> logical;
  EXPECT_TRUE(ingest_store_->ImportRecords(tenant_, "Customers", {{{"name", Value::Text("c")}}}, kUser,
                                           {}, false, &logical, &replayed)
                  .IsConflict());
  // A dry run writes nothing and is answered as usual.
  EXPECT_TRUE(ingest_store_->ImportRecords(tenant_, "Customers", {{{"name", Value::Text("c")}}}, kUser,
                                           {}, true, &logical, &replayed)
                  .ok());
  uint64_t committed = 0;
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  EXPECT_EQ(Usage(*ingest_store_), committed);
  ASSERT_TRUE(ingest_store_->AddRecord(tenant_, "Customers", {{"name", Value::Text("a")}}, kUser, &r).ok());
  EXPECT_EQ(Usage(*ingest_store_), committed + 1);
  ExpectClean(*ingest_store_);
}

TEST_F(IngestTest, CommitRechecksTheObjectIsEmpty) {
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(10), &out).ok());
  // A record that reached the engine some other way than the store's writes.
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(ingest_store_->GetObject(tenant_, "Customers", &def).ok());
  Record stray;
  stray.version = 1;
  stray.values.resize(def->fields.size());
  stray.values[0] = Value::Text("stray");
  std::string v;
  EncodeRecord(stray, &v);
  auto b = ingest_store_->engine()->NewBatch();
  b->Put(Cf::kRecords, RecordKey(tenant_, def->id, 999999), v);
  ASSERT_TRUE(ingest_store_->engine()->Write(b.get(), false).ok());
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(committed, 0u);
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  Record r;
  EXPECT_TRUE(ingest_store_->GetRecord(tenant_, "Customers", out[0].id, &r, nullptr).IsNotFound());
}

TEST_F(IngestTest, TheQuotaIsEnforcedAtCommit) {
  ASSERT_TRUE(ingest_store_->SetTenantQuota(tenant_, TenantQuota{20, 0, 0, 0}).ok());
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  ASSERT_TRUE(ingest->Add(MakeRows(30), &out).ok());
  uint64_t committed = 0;
  Status s = ingest->Commit(&committed);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("records quota"), std::string::npos) << s.message();
  EXPECT_EQ(committed, 0u);
  EXPECT_TRUE(ObjectEmpty(*ingest_store_));
  EXPECT_EQ(FilesUnder(IngestRoot()), 0u);
  EXPECT_EQ(ingest_store_->quota_refusals_records(), 1u);
  // Within the quota it commits, and the counters are exact.
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  ASSERT_TRUE(ingest->Add(MakeRows(15), &out).ok());
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  EXPECT_EQ(Usage(*ingest_store_), committed);
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
  EXPECT_FALSE(ingest->Commit(&committed).ok());
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

TEST_F(IngestTest, OtherObjectsOfTheTenantTakeWritesThroughoutAndUsageStaysExact) {
  for (Store* s : {ingest_store_.get(), logical_store_.get()}) {
    ObjectDef def;
    ASSERT_TRUE(s->CreateObject(tenant_, "Orders", {{"ref", FieldType::kText, true, true}}, &def).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> added{0};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    while (!stop) {
      Record r;
      Status s = ingest_store_->AddRecord(tenant_, "Orders", {{"ref", Value::Text("o")}}, kUser, &r);
      if (!s.ok()) {
        ADD_FAILURE() << s.ToString();
        failed = true;
        return;
      }
      ++added;
    }
  });
  uint64_t usage = 0, bytes = 0;
  std::unique_ptr<Store::Ingest> ingest;
  ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Customers", kUser, nullptr, &ingest).ok());
  std::vector<Store::ImportOutcome> out;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ingest->Add(MakeRows(400), &out).ok());
  uint64_t committed = 0;
  ASSERT_TRUE(ingest->Commit(&committed).ok());
  while (added < 50 && !failed) std::this_thread::yield();
  stop = true;
  writer.join();
  ASSERT_TRUE(ingest_store_->TenantUsage(tenant_, &usage, &bytes).ok());
  EXPECT_EQ(usage, committed + added);
  ExpectClean(*ingest_store_);  // the checker recounts the usage from the records
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
