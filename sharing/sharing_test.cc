// Sharing in process: rights arithmetic, the resolution order, generations and the
// context cache (exact revocation under concurrent resolution), serialization.

#include "sharing/sharing.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/test_support.h"

namespace cotenant::sharing {
namespace {

class SharingUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.path = dir_.path();
    o.storage = cotenant::testing::TestStorageUri(o.path);
    o.storage_connections = 4;
    o.block_cache_bytes = 8 << 20;
    o.memtable_bytes = 8 << 20;
    ASSERT_TRUE(storage::Store::Open(o, &store_).ok());
    identity_ = std::make_unique<Identity>(store_.get());
    CacheOptions co;
    co.store_id = "unit";
    cache_ = std::make_unique<ContextCache>(co);
    sharing_ = std::make_unique<Sharing>(store_.get(), identity_.get(), cache_.get());
  }

  storage::TenantInfo Tenant(const std::string& name, storage::TenantKind kind = storage::TenantKind::kTenant,
                             TenantId provider = 0) {
    storage::TenantInfo t;
    EXPECT_TRUE(store_->CreateTenant(name, kind, provider, &t).ok());
    storage::ObjectDef def;
    EXPECT_TRUE(store_->CreateObject(t.id, "Customers", {{"name", storage::FieldType::kText}}, &def).ok());
    return t;
  }

  User MakeUser(TenantId t, const std::string& name) {
    User u;
    std::string key;
    EXPECT_TRUE(identity_->CreateUser(t, name, AdminLevel::kUser, &u, &key).ok());
    return u;
  }

  std::shared_ptr<const Access> Resolve(TenantId c, UserId u, TenantId t) {
    std::shared_ptr<const Access> a;
    Status s = sharing_->Resolve(c, u, t, &a);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return a;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Identity> identity_;
  std::unique_ptr<ContextCache> cache_;
  std::unique_ptr<Sharing> sharing_;
};

TEST_F(SharingUnitTest, RoleRightsUnionWithWildcard) {
  auto t = Tenant("t");
  User u = MakeUser(t.id, "u");
  Role r;
  ASSERT_TRUE(sharing_->CreateRole(t.id, "all-read", {{"*", kRead}}, false, &r).ok());
  ASSERT_TRUE(sharing_->CreateRole(t.id, "cust-update", {{"Customers", kUpdate}}, false, &r).ok());
  ASSERT_TRUE(sharing_->CreateRole(t.id, "orders-none", {{"Orders", 0}, {"*", kAdd}}, false, &r).ok());
  ASSERT_TRUE(sharing_->AddMember(t.id, "all-read", t.id, u.id).ok());
  ASSERT_TRUE(sharing_->AddMember(t.id, "cust-update", t.id, u.id).ok());
  auto a = Resolve(t.id, u.id, t.id);
  EXPECT_EQ(a->path, Path::kOwn);
  // Customers: read (from *) + update (named).
  EXPECT_EQ(a->RightsOn("Customers"), kRead | kUpdate);
  EXPECT_EQ(a->RightsOn("Anything"), kRead);
  ASSERT_TRUE(sharing_->AddMember(t.id, "orders-none", t.id, u.id).ok());
  a = Resolve(t.id, u.id, t.id);
  // Orders is named by one role with nothing, but the others' "*" still applies.
  EXPECT_EQ(a->RightsOn("Orders"), kRead);
  EXPECT_EQ(a->RightsOn("Anything"), kRead | kAdd);
  EXPECT_EQ(a->RightsOn("Customers"), kRead | kUpdate | kAdd);
  Status denied = a->Check("Orders", kDelete);
  EXPECT_TRUE(denied.IsPermissionDenied());
  EXPECT_NE(denied.message().find("DELETE records/Orders"), std::string::npos) << denied.message();
  // Validation and duplicates.
  EXPECT_TRUE(sharing_->CreateRole(t.id, "all-read", {}, false, &r).IsConflict());
  EXPECT_TRUE(sharing_->CreateRole(t.id, "bad name", {}, false, &r).IsInvalidArgument());
  EXPECT_TRUE(sharing_->CreateRole(t.id, "x", {{"bad object", kRead}}, false, &r).IsInvalidArgument());
  EXPECT_TRUE(sharing_->AddMember(t.id, "nope", t.id, u.id).IsNotFound());
}

TEST_F(SharingUnitTest, ResolutionOrderAndFirstMatch) {
  auto isv = Tenant("isv", storage::TenantKind::kIsv);
  auto msp = Tenant("msp", storage::TenantKind::kMsp, isv.id);
  auto c = Tenant("c", storage::TenantKind::kTenant, msp.id);
  User caller = MakeUser(c.id, "caller");
  User reader = MakeUser(isv.id, "reader");
  User nobody = MakeUser(isv.id, "nobody");
  Role r;
  ASSERT_TRUE(sharing_->CreateRole(isv.id, "read", {{"*", kRead}}, false, &r).ok());
  ASSERT_TRUE(sharing_->AddMember(isv.id, "read", isv.id, reader.id).ok());

  auto a = Resolve(c.id, caller.id, isv.id);
  EXPECT_EQ(a->path, Path::kDenied);
  EXPECT_NE(a->denial.find("no data-sharing policy of tenant " + std::to_string(isv.id)), std::string::npos);
  // An unknown tenant: the same words.
  auto unknown = Resolve(c.id, caller.id, 999999);
  EXPECT_EQ(unknown->path, Path::kDenied);

  Policy g;
  g.name = "global";
  g.global = true;
  g.user = reader.id;
  Policy out;
  ASSERT_TRUE(sharing_->CreatePolicy(isv.id, g, &out).ok());
  a = Resolve(c.id, caller.id, isv.id);  // the ISV manages c through its MSP
  EXPECT_EQ(a->path, Path::kGlobalPolicy);
  EXPECT_EQ(a->principal, reader.id);
  EXPECT_EQ(a->RightsOn("Customers"), kRead);

  Policy specific;
  specific.name = "specific";
  specific.designated = c.id;
  specific.user = nobody.id;
  ASSERT_TRUE(sharing_->CreatePolicy(isv.id, specific, &out).ok());
  a = Resolve(c.id, caller.id, isv.id);
  // Decides alone: its user has no role, so it admits nobody, and the global policy is
  // not consulted.
  EXPECT_EQ(a->path, Path::kDenied);
  EXPECT_EQ(a->denial, "Access Denied: no data-sharing policy of tenant " + std::to_string(isv.id) +
                          " admits tenant " + std::to_string(c.id));  // no word of the publisher's user
  EXPECT_EQ(a->principal, nobody.id);  // the specific policy decided (first match)
  EXPECT_EQ(a->RightsOn("Customers"), 0);
  specific.expires_at = storage::NowMicros() - 1;
  ASSERT_TRUE(sharing_->UpdatePolicy(isv.id, specific, &out).ok());
  a = Resolve(c.id, caller.id, isv.id);
  EXPECT_EQ(a->path, Path::kGlobalPolicy);  // an expired policy is skipped

  // Cross-tenant role membership comes first, with its roles only.
  ASSERT_TRUE(sharing_->CreateRole(isv.id, "partners", {{"Customers", kAdd}}, true, &r).ok());
  EXPECT_TRUE(sharing_->AddMember(isv.id, "partners", c.id, caller.id).IsPermissionDenied());
  ASSERT_TRUE(sharing_->SetSetting("crossTenantRoles", "true").ok());
  ASSERT_TRUE(sharing_->AddMember(isv.id, "partners", c.id, caller.id).ok());
  a = Resolve(c.id, caller.id, isv.id);
  EXPECT_EQ(a->path, Path::kCrossTenantRole);
  EXPECT_EQ(a->principal, caller.id);
  EXPECT_EQ(a->RightsOn("Customers"), kAdd);
  // A plain (not cross-tenant) role takes no members from other tenants.
  EXPECT_TRUE(sharing_->AddMember(isv.id, "read", c.id, caller.id).IsInvalidArgument());
}

TEST_F(SharingUnitTest, PolicyRules) {
  auto p = Tenant("p");
  auto c = Tenant("c");
  auto plain = Tenant("plain");
  User u = MakeUser(p.id, "u");
  User foreign = MakeUser(c.id, "f");
  Policy pol, out;
  pol.name = "share";
  pol.designated = c.id;
  pol.user = u.id;
  ASSERT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).ok());
  EXPECT_GT(out.created_at, 0);
  pol.name = "again";
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsConflict());  // one per pair
  pol.name = "share";
  pol.designated = plain.id;
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsConflict());  // name taken
  pol.name = "third";
  pol.user = foreign.id;
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsInvalidArgument());
  pol.user = u.id;
  pol.designated = p.id;
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsInvalidArgument());
  pol.designated = 0;
  pol.global = true;
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsInvalidArgument());  // not an isv/msp
  pol.global = false;
  pol.designated = plain.id;
  pol.scope = {{"Nope", "", {}}};
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsInvalidArgument());
  pol.scope = {{"Customers", "name = ", {}}};
  EXPECT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).IsInvalidArgument());
  // A row filter past the criteria limit is refused by its size, before it is parsed.
  std::string big = "name = 'x'";
  while (big.size() <= (16u << 10)) big += " or name = 'x'";
  pol.scope = {{"Customers", big, {}}};
  Status too_big = sharing_->CreatePolicy(p.id, pol, &out);
  ASSERT_TRUE(too_big.IsInvalidArgument());
  EXPECT_EQ(too_big.message(), "row filter of Customers is " + std::to_string(big.size()) +
                                   " bytes; the limit is 16384 bytes");
  pol.scope = {{"Customers", "name = 'x'", {"name"}}};
  ASSERT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).ok());
  std::vector<Policy> list;
  ASSERT_TRUE(sharing_->ListPublishedBy(p.id, &list).ok());
  EXPECT_EQ(list.size(), 2u);
  ASSERT_TRUE(sharing_->ListDesignating(c.id, &list).ok());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].publisher, p.id);
  EXPECT_TRUE(sharing_->DeletePolicy(p.id, "nope").IsNotFound());
  ASSERT_TRUE(sharing_->DeletePolicy(p.id, "share").ok());
  ASSERT_TRUE(sharing_->ListDesignating(c.id, &list).ok());
  EXPECT_TRUE(list.empty());
}

// A resolution racing a revocation may write its old result into the cache after the
// revocation returned; it must never be served afterwards.
TEST_F(SharingUnitTest, RevocationIsExactUnderConcurrentResolution) {
  auto p = Tenant("p");
  auto c = Tenant("c");
  User alias = MakeUser(p.id, "alias");
  User caller = MakeUser(c.id, "caller");
  Role r;
  ASSERT_TRUE(sharing_->CreateRole(p.id, "read", {{"*", kRead}}, false, &r).ok());
  ASSERT_TRUE(sharing_->AddMember(p.id, "read", p.id, alias.id).ok());
  Policy pol, out;
  pol.name = "share";
  pol.designated = c.id;
  pol.user = alias.id;

  std::atomic<uint64_t> phase{0};  // odd = revoked (round = phase / 2)
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> violations{0}, checked{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      while (!stop.load()) {
        uint64_t before = phase.load();
        std::shared_ptr<const Access> a;
        if (!sharing_->Resolve(c.id, caller.id, p.id, &a).ok()) continue;
        uint64_t after = phase.load();
        if (before % 2 == 1 && before == after) {
          ++checked;
          if (a->Check("Customers", kRead).ok()) ++violations;
        }
      }
    });
  }
  for (int round = 0; round < 300; ++round) {
    phase.store(uint64_t(round) * 2);
    ASSERT_TRUE(sharing_->CreatePolicy(p.id, pol, &out).ok());
    std::this_thread::yield();
    ASSERT_TRUE(sharing_->DeletePolicy(p.id, "share").ok());
    phase.store(uint64_t(round) * 2 + 1);  // only after the revoking call returned
    std::this_thread::yield();
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(checked.load(), 0u);
  EXPECT_GT(cache_->counters().stale_rejected, 0u);
}

TEST_F(SharingUnitTest, AccessSerializationRoundTrips) {
  Access a;
  a.caller_tenant = 3;
  a.caller = 4;
  a.target = 5;
  a.path = Path::kPolicy;
  a.principal = 9;
  a.policy = "p";
  a.expires_at = 1234;
  a.rights = {{"*", kRead}, {"Customers", kAllRights}};
  a.scoped = true;
  a.scope["Customers"] = ObjectScope{"Customers", "name = 'x'", {"name"}};
  Access b;
  ASSERT_TRUE(Access::Deserialize(a.Serialize(), &b).ok());
  EXPECT_EQ(b.Serialize(), a.Serialize());
  EXPECT_EQ(b.RightsOn("Customers"), kAllRights);
  EXPECT_EQ(b.RightsOn("Orders"), 0);  // scoped: only Customers
  EXPECT_FALSE(Access::Deserialize("not json", &b).ok());
}

}  // namespace
}  // namespace cotenant::sharing
