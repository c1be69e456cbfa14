// The environment Cotenant's rules read time from, injectable so tests control it.
//
// Policy expiry, cached-context expiry and the timestamps of policies, keys, users and
// audit entries all come from a Clock. The server uses SystemClock(); a test passes a
// FakeClock and advances it instead of sleeping until a policy expires.
//
// Thread safety: NowMicros may be called from any thread, concurrently with Advance/Set.

#ifndef COTENANT_COMMON_ENV_H_
#define COTENANT_COMMON_ENV_H_

#include <atomic>
#include <cstdint>

namespace cotenant {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the epoch.
  virtual int64_t NowMicros() const = 0;
};

// The wall clock. Never null; lives for the whole process.
Clock* SystemClock();

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_micros) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(std::memory_order_acquire); }
  void Advance(int64_t micros) { now_.fetch_add(micros, std::memory_order_acq_rel); }
  void Set(int64_t micros) { now_.store(micros, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace cotenant

#endif  // COTENANT_COMMON_ENV_H_
