// Store: tenants, objects, records, metadata and audit over a KvEngine.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

#include "storage/criteria.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

using json = nlohmann::json;

// Ids are reserved in blocks so that only one write in this many pays for persisting
// the high-water mark.
constexpr uint64_t kSequenceBlock = 1024;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string MetaKey(TenantId tenant, std::string_view key) {
  std::string k = TenantPrefix(tenant);
  k.append(key);
  return k;
}

std::string TenantMetaKey(TenantId id) {
  std::string k(1, kMetaTenant);
  AppendU64(&k, id);
  return MetaKey(kGlobalTenant, k);
}

json TenantToJson(const TenantInfo& t, bool deleting) {
  return json{{"id", t.id},          {"name", t.name},
              {"kind", static_cast<int>(t.kind)}, {"provider", t.provider},
              {"createdAt", t.created_at}, {"deleting", deleting}};
}

bool TenantFromJson(std::string_view text, TenantInfo* t, bool* deleting) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  t->id = j.value("id", uint64_t{0});
  t->name = j.value("name", std::string());
  t->kind = static_cast<TenantKind>(j.value("kind", 0));
  t->provider = j.value("provider", uint64_t{0});
  t->created_at = j.value("createdAt", int64_t{0});
  *deleting = j.value("deleting", false);
  return t->id != 0;
}

json ObjectToJson(const ObjectDef& o) {
  json fields = json::array();
  for (const auto& f : o.fields) {
    fields.push_back({{"name", f.name},
                      {"type", static_cast<int>(f.type)},
                      {"required", f.required},
                      {"indexed", f.indexed}});
  }
  return json{{"id", o.id}, {"name", o.name}, {"fields", fields}};
}

bool ObjectFromJson(std::string_view text, ObjectDef* o) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  o->id = j.value("id", 0u);
  o->name = j.value("name", std::string());
  o->fields.clear();
  for (const auto& f : j.value("fields", json::array())) {
    FieldDef fd;
    fd.name = f.value("name", std::string());
    fd.type = static_cast<FieldType>(f.value("type", 0));
    fd.required = f.value("required", false);
    fd.indexed = f.value("indexed", false);
    o->fields.push_back(std::move(fd));
  }
  return o->id != 0;
}

void AddIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                     const std::vector<Value>& values) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed) continue;
    batch->Put(Cf::kIndexes, IndexKey(t, def.id, static_cast<int>(i), values[i], id), {});
  }
}

void RemoveIndexEntries(KvBatch* batch, TenantId t, const ObjectDef& def, RecordId id,
                        const std::vector<Value>& values) {
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if (!def.fields[i].indexed) continue;
    batch->Delete(Cf::kIndexes, IndexKey(t, def.id, static_cast<int>(i), values[i], id));
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

std::string RecordNotFound(std::string_view object, RecordId id) {
  return "record " + std::to_string(id) + " of object " + std::string(object) +
         " does not exist";
}

// Reads the record a write replaces: NotFound when it is absent or outside the scope's
// rows, Conflict when it is not at `expected_version` (0 = any).
// REQUIRES: the record's lock is held.
Status ReadForWrite(const KvEngine& kv, const ObjectDef& def, std::string_view object,
                    const std::string& key, RecordId id, uint64_t expected_version,
                    const RecordScope* scope, std::string* current, Record* old) {
  Status s = kv.Get(Cf::kRecords, key, current);
  if (s.IsNotFound()) return Status::NotFound(RecordNotFound(object, id));
  COTENANT_RETURN_IF_ERROR(s);
  if (!DecodeRecord(*current, def, old)) {
    return Status::Internal(RecordNotFound(object, id) + " (corrupt)");
  }
  old->id = id;
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(*old)) {
    return Status::NotFound(RecordNotFound(object, id));
  }
  if (expected_version != 0 && old->version != expected_version) {
    return Status::Conflict("record " + std::to_string(id) + " is at version " +
                            std::to_string(old->version) + ", not " +
                            std::to_string(expected_version));
  }
  return Status::OK();
}

}  // namespace

// ---- Shared helpers -----------------------------------------------------------------

Status ApplyFieldValues(const ObjectDef& def, const FieldValues& fields,
                        const RecordScope* scope, bool is_add, std::vector<Value>* values) {
  values->resize(def.fields.size());
  std::vector<bool> seen(def.fields.size(), false);
  for (const auto& fv : fields) {
    auto slot = def.Slot(fv.name);
    if (!slot || (scope != nullptr && !scope->FieldVisible(*slot))) {
      return Status::InvalidArgument("object " + def.name + " has no field '" + fv.name + "'");
    }
    if (*slot < 0) {
      return Status::InvalidArgument("field '" + fv.name + "' is a system field and cannot be written");
    }
    auto i = static_cast<size_t>(*slot);
    if (seen[i]) return Status::InvalidArgument("field '" + fv.name + "' is given twice");
    seen[i] = true;
    const FieldDef& fd = def.fields[i];
    if (fv.value.is_null()) {
      if (fd.required) return Status::InvalidArgument("field '" + fd.name + "' is required");
      (*values)[i] = Value();
      continue;
    }
    COTENANT_RETURN_IF_ERROR(CoerceValue(fv.value, fd.type, fd.name, &(*values)[i]));
  }
  if (is_add) {
    for (size_t i = 0; i < def.fields.size(); ++i) {
      if (def.fields[i].required && (*values)[i].is_null()) {
        return Status::InvalidArgument("field '" + def.fields[i].name + "' is required");
      }
    }
  }
  return Status::OK();
}

ObjectDef RecordScope::Mask(const ObjectDef& def) const {
  ObjectDef masked = def;
  for (size_t i = 0; i < masked.fields.size() && i < visible_fields.size(); ++i) {
    // No valid field name starts with a control byte, so this one matches nothing.
    if (!visible_fields[i]) masked.fields[i].name = std::string(1, '\x01') + std::to_string(i);
  }
  return masked;
}

// ---- Impl ---------------------------------------------------------------------------

Store::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> l(syncer_mu_);
    stopping_ = true;
  }
  syncer_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

void Store::Impl::StartSyncer() {
  if (options_.durability != Durability::kGroup) return;
  syncer_ = std::thread([this] {
    std::unique_lock<std::mutex> l(syncer_mu_);
    while (!stopping_) {
      syncer_cv_.wait_for(l, std::chrono::milliseconds(std::max(1, options_.sync_interval_ms)));
      if (stopping_) break;
      l.unlock();
      // A failed fsync is retried on the next tick; writes were already in the WAL.
      (void)kv_->SyncWal();
      l.lock();
    }
  });
}

Status Store::Impl::Load() {
  // Tenants.
  std::vector<std::pair<TenantInfo, bool>> found;
  {
    std::string prefix = MetaKey(kGlobalTenant, std::string(1, kMetaTenant));
    auto it = kv_->NewIterator(Cf::kMeta, prefix, PrefixSuccessor(prefix));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      TenantInfo t;
      bool deleting = false;
      if (!TenantFromJson(it->value(), &t, &deleting)) {
        return Status::Internal("corrupt tenant entry in metadata");
      }
      found.emplace_back(std::move(t), deleting);
    }
    COTENANT_RETURN_IF_ERROR(it->status());
  }
  for (auto& [info, deleting] : found) {
    auto ts = std::make_shared<TenantState>();
    ts->info = info;
    ts->deleting = deleting;
    std::string prefix = MetaKey(info.id, std::string(1, kMetaObject));
    auto it = kv_->NewIterator(Cf::kMeta, prefix, PrefixSuccessor(prefix));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto def = std::make_shared<ObjectDef>();
      if (!ObjectFromJson(it->value(), def.get())) {
        return Status::Internal("corrupt object entry of tenant " + std::to_string(info.id));
      }
      ts->next_object_id = std::max(ts->next_object_id, def->id + 1);
      ts->objects.emplace(def->name, std::move(def));
    }
    COTENANT_RETURN_IF_ERROR(it->status());
    tenants_.emplace(info.id, std::move(ts));
  }
  global_->info.id = kGlobalTenant;
  audit_seq_ = static_cast<uint64_t>(NowMicros()) << 8;
  return Status::OK();
}

Status Store::Impl::EnterWrite(TenantState* ts, std::shared_lock<std::shared_mutex>* gate) const {
  *gate = std::shared_lock<std::shared_mutex>(ts->write_gate);
  std::shared_lock<std::shared_mutex> l(catalog_mu_);
  if (ts->deleting) {
    gate->unlock();
    return Status::NotFound("tenant " + std::to_string(ts->info.id) + " does not exist");
  }
  return Status::OK();
}

Status Store::Impl::Tenant(TenantId id, std::shared_ptr<TenantState>* out) const {
  std::shared_lock<std::shared_mutex> l(catalog_mu_);
  auto it = tenants_.find(id);
  if (it == tenants_.end() || it->second->deleting) {
    return Status::NotFound("tenant " + std::to_string(id) + " does not exist");
  }
  *out = it->second;
  return Status::OK();
}

Status Store::Impl::Object(TenantId tenant, std::string_view name,
                           std::shared_ptr<TenantState>* ts,
                           std::shared_ptr<const ObjectDef>* def) const {
  std::shared_lock<std::shared_mutex> l(catalog_mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end() || it->second->deleting) {
    return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
  }
  auto oit = it->second->objects.find(name);
  if (oit == it->second->objects.end()) {
    return Status::NotFound("object " + std::string(name) + " does not exist");
  }
  if (ts != nullptr) *ts = it->second;
  *def = oit->second;
  return Status::OK();
}

Status Store::Impl::AllocateIds(TenantState* ts, TenantId tenant, std::string_view name,
                                uint64_t count, uint64_t* first) {
  std::lock_guard<std::mutex> l(ts->seq_mu);
  auto it = ts->sequences.find(name);
  if (it == ts->sequences.end()) {
    it = ts->sequences.emplace(std::string(name), TenantState::Sequence{}).first;
  }
  auto& seq = it->second;
  std::string key = MetaKey(tenant, std::string(1, kMetaSequence) + std::string(name));
  if (seq.next == 0) {
    std::string v;
    Status s = kv_->Get(Cf::kMeta, key, &v);
    if (s.ok() && v.size() == 8) {
      seq.next = seq.reserved = DecodeU64(v.data());
    } else if (s.IsNotFound()) {
      seq.next = seq.reserved = 1;
    } else {
      return s.ok() ? Status::Internal("corrupt sequence " + std::string(name)) : s;
    }
  }
  if (seq.next + count > seq.reserved) {
    // Persist the new high-water mark before handing out ids below it, so a crash can
    // never lead to an id being issued twice.
    uint64_t reserved = seq.next + count + kSequenceBlock;
    std::string v;
    AppendU64(&v, reserved);
    auto batch = kv_->NewBatch();
    batch->Put(Cf::kMeta, key, v);
    COTENANT_RETURN_IF_ERROR(kv_->Write(batch.get(), /*sync=*/true));
    seq.reserved = reserved;
  }
  *first = seq.next;
  seq.next += count;
  return Status::OK();
}

// ---- Store --------------------------------------------------------------------------

Store::Store(const StoreOptions& options, std::unique_ptr<KvEngine> engine)
    : options_(options), engine_(std::move(engine)),
      impl_(std::make_unique<Impl>(options_, engine_.get())) {}

Store::~Store() {
  impl_.reset();  // stops the WAL syncer before the engine closes
  engine_.reset();
}

Status Store::Open(const StoreOptions& options, std::unique_ptr<Store>* out) {
  if (options.path.empty()) return Status::InvalidArgument("data directory is not set");
  std::unique_ptr<KvEngine> engine;
  COTENANT_RETURN_IF_ERROR(OpenRocksEngine(options, &engine));
  std::unique_ptr<Store> store(new Store(options, std::move(engine)));
  COTENANT_RETURN_IF_ERROR(store->impl_->Load());
  // Finish deletions a crash interrupted.
  std::vector<TenantId> unfinished;
  for (const auto& [id, ts] : store->impl_->tenants_) {
    if (ts->deleting) unfinished.push_back(id);
  }
  for (TenantId id : unfinished) COTENANT_RETURN_IF_ERROR(store->DeleteTenant(id));
  store->impl_->StartSyncer();
  *out = std::move(store);
  return Status::OK();
}

// ---- Tenants ------------------------------------------------------------------------

Status Store::CreateTenant(const std::string& name, TenantKind kind, TenantId provider,
                           TenantInfo* out) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument("tenant name must be 1 to 128 characters");
  }
  std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
  for (const auto& [id, ts] : impl_->tenants_) {
    if (!ts->deleting && ts->info.name == name) {
      return Status::Conflict("a tenant named '" + name + "' already exists");
    }
    if (kind == TenantKind::kSystem && ts->info.kind == TenantKind::kSystem) {
      return Status::Conflict("the system tenant already exists");
    }
  }
  auto provider_kind = [&](TenantId p) -> std::optional<TenantKind> {
    auto it = impl_->tenants_.find(p);
    if (it == impl_->tenants_.end() || it->second->deleting) return std::nullopt;
    return it->second->info.kind;
  };
  switch (kind) {
    case TenantKind::kIsv:
    case TenantKind::kSystem:
      if (provider != 0) {
        return Status::InvalidArgument(std::string("an ") +
                                       std::string(TenantKindName(kind)) +
                                       " tenant has no provider");
      }
      break;
    case TenantKind::kMsp:
      if (provider != 0 && provider_kind(provider) != TenantKind::kIsv) {
        return Status::InvalidArgument("the provider of an msp must be a live isv; tenant " +
                                       std::to_string(provider) + " is not");
      }
      break;
    case TenantKind::kTenant:
      if (provider != 0) {
        auto pk = provider_kind(provider);
        if (pk != TenantKind::kIsv && pk != TenantKind::kMsp) {
          return Status::InvalidArgument(
              "the provider of a tenant must be a live isv or msp; tenant " +
              std::to_string(provider) + " is not");
        }
      }
      break;
    default:
      return Status::InvalidArgument("unknown tenant kind");
  }
  uint64_t id = 0;
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(impl_->global_.get(), kGlobalTenant, "tenant", 1, &id));
  TenantInfo info;
  info.id = id;
  info.name = name;
  info.kind = kind;
  info.provider = provider;
  info.created_at = NowMicros();
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kMeta, TenantMetaKey(id), TenantToJson(info, false).dump());
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
  auto ts = std::make_shared<TenantState>();
  ts->info = info;
  impl_->tenants_.emplace(id, std::move(ts));
  *out = info;
  return Status::OK();
}

Status Store::GetTenant(TenantId id, TenantInfo* out) const {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(id, &ts));
  *out = ts->info;
  return Status::OK();
}

std::vector<TenantInfo> Store::ListTenants() const {
  std::vector<TenantInfo> out;
  std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
  for (const auto& [id, ts] : impl_->tenants_) {
    if (!ts->deleting) out.push_back(ts->info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Status Store::DeleteTenant(TenantId id) {
  if (id == kGlobalTenant) return Status::InvalidArgument("tenant 0 cannot be deleted");
  std::shared_ptr<TenantState> ts;
  {
    std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
    auto it = impl_->tenants_.find(id);
    if (it == impl_->tenants_.end()) {
      return Status::NotFound("tenant " + std::to_string(id) + " does not exist");
    }
    ts = it->second;
    if (ts->info.kind == TenantKind::kSystem) {
      return Status::InvalidArgument("the system tenant cannot be deleted");
    }
    if (!ts->deleting) {
      // The tombstone is durable before anything is dropped, so a crash in between
      // resumes the deletion instead of resurrecting a half-deleted tenant.
      auto batch = engine_->NewBatch();
      batch->Put(Cf::kMeta, TenantMetaKey(id), TenantToJson(ts->info, true).dump());
      COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
      ts->deleting = true;
    }
  }
  // Wait for writes that passed the liveness check before the tombstone.
  { std::unique_lock<std::shared_mutex> gate(ts->write_gate); }
  std::string begin = TenantPrefix(id);
  std::string end = TenantPrefix(id + 1);
  for (int cf = 0; cf < kNumCfs; ++cf) {
    COTENANT_RETURN_IF_ERROR(engine_->DropRange(static_cast<Cf>(cf), begin, end));
  }
  auto batch = engine_->NewBatch();
  batch->Delete(Cf::kMeta, TenantMetaKey(id));
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
  std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
  impl_->tenants_.erase(id);
  return Status::OK();
}

// ---- Objects ------------------------------------------------------------------------

Status Store::CreateObject(TenantId tenant, const std::string& name,
                           const std::vector<FieldDef>& fields, ObjectDef* out) {
  if (!ValidName(name)) {
    return Status::InvalidArgument("object name '" + name +
                                   "' is invalid: use 1-64 letters, digits or '_', not starting with a digit");
  }
  if (fields.size() > options_.limits.max_fields_per_object) {
    return Status::ResourceExhausted("an object may declare at most " +
                                     std::to_string(options_.limits.max_fields_per_object) +
                                     " fields");
  }
  ObjectDef probe;  // resolves system field names
  std::set<std::string, std::less<>> names;
  for (const auto& f : fields) {
    if (!ValidName(f.name)) {
      return Status::InvalidArgument("field name '" + f.name + "' is invalid: use 1-64 letters, digits or '_', not starting with a digit");
    }
    if (probe.Slot(f.name)) {
      return Status::InvalidArgument("field name '" + f.name + "' is reserved for a system field");
    }
    if (!names.insert(f.name).second) {
      return Status::InvalidArgument("field '" + f.name + "' is declared twice");
    }
    if (static_cast<int>(f.type) > static_cast<int>(FieldType::kTimestamp)) {
      return Status::InvalidArgument("field '" + f.name + "' has an unknown type");
    }
  }
  std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
  auto it = impl_->tenants_.find(tenant);
  if (it == impl_->tenants_.end() || it->second->deleting) {
    return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
  }
  auto& ts = *it->second;
  if (ts.objects.count(name) != 0) {
    return Status::Conflict("object " + name + " already exists");
  }
  auto def = std::make_shared<ObjectDef>();
  def->id = ts.next_object_id;
  def->name = name;
  def->fields = fields;
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kMeta, MetaKey(tenant, std::string(1, kMetaObject) + name),
             ObjectToJson(*def).dump());
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
  ts.next_object_id++;
  *out = *def;
  ts.objects.emplace(name, std::move(def));
  return Status::OK();
}

Status Store::GetObject(TenantId tenant, std::string_view name,
                        std::shared_ptr<const ObjectDef>* out) const {
  return impl_->Object(tenant, name, nullptr, out);
}

Status Store::ListObjects(TenantId tenant, std::vector<ObjectDef>* out) const {
  std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
  auto it = impl_->tenants_.find(tenant);
  if (it == impl_->tenants_.end() || it->second->deleting) {
    return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
  }
  out->clear();
  for (const auto& [name, def] : it->second->objects) out->push_back(*def);
  return Status::OK();
}

// ---- Records ------------------------------------------------------------------------

Status Store::AddRecord(TenantId tenant, std::string_view object, const FieldValues& fields,
                        UserId user, Record* out, const RecordScope* scope) {
  Record rec;
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  rec.version = 1;
  rec.created_by = rec.modified_by = user;
  rec.created_at = rec.modified_at = NowMicros();
  COTENANT_RETURN_IF_ERROR(ApplyFieldValues(*def, fields, scope, /*is_add=*/true, &rec.values));
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(rec)) {
    return Status::PermissionDenied("the record falls outside the rows this principal may write");
  }
  std::string encoded;
  EncodeRecord(rec, &encoded);
  COTENANT_RETURN_IF_ERROR(CheckSize(encoded, options_.limits));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", 1, &rec.id));
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kRecords, RecordKey(tenant, def->id, rec.id), encoded);
  AddIndexEntries(batch.get(), tenant, *def, rec.id, rec.values);
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  ts->CountUsage(1, static_cast<int64_t>(kRecordKeyLen + encoded.size()));
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
    Record& rec = recs[i];
    rec.version = 1;
    rec.created_by = rec.modified_by = user;
    rec.created_at = rec.modified_at = now;
    Status s = ApplyFieldValues(*def, records[i], scope, true, &rec.values);
    if (s.ok() && scope != nullptr && scope->row_filter != nullptr &&
        !scope->row_filter->Matches(rec)) {
      s = Status::PermissionDenied("the record falls outside the rows this principal may write");
    }
    if (s.ok()) {
      EncodeRecord(rec, &encoded[i]);
      s = CheckSize(encoded[i], options_.limits);
    }
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
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  uint64_t first = 0;
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts.get(), tenant, "record", records.size(), &first));
  auto batch = engine_->NewBatch();
  ids->clear();
  ids->reserve(records.size());
  int64_t bytes = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    RecordId id = first + i;
    batch->Put(Cf::kRecords, RecordKey(tenant, def->id, id), encoded[i]);
    AddIndexEntries(batch.get(), tenant, *def, id, recs[i].values);
    ids->push_back(id);
    bytes += static_cast<int64_t>(kRecordKeyLen + encoded[i].size());
  }
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  ts->CountUsage(static_cast<int64_t>(recs.size()), bytes);
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
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kRecords, key, encoded);
  for (size_t i = 0; i < def->fields.size(); ++i) {
    if (!def->fields[i].indexed || old.values[i] == rec.values[i]) continue;
    batch->Delete(Cf::kIndexes, IndexKey(tenant, def->id, static_cast<int>(i), old.values[i], id));
    batch->Put(Cf::kIndexes, IndexKey(tenant, def->id, static_cast<int>(i), rec.values[i], id), {});
  }
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), impl_->sync_writes()));
  ts->CountUsage(0, static_cast<int64_t>(encoded.size()) - static_cast<int64_t>(current.size()));
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
  if (s.IsNotFound()) return Status::NotFound(RecordNotFound(object, id));
  COTENANT_RETURN_IF_ERROR(s);
  if (!DecodeRecord(value, *def, out)) return Status::Internal(RecordNotFound(object, id) + " (corrupt)");
  out->id = id;
  if (scope != nullptr && scope->row_filter != nullptr && !scope->row_filter->Matches(*out)) {
    return Status::NotFound(RecordNotFound(object, id));
  }
  if (def_out != nullptr) *def_out = std::move(def);
  return Status::OK();
}

// ---- Metadata -----------------------------------------------------------------------

void Store::MetaBatch::Put(TenantId tenant, std::string_view key, std::string_view value) {
  ops_.push_back(Op{true, tenant, std::string(key), std::string(value)});
}

void Store::MetaBatch::Delete(TenantId tenant, std::string_view key) {
  ops_.push_back(Op{false, tenant, std::string(key), {}});
}

Status Store::MetaGet(TenantId tenant, std::string_view key, std::string* value) const {
  if (tenant != kGlobalTenant) {
    std::shared_ptr<TenantState> ts;
    COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  }
  return engine_->Get(Cf::kMeta, MetaKey(tenant, key), value);
}

Status Store::MetaScan(TenantId tenant, std::string_view prefix,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (tenant != kGlobalTenant) {
    std::shared_ptr<TenantState> ts;
    COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  }
  std::string p = MetaKey(tenant, prefix);
  auto it = engine_->NewIterator(Cf::kMeta, p, PrefixSuccessor(p));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!fn(it->key().substr(kTenantPrefixLen), it->value())) break;
  }
  return it->status();
}

Status Store::MetaWrite(const MetaBatch& batch) {
  if (batch.empty()) return Status::OK();
  // Hold the write gate of every tenant touched, in id order (no lock-order cycles).
  std::set<TenantId> touched;
  for (const auto& op : batch.ops_) {
    if (!op.key.empty() && static_cast<unsigned char>(op.key[0]) < 0x20) {
      return Status::InvalidArgument("meta keys below 0x20 are reserved for the store");
    }
    if (op.tenant != kGlobalTenant) touched.insert(op.tenant);
  }
  std::vector<std::shared_ptr<TenantState>> states;
  for (TenantId t : touched) {
    std::shared_ptr<TenantState> ts;
    COTENANT_RETURN_IF_ERROR(impl_->Tenant(t, &ts));
    states.push_back(std::move(ts));
  }
  std::vector<std::shared_lock<std::shared_mutex>> gates;
  for (auto& ts : states) gates.emplace_back(ts->write_gate);
  {
    std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
    for (auto& ts : states) {
      if (ts->deleting) {
        return Status::NotFound("tenant " + std::to_string(ts->info.id) + " does not exist");
      }
    }
  }
  auto kb = engine_->NewBatch();
  for (const auto& op : batch.ops_) {
    if (op.put) {
      kb->Put(Cf::kMeta, MetaKey(op.tenant, op.key), op.value);
    } else {
      kb->Delete(Cf::kMeta, MetaKey(op.tenant, op.key));
    }
  }
  // Metadata decides access: always durable before the change is acknowledged.
  return engine_->Write(kb.get(), /*sync=*/true);
}

Status Store::NextId(TenantId tenant, std::string_view sequence, uint64_t* id) {
  if (tenant == kGlobalTenant) {
    return impl_->AllocateIds(impl_->global_.get(), tenant, sequence, 1, id);
  }
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts.get(), &gate));
  return impl_->AllocateIds(ts.get(), tenant, sequence, 1, id);
}

// ---- Audit --------------------------------------------------------------------------

namespace {
uint64_t OrderedTime(int64_t micros) { return static_cast<uint64_t>(micros) ^ (1ULL << 63); }
}  // namespace

Status Store::AuditAppend(TenantId tenant, int64_t at_micros, std::string_view entry) {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  std::shared_lock<std::shared_mutex> gate(ts->write_gate);
  std::string key = TenantPrefix(tenant);
  AppendU64(&key, OrderedTime(at_micros));
  // The sequence orders entries of one microsecond; it starts from the clock at Open, so
  // keys stay unique across restarts.
  AppendU64(&key, impl_->audit_seq_.fetch_add(1));
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kAudit, key, entry);
  return engine_->Write(batch.get(), impl_->sync_writes());
}

Status Store::AuditAppendBatch(const std::vector<AuditItem>& items) {
  if (items.empty()) return Status::OK();
  // Gates of the live tenants involved, in id order.
  std::vector<TenantId> ids;
  for (const auto& i : items) ids.push_back(i.tenant);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<std::shared_ptr<TenantState>> states;
  std::vector<TenantId> live;
  for (TenantId t : ids) {
    std::shared_ptr<TenantState> ts;
    if (impl_->Tenant(t, &ts).ok()) {
      states.push_back(std::move(ts));
      live.push_back(t);
    }
  }
  std::vector<std::shared_lock<std::shared_mutex>> gates;
  for (auto& ts : states) gates.emplace_back(ts->write_gate);
  auto batch = engine_->NewBatch();
  for (const auto& i : items) {
    if (!std::binary_search(live.begin(), live.end(), i.tenant)) continue;
    std::string key = TenantPrefix(i.tenant);
    AppendU64(&key, OrderedTime(i.at_micros));
    AppendU64(&key, impl_->audit_seq_.fetch_add(1));
    batch->Put(Cf::kAudit, key, i.entry);
  }
  if (batch->Count() == 0) return Status::OK();
  return engine_->Write(batch.get(), impl_->sync_writes());
}

Status Store::AuditScan(TenantId tenant, int64_t from_micros, int64_t to_micros,
                        const std::function<bool(int64_t, std::string_view)>& fn) const {
  std::string lower = TenantPrefix(tenant), upper = TenantPrefix(tenant);
  AppendU64(&lower, OrderedTime(from_micros));
  AppendU64(&upper, OrderedTime(to_micros));
  auto it = engine_->NewIterator(Cf::kAudit, lower, upper);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = it->key();
    if (k.size() < 16) continue;
    auto t = static_cast<int64_t>(DecodeU64(k.data() + 8) ^ (1ULL << 63));
    if (!fn(t, it->value())) break;
  }
  return it->status();
}

// ---- Usage --------------------------------------------------------------------------

Status Store::TenantUsage(TenantId tenant, uint64_t* records, uint64_t* bytes) {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  if (!ts->usage_ready.load(std::memory_order_acquire)) {
    std::unique_lock<std::shared_mutex> gate(ts->write_gate);
    if (!ts->usage_ready.load(std::memory_order_acquire)) {
      int64_t n = 0, b = 0;
      KvReadOptions ro;
      ro.fill_cache = false;
      auto it = engine_->NewIterator(Cf::kRecords, TenantPrefix(tenant), TenantPrefix(tenant + 1), ro);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ++n;
        b += static_cast<int64_t>(it->key().size() + it->value().size());
      }
      COTENANT_RETURN_IF_ERROR(it->status());
      ts->usage_records.store(n, std::memory_order_relaxed);
      ts->usage_bytes.store(b, std::memory_order_relaxed);
      ts->usage_ready.store(true, std::memory_order_release);
    }
  }
  *records = static_cast<uint64_t>(std::max<int64_t>(0, ts->usage_records.load()));
  *bytes = static_cast<uint64_t>(std::max<int64_t>(0, ts->usage_bytes.load()));
  return Status::OK();
}

// ---- Introspection ------------------------------------------------------------------

Status Store::CountTenantKeys(TenantId tenant, uint64_t* keys) const {
  *keys = 0;
  for (int cf = 0; cf < kNumCfs; ++cf) {
    auto it = engine_->NewIterator(static_cast<Cf>(cf), TenantPrefix(tenant),
                                   TenantPrefix(tenant + 1));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*keys;
    COTENANT_RETURN_IF_ERROR(it->status());
  }
  return Status::OK();
}

void Store::MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const {
  engine_->MemoryUsage(block_cache, memtables);
}

}  // namespace cotenant::storage
