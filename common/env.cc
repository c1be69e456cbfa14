#include "common/env.h"

#include <chrono>

namespace cotenant {
namespace {

class WallClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Clock* SystemClock() {
  static WallClock clock;
  return &clock;
}

}  // namespace cotenant
