// The KvEngine contract, on the engine the suite runs on (RocksDB, or PostgreSQL under the
// "pg." prefix): atomic batches whose last operation of a key wins, point and batched
// reads, bounded iteration in both directions across many pages, snapshots, range drops;
// on PostgreSQL also the key-length limit and what a lost server connection does.

#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/kv.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

std::string Key(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "k%06d", i);
  return b;
}

class KvEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = testing::TestStoreOptions(dir_.path() + "/db");
    options_.block_cache_bytes = 8 << 20;
    options_.memtable_bytes = 8 << 20;
    Status s = options_.storage.empty() ? OpenRocksEngine(options_, &kv_)
                                        : OpenPostgresEngine(options_, &kv_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Fill(Cf cf, int n) {
    auto b = kv_->NewBatch();
    for (int i = 0; i < n; ++i) b->Put(cf, Key(i), "v" + std::to_string(i));
    Status s = kv_->Write(b.get(), true);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> Forward(const std::string& lower, const std::string& upper,
                                   const KvReadOptions& ro = {}) {
    std::vector<std::string> keys;
    auto it = kv_->NewIterator(Cf::kRecords, lower, upper, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  cotenant::testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<KvEngine> kv_;
};

TEST_F(KvEngineTest, TheLastOperationOfAKeyInABatchWinsAndFamiliesAreSeparate) {
  auto b = kv_->NewBatch();
  b->Put(Cf::kRecords, "a", "1");
  b->Put(Cf::kRecords, "a", "2");
  b->Put(Cf::kRecords, "b", "1");
  b->Delete(Cf::kRecords, "b");
  b->Delete(Cf::kRecords, "c");
  b->Put(Cf::kRecords, "c", "3");
  b->Put(Cf::kMeta, "a", "meta");
  b->Put(Cf::kRecords, "empty", "");
  EXPECT_EQ(b->Count(), 8u);
  ASSERT_TRUE(kv_->Write(b.get(), true).ok());
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kRecords, "a", &v).ok());
  EXPECT_EQ(v, "2");
  EXPECT_TRUE(kv_->Get(Cf::kRecords, "b", &v).IsNotFound());
  ASSERT_TRUE(kv_->Get(Cf::kRecords, "c", &v).ok());
  EXPECT_EQ(v, "3");
  ASSERT_TRUE(kv_->Get(Cf::kMeta, "a", &v).ok());
  EXPECT_EQ(v, "meta");
  ASSERT_TRUE(kv_->Get(Cf::kRecords, "empty", &v).ok());
  EXPECT_EQ(v, "");
  EXPECT_TRUE(kv_->Get(Cf::kIndexes, "a", &v).IsNotFound());
}

TEST_F(KvEngineTest, KeysAreOrderedBytewise) {
  auto b = kv_->NewBatch();
  for (std::string k : {std::string("\xff", 1), std::string("a\0b", 3), std::string("a", 1),
                        std::string("\x00", 1), std::string("ab", 2), std::string("\x80x", 2)}) {
    b->Put(Cf::kRecords, k, "v");
  }
  ASSERT_TRUE(kv_->Write(b.get(), true).ok());
  std::vector<std::string> want = {std::string("\x00", 1), "a", std::string("a\0b", 3), "ab",
                                   "\x80x", "\xff"};
  EXPECT_EQ(Forward(std::string("\x00", 1), "\xff\xff"), want);
}

TEST_F(KvEngineTest, MultiGetAnswersEachKeyInOrder) {
  Fill(Cf::kRecords, 10);
  std::vector<std::string> keys = {Key(3), "missing", Key(0), Key(3), Key(9)};
  std::vector<std::string> values;
  std::vector<Status> statuses;
  kv_->MultiGet(Cf::kRecords, keys, &values, &statuses);
  ASSERT_EQ(statuses.size(), keys.size());
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_EQ(values[0], "v3");
  EXPECT_TRUE(statuses[1].IsNotFound());
  EXPECT_EQ(values[2], "v0");
  EXPECT_EQ(values[3], "v3");
  EXPECT_EQ(values[4], "v9");
}

TEST_F(KvEngineTest, IterationCrossesManyPagesInBothDirectionsWithinItsBounds) {
  constexpr int kN = 3000;  // many pages of a paging engine
  Fill(Cf::kRecords, kN);
  Fill(Cf::kIndexes, 10);  // another family's keys never show
  auto all = Forward(Key(0), Key(kN));
  ASSERT_EQ(all.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) ASSERT_EQ(all[i], Key(i));
  EXPECT_EQ(Forward(Key(100), Key(1200)).size(), 1100u);

  auto it = kv_->NewIterator(Cf::kRecords, Key(10), Key(2990));
  it->SeekToLast();
  for (int i = 2989; i >= 10; --i) {
    ASSERT_TRUE(it->Valid()) << i;
    ASSERT_EQ(it->key(), Key(i));
    ASSERT_EQ(it->value(), "v" + std::to_string(i));
    it->Prev();
  }
  EXPECT_FALSE(it->Valid());

  // Direction changes at any point, also at a page's edge.
  it->Seek(Key(700));
  for (int i = 0; i < 300; ++i) it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), Key(1000));
  for (int i = 0; i < 600; ++i) it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), Key(400));
  it->Next();
  EXPECT_EQ(it->key(), Key(401));

  it->SeekForPrev(Key(1500) + "~");  // between two keys
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), Key(1500));
  it->SeekForPrev(Key(5));  // below the lower bound
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("z");  // above the upper bound: the last key inside it
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), Key(2989));
  it->Seek(Key(0));  // below the lower bound: the first key inside it
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), Key(10));
  it->Seek("z");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());

  // A long scan (fill_cache off) sees the same keys.
  KvReadOptions scan;
  scan.fill_cache = false;
  EXPECT_EQ(Forward(Key(0), Key(kN), scan), all);
}

TEST_F(KvEngineTest, ASnapshotKeepsWhatItSawWhileWritesGoOn) {
  Fill(Cf::kRecords, 600);
  auto snap = kv_->GetSnapshot();
  auto b = kv_->NewBatch();
  b->Put(Cf::kRecords, Key(0), "changed");
  b->Delete(Cf::kRecords, Key(1));
  b->Put(Cf::kRecords, Key(600), "new");
  ASSERT_TRUE(kv_->Write(b.get(), true).ok());
  KvReadOptions ro;
  ro.snapshot = snap.get();
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(0), &v, ro).ok());
  EXPECT_EQ(v, "v0");
  EXPECT_TRUE(kv_->Get(Cf::kRecords, Key(1), &v, ro).ok());
  EXPECT_TRUE(kv_->Get(Cf::kRecords, Key(600), &v, ro).IsNotFound());
  EXPECT_EQ(Forward(Key(0), Key(1000), ro).size(), 600u);
  EXPECT_EQ(Forward(Key(0), Key(1000)).size(), 600u);  // latest: one gone, one added
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(0), &v).ok());
  EXPECT_EQ(v, "changed");
}

TEST_F(KvEngineTest, DropRangeRemovesExactlyItsRange) {
  Fill(Cf::kRecords, 100);
  ASSERT_TRUE(kv_->DropRange(Cf::kRecords, Key(10), Key(90)).ok());
  auto keys = Forward(Key(0), Key(100));
  ASSERT_EQ(keys.size(), 20u);
  EXPECT_EQ(keys[9], Key(9));
  EXPECT_EQ(keys[10], Key(90));
}

TEST_F(KvEngineTest, OnPostgresqlAnOverlongKeyIsRefusedAndNothingOfItsBatchIsWritten) {
  if (options_.storage.empty()) GTEST_SKIP() << "RocksDB keys have no such limit";
  auto b = kv_->NewBatch();
  b->Put(Cf::kRecords, "fine", "v");
  b->Put(Cf::kIndexes, std::string(3000, 'x'), "");
  Status s = kv_->Write(b.get(), true);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("too long to index"), std::string::npos) << s.message();
  std::string v;
  EXPECT_TRUE(kv_->Get(Cf::kRecords, "fine", &v).IsNotFound());
}

TEST_F(KvEngineTest, OnPostgresqlFrontEndsShareTheStoreButNotADirectoryNorTheCheckersLock) {
  if (options_.storage.empty()) GTEST_SKIP() << "the embedded engine's lock is RocksDB's";
  std::unique_ptr<KvEngine> second;
  Status s = OpenPostgresEngine(options_, &second);  // the same directory
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("another cotenantd uses the data directory"), std::string::npos)
      << s.message();
  StoreOptions elsewhere = options_;
  elsewhere.path = dir_.path() + "/elsewhere";  // a second front-end of the same store
  ASSERT_TRUE(OpenPostgresEngine(elsewhere, &second).ok());
  auto b = second->NewBatch();
  b->Put(Cf::kMeta, "from-the-second", "v");
  ASSERT_TRUE(second->Write(b.get(), true).ok());
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kMeta, "from-the-second", &v).ok());
  EXPECT_EQ(v, "v");
  StoreOptions alone = options_;  // the offline checker takes the store alone
  alone.path.clear();
  alone.exclusive = true;
  std::unique_ptr<KvEngine> checker;
  s = OpenPostgresEngine(alone, &checker);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("a cotenantd serves the store"), std::string::npos) << s.message();
  second.reset();
  kv_.reset();
  ASSERT_TRUE(OpenPostgresEngine(alone, &checker).ok());  // every front-end is gone
  s = OpenPostgresEngine(elsewhere, &second);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("taken alone"), std::string::npos) << s.message();
}

TEST_F(KvEngineTest, AConditionalBatchIsWrittenOnlyWhileEveryExpectedKeyHoldsItsValue) {
  Fill(Cf::kMeta, 2);  // k000000 = v0, k000001 = v1
  auto b = kv_->NewBatch();
  b->Expect(Cf::kMeta, Key(0), "v0");
  b->Expect(Cf::kMeta, "absent", std::nullopt);
  b->Put(Cf::kRecords, "written", "1");
  b->Put(Cf::kMeta, Key(0), "v0'");
  ASSERT_TRUE(b->conditional());
  Status s = kv_->Write(b.get(), true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kMeta, Key(0), &v).ok());
  EXPECT_EQ(v, "v0'");

  // Each way a condition can fail: a changed value, a key present that must be absent,
  // a key absent that must hold a value. Nothing of the batch is written.
  for (int c = 0; c < 3; ++c) {
    auto f = kv_->NewBatch();
    f->Expect(Cf::kMeta, Key(1), "v1");
    if (c == 0) f->Expect(Cf::kMeta, Key(0), "v0");
    if (c == 1) f->Expect(Cf::kMeta, Key(1), std::nullopt);  // the last Expect of a key wins
    if (c == 2) f->Expect(Cf::kMeta, "absent", "x");
    f->Put(Cf::kRecords, "not-written", "1");
    f->Delete(Cf::kMeta, Key(1));
    s = kv_->Write(f.get(), true);
    EXPECT_TRUE(IsConditionFailed(s)) << c << ": " << s.ToString();
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_NE(s.message().find("send the call again"), std::string::npos) << s.message();
    EXPECT_TRUE(kv_->Get(Cf::kRecords, "not-written", &v).IsNotFound()) << c;
    EXPECT_TRUE(kv_->Get(Cf::kMeta, Key(1), &v).ok()) << c;
  }
  EXPECT_FALSE(IsConditionFailed(Status::Busy("overloaded")));
}

// Compare-and-set increments of one counter from several threads (and, on PostgreSQL,
// from two engines: two front-ends): every increment that succeeded is counted once.
TEST_F(KvEngineTest, ConditionalIncrementsFromConcurrentWritersLoseNothing) {
  std::unique_ptr<KvEngine> other;
  if (!options_.storage.empty()) {
    StoreOptions o = options_;
    o.path = dir_.path() + "/second-front-end";
    ASSERT_TRUE(OpenPostgresEngine(o, &other).ok());
  }
  constexpr int kThreads = 4, kTries = 150;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    KvEngine* e = (other && t % 2 == 1) ? other.get() : kv_.get();
    threads.emplace_back([e, &succeeded] {
      for (int i = 0; i < kTries; ++i) {
        std::string v;
        Status s = e->Get(Cf::kMeta, "counter", &v);
        std::optional<std::string> seen;
        if (s.ok()) seen = v;
        uint64_t n = seen ? std::stoull(*seen) : 0;
        auto b = e->NewBatch();
        b->Expect(Cf::kMeta, "counter",
                  seen ? std::optional<std::string_view>(*seen) : std::nullopt);
        b->Put(Cf::kMeta, "counter", std::to_string(n + 1));
        s = e->Write(b.get(), true);
        if (s.ok()) {
          succeeded.fetch_add(1);
        } else {
          ASSERT_TRUE(IsConditionFailed(s)) << s.ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kMeta, "counter", &v).ok());
  EXPECT_EQ(std::stoi(v), succeeded.load());
  EXPECT_GT(succeeded.load(), 0);
}

TEST_F(KvEngineTest, SortedFilesIngestAtomicallyWithTheLastListedFileWinning) {
  Fill(Cf::kRecords, 3);  // k000000..k000002 = v0..v2
  std::vector<KvIngestFile> files;
  for (int f = 0; f < 2; ++f) {
    std::unique_ptr<KvFileWriter> w;
    std::string path = dir_.path() + "/file" + std::to_string(f);
    Status s = kv_->NewFileWriter(Cf::kRecords, path, &w);
    if (s.IsInvalidArgument()) GTEST_SKIP() << s.message();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 1; i < 2500; i += 1 + f) {  // many statements' worth of rows
      ASSERT_TRUE(w->Put(Key(i), "f" + std::to_string(f)).ok());
    }
    ASSERT_TRUE(w->Finish().ok());
    files.push_back({Cf::kRecords, path});
  }
  {
    std::unique_ptr<KvIterator> it;
    ASSERT_TRUE(kv_->OpenFile(files[1].path, &it).ok());
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key(), Key(1));
    it->Next();
    EXPECT_EQ(it->key(), Key(3));
  }
  ASSERT_TRUE(kv_->IngestFiles(files).ok());
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(0), &v).ok());
  EXPECT_EQ(v, "v0");  // in no file: as it was
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(1), &v).ok());
  EXPECT_EQ(v, "f1");  // in both: the later file's
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(2), &v).ok());
  EXPECT_EQ(v, "f0");  // replaced by the only file that has it
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(2499), &v).ok());
  EXPECT_EQ(Forward(Key(0), Key(9999)).size(), 2500u);
}

TEST_F(KvEngineTest, OnPostgresqlAFailedIngestLeavesNothing) {
  if (options_.storage.empty()) GTEST_SKIP() << "PostgreSQL only";
  std::unique_ptr<KvFileWriter> w;
  const std::string good = dir_.path() + "/good", bad = dir_.path() + "/bad";
  ASSERT_TRUE(kv_->NewFileWriter(Cf::kRecords, good, &w).ok());
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(w->Put(Key(i), "x").ok());
  ASSERT_TRUE(w->Finish().ok());
  {
    std::ofstream(bad) << "not a sorted file";
  }
  Status s = kv_->IngestFiles({{Cf::kRecords, good}, {Cf::kIndexes, bad}});
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Forward(Key(0), Key(9999)).empty());
  // Keys out of order are refused as they are written.
  ASSERT_TRUE(kv_->NewFileWriter(Cf::kRecords, dir_.path() + "/unordered", &w).ok());
  ASSERT_TRUE(w->Put(Key(2), "x").ok());
  EXPECT_TRUE(w->Put(Key(1), "x").IsInvalidArgument());
}

TEST_F(KvEngineTest, OnPostgresqlAMalformedUriIsRefusedNamingIt) {
  if (options_.storage.empty()) GTEST_SKIP() << "PostgreSQL only";
  StoreOptions o = options_;
  o.path = dir_.path() + "/other";  // not the directory the open engine holds
  std::unique_ptr<KvEngine> e;
  o.storage = "postgresql://127.0.0.1:1/db?bogus_option=1";
  Status s = OpenPostgresEngine(o, &e);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("bogus_option"), std::string::npos) << s.message();
  o.storage = "postgresql://127.0.0.1:1/db?connect_timeout=5";  // nothing listens on port 1
  s = OpenPostgresEngine(o, &e);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
}

// Ends every server connection of this store's schema but the caller's.
void TerminateStoreConnections(const std::string& uri) {
  PGconn* c = PQconnectdb(uri.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c,
                       "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                       "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                       "AND application_name = current_setting('application_name') "
                       "AND backend_type = 'client backend' AND state = 'idle'");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

TEST_F(KvEngineTest, OnPostgresqlALostConnectionRetriesReadsAndReportsWritesUnknown) {
  if (options_.storage.empty()) GTEST_SKIP() << "PostgreSQL only";
  Fill(Cf::kRecords, 10);
  std::string v;
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(1), &v).ok());
  // The pooled connection dies while idle: a read is retried on a new one.
  TerminateStoreConnections(options_.storage);
  Status s = kv_->Get(Cf::kRecords, Key(2), &v);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(v, "v2");
  // A write sent on a dead connection may or may not have committed: Unavailable, and the
  // engine goes on with new connections.
  TerminateStoreConnections(options_.storage);
  auto b = kv_->NewBatch();
  b->Put(Cf::kRecords, Key(100), "x");
  s = kv_->Write(b.get(), true);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("outcome is unknown"), std::string::npos) << s.message();
  auto again = kv_->NewBatch();
  again->Put(Cf::kRecords, Key(101), "y");
  again->Put(Cf::kMeta, Key(101), "z");
  s = kv_->Write(again.get(), true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(kv_->Get(Cf::kRecords, Key(101), &v).ok());
  EXPECT_EQ(v, "y");
}

}  // namespace
}  // namespace cotenant::storage
