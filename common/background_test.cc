#include "common/background.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace cotenant {
namespace {

TEST(RunGuarded, AnExceptionIsLatchedNotThrown) {
  Status s = RunGuarded("test: throws", []() -> Status { throw std::runtime_error("bad byte"); });
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_NE(s.message().find("bad byte"), std::string::npos);
  auto snap = BackgroundFaults::Process().Snapshot();
  ASSERT_EQ(snap.count("test: throws"), 1u);
  EXPECT_TRUE(snap["test: throws"].failing);
  EXPECT_EQ(snap["test: throws"].failures, 1u);
  EXPECT_NE(BackgroundFaults::Process().Failing().find("test: throws: "), std::string::npos);
}

TEST(RunGuarded, AFailingStatusIsLatchedAndSuccessClearsIt) {
  const char* work = "test: flaky";
  EXPECT_FALSE(RunGuarded(work, [] { return Status::Internal("no space left on device"); }).ok());
  EXPECT_FALSE(RunGuarded(work, [] { return Status::Internal("no space left on device"); }).ok());
  EXPECT_NE(BackgroundFaults::Process().Failing().find("no space left"), std::string::npos);
  EXPECT_TRUE(RunGuarded(work, [] { return Status::OK(); }).ok());
  auto snap = BackgroundFaults::Process().Snapshot();
  EXPECT_FALSE(snap[work].failing);
  EXPECT_EQ(snap[work].failures, 2u);  // the count survives recovery
  EXPECT_EQ(BackgroundFaults::Process().Failing().find("test: flaky"), std::string::npos);
}

}  // namespace
}  // namespace cotenant
