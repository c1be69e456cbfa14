// Several front-ends on one store: two real cotenantd processes with the same PostgreSQL
// store (--storage) and the same memcached, each with its own --data directory.
//
// 1. The revocation race across front-ends: the main thread grants and revokes on front-end
//    1 while the workers call getRecord through a TenantContext on front-end 2, both with
//    warm caches (their own in-process tier and the shared memcached). The phase protocol
//    is the one-server race's (revocation_support.h): a success seen in REVOKED(r) before
//    and after the call is a violation. 10,000 rounds over four kinds of revocation.
// 2. Concurrent writers on both front-ends: record ids, object ids and tenant ids are never
//    handed out twice, a unique value is taken by one record only, updates that expect a
//    version never both succeed, and usage counts every call of both.
// 3. Changes on one front-end are seen by the next call on the other: a tenant, an object,
//    a user and its key, a permission set.
//
// PostgreSQL only: the embedded engine is one process's (the suite skips itself there).

#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/revocation_support.h"

namespace cotenant::testing {
namespace {

constexpr int kWorkers = 3;
// The safety net of each race: its rounds normally end well before, and it is below the
// test's ctest timeout (600 s).
constexpr int kRaceSeconds = 240;

class FrontEndsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!OnPostgresql()) return;
    memcached_ = new Memcached();
    ASSERT_TRUE(memcached_->ok());
    first_ = new Cotenantd({"--memcached", memcached_->address()});
    ASSERT_TRUE(first_->ok()) << first_->log();
    // The second front-end: its own directory, the first one's store.
    // with the cache secret the first one made (shared by every front-end, so an entry one
    // puts in memcached is one the others verify).
    second_ = new Cotenantd({"--memcached", memcached_->address(), "--storage",
                             TestStorageUri(first_->data_dir() + "/data"), "--cache-secret-file",
                             first_->data_dir() + "/data/cache.secret"});
    ASSERT_TRUE(second_->ok()) << second_->log();
    admin_ = AdminClient(*first_).release();
    admin2_ = Client::connect(second_->address(), 1, first_->admin_key()).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    delete admin2_;
    delete second_;
    delete first_;
    delete memcached_;
    admin_ = admin2_ = nullptr;
    second_ = first_ = nullptr;
    memcached_ = nullptr;
  }

  void SetUp() override {
    if (!OnPostgresql()) GTEST_SKIP() << "several front-ends need a shared (PostgreSQL) store";
    if (!first_ || !first_->ok() || !second_ || !second_->ok()) GTEST_SKIP() << "no servers";
  }

  // A share made on front-end 1, reached from front-end 2.
  void MakeRace(const std::string& tag) {
    s_ = MakeShare(*first_, *admin_, tag);
    ASSERT_NE(s_.record, 0u);
    target_ = Target{s_.abc.id, s_.record, s_.first_name};
    caller_ = Client::connect(second_->address(), s_.xyz.id, s_.caller_key);
    std::string why;
    ASSERT_EQ(ContextCall(*caller_, s_.abc.id, s_.record, s_.first_name, &why), ErrorCode::OK) << why;
  }

  std::vector<ClientSlot> SecondSlots() { return CallerSlots(second_->address(), s_, kWorkers); }

  void Check(const std::string& kind, uint64_t rounds, const RaceResult& res, Tally& t) {
    std::cout << "[front-ends race " << kind << "] rounds=" << res.rounds
              << " seconds=" << res.seconds << " calls=" << t.calls << " ok=" << t.succeeded
              << " revoked_window=" << t.revoked_window << " granted_window=" << t.granted_window
              << " violations=" << t.violations << " stale_denials=" << t.stale_denials
              << " busy=" << t.busy << std::endl;
    RecordProperty("rounds", static_cast<int>(res.rounds));
    EXPECT_EQ(res.rounds, rounds) << "the race stopped early";
    ExpectExactRace(res, t);
  }

  void Race(const std::string& kind, uint64_t rounds, const RaceSteps& steps,
            std::vector<ClientSlot>& slots);

  static Memcached* memcached_;
  static Cotenantd* first_;
  static Cotenantd* second_;
  static Client* admin_;   // on front-end 1
  static Client* admin2_;  // the same admin on front-end 2
  Share s_;
  Target target_;
  std::unique_ptr<Client> caller_;
};

Memcached* FrontEndsTest::memcached_ = nullptr;
Cotenantd* FrontEndsTest::first_ = nullptr;
Cotenantd* FrontEndsTest::second_ = nullptr;
Client* FrontEndsTest::admin_ = nullptr;
Client* FrontEndsTest::admin2_ = nullptr;

// ---- 1. The revocation race across front-ends: 3000 + 3000 + 2000 + 2000 rounds --------

// Revokes with `steps` on front-end 1 while the workers call on front-end 2.
void FrontEndsTest::Race(const std::string& kind, uint64_t rounds, const RaceSteps& steps,
                         std::vector<ClientSlot>& slots) {
  Tally tally;
  RaceResult res =
      RunRace(kind, rounds, slots, target_, steps.grant, steps.revoke, tally, kRaceSeconds);
  Check(kind, rounds, res, tally);
}

TEST_F(FrontEndsTest, RaceAPolicyDeletedOnOneFrontEndIsExactOnTheOther) {
  MakeRace("fe-policy");
  if (HasFatalFailure()) return;
  RaceSteps steps = PolicyDeletedSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  auto slots = SecondSlots();
  Race("policy-deleted", Rounds(3000), steps, slots);
}

TEST_F(FrontEndsTest, RaceARoleLosingItsReadRightOnOneFrontEndIsExactOnTheOther) {
  MakeRace("fe-role");
  if (HasFatalFailure()) return;
  RaceSteps steps = RoleLosesReadSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  target_.ctor_sees_revocation = false;
  auto slots = SecondSlots();
  Race("role-loses-read", Rounds(3000), steps, slots);
}

TEST_F(FrontEndsTest, RaceAKeyRevokedOnOneFrontEndEndsItsSessionsOnTheOther) {
  MakeRace("fe-key");
  if (HasFatalFailure()) return;
  Client& xyz = *s_.xyz.client;
  auto keys = xyz.listApiKeys(0, s_.caller);
  ASSERT_TRUE(keys.ok()) << keys.getMessage();
  for (const auto& k : keys.value()) ASSERT_TRUE(xyz.revokeApiKey(0, k.keyId).ok());
  std::vector<ClientSlot> slots(kWorkers);  // filled by each grant, on front-end 2
  Race("caller-key-revoked", Rounds(2000), CallerKeyRevokedSteps(s_, &slots, second_->address()),
       slots);
}

TEST_F(FrontEndsTest, RaceARoleMembershipRemovedOnOneFrontEndIsExactOnTheOther) {
  MakeRace("fe-member");
  if (HasFatalFailure()) return;
  RaceSteps steps = MembershipRemovedSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  target_.ctor_sees_revocation = false;
  auto slots = SecondSlots();
  Race("membership-removed", Rounds(2000), steps, slots);
}

// ---- 2. Concurrent writers on both front-ends --------------------------------------------

// A tenant with a tenant admin who may also read and write every object's records.
struct Writer {
  uint64_t tenant = 0;
  uint64_t user = 0;
  std::string key;
};
Writer MakeWriter(Client& admin, const std::string& name) {
  Writer w;
  auto t = admin.createTenant(name, TenantKind::Tenant, 0);
  EXPECT_TRUE(t.ok()) << t.getMessage();
  if (!t.ok()) return w;
  w.tenant = t.value().id;
  auto u = admin.createUser(w.tenant, name + "-admin", AdminLevel::TenantAdmin);
  EXPECT_TRUE(u.ok()) << u.getMessage();
  if (!u.ok()) return w;
  w.user = u.value().user.id;
  w.key = u.value().apiKey;
  auto role = admin.createRole(w.tenant, "all", {{"*", Rights::all()}});
  EXPECT_TRUE(role.ok()) << role.getMessage();
  Result member = admin.addRoleMember(w.tenant, "all", w.tenant, w.user);
  EXPECT_TRUE(member.ok()) << member.getMessage();
  return w;
}

std::vector<FieldDef> Fields() {
  return {{"code", FieldType::Text, false, true, true}, {"n", FieldType::Int, false, false, false}};
}

// Sends a write until it is not Busy (a condition of the write failed because another
// front-end changed what it read at the same moment: the call is sent again).
template <typename F>
auto UntilNotBusy(F f) {
  for (int i = 0;; ++i) {
    auto r = f();
    if (r.ok() || r.getCode() != ErrorCode::Busy || i == 50) return r;
  }
}

TEST_F(FrontEndsTest, WritersOnBothFrontEndsNeverShareAnIdAUniqueValueOrAVersion) {
  Writer wr = MakeWriter(*admin_, "writers");
  ASSERT_NE(wr.key, "");
  uint64_t tenant = wr.tenant;
  std::unique_ptr<Client> on[2] = {
      Client::connect(first_->address(), tenant, wr.key),
      Client::connect(second_->address(), tenant, wr.key)};
  auto made = on[0]->createObject(0, "Items", Fields());
  ASSERT_TRUE(made.ok()) << made.getMessage();
  // The object made on front-end 1 is there on front-end 2 at once.
  ASSERT_TRUE(on[1]->describeObject("Items").ok());

  // Adds from both front-ends at once; every third add reuses a code the other side
  // also tries, so unique values meet.
  constexpr int kPerThread = 150;
  std::vector<std::vector<uint64_t>> ids(4);
  std::vector<int> conflicts(4, 0);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      auto c = Client::connect((w % 2 == 0 ? first_ : second_)->address(), tenant,
                               wr.key);
      for (int i = 0; i < kPerThread; ++i) {
        std::string code = i % 3 == 0 ? "shared-" + std::to_string(i) : "w" + std::to_string(w) +
                                                                          "-" + std::to_string(i);
        Result r = UntilNotBusy(
            [&] { return c->addRecord("Items", Parameters().add("code", code).add("n", 0)); });
        if (r.ok()) {
          ids[w].push_back(r.getId());
        } else if (r.getCode() == ErrorCode::Conflict) {
          ++conflicts[w];
        } else if (errors[w].empty()) {
          errors[w] = r.getMessage();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  std::set<uint64_t> all;
  size_t added = 0;
  for (const auto& v : ids) {
    added += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), added) << "a record id was handed out twice";
  // Each shared code went to exactly one record: 50 shared codes, four tries each.
  int conflict_total = 0;
  for (int c : conflicts) conflict_total += c;
  EXPECT_EQ(conflict_total, 3 * (kPerThread / 3));
  EXPECT_EQ(added, static_cast<size_t>(4 * kPerThread - conflict_total));
  Result page = on[1]->searchRecords("Items", "", "", "", "asc", "", "asc", 0, 1000);
  ASSERT_TRUE(page.ok()) << page.getMessage();
  EXPECT_EQ(page.getRecords().size(), added);

  // Updates of one record that expect its version: of two that read the same version
  // (one on each front-end), at most one succeeds; the increments that succeeded are all
  // there.
  uint64_t id = *all.begin();
  std::atomic<int> succeeded{0};
  threads.clear();
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto c = Client::connect((w == 0 ? first_ : second_)->address(), tenant, wr.key);
      for (int i = 0; i < 60; ++i) {
        Result rec = c->getRecord("Items", "*", id);
        if (!rec.ok() || rec.getRecords().empty()) continue;
        const Record& got = rec.getRecords()[0];
        Result u = c->updateRecord("Items", id, Parameters().add("n", got.get("n").asInt() + 1),
                                   got.version());
        if (u.ok()) succeeded.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  Result rec = on[0]->getRecord("Items", "*", id);
  ASSERT_TRUE(rec.ok() && rec.getRecords().size() == 1) << rec.getMessage();
  EXPECT_EQ(rec.getRecords()[0].get("n").asInt(), succeeded.load());
  EXPECT_EQ(rec.getRecords()[0].version(), static_cast<uint64_t>(1 + succeeded.load()));
  EXPECT_GT(succeeded.load(), 0);

  // Objects and tenants created on both front-ends at once get distinct ids.
  threads.clear();
  std::vector<std::vector<uint64_t>> object_ids(2), tenant_ids(2);
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto c = Client::connect((w == 0 ? first_ : second_)->address(), tenant, wr.key);
      auto a = Client::connect((w == 0 ? first_ : second_)->address(), 1, first_->admin_key());
      for (int i = 0; i < 10; ++i) {
        auto o = c->createObject(0, "O" + std::to_string(w) + "_" + std::to_string(i), Fields());
        if (o.ok()) object_ids[w].push_back(o.value().id);
        auto nt = a->createTenant("t" + std::to_string(w) + "-" + std::to_string(i),
                                  TenantKind::Tenant, 0);
        if (nt.ok()) tenant_ids[w].push_back(nt.value().id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> objects, tenants;
  for (int w = 0; w < 2; ++w) {
    EXPECT_EQ(object_ids[w].size(), 10u);
    EXPECT_EQ(tenant_ids[w].size(), 10u);
    objects.insert(object_ids[w].begin(), object_ids[w].end());
    tenants.insert(tenant_ids[w].begin(), tenant_ids[w].end());
  }
  EXPECT_EQ(objects.size(), 20u) << "an object id was handed out twice";
  // The tenant's audit log holds every change made on either front-end: the 21 objects
  // (no entry of one front-end overwrote another's). A query writes what its own
  // front-end has queued; the other's entries follow within its batching interval.
  AuditQuery aq;
  aq.tenantId = tenant;
  int created_objects = 0;
  for (int attempt = 0; attempt < 200 && created_objects < 21; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto log = admin2_->queryAudit(aq);
    ASSERT_TRUE(log.ok()) << log.getMessage();
    created_objects = 0;
    for (const auto& e : log.value()) {
      if (e.api == "createObject" && e.outcome == "OK") ++created_objects;
    }
  }
  EXPECT_EQ(created_objects, 21);
  EXPECT_EQ(tenants.size(), 20u) << "a tenant id was handed out twice";
  // Both front-ends list every tenant, whichever made it.
  for (Client* a : {admin_, admin2_}) {
    auto list = a->listTenants();
    ASSERT_TRUE(list.ok()) << list.getMessage();
    std::set<uint64_t> listed;
    for (const auto& ti : list.value()) listed.insert(ti.id);
    for (uint64_t id2 : tenants) EXPECT_EQ(listed.count(id2), 1u) << id2;
  }
}

// ---- 3. Changes on one front-end, seen by the next call on the other ----------------------

TEST_F(FrontEndsTest, AKeyRevokedOrAUserDeletedOnOneFrontEndIsRefusedAtOnceOnTheOther) {
  auto t = admin_->createTenant("identity", TenantKind::Tenant, 0);
  ASSERT_TRUE(t.ok()) << t.getMessage();
  uint64_t tenant = t.value().id;
  auto user = admin_->createUser(tenant, "someone", AdminLevel::TenantAdmin);
  ASSERT_TRUE(user.ok()) << user.getMessage();
  // The user made on front-end 1 logs in on front-end 2 and works there.
  auto on2 = Client::connect(second_->address(), tenant, user.value().apiKey);
  ASSERT_TRUE(on2->whoami().ok());
  ASSERT_TRUE(on2->createObject(0, "Notes", Fields()).ok());
  auto keys = admin_->listApiKeys(tenant, user.value().user.id);
  ASSERT_TRUE(keys.ok()) << keys.getMessage();
  ASSERT_EQ(keys.value().size(), 1u);
  ASSERT_TRUE(admin_->revokeApiKey(tenant, keys.value()[0].keyId).ok());
  // The open session on front-end 2 is refused, and so is a new login there.
  auto w = on2->whoami();
  EXPECT_EQ(w.getCode(), ErrorCode::Unauthenticated) << w.getMessage();
  EXPECT_THROW(Client::connect(second_->address(), tenant, user.value().apiKey), Error);

  auto other = admin2_->createUser(tenant, "other", AdminLevel::User);
  ASSERT_TRUE(other.ok()) << other.getMessage();
  auto on1 = Client::connect(first_->address(), tenant, other.value().apiKey);
  ASSERT_TRUE(on1->whoami().ok());
  ASSERT_TRUE(admin2_->deleteUser(tenant, other.value().user.id).ok());
  EXPECT_EQ(on1->whoami().getCode(), ErrorCode::Unauthenticated);
}

TEST_F(FrontEndsTest, APermissionSetChangedOnOneFrontEndDecidesTheNextCallOnTheOther) {
  Writer wr = MakeWriter(*admin_, "psets");
  ASSERT_NE(wr.key, "");
  uint64_t tenant = wr.tenant;
  auto on2 = Client::connect(second_->address(), tenant, wr.key);
  ASSERT_TRUE(on2->createObject(0, "Docs", Fields()).ok());
  Result added = on2->addRecord("Docs", Parameters().add("code", "a"));
  ASSERT_TRUE(added.ok()) << added.getMessage();
  ASSERT_TRUE(on2->getRecord("Docs", "*", added.getId()).ok());
  PermissionSetInfo deny;
  deny.name = "no-reads-" + std::to_string(tenant);
  deny.systemScope = true;
  deny.tenants = {tenant};
  PermissionPolicy p;
  p.effect = Effect::Deny;
  p.resourceTypeRegex = ".*";
  p.apiNameRegex = "getRecord";
  p.methodRegex = ".*";
  deny.policies = {p};
  Result created = admin_->createPermissionSet(deny);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  Result got = on2->getRecord("Docs", "*", added.getId());
  EXPECT_EQ(got.getCode(), ErrorCode::PermissionDenied) << got.getMessage();
  ASSERT_TRUE(admin_->deletePermissionSet(deny.name).ok());
  EXPECT_TRUE(on2->getRecord("Docs", "*", added.getId()).ok());
}

TEST_F(FrontEndsTest, UsageCountsTheCallsOfEveryFrontEnd) {
  Writer wr = MakeWriter(*admin_, "metered");
  ASSERT_NE(wr.key, "");
  uint64_t tenant = wr.tenant;
  auto on1 = Client::connect(first_->address(), tenant, wr.key);
  auto on2 = Client::connect(second_->address(), tenant, wr.key);
  ASSERT_TRUE(on1->createObject(0, "Things", Fields()).ok());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(on1->addRecord("Things", Parameters().add("n", i)).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(on2->addRecord("Things", Parameters().add("n", i)).ok());
  // Each front-end persists its counts within a second; both reports add them up.
  for (Client* a : {admin_, admin2_}) {
    uint64_t adds = 0;
    for (int tries = 0; tries < 50 && adds != 12; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto u = a->usage(tenant);
      ASSERT_TRUE(u.ok()) << u.getMessage();
      adds = 0;
      for (const auto& c : u.value().calls) {
        if (c.api == "addRecord") adds = c.calls;
      }
    }
    EXPECT_EQ(adds, 12u);
  }
}

}  // namespace
}  // namespace cotenant::testing
