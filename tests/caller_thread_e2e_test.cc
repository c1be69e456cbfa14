// ClientOptions::callerThreadConnections against a real cotenantd: synchronous record calls
// run on each calling thread's own connection with the same answers as on the client's
// connection; a thread's connection closes when the thread ends or the client is
// destroyed; TenantContexts and their revocation behave alike; a thread whose server
// restarted logs in again and its read is sent again; a revoked key is refused on a new
// thread; a thread that runs an event loop of its own is served by the client's connection.

#include <kj/async-io.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using std::chrono::milliseconds;

ClientOptions CallerThreads() {
  ClientOptions o;
  o.callerThreadConnections = true;
  return o;
}

double Connections(const Cotenantd& server) {
  return MetricValue(HttpGet(server.http_port(), "/metrics"), "cotenant_connections");
}

// Waits (up to 20 s) until the server counts `n` open connections; answers the last count.
double WaitForConnections(const Cotenantd& server, double n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  double now = Connections(server);
  while (now != n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
    now = Connections(server);
  }
  return now;
}

// Holds threads until released.
class Gate {
 public:
  void Arrive() {
    std::lock_guard<std::mutex> l(mu_);
    ++arrived_;
    cv_.notify_all();
  }
  void WaitArrived(int n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return arrived_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitOpen() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool open_ = false;
};

Parameters Customer(const std::string& name, int64_t age) {
  Parameters p;
  p.add("first_name", name).add("age", age);
  return p;
}

class CallerThreadTest : public SharedServerTest<CallerThreadTest> {};

// Eight threads, each doing every kind of synchronous record call: the answers are those of
// the client's own connection, and the server counts one more connection per thread while
// the threads live.
TEST_F(CallerThreadTest, EachThreadCallsOverItsOwnConnectionWithTheSameAnswers) {
  TenantHandle t = MakeTenant(*server_, *admin_, "caller-threads");
  auto client = Client::connect(server_->address(), t.id, t.key, CallerThreads());
  const double before = Connections(*server_);
  constexpr int kThreads = 8, kRecords = 20;
  Gate gate;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::string first_failure;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    if (failures++ == 0) first_failure = what;
  };
  std::vector<std::thread> threads;
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&, n] {
      const std::string name = "thread" + std::to_string(n);
      std::vector<RecordId> ids;
      for (int i = 0; i < kRecords; ++i) {
        Result added = client->addRecord("Customers", Customer(name, i));
        if (!added.ok()) return fail("add: " + added.getMessage());
        ids.push_back(added.getId());
      }
      gate.Arrive();
      gate.WaitOpen();
      for (int i = 0; i < kRecords; ++i) {
        Result got = client->getRecord("Customers", "first_name,age", ids[i]);
        if (!got.ok() || got.getRecords().at(0).get("age").asInt() != i) {
          return fail("get: " + got.getMessage());
        }
        Result updated = client->updateRecord("Customers", ids[i], Customer(name, i + 100));
        if (!updated.ok()) return fail("update: " + updated.getMessage());
      }
      auto batch = client->getRecords("Customers", "age", ids);
      if (!batch.ok() || batch.value().size() != ids.size()) return fail("getRecords");
      for (size_t i = 0; i < ids.size(); ++i) {
        if (batch.value()[i].getRecords().at(0).get("age").asInt() != static_cast<int64_t>(i) + 100) {
          return fail("getRecords value");
        }
      }
      SearchQuery q;
      q.object = "Customers";
      q.criteria = "first_name = ? AND age >= ?";
      q.parameters = {Value::text(name), Value::integer(110)};
      Result found = client->search(q);
      if (!found.ok() || found.getRecords().size() != kRecords - 10) {
        return fail("search: " + found.getMessage());
      }
      if (!client->deleteRecord("Customers", ids[0]).ok()) return fail("delete");
      Result gone = client->getRecord("Customers", "*", ids[0]);
      if (gone.getCode() != ErrorCode::NotFound) return fail("deleted record: " + gone.getMessage());
    });
  }
  gate.WaitArrived(kThreads);
  // Every thread has made its first call and is still alive: one connection each.
  EXPECT_EQ(Connections(*server_), before + kThreads);
  gate.Open();
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  // The threads are gone, and so are their connections; the client's own one stays.
  EXPECT_EQ(WaitForConnections(*server_, before), before);

  // What the threads left, read over the client's connection (asynchronous calls do not
  // take the caller-thread path) and through another client.
  SearchQuery all;
  all.object = "Customers";
  all.numberOfRows = 1000;
  Result mine = client->searchAsync(all).get();
  ASSERT_TRUE(mine.ok()) << mine.getMessage();
  EXPECT_EQ(mine.getRecords().size(), static_cast<size_t>(kThreads * (kRecords - 1)));
  Result theirs = t.client->search(all);
  ASSERT_TRUE(theirs.ok()) << theirs.getMessage();
  EXPECT_EQ(theirs.getRecords().size(), mine.getRecords().size());
}

// Errors on a caller thread are the client connection's, word for word.
TEST_F(CallerThreadTest, ErrorsAreThoseOfTheClientsConnection) {
  TenantHandle t = MakeTenant(*server_, *admin_, "caller-errors");
  auto client = Client::connect(server_->address(), t.id, t.key, CallerThreads());
  std::thread([&] {
    Result missing = client->getRecord("Customers", "*", RecordId(424242));
    Result viaLoop = client->getRecordAsync("Customers", "*", RecordId(424242)).get();
    EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
    EXPECT_EQ(missing.getMessage(), viaLoop.getMessage());
    Result noObject = client->addRecord("NoSuchObject", Customer("x", 1));
    Result noObjectViaLoop = client->addRecordAsync("NoSuchObject", Customer("x", 1)).get();
    EXPECT_EQ(noObject.getCode(), noObjectViaLoop.getCode());
    EXPECT_EQ(noObject.getMessage(), noObjectViaLoop.getMessage());
    SearchQuery bad;
    bad.object = "Customers";
    bad.criteria = "age >";
    Result parse = client->search(bad);
    EXPECT_EQ(parse.getCode(), ErrorCode::InvalidArgument);
    EXPECT_EQ(parse.getMessage(), client->searchAsync(bad).get().getMessage());
  }).join();
}

// Destroying the client closes the connection of every thread that used it, while those
// threads live on; they can then use another client.
TEST_F(CallerThreadTest, DestroyingTheClientClosesEveryThreadsConnection) {
  TenantHandle t = MakeTenant(*server_, *admin_, "caller-close");
  const double before = Connections(*server_);
  auto client = Client::connect(server_->address(), t.id, t.key, CallerThreads());
  constexpr int kThreads = 4;
  Gate used, closed;
  std::atomic<int> ok{0};
  std::unique_ptr<Client> second;
  std::vector<std::thread> threads;
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&] {
      if (client->addRecord("Customers", Customer("first", 1)).ok()) ++ok;
      used.Arrive();
      closed.WaitOpen();
      if (second->addRecord("Customers", Customer("second", 2)).ok()) ++ok;
      used.Arrive();
      closed.WaitArrived(1);  // held until the count below is taken
    });
  }
  used.WaitArrived(kThreads);
  EXPECT_EQ(Connections(*server_), before + 1 + kThreads);
  client.reset();
  EXPECT_EQ(WaitForConnections(*server_, before), before);
  second = Client::connect(server_->address(), t.id, t.key, CallerThreads());
  closed.Open();
  used.WaitArrived(2 * kThreads);
  EXPECT_EQ(Connections(*server_), before + 1 + kThreads);
  closed.Arrive();
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 2 * kThreads);
  second.reset();
  EXPECT_EQ(WaitForConnections(*server_, before), before);
}

// Through a TenantContext: a context made before or after a thread's first call works on
// that thread, and deleting the policy denies the thread's next call as it denies the
// client connection's.
TEST_F(CallerThreadTest, ContextsAndTheirRevocationAreExact) {
  TenantHandle pub = MakeTenant(*server_, *admin_, "caller-publisher");
  TenantHandle con = MakeTenant(*server_, *admin_, "caller-consumer");
  auto reader = pub.client->createUser(0, "reader", AdminLevel::User);
  ASSERT_TRUE(reader.ok()) << reader.getMessage();
  ASSERT_TRUE(pub.client->createRole(0, "read", {{"Customers", Rights{true, false, false, false}}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "read", pub.id, reader.value().user.id).ok());
  Result shared = pub.client->addRecord("Customers", Customer("shared", 40));
  ASSERT_TRUE(shared.ok()) << shared.getMessage();
  PolicyInfo policy;
  policy.name = "read-all";
  policy.designated = con.id;
  policy.userId = reader.value().user.id;
  policy.scope = {{"Customers", "", {}}};
  ASSERT_TRUE(pub.client->createPolicy(0, policy).ok());

  auto client = Client::connect(server_->address(), con.id, con.key, CallerThreads());
  Gate step, next;
  std::thread th([&] {
    ASSERT_TRUE(client->getRecord("Customers", "*", RecordId(1)).getCode() != ErrorCode::Unavailable);
    step.Arrive();  // this thread's connection is open; the context is made now
    next.WaitOpen();
  });
  step.WaitArrived(1);
  TenantContext ctx(*client, pub.id);
  next.Open();
  th.join();

  auto onThread = [&](RecordId id) {
    Result r;
    std::thread([&] { r = client->getRecord("Customers", "first_name", id, ctx); }).join();
    return r;
  };
  Result got = onThread(shared.getId());
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords().at(0).get("first_name").asText(), "shared");

  // One long-lived thread reads before and after the policy goes.
  Gate read, revoked;
  Result after;
  std::thread longLived([&] {
    EXPECT_TRUE(client->getRecord("Customers", "first_name", shared.getId(), ctx).ok());
    read.Arrive();
    revoked.WaitOpen();
    after = client->getRecord("Customers", "first_name", shared.getId(), ctx);
  });
  read.WaitArrived(1);
  ASSERT_TRUE(pub.client->deletePolicy(0, "read-all").ok());
  revoked.Open();
  longLived.join();
  Result viaLoop = client->getRecordAsync("Customers", "first_name", shared.getId(), ctx).get();
  EXPECT_FALSE(after.ok());
  EXPECT_EQ(after.getCode(), viaLoop.getCode());
  EXPECT_EQ(after.getMessage(), viaLoop.getMessage());
}

// A thread whose connection is lost logs in again by itself: a read made after the server
// restarted is sent again on the new connection, and so is a later write.
TEST(CallerThreadRestartTest, ALostServerIsLoggedInToAgainAndTheReadSentAgain) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "caller-restart");
  auto client = Client::connect(server.address(), t.id, t.key, CallerThreads());
  Gate first, restarted;
  Result reread, again;
  std::thread th([&] {
    EXPECT_TRUE(client->addRecord("Customers", Customer("before", 1)).ok());
    first.Arrive();
    restarted.WaitOpen();
    reread = client->getRecord("Customers", "first_name", RecordId(1));
    again = client->addRecord("Customers", Customer("after", 2));
  });
  first.WaitArrived(1);
  ASSERT_TRUE(server.Restart()) << server.log();
  restarted.Open();
  th.join();
  ASSERT_TRUE(reread.ok()) << reread.getMessage();
  EXPECT_EQ(reread.getRecords().at(0).get("first_name").asText(), "before");
  EXPECT_TRUE(again.ok()) << again.getMessage();
}

// A key revoked after the client connected: a thread that opens its connection afterwards
// is refused with the server's answer to the key.
TEST_F(CallerThreadTest, ARevokedKeyIsRefusedOnANewThread) {
  TenantHandle t = MakeTenant(*server_, *admin_, "caller-revoked");
  auto key = t.client->createApiKey(0, t.user);
  ASSERT_TRUE(key.ok()) << key.getMessage();
  auto client = Client::connect(server_->address(), t.id, key.value().apiKey, CallerThreads());
  ASSERT_TRUE(t.client->revokeApiKey(0, key.value().key.keyId).ok());
  Result refused;
  std::thread([&] { refused = client->addRecord("Customers", Customer("late", 1)); }).join();
  EXPECT_EQ(refused.getCode(), ErrorCode::Unauthenticated) << refused.getMessage();
  EXPECT_EQ(AllRecords(*t.client, "Customers").size(), 0u);
}

// A thread that runs a KJ event loop of its own cannot have the client's: its calls go over
// the client's connection and are answered all the same.
TEST_F(CallerThreadTest, AThreadWithItsOwnEventLoopIsServedByTheClientsConnection) {
  TenantHandle t = MakeTenant(*server_, *admin_, "caller-own-loop");
  auto client = Client::connect(server_->address(), t.id, t.key, CallerThreads());
  const double before = Connections(*server_);
  std::thread([&] {
    auto io = kj::setupAsyncIo();
    Result added = client->addRecord("Customers", Customer("own-loop", 7));
    ASSERT_TRUE(added.ok()) << added.getMessage();
    Result got = client->getRecord("Customers", "age", added.getId());
    ASSERT_TRUE(got.ok()) << got.getMessage();
    EXPECT_EQ(got.getRecords().at(0).get("age").asInt(), 7);
    EXPECT_EQ(Connections(*server_), before);  // no connection of its own
  }).join();
}

}  // namespace
}  // namespace cotenant::testing
