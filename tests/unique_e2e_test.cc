// End-to-end: unique fields and the calls by key against a real cotenantd, through the
// SDK, the CLI (`record get|update|delete --by`, `record upsert`) and `cotenant-import
// --upsert-on`, run as a user runs them.
//
// What is checked: a second record with a unique value is Conflict naming the field and
// value, in a single add, a batch and an update; the calls by key reach the record that
// holds the value, and through a data-sharing policy obey its rights and row filter (a key
// outside the filter answers NotFound exactly like a missing one; upsert needs add and
// update); re-running a daily import with --upsert-on updates the records instead of
// adding or rejecting them.

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitNotFound = 4;
constexpr int kExitRejected = 5;

FieldDef Unique(const std::string& name, FieldType type) {
  FieldDef f{name, type, false, false};
  f.unique = true;
  return f;
}

class UniqueE2eTest : public SharedServerTest<UniqueE2eTest> {
 protected:
  // A tenant with Members: email (unique text), code (unique int), name, age.
  TenantHandle MembersTenant(const std::string& name) {
    TenantHandle t = Tenant(name);
    auto o = t.client->createObject(0, "Members",
                                    {Unique("email", FieldType::Text), Unique("code", FieldType::Int),
                                     {"name", FieldType::Text, false, false},
                                     {"age", FieldType::Int, false, false}});
    EXPECT_TRUE(o.ok()) << o.getMessage();
    return t;
  }

  static Parameters Member(const std::string& email, int64_t code, const std::string& name,
                           int64_t age = 30) {
    Parameters p;
    p.add("email", email).add("code", code).add("name", name).add("age", age);
    return p;
  }

  // A policy of `pub` for `con` on Members with the row filter "age >= 18", performed as a
  // user of `pub` holding `role` with `rights` on Members.
  void ShareAdults(const TenantHandle& pub, const TenantHandle& con, const std::string& role,
                   Rights rights) {
    auto designated = pub.client->createUser(0, role + "-user", AdminLevel::User);
    ASSERT_TRUE(designated.ok()) << designated.getMessage();
    ASSERT_TRUE(pub.client->createRole(0, role, {{"Members", rights}}).ok());
    ASSERT_TRUE(pub.client->addRoleMember(0, role, pub.id, designated.value().user.id).ok());
    PolicyInfo policy;
    policy.name = "adults";
    policy.designated = con.id;
    policy.userId = designated.value().user.id;
    policy.scope = {{"Members", "age >= 18", {}}};
    ASSERT_TRUE(pub.client->createPolicy(0, policy).ok());
  }

  ToolResult Cli(const TenantHandle& t, const std::vector<std::string>& args) {
    return RunTool(CliPath(), args, ToolEnv(*server_, t.id, t.key), dir_.path());
  }
  ToolResult Import(const TenantHandle& t, const std::vector<std::string>& args) {
    return RunTool(ImporterPath(), args, ToolEnv(*server_, t.id, t.key), dir_.path());
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
};

TEST_F(UniqueE2eTest, ASecondRecordWithAUniqueValueIsConflictNamingFieldAndValue) {
  TenantHandle t = MembersTenant("unique-conflict");
  Client& c = *t.client;
  Result a = c.addRecord("Members", Member("ann@x", 1, "Ann"));
  ASSERT_TRUE(a.ok()) << a.getMessage();
  Result dup = c.addRecord("Members", Member("ann@x", 2, "Other"));
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(dup.getMessage(), "another record of Members has the value 'ann@x' in unique field email");
  Result batch = c.addRecords("Members", {Member("b@x", 3, "B"), Member("c@x", 3, "C")});
  EXPECT_EQ(batch.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(batch.getMessage(),
            "record 1 of the batch: an earlier record of the batch has the value '3' in unique field "
            "code too");
  Result b = c.addRecord("Members", Member("b@x", 4, "B"));
  ASSERT_TRUE(b.ok()) << b.getMessage();
  Result moved = c.updateRecord("Members", b.getId(), Parameters().add("email", "ann@x"));
  EXPECT_EQ(moved.getCode(), ErrorCode::Conflict) << moved.getMessage();
  // The schema says which fields are unique, and that they are indexed.
  auto objects = c.listObjects(0);
  ASSERT_TRUE(objects.ok()) << objects.getMessage();
  bool seen = false;
  for (const auto& o : objects.value()) {
    if (o.name != "Members") continue;
    seen = true;
    EXPECT_TRUE(o.fields[0].unique && o.fields[0].indexed);
    EXPECT_TRUE(o.fields[1].unique);
    EXPECT_FALSE(o.fields[2].unique);
  }
  EXPECT_TRUE(seen);
  auto described = c.describeObject("Members");
  ASSERT_TRUE(described.ok()) << described.getMessage();
  EXPECT_TRUE(described.value().fields[0].unique);
}

TEST_F(UniqueE2eTest, TheCallsByKeyReachTheRecordThatHoldsTheValue) {
  TenantHandle t = MembersTenant("by-key");
  Client& c = *t.client;
  Result a = c.addRecord("Members", Member("ann@x", 1, "Ann"));
  ASSERT_TRUE(a.ok()) << a.getMessage();
  Result got = c.getRecordBy("Members", "name,email", "email", Value::text("ann@x"));
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords().at(0).id(), a.getId());
  EXPECT_EQ(got.getRecords().at(0).get("name").asText(), "Ann");
  // An int field named by a text value converts it, as writes do.
  got = c.getRecordBy("Members", "*", "code", Value::text("1"));
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords().at(0).id(), a.getId());

  Result missing = c.getRecordBy("Members", "*", "email", Value::text("nobody@x"));
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(missing.getMessage(), "no record of Members has email 'nobody@x'");
  Result not_unique = c.getRecordBy("Members", "*", "name", Value::text("Ann"));
  EXPECT_EQ(not_unique.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(not_unique.getMessage().find("is not unique"), std::string::npos) << not_unique.getMessage();

  Result updated = c.updateRecordBy("Members", "email", Value::text("ann@x"), Parameters().add("name", "Anna"), 1);
  ASSERT_TRUE(updated.ok()) << updated.getMessage();
  EXPECT_EQ(updated.getRecords().at(0).version(), 2u);
  Result stale = c.updateRecordBy("Members", "email", Value::text("ann@x"), Parameters().add("name", "X"), 1);
  EXPECT_EQ(stale.getCode(), ErrorCode::Conflict) << stale.getMessage();

  Result up = c.upsertRecord("Members", "email", Member("ann@x", 1, "Anne"));
  ASSERT_TRUE(up.ok()) << up.getMessage();
  EXPECT_FALSE(up.created());
  EXPECT_EQ(up.getId(), a.getId());
  up = c.upsertRecord("Members", "email", Member("new@x", 9, "New"));
  ASSERT_TRUE(up.ok()) << up.getMessage();
  EXPECT_TRUE(up.created());
  EXPECT_NE(up.getId(), a.getId());

  ASSERT_TRUE(c.deleteRecordBy("Members", "email", Value::text("ann@x")).ok());
  EXPECT_EQ(c.getRecordBy("Members", "*", "email", Value::text("ann@x")).getCode(), ErrorCode::NotFound);
  EXPECT_EQ(c.deleteRecordBy("Members", "email", Value::text("ann@x")).getCode(), ErrorCode::NotFound);
  // The value is free again.
  EXPECT_TRUE(c.addRecord("Members", Member("ann@x", 1, "Ann again")).ok());
}

TEST_F(UniqueE2eTest, ThroughAPolicyKeysObeyItsRightsAndRowFilter) {
  TenantHandle pub = MembersTenant("by-key-publisher");
  TenantHandle con = Tenant("by-key-consumer");
  ASSERT_TRUE(pub.client->addRecord("Members", Member("adult@x", 1, "Adult", 40)).ok());
  ASSERT_TRUE(pub.client->addRecord("Members", Member("kid@x", 2, "Kid", 9)).ok());
  ShareAdults(pub, con, "members-rw", Rights{true, false, true, false});

  TenantContext ctx(*con.client, pub.id);
  Result adult = con.client->getRecordBy("Members", "*", "email", Value::text("adult@x"), ctx);
  ASSERT_TRUE(adult.ok()) << adult.getMessage();
  Result kid = con.client->getRecordBy("Members", "*", "email", Value::text("kid@x"), ctx);
  Result nobody = con.client->getRecordBy("Members", "*", "email", Value::text("nobody@x"), ctx);
  EXPECT_EQ(kid.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(nobody.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(kid.getMessage(), "no record of Members has email 'kid@x'");
  Result kid_update = con.client->updateRecordBy("Members", "email", Value::text("kid@x"),
                                                 Parameters().add("name", "X"), ctx);
  EXPECT_EQ(kid_update.getCode(), ErrorCode::NotFound) << kid_update.getMessage();
  Result adult_update = con.client->updateRecordBy("Members", "email", Value::text("adult@x"),
                                                   Parameters().add("name", "Grown"), ctx);
  EXPECT_TRUE(adult_update.ok()) << adult_update.getMessage();
  // The role grants read and update, not add or delete.
  Result upsert = con.client->upsertRecord("Members", "email", Member("adult@x", 1, "Y", 41), ctx);
  EXPECT_EQ(upsert.getCode(), ErrorCode::PermissionDenied) << upsert.getMessage();
  Result del = con.client->deleteRecordBy("Members", "email", Value::text("adult@x"), ctx);
  EXPECT_EQ(del.getCode(), ErrorCode::PermissionDenied) << del.getMessage();
  Result check = pub.client->getRecordBy("Members", "*", "email", Value::text("kid@x"));
  ASSERT_TRUE(check.ok()) << check.getMessage();
  EXPECT_EQ(check.getRecords().at(0).get("name").asText(), "Kid");
}

// A unique value is unique in the whole object, hidden rows included: a designated tenant
// that may add records learns from Conflict that some record holds the value, and nothing
// more (the answer is the one a visible record gives). Reads by key say nothing at all.
TEST_F(UniqueE2eTest, ThroughAPolicyAHiddenRowsValueIsConflictOnWriteAndNotFoundOnRead) {
  TenantHandle pub = MembersTenant("oracle-publisher");
  TenantHandle con = Tenant("oracle-consumer");
  ASSERT_TRUE(pub.client->addRecord("Members", Member("adult@x", 1, "Adult", 40)).ok());
  ASSERT_TRUE(pub.client->addRecord("Members", Member("kid@x", 2, "Kid", 9)).ok());
  ShareAdults(pub, con, "members-ra", Rights{true, true, false, false});
  TenantContext ctx(*con.client, pub.id);

  // Reads: the hidden row's value and a value nobody holds answer alike.
  Result kid = con.client->getRecordBy("Members", "*", "email", Value::text("kid@x"), ctx);
  Result nobody = con.client->getRecordBy("Members", "*", "email", Value::text("nobody@x"), ctx);
  EXPECT_EQ(kid.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(nobody.getCode(), kid.getCode());
  EXPECT_EQ(kid.getMessage(), "no record of Members has email 'kid@x'");
  EXPECT_EQ(nobody.getMessage(), "no record of Members has email 'nobody@x'");

  // Writes: the hidden row's value is Conflict, worded as for the visible row's, without
  // the record's id or any of its other fields.
  Result hidden = con.client->addRecord("Members", Member("kid@x", 3, "New", 30), ctx);
  EXPECT_EQ(hidden.getCode(), ErrorCode::Conflict) << hidden.getMessage();
  EXPECT_EQ(hidden.getMessage(),
            "another record of Members has the value 'kid@x' in unique field email");
  Result visible = con.client->addRecord("Members", Member("adult@x", 4, "New", 30), ctx);
  EXPECT_EQ(visible.getCode(), ErrorCode::Conflict) << visible.getMessage();
  EXPECT_EQ(visible.getMessage(),
            "another record of Members has the value 'adult@x' in unique field email");
  // Nothing was written by the refused adds; a free value is added.
  Result fresh = con.client->addRecord("Members", Member("new@x", 5, "New", 30), ctx);
  ASSERT_TRUE(fresh.ok()) << fresh.getMessage();
  Result all = pub.client->searchRecords("Members", "*", "");
  ASSERT_TRUE(all.ok()) << all.getMessage();
  EXPECT_EQ(all.getRecords().size(), 3u);
}

TEST_F(UniqueE2eTest, TheCliNamesRecordsByKeyAndUpserts) {
  TenantHandle t = Tenant("by-key-cli");
  ToolResult r = Cli(t, {"object", "create", "Accounts", "--field", "handle:text:unique:required",
                         "--field", "score:int"});
  ASSERT_EQ(r.code, kExitOk) << r;
  r = Cli(t, {"--json", "object", "list"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_NE(r.out.find("\"unique\": true"), std::string::npos) << r;
  r = Cli(t, {"--json", "record", "upsert", "Accounts", "--on", "handle", "--set", "handle=neo", "--set", "score=1"});
  ASSERT_EQ(r.code, kExitOk) << r;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r;
  EXPECT_TRUE(j.value("created", false)) << r;
  std::string id = j["record"].value("id", "");
  r = Cli(t, {"--json", "record", "upsert", "Accounts", "--on", "handle", "--set", "handle=neo", "--set", "score=2"});
  ASSERT_EQ(r.code, kExitOk) << r;
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.value("created", true)) << r;
  EXPECT_EQ(j["record"].value("id", ""), id) << r;
  r = Cli(t, {"--json", "record", "get", "Accounts", "neo", "--by", "handle"});
  ASSERT_EQ(r.code, kExitOk) << r;
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["record"].value("id", ""), id) << r;
  r = Cli(t, {"record", "update", "Accounts", "neo", "--by", "handle", "--set", "score=3"});
  ASSERT_EQ(r.code, kExitOk) << r;
  r = Cli(t, {"record", "add", "Accounts", "--set", "handle=neo"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("Conflict: another record of Accounts has the value 'neo' in unique field handle"),
            std::string::npos)
      << r;
  r = Cli(t, {"record", "delete", "Accounts", "neo", "--by", "handle"});
  ASSERT_EQ(r.code, kExitOk) << r;
  r = Cli(t, {"record", "get", "Accounts", "neo", "--by", "handle"});
  EXPECT_EQ(r.code, kExitNotFound) << r;
  EXPECT_NE(r.err.find("no record of Accounts has handle 'neo'"), std::string::npos) << r;
  r = Cli(t, {"record", "get", "Accounts", "a", "b", "--by", "handle"});
  EXPECT_EQ(r.code, 2) << r;  // one value per --by
}

// A daily import run twice: with --upsert-on the second run updates every record (none
// added, none rejected); without it the same file is rejected row by row as Conflict.
TEST_F(UniqueE2eTest, ReRunningADailyImportWithUpsertOnUpdatesTheRecords) {
  TenantHandle t = MembersTenant("daily-import");
  std::string day1 = "email,code,name,age\n";
  std::string day2 = day1;
  for (int i = 0; i < 120; ++i) {
    std::string n = std::to_string(i);
    day1 += "m" + n + "@x," + n + ",Name " + n + "," + n + "\n";
    day2 += "m" + n + "@x," + n + ",Renamed " + n + "," + n + "\n";
  }
  WriteFile(Path("day1.csv"), day1);
  WriteFile(Path("day2.csv"), day2);
  ToolResult r = Import(t, {"Members", "day1.csv", "--upsert-on", "email", "--json", "--batch", "50"});
  ASSERT_EQ(r.code, kExitOk) << r;
  nlohmann::json s = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(s.value("added", 0), 120) << r;
  EXPECT_EQ(s.value("updated", -1), 0) << r;

  r = Import(t, {"Members", "day2.csv", "--json", "--batch", "50"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  s = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(s.value("rejected", 0), 120) << r;
  std::string rejects = ReadFile(Path("day2.csv.rejects.csv"));
  EXPECT_NE(rejects.find("2,,Conflict: another record of Members has the value 'm0@x' in unique field email"),
            std::string::npos)
      << rejects;

  r = Import(t, {"Members", "day2.csv", "--upsert-on", "email", "--json", "--batch", "50",
                 "--rejects", "day2.again.csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  s = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(s.value("added", -1), 0) << r;
  EXPECT_EQ(s.value("updated", 0), 120) << r;
  std::vector<Record> all = AllRecords(*t.client, "Members");
  ASSERT_EQ(all.size(), 120u);
  for (const Record& rec : all) {
    EXPECT_EQ(rec.get("name").asText().rfind("Renamed ", 0), 0u) << rec.get("name").asText();
    EXPECT_EQ(rec.version(), 2u);
  }
  // The upsert key must be a unique field.
  r = Import(t, {"Members", "day2.csv", "--upsert-on", "name"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("is not unique"), std::string::npos) << r;
}

}  // namespace
}  // namespace cotenant::testing
