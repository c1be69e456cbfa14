// wire::Admin, part two: roles and their members, data-sharing policies, system settings.
// The gate decides each call (AdminImpl::Run); these handlers copy, call and answer.

#include "rpc/serve.h"

namespace cotenant::rpc {

using storage::TenantId;
using storage::UserId;

template <typename Context>
kj::Promise<void> AdminImpl::WriteRole(Api api, Context context, bool create) {
  auto params = context.getParams();
  Args args(ctx_.limits);
  std::string name;
  args.Name(params.getName(), "role name", &name);
  sharing::RightsMap rights;
  args.Take(FromWire(params.getRights(), ctx_.limits, &rights));
  bool cross = params.getCrossTenant();
  struct Out : AdminOut {
    sharing::Role role;
  };
  sharing::Sharing* sharing = ctx_.sharing;
  return Run<Out>(
      Call(api, params.getTenantId()), args.status(),
      [sharing, name, rights, cross, create](const sharing::AdminDecision& d) {
        Out o;
        o.status = create ? sharing->CreateRole(d.target, name, rights, cross, &o.role)
                          : sharing->UpdateRole(d.target, name, rights, cross, &o.role);
        o.what = "role " + name;
        o.detail = create ? "created" : "rights replaced";
        return o;
      },
      [context](Out& o) mutable { ToWire(o.role, context.getResults().initRole()); });
}

kj::Promise<void> AdminImpl::createRole(CreateRoleContext context) {
  return Serve(ctx_, Api::kCreateRole, [&]() { return WriteRole(Api::kCreateRole, context, true); });
}

kj::Promise<void> AdminImpl::updateRole(UpdateRoleContext context) {
  return Serve(ctx_, Api::kUpdateRole, [&]() { return WriteRole(Api::kUpdateRole, context, false); });
}

template <typename Context>
kj::Promise<void> AdminImpl::DeleteNamed(Api api, Context context, const char* noun,
                                         Status (sharing::Sharing::*del)(TenantId,
                                                                         const std::string&)) {
  auto params = context.getParams();
  Args args(ctx_.limits);
  std::string name;
  args.Name(params.getName(), std::string(noun) + " name", &name);
  sharing::Sharing* sharing = ctx_.sharing;
  return Run<AdminOut>(
      Call(api, params.getTenantId()), args.status(),
      [sharing, del, what = std::string(noun) + " " + name, name](const sharing::AdminDecision& d) {
        AdminOut o;
        o.status = (sharing->*del)(d.target, name);
        o.what = what;
        o.detail = "deleted";
        return o;
      },
      [](AdminOut&) {});
}

kj::Promise<void> AdminImpl::deleteRole(DeleteRoleContext context) {
  return Serve(ctx_, Api::kDeleteRole, [&]() {
    return DeleteNamed(Api::kDeleteRole, context, "role", &sharing::Sharing::DeleteRole);
  });
}

kj::Promise<void> AdminImpl::listRoles(ListRolesContext context) {
  return Serve(ctx_, Api::kListRoles, [&]() -> kj::Promise<void> {
    struct Out : AdminOut {
      std::vector<sharing::Role> roles;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<Out>(
        Call(Api::kListRoles, context.getParams().getTenantId()), Status::OK(),
        [sharing](const sharing::AdminDecision& d) {
          Out o;
          o.status = sharing->ListRoles(d.target, &o.roles);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initRoles(static_cast<unsigned>(o.roles.size()));
          for (unsigned i = 0; i < o.roles.size(); ++i) ToWire(o.roles[i], list[i]);
        });
  });
}

template <typename Context>
kj::Promise<void> AdminImpl::WriteMember(Api api, Context context, bool add) {
  auto params = context.getParams();
  Args args(ctx_.limits);
  std::string role;
  args.Name(params.getRole(), "role name", &role);
  TenantId member_tenant = params.getMemberTenant();
  UserId user = params.getUserId();
  sharing::Sharing* sharing = ctx_.sharing;
  return Run<AdminOut>(
      Call(api, params.getTenantId()), args.status(),
      [sharing, role, member_tenant, user, add](const sharing::AdminDecision& d) {
        AdminOut o;
        TenantId of = member_tenant == 0 ? d.target : member_tenant;  // 0 = the role's tenant
        o.status = add ? sharing->AddMember(d.target, role, of, user)
                       : sharing->RemoveMember(d.target, role, of, user);
        o.what = "role " + role;
        o.detail = add ? "added user " + std::to_string(user) + " of tenant " + std::to_string(of)
                       : "removed user " + std::to_string(user);
        return o;
      },
      [](AdminOut&) {});
}

kj::Promise<void> AdminImpl::addRoleMember(AddRoleMemberContext context) {
  return Serve(ctx_, Api::kAddRoleMember, [&]() { return WriteMember(Api::kAddRoleMember, context, true); });
}

kj::Promise<void> AdminImpl::removeRoleMember(RemoveRoleMemberContext context) {
  return Serve(ctx_, Api::kRemoveRoleMember,
               [&]() { return WriteMember(Api::kRemoveRoleMember, context, false); });
}

namespace {
struct PolicyOut : AdminOut {
  sharing::Policy policy;
};
}  // namespace

kj::Promise<void> AdminImpl::createPolicy(CreatePolicyContext context) {
  return Serve(ctx_, Api::kCreatePolicy, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    sharing::Policy p;
    args.Take(FromWire(params.getPolicy(), ctx_.limits, &p));
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<PolicyOut>(
        Call(Api::kCreatePolicy, params.getTenantId()), args.status(),
        [sharing, p](const sharing::AdminDecision& d) {
          PolicyOut o;
          o.status = sharing->CreatePolicy(d.target, p, &o.policy);
          o.what = "policy " + p.name;
          o.detail = p.global ? "global, user " + std::to_string(p.user)
                              : "designates tenant " + std::to_string(p.designated) + ", user " +
                                    std::to_string(p.user);
          return o;
        },
        [context](PolicyOut& o) mutable { ToWire(o.policy, context.getResults().initPolicy()); });
  });
}

kj::Promise<void> AdminImpl::updatePolicy(UpdatePolicyContext context) {
  return Serve(ctx_, Api::kUpdatePolicy, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    sharing::Policy p;
    args.Take(FromWire(params.getPolicy(), ctx_.limits, &p));
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<PolicyOut>(
        Call(Api::kUpdatePolicy, params.getTenantId()), args.status(),
        [sharing, p](const sharing::AdminDecision& d) {
          PolicyOut o;
          o.status = sharing->UpdatePolicy(d.target, p, &o.policy);
          o.what = "policy " + p.name;
          o.detail = "user " + std::to_string(p.user);
          return o;
        },
        [context](PolicyOut& o) mutable { ToWire(o.policy, context.getResults().initPolicy()); });
  });
}

kj::Promise<void> AdminImpl::deletePolicy(DeletePolicyContext context) {
  return Serve(ctx_, Api::kDeletePolicy, [&]() {
    return DeleteNamed(Api::kDeletePolicy, context, "policy", &sharing::Sharing::DeletePolicy);
  });
}

kj::Promise<void> AdminImpl::listPolicies(ListPoliciesContext context) {
  return Serve(ctx_, Api::kListPolicies, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    TenantId published_by = params.getPublishedBy();
    TenantId designating = params.getDesignating();
    if ((published_by == 0) == (designating == 0)) {
      ThrowIfError(Status::InvalidArgument("name exactly one of publishedBy and designating"));
    }
    struct Out : AdminOut {
      std::vector<sharing::Policy> policies;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    bool by_publisher = published_by != 0;
    return Run<Out>(
        Call(Api::kListPolicies, by_publisher ? published_by : designating), Status::OK(),
        [sharing, by_publisher](const sharing::AdminDecision& d) {
          Out o;
          o.status = by_publisher ? sharing->ListPublishedBy(d.target, &o.policies)
                                  : sharing->ListDesignating(d.target, &o.policies);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initPolicies(static_cast<unsigned>(o.policies.size()));
          for (unsigned i = 0; i < o.policies.size(); ++i) ToWire(o.policies[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::setSetting(SetSettingContext context) {
  return Serve(ctx_, Api::kSetSetting, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string name, value;
    args.Name(params.getName(), "setting name", &name);
    args.Name(params.getValue(), "setting value", &value);
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<AdminOut>(
        Call(Api::kSetSetting), args.status(),
        [sharing, name, value](const sharing::AdminDecision&) {
          AdminOut o;
          o.status = sharing->SetSetting(name, value);
          o.what = "setting " + name;
          o.detail = "= " + value;
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::listSettings(ListSettingsContext context) {
  return Serve(ctx_, Api::kListSettings, [&]() -> kj::Promise<void> {
    struct Out : AdminOut {
      std::vector<std::pair<std::string, std::string>> settings;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<Out>(
        Call(Api::kListSettings), Status::OK(),
        [sharing](const sharing::AdminDecision&) {
          Out o;
          o.settings = sharing->ListSettings();
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initSettings(static_cast<unsigned>(o.settings.size()));
          for (unsigned i = 0; i < o.settings.size(); ++i) {
            list[i].setName(o.settings[i].first);
            list[i].setValue(o.settings[i].second);
          }
        });
  });
}

}  // namespace cotenant::rpc
