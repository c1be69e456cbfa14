// rpc_bench: child processes (started, watched, killed also on a signal), free ports,
// /proc and /metrics readings.

#include "rpc_bench.h"

namespace rpc_bench {
namespace {

// Temporary data directories to remove if a signal ends the run (fixed buffers, so the
// handler needs no allocation).
std::array<std::array<char, 64>, 2> g_tmpdirs{};

}  // namespace

void RememberTmpdir(const std::string& dir, bool add) {
  for (auto& slot : g_tmpdirs) {
    if (add && slot[0] == '\0' && dir.size() < slot.size()) {
      std::memcpy(slot.data(), dir.c_str(), dir.size() + 1);
      return;
    }
    if (!add && dir == slot.data()) {
      slot[0] = '\0';
      return;
    }
  }
}

// ---- Child processes -----------------------------------------------------------------------

// Children to kill at exit. Plain pids, so the signal handler can read them.
std::array<std::atomic<pid_t>, 4> g_children{};

void ForgetChild(pid_t pid) {
  for (auto& c : g_children) {
    pid_t expected = pid;
    c.compare_exchange_strong(expected, 0);
  }
}

extern "C" void OnSignal(int sig) {
  for (auto& c : g_children) {
    pid_t pid = c.load();
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  for (auto& slot : g_tmpdirs) {
    if (slot[0] == '\0') continue;
    pid_t pid = fork();
    if (pid == 0) {
      char rm[] = "/bin/rm", rf[] = "-rf";
      char* args[] = {rm, rf, slot.data(), nullptr};
      execv(rm, args);
      _exit(127);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  _exit(128 + sig);
}

void WaitListening(Child& child, uint16_t port, double timeout) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  while (!CanConnect(port)) {
    if (!child.Alive()) {
      Fail(child.name() + " exited before listening on port " + std::to_string(port) +
           "; its log ends with:\n" + child.LogTail());
    }
    if (Clock::now() > deadline) Fail(child.name() + " does not listen on port " + std::to_string(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- /proc -----------------------------------------------------------------------------------

// utime + stime of a process (tid == 0) or one of its threads, in clock ticks.
uint64_t CpuTicks(pid_t pid, pid_t tid) {
  std::string path = tid == 0 ? "/proc/" + std::to_string(pid) + "/stat"
                              : "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat";
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  size_t close_paren = line.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(line.substr(close_paren + 2));
  // Fields after the command: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime(14) stime(15).
  std::string skip;
  for (int i = 3; i <= 13; ++i) rest >> skip;
  uint64_t utime = 0, stime = 0;
  rest >> utime >> stime;
  return utime + stime;
}

// Busy time of the whole machine (every process, every core), in clock ticks.
uint64_t MachineBusyTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return user + nice + system + irq + softirq + steal;
}

double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A kB field of /proc/<pid>/status (VmRSS, VmHWM), in MiB.
double StatusMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return static_cast<double>(std::strtoull(line.c_str() + field.size() + 1, nullptr, 10)) / 1024.0;
    }
  }
  return NAN;
}

// Waits until a server's background work (flushes, compactions) settles: at most one
// tick of CPU per 250 ms, for at most `timeout` seconds. Returns the seconds waited.
double WaitQuiet(pid_t pid, double timeout) {
  auto start = Clock::now();
  uint64_t last = CpuTicks(pid);
  while (Seconds(start, Clock::now()) < timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    uint64_t now = CpuTicks(pid);
    if (now - last <= 1) break;
    last = now;
  }
  return Seconds(start, Clock::now());
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// GET http://127.0.0.1:port/path with HTTP/1.0; the body, or empty on any failure.
std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// The value of an unlabelled Prometheus sample, or NaN.
double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return NAN;
}

}  // namespace rpc_bench
