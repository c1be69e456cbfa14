// AcceptBackoff: how an accept loop waits after a failed accept (out of file descriptors,
// out of memory) and how often it says so. Internal to rpc/.
//
// The delay starts at 10 ms and doubles up to 1 s; a successful accept resets it. A log
// line is due on the first failure of a streak and then at most once a second, carrying
// the number of failures since the previous line, so a loop that keeps failing neither
// spins nor floods the log.
//
// Thread safety: none; each accept loop owns one.

#ifndef COTENANT_RPC_ACCEPT_BACKOFF_H_
#define COTENANT_RPC_ACCEPT_BACKOFF_H_

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace cotenant::rpc {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirstDelay{10};
  static constexpr std::chrono::milliseconds kMaxDelay{1000};
  static constexpr std::chrono::milliseconds kLogEvery{1000};

  // Records a failed accept. Returns how long to wait before the next attempt; sets
  // *log_failures to the failures to report now, or to 0 when no line is due.
  std::chrono::milliseconds Failed(uint64_t* log_failures) {
    auto now = std::chrono::steady_clock::now();
    ++unreported_;
    ++streak_;
    if (streak_ == 1 || now - last_log_ >= kLogEvery) {
      *log_failures = unreported_;
      unreported_ = 0;
      last_log_ = now;
    } else {
      *log_failures = 0;
    }
    std::chrono::milliseconds delay = delay_;
    delay_ = std::min(delay_ * 2, kMaxDelay);
    return delay;
  }

  // Records a successful accept. Returns the length of the streak it ended (0: none).
  uint64_t Succeeded() {
    uint64_t streak = streak_;
    streak_ = 0;
    unreported_ = 0;
    delay_ = kFirstDelay;
    return streak;
  }

 private:
  std::chrono::milliseconds delay_ = kFirstDelay;
  uint64_t streak_ = 0;
  uint64_t unreported_ = 0;
  std::chrono::steady_clock::time_point last_log_{};
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_ACCEPT_BACKOFF_H_
