// TLS end to end: a real cotenantd with --tls-cert/--tls-key (and --tls-client-ca), reached
// through the SDK, the CLI and HTTPS. Certificates are made with the openssl command line
// in a temporary directory: a CA, a server certificate for 127.0.0.1 and localhost, a
// client certificate, and a second, unrelated CA with its own client certificate.

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cotenant/client.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_support.h"

namespace cotenant::testing {
namespace {

// Runs a shell command; its exit code (-1 when it did not exit normally).
int Shell(const std::string& command) {
  int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// stdout of a shell command.
std::string Capture(const std::string& command) {
  std::string out;
  RunCommand(command, &out);
  return out;
}

// The certificates of the tests, made once for the whole suite.
class Pki {
 public:
  Pki() { ok_ = MakeTlsCertificates(dir_.path()); }
  bool ok() const { return ok_; }
  std::string path(const std::string& file) const { return dir_.path() + "/" + file; }
  std::vector<std::string> serverFlags() const {
    return {"--tls-cert", path("server.pem"), "--tls-key", path("server.key")};
  }

 private:
  TempDir dir_;
  bool ok_ = false;
};

const Pki& Certs() {
  static const Pki* pki = new Pki();
  return *pki;
}

ClientOptions TrustingCa() {
  ClientOptions o;
  o.tlsCa = Certs().path("ca.pem");
  return o;
}

// Connects as the system admin; the error code when it fails (OK when it worked, after a
// round trip).
// The server's address by name: the certificate's name, checked by default.
std::string ByName(const Cotenantd& server) { return "localhost:" + std::to_string(server.port()); }

ErrorCode TryAdmin(const Cotenantd& server, const ClientOptions& options,
                   std::string* message = nullptr) {
  try {
    auto c = Client::connect(ByName(server), 1, server.admin_key(), options);
    auto who = c->whoami();
    if (message != nullptr) *message = who.getMessage();
    return who.getCode();
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Certs().ok()) << "openssl could not make the certificates"; }
};

TEST_F(TlsTest, SdkTrustingTheCaLogsInAndRoundTrips) {
  Cotenantd server(Certs().serverFlags());
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = Client::connect(ByName(server), 1, server.admin_key(), TrustingCa());
  auto who = admin->whoami();
  ASSERT_TRUE(who.ok()) << who.getMessage();
  EXPECT_EQ(who.value().tenantId, 1u);
  auto t = admin->createTenant("acme", TenantKind::Tenant);
  ASSERT_TRUE(t.ok()) << t.getMessage();
  auto list = admin->listTenants();
  ASSERT_TRUE(list.ok()) << list.getMessage();
  bool found = false;
  for (const auto& x : list.value()) found |= x.name == "acme";
  EXPECT_TRUE(found);
  // By IP address, the name to check is given (IP entries of the certificate are not
  // matched, only its DNS names).
  ClientOptions byIp = TrustingCa();
  byIp.tlsServerName = "localhost";
  auto c = Client::connect(server.address(), 1, server.admin_key(), byIp);
  EXPECT_TRUE(c->whoami().ok());
  EXPECT_NE(server.log().find("(TLS)"), std::string::npos) << server.log();
}

TEST_F(TlsTest, PlaintextClientIsRefusedAndServerKeepsServing) {
  Cotenantd server(Certs().serverFlags());
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_EQ(TryAdmin(server, ClientOptions()), ErrorCode::Unavailable);
  // A TLS client against a plaintext server fails too, rather than falling back.
  Cotenantd plain;
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(TryAdmin(plain, TrustingCa()), ErrorCode::Unavailable);
  // The refused client cost nothing to the others.
  EXPECT_EQ(TryAdmin(server, TrustingCa()), ErrorCode::OK);
}

TEST_F(TlsTest, ServerCertificateMustBeTrustedAndNameTheServer) {
  Cotenantd server(Certs().serverFlags());
  ASSERT_TRUE(server.ok()) << server.log();
  ClientOptions other;
  other.tlsCa = Certs().path("otherca.pem");
  std::string message;
  EXPECT_EQ(TryAdmin(server, other, &message), ErrorCode::Unavailable);
  EXPECT_NE(message.find("certificate"), std::string::npos) << message;
  // Trusting the system CAs only: this private CA is not among them.
  ClientOptions system;
  system.tls = true;
  EXPECT_EQ(TryAdmin(server, system), ErrorCode::Unavailable);
  // The right CA but a name the certificate does not carry.
  ClientOptions wrongName = TrustingCa();
  wrongName.tlsServerName = "db.example.com";
  EXPECT_EQ(TryAdmin(server, wrongName), ErrorCode::Unavailable);
  EXPECT_EQ(TryAdmin(server, TrustingCa()), ErrorCode::OK);
}

TEST_F(TlsTest, ConnectionsStillInTheirHandshakeCountAgainstTheCaps) {
  std::vector<std::string> flags = Certs().serverFlags();
  flags.insert(flags.end(), {"--max-connections-per-peer", "2"});
  Cotenantd server(flags);
  ASSERT_TRUE(server.ok()) << server.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the start-up probe is gone
  // Two sockets that never start their handshake hold both places of this peer...
  std::vector<int> idle;
  for (int i = 0; i < 2; ++i) {
    idle.push_back(ConnectLoopback(server.port(), 5));
    ASSERT_GE(idle.back(), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // ...so a third is closed at once, not after the 10 s handshake timeout.
  int third = ConnectLoopback(server.port(), 5);
  ASSERT_GE(third, 0);
  char byte;
  auto started = std::chrono::steady_clock::now();
  ssize_t n = ::recv(third, &byte, 1, 0);
  bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  EXPECT_TRUE(closed) << "still open after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started).count()
                      << " ms";
  ::close(third);
  for (int fd : idle) ::close(fd);
  // The places come back when the sockets close.
  ErrorCode code = ErrorCode::Unavailable;
  for (int i = 0; i < 50 && code != ErrorCode::OK; ++i) {
    code = TryAdmin(server, TrustingCa());
    if (code != ErrorCode::OK) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(code, ErrorCode::OK);
}

TEST_F(TlsTest, ClientCaRequiresASignedClientCertificate) {
  auto flags = Certs().serverFlags();
  flags.insert(flags.end(), {"--tls-client-ca", Certs().path("ca.pem")});
  Cotenantd server(flags);
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_EQ(TryAdmin(server, TrustingCa()), ErrorCode::Unavailable);
  ClientOptions stranger = TrustingCa();
  stranger.tlsCert = Certs().path("stranger.pem");
  stranger.tlsKey = Certs().path("stranger.key");
  EXPECT_EQ(TryAdmin(server, stranger), ErrorCode::Unavailable);
  ClientOptions signedByCa = TrustingCa();
  signedByCa.tlsCert = Certs().path("client.pem");
  signedByCa.tlsKey = Certs().path("client.key");
  std::string message;
  EXPECT_EQ(TryAdmin(server, signedByCa, &message), ErrorCode::OK) << message;
  EXPECT_NE(server.log().find("client certificates required"), std::string::npos);
}

TEST_F(TlsTest, SdkRejectsUnusableTlsOptions) {
  // Port 1: nothing listens there, so only a check before connecting can answer
  // InvalidArgument.
  auto connectError = [](const ClientOptions& options) {
    try {
      Client::connect("127.0.0.1:1", 1, "k", options);
      return std::string("connected");
    } catch (const Error& e) {
      return std::string(errorCodeName(e.code())) + " " + e.what();
    }
  };
  ClientOptions missing;
  missing.tlsCa = Certs().path("no-such.pem");
  std::string got = connectError(missing);
  EXPECT_EQ(got.rfind("InvalidArgument", 0), 0u) << got;
  EXPECT_NE(got.find("no-such.pem"), std::string::npos) << got;
  ClientOptions certOnly = TrustingCa();
  certOnly.tlsCert = Certs().path("client.pem");
  got = connectError(certOnly);
  EXPECT_EQ(got.rfind("InvalidArgument", 0), 0u) << got;
  ClientOptions notPem = TrustingCa();
  notPem.tlsCa = Certs().path("server.ext");
  got = connectError(notPem);
  EXPECT_NE(got.find("is not a PEM certificate"), std::string::npos) << got;
}

TEST_F(TlsTest, OpsEndpointServesHttpsWithTheSameCertificate) {
  Cotenantd server(Certs().serverFlags());
  ASSERT_TRUE(server.ok()) << server.log();
  std::string url = "https://127.0.0.1:" + std::to_string(server.http_port());
  EXPECT_EQ(Capture("curl -sS --max-time 10 --cacert '" + Certs().path("ca.pem") + "' " + url +
                    "/healthz"),
            "ok\n");
  EXPECT_NE(Capture("curl -sS --max-time 10 --cacert '" + Certs().path("ca.pem") + "' " + url +
                    "/metrics")
                .find("cotenant_"),
            std::string::npos);
  // Untrusted, and plaintext: no answer.
  EXPECT_EQ(Capture("curl -sS --max-time 10 --cacert '" + Certs().path("otherca.pem") + "' " +
                    url + "/healthz 2>/dev/null"),
            "");
  EXPECT_EQ(HttpGet(server.http_port(), "/healthz").find("ok\n"), std::string::npos);
  // Still serving after those.
  EXPECT_EQ(Capture("curl -sS --max-time 10 --cacert '" + Certs().path("ca.pem") + "' " + url +
                    "/healthz"),
            "ok\n");
}

TEST_F(TlsTest, CliConnectsWithTlsCa) {
  auto flags = Certs().serverFlags();
  flags.insert(flags.end(), {"--tls-client-ca", Certs().path("ca.pem")});
  Cotenantd server(flags);
  ASSERT_TRUE(server.ok()) << server.log();
  std::string cli = BinaryPath("../cotenant/cotenant") + " --addr " + ByName(server) +
                    " --tenant 1 --key '" + server.admin_key() + "'";
  std::string mtls = " --tls-cert '" + Certs().path("client.pem") + "' --tls-key '" +
                     Certs().path("client.key") + "'";
  std::string ca = " --tls-ca '" + Certs().path("ca.pem") + "'";
  EXPECT_EQ(Shell(cli + ca + mtls + " whoami >/dev/null"), 0);
  EXPECT_EQ(Shell("COTENANT_TLS_CA='" + Certs().path("ca.pem") + "' " + cli + mtls +
                  " whoami >/dev/null"),
            0);
  EXPECT_NE(Shell(cli + mtls + " whoami >/dev/null 2>&1"), 0);  // no CA: system trust
  EXPECT_NE(Shell(cli + ca + " whoami >/dev/null 2>&1"), 0);    // no client certificate
  EXPECT_NE(Shell(cli + " whoami >/dev/null 2>&1"), 0);         // plaintext
  // By IP address with the certificate's name given.
  EXPECT_EQ(Shell(BinaryPath("../cotenant/cotenant") + " --addr " + server.address() +
                  " --tenant 1 --key '" + server.admin_key() + "'" + ca + mtls +
                  " --tls-server-name localhost whoami >/dev/null"),
            0);
}

// Runs cotenantd with `flags` that must make it refuse to start; its exit code, and its
// output in *log.
int StartupFailure(const std::string& flags, std::string* log) {
  TempDir dir;
  std::string out = dir.path() + "/out";
  int code = Shell("timeout 30 " + BinaryPath("cotenantd") + " --data " + dir.path() +
                   "/data --listen 127.0.0.1:" + std::to_string(FreePort()) + " " + flags +
                   " >'" + out + "' 2>&1");
  *log = ReadFile(out);
  return code;
}

TEST_F(TlsTest, BadTlsFlagsStopTheServerWithAClearError) {
  std::string log;
  EXPECT_EQ(StartupFailure("--tls-cert " + Certs().path("server.pem"), &log), 2);
  EXPECT_NE(log.find("--tls-cert needs --tls-key"), std::string::npos) << log;
  EXPECT_EQ(StartupFailure("--tls-key " + Certs().path("server.key"), &log), 2);
  EXPECT_NE(log.find("--tls-key needs --tls-cert"), std::string::npos) << log;
  EXPECT_EQ(StartupFailure("--tls-client-ca " + Certs().path("ca.pem"), &log), 2);
  EXPECT_NE(log.find("--tls-client-ca needs"), std::string::npos) << log;
  EXPECT_EQ(StartupFailure("--tls-cert " + Certs().path("missing.pem") + " --tls-key " +
                               Certs().path("server.key"),
                           &log),
            1);
  EXPECT_NE(log.find("--tls-cert: cannot read " + Certs().path("missing.pem")), std::string::npos)
      << log;
  // A key that is not PEM, and one that belongs to another certificate.
  EXPECT_EQ(StartupFailure("--tls-cert " + Certs().path("server.pem") + " --tls-key " +
                               Certs().path("server.ext"),
                           &log),
            1);
  EXPECT_NE(log.find("--tls-key " + Certs().path("server.ext") + ": not an unencrypted PEM"),
            std::string::npos)
      << log;
  EXPECT_EQ(StartupFailure("--tls-cert " + Certs().path("server.pem") + " --tls-key " +
                               Certs().path("client.key"),
                           &log),
            1);
  EXPECT_NE(log.find("is not the key of --tls-cert"), std::string::npos) << log;
  EXPECT_EQ(StartupFailure("--tls-cert " + Certs().path("server.pem") + " --tls-key " +
                               Certs().path("server.key") + " --tls-client-ca " +
                               Certs().path("server.ext"),
                           &log),
            1);
  EXPECT_NE(log.find("--tls-client-ca " + Certs().path("server.ext")), std::string::npos) << log;
}

}  // namespace
}  // namespace cotenant::testing
