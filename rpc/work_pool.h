// WorkPool: where blocking storage work runs, off the KJ event loop.
//
// A fixed boost::asio::thread_pool. Submit() is called on the event loop thread; the job
// runs on a pool thread and its result comes back to the loop through a KJ cross-thread
// fulfiller, so the loop never blocks and never touches a job's thread.
//
//   - The job must own everything it reads: copy out of capnp readers first.
//   - Every exception a job throws is caught on the pool thread and rejects the promise
//     (an escaping exception would terminate the process).
//   - A job whose caller has gone (promise cancelled: call cancelled, connection closed)
//     is skipped without running.
//   - At most `max_queued` jobs wait or run at once; beyond that Submit answers Busy
//     (OVERLOADED) at once instead of queueing without bound.
//
// Thread safety: Submit from the event loop thread; Join from the thread that owns the
// pool, once, after the loop stopped submitting.

#ifndef COTENANT_RPC_WORK_POOL_H_
#define COTENANT_RPC_WORK_POOL_H_

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <kj/async.h>

#include "rpc/errors.h"

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
  WorkPool(size_t threads, size_t max_queued) : pool_(threads), max_queued_(max_queued) {}
  ~WorkPool() { Join(); }

  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs fn() -> T on a pool thread; the promise resolves on the calling loop.
  template <typename T, typename Fn>
  kj::Promise<T> Submit(Fn&& fn) {
    if (closed_.load(std::memory_order_acquire)) {
      return kj::Promise<T>(ToException(Status::Busy("server is shutting down")));
    }
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= max_queued_) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      return kj::Promise<T>(ToException(Status::Busy(
          "server is overloaded: " + std::to_string(max_queued_) + " storage jobs queued")));
    }
    auto paf = kj::newPromiseAndCrossThreadFulfiller<T>();
    // shared_ptr so the handler is copyable; the fulfiller may be destroyed on any thread
    // (an unfulfilled one rejects its promise).
    auto fulfiller =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<T>>>(kj::mv(paf.fulfiller));
    // The edge ThreadSanitizer is told about (see above); a token of its own, so that
    // holding it on the loop never keeps the fulfiller alive. Empty in other builds.
    Handoff handoff = NewHandoff();
    boost::asio::post(pool_, [this, fulfiller, handoff, fn = std::forward<Fn>(fn)]() mutable {
      struct Dequeue {
        std::atomic<size_t>* q;
        ~Dequeue() { q->fetch_sub(1, std::memory_order_relaxed); }
      } dequeue{&queued_};
      const auto& f = **fulfiller;
      if (!f.isWaiting()) return;  // the caller has gone
      try {
        T value = fn();
        Release(handoff);
        f.fulfill(kj::mv(value));
      } catch (const kj::Exception& e) {
        Release(handoff);
        f.reject(kj::cp(e));
      } catch (const std::exception& e) {
        Release(handoff);
        f.reject(ToException(Status::Internal(std::string("unexpected exception: ") + e.what())));
      } catch (...) {
        Release(handoff);
        f.reject(ToException(Status::Internal("unexpected non-standard exception")));
      }
    });
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
  void Join() {
    closed_.store(true, std::memory_order_release);
    pool_.join();
  }

  size_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
#ifdef COTENANT_RPC_TSAN
  using Handoff = std::shared_ptr<char>;
  static Handoff NewHandoff() { return std::make_shared<char>(0); }
  static void Release(const Handoff& h) { __tsan_release(h.get()); }
#else
  struct Handoff {};
  static Handoff NewHandoff() { return {}; }
  static void Release(const Handoff&) {}
#endif

  boost::asio::thread_pool pool_;
  const size_t max_queued_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_WORK_POOL_H_
