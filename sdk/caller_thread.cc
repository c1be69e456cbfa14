// Caller-thread connections (ClientOptions::callerThreadConnections): each thread that
// makes synchronous record calls gets its own KJ event loop and, per client, its own
// connection, on which those calls run without a hand-off to the client's loop thread
// (loop.h describes the threading).
//
// A thread's loop and connections live in a thread_local CallerThread and are destroyed
// on that thread: when it ends, or at its next call after their client shut down (which
// has already shut their sockets down, so the server has seen them go).

#include <sys/socket.h>

#include "loop.h"

namespace cotenant {

namespace {

// One client's connection on one caller thread. When it is lost, the state logs in again
// by itself (ensureConnected), registering the new socket in `link`.
struct CallerConnection {
  CallerConnection(std::shared_ptr<internal::CallerLink> link, kj::AsyncIoContext& io)
      : link(std::move(link)), state(std::make_unique<LoopState>(io)) {
    state->link = this->link.get();
  }
  ~CallerConnection() {
    // Unregistered and closed under the link's lock: shutdown never touches a closed
    // (perhaps reused) socket number.
    std::lock_guard<std::mutex> lock(link->mu);
    if (state->fdRegistered) link->fds.erase(state->fd);
    state.reset();
  }
  CallerConnection(const CallerConnection&) = delete;
  CallerConnection& operator=(const CallerConnection&) = delete;

  std::shared_ptr<internal::CallerLink> link;
  std::unique_ptr<LoopState> state;
  uint64_t contextsSeen = 0;  // the client's contextsVersion when last pruned
};

// The calling thread's loop and its connections, by client serial. Connections go before
// the loop they run on (members are destroyed in reverse order).
struct CallerThread {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::unordered_map<uint64_t, std::unique_ptr<CallerConnection>> connections;

  // Destroys the connections of clients that have shut down.
  void prune() {
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->second->link->closed.load(std::memory_order_acquire)) {
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
};

thread_local std::unique_ptr<CallerThread> t_caller;
thread_local bool t_foreignLoop = false;  // this thread runs a KJ event loop of its own

}  // namespace

LoopState* ClientCore::callerState(internal::ParsedError* error) {
  if (t_foreignLoop) return nullptr;
  if (!t_caller) {
    try {
      t_caller = std::make_unique<CallerThread>();
    } catch (const kj::Exception&) {
      // KJ allows one event loop per thread, and this thread has one already.
      t_foreignLoop = true;
      return nullptr;
    }
  }
  CallerThread& thread = *t_caller;
  thread.prune();
  // The loop has not run since this thread's last call, perhaps long ago: one turn brings
  // its clock (which the login's time limits count from) to now, and takes in the end of a
  // connection the server closed meanwhile.
  thread.io.waitScope.poll();
  auto it = thread.connections.find(serial);
  if (it == thread.connections.end()) {
    auto connection = std::make_unique<CallerConnection>(callers, thread.io);
    LoopState& state = *connection->state;
    state.owner = this;
    // Where the client's own connection is now (it may have moved on from the first).
    state.nextAddress = preferredAddress.load(std::memory_order_relaxed) % logins.size();
    Outcome<UserInfo> who = ensureConnected(state, false).wait(thread.io.waitScope);
    if (!who.ok()) {
      *error = {who.getCode(), who.getMessage()};
      return nullptr;
    }
    connection->contextsSeen = contextsVersion.load(std::memory_order_acquire);
    it = thread.connections.emplace(serial, std::move(connection)).first;
  }
  CallerConnection& connection = *it->second;
  uint64_t version = contextsVersion.load(std::memory_order_acquire);
  if (version != connection.contextsSeen) {
    // Contexts the application has let go of: their capabilities go on this connection too.
    auto& contexts = connection.state->contexts;
    for (auto c = contexts.begin(); c != contexts.end();) {
      c = contextTenant(c->first) ? std::next(c) : contexts.erase(c);
    }
    connection.contextsSeen = version;
  }
  return connection.state.get();
}

void ClientCore::rememberContext(uint64_t id, uint64_t tenant) {
  std::lock_guard<std::mutex> lock(contextsMu_);
  contextTenants_[id] = tenant;
}

void ClientCore::forgetContext(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(contextsMu_);
    contextTenants_.erase(id);
  }
  contextsVersion.fetch_add(1, std::memory_order_release);
}

std::optional<uint64_t> ClientCore::contextTenant(uint64_t id) const {
  std::lock_guard<std::mutex> lock(contextsMu_);
  auto it = contextTenants_.find(id);
  if (it == contextTenants_.end()) return std::nullopt;
  return it->second;
}

wire::Records::Client& LoopState::contextMissed(uint64_t contextId) {
  std::optional<uint64_t> tenant;
  if (owner != nullptr) tenant = owner->contextTenant(contextId);
  if (!tenant) {
    throw internal::LocalError{ErrorCode::Internal, "tenant context is no longer registered"};
  }
  // Pipelined: a context the server refuses fails the call that uses it, as on the
  // client's own connection.
  auto req = session.recordsRequest();
  req.initContext().setTenantId(*tenant);
  return contexts.emplace(contextId, req.send().getRecords()).first->second;
}

namespace internal {

void ShutDownCallers(CallerLink& link) {
  std::lock_guard<std::mutex> lock(link.mu);
  link.closed.store(true, std::memory_order_release);
  for (int fd : link.fds) ::shutdown(fd, SHUT_RDWR);
  link.fds.clear();
}

}  // namespace internal

}  // namespace cotenant
