// What the benchmarks on the PostgreSQL engine share (pg_bench, frontends_bench): a
// throw-away PostgreSQL server started by tests/pg_cluster.sh, the CPU used by processes
// read from /proc (one process, one cluster's server processes, this process), and the
// benchmark tenant made through a cotenantd.
//
// Header only: each benchmark is one executable linking cotenant::sdk and
// cotenant_test_support.

#ifndef COTENANT_BENCH_PG_SUPPORT_H_
#define COTENANT_BENCH_PG_SUPPORT_H_

#include <cotenant/client.h>

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace cotenant::bench {

// CPU seconds (user + system) a process has used, from /proc/PID/stat; 0 when it is gone.
// *ppid, when given, receives its parent's pid.
inline double ProcessCpu(pid_t pid, pid_t* ppid = nullptr) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command may hold spaces
  if (p == nullptr) return 0;
  int parent = 0;
  unsigned long utime = 0, stime = 0;
  // Fields after the command: state, ppid, then 9 more, then utime (14th) and stime (15th).
  if (std::sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &parent, &utime,
                  &stime) != 3) {
    return 0;
  }
  if (ppid != nullptr) *ppid = parent;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of one PostgreSQL cluster: its postmaster and the processes it forked (the
// backends of the connections, the background workers). Other clusters on the machine
// (another suite's, another build's) are not counted. A backend that exits takes its CPU
// with it: measure over connections that stay open.
inline double ClusterCpu(pid_t postmaster) {
  double total = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name), ppid = 0;
    double cpu = ProcessCpu(pid, &ppid);
    if (pid == postmaster || ppid == postmaster) total += cpu;
  }
  return total;
}

// CPU seconds of this process (every thread).
inline double SelfCpu() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The machine's 1-minute load average, from /proc/loadavg (-1 when unreadable).
inline double LoadAverage() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// A throw-away PostgreSQL 15 server (tests/pg_cluster.sh: loopback, trust, fsync off).
// Start() also points the test support's stores at it (COTENANT_TEST_PG), so a
// testing::Cotenantd started afterwards gets a fresh schema of it. Stopped and deleted by
// Stop() or the destructor. Not thread-safe.
class PgCluster {
 public:
  PgCluster() = default;
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  ~PgCluster() { Stop(); }

  // Starts the server in DIR (created; the script's files). The script is
  // $COTENANT_SOURCE_DIR/tests/pg_cluster.sh, else ../../tests/pg_cluster.sh (the bench
  // binary's directory in a build tree of the source tree). False, with *error, on failure.
  bool Start(const std::string& dir, std::string* error) {
    const char* src = std::getenv("COTENANT_SOURCE_DIR");
    const std::string script = std::string(src != nullptr ? src : "../..") + "/tests/pg_cluster.sh";
    if (testing::RunCommand("bash " + script + " start " + dir) != 0) {
      *error = "PostgreSQL did not start (" + script + ")";
      return false;
    }
    stop_ = "bash " + script + " stop " + dir;
    setenv("COTENANT_TEST_PG", (dir + "/uri").c_str(), 1);
    std::string cluster = testing::ReadFile(dir + "/cluster");
    while (!cluster.empty() && cluster.back() == '\n') cluster.pop_back();
    postmaster_ = std::atoi(testing::ReadFile(cluster + "/data/postmaster.pid").c_str());
    return true;
  }

  void Stop() {
    if (!stop_.empty()) (void)testing::RunCommand(stop_);
    stop_.clear();
  }

  // The server's postmaster (0 when not started or unknown): ClusterCpu(postmaster()).
  pid_t postmaster() const { return postmaster_; }

 private:
  std::string stop_;
  pid_t postmaster_ = 0;
};

// The benchmark's tenant, made through a cotenantd: a tenant "bench" with a tenant-admin
// user "app" in a role with every right, an object "Customers" (one required text field
// "name", not indexed) and `records` records of a 100-byte name.
struct BenchTenant {
  uint64_t id = 0;
  std::string api_key;
  std::unique_ptr<Client> client;  // logged in as "app", on the cotenantd that made it
  std::vector<RecordId> ids;
};

// Makes the tenant on the cotenantd at `address` (admin_key: its installation admin's).
// False, with *error, when a call fails.
inline bool MakeBenchTenant(const std::string& address, const std::string& admin_key,
                            size_t records, BenchTenant* t, std::string* error) {
  auto admin = Client::connect(address, 1, admin_key);
  auto tenant = admin->createTenant("bench", TenantKind::Tenant);
  if (!tenant.ok()) return *error = "createTenant: " + tenant.getMessage(), false;
  auto user = admin->createUser(tenant.value().id, "app", AdminLevel::TenantAdmin);
  if (!user.ok()) return *error = "createUser: " + user.getMessage(), false;
  t->id = tenant.value().id;
  t->api_key = user.value().apiKey;
  t->client = Client::connect(address, t->id, t->api_key);
  auto role = t->client->createRole(0, "all", {{"*", Rights::all()}});
  if (!role.ok()) return *error = "createRole: " + role.getMessage(), false;
  auto member = t->client->addRoleMember(0, "all", t->id, user.value().user.id);
  if (!member.ok()) return *error = "addRoleMember: " + member.getMessage(), false;
  auto object = t->client->createObject(0, "Customers", {{"name", FieldType::Text, true, false}});
  if (!object.ok()) return *error = "createObject: " + object.getMessage(), false;
  std::vector<Parameters> batch(500, Parameters().add("name", std::string(100, 'x')));
  while (t->ids.size() < records) {
    auto r = t->client->addRecords("Customers", batch);
    if (!r.ok()) return *error = "addRecords: " + r.getMessage(), false;
    for (auto id : r.ids()) t->ids.push_back(id);
  }
  return true;
}

}  // namespace cotenant::bench

#endif  // COTENANT_BENCH_PG_SUPPORT_H_
