// The in-process server the RPC fuzz targets call (fuzz_rpc_records, fuzz_rpc_admin):
// the real RecordsImpl and AdminImpl over a real store in a scratch directory, wired as
// cotenantd wires them (rpc/server.cc) minus the network. Calls go through Cap'n Proto
// capabilities on this thread's KJ event loop; storage work runs on a real WorkPool.
//
// The fuzzer's bytes pick a method of wire::Records or wire::Admin and fill its
// parameters field by field through the schema (capnp/dynamic.h): names and values from
// small pools of meaningful ones (objects, fields, criteria, ids the server has handed
// out) or raw bytes. Every error must be a typed error the client is meant to see;
// "unexpected exception" (a C++ exception escaping storage or sharing) and Internal
// errors are findings.
//
// One world per process, reused across inputs and rebuilt in a fresh directory every
// kResetEvery inputs, so the store stays small. The principals' own tenants, users and
// keys are never deleted or revoked (the harness skips those calls), so a run does not
// lock itself out.

#ifndef COTENANT_FUZZ_RPC_HARNESS_H_
#define COTENANT_FUZZ_RPC_HARNESS_H_

#include <cstddef>
#include <cstdint>

namespace cotenant::fuzz {

enum class RpcSurface { kRecords, kAdmin };

// Runs one input against the shared world.
void RunRpcInput(RpcSurface surface, const uint8_t* data, size_t size);

}  // namespace cotenant::fuzz

#endif  // COTENANT_FUZZ_RPC_HARNESS_H_
