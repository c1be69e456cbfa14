// End-to-end: what the HTTP/JSON API of a real cotenantd does with malformed, oversized
// and slow requests (a clear error, and every other client served), keep-alive and many
// connections, the login throttle shared with RPC, the server-wide body budget, HTTPS.

#include "tests/http_api_fixture.h"

namespace cotenant::testing {
namespace {

// The suite's own server (started for the suite, as HttpApiTest's).
class HttpApiLimitsTest : public HttpApiTest {};

// ---- Malformed, oversized and slow requests ------------------------------------------------

TEST_F(HttpApiLimitsTest, MalformedRequestsGetAnErrorNamingTheProblem) {
  TenantHandle a = Tenant("http-bad");
  auto c = Connect(a.id, a.key);
  struct Case {
    std::string verb, path, body, says;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/records/Customers", "{\"fields\": [", "not valid JSON"},
      {"POST", "/v1/records/Customers", "[1, 2]", "must be a JSON object"},
      {"POST", "/v1/records/Customers", "{\"feilds\": []}", "unknown field feilds"},
      {"POST", "/v1/records/Customers", "{\"fields\": 7}", "fields"},
      {"POST", "/v1/records/Customers", "{\"fields\": [{\"name\": \"age\", \"value\": {\"integer\": 1}}]}",
       "integer"},
      {"POST", "/v1/records/Customers:search", "{\"numberOfRows\": \"many\"}", "numberOfRows"},
      {"POST", "/v1/records/Customers:search", "{\"sortOrder\": \"sideways\"}", "sideways"},
      {"POST", "/v1/records/Customers:search", "{\"continuation\": \"%%%\"}", "not base64"},
      {"POST", "/v1/records/Customers:search", "{\"continuation\": [1, 2]}", "base64 string"},
      {"GET", "/v1/records/Customers/seventeen", "", "decimal number"},
      {"GET", "/v1/records/Customers/1?retrievePermissions=maybe", "", "true or false"},
      {"GET", "/v1/records/Customers/1?colour=red", "", "unknown query parameter colour"},
  };
  for (const auto& k : cases) {
    HttpReply r = c->Call(k.verb, k.path, k.body);
    EXPECT_EQ(r.status, 400) << k.path << " " << k.body << ": " << r;
    EXPECT_EQ(r.code(), "InvalidArgument") << r;
    EXPECT_NE(r.message().find(k.says), std::string::npos) << k.body << ": " << r;
  }
  HttpReply r = c->Call("GET", Path("Customers", 1), "", {{"Cotenant-Context", "acme"}});
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_NE(r.message().find("Cotenant-Context"), std::string::npos) << r;
  r = c->Call("POST", "/v1/admin/listObjects", "{}", {{"Cotenant-Context", std::to_string(a.id)}});
  EXPECT_EQ(r.status, 400) << "a context on an admin call is refused, not ignored: " << r;
  EXPECT_NE(r.message().find("tenantId"), std::string::npos) << r;
  // The connection is still good after every refusal above.
  EXPECT_EQ(c->Call("GET", "/v1/whoami").status, 200);

  // Not HTTP at all: a JSON 400, then the connection closes; others are unaffected.
  HttpConnection garbage(api_port_);
  ASSERT_TRUE(garbage.Write("HELLO THERE\r\n\r\n"));
  r = garbage.Read();
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_EQ(r.code(), "InvalidArgument") << r;
  EXPECT_NE(r.message().find("malformed HTTP request"), std::string::npos) << r;
  EXPECT_TRUE(garbage.ClosedByServer());
  EXPECT_EQ(c->Call("GET", "/v1/whoami").status, 200);
}

TEST_F(HttpApiLimitsTest, OversizedBodiesAreRefusedAndOthersAreServed) {
  TenantHandle a = Tenant("http-big");
  auto c = Connect(a.id, a.key);
  auto other = Connect(a.id, a.key);
  ASSERT_EQ(other->Call("GET", "/v1/whoami").status, 200);
  // Announced too large: refused before the body is sent.
  HttpConnection big(api_port_);
  big.Login(a.id, a.key);
  ASSERT_TRUE(big.Write("POST /v1/records/Customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + a.key +
                        "\r\nCotenant-Tenant: " + std::to_string(a.id) +
                        "\r\nContent-Length: 5000000\r\n\r\n"));
  HttpReply r = big.Read();
  EXPECT_EQ(r.status, 413) << r;
  EXPECT_EQ(r.code(), "ResourceExhausted") << r;
  EXPECT_NE(r.message().find("1048576 bytes"), std::string::npos) << r;
  // Chunked, with no length announced: refused once past the limit.
  HttpConnection chunked(api_port_);
  std::string head = "POST /v1/records/Customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + a.key +
                     "\r\nCotenant-Tenant: " + std::to_string(a.id) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(256 << 10, ' ');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  std::string body;
  for (int i = 0; i < 6; ++i) body += size_line + chunk + "\r\n";
  ASSERT_TRUE(chunked.Write(head + body + "0\r\n\r\n"));
  r = chunked.Read();
  EXPECT_EQ(r.status, 413) << r;
  EXPECT_EQ(r.code(), "ResourceExhausted") << r;
  // A wrong key is refused before the body is read: the server does not wait for it.
  HttpConnection stranger(api_port_);
  ASSERT_TRUE(stranger.Write("POST /v1/records/Customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                             a.key + "x\r\nCotenant-Tenant: " + std::to_string(a.id) +
                             "\r\nContent-Length: 900000\r\n\r\n{"));
  r = stranger.Read();
  EXPECT_EQ(r.status, 401) << r;
  // A body just under the limit is taken (and answered by the call itself).
  json fields = json::array({F("first_name", "text", std::string(1000, 'x'))});
  r = c->Call("POST", "/v1/records/Customers", json{{"fields", fields}}.dump());
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(other->Call("GET", "/v1/whoami").status, 200);
}

TEST_F(HttpApiLimitsTest, SlowClientsTimeOutWithoutHoldingUpOthers) {
  TenantHandle a = Tenant("http-slow");
  // Headers that never finish.
  HttpConnection slow_head(api_port_);
  ASSERT_TRUE(slow_head.Write("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "));
  // A body that never finishes.
  HttpConnection slow_body(api_port_);
  ASSERT_TRUE(slow_body.Write("POST /v1/records/Customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                              a.key + "\r\nCotenant-Tenant: " + std::to_string(a.id) +
                              "\r\nContent-Length: 100\r\n\r\n{\"fie"));
  // Meanwhile another client is served.
  auto c = Connect(a.id, a.key);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c->Call("GET", "/v1/whoami").status, 200) << i;
  HttpReply r = slow_body.Read();
  EXPECT_EQ(r.status, 408) << r;
  EXPECT_NE(r.message().find("did not arrive within 1500 ms"), std::string::npos) << r;
  EXPECT_TRUE(slow_head.ClosedByServer()) << "the server kept a connection whose headers never came";
  EXPECT_EQ(c->Call("GET", "/v1/whoami").status, 200);
}

TEST_F(HttpApiLimitsTest, KeepAliveAndManyConnectionsAtOnce) {
  TenantHandle a = Tenant("http-many");
  Parameters ann;
  ann.add("first_name", "Ann");
  Result added = a.client->addRecord("Customers", ann);
  ASSERT_TRUE(added.ok());
  // Many requests on one connection.
  auto c = Connect(a.id, a.key);
  for (int i = 0; i < 200; ++i) {
    HttpReply r = c->Call("GET", Path("Customers", added.getId()));
    ASSERT_EQ(r.status, 200) << i << ": " << r;
    ASSERT_NE(r.headers["connection"], "close");
  }
  // 64 connections, each with a request written before any answer is read.
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < 64; ++i) conns.push_back(Connect(a.id, a.key));
  for (int round = 0; round < 3; ++round) {
    for (auto& k : conns) ASSERT_TRUE(k->Write(k->Request("GET", Path("Customers", added.getId()), "", {})));
    for (auto& k : conns) {
      HttpReply r = k->Read();
      ASSERT_EQ(r.status, 200) << r;
      EXPECT_EQ(r.json["record"]["fields"][0]["value"]["text"], "Ann");
    }
  }
  // /metrics counts the API's connections and responses, and the calls under their APIs.
  const std::string metrics = HttpGet(server_->http_port(), "/metrics");
  EXPECT_GE(MetricValue(metrics, "cotenant_http_connections"), 65) << metrics.substr(0, 300);
  EXPECT_GE(MetricValue(metrics, "cotenant_http_responses_total{class=\"2xx\"}"), 392);
  EXPECT_GE(MetricValue(metrics, "cotenant_requests_total{api=\"getRecord\",outcome=\"OK\"}"), 392);
  EXPECT_TRUE(Eventually([&] {  // every body of the suite's requests given back
    return MetricValue(HttpGet(server_->http_port(), "/metrics"), "cotenant_http_body_bytes") == 0;
  }));
  // Pipelined requests on one connection are answered in order.
  std::string two = c->Request("GET", Path("Customers", added.getId()), "", {}) +
                    c->Request("GET", Path("Customers", added.getId() + 99), "", {});
  ASSERT_TRUE(c->Write(two));
  EXPECT_EQ(c->Read().status, 200);
  EXPECT_EQ(c->Read().status, 404);
}

// Failed logins over HTTP count in the same throttle as RPC logins from the address.
TEST(HttpApiThrottleTest, FailedLoginsLockOutTheAddressOnBothDoors) {
  const int api_port = FreePort();
  Cotenantd server({"--api", "127.0.0.1:" + std::to_string(api_port), "--login-failures-per-address", "2",
                    "--login-lockout-ms", "60000", "--rpc-threads", "2"});
  ASSERT_TRUE(server.ok()) << server.log();
  HttpConnection c(api_port);
  c.Login(1, server.admin_key() + "wrong");
  for (int i = 0; i < 3; ++i) {  // two free failures, and the third locks the address out
    HttpReply r = c.Call("GET", "/v1/whoami");
    EXPECT_EQ(r.status, 401) << r;
  }
  // Locked out: even the right key is not checked, over HTTP and over RPC alike.
  c.Login(1, server.admin_key());
  HttpReply locked = c.Call("GET", "/v1/whoami");
  EXPECT_EQ(locked.status, 429) << locked;
  EXPECT_EQ(locked.code(), "ResourceExhausted") << locked;
  const std::string says = "too many failed logins from 127.0.0.1; retry in ";
  EXPECT_EQ(locked.message().rfind(says, 0), 0u) << locked;
  try {
    Client::connect(server.address(), 1, server.admin_key());
    ADD_FAILURE() << "the RPC login was not throttled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ResourceExhausted) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

// Connections from one address are capped server-wide (whichever loop holds them); another
// address is still served, and a closed connection makes room.
TEST(HttpApiConnectionsTest, ConnectionsPerPeerAreCapped) {
  const int api_port = FreePort();
  Cotenantd server({"--api", "127.0.0.1:" + std::to_string(api_port), "--max-connections-per-peer", "3"});
  ASSERT_TRUE(server.ok()) << server.log();
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<HttpConnection>(api_port, 10));
    held.back()->Login(1, server.admin_key());
    ASSERT_EQ(held.back()->Call("GET", "/v1/whoami").status, 200) << i;
  }
  HttpConnection fourth(api_port, 10);
  EXPECT_TRUE(fourth.ClosedByServer()) << "a fourth connection from 127.0.0.1 was kept";
  HttpConnection elsewhere(api_port, 10, "127.0.0.2");
  elsewhere.Login(1, server.admin_key());
  EXPECT_EQ(elsewhere.Call("GET", "/v1/whoami").status, 200);
  for (auto& c : held) EXPECT_EQ(c->Call("GET", "/v1/whoami").status, 200);
  held.pop_back();
  EXPECT_TRUE(Eventually([&] {
    HttpConnection again(api_port, 10);
    again.Login(1, server.admin_key());
    return again.Call("GET", "/v1/whoami").status == 200;
  }));
  EXPECT_GE(MetricValue(HttpGet(server.http_port(), "/metrics"), "cotenant_http_connections_refused_total"), 1);
}

// Request bodies held at once are bounded server-wide: past the budget a request is
// answered Busy, and served again once the bytes are given back.
TEST(HttpApiBudgetTest, BodiesHeldAtOnceAreBounded) {
  const int api_port = FreePort();
  Cotenantd server({"--api", "127.0.0.1:" + std::to_string(api_port), "--max-message-mb", "1",
                    "--max-inflight-bytes", "1048576", "--api-timeout-ms", "30000"});
  ASSERT_TRUE(server.ok()) << server.log();
  const std::string auth = "Authorization: Bearer " + server.admin_key() + "\r\nCotenant-Tenant: 1\r\n";
  // A holds 1000000 bytes announced, and sends almost nothing of them.
  auto hog = std::make_unique<HttpConnection>(api_port);
  ASSERT_TRUE(hog->Write("POST /v1/admin/listTenants HTTP/1.1\r\nHost: x\r\n" + auth +
                         "Content-Length: 1000000\r\n\r\n{"));
  // B's 100000 bytes do not fit beside them (once the server has read A's headers).
  // (A refused body is not read: the server then closes that connection, so each try
  // has a connection of its own.)
  const std::string body = json{{"pad", std::string(100000, 'x')}}.dump();
  auto attempt = [&] {
    HttpConnection c(api_port);
    c.Login(1, server.admin_key());
    return c.Call("POST", "/v1/admin/listTenants", body);
  };
  // The server counts A's bytes once it has logged A in (/metrics shows them).
  ASSERT_TRUE(Eventually([&] {
    return MetricValue(HttpGet(server.http_port(), "/metrics"), "cotenant_http_body_bytes") >= 1000000;
  })) << server.log();
  HttpReply r = attempt();
  EXPECT_EQ(r.status, 503) << r;
  EXPECT_EQ(r.code(), "Busy") << r;
  EXPECT_NE(r.message().find("--max-inflight-bytes"), std::string::npos) << r;
  // Requests without a body still pass.
  HttpConnection small(api_port);
  small.Login(1, server.admin_key());
  EXPECT_EQ(small.Call("GET", "/v1/whoami").status, 200);
  // A goes away: its bytes are given back and B is served (here: refused for its made-up
  // member, which means the body was read and decoded).
  hog.reset();
  for (int i = 0; i < 200 && (r.status == 503 || r.status == 0); ++i) {
    r = attempt();
    if (r.status == 503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_NE(r.message().find("unknown field pad"), std::string::npos) << r;
}

// With TLS on, the API serves HTTPS with the server's certificate, and nothing in plaintext.
TEST(HttpApiTlsTest, ServesHttpsWithTheServersCertificate) {
  TempDir certs;
  ASSERT_TRUE(MakeTlsCertificates(certs.path()));
  const int api_port = FreePort();
  Cotenantd server({"--api", "127.0.0.1:" + std::to_string(api_port), "--tls-cert",
                    certs.path() + "/server.pem", "--tls-key", certs.path() + "/server.key",
                    "--rpc-threads", "2"});
  ASSERT_TRUE(server.ok()) << server.log();
  const std::string url = "https://127.0.0.1:" + std::to_string(api_port) + "/v1/whoami";
  std::string out;
  EXPECT_EQ(RunCommand("curl -sS --max-time 10 --cacert '" + certs.path() + "/ca.pem' -H 'Authorization: Bearer " +
                           server.admin_key() + "' -H 'Cotenant-Tenant: 1' " + url,
                       &out),
            0)
      << out;
  auto who = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(who.is_object()) << out;
  EXPECT_EQ(who["user"]["name"], "admin");
  // A certificate of another CA is refused by the client; plaintext gets no answer.
  EXPECT_NE(RunCommand("curl -sS --max-time 10 --cacert '" + certs.path() + "/otherca.pem' " + url +
                       " > /dev/null 2>&1"),
            0);
  HttpConnection plain(api_port, 5);
  EXPECT_NE(plain.Call("GET", "/v1/whoami").status, 200);
}

}  // namespace
}  // namespace cotenant::testing
