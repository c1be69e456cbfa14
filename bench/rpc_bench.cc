// RPC benchmark: Cotenant's getRecord and addRecord over loopback against a bare Cap'n
// Proto call (bench/bare.capnp) served the same way, in one run; then cotenantd's resident
// memory after a bulk load, against its configured block cache and memtable budget.
//
//   rpc_bench [--cotenantd PATH] [--seconds S] [--warmup S] [--slice S] [--inflight N]
//             [--connections N] [--records N] [--context-records N] [--memory-records N]
//             [--block-cache-mb N] [--memtable-mb N] [--server-threads N] [--rpc-threads N] [--no-redis]
//             [--sdk-threads N] [--phases throughput,context,memory,sdk]
//   rpc_bench --bare-server PORT        (the baseline server; the main mode starts it)
//
// The main mode starts two servers on free loopback ports: itself as the bare server and
// a real cotenantd on a fresh data directory. Over raw Cap'n Proto it logs in as the
// system admin, creates a tenant, a tenant admin and an object "Items" (name:text indexed
// required, payload:text, n:int), gives the tenant admin a role with every right on Items
// (record calls need role rights, admins included), preloads records of ~200 bytes with
// addRecords, then
// measures each call for --seconds (in alternating slices of --slice) after --warmup, with
//   - 1 call in flight on one connection,
//   - --inflight calls in flight on one connection (a window of outstanding promises),
//   - --connections connections with 1 call in flight each (like redis-benchmark -c 50).
// One client thread drives all of it from one KJ event loop. When redis-server and
// redis-benchmark are on the PATH, Redis GET/SET with the same shapes is measured too.
//
// The context phase (skipped with --context-records 0) measures getRecord through a
// TenantContext against getRecord in the caller's own tenant, on another fresh cotenantd:
// publisher tenant P and consumer tenant C, each with an object Items holding
// --context-records records of the same size (loaded interleaved, so both tenants' data
// sit alike in memtables and SST files); in P a user with a read-only role on Items,
// named by a data-sharing policy of P designating C; in C a user with its own role on
// Items. That consumer takes session.records() and session.records(TenantContext{P})
// once on one connection and calls getRecord on each with --inflight calls in flight,
// in alternating slices: the context is resolved once and then served from the warm
// in-process cache, so the difference is what a cross-tenant call adds on top of the
// lookup (audit entries in both tenants' logs, usage metering).
//
// The memory phase (skipped with --memory-records 0) loads N records into another fresh
// cotenantd and reads VmRSS/VmHWM from /proc/<pid>/status and the store's gauges from
// /metrics, after the load and again after a read pass that fills the block cache.
//
// Both servers are killed at exit, also on failure; children also get SIGKILL if this
// process dies (PR_SET_PDEATHSIG). Results and how to read them: docs/BENCHMARKS.md.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "rpc_bench.h"

namespace rpc_bench {
namespace {

[[noreturn]] void Usage(const char* argv0, const std::string& error) {
  std::fprintf(stderr,
               "%s\nusage: %s [--cotenantd PATH] [--seconds S] [--warmup S] [--inflight N]\n"
               "          [--connections N] [--records N] [--context-records N]\n"
               "          [--memory-records N] [--block-cache-mb N] [--memtable-mb N]\n"
               "          [--server-threads N] [--rpc-threads N] [--no-redis] [--sdk-threads N]\n"
               "          [--phases throughput,context,memory,sdk]\n"
               "       %s --bare-server PORT\n",
               error.c_str(), argv0, argv0);
  std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  auto number = [&](int& i, double lo, double hi) {
    if (i + 1 >= argc) Usage(argv[0], std::string(argv[i]) + " needs a value");
    char* end = nullptr;
    double v = std::strtod(argv[i + 1], &end);
    if (end == argv[i + 1] || *end != '\0' || !(v >= lo && v <= hi)) {
      Usage(argv[0], std::string(argv[i]) + ": bad value " + argv[i + 1]);
    }
    ++i;
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bare-server") o.bare_server_port = static_cast<uint16_t>(number(i, 1, 65535));
    else if (a == "--cotenantd") {
      if (i + 1 >= argc) Usage(argv[0], "--cotenantd needs a path");
      o.cotenantd = argv[++i];
    } else if (a == "--seconds") o.seconds = number(i, 0.1, 3600);
    else if (a == "--warmup") o.warmup = number(i, 0, 3600);
    else if (a == "--slice") o.slice = number(i, 0.05, 3600);
    else if (a == "--inflight") o.inflight = static_cast<size_t>(number(i, 1, 100000));
    else if (a == "--connections") o.connections = static_cast<size_t>(number(i, 1, 10000));
    else if (a == "--records") o.records = static_cast<size_t>(number(i, 1, 1e9));
    else if (a == "--memory-records") o.memory_records = static_cast<size_t>(number(i, 0, 1e9));
    else if (a == "--context-records") o.context_records = static_cast<size_t>(number(i, 0, 1e9));
    else if (a == "--phases") {
      if (i + 1 >= argc) Usage(argv[0], "--phases needs a list");
      std::string list = std::string(",") + argv[++i] + ",";
      o.throughput = list.find(",throughput,") != std::string::npos;
      o.context = list.find(",context,") != std::string::npos;
      o.memory = list.find(",memory,") != std::string::npos;
      o.sdk = list.find(",sdk,") != std::string::npos;
      if (!o.throughput && !o.context && !o.memory && !o.sdk) {
        Usage(argv[0], "--phases: no known phase");
      }
    }
    else if (a == "--block-cache-mb") o.block_cache_mb = static_cast<size_t>(number(i, 1, 1 << 20));
    else if (a == "--memtable-mb") o.memtable_mb = static_cast<size_t>(number(i, 1, 65536));
    else if (a == "--server-threads") o.server_threads = static_cast<int>(number(i, 1, 1024));
    else if (a == "--rpc-threads") o.rpc_threads = static_cast<int>(number(i, 1, 256));
    else if (a == "--sdk-threads") o.sdk_threads = static_cast<size_t>(number(i, 1, 1024));
    else if (a == "--no-redis") o.redis = false;
    else if (a == "--help" || a == "-h") Usage(argv[0], "RPC benchmark of cotenantd");
    else Usage(argv[0], "unknown flag " + a);
  }
  return o;
}
}  // namespace
}  // namespace rpc_bench

int main(int argc, char** argv) {
  using namespace rpc_bench;
  Options o = ParseOptions(argc, argv);
  if (o.bare_server_port) return RunBareServer(*o.bare_server_port);

  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);

  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  std::string binary = o.cotenantd.empty() ? ::bench::DefaultCotenantd() : o.cotenantd;
  if (ec || access(binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "rpc_bench: cannot run cotenantd at %s (give --cotenantd PATH)\n",
                 binary.c_str());
    return 2;
  }

  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("RPC benchmark: client and servers on this machine (%ld cores), loopback; "
              "load average before the run %.2f\n",
              sysconf(_SC_NPROCESSORS_ONLN), load[0]);
  std::printf("cotenantd: block cache %zu MiB, memtables %zu MiB, storage threads %s, RPC event "
              "loops %s\n",
              o.block_cache_mb, o.memtable_mb,
              o.server_threads > 0 ? std::to_string(o.server_threads).c_str() : "default",
              o.rpc_threads > 0 ? std::to_string(o.rpc_threads).c_str() : "default (one per core)");
  try {
    if (o.throughput) RunThroughput(o, binary, self);
    if (o.sdk) RunSdk(o, binary);
    if (o.context && o.context_records > 0) RunContext(o, binary);
    if (o.memory && o.memory_records > 0) RunMemory(o, binary);
  } catch (const Failure& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rpc_bench: %s\n", e.what());
    return 1;  // the servers are stopped by their destructors on the way out
  } catch (const kj::Exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rpc_bench: %s\n", kj::str(e).cStr());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rpc_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
