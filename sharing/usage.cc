#include "sharing/usage.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>

#include "common/background.h"

namespace cotenant::sharing {

using json = nlohmann::json;

namespace {
constexpr std::string_view kUsageKey = "usage";
// On a shared store each front-end persists its own counts under usage/<its number>, so
// no front-end overwrites another's; a report adds them up.
constexpr std::string_view kFrontEndUsagePrefix = "usage/";

struct Counts {
  uint64_t served = 0;
  uint64_t consumed = 0;
  std::map<std::string, uint64_t, std::less<>> calls;
};

void AddCounts(std::string_view value, Counts* out) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return;
  out->served += j.value("served", uint64_t{0});
  out->consumed += j.value("consumed", uint64_t{0});
  json calls = j.value("calls", json::object());
  if (!calls.is_object()) return;
  for (const auto& [name, n] : calls.items()) {
    if (n.is_number_unsigned()) out->calls[name] += n.get<uint64_t>();
  }
}
}  // namespace

std::string Usage::OwnKey() const {
  if (!store_->shared()) return std::string(kUsageKey);
  return std::string(kFrontEndUsagePrefix) + std::to_string(store_->front_end());
}

Usage::Usage(storage::Store* store, std::vector<std::string> api_names, int flush_interval_ms,
             UsageHistoryOptions history)
    : store_(store),
      names_(std::move(api_names)),
      interval_ms_(flush_interval_ms),
      history_(history),
      next_sample_(std::chrono::steady_clock::now()) {
  flusher_ = std::thread([this] {
    std::unique_lock<std::mutex> l(stop_mu_);
    while (!stopping_) {
      stop_cv_.wait_for(l, std::chrono::milliseconds(
                               std::min(interval_ms_, history_.interval_s * 1000)));
      l.unlock();
      (void)RunGuarded("usage flusher", [this] { return Flush(); });
      auto now = std::chrono::steady_clock::now();
      if (now >= next_sample_ && history_.samples > 0) {
        next_sample_ = now + std::chrono::seconds(history_.interval_s);
        (void)RunGuarded("usage history", [this] {
          Sample();
          return Status::OK();
        });
      }
      l.lock();
    }
  });
}

namespace {
int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Usage::Sample() {
  std::vector<UsageReport> all = ReportAll();
  const int64_t at = NowSeconds();
  std::lock_guard<std::mutex> l(history_mu_);
  std::unordered_map<storage::TenantId, std::deque<UsageSample>> kept;
  for (auto& r : all) {
    std::deque<UsageSample>& q = kept[r.tenant];
    auto it = samples_.find(r.tenant);
    if (it != samples_.end()) q = std::move(it->second);
    q.push_back({at, std::move(r)});
    while (q.size() > history_.samples) q.pop_front();
  }
  samples_ = std::move(kept);  // a deleted tenant's history goes with it
}

Status Usage::History(storage::TenantId tenant, std::vector<UsageSample>* out) {
  out->clear();
  UsageSample now{NowSeconds(), {}};
  COTENANT_RETURN_IF_ERROR(Report(tenant, &now.figures));
  {
    std::lock_guard<std::mutex> l(history_mu_);
    auto it = samples_.find(tenant);
    if (it != samples_.end()) out->assign(it->second.begin(), it->second.end());
  }
  out->push_back(std::move(now));
  return Status::OK();
}

Usage::~Usage() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  (void)Flush();
}

Usage::Counters* Usage::For(storage::TenantId tenant) {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) return it->second.get();
  }
  // First touch: start from what was persisted (under this process's own key).
  auto c = std::make_unique<Counters>();
  std::string v;
  if (store_->MetaGet(tenant, OwnKey(), &v).ok()) {
    Counts counts;
    AddCounts(v, &counts);
    c->served = counts.served;
    c->consumed = counts.consumed;
    for (size_t i = 0; i < names_.size() && i < kMaxApis; ++i) {
      auto it = counts.calls.find(names_[i]);
      if (it != counts.calls.end()) c->calls[i] = it->second;
    }
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  auto [it, inserted] = tenants_.emplace(tenant, std::move(c));
  return it->second.get();
}

void Usage::CountCall(storage::TenantId tenant, size_t api) {
  if (api >= kMaxApis) return;
  For(tenant)->calls[api].fetch_add(1, std::memory_order_relaxed);
}

void Usage::CountCrossTenant(storage::TenantId publisher, storage::TenantId caller_tenant) {
  For(publisher)->served.fetch_add(1, std::memory_order_relaxed);
  For(caller_tenant)->consumed.fetch_add(1, std::memory_order_relaxed);
}

Status Usage::Report(storage::TenantId tenant, UsageReport* out) {
  *out = UsageReport();
  out->tenant = tenant;
  COTENANT_RETURN_IF_ERROR(store_->TenantUsage(tenant, &out->records, &out->bytes));
  storage::TenantInfo info;
  if (store_->GetTenant(tenant, &info).ok()) out->quota = info.quota;
  Counters* c = For(tenant);
  Counts others;  // what the other front-ends of a shared store persisted
  if (store_->shared()) {
    const std::string own = OwnKey();
    COTENANT_RETURN_IF_ERROR(store_->MetaScan(tenant, kUsageKey, [&](std::string_view k,
                                                                    std::string_view value) {
      if (k != own && (k == kUsageKey || k.substr(0, kFrontEndUsagePrefix.size()) ==
                                             kFrontEndUsagePrefix)) {
        AddCounts(value, &others);
      }
      return true;
    }));
  }
  for (size_t i = 0; i < names_.size() && i < kMaxApis; ++i) {
    uint64_t n = c->calls[i].load(std::memory_order_relaxed);
    auto it = others.calls.find(names_[i]);
    if (it != others.calls.end()) n += it->second;
    if (n != 0) out->calls.emplace_back(names_[i], n);
  }
  out->served_to_others = c->served.load(std::memory_order_relaxed) + others.served;
  out->consumed_from_others = c->consumed.load(std::memory_order_relaxed) + others.consumed;
  return Status::OK();
}

std::vector<UsageReport> Usage::ReportAll() {
  std::vector<UsageReport> out;
  for (const auto& t : store_->ListTenants()) {
    UsageReport r;
    if (Report(t.id, &r).ok()) out.push_back(std::move(r));
  }
  return out;
}

Status Usage::Flush() {
  std::lock_guard<std::mutex> f(flush_mu_);
  std::vector<std::pair<storage::TenantId, std::string>> snapshot;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (const auto& [tenant, c] : tenants_) {
      json calls = json::object();
      for (size_t i = 0; i < names_.size() && i < kMaxApis; ++i) {
        uint64_t n = c->calls[i].load(std::memory_order_relaxed);
        if (n != 0) calls[names_[i]] = n;
      }
      snapshot.emplace_back(tenant, json{{"calls", calls},
                                         {"served", c->served.load()},
                                         {"consumed", c->consumed.load()}}
                                        .dump());
    }
  }
  Status first = Status::OK();
  for (const auto& [tenant, value] : snapshot) {
    auto& last = written_[tenant];
    if (last == value) continue;  // unchanged since the last flush
    last = value;
    storage::Store::MetaBatch b;
    b.Put(tenant, OwnKey(), value);
    Status s = store_->MetaWrite(b);
    // A tenant deleted meanwhile has nothing to persist.
    if (!s.ok() && !s.IsNotFound() && first.ok()) first = s;
  }
  return first;
}

}  // namespace cotenant::sharing
