// End-to-end: the SDK against a real cotenantd process on loopback.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

// Sends raw bytes on a fresh connection and waits until the server closes it (or 5 s).
bool SendGarbageAndWaitForClose(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!::write(fd, bytes.data(), bytes.size());
  char buf[4096];
  bool closed = false;
  for (int i = 0; i < 100; ++i) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      closed = true;
      break;
    }
    if (n < 0) break;  // timed out
  }
  ::close(fd);
  return closed;
}

Parameters Customer(const std::string& first, int64_t age) {
  Parameters p;
  p.add("first_name", first).add("age", age);
  return p;
}

class E2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Cotenantd({"--max-record-kb", "64", "--max-batch", "500", "--max-message-mb", "2"});
    ASSERT_TRUE(server_->ok()) << server_->log();
    ASSERT_FALSE(server_->admin_key().empty());
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    delete server_;
    server_ = nullptr;
  }

  TenantHandle Tenant(const std::string& name) { return MakeTenant(*server_, *admin_, name); }

  static Cotenantd* server_;
  static Client* admin_;
};

Cotenantd* E2ETest::server_ = nullptr;
Client* E2ETest::admin_ = nullptr;

TEST_F(E2ETest, FirstStartWritesTheAdminKeyReadableOnlyByItsOwner) {
  struct stat st{};
  ASSERT_EQ(::stat((server_->data_dir() + "/data/admin.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_NE(server_->log().find("admin.key"), std::string::npos) << server_->log();
  EXPECT_EQ(admin_->user().level, AdminLevel::SystemAdmin);
}

TEST_F(E2ETest, LoginWithGoodAndBadKeys) {
  TenantHandle a = Tenant("login-a");
  TenantHandle b = Tenant("login-b");
  auto who = a.client->whoami();
  ASSERT_TRUE(who.ok()) << who.getMessage();
  EXPECT_EQ(who.value().tenantId, a.id);
  auto expect_unauth = [&](uint64_t tenant, const std::string& key) {
    try {
      Client::connect(server_->address(), tenant, key);
      ADD_FAILURE() << "login succeeded for tenant " << tenant;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unauthenticated) << e.what();
    }
  };
  expect_unauth(a.id, "not-a-key");
  expect_unauth(a.id, a.key + "x");
  expect_unauth(b.id, a.key);      // a key of another tenant's user
  expect_unauth(987654321, a.key); // an unknown tenant
  expect_unauth(a.id, "");
  try {
    Client::connect("127.0.0.1:1", a.id, a.key);
    ADD_FAILURE() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable);
  }
}

TEST_F(E2ETest, CrudRoundTrip) {
  TenantHandle t = Tenant("crud");
  Parameters p;
  p.add("first_name", "John").add("last_name", "Smith").add("age", int64_t{42}).add("vip", true);
  Result added = t.client->addRecord("Customers", p);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  uint64_t id = added.getId();
  ASSERT_GT(id, 0u);

  Result got = t.client->getRecord("Customers", "first_name,age", id);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  ASSERT_EQ(got.getRecords().size(), 1u);
  const Record& r = got.getRecords()[0];
  EXPECT_EQ(r.get("first_name").asText(), "John");
  EXPECT_EQ(r.get("age").asInt(), 42);
  EXPECT_FALSE(r.has("last_name"));  // projected away
  EXPECT_EQ(r.version(), 1u);
  EXPECT_EQ(r.createdBy(), t.client->user().id);

  Parameters u;
  u.add("age", int64_t{43}).addNull("last_name");
  Result updated = t.client->updateRecord("Customers", id, u, 1);
  ASSERT_TRUE(updated.ok()) << updated.getMessage();
  EXPECT_EQ(updated.getRecords()[0].version(), 2u);
  Result stale = t.client->updateRecord("Customers", id, u, 1);
  EXPECT_EQ(stale.getCode(), ErrorCode::Conflict) << stale.getMessage();

  got = t.client->getRecord("Customers", "*", std::to_string(id));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.getRecords()[0].get("age").asInt(), 43);
  EXPECT_TRUE(got.getRecords()[0].get("last_name").isNull());
  EXPECT_EQ(got.getRecords()[0].get("vip").asBool(), true);

  EXPECT_EQ(t.client->deleteRecord("Customers", id, 1).getCode(), ErrorCode::Conflict);
  ASSERT_TRUE(t.client->deleteRecord("Customers", id, 2).ok());
  EXPECT_EQ(t.client->getRecord("Customers", "*", id).getCode(), ErrorCode::NotFound);
  EXPECT_EQ(t.client->deleteRecord("Customers", id).getCode(), ErrorCode::NotFound);
}

TEST_F(E2ETest, WritesAskingForAMinimalReplyGetIdAndVersionOnly) {
  TenantHandle t = Tenant("minimal");
  Parameters p;
  p.add("first_name", "Ann").add("last_name", std::string(2000, 'x')).add("age", int64_t{30});
  Result full = t.client->addRecord("Customers", p);
  ASSERT_TRUE(full.ok()) << full.getMessage();
  EXPECT_EQ(full.getRecords()[0].get("first_name").asText(), "Ann");

  Result added = t.client->addRecord("Customers", Parameters(p).minimalReply(true));
  ASSERT_TRUE(added.ok()) << added.getMessage();
  ASSERT_EQ(added.getRecords().size(), 1u);
  const Record& a = added.getRecords()[0];
  EXPECT_GT(a.id(), full.getId());
  EXPECT_EQ(a.version(), 1u);
  EXPECT_EQ(a.createdBy(), t.client->user().id);
  EXPECT_GT(a.createdAt(), 0);
  EXPECT_TRUE(a.fields().empty());

  Parameters u;
  u.add("age", int64_t{31}).minimalReply(true);
  Result updated = t.client->updateRecord("Customers", a.id(), u, 1);
  ASSERT_TRUE(updated.ok()) << updated.getMessage();
  EXPECT_EQ(updated.getRecords()[0].version(), 2u);
  EXPECT_EQ(updated.getRecords()[0].id(), a.id());
  EXPECT_TRUE(updated.getRecords()[0].fields().empty());
  // Written in full all the same; errors are those of a full reply.
  Result got = t.client->getRecord("Customers", "*", a.id());
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords()[0].get("age").asInt(), 31);
  EXPECT_EQ(got.getRecords()[0].get("last_name").asText(), std::string(2000, 'x'));
  EXPECT_EQ(t.client->updateRecord("Customers", a.id(), u, 1).getCode(), ErrorCode::Conflict);
}

TEST_F(E2ETest, GetRecordsAnswersEachIdInTheOrderAsked) {
  TenantHandle t = Tenant("batch-get");
  TenantHandle other = Tenant("batch-get-other");
  Result a = t.client->addRecord("Customers", Customer("Ann", 20));
  Result b = t.client->addRecord("Customers", Customer("Bob", 30));
  Result c = t.client->addRecord("Customers", Customer("Cy", 40));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(t.client->deleteRecord("Customers", b.getId()).ok());
  Result theirs = other.client->addRecord("Customers", Customer("Theirs", 50));
  ASSERT_TRUE(theirs.ok());

  std::vector<RecordId> ids = {c.getId(), a.getId(), b.getId(), std::to_string(c.getId()), 999999};
  auto got = t.client->getRecords("Customers", "first_name", ids);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  ASSERT_EQ(got.value().size(), ids.size());
  EXPECT_EQ(got.value()[0].getRecords().at(0).get("first_name").asText(), "Cy");
  EXPECT_FALSE(got.value()[0].getRecords().at(0).has("age"));  // projected away
  EXPECT_EQ(got.value()[1].getRecords().at(0).get("first_name").asText(), "Ann");
  EXPECT_EQ(got.value()[1].getRecords().at(0).id(), a.getId());
  EXPECT_EQ(got.value()[3].getRecords().at(0).get("first_name").asText(), "Cy");
  // A deleted and a never-used id: NotFound each, with getRecord's own message.
  EXPECT_EQ(got.value()[2].getCode(), ErrorCode::NotFound);
  EXPECT_EQ(got.value()[2].getMessage(), t.client->getRecord("Customers", "*", b.getId()).getMessage());
  EXPECT_EQ(got.value()[4].getCode(), ErrorCode::NotFound);
  // Each answer is what getRecord answers for that id.
  Result single = t.client->getRecord("Customers", "first_name", c.getId());
  EXPECT_EQ(got.value()[0].getRecords().at(0).version(), single.getRecords().at(0).version());
  EXPECT_EQ(got.value()[0].getRecords().at(0).modifiedAt(), single.getRecords().at(0).modifiedAt());

  // Ids are per tenant: another tenant's record id reads this tenant's record or nothing.
  auto cross = t.client->getRecords("Customers", "*", {theirs.getId()});
  ASSERT_TRUE(cross.ok());
  if (cross.value()[0].ok()) {
    EXPECT_NE(cross.value()[0].getRecords().at(0).get("first_name").asText(), "Theirs");
  }

  // Nothing asked, nothing answered.
  auto none = t.client->getRecords("Customers", "*", {});
  ASSERT_TRUE(none.ok()) << none.getMessage();
  EXPECT_TRUE(none.value().empty());

  // Errors of the call as a whole.
  EXPECT_EQ(t.client->getRecords("Nope", "*", {a.getId()}).getCode(), ErrorCode::NotFound);
  auto unknown_field = t.client->getRecords("Customers", "shoe_size", {a.getId()});
  EXPECT_EQ(unknown_field.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(unknown_field.getMessage(), t.client->getRecord("Customers", "shoe_size", a.getId()).getMessage());
  auto malformed = t.client->getRecords("Customers", "*", {a.getId(), "12x"});
  EXPECT_EQ(malformed.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(malformed.getMessage().find("ids[1]"), std::string::npos) << malformed.getMessage();
  // The server's batch limit (500 here) bounds the ids.
  std::vector<RecordId> many(501, RecordId(a.getId()));
  auto too_many = t.client->getRecords("Customers", "*", many);
  EXPECT_EQ(too_many.getCode(), ErrorCode::ResourceExhausted);
  EXPECT_NE(too_many.getMessage().find("501 ids"), std::string::npos) << too_many.getMessage();
  many.pop_back();
  auto at_limit = t.client->getRecords("Customers", "*", many);
  ASSERT_TRUE(at_limit.ok()) << at_limit.getMessage();
  EXPECT_EQ(at_limit.value().size(), 500u);

  // A user without the read right is denied the whole call.
  auto u = t.client->createUser(0, "no-read", AdminLevel::User);
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(t.client->createRole(0, "adders", {{"Customers", Rights{false, true, false, false}}}).ok());
  ASSERT_TRUE(t.client->addRoleMember(0, "adders", t.id, u.value().user.id).ok());
  auto adder = Client::connect(server_->address(), t.id, u.value().apiKey);
  EXPECT_EQ(adder->getRecords("Customers", "*", {a.getId()}).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(adder->getRecord("Customers", "*", a.getId()).getCode(), ErrorCode::PermissionDenied);
}

TEST_F(E2ETest, SearchFiltersSortsAndPagesToCompletion) {
  TenantHandle t = Tenant("search");
  std::vector<Parameters> batch;
  std::map<uint64_t, int64_t> age_of;
  for (int i = 0; i < 300; ++i) {
    Parameters p = Customer("n" + std::to_string(i % 37), (i * 7919) % 90);
    if (i % 10 == 0) p.addNull("age");
    batch.push_back(p);
  }
  Result added = t.client->addRecords("Customers", batch);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  ASSERT_EQ(added.ids().size(), 300u);
  for (size_t i = 0; i < 300; ++i) {
    if (i % 10 != 0) age_of[added.ids()[i]] = static_cast<int64_t>((i * 7919) % 90);
  }
  // Expected: age >= 30 sorted by age desc, ties by id.
  std::vector<std::pair<int64_t, uint64_t>> expected;
  for (auto [id, age] : age_of) {
    if (age >= 30) expected.emplace_back(age, id);
  }
  std::sort(expected.begin(), expected.end(), [](auto a, auto b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  SearchQuery q;
  q.object = "Customers";
  q.fields = "age";
  q.criteria = "age >= 30";
  q.sortBy = "age";
  q.sortOrder = "desc";
  q.numberOfRows = 17;
  std::vector<std::pair<int64_t, uint64_t>> got;
  int pages = 0;
  while (true) {
    Result page = t.client->search(q);
    ASSERT_TRUE(page.ok()) << page.getMessage();
    ++pages;
    for (const auto& r : page.getRecords()) got.emplace_back(r.get("age").asInt(), r.id());
    if (page.complete()) break;
    ASSERT_EQ(page.getRecords().size(), 17u);
    q.continuation = page.continuation();
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(got, expected);
  EXPECT_GT(pages, 2);

  // Simple and detailed forms of the criteria grammar.
  Result simple = t.client->searchRecords("Customers", "first_name", "first_name = 'n3'");
  ASSERT_TRUE(simple.ok()) << simple.getMessage();
  for (const auto& r : simple.getRecords()) EXPECT_EQ(r.get("first_name").asText(), "n3");
  EXPECT_FALSE(simple.getRecords().empty());
  Result detailed = t.client->searchRecords("Customers", "first_name,age", "age is null", "first_name",
                                            "asc", "", "", 2, 5);
  ASSERT_TRUE(detailed.ok()) << detailed.getMessage();
  EXPECT_EQ(detailed.getRecords().size(), 5u);
  for (const auto& r : detailed.getRecords()) EXPECT_TRUE(r.get("age").isNull());
}

TEST_F(E2ETest, SearchWithBoundParametersNeedsNoQuoting) {
  TenantHandle t = Tenant("params");
  const std::string tricky = "O'Brien' OR first_name != '";
  std::vector<Parameters> batch = {Customer(tricky, 41), Customer("O'Brien", 41), Customer("Ann", 20),
                                   Customer("Bo", 64)};
  Result added = t.client->addRecords("Customers", batch);
  ASSERT_TRUE(added.ok()) << added.getMessage();

  SearchQuery q;
  q.object = "Customers";
  q.fields = "first_name,age";
  q.criteria = "first_name = ? AND age >= ?";
  q.parameters = {Value::text(tricky), Value::integer(40)};
  Result r = t.client->search(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), tricky);
  // Text for a non-text field converts as record values do; IN lists take them too.
  q.criteria = "age IN (?, ?) AND first_name starts with ?";
  q.parameters = {Value::text("20"), Value::integer(64), Value::text("Bo")};
  r = t.client->search(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  EXPECT_EQ(r.getRecords()[0].get("age").asInt(), 64);

  // Each mistake is named.
  q.criteria = "age > ? AND first_name = ?";
  q.parameters = {Value::integer(1)};
  r = t.client->search(q);
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.getMessage(), "criteria: at column 26: parameter 2 has no value (1 given)");
  q.criteria = "age > ?";
  q.parameters = {Value::floating(1), Value::text("x")};
  r = t.client->search(q);
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.getMessage().find("2 parameter(s) given"), std::string::npos) << r.getMessage();
  q.parameters = {Value::text(std::string(17 << 10, 'x'))};
  r = t.client->search(q);
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.getMessage().find("criteria with their parameters are over"), std::string::npos)
      << r.getMessage();

  // A continuation token belongs to its parameters: other values are another query.
  q.criteria = "age >= ?";
  q.parameters = {Value::integer(0)};
  q.numberOfRows = 1;
  Result first = t.client->search(q);
  ASSERT_TRUE(first.ok()) << first.getMessage();
  ASSERT_FALSE(first.complete());
  q.continuation = first.continuation();
  EXPECT_TRUE(t.client->search(q).ok());
  q.parameters = {Value::integer(30)};
  r = t.client->search(q);
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument) << r.getMessage();
}

TEST_F(E2ETest, EveryTypedError) {
  TenantHandle t = Tenant("errors");
  // NotFound
  EXPECT_EQ(t.client->getRecord("Nope", "*", 1).getCode(), ErrorCode::NotFound);
  EXPECT_EQ(t.client->getRecord("Customers", "*", 999999).getCode(), ErrorCode::NotFound);
  // InvalidArgument, naming the problem
  Result bad = t.client->searchRecords("Customers", "*", "age >> 3");
  EXPECT_EQ(bad.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(bad.getMessage().find("column"), std::string::npos) << bad.getMessage();
  bad = t.client->addRecord("Customers", Customer("x", 1).add("shoe_size", int64_t{9}));
  EXPECT_EQ(bad.getCode(), ErrorCode::InvalidArgument);
  EXPECT_NE(bad.getMessage().find("shoe_size"), std::string::npos) << bad.getMessage();
  Parameters wrong_type;
  wrong_type.add("first_name", "x").add("age", "old");
  EXPECT_EQ(t.client->addRecord("Customers", wrong_type).getCode(), ErrorCode::InvalidArgument);
  Parameters missing;
  missing.add("age", int64_t{3});
  EXPECT_EQ(t.client->addRecord("Customers", missing).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(t.client->getRecord("Customers", "*", "12abc").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(t.client->getRecord("Customers", "nope", 1).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(t.client->searchRecords("Customers", "*", "", "age", "asc", "", "", 0, 5000).getCode(),
            ErrorCode::InvalidArgument);
  // Conflict
  auto dup = t.client->createObject(0, "Customers", {{"x", FieldType::Int, false, false}});
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  // PermissionDenied: a plain user may not administer; tenant admins may not create tenants.
  auto plain = t.client->createUser(0, "plain", AdminLevel::User);
  ASSERT_TRUE(plain.ok()) << plain.getMessage();
  auto pc = Client::connect(server_->address(), t.id, plain.value().apiKey);
  EXPECT_EQ(pc->createObject(0, "Mine", {}).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(pc->createUser(0, "x", AdminLevel::User).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(t.client->createTenant("evil", TenantKind::Tenant).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(t.client->createUser(0, "root2", AdminLevel::SystemAdmin).getCode(), ErrorCode::PermissionDenied);
  // ResourceExhausted: record size, batch size.
  Parameters huge;
  huge.add("first_name", std::string(100 * 1024, 'x'));
  EXPECT_EQ(t.client->addRecord("Customers", huge).getCode(), ErrorCode::ResourceExhausted);
  std::vector<Parameters> many(501, Customer("m", 1));
  Result too_many = t.client->addRecords("Customers", many);
  EXPECT_EQ(too_many.getCode(), ErrorCode::ResourceExhausted) << too_many.getMessage();
  EXPECT_EQ(t.client->searchRecords("Customers", "*", "age = 1").getRecords().size(), 0u);
  // Unauthenticated is covered by LoginWithGoodAndBadKeys.
}

TEST_F(E2ETest, ContextNamingAnotherTenantIsDeniedAlikeForUnknownTenants) {
  TenantHandle a = Tenant("ctx-a");
  TenantHandle b = Tenant("ctx-b");
  std::string known, unknown;
  try {
    TenantContext ctx(*a.client, b.id);
    ADD_FAILURE() << "context to a tenant without a policy was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
    known = e.message();
  }
  try {
    TenantContext ctx(*a.client, uint64_t{88888888});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
    unknown = e.message();
  }
  // Same words apart from the tenant id: ids cannot be probed.
  auto strip = [](std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), ::isdigit), s.end());
    return s;
  };
  EXPECT_EQ(strip(known), strip(unknown));
  // A context naming one's own tenant is the caller's tenant.
  TenantContext self(*a.client, a.id);
  Result r = a.client->addRecord("Customers", Customer("me", 1), self);
  EXPECT_TRUE(r.ok()) << r.getMessage();
}

TEST_F(E2ETest, ManyCallsInFlightOnOneClient) {
  TenantHandle t = Tenant("inflight");
  std::vector<std::future<Result>> adds;
  for (int i = 0; i < 300; ++i) adds.push_back(t.client->addRecordAsync("Customers", Customer("f", i)));
  std::vector<uint64_t> ids;
  for (auto& f : adds) {
    Result r = f.get();
    ASSERT_TRUE(r.ok()) << r.getMessage();
    ids.push_back(r.getId());
  }
  std::vector<std::future<Result>> gets;
  for (uint64_t id : ids) gets.push_back(t.client->getRecordAsync("Customers", "age", id));
  for (size_t i = 0; i < gets.size(); ++i) {
    Result r = gets[i].get();
    ASSERT_TRUE(r.ok()) << r.getMessage();
    EXPECT_EQ(r.getRecords()[0].get("age").asInt(), static_cast<int64_t>(i));
  }
}

TEST_F(E2ETest, MalformedAndOversizedMessagesOnlyHurtTheirConnection) {
  TenantHandle t = Tenant("wire");
  ASSERT_TRUE(t.client->addRecord("Customers", Customer("before", 1)).ok());
  // Garbage framing: a segment table claiming an absurd size, then noise.
  std::string garbage("\xff\xff\xff\x7f\xff\xff\xff\xff", 8);
  garbage += std::string(64, '\x5a');
  EXPECT_TRUE(SendGarbageAndWaitForClose(server_->port(), garbage));
  // Random noise.
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  EXPECT_TRUE(SendGarbageAndWaitForClose(server_->port(), noise));
  // An oversized but well-formed message (the server's limit is 2 MiB).
  {
    auto big = Client::connect(server_->address(), t.id, t.key);
    Parameters p;
    p.add("first_name", std::string(3 << 20, 'y'));
    Result r = big->addRecord("Customers", p);
    EXPECT_FALSE(r.ok());
  }
  // The established client and new clients are still served.
  Result after = t.client->addRecord("Customers", Customer("after", 2));
  EXPECT_TRUE(after.ok()) << after.getMessage();
  auto fresh = Client::connect(server_->address(), t.id, t.key);
  EXPECT_TRUE(fresh->getRecord("Customers", "*", after.getId()).ok());
}

TEST_F(E2ETest, HealthAndMetrics) {
  TenantHandle t = Tenant("ops");
  Result r = t.client->addRecord("Customers", Customer("m", 1));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(t.client->getRecord("Customers", "*", r.getId()).ok());
  EXPECT_EQ(t.client->getRecord("Customers", "*", 424242).getCode(), ErrorCode::NotFound);
  std::string health = HttpGet(server_->http_port(), "/healthz");
  EXPECT_NE(health.find("200"), std::string::npos) << health;
  std::string metrics = HttpGet(server_->http_port(), "/metrics");
  EXPECT_NE(metrics.find("cotenant_requests_total{api=\"getRecord\",outcome=\"OK\"}"), std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("cotenant_requests_total{api=\"getRecord\",outcome=\"NotFound\"}"), std::string::npos);
  EXPECT_NE(metrics.find("cotenant_request_duration_seconds_bucket{api=\"addRecord\""), std::string::npos);
  std::string missing = HttpGet(server_->http_port(), "/nope");
  EXPECT_NE(missing.find("404"), std::string::npos);
}

TEST_F(E2ETest, TenantDeletionRemovesDataAndLocksOutItsUsers) {
  TenantHandle t = Tenant("doomed");
  Result r = t.client->addRecord("Customers", Customer("gone", 1));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(admin_->deleteTenant(t.id).ok());
  // The open session is refused at once.
  Result after = t.client->getRecord("Customers", "*", r.getId());
  EXPECT_EQ(after.getCode(), ErrorCode::Unauthenticated) << after.getMessage();
  try {
    Client::connect(server_->address(), t.id, t.key);
    ADD_FAILURE() << "login to a deleted tenant succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unauthenticated);
  }
  auto tenants = admin_->listTenants();
  ASSERT_TRUE(tenants.ok());
  for (const auto& info : tenants.value()) EXPECT_NE(info.id, t.id);
  // Re-created under the same name: a new id and nothing of the old tenant.
  TenantHandle again = Tenant("doomed");
  EXPECT_GT(again.id, t.id);
  EXPECT_EQ(again.client->getRecord("Customers", "*", r.getId()).getCode(), ErrorCode::NotFound);
}

TEST(E2EShutdown, SigtermStopsCleanlyAndDataSurvives) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  uint64_t id = 0, tenant = 0;
  std::string key;
  {
    auto admin = AdminClient(server);
    TenantHandle t = MakeTenant(server, *admin, "durable");
    tenant = t.id;
    key = t.key;
    Result r = t.client->addRecord("Customers", Customer("kept", 7));
    ASSERT_TRUE(r.ok());
    id = r.getId();
  }
  int status = server.Stop();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();
  ASSERT_TRUE(server.Restart()) << server.log();
  auto admin = AdminClient(server);
  auto objects = admin->listObjects(tenant);
  ASSERT_TRUE(objects.ok()) << objects.getMessage();
  EXPECT_EQ(objects.value().size(), 1u);
  auto users = admin->listUsers(tenant);
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users.value().size(), 1u);
  auto client = Client::connect(server.address(), tenant, key);
  Result got = client->getRecord("Customers", "*", id);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords()[0].get("first_name").asText(), "kept");
}

// Metric samples of /metrics text whose name starts with `prefix`, summed; -1 if none.
double SumOfSamples(const std::string& metrics, const std::string& prefix, int* count = nullptr) {
  double sum = 0;
  int n = 0;
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    ++n;
  }
  if (count != nullptr) *count = n;
  return n == 0 ? -1 : sum;
}

TEST(E2ELoops, ClientsOnFourLoopsEachSeeExactlyTheirOwnRecords) {
  Cotenantd server({"--rpc-threads", "4"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  constexpr int kTenants = 8;
  constexpr int kRounds = 60;
  std::vector<TenantHandle> tenants;
  for (int i = 0; i < kTenants; ++i) tenants.push_back(MakeTenant(server, *admin, "loops-" + std::to_string(i)));
  std::vector<std::string> failures(kTenants);
  std::vector<std::thread> threads;
  for (int i = 0; i < kTenants; ++i) {
    threads.emplace_back([&, i] {
      // A second connection per tenant, so that the tenant's calls cross loops too.
      auto other = Client::connect(server.address(), tenants[i].id, tenants[i].key);
      std::vector<RecordId> mine;
      for (int r = 0; r < kRounds && failures[i].empty(); ++r) {
        Client& c = r % 2 == 0 ? *tenants[i].client : *other;
        std::string name = "t" + std::to_string(i) + "-r" + std::to_string(r);
        Result add = c.addRecord("Customers", Customer(name, r));
        if (!add.ok()) { failures[i] = "add: " + add.getMessage(); break; }
        mine.push_back(add.getId());
        Parameters u;
        u.add("age", int64_t{r + 1000});
        Result up = c.updateRecord("Customers", add.getId(), u, 1);
        if (!up.ok()) { failures[i] = "update: " + up.getMessage(); break; }
        Result got = c.getRecord("Customers", "first_name,age", add.getId());
        if (!got.ok() || got.getRecords()[0].get("first_name").asText() != name ||
            got.getRecords()[0].get("age").asInt() != r + 1000) {
          failures[i] = "get after update: " + got.getMessage();
        }
      }
      auto batch = other->getRecords("Customers", "first_name", mine);
      if (!batch.ok() || batch.value().size() != mine.size()) {
        failures[i] = "getRecords: " + batch.getMessage();
        return;
      }
      for (const Result& one : batch.value()) {
        if (!one.ok()) failures[i] = "getRecords entry: " + one.getMessage();
      }
      Result all = tenants[i].client->searchRecords("Customers", "first_name", "", Parameters());
      if (!all.ok() || all.getRecords().size() != mine.size()) {
        failures[i] = "search: " + all.getMessage() + " (" + std::to_string(all.getRecords().size()) + " rows)";
        return;
      }
      std::string prefix = "t" + std::to_string(i) + "-";
      for (const auto& rec : all.getRecords()) {
        if (rec.get("first_name").asText().rfind(prefix, 0) != 0) {
          failures[i] = "saw another tenant's record " + rec.get("first_name").asText();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTenants; ++i) EXPECT_EQ(failures[i], "") << "tenant " << i;
  // Every loop served connections: the accepting loop hands them out in turn.
  std::string metrics = HttpGet(server.http_port(), "/metrics");
  EXPECT_NE(metrics.find("\ncotenant_rpc_loops 4\n"), std::string::npos) << metrics;
  for (int loop = 0; loop < 4; ++loop) {
    std::string sample = "cotenant_rpc_loop_connections_total{loop=\"" + std::to_string(loop) + "\"}";
    EXPECT_GE(SumOfSamples(metrics, sample), 3) << sample << "\n" << metrics;
  }
}

TEST(E2ELoops, SigtermUnderLoadOnSeveralLoopsKeepsEveryAcknowledgedWrite) {
  Cotenantd server({"--rpc-threads", "4"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "loaded-shutdown");
  constexpr int kWriters = 6;
  std::vector<std::vector<uint64_t>> acked(kWriters);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::unique_ptr<Client> c;
      try {
        c = Client::connect(server.address(), t.id, t.key);
      } catch (const Error&) {
        return;
      }
      for (int i = 0; !stop.load() && i < 100000; ++i) {
        Result r = c->addRecord("Customers", Customer("w" + std::to_string(w) + "-" + std::to_string(i), i));
        if (!r.ok()) break;  // the server is going away
        acked[w].push_back(r.getId());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  int status = server.Stop();
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();
  EXPECT_NE(server.log().find("shutdown complete"), std::string::npos) << server.log();
  size_t total = 0;
  for (const auto& ids : acked) total += ids.size();
  EXPECT_GT(total, 0u);

  ASSERT_TRUE(server.Restart()) << server.log();
  auto client = Client::connect(server.address(), t.id, t.key);
  for (int w = 0; w < kWriters; ++w) {
    for (size_t from = 0; from < acked[w].size(); from += 500) {
      std::vector<RecordId> ids(acked[w].begin() + from,
                                acked[w].begin() + std::min(acked[w].size(), from + 500));
      auto got = client->getRecords("Customers", "first_name", ids);
      ASSERT_TRUE(got.ok()) << got.getMessage();
      for (size_t k = 0; k < ids.size(); ++k) {
        EXPECT_TRUE(got.value()[k].ok()) << "acknowledged record " << ids[k].value() << " lost";
      }
    }
  }
}

}  // namespace
}  // namespace cotenant::testing
