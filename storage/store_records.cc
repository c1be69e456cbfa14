// Store: record reads and writes (add, batch add, update, delete, get) and the index
// entries they maintain.

#include <algorithm>
#include <map>
#include <set>

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
    if (def.fields[i].unique && !values[i].is_null()) {
      batch->Delete(Cf::kIndexes, UniqueKey(t, def.id, static_cast<int>(i), values[i]));
    }
  }
}

std::string IdValue(RecordId id) {
  std::string v;
  AppendU64(&v, id);
  return v;
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

}  // namespace

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

void AddIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                     const std::vector<Value>& values, bool expect_free) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed) continue;
    batch->Put(Cf::kIndexes, IndexKey(t, def.id, static_cast<int>(i), values[i], id), {});
    if (def.fields[i].unique && !values[i].is_null()) {
      std::string key = UniqueKey(t, def.id, static_cast<int>(i), values[i]);
      if (expect_free) batch->Expect(Cf::kIndexes, key, std::nullopt);
      batch->Put(Cf::kIndexes, key, IdValue(id));
    }
  }
}

void UpdateIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                        const std::vector<Value>& old, const std::vector<Value>& now,
                        bool expect_free) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed || old[i] == now[i]) continue;
    auto slot = static_cast<int>(i);
    batch->Delete(Cf::kIndexes, IndexKey(t, def.id, slot, old[i], id));
    batch->Put(Cf::kIndexes, IndexKey(t, def.id, slot, now[i], id), {});
    if (!def.fields[i].unique) continue;
    if (!old[i].is_null()) batch->Delete(Cf::kIndexes, UniqueKey(t, def.id, slot, old[i]));
    if (now[i].is_null()) continue;
    std::string key = UniqueKey(t, def.id, slot, now[i]);
    if (expect_free) batch->Expect(Cf::kIndexes, key, std::nullopt);
    batch->Put(Cf::kIndexes, key, IdValue(id));
  }
}

void StripeLocks::Lock(std::vector<std::mutex*> stripes) {
  std::sort(stripes.begin(), stripes.end(), std::less<std::mutex*>());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (std::mutex* m : stripes) held_.emplace_back(*m);
}

std::vector<UniqueValue> UniqueValuesOf(TenantId t, const ObjectDef& def,
                                        const std::vector<Value>& values,
                                        const std::vector<int>* only) {
  std::vector<UniqueValue> out;
  auto consider = [&](int slot) {
    auto i = static_cast<size_t>(slot);
    if (def.fields[i].unique && !values[i].is_null()) {
      out.push_back(UniqueValue{slot, UniqueKey(t, def.id, slot, values[i])});
    }
  };
  if (only != nullptr) {
    for (int slot : *only) consider(slot);
  } else {
    for (size_t i = 0; i < def.fields.size(); ++i) consider(static_cast<int>(i));
  }
  return out;
}

Status UniqueConflict(const ObjectDef& def, int slot, const Value& v) {
  return Status::Conflict("another record of " + def.name + " has the value " + v.Quoted() +
                          " in unique field " + def.fields[static_cast<size_t>(slot)].name);
}

Status UniqueHolder(const KvEngine& kv, const std::string& key, RecordId* holder) {
  *holder = 0;
  std::string value;
  Status s = kv.Get(Cf::kIndexes, key, &value);
  if (s.IsNotFound()) return Status::OK();
  COTENANT_RETURN_IF_ERROR(s);
  if (value.size() != 8) return Status::Internal("a unique-value entry is corrupt");
  *holder = DecodeU64(value.data());
  return Status::OK();
}

void ClaimNewUniqueValues(Store::Impl* impl, TenantId t, const ObjectDef& def,
                          const std::vector<const std::vector<Value>*>& rows,
                          std::vector<Status>* verdicts, StripeLocks* locks) {
  std::vector<std::vector<UniqueValue>> claims(rows.size());
  std::vector<std::mutex*> stripes;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r] == nullptr) continue;
    claims[r] = UniqueValuesOf(t, def, *rows[r]);
    for (const auto& u : claims[r]) stripes.push_back(&impl->UniqueLock(u.key));
  }
  if (stripes.empty()) return;
  if (locks != nullptr) locks->Lock(std::move(stripes));
  std::set<std::string_view> claimed;  // by the rows so far that pass
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string_view> mine;
    for (const auto& u : claims[r]) {
      const Value& v = (*rows[r])[static_cast<size_t>(u.slot)];
      Status verdict;
      RecordId holder = 0;
      if (claimed.count(u.key) != 0) {
        verdict = Status::Conflict("an earlier record of the batch has the value " + v.Quoted() +
                                   " in unique field " + def.fields[static_cast<size_t>(u.slot)].name +
                                   " too");
      } else {
        verdict = UniqueHolder(*impl->kv_, u.key, &holder);
        if (verdict.ok() && holder != 0) verdict = UniqueConflict(def, u.slot, v);
      }
      if (!verdict.ok()) {
        (*verdicts)[r] = std::move(verdict);
        for (std::string_view k : mine) claimed.erase(k);
        break;
      }
      claimed.insert(u.key);
      mine.push_back(u.key);
    }
  }
}

Status UniqueSlot(const ObjectDef& def, std::string_view field, const RecordScope* scope,
                  int* out) {
  auto slot = def.Slot(field);
  if (!slot || (scope != nullptr && !scope->FieldVisible(*slot))) {
    return Status::InvalidArgument("object " + def.name + " has no field '" + std::string(field) + "'");
  }
  if (*slot < 0 || !def.fields[static_cast<size_t>(*slot)].unique) {
    return Status::InvalidArgument("field '" + std::string(field) + "' of " + def.name +
                                   " is not unique: records are reached by key through a unique field only");
  }
  *out = *slot;
  return Status::OK();
}

Status ResolveKey(TenantId t, const ObjectDef& def, std::string_view field, const Value& value,
                  const RecordScope* scope, KeyRef* out) {
  int slot = 0;
  COTENANT_RETURN_IF_ERROR(UniqueSlot(def, field, scope, &slot));
  const FieldDef& f = def.fields[static_cast<size_t>(slot)];
  if (value.is_null()) return Status::InvalidArgument("the value of key field '" + f.name + "' is null");
  out->slot = slot;
  COTENANT_RETURN_IF_ERROR(CoerceValue(value, f.type, f.name, &out->value));
  out->key = UniqueKey(t, def.id, slot, out->value);
  return Status::OK();
}

Status KeyNotFound(const ObjectDef& def, const KeyRef& key) {
  return Status::NotFound("no record of " + def.name + " has " +
                          def.fields[static_cast<size_t>(key.slot)].name + " " + key.value.Quoted());
}

Status ClaimBatchUniqueValues(Store::Impl* impl, TenantId t, const ObjectDef& def,
                              const std::vector<Record>& recs, bool with_ids, StripeLocks* locks) {
  std::vector<const std::vector<Value>*> rows;
  rows.reserve(recs.size());
  for (const Record& r : recs) rows.push_back(&r.values);
  std::vector<Status> verdicts(recs.size());
  ClaimNewUniqueValues(impl, t, def, rows, &verdicts, locks);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i].ok()) continue;
    if (!verdicts[i].IsConflict()) return verdicts[i];
    std::string which = "record " + std::to_string(i) + " of the batch";
    if (with_ids) which += " (id " + std::to_string(recs[i].id) + ")";
    return Status::Conflict(which + ": " + verdicts[i].message());
  }
  return Status::OK();
}

Status CheckBatch(size_t n, std::string_view verb, const Limits& limits) {
  if (n == 0) return Status::InvalidArgument("no records to " + std::string(verb));
  if (n > limits.max_batch_records) {
    return Status::ResourceExhausted("a batch may hold at most " +
                                     std::to_string(limits.max_batch_records) +
                                     " records; got " + std::to_string(n));
  }
  return Status::OK();
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
  StripeLocks unique;
  std::vector<Status> verdict(1);
  ClaimNewUniqueValues(impl_.get(), tenant, *def, {&rec.values}, &verdict, &unique);
  COTENANT_RETURN_IF_ERROR(verdict[0]);
  Growth growth(ts.get());
  auto bytes = static_cast<int64_t>(kRecordKeyLen + encoded.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, 1, bytes), 1, bytes));
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", 1, &rec.id));
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kRecords, RecordKey(tenant, def->id, rec.id), encoded);
  AddIndexEntries(batch.get(), tenant, *def, rec.id, rec.values, impl_->shared());
  impl_->ExpectScope(batch.get(), scope);
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  growth.Commit();
  *out = std::move(rec);
  return Status::OK();
}

Status Store::AddRecords(TenantId tenant, std::string_view object,
                         const std::vector<FieldValues>& records, UserId user,
                         std::vector<RecordId>* ids, const RecordScope* scope) {
  COTENANT_RETURN_IF_ERROR(CheckBatch(records.size(), "add", options_.limits));
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
  StripeLocks unique;
  COTENANT_RETURN_IF_ERROR(ClaimBatchUniqueValues(impl_.get(), tenant, *def, recs, false, &unique));
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
    AddIndexEntries(batch.get(), tenant, *def, id, recs[i].values, impl_->shared());
    ids->push_back(id);
  }
  impl_->ExpectScope(batch.get(), scope);
  Status written = engine_->Write(batch.get(), impl_->sync_writes());
  if (!written.ok()) {
    ids->clear();
    return written;
  }
  growth.Commit();
  return Status::OK();
}

Status UpdateOne(Store::Impl* impl, TenantId tenant, const std::shared_ptr<TenantState>& ts,
                 const ObjectDef& def, RecordId id, const KeyRef* by, const FieldValues& fields,
                 uint64_t expected_version, UserId user, const RecordScope* scope, Record* out) {
  if (fields.empty()) return Status::InvalidArgument("no fields to update");
  // Validate the change before touching the record (argument errors come first).
  // `changes` holds nulls for untouched fields, so remember which slots were named.
  std::vector<Value> changes;
  COTENANT_RETURN_IF_ERROR(ApplyFieldValues(def, fields, scope, false, &changes));
  std::vector<int> named;
  for (const auto& fv : fields) named.push_back(*def.Slot(fv.name));

  const KvEngine& kv = *impl->kv_;
  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl->EnterWrite(ts.get(), &gate));
  // The unique values the update gives, and the key it names the record by: no other
  // write can claim them until this one is written.
  std::vector<UniqueValue> claims = UniqueValuesOf(tenant, def, changes, &named);
  std::vector<std::mutex*> stripes;
  for (const auto& u : claims) stripes.push_back(&impl->UniqueLock(u.key));
  if (by != nullptr) stripes.push_back(&impl->UniqueLock(by->key));
  StripeLocks unique;
  unique.Lock(std::move(stripes));
  if (by != nullptr) {
    COTENANT_RETURN_IF_ERROR(UniqueHolder(kv, by->key, &id));
    if (id == 0) return KeyNotFound(def, *by);
  }
  std::lock_guard<std::mutex> rl(impl->RecordLock(tenant, def.id, id));
  std::string key = RecordKey(tenant, def.id, id);
  std::string current;
  Record old;
  Status read = ReadForWrite(kv, def, def.name, key, id, expected_version, scope, &current, &old);
  if (by != nullptr && (read.IsNotFound() || (read.ok() && !(old.Get(by->slot) == by->value)))) {
    return KeyNotFound(def, *by);
  }
  COTENANT_RETURN_IF_ERROR(read);
  Record rec = old;
  for (int slot : named) rec.values[static_cast<size_t>(slot)] = changes[static_cast<size_t>(slot)];
  for (const auto& u : claims) {
    if (old.values[static_cast<size_t>(u.slot)] == rec.values[static_cast<size_t>(u.slot)]) continue;
    RecordId holder = 0;
    COTENANT_RETURN_IF_ERROR(UniqueHolder(kv, u.key, &holder));
    if (holder != 0 && holder != id) {
      return UniqueConflict(def, u.slot, rec.values[static_cast<size_t>(u.slot)]);
    }
  }
  rec.version = old.version + 1;
  rec.modified_by = user;
  rec.modified_at = std::max(NowMicros(), old.modified_at);
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(rec)) {
    return Status::PermissionDenied("the updated record would fall outside the rows this principal may write");
  }
  std::string encoded;
  EncodeRecord(rec, &encoded);
  COTENANT_RETURN_IF_ERROR(CheckSize(encoded, impl->options_.limits));
  Growth growth(ts.get());
  int64_t delta = static_cast<int64_t>(encoded.size()) - static_cast<int64_t>(current.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl->Grow(ts.get(), tenant, 0, delta), 0, delta));
  auto batch = impl->kv_->NewBatch();
  // On a shared store the record may change on another front-end since it was read.
  if (impl->shared()) batch->Expect(Cf::kRecords, key, current);
  batch->Put(Cf::kRecords, key, encoded);
  UpdateIndexEntries(batch.get(), tenant, def, id, old.values, rec.values, impl->shared());
  impl->ExpectScope(batch.get(), scope);
  COTENANT_RETURN_IF_ERROR(impl->kv_->Write(batch.get(), impl->sync_writes()));
  growth.Commit();
  *out = std::move(rec);
  return Status::OK();
}

Status DeleteOne(Store::Impl* impl, TenantId tenant, const std::shared_ptr<TenantState>& ts,
                 const ObjectDef& def, RecordId id, const KeyRef* by, uint64_t expected_version,
                 const RecordScope* scope) {
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl->EnterWrite(ts.get(), &gate));
  StripeLocks unique;
  if (by != nullptr) {
    unique.Lock({&impl->UniqueLock(by->key)});
    COTENANT_RETURN_IF_ERROR(UniqueHolder(*impl->kv_, by->key, &id));
    if (id == 0) return KeyNotFound(def, *by);
  }
  std::lock_guard<std::mutex> rl(impl->RecordLock(tenant, def.id, id));
  std::string key = RecordKey(tenant, def.id, id);
  std::string current;
  Record old;
  Status read = ReadForWrite(*impl->kv_, def, def.name, key, id, expected_version, scope, &current, &old);
  if (by != nullptr && (read.IsNotFound() || (read.ok() && !(old.Get(by->slot) == by->value)))) {
    return KeyNotFound(def, *by);
  }
  COTENANT_RETURN_IF_ERROR(read);
  auto batch = impl->kv_->NewBatch();
  if (impl->shared()) batch->Expect(Cf::kRecords, key, current);
  batch->Delete(Cf::kRecords, key);
  RemoveIndexEntries(batch.get(), tenant, def, id, old.values);
  impl->ExpectScope(batch.get(), scope);
  COTENANT_RETURN_IF_ERROR(impl->kv_->Write(batch.get(), impl->sync_writes()));
  ts->CountUsage(-1, -static_cast<int64_t>(kRecordKeyLen + current.size()));
  return Status::OK();
}

Status Store::UpdateRecord(TenantId tenant, std::string_view object, RecordId id,
                           const FieldValues& fields, uint64_t expected_version, UserId user,
                           Record* out, const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  return UpdateOne(impl_.get(), tenant, ts, *def, id, nullptr, fields, expected_version, user,
                   scope, out);
}

Status Store::DeleteRecord(TenantId tenant, std::string_view object, RecordId id,
                           uint64_t expected_version, const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  return DeleteOne(impl_.get(), tenant, ts, *def, id, nullptr, expected_version, scope);
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

// ---- Records by key -----------------------------------------------------------------

Status Store::GetRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                          const Value& value, Record* out, std::shared_ptr<const ObjectDef>* def_out,
                          const RecordScope* scope) const {
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, nullptr, &def));
  KeyRef by;
  COTENANT_RETURN_IF_ERROR(ResolveKey(tenant, *def, field, value, scope, &by));
  // Without the value's stripe the entry and the record are read one after the other: a
  // record that lost the value in between is looked up again, a few times.
  for (int attempt = 0; attempt < 4; ++attempt) {
    RecordId id = 0;
    COTENANT_RETURN_IF_ERROR(UniqueHolder(*engine_, by.key, &id));
    if (id == 0) return KeyNotFound(*def, by);
    std::string stored;
    Status read = engine_->Get(Cf::kRecords, RecordKey(tenant, def->id, id), &stored);
    Status s = VisibleRecord(read, stored, *def, object, id, scope, out);
    if (s.IsNotFound() && scope != nullptr && read.ok()) return KeyNotFound(*def, by);
    if (s.IsNotFound()) continue;
    COTENANT_RETURN_IF_ERROR(s);
    if (!(out->Get(by.slot) == by.value)) continue;
    if (def_out != nullptr) *def_out = std::move(def);
    return Status::OK();
  }
  return KeyNotFound(*def, by);
}

Status Store::UpdateRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                             const Value& value, const FieldValues& fields,
                             uint64_t expected_version, UserId user, Record* out,
                             const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  KeyRef by;
  COTENANT_RETURN_IF_ERROR(ResolveKey(tenant, *def, field, value, scope, &by));
  return UpdateOne(impl_.get(), tenant, ts, *def, 0, &by, fields, expected_version, user, scope,
                   out);
}

Status Store::DeleteRecordBy(TenantId tenant, std::string_view object, std::string_view field,
                             const Value& value, uint64_t expected_version,
                             const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  KeyRef by;
  COTENANT_RETURN_IF_ERROR(ResolveKey(tenant, *def, field, value, scope, &by));
  return DeleteOne(impl_.get(), tenant, ts, *def, 0, &by, expected_version, scope);
}

}  // namespace cotenant::storage
