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
    boost::asio::post(pool_, [this, fulfiller, fn = std::forward<Fn>(fn)]() mutable {
      struct Dequeue {
        std::atomic<size_t>* q;
        ~Dequeue() { q->fetch_sub(1, std::memory_order_relaxed); }
      } dequeue{&queued_};
      const auto& f = **fulfiller;
      if (!f.isWaiting()) return;  // the caller has gone
      try {
        f.fulfill(fn());
      } catch (const kj::Exception& e) {
        f.reject(kj::cp(e));
      } catch (const std::exception& e) {
        f.reject(ToException(Status::Internal(std::string("unexpected exception: ") + e.what())));
      } catch (...) {
        f.reject(ToException(Status::Internal("unexpected non-standard exception")));
      }
    });
    return kj::mv(paf.promise);
  }

  // Stops accepting jobs and waits for the queued ones to finish. Idempotent.
  void Join() {
    closed_.store(true, std::memory_order_release);
    pool_.join();
  }

  size_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  boost::asio::thread_pool pool_;
  const size_t max_queued_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_WORK_POOL_H_
