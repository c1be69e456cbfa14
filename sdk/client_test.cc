// SDK tests that need no cotenantd: value types, argument checks, error mapping, and the
// client's threading and pipelining against a tiny in-process fake of the wire schema.

#include <atomic>
#include <map>
#include <thread>

#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include "cotenant/client.h"
#include "internal.h"
#include "schemas/cotenant.capnp.h"

namespace cotenant {
namespace {

// ---- pure helpers ----------------------------------------------------------------------------

TEST(Parameters, KeepsOrderAndReplacesDuplicates) {
  Parameters p;
  p.add("first_name", "John").add("age", 31).add("score", 2.5).add("vip", true);
  p.addTimestamp("seen", 1000000).addNull("last_name").add("first_name", std::string("Jane"));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.fields()[0].first, "first_name");
  EXPECT_EQ(p.fields()[0].second, Value::text("Jane"));
  EXPECT_EQ(p.fields()[1].second, Value::integer(31));
  EXPECT_EQ(p.fields()[2].second, Value::floating(2.5));
  EXPECT_EQ(p.fields()[3].second, Value::boolean(true));
  EXPECT_EQ(p.fields()[4].second, Value::timestamp(1000000));
  EXPECT_TRUE(p.fields()[5].second.isNull());
  ASSERT_NE(p.find("age"), nullptr);
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST(Parameters, IntegerTypesBecomeInt64) {
  Parameters p;
  p.add("a", 7L).add("b", 7LL).add("c", 7u).add("d", int64_t{-9}).add("e", short{3});
  for (const auto& f : p.fields()) EXPECT_EQ(f.second.type(), Value::Type::Int) << f.first;
  EXPECT_EQ(p.find("d")->asInt(), -9);
}

TEST(Parameters, RetrieveRecordPermissions) {
  Parameters p;
  EXPECT_FALSE(p.retrievesRecordPermissions());
  p.retrieveRecordPermissions(true);
  EXPECT_TRUE(p.retrievesRecordPermissions());
  EXPECT_TRUE(p.empty());
}

TEST(RecordId, AcceptsDecimalStringsAndNumbers) {
  EXPECT_TRUE(RecordId("7771212345").valid());
  EXPECT_EQ(RecordId("7771212345").value(), 7771212345u);
  EXPECT_EQ(RecordId(std::string("18446744073709551615")).value(), UINT64_MAX);
  EXPECT_TRUE(RecordId(42).valid());
  EXPECT_EQ(RecordId(uint64_t{42}).value(), 42u);
}

TEST(RecordId, RejectsEverythingElse) {
  for (const char* bad : {"", "abc", "12a", " 12", "12 ", "+12", "-12", "0", "1.5",
                          "18446744073709551616", "0x10"}) {
    EXPECT_FALSE(RecordId(bad).valid()) << bad;
    EXPECT_EQ(RecordId(bad).text(), bad);
  }
  EXPECT_FALSE(RecordId(0).valid());
  EXPECT_FALSE(RecordId(-3).valid());
  EXPECT_EQ(RecordId(-3).text(), "-3");
}

TEST(ErrorMapping, TaggedRemoteException) {
  auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:NotFound: record 7 not found");
  EXPECT_EQ(e.code, ErrorCode::NotFound);
  EXPECT_EQ(e.message, "record 7 not found");
}

TEST(ErrorMapping, EveryWireCode) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"NotFound", ErrorCode::NotFound},
      {"PermissionDenied", ErrorCode::PermissionDenied},
      {"InvalidArgument", ErrorCode::InvalidArgument},
      {"Conflict", ErrorCode::Conflict},
      {"ResourceExhausted", ErrorCode::ResourceExhausted},
      {"Unauthenticated", ErrorCode::Unauthenticated},
      {"Internal", ErrorCode::Internal},
  };
  for (const auto& [name, code] : cases) {
    auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                       std::string("cotenant:") + name + ": why: because");
    EXPECT_EQ(e.code, code) << name;
    EXPECT_EQ(e.message, "why: because") << name;
  }
}

TEST(ErrorMapping, UntaggedKinds) {
  auto d = internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                     "remote exception: Peer disconnected.");
  EXPECT_EQ(d.code, ErrorCode::Unavailable);
  EXPECT_EQ(d.message, "Peer disconnected.");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Overloaded, "busy").code,
            ErrorCode::Busy);
  auto busy = internal::classifyFailure(internal::ExceptionKind::Overloaded,
                                        "remote exception: cotenant:Busy: queue full");
  EXPECT_EQ(busy.code, ErrorCode::Busy);
  EXPECT_EQ(busy.message, "queue full");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed, "remote exception: boom").code,
            ErrorCode::Internal);
  // A local transport failure is Unavailable even when KJ typed it FAILED.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed,
                                      "read(fd): Connection reset by peer").code,
            ErrorCode::Unavailable);
  // An unknown code name is not trusted.
  auto u = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:Weird: x");
  EXPECT_EQ(u.code, ErrorCode::Internal);
  EXPECT_EQ(u.message, "cotenant:Weird: x");
  // A tagged error wins over the exception type.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                      "cotenant:Unauthenticated: bad key")
                .code,
            ErrorCode::Unauthenticated);
}

TEST(Values, Formatting) {
  EXPECT_EQ(Value().toString(), "null");
  EXPECT_EQ(Value::text("héllo").toString(), "héllo");
  EXPECT_EQ(Value::integer(-42).toString(), "-42");
  EXPECT_EQ(Value::floating(0.1).toString(), "0.1");
  EXPECT_EQ(Value::floating(3).toString(), "3");
  EXPECT_EQ(Value::boolean(false).toString(), "false");
  EXPECT_EQ(Value::timestamp(0).toString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000000).toString(), "2024-05-01T12:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000001).toString(), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(Value::timestamp(-1).toString(), "1969-12-31T23:59:59.999999Z");
  EXPECT_THROW(Value::integer(1).asText(), std::logic_error);
}

TEST(Helpers, FieldLists) {
  EXPECT_TRUE(internal::splitFieldList("*").empty());
  EXPECT_TRUE(internal::splitFieldList("").empty());
  EXPECT_TRUE(internal::splitFieldList("a,*").empty());
  EXPECT_EQ(internal::splitFieldList(" first_name , age,,"),
            (std::vector<std::string>{"first_name", "age"}));
}

TEST(Helpers, SortOrders) {
  EXPECT_EQ(internal::parseSortDescending(""), false);
  EXPECT_EQ(internal::parseSortDescending("ASC"), false);
  EXPECT_EQ(internal::parseSortDescending("Descending"), true);
  EXPECT_EQ(internal::parseSortDescending("up"), std::nullopt);
}

TEST(Helpers, Addresses) {
  EXPECT_EQ(internal::checkAddress("127.0.0.1:7770"), "");
  EXPECT_EQ(internal::checkAddress("[::1]:7770"), "");
  EXPECT_NE(internal::checkAddress("localhost"), "");
  EXPECT_NE(internal::checkAddress("localhost:0"), "");
  EXPECT_NE(internal::checkAddress("localhost:99999"), "");
  EXPECT_NE(internal::checkAddress("::1:7770"), "");
}

TEST(Helpers, EnumNamesRoundTrip) {
  EXPECT_EQ(parseAdminLevel("tenant-admin"), AdminLevel::TenantAdmin);
  EXPECT_EQ(parseTenantKind("msp"), TenantKind::Msp);
  EXPECT_EQ(parseFieldType("timestamp"), FieldType::Timestamp);
  EXPECT_EQ(parseFieldType("string"), std::nullopt);
  EXPECT_STREQ(errorCodeName(ErrorCode::PermissionDenied), "PermissionDenied");
}

TEST(Connect, RefusedIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  try {
    Client::connect("127.0.0.1:1", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable) << e.what();
  }
  try {
    Client::connect("no-port", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  }
}

// ---- a fake server for the client's plumbing ---------------------------------------------------
//
// Just enough of the schema: login (key "good", tenant 5), records() with and without a
// context (context 9 admitted, anything else PermissionDenied), addRecord, getRecord,
// deleteRecord, searchRecords (two pages) and whoami. Runs its own KJ loop on its own thread.

#define FAKE_FAIL(code, msg) KJ_FAIL_REQUIRE("cotenant:" code ": " msg)

class FakeRecords final : public wire::Records::Server {
 public:
  explicit FakeRecords(std::map<uint64_t, std::string>& store) : store_(store) {}

  kj::Promise<void> addRecord(AddRecordContext context) override {
    auto p = context.getParams();
    if (p.getObject() != "Customers") FAKE_FAIL("NotFound", "no object");
    std::string first;
    for (auto f : p.getFields()) {
      if (f.getName() == "first_name") first = f.getValue().getText().cStr();
    }
    uint64_t id = store_.empty() ? 1 : store_.rbegin()->first + 1;
    store_[id] = first;
    fill(context.getResults().initRecord(), id, false);
    return kj::READY_NOW;
  }

  kj::Promise<void> getRecord(GetRecordContext context) override {
    auto p = context.getParams();
    auto it = store_.find(p.getId());
    if (it == store_.end()) {
      KJ_FAIL_REQUIRE(kj::str("cotenant:NotFound: record ", p.getId(), " not found").cStr());
    }
    fill(context.getResults().initRecord(), it->first, p.getRetrievePermissions());
    return kj::READY_NOW;
  }

  kj::Promise<void> deleteRecord(DeleteRecordContext context) override {
    auto p = context.getParams();
    if (p.getExpectedVersion() > 1) FAKE_FAIL("Conflict", "version moved on");
    if (store_.erase(p.getId()) == 0) FAKE_FAIL("NotFound", "gone");
    return kj::READY_NOW;
  }

  kj::Promise<void> searchRecords(SearchRecordsContext context) override {
    auto req = context.getParams().getRequest();
    auto out = context.getResults().initResult();
    bool second = req.getContinuation().size() > 0;
    auto recs = out.initRecords(1);
    fill(recs[0], second ? 2 : 1, false);
    out.setComplete(second);
    if (!second) {
      kj::byte token[] = {'p', '2'};
      out.setContinuation(kj::arrayPtr(token, 2));
    }
    return kj::READY_NOW;
  }

 private:
  void fill(wire::Record::Builder r, uint64_t id, bool perms) {
    r.setId(id);
    auto fields = r.initFields(2);
    fields[0].setName("first_name");
    auto it = store_.find(id);
    fields[0].initValue().setText(it == store_.end() ? "?" : it->second.c_str());
    fields[1].setName("age");
    fields[1].initValue().setNull();
    r.setVersion(1);
    r.setCreatedAt(1714564800000000);
    if (perms) {
      r.initPermissions().setCanUpdate(true);
      r.getPermissions().setCanDelete(false);
    }
  }
  std::map<uint64_t, std::string>& store_;
};

class FakeSession final : public wire::Session::Server {
 public:
  explicit FakeSession(std::map<uint64_t, std::string>& store) : store_(store) {}
  kj::Promise<void> records(RecordsContext context) override {
    auto p = context.getParams();
    if (p.hasContext() && p.getContext().getTenantId() != 9 &&
        p.getContext().getTenantId() != 5) {
      FAKE_FAIL("PermissionDenied", "no data-sharing policy admits you");
    }
    context.getResults().setRecords(kj::heap<FakeRecords>(store_));
    return kj::READY_NOW;
  }
  kj::Promise<void> whoami(WhoamiContext context) override {
    auto u = context.getResults().initUser();
    u.setId(3);
    u.setTenantId(5);
    u.setName("alice");
    return kj::READY_NOW;
  }

 private:
  std::map<uint64_t, std::string>& store_;
};

class FakeCotenant final : public wire::Cotenant::Server {
 public:
  kj::Promise<void> login(LoginContext context) override {
    auto p = context.getParams();
    if (p.getTenantId() != 5 || p.getApiKey() != "good") {
      FAKE_FAIL("Unauthenticated", "bad tenant or key");
    }
    context.getResults().setSession(kj::heap<FakeSession>(store_));
    auto u = context.getResults().initUser();
    u.setId(3);
    u.setTenantId(5);
    u.setName("alice");
    u.setLevel(wire::AdminLevel::TENANT_ADMIN);
    return kj::READY_NOW;
  }

 private:
  std::map<uint64_t, std::string> store_;
};

class FakeServer {
 public:
  FakeServer() {
    std::promise<unsigned> port;
    auto portFuture = port.get_future();
    thread_ = std::thread([this, p = std::move(port)]() mutable {
      auto io = kj::setupAsyncIo();
      capnp::TwoPartyServer server(kj::heap<FakeCotenant>());
      auto listener = io.provider->getNetwork()
                          .parseAddress("127.0.0.1", 0)
                          .wait(io.waitScope)
                          ->listen();
      p.set_value(listener->getPort());
      auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = kj::mv(stop.fulfiller);
      }
      server.listen(*listener).exclusiveJoin(kj::mv(stop.promise)).wait(io.waitScope);
    });
    port_ = portFuture.get();
  }
  ~FakeServer() {
    while (true) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        stop_->fulfill();
        break;
      }
    }
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::thread thread_;
  unsigned port_ = 0;
  std::mutex mu_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

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
