// Catalog changes (tenants, objects, quotas, deletions) are durable before they are
// acknowledged, and nothing that only reads waits for their fsync: a change holds its own
// writer lock across the synced write and takes the catalog's lock only to publish.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>

#include "storage/kv.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using namespace std::chrono_literals;

// Forwards to the real engine; while armed, the next synced write waits (before it is
// applied) until Release().
class HoldingEngine final : public KvEngine {
 public:
  struct Hold {
    std::mutex mu;
    std::condition_variable cv;
    bool armed = false;
    bool entered = false;
    bool released = false;
  };
  HoldingEngine(std::unique_ptr<KvEngine> inner, Hold* hold)
      : inner_(std::move(inner)), hold_(hold) {}

  std::unique_ptr<KvBatch> NewBatch() override { return inner_->NewBatch(); }
  Status Write(KvBatch* batch, bool sync) override {
    if (sync) {
      std::unique_lock<std::mutex> l(hold_->mu);
      if (hold_->armed) {
        hold_->armed = false;
        hold_->entered = true;
        hold_->cv.notify_all();
        hold_->cv.wait(l, [this] { return hold_->released; });
      }
    }
    return inner_->Write(batch, sync);
  }
  Status Get(Cf cf, std::string_view key, std::string* value,
             const KvReadOptions& options) const override {
    return inner_->Get(cf, key, value, options);
  }
  void MultiGet(Cf cf, const std::vector<std::string>& keys, std::vector<std::string>* values,
                std::vector<Status>* statuses, const KvReadOptions& options) const override {
    inner_->MultiGet(cf, keys, values, statuses, options);
  }
  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                          const KvReadOptions& options) const override {
    return inner_->NewIterator(cf, std::move(lower), std::move(upper), options);
  }
  std::shared_ptr<const KvSnapshot> GetSnapshot() const override { return inner_->GetSnapshot(); }
  Status DropRange(Cf cf, std::string_view begin, std::string_view end) override {
    return inner_->DropRange(cf, begin, end);
  }
  Status SyncWal() override { return inner_->SyncWal(); }
  void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const override {
    inner_->MemoryUsage(block_cache, memtables);
  }

 private:
  std::unique_ptr<KvEngine> inner_;
  Hold* hold_;
};

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.wrap_engine = [this](std::unique_ptr<KvEngine> inner) -> std::unique_ptr<KvEngine> {
      return std::make_unique<HoldingEngine>(std::move(inner), &hold_);
    };
    store_ = testing::OpenStore(dir_.path(), options);
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &acme_).ok());
    ASSERT_TRUE(store_->CreateTenant("other", TenantKind::kTenant, 0, &other_).ok());
    ObjectDef def;
    ASSERT_TRUE(store_->CreateObject(acme_.id, "Customers", {{"name", FieldType::kText, true, true}}, &def).ok());
    Status s = store_->AddRecord(acme_.id, "Customers", {{"name", Value::Text("Ann")}}, 7, &ann_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Runs `change` with its synced write held, and `reads` meanwhile; returns whether the
  // reads finished before the write was let go (they must not need it), then lets it go
  // and returns the change's status in *changed.
  bool ReadsFinishWhileHeld(const std::function<Status()>& change,
                            const std::function<void()>& reads, Status* changed) {
    {
      std::lock_guard<std::mutex> l(hold_.mu);
      hold_.armed = true;
      hold_.entered = hold_.released = false;
    }
    auto writer = std::async(std::launch::async, change);
    {
      std::unique_lock<std::mutex> l(hold_.mu);
      // Generous: the change only has to reach its write.
      EXPECT_TRUE(hold_.cv.wait_for(l, 60s, [this] { return hold_.entered; }))
          << "the change never reached its synced write";
    }
    auto reader = std::async(std::launch::async, reads);
    bool finished = reader.wait_for(30s) == std::future_status::ready;
    {
      std::lock_guard<std::mutex> l(hold_.mu);
      hold_.released = true;
      hold_.armed = false;
    }
    hold_.cv.notify_all();
    reader.get();
    *changed = writer.get();
    return finished;
  }

  // What a record call reads first: the tenant, the object, the record.
  void ReadAcme() {
    TenantInfo t;
    EXPECT_TRUE(store_->GetTenant(acme_.id, &t).ok());
    std::shared_ptr<const ObjectDef> def;
    EXPECT_TRUE(store_->GetObject(acme_.id, "Customers", &def).ok());
    Record r;
    Status s = store_->GetRecord(acme_.id, "Customers", ann_.id, &r, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(store_->ListTenants().empty());
    std::vector<ObjectDef> objects;
    EXPECT_TRUE(store_->ListObjects(acme_.id, &objects).ok());
  }

  cotenant::testing::TempDir dir_;
  HoldingEngine::Hold hold_;
  std::unique_ptr<Store> store_;
  TenantInfo acme_, other_;
  Record ann_;
};

TEST_F(CatalogTest, CreatingAnObjectDoesNotHoldReadersAcrossItsFsync) {
  ObjectDef created;
  Status changed;
  bool unseen_while_held = false;
  bool finished = ReadsFinishWhileHeld(
      [&] { return store_->CreateObject(acme_.id, "Orders", {{"total", FieldType::kInt, false, false}}, &created); },
      [&] {
        ReadAcme();
        // Published only once durable: not visible while its write is held.
        std::shared_ptr<const ObjectDef> def;
        unseen_while_held = store_->GetObject(acme_.id, "Orders", &def).IsNotFound();
      },
      &changed);
  EXPECT_TRUE(finished) << "reads waited for an object's creation to be synced";
  EXPECT_TRUE(unseen_while_held);
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  std::shared_ptr<const ObjectDef> def;
  EXPECT_TRUE(store_->GetObject(acme_.id, "Orders", &def).ok());
  // A second object of the same name, and ids that do not repeat, as before.
  ObjectDef again;
  EXPECT_TRUE(store_->CreateObject(acme_.id, "Orders", {}, &again).IsConflict());
  EXPECT_TRUE(store_->CreateObject(acme_.id, "Invoices", {}, &again).ok());
  EXPECT_NE(again.id, created.id);
}

TEST_F(CatalogTest, CreatingATenantDoesNotHoldReadersAcrossItsFsync) {
  TenantInfo created;
  Status changed;
  size_t tenants_seen = 0;
  bool finished = ReadsFinishWhileHeld(
      [&] { return store_->CreateTenant("globex", TenantKind::kTenant, 0, &created); },
      [&] {
        ReadAcme();
        tenants_seen = store_->ListTenants().size();
      },
      &changed);
  EXPECT_TRUE(finished) << "reads waited for a tenant's creation to be synced";
  EXPECT_EQ(tenants_seen, 2u);
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  EXPECT_EQ(store_->ListTenants().size(), 3u);
  TenantInfo dup;
  EXPECT_TRUE(store_->CreateTenant("globex", TenantKind::kTenant, 0, &dup).IsConflict());
}

TEST_F(CatalogTest, SettingAQuotaDoesNotHoldReadersAcrossItsFsync) {
  TenantQuota quota;
  quota.calls_per_second = 50;
  Status changed;
  bool finished = ReadsFinishWhileHeld([&] { return store_->SetTenantQuota(acme_.id, quota); },
                                       [&] { ReadAcme(); }, &changed);
  EXPECT_TRUE(finished) << "reads waited for a quota change to be synced";
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  TenantInfo t;
  ASSERT_TRUE(store_->GetTenant(acme_.id, &t).ok());
  EXPECT_EQ(t.quota.calls_per_second, 50u);
}

TEST_F(CatalogTest, DeletingATenantDoesNotHoldOtherTenantsAcrossItsFsync) {
  Status changed;
  bool finished = ReadsFinishWhileHeld([&] { return store_->DeleteTenant(other_.id); },
                                       [&] { ReadAcme(); }, &changed);
  EXPECT_TRUE(finished) << "reads waited for a tenant's deletion mark to be synced";
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  TenantInfo t;
  EXPECT_TRUE(store_->GetTenant(other_.id, &t).IsNotFound());
  ReadAcme();
}

}  // namespace
}  // namespace cotenant::storage
