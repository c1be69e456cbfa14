// Import batches: valid records are added and bad ones rejected each with its reason, in
// one write; a batch sent again is recognised by its marker and never added twice.

#include <gtest/gtest.h>

#include <thread>

#include "storage/criteria.h"
#include "storage/fsck.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::CheckIndexes;
using testing::OpenStore;

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    ObjectDef def;
    Status s = store_->CreateObject(tenant_.id, "Customers",
                                    {{"name", FieldType::kText, true, true},
                                     {"age", FieldType::kInt, false, true}},
                                    &def);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static FieldValues Row(std::string name, Value age) {
    return {{"name", Value::Text(std::move(name))}, {"age", std::move(age)}};
  }

  uint64_t Count() {
    uint64_t records = 0, bytes = 0;
    EXPECT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
    return records;
  }

  Status Import(const std::vector<FieldValues>& rows, const Store::ImportBatch& batch,
                std::vector<Store::ImportOutcome>* out, bool* replayed, bool dry_run = false,
                const RecordScope* scope = nullptr) {
    return store_->ImportRecords(tenant_.id, "Customers", rows, 7, batch, dry_run, out, replayed,
                                 scope);
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
};

TEST_F(ImportTest, GoodRecordsAreAddedAndBadOnesRejectedEachWithItsReason) {
  std::vector<FieldValues> rows = {Row("ann", Value::Int(30)),
                                   Row("bob", Value::Text("forty")),
                                   {{"age", Value::Int(3)}},
                                   Row("cy", Value::Null())};
  std::vector<Store::ImportOutcome> out;
  bool replayed = true;
  Status s = Import(rows, {7, "imp-1", 1}, &out, &replayed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(replayed);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_NE(out[0].id, 0u);
  EXPECT_TRUE(out[1].status.IsInvalidArgument());
  EXPECT_NE(out[1].status.message().find("age"), std::string::npos) << out[1].status.message();
  EXPECT_EQ(out[1].id, 0u);
  EXPECT_TRUE(out[2].status.IsInvalidArgument());
  EXPECT_NE(out[2].status.message().find("name"), std::string::npos) << out[2].status.message();
  EXPECT_TRUE(out[3].status.ok());
  EXPECT_EQ(out[3].id, out[0].id + 1);
  EXPECT_EQ(Count(), 2u);
  Record r;
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", out[3].id, &r, nullptr).ok());
  EXPECT_EQ(r.values[0], Value::Text("cy"));
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
}

TEST_F(ImportTest, ABatchSentAgainIsAnsweredFromItsMarkerAndNotAddedTwice) {
  std::vector<FieldValues> rows = {Row("ann", Value::Int(30)), Row("bob", Value::Text("x"))};
  std::vector<Store::ImportOutcome> first, again;
  bool replayed = false;
  ASSERT_TRUE(Import(rows, {7, "imp-1", 5}, &first, &replayed).ok());
  ASSERT_FALSE(replayed);
  ASSERT_TRUE(Import(rows, {7, "imp-1", 5}, &again, &replayed).ok());
  EXPECT_TRUE(replayed);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_TRUE(again[0].status.ok());
  EXPECT_EQ(again[1].status.code(), first[1].status.code());
  EXPECT_EQ(again[1].status.message(), first[1].status.message());
  EXPECT_EQ(Count(), 1u);

  // The marker survives a restart.
  store_.reset();
  store_ = OpenStore(dir_.path());
  ASSERT_TRUE(Import(rows, {7, "imp-1", 5}, &again, &replayed).ok());
  EXPECT_TRUE(replayed);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(Count(), 1u);

  // Another sequence, another import id or another caller is a batch of its own.
  ASSERT_TRUE(Import(rows, {7, "imp-1", 6}, &again, &replayed).ok());
  EXPECT_FALSE(replayed);
  ASSERT_TRUE(Import(rows, {7, "imp-2", 5}, &again, &replayed).ok());
  EXPECT_FALSE(replayed);
  ASSERT_TRUE(Import(rows, {8, "imp-1", 5}, &again, &replayed).ok());
  EXPECT_FALSE(replayed);
  EXPECT_EQ(Count(), 4u);
}

TEST_F(ImportTest, ABatchSentAgainWithOtherRecordsIsAConflictAndWritesNothing) {
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  ASSERT_TRUE(Import({Row("ann", Value::Int(1))}, {7, "imp", 1}, &out, &replayed).ok());
  Status s = Import({Row("ann", Value::Int(2))}, {7, "imp", 1}, &out, &replayed);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("batch 1 of import imp"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(Count(), 1u);
}

TEST_F(ImportTest, ADryRunValidatesAndWritesNothing) {
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  ASSERT_TRUE(Import({Row("ann", Value::Int(1)), Row("bob", Value::Text("x"))}, {7, "imp", 1},
                     &out, &replayed, /*dry_run=*/true)
                  .ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_TRUE(out[1].status.IsInvalidArgument());
  EXPECT_EQ(Count(), 0u);
  // No marker was left: the same batch for real is added.
  ASSERT_TRUE(Import({Row("ann", Value::Int(1)), Row("bob", Value::Text("x"))}, {7, "imp", 1},
                     &out, &replayed)
                  .ok());
  EXPECT_FALSE(replayed);
  EXPECT_EQ(Count(), 1u);
}

TEST_F(ImportTest, ARowOutsideTheScopesFilterIsRejectedNotDropped) {
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->GetObject(tenant_.id, "Customers", &def).ok());
  std::unique_ptr<criteria::BoundExpr> filter;
  Status s = criteria::Compile("age >= 18", *def, &filter);
  ASSERT_TRUE(s.ok()) << s.ToString();
  RecordScope scope;
  scope.row_filter = filter.get();
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  ASSERT_TRUE(Import({Row("ann", Value::Int(30)), Row("kid", Value::Int(9))}, {7, "imp", 1}, &out,
                     &replayed, false, &scope)
                  .ok());
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[1].status.IsPermissionDenied()) << out[1].status.ToString();
  EXPECT_EQ(Count(), 1u);
}

TEST_F(ImportTest, BadImportIdsAndOversizedBatchesFailTheWholeCall) {
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  EXPECT_TRUE(Import({Row("a", Value::Int(1))}, {7, "has space", 1}, &out, &replayed).IsInvalidArgument());
  EXPECT_TRUE(Import({Row("a", Value::Int(1))}, {7, std::string(65, 'x'), 1}, &out, &replayed)
                  .IsInvalidArgument());
  EXPECT_TRUE(Import({}, {7, "imp", 1}, &out, &replayed).IsInvalidArgument());
  std::vector<FieldValues> many(store_->options().limits.max_batch_records + 1, Row("a", Value::Int(1)));
  EXPECT_EQ(Import(many, {7, "imp", 1}, &out, &replayed).code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(store_->ImportRecords(tenant_.id, "Nope", {Row("a", Value::Int(1))}, 7, {7, "imp", 1},
                                    false, &out, &replayed)
                  .IsNotFound());
  EXPECT_EQ(Count(), 0u);
}

TEST_F(ImportTest, ABatchSentTwiceAtOnceIsAddedOnce) {
  std::vector<FieldValues> rows(100, Row("ann", Value::Int(30)));
  for (int round = 0; round < 20; ++round) {
    std::vector<Store::ImportOutcome> a, b;
    bool ra = false, rb = false;
    Status sa, sb;
    Store::ImportBatch batch{7, "race", static_cast<uint64_t>(round)};
    std::thread t([&] { sa = Import(rows, batch, &a, &ra); });
    sb = Import(rows, batch, &b, &rb);
    t.join();
    ASSERT_TRUE(sa.ok() && sb.ok()) << sa.ToString() << " " << sb.ToString();
    EXPECT_NE(ra, rb);
    EXPECT_EQ(a[0].id, b[0].id);
  }
  EXPECT_EQ(Count(), 2000u);
}

TEST_F(ImportTest, FinishingAnImportForgetsItsMarkersAndTheCheckerKnowsThem) {
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(Import({Row("a", Value::Int(1))}, {7, "imp", seq}, &out, &replayed).ok());
  }
  ASSERT_TRUE(Import({Row("a", Value::Int(1))}, {7, "imp2", 1}, &out, &replayed).ok());
  CheckOptions options;
  CheckReport report;
  ASSERT_TRUE(store_->Check(options, &report).ok());
  EXPECT_TRUE(report.clean()) << (report.problems.empty() ? "" : report.problems[0].what);
  uint64_t batches = 0;
  ASSERT_TRUE(store_->FinishImport(tenant_.id, 7, "imp", &batches).ok());
  EXPECT_EQ(batches, 3u);
  // Forgotten: the batch is new again. The other import keeps its marker.
  ASSERT_TRUE(Import({Row("a", Value::Int(1))}, {7, "imp", 1}, &out, &replayed).ok());
  EXPECT_FALSE(replayed);
  ASSERT_TRUE(Import({Row("a", Value::Int(1))}, {7, "imp2", 1}, &out, &replayed).ok());
  EXPECT_TRUE(replayed);
  EXPECT_TRUE(store_->FinishImport(tenant_.id, 7, "bad id!", &batches).IsInvalidArgument());
}

}  // namespace
}  // namespace cotenant::storage
