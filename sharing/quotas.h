// The per-tenant quotas the server enforces for a tenant's users: calls per second and
// concurrent storage work (the store enforces records and bytes itself; storage.h
// TenantQuota). Loaded from the tenants' catalog entries at start and updated by setQuota.
//
// Calls per second is a token bucket per tenant: it holds at most one second's worth of
// calls and refills continuously, so a tenant may burst up to its rate and sustain it.
// A tenant without a limit costs one relaxed atomic load per call.
//
// Thread safety: every member may be called from any thread.

#ifndef COTENANT_SHARING_QUOTAS_H_
#define COTENANT_SHARING_QUOTAS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/env.h"
#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::sharing {

class Quotas {
 public:
  // REQUIRES: clock outlives the object.
  explicit Quotas(const Clock* clock) : clock_(clock) {}

  // The tenant's quota as it now stands (the store-enforced parts are ignored here).
  void Set(storage::TenantId tenant, const storage::TenantQuota& quota);

  // Takes one call from the tenant's bucket: OK, or ResourceExhausted naming the quota
  // and when a call will be admitted again.
  Status AdmitCall(storage::TenantId tenant);
  // Storage jobs the tenant's users may have queued or running at once; 0 = no limit.
  uint32_t ConcurrentWork(storage::TenantId tenant) const;

  // Calls refused by the calls-per-second quota since the start.
  uint64_t refused_calls() const { return refused_calls_.load(std::memory_order_relaxed); }

 private:
  struct Limit {
    uint32_t calls_per_second = 0;
    uint32_t concurrent_work = 0;
    double tokens = 0;        // calls that may be made now
    int64_t refilled_us = 0;  // when tokens were last brought up to date
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<storage::TenantId, Limit> limits;  // tenants with a limit only
  };
  Shard& ShardOf(storage::TenantId t) { return shards_[t % shards_.size()]; }
  const Shard& ShardOf(storage::TenantId t) const { return shards_[t % shards_.size()]; }

  const Clock* clock_;
  std::array<Shard, 16> shards_;
  std::atomic<size_t> limited_{0};  // tenants with a limit; 0 = nothing to look up
  std::atomic<uint64_t> refused_calls_{0};
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_QUOTAS_H_
