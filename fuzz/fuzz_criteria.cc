// The criteria language (storage/criteria_parse.cc, criteria_eval.cc) and the search
// planner (storage/search.cc): arbitrary text is parsed; when it parses it is bound to a
// fixed object, evaluated on a fixed set of records, and run as a search over a store
// holding exactly those records. The planner may choose any index or a scan; whatever
// it chooses must return exactly the records the expression matches, in the requested
// order, and paging with continuation tokens must return the same rows as one page.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "storage/criteria.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

struct World {
  std::unique_ptr<Store> store;
  TenantId tenant = 0;
  std::shared_ptr<const ObjectDef> def;
  std::vector<Record> records;  // as stored, in id order
  // A principal's scope: rows with n > 0 or no n, field "note" hidden.
  std::unique_ptr<criteria::BoundExpr> row_filter;
  RecordScope scope;
};

Value T(const char* s) { return Value::Text(s); }

World* MakeWorld() {
  auto* w = new World;
  StoreOptions o;
  o.path = fuzz::ScratchDir("criteria");
  o.block_cache_bytes = 4 << 20;
  o.memtable_bytes = 4 << 20;
  o.min_free_disk_bytes = 0;
  o.background_jobs = 1;
  fuzz::CheckOk(Store::Open(o, &w->store), "open store");
  TenantInfo t;
  fuzz::CheckOk(w->store->CreateTenant("acme", TenantKind::kTenant, 0, &t), "tenant");
  w->tenant = t.id;
  ObjectDef def;
  fuzz::CheckOk(w->store->CreateObject(
                    t.id, "Things",
                    {{"name", FieldType::kText, false, true},
                     {"note", FieldType::kText, false, false},
                     {"n", FieldType::kInt, false, true},
                     {"m", FieldType::kInt, false, false},
                     {"f", FieldType::kFloat, false, true},
                     {"b", FieldType::kBool, false, true},
                     {"t", FieldType::kTimestamp, false, true},
                     {"u", FieldType::kTimestamp, false, false}},
                    &def),
                "object");
  fuzz::CheckOk(w->store->GetObject(t.id, "Things", &w->def), "get object");
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const double kInf = std::numeric_limits<double>::infinity();
  struct Row {
    Value name, note, n, m, f, b, t, u;
  };
  const std::vector<Row> rows = {
      {T("alpha"), T("first"), Value::Int(1), Value::Int(1), Value::Float(1.5), Value::Bool(true),
       Value::Time(1714564800000000), Value::Time(0)},
      {T("beta"), T(""), Value::Int(-1), Value::Int(2), Value::Float(-0.0), Value::Bool(false),
       Value::Time(-1), Value::Time(1)},
      {T(""), T("it's"), Value::Int(0), Value(), Value::Float(0.0), Value(), Value::Time(0), Value()},
      {T("alp"), Value(), Value::Int(kMax), Value::Int(kMin), Value::Float(kInf), Value::Bool(true),
       Value::Time(kMax), Value::Time(kMin)},
      {T("Alpha"), T("caf\xc3\xa9"), Value::Int(kMin), Value::Int(kMax), Value::Float(-kInf),
       Value::Bool(false), Value::Time(kMin), Value::Time(kMax)},
      {Value(), T("x"), Value(), Value::Int(0), Value(), Value::Bool(true), Value(), Value::Time(5)},
      {T("alpha\xff"), T("%_*"), Value::Int(42), Value::Int(42), Value::Float(42.0),
       Value::Bool(true), Value::Time(1), Value::Time(1)},
      {T("a'b"), T("a b"), Value::Int(255), Value::Int(-255), Value::Float(1e308),
       Value::Bool(false), Value::Time(86400000000), Value::Time(-86400000000)},
      {T("zeta"), T("Zeta"), Value::Int(256), Value(), Value::Float(-1e-308), Value(),
       Value::Time(253402300799999999), Value()},
      {T("alpha"), T("second"), Value::Int(1), Value::Int(3), Value::Float(1.5), Value::Bool(true),
       Value::Time(1714564800000000), Value::Time(2)},
  };
  for (const auto& r : rows) {
    FieldValues fv = {{"name", r.name}, {"note", r.note}, {"n", r.n}, {"m", r.m},
                      {"f", r.f},       {"b", r.b},       {"t", r.t}, {"u", r.u}};
    Record out;
    fuzz::CheckOk(w->store->AddRecord(t.id, "Things", fv, /*user=*/3, &out), "add record");
    w->records.push_back(std::move(out));
  }
  fuzz::CheckOk(criteria::Compile("n > 0 OR n IS NULL", *w->def, &w->row_filter), "row filter");
  w->scope.row_filter = w->row_filter.get();
  w->scope.visible_fields.assign(w->def->fields.size(), true);
  w->scope.visible_fields[1] = false;  // note
  return w;
}

World& W() {
  static World* w = MakeWorld();
  return *w;
}

// Sort orders tried, one per input (chosen by the text's length): id order, index
// orders (ascending and descending), an unindexed field (the bounded heap), two keys.
const std::vector<std::vector<SortKey>>& Sorts() {
  static const auto* s = new std::vector<std::vector<SortKey>>{
      {},
      {{"id", true}},
      {{"n", false}},
      {{"name", true}},
      {{"note", false}},
      {{"f", false}, {"m", true}},
      {{"t", true}},
      {{"modifiedAt", false}, {"b", true}},
  };
  return *s;
}

std::vector<RecordId> Ids(const std::vector<Record>& rs) {
  std::vector<RecordId> ids;
  for (const auto& r : rs) ids.push_back(r.id);
  return ids;
}

std::string Show(const std::vector<RecordId>& ids) {
  std::string s = "[";
  for (RecordId id : ids) s += std::to_string(id) + " ";
  return s + "]";
}

}  // namespace
}  // namespace cotenant::storage

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)cotenant::storage::W();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cotenant::storage;
  namespace criteria = cotenant::storage::criteria;
  std::string text(reinterpret_cast<const char*>(data), size);
  World& w = W();

  std::unique_ptr<criteria::Expr> expr;
  cotenant::Status parsed = criteria::Parse(text, &expr);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.IsInvalidArgument(), parsed.ToString());
    FUZZ_CHECK(parsed.message().rfind("criteria: ", 0) == 0, parsed.message());
    return 0;
  }
  std::unique_ptr<criteria::BoundExpr> bound;
  cotenant::Status b = criteria::Bind(expr.get(), *w.def, &bound);
  if (!b.ok()) FUZZ_CHECK(b.IsInvalidArgument(), b.ToString());

  SearchRequest req;
  req.object = "Things";
  req.criteria = text;
  req.sort = Sorts()[size % Sorts().size()];
  req.rows = 1000;
  SearchResult all;
  cotenant::Status s = w.store->Search(w.tenant, req, &all);
  if (!b.ok()) {
    FUZZ_CHECK(!s.ok(), "search accepts criteria that Bind refused: " + b.ToString());
    return 0;
  }
  if (text.size() > w.store->options().limits.max_criteria_bytes) {
    FUZZ_CHECK(!s.ok(), "oversized criteria accepted");
    return 0;
  }
  cotenant::fuzz::CheckOk(s, "search of bound criteria");
  FUZZ_CHECK(all.complete, "one page holds every row");

  // Exactly the matching records, whatever the plan.
  std::set<RecordId> expected;
  for (const Record& r : w.records) {
    if (bound == nullptr || bound->Matches(r)) expected.insert(r.id);
  }
  std::vector<RecordId> got = Ids(all.records);
  std::set<RecordId> got_set(got.begin(), got.end());
  FUZZ_CHECK(got_set.size() == got.size(), "a row returned twice by plan " + all.plan);
  FUZZ_CHECK(got_set == expected, "plan " + all.plan + " returned " + Show(got));
  for (const Record& r : all.records) {
    FUZZ_CHECK(bound == nullptr || bound->Matches(r), "returned row does not match");
  }
  // In the requested order: each key by Value::Compare (nulls last ascending, first
  // descending), then the id ascending.
  auto before = [&](const Record& a, const Record& b) {
    for (const auto& k : req.sort) {
      int slot = *w.def->Slot(k.field);
      int c = a.Get(slot).Compare(b.Get(slot));
      if (c != 0) return k.descending ? c > 0 : c < 0;
    }
    return a.id < b.id;
  };
  for (size_t i = 1; i < all.records.size(); ++i) {
    FUZZ_CHECK(before(all.records[i - 1], all.records[i]),
               "plan " + all.plan + " returned " + Show(got) + " out of order");
  }

  // Paging with continuation tokens, and with an offset, gives the same rows in order.
  SearchRequest page = req;
  page.rows = 1 + static_cast<uint32_t>(size % 3);
  std::vector<RecordId> paged;
  for (int i = 0; i < 64; ++i) {
    SearchResult r;
    cotenant::fuzz::CheckOk(w.store->Search(w.tenant, page, &r), "next page");
    for (const auto& rec : r.records) paged.push_back(rec.id);
    if (r.complete) {
      FUZZ_CHECK(r.continuation.empty(), "complete page with a token");
      break;
    }
    FUZZ_CHECK(!r.records.empty() && !r.continuation.empty(), "incomplete page without rows");
    page.continuation = r.continuation;
  }
  FUZZ_CHECK(paged == got, "paged " + Show(paged) + " vs one page " + Show(got) + " plan " + all.plan);
  if (!got.empty()) {
    SearchRequest off = req;
    off.offset = 1;
    SearchResult r;
    cotenant::fuzz::CheckOk(w.store->Search(w.tenant, off, &r), "offset");
    FUZZ_CHECK(Ids(r.records) == std::vector<RecordId>(got.begin() + 1, got.end()), "offset 1");
  }

  // Under a scope: the rows of the unscoped answer that pass the row filter, in the same
  // order; criteria or sort keys naming the hidden field are refused like unknown ones.
  SearchResult scoped;
  cotenant::Status ss = w.store->Search(w.tenant, req, &scoped, &w.scope);
  std::unique_ptr<criteria::BoundExpr> masked_bound;
  ObjectDef masked = w.scope.Mask(*w.def);
  cotenant::Status mb = criteria::Bind(expr.get(), masked, &masked_bound);
  bool sorts_hidden = false;
  for (const auto& k : req.sort) sorts_hidden |= k.field == "note";
  if (!mb.ok() || sorts_hidden) {
    FUZZ_CHECK(!ss.ok() && ss.IsInvalidArgument(), "hidden field accepted: " + ss.ToString());
    return 0;
  }
  cotenant::fuzz::CheckOk(ss, "scoped search");
  std::vector<RecordId> want;
  for (const Record& r : all.records) {
    if (w.row_filter->Matches(r)) want.push_back(r.id);
  }
  FUZZ_CHECK(Ids(scoped.records) == want, "scoped " + Show(Ids(scoped.records)) + " vs " + Show(want));
  return 0;
}
