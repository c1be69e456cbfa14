// Two front-ends on one PostgreSQL store and a client given both addresses: when the
// front-end it uses dies, the client logs in to the other by itself. A read in flight is
// sent again there; a write in flight answers Unavailable, saying its outcome is unknown,
// and is never sent twice; a write made once the loss is known goes to the other
// front-end. The CLI takes the same list.
//
// Writes go through one front-end at a time (the second only once the first is dead).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr char kUnknownOutcome[] = "its outcome is unknown";

// The requests a test waits for are padded to more than this many bytes, so that the
// small messages a client sends on its own (a finished question, a released capability)
// are never taken for them.
constexpr size_t kPadding = 3000;
constexpr unsigned long kRequestBytes = 2048;

// True once a connection accepted on 127.0.0.1:port holds more than kRequestBytes its
// server has not read (/proc/net/tcp: an established socket of that local port, its
// rx_queue): a padded request sent to a stopped server has then reached it. Waits at most
// `timeout`.
bool WaitForUnreadRequest(int port, std::chrono::milliseconds timeout) {
  char local[16];
  std::snprintf(local, sizeof local, ":%04X", port);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      char laddr[64], raddr[64], st[8], queues[64];
      if (std::sscanf(line.c_str(), "%*s %63s %63s %7s %63s", laddr, raddr, st, queues) != 4) {
        continue;
      }
      std::string l = laddr;
      if (l.size() < 5 || l.substr(l.size() - 5) != local || std::string(st) != "01") continue;
      std::string q = queues;  // tx_queue:rx_queue, hex
      size_t colon = q.find(':');
      if (colon != std::string::npos &&
          std::stoul(q.substr(colon + 1), nullptr, 16) > kRequestBytes) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Stops the server `pid` (SIGSTOP) and waits, at most `timeout`, until every thread of it
// has stopped: from then on it accepts bytes and reads none. False when it did not stop.
bool Freeze(pid_t pid, std::chrono::milliseconds timeout) {
  if (::kill(pid, SIGSTOP) != 0) return false;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      size_t paren = line.rfind(')');  // "tid (name) STATE ..."
      if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'T') {
        all = false;
        break;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// A search of every Customers record whose criteria are padded past kRequestBytes.
SearchQuery PaddedSearch() {
  SearchQuery q;
  q.object = "Customers";
  q.fields = "first_name";
  q.criteria = "first_name != '" + std::string(kPadding, 'x') + "'";
  return q;
}

// A new Customers record, padded past kRequestBytes.
Parameters PaddedCustomer(const std::string& lastName) {
  return Parameters()
      .add("first_name", std::string(kPadding, 'p'))
      .add("last_name", lastName);
}

// How many records of Customers carry each last_name, read through `client`.
std::map<std::string, int> CountByLastName(Client& client) {
  std::map<std::string, int> out;
  SearchQuery q;
  q.object = "Customers";
  q.fields = "last_name";
  q.numberOfRows = 500;
  for (int page = 0; page < 100; ++page) {
    Result r = client.search(q);
    EXPECT_TRUE(r.ok()) << r.getMessage();
    if (!r.ok()) break;
    for (const Record& rec : r.getRecords()) {
      const Value& v = rec.get("last_name");
      ++out[v.isNull() ? std::string("(null)") : v.asText()];
    }
    if (r.complete()) break;
    q.continuation = r.continuation();
  }
  return out;
}

class FrontendFailoverTest : public ::testing::Test {
 protected:
  // Two front-ends on one store (the second given the first's store explicitly, with its
  // own data directory), a tenant made through the first, and the list "first,second".
  // Tenants, users, keys and policies are made (by `setup` too) before the second starts:
  // a front-end reads them from the store when it starts.
  void SetUp() override {
    if (!OnPostgresql()) GTEST_SKIP() << "needs two front-ends on one PostgreSQL store";
  }

  void Start(std::vector<std::string> flags = {}, const std::function<void()>& setup = {}) {
    first_ = std::make_unique<Cotenantd>(flags);
    ASSERT_TRUE(first_->ok()) << first_->log();
    admin_ = AdminClient(*first_);
    tenant_ = MakeTenant(*first_, *admin_, "failover");
    ASSERT_TRUE(tenant_.client);
    if (setup) {
      setup();
      if (HasFatalFailure()) return;
    }
    std::vector<std::string> second = flags;
    second.insert(second.end(), {"--storage", TestStorageUri(first_->data_dir() + "/data")});
    second_ = std::make_unique<Cotenantd>(second);
    ASSERT_TRUE(second_->ok()) << second_->log();
    list_ = first_->address() + "," + second_->address();
  }

  std::unique_ptr<Client> Connect(const ClientOptions& options = ClientOptions()) {
    return Client::connect(list_, tenant_.id, tenant_.key, options);
  }

  // Stops the first front-end: it accepts bytes but answers nothing.
  void Freeze() { ASSERT_TRUE(::cotenant::testing::Freeze(first_->pid(), std::chrono::seconds(10))); }

  std::unique_ptr<Cotenantd> first_;
  std::unique_ptr<Cotenantd> second_;
  std::unique_ptr<Client> admin_;
  TenantHandle tenant_;
  std::string list_;
};

// ---- one call at a time, on the client's connection --------------------------------------

TEST_F(FrontendFailoverTest, AReadInFlightWhenTheFrontEndDiesIsAnsweredByTheOther) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Connect();
  Result added = client->addRecord("Customers", Parameters().add("first_name", "Ann"));
  ASSERT_TRUE(added.ok()) << added.getMessage();

  Freeze();
  auto read = client->searchAsync(PaddedSearch());
  ASSERT_TRUE(WaitForUnreadRequest(first_->port(), std::chrono::seconds(10)));
  first_->Kill();
  Result r = read.get();
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), "Ann");
}

TEST_F(FrontendFailoverTest, AWriteInFlightWhenTheFrontEndDiesIsUnavailableAndNeverSentAgain) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Connect();
  Freeze();
  auto write = client->addRecordAsync("Customers", PaddedCustomer("in-flight"));
  ASSERT_TRUE(WaitForUnreadRequest(first_->port(), std::chrono::seconds(10)));
  first_->Kill();
  Result r = write.get();
  EXPECT_EQ(r.getCode(), ErrorCode::Unavailable) << r.getMessage();
  EXPECT_NE(r.getMessage().find("addRecord: the connection to " + first_->address() +
                                " was lost while the call was in flight, so " + kUnknownOutcome),
            std::string::npos)
      << r.getMessage();

  // The next call goes through the other front-end; the lost write was not sent there
  // (the stopped front-end never read it, so it is nowhere).
  Result next = client->addRecord(
      "Customers", Parameters().add("first_name", "Cy").add("last_name", "after"));
  ASSERT_TRUE(next.ok()) << next.getMessage();
  auto counts = CountByLastName(*client);
  EXPECT_EQ(counts.count("in-flight"), 0u);
  EXPECT_EQ(counts["after"], 1);
}

TEST_F(FrontendFailoverTest, AWriteMadeOnceTheLossIsKnownGoesToTheOtherFrontEnd) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Connect();
  Result before = client->addRecord("Customers", Parameters().add("first_name", "Di"));
  ASSERT_TRUE(before.ok()) << before.getMessage();
  first_->Kill();  // no call in flight: the connection is closed under an idle client

  Result r = client->addRecord(
      "Customers", Parameters().add("first_name", "Ed").add("last_name", "after-idle"));
  ASSERT_TRUE(r.ok()) << r.getMessage();
  auto counts = CountByLastName(*client);
  EXPECT_EQ(counts["after-idle"], 1);
  Result old = client->getRecord("Customers", "first_name", before.getId());
  ASSERT_TRUE(old.ok()) << old.getMessage();
  EXPECT_EQ(old.getRecords()[0].get("first_name").asText(), "Di");
}

TEST_F(FrontendFailoverTest, ATenantContextIsOpenedAgainOnTheOtherFrontEnd) {
  // Another tenant shares its Customers with this one (docs/SHARING.md) as a reader.
  TenantHandle provider;
  Result shared;
  ASSERT_NO_FATAL_FAILURE(Start({}, [&] {
    provider = MakeTenant(*first_, *admin_, "provider");
    ASSERT_TRUE(provider.client);
    shared = provider.client->addRecord("Customers", Parameters().add("first_name", "Flo"));
    ASSERT_TRUE(shared.ok()) << shared.getMessage();
    auto reader = provider.client->createUser(0, "failover-reader", AdminLevel::User);
    ASSERT_TRUE(reader.ok()) << reader.getMessage();
    Rights read{true, false, false, false};
    ASSERT_TRUE(provider.client->createRole(0, "reads", {{"Customers", read}}, false).ok());
    ASSERT_TRUE(
        provider.client->addRoleMember(0, "reads", provider.id, reader.value().user.id).ok());
    PolicyInfo policy;
    policy.name = "to-failover";
    policy.designated = tenant_.id;
    policy.userId = reader.value().user.id;
    auto made = provider.client->createPolicy(0, policy);
    ASSERT_TRUE(made.ok()) << made.getMessage();
  }));

  auto client = Connect();
  TenantContext ctx(*client, provider.id);
  Result r = client->getRecord("Customers", "first_name", shared.getId(), ctx);
  ASSERT_TRUE(r.ok()) << r.getMessage();

  first_->Kill();
  r = client->getRecord("Customers", "first_name", shared.getId(), ctx);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), "Flo");
}

TEST_F(FrontendFailoverTest, APhysicalImportBegunOnTheLostConnectionSaysItWasAbandoned) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Connect();
  auto import = client->beginPhysicalImport("Customers");
  auto added = import->add({Parameters().add("first_name", "Mo")});
  ASSERT_TRUE(added.ok()) << added.getMessage();
  first_->Kill();

  const std::string abandoned =
      "the connection this physical import was begun on was lost, which abandoned the "
      "import: begin it again";
  added = import->add({Parameters().add("first_name", "Ned")});
  EXPECT_EQ(added.getCode(), ErrorCode::Unavailable) << added.getMessage();
  EXPECT_EQ(added.getMessage(), abandoned);
  Outcome<uint64_t> committed = import->commit();
  EXPECT_EQ(committed.getCode(), ErrorCode::Unavailable) << committed.getMessage();
  EXPECT_EQ(committed.getMessage(), abandoned);
  // The client itself goes on through the other front-end.
  Outcome<ObjectInfo> described = client->describeObject("Customers");
  ASSERT_TRUE(described.ok()) << described.getMessage();
  EXPECT_EQ(described.value().name, "Customers");
}

TEST_F(FrontendFailoverTest, WhenEveryFrontEndIsGoneTheCallSaysWhichWereTried) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto client = Connect();
  first_->Kill();
  second_->Kill();
  Result r = client->getRecord("Customers", "first_name", 1);
  EXPECT_EQ(r.getCode(), ErrorCode::Unavailable) << r.getMessage();
  EXPECT_NE(r.getMessage().find("no server answered"), std::string::npos) << r.getMessage();
  EXPECT_NE(r.getMessage().find(first_->address()), std::string::npos) << r.getMessage();
  EXPECT_NE(r.getMessage().find(second_->address()), std::string::npos) << r.getMessage();
  Result w = client->addRecord("Customers", Parameters().add("first_name", "Gus"));
  EXPECT_EQ(w.getCode(), ErrorCode::Unavailable) << w.getMessage();
  EXPECT_NE(w.getMessage().find("no server answered"), std::string::npos) << w.getMessage();
}

// ---- the calling thread's own connection ---------------------------------------------------

// Runs `call` on a thread with its own connection to the client (callerThreadConnections),
// once the thread has logged in there and the first front-end is stopped; the first
// front-end is killed once the request has reached it.
template <typename Call>
Result CallerThreadCallWhenTheFrontEndDies(Client& client, Cotenantd& first, Call call) {
  std::promise<void> connected, frozen;
  std::promise<Result> answer;
  std::thread caller([&] {
    Result warm = client.getRecord("Customers", "first_name", 1);  // opens this thread's connection
    (void)warm;  // NotFound: only the connection matters
    connected.set_value();
    frozen.get_future().wait();
    answer.set_value(call());
  });
  connected.get_future().wait();
  EXPECT_TRUE(Freeze(first.pid(), std::chrono::seconds(10)));
  frozen.set_value();
  auto result = answer.get_future();
  EXPECT_TRUE(WaitForUnreadRequest(first.port(), std::chrono::seconds(10)));
  first.Kill();
  Result r = result.get();
  caller.join();
  return r;
}

TEST_F(FrontendFailoverTest, OnACallerThreadAReadInFlightIsAnsweredByTheOther) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ClientOptions options;
  options.callerThreadConnections = true;
  auto client = Connect(options);
  Result added = client->addRecord("Customers", Parameters().add("first_name", "Hal"));
  ASSERT_TRUE(added.ok()) << added.getMessage();

  Result r = CallerThreadCallWhenTheFrontEndDies(*client, *first_, [&] {
    return client->search(PaddedSearch());
  });
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), "Hal");
}

TEST_F(FrontendFailoverTest, OnACallerThreadAWriteInFlightIsUnavailableAndTheNextGoesThrough) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ClientOptions options;
  options.callerThreadConnections = true;
  auto client = Connect(options);

  Result next;
  Result r = CallerThreadCallWhenTheFrontEndDies(*client, *first_, [&] {
    Result lost = client->addRecord("Customers", PaddedCustomer("in-flight"));
    next = client->addRecord("Customers",
                             Parameters().add("first_name", "Jo").add("last_name", "after"));
    return lost;
  });
  EXPECT_EQ(r.getCode(), ErrorCode::Unavailable) << r.getMessage();
  EXPECT_NE(r.getMessage().find("addRecord: the connection to " + first_->address() +
                                " was lost while the call was in flight, so " + kUnknownOutcome),
            std::string::npos)
      << r.getMessage();
  ASSERT_TRUE(next.ok()) << next.getMessage();
  auto counts = CountByLastName(*client);
  EXPECT_EQ(counts.count("in-flight"), 0u);
  EXPECT_EQ(counts["after"], 1);
}

// ---- under load ---------------------------------------------------------------------------

// What one writer thread saw.
struct WriterLog {
  std::map<std::string, uint64_t> acknowledged;  // last_name -> id
  std::set<std::string> unknown;                 // answered Unavailable, outcome unknown
  std::vector<std::string> failures;             // anything else (a test failure)
  int afterKill = 0;                             // rounds finished after the kill
};

// Rounds of: add a record with a unique last_name, read it back, and now and then search.
void WriteAndRead(Client& client, const std::string& prefix, const std::atomic<bool>& killed,
                  std::atomic<int>& rounds, WriterLog* log) {
  constexpr int kMaxRounds = 2000;
  constexpr int kRoundsAfterKill = 40;
  for (int i = 0; i < kMaxRounds && log->afterKill < kRoundsAfterKill; ++i) {
    const bool wasKilled = killed.load();
    const std::string tag = prefix + "-" + std::to_string(i);
    Result w = client.addRecord("Customers",
                                Parameters().add("first_name", "Load").add("last_name", tag));
    if (w.ok()) {
      log->acknowledged[tag] = w.getId();
      Result r = client.getRecord("Customers", "last_name", w.getId());
      if (!r.ok()) {
        log->failures.push_back("getRecord " + tag + ": " + r.getMessage());
      } else if (r.getRecords().empty() || r.getRecords()[0].get("last_name").asText() != tag) {
        log->failures.push_back("getRecord " + tag + " read another record");
      }
    } else if (w.getCode() == ErrorCode::Unavailable &&
               w.getMessage().find(kUnknownOutcome) != std::string::npos) {
      log->unknown.insert(tag);
    } else {
      log->failures.push_back("addRecord " + tag + ": " + w.getMessage());
    }
    if (i % 10 == 0) {
      Result s = client.searchRecords("Customers", "last_name", "first_name = 'Load'");
      if (!s.ok()) log->failures.push_back("searchRecords: " + s.getMessage());
    }
    ++rounds;
    if (wasKilled) ++log->afterKill;
  }
}

TEST_F(FrontendFailoverTest, KilledUnderLoadTheClientsGoOnThroughTheOtherFrontEnd) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto shared = Connect();  // calls handed to the client's loop
  ClientOptions options;
  options.callerThreadConnections = true;
  auto own = Connect(options);  // calls on the calling thread's connection

  std::atomic<bool> killed{false};
  std::atomic<int> sharedRounds{0}, ownRounds{0};
  WriterLog sharedLog, ownLog;
  std::thread a([&] { WriteAndRead(*shared, "shared", killed, sharedRounds, &sharedLog); });
  std::thread b([&] { WriteAndRead(*own, "own", killed, ownRounds, &ownLog); });

  // Mid-stream: once both have gone some rounds.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((sharedRounds.load() < 20 || ownRounds.load() < 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(sharedRounds.load(), 20);
  EXPECT_GE(ownRounds.load(), 20);
  first_->Kill();
  killed = true;
  a.join();
  b.join();

  for (const WriterLog* log : {&sharedLog, &ownLog}) {
    for (const std::string& f : log->failures) ADD_FAILURE() << f;
    // One call at a time per client: at most the one in flight at the kill is unknown,
    // and the client went on for every round after it.
    EXPECT_LE(log->unknown.size(), 1u);
    EXPECT_EQ(log->afterKill, 40);
  }

  // Every acknowledged write is there once, with its id; a write whose outcome was
  // unknown is there at most once; nothing else is.
  auto reader = Client::connect(second_->address(), tenant_.id, tenant_.key);
  auto counts = CountByLastName(*reader);
  size_t expected = 0;
  for (const WriterLog* log : {&sharedLog, &ownLog}) {
    for (const auto& [tag, id] : log->acknowledged) {
      EXPECT_EQ(counts[tag], 1) << tag;
      Result r = reader->getRecord("Customers", "last_name", id);
      ASSERT_TRUE(r.ok()) << tag << ": " << r.getMessage();
      EXPECT_EQ(r.getRecords()[0].get("last_name").asText(), tag);
      ++expected;
    }
    for (const std::string& tag : log->unknown) {
      EXPECT_LE(counts[tag], 1) << tag;
      expected += counts[tag];
    }
  }
  size_t total = 0;
  for (const auto& [tag, n] : counts) total += n;
  EXPECT_EQ(total, expected);
}

// ---- the CLI -----------------------------------------------------------------------------

TEST_F(FrontendFailoverTest, TheCliGoesOnWhenTheFirstAddressIsDead) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Result added = tenant_.client->addRecord("Customers", Parameters().add("first_name", "Kay"));
  ASSERT_TRUE(added.ok()) << added.getMessage();
  first_->Kill();

  auto env = ToolEnv(*second_, tenant_.id, tenant_.key);
  const std::string id = std::to_string(added.getId());
  ToolResult r = RunTool(CliPath(), {"--addr", list_, "record", "get", "Customers", id}, env, "/");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("Kay"), std::string::npos) << r;
  r = RunTool(CliPath(),
              {"--addr", list_, "record", "add", "Customers", "--set", "first_name=Lee",
               "--set", "last_name=from-cli"},
              env, "/");
  EXPECT_EQ(r.code, 0) << r;
  auto reader = Client::connect(second_->address(), tenant_.id, tenant_.key);
  EXPECT_EQ(CountByLastName(*reader)["from-cli"], 1);
}

// ---- search continuation tokens across front-ends -----------------------------------------

// A token is sealed with the front-end's installation secret: a front-end with a secret
// of its own refuses another's token, and front-ends given the same --cache-secret-file
// take each other's.
class ContinuationAcrossFrontEnds : public FrontendFailoverTest {
 protected:
  // The first page (2 rows) of every Customers record, through the first front-end.
  Result FirstPage(std::vector<uint64_t>* ids) {
    std::vector<Parameters> rows;
    for (int i = 0; i < 5; ++i) {
      rows.push_back(Parameters().add("first_name", "P" + std::to_string(i)));
    }
    Result added = tenant_.client->addRecords("Customers", rows);
    EXPECT_TRUE(added.ok()) << added.getMessage();
    *ids = added.ids();
    auto onFirst = Client::connect(first_->address(), tenant_.id, tenant_.key);
    SearchQuery q;
    q.object = "Customers";
    q.numberOfRows = 2;
    Result page = onFirst->search(q);
    EXPECT_TRUE(page.ok()) << page.getMessage();
    EXPECT_FALSE(page.complete());
    return page;
  }

  Result NextPageOnSecond(const std::string& token) {
    auto onSecond = Client::connect(second_->address(), tenant_.id, tenant_.key);
    SearchQuery q;
    q.object = "Customers";
    q.numberOfRows = 2;
    q.continuation = token;
    return onSecond->search(q);
  }
};

TEST_F(ContinuationAcrossFrontEnds, EachWithItsOwnSecretRefusesTheOthersToken) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::vector<uint64_t> ids;
  Result page = FirstPage(&ids);
  Result next = NextPageOnSecond(page.continuation());
  EXPECT_EQ(next.getCode(), ErrorCode::InvalidArgument) << next.getMessage();
  EXPECT_EQ(next.getMessage(), "continuation token does not belong to this query");
}

TEST_F(ContinuationAcrossFrontEnds, WithOneSecretFileTheOtherGoesOnFromTheToken) {
  TempDir dir;
  const std::string secret = dir.path() + "/cache.secret";
  ASSERT_EQ(RunCommand("head -c 32 /dev/urandom > " + secret + " && chmod 600 " + secret), 0);
  ASSERT_NO_FATAL_FAILURE(Start({"--cache-secret-file", secret}));
  std::vector<uint64_t> ids;
  Result page = FirstPage(&ids);
  ASSERT_EQ(page.getRecords().size(), 2u);
  Result next = NextPageOnSecond(page.continuation());
  ASSERT_TRUE(next.ok()) << next.getMessage();
  ASSERT_EQ(next.getRecords().size(), 2u);
  EXPECT_EQ(next.getRecords()[0].id(), ids[2]);
  EXPECT_EQ(next.getRecords()[1].id(), ids[3]);
}

}  // namespace
}  // namespace cotenant::testing
