// The embedded engine: KvEngine over RocksDB with four column families sharing one block
// cache and one memtable budget.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <sys/statvfs.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/background.h"

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

// A memory-only read (kBlockCacheTier) that found an empty value. RocksDB's batched
// MultiGet can answer OK with no value for a key whose data block is not cached (the
// Incomplete is lost; seen on a store larger than its block cache), which cannot be told
// from a stored empty value: the read is answered as needing I/O, and the read that
// follows with I/O gives the true value.
Status CacheOnlyEmpty() { return Status::Busy("read needs I/O"); }

class RocksSnapshot final : public KvSnapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

rocksdb::ReadOptions ReadOptionsOf(const KvReadOptions& options) {
  rocksdb::ReadOptions ro;
  if (options.snapshot != nullptr) {
    ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
  }
  if (options.cache_only) ro.read_tier = rocksdb::kBlockCacheTier;
  ro.fill_cache = options.fill_cache;
  return ro;
}

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
  void Expect(Cf cf, std::string_view key, std::optional<std::string_view> value) override {
    expected_[{cf, std::string(key)}] =
        value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
  }
  bool conditional() const override { return !expected_.empty(); }
  rocksdb::WriteBatch* get() { return &batch_; }
  const std::map<std::pair<Cf, std::string>, std::optional<std::string>>& expected() const {
    return expected_;
  }

 private:
  const std::array<rocksdb::ColumnFamilyHandle*, kNumCfs>& cfs_;
  rocksdb::WriteBatch batch_;
  std::map<std::pair<Cf, std::string>, std::optional<std::string>> expected_;
};

// A KvIterator over a rocksdb::Iterator that the subclass opens into it_. The subclass's
// destructor resets it_ first: what the iterator reads from (bounds, a file reader) are
// the subclass's members, destroyed before the base's.
class RocksIteratorBase : public KvIterator {
 public:
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

 protected:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksIterator final : public RocksIteratorBase {
 public:
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string lower,
                std::string upper, const KvReadOptions& options)
      : lower_(std::move(lower)), upper_(std::move(upper)) {
    lower_slice_ = rocksdb::Slice(lower_);
    upper_slice_ = rocksdb::Slice(upper_);
    rocksdb::ReadOptions ro = ReadOptionsOf(options);
    ro.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro, cf));
  }
  ~RocksIterator() override { it_.reset(); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
};

class RocksFileWriter final : public KvFileWriter {
 public:
  RocksFileWriter(const rocksdb::Options& options, rocksdb::ColumnFamilyHandle* cf)
      // The page cache keeps what was written: the file is read again soon (merged, or
      // served once ingested).
      : writer_(rocksdb::EnvOptions(), options, cf, /*invalidate_page_cache=*/false) {}
  Status Open(const std::string& path) { return FromRocks(writer_.Open(path)); }
  Status Put(std::string_view key, std::string_view value) override {
    return FromRocks(writer_.Put(ToSlice(key), ToSlice(value)));
  }
  uint64_t FileSize() const override { return writer_.FileSize(); }
  Status Finish() override { return FromRocks(writer_.Finish()); }

 private:
  mutable rocksdb::SstFileWriter writer_;  // its FileSize() is not const
};

// A finished sorted file, iterated whole (no bounds). The reader outlives its iterator.
class RocksFileIterator final : public RocksIteratorBase {
 public:
  explicit RocksFileIterator(const rocksdb::Options& options) : reader_(options) {}
  ~RocksFileIterator() override { it_.reset(); }
  Status Open(const std::string& path) {
    COTENANT_RETURN_IF_ERROR(FromRocks(reader_.Open(path)));
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    it_.reset(reader_.NewIterator(ro));
    return Status::OK();
  }

 private:
  rocksdb::SstFileReader reader_;
};

class RocksEngine final : public KvEngine {
 public:
  RocksEngine(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              std::shared_ptr<rocksdb::Cache> cache, std::string path, uint64_t min_free_bytes)
      : path_(std::move(path)), min_free_(min_free_bytes), db_(db), cache_(std::move(cache)) {
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
    auto* rb = static_cast<RocksBatch*>(batch);
    rocksdb::WriteBatch* b = rb->get();
    COTENANT_RETURN_IF_ERROR(Writable(b->GetDataSize()));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    if (!rb->conditional()) return Written(db_->Write(wo, b));
    // One process holds the store: conditional writes checked and written one at a time
    // are atomic against each other.
    std::lock_guard<std::mutex> l(condition_mu_);
    for (const auto& [ck, want] : rb->expected()) {
      std::string have;
      Status s = Get(ck.first, ck.second, &have, {});
      if (!s.ok() && !s.IsNotFound()) return s;
      if (s.ok() != want.has_value() || (want && have != *want)) {
        return ConditionFailed(CfName(ck.first));
      }
    }
    return Written(db_->Write(wo, b));
  }

  Status Get(Cf cf, std::string_view key, std::string* value,
             const KvReadOptions& options) const override {
    rocksdb::ReadOptions ro = ReadOptionsOf(options);
    rocksdb::PinnableSlice pinned;
    rocksdb::Status s = db_->Get(ro, cfs_[static_cast<int>(cf)], ToSlice(key), &pinned);
    if (!s.ok()) return FromRocks(s);
    if (options.cache_only && pinned.empty()) return CacheOnlyEmpty();
    value->assign(pinned.data(), pinned.size());
    return Status::OK();
  }

  void MultiGet(Cf cf, const std::vector<std::string>& keys, std::vector<std::string>* values,
                std::vector<Status>* statuses, const KvReadOptions& options) const override {
    rocksdb::ReadOptions ro = ReadOptionsOf(options);
    const size_t n = keys.size();
    std::vector<rocksdb::Slice> slices;
    slices.reserve(n);
    for (const auto& k : keys) slices.push_back(ToSlice(k));
    std::vector<rocksdb::PinnableSlice> pinned(n);
    std::vector<rocksdb::Status> rs(n);
    if (n > 0) {
      db_->MultiGet(ro, cfs_[static_cast<int>(cf)], n, slices.data(), pinned.data(), rs.data());
    }
    values->assign(n, std::string());
    statuses->assign(n, Status::OK());
    for (size_t i = 0; i < n; ++i) {
      if (rs[i].ok() && options.cache_only && pinned[i].empty()) {
        (*statuses)[i] = CacheOnlyEmpty();
      } else if (rs[i].ok()) {
        (*values)[i].assign(pinned[i].data(), pinned[i].size());
      } else {
        (*statuses)[i] = FromRocks(rs[i]);
      }
    }
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
    COTENANT_RETURN_IF_ERROR(Writable(0));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto* h = cfs_[static_cast<int>(cf)];
    rocksdb::Slice b = ToSlice(begin), e = ToSlice(end);
    COTENANT_RETURN_IF_ERROR(Written(db_->DeleteRange(wo, h, b, e)));
    // Range tombstones slow iterators while they pile up; compacting the range drops
    // them together with the data they cover.
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocks(db_->CompactRange(co, h, &b, &e));
  }

  Status SyncWal() override {
    // Never sync a WAL whose last write failed: RocksDB does not expect it. The latched
    // error is the answer until Resume() succeeds. (A disk that is merely low on space
    // is synced as usual: the writes already acknowledged must reach it.)
    if (failed_.load(std::memory_order_acquire)) {
      TryResume();
      if (failed_.load(std::memory_order_acquire)) return DiskFull();
    }
    return Written(db_->SyncWAL());
  }

  Status Backup(const std::string& dir, uint32_t keep, BackupInfo* out) override {
    std::unique_lock<std::mutex> l(backup_mu_, std::try_to_lock);
    if (!l.owns_lock()) return Status::Busy("a backup of this store is already running; retry when it ends");
    return BackupRocks(db_, dir, keep, out);
  }

  Status NewFileWriter(Cf cf, const std::string& path,
                       std::unique_ptr<KvFileWriter>* out) override {
    COTENANT_RETURN_IF_ERROR(Writable(0));
    auto* h = cfs_[static_cast<int>(cf)];
    // The family's own options (comparator, table format, compression, filters), so an
    // ingested file reads like one the engine flushed.
    auto w = std::make_unique<RocksFileWriter>(db_->GetOptions(h), h);
    COTENANT_RETURN_IF_ERROR(w->Open(path));
    *out = std::move(w);
    return Status::OK();
  }

  Status OpenFile(const std::string& path, std::unique_ptr<KvIterator>* out) const override {
    // Every family has the same comparator and table format (MakeRocksOptions), so any
    // family's options read any family's file.
    auto it = std::make_unique<RocksFileIterator>(db_->GetOptions(cfs_[0]));
    COTENANT_RETURN_IF_ERROR(it->Open(path));
    *out = std::move(it);
    return Status::OK();
  }

  Status IngestFiles(const std::vector<KvIngestFile>& files) override {
    COTENANT_RETURN_IF_ERROR(Writable(0));
    std::array<std::vector<std::string>, kNumCfs> by_cf;
    for (const auto& f : files) by_cf[static_cast<int>(f.cf)].push_back(f.path);
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;  // hard links; a copy only where linking fails
    io.failed_move_fall_back_to_copy = true;
    // Files overlapping each other or the store's older entries get a sequence number
    // of their own, kept in the manifest rather than written into the file.
    io.allow_global_seqno = true;
    io.write_global_seqno = false;
    io.snapshot_consistency = true;
    io.allow_blocking_flush = true;
    std::vector<rocksdb::IngestExternalFileArg> args;
    for (int i = 0; i < kNumCfs; ++i) {
      if (by_cf[i].empty()) continue;
      rocksdb::IngestExternalFileArg a;
      a.column_family = cfs_[i];
      a.external_files = by_cf[i];
      a.options = io;
      args.push_back(std::move(a));
    }
    if (args.empty()) return Status::OK();
    // One manifest record for every family: atomic across them, also through a crash.
    return Written(db_->IngestExternalFiles(args));
  }

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
  // ---- Disk full ----------------------------------------------------------------------
  // RocksDB must never meet a full disk on a write: after a failed WAL write it may abort
  // the process. So the engine keeps a reserve: while the data directory's file system
  // has less than min_free_ bytes available, writes answer ResourceExhausted("disk full")
  // at once without reaching RocksDB; reads go on, the WAL of acknowledged writes is
  // still synced, /healthz reports it, and writes resume by themselves once space is
  // back. Free space is looked at every 100 ms and whenever min_free_/8 bytes have been
  // written since the last look. Should a write fail for lack of space all the same, the
  // engine latches that failure (no further write or sync reaches RocksDB) and calls
  // DB::Resume() at most once a second until it succeeds. An acknowledged write is in the
  // WAL before its answer, so nothing acknowledged is lost.
  static constexpr const char* kFullWork = "storage writes";

  Status Writable(size_t bytes) {
    if (failed_.load(std::memory_order_acquire)) {
      TryResume();
      if (failed_.load(std::memory_order_acquire)) return DiskFull();
    }
    if (min_free_ == 0) return Status::OK();
    uint64_t since = since_check_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    auto now = std::chrono::steady_clock::now();
    if (since >= min_free_ / 8 || now >= next_check_.load(std::memory_order_relaxed)) CheckSpace(now);
    return low_.load(std::memory_order_acquire) ? DiskFull() : Status::OK();
  }

  void CheckSpace(std::chrono::steady_clock::time_point now) {
    std::unique_lock<std::mutex> l(space_mu_, std::try_to_lock);
    if (!l.owns_lock()) return;  // another thread is looking
    since_check_.store(0, std::memory_order_relaxed);
    next_check_.store(now + std::chrono::milliseconds(100), std::memory_order_relaxed);
    struct statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) != 0) return;
    uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    bool was_low = low_.load(std::memory_order_relaxed);
    // A little hysteresis, so writes do not flap at the threshold.
    bool low = was_low ? free < min_free_ + min_free_ / 8 : free < min_free_;
    if (low == was_low) return;
    low_.store(low, std::memory_order_release);
    if (low) {
      spdlog::error("storage: disk full ({} MiB free, the reserve is {} MiB); writes refused, reads go on",
                    free >> 20, min_free_ >> 20);
      (void)BackgroundFaults::Process().Fail(kFullWork, "disk full");
    } else if (!failed_.load(std::memory_order_acquire)) {
      BackgroundFaults::Process().Succeed(kFullWork);
      spdlog::warn("storage: space is available again ({} MiB free); writes resumed", free >> 20);
    }
  }

  static Status DiskFull() {
    return Status::ResourceExhausted("disk full: the server cannot write until space is freed; reads go on");
  }

  Status Written(const rocksdb::Status& s) {
    if (s.ok()) return Status::OK();
    if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) {
      if (!failed_.exchange(true, std::memory_order_acq_rel)) {
        spdlog::error("storage: a write failed for lack of space ({}); writes refused, reads go on",
                      s.ToString());
        std::lock_guard<std::mutex> l(resume_mu_);
        next_resume_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      }
      (void)BackgroundFaults::Process().Fail(kFullWork, "disk full");
      return DiskFull();
    }
    return FromRocks(s);
  }

  void TryResume() {
    std::unique_lock<std::mutex> l(resume_mu_, std::try_to_lock);
    if (!l.owns_lock()) return;  // another thread is trying
    auto now = std::chrono::steady_clock::now();
    if (now < next_resume_) return;
    next_resume_ = now + std::chrono::seconds(1);
    if (!db_->Resume().ok()) return;
    failed_.store(false, std::memory_order_release);
    if (!low_.load(std::memory_order_acquire)) BackgroundFaults::Process().Succeed(kFullWork);
    spdlog::warn("storage: writes resumed after a failed write");
  }

  const std::string path_;
  const uint64_t min_free_;
  std::atomic<bool> low_{false};     // below the reserve
  std::atomic<bool> failed_{false};  // a write failed for lack of space
  std::atomic<uint64_t> since_check_{0};
  std::atomic<std::chrono::steady_clock::time_point> next_check_{};
  std::mutex space_mu_;
  std::mutex resume_mu_;
  std::mutex backup_mu_;  // one backup at a time
  std::mutex condition_mu_;  // conditional writes, one at a time
  std::chrono::steady_clock::time_point next_resume_;

  rocksdb::DB* db_;
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> cfs_{};
};

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

namespace {
constexpr std::string_view kConditionFailed =
    "changed by another call at the same moment; send the call again";
}  // namespace

Status ConditionFailed(std::string_view what) {
  std::string msg(kConditionFailed);
  if (!what.empty()) msg.append(" (").append(what).append(")");
  return Status::Busy(msg);
}

bool IsConditionFailed(const Status& s) {
  return s.IsBusy() && s.message().rfind(kConditionFailed, 0) == 0;
}

Status KvEngine::NewFileWriter(Cf, const std::string&, std::unique_ptr<KvFileWriter>*) {
  return Status::InvalidArgument("this storage engine does not write sorted files; use a logical import");
}
Status KvEngine::OpenFile(const std::string&, std::unique_ptr<KvIterator>*) const {
  return Status::InvalidArgument("this storage engine does not read sorted files");
}
Status KvEngine::IngestFiles(const std::vector<KvIngestFile>&) {
  return Status::InvalidArgument("this storage engine does not ingest sorted files; use a logical import");
}

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
  *out = std::make_unique<RocksEngine>(db, std::move(handles), std::move(cache), options.path,
                                       options.min_free_disk_bytes);
  return Status::OK();
}

Status OpenRocksEngineReadOnly(const std::string& path, std::unique_ptr<KvEngine>* out) {
  StoreOptions options;
  options.path = path;
  options.block_cache_bytes = 32u << 20;
  options.memtable_bytes = 16u << 20;
  std::shared_ptr<rocksdb::Cache> cache;
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  MakeRocksOptions(options, &cache, &db_options, &cf_options);
  // A read-only open replays the write-ahead log into memory and writes nothing: not the
  // LOCK, not a manifest, not a flushed table.
  db_options.create_if_missing = false;
  db_options.create_missing_column_families = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (auto name : kCfNames) descriptors.emplace_back(std::string(name), cf_options);
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &db);
  if (!s.ok()) {
    return Status::Internal("cannot open data directory " + path + " read-only: " + s.ToString());
  }
  *out = std::make_unique<RocksEngine>(db, std::move(handles), std::move(cache), path, 0);
  return Status::OK();
}

}  // namespace cotenant::storage
