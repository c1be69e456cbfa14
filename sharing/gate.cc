// The gate: record and administrative calls decided in one place (sharing/gate.h).

#include "sharing/gate.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "storage/kv.h"

namespace cotenant::sharing {
namespace {

std::string Describe(const User& u) {
  return "user " + std::to_string(u.id) + " of tenant " + std::to_string(u.tenant);
}

Status NeedsLevel(const User& caller, AdminLevel level, std::string_view what) {
  return Status::PermissionDenied(
      "Access Denied: " + Describe(caller) + " may not " + std::string(what) + ": it needs " +
      (level == AdminLevel::kSystemAdmin ? "a system admin" : "a tenant admin or system admin"));
}

}  // namespace

Right RightOf(Api api) {
  switch (api) {
    case Api::kAddRecord:
    case Api::kAddRecords:
    case Api::kImportRecords:
    case Api::kFinishImport:
    case Api::kBeginPhysicalImport:
    case Api::kUpsertRecord: return kAdd;  // and kUpdate: see Gate::Decide
    case Api::kUpdateRecord:
    case Api::kUpdateRecordBy: return kUpdate;
    case Api::kDeleteRecord:
    case Api::kDeleteRecordBy: return kDelete;
    default: return kRead;
  }
}

AccessRequest RequestOf(Api api, UserId user, TenantId tenant, std::string_view object) {
  ApiAccess acc = AccessOf(api);
  std::string resource(acc.resource);
  if (resource == "records") resource += "/" + std::string(object);
  return AccessRequest{user, tenant, std::move(resource), std::string(ApiName(api)),
                       std::string(acc.method)};
}

Status PermissionSetDenial(const AccessRequest& r, const PermissionDecision& d) {
  return Status::PermissionDenied("Access Denied: user " + std::to_string(r.user) + " may not " +
                                  r.method + " " + r.resource_type + " in tenant " +
                                  std::to_string(r.tenant) + ": " + d.Reason());
}

Gate::Gate(const Parts& parts) : parts_(parts) {}

// ---- Record calls ------------------------------------------------------------------------

std::shared_ptr<Decision> Gate::Finish(const User& caller, const RecordCall& call,
                                       std::shared_ptr<const Access> access,
                                       const Evaluator& evaluate) const {
  auto d = std::make_shared<Decision>();
  d->call_ = call;
  d->caller_ = caller;
  d->api_ = call.api;
  d->object_name_ = call.object;
  d->access_ = std::move(access);
  const Access& a = *d->access_;
  // 2. The context.
  if (a.path == Path::kDenied) {
    d->verdict_ = Status::PermissionDenied(a.denial);
    return d;
  }
  if (call.api == Api::kRecords) return d;  // opening a context: nothing more to decide
  // 3. Permission sets of the caller, and through a policy also of the policy's user:
  // the designated tenant may do what that user may do, no more.
  AccessRequest req = RequestOf(call.api, caller.id, a.target, call.object);
  d->caller_sets_ = evaluate(req);
  if (!d->caller_sets_.allowed) {
    d->verdict_ = PermissionSetDenial(req, d->caller_sets_);
    return d;
  }
  if (a.principal != caller.id) {
    req.user = a.principal;
    d->principal_sets_ = evaluate(req);
    d->principal_evaluated_ = true;
    if (!d->principal_sets_.allowed) {
      d->verdict_ = PermissionSetDenial(req, d->principal_sets_);
      return d;
    }
  }
  // 4. Role rights within the scope's objects; so no right answers PermissionDenied even
  // for an object that does not exist.
  d->verdict_ = a.Check(call.object, RightOf(call.api));
  // An object's fields are shown to whoever may read or add its records (a loader that
  // may only add needs them as much as a reader).
  if (!d->verdict_.ok() && call.api == Api::kDescribeObject && a.Check(call.object, kAdd).ok()) {
    d->verdict_ = Status::OK();
  }
  // An upsert adds or updates, as the record it names exists or not: it needs both.
  if (d->verdict_.ok() && call.api == Api::kUpsertRecord) d->verdict_ = a.Check(call.object, kUpdate);
  if (!d->verdict_.ok()) return d;
  // 5. The object exists (the catalog is in memory), and the principal's scope of it.
  d->verdict_ = parts_.store->GetObject(a.target, call.object, &d->object_);
  if (d->verdict_.ok()) d->verdict_ = a.ScopeFor(*d->object_, &d->scope_);
  return d;
}

std::string Decision::ScopeFingerprint() const {
  // Length-prefixed parts, so no two different scopes give the same bytes.
  std::string out;
  auto part = [&out](std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out.append(v);
  };
  const Access& a = *access_;
  part(std::to_string(a.caller_tenant));
  part(std::to_string(a.caller));
  part(std::to_string(a.target));
  part(PathName(a.path));
  part(std::to_string(a.principal));
  part(a.policy);
  part(std::to_string(object_->id));
  part(object_->name);
  auto it = a.scoped ? a.scope.find(object_->name) : a.scope.end();
  if (it == a.scope.end()) {
    part("unscoped");
  } else {
    part(it->second.row_filter);
    part(std::to_string(it->second.fields.size()));
    for (const auto& f : it->second.fields) part(f);
  }
  return out;
}

Status Gate::Observe(TenantId caller_tenant, TenantId target,
                     std::vector<storage::RecordScope::Condition>* conditions) const {
  if (!parts_.store->shared()) return Status::OK();
  std::vector<std::pair<TenantId, std::string>> keys = {
      {storage::kGlobalTenant, "gen"},
      {storage::kGlobalTenant, std::string(PermissionSets::kGenKey)},
      {caller_tenant, "gen"}};
  if (target != caller_tenant) keys.emplace_back(target, "gen");
  std::vector<std::optional<std::string>> stored;
  COTENANT_RETURN_IF_ERROR(parts_.store->MetaMultiGet(keys, &stored));
  COTENANT_RETURN_IF_ERROR(parts_.psets->Observe(stored[1]));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i != 1) parts_.sharing->Observe(keys[i].first, stored[i]);
  }
  if (conditions != nullptr) {
    for (size_t i = 0; i < keys.size(); ++i) {
      conditions->push_back(
          storage::RecordScope::Condition{keys[i].first, keys[i].second, std::move(stored[i])});
    }
  }
  return Status::OK();
}

namespace {
// The decision's scope with the write conditions of a shared store added. The copy
// keeps the original alive: its row filter is owned there.
std::shared_ptr<const storage::RecordScope> WithConditions(
    std::shared_ptr<const storage::RecordScope> base,
    std::vector<storage::RecordScope::Condition> conditions) {
  struct Conditioned {
    std::shared_ptr<const storage::RecordScope> base;
    storage::RecordScope scope;
  };
  auto c = std::make_shared<Conditioned>();
  if (base != nullptr) c->scope = *base;
  c->base = std::move(base);
  c->scope.conditions = std::move(conditions);
  return std::shared_ptr<const storage::RecordScope>(c, &c->scope);
}
}  // namespace

std::optional<StatusOr<DecisionPtr>> Gate::TryDecide(const RecordCall& call) const {
  // On a shared store nothing in memory alone is known to be current.
  if (parts_.store->shared()) return std::nullopt;
  User caller;
  Status s = parts_.identity->Check(call.credential, &caller);
  if (!s.ok()) return StatusOr<DecisionPtr>(std::move(s));
  TenantId target = call.context.value_or(0) != 0 ? *call.context : caller.tenant;
  auto access = parts_.sharing->LookupCached(caller.tenant, caller.id, target);
  if (!access) return std::nullopt;
  const PermissionSets* psets = parts_.psets;
  return StatusOr<DecisionPtr>(Finish(caller, call, std::move(access), [psets](const AccessRequest& r) {
    return psets->Evaluate(r);
  }));
}

StatusOr<DecisionPtr> Gate::Decide(const RecordCall& call) const {
  std::vector<storage::RecordScope::Condition> conditions;
  {
    TenantId home = call.credential.tenant;
    COTENANT_RETURN_IF_ERROR(Observe(home, call.context.value_or(0) != 0 ? *call.context : home,
                                     &conditions));
  }
  User caller;
  COTENANT_RETURN_IF_ERROR(parts_.identity->Check(call.credential, &caller));
  TenantId target = call.context.value_or(0) != 0 ? *call.context : caller.tenant;
  std::shared_ptr<const Access> access;
  COTENANT_RETURN_IF_ERROR(parts_.sharing->Resolve(caller.tenant, caller.id, target, &access));
  const PermissionSets* psets = parts_.psets;
  std::shared_ptr<Decision> d = Finish(caller, call, std::move(access),
                                       [psets](const AccessRequest& r) { return psets->Evaluate(r); });
  if (!conditions.empty() && d->allowed() && d->object_ != nullptr) {
    d->scope_ = WithConditions(std::move(d->scope_), std::move(conditions));
  }
  return DecisionPtr(std::move(d));
}

Status Gate::Write(DecisionPtr* d, const std::function<Status(const Decision&)>& write) const {
  // A tenant whose settings change without pause (a script creating roles in a loop) can
  // move a generation between many decisions and their writes: the later attempts leave
  // it a moment.
  constexpr int kAttempts = 25;
  for (int attempt = 1;; ++attempt) {
    Status s = write(**d);
    if (!storage::IsConditionFailed(s) || attempt == kAttempts) return s;
    if (attempt > 5) std::this_thread::sleep_for(std::chrono::milliseconds(attempt - 5));
    StatusOr<DecisionPtr> again = Decide((*d)->call());
    COTENANT_RETURN_IF_ERROR(again.status());
    if (!(*again)->allowed()) return (*again)->verdict();
    *d = std::move(again).value();
  }
}

void Gate::Count(const Decision& d) const {
  parts_.usage->CountCall(d.caller().tenant, static_cast<size_t>(d.api()));
}

void Gate::Record(const Decision& d, uint64_t record_id, Status::Code outcome) const {
  if (!d.cross_tenant()) return;
  // Opening a context touches no data: only a refusal is audited.
  if (d.api() == Api::kRecords && outcome == Status::Code::kOk) return;
  Audit(d, record_id, Status::CodeName(outcome));
  const Access& a = d.access();
  if (outcome == Status::Code::kOk && a.path != Path::kDenied) {
    parts_.usage->CountCrossTenant(a.target, d.caller().tenant);
  }
}

void Gate::RecordCancelled(const Decision& d, uint64_t record_id) const noexcept {
  if (!d.cross_tenant()) return;
  try {
    Audit(d, record_id, "Cancelled");
  } catch (const std::exception& e) {
    spdlog::warn("cannot audit a cancelled call: {}", e.what());
  }
}

void Gate::Audit(const Decision& d, uint64_t record_id, std::string_view outcome) const {
  const Access& a = d.access();
  AuditRecord r;
  r.time = parts_.clock->NowMicros();
  r.caller_tenant = d.caller().tenant;
  r.caller_user = d.caller().id;
  r.principal = a.principal;
  r.target_tenant = a.target;
  r.api = std::string(ApiName(d.api()));
  r.object = d.object_name();
  r.record_id = record_id;
  r.outcome = std::string(outcome);
  r.detail = a.Describe();
  parts_.audit->Record(r, a.target, d.caller().tenant);
}

// ---- Administrative calls ----------------------------------------------------------------

Status Gate::AuthorizeAdmin(const User& caller, Api api, TenantId target, const Evaluator& evaluate,
                            PermissionDecision* trace) const {
  const AdminRule& rule = AdminRuleOf(api);
  // A system-admin call is refused for its level first: nothing else could admit it.
  if (rule.level == AdminLevel::kSystemAdmin && caller.level < rule.level) {
    return NeedsLevel(caller, rule.level, rule.what);
  }
  // Only a system admin names another tenant; the answer does not depend on whether that
  // tenant exists.
  if (target != caller.tenant && caller.level != AdminLevel::kSystemAdmin) {
    return Status::PermissionDenied("Access Denied: " + Describe(caller) + " may not " +
                                    std::string(rule.what) + " in tenant " + std::to_string(target) +
                                    ": only a system admin may name another tenant");
  }
  // Permission sets; a system admin's administrative calls are exempt, so no set can
  // lock the system out.
  if (caller.level != AdminLevel::kSystemAdmin) {
    AccessRequest req = RequestOf(api, caller.id, target, "");
    PermissionDecision d = evaluate(req);
    bool allowed = d.allowed;
    if (trace != nullptr) *trace = std::move(d);
    if (!allowed) return PermissionSetDenial(req, trace != nullptr ? *trace : evaluate(req));
  }
  return Status::OK();
}

StatusOr<AdminDecision> Gate::DecideAdmin(const AdminCall& call) const {
  AdminDecision out;
  COTENANT_RETURN_IF_ERROR(Observe(call.credential.tenant,
                                   call.tenant != 0 ? call.tenant : call.credential.tenant,
                                   nullptr));
  COTENANT_RETURN_IF_ERROR(parts_.identity->Check(call.credential, &out.caller));
  const User& caller = out.caller;
  const AdminRule& rule = AdminRuleOf(call.api);
  out.target = rule.names_tenant && call.tenant != 0 ? call.tenant : caller.tenant;
  const PermissionSets* psets = parts_.psets;
  COTENANT_RETURN_IF_ERROR(AuthorizeAdmin(
      caller, call.api, out.target, [psets](const AccessRequest& r) { return psets->Evaluate(r); },
      nullptr));
  if (!rule.acts_on_user) {
    if (caller.level < rule.level) return NeedsLevel(caller, rule.level, rule.what);
    if (call.api == Api::kCreateUser && call.creates == AdminLevel::kSystemAdmin &&
        caller.level != AdminLevel::kSystemAdmin) {
      return NeedsLevel(caller, AdminLevel::kSystemAdmin, "create system admins");
    }
    return out;
  }
  // Calls on a user or its keys. Whose key is it?
  TenantId user_tenant = out.target;
  UserId user = call.user;
  if (call.api == Api::kRevokeApiKey) {
    Status s = parts_.identity->KeyOwner(call.key, &user_tenant, &user);
    if (s.IsNotFound() || (s.ok() && user_tenant != out.target)) {
      // A plain user learns nothing about keys that are not its own.
      if (caller.level < AdminLevel::kTenantAdmin) {
        return Status::PermissionDenied("Access Denied: " + Describe(caller) +
                                        " may only revoke its own keys");
      }
      return out;  // revoking it answers NotFound in this tenant
    }
    COTENANT_RETURN_IF_ERROR(s);
  }
  bool self = user == caller.id && user_tenant == caller.tenant;
  if (call.api == Api::kDeleteUser && self) {
    return Status::InvalidArgument("a user cannot delete itself");
  }
  if (rule.self_service && self) return out;
  if (caller.level < AdminLevel::kTenantAdmin) {
    if (call.api == Api::kRevokeApiKey) {
      return Status::PermissionDenied("Access Denied: " + Describe(caller) +
                                      " may only revoke its own keys");
    }
    return NeedsLevel(caller, AdminLevel::kTenantAdmin, rule.what);
  }
  if (caller.level == AdminLevel::kSystemAdmin) return out;
  // A tenant admin never acts on a system admin, nor on its keys.
  User subject;
  Status s = parts_.identity->GetUser(user_tenant, user, &subject);
  if (s.ok() && subject.level == AdminLevel::kSystemAdmin) {
    return Status::PermissionDenied("Access Denied: " + Describe(caller) + " may not " +
                                    std::string(rule.what) + " of a system admin");
  }
  return out;
}

std::vector<PermissionSet> Gate::VisiblePermissionSets(const User& caller) const {
  std::vector<PermissionSet> sets = parts_.psets->List();
  if (caller.level == AdminLevel::kSystemAdmin) return sets;
  std::vector<PermissionSet> out;
  for (auto& set : sets) {
    if (!set.all_tenants &&
        std::find(set.tenants.begin(), set.tenants.end(), caller.tenant) == set.tenants.end()) {
      continue;  // does not apply to the caller's tenant: not its business
    }
    if (!set.all_tenants) set.tenants = {caller.tenant};
    std::erase_if(set.users, [&](UserId u) {
      User found;
      return !parts_.identity->FindUser(u, &found).ok() || found.tenant != caller.tenant;
    });
    // A user-scope set whose users are all elsewhere does not apply to this tenant.
    if (!set.system_scope && set.users.empty()) continue;
    out.push_back(std::move(set));
  }
  return out;
}

void Gate::RecordChange(const User& caller, TenantId tenant, Api api, const std::string& what,
                        const std::string& detail) const {
  AuditRecord r;
  r.time = parts_.clock->NowMicros();
  r.caller_tenant = caller.tenant;
  r.caller_user = caller.id;
  r.principal = caller.id;
  r.target_tenant = tenant;
  r.api = std::string(ApiName(api));
  r.object = what;
  r.outcome = "OK";
  r.detail = detail;
  parts_.audit->Record(r, tenant, caller.tenant);
}

}  // namespace cotenant::sharing
