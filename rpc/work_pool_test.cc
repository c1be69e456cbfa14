#include "rpc/work_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <kj/async-io.h>

namespace cotenant::rpc {
namespace {

// A door jobs wait at until the test opens it.
class Door {
 public:
  void Open() { opened_.set_value(); }
  void Wait() const { shut_.wait(); }

 private:
  std::promise<void> opened_;
  std::shared_future<void> shut_ = opened_.get_future().share();
};

// The outcome of a promise the pool answered: its exception, or none.
template <typename T>
kj::Maybe<kj::Exception> Failure(kj::Promise<T> p, kj::WaitScope& ws) {
  return p.then([](T) -> kj::Maybe<kj::Exception> { return nullptr; },
                [](kj::Exception&& e) -> kj::Maybe<kj::Exception> { return kj::mv(e); })
      .wait(ws);
}

std::string Description(kj::Maybe<kj::Exception> e) {
  KJ_IF_MAYBE(x, e) { return x->getDescription().cStr(); }
  return "(no exception)";
}

// Waits, on the loop, until pred() holds (the workers move on their own threads).
template <typename Pred>
bool Eventually(kj::AsyncIoContext& io, Pred pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) io.provider->getTimer().afterDelay(5 * kj::MILLISECONDS).wait(io.waitScope);
  return pred();
}

TEST(WorkPoolTest, ServesTenantsInTurn) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(1, 100);  // one thread: the order of service is the order of the log
  Door door;
  std::mutex mu;
  std::vector<std::string> order;
  auto blocker = pool.Submit<int>(9, [&door] { door.Wait(); return 0; });
  std::vector<kj::Promise<int>> jobs;
  auto job = [&](storage::TenantId tenant, std::string name) {
    jobs.push_back(pool.Submit<int>(tenant, [&mu, &order, name] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(name);
      return 0;
    }));
  };
  // Tenant 1 queues its whole backlog before the others queue anything.
  job(1, "a1"); job(1, "a2"); job(1, "a3"); job(1, "a4");
  job(2, "b1"); job(2, "b2");
  job(3, "c1");
  ASSERT_TRUE(Eventually(io, [&] { return pool.stats().tenants_waiting == 3; }));
  door.Open();
  blocker.wait(io.waitScope);
  for (auto& p : jobs) p.wait(io.waitScope);
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "c1", "a2", "b2", "a3", "a4"}));
  EXPECT_EQ(pool.queued(), 0u);
}

TEST(WorkPoolTest, DefaultRunningCapLeavesAThreadForOthers) {
  EXPECT_EQ(WorkPool(4, 10).max_running_per_tenant(), 3u);
  EXPECT_EQ(WorkPool(2, 10).max_running_per_tenant(), 1u);
  EXPECT_EQ(WorkPool(1, 10).max_running_per_tenant(), 1u);
  WorkPool::Options o;
  o.threads = 4;
  o.max_running_per_tenant = 2;
  EXPECT_EQ(WorkPool(o).max_running_per_tenant(), 2u);
}

TEST(WorkPoolTest, ATenantOccupiesAtMostItsCapAndOthersStillRun) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(3, 100);  // cap: 2 threads per tenant
  Door door;
  std::atomic<int> running{0}, most{0}, started{0};
  std::vector<kj::Promise<int>> noisy;
  for (int i = 0; i < 6; ++i) {
    noisy.push_back(pool.Submit<int>(1, [&] {
      int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {}
      ++started;
      door.Wait();
      --running;
      return 0;
    }));
  }
  ASSERT_TRUE(Eventually(io, [&] { return started.load() == 2; }));
  // Tenant 1's other four jobs wait in its queue; tenant 2 gets the free thread.
  auto quiet = pool.Submit<int>(2, [&] { return started.load(); });
  auto timed = io.provider->getTimer().timeoutAfter(10 * kj::SECONDS, kj::mv(quiet));
  EXPECT_EQ(timed.wait(io.waitScope), 2);
  EXPECT_EQ(pool.stats().tenants_waiting, 1u);
  door.Open();
  for (auto& p : noisy) p.wait(io.waitScope);
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(started.load(), 6);
}

TEST(WorkPoolTest, QuotaRefusesATenantAtItsLimitOnly) {
  auto io = kj::setupAsyncIo();
  WorkPool::Options o;
  o.threads = 2;
  o.max_queued = 100;
  o.max_jobs = [](storage::TenantId t) -> uint32_t { return t == 7 ? 2 : 0; };
  WorkPool pool(o);
  Door door;
  // One running (the cap is 1 with two threads) and one waiting: both count.
  auto a = pool.Submit<int>(7, [&door] { door.Wait(); return 1; });
  auto b = pool.Submit<int>(7, [&door] { door.Wait(); return 2; });
  auto refused = Failure(pool.Submit<int>(7, [] { return 3; }), io.waitScope);
  EXPECT_EQ(Description(kj::mv(refused)),
            "cotenant:ResourceExhausted: tenant 7 has 2 storage jobs in progress; its quota "
            "of concurrent storage work is 2");
  // A tenant with no quota is not held back by tenant 7's.
  std::vector<kj::Promise<int>> others;
  for (int i = 0; i < 5; ++i) others.push_back(pool.Submit<int>(8, [i] { return i; }));
  for (auto& p : others) p.wait(io.waitScope);
  door.Open();
  EXPECT_EQ(a.wait(io.waitScope), 1);
  EXPECT_EQ(b.wait(io.waitScope), 2);
  // Its jobs done, tenant 7 may submit again.
  EXPECT_EQ(pool.Submit<int>(7, [] { return 4; }).wait(io.waitScope), 4);
}

TEST(WorkPoolTest, AJobNoLongerCountsOnceItsCallerHasTheResult) {
  // With a quota of one job, a caller that submits its next job as soon as it has the
  // previous result is never refused: the pool stops counting a job before delivering.
  auto io = kj::setupAsyncIo();
  WorkPool::Options o;
  o.threads = 2;
  o.max_jobs = [](storage::TenantId) -> uint32_t { return 1; };
  WorkPool pool(o);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    auto failure = Failure(pool.Submit<int>(7, [i] { return i; }), io.waitScope);
    if (failure != nullptr) ++refused;
  }
  EXPECT_EQ(refused, 0);
}

TEST(WorkPoolTest, CancelledJobIsSkipped) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(1, 100);
  Door door;
  std::atomic<bool> ran{false};
  auto blocker = pool.Submit<int>(1, [&door] { door.Wait(); return 0; });
  {
    auto cancelled = pool.Submit<int>(2, [&ran] { ran = true; return 0; });
  }  // the caller has gone
  door.Open();
  blocker.wait(io.waitScope);
  EXPECT_EQ(pool.Submit<int>(2, [] { return 5; }).wait(io.waitScope), 5);
  EXPECT_FALSE(ran.load());
  EXPECT_TRUE(Eventually(io, [&] { return pool.queued() == 0; }));
}

TEST(WorkPoolTest, BusyAtMaxQueued) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(2, 2);
  Door door;
  // Waiting and running jobs count, of any tenant.
  auto a = pool.Submit<int>(1, [&door] { door.Wait(); return 1; });
  auto b = pool.Submit<int>(2, [&door] { door.Wait(); return 2; });
  EXPECT_EQ(pool.queued(), 2u);
  auto refused = Failure(pool.Submit<int>(3, [] { return 3; }), io.waitScope);
  KJ_IF_MAYBE(e, refused) {
    EXPECT_EQ(e->getType(), kj::Exception::Type::OVERLOADED);
    EXPECT_EQ(std::string(e->getDescription().cStr()),
              "cotenant:Busy: server is overloaded: 2 storage jobs queued");
  } else {
    ADD_FAILURE() << "a third job was queued past max_queued";
  }
  door.Open();
  a.wait(io.waitScope);
  b.wait(io.waitScope);
  ASSERT_TRUE(Eventually(io, [&] { return pool.queued() == 0; }));
  EXPECT_EQ(pool.Submit<int>(3, [] { return 3; }).wait(io.waitScope), 3);
}

TEST(WorkPoolTest, ExceptionsRejectThePromiseAndTheWorkerCarriesOn) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(1, 100);
  auto kj_failure = Failure(pool.Submit<int>(1, []() -> int {
    kj::throwFatalException(ToException(Status::NotFound("record 3 does not exist")));
  }), io.waitScope);
  EXPECT_EQ(Description(kj::mv(kj_failure)), "cotenant:NotFound: record 3 does not exist");
  auto std_failure = Failure(pool.Submit<int>(1, []() -> int { throw std::runtime_error("boom"); }),
                             io.waitScope);
  KJ_IF_MAYBE(e, std_failure) { EXPECT_EQ(CodeOf(*e), Status::Code::kInternal); }
  else { ADD_FAILURE() << "std::exception not reported"; }
  auto odd_failure = Failure(pool.Submit<int>(1, []() -> int { throw 42; }), io.waitScope);
  KJ_IF_MAYBE(e, odd_failure) { EXPECT_EQ(CodeOf(*e), Status::Code::kInternal); }
  else { ADD_FAILURE() << "non-standard exception not reported"; }
  EXPECT_EQ(pool.Submit<int>(1, [] { return 6; }).wait(io.waitScope), 6);
}

TEST(WorkPoolTest, JoinRunsQueuedJobsThenRefuses) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(2, 100);
  std::atomic<int> done{0};
  std::vector<kj::Promise<int>> jobs;
  for (int i = 0; i < 20; ++i) {
    jobs.push_back(pool.Submit<int>(1 + i % 3, [&done] { ++done; return 0; }));
  }
  pool.Join();
  EXPECT_EQ(done.load(), 20);
  for (auto& p : jobs) p.wait(io.waitScope);
  auto refused = Failure(pool.Submit<int>(1, [] { return 0; }), io.waitScope);
  EXPECT_EQ(Description(kj::mv(refused)), "cotenant:Busy: server is shutting down");
  pool.Join();  // idempotent
}

TEST(WorkPoolTest, StatsCountWaitingTenantsAndWaits) {
  auto io = kj::setupAsyncIo();
  WorkPool pool(1, 100);
  Door door;
  auto blocker = pool.Submit<int>(1, [&door] { door.Wait(); return 0; });
  auto a = pool.Submit<int>(2, [] { return 0; });
  auto b = pool.Submit<int>(3, [] { return 0; });
  ASSERT_TRUE(Eventually(io, [&] { return pool.stats().tenants_waiting == 2; }));
  WorkPool::Stats s = pool.stats();
  EXPECT_EQ(s.queued, 3u);
  EXPECT_GT(s.oldest_wait_seconds, 0.0);
  door.Open();
  blocker.wait(io.waitScope);
  a.wait(io.waitScope);
  b.wait(io.waitScope);
  s = pool.stats();
  EXPECT_EQ(s.tenants_waiting, 0u);
  EXPECT_EQ(s.oldest_wait_seconds, 0.0);
  EXPECT_EQ(s.wait_count, 3u);
  uint64_t in_buckets = 0;
  for (uint64_t n : s.wait_buckets) in_buckets += n;
  EXPECT_EQ(in_buckets, 3u);
}

}  // namespace
}  // namespace cotenant::rpc
