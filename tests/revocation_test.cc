// Exact revocation and the memcached tier, end to end: a real cotenantd started with
// --memcached against a real memcached.
//
// 1. Revocation races (one test per kind of revocation): the main thread grants and
//    revokes access round after round while worker threads call getRecord through a
//    TenantContext. The main thread publishes a phase word (round; granting, granted,
//    revoking, revoked): REVOKED(r) only after the revoking call returned, GRANTING(r+1)
//    before the next grant starts; likewise GRANTED(r) only after the grant returned,
//    REVOKING(r) before the revocation starts. A worker reads the phase before a call and
//    after its answer: a success with REVOKED(r) both times is a violation (DESIGN.md
//    "Context cache and revocation": once the revoking call has returned, no later call is
//    served with the old rights); a failure with GRANTED(r) both times is a stale denial.
//    Neither check depends on timing.
// 2. memcached down from the start, 3. memcached killed and restarted under traffic,
// 4. garbage written over every cached context in memcached: answers stay exactly right,
//    and /metrics says what happened.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using Clock = std::chrono::steady_clock;

// ---- Loopback helpers -------------------------------------------------------------------

// The value of the series named exactly `series` (name and labels), or -1 when absent.
double MetricValue(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ') {
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    }
    pos = end + 1;
  }
  return -1;
}

struct CacheMetrics {
  double local_hit = -1, memcached_hit = -1, miss = -1, stale = -1, corrupt = -1, errors = -1;
};

std::ostream& operator<<(std::ostream& os, const CacheMetrics& m) {
  return os << "local_hit=" << m.local_hit << " memcached_hit=" << m.memcached_hit
            << " miss=" << m.miss << " stale_rejected=" << m.stale
            << " corrupt_rejected=" << m.corrupt << " memcached_errors=" << m.errors;
}

CacheMetrics ReadCacheMetrics(const Cotenantd& server) {
  std::string text = HttpGet(server.http_port(), "/metrics");
  auto cache = [&](const char* result) {
    return MetricValue(text, std::string("cotenant_context_cache_total{result=\"") + result + "\"}");
  };
  CacheMetrics m;
  m.local_hit = cache("local_hit");
  m.memcached_hit = cache("memcached_hit");
  m.miss = cache("miss");
  m.stale = cache("stale_rejected");
  m.corrupt = cache("corrupt_rejected");
  m.errors = MetricValue(text, "cotenant_memcached_errors_total");
  return m;
}

// A minimal memcached text-protocol client, to look at and tamper with what the server
// cached.
class McConn {
 public:
  explicit McConn(int port) : fd_(ConnectLoopback(port, 5)) {}
  ~McConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  McConn(const McConn&) = delete;
  McConn& operator=(const McConn&) = delete;
  bool ok() const { return fd_ >= 0; }

  // Every key memcached holds (lru_crawler metadump), decoded. The dump's lines end in
  // "\n", its final "END" in "\r\n".
  std::vector<std::string> Keys() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (!Send("lru_crawler metadump all\r\n")) return {};
      std::string dump;
      bool busy = false;
      for (;;) {
        size_t nl;
        while ((nl = buf_.find('\n')) != std::string::npos) {
          std::string line = buf_.substr(0, nl);
          buf_.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line == "END") goto done;
          if (line.rfind("BUSY", 0) == 0 || line.rfind("ERROR", 0) == 0 ||
              line.rfind("CLIENT_ERROR", 0) == 0) {
            busy = true;
            goto done;
          }
          dump += line + "\n";
        }
        if (!Fill()) return {};
      }
    done:
      if (busy) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::vector<std::string> keys;
      size_t pos = 0;
      while (pos < dump.size()) {
        size_t end = dump.find('\n', pos);
        std::string line = dump.substr(pos, end - pos);
        pos = end + 1;
        if (line.rfind("key=", 0) != 0) continue;
        size_t sp = line.find(' ');
        keys.push_back(UrlDecode(line.substr(4, sp == std::string::npos ? sp : sp - 4)));
      }
      return keys;
    }
    return {};
  }

  std::optional<std::string> Get(const std::string& key) {
    if (!Send("get " + key + "\r\n")) return std::nullopt;
    std::string line;
    if (!ReadLine(&line) || line == "END" || line.rfind("VALUE ", 0) != 0) return std::nullopt;
    size_t last = line.rfind(' ');
    size_t n = std::strtoull(line.c_str() + last + 1, nullptr, 10);
    std::string value;
    if (!ReadN(n + 2, &value)) return std::nullopt;
    value.resize(n);
    if (!ReadLine(&line) || line != "END") return std::nullopt;
    return value;
  }

  bool Set(const std::string& key, const std::string& value) {
    if (!Send("set " + key + " 0 3600 " + std::to_string(value.size()) + "\r\n" + value + "\r\n")) {
      return false;
    }
    std::string line;
    return ReadLine(&line) && line == "STORED";
  }

 private:
  static std::string UrlDecode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }
  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char buf[8192];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }
  bool ReadLine(std::string* line) {
    size_t pos;
    while ((pos = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    *line = buf_.substr(0, pos);
    buf_.erase(0, pos + 2);
    return true;
  }
  bool ReadN(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    *out = buf_.substr(0, n);
    buf_.erase(0, n);
    return true;
  }

  int fd_;
  std::string buf_;
};

// The keys of resolved contexts in memcached ("ctc:<store>:<caller tenant>:<user>:<target>").
std::vector<std::string> ContextKeys(int memcached_port) {
  McConn mc(memcached_port);
  std::vector<std::string> out;
  if (!mc.ok()) return out;
  for (auto& k : mc.Keys()) {
    if (k.rfind("ctc:", 0) == 0) out.push_back(std::move(k));
  }
  return out;
}

// ---- A data share: ABC publishes to XYZ (seeds/004) ---------------------------------------

const Rights kReadOnly{true, false, false, false};
const Rights kAddOnly{false, true, false, false};  // the read right taken away

struct Share {
  TenantHandle abc;         // publisher
  TenantHandle xyz;         // designated tenant
  uint64_t alias = 0;       // the ABC user the policy names (role "xyz-read": read Customers)
  uint64_t record = 0;      // an ABC Customers record
  std::string first_name;   // its first_name
  uint64_t caller = 0;      // a plain XYZ user whose code calls into ABC
  std::string caller_key;
};

PolicyInfo PolicyFor(uint64_t designated, uint64_t user) {
  PolicyInfo p;
  p.name = "to-xyz";
  p.designated = designated;
  p.userId = user;
  return p;
}

// ABC (user `alias` with role xyz-read, a record, policy to-xyz naming alias) and XYZ (a
// plain user `caller`). Access is granted when this returns.
Share MakeShare(const Cotenantd& server, Client& admin, const std::string& tag) {
  Share s;
  s.abc = MakeTenant(server, admin, "ABC-" + tag);
  s.xyz = MakeTenant(server, admin, "XYZ-" + tag);
  if (!s.abc.client || !s.xyz.client) return s;
  auto role = s.abc.client->createRole(0, "xyz-read", {{"Customers", kReadOnly}});
  EXPECT_TRUE(role.ok()) << role.getMessage();
  auto alias = s.abc.client->createUser(0, "xyz-alias", AdminLevel::User);
  EXPECT_TRUE(alias.ok()) << alias.getMessage();
  s.alias = alias.value().user.id;
  Result m = s.abc.client->addRoleMember(0, "xyz-read", s.abc.id, s.alias);
  EXPECT_TRUE(m.ok()) << m.getMessage();
  s.first_name = "Ada-" + tag;
  Parameters p;
  p.add("first_name", s.first_name).add("age", int64_t{36});
  Result added = s.abc.client->addRecord("Customers", p);
  EXPECT_TRUE(added.ok()) << added.getMessage();
  s.record = added.getId();
  auto pol = s.abc.client->createPolicy(0, PolicyFor(s.xyz.id, s.alias));
  EXPECT_TRUE(pol.ok()) << pol.getMessage();
  auto caller = s.xyz.client->createUser(0, "caller", AdminLevel::User);
  EXPECT_TRUE(caller.ok()) << caller.getMessage();
  s.caller = caller.value().user.id;
  s.caller_key = caller.value().apiKey;
  return s;
}

// The code of a call through a TenantContext: the constructor, then getRecord.
ErrorCode ContextCall(Client& c, uint64_t tenant, uint64_t record, const std::string& first_name,
                      std::string* why = nullptr) {
  try {
    TenantContext ctx(c, tenant);
    Result r = c.getRecord("Customers", "first_name", record, ctx);
    if (why) *why = r.getMessage();
    if (r.ok() && (r.getRecords().size() != 1 ||
                   r.getRecords()[0].get("first_name") != Value::text(first_name))) {
      if (why) *why = "wrong data";
      return ErrorCode::Internal;
    }
    return r.getCode();
  } catch (const Error& e) {
    if (why) *why = e.what();
    return e.code();
  }
}

// ---- The race harness ---------------------------------------------------------------------

// GRANTED(r) is published after the grant returned and REVOKING(r) before the revocation
// starts, so a call that saw GRANTED(r) before and after ran while access was granted.
enum PhaseState : uint64_t { kGranting = 0, kGranted = 1, kRevoking = 2, kRevoked = 3 };
constexpr uint64_t MakePhase(uint64_t round, PhaseState s) { return round << 2 | s; }
constexpr uint64_t RoundOf(uint64_t phase) { return phase >> 2; }
constexpr PhaseState StateOf(uint64_t phase) { return static_cast<PhaseState>(phase & 3); }

const char* StateName(PhaseState s) {
  switch (s) {
    case kGranting: return "GRANTING";
    case kGranted: return "GRANTED";
    case kRevoking: return "REVOKING";
    case kRevoked: return "REVOKED";
  }
  return "?";
}

// A worker's client: fixed, or (API-key revocation) replaced by the main thread each round.
struct ClientSlot {
  std::mutex mu;
  std::shared_ptr<Client> client;
  uint64_t round = 0;  // the grant that made it; 0 = valid in every granted window
};

struct Tally {
  std::atomic<uint64_t> calls{0}, succeeded{0}, ctor_calls{0}, revoked_window{0},
      granted_window{0}, violations{0}, stale_denials{0}, bad_data{0}, busy{0};
  std::mutex mu;
  std::vector<std::string> samples;  // the first problems, for the failure message
  void Note(const std::string& s) {
    std::lock_guard<std::mutex> l(mu);
    if (samples.size() < 10) samples.push_back(s);
  }
  std::string Samples() {
    std::lock_guard<std::mutex> l(mu);
    std::string out;
    for (const auto& s : samples) out += "\n  " + s;
    return out;
  }
};

struct Target {
  uint64_t tenant = 0;
  uint64_t record = 0;
  std::string first_name;
  // Whether the revocation also refuses the TenantContext itself. A policy whose user
  // lost a right or its role membership still admits the tenant (docs/SHARING.md; the
  // rights then refuse every call), so there only the calls are checked.
  bool ctor_sees_revocation = true;
};

// Calls getRecord through a TenantContext of `t` until `stop` (bounded by `max_calls` and
// `deadline`), classifying each answer against the phase read before and after it.
void Worker(int id, const std::atomic<uint64_t>& phase, const std::atomic<bool>& stop,
            ClientSlot& slot, const Target& t, Tally& tally, uint64_t max_calls,
            Clock::time_point deadline) {
  std::mt19937_64 rng(0x5EED0000u + static_cast<uint64_t>(id));
  std::shared_ptr<Client> client;
  uint64_t client_round = 0;
  std::optional<TenantContext> ctx;
  for (uint64_t i = 0; i < max_calls && !stop.load(); ++i) {
    if ((i & 31) == 0 && Clock::now() > deadline) break;
    {
      std::lock_guard<std::mutex> l(slot.mu);
      if (slot.client != client) {
        ctx.reset();
        client = slot.client;
        client_round = slot.round;
      }
    }
    if (!client) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    const uint64_t before = phase.load();
    const bool via_ctor = !ctx.has_value();
    bool ok = false;
    ErrorCode code = ErrorCode::OK;
    std::string msg;
    if (via_ctor) {
      try {
        ctx.emplace(*client, t.tenant);  // left empty when the constructor throws
        ok = true;
      } catch (const Error& e) {
        code = e.code();
        msg = e.what();
      }
    } else {
      Result r = client->getRecord("Customers", "first_name", t.record, *ctx);
      ok = r.ok();
      code = r.getCode();
      msg = r.getMessage();
      if (ok && (r.getRecords().size() != 1 ||
                 r.getRecords()[0].get("first_name") != Value::text(t.first_name))) {
        tally.bad_data++;
        tally.Note("wrong data returned for record " + std::to_string(t.record));
      }
    }
    const uint64_t after = phase.load();
    tally.calls++;
    if (via_ctor) tally.ctor_calls++;
    if (ok) tally.succeeded++;
    if (code == ErrorCode::Busy) tally.busy++;
    const std::string what = via_ctor ? "TenantContext()" : "getRecord";
    if (before == after && StateOf(before) == kRevoked && (!via_ctor || t.ctor_sees_revocation)) {
      tally.revoked_window++;
      if (ok) {
        tally.violations++;
        tally.Note("VIOLATION: " + what + " succeeded in REVOKED(" +
                   std::to_string(RoundOf(before)) + ")");
      }
    } else if (before == after && StateOf(before) == kGranted &&
               (client_round == 0 || client_round == RoundOf(before))) {
      tally.granted_window++;
      if (!ok && code != ErrorCode::Busy) {
        tally.stale_denials++;
        tally.Note("stale denial: " + what + " failed in " + StateName(StateOf(before)) + "(" +
                   std::to_string(RoundOf(before)) + "): " + msg);
      }
    }
    // Keep the capability across a denial half of the time (a later call through an open
    // context must see the change too), and build a fresh one the other half.
    if (!ok && (rng() & 1)) ctx.reset();
    // A short random breather: calls still start at every point of every window, and the
    // workers leave CPU to the main thread's admin calls on a small machine.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
  }
}

// Returns "" on success, else what failed.
using Step = std::function<std::string(uint64_t round)>;

struct RaceResult {
  uint64_t rounds = 0;
  double seconds = 0;
  double grant_seconds = 0;   // in the grant steps
  double revoke_seconds = 0;  // in the revoking calls
};

// Runs `rounds` grant/revoke rounds against one worker thread per slot. Access must be
// revoked when this is called.
RaceResult RunRace(const std::string& kind, uint64_t rounds, std::vector<ClientSlot>& slots,
                   const Target& target, const Step& grant, const Step& revoke, Tally& tally) {
  std::atomic<uint64_t> phase{MakePhase(0, kRevoked)};
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  // A safety net for a badly overloaded machine: the race then stops early (reported, and
  // the checks scale with the rounds done). Nothing here asserts a duration.
  const auto deadline = start + std::chrono::seconds(60);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < slots.size(); ++i) {
    threads.emplace_back(Worker, static_cast<int>(i), std::cref(phase), std::cref(stop),
                         std::ref(slots[i]), std::cref(target), std::ref(tally),
                         uint64_t{50'000'000}, deadline);
  }
  std::mt19937_64 rng(0xC0FFEEu + std::hash<std::string>()(kind));
  // Short random pauses in both states, so calls start and end on both sides of every
  // change and some fall entirely inside a revoked or granted window.
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1500)); };
  RaceResult res;
  for (uint64_t r = 1; r <= rounds && Clock::now() < deadline; ++r) {
    phase.store(MakePhase(r, kGranting));
    auto t0 = Clock::now();
    std::string err = grant(r);
    res.grant_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (!err.empty()) {
      ADD_FAILURE() << kind << ": grant of round " << r << " failed: " << err;
      break;
    }
    phase.store(MakePhase(r, kGranted));
    pause();
    phase.store(MakePhase(r, kRevoking));
    t0 = Clock::now();
    err = revoke(r);
    res.revoke_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (!err.empty()) {
      ADD_FAILURE() << kind << ": revocation of round " << r << " failed: " << err;
      break;
    }
    phase.store(MakePhase(r, kRevoked));  // only after the revoking call has returned
    pause();
    res.rounds = r;
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return res;
}

// Rounds per kind of revocation (COTENANT_REVOCATION_ROUNDS overrides, for soak runs).
uint64_t Rounds(uint64_t fixed) {
  if (const char* env = std::getenv("COTENANT_REVOCATION_ROUNDS")) {
    uint64_t v = std::strtoull(env, nullptr, 10);
    if (v > 0) return v;
  }
  return fixed;
}

constexpr int kWorkers = 3;

class RevocationRaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    memcached_ = new Memcached();
    ASSERT_TRUE(memcached_->ok());
    server_ = new Cotenantd({"--memcached", memcached_->address(), "--durability", "group"});
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    delete server_;
    server_ = nullptr;
    delete memcached_;
    memcached_ = nullptr;
  }

  void SetUp() override {
    if (!server_ || !server_->ok()) GTEST_SKIP() << "no server";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    s_ = MakeShare(*server_, *admin_, info->name());
    ASSERT_NE(s_.record, 0u);
    ASSERT_NE(s_.caller, 0u);
    target_ = Target{s_.abc.id, s_.record, s_.first_name};
    // Access works before the race, so a race full of denials means something.
    caller_ = Client::connect(server_->address(), s_.xyz.id, s_.caller_key);
    std::string why;
    ASSERT_EQ(ContextCall(*caller_, s_.abc.id, s_.record, s_.first_name, &why), ErrorCode::OK) << why;
  }

  // One client per worker, logged in as the XYZ caller.
  std::vector<ClientSlot> FixedSlots() {
    std::vector<ClientSlot> slots(kWorkers);
    for (auto& slot : slots) {
      slot.client = Client::connect(server_->address(), s_.xyz.id, s_.caller_key);
    }
    return slots;
  }

  // Checks the tally of a race and reports it.
  void Check(const std::string& kind, uint64_t rounds, const RaceResult& res, Tally& t) {
    CacheMetrics m = ReadCacheMetrics(*server_);
    std::cout << "[race " << kind << "] rounds=" << res.rounds << " seconds=" << res.seconds
              << " (grants " << res.grant_seconds << ", revocations " << res.revoke_seconds << ")"
              << " calls=" << t.calls << " (ctor " << t.ctor_calls << ") ok=" << t.succeeded
              << " revoked_window=" << t.revoked_window << " granted_window=" << t.granted_window
              << " violations=" << t.violations << " stale_denials=" << t.stale_denials
              << " busy=" << t.busy << "\n[race " << kind << "] server totals: " << m << std::endl;
    RecordProperty("rounds", static_cast<int>(res.rounds));
    RecordProperty("calls", static_cast<int>(t.calls));
    RecordProperty("revoked_window_calls", static_cast<int>(t.revoked_window));
    if (res.rounds < rounds) {
      std::cout << "[race " << kind << "] WARNING: stopped by the safety net after " << res.rounds
                << " of " << rounds << " rounds (machine overloaded?)" << std::endl;
    }
    EXPECT_GE(res.rounds, 1u);
    EXPECT_EQ(t.violations, 0u) << t.Samples();
    EXPECT_EQ(t.stale_denials, 0u) << t.Samples();
    EXPECT_EQ(t.bad_data, 0u) << t.Samples();
    // The test can fail only if calls really happened inside the windows it checks.
    EXPECT_GE(t.revoked_window, res.rounds / 4) << "too few calls inside revoked windows";
    EXPECT_GE(t.granted_window, res.rounds / 4) << "too few calls inside granted windows";
    EXPECT_GT(t.succeeded, 0u);
    // The memcached tier took part: entries were written and the stale ones rejected.
    EXPECT_GT(m.miss, 0);
    EXPECT_GT(m.stale, 0);
    EXPECT_FALSE(ContextKeys(memcached_->port()).empty());
  }

  static Memcached* memcached_;
  static Cotenantd* server_;
  static Client* admin_;
  Share s_;
  Target target_;
  std::unique_ptr<Client> caller_;
};

Memcached* RevocationRaceTest::memcached_ = nullptr;
Cotenantd* RevocationRaceTest::server_ = nullptr;
Client* RevocationRaceTest::admin_ = nullptr;

std::string Err(const Result& r) { return r.ok() ? "" : r.getMessage() + " "; }
template <typename T>
std::string Err(const Outcome<T>& o) {
  return o.ok() ? "" : o.getMessage() + " ";
}

// Expects the caller to be denied through a fresh TenantContext (before the race starts).
#define EXPECT_DENIED(client, s)                                                      \
  do {                                                                                \
    std::string why_;                                                                 \
    ErrorCode code_ = ContextCall(client, (s).abc.id, (s).record, (s).first_name, &why_); \
    EXPECT_TRUE(code_ == ErrorCode::PermissionDenied || code_ == ErrorCode::Unauthenticated) \
        << code_ << " " << why_;                                                      \
  } while (0)

// (a) The policy is deleted; the grant creates it again.
TEST_F(RevocationRaceTest, PolicyDeleted) {
  Client& abc = *s_.abc.client;
  ASSERT_TRUE(abc.deletePolicy(0, "to-xyz").ok());
  EXPECT_DENIED(*caller_, s_);
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res = RunRace(
      "policy-deleted", rounds, slots, target_,
      [&](uint64_t) { return Err(abc.createPolicy(0, PolicyFor(s_.xyz.id, s_.alias))); },
      [&](uint64_t) { return Err(abc.deletePolicy(0, "to-xyz")); }, tally);
  Check("policy-deleted", rounds, res, tally);
}

// (b) The policy user's role loses the read right; the grant gives it back.
TEST_F(RevocationRaceTest, RoleLosesReadRight) {
  Client& abc = *s_.abc.client;
  ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kAddOnly}}).ok());
  EXPECT_DENIED(*caller_, s_);
  target_.ctor_sees_revocation = false;
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res = RunRace(
      "role-loses-read", rounds, slots, target_,
      [&](uint64_t) { return Err(abc.updateRole(0, "xyz-read", {{"Customers", kReadOnly}})); },
      [&](uint64_t) { return Err(abc.updateRole(0, "xyz-read", {{"Customers", kAddOnly}})); },
      tally);
  Check("role-loses-read", rounds, res, tally);
}

// (c) The policy's user is deleted; the grant creates a new user with the role and points
// the policy at it.
TEST_F(RevocationRaceTest, PolicyUserDeleted) {
  Client& abc = *s_.abc.client;
  ASSERT_TRUE(abc.deleteUser(0, s_.alias).ok());
  EXPECT_DENIED(*caller_, s_);
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(600);
  uint64_t alias = 0;
  RaceResult res = RunRace(
      "policy-user-deleted", rounds, slots, target_,
      [&](uint64_t r) {
        auto u = abc.createUser(0, "xyz-alias-" + std::to_string(r), AdminLevel::User);
        if (!u.ok()) return Err(u);
        alias = u.value().user.id;
        std::string e = Err(abc.addRoleMember(0, "xyz-read", s_.abc.id, alias));
        if (!e.empty()) return e;
        return Err(abc.updatePolicy(0, PolicyFor(s_.xyz.id, alias)));
      },
      [&](uint64_t) { return Err(abc.deleteUser(0, alias)); }, tally);
  Check("policy-user-deleted", rounds, res, tally);
}

// (d) The caller's API key is revoked: its open sessions fail at once. The grant creates a
// fresh key and logs every worker in with it.
TEST_F(RevocationRaceTest, CallerKeyRevoked) {
  Client& xyz = *s_.xyz.client;
  auto keys = xyz.listApiKeys(0, s_.caller);
  ASSERT_TRUE(keys.ok()) << keys.getMessage();
  for (const auto& k : keys.value()) ASSERT_TRUE(xyz.revokeApiKey(0, k.keyId).ok());
  EXPECT_DENIED(*caller_, s_);
  std::vector<ClientSlot> slots(kWorkers);  // filled by each grant
  Tally tally;
  const uint64_t rounds = Rounds(600);
  std::string key_id;
  RaceResult res = RunRace(
      "caller-key-revoked", rounds, slots, target_,
      [&](uint64_t r) -> std::string {
        auto k = xyz.createApiKey(0, s_.caller);
        if (!k.ok()) return Err(k);
        key_id = k.value().key.keyId;
        for (auto& slot : slots) {
          std::shared_ptr<Client> c;
          try {
            c = Client::connect(server_->address(), s_.xyz.id, k.value().apiKey);
          } catch (const Error& e) {
            return std::string("login with a fresh key failed: ") + e.what();
          }
          std::lock_guard<std::mutex> l(slot.mu);
          slot.client = std::move(c);
          slot.round = r;
        }
        return std::string();
      },
      [&](uint64_t) { return Err(xyz.revokeApiKey(0, key_id)); }, tally);
  Check("caller-key-revoked", rounds, res, tally);
}

// (e) The policy user's role membership is removed; the grant adds it again.
TEST_F(RevocationRaceTest, RoleMembershipRemoved) {
  Client& abc = *s_.abc.client;
  ASSERT_TRUE(abc.removeRoleMember(0, "xyz-read", s_.abc.id, s_.alias).ok());
  EXPECT_DENIED(*caller_, s_);
  target_.ctor_sees_revocation = false;
  auto slots = FixedSlots();
  Tally tally;
  const uint64_t rounds = Rounds(1000);
  RaceResult res = RunRace(
      "membership-removed", rounds, slots, target_,
      [&](uint64_t) { return Err(abc.addRoleMember(0, "xyz-read", s_.abc.id, s_.alias)); },
      [&](uint64_t) { return Err(abc.removeRoleMember(0, "xyz-read", s_.abc.id, s_.alias)); },
      tally);
  Check("membership-removed", rounds, res, tally);
}

// ---- memcached unavailable, killed, corrupted -------------------------------------------------

// Expects `code` for a call of `c` into ABC (through a fresh context and, when given, an
// open one).
void ExpectCall(Client& c, const Share& s, ErrorCode code, const std::string& when,
                const TenantContext* open = nullptr) {
  std::string why;
  EXPECT_EQ(ContextCall(c, s.abc.id, s.record, s.first_name, &why), code) << when << ": " << why;
  if (open != nullptr) {
    Result r = c.getRecord("Customers", "first_name", s.record, *open);
    EXPECT_EQ(r.getCode(), code) << when << " (open context): " << r.getMessage();
    if (r.ok()) {
      ASSERT_EQ(r.getRecords().size(), 1u);
      EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), s.first_name);
    }
  }
}

TEST(MemcachedDownTest, AnswersStayCorrectWhenMemcachedIsDownFromTheStart) {
  const int dead = FreePort();  // nothing listens there
  Cotenantd server({"--memcached", "127.0.0.1:" + std::to_string(dead)});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  Share s = MakeShare(server, *admin, "down");
  ASSERT_NE(s.record, 0u);
  TenantHandle other = MakeTenant(server, *admin, "QRS-down");  // no policy admits it
  auto caller = Client::connect(server.address(), s.xyz.id, s.caller_key);
  Client& abc = *s.abc.client;

  TenantContext open(*caller, s.abc.id);
  for (int i = 0; i < 20; ++i) ExpectCall(*caller, s, ErrorCode::OK, "granted", &open);
  ExpectCall(*other.client, s, ErrorCode::PermissionDenied, "not designated");

  ASSERT_TRUE(abc.deletePolicy(0, "to-xyz").ok());
  ExpectCall(*caller, s, ErrorCode::PermissionDenied, "right after deletePolicy", &open);
  ASSERT_TRUE(abc.createPolicy(0, PolicyFor(s.xyz.id, s.alias)).ok());
  ExpectCall(*caller, s, ErrorCode::OK, "right after createPolicy", &open);
  ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kAddOnly}}).ok());
  ExpectCall(*caller, s, ErrorCode::PermissionDenied, "right after the role lost read", &open);
  ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kReadOnly}}).ok());
  ExpectCall(*caller, s, ErrorCode::OK, "right after the role got read back", &open);
  ASSERT_TRUE(abc.removeRoleMember(0, "xyz-read", s.abc.id, s.alias).ok());
  ExpectCall(*caller, s, ErrorCode::PermissionDenied, "right after removeRoleMember", &open);
  ASSERT_TRUE(abc.addRoleMember(0, "xyz-read", s.abc.id, s.alias).ok());
  ExpectCall(*caller, s, ErrorCode::OK, "right after addRoleMember", &open);
  ExpectCall(*other.client, s, ErrorCode::PermissionDenied, "still not designated");
  // Own-tenant data is unaffected.
  EXPECT_TRUE(abc.getRecord("Customers", "first_name", s.record).ok());

  CacheMetrics m = ReadCacheMetrics(server);
  std::cout << "[memcached down] " << m << std::endl;
  EXPECT_GT(m.errors, 0) << m;
  EXPECT_EQ(m.memcached_hit, 0) << m;
  EXPECT_GT(m.miss, 0) << m;
  EXPECT_GT(m.local_hit, 0) << m;
}

// Background traffic through a TenantContext, checked against a phase word as in the race.
class Traffic {
 public:
  Traffic(const Cotenantd& server, const Share& s, int threads)
      : target_{s.abc.id, s.record, s.first_name, false}, slots_(static_cast<size_t>(threads)) {
    for (auto& slot : slots_) slot.client = Client::connect(server.address(), s.xyz.id, s.caller_key);
    for (size_t i = 0; i < slots_.size(); ++i) {
      threads_.emplace_back(Worker, 100 + static_cast<int>(i), std::cref(phase_), std::cref(stop_),
                            std::ref(slots_[i]), std::cref(target_), std::ref(tally_),
                            uint64_t{50'000'000}, Clock::now() + std::chrono::seconds(60));
    }
  }
  ~Traffic() { Stop(); }
  void Set(uint64_t round, PhaseState s) { phase_.store(MakePhase(round, s)); }
  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // Waits (bounded) until at least `n` more calls have been answered.
  void AwaitCalls(uint64_t n) {
    const uint64_t goal = tally_.calls.load() + n;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (tally_.calls.load() < goal && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  Tally& tally() { return tally_; }

 private:
  std::atomic<uint64_t> phase_{MakePhase(1, kGranted)};
  std::atomic<bool> stop_{false};
  Target target_;
  std::vector<ClientSlot> slots_;
  Tally tally_;
  std::vector<std::thread> threads_;
};

TEST(MemcachedRestartTest, AnswersStayCorrectWhileMemcachedIsKilledAndRestarted) {
  Memcached mc;
  ASSERT_TRUE(mc.ok());
  Cotenantd server({"--memcached", mc.address()});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  Share s = MakeShare(server, *admin, "restart");
  ASSERT_NE(s.record, 0u);
  Client& abc = *s.abc.client;
  auto caller = Client::connect(server.address(), s.xyz.id, s.caller_key);
  TenantContext open(*caller, s.abc.id);
  ExpectCall(*caller, s, ErrorCode::OK, "before");
  EXPECT_FALSE(ContextKeys(mc.port()).empty()) << "nothing was cached in memcached";

  uint64_t round = 1;
  Traffic traffic(server, s, 2);
  traffic.AwaitCalls(200);

  // memcached goes away under traffic.
  mc.Stop();
  traffic.AwaitCalls(200);
  ExpectCall(*caller, s, ErrorCode::OK, "memcached stopped", &open);
  const CacheMetrics before_revoke = ReadCacheMetrics(server);

  // Revoke and re-grant while it is down: exact, as ever.
  traffic.Set(round, kRevoking);  // no window is checked while the change is in flight
  ASSERT_TRUE(abc.deletePolicy(0, "to-xyz").ok());
  traffic.Set(round, kRevoked);
  ExpectCall(*caller, s, ErrorCode::PermissionDenied, "revoked while memcached is down", &open);
  traffic.AwaitCalls(200);
  traffic.Set(++round, kGranting);
  ASSERT_TRUE(abc.createPolicy(0, PolicyFor(s.xyz.id, s.alias)).ok());
  traffic.Set(round, kGranted);
  ExpectCall(*caller, s, ErrorCode::OK, "re-granted while memcached is down", &open);
  traffic.AwaitCalls(200);
  CacheMetrics down = ReadCacheMetrics(server);
  std::cout << "[memcached stopped] " << down << std::endl;
  EXPECT_GT(down.errors, before_revoke.errors) << down;

  // memcached comes back (empty, on the same port).
  ASSERT_TRUE(mc.Restart());
  traffic.AwaitCalls(200);
  ExpectCall(*caller, s, ErrorCode::OK, "memcached restarted", &open);
  traffic.Set(round, kRevoking);
  ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kAddOnly}}).ok());
  traffic.Set(round, kRevoked);
  ExpectCall(*caller, s, ErrorCode::PermissionDenied, "revoked after memcached came back", &open);
  traffic.AwaitCalls(200);
  traffic.Set(++round, kGranting);
  ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kReadOnly}}).ok());
  traffic.Set(round, kGranted);
  ExpectCall(*caller, s, ErrorCode::OK, "re-granted after memcached came back", &open);

  // The server writes to memcached again once its breaker lets it: a change makes every
  // cached context stale, the next call resolves and stores a fresh one.
  bool stored = false;
  for (int i = 0; i < 100 && !stored; ++i) {
    traffic.Set(++round, kGranting);
    ASSERT_TRUE(abc.updateRole(0, "xyz-read", {{"Customers", kReadOnly}}).ok());
    traffic.Set(round, kGranted);
    ExpectCall(*caller, s, ErrorCode::OK, "while memcached refills");
    stored = !ContextKeys(mc.port()).empty();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(stored) << "the server never wrote to the restarted memcached";
  traffic.AwaitCalls(200);
  traffic.Stop();
  Tally& t = traffic.tally();
  std::cout << "[memcached restart traffic] calls=" << t.calls << " ok=" << t.succeeded
            << " revoked_window=" << t.revoked_window << " granted_window=" << t.granted_window
            << " violations=" << t.violations << " stale_denials=" << t.stale_denials << std::endl;
  EXPECT_EQ(t.violations, 0u) << t.Samples();
  EXPECT_EQ(t.stale_denials, 0u) << t.Samples();
  EXPECT_EQ(t.bad_data, 0u) << t.Samples();
  EXPECT_GT(t.revoked_window, 0u);
  EXPECT_GT(t.granted_window, 0u);

  // Hits again: a single server serves from its own tier first, so memcached is read when
  // that tier is empty; restart cotenantd (same data, same ports) to get there.
  ASSERT_TRUE(server.Restart()) << server.log();
  auto caller2 = Client::connect(server.address(), s.xyz.id, s.caller_key);
  CacheMetrics m;
  for (int i = 0; i < 100; ++i) {
    ExpectCall(*caller2, s, ErrorCode::OK, "after the server restart");
    m = ReadCacheMetrics(server);
    if (m.memcached_hit > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "[memcached back] " << m << std::endl;
  EXPECT_GT(m.memcached_hit, 0) << m;
  // And revocation still reaches it.
  auto abc2 = Client::connect(server.address(), s.abc.id, s.abc.key);
  ASSERT_TRUE(abc2->deletePolicy(0, "to-xyz").ok());
  ExpectCall(*caller2, s, ErrorCode::PermissionDenied, "revoked after the server restart");
}

// Little-endian field helpers for the value format of sharing/context_cache.cc.
uint64_t GetLe(const std::string& v, size_t off) {
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(static_cast<unsigned char>(v[off + i])) << (8 * i);
  return r;
}
void PutLe(std::string* v, size_t off, uint64_t x) {
  for (int i = 0; i < 8; ++i) (*v)[off + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}
uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}
// A well-formed copy of `v` whose stamp (target generation) is one older: a stale entry.
std::string OlderStamp(std::string v) {
  if (v.size() < 9 + 8) return v;
  const size_t sid_len = GetLe(v.substr(5, 4) + std::string(4, '\0'), 0);
  const size_t target_gen = 9 + sid_len + 3 * 8 + 8;  // after the key and stamp.global
  if (v.size() < target_gen + 8 + 8) return v;
  PutLe(&v, target_gen, GetLe(v, target_gen) - 1);
  PutLe(&v, v.size() - 8, Fnv1a64(std::string_view(v).substr(0, v.size() - 8)));
  return v;
}

TEST(MemcachedCorruptionTest, GarbageInMemcachedIsNeverServed) {
  Memcached mc;
  ASSERT_TRUE(mc.ok());
  Cotenantd server({"--memcached", mc.address()});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  Share s = MakeShare(server, *admin, "corrupt");
  ASSERT_NE(s.record, 0u);
  TenantHandle other = MakeTenant(server, *admin, "QRS-corrupt");  // no policy admits it
  // Several XYZ callers, so there are several cached contexts to spoil.
  std::vector<std::string> keys{s.caller_key};
  for (int i = 0; i < 5; ++i) {
    auto u = s.xyz.client->createUser(0, "caller-" + std::to_string(i), AdminLevel::User);
    ASSERT_TRUE(u.ok()) << u.getMessage();
    keys.push_back(u.value().apiKey);
  }
  // Everyone's expected answers, checked on fresh logins after every server restart.
  auto check_all = [&](ErrorCode xyz_code, const std::string& when) {
    for (const auto& k : keys) {
      auto c = Client::connect(server.address(), s.xyz.id, k);
      ExpectCall(*c, s, xyz_code, when);
    }
    auto q = Client::connect(server.address(), other.id, other.key);
    ExpectCall(*q, s, ErrorCode::PermissionDenied, when + " (not designated)");
    auto a = Client::connect(server.address(), s.abc.id, s.abc.key);
    Result own = a->getRecord("Customers", "first_name", s.record);
    EXPECT_TRUE(own.ok()) << when << " (own tenant): " << own.getMessage();
  };
  check_all(ErrorCode::OK, "warm-up");
  // Logins resolve the caller's own context pipelined, without waiting: let those writes
  // land before taking the snapshot (bounded).
  std::vector<std::string> cached = ContextKeys(mc.port());
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::vector<std::string> again = ContextKeys(mc.port());
    if (again.size() == cached.size()) break;
    cached = std::move(again);
  }
  ASSERT_GE(cached.size(), 8u) << "expected a context per caller in memcached";

  McConn raw(mc.port());
  ASSERT_TRUE(raw.ok());
  std::map<std::string, std::string> good;  // every valid entry, before the damage
  for (const auto& k : cached) {
    auto v = raw.Get(k);
    ASSERT_TRUE(v.has_value()) << k;
    good[k] = *v;
  }
  // Spoil every entry: random bytes, empty, truncated, one flipped byte, a valid value of
  // another key, and a well-formed value with an older stamp.
  std::mt19937_64 rng(42);
  size_t i = 0, expect_corrupt = 0, expect_stale = 0;
  for (const auto& [k, v] : good) {
    std::string bad;
    switch (i++ % 6) {
      case 0:
        bad.resize(1 + rng() % 300);
        for (auto& ch : bad) ch = static_cast<char>(rng());
        ++expect_corrupt;
        break;
      case 1:
        bad = "";
        ++expect_corrupt;
        break;
      case 2:
        bad = v.substr(0, v.size() / 2 + rng() % (v.size() / 2));
        ++expect_corrupt;
        break;
      case 3:
        bad = v;
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
        ++expect_corrupt;
        break;
      case 4: {
        auto next = good.upper_bound(k);
        bad = (next == good.end() ? good.begin() : next)->second;
        ++expect_corrupt;
        break;
      }
      case 5:
        bad = OlderStamp(v);
        ++expect_stale;
        break;
    }
    ASSERT_TRUE(raw.Set(k, bad)) << k;
  }
  // An empty local tier makes the server read memcached.
  ASSERT_TRUE(server.Restart()) << server.log();
  check_all(ErrorCode::OK, "after corruption");
  CacheMetrics m = ReadCacheMetrics(server);
  std::cout << "[corrupted " << good.size() << " entries: " << expect_corrupt << " garbage, "
            << expect_stale << " stale] " << m << std::endl;
  EXPECT_GT(m.corrupt, 0) << m;
  EXPECT_GT(m.stale, 0) << m;
  EXPECT_EQ(m.memcached_hit, 0) << "a spoilt entry was served: " << m;

  // The server replaced the garbage with good entries: after another restart they are hits.
  ASSERT_TRUE(server.Restart()) << server.log();
  check_all(ErrorCode::OK, "after the server rewrote memcached");
  m = ReadCacheMetrics(server);
  std::cout << "[rewritten] " << m << std::endl;
  EXPECT_GT(m.memcached_hit, 0) << m;

  // Revocation, then the old valid entries written back into memcached (a replay of what
  // a racing resolution could leave behind) and the server restarted: still denied.
  auto abc = Client::connect(server.address(), s.abc.id, s.abc.key);
  ASSERT_TRUE(abc->deletePolicy(0, "to-xyz").ok());
  check_all(ErrorCode::PermissionDenied, "after deletePolicy");
  for (const auto& [k, v] : good) ASSERT_TRUE(raw.Set(k, v)) << k;
  ASSERT_TRUE(server.Restart()) << server.log();
  check_all(ErrorCode::PermissionDenied, "after replaying pre-revocation entries");
  m = ReadCacheMetrics(server);
  std::cout << "[replayed] " << m << std::endl;
  EXPECT_GT(m.stale, 0) << m;
  // Re-granted: allowed again for every caller.
  abc = Client::connect(server.address(), s.abc.id, s.abc.key);
  ASSERT_TRUE(abc->createPolicy(0, PolicyFor(s.xyz.id, s.alias)).ok());
  check_all(ErrorCode::OK, "after createPolicy");
}

}  // namespace
}  // namespace cotenant::testing
