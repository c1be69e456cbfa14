// Search: every plan against a brute-force reference (filter every record, sort, page).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>

#include "storage/criteria.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::OpenStore;

int CompareNullable(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? 1 : -1);
  return a.Compare(b);
}

class SearchTest : public ::testing::Test {
 protected:
  static constexpr int kRecords = 700;

  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    ObjectDef def;
    ASSERT_TRUE(store_->CreateObject(tenant_.id, "People",
                                     {{"name", FieldType::kText, false, true},
                                      {"age", FieldType::kInt, false, true},
                                      {"score", FieldType::kFloat, false, true},
                                      {"active", FieldType::kBool, false, false},
                                      {"born", FieldType::kTimestamp, false, true},
                                      {"note", FieldType::kText, false, false}},
                                     &def)
                    .ok());
    ASSERT_TRUE(store_->GetObject(tenant_.id, "People", &def_).ok());
    std::mt19937_64 rng(777);
    const char* names[] = {"ann", "anna", "bob", "bo", "carl", "Dee", "", "zed", "a\x01" "b"};
    std::vector<FieldValues> batch;
    for (int i = 0; i < kRecords; ++i) {
      FieldValues f;
      if (rng() % 8) f.push_back({"name", Value::Text(names[rng() % 9])});
      if (rng() % 6) f.push_back({"age", Value::Int(static_cast<int64_t>(rng() % 60) - 5)});
      if (rng() % 5) f.push_back({"score", Value::Float((static_cast<double>(rng() % 2000) - 1000) / 8.0)});
      if (rng() % 4) f.push_back({"active", Value::Bool(rng() % 2)});
      if (rng() % 5) f.push_back({"born", Value::Time((static_cast<int64_t>(rng() % 400) - 200) * 86400000000LL)});
      if (rng() % 2) f.push_back({"note", Value::Text("note " + std::to_string(rng() % 30))});
      batch.push_back(std::move(f));
      if (batch.size() == 100) Flush(&batch);
    }
    Flush(&batch);
    // Some churn so that ids are not contiguous and indexes were rewritten.
    for (int i = 0; i < 80; ++i) {
      Record u;
      RecordId id = 1 + rng() % kRecords;
      if (i % 4 == 0) {
        (void)store_->DeleteRecord(tenant_.id, "People", id, 0);
      } else {
        (void)store_->UpdateRecord(tenant_.id, "People", id, {{"age", Value::Int(static_cast<int64_t>(rng() % 60))}}, 0, 1, &u);
      }
    }
    SearchRequest all;
    all.object = "People";
    all.rows = 1000;
    SearchResult res;
    ASSERT_TRUE(store_->Search(tenant_.id, all, &res).ok());
    all_ = res.records;
    ASSERT_GT(all_.size(), 500u);
  }

  void Flush(std::vector<FieldValues>* batch) {
    if (batch->empty()) return;
    std::vector<RecordId> ids;
    Status s = store_->AddRecords(tenant_.id, "People", *batch, 1, &ids);
    ASSERT_TRUE(s.ok()) << s.ToString();
    batch->clear();
  }

  // The reference answer: filter all records with the same expression, sort by the
  // documented order (nulls last ascending, first descending, ties by id).
  std::vector<RecordId> Expected(const std::string& criteria, const std::vector<SortKey>& sort) {
    std::unique_ptr<criteria::BoundExpr> f;
    Status s = criteria::Compile(criteria, *def_, &f);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<Record> rows;
    for (const auto& r : all_) {
      if (!f || f->Matches(r)) rows.push_back(r);
    }
    std::vector<int> slots;
    for (const auto& k : sort) slots.push_back(*def_->Slot(k.field));
    std::stable_sort(rows.begin(), rows.end(), [&](const Record& a, const Record& b) {
      for (size_t i = 0; i < sort.size(); ++i) {
        int c = CompareNullable(a.Get(slots[i]), b.Get(slots[i]));
        if (sort[i].descending) c = -c;
        if (c != 0) return c < 0;
      }
      return a.id < b.id;
    });
    std::vector<RecordId> ids;
    for (const auto& r : rows) ids.push_back(r.id);
    return ids;
  }

  // Pages through with continuation tokens; checks completeness flags on the way.
  std::vector<RecordId> PageThrough(const std::string& criteria, const std::vector<SortKey>& sort,
                                    uint32_t rows, std::string* plan) {
    SearchRequest req;
    req.object = "People";
    req.criteria = criteria;
    req.sort = sort;
    req.rows = rows;
    std::vector<RecordId> ids;
    for (int page = 0; page < 2000; ++page) {
      SearchResult res;
      Status s = store_->Search(tenant_.id, req, &res);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) break;
      *plan = res.plan;
      EXPECT_LE(res.records.size(), rows);
      for (const auto& r : res.records) ids.push_back(r.id);
      if (res.complete) {
        EXPECT_TRUE(res.continuation.empty());
        break;
      }
      EXPECT_EQ(res.records.size(), rows) << "an incomplete page must be full";
      req.continuation = res.continuation;
    }
    return ids;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
  std::shared_ptr<const ObjectDef> def_;
  std::vector<Record> all_;
};

struct Case {
  std::string criteria;
  std::vector<SortKey> sort;
  std::string plan;  // expected plan
};

TEST_F(SearchTest, EveryPlanMatchesTheReferenceAtEveryPageSize) {
  std::vector<Case> cases = {
      {"", {}, "scan"},
      {"", {{"id", true}}, "scan"},
      {"age = 30", {}, "index:age"},
      {"age = 30", {{"age", true}}, "index:age"},
      {"age in (1, 5, 30, 5)", {{"age", false}}, "index:age"},
      {"age in (1, 5, 30)", {{"age", true}}, "index:age"},
      {"age in (1, 5, 30)", {{"name", false}}, "index:age"},
      {"name is null", {}, "index:name"},
      {"", {{"age", false}}, "index:age"},
      {"", {{"age", true}}, "index:age"},
      {"", {{"name", true}}, "index:name"},
      {"", {{"score", false}}, "index:score"},
      {"", {{"born", true}}, "index:born"},
      {"age >= 10 and age < 20", {}, "index:age"},
      {"age > 10 and age <= 40", {{"age", true}}, "index:age"},
      {"age > 10", {{"name", false}}, "index:name"},
      {"name starts with 'an'", {}, "index:name"},
      {"name starts with 'an'", {{"name", true}}, "index:name"},
      {"score < 0", {{"score", true}, {"name", false}}, "index:score"},
      {"note contains '1'", {}, "scan"},
      {"note contains '1' or age = 3", {{"born", false}}, "index:born"},
      {"note contains '1' or age = 3", {{"note", false}}, "scan"},
      {"active = true", {{"note", true}, {"age", false}}, "scan"},
      {"not (age = 3)", {{"createdAt", true}}, "scan"},
      {"age is not null and name != 'bob'", {{"age", false}, {"id", false}}, "index:age"},
      {"age > 3", {{"age", false}, {"id", true}}, "index:age"},
      {"born >= 1970-01-01 and born < 1970-06-01", {{"born", false}}, "index:born"},
      {"age = 999", {}, "index:age"},
  };
  for (const auto& c : cases) {
    auto expected = Expected(c.criteria, c.sort);
    for (uint32_t rows : {1u, 7u, 100u, 1000u}) {
      std::string plan;
      auto got = PageThrough(c.criteria, c.sort, rows, &plan);
      ASSERT_EQ(got, expected) << "criteria '" << c.criteria << "' rows " << rows << " plan " << plan;
      EXPECT_EQ(plan, c.plan) << "criteria '" << c.criteria << "'";
    }
  }
}

TEST_F(SearchTest, OffsetSkipsRowsAfterTheContinuationPoint) {
  auto expected = Expected("age > 5", {{"age", false}});
  SearchRequest req;
  req.object = "People";
  req.criteria = "age > 5";
  req.sort = {{"age", false}};
  req.rows = 10;
  req.offset = 15;
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  ASSERT_EQ(res.records.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(res.records[i].id, expected[15 + i]);
  req.continuation = res.continuation;
  req.offset = 5;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  ASSERT_FALSE(res.records.empty());
  EXPECT_EQ(res.records[0].id, expected[30]);
  // An offset beyond the end is an empty, complete page.
  req.continuation.clear();
  req.offset = 100000;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_TRUE(res.records.empty());
  EXPECT_TRUE(res.complete);
}

// A page in an order no index gives is found by keeping offset + rows in memory: that
// window is bounded, and the answer says how to page instead. Indexed orders stream.
TEST_F(SearchTest, AnOffsetBeyondTheSortWindowIsRefusedWhereRowsWouldBeHeld) {
  SearchRequest req;
  req.object = "People";
  req.sort = {{"note", false}};  // not indexed
  req.rows = 10;
  req.offset = 9990;
  SearchResult res;
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  req.offset = 9991;
  Status s = store_->Search(tenant_.id, req, &res);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("at most 10000"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("continuation token"), std::string::npos) << s.message();
  req.offset = 4000000000u;
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.sort = {{"age", false}};  // indexed: the rows stream, any offset is fine
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_TRUE(res.records.empty());
}

TEST_F(SearchTest, CompleteWhenTheLastPageIsExactlyFull) {
  auto expected = Expected("age = 30", {});
  ASSERT_GT(expected.size(), 2u);
  SearchRequest req;
  req.object = "People";
  req.criteria = "age = 30";
  req.rows = static_cast<uint32_t>(expected.size());
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_EQ(res.records.size(), expected.size());
  EXPECT_TRUE(res.complete);
  req.rows -= 1;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_FALSE(res.complete);
}

TEST_F(SearchTest, BadRequestsAreInvalidArgument) {
  SearchRequest req;
  req.object = "People";
  SearchResult res;
  req.rows = 0;
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.rows = 1001;
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.rows = 10;
  req.sort = {{"nope", false}};
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.sort = {{"age", false}, {"name", false}, {"score", false}};
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.sort.clear();
  req.criteria = "age = ";
  Status s = store_->Search(tenant_.id, req, &res);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("column"), std::string::npos) << s.message();
  req.criteria = "age = 1";
  req.continuation = "garbage";
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  // A token of one query is refused by another.
  req.continuation.clear();
  req.rows = 1;
  req.criteria = "age > 1";
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  ASSERT_FALSE(res.complete);
  req.criteria = "age > 2";
  req.continuation = res.continuation;
  s = store_->Search(tenant_.id, req, &res);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("different query"), std::string::npos);
  // Bound parameters are part of the query: the same text with other values is another.
  req.continuation.clear();
  req.criteria = "age > ?";
  req.parameters = {Value::Int(1)};
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  ASSERT_FALSE(res.complete);
  std::string token = res.continuation;
  req.continuation = token;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  req.parameters = {Value::Int(2)};
  s = store_->Search(tenant_.id, req, &res);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("different query"), std::string::npos);
  req.parameters = {Value::Text("1")};  // equal once converted, but sent as another value
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsInvalidArgument());
  req.parameters.clear();
  req.object = "Nope";
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res).IsNotFound());
}

TEST_F(SearchTest, IndexedTopNExaminesOnlyThePage) {
  SearchRequest req;
  req.object = "People";
  req.sort = {{"age", true}};
  req.rows = 20;
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_EQ(res.plan, "index:age");
  EXPECT_LE(res.rows_examined, 21u);
}

TEST_F(SearchTest, ACancelledSearchStopsWithinAFewHundredRows) {
  SearchRequest req;
  req.object = "People";
  req.criteria = "note = 'no such note'";  // unindexed: a scan of every row
  std::atomic<bool> cancelled{false};
  req.cancelled = &cancelled;
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  const uint64_t all = res.rows_examined;
  ASSERT_GT(all, 512u);
  EXPECT_TRUE(res.records.empty());
  // Raised before it starts (the caller went away at once): it stops at the first check,
  // and says how far it got.
  cancelled = true;
  Status s = store_->Search(tenant_.id, req, &res);
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();
  EXPECT_NE(s.message().find("the search was cancelled"), std::string::npos) << s.message();
  EXPECT_EQ(res.rows_examined, 256u);
  // An index scan stops the same way.
  req.criteria = "age >= -100";
  req.sort = {{"age", false}};
  req.rows = 1000;
  s = store_->Search(tenant_.id, req, &res);
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();
  EXPECT_EQ(res.rows_examined, 256u);
  cancelled = false;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  EXPECT_GT(res.records.size(), 256u);
}

TEST_F(SearchTest, PagesSeeOneSnapshot) {
  // Rows added after a page was read appear in later pages only if they sort after the
  // continuation point; nothing already returned is repeated.
  SearchRequest req;
  req.object = "People";
  req.rows = 50;
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
  Record r;
  ASSERT_TRUE(store_->AddRecord(tenant_.id, "People", {{"name", Value::Text("late")}}, 1, &r).ok());
  std::vector<RecordId> seen;
  for (const auto& x : res.records) seen.push_back(x.id);
  req.continuation = res.continuation;
  while (true) {
    ASSERT_TRUE(store_->Search(tenant_.id, req, &res).ok());
    for (const auto& x : res.records) seen.push_back(x.id);
    if (res.complete) break;
    req.continuation = res.continuation;
  }
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.back(), r.id);
}

}  // namespace
}  // namespace cotenant::storage
