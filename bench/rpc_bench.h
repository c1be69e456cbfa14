// rpc_bench internals shared by its parts: rpc_bench.cc (options, main), rpc_bench_bare.cc
// (the bare Cap'n Proto baseline server), rpc_bench_redis.cc (the Redis baseline),
// rpc_bench_process.cc (child processes, /proc, the cotenantd under test),
// rpc_bench_client.cc (connections, setup calls, the measuring loop) and
// rpc_bench_scenarios.cc (the throughput, context and memory phases).

#ifndef COTENANT_BENCH_RPC_BENCH_H_
#define COTENANT_BENCH_RPC_BENCH_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <array>
#include <cctype>
#include <csignal>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench/loopback.h"
#include <vector>

#include "bare.capnp.h"
#include "schemas/cotenant.capnp.h"

namespace rpc_bench {

namespace wire = cotenant::wire;
using cotenant::bench::Bare;
using Clock = std::chrono::steady_clock;

constexpr size_t kBarePayloadBytes = 200;
constexpr uint64_t kSystemTenant = 1;
constexpr size_t kBatch = 1000;  // records per addRecords call (the server's default limit)
constexpr unsigned kBatchIds = 16;  // ids per getRecords call in the throughput phase

// A failure of the benchmark itself: printed, children killed, exit 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void Fail(const std::string& what) { throw Failure(what); }

inline std::string Describe(const kj::Exception& e) { return e.getDescription().cStr(); }

// Waits for a promise (or RemotePromise) and names the call when it fails.
template <typename P>
auto Await(P&& promise, kj::WaitScope& ws, const std::string& what) {
  try {
    return promise.wait(ws);
  } catch (const kj::Exception& e) {
    Fail(what + " failed: " + Describe(e));
  }
}

inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---- Options -------------------------------------------------------------------------------

struct Options {
  std::optional<uint16_t> bare_server_port;
  std::string cotenantd;
  double seconds = 3.0;
  double warmup = 0.5;
  double slice = 0.5;  // the calls of a mode alternate in slices of this length
  size_t inflight = 64;
  size_t connections = 50;
  // Preloaded for the throughput phase: more than the default memtable budget holds, so
  // getRecord mostly reads flushed SST blocks through the block cache (the steady state of
  // a real store) rather than whatever happens to sit in the memtable.
  size_t records = 300000;
  size_t memory_records = 1000000;  // loaded for the memory phase; 0 skips it
  size_t context_records = 150000;  // per tenant, for the context phase; 0 skips it
  bool throughput = true, context = true, memory = true, sdk = false;  // --phases
  size_t sdk_threads = 32;  // calling threads of the sdk phase
  size_t block_cache_mb = 256;
  size_t memtable_mb = 64;
  int server_threads = 0;  // 0: cotenantd's default
  int rpc_threads = 0;     // 0: cotenantd's default (one event loop per core)
  bool redis = true;
};

// The bare server (rpc_bench --bare-server PORT): serves until killed.
int RunBareServer(uint16_t port);

// ---- Child processes -----------------------------------------------------------------------

// Children to kill at exit. Plain pids, so the signal handler can read them.
extern std::array<std::atomic<pid_t>, 4> g_children;

void ForgetChild(pid_t pid);
// Adds (or, add == false, removes) a temporary data directory to remove if a signal ends
// the run.
void RememberTmpdir(const std::string& dir, bool add);
// SIGINT/SIGTERM/SIGHUP: kill the servers, remove their data directories, exit.
extern "C" void OnSignal(int sig);

class Child {
 public:
  // Starts argv[0] with argv; stdout and stderr go to log_path.
  Child(std::string name, std::vector<std::string> argv, const std::string& log_path)
      : name_(std::move(name)), log_path_(log_path) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) Fail("cannot open " + log_path + ": " + std::strerror(errno));
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) Fail(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(log, 1);
      dup2(log, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    close(log);
    for (auto& c : g_children) {
      pid_t expected = 0;
      if (c.compare_exchange_strong(expected, pid_)) break;
    }
  }
  ~Child() { Stop(); }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // True while the process runs.
  bool Alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      ForgetChild(pid_);
      pid_ = -1;
      exit_status_ = status;
      return false;
    }
    return true;
  }

  // SIGTERM, then SIGKILL after `grace`. Returns true on a clean exit (status 0).
  bool Stop(double grace = 20.0) {
    if (pid_ <= 0) return exit_status_ == 0;
    kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::duration<double>(grace);
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ForgetChild(pid_);
    pid_ = -1;
    exit_status_ = status;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::string LogTail(size_t bytes = 2000) const {
    std::ifstream in(log_path_);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
  }

 private:
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};
using ::bench::CanConnect;
using ::bench::FreePort;
void WaitListening(Child& child, uint16_t port, double timeout = 60.0);

// ---- /proc -----------------------------------------------------------------------------------

// utime + stime of a process (tid == 0) or one of its threads, in clock ticks.
uint64_t CpuTicks(pid_t pid, pid_t tid = 0);
// Busy time of the whole machine (every process, every core), in clock ticks.
uint64_t MachineBusyTicks();
double ClientCpuSeconds();
// A kB field of /proc/<pid>/status (VmRSS, VmHWM), in MiB.
double StatusMiB(pid_t pid, const std::string& field);
// Waits until a server's background work (flushes, compactions) settles: at most one
// tick of CPU per 250 ms, for at most `timeout` seconds. Returns the seconds waited.
double WaitQuiet(pid_t pid, double timeout);
uint64_t DirBytes(const std::string& dir);
// GET http://127.0.0.1:port/path with HTTP/1.0; the body, or empty on any failure.
std::string HttpGet(uint16_t port, const std::string& path);
// The value of an unlabelled Prometheus sample, or NaN.
double MetricValue(const std::string& text, const std::string& name);

// ---- The cotenantd under test --------------------------------------------------------------

struct ServerFlags {
  size_t block_cache_mb;
  size_t memtable_mb;
  int threads;      // storage threads; 0: default
  int rpc_threads;  // RPC event loops; 0: default (one per core)
};

// A cotenantd on a fresh temporary data directory, removed when this goes.
class Cotenantd {
 public:
  Cotenantd(const std::string& binary, const ServerFlags& flags, bool with_http) {
    char tmpl[] = "/tmp/cotenant-rpc-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = tmpl;
    RememberTmpdir(dir_, true);
    try {
      Start(binary, flags, with_http);
    } catch (...) {
      Cleanup();
      throw;
    }
  }
  ~Cotenantd() { Cleanup(); }

  // SIGTERM and wait; true when it shut down cleanly.
  bool Stop() { return child_->Stop(); }
  void CheckAlive() {
    if (!child_->Alive()) Fail("cotenantd exited; its log ends with:\n" + child_->LogTail());
  }

  pid_t pid() const { return child_->pid(); }
  uint16_t port() const { return port_; }
  uint16_t http_port() const { return http_port_; }
  const std::string& admin_key() const { return admin_key_; }
  const std::string& command() const { return command_; }
  std::string data_dir() const { return dir_ + "/data"; }

 private:
  void Start(const std::string& binary, const ServerFlags& flags, bool with_http) {
    port_ = FreePort();
    std::vector<std::string> argv = {binary,
                                     "--data", dir_ + "/data",
                                     "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--block-cache-mb", std::to_string(flags.block_cache_mb),
                                     "--memtable-mb", std::to_string(flags.memtable_mb),
                                     "--log-level", "warn"};
    if (flags.rpc_threads > 0) {
      argv.push_back("--rpc-threads");
      argv.push_back(std::to_string(flags.rpc_threads));
    }
    if (flags.threads > 0) {
      argv.push_back("--threads");
      argv.push_back(std::to_string(flags.threads));
    }
    if (with_http) {
      http_port_ = FreePort();
      argv.push_back("--http");
      argv.push_back("127.0.0.1:" + std::to_string(http_port_));
    }
    command_ = argv[0];
    for (size_t i = 1; i < argv.size(); ++i) command_ += " " + argv[i];
    child_.emplace("cotenantd", argv, dir_ + "/cotenantd.log");
    WaitListening(*child_, port_);
    if (with_http) WaitListening(*child_, http_port_);
    std::ifstream key_file(dir_ + "/data/admin.key");
    std::getline(key_file, admin_key_);
    while (!admin_key_.empty() && std::isspace(static_cast<unsigned char>(admin_key_.back()))) {
      admin_key_.pop_back();
    }
    if (admin_key_.empty()) Fail("cotenantd wrote no admin key to " + dir_ + "/data/admin.key");
  }

  void Cleanup() {
    child_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    RememberTmpdir(dir_, false);
  }

  std::string dir_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
  std::string admin_key_;
  std::string command_;
  std::optional<Child> child_;
};

// ---- Client connections --------------------------------------------------------------------

// One TCP connection with a two-party RPC client on it. All connections of a run share
// the one client event loop.
struct Connection {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> client;  // refers to *stream: declared after it
};

kj::Own<Connection> Connect(kj::AsyncIoContext& io, uint16_t port);

// Random text for record fields.
std::string RandomText(std::mt19937_64& rng, size_t n);

// Fills one record of ~200 bytes: name (16 chars), payload (170 chars), n.
void FillRecord(capnp::List<wire::Field>::Builder fields, kj::StringPtr name,
                kj::StringPtr payload, int64_t n);

// The tenant the benchmark works in, and the key of the user whose records() it uses.
struct BenchTenant {
  uint64_t id = 0;
  std::string key;
};

// A user created through Admin.createUser.
struct BenchUser {
  uint64_t id = 0;
  std::string key;
};

// Logs in on `conn` and returns the session's Admin capability.
wire::Admin::Client AdminOf(kj::AsyncIoContext& io, Connection& conn, uint64_t tenant,
                            const std::string& key, const std::string& who);
uint64_t CreateTenant(kj::AsyncIoContext& io, wire::Admin::Client& admin, const std::string& name);
BenchUser CreateUser(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                     const std::string& name, wire::AdminLevel level);
// Declares object Items (name:text indexed required, payload:text, n:int); tenant 0 = the
// caller's own.
void CreateItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant);
// Record calls need role rights (admins included): creates role `role` of `tenant` with
// `rights` (a wire::Rights flag set, by name) on Items and makes `user` (of the same
// tenant) a member. tenant 0 = the caller's own.
void GrantOnItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                  uint64_t member_tenant, const std::string& role, uint64_t user, bool read,
                  bool add, bool update, bool del);
// As the system admin: a new tenant and a tenant admin in it; then, as that tenant admin,
// the object Items and a role with every right on it for the tenant admin itself.
BenchTenant SetUpTenant(kj::AsyncIoContext& io, Cotenantd& server, const std::string& name);

// Logs in as the tenant admin on a new connection and takes session.records() (no
// context) once; the capability is then used for every call on that connection.
struct RecordsConnection {
  kj::Own<Connection> conn;
  wire::Records::Client records = nullptr;
};

RecordsConnection OpenRecords(kj::AsyncIoContext& io, uint16_t port, const BenchTenant& tenant);

// Adds `count` records with addRecords batches of kBatch, `window` batches in flight.
// Returns the ids, in order.
std::vector<uint64_t> Load(kj::AsyncIoContext& io, wire::Records::Client& records, size_t count,
                           uint64_t seed);

// ---- The measuring loop --------------------------------------------------------------------

// Sums over one or more measured windows; the figures are derived from them.
struct RunResult {
  uint64_t calls = 0;
  double seconds = 0;       // measured time
  double latency_sum = 0;   // seconds, over the counted calls
  double cpu_window = 0;    // seconds over which the CPU times below were taken
  double client_cpu = 0;    // CPU seconds of this process
  double loop_cpu = 0;      // of the server's main thread (its RPC event loop)
  double other_cpu = 0;     // of every other server thread (storage pool, RocksDB)
  double machine_cpu = 0;   // of the whole machine

  void Add(const RunResult& r) {
    calls += r.calls;
    seconds += r.seconds;
    latency_sum += r.latency_sum;
    cpu_window += r.cpu_window;
    client_cpu += r.client_cpu;
    loop_cpu += r.loop_cpu;
    other_cpu += r.other_cpu;
    machine_cpu += r.machine_cpu;
  }
  double calls_per_sec() const { return static_cast<double>(calls) / seconds; }
  double mean_latency_us() const { return latency_sum / static_cast<double>(calls) * 1e6; }
  // Shares of one core.
  double client_share() const { return client_cpu / cpu_window; }
  double loop_share() const { return loop_cpu / cpu_window; }
  double other_share() const { return std::max(0.0, other_cpu) / cpu_window; }
  double rest_share() const {
    return std::max(0.0, (machine_cpu - client_cpu - loop_cpu - other_cpu) / cpu_window);
  }
  // CPU microseconds per call, which contention from other processes skews far less
  // than throughput.
  double client_us_per_call() const { return client_cpu * 1e6 / static_cast<double>(calls); }
  double server_us_per_call() const {
    return (loop_cpu + std::max(0.0, other_cpu)) * 1e6 / static_cast<double>(calls);
  }
};

// CPU counters at one instant: this process, the server's main thread and whole process,
// the machine.
struct CpuSample {
  Clock::time_point at;
  double client;
  uint64_t loop, total, machine;
};
CpuSample SampleCpu(pid_t server);
// The figures of `calls` answered over `seconds` between two samples.
RunResult Between(const CpuSample& first, const CpuSample& last, uint64_t calls, double seconds,
                  double latency_sum);

// Starts one call on slot `slot` and resolves once its answer was checked.
using Issue = kj::Function<kj::Promise<void>(size_t slot)>;

// Keeps `slots` calls in flight: each slot issues its next call when its previous one
// answered. Calls answered in [warm-up end, end) are counted; nothing is issued after the
// end, and the run returns when every slot has drained. CPU of the client and of the
// server process `server` is sampled at both edges of the window.
RunResult Drive(kj::WaitScope& ws, size_t slots, Issue& issue, double warmup, double seconds,
                pid_t server, const std::string& what);

// ---- Redis (optional baseline) -------------------------------------------------------------

bool OnPath(const std::string& tool);

struct RedisRow {
  double get = NAN, set = NAN;
};
// redis-benchmark against a private redis-server: GET and SET of a 200-byte value.
// `pipeline` > 1 keeps that many commands in flight on each connection.
RedisRow RedisBench(uint16_t port, int clients, int pipeline, uint64_t requests);

// ---- The phases ----------------------------------------------------------------------------

void RunThroughput(const Options& o, const std::string& binary, const std::string& self);
void RunContext(const Options& o, const std::string& binary);
void RunMemory(const Options& o, const std::string& binary);
// Synchronous getRecord through the SDK from --sdk-threads threads, three ways, against the
// driver's own loop with as many connections (rpc_bench_sdk.cc).
void RunSdk(const Options& o, const std::string& binary);

}  // namespace rpc_bench

#endif  // COTENANT_BENCH_RPC_BENCH_H_
