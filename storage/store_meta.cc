// Store: tenant metadata (get, scan, batched writes, sequences), the audit log, usage
// counters and introspection.

#include <algorithm>
#include <set>

#include "storage/key_encoding.h"
#include "storage/store_internal.h"

namespace cotenant::storage {

// ---- Metadata -----------------------------------------------------------------------

void Store::MetaBatch::Put(TenantId tenant, std::string_view key, std::string_view value) {
  ops_.push_back(Op{true, tenant, std::string(key), std::string(value)});
}

void Store::MetaBatch::Delete(TenantId tenant, std::string_view key) {
  ops_.push_back(Op{false, tenant, std::string(key), {}});
}

void Store::MetaBatch::Expect(TenantId tenant, std::string_view key,
                              std::optional<std::string> value) {
  expected_.push_back(RecordScope::Condition{tenant, std::string(key), std::move(value)});
}

Status Store::MetaMultiGet(const std::vector<std::pair<TenantId, std::string>>& keys,
                           std::vector<std::optional<std::string>>* values) const {
  std::vector<std::string> engine_keys;
  engine_keys.reserve(keys.size());
  for (const auto& [tenant, key] : keys) engine_keys.push_back(MetaKey(tenant, key));
  std::vector<std::string> found;
  std::vector<Status> statuses;
  engine_->MultiGet(Cf::kMeta, engine_keys, &found, &statuses);
  values->assign(keys.size(), std::nullopt);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      (*values)[i] = std::move(found[i]);
    } else if (!statuses[i].IsNotFound()) {
      return statuses[i];
    }
  }
  return Status::OK();
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
  for (const auto& c : batch.expected_) {
    kb->Expect(Cf::kMeta, MetaKey(c.tenant, c.key),
               c.value ? std::optional<std::string_view>(*c.value) : std::nullopt);
  }
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

// The key of a new audit entry: tenant, time, then a sequence that orders entries of one
// microsecond; it starts from the clock at Open, so keys stay unique across restarts.
std::string AuditKey(std::atomic<uint64_t>& seq, TenantId tenant, int64_t at_micros) {
  std::string key = TenantPrefix(tenant);
  AppendU64(&key, OrderedTime(at_micros));
  AppendU64(&key, seq.fetch_add(1));
  return key;
}
}  // namespace

Status Store::AuditAppend(TenantId tenant, int64_t at_micros, std::string_view entry) {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  std::shared_lock<std::shared_mutex> gate(ts->write_gate);
  auto batch = engine_->NewBatch();
  batch->Put(Cf::kAudit, AuditKey(impl_->audit_seq_, tenant, at_micros), entry);
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
    batch->Put(Cf::kAudit, AuditKey(impl_->audit_seq_, i.tenant, i.at_micros), i.entry);
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

Status Store::Impl::EnsureUsage(TenantState* ts, TenantId tenant) {
  if (ts->usage_ready.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard<std::mutex> counting(ts->usage_mu);
  if (ts->usage_ready.load(std::memory_order_acquire)) return Status::OK();
  std::shared_ptr<const KvSnapshot> snapshot;
  int64_t d_records = 0, d_bytes = 0;
  {
    // Only the snapshot and the deltas are taken with writes held off.
    std::unique_lock<std::shared_mutex> gate(ts->write_gate);
    snapshot = kv_->GetSnapshot();
    d_records = ts->usage_records.load();
    d_bytes = ts->usage_bytes.load();
  }
  int64_t n = 0, b = 0;
  KvReadOptions ro;
  ro.fill_cache = false;
  ro.snapshot = snapshot.get();
  auto it = kv_->NewIterator(Cf::kRecords, TenantPrefix(tenant), TenantPrefix(tenant + 1), ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++n;
    b += static_cast<int64_t>(it->key().size() + it->value().size());
  }
  COTENANT_RETURN_IF_ERROR(it->status());
  ts->usage_base_records.store(n - d_records, std::memory_order_relaxed);
  ts->usage_base_bytes.store(b - d_bytes, std::memory_order_relaxed);
  ts->usage_ready.store(true, std::memory_order_release);
  return Status::OK();
}

Status Store::Impl::Grow(TenantState* ts, TenantId tenant, int64_t records, int64_t bytes) {
  int64_t now_records = ts->usage_base_records.load(std::memory_order_relaxed) +
                        ts->usage_records.fetch_add(records, std::memory_order_relaxed) + records;
  int64_t now_bytes = ts->usage_base_bytes.load(std::memory_order_relaxed) +
                      ts->usage_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  uint64_t max_records = ts->quota_records.load(std::memory_order_relaxed);
  uint64_t max_bytes = ts->quota_bytes.load(std::memory_order_relaxed);
  auto over = [](int64_t grow, int64_t now, uint64_t max) {
    return grow > 0 && max != 0 && now > static_cast<int64_t>(max);
  };
  std::string which;
  if (over(records, now_records, max_records)) {
    quota_refusals_records_.fetch_add(1, std::memory_order_relaxed);
    which = "its records quota of " + std::to_string(max_records) + " (" +
            std::to_string(now_records - records) + " stored, " + std::to_string(records) +
            " more asked for)";
  } else if (over(bytes, now_bytes, max_bytes)) {
    quota_refusals_bytes_.fetch_add(1, std::memory_order_relaxed);
    which = "its bytes quota of " + std::to_string(max_bytes) + " (" +
            std::to_string(now_bytes - bytes) + " stored, " + std::to_string(bytes) +
            " more asked for)";
  }
  if (which.empty()) return Status::OK();
  ts->CountUsage(-records, -bytes);
  return Status::ResourceExhausted("tenant " + std::to_string(tenant) + " would exceed " + which);
}

Status Store::TenantUsage(TenantId tenant, uint64_t* records, uint64_t* bytes) {
  std::shared_ptr<TenantState> ts;
  COTENANT_RETURN_IF_ERROR(impl_->Tenant(tenant, &ts));
  COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts.get(), tenant));
  *records = static_cast<uint64_t>(std::max<int64_t>(0, ts->usage_base_records.load() + ts->usage_records.load()));
  *bytes = static_cast<uint64_t>(std::max<int64_t>(0, ts->usage_base_bytes.load() + ts->usage_bytes.load()));
  return Status::OK();
}

uint64_t Store::quota_refusals_records() const {
  return impl_->quota_refusals_records_.load(std::memory_order_relaxed);
}
uint64_t Store::quota_refusals_bytes() const {
  return impl_->quota_refusals_bytes_.load(std::memory_order_relaxed);
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
