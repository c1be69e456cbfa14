// The kill loop: client threads keep a mixed load going (record adds, updates and deletes
// in several tenants, role and policy changes, tenants created and deleted) while
// cotenantd is killed with SIGKILL at a random moment, over and over. After each kill the
// store checker must find the data directory consistent, and after each restart every
// acknowledged write must be there and every acknowledged delete gone.
//
// A call cut off by the kill is "uncertain": after the restart either outcome may be
// found, and the one found is what the model keeps from then on.

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "storage/fsck.h"
#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kKills = 100;
constexpr int kDataTenants = 3;
constexpr size_t kMaxRecords = 150;  // per tenant: keeps verification short

struct RecState {
  bool exists = false;
  std::string name;
  int64_t age = 0;
  bool operator==(const RecState& o) const {
    return exists == o.exists && (!exists || (name == o.name && age == o.age));
  }
};

struct Rec {
  RecState acked;
  std::optional<RecState> maybe;  // the state an unanswered call would have left
};

struct DataTenant {
  uint64_t id = 0;
  std::string key;
  std::map<uint64_t, Rec> records;
  uint64_t unknown_adds = 0;  // adds cut off by a kill: their ids are unknown
  int64_t counter = 0;
};

// Tenants, roles and policies the admin thread changed, by acknowledged outcome.
struct Catalog {
  std::map<uint64_t, bool> tenants;          // churn tenant -> exists (acknowledged)
  std::set<uint64_t> uncertain_tenants;      // create answered, delete cut off
  std::map<std::string, bool> roles;         // role of tenant A -> exists
  std::set<std::string> uncertain_roles;
  int counter = 0;
};

// True when a failed call is explained by the kill (and so its outcome is unknown).
bool CutOff(const std::atomic<bool>& killed, ErrorCode code) {
  return killed.load() || code == ErrorCode::Unavailable;
}

void RecordLoad(const std::string& address, DataTenant* t, const std::atomic<bool>& killed,
                uint64_t seed) {
  std::unique_ptr<Client> c;
  try {
    c = Client::connect(address, t->id, t->key);
  } catch (const Error& e) {
    if (!killed) ADD_FAILURE() << "connect: " << e.message();
    return;
  }
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> live;
  for (const auto& [id, r] : t->records) {
    if (r.acked.exists) live.push_back(id);
  }
  while (!killed) {
    unsigned roll = rng() % 100;
    int64_t n = ++t->counter;
    RecState next{true, "n" + std::to_string(n), n};
    if (live.empty() || (roll < 45 && live.size() < kMaxRecords)) {
      Parameters p;
      p.add("first_name", next.name).add("age", next.age);
      Result r = c->addRecord("Customers", p);
      if (r.ok()) {
        t->records[r.getId()].acked = next;
        live.push_back(r.getId());
      } else if (CutOff(killed, r.getCode())) {
        ++t->unknown_adds;
        return;
      } else {
        ADD_FAILURE() << "add: " << r.getMessage();
        return;
      }
      continue;
    }
    size_t pick = rng() % live.size();
    uint64_t id = live[pick];
    Rec& rec = t->records[id];
    if (roll < 80) {
      Parameters p;
      p.add("first_name", next.name).add("age", next.age);
      Result r = c->updateRecord("Customers", id, p);
      if (r.ok()) {
        rec.acked = next;
      } else if (CutOff(killed, r.getCode())) {
        rec.maybe = next;
        return;
      } else {
        ADD_FAILURE() << "update " << id << ": " << r.getMessage();
        return;
      }
    } else {
      Result r = c->deleteRecord("Customers", id);
      if (r.ok()) {
        rec.acked = RecState{};
        live.erase(live.begin() + static_cast<long>(pick));
      } else if (CutOff(killed, r.getCode())) {
        rec.maybe = RecState{};
        return;
      } else {
        ADD_FAILURE() << "delete " << id << ": " << r.getMessage();
        return;
      }
    }
  }
}

// Tenants created (with a user, an object, a record, and a policy of tenant A designating
// them) and deleted; roles of tenant A created, given a member and deleted.
void AdminLoad(const Cotenantd& server, const DataTenant& a, uint64_t a_user, Catalog* cat,
               const std::atomic<bool>& killed, uint64_t seed) {
  std::unique_ptr<Client> sys, ta;
  try {
    sys = AdminClient(server);
    ta = Client::connect(server.address(), a.id, a.key);
  } catch (const Error& e) {
    if (!killed) ADD_FAILURE() << "connect: " << e.message();
    return;
  }
  std::mt19937_64 rng(seed);
  auto fail = [&](const char* what, const std::string& msg, ErrorCode code) {
    if (!CutOff(killed, code)) ADD_FAILURE() << what << ": " << msg;
  };
  while (!killed) {
    unsigned roll = rng() % 100;
    int n = ++cat->counter;
    if (roll < 30) {
      std::string name = "churn" + std::to_string(n) + "_" + std::to_string(seed);
      auto t = sys->createTenant(name, TenantKind::Tenant, 0);
      if (!t.ok()) return fail("createTenant", t.getMessage(), t.getCode());
      uint64_t id = t.value().id;
      cat->tenants[id] = true;
      auto u = sys->createUser(id, name + "-admin", AdminLevel::TenantAdmin);
      if (!u.ok()) return fail("createUser", u.getMessage(), u.getCode());
      auto o = sys->createObject(id, "Customers", {{"first_name", FieldType::Text, true, true}});
      if (!o.ok()) return fail("createObject", o.getMessage(), o.getCode());
      PolicyInfo p;
      p.name = "to" + std::to_string(id);
      p.designated = id;
      p.userId = a_user;
      auto pr = ta->createPolicy(0, p);
      if (!pr.ok()) return fail("createPolicy", pr.getMessage(), pr.getCode());
    } else if (roll < 50) {
      std::vector<uint64_t> alive;
      for (const auto& [id, exists] : cat->tenants) {
        if (exists && cat->uncertain_tenants.count(id) == 0) alive.push_back(id);
      }
      if (alive.empty()) continue;
      uint64_t id = alive[rng() % alive.size()];
      Result r = sys->deleteTenant(id);
      if (r.ok()) {
        cat->tenants[id] = false;
      } else {
        cat->uncertain_tenants.insert(id);
        return fail("deleteTenant", r.getMessage(), r.getCode());
      }
    } else if (roll < 80) {
      std::string role = "r" + std::to_string(n);
      auto r = ta->createRole(0, role, {{"Customers", Rights::all()}});
      if (!r.ok()) {
        cat->uncertain_roles.insert(role);
        return fail("createRole", r.getMessage(), r.getCode());
      }
      cat->roles[role] = true;
      Result m = ta->addRoleMember(0, role, a.id, a_user);
      if (!m.ok()) return fail("addRoleMember", m.getMessage(), m.getCode());
    } else {
      std::vector<std::string> alive;
      for (const auto& [name, exists] : cat->roles) {
        if (exists && cat->uncertain_roles.count(name) == 0) alive.push_back(name);
      }
      if (alive.empty()) continue;
      std::string role = alive[rng() % alive.size()];
      Result r = ta->deleteRole(0, role);
      if (r.ok()) {
        cat->roles[role] = false;
      } else {
        cat->uncertain_roles.insert(role);
        return fail("deleteRole", r.getMessage(), r.getCode());
      }
    }
  }
}

// Every acknowledged record write is found; an uncertain one is found either way.
void VerifyRecords(const std::string& address, DataTenant* t) {
  auto c = Client::connect(address, t->id, t->key);
  for (auto it = t->records.begin(); it != t->records.end();) {
    Rec& rec = it->second;
    Result r = c->getRecord("Customers", "first_name,age", it->first);
    RecState found;
    if (r.ok()) {
      found = RecState{true, r.getRecords()[0].get("first_name").asText(),
                       r.getRecords()[0].get("age").asInt()};
    } else {
      ASSERT_EQ(r.getCode(), ErrorCode::NotFound) << r.getMessage();
    }
    if (rec.maybe) {
      ASSERT_TRUE(found == rec.acked || found == *rec.maybe)
          << "tenant " << t->id << " record " << it->first << " is in neither possible state";
    } else {
      ASSERT_TRUE(found == rec.acked)
          << "tenant " << t->id << " record " << it->first
          << (rec.acked.exists ? (found.exists ? " lost an acknowledged update" : " lost (acknowledged add)")
                               : " is back after an acknowledged delete");
    }
    rec.acked = found;
    rec.maybe.reset();
    it = found.exists ? std::next(it) : t->records.erase(it);  // deleted ids are never reused
  }
}

void VerifyCatalog(const Cotenantd& server, const DataTenant& a, Catalog* cat) {
  auto sys = AdminClient(server);
  auto tenants = sys->listTenants();
  ASSERT_TRUE(tenants.ok()) << tenants.getMessage();
  std::set<uint64_t> live;
  for (const auto& t : tenants.value()) live.insert(t.id);
  for (auto& [id, exists] : cat->tenants) {
    bool found = live.count(id) != 0;
    if (cat->uncertain_tenants.count(id) == 0) {
      ASSERT_EQ(found, exists) << "tenant " << id << (exists ? " lost" : " is back after its acknowledged deletion");
    }
    exists = found;
  }
  cat->uncertain_tenants.clear();
  auto ta = Client::connect(server.address(), a.id, a.key);
  auto roles = ta->listRoles(0);
  ASSERT_TRUE(roles.ok()) << roles.getMessage();
  std::set<std::string> names;
  for (const auto& r : roles.value()) names.insert(r.name);
  for (const auto& name : cat->uncertain_roles) cat->roles[name] = names.count(name) != 0;
  for (auto& [name, exists] : cat->roles) {
    if (cat->uncertain_roles.count(name) == 0) {
      ASSERT_EQ(names.count(name) != 0, exists) << "role " << name;
    }
  }
  cat->uncertain_roles.clear();
}

TEST(KillLoopTest, EveryKillLeavesAConsistentStoreAndKeepsAcknowledgedWrites) {
  Cotenantd server({"--durability", "group"});
  ASSERT_TRUE(server.ok()) << server.log();
  std::vector<DataTenant> data(kDataTenants);
  uint64_t a_user = 0;
  {
    auto admin = AdminClient(server);
    for (int i = 0; i < kDataTenants; ++i) {
      TenantHandle h = MakeTenant(server, *admin, "data" + std::to_string(i));
      ASSERT_NE(h.id, 0u);
      data[static_cast<size_t>(i)].id = h.id;
      data[static_cast<size_t>(i)].key = h.key;
      if (i == 0) a_user = h.user;
    }
  }
  Catalog catalog;
  std::mt19937_64 rng(20261202);
  auto started = Clock::now();
  uint64_t checked_records = 0, pending_seen = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (size_t i = 0; i < data.size(); ++i) {
      threads.emplace_back(RecordLoad, server.address(), &data[i], std::cref(killed), rng());
    }
    threads.emplace_back(AdminLoad, std::cref(server), std::cref(data[0]), a_user, &catalog,
                         std::cref(killed), rng());
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 301));
    killed = true;
    server.Kill();
    for (auto& t : threads) t.join();
    ASSERT_FALSE(::testing::Test::HasFailure()) << server.log();

    // The directory as the crash left it: consistent, with at most a deletion pending.
    storage::CheckReport report;
    const std::string dir = server.data_dir() + "/data";
    const std::string uri = TestStorageUri(dir);
    Status s = uri.empty() ? storage::CheckDataDirectory(dir, storage::CheckOptions{}, &report)
                           : storage::CheckPostgresStore(uri, storage::CheckOptions{}, &report);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(report.clean()) << storage::CheckReportText(report);
    checked_records += report.checked["records"];
    pending_seen += report.pending_deletions.size();

    ASSERT_TRUE(server.Restart()) << server.log();
    for (auto& t : data) {
      VerifyRecords(server.address(), &t);
      ASSERT_FALSE(::testing::Test::HasFatalFailure());
    }
    VerifyCatalog(server, data[0], &catalog);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  // The loop exercised what it claims to.
  size_t records = 0, deleted_tenants = 0;
  for (const auto& t : data) records += t.records.size();
  for (const auto& [id, exists] : catalog.tenants) deleted_tenants += exists ? 0 : 1;
  EXPECT_GT(records, 50u);
  EXPECT_GT(deleted_tenants, 10u);
  double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("kill loop: %d kills in %.1f s; %zu live records tracked, %zu tenants deleted, "
              "%llu records checked after kills, %llu interrupted deletions seen\n",
              kKills, secs, records, deleted_tenants,
              static_cast<unsigned long long>(checked_records),
              static_cast<unsigned long long>(pending_seen));
}

}  // namespace
}  // namespace cotenant::testing
