# The baseline of bench/rpc_bench.cc: the smallest useful Cap'n Proto call, served on one
# KJ event loop like cotenantd's, with no storage, no session check and no thread hop.
# getRecord divided by Bare.get is what Cotenant's own work costs per call.

@0xb59ec50bda4294ef;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cotenant::bench");

interface Bare {
  get @0 (id :UInt64) -> (payload :Data);
  # Answers at once with a 200-byte payload (about the size of a benchmark record), so
  # the reply is about as large as getRecord's. `id` is echoed in the first 8 bytes.
}
