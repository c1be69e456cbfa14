// Status, StatusOr and the fake clock.

#include <string>

#include <gtest/gtest.h>

#include "common/env.h"
#include "common/status.h"
#include "common/statusor.h"

namespace cotenant {
namespace {

TEST(StatusTest, CodeNamesAndToString) {
  EXPECT_EQ(Status::CodeName(Status::Code::kOk), "OK");
  EXPECT_EQ(Status::NotFound("x").code_name(), "NotFound");
  EXPECT_EQ(Status::PermissionDenied("x").code_name(), "PermissionDenied");
  EXPECT_EQ(Status::InvalidArgument("x").code_name(), "InvalidArgument");
  EXPECT_EQ(Status::Conflict("x").code_name(), "Conflict");
  EXPECT_EQ(Status::ResourceExhausted("x").code_name(), "ResourceExhausted");
  EXPECT_EQ(Status::Unauthenticated("x").code_name(), "Unauthenticated");
  EXPECT_EQ(Status::Busy("x").code_name(), "Busy");
  EXPECT_EQ(Status::Internal("x").code_name(), "Internal");
  EXPECT_EQ(Status::OK().ToString(), "OK");
  EXPECT_EQ(Status::NotFound("record 12 does not exist").ToString(),
            "NotFound: record 12 does not exist");
}

Status FailsThenNeverReached(bool* reached) {
  COTENANT_RETURN_IF_ERROR(Status::Conflict("first"));
  *reached = true;
  return Status::OK();
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  bool reached = false;
  Status st = FailsThenNeverReached(&reached);
  EXPECT_TRUE(st.IsConflict());
  EXPECT_FALSE(reached);
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  COTENANT_ASSIGN_OR_RETURN(int half, Half(x));
  COTENANT_ASSIGN_OR_RETURN(*out, Half(half));
  return Status::OK();
}

TEST(StatusOrTest, HoldsAValueOrTheStatus) {
  StatusOr<int> ok = Half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  StatusOr<int> bad = Half(7);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_EQ(bad.status().message(), "7 is odd");
  int q = 0;
  EXPECT_TRUE(Quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  q = -1;
  Status st = Quarter(6, &q);  // 6 -> 3 is odd
  EXPECT_EQ(st.message(), "3 is odd");
  EXPECT_EQ(q, -1);
}

TEST(StatusOrTest, MovesItsValueOut) {
  StatusOr<std::string> s = std::string(1000, 'x');
  std::string taken = std::move(s).value();
  EXPECT_EQ(taken.size(), 1000u);
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowMicros(), 1000);
  clock.Advance(500);
  EXPECT_EQ(clock.NowMicros(), 1500);
  clock.Set(7);
  EXPECT_EQ(clock.NowMicros(), 7);
  // The system clock is past 2020 and moves forward.
  int64_t a = SystemClock()->NowMicros();
  EXPECT_GT(a, int64_t{1577836800} * 1000000);
  EXPECT_GE(SystemClock()->NowMicros(), a);
}

}  // namespace
}  // namespace cotenant
