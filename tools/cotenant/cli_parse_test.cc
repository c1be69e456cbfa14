// Tests of command-line argument parsing: specs, ids, users, times, exit codes.

#include "cli_parse.h"

#include <functional>

#include <gtest/gtest.h>

#include "cli_test_helpers.h"

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

// ---- permission sets ----------------------------------------------------------------------

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

}  // namespace
}  // namespace cotenant::cli
