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

#include <functional>
#include <memory>
#include <optional>

#include "rpc/convert.h"
#include "rpc/metrics.h"
#include "rpc/work_pool.h"
#include "schemas/cotenant.capnp.h"
#include "sharing/audit.h"
#include "sharing/identity.h"
#include "sharing/permission_sets.h"
#include "sharing/sharing.h"
#include "sharing/usage.h"
#include "storage/storage.h"

namespace cotenant::rpc {

// What every capability object needs. Owned by the Server; outlives every connection.
struct ServiceContext {
  storage::Store* store = nullptr;
  sharing::Identity* identity = nullptr;
  sharing::Sharing* sharing = nullptr;
  sharing::AuditLog* audit = nullptr;
  sharing::Usage* usage = nullptr;
  sharing::PermissionSets* psets = nullptr;
  WorkPool* pool = nullptr;
  Metrics* metrics = nullptr;
  WireLimits limits;
};

// What a login established. Immutable; shared by the session and everything derived.
struct SessionState {
  sharing::Credential credential;
  sharing::User user;  // as of login; the current one comes from Identity::Check
};

// A record call's caller and the access it resolved to (see sharing/sharing.h).
struct Resolved {
  sharing::User caller;
  std::shared_ptr<const sharing::Access> access;
};

// Evaluates permission sets for one request (the saved sets, or a simulation's drafts).
using PermissionEvaluator = std::function<sharing::PermissionDecision(const sharing::AccessRequest&)>;

// What DecideRecordCall found, for explain.
struct RecordDecision {
  sharing::PermissionDecision caller_sets;
  sharing::PermissionDecision principal_sets;
  bool principal_evaluated = false;
};

// The right a record API needs.
sharing::Right RightOf(Api api);
// The permission-set request of a call (records/<object> or admin/<thing>).
sharing::AccessRequest RequestOf(Api api, uint64_t user, storage::TenantId tenant,
                                 std::string_view object);
// "Access Denied: user 12 may not DELETE records/Customers in tenant 7: denied by ...".
Status PermissionSetDenial(const sharing::AccessRequest& r, const sharing::PermissionDecision& d);

// Steps 2 and 3 of deciding a record call, after its context resolved to `a`: the
// permission sets of the caller (and of the policy's user when they differ), then the
// principal's role rights on the object. The one decision both the real call and explain
// use, so they cannot disagree.
Status DecideRecordCall(const sharing::Access& a, uint64_t caller, Api api, std::string_view object,
                        const PermissionEvaluator& evaluate, RecordDecision* trace);

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
  // Checks the session, resolves the context (in-process cache on the loop, else on the
  // pool), decides the call (DecideRecordCall), runs body(resolved), and audits a
  // cross-tenant call with its outcome in both tenants' logs.
  template <typename Body>
  kj::Promise<void> Run(Api api, std::string object, uint64_t record_id, Body&& body);

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
  kj::Promise<void> deleteUser(DeleteUserContext context) override;
  kj::Promise<void> createApiKey(CreateApiKeyContext context) override;
  kj::Promise<void> revokeApiKey(RevokeApiKeyContext context) override;
  kj::Promise<void> listApiKeys(ListApiKeysContext context) override;
  kj::Promise<void> createRole(CreateRoleContext context) override;
  kj::Promise<void> updateRole(UpdateRoleContext context) override;
  kj::Promise<void> deleteRole(DeleteRoleContext context) override;
  kj::Promise<void> listRoles(ListRolesContext context) override;
  kj::Promise<void> addRoleMember(AddRoleMemberContext context) override;
  kj::Promise<void> removeRoleMember(RemoveRoleMemberContext context) override;
  kj::Promise<void> createPolicy(CreatePolicyContext context) override;
  kj::Promise<void> updatePolicy(UpdatePolicyContext context) override;
  kj::Promise<void> deletePolicy(DeletePolicyContext context) override;
  kj::Promise<void> listPolicies(ListPoliciesContext context) override;
  kj::Promise<void> setSetting(SetSettingContext context) override;
  kj::Promise<void> listSettings(ListSettingsContext context) override;
  kj::Promise<void> queryAudit(QueryAuditContext context) override;
  kj::Promise<void> usage(UsageContext context) override;
  kj::Promise<void> createPermissionSet(CreatePermissionSetContext context) override;
  kj::Promise<void> updatePermissionSet(UpdatePermissionSetContext context) override;
  kj::Promise<void> deletePermissionSet(DeletePermissionSetContext context) override;
  kj::Promise<void> listPermissionSets(ListPermissionSetsContext context) override;
  kj::Promise<void> explain(ExplainContext context) override;

 private:
  sharing::User Caller() const;  // throws Unauthenticated
  // Permission sets of a non-system-admin caller for `api` on tenant `target`; throws
  // PermissionDenied naming the deciding set.
  void Authorize(const sharing::User& caller, Api api, storage::TenantId target) const;
  // Runs work() on the pool; on success fills the response and audits the change in
  // `tenant`'s log (api, what, detail).
  template <typename Out, typename Work, typename Fill>
  kj::Promise<void> Change(Api api, const sharing::User& caller, storage::TenantId tenant,
                           std::string what, Work&& work, Fill&& fill);
  template <typename Out, typename Work, typename Fill>
  kj::Promise<void> Read(Work&& work, Fill&& fill);
  // createPermissionSet and updatePermissionSet (same parameters).
  template <typename Context>
  kj::Promise<void> WritePermissionSet(Api api, Context context, bool create);
  // createRole and updateRole (same parameters).
  template <typename Context>
  kj::Promise<void> WriteRole(Api api, Context context, bool create);

  const ServiceContext& ctx_;
  std::shared_ptr<const SessionState> session_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SERVICES_H_
