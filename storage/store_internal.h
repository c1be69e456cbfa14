// Store::Impl: the in-memory catalog (tenants, objects, sequences) and the shared pieces
// of store.cc, store_tenants.cc, store_records.cc, store_meta.cc and search.cc. Internal
// to storage/.

#ifndef COTENANT_STORAGE_STORE_INTERNAL_H_
#define COTENANT_STORAGE_STORE_INTERNAL_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "storage/kv.h"
#include "storage/record_codec.h"
#include "storage/storage.h"

namespace cotenant::storage {

// Store-internal meta keys (below 0x20, see storage.h).
inline constexpr char kMetaObject = '\x01';    // T | 0x01 | name -> object JSON
inline constexpr char kMetaSequence = '\x02';  // T | 0x02 | name -> reserved-until u64
inline constexpr char kMetaTenant = '\x03';    // 0 | 0x03 | tenant u64 -> tenant JSON
// T | 0x04 | owner u64 | import id | 0x00 | sequence u64 -> the batch's outcomes
// (store_import.cc)
inline constexpr char kMetaImport = '\x04';

// The kMeta key of `key` in `tenant`'s range.
inline std::string MetaKey(TenantId tenant, std::string_view key) {
  std::string k = TenantPrefix(tenant);
  k.append(key);
  return k;
}

struct TenantState {
  TenantInfo info;
  bool deleting = false;  // guarded by Impl::catalog_mu_
  // Shared by every write into the tenant's ranges; exclusive while the deletion flips
  // the tombstone, so no write lands after the ranges are dropped.
  std::shared_mutex write_gate;
  // Objects by name. Guarded by Impl::catalog_mu_.
  std::map<std::string, std::shared_ptr<const ObjectDef>, std::less<>> objects;
  ObjectId next_object_id = 1;  // guarded by Impl::catalog_mu_

  // Records and bytes stored = a base counted once from a snapshot + what every write
  // since the start of the process added or removed. Writes update the deltas while
  // holding write_gate shared; the count takes its snapshot and reads the deltas with
  // the gate exclusive (for an instant: no scan under it), so no write is missed or
  // counted twice, and writes go on while the snapshot is scanned.
  std::atomic<bool> usage_ready{false};
  std::mutex usage_mu;                       // one first count at a time
  std::atomic<int64_t> usage_base_records{0};
  std::atomic<int64_t> usage_base_bytes{0};
  std::atomic<int64_t> usage_records{0};     // deltas
  std::atomic<int64_t> usage_bytes{0};
  void CountUsage(int64_t records, int64_t bytes) {
    usage_records.fetch_add(records, std::memory_order_relaxed);
    usage_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }

  // The store-enforced part of info.quota, readable without the catalog lock; 0 = none.
  std::atomic<uint64_t> quota_records{0};
  std::atomic<uint64_t> quota_bytes{0};
  void SetQuota(const TenantQuota& q) {
    quota_records.store(q.records, std::memory_order_relaxed);
    quota_bytes.store(q.bytes, std::memory_order_relaxed);
  }
  bool HasStoreQuota() const {
    return quota_records.load(std::memory_order_relaxed) != 0 ||
           quota_bytes.load(std::memory_order_relaxed) != 0;
  }

  // Objects being filled by a physical import (store_ingest.cc): object id -> the
  // ingest's name. Changed with write_gate exclusive and read by writes holding it shared
  // (so a write that adds records either lands before the ingest starts or is refused);
  // ingest_count lets writes skip ingest_mu when no ingest is open.
  std::mutex ingest_mu;
  std::map<ObjectId, std::string> ingests;
  std::atomic<int> ingest_count{0};

  // Durable sequences: ids below `reserved` are persisted as possibly used.
  struct Sequence {
    uint64_t next = 0;      // 0 = not loaded yet
    uint64_t reserved = 0;
  };
  std::mutex seq_mu;
  std::map<std::string, Sequence, std::less<>> sequences;
};

class Store::Impl {
 public:
  Impl(const StoreOptions& options, KvEngine* kv) : options_(options), kv_(kv) {}
  ~Impl();

  Status Load();
  // The catalog as the engine holds it: every tenant entry (with its tombstone), and the
  // objects of one tenant (into ts->objects and ts->next_object_id).
  Status ReadTenants(std::vector<std::pair<TenantInfo, bool>>* out) const;
  Status ReadObjects(TenantId tenant, TenantState* ts) const;
  // A tenant's state as the engine holds it (its entry and its objects).
  Status ReadTenant(const TenantInfo& info, bool deleting, std::shared_ptr<TenantState>* out) const;
  void StartSyncer();

  // Looks up a live tenant. NotFound for unknown or deleting tenants. On a shared
  // store, a tenant (or object) this process does not know is looked for in the engine
  // before the answer is NotFound: another front-end may have created it.
  Status Tenant(TenantId id, std::shared_ptr<TenantState>* out);
  // Looks up a live tenant and one of its objects.
  Status Object(TenantId tenant, std::string_view name, std::shared_ptr<TenantState>* ts,
                std::shared_ptr<const ObjectDef>* def);
  // Store::Refresh.
  Status Refresh(std::optional<TenantId> tenant);

  // Takes the tenant's write gate (shared) into *gate, so a deletion cannot drop the
  // tenant's ranges under the write; NotFound (gate released) when it is being deleted.
  Status EnterWrite(TenantState* ts, std::shared_lock<std::shared_mutex>* gate) const;

  // Counts a write's growth into the tenant's usage before the write, unless it takes the
  // tenant past its records or bytes quota (ResourceExhausted naming the quota; nothing
  // counted). Exact under concurrency: the growth is counted before it is checked.
  // REQUIRES: the usage is counted (EnsureUsage) and the caller holds ts->write_gate
  // (shared). On a failed write the caller takes the growth back with CountUsage.
  Status Grow(TenantState* ts, TenantId tenant, int64_t records, int64_t bytes);
  // Counts the tenant's usage if a quota needs it and it is not counted yet.
  // REQUIRES: the caller does not hold ts->write_gate.
  Status EnsureUsage(TenantState* ts, TenantId tenant);
  std::atomic<uint64_t> quota_refusals_records_{0};
  std::atomic<uint64_t> quota_refusals_bytes_{0};

  // Conflict when a physical import is filling `def` (writes adding records to it are
  // refused until it commits or aborts). REQUIRES: the caller holds ts->write_gate (shared).
  Status RefuseDuringIngest(TenantState* ts, const ObjectDef& def) const;

  // Allocates `count` consecutive ids of a sequence; returns the first. Ids are claimed
  // from the store in blocks of `block` beyond what is asked, so that most allocations
  // need no write; every front-end of a shared store claims its own blocks (ids are
  // unique, not dense). The first claim starts at `floor` or above (ids taken before the
  // sequence existed). REQUIRES: the caller holds ts->write_gate (shared) and checked
  // !deleting.
  static constexpr uint64_t kSequenceBlock = 1024;
  Status AllocateIds(TenantState* ts, TenantId tenant, std::string_view name, uint64_t count,
                     uint64_t* first, uint64_t floor = 0, uint64_t block = kSequenceBlock);

  // Lock stripes. A write takes them in this order, each kind in ascending stripe order
  // (StripeLocks), so no two writes wait for each other: the marker of an import batch,
  // then the unique values it claims, then the records it rewrites.
  //
  // One record: serialises read-modify-write of that record.
  std::mutex& RecordLock(TenantId t, ObjectId o, RecordId r) {
    size_t h = std::hash<uint64_t>()(t * 0x9E3779B97F4A7C15ULL ^ (uint64_t{o} << 40) ^ r);
    return record_locks_[h % record_locks_.size()];
  }
  // One value of a unique field (its UniqueKey): held from the check that no other record
  // holds it to the write that claims it. Releasing a value needs no stripe.
  std::mutex& UniqueLock(std::string_view unique_key) {
    return unique_locks_[std::hash<std::string_view>()(unique_key) % unique_locks_.size()];
  }
  // One import batch marker.
  std::mutex& MarkerLock(std::string_view marker_key) {
    return marker_locks_[std::hash<std::string_view>()(marker_key) % marker_locks_.size()];
  }

  bool sync_writes() const { return options_.durability == Durability::kSync; }
  // Other front-ends may write the store (KvEngine::shared): read-modify-writes are made
  // conditional on what they read.
  bool shared() const { return kv_->shared(); }
  // Makes `batch` conditional on the scope's conditions (the access decision behind a
  // write, RecordScope::conditions), on a shared store.
  void ExpectScope(KvBatch* batch, const RecordScope* scope) const {
    if (scope == nullptr || !shared()) return;
    for (const auto& c : scope->conditions) {
      batch->Expect(Cf::kMeta, MetaKey(c.tenant, c.key),
                    c.value ? std::optional<std::string_view>(*c.value) : std::nullopt);
    }
  }

  const StoreOptions& options_;
  KvEngine* kv_;
  // The catalog (tenants_, each tenant's objects, next_object_id, deleting, info.quota)
  // changes under both locks: catalog_write_mu_, held by one change at a time across its
  // synced write, then catalog_mu_ exclusive only for the instant the change is published
  // in memory. Readers take catalog_mu_ shared and so never wait for an fsync; a change
  // reads the catalog under catalog_write_mu_ alone.
  std::mutex catalog_write_mu_;
  mutable std::shared_mutex catalog_mu_;
  std::unordered_map<TenantId, std::shared_ptr<TenantState>> tenants_;  // live + deleting
  std::shared_ptr<TenantState> global_ = std::make_shared<TenantState>();
  std::array<std::mutex, 4096> record_locks_;
  std::array<std::mutex, 1024> unique_locks_;
  std::array<std::mutex, 64> marker_locks_;
  std::atomic<uint64_t> audit_seq_{0};
  uint64_t front_end_ = 0;  // this process's number among a shared store's; 0 = alone

  std::mutex syncer_mu_;
  std::condition_variable syncer_cv_;
  bool stopping_ = false;
  std::thread syncer_;
};

// An object definition as stored under T | 0x01 | name (store_tenants.cc); false when
// it does not decode. Shared with the checker (fsck.cc).
bool DecodeObjectJson(std::string_view text, ObjectDef* out);

// Reads the record a write replaces: NotFound when it is absent or outside the scope's
// rows, Conflict when it is not at `expected_version` (0 = any).
// REQUIRES: the record's lock is held.
Status ReadForWrite(const KvEngine& kv, const ObjectDef& def, std::string_view object,
                    const std::string& key, RecordId id, uint64_t expected_version,
                    const RecordScope* scope, std::string* current, Record* old);

// Shared with search.cc: validates and resolves field values for a write.
// Returns a record's values aligned with `def`, leaving `base` values for unnamed fields.
Status ApplyFieldValues(const ObjectDef& def, const FieldValues& fields,
                        const RecordScope* scope, bool is_add, std::vector<Value>* values);

// Deletes what ingests a crash interrupted left under the data directory (store_ingest.cc).
// REQUIRES: no ingest of this data directory is open.
Status RemoveLeftoverIngests(const std::string& data_dir);

// Shared by the record writes (store_records.cc, store_import.cc, store_ingest.cc).

// The index entries of a new record (its unique values' entries included). With
// expect_free (a shared store) the batch is written only if no record holds the unique
// values by then: the check against the store and the write are not atomic across
// front-ends, so the write itself is made conditional.
void AddIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                     const std::vector<Value>& values, bool expect_free);
// The index entries that change when record `id` goes from `old` to `now`; expect_free
// as for AddIndexEntries, for the unique values the record takes.
void UpdateIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                        const std::vector<Value>& old, const std::vector<Value>& now,
                        bool expect_free);

// Several lock stripes held together, taken in ascending order; see Store::Impl.
class StripeLocks {
 public:
  // Locks every stripe of `stripes` (duplicates once) in address order: the stripes of
  // one kind are one array, so that is ascending stripe order.
  void Lock(std::vector<std::mutex*> stripes);

 private:
  std::vector<std::unique_lock<std::mutex>> held_;
};

// A value of a unique field that a write gives a record.
struct UniqueValue {
  int slot = 0;
  std::string key;  // UniqueKey
};
// The unique values (not null) of a record of `def`: of every unique field, or only of
// the slots in `only` when it is given.
std::vector<UniqueValue> UniqueValuesOf(TenantId t, const ObjectDef& def,
                                        const std::vector<Value>& values,
                                        const std::vector<int>* only = nullptr);
// Conflict: a record other than the one written holds `v` in unique field `slot`.
Status UniqueConflict(const ObjectDef& def, int slot, const Value& v);
// The record holding unique key `key` (0 when none). REQUIRES: its stripe is held, or
// the answer is only a hint.
Status UniqueHolder(const KvEngine& kv, const std::string& key, RecordId* holder);
// A record named by a unique field's value instead of its id (the calls by key).
struct KeyRef {
  int slot = 0;
  Value value;      // converted to the field's type
  std::string key;  // UniqueKey
};
// The slot of `field` of `def`: InvalidArgument unless the scope shows it and it is unique.
Status UniqueSlot(const ObjectDef& def, std::string_view field, const RecordScope* scope,
                  int* out);
// Resolves `field` = `value` of `def` as the scope shows it: InvalidArgument unless it is
// a visible unique field and the value converts to its type.
Status ResolveKey(TenantId t, const ObjectDef& def, std::string_view field, const Value& value,
                  const RecordScope* scope, KeyRef* out);
// NotFound for a key no record (that the principal may see) holds.
Status KeyNotFound(const ObjectDef& def, const KeyRef& key);

// Updates or deletes one record, named by id, or by key when `by` is given (id ignored):
// the bodies of Store::UpdateRecord / UpdateRecordBy and DeleteRecord / DeleteRecordBy.
Status UpdateOne(Store::Impl* impl, TenantId tenant, const std::shared_ptr<TenantState>& ts,
                 const ObjectDef& def, RecordId id, const KeyRef* by, const FieldValues& fields,
                 uint64_t expected_version, UserId user, const RecordScope* scope, Record* out);
Status DeleteOne(Store::Impl* impl, TenantId tenant, const std::shared_ptr<TenantState>& ts,
                 const ObjectDef& def, RecordId id, const KeyRef* by, uint64_t expected_version,
                 const RecordScope* scope);

// Claims the unique values of new records: rows[i] (nullptr = skip the row) against each
// other (a later row giving a value an earlier one gives is Conflict) and against the
// store. Locks the values' stripes into *locks first (none when `locks` is null: a dry
// run). verdicts[i] is set for the rows that fail and left alone for the others.
void ClaimNewUniqueValues(Store::Impl* impl, TenantId t, const ObjectDef& def,
                          const std::vector<const std::vector<Value>*>& rows,
                          std::vector<Status>* verdicts, StripeLocks* locks);
// Claims the unique values of a batch of new records (ClaimNewUniqueValues over each one's
// values): the first record that fails answers for the batch, a Conflict with its position
// ("record 3 of the batch: ...", and its id when `with_ids`), any other failure as it is.
Status ClaimBatchUniqueValues(Store::Impl* impl, TenantId t, const ObjectDef& def,
                              const std::vector<Record>& recs, bool with_ids, StripeLocks* locks);
// ResourceExhausted when an encoded record is over the limit.
Status CheckSize(const std::string& encoded, const Limits& limits);
// A batch of `n` records to `verb` ("add", "import", ...): InvalidArgument ("no records to
// add") when empty, ResourceExhausted over Limits::max_batch_records.
Status CheckBatch(size_t n, std::string_view verb, const Limits& limits);
// A new record of `def` from `fields` as `user` at `now`, checked against the scope (its
// row filter: PermissionDenied) and the size limit, and encoded into *encoded. The id is
// left for the caller to allocate.
Status PrepareAdd(const ObjectDef& def, const FieldValues& fields, UserId user, int64_t now,
                  const RecordScope* scope, const Limits& limits, Record* rec,
                  std::string* encoded);

// A write's growth, counted into usage (and checked against the quota) before the write
// and taken back unless Commit() is called.
class Growth {
 public:
  explicit Growth(TenantState* ts) : ts_(ts) {}
  ~Growth() {
    if (records_ != 0 || bytes_ != 0) ts_->CountUsage(-records_, -bytes_);
  }
  Growth(const Growth&) = delete;
  Growth& operator=(const Growth&) = delete;
  // `grown`: what Store::Impl::Grow answered for this growth.
  Status Add(Status grown, int64_t records, int64_t bytes) {
    COTENANT_RETURN_IF_ERROR(grown);
    records_ += records;
    bytes_ += bytes;
    return Status::OK();
  }
  void Commit() { records_ = bytes_ = 0; }

 private:
  TenantState* ts_;
  int64_t records_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_STORE_INTERNAL_H_
