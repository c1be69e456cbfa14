#include "cli_util.h"

#include <sstream>

#include <gtest/gtest.h>

namespace cotenant::cli {
namespace {

TEST(FieldSpec, FlagsInAnyOrder) {
  FieldDef a = parseFieldSpec("first_name:text:indexed:required");
  EXPECT_EQ(a.name, "first_name");
  EXPECT_EQ(a.type, FieldType::Text);
  EXPECT_TRUE(a.indexed);
  EXPECT_TRUE(a.required);
  FieldDef b = parseFieldSpec("age:int:required:indexed");
  EXPECT_TRUE(b.indexed && b.required);
  FieldDef c = parseFieldSpec("last_name:text");
  EXPECT_FALSE(c.indexed || c.required);
}

TEST(FieldSpec, BadSpecsNameThemselves) {
  for (const char* bad : {"age", "age:integer", ":int", "age:int:fast", "age:int:indexed:indexed"}) {
    try {
      parseFieldSpec(bad);
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(Args, AssignmentsSortsIds) {
  EXPECT_EQ(parseAssignment("note=a=b"), (std::pair<std::string, std::string>{"note", "a=b"}));
  EXPECT_EQ(parseAssignment("note="), (std::pair<std::string, std::string>{"note", ""}));
  EXPECT_THROW(parseAssignment("note"), UsageError);
  EXPECT_THROW(parseAssignment("=x"), UsageError);
  EXPECT_EQ(parseSortSpec("age"), (std::pair<std::string, std::string>{"age", "asc"}));
  EXPECT_EQ(parseSortSpec("age:desc"), (std::pair<std::string, std::string>{"age", "desc"}));
  EXPECT_THROW(parseSortSpec("age:down"), UsageError);
  EXPECT_EQ(parseId("12", "record id"), 12u);
  EXPECT_THROW(parseId("x", "record id"), UsageError);
}

TEST(Args, HexRoundTrip) {
  std::string bytes("\x00\x01\xfe p", 4);
  EXPECT_EQ(toHex(bytes), "0001fe20");
  EXPECT_EQ(fromHex(toHex(bytes)), bytes);
  EXPECT_EQ(fromHex("abc"), std::nullopt);
  EXPECT_EQ(fromHex("zz"), std::nullopt);
}

TEST(ExitCodes, ByCategory) {
  EXPECT_EQ(exitCodeFor(ErrorCode::OK), 0);
  EXPECT_EQ(exitCodeFor(ErrorCode::Unavailable), 1);
  EXPECT_EQ(exitCodeFor(ErrorCode::Internal), 1);
  EXPECT_EQ(exitCodeFor(ErrorCode::PermissionDenied), 3);
  EXPECT_EQ(exitCodeFor(ErrorCode::Unauthenticated), 3);
  EXPECT_EQ(exitCodeFor(ErrorCode::NotFound), 4);
  EXPECT_EQ(exitCodeFor(ErrorCode::Conflict), 5);
  EXPECT_EQ(exitCodeFor(ErrorCode::InvalidArgument), 5);
  EXPECT_EQ(exitCodeFor(ErrorCode::ResourceExhausted), 5);
}

TEST(Json, ValuesAndTenant) {
  EXPECT_EQ(toJson(Value()), nullptr);
  EXPECT_EQ(toJson(Value::integer(3)), 3);
  EXPECT_EQ(toJson(Value::timestamp(0)), "1970-01-01T00:00:00Z");
  TenantInfo t;
  t.id = 7771212345;
  t.name = "ABC";
  auto j = toJson(t);
  EXPECT_EQ(j["id"], "7771212345");
  EXPECT_EQ(j["kind"], "tenant");
  EXPECT_TRUE(j["provider"].is_null());
}

TEST(Table, AlignsByCodePoints) {
  Table t({"A", "B"});
  t.add({"é", "x"});
  t.add({"long", "y"});
  std::ostringstream os;
  t.print(os);
  EXPECT_EQ(os.str(), "A     B\né     x\nlong  y\n");
}

}  // namespace
}  // namespace cotenant::cli
