// The client's event-loop thread and the plumbing that hands work to it from other
// threads: LoopState (what lives on the loop), ClientCore (the queue, the thread, and
// call(), which turns a loop-side promise into a std::future) and ContextHandle (a
// TenantContext's registration on the loop). Internal to the library (not installed).
//
// Threads. Every KJ and Cap'n Proto object (the I/O context, the connection, the RPC
// system, every capability, every promise) is created, used and destroyed on the loop
// thread only. Other threads talk to the loop through ClientCore::post(), which appends a
// job to a mutex-guarded queue and wakes the loop with a cross-thread fulfiller; the loop
// runs the jobs in FIFO order, so calls made from one thread reach the server in the order
// they were made. Results come back through std::promise, which is thread-safe by itself.
//
// Errors. No kj::Exception leaves the library: every promise chain started by call() ends
// in a handler that turns the exception into a Result / Outcome (internal::classifyFailure).

#ifndef COTENANT_SDK_LOOP_H_
#define COTENANT_SDK_LOOP_H_

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async.h>
#include <kj/compat/tls.h>
#include <kj/exception.h>

#include "cotenant/client.h"
#include "internal.h"
#include "schemas/cotenant.capnp.h"

namespace cotenant {
namespace internal {

// A failure found on the client side (bad argument, unknown context); thrown on the loop
// thread and caught where the job starts.
struct LocalError {
  ErrorCode code;
  std::string message;
};

// Maps a failed KJ call to a code and message (classifyFailure).
ParsedError fromKj(const kj::Exception& e);

// The TLS context of `options` for a connection to `address` (tls.cc); *serverName is set
// to the name to verify. Throws Error(InvalidArgument) naming the option and file.
// REQUIRES: options.tlsEnabled().
std::shared_ptr<kj::TlsContext> makeTlsContext(const ClientOptions& options,
                                               const std::string& address,
                                               std::string* serverName);

class IgnoreErrors final : public kj::TaskSet::ErrorHandler {
 public:
  // Every task ends in its own handler; anything reaching here has nobody to tell.
  void taskFailed(kj::Exception&&) override {}
};

}  // namespace internal

// Owned by the loop thread; destroyed there, members in reverse order (tasks first, so that
// no promise outlives the capabilities and connection it uses).
struct LoopState {
  explicit LoopState(kj::AsyncIoContext& io) : io(io), tasks(errors) {}

  // The Records capability a call goes through: 0 = the caller's own tenant.
  wire::Records::Client& recordsFor(uint64_t contextId) {
    if (contextId == 0) return records;
    auto it = contexts.find(contextId);
    if (it == contexts.end()) {
      throw internal::LocalError{ErrorCode::Internal, "tenant context is no longer registered"};
    }
    return it->second;
  }

  kj::AsyncIoContext& io;
  std::shared_ptr<kj::TlsContext> tls;  // null = plaintext; outlives the stream it wraps
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  wire::Session::Client session = nullptr;
  wire::Records::Client records = nullptr;  // pipelined session.records() without context
  wire::Admin::Client admin = nullptr;      // pipelined session.admin()
  std::unordered_map<uint64_t, wire::Records::Client> contexts;  // TenantContext handles
  uint64_t nextContextId = 1;
  std::unordered_map<uint64_t, wire::PhysicalImport::Client> imports;  // PhysicalImport objects
  uint64_t nextImportId = 1;
  internal::IgnoreErrors errors;
  kj::TaskSet tasks;
};

namespace internal {

// A type-erased, move-only job for the loop thread.
class LoopJob {
 public:
  virtual ~LoopJob() = default;
  virtual void run(LoopState& s) = 0;
};

template <typename F>
class LoopJobImpl final : public LoopJob {
 public:
  explicit LoopJobImpl(F f) : f_(std::move(f)) {}
  void run(LoopState& s) override { f_(s); }

 private:
  F f_;
};

// The caller's side of one call. Set once; if it is destroyed unset (the job was dropped
// at shutdown, or its promise was cancelled with the loop), the caller gets Unavailable.
template <typename T>
class Pending {
 public:
  std::future<T> future() { return promise_.get_future(); }
  void set(T value) {
    if (done_) return;
    done_ = true;
    promise_.set_value(std::move(value));
  }
  ~Pending() {
    if (!done_) promise_.set_value(T(ErrorCode::Unavailable, "client closed"));
  }

 private:
  std::promise<T> promise_;
  bool done_ = false;
};

template <typename T>
std::future<T> ready(T value) {
  std::promise<T> p;
  p.set_value(std::move(value));
  return p.get_future();
}

}  // namespace internal

// ---- ClientCore ------------------------------------------------------------------------------

class ClientCore {
 public:
  ClientCore() = default;
  ~ClientCore() { shutdown(); }

  // Starts the loop thread and returns once it accepts jobs.
  void start();

  // Any thread. Queues `f(LoopState&)` to run on the loop. Returns false, destroying `f`
  // on this thread, when the loop is not running.
  template <typename F>
  bool post(F f) {
    auto job = std::make_unique<internal::LoopJobImpl<F>>(std::move(f));
    std::lock_guard<std::mutex> lock(mu_);
    if (!accepting_) return false;
    queue_.push_back(std::move(job));
    if (wake_) {
      wake_->fulfill();
      wake_ = nullptr;
    }
    return true;
  }

  // Any thread. Runs `fn(LoopState&) -> kj::Promise<T>` on the loop and delivers its
  // result (or its failure, mapped) through the returned future.
  template <typename T, typename Fn>
  std::future<T> call(Fn fn) {
    auto pending = std::make_shared<internal::Pending<T>>();
    auto future = pending->future();
    post([pending, fn = std::move(fn)](LoopState& s) mutable {
      kj::Promise<T> promise = nullptr;
      try {
        promise = fn(s);
      } catch (const internal::LocalError& e) {
        pending->set(T(e.code, e.message));
        return;
      } catch (const kj::Exception& e) {
        pending->set(failed<T>(e));
        return;
      } catch (const std::exception& e) {
        pending->set(T(ErrorCode::Internal, e.what()));
        return;
      }
      s.tasks.add(promise.then([pending](T&& value) { pending->set(std::move(value)); },
                               [pending](kj::Exception&& e) { pending->set(failed<T>(e)); }));
    });
    return future;
  }

  // Any thread but the loop's. Stops the loop and joins it. Idempotent.
  void shutdown();

  uint64_t tenantId = 0;
  UserInfo user;  // set by connect before the Client is handed out; read-only afterwards

 private:
  // The Result / Outcome of a call that failed with `e`.
  template <typename T>
  static T failed(const kj::Exception& e) {
    internal::ParsedError p = internal::fromKj(e);
    return T(p.code, p.message);
  }

  void threadMain(std::promise<void> started);
  // Runs queued jobs, then sleeps until post() or shutdown() wakes it.
  kj::Promise<void> pump(LoopState& s);

  std::mutex mu_;
  std::deque<std::unique_ptr<internal::LoopJob>> queue_;  // guarded by mu_
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;   // guarded by mu_; null if awake
  bool accepting_ = false;                                // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::thread thread_;
};

// Keeps a TenantContext's capability registered on the loop while any copy exists.
class ContextHandle {
 public:
  ContextHandle(std::shared_ptr<ClientCore> core, uint64_t id)
      : core_(std::move(core)), id_(id) {}
  ~ContextHandle();
  ClientCore* core() const { return core_.get(); }
  uint64_t id() const { return id_; }

 private:
  std::shared_ptr<ClientCore> core_;
  uint64_t id_;
};

}  // namespace cotenant

#endif  // COTENANT_SDK_LOOP_H_
