// getRecord over the HTTP/JSON API (wrk, keep-alive) against the same call over Cap'n
// Proto, on one cotenantd, in one run: both are measured in alternating slices, so machine
// noise falls on both alike.
//
//   http_bench [--seconds S] [--connections N] [--records N] [--rpc-threads N] [--wrk-threads N]
//
// Defaults: 9 s per API (three slices each), 50 connections with one call in flight each
// (wrk's model), 1000 records of ~200 bytes, 2 event loops, 1 wrk thread. The Cap'n Proto
// client is one KJ event loop thread driving the same number of connections, as wrk's one
// thread does. Needs cotenantd built (found through $COTENANT_BIN_DIR, else
// ../tools/cotenantd/) and `wrk` on the PATH.

#include <cotenant/client.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "schemas/cotenant.capnp.h"
#include "tests/test_support.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace wire = cotenant::wire;

void Die(const std::string& what) {
  std::fprintf(stderr, "http_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Setup {
  uint64_t tenant = 0;
  std::string key;
  std::vector<uint64_t> ids;
};

// A tenant whose admin may read Items, and `records` records of ~200 bytes in it.
Setup Prepare(const cotenant::testing::Cotenantd& server, size_t records) {
  Setup s;
  auto admin = cotenant::Client::connect(server.address(), 1, server.admin_key());
  auto tenant = admin->createTenant("bench", cotenant::TenantKind::Tenant);
  if (!tenant.ok()) Die(tenant.getMessage());
  s.tenant = tenant.value().id;
  auto user = admin->createUser(s.tenant, "reader", cotenant::AdminLevel::TenantAdmin);
  if (!user.ok()) Die(user.getMessage());
  s.key = user.value().apiKey;
  auto client = cotenant::Client::connect(server.address(), s.tenant, s.key);
  if (!client->createRole(0, "all", {{"*", cotenant::Rights::all()}}).ok()) Die("createRole");
  if (!client->addRoleMember(0, "all", s.tenant, user.value().user.id).ok()) Die("addRoleMember");
  if (!client->createObject(0, "Items", {{"name", cotenant::FieldType::Text, false, false},
                                         {"payload", cotenant::FieldType::Text, false, false},
                                         {"n", cotenant::FieldType::Int, false, false}})
           .ok()) {
    Die("createObject");
  }
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < records; ++i) {
    cotenant::Parameters p;
    p.add("name", "item-" + std::to_string(i)).add("payload", std::string(170, 'a' + i % 26));
    p.add("n", static_cast<int64_t>(rng() % 1000000));
    auto r = client->addRecord("Items", p);
    if (!r.ok()) Die(r.getMessage());
    s.ids.push_back(r.getId());
  }
  return s;
}

// getRecord over Cap'n Proto: `connections` connections on this thread's loop, each
// logged in, each with one call in flight, for `seconds`. Calls per second.
class RpcDriver {
 public:
  RpcDriver(int port, const Setup& setup, size_t connections) : io_(kj::setupAsyncIo()), setup_(setup) {
    auto address = io_.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io_.waitScope);
    for (size_t i = 0; i < connections; ++i) {
      auto c = std::make_unique<Conn>();
      c->stream = address->connect().wait(io_.waitScope);
      c->client = kj::heap<capnp::TwoPartyClient>(*c->stream);
      auto login = c->client->bootstrap().castAs<wire::Cotenant>().loginRequest();
      login.setTenantId(setup.tenant);
      login.setApiKey(setup.key);
      auto session = login.send().wait(io_.waitScope).getSession();
      c->records = session.recordsRequest().send().wait(io_.waitScope).getRecords();
      c->rng.seed(i + 1);
      conns_.push_back(std::move(c));
    }
  }

  double Measure(double seconds) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
    const auto start = Clock::now();
    size_t done = 0;
    kj::Vector<kj::Promise<void>> loops;
    for (auto& c : conns_) loops.add(Loop(*c, end, &done));
    kj::joinPromises(loops.releaseAsArray()).wait(io_.waitScope);
    return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
  }

 private:
  struct Conn {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;
    wire::Records::Client records = nullptr;
    std::mt19937_64 rng;
  };

  kj::Promise<void> Loop(Conn& c, Clock::time_point end, size_t* done) {
    if (Clock::now() >= end) return kj::READY_NOW;
    auto req = c.records.getRecordRequest();
    req.setObject("Items");
    req.setId(setup_.ids[c.rng() % setup_.ids.size()]);
    return req.send().then([this, &c, end, done](auto&& r) {
      if (r.getRecord().getId() == 0) Die("getRecord answered no record");
      ++*done;
      return Loop(c, end, done);
    });
  }

  kj::AsyncIoContext io_;
  const Setup& setup_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

// getRecord over HTTP/JSON with wrk: requests per second of one run.
double MeasureHttp(int port, const std::string& script, size_t connections, int threads,
                   double seconds) {
  const std::string command = "wrk --latency -t" + std::to_string(threads) + " -c" +
                              std::to_string(connections) + " -d" +
                              std::to_string(static_cast<int>(seconds + 0.5)) + "s -s " + script +
                              " http://127.0.0.1:" + std::to_string(port) + "/ 2>&1";
  std::string out;
  if (cotenant::testing::RunCommand(command, &out) != 0) Die("wrk failed:\n" + out);
  if (out.find("Non-2xx") != std::string::npos) Die("some HTTP requests failed:\n" + out);
  const std::string tag = "Requests/sec:";
  size_t at = out.find(tag);
  if (at == std::string::npos) Die("no Requests/sec in wrk's output:\n" + out);
  return std::atof(out.c_str() + at + tag.size());
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 9;
  size_t connections = 50;
  size_t records = 1000;
  int rpc_threads = 2;
  int wrk_threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--connections" && i + 1 < argc) connections = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--records" && i + 1 < argc) records = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--rpc-threads" && i + 1 < argc) rpc_threads = std::atoi(argv[++i]);
    else if (a == "--wrk-threads" && i + 1 < argc) wrk_threads = std::atoi(argv[++i]);
    else {
      Die("usage: http_bench [--seconds S] [--connections N] [--records N] [--rpc-threads N] "
          "[--wrk-threads N]");
    }
  }
  if (seconds < 3 || connections == 0 || records == 0 || rpc_threads < 1 || wrk_threads < 1) {
    Die("--seconds must be at least 3; the counts positive");
  }
  if (cotenant::testing::RunCommand("command -v wrk > /dev/null") != 0) {
    Die("wrk is not installed (apt-get install wrk)");
  }
  if (std::getenv("COTENANT_BIN_DIR") == nullptr) setenv("COTENANT_BIN_DIR", "../tools/cotenantd", 1);

  const int api_port = cotenant::testing::FreePort();
  cotenant::testing::Cotenantd server({"--api", "127.0.0.1:" + std::to_string(api_port),
                                       "--rpc-threads", std::to_string(rpc_threads),
                                       "--log-level", "warn"});
  if (!server.ok()) Die("cotenantd did not start:\n" + server.log());
  Setup setup = Prepare(server, records);

  // The wrk script: the credentials, and a random record id for each request.
  cotenant::testing::TempDir dir;
  const std::string script = dir.path() + "/getrecord.lua";
  {
    std::ofstream lua(script);
    lua << "wrk.headers[\"Authorization\"] = \"Bearer " << setup.key << "\"\n"
        << "wrk.headers[\"Cotenant-Tenant\"] = \"" << setup.tenant << "\"\n"
        << "local ids = {";
    for (size_t i = 0; i < setup.ids.size(); ++i) lua << (i ? "," : "") << setup.ids[i];
    lua << "}\nmath.randomseed(7)\n"
        << "request = function()\n"
        << "  return wrk.format(\"GET\", \"/v1/records/Items/\" .. ids[math.random(#ids)])\n"
        << "end\n";
  }
  // One request by hand first: the answer is the record, not an error.
  std::string answer;
  cotenant::testing::RunCommand("curl -s -H 'Authorization: Bearer " + setup.key +
                                    "' -H 'Cotenant-Tenant: " + std::to_string(setup.tenant) +
                                    "' http://127.0.0.1:" + std::to_string(api_port) +
                                    "/v1/records/Items/" + std::to_string(setup.ids[0]),
                                &answer);
  if (answer.find("\"record\"") == std::string::npos) Die("getRecord over HTTP answered: " + answer);

  RpcDriver rpc(server.port(), setup, connections);
  rpc.Measure(1);  // warm-up
  MeasureHttp(api_port, script, connections, wrk_threads, 1);
  const int slices = 3;
  double rpc_sum = 0, http_sum = 0;
  for (int i = 0; i < slices; ++i) {
    rpc_sum += rpc.Measure(seconds / slices);
    http_sum += MeasureHttp(api_port, script, connections, wrk_threads, seconds / slices);
  }
  const double r = rpc_sum / slices, h = http_sum / slices;
  std::printf("getRecord of ~200-byte records (%zu), %zu connections with 1 call in flight each, "
              "%d event loops, %.0f s per API in %d alternating slices\n",
              records, connections, rpc_threads, seconds, slices);
  std::printf("  Cap'n Proto (1 client thread)  %10.0f calls/s\n", r);
  std::printf("  HTTP/JSON   (wrk -t%d, keep-alive) %7.0f requests/s  (%.2fx the Cap'n Proto figure)\n",
              wrk_threads, h, h / r);
  return 0;
}
