// Head-to-head benchmark: the YCSB core workloads A, B, C, E and F against cotenantd
// through the C++ SDK, a private Redis and raw RocksDB in this process, in one run, with one
// ratio table.
//
//   compare [--cotenantd PATH] [--rpc-threads N] [--records N] [--threads 1,2,4,8,16,32]
//           [--workloads A,B,C,F,E] [--slice-seconds S] [--slices N] [--warmup-seconds S]
//           [--shared-client] [--caller-thread-connections] [--scan-by index|id]
//           [--point-connections N]
//           [--no-redis] [--no-rocksdb] [--seed N] [--json FILE]
//
// Data: --records records like YCSB's usertable (10 text fields of 100 bytes), loaded once
// into each system before anything is measured: cotenantd with addRecords batches of 1000
// (4 in flight), Redis with pipelined SET + ZADD, RocksDB with WriteBatches.
//
// Workloads (the YCSB core mixes; keys from YCSB's scrambled zipfian, constant 0.99):
//   A 50% read / 50% update          B 95% read / 5% update        C 100% read
//   E 95% scan / 5% insert           F 50% read / 50% read-modify-write
// A read is the whole record; an update writes all 10 fields (the whole value: SET in Redis,
// Put in RocksDB); a read-modify-write reads the record, then updates it, and counts as one
// operation. A scan reads the next 1..100 records (uniform) in key order from a zipfian key:
// cotenantd searchRecords `k >= ?` sorted by k with the length as page size (--scan-by id:
// `id >= ?` in id order instead), Redis a ZRANGE BYSCORE + MGET script, RocksDB an iterator.
// Inserts take new keys after the loaded ones.
//
// Each client thread runs one operation at a time (YCSB's closed loop). cotenantd: one SDK
// Client (one connection) per thread; with --shared-client also "cotenantd-shared", one
// Client shared by every thread (the SDK's multiplexing on one connection). By default a
// synchronous SDK call is handed to the Client's event-loop thread and back;
// --caller-thread-connections sets ClientOptions::callerThreadConnections on these Clients,
// so each thread's calls run on that thread over a connection of its own. Redis: one
// hiredis redisContext per thread. For every workload x thread count the systems run in
// alternating slices (--slices per system, --slice-seconds each, the first system rotating),
// after a warm-up of each, so that outside load on the shared cores falls on all alike;
// ops/s is a system's total operations over the total time of its slices.
//
// Point modes (--point-connections, default 50; 0 skips them): getRecord on 50 connections
// against `redis-benchmark -c 50` GETs, and getRecords of 16 ids against
// `redis-benchmark -c 50 -P 16`, in records/s; uniform keys; slices alternate here too.
//
// CPU is read per slice: this process (getrusage; the SDK's event-loop threads, hiredis,
// and for RocksDB the whole engine, its background threads included), the server
// (/proc/<pid>/stat of cotenantd or redis-server), and the rest of the machine (/proc/stat
// busy time minus this process, its servers and redis-benchmark).
//
// Every child process (cotenantd, redis-server) is killed and every temporary directory
// removed at exit, also on failure or a signal. Results: docs/BENCHMARKS.md.

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <ctime>
#include <exception>
#include <functional>
#include <mutex>

#include "compare.h"

namespace compare {

// ---- Values, keys, latency -------------------------------------------------------------------

RowPool::RowPool(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; ++i) {
    std::array<std::string, kFields> r;
    for (auto& f : r) {
      static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
      f.assign(kFieldBytes, ' ');
      for (auto& ch : f) ch = kAlpha[rng() % (sizeof(kAlpha) - 1)];
    }
    rows.push_back(std::move(r));
  }
}

std::string RowPool::Joined(uint64_t i) const {
  std::string s;
  for (const auto& f : row(i)) s += f;
  return s;
}

ScrambledZipfian::ScrambledZipfian(uint64_t items) : items_(items) {
  // YCSB's ZipfianGenerator(0, 10^10, 0.99, zetan): items = max - min + 1.
  double n = static_cast<double>(kItemCount) + 1;
  double zeta2 = 1 + std::pow(0.5, kTheta);
  alpha_ = 1.0 / (1.0 - kTheta);
  eta_ = (1 - std::pow(2.0 / n, 1 - kTheta)) / (1 - zeta2 / kZetan);
  half_pow_theta_ = std::pow(0.5, kTheta);
}

uint64_t ScrambledZipfian::Next(std::mt19937_64& rng) {
  double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  double uz = u * kZetan;
  uint64_t v;
  if (uz < 1.0) v = 0;
  else if (uz < 1.0 + half_pow_theta_) v = 1;
  else v = static_cast<uint64_t>(static_cast<double>(kItemCount + 1) * std::pow(eta_ * u - eta_ + 1, alpha_));
  // YCSB's Utils.fnvhash64 (FNV-1a over the 8 bytes, low first), then Math.abs.
  uint64_t h = 0xCBF29CE484222325ULL;
  for (int i = 0; i < 8; ++i) {
    h ^= v & 0xff;
    h *= 1099511628211ULL;
    v >>= 8;
  }
  int64_t s = static_cast<int64_t>(h);
  uint64_t a = s < 0 ? static_cast<uint64_t>(-(s + 1)) + 1 : static_cast<uint64_t>(s);
  return a % items_;
}

int Histogram::Bucket(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  int msb = 63 - __builtin_clzll(ns);
  int shift = msb - kSubBits;
  return (shift + 1) * kSub + static_cast<int>((ns >> shift) - kSub);
}

double Histogram::BucketMid(int b) {
  if (b < kSub) return b;
  int shift = b / kSub - 1;
  double lo = static_cast<double>(static_cast<uint64_t>(b % kSub + kSub) << shift);
  return lo + static_cast<double>(uint64_t{1} << shift) / 2;
}

void Histogram::Add(uint64_t ns) {
  ++counts_[static_cast<size_t>(Bucket(ns))];
  ++count_;
}

void Histogram::Merge(const Histogram& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
}

double Histogram::PercentileUs(double p) const {
  if (count_ == 0) return NAN;
  uint64_t want = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= std::max<uint64_t>(want, 1)) return BucketMid(static_cast<int>(i)) / 1000.0;
  }
  return NAN;
}

namespace {

// ---- Options -----------------------------------------------------------------------------------

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr,
               "compare: %s\n"
               "usage: compare [--cotenantd PATH] [--rpc-threads N] [--records N]\n"
               "               [--threads 1,2,4,8,16,32] [--workloads A,B,C,F,E]\n"
               "               [--slice-seconds S] [--slices N] [--warmup-seconds S]\n"
               "               [--shared-client] [--caller-thread-connections]\n"
               "               [--scan-by index|id] [--point-connections N]\n"
               "               [--no-redis] [--no-rocksdb] [--seed N] [--json FILE]\n",
               error.c_str());
  std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) Usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  auto number = [&](int& i, double lo, double hi) {
    std::string flag = argv[i];
    std::string v = value(i);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(d >= lo && d <= hi)) Usage(flag + ": bad value " + v);
    return d;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cotenantd") o.cotenantd = value(i);
    else if (a == "--rpc-threads") o.rpc_threads = static_cast<int>(number(i, 1, 256));
    else if (a == "--records") o.records = static_cast<uint64_t>(number(i, 1000, 1e9));
    else if (a == "--threads") {
      o.threads.clear();
      std::istringstream in(value(i));
      std::string item;
      while (std::getline(in, item, ',')) {
        char* end = nullptr;
        unsigned long n = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || n < 1 || n > 1024) Usage("--threads: bad count '" + item + "'");
        o.threads.push_back(n);
      }
      if (o.threads.empty()) Usage("--threads: empty list");
    } else if (a == "--workloads") {
      o.workloads.clear();
      for (char c : value(i)) {
        if (c == ',') continue;
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (std::string("ABCEF").find(c) == std::string::npos) Usage(std::string("--workloads: no workload ") + c + " (A, B, C, E, F)");
        o.workloads.push_back(c);
      }
    } else if (a == "--slice-seconds") o.slice_seconds = number(i, 0.1, 3600);
    else if (a == "--slices") o.slices = static_cast<int>(number(i, 1, 1000));
    else if (a == "--warmup-seconds") o.warmup_seconds = number(i, 0, 3600);
    else if (a == "--shared-client") o.shared_client = true;
    else if (a == "--caller-thread-connections") o.caller_thread_connections = true;
    else if (a == "--scan-by") {
      std::string v = value(i);
      if (v == "index") o.scan_by = ScanBy::kIndex;
      else if (v == "id") o.scan_by = ScanBy::kId;
      else Usage("--scan-by: index or id, not " + v);
    } else if (a == "--point-connections") o.point_connections = static_cast<size_t>(number(i, 0, 1000));
    else if (a == "--no-redis") o.redis = false;
    else if (a == "--no-rocksdb") o.rocksdb = false;
    else if (a == "--seed") o.seed = static_cast<uint64_t>(number(i, 0, 1e18));
    else if (a == "--json") o.json = value(i);
    else if (a == "--help" || a == "-h") Usage("YCSB against cotenantd, Redis and raw RocksDB");
    else Usage("unknown flag " + a);
  }
  return o;
}

const char* Describe(char w) {
  switch (w) {
    case 'A': return "50% read / 50% update";
    case 'B': return "95% read / 5% update";
    case 'C': return "100% read";
    case 'E': return "95% scan (1..100) / 5% insert";
    case 'F': return "50% read / 50% read-modify-write";
  }
  return "?";
}

// ---- Measuring ----------------------------------------------------------------------------------

// What a system did over its slices of one cell (a workload x thread count, or a point mode).
struct Sums {
  uint64_t ops = 0;
  uint64_t records = 0;  // records read (point modes: 16 per getRecords)
  double seconds = 0;
  double client_cpu = 0, server_cpu = 0, rest_cpu = 0, window = 0;
  Histogram hist;
  // redis-benchmark reports percentiles per run, not samples: request-weighted means.
  double ext_p50_sum = NAN, ext_p99_sum = NAN;

  void Add(const Sums& s) {
    ops += s.ops;
    records += s.records;
    seconds += s.seconds;
    client_cpu += s.client_cpu;
    server_cpu += s.server_cpu;
    rest_cpu += s.rest_cpu;
    window += s.window;
    hist.Merge(s.hist);
    if (!std::isnan(s.ext_p50_sum)) {
      ext_p50_sum = (std::isnan(ext_p50_sum) ? 0 : ext_p50_sum) + s.ext_p50_sum;
      ext_p99_sum = (std::isnan(ext_p99_sum) ? 0 : ext_p99_sum) + s.ext_p99_sum;
    }
  }
  double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : NAN; }
  double records_per_s() const { return seconds > 0 ? static_cast<double>(records) / seconds : NAN; }
  double p50_us() const {
    return !std::isnan(ext_p50_sum) ? ext_p50_sum / static_cast<double>(ops) * 1000 : hist.PercentileUs(50);
  }
  double p99_us() const {
    return !std::isnan(ext_p99_sum) ? ext_p99_sum / static_cast<double>(ops) * 1000 : hist.PercentileUs(99);
  }
  double client_us_per_op() const { return ops ? client_cpu * 1e6 / static_cast<double>(ops) : NAN; }
  double server_us_per_op() const { return ops ? server_cpu * 1e6 / static_cast<double>(ops) : NAN; }
  double rest_cores() const { return window > 0 ? rest_cpu / window : NAN; }
};

double SelfCpu() { return rpc_bench::ClientCpuSeconds(); }
double ChildrenCpu() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
const double kTick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));

// CPU counters at one instant: this process, its finished children (redis-benchmark), the
// measured server, every server of this run, the whole machine.
struct CpuSample {
  Clock::time_point at;
  double self, children;
  uint64_t server, ours, machine;
};

class Cpu {
 public:
  void AddServer(pid_t pid) { servers_.push_back(pid); }
  CpuSample Take(pid_t server) const {
    CpuSample s;
    s.at = Clock::now();
    s.self = SelfCpu();
    s.children = ChildrenCpu();
    s.server = server > 0 ? rpc_bench::CpuTicks(server) : 0;
    s.ours = 0;
    for (pid_t p : servers_) s.ours += rpc_bench::CpuTicks(p);
    s.machine = rpc_bench::MachineBusyTicks();
    return s;
  }
  // Fills the CPU fields of `out` from two samples.
  static void Between(const CpuSample& a, const CpuSample& b, Sums* out) {
    double self = b.self - a.self, children = b.children - a.children;
    out->client_cpu = self + children;
    out->server_cpu = static_cast<double>(b.server - a.server) * kTick;
    double ours = static_cast<double>(b.ours - a.ours) * kTick;
    double machine = static_cast<double>(b.machine - a.machine) * kTick;
    out->rest_cpu = std::max(0.0, machine - out->client_cpu - ours);
    out->window = rpc_bench::Seconds(a.at, b.at);
  }

 private:
  std::vector<pid_t> servers_;
};

// One operation of a thread: does it on the session and returns the records it read.
using Op = std::function<uint64_t(Session&, std::mt19937_64&, ScrambledZipfian&)>;

double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Op WorkloadOp(char w, System& sys, uint64_t pool_rows) {
  auto row = [pool_rows](std::mt19937_64& rng) { return rng() % pool_rows; };
  switch (w) {
    case 'A':
    case 'B':
      return [w, row](Session& s, std::mt19937_64& rng, ScrambledZipfian& z) -> uint64_t {
        double read = w == 'A' ? 0.5 : 0.95;
        uint64_t key = z.Next(rng);
        if (Uniform(rng) < read) {
          s.Read(key);
          return 1;
        }
        s.Update(key, row(rng));
        return 0;
      };
    case 'C':
      return [](Session& s, std::mt19937_64& rng, ScrambledZipfian& z) -> uint64_t {
        s.Read(z.Next(rng));
        return 1;
      };
    case 'E':
      return [&sys, row](Session& s, std::mt19937_64& rng, ScrambledZipfian& z) -> uint64_t {
        if (Uniform(rng) < 0.95) {
          int length = 1 + static_cast<int>(rng() % 100);
          s.Scan(z.Next(rng), length);
          return static_cast<uint64_t>(length);
        }
        s.Insert(sys.NextInsertKey(), row(rng));
        return 0;
      };
    case 'F':
      return [row](Session& s, std::mt19937_64& rng, ScrambledZipfian& z) -> uint64_t {
        uint64_t key = z.Next(rng);
        s.Read(key);
        if (Uniform(rng) < 0.5) s.Update(key, row(rng));
        return 1;
      };
  }
  Fail(std::string("no workload ") + w);
}

// Runs `threads` client threads on `sys` for `seconds`, each doing `op` back to back, and
// measures them. The threads are started and parked first, so that starting them is outside
// the window; the window ends when the last one has finished its last operation. (With
// --caller-thread-connections each new thread opens its own connection on its first call:
// one login round trip per thread and slice, inside the window.)
Sums RunSlice(System& sys, size_t threads, double seconds, const Op& op, uint64_t items,
              uint64_t seed, const Cpu& cpu) {
  std::mutex mu;
  std::condition_variable cv;
  size_t ready = 0;
  bool go = false;
  Clock::time_point deadline;
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::vector<Histogram> hists(threads);
  std::vector<uint64_t> ops(threads, 0), records(threads, 0);

  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Session& s = sys.session(t);
      std::mt19937_64 rng(seed * 1000003 + t);
      ScrambledZipfian zipf(items);
      {
        std::unique_lock<std::mutex> l(mu);
        ++ready;
        cv.notify_all();
        cv.wait(l, [&] { return go; });
      }
      try {
        while (!stop.load(std::memory_order_relaxed)) {
          auto t0 = Clock::now();
          if (t0 >= deadline) break;
          records[t] += op(s, rng, zipf);
          auto t1 = Clock::now();
          hists[t].Add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
          ++ops[t];
        }
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!error) error = std::current_exception();
        stop = true;
      }
    });
  }
  CpuSample a;
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return ready == threads; });
    a = cpu.Take(sys.server_pid());
    deadline = a.at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    go = true;
  }
  cv.notify_all();
  for (auto& th : pool) th.join();
  CpuSample b = cpu.Take(sys.server_pid());
  if (error) std::rethrow_exception(error);

  Sums out;
  for (size_t t = 0; t < threads; ++t) {
    out.ops += ops[t];
    out.records += records[t];
    out.hist.Merge(hists[t]);
  }
  out.seconds = rpc_bench::Seconds(a.at, b.at);
  Cpu::Between(a, b, &out);
  if (out.ops == 0) Fail(sys.name() + ": no operation completed in a slice of " + std::to_string(seconds) + " s");
  return out;
}

// ---- Output -----------------------------------------------------------------------------------

std::string Fmt(double v, int decimals = 0) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}
std::string Ratio(double a, double b) { return std::isnan(a) || std::isnan(b) || b == 0 ? "-" : Fmt(a / b, 2) + "x"; }

nlohmann::json SumsJson(const Sums& s) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  return {{"ops", s.ops},
          {"records", s.records},
          {"seconds", s.seconds},
          {"ops_per_s", num(s.ops_per_s())},
          {"records_per_s", num(s.records_per_s())},
          {"p50_us", num(s.p50_us())},
          {"p99_us", num(s.p99_us())},
          {"client_cpu_us_per_op", num(s.client_us_per_op())},
          {"server_cpu_us_per_op", num(s.server_us_per_op())},
          {"rest_of_machine_cores", num(s.rest_cores())}};
}

struct Cell {
  std::string mode;  // "A" .. "F", or a point mode
  size_t threads = 0;
  std::vector<std::string> names;
  std::vector<Sums> sums;
  bool records = false;  // compare records/s rather than ops/s (the point modes)

  // "redis" is also redis-benchmark, Redis's side of the point modes.
  const Sums* Of(const std::string& n) const {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return &sums[i];
    }
    return n == "redis" ? Of("redis-benchmark") : nullptr;
  }
  double Rate(const std::string& n) const {
    const Sums* s = Of(n);
    if (s == nullptr) return NAN;
    return records ? s->records_per_s() : s->ops_per_s();
  }
};

void PrintCell(const Cell& c) {
  std::printf("  %-18s %12s %9s %9s %13s %13s %13s\n", "system", c.records ? "records/s" : "ops/s",
              "p50 us", "p99 us", "client us/op", "server us/op", "rest (cores)");
  for (size_t i = 0; i < c.names.size(); ++i) {
    const Sums& s = c.sums[i];
    std::printf("  %-18s %12s %9s %9s %13s %13s %13s\n", c.names[i].c_str(),
                Fmt(c.records ? s.records_per_s() : s.ops_per_s()).c_str(), Fmt(s.p50_us(), 1).c_str(),
                Fmt(s.p99_us(), 1).c_str(), Fmt(s.client_us_per_op(), 1).c_str(),
                c.names[i] == "rocksdb" ? "(in process)" : Fmt(s.server_us_per_op(), 1).c_str(),
                Fmt(s.rest_cores(), 2).c_str());
  }
  std::string line = "  ratios:";
  for (const char* cot : {"cotenantd", "cotenantd-shared"}) {
    if (c.Of(cot) == nullptr) continue;
    if (c.Of("redis")) line += std::string(" ") + cot + "/redis " + Ratio(c.Rate(cot), c.Rate("redis"));
    if (c.Of("rocksdb")) line += std::string(" ") + cot + "/rocksdb " + Ratio(c.Rate(cot), c.Rate("rocksdb"));
  }
  std::printf("%s\n\n", line.c_str());
  std::fflush(stdout);
}

void PrintSummary(const std::vector<Cell>& cells, bool shared) {
  std::printf("Summary: throughput (ops/s; point modes records/s) and ratios\n");
  std::string head = "mode                         thr |   cotenantd |       redis |     rocksdb |  c/redis |  c/rocks";
  if (shared) head += " |   c-shared | cs/redis";
  std::printf("%s\n%s\n", head.c_str(), std::string(head.size(), '-').c_str());
  for (const auto& c : cells) {
    std::printf("%-28s %4zu | %11s | %11s | %11s | %8s | %8s", c.mode.c_str(), c.threads,
                Fmt(c.Rate("cotenantd")).c_str(), Fmt(c.Rate("redis")).c_str(), Fmt(c.Rate("rocksdb")).c_str(),
                Ratio(c.Rate("cotenantd"), c.Rate("redis")).c_str(),
                Ratio(c.Rate("cotenantd"), c.Rate("rocksdb")).c_str());
    if (shared) {
      std::printf(" | %10s | %8s", Fmt(c.Rate("cotenantd-shared")).c_str(),
                  Ratio(c.Rate("cotenantd-shared"), c.Rate("redis")).c_str());
    }
    std::printf("\n");
  }
  std::printf("\nSummary: latency p50/p99 (us) and CPU per operation (us: client + server)\n");
  head = "mode                         thr | cotenantd p50/p99 | redis p50/p99 | rocksdb p50/p99 | cot cpu c+s  | redis cpu c+s | rocks cpu";
  std::printf("%s\n%s\n", head.c_str(), std::string(head.size(), '-').c_str());
  auto lat = [](const Sums* s) {
    return s == nullptr ? std::string("-") : Fmt(s->p50_us(), 0) + "/" + Fmt(s->p99_us(), 0);
  };
  auto cpu2 = [](const Sums* s) {
    return s == nullptr ? std::string("-") : Fmt(s->client_us_per_op(), 1) + "+" + Fmt(s->server_us_per_op(), 1);
  };
  for (const auto& c : cells) {
    const Sums* rocks = c.Of("rocksdb");
    std::printf("%-28s %4zu | %17s | %13s | %15s | %12s | %13s | %9s\n", c.mode.c_str(), c.threads,
                lat(c.Of("cotenantd")).c_str(), lat(c.Of("redis")).c_str(), lat(rocks).c_str(),
                cpu2(c.Of("cotenantd")).c_str(), cpu2(c.Of("redis")).c_str(),
                rocks ? Fmt(rocks->client_us_per_op(), 1).c_str() : "-");
  }
  std::fflush(stdout);
}

// ---- The run ----------------------------------------------------------------------------------

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  return buf;
}

int Run(const Options& o, const std::string& binary) {
  size_t max_threads = *std::max_element(o.threads.begin(), o.threads.end());
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("compare: YCSB A/B/C/E/F, cotenantd (SDK) against Redis and raw RocksDB; %s\n", Now().c_str());
  std::printf("machine: %ld cores, load average before the run %.2f %.2f %.2f\n", cores, load[0], load[1], load[2]);
  std::printf("records: %llu x (10 text fields of %zu bytes; cotenantd and RocksDB add the key number k)\n",
              static_cast<unsigned long long>(o.records), kFieldBytes);
  size_t systems = 1 + (o.shared_client ? 1 : 0) + (o.redis ? 1 : 0) + (o.rocksdb ? 1 : 0);
  double per_cell = static_cast<double>(systems) * (o.warmup_seconds + o.slices * o.slice_seconds);
  double estimate = per_cell * static_cast<double>(o.workloads.size() * o.threads.size());
  if (o.point_connections > 0 && o.redis) estimate += 2 * 2 * (o.warmup_seconds + o.slices * o.slice_seconds);
  std::printf("measuring: %zu workloads x %zu thread counts x %zu systems, %d slices of %.1f s + %.1f s warm-up "
              "each: about %.0f s after the loads\n\n",
              o.workloads.size(), o.threads.size(), systems, o.slices, o.slice_seconds, o.warmup_seconds, estimate);
  std::fflush(stdout);

  RowPool pool(1024, o.seed);
  nlohmann::json out = {{"date", Now()},
                        {"cores", cores},
                        {"loadavg_before", {load[0], load[1], load[2]}},
                        {"records", o.records},
                        {"record", "10 text fields of 100 bytes (+ int k in cotenantd and RocksDB)"},
                        {"slice_seconds", o.slice_seconds},
                        {"slices", o.slices},
                        {"warmup_seconds", o.warmup_seconds},
                        {"scan_by", o.scan_by == ScanBy::kIndex ? "index k" : "id"},
                        {"caller_thread_connections", o.caller_thread_connections}};

  // The systems. Declared in this scope so that a failure unwinds through their destructors:
  // clients closed, servers stopped, directories removed.
  Cpu cpu;
  auto cot = StartCotenantd(o, binary, pool, std::max(max_threads, o.point_connections));
  cpu.AddServer(cot->pid());
  std::printf("cotenantd: %s\n           SDK: one Client per thread%s%s\n", cot->command().c_str(),
              o.shared_client ? ", and one shared by all (cotenantd-shared)" : "",
              o.caller_thread_connections ? "; callerThreadConnections on" : "; synchronous calls via each Client's loop thread");
  std::unique_ptr<RedisTarget> redis;
  if (o.redis) {
    redis = StartRedis(o, pool, max_threads);
    cpu.AddServer(redis->server_pid());
    std::printf("redis:     %s\n", redis->command().c_str());
  }
  std::unique_ptr<RocksTarget> rocks;
  if (o.rocksdb) {
    rocks = OpenRocks(o, pool, max_threads);
    std::printf("rocksdb:   in process, %s\n", rocks->dir().c_str());
  }
  std::printf("\n");

  auto report_load = [&](const std::string& name, const LoadReport& r) {
    std::printf("load %-9s %8.1f s  %9.0f records/s  (%s)\n", name.c_str(), r.seconds,
                static_cast<double>(o.records) / r.seconds, r.how.c_str());
    std::fflush(stdout);
    out["load"][name] = {{"seconds", r.seconds}, {"records_per_s", static_cast<double>(o.records) / r.seconds},
                         {"how", r.how}};
  };
  report_load("cotenantd", cot->Load(pool));
  if (redis) report_load("redis", redis->Load(pool));
  if (rocks) report_load("rocksdb", rocks->Load(pool));
  // Let the loads' flushes and compactions finish before anything is measured.
  double waited = rpc_bench::WaitQuiet(cot->pid(), 120);
  if (rocks) waited += rocks->WaitQuiet(120);
  std::printf("waited %.1f s for flushes and compactions to settle\n\n", waited);

  std::vector<System*> order = {&cot->per_thread()};
  if (o.shared_client) order.push_back(&cot->shared());
  if (redis) order.push_back(redis.get());
  if (rocks) order.push_back(rocks.get());

  std::vector<Cell> cells;
  uint64_t seed = o.seed;
  for (char w : o.workloads) {
    for (size_t threads : o.threads) {
      std::printf("%c (%s), %zu thread%s\n", w, Describe(w), threads, threads == 1 ? "" : "s");
      std::fflush(stdout);
      Cell cell;
      cell.mode = std::string(1, w);
      cell.threads = threads;
      std::vector<Op> ops;
      for (System* s : order) {
        cell.names.push_back(s->name());
        ops.push_back(WorkloadOp(w, *s, pool.size()));
        if (o.warmup_seconds > 0) RunSlice(*s, threads, o.warmup_seconds, ops.back(), o.records, ++seed, cpu);
      }
      cell.sums.resize(order.size());
      for (int slice = 0; slice < o.slices; ++slice) {
        for (size_t j = 0; j < order.size(); ++j) {
          size_t i = (j + static_cast<size_t>(slice)) % order.size();  // the first system rotates
          cell.sums[i].Add(RunSlice(*order[i], threads, o.slice_seconds, ops[i], o.records, ++seed, cpu));
        }
      }
      for (System* s : order) s->CheckAlive();
      PrintCell(cell);
      cells.push_back(std::move(cell));
    }
  }

  // Point modes: uniform keys, like redis-benchmark -r.
  if (o.point_connections > 0 && redis) {
    struct Point {
      std::string name;
      int pipeline;
    };
    for (const Point& p : {Point{"getRecord", 1}, Point{"getRecords x" + std::to_string(kManyIds), int{kManyIds}}}) {
      size_t conns = o.point_connections;
      std::string redis_cmd = "redis-benchmark -c " + std::to_string(conns) + (p.pipeline > 1 ? " -P " + std::to_string(p.pipeline) : "") + " GET";
      std::printf("point mode: %s on %zu connections against %s (records/s)\n", p.name.c_str(), conns, redis_cmd.c_str());
      std::fflush(stdout);
      Cell cell;
      cell.mode = "point " + p.name + (p.pipeline > 1 ? " (-P " + std::to_string(p.pipeline) + ")" : "");
      cell.threads = conns;
      cell.records = true;
      cell.names = {"cotenantd", "redis-benchmark"};
      cell.sums.resize(2);
      uint64_t items = o.records;
      Op op = p.pipeline > 1
                  ? Op([items](Session& s, std::mt19937_64& rng, ScrambledZipfian&) -> uint64_t {
                      uint64_t keys[kManyIds];
                      for (auto& k : keys) k = rng() % items;
                      s.ReadMany(keys);
                      return kManyIds;
                    })
                  : Op([items](Session& s, std::mt19937_64& rng, ScrambledZipfian&) -> uint64_t {
                      s.Read(rng() % items);
                      return 1;
                    });
      System& c = cot->per_thread();
      if (o.warmup_seconds > 0) RunSlice(c, conns, o.warmup_seconds, op, o.records, ++seed, cpu);
      // redis-benchmark runs a request count: sized from the rate of its previous run.
      RedisBenchRun calib = RunRedisBenchmark(redis->port(), conns, p.pipeline, 20000, o.records);
      double rate = calib.rps;
      for (int slice = 0; slice < o.slices; ++slice) {
        cell.sums[0].Add(RunSlice(c, conns, o.slice_seconds, op, o.records, ++seed, cpu));
        auto requests = static_cast<uint64_t>(std::max(1000.0, rate * o.slice_seconds));
        CpuSample a = cpu.Take(redis->server_pid());
        RedisBenchRun r = RunRedisBenchmark(redis->port(), conns, p.pipeline, requests, o.records);
        CpuSample b = cpu.Take(redis->server_pid());
        Sums s;
        Cpu::Between(a, b, &s);
        s.ops = s.records = r.requests;
        s.seconds = static_cast<double>(r.requests) / r.rps;  // its own measured time
        s.ext_p50_sum = r.p50_ms * static_cast<double>(r.requests);
        s.ext_p99_sum = r.p99_ms * static_cast<double>(r.requests);
        cell.sums[1].Add(s);
        rate = r.rps;
      }
      cot->per_thread().CheckAlive();
      redis->CheckAlive();
      PrintCell(cell);
      cells.push_back(std::move(cell));
    }
  }

  PrintSummary(cells, o.shared_client);

  for (const auto& c : cells) {
    nlohmann::json j = {{"mode", c.mode}, {"threads", c.threads}, {"unit", c.records ? "records/s" : "ops/s"}};
    for (size_t i = 0; i < c.names.size(); ++i) j["systems"][c.names[i]] = SumsJson(c.sums[i]);
    for (const char* cot_name : {"cotenantd", "cotenantd-shared"}) {
      for (const char* base : {"redis", "rocksdb"}) {
        if (c.Of(cot_name) && c.Of(base)) j["ratios"][std::string(cot_name) + "/" + base] = c.Rate(cot_name) / c.Rate(base);
      }
    }
    out["cells"].push_back(j);
  }
  if (!o.json.empty()) {
    std::ofstream f(o.json);
    f << out.dump(2) << "\n";
    if (!f) Fail("cannot write " + o.json);
    std::printf("\nJSON written to %s\n", o.json.c_str());
  }

  bool clean = cot->Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
  return 0;
}

}  // namespace
}  // namespace compare

int main(int argc, char** argv) {
  using namespace compare;
  Options o = ParseOptions(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, rpc_bench::OnSignal);
  std::signal(SIGTERM, rpc_bench::OnSignal);
  std::signal(SIGHUP, rpc_bench::OnSignal);

  std::string binary = o.cotenantd.empty() ? ::bench::DefaultCotenantd() : o.cotenantd;
  if (access(binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "compare: cannot run cotenantd at %s (give --cotenantd PATH)\n", binary.c_str());
    return 2;
  }
  try {
    return Run(o, binary);
  } catch (const rpc_bench::Failure& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "compare: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "compare: %s\n", e.what());
  }
  return 1;  // the servers were stopped and their directories removed on the way out
}
