// Mac: keyed message authentication (HMAC-SHA256) under an installation secret.
//
// What the server hands to a party it does not trust to keep it unchanged (a resolved
// context stored in memcached, a search continuation token given to a client) carries a
// tag made here; only a holder of the secret can make a tag that verifies.
//
// A tag covers a list of parts, each preceded by its length, so two different lists never
// authenticate alike ("ab","c" vs "a","bc"). By convention the first part names the purpose
// ("context-cache/1", "search-token/1"), so a tag made for one purpose never verifies for
// another under the same secret.
//
// Thread safety: a Mac is immutable after construction; Sign and Verify are safe from any
// thread.

#ifndef COTENANT_COMMON_MAC_H_
#define COTENANT_COMMON_MAC_H_

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace cotenant {

class Mac {
 public:
  static constexpr size_t kTagBytes = 32;  // HMAC-SHA256

  // An empty key makes every Sign fail and every Verify answer false.
  explicit Mac(std::string key);

  // Sets *tag to the kTagBytes tag of `parts`. False only when the crypto library fails
  // (out of memory); *tag is then empty.
  [[nodiscard]] bool Sign(std::initializer_list<std::string_view> parts, std::string* tag) const;

  // True when `tag` is the tag of `parts`; compared in constant time.
  [[nodiscard]] bool Verify(std::string_view tag, std::initializer_list<std::string_view> parts) const;

 private:
  std::string key_;
};

}  // namespace cotenant

#endif  // COTENANT_COMMON_MAC_H_
