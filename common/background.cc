#include "common/background.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace cotenant {

BackgroundFaults& BackgroundFaults::Process() {
  static BackgroundFaults* faults = new BackgroundFaults();  // never destroyed: threads may outlive main
  return *faults;
}

bool BackgroundFaults::Fail(std::string_view work, std::string_view what) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = faults_.find(work);
  if (it == faults_.end()) it = faults_.emplace(std::string(work), Fault{}).first;
  bool starts = !it->second.failing;
  ++it->second.failures;
  it->second.last = std::string(what);
  it->second.failing = true;
  return starts;
}

void BackgroundFaults::Succeed(std::string_view work) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = faults_.find(work);
  if (it != faults_.end()) it->second.failing = false;
}

std::map<std::string, BackgroundFaults::Fault> BackgroundFaults::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return {faults_.begin(), faults_.end()};
}

std::string BackgroundFaults::Failing() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [work, f] : faults_) {
    if (!f.failing) continue;
    if (!out.empty()) out += "; ";
    out += work + ": " + f.last;
  }
  return out;
}

Status RunGuarded(std::string_view work, const std::function<Status()>& body) {
  Status s;
  try {
    s = body();
  } catch (const std::exception& e) {
    s = Status::Internal(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    s = Status::Internal("unexpected exception of unknown type");
  }
  BackgroundFaults& faults = BackgroundFaults::Process();
  if (s.ok()) {
    faults.Succeed(work);
    return s;
  }
  // Logged on the first failure of a streak only: a failing flusher retries every tick.
  if (faults.Fail(work, s.ToString())) spdlog::error("{} failed (retrying; see /healthz): {}", work, s.ToString());
  return s;
}

}  // namespace cotenant
