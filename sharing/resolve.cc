// Resolving a TenantContext: cache tiers, then the store, in the documented order.

#include "sharing/sharing_internal.h"

namespace cotenant::sharing {

using namespace internal;  // NOLINT: this layer's own helpers

// ---- Resolution ---------------------------------------------------------------------------

Status Sharing::ManagedBy(TenantId tenant, TenantId provider, bool* managed) {
  *managed = false;
  storage::TenantInfo t;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &t));
  if (t.provider == 0) return Status::OK();
  if (t.provider == provider) {
    *managed = true;
    return Status::OK();
  }
  // An ISV manages its MSPs' tenants too; a deleted provider breaks the chain.
  storage::TenantInfo mid;
  Status s = store_->GetTenant(t.provider, &mid);
  if (s.IsNotFound()) return Status::OK();
  COTENANT_RETURN_IF_ERROR(s);
  *managed = mid.kind == storage::TenantKind::kMsp && mid.provider == provider;
  return Status::OK();
}

Status Sharing::ResolveFromStore(TenantId caller_tenant, UserId caller, TenantId target,
                                 Access* a, const Policy* draft) {
  a->caller_tenant = caller_tenant;
  a->caller = caller;
  a->target = target;
  if (target == caller_tenant) {
    a->path = Path::kOwn;
    a->principal = caller;
    bool any = false;
    return RolesOf(target, caller, false, &a->rights, &any);
  }
  a->path = Path::kDenied;
  a->denial = DenyNoPolicy(target, caller_tenant);
  storage::TenantInfo t;
  Status s = store_->GetTenant(target, &t);
  if (s.IsNotFound()) return Status::OK();
  COTENANT_RETURN_IF_ERROR(s);
  int64_t now = clock_->NowMicros();
  // (a) cross-tenant role membership.
  if (CrossTenantRolesEnabled()) {
    bool any = false;
    RightsMap rights;
    COTENANT_RETURN_IF_ERROR(RolesOf(target, caller, true, &rights, &any));
    if (any) {
      a->path = Path::kCrossTenantRole;
      a->principal = caller;
      a->rights = std::move(rights);
      return Status::OK();
    }
  }
  // (b) a policy designating the caller's tenant; (c) the global policy.
  auto admit = [&](const Policy& p, Path path) -> Status {
    a->path = path;
    a->policy = p.name;
    a->principal = p.user;
    a->expires_at = p.expires_at;
    User u;
    Status us = identity_->GetUser(target, p.user, &u);
    if (us.IsNotFound()) {
      // The policy's user is gone: the policy admits nobody. The caller's side gets the
      // answer of no policy at all (the publisher's users are not its business); the
      // publisher finds such a policy with `cotenant lint`.
      a->path = Path::kDenied;
      a->denial = DenyNoPolicy(target, caller_tenant);
      return Status::OK();
    }
    COTENANT_RETURN_IF_ERROR(us);
    bool any = false;
    COTENANT_RETURN_IF_ERROR(RolesOf(target, p.user, false, &a->rights, &any));
    if (!any) {
      // A policy whose user lost its roles admits nobody.
      a->path = Path::kDenied;
      a->rights.clear();
      a->denial = DenyNoPolicy(target, caller_tenant);  // as above
      return Status::OK();
    }
    a->scoped = !p.scope.empty();
    for (const auto& os : p.scope) a->scope.emplace(os.object, os);
    return Status::OK();
  };
  // A draft (simulation) takes the place of the stored policy it would replace.
  auto stored = [&](const std::string& slot_key, bool global, std::optional<Policy>* out) -> Status {
    if (draft != nullptr && draft->global == global &&
        (global || draft->designated == caller_tenant)) {
      *out = *draft;
      return Status::OK();
    }
    std::string name;
    Status ms = store_->MetaGet(target, slot_key, &name);
    if (ms.IsNotFound()) return Status::OK();
    COTENANT_RETURN_IF_ERROR(ms);
    Policy p;
    COTENANT_RETURN_IF_ERROR(LoadPolicy(target, name, &p));
    if (draft != nullptr && draft->name == p.name) return Status::OK();  // replaced elsewhere
    *out = std::move(p);
    return Status::OK();
  };
  std::optional<Policy> specific, global;
  COTENANT_RETURN_IF_ERROR(stored("policyfor/" + Hex(caller_tenant), false, &specific));
  if (specific && !specific->dormant && (specific->expires_at == 0 || specific->expires_at > now)) {
    return admit(*specific, Path::kPolicy);
  }
  COTENANT_RETURN_IF_ERROR(stored("policyglobal", true, &global));
  if (global && (global->expires_at == 0 || global->expires_at > now)) {
    bool managed = false;
    COTENANT_RETURN_IF_ERROR(ManagedBy(caller_tenant, target, &managed));
    if (managed) return admit(*global, Path::kGlobalPolicy);
  }
  return Status::OK();
}

Status Sharing::ResolveDraft(TenantId caller_tenant, UserId caller, TenantId target,
                            const Policy& draft, std::shared_ptr<const Access>* out) {
  Policy p = draft;
  p.publisher = target;
  if (p.global) p.designated = 0;
  COTENANT_RETURN_IF_ERROR(ValidatePolicy(target, p));
  auto a = std::make_shared<Access>();
  COTENANT_RETURN_IF_ERROR(ResolveFromStore(caller_tenant, caller, target, a.get(), &p));
  *out = std::move(a);
  return Status::OK();
}

std::shared_ptr<const Access> Sharing::LookupCached(TenantId caller_tenant, UserId caller,
                                                    TenantId target) {
  Stamp stamp = CurrentStamp(caller_tenant, target);
  CachedValue v = cache_->GetLocal(ContextKey{caller_tenant, caller, target}, stamp,
                                   clock_->NowMicros());
  return std::static_pointer_cast<const Access>(v);
}

Status Sharing::Resolve(TenantId caller_tenant, UserId caller, TenantId target,
                        std::shared_ptr<const Access>* out) {
  // The stamp is read before anything else: a change that lands while we resolve makes
  // what we cache stale, never current.
  Stamp stamp = CurrentStamp(caller_tenant, target);
  ContextKey key{caller_tenant, caller, target};
  int64_t now = clock_->NowMicros();
  if (auto v = cache_->GetLocal(key, stamp, now)) {
    *out = std::static_pointer_cast<const Access>(v);
    return Status::OK();
  }
  if (auto bytes = cache_->GetRemote(key, stamp, now)) {
    auto a = std::make_shared<Access>();
    if (Access::Deserialize(*bytes, a.get()).ok() && a->caller_tenant == caller_tenant &&
        a->caller == caller && a->target == target) {
      cache_->PutLocal(key, stamp, a->expires_at, a);
      *out = std::move(a);
      return Status::OK();
    }
  }
  cache_->CountMiss();
  auto a = std::make_shared<Access>();
  COTENANT_RETURN_IF_ERROR(ResolveFromStore(caller_tenant, caller, target, a.get()));
  cache_->PutLocal(key, stamp, a->expires_at, a);
  cache_->PutRemote(key, stamp, a->expires_at, a->Serialize());
  *out = std::move(a);
  return Status::OK();
}

}  // namespace cotenant::sharing
