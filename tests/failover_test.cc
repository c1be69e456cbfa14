// Failover with nothing lost: cotenantd on a two-node PostgreSQL 15 cluster run by
// Patroni (etcd as its store), the primary machine killed while a client writes.
//
// What the test sets up: one etcd (v3 API) on free loopback ports, two PostgreSQL nodes
// under Patroni with synchronous_mode and synchronous_mode_strict (a commit is
// acknowledged only once the synchronous standby has it) and use_pg_rewind, and two
// cotenantd front-ends whose --storage URI names both nodes with
// target_session_attrs=read-write.
//
// What it does: a client adds records in a loop, through each front-end in turn, and keeps
// every acknowledged one. The test
// SIGKILLs the primary's Patroni and its postmaster (with the postmaster's children: the
// machine dies), waits for Patroni to promote the standby, then restarts the killed node's
// Patroni. With synchronous_mode_strict and two nodes the new primary accepts no commit
// until it has a synchronous standby again: the killed node must come back (as a replica,
// rewound with pg_rewind when its WAL went past the new primary's) before writes resume.
//
// What it checks: every acknowledged write is there afterwards, with its value; every write
// that failed meanwhile failed with Unavailable or Busy; both front-ends (never restarted)
// take writes and reads again. The failover time (kill to the first acknowledged write after
// the promotion) is printed and recorded as a test property, never asserted on.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"
#include "tests/test_support.h"

namespace cotenant::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const char kPgBin[] = "/usr/lib/postgresql/15/bin";
const char kSchema[] = "failover";

bool Exists(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// True when `port`'s Patroni REST API answers `path` with 200 (GET /primary on the leader,
// GET /sync on the synchronous standby).
bool Answers200(int port, const std::string& path) {
  std::string r = HttpGet(port, path);
  return r.compare(0, 9, "HTTP/1.0 ") == 0 || r.compare(0, 9, "HTTP/1.1 ")  == 0
             ? r.compare(9, 3, "200") == 0
             : false;
}

template <typename F>
bool WaitFor(F done, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return done();
}

// One PostgreSQL node and the Patroni that runs it. PostgreSQL refuses to run as root, so
// Patroni (and the postmaster it starts) runs as the `postgres` user: setpriv changes the
// user and execs in place, so the pid the test holds is Patroni's own (runuser would
// fork and wait, and a SIGKILL to it would leave Patroni running).
struct Node {
  std::string name;
  std::string dir;  // the cluster directory, which the postgres user owns
  int pg_port = 0;
  int rest_port = 0;
  Process patroni;

  std::string config() const { return dir + "/" + name + ".yml"; }
  std::string data() const { return dir + "/" + name; }
  std::string log() const { return ReadFile(dir + "/" + name + ".log"); }

  bool Start() {
    return patroni.Start({"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres",
                          "--init-groups", "/usr/bin/env", "-C", dir, "HOME=" + dir,
                          "/usr/bin/patroni", config()},
                         dir + "/" + name + ".log");
  }

  // The postmaster's pid from its pid file; 0 when none.
  pid_t Postmaster() const {
    std::ifstream in(data() + "/postmaster.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }

  // The machine dies: Patroni first (it would restart PostgreSQL), then the postmaster and
  // every process it started.
  void Kill() {
    patroni.Kill();
    pid_t pm = Postmaster();
    if (pm > 0 && ::kill(pm, 0) == 0) {
      ::kill(pm, SIGKILL);
      RunCommand("pkill -KILL -P " + std::to_string(pm) + " >/dev/null 2>&1");
    }
  }
};

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* p : {"/usr/bin/etcd", "/usr/bin/patroni", "/usr/bin/setpriv"}) {
      if (!Exists(p)) GTEST_SKIP() << p << " is not installed";
    }
    if (!Exists(std::string(kPgBin) + "/postgres")) GTEST_SKIP() << "no PostgreSQL 15";
    if (::geteuid() != 0) GTEST_SKIP() << "runs as root (it starts PostgreSQL as postgres)";

    // The nodes' directory: under /tmp, reachable by the postgres user (a 0700 temporary
    // directory of root's is not).
    char tmpl[] = "/tmp/cotenant-ha.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    cluster_ = tmpl;
    ::chmod(cluster_.c_str(), 0755);
    ASSERT_EQ(RunCommand("chown postgres: " + cluster_), 0);

    // etcd, v3 API, data in the test's temporary directory.
    etcd_port_ = FreePort();
    int peer = FreePort();
    std::string client = "http://127.0.0.1:" + std::to_string(etcd_port_);
    std::string peers = "http://127.0.0.1:" + std::to_string(peer);
    ASSERT_TRUE(etcd_.Start({"/usr/bin/etcd", "--name", "ha0", "--data-dir", etcd_dir_.path() + "/etcd",
                             "--listen-client-urls", client, "--advertise-client-urls", client,
                             "--listen-peer-urls", peers, "--initial-advertise-peer-urls", peers,
                             "--initial-cluster", "ha0=" + peers, "--initial-cluster-state", "new"},
                            etcd_dir_.path() + "/etcd.log"));
    ASSERT_TRUE(WaitForPort(etcd_port_, seconds(30))) << ReadFile(etcd_dir_.path() + "/etcd.log");

    for (int i = 0; i < 2; ++i) {
      Node& n = nodes_[i];
      n.name = "node" + std::to_string(i + 1);
      n.dir = cluster_;
      n.pg_port = FreePort();
      n.rest_port = FreePort();
      WriteConfig(n);
      ASSERT_TRUE(n.Start());
    }
    // One leader and one synchronous standby.
    bool ready = WaitFor([&] { return Leader() >= 0 && SyncStandby() >= 0; }, seconds(120));
    ASSERT_TRUE(ready) << "no leader and synchronous standby:\n"
                       << nodes_[0].log() << "\n----\n" << nodes_[1].log();
  }

  void TearDown() override {
    for (Node& n : nodes_) n.Kill();
    etcd_.Kill();
    if (!cluster_.empty()) RunCommand("rm -rf " + cluster_);
  }

  ~FailoverTest() override {
    for (Node& n : nodes_) n.Kill();
  }

  void WriteConfig(const Node& n) {
    std::string hba =
        "    - local all all trust\n"
        "    - host all all 127.0.0.1/32 trust\n"
        "    - host replication all 127.0.0.1/32 trust\n";
    std::string yml =
        "scope: cotenant-failover\n"
        "name: " + n.name + "\n"
        "log:\n  level: INFO\n"
        "restapi:\n"
        "  listen: 127.0.0.1:" + std::to_string(n.rest_port) + "\n"
        "  connect_address: 127.0.0.1:" + std::to_string(n.rest_port) + "\n"
        "etcd3:\n"
        "  hosts: 127.0.0.1:" + std::to_string(etcd_port_) + "\n"
        "bootstrap:\n"
        "  dcs:\n"
        // Patroni requires loop_wait + 2 * retry_timeout <= ttl (2 + 2*4 <= 10 here).
        "    ttl: 10\n"
        "    loop_wait: 2\n"
        "    retry_timeout: 4\n"
        "    maximum_lag_on_failover: 1048576\n"
        "    synchronous_mode: true\n"
        "    synchronous_mode_strict: true\n"
        "    postgresql:\n"
        "      use_pg_rewind: true\n"
        "      use_slots: true\n"
        "      parameters:\n"
        "        wal_log_hints: 'on'\n"
        "        max_connections: 200\n"
        "        max_wal_senders: 10\n"
        "        max_replication_slots: 10\n"
        "  initdb:\n"
        "    - encoding: UTF8\n"
        "    - auth: trust\n"
        "  pg_hba:\n" + hba +
        "postgresql:\n"
        "  listen: 127.0.0.1:" + std::to_string(n.pg_port) + "\n"
        "  connect_address: 127.0.0.1:" + std::to_string(n.pg_port) + "\n"
        "  data_dir: " + n.data() + "\n"
        "  bin_dir: " + kPgBin + "\n"
        "  pgpass: " + n.dir + "/" + n.name + ".pgpass\n"
        "  remove_data_directory_on_rewind_failure: true\n"
        "  remove_data_directory_on_diverged_timelines: true\n"
        "  authentication:\n"
        "    superuser:\n      username: postgres\n"
        "    replication:\n      username: postgres\n"
        "    rewind:\n      username: postgres\n"
        "  parameters:\n"
        "    unix_socket_directories: " + n.dir + "\n"
        "  pg_hba:\n" + hba;
    WriteFile(n.config(), yml);
    ::chmod(n.config().c_str(), 0644);
  }

  int Leader() {
    for (int i = 0; i < 2; ++i) {
      if (Answers200(nodes_[i].rest_port, "/primary")) return i;
    }
    return -1;
  }
  int SyncStandby() {
    for (int i = 0; i < 2; ++i) {
      if (Answers200(nodes_[i].rest_port, "/sync")) return i;
    }
    return -1;
  }

  std::string StorageUri() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(nodes_[0].pg_port) +
           ",127.0.0.1:" + std::to_string(nodes_[1].pg_port) +
           "/postgres?target_session_attrs=read-write&connect_timeout=2"
           "&options=-csearch_path%3D" + kSchema;
  }

  TempDir etcd_dir_;
  std::string cluster_;
  int etcd_port_ = 0;
  Process etcd_;
  Node nodes_[2];
};

TEST_F(FailoverTest, NothingAcknowledgedIsLost) {
  int leader = Leader();
  ASSERT_GE(leader, 0);
  int standby = 1 - leader;
  std::string out;
  ASSERT_EQ(RunCommand(std::string(kPgBin) + "/psql -X -q -h 127.0.0.1 -p " +
                           std::to_string(nodes_[leader].pg_port) +
                           " -U postgres -d postgres -c 'CREATE SCHEMA " + kSchema + "' 2>&1",
                       &out),
            0)
      << out;

  Cotenantd server({"--storage", StorageUri()});
  ASSERT_TRUE(server.ok()) << server.log();
  // A second front-end of the same store, with the first one's cache secret.
  Cotenantd second({"--storage", StorageUri(), "--cache-secret-file",
                    server.data_dir() + "/data/cache.secret"});
  ASSERT_TRUE(second.ok()) << second.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "ha");
  ASSERT_NE(t.client, nullptr);
  std::unique_ptr<Client> through_second = Client::connect(second.address(), t.id, t.key);
  Client* front_ends[2] = {t.client.get(), through_second.get()};

  // The writer: every acknowledged add (id -> value), every failure's code.
  std::mutex mu;
  std::map<uint64_t, int64_t> acked;
  std::map<ErrorCode, int> failures;
  std::vector<std::string> wrong;  // failures with another code
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked_count{0};
  std::atomic<bool> killed{false};
  Clock::time_point kill_time;
  // Set once the standby is promoted: a write in flight at the kill may still be
  // acknowledged by the old primary (its standby had it), so the failover ends with the
  // first write acknowledged after the promotion.
  std::atomic<bool> promoted{false};
  std::atomic<int64_t> first_ack_after_kill_ms{-1};
  std::atomic<int64_t> acked_after_promotion[2] = {0, 0};  // per front-end
  std::thread writer([&] {
    for (int64_t v = 1; !stop.load(); ++v) {
      Parameters p;
      p.add("first_name", "v" + std::to_string(v)).add("age", v);
      const int fe = static_cast<int>(v % 2);
      Result r = front_ends[fe]->addRecord("Customers", p);
      std::lock_guard<std::mutex> l(mu);
      if (r.ok()) {
        acked[r.getId()] = v;
        ++acked_count;
        if (promoted.load()) ++acked_after_promotion[fe];
        if (promoted.load() && first_ack_after_kill_ms.load() < 0) {
          first_ack_after_kill_ms = std::chrono::duration_cast<milliseconds>(
                                        Clock::now() - kill_time).count();
        }
      } else {
        ++failures[r.getCode()];
        if (r.getCode() != ErrorCode::Unavailable && r.getCode() != ErrorCode::Busy) {
          wrong.push_back(std::string(errorCodeName(r.getCode())) + ": " + r.getMessage());
        }
        std::this_thread::sleep_for(milliseconds(50));
      }
    }
  });
  struct Join {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{writer, stop};

  ASSERT_TRUE(WaitFor([&] { return acked_count.load() >= 300; }, seconds(60)))
      << "the writer did not get going: " << server.log();

  // The primary's machine dies.
  {
    std::lock_guard<std::mutex> l(mu);
    kill_time = Clock::now();
    killed = true;
  }
  int64_t before_kill = acked_count.load();
  nodes_[leader].Kill();

  ASSERT_TRUE(WaitFor([&] { return Answers200(nodes_[standby].rest_port, "/primary"); },
                      seconds(90)))
      << "the standby was not promoted:\n" << nodes_[standby].log();
  auto promoted_ms =
      std::chrono::duration_cast<milliseconds>(Clock::now() - kill_time).count();
  promoted = true;

  // With synchronous_mode_strict the new primary commits nothing until it has a
  // synchronous standby again: bring the killed node back (it rejoins as a replica).
  ASSERT_TRUE(nodes_[leader].Start());
  ASSERT_TRUE(WaitFor([&] { return Answers200(nodes_[leader].rest_port, "/sync"); },
                      seconds(180)))
      << "the old primary did not rejoin as synchronous standby:\n" << nodes_[leader].log();
  auto rejoined_ms =
      std::chrono::duration_cast<milliseconds>(Clock::now() - kill_time).count();

  // Both front-ends recover by themselves: acknowledged writes again, 200 more, through
  // each of them.
  ASSERT_TRUE(WaitFor([&] { return first_ack_after_kill_ms.load() >= 0; }, seconds(120)))
      << "no write was acknowledged after the failover:\n" << server.log();
  int64_t resumed = acked_count.load();
  ASSERT_TRUE(WaitFor(
      [&] {
        return acked_count.load() >= resumed + 200 && acked_after_promotion[0].load() >= 100 &&
               acked_after_promotion[1].load() >= 100;
      },
      seconds(60)))
      << "front-end 1:\n" << server.log() << "\nfront-end 2:\n" << second.log();
  stop = true;
  writer.join();

  std::printf("failover: %lld writes acknowledged before the kill, %lld in all; standby "
              "promoted after %lld ms, old primary back as synchronous standby after %lld ms, "
              "first write acknowledged after the promotion at %lld ms after the kill\n",
              static_cast<long long>(before_kill), static_cast<long long>(acked_count.load()),
              static_cast<long long>(promoted_ms), static_cast<long long>(rejoined_ms),
              static_cast<long long>(first_ack_after_kill_ms.load()));
  for (const auto& [code, n] : failures) {
    std::printf("failover: %d writes failed with %s\n", n, errorCodeName(code));
  }
  RecordProperty("failover_ms", std::to_string(first_ack_after_kill_ms.load()));
  RecordProperty("promotion_ms", std::to_string(promoted_ms));
  RecordProperty("rejoin_ms", std::to_string(rejoined_ms));

  EXPECT_TRUE(wrong.empty()) << wrong.size() << " writes failed with a wrong answer, first: "
                             << wrong.front();

  // Every acknowledged write is there, with its value, through either front-end.
  size_t missing = 0;
  for (const auto& [id, v] : acked) {
    Result r = front_ends[id % 2]->getRecord("Customers", "age,first_name", id);
    if (!r.ok()) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged record " << id << " lost: " << r.getMessage();
      continue;
    }
    EXPECT_EQ(r.getRecords()[0].get("age").asInt(), v) << "record " << id;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged writes";
  // A search sees them all too (an add that failed with its outcome unknown may have
  // landed as well, so at least as many).
  std::vector<Record> all = AllRecords(*t.client, "Customers");
  EXPECT_GE(all.size(), acked.size());

  // And both still take writes and reads, without a restart; each reads the other's.
  Parameters p;
  p.add("first_name", "after").add("age", -1);
  Result added = front_ends[0]->addRecord("Customers", p);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  Result read = front_ends[1]->getRecord("Customers", "age", added.getId());
  ASSERT_TRUE(read.ok()) << read.getMessage();
  EXPECT_EQ(read.getRecords()[0].get("age").asInt(), -1);
  EXPECT_TRUE(server.ok());
  EXPECT_TRUE(second.ok());
}

}  // namespace
}  // namespace cotenant::testing
