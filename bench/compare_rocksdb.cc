// bench/compare: raw RocksDB in this process, the floor under cotenantd's storage. The
// database is opened by bench::RawStoreDb (MakeRocksOptions of a default StoreOptions: the
// store's block cache, memtable budget, bloom filters, LZ4, and its column families) on a
// fresh temporary directory; WAL on and, like cotenantd's default group durability, synced
// every 10 ms by a thread of its own rather than per write.
//
// RawStoreDb keeps its column-family handles to itself (it only writes whole import rows),
// so the rows live in its default family, which it opens with the very same options. Keys
// are the store's: the record key tenant|object|id with an encoded record (the store's
// codec: k and the 10 text fields) as its value, and on load and insert the index entry of
// k, as cotenantd writes it for its indexed field (under the next object id, so that index
// entries do not sit between the records a scan walks).

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <mutex>

#include "bench/raw_store_db.h"
#include "compare.h"
#include "storage/record_codec.h"

namespace compare {
namespace {

namespace st = cotenant::storage;
constexpr uint64_t kTenant = bench::kRawTenant;
constexpr uint32_t kObject = bench::kRawObject;
constexpr uint32_t kIndexObject = bench::kRawObject + 1;
constexpr int kKSlot = 0;

void Check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) Fail("rocksdb: " + what + ": " + s.ToString());
}


std::string RecordKey(uint64_t key) { return st::RecordKey(kTenant, kObject, key + 1); }
std::string IndexKey(uint64_t key) {
  return st::IndexKey(kTenant, kIndexObject, kKSlot, st::Value::Int(static_cast<int64_t>(key)), key + 1);
}

class Target;

class RocksSession : public Session {
 public:
  explicit RocksSession(Target& t) : t_(t) {}
  void Read(uint64_t key) override;
  void Update(uint64_t key, uint64_t row) override;
  void Insert(uint64_t key, uint64_t row) override;
  void Scan(uint64_t key, int length) override;

 private:
  Target& t_;
  rocksdb::PinnableSlice got_;
};

class Target : public RocksTarget {
 public:
  Target(const Options& o, const RowPool& pool, size_t sessions)
      : o_(o), next_insert_(o.records) {
    char tmpl[] = "/tmp/cotenant-compare-rocksdb-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = tmpl;
    rpc_bench::RememberTmpdir(dir_, true);
    try {
      raw_.emplace(dir_ + "/db");
    } catch (const std::exception& e) {
      Cleanup();
      Fail(std::string("rocksdb: ") + e.what());
    }
    db_ = raw_->db();
    syncer_.emplace(db_, 10, "compare");
    upper_ = st::PrefixSuccessor(st::ObjectPrefix(kTenant, kObject));
    upper_slice_ = rocksdb::Slice(upper_);
    for (size_t i = 0; i < pool.size(); ++i) values_.push_back(Encode(pool, i));
    for (size_t i = 0; i < sessions; ++i) sessions_.push_back(std::make_unique<RocksSession>(*this));
  }
  ~Target() override { Cleanup(); }

  std::string name() const override { return "rocksdb"; }
  Session& session(size_t thread) override { return *sessions_.at(thread); }
  uint64_t NextInsertKey() override { return next_insert_.fetch_add(1); }
  std::string dir() const override { return dir_; }

  // WriteBatches of kLoadBatch records (record + index entry each).
  LoadReport Load(const RowPool& pool) override {
    auto t0 = Clock::now();
    rocksdb::WriteBatch wb;
    for (uint64_t first = 0; first < o_.records; first += kLoadBatch) {
      wb.Clear();
      uint64_t n = std::min<uint64_t>(kLoadBatch, o_.records - first);
      for (uint64_t k = first; k < first + n; ++k) {
        std::string v = Encode(pool, k);
        Check(wb.Put(RecordKey(k), v), "batch put");
        Check(wb.Put(IndexKey(k), rocksdb::Slice()), "batch put");
      }
      Check(db_->Write(rocksdb::WriteOptions(), &wb), "load write at key " + std::to_string(first));
    }
    return {rpc_bench::Seconds(t0, Clock::now()),
            "WriteBatch of " + std::to_string(kLoadBatch) + " records (record + index entry)"};
  }

  double WaitQuiet(double timeout) override {
    auto t0 = Clock::now();
    int quiet = 0;
    while (rpc_bench::Seconds(t0, Clock::now()) < timeout && quiet < 2) {
      uint64_t flushes = 0, compactions = 0;
      db_->GetIntProperty("rocksdb.num-running-flushes", &flushes);
      db_->GetIntProperty("rocksdb.num-running-compactions", &compactions);
      quiet = flushes == 0 && compactions == 0 ? quiet + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return rpc_bench::Seconds(t0, Clock::now());
  }

  rocksdb::DB* db() const { return db_; }
  const std::string& value(uint64_t row) const { return values_[row % values_.size()]; }
  const rocksdb::Slice* upper() const { return &upper_slice_; }

 private:
  // The store's encoding of record `key` as cotenantd holds it: k, then field0..field9.
  static std::string Encode(const RowPool& pool, uint64_t key) {
    st::Record r;
    r.id = key + 1;
    r.version = 1;
    r.created_by = r.modified_by = 2;
    r.created_at = r.modified_at = 1700000000000000;
    r.values.push_back(st::Value::Int(static_cast<int64_t>(key)));
    for (const auto& f : pool.row(key)) r.values.push_back(st::Value::Text(f));
    std::string out;
    st::EncodeRecord(r, &out);
    return out;
  }

  void Cleanup() {
    sessions_.clear();
    syncer_.reset();
    raw_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    rpc_bench::RememberTmpdir(dir_, false);
  }

  const Options& o_;
  std::string dir_;
  std::optional<bench::RawStoreDb> raw_;
  rocksdb::DB* db_ = nullptr;
  std::optional<::bench::WalSyncer> syncer_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::vector<std::string> values_;
  std::vector<std::unique_ptr<RocksSession>> sessions_;
  std::atomic<uint64_t> next_insert_;
};

void RocksSession::Read(uint64_t key) {
  got_.Reset();
  rocksdb::Status s = t_.db()->Get(rocksdb::ReadOptions(), t_.db()->DefaultColumnFamily(), RecordKey(key), &got_);
  Check(s, "Get of key " + std::to_string(key));
  if (got_.size() < kFields * kFieldBytes) Fail("rocksdb: Get of key " + std::to_string(key) + " found a short value");
}

void RocksSession::Update(uint64_t key, uint64_t row) {
  Check(t_.db()->Put(rocksdb::WriteOptions(), RecordKey(key), t_.value(row)), "Put of key " + std::to_string(key));
}

void RocksSession::Insert(uint64_t key, uint64_t row) {
  rocksdb::WriteBatch wb;
  Check(wb.Put(RecordKey(key), t_.value(row)), "batch put");
  Check(wb.Put(IndexKey(key), rocksdb::Slice()), "batch put");
  Check(t_.db()->Write(rocksdb::WriteOptions(), &wb), "insert of key " + std::to_string(key));
}

void RocksSession::Scan(uint64_t key, int length) {
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = t_.upper();  // the object's records only
  std::unique_ptr<rocksdb::Iterator> it(t_.db()->NewIterator(ro));
  int n = 0;
  size_t bytes = 0;
  for (it->Seek(RecordKey(key)); it->Valid() && n < length; it->Next(), ++n) bytes += it->value().size();
  Check(it->status(), "scan from key " + std::to_string(key));
  if (n == 0 || bytes < static_cast<size_t>(n) * kFields * kFieldBytes) {
    Fail("rocksdb: scan from key " + std::to_string(key) + " found " + std::to_string(n) + " records");
  }
}

}  // namespace

std::unique_ptr<RocksTarget> OpenRocks(const Options& o, const RowPool& pool, size_t sessions) {
  return std::make_unique<Target>(o, pool, sessions);
}

}  // namespace compare
