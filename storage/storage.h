// Cotenant storage: tenants, objects and records over an ordered key-value engine.
//
// A Store keeps every tenant in one set of shared column families (records, indexes,
// meta, audit). Every key starts with the tenant's 8-byte big-endian id, so a tenant is
// one contiguous key range and an object inside it is another (see docs/STORAGE.md).
// RocksDB is the embedded engine (storage/kv.h); nothing above storage/ knows that.
//
// Errors: every operation returns a Status. NotFound means the tenant, object or record
// does not exist (a tombstoned tenant does not exist). InvalidArgument names the bad
// field or expression. Conflict means an expected version did not match, a name is
// taken, or the object's state does not allow the call (a physical import into an object
// that holds records, or a record added to an object a physical import is filling).
// ResourceExhausted means a configured limit was exceeded.
//
// Thread safety: a Store is safe for concurrent use from any number of threads. Record
// writes of one call are atomic (one engine batch holds the record and its index
// entries). Reads of one call (a get, a search page) see one consistent snapshot.

#ifndef COTENANT_STORAGE_STORAGE_H_
#define COTENANT_STORAGE_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/value.h"

namespace cotenant::storage {

using TenantId = uint64_t;
using ObjectId = uint32_t;
using RecordId = uint64_t;
using UserId = uint64_t;

// The tenant that holds installation-wide metadata (tenant list, sequences, settings).
// It never holds records and is never listed.
inline constexpr TenantId kGlobalTenant = 0;

enum class TenantKind : unsigned char { kTenant = 0, kMsp = 1, kIsv = 2, kSystem = 3 };
std::string_view TenantKindName(TenantKind k);        // "tenant", "msp", "isv", "system"
std::optional<TenantKind> ParseTenantKind(std::string_view name);

// What one tenant may use; 0 = no limit. The store enforces records and bytes on every
// write that would grow past them; the server enforces calls per second and concurrent
// storage work for the tenant's users. Each is answered ResourceExhausted naming it.
struct TenantQuota {
  uint64_t records = 0;           // records stored
  uint64_t bytes = 0;             // bytes stored, as TenantUsage counts them
  uint32_t calls_per_second = 0;  // calls by the tenant's users (a burst of one second's worth)
  uint32_t concurrent_work = 0;   // storage jobs of the tenant's users queued or running at once
  bool operator==(const TenantQuota&) const = default;
};

struct TenantInfo {
  TenantId id = 0;
  std::string name;
  TenantKind kind = TenantKind::kTenant;
  TenantId provider = 0;  // 0 = none
  int64_t created_at = 0;  // micros since the epoch
  TenantQuota quota;
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::kText;
  bool required = false;
  bool indexed = false;
  // At most one record holds each value (nulls aside): a write that would give a second
  // record the value is Conflict. A unique field is also indexed, and its value reaches
  // its record directly (GetRecordBy and the other calls by key).
  bool unique = false;
};

// System fields every record has. They may be named in criteria, sort keys and
// projections but not declared or written.
enum class SystemField : int {
  kId = -1,
  kVersion = -2,
  kCreatedBy = -3,
  kCreatedAt = -4,
  kModifiedBy = -5,
  kModifiedAt = -6,
};

struct ObjectDef {
  ObjectId id = 0;
  std::string name;
  std::vector<FieldDef> fields;  // in declaration order; a record's values align with it

  // Slot of a field: >= 0 a declared field (index into `fields`), < 0 a SystemField
  // ("id", "version", "createdBy", "createdAt", "modifiedBy", "modifiedAt").
  // nullopt when the name is neither.
  std::optional<int> Slot(std::string_view name) const;
  // Type of a slot (system fields: id/version/createdBy/modifiedBy are int,
  // createdAt/modifiedAt are timestamp).
  FieldType SlotType(int slot) const;
  // Name of a slot.
  std::string_view SlotName(int slot) const;
};

struct Record {
  RecordId id = 0;
  uint64_t version = 0;
  UserId created_by = 0;
  int64_t created_at = 0;
  UserId modified_by = 0;
  int64_t modified_at = 0;
  std::vector<Value> values;  // one per ObjectDef::fields entry, null when unset

  // Value of a slot (see ObjectDef::Slot), system fields included.
  Value Get(int slot) const;
};

// A field name and the value to write to it (add and update).
struct FieldValue {
  std::string name;
  Value value;
};
using FieldValues = std::vector<FieldValue>;

namespace criteria {
struct BoundExpr;
}

// What one principal may see and write of one object, applied by the store inside the
// same snapshot as the data (sharing/ builds it from a policy's scope).
struct RecordScope {
  // Rows outside this filter do not exist for the principal: reads skip them, get,
  // update and delete answer NotFound, and a write whose result falls outside it is
  // PermissionDenied. nullptr = every row.
  const criteria::BoundExpr* row_filter = nullptr;
  // Per declared field: may the principal see and write it? Empty = every field.
  // Criteria, sort keys and projections naming a hidden field are InvalidArgument.
  std::vector<bool> visible_fields;
  // On a shared store (several front-ends): metadata keys the access decision behind
  // this scope rests on, with the values it read (nullopt = absent). A write under the
  // scope is made only if each still holds its value, atomically with the write, so a
  // write decided before a change of access rights on another front-end cannot land
  // after that change: it answers Busy (IsConditionFailed) and is decided again.
  struct Condition {
    TenantId tenant = 0;
    std::string key;
    std::optional<std::string> value;
  };
  std::vector<Condition> conditions;

  bool FieldVisible(int slot) const {
    return slot < 0 || visible_fields.empty() || visible_fields[static_cast<size_t>(slot)];
  }
  // `def` as this principal sees it: hidden fields keep their slot but lose their name,
  // so naming one fails exactly like naming a field that does not exist.
  ObjectDef Mask(const ObjectDef& def) const;
};

struct SortKey {
  std::string field;        // a declared or system field
  bool descending = false;  // ascending: nulls last; descending: nulls first
};

struct SearchRequest {
  std::string object;
  std::string criteria;            // docs/CRITERIA.md; empty = every row
  std::vector<Value> parameters;   // the values of the criteria's '?' placeholders, in order
  std::vector<SortKey> sort;       // at most 2; empty = by record id ascending
  uint32_t offset = 0;             // rows to skip after the continuation point
  uint32_t rows = 100;             // page size; 1..Limits::max_page_rows
  std::string continuation;        // from a previous page of the same query, or empty
  // When set and it becomes true (the caller has gone), the search stops within a few
  // hundred rows and answers Busy "the search was cancelled ...". Must outlive the call.
  const std::atomic<bool>* cancelled = nullptr;
};

struct SearchResult {
  std::shared_ptr<const ObjectDef> object;  // the definition the rows align with
  std::vector<Record> records;
  bool complete = true;            // no row follows this page
  std::string continuation;        // empty when complete
  // How the page was found, for tests and metrics: "index:<field>" or "scan".
  std::string plan;
  uint64_t rows_examined = 0;      // set even when the search fails part-way
};

enum class Durability : unsigned char {
  kSync = 0,   // fsync the WAL before acknowledging every write
  kGroup = 1,  // write the WAL before acknowledging; fsync it every sync_interval_ms
};

struct Limits {
  size_t max_record_bytes = 1 << 20;    // encoded record size (ResourceExhausted beyond)
  size_t max_fields_per_object = 256;   // declared fields per object
  size_t max_batch_records = 1000;      // records per addRecords call
  uint32_t max_page_rows = 1000;        // rows per search page (InvalidArgument beyond)
  size_t max_criteria_bytes = 16 << 10; // criteria text length
  // offset + rows of a search whose order no index gives: such a page is found by keeping
  // that many rows in memory (InvalidArgument beyond; page with continuation tokens).
  uint64_t max_sort_window = 10000;
};

class KvEngine;

struct StoreOptions {
  std::string path;                       // data directory; created when missing
  // Where the records live: "" = the embedded engine (RocksDB) under `path`; a
  // PostgreSQL connection URI ("postgresql://host:port/db?...") = tables in the schema
  // its search_path names (the store keeps only transient files under `path` then).
  std::string storage;
  size_t storage_connections = 16;        // PostgreSQL: most connections open at once
  // PostgreSQL: take the store alone (the offline checker). Servers share it: any number
  // of front-ends serve one store at once, and none while it is taken alone.
  bool exclusive = false;
  Durability durability = Durability::kGroup;
  int sync_interval_ms = 10;              // kGroup only
  size_t block_cache_bytes = 256u << 20;  // shared LRU block cache
  size_t memtable_bytes = 64u << 20;      // write buffer per column family
  int background_jobs = 2;                // flush + compaction threads
  // Writes are refused ("disk full") while the data directory's file system has less
  // than this available, so the engine never runs out of space mid-write. 0 = no reserve.
  uint64_t min_free_disk_bytes = 256u << 20;
  Limits limits;
  // Finish at Open the tenant deletions a crash interrupted. A server whose upper layers
  // clean up after a deletion (lookup entries, policies) sets false and finishes them
  // itself, with its clean-up, through PendingDeletions and DeleteTenant.
  bool finish_deletions_at_open = true;
  // Physical import (Store::BeginIngest). Memory for one ingest's unsorted index entries:
  // when full they are sorted and written as one file (a "chunk").
  size_t ingest_buffer_bytes = 64u << 20;
  // Size at which an ingest closes a sorted file and starts the next (bounds the memory
  // a file's index and filter take while it is written).
  uint64_t ingest_file_bytes = 256u << 20;
  // Chunks of one column family ingested as they are (they overlap each other, so the
  // engine keeps them side by side until compaction); beyond this many they are first
  // merged into one sorted run of non-overlapping files. >= 1.
  uint32_t ingest_max_overlapping_files = 8;
  // Tests only: wraps the engine the store reads and writes through (to hold or fail
  // chosen calls). Unset in every server.
  std::function<std::unique_ptr<KvEngine>(std::unique_ptr<KvEngine>)> wrap_engine;
};

struct CheckOptions;
struct CheckReport;
struct BackupInfo;

class Store {
 public:
  // Opens (creating when missing) the store at options.path. On success *out owns it.
  static Status Open(const StoreOptions& options, std::unique_ptr<Store>* out);

  // Flushes and closes. Safe once all callers are done.
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreOptions& options() const { return options_; }

  // ---- Tenants ----------------------------------------------------------------------

  // Creates a tenant with a fresh id (ids are never reused). Names are unique among live
  // tenants (Conflict). Provider rules: an ISV has none, an MSP's is a live ISV, a
  // tenant's is a live ISV or MSP or none; kind kSystem is allowed once.
  Status CreateTenant(const std::string& name, TenantKind kind, TenantId provider,
                      TenantInfo* out);
  // NotFound when the tenant does not exist or is being deleted.
  Status GetTenant(TenantId id, TenantInfo* out) const;
  // Live tenants in id order.
  std::vector<TenantInfo> ListTenants() const;
  // Tombstones the tenant (from then on nothing is served from it), drops every key of
  // it in every column family with DeleteRange, compacts those ranges, and removes the
  // tombstone. A deletion interrupted by a crash is finished by the next Open (unless
  // StoreOptions::finish_deletions_at_open is false).
  // before_forget, when given, runs after the ranges are dropped and before the tombstone
  // is removed: its clean-up (in other tenants' ranges) is redone after a crash by whoever
  // finishes the deletion, and a failure of it keeps the tombstone.
  Status DeleteTenant(TenantId id, const std::function<Status()>& before_forget = {});
  // Tenants whose deletion was interrupted and is not finished yet (see DeleteTenant).
  std::vector<TenantId> PendingDeletions() const;
  // A shared store (several front-ends, KvEngine::shared) changes under this process:
  // reads again from the engine the entry and the objects of `tenant`, or, without one,
  // which tenants exist (tenants created or deleted elsewhere). The layers above call it
  // when the store says that tenant (or the installation) changed. Does nothing on a
  // store this process holds alone.
  Status Refresh(std::optional<TenantId> tenant);
  // True when other processes may write the store at the same time (KvEngine::shared).
  bool shared() const;
  // On a shared store, this process's number among the front-ends that ever served it
  // (drawn at open, never reused); 0 on a store this process holds alone.
  uint64_t front_end() const;

  // ---- Objects ----------------------------------------------------------------------

  // Declares an object. Conflict when the name is taken; InvalidArgument for a bad
  // name, a duplicate or reserved field name, or too many fields.
  Status CreateObject(TenantId tenant, const std::string& name,
                      const std::vector<FieldDef>& fields, ObjectDef* out);
  // NotFound when the tenant or object does not exist.
  Status GetObject(TenantId tenant, std::string_view name,
                   std::shared_ptr<const ObjectDef>* out) const;
  // Objects of a tenant in name order.
  Status ListObjects(TenantId tenant, std::vector<ObjectDef>* out) const;

  // ---- Records ----------------------------------------------------------------------

  // Adds a record created by `user`. *out receives it with its new id.
  Status AddRecord(TenantId tenant, std::string_view object, const FieldValues& fields,
                   UserId user, Record* out, const RecordScope* scope = nullptr);
  // Adds records atomically: all or none. The error names the index of the first bad one.
  Status AddRecords(TenantId tenant, std::string_view object,
                    const std::vector<FieldValues>& records, UserId user,
                    std::vector<RecordId>* ids, const RecordScope* scope = nullptr);
  // Sets the given fields; a null value clears a field. expected_version 0 = any;
  // otherwise Conflict when the stored version differs.
  Status UpdateRecord(TenantId tenant, std::string_view object, RecordId id,
                      const FieldValues& fields, uint64_t expected_version, UserId user,
                      Record* out, const RecordScope* scope = nullptr);
  // Deletes a record and its index entries. expected_version as for UpdateRecord.
  Status DeleteRecord(TenantId tenant, std::string_view object, RecordId id,
                      uint64_t expected_version, const RecordScope* scope = nullptr);
  // Reads a record. With cache_only, answers Busy instead of doing disk I/O (so an
  // event loop can try a read inline and hand it to a thread pool only when needed).
  Status GetRecord(TenantId tenant, std::string_view object, RecordId id, Record* out,
                   std::shared_ptr<const ObjectDef>* def, bool cache_only = false,
                   const RecordScope* scope = nullptr) const;
  // Reads records by id in one engine call. (*out)[i] answers ids[i]: OK with the
  // record, or NotFound (absent, or outside the scope's rows: the same answer) with
  // GetRecord's message. The returned status is for the whole call: an unknown object, a
  // corrupt record, or, with cache_only, Busy when any of the records needs disk I/O.
  struct RecordRead {
    Status status;
    Record record;
  };
  Status GetRecords(TenantId tenant, std::string_view object, const std::vector<RecordId>& ids,
                    std::vector<RecordRead>* out, std::shared_ptr<const ObjectDef>* def,
                    bool cache_only = false, const RecordScope* scope = nullptr) const;

  // ---- Records by a unique field's value ---------------------------------------------
  //
  // `field` must be a unique field the scope shows (InvalidArgument otherwise, a hidden
  // field answered like an unknown one); `value` is converted to its type as a written
  // value is. A value no record holds and one held by a record outside the scope's rows
  // answer alike: NotFound. Each is exact under concurrent writes: the record acted on
  // holds the value when the call takes effect.
  Status GetRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                     const Value& value, Record* out, std::shared_ptr<const ObjectDef>* def,
                     const RecordScope* scope = nullptr) const;
  Status UpdateRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                        const Value& value, const FieldValues& fields, uint64_t expected_version,
                        UserId user, Record* out, const RecordScope* scope = nullptr);
  Status DeleteRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                        const Value& value, uint64_t expected_version,
                        const RecordScope* scope = nullptr);
  // Updates the record whose unique `field` holds the value `fields` gives it (a value is
  // required), or adds one when no record holds it; *created says which. A record
  // outside the scope's rows holding the value is Conflict, as an add of it would be.
  Status UpsertRecord(TenantId tenant, std::string_view object, std::string_view field,
                      const FieldValues& fields, UserId user, Record* out, bool* created,
                      const RecordScope* scope = nullptr);

  // ---- Bulk import (docs/IMPORT.md) --------------------------------------------------

  // Names one batch of an import, so that a batch sent again (after the importer or the
  // server restarted) is recognised instead of added twice.
  struct ImportBatch {
    UserId owner = 0;       // the calling user: the batches of different callers never meet
    std::string import_id;  // 1..64 of [A-Za-z0-9_.-]; empty = no marker (nothing recognised)
    uint64_t sequence = 0;  // the batch's number within the import
    // A unique field: a record whose value of it some record already holds updates that
    // record (as UpsertRecord) instead of being added. Empty = add every record.
    std::string upsert_on;
  };
  // The outcome of one record of an import batch.
  struct ImportOutcome {
    RecordId id = 0;  // the record added or updated; 0 when rejected or in a dry run
    Status status;    // OK, or why this record was not added (nothing of it is written)
    bool updated = false;  // upsert_on: an existing record was updated
  };
  // Adds the valid records of `records` atomically (one engine batch, with the batch's
  // marker when it names an import) and rejects the others, each with its own status:
  // InvalidArgument (values), PermissionDenied (outside the scope's rows),
  // ResourceExhausted (over the record size limit). The call as a whole fails only for
  // what concerns every record: an unknown object, a batch over the limit, the tenant's
  // quota, a bad import id, a failed write. When the marker of (owner, import id,
  // sequence) exists, nothing is written: *out is the first call's outcomes and
  // *replayed is true; Conflict when that batch held other records. A dry run validates
  // and writes nothing (ids 0, no marker).
  Status ImportRecords(TenantId tenant, std::string_view object,
                       const std::vector<FieldValues>& records, UserId user,
                       const ImportBatch& batch, bool dry_run, std::vector<ImportOutcome>* out,
                       bool* replayed, const RecordScope* scope = nullptr);
  // Forgets the batch markers of a finished import; *batches = how many there were.
  Status FinishImport(TenantId tenant, UserId owner, std::string_view import_id,
                      uint64_t* batches);

  // ---- Tenant dump and restore (docs/CLI.md, "Moving a tenant") ----------------------

  // Reads up to `limit` (1..Limits::max_page_rows) records of an object whose id is
  // greater than `after_id`, in id order, from one snapshot, with every system field.
  // *complete is true when no record follows the page. NotFound for an unknown tenant or
  // object; the records are read as they are stored, with no scope.
  Status ReadRecords(TenantId tenant, std::string_view object, RecordId after_id,
                     uint32_t limit, std::vector<Record>* out, bool* complete,
                     std::shared_ptr<const ObjectDef>* def) const;
  // A record to restore: its original id, version, authors and times, and its values.
  struct RestoredRecord {
    RecordId id = 0;
    uint64_t version = 1;
    UserId created_by = 0;
    int64_t created_at = 0;
    UserId modified_by = 0;
    int64_t modified_at = 0;
    FieldValues fields;
  };
  // Writes records with their original ids, versions and times into an object,
  // atomically (all or none; at most Limits::max_batch_records). REQUIRES: ids strictly
  // ascending, the first greater than every id the object holds (so nothing is ever
  // overwritten: restore into an empty object, page after page), versions >= 1; else
  // InvalidArgument naming the record. Values are checked as an add checks them. The
  // tenant's record sequence moves past the largest id, so a later add never reuses one;
  // usage and the records and bytes quotas count the records as an add does. Writes into
  // the tenant wait while a batch is written.
  Status RestoreRecords(TenantId tenant, std::string_view object,
                        const std::vector<RestoredRecord>& records);

  // ---- Physical import (docs/STORAGE.md, "Physical import") --------------------------

  class Ingest;
  // Starts filling `object`, which must hold no record, with sorted files written under
  // <data>/ingest/ and made visible all at once by Ingest::Commit. Records are created by
  // `user`, checked against `scope` like ImportRecords checks them.
  // Conflict when the object holds records or another ingest of it is open; NotFound for
  // an unknown tenant or object. (An engine that cannot write sorted files answers
  // InvalidArgument to the first Add.)
  // While the ingest is open, adding records to the object any other way (AddRecord,
  // AddRecords, ImportRecords, UpsertRecord, RestoreRecords) is refused with Conflict
  // naming the ingest; updates and deletes find no record. A unique field's value given
  // to two records of the ingest fails it whole (Conflict naming both and the value). On success *out owns the ingest.
  // REQUIRES: the store and *scope (with its row filter) outlive *out.
  Status BeginIngest(TenantId tenant, std::string_view object, UserId user,
                     const RecordScope* scope, std::unique_ptr<Ingest>* out);

  // One page of a search (docs/CRITERIA.md for the grammar and the planner).
  Status Search(TenantId tenant, const SearchRequest& request, SearchResult* out,
                const RecordScope* scope = nullptr) const;

  // ---- Metadata for sharing/ --------------------------------------------------------
  // Keys are raw bytes inside the tenant's range of the meta column family. Keys that
  // start with a byte below 0x20 are reserved for the store itself.

  class MetaBatch {
   public:
    void Put(TenantId tenant, std::string_view key, std::string_view value);
    void Delete(TenantId tenant, std::string_view key);
    // The batch is written only if `key` then holds `value` (nullopt = is absent), on
    // every front-end of a shared store (KvBatch::Expect); otherwise MetaWrite answers
    // Busy (IsConditionFailed) and writes nothing.
    void Expect(TenantId tenant, std::string_view key, std::optional<std::string> value);
    bool empty() const { return ops_.empty(); }

   private:
    friend class Store;
    std::vector<RecordScope::Condition> expected_;
    struct Op {
      bool put;
      TenantId tenant;
      std::string key;
      std::string value;
    };
    std::vector<Op> ops_;
  };

  Status MetaGet(TenantId tenant, std::string_view key, std::string* value) const;
  // Reads several metadata keys in one engine call (one round trip on PostgreSQL):
  // (*values)[i] is the value of keys[i], or nullopt when it is absent.
  Status MetaMultiGet(const std::vector<std::pair<TenantId, std::string>>& keys,
                      std::vector<std::optional<std::string>>* values) const;
  // Calls fn(key, value) for each key starting with `prefix`, in key order, until fn
  // returns false.
  Status MetaScan(TenantId tenant, std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn) const;
  Status MetaWrite(const MetaBatch& batch);
  // Next value of a named durable sequence (starts at 1, never repeats, even after a
  // crash). Sequences of a deleted tenant go with it.
  Status NextId(TenantId tenant, std::string_view sequence, uint64_t* id);

  // ---- Audit ------------------------------------------------------------------------

  // Appends an entry to a tenant's audit log, keyed by time (micros) and a sequence.
  Status AuditAppend(TenantId tenant, int64_t at_micros, std::string_view entry);
  // Appends many entries in one write; entries of tenants that no longer exist are
  // dropped.
  struct AuditItem {
    TenantId tenant = 0;
    int64_t at_micros = 0;
    std::string entry;
  };
  Status AuditAppendBatch(const std::vector<AuditItem>& items);
  // Entries with from <= time < to in time order, until fn returns false.
  Status AuditScan(TenantId tenant, int64_t from_micros, int64_t to_micros,
                   const std::function<bool(int64_t, std::string_view)>& fn) const;

  // ---- Usage and quotas ---------------------------------------------------------------

  // Replaces a live tenant's quota (durable before it returns). A write already past the
  // new limits stays; further growth is refused.
  Status SetTenantQuota(TenantId tenant, const TenantQuota& quota);
  // Writes refused for each store-enforced quota since the process started.
  uint64_t quota_refusals_records() const;
  uint64_t quota_refusals_bytes() const;

  // Records stored in the tenant and their bytes (key + encoded value). Exact: the first
  // call counts the tenant's records in a snapshot (writes go on meanwhile and are added
  // to the count), later ones read counters every write maintains.
  Status TenantUsage(TenantId tenant, uint64_t* records, uint64_t* bytes);

  // ---- Introspection (tests, tools, metrics) ----------------------------------------

  // Number of keys in [tenant, tenant+1) of every column family.
  Status CountTenantKeys(TenantId tenant, uint64_t* keys) const;
  // Engine-reported memory: block cache usage and memtable size, in bytes.
  void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const;

  KvEngine* engine() const { return engine_.get(); }

  // ---- Checking (storage/fsck.h) ----------------------------------------------------

  // Checks the store on one snapshot while it serves, the per-tenant record and byte
  // counters included. Writes are held off only for the instant the snapshot is taken.
  Status Check(const CheckOptions& options, CheckReport* report) const;

  // ---- Backups (storage/backup.h) ---------------------------------------------------

  // Adds a consistent backup of the whole store to `dir`, an absolute path on this
  // machine (created when missing), while the store serves; incremental against the
  // backups already there. keep > 0 then deletes all but the newest `keep` backups.
  // Busy while another backup of this store runs.
  Status Backup(const std::string& dir, uint32_t keep, BackupInfo* out) const;

  // The store's internals (storage/ only: declared here, defined in its sources).
  class Impl;

 private:
  Store(const StoreOptions& options, std::unique_ptr<KvEngine> engine);

  StoreOptions options_;
  std::unique_ptr<KvEngine> engine_;
  std::unique_ptr<Impl> impl_;
};

// One physical import into an empty object (Store::BeginIngest). Nothing it writes is
// visible before Commit returns OK; Abort, the destructor, a failed Commit, or a crash
// at any point before the commit leave the object empty and delete every file (a crash
// leaves them for the next Store::Open, which deletes them).
//
// Memory stays bounded whatever the import's size: records go to a sorted file as they
// come (their ids only grow), index entries are held up to
// StoreOptions::ingest_buffer_bytes, then sorted and written out.
//
// Thread safety: calls are serialised inside; batches are added in the order of the
// calls, so one caller at a time is the useful way to drive it.
class Store::Ingest {
 public:
  // Aborts when neither Commit nor Abort was called.
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Adds one batch (1..Limits::max_batch_records records). Each record is checked exactly
  // as ImportRecords checks it and gets its own outcome in *out: an id from the tenant's
  // record sequence (ids only grow), or InvalidArgument, PermissionDenied or
  // ResourceExhausted with nothing of it written. The call fails as a whole for a bad
  // batch size, a tenant being deleted (NotFound: the ingest ends, its files are deleted)
  // or a failed file write (the ingest can then only be aborted). After either, every
  // later Add and Commit answers that same error.
  Status Add(const std::vector<FieldValues>& records, std::vector<ImportOutcome>* out);
  // Finishes the files and ingests all of them in one atomic step (records and index
  // entries together), after checking, under the tenant's write gate, that the object is
  // still empty (Conflict otherwise) and that the records fit the tenant's quota
  // (ResourceExhausted). The usage counters grow by exactly what was ingested.
  // *records = the records made visible. Whatever the answer, the ingest is finished
  // afterwards and its files are deleted; on an error nothing is visible.
  Status Commit(uint64_t* records);
  // Deletes every file; nothing becomes visible. Idempotent.
  void Abort();

  // Index chunks written so far (for tests and progress).
  uint64_t chunks_written() const;

 private:
  friend class Store;
  class Rep;
  explicit Ingest(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// Microseconds since the epoch, from the system clock.
int64_t NowMicros();

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_STORAGE_H_
