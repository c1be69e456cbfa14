// rpc_bench: the optional Redis baseline (redis-benchmark against a private redis-server).

#include "rpc_bench.h"

namespace rpc_bench {

bool OnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// redis-benchmark against a private redis-server: GET and SET of a 200-byte value.
// `pipeline` > 1 keeps that many commands in flight on each connection.
RedisRow RedisBench(uint16_t port, int clients, int pipeline, uint64_t requests) {
  std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " -c " +
                    std::to_string(clients) + " -P " + std::to_string(pipeline) + " -n " +
                    std::to_string(requests) + " -d 200 -t set,get --csv 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Fail("cannot run redis-benchmark");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) Fail("redis-benchmark failed: " + out);
  RedisRow row;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    // "SET","81234.56",... (the first line is a header in Redis 7).
    if (line.size() < 6 || line[0] != '"') continue;
    size_t q1 = line.find('"', 1);
    std::string test = line.substr(1, q1 - 1);
    size_t q2 = line.find('"', q1 + 1);
    double rps = std::strtod(line.c_str() + q2 + 1, nullptr);
    if (test == "GET") row.get = rps;
    if (test == "SET") row.set = rps;
  }
  if (std::isnan(row.get) || std::isnan(row.set)) Fail("cannot read redis-benchmark output: " + out);
  return row;
}

}  // namespace rpc_bench
