// Store: record reads and writes (add, batch add, update, delete, get) and the index
// entries they maintain.

#include <algorithm>

#include "storage/criteria.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

void RemoveIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                        const std::vector<Value>& values) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed) continue;
    batch->Delete(Cf::kIndexes, IndexKey(t, def.id, static_cast<int>(i), values[i], id));
  }
}

std::string RecordNotFound(std::string_view object, RecordId id) {
  return "record " + std::to_string(id) + " of object " + std::string(object) +
         " does not exist";
}

// A record as read from the engine (`read` is the Get's status), decoded, as a principal
// under `scope` sees it: NotFound when it is absent or outside the scope's rows.
Status VisibleRecord(const Status& read, std::string_view value, const ObjectDef& def,
                     std::string_view object, RecordId id, const RecordScope* scope,
                     Record* out) {
  if (read.IsNotFound()) return Status::NotFound(RecordNotFound(object, id));
  COTENANT_RETURN_IF_ERROR(read);
  if (!DecodeRecord(value, def, out)) {
    return Status::Internal(RecordNotFound(object, id) + " (corrupt)");
  }
  out->id = id;
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(*out)) {
    return Status::NotFound(RecordNotFound(object, id));
  }
  return Status::OK();
}

// Reads the record a write replaces: NotFound when it is absent or outside the scope's
// rows, Conflict when it is not at `expected_version` (0 = any).
// REQUIRES: the record's lock is held.
Status ReadForWrite(const KvEngine& kv, const ObjectDef& def, std::string_view object,
                    const std::string& key, RecordId id, uint64_t expected_version,
                    const RecordScope* scope, std::string* current, Record* old) {
  Status read = kv.Get(Cf::kRecords, key, current);
  COTENANT_RETURN_IF_ERROR(VisibleRecord(read, *current, def, object, id, scope, old));
  if (expected_version != 0 && old->version != expected_version) {
    return Status::Conflict("record " + std::to_string(id) + " is at version " +
                            std::to_string(old->version) + ", not " +
                            std::to_string(expected_version));
  }
  return Status::OK();
}

}  // namespace

void AddIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                     const std::vector<Value>& values) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed) continue;
    batch->Put(Cf::kIndexes, IndexKey(t, def.id, static_cast<int>(i), values[i], id), {});
  }
}

Status CheckSize(const std::string& encoded, const Limits& limits) {
  if (encoded.size() > limits.max_record_bytes) {
    return Status::ResourceExhausted("record of " + std::to_string(encoded.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(limits.max_record_bytes) + " bytes");
  }
  return Status::OK();
}

Status PrepareAdd(const ObjectDef& def, const FieldValues& fields, UserId user, int64_t now,
                  const RecordScope* scope, const Limits& limits, Record* rec,
                  std::string* encoded) {
  rec->version = 1;
  rec->created_by = rec->modified_by = user;
  rec->created_at = rec->modified_at = now;
  COTENANT_RETURN_IF_ERROR(ApplyFieldValues(def, fields, scope, /*is_add=*/true, &rec->values));
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(*rec)) {
    return Status::PermissionDenied("the record falls outside the rows this principal may write");
  }
  EncodeRecord(*rec, encoded);
  return CheckSize(*encoded, limits);
}

// ---- Records ------------------------------------------------------------------------

Status Store::AddRecord(TenantId tenant, std::string_view object, const FieldValues& fields,
                        UserId user, Record* out, const RecordScope* scope) {
  Record rec;
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  std::string encoded;
  COTENANT_RETURN_IF_ERROR(
      PrepareAdd(*def, fields, user, NowMicros(), scope, options_.limits, &rec, &encoded));
  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  Growth growth(ts.get());
  auto bytes = static_cast<int64_t>(kRecordKeyLen + encoded.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, 1, bytes), 1, bytes));
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", 1, &rec.id));
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kRecords, RecordKey(tenant, def->id, rec.id), encoded);
  AddIndexEntries(batch.get(), tenant, *def, rec.id, rec.values);
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  growth.Commit();
  *out = std::move(rec);
  return Status::OK();
}

Status Store::AddRecords(TenantId tenant, std::string_view object,
                         const std::vector<FieldValues>& records, UserId user,
                         std::vector<RecordId>* ids, const RecordScope* scope) {
  if (records.empty()) return Status::InvalidArgument("no records to add");
  if (records.size() > options_.limits.max_batch_records) {
    return Status::ResourceExhausted("a batch may hold at most " +
                                     std::to_string(options_.limits.max_batch_records) +
                                     " records; got " + std::to_string(records.size()));
  }
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  int64_t now = NowMicros();
  std::vector<Record> recs(records.size());
  std::vector<std::string> encoded(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Status s = PrepareAdd(*def, records[i], user, now, scope, options_.limits, &recs[i], &encoded[i]);
    if (!s.ok()) {
      // Same code, with the position so a bulk loader can point at the bad row.
      std::string msg = "record " + std::to_string(i) + " of the batch: " + s.message();
      switch (s.code()) {
        case Status::Code::kPermissionDenied: return Status::PermissionDenied(msg);
        case Status::Code::kResourceExhausted: return Status::ResourceExhausted(msg);
        default: return Status::InvalidArgument(msg);
      }
    }
  }
  int64_t bytes = 0;
  for (const auto& e : encoded) bytes += static_cast<int64_t>(kRecordKeyLen + e.size());
  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  // The whole batch fits the quota or none of it is written.
  Growth growth(ts.get());
  auto count = static_cast<int64_t>(recs.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, count, bytes), count, bytes));
  uint64_t first = 0;
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", records.size(), &first));
  auto batch = engine_->NewBatch();
  ids->clear();
  ids->reserve(records.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    RecordId id = first + i;
    batch->Put(Cf::kRecords, RecordKey(tenant, def->id, id), encoded[i]);
    AddIndexEntries(batch.get(), tenant, *def, id, recs[i].values);
    ids->push_back(id);
  }
  Status written = engine_->Write(batch.get(), impl_->sync_writes());
  if (!written.ok()) {
    ids->clear();
    return written;
  }
  growth.Commit();
  return Status::OK();
}

Status Store::UpdateRecord(TenantId tenant, std::string_view object, RecordId id,
                           const FieldValues& fields, uint64_t expected_version, UserId user,
                           Record* out, const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  if (fields.empty()) return Status::InvalidArgument("no fields to update");
  // Validate the change before touching the record (argument errors come first).
  std::vector<Value> changes;
  {
    // Resolve names and types; `changes` holds nulls for untouched fields, so remember
    // which slots were named.
    COTENANT_RETURN_IF_ERROR(ApplyFieldValues(*def, fields, scope, false, &changes));
  }
  std::vector<int> named;
  for (const auto& fv : fields) named.push_back(*def->Slot(fv.name));

  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  std::lock_guard<std::mutex> rl(impl_->RecordLock(tenant, def->id, id));
  std::string key = RecordKey(tenant, def->id, id);
  std::string current;
  Record old;
  COTENANT_RETURN_IF_ERROR(
      ReadForWrite(*engine_, *def, object, key, id, expected_version, scope, &current, &old));
  Record rec = old;
  for (int slot : named) rec.values[static_cast<size_t>(slot)] = changes[static_cast<size_t>(slot)];
  rec.version = old.version + 1;
  rec.modified_by = user;
  rec.modified_at = std::max(NowMicros(), old.modified_at);
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(rec)) {
    return Status::PermissionDenied("the updated record would fall outside the rows this principal may write");
  }
  std::string encoded;
  EncodeRecord(rec, &encoded);
  COTENANT_RETURN_IF_ERROR(CheckSize(encoded, options_.limits));
  Growth growth(ts.get());
  int64_t delta = static_cast<int64_t>(encoded.size()) - static_cast<int64_t>(current.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, 0, delta), 0, delta));
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kRecords, key, encoded);
  for (size_t i = 0; i < def->fields.size(); ++i) {
    if (!def->fields[i].indexed || old.values[i] == rec.values[i]) continue;
    batch->Delete(Cf::kIndexes, IndexKey(tenant, def->id, static_cast<int>(i), old.values[i], id));
    batch->Put(Cf::kIndexes, IndexKey(tenant, def->id, static_cast<int>(i), rec.values[i], id), {});
  }
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  growth.Commit();
  *out = std::move(rec);
  return Status::OK();
}

Status Store::DeleteRecord(TenantId tenant, std::string_view object, RecordId id,
                           uint64_t expected_version, const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  std::lock_guard<std::mutex> rl(impl_->RecordLock(tenant, def->id, id));
  std::string key = RecordKey(tenant, def->id, id);
  std::string current;
  Record old;
  COTENANT_RETURN_IF_ERROR(
      ReadForWrite(*engine_, *def, object, key, id, expected_version, scope, &current, &old));
  auto batch = engine_->NewBatch();
  batch->Delete(Cf::kRecords, key);
  RemoveIndexEntries(batch.get(), tenant, *def, id, old.values);
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  ts->CountUsage(-1, -static_cast<int64_t>(kRecordKeyLen + current.size()));
  return Status::OK();
}

Status Store::GetRecord(TenantId tenant, std::string_view object, RecordId id, Record* out,
                        std::shared_ptr<const ObjectDef>* def_out, bool cache_only,
                        const RecordScope* scope) const {
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, nullptr, &def));
  std::string value;
  KvReadOptions ro;
  ro.cache_only = cache_only;
  Status s = engine_->Get(Cf::kRecords, RecordKey(tenant, def->id, id), &value, ro);
  COTENANT_RETURN_IF_ERROR(VisibleRecord(s, value, *def, object, id, scope, out));
  if (def_out != nullptr) *def_out = std::move(def);
  return Status::OK();
}

Status Store::GetRecords(TenantId tenant, std::string_view object, const std::vector<RecordId>& ids,
                         std::vector<RecordRead>* out, std::shared_ptr<const ObjectDef>* def_out,
                         bool cache_only, const RecordScope* scope) const {
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, nullptr, &def));
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (RecordId id : ids) keys.push_back(RecordKey(tenant, def->id, id));
  std::vector<std::string> values;
  std::vector<Status> reads;
  KvReadOptions ro;
  ro.cache_only = cache_only;
  engine_->MultiGet(Cf::kRecords, keys, &values, &reads, ro);
  out->assign(ids.size(), RecordRead{});
  for (size_t i = 0; i < ids.size(); ++i) {
    RecordRead& r = (*out)[i];
    r.status = VisibleRecord(reads[i], values[i], *def, object, ids[i], scope, &r.record);
    // Only a missing or hidden record is an answer of its own; anything else (Busy for
    // a read that needs I/O, a corrupt record) is the whole call's.
    if (!r.status.ok() && !r.status.IsNotFound()) {
      Status failed = r.status;
      out->clear();
      return failed;
    }
  }
  if (def_out != nullptr) *def_out = std::move(def);
  return Status::OK();
}

}  // namespace cotenant::storage
