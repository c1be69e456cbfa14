// SDK tests of the administrative calls against the in-process fake server
// (fake_server.h): every field of roles, policies, API keys, users, settings, audit, usage,
// permission sets and explain crosses the wire both ways.

#include <vector>

#include <gtest/gtest.h>

#include "cotenant/client.h"
#include "fake_server.h"

namespace cotenant {
namespace {

using fake::FakeServer;

TEST(FakeServer, RolesRoundTrip) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  std::vector<ObjectRights> rights{{"Customers", Rights{true, true, false, false}},
                                   {"*", Rights{true, false, false, false}},
                                   {"Secrets", Rights{false, false, true, true}}};
  auto role = client->createRole(0, "partner-read", rights, /*crossTenant=*/true);
  ASSERT_TRUE(role.ok()) << role.getMessage();
  EXPECT_EQ(role.value().id, 1u);
  EXPECT_EQ(role.value().tenantId, 5u);
  EXPECT_EQ(role.value().name, "partner-read");
  EXPECT_TRUE(role.value().crossTenant);
  ASSERT_EQ(role.value().rights.size(), 3u);
  for (size_t i = 0; i < rights.size(); ++i) {
    EXPECT_EQ(role.value().rights[i].object, rights[i].object);
    EXPECT_EQ(role.value().rights[i].rights, rights[i].rights) << i;
  }
  ASSERT_EQ(role.value().members.size(), 1u);
  EXPECT_EQ(role.value().members[0].tenantId, 9u);
  EXPECT_EQ(role.value().members[0].userId, 44u);

  auto dup = client->createRole(0, "partner-read", {}, false);
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(dup.getMessage(), "role name taken");

  auto listed = client->listRoles();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value().size(), 1u);
  EXPECT_EQ(listed.value()[0].rights[2].rights, (Rights{false, false, true, true}));

  EXPECT_TRUE(client->addRoleMember(0, "partner-read", 5, 3).ok());
  EXPECT_EQ(client->addRoleMember(0, "partner-read", 7, 3).getCode(), ErrorCode::PermissionDenied);
}

TEST(FakeServer, PoliciesWithScopeAndExpiry) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  PolicyInfo p;
  p.publisher = 12345;  // ignored: the server sets it
  p.name = "share-with-xyz";
  p.designated = 9;
  p.userId = 3;
  p.scope = {{"Customers", "region = 'EU'", {"first_name", "age"}}, {"Orders", "", {}}};
  p.expiresAt = 1893456000000000;  // 2030-01-01
  auto created = client->createPolicy(0, p);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  const PolicyInfo& c = created.value();
  EXPECT_EQ(c.publisher, 5u);
  EXPECT_EQ(c.name, "share-with-xyz");
  EXPECT_EQ(c.designated, 9u);
  EXPECT_FALSE(c.global);
  EXPECT_EQ(c.userId, 3u);
  EXPECT_EQ(c.expiresAt, 1893456000000000);
  EXPECT_EQ(c.createdAt, 1714564800000000);
  ASSERT_EQ(c.scope.size(), 2u);
  EXPECT_EQ(c.scope[0].object, "Customers");
  EXPECT_EQ(c.scope[0].rowFilter, "region = 'EU'");
  EXPECT_EQ(c.scope[0].fields, (std::vector<std::string>{"first_name", "age"}));
  EXPECT_EQ(c.scope[1].object, "Orders");
  EXPECT_TRUE(c.scope[1].rowFilter.empty());
  EXPECT_TRUE(c.scope[1].fields.empty());
  EXPECT_FALSE(c.expiredAt(1714564800000000));
  EXPECT_TRUE(c.expiredAt(1893456000000000));

  PolicyInfo none;
  none.name = "bad";
  EXPECT_EQ(client->createPolicy(0, none).getCode(), ErrorCode::InvalidArgument);

  auto published = client->listPolicies(5, 0);
  ASSERT_TRUE(published.ok()) << published.getMessage();
  ASSERT_EQ(published.value().size(), 1u);
  EXPECT_EQ(published.value()[0].scope[0].fields.size(), 2u);
  auto reaching = client->listPolicies(0, 9);
  ASSERT_TRUE(reaching.ok());
  EXPECT_EQ(reaching.value().size(), 1u);
  EXPECT_TRUE(client->listPolicies(0, 8).value().empty());
  // Exactly one direction, checked before anything is sent.
  EXPECT_EQ(client->listPolicies(0, 0).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->listPolicies(5, 9).getCode(), ErrorCode::InvalidArgument);
}

TEST(FakeServer, ApiKeysUsersAndSettings) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  auto k1 = client->createApiKey(0, 3);
  ASSERT_TRUE(k1.ok()) << k1.getMessage();
  EXPECT_EQ(k1.value().key.keyId, "k1");
  EXPECT_EQ(k1.value().key.userId, 3u);
  EXPECT_EQ(k1.value().key.createdAt, 1714564800000000);
  EXPECT_FALSE(k1.value().key.revoked);
  EXPECT_EQ(k1.value().apiKey, "ct_k1_secret");
  auto k2 = client->createApiKey(0, 3);
  ASSERT_TRUE(k2.ok());
  EXPECT_TRUE(client->revokeApiKey(0, "k1").ok());
  EXPECT_EQ(client->revokeApiKey(0, "nope").getCode(), ErrorCode::NotFound);
  auto keys = client->listApiKeys(0, 3);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value().size(), 2u);
  EXPECT_TRUE(keys.value()[0].revoked);
  EXPECT_FALSE(keys.value()[1].revoked);

  EXPECT_TRUE(client->deleteUser(0, 3).ok());
  EXPECT_EQ(client->deleteUser(0, 4).getCode(), ErrorCode::NotFound);

  EXPECT_TRUE(client->setSetting("crossTenantRoles", "true").ok());
  EXPECT_EQ(client->setSetting("colour", "red").getCode(), ErrorCode::InvalidArgument);
  auto settings = client->listSettings();
  ASSERT_TRUE(settings.ok());
  ASSERT_EQ(settings.value().size(), 1u);
  EXPECT_EQ(settings.value()[0].name, "crossTenantRoles");
  EXPECT_EQ(settings.value()[0].value, "true");
}

TEST(FakeServer, AuditAndUsage) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  AuditQuery q;
  q.tenantId = 7771212345;
  q.from = 1714564800000000;
  q.to = 1714568400000000;
  q.callerTenant = 9;
  q.outcome = "PermissionDenied";
  q.limit = 50;
  auto audit = client->queryAudit(q);
  ASSERT_TRUE(audit.ok()) << audit.getMessage();
  ASSERT_EQ(audit.value().size(), 1u);
  const AuditEntry& e = audit.value()[0];  // the fake echoes the query into the entry
  EXPECT_EQ(e.time, q.from);
  EXPECT_EQ(e.recordId, static_cast<uint64_t>(q.to));
  EXPECT_EQ(e.callerTenant, 9u);
  EXPECT_EQ(e.callerUser, 3u);
  EXPECT_EQ(e.principal, 50u);
  EXPECT_EQ(e.targetTenant, 7771212345u);
  EXPECT_EQ(e.api, "getRecord");
  EXPECT_EQ(e.object, "Customers");
  EXPECT_EQ(e.outcome, "PermissionDenied");
  EXPECT_EQ(e.detail, "policy share-with-xyz");

  auto u = client->usage();
  ASSERT_TRUE(u.ok()) << u.getMessage();
  EXPECT_EQ(u.value().tenantId, 5u);
  EXPECT_EQ(u.value().records, 12u);
  EXPECT_EQ(u.value().bytes, 3400u);
  ASSERT_EQ(u.value().calls.size(), 2u);
  EXPECT_EQ(u.value().calls[0].api, "getRecord");
  EXPECT_EQ(u.value().calls[0].calls, 10u);
  EXPECT_EQ(u.value().servedToOthers, 7u);
  EXPECT_EQ(u.value().consumedFromOthers, 1u);
  EXPECT_EQ(client->usage(9).value().tenantId, 9u);
}

TEST(FakeServer, PermissionSetsRoundTrip) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  PermissionSetInfo set;
  set.name = "no-deletes";
  set.systemScope = false;
  set.allTenants = false;
  set.tenants = {7771212345, 18446744073709551615ull};
  set.users = {12, 21};
  set.policies = {{Effect::Allow, "records/.*", ".*", "GET|POST"},
                  {Effect::Deny, "records/Job.*", "deleteRecord", "DELETE"},
                  {Effect::Allow, "admin/a:b c", "create.*", ".*"}};
  ASSERT_TRUE(client->createPermissionSet(set).ok());
  auto dup = client->createPermissionSet(set);
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(dup.getMessage(), "permission set name taken");

  PermissionSetInfo sys;
  sys.name = "everyone";
  sys.systemScope = true;
  sys.allTenants = true;
  sys.policies = {{Effect::Deny, "(", ".*", ".*"}};
  auto bad = client->createPermissionSet(sys);
  EXPECT_EQ(bad.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(bad.getMessage(), "bad regex '(': missing )");
  sys.policies[0].resourceTypeRegex = "admin/.*";
  ASSERT_TRUE(client->createPermissionSet(sys).ok());

  auto listed = client->listPermissionSets();
  ASSERT_TRUE(listed.ok()) << listed.getMessage();
  ASSERT_EQ(listed.value().size(), 2u);
  const PermissionSetInfo& a = listed.value()[0];
  EXPECT_EQ(a.name, "no-deletes");
  EXPECT_FALSE(a.systemScope);
  EXPECT_FALSE(a.allTenants);
  EXPECT_EQ(a.tenants, set.tenants);
  EXPECT_EQ(a.users, set.users);
  EXPECT_EQ(a.policies, set.policies);
  const PermissionSetInfo& b = listed.value()[1];
  EXPECT_TRUE(b.systemScope);
  EXPECT_TRUE(b.allTenants);
  EXPECT_TRUE(b.tenants.empty());
  EXPECT_TRUE(b.users.empty());
  ASSERT_EQ(b.policies.size(), 1u);
  EXPECT_EQ(b.policies[0].effect, Effect::Deny);

  set.users = {12};
  set.policies.pop_back();
  ASSERT_TRUE(client->updatePermissionSet(set).ok());
  auto after = client->listPermissionSets();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value()[0].users, (std::vector<uint64_t>{12}));
  EXPECT_EQ(after.value()[0].policies.size(), 2u);
  set.name = "nope";
  EXPECT_EQ(client->updatePermissionSet(set).getCode(), ErrorCode::NotFound);

  EXPECT_TRUE(client->deletePermissionSet("everyone").ok());
  EXPECT_EQ(client->deletePermissionSet("everyone").getCode(), ErrorCode::NotFound);
  EXPECT_EQ(client->listPermissionSets().value().size(), 1u);
}

TEST(FakeServer, ExplainWithoutDrafts) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  ExplainRequest q;
  q.userId = 12;
  q.tenantId = 7771212345;
  q.api = "deleteRecord";
  q.object = "Customers";
  auto r = client->explain(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();  // a denial is still an OK explanation
  const Explanation& e = r.value();
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.code, "PermissionDenied");
  EXPECT_EQ(e.errorCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(e.message, "user 12 may not deleteRecord records/Customers in tenant 7771212345");
  EXPECT_EQ(e.contextPath, "policy");
  EXPECT_EQ(e.policy, "");
  EXPECT_EQ(e.principal, 1012u);
  ASSERT_EQ(e.permissionSets.size(), 1u);  // the fake saw no draft set
  EXPECT_EQ(e.permissionSets[0].name, "allow-all");
  EXPECT_EQ(e.permissionSets[0].forUser, 12u);
  EXPECT_EQ(e.permissionSets[0].matchedAllow, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(e.permissionSets[0].matchedDeny.empty());
  EXPECT_EQ(e.decidingSet, "allow-all");
  EXPECT_EQ(e.decidingPolicy, 1u);
  EXPECT_EQ(e.roleRights, "read,update");
  EXPECT_EQ(e.scope, "");
  EXPECT_EQ(e.steps, (std::vector<std::string>{"no draft policy", "no draft set", "remove ''"}));

  ExplainRequest own;
  own.api = "getRecord";
  auto ok = client->explain(own);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().allowed);
  EXPECT_EQ(ok.value().errorCode(), ErrorCode::OK);
  EXPECT_EQ(ok.value().contextPath, "own");
  EXPECT_EQ(ok.value().message, "");

  EXPECT_EQ(client->explain(ExplainRequest{}).getCode(), ErrorCode::InvalidArgument);
}

TEST(FakeServer, ExplainWithDrafts) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  ExplainRequest q;
  q.userId = 12;
  q.tenantId = 9;
  q.api = "deleteRecord";
  q.object = "Customers";
  PolicyInfo draft;
  draft.name = "share-with-xyz";
  draft.designated = 8881212345;
  draft.userId = 21;
  draft.scope = {{"Customers", "region = 'EU'", {"first_name", "age"}}};
  draft.expiresAt = 1893456000000000;
  q.draftPolicy = draft;
  PermissionSetInfo set;
  set.name = "no-deletes";
  set.systemScope = true;
  set.tenants = {9};
  set.users = {12, 13};
  set.policies = {{Effect::Allow, ".*", ".*", ".*"}, {Effect::Deny, "records/.*", ".*", "DELETE"}};
  q.draftPermissionSet = set;
  auto r = client->explain(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  const Explanation& e = r.value();
  EXPECT_EQ(e.policy, "share-with-xyz");
  EXPECT_EQ(e.principal, 21u);
  EXPECT_EQ(e.scope, "Customers|region = 'EU'|first_name,age,");
  ASSERT_EQ(e.permissionSets.size(), 2u);
  EXPECT_EQ(e.permissionSets[1].name, "no-deletes");
  EXPECT_EQ(e.permissionSets[1].matchedAllow, (std::vector<uint32_t>{1}));
  EXPECT_EQ(e.permissionSets[1].matchedDeny, (std::vector<uint32_t>{2}));
  EXPECT_EQ(e.decidingSet, "no-deletes");
  EXPECT_EQ(e.decidingPolicy, 2u);
  EXPECT_EQ(e.steps, (std::vector<std::string>{
                         "draft policy designating 8881212345 expiring 1893456000000000",
                         "draft set system some tenants tenants=1 users=2", "remove ''"}));

  // Removal instead of a draft set.
  q.draftPermissionSet.reset();
  q.draftPolicy.reset();
  q.removePermissionSet = "allow-all";
  auto removed = client->explain(q);
  ASSERT_TRUE(removed.ok()) << removed.getMessage();
  EXPECT_EQ(removed.value().steps.back(), "remove 'allow-all'");
  EXPECT_EQ(removed.value().steps.front(), "no draft policy");

  // Both a draft set and a removal: rejected before anything is sent.
  q.draftPermissionSet = set;
  auto both = client->explain(q);
  EXPECT_EQ(both.getCode(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace cotenant
