// bench/compare: a private redis-server (no persistence) on a free loopback port, driven
// through hiredis with one synchronous redisContext per client thread; and redis-benchmark
// against it for the point modes.
//
// Data: "t1:usertable:<12-digit key>" -> the record's 10 fields back to back (1000 bytes),
// and the sorted set "t1:usertable:index" of those key names, scored by key number, for
// the scans of workload E.

#include <hiredis/hiredis.h>

#include "compare.h"

namespace compare {
namespace {

const std::string kIndex = "t1:usertable:index";

// The scan of workload E in one round trip, as searchRecords and a RocksDB iterator do it:
// ZRANGE BYSCORE (O(log N + length) from any start, where a plain ZRANGE by rank would have
// to know the start's rank, and ZRANGEBYLEX would need the padded bound built per call)
// then MGET of the names found, server-side in a script. Sent as ZRANGE and MGET from the
// client it would cost a second round trip that neither of the other systems pays.
const char* kScanScript =
    "local ks = redis.call('ZRANGE', KEYS[1], ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[2]) "
    "if #ks == 0 then return {} end "
    "return redis.call('MGET', unpack(ks))";

struct ReplyPtr {
  redisReply* r;
  explicit ReplyPtr(void* p) : r(static_cast<redisReply*>(p)) {}
  ~ReplyPtr() {
    if (r != nullptr) freeReplyObject(r);
  }
  ReplyPtr(const ReplyPtr&) = delete;
  ReplyPtr& operator=(const ReplyPtr&) = delete;
};

[[noreturn]] void FailCall(redisContext* c, const std::string& what, const redisReply* r) {
  std::string why;
  if (r == nullptr) why = c->errstr[0] != '\0' ? c->errstr : "no reply (connection lost)";
  else if (r->type == REDIS_REPLY_ERROR) why = std::string(r->str, r->len);
  else why = "unexpected reply type " + std::to_string(r->type);
  Fail("redis: " + what + " failed: " + why);
}

redisContext* ConnectRedis(uint16_t port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr) Fail("redis: cannot allocate a connection");
  if (c->err != 0) {
    std::string why = c->errstr;
    redisFree(c);
    Fail("redis: cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  return c;
}

class Target;

class RedisSession : public Session {
 public:
  RedisSession(Target& t, redisContext* c) : t_(t), c_(c) {}
  ~RedisSession() override { redisFree(c_); }
  void Read(uint64_t key) override;
  void Update(uint64_t key, uint64_t row) override;
  void Insert(uint64_t key, uint64_t row) override;
  void Scan(uint64_t key, int length) override;

 private:
  // Writes the key's name into name_; returns its length.
  size_t Name(uint64_t key) {
    return static_cast<size_t>(std::snprintf(name_, sizeof(name_), "t1:usertable:%012llu",
                                             static_cast<unsigned long long>(key)));
  }
  Target& t_;
  redisContext* c_;
  char name_[40];
};

class Target : public RedisTarget {
 public:
  Target(const Options& o, const RowPool& pool, size_t sessions)
      : o_(o), port_(rpc_bench::FreePort()), next_insert_(o.records) {
    if (!rpc_bench::OnPath("redis-server")) Fail("redis-server is not on the PATH (apt-get install redis-server)");
    argv_ = {"/usr/bin/env", "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--protected-mode", "no"};
    child_.emplace("redis-server", argv_, "/dev/null");
    rpc_bench::WaitListening(*child_, port_);
    for (size_t i = 0; i < pool.size(); ++i) values_.push_back(pool.Joined(i));
    for (size_t i = 0; i < sessions; ++i) sessions_.push_back(std::make_unique<RedisSession>(*this, ConnectRedis(port_)));
    redisContext* c = ConnectRedis(port_);
    ReplyPtr r(redisCommand(c, "SCRIPT LOAD %s", kScanScript));
    if (r.r == nullptr || r.r->type != REDIS_REPLY_STRING) FailCall(c, "SCRIPT LOAD", r.r);
    scan_sha_.assign(r.r->str, r.r->len);
    redisFree(c);
  }

  std::string name() const override { return "redis"; }
  pid_t server_pid() const override { return child_->pid(); }
  Session& session(size_t thread) override { return *sessions_.at(thread); }
  uint64_t NextInsertKey() override { return next_insert_.fetch_add(1); }
  void CheckAlive() override {
    if (!child_->Alive()) Fail("redis-server exited");
  }
  uint16_t port() const override { return port_; }
  std::string command() const override {
    std::string s = "redis-server";
    for (size_t i = 2; i < argv_.size(); ++i) s += " " + (argv_[i].empty() ? std::string("\"\"") : argv_[i]);
    return s;
  }

  // SET + ZADD of every record, kLoadBatch records per pipeline.
  LoadReport Load(const RowPool& pool) override {
    auto t0 = Clock::now();
    redisContext* c = ConnectRedis(port_);
    char name[40];
    for (uint64_t first = 0; first < o_.records; first += kLoadBatch) {
      uint64_t n = std::min<uint64_t>(kLoadBatch, o_.records - first);
      for (uint64_t k = first; k < first + n; ++k) {
        size_t len = static_cast<size_t>(std::snprintf(name, sizeof(name), "t1:usertable:%012llu",
                                                       static_cast<unsigned long long>(k)));
        const std::string& v = values_[k % values_.size()];
        redisAppendCommand(c, "SET %b %b", name, len, v.data(), v.size());
        redisAppendCommand(c, "ZADD %s %llu %b", kIndex.c_str(), static_cast<unsigned long long>(k), name, len);
      }
      for (uint64_t i = 0; i < 2 * n; ++i) {
        void* p = nullptr;
        int rc = redisGetReply(c, &p);
        ReplyPtr r(p);
        if (rc != REDIS_OK || r.r == nullptr || r.r->type == REDIS_REPLY_ERROR) {
          FailCall(c, "load pipeline at key " + std::to_string(first), r.r);
        }
      }
    }
    redisFree(c);
    return {rpc_bench::Seconds(t0, Clock::now()),
            "SET + ZADD, pipelines of " + std::to_string(kLoadBatch) + " records, one connection"};
  }

  const std::string& value(uint64_t row) const { return values_[row % values_.size()]; }
  const std::string& scan_sha() const { return scan_sha_; }

 private:
  const Options& o_;
  uint16_t port_;
  std::vector<std::string> argv_;
  std::optional<rpc_bench::Child> child_;
  std::vector<std::string> values_;
  std::string scan_sha_;
  std::vector<std::unique_ptr<RedisSession>> sessions_;
  std::atomic<uint64_t> next_insert_;
};

void RedisSession::Read(uint64_t key) {
  size_t len = Name(key);
  ReplyPtr r(redisCommand(c_, "GET %b", name_, len));
  if (r.r == nullptr || r.r->type != REDIS_REPLY_STRING) FailCall(c_, std::string("GET ") + name_, r.r);
  if (r.r->len != static_cast<long long>(kFields * kFieldBytes)) {
    Fail(std::string("redis: GET ") + name_ + " answered " + std::to_string(r.r->len) + " bytes");
  }
}

void RedisSession::Update(uint64_t key, uint64_t row) {
  size_t len = Name(key);
  const std::string& v = t_.value(row);
  ReplyPtr r(redisCommand(c_, "SET %b %b", name_, len, v.data(), v.size()));
  if (r.r == nullptr || r.r->type != REDIS_REPLY_STATUS) FailCall(c_, std::string("SET ") + name_, r.r);
}

// SET and ZADD pipelined: one round trip.
void RedisSession::Insert(uint64_t key, uint64_t row) {
  size_t len = Name(key);
  const std::string& v = t_.value(row);
  redisAppendCommand(c_, "SET %b %b", name_, len, v.data(), v.size());
  redisAppendCommand(c_, "ZADD %s %llu %b", kIndex.c_str(), static_cast<unsigned long long>(key), name_, len);
  for (int i = 0; i < 2; ++i) {
    void* p = nullptr;
    int rc = redisGetReply(c_, &p);
    ReplyPtr r(p);
    if (rc != REDIS_OK || r.r == nullptr || r.r->type == REDIS_REPLY_ERROR) {
      FailCall(c_, std::string(i == 0 ? "SET " : "ZADD ") + name_, r.r);
    }
  }
}

void RedisSession::Scan(uint64_t key, int length) {
  ReplyPtr r(redisCommand(c_, "EVALSHA %s 1 %s %llu %d", t_.scan_sha().c_str(), kIndex.c_str(),
                          static_cast<unsigned long long>(key), length));
  if (r.r == nullptr || r.r->type != REDIS_REPLY_ARRAY) FailCall(c_, "scan script from key " + std::to_string(key), r.r);
  if (r.r->elements == 0 || r.r->elements > static_cast<size_t>(length)) {
    Fail("redis: scan from key " + std::to_string(key) + " returned " + std::to_string(r.r->elements) +
         " values for " + std::to_string(length));
  }
  for (size_t i = 0; i < r.r->elements; ++i) {
    if (r.r->element[i]->type != REDIS_REPLY_STRING) Fail("redis: scan from key " + std::to_string(key) + " met a missing value");
  }
}

}  // namespace

std::string RedisKey(uint64_t key) {
  char name[40];
  std::snprintf(name, sizeof(name), "t1:usertable:%012llu", static_cast<unsigned long long>(key));
  return name;
}

std::unique_ptr<RedisTarget> StartRedis(const Options& o, const RowPool& pool, size_t sessions) {
  return std::make_unique<Target>(o, pool, sessions);
}

// ---- redis-benchmark -----------------------------------------------------------------------

namespace {

double ChildrenCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The quoted fields of one CSV line: "a","b",... -> {a, b, ...}.
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '"') return {};
    size_t end = line.find('"', i + 1);
    if (end == std::string::npos) return {};
    out.push_back(line.substr(i + 1, end - i - 1));
    i = end + 1;
    if (i < line.size() && line[i] == ',') ++i;
  }
  return out;
}

}  // namespace

RedisBenchRun RunRedisBenchmark(uint16_t port, size_t conns, int pipeline, uint64_t requests,
                                uint64_t records) {
  // exec: the shell is replaced, so the CPU of redis-benchmark alone reaches RUSAGE_CHILDREN.
  std::string cmd = "exec redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " -c " +
                    std::to_string(conns) + " -P " + std::to_string(pipeline) + " -n " +
                    std::to_string(requests) + " -r " + std::to_string(records) +
                    " --csv GET t1:usertable:__rand_int__ 2>&1";
  double cpu0 = ChildrenCpuSeconds();
  auto t0 = Clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Fail("cannot run redis-benchmark: " + std::string(std::strerror(errno)));
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  RedisBenchRun run;
  run.seconds = rpc_bench::Seconds(t0, Clock::now());
  run.client_cpu = ChildrenCpuSeconds() - cpu0;
  run.requests = requests;
  if (status != 0) Fail("redis-benchmark failed (" + cmd + "): " + out);
  // Redis 7: a header line "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
  // "p95_latency_ms","p99_latency_ms","max_latency_ms", then one line per test.
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> header;
  while (std::getline(lines, line)) {
    auto f = CsvFields(line);
    if (f.empty()) continue;
    if (f[0] == "test") {
      header = f;
      continue;
    }
    if (f[0].rfind("GET", 0) != 0 || f.size() < 2) continue;
    run.rps = std::strtod(f[1].c_str(), nullptr);
    for (size_t i = 2; i < f.size() && i < header.size(); ++i) {
      if (header[i] == "p50_latency_ms") run.p50_ms = std::strtod(f[i].c_str(), nullptr);
      if (header[i] == "p99_latency_ms") run.p99_ms = std::strtod(f[i].c_str(), nullptr);
    }
  }
  if (std::isnan(run.rps) || run.rps <= 0) Fail("cannot read redis-benchmark's output (" + cmd + "): " + out);
  return run;
}

}  // namespace compare
