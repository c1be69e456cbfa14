#include "rpc/metrics.h"

#include <fmt/format.h>

#include "common/background.h"

namespace cotenant::rpc {

void Metrics::Record(Api api, Status::Code outcome, double seconds) {
  auto& a = apis_[static_cast<size_t>(api)];
  a.outcomes[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  a.buckets[b].fetch_add(1, std::memory_order_relaxed);
  if (seconds < 0) seconds = 0;
  a.sum_nanos.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

uint64_t Metrics::requests(Api api, Status::Code outcome) const {
  return apis_[static_cast<size_t>(api)].outcomes[static_cast<size_t>(outcome)].load(
      std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# HELP cotenant_requests_total RPC calls by API and outcome.\n"
                     "# TYPE cotenant_requests_total counter\n");
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    const auto& a = apis_[static_cast<size_t>(i)];
    for (int o = 0; o < kOutcomes; ++o) {
      fmt::format_to(it, "cotenant_requests_total{{api=\"{}\",outcome=\"{}\"}} {}\n",
                     ApiName(static_cast<Api>(i)), Status::CodeName(static_cast<Status::Code>(o)),
                     a.outcomes[static_cast<size_t>(o)].load(std::memory_order_relaxed));
    }
  }
  fmt::format_to(it, "# HELP cotenant_request_duration_seconds RPC call latency by API.\n"
                     "# TYPE cotenant_request_duration_seconds histogram\n");
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    const auto& a = apis_[static_cast<size_t>(i)];
    std::string_view name = ApiName(static_cast<Api>(i));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += a.buckets[b].load(std::memory_order_relaxed);
      if (b < kBuckets.size()) {
        fmt::format_to(it, "cotenant_request_duration_seconds_bucket{{api=\"{}\",le=\"{}\"}} {}\n",
                       name, kBuckets[b], cumulative);
      } else {
        fmt::format_to(it,
                       "cotenant_request_duration_seconds_bucket{{api=\"{}\",le=\"+Inf\"}} {}\n",
                       name, cumulative);
      }
    }
    fmt::format_to(it, "cotenant_request_duration_seconds_sum{{api=\"{}\"}} {:.9f}\n", name,
                   static_cast<double>(a.sum_nanos.load(std::memory_order_relaxed)) / 1e9);
    fmt::format_to(it, "cotenant_request_duration_seconds_count{{api=\"{}\"}} {}\n", name,
                   cumulative);
  }
  uint64_t block_cache = 0, memtables = 0;
  const WorkPool::Stats pool = pool_source_ ? pool_source_() : WorkPool::Stats{};
  if (memory_source_) memory_source_(&block_cache, &memtables);
  fmt::format_to(it,
                 "# HELP cotenant_block_cache_bytes Bytes in the storage block cache.\n"
                 "# TYPE cotenant_block_cache_bytes gauge\n"
                 "cotenant_block_cache_bytes {}\n"
                 "# HELP cotenant_memtable_bytes Bytes in storage memtables.\n"
                 "# TYPE cotenant_memtable_bytes gauge\n"
                 "cotenant_memtable_bytes {}\n"
                 "# HELP cotenant_connections Open RPC connections.\n"
                 "# TYPE cotenant_connections gauge\n"
                 "cotenant_connections {}\n"
                 "# HELP cotenant_pool_queued_jobs Storage jobs waiting for or running on a pool thread.\n"
                 "# TYPE cotenant_pool_queued_jobs gauge\n"
                 "cotenant_pool_queued_jobs {}\n",
                 block_cache, memtables, connections(), pool.queued);
  const size_t loops = std::min(rpc_loops_.load(std::memory_order_relaxed), kMaxLoops);
  fmt::format_to(it,
                 "# HELP cotenant_rpc_loops RPC event loops serving connections (--rpc-threads).\n"
                 "# TYPE cotenant_rpc_loops gauge\n"
                 "cotenant_rpc_loops {}\n"
                 "# HELP cotenant_rpc_loop_connections_total RPC connections served, by event loop.\n"
                 "# TYPE cotenant_rpc_loop_connections_total counter\n",
                 rpc_loops_.load(std::memory_order_relaxed));
  for (size_t i = 0; i < loops; ++i) {
    fmt::format_to(it, "cotenant_rpc_loop_connections_total{{loop=\"{}\"}} {}\n", i,
                   served_by_loop_[i].load(std::memory_order_relaxed));
  }
  fmt::format_to(it,
                 "# HELP cotenant_pool_tenants_waiting Tenants with storage jobs waiting for a "
                 "pool thread.\n"
                 "# TYPE cotenant_pool_tenants_waiting gauge\n"
                 "cotenant_pool_tenants_waiting {}\n"
                 "# HELP cotenant_pool_oldest_wait_seconds How long the oldest storage job still "
                 "waiting for a pool thread has waited.\n"
                 "# TYPE cotenant_pool_oldest_wait_seconds gauge\n"
                 "cotenant_pool_oldest_wait_seconds {:.6f}\n"
                 "# HELP cotenant_pool_queue_wait_seconds Time storage jobs waited for a pool "
                 "thread.\n"
                 "# TYPE cotenant_pool_queue_wait_seconds histogram\n",
                 pool.tenants_waiting, pool.oldest_wait_seconds);
  uint64_t waits = 0;
  for (size_t b = 0; b < pool.wait_buckets.size(); ++b) {
    waits += pool.wait_buckets[b];
    if (b < WorkPool::kWaitBuckets.size()) {
      fmt::format_to(it, "cotenant_pool_queue_wait_seconds_bucket{{le=\"{}\"}} {}\n",
                     WorkPool::kWaitBuckets[b], waits);
    } else {
      fmt::format_to(it, "cotenant_pool_queue_wait_seconds_bucket{{le=\"+Inf\"}} {}\n", waits);
    }
  }
  fmt::format_to(it,
                 "cotenant_pool_queue_wait_seconds_sum {:.9f}\n"
                 "cotenant_pool_queue_wait_seconds_count {}\n",
                 pool.wait_sum_seconds, waits);
  fmt::format_to(it,
                 "# HELP cotenant_background_failures_total Failed runs of background work "
                 "(audit writer, usage flusher, WAL syncer).\n"
                 "# TYPE cotenant_background_failures_total counter\n"
                 "# HELP cotenant_background_failing 1 while the latest run of the work failed.\n"
                 "# TYPE cotenant_background_failing gauge\n");
  for (const auto& [work, f] : BackgroundFaults::Process().Snapshot()) {
    fmt::format_to(it, "cotenant_background_failures_total{{work=\"{}\"}} {}\n", work, f.failures);
    fmt::format_to(it, "cotenant_background_failing{{work=\"{}\"}} {}\n", work, f.failing ? 1 : 0);
  }
  fmt::format_to(it,
                 "# HELP cotenant_connections_refused_total RPC connections closed at accept, by limit.\n"
                 "# TYPE cotenant_connections_refused_total counter\n"
                 "cotenant_connections_refused_total{{reason=\"max_connections\"}} {}\n"
                 "cotenant_connections_refused_total{{reason=\"max_connections_per_peer\"}} {}\n"
                 "# HELP cotenant_login_timeouts_total RPC connections closed for not logging in in time.\n"
                 "# TYPE cotenant_login_timeouts_total counter\n"
                 "cotenant_login_timeouts_total {}\n"
                 "# HELP cotenant_accept_errors_total Failed accepts (e.g. out of file descriptors).\n"
                 "# TYPE cotenant_accept_errors_total counter\n"
                 "cotenant_accept_errors_total {}\n"
                 "# HELP cotenant_inflight_request_bytes Bytes of RPC request messages read and not yet released.\n"
                 "# TYPE cotenant_inflight_request_bytes gauge\n"
                 "cotenant_inflight_request_bytes {}\n"
                 "# HELP cotenant_connection_read_pauses_total Times a connection stopped reading calls because its client left answers unread.\n"
                 "# TYPE cotenant_connection_read_pauses_total counter\n"
                 "cotenant_connection_read_pauses_total {}\n"
                 "# HELP cotenant_searches_running Searches scanning the store now.\n"
                 "# TYPE cotenant_searches_running gauge\n"
                 "cotenant_searches_running {}\n"
                 "# HELP cotenant_searches_cancelled_total Searches stopped part-way because their caller went away.\n"
                 "# TYPE cotenant_searches_cancelled_total counter\n"
                 "cotenant_searches_cancelled_total {}\n"
                 "# HELP cotenant_searches_cancelled_rows_total Rows those searches had examined when they stopped.\n"
                 "# TYPE cotenant_searches_cancelled_rows_total counter\n"
                 "cotenant_searches_cancelled_rows_total {}\n",
                 conn_.refused_max_connections.load(std::memory_order_relaxed),
                 conn_.refused_per_peer.load(std::memory_order_relaxed),
                 conn_.login_timeouts.load(std::memory_order_relaxed),
                 conn_.accept_errors.load(std::memory_order_relaxed),
                 conn_.inflight_request_bytes.load(std::memory_order_relaxed),
                 conn_.unsent_pauses.load(std::memory_order_relaxed),
                 search_.running.load(std::memory_order_relaxed),
                 search_.cancelled.load(std::memory_order_relaxed),
                 search_.cancelled_rows.load(std::memory_order_relaxed));
  fmt::format_to(it,
                 "# HELP cotenant_http_connections Open HTTP/JSON API connections.\n"
                 "# TYPE cotenant_http_connections gauge\n"
                 "cotenant_http_connections {}\n"
                 "# HELP cotenant_http_connections_refused_total HTTP/JSON API connections closed at accept (--max-connections, --max-connections-per-peer).\n"
                 "# TYPE cotenant_http_connections_refused_total counter\n"
                 "cotenant_http_connections_refused_total {}\n"
                 "# HELP cotenant_http_body_bytes Bytes of HTTP/JSON API request bodies held.\n"
                 "# TYPE cotenant_http_body_bytes gauge\n"
                 "cotenant_http_body_bytes {}\n"
                 "# HELP cotenant_http_responses_total HTTP/JSON API responses by status class.\n"
                 "# TYPE cotenant_http_responses_total counter\n",
                 http_.connections.load(std::memory_order_relaxed),
                 http_.refused_connections.load(std::memory_order_relaxed),
                 http_.held_body_bytes.load(std::memory_order_relaxed));
  for (int c = 2; c <= 5; ++c) {
    fmt::format_to(it, "cotenant_http_responses_total{{class=\"{}xx\"}} {}\n", c,
                   http_.responses[c].load(std::memory_order_relaxed));
  }
  std::string text = fmt::to_string(out);
  if (extra_source_) text += extra_source_();
  return text;
}

}  // namespace cotenant::rpc
