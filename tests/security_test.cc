// End-to-end: what one tenant can learn about another through administrative calls and
// explain. Each pair of calls asks about something that exists and something that does
// not; the answers must be the same, byte for byte.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "schemas/cotenant.capnp.h"
#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr uint64_t kNoSuchTenant = 987654321;
constexpr uint64_t kNoSuchUser = 987654322;

// Everything an Explanation says, in one string.
std::string Text(const Outcome<Explanation>& e) {
  if (!e.ok()) return std::string(errorCodeName(e.getCode())) + ": " + e.getMessage();
  const Explanation& x = e.value();
  std::string s = x.code + "|" + x.message + "|" + x.contextPath + "|" + x.policy + "|" +
                  std::to_string(x.principal) + "|" + x.decidingSet + "|" + x.roleRights + "|" + x.scope;
  for (const auto& c : x.permissionSets) s += "|set " + c.name;
  for (const auto& step : x.steps) s += "|" + step;
  return s;
}

template <typename R>
std::string Text(const R& r) {
  return std::string(errorCodeName(r.getCode())) + ": " + r.getMessage();
}

class SecurityTest : public SharedServerTest<SecurityTest> {
 protected:
  // A plain user of `t` with read on Customers.
  static uint64_t Reader(TenantHandle& t, const std::string& name) {
    auto u = t.client->createUser(0, name, AdminLevel::User);
    EXPECT_TRUE(u.ok()) << u.getMessage();
    if (!u.ok()) return 0;
    auto roles = t.client->listRoles(0);
    bool have = roles.ok() && std::any_of(roles.value().begin(), roles.value().end(),
                                          [](const RoleInfo& r) { return r.name == "reader"; });
    if (!have) EXPECT_TRUE(t.client->createRole(0, "reader", {{"Customers", Rights{true, false, false, false}}}).ok());
    EXPECT_TRUE(t.client->addRoleMember(0, "reader", t.id, u.value().user.id).ok());
    return u.value().user.id;
  }
};


TEST_F(SecurityTest, ExplainTellsNothingAboutOtherTenants) {
  TenantHandle prober = Tenant("sec-prober");
  TenantHandle victim = Tenant("sec-victim");
  uint64_t victim_user = Reader(victim, "victim-reader");

  // A draft policy "saved" in another tenant: refused alike whether that tenant, its user
  // and its object exist or not.
  auto draft = [&](uint64_t tenant, uint64_t user, const std::string& object) {
    ExplainRequest req;
    req.tenantId = tenant;
    req.api = "getRecord";
    req.object = object;
    PolicyInfo p;
    p.name = "probe";
    p.designated = prober.id;
    p.userId = user;
    p.scope = {{object, "", {}}};
    req.draftPolicy = p;
    return Text(prober.client->explain(req));
  };
  std::string live = draft(victim.id, victim_user, "Customers");
  EXPECT_NE(live.find("PermissionDenied"), std::string::npos) << live;
  EXPECT_EQ(live, draft(kNoSuchTenant, victim_user, "Customers"));
  EXPECT_EQ(live, draft(victim.id, kNoSuchUser, "Customers"));
  EXPECT_EQ(live, draft(victim.id, victim_user, "NoSuchObject"));

  // Explaining a user id: another tenant's user and a missing one answer alike.
  auto of_user = [&](uint64_t user) {
    ExplainRequest req;
    req.userId = user;
    req.api = "getRecord";
    req.object = "Customers";
    return Text(prober.client->explain(req));
  };
  EXPECT_EQ(of_user(victim_user), of_user(kNoSuchUser));
  EXPECT_NE(of_user(victim_user).find("PermissionDenied"), std::string::npos);

  // A context to a tenant without a policy for us, and to no tenant at all.
  auto context = [&](uint64_t tenant) {
    ExplainRequest req;
    req.tenantId = tenant;
    req.api = "getRecord";
    req.object = "Customers";
    std::string s = Text(prober.client->explain(req));
    std::string id = std::to_string(tenant);
    for (size_t at; (at = s.find(id)) != std::string::npos;) s.replace(at, id.size(), "<t>");
    return s;
  };
  EXPECT_EQ(context(victim.id), context(kNoSuchTenant));
}

TEST_F(SecurityTest, AdminCallsAnswerAlikeForLiveAndMissingTenantsAndUsers) {
  TenantHandle a = Tenant("sec-a");
  TenantHandle b = Tenant("sec-b");
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "true").ok());
  uint64_t b_user = Reader(b, "b-reader");
  uint64_t a_user = Reader(a, "a-shared");
  ASSERT_TRUE(a.client->createRole(0, "partners", {{"Customers", Rights{true, false, false, false}}}, true).ok());

  // addRoleMember of another tenant's user: live and missing answer alike.
  Result live_member = a.client->addRoleMember(0, "partners", b.id, b_user);
  Result missing_member = a.client->addRoleMember(0, "partners", b.id, kNoSuchUser);
  EXPECT_EQ(Text(live_member), Text(missing_member));
  EXPECT_TRUE(live_member.ok()) << live_member.getMessage();
  // ... and so does a non-cross-tenant role.
  std::string plain_live = Text(a.client->addRoleMember(0, "reader", b.id, b_user));
  std::string plain_missing = Text(a.client->addRoleMember(0, "reader", b.id, kNoSuchUser));
  EXPECT_EQ(plain_live, plain_missing);
  EXPECT_NE(plain_live.find("InvalidArgument"), std::string::npos) << plain_live;

  // createPolicy designating a live and a missing tenant.
  PolicyInfo p;
  p.userId = a_user;
  p.name = "to-b";
  p.designated = b.id;
  auto live_policy = a.client->createPolicy(0, p);
  p.name = "to-nobody";
  p.designated = kNoSuchTenant;
  auto missing_policy = a.client->createPolicy(0, p);
  ASSERT_TRUE(live_policy.ok()) << live_policy.getMessage();
  ASSERT_TRUE(missing_policy.ok()) << missing_policy.getMessage();
  EXPECT_EQ(live_policy.value().designated, b.id);
  EXPECT_EQ(missing_policy.value().designated, kNoSuchTenant);
  // Errors after existence would be checked answer alike too (a foreign policy user).
  p.userId = b_user;
  p.name = "bad-user-live";
  p.designated = b.id;
  std::string bad_live = Text(a.client->createPolicy(0, p));
  p.designated = kNoSuchTenant + 1;
  std::string bad_missing = Text(a.client->createPolicy(0, p));
  auto strip = [](std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), ::isdigit), s.end());
    return s;
  };
  EXPECT_EQ(strip(bad_live), strip(bad_missing));
}

// A policy or membership accepted for a tenant or user that did not exist grants nothing,
// also not to one created later under that id.
TEST_F(SecurityTest, PoliciesAndMembershipsForMissingIdsStayDormant) {
  TenantHandle a = Tenant("dormant-a");
  ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "true").ok());
  uint64_t a_user = Reader(a, "dormant-shared");
  ASSERT_TRUE(a.client->createRole(0, "guests", {{"Customers", Rights::all()}}, true).ok());
  ASSERT_TRUE(a.client->addRecord("Customers", Parameters().add("first_name", "secret")).ok());

  // The next tenant id, as the allocator will hand it out.
  auto probe = admin_->createTenant("dormant-probe", TenantKind::Tenant, 0);
  ASSERT_TRUE(probe.ok());
  uint64_t next_tenant = probe.value().id + 1;
  PolicyInfo p;
  p.name = "early";
  p.designated = next_tenant;
  p.userId = a_user;
  ASSERT_TRUE(a.client->createPolicy(0, p).ok());
  TenantHandle late = Tenant("dormant-late");
  ASSERT_EQ(late.id, next_tenant) << "tenant ids are not handed out in order; the test needs them to be";
  // The early policy admits nobody and is not listed for the new tenant.
  EXPECT_THROW(TenantContext(*late.client, a.id), Error);
  auto listed = late.client->listPolicies(0, late.id);
  ASSERT_TRUE(listed.ok()) << listed.getMessage();
  EXPECT_TRUE(listed.value().empty());

  // A membership for the next user id.
  auto u = late.client->createUser(0, "probe-user", AdminLevel::User);
  ASSERT_TRUE(u.ok());
  uint64_t next_user = u.value().user.id + 1;
  ASSERT_TRUE(a.client->addRoleMember(0, "guests", late.id, next_user).ok());
  auto late_user = late.client->createUser(0, "late-user", AdminLevel::User);
  ASSERT_TRUE(late_user.ok());
  ASSERT_EQ(late_user.value().user.id, next_user);
  auto as_late = Client::connect(server_->address(), late.id, late_user.value().apiKey);
  EXPECT_THROW(TenantContext(*as_late, a.id), Error);
  // Removing the dormant membership works like removing any other.
  EXPECT_TRUE(a.client->removeRoleMember(0, "guests", late.id, next_user).ok());
}

TEST_F(SecurityTest, TheDesignatedSideSeesNoHiddenFieldOrFilter) {
  TenantHandle pub = Tenant("hide-pub");
  TenantHandle sub = Tenant("hide-sub");
  auto shared = pub.client->createUser(0, "hide-shared", AdminLevel::User);
  ASSERT_TRUE(shared.ok());
  ASSERT_TRUE(pub.client->createRole(0, "rw", {{"Customers", Rights::all()}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "rw", pub.id, shared.value().user.id).ok());
  PolicyInfo p;
  p.name = "narrow";
  p.designated = sub.id;
  p.userId = shared.value().user.id;
  // first_name (required) and vip are hidden; the filter constrains the hidden vip.
  p.scope = {{"Customers", "vip = true", {"last_name", "age"}}};
  auto created = pub.client->createPolicy(0, p);
  ASSERT_TRUE(created.ok()) << created.getMessage();

  auto listed = sub.client->listPolicies(0, sub.id);
  ASSERT_TRUE(listed.ok()) << listed.getMessage();
  ASSERT_EQ(listed.value().size(), 1u);
  ASSERT_EQ(listed.value()[0].scope.size(), 1u);
  EXPECT_EQ(listed.value()[0].scope[0].rowFilter.find("vip"), std::string::npos);
  EXPECT_EQ(listed.value()[0].scope[0].fields, (std::vector<std::string>{"last_name", "age"}));
  // The publisher still sees its own filter.
  auto own = pub.client->listPolicies(pub.id, 0);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own.value()[0].scope[0].rowFilter, "vip = true");

  ExplainRequest req;
  req.tenantId = pub.id;
  req.api = "getRecord";
  req.object = "Customers";
  std::string explained = Text(sub.client->explain(req));
  EXPECT_NE(explained.find("OK"), std::string::npos) << explained;
  EXPECT_EQ(explained.find("vip"), std::string::npos) << explained;
  EXPECT_EQ(explained.find("first_name"), std::string::npos) << explained;

  // Adding through the scope cannot name the hidden required field.
  TenantContext ctx(*sub.client, pub.id);
  Result add = sub.client->addRecord("Customers", Parameters().add("last_name", "x"), ctx);
  EXPECT_EQ(add.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(add.getMessage().find("first_name"), std::string::npos) << add.getMessage();

  // A policy whose user lost its role admits nobody, and says no more than no policy.
  ASSERT_TRUE(pub.client->removeRoleMember(0, "rw", pub.id, shared.value().user.id).ok());
  auto refusal = [&](uint64_t tenant) {
    try {
      TenantContext c(*sub.client, tenant);
      return std::string("admitted");
    } catch (const Error& e) {
      std::string m = e.message();
      std::string id = std::to_string(tenant);
      for (size_t at; (at = m.find(id)) != std::string::npos;) m.replace(at, id.size(), "<t>");
      return m;
    }
  };
  EXPECT_EQ(refusal(pub.id), refusal(kNoSuchTenant));
  EXPECT_EQ(refusal(pub.id).find(std::to_string(shared.value().user.id)), std::string::npos);
}

TEST_F(SecurityTest, TenantAdminsSeeOnlyTheirShareOfPermissionSetsAndNeverLockOutSystemAdmins) {
  TenantHandle a = Tenant("ps-a");
  TenantHandle b = Tenant("ps-b");
  uint64_t a_user = Reader(a, "ps-a-user");
  uint64_t b_user = Reader(b, "ps-b-user");
  PermissionSetInfo only_b;
  only_b.name = "only-b-lockdown";
  only_b.systemScope = true;
  only_b.tenants = {b.id};
  only_b.policies = {{Effect::Allow, ".*", ".*", ".*"}};
  ASSERT_TRUE(admin_->createPermissionSet(only_b).ok());
  PermissionSetInfo mixed;
  mixed.name = "mixed-users";
  mixed.allTenants = true;
  mixed.users = {a_user, b_user};
  mixed.policies = {{Effect::Allow, ".*", ".*", ".*"}};
  ASSERT_TRUE(admin_->createPermissionSet(mixed).ok());

  auto sets = a.client->listPermissionSets();
  ASSERT_TRUE(sets.ok()) << sets.getMessage();
  bool saw_mixed = false;
  for (const auto& s : sets.value()) {
    EXPECT_NE(s.name, "only-b-lockdown");
    EXPECT_EQ(std::count(s.tenants.begin(), s.tenants.end(), b.id), 0) << s.name;
    EXPECT_EQ(std::count(s.users.begin(), s.users.end(), b_user), 0) << s.name;
    if (s.name == "mixed-users") {
      saw_mixed = true;
      EXPECT_EQ(s.users, std::vector<uint64_t>{a_user});
    }
  }
  EXPECT_TRUE(saw_mixed);
  auto all = admin_->listPermissionSets();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(std::any_of(all.value().begin(), all.value().end(),
                          [](const PermissionSetInfo& s) { return s.name == "only-b-lockdown"; }));

  // A system admin whose home tenant is b: b's tenant admin cannot revoke its key.
  auto sys = admin_->createUser(b.id, "b-operator", AdminLevel::SystemAdmin);
  ASSERT_TRUE(sys.ok()) << sys.getMessage();
  auto keys = admin_->listApiKeys(b.id, sys.value().user.id);
  ASSERT_TRUE(keys.ok() && !keys.value().empty());
  Result revoke = b.client->revokeApiKey(0, keys.value()[0].keyId);
  EXPECT_EQ(revoke.getCode(), ErrorCode::PermissionDenied) << revoke.getMessage();
  auto still = Client::connect(server_->address(), b.id, sys.value().apiKey);
  EXPECT_TRUE(still->whoami().ok());
}

}  // namespace
}  // namespace cotenant::testing

namespace cotenant::testing {
namespace {

ErrorCode LoginCode(const Cotenantd& server, uint64_t tenant, const std::string& key, std::string* message) {
  try {
    Client::connect(server.address(), tenant, key);
    return ErrorCode::OK;
  } catch (const Error& e) {
    *message = e.message();
    return e.code();
  }
}

// `n` logins with wrong keys, each of which must be refused as Unauthenticated.
void FailLogins(const Cotenantd& server, uint64_t tenant, int n) {
  std::string message;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(LoginCode(server, tenant, "ck_0000000000000000_guess" + std::to_string(i), &message),
              ErrorCode::Unauthenticated) << message;
  }
}

TEST(LoginThrottling, AnAddressThatKeepsFailingIsLockedOutAndCountedNotLoggedPerGuess) {
  // A lockout far longer than the test, so the flood below never outlasts it however slow
  // the machine is.
  Cotenantd server({"--login-failures-per-address", "3", "--login-lockout-ms", "600000"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "throttled");
  std::string message;
  FailLogins(server, t.id, 4);
  // Locked out: not even the right key is checked, and the answer says how long to wait.
  EXPECT_EQ(LoginCode(server, t.id, t.key, &message), ErrorCode::ResourceExhausted);
  EXPECT_NE(message.find("too many failed logins"), std::string::npos) << message;
  EXPECT_NE(message.find("retry in 600 s"), std::string::npos) << message;
  for (int i = 0; i < 200; ++i) (void)LoginCode(server, t.id, "ck_guess", &message);
  std::string metrics = HttpGet(server.http_port(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "cotenant_login_failures_total"), 4u) << metrics.substr(0, 300);
  EXPECT_EQ(MetricValue(metrics, "cotenant_login_throttled_total"), 201u);
  // Open sessions are untouched.
  EXPECT_TRUE(t.client->whoami().ok());
  // No log line per guess.
  std::string log = server.log();
  size_t lines = 0;
  for (size_t at = 0; (at = log.find("login", at)) != std::string::npos; ++at) ++lines;
  EXPECT_LT(lines, 20u) << log.substr(0, 2000);
}

// A login made with the wire protocol over a connection from `source` (the SDK always
// connects from the default address): "" when it succeeded, otherwise the server's error.
std::string LoginFrom(const char* source, int port, uint64_t tenant, const std::string& key) {
  int fd = ConnectLoopback(port, 10, source);
  if (fd < 0) return std::string("cannot connect from ") + source;
  auto io = kj::setupAsyncIo();
  auto stream = io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  capnp::TwoPartyClient rpc(*stream);
  auto req = rpc.bootstrap().castAs<wire::Cotenant>().loginRequest();
  req.setTenantId(tenant);
  req.setApiKey(key);
  std::string error;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { req.send().wait(io.waitScope); })) {
    error = e->getDescription().cStr();
  }
  return error;
}

TEST(LoginThrottling, ATenantUnderAttackRefusesOnlyTheAddressesThatFailOnIt) {
  // The per-tenant allowance is far below the per-address one: the lockout below comes
  // from the tenant's count alone.
  Cotenantd server({"--login-failures-per-address", "1000", "--login-failures-per-tenant", "3",
                    "--login-lockout-ms", "600000"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle attacked = MakeTenant(server, *admin, "attacked");
  TenantHandle other = MakeTenant(server, *admin, "bystander");
  std::string message;
  FailLogins(server, attacked.id, 4);
  // The attacking address is refused on that tenant, before its key is checked...
  EXPECT_EQ(LoginCode(server, attacked.id, attacked.key, &message), ErrorCode::ResourceExhausted);
  EXPECT_NE(message.find("too many failed logins from 127.0.0.1"), std::string::npos) << message;
  // ...but is under its own allowance, so another tenant still lets it in.
  EXPECT_EQ(LoginCode(server, other.id, other.key, &message), ErrorCode::OK) << message;
  // An address that has not failed is served on the attacked tenant: an attacker cannot
  // lock a tenant's users out. The same address still fails with a wrong key, like anyone.
  EXPECT_EQ(LoginFrom("127.0.0.2", server.port(), attacked.id, attacked.key), "");
  const std::string wrong = LoginFrom("127.0.0.3", server.port(), attacked.id, "ck_guess");
  EXPECT_NE(wrong.find("cotenant:Unauthenticated: "), std::string::npos) << wrong;
  // That failure is the tenant's fifth: 127.0.0.3 has failed recently, so it is refused now.
  const std::string refused = LoginFrom("127.0.0.3", server.port(), attacked.id, attacked.key);
  EXPECT_NE(refused.find("cotenant:ResourceExhausted: too many failed logins from 127.0.0.3"),
            std::string::npos) << refused;
  std::string metrics = HttpGet(server.http_port(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "cotenant_login_failures_total"), 5u) << metrics.substr(0, 300);
  EXPECT_EQ(MetricValue(metrics, "cotenant_login_throttled_total"), 2u);
}

TEST(LoginThrottling, TheLockoutEnds) {
  Cotenantd server({"--login-failures-per-address", "1", "--login-lockout-ms", "1000"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "briefly-throttled");
  std::string message;
  FailLogins(server, t.id, 2);
  auto locked_at = std::chrono::steady_clock::now();
  ErrorCode early = LoginCode(server, t.id, t.key, &message);
  // Only meaningful when the machine answered within the lockout.
  if (std::chrono::steady_clock::now() - locked_at < std::chrono::milliseconds(900)) {
    EXPECT_EQ(early, ErrorCode::ResourceExhausted) << message;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(LoginCode(server, t.id, t.key, &message), ErrorCode::OK) << message;
}

// The largest "N refused while locked out" of the summary lines in a server log.
uint64_t MostRefusedInASummary(const std::string& log) {
  static const std::regex kRefused("login: [0-9]+ failed from [0-9]+\\+? address\\(es\\), ([0-9]+) refused while locked out");
  uint64_t most = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), kRefused), end; it != end; ++it) {
    most = std::max<uint64_t>(most, std::stoull((*it)[1].str()));
  }
  return most;
}

TEST(LoginThrottling, LoginsRefusedDuringALockoutAreSummarizedInTheLog) {
  // An attacker who keeps knocking on a locked door makes no failed login (its key is
  // never checked), only refusals: those alone must still reach the log.
  Cotenantd server({"--login-failures-per-address", "1", "--login-lockout-ms", "600000",
                    "--login-summary-interval-ms", "100"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "knocked");
  std::string message;
  FailLogins(server, t.id, 2);
  for (int i = 0; i < 30 && MostRefusedInASummary(server.log()) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    EXPECT_EQ(LoginCode(server, t.id, t.key, &message), ErrorCode::ResourceExhausted) << message;
  }
  EXPECT_GE(MostRefusedInASummary(server.log()), 1u) << server.log();
}

TEST(LoginThrottling, TheSummaryIntervalIsChecked) {
  TempDir dir;
  ToolResult r = RunTool(BinaryPath("cotenantd"),
                         {"--data", dir.path() + "/data", "--login-summary-interval-ms", "0"}, {},
                         dir.path());
  EXPECT_NE(r.code, 0) << r;
  EXPECT_NE(r.err.find("--login-summary-interval-ms"), std::string::npos) << r;
}

TEST(OpsMetrics, PerTenantSeriesOnlyWhenAskedFor) {
  Cotenantd quiet;
  ASSERT_TRUE(quiet.ok()) << quiet.log();
  auto admin = AdminClient(quiet);
  TenantHandle t = MakeTenant(quiet, *admin, "unlisted");
  ASSERT_TRUE(t.client->addRecord("Customers", Parameters().add("first_name", "x")).ok());
  std::string metrics = HttpGet(quiet.http_port(), "/metrics");
  EXPECT_NE(metrics.find("cotenant_requests_total"), std::string::npos);
  EXPECT_EQ(metrics.find("cotenant_tenant_"), std::string::npos);
  EXPECT_EQ(metrics.find("tenant=\""), std::string::npos);

  Cotenantd listed({"--metrics-per-tenant"});
  ASSERT_TRUE(listed.ok()) << listed.log();
  auto admin2 = AdminClient(listed);
  TenantHandle t2 = MakeTenant(listed, *admin2, "listed");
  ASSERT_TRUE(t2.client->addRecord("Customers", Parameters().add("first_name", "x")).ok());
  metrics = HttpGet(listed.http_port(), "/metrics");
  EXPECT_NE(metrics.find("cotenant_tenant_records{tenant=\"" + std::to_string(t2.id) + "\"} 1"),
            std::string::npos);
}

// The first scrape after a start counts each tenant's records; writes go on meanwhile.
TEST(OpsMetrics, TheFirstScrapeCountsWithoutHoldingWritesBack) {
  Cotenantd server({"--metrics-per-tenant"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "counted");
  constexpr int kBatch = 500, kBatches = 200;
  const std::vector<Parameters> batch(kBatch, Parameters().add("first_name", "n"));
  for (int i = 0; i < kBatches; ++i) ASSERT_TRUE(t.client->addRecords("Customers", batch).ok());
  const int64_t loaded = int64_t{kBatch} * kBatches;

  std::atomic<int64_t> acknowledged{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      if (t.client->addRecord("Customers", Parameters().add("first_name", "w")).ok()) ++acknowledged;
    }
  });
  while (acknowledged.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string series = "cotenant_tenant_records{tenant=\"" + std::to_string(t.id) + "\"}";
  const int64_t before = acknowledged.load();
  const auto started = std::chrono::steady_clock::now();
  const std::string first = HttpGet(server.http_port(), "/metrics");
  const auto took = std::chrono::steady_clock::now() - started;
  const int64_t after = acknowledged.load();
  stop = true;
  writer.join();

  // The count is of one moment during the scrape: every write acknowledged before it
  // began, and none sent after it ended. The writer has one write in flight at a time,
  // which may be counted before its answer arrives: at most one more than acknowledged.
  const int64_t scraped = static_cast<int64_t>(MetricValue(first, series));
  EXPECT_GE(scraped, loaded + before) << first.substr(0, 500);
  EXPECT_LE(scraped, loaded + after + 1) << first.substr(0, 500);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  std::printf("first scrape: %lld ms, %lld writes acknowledged meanwhile\n",
              static_cast<long long>(ms), static_cast<long long>(after - before));
  // A scrape that took a second held no write back for all of it (writes to the tenant
  // wait for nothing else here).
  if (ms >= 1000) {
    EXPECT_GT(after - before, 0);
  }
  // Later scrapes keep the count up to date exactly.
  const std::string second = HttpGet(server.http_port(), "/metrics");
  EXPECT_EQ(static_cast<int64_t>(MetricValue(second, series)), loaded + acknowledged.load())
      << second.substr(0, 500);
}

}  // namespace
}  // namespace cotenant::testing
