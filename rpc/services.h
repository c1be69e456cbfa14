// The Cap'n Proto interfaces of schemas/cotenant.capnp, one class each:
//
//   CotenantImpl  the bootstrap capability: login
//   SessionImpl   an authenticated user: records, admin, whoami
//   RecordsImpl   record calls on one tenant as one principal
//   AdminImpl     administrative calls
//
// Threads. Every method runs on the server's KJ event loop thread. It copies what it needs
// out of the request, checks the session (in memory), and hands anything that may block
// (a write, a search, an admin call, a read that misses the cache) to the WorkPool; the
// result comes back to the loop, which fills the response. getRecord first tries a
// cache-only read inline, so a point read that hits memory never waits behind a search.
//
// Errors are Status values converted once by rpc/errors.h. Order of checks: the session
// (Unauthenticated), then the context and the caller's rights (PermissionDenied), then
// existence (NotFound), then arguments (InvalidArgument / ResourceExhausted).

#ifndef COTENANT_RPC_SERVICES_H_
#define COTENANT_RPC_SERVICES_H_

#include <memory>
#include <optional>

#include "rpc/convert.h"
#include "rpc/metrics.h"
#include "rpc/work_pool.h"
#include "schemas/cotenant.capnp.h"
#include "sharing/identity.h"
#include "storage/storage.h"

namespace cotenant::rpc {

// What every capability object needs. Owned by the Server; outlives every connection.
struct ServiceContext {
  storage::Store* store = nullptr;
  sharing::Identity* identity = nullptr;
  WorkPool* pool = nullptr;
  Metrics* metrics = nullptr;
  WireLimits limits;
};

// What a login established. Immutable; shared by the session and everything derived.
struct SessionState {
  sharing::Credential credential;
  sharing::User user;  // as of login; the current one comes from Identity::Check
};

// Who a record call acts as, and on which tenant.
struct Principal {
  storage::TenantId tenant = 0;  // the tenant whose records the call touches
  storage::UserId user = 0;      // the user the call acts as (recorded as createdBy, ...)
  // Data-sharing (a later issue) adds: the policy, its scope (storage::RecordScope), the
  // principal's roles.
};

// Resolves the tenant a record call names (nullopt = none) for an authenticated caller.
// No context or the caller's own tenant: the caller itself. Any other tenant, known or
// not: PermissionDenied "Access Denied: no data-sharing policy of tenant <p> admits
// tenant <c>" (so tenant ids cannot be probed). This is the seam where data-sharing
// policies plug in. Runs on the event loop: must not block.
Status ResolveContext(const ServiceContext& ctx, const sharing::User& caller,
                      std::optional<storage::TenantId> context, Principal* out);

class CotenantImpl final : public wire::Cotenant::Server {
  // Implements wire::Cotenant (the bootstrap capability).
 public:
  explicit CotenantImpl(const ServiceContext& ctx) : ctx_(ctx) {}
  kj::Promise<void> login(LoginContext context) override;

 private:
  const ServiceContext& ctx_;
};

class SessionImpl final : public wire::Session::Server {
  // Implements wire::Session.
 public:
  SessionImpl(const ServiceContext& ctx, std::shared_ptr<const SessionState> session)
      : ctx_(ctx), session_(std::move(session)) {}
  kj::Promise<void> records(RecordsContext context) override;
  kj::Promise<void> admin(AdminContext context) override;
  kj::Promise<void> whoami(WhoamiContext context) override;

 private:
  const ServiceContext& ctx_;
  std::shared_ptr<const SessionState> session_;
};

class RecordsImpl final : public wire::Records::Server {
  // Implements wire::Records. Re-checks the session and re-resolves the context on every
  // call, so a revocation reaches a Records capability obtained before it.
 public:
  RecordsImpl(const ServiceContext& ctx, std::shared_ptr<const SessionState> session,
              std::optional<storage::TenantId> context)
      : ctx_(ctx), session_(std::move(session)), context_(context) {}
  kj::Promise<void> addRecord(AddRecordContext context) override;
  kj::Promise<void> addRecords(AddRecordsContext context) override;
  kj::Promise<void> updateRecord(UpdateRecordContext context) override;
  kj::Promise<void> deleteRecord(DeleteRecordContext context) override;
  kj::Promise<void> getRecord(GetRecordContext context) override;
  kj::Promise<void> searchRecords(SearchRecordsContext context) override;

 private:
  Principal Resolve() const;  // throws Unauthenticated / PermissionDenied

  const ServiceContext& ctx_;
  std::shared_ptr<const SessionState> session_;
  std::optional<storage::TenantId> context_;
};

class AdminImpl final : public wire::Admin::Server {
  // Implements wire::Admin. A tenantId of 0 means the caller's own tenant; naming another
  // requires a system admin.
 public:
  AdminImpl(const ServiceContext& ctx, std::shared_ptr<const SessionState> session)
      : ctx_(ctx), session_(std::move(session)) {}
  kj::Promise<void> createTenant(CreateTenantContext context) override;
  kj::Promise<void> listTenants(ListTenantsContext context) override;
  kj::Promise<void> deleteTenant(DeleteTenantContext context) override;
  kj::Promise<void> createObject(CreateObjectContext context) override;
  kj::Promise<void> listObjects(ListObjectsContext context) override;
  kj::Promise<void> createUser(CreateUserContext context) override;
  kj::Promise<void> listUsers(ListUsersContext context) override;

 private:
  sharing::User Caller() const;  // throws Unauthenticated

  const ServiceContext& ctx_;
  std::shared_ptr<const SessionState> session_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SERVICES_H_
