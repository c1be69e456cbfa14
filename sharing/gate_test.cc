// The gate in process, no server: every path of the resolution order, permission sets on
// both sides, scope and field rules, admin-level rules, expiry on a fake clock, what a
// decided call records, and explain agreeing with the real decision over random calls.

#include "sharing/gate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/test_support.h"

namespace cotenant::sharing {
namespace {

constexpr int64_t kStart = int64_t{1'800'000'000} * 1'000'000;  // 2027-01-15
constexpr int64_t kSecond = 1'000'000;

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.path = dir_.path() + "/db";
    o.storage = cotenant::testing::TestStorageUri(o.path);
    o.storage_connections = 4;
    o.block_cache_bytes = 8 << 20;
    o.memtable_bytes = 8 << 20;
    ASSERT_TRUE(storage::Store::Open(o, &store_).ok());
    identity_ = std::make_unique<Identity>(store_.get(), &clock_);
    CacheOptions co;
    co.store_id = "gate-unit";
    cache_ = std::make_unique<ContextCache>(co);
    sharing_ = std::make_unique<Sharing>(store_.get(), identity_.get(), cache_.get(), &clock_);
    ASSERT_TRUE(PermissionSets::Open(store_.get(), &psets_).ok());
    audit_ = std::make_unique<AuditLog>(store_.get());
    std::vector<std::string> names;
    for (int i = 0; i < static_cast<int>(Api::kCount); ++i) names.emplace_back(ApiName(static_cast<Api>(i)));
    usage_ = std::make_unique<Usage>(store_.get(), names);
    Gate::Parts parts{store_.get(), identity_.get(), sharing_.get(), psets_.get(),
                      audit_.get(), usage_.get(), &clock_};
    gate_ = std::make_unique<Gate>(parts);
    // The system tenant and its admin, as on a first start.
    std::string key_path;
    ASSERT_TRUE(Bootstrap(store_.get(), identity_.get(), dir_.path(), &key_path).ok());
    std::ifstream in(key_path);
    std::string key;
    std::getline(in, key);
    ASSERT_TRUE(identity_->Authenticate(1, key, &sysadmin_, &sysadmin_cred_).ok());
  }

  storage::TenantInfo Tenant(const std::string& name, storage::TenantKind kind = storage::TenantKind::kTenant,
                             TenantId provider = 0) {
    storage::TenantInfo t;
    EXPECT_TRUE(store_->CreateTenant(name, kind, provider, &t).ok());
    storage::ObjectDef def;
    EXPECT_TRUE(store_->CreateObject(t.id, "Customers",
                                     {{"name", storage::FieldType::kText}, {"region", storage::FieldType::kText}},
                                     &def).ok());
    return t;
  }

  struct Person {
    User user;
    Credential cred;
  };
  Person MakeUser(TenantId t, const std::string& name, AdminLevel level = AdminLevel::kUser) {
    Person p;
    std::string key;
    EXPECT_TRUE(identity_->CreateUser(t, name, level, &p.user, &key).ok());
    EXPECT_TRUE(identity_->Authenticate(t, key, &p.user, &p.cred).ok());
    return p;
  }

  void Grant(TenantId t, UserId u, const std::string& role, RightsMap rights, bool cross = false,
             TenantId member_tenant = 0) {
    Role r;
    Status s = sharing_->CreateRole(t, role, rights, cross, &r);
    ASSERT_TRUE(s.ok() || s.IsConflict()) << s.ToString();
    ASSERT_TRUE(sharing_->AddMember(t, role, member_tenant == 0 ? t : member_tenant, u).ok());
  }

  Policy Share(TenantId publisher, const std::string& name, TenantId designated, UserId user) {
    Policy p;
    p.name = name;
    p.designated = designated;
    p.global = designated == 0;
    p.user = user;
    Policy out;
    Status s = sharing_->CreatePolicy(publisher, p, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  DecisionPtr Decide(const Person& who, Api api, TenantId context, const std::string& object = "Customers") {
    RecordCall call{who.cred, api, context, object};
    auto d = gate_->Decide(call);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : nullptr;
  }

  Status Admin(const Person& who, Api api, TenantId tenant = 0, UserId user = 0, KeyId key = 0,
               AdminLevel creates = AdminLevel::kUser) {
    AdminCall call{who.cred, api, tenant, user, key, creates};
    auto d = gate_->DecideAdmin(call);
    return d.ok() ? Status::OK() : d.status();
  }

  cotenant::testing::TempDir dir_;
  FakeClock clock_{kStart};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Identity> identity_;
  std::unique_ptr<ContextCache> cache_;
  std::unique_ptr<Sharing> sharing_;
  std::unique_ptr<PermissionSets> psets_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Usage> usage_;
  std::unique_ptr<Gate> gate_;
  User sysadmin_;
  Credential sysadmin_cred_;
};

TEST_F(GateTest, EveryPathOfTheResolutionOrder) {
  auto isv = Tenant("isv", storage::TenantKind::kIsv);
  auto c = Tenant("c", storage::TenantKind::kTenant, isv.id);
  auto other = Tenant("other");
  Person caller = MakeUser(c.id, "caller");
  Person shared = MakeUser(isv.id, "shared");
  Grant(c.id, caller.user.id, "own", {{"Customers", kRead | kAdd}});
  Grant(isv.id, shared.user.id, "read", {{"*", kRead}});

  // Own tenant: the caller with its own roles.
  auto own = Decide(caller, Api::kAddRecord, 0);
  EXPECT_TRUE(own->allowed()) << own->verdict().ToString();
  EXPECT_EQ(own->access().path, Path::kOwn);
  EXPECT_EQ(own->principal(), caller.user.id);
  EXPECT_FALSE(own->cross_tenant());
  EXPECT_EQ(own->object().name, "Customers");

  // No policy, and a tenant that does not exist: one answer, word for word.
  auto none = Decide(caller, Api::kGetRecord, other.id);
  auto ghost = Decide(caller, Api::kGetRecord, 987654321);
  EXPECT_TRUE(none->verdict().IsPermissionDenied());
  EXPECT_EQ(none->verdict().message(), "Access Denied: no data-sharing policy of tenant " +
                                           std::to_string(other.id) + " admits tenant " + std::to_string(c.id));
  EXPECT_EQ(ghost->verdict().message(), "Access Denied: no data-sharing policy of tenant 987654321 admits tenant " +
                                            std::to_string(c.id));

  // (c) the provider's global policy.
  Share(isv.id, "everyone", 0, shared.user.id);
  auto global = Decide(caller, Api::kGetRecord, isv.id);
  EXPECT_TRUE(global->allowed()) << global->verdict().ToString();
  EXPECT_EQ(global->access().path, Path::kGlobalPolicy);
  EXPECT_EQ(global->principal(), shared.user.id);
  // (b) a specific policy takes precedence; it runs as its own user.
  Person specific = MakeUser(isv.id, "specific");
  Share(isv.id, "for-c", c.id, specific.user.id);
  auto pol = Decide(caller, Api::kGetRecord, isv.id);
  // First match decides: the specific policy's user has no role, so nobody is admitted,
  // and the global policy is not consulted.
  EXPECT_EQ(pol->access().path, Path::kDenied);
  EXPECT_EQ(pol->principal(), specific.user.id);
  EXPECT_TRUE(pol->verdict().IsPermissionDenied());
  // The caller's side is told no more than that no policy admits it.
  EXPECT_EQ(pol->verdict().message(), "Access Denied: no data-sharing policy of tenant " +
                                          std::to_string(isv.id) + " admits tenant " + std::to_string(c.id));

  Grant(isv.id, specific.user.id, "read", {{"*", kRead}});
  auto now_policy = Decide(caller, Api::kGetRecord, isv.id);
  EXPECT_TRUE(now_policy->allowed()) << now_policy->verdict().ToString();
  EXPECT_EQ(now_policy->access().path, Path::kPolicy);

  // (a) a cross-tenant role of the target comes first of all (the setting on).
  ASSERT_TRUE(sharing_->SetSetting("crossTenantRoles", "true").ok());
  Grant(isv.id, caller.user.id, "guests", {{"Customers", kRead}}, true, c.id);
  auto role = Decide(caller, Api::kGetRecord, isv.id);
  EXPECT_TRUE(role->allowed()) << role->verdict().ToString();
  EXPECT_EQ(role->access().path, Path::kCrossTenantRole);
  EXPECT_EQ(role->principal(), caller.user.id);
  // Its roles lack delete: no fallback to a policy.
  auto del = Decide(caller, Api::kDeleteRecord, isv.id);
  EXPECT_TRUE(del->verdict().IsPermissionDenied());
  EXPECT_EQ(del->access().path, Path::kCrossTenantRole);
}

TEST_F(GateTest, OrderOfChecksRightsBeforeObject) {
  auto t = Tenant("t");
  Person u = MakeUser(t.id, "u");
  Grant(t.id, u.user.id, "cust", {{"Customers", kRead}});
  // No right on Orders: PermissionDenied even though Orders does not exist.
  auto none = Decide(u, Api::kGetRecord, 0, "Orders");
  EXPECT_TRUE(none->verdict().IsPermissionDenied()) << none->verdict().ToString();
  Grant(t.id, u.user.id, "all", {{"*", kRead}});
  auto missing = Decide(u, Api::kGetRecord, 0, "Orders");
  EXPECT_TRUE(missing->verdict().IsNotFound()) << missing->verdict().ToString();
  // Admin levels grant no data rights.
  Person admin = MakeUser(t.id, "admin", AdminLevel::kTenantAdmin);
  EXPECT_TRUE(Decide(admin, Api::kGetRecord, 0)->verdict().IsPermissionDenied());
  // A revoked credential fails before anything is decided.
  ASSERT_TRUE(identity_->DeleteUser(t.id, u.user.id).ok());
  RecordCall call{u.cred, Api::kGetRecord, std::nullopt, "Customers"};
  EXPECT_EQ(gate_->Decide(call).status().code(), Status::Code::kUnauthenticated);
}

TEST_F(GateTest, PermissionSetsOfBothSides) {
  auto pub = Tenant("pub");
  auto sub = Tenant("sub");
  Person caller = MakeUser(sub.id, "caller");
  Person shared = MakeUser(pub.id, "shared");
  Grant(pub.id, shared.user.id, "all", {{"*", kAllRights}});
  Share(pub.id, "share", sub.id, shared.user.id);
  EXPECT_TRUE(Decide(caller, Api::kDeleteRecord, pub.id)->allowed());

  // A deny on the policy's user binds the designated tenant too.
  PermissionSet no_deletes;
  no_deletes.name = "no-deletes";
  no_deletes.users = {shared.user.id};
  no_deletes.policies = {{Effect::kDeny, "records/.*", ".*", "DELETE"}};
  ASSERT_TRUE(psets_->Create(no_deletes).ok());
  auto d = Decide(caller, Api::kDeleteRecord, pub.id);
  EXPECT_TRUE(d->verdict().IsPermissionDenied());
  EXPECT_EQ(d->verdict().message(), "Access Denied: user " + std::to_string(shared.user.id) +
                                        " may not DELETE records/Customers in tenant " + std::to_string(pub.id) +
                                        ": denied by permission set 'no-deletes' policy 1");
  EXPECT_TRUE(d->caller_sets().allowed);
  EXPECT_TRUE(d->principal_evaluated());
  EXPECT_FALSE(d->principal_sets().allowed);
  // A deny on the caller is checked first.
  PermissionSet caller_reads;
  caller_reads.name = "caller-no-reads";
  caller_reads.users = {caller.user.id};
  caller_reads.policies = {{Effect::kDeny, "records/Customers", "getRecord", "GET"}};
  ASSERT_TRUE(psets_->Create(caller_reads).ok());
  auto r = Decide(caller, Api::kGetRecord, pub.id);
  EXPECT_TRUE(r->verdict().IsPermissionDenied());
  EXPECT_FALSE(r->principal_evaluated());
  EXPECT_NE(r->verdict().message().find("caller-no-reads"), std::string::npos);
  // Search is not getRecord: the caller may still search.
  EXPECT_TRUE(Decide(caller, Api::kSearchRecords, pub.id)->allowed());
}

TEST_F(GateTest, ScopeIsOwnedByTheDecision) {
  auto pub = Tenant("pub");
  auto sub = Tenant("sub");
  Person caller = MakeUser(sub.id, "caller");
  Person shared = MakeUser(pub.id, "shared");
  Grant(pub.id, shared.user.id, "all", {{"*", kAllRights}});
  Policy p;
  p.name = "eu";
  p.designated = sub.id;
  p.user = shared.user.id;
  p.scope = {{"Customers", "region = 'EU'", {"name"}}};
  Policy out;
  ASSERT_TRUE(sharing_->CreatePolicy(pub.id, p, &out).ok());
  auto d = Decide(caller, Api::kSearchRecords, pub.id);
  ASSERT_TRUE(d->allowed()) << d->verdict().ToString();
  ASSERT_NE(d->scope(), nullptr);
  EXPECT_NE(d->scope()->row_filter, nullptr);
  auto name = d->object().Slot("name");
  auto region = d->object().Slot("region");
  ASSERT_TRUE(name && region);
  EXPECT_TRUE(d->scope()->FieldVisible(*name));
  EXPECT_FALSE(d->scope()->FieldVisible(*region));
  // Objects outside the scope are refused though the role reaches them.
  storage::ObjectDef orders;
  ASSERT_TRUE(store_->CreateObject(pub.id, "Orders", {{"n", storage::FieldType::kInt}}, &orders).ok());
  EXPECT_TRUE(Decide(caller, Api::kSearchRecords, pub.id, "Orders")->verdict().IsPermissionDenied());
  // The scope stays valid after the policy is gone and every cache is dropped: the
  // decision owns it.
  ASSERT_TRUE(sharing_->DeletePolicy(pub.id, "eu").ok());
  cache_->ClearLocal();
  EXPECT_TRUE(Decide(caller, Api::kSearchRecords, pub.id)->verdict().IsPermissionDenied());
  EXPECT_FALSE(d->scope()->FieldVisible(*region));
  EXPECT_NE(d->scope()->row_filter, nullptr);
}

TEST_F(GateTest, ExpiryOnTheInjectedClock) {
  auto pub = Tenant("pub");
  auto sub = Tenant("sub");
  Person caller = MakeUser(sub.id, "caller");
  Person shared = MakeUser(pub.id, "shared");
  Grant(pub.id, shared.user.id, "read", {{"*", kRead}});
  Policy p;
  p.name = "soon";
  p.designated = sub.id;
  p.user = shared.user.id;
  p.expires_at = kStart + 10 * kSecond;
  Policy out;
  ASSERT_TRUE(sharing_->CreatePolicy(pub.id, p, &out).ok());
  EXPECT_EQ(out.created_at, kStart);
  RecordCall call{caller.cred, Api::kGetRecord, pub.id, "Customers"};
  ASSERT_TRUE(Decide(caller, Api::kGetRecord, pub.id)->allowed());
  // Current in the in-process cache: decided from memory. On a store other front-ends
  // share, memory alone is never known to be current: the decision reads the store.
  auto cached = gate_->TryDecide(call);
  if (store_->shared()) {
    EXPECT_FALSE(cached.has_value());
  } else {
    ASSERT_TRUE(cached.has_value());
    EXPECT_TRUE((**cached)->allowed());
  }
  clock_.Advance(9 * kSecond);
  EXPECT_TRUE(Decide(caller, Api::kGetRecord, pub.id)->allowed());
  // Past the expiry the cached context is not served, and the policy admits nobody.
  clock_.Advance(2 * kSecond);
  auto after = gate_->TryDecide(call);
  EXPECT_FALSE(after.has_value() && (**after)->allowed());
  auto d = Decide(caller, Api::kGetRecord, pub.id);
  EXPECT_TRUE(d->verdict().IsPermissionDenied());
  // An expired policy is skipped: a global policy of a provider would apply next.
  EXPECT_EQ(d->access().path, Path::kDenied);
}

TEST_F(GateTest, RecordAuditsCrossTenantCallsInBothTenantsAndMeters) {
  auto pub = Tenant("pub");
  auto sub = Tenant("sub");
  Person caller = MakeUser(sub.id, "caller");
  Person shared = MakeUser(pub.id, "shared");
  Grant(pub.id, shared.user.id, "read", {{"*", kRead}});
  Share(pub.id, "share", sub.id, shared.user.id);
  auto ok = Decide(caller, Api::kGetRecord, pub.id);
  gate_->Count(*ok);
  gate_->Record(*ok, 42, Status::Code::kOk);
  auto denied = Decide(caller, Api::kDeleteRecord, pub.id);
  gate_->Count(*denied);
  gate_->Record(*denied, 43, denied->verdict().code());
  auto own = Decide(shared, Api::kGetRecord, 0);
  gate_->Count(*own);
  gate_->Record(*own, 1, Status::Code::kOk);
  ASSERT_TRUE(audit_->Flush().ok());
  for (TenantId t : {pub.id, sub.id}) {
    std::vector<AuditRecord> log;
    AuditFilter all;
    all.to = clock_.NowMicros() + 1;  // the entries carry the injected clock's time
    ASSERT_TRUE(audit_->Query(t, all, &log).ok());
    ASSERT_EQ(log.size(), 2u) << "tenant " << t;  // the own-tenant call is not audited
    EXPECT_EQ(log[0].api, "getRecord");
    EXPECT_EQ(log[0].record_id, 42u);
    EXPECT_EQ(log[0].outcome, "OK");
    EXPECT_EQ(log[0].principal, shared.user.id);
    EXPECT_EQ(log[1].outcome, "PermissionDenied");
  }
  UsageReport pub_usage, sub_usage;
  ASSERT_TRUE(usage_->Report(pub.id, &pub_usage).ok());
  ASSERT_TRUE(usage_->Report(sub.id, &sub_usage).ok());
  EXPECT_EQ(pub_usage.served_to_others, 1u);
  EXPECT_EQ(sub_usage.consumed_from_others, 1u);
  // Every decided call is counted for the caller's tenant, denied or not.
  using Calls = std::vector<std::pair<std::string, uint64_t>>;
  auto sorted = [](Calls c) { std::sort(c.begin(), c.end()); return c; };
  EXPECT_EQ(sorted(sub_usage.calls), (Calls{{"deleteRecord", 1}, {"getRecord", 1}}));
  EXPECT_EQ(pub_usage.calls, (Calls{{"getRecord", 1}}));
}

TEST_F(GateTest, AdminLevelRules) {
  auto t = Tenant("t");
  auto other = Tenant("other");
  Person admin = MakeUser(t.id, "admin", AdminLevel::kTenantAdmin);
  Person plain = MakeUser(t.id, "plain");
  Person peer = MakeUser(t.id, "peer");
  Person sys_here = MakeUser(t.id, "sys", AdminLevel::kSystemAdmin);
  Person sys{sysadmin_, sysadmin_cred_};

  // Only a system admin names another tenant, whether or not it exists.
  Status named = Admin(admin, Api::kListUsers, other.id);
  EXPECT_TRUE(named.IsPermissionDenied());
  EXPECT_NE(named.message().find("only a system admin may name another tenant"), std::string::npos);
  EXPECT_EQ(Admin(admin, Api::kListUsers, 987654321).message(),
            "Access Denied: user " + std::to_string(admin.user.id) + " of tenant " + std::to_string(t.id) +
                " may not list users in tenant 987654321: only a system admin may name another tenant");
  EXPECT_TRUE(Admin(sys, Api::kListUsers, other.id).ok());
  // Levels.
  EXPECT_TRUE(Admin(admin, Api::kCreateObject).ok());
  EXPECT_EQ(Admin(plain, Api::kCreateObject).message(),
            "Access Denied: user " + std::to_string(plain.user.id) + " of tenant " + std::to_string(t.id) +
                " may not create objects: it needs a tenant admin or system admin");
  EXPECT_TRUE(Admin(admin, Api::kCreateTenant).IsPermissionDenied());
  EXPECT_TRUE(Admin(admin, Api::kCreatePermissionSet).IsPermissionDenied());
  EXPECT_TRUE(Admin(admin, Api::kSetSetting).IsPermissionDenied());
  EXPECT_TRUE(Admin(admin, Api::kCreateUser, 0, 0, 0, AdminLevel::kTenantAdmin).ok());
  EXPECT_TRUE(Admin(admin, Api::kCreateUser, 0, 0, 0, AdminLevel::kSystemAdmin).IsPermissionDenied());
  // Users and keys: a plain user manages its own keys, admins those of their tenant's
  // users, and no tenant admin acts on a system admin, revocation included.
  EXPECT_TRUE(Admin(plain, Api::kCreateApiKey, 0, plain.user.id).ok());
  EXPECT_TRUE(Admin(plain, Api::kListApiKeys, 0, plain.user.id).ok());
  EXPECT_TRUE(Admin(plain, Api::kListApiKeys, 0, peer.user.id).IsPermissionDenied());
  EXPECT_TRUE(Admin(admin, Api::kListApiKeys, 0, peer.user.id).ok());
  EXPECT_TRUE(Admin(admin, Api::kDeleteUser, 0, sys_here.user.id).IsPermissionDenied());
  EXPECT_TRUE(Admin(admin, Api::kDeleteUser, 0, admin.user.id).IsInvalidArgument());
  KeyInfo plain_key, sys_key;
  std::string secret;
  ASSERT_TRUE(identity_->CreateKey(t.id, plain.user.id, &plain_key, &secret).ok());
  ASSERT_TRUE(identity_->CreateKey(t.id, sys_here.user.id, &sys_key, &secret).ok());
  EXPECT_TRUE(Admin(plain, Api::kRevokeApiKey, 0, 0, plain_key.id).ok());
  EXPECT_EQ(Admin(peer, Api::kRevokeApiKey, 0, 0, plain_key.id).message(),
            "Access Denied: user " + std::to_string(peer.user.id) + " of tenant " + std::to_string(t.id) +
                " may only revoke its own keys");
  EXPECT_TRUE(Admin(admin, Api::kRevokeApiKey, 0, 0, plain_key.id).ok());
  Status locked = Admin(admin, Api::kRevokeApiKey, 0, 0, sys_key.id);
  EXPECT_TRUE(locked.IsPermissionDenied());
  EXPECT_NE(locked.message().find("of a system admin"), std::string::npos) << locked.message();
  EXPECT_TRUE(Admin(sys, Api::kRevokeApiKey, t.id, 0, sys_key.id).ok());
  // Permission sets gate administrative calls of everyone but system admins.
  PermissionSet no_admin;
  no_admin.name = "no-admin";
  no_admin.system_scope = true;
  no_admin.policies = {{Effect::kDeny, "admin/.*", ".*", ".*"}};
  ASSERT_TRUE(psets_->Create(no_admin).ok());
  Status denied = Admin(admin, Api::kCreateObject);
  EXPECT_TRUE(denied.IsPermissionDenied());
  EXPECT_NE(denied.message().find("denied by permission set 'no-admin' policy 1"), std::string::npos);
  EXPECT_TRUE(Admin(sys, Api::kCreateObject, t.id).ok());
}

// explain runs the decision the call runs: over random (user, tenant, API, object)
// tuples, record and administrative APIs alike, it agrees with Decide / DecideAdmin.
TEST_F(GateTest, ExplainAgreesWithTheDecisionOverRandomCalls) {
  ASSERT_TRUE(sharing_->SetSetting("crossTenantRoles", "true").ok());
  std::vector<storage::TenantInfo> tenants = {Tenant("a"), Tenant("b"), Tenant("c")};
  std::vector<Person> people;
  std::mt19937_64 rng(7);
  for (const auto& t : tenants) {
    people.push_back(MakeUser(t.id, "u", AdminLevel::kUser));
    people.push_back(MakeUser(t.id, "ta", AdminLevel::kTenantAdmin));
    Grant(t.id, people.back().user.id, "r", {{"Customers", kRead | kUpdate}});
  }
  Share(tenants[0].id, "ab", tenants[1].id, people[1].user.id);
  Grant(tenants[2].id, people[0].user.id, "guest", {{"*", kRead}}, true, tenants[0].id);
  PermissionSet set;
  set.name = "mixed";
  set.system_scope = true;
  set.policies = {{Effect::kDeny, "records/Customers", "deleteRecord", ".*"},
                  {Effect::kDeny, "admin/roles", ".*", "POST"},
                  {Effect::kAllow, ".*", ".*", ".*"}};
  ASSERT_TRUE(psets_->Create(set).ok());
  ASSERT_TRUE(psets_->Delete("allow-all").ok());
  const std::vector<Api> apis = {Api::kGetRecord,   Api::kAddRecord,   Api::kUpdateRecord, Api::kDeleteRecord,
                                 Api::kSearchRecords, Api::kCreateRole, Api::kListRoles,   Api::kCreateObject,
                                 Api::kListUsers,   Api::kCreatePolicy, Api::kQueryAudit,  Api::kListTenants};
  const std::vector<std::string> objects = {"Customers", "Orders"};
  int allowed = 0, denied = 0;
  for (int i = 0; i < 3000; ++i) {
    const Person& p = people[rng() % people.size()];
    TenantId t = rng() % 4 == 0 ? 0 : tenants[rng() % tenants.size()].id;
    Api api = apis[rng() % apis.size()];
    std::string object = objects[rng() % objects.size()];
    ExplainRequest req;
    req.user = p.user.id;
    req.tenant = t;
    req.api = std::string(ApiName(api));
    req.object = object;
    auto e = gate_->Explain(sysadmin_cred_, req);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    Status real;
    if (IsRecordApi(api)) {
      real = Decide(p, api, t, object)->verdict();
    } else {
      real = Admin(p, api, t);
    }
    ASSERT_EQ(e->allowed, real.ok()) << req.api << " by user " << p.user.id << " on " << t << ": "
                                     << e->verdict.ToString() << " vs " << real.ToString();
    ASSERT_EQ(e->verdict.ToString(), real.ToString()) << req.api;
    (real.ok() ? allowed : denied)++;
  }
  // The tuples exercise both outcomes.
  EXPECT_GT(allowed, 300);
  EXPECT_GT(denied, 300);
}

TEST_F(GateTest, UpdatePolicyCannotChangeTheDesignatedTenant) {
  auto pub = Tenant("pub");
  auto sub = Tenant("sub");
  auto third = Tenant("third");
  Person shared = MakeUser(pub.id, "shared");
  Policy p = Share(pub.id, "share", sub.id, shared.user.id);
  p.designated = third.id;
  Policy out;
  Status s = sharing_->UpdatePolicy(pub.id, p, &out);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("delete it and create one"), std::string::npos) << s.message();
  p.designated = 0;  // unnamed: unchanged
  p.expires_at = kStart + kSecond;
  ASSERT_TRUE(sharing_->UpdatePolicy(pub.id, p, &out).ok());
  EXPECT_EQ(out.designated, sub.id);
  p.global = true;
  EXPECT_TRUE(sharing_->UpdatePolicy(pub.id, p, &out).IsInvalidArgument());
}

// What a permission-set author reads: docs/PERMISSIONS.md names every resource type and
// every API name the gate evaluates, so a new API cannot ship undocumented.
TEST(PermissionReference, NamesEveryResourceTypeAndApi) {
  std::ifstream in(std::string(COTENANT_SOURCE_DIR) + "/docs/PERMISSIONS.md");
  ASSERT_TRUE(in) << "docs/PERMISSIONS.md not found";
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    auto api = static_cast<Api>(i);
    ApiAccess access = AccessOf(api);
    if (access.resource.empty()) continue;  // hands out capabilities, not evaluated
    std::string name = "`" + std::string(ApiName(api)) + "`";
    EXPECT_NE(doc.find(name), std::string::npos) << name << " is not in docs/PERMISSIONS.md";
    if (!IsRecordApi(api)) {
      std::string resource = "`" + std::string(access.resource) + "`";
      EXPECT_NE(doc.find(resource), std::string::npos)
          << resource << " (" << ApiName(api) << ") is not in docs/PERMISSIONS.md";
    }
  }
}

}  // namespace
}  // namespace cotenant::sharing
