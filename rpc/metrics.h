// Request metrics, rendered in the Prometheus text format (version 0.0.4).
//
//   cotenant_requests_total{api="getRecord",outcome="OK"}            counter
//   cotenant_request_duration_seconds_bucket{api="getRecord",le="..."} histogram
//   cotenant_request_duration_seconds_sum{api=...} / _count{api=...}
//   cotenant_block_cache_bytes, cotenant_memtable_bytes               gauges (from the store)
//   cotenant_connections                                              gauge (open RPC connections)
//   cotenant_pool_queued_jobs                                         gauge (work waiting for a thread)
//   cotenant_pool_tenants_waiting, cotenant_pool_oldest_wait_seconds  gauges (fair queueing)
//   cotenant_pool_queue_wait_seconds_bucket{le} / _sum / _count       histogram (wait for a thread)
//   cotenant_connections_refused_total{reason}, cotenant_login_timeouts_total,
//   cotenant_accept_errors_total, cotenant_inflight_request_bytes     connection handling
//   cotenant_http_connections, cotenant_http_responses_total{class},
//   cotenant_http_connections_refused_total, cotenant_http_body_bytes  the HTTP/JSON API
//
// Every API and outcome is registered up front, so recording is a few relaxed atomic
// adds with no lock and no allocation.
//
// Thread safety: Record and the gauges may be called from any thread; Render too.

#ifndef COTENANT_RPC_METRICS_H_
#define COTENANT_RPC_METRICS_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "rpc/work_pool.h"
#include "sharing/api.h"

namespace cotenant::rpc {

// The API catalogue lives in sharing/api.h (the gate decides by it); rpc/ names it here.
using sharing::AccessOf;
using sharing::Api;
using sharing::ApiAccess;
using sharing::ApiByName;
using sharing::ApiName;

class Metrics {
 public:
  // Upper bounds of the latency buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 16> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,   10.0};
  static constexpr int kOutcomes = static_cast<int>(Status::Code::kUnavailable) + 1;

  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void Record(Api api, Status::Code outcome, double seconds);

  // Connections served by RPC event loop `loop` (0-based; loops past kMaxLoops share the
  // last series).
  static constexpr size_t kMaxLoops = 64;
  void SetRpcLoops(size_t loops) { rpc_loops_.store(loops, std::memory_order_relaxed); }
  void ConnectionOpened(size_t loop = 0) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    served_by_loop_[std::min(loop, kMaxLoops - 1)].fetch_add(1, std::memory_order_relaxed);
  }
  void ConnectionClosed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t connections() const { return connections_.load(std::memory_order_relaxed); }

  // Connection handling (rpc/connections.h). Plain counters, bumped on the RPC loop.
  struct ConnectionCounters {
    std::atomic<uint64_t> refused_max_connections{0};  // closed at accept: server full
    std::atomic<uint64_t> refused_per_peer{0};         // closed at accept: that peer is full
    std::atomic<uint64_t> login_timeouts{0};           // closed: no login in time
    std::atomic<uint64_t> accept_errors{0};            // failed accepts (RPC and ops)
    std::atomic<int64_t> inflight_request_bytes{0};    // request messages read, not yet released
    std::atomic<uint64_t> unsent_pauses{0};            // reads held back: answers left unread
  };
  ConnectionCounters& connection_counters() { return conn_; }

  // The HTTP/JSON API (rpc/http_api.h), bumped on the event loops.
  struct HttpCounters {
    std::atomic<int64_t> connections{0};           // open HTTP/JSON API connections
    std::atomic<uint64_t> refused_connections{0};  // closed at accept: a connection cap
    std::array<std::atomic<uint64_t>, 6> responses{};  // by status class: [2] = 2xx ... [5] = 5xx
    std::atomic<int64_t> held_body_bytes{0};       // request bodies held (the budget's count)
  };
  HttpCounters& http_counters() { return http_; }

  // Searches scanning the store now; those that stopped part-way because their caller went
  // away (cancelled the call or closed its connection), and the rows they had examined then.
  struct SearchCounters {
    std::atomic<int64_t> running{0};
    std::atomic<uint64_t> cancelled{0};
    std::atomic<uint64_t> cancelled_rows{0};
  };
  SearchCounters& search_counters() { return search_; }

  // Why the RPC listener is not accepting (empty: it is). /healthz reports it.
  void SetNotAccepting(std::string reason) {
    std::lock_guard<std::mutex> lock(accept_mu_);
    not_accepting_ = std::move(reason);
  }
  std::string not_accepting() const {
    std::lock_guard<std::mutex> lock(accept_mu_);
    return not_accepting_;
  }

  // Where the memory gauges come from (the store). Set once before serving.
  void SetMemorySource(std::function<void(uint64_t*, uint64_t*)> source) {
    memory_source_ = std::move(source);
  }
  // Where the pool gauges and the queue-wait histogram come from (the storage pool).
  // Set once before serving.
  void SetPoolSource(std::function<WorkPool::Stats()> source) { pool_source_ = std::move(source); }
  // More exposition text (context cache, usage), appended as is. Set once before serving.
  void SetExtraSource(std::function<std::string()> source) { extra_source_ = std::move(source); }

  uint64_t requests(Api api, Status::Code outcome) const;

  std::string Render() const;

 private:
  struct PerApi {
    std::array<std::atomic<uint64_t>, kOutcomes> outcomes{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last = +Inf
    std::atomic<uint64_t> sum_nanos{0};
  };
  std::array<PerApi, static_cast<size_t>(Api::kCount)> apis_;
  std::atomic<int64_t> connections_{0};
  std::atomic<size_t> rpc_loops_{1};
  std::array<std::atomic<uint64_t>, kMaxLoops> served_by_loop_{};
  ConnectionCounters conn_;
  SearchCounters search_;
  HttpCounters http_;
  mutable std::mutex accept_mu_;
  std::string not_accepting_;
  std::function<void(uint64_t*, uint64_t*)> memory_source_;
  std::function<WorkPool::Stats()> pool_source_;
  std::function<std::string()> extra_source_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_METRICS_H_
