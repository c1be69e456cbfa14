// wire::Records: record calls on one tenant. Each handler copies its arguments, lets the
// gate decide (RecordsImpl::Run), calls storage within the decision's scope, and answers.

#include <kj/debug.h>

#include "rpc/search_token.h"
#include "rpc/serve.h"

namespace cotenant::rpc {
namespace {

using sharing::DecisionPtr;

// The projection a principal may see: named fields must be visible (a hidden one is
// answered exactly like an unknown one); no names = every visible field.
Status VisibleProjection(const storage::ObjectDef& def, const std::vector<std::string>& names,
                         const storage::RecordScope* scope, std::vector<int>* slots) {
  if (scope == nullptr || scope->visible_fields.empty()) return ResolveProjection(def, names, slots);
  COTENANT_RETURN_IF_ERROR(ResolveProjection(scope->Mask(def), names, slots));
  if (names.empty()) std::erase_if(*slots, [&](int s) { return !scope->FieldVisible(s); });
  return Status::OK();
}

// A batch call's list against the server's batch limit.
Status CheckBatch(const storage::Store& store, size_t size, std::string_view what) {
  size_t max_batch = store.options().limits.max_batch_records;
  if (size <= max_batch) return Status::OK();
  return Status::ResourceExhausted("the batch has " + std::to_string(size) + " " +
                                   std::string(what) + "; the limit is " +
                                   std::to_string(max_batch) + " (--max-batch)");
}

// An import batch off the wire (importRecords, PhysicalImport.add). A record the wire
// layer refuses (a name or text that is not UTF-8, too many fields) is rejected on its
// own, like one the store refuses; the store sees the rest.
struct ImportBatchIn {
  std::vector<Status> refused;               // per record sent: the wire layer's verdict
  std::vector<storage::FieldValues> records;  // the records not refused, in order
};

ImportBatchIn DecodeImportBatch(capnp::List<capnp::List<wire::Field>>::Reader list,
                                const WireLimits& limits) {
  ImportBatchIn in;
  in.refused.resize(list.size());
  in.records.reserve(list.size());
  for (unsigned i = 0; i < list.size(); ++i) {
    storage::FieldValues fields;
    in.refused[i] = FromWire(list[i], limits, "", &fields);
    if (in.refused[i].ok()) in.records.push_back(std::move(fields));
  }
  return in;
}

// One result per record sent: the store's outcome for the records it saw, the wire
// layer's refusal for the others.
void FillImportResults(const std::vector<Status>& refused,
                       const std::vector<storage::Store::ImportOutcome>& outcomes,
                       capnp::List<wire::Records::ImportResult>::Builder list) {
  size_t next = 0;
  for (unsigned i = 0; i < list.size(); ++i) {
    if (!refused[i].ok()) {
      list[i].setRejected(refused[i].ToString());
      continue;
    }
    KJ_ASSERT(next < outcomes.size(), "an import outcome is missing");
    const auto& out = outcomes[next++];
    if (out.status.ok()) {
      list[i].setId(out.id);
      list[i].setUpdated(out.updated);
    } else {
      list[i].setRejected(out.status.ToString());
    }
  }
}

RecordPermissionsView PermissionsOf(const sharing::Decision& d) {
  uint8_t r = d.rights();
  return RecordPermissionsView{(r & sharing::kUpdate) != 0, (r & sharing::kDelete) != 0};
}

// How a read answers (getRecord, getRecords): the fields the principal may see of those
// asked for, and the record permissions when asked for.
struct ReadShape {
  std::vector<int> slots;
  bool with_permissions = false;
  RecordPermissionsView perms;
  const RecordPermissionsView* permissions() const { return with_permissions ? &perms : nullptr; }
};

template <typename Params>
ReadShape ShapeOf(Params params, const WireLimits& limits, const sharing::Decision& d) {
  std::vector<std::string> projection;
  ThrowIfError(CopyProjection(params.getFields(), limits, &projection));
  ReadShape shape;
  ThrowIfError(VisibleProjection(d.object(), projection, d.scope(), &shape.slots));
  shape.with_permissions = params.getRetrievePermissions();
  shape.perms = PermissionsOf(d);
  return shape;
}

// A read tried inline first, from memory only, so that an answer from memory never leaves
// the loop; only when it needs disk (Busy) is it run again on the pool. read(cache_only)
// -> Out, which has a `status`; fill(const Out&) answers.
template <typename Out, typename Read, typename Fill>
kj::Promise<void> ReadInlineFirst(const ServiceContext& ctx, storage::TenantId home, Read read,
                                  Fill fill) {
  Out now = read(true);
  if (now.status.code() != Status::Code::kBusy) {
    fill(now);
    return kj::READY_NOW;
  }
  return ctx.pool->Submit<Out>(home, [read = std::move(read)]() { return read(false); })
      .then([fill = std::move(fill)](Out o) mutable { fill(o); });
}


struct RecordOut {
  Status status;
  storage::Record record;
  std::shared_ptr<const storage::ObjectDef> def;
  std::vector<int> slots;
};

// Runs a write that yields a record on the pool and answers with the record as the
// principal may see it (add and update), or with its id, version and system fields only
// when the call asks for a minimal reply. write(decision, &record) -> Status.
template <typename Context, typename Write>
kj::Promise<void> WriteRecord(const ServiceContext& ctx, storage::TenantId home, Context context,
                              DecisionPtr d, Write write) {
  const bool minimal = context.getParams().getMinimalReply();
  const sharing::Gate* gate = ctx.gate;
  return ctx.pool
      ->Submit<RecordOut>(home, [gate, d = std::move(d), write = std::move(write), minimal]() mutable {
        RecordOut o;
        o.status = gate->Write(&d, [&](const sharing::Decision& now) { return write(now, &o.record); });
        o.def = d->object_ptr();
        if (o.status.ok() && !minimal) o.status = VisibleProjection(*o.def, {}, d->scope(), &o.slots);
        return o;
      })
      .then([context](RecordOut o) mutable {
        ThrowIfError(o.status);
        ToWire(o.record, *o.def, o.slots, nullptr, context.getResults().initRecord());
      });
}

}  // namespace

template <typename Body>
kj::Promise<void> RecordsImpl::Run(Api api, std::string object, uint64_t record_id, Body&& body) {
  ThrowIfError(AdmitCall(ctx_, *session_));
  sharing::RecordCall call{session_->credential, api, context_, std::move(object)};
  const sharing::Gate* gate = ctx_.gate;
  auto proceed = [gate, record_id, body = kj::fwd<Body>(body)](DecisionPtr d) mutable
      -> kj::Promise<void> {
    gate->Count(*d);
    if (!d->allowed()) {
      gate->Record(*d, record_id, d->verdict().code());
      return kj::Promise<void>(ToException(d->verdict()));
    }
    // An own-tenant call has nothing to audit or meter: no continuation on the hot path.
    if (!d->cross_tenant()) return body(d);
    // A call cancelled before it settles (a search its caller abandoned) is audited as
    // such when its promise goes.
    auto settled = std::make_shared<bool>(false);
    kj::Promise<void> done = kj::evalNow([&]() { return body(d); });
    return done
        .then(
            [gate, d, record_id, settled]() {
              *settled = true;
              gate->Record(*d, record_id, Status::Code::kOk);
            },
            [gate, d, record_id, settled](kj::Exception&& e) {
              *settled = true;
              gate->Record(*d, record_id, CodeOf(e));
              kj::throwFatalException(kj::mv(e));
            })
        .attach(kj::defer([gate, d, record_id, settled] {
          if (!*settled) gate->RecordCancelled(*d, record_id);
        }));
  };
  // The hot path: a context current in the in-process cache is decided at once, without
  // a promise hop through the event loop.
  if (auto now = gate->TryDecide(call)) {
    ThrowIfError(now->status());
    return proceed(std::move(*now).value());
  }
  return ctx_.pool
      ->Submit<StatusOr<DecisionPtr>>(session_->credential.tenant,
                                      [gate, call = std::move(call)]() { return gate->Decide(call); })
      .then([proceed = kj::mv(proceed)](StatusOr<DecisionPtr> d) mutable {
        ThrowIfError(d.status());
        return proceed(std::move(d).value());
      });
}

kj::Promise<void> RecordsImpl::addRecord(AddRecordContext context) {
  return Serve(ctx_, Api::kAddRecord, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kAddRecord, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      storage::FieldValues fields;
      ThrowIfError(FromWire(context.getParams().getFields(), ctx_.limits, "", &fields));
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, session_->credential.tenant, context, std::move(d),
                         [store, fields = std::move(fields)](const sharing::Decision& d, storage::Record* out) {
                           return store->AddRecord(d.target(), d.object_name(), fields, d.principal(), out,
                                                   d.scope());
                         });
    });
  });
}

kj::Promise<void> RecordsImpl::addRecords(AddRecordsContext context) {
  return Serve(ctx_, Api::kAddRecords, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kAddRecords, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto list = context.getParams().getRecords();
      ThrowIfError(CheckBatch(*ctx_.store, list.size(), "records"));
      std::vector<storage::FieldValues> records(list.size());
      for (unsigned i = 0; i < list.size(); ++i) {
        ThrowIfError(FromWire(list[i], ctx_.limits, "record " + std::to_string(i) + ": ", &records[i]));
      }
      struct Out {
        Status status;
        std::vector<storage::RecordId> ids;
      };
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<Out>(session_->credential.tenant,
                        [store, gate = ctx_.gate, d = std::move(d), records = std::move(records)]() mutable {
            Out o;
            o.status = gate->Write(&d, [&](const sharing::Decision& now) {
              return store->AddRecords(now.target(), now.object_name(), records, now.principal(),
                                       &o.ids, now.scope());
            });
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
    return Run(Api::kUpdateRecord, object, id, [this, context, id](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      storage::FieldValues fields;
      ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
      uint64_t expected = params.getExpectedVersion();
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, session_->credential.tenant, context, std::move(d),
                         [store, id, expected, fields = std::move(fields)](const sharing::Decision& d,
                                                                          storage::Record* out) {
                           return store->UpdateRecord(d.target(), d.object_name(), id, fields, expected,
                                                      d.principal(), out, d.scope());
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
    return Run(Api::kDeleteRecord, object, id, [this, id, expected](DecisionPtr d) -> kj::Promise<void> {
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<Status>(session_->credential.tenant, [store, gate = ctx_.gate, d = std::move(d), id,
                                                         expected]() mutable {
            return gate->Write(&d, [&](const sharing::Decision& now) {
              return store->DeleteRecord(now.target(), now.object_name(), id, expected, now.scope());
            });
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
    return Run(Api::kGetRecord, object, id, [this, context, id](DecisionPtr d) mutable -> kj::Promise<void> {
      ReadShape shape = ShapeOf(context.getParams(), ctx_.limits, *d);
      auto fill = [context, shape = std::move(shape), session = session_](const RecordOut& o) mutable {
        ThrowIfError(o.status);
        ThrowIfError(session->AnswerRoom());
        auto results = context.getResults();
        ToWire(o.record, *o.def, shape.slots, shape.permissions(), results.initRecord());
        session->Built(results.totalSize().wordCount * sizeof(capnp::word));
      };
      storage::Store* store = ctx_.store;
      return ReadInlineFirst<RecordOut>(
          ctx_, session_->credential.tenant,
          [store, d = std::move(d), id](bool cache_only) {
            RecordOut o;
            o.status = store->GetRecord(d->target(), d->object_name(), id, &o.record, &o.def,
                                        cache_only, d->scope());
            return o;
          },
          std::move(fill));
    });
  });
}

kj::Promise<void> RecordsImpl::getRecords(GetRecordsContext context) {
  return Serve(ctx_, Api::kGetRecords, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    std::string object;
    ThrowIfError(CopyName(params.getObject(), "object name", ctx_.limits, &object));
    // Read once: every read of a list counts against the message's traversal limit.
    auto wire_ids = params.getIds();
    ThrowIfError(CheckBatch(*ctx_.store, wire_ids.size(), "ids"));
    std::vector<storage::RecordId> ids;
    ids.reserve(wire_ids.size());
    for (uint64_t id : wire_ids) ids.push_back(id);
    return Run(Api::kGetRecords, object, 0, [this, context, ids = std::move(ids)](DecisionPtr d) mutable
               -> kj::Promise<void> {
      ReadShape shape = ShapeOf(context.getParams(), ctx_.limits, *d);
      struct Out {
        Status status;
        std::vector<storage::Store::RecordRead> reads;
        std::shared_ptr<const storage::ObjectDef> def;
      };
      auto fill = [context, shape = std::move(shape), session = session_](const Out& o) mutable {
        ThrowIfError(o.status);
        ThrowIfError(session->AnswerRoom());
        auto results = context.getResults();
        auto list = results.initRecords(static_cast<unsigned>(o.reads.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
          const auto& r = o.reads[i];
          if (r.status.ok()) {
            ToWire(r.record, *o.def, shape.slots, shape.permissions(), list[i].initRecord());
          } else {
            list[i].setMissing(r.status.message());
          }
        }
        session->Built(results.totalSize().wordCount * sizeof(capnp::word));
      };
      storage::Store* store = ctx_.store;
      return ReadInlineFirst<Out>(
          ctx_, session_->credential.tenant,
          [store, d = std::move(d), ids = std::move(ids)](bool cache_only) {
            Out o;
            o.status = store->GetRecords(d->target(), d->object_name(), ids, &o.reads, &o.def,
                                         cache_only, d->scope());
            return o;
          },
          std::move(fill));
    });
  });
}

kj::Promise<void> RecordsImpl::searchRecords(SearchRecordsContext context) {
  return Serve(ctx_, Api::kSearchRecords, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getRequest().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kSearchRecords, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto r = context.getParams().getRequest();
      storage::SearchRequest req;
      req.object = d->object_name();
      std::vector<std::string> projection;
      ThrowIfError(CopyProjection(r.getFields(), ctx_.limits, &projection));
      // The projection and the criteria's size and encoding are checked here; its grammar and
      // the sort keys by the store.
      std::vector<int> slots;
      ThrowIfError(VisibleProjection(d->object(), projection, d->scope(), &slots));
      ThrowIfError(CopyCriteria(r.getCriteria(), "criteria", ctx_.limits, &req.criteria));
      ThrowIfError(CopyParameters(r.getParameters(), req.criteria.size(), ctx_.limits, &req.parameters));
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
      // The token is bound to the decision's scope and the query (rpc/search_token.h).
      std::string binding = TokenBinding(d->ScopeFingerprint(), req);
      auto token = r.getContinuation();
      if (token.size() > ctx_.limits.max_continuation_bytes) ThrowIfError(TokenRefused());
      if (token.size() > 0) {
        ThrowIfError(OpenToken(*ctx_.token_mac, binding,
                               std::string_view(reinterpret_cast<const char*>(token.begin()),
                                                token.size()),
                               &req.continuation));
      }
      bool with_permissions = r.getRetrievePermissions();
      RecordPermissionsView perms = PermissionsOf(*d);
      struct Out {
        Status status;
        storage::SearchResult result;
      };
      storage::Store* store = ctx_.store;
      // A search is the one call a client may cancel (or abandon by closing its
      // connection): it only reads, and may read a whole object. Its promise then goes,
      // the flag below is raised, and the search stops within a few hundred rows.
      context.allowCancellation();
      auto cancelled = std::make_shared<std::atomic<bool>>(false);
      req.cancelled = cancelled.get();
      Metrics::SearchCounters* counters = &ctx_.metrics->search_counters();
      return ctx_.pool
          ->Submit<Out>(session_->credential.tenant,
                        [store, mac = ctx_.token_mac, d = std::move(d), req = std::move(req),
                         binding = std::move(binding), cancelled, counters]() {
            Out o;
            counters->running.fetch_add(1, std::memory_order_relaxed);
            o.status = store->Search(d->target(), req, &o.result, d->scope());
            counters->running.fetch_sub(1, std::memory_order_relaxed);
            if (!o.status.ok() && cancelled->load(std::memory_order_relaxed)) {
              counters->cancelled.fetch_add(1, std::memory_order_relaxed);
              counters->cancelled_rows.fetch_add(o.result.rows_examined, std::memory_order_relaxed);
            }
            if (o.status.ok() && !o.result.continuation.empty()) {
              std::string sealed;
              o.status = SealToken(*mac, binding, o.result.continuation, &sealed);
              o.result.continuation = std::move(sealed);
            }
            return o;
          })
          .then([context, with_permissions, perms, slots = std::move(slots),
                 session = session_](Out o) mutable {
            ThrowIfError(o.status);
            ThrowIfError(session->AnswerRoom());
            auto results = context.getResults().initResult();
            auto list = results.initRecords(static_cast<unsigned>(o.result.records.size()));
            for (size_t i = 0; i < o.result.records.size(); ++i) {
              ToWire(o.result.records[i], *o.result.object, slots, with_permissions ? &perms : nullptr,
                     list[static_cast<unsigned>(i)]);
            }
            results.setComplete(o.result.complete);
            if (!o.result.continuation.empty()) {
              results.setContinuation(capnp::Data::Reader(
                  reinterpret_cast<const capnp::byte*>(o.result.continuation.data()),
                  o.result.continuation.size()));
            }
            session->Built(results.totalSize().wordCount * sizeof(capnp::word));
          })
          .attach(kj::defer([cancelled] { cancelled->store(true, std::memory_order_relaxed); }));
    });
  });
}

kj::Promise<void> RecordsImpl::importRecords(ImportRecordsContext context) {
  return Serve(ctx_, Api::kImportRecords, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kImportRecords, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      auto list = params.getRecords();
      ThrowIfError(CheckBatch(*ctx_.store, list.size(), "records"));
      storage::Store::ImportBatch batch;
      batch.owner = session_->credential.user;
      ThrowIfError(CopyName(params.getBatch().getImportId(), "import id", ctx_.limits, &batch.import_id));
      batch.sequence = params.getBatch().getSequence();
      ThrowIfError(CopyName(params.getBatch().getUpsertOn(), "upsert field", ctx_.limits, &batch.upsert_on));
      // Upserting updates records too: the rights of updateRecord as well.
      if (!batch.upsert_on.empty()) ThrowIfError(d->CheckRight(sharing::kUpdate));
      bool dry_run = params.getDryRun();
      struct Out {
        Status status;
        ImportBatchIn in;
        std::vector<storage::Store::ImportOutcome> outcomes;  // of the records not refused
        bool replayed = false;
      };
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<Out>(session_->credential.tenant,
                        [store, gate = ctx_.gate, d = std::move(d),
                         in = DecodeImportBatch(list, ctx_.limits), batch = std::move(batch),
                         dry_run]() mutable {
            Out o;
            o.in = std::move(in);
            if (!o.in.records.empty()) {
              o.status = gate->Write(&d, [&](const sharing::Decision& now) {
                o.outcomes.clear();
                return store->ImportRecords(now.target(), now.object_name(), o.in.records,
                                            now.principal(), batch, dry_run, &o.outcomes,
                                            &o.replayed, now.scope());
              });
            }
            return o;
          })
          .then([context](Out o) mutable {
            ThrowIfError(o.status);
            auto results = context.getResults();
            FillImportResults(o.in.refused, o.outcomes,
                              results.initResults(static_cast<unsigned>(o.in.refused.size())));
            results.setReplayed(o.replayed);
          });
    });
  });
}

kj::Promise<void> RecordsImpl::finishImport(FinishImportContext context) {
  return Serve(ctx_, Api::kFinishImport, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kFinishImport, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      std::string import_id;
      ThrowIfError(CopyName(context.getParams().getImportId(), "import id", ctx_.limits, &import_id));
      struct Out {
        Status status;
        uint64_t batches = 0;
      };
      storage::Store* store = ctx_.store;
      storage::UserId owner = session_->credential.user;
      return ctx_.pool
          ->Submit<Out>(session_->credential.tenant,
                        [store, d = std::move(d), owner, import_id = std::move(import_id)]() {
            Out o;
            o.status = store->FinishImport(d->target(), owner, import_id, &o.batches);
            return o;
          })
          .then([context](Out o) mutable {
            ThrowIfError(o.status);
            context.getResults().setBatches(o.batches);
          });
    });
  });
}

kj::Promise<void> RecordsImpl::describeObject(DescribeObjectContext context) {
  return Serve(ctx_, Api::kDescribeObject, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kDescribeObject, object, 0, [context](DecisionPtr d) mutable -> kj::Promise<void> {
      // The catalog is in memory: answered on the loop. Hidden fields are left out.
      storage::ObjectDef visible;
      visible.id = d->object().id;
      visible.name = d->object().name;
      for (size_t i = 0; i < d->object().fields.size(); ++i) {
        if (d->scope() == nullptr || d->scope()->FieldVisible(static_cast<int>(i))) {
          visible.fields.push_back(d->object().fields[i]);
        }
      }
      ToWire(visible, context.getResults().initObject());
      return kj::READY_NOW;
    });
  });
}

// ---- Records by key -------------------------------------------------------------------

namespace {

// The key of a call by key: the unique field's name and its value.
template <typename Params>
void CopyKey(Params params, const WireLimits& limits, std::string* field, storage::Value* value) {
  ThrowIfError(CopyName(params.getField(), "field name", limits, field));
  ThrowIfError(FromWire(params.getValue(), *field, value));
}

}  // namespace

kj::Promise<void> RecordsImpl::getRecordBy(GetRecordByContext context) {
  return Serve(ctx_, Api::kGetRecordBy, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kGetRecordBy, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      std::string field;
      storage::Value value;
      CopyKey(params, ctx_.limits, &field, &value);
      ReadShape shape = ShapeOf(params, ctx_.limits, *d);
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<RecordOut>(session_->credential.tenant,
                              [store, d = std::move(d), field = std::move(field), value = std::move(value)]() {
            RecordOut o;
            o.status = store->GetRecordBy(d->target(), d->object_name(), field, value, &o.record, &o.def,
                                          d->scope());
            return o;
          })
          .then([context, shape = std::move(shape), session = session_](RecordOut o) mutable {
            ThrowIfError(o.status);
            ThrowIfError(session->AnswerRoom());
            auto results = context.getResults();
            ToWire(o.record, *o.def, shape.slots, shape.permissions(), results.initRecord());
            session->Built(results.totalSize().wordCount * sizeof(capnp::word));
          });
    });
  });
}

kj::Promise<void> RecordsImpl::updateRecordBy(UpdateRecordByContext context) {
  return Serve(ctx_, Api::kUpdateRecordBy, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kUpdateRecordBy, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      std::string field;
      storage::Value value;
      CopyKey(params, ctx_.limits, &field, &value);
      storage::FieldValues fields;
      ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
      uint64_t expected = params.getExpectedVersion();
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, session_->credential.tenant, context, std::move(d),
                         [store, field = std::move(field), value = std::move(value), expected,
                          fields = std::move(fields)](const sharing::Decision& d, storage::Record* out) {
                           return store->UpdateRecordBy(d.target(), d.object_name(), field, value, fields,
                                                        expected, d.principal(), out, d.scope());
                         });
    });
  });
}

kj::Promise<void> RecordsImpl::deleteRecordBy(DeleteRecordByContext context) {
  return Serve(ctx_, Api::kDeleteRecordBy, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kDeleteRecordBy, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      std::string field;
      storage::Value value;
      CopyKey(params, ctx_.limits, &field, &value);
      uint64_t expected = params.getExpectedVersion();
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<Status>(session_->credential.tenant,
                           [store, gate = ctx_.gate, d = std::move(d), field = std::move(field),
                            value = std::move(value), expected]() mutable {
            return gate->Write(&d, [&](const sharing::Decision& now) {
              return store->DeleteRecordBy(now.target(), now.object_name(), field, value, expected,
                                           now.scope());
            });
          })
          .then([](Status s) { ThrowIfError(s); });
    });
  });
}

kj::Promise<void> RecordsImpl::upsertRecord(UpsertRecordContext context) {
  return Serve(ctx_, Api::kUpsertRecord, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kUpsertRecord, object, 0, [this, context](DecisionPtr d) mutable -> kj::Promise<void> {
      auto params = context.getParams();
      std::string field;
      ThrowIfError(CopyName(params.getField(), "field name", ctx_.limits, &field));
      storage::FieldValues fields;
      ThrowIfError(FromWire(params.getFields(), ctx_.limits, "", &fields));
      auto created = std::make_shared<bool>(false);
      storage::Store* store = ctx_.store;
      return WriteRecord(ctx_, session_->credential.tenant, context, std::move(d),
                         [store, field = std::move(field), fields = std::move(fields),
                          created](const sharing::Decision& d, storage::Record* out) {
                           return store->UpsertRecord(d.target(), d.object_name(), field, fields,
                                                      d.principal(), out, created.get(), d.scope());
                         })
          .then([context, created]() mutable { context.getResults().setCreated(*created); });
    });
  });
}

// ---- Physical import ---------------------------------------------------------------

// One physical import: a Store::Ingest behind a capability. Each call is decided again as a
// beginPhysicalImport of the same object by the same caller and context, and the import
// ends when the caller's scope is no longer the one it began under. Calls are taken one at
// a time in the order they came (tail_). Releasing the capability unended abandons the
// import on the pool (its files are deleted there, not on the loop).
class PhysicalImportImpl final : public wire::PhysicalImport::Server {
 public:
  PhysicalImportImpl(const ServiceContext& ctx, std::shared_ptr<const SessionState> session,
                     std::optional<storage::TenantId> context, std::string object, DecisionPtr begun,
                     std::shared_ptr<storage::Store::Ingest> ingest)
      : caller_(ctx, std::move(session), context),
        object_(std::move(object)),
        fingerprint_(begun->ScopeFingerprint()),
        begun_(std::move(begun)),
        ingest_(std::move(ingest)) {}

  ~PhysicalImportImpl() {
    if (ended_) return;
    // The ingest's scope lives in the decision it began under: both go to the job.
    caller_.ctx_.pool
        ->Submit<int>(caller_.session_->credential.tenant,
                      [ingest = ingest_, begun = begun_]() {
                        ingest->Abort();
                        return 0;
                      })
        .detach([](kj::Exception&&) {});  // Busy: the ingest is abandoned where it is released
  }

  kj::Promise<void> add(AddContext context) override {
    return Serve(caller_.ctx_, Api::kBeginPhysicalImport, [&]() {
      return InOrder([this, context]() mutable {
        return Decided([this, context]() mutable -> kj::Promise<void> {
          auto list = context.getParams().getRecords();
          ThrowIfError(CheckBatch(*caller_.ctx_.store, list.size(), "records"));
          struct Out {
            Status status;
            ImportBatchIn in;
            std::vector<storage::Store::ImportOutcome> outcomes;
          };
          return Pool<Out>([ingest = ingest_, in = DecodeImportBatch(list, caller_.ctx_.limits)]() mutable {
                   Out o;
                   o.in = std::move(in);
                   if (!o.in.records.empty()) o.status = ingest->Add(o.in.records, &o.outcomes);
                   return o;
                 })
              .then([context](Out o) mutable {
                ThrowIfError(o.status);
                FillImportResults(o.in.refused, o.outcomes,
                                  context.getResults().initResults(
                                      static_cast<unsigned>(o.in.refused.size())));
              });
        });
      });
    });
  }

  kj::Promise<void> commit(CommitContext context) override {
    return Serve(caller_.ctx_, Api::kBeginPhysicalImport, [&]() {
      return InOrder([this, context]() mutable {
        return Decided([this, context]() mutable -> kj::Promise<void> {
          struct Out {
            Status status;
            uint64_t records = 0;
          };
          ended_ = true;  // whatever the answer: a commit ends the import
          return Pool<Out>([ingest = ingest_]() {
                   Out o;
                   o.status = ingest->Commit(&o.records);
                   return o;
                 })
              .then([context](Out o) mutable {
                ThrowIfError(o.status);
                context.getResults().setRecords(o.records);
              });
        });
      });
    });
  }

  kj::Promise<void> abort(AbortContext) override {
    // Not decided: whoever holds the import may always give it up.
    return Serve(caller_.ctx_, Api::kBeginPhysicalImport, [&]() {
      return InOrder([this]() {
        ended_ = true;
        return Pool<int>([ingest = ingest_]() {
                 ingest->Abort();
                 return 0;
               })
            .ignoreResult();
      });
    });
  }

 private:
  // Runs `step` once every earlier call of this import has finished, whatever its outcome.
  template <typename Step>
  kj::Promise<void> InOrder(Step&& step) {
    auto run = tail_.then(kj::fwd<Step>(step)).fork();
    tail_ = run.addBranch().catch_([](kj::Exception&&) {});
    return run.addBranch();
  }

  // Decides the call again; runs body() when it is allowed under the scope the import began
  // with. A changed scope, or a denial (the policy or the caller's right was removed), ends
  // the import there and then; a passing refusal (the server busy) leaves it open.
  template <typename Body>
  kj::Promise<void> Decided(Body&& body) {
    auto decided = std::make_shared<bool>(false);
    return kj::evalNow([&]() {
             return caller_.Run(
                 Api::kBeginPhysicalImport, object_, 0,
                 [this, decided, body = kj::fwd<Body>(body)](DecisionPtr d) mutable -> kj::Promise<void> {
                   *decided = true;
                   if (d->ScopeFingerprint() != fingerprint_) {
                     return Abandon(ToException(Status::PermissionDenied(
                         "the caller's access to " + object_ +
                         " changed during the physical import (a data-sharing policy was changed "
                         "or removed): the import was abandoned and nothing of it is visible")));
                   }
                   return body();
                 });
           })
        .catch_([this, decided](kj::Exception&& e) -> kj::Promise<void> {
          Status::Code code = CodeOf(e);
          bool denied = code == Status::Code::kPermissionDenied || code == Status::Code::kNotFound ||
                        code == Status::Code::kUnauthenticated;
          if (*decided || !denied || ended_) return kj::mv(e);
          return Abandon(kj::mv(e));  // the denial's own answer: it names nothing more
        });
  }

  // Ends the import: its files go on the pool, and the call answers `why`.
  kj::Promise<void> Abandon(kj::Exception why) {
    ended_ = true;
    return Pool<int>([ingest = ingest_]() {
             ingest->Abort();
             return 0;
           })
        .then([why = kj::mv(why)](int) mutable -> kj::Promise<void> { return kj::mv(why); });
  }

  template <typename T, typename Fn>
  kj::Promise<T> Pool(Fn&& fn) {
    return caller_.ctx_.pool->Submit<T>(caller_.session_->credential.tenant, kj::fwd<Fn>(fn));
  }

  RecordsImpl caller_;  // decides the calls; never served as a capability itself
  const std::string object_;
  const std::string fingerprint_;  // of the scope the import began under
  DecisionPtr begun_;              // holds that scope, which the ingest uses
  std::shared_ptr<storage::Store::Ingest> ingest_;
  bool ended_ = false;
  kj::Promise<void> tail_ = kj::READY_NOW;
};

kj::Promise<void> RecordsImpl::beginPhysicalImport(BeginPhysicalImportContext context) {
  return Serve(ctx_, Api::kBeginPhysicalImport, [&]() -> kj::Promise<void> {
    std::string object;
    ThrowIfError(CopyName(context.getParams().getObject(), "object name", ctx_.limits, &object));
    return Run(Api::kBeginPhysicalImport, object, 0, [this, context, object](DecisionPtr d) mutable -> kj::Promise<void> {
      struct Out {
        Status status;
        std::shared_ptr<storage::Store::Ingest> ingest;
      };
      storage::Store* store = ctx_.store;
      return ctx_.pool
          ->Submit<Out>(session_->credential.tenant,
                        [store, d]() {
                          Out o;
                          std::unique_ptr<storage::Store::Ingest> ingest;
                          o.status = store->BeginIngest(d->target(), d->object_name(), d->principal(),
                                                        d->scope(), &ingest);
                          o.ingest = std::move(ingest);
                          return o;
                        })
          .then([this, context, object = std::move(object), d](Out o) mutable {
            ThrowIfError(o.status);
            context.getResults().setImport(kj::heap<PhysicalImportImpl>(
                ctx_, session_, context_, std::move(object), std::move(d), std::move(o.ingest)));
          });
    });
  });
}

}  // namespace cotenant::rpc
