// Throttling of failed logins, per source address and per tenant.
//
// Keys are 256-bit secrets, so guessing one is hopeless; what throttling prevents is the
// cost of trying (a key check and a log line per guess) and a client hammering the
// server. Each source address and each tenant has a count of recent failures; past a free
// allowance every further failure locks the source (or, for the tenant, every source that
// has failed recently) out for a time that doubles, up to a maximum. A locked-out login
// is refused before its key is checked. A success clears the source's count. Failures are
// counted in /metrics and logged as a summary at most every `summary_interval`.
//
// Thread safety: every member may be called from any thread.

#ifndef COTENANT_SHARING_LOGIN_THROTTLE_H_
#define COTENANT_SHARING_LOGIN_THROTTLE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/env.h"
#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::sharing {

struct LoginThrottleOptions {
  int free_per_source = 10;     // failures of one address before it is locked out
  int free_per_tenant = 100;    // failures on one tenant (any address) before it is guarded
  int64_t window_ms = 60000;    // a failure older than this no longer counts
  int64_t first_lockout_ms = 1000;  // doubles with each further failure...
  int64_t max_lockout_ms = 60000;   // ...up to this
  size_t max_tracked = 100000;  // addresses and tenants remembered at once
  int64_t summary_interval_ms = 10000;
};

class LoginThrottle {
 public:
  // REQUIRES: clock outlives the throttle.
  LoginThrottle(LoginThrottleOptions options, const Clock* clock);

  // OK when a login from `source` to `tenant` may be checked now; otherwise
  // ResourceExhausted saying how long to wait. Never reveals anything about keys.
  Status Admit(const std::string& source, storage::TenantId tenant);
  // What became of a checked login.
  void Failed(const std::string& source, storage::TenantId tenant);
  void Succeeded(const std::string& source);

  // A summary of the failures since the last one ("login: 40 failed from 2 addresses,
  // 12 refused while locked out"), when one is due and there is something to say.
  std::optional<std::string> TakeSummary();

  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    int failures = 0;
    int64_t last_failure_ms = 0;
    int64_t locked_until_ms = 0;
  };
  int64_t NowMs() const { return clock_->NowMicros() / 1000; }
  void Count(Entry* e, int free, int64_t now);  // a failure, `free` of them allowed
  template <typename Map>
  void Bound(Map* map, int64_t now);  // keeps a table under max_tracked entries

  const LoginThrottleOptions options_;
  const Clock* clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> sources_;
  std::unordered_map<storage::TenantId, Entry> tenants_;
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> refused_{0};
  // Since the last summary.
  uint64_t window_failures_ = 0;
  uint64_t window_refused_ = 0;
  std::unordered_map<std::string, bool> window_sources_;
  int64_t last_summary_ms_ = 0;
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_LOGIN_THROTTLE_H_
