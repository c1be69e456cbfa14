// The fixture of the HTTP/JSON API's end-to-end suites: one cotenantd with --api for the
// suite, connections logged in as a user, and the SDK's outcome of a call in the shape of
// the API's error body, to compare the two doors.

#ifndef COTENANT_TESTS_HTTP_API_FIXTURE_H_
#define COTENANT_TESTS_HTTP_API_FIXTURE_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e_util.h"
#include "tests/http_client.h"

namespace cotenant::testing {

using json = nlohmann::json;

// A record field in the API's JSON: {"name": ..., "value": {"<type>": ...}}.
inline json F(const std::string& name, const char* type, json value) {
  return {{"name", name}, {"value", {{type, std::move(value)}}}};
}

// Polls `done` (up to 10 s): for what the server writes behind its answers (audit, usage).
template <typename Done>
inline bool Eventually(Done&& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

inline uint64_t U64(const json& j) {
  return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<uint64_t>();
}

// A connection to the API on `port` logged in as `tenant`'s user with `key`.
inline std::unique_ptr<HttpConnection> ConnectApi(int port, uint64_t tenant, const std::string& key) {
  auto c = std::make_unique<HttpConnection>(port);
  EXPECT_TRUE(c->ok());
  c->Login(tenant, key);
  return c;
}

class HttpApiTest : public SharedServerTest<HttpApiTest> {
 public:
  static std::vector<std::string> Flags() {
    api_port_ = FreePort();
    return {"--api", "127.0.0.1:" + std::to_string(api_port_), "--api-timeout-ms", "1500",
            "--max-message-mb", "1", "--login-failures-per-address", "1000"};
  }

 protected:
  std::unique_ptr<HttpConnection> Connect(uint64_t tenant, const std::string& key) {
    return ConnectApi(api_port_, tenant, key);
  }
  std::unique_ptr<HttpConnection> AsAdmin() { return Connect(1, server_->admin_key()); }

  // The SDK's outcome of the same call, as the HTTP body would say it.
  template <typename R>
  static std::pair<std::string, std::string> Rpc(const R& r) {
    return {errorCodeName(r.getCode()), r.getMessage()};
  }
  static std::pair<std::string, std::string> Http(const HttpReply& r) { return {r.code(), r.message()}; }

  static std::string Path(const std::string& object, uint64_t id) {
    return "/v1/records/" + object + "/" + std::to_string(id);
  }

  static inline int api_port_ = 0;
};

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_HTTP_API_FIXTURE_H_
