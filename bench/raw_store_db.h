// The raw RocksDB baseline of the import benchmarks (import_raw_fill, ingest_bench): a
// database opened with the options the store opens RocksDB with (MakeRocksOptions of a
// default StoreOptions) and the store's "records" and "indexes" column families, and the
// keys the store writes for a record of an object with one indexed text field; and the
// WAL syncer that gives such a database the store's group durability.

#ifndef COTENANT_BENCH_RAW_STORE_DB_H_
#define COTENANT_BENCH_RAW_STORE_DB_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/key_encoding.h"
#include "storage/rocksdb_engine.h"
#include "storage/storage.h"

namespace bench {

// Ids as a first tenant's first object gets them; any fixed values give the same key shapes.
inline constexpr uint64_t kRawTenant = 2;
inline constexpr uint32_t kRawObject = 1;
inline constexpr uint16_t kRawIndexedSlot = 0;

class RawStoreDb {
 public:
  // Opens (creating) the database in `dir`. Throws std::runtime_error naming the failure.
  explicit RawStoreDb(const std::string& dir) {
    cotenant::storage::StoreOptions options;
    options.path = dir;
    rocksdb::DBOptions dbo;
    rocksdb::ColumnFamilyOptions cfo;
    cotenant::storage::MakeRocksOptions(options, &cache_, &dbo, &cfo);
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, cfo}, {"records", cfo}, {"indexes", cfo}};
    rocksdb::DB* db = nullptr;
    Check(rocksdb::DB::Open(dbo, dir, cfs, &handles_, &db), "open " + dir);
    db_.reset(db);
  }
  ~RawStoreDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
  RawStoreDb(const RawStoreDb&) = delete;
  RawStoreDb& operator=(const RawStoreDb&) = delete;

  rocksdb::DB* db() const { return db_.get(); }

  // Adds to `wb` what the store writes for record `id` holding `value`, whose indexed field
  // is `indexed`: the record key tenant|object|id (big-endian) with the value in "records",
  // and the index key tenant|object|slot|value|id with an empty value in "indexes".
  void PutRow(rocksdb::WriteBatch* wb, uint64_t id, std::string_view indexed,
              std::string_view value) {
    using namespace cotenant::storage;
    rkey_.clear();
    AppendU64(&rkey_, kRawTenant);
    AppendU32(&rkey_, kRawObject);
    AppendU64(&rkey_, id);
    ikey_.clear();
    AppendU64(&ikey_, kRawTenant);
    AppendU32(&ikey_, kRawObject);
    AppendU16(&ikey_, kRawIndexedSlot);
    AppendOrdered(&ikey_, Value::Text(std::string(indexed)));
    AppendU64(&ikey_, id);
    Check(wb->Put(handles_[1], rkey_, rocksdb::Slice(value.data(), value.size())), "batch put");
    Check(wb->Put(handles_[2], ikey_, rocksdb::Slice()), "batch put");
  }

  void Write(rocksdb::WriteBatch* wb) { Check(db_->Write(rocksdb::WriteOptions(), wb), "write"); }

 private:
  static void Check(const rocksdb::Status& s, const std::string& what) {
    if (!s.ok()) throw std::runtime_error(what + ": " + s.ToString());
  }

  std::shared_ptr<rocksdb::Cache> cache_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
  std::string rkey_, ikey_;
};

// Syncs the WAL every interval_ms until destroyed, as the store's group durability does
// (0: never). A failed sync ends the process with a message naming `who`.
class WalSyncer {
 public:
  WalSyncer(rocksdb::DB* db, int interval_ms, const char* who)
      : db_(db), interval_(interval_ms), who_(who) {
    if (interval_ms > 0) thread_ = std::thread([this] { Run(); });
  }
  ~WalSyncer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      cv_.wait_for(l, std::chrono::milliseconds(interval_));
      if (stop_) break;
      l.unlock();
      rocksdb::Status s = db_->SyncWAL();
      l.lock();
      if (!s.ok()) {
        std::fprintf(stderr, "%s: SyncWAL: %s\n", who_, s.ToString().c_str());
        std::exit(1);
      }
    }
  }

  rocksdb::DB* db_;
  int interval_;
  const char* who_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bench

#endif  // COTENANT_BENCH_RAW_STORE_DB_H_
