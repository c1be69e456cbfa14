// Submit round trips through the storage pool, with no storage work: what the pool itself
// costs each getRecord miss and each decision that leaves the event loop.
//
//   work_pool_bench [threads] [jobs]
//
// "serial": one job in flight at a time (a lone client's latency); "batch 64": 64 jobs
// in flight from the loop, one tenant and then spread over 8 tenants (throughput).
// Wall time per job depends on how fast the OS wakes threads (on a loaded machine, most of
// it); CPU time per job (the process's user + system time) is the pool's own cost.
// Built against the FIFO pool of older releases with -DCOTENANT_FIFO_POOL (tenant ignored).

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <sys/resource.h>

#include <kj/async-io.h>

#include "rpc/work_pool.h"

namespace {

using cotenant::rpc::WorkPool;
using Clock = std::chrono::steady_clock;

double CpuMicros() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

struct Cost {
  double wall_us, cpu_us;
};

kj::Promise<int> SubmitOne(WorkPool& pool, uint64_t tenant, int v) {
#ifdef COTENANT_FIFO_POOL
  (void)tenant;
  return pool.Submit<int>([v] { return v + 1; });
#else
  return pool.Submit<int>(tenant, [v] { return v + 1; });
#endif
}

Cost Serial(WorkPool& pool, kj::WaitScope& ws, int jobs) {
  auto start = Clock::now();
  double cpu = CpuMicros();
  for (int i = 0; i < jobs; ++i) SubmitOne(pool, 1, i).wait(ws);
  return {std::chrono::duration<double, std::micro>(Clock::now() - start).count() / jobs,
          (CpuMicros() - cpu) / jobs};
}

Cost Batch(WorkPool& pool, kj::WaitScope& ws, int jobs, int tenants) {
  constexpr int kInFlight = 64;
  auto start = Clock::now();
  double cpu = CpuMicros();
  for (int done = 0; done < jobs; done += kInFlight) {
    auto builder = kj::heapArrayBuilder<kj::Promise<int>>(kInFlight);
    for (int i = 0; i < kInFlight; ++i) builder.add(SubmitOne(pool, 1 + i % tenants, i));
    kj::joinPromises(builder.finish()).wait(ws);
  }
  return {std::chrono::duration<double, std::micro>(Clock::now() - start).count() / jobs,
          (CpuMicros() - cpu) / jobs};
}

void Print(const char* what, Cost c) {
  std::printf("%-22s wall %6.2f us/job   cpu %6.2f us/job\n", what, c.wall_us, c.cpu_us);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t threads = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 4;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 200000;
  auto io = kj::setupAsyncIo();
  WorkPool pool(threads, 100000);
  Serial(pool, io.waitScope, jobs / 10);  // warm up
  std::printf("threads %zu, %d jobs\n", threads, jobs);
  Print("serial round trip", Serial(pool, io.waitScope, jobs));
  Print("batch 64, 1 tenant", Batch(pool, io.waitScope, jobs, 1));
  Print("batch 64, 8 tenants", Batch(pool, io.waitScope, jobs, 8));
  return 0;
}
