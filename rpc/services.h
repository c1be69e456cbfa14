// The Cap'n Proto interfaces of schemas/cotenant.capnp, one class each:
//
//   CotenantImpl  the bootstrap capability: login
//   SessionImpl   an authenticated user: records, admin, whoami
//   RecordsImpl   record calls on one tenant as one principal
//   AdminImpl     administrative calls
//
// A handler copies its arguments out of the request, asks the gate (sharing/gate.h) for
// the decision, calls storage, and fills the reply. No access rule lives here.
//
// Threads. Every method runs on the server's KJ event loop thread. Anything that may
// block (a write, a search, an admin call, a decision whose context is not cached, a read
// that misses the block cache) goes to the WorkPool; the result comes back to the loop,
// which fills the response. getRecord first tries a cache-only read inline, so a point
// read that hits memory never waits behind a search.
//
// Errors are Status values converted once by rpc/errors.h.
//
// The handlers are in session.cc (Cotenant, Session), records.cc (Records), and
// admin_identity.cc, admin_sharing.cc, admin_access.cc (Admin).

#ifndef COTENANT_RPC_SERVICES_H_
#define COTENANT_RPC_SERVICES_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/mac.h"
#include "rpc/convert.h"
#include "rpc/metrics.h"
#include "rpc/work_pool.h"
#include "schemas/cotenant.capnp.h"
#include "sharing/gate.h"
#include "sharing/login_throttle.h"
#include "sharing/quotas.h"
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
  const sharing::Gate* gate = nullptr;  // decides every call
  WorkPool* pool = nullptr;
  Metrics* metrics = nullptr;
  WireLimits limits;
  const Mac* token_mac = nullptr;  // seals search continuation tokens (rpc/search_token.h)
  sharing::LoginThrottle* login_throttle = nullptr;  // failed logins per address and tenant
  sharing::Quotas* quotas = nullptr;                 // calls per second, concurrent work

};

// What a connection tells its handlers about the answers it holds for its client. A
// client that sends calls and never reads their answers must not make the server hold
// answers without bound. An answer counts from the moment a handler has built it until
// its message is written to the socket (answers of many pipelined calls may all be built
// before the first is queued); past max_unsent_bytes, a handler refuses to build another
// (ResourceExhausted) and the connection stops reading calls (rpc/connections.cc).
// Loop thread only; may outlive its connection by a moment.
class Outbox {
 public:
  explicit Outbox(size_t max_unsent_bytes) : max_unsent_bytes_(max_unsent_bytes) {}
  // Where the bytes of queued outgoing messages come from (the connection's network).
  void Attach(std::function<size_t()> queued) { queued_ = std::move(queued); }
  void Detach() { queued_ = nullptr; }

  // A handler built an answer of `bytes`.
  void Built(size_t bytes) const {
    if (max_unsent_bytes_ != 0) built_ += bytes;
  }
  // An answer of `bytes` was written to the socket.
  void Written(size_t bytes) const { built_ -= std::min(built_, bytes); }

  size_t unsent_bytes() const { return std::max(built_, queued_ ? queued_() : size_t{0}); }
  size_t max_unsent_bytes() const { return max_unsent_bytes_; }
  bool full() const { return max_unsent_bytes_ != 0 && unsent_bytes() > max_unsent_bytes_; }
  // OK, or the ResourceExhausted a call is answered with while the outbox is full.
  Status Room() const;

 private:
  const size_t max_unsent_bytes_;  // 0 = unbounded
  std::function<size_t()> queued_;
  mutable size_t built_ = 0;  // built answers not yet written
};

// What a login established. Immutable; shared by the session and everything derived.
struct SessionState {
  sharing::Credential credential;
  sharing::User user;  // as of login; the gate checks the credential on every call
  std::shared_ptr<const Outbox> outbox;  // the connection's; null in process (no connection)

  // OK when there is room to answer (see Outbox).
  Status AnswerRoom() const { return outbox ? outbox->Room() : Status::OK(); }
  // Counts an answer just built (see Outbox).
  void Built(size_t bytes) const {
    if (outbox) outbox->Built(bytes);
  }
};

// Whether a session's call is taken at all: its connection has room for the answer (see
// Outbox) and its tenant is within its calls-per-second quota.
inline Status AdmitCall(const ServiceContext& ctx, const SessionState& session) {
  COTENANT_RETURN_IF_ERROR(session.AnswerRoom());
  return ctx.quotas != nullptr ? ctx.quotas->AdmitCall(session.credential.tenant) : Status::OK();
}

class CotenantImpl final : public wire::Cotenant::Server {
  // Implements wire::Cotenant (the bootstrap capability).
 public:
  // `peer`: the client's address (no port), for throttling failed logins. on_login,
  // when set, runs on the loop thread after each successful login on this capability's
  // connection (the connection then gets its logged-in limits).
  // `outbox`, when set, is the connection's (SessionState::outbox).
  CotenantImpl(const ServiceContext& ctx, std::string peer, std::function<void()> on_login = nullptr,
               std::shared_ptr<const Outbox> outbox = nullptr)
      : ctx_(ctx), peer_(std::move(peer)), on_login_(std::move(on_login)), outbox_(std::move(outbox)) {}
  kj::Promise<void> login(LoginContext context) override;

 private:
  const ServiceContext& ctx_;
  const std::string peer_;
  std::function<void()> on_login_;
  std::shared_ptr<const Outbox> outbox_;
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

class PhysicalImportImpl;

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
  kj::Promise<void> getRecords(GetRecordsContext context) override;
  kj::Promise<void> importRecords(ImportRecordsContext context) override;
  kj::Promise<void> finishImport(FinishImportContext context) override;
  kj::Promise<void> describeObject(DescribeObjectContext context) override;
  kj::Promise<void> getRecordBy(GetRecordByContext context) override;
  kj::Promise<void> updateRecordBy(UpdateRecordByContext context) override;
  kj::Promise<void> deleteRecordBy(DeleteRecordByContext context) override;
  kj::Promise<void> upsertRecord(UpsertRecordContext context) override;
  kj::Promise<void> beginPhysicalImport(BeginPhysicalImportContext context) override;

 private:
  friend class PhysicalImportImpl;  // decides each of its calls as this capability does

  // Asks the gate (from memory on the loop, else on the pool), runs body(decision) when
  // the call is allowed, and records the outcome with the gate.
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
  kj::Promise<void> usageHistory(UsageHistoryContext context) override;
  kj::Promise<void> createPermissionSet(CreatePermissionSetContext context) override;
  kj::Promise<void> updatePermissionSet(UpdatePermissionSetContext context) override;
  kj::Promise<void> deletePermissionSet(DeletePermissionSetContext context) override;
  kj::Promise<void> listPermissionSets(ListPermissionSetsContext context) override;
  kj::Promise<void> explain(ExplainContext context) override;
  kj::Promise<void> lintPermissionSets(LintPermissionSetsContext context) override;
  kj::Promise<void> setQuota(SetQuotaContext context) override;
  kj::Promise<void> checkStore(CheckStoreContext context) override;  // admin_store.cc
  kj::Promise<void> backup(BackupContext context) override;          // admin_store.cc
  kj::Promise<void> readTenantRecords(ReadTenantRecordsContext context) override;        // admin_records.cc
  kj::Promise<void> restoreTenantRecords(RestoreTenantRecordsContext context) override;  // admin_records.cc

 private:
  // On the pool: the gate decides `call`, then work(decision) runs; back on the loop,
  // fill(out) answers, and a change (out.what not empty) is audited.
  template <typename Out, typename Work, typename Fill>
  kj::Promise<void> Run(sharing::AdminCall call, Status args, Work&& work, Fill&& fill);
  sharing::AdminCall Call(Api api, storage::TenantId tenant = 0) const;
  // createRole/updateRole and createPermissionSet/updatePermissionSet.
  template <typename Context>
  kj::Promise<void> WriteRole(Api api, Context context, bool create);
  template <typename Context>
  kj::Promise<void> WritePermissionSet(Api api, Context context, bool create);
  // deleteRole and deletePolicy: the tenant's `noun` ("role", "policy") of the given name,
  // deleted by `del`.
  template <typename Context>
  kj::Promise<void> DeleteNamed(Api api, Context context, const char* noun,
                                Status (sharing::Sharing::*del)(storage::TenantId,
                                                                const std::string&));
  // addRoleMember and removeRoleMember (same parameters).
  template <typename Context>
  kj::Promise<void> WriteMember(Api api, Context context, bool add);

  const ServiceContext& ctx_;
  std::shared_ptr<const SessionState> session_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SERVICES_H_
