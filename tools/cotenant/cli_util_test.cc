#include "cli_util.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

namespace cotenant::cli {
namespace {

TEST(FieldSpec, FlagsInAnyOrder) {
  FieldDef a = parseFieldSpec("first_name:text:indexed:required");
  EXPECT_EQ(a.name, "first_name");
  EXPECT_EQ(a.type, FieldType::Text);
  EXPECT_TRUE(a.indexed);
  EXPECT_TRUE(a.required);
  FieldDef b = parseFieldSpec("age:int:required:indexed");
  EXPECT_TRUE(b.indexed && b.required);
  FieldDef c = parseFieldSpec("last_name:text");
  EXPECT_FALSE(c.indexed || c.required);
}

TEST(FieldSpec, BadSpecsNameThemselves) {
  for (const char* bad : {"age", "age:integer", ":int", "age:int:fast", "age:int:indexed:indexed"}) {
    try {
      parseFieldSpec(bad);
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(Args, AssignmentsSortsIds) {
  EXPECT_EQ(parseAssignment("note=a=b"), (std::pair<std::string, std::string>{"note", "a=b"}));
  EXPECT_EQ(parseAssignment("note="), (std::pair<std::string, std::string>{"note", ""}));
  EXPECT_THROW(parseAssignment("note"), UsageError);
  EXPECT_THROW(parseAssignment("=x"), UsageError);
  EXPECT_EQ(parseSortSpec("age"), (std::pair<std::string, std::string>{"age", "asc"}));
  EXPECT_EQ(parseSortSpec("age:desc"), (std::pair<std::string, std::string>{"age", "desc"}));
  EXPECT_THROW(parseSortSpec("age:down"), UsageError);
  EXPECT_EQ(parseId("12", "record id"), 12u);
  EXPECT_THROW(parseId("x", "record id"), UsageError);
}

TEST(Args, HexRoundTrip) {
  std::string bytes("\x00\x01\xfe p", 4);
  EXPECT_EQ(toHex(bytes), "0001fe20");
  EXPECT_EQ(fromHex(toHex(bytes)), bytes);
  EXPECT_EQ(fromHex("abc"), std::nullopt);
  EXPECT_EQ(fromHex("zz"), std::nullopt);
}

TEST(ExitCodes, ByCategory) {
  EXPECT_EQ(exitCodeFor(ErrorCode::OK), 0);
  EXPECT_EQ(exitCodeFor(ErrorCode::Unavailable), 1);
  EXPECT_EQ(exitCodeFor(ErrorCode::Internal), 1);
  EXPECT_EQ(exitCodeFor(ErrorCode::PermissionDenied), 3);
  EXPECT_EQ(exitCodeFor(ErrorCode::Unauthenticated), 3);
  EXPECT_EQ(exitCodeFor(ErrorCode::NotFound), 4);
  EXPECT_EQ(exitCodeFor(ErrorCode::Conflict), 5);
  EXPECT_EQ(exitCodeFor(ErrorCode::InvalidArgument), 5);
  EXPECT_EQ(exitCodeFor(ErrorCode::ResourceExhausted), 5);
}

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

// ---- sharing ------------------------------------------------------------------------------

TEST(RightSpec, ParsesObjectAndRights) {
  ObjectRights a = parseRightSpec("Customers:read,add");
  EXPECT_EQ(a.object, "Customers");
  EXPECT_EQ(a.rights, (Rights{true, true, false, false}));
  ObjectRights all = parseRightSpec("*:read");
  EXPECT_EQ(all.object, "*");
  EXPECT_EQ(all.rights, (Rights{true, false, false, false}));
  EXPECT_EQ(parseRightSpec("Orders:all").rights, Rights::all());
  EXPECT_EQ(parseRightSpec("Secrets:none").rights, Rights{});
  EXPECT_EQ(parseRightSpec("Orders:delete,update").rights, (Rights{false, false, true, true}));
}

TEST(RightSpec, BadSpecsNameThemselves) {
  for (const char* bad : {"Customers", ":read", "Customers:", "Customers:write",
                          "Customers:read,read", "Customers:all,read"}) {
    try {
      parseRightSpec(bad);
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parseRightSpecs({"A:read", "B:add", "A:update"}), UsageError);
}

TEST(RightSpec, FormatRoundTrips) {
  std::vector<std::string> specs{"Customers:read,add", "*:read", "Secrets:none"};
  auto rights = parseRightSpecs(specs);
  EXPECT_EQ(formatRightSpecs(rights), "Customers:read,add *:read Secrets:none");
  EXPECT_EQ(formatRightSpecs({}), "");
}

std::vector<ScopeArg> args(std::initializer_list<std::pair<char, std::string>> in) {
  std::vector<ScopeArg> out;
  for (const auto& [k, v] : in) {
    out.push_back({k == 'o' ? ScopeArg::Kind::Object
                            : k == 'f' ? ScopeArg::Kind::Filter : ScopeArg::Kind::Fields,
                   v});
  }
  return out;
}

TEST(PolicyScope, FilterAndFieldsBindToThePrecedingObject) {
  auto scope = groupScope(args({{'o', "Customers"},
                                {'f', "region = 'EU'"},
                                {'l', "first_name, age"},
                                {'o', "Orders"},
                                {'o', "Invoices"},
                                {'l', "total"},
                                {'f', "total > 100"}}));
  ASSERT_EQ(scope.size(), 3u);
  EXPECT_EQ(scope[0].object, "Customers");
  EXPECT_EQ(scope[0].rowFilter, "region = 'EU'");
  EXPECT_EQ(scope[0].fields, (std::vector<std::string>{"first_name", "age"}));
  EXPECT_EQ(scope[1].object, "Orders");
  EXPECT_TRUE(scope[1].rowFilter.empty());
  EXPECT_TRUE(scope[1].fields.empty());
  EXPECT_EQ(scope[2].rowFilter, "total > 100");  // --fields before --filter is fine
  EXPECT_EQ(scope[2].fields, (std::vector<std::string>{"total"}));
  EXPECT_TRUE(groupScope({}).empty());
}

TEST(PolicyScope, AmbiguitiesAreUsageErrors) {
  EXPECT_THROW(groupScope(args({{'f', "x = 1"}, {'o', "A"}})), UsageError);
  EXPECT_THROW(groupScope(args({{'l', "a"}, {'o', "A"}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'f', "x = 1"}, {'f', "y = 2"}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'l', "a"}, {'l', "b"}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'o', "B"}, {'o', "A"}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', ""}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'f', "  "}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'l', ","}})), UsageError);
  EXPECT_THROW(groupScope(args({{'o', "A"}, {'l', "*"}})), UsageError);
}

TEST(PolicyScope, Summary) {
  EXPECT_EQ(scopeSummary({}), "all objects");
  auto scope = groupScope(args({{'o', "Customers"}, {'f', "x = 1"}, {'l', "a,b"}, {'o', "Orders"}}));
  EXPECT_EQ(scopeSummary(scope), "Customers (filter; fields a,b), Orders");
}

TEST(Users, MatchByName) {
  std::vector<UserInfo> users(3);
  users[0].id = 3;
  users[0].name = "alice";
  users[1].id = 4;
  users[1].name = "Bob";
  users[2].id = 5;
  users[2].name = "alice";
  EXPECT_EQ(matchUser(users, "Bob", "tenant 12"), 4u);
  try {
    matchUser(users, "bob", "tenant 12");
    FAIL();
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("no user named 'bob' in tenant 12"), std::string::npos) << m;
    EXPECT_NE(m.find("did you mean 'Bob'"), std::string::npos) << m;
  }
  try {
    matchUser(users, "alice", "your tenant");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("ambiguous in your tenant (ids 3, 5)"), std::string::npos)
        << e.what();
  }
}

// ---- times ---------------------------------------------------------------------------------

constexpr int64_t kS = 1000000;

TEST(Times, Durations) {
  EXPECT_EQ(parseDuration("90s"), 90 * kS);
  EXPECT_EQ(parseDuration("15m"), 900 * kS);
  EXPECT_EQ(parseDuration("1h"), 3600 * kS);
  EXPECT_EQ(parseDuration("1d"), 86400 * kS);
  EXPECT_EQ(parseDuration("2w"), 14 * 86400 * kS);
  EXPECT_EQ(parseDuration("1h30m"), 5400 * kS);
  for (const char* bad : {"", "1", "h", "1x", "0s", "1h-", "-1h", "1.5h", "1 h", "1H",
                          "99999999999999999999d", "9999999999w"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << bad;
  }
}

TEST(Times, IsoTimes) {
  const int64_t t = 1714564800 * kS;  // 2024-05-01T12:00:00Z
  EXPECT_EQ(parseIsoTime("2024-05-01T12:00:00Z"), t);
  EXPECT_EQ(parseIsoTime("2024-05-01T12:00:00"), t);  // no zone = UTC
  EXPECT_EQ(parseIsoTime("2024-05-01T12:00"), t);
  EXPECT_EQ(parseIsoTime("2024-05-01 12:00:00Z"), t);
  EXPECT_EQ(parseIsoTime("2024-05-01T14:00:00+02:00"), t);
  EXPECT_EQ(parseIsoTime("2024-05-01T07:00:00-0500"), t);
  EXPECT_EQ(parseIsoTime("2024-05-01"), t - 12 * 3600 * kS);
  EXPECT_EQ(parseIsoTime("2024-05-01T12:00:00.5Z"), t + 500000);
  EXPECT_EQ(parseIsoTime("2024-05-01T12:00:00.000001Z"), t + 1);
  EXPECT_EQ(parseIsoTime("2024-02-29"), parseIsoTime("2024-03-01").value() - 86400 * kS);
  // Whatever formatTimestamp prints reads back.
  EXPECT_EQ(parseIsoTime(formatTimestamp(t + 123456)), t + 123456);
  for (const char* bad : {"", "2024", "2024-5-1", "2024-13-01", "2023-02-29", "2024-04-31",
                          "2024-05-01T25:00", "2024-05-01T12:60", "2024-05-01T12:00:61Z",
                          "2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00Zjunk",
                          "2024-05-01T", "2024-05-01T12", "2024-05-01T12:00+2", "yesterday"}) {
    EXPECT_EQ(parseIsoTime(bad), std::nullopt) << bad;
  }
}

TEST(Times, SinceUntilAndExpiry) {
  const int64_t now = 1714564800 * kS;
  EXPECT_EQ(parsePastTime("1h", now, "--since"), now - 3600 * kS);
  EXPECT_EQ(parsePastTime("2024-05-01", now, "--since"), now - 12 * 3600 * kS);
  try {
    parsePastTime("last week", now, "--since");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("bad --since 'last week'"), std::string::npos);
  }
  EXPECT_EQ(parseExpiry("never", now), 0);
  EXPECT_EQ(parseExpiry("30d", now), now + 30 * 86400 * kS);
  EXPECT_EQ(parseExpiry("1h", now + 123), now + 3600 * kS);  // whole seconds
  EXPECT_EQ(parseExpiry("2030-01-01T00:00:00Z", now), 1893456000 * kS);
  EXPECT_THROW(parseExpiry("", now), UsageError);
  EXPECT_THROW(parseExpiry("Never", now), UsageError);
  EXPECT_THROW(parseExpiry("1960-01-01", now), UsageError);
}

TEST(Audit, Outcomes) {
  EXPECT_EQ(checkOutcome("OK"), "OK");
  EXPECT_EQ(checkOutcome("PermissionDenied"), "PermissionDenied");
  EXPECT_THROW(checkOutcome("denied"), UsageError);
  EXPECT_THROW(checkOutcome(""), UsageError);
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

// ---- permission sets ----------------------------------------------------------------------

std::string usageMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PolicySpec, ThreeBlankSeparatedPatterns) {
  PermissionPolicy p = parsePolicySpec(Effect::Deny, "records/Job.*  .*\tGET|DELETE");
  EXPECT_EQ(p.effect, Effect::Deny);
  EXPECT_EQ(p.resourceTypeRegex, "records/Job.*");
  EXPECT_EQ(p.apiNameRegex, ".*");
  EXPECT_EQ(p.methodRegex, "GET|DELETE");
  // Colons and other punctuation are just pattern characters.
  PermissionPolicy c = parsePolicySpec(Effect::Allow, " admin/(a|b):x (get|list)Records? (?i)get ");
  EXPECT_EQ(c.resourceTypeRegex, "admin/(a|b):x");
  EXPECT_EQ(c.apiNameRegex, "(get|list)Records?");
  EXPECT_EQ(c.methodRegex, "(?i)get");
  // A lone '*' is shorthand for '.*'; '*' inside a pattern is left alone.
  PermissionPolicy star = parsePolicySpec(Effect::Allow, "* * *");
  EXPECT_EQ(star, (PermissionPolicy{Effect::Allow, ".*", ".*", ".*"}));
  EXPECT_EQ(parsePolicySpec(Effect::Allow, "a* * x").resourceTypeRegex, "a*");
  // Round trip through the listing's form.
  EXPECT_EQ(formatPolicy(p), "deny records/Job.* .* GET|DELETE");
  EXPECT_EQ(parsePolicySpec(Effect::Deny, formatPolicy(p).substr(5)), p);
}

TEST(PolicySpec, WrongFieldCountNamesFlagAndSpec) {
  for (const char* bad : {"", "   ", "records/.*", "records/.* .*", "records/.* .* GET extra",
                          "records/Job.*:.*:GET"}) {
    std::string m = usageMessage([&] { parsePolicySpec(Effect::Deny, bad); });
    EXPECT_NE(m.find(std::string("bad --deny '") + bad + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("RESOURCE-TYPE API-NAME METHOD"), std::string::npos) << m;
  }
  std::string m = usageMessage([&] { parsePolicySpec(Effect::Allow, "a b"); });
  EXPECT_NE(m.find("--allow 'a b'"), std::string::npos) << m;
  EXPECT_NE(m.find("got 2"), std::string::npos) << m;
}

TEST(PolicySpec, KeepsCommandLineOrder) {
  auto ps = parsePolicySpecs({{Effect::Allow, ".* .* .*"},
                              {Effect::Deny, "records/.* deleteRecord DELETE"},
                              {Effect::Allow, "records/Job .* GET"}});
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].effect, Effect::Allow);
  EXPECT_EQ(ps[1].effect, Effect::Deny);
  EXPECT_EQ(ps[1].apiNameRegex, "deleteRecord");
  EXPECT_EQ(ps[2].resourceTypeRegex, "records/Job");
  EXPECT_THROW(parsePolicySpecs({}), UsageError);
  // The first bad one is named.
  std::string m = usageMessage([] {
    parsePolicySpecs({{Effect::Allow, ".* .* .*"}, {Effect::Deny, "oops"}});
  });
  EXPECT_NE(m.find("--deny 'oops'"), std::string::npos) << m;
}

TEST(PermissionSetName, Syntax) {
  for (const std::string& good : {std::string("a"), std::string("no-deletes"),
                                  std::string("allow_all.v2"), std::string(64, 'x')}) {
    EXPECT_NO_THROW(checkPermissionSetName(good)) << good;
  }
  for (std::string bad : {std::string(""), std::string("has space"), std::string("a/b"),
                          std::string(65, 'x'), std::string("é")}) {
    std::string m = usageMessage([&] { checkPermissionSetName(bad); });
    EXPECT_NE(m.find("'" + bad + "'"), std::string::npos) << m;
  }
}

TEST(UserRefs, IdNameAndNameAtTenant) {
  UserRef id = parseUserRef("12");
  EXPECT_EQ(id.id, 12u);
  UserRef name = parseUserRef("alice");
  EXPECT_EQ(name.id, 0u);
  EXPECT_EQ(name.name, "alice");
  EXPECT_EQ(name.tenant, 0u);
  UserRef at = parseUserRef("bob@8881212345");
  EXPECT_EQ(at.name, "bob");
  EXPECT_EQ(at.tenant, 8881212345u);
  // Names may contain '@': only a decimal tenant after the last '@' counts.
  UserRef mail = parseUserRef("user1@duplocloud.com");
  EXPECT_EQ(mail.name, "user1@duplocloud.com");
  EXPECT_EQ(mail.tenant, 0u);
  UserRef mailAt = parseUserRef("user1@duplocloud.com@7");
  EXPECT_EQ(mailAt.name, "user1@duplocloud.com");
  EXPECT_EQ(mailAt.tenant, 7u);
  EXPECT_THROW(parseUserRef(""), UsageError);
  EXPECT_THROW(parseUserRef("@7"), UsageError);
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
  for (const auto& [text, want] : cases) {
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
  for (const auto& [text, want] : cases) {
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

// ---- renderings ----------------------------------------------------------------------------

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
