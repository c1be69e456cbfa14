// The raw RocksDB baseline of the import benchmarks (import_raw_fill, ingest_bench): a
// database opened with the options the store opens RocksDB with (MakeRocksOptions of a
// default StoreOptions) and the store's "records" and "indexes" column families, and the
// keys the store writes for a record of an object with one indexed text field.

#ifndef COTENANT_BENCH_RAW_STORE_DB_H_
#define COTENANT_BENCH_RAW_STORE_DB_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
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

}  // namespace bench

#endif  // COTENANT_BENCH_RAW_STORE_DB_H_
