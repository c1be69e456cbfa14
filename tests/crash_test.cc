// Crash recovery: a client keeps many writes in flight and records every acknowledged
// one; the server is killed with SIGKILL mid-stream; after a restart every acknowledged
// write is there, and no index entry disagrees with its record.

#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "storage/testing.h"
#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

struct Tracked {
  uint64_t acked_version = 0;
  int64_t acked_age = 0;
  std::optional<int64_t> pending_age;  // an update sent but not acknowledged
  bool busy = false;                   // one update in flight per record at most
};

TEST(CrashTest, AcknowledgedWritesSurviveSigkill) {
  for (const char* durability : {"group", "sync"}) {
    SCOPED_TRACE(durability);
    Cotenantd server({"--durability", durability});
    ASSERT_TRUE(server.ok()) << server.log();
    uint64_t tenant = 0;
    std::string key;
    {
      auto admin = AdminClient(server);
      TenantHandle t = MakeTenant(server, *admin, "crash");
      tenant = t.id;
      key = t.key;
    }
    auto client = Client::connect(server.address(), tenant, key);
    std::map<uint64_t, Tracked> records;  // acknowledged adds
    struct Pending {
      std::future<Result> f;
      bool is_add;
      uint64_t id;
      int64_t age;
    };
    std::vector<Pending> window;
    std::mt19937_64 rng(99);
    int64_t next_age = 0;
    // A call cut off by the kill answers Unavailable; any other failure is a bug.
    auto settle = [&](Pending& p) {
      Result r = p.f.get();
      if (p.is_add) {
        if (r.ok()) {
          Tracked t;
          t.acked_version = 1;
          t.acked_age = p.age;
          records[r.getId()] = t;
        } else if (r.getCode() != ErrorCode::Unavailable) {
          ADD_FAILURE() << "add failed: " << r.getMessage();
        }
        return;
      }
      Tracked& t = records[p.id];
      if (r.ok()) {
        t.acked_version = r.getRecords()[0].version();
        t.acked_age = p.age;
        t.pending_age.reset();
        t.busy = false;
      } else if (r.getCode() != ErrorCode::Unavailable) {
        ADD_FAILURE() << "update failed: " << r.getMessage();
      }
      // After an unanswered update the record's state is unknown until the restart: it
      // stays busy, so no later update overwrites pending_age.
    };
    auto killer = std::async(std::launch::async, [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      server.Kill();
    });
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(4)) {
      bool killed = killer.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      while (window.size() < 32) {
        int64_t age = next_age++;
        // Two thirds adds, one third updates of acknowledged, idle records.
        uint64_t target = 0;
        if (rng() % 3 == 0 && !records.empty()) {
          auto it = records.lower_bound(1 + rng() % (records.rbegin()->first));
          if (it != records.end() && !it->second.busy) target = it->first;
        }
        Parameters p;
        p.add("first_name", "c" + std::to_string(age)).add("age", age);
        if (target != 0) {
          Tracked& t = records[target];
          t.busy = true;
          t.pending_age = age;
          Parameters u;
          u.add("age", age).add("first_name", "c" + std::to_string(age));
          window.push_back({client->updateRecordAsync("Customers", target, u), false, target, age});
        } else {
          window.push_back({client->addRecordAsync("Customers", p), true, 0, age});
        }
      }
      settle(window.front());
      window.erase(window.begin());
      if (killed) break;
    }
    killer.get();
    for (auto& p : window) settle(p);
    client.reset();
    ASSERT_GT(records.size(), 100u) << "too few writes were acknowledged before the kill";

    ASSERT_TRUE(server.Restart()) << server.log();
    auto after = Client::connect(server.address(), tenant, key);
    size_t checked = 0;
    for (const auto& [id, t] : records) {
      Result r = after->getRecord("Customers", "age,first_name", id);
      ASSERT_TRUE(r.ok()) << "acknowledged record " << id << " lost: " << r.getMessage();
      const Record& rec = r.getRecords()[0];
      int64_t age = rec.get("age").asInt();
      if (rec.version() == t.acked_version) {
        EXPECT_EQ(age, t.acked_age) << "record " << id;
      } else {
        // Only the one unacknowledged update may have landed on top.
        ASSERT_TRUE(t.pending_age.has_value()) << "record " << id << " at version " << rec.version();
        EXPECT_EQ(rec.version(), t.acked_version + 1);
        EXPECT_EQ(age, *t.pending_age);
      }
      EXPECT_EQ(rec.get("first_name").asText(), "c" + std::to_string(age));
      ++checked;
    }
    EXPECT_EQ(checked, records.size());
    after.reset();
    ASSERT_EQ(server.Stop(), 0) << server.log();

    // Open the data directory directly: every index entry matches its record.
    auto store = storage::testing::OpenStore(server.data_dir() + "/data");
    ASSERT_TRUE(store);
    EXPECT_EQ(storage::testing::CheckIndexes(*store, tenant, "Customers"), "");
  }
}

}  // namespace
}  // namespace cotenant::testing
