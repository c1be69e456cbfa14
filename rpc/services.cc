#include "rpc/services.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "rpc/errors.h"

namespace cotenant::rpc {
namespace {

using sharing::AdminLevel;
using storage::TenantId;

// Runs a handler body (which may throw or return a promise) and records its outcome and
// latency. Internal failures are logged; business outcomes are not (they are the
// client's to see).
template <typename Body>
kj::Promise<void> Serve(const ServiceContext& ctx, Api api, Body&& body) {
  auto start = std::chrono::steady_clock::now();
  Metrics* metrics = ctx.metrics;
  auto seconds = [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  return kj::evalNow(kj::fwd<Body>(body))
      .then([metrics, api, seconds]() { metrics->Record(api, Status::Code::kOk, seconds()); },
            [metrics, api, seconds](kj::Exception&& e) {
              Status::Code code = CodeOf(e);
              metrics->Record(api, code, seconds());
              if (code == Status::Code::kInternal) {
                spdlog::warn("{} failed: {}", ApiName(api), e.getDescription().cStr());
              }
              kj::throwFatalException(kj::mv(e));
            });
}

sharing::User CheckSession(const ServiceContext& ctx, const SessionState& session) {
  sharing::User user;
  ThrowIfError(ctx.identity->Check(session.credential, &user));
  return user;
}

std::string Describe(const sharing::User& u) {
  return "user " + std::to_string(u.id) + " of tenant " + std::to_string(u.tenant);
}

// Admin calls: the tenant a call names (0 = the caller's own) and whether the caller may
// name it. Only a system admin names another tenant; the answer does not depend on
// whether that tenant exists.
TenantId TargetTenant(const sharing::User& caller, TenantId requested, std::string_view api) {
  TenantId target = requested == 0 ? caller.tenant : requested;
  if (target != caller.tenant && caller.level != AdminLevel::kSystemAdmin) {
    ThrowIfError(Status::PermissionDenied(
        "Access Denied: " + Describe(caller) + " may not " + std::string(api) + " in tenant " +
        std::to_string(target) + ": only a system admin may name another tenant"));
  }
  return target;
}

void RequireLevel(const sharing::User& caller, AdminLevel level, std::string_view api) {
  if (caller.level < level) {
    ThrowIfError(Status::PermissionDenied(
        "Access Denied: " + Describe(caller) + " may not " + std::string(api) + ": it needs " +
        (level == AdminLevel::kSystemAdmin ? "a system admin" : "a tenant admin or system admin")));
  }
}

// Until roles exist, a principal may update and delete every record of its own tenant.
constexpr RecordPermissionsView kAllRights{true, true};

}  // namespace

Status ResolveContext(const ServiceContext& ctx, const sharing::User& caller,
                      std::optional<TenantId> context, Principal* out) {
  if (!context || *context == caller.tenant) {
    out->tenant = caller.tenant;
    out->user = caller.id;
    return Status::OK();
  }
  // Data-sharing policies come in a later issue: until then no tenant admits another.
  return Status::PermissionDenied("Access Denied: no data-sharing policy of tenant " +
                                  std::to_string(*context) + " admits tenant " +
                                  std::to_string(caller.tenant));
}

// ---- Cotenant ---------------------------------------------------------------------------

kj::Promise<void> CotenantImpl::login(LoginContext context) {
  return Serve(ctx_, Api::kLogin, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    TenantId tenant = params.getTenantId();
    auto key_reader = params.getApiKey();
    if (key_reader.size() > ctx_.limits.max_api_key_bytes) {
      ThrowIfError(Status::Unauthenticated(std::string(sharing::kBadCredentials)));
    }
    std::string key(key_reader.cStr(), key_reader.size());
    struct Out {
      Status status;
      sharing::User user;
      sharing::Credential credential;
    };
    sharing::Identity* identity = ctx_.identity;
    return ctx_.pool
        ->Submit<Out>([identity, tenant, key = std::move(key)]() {
          Out o;
          o.status = identity->Authenticate(tenant, key, &o.user, &o.credential);
          return o;
        })
        .then([this, context, tenant](Out o) mutable {
          if (!o.status.ok()) {
            spdlog::info("login to tenant {} failed: {}", tenant, o.status.ToString());
          }
          ThrowIfError(o.status);
          auto session = std::make_shared<SessionState>(SessionState{o.credential, o.user});
          auto results = context.getResults();
          ToWire(o.user, results.initUser());
          results.setSession(kj::heap<SessionImpl>(ctx_, std::move(session)));
        });
  });
}

// ---- Session ----------------------------------------------------------------------------

kj::Promise<void> SessionImpl::records(RecordsContext context) {
  return Serve(ctx_, Api::kRecords, [&]() -> kj::Promise<void> {
    sharing::User caller = CheckSession(ctx_, *session_);
    auto params = context.getParams();
    std::optional<TenantId> requested;
    if (params.hasContext()) requested = params.getContext().getTenantId();
    // Resolved now, so a refused context fails this call (and every call pipelined on
    // it); RecordsImpl resolves it again on each call.
    Principal principal;
    ThrowIfError(ResolveContext(ctx_, caller, requested, &principal));
    context.getResults().setRecords(kj::heap<RecordsImpl>(ctx_, session_, requested));
    return kj::READY_NOW;
  });
}

kj::Promise<void> SessionImpl::admin(AdminContext context) {
  return Serve(ctx_, Api::kAdmin, [&]() -> kj::Promise<void> {
    CheckSession(ctx_, *session_);
    context.getResults().setAdmin(kj::heap<AdminImpl>(ctx_, session_));
    return kj::READY_NOW;
  });
}

kj::Promise<void> SessionImpl::whoami(WhoamiContext context) {
  return Serve(ctx_, Api::kWhoami, [&]() -> kj::Promise<void> {
    sharing::User user = CheckSession(ctx_, *session_);
    ToWire(user, context.getResults().initUser());
    return kj::READY_NOW;
  });
}

// ---- Records ----------------------------------------------------------------------------

Principal RecordsImpl::Resolve() const {
  sharing::User caller = CheckSession(ctx_, *session_);
  Principal p;
  ThrowIfError(ResolveContext(ctx_, caller, context_, &p));
  return p;
}

namespace {

struct RecordOut {
  Status status;
  storage::Record record;
  std::shared_ptr<const storage::ObjectDef> def;
};

}  // namespace

kj::Promise<void> RecordsImpl::addRecord(AddRecordContext context) {
  return Serve(ctx_, Api::kAddRecord, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::FieldValues fields;
    ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<RecordOut>([store, p, object = std::move(object), fields = std::move(fields)]() {
          RecordOut o;
          o.status = store->AddRecord(p.tenant, object, fields, p.user, &o.record);
          if (o.status.ok()) o.status = store->GetObject(p.tenant, object, &o.def);
          return o;
        })
        .then([context](RecordOut o) mutable {
          ThrowIfError(o.status);
          ToWire(o.record, *o.def, context.getResults().initRecord());
        });
  });
}

kj::Promise<void> RecordsImpl::addRecords(AddRecordsContext context) {
  return Serve(ctx_, Api::kAddRecords, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    auto list = params.getRecords();
    size_t max_batch = ctx_.store->options().limits.max_batch_records;
    if (list.size() > max_batch) {
      ThrowIfError(Status::ResourceExhausted(
          "the batch has " + std::to_string(list.size()) + " records; the limit is " +
          std::to_string(max_batch) + " (--max-batch)"));
    }
    std::vector<storage::FieldValues> records(list.size());
    for (unsigned i = 0; i < list.size(); ++i) {
      ThrowIfError(FromWire(list[i], ctx_.limits, "record " + std::to_string(i) + ": ",
                            &records[i]));
    }
    struct Out {
      Status status;
      std::vector<storage::RecordId> ids;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, p, object = std::move(object), records = std::move(records)]() {
          Out o;
          o.status = store->AddRecords(p.tenant, object, records, p.user, &o.ids);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          auto ids = context.getResults().initIds(static_cast<unsigned>(o.ids.size()));
          for (size_t i = 0; i < o.ids.size(); ++i) ids.set(static_cast<unsigned>(i), o.ids[i]);
        });
  });
}

kj::Promise<void> RecordsImpl::updateRecord(UpdateRecordContext context) {
  return Serve(ctx_, Api::kUpdateRecord, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::FieldValues fields;
    ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
    storage::RecordId id = params.getId();
    uint64_t expected = params.getExpectedVersion();
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<RecordOut>(
            [store, p, id, expected, object = std::move(object), fields = std::move(fields)]() {
              RecordOut o;
              o.status =
                  store->UpdateRecord(p.tenant, object, id, fields, expected, p.user, &o.record);
              if (o.status.ok()) o.status = store->GetObject(p.tenant, object, &o.def);
              return o;
            })
        .then([context](RecordOut o) mutable {
          ThrowIfError(o.status);
          ToWire(o.record, *o.def, context.getResults().initRecord());
        });
  });
}

kj::Promise<void> RecordsImpl::deleteRecord(DeleteRecordContext context) {
  return Serve(ctx_, Api::kDeleteRecord, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::RecordId id = params.getId();
    uint64_t expected = params.getExpectedVersion();
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Status>([store, p, id, expected, object = std::move(object)]() {
          return store->DeleteRecord(p.tenant, object, id, expected);
        })
        .then([](Status s) { ThrowIfError(s); });
  });
}

kj::Promise<void> RecordsImpl::getRecord(GetRecordContext context) {
  return Serve(ctx_, Api::kGetRecord, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    std::vector<std::string> projection;
    ThrowIfError(CopyProjection(params.getFields(), ctx_.limits, &projection));
    storage::RecordId id = params.getId();
    bool with_permissions = params.getRetrievePermissions();

    // The object exists, then the projection is valid, then the record is looked up
    // (the catalog is in memory, so this stays on the loop).
    std::shared_ptr<const storage::ObjectDef> def;
    ThrowIfError(ctx_.store->GetObject(p.tenant, object, &def));
    std::vector<int> slots;
    ThrowIfError(ResolveProjection(*def, projection, &slots));

    auto fill = [context, with_permissions, slots](const RecordOut& o) mutable {
      ThrowIfError(o.status);
      ToWire(o.record, *o.def, slots, with_permissions ? &kAllRights : nullptr,
             context.getResults().initRecord());
    };

    // Inline, memory only: a hit answers without leaving the loop.
    RecordOut inline_out;
    inline_out.status = ctx_.store->GetRecord(p.tenant, object, id, &inline_out.record,
                                              &inline_out.def, /*cache_only=*/true);
    if (inline_out.status.code() != Status::Code::kBusy) {
      fill(inline_out);
      return kj::READY_NOW;
    }
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<RecordOut>([store, p, id, object = std::move(object)]() {
          RecordOut o;
          o.status = store->GetRecord(p.tenant, object, id, &o.record, &o.def);
          return o;
        })
        .then([fill](RecordOut o) mutable { fill(o); });
  });
}

kj::Promise<void> RecordsImpl::searchRecords(SearchRecordsContext context) {
  return Serve(ctx_, Api::kSearchRecords, [&]() -> kj::Promise<void> {
    Principal p = Resolve();
    auto r = context.getParams().getRequest();
    storage::SearchRequest req;
    ThrowIfError(CopyName(r.getObject(), "object name", ctx_.limits, &req.object));
    std::vector<std::string> projection;
    ThrowIfError(CopyProjection(r.getFields(), ctx_.limits, &projection));
    // The object exists, then the projection is valid (in-memory catalog, on the loop);
    // criteria and sort keys are checked by the store.
    std::shared_ptr<const storage::ObjectDef> def;
    ThrowIfError(ctx_.store->GetObject(p.tenant, req.object, &def));
    std::vector<int> slots;
    ThrowIfError(ResolveProjection(*def, projection, &slots));
    req.criteria.assign(r.getCriteria().cStr(), r.getCriteria().size());
    auto order = [](wire::SortOrder o, std::string_view which) {
      if (o == wire::SortOrder::ASCENDING) return false;
      if (o == wire::SortOrder::DESCENDING) return true;
      ThrowIfError(Status::InvalidArgument("unknown " + std::string(which) + " value " +
                                           std::to_string(static_cast<unsigned>(o))));
      return false;
    };
    std::string sort1, sort2;
    ThrowIfError(CopyName(r.getSortBy(), "sortBy", ctx_.limits, &sort1));
    ThrowIfError(CopyName(r.getSortBy2(), "sortBy2", ctx_.limits, &sort2));
    if (!sort1.empty()) req.sort.push_back({sort1, order(r.getSortOrder(), "sortOrder")});
    if (!sort2.empty()) {
      if (sort1.empty()) ThrowIfError(Status::InvalidArgument("sortBy2 is set but sortBy is empty"));
      req.sort.push_back({sort2, order(r.getSortOrder2(), "sortOrder2")});
    }
    req.offset = r.getOffset();
    req.rows = r.getNumberOfRows() == 0 ? 100 : r.getNumberOfRows();
    auto token = r.getContinuation();
    if (token.size() > ctx_.limits.max_continuation_bytes) {
      ThrowIfError(Status::InvalidArgument("continuation token is not one this server issued"));
    }
    req.continuation.assign(reinterpret_cast<const char*>(token.begin()), token.size());
    bool with_permissions = r.getRetrievePermissions();


    struct Out {
      Status status;
      storage::SearchResult result;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, p, req = std::move(req)]() {
          Out o;
          o.status = store->Search(p.tenant, req, &o.result);
          return o;
        })
        .then([context, with_permissions, slots = std::move(slots)](Out o) mutable {
          ThrowIfError(o.status);
          auto results = context.getResults().initResult();
          auto list = results.initRecords(static_cast<unsigned>(o.result.records.size()));
          for (size_t i = 0; i < o.result.records.size(); ++i) {
            ToWire(o.result.records[i], *o.result.object, slots,
                   with_permissions ? &kAllRights : nullptr, list[static_cast<unsigned>(i)]);
          }
          results.setComplete(o.result.complete);
          if (!o.result.continuation.empty()) {
            results.setContinuation(capnp::Data::Reader(
                reinterpret_cast<const capnp::byte*>(o.result.continuation.data()),
                o.result.continuation.size()));
          }
        });
  });
}

// ---- Admin ------------------------------------------------------------------------------

sharing::User AdminImpl::Caller() const { return CheckSession(ctx_, *session_); }

kj::Promise<void> AdminImpl::createTenant(CreateTenantContext context) {
  return Serve(ctx_, Api::kCreateTenant, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    RequireLevel(caller, AdminLevel::kSystemAdmin, "create tenants");
    auto params = context.getParams();
    std::string name;
    ThrowIfError(CopyName(params.getName(), "tenant name", ctx_.limits, &name));
    storage::TenantKind kind;
    ThrowIfError(FromWire(params.getKind(), &kind));
    if (kind == storage::TenantKind::kSystem) {
      ThrowIfError(Status::InvalidArgument(
          "tenant kind 'system' is reserved for the tenant created on first start"));
    }
    TenantId provider = params.getProvider();
    struct Out {
      Status status;
      storage::TenantInfo info;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, name = std::move(name), kind, provider]() {
          Out o;
          o.status = store->CreateTenant(name, kind, provider, &o.info);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          spdlog::info("created tenant {} '{}'", o.info.id, o.info.name);
          ToWire(o.info, context.getResults().initTenant());
        });
  });
}

kj::Promise<void> AdminImpl::listTenants(ListTenantsContext context) {
  return Serve(ctx_, Api::kListTenants, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    bool all = caller.level == AdminLevel::kSystemAdmin;
    TenantId own = caller.tenant;
    struct Out {
      Status status;
      std::vector<storage::TenantInfo> tenants;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, all, own]() {
          Out o;
          if (all) {
            o.tenants = store->ListTenants();
          } else {
            storage::TenantInfo info;
            o.status = store->GetTenant(own, &info);
            if (o.status.ok()) o.tenants.push_back(std::move(info));
          }
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          auto list = context.getResults().initTenants(static_cast<unsigned>(o.tenants.size()));
          for (size_t i = 0; i < o.tenants.size(); ++i) {
            ToWire(o.tenants[i], list[static_cast<unsigned>(i)]);
          }
        });
  });
}

kj::Promise<void> AdminImpl::deleteTenant(DeleteTenantContext context) {
  return Serve(ctx_, Api::kDeleteTenant, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    RequireLevel(caller, AdminLevel::kSystemAdmin, "delete tenants");
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "delete tenants");
    storage::Store* store = ctx_.store;
    sharing::Identity* identity = ctx_.identity;
    return ctx_.pool
        ->Submit<Status>([store, identity, target]() {
          storage::TenantInfo info;
          COTENANT_RETURN_IF_ERROR(store->GetTenant(target, &info));
          if (info.kind == storage::TenantKind::kSystem) {
            return Status::InvalidArgument("the system tenant cannot be deleted");
          }
          COTENANT_RETURN_IF_ERROR(store->DeleteTenant(target));
          identity->ForgetTenant(target);
          return Status::OK();
        })
        .then([target](Status s) {
          ThrowIfError(s);
          spdlog::info("deleted tenant {}", target);
        });
  });
}

kj::Promise<void> AdminImpl::createObject(CreateObjectContext context) {
  return Serve(ctx_, Api::kCreateObject, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "create objects");
    RequireLevel(caller, AdminLevel::kTenantAdmin, "create objects");
    std::string name;
    ThrowIfError(CopyName(params.getName(), "object name", ctx_.limits, &name));
    auto defs = params.getFields();
    if (defs.size() > ctx_.limits.max_fields_per_record) {
      ThrowIfError(Status::ResourceExhausted(
          "the object declares " + std::to_string(defs.size()) + " fields; the limit is " +
          std::to_string(ctx_.limits.max_fields_per_record) + " (--max-fields)"));
    }
    std::vector<storage::FieldDef> fields(defs.size());
    for (unsigned i = 0; i < defs.size(); ++i) {
      ThrowIfError(FromWire(defs[i], ctx_.limits, &fields[i]));
    }
    struct Out {
      Status status;
      storage::ObjectDef def;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, target, name = std::move(name), fields = std::move(fields)]() {
          Out o;
          storage::TenantInfo info;
          o.status = store->GetTenant(target, &info);
          if (o.status.ok()) o.status = store->CreateObject(target, name, fields, &o.def);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          ToWire(o.def, context.getResults().initObject());
        });
  });
}

kj::Promise<void> AdminImpl::listObjects(ListObjectsContext context) {
  return Serve(ctx_, Api::kListObjects, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "list objects");
    struct Out {
      Status status;
      std::vector<storage::ObjectDef> objects;
    };
    storage::Store* store = ctx_.store;
    return ctx_.pool
        ->Submit<Out>([store, target]() {
          Out o;
          o.status = store->ListObjects(target, &o.objects);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          auto list = context.getResults().initObjects(static_cast<unsigned>(o.objects.size()));
          for (size_t i = 0; i < o.objects.size(); ++i) {
            ToWire(o.objects[i], list[static_cast<unsigned>(i)]);
          }
        });
  });
}

kj::Promise<void> AdminImpl::createUser(CreateUserContext context) {
  return Serve(ctx_, Api::kCreateUser, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "create users");
    RequireLevel(caller, AdminLevel::kTenantAdmin, "create users");
    AdminLevel level;
    ThrowIfError(FromWire(params.getLevel(), &level));
    if (level == AdminLevel::kSystemAdmin && caller.level != AdminLevel::kSystemAdmin) {
      ThrowIfError(Status::PermissionDenied("Access Denied: " + Describe(caller) +
                                            " may not create system admins: it needs a system admin"));
    }
    std::string name;
    ThrowIfError(CopyName(params.getName(), "user name", ctx_.limits, &name));
    struct Out {
      Status status;
      sharing::User user;
      std::string key;
    };
    sharing::Identity* identity = ctx_.identity;
    return ctx_.pool
        ->Submit<Out>([identity, target, level, name = std::move(name)]() {
          Out o;
          o.status = identity->CreateUser(target, name, level, &o.user, &o.key);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          spdlog::info("created user {} '{}' in tenant {} ({})", o.user.id, o.user.name,
                       o.user.tenant, sharing::AdminLevelName(o.user.level));
          auto results = context.getResults();
          ToWire(o.user, results.initUser());
          results.setApiKey(capnp::Text::Reader(o.key.data(), o.key.size()));
        });
  });
}

kj::Promise<void> AdminImpl::listUsers(ListUsersContext context) {
  return Serve(ctx_, Api::kListUsers, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "list users");
    RequireLevel(caller, AdminLevel::kTenantAdmin, "list users");
    struct Out {
      Status status;
      std::vector<sharing::User> users;
    };
    sharing::Identity* identity = ctx_.identity;
    return ctx_.pool
        ->Submit<Out>([identity, target]() {
          Out o;
          o.status = identity->ListUsers(target, &o.users);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          auto list = context.getResults().initUsers(static_cast<unsigned>(o.users.size()));
          for (size_t i = 0; i < o.users.size(); ++i) {
            ToWire(o.users[i], list[static_cast<unsigned>(i)]);
          }
        });
  });
}

}  // namespace cotenant::rpc
