#include "sharing/login_throttle.h"

#include <algorithm>

namespace cotenant::sharing {

LoginThrottle::LoginThrottle(LoginThrottleOptions options, const Clock* clock)
    : options_(options), clock_(clock), last_summary_ms_(clock->NowMicros() / 1000) {}

Status LoginThrottle::Admit(const std::string& source, storage::TenantId tenant) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = NowMs();
  int64_t until = 0;
  auto s = sources_.find(source);
  if (s != sources_.end()) until = s->second.locked_until_ms;
  // A tenant under attack refuses the addresses that have failed recently; an address
  // with no recent failure is still served, so the attack cannot lock the tenant out.
  auto t = tenants_.find(tenant);
  if (t != tenants_.end() && s != sources_.end() && now - s->second.last_failure_ms < options_.window_ms) {
    until = std::max(until, t->second.locked_until_ms);
  }
  if (now >= until) return Status::OK();
  refused_.fetch_add(1, std::memory_order_relaxed);
  ++window_refused_;
  int64_t wait_s = (until - now + 999) / 1000;
  return Status::ResourceExhausted("too many failed logins from " + source + "; retry in " +
                                   std::to_string(wait_s) + " s");
}

void LoginThrottle::Count(Entry* e, int free, int64_t now) {
  if (now - e->last_failure_ms >= options_.window_ms) e->failures = 0;
  ++e->failures;
  e->last_failure_ms = now;
  int over = e->failures - free;
  if (over <= 0) return;
  int64_t lockout = options_.first_lockout_ms;
  for (int i = 1; i < over && lockout < options_.max_lockout_ms; ++i) lockout *= 2;
  e->locked_until_ms = now + std::min(lockout, options_.max_lockout_ms);
}

template <typename Map>
void LoginThrottle::Bound(Map* map, int64_t now) {
  if (map->size() < options_.max_tracked) return;
  std::erase_if(*map, [&](const auto& kv) {
    return now - kv.second.last_failure_ms >= options_.window_ms && now >= kv.second.locked_until_ms;
  });
  // Still full of live entries: forget the whole table rather than grow without bound.
  if (map->size() >= options_.max_tracked) map->clear();
}

void LoginThrottle::Failed(const std::string& source, storage::TenantId tenant) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = NowMs();
  Bound(&sources_, now);
  Bound(&tenants_, now);
  Count(&sources_[source], options_.free_per_source, now);
  Count(&tenants_[tenant], options_.free_per_tenant, now);
  failures_.fetch_add(1, std::memory_order_relaxed);
  ++window_failures_;
  if (window_sources_.size() < 1000) window_sources_[source] = true;
}

void LoginThrottle::Succeeded(const std::string& source) {
  std::lock_guard<std::mutex> l(mu_);
  auto s = sources_.find(source);
  if (s != sources_.end() && NowMs() >= s->second.locked_until_ms) sources_.erase(s);
}

std::optional<std::string> LoginThrottle::TakeSummary() {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = NowMs();
  if (now - last_summary_ms_ < options_.summary_interval_ms) return std::nullopt;
  if (window_failures_ == 0 && window_refused_ == 0) return std::nullopt;
  std::string out = "login: " + std::to_string(window_failures_) + " failed from " +
                    std::to_string(window_sources_.size()) +
                    (window_sources_.size() >= 1000 ? "+" : "") + " address(es), " +
                    std::to_string(window_refused_) + " refused while locked out, in the last " +
                    std::to_string((now - last_summary_ms_) / 1000) + " s";
  window_failures_ = window_refused_ = 0;
  window_sources_.clear();
  last_summary_ms_ = now;
  return out;
}

}  // namespace cotenant::sharing
