// Store: bulk import batches (docs/IMPORT.md, "Resuming without duplicates").
//
// A batch that names an import leaves a marker in the same engine batch as its records:
// meta key T | 0x04 | owner | import id | 0x00 | sequence, whose value is a digest of the
// batch's input and the outcome of each of its records. Sent again, the batch is
// recognised by its marker and answered with the first outcomes, so an importer that
// died between sending a batch and saving its checkpoint never adds the batch twice.

#include "storage/key_encoding.h"
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
uint64_t BatchDigest(const std::vector<FieldValues>& records) {
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
  for (const auto& rec : records) {
    mix("record");
    for (const auto& fv : rec) {
      mix(fv.name);
      mix(TypedKey(fv.value));
    }
  }
  return h;
}

// Marker value: digest u64 | count u64 | per record: id u64, code u8, message length
// u64, message.
std::string EncodeMarker(uint64_t digest, const std::vector<Store::ImportOutcome>& out) {
  std::string v;
  AppendU64(&v, digest);
  AppendU64(&v, out.size());
  for (const auto& o : out) {
    AppendU64(&v, o.id);
    v.push_back(static_cast<char>(o.status.code()));
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
    auto code = static_cast<Status::Code>(static_cast<unsigned char>(v[0]));
    v.remove_prefix(1);
    if (!u64(&len) || len > v.size()) return false;
    o.status = Status::FromCode(code, std::string(v.substr(0, len)));
    v.remove_prefix(len);
    out->push_back(std::move(o));
  }
  return v.empty();
}

}  // namespace

Status Store::ImportRecords(TenantId tenant, std::string_view object,
                            const std::vector<FieldValues>& records, UserId user,
                            const ImportBatch& batch, bool dry_run,
                            std::vector<ImportOutcome>* out, bool* replayed,
                            const RecordScope* scope) {
  *replayed = false;
  out->clear();
  if (records.empty()) return Status::InvalidArgument("no records to import");
  if (records.size() > options_.limits.max_batch_records) {
    return Status::ResourceExhausted("a batch may hold at most " +
                                     std::to_string(options_.limits.max_batch_records) +
                                     " records; got " + std::to_string(records.size()));
  }
  bool marked = !batch.import_id.empty();
  if (marked && !ValidImportId(batch.import_id)) {
    return Status::InvalidArgument("import id must be 1 to 64 of A-Z a-z 0-9 _ . -");
  }
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));

  int64_t now = NowMicros();
  std::vector<Record> recs(records.size());
  std::vector<std::string> encoded(records.size());
  std::vector<ImportOutcome> outcomes(records.size());
  int64_t count = 0;
  int64_t bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    outcomes[i].status =
        PrepareAdd(*def, records[i], user, now, scope, options_.limits, &recs[i], &encoded[i]);
    if (outcomes[i].status.ok()) {
      ++count;
      bytes += static_cast<int64_t>(kRecordKeyLen + encoded[i].size());
    }
  }
  if (dry_run) {
    *out = std::move(outcomes);
    return Status::OK();
  }

  std::string marker_key;
  uint64_t digest = 0;
  std::unique_lock<std::mutex> batch_lock;
  if (marked) {
    marker_key = MetaKey(tenant, ImportPrefix(batch.owner, batch.import_id));
    AppendU64(&marker_key, batch.sequence);
    digest = BatchDigest(records);
    // One writer per marker: a batch sent twice at once is added once.
    batch_lock = std::unique_lock<std::mutex>(
        impl_->RecordLock(tenant, 0, std::hash<std::string>()(marker_key)));
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

  if (count > 0 && ts->HasStoreQuota()) {
    COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  }
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  if (count > 0) COTENANT_RETURN_IF_ERROR(impl_->RefuseDuringIngest(ts.get(), *def));
  Growth growth(ts.get());
  if (count > 0) {
    COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts.get(), tenant, count, bytes), count, bytes));
  }
  uint64_t next = 0;
  if (count > 0) {
    COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record",
                                                static_cast<uint64_t>(count), &next));
  }
  auto kb = engine_->NewBatch();
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!outcomes[i].status.ok()) continue;
    RecordId id = next++;
    outcomes[i].id = id;
    kb->Put(Cf::kRecords, RecordKey(tenant, def->id, id), encoded[i]);
    AddIndexEntries(kb.get(), tenant, *def, id, recs[i].values);
  }
  if (marked) kb->Put(Cf::kMeta, marker_key, EncodeMarker(digest, outcomes));
  if (kb->Count() > 0) COTENANT_RETURN_IF_ERROR(engine_->Write(kb.get(), impl_->sync_writes()));
  growth.Commit();
  *out = std::move(outcomes);
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
