#include "common/mac.h"

#include <gtest/gtest.h>

#include <string>

namespace cotenant {
namespace {

std::string Hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

TEST(MacTest, IsHmacSha256OverLengthPrefixedParts) {
  // HMAC-SHA256 with key "key" of the bytes 03 00 00 00 00 00 00 00 "abc" (the part's length,
  // then the part), as `openssl dgst -sha256 -mac HMAC -macopt key:key` computes it.
  Mac mac("key");
  std::string tag;
  ASSERT_TRUE(mac.Sign({"abc"}, &tag));
  EXPECT_EQ(tag.size(), Mac::kTagBytes);
  EXPECT_EQ(Hex(tag), "9c267848c2cf2c5c983ffccda2465bde94c67bb18be645ab491dcef95c219ab7");
}

TEST(MacTest, VerifiesOnlyTheSamePartsUnderTheSameKey) {
  Mac mac("0123456789abcdef0123456789abcdef");
  std::string tag;
  ASSERT_TRUE(mac.Sign({"purpose", "ab", "c"}, &tag));
  EXPECT_TRUE(mac.Verify(tag, {"purpose", "ab", "c"}));
  EXPECT_FALSE(mac.Verify(tag, {"purpose", "a", "bc"}));  // same bytes, other split
  EXPECT_FALSE(mac.Verify(tag, {"purpose", "ab", "d"}));
  EXPECT_FALSE(mac.Verify(tag, {"other", "ab", "c"}));
  EXPECT_FALSE(Mac("another key").Verify(tag, {"purpose", "ab", "c"}));
  std::string flipped = tag;
  flipped[7] ^= 0x01;
  EXPECT_FALSE(mac.Verify(flipped, {"purpose", "ab", "c"}));
  EXPECT_FALSE(mac.Verify(tag.substr(0, 31), {"purpose", "ab", "c"}));
  EXPECT_FALSE(mac.Verify("", {"purpose", "ab", "c"}));
}

}  // namespace
}  // namespace cotenant
