// Search continuation tokens (rpc/search_token.h): arbitrary bytes opened as a client's
// token under a fixed secret and binding must be refused with the one documented
// message (only a token this code sealed opens); a sealed token opens to what was
// sealed, and under any other binding, or with any byte changed, it is refused.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/mac.h"
#include "fuzz/fuzz_util.h"
#include "rpc/search_token.h"
#include "storage/storage.h"

namespace {

const cotenant::Mac& TheMac() {
  static const auto* mac = new cotenant::Mac("fuzz installation secret, 32 bytes!");
  return *mac;
}

void CheckRefused(const cotenant::Status& s, const std::string& what) {
  FUZZ_CHECK(!s.ok(), what + " opened");
  FUZZ_CHECK(s.code() == cotenant::rpc::TokenRefused().code() &&
                 s.message() == cotenant::rpc::TokenRefused().message(),
             what + ": " + s.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cotenant;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte splits the rest into the query's criteria and the token bytes.
  size_t cut = size == 0 ? 0 : std::min<size_t>(data[0], size - 1);
  std::string_view rest = size == 0 ? in : in.substr(1);
  storage::SearchRequest req;
  req.object = "Things";
  req.criteria = std::string(rest.substr(0, cut));
  req.sort = {{"n", (size & 1) != 0}};
  std::string scope = "scope:" + std::to_string(size % 3);
  std::string binding = rpc::TokenBinding(scope, req);
  std::string_view token = rest.substr(cut);

  // Arbitrary bytes are refused (a forged token would need the secret).
  std::string store_token;
  Status opened = rpc::OpenToken(TheMac(), binding, token, &store_token);
  CheckRefused(opened, "an arbitrary token");

  // The bytes as a store token: sealed, it opens to itself, and only here.
  std::string sealed;
  fuzz::CheckOk(rpc::SealToken(TheMac(), binding, token, &sealed), "seal");
  std::string back;
  fuzz::CheckOk(rpc::OpenToken(TheMac(), binding, sealed, &back), "open what was sealed");
  FUZZ_CHECK(back == token, "round trip");

  storage::SearchRequest other = req;
  other.criteria += " ";
  CheckRefused(rpc::OpenToken(TheMac(), rpc::TokenBinding(scope, other), sealed, &back),
               "another query's token");
  CheckRefused(rpc::OpenToken(TheMac(), rpc::TokenBinding(scope + "x", req), sealed, &back),
               "another scope's token");
  CheckRefused(rpc::OpenToken(Mac("another secret"), binding, sealed, &back),
               "another installation's token");
  std::string flipped = sealed;
  flipped[size % flipped.size()] ^= static_cast<char>(1 + (size % 255));
  CheckRefused(rpc::OpenToken(TheMac(), binding, flipped, &back), "an altered token");
  CheckRefused(rpc::OpenToken(TheMac(), binding, sealed.substr(0, sealed.size() - 1), &back),
               "a truncated token");
  // Offset and page size are not bound: a token stays good for another page size.
  storage::SearchRequest paged = req;
  paged.rows = 7;
  paged.offset = 3;
  fuzz::CheckOk(rpc::OpenToken(TheMac(), rpc::TokenBinding(scope, paged), sealed, &back),
                "another page size");
  return 0;
}
