// The embedded engine: KvEngine over RocksDB with four column families sharing one block
// cache and one memtable budget.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>

#include "storage/kv.h"
#include "storage/rocksdb_engine.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

constexpr std::array<std::string_view, kNumCfs> kCfNames = {"records", "indexes", "meta",
                                                             "audit"};

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsIncomplete()) return Status::Busy("read needs I/O");
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Busy(s.ToString());
  return Status::Internal("storage engine: " + s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksSnapshot final : public KvSnapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

class RocksBatch final : public KvBatch {
 public:
  explicit RocksBatch(const std::array<rocksdb::ColumnFamilyHandle*, kNumCfs>& cfs) : cfs_(cfs) {}
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    // WriteBatch::Put only fails when the batch exceeds its size limit, which is unset.
    batch_.Put(cfs_[static_cast<int>(cf)], ToSlice(key), ToSlice(value)).PermitUncheckedError();
  }
  void Delete(Cf cf, std::string_view key) override {
    batch_.Delete(cfs_[static_cast<int>(cf)], ToSlice(key)).PermitUncheckedError();
  }
  size_t Count() const override { return static_cast<size_t>(batch_.Count()); }
  rocksdb::WriteBatch* get() { return &batch_; }

 private:
  const std::array<rocksdb::ColumnFamilyHandle*, kNumCfs>& cfs_;
  rocksdb::WriteBatch batch_;
};

class RocksIterator final : public KvIterator {
 public:
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string lower,
                std::string upper, const KvReadOptions& options)
      : lower_(std::move(lower)), upper_(std::move(upper)) {
    lower_slice_ = rocksdb::Slice(lower_);
    upper_slice_ = rocksdb::Slice(upper_);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    ro.fill_cache = options.fill_cache;
    if (options.snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    }
    it_.reset(db->NewIterator(ro, cf));
  }
  bool Valid() const override { return it_->Valid(); }
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { it_->SeekForPrev(ToSlice(key)); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override {
    rocksdb::Slice k = it_->key();
    return {k.data(), k.size()};
  }
  std::string_view value() const override {
    rocksdb::Slice v = it_->value();
    return {v.data(), v.size()};
  }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksEngine final : public KvEngine {
 public:
  RocksEngine(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              std::shared_ptr<rocksdb::Cache> cache)
      : db_(db), cache_(std::move(cache)) {
    // handles[0] is "default", which the store does not use.
    default_cf_ = handles[0];
    for (int i = 0; i < kNumCfs; ++i) cfs_[i] = handles[static_cast<size_t>(i) + 1];
  }

  ~RocksEngine() override {
    // Column-family handles go before the DB (RocksDB requires it).
    for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->DestroyColumnFamilyHandle(default_cf_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }

  std::unique_ptr<KvBatch> NewBatch() override { return std::make_unique<RocksBatch>(cfs_); }

  Status Write(KvBatch* batch, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocks(db_->Write(wo, static_cast<RocksBatch*>(batch)->get()));
  }

  Status Get(Cf cf, std::string_view key, std::string* value,
             const KvReadOptions& options) const override {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr) {
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    }
    if (options.cache_only) ro.read_tier = rocksdb::kBlockCacheTier;
    ro.fill_cache = options.fill_cache;
    rocksdb::PinnableSlice pinned;
    rocksdb::Status s = db_->Get(ro, cfs_[static_cast<int>(cf)], ToSlice(key), &pinned);
    if (!s.ok()) return FromRocks(s);
    value->assign(pinned.data(), pinned.size());
    return Status::OK();
  }

  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                          const KvReadOptions& options) const override {
    return std::make_unique<RocksIterator>(db_, cfs_[static_cast<int>(cf)], std::move(lower),
                                           std::move(upper), options);
  }

  std::shared_ptr<const KvSnapshot> GetSnapshot() const override {
    return std::make_shared<RocksSnapshot>(db_, db_->GetSnapshot());
  }

  Status DropRange(Cf cf, std::string_view begin, std::string_view end) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto* h = cfs_[static_cast<int>(cf)];
    rocksdb::Slice b = ToSlice(begin), e = ToSlice(end);
    COTENANT_RETURN_IF_ERROR(FromRocks(db_->DeleteRange(wo, h, b, e)));
    // Range tombstones slow iterators while they pile up; compacting the range drops
    // them together with the data they cover.
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocks(db_->CompactRange(co, h, &b, &e));
  }

  Status SyncWal() override { return FromRocks(db_->SyncWAL()); }

  void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const override {
    *block_cache = cache_->GetUsage();
    uint64_t total = 0;
    for (auto* h : cfs_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kSizeAllMemTables, &v)) total += v;
    }
    *memtables = total;
  }

 private:
  rocksdb::DB* db_;
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> cfs_{};
};

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

void MakeRocksOptions(const StoreOptions& options, std::shared_ptr<rocksdb::Cache>* cache,
                      rocksdb::DBOptions* db_options, rocksdb::ColumnFamilyOptions* cf_options) {
  *cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  db_options->create_if_missing = true;
  db_options->create_missing_column_families = true;
  db_options->max_background_jobs = options.background_jobs;
  db_options->bytes_per_sync = 1 << 20;
  // One memtable budget across the column families, so memory follows the flag.
  db_options->write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memtable_bytes);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = *cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;

  cf_options->table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options->write_buffer_size = std::max<size_t>(options.memtable_bytes / 2, 4u << 20);
  cf_options->max_write_buffer_number = 3;
  cf_options->compression = rocksdb::kLZ4Compression;
  cf_options->level_compaction_dynamic_level_bytes = true;
}

Status OpenRocksEngine(const StoreOptions& options, std::unique_ptr<KvEngine>* out) {
  std::shared_ptr<rocksdb::Cache> cache;
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  MakeRocksOptions(options, &cache, &db_options, &cf_options);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (auto name : kCfNames) descriptors.emplace_back(std::string(name), cf_options);

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!s.ok()) return Status::Internal("cannot open data directory " + options.path + ": " + s.ToString());
  *out = std::make_unique<RocksEngine>(db, std::move(handles), std::move(cache));
  return Status::OK();
}

}  // namespace cotenant::storage
