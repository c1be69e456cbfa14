// wire::Admin, a tenant's records as stored: readTenantRecords and restoreTenantRecords
// (tenant dump and restore, docs/CLI.md), both on the work pool, system admins only.

#include "rpc/convert.h"
#include "rpc/serve.h"

namespace cotenant::rpc {

using sharing::Api;

kj::Promise<void> AdminImpl::readTenantRecords(ReadTenantRecordsContext context) {
  return Serve(ctx_, Api::kReadTenantRecords, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string object;
    args.Name(params.getObject(), "object name", &object);
    uint64_t after = params.getAfterId();
    uint32_t limit = params.getLimit();
    const storage::Store* store = ctx_.store;
    struct Out : AdminOut {
      std::vector<storage::Record> records;
      std::shared_ptr<const storage::ObjectDef> def;
      bool complete = true;
    };
    return Run<Out>(
        Call(Api::kReadTenantRecords, params.getTenantId()), args.status(),
        [store, object = std::move(object), after, limit](const sharing::AdminDecision& d) {
          Out o;
          o.status = store->ReadRecords(d.target, object, after, limit, &o.records, &o.complete, &o.def);
          o.what = "records of object " + object;
          o.detail = "read " + std::to_string(o.records.size()) + " after id " + std::to_string(after) +
                     " (tenant dump)";
          return o;
        },
        [context](Out& o) mutable {
          auto res = context.getResults();
          auto list = res.initRecords(static_cast<unsigned>(o.records.size()));
          for (size_t i = 0; i < o.records.size(); ++i) {
            ToWire(o.records[i], *o.def, list[static_cast<unsigned>(i)]);
          }
          res.setComplete(o.complete);
        });
  });
}

kj::Promise<void> AdminImpl::restoreTenantRecords(RestoreTenantRecordsContext context) {
  return Serve(ctx_, Api::kRestoreTenantRecords, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string object;
    args.Name(params.getObject(), "object name", &object);
    auto list = params.getRecords();
    std::vector<storage::Store::RestoredRecord> records;
    size_t max = ctx_.store->options().limits.max_batch_records;
    if (list.size() > max) {
      args.Take(Status::ResourceExhausted("a batch may hold at most " + std::to_string(max) +
                                          " records; got " + std::to_string(list.size())));
    } else {
      records.resize(list.size());
      for (unsigned i = 0; i < list.size() && args.status().ok(); ++i) {
        auto in = list[i];
        auto& r = records[i];
        r.id = in.getId();
        r.version = in.getVersion();
        r.created_by = in.getCreatedBy();
        r.created_at = in.getCreatedAt();
        r.modified_by = in.getModifiedBy();
        r.modified_at = in.getModifiedAt();
        args.Take(FromWire(in.getFields(), ctx_.limits, "record " + std::to_string(i) + ": ", &r.fields));
      }
    }
    storage::Store* store = ctx_.store;
    auto count = static_cast<uint32_t>(records.size());
    return Run<AdminOut>(
        Call(Api::kRestoreTenantRecords, params.getTenantId()), args.status(),
        [store, object = std::move(object), records = std::move(records)](const sharing::AdminDecision& d) {
          AdminOut o;
          o.status = store->RestoreRecords(d.target, object, records);
          o.what = "records of object " + object;
          o.detail = "restored " + std::to_string(records.size()) +
                     (records.empty() ? std::string()
                                      : " with ids " + std::to_string(records.front().id) + " to " +
                                            std::to_string(records.back().id)) +
                     " (tenant restore)";
          return o;
        },
        [context, count](AdminOut&) mutable { context.getResults().setRestored(count); });
  });
}

}  // namespace cotenant::rpc
