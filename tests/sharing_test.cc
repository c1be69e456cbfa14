// Data sharing end to end: the ABC/XYZ story, global policies of ISVs and MSPs,
// cross-tenant roles, policy scope (objects, row filter, field allow-list, expiry), the
// record-permission flags, the grant views, audit in both tenants, and usage.

#include <algorithm>
#include <map>
#include <chrono>
#include <thread>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Parameters Customer(const std::string& first, const std::string& region, int64_t age) {
  Parameters p;
  p.add("first_name", first).add("last_name", region).add("age", age);
  return p;
}

class SharingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Cotenantd();
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    delete server_;
  }

  // A plain user of `t` with a role `role` granting `rights` on Customers.
  uint64_t AliasUser(TenantHandle& t, const std::string& name, const std::string& role, Rights rights,
                     bool cross_tenant = false) {
    auto u = t.client->createUser(0, name, AdminLevel::User);
    EXPECT_TRUE(u.ok()) << u.getMessage();
    auto r = t.client->createRole(0, role, {{"Customers", rights}}, cross_tenant);
    EXPECT_TRUE(r.ok()) << r.getMessage();
    Result m = t.client->addRoleMember(0, role, t.id, u.value().user.id);
    EXPECT_TRUE(m.ok()) << m.getMessage();
    return u.value().user.id;
  }

  PolicyInfo Policy(const std::string& name, uint64_t designated, uint64_t user) {
    PolicyInfo p;
    p.name = name;
    p.designated = designated;
    p.userId = user;
    return p;
  }

  static ErrorCode ContextError(Client& c, uint64_t tenant) {
    try {
      TenantContext ctx(c, tenant);
      return ErrorCode::OK;
    } catch (const Error& e) {
      return e.code();
    }
  }

  static Cotenantd* server_;
  static Client* admin_;
};

Cotenantd* SharingTest::server_ = nullptr;
Client* SharingTest::admin_ = nullptr;

// ABC publishes a policy to XYZ; XYZ's code works on ABC's Customers through a
// TenantContext, exactly as far as the role allows; not reciprocal; revocation is at once.
TEST_F(SharingTest, TheAbcXyzStory) {
  TenantHandle abc = MakeTenant(*server_, *admin_, "ABC");
  TenantHandle xyz = MakeTenant(*server_, *admin_, "XYZ");
  Rights rau{true, true, true, false};  // read, add, update; no delete
  uint64_t alias = AliasUser(abc, "xyz-access", "xyz-partner", rau);
  ASSERT_TRUE(abc.client->addRecord("Customers", Customer("Existing", "abc", 50)).ok());
  ASSERT_TRUE(xyz.client->addRecord("Customers", Customer("XyzOwn", "xyz", 20)).ok());

  // Before the policy: no access.
  EXPECT_EQ(ContextError(*xyz.client, abc.id), ErrorCode::PermissionDenied);
  auto created = abc.client->createPolicy(0, Policy("share-with-xyz", xyz.id, alias));
  ASSERT_TRUE(created.ok()) << created.getMessage();
  EXPECT_EQ(created.value().publisher, abc.id);

  // XYZ's code, as the SDK guide shows it.
  TenantContext ctx(*xyz.client, std::to_string(abc.id));
  Parameters params;
  params.add("first_name", "John");
  Result added = xyz.client->addRecord("Customers", params, ctx);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  uint64_t john = added.getId();
  EXPECT_EQ(added.getRecords()[0].createdBy(), alias);  // acted as the policy's user

  Parameters upd;
  upd.add("age", int64_t{33});
  Result updated = xyz.client->updateRecord("Customers", john, upd, ctx);
  ASSERT_TRUE(updated.ok()) << updated.getMessage();
  EXPECT_EQ(updated.getRecords()[0].modifiedBy(), alias);

  Result found = xyz.client->searchRecords("Customers", "first_name,age", "", ctx);
  ASSERT_TRUE(found.ok()) << found.getMessage();
  std::vector<std::string> names;
  for (const auto& r : found.getRecords()) names.push_back(r.get("first_name").asText());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"Existing", "John"}));

  Result got = xyz.client->getRecord("Customers", "*", john, ctx);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords()[0].get("age").asInt(), 33);

  // The role has no delete right: refused, and the message says why.
  Result del = xyz.client->deleteRecord("Customers", john, ctx);
  EXPECT_EQ(del.getCode(), ErrorCode::PermissionDenied);
  EXPECT_NE(del.getMessage().find("DELETE records/Customers"), std::string::npos) << del.getMessage();
  EXPECT_TRUE(abc.client->getRecord("Customers", "*", john).ok());

  // ABC's data changed exactly as allowed; XYZ's own data is untouched.
  SearchQuery all;
  all.object = "Customers";
  all.numberOfRows = 1000;
  EXPECT_EQ(abc.client->search(all).getRecords().size(), 2u);
  Result xyz_own = xyz.client->search(all);
  ASSERT_EQ(xyz_own.getRecords().size(), 1u);
  EXPECT_EQ(xyz_own.getRecords()[0].get("first_name").asText(), "XyzOwn");

  // Not reciprocal.
  EXPECT_EQ(ContextError(*abc.client, xyz.id), ErrorCode::PermissionDenied);

  // The grant views: what each side can list.
  auto published = abc.client->listPolicies(abc.id, 0);
  ASSERT_TRUE(published.ok()) << published.getMessage();
  ASSERT_EQ(published.value().size(), 1u);
  EXPECT_EQ(published.value()[0].designated, xyz.id);
  EXPECT_EQ(published.value()[0].userId, alias);
  auto reachable = xyz.client->listPolicies(0, xyz.id);
  ASSERT_TRUE(reachable.ok()) << reachable.getMessage();
  ASSERT_EQ(reachable.value().size(), 1u);
  EXPECT_EQ(reachable.value()[0].publisher, abc.id);
  EXPECT_EQ(xyz.client->listPolicies(abc.id, 0).getCode(), ErrorCode::PermissionDenied);

  // One policy per pair; the user must be ABC's; a tenant cannot designate itself.
  EXPECT_EQ(abc.client->createPolicy(0, Policy("second", xyz.id, alias)).getCode(), ErrorCode::Conflict);
  // (Whether a designated tenant exists is never said: the answers below are those of a
  // live tenant; tests/security_test.cc checks them byte for byte.)
  EXPECT_EQ(abc.client->createPolicy(0, Policy("share-with-xyz", 999999, alias)).getCode(),
            ErrorCode::Conflict);
  EXPECT_EQ(abc.client->createPolicy(0, Policy("foreign-user", 999999, xyz.user)).getCode(),
            ErrorCode::InvalidArgument);
  TenantHandle other = MakeTenant(*server_, *admin_, "ABC-other");
  EXPECT_EQ(abc.client->createPolicy(0, Policy("foreign-user", other.id, xyz.user)).getCode(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(abc.client->createPolicy(0, Policy("self", abc.id, alias)).getCode(),
            ErrorCode::InvalidArgument);

  // Revocation: the very next call through the open context is denied.
  ASSERT_TRUE(abc.client->deletePolicy(0, "share-with-xyz").ok());
  EXPECT_EQ(xyz.client->getRecord("Customers", "*", john, ctx).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(ContextError(*xyz.client, abc.id), ErrorCode::PermissionDenied);

  // Both audit logs hold the calls, allowed and denied.
  AuditQuery q;
  q.callerTenant = xyz.id;
  auto abc_log = abc.client->queryAudit(q);
  ASSERT_TRUE(abc_log.ok()) << abc_log.getMessage();
  int ok = 0, denied = 0;
  for (const auto& e : abc_log.value()) {
    EXPECT_EQ(e.callerTenant, xyz.id);
    EXPECT_EQ(e.targetTenant, abc.id);
    if (e.outcome == "OK") ++ok;
    if (e.outcome == "PermissionDenied") ++denied;
  }
  EXPECT_GE(ok, 4);
  EXPECT_GE(denied, 2);
  q.outcome = "PermissionDenied";
  q.callerTenant = 0;
  q.tenantId = 0;
  auto xyz_log = xyz.client->queryAudit(q);
  ASSERT_TRUE(xyz_log.ok());
  EXPECT_GE(xyz_log.value().size(), 2u);
  for (const auto& e : xyz_log.value()) EXPECT_EQ(e.outcome, "PermissionDenied");
  // The policy changes are audited in ABC's log.
  AuditQuery changes;
  auto all_abc = abc.client->queryAudit(changes);
  ASSERT_TRUE(all_abc.ok());
  bool saw_create = false, saw_delete = false;
  for (const auto& e : all_abc.value()) {
    saw_create |= e.api == "createPolicy";
    saw_delete |= e.api == "deletePolicy";
  }
  EXPECT_TRUE(saw_create);
  EXPECT_TRUE(saw_delete);

  // Metering by direction.
  auto abc_usage = abc.client->usage();
  auto xyz_usage = xyz.client->usage();
  ASSERT_TRUE(abc_usage.ok() && xyz_usage.ok());
  EXPECT_GE(abc_usage.value().servedToOthers, 4u);
  EXPECT_GE(xyz_usage.value().consumedFromOthers, 4u);
  EXPECT_EQ(abc_usage.value().records, 2u);
  EXPECT_GT(abc_usage.value().bytes, 0u);
}

TEST_F(SharingTest, GlobalPoliciesReachManagedTenantsOnly) {
  TenantHandle isv = MakeTenant(*server_, *admin_, "isv-1", TenantKind::Isv);
  TenantHandle msp = MakeTenant(*server_, *admin_, "msp-1", TenantKind::Msp, isv.id);
  TenantHandle via_msp = MakeTenant(*server_, *admin_, "t-via-msp", TenantKind::Tenant, msp.id);
  TenantHandle direct = MakeTenant(*server_, *admin_, "t-direct", TenantKind::Tenant, isv.id);
  TenantHandle unmanaged = MakeTenant(*server_, *admin_, "t-unmanaged");
  TenantHandle other_isv = MakeTenant(*server_, *admin_, "isv-2", TenantKind::Isv);
  TenantHandle foreign = MakeTenant(*server_, *admin_, "t-foreign", TenantKind::Tenant, other_isv.id);

  uint64_t isv_user = AliasUser(isv, "global-reader", "global-read", Rights{true, false, false, false});
  ASSERT_TRUE(isv.client->addRecord("Customers", Customer("IsvData", "isv", 1)).ok());
  PolicyInfo g;
  g.name = "everyone-i-manage";
  g.global = true;
  g.userId = isv_user;
  ASSERT_TRUE(isv.client->createPolicy(0, g).ok());
  for (TenantHandle* t : {&msp, &via_msp, &direct}) {
    TenantContext ctx(*t->client, isv.id);
    Result r = t->client->searchRecords("Customers", "first_name", "", ctx);
    ASSERT_TRUE(r.ok()) << t->id << ": " << r.getMessage();
    ASSERT_EQ(r.getRecords().size(), 1u);
    EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), "IsvData");
    // Read only: the global policy's user has no add right.
    EXPECT_EQ(t->client->addRecord("Customers", Customer("x", "y", 1), ctx).getCode(),
              ErrorCode::PermissionDenied);
  }
  EXPECT_EQ(ContextError(*unmanaged.client, isv.id), ErrorCode::PermissionDenied);
  EXPECT_EQ(ContextError(*foreign.client, isv.id), ErrorCode::PermissionDenied);
  auto second = isv.client->createPolicy(0, [&] { PolicyInfo p = g; p.name = "again"; return p; }());
  EXPECT_EQ(second.getCode(), ErrorCode::Conflict);
  // The designating view shows the provider's global policy.
  auto reach = via_msp.client->listPolicies(0, via_msp.id);
  ASSERT_TRUE(reach.ok());
  ASSERT_EQ(reach.value().size(), 1u);
  EXPECT_TRUE(reach.value()[0].global);

  // An MSP's global policy reaches its tenants, not its ISV's direct tenants.
  uint64_t msp_user = AliasUser(msp, "msp-reader", "msp-read", Rights{true, false, false, false});
  PolicyInfo mg = g;
  mg.name = "msp-global";
  mg.userId = msp_user;
  ASSERT_TRUE(msp.client->createPolicy(0, mg).ok());
  EXPECT_EQ(ContextError(*via_msp.client, msp.id), ErrorCode::OK);
  EXPECT_EQ(ContextError(*direct.client, msp.id), ErrorCode::PermissionDenied);

  // Only ISVs and MSPs may have one.
  PolicyInfo tg = g;
  tg.name = "not-allowed";
  tg.userId = unmanaged.user;
  EXPECT_EQ(unmanaged.client->createPolicy(0, tg).getCode(), ErrorCode::InvalidArgument);

  // A specific policy decides alone (no fall-back to the global one)...
  uint64_t nothing = AliasUser(isv, "no-rights", "no-rights", Rights{});
  ASSERT_TRUE(isv.client->createPolicy(0, Policy("direct-specific", direct.id, nothing)).ok());
  {
    TenantContext ctx(*direct.client, isv.id);
    EXPECT_EQ(direct.client->searchRecords("Customers", "*", "", ctx).getCode(), ErrorCode::PermissionDenied);
  }
  // ...unless it has expired: then resolution goes on to the global policy.
  PolicyInfo expired = Policy("direct-specific", direct.id, nothing);
  expired.expiresAt = NowMicros() - 1000000;
  ASSERT_TRUE(isv.client->updatePolicy(0, expired).ok());
  {
    TenantContext ctx(*direct.client, isv.id);
    Result r = direct.client->searchRecords("Customers", "*", "", ctx);
    ASSERT_TRUE(r.ok()) << r.getMessage();
    EXPECT_EQ(r.getRecords().size(), 1u);
  }
}

TEST_F(SharingTest, CrossTenantRoles) {
  TenantHandle owner = MakeTenant(*server_, *admin_, "role-owner");
  TenantHandle guest = MakeTenant(*server_, *admin_, "role-guest");
  ASSERT_TRUE(owner.client->addRecord("Customers", Customer("Shared", "owner", 9)).ok());
  ASSERT_TRUE(owner.client->createRole(0, "partners", {{"Customers", Rights{true, false, false, false}}}, true).ok());
  ASSERT_TRUE(owner.client->createRole(0, "local-only", {{"Customers", Rights::all()}}, false).ok());
  // Disabled by default.
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "false").ok());
  EXPECT_EQ(owner.client->addRoleMember(0, "partners", guest.id, guest.user).getCode(),
            ErrorCode::PermissionDenied);
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "true").ok());
  EXPECT_EQ(admin_->setSetting("crossTenantRoles", "maybe").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(owner.client->setSetting("crossTenantRoles", "true").getCode(), ErrorCode::PermissionDenied);
  // A role not marked cross-tenant takes no foreign members.
  EXPECT_EQ(owner.client->addRoleMember(0, "local-only", guest.id, guest.user).getCode(),
            ErrorCode::InvalidArgument);
  // The guest's own admin cannot add itself to the owner's role.
  EXPECT_EQ(guest.client->addRoleMember(owner.id, "partners", guest.id, guest.user).getCode(),
            ErrorCode::PermissionDenied);
  ASSERT_TRUE(owner.client->addRoleMember(0, "partners", guest.id, guest.user).ok());

  TenantContext ctx(*guest.client, owner.id);
  Result r = guest.client->searchRecords("Customers", "first_name", "", ctx);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  // First match decides: a policy granting add does not widen the role path.
  uint64_t writer = AliasUser(owner, "writer", "writers", Rights::all());
  ASSERT_TRUE(owner.client->createPolicy(0, Policy("guest-writes", guest.id, writer)).ok());
  Result add = guest.client->addRecord("Customers", Customer("Nope", "guest", 1), ctx);
  EXPECT_EQ(add.getCode(), ErrorCode::PermissionDenied) << add.getMessage();
  // Turning the setting off ends the role path; the policy applies then.
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "false").ok());
  Result add2 = guest.client->addRecord("Customers", Customer("Yes", "guest", 1), ctx);
  EXPECT_TRUE(add2.ok()) << add2.getMessage();
  EXPECT_EQ(add2.getRecords()[0].createdBy(), writer);
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "true").ok());
  // Removing the membership ends the role path at once.
  ASSERT_TRUE(owner.client->removeRoleMember(0, "partners", guest.id, guest.user).ok());
  Result add3 = guest.client->addRecord("Customers", Customer("Policy", "guest", 1), ctx);
  EXPECT_TRUE(add3.ok()) << add3.getMessage();
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "false").ok());
}

TEST_F(SharingTest, ScopeRowFilterFieldsAndExpiry) {
  TenantHandle pub = MakeTenant(*server_, *admin_, "scope-pub");
  TenantHandle sub = MakeTenant(*server_, *admin_, "scope-sub");
  ASSERT_TRUE(pub.client->createObject(0, "Orders", {{"total", FieldType::Int, false, false}}).ok());
  uint64_t user = AliasUser(pub, "scoped", "scoped-all", Rights::all());
  ASSERT_TRUE(pub.client->createRole(0, "orders", {{"Orders", Rights::all()}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "orders", pub.id, user).ok());
  Result eu = pub.client->addRecord("Customers", Customer("Eve", "EU", 30));
  Result us = pub.client->addRecord("Customers", Customer("Sam", "US", 40));
  ASSERT_TRUE(eu.ok() && us.ok());

  PolicyInfo p = Policy("eu-only", sub.id, user);
  p.scope = {{"Customers", "last_name = 'EU'", {"first_name", "last_name"}}};
  // A bad row filter or an unknown field is refused when the policy is made.
  PolicyInfo bad = p;
  bad.scope[0].rowFilter = "last_name = ";
  EXPECT_EQ(pub.client->createPolicy(0, bad).getCode(), ErrorCode::InvalidArgument);
  bad = p;
  bad.scope[0].fields = {"shoe_size"};
  EXPECT_EQ(pub.client->createPolicy(0, bad).getCode(), ErrorCode::InvalidArgument);
  ASSERT_TRUE(pub.client->createPolicy(0, p).ok());

  TenantContext ctx(*sub.client, pub.id);
  // Reads see only matching rows and allowed fields.
  Result all = sub.client->searchRecords("Customers", "", "", ctx);
  ASSERT_TRUE(all.ok()) << all.getMessage();
  ASSERT_EQ(all.getRecords().size(), 1u);
  EXPECT_EQ(all.getRecords()[0].get("first_name").asText(), "Eve");
  EXPECT_FALSE(all.getRecords()[0].has("age"));
  // A row outside the filter answers exactly like a missing one.
  Result hidden = sub.client->getRecord("Customers", "*", us.getId(), ctx);
  Result missing = sub.client->getRecord("Customers", "*", 987654, ctx);
  EXPECT_EQ(hidden.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(sub.client->deleteRecord("Customers", us.getId(), ctx).getCode(), ErrorCode::NotFound);
  Parameters touch;
  touch.add("first_name", "Hacked");
  EXPECT_EQ(sub.client->updateRecord("Customers", us.getId(), touch, ctx).getCode(), ErrorCode::NotFound);
  // Hidden fields cannot be read, filtered, sorted or written.
  EXPECT_EQ(sub.client->getRecord("Customers", "age", eu.getId(), ctx).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(sub.client->searchRecords("Customers", "", "age > 35", ctx).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(sub.client->searchRecords("Customers", "", "", "age", "asc", "", "", 0, 10, ctx).getCode(),
            ErrorCode::InvalidArgument);
  // ...and the answer is word for word the one for a field that does not exist.
  auto same_as_unknown = [&](const Result& hidden_r, const Result& unknown_r) {
    std::string m = hidden_r.getMessage();
    for (size_t at = m.find("age"); at != std::string::npos; at = m.find("age", at + 9)) {
      m.replace(at, 3, "shoe_size");
    }
    EXPECT_EQ(m, unknown_r.getMessage());
  };
  same_as_unknown(sub.client->searchRecords("Customers", "", "age > 35", ctx),
                  sub.client->searchRecords("Customers", "", "shoe_size > 35", ctx));
  same_as_unknown(sub.client->getRecord("Customers", "age", eu.getId(), ctx),
                  sub.client->getRecord("Customers", "shoe_size", eu.getId(), ctx));
  same_as_unknown(sub.client->searchRecords("Customers", "", "", "age", "asc", "", "", 0, 10, ctx),
                  sub.client->searchRecords("Customers", "", "", "shoe_size", "asc", "", "", 0, 10, ctx));
  Parameters with_age;
  with_age.add("first_name", "New").add("last_name", "EU").add("age", int64_t{5});
  EXPECT_EQ(sub.client->addRecord("Customers", with_age, ctx).getCode(), ErrorCode::InvalidArgument);
  // Writes may only produce matching rows.
  Parameters us_row;
  us_row.add("first_name", "Out").add("last_name", "US");
  EXPECT_EQ(sub.client->addRecord("Customers", us_row, ctx).getCode(), ErrorCode::PermissionDenied);
  Parameters move;
  move.add("last_name", "US");
  EXPECT_EQ(sub.client->updateRecord("Customers", eu.getId(), move, ctx).getCode(), ErrorCode::PermissionDenied);
  Parameters in_row;
  in_row.add("first_name", "In").add("last_name", "EU");
  EXPECT_TRUE(sub.client->addRecord("Customers", in_row, ctx).ok());
  // Objects outside the scope are refused even though the role reaches them.
  EXPECT_EQ(sub.client->searchRecords("Orders", "", "", ctx).getCode(), ErrorCode::PermissionDenied);
  // The publisher's own view is unaffected.
  EXPECT_TRUE(pub.client->getRecord("Customers", "age", us.getId()).ok());

  // Expiry: an expired policy admits nobody.
  p.expiresAt = NowMicros() - 1;
  ASSERT_TRUE(pub.client->updatePolicy(0, p).ok());
  EXPECT_EQ(sub.client->searchRecords("Customers", "", "", ctx).getCode(), ErrorCode::PermissionDenied);
  // A policy that expires later admits until then. The moment of expiry itself, with
  // the context cached, is tested on an injected clock (sharing/gate_test.cc).
  p.expiresAt = NowMicros() + int64_t{3600} * 1000000;
  ASSERT_TRUE(pub.client->updatePolicy(0, p).ok());
  EXPECT_TRUE(sub.client->searchRecords("Customers", "", "", ctx).ok());
  p.expiresAt = NowMicros() - 1;
  ASSERT_TRUE(pub.client->updatePolicy(0, p).ok());
  EXPECT_EQ(sub.client->searchRecords("Customers", "", "", ctx).getCode(), ErrorCode::PermissionDenied);
}

TEST_F(SharingTest, GetRecordsThroughAContextKeepsTheScopeAndIsAuditedOnce) {
  TenantHandle pub = MakeTenant(*server_, *admin_, "batch-pub");
  TenantHandle sub = MakeTenant(*server_, *admin_, "batch-sub");
  uint64_t reader = AliasUser(pub, "batch-reader", "batch-read", Rights{true, false, false, false});
  Result eu = pub.client->addRecord("Customers", Customer("Eve", "EU", 30));
  Result us = pub.client->addRecord("Customers", Customer("Sam", "US", 40));
  Result eu2 = pub.client->addRecord("Customers", Customer("Ida", "EU", 50));
  ASSERT_TRUE(eu.ok() && us.ok() && eu2.ok());
  // A record of the calling tenant itself: its id means nothing in the publisher's data.
  Result own = sub.client->addRecord("Customers", Customer("Mine", "EU", 1));
  ASSERT_TRUE(own.ok());
  PolicyInfo p = Policy("batch-eu", sub.id, reader);
  p.scope = {{"Customers", "last_name = 'EU'", {"first_name", "last_name"}}};
  ASSERT_TRUE(pub.client->createPolicy(0, p).ok());
  TenantContext ctx(*sub.client, pub.id);

  auto batch = sub.client->getRecords("Customers", "", {eu2.getId(), us.getId(), 987654, eu.getId()}, ctx);
  ASSERT_TRUE(batch.ok()) << batch.getMessage();
  ASSERT_EQ(batch.value().size(), 4u);
  EXPECT_TRUE(batch.value()[0].ok());
  EXPECT_EQ(batch.value()[0].getRecords()[0].get("first_name").asText(), "Ida");
  EXPECT_FALSE(batch.value()[0].getRecords()[0].has("age"));  // outside the allow-list
  EXPECT_TRUE(batch.value()[3].ok());
  // A row outside the filter is answered word for word like an id that does not exist.
  const Result& hidden = batch.value()[1];
  const Result& missing = batch.value()[2];
  EXPECT_EQ(hidden.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
  auto same_shape = [](std::string m, uint64_t id) {
    std::string digits = std::to_string(id);
    return m.replace(m.find(digits), digits.size(), "N");
  };
  EXPECT_EQ(same_shape(hidden.getMessage(), us.getId()), same_shape(missing.getMessage(), 987654));
  // ...and exactly as getRecord answers each of them.
  EXPECT_EQ(hidden.getMessage(), sub.client->getRecord("Customers", "*", us.getId(), ctx).getMessage());

  // A hidden field in the projection fails the whole call, like an unknown one.
  auto age = sub.client->getRecords("Customers", "age", {eu.getId()}, ctx);
  auto shoe = sub.client->getRecords("Customers", "shoe_size", {eu.getId()}, ctx);
  EXPECT_EQ(age.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(shoe.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(age.getMessage(), sub.client->getRecord("Customers", "age", eu.getId(), ctx).getMessage());

  // Record permissions are the policy user's: read only.
  Parameters perms;
  perms.retrieveRecordPermissions(true);
  auto with_perms = sub.client->getRecords("Customers", "", {eu.getId()}, ctx, perms);
  ASSERT_TRUE(with_perms.ok()) << with_perms.getMessage();
  EXPECT_EQ(with_perms.value()[0].getRecords()[0].canUpdate(), std::optional<bool>(false));
  EXPECT_EQ(with_perms.value()[0].getRecords()[0].canDelete(), std::optional<bool>(false));

  // The caller's own ids do not reach into its own data through the context.
  auto foreign = sub.client->getRecords("Customers", "", {own.getId()}, ctx);
  ASSERT_TRUE(foreign.ok());
  if (own.getId() != eu.getId() && own.getId() != us.getId() && own.getId() != eu2.getId()) {
    EXPECT_EQ(foreign.value()[0].getCode(), ErrorCode::NotFound);
  }

  // Objects outside the scope are denied as a whole, as for getRecord.
  ASSERT_TRUE(pub.client->createObject(0, "Notes", {{"text", FieldType::Text, false, false}}).ok());
  EXPECT_EQ(sub.client->getRecords("Notes", "", {1}, ctx).getCode(), ErrorCode::PermissionDenied);

  // Each call through the context is audited once on the publisher's side, as getRecords.
  auto audit = pub.client->queryAudit(AuditQuery());
  ASSERT_TRUE(audit.ok()) << audit.getMessage();
  std::map<std::string, int> outcomes;
  for (const auto& e : audit.value()) {
    if (e.api != "getRecords") continue;
    ++outcomes[e.outcome];
    EXPECT_EQ(e.callerTenant, sub.id);
    if (e.outcome == "OK") {
      EXPECT_EQ(e.principal, reader);
    }
  }
  // The first batch, the permissions and the foreign-id calls; the two projections; Notes.
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"OK", 3}, {"InvalidArgument", 2}, {"PermissionDenied", 1}}));
}

TEST_F(SharingTest, RecordPermissionFlagsAndRoleRightsAtHome) {
  TenantHandle t = MakeTenant(*server_, *admin_, "flags");
  TenantHandle c = MakeTenant(*server_, *admin_, "flags-consumer");
  uint64_t user = AliasUser(t, "reader-updater", "ru", Rights{true, false, true, false});
  Result r = t.client->addRecord("Customers", Customer("Flag", "x", 1));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(t.client->createPolicy(0, Policy("flags", c.id, user)).ok());
  TenantContext ctx(*c.client, t.id);
  Parameters want;
  want.retrieveRecordPermissions(true);
  Result got = c.client->getRecord("Customers", "*", r.getId(), ctx, want);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords()[0].canUpdate(), std::optional<bool>(true));
  EXPECT_EQ(got.getRecords()[0].canDelete(), std::optional<bool>(false));
  Result page = c.client->searchRecords("Customers", "*", "", ctx, want);
  ASSERT_TRUE(page.ok());
  for (const auto& rec : page.getRecords()) {
    EXPECT_EQ(rec.canUpdate(), std::optional<bool>(true));
    EXPECT_EQ(rec.canDelete(), std::optional<bool>(false));
  }
  Result plain = c.client->getRecord("Customers", "*", r.getId(), ctx);
  EXPECT_FALSE(plain.getRecords()[0].canUpdate().has_value());

  // Role rights apply in one's own tenant too, and admin levels grant none.
  auto key = t.client->createApiKey(0, user);
  ASSERT_TRUE(key.ok()) << key.getMessage();
  auto as_user = Client::connect(server_->address(), t.id, key.value().apiKey);
  EXPECT_TRUE(as_user->getRecord("Customers", "*", r.getId()).ok());
  EXPECT_EQ(as_user->deleteRecord("Customers", r.getId()).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(as_user->addRecord("Customers", Customer("n", "x", 1)).getCode(), ErrorCode::PermissionDenied);
  auto bare_admin = t.client->createUser(0, "bare-admin", AdminLevel::TenantAdmin);
  ASSERT_TRUE(bare_admin.ok());
  auto ba = Client::connect(server_->address(), t.id, bare_admin.value().apiKey);
  Result denied = ba->getRecord("Customers", "*", r.getId());
  EXPECT_EQ(denied.getCode(), ErrorCode::PermissionDenied) << denied.getMessage();
  // No right: PermissionDenied even for an object that does not exist.
  EXPECT_EQ(ba->getRecord("NoSuchObject", "*", 1).getCode(), ErrorCode::PermissionDenied);
  // A revoked key fails the next call of a session opened with it.
  ASSERT_TRUE(t.client->revokeApiKey(0, key.value().key.keyId).ok());
  EXPECT_EQ(as_user->getRecord("Customers", "*", r.getId()).getCode(), ErrorCode::Unauthenticated);
  // A deleted policy user: the policy admits nobody.
  ASSERT_TRUE(t.client->deleteUser(0, user).ok());
  EXPECT_EQ(c.client->getRecord("Customers", "*", r.getId(), ctx).getCode(), ErrorCode::PermissionDenied);
}

TEST_F(SharingTest, DeletingATenantRemovesPoliciesThatDesignateIt) {
  TenantHandle pub = MakeTenant(*server_, *admin_, "del-pub");
  TenantHandle doomed = MakeTenant(*server_, *admin_, "del-doomed");
  uint64_t user = AliasUser(pub, "for-doomed", "for-doomed", Rights{true, false, false, false});
  ASSERT_TRUE(pub.client->createPolicy(0, Policy("to-doomed", doomed.id, user)).ok());
  ASSERT_TRUE(admin_->deleteTenant(doomed.id).ok());
  auto left = pub.client->listPolicies(pub.id, 0);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left.value().empty());
}

TEST(SharingRestart, AuditAndUsageSurviveARestart) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  uint64_t abc_id = 0, xyz_id = 0;
  std::string abc_key;
  {
    auto admin = AdminClient(server);
    TenantHandle abc = MakeTenant(server, *admin, "ABC");
    TenantHandle xyz = MakeTenant(server, *admin, "XYZ");
    abc_id = abc.id;
    xyz_id = xyz.id;
    abc_key = abc.key;
    PolicyInfo p;
    p.name = "share";
    p.designated = xyz.id;
    p.userId = abc.user;
    ASSERT_TRUE(abc.client->createPolicy(0, p).ok());
    TenantContext ctx(*xyz.client, abc.id);
    ASSERT_TRUE(xyz.client->searchRecords("Customers", "*", "", ctx).ok());
    EXPECT_EQ(xyz.client->getRecord("Customers", "*", 12345, ctx).getCode(), ErrorCode::NotFound);
  }
  ASSERT_EQ(server.Stop(), 0) << server.log();
  ASSERT_TRUE(server.Restart()) << server.log();
  auto abc = Client::connect(server.address(), abc_id, abc_key);
  AuditQuery q;
  q.callerTenant = xyz_id;
  auto log = abc->queryAudit(q);
  ASSERT_TRUE(log.ok()) << log.getMessage();
  ASSERT_EQ(log.value().size(), 2u);
  EXPECT_EQ(log.value()[0].api, "searchRecords");
  EXPECT_EQ(log.value()[0].outcome, "OK");
  EXPECT_EQ(log.value()[1].api, "getRecord");
  EXPECT_EQ(log.value()[1].outcome, "NotFound");
  EXPECT_EQ(log.value()[1].recordId, 12345u);
  auto usage = abc->usage();
  ASSERT_TRUE(usage.ok());
  EXPECT_GE(usage.value().servedToOthers, 1u);
}

}  // namespace
}  // namespace cotenant::testing