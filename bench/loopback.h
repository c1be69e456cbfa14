// Loopback ports for the benchmarks that start servers of their own (cotenantd, memcached,
// Redis, the bare Cap'n Proto server).

#ifndef COTENANT_BENCH_LOOPBACK_H_
#define COTENANT_BENCH_LOOPBACK_H_

#include <cstdint>

namespace bench {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
// Throws std::runtime_error, naming the system error, when none can be had.
uint16_t FreePort();

// Whether something accepts TCP connections on 127.0.0.1:port.
bool CanConnect(uint16_t port);

}  // namespace bench

#endif  // COTENANT_BENCH_LOOPBACK_H_
