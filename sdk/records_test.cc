// SDK tests of the record calls and of the client's plumbing against the in-process fake
// server (fake_server.h): login, record calls and their errors, search pages, tenant
// contexts, many calls in flight from many threads, and shutdown while calls are in flight.

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cotenant/client.h"
#include "fake_server.h"

namespace cotenant {
namespace {

using fake::FakeServer;

TEST(FakeServer, BadKeyIsUnauthenticated) {
  FakeServer server;
  try {
    Client::connect(server.address(), 5, "bad");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unauthenticated);
    EXPECT_EQ(e.message(), "bad tenant or key");
  }
}

TEST(FakeServer, RecordCallsAndErrors) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  EXPECT_EQ(client->user().name, "alice");
  EXPECT_EQ(client->user().level, AdminLevel::TenantAdmin);
  EXPECT_EQ(client->whoami().value().id, 3u);

  Parameters params;
  params.add("first_name", "John");
  Result added = client->addRecord("Customers", params);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  EXPECT_EQ(added.getId(), 1u);
  EXPECT_EQ(added.getRecords().at(0).get("first_name").asText(), "John");

  Result missing = client->addRecord("Nope", params);
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(missing.getMessage(), "no object");

  Result got = client->getRecord("Customers", "*", "1",
                                 Parameters().retrieveRecordPermissions(true));
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords().at(0).canUpdate(), std::optional<bool>(true));
  EXPECT_EQ(got.getRecords().at(0).canDelete(), std::optional<bool>(false));
  EXPECT_TRUE(got.getRecords().at(0).get("age").isNull());

  Result seven = client->getRecord("Customers", "*", 7);
  EXPECT_EQ(seven.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(seven.getMessage(), "record 7 not found");

  // Rejected locally, without a round trip.
  EXPECT_EQ(client->getRecord("Customers", "*", "seven").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->deleteRecord("Customers", "").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->searchRecords("Customers", "*", "", "age", "sideways", "", "", 0, 10).getCode(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(client->searchRecords("Customers", "*", "", "", "", "", "", -1, 10).getCode(),
            ErrorCode::InvalidArgument);

  EXPECT_EQ(client->deleteRecord("Customers", 1, 2).getCode(), ErrorCode::Conflict);
  EXPECT_TRUE(client->deleteRecord("Customers", 1).ok());
}

TEST(FakeServer, SearchRetrievesPermissionsOnlyWhenAsked) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  Result plain = client->searchRecords("Customers", "*", "");
  ASSERT_TRUE(plain.ok()) << plain.getMessage();
  EXPECT_EQ(plain.getRecords().at(0).canUpdate(), std::nullopt);
  Result asked = client->searchRecords("Customers", "*", "", "", "asc", "", "asc", 0, 10,
                                       Parameters().retrieveRecordPermissions(true));
  ASSERT_TRUE(asked.ok()) << asked.getMessage();
  EXPECT_EQ(asked.getRecords().at(0).canUpdate(), std::optional<bool>(true));
  EXPECT_EQ(asked.getRecords().at(0).canDelete(), std::optional<bool>(false));
  Result simple = client->searchRecords("Customers", "*", "",
                                        Parameters().retrieveRecordPermissions(true));
  EXPECT_EQ(simple.getRecords().at(0).canDelete(), std::optional<bool>(false));
}

TEST(FakeServer, SearchContinuation) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  SearchQuery q;
  q.object = "Customers";
  Result first = client->search(q);
  ASSERT_TRUE(first.ok()) << first.getMessage();
  EXPECT_FALSE(first.complete());
  EXPECT_EQ(first.continuation(), "p2");
  q.continuation = first.continuation();
  Result second = client->search(q);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.complete());
  EXPECT_EQ(second.getRecords().at(0).id(), 2u);
}

TEST(FakeServer, TenantContext) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  try {
    TenantContext denied(*client, "7771212345");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  }
  EXPECT_THROW(TenantContext(*client, "abc"), Error);
  TenantContext ctx(*client, 9);
  Parameters params;
  params.add("first_name", "Ann");
  Result r = client->addRecord("Customers", params, ctx);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  TenantContext copy = ctx;  // copies share the capability
  EXPECT_TRUE(client->getRecord("Customers", "*", r.getId(), copy).ok());
}

TEST(FakeServer, ManyCallsInFlightFromManyThreads) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  Parameters params;
  params.add("first_name", "X");
  ASSERT_TRUE(client->addRecord("Customers", params).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::future<Result>> futures;
      for (int i = 0; i < 500; ++i) futures.push_back(client->getRecordAsync("Customers", "*", 1));
      for (auto& f : futures) ok += f.get().ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2000);
}

TEST(FakeServer, DestroyingClientAnswersInFlightCalls) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  std::vector<std::future<Result>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(client->getRecordAsync("Customers", "*", 1));
  TenantContext ctx(*client, 9);
  client.reset();
  for (auto& f : futures) {
    Result r = f.get();  // never a broken promise
    EXPECT_TRUE(r.getCode() == ErrorCode::NotFound || r.getCode() == ErrorCode::Unavailable)
        << r.getCode();
  }
}

TEST(FakeServer, ServerGoneIsUnavailable) {
  std::unique_ptr<Client> client;
  {
    FakeServer server;
    client = Client::connect(server.address(), 5, "good");
  }
  Result r = client->getRecord("Customers", "*", 1);
  EXPECT_EQ(r.getCode(), ErrorCode::Unavailable) << r.getMessage();
}

}  // namespace
}  // namespace cotenant
