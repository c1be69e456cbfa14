// sharing/gate.h: the one place that decides a request.
//
// Every call that reaches Cotenant, through RPC or any other front-end, is decided here
// and nowhere else. A request is the authenticated caller (user u of home tenant c), an
// API, the tenant t it touches (c itself, or the tenant a TenantContext names) and, for
// record calls, an object. The gate decides it in this order (docs/SHARING.md):
//
//   1. authenticate     the credential is still valid (a revoked key, a deleted user or
//                       a deleted home tenant fails at once, on open sessions too);
//   2. context          t == c: u itself; else (a) u's cross-tenant roles of t, (b) t's
//                       policy designating c, (c) t's global policy when t manages c,
//                       else PermissionDenied ("no data-sharing policy of t admits c",
//                       the same answer for a tenant that does not exist);
//   3. permission sets  of u, and through a policy also of the policy's user: any
//                       matching deny denies, else a matching allow allows, else denied;
//   4. role rights      of the principal on the object, intersected with the policy's
//                       scope objects (PermissionDenied naming what was missing);
//   5. object exists    NotFound otherwise.
//
// What comes after (argument validation, the record within the row filter, the expected
// version, the row filter on the written record) is the store's, given the Decision's
// scope. Administrative calls are decided by DecideAdmin: only a system admin names
// another tenant; permission sets (system admins exempt); the call's admin level; the
// rules on the user acted on.
//
// The same functions decide a real call and an explain, so the two cannot disagree.
//
// Thread safety: a Gate is safe for concurrent use from any thread. A Decision is
// immutable; share it freely.

#ifndef COTENANT_SHARING_GATE_H_
#define COTENANT_SHARING_GATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "common/statusor.h"
#include "sharing/api.h"
#include "sharing/audit.h"
#include "sharing/identity.h"
#include "sharing/permission_sets.h"
#include "sharing/sharing.h"
#include "sharing/usage.h"
#include "storage/storage.h"

namespace cotenant::sharing {

// A record call as the front-end received it.
struct RecordCall {
  Credential credential;
  Api api = Api::kGetRecord;         // a record API, or kRecords (opening a context)
  std::optional<TenantId> context;   // the TenantContext; nullopt (or 0) = own tenant
  std::string object;                // ignored for kRecords
};

// The outcome of deciding a record call. Immutable; owns everything the call needs.
class Decision {
 public:
  const User& caller() const { return caller_; }
  Api api() const { return api_; }
  const std::string& object_name() const { return object_name_; }
  // The resolved context: path, principal, rights, policy scope.
  const Access& access() const { return *access_; }
  TenantId target() const { return access_->target; }
  UserId principal() const { return access_->principal; }
  bool cross_tenant() const { return access_->cross_tenant(); }

  // OK when the call may proceed; else the denial (PermissionDenied, NotFound for a
  // missing object) exactly as the client is to see it.
  const Status& verdict() const { return verdict_; }
  bool allowed() const { return verdict_.ok(); }

  // REQUIRES: allowed() and a record API. The object's definition.
  const storage::ObjectDef& object() const { return *object_; }
  std::shared_ptr<const storage::ObjectDef> object_ptr() const { return object_; }
  // The principal's scope of the object (compiled row filter, visible fields); nullptr
  // when nothing restricts it. Owned by this Decision: valid as long as it lives.
  const storage::RecordScope* scope() const { return scope_.get(); }
  // The principal's rights on the object (a mask of Right), within the scope.
  uint8_t rights() const { return access_->RightsOn(object_name_); }
  // OK when the principal has `right` on the object, else PermissionDenied saying why (for
  // a call whose arguments ask for more than its API's right).
  Status CheckRight(Right right) const { return access_->Check(object_name_, right); }
  // REQUIRES: allowed() and a record API. What this decision lets its principal see of the
  // object, as bytes: the tenants, the path and principal, the object's id, the policy's row
  // filter and field allow-list. Two decisions give equal bytes exactly when they scope the
  // object alike, so something handed out under one scope (a continuation token) can be
  // bound to it.
  std::string ScopeFingerprint() const;

  // The call as the front-end received it (to decide it again: Gate::Write).
  const RecordCall& call() const { return call_; }

  // Permission-set verdicts: of the caller, and through a policy of the policy's user.
  const PermissionDecision& caller_sets() const { return caller_sets_; }
  const PermissionDecision& principal_sets() const { return principal_sets_; }
  bool principal_evaluated() const { return principal_evaluated_; }

 private:
  friend class Gate;
  RecordCall call_;
  User caller_;
  Api api_ = Api::kGetRecord;
  std::string object_name_;
  std::shared_ptr<const Access> access_;
  Status verdict_;
  std::shared_ptr<const storage::ObjectDef> object_;
  std::shared_ptr<const storage::RecordScope> scope_;
  PermissionDecision caller_sets_, principal_sets_;
  bool principal_evaluated_ = false;
};
using DecisionPtr = std::shared_ptr<const Decision>;

// An administrative call as the front-end received it.
struct AdminCall {
  Credential credential;
  Api api = Api::kListTenants;
  TenantId tenant = 0;   // the tenant the call names; 0 = the caller's own
  UserId user = 0;       // the user acted on (user and key calls)
  KeyId key = 0;         // revokeApiKey: the key
  AdminLevel creates = AdminLevel::kUser;  // createUser: the level of the new user
};

// What an allowed administrative call acts on.
struct AdminDecision {
  User caller;
  TenantId target = 0;  // the tenant the call acts on
};

// explain: a call of `user` (0 = the asker) through `api` on `object` in tenant `tenant`
// (0 = that user's own), optionally as if a draft policy or permission set were saved,
// or a permission set removed.
struct ExplainRequest {
  UserId user = 0;
  TenantId tenant = 0;
  std::string api;
  std::string object;
  std::optional<Policy> draft_policy;
  std::optional<PermissionSet> draft_set;
  std::string remove_set;
};

struct Explanation {
  bool allowed = false;
  Status verdict;          // what the call would answer at the decision stage
  std::string path;        // "own", "policy", ..., "admin"
  std::string policy;      // the policy's name on the policy paths
  UserId principal = 0;
  struct Set {
    std::string name;
    UserId user = 0;       // whose sets: the caller's or the policy user's
    std::vector<int> allow, deny;
  };
  std::vector<Set> sets;
  std::string deciding_set;
  int deciding_policy = 0;
  std::string rights;      // "read,update"
  std::string scope;       // "row filter: ...; fields: ..."
  std::vector<std::string> steps;  // the reasoning, rule by rule
};

class Gate {
 public:
  struct Parts {
    storage::Store* store = nullptr;
    Identity* identity = nullptr;
    Sharing* sharing = nullptr;
    PermissionSets* psets = nullptr;
    AuditLog* audit = nullptr;
    Usage* usage = nullptr;
    const Clock* clock = SystemClock();
  };
  // REQUIRES: every part outlives the Gate.
  explicit Gate(const Parts& parts);

  // ---- Record calls ---------------------------------------------------------------
  // Decides `call` from memory only: nullopt when its context is not current in the
  // in-process cache (then call Decide where blocking is allowed). Never blocks.
  std::optional<StatusOr<DecisionPtr>> TryDecide(const RecordCall& call) const;
  // Decides `call`; may read memcached or the store (call it off the event loop).
  // An error Status means no decision could be made (Unauthenticated, Internal); a
  // denial is a Decision whose verdict() is not OK.
  StatusOr<DecisionPtr> Decide(const RecordCall& call) const;
  // Runs the store write of an allowed call under *d. When the write answers that a
  // condition failed (storage::IsConditionFailed: on a shared store another front-end
  // changed, at the same moment, what the decision or the write read), the call is
  // decided again (*d replaced) and, still allowed, written again: up to 25 times, so
  // a change elsewhere costs a retry rather than an error. A denial on the new decision
  // is the answer. Call it where blocking is allowed.
  Status Write(DecisionPtr* d, const std::function<Status(const Decision&)>& write) const;
  // Counts a decided call (allowed or not) for the caller's tenant. Call it once per
  // decision, as soon as it is made.
  void Count(const Decision& d) const;
  // Records what became of a call through a TenantContext: it is audited in both tenants
  // (allowed or denied) and, when it succeeded, metered as served by the target and
  // consumed by the caller. Opening a context (kRecords) is audited only when refused.
  // Does nothing for an own-tenant call, so callers may skip it for those.
  void Record(const Decision& d, uint64_t record_id, Status::Code outcome) const;
  // Records a call through a TenantContext that its caller cancelled before the answer
  // (a search abandoned part-way): audited in both tenants with the outcome "Cancelled",
  // not metered. Never throws.
  void RecordCancelled(const Decision& d, uint64_t record_id) const noexcept;

  // ---- Administrative calls -------------------------------------------------------
  // Decides an administrative call; may read the store. PermissionDenied naming the
  // rule, InvalidArgument for a call no one may make (a user deleting itself).
  StatusOr<AdminDecision> DecideAdmin(const AdminCall& call) const;
  // The permission sets `caller` may list: all of them for a system admin; for anyone
  // else only the sets that apply to its tenant, each showing no other tenant and no
  // user of another tenant. May block (user lookups).
  std::vector<PermissionSet> VisiblePermissionSets(const User& caller) const;
  // Audits an administrative change in `tenant`'s log (and the caller's).
  void RecordChange(const User& caller, TenantId tenant, Api api, const std::string& what,
                    const std::string& detail) const;

  // ---- explain and simulate -------------------------------------------------------
  // The decision of the call `req` describes, with the reasoning kept. The asker may
  // explain its own calls, a tenant admin those of its tenant's users, a system admin
  // anyone's; drafts of permission sets need a system admin. May block.
  StatusOr<Explanation> Explain(const Credential& asker, const ExplainRequest& req) const;

  const Clock* clock() const { return parts_.clock; }

  // ---- Several front-ends of one store ----------------------------------------------
  // On a shared store (Store::shared), other front-ends change users, keys, roles,
  // policies, permission sets and the catalog under this process. Before a decision the
  // gate reads, in one round trip, the generations it rests on (the installation's, the
  // caller's tenant's, the target tenant's, and the permission sets' version), brings
  // what this process keeps up to them (Sharing::Observe, PermissionSets::Observe), and
  // makes every write of the decided call conditional on them: a write decided before a
  // revocation on another front-end returned cannot land after it (it answers Busy and
  // the call is sent again). Does nothing on a store this process holds alone.
  // `conditions` (may be null) receives the generations as write conditions.
  Status Observe(TenantId caller_tenant, TenantId target,
                 std::vector<storage::RecordScope::Condition>* conditions) const;

 private:
  using Evaluator = std::function<PermissionDecision(const AccessRequest&)>;
  void Audit(const Decision& d, uint64_t record_id, std::string_view outcome) const;
  // Steps 3 to 5 once the context is resolved.
  std::shared_ptr<Decision> Finish(const User& caller, const RecordCall& call,
                                   std::shared_ptr<const Access> access,
                                   const Evaluator& evaluate) const;
  Status AuthorizeAdmin(const User& caller, Api api, TenantId target, const Evaluator& evaluate,
                        PermissionDecision* trace) const;
  // `outsider`: the asker is on the designated side (it sees no publisher internals).
  Status ExplainRecord(const User& subject, Api api, TenantId target, const ExplainRequest& req,
                       const Evaluator& evaluate, bool outsider, Explanation* out) const;

  Parts parts_;
};

// The right a record API needs.
Right RightOf(Api api);
// The permission-set request of a call (records/<object> or admin/<thing>).
AccessRequest RequestOf(Api api, UserId user, TenantId tenant, std::string_view object);
// "Access Denied: user 12 may not DELETE records/Customers in tenant 7: denied by ...".
Status PermissionSetDenial(const AccessRequest& r, const PermissionDecision& d);

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_GATE_H_
