// Physical import: an empty object filled from sorted files in one atomic ingest ends up
// exactly as a logical import of the same rows (records, ids, index entries, usage,
// search results), rejected rows and all; writes that would break that are refused.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/ingest_testing.h"

namespace cotenant::storage {
namespace {

using ingest_testing::kUser;
using ingest_testing::ExpectClean;
using ingest_testing::FilesUnder;
using ingest_testing::MakeRows;
using ingest_testing::IngestTest;
using ::cotenant::storage::testing::CheckIndexes;
using ::cotenant::storage::testing::OpenStore;

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


// A unique value given twice fails the ingest whole, naming both records and the value:
// in one chunk, and in two chunks that only a merge brings side by side.
TEST_F(IngestTest, AUniqueValueGivenTwiceFailsTheIngestWhole) {
  for (size_t buffer : {size_t{64} << 20, size_t{4096}}) {
    SCOPED_TRACE(buffer);
    StoreOptions o;
    o.ingest_buffer_bytes = buffer;
    o.ingest_max_overlapping_files = 1000;  // overlapping chunks are merged anyway
    Open(o);
    FieldDef handle{"handle", FieldType::kText, true, true};
    handle.unique = true;
    ObjectDef def;
    ASSERT_TRUE(ingest_store_->CreateObject(tenant_, "Accounts", {handle}, &def).ok());
    auto rows = [](size_t from, size_t n) {
      std::vector<FieldValues> out;
      for (size_t i = from; i < from + n; ++i) out.push_back({{"handle", Value::Text("h" + std::to_string(i))}});
      return out;
    };
    std::unique_ptr<Store::Ingest> ingest;
    ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Accounts", kUser, nullptr, &ingest).ok());
    std::vector<Store::ImportOutcome> out;
    ASSERT_TRUE(ingest->Add(rows(0, 500), &out).ok());
    auto again = rows(500, 500);
    again[400] = {{"handle", Value::Text("h7")}};  // the value of the 8th record
    Status s = ingest->Add(again, &out);
    if (s.ok()) {
      uint64_t committed = 0;
      s = ingest->Commit(&committed);
    }
    EXPECT_TRUE(s.IsConflict()) << s.ToString();
    EXPECT_NE(s.message().find("records 8 and 901"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("the value 'h7' in unique field handle of Accounts"), std::string::npos)
        << s.ToString();
    ingest.reset();
    Record got;
    EXPECT_TRUE(ingest_store_->GetRecordBy(tenant_, "Accounts", "handle", Value::Text("h1"), &got, nullptr)
                    .IsNotFound());
    EXPECT_EQ(Usage(*ingest_store_), 0u);
    EXPECT_EQ(FilesUnder(IngestRoot()), 0u);

    // The same rows without the repeat land, and are reached by key.
    ASSERT_TRUE(ingest_store_->BeginIngest(tenant_, "Accounts", kUser, nullptr, &ingest).ok());
    ASSERT_TRUE(ingest->Add(rows(0, 500), &out).ok());
    ASSERT_TRUE(ingest->Add(rows(500, 500), &out).ok());
    uint64_t committed = 0;
    s = ingest->Commit(&committed);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(committed, 1000u);
    ASSERT_TRUE(ingest_store_->GetRecordBy(tenant_, "Accounts", "handle", Value::Text("h999"), &got, nullptr).ok());
    Record dup;
    EXPECT_TRUE(ingest_store_->AddRecord(tenant_, "Accounts", {{"handle", Value::Text("h3")}}, kUser, &dup)
                    .IsConflict());
    EXPECT_EQ(CheckIndexes(*ingest_store_, tenant_, "Accounts"), "");
  }
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

// What the store relies on when it ingests overlapping chunks side by side: one ingestion
// of several files of one family that hold the same key keeps the one listed last, as a
// write batch keeps the later put; and entries of several families land together.
TEST_F(IngestTest, TheEngineKeepsTheLastListedFileOfAKeyAndIngestsFamiliesTogether) {
  KvEngine* kv = ingest_store_->engine();
  std::string dir = ingest_dir_->path() + "/files";
  std::filesystem::create_directories(dir);
  auto write = [&](Cf cf, const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& entries) {
    std::unique_ptr<KvFileWriter> w;
    std::string path = dir + "/" + name;
    EXPECT_TRUE(kv->NewFileWriter(cf, path, &w).ok());
    for (const auto& [k, v] : entries) EXPECT_TRUE(w->Put(k, v).ok());
    EXPECT_TRUE(w->Finish().ok());
    return KvIngestFile{cf, path};
  };
  std::string p = ObjectPrefix(999, 1);
  std::vector<KvIngestFile> files = {
      write(Cf::kIndexes, "a.sst", {{p + "a", "first"}, {p + "m", "first"}}),
      write(Cf::kIndexes, "b.sst", {{p + "b", "second"}, {p + "m", "second"}, {p + "z", "second"}}),
      write(Cf::kIndexes, "c.sst", {{p + "m", "third"}}),
      write(Cf::kRecords, "r.sst", {{p + "r", "record"}}),
  };
  auto snapshot = kv->GetSnapshot();
  ASSERT_TRUE(kv->IngestFiles(files).ok());
  std::string v;
  ASSERT_TRUE(kv->Get(Cf::kIndexes, p + "m", &v).ok());
  EXPECT_EQ(v, "third");
  ASSERT_TRUE(kv->Get(Cf::kIndexes, p + "a", &v).ok());
  ASSERT_TRUE(kv->Get(Cf::kIndexes, p + "z", &v).ok());
  ASSERT_TRUE(kv->Get(Cf::kRecords, p + "r", &v).ok());
  // A snapshot taken before sees none of it.
  KvReadOptions before;
  before.snapshot = snapshot.get();
  EXPECT_TRUE(kv->Get(Cf::kIndexes, p + "m", &v, before).IsNotFound());
  EXPECT_TRUE(kv->Get(Cf::kRecords, p + "r", &v, before).IsNotFound());
}

}  // namespace
}  // namespace cotenant::storage
