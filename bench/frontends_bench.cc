// Several cotenantd front-ends on one PostgreSQL store: getRecord, then addRecord, with 1,
// 2, ... N front-ends serving the same store, in one run against one PostgreSQL server.
// For each count it reports calls/s and the CPU per call of each component (the
// front-ends summed, the PostgreSQL cluster, this client process), with ratios against the
// one-front-end figures of the same run.
//
//   frontends_bench [--max N] [--seconds S] [--clients C] [--inflight W] [--threads T]
//                   [--records R]
//   (defaults: N = 3, 8 s per call and count, C = 6 SDK clients, W = 12 calls in flight
//    on each, T = 4 storage threads per front-end, R = 10000 records)
//
// The PostgreSQL server is a throw-away one started by tests/pg_cluster.sh (loopback,
// fsync off). For each count n the benchmark starts n cotenantd on a fresh schema of that
// server (the first makes it; the others get its --storage URI and its
// --cache-secret-file, each its own --data directory), makes the tenant and its records
// through the first, then drives the load from C clients, client i on front-end i mod n,
// each on its own thread with W calls in flight: the offered load (C x W calls in flight)
// is the same for every n, only the number of front-ends sharing it changes. A warm-up
// second per call lets every front-end load the tenant before it is measured.
// Needs cotenantd built (found through $COTENANT_BIN_DIR, else ../tools/cotenantd/) and
// the source tree's tests/pg_cluster.sh ($COTENANT_SOURCE_DIR, else ../..).

#include <cotenant/client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/pg_support.h"
#include "tests/test_support.h"

namespace {

using cotenant::Client;
using cotenant::bench::ClusterCpu;
using cotenant::bench::ProcessCpu;
using cotenant::bench::SelfCpu;
using Clock = std::chrono::steady_clock;

// Stops the PostgreSQL server when the benchmark gives up (set once it is started).
cotenant::bench::PgCluster* g_pg = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "frontends_bench: %s\n", what.c_str());
  if (g_pg != nullptr) g_pg->Stop();
  std::exit(1);
}

struct Options {
  size_t max_frontends = 3;
  double seconds = 8;
  size_t clients = 6;
  size_t inflight = 12;
  size_t threads = 4;
  size_t records = 10000;
};

// One measured load: calls, wall time, and the CPU seconds each component used meanwhile.
struct Rate {
  double calls = 0, busy = 0, seconds = 0;
  double frontends_cpu = 0, pg_cpu = 0, client_cpu = 0;
  double per_second() const { return seconds > 0 ? calls / seconds : 0; }
  double us_per_call(double cpu) const { return calls > 0 ? 1e6 * cpu / calls : 0; }
  // Cores kept busy on average by everything measured.
  double cores() const {
    return seconds > 0 ? (frontends_cpu + pg_cpu + client_cpu) / seconds : 0;
  }
};

// n front-ends on one fresh schema, the tenant made through the first, and one SDK client
// per load thread.
struct Setup {
  std::vector<std::unique_ptr<cotenant::testing::Cotenantd>> frontends;
  cotenant::bench::BenchTenant tenant;
  std::vector<std::unique_ptr<Client>> clients;

  double FrontendsCpu() const {
    double total = 0;
    for (const auto& f : frontends) total += ProcessCpu(f->pid());
    return total;
  }
};

void Start(const Options& o, size_t n, Setup* s) {
  const std::vector<std::string> flags = {"--threads", std::to_string(o.threads),
                                          "--storage-connections", std::to_string(o.threads + 4)};
  s->frontends.push_back(std::make_unique<cotenant::testing::Cotenantd>(flags));
  const auto& first = *s->frontends.front();
  if (!first.ok()) Die("cotenantd did not start:\n" + first.log());
  // The others: their own --data directory, the first one's store and cache secret.
  const std::string storage = cotenant::testing::TestStorageUri(first.data_dir() + "/data");
  const std::string secret = first.data_dir() + "/data/cache.secret";
  for (size_t i = 1; i < n; ++i) {
    auto more = flags;
    more.insert(more.end(), {"--storage", storage, "--cache-secret-file", secret});
    s->frontends.push_back(std::make_unique<cotenant::testing::Cotenantd>(more));
    if (!s->frontends.back()->ok()) Die("cotenantd did not start:\n" + s->frontends.back()->log());
  }
  std::string error;
  if (!cotenant::bench::MakeBenchTenant(first.address(), first.admin_key(), o.records, &s->tenant,
                                        &error)) {
    Die(error);
  }
  for (size_t c = 0; c < o.clients; ++c) {
    s->clients.push_back(
        Client::connect(s->frontends[c % n]->address(), s->tenant.id, s->tenant.api_key));
  }
}

// Every client on its own thread, `inflight` getRecord (or addRecord) calls outstanding,
// for `seconds`; adds the calls and the CPU used to *rate.
void Measure(const Options& o, Setup& s, bool add, double seconds, Rate* rate) {
  std::atomic<uint64_t> calls{0}, busy{0};
  const double f0 = s.FrontendsCpu(), p0 = ClusterCpu(g_pg->postmaster()), c0 = SelfCpu();
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < s.clients.size(); ++c) {
    threads.emplace_back([&, c] {
      Client& client = *s.clients[c];
      const auto& ids = s.tenant.ids;
      cotenant::Parameters p;
      p.add("name", std::string(100, 'y'));
      std::deque<std::future<cotenant::Result>> window;
      size_t next = c * 7919;
      uint64_t done = 0, shed = 0;
      auto settle = [&] {
        auto r = window.front().get();
        window.pop_front();
        if (r.getCode() == cotenant::ErrorCode::Busy) {
          ++shed;
        } else if (!r.ok()) {
          Die(std::string(add ? "addRecord" : "getRecord") + ": " + r.getMessage());
        } else {
          ++done;
        }
      };
      while (Clock::now() < end) {
        while (window.size() < o.inflight) {
          window.push_back(add ? client.addRecordAsync("Customers", p)
                               : client.getRecordAsync("Customers", "*", ids[next++ % ids.size()]));
        }
        settle();
      }
      while (!window.empty()) settle();
      calls += done;
      busy += shed;
    });
  }
  for (auto& t : threads) t.join();
  rate->seconds += std::chrono::duration<double>(Clock::now() - start).count();
  rate->frontends_cpu += s.FrontendsCpu() - f0;
  rate->pg_cpu += ClusterCpu(g_pg->postmaster()) - p0;
  rate->client_cpu += SelfCpu() - c0;
  rate->calls += static_cast<double>(calls.load());
  rate->busy += static_cast<double>(busy.load());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--max") o.max_frontends = std::strtoul(next(), nullptr, 10);
    else if (a == "--seconds") o.seconds = std::atof(next());
    else if (a == "--clients") o.clients = std::strtoul(next(), nullptr, 10);
    else if (a == "--inflight") o.inflight = std::strtoul(next(), nullptr, 10);
    else if (a == "--threads") o.threads = std::strtoul(next(), nullptr, 10);
    else if (a == "--records") o.records = std::strtoul(next(), nullptr, 10);
    else Die("usage: frontends_bench [--max N] [--seconds S] [--clients C] [--inflight W] "
             "[--threads T] [--records R]");
  }
  if (o.max_frontends == 0 || o.seconds <= 0 || o.clients == 0 || o.inflight == 0 ||
      o.threads == 0 || o.records == 0) {
    Die("every option must be positive");
  }
  if (std::getenv("COTENANT_BIN_DIR") == nullptr) {
    setenv("COTENANT_BIN_DIR", "../tools/cotenantd", 1);
  }

  cotenant::testing::TempDir dir;
  cotenant::bench::PgCluster pg;
  std::string error;
  if (!pg.Start(dir.path() + "/pg", &error)) Die(error);
  g_pg = &pg;
  if (pg.postmaster() <= 0) Die("no postmaster pid: PostgreSQL's CPU cannot be measured");

  std::printf("Front-ends on one PostgreSQL: %zu records, %zu SDK clients x %zu calls in flight "
              "(spread over the front-ends), %zu storage threads per front-end, %.1f s per call "
              "and count; %u cores online, load average %.2f at start\n",
              o.records, o.clients, o.inflight, o.threads, o.seconds,
              static_cast<unsigned>(std::thread::hardware_concurrency()),
              cotenant::bench::LoadAverage());
  std::printf("%-10s %3s %10s %7s  %10s %10s %10s %10s  %6s %6s %5s\n", "call", "fe", "calls/s",
              "vs 1", "fe us/call", "pg us/call", "cl us/call", "sum", "cores", "busy", "load");
  Rate base[2];
  for (size_t n = 1; n <= o.max_frontends; ++n) {
    Setup s;
    Start(o, n, &s);
    for (bool add : {false, true}) {
      Rate warm, r;
      Measure(o, s, add, 1.0, &warm);
      Measure(o, s, add, o.seconds, &r);
      if (n == 1) base[add] = r;
      const Rate& b = base[add];
      std::printf("%-10s %3zu %10.0f %6.2fx  %10.1f %10.1f %10.1f %10.1f  %6.2f %6.0f %5.2f\n",
                  add ? "addRecord" : "getRecord", n, r.per_second(),
                  r.per_second() / b.per_second(), r.us_per_call(r.frontends_cpu),
                  r.us_per_call(r.pg_cpu), r.us_per_call(r.client_cpu),
                  r.us_per_call(r.frontends_cpu + r.pg_cpu + r.client_cpu), r.cores(), r.busy,
                  cotenant::bench::LoadAverage());
      if (n > 1) {
        std::printf("%-10s %3s %10s %7s  %9.2fx %9.2fx %9.2fx %9.2fx\n", "", "", "", "",
                    r.us_per_call(r.frontends_cpu) / b.us_per_call(b.frontends_cpu),
                    r.us_per_call(r.pg_cpu) / b.us_per_call(b.pg_cpu),
                    r.us_per_call(r.client_cpu) / b.us_per_call(b.client_cpu),
                    r.us_per_call(r.frontends_cpu + r.pg_cpu + r.client_cpu) /
                        b.us_per_call(b.frontends_cpu + b.pg_cpu + b.client_cpu));
      }
      std::fflush(stdout);
    }
  }
  std::printf("fe = front-ends; CPU per call: fe = the cotenantd processes summed, pg = the "
              "PostgreSQL cluster's processes, cl = this client process; cores = CPU seconds of "
              "all three per wall second; busy = calls answered Busy (not counted in calls/s)\n");
  return 0;
}
