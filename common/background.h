// Guarded background work: a failure in a background thread (the audit writer, the
// usage flusher, the WAL syncer) is caught, logged and latched, never fatal to the
// process, and reported by /healthz and /metrics until the same work succeeds again.

#ifndef COTENANT_COMMON_BACKGROUND_H_
#define COTENANT_COMMON_BACKGROUND_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cotenant {

// Thread safety: every member may be called from any thread.
class BackgroundFaults {
 public:
  struct Fault {
    uint64_t failures = 0;  // since the process started
    std::string last;       // the latest failure's description
    bool failing = false;   // the latest run failed
  };

  // The process-wide instance the server reports.
  static BackgroundFaults& Process();

  // A run of `work` failed with `what`. True when this starts a streak of failures
  // (the previous run succeeded or there was none).
  bool Fail(std::string_view work, std::string_view what);
  // A run of `work` succeeded: it is no longer failing (its count stays).
  void Succeed(std::string_view work);

  // Every work that has failed at least once, by name.
  std::map<std::string, Fault> Snapshot() const;
  // "work: what; ..." for the works whose latest run failed; empty when none is failing.
  std::string Failing() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Fault, std::less<>> faults_;
};

// Runs `body` once on behalf of background work `work`. An exception or a non-OK
// Status is logged and latched in BackgroundFaults::Process(); success clears the
// latch. Never throws. Returns what the run came to.
Status RunGuarded(std::string_view work, const std::function<Status()>& body);

}  // namespace cotenant

#endif  // COTENANT_COMMON_BACKGROUND_H_
