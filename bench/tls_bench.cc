// getRecord calls/s through the SDK against a plaintext cotenantd and a TLS one, in one
// run: both servers run side by side and are measured in alternating slices, so machine
// noise falls on both alike. Makes its own CA and server certificate with `openssl`.
//
//   tls_bench [--seconds S] [--inflight N]      (defaults 6 s per server, 64 in flight)
//
// Needs cotenantd built (found through $COTENANT_BIN_DIR, else ../tools/cotenantd/).

#include <cotenant/client.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <string>

#include "tests/test_support.h"

namespace {

using cotenant::Client;
using cotenant::ClientOptions;
using Clock = std::chrono::steady_clock;

struct Target {
  std::unique_ptr<cotenant::testing::Cotenantd> server;
  std::unique_ptr<Client> client;
  cotenant::RecordId id = 0;
  double calls = 0;
  double seconds = 0;
};

void Die(const std::string& what) {
  std::fprintf(stderr, "tls_bench: %s\n", what.c_str());
  std::exit(1);
}

// A tenant whose admin may read Customers, one record in it, and a client logged in there.
void Prepare(Target& t, const std::string& address, const ClientOptions& options) {
  auto admin = Client::connect(address, 1, t.server->admin_key(), options);
  auto tenant = admin->createTenant("bench", cotenant::TenantKind::Tenant);
  if (!tenant.ok()) Die(tenant.getMessage());
  auto user = admin->createUser(tenant.value().id, "reader", cotenant::AdminLevel::TenantAdmin);
  if (!user.ok()) Die(user.getMessage());
  t.client = Client::connect(address, tenant.value().id, user.value().apiKey, options);
  if (!t.client->createRole(0, "all", {{"*", cotenant::Rights::all()}}).ok()) Die("role");
  if (!t.client->addRoleMember(0, "all", tenant.value().id, user.value().user.id).ok()) {
    Die("member");
  }
  if (!t.client->createObject(0, "Customers", {{"name", cotenant::FieldType::Text, true, false}})
           .ok()) {
    Die("object");
  }
  cotenant::Parameters p;
  p.add("name", std::string(100, 'x'));
  auto r = t.client->addRecord("Customers", p);
  if (!r.ok()) Die(r.getMessage());
  t.id = r.getId();
}

// getRecord with `inflight` calls outstanding for `seconds`.
void Measure(Target& t, size_t inflight, double seconds) {
  std::deque<std::future<cotenant::Result>> window;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  size_t done = 0;
  while (Clock::now() < end) {
    while (window.size() < inflight) window.push_back(t.client->getRecordAsync("Customers", "*", t.id));
    if (!window.front().get().ok()) Die("getRecord failed");
    window.pop_front();
    ++done;
  }
  for (auto& f : window) f.get();
  t.calls += static_cast<double>(done + window.size());
  t.seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 6;
  size_t inflight = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--inflight" && i + 1 < argc) inflight = std::strtoul(argv[++i], nullptr, 10);
    else Die("usage: tls_bench [--seconds S] [--inflight N]");
  }
  if (seconds <= 0 || inflight == 0) Die("--seconds and --inflight must be positive");
  if (std::getenv("COTENANT_BIN_DIR") == nullptr) setenv("COTENANT_BIN_DIR", "../tools/cotenantd", 1);

  cotenant::testing::TempDir dir;
  const std::string d = dir.path();
  if (!cotenant::testing::MakeTlsCertificates(d)) Die("openssl could not make the certificates");

  Target plain, tls;
  plain.server = std::make_unique<cotenant::testing::Cotenantd>();
  tls.server = std::make_unique<cotenant::testing::Cotenantd>(std::vector<std::string>{
      "--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key"});
  if (!plain.server->ok() || !tls.server->ok()) Die("cotenantd did not start");
  ClientOptions tls_options;
  tls_options.tlsCa = d + "/ca.pem";
  Prepare(plain, plain.server->address(), ClientOptions());
  Prepare(tls, "localhost:" + std::to_string(tls.server->port()), tls_options);

  Measure(plain, inflight, 0.5);  // warm-up
  Measure(tls, inflight, 0.5);
  plain.calls = plain.seconds = tls.calls = tls.seconds = 0;
  const int slices = 6;
  for (int i = 0; i < slices; ++i) {
    Measure(plain, inflight, seconds / slices);
    Measure(tls, inflight, seconds / slices);
  }
  double p = plain.calls / plain.seconds, t = tls.calls / tls.seconds;
  std::printf("getRecord, one connection, %zu in flight, %.1f s each\n", inflight, seconds);
  std::printf("  plaintext  %10.0f calls/s\n", p);
  std::printf("  TLS        %10.0f calls/s  (%.1f%% of plaintext)\n", t, 100.0 * t / p);
  return 0;
}
