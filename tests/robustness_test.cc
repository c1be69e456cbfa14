// End-to-end: what a hostile or careless client sends cannot stop the server for others.

#include <algorithm>
#include <string>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

const std::string kBadName = "Cust\xff\xfeomers";  // not UTF-8

class RobustnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Cotenantd();
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    delete server_;
    server_ = nullptr;
  }

  static void ExpectNotUtf8(const Result& r, const std::string& what) {
    EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument) << what << ": " << r.getMessage();
    EXPECT_NE(r.getMessage().find("not valid UTF-8"), std::string::npos) << what << ": " << r.getMessage();
  }

  static Cotenantd* server_;
  static Client* admin_;
};

Cotenantd* RobustnessTest::server_ = nullptr;
Client* RobustnessTest::admin_ = nullptr;

// A call through a TenantContext is audited; a name that is not UTF-8 used to reach the
// audit writer's JSON encoder, which threw and terminated the process.
TEST_F(RobustnessTest, NamesThatAreNotUtf8AreRefusedAndTheServerKeepsServing) {
  TenantHandle pub = MakeTenant(*server_, *admin_, "utf8-pub");
  TenantHandle sub = MakeTenant(*server_, *admin_, "utf8-sub");
  auto shared = pub.client->createUser(0, "shared", AdminLevel::User);
  ASSERT_TRUE(shared.ok()) << shared.getMessage();
  ASSERT_TRUE(pub.client->createRole(0, "reader", {{"*", Rights{true, false, false, false}}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "reader", pub.id, shared.value().user.id).ok());
  PolicyInfo policy;
  policy.name = "to-sub";
  policy.designated = sub.id;
  policy.userId = shared.value().user.id;
  ASSERT_TRUE(pub.client->createPolicy(0, policy).ok());
  Parameters john;
  john.add("first_name", "John");
  Result added = pub.client->addRecord("Customers", john);
  ASSERT_TRUE(added.ok()) << added.getMessage();

  TenantContext ctx(*sub.client, pub.id);
  ExpectNotUtf8(sub.client->getRecord(kBadName, "*", added.getId(), ctx), "getRecord via context");
  ExpectNotUtf8(sub.client->searchRecords(kBadName, "*", "", ctx), "searchRecords via context");
  ExpectNotUtf8(sub.client->addRecord(kBadName, john, ctx), "addRecord via context");
  ExpectNotUtf8(sub.client->deleteRecord(kBadName, added.getId(), ctx), "deleteRecord via context");

  // Own-tenant calls: every kind of client text is checked at the wire.
  ExpectNotUtf8(sub.client->getRecord(kBadName, "*", 1), "object name");
  Parameters bad_field;
  bad_field.add(kBadName, "x");
  ExpectNotUtf8(sub.client->addRecord("Customers", bad_field), "field name");
  Parameters bad_value;
  bad_value.add("first_name", "J\xc3");
  ExpectNotUtf8(sub.client->addRecord("Customers", bad_value), "text value");
  ExpectNotUtf8(sub.client->searchRecords("Customers", "*", "first_name = 'J\xe2\x82'"), "criteria");
  ExpectNotUtf8(sub.client->getRecord("Customers", kBadName, added.getId()), "projection");
  auto role = sub.client->createRole(0, kBadName, {{"Customers", Rights::all()}});
  EXPECT_EQ(role.getCode(), ErrorCode::InvalidArgument) << role.getMessage();
  auto object = sub.client->createObject(0, kBadName, {{"a", FieldType::Text, false, false}});
  EXPECT_EQ(object.getCode(), ErrorCode::InvalidArgument) << object.getMessage();
  // Nothing of the refused calls was written.
  EXPECT_EQ(sub.client->searchRecords("Customers", "*", "").getRecords().size(), 0u);

  // Still serving, and the audit writer still writes: a good call through the context is
  // audited in the publisher's log.
  Result got = sub.client->getRecord("Customers", "first_name", added.getId(), ctx);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  auto fresh = Client::connect(server_->address(), pub.id, pub.key);
  AuditQuery q;
  q.callerTenant = sub.id;
  auto log = fresh->queryAudit(q);
  ASSERT_TRUE(log.ok()) << log.getMessage();
  EXPECT_TRUE(std::any_of(log.value().begin(), log.value().end(), [&](const AuditEntry& e) {
    return e.api == "getRecord" && e.recordId == added.getId() && e.outcome == "OK";
  }));
  std::string health = HttpGet(server_->http_port(), "/healthz");
  EXPECT_NE(health.find("200"), std::string::npos) << health;
}

}  // namespace
}  // namespace cotenant::testing
