// Tenant lifecycle and isolation inside the store.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::CheckIndexes;
using testing::OpenStore;

class TenantTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(dir_.path()); }

  TenantInfo MakeTenant(const std::string& name, int records) {
    TenantInfo t;
    EXPECT_TRUE(store_->CreateTenant(name, TenantKind::kTenant, 0, &t).ok());
    ObjectDef def;
    EXPECT_TRUE(store_->CreateObject(t.id, "Customers",
                                     {{"name", FieldType::kText, false, true},
                                      {"secret", FieldType::kText, false, false}},
                                     &def)
                    .ok());
    std::vector<FieldValues> batch;
    for (int i = 0; i < records; ++i) {
      batch.push_back({{"name", Value::Text(name + "-" + std::to_string(i))},
                       {"secret", Value::Text("secret of " + name)}});
    }
    std::vector<RecordId> ids;
    if (records > 0) {
      EXPECT_TRUE(store_->AddRecords(t.id, "Customers", batch, 1, &ids).ok());
    }
    Store::MetaBatch m;
    m.Put(t.id, "user/1", "someone");
    EXPECT_TRUE(store_->MetaWrite(m).ok());
    EXPECT_TRUE(store_->AuditAppend(t.id, NowMicros(), "created").ok());
    return t;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

// The first usage count scans a snapshot while writes go on; none is missed or counted
// twice (the figures equal a fresh count after a reopen).
TEST_F(TenantTest, UsageIsExactWhenCountedWhileWritesGoOn) {
  TenantInfo t = MakeTenant("busy", 1000);
  for (int b = 0; b < 2; ++b) {
    std::vector<FieldValues> batch(1000, FieldValues{{"name", Value::Text("more")}});
    std::vector<RecordId> ids;
    ASSERT_TRUE(store_->AddRecords(t.id, "Customers", batch, 1, &ids).ok());
  }
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i) {
      Record r;
      ASSERT_TRUE(store_->AddRecord(t.id, "Customers", {{"name", Value::Text("w" + std::to_string(i))}}, 1, &r).ok());
      if (i % 3 == 0) ASSERT_TRUE(store_->DeleteRecord(t.id, "Customers", r.id, 0).ok());
    }
  });
  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(t.id, &records, &bytes).ok());  // the first count, mid-write
  writer.join();
  ASSERT_TRUE(store_->TenantUsage(t.id, &records, &bytes).ok());
  EXPECT_EQ(records, 3000u + 400u - 134u);
  store_.reset();
  store_ = OpenStore(dir_.path());
  uint64_t fresh_records = 0, fresh_bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(t.id, &fresh_records, &fresh_bytes).ok());
  EXPECT_EQ(records, fresh_records);
  EXPECT_EQ(bytes, fresh_bytes);
}

// Records and bytes quotas: a write that would grow past one is refused whole, naming
// the quota; shrinking and deleting are always allowed; the quota survives a reopen; and
// concurrent writers never take the tenant past it.
TEST_F(TenantTest, RecordAndByteQuotasAreExactAndDurable) {
  TenantInfo t = MakeTenant("capped", 8);
  TenantQuota q;
  q.records = 10;
  ASSERT_TRUE(store_->SetTenantQuota(t.id, q).ok());
  TenantInfo info;
  ASSERT_TRUE(store_->GetTenant(t.id, &info).ok());
  EXPECT_EQ(info.quota.records, 10u);
  std::vector<FieldValues> three(3, FieldValues{{"name", Value::Text("x")}});
  std::vector<RecordId> ids;
  Status s = store_->AddRecords(t.id, "Customers", three, 1, &ids);
  EXPECT_TRUE((s.code() == Status::Code::kResourceExhausted)) << s.ToString();
  EXPECT_NE(s.message().find("records quota of 10"), std::string::npos) << s.message();
  EXPECT_TRUE(ids.empty());
  uint64_t records = 0, bytes = 0;
  ASSERT_TRUE(store_->TenantUsage(t.id, &records, &bytes).ok());
  EXPECT_EQ(records, 8u);  // the refused batch left nothing
  // Two fit; racing writers for the last ones never overshoot.
  std::vector<std::thread> writers;
  std::atomic<int> added{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        Record r;
        if (store_->AddRecord(t.id, "Customers", {{"name", Value::Text("r")}}, 1, &r).ok()) ++added;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(added.load(), 2);
  EXPECT_EQ(store_->quota_refusals_records(), 1u + 18u);
  // Deleting makes room.
  SearchResult page;
  SearchRequest req;
  req.object = "Customers";
  ASSERT_TRUE(store_->Search(t.id, req, &page).ok());
  ASSERT_TRUE(store_->DeleteRecord(t.id, "Customers", page.records[0].id, 0).ok());
  Record r;
  EXPECT_TRUE(store_->AddRecord(t.id, "Customers", {{"name", Value::Text("again")}}, 1, &r).ok());

  // Bytes: an update that grows the record past the quota is refused; one that shrinks
  // it is not.
  ASSERT_TRUE(store_->TenantUsage(t.id, &records, &bytes).ok());
  q = TenantQuota{};
  q.bytes = bytes + 100;
  ASSERT_TRUE(store_->SetTenantQuota(t.id, q).ok());
  Record grown;
  s = store_->UpdateRecord(t.id, "Customers", r.id, {{"secret", Value::Text(std::string(500, 'y'))}}, 0,
                           1, &grown);
  EXPECT_TRUE((s.code() == Status::Code::kResourceExhausted)) << s.ToString();
  EXPECT_NE(s.message().find("bytes quota of " + std::to_string(bytes + 100)), std::string::npos)
      << s.message();
  EXPECT_TRUE(store_->UpdateRecord(t.id, "Customers", r.id, {{"secret", Value::Text(std::string(50, 'y'))}},
                                   0, 1, &grown)
                  .ok());
  EXPECT_TRUE(store_->UpdateRecord(t.id, "Customers", r.id, {{"secret", Value::Text("")}}, 0, 1, &grown).ok());

  // Durable; and another tenant is not limited by it.
  store_.reset();
  store_ = OpenStore(dir_.path());
  ASSERT_TRUE(store_->GetTenant(t.id, &info).ok());
  EXPECT_EQ(info.quota, q);
  s = store_->UpdateRecord(t.id, "Customers", r.id, {{"secret", Value::Text(std::string(500, 'y'))}}, 0, 1,
                           &grown);
  EXPECT_TRUE((s.code() == Status::Code::kResourceExhausted)) << s.ToString();
  TenantInfo other = MakeTenant("free", 20);
  ASSERT_TRUE(store_->TenantUsage(other.id, &records, &bytes).ok());
  EXPECT_EQ(records, 20u);
  // Removing the quota lifts it; an unknown tenant has none to set.
  ASSERT_TRUE(store_->SetTenantQuota(t.id, TenantQuota{}).ok());
  EXPECT_TRUE(store_->UpdateRecord(t.id, "Customers", r.id, {{"secret", Value::Text(std::string(500, 'y'))}},
                                   0, 1, &grown)
                  .ok());
  EXPECT_TRUE(store_->SetTenantQuota(999999, q).IsNotFound());
}

TEST_F(TenantTest, ProviderRules) {
  TenantInfo isv, msp, t, bad;
  ASSERT_TRUE(store_->CreateTenant("isv", TenantKind::kIsv, 0, &isv).ok());
  ASSERT_TRUE(store_->CreateTenant("msp", TenantKind::kMsp, isv.id, &msp).ok());
  ASSERT_TRUE(store_->CreateTenant("t1", TenantKind::kTenant, msp.id, &t).ok());
  ASSERT_TRUE(store_->CreateTenant("t2", TenantKind::kTenant, isv.id, &t).ok());
  EXPECT_TRUE(store_->CreateTenant("x", TenantKind::kIsv, isv.id, &bad).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateTenant("x", TenantKind::kMsp, msp.id, &bad).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateTenant("x", TenantKind::kTenant, t.id, &bad).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateTenant("x", TenantKind::kTenant, 99999, &bad).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateTenant("t1", TenantKind::kTenant, 0, &bad).IsConflict());
  EXPECT_TRUE(store_->CreateTenant("", TenantKind::kTenant, 0, &bad).IsInvalidArgument());
  EXPECT_EQ(store_->ListTenants().size(), 4u);
  TenantInfo got;
  ASSERT_TRUE(store_->GetTenant(t.id, &got).ok());
  EXPECT_EQ(got.provider, isv.id);
  EXPECT_EQ(got.kind, TenantKind::kTenant);
}

TEST_F(TenantTest, DeletionLeavesNoKeyAndSparesOthers) {
  TenantInfo a = MakeTenant("a", 300);
  TenantInfo b = MakeTenant("b", 200);
  TenantInfo c = MakeTenant("c", 50);
  uint64_t keys_a = 0, keys_c_before = 0, keys_c_after = 0, keys_b = 0;
  ASSERT_TRUE(store_->CountTenantKeys(a.id, &keys_a).ok());
  ASSERT_TRUE(store_->CountTenantKeys(c.id, &keys_c_before).ok());
  EXPECT_GT(keys_a, 600u);  // records + index entries + meta + audit

  ASSERT_TRUE(store_->DeleteTenant(b.id).ok());
  ASSERT_TRUE(store_->CountTenantKeys(b.id, &keys_b).ok());
  EXPECT_EQ(keys_b, 0u);
  uint64_t keys_a_after = 0;
  ASSERT_TRUE(store_->CountTenantKeys(a.id, &keys_a_after).ok());
  ASSERT_TRUE(store_->CountTenantKeys(c.id, &keys_c_after).ok());
  EXPECT_EQ(keys_a_after, keys_a);
  EXPECT_EQ(keys_c_after, keys_c_before);
  EXPECT_EQ(CheckIndexes(*store_, a.id, "Customers"), "");
  EXPECT_EQ(CheckIndexes(*store_, c.id, "Customers"), "");

  TenantInfo got;
  EXPECT_TRUE(store_->GetTenant(b.id, &got).IsNotFound());
  Record r;
  EXPECT_TRUE(store_->GetRecord(b.id, "Customers", 1, &r, nullptr).IsNotFound());
  EXPECT_TRUE(store_->AddRecord(b.id, "Customers", {}, 1, &r).IsNotFound());
  std::string v;
  EXPECT_TRUE(store_->MetaGet(b.id, "user/1", &v).IsNotFound());
  EXPECT_TRUE(store_->DeleteTenant(b.id).IsNotFound());
  for (const auto& t : store_->ListTenants()) EXPECT_NE(t.id, b.id);

  // Survives a restart.
  store_.reset();
  store_ = OpenStore(dir_.path());
  EXPECT_TRUE(store_->GetTenant(b.id, &got).IsNotFound());
  ASSERT_TRUE(store_->CountTenantKeys(b.id, &keys_b).ok());
  EXPECT_EQ(keys_b, 0u);
}

TEST_F(TenantTest, RecreatedTenantNeverSeesOldData) {
  TenantInfo old = MakeTenant("phoenix", 20);
  ASSERT_TRUE(store_->DeleteTenant(old.id).ok());
  store_.reset();
  store_ = OpenStore(dir_.path());
  TenantInfo fresh;
  ASSERT_TRUE(store_->CreateTenant("phoenix", TenantKind::kTenant, 0, &fresh).ok());
  EXPECT_GT(fresh.id, old.id);  // ids are never reused, even after a restart
  std::vector<ObjectDef> objects;
  ASSERT_TRUE(store_->ListObjects(fresh.id, &objects).ok());
  EXPECT_TRUE(objects.empty());
  ObjectDef def;
  ASSERT_TRUE(store_->CreateObject(fresh.id, "Customers", {{"name", FieldType::kText, false, true}}, &def).ok());
  SearchRequest req;
  req.object = "Customers";
  SearchResult res;
  ASSERT_TRUE(store_->Search(fresh.id, req, &res).ok());
  EXPECT_TRUE(res.records.empty());
  Record r;
  EXPECT_TRUE(store_->GetRecord(fresh.id, "Customers", 1, &r, nullptr).IsNotFound());
  std::string v;
  EXPECT_TRUE(store_->MetaGet(fresh.id, "user/1", &v).IsNotFound());
}

TEST_F(TenantTest, SystemTenantCannotBeDeleted) {
  TenantInfo sys;
  ASSERT_TRUE(store_->CreateTenant("system", TenantKind::kSystem, 0, &sys).ok());
  TenantInfo again;
  EXPECT_TRUE(store_->CreateTenant("system2", TenantKind::kSystem, 0, &again).IsConflict());
  EXPECT_TRUE(store_->DeleteTenant(sys.id).IsInvalidArgument());
}

// Same object names and overlapping record ids in two tenants: nothing crosses over.
TEST_F(TenantTest, TenantsAreIsolatedWhateverTheyName) {
  TenantInfo a = MakeTenant("a", 40);
  TenantInfo b = MakeTenant("b", 40);
  SearchRequest req;
  req.object = "Customers";
  req.rows = 1000;
  for (const char* criteria : {"", "secret contains 'b'", "name starts with 'b-'", "id > 0",
                               "secret = 'secret of b'"}) {
    req.criteria = criteria;
    SearchResult res;
    ASSERT_TRUE(store_->Search(a.id, req, &res).ok());
    for (const auto& r : res.records) {
      EXPECT_EQ(r.values[1], Value::Text("secret of a")) << criteria;
    }
  }
  for (RecordId id = 0; id < 200; ++id) {
    Record r;
    Status s = store_->GetRecord(a.id, "Customers", id, &r, nullptr);
    if (s.ok()) {
      EXPECT_EQ(r.values[1], Value::Text("secret of a"));
    }
    Record u;
    s = store_->UpdateRecord(a.id, "Customers", id, {{"name", Value::Text("x")}}, 0, 1, &u);
    if (s.ok()) {
      EXPECT_EQ(u.values[1], Value::Text("secret of a"));
    }
  }
  SearchResult res;
  req.criteria = "";
  ASSERT_TRUE(store_->Search(b.id, req, &res).ok());
  ASSERT_EQ(res.records.size(), 40u);
  for (const auto& r : res.records) {
    EXPECT_EQ(r.values[1], Value::Text("secret of b"));
    EXPECT_NE(r.values[0], Value::Text("x"));
  }
}

}  // namespace
}  // namespace cotenant::storage
