// RPC benchmark: Cotenant's getRecord and addRecord over loopback against a bare Cap'n
// Proto call (bench/bare.capnp) served the same way, in one run; then cotenantd's resident
// memory after a bulk load, against its configured block cache and memtable budget.
//
//   rpc_bench [--cotenantd PATH] [--seconds S] [--warmup S] [--slice S] [--inflight N]
//             [--connections N] [--records N] [--context-records N] [--memory-records N]
//             [--block-cache-mb N] [--memtable-mb N] [--server-threads N] [--no-redis]
//             [--phases throughput,context,memory]
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
#include <vector>

#include "bare.capnp.h"
#include "schemas/cotenant.capnp.h"

namespace {

namespace wire = cotenant::wire;
using cotenant::bench::Bare;
using Clock = std::chrono::steady_clock;

constexpr size_t kBarePayloadBytes = 200;
constexpr uint64_t kSystemTenant = 1;
constexpr size_t kBatch = 1000;  // records per addRecords call (the server's default limit)

// A failure of the benchmark itself: printed, children killed, exit 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& what) { throw Failure(what); }

std::string Describe(const kj::Exception& e) { return e.getDescription().cStr(); }

// Waits for a promise (or RemotePromise) and names the call when it fails.
template <typename P>
auto Await(P&& promise, kj::WaitScope& ws, const std::string& what) {
  try {
    return promise.wait(ws);
  } catch (const kj::Exception& e) {
    Fail(what + " failed: " + Describe(e));
  }
}

double Seconds(Clock::time_point a, Clock::time_point b) {
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
  bool throughput = true, context = true, memory = true;  // --phases
  size_t block_cache_mb = 256;
  size_t memtable_mb = 64;
  int server_threads = 0;  // 0: cotenantd's default
  bool redis = true;
};

[[noreturn]] void Usage(const char* argv0, const std::string& error) {
  std::fprintf(stderr,
               "%s\nusage: %s [--cotenantd PATH] [--seconds S] [--warmup S] [--inflight N]\n"
               "          [--connections N] [--records N] [--context-records N]\n"
               "          [--memory-records N] [--block-cache-mb N] [--memtable-mb N]\n"
               "          [--server-threads N] [--no-redis] [--phases throughput,context,memory]\n"
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
      if (!o.throughput && !o.context && !o.memory) Usage(argv[0], "--phases: no known phase");
    }
    else if (a == "--block-cache-mb") o.block_cache_mb = static_cast<size_t>(number(i, 1, 1 << 20));
    else if (a == "--memtable-mb") o.memtable_mb = static_cast<size_t>(number(i, 1, 65536));
    else if (a == "--server-threads") o.server_threads = static_cast<int>(number(i, 1, 1024));
    else if (a == "--no-redis") o.redis = false;
    else if (a == "--help" || a == "-h") Usage(argv[0], "RPC benchmark of cotenantd");
    else Usage(argv[0], "unknown flag " + a);
  }
  return o;
}

// ---- The bare server -----------------------------------------------------------------------

// Serves Bare: answers get at once with a fixed 200-byte payload.
class BareImpl final : public Bare::Server {
 public:
  BareImpl() {
    for (size_t i = 0; i < kBarePayloadBytes; ++i) payload_[i] = static_cast<kj::byte>('a' + i % 26);
  }

 protected:
  kj::Promise<void> get(GetContext context) override {
    uint64_t id = context.getParams().getId();
    auto out = context.getResults(capnp::MessageSize{4 + kBarePayloadBytes / 8, 0})
                   .initPayload(kBarePayloadBytes);
    std::memcpy(out.begin(), payload_.data(), kBarePayloadBytes);
    std::memcpy(out.begin(), &id, sizeof(id));
    return kj::READY_NOW;
  }

 private:
  std::array<kj::byte, kBarePayloadBytes> payload_;
};

// One thread, one KJ event loop, a TwoPartyServer: the shape of cotenantd's RPC loop.
int RunBareServer(uint16_t port) {
  auto io = kj::setupAsyncIo();
  capnp::TwoPartyServer server(kj::heap<BareImpl>());
  auto address = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
  auto listener = address->listen();
  server.listen(*listener).wait(io.waitScope);
  return 0;
}

// ---- Child processes -----------------------------------------------------------------------

// Children to kill at exit. Plain pids, so the signal handler can read them.
std::array<std::atomic<pid_t>, 4> g_children{};

void ForgetChild(pid_t pid) {
  for (auto& c : g_children) {
    pid_t expected = pid;
    c.compare_exchange_strong(expected, 0);
  }
}

// Temporary data directories to remove if a signal ends the run (fixed buffers, so the
// handler needs no allocation).
std::array<std::array<char, 64>, 2> g_tmpdirs{};

void RememberTmpdir(const std::string& dir, bool add) {
  for (auto& slot : g_tmpdirs) {
    if (add && slot[0] == '\0' && dir.size() < slot.size()) {
      std::memcpy(slot.data(), dir.c_str(), dir.size() + 1);
      return;
    }
    if (!add && dir == slot.data()) {
      slot[0] = '\0';
      return;
    }
  }
}

// SIGINT/SIGTERM/SIGHUP: kill the servers, remove their data directories (with rm, as
// only async-signal-safe calls are allowed here), exit.
extern "C" void OnSignal(int sig) {
  for (auto& c : g_children) {
    pid_t pid = c.load();
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  for (auto& slot : g_tmpdirs) {
    if (slot[0] == '\0') continue;
    pid_t pid = fork();
    if (pid == 0) {
      char rm[] = "/bin/rm", rf[] = "-rf";
      char* args[] = {rm, rf, slot.data(), nullptr};
      execv(rm, args);
      _exit(127);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  _exit(128 + sig);
}

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

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    Fail(std::string("cannot find a free port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool CanConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

void WaitListening(Child& child, uint16_t port, double timeout = 60.0) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  while (!CanConnect(port)) {
    if (!child.Alive()) {
      Fail(child.name() + " exited before listening on port " + std::to_string(port) +
           "; its log ends with:\n" + child.LogTail());
    }
    if (Clock::now() > deadline) Fail(child.name() + " does not listen on port " + std::to_string(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- /proc -----------------------------------------------------------------------------------

// utime + stime of a process (tid == 0) or one of its threads, in clock ticks.
uint64_t CpuTicks(pid_t pid, pid_t tid = 0) {
  std::string path = tid == 0 ? "/proc/" + std::to_string(pid) + "/stat"
                              : "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat";
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  size_t close_paren = line.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(line.substr(close_paren + 2));
  // Fields after the command: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime(14) stime(15).
  std::string skip;
  for (int i = 3; i <= 13; ++i) rest >> skip;
  uint64_t utime = 0, stime = 0;
  rest >> utime >> stime;
  return utime + stime;
}

// Busy time of the whole machine (every process, every core), in clock ticks.
uint64_t MachineBusyTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return user + nice + system + irq + softirq + steal;
}

double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A kB field of /proc/<pid>/status (VmRSS, VmHWM), in MiB.
double StatusMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return static_cast<double>(std::strtoull(line.c_str() + field.size() + 1, nullptr, 10)) / 1024.0;
    }
  }
  return NAN;
}

// Waits until a server's background work (flushes, compactions) settles: at most one
// tick of CPU per 250 ms, for at most `timeout` seconds. Returns the seconds waited.
double WaitQuiet(pid_t pid, double timeout) {
  auto start = Clock::now();
  uint64_t last = CpuTicks(pid);
  while (Seconds(start, Clock::now()) < timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    uint64_t now = CpuTicks(pid);
    if (now - last <= 1) break;
    last = now;
  }
  return Seconds(start, Clock::now());
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// GET http://127.0.0.1:port/path with HTTP/1.0; the body, or empty on any failure.
std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// The value of an unlabelled Prometheus sample, or NaN.
double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return NAN;
}

// ---- The cotenantd under test --------------------------------------------------------------

struct ServerFlags {
  size_t block_cache_mb;
  size_t memtable_mb;
  int threads;  // 0: default
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

kj::Own<Connection> Connect(kj::AsyncIoContext& io, uint16_t port) {
  auto address = Await(io.provider->getNetwork().parseAddress("127.0.0.1", port), io.waitScope,
                       "resolve 127.0.0.1");
  auto conn = kj::heap<Connection>();
  conn->stream = Await(address->connect(), io.waitScope, "connect to port " + std::to_string(port));
  conn->client = kj::heap<capnp::TwoPartyClient>(*conn->stream);
  return conn;
}

// Random text for record fields.
std::string RandomText(std::mt19937_64& rng, size_t n) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlpha[rng() % (sizeof(kAlpha) - 1)];
  return s;
}

// Fills one record of ~200 bytes: name (16 chars), payload (170 chars), n.
void FillRecord(capnp::List<wire::Field>::Builder fields, kj::StringPtr name,
                kj::StringPtr payload, int64_t n) {
  fields[0].setName("name");
  fields[0].initValue().setText(name);
  fields[1].setName("payload");
  fields[1].initValue().setText(payload);
  fields[2].setName("n");
  fields[2].initValue().setInt(n);
}

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
                            const std::string& key, const std::string& who) {
  auto& ws = io.waitScope;
  auto login = conn.client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(tenant);
  login.setApiKey(key.c_str());
  auto session = Await(login.send(), ws, "login as " + who).getSession();
  return Await(session.adminRequest().send(), ws, "session.admin of " + who).getAdmin();
}

uint64_t CreateTenant(kj::AsyncIoContext& io, wire::Admin::Client& admin, const std::string& name) {
  auto req = admin.createTenantRequest();
  req.setName(name.c_str());
  req.setKind(wire::TenantKind::TENANT);
  req.setProvider(0);
  return Await(req.send(), io.waitScope, "admin.createTenant " + name).getTenant().getId();
}

BenchUser CreateUser(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                     const std::string& name, wire::AdminLevel level) {
  auto req = admin.createUserRequest();
  req.setTenantId(tenant);
  req.setName(name.c_str());
  req.setLevel(level);
  auto r = Await(req.send(), io.waitScope, "admin.createUser " + name);
  BenchUser u{r.getUser().getId(), r.getApiKey().cStr()};
  if (u.key.empty()) Fail("admin.createUser " + name + " returned no API key");
  return u;
}

// Declares object Items (name:text indexed required, payload:text, n:int); tenant 0 = the
// caller's own.
void CreateItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant) {
  auto req = admin.createObjectRequest();
  req.setTenantId(tenant);
  req.setName("Items");
  auto defs = req.initFields(3);
  defs[0].setName("name");
  defs[0].setType(wire::FieldType::TEXT);
  defs[0].setIndexed(true);
  defs[0].setRequired(true);
  defs[1].setName("payload");
  defs[1].setType(wire::FieldType::TEXT);
  defs[2].setName("n");
  defs[2].setType(wire::FieldType::INT);
  Await(req.send(), io.waitScope, "admin.createObject Items");
}

// Record calls need role rights (admins included): creates role `role` of `tenant` with
// `rights` (a wire::Rights flag set, by name) on Items and makes `user` (of the same
// tenant) a member. tenant 0 = the caller's own.
void GrantOnItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                  uint64_t member_tenant, const std::string& role, uint64_t user, bool read,
                  bool add, bool update, bool del) {
  auto create = admin.createRoleRequest();
  create.setTenantId(tenant);
  create.setName(role.c_str());
  create.setCrossTenant(false);
  auto rights = create.initRights(1);
  rights[0].setObject("Items");
  auto r = rights[0].initRights();
  r.setRead(read);
  r.setAdd(add);
  r.setUpdate(update);
  r.setDelete(del);
  Await(create.send(), io.waitScope, "admin.createRole " + role);
  auto member = admin.addRoleMemberRequest();
  member.setTenantId(tenant);
  member.setRole(role.c_str());
  member.setMemberTenant(member_tenant);
  member.setUserId(user);
  Await(member.send(), io.waitScope, "admin.addRoleMember " + role);
}

// As the system admin: a new tenant and a tenant admin in it; then, as that tenant admin,
// the object Items and a role with every right on it for the tenant admin itself.
BenchTenant SetUpTenant(kj::AsyncIoContext& io, Cotenantd& server, const std::string& name) {
  auto conn = Connect(io, server.port());
  auto admin = AdminOf(io, *conn, kSystemTenant, server.admin_key(), "the system admin");
  BenchTenant tenant;
  tenant.id = CreateTenant(io, admin, name);
  BenchUser user = CreateUser(io, admin, tenant.id, "bench-admin", wire::AdminLevel::TENANT_ADMIN);
  tenant.key = user.key;

  // The object and the role are made by the tenant admin, through its own login.
  auto user_admin = AdminOf(io, *conn, tenant.id, tenant.key, "the tenant admin");
  CreateItems(io, user_admin, 0);
  GrantOnItems(io, user_admin, 0, tenant.id, "bench-items", user.id, true, true, true, true);
  return tenant;
}

// Logs in as the tenant admin on a new connection and takes session.records() (no
// context) once; the capability is then used for every call on that connection.
struct RecordsConnection {
  kj::Own<Connection> conn;
  wire::Records::Client records = nullptr;
};

RecordsConnection OpenRecords(kj::AsyncIoContext& io, uint16_t port, const BenchTenant& tenant) {
  RecordsConnection rc;
  rc.conn = Connect(io, port);
  auto login = rc.conn->client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(tenant.id);
  login.setApiKey(tenant.key.c_str());
  // Pipelined: login and records() in one round trip.
  auto logged_in = login.send();
  auto records = logged_in.getSession().recordsRequest().send();
  rc.records = Await(kj::mv(records), io.waitScope, "session.records").getRecords();
  Await(kj::mv(logged_in), io.waitScope, "login as the tenant admin");
  return rc;
}

// Adds `count` records with addRecords batches of kBatch, `window` batches in flight.
// Returns the ids, in order.
std::vector<uint64_t> Load(kj::AsyncIoContext& io, wire::Records::Client& records, size_t count,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> payloads;
  for (int i = 0; i < 256; ++i) payloads.push_back(RandomText(rng, 170));
  std::vector<uint64_t> ids(count, 0);
  constexpr size_t kWindow = 4;
  size_t next = 0;
  bool failed = false;

  kj::Function<kj::Promise<void>()> send_next;
  send_next = [&]() -> kj::Promise<void> {
    if (next >= count || failed) return kj::READY_NOW;
    size_t first = next;
    size_t n = std::min(kBatch, count - first);
    next += n;
    auto req = records.addRecordsRequest(capnp::MessageSize{n * 64 + 16, 0});
    req.setObject("Items");
    auto list = req.initRecords(static_cast<unsigned>(n));
    for (size_t i = 0; i < n; ++i) {
      std::string name = RandomText(rng, 16);
      const std::string& payload = payloads[(first + i) % payloads.size()];
      FillRecord(list.init(static_cast<unsigned>(i), 3), kj::StringPtr(name.c_str(), name.size()),
                 kj::StringPtr(payload.c_str(), payload.size()), static_cast<int64_t>(first + i));
    }
    return req.send()
        .then([&, first, n](capnp::Response<wire::Records::AddRecordsResults>&& r) {
          auto got = r.getIds();
          if (got.size() != n) {
            KJ_FAIL_REQUIRE("addRecords returned the wrong number of ids", got.size(), n);
          }
          for (size_t i = 0; i < n; ++i) ids[first + i] = got[static_cast<unsigned>(i)];
          return send_next();
        },
              [&](kj::Exception&& e) -> kj::Promise<void> {
                failed = true;
                return kj::mv(e);
              });
  };
  kj::Vector<kj::Promise<void>> lanes;
  for (size_t i = 0; i < kWindow; ++i) lanes.add(send_next());
  Await(kj::joinPromises(lanes.releaseAsArray()), io.waitScope,
        "addRecords (batches of " + std::to_string(kBatch) + ")");
  return ids;
}

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

// Starts one call on slot `slot` and resolves once its answer was checked.
using Issue = kj::Function<kj::Promise<void>(size_t slot)>;

// Keeps `slots` calls in flight: each slot issues its next call when its previous one
// answered. Calls answered in [warm-up end, end) are counted; nothing is issued after the
// end, and the run returns when every slot has drained. CPU of the client and of the
// server process `server` is sampled at both edges of the window.
RunResult Drive(kj::WaitScope& ws, size_t slots, Issue& issue, double warmup, double seconds,
                pid_t server, const std::string& what) {
  struct Sample {
    Clock::time_point at;
    double client;
    uint64_t loop, total, machine;
  };
  auto sample = [server] {
    return Sample{Clock::now(), ClientCpuSeconds(), CpuTicks(server, server), CpuTicks(server),
                  MachineBusyTicks()};
  };
  struct State {
    Clock::time_point measure_from, stop_at;
    uint64_t calls = 0;
    double latency_sum = 0;
    bool failed = false;
    std::optional<Sample> first, last;
  } st;
  auto start = Clock::now();
  st.measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  st.stop_at = st.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  kj::Function<kj::Promise<void>(size_t)> loop;
  loop = [&](size_t slot) -> kj::Promise<void> {
    auto t0 = Clock::now();
    if (t0 >= st.stop_at || st.failed) {
      if (!st.last && st.first) st.last = sample();
      return kj::READY_NOW;
    }
    return issue(slot).then(
        [&, slot, t0]() {
          auto t1 = Clock::now();
          if (t1 >= st.measure_from && t1 < st.stop_at) {
            if (!st.first) st.first = sample();
            ++st.calls;
            st.latency_sum += std::chrono::duration<double>(t1 - t0).count();
          }
          return loop(slot);
        },
        [&](kj::Exception&& e) -> kj::Promise<void> {
          st.failed = true;
          return kj::mv(e);
        });
  };
  kj::Vector<kj::Promise<void>> chains;
  for (size_t s = 0; s < slots; ++s) chains.add(loop(s));
  Await(kj::joinPromises(chains.releaseAsArray()), ws, what);

  RunResult r;
  if (!st.first || !st.last || st.calls == 0) Fail(what + ": no call completed in the measured window");
  double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  r.calls = st.calls;
  r.seconds = seconds;
  r.latency_sum = st.latency_sum;
  r.cpu_window = Seconds(st.first->at, st.last->at);
  r.client_cpu = st.last->client - st.first->client;
  r.loop_cpu = static_cast<double>(st.last->loop - st.first->loop) * tick;
  // Process and thread counters are read at slightly different instants: the difference
  // can dip below zero in one window, so it is kept signed and only clamped for display.
  r.other_cpu = (static_cast<double>(st.last->total - st.first->total) -
                 static_cast<double>(st.last->loop - st.first->loop)) * tick;
  r.machine_cpu = static_cast<double>(st.last->machine - st.first->machine) * tick;
  return r;
}

// ---- Redis (optional baseline) -------------------------------------------------------------

bool OnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

struct RedisRow {
  double get = NAN, set = NAN;
};

// redis-benchmark against a private redis-server: GET and SET of a 200-byte value.
// `pipeline` > 1 keeps that many commands in flight on each connection.
RedisRow RedisBench(uint16_t port, int clients, int pipeline, uint64_t requests) {
  std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " -c " +
                    std::to_string(clients) + " -P " + std::to_string(pipeline) + " -n " +
                    std::to_string(requests) + " -d 200 -t set,get --csv 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Fail("cannot run redis-benchmark");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) Fail("redis-benchmark failed: " + out);
  RedisRow row;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    // "SET","81234.56",... (the first line is a header in Redis 7).
    if (line.size() < 6 || line[0] != '"') continue;
    size_t q1 = line.find('"', 1);
    std::string test = line.substr(1, q1 - 1);
    size_t q2 = line.find('"', q1 + 1);
    double rps = std::strtod(line.c_str() + q2 + 1, nullptr);
    if (test == "GET") row.get = rps;
    if (test == "SET") row.set = rps;
  }
  if (std::isnan(row.get) || std::isnan(row.set)) Fail("cannot read redis-benchmark output: " + out);
  return row;
}

// ---- Main mode -----------------------------------------------------------------------------

std::string DefaultCotenantd() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "../tools/cotenantd/cotenantd";
  return (self.parent_path() / ".." / "tools" / "cotenantd" / "cotenantd").lexically_normal().string();
}

// One line per run: throughput, latency, where the CPU went (share of one core) and the
// CPU cost of one call on each side, which contention from other processes does not skew.
void PrintRun(const char* mode, const char* call, const RunResult& r) {
  std::printf("  %-34s %-10s %7.0f/s %8.1f us | cpu%%: client %3.0f, server loop %3.0f + other "
              "%3.0f, rest of machine %3.0f | cpu us/call: client %5.1f, server %5.1f\n",
              mode, call, r.calls_per_sec(), r.mean_latency_us(), r.client_share() * 100,
              r.loop_share() * 100, r.other_share() * 100, r.rest_share() * 100,
              r.client_us_per_call(), r.server_us_per_call());
  std::fflush(stdout);
}

void RunThroughput(const Options& o, const std::string& binary, const std::string& self) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads};
  Cotenantd server(binary, flags, /*with_http=*/false);
  uint16_t bare_port = FreePort();
  Child bare("bare server", {self, "--bare-server", std::to_string(bare_port)}, "/dev/null");
  WaitListening(bare, bare_port);

  std::printf("servers: %s\n         %s --bare-server %u\n", server.command().c_str(), self.c_str(),
              bare_port);

  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  BenchTenant tenant = SetUpTenant(io, server, "rpc-bench");

  size_t conns = std::max<size_t>(o.connections, 1);
  std::vector<RecordsConnection> records;
  std::vector<kj::Own<Connection>> bare_conns;
  std::vector<Bare::Client> bares;
  for (size_t i = 0; i < conns; ++i) {
    records.push_back(OpenRecords(io, server.port(), tenant));
    bare_conns.push_back(Connect(io, bare_port));
    bares.push_back(bare_conns.back()->client->bootstrap().castAs<Bare>());
  }

  auto t0 = Clock::now();
  std::vector<uint64_t> ids = Load(io, records[0].records, o.records, 1);
  double load_s = Seconds(t0, Clock::now());
  std::printf("preloaded %zu records of ~200 bytes with addRecords (batches of %zu, 4 in flight): "
              "%.1f s, %.0f records/s\n",
              o.records, kBatch, load_s, static_cast<double>(o.records) / load_s);
  std::fflush(stdout);

  std::mt19937_64 rng(7);
  std::vector<std::string> payloads;
  for (int i = 0; i < 64; ++i) payloads.push_back(RandomText(rng, 170));
  uint64_t add_counter = 0;
  size_t in_use = 1;  // connections the current mode spreads its slots over

  // The three calls. Size hints keep each request in one small first segment.
  Issue bare_get = [&](size_t slot) -> kj::Promise<void> {
    uint64_t id = rng();
    auto req = bares[slot % in_use].getRequest(capnp::MessageSize{4, 0});
    req.setId(id);
    return req.send().then([id](capnp::Response<Bare::GetResults>&& r) {
      auto payload = r.getPayload();
      uint64_t echoed = 0;
      if (payload.size() == kBarePayloadBytes) std::memcpy(&echoed, payload.begin(), sizeof(echoed));
      KJ_REQUIRE(payload.size() == kBarePayloadBytes && echoed == id, "bad bare answer",
                 payload.size());
    });
  };
  Issue get_record = [&](size_t slot) -> kj::Promise<void> {
    uint64_t id = ids[rng() % ids.size()];
    auto req = records[slot % in_use].records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() == id && rec.getFields().size() == 3,
                 "getRecord answered another record", id, rec.getId(), rec.getFields().size());
    });
  };
  Issue add_record = [&](size_t slot) -> kj::Promise<void> {
    uint64_t n = add_counter++;
    auto req = records[slot % in_use].records.addRecordRequest(capnp::MessageSize{96, 0});
    req.setObject("Items");
    char name[17];
    std::snprintf(name, sizeof(name), "add-%012llu", static_cast<unsigned long long>(n));
    const std::string& payload = payloads[n % payloads.size()];
    FillRecord(req.initFields(3), name, kj::StringPtr(payload.c_str(), payload.size()),
               static_cast<int64_t>(n));
    return req.send().then([](capnp::Response<wire::Records::AddRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() != 0 && rec.getVersion() == 1, "addRecord answered a bad record",
                 rec.getId(), rec.getVersion());
    });
  };

  struct Mode {
    std::string name;
    size_t slots, connections;
    RunResult bare, get, add;
  };
  std::vector<Mode> modes = {
      {"1 in flight", 1, 1, {}, {}, {}},
      {std::to_string(o.inflight) + " in flight, 1 connection", o.inflight, 1, {}, {}, {}},
      {std::to_string(conns) + " connections x 1 in flight", conns, conns, {}, {}, {}},
  };
  // Other processes share the 2 cores and come and go, so the three calls of a mode are
  // measured in alternating slices (bare, get, add, bare, ...) that add up to --seconds
  // each: contention then falls on all three alike and their ratios stay fair.
  int slices = std::max(1, static_cast<int>(std::lround(o.seconds / o.slice)));
  double slice = o.seconds / slices;
  std::printf("each call: %.1f s warm-up, then %d alternating slices of %.2f s (%.1f s measured); "
              "mean latency = issue to checked answer\n",
              o.warmup, slices, slice, o.seconds);
  std::printf("cpu%% = share of one core over the measured time (%ld cores in all); server loop "
              "= the server's RPC event-loop thread\n\n",
              sysconf(_SC_NPROCESSORS_ONLN));
  for (auto& m : modes) {
    in_use = m.connections;
    // Let flushes and compactions of the previous mode finish first.
    WaitQuiet(server.pid(), 30);
    Drive(ws, m.slots, bare_get, 0, o.warmup, bare.pid(), "bare get (warm-up), " + m.name);
    Drive(ws, m.slots, get_record, 0, o.warmup, server.pid(), "getRecord (warm-up), " + m.name);
    Drive(ws, m.slots, add_record, 0, o.warmup, server.pid(), "addRecord (warm-up), " + m.name);
    for (int i = 0; i < slices; ++i) {
      m.bare.Add(Drive(ws, m.slots, bare_get, 0, slice, bare.pid(), "bare get, " + m.name));
      m.get.Add(Drive(ws, m.slots, get_record, 0, slice, server.pid(), "getRecord, " + m.name));
      m.add.Add(Drive(ws, m.slots, add_record, 0, slice, server.pid(), "addRecord, " + m.name));
    }
    PrintRun(m.name.c_str(), "bare get", m.bare);
    PrintRun(m.name.c_str(), "getRecord", m.get);
    PrintRun(m.name.c_str(), "addRecord", m.add);
    server.CheckAlive();
  }

  std::printf("\n%-32s | %12s | %12s | %6s | %12s | %6s\n", "mode (calls/s)", "bare", "getRecord",
              "ratio", "addRecord", "ratio");
  std::printf("%s\n", std::string(32 + 3 + 12 + 3 + 12 + 3 + 6 + 3 + 12 + 3 + 6, '-').c_str());
  for (auto& m : modes) {
    std::printf("%-32s | %12.0f | %12.0f | %5.2fx | %12.0f | %5.2fx\n", m.name.c_str(),
                m.bare.calls_per_sec(), m.get.calls_per_sec(), m.get.calls_per_sec() / m.bare.calls_per_sec(),
                m.add.calls_per_sec(), m.add.calls_per_sec() / m.bare.calls_per_sec());
  }
  std::printf("\n%-32s | %12s | %12s | %12s\n", "mode (mean latency, us)", "bare", "getRecord",
              "addRecord");
  for (auto& m : modes) {
    std::printf("%-32s | %12.1f | %12.1f | %12.1f\n", m.name.c_str(), m.bare.mean_latency_us(),
                m.get.mean_latency_us(), m.add.mean_latency_us());
  }
  std::printf("\n%-32s | %12s | %12s | %12s\n", "mode (server CPU us per call)", "bare",
              "getRecord", "addRecord");
  for (auto& m : modes) {
    std::printf("%-32s | %12.1f | %12.1f | %12.1f\n", m.name.c_str(), m.bare.server_us_per_call(),
                m.get.server_us_per_call(), m.add.server_us_per_call());
  }
  double worst = 1e9;
  for (auto& m : modes) worst = std::min(worst, m.get.calls_per_sec() / m.bare.calls_per_sec());
  std::printf("\ntarget getRecord >= 0.60x bare: lowest ratio %.2fx -> %s\n", worst,
              worst >= 0.6 ? "met" : "NOT met");

  // Redis with the same shapes, when it is installed: the figure the issue compares with.
  if (o.redis && OnPath("redis-server") && OnPath("redis-benchmark")) {
    uint16_t redis_port = FreePort();
    Child redis("redis-server",
                {"/usr/bin/env", "redis-server", "--port", std::to_string(redis_port), "--bind",
                 "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"},
                "/dev/null");
    WaitListening(redis, redis_port);
    auto scaled = [&](double rate) { return static_cast<uint64_t>(rate * o.seconds); };
    RedisRow one = RedisBench(redis_port, 1, 1, scaled(15000));
    RedisRow window = RedisBench(redis_port, 1, static_cast<int>(o.inflight), scaled(400000));
    RedisRow many = RedisBench(redis_port, static_cast<int>(conns), 1, scaled(80000));
    redis.Stop();
    std::printf("\nredis-benchmark against redis-server on the same machine (200-byte values):\n");
    std::printf("%-32s | %12s | %12s | %18s | %18s\n", "mode (calls/s)", "redis GET", "redis SET",
                "getRecord / GET", "addRecord / SET");
    auto row = [](const std::string& name, const RedisRow& r, const Mode& m) {
      std::printf("%-32s | %12.0f | %12.0f | %17.2fx | %17.2fx\n", name.c_str(), r.get, r.set,
                  m.get.calls_per_sec() / r.get, m.add.calls_per_sec() / r.set);
    };
    row("1 in flight (-c 1)", one, modes[0]);
    row(std::to_string(o.inflight) + " pipelined (-c 1 -P " + std::to_string(o.inflight) + ")",
        window, modes[1]);
    row(std::to_string(conns) + " connections (-c " + std::to_string(conns) + ")", many, modes[2]);
  } else {
    std::printf("\nredis-server/redis-benchmark not run (%s); orientation figure: Redis GET with "
                "50 clients ~80k/s\n",
                o.redis ? "not on PATH" : "--no-redis");
  }

  std::printf("\ncotenantd after this phase: VmRSS %.1f MiB, VmHWM %.1f MiB (%zu records)\n",
              StatusMiB(server.pid(), "VmRSS"), StatusMiB(server.pid(), "VmHWM"),
              ids.size() + add_counter);

  // Close the clients before the servers go.
  bares.clear();
  bare_conns.clear();
  records.clear();
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

// getRecord through a TenantContext (warm cache) against getRecord in the caller's own
// tenant: the same user, the same connection, records of the same size, alternating slices.
void RunContext(const Options& o, const std::string& binary) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads};
  Cotenantd server(binary, flags, /*with_http=*/false);
  std::printf("\n== context: getRecord through a TenantContext vs in the caller's own tenant ==\n");
  std::printf("server: %s\n", server.command().c_str());
  std::fflush(stdout);

  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  auto admin_conn = Connect(io, server.port());
  auto admin = AdminOf(io, *admin_conn, kSystemTenant, server.admin_key(), "the system admin");
  uint64_t publisher = CreateTenant(io, admin, "ctx-publisher");
  uint64_t consumer = CreateTenant(io, admin, "ctx-consumer");
  CreateItems(io, admin, publisher);
  CreateItems(io, admin, consumer);
  // P: a loader (read, add) and the policy's principal (read only).
  BenchUser loader = CreateUser(io, admin, publisher, "pub-loader", wire::AdminLevel::USER);
  GrantOnItems(io, admin, publisher, publisher, "items-writer", loader.id, true, true, false, false);
  BenchUser principal = CreateUser(io, admin, publisher, "share-principal", wire::AdminLevel::USER);
  GrantOnItems(io, admin, publisher, publisher, "items-reader", principal.id, true, false, false,
               false);
  // C: the consumer, with its own role on its own Items (read, add).
  BenchUser reader = CreateUser(io, admin, consumer, "consumer", wire::AdminLevel::USER);
  GrantOnItems(io, admin, consumer, consumer, "items-rw", reader.id, true, true, false, false);
  // P's policy designating C, acting as the read-only principal, no scope.
  auto policy = admin.createPolicyRequest();
  policy.setTenantId(publisher);
  auto info = policy.initPolicy();
  info.setName("share-with-consumer");
  info.setDesignated(consumer);
  info.setGlobal(false);
  info.setUserId(principal.id);
  info.setExpiresAt(0);
  Await(policy.send(), ws, "admin.createPolicy");
  std::printf("tenants: publisher P=%llu, consumer C=%llu; policy 'share-with-consumer' of P "
              "designates C as user %llu (role items-reader: read on Items); consumer user %llu "
              "(role items-rw in C)\n",
              static_cast<unsigned long long>(publisher), static_cast<unsigned long long>(consumer),
              static_cast<unsigned long long>(principal.id),
              static_cast<unsigned long long>(reader.id));

  // Interleaved loads, so both tenants' records are spread alike over memtables and SSTs.
  RecordsConnection pub_rc = OpenRecords(io, server.port(), BenchTenant{publisher, loader.key});
  RecordsConnection own_rc = OpenRecords(io, server.port(), BenchTenant{consumer, reader.key});
  std::vector<uint64_t> pub_ids, own_ids;
  constexpr size_t kChunk = 10000;
  auto t0 = Clock::now();
  for (size_t done = 0; done < o.context_records; done += kChunk) {
    size_t n = std::min(kChunk, o.context_records - done);
    auto p = Load(io, pub_rc.records, n, 100 + done);
    auto c = Load(io, own_rc.records, n, 200 + done);
    pub_ids.insert(pub_ids.end(), p.begin(), p.end());
    own_ids.insert(own_ids.end(), c.begin(), c.end());
  }
  double load_s = Seconds(t0, Clock::now());
  std::printf("loaded %zu records of ~200 bytes into each tenant, interleaved in chunks of %zu: "
              "%.1f s\n",
              o.context_records, kChunk, load_s);
  pub_rc = RecordsConnection();
  own_rc = RecordsConnection();

  // The consumer on one connection: its own records() and the TenantContext's, each taken
  // once (the context is resolved then, which warms the cache).
  auto conn = Connect(io, server.port());
  auto login = conn->client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(consumer);
  login.setApiKey(reader.key.c_str());
  auto session = Await(login.send(), ws, "login as the consumer").getSession();
  wire::Records::Client own =
      Await(session.recordsRequest().send(), ws, "session.records()").getRecords();
  auto shared_req = session.recordsRequest();
  shared_req.initContext().setTenantId(publisher);
  wire::Records::Client shared =
      Await(shared_req.send(), ws, "session.records(TenantContext{P})").getRecords();

  std::mt19937_64 rng(13);
  auto get = [&](wire::Records::Client& records, const std::vector<uint64_t>& ids) {
    uint64_t id = ids[rng() % ids.size()];
    auto req = records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() == id && rec.getFields().size() == 3,
                 "getRecord answered another record", id, rec.getId(), rec.getFields().size());
    });
  };
  Issue get_own = [&](size_t) -> kj::Promise<void> { return get(own, own_ids); };
  Issue get_shared = [&](size_t) -> kj::Promise<void> { return get(shared, pub_ids); };

  // The policy's principal reads only: an add through the context must be refused, which
  // shows the calls really run as the policy's user.
  {
    auto add = shared.addRecordRequest();
    add.setObject("Items");
    FillRecord(add.initFields(3), "denied", "x", 0);
    bool refused = false;
    try {
      add.send().wait(ws);
    } catch (const kj::Exception& e) {
      refused = Describe(e).find("PermissionDenied") != std::string::npos;
      if (!refused) Fail("addRecord through the context failed unexpectedly: " + Describe(e));
    }
    if (!refused) Fail("addRecord through the context was not refused");
  }

  int slices = std::max(1, static_cast<int>(std::lround(o.seconds / o.slice)));
  double slice = o.seconds / slices;
  std::string mode = std::to_string(o.inflight) + " in flight, 1 connection";
  std::printf("each call: %.1f s warm-up, then %d alternating slices of %.2f s (%.1f s measured)\n",
              o.warmup, slices, slice, o.seconds);
  WaitQuiet(server.pid(), 30);
  Drive(ws, o.inflight, get_own, 0, o.warmup, server.pid(), "getRecord own (warm-up)");
  Drive(ws, o.inflight, get_shared, 0, o.warmup, server.pid(), "getRecord context (warm-up)");
  RunResult own_run, shared_run;
  for (int i = 0; i < slices; ++i) {
    own_run.Add(Drive(ws, o.inflight, get_own, 0, slice, server.pid(), "getRecord own, " + mode));
    shared_run.Add(
        Drive(ws, o.inflight, get_shared, 0, slice, server.pid(), "getRecord context, " + mode));
  }
  PrintRun(mode.c_str(), "own tenant", own_run);
  PrintRun(mode.c_str(), "context P", shared_run);
  double ratio = shared_run.calls_per_sec() / own_run.calls_per_sec();
  std::printf("\n%-32s | %14s | %14s | %6s\n", "getRecord (calls/s)", "own tenant C",
              "context -> P", "ratio");
  std::printf("%-32s | %14.0f | %14.0f | %5.2fx\n", mode.c_str(), own_run.calls_per_sec(),
              shared_run.calls_per_sec(), ratio);
  std::printf("%-32s | %14.1f | %14.1f |\n", "mean latency us", own_run.mean_latency_us(),
              shared_run.mean_latency_us());
  std::printf("%-32s | %14.1f | %14.1f | %5.2fx\n", "server CPU us per call",
              own_run.server_us_per_call(), shared_run.server_us_per_call(),
              shared_run.server_us_per_call() / own_run.server_us_per_call());
  std::printf("\ntarget getRecord through a TenantContext >= 0.90x own tenant: %.2fx -> %s\n",
              ratio, ratio >= 0.9 ? "met" : "NOT met");

  shared = nullptr;
  own = nullptr;
  session = nullptr;
  conn = nullptr;
  admin = nullptr;
  admin_conn = nullptr;
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

void RunMemory(const Options& o, const std::string& binary) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads};
  Cotenantd server(binary, flags, /*with_http=*/true);
  double budget = static_cast<double>(o.block_cache_mb + o.memtable_mb);
  std::printf("\n== memory: %zu records into a fresh cotenantd ==\n", o.memory_records);
  std::printf("server: %s\n", server.command().c_str());
  std::printf("configured: block cache %zu MiB + memtable budget %zu MiB = %.0f MiB\n",
              o.block_cache_mb, o.memtable_mb, budget);
  std::printf("RSS at start: %.1f MiB\n", StatusMiB(server.pid(), "VmRSS"));

  auto io = kj::setupAsyncIo();
  BenchTenant tenant = SetUpTenant(io, server, "memory-bench");
  RecordsConnection rc = OpenRecords(io, server.port(), tenant);

  auto t0 = Clock::now();
  std::vector<uint64_t> ids = Load(io, rc.records, o.memory_records, 3);
  double load_s = Seconds(t0, Clock::now());
  std::printf("loaded %zu records of ~200 bytes in %.1f s (%.0f records/s)\n", o.memory_records,
              load_s, static_cast<double>(o.memory_records) / load_s);
  double settle = WaitQuiet(server.pid(), 60);

  auto report = [&](const char* when) {
    double rss = StatusMiB(server.pid(), "VmRSS");
    double hwm = StatusMiB(server.pid(), "VmHWM");
    std::string metrics = HttpGet(server.http_port(), "/metrics");
    double cache = MetricValue(metrics, "cotenant_block_cache_bytes") / (1 << 20);
    double mem = MetricValue(metrics, "cotenant_memtable_bytes") / (1 << 20);
    std::printf("%-34s VmRSS %7.1f MiB (%.2fx budget)  VmHWM %7.1f MiB (%.2fx budget)\n", when,
                rss, rss / budget, hwm, hwm / budget);
    if (metrics.empty()) {
      std::printf("%-34s /metrics unavailable\n", "");
    } else {
      std::printf("%-34s store gauges: block cache %.1f MiB, memtables %.1f MiB; "
                  "RSS beyond them %.1f MiB\n",
                  "", cache, mem, rss - cache - mem);
    }
  };
  std::printf("(waited %.1f s for flushes/compactions to settle)\n", settle);
  report("after the load:");

  // Random reads across every record fill the block cache up to its limit.
  size_t window = o.inflight;
  std::mt19937_64 rng(11);
  Issue get_record = [&](size_t) -> kj::Promise<void> {
    uint64_t id = ids[rng() % ids.size()];
    auto req = rc.records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      KJ_REQUIRE(r.getRecord().getId() == id, "getRecord answered another record", id);
    });
  };
  double read_s = std::max(o.seconds * 3, 5.0);
  RunResult reads = Drive(io.waitScope, window, get_record, 0.5, read_s, server.pid(),
                          "getRecord (memory phase)");
  std::printf("random getRecord over all records, %zu in flight, %.0f s: %.0f calls/s\n", window,
              read_s, reads.calls_per_sec());
  report("after the read pass:");
  std::printf("data directory on disk: %.1f MiB\n",
              static_cast<double>(DirBytes(server.data_dir())) / (1 << 20));

  rc = RecordsConnection();
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  if (o.bare_server_port) return RunBareServer(*o.bare_server_port);

  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);

  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  std::string binary = o.cotenantd.empty() ? DefaultCotenantd() : o.cotenantd;
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
  std::printf("cotenantd: block cache %zu MiB, memtables %zu MiB, storage threads %s\n",
              o.block_cache_mb, o.memtable_mb,
              o.server_threads > 0 ? std::to_string(o.server_threads).c_str() : "default");
  try {
    if (o.throughput) RunThroughput(o, binary, self);
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
