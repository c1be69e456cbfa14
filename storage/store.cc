// Store: opening and closing, the WAL syncer, the catalog lookups and id sequences
// (Store::Impl), and the write-validation helpers shared by the other store_*.cc files.
// Tenants and objects: store_tenants.cc; records: store_records.cc; metadata, audit and
// usage: store_meta.cc.

#include <algorithm>
#include <chrono>

#include "common/background.h"
#include "storage/criteria.h"
#include "storage/key_encoding.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

// Ids are reserved in blocks so that only one write in this many pays for persisting
// the high-water mark.

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
      if (!def.fields[i].required || !(*values)[i].is_null()) continue;
      if (scope != nullptr && !scope->FieldVisible(static_cast<int>(i))) {
        // A hidden field is not named, not even by this refusal.
        return Status::InvalidArgument("records of " + def.name +
                                       " cannot be added through this scope: it hides a required field");
      }
      return Status::InvalidArgument("field '" + def.fields[i].name + "' is required");
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
      (void)RunGuarded("WAL syncer", [this] { return kv_->SyncWal(); });
      l.lock();
    }
  });
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

Status Store::Impl::Tenant(TenantId id, std::shared_ptr<TenantState>* out) {
  for (int pass = 0;; ++pass) {
    {
      std::shared_lock<std::shared_mutex> l(catalog_mu_);
      auto it = tenants_.find(id);
      if (it != tenants_.end() && !it->second->deleting) {
        *out = it->second;
        return Status::OK();
      }
      if (it != tenants_.end() || pass == 1 || !shared()) break;
    }
    COTENANT_RETURN_IF_ERROR(Refresh(id));
  }
  return Status::NotFound("tenant " + std::to_string(id) + " does not exist");
}

Status Store::Impl::Object(TenantId tenant, std::string_view name,
                           std::shared_ptr<TenantState>* ts,
                           std::shared_ptr<const ObjectDef>* def) {
  for (int pass = 0;; ++pass) {
    {
      std::shared_lock<std::shared_mutex> l(catalog_mu_);
      auto it = tenants_.find(tenant);
      bool known = it != tenants_.end();
      if (known && !it->second->deleting) {
        auto oit = it->second->objects.find(name);
        if (oit != it->second->objects.end()) {
          if (ts != nullptr) *ts = it->second;
          *def = oit->second;
          return Status::OK();
        }
      }
      if (pass == 1 || !shared() || (known && it->second->deleting)) {
        if (!known || it->second->deleting) {
          return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
        }
        return Status::NotFound("object " + std::string(name) + " does not exist");
      }
    }
    COTENANT_RETURN_IF_ERROR(Refresh(tenant));
  }
}

Status Store::Impl::AllocateIds(TenantState* ts, TenantId tenant, std::string_view name,
                                uint64_t count, uint64_t* first, uint64_t floor,
                                uint64_t block) {
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
    // never lead to an id being issued twice. The mark is read again and claimed with a
    // conditional write: other front-ends of the store claim blocks of the same
    // sequence, and of two claims from one mark only one succeeds (the other reads the
    // new mark and claims the block after it). The ids from a block already claimed
    // run on when they suffice; a claim starts at the stored mark.
    for (int attempt = 0;; ++attempt) {
      std::string stored;
      Status s = kv_->Get(Cf::kMeta, key, &stored);
      if (!s.ok() && !s.IsNotFound()) return s;
      if (s.ok() && stored.size() != 8) return Status::Internal("corrupt sequence " + std::string(name));
      uint64_t mark = s.ok() ? DecodeU64(stored.data()) : 1;
      // Another front-end claimed the ids after this one's block: start after its claims.
      if (mark > seq.reserved) seq.next = mark;
      seq.next = std::max(seq.next, floor);
      uint64_t reserved = seq.next + count + block;
      std::string v;
      AppendU64(&v, reserved);
      auto batch = kv_->NewBatch();
      batch->Expect(Cf::kMeta, key,
                    s.ok() ? std::optional<std::string_view>(stored) : std::nullopt);
      batch->Put(Cf::kMeta, key, v);
      s = kv_->Write(batch.get(), /*sync=*/true);
      if (s.ok()) {
        seq.reserved = reserved;
        break;
      }
      if (!IsConditionFailed(s) || attempt == 1000) return s;
    }
  }
  *first = seq.next;
  seq.next += count;
  return Status::OK();
}

// ---- Store --------------------------------------------------------------------------

Store::Store(const StoreOptions& options, std::unique_ptr<KvEngine> engine)
    : options_(options), engine_(std::move(engine)),
      impl_(std::make_unique<Impl>(options_, engine_.get())) {}

bool Store::shared() const { return engine_->shared(); }
uint64_t Store::front_end() const { return impl_->front_end_; }

Store::~Store() {
  impl_.reset();  // stops the WAL syncer before the engine closes
  engine_.reset();
}

Status Store::Open(const StoreOptions& options, std::unique_ptr<Store>* out) {
  if (options.path.empty()) return Status::InvalidArgument("data directory is not set");
  std::unique_ptr<KvEngine> engine;
  if (options.storage.empty()) {
    COTENANT_RETURN_IF_ERROR(OpenRocksEngine(options, &engine));
  } else {
    // The engine creates and locks the local directory, which holds only transient files
    // (a physical import's) then.
    COTENANT_RETURN_IF_ERROR(OpenPostgresEngine(options, &engine));
  }
  // Files of an ingest never committed are invisible to the engine: only delete them.
  // After the open, whose lock proves no other process serves this directory (a second
  // server started on it by mistake must not delete the first one's ingest files).
  COTENANT_RETURN_IF_ERROR(RemoveLeftoverIngests(options.path));
  if (options.wrap_engine) engine = options.wrap_engine(std::move(engine));
  std::unique_ptr<Store> store(new Store(options, std::move(engine)));
  COTENANT_RETURN_IF_ERROR(store->impl_->Load());
  if (store->shared()) {
    // Each process serving a shared store has a number of its own, so what it writes
    // under keys that are not read first (audit entries, its usage counters) never meets
    // another front-end's keys.
    Impl& impl = *store->impl_;
    COTENANT_RETURN_IF_ERROR(impl.AllocateIds(impl.global_.get(), kGlobalTenant, "front-end", 1,
                                              &impl.front_end_, 0, /*block=*/0));
    impl.audit_seq_ = impl.front_end_ << 40;
  }
  // Finish deletions a crash interrupted.
  std::vector<TenantId> unfinished;
  for (const auto& [id, ts] : store->impl_->tenants_) {
    if (ts->deleting && options.finish_deletions_at_open) unfinished.push_back(id);
  }
  for (TenantId id : unfinished) COTENANT_RETURN_IF_ERROR(store->DeleteTenant(id));
  store->impl_->StartSyncer();
  *out = std::move(store);
  return Status::OK();
}

}  // namespace cotenant::storage
