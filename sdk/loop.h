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
// Caller threads. With ClientOptions::callerThreadConnections, a synchronous record call
// (made inside a CallerThreadScope) runs instead on the calling thread's own event loop,
// over that thread's own connection (caller_thread.cc): the job is the same function of a
// LoopState, given the thread's LoopState for this client. Those LoopStates are created,
// used and destroyed on their thread only; ClientCore::shutdown reaches them only through
// their sockets (CallerLink), which it shuts down so that the server sees them close.
//
// Errors. No kj::Exception leaves the library: every promise chain started by call() ends
// in a handler that turns the exception into a Result / Outcome (internal::classifyFailure).

#ifndef COTENANT_SDK_LOOP_H_
#define COTENANT_SDK_LOOP_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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

// The sockets of a client's caller-thread connections, so that shutdown can close them
// from its own thread. A connection's thread registers its socket once logged in and
// unregisters it, under `mu`, before closing it: a socket number is never shut down after
// it has been closed (and perhaps reused).
struct CallerLink {
  std::mutex mu;
  std::atomic<bool> closed{false};  // set once, by ClientCore::shutdown (under mu)
  std::unordered_set<int> fds;      // guarded by mu
};

}  // namespace internal

class ClientCore;

// Owned by the loop thread; destroyed there, members in reverse order (tasks first, so that
// no promise outlives the capabilities and connection it uses).
struct LoopState {
  explicit LoopState(kj::AsyncIoContext& io) : io(io), tasks(errors) {}

  // The Records capability a call goes through: 0 = the caller's own tenant.
  wire::Records::Client& recordsFor(uint64_t contextId) {
    if (contextId == 0) return records;
    auto it = contexts.find(contextId);
    if (it == contexts.end()) return contextMissed(contextId);
    return it->second;
  }

  // A context this loop has not registered: a caller-thread connection opens it on first
  // use (pipelined); the client's own loop has lost it. Throws LocalError.
  wire::Records::Client& contextMissed(uint64_t contextId);

  kj::AsyncIoContext& io;
  // For a caller-thread connection: the client whose contexts it opens on first use
  // (only used during a call of that client, which is then alive). Null on the client's
  // own loop.
  ClientCore* owner = nullptr;
  int fd = -1;  // the TCP socket under the connection (under TLS too), once connected
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
  // Inside a CallerThreadScope of this client with callerThreadConnections, it runs on
  // the calling thread's own connection instead and the future is ready on return.
  template <typename T, typename Fn>
  std::future<T> call(Fn fn) {
    if (callerThreadConnections && currentScope() == this) {
      internal::ParsedError error{ErrorCode::OK, {}};
      LoopState* s = callerState(&error);
      if (s != nullptr) {
        T result = start<T>(fn, *s).wait(s->io.waitScope);
        if (result.getCode() == ErrorCode::Unavailable) dropCallerState();
        return internal::ready(std::move(result));
      }
      if (error.code != ErrorCode::OK) return internal::ready(T(error.code, error.message));
      // This thread cannot have a loop of ours (it runs a KJ loop of its own): the
      // client's loop serves the call.
    }
    auto pending = std::make_shared<internal::Pending<T>>();
    auto future = pending->future();
    post([pending, fn = std::move(fn)](LoopState& s) mutable {
      s.tasks.add(start<T>(fn, s).then([pending](T&& value) { pending->set(std::move(value)); }));
    });
    return future;
  }

  // Any thread but the loop's. Stops the loop and joins it, and shuts down the sockets of
  // the caller threads' connections. Idempotent.
  void shutdown();

  // Marks the synchronous calls of one client on this thread while it lives: inside it,
  // call() takes the caller-thread path when the client has callerThreadConnections.
  class CallerThreadScope {
   public:
    explicit CallerThreadScope(const ClientCore& core) : previous_(current_) { current_ = &core; }
    ~CallerThreadScope() { current_ = previous_; }
    CallerThreadScope(const CallerThreadScope&) = delete;
    CallerThreadScope& operator=(const CallerThreadScope&) = delete;

   private:
    friend class ClientCore;
    const ClientCore* previous_;
    static inline thread_local const ClientCore* current_ = nullptr;
  };

  // TenantContexts, for the caller threads' connections, which open each on first use:
  // the loop-side id -> the publishing tenant. Any thread.
  void rememberContext(uint64_t id, uint64_t tenant);
  void forgetContext(uint64_t id);
  std::optional<uint64_t> contextTenant(uint64_t id) const;

  // How to open another connection like the client's (set by connect before the Client
  // is handed out; read-only afterwards).
  struct Login {
    std::string address;
    uint64_t tenantId = 0;
    std::string apiKey;
    std::shared_ptr<kj::TlsContext> tls;  // shared by every connection: null = plaintext
    std::string serverName;
    std::vector<std::string> addresses;  // every address the client was given, in order
  };
  Login login;
  bool callerThreadConnections = false;
  const uint64_t serial = nextSerial_.fetch_add(1);  // names this client to caller threads

  uint64_t tenantId = 0;
  UserInfo user;  // set by connect before the Client is handed out; read-only afterwards

 private:
  // The Result / Outcome of a call that failed with `e`.
  template <typename T>
  static T failed(const kj::Exception& e) {
    internal::ParsedError p = internal::fromKj(e);
    return T(p.code, p.message);
  }

  // Runs the job `fn` on `s`: a promise of its outcome that never fails (a failure, thrown
  // or in the promise, becomes the outcome).
  template <typename T, typename Fn>
  static kj::Promise<T> start(Fn& fn, LoopState& s) {
    kj::Promise<T> promise = nullptr;
    try {
      promise = fn(s);
    } catch (const internal::LocalError& e) {
      return T(e.code, e.message);
    } catch (const kj::Exception& e) {
      return failed<T>(e);
    } catch (const std::exception& e) {
      return T(ErrorCode::Internal, e.what());
    }
    return promise.then([](T&& value) { return kj::mv(value); },
                        [](kj::Exception&& e) { return failed<T>(e); });
  }

  static const ClientCore* currentScope() { return CallerThreadScope::current_; }
  // The calling thread's connection for this client, opened (and logged in) on first use;
  // null with *error set when that failed, null with error->code OK when this thread
  // cannot run a loop of ours (caller_thread.cc).
  LoopState* callerState(internal::ParsedError* error);
  // Forgets the calling thread's connection for this client (it failed).
  void dropCallerState();

  void threadMain(std::promise<void> started);
  // Runs queued jobs, then sleeps until post() or shutdown() wakes it.
  kj::Promise<void> pump(LoopState& s);

  std::mutex mu_;
  std::deque<std::unique_ptr<internal::LoopJob>> queue_;  // guarded by mu_
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;   // guarded by mu_; null if awake
  bool accepting_ = false;                                // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::thread thread_;

 public:
  const std::shared_ptr<internal::CallerLink> callers = std::make_shared<internal::CallerLink>();
  std::atomic<uint64_t> contextsVersion{0};  // bumped when a context is forgotten

 private:
  mutable std::mutex contextsMu_;
  std::unordered_map<uint64_t, uint64_t> contextTenants_;  // guarded by contextsMu_
  static inline std::atomic<uint64_t> nextSerial_{1};
};

namespace internal {
// Shuts down the sockets of a client's caller-thread connections and refuses new ones.
void ShutDownCallers(CallerLink& link);
}  // namespace internal

// Opens the client's connection on `s` (connect, TLS, login, the pipelined session,
// records and admin capabilities) and answers the logged-in user (client.cc).
kj::Promise<Outcome<UserInfo>> openSession(LoopState& s, const ClientCore::Login& login);

// Drops the connection on `s` and every capability on it, in an order that leaves nothing
// pointing at a destroyed stream; `s` can then open a session again (client.cc).
void resetConnection(LoopState& s);

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
