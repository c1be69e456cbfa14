// wire::Admin, part one: tenants, objects, users, API keys, audit and usage.
// The gate decides each call (AdminImpl::Run); these handlers copy, call and answer.

#include <algorithm>

#include "rpc/serve.h"

namespace cotenant::rpc {

using storage::TenantId;
using storage::UserId;

sharing::AdminCall AdminImpl::Call(Api api, TenantId tenant) const {
  sharing::AdminCall call;
  call.credential = session_->credential;
  call.api = api;
  call.tenant = tenant;
  return call;
}

// A list answer: work fills `items` from the decision; fill writes them out.
template <typename T>
struct ListOut : AdminOut {
  std::vector<T> items;
};

kj::Promise<void> AdminImpl::createTenant(CreateTenantContext context) {
  return Serve(ctx_, Api::kCreateTenant, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string name;
    args.Name(params.getName(), "tenant name", &name);
    storage::TenantKind kind = storage::TenantKind::kTenant;
    args.Take(FromWire(params.getKind(), &kind));
    if (kind == storage::TenantKind::kSystem) {
      args.Take(Status::InvalidArgument("tenant kind 'system' is reserved for the tenant created on first start"));
    }
    TenantId provider = params.getProvider();
    struct Out : AdminOut {
      storage::TenantInfo info;
    };
    storage::Store* store = ctx_.store;
    sharing::Sharing* sharing = ctx_.sharing;
    return Run<Out>(
        Call(Api::kCreateTenant), args.status(),
        [store, sharing, name = std::move(name), kind, provider](const sharing::AdminDecision&) {
          Out o;
          o.status = store->CreateTenant(name, kind, provider, &o.info);
          // Other front-ends of a shared store list it from their next call on.
          if (o.status.ok() && store->shared()) o.status = sharing->OnTenantChanged(storage::kGlobalTenant);
          o.what = "tenant " + std::to_string(o.info.id);
          o.detail = "created '" + o.info.name + "'";
          o.audit_tenant = o.info.id;
          return o;
        },
        [context](Out& o) mutable {
          spdlog::info("created tenant {} '{}'", o.info.id, o.info.name);
          ToWire(o.info, context.getResults().initTenant());
        });
  });
}

kj::Promise<void> AdminImpl::listTenants(ListTenantsContext context) {
  return Serve(ctx_, Api::kListTenants, [&]() -> kj::Promise<void> {
    storage::Store* store = ctx_.store;
    using Out = ListOut<storage::TenantInfo>;
    return Run<Out>(
        Call(Api::kListTenants), Status::OK(),
        [store](const sharing::AdminDecision& d) {
          Out o;
          // A system admin sees every tenant; anyone else its own.
          if (d.caller.level == sharing::AdminLevel::kSystemAdmin) {
            o.items = store->ListTenants();
          } else {
            storage::TenantInfo info;
            o.status = store->GetTenant(d.target, &info);
            if (o.status.ok()) o.items.push_back(std::move(info));
          }
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initTenants(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::deleteTenant(DeleteTenantContext context) {
  return Serve(ctx_, Api::kDeleteTenant, [&]() -> kj::Promise<void> {
    const ServiceContext& ctx = ctx_;
    return Run<AdminOut>(
        Call(Api::kDeleteTenant, context.getParams().getTenantId()), Status::OK(),
        [&ctx](const sharing::AdminDecision& d) {
          AdminOut o;
          storage::TenantInfo info;
          o.status = ctx.store->GetTenant(d.target, &info);
          if (o.status.ok() && info.kind == storage::TenantKind::kSystem) {
            o.status = Status::InvalidArgument("the system tenant cannot be deleted");
          }
          if (o.status.ok()) {
            // Lookup entries and policies designating it go, and every context touching
            // it becomes stale: before the tombstone goes, so a crash redoes it.
            TenantId t = d.target;
            o.status = ctx.store->DeleteTenant(t, [&ctx, t] {
              ctx.identity->ForgetTenant(t);
              return ctx.sharing->OnTenantDeleted(t);
            });
          }
          o.what = "tenant " + std::to_string(d.target);
          o.detail = "deleted";
          o.audit_tenant = d.caller.tenant;  // its own log is gone with it
          if (o.status.ok()) spdlog::info("deleted tenant {}", d.target);
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::setQuota(SetQuotaContext context) {
  return Serve(ctx_, Api::kSetQuota, [&]() -> kj::Promise<void> {
    const ServiceContext& ctx = ctx_;
    storage::TenantQuota quota = FromWire(context.getParams().getQuota());
    return Run<AdminOut>(
        Call(Api::kSetQuota, context.getParams().getTenantId()), Status::OK(),
        [&ctx, quota](const sharing::AdminDecision& d) {
          AdminOut o;
          o.status = ctx.store->SetTenantQuota(d.target, quota);
          // Other front-ends of a shared store read the tenant again.
          if (o.status.ok()) o.status = ctx.sharing->OnTenantChanged(d.target);
          if (o.status.ok()) ctx.quotas->Set(d.target, quota);
          o.what = "quota of tenant " + std::to_string(d.target);
          o.detail = "records " + std::to_string(quota.records) + ", bytes " +
                     std::to_string(quota.bytes) + ", calls per second " +
                     std::to_string(quota.calls_per_second) + ", concurrent work " +
                     std::to_string(quota.concurrent_work) + " (0 = no limit)";
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::createObject(CreateObjectContext context) {
  return Serve(ctx_, Api::kCreateObject, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string name;
    args.Name(params.getName(), "object name", &name);
    auto defs = params.getFields();
    std::vector<storage::FieldDef> fields;
    if (defs.size() > ctx_.limits.max_fields_per_record) {
      args.Take(Status::ResourceExhausted(
          "the object declares " + std::to_string(defs.size()) + " fields; the limit is " +
          std::to_string(ctx_.limits.max_fields_per_record) + " (--max-fields)"));
    } else {
      fields.resize(defs.size());
      for (unsigned i = 0; i < defs.size(); ++i) args.Take(FromWire(defs[i], ctx_.limits, &fields[i]));
    }
    struct Out : AdminOut {
      storage::ObjectDef def;
    };
    storage::Store* store = ctx_.store;
    return Run<Out>(
        Call(Api::kCreateObject, params.getTenantId()), args.status(),
        [store, name = std::move(name), fields = std::move(fields)](const sharing::AdminDecision& d) {
          Out o;
          storage::TenantInfo info;
          o.status = store->GetTenant(d.target, &info);
          if (o.status.ok()) o.status = store->CreateObject(d.target, name, fields, &o.def);
          o.what = "object " + o.def.name;
          o.detail = "created";
          return o;
        },
        [context](Out& o) mutable { ToWire(o.def, context.getResults().initObject()); });
  });
}

kj::Promise<void> AdminImpl::listObjects(ListObjectsContext context) {
  return Serve(ctx_, Api::kListObjects, [&]() -> kj::Promise<void> {
    storage::Store* store = ctx_.store;
    using Out = ListOut<storage::ObjectDef>;
    return Run<Out>(
        Call(Api::kListObjects, context.getParams().getTenantId()), Status::OK(),
        [store](const sharing::AdminDecision& d) {
          Out o;
          o.status = store->ListObjects(d.target, &o.items);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initObjects(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::createUser(CreateUserContext context) {
  return Serve(ctx_, Api::kCreateUser, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    sharing::AdminLevel level = sharing::AdminLevel::kUser;
    args.Take(FromWire(params.getLevel(), &level));
    std::string name;
    args.Name(params.getName(), "user name", &name);
    sharing::AdminCall call = Call(Api::kCreateUser, params.getTenantId());
    call.creates = level;
    struct Out : AdminOut {
      sharing::User user;
      std::string key;
    };
    sharing::Identity* identity = ctx_.identity;
    return Run<Out>(
        std::move(call), args.status(),
        [identity, level, name = std::move(name)](const sharing::AdminDecision& d) {
          Out o;
          o.status = identity->CreateUser(d.target, name, level, &o.user, &o.key);
          o.what = "user " + std::to_string(o.user.id);
          o.detail = "created '" + o.user.name + "' (" + std::string(sharing::AdminLevelName(o.user.level)) + ")";
          return o;
        },
        [context](Out& o) mutable {
          spdlog::info("created user {} '{}' in tenant {} ({})", o.user.id, o.user.name, o.user.tenant,
                       sharing::AdminLevelName(o.user.level));
          auto results = context.getResults();
          ToWire(o.user, results.initUser());
          results.setApiKey(capnp::Text::Reader(o.key.data(), o.key.size()));
        });
  });
}

kj::Promise<void> AdminImpl::listUsers(ListUsersContext context) {
  return Serve(ctx_, Api::kListUsers, [&]() -> kj::Promise<void> {
    sharing::Identity* identity = ctx_.identity;
    using Out = ListOut<sharing::User>;
    return Run<Out>(
        Call(Api::kListUsers, context.getParams().getTenantId()), Status::OK(),
        [identity](const sharing::AdminDecision& d) {
          Out o;
          o.status = identity->ListUsers(d.target, &o.items);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initUsers(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::deleteUser(DeleteUserContext context) {
  return Serve(ctx_, Api::kDeleteUser, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    sharing::AdminCall call = Call(Api::kDeleteUser, params.getTenantId());
    call.user = params.getUserId();
    const ServiceContext& ctx = ctx_;
    return Run<AdminOut>(
        call, Status::OK(),
        [&ctx, user = call.user](const sharing::AdminDecision& d) {
          AdminOut o;
          o.status = ctx.identity->DeleteUser(d.target, user);
          if (o.status.ok()) o.status = ctx.sharing->OnUserDeleted(d.target, user);
          o.what = "user " + std::to_string(user);
          o.detail = "deleted";
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::createApiKey(CreateApiKeyContext context) {
  return Serve(ctx_, Api::kCreateApiKey, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    sharing::AdminCall call = Call(Api::kCreateApiKey, params.getTenantId());
    call.user = params.getUserId();
    struct Out : AdminOut {
      sharing::KeyInfo info;
      std::string key;
    };
    sharing::Identity* identity = ctx_.identity;
    return Run<Out>(
        call, Status::OK(),
        [identity, user = call.user](const sharing::AdminDecision& d) {
          Out o;
          o.status = identity->CreateKey(d.target, user, &o.info, &o.key);
          o.what = "user " + std::to_string(user);
          o.detail = "key " + sharing::KeyIdText(o.info.id);
          return o;
        },
        [context](Out& o) mutable {
          auto results = context.getResults();
          ToWire(o.info, results.initKey());
          results.setApiKey(capnp::Text::Reader(o.key.data(), o.key.size()));
        });
  });
}

kj::Promise<void> AdminImpl::revokeApiKey(RevokeApiKeyContext context) {
  return Serve(ctx_, Api::kRevokeApiKey, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string text;
    ThrowIfError(CopyText(params.getKeyId(), "key id", &text));
    sharing::AdminCall call = Call(Api::kRevokeApiKey, params.getTenantId());
    if (!sharing::ParseKeyIdText(text, &call.key)) {
      // Not a key id at all: nothing to decide about an owner.
      ThrowIfError(Status::InvalidArgument("'" + text + "' is not a key id (16 hex digits)"));
    }
    const ServiceContext& ctx = ctx_;
    return Run<AdminOut>(
        call, Status::OK(),
        [&ctx, key = call.key, text](const sharing::AdminDecision& d) {
          AdminOut o;
          o.status = ctx.identity->RevokeKey(d.target, key);
          if (o.status.ok()) o.status = ctx.sharing->OnIdentityChanged(d.target);
          o.what = "key " + text;
          o.detail = "revoked";
          return o;
        },
        [](AdminOut&) {});
  });
}

kj::Promise<void> AdminImpl::listApiKeys(ListApiKeysContext context) {
  return Serve(ctx_, Api::kListApiKeys, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    sharing::AdminCall call = Call(Api::kListApiKeys, params.getTenantId());
    call.user = params.getUserId();
    sharing::Identity* identity = ctx_.identity;
    using Out = ListOut<sharing::KeyInfo>;
    return Run<Out>(
        call, Status::OK(),
        [identity, user = call.user](const sharing::AdminDecision& d) {
          Out o;
          o.status = identity->ListKeys(d.target, user, &o.items);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initKeys(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::queryAudit(QueryAuditContext context) {
  return Serve(ctx_, Api::kQueryAudit, [&]() -> kj::Promise<void> {
    auto q = context.getParams().getQuery();
    Args args(ctx_.limits);
    sharing::AuditFilter f;
    f.from = q.getFrom();
    f.to = q.getTo();
    f.caller_tenant = q.getCallerTenant();
    args.Name(q.getOutcome(), "outcome", &f.outcome);
    std::string direction;
    args.Name(q.getDirection(), "direction", &direction);
    if (direction == "in") {
      f.direction = sharing::AuditDirection::kIn;
    } else if (direction == "out") {
      f.direction = sharing::AuditDirection::kOut;
    } else if (!direction.empty()) {
      args.Take(Status::InvalidArgument("unknown audit direction '" + direction +
                                        "' (use in, out, or leave it empty for both)"));
    }
    f.limit = q.getLimit() == 0 ? 1000 : std::min<size_t>(q.getLimit(), 100000);
    sharing::AuditLog* audit = ctx_.audit;
    using Out = ListOut<sharing::AuditRecord>;
    return Run<Out>(
        Call(Api::kQueryAudit, q.getTenantId()), args.status(),
        [audit, f](const sharing::AdminDecision& d) {
          Out o;
          o.status = audit->Query(d.target, f, &o.items);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initEntries(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::usage(UsageContext context) {
  return Serve(ctx_, Api::kUsage, [&]() -> kj::Promise<void> {
    sharing::Usage* usage = ctx_.usage;
    struct Out : AdminOut {
      sharing::UsageReport report;
    };
    return Run<Out>(
        Call(Api::kUsage, context.getParams().getTenantId()), Status::OK(),
        [usage](const sharing::AdminDecision& d) {
          Out o;
          o.status = usage->Report(d.target, &o.report);
          return o;
        },
        [context](Out& o) mutable { ToWire(o.report, context.getResults().initUsage()); });
  });
}

kj::Promise<void> AdminImpl::usageHistory(UsageHistoryContext context) {
  return Serve(ctx_, Api::kUsageHistory, [&]() -> kj::Promise<void> {
    sharing::Usage* usage = ctx_.usage;
    using Out = ListOut<sharing::UsageSample>;
    return Run<Out>(
        Call(Api::kUsageHistory, context.getParams().getTenantId()), Status::OK(),
        [usage](const sharing::AdminDecision& d) {
          Out o;
          o.status = usage->History(d.target, &o.items);
          return o;
        },
        [context, usage](Out& o) mutable {
          auto results = context.getResults();
          results.setIntervalSeconds(static_cast<uint32_t>(usage->history_interval_s()));
          auto list = results.initSamples(static_cast<unsigned>(o.items.size()));
          for (unsigned i = 0; i < o.items.size(); ++i) ToWire(o.items[i], list[i]);
        });
  });
}

}  // namespace cotenant::rpc
