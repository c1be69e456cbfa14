// Going on through another server when the connection is lost: the table of which calls
// only read (failover.h), and logging in again to the next address of the client's list
// (loop.h: ensureConnected).

#include "failover.h"

#include <sys/socket.h>

#include <cerrno>

#include "loop.h"

namespace cotenant {
namespace internal {

namespace {

struct CallInfo {
  Call call;
  const char* name;
  bool read;  // true: may be sent again on another connection
};

constexpr bool kRead = true;
constexpr bool kWrite = false;

// One row per Call, in the enum's order. A call is a read only when sending it twice
// cannot change anything the store holds; importRecords is a write even though the server
// recognises a replayed batch, since the caller decides whether to send it again.
constexpr CallInfo kCalls[] = {
    {Call::Whoami, "whoami", kRead},
    {Call::OpenContext, "records", kRead},
    {Call::AddRecord, "addRecord", kWrite},
    {Call::AddRecords, "addRecords", kWrite},
    {Call::UpdateRecord, "updateRecord", kWrite},
    {Call::DeleteRecord, "deleteRecord", kWrite},
    {Call::GetRecord, "getRecord", kRead},
    {Call::GetRecords, "getRecords", kRead},
    {Call::GetRecordBy, "getRecordBy", kRead},
    {Call::UpdateRecordBy, "updateRecordBy", kWrite},
    {Call::DeleteRecordBy, "deleteRecordBy", kWrite},
    {Call::UpsertRecord, "upsertRecord", kWrite},
    {Call::SearchRecords, "searchRecords", kRead},
    {Call::DescribeObject, "describeObject", kRead},
    {Call::ImportRecords, "importRecords", kWrite},
    {Call::FinishImport, "finishImport", kWrite},
    {Call::BeginPhysicalImport, "beginPhysicalImport", kWrite},
    {Call::PhysicalImportAdd, "PhysicalImport.add", kWrite},
    {Call::PhysicalImportCommit, "PhysicalImport.commit", kWrite},
    {Call::PhysicalImportAbort, "PhysicalImport.abort", kWrite},
    {Call::CreateTenant, "createTenant", kWrite},
    {Call::ListTenants, "listTenants", kRead},
    {Call::DeleteTenant, "deleteTenant", kWrite},
    {Call::CreateObject, "createObject", kWrite},
    {Call::ListObjects, "listObjects", kRead},
    {Call::CreateUser, "createUser", kWrite},
    {Call::ListUsers, "listUsers", kRead},
    {Call::DeleteUser, "deleteUser", kWrite},
    {Call::CreateApiKey, "createApiKey", kWrite},
    {Call::RevokeApiKey, "revokeApiKey", kWrite},
    {Call::ListApiKeys, "listApiKeys", kRead},
    {Call::CreateRole, "createRole", kWrite},
    {Call::UpdateRole, "updateRole", kWrite},
    {Call::DeleteRole, "deleteRole", kWrite},
    {Call::ListRoles, "listRoles", kRead},
    {Call::AddRoleMember, "addRoleMember", kWrite},
    {Call::RemoveRoleMember, "removeRoleMember", kWrite},
    {Call::CreatePolicy, "createPolicy", kWrite},
    {Call::UpdatePolicy, "updatePolicy", kWrite},
    {Call::DeletePolicy, "deletePolicy", kWrite},
    {Call::ListPolicies, "listPolicies", kRead},
    {Call::SetSetting, "setSetting", kWrite},
    {Call::ListSettings, "listSettings", kRead},
    {Call::QueryAudit, "queryAudit", kRead},
    {Call::Usage, "usage", kRead},
    {Call::SetQuota, "setQuota", kWrite},
    {Call::CreatePermissionSet, "createPermissionSet", kWrite},
    {Call::UpdatePermissionSet, "updatePermissionSet", kWrite},
    {Call::DeletePermissionSet, "deletePermissionSet", kWrite},
    {Call::ListPermissionSets, "listPermissionSets", kRead},
    {Call::Explain, "explain", kRead},
    {Call::CheckStore, "checkStore", kRead},
    {Call::Backup, "backup", kWrite},  // each one makes a backup
    {Call::ReadTenantRecords, "readTenantRecords", kRead},
    {Call::RestoreTenantRecords, "restoreTenantRecords", kWrite},
};

constexpr bool tableInOrder() {
  for (size_t i = 0; i < sizeof(kCalls) / sizeof(kCalls[0]); ++i) {
    if (static_cast<size_t>(kCalls[i].call) != i) return false;
  }
  return true;
}
static_assert(sizeof(kCalls) / sizeof(kCalls[0]) == static_cast<size_t>(Call::kCount),
              "every Call has a row in kCalls");
static_assert(tableInOrder(), "kCalls is in the order of enum Call");

}  // namespace

const char* callName(Call call) { return kCalls[static_cast<size_t>(call)].name; }

bool isRead(Call call) { return kCalls[static_cast<size_t>(call)].read; }

std::string unknownOutcome(Call call, const std::string& address, const std::string& why) {
  return std::string(callName(call)) + ": the connection to " + address +
         " was lost while the call was in flight, so its outcome is unknown (it may or may "
         "not have been applied; it was not sent again): " + why;
}

bool peerClosed(int fd) {
  if (fd < 0) return false;
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // the peer's end of stream
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace internal

namespace {

// A reconnection tries each address for at most kReconnectAttempt (one that accepts the
// connection but does not answer, a stopped server say, must leave time for the next),
// and gives up after kReconnectBudget in all.
constexpr auto kReconnectAttempt = 5 * kj::SECONDS;
constexpr auto kReconnectBudget = 15 * kj::SECONDS;

// A connection of `s` is now logged in to address `index`: calls go through it.
Outcome<UserInfo> adopt(LoopState& s, size_t index, Outcome<UserInfo> who) {
  if (s.link != nullptr) {
    // A caller thread's socket is registered so that the client's shutdown can close it.
    bool closed = false;
    {
      std::lock_guard<std::mutex> lock(s.link->mu);
      closed = s.link->closed.load(std::memory_order_relaxed);
      if (!closed && s.fd >= 0) {
        s.link->fds.insert(s.fd);
        s.fdRegistered = true;
      }
    }
    if (closed) {
      resetConnection(s);  // the client shut down while this login was under way
      return Outcome<UserInfo>(ErrorCode::Unavailable, "client closed");
    }
  }
  s.broken = false;
  s.addressIndex = index;
  s.owner->preferredAddress.store(index, std::memory_order_relaxed);
  uint64_t generation = ++s.generation;
  // The end of the connection noticed while no call is in flight: the next write then
  // knows it was not sent and goes on a new connection.
  s.tasks.add(s.rpc->onDisconnect().then([&s, generation]() {
    if (s.generation == generation) markBroken(s);
  }));
  return who;
}

// Tries the addresses of the list from `first` on, each once, until one logs in.
kj::Promise<Outcome<UserInfo>> logInFrom(LoopState& s, size_t first, size_t k,
                                         kj::Duration perAddress, kj::TimePoint deadline,
                                         std::string tried) {
  const auto& logins = s.owner->logins;
  const size_t n = logins.size();
  auto& timer = s.io.provider->getTimer();
  if (k == n || timer.now() >= deadline) {
    return Outcome<UserInfo>(ErrorCode::Unavailable, "no server answered (tried " + tried + ")");
  }
  const size_t index = (first + k) % n;
  resetConnection(s);
  kj::Duration timeout = std::min(perAddress, deadline - timer.now());
  return openSession(s, logins[index], timeout)
      .then([](Outcome<UserInfo>&& who) { return kj::mv(who); },
            [](kj::Exception&& e) {
              internal::ParsedError p = internal::fromKj(e);
              return Outcome<UserInfo>(p.code, p.message);
            })
      .then([&s, first, k, n, index, perAddress, deadline,
             tried](Outcome<UserInfo>&& who) mutable -> kj::Promise<Outcome<UserInfo>> {
        if (who.ok()) return adopt(s, index, kj::mv(who));
        resetConnection(s);
        // Anything but an unreachable server (a refused login, say) is the server's word.
        if (who.getCode() != ErrorCode::Unavailable || n == 1) return kj::mv(who);
        tried += (tried.empty() ? "" : "; ") + s.owner->logins[index].address + ": " +
                 who.getMessage();
        return logInFrom(s, first, k + 1, perAddress, deadline, kj::mv(tried));
      });
}

}  // namespace

void markBroken(LoopState& s) {
  if (s.broken) return;
  s.broken = true;
  s.nextAddress = (s.addressIndex + 1) % s.owner->logins.size();
}

void connectionLost(LoopState& s, uint64_t generation) {
  if (s.generation == generation) markBroken(s);
}

const std::string& currentAddress(const LoopState& s) {
  return s.owner->logins[s.addressIndex].address;
}

kj::Promise<Outcome<UserInfo>> logIn(LoopState& s, size_t first, kj::Duration perAddress,
                                     kj::Duration budget) {
  kj::TimePoint deadline = s.io.provider->getTimer().now() + budget;
  return logInFrom(s, first, 0, perAddress, deadline, "");
}

kj::Promise<Outcome<UserInfo>> ensureConnected(LoopState& s, bool beforeWrite) {
  if (s.link != nullptr && s.link->closed.load(std::memory_order_acquire)) {
    return Outcome<UserInfo>(ErrorCode::Unavailable, "client closed");
  }
  if (!s.broken) {
    // A write goes on a connection the server is known to have closed only when the
    // loop has not yet read that end of stream: look at the socket first.
    if (!beforeWrite || !internal::peerClosed(s.fd)) return Outcome<UserInfo>(UserInfo());
    markBroken(s);
  }
  if (!s.reconnecting) {
    s.reconnecting = true;
    s.reconnect = logIn(s, s.nextAddress, kReconnectAttempt, kReconnectBudget)
                      .then([&s](Outcome<UserInfo>&& who) {
                        s.reconnecting = false;
                        return kj::mv(who);
                      })
                      .fork();
  }
  return KJ_ASSERT_NONNULL(s.reconnect).addBranch();
}

}  // namespace cotenant
