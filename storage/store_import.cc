// Store: bulk import batches (docs/IMPORT.md, "Resuming without duplicates").
//
// A batch that names an import leaves a marker in the same engine batch as its records:
// meta key T | 0x04 | owner | import id | 0x00 | sequence, whose value is a digest of the
// batch's input and the outcome of each of its records. Sent again, the batch is
// recognised by its marker and answered with the first outcomes, so an importer that
// died between sending a batch and saving its checkpoint never adds the batch twice.

#include <algorithm>
#include <set>

#include "storage/criteria.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

bool ValidImportId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// T | 0x04 | owner | import id | 0x00, the prefix of every marker of one import.
std::string ImportPrefix(UserId owner, std::string_view import_id) {
  std::string k(1, kMetaImport);
  AppendU64(&k, owner);
  k.append(import_id);
  k.push_back('\0');
  return k;
}

// FNV-1a over the batch's input (names, types and values of every field of every record,
// each length-delimited), so a batch sent again with other content is told apart.
uint64_t BatchDigest(const std::vector<FieldValues>& records, std::string_view upsert_on) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view bytes) {
    std::string len;
    AppendU64(&len, bytes.size());
    for (std::string_view part : {std::string_view(len), bytes}) {
      for (unsigned char c : part) {
        h ^= c;
        h *= 0x100000001b3ULL;
      }
    }
  };
  if (!upsert_on.empty()) {
    mix("upsert on");
    mix(upsert_on);
  }
  for (const auto& rec : records) {
    mix("record");
    for (const auto& fv : rec) {
      mix(fv.name);
      mix(TypedKey(fv.value));
    }
  }
  return h;
}

// Marker value: digest u64 | count u64 | per record: id u64, code u8 (| 0x80 when an
// upsert updated the record), message length u64, message.
std::string EncodeMarker(uint64_t digest, const std::vector<Store::ImportOutcome>& out) {
  std::string v;
  AppendU64(&v, digest);
  AppendU64(&v, out.size());
  for (const auto& o : out) {
    AppendU64(&v, o.id);
    // The code, with the high bit for a record updated by an upsert.
    v.push_back(static_cast<char>(static_cast<unsigned char>(o.status.code()) | (o.updated ? 0x80 : 0)));
    AppendU64(&v, o.status.message().size());
    v.append(o.status.message());
  }
  return v;
}

bool DecodeMarker(std::string_view v, uint64_t* digest, std::vector<Store::ImportOutcome>* out) {
  auto u64 = [&v](uint64_t* x) {
    if (v.size() < 8) return false;
    *x = DecodeU64(v.data());
    v.remove_prefix(8);
    return true;
  };
  uint64_t count = 0;
  if (!u64(digest) || !u64(&count) || count > v.size()) return false;
  out->clear();
  for (uint64_t i = 0; i < count; ++i) {
    Store::ImportOutcome o;
    uint64_t len = 0;
    if (!u64(&o.id) || v.empty()) return false;
    auto byte = static_cast<unsigned char>(v[0]);
    o.updated = (byte & 0x80) != 0;
    auto code = static_cast<Status::Code>(byte & 0x7f);
    v.remove_prefix(1);
    if (!u64(&len) || len > v.size()) return false;
    o.status = Status::FromCode(code, std::string(v.substr(0, len)));
    v.remove_prefix(len);
    out->push_back(std::move(o));
  }
  return v.empty();
}

// One record of a batch written by ImportRecords or UpsertRecord: added, or with an
// upsert key, an update of the record holding its key.
struct Row {
  Status add;                 // PrepareAdd's verdict
  Record rec;                 // as an add
  std::string encoded;        // as an add
  Status change;              // upsert: ApplyFieldValues' verdict for an update
  std::vector<Value> values;  // upsert: the named values (others null)
  std::vector<int> named;     // upsert: the named slots
  RecordId holder = 0;        // upsert: the record it updates; 0 = added
  Record old;                 // upsert: the record before the update
  std::string old_encoded;
};

// Prepares every row as an add, and with an upsert slot also as an update.
std::vector<Row> PrepareRows(const ObjectDef& def, const std::vector<FieldValues>& records,
                             UserId user, int upsert_slot, const RecordScope* scope,
                             const Limits& limits) {
  int64_t now = NowMicros();
  std::vector<Row> rows(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Row& r = rows[i];
    r.add = PrepareAdd(def, records[i], user, now, scope, limits, &r.rec, &r.encoded);
    if (upsert_slot < 0) continue;
    r.change = ApplyFieldValues(def, records[i], scope, false, &r.values);
    if (r.change.ok()) {
      for (const auto& fv : records[i]) r.named.push_back(*def.Slot(fv.name));
      if (r.values[static_cast<size_t>(upsert_slot)].is_null()) {
        r.change = Status::InvalidArgument("field '" + def.fields[static_cast<size_t>(upsert_slot)].name +
                                           "' has no value: a record upserted on it needs one");
        r.add = r.change;
      }
    }
  }
  return rows;
}

// Decides each row: outcomes[i].status says whether it is written, rows[i].holder
// whether as an update. With locks (a write), the rows' unique values and the records
// they update are locked into *unique and *records for the write; a dry run takes none.
// Fails as a whole only for a storage error.
Status PlanRows(Store::Impl* impl, TenantId t, const ObjectDef& def, int upsert_slot,
                const RecordScope* scope, UserId user, std::vector<Row>* rows,
                std::vector<Store::ImportOutcome>* outcomes, StripeLocks* unique,
                StripeLocks* records) {
  const KvEngine& kv = *impl->kv_;
  std::vector<std::vector<UniqueValue>> claims(rows->size());
  std::vector<std::mutex*> stripes;
  for (size_t i = 0; i < rows->size(); ++i) {
    Row& r = (*rows)[i];
    claims[i] = upsert_slot < 0 ? UniqueValuesOf(t, def, r.rec.values)
                                : UniqueValuesOf(t, def, r.values, &r.named);
    for (const auto& u : claims[i]) stripes.push_back(&impl->UniqueLock(u.key));
  }
  if (unique != nullptr) unique->Lock(std::move(stripes));
  // Which rows add and which update; the values of the batch's earlier rows.
  std::set<std::string_view> claimed;
  std::vector<std::mutex*> held;
  for (size_t i = 0; i < rows->size(); ++i) {
    Row& r = (*rows)[i];
    Status& verdict = (*outcomes)[i].status;
    if (upsert_slot >= 0) {
      const UniqueValue* key = nullptr;
      for (const auto& u : claims[i]) {
        if (u.slot == upsert_slot) key = &u;
      }
      if (r.change.ok() && key != nullptr && claimed.count(key->key) == 0) {
        COTENANT_RETURN_IF_ERROR(UniqueHolder(kv, key->key, &r.holder));
      }
      verdict = r.holder != 0 ? r.change : r.add;
    } else {
      verdict = r.add;
    }
    if (!verdict.ok()) continue;
    const std::vector<Value>& given = r.holder != 0 ? r.values : r.rec.values;
    for (const auto& u : claims[i]) {
      if (claimed.count(u.key) != 0) {
        verdict = Status::Conflict("an earlier record of the batch has the value " +
                                   given[static_cast<size_t>(u.slot)].Quoted() + " in unique field " +
                                   def.fields[static_cast<size_t>(u.slot)].name + " too");
        break;
      }
      if (r.holder != 0) continue;  // checked once the record to update is read
      RecordId holder = 0;
      COTENANT_RETURN_IF_ERROR(UniqueHolder(kv, u.key, &holder));
      if (holder != 0) {
        verdict = UniqueConflict(def, u.slot, given[static_cast<size_t>(u.slot)]);
        break;
      }
    }
    if (!verdict.ok()) {
      r.holder = 0;
      continue;
    }
    for (const auto& u : claims[i]) claimed.insert(u.key);
    if (r.holder != 0) held.push_back(&impl->RecordLock(t, def.id, r.holder));
  }
  if (records != nullptr) records->Lock(std::move(held));
  // The updates, against the records as they are now.
  for (size_t i = 0; i < rows->size(); ++i) {
    Row& r = (*rows)[i];
    Status& verdict = (*outcomes)[i].status;
    if (!verdict.ok() || r.holder == 0) continue;
    const Value& key = r.values[static_cast<size_t>(upsert_slot)];
    Status read = ReadForWrite(kv, def, def.name, RecordKey(t, def.id, r.holder), r.holder, 0, scope,
                               &r.old_encoded, &r.old);
    if (read.IsNotFound() || (read.ok() && !(r.old.Get(upsert_slot) == key))) {
      // Hidden from the principal (or gone under a dry run): as an add of it would be.
      verdict = UniqueConflict(def, upsert_slot, key);
      continue;
    }
    COTENANT_RETURN_IF_ERROR(read);
    Record rec = r.old;
    for (int slot : r.named) rec.values[static_cast<size_t>(slot)] = r.values[static_cast<size_t>(slot)];
    for (const auto& u : claims[i]) {
      if (r.old.values[static_cast<size_t>(u.slot)] == rec.values[static_cast<size_t>(u.slot)]) continue;
      RecordId holder = 0;
      COTENANT_RETURN_IF_ERROR(UniqueHolder(kv, u.key, &holder));
      if (holder != 0 && holder != r.holder) {
        verdict = UniqueConflict(def, u.slot, rec.values[static_cast<size_t>(u.slot)]);
        break;
      }
    }
    if (!verdict.ok()) continue;
    rec.version = r.old.version + 1;
    rec.modified_by = user;
    rec.modified_at = std::max(NowMicros(), r.old.modified_at);
    if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(rec)) {
      verdict = Status::PermissionDenied("the updated record would fall outside the rows this principal may write");
      continue;
    }
    r.encoded.clear();
    EncodeRecord(rec, &r.encoded);
    verdict = CheckSize(r.encoded, impl->options_.limits);
    r.rec = std::move(rec);
  }
  return Status::OK();
}

// Adds and updates the planned rows (and the batch's marker) in one write. Sets each
// written outcome's id; the usage grows by what the write adds.
Status WriteRows(Store::Impl* impl, TenantId t, TenantState* ts, const ObjectDef& def,
                 const RecordScope* scope, std::vector<Row>* rows,
                 std::vector<Store::ImportOutcome>* outcomes, const std::string& marker_key,
                 uint64_t digest) {
  int64_t count = 0;
  int64_t bytes = 0;
  for (size_t i = 0; i < rows->size(); ++i) {
    const Row& r = (*rows)[i];
    if (!(*outcomes)[i].status.ok()) continue;
    if (r.holder != 0) {
      bytes += static_cast<int64_t>(r.encoded.size()) - static_cast<int64_t>(r.old_encoded.size());
    } else {
      ++count;
      bytes += static_cast<int64_t>(kRecordKeyLen + r.encoded.size());
    }
  }
  Growth growth(ts);
  if (count != 0 || bytes != 0) {
    COTENANT_RETURN_IF_ERROR(growth.Add(impl->Grow(ts, t, count, bytes), count, bytes));
  }
  uint64_t next = 0;
  if (count > 0) {
    COTENANT_RETURN_IF_ERROR(impl->AllocateIds(ts, t, "record", static_cast<uint64_t>(count), &next));
  }
  auto kb = impl->kv_->NewBatch();
  for (size_t i = 0; i < rows->size(); ++i) {
    Row& r = (*rows)[i];
    auto& out = (*outcomes)[i];
    if (!out.status.ok()) continue;
    if (r.holder != 0) {
      out.id = r.rec.id = r.holder;
      out.updated = true;
      kb->Put(Cf::kRecords, RecordKey(t, def.id, r.holder), r.encoded);
      if (impl->shared()) kb->Expect(Cf::kRecords, RecordKey(t, def.id, r.holder), r.old_encoded);
      UpdateIndexEntries(kb.get(), t, def, r.holder, r.old.values, r.rec.values, impl->shared());
    } else {
      out.id = r.rec.id = next++;
      kb->Put(Cf::kRecords, RecordKey(t, def.id, out.id), r.encoded);
      AddIndexEntries(kb.get(), t, def, out.id, r.rec.values, impl->shared());
    }
  }
  if (!marker_key.empty()) {
    // Another front-end may write the same batch again at the same moment: one wins.
    if (impl->shared()) kb->Expect(Cf::kMeta, marker_key, std::nullopt);
    kb->Put(Cf::kMeta, marker_key, EncodeMarker(digest, *outcomes));
  }
  impl->ExpectScope(kb.get(), scope);
  if (kb->Count() > 0) COTENANT_RETURN_IF_ERROR(impl->kv_->Write(kb.get(), impl->sync_writes()));
  growth.Commit();
  return Status::OK();
}

}  // namespace

Status Store::ImportRecords(TenantId tenant, std::string_view object,
                            const std::vector<FieldValues>& records, UserId user,
                            const ImportBatch& batch, bool dry_run,
                            std::vector<ImportOutcome>* out, bool* replayed,
                            const RecordScope* scope) {
  *replayed = false;
  out->clear();
  COTENANT_RETURN_IF_ERROR(CheckBatch(records.size(), "import", options_.limits));
  bool marked = !batch.import_id.empty();
  if (marked && !ValidImportId(batch.import_id)) {
    return Status::InvalidArgument("import id must be 1 to 64 of A-Z a-z 0-9 _ . -");
  }
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  int upsert_slot = -1;
  if (!batch.upsert_on.empty()) {
    COTENANT_RETURN_IF_ERROR(UniqueSlot(*def, batch.upsert_on, scope, &upsert_slot));
  }
  std::vector<Row> rows = PrepareRows(*def, records, user, upsert_slot, scope, options_.limits);
  std::vector<ImportOutcome> outcomes(records.size());
  if (dry_run) {
    COTENANT_RETURN_IF_ERROR(PlanRows(impl_.get(), tenant, *def, upsert_slot, scope, user, &rows,
                                      &outcomes, nullptr, nullptr));
    *out = std::move(outcomes);
    return Status::OK();
  }

  std::string marker_key;
  uint64_t digest = 0;
  std::unique_lock<std::mutex> batch_lock;
  if (marked) {
    marker_key = MetaKey(tenant, ImportPrefix(batch.owner, batch.import_id));
    AppendU64(&marker_key, batch.sequence);
    digest = BatchDigest(records, batch.upsert_on);
    // One writer per marker: a batch sent twice at once is added once.
    batch_lock = std::unique_lock<std::mutex>(impl_->MarkerLock(marker_key));
    std::string stored;
    Status s = engine_->Get(Cf::kMeta, marker_key, &stored);
    if (s.ok()) {
      uint64_t stored_digest = 0;
      if (!DecodeMarker(stored, &stored_digest, out)) {
        out->clear();
        return Status::Internal("the marker of batch " + std::to_string(batch.sequence) +
                                " of import " + batch.import_id + " is corrupt");
      }
      if (stored_digest != digest || out->size() != records.size()) {
        out->clear();
        return Status::Conflict("batch " + std::to_string(batch.sequence) + " of import " +
                                batch.import_id + " was already applied with other records");
      }
      *replayed = true;
      return Status::OK();
    }
    if (!s.IsNotFound()) return s;
  }

  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  StripeLocks unique, updated;
  COTENANT_RETURN_IF_ERROR(PlanRows(impl_.get(), tenant, *def, upsert_slot, scope, user, &rows,
                                    &outcomes, &unique, &updated));
  COTENANT_RETURN_IF_ERROR(
      WriteRows(impl_.get(), tenant, ts.get(), *def, scope, &rows, &outcomes, marker_key, digest));
  *out = std::move(outcomes);
  return Status::OK();
}

Status Store::UpsertRecord(TenantId tenant, std::string_view object, std::string_view field,
                           const FieldValues& fields, UserId user, Record* out, bool* created,
                           const RecordScope* scope) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  int upsert_slot = -1;
  COTENANT_RETURN_IF_ERROR(UniqueSlot(*def, field, scope, &upsert_slot));
  std::vector<FieldValues> one{fields};
  std::vector<Row> rows = PrepareRows(*def, one, user, upsert_slot, scope, options_.limits);
  std::vector<ImportOutcome> outcomes(1);
  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  StripeLocks unique, updated;
  COTENANT_RETURN_IF_ERROR(PlanRows(impl_.get(), tenant, *def, upsert_slot, scope, user, &rows,
                                    &outcomes, &unique, &updated));
  COTENANT_RETURN_IF_ERROR(outcomes[0].status);
  COTENANT_RETURN_IF_ERROR(
      WriteRows(impl_.get(), tenant, ts.get(), *def, scope, &rows, &outcomes, std::string(), 0));
  *created = !outcomes[0].updated;
  *out = std::move(rows[0].rec);
  return Status::OK();
}

Status Store::FinishImport(TenantId tenant, UserId owner, std::string_view import_id,
                           uint64_t* batches) {
  *batches = 0;
  if (!ValidImportId(import_id)) {
    return Status::InvalidArgument("import id must be 1 to 64 of A-Z a-z 0-9 _ . -");
  }
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  std::string lower = MetaKey(tenant, ImportPrefix(owner, import_id));
  std::string upper = lower;
  upper.back() = '\x01';  // just past every sequence after the 0x00 separator
  auto it = engine_->NewIterator(Cf::kMeta, lower, upper);
  auto kb = engine_->NewBatch();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    kb->Delete(Cf::kMeta, it->key());
    ++*batches;
  }
  COTENANT_RETURN_IF_ERROR(it->status());
  if (kb->Count() == 0) return Status::OK();
  return engine_->Write(kb.get(), impl_->sync_writes());
}

}  // namespace cotenant::storage
