// Shared by the revocation and memcached-failure suites (revocation_race_test.cc,
// cache_failure_test.cc): /metrics and memcached loopback helpers, the ABC -> XYZ data
// share, and the race harness (phase word, worker threads, grant/revoke rounds).

#ifndef COTENANT_TESTS_REVOCATION_SUPPORT_H_
#define COTENANT_TESTS_REVOCATION_SUPPORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {

using Clock = std::chrono::steady_clock;

// ---- Loopback helpers -------------------------------------------------------------------

struct CacheMetrics {
  double local_hit = -1, memcached_hit = -1, miss = -1, stale = -1, corrupt = -1, errors = -1;
  double mac = -1;  // entries refused because their MAC did not verify
};

std::ostream& operator<<(std::ostream& os, const CacheMetrics& m);

CacheMetrics ReadCacheMetrics(const Cotenantd& server);

// A minimal memcached text-protocol client, to look at and tamper with what the server
// cached.
class McConn {
 public:
  explicit McConn(int port) : fd_(ConnectLoopback(port, 5)) {}
  ~McConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  McConn(const McConn&) = delete;
  McConn& operator=(const McConn&) = delete;
  bool ok() const { return fd_ >= 0; }

  // Every key memcached holds (lru_crawler metadump), decoded. The dump's lines end in
  // "\n", its final "END" in "\r\n".
  std::vector<std::string> Keys() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (!Send("lru_crawler metadump all\r\n")) return {};
      std::string dump;
      bool busy = false;
      for (;;) {
        size_t nl;
        while ((nl = buf_.find('\n')) != std::string::npos) {
          std::string line = buf_.substr(0, nl);
          buf_.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line == "END") goto done;
          if (line.rfind("BUSY", 0) == 0 || line.rfind("ERROR", 0) == 0 ||
              line.rfind("CLIENT_ERROR", 0) == 0) {
            busy = true;
            goto done;
          }
          dump += line + "\n";
        }
        if (!Fill()) return {};
      }
    done:
      if (busy) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::vector<std::string> keys;
      size_t pos = 0;
      while (pos < dump.size()) {
        size_t end = dump.find('\n', pos);
        std::string line = dump.substr(pos, end - pos);
        pos = end + 1;
        if (line.rfind("key=", 0) != 0) continue;
        size_t sp = line.find(' ');
        keys.push_back(UrlDecode(line.substr(4, sp == std::string::npos ? sp : sp - 4)));
      }
      return keys;
    }
    return {};
  }

  std::optional<std::string> Get(const std::string& key) {
    if (!Send("get " + key + "\r\n")) return std::nullopt;
    std::string line;
    if (!ReadLine(&line) || line == "END" || line.rfind("VALUE ", 0) != 0) return std::nullopt;
    size_t last = line.rfind(' ');
    size_t n = std::strtoull(line.c_str() + last + 1, nullptr, 10);
    std::string value;
    if (!ReadN(n + 2, &value)) return std::nullopt;
    value.resize(n);
    if (!ReadLine(&line) || line != "END") return std::nullopt;
    return value;
  }

  bool Set(const std::string& key, const std::string& value) {
    if (!Send("set " + key + " 0 3600 " + std::to_string(value.size()) + "\r\n" + value + "\r\n")) {
      return false;
    }
    std::string line;
    return ReadLine(&line) && line == "STORED";
  }

 private:
  static std::string UrlDecode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }
  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char buf[8192];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }
  bool ReadLine(std::string* line) {
    size_t pos;
    while ((pos = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    *line = buf_.substr(0, pos);
    buf_.erase(0, pos + 2);
    return true;
  }
  bool ReadN(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    *out = buf_.substr(0, n);
    buf_.erase(0, n);
    return true;
  }

  int fd_;
  std::string buf_;
};

// FNV-1a 64, the checksum cached entries carried before they were authenticated: what
// someone who knows the entry format but not the secret can compute.
uint64_t Fnv1a64(std::string_view data);

// The keys of resolved contexts in memcached ("ctc:<store>:<caller tenant>:<user>:<target>").
std::vector<std::string> ContextKeys(int memcached_port);

// ---- A data share: ABC publishes to XYZ -------------------------------------------------

inline const Rights kReadOnly{true, false, false, false};
inline const Rights kAddOnly{false, true, false, false};  // the read right taken away

struct Share {
  TenantHandle abc;         // publisher
  TenantHandle xyz;         // designated tenant
  uint64_t alias = 0;       // the ABC user the policy names (role "xyz-read": read Customers)
  uint64_t record = 0;      // an ABC Customers record
  std::string first_name;   // its first_name
  uint64_t caller = 0;      // a plain XYZ user whose code calls into ABC
  std::string caller_key;
};

PolicyInfo PolicyFor(uint64_t designated, uint64_t user);

// ABC (user `alias` with role xyz-read, a record, policy to-xyz naming alias) and XYZ (a
// plain user `caller`). Access is granted when this returns.
Share MakeShare(const Cotenantd& server, Client& admin, const std::string& tag);

// The code of a call through a TenantContext: the constructor, then getRecord.
ErrorCode ContextCall(Client& c, uint64_t tenant, uint64_t record, const std::string& first_name,
                      std::string* why = nullptr);

// ---- The race harness ---------------------------------------------------------------------

// GRANTED(r) is published after the grant returned and REVOKING(r) before the revocation
// starts, so a call that saw GRANTED(r) before and after ran while access was granted.
enum PhaseState : uint64_t { kGranting = 0, kGranted = 1, kRevoking = 2, kRevoked = 3 };
constexpr uint64_t MakePhase(uint64_t round, PhaseState s) { return round << 2 | s; }
constexpr uint64_t RoundOf(uint64_t phase) { return phase >> 2; }
constexpr PhaseState StateOf(uint64_t phase) { return static_cast<PhaseState>(phase & 3); }

const char* StateName(PhaseState s);

// A worker's client: fixed, or (API-key revocation) replaced by the main thread each round.
struct ClientSlot {
  std::mutex mu;
  std::shared_ptr<Client> client;
  uint64_t round = 0;  // the grant that made it; 0 = valid in every granted window
};

struct Tally {
  std::atomic<uint64_t> calls{0}, succeeded{0}, ctor_calls{0}, revoked_window{0},
      granted_window{0}, violations{0}, stale_denials{0}, bad_data{0}, busy{0};
  std::atomic<uint64_t> call_micros{0};  // summed duration of the calls, for the pauses
  std::mutex mu;
  std::vector<std::string> samples;  // the first problems, for the failure message
  void Note(const std::string& s) {
    std::lock_guard<std::mutex> l(mu);
    if (samples.size() < 10) samples.push_back(s);
  }
  std::string Samples() {
    std::lock_guard<std::mutex> l(mu);
    std::string out;
    for (const auto& s : samples) out += "\n  " + s;
    return out;
  }
};

struct Target {
  uint64_t tenant = 0;
  uint64_t record = 0;
  std::string first_name;
  // Whether the revocation also refuses the TenantContext itself. A policy whose user
  // lost a right or its role membership still admits the tenant (docs/SHARING.md; the
  // rights then refuse every call), so there only the calls are checked.
  bool ctor_sees_revocation = true;
};

// Calls getRecord through a TenantContext of `t` until `stop` (bounded by `max_calls` and
// `deadline`), classifying each answer against the phase read before and after it.
void Worker(int id, const std::atomic<uint64_t>& phase, const std::atomic<bool>& stop,
            ClientSlot& slot, const Target& t, Tally& tally, uint64_t max_calls,
            Clock::time_point deadline);

// Returns "" on success, else what failed.
using Step = std::function<std::string(uint64_t round)>;

struct RaceResult {
  uint64_t rounds = 0;
  double seconds = 0;
  double grant_seconds = 0;   // in the grant steps
  double revoke_seconds = 0;  // in the revoking calls
};

// Runs `rounds` grant/revoke rounds against one worker thread per slot. Access must be
// revoked when this is called. Stops after max_seconds whatever the rounds done (a safety
// net for an overloaded machine; the result says how many rounds ran).
RaceResult RunRace(const std::string& kind, uint64_t rounds, std::vector<ClientSlot>& slots,
                   const Target& target, const Step& grant, const Step& revoke, Tally& tally,
                   int max_seconds = 60);

// What a failed SDK call said ("" when it succeeded), for a race step's answer.
inline std::string Err(const Result& r) { return r.ok() ? "" : r.getMessage() + " "; }
template <typename T>
std::string Err(const Outcome<T>& o) {
  return o.ok() ? "" : o.getMessage() + " ";
}

// One client per worker at `address`, logged in as the share's XYZ caller.
std::vector<ClientSlot> CallerSlots(const std::string& address, const Share& s, int workers);

// The grant and the revocation of one kind of revocation race on a share (the revocation
// takes away what the grant gives back), made through the share's tenant clients.
struct RaceSteps {
  Step grant, revoke;
};
RaceSteps PolicyDeletedSteps(const Share& s);      // the policy deleted, created again
RaceSteps RoleLosesReadSteps(const Share& s);      // the role's read right taken, given
RaceSteps MembershipRemovedSteps(const Share& s);  // the policy user's membership removed
// The caller's API key revoked; the grant makes a fresh key and logs every slot in with
// it at `address`. REQUIRES: *slots outlives the steps.
RaceSteps CallerKeyRevokedSteps(const Share& s, std::vector<ClientSlot>* slots,
                                const std::string& address);

// The checks every race makes of its tally: no success inside a revoked window, no denial
// inside a granted one, no wrong data, calls really inside both kinds of window, and some
// successes.
void ExpectExactRace(const RaceResult& res, Tally& t);

// Logs every slot's client in to `address` with a fresh key, for the grant of `round`
// (an API-key revocation race); "" on success, else what failed.
std::string LoginSlots(std::vector<ClientSlot>& slots, const std::string& address,
                       uint64_t tenant, const std::string& api_key, uint64_t round);

// Rounds per kind of revocation (COTENANT_REVOCATION_ROUNDS overrides, for soak runs).
uint64_t Rounds(uint64_t fixed);

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_REVOCATION_SUPPORT_H_
