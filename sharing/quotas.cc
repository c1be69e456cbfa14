#include "sharing/quotas.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace cotenant::sharing {

void Quotas::Set(storage::TenantId tenant, const storage::TenantQuota& quota) {
  Shard& shard = ShardOf(tenant);
  std::lock_guard<std::mutex> l(shard.mu);
  auto it = shard.limits.find(tenant);
  if (quota.calls_per_second == 0 && quota.concurrent_work == 0) {
    if (it != shard.limits.end()) {
      shard.limits.erase(it);
      limited_.fetch_sub(1, std::memory_order_relaxed);
    }
    return;
  }
  if (it == shard.limits.end()) {
    it = shard.limits.emplace(tenant, Limit{}).first;
    limited_.fetch_add(1, std::memory_order_relaxed);
    it->second.tokens = quota.calls_per_second;  // a full second's worth to start with
    it->second.refilled_us = clock_->NowMicros();
  }
  Limit& limit = it->second;
  limit.calls_per_second = quota.calls_per_second;
  limit.concurrent_work = quota.concurrent_work;
  limit.tokens = std::min(limit.tokens, static_cast<double>(quota.calls_per_second));
}

Status Quotas::AdmitCall(storage::TenantId tenant) {
  if (limited_.load(std::memory_order_relaxed) == 0) return Status::OK();
  Shard& shard = ShardOf(tenant);
  std::lock_guard<std::mutex> l(shard.mu);
  auto it = shard.limits.find(tenant);
  if (it == shard.limits.end() || it->second.calls_per_second == 0) return Status::OK();
  Limit& limit = it->second;
  int64_t now = clock_->NowMicros();
  double rate = limit.calls_per_second;
  if (now > limit.refilled_us) {
    limit.tokens = std::min(rate, limit.tokens + rate * static_cast<double>(now - limit.refilled_us) / 1e6);
    limit.refilled_us = now;
  }
  if (limit.tokens >= 1) {
    limit.tokens -= 1;
    return Status::OK();
  }
  refused_calls_.fetch_add(1, std::memory_order_relaxed);
  auto wait_ms = static_cast<int64_t>(std::ceil((1 - limit.tokens) / rate * 1000));
  return Status::ResourceExhausted("tenant " + std::to_string(tenant) + " is over its quota of " +
                                   std::to_string(limit.calls_per_second) +
                                   " calls per second; retry in " + std::to_string(wait_ms) + " ms");
}

uint32_t Quotas::ConcurrentWork(storage::TenantId tenant) const {
  if (limited_.load(std::memory_order_relaxed) == 0) return 0;
  const Shard& shard = ShardOf(tenant);
  std::lock_guard<std::mutex> l(shard.mu);
  auto it = shard.limits.find(tenant);
  return it == shard.limits.end() ? 0 : it->second.concurrent_work;
}

}  // namespace cotenant::sharing
