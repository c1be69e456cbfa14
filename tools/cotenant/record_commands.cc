// `cotenant record add|get|update|delete|upsert|search` (by id, or by a unique field's
// value with --by), in the caller's tenant or, with --context,
// in another tenant's data through its data-sharing policy; and the --context and search
// options that `export-records` takes the same way.

#include <iostream>
#include <optional>
#include <tuple>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string object, id, fields, context, continuation, by, on;
  std::vector<std::string> sets, nulls, ids;
  SearchSpec search;
  uint64_t expectVersion = 0;
  uint32_t offset = 0, rows = 0;
  bool all = false, permissions = false;
  std::optional<TenantContext> tenantContext;  // for --context
};

Parameters buildParams(const std::vector<std::string>& sets, const std::vector<std::string>& nulls) {
  Parameters p;
  for (const auto& s : sets) {
    auto [name, value] = parseAssignment(s);
    p.add(name, value);  // as text: the server coerces it to the declared type
  }
  for (const auto& n : nulls) {
    if (n.empty()) throw UsageError("bad --null '': want a field name");
    p.addNull(n);
  }
  return p;
}

// A TenantContext for --context, made once the client exists.
const TenantContext* withContext(CliContext& s, Options& o) {
  o.tenantContext = tenantContextFor(s, o.context);
  return o.tenantContext ? &*o.tenantContext : nullptr;
}

void printOne(CliContext& s, const Result& r) {
  s.emit({{"record", toJson(r.getRecords().at(0))}}, [&] { printRecord(std::cout, r.getRecords().at(0)); });
}

}  // namespace

std::optional<TenantContext> tenantContextFor(CliContext& s, const std::string& tenant) {
  if (tenant.empty()) return std::nullopt;
  uint64_t tid = parseId(tenant, "context tenant id");
  try {
    return TenantContext(s.client(), tid);
  } catch (const Error& e) {
    throw Failed{e.code(), e.message()};
  }
}

void addSearchSpecOptions(CLI::App* sub, SearchSpec& spec) {
  sub->add_option("--where", spec.where, "criteria, e.g. \"age >= 30 AND last_name starts with 'S'\"");
  sub->add_option("--param", spec.params,
                  "value of the next '?' in --where, as is (no quoting; repeat in order), e.g. "
                  "--where \"last_name = ? AND age >= ?\" --param \"O'Brien\" --param 30");
  sub->add_option("--sort", spec.sort, "field[:asc|desc]");
  sub->add_option("--sort2", spec.sort2, "second sort key, field[:asc|desc]");
}

void applySearchSpec(const SearchSpec& spec, SearchQuery& q) {
  q.criteria = spec.where;
  // Sent as text: the server converts each to the type of the field it is compared with.
  for (const auto& p : spec.params) q.parameters.push_back(Value::text(p));
  if (!spec.sort.empty()) std::tie(q.sortBy, q.sortOrder) = parseSortSpec(spec.sort);
  if (!spec.sort2.empty()) std::tie(q.sortBy2, q.sortOrder2) = parseSortSpec(spec.sort2);
}

void AddRecordCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* rec = app.add_subcommand("record", "Add, get, update, delete and search records");
  rec->require_subcommand(1);
  auto contextOption = [&](CLI::App* sub) {
    sub->add_option("--context", o.context, "act on this tenant's data through its data-sharing policy");
  };

  auto* radd = s.leaf(rec, "add", "Add a record", [&s, &o] {
    Parameters p = buildParams(o.sets, o.nulls);
    Client& c = s.client();
    const TenantContext* tc = withContext(s, o);
    Result r = tc ? c.addRecord(o.object, p, *tc) : c.addRecord(o.object, p);
    check(r);
    printOne(s, r);
  });
  radd->add_option("OBJECT", o.object, "object name")->required();
  radd->add_option("--set", o.sets, "name=value (repeatable; sent as text, coerced by the server)");
  radd->add_option("--null", o.nulls, "field to set to null (repeatable)");
  contextOption(radd);

  auto* rget = s.leaf(rec, "get", "Get records by id (several ids: one call), or by a unique field's value", [&s, &o] {
    if (!o.by.empty()) {
      if (o.ids.size() != 1) throw UsageError("--by " + o.by + " takes one value, got " + std::to_string(o.ids.size()));
      Parameters p;
      p.retrieveRecordPermissions(o.permissions);
      Client& c = s.client();
      const TenantContext* tc = withContext(s, o);
      std::string f = o.fields.empty() ? "*" : o.fields;
      Value key = Value::text(o.ids[0]);
      Result r = tc ? c.getRecordBy(o.object, f, o.by, key, *tc, p) : c.getRecordBy(o.object, f, o.by, key, p);
      check(r);
      printOne(s, r);
      return;
    }
    std::vector<RecordId> ids;
    for (const auto& id : o.ids) ids.emplace_back(parseId(id, "record id"));
    Parameters p;
    p.retrieveRecordPermissions(o.permissions);
    Client& c = s.client();
    const TenantContext* tc = withContext(s, o);
    std::string f = o.fields.empty() ? "*" : o.fields;
    if (ids.size() == 1) {
      Result r = tc ? c.getRecord(o.object, f, ids[0], *tc, p) : c.getRecord(o.object, f, ids[0], p);
      check(r);
      printOne(s, r);
      return;
    }
    auto batch = tc ? c.getRecords(o.object, f, ids, *tc, p) : c.getRecords(o.object, f, ids, p);
    check(batch);
    // The records found, in the order asked; each id not found is named on stderr, and
    // the command then fails with NotFound.
    std::vector<Record> found;
    nlohmann::json missing = nlohmann::json::array();
    std::string first_missing;
    for (size_t i = 0; i < batch.value().size(); ++i) {
      const Result& r = batch.value()[i];
      if (r.ok()) {
        found.push_back(r.getRecords().at(0));
      } else {
        missing.push_back({{"id", ids[i].value()}, {"message", r.getMessage()}});
        if (first_missing.empty()) first_missing = r.getMessage();
      }
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : found) arr.push_back(toJson(x));
    s.emit({{"records", arr}, {"missing", missing}}, [&] {
      printRecords(std::cout, found);
      std::cout << found.size() << " of " << ids.size() << (ids.size() == 1 ? " record" : " records")
                << " found\n";
    });
    if (!missing.empty()) {
      throw Failed{ErrorCode::NotFound,
                   std::to_string(missing.size()) + " of " + std::to_string(ids.size()) +
                       " records not found (first: " + first_missing + ")"};
    }
  });
  rget->add_option("OBJECT", o.object, "object name")->required();
  rget->add_option("ID", o.ids, "record id(s); with --by, the field's value")->required();
  rget->add_option("--by", o.by, "name the record by this unique field's value instead of its id");
  rget->add_option("--fields", o.fields, "comma-separated projection (default: all)");
  rget->add_flag("--permissions", o.permissions, "also show canUpdate/canDelete");
  contextOption(rget);

  auto* rupdate = s.leaf(rec, "update", "Update fields of a record", [&s, &o] {
    if (o.by.empty()) parseId(o.id, "record id");
    Parameters p = buildParams(o.sets, o.nulls);
    if (p.empty()) throw UsageError("nothing to update: give --set or --null");
    Client& c = s.client();
    const TenantContext* tc = withContext(s, o);
    Value key = Value::text(o.id);
    Result r = !o.by.empty() ? (tc ? c.updateRecordBy(o.object, o.by, key, p, *tc, o.expectVersion)
                                   : c.updateRecordBy(o.object, o.by, key, p, o.expectVersion))
               : tc          ? c.updateRecord(o.object, o.id, p, *tc, o.expectVersion)
                             : c.updateRecord(o.object, o.id, p, o.expectVersion);
    check(r);
    printOne(s, r);
  });
  rupdate->add_option("OBJECT", o.object, "object name")->required();
  rupdate->add_option("ID", o.id, "record id; with --by, the field's value")->required();
  rupdate->add_option("--by", o.by, "name the record by this unique field's value instead of its id");
  rupdate->add_option("--set", o.sets, "name=value (repeatable)");
  rupdate->add_option("--null", o.nulls, "field to set to null (repeatable)");
  rupdate->add_option("--expect-version", o.expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rupdate);

  auto* rdelete = s.leaf(rec, "delete", "Delete a record", [&s, &o] {
    Client& c = s.client();
    if (!o.by.empty()) {
      const TenantContext* tc = withContext(s, o);
      Value key = Value::text(o.id);
      Result r = tc ? c.deleteRecordBy(o.object, o.by, key, *tc, o.expectVersion)
                    : c.deleteRecordBy(o.object, o.by, key, o.expectVersion);
      check(r);
      s.emit({{"deleted", {{o.by, o.id}}}},
             [&] { std::cout << "Deleted the record with " << o.by << " " << o.id << "\n"; });
      return;
    }
    uint64_t rid = parseId(o.id, "record id");
    const TenantContext* tc = withContext(s, o);
    Result r = tc ? c.deleteRecord(o.object, rid, *tc, o.expectVersion)
                  : c.deleteRecord(o.object, rid, o.expectVersion);
    check(r);
    s.emit({{"deleted", std::to_string(rid)}}, [&] { std::cout << "Deleted record " << rid << "\n"; });
  });
  rdelete->add_option("OBJECT", o.object, "object name")->required();
  rdelete->add_option("ID", o.id, "record id; with --by, the field's value")->required();
  rdelete->add_option("--by", o.by, "name the record by this unique field's value instead of its id");
  rdelete->add_option("--expect-version", o.expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rdelete);

  auto* rupsert = s.leaf(rec, "upsert", "Update the record holding a unique field's value, or add one", [&s, &o] {
    Parameters p = buildParams(o.sets, o.nulls);
    Client& c = s.client();
    const TenantContext* tc = withContext(s, o);
    Result r = tc ? c.upsertRecord(o.object, o.on, p, *tc) : c.upsertRecord(o.object, o.on, p);
    check(r);
    s.emit({{"record", toJson(r.getRecords().at(0))}, {"created", r.created()}}, [&] {
      printRecord(std::cout, r.getRecords().at(0));
      std::cout << (r.created() ? "Added" : "Updated") << " record " << r.getRecords().at(0).id() << "\n";
    });
  });
  rupsert->add_option("OBJECT", o.object, "object name")->required();
  rupsert->add_option("--on", o.on, "the unique field whose value (from --set) names the record")->required();
  rupsert->add_option("--set", o.sets, "name=value (repeatable; must set the --on field)");
  rupsert->add_option("--null", o.nulls, "field to set to null (repeatable)");
  contextOption(rupsert);

  auto* rsearch = s.leaf(rec, "search", "Search records", [&s, &o] {
    SearchQuery q;
    q.object = o.object;
    q.fields = o.fields.empty() ? "*" : o.fields;
    applySearchSpec(o.search, q);
    q.offset = o.offset;
    q.numberOfRows = o.rows;
    q.retrievePermissions = o.permissions;
    if (!o.continuation.empty()) {
      auto token = fromHex(o.continuation);
      if (!token) throw UsageError("bad --continuation '" + o.continuation + "': want the hex token a previous search printed");
      q.continuation = *token;
    }
    Client& c = s.client();
    const TenantContext* tc = withContext(s, o);
    std::vector<Record> records;
    Result r;
    while (true) {
      r = tc ? c.search(q, *tc) : c.search(q);
      check(r);
      records.insert(records.end(), r.getRecords().begin(), r.getRecords().end());
      if (!o.all || r.complete() || r.continuation().empty()) break;
      q.continuation = r.continuation();
      q.offset = 0;  // the offset applied to the first page only
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : records) arr.push_back(toJson(x));
    nlohmann::json token = r.complete() ? nlohmann::json(nullptr) : nlohmann::json(toHex(r.continuation()));
    s.emit({{"records", arr}, {"complete", r.complete()}, {"continuation", token}}, [&] {
      printRecords(std::cout, records);
      std::cout << records.size() << (records.size() == 1 ? " row" : " rows");
      if (r.complete()) {
        std::cout << "\n";
      } else {
        std::cout << "; more rows follow: --all, or --continuation " << toHex(r.continuation()) << "\n";
      }
    });
  });
  rsearch->add_option("OBJECT", o.object, "object name")->required();
  rsearch->add_option("--fields", o.fields, "comma-separated projection (default: all)");
  addSearchSpecOptions(rsearch, o.search);
  rsearch->add_option("--offset", o.offset, "rows to skip");
  rsearch->add_option("--rows", o.rows, "page size 1..1000 (default: server's, 100)");
  rsearch->add_option("--continuation", o.continuation, "resume after a page (hex token)");
  rsearch->add_flag("--all", o.all, "follow continuation tokens until the result is complete");
  rsearch->add_flag("--permissions", o.permissions, "also return canUpdate/canDelete");
  contextOption(rsearch);
}

}  // namespace cotenant::cli
