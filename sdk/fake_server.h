// An in-process fake of the wire schema for the SDK's unit tests. It serves just enough of
// it: login (key "good", tenant 5), records() with and without a context (context 9
// admitted, anything else PermissionDenied), addRecord, getRecord, deleteRecord,
// searchRecords (two pages), whoami, and the sharing half of Admin (keys, roles, policies,
// settings, audit, usage, permission sets, explain). It runs its own KJ loop on its own
// thread.

#ifndef COTENANT_SDK_FAKE_SERVER_H_
#define COTENANT_SDK_FAKE_SERVER_H_

#include <mutex>
#include <string>
#include <thread>

#include <kj/async.h>

namespace cotenant {
namespace fake {

// A cotenantd stand-in on 127.0.0.1 (a free port), serving until it is destroyed.
class FakeServer {
 public:
  FakeServer();
  ~FakeServer();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::thread thread_;
  unsigned port_ = 0;
  std::mutex mu_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

}  // namespace fake
}  // namespace cotenant

#endif  // COTENANT_SDK_FAKE_SERVER_H_
