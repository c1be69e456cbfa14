// End-to-end: physical import over the wire (Records.beginPhysicalImport) against a real
// cotenantd, through the SDK's PhysicalImport.
//
// What is checked: the result equals a logical import of the same records (records, index
// entries reached by key and by criteria, usage); nothing is visible before the commit and
// adding any other way is refused meanwhile; rejected records are answered one by one;
// dropping the import, or killing the server before the commit, leaves the object empty
// and no file behind; the calls on an import are decided again (a changed policy ends it,
// a caller without the add right cannot begin one).

#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr int kRecords = 2500;
constexpr int kBatch = 500;

FieldDef Field(const std::string& name, FieldType type, bool indexed = false, bool unique = false) {
  FieldDef f{name, type, false, indexed};
  f.unique = unique;
  return f;
}

// Members(email unique text, name text, age int indexed).
void CreateMembers(Client& c) {
  auto o = c.createObject(0, "Members",
                          {Field("email", FieldType::Text, true, true), Field("name", FieldType::Text),
                           Field("age", FieldType::Int, true)});
  ASSERT_TRUE(o.ok()) << o.getMessage();
}

Parameters Member(int i) {
  Parameters p;
  p.add("email", "m" + std::to_string(i) + "@x").add("name", "Member " + std::to_string(i)).add("age", int64_t{i % 90});
  return p;
}

std::vector<Parameters> Batch(int first, int count) {
  std::vector<Parameters> out;
  for (int i = first; i < first + count; ++i) out.push_back(Member(i));
  return out;
}

// email -> "name|age" of every record the client sees.
std::map<std::string, std::string> Content(Client& c, const std::string& criteria = "") {
  std::map<std::string, std::string> out;
  for (const Record& r : AllRecords(c, "Members", nullptr, criteria)) {
    out[r.get("email").asText()] = r.get("name").asText() + "|" + std::to_string(r.get("age").asInt());
  }
  return out;
}

// Entries under the server's ingest directory (a physical import's files).
size_t IngestEntries(const Cotenantd& server) {
  std::filesystem::path dir = server.data_dir() + "/data/ingest";
  if (!std::filesystem::exists(dir)) return 0;
  size_t n = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

// The name of the code beginPhysicalImport of `object` answers: "OK" when the import began
// (it is then dropped at once).
std::string BeginCode(Client& c, const std::string& object) {
  try {
    c.beginPhysicalImport(object);
    return "OK";
  } catch (const Error& e) {
    return std::string(errorCodeName(e.code()));
  }
}

class PhysicalImportTest : public SharedServerTest<PhysicalImportTest> {
 protected:
  TenantHandle MembersTenant(const std::string& name) {
    TenantHandle t = Tenant(name);
    CreateMembers(*t.client);
    return t;
  }
};

TEST_F(PhysicalImportTest, TheResultEqualsALogicalImportOfTheSameRecords) {
  TenantHandle physical = MembersTenant("physical");
  TenantHandle logical = MembersTenant("logical");
  auto import = physical.client->beginPhysicalImport("Members");
  for (int first = 0; first < kRecords; first += kBatch) {
    auto added = import->add(Batch(first, kBatch));
    ASSERT_TRUE(added.ok()) << added.getMessage();
    ASSERT_EQ(added.value().results.size(), static_cast<size_t>(kBatch));
    for (const auto& e : added.value().results) EXPECT_TRUE(e.ok() && e.id != 0) << e.message;
    ASSERT_TRUE(logical.client->addRecords("Members", Batch(first, kBatch)).ok());
  }
  // Nothing is visible before the commit, and no record can be added any other way.
  EXPECT_TRUE(Content(*physical.client).empty());
  Result other = physical.client->addRecord("Members", Member(kRecords));
  EXPECT_EQ(other.getCode(), ErrorCode::Conflict) << other.getMessage();
  auto committed = import->commit();
  ASSERT_TRUE(committed.ok()) << committed.getMessage();
  EXPECT_EQ(committed.value(), static_cast<uint64_t>(kRecords));

  EXPECT_EQ(Content(*physical.client), Content(*logical.client));
  // The index entries: by criteria on the indexed field, and by the unique key.
  EXPECT_EQ(Content(*physical.client, "age = 42"), Content(*logical.client, "age = 42"));
  EXPECT_EQ(Content(*physical.client, "age = 42").size(), static_cast<size_t>(kRecords / 90 + 1));
  Result by_key = physical.client->getRecordBy("Members", "*", "email", Value::text("m1234@x"));
  ASSERT_TRUE(by_key.ok()) << by_key.getMessage();
  EXPECT_EQ(by_key.getRecords().at(0).get("name").asText(), "Member 1234");
  // Unique values are enforced against the imported records from now on.
  Result dup = physical.client->addRecord("Members", Member(7));
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict) << dup.getMessage();
  // Usage counts the imported records exactly as the added ones.
  auto pu = admin_->usage(physical.id);
  auto lu = admin_->usage(logical.id);
  ASSERT_TRUE(pu.ok() && lu.ok());
  EXPECT_EQ(pu.value().records, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(pu.value().records, lu.value().records);
  EXPECT_EQ(pu.value().bytes, lu.value().bytes);
  EXPECT_EQ(IngestEntries(*server_), 0u);
  // The object now holds records: a second physical import of it is refused.
  EXPECT_EQ(BeginCode(*physical.client, "Members"), "Conflict");
}

TEST_F(PhysicalImportTest, RejectedRecordsAreAnsweredOneByOneAndNotImported) {
  TenantHandle t = MembersTenant("rejects");
  auto import = t.client->beginPhysicalImport("Members");
  std::vector<Parameters> batch = Batch(0, 3);
  batch[1] = Parameters().add("email", "bad@x").add("age", "not a number");
  auto added = import->add(batch);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  const auto& results = added.value().results;
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code, ErrorCode::InvalidArgument);
  EXPECT_NE(results[1].message.find("age"), std::string::npos) << results[1].message;
  EXPECT_TRUE(results[2].ok());
  // A batch over the limit fails whole.
  auto huge = import->add(std::vector<Parameters>(1001, Member(9)));
  EXPECT_EQ(huge.getCode(), ErrorCode::ResourceExhausted) << huge.getMessage();
  auto committed = import->commit();
  ASSERT_TRUE(committed.ok()) << committed.getMessage();
  EXPECT_EQ(committed.value(), 2u);
  auto content = Content(*t.client);
  EXPECT_EQ(content.size(), 2u);
  EXPECT_EQ(content.count("bad@x"), 0u);
}

TEST_F(PhysicalImportTest, AnImportDroppedOrAbortedLeavesNothing) {
  TenantHandle t = MembersTenant("dropped");
  {
    auto import = t.client->beginPhysicalImport("Members");
    ASSERT_TRUE(import->add(Batch(0, kBatch)).ok());
    // A second import of the same object while this one is open is refused.
    EXPECT_EQ(BeginCode(*t.client, "Members"), "Conflict");
  }  // released without a commit
  // The release reaches the server asynchronously: the next import waits for it.
  std::unique_ptr<PhysicalImport> again;
  for (int i = 0; i < 100 && again == nullptr; ++i) {
    try {
      again = t.client->beginPhysicalImport("Members");
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), ErrorCode::Conflict) << e.message();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_NE(again, nullptr) << "the dropped import was never abandoned";
  EXPECT_TRUE(Content(*t.client).empty());
  ASSERT_TRUE(again->add(Batch(0, 10)).ok());
  Result aborted = again->abort();
  EXPECT_TRUE(aborted.ok()) << aborted.getMessage();
  auto late = again->commit();
  EXPECT_FALSE(late.ok());
  EXPECT_TRUE(Content(*t.client).empty());
  EXPECT_EQ(IngestEntries(*server_), 0u);
  // The object takes records again.
  EXPECT_TRUE(t.client->addRecord("Members", Member(1)).ok());
}

TEST_F(PhysicalImportTest, ACallerWithoutTheAddRightCannotBegin) {
  TenantHandle t = MembersTenant("read-only");
  auto reader = t.client->createUser(0, "reader", AdminLevel::User);
  ASSERT_TRUE(reader.ok()) << reader.getMessage();
  ASSERT_TRUE(t.client->createRole(0, "read", {{"Members", Rights{true, false, false, false}}}).ok());
  ASSERT_TRUE(t.client->addRoleMember(0, "read", t.id, reader.value().user.id).ok());
  auto client = Client::connect(server_->address(), t.id, reader.value().apiKey);
  EXPECT_EQ(BeginCode(*client, "Members"), "PermissionDenied");
  EXPECT_EQ(BeginCode(*t.client, "Nothing"), "NotFound");
}

// Policy `name` of `pub` for `con` on Members with row filter `filter`, designating a new
// user "loader" of `pub` whose role "members-add" reads and adds Members.
void ShareMembers(TenantHandle& pub, TenantHandle& con, const std::string& name,
                  const std::string& filter, PolicyInfo* policy) {
  auto loader = pub.client->createUser(0, "loader", AdminLevel::User);
  ASSERT_TRUE(loader.ok()) << loader.getMessage();
  ASSERT_TRUE(pub.client->createRole(0, "members-add", {{"Members", Rights{true, true, false, false}}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "members-add", pub.id, loader.value().user.id).ok());
  policy->name = name;
  policy->designated = con.id;
  policy->userId = loader.value().user.id;
  policy->scope = {{"Members", filter, {}}};
  ASSERT_TRUE(pub.client->createPolicy(0, *policy).ok());
}

// Through a data-sharing policy: the import obeys the policy's row filter, and a change
// of the policy while it is open ends it.
TEST_F(PhysicalImportTest, ThroughAPolicyTheRowFilterAppliesAndAChangeEndsTheImport) {
  TenantHandle pub = MembersTenant("import-publisher");
  TenantHandle con = Tenant("import-consumer");
  PolicyInfo policy;
  ASSERT_NO_FATAL_FAILURE(ShareMembers(pub, con, "adults", "age >= 18", &policy));
  TenantContext ctx(*con.client, pub.id);

  auto import = con.client->beginPhysicalImport("Members", ctx);
  auto added = import->add({Member(30), Member(5)});  // the second is outside the filter
  ASSERT_TRUE(added.ok()) << added.getMessage();
  EXPECT_TRUE(added.value().results.at(0).ok());
  EXPECT_EQ(added.value().results.at(1).code, ErrorCode::PermissionDenied);
  auto committed = import->commit();
  ASSERT_TRUE(committed.ok()) << committed.getMessage();
  EXPECT_EQ(committed.value(), 1u);

  // A second object of the publisher, imported while the policy changes.
  auto o = pub.client->createObject(0, "Guests", {Field("email", FieldType::Text, true, true),
                                                  Field("name", FieldType::Text),
                                                  Field("age", FieldType::Int, true)});
  ASSERT_TRUE(o.ok()) << o.getMessage();
  ASSERT_TRUE(pub.client->updateRole(0, "members-add", {{"Members", Rights{true, true, false, false}},
                                                       {"Guests", Rights{true, true, false, false}}}).ok());
  policy.scope = {{"Members", "age >= 18", {}}, {"Guests", "age >= 18", {}}};
  ASSERT_TRUE(pub.client->updatePolicy(0, policy).ok());
  auto guests = con.client->beginPhysicalImport("Guests", ctx);
  ASSERT_TRUE(guests->add({Member(40)}).ok());
  policy.scope = {{"Members", "age >= 18", {}}, {"Guests", "age >= 21", {}}};
  ASSERT_TRUE(pub.client->updatePolicy(0, policy).ok());
  auto after = guests->add({Member(41)});
  EXPECT_EQ(after.getCode(), ErrorCode::PermissionDenied) << after.getMessage();
  EXPECT_NE(after.getMessage().find("changed during the physical import"), std::string::npos)
      << after.getMessage();
  EXPECT_FALSE(guests->commit().ok());
  EXPECT_TRUE(AllRecords(*pub.client, "Guests").empty());
  EXPECT_EQ(IngestEntries(*server_), 0u);
}

// A policy deleted while an import through it is open: the next call is denied as any
// call through a missing policy is, and the import's files are gone at once, with the
// capability still held.
TEST_F(PhysicalImportTest, ADeletedPolicyEndsTheImportAtItsNextCall) {
  TenantHandle pub = MembersTenant("deleted-publisher");
  TenantHandle con = Tenant("deleted-consumer");
  PolicyInfo policy;
  ASSERT_NO_FATAL_FAILURE(ShareMembers(pub, con, "all", "", &policy));
  TenantContext ctx(*con.client, pub.id);

  auto import = con.client->beginPhysicalImport("Members", ctx);
  ASSERT_TRUE(import->add({Member(30)}).ok());
  EXPECT_GT(IngestEntries(*server_), 0u);
  EXPECT_EQ(pub.client->addRecord("Members", Member(1)).getCode(), ErrorCode::Conflict);
  ASSERT_TRUE(pub.client->deletePolicy(0, "all").ok());
  auto after = import->add({Member(31)});
  EXPECT_FALSE(after.ok());
  EXPECT_NE(after.getCode(), ErrorCode::Busy) << after.getMessage();
  // Over: no file left, and the object takes records again.
  EXPECT_EQ(IngestEntries(*server_), 0u);
  auto own = pub.client->addRecord("Members", Member(1));
  EXPECT_TRUE(own.ok()) << own.getMessage();
  EXPECT_FALSE(import->commit().ok());
  EXPECT_EQ(AllRecords(*pub.client, "Members").size(), 1u);
}

// A server killed before the commit comes back with the object empty and the import's
// files deleted.
TEST(PhysicalImportCrashTest, AServerKilledBeforeTheCommitComesBackEmpty) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "crashed");
  CreateMembers(*t.client);
  {
    auto import = t.client->beginPhysicalImport("Members");
    for (int first = 0; first < kRecords; first += kBatch) {
      ASSERT_TRUE(import->add(Batch(first, kBatch)).ok());
    }
    EXPECT_GT(IngestEntries(server), 0u);
    server.Kill();
  }
  t.client.reset();
  ASSERT_TRUE(server.Restart()) << server.log();
  auto client = Client::connect(server.address(), t.id, t.key);
  EXPECT_TRUE(Content(*client).empty());
  EXPECT_EQ(IngestEntries(server), 0u);
  auto usage = AdminClient(server)->usage(t.id);
  ASSERT_TRUE(usage.ok()) << usage.getMessage();
  EXPECT_EQ(usage.value().records, 0u);
  // A new import of the object goes through.
  auto import = client->beginPhysicalImport("Members");
  ASSERT_TRUE(import->add(Batch(0, 10)).ok());
  auto committed = import->commit();
  ASSERT_TRUE(committed.ok()) << committed.getMessage();
  EXPECT_EQ(Content(*client).size(), 10u);
}

// A server asked to stop while an import is open stops cleanly and comes back without it.
TEST(PhysicalImportCrashTest, AServerStoppedWithAnOpenImportExitsCleanlyAndComesBackEmpty) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "stopped");
  CreateMembers(*t.client);
  auto import = t.client->beginPhysicalImport("Members");
  ASSERT_TRUE(import->add(Batch(0, kBatch)).ok());
  admin.reset();
  int status = server.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << server.log();
  import.reset();
  t.client.reset();
  ASSERT_TRUE(server.Restart()) << server.log();
  auto client = Client::connect(server.address(), t.id, t.key);
  EXPECT_TRUE(Content(*client).empty());
  EXPECT_EQ(IngestEntries(server), 0u);
}

}  // namespace
}  // namespace cotenant::testing
