// UTF-8 validation for text that arrives from clients.
//
// Every name and text value crossing the wire must be well-formed UTF-8: names end up
// in JSON (audit entries, the catalog) and in other clients' answers, where a stray
// byte would break the reader.

#ifndef COTENANT_COMMON_UTF8_H_
#define COTENANT_COMMON_UTF8_H_

#include <cstddef>
#include <string_view>

namespace cotenant {

// The offset of the first byte of `text` that does not begin or continue a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
// or npos when the whole text is well-formed.
size_t InvalidUtf8Offset(std::string_view text);

inline bool IsValidUtf8(std::string_view text) {
  return InvalidUtf8Offset(text) == std::string_view::npos;
}

}  // namespace cotenant

#endif  // COTENANT_COMMON_UTF8_H_
