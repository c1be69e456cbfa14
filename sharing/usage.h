// Usage: metering per tenant (the tenant is the billing unit).
//
// Calls made by a tenant's users are counted per API; a call through a data-sharing
// policy or cross-tenant role is also counted as served by the publishing tenant and
// consumed by the calling tenant. Records and bytes stored come from the store.
// Counters are kept in memory (one atomic add per call) and persisted to the tenant's
// metadata every second and at shutdown, so they survive restarts (a crash loses at most
// the last second of call counts). Several front-ends of one shared store each persist
// their own counts, and a report adds them up, so no front-end's increments are lost.
//
// History: every `interval_s` seconds the figures of every live tenant are sampled and
// kept in memory, the newest `samples` per tenant (the console's charts). Each sample is
// the store-wide figures, so any front-end's history tells the same story from the time
// it started; a restart starts the history again.
//
// Thread safety: safe from any thread.

#ifndef COTENANT_SHARING_USAGE_H_
#define COTENANT_SHARING_USAGE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::sharing {

struct UsageReport {
  storage::TenantId tenant = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> calls;  // by API, non-zero only
  uint64_t served_to_others = 0;
  uint64_t consumed_from_others = 0;
  storage::TenantQuota quota;  // what the tenant is held to
};

// One tenant's figures at one time.
struct UsageSample {
  int64_t at = 0;  // seconds since the epoch
  UsageReport figures;
};

struct UsageHistoryOptions {
  int interval_s = 300;  // between samples
  size_t samples = 288;  // kept per tenant (24 hours at the default interval)
};

class Usage {
 public:
  static constexpr size_t kMaxApis = 64;

  // `api_names[i]` names API index i. REQUIRES: store outlives the Usage.
  Usage(storage::Store* store, std::vector<std::string> api_names, int flush_interval_ms = 1000,
        UsageHistoryOptions history = {});
  ~Usage();  // persists the counters

  void CountCall(storage::TenantId tenant, size_t api);
  // A call of `caller_tenant` served by `publisher` through a policy or cross-tenant role.
  void CountCrossTenant(storage::TenantId publisher, storage::TenantId caller_tenant);

  Status Report(storage::TenantId tenant, UsageReport* out);
  // Every live tenant's report (for /metrics).
  std::vector<UsageReport> ReportAll();
  Status Flush();

  // The tenant's samples, oldest first, then its figures now. NotFound for no tenant.
  Status History(storage::TenantId tenant, std::vector<UsageSample>* out);
  int history_interval_s() const { return history_.interval_s; }
  // Samples every live tenant now (the flusher does it every interval).
  void Sample();

 private:
  struct Counters {
    std::array<std::atomic<uint64_t>, kMaxApis> calls{};
    std::atomic<uint64_t> served{0};
    std::atomic<uint64_t> consumed{0};
  };
  Counters* For(storage::TenantId tenant);
  // The metadata key this process persists a tenant's counters under.
  std::string OwnKey() const;

  storage::Store* const store_;
  const std::vector<std::string> names_;
  const int interval_ms_;
  std::shared_mutex mu_;
  std::unordered_map<storage::TenantId, std::unique_ptr<Counters>> tenants_;
  std::mutex flush_mu_;
  std::unordered_map<storage::TenantId, std::string> written_;  // guarded by flush_mu_
  const UsageHistoryOptions history_;
  std::mutex history_mu_;
  std::unordered_map<storage::TenantId, std::deque<UsageSample>> samples_;  // guarded by history_mu_
  std::chrono::steady_clock::time_point next_sample_;  // the flusher's only
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_USAGE_H_
