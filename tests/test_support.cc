#include "tests/test_support.h"

#include <libpq-fe.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace cotenant::testing {

// ---- Storage engine -------------------------------------------------------------------

namespace {

std::string TestPgBaseUri() {
  const char* file = std::getenv("COTENANT_TEST_PG");
  if (file == nullptr || *file == '\0') return "";
  std::ifstream in(file);
  std::string uri;
  std::getline(in, uri);
  if (uri.empty()) {
    ADD_FAILURE() << "COTENANT_TEST_PG names " << file << ", which holds no PostgreSQL URI";
  }
  return uri;
}

}  // namespace

bool OnPostgresql() { return !TestPgBaseUri().empty(); }

std::string TestStorageUri(const std::string& data_dir) {
  std::string base = TestPgBaseUri();
  if (base.empty()) return "";
  char schema[40];
  std::snprintf(schema, sizeof schema, "t_%016zx",
                std::hash<std::string>()(std::filesystem::absolute(data_dir).lexically_normal()));
  PGconn* c = PQconnectdb(base.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << "test PostgreSQL at " << base << ": " << PQerrorMessage(c);
  } else {
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "already exists"
    PGresult* r = PQexec(c, (std::string("CREATE SCHEMA IF NOT EXISTS ") + schema).c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      ADD_FAILURE() << "creating schema " << schema << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(c);
  // The application name tells this store's connections from other tests' (a test that
  // ends connections ends only its own).
  return base + "?options=-csearch_path%3D" + schema + "&application_name=" + schema;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cotenant-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  ::close(fd);
  return port;
}

int ConnectLoopback(int port, int timeout_s, const char* source) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (source != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ConnectLoopback(port, 5);
  if (fd < 0) return "";
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

bool MakeTlsCertificates(const std::string& dir) {
  const std::string script =
      "set -e\n"
      "cd \"$1\"\n"
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n"
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
      "ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout $1.key -out $1.pem -days 2 "
      "-subj /CN=$1 2>/dev/null; }\n"
      "leaf() { openssl req -newkey rsa:2048 -nodes -keyout $1.key -out $1.csr -subj /CN=$1 "
      "2>/dev/null && openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial "
      "-out $1.pem -days 2 -extfile $3 2>/dev/null; }\n"
      "ca ca; ca otherca; leaf server ca server.ext; leaf client ca client.ext\n"
      "leaf stranger otherca client.ext\n";
  const std::string path = dir + "/make-certificates.sh";
  {
    std::ofstream out(path);
    out << script;
    if (!out) return false;
  }
  return std::system(("bash '" + path + "' '" + dir + "'").c_str()) == 0;
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Process::~Process() { Kill(); }

Process::Process(Process&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

bool Process::Start(const std::vector<std::string>& argv, const std::string& log_path,
                    int max_open_files) {
  if (argv.empty()) return false;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (!log_path.empty()) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (max_open_files > 0) {
      rlimit limit{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

int Process::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Said aloud: a child killed here cannot report at exit (a sanitized build's leak check
  // and shutdown reports run then), and a hung shutdown is a finding of its own.
  std::fprintf(stderr, "test_support: pid %d did not exit within %lld ms of signal %d; killed\n",
               static_cast<int>(pid_), static_cast<long long>(timeout.count()), sig);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (output != nullptr) *output = std::move(out);
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string BinaryPath(const std::string& name) {
  const char* env = std::getenv("COTENANT_BIN_DIR");
  if (env == nullptr || *env == '\0') return "./" + name;
  std::string dirs = env;
  std::string first;
  for (size_t at = 0; at <= dirs.size();) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(at, end - at);
    at = end + 1;
    if (dir.empty()) continue;
    // The program itself there, or in the build tree's sibling directory of that name
    // (tools/cotenantd/../cotenant/cotenant).
    for (const std::string& path : {dir + "/" + name, dir + "/../" + name + "/" + name}) {
      if (::access(path.c_str(), X_OK) == 0) return path;
    }
    if (first.empty()) first = dir + "/" + name;
  }
  return first.empty() ? "./" + name : first;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Memcached::Memcached() { ok_ = StartOnPort(); }

Memcached::~Memcached() { Stop(); }

bool Memcached::StartOnPort() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreePort();
    std::string bin = "/usr/bin/memcached";
    if (!proc_.Start({bin, "-l", "127.0.0.1", "-p", std::to_string(port_), "-U", "0", "-u",
                      "memcache", "-m", "64"})) {
      continue;
    }
    if (WaitForPort(port_, std::chrono::seconds(5))) return true;
    proc_.Kill();
  }
  return false;
}

void Memcached::Stop() { proc_.Stop(SIGTERM, std::chrono::seconds(5)); }

bool Memcached::Restart() {
  Stop();
  // Same port, so a server configured with it sees memcached come back.
  if (!proc_.Start({"/usr/bin/memcached", "-l", "127.0.0.1", "-p", std::to_string(port_), "-U",
                    "0", "-u", "memcache", "-m", "64"})) {
    return false;
  }
  ok_ = WaitForPort(port_, std::chrono::seconds(5));
  return ok_;
}

Cotenantd::Cotenantd(std::vector<std::string> extra_flags, int max_open_files)
    : extra_(std::move(extra_flags)), max_open_files_(max_open_files) {
  ok_ = Launch();
}

Cotenantd::~Cotenantd() { proc_.Stop(SIGTERM, std::chrono::seconds(20)); }

bool Cotenantd::Launch() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) {
      port_ = FreePort();
      http_port_ = FreePort();
    }
    // A test may put the data directory elsewhere (--data DIR among its flags).
    std::string data = dir_.path() + "/data";
    auto flag = std::find(extra_.begin(), extra_.end(), "--data");
    if (flag != extra_.end() && flag + 1 != extra_.end()) data = *(flag + 1);
    std::vector<std::string> argv = {BinaryPath("cotenantd"),
                                     "--data", data,
                                     "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--http", "127.0.0.1:" + std::to_string(http_port_)};
    // Four RPC event loops unless the test says otherwise: every end-to-end suite then
    // has its connections served on several loops, whatever the machine's core count.
    if (std::find(extra_.begin(), extra_.end(), "--rpc-threads") == extra_.end()) {
      argv.insert(argv.end(), {"--rpc-threads", "4"});
    }
    std::string storage = TestStorageUri(data);
    if (!storage.empty() && std::find(extra_.begin(), extra_.end(), "--storage") == extra_.end()) {
      argv.insert(argv.end(), {"--storage", storage});
    }
    for (size_t i = 0; i < extra_.size(); ++i) {
      if (extra_[i] == "--data" && i + 1 < extra_.size()) {
        ++i;
        continue;
      }
      argv.push_back(extra_[i]);
    }
    if (!proc_.Start(argv, dir_.path() + "/server.log", max_open_files_)) return false;
    if (WaitForPort(port_, std::chrono::seconds(20))) {
      admin_key_ = ReadFile(data + "/admin.key");
      while (!admin_key_.empty() && (admin_key_.back() == '\n' || admin_key_.back() == '\r')) {
        admin_key_.pop_back();
      }
      return true;
    }
    proc_.Kill();
  }
  return false;
}

int Cotenantd::Stop() { return proc_.Stop(SIGTERM, std::chrono::seconds(20)); }

void Cotenantd::Kill() { proc_.Kill(); }

bool Cotenantd::Restart() {
  proc_.Stop(SIGTERM, std::chrono::seconds(20));
  ok_ = Launch();
  return ok_;
}

// ---- ToolProcess ----------------------------------------------------------------------

std::ostream& operator<<(std::ostream& os, const ToolResult& r) {
  return os << "exit " << r.code << "\nstdout: " << r.out.substr(0, 4000) << "\nstderr: " << r.err;
}

bool ToolProcess::Start(const std::string& binary, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, const std::string& cwd,
                        const std::string& stdin_path, int stdout_fd) {
  static std::atomic<int> counter{0};
  int n = ++counter;
  binary_ = binary;
  out_path_ = cwd + "/.run" + std::to_string(n) + ".out";
  err_path_ = cwd + "/.run" + std::to_string(n) + ".err";
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("COTENANT_", 0) != 0) envs.emplace_back(*e);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  std::string in = stdin_path.empty() ? "/dev/null" : stdin_path;
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    int i = ::open(in.c_str(), O_RDONLY);
    int o = stdout_fd >= 0 ? stdout_fd : ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (i < 0 || o < 0 || e < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(i, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

bool ToolProcess::Exited(ToolResult* result) {
  if (pid_ <= 0) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  Collect(status, result);
  return true;
}

ToolResult ToolProcess::Wait(std::chrono::milliseconds timeout) {
  ToolResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Exited(&r)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << binary_ << " did not exit within " << timeout.count() << " ms";
      Kill();
      r.code = -1;
      r.out = ReadFile(out_path_);
      r.err = ReadFile(err_path_);
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return r;
}

bool ToolProcess::KillUnlessExited(ToolResult* result) {
  if (pid_ <= 0) return false;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return true;
  Collect(status, result);
  return false;
}

void ToolProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ToolProcess::Collect(int status, ToolResult* r) const {
  r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r->out = ReadFile(out_path_);
  r->err = ReadFile(err_path_);
}

ToolResult RunTool(const std::string& binary, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& cwd,
                   const std::string& stdin_path) {
  ToolProcess p;
  if (!p.Start(binary, args, env, cwd, stdin_path)) {
    ADD_FAILURE() << "cannot start " << binary;
    return ToolResult{};
  }
  return p.Wait();
}

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

}  // namespace cotenant::testing
