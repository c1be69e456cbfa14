#include "rpc/work_pool.h"

#include <algorithm>

namespace cotenant::rpc {

namespace {

size_t RunningCap(const WorkPool::Options& o) {
  if (o.max_running_per_tenant > 0) return o.max_running_per_tenant;
  return o.threads > 1 ? o.threads - 1 : 1;
}

}  // namespace

WorkPool::WorkPool(Options options)
    : max_queued_(options.max_queued),
      max_running_per_tenant_(RunningCap(options)),
      max_jobs_(std::move(options.max_jobs)) {
  const size_t n = std::max<size_t>(options.threads, 1);
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

Status WorkPool::Enqueue(storage::TenantId tenant, std::unique_ptr<Job> job) {
  // The quota hook runs outside the lock: it reads the caller's own state.
  const uint32_t quota = max_jobs_ ? max_jobs_(tenant) : 0;
  job->enqueued = Clock::now();
  bool dispatchable = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Busy("server is shutting down");
    const size_t total = total_.load(std::memory_order_relaxed);
    if (total >= max_queued_) {
      return Status::Busy("server is overloaded: " + std::to_string(max_queued_) +
                          " storage jobs queued");
    }
    auto it = tenants_.find(tenant);
    if (quota > 0) {
      const size_t in_progress =
          it == tenants_.end() ? 0 : size_t{it->second.waiting} + it->second.running;
      if (in_progress >= quota) {
        ++quota_refused_;
        return Status::ResourceExhausted(
            "tenant " + std::to_string(tenant) + " has " + std::to_string(in_progress) +
            " storage jobs in progress; its quota of concurrent storage work is " +
            std::to_string(quota));
      }
    }
    if (it == tenants_.end()) it = tenants_.try_emplace(tenant).first;
    Tenant& t = it->second;
    Job* j = job.release();
    (t.tail ? t.tail->next : t.head) = j;
    t.tail = j;
    ++t.waiting;
    ++waiting_;
    total_.store(total + 1, std::memory_order_relaxed);
    MaybeReady(tenant, t);
    dispatchable = t.in_ring;
  }
  // One wake-up per job a worker may start now: a tenant already in the ring with one
  // job would otherwise keep its second one waiting for the first worker.
  if (dispatchable) work_cv_.notify_one();
  return Status::OK();
}

void WorkPool::MaybeReady(storage::TenantId id, Tenant& t) {
  if (!t.in_ring && t.waiting > 0 && t.running < max_running_per_tenant_) {
    t.in_ring = true;
    ready_.push_back(id);
  }
}

void WorkPool::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return !ready_.empty() || (closed_ && waiting_ == 0); });
    if (ready_.empty()) return;  // closed, and nothing is left to start
    const storage::TenantId id = ready_.front();
    ready_.pop_front();
    // Element references survive rehashing; the entry is erased only once the tenant
    // has neither waiting nor running jobs, and this one is now running.
    Tenant* t = &tenants_.find(id)->second;
    t->in_ring = false;
    std::unique_ptr<Job> job(t->head);
    t->head = job->next;
    if (!t->head) t->tail = nullptr;
    --t->waiting;
    --waiting_;
    ++t->running;
    MaybeReady(id, *t);  // to the back of the ring: the other tenants go first

    const auto waited = Clock::now() - job->enqueued;
    const double seconds = std::chrono::duration<double>(waited).count();
    size_t b = 0;
    while (b < kWaitBuckets.size() && seconds > kWaitBuckets[b]) ++b;
    ++wait_buckets_[b];
    ++wait_count_;
    wait_sum_nanos_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count());
    if (closed_ && waiting_ == 0) work_cv_.notify_all();  // idle workers may leave

    lock.unlock();
    job->Run();
    lock.lock();

    --t->running;
    total_.store(total_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (t->waiting == 0 && t->running == 0) {
      tenants_.erase(id);
    } else {
      // Back under its running cap: this worker serves the ring next, so no wake-up.
      MaybeReady(id, *t);
    }
    // The caller hears of the result only now that the job no longer counts; the
    // fulfiller goes outside the lock too.
    lock.unlock();
    job->Deliver();
    job.reset();
    lock.lock();
  }
}

void WorkPool::Join() {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  work_cv_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

WorkPool::Stats WorkPool::stats() const {
  Stats s;
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  s.queued = total_.load(std::memory_order_relaxed);
  Clock::time_point oldest = now;
  for (const auto& [id, t] : tenants_) {
    if (t.waiting == 0) continue;
    ++s.tenants_waiting;
    oldest = std::min(oldest, t.head->enqueued);
  }
  s.oldest_wait_seconds = std::chrono::duration<double>(now - oldest).count();
  s.wait_buckets = wait_buckets_;
  s.wait_count = wait_count_;
  s.wait_sum_seconds = static_cast<double>(wait_sum_nanos_) / 1e9;
  s.quota_refused = quota_refused_;
  return s;
}

}  // namespace cotenant::rpc
