// HttpApi: the HTTP/JSON door to the same capabilities the Cap'n Proto listener serves
// (docs/HTTP.md; paths in rpc/http_routes.h).
//
// A request logs in with its API key (Authorization: Bearer, tenant in Cotenant-Tenant)
// through CotenantImpl::login, the same login with the same throttle, then calls the
// method of the route on the Session, Records (Cotenant-Context header) or Admin
// capability in process. Its parameters are decoded from the JSON body with Cap'n Proto's
// JSON codec into the method's parameter struct, and the result struct is encoded with it.
// Decisions, audit, metering, quotas and error codes are therefore those of RPC by
// construction. An error is answered with the status of http::HttpStatus and the body
// {"code":"<Code>","message":"<the RPC error's message>"}.
//
// Sessions. Logged-in sessions are kept per event loop, keyed by a MAC of (tenant, key)
// under the installation secret, at most max_sessions (the least recently used goes), so
// keep-alive requests do not log in each time. Revocation still applies: a session checks
// its credential on every call, and a session whose call answers Unauthenticated is
// dropped.
//
// Limits: bodies larger than max_body_bytes are refused (413) before they are read; past
// max_inflight_bytes of bodies held server-wide a request is refused Busy (503); the
// request line, the headers and the body must each arrive within request_timeout_ms; an
// idle keep-alive connection is closed after idle_timeout_ms; at most max_connections
// HTTP connections are open at once, and max_connections_per_peer from one IP address,
// server-wide (more are closed as soon as they are accepted).
//
// Threads. Each RPC event loop runs one HttpApi with a listening socket of its own on the
// same port (SO_REUSEPORT; the kernel spreads connections over them). Everything of an
// HttpApi is used on its loop's thread only.

#ifndef COTENANT_RPC_HTTP_API_H_
#define COTENANT_RPC_HTTP_API_H_

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <kj/async-io.h>
#include <kj/timer.h>

#include "common/status.h"
#include "rpc/services.h"

namespace cotenant::rpc {

class RpcTls;

struct HttpApiOptions {
  std::string listen;                  // HOST:PORT; empty = no HTTP/JSON API
  size_t max_body_bytes = 64u << 20;   // largest request body (the RPC message limit)
  int request_timeout_ms = 15000;      // request line and headers, and again the body
  int idle_timeout_ms = 60000;         // between requests of a keep-alive connection
  size_t max_sessions = 1024;          // logged-in sessions kept per event loop
  size_t max_connections = 4096;       // open HTTP connections, server-wide
  size_t max_connections_per_peer = 256;  // open HTTP connections from one IP address
  std::string console_dir;             // the console's files; empty = those built in
  // Request bodies held at once by every loop's API (announced lengths count as soon as
  // their headers arrive); past it a request is answered Busy (503). The count is shared
  // by every copy of these options.
  uint64_t max_inflight_bytes = 256u << 20;
  std::shared_ptr<std::atomic<uint64_t>> held = std::make_shared<std::atomic<uint64_t>>(0);
  // The open connections of every loop, in all and by peer (shared like `held`).
  struct Open {
    std::mutex mu;
    size_t all = 0;
    std::map<std::string, size_t> by_peer;
  };
  std::shared_ptr<Open> open = std::make_shared<Open>();
};

// Opens a listening socket on `address` with SO_REUSEPORT, so every loop can listen on
// the same port. With port 0, the first call picks a port; *port receives the bound one.
Status ListenHttpApi(const std::string& address, kj::LowLevelAsyncIoProvider& io,
                     kj::Own<kj::ConnectionReceiver>* out, uint16_t* port);

class HttpApi {
 public:
  // REQUIRES: ctx, timer and tls (when given) outlive this object and belong to the
  //           calling thread's event loop, where every method is called.
  HttpApi(const ServiceContext& ctx, kj::Timer& timer, HttpApiOptions options,
          RpcTls* tls = nullptr);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Accepts and serves connections until the promise is destroyed. Never fails (an
  // accept error is logged and retried after a pause).
  kj::Promise<void> Serve(kj::ConnectionReceiver& receiver);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_HTTP_API_H_
