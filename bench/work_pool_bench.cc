// Submit round trips through the storage pool, with no storage work: what the pool itself
// costs each getRecord miss and each decision that leaves the event loop.
//
//   work_pool_bench [threads] [jobs]
//
// "serial": one job in flight at a time (a lone client's latency); "batch 64": 64 jobs
// in flight from the loop, one tenant and then spread over 8 tenants (throughput).
// Built against the FIFO pool of older releases with -DCOTENANT_FIFO_POOL (tenant ignored).

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <kj/async-io.h>

#include "rpc/work_pool.h"

namespace {

using cotenant::rpc::WorkPool;
using Clock = std::chrono::steady_clock;

kj::Promise<int> SubmitOne(WorkPool& pool, uint64_t tenant, int v) {
#ifdef COTENANT_FIFO_POOL
  (void)tenant;
  return pool.Submit<int>([v] { return v + 1; });
#else
  return pool.Submit<int>(tenant, [v] { return v + 1; });
#endif
}

double Serial(WorkPool& pool, kj::WaitScope& ws, int jobs) {
  auto start = Clock::now();
  for (int i = 0; i < jobs; ++i) SubmitOne(pool, 1, i).wait(ws);
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / jobs;
}

double Batch(WorkPool& pool, kj::WaitScope& ws, int jobs, int tenants) {
  constexpr int kInFlight = 64;
  auto start = Clock::now();
  for (int done = 0; done < jobs; done += kInFlight) {
    auto builder = kj::heapArrayBuilder<kj::Promise<int>>(kInFlight);
    for (int i = 0; i < kInFlight; ++i) builder.add(SubmitOne(pool, 1 + i % tenants, i));
    kj::joinPromises(builder.finish()).wait(ws);
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / jobs;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t threads = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 4;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 200000;
  auto io = kj::setupAsyncIo();
  WorkPool pool(threads, 100000);
  Serial(pool, io.waitScope, jobs / 10);  // warm up
  std::printf("threads %zu, %d jobs\n", threads, jobs);
  std::printf("serial round trip      %.2f us/job\n", Serial(pool, io.waitScope, jobs));
  std::printf("batch 64, 1 tenant     %.2f us/job\n", Batch(pool, io.waitScope, jobs, 1));
  std::printf("batch 64, 8 tenants    %.2f us/job\n", Batch(pool, io.waitScope, jobs, 8));
  return 0;
}
