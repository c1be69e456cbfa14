// rpc_bench, sdk phase: what the C++ SDK's synchronous getRecord costs against the wire.
// --sdk-threads T threads each make one synchronous call at a time, three ways:
//   - one Client shared by the threads (each call handed to the client's loop thread),
//   - one Client shared by the threads with callerThreadConnections (each thread calls over
//     its own connection, on its own thread),
//   - a Client per thread (default options);
// against the driver's own single KJ loop with T connections and one call in flight on
// each, which is the wire's cost without any client library. All four alternate in slices
// on one cotenantd, so outside load falls on all alike.

#include <cotenant/client.h>

#include <atomic>
#include <functional>
#include <thread>

#include "rpc_bench.h"

namespace rpc_bench {
namespace {

// `threads` threads each calling `call(thread, rng)` back to back for `seconds` (after a
// start line they all wait at); the CPU is sampled when they start and when they stop.
RunResult DriveThreads(size_t threads, const std::function<bool(size_t, std::mt19937_64&)>& call,
                       double seconds, pid_t server, const std::string& what) {
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false}, failed{false};
  std::atomic<uint64_t> calls{0};
  std::vector<double> latency(threads, 0);
  Clock::time_point stop_at;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(t * 7919 + 1);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      uint64_t n = 0;
      double sum = 0;
      for (;;) {
        auto t0 = Clock::now();
        if (t0 >= stop_at) break;
        if (!call(t, rng)) {
          failed = true;
          break;
        }
        sum += Seconds(t0, Clock::now());
        ++n;
      }
      calls.fetch_add(n);
      latency[t] = sum;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  CpuSample first = SampleCpu(server);
  stop_at = first.at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  CpuSample last = SampleCpu(server);
  if (failed) Fail(what + ": a call failed");
  if (calls.load() == 0) Fail(what + ": no call completed");
  double latency_sum = 0;
  for (double l : latency) latency_sum += l;
  // Calls that were in flight at the stop finished after it: the window is first..last.
  return Between(first, last, calls.load(), Seconds(first.at, last.at), latency_sum);
}

}  // namespace

void RunSdk(const Options& o, const std::string& binary) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads, o.rpc_threads};
  Cotenantd server(binary, flags, /*with_http=*/false);
  const size_t threads = o.sdk_threads;
  std::printf("\n== sdk: synchronous getRecord through the SDK, %zu threads, against the driver "
              "with %zu connections ==\nserver: %s\n",
              threads, threads, server.command().c_str());
  std::fflush(stdout);

  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  BenchTenant tenant = SetUpTenant(io, server, "sdk-bench");
  std::vector<RecordsConnection> records;
  for (size_t i = 0; i < threads; ++i) records.push_back(OpenRecords(io, server.port(), tenant));
  std::vector<uint64_t> ids = Load(io, records[0].records, o.records, 3);
  std::printf("preloaded %zu records of ~200 bytes\n", ids.size());

  const std::string address = "127.0.0.1:" + std::to_string(server.port());
  cotenant::ClientOptions caller_threads;
  caller_threads.callerThreadConnections = true;
  auto shared = cotenant::Client::connect(address, tenant.id, tenant.key);
  auto shared_fast = cotenant::Client::connect(address, tenant.id, tenant.key, caller_threads);
  std::vector<std::unique_ptr<cotenant::Client>> own;
  for (size_t i = 0; i < threads; ++i) own.push_back(cotenant::Client::connect(address, tenant.id, tenant.key));

  std::mt19937_64 rng(11);
  Issue driver = [&](size_t slot) -> kj::Promise<void> {
    uint64_t id = ids[rng() % ids.size()];
    auto req = records[slot].records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      KJ_REQUIRE(r.getRecord().getId() == id, "getRecord answered another record");
    });
  };
  auto sdk_get = [&](cotenant::Client& c, std::mt19937_64& r) {
    uint64_t id = ids[r() % ids.size()];
    cotenant::Result got = c.getRecord("Items", "*", cotenant::RecordId(id));
    return got.ok() && got.getRecords().size() == 1 && got.getRecords()[0].id() == id;
  };

  struct Mode {
    std::string name;
    std::function<RunResult(double)> run;
    RunResult result;
  };
  std::vector<Mode> modes;
  modes.push_back({"driver: one loop, T connections", [&](double s) {
                     return Drive(ws, threads, driver, 0, s, server.pid(), "driver");
                   }, {}});
  modes.push_back({"SDK: one Client, default", [&](double s) {
                     return DriveThreads(threads, [&](size_t, std::mt19937_64& r) { return sdk_get(*shared, r); },
                                         s, server.pid(), "SDK shared client");
                   }, {}});
  modes.push_back({"SDK: one Client, caller threads", [&](double s) {
                     return DriveThreads(threads, [&](size_t, std::mt19937_64& r) { return sdk_get(*shared_fast, r); },
                                         s, server.pid(), "SDK caller threads");
                   }, {}});
  modes.push_back({"SDK: a Client per thread", [&](double s) {
                     return DriveThreads(threads, [&](size_t t, std::mt19937_64& r) { return sdk_get(*own[t], r); },
                                         s, server.pid(), "SDK client per thread");
                   }, {}});

  int slices = std::max(1, static_cast<int>(std::lround(o.seconds / o.slice)));
  double slice = o.seconds / slices;
  WaitQuiet(server.pid(), 30);
  for (auto& m : modes) m.run(o.warmup);  // opens the caller threads' connections, warms the cache
  for (int i = 0; i < slices; ++i) {
    for (auto& m : modes) m.result.Add(m.run(slice));
  }
  server.CheckAlive();

  const RunResult& base = modes[0].result;
  const std::string title = "getRecord, T = " + std::to_string(threads);
  std::printf("\n%-34s | %10s | %7s | %10s | %14s | %14s | %6s\n", title.c_str(), "calls/s", "ratio", "latency us", "client us/call", "server us/call", "rest%");
  for (auto& m : modes) {
    const RunResult& r = m.result;
    std::printf("%-34s | %10.0f | %6.2fx | %10.1f | %14.1f | %14.1f | %5.0f%%\n", m.name.c_str(),
                r.calls_per_sec(), r.calls_per_sec() / base.calls_per_sec(), r.mean_latency_us(),
                r.client_us_per_call(), r.server_us_per_call(), r.rest_share() * 100);
  }
  double fast = modes[2].result.calls_per_sec() / base.calls_per_sec();
  std::printf("\ntarget SDK synchronous getRecord >= 0.9x the driver at the same concurrency: "
              "caller threads %.2fx -> %s\n",
              fast, fast >= 0.9 ? "met" : "NOT met");

  shared.reset();
  shared_fast.reset();
  own.clear();
  records.clear();
  if (!server.Stop()) Fail("cotenantd did not shut down cleanly");
}

}  // namespace rpc_bench
