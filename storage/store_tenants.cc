// Store: the catalog of tenants and objects: loading it at open, tenant lifecycle
// (create, list, delete) and object definitions.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "storage/key_encoding.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

using json = nlohmann::json;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string TenantMetaKey(TenantId id) {
  std::string k(1, kMetaTenant);
  AppendU64(&k, id);
  return MetaKey(kGlobalTenant, k);
}

json TenantToJson(const TenantInfo& t, bool deleting) {
  json j{{"id", t.id},          {"name", t.name},
         {"kind", static_cast<int>(t.kind)}, {"provider", t.provider},
         {"createdAt", t.created_at}, {"deleting", deleting}};
  if (!(t.quota == TenantQuota{})) {
    j["quota"] = json{{"records", t.quota.records},
                      {"bytes", t.quota.bytes},
                      {"callsPerSecond", t.quota.calls_per_second},
                      {"concurrentWork", t.quota.concurrent_work}};
  }
  return j;
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
  if (auto q = j.find("quota"); q != j.end()) {
    if (!q->is_object()) return false;
    t->quota.records = q->value("records", uint64_t{0});
    t->quota.bytes = q->value("bytes", uint64_t{0});
    t->quota.calls_per_second = q->value("callsPerSecond", uint32_t{0});
    t->quota.concurrent_work = q->value("concurrentWork", uint32_t{0});
  }
  return t->id != 0;
}

json ObjectToJson(const ObjectDef& o) {
  json fields = json::array();
  for (const auto& f : o.fields) {
    json field = {{"name", f.name},
                  {"type", static_cast<int>(f.type)},
                  {"required", f.required},
                  {"indexed", f.indexed}};
    if (f.unique) field["unique"] = true;
    fields.push_back(std::move(field));
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
    fd.unique = f.value("unique", false);
    o->fields.push_back(std::move(fd));
  }
  return o->id != 0;
}

}  // namespace

bool DecodeObjectJson(std::string_view text, ObjectDef* out) { return ObjectFromJson(text, out); }

// ---- Loading the catalog -----------------------------------------------------------

Status Store::Impl::ReadTenants(std::vector<std::pair<TenantInfo, bool>>* out) const {
  std::string prefix = MetaKey(kGlobalTenant, std::string(1, kMetaTenant));
  auto it = kv_->NewIterator(Cf::kMeta, prefix, PrefixSuccessor(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    TenantInfo t;
    bool deleting = false;
    if (!TenantFromJson(it->value(), &t, &deleting)) {
      return Status::Internal("corrupt tenant entry in metadata");
    }
    out->emplace_back(std::move(t), deleting);
  }
  return it->status();
}

Status Store::Impl::ReadObjects(TenantId tenant, TenantState* ts) const {
  std::string prefix = MetaKey(tenant, std::string(1, kMetaObject));
  auto it = kv_->NewIterator(Cf::kMeta, prefix, PrefixSuccessor(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto def = std::make_shared<ObjectDef>();
    if (!ObjectFromJson(it->value(), def.get())) {
      return Status::Internal("corrupt object entry of tenant " + std::to_string(tenant));
    }
    ts->next_object_id = std::max(ts->next_object_id, def->id + 1);
    ts->objects.emplace(def->name, std::move(def));
  }
  return it->status();
}

Status Store::Impl::ReadTenant(const TenantInfo& info, bool deleting,
                               std::shared_ptr<TenantState>* out) const {
  auto ts = std::make_shared<TenantState>();
  ts->info = info;
  ts->SetQuota(info.quota);
  ts->deleting = deleting;
  COTENANT_RETURN_IF_ERROR(ReadObjects(info.id, ts.get()));
  *out = std::move(ts);
  return Status::OK();
}

Status Store::Impl::Load() {
  std::vector<std::pair<TenantInfo, bool>> found;
  COTENANT_RETURN_IF_ERROR(ReadTenants(&found));
  for (auto& [info, deleting] : found) {
    std::shared_ptr<TenantState> ts;
    COTENANT_RETURN_IF_ERROR(ReadTenant(info, deleting, &ts));
    tenants_.emplace(info.id, std::move(ts));
  }
  global_->info.id = kGlobalTenant;
  audit_seq_ = static_cast<uint64_t>(NowMicros()) << 8;
  return Status::OK();
}

Status Store::Refresh(std::optional<TenantId> tenant) { return impl_->Refresh(tenant); }

Status Store::Impl::Refresh(std::optional<TenantId> tenant) {
  if (!shared()) return Status::OK();  // this process holds the store alone
  std::lock_guard<std::mutex> w(catalog_write_mu_);
  if (!tenant) {
    std::vector<std::pair<TenantInfo, bool>> found;
    COTENANT_RETURN_IF_ERROR(ReadTenants(&found));
    std::map<TenantId, std::shared_ptr<TenantState>> added;
    std::set<TenantId> live;
    for (auto& [info, deleting] : found) {
      live.insert(info.id);
      {
        std::shared_lock<std::shared_mutex> l(catalog_mu_);
        if (tenants_.count(info.id) != 0) continue;
      }
      std::shared_ptr<TenantState> ts;
      COTENANT_RETURN_IF_ERROR(ReadTenant(info, deleting, &ts));
      added.emplace(info.id, std::move(ts));
    }
    std::unique_lock<std::shared_mutex> l(catalog_mu_);
    std::erase_if(tenants_, [&](const auto& kv) { return live.count(kv.first) == 0; });
    for (auto& [id, ts] : added) tenants_.emplace(id, std::move(ts));
    for (auto& [info, deleting] : found) {
      auto it = tenants_.find(info.id);
      if (it == tenants_.end()) continue;
      it->second->deleting = it->second->deleting || deleting;
    }
    return Status::OK();
  }
  std::string v;
  Status s = kv_->Get(Cf::kMeta, TenantMetaKey(*tenant), &v);
  if (s.IsNotFound()) {
    std::unique_lock<std::shared_mutex> l(catalog_mu_);
    tenants_.erase(*tenant);
    return Status::OK();
  }
  COTENANT_RETURN_IF_ERROR(s);
  TenantInfo info;
  bool deleting = false;
  if (!TenantFromJson(v, &info, &deleting)) return Status::Internal("corrupt tenant entry in metadata");
  TenantState fresh;  // what the store holds now
  COTENANT_RETURN_IF_ERROR(ReadObjects(*tenant, &fresh));
  std::unique_lock<std::shared_mutex> l(catalog_mu_);
  auto& ts = tenants_[*tenant];
  if (ts == nullptr) ts = std::make_shared<TenantState>();
  ts->info = info;
  ts->SetQuota(info.quota);
  ts->deleting = ts->deleting || deleting;
  ts->objects = std::move(fresh.objects);
  ts->next_object_id = std::max(ts->next_object_id, fresh.next_object_id);
  return Status::OK();
}

// ---- Tenants ------------------------------------------------------------------------

Status Store::CreateTenant(const std::string& name, TenantKind kind, TenantId provider,
                           TenantInfo* out) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument("tenant name must be 1 to 128 characters");
  }
  std::lock_guard<std::mutex> w(impl_->catalog_write_mu_);
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
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(impl_->global_.get(), kGlobalTenant, "tenant", 1, &id, 0,
                                              /*block=*/16));
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
  {
    std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
    impl_->tenants_.emplace(id, std::move(ts));
  }
  *out = info;
  return Status::OK();
}

Status Store::GetTenant(TenantId id, TenantInfo* out) const {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(id, &ts));
  std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);  // the quota may change
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

Status Store::SetTenantQuota(TenantId id, const TenantQuota& quota) {
  std::shared_ptr<TenantState> ts;
  {
    std::lock_guard<std::mutex> w(impl_->catalog_write_mu_);
    auto it = impl_->tenants_.find(id);
    if (it == impl_->tenants_.end() || it->second->deleting) {
      return Status::NotFound("tenant " + std::to_string(id) + " does not exist");
    }
    ts = it->second;
    TenantInfo info = ts->info;
    info.quota = quota;
    auto batch = engine_->NewBatch();
    batch->Put(Cf::kMeta, TenantMetaKey(id), TenantToJson(info, false).dump());
    COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
    std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
    ts->info.quota = quota;  // only the quota: other fields are read without the lock
    ts->SetQuota(quota);
  }
  // Counted now, so the first write checked against the quota finds the usage ready.
  if (ts->HasStoreQuota()) return impl_->EnsureUsage(ts.get(), id);
  return Status::OK();
}

std::vector<TenantId> Store::PendingDeletions() const {
  std::vector<TenantId> out;
  std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
  for (const auto& [id, ts] : impl_->tenants_) {
    if (ts->deleting) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Store::DeleteTenant(TenantId id, const std::function<Status()>& before_forget) {
  if (id == kGlobalTenant) return Status::InvalidArgument("tenant 0 cannot be deleted");
  std::shared_ptr<TenantState> ts;
  {
    std::lock_guard<std::mutex> w(impl_->catalog_write_mu_);
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
      std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
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
  if (before_forget) COTENANT_RETURN_IF_ERROR(before_forget());
  auto batch = engine_->NewBatch();
  batch->Delete(Cf::kMeta, TenantMetaKey(id));
  COTENANT_RETURN_IF_ERROR(engine_->Write(batch.get(), /*sync=*/true));
  std::lock_guard<std::mutex> w(impl_->catalog_write_mu_);
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
  {
    std::shared_ptr<TenantState> known;  // on a shared store, looked for in the engine
    COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &known));
  }
  std::lock_guard<std::mutex> w(impl_->catalog_write_mu_);
  auto it = impl_->tenants_.find(tenant);
  if (it == impl_->tenants_.end() || it->second->deleting) {
    return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
  }
  auto& ts = *it->second;
  if (ts.objects.count(name) != 0) {
    return Status::Conflict("object " + name + " already exists");
  }
  auto def = std::make_shared<ObjectDef>();
  // Object ids come from a sequence (other front-ends of a shared store create objects
  // too), above every id the tenant's objects had before the sequence existed.
  uint64_t id = 0;
  COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(&ts, tenant, "object", 1, &id, ts.next_object_id,
                                              /*block=*/16));
  if (id > std::numeric_limits<ObjectId>::max()) {
    return Status::ResourceExhausted("tenant " + std::to_string(tenant) + " has no object id left");
  }
  def->id = static_cast<ObjectId>(id);
  def->name = name;
  def->fields = fields;
  for (auto& f : def->fields) f.indexed = f.indexed || f.unique;  // a unique field is indexed
  const std::string key = MetaKey(tenant, std::string(1, kMetaObject) + name);
  auto batch = engine_->NewBatch();
  batch->Expect(Cf::kMeta, key, std::nullopt);  // the name is free on every front-end too
  batch->Put(Cf::kMeta, key, ObjectToJson(*def).dump());
  Status s = engine_->Write(batch.get(), /*sync=*/true);
  if (IsConditionFailed(s)) return Status::Conflict("object " + name + " already exists");
  COTENANT_RETURN_IF_ERROR(s);
  *out = *def;
  std::unique_lock<std::shared_mutex> l(impl_->catalog_mu_);
  ts.next_object_id = std::max<ObjectId>(ts.next_object_id, def->id + 1);
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

}  // namespace cotenant::storage
