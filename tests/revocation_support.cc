// The helpers and race harness of tests/revocation_support.h.

#include "tests/revocation_support.h"

#include <algorithm>

namespace cotenant::testing {

std::ostream& operator<<(std::ostream& os, const CacheMetrics& m) {
  return os << "local_hit=" << m.local_hit << " memcached_hit=" << m.memcached_hit
            << " miss=" << m.miss << " stale_rejected=" << m.stale
            << " corrupt_rejected=" << m.corrupt << " mac_rejected=" << m.mac
            << " memcached_errors=" << m.errors;
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
  m.mac = MetricValue(text, "cotenant_context_cache_rejected_total{reason=\"mac\"}");
  return m;
}

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

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

ErrorCode ContextCall(Client& c, uint64_t tenant, uint64_t record, const std::string& first_name,
                      std::string* why) {
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

const char* StateName(PhaseState s) {
  switch (s) {
    case kGranting: return "GRANTING";
    case kGranted: return "GRANTED";
    case kRevoking: return "REVOKING";
    case kRevoked: return "REVOKED";
  }
  return "?";
}

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
    const auto call_start = Clock::now();
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
    tally.call_micros += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call_start).count());
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

// Runs `rounds` grant/revoke rounds against one worker thread per slot. Access must be
// revoked when this is called.
RaceResult RunRace(const std::string& kind, uint64_t rounds, std::vector<ClientSlot>& slots,
                   const Target& target, const Step& grant, const Step& revoke, Tally& tally,
                   int max_seconds) {
  std::atomic<uint64_t> phase{MakePhase(0, kRevoked)};
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  // A safety net for a badly overloaded machine: the race then stops early (reported, and
  // the checks scale with the rounds done). Nothing here asserts a duration.
  const auto deadline = start + std::chrono::seconds(max_seconds);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < slots.size(); ++i) {
    threads.emplace_back(Worker, static_cast<int>(i), std::cref(phase), std::cref(stop),
                         std::ref(slots[i]), std::cref(target), std::ref(tally),
                         uint64_t{50'000'000}, deadline);
  }
  std::mt19937_64 rng(0xC0FFEEu + std::hash<std::string>()(kind));
  // Short random pauses in both states, so calls start and end on both sides of every
  // change and some fall entirely inside a revoked or granted window. The bound grows with
  // the mean call so a slow build (sanitizers) or a loaded machine still gets whole calls
  // inside the windows; on a plain build calls are far below it.
  auto pause = [&] {
    const uint64_t calls = tally.calls.load();
    const uint64_t mean = calls == 0 ? 0 : tally.call_micros.load() / calls;
    const uint64_t bound = std::max<uint64_t>(1500, 4 * mean);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % bound));
  };
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

std::string LoginSlots(std::vector<ClientSlot>& slots, const std::string& address,
                       uint64_t tenant, const std::string& api_key, uint64_t round) {
  for (auto& slot : slots) {
    std::shared_ptr<Client> c;
    try {
      c = Client::connect(address, tenant, api_key);
    } catch (const Error& e) {
      return "login at " + address + " with a fresh key failed: " + e.what();
    }
    std::lock_guard<std::mutex> l(slot.mu);
    slot.client = std::move(c);
    slot.round = round;
  }
  return "";
}

std::vector<ClientSlot> CallerSlots(const std::string& address, const Share& s, int workers) {
  std::vector<ClientSlot> slots(static_cast<size_t>(workers));
  for (auto& slot : slots) slot.client = Client::connect(address, s.xyz.id, s.caller_key);
  return slots;
}

RaceSteps PolicyDeletedSteps(const Share& s) {
  Client* abc = s.abc.client.get();
  PolicyInfo policy = PolicyFor(s.xyz.id, s.alias);
  return {[abc, policy](uint64_t) { return Err(abc->createPolicy(0, policy)); },
          [abc](uint64_t) { return Err(abc->deletePolicy(0, "to-xyz")); }};
}

RaceSteps RoleLosesReadSteps(const Share& s) {
  Client* abc = s.abc.client.get();
  return {[abc](uint64_t) { return Err(abc->updateRole(0, "xyz-read", {{"Customers", kReadOnly}})); },
          [abc](uint64_t) { return Err(abc->updateRole(0, "xyz-read", {{"Customers", kAddOnly}})); }};
}

RaceSteps MembershipRemovedSteps(const Share& s) {
  Client* abc = s.abc.client.get();
  uint64_t tenant = s.abc.id, user = s.alias;
  return {[abc, tenant, user](uint64_t) { return Err(abc->addRoleMember(0, "xyz-read", tenant, user)); },
          [abc, tenant, user](uint64_t) {
            return Err(abc->removeRoleMember(0, "xyz-read", tenant, user));
          }};
}

RaceSteps CallerKeyRevokedSteps(const Share& s, std::vector<ClientSlot>* slots,
                                const std::string& address) {
  Client* xyz = s.xyz.client.get();
  uint64_t tenant = s.xyz.id, caller = s.caller;
  auto key_id = std::make_shared<std::string>();
  return {[xyz, tenant, caller, key_id, slots, address](uint64_t r) -> std::string {
            auto k = xyz->createApiKey(0, caller);
            if (!k.ok()) return Err(k);
            *key_id = k.value().key.keyId;
            return LoginSlots(*slots, address, tenant, k.value().apiKey, r);
          },
          [xyz, key_id](uint64_t) { return Err(xyz->revokeApiKey(0, *key_id)); }};
}

void ExpectExactRace(const RaceResult& res, Tally& t) {
  EXPECT_GE(res.rounds, 1u);
  EXPECT_EQ(t.violations, 0u) << t.Samples();
  EXPECT_EQ(t.stale_denials, 0u) << t.Samples();
  EXPECT_EQ(t.bad_data, 0u) << t.Samples();
  // The race can fail only if calls really happened inside the windows it checks.
  EXPECT_GE(t.revoked_window, res.rounds / 4) << "too few calls inside revoked windows";
  EXPECT_GE(t.granted_window, res.rounds / 4) << "too few calls inside granted windows";
  EXPECT_GT(t.succeeded, 0u);
}

// Rounds per kind of revocation (COTENANT_REVOCATION_ROUNDS overrides, for soak runs).
uint64_t Rounds(uint64_t fixed) {
  if (const char* env = std::getenv("COTENANT_REVOCATION_ROUNDS")) {
    uint64_t v = std::strtoull(env, nullptr, 10);
    if (v > 0) return v;
  }
  return fixed;
}

}  // namespace cotenant::testing
