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

void AuditChange(const ServiceContext& ctx, const sharing::User& caller, TenantId tenant,
                 Api api, const std::string& what, const std::string& detail) {
  sharing::AuditRecord r;
  r.time = storage::NowMicros();
  r.caller_tenant = caller.tenant;
  r.caller_user = caller.id;
  r.principal = caller.id;
  r.target_tenant = tenant;
  r.api = std::string(ApiName(api));
  r.object = what;
  r.outcome = "OK";
  r.detail = detail;
  ctx.audit->Record(r, tenant, caller.tenant);
}

}  // namespace

sharing::Right RightOf(Api api) {
  switch (api) {
    case Api::kAddRecord:
    case Api::kAddRecords: return sharing::kAdd;
    case Api::kUpdateRecord: return sharing::kUpdate;
    case Api::kDeleteRecord: return sharing::kDelete;
    default: return sharing::kRead;
  }
}

sharing::AccessRequest RequestOf(Api api, uint64_t user, TenantId tenant, std::string_view object) {
  ApiAccess acc = AccessOf(api);
  std::string resource(acc.resource);
  if (resource == "records") resource += "/" + std::string(object);
  return sharing::AccessRequest{user, tenant, std::move(resource), std::string(ApiName(api)),
                                std::string(acc.method)};
}

Status PermissionSetDenial(const sharing::AccessRequest& r, const sharing::PermissionDecision& d) {
  return Status::PermissionDenied("Access Denied: user " + std::to_string(r.user) + " may not " +
                                  r.method + " " + r.resource_type + " in tenant " +
                                  std::to_string(r.tenant) + ": " + d.Reason());
}

Status DecideRecordCall(const sharing::Access& a, uint64_t caller, Api api, std::string_view object,
                        const PermissionEvaluator& evaluate, RecordDecision* trace) {
  if (a.path == sharing::Path::kDenied) return Status::PermissionDenied(a.denial);
  // Permission sets of the caller, and through a policy also of the policy's user: the
  // designated tenant may do what that user may do, no more.
  sharing::AccessRequest req = RequestOf(api, caller, a.target, object);
  sharing::PermissionDecision d = evaluate(req);
  if (trace != nullptr) trace->caller_sets = d;
  if (!d.allowed) return PermissionSetDenial(req, d);
  if (a.principal != caller) {
    req.user = a.principal;
    d = evaluate(req);
    if (trace != nullptr) {
      trace->principal_sets = d;
      trace->principal_evaluated = true;
    }
    if (!d.allowed) return PermissionSetDenial(req, d);
  }
  return a.Check(object, RightOf(api));
}

namespace {

// Resolves `target` for `caller`: the in-process cache on the loop, else the pool.
kj::Promise<std::shared_ptr<const sharing::Access>> ResolveAccess(const ServiceContext& ctx,
                                                                  const sharing::User& caller,
                                                                  TenantId target) {
  if (auto cached = ctx.sharing->LookupCached(caller.tenant, caller.id, target)) {
    return kj::Promise<std::shared_ptr<const sharing::Access>>(std::move(cached));
  }
  struct Out {
    Status status;
    std::shared_ptr<const sharing::Access> access;
  };
  sharing::Sharing* sharing = ctx.sharing;
  return ctx.pool
      ->Submit<Out>([sharing, tenant = caller.tenant, user = caller.id, target]() {
        Out o;
        o.status = sharing->Resolve(tenant, user, target, &o.access);
        return o;
      })
      .then([](Out o) {
        ThrowIfError(o.status);
        return kj::mv(o.access);
      });
}

// Audits a call made through a TenantContext in both tenants' logs, and meters it.
void AuditCrossTenant(const ServiceContext& ctx, const sharing::User& caller,
                      const sharing::Access& access, Api api, const std::string& object,
                      uint64_t record_id, Status::Code outcome) {
  sharing::AuditRecord r;
  r.time = storage::NowMicros();
  r.caller_tenant = caller.tenant;
  r.caller_user = caller.id;
  r.principal = access.principal;
  r.target_tenant = access.target;
  r.api = std::string(ApiName(api));
  r.object = object;
  r.record_id = record_id;
  r.outcome = std::string(Status::CodeName(outcome));
  r.detail = access.Describe();
  ctx.audit->Record(r, access.target, caller.tenant);
  if (outcome == Status::Code::kOk && access.path != sharing::Path::kDenied) {
    ctx.usage->CountCrossTenant(access.target, caller.tenant);
  }
}

// The projection a principal may see: named fields must be visible (a hidden one is
// answered exactly like an unknown one); no names = every visible field.
Status VisibleProjection(const storage::ObjectDef& def, const std::vector<std::string>& names,
                         const storage::RecordScope* scope, std::vector<int>* slots) {
  if (scope == nullptr || scope->visible_fields.empty()) return ResolveProjection(def, names, slots);
  COTENANT_RETURN_IF_ERROR(ResolveProjection(scope->Mask(def), names, slots));
  if (names.empty()) std::erase_if(*slots, [&](int s) { return !scope->FieldVisible(s); });
  return Status::OK();
}

RecordPermissionsView PermissionsOf(const sharing::Access& a, const std::string& object) {
  uint8_t r = a.RightsOn(object);
  return RecordPermissionsView{(r & sharing::kUpdate) != 0, (r & sharing::kDelete) != 0};
}

}  // namespace

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
    ctx_.usage->CountCall(caller.tenant, static_cast<size_t>(Api::kRecords));
    auto params = context.getParams();
    TenantId target = caller.tenant;
    if (params.hasContext()) {
      TenantId named = params.getContext().getTenantId();
      if (named != 0) target = named;
    }
    // Resolved now, so a refused context fails this call (and every call pipelined on
    // it, as seeds/004's TenantContext constructor throws); RecordsImpl resolves it again
    // on each call, so a later revocation reaches this capability too.
    return ResolveAccess(ctx_, caller, target)
        .then([this, context, caller, target](std::shared_ptr<const sharing::Access> a) mutable {
          if (a->path == sharing::Path::kDenied) {
            AuditCrossTenant(ctx_, caller, *a, Api::kRecords, "", 0,
                             Status::Code::kPermissionDenied);
            ThrowIfError(Status::PermissionDenied(a->denial));
          }
          std::optional<TenantId> ctx_tenant;
          if (target != caller.tenant) ctx_tenant = target;
          context.getResults().setRecords(kj::heap<RecordsImpl>(ctx_, session_, ctx_tenant));
        });
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

template <typename Body>
kj::Promise<void> RecordsImpl::Run(Api api, std::string object, uint64_t record_id,
                                   Body&& body) {
  sharing::User caller = CheckSession(ctx_, *session_);
  ctx_.usage->CountCall(caller.tenant, static_cast<size_t>(api));
  TenantId target = context_ ? *context_ : caller.tenant;
  auto proceed = [this, api, caller, object = std::move(object), record_id,
                  body = kj::fwd<Body>(body)](std::shared_ptr<const sharing::Access> a) mutable
      -> kj::Promise<void> {
        const sharing::PermissionSets* psets = ctx_.psets;
        Status allowed = DecideRecordCall(
            *a, caller.id, api, object,
            [psets](const sharing::AccessRequest& r) { return psets->Evaluate(r); }, nullptr);
        kj::Promise<void> done = allowed.ok()
                                     ? kj::evalNow([&]() { return body(Resolved{caller, a}); })
                                     : kj::Promise<void>(ToException(allowed));
        if (!a->cross_tenant()) return done;
        const ServiceContext& ctx = ctx_;
        return done.then(
            [&ctx, caller, a, api, object, record_id]() {
              AuditCrossTenant(ctx, caller, *a, api, object, record_id, Status::Code::kOk);
            },
            [&ctx, caller, a, api, object, record_id](kj::Exception&& e) {
              AuditCrossTenant(ctx, caller, *a, api, object, record_id, CodeOf(e));
              kj::throwFatalException(kj::mv(e));
            });
  };
  // The hot path: a context current in the in-process cache is decided at once, without
  // a promise hop through the event loop.
  if (auto cached = ctx_.sharing->LookupCached(caller.tenant, caller.id, target)) {
    return proceed(std::move(cached));
  }
  return ResolveAccess(ctx_, caller, target).then(kj::mv(proceed));
}

namespace {

struct RecordOut {
  Status status;
  storage::Record record;
  std::shared_ptr<const storage::ObjectDef> def;
  std::vector<int> slots;
};

// The object's definition and the principal's scope of it (catalog in memory).
Status ObjectAndScope(const ServiceContext& ctx, const Resolved& r, const std::string& object,
                      std::shared_ptr<const storage::ObjectDef>* def,
                      const storage::RecordScope** scope) {
  COTENANT_RETURN_IF_ERROR(ctx.store->GetObject(r.access->target, object, def));
  return r.access->ScopeFor(**def, scope);
}

// Runs a write that yields a record on the pool, inside the principal's scope of the
// object, and answers with the record as the principal may see it (add and update).
// write(scope, &record) -> Status.
template <typename Context, typename Write>
kj::Promise<void> WriteRecord(const ServiceContext& ctx, Context context, const Resolved& r,
                              std::string object, Write write) {
  return ctx.pool
      ->Submit<RecordOut>([&ctx, r, object = std::move(object), write = std::move(write)]() {
        RecordOut o;
        const storage::RecordScope* scope = nullptr;
        o.status = ObjectAndScope(ctx, r, object, &o.def, &scope);
        if (o.status.ok()) o.status = write(scope, &o.record);
        if (o.status.ok()) o.status = VisibleProjection(*o.def, {}, scope, &o.slots);
        return o;
      })
      .then([context](RecordOut o) mutable {
        ThrowIfError(o.status);
        ToWire(o.record, *o.def, o.slots, nullptr, context.getResults().initRecord());
      });
}

}  // namespace

kj::Promise<void> RecordsImpl::addRecord(AddRecordContext context) {
  return Serve(ctx_, Api::kAddRecord, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kAddRecord, object, 0,
               [this, context, object](const Resolved& r) mutable -> kj::Promise<void> {
      storage::FieldValues fields;
      ThrowIfError(FromWire(context.getParams().getFields(), ctx_.limits, "", &fields));
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, context, r, object,
                         [store, r, object, fields = std::move(fields)](
                             const storage::RecordScope* scope, storage::Record* out) {
                           return store->AddRecord(r.access->target, object, fields,
                                                   r.access->principal, out, scope);
                         });
    });
  });
}

kj::Promise<void> RecordsImpl::addRecords(AddRecordsContext context) {
  return Serve(ctx_, Api::kAddRecords, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kAddRecords, object, 0,
               [this, context, object](const Resolved& r) mutable -> kj::Promise<void> {
      auto list = context.getParams().getRecords();
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
      const ServiceContext& ctx = ctx_;
      return ctx_.pool
          ->Submit<Out>([&ctx, r, object, records = std::move(records)]() {
            Out o;
            std::shared_ptr<const storage::ObjectDef> def;
            const storage::RecordScope* scope = nullptr;
            o.status = ObjectAndScope(ctx, r, object, &def, &scope);
            if (o.status.ok()) {
              o.status = ctx.store->AddRecords(r.access->target, object, records,
                                               r.access->principal, &o.ids, scope);
            }
            return o;
          })
          .then([context](Out o) mutable {
            ThrowIfError(o.status);
            auto ids = context.getResults().initIds(static_cast<unsigned>(o.ids.size()));
            for (size_t i = 0; i < o.ids.size(); ++i) ids.set(static_cast<unsigned>(i), o.ids[i]);
          });
    });
  });
}

kj::Promise<void> RecordsImpl::updateRecord(UpdateRecordContext context) {
  return Serve(ctx_, Api::kUpdateRecord, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::RecordId id = params.getId();
    return Run(Api::kUpdateRecord, object, id,
               [this, context, object, id](const Resolved& r) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      storage::FieldValues fields;
      ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
      uint64_t expected = params.getExpectedVersion();
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, context, r, object,
                         [store, r, id, expected, object, fields = std::move(fields)](
                             const storage::RecordScope* scope, storage::Record* out) {
                           return store->UpdateRecord(r.access->target, object, id, fields,
                                                      expected, r.access->principal, out, scope);
                         });
    });
  });
}

kj::Promise<void> RecordsImpl::deleteRecord(DeleteRecordContext context) {
  return Serve(ctx_, Api::kDeleteRecord, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::RecordId id = params.getId();
    uint64_t expected = params.getExpectedVersion();
    return Run(Api::kDeleteRecord, object, id,
               [this, object, id, expected](const Resolved& r) -> kj::Promise<void> {
      const ServiceContext& ctx = ctx_;
      return ctx_.pool
          ->Submit<Status>([&ctx, r, id, expected, object]() {
            std::shared_ptr<const storage::ObjectDef> def;
            const storage::RecordScope* scope = nullptr;
            COTENANT_RETURN_IF_ERROR(ObjectAndScope(ctx, r, object, &def, &scope));
            return ctx.store->DeleteRecord(r.access->target, object, id, expected, scope);
          })
          .then([](Status s) { ThrowIfError(s); });
    });
  });
}

kj::Promise<void> RecordsImpl::getRecord(GetRecordContext context) {
  return Serve(ctx_, Api::kGetRecord, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    storage::RecordId id = params.getId();
    return Run(Api::kGetRecord, object, id,
               [this, context, object, id](const Resolved& r) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      std::vector<std::string> projection;
      ThrowIfError(CopyProjection(params.getFields(), ctx_.limits, &projection));
      bool with_permissions = params.getRetrievePermissions();
      // The object exists, then the projection is valid, then the record is looked up
      // (the catalog is in memory, so this stays on the loop).
      std::shared_ptr<const storage::ObjectDef> def;
      const storage::RecordScope* scope = nullptr;
      ThrowIfError(ObjectAndScope(ctx_, r, object, &def, &scope));
      std::vector<int> slots;
      ThrowIfError(VisibleProjection(*def, projection, scope, &slots));
      RecordPermissionsView perms = PermissionsOf(*r.access, object);
      auto fill = [context, with_permissions, slots, perms](const RecordOut& o) mutable {
        ThrowIfError(o.status);
        ToWire(o.record, *o.def, slots, with_permissions ? &perms : nullptr,
               context.getResults().initRecord());
      };
      // Inline, memory only: a hit answers without leaving the loop.
      RecordOut inline_out;
      inline_out.status = ctx_.store->GetRecord(r.access->target, object, id, &inline_out.record,
                                                &inline_out.def, /*cache_only=*/true, scope);
      if (inline_out.status.code() != Status::Code::kBusy) {
        fill(inline_out);
        return kj::READY_NOW;
      }
      storage::Store* store = ctx_.store;
      // `r` keeps the Access (and so `scope`) alive while the pool works.
      return ctx_.pool
          ->Submit<RecordOut>([store, r, scope, id, object]() {
            RecordOut o;
            o.status = store->GetRecord(r.access->target, object, id, &o.record, &o.def, false, scope);
            return o;
          })
          .then([fill](RecordOut o) mutable { fill(o); });
    });
  });
}

kj::Promise<void> RecordsImpl::searchRecords(SearchRecordsContext context) {
  return Serve(ctx_, Api::kSearchRecords, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getRequest().getObject(), "object name",
                          ctx_.limits, &object));
    return Run(Api::kSearchRecords, object, 0,
               [this, context, object](const Resolved& res) mutable -> kj::Promise<void> {
    auto r = context.getParams().getRequest();
    storage::SearchRequest req;
    req.object = object;
    std::vector<std::string> projection;
    ThrowIfError(CopyProjection(r.getFields(), ctx_.limits, &projection));
    // The object exists, then the projection is valid (in-memory catalog, on the loop);
    // criteria and sort keys are checked by the store.
    std::shared_ptr<const storage::ObjectDef> def;
    const storage::RecordScope* scope = nullptr;
    ThrowIfError(ObjectAndScope(ctx_, res, object, &def, &scope));
    std::vector<int> slots;
    ThrowIfError(VisibleProjection(*def, projection, scope, &slots));
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
    RecordPermissionsView perms = PermissionsOf(*res.access, object);
    struct Out {
      Status status;
      storage::SearchResult result;
    };
    storage::Store* store = ctx_.store;
    // `res` keeps the Access (and so `scope`) alive while the pool works.
    return ctx_.pool
        ->Submit<Out>([store, res, scope, req = std::move(req)]() {
          Out o;
          o.status = store->Search(res.access->target, req, &o.result, scope);
          return o;
        })
        .then([context, with_permissions, perms, slots = std::move(slots)](Out o) mutable {
          ThrowIfError(o.status);
          auto results = context.getResults().initResult();
          auto list = results.initRecords(static_cast<unsigned>(o.result.records.size()));
          for (size_t i = 0; i < o.result.records.size(); ++i) {
            ToWire(o.result.records[i], *o.result.object, slots,
                   with_permissions ? &perms : nullptr, list[static_cast<unsigned>(i)]);
          }
          results.setComplete(o.result.complete);
          if (!o.result.continuation.empty()) {
            results.setContinuation(capnp::Data::Reader(
                reinterpret_cast<const capnp::byte*>(o.result.continuation.data()),
                o.result.continuation.size()));
          }
        });
    });
  });
}

// ---- Admin ------------------------------------------------------------------------------

sharing::User AdminImpl::Caller() const { return CheckSession(ctx_, *session_); }

void AdminImpl::Authorize(const sharing::User& caller, Api api, TenantId target) const {
  // A system admin's administrative calls are exempt, so no set can lock the system out.
  if (caller.level == AdminLevel::kSystemAdmin) return;
  sharing::AccessRequest req = RequestOf(api, caller.id, target, "");
  sharing::PermissionDecision d = ctx_.psets->Evaluate(req);
  if (!d.allowed) ThrowIfError(PermissionSetDenial(req, d));
}

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
        .then([this, caller, context](Out o) mutable {
          ThrowIfError(o.status);
          spdlog::info("created tenant {} '{}'", o.info.id, o.info.name);
          ToWire(o.info, context.getResults().initTenant());
          AuditChange(ctx_, caller, o.info.id, Api::kCreateTenant,
                      "tenant " + std::to_string(o.info.id), "created '" + o.info.name + "'");
        });
  });
}

kj::Promise<void> AdminImpl::listTenants(ListTenantsContext context) {
  return Serve(ctx_, Api::kListTenants, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    Authorize(caller, Api::kListTenants, caller.tenant);
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
    Authorize(caller, Api::kDeleteTenant, target);
    storage::Store* store = ctx_.store;
    sharing::Identity* identity = ctx_.identity;
    sharing::Sharing* sharing = ctx_.sharing;
    return ctx_.pool
        ->Submit<Status>([store, identity, sharing, target]() {
          storage::TenantInfo info;
          COTENANT_RETURN_IF_ERROR(store->GetTenant(target, &info));
          if (info.kind == storage::TenantKind::kSystem) {
            return Status::InvalidArgument("the system tenant cannot be deleted");
          }
          COTENANT_RETURN_IF_ERROR(store->DeleteTenant(target));
          identity->ForgetTenant(target);
          // Policies designating it go, and every context touching it becomes stale.
          return sharing->OnTenantDeleted(target);
        })
        .then([this, caller, target](Status s) {
          ThrowIfError(s);
          spdlog::info("deleted tenant {}", target);
          AuditChange(ctx_, caller, caller.tenant, Api::kDeleteTenant,
                      "tenant " + std::to_string(target), "deleted");
        });
  });
}

kj::Promise<void> AdminImpl::createObject(CreateObjectContext context) {
  return Serve(ctx_, Api::kCreateObject, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "create objects");
    Authorize(caller, Api::kCreateObject, target);
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
        .then([this, caller, target, context](Out o) mutable {
          ThrowIfError(o.status);
          ToWire(o.def, context.getResults().initObject());
          AuditChange(ctx_, caller, target, Api::kCreateObject, "object " + o.def.name, "created");
        });
  });
}

kj::Promise<void> AdminImpl::listObjects(ListObjectsContext context) {
  return Serve(ctx_, Api::kListObjects, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "list objects");
    Authorize(caller, Api::kListObjects, target);
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
    Authorize(caller, Api::kCreateUser, target);
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
        .then([this, caller, target, context](Out o) mutable {
          ThrowIfError(o.status);
          spdlog::info("created user {} '{}' in tenant {} ({})", o.user.id, o.user.name,
                       o.user.tenant, sharing::AdminLevelName(o.user.level));
          AuditChange(ctx_, caller, target, Api::kCreateUser, "user " + std::to_string(o.user.id),
                      "created '" + o.user.name + "' (" +
                          std::string(sharing::AdminLevelName(o.user.level)) + ")");
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
    Authorize(caller, Api::kListUsers, target);
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

// ---- Admin: sharing ----------------------------------------------------------------------

namespace cotenant::rpc {
namespace {

using storage::TenantId;
using storage::UserId;
using sharing::AdminLevel;

// Tenant admins act on their own tenant's users only, and never on system admins.
void RequireUserAdmin(const ServiceContext& ctx, const sharing::User& caller, TenantId tenant,
                      UserId user, std::string_view api, bool self_allowed) {
  if (self_allowed && caller.id == user && caller.tenant == tenant) return;
  RequireLevel(caller, AdminLevel::kTenantAdmin, api);
  if (caller.level == AdminLevel::kSystemAdmin) return;
  sharing::User target;
  Status s = ctx.identity->GetUser(tenant, user, &target);
  if (s.ok() && target.level == AdminLevel::kSystemAdmin) {
    ThrowIfError(Status::PermissionDenied("Access Denied: " + Describe(caller) + " may not " +
                                          std::string(api) + " of a system admin"));
  }
}

std::string Text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace

template <typename Out, typename Work, typename Fill>
kj::Promise<void> AdminImpl::Change(Api api, const sharing::User& caller, TenantId tenant,
                                    std::string what, Work&& work, Fill&& fill) {
  const ServiceContext& ctx = ctx_;
  return ctx_.pool->Submit<Out>(kj::fwd<Work>(work))
      .then([&ctx, api, caller, tenant, what = std::move(what),
             fill = kj::fwd<Fill>(fill)](Out o) mutable {
        ThrowIfError(o.status);
        fill(o);
        AuditChange(ctx, caller, tenant, api, what, o.detail);
      });
}

template <typename Out, typename Work, typename Fill>
kj::Promise<void> AdminImpl::Read(Work&& work, Fill&& fill) {
  return ctx_.pool->Submit<Out>(kj::fwd<Work>(work)).then([fill = kj::fwd<Fill>(fill)](Out o) mutable {
    ThrowIfError(o.status);
    fill(o);
  });
}

namespace {
struct Done {
  Status status;
  std::string detail;
};
}  // namespace

kj::Promise<void> AdminImpl::deleteUser(DeleteUserContext context) {
  return Serve(ctx_, Api::kDeleteUser, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "delete users");
    Authorize(caller, Api::kDeleteUser, target);
    UserId user = params.getUserId();
    RequireUserAdmin(ctx_, caller, target, user, "delete users", false);
    if (user == caller.id) {
      ThrowIfError(Status::InvalidArgument("a user cannot delete itself"));
    }
    const ServiceContext& ctx = ctx_;
    return Change<Done>(Api::kDeleteUser, caller, target, "user " + std::to_string(user),
                        [&ctx, target, user]() {
                          Done d;
                          d.status = ctx.identity->DeleteUser(target, user);
                          if (d.status.ok()) d.status = ctx.sharing->OnUserDeleted(target, user);
                          d.detail = "deleted";
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::createApiKey(CreateApiKeyContext context) {
  return Serve(ctx_, Api::kCreateApiKey, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "create API keys");
    Authorize(caller, Api::kCreateApiKey, target);
    UserId user = params.getUserId();
    RequireUserAdmin(ctx_, caller, target, user, "create API keys", true);
    struct Out {
      Status status;
      std::string detail;
      sharing::KeyInfo info;
      std::string key;
    };
    sharing::Identity* identity = ctx_.identity;
    return Change<Out>(Api::kCreateApiKey, caller, target, "user " + std::to_string(user),
                       [identity, target, user]() {
                         Out o;
                         o.status = identity->CreateKey(target, user, &o.info, &o.key);
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
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "revoke API keys");
    Authorize(caller, Api::kRevokeApiKey, target);
    std::string text = Text(params.getKeyId());
    sharing::KeyId key = 0;
    if (!sharing::ParseKeyIdText(text, &key)) {
      ThrowIfError(Status::InvalidArgument("'" + text + "' is not a key id (16 hex digits)"));
    }
    // Whose key is it? Only its user, its tenant's admins and system admins may revoke.
    sharing::Identity* identity = ctx_.identity;
    const ServiceContext& ctx = ctx_;
    return Change<Done>(Api::kRevokeApiKey, caller, target, "key " + text,
                        [&ctx, identity, caller, target, key]() {
                          Done d;
                          if (caller.level < AdminLevel::kTenantAdmin) {
                            std::vector<sharing::KeyInfo> own;
                            d.status = identity->ListKeys(target, caller.id, &own);
                            bool mine = std::any_of(own.begin(), own.end(),
                                                    [&](const auto& k) { return k.id == key; });
                            if (d.status.ok() && !mine) {
                              d.status = Status::PermissionDenied(
                                  "Access Denied: " + Describe(caller) +
                                  " may only revoke its own keys");
                            }
                          }
                          if (d.status.ok()) d.status = identity->RevokeKey(target, key);
                          if (d.status.ok()) d.status = ctx.sharing->OnIdentityChanged(target);
                          d.detail = "revoked";
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::listApiKeys(ListApiKeysContext context) {
  return Serve(ctx_, Api::kListApiKeys, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "list API keys");
    Authorize(caller, Api::kListApiKeys, target);
    UserId user = params.getUserId();
    RequireUserAdmin(ctx_, caller, target, user, "list API keys", true);
    struct Out {
      Status status;
      std::vector<sharing::KeyInfo> keys;
    };
    sharing::Identity* identity = ctx_.identity;
    return Read<Out>(
        [identity, target, user]() {
          Out o;
          o.status = identity->ListKeys(target, user, &o.keys);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initKeys(static_cast<unsigned>(o.keys.size()));
          for (unsigned i = 0; i < o.keys.size(); ++i) ToWire(o.keys[i], list[i]);
        });
  });
}

namespace {
struct RoleOut {
  Status status;
  std::string detail;
  sharing::Role role;
};
}  // namespace

template <typename Context>
kj::Promise<void> AdminImpl::WriteRole(Api api, Context context, bool create) {
  sharing::User caller = Caller();
  auto params = context.getParams();
  std::string_view what = create ? "create roles" : "update roles";
  TenantId target = TargetTenant(caller, params.getTenantId(), what);
  Authorize(caller, api, target);
  RequireLevel(caller, AdminLevel::kTenantAdmin, what);
  std::string name;
  ThrowIfError(CopyName(params.getName(), "role name", ctx_.limits, &name));
  sharing::RightsMap rights;
  ThrowIfError(FromWire(params.getRights(), ctx_.limits, &rights));
  bool cross = params.getCrossTenant();
  sharing::Sharing* sharing = ctx_.sharing;
  return Change<RoleOut>(api, caller, target, "role " + name,
                         [sharing, target, name, rights, cross, create]() {
                           RoleOut o;
                           o.status = create ? sharing->CreateRole(target, name, rights, cross, &o.role)
                                             : sharing->UpdateRole(target, name, rights, cross, &o.role);
                           o.detail = create ? "created" : "rights replaced";
                           return o;
                         },
                         [context](RoleOut& o) mutable { ToWire(o.role, context.getResults().initRole()); });
}

kj::Promise<void> AdminImpl::createRole(CreateRoleContext context) {
  return Serve(ctx_, Api::kCreateRole, [&]() { return WriteRole(Api::kCreateRole, context, true); });
}

kj::Promise<void> AdminImpl::updateRole(UpdateRoleContext context) {
  return Serve(ctx_, Api::kUpdateRole, [&]() { return WriteRole(Api::kUpdateRole, context, false); });
}

kj::Promise<void> AdminImpl::deleteRole(DeleteRoleContext context) {
  return Serve(ctx_, Api::kDeleteRole, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "delete roles");
    Authorize(caller, Api::kDeleteRole, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "delete roles");
    std::string name;
    ThrowIfError(CopyName(params.getName(), "role name", ctx_.limits, &name));
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<Done>(Api::kDeleteRole, caller, target, "role " + name,
                        [sharing, target, name]() {
                          Done d;
                          d.status = sharing->DeleteRole(target, name);
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::listRoles(ListRolesContext context) {
  return Serve(ctx_, Api::kListRoles, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "list roles");
    Authorize(caller, Api::kListRoles, target);
    struct Out {
      Status status;
      std::vector<sharing::Role> roles;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    return Read<Out>(
        [sharing, target]() {
          Out o;
          o.status = sharing->ListRoles(target, &o.roles);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initRoles(static_cast<unsigned>(o.roles.size()));
          for (unsigned i = 0; i < o.roles.size(); ++i) ToWire(o.roles[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::addRoleMember(AddRoleMemberContext context) {
  return Serve(ctx_, Api::kAddRoleMember, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "manage role members");
    Authorize(caller, Api::kAddRoleMember, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "manage role members");
    std::string role;
    ThrowIfError(CopyName(params.getRole(), "role name", ctx_.limits, &role));
    TenantId member_tenant = params.getMemberTenant() == 0 ? target : params.getMemberTenant();
    UserId user = params.getUserId();
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<Done>(Api::kAddRoleMember, caller, target, "role " + role,
                        [sharing, target, role, member_tenant, user]() {
                          Done d;
                          d.status = sharing->AddMember(target, role, member_tenant, user);
                          d.detail = "added user " + std::to_string(user) + " of tenant " +
                                     std::to_string(member_tenant);
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::removeRoleMember(RemoveRoleMemberContext context) {
  return Serve(ctx_, Api::kRemoveRoleMember, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "manage role members");
    Authorize(caller, Api::kRemoveRoleMember, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "manage role members");
    std::string role;
    ThrowIfError(CopyName(params.getRole(), "role name", ctx_.limits, &role));
    TenantId member_tenant = params.getMemberTenant() == 0 ? target : params.getMemberTenant();
    UserId user = params.getUserId();
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<Done>(Api::kRemoveRoleMember, caller, target, "role " + role,
                        [sharing, target, role, member_tenant, user]() {
                          Done d;
                          d.status = sharing->RemoveMember(target, role, member_tenant, user);
                          d.detail = "removed user " + std::to_string(user);
                          return d;
                        },
                        [](Done&) {});
  });
}

namespace {
struct PolicyOut {
  Status status;
  std::string detail;
  sharing::Policy policy;
};
}  // namespace

kj::Promise<void> AdminImpl::createPolicy(CreatePolicyContext context) {
  return Serve(ctx_, Api::kCreatePolicy, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "create data-sharing policies");
    Authorize(caller, Api::kCreatePolicy, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "create data-sharing policies");
    sharing::Policy p;
    ThrowIfError(FromWire(params.getPolicy(), ctx_.limits, &p));
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<PolicyOut>(Api::kCreatePolicy, caller, target, "policy " + p.name,
                             [sharing, target, p]() {
                               PolicyOut o;
                               o.status = sharing->CreatePolicy(target, p, &o.policy);
                               o.detail = p.global ? "global, user " + std::to_string(p.user)
                                                   : "designates tenant " + std::to_string(p.designated) +
                                                         ", user " + std::to_string(p.user);
                               return o;
                             },
                             [context](PolicyOut& o) mutable {
                               ToWire(o.policy, context.getResults().initPolicy());
                             });
  });
}

kj::Promise<void> AdminImpl::updatePolicy(UpdatePolicyContext context) {
  return Serve(ctx_, Api::kUpdatePolicy, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "update data-sharing policies");
    Authorize(caller, Api::kUpdatePolicy, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "update data-sharing policies");
    sharing::Policy p;
    ThrowIfError(FromWire(params.getPolicy(), ctx_.limits, &p));
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<PolicyOut>(Api::kUpdatePolicy, caller, target, "policy " + p.name,
                             [sharing, target, p]() {
                               PolicyOut o;
                               o.status = sharing->UpdatePolicy(target, p, &o.policy);
                               o.detail = "user " + std::to_string(p.user);
                               return o;
                             },
                             [context](PolicyOut& o) mutable {
                               ToWire(o.policy, context.getResults().initPolicy());
                             });
  });
}

kj::Promise<void> AdminImpl::deletePolicy(DeletePolicyContext context) {
  return Serve(ctx_, Api::kDeletePolicy, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId target = TargetTenant(caller, params.getTenantId(), "delete data-sharing policies");
    Authorize(caller, Api::kDeletePolicy, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "delete data-sharing policies");
    std::string name;
    ThrowIfError(CopyName(params.getName(), "policy name", ctx_.limits, &name));
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<Done>(Api::kDeletePolicy, caller, target, "policy " + name,
                        [sharing, target, name]() {
                          Done d;
                          d.status = sharing->DeletePolicy(target, name);
                          d.detail = "deleted";
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::listPolicies(ListPoliciesContext context) {
  return Serve(ctx_, Api::kListPolicies, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto params = context.getParams();
    TenantId published_by = params.getPublishedBy();
    TenantId designating = params.getDesignating();
    if ((published_by == 0) == (designating == 0)) {
      ThrowIfError(Status::InvalidArgument("name exactly one of publishedBy and designating"));
    }
    TenantId target = TargetTenant(caller, published_by != 0 ? published_by : designating,
                                   "list data-sharing policies");
    Authorize(caller, Api::kListPolicies, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "list data-sharing policies");
    struct Out {
      Status status;
      std::vector<sharing::Policy> policies;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    bool by_publisher = published_by != 0;
    return Read<Out>(
        [sharing, target, by_publisher]() {
          Out o;
          o.status = by_publisher ? sharing->ListPublishedBy(target, &o.policies)
                                  : sharing->ListDesignating(target, &o.policies);
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
    sharing::User caller = Caller();
    RequireLevel(caller, AdminLevel::kSystemAdmin, "change system settings");
    auto params = context.getParams();
    std::string name, value;
    ThrowIfError(CopyName(params.getName(), "setting name", ctx_.limits, &name));
    ThrowIfError(CopyName(params.getValue(), "setting value", ctx_.limits, &value));
    sharing::Sharing* sharing = ctx_.sharing;
    return Change<Done>(Api::kSetSetting, caller, caller.tenant, "setting " + name,
                        [sharing, name, value]() {
                          Done d;
                          d.status = sharing->SetSetting(name, value);
                          d.detail = "= " + value;
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::listSettings(ListSettingsContext context) {
  return Serve(ctx_, Api::kListSettings, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    Authorize(caller, Api::kListSettings, caller.tenant);
    struct Out {
      Status status;
      std::vector<std::pair<std::string, std::string>> settings;
    };
    sharing::Sharing* sharing = ctx_.sharing;
    return Read<Out>(
        [sharing]() {
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

kj::Promise<void> AdminImpl::queryAudit(QueryAuditContext context) {
  return Serve(ctx_, Api::kQueryAudit, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    auto q = context.getParams().getQuery();
    TenantId target = TargetTenant(caller, q.getTenantId(), "read audit logs");
    Authorize(caller, Api::kQueryAudit, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "read audit logs");
    sharing::AuditFilter f;
    f.from = q.getFrom();
    f.to = q.getTo();
    f.caller_tenant = q.getCallerTenant();
    ThrowIfError(CopyName(q.getOutcome(), "outcome", ctx_.limits, &f.outcome));
    f.limit = q.getLimit() == 0 ? 1000 : std::min<size_t>(q.getLimit(), 100000);
    struct Out {
      Status status;
      std::vector<sharing::AuditRecord> entries;
    };
    sharing::AuditLog* audit = ctx_.audit;
    return Read<Out>(
        [audit, target, f]() {
          Out o;
          o.status = audit->Query(target, f, &o.entries);
          return o;
        },
        [context](Out& o) mutable {
          auto list = context.getResults().initEntries(static_cast<unsigned>(o.entries.size()));
          for (unsigned i = 0; i < o.entries.size(); ++i) ToWire(o.entries[i], list[i]);
        });
  });
}

kj::Promise<void> AdminImpl::usage(UsageContext context) {
  return Serve(ctx_, Api::kUsage, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    TenantId target = TargetTenant(caller, context.getParams().getTenantId(), "read usage");
    Authorize(caller, Api::kUsage, target);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "read usage");
    struct Out {
      Status status;
      sharing::UsageReport report;
    };
    sharing::Usage* usage = ctx_.usage;
    return Read<Out>(
        [usage, target]() {
          Out o;
          o.status = usage->Report(target, &o.report);
          return o;
        },
        [context](Out& o) mutable { ToWire(o.report, context.getResults().initUsage()); });
  });
}

// ---- Admin: permission sets and explain -----------------------------------------------------

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
  sharing::User caller = Caller();
  RequireLevel(caller, AdminLevel::kSystemAdmin, create ? "create permission sets" : "update permission sets");
  sharing::PermissionSet set;
  ThrowIfError(FromWire(context.getParams().getSet(), ctx_.limits, &set));
  const ServiceContext& ctx = ctx_;
  return Change<Done>(api, caller, caller.tenant, "permission set " + set.name,
                      [&ctx, set, create]() {
                        Done d;
                        d.status = CheckSetMembers(ctx, set);
                        if (d.status.ok()) d.status = create ? ctx.psets->Create(set) : ctx.psets->Update(set);
                        d.detail = std::to_string(set.policies.size()) + " policies";
                        return d;
                      },
                      [](Done&) {});
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
    sharing::User caller = Caller();
    RequireLevel(caller, AdminLevel::kSystemAdmin, "delete permission sets");
    std::string name;
    ThrowIfError(CopyName(context.getParams().getName(), "permission set name", ctx_.limits, &name));
    sharing::PermissionSets* psets = ctx_.psets;
    return Change<Done>(Api::kDeletePermissionSet, caller, caller.tenant, "permission set " + name,
                        [psets, name]() {
                          Done d;
                          d.status = psets->Delete(name);
                          d.detail = "deleted";
                          return d;
                        },
                        [](Done&) {});
  });
}

kj::Promise<void> AdminImpl::listPermissionSets(ListPermissionSetsContext context) {
  return Serve(ctx_, Api::kListPermissionSets, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    Authorize(caller, Api::kListPermissionSets, caller.tenant);
    RequireLevel(caller, AdminLevel::kTenantAdmin, "list permission sets");
    auto sets = ctx_.psets->List();
    auto list = context.getResults().initSets(static_cast<unsigned>(sets.size()));
    for (unsigned i = 0; i < sets.size(); ++i) ToWire(sets[i], list[i]);
    return kj::READY_NOW;
  });
}

namespace {

struct ExplainOut {
  Status status;
  bool allowed = false;
  Status verdict;
  std::string path, policy, rights, scope;
  UserId principal = 0;
  struct Set {
    std::string name;
    UserId user;
    std::vector<int> allow, deny;
  };
  std::vector<Set> sets;
  std::string deciding_set;
  int deciding_policy = 0;
  std::vector<std::string> steps;
};

void AddSets(ExplainOut* o, UserId user, const sharing::PermissionDecision& d) {
  for (const auto& c : d.considered) o->sets.push_back({c.set, user, c.matched_allow, c.matched_deny});
}

// The whole decision of one call, computed by the same functions the call itself uses.
ExplainOut Explain(const ServiceContext& ctx, const sharing::User& asker, UserId user_id,
                   TenantId named, const std::string& api_name, const std::string& object,
                   const std::optional<sharing::Policy>& draft_policy,
                   const std::optional<sharing::PermissionSet>& draft_set,
                   const std::string& remove_set) {
  ExplainOut o;
  sharing::User subject = asker;
  if (user_id != 0 && user_id != asker.id) {
    o.status = ctx.identity->FindUser(user_id, &subject);
    if (!o.status.ok()) return o;
  }
  if (asker.level != AdminLevel::kSystemAdmin &&
      (subject.tenant != asker.tenant || (subject.id != asker.id && asker.level < AdminLevel::kTenantAdmin))) {
    o.status = Status::PermissionDenied("Access Denied: " + Describe(asker) +
                                        " may only explain calls of users of its own tenant");
    return o;
  }
  auto api = ApiByName(api_name);
  if (!api || AccessOf(*api).resource.empty()) {
    o.status = Status::InvalidArgument("'" + api_name + "' is not an API that permission sets evaluate");
    return o;
  }
  PermissionEvaluator evaluate = [&](const sharing::AccessRequest& r) {
    if (!draft_set && remove_set.empty()) return ctx.psets->Evaluate(r, /*trace=*/true);
    sharing::PermissionDecision d;
    sharing::PermissionSet removal;
    removal.name = remove_set;
    Status s = ctx.psets->Simulate(r, draft_set ? *draft_set : removal, !draft_set, &d);
    if (!s.ok()) o.status = s;
    return d;
  };
  TenantId target = named == 0 ? subject.tenant : named;
  std::string who = "user " + std::to_string(subject.id) + " of tenant " + std::to_string(subject.tenant);
  if (AccessOf(*api).resource != "records") {
    // An administrative call: permission sets (system admins are exempt), then the
    // admin-level rules of docs/PROTOCOL.md.
    o.path = "admin";
    o.principal = subject.id;
    if (subject.level == AdminLevel::kSystemAdmin) {
      o.steps.push_back(who + " is a system admin: its administrative calls are exempt from permission sets");
      o.allowed = true;
    } else {
      sharing::AccessRequest req = RequestOf(*api, subject.id, target, "");
      sharing::PermissionDecision d = evaluate(req);
      AddSets(&o, subject.id, d);
      o.deciding_set = d.set;
      o.deciding_policy = d.policy;
      o.steps.push_back("permission sets of " + who + " for " + req.method + " " + req.resource_type +
                        " in tenant " + std::to_string(target) + ": " + d.Reason());
      o.allowed = d.allowed;
      if (!d.allowed) o.verdict = PermissionSetDenial(req, d);
    }
    o.steps.push_back("then the admin-level rules apply (docs/PROTOCOL.md, Administrative calls)");
    return o;
  }
  std::shared_ptr<const sharing::Access> access;
  o.status = draft_policy ? ctx.sharing->ResolveDraft(subject.tenant, subject.id, target, *draft_policy, &access)
                          : ctx.sharing->Resolve(subject.tenant, subject.id, target, &access);
  if (!o.status.ok()) return o;
  o.path = std::string(sharing::PathName(access->path));
  o.policy = access->policy;
  o.principal = access->principal;
  o.steps.push_back("context: " + who + " on tenant " + std::to_string(target) + ": " +
                    (access->path == sharing::Path::kDenied ? access->denial : access->Describe()));
  RecordDecision trace;
  o.verdict = DecideRecordCall(*access, subject.id, *api, object, evaluate, &trace);
  if (!o.status.ok()) return o;
  if (access->path != sharing::Path::kDenied) {
    AddSets(&o, subject.id, trace.caller_sets);
    o.steps.push_back("permission sets of user " + std::to_string(subject.id) + ": " + trace.caller_sets.Reason());
    const sharing::PermissionDecision* decider = &trace.caller_sets;
    if (trace.principal_evaluated) {
      AddSets(&o, access->principal, trace.principal_sets);
      o.steps.push_back("permission sets of user " + std::to_string(access->principal) +
                        " (the policy's user): " + trace.principal_sets.Reason());
      if (trace.caller_sets.allowed) decider = &trace.principal_sets;
    }
    o.deciding_set = decider->set;
    o.deciding_policy = decider->policy;
    o.rights = sharing::RightsToString(access->RightsOn(object));
    o.steps.push_back("role rights of user " + std::to_string(access->principal) + " on " + object +
                      (access->scoped ? " within the policy's scope" : "") + ": " + o.rights +
                      " (needs " + std::string(sharing::RightName(RightOf(*api))) + ")");
    auto sc = access->scope.find(object);
    if (sc != access->scope.end()) {
      o.scope = "row filter: " + (sc->second.row_filter.empty() ? std::string("none") : sc->second.row_filter);
      std::string fields;
      for (const auto& f : sc->second.fields) fields += (fields.empty() ? "" : ",") + f;
      o.scope += "; fields: " + (fields.empty() ? std::string("all") : fields);
      o.steps.push_back("scope of " + object + ": " + o.scope);
    }
  }
  if (o.verdict.ok()) {
    std::shared_ptr<const storage::ObjectDef> def;
    o.verdict = ctx.store->GetObject(target, object, &def);
    o.steps.push_back(o.verdict.ok() ? "object " + object + " exists: the call goes on to its arguments and the record"
                                     : o.verdict.message());
  }
  o.allowed = o.verdict.ok();
  return o;
}

}  // namespace

kj::Promise<void> AdminImpl::explain(ExplainContext context) {
  return Serve(ctx_, Api::kExplain, [&]() -> kj::Promise<void> {
    sharing::User caller = Caller();
    Authorize(caller, Api::kExplain, caller.tenant);
    auto r = context.getParams().getRequest();
    std::string api, object, remove;
    ThrowIfError(CopyName(r.getApi(), "api", ctx_.limits, &api));
    ThrowIfError(CopyName(r.getObject(), "object name", ctx_.limits, &object));
    ThrowIfError(CopyName(r.getRemovePermissionSet(), "permission set name", ctx_.limits, &remove));
    std::optional<sharing::Policy> draft_policy;
    std::optional<sharing::PermissionSet> draft_set;
    if (r.hasDraftPolicy()) {
      sharing::Policy p;
      ThrowIfError(FromWire(r.getDraftPolicy(), ctx_.limits, &p));
      draft_policy = std::move(p);
    }
    if (r.hasDraftPermissionSet()) {
      sharing::PermissionSet set;
      ThrowIfError(FromWire(r.getDraftPermissionSet(), ctx_.limits, &set));
      draft_set = std::move(set);
    }
    if ((draft_set || !remove.empty()) && caller.level != AdminLevel::kSystemAdmin) {
      ThrowIfError(Status::PermissionDenied("Access Denied: " + Describe(caller) +
                                            " may not simulate permission sets: it needs a system admin"));
    }
    UserId user = r.getUserId();
    TenantId tenant = r.getTenantId();
    const ServiceContext& ctx = ctx_;
    return Read<ExplainOut>(
        [&ctx, caller, user, tenant, api, object, draft_policy, draft_set, remove]() {
          return Explain(ctx, caller, user, tenant, api, object, draft_policy, draft_set, remove);
        },
        [context](ExplainOut& o) mutable {
          auto e = context.getResults().initExplanation();
          e.setAllowed(o.allowed);
          e.setCode(std::string(o.verdict.code_name()));
          e.setMessage(o.verdict.message());
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
          for (unsigned i = 0; i < o.steps.size(); ++i) steps.set(i, o.steps[i]);
        });
  });
}

}  // namespace cotenant::rpc
