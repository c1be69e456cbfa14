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
//
// A lost connection. Every LoopState (the client's loop, each caller thread's) logs in
// again by itself when its connection is lost, to the next address of the client's list
// that answers (ensureConnected, failover.cc); what becomes of the call that found the
// connection lost depends on the call (failover.h).

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
#include "failover.h"
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

// How long one address may take to connect and log in.
constexpr auto kConnectTimeout = 15 * kj::SECONDS;

// True when the socket `fd` has seen the peer's end of stream or a reset (a look at it
// that reads nothing); false while it is open, or for fd < 0.
bool peerClosed(int fd);

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

  // A context this connection has not opened (a caller thread's, or any after a new
  // login): opened now, pipelined. Throws LocalError for one the application let go of.
  wire::Records::Client& contextMissed(uint64_t contextId);

  kj::AsyncIoContext& io;
  // The client whose addresses this connection logs in to and whose contexts it opens
  // on first use (after a new login, or on a caller thread). Set before the first call;
  // only used during a call of that client, which is then alive.
  ClientCore* owner = nullptr;
  // For a caller-thread connection: where its socket is registered for the client's
  // shutdown (null on the client's own loop), and whether it is.
  internal::CallerLink* link = nullptr;
  bool fdRegistered = false;
  int fd = -1;  // the TCP socket under the connection (under TLS too), once connected
  // The connection's place in the client's address list, and what is known of it: none
  // logged in yet, or lost (broken); generation counts logins, so that a failure seen on
  // an earlier connection does not mark the current one lost.
  bool broken = true;
  uint64_t generation = 0;
  size_t addressIndex = 0;  // the address of the current (or last) connection
  size_t nextAddress = 0;   // where the next login starts
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
  std::unordered_set<uint64_t> lostImports;  // begun on a connection since lost
  // The login in progress after a lost connection, shared by every call waiting for it.
  bool reconnecting = false;
  kj::Maybe<kj::ForkedPromise<Outcome<UserInfo>>> reconnect;
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

// ---- Failover (failover.cc) -------------------------------------------------------------

// Logs `s` in to the addresses of s.owner->logins from index `first` on, each at most
// once and for at most `perAddress`, within `budget` in all; the first that logs in
// becomes the connection of `s`.
// Answers the user, or: the server's refusal of the login (not skipped), Unavailable
// naming every address tried ("no server answered (tried ...)"), or with one address its
// own failure.
kj::Promise<Outcome<UserInfo>> logIn(LoopState& s, size_t first, kj::Duration perAddress,
                                     kj::Duration budget);

// Answers OK once `s` has a live connection: at once when it has one, else after logging
// in again from the address after the lost one (one login at a time, shared by every call
// that waits). `beforeWrite`: look at the socket first, so that a connection the server
// has already closed is not used for a write.
kj::Promise<Outcome<UserInfo>> ensureConnected(LoopState& s, bool beforeWrite);

// Marks the connection of `s` lost; the next login starts at the address after it.
void markBroken(LoopState& s);

// A call sent on login `generation` of `s` found its connection lost: marks it so when it
// is still the current one.
void connectionLost(LoopState& s, uint64_t generation);

// The address of the current (or last) connection of `s`.
const std::string& currentAddress(const LoopState& s);

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

  // Any thread. Runs `fn(LoopState&) -> kj::Promise<T>`, the call `method`, on the loop
  // and delivers its result (or its failure, mapped) through the returned future. When
  // the connection is lost, the loop logs in again and the call is sent again or
  // answered Unavailable as failover.h says; `fn` may therefore run twice.
  // Inside a CallerThreadScope of this client with callerThreadConnections, it runs on
  // the calling thread's own connection instead and the future is ready on return.
  template <typename T, typename Fn>
  std::future<T> call(internal::Call method, Fn fn) {
    auto job = std::make_shared<Fn>(std::move(fn));
    if (callerThreadConnections && currentScope() == this) {
      internal::ParsedError error{ErrorCode::OK, {}};
      LoopState* s = callerState(&error);
      if (s != nullptr) return internal::ready(run<T>(method, job, *s).wait(s->io.waitScope));
      if (error.code != ErrorCode::OK) return internal::ready(T(error.code, error.message));
      // This thread cannot have a loop of ours (it runs a KJ loop of its own): the
      // client's loop serves the call.
    }
    auto pending = std::make_shared<internal::Pending<T>>();
    auto future = pending->future();
    post([pending, method, job](LoopState& s) {
      s.tasks.add(run<T>(method, job, s).then(
          [pending](T&& value) { pending->set(std::move(value)); }));
    });
    return future;
  }

  // Any thread. Runs `fn(LoopState&) -> kj::Promise<T>` on the client's loop once, as it
  // is (connect uses it to log in).
  template <typename T, typename Fn>
  std::future<T> submit(Fn fn) {
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
  };
  std::vector<Login> logins;  // one per address the client was given, in order
  // The address of the latest successful login: a caller thread's first connection
  // starts there. Any thread.
  std::atomic<size_t> preferredAddress{0};
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

  // One attempt of a call: its outcome, and whether it failed because the connection
  // was lost (then the outcome is Unavailable).
  template <typename T>
  struct Tried {
    T value;
    bool lost;
  };

  template <typename T>
  static Tried<T> triedFailed(const kj::Exception& e) {
    internal::ParsedError p = internal::fromKj(e);
    return Tried<T>{T(p.code, p.message), p.connectionLost};
  }

  // Sends the call `fn` once on the current connection of `s`; never fails.
  template <typename T, typename Fn>
  static kj::Promise<Tried<T>> attempt(Fn& fn, LoopState& s) {
    kj::Promise<T> promise = nullptr;
    try {
      promise = fn(s);
    } catch (const internal::LocalError& e) {
      return Tried<T>{T(e.code, e.message), false};
    } catch (const kj::Exception& e) {
      return triedFailed<T>(e);
    } catch (const std::exception& e) {
      return Tried<T>{T(ErrorCode::Internal, e.what()), false};
    }
    return promise.then([](T&& value) { return Tried<T>{kj::mv(value), false}; },
                        [](kj::Exception&& e) { return triedFailed<T>(e); });
  }

  // The call `method` (the job `fn`) on `s`, from a live connection to its answer, with
  // the rules of failover.h for a lost connection. Never fails.
  template <typename T, typename Fn>
  static kj::Promise<T> run(internal::Call method, std::shared_ptr<Fn> fn, LoopState& s) {
    const bool read = internal::isRead(method);
    return ensureConnected(s, !read)
        .then([method, read, fn, &s](Outcome<UserInfo>&& ready) -> kj::Promise<T> {
          if (!ready.ok()) return T(ready.getCode(), ready.getMessage());
          uint64_t generation = s.generation;
          std::string lostAt = currentAddress(s);
          return attempt<T>(*fn, s).then(
              [method, read, fn, &s, generation, lostAt](Tried<T>&& first) -> kj::Promise<T> {
                if (!first.lost) return kj::mv(first.value);
                connectionLost(s, generation);
                if (!read) {
                  return T(ErrorCode::Unavailable,
                           internal::unknownOutcome(method, lostAt, first.value.getMessage()));
                }
                return retryRead<T>(method, fn, s, lostAt);
              });
        });
  }

  // A read whose connection to `lostAt` was lost, sent once more on a new connection.
  template <typename T, typename Fn>
  static kj::Promise<T> retryRead(internal::Call method, std::shared_ptr<Fn> fn, LoopState& s,
                                  std::string lostAt) {
    return ensureConnected(s, false)
        .then([method, fn, &s, lostAt](Outcome<UserInfo>&& ready) -> kj::Promise<T> {
          const std::string what = std::string(internal::callName(method)) +
                                   ": the connection to " + lostAt + " was lost";
          if (!ready.ok()) return T(ready.getCode(), what + ", and then " + ready.getMessage());
          uint64_t generation = s.generation;
          std::string again = currentAddress(s);
          return attempt<T>(*fn, s).then([what, &s, generation, again](Tried<T>&& second) {
            if (!second.lost) return kj::mv(second.value);
            connectionLost(s, generation);
            return T(ErrorCode::Unavailable, what + ", and so was the one to " + again +
                                                 " it was sent to again: " +
                                                 second.value.getMessage());
          });
        });
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

// Opens a connection on `s` to `login` (connect, TLS, login, the pipelined session,
// records and admin capabilities) within `timeout`, and answers the logged-in user
// (client.cc). REQUIRES: `s` holds no connection (resetConnection).
kj::Promise<Outcome<UserInfo>> openSession(LoopState& s, const ClientCore::Login& login,
                                           kj::Duration timeout);

// Drops the connection on `s` and every capability on it, in an order that leaves nothing
// pointing at a destroyed stream; `s` can then open a session again (client.cc). Physical
// imports begun on it are remembered as lost.
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
