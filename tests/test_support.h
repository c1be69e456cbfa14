// Shared test fixtures: temporary directories, free loopback ports, child processes
// (a real cotenantd, a real memcached) that are always stopped.
//
// Everything binds to 127.0.0.1 only. Child processes are killed in destructors, so a
// failing test never leaves a server behind.

#ifndef COTENANT_TESTS_TEST_SUPPORT_H_
#define COTENANT_TESTS_TEST_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace cotenant::testing {

// ---- The storage engine the suite runs on ----------------------------------------------
//
// A suite runs on the embedded engine, or on PostgreSQL when COTENANT_TEST_PG names the
// file holding the URI of a test PostgreSQL server (tests/pg_cluster.sh writes it; CTest
// runs each suite a second time so, under the "pg." prefix).

bool OnPostgresql();
// The --storage URI for the store whose local directory is `data_dir`: on PostgreSQL a
// schema of its own (created on first use, named after the directory, so a store reopened
// on the same directory finds its data); "" on the embedded engine.
std::string TestStorageUri(const std::string& data_dir);

// Skips the rest of a test that exercises the embedded engine itself (its files, backups,
// sorted-file ingestion), saying so, when the suite runs on PostgreSQL.
#define COTENANT_SKIP_ON_POSTGRESQL(why)                                   \
  do {                                                                     \
    if (::cotenant::testing::OnPostgresql()) {                             \
      GTEST_SKIP() << "runs on the embedded engine only: " << (why);       \
    }                                                                      \
  } while (0)

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreePort();

// A TCP connection to 127.0.0.1:port with send/receive timeouts; -1 when it failed. With
// `source` (any 127.x.y.z address is loopback), the local end is bound to that address
// first, so the server sees the connection come from another peer.
int ConnectLoopback(int port, int timeout_s, const char* source = nullptr);

// One raw HTTP/1.0 GET on loopback; the whole response, "" when it failed.
std::string HttpGet(int port, const std::string& path);

// The value of the Prometheus series named exactly `series` (name and labels, as
// "cotenant_connections" or "cotenant_calls_total{api=\"getRecord\"}") in `text`, or -1
// when absent.
double MetricValue(const std::string& text, const std::string& series);

// Runs a shell command; its exit code (-1 when it did not exit normally). Its stdout goes
// to *output when given (append " 2>&1" to the command for stderr too).
int RunCommand(const std::string& command, std::string* output = nullptr);

// Blocks until something accepts TCP connections on 127.0.0.1:port, or the timeout passes.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

// Makes, with the openssl command line, PEM files in `dir`: a CA (ca.pem/.key), an
// unrelated CA (otherca), a server certificate signed by ca for DNS:localhost and
// IP:127.0.0.1 (server.pem/.key), a client certificate signed by ca (client) and one signed
// by otherca (stranger). False when openssl failed.
bool MakeTlsCertificates(const std::string& dir);

// A child process started with execv. Output goes to `log_path` when given.
class Process {
 public:
  Process() = default;
  ~Process();  // SIGKILLs the child if still running
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  // Starts argv[0] (a path) with the arguments. Returns false when fork/exec failed.
  // max_open_files > 0 sets the child's RLIMIT_NOFILE before the exec.
  bool Start(const std::vector<std::string>& argv, const std::string& log_path = "",
             int max_open_files = 0);
  // Sends `sig` and waits up to `timeout` for the exit; SIGKILL after that.
  // Returns the exit status as waitpid gives it, or -1.
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL without any grace period (crash tests), then reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// How one run of a command-line tool ended.
struct ToolResult {
  int code = -1;    // exit code; -1 when it did not exit on its own
  std::string out;  // stdout (empty when it went to a descriptor the test reads)
  std::string err;  // stderr
};
std::ostream& operator<<(std::ostream& os, const ToolResult& r);

// A command-line tool run as a user runs it: started with execve (no shell) in `cwd`,
// stdin from `stdin_path` (or /dev/null), stdout to a file (or to `stdout_fd`), stderr to
// a file, and of the COTENANT_* environment variables only those in `env` (the test's own
// never leak in). Killed and reaped on destruction.
class ToolProcess {
 public:
  ToolProcess() = default;
  ~ToolProcess() { Kill(); }
  ToolProcess(const ToolProcess&) = delete;
  ToolProcess& operator=(const ToolProcess&) = delete;

  bool Start(const std::string& binary, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env, const std::string& cwd,
             const std::string& stdin_path = "", int stdout_fd = -1);
  // True once the process has exited (then *result holds how).
  bool Exited(ToolResult* result);
  // Waits for the exit; SIGKILLs after `timeout` (a test failure; code then -1).
  ToolResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGKILLs it; false (with *result filled) when it had already exited on its own.
  bool KillUnlessExited(ToolResult* result);
  void Kill();

 private:
  void Collect(int status, ToolResult* r) const;

  std::string binary_;
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// Runs a tool to its end (ToolProcess::Start, then Wait).
ToolResult RunTool(const std::string& binary, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& cwd,
                   const std::string& stdin_path = "");

// Path of a built program: the first directory of $COTENANT_BIN_DIR (a ':'-separated
// list; ctest sets it) that holds it, or that directory's sibling build directory of that
// name (DIR/../name/name); else ./name.
std::string BinaryPath(const std::string& name);

// Reads a whole file; empty when it does not exist.
std::string ReadFile(const std::string& path);

// A real memcached on 127.0.0.1:<free port>, started in the constructor.
class Memcached {
 public:
  Memcached();
  ~Memcached();
  bool ok() const { return ok_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Stop();
  bool Restart();

 private:
  bool StartOnPort();
  Process proc_;
  int port_ = 0;
  bool ok_ = false;
};

// A real cotenantd on 127.0.0.1:<free port> with its own data directory. The system
// admin's API key (written by the server on first start) is read into admin_key(). It runs
// four RPC event loops (--rpc-threads 4) unless the flags name another count.
class Cotenantd {
 public:
  // Starts the server; extra flags are appended (e.g. {"--max-page-rows", "50"}). The
  // data directory is DIR/data of a temporary DIR unless the flags name one (--data D).
  // max_open_files > 0 limits the server's file descriptors (RLIMIT_NOFILE).
  explicit Cotenantd(std::vector<std::string> extra_flags = {}, int max_open_files = 0);
  ~Cotenantd();
  bool ok() const { return ok_; }
  int port() const { return port_; }
  int http_port() const { return http_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& admin_key() const { return admin_key_; }
  const std::string& data_dir() const { return dir_.path(); }  // the data is in <dir>/data
  pid_t pid() const { return proc_.pid(); }
  std::string log() const { return ReadFile(dir_.path() + "/server.log"); }
  // SIGTERM and wait; returns the waitpid status.
  int Stop();
  // SIGKILL at once (crash tests).
  void Kill();
  // Starts again on the same data directory and ports.
  bool Restart();

 private:
  bool Launch();
  TempDir dir_;
  std::vector<std::string> extra_;
  int max_open_files_ = 0;
  Process proc_;
  int port_ = 0;
  int http_port_ = 0;
  bool ok_ = false;
  std::string admin_key_;
};

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_TEST_SUPPORT_H_
