#include "sharing/permission_sets.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>

#include "tests/test_support.h"

namespace cotenant::sharing {
namespace {

class PermissionSetsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    sets_.reset();
    store_.reset();
    storage::StoreOptions o;
    o.path = dir_.path();
    o.storage = cotenant::testing::TestStorageUri(o.path);
    o.storage_connections = 4;
    o.block_cache_bytes = 8 << 20;
    o.memtable_bytes = 8 << 20;
    ASSERT_TRUE(storage::Store::Open(o, &store_).ok());
    ASSERT_TRUE(PermissionSets::Open(store_.get(), &sets_).ok());
  }
  PermissionDecision Decide(storage::UserId user, storage::TenantId tenant, const std::string& rt,
                            const std::string& api, const std::string& method) {
    return sets_->Evaluate(AccessRequest{user, tenant, rt, api, method}, /*trace=*/true);
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<PermissionSets> sets_;
};

TEST_F(PermissionSetsTest, FreshInstallAllowsEverythingThroughAllowAll) {
  auto d = Decide(7, 3, "records/Customers", "deleteRecord", "DELETE");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.set, "allow-all");
  EXPECT_EQ(d.policy, 1);
  // Deleting allow-all sticks across a restart: default deny from then on.
  ASSERT_TRUE(sets_->Delete("allow-all").ok());
  Reopen();
  d = Decide(7, 3, "records/Customers", "getRecord", "GET");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.Reason(), "no permission set allows it");
}

// The documented example: deny k8s/job-style resources for userA and userB in chosen tenants, with a
// system-wide allow-all in place.
TEST_F(PermissionSetsTest, SeedExampleDenyWinsAndTenantsFilter) {
  const storage::UserId a = 11, b = 12, c = 13;
  PermissionSet deny;
  deny.name = "deny-k8s-job";
  deny.system_scope = false;
  deny.users = {a, b};
  deny.all_tenants = false;
  deny.tenants = {100, 101};
  deny.policies = {{Effect::kDeny, "records/Job.*", ".*", "GET|PUT|POST|DELETE"}};
  ASSERT_TRUE(sets_->Create(deny).ok());
  auto d = Decide(a, 100, "records/Jobs", "getRecord", "GET");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.Reason(), "denied by permission set 'deny-k8s-job' policy 1");
  ASSERT_EQ(d.considered.size(), 2u);  // allow-all and deny-k8s-job both applied
  EXPECT_FALSE(Decide(b, 101, "records/JobRuns", "deleteRecord", "DELETE").allowed);
  // Other objects, other users and other tenants are untouched.
  EXPECT_TRUE(Decide(a, 100, "records/Customers", "getRecord", "GET").allowed);
  EXPECT_TRUE(Decide(c, 100, "records/Jobs", "getRecord", "GET").allowed);
  EXPECT_TRUE(Decide(a, 102, "records/Jobs", "getRecord", "GET").allowed);
  // Whole-string match: "records/MyJobs" does not match "records/Job.*".
  EXPECT_TRUE(Decide(a, 100, "records/MyJobs", "getRecord", "GET").allowed);
  // A set for other tenants only is ignored; default deny when nothing allows.
  ASSERT_TRUE(sets_->Delete("allow-all").ok());
  PermissionSet other;
  other.name = "others";
  other.system_scope = true;
  other.all_tenants = false;
  other.tenants = {999};
  other.policies = {{Effect::kAllow, ".*", ".*", ".*"}};
  ASSERT_TRUE(sets_->Create(other).ok());
  d = Decide(c, 100, "records/Customers", "getRecord", "GET");
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.considered.empty());
  EXPECT_TRUE(Decide(c, 999, "records/Customers", "getRecord", "GET").allowed);
}

TEST_F(PermissionSetsTest, EveryErrorPath) {
  PermissionSet s;
  s.name = "bad";
  s.system_scope = true;
  s.policies = {{Effect::kAllow, "(a)\\1", ".*", ".*"}};  // a backreference: not linear
  Status st = sets_->Create(s);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("(a)\\1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("policy 1"), std::string::npos);
  s.policies = {{Effect::kAllow, ".*", "(?=x)", ".*"}};  // lookahead
  st = sets_->Create(s);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("apiNameRegex"), std::string::npos) << st.message();
  s.policies = {{Effect::kAllow, ".*", ".*", "[unclosed"}};
  EXPECT_TRUE(sets_->Create(s).IsInvalidArgument());
  s.policies.clear();
  EXPECT_TRUE(sets_->Create(s).IsInvalidArgument());
  s.policies = {{Effect::kAllow, ".*", ".*", ".*"}};
  s.name = "bad name";
  EXPECT_TRUE(sets_->Create(s).IsInvalidArgument());
  s.name = "allow-all";
  EXPECT_TRUE(sets_->Create(s).IsConflict());
  s.name = "nope";
  EXPECT_TRUE(sets_->Update(s).IsNotFound());
  EXPECT_TRUE(sets_->Delete("nope").IsNotFound());
  s.all_tenants = false;
  EXPECT_TRUE(sets_->Create(s).IsInvalidArgument());
  // Nothing of the failed calls was saved.
  EXPECT_EQ(sets_->List().size(), 1u);
}

TEST_F(PermissionSetsTest, ChangesSurviveRestartAndSimulateSavesNothing) {
  PermissionSet s;
  s.name = "no-deletes";
  s.system_scope = true;
  s.policies = {{Effect::kAllow, "records/.*", "getRecord", "GET"}, {Effect::kDeny, ".*", ".*", "DELETE"}};
  ASSERT_TRUE(sets_->Create(s).ok());
  Reopen();
  auto d = Decide(1, 2, "records/Customers", "deleteRecord", "DELETE");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.Reason(), "denied by permission set 'no-deletes' policy 2");
  PermissionDecision sim;
  ASSERT_TRUE(sets_->Simulate(AccessRequest{1, 2, "records/Customers", "deleteRecord", "DELETE"}, s, true, &sim).ok());
  EXPECT_TRUE(sim.allowed);  // without the set: allow-all decides
  EXPECT_FALSE(Decide(1, 2, "records/Customers", "deleteRecord", "DELETE").allowed);
}

// The RE2::Set evaluation agrees with matching every pattern one by one.
TEST_F(PermissionSetsTest, SetMatchingAgreesWithOneByOne) {
  std::mt19937_64 rng(5);
  const char* rts[] = {"records/.*", "records/Cust.*", "admin/(users|keys)", "records/[A-M].*", ".*"};
  const char* apis[] = {".*", "getRecord", "(add|update)Record", "search.*", "delete.*"};
  const char* methods[] = {".*", "GET", "POST|PUT", "DELETE", "GET|DELETE"};
  std::vector<PermissionSet> made;
  for (int i = 0; i < 30; ++i) {
    PermissionSet s;
    s.name = "s" + std::to_string(i);
    s.system_scope = rng() % 2;
    s.users = {1 + rng() % 3};
    s.all_tenants = rng() % 2;
    s.tenants = {10 + rng() % 3};
    for (int p = 0; p < 5; ++p) {
      s.policies.push_back({rng() % 4 == 0 ? Effect::kDeny : Effect::kAllow, rts[rng() % 5],
                            apis[rng() % 5], methods[rng() % 5]});
    }
    ASSERT_TRUE(sets_->Create(s).ok());
    made.push_back(s);
  }
  made.push_back(sets_->List().front());  // allow-all
  const char* req_rt[] = {"records/Customers", "records/Orders", "admin/users", "admin/tenants"};
  const char* req_api[] = {"getRecord", "addRecord", "deleteRecord", "searchRecords", "createUser"};
  const char* req_m[] = {"GET", "POST", "PUT", "DELETE"};
  for (int n = 0; n < 2000; ++n) {
    AccessRequest r{1 + rng() % 3, 10 + rng() % 3, req_rt[rng() % 4], req_api[rng() % 5], req_m[rng() % 4]};
    // Reference: plain RE2 full matches over the sets in name order.
    std::sort(made.begin(), made.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::string deny_set, allow_set;
    int deny_pol = 0, allow_pol = 0;
    for (const auto& s : made) {
      bool user_ok = s.system_scope || std::count(s.users.begin(), s.users.end(), r.user);
      bool tenant_ok = s.all_tenants || std::count(s.tenants.begin(), s.tenants.end(), r.tenant);
      if (!user_ok || !tenant_ok) continue;
      for (size_t p = 0; p < s.policies.size(); ++p) {
        const auto& pol = s.policies[p];
        if (!RE2::FullMatch(r.resource_type, pol.resource_type) || !RE2::FullMatch(r.api, pol.api_name) ||
            !RE2::FullMatch(r.method, pol.method)) {
          continue;
        }
        if (pol.effect == Effect::kDeny && deny_set.empty()) deny_set = s.name, deny_pol = int(p) + 1;
        if (pol.effect == Effect::kAllow && allow_set.empty()) allow_set = s.name, allow_pol = int(p) + 1;
      }
    }
    auto d = sets_->Evaluate(r);
    bool want = deny_set.empty() && !allow_set.empty();
    ASSERT_EQ(d.allowed, want) << n;
    ASSERT_EQ(d.set, deny_set.empty() ? allow_set : deny_set) << n;
    ASSERT_EQ(d.policy, deny_set.empty() ? allow_pol : deny_pol) << n;
  }
}

}  // namespace
}  // namespace cotenant::sharing
