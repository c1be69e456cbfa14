#include "rpc/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <future>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <spdlog/spdlog.h>

#include "rpc/connections.h"
#include "rpc/ops_http.h"
#include "rpc/services.h"
#include "rpc/tls.h"
#include "rpc/work_pool.h"

namespace cotenant::rpc {
namespace {

// A random id made on first start and kept in the store.
Status StoreId(storage::Store* store, std::string* id) {
  Status s = store->MetaGet(storage::kGlobalTenant, "storeid", id);
  if (s.ok()) return s;
  if (!s.IsNotFound()) return s;
  std::random_device rd;
  *id = fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  storage::Store::MetaBatch b;
  b.Put(storage::kGlobalTenant, "storeid", *id);
  return store->MetaWrite(b);
}

// Context-cache counters and per-tenant usage in Prometheus text.
std::string RenderSharingMetrics(const sharing::ContextCache& cache, sharing::Usage* usage,
                                 const sharing::LoginThrottle& logins, const storage::Store& store,
                                 const sharing::Quotas& quotas, uint64_t work_refused,
                                 bool per_tenant) {
  sharing::CacheCounters c = cache.counters();
  std::string out = fmt::format(
      "# HELP cotenant_context_cache_total Context cache lookups by result.\n"
      "# TYPE cotenant_context_cache_total counter\n"
      "cotenant_context_cache_total{{result=\"local_hit\"}} {}\n"
      "cotenant_context_cache_total{{result=\"memcached_hit\"}} {}\n"
      "cotenant_context_cache_total{{result=\"miss\"}} {}\n"
      "cotenant_context_cache_total{{result=\"stale_rejected\"}} {}\n"
      "cotenant_context_cache_total{{result=\"corrupt_rejected\"}} {}\n"
      "# HELP cotenant_context_cache_rejected_total memcached entries refused as forged.\n"
      "# TYPE cotenant_context_cache_rejected_total counter\n"
      "cotenant_context_cache_rejected_total{{reason=\"mac\"}} {}\n"
      "# HELP cotenant_memcached_errors_total memcached operations that failed or timed out.\n"
      "# TYPE cotenant_memcached_errors_total counter\n"
      "cotenant_memcached_errors_total {}\n",
      c.local_hits, c.remote_hits, c.misses, c.stale_rejected, c.corrupt_rejected,
      c.mac_rejected, c.remote_errors);
  out += fmt::format(
      "# HELP cotenant_login_failures_total Logins refused for a bad tenant id or API key.\n"
      "# TYPE cotenant_login_failures_total counter\n"
      "cotenant_login_failures_total {}\n"
      "# HELP cotenant_login_throttled_total Logins refused unchecked: too many failures from the address.\n"
      "# TYPE cotenant_login_throttled_total counter\n"
      "cotenant_login_throttled_total {}\n",
      logins.failures(), logins.refused());
  out += fmt::format(
      "# HELP cotenant_quota_refusals_total Calls refused because a tenant is at a quota, by quota.\n"
      "# TYPE cotenant_quota_refusals_total counter\n"
      "cotenant_quota_refusals_total{{quota=\"records\"}} {}\n"
      "cotenant_quota_refusals_total{{quota=\"bytes\"}} {}\n"
      "cotenant_quota_refusals_total{{quota=\"calls_per_second\"}} {}\n"
      "cotenant_quota_refusals_total{{quota=\"concurrent_work\"}} {}\n",
      store.quota_refusals_records(), store.quota_refusals_bytes(), quotas.refused_calls(),
      work_refused);
  if (!per_tenant) return out;
  out +=
      "# HELP cotenant_tenant_records Records stored per tenant.\n"
      "# TYPE cotenant_tenant_records gauge\n"
      "# HELP cotenant_tenant_bytes Bytes of records stored per tenant.\n"
      "# TYPE cotenant_tenant_bytes gauge\n"
      "# HELP cotenant_tenant_calls_total Calls made by a tenant's users, by API.\n"
      "# TYPE cotenant_tenant_calls_total counter\n"
      "# HELP cotenant_tenant_served_total Calls of other tenants served through its policies.\n"
      "# TYPE cotenant_tenant_served_total counter\n"
      "# HELP cotenant_tenant_consumed_total Calls its users made into other tenants.\n"
      "# TYPE cotenant_tenant_consumed_total counter\n"
      "# HELP cotenant_tenant_quota A tenant's quotas that are set, by quota.\n"
      "# TYPE cotenant_tenant_quota gauge\n";
  for (const auto& r : usage->ReportAll()) {
    out += fmt::format("cotenant_tenant_records{{tenant=\"{}\"}} {}\n", r.tenant, r.records);
    out += fmt::format("cotenant_tenant_bytes{{tenant=\"{}\"}} {}\n", r.tenant, r.bytes);
    for (const auto& [api, n] : r.calls) {
      out += fmt::format("cotenant_tenant_calls_total{{tenant=\"{}\",api=\"{}\"}} {}\n", r.tenant, api, n);
    }
    out += fmt::format("cotenant_tenant_served_total{{tenant=\"{}\"}} {}\n", r.tenant, r.served_to_others);
    out += fmt::format("cotenant_tenant_consumed_total{{tenant=\"{}\"}} {}\n", r.tenant,
                       r.consumed_from_others);
    const std::pair<const char*, uint64_t> limits[] = {
        {"records", r.quota.records},
        {"bytes", r.quota.bytes},
        {"calls_per_second", r.quota.calls_per_second},
        {"concurrent_work", r.quota.concurrent_work}};
    for (const auto& [name, value] : limits) {
      if (value != 0) {
        out += fmt::format("cotenant_tenant_quota{{tenant=\"{}\",quota=\"{}\"}} {}\n", r.tenant, name, value);
      }
    }
  }
  return out;
}

}  // namespace

Server::Server(std::unique_ptr<storage::Store> store,
               std::unique_ptr<sharing::Identity> identity, ServerOptions options)
    : store_(std::move(store)), identity_(std::move(identity)), options_(std::move(options)) {
  storage::Store* s = store_.get();
  metrics_.SetMemorySource([s](uint64_t* block_cache, uint64_t* memtables) {
    s->MemoryUsage(block_cache, memtables);
  });
}

Server::~Server() = default;

// One RPC event loop besides the first, on a thread of its own: its own KJ event loop, its
// own TLS context, and a listener that serves the connections the first loop hands it.
class Server::RpcLoop {
 public:
  // `api`: the HTTP/JSON API's options with the port the first loop bound, or null.
  RpcLoop(int index, const ServiceContext& ctx, ConnectionShare& share, const TlsFiles& tls,
          const HttpApiOptions* api)
      : ready_future_(ready_.get_future().share()),
        thread_([this, index, &ctx, &share, &tls, api] { Serve(index, ctx, share, tls, api); }) {}
  // Closes the loop's connections (after letting it deliver what it has) and joins it.
  ~RpcLoop() {
    ready_future_.wait();  // the members below are set once it is ready
    if (executor_ != nullptr) {
      executor_->executeSync([this] { stop_->fulfill(); });
    }
    thread_.join();
  }
  RpcLoop(const RpcLoop&) = delete;
  RpcLoop& operator=(const RpcLoop&) = delete;

  // Waits until the loop serves, or says why it could not start.
  Status Started() { return ready_future_.get(); }
  RpcListener* listener() const { return listener_; }

 private:
  void Serve(int index, const ServiceContext& ctx, ConnectionShare& share, const TlsFiles& files,
             const HttpApiOptions* api_options) {
    std::string name = "rpc-loop-" + std::to_string(index);
    pthread_setname_np(pthread_self(), name.c_str());
    auto io = kj::setupAsyncIo();
    std::unique_ptr<RpcTls> tls;
    if (files.enabled()) {
      Status loaded = RpcTls::Load(files, &tls);
      if (!loaded.ok()) {
        ready_.set_value(loaded);
        return;
      }
    }
    RpcListener rpc(nullptr, *io.lowLevelProvider, io.provider->getTimer(), ctx, share,
                    static_cast<size_t>(index), tls.get());
    kj::Own<kj::ConnectionReceiver> api_listener;
    std::unique_ptr<HttpApi> api;
    kj::Promise<void> api_serving = kj::READY_NOW;
    if (api_options != nullptr) {
      uint16_t port = 0;
      Status listening =
          ListenHttpApi(api_options->listen, *io.lowLevelProvider, &api_listener, &port);
      if (!listening.ok()) {
        ready_.set_value(listening);
        return;
      }
      api = std::make_unique<HttpApi>(ctx, io.provider->getTimer(), *api_options, tls.get());
      api_serving = api->Serve(*api_listener).eagerlyEvaluate(nullptr);
    }
    auto stop = kj::newPromiseAndFulfiller<void>();
    stop_ = stop.fulfiller.get();
    listener_ = &rpc;
    executor_ = &kj::getCurrentThreadExecutor();
    ready_.set_value(Status::OK());
    stop.promise.wait(io.waitScope);
    io.waitScope.poll();  // answers already delivered to this loop go out first
    api_serving = kj::READY_NOW;  // stop accepting before the listener goes
  }

  std::promise<Status> ready_;
  std::shared_future<Status> ready_future_;
  kj::PromiseFulfiller<void>* stop_ = nullptr;  // the loop thread's; fulfilled on it
  RpcListener* listener_ = nullptr;
  const kj::Executor* executor_ = nullptr;
  std::thread thread_;  // last: starts once the members above exist
};

void Server::CaptureSignals() {
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
}

Status Server::Run() {
  if (options_.secret.empty()) return Status::InvalidArgument("no installation secret given");
  auto io = kj::setupAsyncIo();
  std::unique_ptr<RpcTls> tls;
  if (options_.tls.enabled()) COTENANT_RETURN_IF_ERROR(RpcTls::Load(options_.tls, &tls));

  std::string host;
  uint16_t port = 0;
  COTENANT_RETURN_IF_ERROR(SplitHostPort(options_.listen, &host, &port));

  quotas_ = std::make_unique<sharing::Quotas>(SystemClock());
  for (const auto& t : store_->ListTenants()) quotas_->Set(t.id, t.quota);
  sharing::Quotas* quotas = quotas_.get();
  WorkPool::Options pool_options;
  pool_options.threads = static_cast<size_t>(options_.threads);
  pool_options.max_queued = options_.max_queued_jobs;
  pool_options.max_jobs = [quotas](storage::TenantId t) { return quotas->ConcurrentWork(t); };
  auto pool = std::make_unique<WorkPool>(std::move(pool_options));
  WorkPool* pool_ptr = pool.get();
  metrics_.SetPoolSource([pool_ptr] { return pool_ptr->stats(); });
  // Sharing: the context cache (keyed by this store's id, so another installation
  // sharing the memcached never serves ours), resolution, audit and usage.
  std::string store_id;
  COTENANT_RETURN_IF_ERROR(StoreId(store_.get(), &store_id));
  sharing::CacheOptions cache_options;
  cache_options.memcached_servers = options_.memcached;
  cache_options.store_id = store_id;
  cache_options.memcached_timeout_ms = options_.memcached_timeout_ms;
  cache_options.secret = options_.secret;
  cache_ = std::make_unique<sharing::ContextCache>(cache_options);
  sharing_ = std::make_unique<sharing::Sharing>(store_.get(), identity_.get(), cache_.get());
  // Deletions a crash interrupted are finished here, with the clean-up that goes with
  // them outside the tenant's range (lookup entries, policies designating it).
  for (storage::TenantId t : store_->PendingDeletions()) {
    COTENANT_RETURN_IF_ERROR(store_->DeleteTenant(t, [this, t] {
      identity_->ForgetTenant(t);
      return sharing_->OnTenantDeleted(t);
    }));
    spdlog::info("finished the deletion of tenant {} that a crash interrupted", t);
  }
  audit_ = std::make_unique<sharing::AuditLog>(store_.get());
  std::vector<std::string> api_names;
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    api_names.emplace_back(ApiName(static_cast<Api>(i)));
  }
  usage_ = std::make_unique<sharing::Usage>(store_.get(), std::move(api_names), 1000,
                                            options_.usage_history);
  COTENANT_RETURN_IF_ERROR(sharing::PermissionSets::Open(store_.get(), &psets_));
  if (!options_.memcached.empty()) spdlog::info("context cache: memcached at {}", options_.memcached);
  sharing::ContextCache* cache = cache_.get();
  sharing::Usage* usage = usage_.get();
  login_throttle_ = std::make_unique<sharing::LoginThrottle>(options_.login_throttle, SystemClock());
  sharing::LoginThrottle* logins = login_throttle_.get();
  storage::Store* store = store_.get();
  bool per_tenant = options_.metrics_per_tenant;
  metrics_.SetExtraSource([cache, usage, logins, store, quotas, pool_ptr, per_tenant] {
    return RenderSharingMetrics(*cache, usage, *logins, *store, *quotas, pool_ptr->stats().quota_refused,
                                per_tenant);
  });

  sharing::Gate::Parts parts;
  parts.store = store_.get();
  parts.identity = identity_.get();
  parts.sharing = sharing_.get();
  parts.psets = psets_.get();
  parts.audit = audit_.get();
  parts.usage = usage_.get();
  sharing::Gate gate(parts);

  ServiceContext ctx;
  ctx.gate = &gate;
  ctx.store = store_.get();
  ctx.identity = identity_.get();
  ctx.sharing = sharing_.get();
  ctx.audit = audit_.get();
  ctx.usage = usage_.get();
  ctx.psets = psets_.get();
  ctx.pool = pool.get();
  ctx.metrics = &metrics_;
  ctx.limits = options_.wire;
  const Mac token_mac(options_.secret);
  ctx.token_mac = &token_mac;
  ctx.login_throttle = login_throttle_.get();
  ctx.quotas = quotas_.get();

  OpsHttpServer ops(&metrics_);
  if (!options_.http.empty()) {
    if (tls) COTENANT_RETURN_IF_ERROR(ops.EnableTls(options_.tls.cert, options_.tls.key));
    COTENANT_RETURN_IF_ERROR(ops.Start(options_.http));
    spdlog::info("ops endpoint on {}://{}:{}/ (healthz, metrics)", tls ? "https" : "http",
                 options_.http.substr(0, options_.http.rfind(':')), ops.port());
  }

  // The HTTP/JSON API's socket of this loop is bound before the RPC listener, so whoever
  // sees the RPC port answer finds the API's port bound too (connections wait in its
  // backlog until the loops serve). Port 0 picks the port every other loop then shares.
  kj::Own<kj::ConnectionReceiver> api_listener;
  HttpApiOptions api_options = options_.api;
  if (!api_options.listen.empty()) {
    uint16_t api_port = 0;
    COTENANT_RETURN_IF_ERROR(
        ListenHttpApi(api_options.listen, *io.lowLevelProvider, &api_listener, &api_port));
    api_options.listen =
        api_options.listen.substr(0, api_options.listen.rfind(':') + 1) + std::to_string(api_port);
  }

  kj::Own<kj::ConnectionReceiver> listener;
  try {
    auto address = io.provider->getNetwork().parseAddress(options_.listen).wait(io.waitScope);
    listener = address->listen();
  } catch (const kj::Exception& e) {
    return Status::Internal("cannot listen on " + options_.listen + ": " +
                            e.getDescription().cStr());
  }

  {
    ConnectionLimits limits = options_.connections;
    limits.max_message_bytes = options_.max_message_bytes;
    ConnectionShare share(limits, &metrics_);
    const int loop_count = std::max(options_.rpc_threads, 1);
    metrics_.SetRpcLoops(static_cast<size_t>(loop_count));
    // The HTTP/JSON API on this loop (its socket is bound above); every other loop
    // listens on the same port.
    std::unique_ptr<HttpApi> api;
    kj::Promise<void> api_serving = kj::READY_NOW;
    if (api_listener) {
      api = std::make_unique<HttpApi>(ctx, io.provider->getTimer(), api_options, tls.get());
      api_serving = api->Serve(*api_listener).eagerlyEvaluate(nullptr);
      spdlog::info("HTTP/JSON API on {}://{}/v1/ on {} event loop(s)", tls ? "https" : "http",
                   api_options.listen, loop_count);
    }
    // The other loops first: each sets up its listener (and its own TLS context) on its
    // own thread, then serves until told to stop.
    std::vector<std::unique_ptr<RpcLoop>> loops;
    for (int i = 1; i < loop_count; ++i) {
      loops.push_back(std::make_unique<RpcLoop>(i, ctx, share, options_.tls,
                                                api ? &api_options : nullptr));
    }
    std::vector<RpcListener*> peers;
    for (auto& loop : loops) {
      Status started = loop->Started();
      if (!started.ok()) return started;  // the loops already made stop in their destructors
      peers.push_back(loop->listener());
    }
    RpcListener rpc(listener.get(), *io.lowLevelProvider, io.provider->getTimer(), ctx, share, 0,
                    tls.get());
    rpc.SetPeers(std::move(peers));
    kj::Promise<void> accepting = rpc.Accept().eagerlyEvaluate([](kj::Exception&& e) {
      spdlog::error("accept loop ended: {}", e.getDescription().cStr());
    });
    spdlog::info("listening on {}:{}{}, {} RPC event loop(s)", host, listener->getPort(),
                 !tls                           ? " (plaintext)"
                 : options_.tls.client_ca.empty() ? " (TLS)"
                                                  : " (TLS, client certificates required)",
                 loops.size() + 1);

    auto on_term = io.unixEventPort.onSignal(SIGTERM).then([](siginfo_t) { return SIGTERM; });
    auto on_int = io.unixEventPort.onSignal(SIGINT).then([](siginfo_t) { return SIGINT; });
    int sig = on_term.exclusiveJoin(kj::mv(on_int)).wait(io.waitScope);
    spdlog::info("received {}; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");

    // 1. Stop listening (the accept loop first: it uses the listener). Connections on
    //    their way to another loop still arrive there.
    accepting = kj::READY_NOW;
    listener = nullptr;
    api_serving = kj::READY_NOW;
    api_listener = nullptr;
    // 2. Drain the pool: queued storage work finishes, and every loop delivers the
    //    answers it produced before the connections close (the other loops keep turning
    //    meanwhile; this one polls).
    pool->Join();
    io.waitScope.poll();
    spdlog::info("storage pool drained; closing {} connection(s)", metrics_.connections());
    // 3. The other loops close their connections and end; this loop's go when this
    //    scope ends.
    loops.clear();
  }

  // 3. Stop the ops endpoint.
  ops.Stop();
  pool.reset();
  metrics_.SetPoolSource(nullptr);
  // 4. Persist usage and the queued audit entries, then close the store (flushes;
  //    column-family handles before the DB, inside the store).
  metrics_.SetExtraSource(nullptr);
  usage_.reset();
  audit_.reset();
  psets_.reset();
  sharing_.reset();
  cache_.reset();
  identity_.reset();
  store_.reset();
  spdlog::info("shutdown complete");
  return Status::OK();
}

}  // namespace cotenant::rpc
