#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "rpc/errors.h"
#include "rpc/metrics.h"
#include "rpc/ops_http.h"

namespace cotenant::rpc {
namespace {

TEST(ErrorsTest, DescriptionIsExactlyTheTaggedStatus) {
  kj::Exception e = ToException(Status::NotFound("record 12 does not exist"));
  EXPECT_EQ(e.getType(), kj::Exception::Type::FAILED);
  EXPECT_STREQ(e.getDescription().cStr(), "cotenant:NotFound: record 12 does not exist");
  EXPECT_EQ(CodeOf(e), Status::Code::kNotFound);

  for (auto s : {Status::PermissionDenied("p"), Status::InvalidArgument("i"), Status::Conflict("c"),
                 Status::ResourceExhausted("r"), Status::Unauthenticated("u")}) {
    kj::Exception x = ToException(s);
    EXPECT_EQ(x.getType(), kj::Exception::Type::FAILED);
    EXPECT_EQ(std::string(x.getDescription().cStr()),
              "cotenant:" + std::string(s.code_name()) + ": " + s.message());
    EXPECT_EQ(CodeOf(x), s.code());
  }
  kj::Exception busy = ToException(Status::Busy("queue full"));
  EXPECT_EQ(busy.getType(), kj::Exception::Type::OVERLOADED);
  EXPECT_EQ(CodeOf(busy), Status::Code::kBusy);
}

// Internal detail (paths, engine messages) stays in the server's log, found by the id the
// client is given.
TEST(ErrorsTest, InternalDetailIsLoggedAndTheClientGetsAnId) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  kj::Exception e = ToException(Status::Internal(
      "storage engine: IO error: While open a file for appending: /var/lib/cotenant/000012.log: "
      "No space left on device"));
  spdlog::set_default_logger(previous);

  const std::string description = e.getDescription().cStr();
  EXPECT_EQ(CodeOf(e), Status::Code::kInternal);
  EXPECT_EQ(description.find('/'), std::string::npos) << description;
  EXPECT_EQ(description.find("No space"), std::string::npos) << description;
  const std::string prefix = "cotenant:Internal: internal error (id ";
  ASSERT_EQ(description.rfind(prefix, 0), 0u) << description;
  const std::string id = description.substr(prefix.size(), 16);
  EXPECT_EQ(description, prefix + id + ")");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_NE(log.str().find("internal error (id " + id + "): storage engine: IO error: While "
                           "open a file for appending: /var/lib/cotenant/000012.log"),
            std::string::npos)
      << log.str();

  // Every internal error gets its own id; the generic form passes through unchanged.
  kj::Exception other = ToException(Status::Internal("corrupt policy p"));
  EXPECT_NE(std::string(other.getDescription().cStr()), description);
  Status generic = ForClient(Status::Internal("internal error (id " + id + ")"));
  EXPECT_EQ(generic.message(), "internal error (id " + id + ")");
  // Other codes keep their messages, paths and all.
  EXPECT_EQ(ForClient(Status::InvalidArgument("bad /x")).message(), "bad /x");
  EXPECT_EQ(ForClient(Status::NotFound("record 1 does not exist")).message(),
            "record 1 does not exist");
}

TEST(ErrorsTest, ForeignExceptionsAreInternal) {
  kj::Exception e(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::str("peer gone"));
  EXPECT_EQ(CodeOf(e), Status::Code::kInternal);
  kj::Exception remote(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::str("remote exception: cotenant:Conflict: taken"));
  EXPECT_EQ(CodeOf(remote), Status::Code::kConflict);
}

TEST(MetricsTest, RendersCountersAndHistograms) {
  Metrics m;
  m.Record(Api::kGetRecord, Status::Code::kOk, 0.0002);
  m.Record(Api::kGetRecord, Status::Code::kOk, 0.3);
  m.Record(Api::kGetRecord, Status::Code::kNotFound, 0.00001);
  m.ConnectionOpened();
  std::string text = m.Render();
  EXPECT_NE(text.find("cotenant_requests_total{api=\"getRecord\",outcome=\"OK\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("cotenant_requests_total{api=\"getRecord\",outcome=\"NotFound\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("cotenant_request_duration_seconds_bucket{api=\"getRecord\",le=\"0.0001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("cotenant_request_duration_seconds_bucket{api=\"getRecord\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("cotenant_request_duration_seconds_count{api=\"getRecord\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("cotenant_connections 1\n"), std::string::npos);
  EXPECT_NE(text.find("cotenant_block_cache_bytes 0\n"), std::string::npos);
}

TEST(MetricsTest, RendersThePoolGaugesAndQueueWaits) {
  Metrics m;
  m.SetPoolSource([] {
    WorkPool::Stats s;
    s.queued = 7;
    s.tenants_waiting = 2;
    s.oldest_wait_seconds = 0.75;
    s.wait_buckets[0] = 3;                             // <= 0.1 ms
    s.wait_buckets[WorkPool::kWaitBuckets.size()] = 1;  // > 5 s
    s.wait_count = 4;
    s.wait_sum_seconds = 6.5;
    return s;
  });
  std::string text = m.Render();
  for (const char* line : {"cotenant_pool_queued_jobs 7\n", "cotenant_pool_tenants_waiting 2\n",
                           "cotenant_pool_oldest_wait_seconds 0.750000\n",
                           "cotenant_pool_queue_wait_seconds_bucket{le=\"0.0001\"} 3\n",
                           "cotenant_pool_queue_wait_seconds_bucket{le=\"5\"} 3\n",
                           "cotenant_pool_queue_wait_seconds_bucket{le=\"+Inf\"} 4\n",
                           "cotenant_pool_queue_wait_seconds_sum 6.500000000\n",
                           "cotenant_pool_queue_wait_seconds_count 4\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

TEST(OpsHttpTest, SplitHostPort) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:7770", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7770);
  ASSERT_TRUE(SplitHostPort("[::1]:80", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SplitHostPort("nope", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("h:12x", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort(":80", &host, &port).ok());
}

}  // namespace
}  // namespace cotenant::rpc
