// WorkPool: where blocking storage work runs, off the KJ event loop, shared fairly
// between tenants.
//
// A fixed set of worker threads. Submit() is called on the event loop thread with the
// tenant the job is charged to; the job runs on a worker and its result comes back to the
// loop through a KJ cross-thread fulfiller, so the loop never blocks and never touches a
// job's thread.
//
// Fairness: each tenant has its own FIFO queue; a free worker serves the tenants with
// waiting work in turn (round-robin, one job per turn), so one tenant's long backlog does
// not delay another tenant's next job by more than one job per busy tenant. A tenant runs
// at most `max_running_per_tenant` jobs at once (default: threads - 1, at least 1), so
// while one tenant keeps every queue full another still finds a thread free; its further
// jobs wait in its own queue.
//
//   - The job must own everything it reads: copy out of capnp readers first.
//   - Every exception a job throws is caught on the worker and rejects the promise
//     (an escaping exception would terminate the process).
//   - A job whose caller has gone (promise cancelled: call cancelled, connection closed)
//     is skipped without running.
//   - At most `max_queued` jobs wait or run at once, over all tenants; beyond that
//     Submit answers Busy (OVERLOADED) at once instead of queueing without bound.
//   - With a `max_jobs` quota, a tenant that already has that many jobs waiting or
//     running is answered ResourceExhausted at once.
//
// Thread safety: Submit from the event loop thread; stats() and queued() from any thread;
// Join from the thread that owns the pool, once the loop stopped submitting (it is
// idempotent, and the destructor calls it).

#ifndef COTENANT_RPC_WORK_POOL_H_
#define COTENANT_RPC_WORK_POOL_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <kj/async.h>

#include "rpc/errors.h"
#include "storage/storage.h"

// ThreadSanitizer cannot see the happens-before edge a KJ cross-thread fulfiller gives: it
// synchronizes with a futex and atomics inside libkj-async, which is not instrumented. The
// pool tells it about that edge itself (Submit), so what a job wrote is not reported as
// racing with the loop that reads the result.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COTENANT_RPC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(COTENANT_RPC_TSAN)
#define COTENANT_RPC_TSAN 1
#endif
#ifdef COTENANT_RPC_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace cotenant::rpc {

class WorkPool {
 public:
  struct Options {
    size_t threads = 4;
    size_t max_queued = 1024;           // jobs waiting or running, all tenants together
    size_t max_running_per_tenant = 0;  // 0 = threads - 1, at least 1
    // A tenant's quota of jobs waiting or running (0 = no limit). Called on the loop
    // thread at each Submit: it must be quick and must not block.
    std::function<uint32_t(storage::TenantId)> max_jobs;
  };

  // Upper bounds of the queue-wait histogram, in seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kWaitBuckets = {
      0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

  // A snapshot for /metrics.
  struct Stats {
    uint64_t queued = 0;           // jobs waiting or running
    uint64_t tenants_waiting = 0;  // tenants with at least one job not yet started
    double oldest_wait_seconds = 0;  // how long the oldest job not yet started has waited
    std::array<uint64_t, kWaitBuckets.size() + 1> wait_buckets{};  // not cumulative; last = +Inf
    uint64_t wait_count = 0;
    double wait_sum_seconds = 0;
    uint64_t quota_refused = 0;    // jobs refused by the max_jobs quota
  };

  explicit WorkPool(Options options);
  WorkPool(size_t threads, size_t max_queued) : WorkPool(Options{threads, max_queued, 0, {}}) {}
  ~WorkPool() { Join(); }

  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs fn() -> T on a worker, charged to `tenant`; the promise resolves on the calling
  // loop.
  template <typename T, typename Fn>
  kj::Promise<T> Submit(storage::TenantId tenant, Fn&& fn) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<T>();
    // The edge ThreadSanitizer is told about (see above); a token of its own, so that
    // holding it on the loop never keeps the job alive. Empty in other builds.
    Handoff handoff = NewHandoff();
    auto job = std::make_unique<TypedJob<T, std::decay_t<Fn>>>(kj::mv(paf.fulfiller),
                                                                std::forward<Fn>(fn), handoff);
    Status admitted = Enqueue(tenant, std::move(job));
    if (!admitted.ok()) return kj::Promise<T>(ToException(admitted));
#ifdef COTENANT_RPC_TSAN
    return paf.promise.then(
        [handoff](T&& value) -> T {
          __tsan_acquire(handoff.get());
          return kj::mv(value);
        },
        [handoff](kj::Exception&& e) -> T {
          __tsan_acquire(handoff.get());
          kj::throwFatalException(kj::mv(e));
        });
#else
    return kj::mv(paf.promise);
#endif
  }

  // Stops accepting jobs and waits for the queued ones to finish. Idempotent.
  void Join();

  size_t queued() const { return total_.load(std::memory_order_relaxed); }
  size_t max_running_per_tenant() const { return max_running_per_tenant_; }
  Stats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
#ifdef COTENANT_RPC_TSAN
  using Handoff = std::shared_ptr<char>;
  static Handoff NewHandoff() { return std::make_shared<char>(0); }
  static void Release(const Handoff& h) { __tsan_release(h.get()); }
#else
  struct Handoff {};
  static Handoff NewHandoff() { return {}; }
  static void Release(const Handoff&) {}
#endif

  // A job runs in two steps: Run() computes on the worker; the pool then stops counting
  // the job against its tenant (running, the max_jobs quota) and only then Deliver()
  // hands the result to the caller. So a caller that makes its next call as soon as it
  // has the answer always finds its previous job gone from the count.
  struct Job {
    virtual ~Job() noexcept(false) = default;  // kj::Own destructors may throw
    virtual void Run() = 0;      // skips the work if the caller has gone; never throws
    virtual void Deliver() = 0;  // fulfills or rejects the caller's promise; never throws
    Clock::time_point enqueued;
    Job* next = nullptr;  // in its tenant's queue (owned by the queue)
  };

  template <typename T, typename Fn>
  struct TypedJob final : Job {
    template <typename F>
    TypedJob(kj::Own<kj::CrossThreadPromiseFulfiller<T>> f, F&& work, Handoff h)
        : fulfiller(kj::mv(f)), fn(std::forward<F>(work)), handoff(std::move(h)) {}
    void Run() override {
      if (!fulfiller->isWaiting()) return;  // the caller has gone
      try {
        value.emplace(fn());
      } catch (const kj::Exception& e) {
        error.emplace(kj::cp(e));
      } catch (const std::exception& e) {
        error.emplace(ToException(Status::Internal(std::string("unexpected exception: ") + e.what())));
      } catch (...) {
        error.emplace(ToException(Status::Internal("unexpected non-standard exception")));
      }
    }
    // The fulfiller may be destroyed on any thread (an unfulfilled one rejects its promise).
    void Deliver() override {
      auto& f = *fulfiller;
      if (!f.isWaiting() || (!value && !error)) return;
      Release(handoff);
      if (value) {
        f.fulfill(kj::mv(*value));
      } else {
        f.reject(kj::mv(*error));
      }
    }
    kj::Own<kj::CrossThreadPromiseFulfiller<T>> fulfiller;
    Fn fn;
    Handoff handoff;
    std::optional<T> value;
    std::optional<kj::Exception> error;
  };

  // A tenant's FIFO, an intrusive list: queueing a job allocates nothing more.
  struct Tenant {
    Job* head = nullptr;  // owned; the oldest waiting job
    Job* tail = nullptr;
    uint32_t waiting = 0;
    uint32_t running = 0;
    bool in_ring = false;  // listed in ready_
  };

  // Admits the job into its tenant's queue, or says why not (Busy, ResourceExhausted).
  Status Enqueue(storage::TenantId tenant, std::unique_ptr<Job> job);
  void WorkerLoop();
  // REQUIRES: mu_ held. Lists the tenant in the ring when it has waiting work and room
  // to run more.
  void MaybeReady(storage::TenantId id, Tenant& t);

  const size_t max_queued_;
  const size_t max_running_per_tenant_;
  const std::function<uint32_t(storage::TenantId)> max_jobs_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a tenant entered ready_, or the pool closed
  std::unordered_map<storage::TenantId, Tenant> tenants_;  // only tenants with jobs
  std::deque<storage::TenantId> ready_;  // round-robin ring of tenants a worker may serve
  size_t waiting_ = 0;                   // jobs not yet started, all tenants
  bool closed_ = false;
  std::atomic<size_t> total_{0};         // jobs waiting or running (written under mu_)

  // Queue-wait histogram, written by workers under mu_, read by stats().
  std::array<uint64_t, kWaitBuckets.size() + 1> wait_buckets_{};
  uint64_t wait_count_ = 0;
  uint64_t wait_sum_nanos_ = 0;
  uint64_t quota_refused_ = 0;  // guarded by mu_

  std::mutex join_mu_;
  std::vector<std::thread> threads_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_WORK_POOL_H_
