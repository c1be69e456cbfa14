// wire::Admin, part three: permission sets, their lint, and explain (with simulate's drafts).
// The gate decides each call (AdminImpl::Run) and computes explanations.

#include <set>

#include "rpc/serve.h"

namespace cotenant::rpc {

using storage::TenantId;
using storage::UserId;

namespace {

// Users and tenants a permission set names must exist.
Status CheckSetMembers(const ServiceContext& ctx, const sharing::PermissionSet& set) {
  for (UserId u : set.users) {
    sharing::User user;
    Status s = ctx.identity->FindUser(u, &user);
    if (s.IsNotFound()) return Status::NotFound("permission set '" + set.name + "' names unknown user " + std::to_string(u));
    COTENANT_RETURN_IF_ERROR(s);
  }
  for (TenantId t : set.tenants) {
    storage::TenantInfo info;
    Status s = ctx.store->GetTenant(t, &info);
    if (s.IsNotFound()) return Status::NotFound("permission set '" + set.name + "' names unknown tenant " + std::to_string(t));
    COTENANT_RETURN_IF_ERROR(s);
  }
  return Status::OK();
}

}  // namespace

template <typename Context>
kj::Promise<void> AdminImpl::WritePermissionSet(Api api, Context context, bool create) {
  Args args(ctx_.limits);
  sharing::PermissionSet set;
  args.Take(FromWire(context.getParams().getSet(), ctx_.limits, &set));
  const ServiceContext& ctx = ctx_;
  return Run<AdminOut>(
      Call(api), args.status(),
      [&ctx, set, create](const sharing::AdminDecision&) {
        AdminOut o;
        o.status = CheckSetMembers(ctx, set);
        if (o.status.ok()) o.status = create ? ctx.psets->Create(set) : ctx.psets->Update(set);
        o.what = "permission set " + set.name;
        o.detail = std::to_string(set.policies.size()) + " policies";
        return o;
      },
      [](AdminOut&) {});
}

kj::Promise<void> AdminImpl::createPermissionSet(CreatePermissionSetContext context) {
  return Serve(ctx_, Api::kCreatePermissionSet,
               [&]() { return WritePermissionSet(Api::kCreatePermissionSet, context, true); });
}

kj::Promise<void> AdminImpl::updatePermissionSet(UpdatePermissionSetContext context) {
  return Serve(ctx_, Api::kUpdatePermissionSet,
               [&]() { return WritePermissionSet(Api::kUpdatePermissionSet, context, false); });
}

kj::Promise<void> AdminImpl::deletePermissionSet(DeletePermissionSetContext context) {
  return Serve(ctx_, Api::kDeletePermissionSet, [&]() -> kj::Promise<void> {
    Args args(ctx_.limits);
    std::string name;
    args.Name(context.getParams().getName(), "permission set name", &name);
    sharing::PermissionSets* psets = ctx_.psets;
    return Run<AdminOut>(
        Call(Api::kDeletePermissionSet), args.status(),
        [psets, name](const sharing::AdminDecision&) {
          AdminOut o;
          o.status = psets->Delete(name);
          o.what = "permission set " + name;
          o.detail = "deleted";
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::listPermissionSets(ListPermissionSetsContext context) {
  return Serve(ctx_, Api::kListPermissionSets, [&]() -> kj::Promise<void> {
    struct Out : AdminOut {
      std::vector<sharing::PermissionSet> sets;
    };
    const sharing::Gate* gate = ctx_.gate;
    return Run<Out>(
        Call(Api::kListPermissionSets), Status::OK(),
        [gate](const sharing::AdminDecision& d) {
          Out o;
          o.sets = gate->VisiblePermissionSets(d.caller);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initSets(static_cast<unsigned>(o.sets.size()));
          for (unsigned i = 0; i < o.sets.size(); ++i) ToWire(o.sets[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::lintPermissionSets(LintPermissionSetsContext context) {
  return Serve(ctx_, Api::kLintPermissionSets, [&]() -> kj::Promise<void> {
    struct Out : AdminOut {
      std::vector<sharing::LintFinding> findings;
    };
    const sharing::Gate* gate = ctx_.gate;
    storage::Store* store = ctx_.store;
    sharing::Identity* identity = ctx_.identity;
    return Run<Out>(
        Call(Api::kLintPermissionSets), Status::OK(),
        [gate, store, identity](const sharing::AdminDecision& d) {
          // The sets the caller may list, against the objects it may see: every tenant's
          // for a system admin (the first 1000 names), its own tenant's otherwise.
          constexpr size_t kMaxObjects = 1000;
          sharing::LintInputs in;
          in.sets = gate->VisiblePermissionSets(d.caller);
          std::set<std::string> names;
          std::vector<storage::TenantId> tenants;
          if (d.caller.level == sharing::AdminLevel::kSystemAdmin) {
            for (const auto& t : store->ListTenants()) tenants.push_back(t.id);
          } else {
            tenants.push_back(d.caller.tenant);
          }
          for (storage::TenantId t : tenants) {
            std::vector<storage::ObjectDef> objects;
            if (!store->ListObjects(t, &objects).ok()) continue;
            for (const auto& o : objects) {
              if (names.size() < kMaxObjects) names.insert(o.name);
            }
          }
          in.objects.assign(names.begin(), names.end());
          in.user_exists = [identity](storage::UserId u) {
            sharing::User found;
            return identity->FindUser(u, &found).ok();
          };
          in.tenant_exists = [store](storage::TenantId t) {
            storage::TenantInfo info;
            return store->GetTenant(t, &info).ok();
          };
          Out o;
          o.findings = sharing::LintPermissionSets(in);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initFindings(static_cast<unsigned>(o.findings.size()));
          for (unsigned i = 0; i < o.findings.size(); ++i) ToWire(o.findings[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::explain(ExplainContext context) {
  return Serve(ctx_, Api::kExplain, [&]() -> kj::Promise<void> {
    auto r = context.getParams().getRequest();
    Args args(ctx_.limits);
    sharing::ExplainRequest req;
    args.Name(r.getApi(), "api", &req.api);
    args.Name(r.getObject(), "object name", &req.object);
    args.Name(r.getRemovePermissionSet(), "permission set name", &req.remove_set);
    if (r.hasDraftPolicy()) {
      sharing::Policy p;
      args.Take(FromWire(r.getDraftPolicy(), ctx_.limits, &p));
      req.draft_policy = std::move(p);
    }
    if (r.hasDraftPermissionSet()) {
      sharing::PermissionSet set;
      args.Take(FromWire(r.getDraftPermissionSet(), ctx_.limits, &set));
      req.draft_set = std::move(set);
    }
    req.user = r.getUserId();
    req.tenant = r.getTenantId();
    struct Out : AdminOut {
      sharing::Explanation e;
    };
    const sharing::Gate* gate = ctx_.gate;
    sharing::Credential cred = session_->credential;
    return Run<Out>(
        Call(Api::kExplain), args.status(),
        [gate, cred, req = std::move(req)](const sharing::AdminDecision&) {
          Out o;
          auto e = gate->Explain(cred, req);
          if (e.ok()) o.e = std::move(e).value();
          else o.status = e.status();
          return o;
        },
        [context](Out& out) mutable {
          const sharing::Explanation& o = out.e;
          auto e = context.getResults().initExplanation();
          e.setAllowed(o.allowed);
          e.setCode(std::string(o.verdict.code_name()));
          // An internal verdict's detail stays in the log, in the steps as in the message.
          const Status shown = ForClient(o.verdict);
          e.setMessage(shown.message());
          e.setContextPath(o.path);
          e.setPolicy(o.policy);
          e.setPrincipal(o.principal);
          auto sets = e.initPermissionSets(static_cast<unsigned>(o.sets.size()));
          for (unsigned i = 0; i < o.sets.size(); ++i) {
            sets[i].setName(o.sets[i].name);
            sets[i].setForUser(o.sets[i].user);
            auto a = sets[i].initMatchedAllow(static_cast<unsigned>(o.sets[i].allow.size()));
            for (unsigned j = 0; j < o.sets[i].allow.size(); ++j) a.set(j, static_cast<uint32_t>(o.sets[i].allow[j]));
            auto d = sets[i].initMatchedDeny(static_cast<unsigned>(o.sets[i].deny.size()));
            for (unsigned j = 0; j < o.sets[i].deny.size(); ++j) d.set(j, static_cast<uint32_t>(o.sets[i].deny[j]));
          }
          e.setDecidingSet(o.deciding_set);
          e.setDecidingPolicy(static_cast<uint32_t>(o.deciding_policy));
          e.setRoleRights(o.rights);
          e.setScope(o.scope);
          auto steps = e.initSteps(static_cast<unsigned>(o.steps.size()));
          for (unsigned i = 0; i < o.steps.size(); ++i) {
            const bool detail = !o.verdict.ok() && o.steps[i] == o.verdict.message();
            steps.set(i, detail ? shown.message() : o.steps[i]);
          }
        });
  });
}

}  // namespace cotenant::rpc
