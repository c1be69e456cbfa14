#include "common/utf8.h"

#include <cstdint>

namespace cotenant {

size_t InvalidUtf8Offset(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    // The allowed range of the second byte narrows for E0, ED, F0 and F4 (RFC 3629 §4).
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;   // overlong
      if (b == 0xED) hi = 0x9F;   // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;   // overlong
      if (b == 0xF4) hi = 0x8F;   // above U+10FFFF
    } else {
      return i;  // a continuation byte, C0/C1 or F5..FF cannot start a sequence
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace cotenant
