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
#include <optional>
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
  // Makes the batch conditional: it is written only if `key` of `cf` then holds `value`
  // (nullopt = is absent), checked atomically with the write against what every process
  // of the store wrote; otherwise Write writes nothing and answers ConditionFailed().
  // Conditional writes of one key are serialised across processes, so two writers that
  // both read a key and both expect what they read cannot both succeed: this is how
  // several front-ends of one store keep sequences, unique values, record versions and
  // the generations of access rights exact. The last Expect of a key wins.
  virtual void Expect(Cf cf, std::string_view key, std::optional<std::string_view> value) = 0;
  virtual bool conditional() const = 0;
};

// What Write answers when a condition of the batch (KvBatch::Expect) does not hold:
// another writer changed the key first. The caller reads again and decides again.
Status ConditionFailed(std::string_view what = {});
bool IsConditionFailed(const Status& s);

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

// Writes one sorted file of one column family, for KvEngine::IngestFiles. Used by one
// thread at a time. A writer abandoned before Finish leaves a partial file that the
// caller deletes.
class KvFileWriter {
 public:
  virtual ~KvFileWriter() = default;
  // REQUIRES: key is greater than every key put before.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // Bytes written so far (an estimate until Finish).
  virtual uint64_t FileSize() const = 0;
  // Completes the file. REQUIRES: at least one Put.
  virtual Status Finish() = 0;
};

// One file to ingest and the column family it goes to.
struct KvIngestFile {
  Cf cf = Cf::kRecords;
  std::string path;
};

struct KvReadOptions {
  const KvSnapshot* snapshot = nullptr;  // nullptr = latest
  // Get, MultiGet: Busy instead of disk I/O; also Busy for an empty value, which a
  // memory-only read cannot tell from a value it did not find (read it again with I/O).
  bool cache_only = false;
  bool fill_cache = true;                // false for long scans
};

class KvEngine {
 public:
  virtual ~KvEngine() = default;

  virtual std::unique_ptr<KvBatch> NewBatch() = 0;
  // True when other processes may write the store at the same time (several front-ends
  // of one PostgreSQL store): what a process holds in memory may then be stale, and
  // the store and the layers above read what must be current from the engine.
  virtual bool shared() const { return false; }
  // Applies the batch atomically. With sync the WAL is fsynced before returning.
  // InvalidArgument for a key longer than the engine holds (PostgreSQL: 2048 bytes);
  // Unavailable when the engine's server was lost and the outcome is unknown.
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

  // ---- Sorted files (physical import) ----
  // An engine without them answers InvalidArgument to each.

  // Starts a sorted file of `cf` at `path` (a new file under the data directory) in the
  // format IngestFiles takes.
  virtual Status NewFileWriter(Cf cf, const std::string& path, std::unique_ptr<KvFileWriter>* out);
  // Iterates over a finished file written by NewFileWriter, in key order, bounded by
  // nothing: SeekToFirst is its first key.
  virtual Status OpenFile(const std::string& path, std::unique_ptr<KvIterator>* out) const;
  // Makes every file's entries visible in one atomic step, across column families: after
  // OK all are, after an error or a crash none is. Files of one column family may
  // overlap each other: of a key in several, the file listed last wins (as the later put
  // of a batch does); a key in a file replaces the same key already stored. The files
  // are hard-linked into the engine where the file system allows (copied otherwise); the
  // caller deletes its own paths afterwards either way.
  virtual Status IngestFiles(const std::vector<KvIngestFile>& files);
};

struct StoreOptions;
// Opens the RocksDB engine at options.path with the four column families.
Status OpenRocksEngine(const StoreOptions& options, std::unique_ptr<KvEngine>* out);
// Opens the PostgreSQL engine at the connection URI options.storage, creating or
// upgrading the store's tables in the schema its search_path names. Conflict when another
// process has the store open; Unavailable when the server cannot be reached.
Status OpenPostgresEngine(const StoreOptions& options, std::unique_ptr<KvEngine>* out);
// Opens the RocksDB engine at `path` read-only (the checker): nothing is written, and
// every write answers an error. The directory must exist and hold the four families.
Status OpenRocksEngineReadOnly(const std::string& path, std::unique_ptr<KvEngine>* out);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_KV_H_
