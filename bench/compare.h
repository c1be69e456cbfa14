// bench/compare internals shared by its parts: compare.cc (options, the slices, the
// tables and JSON), compare_cotenantd.cc (cotenantd through the SDK), compare_redis.cc
// (a private redis-server through hiredis, and redis-benchmark for the point modes) and
// compare_rocksdb.cc (raw RocksDB in this process).

#ifndef COTENANT_BENCH_COMPARE_H_
#define COTENANT_BENCH_COMPARE_H_

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "rpc_bench.h"  // Child, Cotenantd, Fail, the /proc helpers

namespace compare {

using rpc_bench::Clock;
using rpc_bench::Fail;

// The record: like YCSB's usertable, 10 text fields of 100 bytes (field0 .. field9), plus
// in cotenantd and RocksDB the YCSB key number `k` (an indexed int field in cotenantd) that
// orders the scans of workload E.
inline constexpr int kFields = 10;
inline constexpr size_t kFieldBytes = 100;
inline constexpr size_t kLoadBatch = 1000;  // records per addRecords / pipeline / WriteBatch
inline constexpr unsigned kManyIds = 16;    // ids per getRecords in the point mode

// Precomputed field values, so that no client spends CPU on random text per operation:
// loads and writes take row (key or a random number) % size().
struct RowPool {
  explicit RowPool(size_t rows, uint64_t seed);
  size_t size() const { return rows.size(); }
  const std::array<std::string, kFields>& row(uint64_t i) const { return rows[i % rows.size()]; }
  std::string Joined(uint64_t i) const;  // the 10 fields back to back: Redis's 1000-byte value
  std::vector<std::array<std::string, kFields>> rows;
};

// How cotenantd finds "the next records" in workload E.
enum class ScanBy {
  kIndex,  // criteria `k >= ?`, sorted by k: an index range scan that stops after the page
  kId,     // criteria `id >= ?`, in id order (the planner scans the object from its start)
};

struct Options {
  std::string cotenantd;
  int rpc_threads = 0;  // 0: cotenantd's default
  uint64_t records = 1000000;
  std::vector<size_t> threads = {1, 2, 4, 8, 16, 32};
  std::string workloads = "ABCFE";  // run in this order; E inserts, so it goes last
  double slice_seconds = 2.0;
  int slices = 3;
  double warmup_seconds = 0.5;  // per system per cell, before its slices, not counted
  bool shared_client = false;   // also measure one SDK Client shared by all threads
  // SDK ClientOptions::callerThreadConnections on every measuring Client: synchronous calls
  // run on the calling thread over a connection of its own, with no hand-off to the Client's
  // event-loop thread.
  bool caller_thread_connections = false;
  ScanBy scan_by = ScanBy::kIndex;
  size_t point_connections = 50;  // 0 skips the point modes
  bool redis = true, rocksdb = true;
  std::string json;
  uint64_t seed = 1;
};

// ---- Key choice (YCSB's generators) ------------------------------------------------------

// YCSB's ScrambledZipfianGenerator (zipfian constant 0.99): a ZipfianGenerator over 10^10
// items with YCSB's precomputed zeta, its value FNV-hashed onto [0, items). Popular keys are
// thus spread over the key space instead of clustering at its start.
class ScrambledZipfian {
 public:
  explicit ScrambledZipfian(uint64_t items);
  uint64_t Next(std::mt19937_64& rng);

 private:
  static constexpr double kTheta = 0.99;
  static constexpr double kZetan = 26.46902820178302;  // zeta(10^10, 0.99), from YCSB
  static constexpr uint64_t kItemCount = 10000000000ULL;
  uint64_t items_;
  double alpha_, eta_, half_pow_theta_;
};

// ---- Latency ------------------------------------------------------------------------------

// Log-linear histogram of nanoseconds: 32 buckets per power of two (about 3% wide).
class Histogram {
 public:
  void Add(uint64_t ns);
  void Merge(const Histogram& o);
  uint64_t count() const { return count_; }
  double PercentileUs(double p) const;  // NaN when empty

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static int Bucket(uint64_t ns);
  static double BucketMid(int b);
  std::array<uint64_t, 64 * kSub> counts_{};
  uint64_t count_ = 0;
};

// ---- The systems --------------------------------------------------------------------------

// One client thread's handle on a system; used by that thread only. Every call checks its
// answer and throws Failure naming the system, the call and the key when it is wrong.
class Session {
 public:
  virtual ~Session() = default;
  virtual void Read(uint64_t key) = 0;
  virtual void Update(uint64_t key, uint64_t row) = 0;  // every field, new values
  virtual void Insert(uint64_t key, uint64_t row) = 0;
  virtual void Scan(uint64_t key, int length) = 0;      // the next `length` records from key
  // Point mode: `kManyIds` records by key in one call (cotenantd only).
  virtual void ReadMany(const uint64_t* keys) { Fail("ReadMany is not implemented here"); }
};

class System {
 public:
  virtual ~System() = default;
  virtual std::string name() const = 0;
  // The server process whose CPU is charged to this system; 0 when it runs in this process.
  virtual pid_t server_pid() const { return 0; }
  // REQUIRES: thread < the session count the system was made with.
  virtual Session& session(size_t thread) = 0;
  // Keys for inserts: after the loaded ones, one sequence per data set.
  virtual uint64_t NextInsertKey() = 0;
  // Throws Failure when the server died.
  virtual void CheckAlive() {}
};

struct LoadReport {
  double seconds = 0;
  std::string how;
};

// cotenantd: the server, a tenant set up through the SDK, and the loaded ids. It serves two
// Systems over the same data: one SDK Client per thread (one connection each), and one
// Client shared by every thread (the SDK's own multiplexing).
class CotenantdTarget {
 public:
  virtual ~CotenantdTarget() = default;
  virtual System& per_thread() = 0;
  virtual System& shared() = 0;
  virtual LoadReport Load(const RowPool& pool) = 0;
  virtual std::string command() const = 0;
  virtual pid_t pid() const = 0;
  // SIGTERM and wait, after closing every client; false unless it exited cleanly.
  virtual bool Stop() = 0;
};
std::unique_ptr<CotenantdTarget> StartCotenantd(const Options& o, const std::string& binary,
                                                const RowPool& pool, size_t sessions);

class RedisTarget : public System {
 public:
  virtual LoadReport Load(const RowPool& pool) = 0;
  virtual uint16_t port() const = 0;
  virtual std::string command() const = 0;
};
std::unique_ptr<RedisTarget> StartRedis(const Options& o, const RowPool& pool, size_t sessions);

class RocksTarget : public System {
 public:
  virtual LoadReport Load(const RowPool& pool) = 0;
  // Waits (at most `timeout` s) until no flush or compaction runs; the seconds waited.
  virtual double WaitQuiet(double timeout) = 0;
  virtual std::string dir() const = 0;
};
std::unique_ptr<RocksTarget> OpenRocks(const Options& o, const RowPool& pool, size_t sessions);

// ---- redis-benchmark (point modes) ---------------------------------------------------------

struct RedisBenchRun {
  uint64_t requests = 0;
  double seconds = 0;        // wall time of the redis-benchmark process
  double rps = NAN;          // as redis-benchmark reports it
  double p50_ms = NAN, p99_ms = NAN;
  double client_cpu = 0;     // CPU seconds of redis-benchmark
};
// `redis-benchmark -c conns -P pipeline -n requests -r records GET t1:usertable:__rand_int__`:
// GETs of the loaded 1000-byte values at uniform random keys (redis-benchmark writes
// __rand_int__ as 12 digits, the keys' own format).
RedisBenchRun RunRedisBenchmark(uint16_t port, size_t conns, int pipeline, uint64_t requests,
                                uint64_t records);

// The Redis key of YCSB key number `key`: "t1:usertable:" and 12 digits.
std::string RedisKey(uint64_t key);

}  // namespace compare

#endif  // COTENANT_BENCH_COMPARE_H_
