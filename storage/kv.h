// KvEngine: the narrow ordered key-value interface the store is written against.
//
// Batched atomic writes, point reads, bounded iteration and consistent snapshots over a
// fixed set of column families. RocksDB implements it (storage/rocksdb_engine.cc); a
// distributed engine can take its place without anything above storage/ changing.
//
// Thread safety: an engine is safe for concurrent use. Batches, iterators and snapshots
// are used by one thread at a time; a snapshot may be shared read-only.

#ifndef COTENANT_STORAGE_KV_H_
#define COTENANT_STORAGE_KV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cotenant::storage {

enum class Cf : unsigned char { kRecords = 0, kIndexes = 1, kMeta = 2, kAudit = 3 };
inline constexpr int kNumCfs = 4;
std::string_view CfName(Cf cf);

class KvSnapshot {
 public:
  virtual ~KvSnapshot() = default;
};

class KvBatch {
 public:
  virtual ~KvBatch() = default;
  virtual void Put(Cf cf, std::string_view key, std::string_view value) = 0;
  virtual void Delete(Cf cf, std::string_view key) = 0;
  virtual size_t Count() const = 0;
};

class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual bool Valid() const = 0;
  virtual void Seek(std::string_view key) = 0;          // first key >= key
  virtual void SeekForPrev(std::string_view key) = 0;   // last key <= key
  virtual void SeekToFirst() = 0;                       // first key >= lower bound
  virtual void SeekToLast() = 0;                        // last key < upper bound
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // REQUIRES: Valid(). Views stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Non-OK when iteration stopped because of an error rather than the end.
  virtual Status status() const = 0;
};

struct BackupInfo;  // storage/backup.h

struct KvReadOptions {
  const KvSnapshot* snapshot = nullptr;  // nullptr = latest
  bool cache_only = false;               // Get: Busy instead of disk I/O
  bool fill_cache = true;                // false for long scans
};

class KvEngine {
 public:
  virtual ~KvEngine() = default;

  virtual std::unique_ptr<KvBatch> NewBatch() = 0;
  // Applies the batch atomically. With sync the WAL is fsynced before returning.
  virtual Status Write(KvBatch* batch, bool sync) = 0;
  // NotFound when absent.
  virtual Status Get(Cf cf, std::string_view key, std::string* value,
                     const KvReadOptions& options = {}) const = 0;
  // Reads many keys of one column family in one call: (*statuses)[i] is OK with
  // (*values)[i] set, NotFound, or Busy (cache_only and the key needs I/O). Both vectors
  // are resized to keys.size().
  virtual void MultiGet(Cf cf, const std::vector<std::string>& keys,
                        std::vector<std::string>* values, std::vector<Status>* statuses,
                        const KvReadOptions& options = {}) const = 0;
  // Iterates over [lower, upper).
  virtual std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                                  const KvReadOptions& options = {}) const = 0;
  virtual std::shared_ptr<const KvSnapshot> GetSnapshot() const = 0;
  // Removes [begin, end) without reading it, then compacts that range.
  virtual Status DropRange(Cf cf, std::string_view begin, std::string_view end) = 0;
  // Fsyncs the WAL (group-commit durability calls it periodically).
  virtual Status SyncWal() = 0;
  virtual void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const = 0;
  // Adds a consistent backup of every column family to `dir` (created when missing),
  // sharing the files earlier backups there hold; then, when keep > 0, deletes the oldest
  // backups beyond the newest `keep`. An engine without backups answers InvalidArgument.
  virtual Status Backup(const std::string& dir, uint32_t keep, BackupInfo* out);
};

struct StoreOptions;
// Opens the RocksDB engine at options.path with the four column families.
Status OpenRocksEngine(const StoreOptions& options, std::unique_ptr<KvEngine>* out);
// Opens the RocksDB engine at `path` read-only (the checker): nothing is written, and
// every write answers an error. The directory must exist and hold the four families.
Status OpenRocksEngineReadOnly(const std::string& path, std::unique_ptr<KvEngine>* out);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_KV_H_
