// Unique fields: at most one record holds each value (a second is Conflict naming the
// field and the value), checked in the write that claims it; and the calls by key
// (GetRecordBy, UpdateRecordBy, DeleteRecordBy, UpsertRecord, import with upsert_on)
// under the same scope rules as the calls by id.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "storage/criteria.h"
#include "storage/fsck.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::CheckIndexes;
using testing::OpenStore;

class UniqueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    FieldDef email{"email", FieldType::kText, false, false};
    email.unique = true;
    FieldDef code{"code", FieldType::kInt, false, false};
    code.unique = true;
    ObjectDef def;
    Status s = store_->CreateObject(tenant_.id, "Customers",
                                    {email, code, {"name", FieldType::kText, false, true},
                                     {"age", FieldType::kInt, false, false}},
                                    &def);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static FieldValues Row(std::string email, Value code, std::string name = "n",
                         int64_t age = 30) {
    return {{"email", Value::Text(std::move(email))},
            {"code", std::move(code)},
            {"name", Value::Text(std::move(name))},
            {"age", Value::Int(age)}};
  }

  Status Add(const FieldValues& f, RecordId* id = nullptr, const RecordScope* scope = nullptr) {
    Record r;
    Status s = store_->AddRecord(tenant_.id, "Customers", f, 7, &r, scope);
    if (id != nullptr) *id = r.id;
    return s;
  }

  uint64_t Count() {
    uint64_t records = 0, bytes = 0;
    EXPECT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
    return records;
  }

  // The filter "age >= 18" as a scope, and one that also hides `age`.
  RecordScope AdultsScope(bool hide_age = false) {
    std::shared_ptr<const ObjectDef> def;
    EXPECT_TRUE(store_->GetObject(tenant_.id, "Customers", &def).ok());
    Status s = criteria::Compile("age >= 18", *def, &filter_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    RecordScope scope;
    scope.row_filter = filter_.get();
    if (hide_age) scope.visible_fields = {true, true, true, false};
    return scope;
  }

  void ExpectClean() {
    EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
    CheckReport report;
    ASSERT_TRUE(store_->Check(CheckOptions{}, &report).ok());
    EXPECT_TRUE(report.clean()) << CheckReportText(report);
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
  std::unique_ptr<criteria::BoundExpr> filter_;
};

TEST_F(UniqueTest, ASecondRecordWithAValueIsConflictNamingTheFieldAndValue) {
  RecordId first = 0;
  ASSERT_TRUE(Add(Row("a@x", Value::Int(1)), &first).ok());
  Status s = Add(Row("a@x", Value::Int(2)));
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(s.message(), "another record of Customers has the value 'a@x' in unique field email");
  s = Add(Row("b@x", Value::Int(1)));
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("'1' in unique field code"), std::string::npos) << s.message();
  // Nulls are not values: any number of records may leave a unique field empty.
  ASSERT_TRUE(Add({{"name", Value::Text("p")}}).ok());
  ASSERT_TRUE(Add({{"name", Value::Text("q")}}).ok());
  EXPECT_EQ(Count(), 3u);
  ExpectClean();
  // The declaration survives a reopen, and a unique field is indexed.
  store_.reset();
  store_ = OpenStore(dir_.path());
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->GetObject(tenant_.id, "Customers", &def).ok());
  EXPECT_TRUE(def->fields[0].unique);
  EXPECT_TRUE(def->fields[0].indexed);
  EXPECT_FALSE(def->fields[2].unique);
  EXPECT_TRUE(Add(Row("a@x", Value::Int(9))).IsConflict());
}

TEST_F(UniqueTest, ABatchWithARepeatedOrHeldValueWritesNothing) {
  ASSERT_TRUE(Add(Row("held@x", Value::Int(100))).ok());
  std::vector<RecordId> ids;
  Status s = store_->AddRecords(tenant_.id, "Customers",
                                {Row("a@x", Value::Int(1)), Row("b@x", Value::Int(2)),
                                 Row("a@x", Value::Int(3))},
                                7, &ids);
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(s.message(),
            "record 2 of the batch: an earlier record of the batch has the value 'a@x' in unique "
            "field email too");
  s = store_->AddRecords(tenant_.id, "Customers",
                         {Row("c@x", Value::Int(4)), Row("held@x", Value::Int(5))}, 7, &ids);
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("record 1 of the batch: another record"), std::string::npos);
  EXPECT_EQ(Count(), 1u);
  // Nothing of the refused batches holds a value.
  ASSERT_TRUE(store_->AddRecords(tenant_.id, "Customers",
                                 {Row("a@x", Value::Int(1)), Row("c@x", Value::Int(4))}, 7, &ids)
                  .ok());
  EXPECT_EQ(Count(), 3u);
  ExpectClean();
}

TEST_F(UniqueTest, UpdatesAndDeletesMoveAndFreeValues) {
  RecordId a = 0, b = 0;
  ASSERT_TRUE(Add(Row("a@x", Value::Int(1)), &a).ok());
  ASSERT_TRUE(Add(Row("b@x", Value::Int(2)), &b).ok());
  Record r;
  Status s = store_->UpdateRecord(tenant_.id, "Customers", b, {{"email", Value::Text("a@x")}}, 0, 7, &r);
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  // Writing a record's own value again is no conflict.
  ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", a, {{"email", Value::Text("a@x")},
                                                                 {"name", Value::Text("ann")}}, 0, 7, &r)
                  .ok());
  // Moving a value frees the old one; clearing one frees it too.
  ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", a, {{"email", Value::Text("z@x")}}, 0, 7, &r).ok());
  ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", b, {{"email", Value::Text("a@x")},
                                                                 {"code", Value::Null()}}, 0, 7, &r)
                  .ok());
  ASSERT_TRUE(Add(Row("new@x", Value::Int(2))).ok());
  ASSERT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", a, 0).ok());
  ASSERT_TRUE(Add(Row("z@x", Value::Int(1))).ok());
  ExpectClean();
}

TEST_F(UniqueTest, GetRecordByFindsTheHolderAndAnswersMissingAndHiddenAlike) {
  RecordId adult = 0, kid = 0;
  ASSERT_TRUE(Add(Row("adult@x", Value::Int(1), "ann", 40), &adult).ok());
  ASSERT_TRUE(Add(Row("kid@x", Value::Int(2), "kim", 9), &kid).ok());
  Record r;
  ASSERT_TRUE(store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("kid@x"), &r, nullptr).ok());
  EXPECT_EQ(r.id, kid);
  // A text value converts to the field's type as a written one does.
  ASSERT_TRUE(store_->GetRecordBy(tenant_.id, "Customers", "code", Value::Text("1"), &r, nullptr).ok());
  EXPECT_EQ(r.id, adult);
  Status s = store_->GetRecordBy(tenant_.id, "Customers", "code", Value::Text("one"), &r, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  Status missing = store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("nobody@x"), &r, nullptr);
  ASSERT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_EQ(missing.message(), "no record of Customers has email 'nobody@x'");
  s = store_->GetRecordBy(tenant_.id, "Customers", "name", Value::Text("ann"), &r, nullptr);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("is not unique"), std::string::npos) << s.message();
  s = store_->GetRecordBy(tenant_.id, "Customers", "id", Value::Int(1), &r, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Null(), &r, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();

  RecordScope scope = AdultsScope();
  ASSERT_TRUE(store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("adult@x"), &r, nullptr, &scope).ok());
  Status hidden = store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("kid@x"), &r, nullptr, &scope);
  ASSERT_TRUE(hidden.IsNotFound()) << hidden.ToString();
  EXPECT_EQ(hidden.message(), "no record of Customers has email 'kid@x'");
  // A field the scope hides is answered as an unknown one.
  RecordScope masked = AdultsScope(true);
  masked.visible_fields = {false, true, true, true};
  s = store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("adult@x"), &r, nullptr, &masked);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(s.message(), "object Customers has no field 'email'");
}

TEST_F(UniqueTest, UpdateAndDeleteByKeyObeyTheScopeAndVersions) {
  RecordId adult = 0, kid = 0;
  ASSERT_TRUE(Add(Row("adult@x", Value::Int(1), "ann", 40), &adult).ok());
  ASSERT_TRUE(Add(Row("kid@x", Value::Int(2), "kim", 9), &kid).ok());
  RecordScope scope = AdultsScope();
  Record r;
  Status s = store_->UpdateRecordBy(tenant_.id, "Customers", "email", Value::Text("kid@x"),
                                    {{"name", Value::Text("x")}}, 0, 7, &r, &scope);
  ASSERT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(s.message(), "no record of Customers has email 'kid@x'");
  s = store_->DeleteRecordBy(tenant_.id, "Customers", "email", Value::Text("kid@x"), 0, &scope);
  ASSERT_TRUE(s.IsNotFound()) << s.ToString();
  s = store_->UpdateRecordBy(tenant_.id, "Customers", "email", Value::Text("adult@x"),
                             {{"name", Value::Text("anna")}}, 5, 7, &r, &scope);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  ASSERT_TRUE(store_->UpdateRecordBy(tenant_.id, "Customers", "email", Value::Text("adult@x"),
                                     {{"name", Value::Text("anna")}, {"email", Value::Text("ann@x")}}, 1,
                                     7, &r, &scope)
                  .ok());
  EXPECT_EQ(r.id, adult);
  EXPECT_EQ(r.version, 2u);
  // The key moved with the update.
  EXPECT_TRUE(store_->GetRecordBy(tenant_.id, "Customers", "email", Value::Text("adult@x"), &r, nullptr)
                  .IsNotFound());
  // An update that would leave the scope's rows is refused, as by id.
  s = store_->UpdateRecordBy(tenant_.id, "Customers", "email", Value::Text("ann@x"),
                             {{"age", Value::Int(3)}}, 0, 7, &r, &scope);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  ASSERT_TRUE(store_->DeleteRecordBy(tenant_.id, "Customers", "email", Value::Text("ann@x"), 2, &scope).ok());
  ASSERT_TRUE(store_->DeleteRecordBy(tenant_.id, "Customers", "code", Value::Int(2), 0).ok());
  EXPECT_EQ(Count(), 0u);
  ExpectClean();
}

TEST_F(UniqueTest, UpsertAddsThenUpdatesTheHolder) {
  Record r;
  bool created = false;
  ASSERT_TRUE(store_->UpsertRecord(tenant_.id, "Customers", "email", Row("a@x", Value::Int(1), "ann"),
                                   7, &r, &created)
                  .ok());
  EXPECT_TRUE(created);
  RecordId id = r.id;
  // Only the named fields change; the others keep their values.
  ASSERT_TRUE(store_->UpsertRecord(tenant_.id, "Customers", "email",
                                   {{"email", Value::Text("a@x")}, {"name", Value::Text("anna")}}, 8, &r,
                                   &created)
                  .ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(r.values[1], Value::Int(1));
  EXPECT_EQ(r.values[2], Value::Text("anna"));
  EXPECT_EQ(r.modified_by, 8u);
  EXPECT_EQ(Count(), 1u);
  // Another unique value held by a different record is still a conflict.
  ASSERT_TRUE(Add(Row("b@x", Value::Int(2))).ok());
  Status s = store_->UpsertRecord(tenant_.id, "Customers", "email",
                                  {{"email", Value::Text("a@x")}, {"code", Value::Int(2)}}, 7, &r, &created);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  s = store_->UpsertRecord(tenant_.id, "Customers", "email", {{"name", Value::Text("x")}}, 7, &r, &created);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("'email' has no value"), std::string::npos) << s.message();
  s = store_->UpsertRecord(tenant_.id, "Customers", "name", Row("c@x", Value::Int(3)), 7, &r, &created);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  // A holder outside the scope's rows: refused as an add of the value would be.
  ASSERT_TRUE(Add(Row("kid@x", Value::Int(5), "kim", 9)).ok());
  RecordScope scope = AdultsScope();
  s = store_->UpsertRecord(tenant_.id, "Customers", "email", Row("kid@x", Value::Int(6), "k", 20), 7, &r,
                           &created, &scope);
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(s.message(), "another record of Customers has the value 'kid@x' in unique field email");
  EXPECT_EQ(Count(), 3u);
  ExpectClean();
}

TEST_F(UniqueTest, ImportUpsertOnUpdatesHeldKeysAddsTheRestAndReplaysExactly) {
  RecordId held = 0;
  ASSERT_TRUE(Add(Row("a@x", Value::Int(1), "old"), &held).ok());
  Store::ImportBatch batch{7, "daily", 1, "email"};
  std::vector<FieldValues> rows = {Row("a@x", Value::Int(1), "new"), Row("b@x", Value::Int(2)),
                                   Row("b@x", Value::Int(3)), Row("c@x", Value::Int(1)),
                                   {{"name", Value::Text("no key")}}};
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  Status s = store_->ImportRecords(tenant_.id, "Customers", rows, 7, batch, false, &out, &replayed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[0].updated);
  EXPECT_EQ(out[0].id, held);
  EXPECT_TRUE(out[1].status.ok());
  EXPECT_FALSE(out[1].updated);
  EXPECT_TRUE(out[2].status.IsConflict()) << out[2].status.ToString();
  EXPECT_NE(out[2].status.message().find("an earlier record of the batch"), std::string::npos);
  EXPECT_TRUE(out[3].status.IsConflict()) << out[3].status.ToString();  // code 1 is held
  EXPECT_TRUE(out[4].status.IsInvalidArgument()) << out[4].status.ToString();
  EXPECT_EQ(Count(), 2u);
  Record r;
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", held, &r, nullptr).ok());
  EXPECT_EQ(r.values[2], Value::Text("new"));
  EXPECT_EQ(r.version, 2u);
  // Sent again, the batch is answered from its marker, updated flags included.
  std::vector<Store::ImportOutcome> again;
  ASSERT_TRUE(store_->ImportRecords(tenant_.id, "Customers", rows, 7, batch, false, &again, &replayed).ok());
  EXPECT_TRUE(replayed);
  ASSERT_EQ(again.size(), 5u);
  EXPECT_TRUE(again[0].updated);
  EXPECT_EQ(again[0].id, held);
  EXPECT_FALSE(again[1].updated);
  EXPECT_EQ(again[1].id, out[1].id);
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", held, &r, nullptr).ok());
  EXPECT_EQ(r.version, 2u);
  // The same rows without the upsert key are another batch.
  Store::ImportBatch plain{7, "daily", 1, ""};
  EXPECT_TRUE(store_->ImportRecords(tenant_.id, "Customers", rows, 7, plain, false, &again, &replayed)
                  .IsConflict());
  // A second daily run: everything is an update now, nothing is added.
  std::vector<FieldValues> rerun = {Row("a@x", Value::Int(1), "newer"), Row("b@x", Value::Int(2), "bee")};
  ASSERT_TRUE(store_->ImportRecords(tenant_.id, "Customers", rerun, 7, {7, "daily2", 1, "email"}, false,
                                    &out, &replayed)
                  .ok());
  EXPECT_TRUE(out[0].updated && out[1].updated);
  EXPECT_EQ(Count(), 2u);
  // Usage stays exact through the updates.
  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
  store_.reset();
  store_ = OpenStore(dir_.path());
  uint64_t recounted = 0, rebytes = 0;
  ASSERT_TRUE(store_->TenantUsage(tenant_.id, &recounted, &rebytes).ok());
  EXPECT_EQ(records, recounted);
  EXPECT_EQ(bytes, rebytes);
  // The upsert key must be a unique field the scope shows.
  s = store_->ImportRecords(tenant_.id, "Customers", rerun, 7, {7, "", 0, "name"}, false, &out, &replayed);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ExpectClean();
}

TEST_F(UniqueTest, ADryRunReportsConflictsAndWritesNothing) {
  ASSERT_TRUE(Add(Row("a@x", Value::Int(1))).ok());
  std::vector<Store::ImportOutcome> out;
  bool replayed = false;
  ASSERT_TRUE(store_->ImportRecords(tenant_.id, "Customers",
                                    {Row("a@x", Value::Int(5)), Row("b@x", Value::Int(6)),
                                     Row("b@x", Value::Int(7))},
                                    7, {7, "", 0, ""}, true, &out, &replayed)
                  .ok());
  EXPECT_TRUE(out[0].status.IsConflict());
  EXPECT_TRUE(out[1].status.ok());
  EXPECT_TRUE(out[2].status.IsConflict());
  EXPECT_EQ(Count(), 1u);
}

TEST_F(UniqueTest, ConcurrentWritersNeverGiveOneValueToTwoRecords) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 60;
  constexpr int kValues = 25;
  std::atomic<int> added{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int v = (i * 7 + t * 3) % kValues;
        std::string email = "v" + std::to_string(v) + "@x";
        Record r;
        bool created = false;
        Status s;
        switch ((i + t) % 4) {
          case 0:
            s = store_->AddRecord(tenant_.id, "Customers", {{"email", Value::Text(email)}}, 7, &r);
            if (s.ok()) added.fetch_add(1);
            break;
          case 1:
            s = store_->UpsertRecord(tenant_.id, "Customers", "email",
                                     {{"email", Value::Text(email)}, {"age", Value::Int(i)}}, 7, &r, &created);
            if (s.ok() && created) added.fetch_add(1);
            break;
          case 2:
            s = store_->UpdateRecordBy(tenant_.id, "Customers", "email", Value::Text(email),
                                       {{"email", Value::Text("v" + std::to_string((v + 1) % kValues) + "@x")}},
                                       0, 7, &r);
            break;
          default:
            s = store_->DeleteRecordBy(tenant_.id, "Customers", "email", Value::Text(email), 0);
            if (s.ok()) added.fetch_sub(1);
            break;
        }
        EXPECT_TRUE(s.ok() || s.IsConflict() || s.IsNotFound()) << s.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(Count(), static_cast<uint64_t>(added.load()));
  EXPECT_LE(Count(), static_cast<uint64_t>(kValues));
  ExpectClean();
}

TEST_F(UniqueTest, TheCheckerFindsAMissingOrStaleUniqueEntry) {
  RecordId a = 0, b = 0;
  ASSERT_TRUE(Add(Row("a@x", Value::Int(1)), &a).ok());
  ASSERT_TRUE(Add(Row("b@x", Value::Int(2)), &b).ok());
  ExpectClean();
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->GetObject(tenant_.id, "Customers", &def).ok());
  auto batch = store_->engine()->NewBatch();
  batch->Delete(Cf::kIndexes, UniqueKey(tenant_.id, def->id, 0, Value::Text("a@x")));
  std::string other;
  AppendU64(&other, a);
  batch->Put(Cf::kIndexes, UniqueKey(tenant_.id, def->id, 0, Value::Text("b@x")), other);
  ASSERT_TRUE(store_->engine()->Write(batch.get(), true).ok());
  CheckReport report;
  ASSERT_TRUE(store_->Check(CheckOptions{}, &report).ok());
  EXPECT_EQ(report.problem_count, 2u) << CheckReportText(report);
  std::set<std::string> kinds;
  for (const auto& p : report.problems) kinds.insert(p.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"index-missing", "index-stale"}));
}

}  // namespace
}  // namespace cotenant::storage
