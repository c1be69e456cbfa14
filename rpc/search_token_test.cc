#include "rpc/search_token.h"

#include <gtest/gtest.h>

#include <string>

namespace cotenant::rpc {
namespace {

const Mac kMac("0123456789abcdef0123456789abcdef");

storage::SearchRequest Query() {
  storage::SearchRequest q;
  q.object = "Customers";
  q.criteria = "age > 30";
  q.sort = {{"last_name", false}, {"age", true}};
  return q;
}

void ExpectRefused(const Status& s, const std::string& what) {
  EXPECT_TRUE(s.IsInvalidArgument()) << what << ": " << s.ToString();
  EXPECT_EQ(s.message(), "continuation token does not belong to this query") << what;
}

TEST(SearchTokenTest, OpensOnlyUnderTheBindingItWasSealedWith) {
  const std::string binding = TokenBinding("scope of user 1 in tenant 7", Query());
  const std::string inner("\x01store token\x00\xff", 15);
  std::string token;
  ASSERT_TRUE(SealToken(kMac, binding, inner, &token).ok());
  EXPECT_NE(token.find("store token"), std::string::npos);
  std::string out;
  ASSERT_TRUE(OpenToken(kMac, binding, token, &out).ok());
  EXPECT_EQ(out, inner);
  // Page size and offset are not part of the query a token is bound to.
  storage::SearchRequest other_page = Query();
  other_page.rows = 7;
  other_page.offset = 3;
  EXPECT_TRUE(OpenToken(kMac, TokenBinding("scope of user 1 in tenant 7", other_page), token, &out).ok());

  ExpectRefused(OpenToken(kMac, TokenBinding("scope of user 2 in tenant 7", Query()), token, &out),
                "another scope");
  storage::SearchRequest q = Query();
  q.criteria = "age > 31";
  ExpectRefused(OpenToken(kMac, TokenBinding("scope of user 1 in tenant 7", q), token, &out),
                "other criteria");
  q = Query();
  q.sort[1].descending = false;
  ExpectRefused(OpenToken(kMac, TokenBinding("scope of user 1 in tenant 7", q), token, &out),
                "other sort order");
  q = Query();
  q.object = "Orders";
  ExpectRefused(OpenToken(kMac, TokenBinding("scope of user 1 in tenant 7", q), token, &out),
                "other object");
  ExpectRefused(OpenToken(Mac("another secret.................."), binding, token, &out),
                "another secret");
  for (size_t i = 0; i < token.size(); ++i) {
    std::string flipped = token;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    ExpectRefused(OpenToken(kMac, binding, flipped, &out), "byte " + std::to_string(i));
  }
  ExpectRefused(OpenToken(kMac, binding, token.substr(0, token.size() - 1), &out), "truncated");
  ExpectRefused(OpenToken(kMac, binding, token + "x", &out), "extended");
  ExpectRefused(OpenToken(kMac, binding, "", &out), "empty");
  ExpectRefused(OpenToken(kMac, binding, inner, &out), "the bare store token");
}

TEST(SearchTokenTest, BindingSeparatesItsParts) {
  storage::SearchRequest a = Query(), b = Query();
  a.object = "Cust";
  a.criteria = "omers";
  b.object = "Customers";
  b.criteria = "";
  EXPECT_NE(TokenBinding("s", a), TokenBinding("s", b));
  a = Query();
  a.sort = {{"age", false}};
  b = Query();
  b.sort = {{"age", false}, {"id", false}};
  EXPECT_NE(TokenBinding("s", a), TokenBinding("s", b));
}

TEST(SearchTokenTest, NoSecretSealsNothing) {
  std::string token;
  EXPECT_FALSE(SealToken(Mac(""), "b", "t", &token).ok());
}

}  // namespace
}  // namespace cotenant::rpc
