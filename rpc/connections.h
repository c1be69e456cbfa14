// RpcListener: accepts RPC connections and bounds what each one may cost.
//
// Accepting. An accept that fails (out of file descriptors, out of memory) is retried
// with back-off (rpc/accept_backoff.h) for as long as the server runs; while it keeps
// failing, Metrics::not_accepting() holds the reason and /healthz answers 503. The first
// accept that succeeds clears it.
//
// Limits, per ConnectionLimits:
//  - at most max_connections open at once, and max_connections_per_peer from one peer IP
//    address, a connection still in its TLS handshake included; a connection over either
//    is closed as soon as it is accepted;
//  - a connection that has not logged in within login_timeout_ms is closed;
//  - until it logs in, a connection's messages may be at most max_message_bytes_before_login
//    (after: max_message_bytes); a larger one aborts that connection before its body is
//    read;
//  - request messages read and not yet released by the RPC system (their call has not
//    returned) count against max_inflight_bytes, server-wide. A connection with nothing in
//    flight waits before reading a message that does not fit; a connection that already
//    has calls in flight is not made to wait (their answers must be able to complete), and
//    its share stays within its own flow limit (max_message_bytes);
//  - a message whose capability table holds more than max_caps_per_message entries aborts
//    its connection: no method takes capabilities from a client;
//  - while more than max_unsent_bytes of a connection's answers are queued unwritten (its
//    client does not read them), the connection reads no more calls, and calls already
//    read are answered ResourceExhausted instead of with their results (rpc/services.h
//    Outbox). What one connection holds is thus at most about max_unsent_bytes plus the
//    answers of the calls already running when it filled.
// Each refusal is counted in /metrics (Metrics::ConnectionCounters).
//
// Threads: the server runs one KJ event loop per --rpc-threads, each with its own
// RpcListener; a connection lives on one loop from accept to close. The caps and the
// in-flight budget are shared (ConnectionShare).

#ifndef COTENANT_RPC_CONNECTIONS_H_
#define COTENANT_RPC_CONNECTIONS_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <kj/async-io.h>
#include <kj/timer.h>

#include "rpc/accept_backoff.h"
#include "rpc/metrics.h"
#include "rpc/services.h"

namespace cotenant::rpc {

// The IP address (no port) of a connection's peer: "local" for a non-IP socket, "unknown"
// when it cannot be read. Shared by the RPC and HTTP listeners (per-peer limits, logs).
std::string PeerAddress(kj::AsyncIoStream& stream);

class RpcTls;

struct ConnectionLimits {
  size_t max_connections = 4096;                      // open RPC connections at once
  size_t max_connections_per_peer = 256;              // from one peer IP address
  int login_timeout_ms = 10000;                       // until a connection must have logged in
  size_t max_message_bytes_before_login = 64u << 10;  // largest message before login
  size_t max_message_bytes = 64u << 20;               // largest message after login
  size_t max_inflight_bytes = 256u << 20;             // request bytes in flight, server-wide
  size_t max_caps_per_message = 16;                   // capability table entries in a message
  size_t max_unsent_bytes = 16u << 20;                // queued answers per connection; 0 = no limit
};

// What the listeners of every event loop share: the limits, the connection caps and the
// in-flight budget, all server-wide. Thread-safe.
class ConnectionShare {
 public:
  // REQUIRES: metrics outlives this object;
  //           limits.max_inflight_bytes >= limits.max_message_bytes.
  ConnectionShare(const ConnectionLimits& limits, Metrics* metrics);
  ~ConnectionShare();
  ConnectionShare(const ConnectionShare&) = delete;
  ConnectionShare& operator=(const ConnectionShare&) = delete;

 private:
  friend class RpcListener;
  class Budget;  // the server-wide in-flight bytes

  const ConnectionLimits limits_;
  Metrics* const metrics_;
  std::unique_ptr<Budget> budget_;
  std::mutex mu_;  // guards the caps below
  size_t open_ = 0;
  std::map<std::string, size_t> per_peer_;
};

// The RPC connections of one event loop. One loop's listener accepts (from the listening
// socket) and hands each accepted connection to the next loop in turn, itself included;
// every loop serves the connections it is handed.
class RpcListener {
 public:
  // `listener` is the listening socket for the loop that accepts, nullptr for the others.
  // REQUIRES: io, timer, ctx, share and listener outlive this object; all belong to the
  //           calling thread's event loop, where every method is called.
  // With `tls`, every connection is served only after its TLS handshake.
  // `loop` numbers this listener's event loop in /metrics (0 = the one that accepts).
  RpcListener(kj::ConnectionReceiver* listener, kj::LowLevelAsyncIoProvider& io,
              kj::Timer& timer, const ServiceContext& ctx, ConnectionShare& share, size_t loop,
              RpcTls* tls = nullptr);
  ~RpcListener();  // closes every connection still open

  RpcListener(const RpcListener&) = delete;
  RpcListener& operator=(const RpcListener&) = delete;

  // Where accepted connections go besides this loop, in turn: the listeners of the other
  // loops (constructed without a listening socket). Set before Accept(); every peer must
  // outlive the accept loop.
  void SetPeers(std::vector<RpcListener*> peers) { peers_ = std::move(peers); }

  // Any thread: hands an accepted socket to this listener's loop, which serves it (or
  // refuses it over a cap) when it next turns. A listener that has closed its inbox (its
  // loop is ending) closes the socket instead.
  void Post(kj::AutoCloseFd fd);

  // Accepts until the returned promise is destroyed. Never fails.
  // REQUIRES: constructed with a listener.
  kj::Promise<void> Accept();

  class Connection;  // one accepted connection (connections.cc)
  class Messages;    // its message stream with the limits above
  class Slot;        // its place in the connection caps

 private:
  friend class Connection;
  // Serves an accepted connection on this loop (or refuses it over a cap).
  void Admit(kj::Own<kj::AsyncIoStream> stream);
  // Hands an accepted connection to the next loop in turn.
  void Dispatch(kj::Own<kj::AsyncIoStream> stream);
  // On this loop: serves what Post() delivered, then waits for more.
  kj::Promise<void> ServeInbox();
  kj::Promise<void> BackOff(kj::Exception&& e);  // after a failed accept
  void Recovered();                              // after one that did not fail

  class Errors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& e) override;
  };

  kj::ConnectionReceiver* listener_;
  kj::LowLevelAsyncIoProvider& io_;
  kj::Timer& timer_;
  const ServiceContext& ctx_;
  ConnectionShare& share_;
  const ConnectionLimits& limits_;
  Metrics* metrics_;
  const size_t loop_;
  RpcTls* tls_;
  AcceptBackoff backoff_;
  std::vector<RpcListener*> peers_;
  size_t next_peer_ = 0;  // round-robin over this loop (0) and peers_ (1..)
  // The inbox: sockets other loops handed over, and the wake-up of this loop when it waits
  // for them. A plain mutex orders the hand-off, so the sanitizers see it.
  std::mutex inbox_mu_;
  std::vector<kj::AutoCloseFd> inbox_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> inbox_wake_;
  bool inbox_closed_ = false;
  Errors errors_;
  kj::TaskSet connections_;  // each task owns its Connection
  kj::Promise<void> inbox_task_ = nullptr;  // last: it refers to the members above
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_CONNECTIONS_H_
