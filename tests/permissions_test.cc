// Permission sets end to end: the documented example, deny over allow, tenant filters,
// default deny, every error path, and explain agreeing with the real decision.

#include <random>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

PermissionPolicy Deny(const std::string& rt, const std::string& api, const std::string& m) {
  return PermissionPolicy{Effect::Deny, rt, api, m};
}
PermissionPolicy Allow(const std::string& rt, const std::string& api, const std::string& m) {
  return PermissionPolicy{Effect::Allow, rt, api, m};
}

class PermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.log();
    admin_ = AdminClient(server_);
  }

  // A plain user of tenant `t` with every right on every object, logged in.
  std::pair<uint64_t, std::unique_ptr<Client>> User(TenantHandle& t, const std::string& name) {
    auto u = t.client->createUser(0, name, AdminLevel::User);
    EXPECT_TRUE(u.ok()) << u.getMessage();
    EXPECT_TRUE(t.client->addRoleMember(0, "data-all", t.id, u.value().user.id).ok());
    return {u.value().user.id, Client::connect(server_.address(), t.id, u.value().apiKey)};
  }

  void AddJobsObject(TenantHandle& t) {
    ASSERT_TRUE(t.client->createObject(0, "Jobs", {{"name", FieldType::Text, false, false}}).ok());
    Parameters p;
    p.add("name", "nightly");
    ASSERT_TRUE(t.client->addRecord("Jobs", p).ok());
  }

  Cotenantd server_;
  std::unique_ptr<Client> admin_;
};

TEST_F(PermissionsTest, SeedExample) {
  TenantHandle t1 = MakeTenant(server_, *admin_, "perm-t1");
  TenantHandle t2 = MakeTenant(server_, *admin_, "perm-t2");
  AddJobsObject(t1);
  AddJobsObject(t2);
  auto [a, user_a] = User(t1, "userA");
  auto [b, user_b] = User(t2, "userB");
  auto [c, user_c] = User(t1, "userC");
  // Fresh install: the system-wide allow-all lets everything through.
  ASSERT_TRUE(user_a->searchRecords("Jobs", "*", "").ok());

  PermissionSetInfo deny;
  deny.name = "deny-k8s-job";
  deny.users = {a, b};
  deny.tenants = {t1.id};  // applies in t1 only
  deny.policies = {Deny("records/Job.*", ".*", "GET|POST|PUT|DELETE")};
  Result made = admin_->createPermissionSet(deny);
  ASSERT_TRUE(made.ok()) << made.getMessage();

  Result r = user_a->searchRecords("Jobs", "*", "");
  EXPECT_EQ(r.getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(r.getMessage(), "Access Denied: user " + std::to_string(a) + " may not GET records/Jobs in tenant " +
                                std::to_string(t1.id) + ": denied by permission set 'deny-k8s-job' policy 1");
  Parameters job;
  job.add("name", "x");
  EXPECT_EQ(user_a->addRecord("Jobs", job).getCode(), ErrorCode::PermissionDenied);
  EXPECT_TRUE(user_a->searchRecords("Customers", "*", "").ok());  // other objects
  EXPECT_TRUE(user_c->searchRecords("Jobs", "*", "").ok());       // other users
  EXPECT_TRUE(user_b->searchRecords("Jobs", "*", "").ok());       // t2 is not in the set's tenants

  // Deny wins over allow, even in the same set.
  PermissionSetInfo both;
  both.name = "both";
  both.users = {c};
  both.allTenants = true;
  both.policies = {Allow("records/Jobs", "searchRecords", "GET"), Deny("records/Jobs", ".*", ".*")};
  ASSERT_TRUE(admin_->createPermissionSet(both).ok());
  r = user_c->searchRecords("Jobs", "*", "");
  EXPECT_EQ(r.getCode(), ErrorCode::PermissionDenied);
  EXPECT_NE(r.getMessage().find("'both' policy 2"), std::string::npos) << r.getMessage();

  // A set for other tenants is ignored; with allow-all gone, nothing allows: default deny.
  PermissionSetInfo elsewhere;
  elsewhere.name = "t2-only";
  elsewhere.systemScope = true;
  elsewhere.tenants = {t2.id};
  elsewhere.policies = {Allow(".*", ".*", ".*")};
  ASSERT_TRUE(admin_->createPermissionSet(elsewhere).ok());
  ASSERT_TRUE(admin_->deletePermissionSet("allow-all").ok());
  r = user_c->searchRecords("Customers", "*", "");
  EXPECT_EQ(r.getCode(), ErrorCode::PermissionDenied);
  EXPECT_NE(r.getMessage().find("no permission set allows it"), std::string::npos) << r.getMessage();
  EXPECT_TRUE(user_b->searchRecords("Customers", "*", "").ok());
  // Administrative calls of tenant admins are subject to them too; a system admin's are not.
  EXPECT_EQ(t1.client->listRoles().getCode(), ErrorCode::PermissionDenied);
  EXPECT_TRUE(admin_->listTenants().ok());
  EXPECT_TRUE(admin_->listRoles(t1.id).ok());

  // Restore, and the list shows what is in force.
  PermissionSetInfo all;
  all.name = "allow-all";
  all.systemScope = true;
  all.allTenants = true;
  all.policies = {Allow(".*", ".*", ".*")};
  ASSERT_TRUE(admin_->createPermissionSet(all).ok());
  EXPECT_TRUE(user_c->searchRecords("Customers", "*", "").ok());
  auto listed = admin_->listPermissionSets();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed.value().size(), 4u);
}

TEST_F(PermissionsTest, EveryErrorPath) {
  TenantHandle t = MakeTenant(server_, *admin_, "perm-errors");
  PermissionSetInfo s;
  s.name = "bad-regex";
  s.systemScope = true;
  s.allTenants = true;
  s.policies = {Allow("records/(a)\\1", ".*", ".*")};
  Result r = admin_->createPermissionSet(s);
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.getMessage().find("records/(a)\\1"), std::string::npos) << r.getMessage();
  EXPECT_NE(r.getMessage().find("invalid escape sequence"), std::string::npos) << r.getMessage();
  s.policies = {Allow(".*", "(?!x).*", ".*")};
  EXPECT_EQ(admin_->createPermissionSet(s).getCode(), ErrorCode::InvalidArgument);

  s.name = "unknown-user";
  s.systemScope = false;
  s.users = {987654};
  s.policies = {Allow(".*", ".*", ".*")};
  r = admin_->createPermissionSet(s);
  EXPECT_EQ(r.getCode(), ErrorCode::NotFound);
  EXPECT_NE(r.getMessage().find("987654"), std::string::npos);
  s.name = "unknown-tenant";
  s.users = {t.user};
  s.allTenants = false;
  s.tenants = {987654};
  EXPECT_EQ(admin_->createPermissionSet(s).getCode(), ErrorCode::NotFound);
  s.name = "allow-all";
  s.tenants = {t.id};
  EXPECT_EQ(admin_->createPermissionSet(s).getCode(), ErrorCode::Conflict);
  EXPECT_EQ(admin_->deletePermissionSet("nope").getCode(), ErrorCode::NotFound);
  s.name = "fine";
  EXPECT_EQ(t.client->createPermissionSet(s).getCode(), ErrorCode::PermissionDenied);
  EXPECT_TRUE(admin_->createPermissionSet(s).ok());
  // Nothing of the failed attempts was saved.
  auto listed = admin_->listPermissionSets();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed.value().size(), 2u);
}

// explain answers what the call itself then does, for thousands of random tuples.
TEST_F(PermissionsTest, ExplainAgreesWithTheRealDecision) {
  std::mt19937_64 rng(2026);
  std::vector<TenantHandle> tenants;
  for (int i = 0; i < 3; ++i) tenants.push_back(MakeTenant(server_, *admin_, "ex-" + std::to_string(i)));
  for (auto& t : tenants) AddJobsObject(t);
  struct Caller {
    uint64_t id;
    uint64_t tenant;
    std::unique_ptr<Client> client;
  };
  std::vector<Caller> callers;
  for (auto& t : tenants) {
    for (int u = 0; u < 2; ++u) {
      auto usr = t.client->createUser(0, "u" + std::to_string(u), AdminLevel::User);
      ASSERT_TRUE(usr.ok());
      uint64_t id = usr.value().user.id;
      // Random role rights per user.
      std::string role = "r" + std::to_string(id);
      Rights cr{rng() % 2 == 0, rng() % 2 == 0, rng() % 2 == 0, rng() % 2 == 0};
      ASSERT_TRUE(t.client->createRole(0, role, {{"Customers", cr}, {"*", Rights{true, false, false, false}}}).ok());
      ASSERT_TRUE(t.client->addRoleMember(0, role, t.id, id).ok());
      callers.push_back({id, t.id, Client::connect(server_.address(), t.id, usr.value().apiKey)});
    }
  }
  // Policies: tenant 0 shares with tenant 1 as one of its users.
  PolicyInfo p;
  p.name = "share";
  p.designated = tenants[1].id;
  p.userId = callers[0].id;
  ASSERT_TRUE(tenants[0].client->createPolicy(0, p).ok());
  // Permission sets: a few denies and allows.
  PermissionSetInfo s1;
  s1.name = "no-job-writes";
  s1.systemScope = true;
  s1.allTenants = true;
  s1.policies = {Deny("records/Jobs", ".*Record", "POST|PUT|DELETE")};
  ASSERT_TRUE(admin_->createPermissionSet(s1).ok());
  PermissionSetInfo s2;
  s2.name = "deny-some";
  s2.users = {callers[2].id, callers[0].id};
  s2.tenants = {tenants[0].id};
  s2.policies = {Deny("records/Customers", "getRecord|searchRecords", "GET")};
  ASSERT_TRUE(admin_->createPermissionSet(s2).ok());

  const char* apis[] = {"getRecord", "searchRecords", "addRecord", "updateRecord", "deleteRecord"};
  const char* objects[] = {"Customers", "Jobs", "Missing"};
  int agreed = 0, allowed = 0, denied = 0;
  for (int n = 0; n < 3000; ++n) {
    Caller& c = callers[rng() % callers.size()];
    uint64_t target = tenants[rng() % tenants.size()].id;
    std::string api = apis[rng() % 5];
    std::string object = objects[rng() % 3];
    ExplainRequest req;
    req.userId = c.id;
    req.tenantId = target;
    req.api = api;
    req.object = object;
    auto e = admin_->explain(req);
    ASSERT_TRUE(e.ok()) << e.getMessage();
    // The real call.
    ErrorCode code = ErrorCode::OK;
    std::string message;
    auto run = [&](auto&&... ctx) {
      Parameters set_name;
      set_name.add(object == "Jobs" ? "name" : "first_name", "z");
      Result r;
      if (api == "getRecord") r = c.client->getRecord(object, "*", 1, ctx...);
      if (api == "searchRecords") r = c.client->searchRecords(object, "*", "", ctx...);
      if (api == "addRecord") {
        Parameters add;
        add.add(object == "Jobs" ? "name" : "first_name", "new");
        r = c.client->addRecord(object, add, ctx...);
      }
      if (api == "updateRecord") r = c.client->updateRecord(object, 1, set_name, ctx...);
      if (api == "deleteRecord") r = c.client->deleteRecord(object, 999999, ctx...);
      code = r.getCode();
      message = r.getMessage();
    };
    if (target == c.tenant) {
      run();
    } else {
      try {
        TenantContext ctx(*c.client, target);
        run(ctx);
      } catch (const Error& err) {
        code = err.code();
        message = err.message();
      }
    }
    const Explanation& x = e.value();
    if (x.allowed) {
      // Allowed up to the record: the call may still find no record (NotFound), nothing else.
      EXPECT_TRUE(code == ErrorCode::OK || code == ErrorCode::NotFound)
          << n << " " << api << " " << object << " by " << c.id << " on " << target << ": " << message;
      ++allowed;
    } else {
      EXPECT_EQ(errorCodeName(code), x.code) << n << " " << api << " " << object << ": " << message;
      EXPECT_EQ(message, x.message) << n;
      ++denied;
    }
    if (!::testing::Test::HasFailure()) ++agreed;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(agreed, 3000);
  EXPECT_GT(allowed, 300);
  EXPECT_GT(denied, 300);
}

TEST_F(PermissionsTest, ExplainShowsTheWholeDecisionAndSimulatesDrafts) {
  TenantHandle t = MakeTenant(server_, *admin_, "explain-me");
  auto [u, client] = User(t, "worker");
  PermissionSetInfo nodel;
  nodel.name = "no-deletes";
  nodel.systemScope = true;
  nodel.allTenants = true;
  nodel.policies = {Allow("records/.*", ".*", "GET"), Deny(".*", ".*", "DELETE")};
  ExplainRequest req;
  req.userId = u;
  req.api = "deleteRecord";
  req.object = "Customers";
  // Simulate the set before saving it: it would deny; nothing changes yet.
  req.draftPermissionSet = nodel;
  auto sim = admin_->explain(req);
  ASSERT_TRUE(sim.ok()) << sim.getMessage();
  EXPECT_FALSE(sim.value().allowed);
  EXPECT_EQ(sim.value().decidingSet, "no-deletes");
  EXPECT_EQ(sim.value().decidingPolicy, 2u);
  EXPECT_EQ(client->deleteRecord("Customers", 424242).getCode(), ErrorCode::NotFound);  // still allowed
  ASSERT_TRUE(admin_->createPermissionSet(nodel).ok());
  req.draftPermissionSet.reset();
  auto real = admin_->explain(req);
  ASSERT_TRUE(real.ok());
  const Explanation& x = real.value();
  EXPECT_FALSE(x.allowed);
  EXPECT_EQ(x.code, "PermissionDenied");
  EXPECT_EQ(x.contextPath, "own");
  EXPECT_EQ(x.principal, u);
  EXPECT_EQ(x.message, client->deleteRecord("Customers", 424242).getMessage());
  bool saw_set = false;
  for (const auto& s : x.permissionSets) {
    if (s.name == "no-deletes") {
      saw_set = true;
      EXPECT_EQ(s.matchedDeny, std::vector<uint32_t>{2});
    }
  }
  EXPECT_TRUE(saw_set);
  EXPECT_GE(x.steps.size(), 2u);
  // Simulating its removal allows again.
  req.removePermissionSet = "no-deletes";
  auto removed = admin_->explain(req);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed.value().allowed);
  EXPECT_EQ(removed.value().roleRights, "read,add,update,delete");
  // A tenant admin may explain its own users' calls, not other tenants'.
  ExplainRequest mine;
  mine.userId = u;
  mine.api = "getRecord";
  mine.object = "Customers";
  EXPECT_TRUE(t.client->explain(mine).ok());
  TenantHandle other = MakeTenant(server_, *admin_, "explain-other");
  EXPECT_EQ(other.client->explain(mine).getCode(), ErrorCode::PermissionDenied);
  ExplainRequest bad = mine;
  bad.api = "frobnicate";
  EXPECT_EQ(t.client->explain(bad).getCode(), ErrorCode::InvalidArgument);
  ASSERT_TRUE(admin_->deletePermissionSet("no-deletes").ok());
}

}  // namespace
}  // namespace cotenant::testing
