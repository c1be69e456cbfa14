// The record calls of Client (add, batch add, update, delete, get, search), each with and
// without a TenantContext. Arguments the wire cannot carry (a malformed id, a sort order
// that is not asc or desc, a negative offset, a context of another client) are answered
// here without a round trip.

#include "loop.h"
#include "wire.h"

namespace cotenant {

using internal::Call;
using internal::fromWire;
using internal::ready;
using internal::toWire;
using internal::txt;

namespace {

// The loop-side id of a context's Records capability. False when the context belongs to
// another client.
bool contextIdFor(const ClientCore* core, const std::shared_ptr<ContextHandle>& handle,
                  uint64_t* id) {
  if (!handle || handle->core() != core) return false;
  *id = handle->id();
  return true;
}

Result wrongClient() {
  return Result(ErrorCode::InvalidArgument, "tenant context was made by another client");
}

Result badId(const RecordId& id) {
  return Result(ErrorCode::InvalidArgument, "record id '" + id.text() + "' is not a valid id");
}

}  // namespace

// Declares `contextId` for a TenantContext, or returns InvalidArgument from the caller as
// its outcome type T (Result, RecordsOutcome: both built from a code and a message).
#define COTENANT_CONTEXT_ID(ctx, T)                                       \
  uint64_t contextId = 0;                                                 \
  if (!contextIdFor(core_.get(), (ctx).handle_, &contextId)) {            \
    Result wrong = wrongClient();                                         \
    return ready(T(wrong.getCode(), wrong.getMessage()));                 \
  }

namespace {

std::future<Result> addRecordImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                  const Parameters& params) {
  return core.call<Result>(Call::AddRecord, [contextId, object, params](LoopState& s) {
    auto req = s.recordsFor(contextId).addRecordRequest();
    req.setObject(txt(object));
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    req.setMinimalReply(params.wantsMinimalReply());
    return req.send().then([](capnp::Response<wire::Records::AddRecordResults>&& r) {
      Result out;
      Record rec = fromWire(r.getRecord(), false);
      out.mutableIds().push_back(rec.id());
      out.mutableRecords().push_back(std::move(rec));
      return out;
    });
  });
}

std::future<Result> addRecordsImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                   const std::vector<Parameters>& records) {
  return core.call<Result>(Call::AddRecords, [contextId, object, records](LoopState& s) {
    auto req = s.recordsFor(contextId).addRecordsRequest();
    req.setObject(txt(object));
    auto list = req.initRecords(static_cast<unsigned>(records.size()));
    for (unsigned i = 0; i < records.size(); ++i) {
      toWire(records[i], list.init(i, static_cast<unsigned>(records[i].size())));
    }
    return req.send().then([](capnp::Response<wire::Records::AddRecordsResults>&& r) {
      Result out;
      for (uint64_t id : r.getIds()) out.mutableIds().push_back(id);
      return out;
    });
  });
}

std::future<Result> updateRecordImpl(ClientCore& core, uint64_t contextId,
                                     const std::string& object, uint64_t id,
                                     const Parameters& params, uint64_t expectedVersion) {
  return core.call<Result>(Call::UpdateRecord, [contextId, object, id, params,
                                                expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).updateRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    req.setExpectedVersion(expectedVersion);
    req.setMinimalReply(params.wantsMinimalReply());
    return req.send().then([](capnp::Response<wire::Records::UpdateRecordResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), false));
      return out;
    });
  });
}

std::future<Result> deleteRecordImpl(ClientCore& core, uint64_t contextId,
                                     const std::string& object, uint64_t id,
                                     uint64_t expectedVersion) {
  return core.call<Result>(Call::DeleteRecord, [contextId, object, id,
                                                expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).deleteRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    req.setExpectedVersion(expectedVersion);
    return req.send().then(
        [](capnp::Response<wire::Records::DeleteRecordResults>&&) { return Result(); });
  });
}

std::future<Result> getRecordImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                  const std::string& fields, uint64_t id, bool permissions) {
  std::vector<std::string> names = internal::splitFieldList(fields);
  return core.call<Result>(Call::GetRecord, [contextId, object, names, id,
                                             permissions](LoopState& s) {
    auto req = s.recordsFor(contextId).getRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    toWire(names, req.initFields(static_cast<unsigned>(names.size())));
    req.setRetrievePermissions(permissions);
    return req.send().then([permissions](capnp::Response<wire::Records::GetRecordResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), permissions));
      return out;
    });
  });
}

std::future<Result> getRecordByImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                    const std::string& fields, const std::string& field,
                                    const Value& value, bool permissions) {
  std::vector<std::string> names = internal::splitFieldList(fields);
  return core.call<Result>(Call::GetRecordBy, [contextId, object, names, field, value,
                                               permissions](LoopState& s) {
    auto req = s.recordsFor(contextId).getRecordByRequest();
    req.setObject(txt(object));
    req.setField(txt(field));
    toWire(value, req.initValue());
    toWire(names, req.initFields(static_cast<unsigned>(names.size())));
    req.setRetrievePermissions(permissions);
    return req.send().then([permissions](capnp::Response<wire::Records::GetRecordByResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), permissions));
      return out;
    });
  });
}

std::future<Result> updateRecordByImpl(ClientCore& core, uint64_t contextId,
                                       const std::string& object, const std::string& field,
                                       const Value& value, const Parameters& params,
                                       uint64_t expectedVersion) {
  return core.call<Result>(Call::UpdateRecordBy, [contextId, object, field, value, params,
                                                  expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).updateRecordByRequest();
    req.setObject(txt(object));
    req.setField(txt(field));
    toWire(value, req.initValue());
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    req.setExpectedVersion(expectedVersion);
    req.setMinimalReply(params.wantsMinimalReply());
    return req.send().then([](capnp::Response<wire::Records::UpdateRecordByResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), false));
      return out;
    });
  });
}

std::future<Result> deleteRecordByImpl(ClientCore& core, uint64_t contextId,
                                       const std::string& object, const std::string& field,
                                       const Value& value, uint64_t expectedVersion) {
  return core.call<Result>(Call::DeleteRecordBy, [contextId, object, field, value,
                                                  expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).deleteRecordByRequest();
    req.setObject(txt(object));
    req.setField(txt(field));
    toWire(value, req.initValue());
    req.setExpectedVersion(expectedVersion);
    return req.send().then(
        [](capnp::Response<wire::Records::DeleteRecordByResults>&&) { return Result(); });
  });
}

std::future<Result> upsertRecordImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                     const std::string& field, const Parameters& params) {
  return core.call<Result>(Call::UpsertRecord, [contextId, object, field, params](LoopState& s) {
    auto req = s.recordsFor(contextId).upsertRecordRequest();
    req.setObject(txt(object));
    req.setField(txt(field));
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    req.setMinimalReply(params.wantsMinimalReply());
    return req.send().then([](capnp::Response<wire::Records::UpsertRecordResults>&& r) {
      Result out;
      Record rec = fromWire(r.getRecord(), false);
      out.mutableIds().push_back(rec.id());
      out.mutableRecords().push_back(std::move(rec));
      out.setCreated(r.getCreated());
      return out;
    });
  });
}

using RecordsOutcome = Outcome<std::vector<Result>>;

// The ids as the wire takes them; false (with *bad set) at the first malformed one.
bool wireIds(const std::vector<RecordId>& ids, std::vector<uint64_t>* out, RecordsOutcome* bad) {
  out->reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].valid()) {
      Result r = badId(ids[i]);
      *bad = RecordsOutcome(r.getCode(), "ids[" + std::to_string(i) + "]: " + r.getMessage());
      return false;
    }
    out->push_back(ids[i].value());
  }
  return true;
}

std::future<RecordsOutcome> getRecordsImpl(ClientCore& core, uint64_t contextId,
                                           const std::string& object, const std::string& fields,
                                           std::vector<uint64_t> ids, bool permissions) {
  std::vector<std::string> names = internal::splitFieldList(fields);
  return core.call<RecordsOutcome>(Call::GetRecords, [contextId, object, names,
                                                      ids = std::move(ids),
                                    permissions](LoopState& s) {
    auto req = s.recordsFor(contextId).getRecordsRequest();
    req.setObject(txt(object));
    auto list = req.initIds(static_cast<unsigned>(ids.size()));
    for (unsigned i = 0; i < list.size(); ++i) list.set(i, ids[i]);
    toWire(names, req.initFields(static_cast<unsigned>(names.size())));
    req.setRetrievePermissions(permissions);
    return req.send().then([permissions](capnp::Response<wire::Records::GetRecordsResults>&& r) {
      std::vector<Result> out;
      out.reserve(r.getRecords().size());
      for (auto entry : r.getRecords()) {
        if (entry.isRecord()) {
          Result one;
          one.mutableRecords().push_back(fromWire(entry.getRecord(), permissions));
          out.push_back(std::move(one));
        } else {
          out.emplace_back(ErrorCode::NotFound, std::string(entry.getMissing().cStr()));
        }
      }
      return RecordsOutcome(std::move(out));
    });
  });
}

using ImportOutcome = Outcome<ImportReply>;

// The records of an import batch into the request's list.
void importRecordsToWire(const std::vector<Parameters>& records,
                         capnp::List<capnp::List<wire::Field>>::Builder list) {
  for (unsigned i = 0; i < records.size(); ++i) {
    toWire(records[i], list.init(i, static_cast<unsigned>(records[i].size())));
  }
}

// The per-record results of an import batch.
ImportReply importReplyFromWire(capnp::List<wire::Records::ImportResult>::Reader results) {
  ImportReply reply;
  reply.results.reserve(results.size());
  for (auto entry : results) {
    ImportReply::Entry e;
    if (entry.isId()) {
      e.id = entry.getId();
      e.updated = entry.getUpdated();
    } else {
      // "<Code>: <message>", as the server's statuses print.
      std::string text = entry.getRejected().cStr();
      size_t colon = text.find(": ");
      auto code = colon == std::string::npos ? std::nullopt
                                              : internal::parseCodeName(text.substr(0, colon));
      e.code = code.value_or(ErrorCode::Internal);
      e.message = code ? text.substr(colon + 2) : text;
    }
    reply.results.push_back(std::move(e));
  }
  return reply;
}

std::future<ImportOutcome> importRecordsImpl(ClientCore& core, uint64_t contextId,
                                             const std::string& object,
                                             const std::vector<Parameters>& records,
                                             const ImportBatch& batch, bool dryRun) {
  return core.call<ImportOutcome>(Call::ImportRecords, [contextId, object, records, batch,
                                                        dryRun](LoopState& s) {
    auto req = s.recordsFor(contextId).importRecordsRequest();
    req.setObject(txt(object));
    importRecordsToWire(records, req.initRecords(static_cast<unsigned>(records.size())));
    auto b = req.initBatch();
    b.setImportId(txt(batch.importId));
    b.setSequence(batch.sequence);
    b.setUpsertOn(txt(batch.upsertOn));
    req.setDryRun(dryRun);
    return req.send().then([](capnp::Response<wire::Records::ImportRecordsResults>&& r) {
      ImportReply reply = importReplyFromWire(r.getResults());
      reply.replayed = r.getReplayed();
      return ImportOutcome(std::move(reply));
    });
  });
}

// The capability of a PhysicalImport object on the loop.
wire::PhysicalImport::Client& importFor(LoopState& s, uint64_t id) {
  auto it = s.imports.find(id);
  if (it == s.imports.end()) {
    if (s.lostImports.count(id) != 0) {
      throw internal::LocalError{ErrorCode::Unavailable,
                                 "the connection this physical import was begun on was lost, "
                                 "which abandoned the import: begin it again"};
    }
    throw internal::LocalError{ErrorCode::Internal, "physical import is no longer registered"};
  }
  return it->second;
}

// The loop's id of the new import's capability; throws Error when it was not begun.
uint64_t beginPhysicalImportImpl(const std::shared_ptr<ClientCore>& core, uint64_t contextId,
                                 const std::string& object) {
  auto future = core->call<Outcome<uint64_t>>(Call::BeginPhysicalImport, [contextId,
                                                                          object](LoopState& s) {
    auto req = s.recordsFor(contextId).beginPhysicalImportRequest();
    req.setObject(txt(object));
    return req.send().then([&s](capnp::Response<wire::Records::BeginPhysicalImportResults>&& r) {
      uint64_t id = s.nextImportId++;
      s.imports.emplace(id, r.getImport());
      return Outcome<uint64_t>(id);
    });
  });
  Outcome<uint64_t> id = future.get();
  if (!id.ok()) throw Error(id.getCode(), id.getMessage());
  return id.value();
}

std::future<Outcome<uint64_t>> finishImportImpl(ClientCore& core, uint64_t contextId,
                                                const std::string& object,
                                                const std::string& importId) {
  return core.call<Outcome<uint64_t>>(Call::FinishImport, [contextId, object,
                                                           importId](LoopState& s) {
    auto req = s.recordsFor(contextId).finishImportRequest();
    req.setObject(txt(object));
    req.setImportId(txt(importId));
    return req.send().then([](capnp::Response<wire::Records::FinishImportResults>&& r) {
      return Outcome<uint64_t>(r.getBatches());
    });
  });
}

std::future<Outcome<ObjectInfo>> describeObjectImpl(ClientCore& core, uint64_t contextId,
                                                    const std::string& object) {
  return core.call<Outcome<ObjectInfo>>(Call::DescribeObject, [contextId, object](LoopState& s) {
    auto req = s.recordsFor(contextId).describeObjectRequest();
    req.setObject(txt(object));
    return req.send().then([](capnp::Response<wire::Records::DescribeObjectResults>&& r) {
      return Outcome<ObjectInfo>(fromWire(r.getObject()));
    });
  });
}

std::future<Result> searchImpl(ClientCore& core, uint64_t contextId, const SearchQuery& q) {
  auto desc1 = internal::parseSortDescending(q.sortOrder);
  if (!desc1) {
    return ready(Result(ErrorCode::InvalidArgument,
                        "sort order '" + q.sortOrder + "' is not asc or desc"));
  }
  auto desc2 = internal::parseSortDescending(q.sortOrder2);
  if (!desc2) {
    return ready(Result(ErrorCode::InvalidArgument,
                        "sort order '" + q.sortOrder2 + "' is not asc or desc"));
  }
  std::vector<std::string> names = internal::splitFieldList(q.fields);
  return core.call<Result>(Call::SearchRecords, [contextId, q, names, d1 = *desc1,
                                                 d2 = *desc2](LoopState& s) {
    auto req = s.recordsFor(contextId).searchRecordsRequest();
    auto r = req.initRequest();
    r.setObject(txt(q.object));
    toWire(names, r.initFields(static_cast<unsigned>(names.size())));
    r.setCriteria(txt(q.criteria));
    auto params = r.initParameters(static_cast<unsigned>(q.parameters.size()));
    for (size_t i = 0; i < q.parameters.size(); ++i) toWire(q.parameters[i], params[static_cast<unsigned>(i)]);
    r.setSortBy(txt(q.sortBy));
    r.setSortOrder(d1 ? wire::SortOrder::DESCENDING : wire::SortOrder::ASCENDING);
    r.setSortBy2(txt(q.sortBy2));
    r.setSortOrder2(d2 ? wire::SortOrder::DESCENDING : wire::SortOrder::ASCENDING);
    r.setOffset(q.offset);
    r.setNumberOfRows(q.numberOfRows);
    r.setContinuation(capnp::Data::Reader(
        reinterpret_cast<const kj::byte*>(q.continuation.data()), q.continuation.size()));
    r.setRetrievePermissions(q.retrievePermissions);
    bool perms = q.retrievePermissions;
    return req.send().then([perms](capnp::Response<wire::Records::SearchRecordsResults>&& resp) {
      Result out;
      auto page = resp.getResult();
      for (auto rec : page.getRecords()) out.mutableRecords().push_back(fromWire(rec, perms));
      out.setComplete(page.getComplete());
      auto token = page.getContinuation();
      out.setContinuation(std::string(reinterpret_cast<const char*>(token.begin()), token.size()));
      return out;
    });
  });
}

SearchQuery detailedQuery(const std::string& object, const std::string& fields,
                          const std::string& criteria, const std::string& sortBy,
                          const std::string& sortOrder, const std::string& sortBy2,
                          const std::string& sortOrder2, uint32_t offset, uint32_t rows,
                          const Parameters& params) {
  SearchQuery q;
  q.object = object;
  q.fields = fields;
  q.criteria = criteria;
  q.sortBy = sortBy;
  q.sortOrder = sortOrder;
  q.sortBy2 = sortBy2;
  q.sortOrder2 = sortOrder2;
  q.offset = offset;
  q.numberOfRows = rows;
  q.retrievePermissions = params.retrievesRecordPermissions();
  return q;
}

// Negative offsets and row counts cannot be sent (the wire fields are unsigned).
std::optional<Result> checkPaging(int offset, int numberOfRows) {
  if (offset < 0) {
    return Result(ErrorCode::InvalidArgument, "offset must be >= 0, got " + std::to_string(offset));
  }
  if (numberOfRows < 0) {
    return Result(ErrorCode::InvalidArgument,
                  "numberOfRows must be >= 0, got " + std::to_string(numberOfRows));
  }
  return std::nullopt;
}

}  // namespace

std::future<Result> Client::addRecordAsync(const std::string& object, const Parameters& params) {
  return addRecordImpl(*core_, 0, object, params);
}
std::future<Result> Client::addRecordAsync(const std::string& object, const Parameters& params,
                                           const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return addRecordImpl(*core_, contextId, object, params);
}
Result Client::addRecord(const std::string& object, const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return addRecordAsync(object, params).get();
}
Result Client::addRecord(const std::string& object, const Parameters& params,
                         const TenantContext& ctx) {
  ClientCore::CallerThreadScope caller(*core_);
  return addRecordAsync(object, params, ctx).get();
}

std::future<Result> Client::addRecordsAsync(const std::string& object,
                                            const std::vector<Parameters>& records) {
  return addRecordsImpl(*core_, 0, object, records);
}
std::future<Result> Client::addRecordsAsync(const std::string& object,
                                            const std::vector<Parameters>& records,
                                            const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return addRecordsImpl(*core_, contextId, object, records);
}
Result Client::addRecords(const std::string& object, const std::vector<Parameters>& records) {
  ClientCore::CallerThreadScope caller(*core_);
  return addRecordsAsync(object, records).get();
}
Result Client::addRecords(const std::string& object, const std::vector<Parameters>& records,
                          const TenantContext& ctx) {
  ClientCore::CallerThreadScope caller(*core_);
  return addRecordsAsync(object, records, ctx).get();
}

std::future<Result> Client::updateRecordAsync(const std::string& object, RecordId id,
                                              const Parameters& params,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  return updateRecordImpl(*core_, 0, object, id.value(), params, expectedVersion);
}
std::future<Result> Client::updateRecordAsync(const std::string& object, RecordId id,
                                              const Parameters& params, const TenantContext& ctx,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx, Result);
  return updateRecordImpl(*core_, contextId, object, id.value(), params, expectedVersion);
}
Result Client::updateRecord(const std::string& object, RecordId id, const Parameters& params,
                            uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return updateRecordAsync(object, id, params, expectedVersion).get();
}
Result Client::updateRecord(const std::string& object, RecordId id, const Parameters& params,
                            const TenantContext& ctx, uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return updateRecordAsync(object, id, params, ctx, expectedVersion).get();
}

std::future<Result> Client::deleteRecordAsync(const std::string& object, RecordId id,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  return deleteRecordImpl(*core_, 0, object, id.value(), expectedVersion);
}
std::future<Result> Client::deleteRecordAsync(const std::string& object, RecordId id,
                                              const TenantContext& ctx,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx, Result);
  return deleteRecordImpl(*core_, contextId, object, id.value(), expectedVersion);
}
Result Client::deleteRecord(const std::string& object, RecordId id, uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return deleteRecordAsync(object, id, expectedVersion).get();
}
Result Client::deleteRecord(const std::string& object, RecordId id, const TenantContext& ctx,
                            uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return deleteRecordAsync(object, id, ctx, expectedVersion).get();
}

std::future<Result> Client::getRecordAsync(const std::string& object, const std::string& fields,
                                           RecordId id, const Parameters& params) {
  if (!id.valid()) return ready(badId(id));
  return getRecordImpl(*core_, 0, object, fields, id.value(),
                       params.retrievesRecordPermissions());
}
std::future<Result> Client::getRecordAsync(const std::string& object, const std::string& fields,
                                           RecordId id, const TenantContext& ctx,
                                           const Parameters& params) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx, Result);
  return getRecordImpl(*core_, contextId, object, fields, id.value(),
                       params.retrievesRecordPermissions());
}
Result Client::getRecord(const std::string& object, const std::string& fields, RecordId id,
                         const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordAsync(object, fields, id, params).get();
}
Result Client::getRecord(const std::string& object, const std::string& fields, RecordId id,
                         const TenantContext& ctx, const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordAsync(object, fields, id, ctx, params).get();
}

std::future<RecordsOutcome> Client::getRecordsAsync(const std::string& object,
                                                    const std::string& fields,
                                                    const std::vector<RecordId>& ids,
                                                    const Parameters& params) {
  std::vector<uint64_t> wire;
  RecordsOutcome bad(std::vector<Result>{});
  if (!wireIds(ids, &wire, &bad)) return ready(std::move(bad));
  return getRecordsImpl(*core_, 0, object, fields, std::move(wire),
                        params.retrievesRecordPermissions());
}
std::future<RecordsOutcome> Client::getRecordsAsync(const std::string& object,
                                                    const std::string& fields,
                                                    const std::vector<RecordId>& ids,
                                                    const TenantContext& ctx,
                                                    const Parameters& params) {
  std::vector<uint64_t> wire;
  RecordsOutcome bad(std::vector<Result>{});
  if (!wireIds(ids, &wire, &bad)) return ready(std::move(bad));
  COTENANT_CONTEXT_ID(ctx, RecordsOutcome);
  return getRecordsImpl(*core_, contextId, object, fields, std::move(wire),
                        params.retrievesRecordPermissions());
}
RecordsOutcome Client::getRecords(const std::string& object, const std::string& fields,
                                  const std::vector<RecordId>& ids, const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordsAsync(object, fields, ids, params).get();
}
RecordsOutcome Client::getRecords(const std::string& object, const std::string& fields,
                                  const std::vector<RecordId>& ids, const TenantContext& ctx,
                                  const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordsAsync(object, fields, ids, ctx, params).get();
}

// The simple search is the detailed one with its defaults: by record id, the first page of
// the server's default size.
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const Parameters& params) {
  return searchRecords(object, fields, criteria, "", "asc", "", "asc", 0, 0, params);
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const TenantContext& ctx,
                             const Parameters& params) {
  return searchRecords(object, fields, criteria, "", "asc", "", "asc", 0, 0, ctx, params);
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const std::string& sortBy,
                             const std::string& sortOrder, const std::string& sortBy2,
                             const std::string& sortOrder2, int offset, int numberOfRows,
                             const Parameters& params) {
  if (auto bad = checkPaging(offset, numberOfRows)) return *bad;
  return search(detailedQuery(object, fields, criteria, sortBy, sortOrder, sortBy2, sortOrder2,
                              static_cast<uint32_t>(offset), static_cast<uint32_t>(numberOfRows),
                              params));
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const std::string& sortBy,
                             const std::string& sortOrder, const std::string& sortBy2,
                             const std::string& sortOrder2, int offset, int numberOfRows,
                             const TenantContext& ctx, const Parameters& params) {
  if (auto bad = checkPaging(offset, numberOfRows)) return *bad;
  return search(detailedQuery(object, fields, criteria, sortBy, sortOrder, sortBy2, sortOrder2,
                              static_cast<uint32_t>(offset), static_cast<uint32_t>(numberOfRows),
                              params),
                ctx);
}

std::future<Result> Client::searchAsync(const SearchQuery& query) {
  return searchImpl(*core_, 0, query);
}
std::future<Result> Client::searchAsync(const SearchQuery& query, const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return searchImpl(*core_, contextId, query);
}
Result Client::search(const SearchQuery& query) {
  ClientCore::CallerThreadScope caller(*core_);
  return searchAsync(query).get();
}
Result Client::search(const SearchQuery& query, const TenantContext& ctx) {
  ClientCore::CallerThreadScope caller(*core_);
  return searchAsync(query, ctx).get();
}

std::future<ImportOutcome> Client::importRecordsAsync(const std::string& object,
                                                      const std::vector<Parameters>& records,
                                                      const ImportBatch& batch, bool dryRun) {
  return importRecordsImpl(*core_, 0, object, records, batch, dryRun);
}
std::future<ImportOutcome> Client::importRecordsAsync(const std::string& object,
                                                      const std::vector<Parameters>& records,
                                                      const ImportBatch& batch,
                                                      const TenantContext& ctx, bool dryRun) {
  COTENANT_CONTEXT_ID(ctx, ImportOutcome);
  return importRecordsImpl(*core_, contextId, object, records, batch, dryRun);
}
ImportOutcome Client::importRecords(const std::string& object,
                                    const std::vector<Parameters>& records,
                                    const ImportBatch& batch, bool dryRun) {
  return importRecordsAsync(object, records, batch, dryRun).get();
}
ImportOutcome Client::importRecords(const std::string& object,
                                    const std::vector<Parameters>& records,
                                    const ImportBatch& batch, const TenantContext& ctx,
                                    bool dryRun) {
  return importRecordsAsync(object, records, batch, ctx, dryRun).get();
}

std::unique_ptr<PhysicalImport> Client::beginPhysicalImport(const std::string& object) {
  return std::unique_ptr<PhysicalImport>(
      new PhysicalImport(core_, beginPhysicalImportImpl(core_, 0, object)));
}
std::unique_ptr<PhysicalImport> Client::beginPhysicalImport(const std::string& object,
                                                            const TenantContext& ctx) {
  uint64_t contextId = 0;
  if (!contextIdFor(core_.get(), ctx.handle_, &contextId)) {
    Result wrong = wrongClient();
    throw Error(wrong.getCode(), wrong.getMessage());
  }
  return std::unique_ptr<PhysicalImport>(
      new PhysicalImport(core_, beginPhysicalImportImpl(core_, contextId, object)));
}

// ---- PhysicalImport -------------------------------------------------------------------

PhysicalImport::PhysicalImport(std::shared_ptr<ClientCore> core, uint64_t id)
    : core_(std::move(core)), id_(id) {}

PhysicalImport::~PhysicalImport() {
  // Releasing the capability abandons an import that is still open.
  uint64_t id = id_;
  core_->post([id](LoopState& s) {
    s.imports.erase(id);
    s.lostImports.erase(id);
  });
}

std::future<ImportOutcome> PhysicalImport::addAsync(const std::vector<Parameters>& records) {
  return core_->call<ImportOutcome>(Call::PhysicalImportAdd, [id = id_, records](LoopState& s) {
    auto req = importFor(s, id).addRequest();
    importRecordsToWire(records, req.initRecords(static_cast<unsigned>(records.size())));
    return req.send().then([](capnp::Response<wire::PhysicalImport::AddResults>&& r) {
      return ImportOutcome(importReplyFromWire(r.getResults()));
    });
  });
}
ImportOutcome PhysicalImport::add(const std::vector<Parameters>& records) { return addAsync(records).get(); }

Outcome<uint64_t> PhysicalImport::commit() {
  return core_
      ->call<Outcome<uint64_t>>(Call::PhysicalImportCommit, [id = id_](LoopState& s) {
        return importFor(s, id).commitRequest().send().then(
            [](capnp::Response<wire::PhysicalImport::CommitResults>&& r) {
              return Outcome<uint64_t>(r.getRecords());
            });
      })
      .get();
}

Result PhysicalImport::abort() {
  return core_
      ->call<Result>(Call::PhysicalImportAbort, [id = id_](LoopState& s) {
        return importFor(s, id).abortRequest().send().then(
            [](capnp::Response<wire::PhysicalImport::AbortResults>&&) { return Result(); });
      })
      .get();
}

Outcome<uint64_t> Client::finishImport(const std::string& object, const std::string& importId) {
  return finishImportImpl(*core_, 0, object, importId).get();
}
Outcome<uint64_t> Client::finishImport(const std::string& object, const std::string& importId,
                                       const TenantContext& ctx) {
  auto call = [&] {
    COTENANT_CONTEXT_ID(ctx, Outcome<uint64_t>);
    return finishImportImpl(*core_, contextId, object, importId);
  };
  return call().get();
}

Outcome<ObjectInfo> Client::describeObject(const std::string& object) {
  return describeObjectImpl(*core_, 0, object).get();
}
Outcome<ObjectInfo> Client::describeObject(const std::string& object, const TenantContext& ctx) {
  auto call = [&] {
    COTENANT_CONTEXT_ID(ctx, Outcome<ObjectInfo>);
    return describeObjectImpl(*core_, contextId, object);
  };
  return call().get();
}

// ---- Records by key --------------------------------------------------------------------

std::future<Result> Client::getRecordByAsync(const std::string& object, const std::string& fields,
                                             const std::string& field, const Value& value,
                                             const Parameters& params) {
  return getRecordByImpl(*core_, 0, object, fields, field, value, params.retrievesRecordPermissions());
}
std::future<Result> Client::getRecordByAsync(const std::string& object, const std::string& fields,
                                             const std::string& field, const Value& value,
                                             const TenantContext& ctx, const Parameters& params) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return getRecordByImpl(*core_, contextId, object, fields, field, value,
                         params.retrievesRecordPermissions());
}
Result Client::getRecordBy(const std::string& object, const std::string& fields,
                           const std::string& field, const Value& value, const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordByAsync(object, fields, field, value, params).get();
}
Result Client::getRecordBy(const std::string& object, const std::string& fields,
                           const std::string& field, const Value& value, const TenantContext& ctx,
                           const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return getRecordByAsync(object, fields, field, value, ctx, params).get();
}

std::future<Result> Client::updateRecordByAsync(const std::string& object, const std::string& field,
                                                const Value& value, const Parameters& params,
                                                uint64_t expectedVersion) {
  return updateRecordByImpl(*core_, 0, object, field, value, params, expectedVersion);
}
std::future<Result> Client::updateRecordByAsync(const std::string& object, const std::string& field,
                                                const Value& value, const Parameters& params,
                                                const TenantContext& ctx, uint64_t expectedVersion) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return updateRecordByImpl(*core_, contextId, object, field, value, params, expectedVersion);
}
Result Client::updateRecordBy(const std::string& object, const std::string& field, const Value& value,
                              const Parameters& params, uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return updateRecordByAsync(object, field, value, params, expectedVersion).get();
}
Result Client::updateRecordBy(const std::string& object, const std::string& field, const Value& value,
                              const Parameters& params, const TenantContext& ctx,
                              uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return updateRecordByAsync(object, field, value, params, ctx, expectedVersion).get();
}

std::future<Result> Client::deleteRecordByAsync(const std::string& object, const std::string& field,
                                                const Value& value, uint64_t expectedVersion) {
  return deleteRecordByImpl(*core_, 0, object, field, value, expectedVersion);
}
std::future<Result> Client::deleteRecordByAsync(const std::string& object, const std::string& field,
                                                const Value& value, const TenantContext& ctx,
                                                uint64_t expectedVersion) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return deleteRecordByImpl(*core_, contextId, object, field, value, expectedVersion);
}
Result Client::deleteRecordBy(const std::string& object, const std::string& field, const Value& value,
                              uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return deleteRecordByAsync(object, field, value, expectedVersion).get();
}
Result Client::deleteRecordBy(const std::string& object, const std::string& field, const Value& value,
                              const TenantContext& ctx, uint64_t expectedVersion) {
  ClientCore::CallerThreadScope caller(*core_);
  return deleteRecordByAsync(object, field, value, ctx, expectedVersion).get();
}

std::future<Result> Client::upsertRecordAsync(const std::string& object, const std::string& field,
                                              const Parameters& params) {
  return upsertRecordImpl(*core_, 0, object, field, params);
}
std::future<Result> Client::upsertRecordAsync(const std::string& object, const std::string& field,
                                              const Parameters& params, const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx, Result);
  return upsertRecordImpl(*core_, contextId, object, field, params);
}
Result Client::upsertRecord(const std::string& object, const std::string& field,
                            const Parameters& params) {
  ClientCore::CallerThreadScope caller(*core_);
  return upsertRecordAsync(object, field, params).get();
}
Result Client::upsertRecord(const std::string& object, const std::string& field,
                            const Parameters& params, const TenantContext& ctx) {
  ClientCore::CallerThreadScope caller(*core_);
  return upsertRecordAsync(object, field, params, ctx).get();
}

#undef COTENANT_CONTEXT_ID

}  // namespace cotenant
