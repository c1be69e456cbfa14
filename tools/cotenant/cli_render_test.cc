// Tests of the JSON and table renderings, and of the explain/simulate helpers (draft
// files, audit-log replay).

#include "cli_explain.h"
#include "cli_render.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "cli_test_helpers.h"

namespace cotenant::cli {
namespace {

TEST(Json, ValuesAndTenant) {
  EXPECT_EQ(toJson(Value()), nullptr);
  EXPECT_EQ(toJson(Value::integer(3)), 3);
  EXPECT_EQ(toJson(Value::timestamp(0)), "1970-01-01T00:00:00Z");
  TenantInfo t;
  t.id = 7771212345;
  t.name = "ABC";
  auto j = toJson(t);
  EXPECT_EQ(j["id"], "7771212345");
  EXPECT_EQ(j["kind"], "tenant");
  EXPECT_TRUE(j["provider"].is_null());
}

TEST(Table, AlignsByCodePoints) {
  Table t({"A", "B"});
  t.add({"é", "x"});
  t.add({"long", "y"});
  std::ostringstream os;
  t.print(os);
  EXPECT_EQ(os.str(), "A     B\né     x\nlong  y\n");
}

// ---- renderings ----------------------------------------------------------------------------

PolicyInfo samplePolicy() {
  PolicyInfo p;
  p.publisher = 7771212345;
  p.name = "share-with-xyz";
  p.designated = 8881212345;
  p.userId = 12;
  p.scope = {{"Customers", "region = 'EU'", {"first_name", "age"}}, {"Orders", "", {}}};
  p.expiresAt = 1893456000 * kS;
  return p;
}

TEST(Json, PolicyAndRole) {
  PolicyInfo p = samplePolicy();
  auto j = toJson(p, 1714564800 * kS);
  EXPECT_EQ(j["publisher"], "7771212345");
  EXPECT_EQ(j["designated"], "8881212345");
  EXPECT_EQ(j["global"], false);
  EXPECT_EQ(j["userId"], "12");
  EXPECT_EQ(j["expiresAt"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(j["expired"], false);
  EXPECT_EQ(j["scope"][0]["rowFilter"], "region = 'EU'");
  EXPECT_EQ(j["scope"][0]["fields"][1], "age");
  EXPECT_TRUE(j["scope"][1]["rowFilter"].is_null());
  EXPECT_TRUE(j["scope"][1]["fields"].empty());
  p.global = true;
  p.designated = 0;
  p.expiresAt = 0;
  auto g = toJson(p, 1714564800 * kS);
  EXPECT_TRUE(g["designated"].is_null());
  EXPECT_TRUE(g["expiresAt"].is_null());

  RoleInfo r;
  r.id = 4;
  r.tenantId = 12;
  r.name = "reader";
  r.rights = {{"*", Rights{true, false, false, false}}};
  r.members = {{12, 3}};
  auto rj = toJson(r);
  EXPECT_EQ(rj["rights"][0]["object"], "*");
  EXPECT_EQ(rj["rights"][0]["rights"], (nlohmann::json{{"read", true}, {"add", false},
                                                       {"update", false}, {"delete", false}}));
  EXPECT_EQ(rj["members"][0]["userId"], "3");

  UsageInfo u;
  u.tenantId = 12;
  u.calls = {{"getRecord", 10}};
  EXPECT_EQ(toJson(u)["calls"]["getRecord"], 10);
}

TEST(Table, PoliciesShowGlobalExpiryAndScope) {
  PolicyInfo a = samplePolicy();
  PolicyInfo g;
  g.publisher = 1;
  g.name = "everyone";
  g.global = true;
  g.userId = 5;
  g.expiresAt = 1000 * kS;  // long gone
  std::ostringstream os;
  printPolicies(os, {a, g}, 1714564800 * kS);
  std::string pad(40, ' ');  // pads "all objects" to the SCOPE column's width + 2
  EXPECT_EQ(os.str(),
            "NAME            PUBLISHER   DESIGNATED  USER  SCOPE" + std::string(46, ' ') + "EXPIRES\n"
            "share-with-xyz  7771212345  8881212345  12    "
            "Customers (filter; fields first_name,age), Orders  2030-01-01T00:00:00Z\n"
            "everyone        1           global      5     all objects" + pad +
                "1970-01-01T00:16:40Z (expired)\n"
            "  share-with-xyz Customers filter: region = 'EU'\n"
            "  share-with-xyz Customers fields: first_name,age\n");
}

TEST(Table, RolesShowForeignMembers) {
  RoleInfo r;
  r.id = 4;
  r.tenantId = 12;
  r.name = "partners";
  r.crossTenant = true;
  r.rights = {{"Customers", Rights{true, true, false, false}}};
  r.members = {{12, 3}, {99, 7}};
  std::ostringstream os;
  printRoles(os, {r});
  EXPECT_EQ(os.str(),
            "ID  NAME      CROSS-TENANT  RIGHTS              MEMBERS\n"
            "4   partners  yes           Customers:read,add  3 7@99\n");
}

// ---- JSON drafts ----------------------------------------------------------------------------

TEST(PermissionSetJson, RoundTripsTheListingShape) {
  PermissionSetInfo set;
  set.name = "no-deletes";
  set.tenants = {7771212345, 18446744073709551615ull};
  set.users = {12};
  set.policies = {{Effect::Allow, ".*", ".*", ".*"}, {Effect::Deny, "records/.*", ".*", "DELETE"}};
  nlohmann::json j = toJson(set);
  EXPECT_EQ(j["scope"], "user");
  EXPECT_EQ(j["tenants"][1], "18446744073709551615");
  EXPECT_EQ(j["policies"][1]["effect"], "deny");
  PermissionSetInfo back = permissionSetFromJson(j);
  EXPECT_EQ(back.name, set.name);
  EXPECT_FALSE(back.systemScope);
  EXPECT_FALSE(back.allTenants);
  EXPECT_EQ(back.tenants, set.tenants);
  EXPECT_EQ(back.users, set.users);
  EXPECT_EQ(back.policies, set.policies);
  // Wrapped as `permission-set create --json` prints it; numbers accepted for ids.
  PermissionSetInfo wrapped = permissionSetFromJson(nlohmann::json::parse(R"({"permissionSet":
      {"name": "everyone", "scope": "system", "allTenants": true,
       "policies": [{"effect": "deny", "resourceTypeRegex": "admin/.*",
                     "apiNameRegex": ".*", "methodRegex": "DELETE"}]}})"));
  EXPECT_TRUE(wrapped.systemScope);
  EXPECT_TRUE(wrapped.allTenants);
  EXPECT_EQ(wrapped.policies.size(), 1u);
  EXPECT_EQ(permissionSetFromJson(nlohmann::json::parse(
                R"({"name":"x","scope":"user","tenants":[5],"users":[3,"4"],"policies":[]})"))
                .users,
            (std::vector<uint64_t>{3, 4}));
}

TEST(PermissionSetJson, ProblemsNameThePath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1,2])", "want a JSON object"},
      {R"({"scope":"user","tenants":[],"policies":[]})", "name: missing"},
      {R"({"name":"a b","scope":"user","tenants":[],"policies":[]})", "name: bad permission set name"},
      {R"({"name":"x","scope":"global","tenants":[],"policies":[]})", "scope: want \"user\" or \"system\""},
      {R"({"name":"x","scope":"user","policies":[]})", "tenants: missing"},
      {R"({"name":"x","scope":"user","allTenants":true,"tenants":[1],"policies":[]})", "not both"},
      {R"({"name":"x","scope":"user","tenants":["abc"],"policies":[]})", "tenants[0]: want a decimal id"},
      {R"({"name":"x","scope":"user","tenants":[-4],"policies":[]})", "tenants[0]: want an id"},
      {R"({"name":"x","scope":"system","allTenants":true,"users":["3"],"policies":[]})", "users: a system-scope set"},
      {R"({"name":"x","scope":"user","tenants":[],"polices":[]})", "unknown key \"polices\""},
      {R"({"name":"x","scope":"user","tenants":[]})", "policies: missing"},
      {R"({"name":"x","scope":"user","tenants":[],"policies":[{"effect":"Deny","resourceTypeRegex":".*","apiNameRegex":".*","methodRegex":".*"}]})",
       "policies[0].effect: want \"allow\" or \"deny\", got \"Deny\""},
      {R"({"name":"x","scope":"user","tenants":[],"policies":[{"effect":"deny","resourceTypeRegex":".*","methodRegex":".*"}]})",
       "policies[0].apiNameRegex: missing"},
      {R"({"name":"x","scope":"user","tenants":[],"policies":[{"effect":"deny","resourceTypeRegex":"","apiNameRegex":".*","methodRegex":".*"}]})",
       "policies[0]: empty pattern"},
  };
  for (const auto& [text_b, want] : cases) {
    const char* text = text_b;  // clang before 16 cannot capture a structured binding
    std::string m = usageMessage([&] { permissionSetFromJson(nlohmann::json::parse(text)); });
    EXPECT_NE(m.find(want), std::string::npos) << text << "\n  -> " << m;
  }
}

TEST(PolicyJson, ReadsTheListingShape) {
  PolicyInfo p;
  p.publisher = 7771212345;
  p.name = "share-with-xyz";
  p.designated = 8881212345;
  p.userId = 12;
  p.scope = {{"Customers", "region = 'EU'", {"first_name", "region"}}, {"Orders", "", {}}};
  p.expiresAt = 1893456000000000;
  PolicyInfo back = policyFromJson(nlohmann::json{{"policy", toJson(p, 0)}});
  EXPECT_EQ(back.name, p.name);
  EXPECT_EQ(back.publisher, 0u);  // set by the server
  EXPECT_EQ(back.designated, p.designated);
  EXPECT_FALSE(back.global);
  EXPECT_EQ(back.userId, 12u);
  ASSERT_EQ(back.scope.size(), 2u);
  EXPECT_EQ(back.scope[0].rowFilter, "region = 'EU'");
  EXPECT_EQ(back.scope[0].fields, p.scope[0].fields);
  EXPECT_EQ(back.scope[1].rowFilter, "");
  EXPECT_EQ(back.expiresAt, p.expiresAt);
  PolicyInfo g = policyFromJson(nlohmann::json::parse(
      R"({"name":"all-managed","global":true,"designated":null,"userId":"21","expiresAt":null})"));
  EXPECT_TRUE(g.global);
  EXPECT_EQ(g.designated, 0u);
  EXPECT_EQ(g.expiresAt, 0);
  EXPECT_TRUE(g.scope.empty());
}

TEST(PolicyJson, ProblemsNameThePath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"designated":"9","userId":"3"})", "name: missing"},
      {R"({"name":"p","userId":"3"})", "designated: give a designated tenant id"},
      {R"({"name":"p","designated":"9","global":true,"userId":"3"})", "designated: give"},
      {R"({"name":"p","designated":"9"})", "userId: missing"},
      {R"({"name":"p","designated":"9","userId":"bob"})", "userId: want a decimal id"},
      {R"({"name":"p","designated":"9","userId":"3","scope":{}})", "scope: want an array"},
      {R"({"name":"p","designated":"9","userId":"3","scope":[{"rowFilter":"x"}]})", "scope[0].object: missing"},
      {R"({"name":"p","designated":"9","userId":"3","scope":[{"object":"A"},{"object":"A"}]})", "scope[1].object: 'A' given twice"},
      {R"({"name":"p","designated":"9","userId":"3","scope":[{"object":"A","fields":"a,b"}]})", "scope[0].fields: want an array"},
      {R"({"name":"p","designated":"9","userId":"3","scope":[{"object":"A","filter":"x"}]})", "scope[0]: unknown key \"filter\""},
      {R"({"name":"p","designated":"9","userId":"3","expiresAt":"tomorrow"})", "expiresAt: want an ISO-8601 time"},
  };
  for (const auto& [text_b, want] : cases) {
    const char* text = text_b;  // clang before 16 cannot capture a structured binding
    std::string m = usageMessage([&] { policyFromJson(nlohmann::json::parse(text)); });
    EXPECT_NE(m.find(want), std::string::npos) << text << "\n  -> " << m;
  }
}

TEST(DraftFiles, ErrorsStartWithThePath) {
  std::string dir = ::testing::TempDir();
  std::string good = dir + "/cotenant_cli_set.json", broken = dir + "/cotenant_cli_broken.json",
              wrong = dir + "/cotenant_cli_wrong.json";
  std::ofstream(good) << R"({"name":"no-deletes","scope":"user","allTenants":true,"users":["12"],
      "policies":[{"effect":"deny","resourceTypeRegex":"records/.*","apiNameRegex":".*","methodRegex":"DELETE"}]})";
  std::ofstream(broken) << "{\"name\": ";
  std::ofstream(wrong) << R"({"name":"p","designated":"9","userId":"3","expiresAt":5})";
  PermissionSetInfo set = loadPermissionSetFile(good);
  EXPECT_EQ(set.name, "no-deletes");
  EXPECT_EQ(set.users, (std::vector<uint64_t>{12}));
  std::string m = usageMessage([&] { loadPermissionSetFile(broken); });
  EXPECT_EQ(m.rfind(broken + ": not valid JSON: ", 0), 0u) << m;
  m = usageMessage([&] { loadPolicyFile(wrong); });
  EXPECT_EQ(m, wrong + ": expiresAt: want a string, got number");
  m = usageMessage([&] { loadPolicyFile(good); });  // a set is not a policy
  EXPECT_NE(m.find("unknown key"), std::string::npos) << m;
  m = usageMessage([&] { loadPolicyFile(dir + "/does-not-exist.json"); });
  EXPECT_NE(m.find("does-not-exist.json: cannot read"), std::string::npos) << m;
  std::remove(good.c_str());
  std::remove(broken.c_str());
  std::remove(wrong.c_str());
}

// ---- simulate --from-audit ------------------------------------------------------------------

TEST(FromAudit, FoldsEntriesIntoDistinctCalls) {
  auto entry = [](int64_t t, uint64_t user, uint64_t target, const char* api, const char* object,
                  const char* outcome) {
    AuditEntry e;
    e.time = t;
    e.callerUser = user;
    e.callerTenant = 8;
    e.targetTenant = target;
    e.api = api;
    e.object = object;
    e.outcome = outcome;
    return e;
  };
  std::vector<AuditEntry> log = {
      entry(1, 21, 7, "deleteRecord", "Customers", "OK"),
      entry(2, 21, 7, "getRecord", "Customers", "OK"),
      entry(3, 21, 7, "deleteRecord", "Customers", "PermissionDenied"),
      entry(4, 0, 7, "getRecord", "Customers", "Unauthenticated"),  // no caller: skipped
      entry(5, 22, 7, "deleteRecord", "Customers", "OK"),
      entry(6, 21, 7, "createPolicy", "share-with-xyz", "OK"),  // admin: object is no resource
      entry(7, 21, 7, "createPolicy", "other", "OK"),
  };
  size_t skipped = 0;
  auto calls = distinctCalls(log, &skipped);
  EXPECT_EQ(skipped, 1u);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].api, "deleteRecord");
  EXPECT_EQ(calls[0].calls, 2u);
  EXPECT_EQ(calls[0].lastTime, 3);
  EXPECT_EQ(calls[0].lastOutcome, "PermissionDenied");
  EXPECT_EQ(calls[1].api, "getRecord");
  EXPECT_EQ(calls[2].callerUser, 22u);
  EXPECT_EQ(calls[3].api, "createPolicy");
  EXPECT_EQ(calls[3].object, "");
  EXPECT_EQ(calls[3].calls, 2u);

  ExplainRequest q = explainRequestFor(calls[0]);
  EXPECT_EQ(q.userId, 21u);
  EXPECT_EQ(q.tenantId, 7u);
  EXPECT_EQ(q.api, "deleteRecord");
  EXPECT_EQ(q.object, "Customers");
  EXPECT_FALSE(q.draftPolicy || q.draftPermissionSet);

  EXPECT_EQ(classifyChange(true, false), Change::NewlyDenied);
  EXPECT_EQ(classifyChange(false, true), Change::NewlyAllowed);
  EXPECT_EQ(classifyChange(true, true), Change::Unchanged);
  EXPECT_EQ(classifyChange(false, false), Change::Unchanged);
  EXPECT_STREQ(changeName(Change::NewlyDenied), "newly-denied");
  EXPECT_TRUE(isRecordApi("searchRecords"));
  EXPECT_FALSE(isRecordApi("createPolicy"));
}

// ---- renderings of permission sets and decisions ---------------------------------------

TEST(Table, PermissionSetsNumberPolicies) {
  PermissionSetInfo a;
  a.name = "no-deletes";
  a.tenants = {7, 9};
  a.users = {12};
  a.policies = {{Effect::Allow, ".*", ".*", ".*"}, {Effect::Deny, "records/.*", ".*", "DELETE"}};
  PermissionSetInfo b;
  b.name = "allow-all";
  b.systemScope = true;
  b.allTenants = true;
  b.policies = {{Effect::Allow, ".*", ".*", ".*"}};
  std::ostringstream os;
  printPermissionSets(os, {a, b});
  EXPECT_EQ(os.str(),
            "NAME        SCOPE   TENANTS  USERS  #  EFFECT  RESOURCE-TYPE  API-NAME  METHOD\n"
            "no-deletes  user    7 9      12     1  allow   .*             .*        .*\n"
            "no-deletes                          2  deny    records/.*     .*        DELETE\n"
            "allow-all   system  all      all    1  allow   .*             .*        .*\n");
}

Explanation sampleExplanation() {
  Explanation e;
  e.allowed = false;
  e.code = "PermissionDenied";
  e.message = "Access Denied: user 12 may not DELETE records/Customers in tenant 7: denied by "
              "permission set 'no-deletes' policy 2";
  e.contextPath = "policy";
  e.policy = "share-with-xyz";
  e.principal = 21;
  e.permissionSets = {{"allow-all", 12, {1}, {}}, {"no-deletes", 12, {1}, {2}},
                      {"no-deletes", 21, {1}, {2}}};
  e.decidingSet = "no-deletes";
  e.decidingPolicy = 2;
  e.roleRights = "read,update";
  e.scope = "Customers (filter region = 'EU')";
  e.steps = {"context: policy share-with-xyz admits tenant 8", "permission sets: denied"};
  return e;
}

TEST(Explain, PrintsTheWholeDecision) {
  std::ostringstream os;
  printExplanation(os, sampleExplanation());
  EXPECT_EQ(os.str(),
            "Context path:    policy\n"
            "Policy:          share-with-xyz\n"
            "Principal:       user 21\n"
            "Permission sets:\n"
            "  SET         FOR-USER  MATCHED-ALLOW  MATCHED-DENY  DECIDES\n"
            "  allow-all   12        1              -\n"
            "  no-deletes  12        1              2             policy 2\n"
            "  no-deletes  21        1              2\n"
            "Deciding:        permission set 'no-deletes' policy 2\n"
            "Role rights:     read,update\n"
            "Scope:           Customers (filter region = 'EU')\n"
            "Steps:\n"
            "  1. context: policy share-with-xyz admits tenant 8\n"
            "  2. permission sets: denied\n"
            "Verdict:         DENIED (PermissionDenied): Access Denied: user 12 may not DELETE "
            "records/Customers in tenant 7: denied by permission set 'no-deletes' policy 2\n");

  Explanation none;
  none.allowed = false;
  none.code = "PermissionDenied";
  none.contextPath = "own";
  none.principal = 12;
  none.permissionSets = {{"reads-only", 12, {}, {}}};
  std::ostringstream os2;
  printExplanation(os2, none);
  EXPECT_NE(os2.str().find("Deciding:        none: no policy matched (default deny)\n"),
            std::string::npos)
      << os2.str();
  EXPECT_EQ(verdict(none), "DENIED (PermissionDenied)");
  Explanation ok;
  ok.allowed = true;
  ok.code = "OK";
  EXPECT_EQ(verdict(ok), "ALLOWED");
}

TEST(Explain, JsonShape) {
  nlohmann::json j = toJson(sampleExplanation());
  EXPECT_EQ(j["allowed"], false);
  EXPECT_EQ(j["code"], "PermissionDenied");
  EXPECT_EQ(j["principal"], "21");
  EXPECT_EQ(j["policy"], "share-with-xyz");
  EXPECT_EQ(j["permissionSets"][1]["forUser"], "12");
  EXPECT_EQ(j["permissionSets"][1]["matchedDeny"], nlohmann::json::array({2}));
  EXPECT_EQ(j["permissionSets"][0]["matchedDeny"], nlohmann::json::array());
  EXPECT_EQ(j["decidingSet"], "no-deletes");
  EXPECT_EQ(j["decidingPolicy"], 2);
  EXPECT_EQ(j["steps"].size(), 2u);
  Explanation bare;
  nlohmann::json b = toJson(bare);
  EXPECT_TRUE(b["policy"].is_null());
  EXPECT_TRUE(b["principal"].is_null());
  EXPECT_TRUE(b["decidingSet"].is_null());
  EXPECT_TRUE(b["decidingPolicy"].is_null());
}

}  // namespace
}  // namespace cotenant::cli
