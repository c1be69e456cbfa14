// Loopback ports for the benchmarks that start servers of their own (cotenantd, memcached,
// Redis, the bare Cap'n Proto server), and where their cotenantd is.

#ifndef COTENANT_BENCH_LOOPBACK_H_
#define COTENANT_BENCH_LOOPBACK_H_

#include <cstdint>
#include <string>

namespace bench {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
// Throws std::runtime_error, naming the system error, when none can be had.
uint16_t FreePort();

// Whether something accepts TCP connections on 127.0.0.1:port.
bool CanConnect(uint16_t port);

// The cotenantd built beside the running benchmark (<build>/tools/cotenantd/cotenantd,
// from <build>/bench/<benchmark>); "../tools/cotenantd/cotenantd" when /proc/self/exe
// cannot be read.
std::string DefaultCotenantd();

}  // namespace bench

#endif  // COTENANT_BENCH_LOOPBACK_H_
