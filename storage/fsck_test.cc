// The store checker: a clean store reports clean, and each kind of inconsistency planted
// directly in the engine is named with its tenant and key.

#include "storage/fsck.h"

#include <gtest/gtest.h>

#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::OpenStore;

class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    ObjectDef def;
    ASSERT_TRUE(store_->CreateObject(tenant_.id, "Customers",
                                     {{"name", FieldType::kText, true, true},
                                      {"age", FieldType::kInt, false, true},
                                      {"note", FieldType::kText, false, false}},
                                     &def)
                    .ok());
    object_ = def.id;
    for (int i = 0; i < 20; ++i) {
      Record r;
      ASSERT_TRUE(store_->AddRecord(tenant_.id, "Customers",
                                    {{"name", Value::Text("c" + std::to_string(i))},
                                     {"age", Value::Int(i)}},
                                    1, &r)
                      .ok());
      ids_.push_back(r.id);
    }
    uint64_t n = 0, b = 0;
    ASSERT_TRUE(store_->TenantUsage(tenant_.id, &n, &b).ok());  // counters are live from here
  }

  CheckReport Online() {
    CheckReport r;
    Status s = store_->Check(CheckOptions{}, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  // The check of the closed store, on the engine the suite runs on.
  CheckReport Offline(const CheckOptions& options = {}) {
    store_.reset();
    CheckReport r;
    std::string storage = cotenant::testing::TestStorageUri(dir_.path());
    Status s = storage.empty() ? CheckDataDirectory(dir_.path(), options, &r)
                               : CheckPostgresStore(storage, options, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  void Plant(Cf cf, const std::string& key, const std::string& value, bool del = false) {
    auto b = store_->engine()->NewBatch();
    if (del) {
      b->Delete(cf, key);
    } else {
      b->Put(cf, key, value);
    }
    ASSERT_TRUE(store_->engine()->Write(b.get(), true).ok());
  }

  // The one problem of `kind` the report lists; fails when there is none.
  static const CheckProblem* Find(const CheckReport& r, const std::string& kind) {
    for (const auto& p : r.problems) {
      if (p.kind == kind) return &p;
    }
    ADD_FAILURE() << "no " << kind << " problem in:\n" << CheckReportText(r);
    return nullptr;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
  ObjectId object_ = 0;
  std::vector<RecordId> ids_;
};

TEST_F(FsckTest, CleanStoreIsClean) {
  Store::MetaBatch m;
  m.Put(tenant_.id, "role/r", R"({"id":1,"name":"r"})");
  ASSERT_TRUE(store_->MetaWrite(m).ok());
  uint64_t role = 0;
  ASSERT_TRUE(store_->NextId(kGlobalTenant, "role", &role).ok());
  CheckReport r = Online();
  EXPECT_TRUE(r.clean()) << CheckReportText(r);
  EXPECT_EQ(r.checked["records"], 20u);
  EXPECT_EQ(r.checked["index entries"], 40u);
  EXPECT_EQ(r.checked["tenants"], 1u);
  EXPECT_EQ(r.checked["usage counters"], 1u);
  EXPECT_GE(r.checked["sequences"], 3u);  // tenant, record, role
  CheckReport off = Offline();
  EXPECT_TRUE(off.clean()) << CheckReportText(off);
  EXPECT_EQ(off.checked["records"], 20u);
  EXPECT_EQ(off.checked.count("usage counters"), 0u);  // kept in memory only
}

TEST_F(FsckTest, MissingIndexEntry) {
  Plant(Cf::kIndexes, IndexKey(tenant_.id, object_, 1, Value::Int(3), ids_[3]), "", true);
  CheckReport r = Offline();
  EXPECT_EQ(r.problem_count, 1u) << CheckReportText(r);
  const CheckProblem* p = Find(r, "index-missing");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->tenant, tenant_.id);
  EXPECT_NE(p->what.find("record " + std::to_string(ids_[3])), std::string::npos) << p->what;
  EXPECT_NE(p->what.find("field age"), std::string::npos) << p->what;
}

TEST_F(FsckTest, ExtraIndexEntryPointsAtNoRecord) {
  Plant(Cf::kIndexes, IndexKey(tenant_.id, object_, 0, Value::Text("ghost"), 999), "");
  CheckReport r = Offline();
  EXPECT_EQ(r.problem_count, 1u) << CheckReportText(r);
  const CheckProblem* p = Find(r, "index-extra");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->what.find("record 999"), std::string::npos) << p->what;
  EXPECT_NE(p->key.find("ghost"), std::string::npos) << p->key;
}

TEST_F(FsckTest, StaleIndexEntry) {
  // The record says c5; an entry for the same record says "old".
  Plant(Cf::kIndexes, IndexKey(tenant_.id, object_, 0, Value::Text("old"), ids_[5]), "");
  CheckReport r = Offline();
  EXPECT_EQ(r.problem_count, 1u) << CheckReportText(r);
  const CheckProblem* p = Find(r, "index-stale");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->what.find("c5"), std::string::npos) << p->what;
}

TEST_F(FsckTest, EntryForAnUnindexedField) {
  Plant(Cf::kIndexes, IndexKey(tenant_.id, object_, 2, Value::Text("x"), ids_[1]), "");
  CheckReport r = Offline();
  const CheckProblem* p = Find(r, "index-extra");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->what.find("does not index"), std::string::npos) << p->what;
}

TEST_F(FsckTest, UsageCounterOff) {
  // A record written past the store's counters (and without its index entries).
  std::string value;
  ASSERT_TRUE(store_->engine()->Get(Cf::kRecords, RecordKey(tenant_.id, object_, ids_[0]), &value).ok());
  Plant(Cf::kRecords, RecordKey(tenant_.id, object_, ids_.back() + 1), value);
  CheckReport r = Online();
  const CheckProblem* p = Find(r, "usage-mismatch");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->tenant, tenant_.id);
  EXPECT_NE(p->what.find("says 20, the records number 21"), std::string::npos) << p->what;
  Find(r, "index-missing");
}

TEST_F(FsckTest, KeysOfADeletedTenant) {
  TenantInfo gone;
  ASSERT_TRUE(store_->CreateTenant("gone", TenantKind::kTenant, 0, &gone).ok());
  ASSERT_TRUE(store_->DeleteTenant(gone.id).ok());
  Plant(Cf::kRecords, RecordKey(gone.id, 1, 1), "x");
  Plant(Cf::kMeta, MetaKey(gone.id, "role/admin"), "{}");
  // Tenant 0's lookup entry of a user of the deleted tenant.
  uint64_t user = 0;
  ASSERT_TRUE(store_->NextId(kGlobalTenant, "user", &user).ok());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(user));
  Plant(Cf::kMeta, MetaKey(kGlobalTenant, std::string("user/") + hex),
        R"({"tenant":)" + std::to_string(gone.id) + "}");
  Plant(Cf::kRecords, RecordKey(kGlobalTenant, 1, 1), "x");
  CheckReport r = Offline();
  EXPECT_EQ(r.problem_count, 4u) << CheckReportText(r);
  int orphans = 0, dangling = 0;
  for (const auto& p : r.problems) {
    if (p.kind == "orphan-key") ++orphans;
    if (p.kind == "dangling-reference") {
      ++dangling;
      EXPECT_EQ(p.tenant, gone.id);
      EXPECT_NE(p.what.find("deleted tenant " + std::to_string(gone.id)), std::string::npos) << p.what;
    }
  }
  EXPECT_EQ(orphans, 3);
  EXPECT_EQ(dangling, 1);
  EXPECT_NE(CheckReportText(r).find("meta:" + std::to_string(gone.id) + "/role/admin"), std::string::npos)
      << CheckReportText(r);
}

TEST_F(FsckTest, AllocatorBehind) {
  std::string v;
  AppendU64(&v, ids_.back());  // reserved up to the last id in use: the next one repeats it
  Plant(Cf::kMeta, MetaKey(tenant_.id, std::string(1, kMetaSequence) + "record"), v);
  CheckReport r = Offline();
  EXPECT_EQ(r.problem_count, 1u) << CheckReportText(r);
  const CheckProblem* p = Find(r, "sequence-behind");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->tenant, tenant_.id);
  EXPECT_NE(p->key.find("sequence/record"), std::string::npos) << p->key;
}

TEST_F(FsckTest, TenantAllocatorBehindAndUndecodableRecord) {
  std::string v;
  AppendU64(&v, 1);
  Plant(Cf::kMeta, MetaKey(kGlobalTenant, std::string(1, kMetaSequence) + "tenant"), v);
  Plant(Cf::kRecords, RecordKey(tenant_.id, object_, ids_[2]), "\x07garbage");
  CheckReport r = Offline();
  EXPECT_NE(Find(r, "sequence-behind"), nullptr);
  const CheckProblem* p = Find(r, "record-corrupt");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->key.find("records:" + std::to_string(tenant_.id)), std::string::npos) << p->key;
}

TEST_F(FsckTest, ProblemsAreCappedButCounted) {
  for (RecordId id : ids_) {
    Plant(Cf::kIndexes, IndexKey(tenant_.id, object_, 0, Value::Text("zz"), id), "");
  }
  CheckOptions o;
  o.max_problems = 5;
  CheckReport r = Offline(o);
  EXPECT_EQ(r.problem_count, 20u);
  EXPECT_EQ(r.problems.size(), 5u);
  EXPECT_NE(CheckReportText(r).find("and 15 more"), std::string::npos);
  EXPECT_NE(CheckReportJson(r).find(R"("problemCount":20)"), std::string::npos);
}

TEST_F(FsckTest, TheOfflineCheckRefusesAPostgresqlStoreThatIsOpen) {
  if (!cotenant::testing::OnPostgresql()) {
    GTEST_SKIP() << "the embedded engine's lock is per process; the end-to-end fsck suite "
                    "checks it against a running server";
  }
  CheckReport r;
  Status s = CheckPostgresStore(cotenant::testing::TestStorageUri(dir_.path()), CheckOptions{}, &r);
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();
  EXPECT_NE(s.message().find("--online"), std::string::npos) << s.message();
}

TEST_F(FsckTest, ADirectoryWithoutAStoreIsNotFound) {
  CheckReport r;
  cotenant::testing::TempDir empty;
  Status s = CheckDataDirectory(empty.path(), CheckOptions{}, &r);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("no store"), std::string::npos);
}

}  // namespace
}  // namespace cotenant::storage
