#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace cotenant {
namespace {

constexpr size_t kOk = std::string_view::npos;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_EQ(InvalidUtf8Offset(""), kOk);
  EXPECT_EQ(InvalidUtf8Offset("Customers"), kOk);
  EXPECT_EQ(InvalidUtf8Offset("Kunden-Übersicht"), kOk);          // 2 bytes
  EXPECT_EQ(InvalidUtf8Offset("顧客"), kOk);                       // 3 bytes
  EXPECT_EQ(InvalidUtf8Offset("\xF0\x9F\x98\x80"), kOk);          // U+1F600, 4 bytes
  EXPECT_EQ(InvalidUtf8Offset("\xF4\x8F\xBF\xBF"), kOk);          // U+10FFFF
  EXPECT_EQ(InvalidUtf8Offset(std::string("a\0b", 3)), kOk);      // NUL is a code point
}

TEST(Utf8, NamesTheFirstBadByte) {
  EXPECT_EQ(InvalidUtf8Offset("Cust\xff\xfeomers"), 4u);
  EXPECT_EQ(InvalidUtf8Offset("\x80"), 0u);                 // lone continuation byte
  EXPECT_EQ(InvalidUtf8Offset("ab\xC3"), 2u);               // truncated sequence
  EXPECT_EQ(InvalidUtf8Offset("\xC3\x28"), 0u);             // bad continuation
  EXPECT_EQ(InvalidUtf8Offset("\xE2\x82"), 0u);             // truncated 3-byte sequence
}

TEST(Utf8, RefusesOverlongSurrogatesAndOutOfRange) {
  EXPECT_EQ(InvalidUtf8Offset("\xC0\xAF"), 0u);             // overlong '/'
  EXPECT_EQ(InvalidUtf8Offset("\xC1\xBF"), 0u);
  EXPECT_EQ(InvalidUtf8Offset("\xE0\x80\xAF"), 0u);         // overlong, 3 bytes
  EXPECT_EQ(InvalidUtf8Offset("\xF0\x80\x80\xAF"), 0u);     // overlong, 4 bytes
  EXPECT_EQ(InvalidUtf8Offset("\xED\xA0\x80"), 0u);         // U+D800, a surrogate
  EXPECT_EQ(InvalidUtf8Offset("\xF4\x90\x80\x80"), 0u);     // U+110000
  EXPECT_EQ(InvalidUtf8Offset("\xF5\x80\x80\x80"), 0u);
}

}  // namespace
}  // namespace cotenant
