// Reading records page by page with their system fields, and restoring them with their
// original ids: nothing is overwritten, the sequence moves past them, usage is exact.

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::CheckIndexes;
using testing::OpenStore;

class DumpTest : public ::testing::Test {
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

  static Store::RestoredRecord Rec(RecordId id, std::string name, Value age) {
    Store::RestoredRecord r;
    r.id = id;
    r.version = id + 1;
    r.created_by = 11;
    r.created_at = 1000 + static_cast<int64_t>(id);
    r.modified_by = 12;
    r.modified_at = 2000 + static_cast<int64_t>(id);
    r.fields = {{"name", Value::Text(std::move(name))}, {"age", std::move(age)}};
    return r;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
};

TEST_F(DumpTest, RestoredRecordsKeepIdsVersionsAndTimesAndReadBackInPages) {
  ASSERT_TRUE(store_->RestoreRecords(tenant_.id, "Customers",
                                     {Rec(5, "ann", Value::Int(30)), Rec(9, "bob", Value::Null())})
                  .ok());
  ASSERT_TRUE(store_->RestoreRecords(tenant_.id, "Customers", {Rec(40, "cy", Value::Int(7))}).ok());
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");

  std::vector<Record> page;
  bool complete = false;
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->ReadRecords(tenant_.id, "Customers", 0, 2, &page, &complete, &def).ok());
  ASSERT_EQ(page.size(), 2u);
  EXPECT_FALSE(complete);
  EXPECT_EQ(page[0].id, 5u);
  EXPECT_EQ(page[0].version, 6u);
  EXPECT_EQ(page[0].created_by, 11u);
  EXPECT_EQ(page[0].created_at, 1005);
  EXPECT_EQ(page[0].modified_by, 12u);
  EXPECT_EQ(page[0].modified_at, 2005);
  EXPECT_EQ(page[1].id, 9u);
  EXPECT_TRUE(page[1].values[1].is_null());
  ASSERT_TRUE(store_->ReadRecords(tenant_.id, "Customers", 9, 2, &page, &complete, &def).ok());
  ASSERT_EQ(page.size(), 1u);
  EXPECT_TRUE(complete);
  EXPECT_EQ(page[0].id, 40u);

  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
  EXPECT_EQ(records, 3u);

  // A later add never reuses a restored id.
  Record added;
  ASSERT_TRUE(store_->AddRecord(tenant_.id, "Customers", {{"name", Value::Text("dee")}}, 1, &added).ok());
  EXPECT_GT(added.id, 40u);
}

TEST_F(DumpTest, RestoreNeverOverwritesAndRefusesBadBatchesWhole) {
  Record added;
  ASSERT_TRUE(store_->AddRecord(tenant_.id, "Customers", {{"name", Value::Text("dee")}}, 1, &added).ok());
  Status s = store_->RestoreRecords(tenant_.id, "Customers", {Rec(added.id, "x", Value::Null())});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = store_->RestoreRecords(tenant_.id, "Customers",
                             {Rec(added.id + 10, "x", Value::Null()), Rec(added.id + 5, "y", Value::Null())});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = store_->RestoreRecords(tenant_.id, "Customers",
                             {Rec(added.id + 10, "x", Value::Null()), Rec(added.id + 11, "y", Value::Text("old"))});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();  // age is an int
  Store::RestoredRecord noVersion = Rec(added.id + 20, "z", Value::Null());
  noVersion.version = 0;
  EXPECT_TRUE(store_->RestoreRecords(tenant_.id, "Customers", {noVersion}).IsInvalidArgument());
  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
  EXPECT_EQ(records, 1u);
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
}

TEST_F(DumpTest, RestoreIsHeldToTheRecordsQuota) {
  ASSERT_TRUE(store_->SetTenantQuota(tenant_.id, TenantQuota{1, 0, 0, 0}).ok());
  Status s = store_->RestoreRecords(tenant_.id, "Customers",
                                    {Rec(1, "a", Value::Null()), Rec(2, "b", Value::Null())});
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(tenant_.id, &records, &bytes).ok());
  EXPECT_EQ(records, 0u);
}

TEST_F(DumpTest, RestoreKeepsUniqueValuesUnique) {
  ObjectDef def;
  FieldDef handle{"handle", FieldType::kText, true, true};
  handle.unique = true;
  ASSERT_TRUE(store_->CreateObject(tenant_.id, "Accounts", {handle}, &def).ok());
  Record added;
  ASSERT_TRUE(store_->AddRecord(tenant_.id, "Accounts", {{"handle", Value::Text("dee")}}, 1, &added).ok());
  auto rec = [&](RecordId id, const char* h) {
    Store::RestoredRecord r = Rec(id, "", Value::Null());
    r.fields = {{"handle", Value::Text(h)}};
    return r;
  };
  // Against the object's records, and against an earlier record of the batch: the whole
  // batch is refused, naming the record, the field and the value.
  Status s = store_->RestoreRecords(tenant_.id, "Accounts", {rec(added.id + 1, "ann"), rec(added.id + 2, "dee")});
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("record 1 of the batch"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("'dee' in unique field handle"), std::string::npos) << s.ToString();
  s = store_->RestoreRecords(tenant_.id, "Accounts", {rec(added.id + 1, "ann"), rec(added.id + 2, "ann")});
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  ASSERT_TRUE(store_->RestoreRecords(tenant_.id, "Accounts", {rec(added.id + 1, "ann"), rec(added.id + 2, "bo")}).ok());
  Record got;
  ASSERT_TRUE(store_->GetRecordBy(tenant_.id, "Accounts", "handle", Value::Text("bo"), &got, nullptr).ok());
  EXPECT_EQ(got.id, added.id + 2);
  Record dup;
  EXPECT_TRUE(store_->AddRecord(tenant_.id, "Accounts", {{"handle", Value::Text("ann")}}, 1, &dup).IsConflict());
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Accounts"), "");
}

}  // namespace
}  // namespace cotenant::storage
