// The memcached tier under failure, end to end: a real cotenantd started with --memcached
// against a real memcached (or none). 1. memcached down from the start, 2. memcached killed
// and restarted under traffic, 3. garbage written over every cached context in memcached:
// answers stay exactly right, and /metrics says what happened.
//
// The revocation races: revocation_race_test.cc. Shared helpers: revocation_support.h.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/revocation_support.h"

namespace cotenant::testing {
namespace {

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
// A copy of `v` whose stamp (target generation) is one older, its last 8 bytes rewritten as
// an FNV-1a checksum: well-formed but for the MAC, which only the secret's holders can make.
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
  // another key, and a value re-stamped with an older generation.
  std::mt19937_64 rng(42);
  size_t i = 0, expect_corrupt = 0, expect_forged = 0;
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
        ++expect_forged;
        break;
    }
    ASSERT_TRUE(raw.Set(k, bad)) << k;
  }
  // An empty local tier makes the server read memcached.
  ASSERT_TRUE(server.Restart()) << server.log();
  check_all(ErrorCode::OK, "after corruption");
  CacheMetrics m = ReadCacheMetrics(server);
  std::cout << "[corrupted " << good.size() << " entries: " << expect_corrupt << " garbage, "
            << expect_forged << " re-stamped] " << m << std::endl;
  // Malformed values count as corrupt; well-formed ones that fail the MAC as forged.
  EXPECT_GT(m.corrupt, 0) << m;
  EXPECT_GT(m.mac, 0) << m;
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
