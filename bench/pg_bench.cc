// getRecord and addRecord of a cotenantd on the PostgreSQL engine against a bare libpq
// client doing the same primary-key SELECT / INSERT on a table of the same shape, in one
// run against one PostgreSQL server: both are measured in alternating slices, so machine
// noise falls on both alike.
//
//   pg_bench [--seconds S] [--threads T] [--records N]
//            (defaults: 6 s per side and call, T = 4, N = 10000)
//
// The PostgreSQL server is a throw-away one started by tests/pg_cluster.sh (fsync off:
// both sides write to the same server, so the ratio is what it measures). cotenantd runs
// with --threads T (its storage threads, each doing one PostgreSQL call at a time) and is
// called through the SDK with 16 calls in flight per storage thread; the bare client runs
// T threads, each with its own connection doing one prepared statement at a time.
// Needs cotenantd built (found through $COTENANT_BIN_DIR, else ../tools/cotenantd/) and
// the source tree's tests/pg_cluster.sh ($COTENANT_SOURCE_DIR, else ../..).

#include <cotenant/client.h>

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/pg_support.h"
#include "tests/test_support.h"

namespace {

using cotenant::Client;
using Clock = std::chrono::steady_clock;

// Stops the PostgreSQL server when the benchmark gives up (set once it is started).
cotenant::bench::PgCluster* g_pg = nullptr;

void Die(const std::string& what) {
  std::fprintf(stderr, "pg_bench: %s\n", what.c_str());
  if (g_pg != nullptr) g_pg->Stop();
  std::exit(1);
}

using cotenant::bench::ClusterCpu;
using cotenant::bench::ProcessCpu;
using cotenant::bench::SelfCpu;

struct Rate {
  double calls = 0, seconds = 0;
  double client_cpu = 0, server_cpu = 0, pg_cpu = 0;  // CPU seconds while measured
  double per_second() const { return seconds > 0 ? calls / seconds : 0; }
  double us_per_call(double cpu) const { return calls > 0 ? 1e6 * cpu / calls : 0; }
};

// Adds the CPU each component used while `run` ran to *rate.
template <typename Run>
void WithCpu(pid_t server, Rate* rate, Run run) {
  const pid_t pg = g_pg->postmaster();
  double c0 = SelfCpu(), s0 = server > 0 ? ProcessCpu(server) : 0, p0 = ClusterCpu(pg);
  run();
  rate->client_cpu += SelfCpu() - c0;
  if (server > 0) rate->server_cpu += ProcessCpu(server) - s0;
  rate->pg_cpu += ClusterCpu(pg) - p0;
}

// ---- cotenantd ------------------------------------------------------------------------

struct Cotenant {
  std::unique_ptr<cotenant::testing::Cotenantd> server;
  std::unique_ptr<Client> client;
  std::vector<cotenant::RecordId> ids;
};

void PrepareCotenant(Cotenant& c, size_t records) {
  cotenant::bench::BenchTenant t;
  std::string error;
  if (!cotenant::bench::MakeBenchTenant(c.server->address(), c.server->admin_key(), records, &t,
                                        &error)) {
    Die(error);
  }
  c.client = std::move(t.client);
  c.ids = std::move(t.ids);
}

// getRecord (or addRecord) with `inflight` calls outstanding for `seconds`.
void MeasureCotenant(Cotenant& c, bool add, size_t inflight, double seconds, Rate* rate) {
  std::deque<std::future<cotenant::Result>> window;
  cotenant::Parameters p;
  p.add("name", std::string(100, 'y'));
  size_t next = 0, done = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    while (window.size() < inflight) {
      window.push_back(add ? c.client->addRecordAsync("Customers", p)
                           : c.client->getRecordAsync("Customers", "*", c.ids[next++ % c.ids.size()]));
    }
    auto r = window.front().get();
    if (!r.ok()) Die(std::string(add ? "addRecord" : "getRecord") + ": " + r.getMessage());
    window.pop_front();
    ++done;
  }
  for (auto& f : window) f.get();
  rate->calls += static_cast<double>(done + window.size());
  rate->seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- bare libpq -----------------------------------------------------------------------

std::string Key(uint64_t i) {
  // The shape of a record key: tenant (8) | object (4) | id (8), big-endian.
  std::string k(20, '\0');
  for (int b = 0; b < 8; ++b) k[12 + b] = static_cast<char>(i >> (56 - 8 * b));
  k[7] = 2;
  k[11] = 1;
  return k;
}

PGconn* Connect(const std::string& uri) {
  PGconn* c = PQconnectdb(uri.c_str());
  if (PQstatus(c) != CONNECTION_OK) Die(std::string("libpq: ") + PQerrorMessage(c));
  return c;
}

void Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(sql + ": " + PQresultErrorMessage(r));
  PQclear(r);
}

void PrepareBare(const std::string& uri, size_t records) {
  PGconn* c = Connect(uri);
  Exec(c, "CREATE TABLE bench_kv (k bytea PRIMARY KEY, v bytea NOT NULL)");
  // The same rows as cotenantd's: an encoded record of about the same size.
  std::string value(120, 'x');
  Exec(c, "BEGIN");
  PGresult* p = PQprepare(c, "ins", "INSERT INTO bench_kv VALUES ($1, $2)", 2, nullptr);
  PQclear(p);
  for (size_t i = 1; i <= records; ++i) {
    std::string k = Key(i);
    const char* v[2] = {k.data(), value.data()};
    int len[2] = {static_cast<int>(k.size()), static_cast<int>(value.size())};
    int fmt[2] = {1, 1};
    PGresult* r = PQexecPrepared(c, "ins", 2, v, len, fmt, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(PQresultErrorMessage(r));
    PQclear(r);
  }
  Exec(c, "COMMIT");
  PQfinish(c);
}

// T threads, each with a connection doing one statement at a time, for `seconds`.
void MeasureBare(const std::vector<PGconn*>& conns, bool add, size_t records, double seconds,
                 std::atomic<uint64_t>* next_insert, Rate* rate) {
  std::atomic<uint64_t> calls{0};
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < conns.size(); ++t) {
    threads.emplace_back([&, t] {
      PGconn* c = conns[t];
      std::string value(120, 'y');
      uint64_t n = 0, i = t;
      while (Clock::now() < end) {
        std::string k = add ? Key(next_insert->fetch_add(1)) : Key(1 + (i++ * 7919) % records);
        const char* v[2] = {k.data(), value.data()};
        int len[2] = {static_cast<int>(k.size()), static_cast<int>(value.size())};
        int fmt[2] = {1, 1};
        PGresult* r = PQexecPrepared(c, add ? "ins" : "get", add ? 2 : 1, v, len, fmt, 1);
        auto st = PQresultStatus(r);
        if (add ? st != PGRES_COMMAND_OK : (st != PGRES_TUPLES_OK || PQntuples(r) != 1)) {
          Die(std::string("bare: ") + PQresultErrorMessage(r));
        }
        PQclear(r);
        ++n;
      }
      calls += n;
    });
  }
  for (auto& th : threads) th.join();
  rate->calls += static_cast<double>(calls.load());
  rate->seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 6;
  size_t threads = 4, records = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--records" && i + 1 < argc) records = std::strtoul(argv[++i], nullptr, 10);
    else Die("usage: pg_bench [--seconds S] [--threads T] [--records N]");
  }
  if (seconds <= 0 || threads == 0 || records == 0) Die("every option must be positive");
  if (std::getenv("COTENANT_BIN_DIR") == nullptr) setenv("COTENANT_BIN_DIR", "../tools/cotenantd", 1);

  cotenant::testing::TempDir dir;
  cotenant::bench::PgCluster pg;
  std::string error;
  if (!pg.Start(dir.path() + "/pg", &error)) Die(error);
  g_pg = &pg;

  Cotenant c;
  c.server = std::make_unique<cotenant::testing::Cotenantd>(std::vector<std::string>{
      "--threads", std::to_string(threads), "--storage-connections", std::to_string(threads + 4)});
  if (!c.server->ok()) Die("cotenantd did not start:\n" + c.server->log());
  PrepareCotenant(c, records);

  const std::string bare_uri = cotenant::testing::TestStorageUri(dir.path() + "/bare");
  PrepareBare(bare_uri, records);
  std::vector<PGconn*> conns;
  for (size_t t = 0; t < threads; ++t) {
    PGconn* conn = Connect(bare_uri);
    PQclear(PQprepare(conn, "get", "SELECT v FROM bench_kv WHERE k = $1", 1, nullptr));
    PQclear(PQprepare(conn, "ins", "INSERT INTO bench_kv VALUES ($1, $2)", 2, nullptr));
    conns.push_back(conn);
  }
  std::atomic<uint64_t> next_insert{records + 1};
  const size_t inflight = 16 * threads;

  std::printf("PostgreSQL engine vs bare libpq, %zu records, %zu storage threads / bare "
              "connections, %zu SDK calls in flight, %.1f s per side and call\n",
              records, threads, inflight, seconds);
  for (bool add : {false, true}) {
    Rate warm, cot, bare;
    MeasureCotenant(c, add, inflight, 0.5, &warm);  // warm-up
    MeasureBare(conns, add, records, 0.5, &next_insert, &warm);
    const int slices = 6;
    for (int i = 0; i < slices; ++i) {
      WithCpu(c.server->pid(), &cot, [&] { MeasureCotenant(c, add, inflight, seconds / slices, &cot); });
      WithCpu(0, &bare, [&] {
        MeasureBare(conns, add, records, seconds / slices, &next_insert, &bare);
      });
    }
    std::printf("  %-10s cotenantd %9.0f calls/s   bare libpq %9.0f calls/s   ratio %.2fx\n",
                add ? "addRecord" : "getRecord", cot.per_second(), bare.per_second(),
                cot.per_second() / bare.per_second());
    std::printf("             CPU us/call: cotenantd side: client %.1f, cotenantd %.1f, "
                "PostgreSQL %.1f; bare side: client %.1f, PostgreSQL %.1f\n",
                cot.us_per_call(cot.client_cpu), cot.us_per_call(cot.server_cpu),
                cot.us_per_call(cot.pg_cpu), bare.us_per_call(bare.client_cpu),
                bare.us_per_call(bare.pg_cpu));
  }
  for (PGconn* conn : conns) PQfinish(conn);
  return 0;
}
