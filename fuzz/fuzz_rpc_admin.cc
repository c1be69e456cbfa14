// wire::Admin over an in-process server (fuzz/rpc_harness.h).
#include "fuzz/rpc_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cotenant::fuzz::RunRpcInput(cotenant::fuzz::RpcSurface::kAdmin, data, size);
  return 0;
}
