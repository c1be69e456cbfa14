// rpc_bench: the bare Cap'n Proto baseline server (bench/bare.capnp), served the way
// cotenantd serves its RPC loop.

#include "rpc_bench.h"

namespace rpc_bench {
namespace {

// Serves Bare: answers get at once with a fixed 200-byte payload.
class BareImpl final : public Bare::Server {
 public:
  BareImpl() {
    for (size_t i = 0; i < kBarePayloadBytes; ++i) payload_[i] = static_cast<kj::byte>('a' + i % 26);
  }

 protected:
  kj::Promise<void> get(GetContext context) override {
    uint64_t id = context.getParams().getId();
    auto out = context.getResults(capnp::MessageSize{4 + kBarePayloadBytes / 8, 0})
                   .initPayload(kBarePayloadBytes);
    std::memcpy(out.begin(), payload_.data(), kBarePayloadBytes);
    std::memcpy(out.begin(), &id, sizeof(id));
    return kj::READY_NOW;
  }

 private:
  std::array<kj::byte, kBarePayloadBytes> payload_;
};

}  // namespace

// One thread, one KJ event loop, a TwoPartyServer: the shape of cotenantd's RPC loop.
int RunBareServer(uint16_t port) {
  auto io = kj::setupAsyncIo();
  capnp::TwoPartyServer server(kj::heap<BareImpl>());
  auto address = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
  auto listener = address->listen();
  server.listen(*listener).wait(io.waitScope);
  return 0;
}

}  // namespace rpc_bench
