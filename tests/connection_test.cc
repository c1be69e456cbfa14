// End-to-end: what connections may cost a real cotenantd. Running out of file
// descriptors, connection caps, the login timeout, and messages sent before login (large
// ones, and calls carrying capabilities) must never stop the server from serving others.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "schemas/cotenant.capnp.h"
#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A TCP connection to 127.0.0.1:port from `source`, with 5 s send/receive timeouts; -1
// when it failed.
int ConnectFrom(const char* source, int port) { return ConnectLoopback(port, 5, source); }

// True when the server closes `fd` (end of stream or reset) within about 5 s; false when
// the connection is still open then. What the server sent first (an RPC Abort message,
// whose text says why) is appended to *received.
bool ClosedByServer(int fd, std::string* received = nullptr) {
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    if (received != nullptr) received->append(buf, static_cast<size_t>(n));
  }
  return false;
}

// Sends all of `bytes`; false when the server closed the connection (or 5 s passed).
bool SendAll(int fd, const void* bytes, size_t size) {
  const char* p = static_cast<const char*>(bytes);
  while (size > 0) {
    ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool SendMessage(int fd, capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return SendAll(fd, bytes.begin(), bytes.size());
}

double ServerMetric(const Cotenantd& server, const std::string& sample) {
  return MetricValue(HttpGet(server.http_port(), "/metrics"), sample);
}

// Waits (up to `limit`) until `ok()` holds.
template <typename Pred>
bool Eventually(Pred ok, milliseconds limit = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return ok();
}

// Resident memory of a process, from /proc/<pid>/status, in KiB.
long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A fresh system-admin login and one call; true when both worked.
bool ServesANewClient(const Cotenantd& server) {
  try {
    auto admin = AdminClient(server);
    return admin->listTenants().ok();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "new client: " << e.what();
    return false;
  }
}

void CloseAll(std::vector<int>* fds) {
  for (int fd : *fds) ::close(fd);
  fds->clear();
}

TEST(Connections, AcceptingResumesAfterRunningOutOfFileDescriptors) {
  // 64 descriptors: the store and the loops take some, idle sockets the rest.
  Cotenantd server({"--login-timeout-ms", "600000"}, 64);
  ASSERT_TRUE(server.ok()) << server.log();
  ASSERT_TRUE(ServesANewClient(server));
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    int fd = ConnectLoopback(server.port(), 5);
    if (fd >= 0) idle.push_back(fd);
  }
  ASSERT_GT(idle.size(), 64u);
  std::string health;
  EXPECT_TRUE(Eventually([&] {
    health = HttpGet(server.http_port(), "/healthz");
    return health.find("503") != std::string::npos;
  })) << health;
  EXPECT_NE(health.find("not accepting: "), std::string::npos) << health;
  EXPECT_NE(health.find("Too many open files"), std::string::npos) << health;

  CloseAll(&idle);
  EXPECT_TRUE(Eventually([&] {
    health = HttpGet(server.http_port(), "/healthz");
    return health.find("200") != std::string::npos;
  })) << health;
  EXPECT_NE(health.find("ok"), std::string::npos) << health;
  EXPECT_TRUE(ServesANewClient(server));
  EXPECT_GT(ServerMetric(server, "cotenant_accept_errors_total"), 0);
  // Failures were retried with back-off and reported at a bounded rate, not in a loop.
  EXPECT_LT(server.log().size(), 1u << 20);
  EXPECT_NE(server.log().find("accepting connections again"), std::string::npos);
}

TEST(Connections, CapsCloseConnectionsOverTheTotalAndPerPeerLimits) {
  Cotenantd server({"--max-connections", "4", "--max-connections-per-peer", "3"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto connections = [&] { return ServerMetric(server, "cotenant_connections"); };
  // The start-up probe's connection counts until the server has seen it close.
  ASSERT_TRUE(Eventually([&] { return connections() == 0; }));
  std::vector<int> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(ConnectFrom("127.0.0.1", server.port()));
    ASSERT_TRUE(Eventually([&] { return connections() == i + 1; }));
  }

  // A fourth from the same address is closed at once; another address still gets in.
  int same_peer = ConnectFrom("127.0.0.1", server.port());
  ASSERT_GE(same_peer, 0);
  EXPECT_TRUE(ClosedByServer(same_peer));
  ::close(same_peer);
  open.push_back(ConnectFrom("127.0.0.2", server.port()));
  ASSERT_TRUE(Eventually([&] { return connections() == 4; }));

  // The server is full: a fifth address is closed too.
  int fifth = ConnectFrom("127.0.0.3", server.port());
  ASSERT_GE(fifth, 0);
  EXPECT_TRUE(ClosedByServer(fifth));
  ::close(fifth);

  std::string metrics = HttpGet(server.http_port(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "cotenant_connections_refused_total{reason=\"max_connections_per_peer\"}"), 1)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "cotenant_connections_refused_total{reason=\"max_connections\"}"), 1);

  // Room again once one goes.
  ::close(open[0]);
  open.erase(open.begin());
  ASSERT_TRUE(Eventually([&] { return connections() == 3; }));
  EXPECT_TRUE(ServesANewClient(server));
  CloseAll(&open);
}

TEST(Connections, ConnectionsThatDoNotLogInInTimeAreClosed) {
  Cotenantd server({"--login-timeout-ms", "300"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  int idle = ConnectFrom("127.0.0.1", server.port());
  ASSERT_GE(idle, 0);
  EXPECT_TRUE(ClosedByServer(idle));
  ::close(idle);
  EXPECT_EQ(ServerMetric(server, "cotenant_login_timeouts_total"), 1);
  // A connection that logged in is not affected, however long it stays.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_TRUE(admin->listTenants().ok());
}

TEST(Connections, LargeMessagesBeforeLoginDoNotGrowTheServer) {
  Cotenantd server;  // default limits: 64 MiB messages after login, 64 KiB before
  ASSERT_TRUE(server.ok()) << server.log();
  ASSERT_TRUE(ServesANewClient(server));
  long before = RssKb(server.pid());
  ASSERT_GT(before, 0);

  // Each connection announces a 32 MiB message (one segment) in valid framing and sends
  // all but the last MiB of it, then stays silent.
  constexpr uint32_t kWords = (32u << 20) / 8;
  const std::vector<char> chunk(1 << 20, '\0');
  std::vector<int> flood;
  for (int c = 0; c < 8; ++c) {
    int fd = ConnectFrom("127.0.0.1", server.port());
    ASSERT_GE(fd, 0);
    flood.push_back(fd);
    uint32_t header[2] = {0, kWords};  // segment count - 1, first segment size in words
    if (!SendAll(fd, header, sizeof(header))) continue;
    for (int mib = 0; mib < 31; ++mib) {
      if (!SendAll(fd, chunk.data(), chunk.size())) break;
    }
  }
  std::this_thread::sleep_for(milliseconds(500));
  long during = RssKb(server.pid());
  // Holding them would cost about 256 MiB; refusing them costs next to nothing.
  EXPECT_LT(during - before, 64 << 10) << "RSS before " << before << " KiB, during " << during
                                      << " KiB";
  std::string reply;
  for (int fd : flood) EXPECT_TRUE(ClosedByServer(fd, &reply));
  CloseAll(&flood);
  EXPECT_NE(reply.find("before login"), std::string::npos) << reply;
  EXPECT_TRUE(ServesANewClient(server));
}

TEST(Connections, ACallCarryingManyCapabilitiesClosesItsConnection) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  int fd = ConnectFrom("127.0.0.1", server.port());
  ASSERT_GE(fd, 0);
  {
    capnp::MallocMessageBuilder bootstrap;
    bootstrap.initRoot<capnp::rpc::Message>().initBootstrap().setQuestionId(0);
    ASSERT_TRUE(SendMessage(fd, bootstrap));
  }
  {
    // A call on the bootstrap capability whose parameters carry 1000 capabilities
    // (about 16 KiB: well within the size allowed before login).
    capnp::MallocMessageBuilder message;
    auto call = message.initRoot<capnp::rpc::Message>().initCall();
    call.setQuestionId(1);
    call.initTarget().initPromisedAnswer().setQuestionId(0);
    call.setInterfaceId(0xd0057e2104b06e72ull);
    call.setMethodId(0);
    auto caps = call.initParams().initCapTable(1000);
    for (uint32_t i = 0; i < caps.size(); ++i) caps[i].setSenderHosted(i);
    ASSERT_TRUE(SendMessage(fd, message));
  }
  std::string reply;
  EXPECT_TRUE(ClosedByServer(fd, &reply));
  ::close(fd);
  EXPECT_NE(reply.find("1000 capabilities"), std::string::npos) << reply;
  EXPECT_TRUE(ServesANewClient(server));
}

// A call in raw RPC form on a promised answer (optionally on a pointer field of it).
void PipelinedCall(capnp::rpc::Call::Builder call, uint32_t question, uint32_t on_question,
                   int on_field, uint64_t interface_id, uint16_t method) {
  call.setQuestionId(question);
  auto promised = call.initTarget().initPromisedAnswer();
  promised.setQuestionId(on_question);
  if (on_field >= 0) promised.initTransform(1)[0].setGetPointerField(static_cast<uint16_t>(on_field));
  call.setInterfaceId(interface_id);
  call.setMethodId(method);
}

void AppendMessage(std::string* wire, capnp::MessageBuilder& m) {
  auto bytes = capnp::messageToFlatArray(m);
  wire->append(reinterpret_cast<const char*>(bytes.asBytes().begin()), bytes.asBytes().size());
}

// Bootstrap (question 0) and a login as `t` on it (question 1), in raw RPC form.
void AppendBootstrapAndLogin(std::string* wire, const TenantHandle& t) {
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::rpc::Message>().initBootstrap().setQuestionId(0);
    AppendMessage(wire, m);
  }
  capnp::MallocMessageBuilder m;
  auto call = m.initRoot<capnp::rpc::Message>().initCall();
  PipelinedCall(call, 1, 0, -1, capnp::typeId<wire::Cotenant>(), 0);  // login
  auto params = call.initParams().initContent().initAs<wire::Cotenant::LoginParams>();
  params.setTenantId(t.id);
  params.setApiKey(t.key);
  AppendMessage(wire, m);
}

TEST(Connections, AClientThatNeverReadsItsAnswersDoesNotGrowTheServer) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "never-reads");
  // A record of about 900 KiB (in a field that is not indexed).
  Parameters big;
  big.add("first_name", "x").add("last_name", std::string(900 << 10, 'x'));
  Result added = t.client->addRecord("Customers", big);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  ASSERT_TRUE(t.client->getRecord("Customers", "*", added.getId()).ok());

  int fd = ConnectFrom("127.0.0.1", server.port());
  ASSERT_GE(fd, 0);
  // Bootstrap, login, records() and 800 getRecord calls, all pipelined in one go: the
  // client never reads an answer.
  std::string wire;
  auto append = [&wire](capnp::MessageBuilder& m) { AppendMessage(&wire, m); };
  AppendBootstrapAndLogin(&wire, t);
  {
    capnp::MallocMessageBuilder m;
    auto call = m.initRoot<capnp::rpc::Message>().initCall();
    PipelinedCall(call, 2, 1, 0, capnp::typeId<wire::Session>(), 0);  // session.records()
    call.initParams().initContent().initAs<wire::Session::RecordsParams>();
    append(m);
  }
  constexpr uint32_t kCalls = 800;
  for (uint32_t q = 3; q < 3 + kCalls; ++q) {
    capnp::MallocMessageBuilder m;
    auto call = m.initRoot<capnp::rpc::Message>().initCall();
    PipelinedCall(call, q, 2, 0, capnp::typeId<wire::Records>(), 4);  // records.getRecord()
    auto params = call.initParams().initContent().initAs<wire::Records::GetRecordParams>();
    params.setObject("Customers");
    params.setId(added.getId());
    append(m);
  }
  long before = RssKb(server.pid());
  // The server may stop reading part-way: what it has not read stays in the socket.
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  size_t sent = 0;
  for (int tries = 0; sent < wire.size() && tries < 50; ++tries) {
    ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
  }
  // Let the server do all it will do with those calls: answer a few (the socket takes
  // some) and refuse the rest, since their answers would only pile up.
  const std::string refused = "cotenant_requests_total{api=\"getRecord\",outcome=\"ResourceExhausted\"}";
  EXPECT_TRUE(Eventually([&] { return ServerMetric(server, refused) >= 1; }));
  std::this_thread::sleep_for(seconds(2));
  long after = RssKb(server.pid());
  std::cout << "server RSS grew by " << (after - before) / 1024 << " MiB for " << kCalls
            << " unread answers of 900 KiB\n";
  // Unbounded, the 800 answers of 900 KiB would be about 700 MiB.
  EXPECT_LT(after - before, 160L << 10) << "RSS before " << before << " KiB, after " << after << " KiB";
  // Everyone else is served meanwhile, and the stalled client is not cut off: once it
  // reads, its answers flow.
  EXPECT_TRUE(ServesANewClient(server));
  EXPECT_TRUE(t.client->getRecord("Customers", "*", added.getId()).ok());
  size_t received = 0;
  char buf[1 << 16];
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (int quiet = 0; quiet < 10 && received < (100u << 20);) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      received += static_cast<size_t>(n);
      quiet = 0;
    } else {
      ++quiet;
    }
  }
  // What was built came out once the client read.
  EXPECT_GT(received, 10u << 20) << received;
  ::close(fd);
}

// Logs a raw connection in as `t` (bootstrap and login, pipelined) and waits for the
// login's answer; false when it did not come or was not a success.
bool RawLogin(int fd, const TenantHandle& t) {
  std::string wire;
  AppendBootstrapAndLogin(&wire, t);
  if (!SendAll(fd, wire.data(), wire.size())) return false;
  try {
    for (int i = 0; i < 4; ++i) {
      capnp::StreamFdMessageReader reader(fd);
      auto message = reader.getRoot<capnp::rpc::Message>();
      if (message.isReturn() && message.getReturn().getAnswerId() == 1) {
        return message.getReturn().isResults();
      }
    }
  } catch (const kj::Exception&) {
  }
  return false;
}

TEST(Connections, RequestBytesInFlightAreBoundedServerWide) {
  // Room for four messages of 4 MiB in flight, server-wide.
  constexpr size_t kMessage = 4u << 20;
  Cotenantd server({"--max-message-mb", "4", "--max-inflight-bytes", std::to_string(4 * kMessage)});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "in-flight");
  const std::string inflight = "cotenant_inflight_request_bytes";
  ASSERT_TRUE(Eventually([&] { return ServerMetric(server, inflight) == 0; }));
  long before = RssKb(server.pid());

  // 40 logged-in connections each send all of a 4 MiB message but its last word, and
  // stall. Unbounded, the server would hold about 160 MiB of their bodies.
  constexpr int kFlooders = 40;
  constexpr uint32_t kWords = kMessage / 8;
  const std::vector<char> body(kMessage - 8, '\0');
  // All log in first: once the budget is spent, a connection with nothing in flight waits
  // before reading even a small message.
  std::vector<int> flood;
  for (int c = 0; c < kFlooders; ++c) {
    int fd = ConnectFrom("127.0.0.1", server.port());
    ASSERT_GE(fd, 0);
    flood.push_back(fd);
    ASSERT_TRUE(RawLogin(fd, t)) << "connection " << c;
  }
  for (int fd : flood) {
    // The server may not read the body (its message does not fit): what it does not read
    // stays in the socket, so sending may stop short.
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    uint32_t header[2] = {0, kWords};  // one segment of kWords words
    ASSERT_TRUE(SendAll(fd, header, sizeof(header)));
    size_t sent = 0;
    for (int tries = 0; sent < body.size() && tries < 10; ++tries) {
      ssize_t n = ::send(fd, body.data() + sent, body.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
    }
  }
  // Exactly four messages are charged; the other connections wait before their bodies
  // are read or allocated.
  EXPECT_TRUE(Eventually([&] { return ServerMetric(server, inflight) == 4.0 * kMessage; }))
      << ServerMetric(server, inflight);
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(ServerMetric(server, inflight), 4.0 * kMessage);
  long during = RssKb(server.pid());
  std::cout << "server RSS grew by " << (during - before) / 1024 << " MiB with " << kFlooders
            << " stalled 4 MiB messages\n";
  // Bounded, about 16 MiB (more under a sanitizer's shadow memory, still far below).
  EXPECT_LT(during - before, 96L << 10) << "RSS before " << before << " KiB, during " << during
                                        << " KiB";
  // The budget comes back when they go, and the server serves again.
  CloseAll(&flood);
  EXPECT_TRUE(Eventually([&] { return ServerMetric(server, inflight) == 0; }))
      << ServerMetric(server, inflight);
  EXPECT_TRUE(ServesANewClient(server));
  EXPECT_TRUE(t.client->whoami().ok());
}

}  // namespace
}  // namespace cotenant::testing
