// Shared by the physical import tests (ingest_test.cc, ingest_cleanup_test.cc): an
// ingesting store and a twin filled logically, a dump of what a reader can tell apart,
// rows with every kind of rejection, and an engine wrapper that can take the sorted-file
// calls away or fail the ingestion.

#ifndef COTENANT_STORAGE_INGEST_TESTING_H_
#define COTENANT_STORAGE_INGEST_TESTING_H_

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/criteria.h"
#include "storage/fsck.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage::ingest_testing {

namespace fs = std::filesystem;
using ::cotenant::storage::testing::CheckIndexes;
using ::cotenant::storage::testing::OpenStore;

inline constexpr UserId kUser = 7;

// Everything of one object a reader can tell apart, timestamps aside (each store takes
// its own clock): record keys with their values re-encoded without timestamps, index
// entries, and the tenant's usage.
struct ObjectDump {
  std::vector<std::pair<std::string, std::string>> records;
  std::vector<std::pair<std::string, std::string>> indexes;
  uint64_t usage_records = 0;
  uint64_t usage_bytes = 0;
};

inline ObjectDump Dump(Store& store, TenantId tenant, const std::string& object) {
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

inline void ExpectClean(Store& store) {
  CheckReport report;
  ASSERT_TRUE(store.Check(CheckOptions{}, &report).ok());
  EXPECT_TRUE(report.clean()) << CheckReportText(report);
}

inline size_t FilesUnder(const std::string& dir) {
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
inline std::vector<FieldValues> MakeRows(size_t n) {
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


}  // namespace cotenant::storage::ingest_testing

#endif  // COTENANT_STORAGE_INGEST_TESTING_H_
