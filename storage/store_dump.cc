// Store: reading an object's records page by page with every system field, and writing
// records back with their original ids, versions and times (tenant dump and restore).

#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {

Status Store::ReadRecords(TenantId tenant, std::string_view object, RecordId after_id,
                          uint32_t limit, std::vector<Record>* out, bool* complete,
                          std::shared_ptr<const ObjectDef>* def) const {
  out->clear();
  *complete = true;
  if (limit < 1 || limit > options_.limits.max_page_rows) {
    return Status::InvalidArgument("a page holds 1 to " +
                                   std::to_string(options_.limits.max_page_rows) +
                                   " records, not " + std::to_string(limit));
  }
  std::shared_ptr<const ObjectDef> d;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, nullptr, &d));
  if (after_id == UINT64_MAX) {
    *def = std::move(d);
    return Status::OK();
  }
  KvReadOptions ro;
  ro.fill_cache = false;  // a dump reads each record once
  auto snap = engine_->GetSnapshot();
  ro.snapshot = snap.get();
  auto it = engine_->NewIterator(Cf::kRecords, RecordKey(tenant, d->id, after_id + 1),
                                 PrefixSuccessor(ObjectPrefix(tenant, d->id)), ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (out->size() == limit) {
      *complete = false;
      break;
    }
    std::string_view key = it->key();
    if (key.size() != kRecordKeyLen) return Status::Internal("malformed record key in object " + d->name);
    Record rec;
    RecordId id = DecodeU64(key.data() + kObjectPrefixLen);
    if (!DecodeRecord(it->value(), *d, &rec)) {
      return Status::Internal("record " + std::to_string(id) + " of object " + d->name + " is corrupt");
    }
    rec.id = id;
    out->push_back(std::move(rec));
  }
  COTENANT_RETURN_IF_ERROR(it->status());
  *def = std::move(d);
  return Status::OK();
}

Status Store::RestoreRecords(TenantId tenant, std::string_view object,
                             const std::vector<RestoredRecord>& records) {
  COTENANT_RETURN_IF_ERROR(CheckBatch(records.size(), "restore", options_.limits));
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  std::vector<Record> recs(records.size());
  std::vector<std::string> encoded(records.size());
  int64_t bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const RestoredRecord& in = records[i];
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("record " + std::to_string(i) + " of the batch (id " +
                                     std::to_string(in.id) + "): " + why);
    };
    if (in.id == 0 || in.id >= (uint64_t{1} << 63)) return bad("the id must be from 1 to 2^63-1");
    if (i > 0 && in.id <= records[i - 1].id) return bad("ids must be strictly ascending");
    if (in.version == 0) return bad("the version must be at least 1");
    Record& r = recs[i];
    r.id = in.id;
    r.version = in.version;
    r.created_by = in.created_by;
    r.created_at = in.created_at;
    r.modified_by = in.modified_by;
    r.modified_at = in.modified_at;
    Status s = ApplyFieldValues(*def, in.fields, nullptr, /*is_add=*/true, &r.values);
    if (!s.ok()) return bad(s.message());
    EncodeRecord(r, &encoded[i]);
    s = CheckSize(encoded[i], options_.limits);
    if (!s.ok()) return Status::ResourceExhausted("record " + std::to_string(i) + " of the batch: " + s.message());
    bytes += static_cast<int64_t>(kRecordKeyLen + encoded[i].size());
  }
  if (ts->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  // Exclusive: no add of the tenant allocates an id or writes while the largest stored id
  // is read and the sequence is moved past the batch, so no id is ever used twice.
  std::unique_lock<std::shared_mutex> gate(ts->write_gate);
  {
    std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
    if (ts->deleting) return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
  }
  COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  {
    auto it = engine_->NewIterator(Cf::kRecords, ObjectPrefix(tenant, def->id),
                                   PrefixSuccessor(ObjectPrefix(tenant, def->id)));
    it->SeekToLast();
    COTENANT_RETURN_IF_ERROR(it->status());
    if (it->Valid() && it->key().size() == kRecordKeyLen) {
      RecordId last = DecodeU64(it->key().data() + kObjectPrefixLen);
      if (records.front().id <= last) {
        return Status::InvalidArgument(
            "record 0 of the batch (id " + std::to_string(records.front().id) +
            "): object " + def->name + " already holds record " + std::to_string(last) +
            "; restored ids must be greater than every id the object holds");
      }
    }
  }
  // Unique values: against each other and against the records the object holds.
  StripeLocks unique;
  COTENANT_RETURN_IF_ERROR(ClaimBatchUniqueValues(impl_.get(), tenant, *def, recs, true, &unique));
  Growth growth(ts.get());
  auto count = static_cast<int64_t>(recs.size());
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, count, bytes), count, bytes));
  uint64_t next = 0;
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", 0, &next));
  RecordId largest = records.back().id;
  if (next <= largest) {
    uint64_t skipped = 0;
    COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", largest + 1 - next, &skipped));
  }
  auto batch = engine_->NewBatch();
  for (size_t i = 0; i < recs.size(); ++i) {
    // Restored ids are above every id the object holds and above the sequence: only the
    // unique values may meet another front-end's writes.
    batch->Put(Cf::kRecords, RecordKey(tenant, def->id, recs[i].id), encoded[i]);
    AddIndexEntries(batch.get(), tenant, *def, recs[i].id, recs[i].values, impl_->shared());
  }
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  growth.Commit();
  return Status::OK();
}

}  // namespace cotenant::storage
