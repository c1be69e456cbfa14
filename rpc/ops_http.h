// The ops HTTP endpoint: GET /healthz and GET /metrics (Prometheus text). /healthz answers
// 200 "ok\n", or 503 "not accepting: <reason>\n" while the RPC listener cannot accept
// connections (Metrics::not_accepting()).
//
// HTTP/1.1 with keep-alive on Boost.Beast, on its own io_context and thread, so it keeps
// answering while the RPC loop and the storage pool are busy. Anything but GET of those
// two paths is 404 (405 for another method). Idle connections are closed after 30 s. A
// failed accept is retried with back-off; one descriptor is held in reserve so that a
// health check can still be answered when the process has run out of them.
// After EnableTls it speaks HTTPS only (TLS 1.2 or later; no client certificate asked).
//
// Thread safety: Start and Stop from one thread (the server's); the handlers use only
// thread-safe Metrics.

#ifndef COTENANT_RPC_OPS_HTTP_H_
#define COTENANT_RPC_OPS_HTTP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "rpc/metrics.h"
#include "common/status.h"

namespace boost::asio::ssl {
class context;
}

namespace cotenant::rpc {

class OpsHttpServer {
 public:
  // REQUIRES: metrics outlives the server.
  explicit OpsHttpServer(Metrics* metrics);
  ~OpsHttpServer();  // Stop()s

  OpsHttpServer(const OpsHttpServer&) = delete;
  OpsHttpServer& operator=(const OpsHttpServer&) = delete;

  // Serves HTTPS with this PEM certificate (chain) and key instead of HTTP. InvalidArgument
  // when a file cannot be read or used. REQUIRES: called before Start.
  Status EnableTls(const std::string& cert_path, const std::string& key_path);
  // Binds "HOST:PORT" (port 0 = any free port) and starts serving on a new thread.
  // InvalidArgument for a malformed address, Internal when the bind fails.
  Status Start(const std::string& address);
  // Closes the listener and every connection, then joins the thread. Idempotent.
  void Stop();
  // The bound port (after Start).
  uint16_t port() const { return port_; }

  struct State;  // the io_context and acceptor, shared with the handlers (ops_http.cc)

 private:
  Metrics* metrics_;
  std::shared_ptr<State> state_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // null = plain HTTP
  std::thread thread_;
  uint16_t port_ = 0;
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6). InvalidArgument when it is not of that form.
Status SplitHostPort(const std::string& address, std::string* host, uint16_t* port);

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_OPS_HTTP_H_
