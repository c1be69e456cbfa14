#include "sharing/login_throttle.h"

#include <gtest/gtest.h>

namespace cotenant::sharing {
namespace {

constexpr int64_t kMs = 1000;  // micros

class LoginThrottleTest : public ::testing::Test {
 protected:
  LoginThrottleOptions Options() {
    LoginThrottleOptions o;
    o.free_per_source = 3;
    o.free_per_tenant = 5;
    o.window_ms = 60000;
    o.first_lockout_ms = 1000;
    o.max_lockout_ms = 8000;
    o.summary_interval_ms = 10000;
    return o;
  }
  FakeClock clock_{1'000'000'000'000};
};

TEST_F(LoginThrottleTest, ASourceIsLockedOutPastItsAllowanceWithDoublingBackOff) {
  LoginThrottle t(Options(), &clock_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(t.Admit("10.0.0.1", 7).ok());
    t.Failed("10.0.0.1", 7);
  }
  EXPECT_TRUE(t.Admit("10.0.0.1", 7).ok());  // three free failures: not locked yet
  t.Failed("10.0.0.1", 7);                   // the fourth locks for 1 s
  Status s = t.Admit("10.0.0.1", 8);         // whichever tenant it names
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("retry in 1 s"), std::string::npos) << s.message();
  EXPECT_TRUE(t.Admit("10.0.0.2", 8).ok());  // another address is not affected
  clock_.Advance(1000 * kMs);
  EXPECT_TRUE(t.Admit("10.0.0.1", 7).ok());
  t.Failed("10.0.0.1", 7);  // the fifth: 2 s
  clock_.Advance(1500 * kMs);
  EXPECT_FALSE(t.Admit("10.0.0.1", 7).ok());
  clock_.Advance(500 * kMs);
  EXPECT_TRUE(t.Admit("10.0.0.1", 7).ok());
  for (int i = 0; i < 10; ++i) t.Failed("10.0.0.1", 7);
  Status capped = t.Admit("10.0.0.1", 7);
  EXPECT_NE(capped.message().find("retry in 8 s"), std::string::npos) << capped.message();
  EXPECT_EQ(t.refused(), 3u);
  EXPECT_EQ(t.failures(), 15u);
}

TEST_F(LoginThrottleTest, SuccessAndTimeForgiveASource) {
  LoginThrottle t(Options(), &clock_);
  for (int i = 0; i < 3; ++i) t.Failed("10.0.0.1", 7);
  t.Succeeded("10.0.0.1");
  t.Failed("10.0.0.1", 7);
  EXPECT_TRUE(t.Admit("10.0.0.1", 7).ok());  // the count started again
  for (int i = 0; i < 2; ++i) t.Failed("10.0.0.1", 7);
  clock_.Advance(61000 * kMs);                // older than the window
  t.Failed("10.0.0.1", 7);
  EXPECT_TRUE(t.Admit("10.0.0.1", 7).ok());
}

TEST_F(LoginThrottleTest, ATenantUnderAttackRefusesFailingSourcesButNotFreshOnes) {
  LoginThrottle t(Options(), &clock_);
  // Six addresses, one failure each: under each source's allowance, over the tenant's.
  for (int i = 0; i < 6; ++i) t.Failed("10.0.1." + std::to_string(i), 7);
  EXPECT_FALSE(t.Admit("10.0.1.0", 7).ok());  // has failed recently
  EXPECT_TRUE(t.Admit("10.0.1.0", 8).ok());   // another tenant
  EXPECT_TRUE(t.Admit("10.0.9.9", 7).ok());   // a fresh address still logs in
}

TEST_F(LoginThrottleTest, SummariesReplaceALineForEachFailure) {
  LoginThrottle t(Options(), &clock_);
  for (int i = 0; i < 5; ++i) t.Failed("10.0.0.1", 7);
  (void)t.Admit("10.0.0.1", 7);
  EXPECT_FALSE(t.TakeSummary().has_value());  // not due yet
  clock_.Advance(10000 * kMs);
  auto summary = t.TakeSummary();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(*summary, "login: 5 failed from 1 address(es), 1 refused while locked out, in the last 10 s");
  clock_.Advance(10000 * kMs);
  EXPECT_FALSE(t.TakeSummary().has_value());  // nothing new to say
}

TEST_F(LoginThrottleTest, MemoryIsBounded) {
  LoginThrottleOptions o = Options();
  o.max_tracked = 100;
  LoginThrottle t(o, &clock_);
  for (int i = 0; i < 10000; ++i) t.Failed("10.1." + std::to_string(i), static_cast<uint64_t>(i));
  // No assertion on internals beyond still working: a fresh failure is counted.
  EXPECT_EQ(t.failures(), 10000u);
  EXPECT_TRUE(t.Admit("10.2.0.1", 1).ok());
}

}  // namespace
}  // namespace cotenant::sharing
