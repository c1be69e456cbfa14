// Exact revocation and the memcached tier, end to end: a real cotenantd started with
// --memcached against a real memcached.
//
// 1. Revocation races (one test per kind of revocation): the main thread grants and
//    revokes access round after round while worker threads call getRecord through a
//    TenantContext. The main thread publishes a phase word (round; granting, granted,
//    revoking, revoked): REVOKED(r) only after the revoking call returned, GRANTING(r+1)
//    before the next grant starts; likewise GRANTED(r) only after the grant returned,
//    REVOKING(r) before the revocation starts. A worker reads the phase before a call and
//    after its answer: a success with REVOKED(r) both times is a violation (DESIGN.md
//    "Context cache and revocation": once the revoking call has returned, no later call is
//    served with the old rights); a failure with GRANTED(r) both times is a stale denial.
//    Neither check depends on timing.
//
// The memcached failure suites: cache_failure_test.cc. Shared helpers:
// revocation_support.h.

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tests/revocation_support.h"

namespace cotenant::testing {
namespace {

constexpr int kWorkers = 3;

class RevocationRaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    memcached_ = new Memcached();
    ASSERT_TRUE(memcached_->ok());
    server_ = new Cotenantd({"--memcached", memcached_->address(), "--durability", "group"});
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    delete server_;
    server_ = nullptr;
    delete memcached_;
    memcached_ = nullptr;
  }

  void SetUp() override {
    if (!server_ || !server_->ok()) GTEST_SKIP() << "no server";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    s_ = MakeShare(*server_, *admin_, info->name());
    ASSERT_NE(s_.record, 0u);
    ASSERT_NE(s_.caller, 0u);
    target_ = Target{s_.abc.id, s_.record, s_.first_name};
    // Access works before the race, so a race full of denials means something.
    caller_ = Client::connect(server_->address(), s_.xyz.id, s_.caller_key);
    std::string why;
    ASSERT_EQ(ContextCall(*caller_, s_.abc.id, s_.record, s_.first_name, &why), ErrorCode::OK) << why;
  }

  // One client per worker, logged in as the XYZ caller.
  std::vector<ClientSlot> FixedSlots() { return CallerSlots(server_->address(), s_, kWorkers); }

  // Checks the tally of a race and reports it.
  void Check(const std::string& kind, uint64_t rounds, const RaceResult& res, Tally& t) {
    CacheMetrics m = ReadCacheMetrics(*server_);
    std::cout << "[race " << kind << "] rounds=" << res.rounds << " seconds=" << res.seconds
              << " (grants " << res.grant_seconds << ", revocations " << res.revoke_seconds << ")"
              << " calls=" << t.calls << " (ctor " << t.ctor_calls << ") ok=" << t.succeeded
              << " revoked_window=" << t.revoked_window << " granted_window=" << t.granted_window
              << " violations=" << t.violations << " stale_denials=" << t.stale_denials
              << " busy=" << t.busy << "\n[race " << kind << "] server totals: " << m << std::endl;
    RecordProperty("rounds", static_cast<int>(res.rounds));
    RecordProperty("calls", static_cast<int>(t.calls));
    RecordProperty("revoked_window_calls", static_cast<int>(t.revoked_window));
    if (res.rounds < rounds) {
      std::cout << "[race " << kind << "] WARNING: stopped by the safety net after " << res.rounds
                << " of " << rounds << " rounds (machine overloaded?)" << std::endl;
    }
    ExpectExactRace(res, t);
    // The memcached tier took part: entries were written and the stale ones rejected.
    EXPECT_GT(m.miss, 0);
    EXPECT_GT(m.stale, 0);
    EXPECT_FALSE(ContextKeys(memcached_->port()).empty());
  }

  static Memcached* memcached_;
  static Cotenantd* server_;
  static Client* admin_;
  Share s_;
  Target target_;
  std::unique_ptr<Client> caller_;
};

Memcached* RevocationRaceTest::memcached_ = nullptr;
Cotenantd* RevocationRaceTest::server_ = nullptr;
Client* RevocationRaceTest::admin_ = nullptr;

// Expects the caller to be denied through a fresh TenantContext (before the race starts).
#define EXPECT_DENIED(client, s)                                                      \
  do {                                                                                \
    std::string why_;                                                                 \
    ErrorCode code_ = ContextCall(client, (s).abc.id, (s).record, (s).first_name, &why_); \
    EXPECT_TRUE(code_ == ErrorCode::PermissionDenied || code_ == ErrorCode::Unauthenticated) \
        << code_ << " " << why_;                                                      \
  } while (0)

// (a) The policy is deleted; the grant creates it again.
TEST_F(RevocationRaceTest, PolicyDeleted) {
  RaceSteps steps = PolicyDeletedSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  EXPECT_DENIED(*caller_, s_);
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res = RunRace("policy-deleted", rounds, slots, target_, steps.grant, steps.revoke, tally);
  Check("policy-deleted", rounds, res, tally);
}

// (b) The policy user's role loses the read right; the grant gives it back.
TEST_F(RevocationRaceTest, RoleLosesReadRight) {
  RaceSteps steps = RoleLosesReadSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  EXPECT_DENIED(*caller_, s_);
  target_.ctor_sees_revocation = false;
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res = RunRace("role-loses-read", rounds, slots, target_, steps.grant, steps.revoke, tally);
  Check("role-loses-read", rounds, res, tally);
}

// (c) The policy's user is deleted; the grant creates a new user with the role and points
// the policy at it.
TEST_F(RevocationRaceTest, PolicyUserDeleted) {
  Client& abc = *s_.abc.client;
  ASSERT_TRUE(abc.deleteUser(0, s_.alias).ok());
  EXPECT_DENIED(*caller_, s_);
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(600);
  uint64_t alias = 0;
  RaceResult res = RunRace(
      "policy-user-deleted", rounds, slots, target_,
      [&](uint64_t r) {
        auto u = abc.createUser(0, "xyz-alias-" + std::to_string(r), AdminLevel::User);
        if (!u.ok()) return Err(u);
        alias = u.value().user.id;
        std::string e = Err(abc.addRoleMember(0, "xyz-read", s_.abc.id, alias));
        if (!e.empty()) return e;
        return Err(abc.updatePolicy(0, PolicyFor(s_.xyz.id, alias)));
      },
      [&](uint64_t) { return Err(abc.deleteUser(0, alias)); }, tally);
  Check("policy-user-deleted", rounds, res, tally);
}

// (d) The caller's API key is revoked: its open sessions fail at once. The grant creates a
// fresh key and logs every worker in with it.
TEST_F(RevocationRaceTest, CallerKeyRevoked) {
  Client& xyz = *s_.xyz.client;
  auto keys = xyz.listApiKeys(0, s_.caller);
  ASSERT_TRUE(keys.ok()) << keys.getMessage();
  for (const auto& k : keys.value()) ASSERT_TRUE(xyz.revokeApiKey(0, k.keyId).ok());
  EXPECT_DENIED(*caller_, s_);
  std::vector<ClientSlot> slots(kWorkers);  // filled by each grant
  RaceSteps steps = CallerKeyRevokedSteps(s_, &slots, server_->address());
  Tally tally;
  const uint64_t rounds = Rounds(600);
  RaceResult res =
      RunRace("caller-key-revoked", rounds, slots, target_, steps.grant, steps.revoke, tally);
  Check("caller-key-revoked", rounds, res, tally);
}

// (e) The policy user's role membership is removed; the grant adds it again.
TEST_F(RevocationRaceTest, RoleMembershipRemoved) {
  RaceSteps steps = MembershipRemovedSteps(s_);
  ASSERT_EQ(steps.revoke(0), "");
  EXPECT_DENIED(*caller_, s_);
  target_.ctor_sees_revocation = false;
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res =
      RunRace("membership-removed", rounds, slots, target_, steps.grant, steps.revoke, tally);
  Check("membership-removed", rounds, res, tally);
}

}  // namespace
}  // namespace cotenant::testing
