// The event-loop thread of a Client: starting and stopping it, and the pump that runs the
// jobs other threads post (loop.h describes the threading).

#include "loop.h"

namespace cotenant {

namespace internal {

ParsedError fromKj(const kj::Exception& e) {
  ExceptionKind kind = ExceptionKind::Failed;
  switch (e.getType()) {
    case kj::Exception::Type::OVERLOADED: kind = ExceptionKind::Overloaded; break;
    case kj::Exception::Type::DISCONNECTED: kind = ExceptionKind::Disconnected; break;
    case kj::Exception::Type::UNIMPLEMENTED: kind = ExceptionKind::Unimplemented; break;
    default: break;
  }
  return classifyFailure(kind, std::string(e.getDescription().cStr()));
}

}  // namespace internal

void ClientCore::start() {
  std::promise<void> started;
  auto f = started.get_future();
  thread_ = std::thread([this, s = std::move(started)]() mutable { threadMain(std::move(s)); });
  f.wait();
}

void ClientCore::shutdown() {
  std::deque<std::unique_ptr<internal::LoopJob>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    stop_ = true;
    if (wake_) {
      wake_->fulfill();
      wake_ = nullptr;
    }
  }
  internal::ShutDownCallers(*callers);
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  dropped.swap(queue_);  // destroyed after the lock: their Pendings answer Unavailable
}

void ClientCore::threadMain(std::promise<void> started) {
  try {
    auto io = kj::setupAsyncIo();
    {
      LoopState state(io);
      state.owner = this;
      {
        std::lock_guard<std::mutex> lock(mu_);
        accepting_ = !stop_;
      }
      started.set_value();
      pump(state).wait(io.waitScope);
      // `state` is destroyed here, on this thread: pending calls are cancelled and their
      // callers get Unavailable.
    }
  } catch (...) {
    // setupAsyncIo failed, or the loop broke: refuse further work. `started` may already
    // be set; the second set throws, which we ignore.
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    try {
      started.set_value();
    } catch (...) {
    }
  }
}

// Runs queued jobs, then sleeps until post() or shutdown() wakes it. Waking always goes
// through the cross-thread fulfiller (never evalLater), so the loop polls network I/O
// between batches even when jobs arrive without pause.
kj::Promise<void> ClientCore::pump(LoopState& s) {
  std::deque<std::unique_ptr<internal::LoopJob>> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs.swap(queue_);
  }
  for (auto& job : jobs) {
    try {
      job->run(s);
    } catch (...) {
      // A job's own handlers catch everything; nothing may stop the loop.
    }
  }
  jobs.clear();  // runs Pending destructors of jobs that answered synchronously
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return kj::READY_NOW;
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  if (!queue_.empty()) {
    paf.fulfiller->fulfill();
  } else {
    wake_ = kj::mv(paf.fulfiller);
  }
  return paf.promise.then([this, &s]() { return pump(s); });
}

ContextHandle::~ContextHandle() {
  uint64_t id = id_;
  core_->forgetContext(id);
  core_->post([id](LoopState& s) { s.contexts.erase(id); });
}

}  // namespace cotenant
