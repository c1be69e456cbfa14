#include "sharing/quotas.h"

#include <gtest/gtest.h>

namespace cotenant::sharing {
namespace {

constexpr int64_t kMs = 1000;  // micros

storage::TenantQuota CallsPerSecond(uint32_t rate, uint32_t work = 0) {
  storage::TenantQuota q;
  q.calls_per_second = rate;
  q.concurrent_work = work;
  return q;
}

TEST(QuotasTest, ATenantBurstsUpToItsRateThenIsRefusedUntilTheBucketRefills) {
  FakeClock clock{1'000'000'000'000};
  Quotas quotas(&clock);
  quotas.Set(7, CallsPerSecond(10));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(quotas.AdmitCall(7).ok()) << i;
  Status refused = quotas.AdmitCall(7);
  EXPECT_EQ(refused.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(refused.message(), "tenant 7 is over its quota of 10 calls per second; retry in 100 ms");
  EXPECT_EQ(quotas.refused_calls(), 1u);
  // Other tenants are not limited.
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(quotas.AdmitCall(8).ok());
  // 100 ms later one more call is admitted, not two.
  clock.Advance(100 * kMs);
  EXPECT_TRUE(quotas.AdmitCall(7).ok());
  EXPECT_FALSE(quotas.AdmitCall(7).ok());
  // Idle for a minute: still only one second's worth of burst.
  clock.Advance(60000 * kMs);
  int admitted = 0;
  while (quotas.AdmitCall(7).ok()) ++admitted;
  EXPECT_EQ(admitted, 10);
}

TEST(QuotasTest, ChangingOrRemovingAQuotaTakesEffectAtOnce) {
  FakeClock clock{1'000'000'000'000};
  Quotas quotas(&clock);
  quotas.Set(7, CallsPerSecond(100, 3));
  EXPECT_EQ(quotas.ConcurrentWork(7), 3u);
  EXPECT_EQ(quotas.ConcurrentWork(8), 0u);
  quotas.Set(7, CallsPerSecond(2, 3));  // lowering keeps no more than the new burst
  EXPECT_TRUE(quotas.AdmitCall(7).ok());
  EXPECT_TRUE(quotas.AdmitCall(7).ok());
  EXPECT_FALSE(quotas.AdmitCall(7).ok());
  quotas.Set(7, storage::TenantQuota{});
  EXPECT_EQ(quotas.ConcurrentWork(7), 0u);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(quotas.AdmitCall(7).ok());
  // Records and bytes are the store's: they alone make no entry here.
  storage::TenantQuota stored;
  stored.records = 5;
  quotas.Set(9, stored);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(quotas.AdmitCall(9).ok());
}

}  // namespace
}  // namespace cotenant::sharing
