// Server: the cotenantd process minus flag parsing.
//
// Owns the store, the identities, the storage thread pool, the RPC listener and the ops
// HTTP endpoint. Run() serves until SIGTERM or SIGINT, then shuts down in order: stop
// listening, drain the pool (queued storage work finishes and its answers are sent), close
// the connections, stop the HTTP endpoint, close the store.
//
// Threads: Run() turns the calling thread into the first of `rpc_threads` KJ event loops
// and starts the others, one thread each. The first loop accepts every connection and hands
// them to the loops in turn; a connection stays on its loop until it closes. Signals reach
// the first loop only. Storage work runs on `threads` pool threads; the ops endpoint on
// one more. The HTTP/JSON API (when on) is served on every RPC event loop.
//
// Each accepted connection gets its own capnp::TwoPartyVatNetwork with its own message
// limits (rpc/connections.h): an oversized or malformed message aborts that connection
// only; every other connection keeps being served.

#ifndef COTENANT_RPC_SERVER_H_
#define COTENANT_RPC_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "rpc/connections.h"
#include "rpc/convert.h"
#include "rpc/http_api.h"
#include "rpc/metrics.h"
#include "rpc/tls.h"
#include "sharing/audit.h"
#include "sharing/context_cache.h"
#include "sharing/identity.h"
#include "sharing/login_throttle.h"
#include "sharing/quotas.h"
#include "sharing/permission_sets.h"
#include "sharing/sharing.h"
#include "sharing/usage.h"
#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::rpc {

struct ServerOptions {
  std::string listen = "127.0.0.1:7770";  // HOST:PORT of the RPC listener (port 0 = any)
  std::string http;                       // HOST:PORT of the ops endpoint; empty = none
  int threads = 4;                        // storage pool threads
  sharing::UsageHistoryOptions usage_history;  // the per-tenant samples of usage kept
  int rpc_threads = 1;                    // RPC event loops (each its own thread)
  size_t max_message_bytes = 64u << 20;   // largest RPC message accepted from a client
  size_t max_queued_jobs = 10000;         // storage jobs queued at once (then OVERLOADED)
  WireLimits wire;                        // list lengths and name lengths on the wire
  ConnectionLimits connections;           // per-connection limits (max_message_bytes wins)
  std::string memcached;                  // "host:port[,host:port...]"; empty = none
  int memcached_timeout_ms = 50;          // per memcached operation
  // The installation secret (common/secret.h): the MAC key of memcached entries and of
  // search continuation tokens. Required: Run() refuses to start without it.
  std::string secret;
  // Per-tenant series (records, bytes, calls) in /metrics. Off by default: they name every
  // tenant to anyone who can reach the ops endpoint.
  bool metrics_per_tenant = false;
  sharing::LoginThrottleOptions login_throttle;  // failed-login lockouts
  // TLS on the RPC listener and the ops endpoint (rpc/tls.h); off when tls.cert is empty.
  // With it on, the RPC listener accepts TLS only; a bad file makes Run() fail at start.
  TlsFiles tls;
  // The HTTP/JSON API (rpc/http_api.h, docs/HTTP.md), on every RPC event loop; off when
  // api.listen is empty. With TLS on, it serves HTTPS with the same certificate.
  HttpApiOptions api;
  // Record size, batch size and page size are storage limits (StoreOptions::limits).
};

class Server {
 public:
  // REQUIRES: identity was made for *store.
  Server(std::unique_ptr<storage::Store> store, std::unique_ptr<sharing::Identity> identity,
         ServerOptions options);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes SIGTERM and SIGINT to the event loop instead of their default action.
  // REQUIRES: called before any other thread exists in the process (RocksDB and the
  // pool start threads), because the signals must be blocked in every thread.
  static void CaptureSignals();

  // Serves until SIGTERM/SIGINT, then shuts down as described above. Returns an error
  // when the listener or the ops endpoint cannot be set up.
  // REQUIRES: CaptureSignals() was called; Run() is called at most once.
  Status Run();

 private:
  class RpcLoop;  // an RPC event loop besides the first (server.cc)

 public:

  Metrics& metrics() { return metrics_; }

 private:
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<sharing::Identity> identity_;
  ServerOptions options_;
  Metrics metrics_;
  std::unique_ptr<sharing::ContextCache> cache_;
  std::unique_ptr<sharing::Sharing> sharing_;
  std::unique_ptr<sharing::AuditLog> audit_;
  std::unique_ptr<sharing::Usage> usage_;
  std::unique_ptr<sharing::PermissionSets> psets_;
  std::unique_ptr<sharing::LoginThrottle> login_throttle_;
  std::unique_ptr<sharing::Quotas> quotas_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SERVER_H_
